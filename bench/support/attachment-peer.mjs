// One person of bench/attachments.mjs in its own process (so its peak RSS is its own): a
// SigiloClient with a SQLCipher store, driven over stdin, sending or receiving a file with the
// SDK exactly as an application would (sendFile / downloadAttachment).
//   node attachment-peer.mjs <name> <store dir> <wss url> <fingerprint>
// Prints {pid} once ready; then one JSON command per stdin line, one JSON answer per line:
//   {"op":"register","invite":…}                        → {accountId, accessKey} (hex)
//   {"op":"contact","alias":…,"accountId":…,"accessKey":…} → {}
//   {"op":"connect"}                                     → {}
//   {"op":"send","to":…,"file":…}                        → {t0, t1, memory}: around sendFile
//   {"op":"receive","from":…,"out":…}                    → {tMessage, t0, t1, memory}: when the message
//        from `from` arrived, and around downloadAttachment of its first attachment
// Times are process.hrtime.bigint() (CLOCK_MONOTONIC, comparable across processes) as strings;
// memory: the peak V8 heap and external/ArrayBuffer memory during the transfer, in KiB.
import { createInterface } from 'node:readline';
import { SqlCipherStore, createNodeClient } from '../../packages/client-node/dist/index.js';

const [name, dir, url, fingerprint] = process.argv.slice(2);
const client = createNodeClient({ store: SqlCipherStore.open(dir, `bench ${name}`) });
const hex = (b) => Buffer.from(b).toString('hex');
const bytes = (h) => new Uint8Array(Buffer.from(h, 'hex'));

/** An onProgress(done, total) that prints every 10%. */
function progress(what) {
  let last = -1;
  return (done, total) => {
    const step = Math.floor((10 * done) / total);
    if (step === last) return;
    last = step;
    process.stderr.write(`  ${name} ${what} ${step * 10}%\n`);
  };
}

/**
 * Runs `fn` while sampling process.memoryUsage() every 100 ms (it walks the heap: more often
 * costs the transfer measurable CPU); resolves to fn's result with the
 * largest V8 heap (total, used), external and ArrayBuffer memory seen, in KiB.
 */
async function withMemory(fn) {
  const peak = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const take = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], Math.round(m[k] / 1024));
  };
  take();
  const timer = setInterval(take, 100);
  try {
    return { ...(await fn()), memory: peak };
  } finally {
    clearInterval(timer);
    take();
  }
}

// Messages that arrive before "receive" asks for them are kept here.
const arrived = [];
let waiting;
client.on((e) => {
  if (e.type !== 'message' || e.message.outgoing) return;
  const m = { conversation: e.message.conversation, messageId: e.message.messageId, at: process.hrtime.bigint() };
  if (waiting && hex(m.conversation) === waiting.from) {
    const w = waiting;
    waiting = undefined;
    w.resolve(m);
  } else arrived.push(m);
});

const ops = {
  async register({ invite }) {
    await client.init(url, fingerprint);
    const { accountId } = await client.register(invite);
    return { accountId: hex(accountId), accessKey: hex(client.accessKey) };
  },
  async contact({ alias, accountId, accessKey }) {
    client.addContact(alias, bytes(accountId), bytes(accessKey));
    return {};
  },
  async connect() {
    await client.connect({ reconnect: false });
    return {};
  },
  send({ to, file }) {
    return withMemory(async () => {
      const t0 = process.hrtime.bigint();
      await client.sendFile(bytes(to), file, { onProgress: progress('encrypt + upload') });
      const t1 = process.hrtime.bigint();
      return { t0: String(t0), t1: String(t1) };
    });
  },
  async receive({ from, out }) {
    const i = arrived.findIndex((m) => hex(m.conversation) === from);
    const m = i >= 0 ? arrived.splice(i, 1)[0] : await new Promise((resolve) => { waiting = { from, resolve }; });
    return withMemory(async () => {
      const t0 = process.hrtime.bigint();
      await client.downloadAttachment(m.conversation, m.messageId, 0, out, { onProgress: progress('download + decrypt') });
      const t1 = process.hrtime.bigint();
      return { tMessage: String(m.at), t0: String(t0), t1: String(t1) };
    });
  },
};

process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let answer;
  try {
    const cmd = JSON.parse(line);
    answer = await ops[cmd.op](cmd);
  } catch (e) {
    answer = { error: e instanceof Error ? `${e.message}${e.code ? ` (${e.code})` : ''}` : String(e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
lines.on('close', () => { void client.close().then(() => process.exit(0)); });
process.once('SIGTERM', () => process.exit(0));
