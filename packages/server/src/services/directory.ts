/**
 * The key directory: prekey uploads (verified against the account's identity
 * key), counts, bundle fetches that consume one-time keys atomically, the
 * low-prekey notice and the per-requester fetch limit against draining.
 */
import { ProtocolError, encodePreKeyBundle, verifyPqPreKey, verifySignedPreKey } from '@sigilo/protocol';
import type { FetchBundles, UploadPreKeys } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { RateLimitedError, ServerError, invalidArgument } from '../errors.js';
import { toHex } from '../ids.js';
import type { PqPreKeyRow, PreKeyCounts } from '../storage/port.js';
import { ACCOUNT_ID_LENGTH } from '../auth.js';
import { KeyedBuckets } from '../rate-limit.js';

function verified(f: () => void, what: string): void {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError && e.code === 'INVALID_SIGNATURE') {
      throw new ServerError('INVALID_SIGNATURE', `${what}: the signature does not verify with this account's identity key; sign it with the identity key and upload again`);
    }
    if (e instanceof ProtocolError) throw invalidArgument(`${what}: ${e.message}`);
    throw e;
  }
}

/**
 * Per-server state of the upload path: one token bucket per device counting
 * the signatures it may still have verified, and the one-time keys of uploads
 * still in flight (counted before verification, so that concurrent uploads
 * cannot together pass the limit). Kept beside the context, not in it, so the
 * directory owns its own bookkeeping.
 */
interface UploadState {
  readonly checks: KeyedBuckets;
  readonly pending: Map<string, { oneTime: number; pq: number }>;
  takes: number;
}
const uploadStates = new WeakMap<ServerContext, UploadState>();

function uploadState(ctx: ServerContext): UploadState {
  let st = uploadStates.get(ctx);
  if (!st) {
    const { preKeyChecksPerSecond, maxOneTimePreKeys } = ctx.config.limits;
    // The burst is one full upload: every one-time PQ key, the signed and the last-resort key.
    st = { checks: new KeyedBuckets(preKeyChecksPerSecond, maxOneTimePreKeys + 2), pending: new Map(), takes: 0 };
    uploadStates.set(ctx, st);
  }
  return st;
}

/** Signatures verified per slice before other work gets the event loop back. */
const VERIFY_SLICE = 32;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Order matters (spec/server.md §3): everything cheap first — sizes, shapes,
 * the device's stored plus in-flight key counts, its signature budget — and
 * only then the signatures, in slices that let other requests run between
 * them. A device at its limit or out of budget costs no signature check.
 */
export async function uploadPreKeys(ctx: ServerContext, s: Session, m: UploadPreKeys): Promise<Reply> {
  const { crypto } = ctx;
  const max = ctx.config.limits.maxOneTimePreKeys;
  if (m.oneTimePreKeys.length > max || m.pqPreKeys.length > max) throw invalidArgument(`upload at most ${max} one-time prekeys of each kind at once`);
  for (const k of m.oneTimePreKeys) if (k.publicKey.length !== 32) throw invalidArgument('one-time prekeys must be 32-byte X25519 public keys');
  for (const k of m.pqPreKeys) {
    if (k.lastResort) throw invalidArgument('pq_pre_keys are one-time keys (last_resort false); send the last-resort key in last_resort_pq_pre_key');
  }
  const lr = m.lastResortPqPreKey;
  if (lr && !lr.lastResort) throw invalidArgument('last_resort_pq_pre_key must be signed with last_resort true');

  const st = uploadState(ctx);
  const device = `${s.accountHex}:${s.deviceId}`;
  const before = await ctx.storage.countPreKeys(s.accountId, s.deviceId);
  // From here to the reservation nothing awaits: the check and the reservation are one step.
  const inFlight = st.pending.get(device) ?? { oneTime: 0, pq: 0 };
  if (before.oneTime + inFlight.oneTime + m.oneTimePreKeys.length > max || before.pq + inFlight.pq + m.pqPreKeys.length > max) {
    throw invalidArgument(`a device may hold at most ${max} one-time prekeys of each kind (it has ${before.oneTime} EC and ${before.pq} PQ${inFlight.oneTime || inFlight.pq ? ', more being uploaded' : ''}); upload fewer`);
  }
  const signatures = m.pqPreKeys.length + (m.signedPreKey ? 1 : 0) + (lr ? 1 : 0);
  if (signatures > 0) {
    const now = ctx.now();
    if (++st.takes % 1024 === 0) st.checks.prune(now);
    const wait = st.checks.take(device, now, signatures);
    if (wait > 0) throw new RateLimitedError(wait, 'prekey signature checks for this device', 'prekey_checks');
  }
  st.pending.set(device, { oneTime: inFlight.oneTime + m.oneTimePreKeys.length, pq: inFlight.pq + m.pqPreKeys.length });
  try {
    if (m.signedPreKey) {
      const k = m.signedPreKey;
      verified(() => verifySignedPreKey(crypto, s.identityKey, k.id, k.publicKey, k.signature), 'signed prekey');
    }
    const pq: PqPreKeyRow[] = [];
    for (const k of m.pqPreKeys) {
      if (pq.length % VERIFY_SLICE === VERIFY_SLICE - 1) await yieldToLoop();
      verified(() => verifyPqPreKey(crypto, s.identityKey, k.id, false, k.publicKey, k.signature), 'PQ prekey');
      pq.push({ keyId: k.id, publicKey: k.publicKey, signature: k.signature, lastResort: false });
    }
    if (lr) verified(() => verifyPqPreKey(crypto, s.identityKey, lr.id, true, lr.publicKey, lr.signature), 'last-resort PQ prekey');
    await ctx.storage.storePreKeys(s.accountId, s.deviceId, {
      signedPreKey: m.signedPreKey && { keyId: m.signedPreKey.id, publicKey: m.signedPreKey.publicKey, signature: m.signedPreKey.signature },
      oneTimePreKeys: m.oneTimePreKeys.map((k) => ({ keyId: k.id, publicKey: k.publicKey })),
      pqPreKeys: pq,
      lastResortPqPreKey: lr && { keyId: lr.id, publicKey: lr.publicKey, signature: lr.signature, lastResort: true },
    });
  } finally {
    const p = st.pending.get(device)!;
    const left = { oneTime: p.oneTime - m.oneTimePreKeys.length, pq: p.pq - m.pqPreKeys.length };
    if (left.oneTime === 0 && left.pq === 0) st.pending.delete(device);
    else st.pending.set(device, left);
  }
  return countReply(await ctx.storage.countPreKeys(s.accountId, s.deviceId));
}

