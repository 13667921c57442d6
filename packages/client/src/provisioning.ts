/**
 * Linking a new device (client.md §6). The new device shows a one-time code:
 * its provisioning address at the server and an ephemeral X25519 key. The
 * existing device, where the person confirms by entering or scanning the code,
 * encrypts the identity and the history archive to that key and sends them
 * through the server's provisioning relay, which cannot read them:
 *
 *   s = fresh X25519;  k = HKDF(X25519(s, e), salt = s.pub || e.pub, "Sigilo_Provision_v1", 32)
 *   envelope = s.pub (32) || AES-256-GCM(k, 0^12, ProvisionMessage, aad = "Sigilo_Provision_v1")
 *   chunk i  = AES-256-GCM(history_key, u96be(i), archive[i*CHUNK .. (i+1)*CHUNK), aad = "Sigilo-History-v1" || u32be(total))
 */
import { concatBytes, generateX25519KeyPairAndAgree, isCanonicalX25519PublicKey, utf8, type ProtocolContext, type X25519KeyPair } from '@sigilo/protocol';
import { ClientError } from './errors.js';
import { base32, fromBase32 } from './ids.js';

const INFO = utf8('Sigilo_Provision_v1');
const HISTORY_AD = utf8('Sigilo-History-v1');
export const HISTORY_CHUNK_BYTES = 256 * 1024;
const QR_VERSION = 1;

export interface LinkCode {
  readonly address: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The code as typed: base32(address (16) || ephemeral public key (32)), in groups of 4. */
export function formatLinkCode(c: LinkCode): string {
  return base32(concatBytes(c.address, c.publicKey)).match(/.{1,4}/g)!.join('-');
}

export function linkQrPayload(c: LinkCode): Uint8Array {
  return concatBytes(Uint8Array.of(QR_VERSION), c.address, c.publicKey);
}

export function parseLinkCode(text: string): LinkCode {
  let b: Uint8Array;
  try {
    b = fromBase32(text);
  } catch {
    throw new ClientError('INVALID_INPUT', 'that is not a link code: copy it exactly as the new device shows it');
  }
  if (b.length === 49 && b[0] === QR_VERSION) b = b.subarray(1);
  if (b.length !== 48) throw new ClientError('INVALID_INPUT', 'a link code is 77 characters (as the new device shows it)');
  const publicKey = b.slice(16);
  if (!isCanonicalX25519PublicKey(publicKey)) throw new ClientError('INVALID_INPUT', 'that link code is damaged: copy it again from the new device');
  return { address: b.slice(0, 16), publicKey };
}

function envelopeKey(ctx: ProtocolContext, shared: Uint8Array, senderPub: Uint8Array, recipientPub: Uint8Array): Uint8Array {
  return ctx.crypto.hkdfSha256(shared, concatBytes(senderPub, recipientPub), INFO, 32);
}

export function sealProvision(ctx: ProtocolContext, recipient: Uint8Array, message: Uint8Array): Uint8Array {
  let agreed: ReturnType<typeof generateX25519KeyPairAndAgree>;
  try {
    agreed = generateX25519KeyPairAndAgree(ctx, [recipient]);
  } catch {
    throw new ClientError('INVALID_INPUT', 'that link code is damaged: copy it again from the new device');
  }
  const { keyPair: s, shared: [dh] } = agreed;
  const k = envelopeKey(ctx, dh!, s.publicKey, recipient);
  const out = concatBytes(s.publicKey, ctx.crypto.aes256GcmEncrypt(k, new Uint8Array(12), message, INFO));
  k.fill(0);
  dh!.fill(0);
  s.privateKey.fill(0);
  return out;
}

export function openProvision(ctx: ProtocolContext, ours: X25519KeyPair, envelope: Uint8Array): Uint8Array {
  if (envelope.length < 32 + 16) throw new ClientError('LINK_FAILED', 'the provisioning message is truncated');
  const senderPub = envelope.subarray(0, 32);
  const dh = ctx.crypto.x25519(ours.privateKey, senderPub);
  const k = envelopeKey(ctx, dh, senderPub, ours.publicKey);
  try {
    return ctx.crypto.aes256GcmDecrypt(k, new Uint8Array(12), envelope.subarray(32), INFO);
  } catch {
    throw new ClientError('LINK_FAILED', 'the provisioning message does not decrypt: was the code typed on the right device?');
  } finally {
    k.fill(0);
    dh.fill(0);
  }
}

function chunkNonce(i: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(8, i);
  return n;
}

function chunkAd(total: number): Uint8Array {
  const t = new Uint8Array(4);
  new DataView(t.buffer).setUint32(0, total);
  return concatBytes(HISTORY_AD, t);
}

/** Splits and encrypts the archive; the chunk count is authenticated, so truncation is detected. */
export function encryptHistory(ctx: ProtocolContext, key: Uint8Array, archive: Uint8Array): Uint8Array[] {
  const total = Math.max(1, Math.ceil(archive.length / HISTORY_CHUNK_BYTES));
  const ad = chunkAd(total);
  return Array.from({ length: total }, (_, i) =>
    ctx.crypto.aes256GcmEncrypt(key, chunkNonce(i), archive.subarray(i * HISTORY_CHUNK_BYTES, (i + 1) * HISTORY_CHUNK_BYTES), ad));
}

export function decryptHistory(ctx: ProtocolContext, key: Uint8Array, chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length !== total) throw new ClientError('LINK_FAILED', `the history archive is incomplete (${chunks.length} of ${total} parts)`);
  const ad = chunkAd(total);
  try {
    return concatBytes(...chunks.map((c, i) => ctx.crypto.aes256GcmDecrypt(key, chunkNonce(i), c, ad)));
  } catch {
    throw new ClientError('LINK_FAILED', 'the history archive does not decrypt (damaged or reordered)');
  }
}
