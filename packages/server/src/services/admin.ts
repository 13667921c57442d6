/**
 * Administrator operations, shared by the admin socket of a running server
 * and by `sigilo admin` on a stopped server's data directory. With a hub
 * (running server), removals also close the live connections.
 */
import type { Random } from '@sigilo/protocol';
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { ServerConfig } from '../config.js';
import { ServerError } from '../errors.js';
import type { Hub } from '../hub.js';
import { DAY_MS, fromHexId, toHex } from '../ids.js';
import type { AuditReport, Storage } from '../storage/port.js';
import { generateInviteCode, inviteCodeHash } from './invites.js';

export interface InviteInfo { readonly code: string; readonly expiresAt: number }
export interface DeviceSummary { readonly deviceId: number; readonly createdDay: string; readonly lastSeenDay: string | null; readonly connected: boolean | null }
export interface AccountSummary { readonly accountId: string; readonly createdDay: string; readonly devices: DeviceSummary[] }
export interface AuditSummary extends AuditReport {
  readonly generatedAt: number;
  /** What the server is configured to keep. */
  readonly retention: { readonly undelivered: string; readonly attachments: string; readonly dedup: string; readonly lastSeen: string };
  /** Files in the data directory and their sizes. */
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
}

const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

export class AdminService {
  constructor(
    private readonly storage: Storage,
    private readonly config: ServerConfig,
    private readonly random: Random,
    private readonly now: () => number,
    private readonly hub: Hub | undefined,
    private readonly files: () => { name: string; bytes: number }[] = () => [],
  ) {}

  async createInvite(lifetimeMs = this.config.inviteLifetimeMs): Promise<InviteInfo> {
    if (!Number.isFinite(lifetimeMs) || lifetimeMs < 60_000) throw new ServerError('INVALID_ARGUMENT', 'an invite must be valid for at least one minute');
    const code = generateInviteCode(this.random);
    const now = this.now();
    await this.storage.createInvite({ codeHash: inviteCodeHash(code), createdAt: now, expiresAt: now + lifetimeMs });
    return { code, expiresAt: now + lifetimeMs };
  }

  /** Several invites at once (scripts, benchmarks): at most 10,000 per call. */
  async createInvites(count: number, lifetimeMs = this.config.inviteLifetimeMs): Promise<InviteInfo[]> {
    if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new ServerError('INVALID_ARGUMENT', 'create between 1 and 10000 invites at once');
    const out: InviteInfo[] = [];
    for (let i = 0; i < count; i++) out.push(await this.createInvite(lifetimeMs));
    return out;
  }

  async listAccounts(): Promise<AccountSummary[]> {
    const out: AccountSummary[] = [];
    for (const a of await this.storage.listAccounts()) {
      const hex = toHex(a.accountId);
      const devices = (await this.storage.listDevices(a.accountId)).map((d) => ({
        deviceId: d.deviceId,
        createdDay: isoDay(d.createdDay),
        lastSeenDay: d.lastSeenDay === undefined ? null : isoDay(d.lastSeenDay),
        connected: this.hub ? this.hub.get(hex, d.deviceId) !== undefined : null,
      }));
      out.push({ accountId: hex, createdDay: isoDay(a.createdDay), devices });
    }
    return out;
  }

  #accountId(text: string): Uint8Array {
    const id = fromHexId(text, 16);
    if (!id) throw new ServerError('INVALID_ARGUMENT', 'an account id is 32 hexadecimal characters, as `sigilo admin accounts` prints it');
    return id;
  }

  async removeAccount(accountHex: string): Promise<{ removed: boolean; closedConnections: number }> {
    const id = this.#accountId(accountHex);
    const removed = await this.storage.deleteAccount(id);
    const closed = this.hub?.closeAccount(toHex(id), CloseReason.ACCOUNT_REMOVED, 'this account was removed by the administrator') ?? 0;
    return { removed, closedConnections: closed };
  }

  async revokeDevice(accountHex: string, deviceId: number): Promise<{ revoked: boolean; closedConnections: number }> {
    const id = this.#accountId(accountHex);
    if (!Number.isInteger(deviceId) || deviceId < 1) throw new ServerError('INVALID_ARGUMENT', 'a device id is a positive integer, as `sigilo admin accounts` prints it');
    const revoked = await this.storage.removeDevice(id, deviceId);
    const closed = this.hub?.closeDevice(toHex(id), deviceId, CloseReason.DEVICE_REVOKED, 'this device was revoked by the administrator') ?? 0;
    return { revoked, closedConnections: closed };
  }

  async audit(): Promise<AuditSummary> {
    const now = this.now();
    const report = await this.storage.audit(now);
    const r = this.config.retention;
    const days = (ms: number) => `${+(ms / DAY_MS).toFixed(3)} days`;
    return {
      ...report,
      generatedAt: now,
      retention: { undelivered: days(r.undeliveredMs), attachments: days(r.attachmentsMs), dedup: days(r.dedupMs), lastSeen: r.lastSeen },
      files: this.files(),
    };
  }
}

/** The audit as text for an auditor. */
const rowsOf = (a: AuditSummary, table: string) => a.tables.find((t) => t.table === table)?.rows ?? 0;

export function formatAudit(a: AuditSummary): string {
  const age = (oldest: number | undefined) => {
    if (oldest === undefined) return '-';
    const ms = Math.max(0, a.generatedAt - oldest);
    return ms >= DAY_MS ? `${(ms / DAY_MS).toFixed(1)} d` : ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${Math.round(ms / 1000)} s`;
  };
  const lines = [
    `Sigilo server audit, ${new Date(a.generatedAt).toISOString()}`,
    '',
    `${'table'.padEnd(18)} ${'rows'.padStart(10)}  oldest row`,
    ...a.tables.map((t) => `${t.table.padEnd(18)} ${String(t.rows).padStart(10)}  ${t.rows ? age(t.oldest) : '-'}`),
    '',
    `sender identities stored: ${a.messagesWithSender > 0 ? `yes, on ${a.messagesWithSender} undelivered identified message(s) (deleted on delivery)` : 'no'}`,
    `sealed-sender messages queued (no sender stored): ${a.sealedMessages}`,
    `devices with a last-seen day stored: ${a.devicesWithLastSeen}`,
    `usernames (stored as hashes only): ${rowsOf(a, 'usernames')}; encrypted profiles (unreadable here): ${rowsOf(a, 'profiles')}; member directory entries (username and name in clear): ${rowsOf(a, 'directory')}`,
    '',
    `retention: undelivered messages ${a.retention.undelivered}, attachments ${a.retention.attachments}, message-id hashes ${a.retention.dedup}, last seen ${a.retention.lastSeen}`,
    'never stored: passwords, message plaintext, contact lists, who sent a sealed-sender message, delivered messages',
  ];
  if (a.files.length) lines.push('', 'files in the data directory:', ...a.files.map((f) => `  ${f.name.padEnd(28)} ${f.bytes} bytes`));
  return lines.join('\n');
}
