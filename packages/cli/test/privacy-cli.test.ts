/**
 * Privacy controls through the built `sigilo` binary against a real server:
 * `sigilo whoami` prints the administrator's retention policy in plain words;
 * `sigilo admin audit --deep` passes on a clean server and fails (exit 3) on
 * an identifier in a log file; `sigilo admin export-account` writes one
 * owner-only JSON file and never overwrites one.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAccountIdText } from '@sigilo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { assertBuilt, registered, sigilo, type CliPerson } from './support/sigilo.js';

describe('sigilo whoami policy, admin audit --deep, admin export-account', () => {
  let server: TestServer;
  let root: string;
  let ana: CliPerson;
  const admin = (args: string[]) => sigilo(['admin', ...args, '--data', server.dataDir], { timeoutMs: 60_000 });

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ 'retention.undelivered': '14d', 'retention.lastSeen': 'off', 'retention.maxDisappearingTimer': '7d', 'push.mode': 'off' });
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-privacy-'));
    ana = await registered(server, root, 'ana');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('whoami prints the server policy in plain words, and as JSON', async () => {
    const who = await ana.run(['whoami']);
    expect(who.code).toBe(0);
    expect(who.out).toContain('This server deletes undelivered messages after 14 days');
    expect(who.out).toContain('It keeps no record of when devices connect.');
    expect(who.out).toContain('every conversation disappear after at most 7 days');
    expect(who.out).toContain('This server sends no push notifications: keep the app open to receive messages.');
    const json = JSON.parse((await ana.run(['whoami', '--json'])).out) as { policy: Record<string, unknown> };
    expect(json.policy).toEqual({
      undeliveredMessagesMs: 14 * 86_400_000, attachmentsMs: 30 * 86_400_000, lastSeen: 'off', keepsConnectionTimes: false,
      maxDisappearingTimerMs: 7 * 86_400_000, push: 'off',
    });
  }, 60_000);

  it('audit --deep passes on a clean server and fails with exit code 3 on an account id in a log', async () => {
    const clean = join(root, 'clean.log');
    writeFileSync(clean, `${server.logs.join('\n')}\n`);
    const ok = await admin(['audit', '--deep', '--log', clean]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/PASSED/);
    expect(ok.out).toMatch(/accounts \(id, public identity key, access-key hash\) \(accounts\)/);
    const bad = join(root, 'bad.log');
    const hex = Buffer.from(parseAccountIdText(ana.accountId)!).toString('hex');
    writeFileSync(bad, `{"level":"info","msg":"hello","account":"${hex}"}\n`);
    const fail = await admin(['audit', '--deep', '--log', bad, '--json']);
    expect(fail.code).toBe(3);
    const report = JSON.parse(fail.out) as { ok: boolean; findings: { kind: string; where: string }[] };
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'identifier-in-log', where: `${bad}:1` })]);
    expect(fail.err).toMatch(/AUDIT FAILED/);
  }, 60_000);

  it('export-account writes one owner-only JSON file with the account\'s rows, and never overwrites', async () => {
    const out = join(root, 'ana-export.json');
    const r = await admin(['export-account', ana.accountId, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`Wrote ${out}`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const ex = JSON.parse(readFileSync(out, 'utf8')) as { accountId: string; tables: Record<string, unknown[]> };
    expect(ex.accountId).toBe(ana.accountId);
    expect(ex.tables.accounts).toHaveLength(1);
    expect(ex.tables.devices).toHaveLength(1);
    const again = await admin(['export-account', ana.accountId, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists; nothing was written/);
    const unknown = await admin(['export-account', 'a'.repeat(26), '--out', join(root, 'x.json')]);
    expect(unknown.code).toBe(1);
    expect(existsSync(join(root, 'x.json'))).toBe(false);
    const usage = await admin(['export-account']);
    expect(usage.code).toBe(2);
  }, 60_000);
});
