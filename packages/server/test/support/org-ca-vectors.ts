/** The inputs and outputs of spec/vectors/org-ca.json (scripts/generate-org-ca-vectors.ts; checked by identity-ca-vectors.test.ts). */
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { createCaCertificate, createCrl, createIdentityCertificate, identityKeyUri, type CaSigner } from '../../src/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** An Ed25519 CaSigner from a 32-byte seed (RFC 8410 PKCS#8: a fixed prefix and the seed). */
export function seedSigner(seed: Uint8Array): CaSigner {
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]), format: 'der', type: 'pkcs8' });
  return {
    spki: new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' })),
    sign: (data) => Promise.resolve(new Uint8Array(sign(null, data, key))),
    close() {},
  };
}

export const VECTOR_INPUTS = {
  caSeed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  organisation: 'Acme Logistics',
  now: '2026-01-15T10:00:00.000Z',
  accountId: '00112233445566778899aabbccddeeff',
  // Ed25519 public key of RFC 8032 test 2, then an X25519 public key (RFC 7748 §6.1, Bob's).
  identityKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c' + 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  name: 'Ana Souza',
  serial: '3a1f0c5e7b2d4e6f8091a2b3c4d5e6f7',
  caSerial: '1c01dcafe0000000000000000000000a',
  days: 365,
  crlNumber: 2,
} as const;

export async function orgCaVectors() {
  const i = VECTOR_INPUTS;
  const signer = seedSigner(Buffer.from(i.caSeed, 'hex'));
  const now = new Date(i.now);
  const ca = await createCaCertificate(signer, { organisation: i.organisation, now, serial: i.caSerial });
  const identityKey = Buffer.from(i.identityKey, 'hex');
  const { der: certificate } = await createIdentityCertificate(signer, {
    caCertificate: ca, accountId: Buffer.from(i.accountId, 'hex'), identityKey, name: i.name, serial: i.serial, now, days: i.days,
  });
  const crl = await createCrl(signer, ca, [{ serial: i.serial, revokedAt: new Date(now.getTime() + 86_400_000) }], i.crlNumber, new Date(now.getTime() + 86_400_000));
  return {
    description: 'Organisation identity CA (trust.md §2): a CA certificate, an identity certificate and a CRL revoking it, made from the fixed inputs with Ed25519 (deterministic). `identityFingerprint` is what `sigilo whoami` shows (§4); `identityKeyUri` the subjectAltName URI naming the whole identity key.',
    inputs: i,
    caCertificate: hex(ca),
    caFingerprint: createHash('sha256').update(ca).digest('hex'),
    identityCertificate: hex(certificate),
    identityKeyUri: identityKeyUri(identityKey),
    identityFingerprint: createHash('sha256').update(identityKey).digest('hex').slice(0, 32).match(/.{4}/g)!.join(' '),
    crl: hex(crl),
  };
}
