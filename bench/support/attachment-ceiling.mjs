// The ceiling of bench/attachments.mjs, in its own process: a registered device allocates an
// attachment slot over its authenticated WebSocket (as the SDK does), then streams a plain file
// to the upload path and downloads it again to a file, over the same pinned TLS and the same
// HTTP endpoints as the SDK, with no padding and no encryption (and, like the SDK, the
// downloaded file is synced to disk before the download counts as done).
//   node attachment-ceiling.mjs <store dir> <wss url> <fingerprint>
// Prints {pid} once ready; then one JSON command per stdin line, one JSON answer per line:
//   {"op":"register","invite":…}                → {}
//   {"op":"allocate","size":n}                   → {path, token}
//   {"op":"upload","file":…,"size":n,"path":…,"token":…} → {t0, t1} (process.hrtime.bigint() ns, as strings)
//   {"op":"download","path":…,"out":…,"size":n}          → {t0, tWritten, t1}: t1 after fsync
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Connection, SqlCipherStore, createNodeClient, pinnedTransport } from '../../packages/client-node/dist/index.js';
import { authPayload } from '../../packages/protocol/dist/index.js';
import { nodeCrypto } from '../../packages/protocol/dist/crypto/node.js';
import { pinnedRequest } from './attachment-files.mjs';

const [dir, url, fingerprint] = process.argv.slice(2);
const client = createNodeClient({ store: SqlCipherStore.open(dir, 'bench ceiling') });
let connection;
let lastProgress = -1;
const progress = (what, done, total) => {
  const step = Math.floor((10 * done) / total);
  if (step === lastProgress) return;
  lastProgress = step;
  process.stderr.write(`  ceiling ${what} ${step * 10}%\n`);
};

async function readBody(res) {
  let text = '';
  for await (const chunk of res) text += chunk;
  return text;
}

const ops = {
  async register({ invite }) {
    await client.init(url, fingerprint);
    const { accountId, deviceId } = await client.register(invite);
    // The SDK keeps its authenticated connection to itself: open one more for this device and
    // authenticate it the same way (challenge signed with the device key from the store).
    const opened = await Connection.open(pinnedTransport({ url, fingerprint }), () => {});
    const deviceKey = client.store.getMeta('device.key');
    if (!deviceKey) throw new Error('the ceiling client has no device key in its store (has the SDK store layout changed?)');
    await opened.connection.request({
      case: 'authenticate',
      value: { accountId, deviceId, signature: nodeCrypto.ed25519Sign(deviceKey, authPayload(opened.nonce, accountId, deviceId)) },
    });
    connection = opened.connection;
    return {};
  },
  async allocate({ size }) {
    const f = await connection.request({ case: 'allocateAttachment', value: { size: BigInt(size) } });
    if (f.body.case !== 'attachmentSlot') throw new Error(`unexpected answer to AllocateAttachment: ${f.body.case}`);
    return { path: f.body.value.uploadPath, token: f.body.value.uploadToken };
  },
  // As the SDK uploads (attachments.ts sendCiphertext): HEAD for the server's offset, then one
  // PATCH from there with the rest of the bytes, read from the file in 1 MiB blocks.
  async upload({ file, size, path, token }) {
    lastProgress = -1;
    const t0 = process.hrtime.bigint();
    const auth = { authorization: `Bearer ${token}` };
    const head = await pinnedRequest(url, fingerprint, { method: 'HEAD', path, headers: auth });
    await readBody(head);
    const offset = Number(head.headers['upload-offset']);
    if (head.statusCode !== 200 || offset !== 0) throw new Error(`upload offset request answered ${head.statusCode}, offset ${head.headers['upload-offset']}`);
    const res = await pinnedRequest(url, fingerprint, {
      method: 'PATCH', path, headers: { ...auth, 'content-type': 'application/offset+octet-stream', 'upload-offset': 0, 'content-length': size },
    }, (req) => {
      // Opened only now: a 'data' listener starts the file flowing.
      let sent = 0;
      const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
      source.on('data', (c) => progress('upload', (sent += c.length), size));
      pipeline(source, req).catch(() => {});
    });
    const body = await readBody(res);
    const t1 = process.hrtime.bigint();
    if (res.statusCode !== 201) throw new Error(`upload answered ${res.statusCode}: ${body}`);
    return { t0: String(t0), t1: String(t1) };
  },
  // As the SDK downloads: one GET, written to a file that is synced (fsync) before it counts as
  // received (attachments.ts downloadFile syncs before renaming into place).
  async download({ path, out, size }) {
    lastProgress = -1;
    const t0 = process.hrtime.bigint();
    const res = await pinnedRequest(url, fingerprint, { method: 'GET', path });
    if (res.statusCode !== 200) throw new Error(`download answered ${res.statusCode}: ${await readBody(res)}`);
    let got = 0;
    res.on('data', (c) => progress('download', (got += c.length), size));
    await pipeline(res, createWriteStream(out, { mode: 0o600, highWaterMark: 1024 * 1024 }));
    const tWritten = process.hrtime.bigint();
    const file = await open(out, 'r');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    const t1 = process.hrtime.bigint();
    return { t0: String(t0), tWritten: String(tWritten), t1: String(t1) };
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
    answer = { error: e instanceof Error ? e.message : String(e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
lines.on('close', () => {
  connection?.close();
  void client.close().then(() => process.exit(0));
});
process.once('SIGTERM', () => process.exit(0));
