/**
 * The server's frame handler fuzzed through a real connection (spec/assurance.md
 * §Fuzzing): a real server (TLS, WebSocket, SQLite in a temporary directory),
 * one registered account whose authenticated connection sends mutated and
 * generated ClientFrames (and, one time in five, an unauthenticated connection
 * does). After every frame a Ping with a request id of its own must be answered:
 * the server never stops answering. Every frame the server sends must be a valid
 * ServerFrame, and no Error may be INTERNAL (an exception the handler did not
 * turn into a typed error). A close is allowed only with a typed close code.
 * Throughout, and at the end, a second, well-behaved account must still get
 * its requests answered and its messages through.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { ClientFrameSchema, ErrorCode, ServerFrameSchema, type ServerFrame } from '../packages/protocol/src/gen/sigilo/server/v1/frames_pb.js';
import { startTestServer, type TestServer } from '../packages/server/test/support/server.js';
import { TestClient, messageId, type Device } from '../packages/server/test/support/test-client.js';
import { inputArb, loadCorpus, protoArb } from './lib.js';

export interface ServerFuzzResult {
  frames: number;
  errors: number;
  replies: number;
  closes: number;
  crashes: number;
  errorCodes: Record<string, number>;
}

export interface ServerFuzzOptions {
  /** Stop after this many frames ... */
  frames?: number;
  /** ... or after this many seconds. */
  seconds?: number;
  seed: number;
  onInput?: () => Promise<unknown>;
  onCrash: (input: Uint8Array, message: string) => void;
}

const PING_BASE = 1n << 60n;
const ANSWER_TIMEOUT_MS = 15_000;

/** A connection whose every frame is decoded and checked. */
class Watched {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  undecodable = 0;
  #waiters: (() => void)[] = [];
  constructor(readonly client: TestClient) {
    client.ws.on('message', (data: Buffer) => {
      try { this.frames.push(fromBinary(ServerFrameSchema, data)); } catch { this.undecodable++; }
      this.#wake();
    });
    void client.closed.then((c) => { this.closed = c; this.#wake(); });
  }
  #wake(): void { for (const w of this.#waiters.splice(0)) w(); }
  /** Waits for the Pong to `id`, or the close; false on timeout. */
  async answered(id: bigint): Promise<boolean> {
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      if (this.closed || this.frames.some((f) => f.requestId === id && f.body.case === 'pong')) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
}

type Body = MessageInitShape<typeof ClientFrameSchema>['body'];

/** Valid frames naming real accounts: where the mutations start. */
function seedFrames(other: Uint8Array, self: Device): Uint8Array[] {
  const bodies: Body[] = [
    { case: 'ping', value: {} },
    { case: 'getPreKeyCount', value: {} },
    { case: 'listDevices', value: {} },
    { case: 'getSenderCertificate', value: {} },
    { case: 'fetchBundles', value: { accountId: other } },
    { case: 'send', value: { recipientAccountId: other, messageId: messageId(), messages: [{ deviceId: 1, content: new Uint8Array(48).fill(1) }] } },
    { case: 'send', value: { recipientAccountId: self.accountId!, messageId: messageId(), messages: [], onlineOnly: true } },
    { case: 'sealedSend', value: { recipientAccountId: other, messageId: messageId(), messages: [{ deviceId: 1, content: new Uint8Array(80).fill(2) }] } },
    { case: 'multiSealedSend', value: {} },
    { case: 'ack', value: { serverIds: [1n, 2n, 3n] } },
    { case: 'setAccessKey', value: { accessKey: new Uint8Array(16).fill(3) } },
    { case: 'allocateAttachment', value: { size: 2048n } },
    { case: 'provisionListen', value: {} },
    { case: 'provisionSend', value: { address: new Uint8Array(16), body: new Uint8Array(64) } },
    { case: 'authenticate', value: { accountId: self.accountId!, deviceId: self.deviceId!, signature: new Uint8Array(64) } },
    { case: 'setDeviceName', value: {} },
    { case: 'removeDevice', value: {} },
  ];
  const out: Uint8Array[] = [];
  bodies.forEach((body, i) => {
    try { out.push(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: BigInt(i + 1), body }))); } catch { /* a field another schema version lacks */ }
  });
  return out;
}

async function authedClient(t: TestServer, device: Device): Promise<TestClient> {
  const c = await TestClient.connect(t.server);
  const f = await c.authenticate(device);
  if (f.body.case !== 'authenticated') throw new Error(`could not authenticate the fuzzing device: ${f.body.case}`);
  return c;
}

