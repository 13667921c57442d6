/**
 * `sigilo admin audit --deep` and `sigilo admin export-account`
 * (spec/server.md §9.2, §9.3).
 *
 * The deep audit reads everything the server holds — every row of every
 * table (through the storage port, so tables this version does not know are
 * read too), the database files themselves with their write-ahead log
 * (SQLite), the attachment blob store and the log files it is given — lists
 * each kind of data with its count and age, and reports a finding (the audit
 * fails) for:
 * - plaintext: a run of PLAINTEXT_RUN printable bytes in a field or file that
 *   holds only keys, hashes and ciphertext (random data has such a run with a
 *   probability of about 1e-10 per byte), or text in a column that should hold
 *   none; in the raw database files, such a run that is not the schema or a
 *   live text value (a residue of deleted data);
 * - a sealed-sender identity: a sealed queue row with sender columns set, or
 *   an account id, identity key or device key of any account in the clear
 *   inside a sealed message, a shared payload or a recipient header;
 * - a sender→recipient pair: a row that names an account other than its own
 *   (an account id inside another account's row, or in a table that names no
 *   account), other than the sender of an identified message awaiting
 *   delivery, which the design keeps until delivery and the audit counts;
 * - in logs: an account id (any spelling), a key, an IP address or a push
 *   endpoint.
 */
import { accountIdText } from '@sigilo/protocol';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { IDENTITY_CA_DIR, IdentityCaDirectory } from '../identity-ca/ca-directory.js';
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import { DAY_MS } from '../ids.js';
import { isAccountColumn, type Storage, type StoredRow } from '../storage/port.js';

/** Printable bytes in a row that count as plaintext inside ciphertext or keys. */
export const PLAINTEXT_RUN = 24;

export type FindingKind = 'plaintext' | 'sealed-sender-identity' | 'sender-recipient-pair' | 'unknown-data' | 'identifier-in-log' | 'address-in-log';

export interface AuditFinding {
  readonly kind: FindingKind;
  /** Table and column, file name, or log file and line number: never the data found. */
  readonly where: string;
  readonly detail: string;
}

export interface DataKind {
  readonly kind: string;
  readonly where: string;
  readonly count: number;
  /** Unix ms of the oldest item, when known. */
  readonly oldest?: number | undefined;
  readonly oldestIsDay?: boolean;
  readonly note?: string;
}

export interface DeepAuditReport {
  readonly generatedAt: number;
  readonly ok: boolean;
  readonly kinds: readonly DataKind[];
  readonly findings: readonly AuditFinding[];
  readonly scanned: {
    readonly tables: number;
    readonly rows: number;
    readonly databaseFiles: readonly { readonly name: string; readonly bytes: number }[];
    readonly blobs: number;
    readonly blobBytes: number;
    readonly logFiles: readonly string[];
    readonly logLines: number;
  };
}

export interface DeepAuditInput {
  readonly storage: Storage;
  readonly config: ServerConfig;
  readonly now: number;
  /** Log files to scan (the server logs to stderr: point this at wherever it goes). */
  readonly logFiles: readonly string[];
}

/** Columns that hold text by design, and what they are (see KIND_NAMES). */
export const TEXT_COLUMNS: Readonly<Record<string, string>> = {
  'account_labels.label': "the administrator's own label",
  'push_subscriptions.endpoint': 'push endpoint',
  'directory.username': 'a username its member listed in the directory',
  'directory.name': 'a display name its member listed in the directory',
  'certification_requests.name': 'the name a member asked the organisation to certify',
};
/** Columns that hold message ciphertext, where no identifier may appear in the clear when the row is sealed. */
const SEALED_CONTENT = new Set(['messages.content', 'messages.recipient_header', 'shared_payloads.content']);

const printable = (b: number) => (b >= 0x20 && b <= 0x7e) || b === 0x09 || b === 0x0a || b === 0x0d;

