/** Spawns test/support/server-process.ts (from source, through tsx) and waits until it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export interface SpawnedServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly httpsUrl: string;
  readonly tls: { readonly cert: string };
  readonly stderr: string[];
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<number | string>;
}

/** `prefix`: a command that runs the server, e.g. ['prlimit', '--nofile=400:400', '--'] to limit its descriptors. */
export function spawnServer(dataDir: string, overrides: Record<string, unknown> = {}, prefix: readonly string[] = []): Promise<SpawnedServer> {
  const argv = [process.execPath, '--import', 'tsx', here('./server-process.ts'), dataDir, JSON.stringify(overrides)];
  const [cmd, ...args] = [...prefix, ...argv] as [string, ...string[]];
  const child = spawn(cmd, args, {
    env: { ...process.env, TSX_TSCONFIG_PATH: here('./tsconfig.spawn.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`server did not start: ${stderr.join('')}`)); }, 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line) as { url: string; httpsUrl: string; cert: string };
      resolve({ child, url: info.url, httpsUrl: info.httpsUrl, tls: { cert: info.cert }, stderr, exited });
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening: ${stderr.join('')}`)); });
  });
}
