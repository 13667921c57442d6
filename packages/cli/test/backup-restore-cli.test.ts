/**
 * `sigilo backup` and `sigilo restore` end to end (spec/backup.md): the built
 * binary in child processes, a real server over TLS. A backup restored in a
 * fresh directory brings back the history (and attachment files), the
 * contacts with their verification, and works as a new device of the same
 * account in both directions; a wrong recovery code, a tampered file and a
 * removed account are refused with their reasons and leave nothing behind.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { SqlCipherStore, parseAccountId } from '../../client-node/src/index.js';
import { assertBuilt, cliPerson, introduce, registered, sigilo, type CliPerson } from './support/sigilo.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sigilo backup and restore', () => {
  let server: TestServer;
  let root: string;
  let alice: CliPerson;
  let bob: CliPerson;
  let backupFile: string;
  let recoveryCode: string;
  let fileContent: Buffer;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-backup-'));
    [alice, bob] = await Promise.all([registered(server, root, 'alice'), registered(server, root, 'bob')]);
    await introduce(alice, bob);
    expect((await alice.run(['send', 'bob', 'hello before the backup'])).code).toBe(0);
    expect((await bob.run(['inbox'])).code).toBe(0);
    expect((await bob.run(['send', 'alice', 'read before the backup'])).code).toBe(0);
    expect((await alice.run(['inbox'])).code).toBe(0);
    for (const [p, other] of [[alice, 'bob'], [bob, 'alice']] as const) {
      const v = await p.run(['verify', other, '--verified']);
      expect(v.code, v.err).toBe(0);
    }
    fileContent = Buffer.from('minutes of the meeting\n'.repeat(4000));
    writeFileSync(join(root, 'minutes.txt'), fileContent);
    const sent = await bob.run(['send-file', 'alice', join(root, 'minutes.txt'), '--caption', 'the minutes']);
    expect(sent.code, sent.err).toBe(0);
    const group = await alice.run(['group', 'create', 'team', 'bob']);
    expect(group.code, group.err).toBe(0);
    expect((await bob.run(['inbox'])).code).toBe(0);
    expect((await bob.run(['send', 'team', 'group talk before the backup'])).code).toBe(0);
    expect((await alice.run(['inbox'])).code).toBe(0);
    // Received by alice's device but not read yet when the backup is made.
    expect((await bob.run(['send', 'alice', 'unread at backup time'])).code).toBe(0);
    expect((await alice.run(['inbox', '--no-read'])).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backup and restore have --help; backup refuses to overwrite and needs an account', async () => {
    for (const c of ['backup', 'restore']) {
      const r = await sigilo([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: sigilo ${c}`);
    }
    expect((await sigilo(['help'])).out).toMatch(/backup .*\n.*restore /);
    expect((await alice.run(['backup'])).code).toBe(2);
    const fresh = cliPerson(root, 'nobody');
    const init = await fresh.run(['init', server.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, ''), '--fingerprint', server.server.tls.fingerprint]);
    expect(init.code).toBe(0);
    const none = await fresh.run(['backup', join(root, 'nobody.backup')]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no account to back up/);
  });

  it('backup writes the file (0600) and shows the 30-digit recovery code once, in 6 groups of 5, with a warning', async () => {
    backupFile = join(root, 'alice.sigilo-backup');
    const human = await alice.run(['backup', join(root, 'human.sigilo-backup')], { timeoutMs: 60_000 });
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/Recovery code \(shown only now\):\n\n {4}\d{5}( \d{5}){5}\n/);
    expect(human.out).toMatch(/keep it apart from the backup file/);
    const again = await alice.run(['backup', join(root, 'human.sigilo-backup')]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists; give --force/);

    const r = await alice.run(['backup', backupFile, '--with-attachments', '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.err).toBe(0);
    const info = JSON.parse(r.out) as { recoveryCode: string; messages: number; attachments: number; skippedAttachments: number };
    expect(info.recoveryCode).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(info.messages).toBe(5);
    expect(info.attachments).toBe(1);
    expect(info.skippedAttachments).toBe(0);
    recoveryCode = info.recoveryCode;
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    // Nothing of the content in clear.
    expect(readFileSync(backupFile).includes(Buffer.from('hello before the backup'))).toBe(false);
    expect(readFileSync(backupFile).includes(Buffer.from('minutes of the meeting'))).toBe(false);
    expect(readdirSync(alice.dir)).not.toContain('backup-tmp');
  }, 90_000);

  it('a wrong recovery code is refused with a clear error, and the new directory is left empty', async () => {
    const p = cliPerson(root, 'alice-wrong');
    const digits = recoveryCode.replace(/ /g, '');
    const wrong = `${digits.slice(0, 10)}${(Number(digits[10]) + 1) % 10}${digits.slice(11)}`;
    const r = await p.run(['restore', backupFile], { env: { SIGILO_RECOVERY_CODE: wrong }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the recovery code does not open this backup: check the 30 digits/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(existsSync(join(p.dir, 'store.db'))).toBe(false);
    const short = await p.run(['restore', backupFile], { env: { SIGILO_RECOVERY_CODE: '12345 12345' } });
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/30 digits .*this one has 10/);
    const none = await p.run(['restore', backupFile]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no recovery code: give --recovery-code-file FILE or set SIGILO_RECOVERY_CODE/);
  }, 90_000);

  it('a tampered or truncated backup is refused, and nothing is restored', async () => {
    const bytes = readFileSync(backupFile);
    const tampered = Buffer.from(bytes);
    tampered[Math.floor(bytes.length / 2)]! ^= 0x20;
    writeFileSync(join(root, 'tampered.backup'), tampered);
    writeFileSync(join(root, 'cut.backup'), bytes.subarray(0, bytes.length - 100));
    for (const [name, pattern] of [['tampered.backup', /this backup is damaged/], ['cut.backup', /damaged or incomplete/]] as const) {
      const p = cliPerson(root, `alice-${name}`);
      const r = await p.run(['restore', join(root, name)], { env: { SIGILO_RECOVERY_CODE: recoveryCode }, timeoutMs: 60_000 });
      expect(r.code, name).toBe(1);
      expect(r.err, name).toMatch(pattern);
      expect(r.err).toMatch(/nothing was restored/);
      expect(existsSync(join(p.dir, 'store.db')), name).toBe(false);
    }
    const notBackup = await cliPerson(root, 'alice-text').run(['restore', join(root, 'minutes.txt')], { env: { SIGILO_RECOVERY_CODE: recoveryCode } });
    expect(notBackup.code).toBe(1);
    expect(notBackup.err).toMatch(/not a Sigilo backup/);
  }, 120_000);

  it('restored in a fresh directory: the old history, contacts still verified, attachment files, and a new device that talks both ways', async () => {
    const phone = cliPerson(root, 'alice-restored');
    writeFileSync(join(root, 'code.txt'), `${recoveryCode}\n`);
    const r = await phone.run(['restore', backupFile, '--recovery-code-file', join(root, 'code.txt'), '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.err).toBe(0);
    const info = JSON.parse(r.out) as Record<string, unknown>;
    expect(info).toMatchObject({ accountId: alice.accountId, deviceId: 2, contacts: 1, groups: 1, messages: 5, attachmentFiles: 1 });
    expect(readdirSync(phone.dir)).not.toContain('restore-tmp');
    const files = readdirSync(join(phone.dir, 'restored-files'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{8}-0-minutes\.txt$/);
    expect(sha(readFileSync(join(phone.dir, 'restored-files', files[0]!)))).toBe(sha(fileContent));

    const who = JSON.parse((await phone.run(['whoami', '--json'])).out) as { accountId: string; contactCard: string };
    expect(who.accountId).toBe(alice.accountId);
    expect(who.contactCard).toBe(alice.card);
    const contacts = JSON.parse((await phone.run(['contacts', '--json'])).out) as { name: string; verified: boolean }[];
    expect(contacts).toMatchObject([{ name: 'bob', verified: true }]);

    // What was unread at backup time shows in the inbox; the rest of the history is in the store.
    const inbox = await phone.run(['inbox']);
    expect(inbox.code, inbox.err).toBe(0);
    expect(inbox.out).toContain('bob: unread at backup time');
    const store = SqlCipherStore.open(phone.dir, phone.env.SIGILO_PASSPHRASE!);
    try {
      const texts = store.listMessages(parseAccountId(bob.accountId), 100).map((m) => m.text);
      expect(texts).toEqual(expect.arrayContaining(['hello before the backup', 'read before the backup', 'the minutes', 'unread at backup time']));
      expect(store.listGroups().map((g) => g.name)).toEqual(['team']);
      expect(store.listMessages(store.listGroups()[0]!.groupId, 100).map((m) => m.text)).toEqual(['group talk before the backup']);
    } finally {
      store.close();
    }
    // The attachment's pointer came back too: it downloads from the server as well.
    // (The restored file's name starts with the first 8 hex digits of its message id.)
    const dl = await phone.run(['download', files[0]!.slice(0, 8), '--out', join(root, 'minutes-again.txt')]);
    expect(dl.code, dl.err).toBe(0);
    expect(sha(readFileSync(join(root, 'minutes-again.txt')))).toBe(sha(fileContent));

    // The restored device sends and receives; bob sees the same identity (no change, still verified).
    const sent = await phone.run(['send', 'bob', 'from the restored device']);
    expect(sent.code, sent.err).toBe(0);
    const bobInbox = await bob.run(['inbox']);
    expect(bobInbox.code, bobInbox.err).toBe(0);
    expect(bobInbox.out).toContain('alice: from the restored device');
    expect(bobInbox.err).not.toMatch(/safety number/);
    const bobContacts = JSON.parse((await bob.run(['contacts', '--json'])).out) as { name: string; verified: boolean; identity: string }[];
    expect(bobContacts).toMatchObject([{ name: 'alice', verified: true }]);
    expect((await bob.run(['send', 'alice', 'to every device of alice'])).code).toBe(0);
    const phoneInbox = await phone.run(['inbox']);
    expect(phoneInbox.out).toContain('bob: to every device of alice');
    // Groups work on the restored device in both directions (it asks for sender keys and makes its own).
    // Its first group message from bob waits for bob's sender key: the device asks for it, bob's next command answers.
    expect((await bob.run(['send', 'team', 'group talk after the restore'])).code).toBe(0);
    let phoneGroup = await phone.run(['inbox', 'team']);
    if (!phoneGroup.out.includes('group talk after the restore')) {
      expect((await bob.run(['inbox'])).code).toBe(0);
      phoneGroup = await phone.run(['inbox', 'team']);
    }
    expect(phoneGroup.out).toContain('bob: group talk after the restore');
    expect((await phone.run(['send', 'team', 'the restored device in the group'])).code).toBe(0);
    expect((await bob.run(['inbox', 'team'])).out).toContain('alice: the restored device in the group');
    // The old device is still linked and gets it too (marked read: the restored device read it), and the restored
    // device's message as a sync copy.
    expect((await alice.run(['inbox'])).code).toBe(0);
    const old = SqlCipherStore.open(alice.dir, alice.env.SIGILO_PASSPHRASE!);
    try {
      const rows = old.listMessages(parseAccountId(bob.accountId), 100);
      expect(rows.find((m) => m.text === 'to every device of alice')?.status).toBe('read');
      expect(rows.find((m) => m.text === 'from the restored device')?.outgoing).toBe(true);
    } finally {
      old.close();
    }
  }, 120_000);

  it('restoring into a directory that already holds an account is refused and changes nothing there', async () => {
    const r = await bob.run(['restore', backupFile], { env: { SIGILO_RECOVERY_CODE: recoveryCode }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/already holds an account: restore into a new --dir \[ALREADY_REGISTERED\]/);
    const who = JSON.parse((await bob.run(['whoami', '--json'])).out) as { accountId: string };
    expect(who.accountId).toBe(bob.accountId);
  }, 90_000);

  it('a backup of an account the server removed says so, and leaves the directory empty', async () => {
    const carol = await registered(server, root, 'carol');
    const b = await carol.run(['backup', join(root, 'carol.backup'), '--json'], { timeoutMs: 60_000 });
    expect(b.code, b.err).toBe(0);
    const code = (JSON.parse(b.out) as { recoveryCode: string }).recoveryCode;
    await server.server.admin.removeAccount(Buffer.from(parseAccountId(carol.accountId)).toString('hex'));
    const p = cliPerson(root, 'carol-restored');
    const r = await p.run(['restore', join(root, 'carol.backup')], { env: { SIGILO_RECOVERY_CODE: code }, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the server does not have this account any more .* ask your administrator for an invite/);
    expect(r.err).toMatch(/\[ACCOUNT_GONE\]/);
    expect(existsSync(join(p.dir, 'store.db'))).toBe(false);
  }, 90_000);
});
