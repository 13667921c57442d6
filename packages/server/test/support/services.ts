/**
 * Optional services for tests (PostgreSQL now). Absent: the tests that need
 * them skip with a reason — unless SIGILO_REQUIRE_SERVICES=1 (CI), where a
 * missing service is a failure.
 */
import pg from 'pg';
import { it } from 'vitest';

export const POSTGRES_URL = process.env.SIGILO_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const REQUIRE_SERVICES = process.env.SIGILO_REQUIRE_SERVICES === '1';

/** Undefined when PostgreSQL answers, else why not. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL is not reachable at ${POSTGRES_URL.replace(/\/\/[^@]*@/, '//')} (${(e as Error).message}); start it or set SIGILO_POSTGRES_URL`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** With SIGILO_REQUIRE_SERVICES=1 a missing service fails the run instead of skipping. */
export function requireService(reason: string | undefined, what: string): void {
  if (reason && !REQUIRE_SERVICES) console.warn(`skipping the ${what} tests: ${reason}`);
  if (reason && REQUIRE_SERVICES) {
    it(`${what} is required (SIGILO_REQUIRE_SERVICES=1)`, () => {
      throw new Error(reason);
    });
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export const randomSchema = (prefix: string) => `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;

export const REDIS_URL = process.env.SIGILO_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Undefined when Redis answers PING, else why not. */
export async function redisUnavailable(): Promise<string | undefined> {
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (e) {
    return `Redis is not reachable at ${REDIS_URL} (${(e as Error).message}); start it or set SIGILO_REDIS_URL`;
  } finally {
    r.disconnect();
  }
}
