/**
 * A small, self-contained Chromium harness for the web app's tests: Debian's chromium driven by
 * playwright-core, trusting a test CA through an NSS database in a temporary HOME (certutil from
 * libnss3-tools) — never through an ignore-certificate-errors flag.
 * Tests skip with a message when /usr/bin/chromium is absent, unless SIGILO_REQUIRE_BROWSER=1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.SIGILO_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. Throws when they must run. */
export function browserMissing(): string | undefined {
  const missing = !existsSync(CHROMIUM) ? `${CHROMIUM} is absent (apt-get install chromium libnss3-tools)`
    : !hasCertutil() ? 'certutil is absent (apt-get install libnss3-tools)' : undefined;
  if (missing && process.env.SIGILO_REQUIRE_BROWSER === '1') throw new Error(`SIGILO_REQUIRE_BROWSER=1 but ${missing}`);
  if (missing) console.warn(`[web browser tests skipped] ${missing}; set SIGILO_REQUIRE_BROWSER=1 to make this an error`);
  return missing;
}

function hasCertutil(): boolean {
  try {
    execFileSync('certutil', ['-H'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh HOME whose NSS database trusts caPem for websites; `extraArgs` add flags (fake media devices). */
export async function launchTrusting(caPem: string, extraArgs: readonly string[] = []): Promise<TestBrowser> {
  const home = mkdtempSync(join(tmpdir(), 'sigilo-chromium-home-'));
  const nss = join(home, '.pki', 'nssdb');
  mkdirSync(nss, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${nss}`, '-N', '--empty-password']);
  const caFile = join(home, 'test-ca.pem');
  writeFileSync(caFile, caPem);
  execFileSync('certutil', ['-d', `sql:${nss}`, '-A', '-t', 'C,,', '-n', 'sigilo-test-ca', '-i', caFile]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
    env: { ...process.env, HOME: home, TMPDIR: process.env.TMPDIR ?? tmpdir() },
    timeout: 60_000,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
