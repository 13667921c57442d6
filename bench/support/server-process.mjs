// A Sigilo server in its own process for benchmarks (built workspace, SQLite in a temp dir).
// Prints one JSON line {url, fingerprint, pid} once listening; an "invite" line on stdin
// answers with an invite code; SIGTERM stops it.
import { createInterface } from 'node:readline';
import { startServer, silentLogger } from '../../packages/server/dist/index.js';

const [dataDir, overridesJson] = process.argv.slice(2);
const server = await startServer({
  overrides: { host: '127.0.0.1', port: 0, dataDir, logLevel: 'error', ...(overridesJson ? JSON.parse(overridesJson) : {}) },
  logger: silentLogger,
});
process.stdout.write(`${JSON.stringify({ url: server.url, fingerprint: server.tls.fingerprint, pid: process.pid })}\n`);
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() === 'invite') {
    const { code } = await server.admin.createInvite();
    process.stdout.write(`${JSON.stringify({ invite: code })}\n`);
  }
});
process.once('SIGTERM', () => { void server.close().then(() => process.exit(0)); });
