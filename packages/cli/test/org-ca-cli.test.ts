/**
 * The organisation's identity CA through the built `sigilo` command against the real server over
 * TLS (spec/trust.md): `admin ca init/certify/revoke/list`, the certificates checked by the real
 * `openssl verify`, `whoami` and `contacts` showing them, a revocation reaching a running
 * `sigilo chat` within seconds, sending to a revoked contact held until accepted; `/verify` and
 * `/answer` inside two running chats; and the CA key on a SoftHSM2 token.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { hasSoftHsm, makeToken } from '../../server/test/support/softhsm.js';
import { IdentityCaDirectory, toPem } from '../../server/src/index.js';
import { MAIN, assertBuilt, introduce, registered, sigilo, until, type CliPerson } from './support/sigilo.js';

/** `sigilo chat NAME` in line mode (pipes, no terminal), kept running. */
class RunningChat {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  constructor(p: CliPerson, peer: string) {
    this.child = spawn(process.execPath, [MAIN, 'chat', peer, '--dir', p.dir], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...p.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.out += d.toString()));
  }
  type(line: string): void { this.child.stdin.write(`${line}\n`); }
  async until(re: RegExp, what: string, ms = 20_000): Promise<number> {
    const t0 = performance.now();
    await until(() => re.test(this.out), `${what}\n--- chat output:\n${this.out}`, ms);
    return performance.now() - t0;
  }
  async quit(): Promise<void> {
    this.type('/quit');
    await new Promise<void>((resolve) => { if (this.child.exitCode !== null) resolve(); else this.child.once('close', () => resolve()); });
  }
}

const opensslVerify = (ca: string, cert: string, crl?: string) => spawnSync('openssl', ['verify', '-CAfile', ca, ...(crl ? ['-crl_check', '-CRLfile', crl] : []), cert], { encoding: 'utf8' });

