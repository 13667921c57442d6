/**
 * Attack on the first pin of the organisation's identity CA (spec/trust.md §6.1): a device pins the first CA the
 * server offers. Whoever runs the server (no access to the real CA's key) puts a CA of their own in
 * DATA/identity-ca before a new member's device first connects, with the policy that a certificate counts as
 * verification, and certifies an account of theirs as a colleague: that device pins it and shows the impostor
 * as certified and trusted. `sigilo init --identity-ca FP` (the real CA's fingerprint, given by the administrator)
 * pins only that CA: the operator's is refused, and the real one is pinned once offered. A device linked later
 * gets the pin (or the expected fingerprint) from the approving device, so the operator's CA is refused there too.
 * Built CLI, real server over TLS.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { assertBuilt, cliPerson, introduce, linkedDevice, registered, sigilo, type CliPerson } from './support/sigilo.js';

interface ContactJson { name: string; trustedBy: string | null; certificate: { state: string; name?: string } | null }

describe('attack: a CA of the server operator pinned at a new device\'s first connection', () => {
  let t: TestServer;
  let root: string;
  let mallory: CliPerson;
  let realFp: string;
  let dora: CliPerson;
  const admin = (args: string[]) => sigilo(['admin', 'ca', ...args, '--data', t.dataDir], { timeoutMs: 60_000 });
  const caDir = () => join(t.dataDir, 'identity-ca');

  async function newMember(name: string, identityCa?: string): Promise<CliPerson> {
    const p = cliPerson(root, name);
    const init = await p.run(['init', t.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, ''), '--fingerprint', t.server.tls.fingerprint, ...(identityCa ? ['--identity-ca', identityCa] : [])]);
    expect(init.code, init.err).toBe(0);
    if (identityCa) expect(init.out).toContain(`Pinned identity CA: ${identityCa.replace(/[\s:]/g, '').toLowerCase().match(/.{4}/g)!.join(' ')}`);
    else expect(init.out).not.toContain('identity CA');
    const reg = await p.run(['register', '--invite', (await t.server.admin.createInvite()).code, '--json']);
    expect(reg.code, reg.err).toBe(0);
    const info = JSON.parse(reg.out) as { accountId: string; contactCard: string };
    p.accountId = info.accountId;
    p.card = info.contactCard;
    return p;
  }
  const impostor = async (p: CliPerson) => (JSON.parse((await p.run(['contacts', '--json'])).out) as ContactJson[]).find((c) => c.name === 'mallory')!;

  beforeAll(async () => {
    assertBuilt();
    t = await startTestServer();
    root = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'sigilo-attack-capin-'));
    mallory = await registered(t, root, 'mallory');
    const init = await admin(['init', '--org', 'Acme Logistics', '--certified-counts-as-verified', '--json']);
    expect(init.code, init.err).toBe(0);
    realFp = (JSON.parse(init.out) as { fingerprint: string }).fingerprint;
    // The operator swaps in a CA of their own and certifies Mallory as Ana Silva with it.
    renameSync(caDir(), `${caDir()}.real`);
    expect((await admin(['init', '--org', 'Acme Logistics', '--certified-counts-as-verified'])).code).toBe(0);
    expect((await admin(['certify', mallory.accountId, '--name', 'Ana Silva', '--yes'])).code).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('without --identity-ca the new device pins the operator\'s CA and trusts the impostor (what the pin prevents)', async () => {
    const carla = await newMember('carla');
    await introduce(carla, mallory);
    expect(await impostor(carla)).toMatchObject({ trustedBy: 'organisation', certificate: { state: 'certified', name: 'Ana Silva' } });
  }, 120_000);

  it('with --identity-ca the operator\'s CA is not pinned; the real one is once the server offers it', async () => {
    dora = await newMember('dora', realFp);
    await introduce(dora, mallory);
    const seen = await impostor(dora);
    expect(seen.trustedBy).toBeNull();
    expect(seen.certificate?.state ?? 'no-ca').not.toBe('certified');
    expect((await dora.run(['whoami'])).out).not.toMatch(/Organisation CA/);

    rmSync(caDir(), { recursive: true, force: true });
    renameSync(`${caDir()}.real`, caDir());
    const who = await dora.run(['whoami']);
    expect(who.out).toContain(`Organisation CA: Acme Logistics (fingerprint ${realFp})`);
    expect((await impostor(dora)).trustedBy).toBeNull();
  }, 120_000);

  it('a device linked later keeps its account\'s pin: the operator\'s CA offered at its first connection is refused', async () => {
    // Dora's first device pinned the real CA (above). The operator swaps in a CA of their own again.
    renameSync(caDir(), `${caDir()}.real`);
    expect((await admin(['init', '--org', 'Acme Logistics', '--certified-counts-as-verified'])).code).toBe(0);
    expect((await admin(['certify', mallory.accountId, '--name', 'Ana Silva', '--yes'])).code).toBe(0);
    const phone = await linkedDevice(t, root, dora, 'dora-phone');
    expect((await phone.run(['whoami'])).out).toContain(`Organisation CA: Acme Logistics (fingerprint ${realFp})`);
    const seen = await impostor(phone);
    expect(seen.trustedBy).toBeNull();
    expect(seen.certificate?.state).not.toBe('certified');

    // Erin was given the fingerprint but has seen only the operator's CA: nothing pinned, and her new device gets the
    // fingerprint, so it pins nothing either (without it, it pinned the operator's CA and trusted Mallory as Ana).
    const erin = await newMember('erin', realFp);
    await introduce(erin, mallory);
    const tablet = await linkedDevice(t, root, erin, 'erin-tablet');
    expect((await tablet.run(['whoami'])).out).not.toMatch(/Organisation CA/);
    const seenByTablet = await impostor(tablet);
    expect(seenByTablet.trustedBy).toBeNull();
    expect(seenByTablet.certificate?.state ?? 'no-ca').not.toBe('certified');
  }, 180_000);

  it('a malformed --identity-ca is a usage error', async () => {
    const r = await cliPerson(root, 'eve').run(['init', 'https://127.0.0.1:1', '--fingerprint', t.server.tls.fingerprint, '--identity-ca', 'abcd']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--identity-ca: the identity CA's SHA-256/);
  }, 60_000);
});