export async function fuzzServer(o: ServerFuzzOptions): Promise<ServerFuzzResult> {
  const result: ServerFuzzResult = { frames: 0, errors: 0, replies: 0, closes: 0, crashes: 0, errorCodes: {} };
  const processFaults: string[] = [];
  const onFault = (e: unknown) => { processFaults.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e)); };
  process.on('uncaughtException', onFault);
  process.on('unhandledRejection', onFault);
  const t = await startTestServer({ 'limits.connectionBurst': 1_000_000 });
  try {
    const fuzzer = await t.account();
    const healthy = await t.account();
    const pool = [...seedFrames(healthy.device.accountId!, fuzzer.device), ...loadCorpus('client-frame')];
    const arb = inputArb(pool, [protoArb(ClientFrameSchema)]);
    let authed = new Watched(fuzzer.client);
    let anon = new Watched(await t.connect());
    let pingId = PING_BASE;
    const crash = (input: Uint8Array, message: string) => { result.crashes++; o.onCrash(input, message); };

    const healthCheck = async (input: Uint8Array) => {
      const pong = await healthy.client.request({ case: 'ping', value: {} }, ANSWER_TIMEOUT_MS).catch((e: Error) => e);
      if (pong instanceof Error || pong.body.case !== 'pong') { crash(input, `the well-behaved client got no Pong: ${pong instanceof Error ? pong.message : pong.body.case}`); return; }
      const sent = await healthy.client.request({
        case: 'send', value: { recipientAccountId: fuzzer.device.accountId!, messageId: messageId(), messages: [{ deviceId: 1, content: new Uint8Array(32).fill(9) }] },
      }, ANSWER_TIMEOUT_MS).catch((e: Error) => e);
      if (sent instanceof Error || sent.body.case !== 'sendResult') {
        crash(input, `the well-behaved client's send was not accepted: ${sent instanceof Error ? sent.message : JSON.stringify(sent.body.case === 'error' ? sent.body.value.message : sent.body.case)}`);
      }
      healthy.client.pushes.length = 0;
    };

    const deadline = o.seconds !== undefined ? Date.now() + o.seconds * 1000 : Infinity;
    const limit = o.frames ?? Infinity;
    let seed = o.seed;
    while (result.frames < limit && Date.now() < deadline) {
      const batch = fc.sample(fc.tuple(arb, fc.nat({ max: 4 })), { numRuns: 50, seed: seed++ });
      for (const [input, which] of batch) {
        if (result.frames >= limit || Date.now() >= deadline) break;
        const conn = which === 0 ? anon : authed;
        const before = conn.frames.length;
        conn.client.sendRaw(input);
        const id = ++pingId;
        conn.client.sendRaw(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: id, body: { case: 'ping', value: {} } })));
        result.frames++;
        if (!(await conn.answered(id))) crash(input, `no answer to a Ping within ${ANSWER_TIMEOUT_MS} ms after this frame`);
        for (const f of conn.frames.slice(before)) {
          if (f.requestId === id) continue;
          if (f.body.case === 'error') {
            result.errors++;
            const code = ErrorCode[f.body.value.code] ?? String(f.body.value.code);
            result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
            if (f.body.value.code === ErrorCode.INTERNAL || f.body.value.code === ErrorCode.UNSPECIFIED) crash(input, `the server answered ${code}: ${f.body.value.message}`);
          } else if (f.requestId !== 0n) {
            result.replies++;
          }
        }
        if (conn.undecodable > 0) { crash(input, 'the server sent a frame that is not a ServerFrame'); conn.undecodable = 0; }
        conn.frames.length = 0;
        conn.client.pushes.length = 0;
        if (processFaults.length > 0) crash(input, `the server process faulted: ${processFaults.splice(0).join('; ')}`);
        if (conn.closed) {
          result.closes++;
          // Typed closes: 1000 (normal), 1008/1009 (policy / too big) and the 4000s of server.md.
          if (![1000, 1001, 1008, 1009].includes(conn.closed.code) && !(conn.closed.code >= 4000 && conn.closed.code < 5000)) {
            crash(input, `the connection closed with code ${conn.closed.code}`);
          }
          if (conn === authed) authed = new Watched(await authedClient(t, fuzzer.device));
          else anon = new Watched(await t.connect());
        }
        await o.onInput?.();
        if (result.frames % 200 === 0) await healthCheck(input);
      }
    }
    await healthCheck(new Uint8Array(0));
    const internal = t.logs.filter((l) => l.includes('request failed'));
    if (internal.length > 0) crash(new Uint8Array(0), `the server logged ${internal.length} failed request(s): ${internal[0]}`);
    return result;
  } finally {
    process.off('uncaughtException', onFault);
    process.off('unhandledRejection', onFault);
    await t.stop();
  }
}
