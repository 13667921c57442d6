/**
 * X25519 agreements of a batch of sealed deliveries, computed ahead and at
 * once by an asynchronous platform primitive (WebCrypto's native X25519 in a
 * browser), then used by the synchronous inbox transaction (client.md §4.1).
 *
 * Unsealing a 1:1 sealed message starts with X25519(our identity's agreement
 * key, the envelope's ephemeral key) (protocol.md §6.3): the one step per
 * message that no cache can save, and the slowest with the portable provider.
 * The results wait in a map keyed by the ephemeral key; the provider seen by
 * the protocol (`withAgreements`) answers such a call from the map (once),
 * anything else as before. A result the async primitive could not give (a
 * low-order key, an unsupported browser) is simply absent: the synchronous
 * path then runs and fails or succeeds exactly as without the prefetch.
 *
 * With the platform's asynchronous HKDF and AES-GCM as well (WebCrypto), the
 * whole sealed layer of every 1:1 delivery of the batch is opened ahead, in
 * parallel (`unsealSenderAsync`: the same steps and checks as the synchronous
 * `unsealSender`), leaving only the ratchet step to the transaction. Again, an
 * envelope that does not open ahead is absent from the map and opened (or
 * rejected with its typed error) by the synchronous path.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { bytesEqual, unsealSenderAsync, type AsyncSymmetricCrypto, type CryptoProvider, type IdentityKeyPair, type ProtocolContext, type SealedSenderCache, type TrustedServerKey, type UnsealedMessage } from '@sigilo/protocol';
import { SealedSenderEnvelopeSchema } from '@sigilo/protocol/gen/sigilo/protocol/v1/wire_pb';
import type { Deliver } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { toHex } from './bytes.js';

/** X25519(privateKey, P) for every P, computed asynchronously; an entry is undefined where it failed. */
export type AsyncAgreement = (privateKey: Uint8Array, publicKeys: readonly Uint8Array[]) => Promise<(Uint8Array | undefined)[]>;

/** Prefetched agreements: ephemeral public key (hex) → the private key used and the shared secret. */
export type AgreementCache = Map<string, { readonly privateKey: Uint8Array; readonly shared: Uint8Array }>;

/** `crypto` answering X25519 calls found in `cache` from it (each once), everything else unchanged. */
export function withAgreements(crypto: CryptoProvider, cache: AgreementCache): CryptoProvider {
  return new Proxy(crypto, {
    get(target, prop, receiver) {
      if (prop !== 'x25519') return Reflect.get(target, prop, receiver) as unknown;
      return (privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array => {
        if (cache.size > 0) {
          const k = toHex(publicKey);
          const hit = cache.get(k);
          if (hit && bytesEqual(hit.privateKey, privateKey)) {
            cache.delete(k);
            return hit.shared;
          }
        }
        return target.x25519(privateKey, publicKey);
      };
    },
  });
}

/** Computes the sealed envelopes' agreements of `batch` into `cache` (nothing on any failure). */
export async function prefetchAgreements(agree: AsyncAgreement, privateKey: Uint8Array, batch: readonly Deliver[], cache: AgreementCache): Promise<void> {
  const keys: Uint8Array[] = [];
  for (const d of batch) {
    if (!d.sealed || d.recipientHeader.length > 0) continue;
    try {
      const env = fromBinary(SealedSenderEnvelopeSchema, d.content);
      if (env.ephemeralKey.length === 32) keys.push(env.ephemeralKey);
    } catch { /* malformed: the inbox reports it */ }
  }
  if (keys.length === 0) return;
  let shared: (Uint8Array | undefined)[];
  try {
    shared = await agree(privateKey, keys);
  } catch {
    return;
  }
  keys.forEach((k, i) => {
    const s = shared[i];
    if (s?.length === 32) cache.set(toHex(k), { privateKey, shared: s });
  });
}

/** Envelopes opened ahead (unsealSenderAsync), by their delivery; each is taken once by the inbox transaction. */
export type UnsealedCache = Map<Deliver, UnsealedMessage>;

/**
 * Opens the sealed 1:1 envelopes of `batch` into `into` with `symmetric` (after prefetchAgreements, whose
 * results `ctx.crypto` answers from). Certificates are checked at each delivery's server time, as the inbox does.
 */
export async function prefetchUnseal(
  ctx: ProtocolContext, symmetric: AsyncSymmetricCrypto, ours: IdentityKeyPair, trusted: readonly TrustedServerKey[], cache: SealedSenderCache,
  batch: readonly Deliver[], into: UnsealedCache,
): Promise<void> {
  await Promise.all(batch.map(async (d) => {
    if (!d.sealed || d.recipientHeader.length > 0) return;
    try {
      into.set(d, await unsealSenderAsync(ctx, symmetric, ours, d.content, trusted, Number(d.serverTimestamp), cache));
    } catch { /* opened again, and reported, by the synchronous path */ }
  }));
}
