/**
 * Bundled for Chromium by bench/web.mjs and run on the app's origin while the app is locked: fills the
 * app's own encrypted store ("sigilo") with `n` conversations, one received message each, through the
 * IndexedDbStore the app's Worker uses (same encryption, same layout).
 */
import { IndexedDbStore } from '@sigilo/client-web';

const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));

(globalThis as unknown as { sigiloSeed: unknown }).sigiloSeed = async (passphrase: string, n: number): Promise<{ contacts: number; messages: number }> => {
  const store = await IndexedDbStore.open({ name: 'sigilo', passphrase });
  const now = Date.now();
  store.transaction(() => {
    for (let i = 0; i < n; i++) {
      const accountId = rand(16);
      store.putContact({ accountId, alias: `Colleague ${String(i).padStart(4, '0')}`, identityKey: undefined, pendingIdentityKey: undefined, verified: false, accessKey: undefined, mutedUntil: 0 });
      const at = now - i * 60_000;
      store.insertMessage({ messageId: rand(16), conversation: accountId, author: accountId, outgoing: false, timestamp: at, text: `Message number ${i} about the shift rota`, status: i % 3 === 0 ? 'received' : 'read', deleted: false, receivedAt: at });
    }
  });
  await store.flush();
  const contacts = store.listContacts().length;
  const messages = store.listMessages(undefined, -1).length;
  store.close();
  await store.closed;
  return { contacts, messages };
};
