/**
 * What a revoked device can still do with sealed sender (spec/server.md §5):
 * after `admin revoke-device` it can no longer obtain a sender certificate,
 * and a message it seals with the certificate it held is refused by the
 * recipient once that certificate's lifetime (senderCertificateLifetime, 1 h)
 * has passed, measured by the time the server accepted the message. The
 * revoked device is played by a modified client: the real device's stored
 * keys and sessions, driven by hand, as an attacker holding the device would.
 *
 * Real server (TLS, WebSocket, SQLite), real clients (SQLCipher stores); one
 * injected clock for the server and the clients.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  SEALED_CONTENT_PREKEY, SEALED_CONTENT_RATCHET, authPayload, decodeSessionRecord, encodeSessionRecord, encryptMessage, messageType, sealSender,
} from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { ContentSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { Connection, ServerRequestError, SigiloClient, pad, type ClientEvent } from '../src/index.js';
import { SqlCipherStore, createNodeClient, pinnedTransport } from '../../client-node/src/index.js';
import { introduce, nextEvent } from './support.js';

const HOUR = 3_600_000;
const ctx = { crypto: nodeCrypto, random: systemRandom };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('a revoked device and sealed sender', () => {
  let t: TestServer;
  let clock = Date.now();
  const now = () => clock;
  const dirs: string[] = [];
  const clients: SigiloClient[] = [];
  let alice: SigiloClient, bob: SigiloClient;

  async function person(name: string): Promise<SigiloClient> {
    const dir = mkdtempSync(join(tmpdir(), `sigilo-client-${name}-`));
    dirs.push(dir);
    const client = createNodeClient({ store: SqlCipherStore.open(dir, `passphrase of ${name}`), now });
    clients.push(client);
    await client.init(t.server.url, t.server.tls.fingerprint);
    await client.register((await t.server.admin.createInvite()).code);
    await client.connect({ reconnect: false });
    return client;
  }

  beforeAll(async () => {
    // The default lifetime is what is tested: no override.
    t = await startTestServer({}, { now });
    alice = await person('alice');
    bob = await person('bob');
    introduce(alice, 'alice', bob, 'bob');
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await t?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const address = () => ({ url: t.server.url, fingerprint: t.server.tls.fingerprint });

  /** Logs in as Alice's device with its stored device key, as any client of that device could. */
  async function loginAsAlice(): Promise<Connection> {
    const { connection, nonce } = await Connection.open(pinnedTransport(address()), () => {});
    const deviceKey = alice.store.getMeta('device.key')!;
    await connection.request({
      case: 'authenticate',
      value: { accountId: alice.accountId!, deviceId: alice.deviceId!, signature: nodeCrypto.ed25519Sign(deviceKey, authPayload(nonce, alice.accountId!, alice.deviceId!)) },
    });
    return connection;
  }

  /** What a modified client on the revoked device sends: a sealed text to Bob with `certificate`, from Alice's stored sessions. */
  async function forgeSealedText(certificate: Uint8Array, text: string): Promise<void> {
    const to = bob.accountId!;
    const messageId = ctx.random(16);
    const content = toBinary(ContentSchema, create(ContentSchema, { body: { case: 'data', value: { messageId, timestamp: BigInt(clock), text } } }));
    const messages = alice.store.sessionDevices(to).map((deviceId) => {
      const out = encryptMessage(ctx, decodeSessionRecord(alice.store.getSession(to, deviceId)!), pad(content));
      alice.store.putSession(to, deviceId, encodeSessionRecord(out.record));
      const type = messageType(out.message) === 'prekey' ? SEALED_CONTENT_PREKEY : SEALED_CONTENT_RATCHET;
      return { deviceId, content: sealSender(ctx, alice.identity, out.record.current!.remoteIdentity, certificate, type, out.message) };
    });
    expect(messages.length).toBeGreaterThan(0);
    const { connection } = await Connection.open(pinnedTransport(address()), () => {});
    try {
      // The server cannot see who sealed it: it accepts the send.
      const f = await connection.request({ case: 'sealedSend', value: { recipientAccountId: to, messageId, accessKey: bob.accessKey!, messages } });
      expect(f.body.case).toBe('sendResult');
    } finally {
      connection.close();
    }
  }

  it('cannot get a certificate after revocation, and its old one stops working within the certificate lifetime', async () => {
    // A normal sealed conversation first (so Alice holds a session with Bob).
    const first = nextEvent(bob, 'message');
    await alice.sendText(bob.accountId!, 'before the revocation');
    expect((await first).message.text).toBe('before the revocation');

    // The certificate the device holds when it is revoked (the latest one it could get).
    const issuedAt = clock;
    const held = await loginAsAlice();
    const reply = await held.request({ case: 'getSenderCertificate', value: {} });
    if (reply.body.case !== 'senderCertificate') throw new Error('no certificate');
    const certificate = reply.body.value.certificate;
    expect(Number(reply.body.value.expires)).toBe(issuedAt + HOUR);

    const revoked = await t.server.admin.revokeDevice(hex(alice.accountId!), alice.deviceId!);
    expect(revoked.revoked).toBe(true);
    expect((await held.closed).code).toBe(4003);

    // No new certificate: the device can no longer log in.
    const login = loginAsAlice();
    await expect(login).rejects.toBeInstanceOf(ServerRequestError);
    // The revoked device itself is told so in words (server.md §3.5), not a bare AUTH_FAILED.
    await expect(login).rejects.toMatchObject({ serverCode: 'DEVICE_REMOVED' });

    // Inside the lifetime the old certificate still verifies: that window is the stated bound.
    clock = issuedAt + HOUR - 5 * 60_000;
    const inside = nextEvent(bob, 'message');
    await forgeSealedText(certificate, 'inside the window');
    expect((await inside).message.text).toBe('inside the window');

    // Past it, Bob refuses what the revoked device seals with that certificate.
    clock = issuedAt + HOUR + 2 * 60_000; // past the lifetime even after the server rounds its timestamp down to the minute (server.md §5)
    const seen: ClientEvent[] = [];
    const off = bob.on((e) => seen.push(e));
    const refused = nextEvent(bob, 'undecryptable');
    await forgeSealedText(certificate, 'after the window');
    expect((await refused).reason).toMatch(/EXPIRED_CERTIFICATE/);
    // Bob's queue moved on: a later message from someone else arrives, and the refused one never shows.
    const carol = await person('carol');
    introduce(carol, 'carol', bob, 'bob');
    const later = nextEvent(bob, 'message', (e) => e.message.text === 'from carol');
    await carol.sendText(bob.accountId!, 'from carol');
    await later;
    off();
    expect(seen.some((e) => e.type === 'message' && e.message.text === 'after the window')).toBe(false);
  }, 120_000);
});
