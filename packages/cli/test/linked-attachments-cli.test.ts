/**
 * Attachments on a device linked later, through the built `sigilo` command and a
 * real server over TLS: the linked device lists and downloads a file sent before
 * it was linked and one received before, downloads what the other device sends
 * afterwards, and says in words when the server no longer keeps a file.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { MAIN, assertBuilt, cliPerson, firstLine, introduce, registered, type CliPerson } from './support/sigilo.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('attachments on a linked device (CLI)', () => {
  let server: TestServer;
  let clock = Date.now();
  let root: string;
  let alice: CliPerson;
  let bob: CliPerson;
  let phone: CliPerson;
  const files: Record<string, Buffer> = {};
  const ids: Record<string, string> = {};

  function file(name: string, line: string): string {
    files[name] = Buffer.from(line.repeat(3000));
    const path = join(root, name);
    writeFileSync(path, files[name]!);
    return path;
  }

  async function sendFile(from: CliPerson, to: string, name: string, line: string): Promise<void> {
    const r = await from.run(['send-file', to, file(name, line), '--json']);
    expect(r.code, r.err).toBe(0);
    ids[name] = (JSON.parse(r.out) as { messageId: string }).messageId;
  }

  async function download(p: CliPerson, name: string): Promise<{ code: number | null; err: string; hash?: string }> {
    const out = join(root, `${p.name}-downloads-${Object.keys(ids).length}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(out);
    const r = await p.run(['download', ids[name]!.slice(0, 12), '--out', join(out, name)]);
    if (r.code !== 0) return { code: r.code, err: r.err };
    return { code: r.code, err: r.err, hash: sha(readFileSync(join(out, name))) };
  }

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ 'retention.attachments': '1d' }, { now: () => clock });
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-linked-att-'));
    [alice, bob] = await Promise.all([registered(server, root, 'alice'), registered(server, root, 'bob')]);
    await introduce(alice, bob);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a device linked later downloads a file sent and a file received before it was linked', async () => {
    await sendFile(alice, 'bob', 'plan.txt', 'sent by alice before the link\n');
    await sendFile(bob, 'alice', 'notes.txt', 'sent by bob before the link\n');
    expect((await alice.run(['inbox'])).code).toBe(0);

    phone = cliPerson(root, 'alice-phone');
    const url = server.server.url.replace(/^wss:/, 'https:').replace(/\/v1\/ws$/, '');
    expect((await phone.run(['init', url, '--fingerprint', server.server.tls.fingerprint])).code).toBe(0);
    const child = spawn(process.execPath, [MAIN, 'link', '--json', '--dir', phone.dir], { env: { PATH: process.env.PATH, ...phone.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', r));
    const shown = JSON.parse(await firstLine(() => ({ out }), 'sigilo link to print its code')) as { code: string };
    expect((await alice.run(['link', '--approve', shown.code])).code).toBe(0);
    expect(await exited).toBe(0);

    for (const name of ['plan.txt', 'notes.txt']) {
      const got = await download(phone, name);
      expect(got.code, got.err).toBe(0);
      expect(got.hash, name).toBe(sha(files[name]!));
    }
  }, 90_000);

  it('the device linked earlier downloads a file the other device sends after linking', async () => {
    await sendFile(alice, 'bob', 'later.txt', 'sent by alice after the link\n');
    expect((await phone.run(['inbox'])).code).toBe(0);
    const got = await download(phone, 'later.txt');
    expect(got.code, got.err).toBe(0);
    expect(got.hash).toBe(sha(files['later.txt']!));
  }, 60_000);

  it('a file the server deleted (retention) says so in words, with what to do, and exit 1', async () => {
    clock += 2 * 24 * 3600 * 1000;
    await server.server.sweep();
    const mine = await download(phone, 'plan.txt');
    expect(mine.code).toBe(1);
    expect(mine.err).toMatch(/the server no longer has plan\.txt: it keeps attachments for a limited time .*; you sent it .*: send the file again if it is still needed \[EXPIRED\]/);
    const theirs = await download(phone, 'notes.txt');
    expect(theirs.code).toBe(1);
    expect(theirs.err).toMatch(/the server no longer has notes\.txt: .*; ask the sender to send it again \[EXPIRED\]/);
  }, 60_000);
});
