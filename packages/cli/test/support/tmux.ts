/**
 * Real terminals for `sigilo chat` tests: panes on a private tmux server (one per test
 * file), keys typed with send-keys, screens read with capture-pane, exit codes kept in files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN } from './sigilo.js';

const tmuxVersion = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
/** Why tmux cannot run here, or undefined. */
export const tmuxMissing = tmuxVersion.status === 0 ? undefined : `tmux is not installed (${tmuxVersion.error?.message ?? tmuxVersion.stderr.trim()}); install it (apt-get install -y tmux)`;
export const tmuxName = tmuxVersion.stdout?.trim() || 'tmux';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class Terminals {
  readonly #socket: string;
  readonly #exitDir: string;

  constructor(socket: string, exitDir: string) {
    this.#socket = socket;
    this.#exitDir = exitDir;
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.#socket, ...args], { encoding: 'utf8' });
  }

  start(): void {
    this.tmux('-f', '/dev/null', 'start-server', ';', 'set-option', '-g', 'exit-empty', 'off');
  }

  /** Starts `sigilo ARGS` in a new 100×24 session `name`; the pane stays after exit, its status goes to a file. */
  run(name: string, args: string[], env: NodeJS.ProcessEnv): void {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${quote(v ?? '')}`).join(' ');
    this.tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '24', `env ${vars} ${quote(process.execPath)} ${quote(MAIN)} ${args.map(quote).join(' ')}; echo $? > ${quote(this.#exitFile(name))}`);
    this.tmux('set-option', '-t', name, 'remain-on-exit', 'on');
  }

  screen(name: string): string {
    return this.tmux('capture-pane', '-p', '-t', name);
  }

  lineWith(name: string, text: string): string {
    return this.screen(name).split('\n').find((l) => l.includes(text)) ?? '';
  }

  type(name: string, text: string): void {
    this.tmux('send-keys', '-t', name, '-l', text);
  }

  press(name: string, key: string): void {
    this.tmux('send-keys', '-t', name, key);
  }

  exitCode(name: string): string | undefined {
    const f = this.#exitFile(name);
    return existsSync(f) ? readFileSync(f, 'utf8').trim() || undefined : undefined;
  }

  stop(): void {
    spawnSync('tmux', ['-L', this.#socket, 'kill-server']);
    rmSync(join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.#socket), { force: true });
  }

  #exitFile(name: string): string {
    return join(this.#exitDir, `${name}.exit`);
  }
}
