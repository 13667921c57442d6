/**
 * What screens do: each action calls the Worker and updates the state signals. Screens never call the
 * Worker themselves (STYLE.md: a view renders state and calls actions).
 */
import { deleteStore } from '@sigilo/client-web';
import { me, messages, notPersisted, phase } from './state.js';
import { refreshConversation, refreshConversations } from './refresh.js';
import { dropSdk, errorCode, sdk, STORE_NAME } from './client.js';
import { fromHex, hex } from './ids.js';
import { onEngineEvent } from './events.js';
import { fetchOrgTrust } from './org.js';
import type { MessageRow } from './types.js';
import { navigate } from '../router.js';
import { isConfidential, watchVisibility, wipeConfidential } from './privacy.js';
import { syncPush, watchPushChanges } from './push.js';

/** Does this browser hold a store (so we ask for its passphrase) or not (welcome screen)? */
export async function start(): Promise<void> {
  let exists = false;
  try { exists = localStorage.getItem(`sigilo.store.${STORE_NAME}`) !== null; } catch { /* private mode */ }
  if (!exists && 'databases' in indexedDB) {
    const dbs = await indexedDB.databases().catch(() => []);
    exists = dbs.some((d) => d.name === `sigilo-${STORE_NAME}`);
  }
  phase.value = exists ? 'locked' : 'welcome';
  // An invite link (https://server/#invite=CODE) opens the registration form with its code, also in an open tab.
  const toInvite = () => { if (phase.value === 'welcome' && /[#&]invite=/.test(location.hash)) navigate('register', true); };
  toInvite();
  window.addEventListener('hashchange', toInvite);
}

/** Starts the engine's Worker (fetching and compiling its script) while the person is still typing the passphrase. */
export function prewarm(): void {
  sdk();
}

let listening = false;
async function openStore(passphrase: string): Promise<{ registered: boolean; kdfMs: number; loadMs: number }> {
  const c = sdk();
  if (!listening) { c.on(onEngineEvent); listening = true; }
  const r = await c.open({ name: STORE_NAME, passphrase });
  // StorageManager.persist() exists only in a window (not in the Worker that opened the store): ask here.
  const persisted = r.persisted ?? await navigator.storage?.persist?.().catch(() => undefined);
  notPersisted.value = persisted === false;
  return r;
}

async function becomeReady(connected = false): Promise<void> {
  const w = await sdk().call.whoami();
  if (!w.accountId || w.deviceId === undefined || !w.contactCard) throw Object.assign(new Error('not registered'), { code: 'NOT_REGISTERED' });
  me.value = { accountId: w.accountId, deviceId: w.deviceId, contactCard: w.contactCard, name: w.name };
  watchVisibility();
  await refreshConversations();
  phase.value = 'ready';
  const connecting = connected ? Promise.resolve() : sdk().call.connect({ reconnect: true });
  void connecting.then(() => sdk().call.refreshProfiles()).then(() => refreshConversations()).catch(() => { /* the connection banner shows it */ });
  // A browser linked by an older client holds the profile key but not its own name: read it from the server.
  if (!w.name) void connecting.then(() => sdk().call.ownName()).then((name) => { if (name && me.value && !me.value.name) me.value = { ...me.value, name }; }).catch(() => undefined);
  // Push (push.ts): the browser may have replaced its subscription since the last visit; register the current one.
  watchPushChanges();
  void connecting.then(() => syncPush()).catch(() => undefined);
}

/** Closes and deletes a store that holds no account (a registration that did not finish). */
async function discardUnregistered(): Promise<void> {
  await sdk().close();
  dropSdk();
  listening = false;
  await deleteStore(STORE_NAME);
}

/** Unlocks the store with the passphrase; BAD_PASSPHRASE and the other store errors are thrown with their code. */
export async function unlock(passphrase: string): Promise<{ kdfMs: number }> {
  performance.mark('sigilo-unlock-submit');
  const r = await openStore(passphrase);
  // For DevTools and bench/web.mjs: how long the passphrase's KDF and the store's load took.
  performance.mark('sigilo-store-open', { detail: { kdfMs: r.kdfMs, loadMs: r.loadMs } });
  if (!r.registered) {
    // A registration that did not finish: nothing to keep; start over.
    await discardUnregistered();
    phase.value = 'welcome';
    return r;
  }
  await becomeReady();
  return r;
}

/** Forgotten passphrase: deletes this browser's store (after the person confirmed) and shows the welcome screen. */
export async function startOver(): Promise<void> {
  await deleteStore(STORE_NAME);
  phase.value = 'welcome';
}

/** Creates the store, registers with the invite code at this server, names the person and this device. */
export async function register(o: { invite: string; name: string; passphrase: string; deviceName: string }): Promise<void> {
  await openStore(o.passphrase);
  const c = sdk().call;
  try {
    await c.init(undefined);
    await c.register(o.invite.trim());
  } catch (e) {
    // Nothing was registered (wrong or used code, no connection): drop the half-made store so the
    // person can correct the code and try again without reloading.
    await discardUnregistered().catch(() => undefined);
    throw e;
  }
  await c.connect({ reconnect: true });
  await c.setProfileName(o.name.trim()).catch(() => undefined);
  await c.setDeviceName(o.deviceName).catch(() => undefined);
  await becomeReady(true);
}

/** New device: creates the store, points it at this server and returns the code to show. */
export async function startLink(passphrase: string): Promise<{ code: string }> {
  await openStore(passphrase);
  const c = sdk().call;
  if (!(await c.hasServer())) await c.init(undefined);
  return c.startLink();
}

export async function finishLink(deviceName: string): Promise<number> {
  const c = sdk().call;
  const r = await c.waitLink();
  // The name is a request to the server: connect first (before, it failed unseen and the device stayed "Device N").
  const connected = await c.connect({ reconnect: true }).then(() => true, () => false);
  if (connected) await c.setDeviceName(deviceName).catch(() => undefined);
  await becomeReady(connected);
  return r.historyMessages;
}

export async function cancelLink(): Promise<void> {
  await sdk().call.cancelLink().catch(() => undefined);
}

/** Opens a chat: loads its messages (kept up to date by events until closed). */
export async function openConversation(id: string): Promise<void> {
  await refreshConversation(id);
}

/** Leaves a chat: its confidential messages are wiped from the page and the engine (client.md §15). */
export function closeConversation(id: string): void {
  wipeConfidential(id);
  const next = new Map(messages.value);
  next.delete(id);
  messages.value = next;
}

/** Sends a text; with `replyingTo`, a reply quoting that message. */
export async function sendText(id: string, text: string, replyingTo?: MessageRow): Promise<void> {
  // A confidential message is never quoted: its text would go out of the mode with the reply (client.md §15).
  if (replyingTo && isConfidential(replyingTo)) replyingTo = undefined;
  const quote = replyingTo && { messageId: replyingTo.messageId, author: replyingTo.author, text: replyingTo.text };
  await sdk().call.sendText(fromHex(id), text, quote);
  await Promise.all([refreshConversation(id), refreshConversations()]);
}

export async function markRead(id: string): Promise<void> {
  const n = await sdk().call.markRead(fromHex(id));
  if (n > 0) await refreshConversations();
}

export async function typing(id: string, started: boolean): Promise<void> {
  await sdk().call.typing(fromHex(id), started).catch(() => undefined);
}

export async function deleteMessage(id: string, messageId: Uint8Array, everyone: boolean): Promise<void> {
  if (everyone) await sdk().call.deleteForEveryone(fromHex(id), messageId);
  else await sdk().call.deleteForMe(fromHex(id), messageId);
  await Promise.all([refreshConversation(id), refreshConversations()]);
}

/** Adds a contact from a pasted card or link; returns the chat id (hex). */
export async function addContact(name: string, card: string): Promise<string> {
  const row = await sdk().call.addContactCard(name.trim(), card.trim());
  await refreshConversations();
  void fetchOrgTrust().catch(() => undefined); // the new contact's certificate, where the organisation has a CA
  void sdk().call.refreshProfiles().then(() => refreshConversations()).catch(() => undefined);
  return hex(row.accountId);
}

/** Starts a chat by @username; returns the chat id (hex). */
export async function addContactByUsername(username: string): Promise<string> {
  const row = await sdk().call.addContactByUsername(username);
  await refreshConversations();
  void fetchOrgTrust().catch(() => undefined);
  void sdk().call.refreshProfiles().then(() => refreshConversations()).catch(() => undefined);
  return hex(row.accountId);
}

/** Adds someone who wrote (not a contact) to the contacts; their own name then shows without the "not a contact" marks. */
export async function addToContacts(id: string): Promise<void> {
  await sdk().call.addToContacts(fromHex(id));
  await refreshConversations();
  void fetchOrgTrust().catch(() => undefined);
}

/** Gives a contact a nickname on this device (empty: none, their own or certified name shows). */
export async function setNickname(id: string, nickname: string): Promise<void> {
  await sdk().call.setContactNickname(fromHex(id), nickname.trim() || undefined);
  await refreshConversations();
}

export async function acceptIdentity(id: string): Promise<void> {
  await sdk().call.acceptIdentity(fromHex(id));
  await refreshConversations();
}

export const safetyNumber = (id: string) => sdk().call.safetyNumber(fromHex(id));

export { errorCode, refreshConversation, refreshConversations };
