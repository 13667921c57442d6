/**
 * The engine side of the Worker interface (worker-protocol.ts): call
 * `hostSigiloWorker(self)` in a dedicated Worker's script. It opens the
 * IndexedDB store in the Worker, runs a SigiloClient on the browser adapters
 * there, answers the page's requests and forwards the engine's events. The
 * UI thread never holds a key or runs a ratchet step.
 */
import { AttachmentError, ClientError, SigiloClient } from '@sigilo/client';
import { StoreError } from './errors.js';
import { IndexedDbStore, type EvictionMarker } from './store.js';
import { BrowserTransport } from './transport.js';
import { webCryptoAgreement } from './agreement.js';
import { attachmentMethods } from './worker-methods/attachments.js';
import { IN_ANOTHER_TAB, type FromWorker, type ToWorker, type WorkerErrorData, type WorkerMethods } from './worker-protocol.js';

/** The part of a DedicatedWorkerGlobalScope the host uses. */
export interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
}

class HostError extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

/** A thrown error as the page sees it: a stable code and a message (never plaintext, keys or ids). */
export function workerError(e: unknown): WorkerErrorData {
  if (e instanceof StoreError && e.code === 'STORE_IN_USE') return { code: e.code, message: IN_ANOTHER_TAB };
  if (e instanceof AttachmentError) return { code: e.code, message: e.message, reason: e.reason, resumable: e.resumable };
  if (e instanceof StoreError || e instanceof ClientError || e instanceof HostError) return { code: e.code, message: e.message };
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export function hostSigiloWorker(scope: WorkerScope): void {
  let store: IndexedDbStore | undefined;
  let client: SigiloClient | undefined;
  let off: (() => void) | undefined;
  const need = (): SigiloClient => client ?? (() => { throw new HostError('NOT_OPEN', 'open the store first'); })();

  const methods: { [M in keyof WorkerMethods]: (...args: Parameters<WorkerMethods[M]>) => Promise<ReturnType<WorkerMethods[M]>> | ReturnType<WorkerMethods[M]> } = {
    async open(o) {
      if (client) throw new HostError('ALREADY_OPEN', 'this Worker already has a store open');
      // A Worker has no localStorage: the page handed in the marker it keeps, and keeps every change to it.
      let current = o.marker ?? null;
      const marker: EvictionMarker | null = o.marker === undefined ? null : {
        get: () => current,
        set: (v) => { current = v; scope.postMessage({ kind: 'marker', name: o.name, value: v }); },
        remove: () => { current = null; scope.postMessage({ kind: 'marker', name: o.name, value: null }); },
      };
      store = await IndexedDbStore.open({ name: o.name, passphrase: o.passphrase, ...(o.kdf ? { kdf: o.kdf } : {}), marker, ...(o.startOverAfterEviction ? { startOverAfterEviction: true } : {}) });
      client = new SigiloClient({ store, transport: () => new BrowserTransport(), agreement: webCryptoAgreement });
      off = client.on((event) => scope.postMessage({ kind: 'event', event }));
      return { created: store.report.created, registered: client.accountId !== undefined };
    },
    async init(url, fingerprint) {
      const r = await need().init(url ?? location.origin, fingerprint);
      return { url: r.url };
    },
    register: (code) => need().register(code),
    connect: (o) => need().connect(o ?? {}),
    whoami() {
      const c = need();
      return { accountId: c.accountId, deviceId: c.deviceId, contactCard: c.accountId ? c.contactCard : undefined, state: c.state };
    },
    addContact: (alias, accountId, accessKey, profileKey) => need().addContact(alias, accountId, accessKey, profileKey),
    sendText: (to, body) => need().sendText(to, body),
    markRead: (conversation, ids) => need().markRead(conversation, ids),
    typing: (conversation, started) => need().typing(conversation, started),
    deleteForEveryone: (conversation, id) => need().deleteForEveryone(conversation, id),
    listMessages: (conversation, limit) => need().listMessages(conversation, limit),
    listContacts: () => need().store.listContacts(),
    // Methods of other concepts, each from its own file.
    ...attachmentMethods(need, (m) => scope.postMessage(m)),
    setDisappearingTimer: (conversation, ms) => need().setDisappearingTimer(conversation, ms),
    disappearingTimer: (conversation) => need().disappearingTimer(conversation),
    setConfidential: (conversation, on) => need().setConfidential(conversation, on),
    confidential: (conversation) => need().confidential(conversation),
    wipeConfidential: (conversation) => need().wipeConfidential(conversation),
    async close() {
      const c = client, s = store;
      client = undefined;
      store = undefined;
      off?.();
      await c?.close();
      s?.close();
      await s?.closed;
    },
  };

  scope.addEventListener('message', (e) => {
    const m = e.data;
    if (!m || m.kind !== 'call' || typeof m.id !== 'number') return;
    const fn = Object.hasOwn(methods, m.method) ? (methods[m.method] as (...a: unknown[]) => unknown) : undefined;
    void (async () => {
      try {
        if (!fn) throw new HostError('UNKNOWN_METHOD', `no method "${String(m.method)}"`);
        const value = await fn(...(Array.isArray(m.args) ? m.args : []));
        scope.postMessage({ kind: 'result', id: m.id, ok: true, value });
      } catch (err) {
        scope.postMessage({ kind: 'result', id: m.id, ok: false, error: workerError(err) });
      }
    })();
  });
}
