/**
 * The SDK conformance suite: the same user-level scenarios, run by
 * sdk-conformance.test.ts on the Node adapters (SQLCipher, pinned TLS,
 * node:crypto) and by browser.test.ts on the browser adapters in Chromium
 * (IndexedDB, the page's WebSocket, the portable provider), against the
 * real server over TLS. Plain TypeScript with no vitest and no Node import:
 * it is bundled into the test page as store-conformance.ts is.
 *
 * A scenario gets an `SdkEnv`: a factory that makes a SigiloClient on the
 * adapter set under test, already pointed at the server (init done), and the
 * invite codes the test made for it (`invites` of them; the page cannot make
 * invites). Every party of a scenario is a client of that adapter set.
 */
import { bytesEqual } from '@sigilo/protocol';
import type { SigiloClient, ClientEvent, DownloadSink, FileInput, FrameConnection, HttpResponse, MessageRow, Transport } from '@sigilo/client';

export interface SdkEnv {
  /**
   * A new client on the adapters under test, with a fresh store, `init` done against the test server.
   * `wrap` puts something between the client and its real transport (a tampering server, say).
   */
  newClient(label: string, wrap?: (t: Transport) => Transport): Promise<SigiloClient>;
  /** The next unused invite code made for this scenario. */
  invite(): string;
  /** The adapter set's files, for attachments. */
  readonly files: SdkFiles;
}

/** Files on the adapters under test: paths in Node, Blobs and OPFS in a browser. */
export interface SdkFiles {
  /** A file of `size` deterministic bytes, as sendFile takes it, and its SHA-256 (hex). */
  make(name: string, size: number): Promise<{ file: string | FileInput; sha256: string }>;
  /** Where a download of `name` goes (called for every attempt: a resumed one finds what the last kept). */
  target(name: string): Promise<string | DownloadSink>;
  /** The SHA-256 (hex) of the finished download `name`. */
  sha256Of(name: string): Promise<string>;
}

/** An AttachmentError's reason, or a description of what else was thrown. */
const reasonOf = (e: unknown) => (e as { reason?: string } | undefined)?.reason ?? `not an AttachmentError: ${String(e)}`;

export interface SdkScenario {
  /** How many invite codes the scenario uses. */
  readonly invites: number;
  run(env: SdkEnv): Promise<void>;
}

function fail(what: string): never {
  throw new Error(`sdk conformance: ${what}`);
}
export function ok(cond: unknown, what: string): asserts cond {
  if (!cond) fail(what);
}
const eq = <T>(a: T, b: T, what: string) => ok(a === b, `${what}: expected ${String(b)}, got ${String(a)}`);

/** Resolves with the first event of `type` matching `pred` (listening from now on), or rejects after `ms`. */
export function nextEvent<T extends ClientEvent['type']>(c: SigiloClient, type: T, pred: (e: Extract<ClientEvent, { type: T }>) => boolean = () => true, ms = 30_000): Promise<Extract<ClientEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`sdk conformance: timed out waiting for a ${type} event`)); }, ms);
    const off = c.on((e) => {
      if (e.type === type && pred(e as never)) { clearTimeout(timer); off(); resolve(e as never); }
    });
  });
}

export async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

const hasText = (c: SigiloClient, conversation: Uint8Array, text: string) => c.store.listMessages(conversation, 10_000).some((m) => m.text === text);

/** A registered, connected person. */
async function person(env: SdkEnv, label: string): Promise<SigiloClient> {
  const c = await env.newClient(label);
  const r = await c.register(env.invite());
  ok(r.accountId.length === 16 && r.deviceId > 0, 'register gives an account id and a device id');
  await c.connect({ reconnect: false });
  eq(c.state, 'online', `${label} state after connect`);
  return c;
}

function introduce(a: SigiloClient, aName: string, b: SigiloClient, bName: string): void {
  a.addContact(bName, b.accountId!, b.accessKey);
  b.addContact(aName, a.accountId!, a.accessKey);
}

async function pair(env: SdkEnv): Promise<[SigiloClient, SigiloClient]> {
  const alice = await person(env, 'alice');
  const bob = await person(env, 'bob');
  introduce(alice, 'alice', bob, 'bob');
  return [alice, bob];
}

