/** The SQLite adapter's transactions: registration, devices, prekeys, queueing with the device-list check, acks, quota and sweeps (storage/sqlite.ts). */
import type Database from 'better-sqlite3';
import type {
  AccountRecord, AckedMessage, AckRequest, AddDeviceResult, AttachmentUsageCharge, AttachmentUsageResult, EnqueueRequest, EnqueueResult, NewDevice,
  NewDeviceRemoval, OneTimePreKeyRow, PqPreKeyRow, PreKeyUpload, RegisterResult, SignedPreKeyRow, SweepResult, TakeBundlesResult, TakenPreKeys,
} from '../port.js';
import { EXPIRED_INVITE_KEPT_MS, deviceListDiff } from '../port.js';
import { bytes, buf, deviceKeys, type Row } from './rows.js';
import type { Statements } from './statements.js';

export interface Transactions {
  register: Database.Transaction<(codeHash: Uint8Array, now: number, account: AccountRecord, device: NewDevice) => RegisterResult>;
  deleteAccount: Database.Transaction<(account: Buffer, removal: NewDeviceRemoval | undefined) => boolean>;
  addDevice: Database.Transaction<(account: Buffer, device: NewDevice, maxDevices: number) => AddDeviceResult>;
  removeDevice: Database.Transaction<(account: Buffer, deviceId: number, removal: NewDeviceRemoval | undefined) => boolean>;
  storePreKeys: Database.Transaction<(account: Buffer, deviceId: number, u: PreKeyUpload) => void>;
  takeBundles: Database.Transaction<(account: Buffer, deviceIds: readonly number[] | undefined) => TakeBundlesResult>;
  enqueue: Database.Transaction<(batch: readonly EnqueueRequest[]) => EnqueueResult[]>;
  ack: Database.Transaction<(acks: readonly AckRequest[]) => AckedMessage[][]>;
  chargeUsage: Database.Transaction<(c: AttachmentUsageCharge) => AttachmentUsageResult>;
  sweep: Database.Transaction<(now: number) => SweepResult>;
}

/**
 * The usual send, checked without building arrays: it lists every device of `all` (the account's, less the excluded
 * one), each once, and the account has no keyless device. Anything else goes to deviceListDiff.
 */
function listsExactly(all: readonly number[], keyless: readonly number[], entries: readonly { readonly deviceId: number }[]): boolean {
  if (keyless.length !== 0 || entries.length !== all.length) return false;
  // As many entries as devices, and every device among them: the entries are the devices, each once.
  for (const id of all) {
    let found = false;
    for (const e of entries) if (e.deviceId === id) { found = true; break; }
    if (!found) return false;
  }
  return true;
}

