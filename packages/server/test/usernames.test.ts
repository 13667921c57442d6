/** Usernames, encrypted profiles and the member directory over the real server (spec/server.md §3.1). */
import { usernameHash } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import type { TestClient } from './support/test-client.js';

const h = (name: string) => usernameHash(nodeCrypto, name);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function errorCode(client: TestClient, body: Parameters<TestClient['request']>[0]): Promise<number | undefined> {
  const f = await client.request(body);
  return f.body.case === 'error' ? f.body.value.code : undefined;
}

describe('usernames and the member directory (directory.mode = members)', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer({ 'directory.mode': 'members', 'directory.lookupsPerHour': 60, 'directory.maxProfileBytes': '2KiB', logLevel: 'debug' }); });
  afterAll(async () => { await t.stop(); });

  it('claims, looks up, lists and searches by username; a taken username is refused', async () => {
    const { client: ana, device: anaDevice } = await t.account();
    const { client: bruno } = await t.account();
    await ana.expectOk({ case: 'setUsername', value: { usernameHash: h('ana.lopez') } }, 'ok');
    expect(await errorCode(bruno, { case: 'setUsername', value: { usernameHash: h('ana.lopez') } })).toBe(ErrorCode.USERNAME_TAKEN);
    const found = await bruno.expectOk({ case: 'lookupUsername', value: { usernameHash: h('ana.lopez') } }, 'usernameAccount');
    expect(hex(found.accountId)).toBe(hex(anaDevice.accountId!));
    expect(await errorCode(bruno, { case: 'lookupUsername', value: { usernameHash: h('nobody.here') } })).toBe(ErrorCode.NOT_FOUND);

    // Only the claimed username can be published, in its normalised form.
    expect(await errorCode(ana, { case: 'directoryPublish', value: { username: 'someone.else', name: 'Ana' } })).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await errorCode(ana, { case: 'directoryPublish', value: { username: 'Ana.Lopez', name: 'Ana' } })).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await errorCode(ana, { case: 'directoryPublish', value: { username: 'ana.lopez', name: 'Ana\u001b[2J' } })).toBe(ErrorCode.INVALID_ARGUMENT);
    await ana.expectOk({ case: 'directoryPublish', value: { username: 'ana.lopez', name: 'Ana López' } }, 'ok');
    const list = await bruno.expectOk({ case: 'directorySearch', value: { query: 'lóp' } }, 'directoryEntries');
    expect(list.entries.map((e) => ({ username: e.username, name: e.name, online: e.online }))).toEqual([{ username: 'ana.lopez', name: 'Ana López', online: true }]);
    ana.ws.terminate();
    // The server notices the closed socket shortly; poll for it (each search costs a lookup token, the burst is 6).
    const { client: carla } = await t.account();
    let online = true;
    for (let i = 0; i < 5 && online; i++) {
      await new Promise((r) => setTimeout(r, 500));
      online = (await carla.expectOk({ case: 'directorySearch', value: { query: 'ana' } }, 'directoryEntries')).entries[0]?.online ?? true;
    }
    expect(online).toBe(false);
    // Nothing names the username, the display name or the account in the logs.
    const logs = t.logs.join('\n');
    for (const secret of ['ana.lopez', 'López', hex(anaDevice.accountId!), hex(h('ana.lopez'))]) expect(logs).not.toContain(secret);
  });

  it('stores an opaque profile up to the size limit and hands it to any member', async () => {
    const { client: ana, device } = await t.account();
    const { client: bruno } = await t.account();
    const blob = new Uint8Array(600).fill(7);
    await ana.expectOk({ case: 'setProfile', value: { profile: blob } }, 'ok');
    const p = await bruno.expectOk({ case: 'getProfile', value: { accountId: device.accountId! } }, 'profile');
    expect(Buffer.from(p.profile).equals(Buffer.from(blob))).toBe(true);
    expect(await errorCode(ana, { case: 'setProfile', value: { profile: new Uint8Array(4096) } })).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    const none = await bruno.expectOk({ case: 'getProfile', value: { accountId: new Uint8Array(16) } }, 'profile');
    expect(none.profile.length).toBe(0);
    expect(await errorCode(bruno, { case: 'getProfile', value: { accountId: new Uint8Array(3) } })).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('rate-limits lookups per account, bounded by the burst', async () => {
    const { client } = await t.account();
    // 60 per hour: a burst of 6, then one a minute.
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 12; i++) codes.push(await errorCode(client, { case: 'lookupUsername', value: { usernameHash: h(`nobody${i}`) } }));
    expect(codes.filter((c) => c === ErrorCode.NOT_FOUND).length).toBeLessThanOrEqual(7);
    expect(codes.filter((c) => c === ErrorCode.RATE_LIMITED).length).toBeGreaterThanOrEqual(5);
    // A claim would tell whether a username is taken: it is limited alike.
    expect(await errorCode(client, { case: 'setUsername', value: { usernameHash: h('probe.name') } })).toBe(ErrorCode.RATE_LIMITED);
    const f = await client.request({ case: 'directorySearch', value: { query: '' } });
    expect(f.body.case === 'error' && f.body.value.code).toBe(ErrorCode.RATE_LIMITED);
    expect(f.body.case === 'error' && f.body.value.retryAfterMs).toBeGreaterThan(0);
  });

  it('needs an authenticated device and well-formed hashes', async () => {
    const anonymous = await t.connect();
    expect(await errorCode(anonymous, { case: 'lookupUsername', value: { usernameHash: h('ana.lopez') } })).toBe(ErrorCode.NOT_AUTHENTICATED);
    const { client } = await t.account();
    expect(await errorCode(client, { case: 'setUsername', value: { usernameHash: new Uint8Array(5) } })).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await errorCode(client, { case: 'directorySearch', value: { query: '', limit: 1000 } })).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('usernames without a directory (the default, directory.mode = off)', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });

  it('finds a username by exact lookup only; listing and publishing are refused', async () => {
    const { client: ana, device } = await t.account();
    const { client: bruno } = await t.account();
    await ana.expectOk({ case: 'setUsername', value: { usernameHash: h('ana.lopez') } }, 'ok');
    const found = await bruno.expectOk({ case: 'lookupUsername', value: { usernameHash: h('ana.lopez') } }, 'usernameAccount');
    expect(hex(found.accountId)).toBe(hex(device.accountId!));
    expect(await errorCode(ana, { case: 'directoryPublish', value: { username: 'ana.lopez', name: 'Ana' } })).toBe(ErrorCode.DIRECTORY_OFF);
    expect(await errorCode(bruno, { case: 'directorySearch', value: { query: '' } })).toBe(ErrorCode.DIRECTORY_OFF);
    await ana.expectOk({ case: 'deleteUsername', value: {} }, 'ok');
    expect(await errorCode(bruno, { case: 'lookupUsername', value: { usernameHash: h('ana.lopez') } })).toBe(ErrorCode.NOT_FOUND);
  });

  it('erases a directory kept earlier when the server starts with the directory off', async () => {
    const dir = (await import('./support/server.js')).tempDir('directory-off');
    const on = await startTestServer({ 'directory.mode': 'members' }, {}, dir);
    const { client } = await on.account();
    await client.expectOk({ case: 'setUsername', value: { usernameHash: h('carla') } }, 'ok');
    await client.expectOk({ case: 'directoryPublish', value: { username: 'carla', name: 'Carla' } }, 'ok');
    client.ws.terminate();
    await on.server.close();
    const off = await startTestServer({ 'directory.mode': 'off' }, {}, dir);
    try {
      expect((await off.server.storage.searchDirectory('', '', 10))).toEqual([]);
      expect(await off.server.storage.accountByUsernameHash(h('carla'))).toBeDefined();
    } finally {
      await off.stop();
    }
  });
});

