/**
 * People and administration through the built `sigilo` binary against a real
 * server: one id format, labels, confirmation before destructive admin
 * commands, devices listed with their names and removed by their account,
 * the removed device told in words, and the audit's oldest-row age.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAccountIdText } from '@sigilo/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { assertBuilt, linkedDevice, registered, sigilo, type CliPerson } from './support/sigilo.js';

const ID = /^[a-z2-7]{26}$/;

describe('sigilo admin and sigilo devices', () => {
  let server: TestServer;
  let root: string;
  const admin = (args: string[], input?: string) => sigilo(['admin', ...args, '--data', server.dataDir], { input, timeoutMs: 60_000 });

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-admin-'));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('shows whom a removal acts on and refuses without a terminal or --yes, so the wrong account is not removed', async () => {
    const [ana, carol] = await Promise.all([registered(server, root, 'ana'), registered(server, root, 'carol')]);
    expect(ana.accountId).toMatch(ID);

    // The administrator labels Carol's account; admin accounts shows ids as people see them, and the labels.
    const label = await admin(['label', carol.accountId, 'Carol – logistics']);
    expect(label.code).toBe(0);
    expect(label.out).toContain('Carol – logistics');
    const accounts = await admin(['accounts']);
    expect(accounts.code).toBe(0);
    expect(accounts.out).toMatch(/^ACCOUNT +CREATED +USERNAME +LABEL$/m);
    expect(accounts.out).toMatch(new RegExp(`^${carol.accountId}  \\d{4}-\\d\\d-\\d\\d  -  +"Carol – logistics"$`, 'm'));
    expect(accounts.out).toMatch(new RegExp(`^${ana.accountId}  \\d{4}-\\d\\d-\\d\\d  -  +-$`, 'm'));
    const json = JSON.parse((await admin(['accounts', '--json'])).out) as { accountId: string; label: string | null; username: string | null }[];
    expect(json.find((a) => a.accountId === carol.accountId)).toMatchObject({ label: 'Carol – logistics', username: null });
    expect(json.find((a) => a.accountId === ana.accountId)).toMatchObject({ label: null });

    // Meaning to remove Carol, the administrator pastes Ana's id: the command shows Ana's account
    // (no label, her device, the day it was created) and, with no terminal to ask on, does nothing.
    const wrong = await admin(['remove-account', ana.accountId], 'y\n');
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toContain(`account  ${ana.accountId}`);
    expect(wrong.err).toMatch(/label +-\n/);
    expect(wrong.err).toMatch(/devices +1: device 1 \(last seen/);
    expect(wrong.err).toMatch(/created +\d{4}-\d\d-\d\d/);
    expect(wrong.err).toMatch(/--yes/);
    expect((await ana.run(['whoami'])).code).toBe(0);
    expect((await admin(['accounts'])).out).toContain(ana.accountId);
    const revokeWrong = await admin(['revoke-device', ana.accountId, '1']);
    expect(revokeWrong.code).not.toBe(0);
    expect(revokeWrong.err).toMatch(/--yes/);
    expect((await ana.run(['devices', '--json'])).code).toBe(0);

    // With --yes the intended account goes; its id (hex from older versions too) is then unknown.
    const right = await admin(['remove-account', carol.accountId, '--yes']);
    expect(right.code).toBe(0);
    expect(right.err).toMatch(/label +Carol – logistics/);
    expect(right.out).toMatch(/Account [a-z2-7]{26} \(Carol – logistics\) removed; 1 live connection\(s\) closed|removed; 0 live connection/);
    const again = await admin(['remove-account', carol.accountId, '--yes']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(new RegExp(`no account ${carol.accountId} on this server`));
    const bad = await admin(['label', 'not-an-id', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/is neither an account id \(26 characters.* nor a username/);
    const cleared = await admin(['label', ana.accountId, '--clear']);
    expect(cleared.code).toBe(0);
  }, 180_000);

  const link = (primary: CliPerson, name: string, deviceName: string) => linkedDevice(server, root, primary, name, deviceName);

  it('lists devices with their names, removes one from the primary, and the removed device is told in words', async () => {
    const dana = await registered(server, root, 'dana');
    expect((await dana.run(['devices', 'rename', 'Dana laptop'])).code).toBe(0);
    const phone = await link(dana, 'dana-phone', 'Dana phone');

    const listed = JSON.parse((await dana.run(['devices', '--json'])).out) as Record<string, unknown>[];
    expect(listed).toEqual([
      { deviceId: 1, name: 'Dana laptop', created: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), lastSeen: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), current: true, primary: true },
      { deviceId: 2, name: 'Dana phone', created: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), lastSeen: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), current: false, primary: false },
    ]);
    const text = (await phone.run(['devices'])).out;
    expect(text).toMatch(/^DEVICE +NAME +CREATED +LAST SEEN$/m);
    expect(text).toMatch(/^1 +Dana laptop +\d{4}-\d\d-\d\d +\d{4}-\d\d-\d\d +\(primary\)$/m);
    expect(text).toMatch(/^2 +Dana phone +.*\(this device\)$/m);
    // The server holds the names only encrypted.
    const stored = await server.server.storage.listDeviceNames(parseAccountIdText(dana.accountId)!);
    expect([...stored.values()].map((b) => Buffer.from(b).toString())).not.toContain('Dana laptop');
    expect(stored.size).toBe(2);

    // Only the primary removes devices; without a terminal it needs --yes.
    const notPrimary = await phone.run(['devices', 'remove', '1', '--yes']);
    expect(notPrimary.code).toBe(1);
    expect(notPrimary.err).toMatch(/only your primary device \(device 1\) can remove devices/);
    const unconfirmed = await dana.run(['devices', 'remove', '2']);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.err).toMatch(/this would remove device 2 \(Dana phone\), last seen .*pass --yes/);
    const removed = await dana.run(['devices', 'remove', '2', '--yes']);
    expect(removed.code).toBe(0);
    expect(removed.out).toMatch(/Removed device 2 \(Dana phone\)/);
    expect((JSON.parse((await dana.run(['devices', '--json'])).out) as unknown[]).length).toBe(1);

    // The removed device says what happened, in words, with its own exit code.
    const told = await phone.run(['inbox']);
    expect(told.code).toBe(4);
    expect(told.err).toMatch(/this device was removed from your account by device 1 of your account on \d{4}-\d\d-\d\d; link it again \(sigilo link\) or register/);
    expect(told.err).not.toMatch(/AUTH_FAILED|authentication/i);

    // The administrator's revocation is told the same way.
    const erin = await registered(server, root, 'erin');
    const revoke = await admin(['revoke-device', erin.accountId, '1', '--yes']);
    expect(revoke.code).toBe(0);
    expect(revoke.err).toContain(`account  ${erin.accountId}`);
    const erinTold = await erin.run(['devices']);
    expect(erinTold.code).toBe(4);
    expect(erinTold.err).toMatch(/removed from your account by the administrator on \d{4}-\d\d-\d\d/);
  }, 240_000);

  it('admin audit ages accounts and devices in whole days', async () => {
    await registered(server, root, 'frank');
    const audit = await admin(['audit']);
    expect(audit.code).toBe(0);
    // Accounts created minutes ago are "today" (or "1 day" if the test crossed midnight UTC), never hours counted from midnight.
    expect(audit.out).toMatch(/^accounts +\d+ +(today|1 day, since \d{4}-\d\d-\d\d)$/m);
    expect(audit.out).toMatch(/^devices +\d+ +(today|1 day, since \d{4}-\d\d-\d\d)$/m);
    expect(audit.out).toMatch(/^invites +\d+ +(-|\d+ s|\d+\.\d h)$/m);
    expect(audit.out).not.toMatch(/^accounts .* h$/m);
    const json = JSON.parse((await admin(['audit', '--json'])).out) as { tables: { table: string; oldestIsDay?: boolean }[] };
    expect(json.tables.find((t) => t.table === 'accounts')?.oldestIsDay).toBe(true);
  }, 120_000);
});