function countReply(c: PreKeyCounts): Reply {
  return { body: { case: 'preKeyCount', value: { oneTimePreKeys: c.oneTime, pqPreKeys: c.pq, hasSignedPreKey: c.hasSignedPreKey, hasLastResortPqPreKey: c.hasLastResort } } };
}

export async function preKeyCount(ctx: ServerContext, s: Session): Promise<Reply> {
  return countReply(await ctx.storage.countPreKeys(s.accountId, s.deviceId));
}

const MAX_DEVICE_IDS = 100;

export async function fetchBundles(ctx: ServerContext, s: Session, m: FetchBundles): Promise<Reply> {
  if (m.accountId.length !== ACCOUNT_ID_LENGTH) throw invalidArgument(`account_id must be ${ACCOUNT_ID_LENGTH} bytes`);
  if (m.deviceIds.length > MAX_DEVICE_IDS) throw invalidArgument(`ask for at most ${MAX_DEVICE_IDS} devices`);
  const account = await ctx.storage.getAccount(m.accountId);
  if (!account) throw new ServerError('NOT_FOUND', 'no such account on this server; check the account id');
  const wanted = m.deviceIds.length ? [...new Set(m.deviceIds)] : undefined;
  const cost = wanted?.length ?? (await ctx.storage.listDevices(m.accountId)).length;
  let wait = ctx.bundleBuckets.take(s.accountHex, ctx.now(), Math.max(1, cost));
  if (typeof wait !== 'number') wait = await wait; // shared by the nodes
  if (wait > 0) throw new RateLimitedError(wait, 'prekey bundle fetches', 'bundle_fetches');
  const taken = await ctx.storage.takeBundles(m.accountId, wanted);
  ctx.metrics.bundleFetches.inc(undefined, taken.bundles.length);
  const bundles = taken.bundles.map((b) => encodePreKeyBundle({
    identityKey: account.identityKey,
    deviceId: b.deviceId,
    signedPreKey: { id: b.signedPreKey.keyId, publicKey: b.signedPreKey.publicKey, signature: b.signedPreKey.signature },
    oneTimePreKey: b.oneTimePreKey && { id: b.oneTimePreKey.keyId, publicKey: b.oneTimePreKey.publicKey },
    pqPreKey: { id: b.pqPreKey.keyId, publicKey: b.pqPreKey.publicKey, signature: b.pqPreKey.signature, lastResort: b.pqPreKey.lastResort },
  }));
  // Tell the owner's connected devices whose one-time keys ran low.
  const ownerHex = toHex(m.accountId);
  for (const b of taken.bundles) {
    const conn = ctx.hub.get(ownerHex, b.deviceId);
    if (!conn?.session) continue;
    const notice = await preKeysLowNotice(ctx, conn.session);
    if (notice) conn.send(notice);
  }
  const kt = await ctx.kt.bundleProofs(m.accountId, taken.bundles.map((b) => b.deviceId));
  return { body: { case: 'bundles', value: { bundles, unavailableDeviceIds: [...taken.unavailable], ktCheckpoint: kt.checkpoint, ktInclusions: kt.inclusions } } };
}

/** The PreKeysLow push for a device whose one-time EC or PQ prekeys are below the threshold, else undefined. */
export async function preKeysLowNotice(ctx: ServerContext, s: Session) {
  const threshold = ctx.config.limits.preKeyLowThreshold;
  const c = await ctx.storage.countPreKeys(s.accountId, s.deviceId);
  if (c.oneTime >= threshold && c.pq >= threshold) return undefined;
  ctx.metrics.preKeysLow.inc();
  return { case: 'preKeysLow' as const, value: { oneTimePreKeys: c.oneTime, pqPreKeys: c.pq } };
}