export const sdkScenarios: Record<string, SdkScenario> = {
  'registers with an invite; a used invite is refused': {
    invites: 1,
    async run(env) {
      const code = env.invite();
      const a = await env.newClient('first');
      const r = await a.register(code);
      ok(bytesEqual(a.accountId!, r.accountId), 'the account id is kept');
      const b = await env.newClient('second');
      let refused = false;
      try { await b.register(code); } catch { refused = true; }
      ok(refused, 'a used invite code is refused');
    },
  },

  '1:1 text both ways, with delivery and read receipts': {
    invites: 2,
    async run(env) {
      const [alice, bob] = await pair(env);
      const statuses: string[] = [];
      alice.on((e) => { if (e.type === 'status') statuses.push(e.status); });
      const got = nextEvent(bob, 'message', (e) => e.message.text === 'hello bob');
      const delivered = nextEvent(alice, 'status', (e) => e.status === 'delivered');
      const sent = await alice.sendText(bob.accountId!, 'hello bob');
      // Bob is online: his receipt can arrive before sendText has marked the text 'sent' (the sealed send's answer
      // comes on the anonymous connection, and the sync copy asks for this account's devices first).
      ok(sent.status === 'sent' || sent.status === 'delivered', `status of a sent text: sent, or already delivered (${sent.status})`);
      const m = (await got).message;
      ok(bytesEqual(m.author, alice.accountId!) && !m.outgoing, 'bob sees it from alice');
      await delivered;
      const read = nextEvent(alice, 'status', (e) => e.status === 'read' && bytesEqual(e.messageId, sent.messageId));
      eq(await bob.markRead(alice.accountId!), 1, 'messages marked read');
      await read;
      // In order, never back; 'sent' is skipped when the delivery receipt came first.
      ok(['sent,delivered,read', 'delivered,read'].includes(statuses.join(',')), `the sender's ticks: sent, delivered, read (${statuses.join(',')})`);
      eq(alice.store.getMessage(bob.accountId!, sent.messageId)!.status, 'read', 'stored status');
      const back = nextEvent(alice, 'message', (e) => e.message.text === 'hello alice');
      await bob.sendText(alice.accountId!, 'hello alice');
      await back;
      ok(hasText(alice, bob.accountId!, 'hello alice') && hasText(bob, alice.accountId!, 'hello bob'), 'both stores hold both texts');
    },
  },

  'typing starts and stops': {
    invites: 2,
    async run(env) {
      const [alice, bob] = await pair(env);
      // A first message sets up the session (typing is not worth a new session).
      const got = nextEvent(bob, 'message');
      await alice.sendText(bob.accountId!, 'hi');
      await got;
      const started = nextEvent(bob, 'typing', (e) => e.started);
      await alice.typing(bob.accountId!, true);
      const s = await started;
      ok(bytesEqual(s.conversation, alice.accountId!), 'typing in alice\'s conversation');
      ok(s.expiresAt > Date.now(), 'typing expires later');
      const stopped = nextEvent(bob, 'typing', (e) => !e.started);
      await alice.typing(bob.accountId!, false);
      await stopped;
    },
  },

  'delete for everyone removes the text at the other side': {
    invites: 2,
    async run(env) {
      const [alice, bob] = await pair(env);
      const got = nextEvent(bob, 'message', (e) => e.message.text === 'oops');
      const m = await alice.sendText(bob.accountId!, 'oops');
      await got;
      const deleted = nextEvent(bob, 'deleted');
      await alice.deleteForEveryone(bob.accountId!, m.messageId);
      await deleted;
      const there = bob.store.getMessage(alice.accountId!, m.messageId)!;
      ok(there.deleted && there.text === '', 'deleted and emptied at bob');
      let refused = false;
      try { await bob.deleteForEveryone(alice.accountId!, m.messageId); } catch { refused = true; }
      ok(refused, 'only the author may delete for everyone');
    },
  },

  'a group of three, with a private message inside it': {
    invites: 3,
    async run(env) {
      const [alice, bob] = await pair(env);
      const carol = await person(env, 'carol');
      introduce(alice, 'alice', carol, 'carol');
      introduce(bob, 'bob', carol, 'carol');
      const g = await alice.createGroup('trio', [bob.accountId!, carol.accountId!]);
      eq(g.members.length, 3, 'members');
      await alice.sendGroupText(g.groupId, 'hello group');
      await until('bob and carol have the group text', () => hasText(bob, g.groupId, 'hello group') && hasText(carol, g.groupId, 'hello group'));
      await bob.sendGroupText(g.groupId, 'hello from bob');
      await until('alice and carol have bob\'s text', () => hasText(alice, g.groupId, 'hello from bob') && hasText(carol, g.groupId, 'hello from bob'));
      const p = await alice.sendPrivateInGroup(g.groupId, bob.accountId!, 'only for bob');
      ok(p.privateWith && bytesEqual(p.privateWith, bob.accountId!), 'marked private with bob');
      await until('bob has the private text', () => hasText(bob, g.groupId, 'only for bob'));
      const atBob = bob.store.listMessages(g.groupId, 100).find((x) => x.text === 'only for bob')!;
      ok(atBob.privateWith && bytesEqual(atBob.privateWith, alice.accountId!), 'private with alice at bob');
      await alice.sendGroupText(g.groupId, 'after the private one');
      await until('carol has the later text', () => hasText(carol, g.groupId, 'after the private one'));
      ok(!hasText(carol, g.groupId, 'only for bob'), 'carol never gets the private text');
    },
  },

  'a linked second device receives the history': {
    invites: 2,
    async run(env) {
      const [alice, bob] = await pair(env);
      const got = nextEvent(bob, 'message', (e) => e.message.text === 'before linking');
      await alice.sendText(bob.accountId!, 'before linking');
      await got;
      const back = nextEvent(alice, 'message', (e) => e.message.text === 'reply before linking');
      await bob.sendText(alice.accountId!, 'reply before linking');
      await back;
      const second = await env.newClient('alice-2');
      const pending = await second.startLink();
      await alice.approveLink(pending.code);
      const done = await pending.completed;
      ok(bytesEqual(done.accountId, alice.accountId!) && done.deviceId !== alice.deviceId, 'linked to alice\'s account as another device');
      ok(done.historyMessages >= 2, `history arrived (${done.historyMessages} messages)`);
      ok(hasText(second, bob.accountId!, 'before linking') && hasText(second, bob.accountId!, 'reply before linking'), 'the history is in the new device\'s store');
      await second.connect({ reconnect: false });
      // New messages reach both of alice's devices.
      await bob.sendText(alice.accountId!, 'to both devices');
      await until('both devices have the new text', () => hasText(alice, bob.accountId!, 'to both devices') && hasText(second, bob.accountId!, 'to both devices'));
    },
  },

  'a changed identity blocks sending until it is accepted': {
    invites: 3,
    async run(env) {
      const [alice, bob] = await pair(env);
      const got = nextEvent(bob, 'message');
      await alice.sendText(bob.accountId!, 'first');
      await got;
      // "Bob reinstalled": alice's contact now names an account with another identity than the one she holds.
      const bob2 = await person(env, 'bob-reinstalled');
      const contact = alice.store.getContact(bob.accountId!)!;
      alice.store.transaction(() => alice.store.putContact({ ...contact, accountId: bob2.accountId!, alias: 'bob-new', accessKey: bob2.accessKey }));
      bob2.addContact('alice', alice.accountId!, alice.accessKey);
      const changed = nextEvent(alice, 'identity-changed');
      await alice.sendText(bob2.accountId!, 'are you still bob?').catch(() => undefined);
      await changed;
      ok(alice.store.getContact(bob2.accountId!)!.pendingIdentityKey !== undefined, 'the new identity is pending');
      let code = '';
      try { await alice.sendText(bob2.accountId!, 'blocked'); } catch (e) { code = (e as { code?: string }).code ?? String(e); }
      eq(code, 'IDENTITY_CHANGED', 'sending before accepting');
      alice.acceptIdentity(bob2.accountId!);
      const arrived = nextEvent(bob2, 'message', (e) => e.message.text === 'accepted now');
      await alice.sendText(bob2.accountId!, 'accepted now');
      await arrived;
      ok(!hasText(bob2, alice.accountId!, 'blocked'), 'the blocked text never left');
    },
  },

  'texts written offline go out after reconnecting': {
    invites: 2,
    async run(env) {
      const [alice, bob] = await pair(env);
      const got = nextEvent(bob, 'message', (e) => e.message.text === 'online');
      await alice.sendText(bob.accountId!, 'online');
      await got;
      await alice.close();
      eq(alice.state, 'offline', 'state after close');
      const offline: MessageRow[] = [];
      for (let i = 0; i < 3; i++) offline.push(await alice.sendText(bob.accountId!, `offline ${i}`));
      ok(offline.every((m) => m.status === 'pending'), `written offline: pending (${offline.map((m) => m.status).join(',')})`);
      ok(!hasText(bob, alice.accountId!, 'offline 0'), 'nothing reached bob while alice was offline');
      await alice.connect({ reconnect: false });
      await until('bob has every offline text', () => [0, 1, 2].every((i) => hasText(bob, alice.accountId!, `offline ${i}`)));
      const texts = bob.store.listMessages(alice.accountId!, 100).filter((m) => m.text.startsWith('offline')).map((m) => m.text);
      eq(texts.join('|'), 'offline 0|offline 1|offline 2', 'in the order written');
      await until('alice sees them sent', () => offline.every((m) => alice.store.getMessage(bob.accountId!, m.messageId)!.status !== 'pending'));
    },
  },

  'a disappearing timer reaches the other side; confidential messages reach no store and are wiped on leaving': {
    invites: 2,
    async run(env) {
      const [alice, bob] = await pair(env);
      const HOUR = 3_600_000;
      const timer = nextEvent(bob, 'disappearing-timer', (e) => e.timerMs === HOUR);
      await alice.setDisappearingTimer(bob.accountId!, HOUR);
      await timer;
      eq(bob.disappearingTimer(alice.accountId!), HOUR, 'the timer on the other side');
      ok(bob.store.listMessages(alice.accountId!, 10).some((m) => m.notice === 'timer'), 'the notice is stored');
      const on = nextEvent(bob, 'confidential', (e) => e.on);
      await alice.setConfidential(bob.accountId!, true);
      await on;
      const text = 'only in memory, never in a store';
      const got = nextEvent(bob, 'message', (e) => e.message.text === text);
      const sent = await alice.sendText(bob.accountId!, text);
      eq(sent.expireTimerMs, HOUR, 'a confidential message carries the timer too');
      await got;
      ok(bob.listMessages(alice.accountId!).some((m) => m.text === text), 'shown from memory');
      ok(!hasText(bob, alice.accountId!, text) && !hasText(alice, bob.accountId!, text), 'in neither store');
      eq(alice.store.listOutbox().length, 0, 'nothing in the outbox');
      const wiped = nextEvent(alice, 'confidential-wiped');
      await bob.setConfidential(alice.accountId!, false);
      await wiped;
      ok(!alice.listMessages(bob.accountId!).some((m) => m.text === text), 'wiped on leaving the mode');
      ok(!bob.listMessages(alice.accountId!).some((m) => m.text === text), 'wiped on the side that left');
    },
  },
};

