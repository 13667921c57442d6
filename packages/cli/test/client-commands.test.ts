/**
 * The client side of the `sigilo` command end to end: the built binary in child
 * processes, a real server over TLS, people who init, register, exchange cards
 * and messages; exit codes and messages for every kind of mistake.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { startServer } from '../../server/src/server.js';
import { createLogger } from '../../server/src/logger.js';
import { SqlCipherStore, parseAccountId } from '../../client-node/src/index.js';
import { MAIN, assertBuilt, cliPerson, firstLine, introduce, registered, sigilo, type CliPerson } from './support/sigilo.js';

const CLIENT_COMMANDS = ['init', 'register', 'whoami', 'link', 'contacts', 'contacts add', 'send', 'inbox', 'chat', 'verify', 'devices', 'delete-history', 'mute',
  'profile', 'profile set', 'username', 'username set', 'username delete', 'directory', 'directory join', 'directory leave', 'receipts', 'export-receipts'];

// Each test runs the sigilo command several times in a row (a node process each, which opens an encrypted store): on a
// loaded machine that is well over vitest's default 30 s per test (at a load average of 17, one test timed out at 30 s;
// at 38, ten of twelve did). The commands keep their own timeouts (support/sigilo.ts). The same for the setup below.
describe('sigilo client commands', { timeout: 120_000 }, () => {
  let server: TestServer;
  let root: string;
  let alice: CliPerson;
  let bob: CliPerson;
  let httpsUrl: string;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-client-'));
    httpsUrl = server.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    [alice, bob] = await Promise.all([registered(server, root, 'alice'), registered(server, root, 'bob')]);
    await introduce(alice, bob);
  }, 120_000); // six sigilo commands (the 60 s default ran out at a load average of 26)

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('every client command has --help with its usage and the exit codes', async () => {
    const results = await Promise.all(CLIENT_COMMANDS.map((c) => sigilo([...c.split(' '), '--help'])));
    for (const [i, r] of results.entries()) {
      expect(r.code, CLIENT_COMMANDS[i]).toBe(0);
      expect(r.out).toContain(`Usage: sigilo ${CLIENT_COMMANDS[i]}`);
      expect(r.out).toContain('SIGILO_PASSPHRASE');
      expect(r.out).toMatch(/3 identity changed/);
    }
    const top = await sigilo(['help']);
    for (const c of CLIENT_COMMANDS) expect(top.out).toContain(`  ${c} `);
  });

  it('init pins the fingerprint: a wrong pin fails with a clear message, exit 1, and leaves no store', async () => {
    const p = cliPerson(root, 'mallory-target');
    const wrong = await p.run(['init', httpsUrl, '--fingerprint', 'AB'.repeat(32)]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/does not match the pinned fingerprint: this may be an impostor/);
    expect(wrong.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(p.dir)).toBe(false);

    const missing = await p.run(['init', httpsUrl]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/give --fingerprint FP .* or --ca-trusted/);
    const malformed = await p.run(['init', httpsUrl, '--fingerprint', 'abc']);
    expect(malformed.code).toBe(2);
    expect(malformed.err).toMatch(/64 hex digits/);
    const noUrl = await p.run(['init', '--fingerprint', server.server.tls.fingerprint]);
    expect(noUrl.code).toBe(2);

    // Colons are optional in the pin; --json tells scripts what was pinned.
    const ok = await p.run(['init', httpsUrl, '--fingerprint', server.server.tls.fingerprint.replace(/:/g, '').toLowerCase(), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ fingerprint: server.server.tls.fingerprint, registered: false });
    expect(ok.err).toMatch(/checking the certificate fingerprint/);
  });

  it('register shows progress, whoami prints the account, device and card', async () => {
    const p = cliPerson(root, 'carol');
    expect((await p.run(['init', httpsUrl, '--fingerprint', server.server.tls.fingerprint])).code).toBe(0);
    const notYet = await p.run(['whoami']);
    expect(notYet.code).toBe(1);
    expect(notYet.err).toMatch(/not registered yet: run `sigilo register --invite CODE`/);
    const bad = await p.run(['register', '--invite', 'not-a-real-invite']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^sigilo register: server: .+/m);
    const { code } = await server.server.admin.createInvite();
    const reg = await p.run(['register', '--invite', code]);
    expect(reg.code).toBe(0);
    expect(reg.err).toMatch(/Generating keys… uploading 100 prekeys/);
    expect(reg.out).toMatch(/^Registered\.\nAccount: [a-z2-7]{26}\nDevice: 1\n/);
    expect(reg.out).toMatch(/Next: sigilo profile set --name/);
    const who = await p.run(['whoami', '--json']);
    const info = JSON.parse(who.out) as Record<string, unknown>;
    expect(info).toMatchObject({ deviceId: 1, server: server.server.url, fingerprint: server.server.tls.fingerprint });
    expect(info.contactCard).toMatch(/^[a-z2-7]{110}$/);
    expect(reg.out).toContain(info.contactCard as string);
    const again = await p.run(['register', '--invite', code]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already registered/);
  });

  it('two people send each other messages; inbox prints them as text and JSON and marks them read', async () => {
    const sent = await alice.run(['send', 'bob', 'hello', 'bob,', 'over TLS']);
    expect(sent.code).toBe(0);
    expect(sent.out).toMatch(/Sent to bob ✓ sent/);
    const piped = await alice.run(['send', 'bob', '-', '--json'], { input: 'from stdin\nsecond line\n' });
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.out)).toMatchObject({ contact: 'bob', status: 'sent', to: bob.accountId });

    const peek = await bob.run(['inbox', '--no-read']);
    expect(peek.code).toBe(0);
    expect(peek.out).toMatch(/\d\d:\d\d alice: hello bob, over TLS\n/);
    expect(peek.out).toContain('alice: from stdin\nsecond line');
    expect(peek.err).toMatch(/Receiving…/);

    const json = await bob.run(['inbox', '--json']);
    expect(json.code).toBe(0);
    const messages = JSON.parse(json.out) as { contact: string; text: string; author: string; outgoing: boolean; status: string }[];
    expect(messages.map((m) => m.text)).toEqual(['hello bob, over TLS', 'from stdin\nsecond line']);
    expect(messages.every((m) => m.contact === 'alice' && m.author === alice.accountId && !m.outgoing && m.status === 'received')).toBe(true);

    // Marked read by the --json run: nothing new now.
    const empty = await bob.run(['inbox']);
    expect(empty.out).toBe('No new messages.\n');
    expect(JSON.parse((await bob.run(['inbox', '--json'])).out)).toEqual([]);

    // And back: a reply, filtered by contact.
    expect((await bob.run(['send', 'alice', 'got both'])).code).toBe(0);
    const reply = await alice.run(['inbox', 'bob', '--json']);
    expect((JSON.parse(reply.out) as { text: string }[]).map((m) => m.text)).toEqual(['got both']);
  });

  it('contacts lists names, account ids, identity state and mutes', async () => {
    const list = await alice.run(['contacts']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^NAME +PROFILE +ACCOUNT +IDENTITY +MUTED\n/);
    expect(list.out).toMatch(new RegExp(`bob +- +${bob.accountId} +unverified\\n`));
    const json = JSON.parse((await alice.run(['contacts', '--json'])).out) as unknown[];
    expect(json).toEqual([{ name: 'bob', profileName: null, accountId: bob.accountId, identity: 'unverified', verified: false, trustedBy: null, certificate: { state: 'no-ca' }, mutedUntil: null }]);

    const badCard = await alice.run(['contacts', 'add', 'eve', 'not-a-card']);
    expect(badCard.code).toBe(1);
    expect(badCard.err).toMatch(/not a base32 character|contact card is 110/);
    const badName = await alice.run(['contacts', 'add', 'bad name!', bob.card]);
    expect(badName.code).toBe(1);
    expect(badName.err).toMatch(/a contact name is/);
    const missing = await alice.run(['contacts', 'add', 'eve']);
    expect(missing.code).toBe(2);
  });

  it('usage mistakes exit 2, an unknown contact or a wrong passphrase exit 1, always without a stack trace', async () => {
    const cases: [string[], number, RegExp, NodeJS.ProcessEnv?][] = [
      [['send'], 2, /give the contact NAME/],
      [['send', 'bob'], 2, /give the TEXT/],
      [['send', 'bob', 'hi', '--bogus'], 2, /Unknown option '--bogus'/],
      [['mute', 'bob', '--for', 'soon'], 2, /--for takes a duration/],
      [['mute', 'bob', '--for', '1h', '--off'], 2, /either --for or --off/],
      [['verify', 'bob', '--accept', '--qr', 'ab'], 2, /only one of/],
      [['chat'], 2, /give the contact NAME/],
      [['send', 'carol', 'hi'], 1, /no contact or group is called "carol" .*`sigilo contacts add NAME @USERNAME` or `sigilo contacts add NAME CARD`/],
      [['send', '@carol', 'hi'], 1, /no contact is called "@carol": contacts go by the name you gave them .*`sigilo contacts add carol @carol`, then use carol/],
      [['inbox', 'carol'], 1, /no contact or group is called "carol"/],
      [['whoami'], 1, /wrong passphrase/, { SIGILO_PASSPHRASE: 'wrong horse' }],
      [['whoami'], 2, /no passphrase for the local store: set SIGILO_PASSPHRASE or give --passphrase-file/, { SIGILO_PASSPHRASE: '' }],
    ];
    const results = await Promise.all(cases.map(([args, , , env]) => alice.run(args, env ? { env } : {})));
    for (const [i, r] of results.entries()) {
      const [args, code, message] = cases[i]!;
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
      if (code === 2) expect(r.err).toMatch(/\nUsage: sigilo /);
    }
    const elsewhere = await sigilo(['whoami', '--dir', join(root, 'nobody')], { env: { SIGILO_PASSPHRASE: 'x' } });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.err).toMatch(/no Sigilo client in .*nobody: run `sigilo init URL --fingerprint FP` \(or `--ca-fingerprint FP`, as your administrator gave it\) first/);
    expect(existsSync(join(root, 'nobody'))).toBe(false);
  });

  it('the passphrase can come from a file (one trailing newline ignored) or SIGILO_HOME picks the directory', async () => {
    const file = join(root, 'alice.pass');
    writeFileSync(file, `${alice.env.SIGILO_PASSPHRASE}\n`, { mode: 0o600 });
    const r = await sigilo(['whoami', '--dir', alice.dir, '--passphrase-file', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).accountId).toBe(alice.accountId);
    const home = await sigilo(['whoami', '--json'], { env: { ...alice.env, SIGILO_HOME: alice.dir } });
    expect(JSON.parse(home.out).accountId).toBe(alice.accountId);
    const missing = await sigilo(['whoami', '--dir', alice.dir, '--passphrase-file', join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read --passphrase-file/);
  });

  it('verify: the same safety number on both sides; a scanned QR payload verifies, a wrong one exits 3', async () => {
    const a = JSON.parse((await alice.run(['verify', 'bob', '--json'])).out) as Record<string, string | boolean>;
    const b = JSON.parse((await bob.run(['verify', 'alice', '--json'])).out) as Record<string, string | boolean>;
    expect(a.safetyNumber).toMatch(/^\d{60}$/);
    expect(a.safetyNumber).toBe(b.safetyNumber);
    expect(a.formatted).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(a).toMatchObject({ verified: false, changed: false, outcome: 'shown' });
    const text = await alice.run(['verify', 'bob']);
    expect(text.code).toBe(0);
    expect(text.out).toContain(a.formatted as string);
    expect(text.out).toContain(`QR payload (base32): ${a.qrPayloadBase32 as string}`);

    // Alice scans bob's screen (hex here, base32 works too).
    const scanned = await alice.run(['verify', 'bob', '--qr', b.qrPayloadHex as string]);
    expect(scanned.code).toBe(0);
    expect(scanned.out).toMatch(/bob is now verified/);
    const viaBase32 = await bob.run(['verify', 'alice', '--qr', a.qrPayloadBase32 as string, '--json']);
    expect(JSON.parse(viaBase32.out)).toMatchObject({ outcome: 'verified', verified: true });
    expect(JSON.parse((await alice.run(['contacts', '--json'])).out)[0]).toMatchObject({ identity: 'verified', verified: true });

    // A payload from someone else (or altered) does not verify.
    const forged = (b.qrPayloadHex as string).slice(0, -2) + ((b.qrPayloadHex as string).endsWith('00') ? '01' : '00');
    const mismatch = await alice.run(['verify', 'bob', '--qr', forged]);
    expect(mismatch.code).toBe(3);
    expect(mismatch.out).toMatch(/does NOT match/);
  });

  it('a changed identity key blocks sending with exit 3 until it is accepted', async () => {
    // Simulate bob's key changing under alice: her stored key for bob is altered and her sessions dropped,
    // so the next send fetches bob's real bundle and sees a key different from the accepted one.
    const store = SqlCipherStore.open(alice.dir, alice.env.SIGILO_PASSPHRASE!);
    const bobId = parseAccountId(bob.accountId);
    const c = store.getContact(bobId)!;
    const altered = c.identityKey!.slice();
    altered[10]! ^= 0xff;
    store.putContact({ ...c, identityKey: altered, verified: true });
    for (const d of store.sessionDevices(bobId)) store.deleteSession(bobId, d);
    store.close();

    const blocked = await alice.run(['send', 'bob', 'held until accepted']);
    expect(blocked.code).toBe(3);
    expect(blocked.err).toMatch(/safety number changed: compare it \(`sigilo verify bob`\) and accept it with `sigilo verify bob --accept`/);
    const again = await alice.run(['send', 'bob', 'still blocked']);
    expect(again.code).toBe(3);
    expect(JSON.parse((await alice.run(['contacts', '--json'])).out)[0]).toMatchObject({ identity: 'changed', verified: false });
    const shown = await alice.run(['verify', 'bob']);
    expect(shown.code).toBe(3);
    expect(shown.out).toMatch(/bob's safety number CHANGED/);

    const accepted = await alice.run(['verify', 'bob', '--accept']);
    expect(accepted.code).toBe(0);
    expect(accepted.out).toMatch(/Accepted bob's new key \(not verified/);
    const after = await alice.run(['send', 'bob', 'accepted now']);
    expect(after.code).toBe(0);
    // The held message went out first (outbox order), then the new one.
    const got = JSON.parse((await bob.run(['inbox', '--json'])).out) as { text: string }[];
    expect(got.map((m) => m.text)).toEqual(['held until accepted', 'accepted now']);
  });

  it('mute, delete-history and devices', async () => {
    const muted = await alice.run(['mute', 'bob', '--for', '8h', '--json']);
    expect(muted.code).toBe(0);
    const until = JSON.parse(muted.out).mutedUntil as number;
    expect(until).toBeGreaterThan(Date.now() + 7 * 3_600_000);
    expect((await alice.run(['contacts'])).out).toMatch(/bob .* muted until \d{4}-\d\d-\d\d \d\d:\d\d\n/);
    expect((await alice.run(['mute', 'bob'])).out).toMatch(/bob is muted until you unmute \(sigilo mute bob --off\)/);
    expect(JSON.parse((await alice.run(['contacts', '--json'])).out)[0].mutedUntil).toBeGreaterThan(Date.now() + 365 * 86_400_000);
    const off = await alice.run(['mute', 'bob', '--off']);
    expect(off.out).toMatch(/bob is no longer muted/);
    expect(JSON.parse((await alice.run(['contacts', '--json'])).out)[0].mutedUntil).toBeNull();

    const del = await bob.run(['delete-history', 'alice', '--json', '--yes']);
    expect(del.code).toBe(0);
    expect(JSON.parse(del.out)).toMatchObject({ contact: 'alice' });
    expect(JSON.parse(del.out).deleted).toBeGreaterThanOrEqual(5);
    const store = SqlCipherStore.open(bob.dir, bob.env.SIGILO_PASSPHRASE!);
    expect(store.listMessages(parseAccountId(alice.accountId), 100)).toEqual([]);
    store.close();

    const devices = await alice.run(['devices', '--json']);
    expect(devices.code).toBe(0);
    // Registration named the device after the computer (encrypted; the server stores only bytes).
    expect(JSON.parse(devices.out)).toEqual([{ deviceId: 1, name: hostname().slice(0, 64), created: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), lastSeen: expect.any(String), current: true, primary: true }]);
    expect((await alice.run(['devices'])).out).toMatch(/^DEVICE +NAME +CREATED +LAST SEEN\n1 +\S.* +\d{4}-\d\d-\d\d .*\(primary, this device\)\n$/);
  });

  it('link: a new device shows a code, an existing one approves it, and the new one gets identity, contacts and history', async () => {
    expect((await alice.run(['send', 'bob', 'before the link'])).code).toBe(0);
    const phone = cliPerson(root, 'alice-phone');
    expect((await phone.run(['init', httpsUrl, '--fingerprint', server.server.tls.fingerprint])).code).toBe(0);

    const child = spawn(process.execPath, [MAIN, 'link', '--json', '--dir', phone.dir], { env: { PATH: process.env.PATH, ...phone.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', r));
    const shown = JSON.parse(await firstLine(() => ({ out, err }), 'sigilo link to print its code')) as { code: string; qrPayload: string };
    expect(shown.code).toMatch(/^([a-z2-7]{4}-){19}[a-z2-7]$/);
    expect(err).toMatch(/Waiting for the approval/);

    const approve = await alice.run(['link', '--approve', shown.code]);
    expect(approve.code).toBe(0);
    expect(approve.out).toMatch(/Approved\. The new device receives your identity, contacts and \d+ messages? of history/);
    expect(approve.err).toMatch(/Sending the history… 100%|Sent the identity and contacts/);
    expect(await exited).toBe(0);
    const linked = JSON.parse(out.split('\n')[1]!) as Record<string, unknown>;
    expect(linked).toMatchObject({ linked: true, accountId: alice.accountId, deviceId: 2 });
    expect(linked.historyMessages).toBeGreaterThanOrEqual(1);

    const who = JSON.parse((await phone.run(['whoami', '--json'])).out) as Record<string, unknown>;
    expect(who).toMatchObject({ accountId: alice.accountId, deviceId: 2, contactCard: alice.card });
    expect(JSON.parse((await phone.run(['contacts', '--json'])).out)[0]).toMatchObject({ name: 'bob', accountId: bob.accountId });
    const store = SqlCipherStore.open(phone.dir, phone.env.SIGILO_PASSPHRASE!);
    expect(store.listMessages(parseAccountId(bob.accountId), 100).map((m) => m.text)).toContain('before the link');
    store.close();
    expect(JSON.parse((await alice.run(['devices', '--json'])).out).map((d: { deviceId: number }) => d.deviceId)).toEqual([1, 2]);

    // Bob's next message reaches both of alice's devices.
    expect((await bob.run(['send', 'alice', 'to both devices'])).code).toBe(0);
    // --no-read: reading it on one device would tell the other (a read sync), and it would not be new there.
    const [onLaptop, onPhone] = await Promise.all([alice.run(['inbox', '--json', '--no-read']), phone.run(['inbox', '--json', '--no-read'])]);
    expect((JSON.parse(onLaptop.out) as { text: string }[]).map((m) => m.text)).toContain('to both devices');
    expect((JSON.parse(onPhone.out) as { text: string }[]).map((m) => m.text)).toContain('to both devices');

    const twice = await phone.run(['link']);
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/already registered/);
    const badCode = await alice.run(['link', '--approve', 'abcd-efgh']);
    expect(badCode.code).toBe(1);
    expect(badCode.err).toMatch(/link code/);
  });

  it('a message sent while the server is down stays in the outbox (exit 1) and goes out on the next connection', async () => {
    const other = await startTestServer();
    const port = Number(new URL(other.server.url).port);
    const dataDir = other.dataDir;
    const [dan, erin] = await Promise.all([registered(other, root, 'dan'), registered(other, root, 'erin')]);
    await introduce(dan, erin);
    expect((await dan.run(['send', 'erin', 'hello first'])).code).toBe(0); // sessions exist now
    await other.server.close();

    const offline = await dan.run(['send', 'erin', 'written offline']);
    expect(offline.code).toBe(1);
    expect(offline.out).toMatch(/Queued for erin/);
    expect(offline.err).toMatch(/not sent yet \(cannot reach the server.*the message stays in the outbox/);

    // Same data directory and port: the server comes back.
    const back = await startServer({ overrides: { host: '127.0.0.1', port, dataDir }, logger: createLogger('error', () => {}) });
    try {
      const inbox = await erin.run(['inbox', '--json']);
      expect((JSON.parse(inbox.out) as { text: string }[]).map((m) => m.text)).toEqual(['hello first']);
      expect((await dan.run(['inbox'])).code).toBe(0); // connecting flushes the outbox
      const later = await erin.run(['inbox', '--json']);
      expect((JSON.parse(later.out) as { text: string }[]).map((m) => m.text)).toEqual(['written offline']);
    } finally {
      await back.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
