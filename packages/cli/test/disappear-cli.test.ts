/**
 * Disappearing messages and confidential mode through the built `sigilo` binary against a real server whose
 * administrator set a maximum timer: `sigilo disappear` sets, shows and refuses timers; `inbox` shows the notice and
 * the timer on each message; `chat --confidential` keeps its messages out of both stores and wipes them on leaving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { assertBuilt, introduce, registered, type CliPerson } from './support/sigilo.js';

describe('sigilo disappear, inbox and chat --confidential', () => {
  let server: TestServer;
  let root: string;
  let ana: CliPerson;
  let bruno: CliPerson;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ 'retention.maxDisappearingTimer': '7d' });
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-disappear-'));
    [ana, bruno] = await Promise.all([registered(server, root, 'ana'), registered(server, root, 'bruno')]);
    await introduce(ana, bruno);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('sets a timer both sides see, shows it on each message, and refuses one above the maximum', async () => {
    const set = await ana.run(['disappear', 'bruno', '1d']);
    expect(set.code, set.err).toBe(0);
    expect(set.out).toBe('Messages with bruno now disappear after 1 day.\n');
    const tooLong = await ana.run(['disappear', 'bruno', '2w']);
    expect(tooLong.code).toBe(1);
    expect(tooLong.err).toMatch(/at most 7 days.*\[TIMER_TOO_LONG\]/);
    const off = await ana.run(['disappear', 'bruno', 'off']);
    expect(off.code).toBe(1);
    expect(off.err).toMatch(/TIMER_TOO_LONG/);
    const bad = await ana.run(['disappear', 'bruno', 'soon']);
    expect(bad.code).toBe(2);
    expect((await ana.run(['send', 'bruno', 'se borra mañana'])).code).toBe(0);

    const inbox = await bruno.run(['inbox']);
    expect(inbox.code, inbox.err).toBe(0);
    expect(inbox.out).toMatch(/-- ana set disappearing messages to 1 day/);
    expect(inbox.out).toMatch(/ana: se borra mañana ⏱ 1 day/);
    const shown = await bruno.run(['disappear', 'ana']);
    expect(shown.out).toBe('Messages with ana disappear 1 day after they are read (yours: after sending).\n');
    const json = JSON.parse((await bruno.run(['disappear', 'ana', '--json'])).out) as { timerMs: number };
    expect(json.timerMs).toBe(86_400_000);
    // Read now: bruno's countdown runs.
    const again = JSON.parse((await bruno.run(['inbox', '--offline', '--json'])).out) as unknown[];
    expect(again).toEqual([]);
  }, 120_000);

  it('chat --confidential: the other side sees the mode switch on and off, and the text is kept nowhere', async () => {
    const chat = await ana.run(['chat', 'bruno', '--lines', '--confidential'], { input: 'solo en memoria\n/quit\n', timeoutMs: 60_000 });
    expect(chat.code, chat.err).toBe(0);
    expect(chat.out).toMatch(/you turned confidential mode on/);
    expect(chat.out.match(/me: solo en memoria/g), chat.out).toHaveLength(1);
    const inbox = await bruno.run(['inbox', '--json']);
    expect(inbox.code, inbox.err).toBe(0);
    const rows = JSON.parse(inbox.out) as { text: string; notice: { kind: string } | null }[];
    expect(rows.map((r) => r.notice?.kind ?? r.text)).toEqual(['confidential-on', 'confidential-off']);
    const history = await ana.run(['inbox', '--offline', '--json']);
    expect(history.out).not.toContain('solo en memoria');
  }, 120_000);
});
