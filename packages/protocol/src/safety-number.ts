/**
 * Safety numbers (protocol.md §8): a fingerprint of both identities that both
 * sides compute identically, shown as 60 digits or exchanged as a QR payload.
 *
 *   fingerprint(IK, id) = SHA-512^5200 iterated: h0 = SHA-512(0x0000 || IK || id), h(i+1) = SHA-512(h(i) || IK)
 *   digits(f) = for each of the six 5-byte chunks of f[0..30): (u40be(chunk) mod 100000), zero-padded to 5
 *   safety number = the two 30-digit strings, the smaller first
 *   QR payload = 0x01 || fingerprint(local)[0..32) || fingerprint(remote)[0..32)
 */
import type { CryptoProvider } from './crypto/provider.js';
import { bytesEqual, concatBytes } from './bytes.js';
import { InvalidArgumentError } from './errors.js';
import { assertIdentityKey } from './keys.js';

export const SAFETY_NUMBER_ITERATIONS = 5200;
const FINGERPRINT_VERSION = Uint8Array.of(0x00, 0x00);
const QR_VERSION = 1;

export interface SafetyNumberParty {
  /** 64-byte identity public key. */
  readonly identityKey: Uint8Array;
  /** A stable identifier of the person (the account id bytes). */
  readonly stableId: Uint8Array;
}

export interface SafetyNumber {
  /** 60 digits. */
  readonly digits: string;
  /** The QR code payload as this side shows it (local first). */
  readonly qrPayload: Uint8Array;
}

function fingerprint(crypto: CryptoProvider, party: SafetyNumberParty): Uint8Array {
  assertIdentityKey(party.identityKey);
  let h = crypto.sha512(concatBytes(FINGERPRINT_VERSION, party.identityKey, party.stableId));
  const buf = new Uint8Array(64 + party.identityKey.length);
  buf.set(party.identityKey, 64);
  for (let i = 1; i < SAFETY_NUMBER_ITERATIONS; i++) {
    buf.set(h, 0);
    h = crypto.sha512(buf);
  }
  return h;
}

function digits(f: Uint8Array): string {
  let out = '';
  for (let i = 0; i < 30; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + f[i + j]!;
    out += String(v % 100000).padStart(5, '0');
  }
  return out;
}

export function safetyNumber(crypto: CryptoProvider, local: SafetyNumberParty, remote: SafetyNumberParty): SafetyNumber {
  const fl = fingerprint(crypto, local);
  const fr = fingerprint(crypto, remote);
  const dl = digits(fl);
  const dr = digits(fr);
  const qrPayload = new Uint8Array(65);
  qrPayload[0] = QR_VERSION;
  qrPayload.set(fl.subarray(0, 32), 1);
  qrPayload.set(fr.subarray(0, 32), 33);
  return { digits: dl < dr ? dl + dr : dr + dl, qrPayload };
}

/** Formats 60 digits as twelve groups of five, as users read them aloud. */
export function formatSafetyNumber(digitsText: string): string {
  return digitsText.replace(/(\d{5})(?=\d)/g, '$1 ');
}

/**
 * Checks a QR payload scanned from the peer's screen against ours: the peer's
 * local half must be our remote half and vice versa.
 */
export function verifySafetyNumberQr(ours: Uint8Array, scanned: Uint8Array): boolean {
  if (ours.length !== 65) throw new InvalidArgumentError('our QR payload must be 65 bytes');
  if (scanned.length !== 65 || scanned[0] !== QR_VERSION) return false;
  return bytesEqual(scanned.subarray(1, 33), ours.subarray(33, 65)) && bytesEqual(scanned.subarray(33, 65), ours.subarray(1, 33));
}
