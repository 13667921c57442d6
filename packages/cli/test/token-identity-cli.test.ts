/**
 * An account whose identity signing key lives on a PKCS#11 token (spec/trust.md §7.1), through the built
 * `sigilo` command against the real server over TLS and a real SoftHSM2 token in a temporary directory:
 * `register --pkcs11-module --token` makes the key on the token (sensitive, not extractable: reading its
 * value is refused) and the store keeps only where it is; 1:1 messages with a software account; a group
 * change and a signed read receipt signed on the token, verified by the peer and by `sigilo verify-receipt`;
 * a second device linked with the token; a backup without the key, restored with the token; an extractable
 * key refused; a wrong PIN and an absent token are IDENTITY_KEY_UNAVAILABLE with what to do, and a 1:1
 * message still goes without the token.
 */
import { spawn } from 'node:child_process';
import { scryptSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { hasSoftHsm, makeToken, type TestToken } from '../../server/test/support/softhsm.js';
import { SqlCipherStore, readBackup } from '../../client-node/src/index.js';
import { nodeCrypto, systemRandom } from '../../protocol/src/crypto/node.js';
import { IdentityKeyPairStructureSchema } from '../../protocol/src/gen/sigilo/protocol/v1/storage_pb.js';
import { MAIN, assertBuilt, cliPerson, firstLine, introduce, registered, sigilo, type CliPerson } from './support/sigilo.js';

if (!hasSoftHsm) console.warn('token-identity-cli: SoftHSM2 (softhsm2-util and libsofthsm2.so) is not installed: skipped (SIGILO_REQUIRE_SOFTHSM=1 makes this an error)');

/** The identity record a CLI store keeps (opened after the command exited). */
function storedIdentity(p: CliPerson): ReturnType<typeof fromBinary<typeof IdentityKeyPairStructureSchema>> {
  const store = SqlCipherStore.open(p.dir, p.env.SIGILO_PASSPHRASE!);
  try {
    return fromBinary(IdentityKeyPairStructureSchema, store.getMeta('identity')!);
  } finally {
    store.close();
  }
}

describe.skipIf(!hasSoftHsm)('an identity key on a PKCS#11 token (SoftHSM2) through the sigilo command', () => {
  let t: TestServer;
  let root: string;
  let token: TestToken;
  let ana: CliPerson, bruno: CliPerson, ana2: CliPerson;
  let httpsUrl: string;
  /** Ana's public identity signing key as the token gives it. */
  let tokenPublic: Buffer;

  beforeAll(async () => {
    assertBuilt();
    t = await startTestServer();
    httpsUrl = t.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-cli-token-'));
    token = makeToken('ana-card', '246810');
    bruno = await registered(t, root, 'bruno');
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    token?.remove();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const withToken = (p: CliPerson): CliPerson => {
    Object.assign(p.env, { SOFTHSM2_CONF: token.conf, SIGILO_PKCS11_PIN: token.pin });
    return p;
  };

  it('register --pkcs11-module --token makes the key on the token; it is not extractable and the store holds only its reference', async () => {
    ana = withToken(cliPerson(root, 'ana'));
    expect((await ana.run(['init', httpsUrl, '--fingerprint', t.server.tls.fingerprint])).code).toBe(0);
    const { code } = await t.server.admin.createInvite();
    // Without a PIN (no terminal, no SIGILO_PKCS11_PIN) registration is refused before anything is made.
    const noPin = await ana.run(['register', '--invite', code, '--pkcs11-module', token.module, '--token', token.label], { env: { SIGILO_PKCS11_PIN: '' } });
    expect(noPin.code).toBe(2);
    expect(noPin.err).toMatch(/identity key is on the token "ana-card": set SIGILO_PKCS11_PIN/);
    const reg = await ana.run(['register', '--invite', code, '--pkcs11-module', token.module, '--token', token.label, '--json'], { timeoutMs: 60_000 });
    expect(reg.code, reg.err).toBe(0);
    expect(reg.err).toMatch(/Made the identity key on the token "ana-card"/);
    const info = JSON.parse(reg.out) as { accountId: string; contactCard: string; identityKeyOnToken: string };
    expect(info.identityKeyOnToken).toBe('ana-card');
    ana.accountId = info.accountId;
    ana.card = info.contactCard;

    // On the token: one Ed25519 private key, sensitive, never extractable; its value cannot be read.
    const p11js = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
    const p11 = new p11js.PKCS11();
    p11.load(token.module);
    p11.C_Initialize();
    try {
      const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === token.label)!;
      const session = p11.C_OpenSession(slot, p11js.CKF_SERIAL_SESSION | p11js.CKF_RW_SESSION);
      p11.C_Login(session, p11js.CKU_USER, token.pin);
      p11.C_FindObjectsInit(session, [{ type: p11js.CKA_CLASS, value: p11js.CKO_PRIVATE_KEY }]);
      const key = p11.C_FindObjects(session)!;
      expect(p11.C_FindObjects(session)).toBeNull();
      p11.C_FindObjectsFinal(session);
      const [sensitive, extractable, neverExtractable, keyType] = p11.C_GetAttributeValue(session, key, [
        { type: p11js.CKA_SENSITIVE }, { type: p11js.CKA_EXTRACTABLE }, { type: p11js.CKA_NEVER_EXTRACTABLE }, { type: p11js.CKA_KEY_TYPE },
      ]);
      expect((sensitive!.value as Buffer)[0]).toBe(1);
      expect((extractable!.value as Buffer)[0]).toBe(0);
      expect((neverExtractable!.value as Buffer)[0]).toBe(1);
      expect((keyType!.value as Buffer).readUInt32LE(0)).toBe(0x40); // CKK_EC_EDWARDS
      expect(() => p11.C_GetAttributeValue(session, key, [{ type: p11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      p11.C_FindObjectsInit(session, [{ type: p11js.CKA_CLASS, value: p11js.CKO_PUBLIC_KEY }]);
      const pub = p11.C_FindObjects(session)!;
      p11.C_FindObjectsFinal(session);
      const point = p11.C_GetAttributeValue(session, pub, [{ type: p11js.CKA_EC_POINT }])[0]!.value as Buffer;
      tokenPublic = point.length === 34 ? point.subarray(2) : point;
      // A key that could leave the token (made here as extractable), for the refusal below.
      const label = Buffer.from('loose-key');
      p11.C_GenerateKeyPair(session, { mechanism: 0x1055 }, [
        { type: p11js.CKA_KEY_TYPE, value: 0x40 }, { type: p11js.CKA_TOKEN, value: true }, { type: p11js.CKA_VERIFY, value: true },
        { type: p11js.CKA_EC_PARAMS, value: Buffer.from('06032b6570', 'hex') }, { type: p11js.CKA_LABEL, value: label }, { type: p11js.CKA_ID, value: Buffer.from('loose') },
      ], [
        { type: p11js.CKA_KEY_TYPE, value: 0x40 }, { type: p11js.CKA_TOKEN, value: true }, { type: p11js.CKA_PRIVATE, value: true }, { type: p11js.CKA_SIGN, value: true },
        { type: p11js.CKA_SENSITIVE, value: false }, { type: p11js.CKA_EXTRACTABLE, value: true }, { type: p11js.CKA_LABEL, value: label }, { type: p11js.CKA_ID, value: Buffer.from('loose') },
      ]);
      p11.C_Logout(session);
      p11.C_CloseSession(session);
    } finally {
      p11.C_Finalize();
    }

    // The store: the identity's public key is the token's key, and no signing key is kept, only where it lives.
    const stored = storedIdentity(ana);
    expect(stored.signingPrivate).toHaveLength(0);
    expect(Buffer.from(stored.publicKey.subarray(0, 32)).equals(tokenPublic)).toBe(true);
    expect(stored.signingToken).toMatchObject({ module: token.module, tokenLabel: 'ana-card' });
    expect(stored.signingToken!.keyId).toHaveLength(16);
    // The PIN is nowhere in the client's directory (the store is encrypted; its plaintext was checked above).
    for (const f of ['store.db', 'store.salt']) expect(readFileSync(join(ana.dir, f)).includes(Buffer.from(token.pin))).toBe(false);
    const who = await ana.run(['whoami']);
    expect(who.out).toMatch(/Identity signing key: on the token "ana-card"/);
    // An existing key that could leave the token is refused for an identity.
    const loose = withToken(cliPerson(root, 'loose'));
    expect((await loose.run(['init', httpsUrl, '--fingerprint', t.server.tls.fingerprint])).code).toBe(0);
    const refused = await loose.run(['register', '--invite', (await t.server.admin.createInvite()).code, '--pkcs11-module', token.module, '--token', token.label, '--key-label', 'loose-key']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/the key labelled "loose-key" on the token could leave it .*choose another label.*\[IDENTITY_KEY_UNAVAILABLE\]/s);
    // A software account, for contrast, keeps its 32-byte seed.
    expect(storedIdentity(bruno).signingPrivate).toHaveLength(32);
  }, 120_000);

  it('1:1 messages both ways with a software account (prekeys signed on the token verify at the peer)', async () => {
    await introduce(ana, bruno);
    for (const [a, b, text] of [[ana, bruno, 'hello from the card'], [bruno, ana, 'hello back']] as const) {
      const sent = await a.run(['send', b.name, text]);
      expect(sent.code, sent.err).toBe(0);
      const inbox = await b.run(['inbox']);
      expect(inbox.code, inbox.err).toBe(0);
      expect(inbox.out).toContain(text);
    }
  }, 120_000);

  it('a group change signed on the token is accepted by the member; a renaming too', async () => {
    const created = await ana.run(['group', 'create', 'team', 'bruno', '--json']);
    expect(created.code, created.err).toBe(0);
    const renamed = await ana.run(['group', 'rename', 'team', 'crew']);
    expect(renamed.code, renamed.err).toBe(0);
    expect((await bruno.run(['inbox'])).code).toBe(0);
    const shown = await bruno.run(['group', 'show', 'crew', '--json']);
    expect(shown.code, shown.err).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({ name: 'crew', revision: 1 });
  }, 120_000);

  it('a signed read receipt made on the token verifies at the sender and with sigilo verify-receipt', async () => {
    expect((await ana.run(['receipts', 'bruno', '--signed', 'on'])).code).toBe(0);
    const sent = JSON.parse((await bruno.run(['send', 'ana', 'please sign for this', '--json'])).out) as { messageId: string };
    expect((await ana.run(['inbox'])).out).toContain('please sign for this');
    expect((await bruno.run(['inbox'])).code).toBe(0);
    const file = join(root, 'receipt.json');
    const exported = await bruno.run(['export-receipts', 'ana', sent.messageId.slice(0, 12), file]);
    expect(exported.code, exported.err).toBe(0);
    const ok = await sigilo(['verify-receipt', file, '--json']);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ valid: true, text: 'please sign for this', receipts: [{ reader: ana.accountId }] });
    // The receipt's reader key is the token's key (its Ed25519 half).
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { receipts: { readerIdentityKey: string }[] };
    expect(doc.receipts[0]!.readerIdentityKey.slice(0, 64)).toBe(tokenPublic.toString('hex'));
  }, 120_000);

  it('a second CLI device links with the token; it holds no signing key either and its messages arrive', async () => {
    ana2 = withToken(cliPerson(root, 'ana2'));
    expect((await ana2.run(['init', httpsUrl, '--fingerprint', t.server.tls.fingerprint])).code).toBe(0);
    const child = spawn(process.execPath, [MAIN, 'link', '--json', '--dir', ana2.dir], { env: { PATH: process.env.PATH, ...ana2.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', r));
    const { code } = JSON.parse(await firstLine(() => ({ out, err }), 'sigilo link to print its code')) as { code: string };
    const approved = await ana.run(['link', '--approve', code], { timeoutMs: 60_000 });
    expect(approved.code, approved.err).toBe(0);
    expect(await exited, err).toBe(0);
    expect(JSON.parse(out.split('\n')[1]!)).toMatchObject({ linked: true, accountId: ana.accountId, deviceId: 2 });
    const stored = storedIdentity(ana2);
    expect(stored.signingPrivate).toHaveLength(0);
    expect(stored.signingToken?.tokenLabel).toBe('ana-card');
    expect((await bruno.run(['inbox'])).code).toBe(0); // learns of Ana's new device
    // A third device without the PIN: refused before it is added, saying how to give the PIN.
    const ana3 = cliPerson(root, 'ana3');
    Object.assign(ana3.env, { SOFTHSM2_CONF: token.conf });
    expect((await ana3.run(['init', httpsUrl, '--fingerprint', t.server.tls.fingerprint])).code).toBe(0);
    const third = spawn(process.execPath, [MAIN, 'link', '--json', '--dir', ana3.dir], { env: { PATH: process.env.PATH, ...ana3.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out3 = '', err3 = '';
    third.stdout.on('data', (d: Buffer) => (out3 += d.toString()));
    third.stderr.on('data', (d: Buffer) => (err3 += d.toString()));
    const exited3 = new Promise<number | null>((r) => third.once('close', r));
    const code3 = (JSON.parse(await firstLine(() => ({ out: out3, err: err3 }), 'the third device\'s sigilo link to print its code')) as { code: string }).code;
    expect((await ana.run(['link', '--approve', code3], { timeoutMs: 60_000 })).code).toBe(0);
    expect(await exited3).toBe(1);
    expect(err3).toMatch(/identity key is on the token "ana-card": its PIN is needed.*sigilo link --token LABEL.*\[IDENTITY_KEY_UNAVAILABLE\]/s);
    expect(JSON.parse((await ana.run(['devices', '--json'])).out)).toHaveLength(2);

    const sent = await ana2.run(['send', 'bruno', 'from the second device']);
    expect(sent.code, sent.err).toBe(0);
    expect((await bruno.run(['inbox'])).out).toContain('from the second device');
  }, 180_000);

  it('a backup holds the token reference, not the key, and says so; restoring it needs the token', async () => {
    const r = await ana.run(['backup', join(root, 'ana.sigilo-backup')], { timeoutMs: 60_000 });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/signing key is on the token "ana-card" and is NOT in this backup/);
    const j = await ana.run(['backup', join(root, 'ana2.sigilo-backup'), '--json'], { timeoutMs: 60_000 });
    expect(j.code, j.err).toBe(0);
    const { recoveryCode, identityKeyOnToken } = JSON.parse(j.out) as { recoveryCode: string; identityKeyOnToken: string };
    expect(identityKeyOnToken).toBe('ana-card');
    const opened = await readBackup({ crypto: nodeCrypto, random: systemRandom }, (async function* () { yield new Uint8Array(readFileSync(join(root, 'ana2.sigilo-backup'))); })(), recoveryCode, {
      scrypt: (pw, salt, k) => new Uint8Array(scryptSync(pw, salt, 32, { N: 2 ** k.log2N, r: k.r, p: k.p, maxmem: 512 * 1024 * 1024 })),
    });
    const identity = fromBinary(IdentityKeyPairStructureSchema, opened.account.identityKeyPair);
    expect(identity.signingPrivate).toHaveLength(0);
    expect(identity.signingToken?.tokenLabel).toBe('ana-card');
    expect(Buffer.from(identity.publicKey.subarray(0, 32)).equals(tokenPublic)).toBe(true);

    // Restoring it needs the token: without the PIN nothing is restored; with it, a new device of the account.
    const backupFile = join(root, 'ana2.sigilo-backup');
    const noPin = withToken(cliPerson(root, 'ana-restore-nopin'));
    const refused = await noPin.run(['restore', backupFile], { env: { SIGILO_RECOVERY_CODE: recoveryCode, SIGILO_PKCS11_PIN: '' }, timeoutMs: 90_000 });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/its PIN is needed.*\[IDENTITY_KEY_UNAVAILABLE\]/s);
    const restorer = withToken(cliPerson(root, 'ana-restored'));
    const restored = await restorer.run(['restore', backupFile], { env: { SIGILO_RECOVERY_CODE: recoveryCode }, timeoutMs: 90_000 });
    expect(restored.code, restored.err).toBe(0);
    expect(storedIdentity(restorer).signingPrivate).toHaveLength(0);
    expect(JSON.parse((await ana.run(['devices', '--json'])).out)).toHaveLength(3);
  }, 180_000);

  it('a wrong PIN and an absent token are IDENTITY_KEY_UNAVAILABLE saying what to do; a 1:1 message still goes without the token', async () => {
    const wrong = await ana.run(['group', 'rename', 'crew', 'wrong-pin'], { env: { SIGILO_PKCS11_PIN: '000000' } });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/the token "ana-card" refused the PIN .*CKR_PIN_INCORRECT.*SIGILO_PKCS11_PIN.*\[IDENTITY_KEY_UNAVAILABLE\]/s);

    // The token unplugged: a SoftHSM configuration whose token directory is empty.
    const empty = join(root, 'no-token');
    mkdirSync(join(empty, 'tokens'), { recursive: true });
    writeFileSync(join(empty, 'softhsm2.conf'), `directories.tokendir = ${join(empty, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const absentEnv = { SOFTHSM2_CONF: join(empty, 'softhsm2.conf') };
    const absent = await ana.run(['group', 'rename', 'crew', 'no-token'], { env: absentEnv });
    expect(absent.code).toBe(1);
    expect(absent.err).toMatch(/the token "ana-card" that holds this account's identity key is not present.*insert it and try again.*\[IDENTITY_KEY_UNAVAILABLE\]/s);
    const sent = await ana.run(['send', 'bruno', 'sent without the card'], { env: absentEnv });
    expect(sent.code, sent.err).toBe(0);
    expect((await bruno.run(['inbox'])).out).toContain('sent without the card');
    // Nothing was renamed by the refused attempts.
    expect(JSON.parse((await bruno.run(['group', 'show', 'crew', '--json'])).out)).toMatchObject({ name: 'crew', revision: 1 });
  }, 180_000);
});
