/** `sigilo admin tls-ca`: the organisation's CA and the server certificate, then the server using them. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, silentLogger } from '@sigilo/server';
import { runCli } from '../src/run.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), stopSignal: new Promise<string>(() => undefined), env: {}, cwd: process.cwd() } };
}

describe('sigilo admin tls-ca', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigilo-cli-tlsca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the CA and the server certificate; the server then serves with it and offers /ca.crt', async () => {
    const data = join(dir, 'data');
    const c = io();
    expect(await runCli(['admin', 'tls-ca', '--data', data, '--name', 'localhost', '--ip', '127.0.0.1', '--org', 'Example NGO'], c.io)).toBe(0);
    const text = c.out.join('');
    expect(text).toMatch(/Created the certificate authority of Example NGO/);
    expect(text).toMatch(/CA SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(text).toMatch(/\/ca and follow the steps/);
    // Command-line clients are told to pin the CA, which renewals do not change (client.md §1.1).
    const caFp = /CA SHA-256 fingerprint: (\S+)/.exec(text)![1]!;
    expect(text).toContain(`Command-line clients pin the CA fingerprint above, which renewals do not change`);
    expect(text).toContain(`sigilo init https://localhost:PORT --ca-fingerprint ${caFp}`);
    expect(text).toMatch(/do not hand out its fingerprint/);
    const ca = join(data, 'tls', 'ca');
    expect(statSync(join(ca, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(execFileSync('openssl', ['verify', '-CAfile', join(ca, 'ca.crt'), join(ca, 'server.crt')]).toString()).toMatch(/OK/);

    const again = io();
    expect(await runCli(['admin', 'tls-ca', '--data', data, '--name', 'localhost'], again.io)).toBe(1);
    expect(again.err.join('')).toMatch(/exists: phones and desktops already trust this CA/);

    const re = io();
    expect(await runCli(['admin', 'tls-ca', '--data', data, '--reissue', '--json'], re.io)).toBe(0);
    const info = JSON.parse(re.out.join(''));
    expect(info).toMatchObject({ created: false, names: { dns: ['localhost'], ips: ['127.0.0.1'] } });

    const server = await startServer({ overrides: { host: '127.0.0.1', port: 0, dataDir: data, adminSocket: false }, logger: silentLogger });
    try {
      expect(server.tls.fingerprint).toBe(info.serverFingerprint);
      const caPem = readFileSync(join(ca, 'ca.crt'), 'utf8');
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: server.port, path: '/ca.crt', ca: caPem, servername: 'localhost' }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject).end();
      });
      expect(status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('explains what is missing or wrong', async () => {
    const none = io();
    expect(await runCli(['admin', 'tls-ca', '--data', join(dir, 'empty')], none.io)).toBe(2);
    expect(none.err.join('')).toMatch(/--name chat\.example\.org/);
    const bad = io();
    expect(await runCli(['admin', 'tls-ca', '--data', join(dir, 'bad'), '--ip', 'not-an-ip'], bad.io)).toBe(1);
    expect(bad.err.join('')).toMatch(/not an IPv4 or IPv6 address/);
    const reissue = io();
    expect(await runCli(['admin', 'tls-ca', '--data', join(dir, 'none'), '--reissue'], reissue.io)).toBe(2);
    expect(reissue.err.join('')).toMatch(/no CA in/);
  });
});
