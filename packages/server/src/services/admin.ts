/**
 * Administrator operations, shared by the admin socket of a running server
 * and by `sigilo admin` on a stopped server's data directory. With a hub
 * (running server), removals also close the live connections.
 */
import { publishedOrgTrust, pushOrgTrust } from './org-trust.js';
import { IdentityCaDirectory, identityFingerprint } from '../identity-ca/ca-directory.js';
import { toPem } from '../identity-ca/issue.js';
import { accountIdText, normaliseUsername, parseAccountIdText, usernameHash, type Binding, type Random } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { ServerConfig } from '../config.js';
import { ServerError } from '../errors.js';
import type { Hub } from '../hub.js';
import { DAY_MS, dayOf, toHex } from '../ids.js';
import { ACCOUNT_REMOVAL, type AccountRecord, type AuditReport, type CertificationRequestRecord, type Storage, type TableAudit } from '../storage/port.js';
import { removalRecord } from './devices.js';
import { generateInviteCode, inviteCodeHash } from './invites.js';
import { deepAudit, exportAccount, type AccountExport, type DeepAuditReport } from './deep-audit.js';

export interface InviteInfo { readonly code: string; readonly expiresAt: number }
export interface DeviceSummary { readonly deviceId: number; readonly createdDay: string; readonly lastSeenDay: string | null; readonly connected: boolean | null }
export interface AccountSummary {
  /** The account id as people see it (base32, spec/server.md §9). */
  readonly accountId: string;
  /** The account's username, where the server keeps usernames; null otherwise. */
  readonly username: string | null;
  /** The administrator's own label, null when none was set. */
  readonly label: string | null;
  readonly createdDay: string;
  readonly devices: DeviceSummary[];
}

/** A pending certification request as `sigilo admin ca requests/approve` see it (spec/trust.md §4.1). */
export interface CertificationRequestView {
  readonly requestId: number;
  readonly accountIdHex: string;
  readonly deviceId: number;
  /** The name the person asked to be certified as. */
  readonly name: string;
  /** Hex, 64 bytes: the account's identity key when the request was made. */
  readonly identityKey: string;
  /** Hex: IKsig's signature over certificationRequestPayload, checked again by the approving CLI. */
  readonly signature: string;
  readonly createdAtMs: number;
  readonly createdAt: string;
  /** The identity fingerprint the administrator compares with the person's `sigilo whoami`. */
  readonly fingerprint: string;
  /** False when the account's identity key changed since (it registered again): the request is stale. */
  readonly keyIsCurrent: boolean;
  readonly summary: AccountSummary;
}

/** Longest administrator label, in characters. */
export const MAX_LABEL_LENGTH = 100;

/**
 * Every account argument of every admin command goes through here: an
 * account id (26 base32 characters, or 32 hex digits as older versions
 * printed), or a username (`@name`, or any text that is not an id).
 * Throws NOT_FOUND when no such account exists.
 */
export async function resolveAccountArg(storage: Storage, input: string): Promise<AccountRecord> {
  const text = String(input).trim();
  const id = text.startsWith('@') ? undefined : parseAccountIdText(text);
  if (id) {
    const account = await storage.getAccount(id);
    if (!account) throw new ServerError('NOT_FOUND', `no account ${accountIdText(id)} on this server (sigilo admin accounts lists them)`);
    return account;
  }
  const username = text.replace(/^@/, '');
  if (!username) throw new ServerError('INVALID_ARGUMENT', 'give an account id (26 characters, as sigilo admin accounts prints it) or a username');
  const normalised = normaliseUsername(username);
  if (normalised === undefined) {
    throw new ServerError('INVALID_ARGUMENT', `'${text}' is neither an account id (26 characters, as sigilo admin accounts prints it) nor a username (3-32 of a-z 0-9 . _)`);
  }
  // The server keeps usernames only as hashes (server.md §3.1): hash the name and look the hash up.
  const accountId = await storage.accountByUsernameHash(usernameHash(nodeCrypto, normalised));
  const account = accountId && await storage.getAccount(accountId);
  if (!account) throw new ServerError('NOT_FOUND', `no account holds the username @${normalised} on this server`);
  return account;
}

