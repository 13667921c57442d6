/**
 * Verification by a shared question (SMP) and signed read receipts through the
 * built `sigilo` binary against the real server (client.md §4.4, §4.5).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { assertBuilt, introduce, registered, sigilo, type CliPerson } from './support/sigilo.js';

describe('sigilo verify --ask/--answer, receipts, export-receipts, verify-receipt', () => {
  let server: TestServer;
  let root: string;
  let ana: CliPerson, bruno: CliPerson, caio: CliPerson;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-trust-'));
    [ana, bruno, caio] = await Promise.all([registered(server, root, 'ana'), registered(server, root, 'bruno'), registered(server, root, 'caio')]);
    await introduce(ana, bruno);
    await introduce(ana, caio);
    // Sessions first (SMP is bound to one).
    for (const [a, b] of [[ana, bruno], [bruno, ana], [ana, caio], [caio, ana]] as const) {
      expect((await a.run(['send', b.name, 'hello'])).code).toBe(0);
      expect((await b.run(['inbox'])).code).toBe(0);
    }
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a question answered the same way verifies both sides (exit 0); inbox shows the question', async () => {
    const asking = ana.run(['verify', 'bruno', '--ask', 'Where did we meet?', '--answer', 'Porto', '--wait', '90'], { timeoutMs: 120_000 });
    let shown = '';
    for (let i = 0; i < 50 && !shown.includes('asks to verify'); i++) {
      const inbox = await bruno.run(['inbox']);
      expect(inbox.code, inbox.err).toBe(0);
      shown = inbox.out;
      if (!shown.includes('asks to verify')) await new Promise((r) => setTimeout(r, 300));
    }
    expect(shown).toContain('ana asks to verify: Where did we meet? — answer with sigilo verify ana --answer');
    const answered = await bruno.run(['verify', 'ana', '--answer', ' porto ', '--wait', '90'], { timeoutMs: 120_000 });
    expect(answered.code, answered.err).toBe(0);
    expect(answered.out).toMatch(/Match: ana gave the same answer/);
    const asked = await asking;
    expect(asked.code, asked.err).toBe(0);
    expect(asked.out).toMatch(/Match: bruno/);
    expect(JSON.parse((await ana.run(['verify', 'bruno', '--json'])).out)).toMatchObject({ verified: true });
    expect(JSON.parse((await bruno.run(['verify', 'ana', '--json'])).out)).toMatchObject({ verified: true });
  }, 240_000);

  it('a different answer verifies neither side (exit 3); answering with nothing asked says what to do', async () => {
    const nothing = await caio.run(['verify', 'ana', '--answer', 'x']);
    expect(nothing.code).toBe(1);
    expect(nothing.err).toMatch(/has not asked you a verification question/);
    // Asked without waiting: exit 5, the result comes later.
    const asked = await caio.run(['verify', 'ana', '--ask', 'My dog?', '--answer', 'Rex', '--wait', '0']);
    expect(asked.code, asked.err).toBe(5);
    expect((await ana.run(['inbox'])).out).toContain('caio asks to verify: My dog?');
    const answering = ana.run(['verify', 'caio', '--answer', 'Bobby', '--wait', '90'], { timeoutMs: 120_000 });
    // Caio comes online to take the steps and see the result.
    let seen = '';
    for (let i = 0; i < 50 && !/Verification with ana/.test(seen); i++) {
      seen = (await caio.run(['inbox'])).out;
      if (!/Verification with ana/.test(seen)) await new Promise((r) => setTimeout(r, 300));
    }
    expect(seen).toContain('Verification with ana: no match');
    const answered = await answering;
    expect(answered.code, answered.out + answered.err).toBe(3);
    expect(answered.out).toMatch(/No match/);
    expect(JSON.parse((await ana.run(['verify', 'caio', '--json'])).out)).toMatchObject({ verified: false });
    expect(JSON.parse((await caio.run(['verify', 'ana', '--json'])).out)).toMatchObject({ verified: false });
  }, 240_000);

  it('signed receipts: on, read, exported, verified offline; a tampered file is refused (exit 1)', async () => {
    expect((await bruno.run(['receipts', 'ana'])).out).toMatch(/off/);
    const on = await bruno.run(['receipts', 'ana', '--signed', 'on']);
    expect(on.code, on.err).toBe(0);
    expect(on.out).toMatch(/ON/);
    const sent = JSON.parse((await ana.run(['send', 'bruno', 'the contract is signed', '--json'])).out) as { messageId: string };
    expect((await bruno.run(['inbox'])).out).toContain('the contract is signed');
    const file = join(root, 'receipt.json');
    const exported = await ana.run(['export-receipts', 'bruno', sent.messageId.slice(0, 12), file]);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toMatch(/Wrote 1 signed receipt/);
    const ok = await sigilo(['verify-receipt', file, '--json']);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ valid: true, text: 'the contract is signed', receipts: [{ reader: bruno.accountId }] });
    const help = await sigilo(['verify-receipt', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: sigilo verify-receipt FILE[\s\S]*0 valid, 1 invalid/);
    const tampered = join(root, 'tampered.json');
    writeFileSync(tampered, readFileSync(file, 'utf8').replace('the contract is signed', 'the contract is void'));
    const bad = await sigilo(['verify-receipt', tampered]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/INVALID: .*(digest|altered)/);
  }, 240_000);

  it('receipts off: reading sends none, and export says so', async () => {
    expect((await bruno.run(['receipts', 'ana', '--signed', 'off'])).code).toBe(0);
    const sent = JSON.parse((await ana.run(['send', 'bruno', 'unsigned please', '--json'])).out) as { messageId: string };
    expect((await bruno.run(['inbox'])).out).toContain('unsigned please');
    const exported = await ana.run(['export-receipts', 'bruno', sent.messageId, join(root, 'none.json')]);
    expect(exported.code).toBe(1);
    expect(exported.err).toMatch(/no signed read receipt/);
  }, 240_000);
});