sdkScenarios['an attachment of 20 MB: the upload cut in the middle and resumed, the download cut and resumed, byte for byte the same'] = {
  invites: 2,
  async run(env) {
    const [alice, bob] = await pair(env);
    const size = 20 * 1024 * 1024;
    const { file, sha256 } = await env.files.make('twenty.bin', size);
    // The upload is cut half-way (cancelled): a resumable ABORTED, nothing sent to bob.
    const stop = new AbortController();
    const cut = await alice.sendFile(bob.accountId!, file, { signal: stop.signal, onProgress: (done, total) => { if (done > total / 2) stop.abort(); } }).then(() => undefined, (e: unknown) => e);
    eq(reasonOf(cut), 'ABORTED', 'a cancelled upload');
    ok((cut as { resumable?: boolean }).resumable === true, 'a cancelled upload is resumable');
    // Sent again: it resumes from what the server has.
    let first = -1;
    let total = 0;
    const sent = await alice.sendFile(bob.accountId!, file, { caption: 'twenty', onProgress: (done, t) => { if (first < 0) first = done; total = t; } });
    ok(first > total / 4, `the second upload resumed at the server's offset (started at ${first} of ${total})`);
    await until('bob has the attachment', () => bob.store.getMessage(alice.accountId!, sent.messageId)?.attachments?.length === 1);
    // The download is cut half-way, then resumed from what it kept.
    const stopDown = new AbortController();
    const cutDown = await bob.downloadAttachment(alice.accountId!, sent.messageId, 0, await env.files.target('twenty.bin'), { signal: stopDown.signal, onProgress: (done, t) => { if (done > t / 2) stopDown.abort(); } })
      .then(() => undefined, (e: unknown) => e);
    eq(reasonOf(cutDown), 'ABORTED', 'a cancelled download');
    let resumedAt = -1;
    const got = await bob.downloadAttachment(alice.accountId!, sent.messageId, 0, await env.files.target('twenty.bin'), { onProgress: (done) => { if (resumedAt < 0) resumedAt = done; } });
    eq(got.size, size, 'downloaded size');
    ok(resumedAt > total / 4, `the second download resumed (first progress at ${resumedAt} of ${total})`);
    eq(await env.files.sha256Of('twenty.bin'), sha256, 'SHA-256 of the download');
  },
};