/** Usernames in clear, by account (hex), as far as the server knows them: only those of members listed in the directory. */
async function directoryUsernames(storage: Storage): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let after = '';
  for (;;) {
    const page = await storage.searchDirectory('', after, 1000);
    for (const e of page) out.set(toHex(e.accountId), e.username);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.username;
  }
}
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
    /** Logs removal bindings (spec/transparency.md §3); absent offline, when the server is not running. */
    private readonly logRemovals?: (bindings: Binding[]) => Promise<void>,
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
    const labels = new Map((await this.storage.listAccountLabels()).map((l) => [toHex(l.accountId), l.label]));
    const listed = await directoryUsernames(this.storage);
    const out: AccountSummary[] = [];
    for (const a of await this.storage.listAccounts()) out.push(await this.#summary(a, labels.get(toHex(a.accountId)), listed));
    return out;
  }

  /** One account, as `admin accounts` shows it: what destructive commands show before they ask. */
  async describeAccount(input: string): Promise<AccountSummary> {
    const a = await resolveAccountArg(this.storage, input);
    const label = (await this.storage.listAccountLabels()).find((l) => toHex(l.accountId) === toHex(a.accountId))?.label;
    const typed = normaliseUsername(String(input).trim().replace(/^@/, ''));
    const known = typed !== undefined && !parseAccountIdText(String(input).trim()) ? typed : undefined;
    return this.#summary(a, label, await directoryUsernames(this.storage), known);
  }

  async #summary(a: AccountRecord, label: string | undefined, listed: Map<string, string>, known?: string): Promise<AccountSummary> {
    const hex = toHex(a.accountId);
    const devices = (await this.storage.listDevices(a.accountId)).map((d) => ({
      deviceId: d.deviceId,
      createdDay: isoDay(d.createdDay),
      lastSeenDay: d.lastSeenDay === undefined ? null : isoDay(d.lastSeenDay),
      connected: this.hub ? this.hub.get(hex, d.deviceId) !== undefined : null,
    }));
    return { accountId: accountIdText(a.accountId), username: await this.#username(a, listed, known), label: label ?? null, createdDay: isoDay(a.createdDay), devices };
  }

  /**
   * The account's username for listings (without its @): the name when the administrator typed it or the member is listed in the
   * directory, `(hashed)` when one is claimed but the server knows it only as a hash, null when none is.
   */
  async #username(a: AccountRecord, listed: Map<string, string>, known: string | undefined): Promise<string | null> {
    if (known !== undefined) return known;
    const inDirectory = listed.get(toHex(a.accountId));
    if (inDirectory !== undefined) return inDirectory;
    // Claimed but not listed: the server holds only the username's hash (server.md §3.1).
    return (await this.storage.usernameHashOf(a.accountId)) ? '(hashed)' : null;
  }

  /** Sets the administrator's label of an account, or clears it (undefined). Stored only on this server. */
  async setLabel(input: string, label: string | undefined): Promise<AccountSummary> {
    const a = await resolveAccountArg(this.storage, input);
    let text: string | undefined;
    if (label !== undefined) {
      text = String(label).normalize('NFC').trim();
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(text)) throw new ServerError('INVALID_ARGUMENT', 'a label is one line of text without control characters');
      if (!text) throw new ServerError('INVALID_ARGUMENT', 'a label cannot be empty; use --clear to remove it');
      if ([...text].length > MAX_LABEL_LENGTH) throw new ServerError('INVALID_ARGUMENT', `a label has at most ${MAX_LABEL_LENGTH} characters`);
    }
    if (!(await this.storage.setAccountLabel(a.accountId, text))) throw new ServerError('NOT_FOUND', 'the account was removed meanwhile; nothing was labelled');
    return this.#summary(a, text, await directoryUsernames(this.storage));
  }

  async removeAccount(input: string): Promise<{ removed: boolean; closedConnections: number; accountId: string }> {
    const { accountId: id } = await resolveAccountArg(this.storage, input);
    const account = await this.storage.getAccount(id);
    const devices = account ? await this.storage.listDevices(id) : [];
    // Its devices keep a removal record (their keys, as long as a message would wait): each learns ACCOUNT_REMOVED.
    const removed = await this.storage.deleteAccount(id, removalRecord({ now: this.now, config: this.config }, ACCOUNT_REMOVAL));
    this.hub?.removed(toHex(id), undefined);
    const closed = this.hub?.closeAccount(toHex(id), CloseReason.ACCOUNT_REMOVED, 'this account was removed by the administrator') ?? 0;
    if (removed && account) {
      await this.logRemovals?.(devices.map((d) => ({ kind: 'remove' as const, accountId: id, deviceId: d.deviceId, identityKey: account.identityKey, time: this.now() })));
    }
    return { removed, closedConnections: closed, accountId: accountIdText(id) };
  }

  async revokeDevice(input: string, deviceId: number): Promise<{ revoked: boolean; closedConnections: number; accountId: string }> {
    if (!Number.isInteger(deviceId) || deviceId < 1) throw new ServerError('INVALID_ARGUMENT', 'a device id is a positive integer, as `sigilo admin accounts` prints it');
    const { accountId: id } = await resolveAccountArg(this.storage, input);
    const removal = removalRecord({ now: this.now, config: this.config }, 0);
    const revoked = await this.storage.removeDevice(id, deviceId, removal);
    this.hub?.removed(toHex(id), deviceId);
    const closed = this.hub?.closeDevice(toHex(id), deviceId, CloseReason.DEVICE_REVOKED,
      `this device was revoked by the administrator on ${isoDay(dayOf(this.now()))}; link it again or register`) ?? 0;
    const account = revoked ? await this.storage.getAccount(id) : undefined;
    if (account) await this.logRemovals?.([{ kind: 'remove', accountId: id, deviceId, identityKey: account.identityKey, time: this.now() }]);
    return { revoked, closedConnections: closed, accountId: accountIdText(id) };
  }

  /** The account's identity key (hex), for `sigilo admin ca certify` (spec/trust.md §4): the administrator compares its fingerprint with the person's. */
  async identityOf(input: string): Promise<{ accountIdHex: string; identityKey: string; summary: AccountSummary }> {
    const a = await resolveAccountArg(this.storage, input);
    return { accountIdHex: toHex(a.accountId), identityKey: Buffer.from(a.identityKey).toString('hex'), summary: await this.describeAccount(input) };
  }

  /** After `sigilo admin ca` changed DATA/identity-ca: the CA and CRL pushed to every connected device now (spec/trust.md §5). */
  publishOrgTrust(): { pushed: number; relayed: boolean } {
    const pushed = this.hub ? pushOrgTrust(this.hub, this.config.dataDir) : 0;
    // With several nodes, the others push the same bytes to their own devices (cluster.ts).
    if (this.relayOrgTrust) {
      const { ca, crl } = publishedOrgTrust(this.config.dataDir);
      if (ca.length > 0) this.relayOrgTrust(ca, crl);
    }
    return { pushed, relayed: this.relayOrgTrust !== undefined };
  }

  /** Set by the server when it is one of several nodes: sends a new CA/CRL to the other nodes over the bus. */
  relayOrgTrust: ((ca: Uint8Array, crl: Uint8Array) => void) | undefined;

  /** Pending certification requests (spec/trust.md §4.1), oldest first, for `sigilo admin ca requests`. */
  async certificationRequests(): Promise<CertificationRequestView[]> {
    return Promise.all((await this.storage.listCertificationRequests()).map((r) => this.#requestView(r)));
  }

  /** One pending request, with what `sigilo admin ca approve` checks again itself (signature, current key). */
  async certificationRequest(requestId: number): Promise<CertificationRequestView> {
    const r = Number.isSafeInteger(requestId) && requestId > 0 ? await this.storage.getCertificationRequest(requestId) : undefined;
    if (!r) throw new ServerError('NOT_FOUND', `no pending certification request ${requestId} (sigilo admin ca requests lists them)`);
    return this.#requestView(r);
  }

  /** Approved (after the CLI certified it with the CA key) or rejected: the request leaves the queue. */
  async closeCertificationRequest(requestId: number): Promise<{ closed: boolean }> {
    return { closed: Number.isSafeInteger(requestId) && await this.storage.deleteCertificationRequest(requestId) };
  }

  async #requestView(r: CertificationRequestRecord): Promise<CertificationRequestView> {
    const account = await this.storage.getAccount(r.accountId);
    return {
      requestId: r.requestId, accountIdHex: toHex(r.accountId), deviceId: r.deviceId, name: r.name,
      identityKey: toHex(r.identityKey), signature: toHex(r.signature), createdAtMs: r.createdAt, createdAt: new Date(r.createdAt).toISOString(),
      fingerprint: identityFingerprint(r.identityKey),
      keyIsCurrent: account !== undefined && toHex(account.identityKey) === toHex(r.identityKey),
      summary: await this.describeAccount(accountIdText(r.accountId)),
    };
  }

  /** `sigilo admin audit --deep` (services/deep-audit.ts). */
  async deepAudit(logFiles: readonly string[] = []): Promise<DeepAuditReport> {
    return deepAudit({ storage: this.storage, config: this.config, now: this.now(), logFiles });
  }

  /** `sigilo admin export-account`: every row that names the account. */
  async exportAccount(input: string): Promise<AccountExport & { identityCertificates?: unknown[] }> {
    const { accountId } = await resolveAccountArg(this.storage, input);
    const rows = await exportAccount(this.storage, accountId, this.now());
    // The organisation's certificates of this account's identity (spec/trust.md §3.2): files, not rows.
    const ca = new IdentityCaDirectory(this.config.dataDir);
    if (!ca.exists()) return rows;
    const hex = toHex(accountId);
    const current = ca.certificateOf(accountId);
    const identityCertificates = ca.issued().filter((r) => r.accountId === hex)
      .map((r) => ({ ...r, accountId: accountIdText(accountId), pem: current && r.serial === ca.serialOf(current) ? toPem('CERTIFICATE', current) : undefined }));
    return identityCertificates.length ? { ...rows, identityCertificates } : rows;
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

/**
 * The age of a table's oldest row. Tables that keep only the day (accounts,
 * devices, usage counters) are aged in whole calendar days ("today", "3 days,
 * since 2026-12-04"): their `oldest` is midnight UTC of that day, and an
 * age in hours from it would be invented (an account created a minute ago
 * would look hours old). Timestamped rows get seconds, hours or days.
 */
export function oldestAge(t: TableAudit, now: number): string {
  if (t.oldest === undefined) return 'not recorded';
  if (t.oldestIsDay) {
    const days = Math.max(0, dayOf(now) - dayOf(t.oldest));
    return days === 0 ? 'today' : `${days} day${days === 1 ? '' : 's'}, since ${isoDay(dayOf(t.oldest))}`;
  }
  const ms = Math.max(0, now - t.oldest);
  return ms >= DAY_MS ? `${(ms / DAY_MS).toFixed(1)} d` : ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${Math.round(ms / 1000)} s`;
}

/** The audit as text for an auditor. */
const rowsOf = (a: AuditSummary, table: string) => a.tables.find((t) => t.table === table)?.rows ?? 0;

export function formatAudit(a: AuditSummary): string {
  const lines = [
    `Sigilo server audit, ${new Date(a.generatedAt).toISOString()}`,
    '',
    `${'table'.padEnd(18)} ${'rows'.padStart(10)}  oldest row`,
    ...a.tables.map((t) => `${t.table.padEnd(18)} ${String(t.rows).padStart(10)}  ${t.rows ? oldestAge(t, a.generatedAt) : '-'}`),
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
