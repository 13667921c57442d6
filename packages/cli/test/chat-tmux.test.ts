/**
 * `sigilo chat` as people use it: two real terminals (tmux panes on a private
 * tmux server), keys typed with send-keys, screens read with capture-pane.
 * Checks live delivery, the typing indicator, and the ticks on the sender's
 * line changing in place: ✓ sent, ✓✓ delivered, ✓✓ read.
 *
 * Needs tmux; without it the tests skip with a message, unless
 * SIGILO_REQUIRE_SERVICES=1 (CI), where its absence is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { MAIN, assertBuilt, introduce, registered, until, type CliPerson } from './support/sigilo.js';

const REQUIRE = process.env.SIGILO_REQUIRE_SERVICES === '1';
const tmuxVersion = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
const tmuxMissing = tmuxVersion.status === 0 ? undefined : `tmux is not installed (${tmuxVersion.error?.message ?? tmuxVersion.stderr.trim()}); install it (apt-get install -y tmux)`;
if (tmuxMissing && !REQUIRE) console.warn(`skipping the interactive chat tests: ${tmuxMissing}`);

const SOCKET = `sigilo-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Starts `sigilo ARGS` in a new 100×24 tmux session named `name`; the pane stays after exit to read its status. */
function startPane(name: string, args: string[], env: NodeJS.ProcessEnv): void {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${quote(v ?? '')}`).join(' ');
  // The shell writes the exit status to a file: tmux 3.3's #{pane_dead_status} is sometimes empty after a quick exit.
  tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '24', `env ${vars} ${quote(process.execPath)} ${quote(MAIN)} ${args.map(quote).join(' ')}; echo $? > ${quote(exitFile(name))}`);
  tmux('set-option', '-t', name, 'remain-on-exit', 'on');
}
const screen = (name: string) => tmux('capture-pane', '-p', '-t', name);
/** The screen line that shows `text`. */
const lineWith = (name: string, text: string) => screen(name).split('\n').find((l) => l.includes(text)) ?? '';
const type = (name: string, text: string) => tmux('send-keys', '-t', name, '-l', text);
const press = (name: string, key: string) => tmux('send-keys', '-t', name, key);
let exitDir = '';
const exitFile = (name: string) => join(exitDir, `${name}.exit`);
/** The exit status of the pane's command once it finished, else undefined. */
const paneExit = (name: string) => (existsSync(exitFile(name)) ? readFileSync(exitFile(name), 'utf8').trim() || undefined : undefined);

describe.skipIf(tmuxMissing !== undefined)(`sigilo chat in a terminal (${tmuxVersion.stdout?.trim() || 'tmux'})`, () => {
  let server: TestServer;
  let root: string;
  let alice: CliPerson;
  let bob: CliPerson;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-chat-'));
    exitDir = join(root, 'exit-status');
    mkdirSync(exitDir);
    [alice, bob] = await Promise.all([registered(server, root, 'alice'), registered(server, root, 'bob')]);
    await introduce(alice, bob);
    tmux('-f', '/dev/null', 'start-server', ';', 'set-option', '-g', 'exit-empty', 'off');
  });

  afterAll(async () => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    // kill-server leaves the socket file behind.
    rmSync(join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('messages arrive live, typing shows, and the sender sees ✓ sent, ✓✓ delivered, ✓✓ read', async () => {
    const chat = (p: CliPerson, peer: string) => startPane(p.name, ['chat', peer, '--dir', p.dir], { ...p.env, TERM: 'xterm-256color', HOME: root, PATH: process.env.PATH });
    chat(alice, 'bob');
    await until(() => screen('alice').includes('Sigilo · bob · online'), "alice's chat to be online");

    // Bob is away: one tick once the server has it.
    type('alice', 'first, while bob is away');
    press('alice', 'Enter');
    await until(() => lineWith('alice', 'first, while bob is away').includes('✓ sent'), 'the sent tick');
    expect(lineWith('alice', 'first, while bob is away')).toMatch(/^\d\d:\d\d me: first, while bob is away {2}✓ sent/);

    // Bob's device fetches it without reading it: two ticks appear on alice's line, in place.
    const peek = await bob.run(['inbox', '--no-read']);
    expect(peek.out).toContain('alice: first, while bob is away');
    await until(() => lineWith('alice', 'first, while bob is away').includes('✓✓ delivered'), 'the delivered ticks');

    // Bob opens the conversation: it is shown, so it is read.
    chat(bob, 'alice');
    await until(() => screen('bob').includes('Sigilo · alice · online'), "bob's chat to be online");
    expect(lineWith('bob', 'first, while bob is away')).toMatch(/^\d\d:\d\d alice: first, while bob is away$/);
    await until(() => lineWith('alice', 'first, while bob is away').includes('✓✓ read'), 'the read ticks');

    // Typing is shown on the other screen while alice types, before she sends.
    type('alice', 'hello live');
    await until(() => screen('bob').includes('alice is typing…'), 'the typing indicator');
    expect(screen('bob')).not.toContain('hello live');
    press('alice', 'Enter');
    await until(() => lineWith('bob', 'hello live').includes('alice: hello live'), 'the live message');
    await until(() => !screen('bob').includes('alice is typing…'), 'the typing indicator to go');
    await until(() => lineWith('alice', 'hello live').includes('✓✓ read'), 'the read ticks on the live message');

    // Typing stops when the line is emptied, without sending anything.
    type('bob', 'never mind');
    await until(() => screen('alice').includes('bob is typing…'), "bob's typing indicator");
    for (let i = 0; i < 'never mind'.length; i++) press('bob', 'BSpace');
    await until(() => !screen('alice').includes('bob is typing…'), "bob's typing indicator to go");

    // And back.
    type('bob', 'hi alice 👋');
    press('bob', 'Enter');
    await until(() => lineWith('alice', 'hi alice').includes('bob: hi alice'), "bob's reply");
    await until(() => lineWith('bob', 'hi alice').includes('✓✓ read'), "the read ticks on bob's reply");
    expect(screen('alice')).not.toContain('never mind');

    // /quit and Ctrl-C both leave with exit code 0.
    type('alice', '/quit');
    press('alice', 'Enter');
    press('bob', 'C-c');
    await until(() => paneExit('alice') !== undefined && paneExit('bob') !== undefined, 'both chats to exit').catch((e: Error) => {
      throw new Error(`${e.message}\nalice:\n${screen('alice')}\nbob:\n${screen('bob')}`);
    });
    expect([paneExit('alice'), paneExit('bob')]).toEqual(['0', '0']);

    // Everything shown was stored, and read: nothing new in either inbox.
    expect((await alice.run(['inbox'])).out).toBe('No new messages.\n');
    expect((await bob.run(['inbox'])).out).toBe('No new messages.\n');
  }, 90_000);

  it('asks for the passphrase on a terminal without echoing it', async () => {
    startPane('prompt', ['whoami', '--dir', alice.dir], { TERM: 'xterm-256color', HOME: root, PATH: process.env.PATH });
    await until(() => screen('prompt').includes('Passphrase:'), 'the passphrase prompt');
    type('prompt', alice.env.SIGILO_PASSPHRASE!);
    press('prompt', 'Enter');
    await until(() => paneExit('prompt') !== undefined, 'whoami to finish');
    expect(paneExit('prompt')).toBe('0');
    const shown = screen('prompt');
    expect(shown).toContain(`Account: ${alice.accountId}`);
    expect(shown).not.toContain(alice.env.SIGILO_PASSPHRASE!);
  }, 30_000);
});

if (tmuxMissing && REQUIRE) {
  describe('sigilo chat in a terminal', () => {
    it('needs tmux (SIGILO_REQUIRE_SERVICES=1)', () => {
      throw new Error(tmuxMissing);
    });
  });
}
