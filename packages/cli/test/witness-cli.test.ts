/**
 * `sigilo witness` as people run it: a child process that prints where it
 * listens and the server setting, cosigns a real server's checkpoints, and
 * stops cleanly on SIGTERM; usage mistakes exit 2 with what to type.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteCosignedBy, openCheckpoint, parseVerifierKey } from '@sigilo/protocol';
import { nodeCrypto as crypto } from '@sigilo/protocol/node';
import { KeyTransparency, loadLogKey } from '@sigilo/server';
import { startTestServer, tempDir } from '../../server/test/support/server.js';
import { MAIN, assertBuilt, introduce, registered, sigilo } from './support/sigilo.js';

beforeAll(() => assertBuilt());

describe('sigilo witness', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('refuses to start without a log key, or with a damaged one (exit 2)', async () => {
    const none = await sigilo(['witness']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--log VKEY/);
    const bad = await sigilo(['witness', '--log', 'not-a-key']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/copy the whole key/);
    const help = await sigilo(['witness', '--help']);
    expect(help.out + help.err).toMatch(/kt\.witnesses|server setting|--log VKEY/);
  });

  it('cosigns a running server\'s checkpoints and stops on SIGTERM', async () => {
    const serverDir = tempDir('cli-kt-server');
    const witnessDir = tempDir('cli-kt-witness');
    dirs.push(witnessDir);
    const seed = loadLogKey(serverDir, (n) => new Uint8Array(randomBytes(n)));
    const vkey = KeyTransparency.describe(crypto, seed).verifierKey;
    const child = spawn(process.execPath, [MAIN, 'witness', '--log', vkey, '--data', witnessDir, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const first = await new Promise<{ verifierKey: string; url: string; ktWitnessesEntry: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no output: ${out}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) { clearTimeout(timer); resolve(JSON.parse(out.slice(0, nl))); }
      });
      child.once('exit', (code) => reject(new Error(`witness exited ${code}`)));
    });
    const t = await startTestServer({ 'kt.witnesses': first.ktWitnessesEntry }, {}, serverDir);
    const root = tempDir('cli-kt-people');
    dirs.push(root);
    try {
      await t.account();
      const w = parseVerifierKey(crypto, first.verifierKey, 4);
      const cp = openCheckpoint(crypto, (await t.server.kt.latest()).note, parseVerifierKey(crypto, vkey));
      expect(cp.checkpoint.size).toBe(1);
      expect(noteCosignedBy(crypto, cp.note, w.name, w.publicKey)).toBeDefined();
      // A CLI client requiring the witness's cosignature sends; asking for more witnesses than given is refused.
      const alice = await registered(t, root, 'alice');
      const bob = await registered(t, root, 'bob');
      await introduce(alice, bob);
      const sent = await alice.run(['send', 'bob', 'witnessed hello'], { env: { SIGILO_KT_WITNESSES: first.verifierKey, SIGILO_KT_REQUIRED: '1' } });
      expect(sent.err).toBe('');
      expect(sent.code).toBe(0);
      const tooMany = await alice.run(['send', 'bob', 'again'], { env: { SIGILO_KT_WITNESSES: first.verifierKey, SIGILO_KT_REQUIRED: '2' } });
      expect(tooMany.code).not.toBe(0);
      expect(tooMany.err).toMatch(/requiredCosignatures must be between 0 and the number of witnesses given \(1\)/);
    } finally {
      await t.stop();
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
