/**
 * A SoftHSM2 token in a temporary directory (SOFTHSM2_CONF points at its own config),
 * initialised with softhsm2-util: the real PKCS#11 module, nothing shared with the machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p));
export const hasSoftHsm = SOFTHSM_MODULE !== undefined && (() => {
  try { execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
})();
if (!hasSoftHsm && process.env.SIGILO_REQUIRE_SOFTHSM === '1') throw new Error('SoftHSM2 is required (SIGILO_REQUIRE_SOFTHSM=1): apt-get install softhsm2');

export interface TestToken {
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
  readonly conf: string;
  remove(): void;
}

/** Makes a token labelled `label` and points this process (SOFTHSM2_CONF) at it. */
export function makeToken(label = 'sigilo-test', pin = '123456'): TestToken {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const soPin = '87654321';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore' });
  return { module: SOFTHSM_MODULE!, label, pin, soPin, conf, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