/** Offsets and lengths of printable runs of at least `min` bytes. */
function printableRuns(bytes: Uint8Array, min = PLAINTEXT_RUN): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && printable(bytes[i]!)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= min) runs.push([start, i - start]);
      start = -1;
    }
  }
  return runs;
}

const asBytes = (v: unknown): Uint8Array | undefined => (v instanceof Uint8Array ? v : undefined);
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Every account's identifiers, for "is this account named here?" lookups in
 * time linear in the data: identifiers are indexed by their first four bytes,
 * and only a match there is compared in full.
 */
class Identifiers {
  readonly accounts = new Map<string, Uint8Array>();
  /** Identity keys (64 bytes) and their two 32-byte halves, and device keys, with their account (hex). */
  readonly keys = new Map<string, { key: Uint8Array; account: string }>();
  readonly #accountIndex = new Map<number, { id: Uint8Array; account: string }[]>();
  readonly #anyIndex = new Map<number, { id: Uint8Array; account: string }[]>();

  add(accountId: Uint8Array, identityKey: Uint8Array | undefined, deviceKey: Uint8Array | undefined): void {
    const a = hex(accountId);
    if (!this.accounts.has(a)) {
      this.accounts.set(a, accountId);
      indexId(this.#accountIndex, accountId, a);
      indexId(this.#anyIndex, accountId, a);
    }
    const keys = [...(identityKey ? [identityKey, identityKey.subarray(0, 32), identityKey.subarray(32)] : []), ...(deviceKey ? [deviceKey] : [])];
    for (const key of keys) {
      this.keys.set(hex(key), { key, account: a });
      indexId(this.#anyIndex, key, a);
    }
  }

  /** Accounts whose id appears in `data`. */
  accountsIn(data: Uint8Array): string[] {
    return findIds(this.#accountIndex, data);
  }

  /** Accounts whose id or key appears in `data`. */
  anyIn(data: Uint8Array): string[] {
    return findIds(this.#anyIndex, data);
  }

  /** Spellings of identifiers as text (hex, base32 account ids, base64 and base64url). */
  textForms(): string[] {
    const forms: string[] = [];
    const all = [...this.accounts.values(), ...[...this.keys.values()].map((k) => k.key)];
    for (const id of all) {
      const b = Buffer.from(id);
      forms.push(b.toString('hex'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'));
    }
    for (const id of this.accounts.values()) forms.push(accountIdText(id).replace(/-/g, ''), accountIdText(id));
    return forms.filter((f) => f.length >= 16);
  }
}

type IdIndex = Map<number, { id: Uint8Array; account: string }[]>;

function indexId(index: IdIndex, id: Uint8Array, account: string): void {
  const head = Buffer.from(id.buffer, id.byteOffset, id.byteLength).readUInt32LE(0);
  const list = index.get(head) ?? [];
  list.push({ id, account });
  index.set(head, list);
}

function findIds(index: IdIndex, data: Uint8Array): string[] {
  if (data.length < 16 || index.size === 0) return [];
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const found = new Set<string>();
  for (let i = 0; i + 16 <= buf.length; i++) {
    const candidates = index.get(buf.readUInt32LE(i));
    if (!candidates) continue;
    for (const c of candidates) {
      if (i + c.id.length <= buf.length && buf.subarray(i, i + c.id.length).equals(c.id)) found.add(c.account);
    }
  }
  return [...found];
}

export async function deepAudit(input: DeepAuditInput): Promise<DeepAuditReport> {
  const { storage, config, now } = input;
  const findings: AuditFinding[] = [];
  const found = (kind: FindingKind, where: string, detail: string) => {
    if (findings.length < 1000) findings.push({ kind, where, detail });
  };

  // Every account's identifiers.
  const ids = new Identifiers();
  for (const account of await storage.listAccounts()) {
    ids.add(account.accountId, account.identityKey, undefined);
    for (const d of await storage.listDevices(account.accountId)) ids.add(account.accountId, undefined, d.deviceKey);
  }

  // Every row of every table.
  const tables = new Map<string, { rows: number; oldest?: number; day?: boolean }>();
  const liveText: string[] = [];
  let identifiedWaiting = 0;
  let identifiedOldest: number | undefined;
  let sealedRows = 0;
  let rows = 0;
  await storage.scanRows((table, row) => {
    rows++;
    const t = tables.get(table) ?? { rows: 0 };
    t.rows++;
    const created = Number(row.created_at ?? NaN);
    const day = Number(row.created_day ?? row.day ?? NaN);
    if (Number.isFinite(created)) t.oldest = Math.min(t.oldest ?? Infinity, created);
    else if (Number.isFinite(day)) {
      t.oldest = Math.min(t.oldest ?? Infinity, day * DAY_MS);
      t.day = true;
    }
    tables.set(table, t);

    const own = asBytes(row.account_id);
    const ownHex = own ? hex(own) : undefined;
    const sealed = table === 'messages' ? (Number(row.sealed) === 1 || row.sealed === true || row.payload_id != null) : table === 'shared_payloads';
    if (table === 'messages') {
      if (sealed) sealedRows++;
      if (row.sender_account_id != null || row.sender_device_id != null) {
        if (sealed) found('sealed-sender-identity', `messages.sender_account_id`, 'a sealed message has a sender stored');
        else {
          identifiedWaiting++;
          identifiedOldest = Math.min(identifiedOldest ?? Infinity, created);
        }
      }
    }
    for (const [column, value] of Object.entries(row)) {
      const where = `${table}.${column}`;
      if (typeof value === 'string') {
        if (TEXT_COLUMNS[where]) {
          liveText.push(value);
          continue;
        }
        if (/^-?\d+(\.\d+)?$/.test(value)) continue; // PostgreSQL BIGINT
        if (value.length >= 8) found('plaintext', where, `text (${value.length} characters) in a column that should hold none`);
        continue;
      }
      const bytes = asBytes(value);
      if (!bytes) continue;
      if (printableRuns(bytes).length) found('plaintext', where, `${PLAINTEXT_RUN}+ printable bytes in a field of keys, hashes or ciphertext`);
      if (isAccountColumn(column)) {
        if (column === 'account_id') continue;
        // The sender of an identified message awaiting delivery: kept by design, counted above.
        if (table === 'messages' && column === 'sender_account_id' && !sealed) continue;
        if (!sealed) {
          found('sender-recipient-pair', where, `an account column beside ${ownHex ? 'the row\'s own account' : 'no account'}`);
        }
        continue;
      }
      if (sealed && SEALED_CONTENT.has(where)) {
        if (ids.anyIn(bytes).length) found('sealed-sender-identity', where, 'an account id or key in the clear inside a sealed message');
        continue;
      }
      if (table === 'messages' && column === 'content') continue; // identified: sender and recipient are known anyway
      const others = ids.accountsIn(bytes).filter((a) => a !== ownHex);
      if (others.length) found('sender-recipient-pair', where, ownHex ? "another account's id inside an account's row" : 'an account id in a table that names no account');
    }
  });

  const kinds: DataKind[] = [...tables.entries()].map(([table, t]) => ({
    kind: KIND_NAMES[table] ?? `unknown table '${table}'`,
    where: table,
    count: t.rows,
    oldest: t.oldest === undefined || !Number.isFinite(t.oldest) ? undefined : t.oldest,
    ...(t.day ? { oldestIsDay: true } : {}),
  }));
  kinds.push({ kind: 'identified messages awaiting delivery (sender and recipient, deleted on delivery)', where: 'messages', count: identifiedWaiting, oldest: identifiedOldest });
  kinds.push({ kind: 'sealed-sender messages awaiting delivery (no sender)', where: 'messages', count: sealedRows });
  for (const table of tables.keys()) {
    if (!KIND_NAMES[table]) found('unknown-data', table, 'a table this server does not create: check what put it there');
  }

  // The database files (SQLite): after a checkpoint, so the WAL holds only what is not yet in the file.
  const databaseFiles: { name: string; bytes: number }[] = [];
  if (config.storage.backend === 'sqlite') {
    const checkpoint = (storage as { checkpoint?: () => void }).checkpoint;
    try { checkpoint?.call(storage); } catch { /* a busy database: the WAL is scanned as it is */ }
    const schema = await schemaTexts(storage);
    const allowed = [...new Set([...schema, ...liveText])].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
    for (const name of ['sigilo.db', 'sigilo.db-wal']) {
      const path = join(config.dataDir, name);
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path);
      databaseFiles.push({ name, bytes: bytes.length });
      let residues = 0;
      for (const [off, len] of printableRuns(bytes)) {
        let text = bytes.subarray(off, off + len).toString('latin1');
        for (const a of allowed) if (text.includes(a)) text = text.split(a).join('\0');
        if (text.split('\0').some((piece) => piece.length >= PLAINTEXT_RUN && !isFormatText(piece))) residues++;
      }
      if (residues) found('plaintext', name, `${residues} run(s) of ${PLAINTEXT_RUN}+ printable bytes that are neither the schema nor a live text value`);
    }
  }

  // The blob store: encrypted attachments only.
  const blobDir = join(config.dataDir, 'attachments');
  let blobs = 0;
  let blobBytes = 0;
  let oldestBlob: number | undefined;
  if (existsSync(blobDir)) {
    for (const name of readdirSync(blobDir)) {
      const path = join(blobDir, name);
      const st = statSync(path);
      if (!st.isFile()) continue;
      blobs++;
      blobBytes += st.size;
      oldestBlob = Math.min(oldestBlob ?? Infinity, st.mtimeMs);
      for (const chunk of readChunks(path)) {
        if (printableRuns(chunk).length) {
          found('plaintext', `attachments/${name.slice(0, 8)}…`, `${PLAINTEXT_RUN}+ printable bytes in an encrypted attachment`);
          break;
        }
        if (ids.accountsIn(chunk).length) {
          found('sender-recipient-pair', `attachments/${name.slice(0, 8)}…`, 'an account id in the clear inside an attachment');
          break;
        }
      }
    }
  }
  kinds.push({ kind: 'encrypted attachment files', where: 'attachments/', count: blobs, oldest: oldestBlob, note: `${blobBytes} bytes` });

  // The organisation's identity CA (spec/trust.md §3.2): certificates are public to members by design.
  const identityCa = new IdentityCaDirectory(config.dataDir);
  if (identityCa.exists()) {
    const issued = identityCa.issued();
    kinds.push({
      kind: 'identity certificates (person\'s name as the administrator gave it, account, identity public key; signed by the organisation CA, public to members)',
      where: `${IDENTITY_CA_DIR}/`, count: issued.length,
      oldest: issued.length ? Math.min(...issued.map((r) => Date.parse(r.notBefore))) : undefined,
      note: `${issued.filter((r) => r.revokedAt).length} revoked`,
    });
  }

  // Logs.
  let logLines = 0;
  const forms = ids.textForms();
  const endpoints = liveText.filter((t) => /^https:\/\//.test(t));
  const ipv4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])/;
  const ipv6 = /(?<![0-9a-z:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?|::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})(?![0-9a-z:])/i;
  for (const file of input.logFiles) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      found('identifier-in-log', file, 'the log file could not be read: it was not checked');
      continue;
    }
    text.split('\n').forEach((line, i) => {
      if (!line) return;
      logLines++;
      const where = `${file}:${i + 1}`;
      if (forms.some((f) => line.includes(f))) found('identifier-in-log', where, 'an account id or key');
      if (endpoints.some((e) => line.includes(e)) || /https?:\/\/[^\s"]+\/[A-Za-z0-9_-]{16,}/.test(line)) found('identifier-in-log', where, 'a push endpoint or URL with a token');
      if (ipv4.test(line) || ipv6.test(line)) found('address-in-log', where, 'an IP address');
    });
  }

  return {
    generatedAt: now,
    ok: findings.length === 0,
    kinds,
    findings,
    scanned: { tables: tables.size, rows, databaseFiles, blobs, blobBytes, logFiles: [...input.logFiles], logLines },
  };
}

/**
 * What each table holds, in words. A table missing here is reported as
 * unknown data when it has rows: a change that adds a table adds it here
 * (and its text columns to TEXT_COLUMNS), saying what it keeps.
 */
export const KIND_NAMES: Readonly<Record<string, string>> = {
  invites: 'unused invites (hash of the code)',
  accounts: 'accounts (id, public identity key, access-key hash)',
  devices: 'devices (public device key, creation day, last-seen day)',
  signed_prekeys: 'signed prekeys (public)',
  one_time_prekeys: 'one-time prekeys (public)',
  pq_prekeys: 'post-quantum prekeys (public)',
  pq_last_resort: 'post-quantum last-resort prekeys (public)',
  messages: 'messages awaiting delivery (ciphertext)',
  dedup: 'hashes of recent message ids (unlinkable)',
  attachments: 'attachment metadata (size, upload-token hash)',
  attachment_usage: 'attachment bytes per account and day (quota)',
  shared_payloads: 'group message payloads awaiting delivery (ciphertext)',
  account_labels: "administrator's labels",
  device_names: 'device names (encrypted)',
  device_removals: 'removed-device notices (who removed it, which day)',
  push_subscriptions: 'push subscriptions (endpoint and keys)',
  usernames: 'claimed usernames (hash only)',
  profiles: 'profiles (encrypted under keys the server never sees)',
  directory: 'member directory entries (username and name in clear, listed by the member)',
  kt_leaves: 'key transparency log (account, device, public identity key)',
  kt_nodes: 'key transparency log tree hashes',
  certification_requests: 'pending certification requests (account, device, public identity key, the name asked for)',
};

/** Byte runs of SQLite's own format that may look like text. */
function isFormatText(piece: string): boolean {
  return /^SQLite format 3/.test(piece);
}

/** The schema's SQL and names, which the database file holds as text. */
async function schemaTexts(storage: Storage): Promise<string[]> {
  const withSchema = storage as { schemaText?: () => string[] };
  const out = withSchema.schemaText?.() ?? [];
  return [...out, ...Object.keys(KIND_NAMES)];
}

function* readChunks(path: string, size = 1 << 20): Generator<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size + PLAINTEXT_RUN);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) return;
      yield buf.subarray(0, n);
      if (n < buf.length) return;
      pos += size; // overlap so a run across chunks is seen
    }
  } finally {
    closeSync(fd);
  }
}