describe('sigilo admin ca, and certificates in whoami, contacts and chat', () => {
  let t: TestServer;
  let root: string;
  let ana: CliPerson, bruno: CliPerson;
  const admin = (args: string[], env: NodeJS.ProcessEnv = {}) => sigilo(['admin', 'ca', ...args, '--data', t.dataDir], { env, timeoutMs: 60_000 });

  beforeAll(async () => {
    assertBuilt();
    t = await startTestServer();
    root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-cli-orgca-'));
    [ana, bruno] = await Promise.all([registered(t, root, 'ana'), registered(t, root, 'bruno')]);
    await introduce(ana, bruno);
    for (const [a, b] of [[ana, bruno], [bruno, ana]] as const) {
      expect((await a.run(['send', b.name, 'hello'])).code).toBe(0);
      expect((await b.run(['inbox'])).code).toBe(0);
    }
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('init creates the CA; whoami shows the fingerprint to read to the administrator and "not certified"', async () => {
    const init = await admin(['init', '--org', 'Acme Logistics']);
    expect(init.code, init.err).toBe(0);
    expect(init.out).toMatch(/Created the identity CA of Acme Logistics/);
    expect(init.out).toMatch(/CA SHA-256 fingerprint: ([0-9a-f]{4} ){15}[0-9a-f]{4}/);
    expect(init.out).toMatch(/Pushed to \d+ connected device/);
    // No `admin tls-ca` here: the server's pin is its certificate's fingerprint; the requests people sent come first.
    expect(init.out).toMatch(/sigilo init URL --fingerprint SERVER-FINGERPRINT --identity-ca "([0-9a-f]{4} ){15}[0-9a-f]{4}"/);
    expect(init.out).toMatch(/sigilo admin ca requests[\s\S]*sigilo admin ca approve ID/);
    const again = await admin(['init', '--org', 'Acme Logistics']);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/exists/);
    const who = await ana.run(['whoami']);
    expect(who.code, who.err).toBe(0);
    expect(who.out).toMatch(/Identity fingerprint: ([0-9a-f]{4} ){7}[0-9a-f]{4}/);
    expect(who.out).toMatch(/Certificate: not certified: ask for it with sigilo ca request --name "YOUR NAME" and read your identity fingerprint/);
    expect(who.out).toMatch(/Organisation CA: Acme Logistics/);
  }, 60_000);

  it('certify refuses a fingerprint that is not the account\'s, and certifies with the right one; openssl verify accepts it', async () => {
    const fp = (JSON.parse((await ana.run(['whoami', '--json'])).out) as { identityFingerprint: string }).identityFingerprint;
    const wrong = await admin(['certify', ana.accountId, '--name', 'Ana Souza', '--fingerprint', '0000 1111 2222 3333 4444 5555 6666 7777']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/NOT this account's identity key: nothing was certified/);
    const noAnswer = await admin(['certify', ana.accountId, '--name', 'Ana Souza']);
    expect(noAnswer.code).toBe(1);
    const ok = await admin(['certify', ana.accountId, '--name', 'Ana Souza', '--fingerprint', fp]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/Certified Ana Souza/);
    const okB = await admin(['certify', bruno.accountId, '--name', 'Bruno Lima', '--fingerprint', (JSON.parse((await bruno.run(['whoami', '--json'])).out) as { identityFingerprint: string }).identityFingerprint]);
    expect(okB.code, okB.err).toBe(0);
    // The very files the CLI wrote, checked by openssl.
    const ca = new IdentityCaDirectory(t.dataDir);
    const hexId = Buffer.from(ca.issued().find((r) => r.name === 'Ana Souza')!.accountId, 'hex');
    const caPem = join(root, 'ca.pem'), certPem = join(root, 'ana.pem'), crlPem = join(root, 'crl.pem');
    writeFileSync(caPem, toPem('CERTIFICATE', ca.caCertificate()));
    writeFileSync(certPem, toPem('CERTIFICATE', ca.certificateOf(hexId)!));
    writeFileSync(crlPem, toPem('X509 CRL', ca.published()!.crl));
    const v = opensslVerify(caPem, certPem, crlPem);
    expect(v.stdout + v.stderr).toMatch(/: OK/);
    const list = await admin(['list']);
    expect(list.out).toMatch(/in force.*Ana Souza/);
    // `admin accounts` shows whom each account's certificate in force names (and the JSON has it too).
    const accounts = await sigilo(['admin', 'accounts', '--data', t.dataDir], { timeoutMs: 60_000 });
    expect(accounts.code, accounts.err).toBe(0);
    expect(accounts.out).toMatch(new RegExp(`^${ana.accountId}.*certified as "Ana Souza" until \\d{4}-\\d{2}-\\d{2}`, 'm'));
    expect(accounts.out).toMatch(new RegExp(`^${bruno.accountId}.*certified as "Bruno Lima"`, 'm'));
    const rows = JSON.parse((await sigilo(['admin', 'accounts', '--data', t.dataDir, '--json'], { timeoutMs: 60_000 })).out) as { accountId: string; certificate: { name: string } | null }[];
    expect(rows.find((r) => r.accountId === ana.accountId)!.certificate).toMatchObject({ name: 'Ana Souza' });
  }, 90_000);

  it('whoami and contacts show "certified by ORGANISATION"', async () => {
    const who = await ana.run(['whoami']);
    expect(who.out).toMatch(/Certificate: certified by Acme Logistics as "Ana Souza" until \d{4}-\d{2}-\d{2}/);
    const list = await bruno.run(['contacts']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/CERTIFICATE/);
    expect(list.out).toMatch(/^ana .*certified by Acme Logistics as "Ana Souza"/m);
    const json = JSON.parse((await bruno.run(['contacts', '--json'])).out) as { name: string; certificate: { state: string; organisation: string; name: string } }[];
    expect(json.find((c) => c.name === 'ana')!.certificate).toMatchObject({ state: 'certified', organisation: 'Acme Logistics', name: 'Ana Souza' });
  }, 60_000);

  it('/verify QUESTION | ANSWER and /answer in two running chats: both see the question and the match in the conversation', async () => {
    const a = new RunningChat(ana, 'bruno');
    const b = new RunningChat(bruno, 'ana');
    try {
      await a.until(/\(online\)/, 'ana online');
      await b.until(/\(online\)/, 'bruno online');
      expect(a.out).toMatch(/\(certified by Acme Logistics\)|certified by Acme Logistics as "Bruno Lima"/);
      a.type('/verify Where did we first meet? | Porto');
      await a.until(/you asked bruno to verify: "Where did we first meet\?"/, 'the question in ana\'s chat');
      await b.until(/ana asks to verify: "Where did we first meet\?" — answer with \/answer/, 'the question in bruno\'s chat');
      b.type('/answer  porto ');
      await b.until(/verification with ana: MATCH/, 'the match in bruno\'s chat');
      await a.until(/verification with bruno: MATCH/, 'the match in ana\'s chat');
      // The answer itself is never shown in either conversation.
      expect(a.out).not.toMatch(/Porto/);
      expect(b.out).not.toMatch(/porto/i);
      b.type('/verify');
      await b.until(/ana is verified; certified by Acme Logistics/, 'the status line');
    } finally {
      await a.quit();
      await b.quit();
    }
    expect(JSON.parse((await ana.run(['verify', 'bruno', '--json'])).out)).toMatchObject({ verified: true });
  }, 120_000);

  it('a wrong answer shows NO MATCH in both chats; /answer with nothing asked says what to do', async () => {
    const a = new RunningChat(ana, 'bruno');
    const b = new RunningChat(bruno, 'ana');
    try {
      await a.until(/\(online\)/, 'ana online');
      await b.until(/\(online\)/, 'bruno online');
      b.type('/answer Lisbon');
      await b.until(/ana has not asked you a verification question/, 'the notice');
      a.type('/verify My dog? | Rex');
      await b.until(/ana asks to verify: "My dog\?"/, 'the question');
      b.type('/answer Bobby');
      await b.until(/verification with ana: NO MATCH/, 'no match in bruno\'s chat');
      await a.until(/verification with bruno: NO MATCH/, 'no match in ana\'s chat');
    } finally {
      await a.quit();
      await b.quit();
    }
  }, 120_000);

  it('revocation reaches a running chat within seconds; sending to the revoked contact is held until accepted', async () => {
    const chat = new RunningChat(bruno, 'ana');
    try {
      await chat.until(/\(online\)/, 'online');
      const revoking = admin(['revoke', ana.accountId, '--yes']);
      const seenAfterMs = await chat.until(/Acme Logistics REVOKED ana's certificate/, 'the revocation line', 15_000);
      const r = await revoking;
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/Revoked Ana Souza's certificate/);
      expect(r.out).toMatch(/Pushed to [1-9]\d* connected device/);
      console.log(`org-ca-cli: revocation shown in the running chat ${seenAfterMs.toFixed(0)} ms after admin ca revoke started`);
      expect(seenAfterMs).toBeLessThan(10_000);
      chat.type('are you still there?');
      await chat.until(/not sent: .*revoked this contact's identity certificate/, 'the held send');
    } finally {
      await chat.quit();
    }
    const send = await bruno.run(['send', 'ana', 'hello?']);
    expect(send.code).toBe(3);
    expect(send.err).toMatch(/revoked/);
    const list = await bruno.run(['contacts']);
    expect(list.out).toMatch(/^ana .*REVOKED by Acme Logistics/m);
    expect((await ana.run(['whoami'])).out).toMatch(/Acme Logistics REVOKED your certificate/);
    const accept = await bruno.run(['verify', 'ana', '--accept']);
    expect(accept.code, accept.err).toBe(0);
    expect(accept.out).toMatch(/although the organisation revoked/);
    const after = await bruno.run(['send', 'ana', 'checked with you in person']);
    expect(after.code, after.err).toBe(0);
    expect((await bruno.run(['contacts'])).out).toMatch(/REVOKED by Acme Logistics \(accepted\)/);
  }, 120_000);
});

describe.skipIf(!hasSoftHsm)('sigilo admin ca with the key on a SoftHSM2 token', () => {
  it('init makes the key on the token; certify signs there (PIN from SIGILO_PKCS11_PIN); openssl verify accepts the result', async () => {
    assertBuilt();
    const token = makeToken('acme-ca-cli');
    const data = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-cli-hsm-'));
    const t = await startTestServer({}, {}, data);
    const root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-cli-hsm-people-'));
    try {
      const env = { SOFTHSM2_CONF: token.conf, SIGILO_PKCS11_PIN: token.pin };
      const init = await sigilo(['admin', 'ca', 'init', '--org', 'Acme Logistics', '--pkcs11-module', token.module, '--token', token.label, '--data', data], { env, timeoutMs: 60_000 });
      expect(init.code, init.err).toBe(0);
      expect(init.out).toMatch(/on token "acme-ca-cli", label "sigilo-identity-ca" \(not extractable\)/);
      const noPin = await sigilo(['admin', 'ca', 'crl', '--data', data], { env: { SOFTHSM2_CONF: token.conf } });
      expect(noPin.code).not.toBe(0);
      expect(noPin.err).toMatch(/SIGILO_PKCS11_PIN/);
      const badPin = await sigilo(['admin', 'ca', 'crl', '--data', data], { env: { ...env, SIGILO_PKCS11_PIN: '999999' } });
      expect(badPin.code).not.toBe(0);
      expect(badPin.err).toMatch(/PIN/);
      const p = await registered(t, root, 'ana');
      const fp = (JSON.parse((await p.run(['whoami', '--json'])).out) as { identityFingerprint: string }).identityFingerprint;
      const cert = await sigilo(['admin', 'ca', 'certify', p.accountId, '--name', 'Ana Souza', '--fingerprint', fp, '--data', data], { env, timeoutMs: 60_000 });
      expect(cert.code, cert.err).toBe(0);
      const ca = new IdentityCaDirectory(data);
      const hexId = Buffer.from(ca.issued()[0]!.accountId, 'hex');
      const files = { ca: join(root, 'ca.pem'), cert: join(root, 'c.pem'), crl: join(root, 'crl.pem') };
      writeFileSync(files.ca, toPem('CERTIFICATE', ca.caCertificate()));
      writeFileSync(files.cert, toPem('CERTIFICATE', ca.certificateOf(hexId)!));
      writeFileSync(files.crl, toPem('X509 CRL', ca.published()!.crl));
      const v = opensslVerify(files.ca, files.cert, files.crl);
      expect(v.stdout + v.stderr).toMatch(/: OK/);
      expect((await p.run(['whoami'])).out).toMatch(/certified by Acme Logistics as "Ana Souza"/);
    } finally {
      await t.stop();
      token.remove();
      rmSync(root, { recursive: true, force: true });
    }
  }, 180_000);
});
