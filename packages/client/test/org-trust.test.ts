/**
 * Organisation-certified identities on the device (spec/trust.md §6), against the real server over
 * TLS with the CA made by the server package's IdentityCaDirectory: certificates fetched and checked
 * on the client, a revocation pushed to an online client within seconds, a revoked contact held
 * like a changed key, an old CRL, a certificate from another CA and another CA refused. Also the
 * signed-receipt setting synced to the person's other device.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '@sigilo/protocol';
import { IdentityCaDirectory, toPem } from '../../server/src/index.js';
import { World, introduce, nextEvent } from './support.js';
import { ClientError, type SigiloClient } from '../src/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('organisation identity CA on the client', () => {
  let world: World;
  let ana: SigiloClient, bruno: SigiloClient, carla: SigiloClient;
  let ca: IdentityCaDirectory;
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'org-trust-'));

  beforeAll(async () => {
    world = await World.start();
    ana = await world.person('ana');
    bruno = await world.person('bruno');
    carla = await world.person('carla');
    introduce(ana, 'ana', bruno, 'bruno');
    introduce(bruno, 'bruno', carla, 'carla');
    // Identity keys are learnt from a first message.
    const got = nextEvent(bruno, 'message', (e) => e.message.text === 'hi');
    await ana.sendText(bruno.accountId!, 'hi');
    await got;
    const got2 = nextEvent(bruno, 'message', (e) => e.message.text === 'hola');
    await carla.sendText(bruno.accountId!, 'hola');
    await got2;
    ca = new IdentityCaDirectory(world.server.dataDir);
  }, 60_000);
  afterAll(async () => {
    await world?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('without a CA every status is no-ca; the CA is pinned on first fetch', async () => {
    await bruno.refreshOrgTrust();
    expect(bruno.certificateStatus(ana.accountId!)).toEqual({ state: 'no-ca' });
    expect(bruno.orgCa()).toBeUndefined();
    await ca.init('Acme Logistics', { kind: 'file' }, new Date());
    await bruno.refreshOrgTrust();
    await ana.refreshOrgTrust();
    expect(bruno.orgCa()?.organisation).toBe('Acme Logistics');
    expect(bruno.certificateStatus(ana.accountId!)).toEqual({ state: 'uncertified' });
  });

  it('a certified contact and one\'s own account show "certified" with the organisation and name', async () => {
    const signer = ca.openSigner(undefined);
    await ca.certify(signer, { accountId: ana.accountId!, identityKey: ana.identity.publicKey, name: 'Ana Souza', days: 365 }, new Date());
    signer.close();
    const pushed = nextEvent(bruno, 'org-trust');
    expect(world.server.server.admin.publishOrgTrust().pushed).toBeGreaterThanOrEqual(3);
    await pushed;
    await bruno.refreshOrgTrust();
    await ana.refreshOrgTrust();
    expect(bruno.certificateStatus(ana.accountId!)).toMatchObject({ state: 'certified', organisation: 'Acme Logistics', name: 'Ana Souza', staleCrl: false });
    // This CA does not say a certificate suffices: Ana is not trusted without a check.
    expect(bruno.trusted(ana.accountId!)).toEqual({ trusted: false, by: undefined });
    // Once the CRL is past its nextUpdate (90 days), the status says so.
    expect(bruno.certificateStatus(ana.accountId!, Date.now() + 91 * 86_400_000)).toMatchObject({ state: 'certified', staleCrl: true });
    expect(ana.certificateStatus(ana.accountId!)).toMatchObject({ state: 'certified', name: 'Ana Souza' });
    // Past its end the same certificate reads as expired.
    expect(bruno.certificateStatus(ana.accountId!, Date.now() + 400 * 86_400_000)).toMatchObject({ state: 'expired' });
  });

  it('a revocation reaches an online client at once, and sending to the contact is held until accepted', async () => {
    const oldCrl = join(scratch, 'crl-before.der');
    copyFileSync(join(ca.dir, 'crl.der'), oldCrl);
    const signer = ca.openSigner(undefined);
    await ca.revoke(signer, { accountId: ana.accountId! }, new Date());
    signer.close();
    const seen = nextEvent(bruno, 'org-trust', (e) => e.revoked.some((a) => bytesEqual(a, ana.accountId!)), 5_000);
    const t0 = performance.now();
    world.server.server.admin.publishOrgTrust();
    await seen;
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(5_000);
    console.log(`org-trust: revocation seen by the online client ${ms.toFixed(1)} ms after the push`);
    expect(bruno.certificateStatus(ana.accountId!)).toMatchObject({ state: 'revoked', accepted: false });
    await expect(bruno.sendText(ana.accountId!, 'are you there?')).rejects.toMatchObject({ code: 'CERTIFICATE_REVOKED' });
    // An older CRL served again (a replay) does not un-revoke.
    copyFileSync(oldCrl, join(ca.dir, 'crl.der'));
    world.server.server.admin.publishOrgTrust();
    await bruno.refreshOrgTrust();
    expect(bruno.certificateStatus(ana.accountId!).state).toBe('revoked');
    // Accepted by the person (after checking in person): sending goes on.
    expect(bruno.acceptRevokedCertificate(ana.accountId!)).toBe(true);
    expect(bruno.certificateStatus(ana.accountId!)).toMatchObject({ state: 'revoked', accepted: true });
    const got = nextEvent(ana, 'message', (e) => e.message.text === 'checked in person');
    await bruno.sendText(ana.accountId!, 'checked in person');
    await got;
  });

  it('a certificate from another CA, or for another key, does not certify', async () => {
    const other = new IdentityCaDirectory(join(scratch, 'other'));
    await other.init('Acme Logistics', { kind: 'file' }, new Date());
    const otherSigner = other.openSigner(undefined);
    const forged = await other.certify(otherSigner, { accountId: carla.accountId!, identityKey: carla.identity.publicKey, name: 'Carla', days: 30 }, new Date());
    otherSigner.close();
    writeFileSync(join(ca.dir, 'certs', `${hex(carla.accountId!)}.der`), forged.der);
    await bruno.refreshOrgTrust();
    expect(bruno.certificateStatus(carla.accountId!)).toEqual({ state: 'uncertified' });
    // Our CA, but for a key that is not Carla's.
    const signer = ca.openSigner(undefined);
    const wrongKey = Uint8Array.from(ana.identity.publicKey);
    await ca.certify(signer, { accountId: carla.accountId!, identityKey: wrongKey, name: 'Carla', days: 30 }, new Date());
    signer.close();
    await bruno.refreshOrgTrust();
    expect(bruno.certificateStatus(carla.accountId!)).toMatchObject({ state: 'other-key' });
  });

  it('a server offering another CA is refused and reported; the pinned CA stays', async () => {
    const pinned = bruno.orgCa()!.fingerprint;
    const other = new IdentityCaDirectory(join(scratch, 'swap'));
    await other.init('Evil Corp', { kind: 'file' }, new Date());
    writeFileSync(join(ca.dir, 'ca.crt'), toPem('CERTIFICATE', other.caCertificate()));
    const changed = nextEvent(bruno, 'org-trust', (e) => e.caChanged === true, 5_000);
    world.server.server.admin.publishOrgTrust();
    await changed;
    expect(bruno.orgCa()!.fingerprint).toBe(pinned);
  });

  it('the signed-receipt setting follows the person to their other device', async () => {
    const second = await world.newClient('bruno-2');
    const pending = await second.startLink();
    await bruno.approveLink(pending.code);
    await pending.completed;
    await second.connect({ reconnect: false });
    expect(second.signedReceiptsOn(ana.accountId!)).toBe(false);
    bruno.setSignedReceipts(ana.accountId!, true);
    expect(bruno.signedReceiptsOn(ana.accountId!)).toBe(true);
    const end = Date.now() + 10_000;
    while (!second.signedReceiptsOn(ana.accountId!) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(second.signedReceiptsOn(ana.accountId!)).toBe(true);
    bruno.setSignedReceipts(ana.accountId!, false);
    const end2 = Date.now() + 10_000;
    while (second.signedReceiptsOn(ana.accountId!) && Date.now() < end2) await new Promise((r) => setTimeout(r, 50));
    expect(second.signedReceiptsOn(ana.accountId!)).toBe(false);
    await second.close();
  }, 60_000);

  it('typed errors: refresh offline, bad input', async () => {
    const offline = await world.newClient('offline');
    await expect(offline.refreshOrgTrust()).rejects.toBeInstanceOf(ClientError);
    expect(() => bruno.setSignedReceipts(new Uint8Array(32), true)).toThrow(ClientError);
  });
});

describe('an organisation whose CA counts a certificate as verified', () => {
  it('a certified contact is trusted without comparing numbers; not once revoked, nor a key not certified', async () => {
    const world = await World.start();
    try {
      const ana = await world.person('ana');
      const bruno = await world.person('bruno');
      const carla = await world.person('carla');
      introduce(ana, 'ana', bruno, 'bruno');
      introduce(bruno, 'bruno', carla, 'carla');
      for (const from of [ana, carla]) {
        const got = nextEvent(bruno, 'message', (e) => e.message.text === 'hi');
        await from.sendText(bruno.accountId!, 'hi');
        await got;
      }
      const ca = new IdentityCaDirectory(world.server.dataDir);
      await ca.init('Acme Logistics', { kind: 'file' }, new Date(), { certifiedIsVerified: true });
      const signer = ca.openSigner(undefined);
      await ca.certify(signer, { accountId: ana.accountId!, identityKey: ana.identity.publicKey, name: 'Ana Souza', days: 30 }, new Date());
      signer.close();
      await bruno.refreshOrgTrust();
      expect(bruno.orgCa()).toMatchObject({ organisation: 'Acme Logistics', certifiedIsVerified: true });
      expect(bruno.trusted(ana.accountId!)).toEqual({ trusted: true, by: 'organisation' });
      expect(bruno.safetyNumber(ana.accountId!).verified).toBe(false);
      expect(bruno.trusted(carla.accountId!)).toEqual({ trusted: false, by: undefined });
      const again = ca.openSigner(undefined);
      await ca.revoke(again, { accountId: ana.accountId! }, new Date());
      again.close();
      const seen = nextEvent(bruno, 'org-trust', (e) => e.revoked.length > 0, 5_000);
      world.server.server.admin.publishOrgTrust();
      await seen;
      expect(bruno.trusted(ana.accountId!).trusted).toBe(false);
    } finally {
      await world.stop();
    }
  }, 60_000);
});
