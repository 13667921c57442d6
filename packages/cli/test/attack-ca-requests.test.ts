/**
 * Attacks on device-initiated certification (spec/trust.md §4.1), with the built `sigilo` command against
 * the real server over TLS:
 *
 * - Whoever runs the server puts a relay in front of its admin socket (the CA key is on a token they do not
 *   hold) that answers `sigilo admin ca requests/approve` with a colleague's fingerprint beside the key of an
 *   account they control. `approve --fingerprint <colleague's>` must compare the fingerprint of the key it
 *   certifies, computed by the CLI, not the one the server reports.
 * - A member asks to be certified under a name holding a terminal control (U+009B, CSI on an 8-bit-control
 *   terminal) or a bidirectional override: refused by the server with INVALID_ARGUMENT, so the
 *   administrator's terminal and every member's "certified as" sentence never carry it.
 * - A name edited in the database (no check there) is shown to the administrator without its escape bytes.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { adminSocketPath, sqlitePath } from '../../server/src/index.js';
import { assertBuilt, registered, sigilo, type CliPerson } from './support/sigilo.js';

const fingerprintOf = async (p: CliPerson) => (JSON.parse((await p.run(['whoami', '--json'])).out) as { identityFingerprint: string }).identityFingerprint;

/** The operator's relay: passes every admin request to the real socket and writes `fingerprint` into request views. */
function lyingAdminSocket(dataDir: string, fakeFingerprint: string): { close: () => Promise<void> } {
  const path = adminSocketPath(dataDir);
  const real = `${path}.real`;
  renameSync(path, real);
  const server: Server = createServer((client) => {
    let line = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      line += chunk;
      if (!line.includes('\n')) return;
      const upstream = createConnection(real);
      let answer = '';
      upstream.setEncoding('utf8');
      upstream.on('connect', () => upstream.write(line));
      upstream.on('data', (c: string) => {
        answer += c;
        const nl = answer.indexOf('\n');
        if (nl < 0) return;
        upstream.end();
        const reply = JSON.parse(answer.slice(0, nl)) as { ok: boolean; result?: unknown };
        const lie = (v: unknown) => (v && typeof v === 'object' && 'fingerprint' in v ? { ...v, fingerprint: fakeFingerprint } : v);
        if (reply.ok) reply.result = Array.isArray(reply.result) ? reply.result.map(lie) : lie(reply.result);
        client.end(`${JSON.stringify(reply)}\n`);
      });
    });
  });
  server.listen(path);
  return {
    close: () => new Promise((resolve) => server.close(() => { renameSync(real, path); resolve(); })),
  };
}

describe('attack: certification requests', () => {
  let t: TestServer;
  let root: string;
  let ana: CliPerson, mallory: CliPerson;
  const admin = (args: string[]) => sigilo(['admin', 'ca', ...args, '--data', t.dataDir], { timeoutMs: 60_000 });
  const pending = async () => JSON.parse((await admin(['requests', '--json'])).out) as { requestId: number; name: string }[];

  beforeAll(async () => {
    assertBuilt();
    t = await startTestServer();
    root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-attack-careq-'));
    [ana, mallory] = await Promise.all([registered(t, root, 'ana'), registered(t, root, 'mallory')]);
    expect((await admin(['init', '--org', 'Acme Logistics'])).code).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("a server that reports a colleague's fingerprint beside its own key gets nothing certified", async () => {
    const anaFp = await fingerprintOf(ana);
    const malloryFp = await fingerprintOf(mallory);
    const req = await mallory.run(['ca', 'request', '--name', 'Ana Silva', '--json']);
    expect(req.code, req.err).toBe(0);
    const { requestId } = JSON.parse(req.out) as { requestId: number };
    const relay = lyingAdminSocket(t.dataDir, anaFp);
    try {
      const listed = await admin(['requests']);
      expect(listed.out).toContain(`identity fingerprint ${malloryFp}`);
      expect(listed.out).not.toContain(anaFp);
      // The administrator calls Ana, who reads her fingerprint: it must not match Mallory's key.
      const approve = await admin(['approve', String(requestId), '--fingerprint', anaFp]);
      expect(approve.code, approve.out).toBe(1);
      expect(approve.err).toContain(`identity fingerprint ${malloryFp}`);
      expect(approve.err).toMatch(/NOT this request's identity key/);
    } finally {
      await relay.close();
    }
    expect((await admin(['list'])).out).not.toMatch(/Ana Silva/);
    // Still waiting (the administrator has neither approved nor rejected it): whoami says so, with the request's number.
    expect((await mallory.run(['whoami'])).out).toMatch(new RegExp(`Certificate: not certified yet: requested as "Ana Silva" on \\d{4}-\\d\\d-\\d\\d \\(request ${requestId}\\)`));
    expect((await admin(['reject', String(requestId)])).code).toBe(0);
  }, 120_000);

  it('a name with a terminal control or a bidirectional override is refused by the server', async () => {
    for (const name of ['Ana \u009b2J Silva', 'Ana \u202eavlis', 'Ana\u2067 Silva', 'Ana\u200b Silva']) {
      const r = await mallory.run(['ca', 'request', '--name', name]);
      expect(r.code, name).not.toBe(0);
      expect(r.err).toMatch(/INVALID_ARGUMENT|control, bidirectional or invisible/);
    }
    expect(await pending()).toEqual([]);
    // The CA itself will not put one in a certificate either.
    const certify = await admin(['certify', `@${'mallory'}`, '--name', 'Ana \u009b2J', '--yes']);
    expect(certify.code).not.toBe(0);
    expect((await admin(['list'])).out).not.toMatch(/Ana/);
  }, 120_000);

  it('a name edited in the database is shown to the administrator without its escape sequences', async () => {
    const req = await mallory.run(['ca', 'request', '--name', 'Mallory Ruiz', '--json']);
    expect(req.code, req.err).toBe(0);
    const { requestId } = JSON.parse(req.out) as { requestId: number };
    const db = new Database(sqlitePath(t.dataDir));
    try {
      db.prepare('UPDATE certification_requests SET name = ? WHERE request_id = ?').run('Ana\u001b[8m\u009b8m Silva', requestId);
    } finally {
      db.close();
    }
    const listed = await admin(['requests']);
    expect(listed.out).toMatch(/SIGNATURE INVALID/);
    expect(listed.out).not.toMatch(/[\u001b\u009b]/);
    const approve = await admin(['approve', String(requestId), '--yes']);
    expect(approve.code).toBe(1);
    expect(approve.err).not.toMatch(/[\u001b\u009b]/);
  }, 120_000);
});