export function transactions(db: Database.Database, s: Statements): Transactions {
  const insertDevice = (account: Buffer, device: NewDevice): number => {
    const { id } = s.nextDeviceId.get(account) as { id: number };
    s.insertDevice.run(account, id, buf(device.deviceKey), device.createdDay);
    return id;
  };

  const takeOne = (account: Buffer, deviceId: number): TakenPreKeys | undefined => {
    const signed = s.getSigned.get(account, deviceId) as Row | undefined;
    if (!signed) return undefined;
    let pq: PqPreKeyRow | undefined;
    const oneTimePq = s.takePq.get(account, deviceId, account, deviceId) as Row | undefined;
    if (oneTimePq) {
      pq = { keyId: oneTimePq.key_id as number, publicKey: bytes(oneTimePq.public_key), signature: bytes(oneTimePq.signature), lastResort: false };
    } else {
      const lr = s.getLastResort.get(account, deviceId) as Row | undefined;
      if (!lr) return undefined;
      pq = { keyId: lr.key_id as number, publicKey: bytes(lr.public_key), signature: bytes(lr.signature), lastResort: true };
    }
    const otk = s.takeOneTime.get(account, deviceId, account, deviceId) as Row | undefined;
    const oneTimePreKey: OneTimePreKeyRow | undefined = otk ? { keyId: otk.key_id as number, publicKey: bytes(otk.public_key) } : undefined;
    const signedPreKey: SignedPreKeyRow = { keyId: signed.key_id as number, publicKey: bytes(signed.public_key), signature: bytes(signed.signature) };
    return { deviceId, signedPreKey, oneTimePreKey, pqPreKey: pq };
  };

  return {
    register: db.transaction((codeHash: Uint8Array, now: number, account: AccountRecord, device: NewDevice): RegisterResult => {
      const invite = s.getInvite.get(buf(codeHash)) as { expires_at: number } | undefined;
      if (!invite) return { status: 'invite-invalid' };
      if (invite.expires_at <= now) return { status: 'invite-expired' };
      s.deleteInvite.run(buf(codeHash));
      const a = buf(account.accountId);
      s.insertAccount.run(a, buf(account.identityKey), account.accessKeyHash ? buf(account.accessKeyHash) : null, account.unrestricted ? 1 : 0, account.createdDay);
      return { status: 'ok', deviceId: insertDevice(a, device) };
    }),

    deleteAccount: db.transaction((account: Buffer, removal: NewDeviceRemoval | undefined): boolean => {
      const devices = removal ? s.listDevices.all(account) as Row[] : [];
      const existed = s.deleteAccount.run(account).changes === 1;
      for (const st of s.purgeAccount) st.run(account);
      for (const d of devices) {
        db.prepare('INSERT OR REPLACE INTO device_removals (account_id, device_id, device_key, by_device_id, day, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(account, d.device_id, d.device_key, removal!.byDeviceId, removal!.day, removal!.expiresAt);
      }
      return existed;
    }),

    addDevice: db.transaction((account: Buffer, device: NewDevice, maxDevices: number): AddDeviceResult => {
      if (!s.getAccount.get(account)) return { status: 'no-account' };
      if ((s.countDevices.get(account) as { n: number }).n >= maxDevices) return { status: 'limit' };
      return { status: 'ok', deviceId: insertDevice(account, device) };
    }),

    removeDevice: db.transaction((account: Buffer, deviceId: number, removal: NewDeviceRemoval | undefined): boolean => {
      const device = removal ? s.getDevice.get(account, deviceId) as Row | undefined : undefined;
      const existed = s.deleteDevice.run(account, deviceId).changes === 1;
      for (const st of s.purgeDevice) st.run(account, deviceId);
      if (device && removal) {
        db.prepare('INSERT OR REPLACE INTO device_removals (account_id, device_id, device_key, by_device_id, day, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(account, deviceId, device.device_key, removal.byDeviceId, removal.day, removal.expiresAt);
      }
      return existed;
    }),

    storePreKeys: db.transaction((account: Buffer, deviceId: number, u: PreKeyUpload) => {
      if (u.signedPreKey) s.upsertSigned.run(account, deviceId, u.signedPreKey.keyId, buf(u.signedPreKey.publicKey), buf(u.signedPreKey.signature));
      for (const k of u.oneTimePreKeys) s.upsertOneTime.run(account, deviceId, k.keyId, buf(k.publicKey));
      for (const k of u.pqPreKeys) s.upsertPq.run(account, deviceId, k.keyId, buf(k.publicKey), buf(k.signature));
      if (u.lastResortPqPreKey) {
        const k = u.lastResortPqPreKey;
        s.upsertLastResort.run(account, deviceId, k.keyId, buf(k.publicKey), buf(k.signature));
      }
    }),

    takeBundles: db.transaction((account: Buffer, deviceIds: readonly number[] | undefined): TakeBundlesResult => {
      const existing = s.listDeviceIds.all(account) as number[];
      const wanted = deviceIds ?? existing;
      const bundles: TakenPreKeys[] = [];
      const unavailable: number[] = [];
      for (const id of wanted) {
        const taken = existing.includes(id) ? takeOne(account, id) : undefined;
        if (taken) bundles.push(taken);
        else unavailable.push(id);
      }
      return { bundles, unavailable };
    }),

    // better-sqlite3 binds any Uint8Array (a view of part of a frame included) as a blob: ids and contents are bound as they are.
    enqueue: db.transaction((batch: readonly EnqueueRequest[]): EnqueueResult[] => {
      // Within one transaction a recipient's device list cannot change: read it once.
      const devices = new Map<string, { all: number[]; keyless: number[] } | null>();
      return batch.map((req): EnqueueResult => {
        if (s.dedupExists.get(req.dedupKey) !== undefined) return { status: 'duplicate' };
        const recipient = req.recipient;
        const key = buf(recipient).toString('latin1');
        let listed = devices.get(key);
        if (listed === undefined) {
          listed = s.accountExists.get(recipient) === undefined ? null : deviceKeys(s.listDeviceKeys.all(recipient) as [number, number][]);
          devices.set(key, listed);
        }
        if (listed === null) return { status: 'no-account' };
        const { all, keyless } = listed;
        const current = req.excludeDeviceId === undefined ? all : all.filter((id) => id !== req.excludeDeviceId);
        if (!listsExactly(current, keyless, req.entries)) {
          const stale = deviceListDiff(current, req.entries.map((e) => e.deviceId), keyless);
          if (stale) return { status: 'stale', ...stale };
        }
        s.insertDedup.run(req.dedupKey, req.dedupExpiresAt);
        const { entries } = req;
        const serverIds = new Array<number>(entries.length);
        const sealed = req.sender ? 0 : 1;
        const senderAccount = req.sender ? req.sender.accountId : null;
        const senderDevice = req.sender ? req.sender.deviceId : null;
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!;
          serverIds[i] = s.insertMessage.get(recipient, e.deviceId, req.messageId, sealed, senderAccount, senderDevice, req.createdAt, req.expiresAt, e.content) as number;
        }
        return { status: 'stored', serverIds };
      });
    }),

    ack: db.transaction((acks: readonly AckRequest[]): AckedMessage[][] => acks.map(({ accountId, deviceId, serverIds }) => {
      const out: AckedMessage[] = [];
      for (const id of serverIds) {
        const createdAt = s.ackOne.get(id, accountId, deviceId) as number | undefined;
        if (createdAt !== undefined) out.push({ serverId: id, createdAt });
      }
      return out;
    })),

    chargeUsage: db.transaction((c: AttachmentUsageCharge): AttachmentUsageResult => {
      const account = buf(c.accountId);
      const counters = (s.liveUsage.all(account, c.now) as { bytes: number; expires_at: number }[]).map((r) => ({ bytes: r.bytes, expiresAt: r.expires_at }));
      const used = counters.reduce((n, r) => n + r.bytes, 0);
      if (used + c.bytes > c.quota) return { status: 'exceeded', used, counters };
      s.addUsage.run(account, c.day, c.bytes, c.expiresAt);
      return { status: 'ok', used: used + c.bytes };
    }),

    sweep: db.transaction((now: number): SweepResult => ({
      messages: s.sweepMessages.run(now).changes,
      invites: s.sweepInvites.run(now - EXPIRED_INVITE_KEPT_MS).changes,
      dedup: s.sweepDedup.run(now).changes,
      attachmentIds: (s.sweepAttachments.all(now) as Buffer[]).map(bytes),
      attachmentUsage: s.sweepUsage.run(now).changes,
    })),
  };
}
