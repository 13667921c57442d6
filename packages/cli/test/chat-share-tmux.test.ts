/**
 * A running `sigilo chat` (in a real terminal, tmux) and other commands on the same client
 * directory (client.md §8): the chat lends the device's one connection to `inbox` and `send`
 * and takes it back, so it keeps receiving; a message queued while the server is down is sent
 * by the chat in the background once the server is back, without a key pressed; group changes
 * show in the chat with the names this person gave.
 *
 * Needs tmux; without it the tests skip with a message, unless SIGILO_REQUIRE_SERVICES=1.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { startServer } from '../../server/src/server.js';
import { createLogger } from '../../server/src/logger.js';
import { assertBuilt, introduce, registered, until, type CliPerson } from './support/sigilo.js';
import { Terminals, tmuxMissing, tmuxName } from './support/tmux.js';

const REQUIRE = process.env.SIGILO_REQUIRE_SERVICES === '1';
if (tmuxMissing && !REQUIRE) console.warn(`skipping the shared-directory chat tests: ${tmuxMissing}`);

describe.skipIf(tmuxMissing !== undefined)(`sigilo chat shares its directory with other commands (${tmuxName})`, () => {
  let server: TestServer;
  let root: string;
  let t: Terminals;
  let alice: CliPerson, bob: CliPerson, carol: CliPerson;
  const chat = (p: CliPerson, pane: string, peer: string) =>
    t.run(pane, ['chat', peer, '--dir', p.dir], { ...p.env, TERM: 'xterm-256color', HOME: root, PATH: process.env.PATH });
  /** Waits for `cond`; on a timeout the pane's screen is in the error. */
  const waitFor = (pane: string, cond: () => boolean, what: string, ms = 30_000) =>
    until(cond, what, ms).catch((e: Error) => { throw new Error(`${e.message}\n${pane}:\n${t.screen(pane)}`); });

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-chat-share-'));
    mkdirSync(join(root, 'exit-status'));
    t = new Terminals(`sigilo-share-${process.pid}`, join(root, 'exit-status'));
    t.start();
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => registered(server, root, n)));
    await Promise.all([introduce(alice, bob), introduce(alice, carol), introduce(bob, carol)]);
  }, 60_000);

  afterAll(async () => {
    t?.stop();
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a chat keeps receiving while inbox and send run on the same directory', async () => {
    chat(alice, 'a1', 'bob');
    await waitFor('a1', () => t.screen('a1').includes('Sigilo · bob · online'), "alice's chat to be online");

    expect((await bob.run(['send', 'alice', 'before the inbox'])).code).toBe(0);
    await waitFor('a1', () => t.screen('a1').includes('bob: before the inbox'), 'the first message in the chat');

    // Another command on alice's directory takes the connection for its run…
    const inbox = await alice.run(['inbox']);
    expect(inbox.code, inbox.err).toBe(0);
    // …and the chat takes it back: it receives again, live.
    expect((await bob.run(['send', 'alice', 'after the inbox'])).code).toBe(0);
    await waitFor('a1', () => t.screen('a1').includes('bob: after the inbox'), 'a message after the inbox ran');
    await waitFor('a1', () => t.screen('a1').includes('Sigilo · bob · online'), 'the chat to be online again');

    // A send from another process on the same directory: sent, and shown in the chat.
    const sent = await alice.run(['send', 'bob', 'from another terminal']);
    expect(sent.code, sent.err).toBe(0);
    await waitFor('a1', () => t.lineWith('a1', 'from another terminal').includes('me: from another terminal'), 'the other process\'s message in the chat');
    expect(JSON.parse((await bob.run(['inbox', '--json'])).out).map((m: { text: string }) => m.text)).toContain('from another terminal');

    // Several rounds: the chat never stays offline.
    for (let i = 0; i < 3; i++) {
      expect((await alice.run(['inbox', '--no-read'])).code).toBe(0);
      expect((await bob.run(['send', 'alice', `round ${i}`])).code).toBe(0);
      await waitFor('a1', () => t.screen('a1').includes(`bob: round ${i}`), `round ${i} in the chat`);
    }
    t.type('a1', 'typed in the chat');
    t.press('a1', 'Enter');
    await waitFor('a1', () => /✓/.test(t.lineWith('a1', 'typed in the chat')), 'the chat still sends');
    t.type('a1', '/quit');
    t.press('a1', 'Enter');
    await waitFor('a1', () => t.exitCode('a1') !== undefined, 'the chat to exit');
    expect(t.exitCode('a1')).toBe('0');
  }, 120_000);

  it('group changes show in the chat with the names this person gave', async () => {
    expect((await bob.run(['group', 'create', 'Crew', 'alice'])).code).toBe(0);
    expect((await alice.run(['inbox'])).code).toBe(0);
    // Alice calls carol "cara".
    expect((await alice.run(['contacts', 'add', 'cara', carol.card, '--yes'])).code).toBe(0);
    chat(alice, 'a2', 'Crew');
    await waitFor('a2', () => t.screen('a2').includes('· online'), "alice's group chat to be online");
    expect(t.screen('a2')).toMatch(/\d\d:\d\d -- bob created the group "Crew" with you/);

    expect((await bob.run(['group', 'add', 'Crew', 'carol'])).code).toBe(0);
    await waitFor('a2', () => /\d\d:\d\d -- bob added cara/.test(t.screen('a2')), '"bob added cara"');
    expect((await bob.run(['group', 'rename', 'Crew', 'Crew 2'])).code).toBe(0);
    await waitFor('a2', () => t.screen('a2').includes('-- bob renamed the group to "Crew 2"'), 'the rename');
    expect((await carol.run(['inbox'])).code).toBe(0);
    expect((await carol.run(['group', 'leave', 'Crew 2'])).code).toBe(0);
    await waitFor('a2', () => t.screen('a2').includes('-- cara left'), '"cara left"');
    t.press('a2', 'C-c');
    await waitFor('a2', () => t.exitCode('a2') !== undefined, 'the chat to exit');
    // Seen in the chat: not new in the inbox.
    expect((await alice.run(['inbox'])).out).toBe('No new messages.\n');
  }, 120_000);

  it('a message queued while the server is down is sent by the running chat once it is back, without a key pressed', async () => {
    const other = await startTestServer();
    const port = Number(new URL(other.server.url).port);
    const dataDir = other.dataDir;
    const [dan, erin] = await Promise.all([registered(other, root, 'dan'), registered(other, root, 'erin')]);
    await introduce(dan, erin);
    expect((await dan.run(['send', 'erin', 'hello first'])).code).toBe(0);
    chat(dan, 'd1', 'erin');
    await waitFor('d1', () => t.screen('d1').includes('Sigilo · erin · online'), "dan's chat to be online");
    await other.server.close();
    await waitFor('d1', () => t.screen('d1').includes('offline'), 'the chat to notice the server is gone');

    let back: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      const queued = await dan.run(['send', 'erin', 'queued while down']);
      expect(queued.code).toBe(1);
      expect(queued.err).toMatch(/`sigilo chat` \(process \d+\) is running on this directory: it sends it in the background as soon as the server is back/);
      const json = await dan.run(['send', 'erin', 'queued too', '--json']);
      expect(JSON.parse(json.out)).toMatchObject({ status: 'pending', retry: 'running-chat' });
      await waitFor('d1', () => t.lineWith('d1', 'queued while down').includes('… sending'), 'the queued message in the chat');

      back = await startServer({ overrides: { host: '127.0.0.1', port, dataDir }, logger: createLogger('error', () => {}) });
      // No key is pressed: the chat reconnects on its own and sends the outbox.
      await waitFor('d1', () => /✓/.test(t.lineWith('d1', 'queued while down')) && /✓/.test(t.lineWith('d1', 'queued too')), 'the chat to send the queued messages', 90_000);
      const got = JSON.parse((await erin.run(['inbox', '--json'])).out) as { text: string }[];
      expect(got.map((m) => m.text)).toEqual(expect.arrayContaining(['queued while down', 'queued too']));
      t.press('d1', 'C-c');
      await waitFor('d1', () => t.exitCode('d1') !== undefined, 'the chat to exit');
    } finally {
      await back?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

if (tmuxMissing && REQUIRE) {
  describe('sigilo chat shares its directory', () => {
    it('needs tmux (SIGILO_REQUIRE_SERVICES=1)', () => {
      throw new Error(tmuxMissing);
    });
  });
}
