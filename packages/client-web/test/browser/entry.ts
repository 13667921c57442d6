/**
 * The browser side of the Chromium tests, bundled by test/support/browser.ts:
 * every entry of window.sigiloTest is one check run in the page, returning
 * JSON (or throwing, which fails the test with the message).
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { authPayload, bytesEqual, generateIdentityKeyPair, registerDevicePayload, registerIdentityPayload } from '@sigilo/protocol';
import { portableCrypto, systemRandom } from '@sigilo/protocol/portable';
import { sha256 } from '@noble/hashes/sha2.js';
import { ClientFrameSchema, ServerFrameSchema, type ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import {
  BrowserTransport, DEFAULT_KDF, webCryptoAgreement, webCryptoSymmetric, sendFileInWorker, downloadInWorker, blobInput, opfsDownload, removeOpfsDownload, SigiloWorkerClient, SigiloWorkerError, IndexedDbStore, StoreError, TransferError, blobSource, deleteStore, downloadResumable, opfsSink, storeDatabaseName, streamSink,
  uploadOffset, uploadResumable, type EvictionMarker, type FrameConnection, type HttpRequest, type KdfParams, type Transport,
} from '@sigilo/client-web';
import { SigiloClient, formatAccountId, fromHex, parseContactCard, type ClientEvent } from '@sigilo/client';
import { runSdkScenario, sdkScenarios, type SdkFiles } from '../sdk-conformance.js';
import { ratchetOpsPerSecond } from '../bench-ratchet.js';
import { formatMigrationTests } from './format-migration.js';
import { TEST_KDF, hex, openStore, patternBlob, sha256Hex, uniqueName } from './page-support.js';
import { workerTests } from './worker-tests.js';
import { ALICE, BOB, CAROL, check, eq, fill, id16, ok, rejectsWith, storeScenarios, type StoreFactory, type StoreHandle } from '../store-conformance.js';



const idbFactory: StoreFactory = {
  async fresh(passphrase) {
    const name = uniqueName('conformance');
    let current = await openStore(name, passphrase);
    const handle: StoreHandle = {
      get store() { return current; },
      async reopen(p = passphrase) {
        current.close();
        await current.closed;
        current = await openStore(name, p);
        return current;
      },
      async close() {
        current.close();
        await current.closed;
        await deleteStore(name);
      },
    };
    return handle;
  },
};

// ------------------------------------------------------------------ raw IndexedDB (what an attacker with the disk sees)

function rawDb(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(storeDatabaseName(name));
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
const req = <T>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });

type RawRecord = { k: number; v: Uint8Array };
async function rawRecords(name: string): Promise<RawRecord[]> {
  const db = await rawDb(name);
  try {
    const all = await req(db.transaction('records').objectStore('records').getAll()) as { k: number; v: ArrayBuffer }[];
    return all.map((r) => ({ k: r.k, v: new Uint8Array(r.v) }));
  } finally {
    db.close();
  }
}

async function rawPut(name: string, record: RawRecord): Promise<void> {
  const db = await rawDb(name);
  try {
    const tx = db.transaction('records', 'readwrite');
    tx.objectStore('records').put({ k: record.k, v: record.v.buffer });
    await new Promise<void>((resolve, reject) => { tx.oncomplete = () => resolve(); tx.onerror = () => reject(tx.error); });
  } finally {
    db.close();
  }
}

async function rawHeader(name: string): Promise<Record<string, unknown>> {
  const db = await rawDb(name);
  try {
    return await req(db.transaction('meta').objectStore('meta').get('header')) as Record<string, unknown>;
  } finally {
    db.close();
  }
}

const same = (a: RawRecord[], b: RawRecord[]) => {
  const key = (r: RawRecord) => `${r.k}=${Array.from(r.v).join(',')}`;
  const x = a.map(key).sort(), y = b.map(key).sort();
  return x.length === y.length && x.every((s, i) => s === y[i]);
};

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

// ------------------------------------------------------------------ frames over the browser transport

type ClientBody = MessageInitShape<typeof ClientFrameSchema>['body'];

class FrameClient {
  readonly pushes: ServerFrame[] = [];
  #next = 1n;
  #waiting = new Map<bigint, (f: ServerFrame) => void>();
  #challenge: Promise<Uint8Array>;
  constructor(readonly conn: FrameConnection) {
    let got!: (n: Uint8Array) => void;
    this.#challenge = new Promise((r) => { got = r; });
    conn.onFrame = (bytes) => {
      const f = fromBinary(ServerFrameSchema, bytes);
      if (f.body.case === 'challenge') got(f.body.value.nonce);
      const w = f.requestId !== 0n ? this.#waiting.get(f.requestId) : undefined;
      if (w) { this.#waiting.delete(f.requestId); w(f); } else this.pushes.push(f);
    };
  }
  static async connect(t: Transport): Promise<FrameClient> {
    return new FrameClient(await t.connect());
  }
  nonce(): Promise<Uint8Array> {
    return Promise.race([this.#challenge, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no challenge from the server')), 10_000))]);
  }
  request(body: ClientBody): Promise<ServerFrame> {
    const requestId = this.#next++;
    this.conn.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId, body })));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to ${body?.case}`)), 10_000);
      this.#waiting.set(requestId, (f) => { clearTimeout(t); resolve(f); });
    });
  }
  async expect<C extends ServerFrame['body']['case']>(body: ClientBody, c: C): Promise<Extract<ServerFrame['body'], { case: C }>['value']> {
    const f = await this.request(body);
    if (f.body.case !== c) throw new Error(`expected ${c}, got ${f.body.case === 'error' ? `error ${f.body.value.code}: ${f.body.value.message}` : f.body.case}`);
    return f.body.value as never;
  }
}

const ctx = { crypto: portableCrypto, random: systemRandom };

interface Account { accountId: Uint8Array; deviceId: number; deviceKey: Uint8Array }

/** Registers a new account with an invite over the browser's WebSocket, with the portable crypto provider. */
async function register(t: Transport, inviteCode: string): Promise<Account> {
  const c = await FrameClient.connect(t);
  try {
    const nonce = await c.nonce();
    const identity = generateIdentityKeyPair(ctx);
    const seed = systemRandom(32);
    const devicePublic = portableCrypto.ed25519PublicKey(seed);
    const r = await c.expect({
      case: 'register',
      value: {
        inviteCode, identityKey: identity.publicKey, deviceKey: devicePublic,
        identitySignature: portableCrypto.ed25519Sign(identity.signing.privateKey, registerIdentityPayload(nonce, devicePublic)),
        deviceSignature: portableCrypto.ed25519Sign(seed, registerDevicePayload(nonce, identity.publicKey)),
      },
    }, 'registered');
    return { accountId: r.accountId, deviceId: r.deviceId, deviceKey: seed };
  } finally {
    c.conn.close();
  }
}

