/**
 * A server in its own process, for tests that kill it (`kill -9`). Prints one
 * JSON line {url, cert} on stdout once listening; SIGTERM shuts down gracefully.
 * Run with: node --import tsx (TSX_TSCONFIG_PATH=test/support/tsconfig.spawn.json).
 */
import { startServer } from '../../src/server.js';

const [dataDir, overridesJson] = process.argv.slice(2);
const server = await startServer({
  overrides: { host: '127.0.0.1', port: 0, dataDir, logLevel: 'warn', ...(overridesJson ? JSON.parse(overridesJson) as Record<string, unknown> : {}) },
});
process.stdout.write(`${JSON.stringify({ url: server.url, httpsUrl: server.httpsUrl, cert: server.tls.cert })}\n`);
process.once('SIGTERM', () => { void server.close().then(() => process.exit(0)); });
