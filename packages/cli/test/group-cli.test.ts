/**
 * `sigilo group …`, `sigilo send GROUP` and `sigilo chat GROUP` end to end: the
 * built binary in child processes, a real server over TLS, four people with
 * their own encrypted client directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { runCli } from '../src/run.js';
import { assertBuilt, introduce, registered, type CliPerson } from './support/sigilo.js';

/** Help and usage checks run in this process (the same dispatcher the binary runs): no process start per check. */
async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t), stopSignal: new Promise(() => {}), env: {}, cwd: process.cwd() });
  return { code, out, err };
}

const GROUP_COMMANDS = ['group create', 'group add', 'group remove', 'group promote', 'group rename', 'group leave', 'group list', 'group show'];

interface GroupJson {
  groupId: string;
  name: string;
  revision: number;
  status: string;
  myRole: string | null;
  members: { accountId: string; contact: string | null; role: string }[];
}

describe('sigilo group commands', () => {
  let server: TestServer;
  let root: string;
  let alice: CliPerson, bob: CliPerson, carol: CliPerson, dave: CliPerson;

  const show = async (p: CliPerson, group = 'team'): Promise<GroupJson> => {
    const r = await p.run(['group', 'show', group, '--json']);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out) as GroupJson;
  };

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-group-'));
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((n) => registered(server, root, n)));
    await Promise.all([introduce(alice, bob), introduce(alice, carol), introduce(alice, dave)]);
    await Promise.all([introduce(bob, carol), introduce(bob, dave)]);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('every group command has --help with its usage and the exit codes; `sigilo group` lists them', async () => {
    const results = await Promise.all(GROUP_COMMANDS.map((c) => inProcess([...c.split(' '), '--help'])));
    for (const [i, r] of results.entries()) {
      expect(r.code, GROUP_COMMANDS[i]).toBe(0);
      expect(r.out).toContain(`Usage: sigilo ${GROUP_COMMANDS[i]}`);
      expect(r.out).toMatch(/3 identity changed/);
    }
    const list = await inProcess(['group']);
    expect(list.code).toBe(2);
    for (const c of GROUP_COMMANDS) expect(list.err).toContain(`  ${c} `);
    const asked = await inProcess(['group', '--help']);
    expect(asked.code).toBe(0);
    for (const c of GROUP_COMMANDS) expect(asked.out).toContain(`  ${c} `);
    const top = await inProcess(['help']);
    expect(top.out).toContain('  group create ');
    expect((await inProcess(['send', '--help'])).out).toMatch(/sigilo send GROUP TEXT/);
    expect((await inProcess(['chat', '--help'])).out).toMatch(/\/private NAME TEXT/);
  });

  it('creates a group; the members see it with the same members, roles and revision', async () => {
    const created = await alice.run(['group', 'create', 'team', 'bob', 'carol']);
    expect(created.code, created.err).toBe(0);
    expect(created.out).toMatch(/^Created group team \(id [0-9a-f]{12}\): you \(admin\), bob, carol\.\n/);
    expect(created.out).toContain('sigilo send "team" TEXT');

    const listed = await bob.run(['group', 'list']);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toMatch(/^NAME\s+ID\s+MEMBERS\s+ROLE\n/);
    expect(listed.out).toMatch(/team\s+[0-9a-f]{12}\s+3\s+member\n/);
    const [a, b] = await Promise.all([show(alice), show(bob)]);
    expect(b).toEqual({ ...a, myRole: 'member', members: b.members });
    expect(a.revision).toBe(0);
    expect(a.members.map((m) => m.role)).toEqual(['admin', 'member', 'member']);
    expect(a.members.map((m) => m.accountId)).toEqual([alice.accountId, bob.accountId, carol.accountId]);
    expect(b.members.map((m) => m.accountId)).toEqual(a.members.map((m) => m.accountId));
    expect(b.members[0]!.contact).toBe('alice');

    const [text, atDave] = await Promise.all([carol.run(['group', 'show', a.groupId.slice(0, 10)]), dave.run(['group', 'list'])]);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/^Group team\nId: [0-9a-f]{64}\nRevision: 0\nMembers \(3\):\n/);
    expect(text.out).toMatch(/alice\s+[a-z2-7]{26}\s+admin\n/);
    expect(text.out).toMatch(/you\s+[a-z2-7]{26}\s+member\n/);
    // Dave is not in it.
    expect(atDave.out).toMatch(/No groups yet/);
  }, 90_000);

  it('send GROUP writes to every member; chat GROUP shows authors and sends private replies marked as such', async () => {
    const sent = await alice.run(['send', 'team', 'hello', 'team']);
    expect(sent.code, sent.err).toBe(0);
    expect(sent.out).toBe('Sent to group team ✓ sent\n');
    // The inbox names the group and the author (not "not in your contacts").
    const inbox = await carol.run(['inbox', 'team', '--no-read']);
    expect(inbox.code, inbox.err).toBe(0);
    expect(inbox.out).toMatch(/\[team\] \d\d:\d\d alice: hello team\n/);
    expect(inbox.out).not.toMatch(/not in your contacts/);
    const inboxJson = JSON.parse((await carol.run(['inbox', 'team', '--no-read', '--offline', '--json'])).out) as { group: string; contact: string; private: boolean }[];
    // The group's creation shows where it happened (client.md §9), then the message.
    expect(inboxJson).toEqual([
      expect.objectContaining({ group: 'team', groupChange: expect.objectContaining({ kind: 'created', text: 'alice created the group "team" with bob and you' }) }),
      expect.objectContaining({ group: 'team', contact: 'alice', private: false }),
    ]);

    // Bob reads the group and answers Alice privately from the chat.
    expect((await bob.run(['group', 'list'])).code).toBe(0);
    const chat = await bob.run(['chat', 'team', '--lines'], { input: '/private alice just for you\nfor everyone\n' });
    expect(chat.code, chat.err).toBe(0);
    expect(chat.out).toMatch(/^Group team\. /);
    expect(chat.out).toMatch(/\d\d:\d\d alice: hello team\n/);
    expect(chat.out).toMatch(/\d\d:\d\d \[private to alice\] me: just for you/);
    expect(chat.out).toMatch(/\d\d:\d\d me: for everyone/);

    await Promise.all([alice.run(['group', 'list']), carol.run(['group', 'list'])]);
    const [atAlice, atCarol, oneToOne] = await Promise.all([
      alice.run(['chat', 'team', '--lines']), carol.run(['chat', 'team', '--lines']), carol.run(['chat', 'alice', '--lines'], { input: '/private bob x\n' }),
    ]);
    expect(atAlice.out).toMatch(/\d\d:\d\d \[private\] bob: just for you/);
    expect(atAlice.out).toMatch(/\d\d:\d\d bob: for everyone/);
    // Carol gets the group messages, not the private one.
    expect(atCarol.out).toMatch(/alice: hello team/);
    expect(atCarol.out).toMatch(/bob: for everyone/);
    expect(atCarol.out).not.toMatch(/just for you/);
    // In a 1:1 chat /private means nothing.
    expect(oneToOne.out).toMatch(/\/private is for group chats/);
  }, 120_000);

  it('admins add, promote and remove; a removed member keeps the history but cannot send; a member leaves', async () => {
    const added = await alice.run(['group', 'add', 'team', 'dave']);
    expect(added.code, added.err).toBe(0);
    expect(added.out).toMatch(/Added dave to team\. Members: you \(admin\), bob, carol, dave\./);
    const promoted = await alice.run(['group', 'promote', 'team', 'bob', '--json']);
    expect(promoted.code, promoted.err).toBe(0);
    expect((JSON.parse(promoted.out) as GroupJson).members.find((m) => m.contact === 'bob')!.role).toBe('admin');

    // Not an admin: refused, with who to ask. Bob, now an admin, removes Carol.
    const notAdmin = await carol.run(['group', 'add', 'team', 'alice']);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.err).toMatch(/only an admin of the group can change it/);
    await bob.run(['group', 'list']);
    const removed = await bob.run(['group', 'remove', 'team', 'carol']);
    expect(removed.code, removed.err).toBe(0);
    expect(removed.out).toMatch(/Removed carol from team\. Members: alice \(admin\), you \(admin\), dave\./);

    const [atCarol] = await Promise.all([carol.run(['group', 'list']), dave.run(['group', 'list'])]);
    expect(atCarol.out).toMatch(/team\s+[0-9a-f]{12}\s+3\s+removed\n/);
    const [shown, cannot, history, d, a] = await Promise.all([
      carol.run(['group', 'show', 'team', '--offline']), carol.run(['send', 'team', 'am I still here?']), carol.run(['chat', 'team', '--lines']),
      show(dave), show(alice),
    ]);
    expect(shown.out).toMatch(/You were removed from this group\./);
    expect(cannot.code).toBe(1);
    expect(cannot.err).toMatch(/you were removed from this group/);
    // The history stays.
    expect(history.out).toMatch(/alice: hello team/);
    expect(d.revision).toBe(a.revision);
    expect(d.members.map((m) => `${m.accountId}:${m.role}`)).toEqual(a.members.map((m) => `${m.accountId}:${m.role}`));
    const left = await dave.run(['group', 'leave', 'team']);
    expect(left.code, left.err).toBe(0);
    expect(left.out).toMatch(/You left team\. Its history stays here\./);
    expect((await dave.run(['group', 'list', '--offline'])).out).toMatch(/team\s+[0-9a-f]{12}\s+\d+\s+left\n/);
    await alice.run(['group', 'list']);
    expect((await show(alice)).members.map((m) => m.contact ?? 'me')).toEqual(['me', 'bob']);
  }, 120_000);

  it('mistakes: usage errors exit 2, unknown groups and contacts exit 1 with what to do', async () => {
    const cases: [string[], number, RegExp][] = [
      [['group', 'create'], 2, /give the group NAME/],
      [['group', 'add', 'team'], 2, /give the GROUP and the CONTACTs/],
      [['group', 'promote', 'team', 'bob', 'carol'], 2, /one member at a time/],
      [['group', 'show', 'no-such-group'], 1, /no group "no-such-group": see `sigilo group list`/],
      [['group', 'add', 'team', 'nobody'], 1, /no contact "nobody"/],
      [['group', 'promote', 'team', 'bob'], 1, /that member is an admin already/],
      [['send', 'no-such', 'x'], 1, /no contact or group is called "no-such" \(`sigilo contacts` and `sigilo group list` list them\)/],
    ];
    const results = await Promise.all(cases.map(([args]) => alice.run([...args, ...(args[1] === 'show' ? ['--offline'] : [])])));
    for (const [i, [args, code, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
