/**
 * The deep audit and the account export (spec/server.md §9.2, §9.3) after a
 * scripted day of traffic between real clients over the real server: sealed
 * and identified 1:1 messages, a group, attachments, a device name, a label,
 * a push subscription. The audit must pass; then data a broken server could
 * leave behind is planted in the live database — a plaintext, a sealed
 * message with its sender, a sender→recipient pair — and in the logs, and the
 * audit must fail on each. The export of one account must hold every row of
 * every table that has an account column naming it, enumerated independently
 * from the database file.
 */
import Database from 'better-sqlite3';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeepAuditReport } from '@sigilo/server';
import type { SigiloClient } from '../src/index.js';
import { World, introduce } from './support.js';

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hasText = (c: SigiloClient, conversation: Uint8Array, text: string) => c.store.listMessages(conversation, 50).some((m) => m.text === text);

describe('deep audit and account export after a day of traffic', () => {
  let world: World;
  let ana: SigiloClient, bruno: SigiloClient, carla: SigiloClient, dora: SigiloClient;
  let dir: string;
  let logFile: string;
  const db = () => join(world.server.dataDir, 'sigilo.db');
  const audit = async (logs = [logFile]): Promise<DeepAuditReport> => {
    writeFileSync(logFile, `${world.server.logs.join('\n')}\n`);
    return world.server.server.admin.deepAudit(logs);
  };

  beforeAll(async () => {
    world = await World.start({ 'push.allowedHosts': 'push.invalid' });
    dir = mkdtempSync(join(tmpdir(), 'sigilo-audit-'));
    logFile = join(dir, 'server.log');
    ana = await world.person('ana');
    bruno = await world.person('bruno');
    carla = await world.person('carla');
    dora = await world.person('dora');
    introduce(ana, 'ana', bruno, 'bruno');
    introduce(ana, 'ana', carla, 'carla');
    introduce(bruno, 'bruno', carla, 'carla');

    // Morning: sealed 1:1 messages both ways.
    await ana.sendText(bruno.accountId!, 'good morning bruno, the meeting is at ten');
    await bruno.sendText(ana.accountId!, 'morning ana, see you there');
    await carla.sendText(ana.accountId!, 'running late today');
    // Identified: Dora is nobody's contact, so neither side has an access key.
    await ana.sendText(dora.accountId!, 'hello dora, welcome to the team');
    await waitFor('the morning messages', () => hasText(bruno, ana.accountId!, 'good morning bruno, the meeting is at ten')
      && hasText(ana, bruno.accountId!, 'morning ana, see you there') && hasText(ana, carla.accountId!, 'running late today')
      && hasText(dora, ana.accountId!, 'hello dora, welcome to the team'));
    await dora.sendText(ana.accountId!, 'thanks ana, glad to be here');
    // Midday: a group, and messages in it.
    const g = await ana.createGroup('logistics crew', [bruno.accountId!, carla.accountId!]);
    await ana.sendGroupText(g.groupId, 'the trucks leave at noon from the north depot');
    await bruno.sendGroupText(g.groupId, 'copy that, north depot at noon');
    await waitFor('the group messages', () => hasText(carla, g.groupId, 'the trucks leave at noon from the north depot') && hasText(carla, g.groupId, 'copy that, north depot at noon'));
    // Afternoon: attachments, 1:1 and in the group.
    const file = join(dir, 'minutes.txt');
    writeFileSync(file, 'Minutes of the logistics meeting. Present: everyone. Decisions: none of your business.\n'.repeat(200));
    await ana.sendFile(bruno.accountId!, file, { caption: 'the minutes' });
    await ana.sendFile(g.groupId, file, { caption: 'minutes for the crew' });
    await waitFor('the attachments', () => hasText(bruno, ana.accountId!, 'the minutes') && hasText(carla, g.groupId, 'minutes for the crew'));
    // Evening: a device name, the administrator's label, a push subscription.
    await ana.setDeviceName('ana laptop in the office');
    await world.server.server.admin.setLabel(Buffer.from(ana.accountId!).toString('hex'), 'Ana – logistics lead');
    await ana.setPushSubscription({ endpoint: `https://push.invalid/wake/${randomBytes(16).toString('base64url')}`, p256dh: validP256(), auth: new Uint8Array(randomBytes(16)) });
    await waitFor('every queue to drain', async () => (await world.server.server.storage.queueDepth()) === 0);
  }, 180_000);

  afterAll(async () => {
    await world?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes, and lists every kind of data with its count and age', async () => {
    const r = await audit();
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    const count = (where: string) => r.kinds.filter((k) => k.where === where).reduce((n, k) => Math.max(n, k.count), 0);
    expect(count('accounts')).toBe(4);
    expect(count('devices')).toBe(4);
    expect(count('one_time_prekeys')).toBeGreaterThan(0);
    expect(count('attachments')).toBeGreaterThanOrEqual(2);
    expect(count('attachments/')).toBeGreaterThanOrEqual(2);
    expect(count('account_labels')).toBe(1);
    expect(count('device_names')).toBe(1);
    expect(r.scanned.databaseFiles.map((f) => f.name)).toContain('sigilo.db');
    expect(r.scanned.logLines).toBeGreaterThan(0);
    expect(r.kinds.find((k) => k.where === 'accounts')?.oldest).toBeDefined();
  });

  it('fails on a plaintext planted in a queued message', async () => {
    const d = new Database(db());
    try {
      d.prepare('INSERT INTO messages (account_id, device_id, message_id, sealed, created_at, expires_at, content) VALUES (?, 1, ?, 1, ?, ?, ?)')
        .run(Buffer.from(bruno.accountId!), randomBytes(16), Date.now(), Date.now() + 86_400_000, Buffer.concat([randomBytes(40), Buffer.from('meet me at the station at ten, bring the papers'), randomBytes(40)]));
    } finally { d.close(); }
    const r = await audit();
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => `${f.kind} ${f.where}`)).toContain('plaintext messages.content');
    // Deleted without secure_delete (as a tool other than the server might): the bytes stay in the file, and the audit says so.
    cleanup({ secureDelete: false }, 'DELETE FROM messages WHERE sealed = 1 AND account_id = ?', Buffer.from(bruno.accountId!));
    const residue = await audit();
    expect(residue.findings.map((f) => `${f.kind} ${f.where}`)).toEqual(['plaintext sigilo.db']);
    cleanup({}, 'VACUUM');
    expect((await audit()).findings).toEqual([]);
  });

  it('fails on a sealed message that keeps its sender, or carries a sender\'s identity in the clear', async () => {
    const d = new Database(db());
    try {
      const anaIdentity = d.prepare('SELECT identity_key FROM accounts WHERE account_id = ?').pluck().get(Buffer.from(ana.accountId!)) as Buffer;
      d.prepare('INSERT INTO messages (account_id, device_id, message_id, sealed, sender_account_id, sender_device_id, created_at, expires_at, content) VALUES (?, 1, ?, 1, ?, 1, ?, ?, ?)')
        .run(Buffer.from(bruno.accountId!), randomBytes(16), Buffer.from(ana.accountId!), Date.now(), Date.now() + 86_400_000, randomBytes(200));
      d.prepare('INSERT INTO messages (account_id, device_id, message_id, sealed, created_at, expires_at, content) VALUES (?, 1, ?, 1, ?, ?, ?)')
        .run(Buffer.from(carla.accountId!), randomBytes(16), Date.now(), Date.now() + 86_400_000, Buffer.concat([randomBytes(30), anaIdentity.subarray(0, 32), randomBytes(30)]));
    } finally { d.close(); }
    const r = await audit();
    expect(r.ok).toBe(false);
    const kinds = r.findings.map((f) => `${f.kind} ${f.where}`);
    expect(kinds).toContain('sealed-sender-identity messages.sender_account_id');
    expect(kinds).toContain('sealed-sender-identity messages.content');
    cleanup({}, 'DELETE FROM messages WHERE sealed = 1 AND account_id IN (?, ?)', Buffer.from(bruno.accountId!), Buffer.from(carla.accountId!));
    expect((await audit()).findings).toEqual([]);
  });

  it('fails on anything that pairs a sender with a recipient', async () => {
    const d = new Database(db());
    try {
      // A table a careless change might add: who wrote to whom.
      d.exec('CREATE TABLE contact_log (account_id BLOB, peer_account_id BLOB, at INTEGER)');
      d.prepare('INSERT INTO contact_log VALUES (?, ?, ?)').run(Buffer.from(ana.accountId!), Buffer.from(bruno.accountId!), Date.now());
      // And another account's id hidden in a row of Ana's.
      d.prepare('UPDATE device_names SET encrypted_name = ? WHERE account_id = ?').run(Buffer.concat([randomBytes(20), Buffer.from(carla.accountId!), randomBytes(20)]), Buffer.from(ana.accountId!));
    } finally { d.close(); }
    const r = await audit();
    expect(r.ok).toBe(false);
    const kinds = r.findings.map((f) => `${f.kind} ${f.where}`);
    expect(kinds).toContain('sender-recipient-pair contact_log.peer_account_id');
    expect(kinds).toContain('unknown-data contact_log');
    expect(kinds).toContain('sender-recipient-pair device_names.encrypted_name');
    cleanup({}, 'DROP TABLE contact_log');
    await ana.setDeviceName('ana laptop in the office');
    expect((await audit()).findings).toEqual([]);
  });

  it('fails on an account id, a key or an address in the logs', async () => {
    const planted = join(dir, 'planted.log');
    writeFileSync(planted, [
      JSON.stringify({ level: 'info', msg: 'fine' }),
      JSON.stringify({ level: 'info', msg: 'authenticated', account: Buffer.from(ana.accountId!).toString('hex') }),
      JSON.stringify({ level: 'info', msg: 'connection', from: '192.168.10.24' }),
    ].join('\n'));
    const r = await audit([logFile, planted]);
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => `${f.kind} ${f.where}`)).toEqual([`identifier-in-log ${planted}:2`, `address-in-log ${planted}:3`]);
  });

  it('exports every row that names the account, table by table', async () => {
    const ex = await world.server.server.admin.exportAccount(Buffer.from(ana.accountId!).toString('hex'));
    expect(ex.format).toBe('sigilo-account-export');
    // Enumerate independently: every table with an account column, and its rows naming Ana.
    const d = new Database(db(), { readonly: true });
    const expected = new Map<string, number>();
    try {
      const tables = d.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
      for (const t of tables) {
        const cols = (d.pragma(`table_info(${t})`) as { name: string }[]).map((c) => c.name).filter((c) => c === 'account_id' || c.endsWith('_account_id'));
        if (!cols.length) continue;
        const n = (d.prepare(`SELECT count(*) FROM ${t} WHERE ${cols.map((c) => `${c} = ?`).join(' OR ')}`).pluck().get(...cols.map(() => Buffer.from(ana.accountId!))) as number);
        expected.set(t, n);
      }
    } finally { d.close(); }
    expect(expected.size).toBeGreaterThanOrEqual(10);
    for (const [t, n] of expected) expect(ex.tables[t]?.length ?? 0, t).toBe(n);
    // Ana's rows are there: her account, device, keys, name, label, usage.
    for (const t of ['accounts', 'devices', 'signed_prekeys', 'one_time_prekeys', 'device_names', 'account_labels', 'attachment_usage']) expect(ex.tables[t]?.length, t).toBeGreaterThan(0);
    // Nobody else's rows.
    const anaB64 = Buffer.from(ana.accountId!).toString('base64');
    for (const rows of Object.values(ex.tables)) {
      for (const row of rows) expect(Object.entries(row).some(([k, v]) => /(^|_)account_id$/.test(k) && (v as { base64?: string })?.base64 === anaB64)).toBe(true);
    }
  });

  /** Runs SQL on the live database, with secure_delete as the server sets it unless told otherwise. */
  function cleanup(options: { secureDelete?: boolean }, sql: string, ...params: unknown[]): void {
    const d = new Database(db());
    try {
      d.pragma('busy_timeout = 5000');
      d.pragma(`secure_delete = ${options.secureDelete === false ? 'OFF' : 'ON'}`);
      d.prepare(sql).run(...params);
    } finally { d.close(); }
  }
});

/** A valid uncompressed P-256 point (the subscription's public key). */
function validP256(): Uint8Array {
  const e = createECDH('prime256v1');
  e.generateKeys();
  return new Uint8Array(e.getPublicKey());
}
