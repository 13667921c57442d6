/**
 * Device-initiated certification (spec/trust.md §4.1) through the built `sigilo` command against the real
 * server over TLS: `sigilo ca request --name` queues a request signed by the identity key; `sigilo admin ca
 * requests` lists it with the fingerprint; `approve` refuses without a matching fingerprint or a
 * confirmation, refuses a request whose name the server operator edited in the database (the signature no
 * longer matches), and certifies with the CA key otherwise; the certificate reaches the device
 * (`sigilo whoami`); `reject` drops a request. A request alone certifies nothing.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { sqlitePath } from '../../server/src/index.js';
import { assertBuilt, cliPerson, registered, sigilo, type CliPerson } from './support/sigilo.js';

interface Listed { requestId: number; name: string; fingerprint: string; signatureValid: boolean; keyIsCurrent: boolean; summary: { accountId: string } }

describe('sigilo ca request, and admin ca requests / approve / reject', () => {
  let t: TestServer;
  let root: string;
  let ana: CliPerson, bruno: CliPerson;
  const admin = (args: string[]) => sigilo(['admin', 'ca', ...args, '--data', t.dataDir], { timeoutMs: 60_000 });
  const listed = async () => JSON.parse((await admin(['requests', '--json'])).out) as Listed[];

  beforeAll(async () => {
    assertBuilt();
    t = await startTestServer();
    root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-cli-careq-'));
    [ana, bruno] = await Promise.all([registered(t, root, 'ana'), registered(t, root, 'bruno')]);
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('without an identity CA a request says there is nothing to request', async () => {
    const r = await ana.run(['ca', 'request', '--name', 'Ana Silva']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/no identity CA/);
  }, 60_000);

  it('a request is queued and listed; approve needs the fingerprint (or a confirmation) and certifies with the CA key; whoami shows it', async () => {
    expect((await admin(['init', '--org', 'Acme Logistics'])).code).toBe(0);
    const req = await ana.run(['ca', 'request', '--name', 'Ana Silva']);
    expect(req.code, req.err).toBe(0);
    const fp = (JSON.parse((await ana.run(['whoami', '--json'])).out) as { identityFingerprint: string }).identityFingerprint;
    expect(req.out).toContain(fp);
    const id = Number(/Certification request (\d+) sent/.exec(req.out)![1]);
    expect(req.out).toContain(`sigilo admin ca approve ${id}`);

    const human = await admin(['requests']);
    expect(human.out).toContain(`#${id}  "Ana Silva"`);
    expect(human.out).toContain(`identity fingerprint ${fp}`);
    expect(await listed()).toEqual([expect.objectContaining({ requestId: id, name: 'Ana Silva', fingerprint: fp, signatureValid: true, keyIsCurrent: true })]);
    // The request alone certifies nothing; whoami says it waits, with its number (and so does --json).
    expect((await ana.run(['whoami'])).out).toMatch(new RegExp(`Certificate: not certified yet: requested as "Ana Silva" on \\d{4}-\\d\\d-\\d\\d \\(request ${id}\\)[^\\n]*sigilo admin ca approve ${id}`));
    const waiting = JSON.parse((await ana.run(['whoami', '--json'])).out) as { certificate: { state: string }; certificationRequest: { requestId: number; name: string } | null };
    expect(waiting.certificate.state).toBe('uncertified');
    expect(waiting.certificationRequest).toMatchObject({ requestId: id, name: 'Ana Silva' });

    // No terminal and neither --fingerprint nor --yes: nothing done. A wrong fingerprint: refused.
    const noConfirm = await admin(['approve', String(id)]);
    expect(noConfirm.code).toBe(1);
    expect(noConfirm.err).toContain(`identity fingerprint ${fp}`);
    expect(noConfirm.err).toMatch(/Nothing was done/);
    const wrong = await admin(['approve', String(id), '--fingerprint', '0000 1111 2222 3333 4444 5555 6666 7777']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/NOT this request's identity key/);
    expect((await listed()).map((r) => r.requestId)).toEqual([id]);

    const ok = await admin(['approve', String(id), '--fingerprint', fp]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/Certified Ana Silva .* until/);
    expect(ok.out).toMatch(/Pushed to \d+ connected device/);
    expect(await listed()).toEqual([]);
    const who = await ana.run(['whoami']);
    expect(who.out).toMatch(/Certificate: certified by Acme Logistics as "Ana Silva" until/);
    // Certified: the request is no longer shown as waiting.
    expect((JSON.parse((await ana.run(['whoami', '--json'])).out) as { certificationRequest: unknown }).certificationRequest).toBeNull();
    // The list names the account as whoami and admin accounts show it, so that `admin ca revoke ACCOUNT` can be typed from it.
    const anaAccount = (JSON.parse((await ana.run(['whoami', '--json'])).out) as { accountId: string }).accountId;
    expect((await admin(['list'])).out).toMatch(new RegExp(`in force +until \\S+  ${anaAccount}  Ana Silva`));

    // A second request from a certified account says what approving it replaces, in the list and before approving.
    const again = await ana.run(['ca', 'request', '--name', 'Ana S.']);
    const againId = Number(/Certification request (\d+) sent/.exec(again.out)![1]);
    expect((await admin(['requests'])).out).toMatch(/#\d+  "Ana S\."[\s\S]*certified as "Ana Silva" until \d{4}-\d\d-\d\d: approving replaces that certificate/);
    const asked = await admin(['approve', String(againId)]);
    expect(asked.err).toMatch(/certified as "Ana Silva" until .*: approving replaces that certificate/);
    expect((await admin(['reject', String(againId)])).code).toBe(0);
  }, 120_000);

  it('a request whose name the server operator edited is refused (its signature no longer matches); reject drops it', async () => {
    const req = await bruno.run(['ca', 'request', '--name', 'Bruno Costa', '--json']);
    expect(req.code, req.err).toBe(0);
    const { requestId } = JSON.parse(req.out) as { requestId: number };
    // Whoever runs the server edits the queued request to certify someone else's name.
    const db = new Database(sqlitePath(t.dataDir));
    try {
      expect(db.prepare('UPDATE certification_requests SET name = ? WHERE request_id = ?').run('Carla Directora', requestId).changes).toBe(1);
    } finally {
      db.close();
    }
    expect((await listed())[0]).toMatchObject({ requestId, name: 'Carla Directora', signatureValid: false });
    expect((await admin(['requests'])).out).toMatch(/SIGNATURE INVALID: do not approve/);
    const refused = await admin(['approve', String(requestId), '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/NOT signed by the identity key/);
    expect((await admin(['list'])).out).not.toMatch(/Carla Directora/);

    const rejected = await admin(['reject', String(requestId)]);
    expect(rejected.code, rejected.err).toBe(0);
    expect(rejected.out).toMatch(/Rejected request/);
    expect(await listed()).toEqual([]);
    expect((await admin(['reject', String(requestId)])).code).toBe(1);
    // The server does not tell the device of a rejection: whoami still says not certified and how to ask again.
    expect((await bruno.run(['whoami'])).out).toMatch(/Certificate: not certified yet: requested as "Bruno Costa" .*if they rejected it, send a new one/);
  }, 120_000);

  it('register --request-certification sends the request with the account', async () => {
    const carla = cliPerson(root, 'carla');
    expect((await carla.run(['init', t.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, ''), '--fingerprint', t.server.tls.fingerprint])).code).toBe(0);
    const reg = await carla.run(['register', '--invite', (await t.server.admin.createInvite()).code, '--request-certification', 'Carla Nunes']);
    expect(reg.code, reg.err).toBe(0);
    expect(reg.err).not.toMatch(/request failed/);
    const id = Number(/Certification request (\d+) sent as "Carla Nunes"/.exec(reg.out)![1]);
    const fp = /Identity fingerprint: ([0-9a-f ]+)\n/.exec(reg.out)![1]!.trim();
    expect(await listed()).toEqual([expect.objectContaining({ requestId: id, name: 'Carla Nunes', fingerprint: fp, signatureValid: true })]);
    expect((await admin(['approve', String(id), '--yes'])).code).toBe(0);
    expect((await carla.run(['whoami'])).out).toMatch(/Certificate: certified by Acme Logistics as "Carla Nunes"/);
  }, 120_000);
});