async function authenticate(t: Transport, a: Account): Promise<FrameClient> {
  const c = await FrameClient.connect(t);
  const nonce = await c.nonce();
  await c.expect({ case: 'authenticate', value: { accountId: a.accountId, deviceId: a.deviceId, signature: portableCrypto.ed25519Sign(a.deviceKey, authPayload(nonce, a.accountId, a.deviceId)) } }, 'authenticated');
  return c;
}

/**
 * A transport that drops the connection in the middle of PATCH bodies: from
 * the `firstCut`-th PATCH on, it watches the server's offset (HEAD) while the
 * body goes out and aborts the request once the server holds some but not all
 * of it, failing it as a lost connection would. It keeps trying on later PATCH
 * requests until one cut landed mid-body (a request may finish before the
 * watcher sees it), then lets the rest through.
 */
class CuttingTransport implements Transport {
  patches = 0;
  /** Server offsets at which a request was cut, strictly inside its body. */
  readonly cutAt: number[] = [];
  constructor(readonly inner: BrowserTransport, readonly firstCut: number, readonly slot: { path: string; token: string; size: number }) {}
  connect() { return this.inner.connect(); }
  async request(r: HttpRequest) {
    if (r.method !== 'PATCH' || ++this.patches < this.firstCut || this.cutAt.length > 0) return this.inner.request(r);
    const start = Number(r.headers!['upload-offset']);
    const end = start + (r.body instanceof Blob ? r.body.size : (r.body as Uint8Array).length);
    const ac = new AbortController();
    let finished = false;
    const watcher = (async () => {
      while (!finished) {
        const o = await uploadOffset(this.inner, this.slot, this.slot.size).catch(() => start);
        if (o > start && o < end && !finished) {
          ac.abort();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    try {
      return await this.inner.request({ ...r, signal: ac.signal });
    } catch (e) {
      finished = true;
      await watcher;
      // Did the server keep part of the body? Bytes already on the wire still arrive after the
      // abort (and the abort may come after the last byte went out): wait until the offset settles.
      let o = await uploadOffset(this.inner, this.slot, this.slot.size);
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const again = await uploadOffset(this.inner, this.slot, this.slot.size);
        if (again === o) break;
        o = again;
      }
      if (o > start && o < end) this.cutAt.push(o);
      // What the uploader sees when a connection drops: a network failure, not a cancel.
      throw new TypeError('network connection lost', { cause: e });
    } finally {
      finished = true;
      await watcher;
    }
  }
}



// ------------------------------------------------------------------ the SDK on the browser adapters

/** The client factory of the SDK conformance suite: IndexedDB store, the page's WebSocket and fetch, the portable provider. */
async function browserClient(label: string, wrap?: (t: Transport) => Transport): Promise<{ client: SigiloClient; dispose(): Promise<void> }> {
  const name = uniqueName(`sdk-${label}`);
  const store = await openStore(name, `passphrase of ${label}`);
  const client = new SigiloClient({ store, transport: () => (wrap ? wrap(new BrowserTransport()) : new BrowserTransport()), agreement: webCryptoAgreement, symmetric: webCryptoSymmetric });
  await client.init(location.origin, undefined);
  return {
    client,
    async dispose() {
      store.close();
      await store.closed;
      await deleteStore(name);
    },
  };
}

/** The SDK conformance suite's files in the browser: Blobs to send, downloads into OPFS (resumable). */
function browserFiles(): SdkFiles {
  const prefix = uniqueName('sdk-file');
  const made: string[] = [];
  return {
    async make(name, size) {
      const blob = patternBlob(size);
      return { file: blobInput(blob, name), sha256: await sha256Hex(await blob.arrayBuffer()) };
    },
    async target(name) {
      made.push(`${prefix}-${name}`);
      return opfsDownload(`${prefix}-${name}`);
    },
    async sha256Of(name) {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('sigilo-downloads');
      const file = await (await dir.getFileHandle(`${prefix}-${name}`)).getFile();
      const hex = await sha256Hex(await file.arrayBuffer());
      for (const n of made) await removeOpfsDownload(n);
      return hex;
    },
  };
}

/** One client kept in the page across calls (a conversation driven step by step from the test, e.g. with the CLI). */
let held: { client: SigiloClient; dispose(): Promise<void> } | undefined;

// ------------------------------------------------------------------ the checks

const tests: Record<string, (...args: never[]) => Promise<unknown>> = {
  scenarios: async () => Object.keys(storeScenarios),
  sdkScenarios: async () => Object.keys(sdkScenarios),

  async sdkScenario(name: string, invites: string[]) {
    await runSdkScenario(name, invites, browserClient, browserFiles());
    return true;
  },

  /** A registered, connected browser client kept in the page; returns its contact card. */
  async heldStart(inviteCode: string) {
    held = await browserClient('held');
    await held.client.register(inviteCode);
    await held.client.connect({ reconnect: false });
    return { card: held.client.contactCard, accountId: formatAccountId(held.client.accountId!) };
  },

  async heldSend(alias: string, card: string, text: string) {
    const c = parseContactCard(card);
    held!.client.addContact(alias, c.accountId, c.accessKey, c.profileKey);
    const m = await held!.client.sendText(c.accountId, text);
    return m.status;
  },

  /** Waits for a text from `card`'s account; returns the texts received from it. */
  async heldWaitFor(card: string, text: string) {
    const from = parseContactCard(card).accountId;
    const deadline = Date.now() + 90_000;
    const texts = () => held!.client.store.listMessages(from, 100).filter((m) => !m.outgoing).map((m) => m.text);
    while (!texts().includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return texts();
  },

  /** bench/browser.mjs: Double Ratchet encrypt+decrypt ops/s with the portable provider. */
  async ratchetBench(ms: number) {
    return ratchetOpsPerSecond(ctx, ms);
  },

  /** Disconnects the held client (messages for it queue at the server). */
  async heldOffline() {
    await held!.client.close();
    return held!.client.state;
  },

  /** Reconnects the held client and times until `n` texts from `card` are received, stored and durable. */
  async heldCatchUp(card: string, n: number) {
    const from = parseContactCard(card).accountId;
    const c = held!.client;
    const count = () => c.store.listMessages(from, n + 10).filter((m) => !m.outgoing).length;
    const t0 = performance.now();
    await c.connect({ reconnect: false });
    const deadline = Date.now() + 600_000;
    while (count() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await (c.store as IndexedDbStore).flush();
    return { ms: performance.now() - t0, stored: count() };
  },

  async heldClose() {
    const h = held;
    held = undefined;
    await h?.client.close();
    await h?.dispose();
    return true;
  },

  async storeScenario(name: string) {
    await storeScenarios[name]!(idbFactory);
    return true;
  },

  /** Memory rollback is covered by the shared scenario; here: the database is byte for byte what it was. */
  async rollbackWritesNothing() {
    const name = uniqueName('rollback');
    const s = await openStore(name, 'pw');
    try {
      fill(s);
      await s.flush();
      const before = await rawRecords(name);
      try {
        s.transaction(() => {
          s.setMeta('identity', new Uint8Array([9]));
          s.putSession(BOB, 9, new Uint8Array([9]));
          s.removeMessage(ALICE, id16(101));
          throw new Error('boom');
        });
      } catch { /* expected */ }
      ok(!s.pendingWrites, 'a rolled-back transaction queues no write');
      await s.flush();
      ok(same(before, await rawRecords(name)), 'IndexedDB unchanged by the rolled-back transaction');
      // A committed one is written, whole.
      s.transaction(() => { s.setMeta('x', new Uint8Array([1])); s.putSession(BOB, 9, new Uint8Array([2])); });
      ok(s.pendingWrites, 'a committed transaction queues its writes');
      await s.flush();
      const after = await rawRecords(name);
      ok(!same(before, after), 'the committed transaction was written');
      return { records: before.length };
    } finally {
      s.close();
      await s.closed;
      await deleteStore(name);
    }
  },

  async closeWritesQueued() {
    const name = uniqueName('close');
    const s = await openStore(name, 'pw');
    for (let i = 0; i < 200; i++) s.transaction(() => { s.putSession(ALICE, i, new Uint8Array([i])); s.setMeta(`m${i}`, new Uint8Array([i])); });
    ok(s.pendingWrites, 'writes are queued');
    s.close();
    await rejectsWith(async () => s.getMeta('m1'), 'STORE_CLOSED', 'a closed store');
    await s.closed;
    const again = await openStore(name, 'pw');
    eq(again.sessionDevices(ALICE).length, 200, 'every session written');
    eq(again.getMeta('m199'), new Uint8Array([199]), 'the last transaction written');
    again.close();
    await again.closed;
    await deleteStore(name);
    return true;
  },

  async tamperedRecord() {
    const name = uniqueName('tamper');
    const s = await openStore(name, 'pw');
    fill(s);
    s.close();
    await s.closed;
    const before = await rawRecords(name);
    const victim = before[Math.floor(before.length / 2)]!;
    const flipped = { k: victim.k, v: victim.v.slice() };
    flipped.v[flipped.v.length - 20]! ^= 0x01;
    await rawPut(name, flipped);
    await rejectsWith(openStore(name, 'pw'), 'STORE_CORRUPT', 'a flipped byte');
    eq((await rawRecords(name)).length, before.length, 'a failed open writes nothing');
    // A record moved under another record's key does not open either (the key is associated data).
    const other = before.find((r) => r !== victim)!;
    await rawPut(name, { k: other.k, v: victim.v });
    await rejectsWith(openStore(name, 'pw'), 'STORE_CORRUPT', 'a record moved to another key');
    // Restored, the store opens with everything.
    await rawPut(name, victim);
    await rawPut(name, other);
    const again = await openStore(name, 'pw');
    check(again);
    again.close();
    await again.closed;
    await deleteStore(name);
    return { records: before.length };
  },

  async wrongPassphraseLeavesStoreAlone() {
    const name = uniqueName('passphrase');
    const s = await openStore(name, 'right');
    fill(s);
    s.close();
    await s.closed;
    const before = await rawRecords(name);
    const header = await rawHeader(name);
    const e = await rejectsWith(openStore(name, 'wrong'), 'BAD_PASSPHRASE', 'wrong passphrase');
    ok(e instanceof StoreError, 'a StoreError');
    ok(same(before, await rawRecords(name)), 'records untouched');
    eq(await rawHeader(name), header, 'header untouched');
    const again = await openStore(name, 'right');
    check(again);
    again.close();
    await again.closed;
    await deleteStore(name);
    return true;
  },

  async eviction() {
    const name = uniqueName('evict');
    const s = await openStore(name, 'pw');
    ok(s.report.created, 'a new store');
    ok(localStorage.getItem(`sigilo.store.${name}`) === (await rawHeader(name)).marker, 'the marker is in localStorage and the header');
    fill(s);
    s.close();
    await s.closed;
    // The browser evicts the database; localStorage keeps the marker.
    await new Promise<void>((resolve, reject) => { const r = indexedDB.deleteDatabase(storeDatabaseName(name)); r.onsuccess = () => resolve(); r.onerror = () => reject(r.error); });
    await rejectsWith(openStore(name, 'pw'), 'STORE_EVICTED', 'an evicted store');
    await rejectsWith(openStore(name, 'pw'), 'STORE_EVICTED', 'still evicted on the next start');
    const fresh = await openStore(name, 'pw', { startOverAfterEviction: true });
    ok(fresh.report.created && fresh.listContacts().length === 0, 'starting over gives an empty store');
    fresh.close();
    await fresh.closed;
    // Without the marker (first start on this browser) a missing database is simply a new store.
    await deleteStore(name);
    const first = await openStore(name, 'pw');
    ok(first.report.created, 'first start');
    first.close();
    await first.closed;
    await deleteStore(name);
    return true;
  },

  async noPlaintextOnDisk() {
    const name = uniqueName('scan');
    const s = await openStore(name, 'pw');
    fill(s);
    const sessionRecord = utf8('a session record with a distinctive body');
    s.putSession(CAROL, 7, sessionRecord);
    await s.flush();
    const records = await rawRecords(name);
    const header = await rawHeader(name);
    s.close();
    await s.closed;
    const needles: [string, Uint8Array][] = [
      ['account id bytes', ALICE], ['account id bytes', BOB], ['account id hex', utf8(hex(ALICE))], ['account id hex', utf8(hex(BOB))],
      ['message text', utf8('message 1')], ['contact name', utf8('alice')], ['group name', utf8('team')], ['session record', sessionRecord],
    ];
    for (const r of records) {
      ok(Number.isInteger(r.k) && r.k >= 0 && r.k < 32, 'every record key is a bucket number (a keyed hash of the row key)');
      for (const [what, needle] of needles) {
        ok(!contains(r.v, needle), `${what} in a record value`);
      }
    }
    const headerText = JSON.stringify(header, (_k, v) => (v instanceof Uint8Array ? hex(v) : v));
    for (const [what, needle] of needles) ok(!headerText.includes(new TextDecoder().decode(needle)), `${what} in the header`);
    ok(!storeDatabaseName(name).includes(hex(ALICE)), 'database name');
    await deleteStore(name);
    return { records: records.length };
  },

  async secondTab(name: string, phase: 'open' | 'try' | 'close') {
    const w = globalThis as unknown as { heldStore?: IndexedDbStore };
    if (phase === 'open') { w.heldStore = await openStore(name, 'pw'); return true; }
    if (phase === 'close') { w.heldStore!.close(); await w.heldStore!.closed; await deleteStore(name); return true; }
    try {
      const s = await openStore(name, 'pw');
      s.close();
      await s.closed;
      return 'opened';
    } catch (e) {
      return (e as StoreError).code;
    }
  },

  /** The default KDF's cost in this browser. */
  async kdfTime() {
    const name = uniqueName('kdf');
    const s = await IndexedDbStore.open({ name, passphrase: 'a passphrase of some length', kdf: DEFAULT_KDF });
    s.close();
    await s.closed;
    const again = await IndexedDbStore.open({ name, passphrase: 'a passphrase of some length' });
    const r = again.report;
    again.close();
    await again.closed;
    await deleteStore(name);
    return { kdf: DEFAULT_KDF, createKdfMs: s.report.kdfMs, openKdfMs: r.kdfMs };
  },

  /** Store open time with `sessions` sessions and `messages` messages (KDF apart). */
  async storeOpenTime(sessions: number, messages: number, kdf: KdfParams = TEST_KDF) {
    const name = uniqueName('bench');
    const s = await IndexedDbStore.open({ name, passphrase: 'pw', kdf });
    const record = systemRandom(1500);
    s.transaction(() => {
      for (let i = 0; i < sessions; i++) {
        const a = id16(i % 256);
        a[1] = i >> 8;
        s.putSession(a, 1, record);
      }
    });
    const conversations = 20;
    for (let c = 0; c < conversations; c++) {
      const conv = id16(c);
      conv[2] = 0xcc;
      s.transaction(() => {
        for (let i = 0; i < messages / conversations; i++) {
          const id = systemRandom(16);
          s.insertMessage({ messageId: id, conversation: conv, author: conv, outgoing: i % 2 === 0, timestamp: i, text: `a message of ordinary length, number ${i} in conversation ${c}`, status: 'read', deleted: false, receivedAt: i });
        }
      });
    }
    await s.flush();
    s.close();
    await s.closed;
    const runs: number[] = [];
    let report = s.report;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const o = await IndexedDbStore.open({ name, passphrase: 'pw', requestPersistence: false });
      const total = performance.now() - t0;
      report = o.report;
      runs.push(report.loadMs);
      ok(o.listMessages(undefined, 100_000).length === messages, 'every message loaded');
      o.close();
      await o.closed;
      void total;
    }
    await deleteStore(name);
    return { sessions, messages, records: report.records, rows: report.rows, phases: report.phases, kdfMs: report.kdfMs, openMs: Math.min(...runs), runsMs: runs };
  },

  async persistence() {
    const name = uniqueName('persist');
    const s = await openStore(name, 'pw');
    const r = s.report.persisted;
    s.close();
    await s.closed;
    await deleteStore(name);
    return { persisted: r ?? null };
  },

  /**
   * The client core itself in the page (@sigilo/client with the browser ports: IndexedDB store,
   * BrowserTransport, the portable crypto provider by default): init, register, connect, send a
   * text to a Node client and wait for its reply.
   */
  async coreChat(inviteCode: string, peerAccountId: string, peerAccessKey: string) {
    const name = uniqueName('core');
    const store = await openStore(name, 'pw');
    const client = new SigiloClient({ store, transport: () => new BrowserTransport() });
    const events: ClientEvent[] = [];
    client.on((e) => events.push(e));
    try {
      await client.init(location.origin, undefined);
      await client.register(inviteCode);
      await client.connect({ reconnect: false });
      const peer = fromHex(peerAccountId);
      client.addContact('node', peer, fromHex(peerAccessKey));
      const sent = await client.sendText(peer, 'hello from the browser');
      const deadline = Date.now() + 30_000;
      while (!events.some((e) => e.type === 'message' && e.message.text === 'hello from node') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const reply = store.listMessages(peer, 10).find((m) => !m.outgoing);
      return { accountId: hex(client.accountId!), sentStatus: sent.status, reply: reply?.text ?? null };
    } finally {
      await client.close();
      store.close();
      await store.closed;
      await deleteStore(name);
    }
  },

  /** Register with an invite, then authenticate, over wss:// to the page's origin. */
  async registerOverWebSocket(inviteCode: string) {
    const t = new BrowserTransport();
    const a = await register(t, inviteCode);
    const c = await authenticate(t, a);
    c.conn.close();
    const closed = await c.conn.closed;
    return { accountId: hex(a.accountId), deviceId: a.deviceId, url: (t as BrowserTransport).webSocketUrl, closeCode: closed.code };
  },

  /**
   * Allocates an attachment slot, uploads `size` bytes from a Blob in chunks with
   * one PATCH cut in the middle, resumes, then downloads into OPFS with a
   * download cut too, and compares digests.
   */
  async uploadWithCut(inviteCode: string, size: number) {
    const base = new BrowserTransport();
    const a = await register(base, inviteCode);
    const c = await authenticate(base, a);
    const slot = await c.expect({ case: 'allocateAttachment', value: { size: BigInt(size) } }, 'attachmentSlot');
    const blob = patternBlob(size);
    const chunkBytes = 8 * 1024 * 1024;
    const cutting = new CuttingTransport(base, 1, { path: slot.uploadPath, token: slot.uploadToken, size });
    const progress: number[] = [];
    await uploadResumable(cutting, { path: slot.uploadPath, token: slot.uploadToken }, blobSource(blob), {
      chunkBytes, backoffMs: () => 50, onProgress: (d) => progress.push(d),
    });
    eq(cutting.cutAt.length, 1, 'one request was cut in the middle of its body');
    const cut = cutting.cutAt[0]!;
    // After the cut the uploader asked the server and went on from a byte inside the cut chunk.
    ok(progress.includes(cut) && cut % chunkBytes !== 0, `resumed from inside the cut chunk (cut at ${cut}, progress ${progress.join(',')})`);
    eq(await uploadOffset(base, { path: slot.uploadPath, token: slot.uploadToken }, size), size, 'the server has every byte');

    // Download into OPFS, cut after the first MiB, resume with Range.
    const file = uniqueName('download');
    const root = await navigator.storage.getDirectory();
    let cutDone = false;
    const cutOnce: Transport = {
      connect: () => base.connect(),
      async request(r) {
        if (r.method !== 'GET' || cutDone) return base.request(r);
        cutDone = true;
        const ac = new AbortController();
        const res = await base.request({ ...r, signal: ac.signal });
        // Pass the first MiB through, then drop the connection.
        const reader = res.body!.getReader();
        let passed = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(ctl) {
            if (passed >= 1 << 20) { ac.abort(); ctl.error(new TypeError('network error')); return; }
            const { done, value } = await reader.read();
            if (done) { ctl.close(); return; }
            passed += value.length;
            ctl.enqueue(value);
          },
        });
        return { ...res, status: res.status, header: res.header, body, text: res.text };
      },
    };
    let ranged = 0;
    const counting: Transport = { connect: () => base.connect(), request: (r) => { if (r.headers?.range) ranged++; return cutOnce.request(r); } };
    const sink = await opfsSink(file, root);
    await downloadResumable(counting, slot.uploadPath, sink, size, { backoffMs: () => 50 });
    ok(ranged === 1, `the cut download resumed with one Range request (${ranged})`);
    const got = await (await root.getFileHandle(file)).getFile();
    eq(got.size, size, 'downloaded size');
    const want = await sha256Hex(await blob.arrayBuffer());
    eq(await sha256Hex(await got.arrayBuffer()), want, 'downloaded bytes');
    await root.removeEntry(file);

    // The same bytes into a WritableStream (a save dialog's stream), hashed as they arrive.
    const hash = sha256.create();
    let written = 0;
    await downloadResumable(base, slot.uploadPath, streamSink(new WritableStream<Uint8Array>({ write(chunk) { hash.update(chunk); written += chunk.length; } })), size);
    eq(written, size, 'streamed size');
    eq(hex(hash.digest()), want, 'streamed bytes');

    // A server copy of another size than the pointer says is a typed error, and the sink is aborted.
    for (const [expected, reason] of [[size + 1, 'TRUNCATED'], [size - 1, 'EXTENDED']] as const) {
      let aborted = false;
      let got = '';
      try {
        await downloadResumable(base, slot.uploadPath, streamSink(new WritableStream<Uint8Array>({ abort() { aborted = true; } })), expected);
      } catch (err) {
        got = (err as TransferError).reason;
      }
      eq(got, reason, `expected size ${expected - size > 0 ? 'above' : 'below'} the server's`);
      ok(aborted, 'the sink was aborted');
    }
    // A second upload to the complete slot sends nothing.
    await uploadResumable(base, { path: slot.uploadPath, token: slot.uploadToken }, blobSource(blob));
    // Bad input from the server side: an expired (unknown) slot is a typed error.
    let reason = '';
    try { await uploadResumable(base, { path: `/v1/attachments/${'0'.repeat(32)}`, token: 'x' }, blobSource(blob)); } catch (err) { reason = (err as TransferError).reason; }
    eq(reason, 'EXPIRED', 'an unknown slot');
    c.conn.close();
    return { size, patches: cutting.patches, cutAt: cut, progress };
  },
};

(globalThis as unknown as { sigiloTest: typeof tests }).sigiloTest = { ...tests, ...workerTests, migratesFormat1: () => formatMigrationTests.migratesFormat1(TEST_KDF) };
export type { EvictionMarker };
