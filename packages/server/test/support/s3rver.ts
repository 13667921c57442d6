/**
 * A real S3-compatible server for tests: s3rver (npm, MIT), run as its own
 * process on 127.0.0.1 with a fresh data directory and one bucket. It speaks
 * the S3 REST API over HTTP (objects, Range GETs, ListObjectsV2), keeps its
 * objects on disk, and checks the access key id (it does not recompute V4
 * signatures: s3-client.test.ts checks the signer against AWS's published
 * example instead).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tempDir } from './server.js';

export interface S3rver {
  readonly endpoint: string;
  readonly bucket: string;
  /** s3rver's built-in account. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export async function startS3rver(bucket = 'sigilo'): Promise<S3rver> {
  const bin = join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const dir = tempDir('s3rver');
  const child: ChildProcess = spawn(process.execPath, [bin, '-d', dir, '-a', '127.0.0.1', '-p', '0', '--silent', '--configure-bucket', bucket], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`s3rver exited (${code}): ${out}`)); });
  });
  child.removeAllListeners('exit');
  return {
    endpoint: `http://127.0.0.1:${port}`, bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
