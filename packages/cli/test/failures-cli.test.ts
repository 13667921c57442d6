/**
 * Failures are never silent (the built `sigilo` binary against a real server): a message that
 * cannot be sent says why and exits non-zero, in text and in --json; a queued message says
 * when it will be retried; contacts are not renamed or replaced without asking; deleting a
 * history needs --yes without a terminal; an expired invite says "expired". Also: group
 * changes show in `inbox` with the names this person gave.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { startServer } from '../../server/src/server.js';
import { createLogger } from '../../server/src/logger.js';
import { inviteCodeHash } from '../../server/src/services/invites.js';
import { SqlCipherStore, formatAccountId, parseAccountId } from '../../client-node/src/index.js';
import { assertBuilt, cliPerson, introduce, registered, until, type CliPerson } from './support/sigilo.js';

interface SendJson { status: string; error?: { code: string; message: string }; retry?: string }

describe('sigilo: failures say why', () => {
  let server: TestServer;
  let root: string;
  let alice: CliPerson;
  let bob: CliPerson;
  let carol: CliPerson;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-failures-'));
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => registered(server, root, n)));
    await Promise.all([introduce(alice, bob), introduce(alice, carol), introduce(bob, carol)]);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a send to an account that does not exist exits 1 with the reason, in text and in --json', async () => {
    const ghost = formatAccountId(new Uint8Array(randomBytes(16)));
    expect((await alice.run(['contacts', 'add', 'ghost', ghost])).code).toBe(0);
    const text = await alice.run(['send', 'ghost', 'anyone there?']);
    expect(text.code).toBe(1);
    expect(text.err).toMatch(/not sent to ghost: .*no such account.*\[NOT_FOUND\]/);
    expect(text.out).not.toMatch(/Sent/);
    const json = await alice.run(['send', 'ghost', 'anyone there?', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ status: 'failed', error: { code: 'NOT_FOUND', message: expect.stringMatching(/no such account/) } });
  }, 90_000);

  it('a message too large for the server exits 1 with the reason, in text and in --json', async () => {
    const big = 'x'.repeat(300_000); // above the default limit of 256 KiB per device
    const text = await alice.run(['send', 'bob', '-'], { input: big });
    expect(text.code).toBe(1);
    expect(text.err).toMatch(/not sent to bob: .*limit.*\[MESSAGE_TOO_LARGE\]; send long text as a file/);
    const json = await alice.run(['send', 'bob', '-', '--json'], { input: big });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ status: 'failed', error: { code: 'MESSAGE_TOO_LARGE' } });
    // Nothing is left to be sent again later.
    const store = SqlCipherStore.open(alice.dir, alice.env.SIGILO_PASSPHRASE!);
    expect(store.listOutbox()).toEqual([]);
    store.close();
  }, 90_000);

  it('a send blocked by a changed safety number exits 3 with the reason, in text and in --json', async () => {
    const store = SqlCipherStore.open(carol.dir, carol.env.SIGILO_PASSPHRASE!);
    const bobId = parseAccountId(bob.accountId);
    const c = store.getContact(bobId)!;
    const altered = new Uint8Array(32).fill(7);
    store.putContact({ ...c, identityKey: altered, verified: true });
    for (const d of store.sessionDevices(bobId)) store.deleteSession(bobId, d);
    store.close();
    const first = await carol.run(['send', 'bob', 'held', '--json']);
    expect(first.code).toBe(3);
    expect(JSON.parse(first.out)).toMatchObject({ status: 'pending', error: { code: 'IDENTITY_CHANGED', message: expect.stringMatching(/bob's safety number changed/) } });
    expect(first.err).toMatch(/held in the outbox until then \[IDENTITY_CHANGED\]/);
    const second = await carol.run(['send', 'bob', 'refused']);
    expect(second.code).toBe(3);
    expect(second.err).toMatch(/bob's safety number changed: compare it \(`sigilo verify bob`\).*nothing was queued/);
    const secondJson = await carol.run(['send', 'bob', 'refused', '--json']);
    expect(JSON.parse(secondJson.out)).toMatchObject({ status: 'not-queued', error: { code: 'IDENTITY_CHANGED' } });
  }, 90_000);

  it('contacts add does not rename or replace a contact without --yes (no terminal: refused, nothing changed)', async () => {
    const before = (await alice.run(['contacts', '--json'])).out;
    // bob is already a contact: adding him under another name would rename him.
    const rename = await alice.run(['contacts', 'add', 'robert', bob.card]);
    expect(rename.code).toBe(1);
    expect(rename.err).toMatch(/already your contact "bob"; it would be renamed to "robert".*add --yes/);
    // "bob" is taken: giving it to carol's account would take it from bob.
    const replace = await alice.run(['contacts', 'add', 'bob', carol.card, '--json']);
    expect(replace.code).toBe(1);
    expect(replace.err).toMatch(/"bob" is already another contact .*it would lose that name/);
    expect(JSON.parse(replace.out)).toMatchObject({ error: { code: 'CONTACT_EXISTS' } });
    expect((await alice.run(['contacts', '--json'])).out).toBe(before);
    // The same name for the same account is no change at all.
    expect((await alice.run(['contacts', 'add', 'bob', bob.card])).code).toBe(0);

    const renamed = await alice.run(['contacts', 'add', 'robert', bob.card, '--yes', '--json']);
    expect(renamed.code).toBe(0);
    expect(JSON.parse(renamed.out)).toMatchObject({ name: 'robert', accountId: bob.accountId });
    const names = (JSON.parse((await alice.run(['contacts', '--json'])).out) as { name: string | null; accountId: string }[]);
    expect(names.find((c) => c.accountId === bob.accountId)?.name).toBe('robert');
    expect((await alice.run(['contacts', 'add', 'bob', bob.card, '--yes'])).code).toBe(0);
  }, 90_000);

  it('delete-history without a terminal refuses without --yes and deletes nothing', async () => {
    expect((await bob.run(['send', 'alice', 'keep me'])).code).toBe(0);
    expect((await alice.run(['inbox', '--no-read'])).code).toBe(0);
    const count = () => {
      const store = SqlCipherStore.open(alice.dir, alice.env.SIGILO_PASSPHRASE!);
      try { return store.listMessages(parseAccountId(bob.accountId), 1000).length; } finally { store.close(); }
    };
    const had = count();
    expect(had).toBeGreaterThan(0);
    const refused = await alice.run(['delete-history', 'bob']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/cannot be undone: add --yes.*Nothing deleted/);
    const refusedJson = await alice.run(['delete-history', 'bob', '--json']);
    expect(refusedJson.code).toBe(1);
    expect(JSON.parse(refusedJson.out)).toMatchObject({ deleted: 0, error: { code: 'CONFIRMATION_NEEDED' } });
    expect(count()).toBe(had);
    const done = await alice.run(['delete-history', 'bob', '--yes']);
    expect(done.code).toBe(0);
    expect(count()).toBe(0);
  }, 90_000);

  it('registering with an invite that expired says so, also after the server swept expired data', async () => {
    const code = 'expired-invite-for-the-test';
    await server.server.storage.createInvite({ codeHash: inviteCodeHash(code), createdAt: Date.now() - 7_200_000, expiresAt: Date.now() - 3_600_000 });
    await server.server.sweep();
    const late = cliPerson(root, 'late');
    const httpsUrl = server.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    expect((await late.run(['init', httpsUrl, '--fingerprint', server.server.tls.fingerprint])).code).toBe(0);
    const r = await late.run(['register', '--invite', code]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/invite code has expired; ask your administrator for a new one/);
  }, 90_000);

  it('group changes show in inbox with the names this person gave (text and --json)', async () => {
    expect((await alice.run(['group', 'create', 'Trip', 'bob'])).code).toBe(0);
    expect((await alice.run(['group', 'add', 'Trip', 'carol'])).code).toBe(0);
    expect((await alice.run(['group', 'rename', 'Trip', 'Trip 2027'])).code).toBe(0);
    // Bob calls carol "cc": that is the name he sees.
    expect((await bob.run(['contacts', 'add', 'cc', carol.card, '--yes'])).code).toBe(0);
    const seen = await bob.run(['inbox']);
    expect(seen.code, seen.err).toBe(0);
    expect(seen.out).toMatch(/\[Trip 2027\] \d\d:\d\d -- alice created the group "Trip" with you\n/);
    expect(seen.out).toMatch(/\[Trip 2027\] \d\d:\d\d -- alice added cc\n/);
    expect(seen.out).toMatch(/\[Trip 2027\] \d\d:\d\d -- alice renamed the group to "Trip 2027"\n/);
    // Shown once, like a message.
    expect((await bob.run(['inbox'])).out).toBe('No new messages.\n');

    const carolSees = JSON.parse((await carol.run(['inbox', '--json'])).out) as { groupChange?: { kind: string; text: string } }[];
    expect(carolSees.flatMap((m) => (m.groupChange ? [m.groupChange.text] : []))).toEqual(expect.arrayContaining(['alice added you', 'alice renamed the group to "Trip 2027"']));

    expect((await bob.run(['group', 'leave', 'Trip 2027'])).code).toBe(0);
    // The admin reads until bob's leave is there.
    const changes: { kind: string; text: string }[] = [];
    await until(async () => {
      const json = await alice.run(['inbox', '--json']);
      for (const m of JSON.parse(json.out) as { groupChange?: { kind: string; text: string } }[]) if (m.groupChange) changes.push(m.groupChange);
      return changes.some((c) => c.text === 'bob left');
    }, "bob's leave in alice's inbox", 60_000);
    expect(changes.find((c) => c.text === 'bob left')).toMatchObject({ kind: 'left' });
    // Her own changes were seen as she made them: not new to her.
    expect(changes.map((c) => c.text)).not.toContain('You added carol');
  }, 120_000);
});

describe('sigilo: a queued message says when it will be retried', () => {
  it('send while the server is down: exit 1, reason and "the next command" (JSON: retry)', async () => {
    assertBuilt();
    const server = await startTestServer();
    const root = mkdtempSync(join(tmpdir(), 'sigilo-cli-queued-'));
    const port = Number(new URL(server.server.url).port);
    const dataDir = server.dataDir;
    const [dan, erin] = await Promise.all([registered(server, root, 'dan'), registered(server, root, 'erin')]);
    await introduce(dan, erin);
    await server.server.close();
    let back: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      const queued = await dan.run(['send', 'erin', 'written offline']);
      expect(queued.code).toBe(1);
      expect(queued.err).toMatch(/not sent yet \(cannot reach the server.*goes out with the next `sigilo send`, `inbox` or `chat` \(a running `sigilo chat` retries in the background\)/);
      const json = await dan.run(['send', 'erin', 'also offline', '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.out) as SendJson).toMatchObject({ status: 'pending', retry: 'next-command', error: { code: 'CONNECTION_FAILED' } });
      back = await startServer({ overrides: { host: '127.0.0.1', port, dataDir }, logger: createLogger('error', () => {}) });
      expect((await dan.run(['inbox'])).code).toBe(0);
      const got = JSON.parse((await erin.run(['inbox', '--json'])).out) as { text: string }[];
      expect(got.map((m) => m.text)).toEqual(['written offline', 'also offline']);
    } finally {
      await back?.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  }, 90_000);
});
