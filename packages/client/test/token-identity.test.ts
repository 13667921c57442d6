/**
 * An identity signing key on a PKCS#11 token (spec/trust.md §7.1), in process against the real server over
 * TLS and a real SoftHSM2 token: a client without a token opener (as the browser is) refuses to link to such
 * an account before the server adds a device; a routine prekey top-up while the token cannot sign postpones
 * the signed keys, tells the application, and the connection still comes up; the key's public half on the
 * token is the account's identity key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityKeyUnavailableError } from '@sigilo/protocol';
import { hasSoftHsm, makeToken, type TestToken } from '../../server/test/support/softhsm.js';
import { TestClient, newDevice } from '../../server/test/support/test-client.js';
import { SqlCipherStore, createNodeClient, openIdentityKeyOnToken, pkcs11IdentityToken } from '../../client-node/src/index.js';
import type { ClientEvent, SigiloClient } from '../src/index.js';
import { World } from './support.js';

if (!hasSoftHsm) console.warn('token-identity: SoftHSM2 (softhsm2-util and libsofthsm2.so) is not installed: skipped (SIGILO_REQUIRE_SOFTHSM=1 makes this an error)');

describe.skipIf(!hasSoftHsm)('identity key on a PKCS#11 token (SoftHSM2), in process', () => {
  let world: World;
  let token: TestToken;
  let ana: SigiloClient;
  let anaDir: string;
  let pin: string | undefined;
  const open = (dir: string, withToken: boolean) => createNodeClient({
    store: SqlCipherStore.open(dir, 'passphrase of ana'),
    ...(withToken ? { identityToken: pkcs11IdentityToken({ pin: () => pin }) } : {}),
  });

  beforeAll(async () => {
    token = makeToken('ana-token', '135790');
    pin = token.pin;
    world = await World.start();
    anaDir = world.dir('ana');
    ana = open(anaDir, true);
    await ana.init(world.server.server.url, world.server.server.tls.fingerprint);
    const { code } = await world.server.server.admin.createInvite();
    const onToken = openIdentityKeyOnToken({ module: token.module, tokenLabel: token.label, pin: token.pin }, { pin: () => pin });
    expect(onToken.created).toBe(true);
    await ana.register(code, onToken);
    await ana.connect({ reconnect: false });
    expect(Buffer.from(ana.identity.publicKey.subarray(0, 32)).equals(Buffer.from(onToken.signer.publicKey))).toBe(true);
    expect(ana.identity.signing.privateKey).toBeUndefined();
  }, 120_000);
  afterAll(async () => {
    await ana?.close().catch(() => {});
    await world?.stop();
    token?.remove();
  });

  it('a client without a token opener (the browser) refuses to link to the account, before any device is added', async () => {
    const web = open(world.dir('ana-web'), false);
    await web.init(world.server.server.url, world.server.server.tls.fingerprint);
    const pending = await web.startLink();
    const refused = pending.completed.then(() => undefined, (e: unknown) => e);
    await ana.approveLink(pending.code);
    const e = await refused;
    expect(e).toBeInstanceOf(IdentityKeyUnavailableError);
    expect((e as IdentityKeyUnavailableError).reason).toBe('unsupported');
    expect((e as Error).message).toMatch(/lives on a PKCS#11 token, which this client cannot use/);
    expect(web.accountId).toBeUndefined();
    expect(await ana.listDevices()).toHaveLength(1);
    await web.close();
  }, 60_000);

  it('a prekey top-up while the token cannot sign postpones the signed keys and says so; the connection still comes up', async () => {
    // Another account takes Ana's post-quantum one-time prekeys until her device must make new ones (signed ones).
    const other = await TestClient.connect(world.server.server);
    const { code } = await world.server.server.admin.createInvite();
    const device = newDevice();
    expect((await other.register(device, code)).body.case).toBe('registered');
    // Ana is offline meanwhile (online, the server's preKeysLow would have her top up at once, with the PIN).
    const accountId = ana.accountId!;
    await ana.close();
    for (let i = 0; i < 16; i++) await other.expectOk({ case: 'fetchBundles', value: { accountId, deviceIds: [1] } }, 'bundles');
    other.ws.close();

    // Reopened without the PIN: the signer cannot log in.
    pin = undefined;
    ana = open(anaDir, true);
    const events: ClientEvent[] = [];
    ana.on((e) => events.push(e));
    await ana.connect({ reconnect: false });
    const told = events.find((e) => e.type === 'identity-key-unavailable') as Extract<ClientEvent, { type: 'identity-key-unavailable' }> | undefined;
    expect(told, JSON.stringify(events.map((e) => e.type))).toBeDefined();
    expect(told!.reason).toBe('pin');
    expect(told!.message).toMatch(/PIN is needed.*signed prekeys postponed/s);
    expect(events.some((e) => e.type === 'connection' && e.state === 'online')).toBe(true);
    // Any identity signature (a group change, a signed receipt) is the typed error meanwhile.
    expect(() => ana.identity.signing.sign(new Uint8Array(8))).toThrow(IdentityKeyUnavailableError);
    await ana.close();

    // With the PIN back, the next connection makes and publishes them: no warning.
    pin = token.pin;
    ana = open(anaDir, true);
    const later: ClientEvent[] = [];
    ana.on((e) => later.push(e));
    await ana.connect({ reconnect: false });
    expect(later.some((e) => e.type === 'identity-key-unavailable')).toBe(false);
  }, 120_000);
});