describe('admin commands take a username', () => {
  it('resolves @name to its account for every admin command, and lists usernames the server knows in clear', async () => {
    const { adminRequest } = await import('../src/admin-socket.js');
    const { accountIdText } = await import('@sigilo/protocol');
    const t = await startTestServer({ 'directory.mode': 'members' });
    try {
      const { client: ana, device: anaDevice } = await t.account();
      const { client: bruno, device: brunoDevice } = await t.account();
      await ana.expectOk({ case: 'setUsername', value: { usernameHash: h('ana.lopez') } }, 'ok');
      await ana.expectOk({ case: 'directoryPublish', value: { username: 'ana.lopez', name: 'Ana López' } }, 'ok');
      await bruno.expectOk({ case: 'setUsername', value: { usernameHash: h('bruno') } }, 'ok');
      const described = await adminRequest(t.dataDir, { op: 'account', accountId: '@Bruno' }) as { accountId: string; username: string | null };
      expect(described).toMatchObject({ accountId: accountIdText(brunoDevice.accountId!), username: 'bruno' });
      const labelled = await adminRequest(t.dataDir, { op: 'label', accountId: '@ana.lopez', label: 'Ana – logistics' }) as { accountId: string; username: string | null };
      expect(labelled).toMatchObject({ accountId: accountIdText(anaDevice.accountId!), username: 'ana.lopez' });
      const list = await adminRequest(t.dataDir, { op: 'accounts' }) as { accountId: string; username: string | null }[];
      expect(Object.fromEntries(list.map((a) => [a.accountId, a.username]))).toEqual({
        [accountIdText(anaDevice.accountId!)]: 'ana.lopez', // listed in the directory: known in clear
        [accountIdText(brunoDevice.accountId!)]: '(hashed)', // claimed, not listed: the server holds only its hash
      });
      await expect(adminRequest(t.dataDir, { op: 'account', accountId: '@nobody.here' })).rejects.toThrow(/no account holds the username @nobody\.here/);
      await expect(adminRequest(t.dataDir, { op: 'account', accountId: '@!' })).rejects.toThrow(/is neither an account id .* nor a username/);
      const removed = await adminRequest(t.dataDir, { op: 'revoke-device', accountId: '@bruno', deviceId: 1 }) as { revoked: boolean; accountId: string };
      expect(removed).toMatchObject({ revoked: true, accountId: accountIdText(brunoDevice.accountId!) });
    } finally {
      await t.stop();
    }
  });
});
