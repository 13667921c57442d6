/**
 * Child of test/storage/sqlite-wal-sync.test.ts, run under strace: a real SQLite store
 * (synchronous=full) doing a FULL write, hot-path writes (enqueue, enqueueMulti, ack) and a FULL
 * write again. Before each step it opens a path that does not exist ("<dir>/mark-<step>"), so the
 * trace shows which system calls belong to which step.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStorage } from '../../src/storage/sqlite.js';

const dir = process.argv[2]!;
const mark = (step: string) => {
  try { closeSync(openSync(join(dir, `mark-${step}`), 'r')); } catch { /* it does not exist: only the openat in the trace matters */ }
};
const rnd = (n: number) => new Uint8Array(randomBytes(n));
const sha = (...p: Uint8Array[]) => { const h = createHash('sha256'); for (const x of p) h.update(x); return new Uint8Array(h.digest()); };

const storage = new SqliteStorage({ filename: join(dir, 'sigilo.db'), synchronous: 'full' });
const register = async () => {
  const code = rnd(16);
  const accountId = rnd(16);
  await storage.createInvite({ codeHash: sha(code), createdAt: 0, expiresAt: 1e15 });
  await storage.registerAccount(sha(code), 1, { accountId, identityKey: rnd(64), accessKeyHash: undefined, unrestricted: true, createdDay: 1 }, { deviceKey: rnd(32), createdDay: 1 });
  return accountId;
};
const times = { createdAt: 1, expiresAt: 1e15, dedupExpiresAt: 1e15 };

mark('register');
const accountId = await register();
// SQLite syncs the WAL once in the first commit after synchronous changes on a new connection: warm up first.
const warm = rnd(16);
await storage.enqueue([{ recipient: accountId, messageId: warm, dedupKey: sha(accountId, warm), entries: [{ deviceId: 1, content: rnd(30) }], sender: undefined, excludeDeviceId: undefined, ...times }]);
mark('enqueue');
const messageId = rnd(16);
const [stored] = await storage.enqueue([{ recipient: accountId, messageId, dedupKey: sha(accountId, messageId), entries: [{ deviceId: 1, content: rnd(300) }], sender: undefined, excludeDeviceId: undefined, ...times }]);
mark('multi');
const multiId = rnd(16);
const [multi] = await storage.enqueueMulti([{ messageId: multiId, payload: rnd(200), recipients: [{ recipient: accountId, deviceIds: [1], header: rnd(20), dedupKey: sha(accountId, multiId) }], ...times }]);
mark('ack');
const ids = stored?.status === 'stored' ? [...stored.serverIds] : [];
const [acked] = await storage.ack([{ accountId, deviceId: 1, serverIds: ids }]);
mark('register-again');
await register();
mark('end');
await storage.close();
process.stdout.write(`${JSON.stringify({ stored: stored?.status, multi: multi?.status, acked: acked?.length })}\n`);
