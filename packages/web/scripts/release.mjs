/**
 * The signed release manifest of the web app (spec/web.md §2).
 *
 * release.json = { format, manifest: base64(manifest JSON bytes), signature: base64(Ed25519
 * over CONTEXT || manifest bytes), keyId }. The signature covers the exact bytes, so no
 * canonical JSON is needed. The manifest lists every file the app is made of, with its SHA-256.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export const RELEASE_FORMAT = 'sigilo-web-release/1';
/** Domain separation: a release signature is never a valid signature of anything else. */
export const SIGNING_CONTEXT = 'sigilo-web-release-v1\n';
export const RELEASE_FILE = 'release.json';

/** Raw 32-byte Ed25519 public key of a PEM private key. */
export function publicKeyRaw(privatePem) {
  const jwk = createPublicKey(createPrivateKey(privatePem)).export({ format: 'jwk' });
  return Buffer.from(jwk.x, 'base64url');
}

/** SHA-256 of the raw public key, in groups of 4 hex digits: what an organisation publishes. */
export function keyFingerprint(raw) {
  return createHash('sha256').update(raw).digest('hex').match(/.{4}/g).join(' ');
}

export function generateReleaseKey(path) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return pem.toString();
}

/** Reads a release key file; refuses one that others can read. */
export function readReleaseKey(path) {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) throw new Error(`the release key ${path} can be read by other users; run: chmod 600 ${path}`);
  const pem = readFileSync(path, 'utf8');
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the release key ${path} is not an Ed25519 key; create one with: npm run release-key -w @sigilo/web -- --out ${path}`);
  return pem;
}

function walk(root, dir = root) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(root, p);
    return e.isFile() ? ['/' + relative(root, p).split(sep).join('/')] : [];
  });
}

/** Hashes every file under dir (but release.json) into a manifest, signs it, writes dir/release.json. */
export function writeRelease(dir, privatePem, { version, buildTime = Date.now() }) {
  const files = {};
  for (const path of walk(dir).sort()) {
    if (path === '/' + RELEASE_FILE) continue;
    files[path] = createHash('sha256').update(readFileSync(join(dir, path))).digest('hex');
  }
  const manifest = Buffer.from(JSON.stringify({ format: RELEASE_FORMAT, version, buildTime, files }), 'utf8');
  const signature = sign(null, Buffer.concat([Buffer.from(SIGNING_CONTEXT), manifest]), createPrivateKey(privatePem));
  const raw = publicKeyRaw(privatePem);
  const release = {
    format: RELEASE_FORMAT,
    keyId: createHash('sha256').update(raw).digest('hex').slice(0, 16),
    manifest: manifest.toString('base64'),
    signature: signature.toString('base64'),
  };
  writeFileSync(join(dir, RELEASE_FILE), JSON.stringify(release, null, 1) + '\n');
  return { files, version, buildTime, manifestSha256: createHash('sha256').update(manifest).digest('hex') };
}

/** Verifies dir/release.json against a raw public key and every file's hash (what the service worker does, in Node). */
export function verifyRelease(dir, raw) {
  const release = JSON.parse(readFileSync(join(dir, RELEASE_FILE), 'utf8'));
  const manifest = Buffer.from(release.manifest, 'base64');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  if (!verify(null, Buffer.concat([Buffer.from(SIGNING_CONTEXT), manifest]), key, Buffer.from(release.signature, 'base64'))) {
    throw new Error('release.json: the signature is not valid for this release key');
  }
  const m = JSON.parse(manifest.toString('utf8'));
  for (const [path, hash] of Object.entries(m.files)) {
    const p = join(dir, path);
    const got = existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'missing';
    if (got !== hash) throw new Error(`${path}: expected sha256 ${hash}, got ${got}`);
  }
  return m;
}
