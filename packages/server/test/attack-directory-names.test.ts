/**
 * Attack: display names in the member directory with invisible or line-breaking characters.
 * A name such as "Ana\u2028López" started a new line in a listing (a fake row), and zero-width or
 * bidi-mark characters made two different names look the same. The server refuses them
 * (spec/server.md §3.1), as it already refused control and bidi-override characters.
 */
import { normaliseUsername, usernameHash } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { ErrorCode } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

describe('attack: directory names that hide or break lines', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer({ 'directory.mode': 'members' }); });
  afterAll(async () => { await t?.stop(); });

  it('refuses zero-width, bidi marks, BOM and line separators; accepts ordinary accented names', async () => {
    const { client } = await t.account();
    const username = 'ana.lopez';
    await client.expectOk({ case: 'setUsername', value: { usernameHash: usernameHash(nodeCrypto, normaliseUsername(username)!) } }, 'ok');
    // Old code: every one of these was listed.
    for (const name of ['Ana\u200BLópez', 'Ana\u200FLópez', 'Ana\u2028López', 'Ana\u2029', 'Ana\uFEFF', 'Ana\u061C', 'Ana\u2060']) {
      const r = await client.request({ case: 'directoryPublish', value: { username, name } });
      expect(r.body.case === 'error' && r.body.value.code, JSON.stringify(name)).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    // The joiners stay allowed: emoji sequences and scripts such as Persian need them.
    await client.expectOk({ case: 'directoryPublish', value: { username, name: 'Ana \u{1F469}\u200D\u{1F4BB} \u0645\u06CC\u200C\u062E' } }, 'ok');
    await client.expectOk({ case: 'directoryPublish', value: { username, name: 'Ana López Ñúñez' } }, 'ok');
    const found = await client.expectOk({ case: 'directorySearch', value: { query: 'ana', after: '', limit: 10 } }, 'directoryEntries');
    expect(found.entries.map((e) => e.name)).toEqual(['Ana López Ñúñez']);
  });
});