/** What the tampering transport of the bad-input scenario does to the server's answers. */
type Tamper = 'none' | 'flip-chunk' | 'extend' | 'malformed-frame';

/**
 * The real transport with a hostile server in front of it: attachment bodies
 * with a bit flipped in chunk 1 or bytes added at the end, or a first frame
 * that is not a ServerFrame.
 */
function tampering(t: Transport, mode: () => Tamper): Transport {
  const body = (res: HttpResponse): HttpResponse => {
    const m = mode();
    if (!res.body || (m !== 'flip-chunk' && m !== 'extend')) return res;
    let at = 0;
    const flipAt = 56 + 16_400 + 100; // inside chunk 1 (header, chunk 0, then 100 bytes in)
    const changed = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        if (m === 'flip-chunk' && flipAt >= at && flipAt < at + chunk.length) {
          chunk = chunk.slice();
          chunk[flipAt - at]! ^= 0x01;
        }
        at += chunk.length;
        c.enqueue(chunk);
      },
      flush(c) { if (m === 'extend') c.enqueue(new Uint8Array(50)); },
    }));
    return { status: res.status, header: (n) => res.header(n), body: changed, text: (l) => res.text(l) };
  };
  return {
    streamsRequestBodies: t.streamsRequestBodies,
    async connect(o) {
      const real = await t.connect(o);
      if (mode() !== 'malformed-frame') return real;
      // The first frame (the challenge) replaced by bytes that are no ServerFrame.
      let first = true;
      const conn: FrameConnection = {
        get onFrame() { return real.onFrame; },
        set onFrame(f) {
          real.onFrame = f && ((frame) => {
            if (first) { first = false; f(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])); return; }
            f(frame);
          });
        },
        get bufferedAmount() { return real.bufferedAmount; },
        closed: real.closed,
        send: (f) => real.send(f),
        close: (code, reason) => real.close(code, reason),
        ...(real.terminate ? { terminate: () => real.terminate!() } : {}),
      };
      return conn;
    },
    async request(r) {
      const res = await t.request(r);
      return r.method === 'GET' && r.path.startsWith('/v1/attachments/') ? body(res) : res;
    },
  };
}

