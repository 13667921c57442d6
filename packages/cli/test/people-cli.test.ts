/**
 * Names and the member directory through the built `sigilo` binary against the real
 * server (client.md §9, server.md §3.1): display names from encrypted profiles, a
 * username claimed and found by hash, the directory listed and searched, and contact
 * cards whose checksum catches typos.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { assertBuilt, linkedDevice, registered, type CliPerson } from './support/sigilo.js';

describe('sigilo profile, username, directory and contacts add @username', () => {
  let server: TestServer;
  let root: string;
  let ana: CliPerson;
  let bruno: CliPerson;

  beforeAll(async () => {
    assertBuilt();
    // Enough lookups for the whole story (the default burst is 10).
    server = await startTestServer({ 'directory.mode': 'members', 'directory.lookupsPerHour': 1000 });
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-people-'));
    [ana, bruno] = await Promise.all([registered(server, root, 'ana'), registered(server, root, 'bruno')]);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a member claims a username and joins the directory; another finds her by search and adds her by username', async () => {
    expect((await ana.run(['profile', 'set', '--name', 'Ana López'])).code).toBe(0);
    const claim = await ana.run(['username', 'set', 'Ana.Lopez']);
    expect(claim.code, claim.err).toBe(0);
    expect(claim.out).toContain('@ana.lopez');
    const join_ = await ana.run(['directory', 'join']);
    expect(join_.code, join_.err).toBe(0);
    expect(join_.out).toContain('Listed as @ana.lopez (Ana López)');
    expect((await ana.run(['username', '--json'])).out).toContain('"username":"ana.lopez","listed":true');

    // Someone else cannot take it.
    const taken = await bruno.run(['username', 'set', 'ana.lopez']);
    expect(taken.code).toBe(1);
    expect(taken.err).toMatch(/belongs to someone else; choose another/);
    expect((await bruno.run(['username', 'set', 'bruno_alves'])).code).toBe(0);

    // The directory: search by part of the name (not by the username), in text and JSON.
    const search = await bruno.run(['directory', 'lópez']);
    expect(search.code, search.err).toBe(0);
    expect(search.out).toMatch(/USERNAME\s+NAME\s+ONLINE/);
    expect(search.out).toMatch(/@ana\.lopez\s+Ana López\s+no/);
    const all = JSON.parse((await bruno.run(['directory', '--json'])).out) as { username: string; name: string; online: boolean; contact: string | null }[];
    expect(all).toEqual([expect.objectContaining({ username: 'ana.lopez', name: 'Ana López', online: false, contact: null })]);
    expect((await bruno.run(['directory', 'nobody-like-that'])).out).toContain('Nobody listed matches');

    // Add by username: no card exchanged.
    const add = await bruno.run(['contacts', 'add', '@ana.lopez']);
    expect(add.code, add.err).toBe(0);
    expect(add.out).toContain(`Added ana.lopez (@ana.lopez, ${ana.accountId})`);
    const unknown = await bruno.run(['contacts', 'add', '@no.such.person']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/nobody on this server has the username no\.such\.person/);
    const bad = await bruno.run(['contacts', 'add', '@x']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/a username is 3–32/);

    // Bruno writes; Ana, who has no contact for him, sees the name from his profile.
    expect((await bruno.run(['profile', 'set', '--name', 'Bruno Alves'])).code).toBe(0);
    const sent = await bruno.run(['send', 'ana.lopez', 'hola Ana']);
    expect(sent.code, sent.err).toBe(0);
    const inbox = await ana.run(['inbox']);
    expect(inbox.code, inbox.err).toBe(0);
    expect(inbox.out).toMatch(/~Bruno Alves: hola Ana/);
    expect(inbox.out).not.toMatch(new RegExp(`${bruno.accountId}: hola`));

    // Ana adds Bruno by his card (it carries his profile key): his name shows at once.
    const card = await ana.run(['contacts', 'add', 'bruno', bruno.card, '--json']);
    expect(card.code, card.err).toBe(0);
    expect(JSON.parse(card.out)).toMatchObject({ name: 'bruno', profileName: 'Bruno Alves' });
    expect((await ana.run(['send', 'bruno', 'hola Bruno'])).code).toBe(0);
    const reply = await bruno.run(['inbox']);
    expect(reply.out).toMatch(/ana\.lopez: hola Bruno/);
    const contacts = await bruno.run(['contacts']);
    expect(contacts.out).toMatch(/ana\.lopez\s+Ana López\s+/);

    // A new name is listed at once (the listing is renewed with the profile).
    expect((await ana.run(['profile', 'set', '--name', 'Ana López García'])).code).toBe(0);
    expect(JSON.parse((await bruno.run(['directory', 'garcía', '--json'])).out)).toEqual([expect.objectContaining({ username: 'ana.lopez', name: 'Ana López García' })]);

    // Leaving the directory: searches no longer show her; the username still finds her.
    expect((await ana.run(['directory', 'leave'])).code).toBe(0);
    expect(JSON.parse((await bruno.run(['directory', '--json'])).out)).toEqual([]);
    // She is already a contact: renaming her by username asks first (no terminal here: refused without --yes).
    const refused = await bruno.run(['contacts', 'add', 'ana2', '@ana.lopez', '--json']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/already your contact "ana.lopez".*--yes/);
    const again = await bruno.run(['contacts', 'add', 'ana2', '@ana.lopez', '--yes', '--json']);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ name: 'ana2', accountId: ana.accountId, username: 'ana.lopez' });
  }, 180_000);

  it('a device linked later shows its own name and the contacts\' names at once, before any message', async () => {
    const before = JSON.parse((await bruno.run(['contacts', '--json'])).out) as { name: string; profileName: string | null }[];
    expect(before).toEqual([expect.objectContaining({ name: 'ana2', profileName: expect.stringMatching(/^Ana López/) })]);
    const phone = await linkedDevice(server, root, bruno, 'bruno-phone');
    const whoami = await phone.run(['whoami']);
    expect(whoami.code, whoami.err).toBe(0);
    expect(whoami.out).toContain('Name: Bruno Alves\n');
    const listed = await phone.run(['contacts']);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toMatch(/ana2\s+Ana López/);
    expect(JSON.parse((await phone.run(['contacts', '--json'])).out)).toEqual([expect.objectContaining({ name: 'ana2', profileName: expect.stringMatching(/^Ana López/) })]);
  }, 120_000);

  it('a contact card with a typo anywhere is refused by its checksum', async () => {
    expect(ana.card).toHaveLength(110);
    const i = 57;
    const typo = ana.card.slice(0, i) + (ana.card[i] === 'a' ? 'b' : 'a') + ana.card.slice(i + 1);
    const r = await bruno.run(['contacts', 'add', 'someone', typo]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/this contact card has a typo/);
  }, 60_000);
});

describe('sigilo directory where the administrator keeps none (the default)', () => {
  let server: TestServer;
  let root: string;
  let eva: CliPerson;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-nodir-'));
    eva = await registered(server, root, 'eva');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('listing and joining are refused with what to do instead; usernames still work', async () => {
    const list = await eva.run(['directory']);
    expect(list.code).toBe(1);
    expect(list.err).toMatch(/keeps no member directory .*find people by their exact username instead/);
    expect(list.err).not.toMatch(/\n\s+at /);
    expect((await eva.run(['username', 'set', 'eva'])).code).toBe(0);
    const join_ = await eva.run(['directory', 'join']);
    expect(join_.code).toBe(1);
    expect(join_.err).toMatch(/keeps no member directory/);
    const show = await eva.run(['username']);
    expect(show.out).toContain('@eva\n');
  }, 60_000);
});
