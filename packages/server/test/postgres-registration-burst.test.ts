/**
 * Many registrations at once on PostgreSQL (an organisation enrolling its staff): each appends its
 * device to the key transparency log, which takes one advisory lock per database. Appends of one
 * process are written together (services/transparency.ts), so they never park the pool's
 * connections on that lock: before, every registration held a pooled connection waiting for the
 * lock while the others queued behind it, and a burst of 1–2k made no progress for half a minute
 * (connections timed out, clients saw a stall).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { POSTGRES_URL, dropSchema, postgresUnavailable, randomSchema, requireService } from './support/services.js';
import { newDevice, type TestClient } from './support/test-client.js';

const unavailable = await postgresUnavailable();
requireService(unavailable, 'PostgreSQL');

describe.skipIf(unavailable !== undefined)(`registration burst on PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = randomSchema('sigilo_burst');
  const app = `sigilo_burst_${process.pid}`;
  let t: TestServer;
  beforeAll(async () => {
    const url = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}application_name=${app}`;
    t = await startTestServer({
      'storage.backend': 'postgres', 'storage.postgresUrl': url, 'storage.postgresSchema': schema,
      // One source address registers them all: the guessing bounds are not under test here.
      'limits.failedRegistrationsPerHour': 1_000_000, 'limits.refusedRequestsPerHour': 1_000_000, 'limits.maxUnauthenticatedPerAddress': 10_000,
      // All 400 connect first, then register: on a loaded machine the 400 TLS handshakes took longer than the default
      // 15 s authentication timeout, and the first connections were closed (4002) before their turn. Not under test here.
      'limits.authTimeout': '5m',
    });
  });
  afterAll(async () => {
    await t?.stop();
    await dropSchema(schema);
  });

  it('registers 400 accounts at once with no pooled connection parked on the log lock, and logs every device', async () => {
    const N = 400;
    const invites = await t.server.admin.createInvites(N);
    const clients: TestClient[] = [];
    for (let i = 0; i < N; i += 50) clients.push(...await Promise.all(invites.slice(i, i + 50).map(() => t.connect())));
    const probe = new pg.Client({ connectionString: POSTGRES_URL });
    await probe.connect();
    let parked = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await probe.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'`, [app]);
        parked = Math.max(parked, r.rows[0].n as number);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const devices = clients.map(() => newDevice());
    const frames = await Promise.all(clients.map((c, i) => c.register(devices[i]!, invites[i]!.code)));
    sampling = false;
    await sampler;
    await probe.end();
    expect(frames.filter((f) => f.body.case !== 'registered').map((f) => JSON.stringify(f.body.value))).toEqual([]);
    expect(parked).toBe(0);
    // Every device is in the log, and a published checkpoint covers it.
    expect(await t.server.storage.ktSize()).toBe(N);
    expect((await t.server.kt.latest()).size).toBe(N);
    for (const c of clients) c.ws.terminate();
  }, 120_000);
});
