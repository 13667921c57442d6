#!/usr/bin/env node
/**
 * Creates an organisation's web release key (Ed25519, PKCS#8 PEM, mode 0600):
 *   npm run release-key -w @sigilo/web -- --out /secure/place/sigilo-release.pem
 * Keep it outside the repository, offline if you can; build with
 *   SIGILO_RELEASE_KEY=/secure/place/sigilo-release.pem npm run build:web
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateReleaseKey, keyFingerprint, publicKeyRaw } from './release.mjs';

let values;
try {
  ({ values } = parseArgs({ options: { out: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
} catch (e) {
  console.error(`${e.message}\nusage: npm run release-key -w @sigilo/web -- --out FILE [--json]`);
  process.exit(2);
}
if (values.help || !values.out) {
  console.log('usage: npm run release-key -w @sigilo/web -- --out FILE [--json]\ncreates an Ed25519 release key (mode 0600) for signing the web app; keep it outside the repository');
  process.exit(values.help ? 0 : 2);
}
const out = resolve(process.env.INIT_CWD ?? process.cwd(), values.out);
if (existsSync(out)) {
  console.error(`${out} already exists; a release key is never overwritten (choose another --out, or delete the old key on purpose)`);
  process.exit(1);
}
const raw = publicKeyRaw(generateReleaseKey(out));
const info = { file: out, publicKey: raw.toString('base64'), fingerprint: keyFingerprint(raw) };
if (values.json) console.log(JSON.stringify(info));
else console.log(`release key written to ${out} (mode 0600)\npublic key  ${info.publicKey}\nfingerprint ${info.fingerprint}\npublish the fingerprint where your people can compare it with the one the app shows in Settings`);
