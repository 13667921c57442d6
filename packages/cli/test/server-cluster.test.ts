/**
 * `sigilo server start --storage postgres --postgres-url … --bus redis://…`: two nodes on one
 * schema and bus, by flags and by config file. Needs PostgreSQL and Redis on 127.0.0.1; without
 * them the tests skip with a message, unless SIGILO_REQUIRE_SERVICES=1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/run.js';

const POSTGRES_URL = process.env.SIGILO_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SIGILO_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function servicesUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
  } catch (e) {
    return `PostgreSQL is not reachable (${(e as Error).message})`;
  } finally {
    await c.end().catch(() => {});
  }
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    return `Redis is not reachable at ${REDIS_URL} (${(e as Error).message})`;
  } finally {
    r.disconnect();
  }
  return undefined;
}

const unavailable = await servicesUnavailable();
if (unavailable && process.env.SIGILO_REQUIRE_SERVICES !== '1') console.warn(`skipping the server cluster CLI tests: ${unavailable}`);

function io() {
  let stop!: (s: string) => void;
  const out: string[] = [];
  const err: string[] = [];
  return {
    out, err, stop: () => stop('SIGTERM'),
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), stopSignal: new Promise<string>((r) => (stop = r)), env: {}, cwd: process.cwd() },
  };
}

async function until(cond: () => boolean, ms = 30_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sigilo server start on several nodes', () => {
  it.runIf(unavailable !== undefined && process.env.SIGILO_REQUIRE_SERVICES === '1')('needs PostgreSQL and Redis (SIGILO_REQUIRE_SERVICES=1)', () => {
    throw new Error(unavailable);
  });

  const dir = mkdtempSync(join(tmpdir(), 'sigilo-cluster-cli-'));
  const schema = `sigilo_cli_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (unavailable) return;
    const c = new pg.Client({ connectionString: POSTGRES_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });

  it.skipIf(unavailable !== undefined)('starts two nodes sharing one PostgreSQL schema and one Redis bus (flags and config file)', async () => {
    const a = io();
    const runningA = runCli(['server', 'start', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'a'),
      '--storage', 'postgres', '--postgres-url', POSTGRES_URL, '--bus', REDIS_URL, '--set', `storage.postgresSchema=${schema}`, '--set', 'bus.nodeId=node-a'], a.io);
    const file = join(dir, 'b.json');
    writeFileSync(file, JSON.stringify({
      host: '127.0.0.1', port: 0, dataDir: join(dir, 'b'),
      storage: { backend: 'postgres', postgresUrl: POSTGRES_URL, postgresSchema: schema }, bus: { url: REDIS_URL, nodeId: 'node-b' },
    }));
    const b = io();
    const runningB = runCli(['server', 'start', '--config', file], b.io);
    await until(() => a.out.join('').includes('storage:') && b.out.join('').includes('storage:'));
    expect(a.out.join('')).toMatch(/storage: postgres; node node-a of several \(bus\)/);
    expect(b.out.join('')).toMatch(/storage: postgres; node node-b of several \(bus\)/);
    a.stop();
    b.stop();
    expect(await runningA).toBe(0);
    expect(await runningB).toBe(0);
  }, 60_000);

  it('refuses a bus without shared storage, and a bus URL that is not redis://, saying what to do', async () => {
    const s = io();
    expect(await runCli(['server', 'start', '--data', join(dir, 'c'), '--bus', 'redis://127.0.0.1:6379'], s.io)).toBe(2);
    expect(s.err.join('')).toMatch(/storage\.backend postgres/);
    const u = io();
    expect(await runCli(['server', 'start', '--data', join(dir, 'c'), '--storage', 'postgres', '--postgres-url', POSTGRES_URL, '--bus', 'nats://127.0.0.1:4222'], u.io)).toBe(2);
    expect(u.err.join('')).toMatch(/redis:\/\/ or rediss:\/\/ URL/);
  });
});