sdkScenarios['bad input from the server or a peer: typed errors, and nothing half-written'] = {
  invites: 2,
  async run(env) {
    let mode: Tamper = 'none';
    const alice = await person(env, 'alice');
    const bobClient = await env.newClient('bob', (t) => tampering(t, () => mode));
    await bobClient.register(env.invite());
    await bobClient.connect({ reconnect: false });
    const bob = bobClient;
    introduce(alice, 'alice', bob, 'bob');
    const { file, sha256 } = await env.files.make('small.bin', 200_000);
    const sent = await alice.sendFile(bob.accountId!, file);
    await until('bob has the attachment', () => bob.store.getMessage(alice.accountId!, sent.messageId)?.attachments?.length === 1);
    const conv = alice.accountId!;
    const pointer = bob.store.getMessage(conv, sent.messageId)!.attachments![0]!;
    const attempt = async (reason: string) => {
      const e = await bob.downloadAttachment(conv, sent.messageId, 0, await env.files.target('small.bin')).then(() => undefined, (x: unknown) => x);
      eq(reasonOf(e), reason, `download with ${mode}`);
      ok((e as { code?: string }).code === 'INVALID_INPUT', `${reason} is an INVALID_INPUT ClientError`);
    };
    // A tampered chunk and a blob longer than its pointer: typed, nothing kept.
    mode = 'flip-chunk';
    await attempt('TAMPERED');
    mode = 'extend';
    await attempt('EXTENDED');
    mode = 'none';
    // A peer's pointer that does not fit its blob: a wrong digest, a wrong key, impossible sizes.
    const withPointer = (p: Partial<typeof pointer>) => bob.store.setMessageAttachments(conv, sent.messageId, [{ ...pointer, ...p }]);
    withPointer({ digest: pointer.digest.map((x, i) => (i === 3 ? x ^ 1 : x)) });
    await attempt('DIGEST_MISMATCH');
    withPointer({ key: pointer.key.map((x, i) => (i === 0 ? x ^ 1 : x)) });
    await attempt('WRONG_KEY');
    withPointer({ size: pointer.size + 5_000_000 });
    await attempt('BAD_POINTER');
    withPointer({});
    // An attachment larger than the server takes: refused before any byte is sent.
    const huge: FileInput = { source: { size: 2 ** 40, read: async (_p, n) => new Uint8Array(Math.min(n, 64)) }, name: 'huge.bin', id: 'huge', mtimeMs: 0 };
    const tooLarge = await bob.sendFile(alice.accountId!, huge).then(() => undefined, (x: unknown) => x);
    eq(reasonOf(tooLarge), 'TOO_LARGE', 'an oversized attachment');
    // A malformed frame from the server: the connection fails with a typed error; the store is untouched.
    await bob.close();
    mode = 'malformed-frame';
    const bad = await bob.connect({ reconnect: false }).then(() => undefined, (x: unknown) => x);
    eq((bad as { code?: string } | undefined)?.code, 'CONNECTION_FAILED', 'connect after a malformed frame');
    mode = 'none';
    await bob.connect({ reconnect: false });
    eq(bob.state, 'online', 'bob connects again');
    // After all that, the same download succeeds and is byte for byte the file.
    await bob.downloadAttachment(conv, sent.messageId, 0, await env.files.target('small.bin'));
    eq(await env.files.sha256Of('small.bin'), sha256, 'SHA-256 of the download after the failures');
  },
};

/** Runs one scenario, closing every client the factory made (even on failure). */
export async function runSdkScenario(name: string, invites: string[], make: (label: string, wrap?: (t: Transport) => Transport) => Promise<{ client: SigiloClient; dispose(): Promise<void> }>, files: SdkFiles): Promise<void> {
  const scenario = sdkScenarios[name] ?? fail(`no scenario "${name}"`);
  if (invites.length < scenario.invites) fail(`"${name}" needs ${scenario.invites} invites, got ${invites.length}`);
  const made: { client: SigiloClient; dispose(): Promise<void> }[] = [];
  let next = 0;
  const env: SdkEnv = {
    async newClient(label, wrap) {
      const m = await make(label, wrap);
      made.push(m);
      return m.client;
    },
    invite: () => invites[next++] ?? fail('more invites used than declared'),
    files,
  };
  try {
    await scenario.run(env);
  } finally {
    for (const m of made.reverse()) {
      await m.client.close().catch(() => undefined);
      await m.dispose().catch(() => undefined);
    }
  }
}
