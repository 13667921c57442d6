/**
 * `sigilo send-file` and `sigilo download` end to end: the built binary in
 * child processes, a real server over TLS, two people; progress, --json,
 * file-name safety, no overwriting, and Ctrl-C then resume in both directions
 * (a proxy holds the transfer still so the interruption lands mid-way).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { MAIN, assertBuilt, cliPerson, introduce, registered, sigilo, until, type CliPerson } from './support/sigilo.js';

/** A TCP proxy that stops forwarding (holds) a connection once it moved more than `holdAfter` bytes in the watched direction. */
class HoldingProxy {
  holdUpAfter: number | undefined;
  holdDownAfter: number | undefined;
  held = 0;
  readonly #sockets = new Set<Socket>();
  private constructor(readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<HoldingProxy> {
    let proxy!: HoldingProxy;
    const server = createServer((client) => {
      const upstream = netConnect(targetPort, '127.0.0.1');
      proxy.#sockets.add(client).add(upstream);
      let up = 0, down = 0;
      const pipe = (from: Socket, to: Socket, count: (n: number) => number, limit: () => number | undefined) => {
        from.on('data', (d: Buffer) => {
          const total = count(d.length);
          const l = limit();
          if (l !== undefined && total > l) {
            proxy.held++;
            from.pause();
            from.removeAllListeners('data'); // held for good: the test interrupts the command
            return;
          }
          if (!to.write(d)) from.pause();
        });
        to.on('drain', () => from.resume());
      };
      pipe(client, upstream, (n) => (up += n), () => proxy.holdUpAfter);
      pipe(upstream, client, (n) => (down += n), () => proxy.holdDownAfter);
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        a.on('end', () => b.end());
        a.on('error', () => b.destroy());
        a.on('close', () => { proxy.#sockets.delete(a); b.destroy(); });
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = new HoldingProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

/** Starts `sigilo ARGS…` and returns the child with its output so far. */
function start(p: CliPerson, args: string[]): { child: ChildProcess; out: () => string; err: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, ...args, '--dir', p.dir], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...p.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.end();
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, done };
}

function deterministic(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sigilo send-file and download', () => {
  let server: TestServer;
  let root: string;
  let alice: CliPerson;
  let bob: CliPerson;
  let files: string;
  let aliceProxy: HoldingProxy;
  let bobProxy: HoldingProxy;

  /** A person whose client talks to the server through a proxy (the pin is the server's: TLS passes through). */
  async function proxied(name: string, proxy: HoldingProxy): Promise<CliPerson> {
    const p = cliPerson(root, name);
    const init = await p.run(['init', `https://127.0.0.1:${proxy.port}`, '--fingerprint', server.server.tls.fingerprint]);
    if (init.code !== 0) throw new Error(`init failed: ${init.err}`);
    const { code } = await server.server.admin.createInvite();
    const reg = await p.run(['register', '--invite', code, '--json']);
    if (reg.code !== 0) throw new Error(`register failed: ${reg.err}`);
    const info = JSON.parse(reg.out) as { accountId: string; contactCard: string };
    p.accountId = info.accountId;
    p.card = info.contactCard;
    return p;
  }

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    root = mkdtempSync(join(tmpdir(), 'sigilo-cli-att-'));
    files = join(root, 'files');
    mkdirSync(files);
    const port = Number(new URL(server.server.url).port);
    [aliceProxy, bobProxy] = await Promise.all([HoldingProxy.start(port), HoldingProxy.start(port)]);
    [alice, bob] = await Promise.all([proxied('alice', aliceProxy), proxied('bob', bobProxy)]);
    await introduce(alice, bob);
  });

  afterAll(async () => {
    await aliceProxy?.close();
    await bobProxy?.close();
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('both commands have --help with their options and the exit codes', async () => {
    for (const c of ['send-file', 'download']) {
      const r = await sigilo([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: sigilo ${c}`);
      expect(r.out).toMatch(/130/);
      expect(r.out).toContain('SIGILO_PASSPHRASE');
    }
    expect((await sigilo(['help'])).out).toMatch(/send-file .*\n.*download /);
    expect((await alice.run(['send-file', 'bob'])).code).toBe(2);
    expect((await bob.run(['download'])).code).toBe(2);
    expect((await bob.run(['download', 'xyz'])).code).toBe(2);
  });

  it('a file goes from alice to bob: progress, inbox shows it, download saves it under a safe name, never overwriting', async () => {
    const content = Buffer.from('%PDF-1.7\nquarterly figures\n'.repeat(5000));
    const path = join(files, '.report.pdf');
    writeFileSync(path, content);
    const sent = await alice.run(['send-file', 'bob', path, '--caption', 'the figures', '--json']);
    expect(sent.code, sent.err).toBe(0);
    const info = JSON.parse(sent.out) as { messageId: string; fileName: string; size: number; contentType: string; status: string; contact: string };
    expect(info).toMatchObject({ contact: 'bob', fileName: '.report.pdf', size: content.length, contentType: 'application/pdf', status: 'sent' });
    expect(sent.err).toMatch(/Sending \.report\.pdf: .*100%/);
    // Progress in the file's own size (135 kB), not the padded, encrypted bytes on the wire.
    expect(sent.err).toMatch(/Sending \.report\.pdf: 135 kB of 135 kB, 100%/);

    const inbox = await bob.run(['inbox']);
    expect(inbox.code).toBe(0);
    expect(inbox.out).toContain(`alice: the figures [file .report.pdf, 135 kB, application/pdf] (sigilo download ${info.messageId.slice(0, 8)})`);

    const out = join(root, 'bob-downloads');
    mkdirSync(out);
    const got = await bob.run(['download', info.messageId.slice(0, 8), '--out', out]);
    expect(got.code, got.err).toBe(0);
    expect(got.out).toContain(`Saved report.pdf (135 kB, application/pdf) to ${join(out, 'report.pdf')}`);
    expect(readFileSync(join(out, 'report.pdf')).equals(content)).toBe(true);

    const again = await bob.run(['download', info.messageId, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/report\.pdf already exists.*--force.*\[EXISTS\]/);
    const forced = await bob.run(['download', info.messageId, '--out', join(out, 'copy.pdf'), '--json']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.out)).toEqual([{ messageId: info.messageId, index: 0, path: join(out, 'copy.pdf'), fileName: '.report.pdf', size: content.length, contentType: 'application/pdf' }]);
    expect((await bob.run(['download', info.messageId, '--out', out, '--force'])).code).toBe(0);

    // inbox --json lists the attachment, never its key.
    await alice.run(['send-file', 'bob', path]);
    const json = await bob.run(['inbox', '--json']);
    const [m] = JSON.parse(json.out) as { attachments: Record<string, unknown>[] }[];
    expect(m!.attachments).toEqual([{ index: 0, fileName: '.report.pdf', size: content.length, contentType: 'application/pdf', width: null, height: null, durationMs: null, voiceNote: false, expires: expect.any(Number) }]);
    expect(json.out).not.toMatch(/key|digest/i);
  });

  it('mistakes: a missing file, an unknown message, a picture that cannot be cleaned', async () => {
    const missing = await alice.run(['send-file', 'bob', join(files, 'nope.bin')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read nope\.bin \(no such file\) \[FILE_ERROR\]/);
    const unknown = await bob.run(['download', 'abcdef12']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/no message with an attachment has the id abcdef12: run `sigilo inbox`/);
    const fake = join(files, 'broken.jpg');
    writeFileSync(fake, Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x30, 0x45]));
    const broken = await alice.run(['send-file', 'bob', fake]);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/--keep-metadata.*\[MALFORMED_MEDIA\]/);
    expect((await alice.run(['send-file', 'bob', fake, '--keep-metadata'])).code).toBe(0);
  });

  it('Ctrl-C during send-file leaves it resumable; running it again finishes without starting over', async () => {
    const content = deterministic(24 * 1024 * 1024, 11);
    const path = join(files, 'video.bin');
    writeFileSync(path, content);
    aliceProxy.holdUpAfter = 8 * 1024 * 1024;
    const run = start(alice, ['send-file', 'bob', path]);
    await until(() => aliceProxy.held > 0 && /Sending video\.bin: .*[1-9]\d%/.test(run.err()), 'the upload to be held mid-way', 30_000);
    run.child.kill('SIGINT');
    expect(await run.done).toBe(130);
    expect(run.err()).toMatch(/cancelled; run `sigilo send-file bob .*video\.bin` again to resume where it stopped/);
    aliceProxy.holdUpAfter = undefined;

    const again = await alice.run(['send-file', 'bob', path, '--json'], { timeoutMs: 60_000 });
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/Resuming the upload of video\.bin/);
    // The first progress line of the resumed run is past what the first run got through.
    expect(again.err.split('\n').find((l) => l.startsWith('Sending video.bin:'))).toMatch(/ [1-9]\d%/);
    const { messageId } = JSON.parse(again.out) as { messageId: string };

    // Ctrl-C during download: a .part and no file; run again: resumed, verified, complete.
    await bob.run(['inbox']);
    const out = join(root, 'video-out.bin');
    bobProxy.holdDownAfter = 8 * 1024 * 1024;
    const dl = start(bob, ['download', messageId, '--out', out]);
    await until(() => bobProxy.held > 0 && existsSync(`${out}.part`) && statSync(`${out}.part`).size > 1024 * 1024, 'the download to be held mid-way', 30_000);
    dl.child.kill('SIGINT');
    expect(await dl.done).toBe(130);
    expect(dl.err()).toMatch(/run `sigilo download [0-9a-f]+` again to resume/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.part`)).toBe(true);
    bobProxy.holdDownAfter = undefined;
    const resumed = await bob.run(['download', messageId, '--out', out], { timeoutMs: 60_000 });
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/Resuming the download of video\.bin/);
    expect(sha(readFileSync(out))).toBe(sha(content));
    expect(existsSync(`${out}.part`)).toBe(false);
  }, 120_000);
});