/** Everything the server holds about one account, for a data-protection request. */
export interface AccountExport {
  readonly format: 'sigilo-account-export';
  readonly version: 1;
  readonly generatedAt: string;
  readonly accountId: string;
  /** Rows by table: every row of every table in which a column naming an account holds this one. Bytes are base64. */
  readonly tables: Readonly<Record<string, readonly Record<string, unknown>[]>>;
  readonly notes: readonly string[];
}

export async function exportAccount(storage: Storage, accountId: Uint8Array, now: number): Promise<AccountExport> {
  const tables: Record<string, Record<string, unknown>[]> = {};
  await storage.scanRows((table, row: StoredRow) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      out[k] = v instanceof Uint8Array ? { base64: Buffer.from(v).toString('base64') } : typeof v === 'bigint' ? v.toString() : v;
    }
    (tables[table] ??= []).push(out);
  }, accountId);
  return {
    format: 'sigilo-account-export',
    version: 1,
    generatedAt: new Date(now).toISOString(),
    accountId: accountIdText(accountId),
    tables,
    notes: [
      'Every row in which this account is named (as the account, or as the sender of an identified message not yet delivered).',
      'Message contents are end-to-end encrypted: the server cannot read them, and sealed-sender messages this account sent name no sender, so they cannot be attributed to it.',
      'Delivered messages are not kept. Attachments are stored encrypted under random ids that name no account; they are deleted after the retention period.',
      'Days are days since 1970-01-01 (UTC); times are Unix milliseconds.',
    ],
  };
}
