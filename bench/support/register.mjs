// Registration of the benchmarks' devices, paced so that it always completes (or fails with a
// reason) on a loaded machine: at most `concurrency` at once, every attempt bounded, retried with
// backoff and a fresh invite, progress on stderr every 5 s.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; await fn(items[i], i); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Rejects after `ms` (the work itself goes on unless `onTimeout` stops it). */
export function withTimeout(p, ms, what, onTimeout) {
  let timer;
  return Promise.race([p, new Promise((_, reject) => { timer = setTimeout(() => { onTimeout?.(); reject(new Error(`${what} took longer than ${ms / 1000} s`)); }, ms); })])
    .finally(() => clearTimeout(timer));
}

/**
 * Registers every device, paced: at most concurrency at once, each attempt bounded by a
 * timeout, a failed one retried with backoff (with a fresh invite: the failed attempt may have used
 * its invite), progress every 5 s; fails (never hangs) when nothing completed for REGISTER_STALL_MS.
 */
const REGISTER_ATTEMPT_MS = 60_000;
const REGISTER_STALL_MS = 180_000;
export async function registerAll(setup, target, devices, { concurrency = 32, note = (s) => process.stderr.write(`  ${s}\n`), localAddress = '127.0.0.2' } = {}) {
  const spare = [];
  const invites = [];
  for (let i = 0; i < devices.length; i += 10_000) invites.push(...await setup.invites(Math.min(10_000, devices.length - i)));
  let done = 0, retries = 0, lastDone = performance.now();
  const errors = new Map();
  const started = performance.now();
  const progress = setInterval(() => {
    note(`  registered ${done}/${devices.length} (${retries} retried${errors.size ? `: ${[...errors].map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}) after ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }, 5000);
  let stalled;
  const watchdog = setInterval(() => { if (performance.now() - lastDone > REGISTER_STALL_MS) stalled = new Error(`registration stalled: nothing completed for ${REGISTER_STALL_MS / 1000} s (${done}/${devices.length} done)`); }, 1000);
  try {
    await pool(devices, concurrency, async (device, i) => {
      let invite = invites[i];
      for (let attempt = 1; ; attempt++) {
        if (stalled) throw stalled;
        try {
          await withTimeout(device.register(target, invite, localAddress), REGISTER_ATTEMPT_MS, 'a registration', () => device.close());
          done++;
          lastDone = performance.now();
          return;
        } catch (e) {
          device.close();
          const kind = /^[A-Z_]+/.exec(e.message)?.[0] ?? e.message.slice(0, 40);
          errors.set(kind, (errors.get(kind) ?? 0) + 1);
          retries++;
          if (attempt >= 20) throw new Error(`a registration failed 20 times; last: ${e.message}`);
          // The invite may have been used by the failed attempt (answer lost): the retry takes a fresh one.
          if (!spare.length) spare.push(...await setup.invites(Math.max(64, concurrency)));
          invite = spare.pop();
          await sleep(Math.min(5000, 250 * attempt) * (0.5 + Math.random()));
        }
      }
    });
  } finally {
    clearInterval(progress);
    clearInterval(watchdog);
  }
}


/**
 * The devices of a benchmark that registers once and then reuses them (server-steady, server-latency): the first
 * run registers `n` devices into `dataDir` with a server from `spawnServer` and keeps the credentials and a pristine
 * copy of the data under `root`; every run then starts from that copy, since each run adds its messages' dedup keys
 * and a growing table would make later runs slower than earlier ones. Devices are paired (0↔1, 2↔3, …).
 */
export async function registeredOnce({ root, dataDir, n, pristine = 'registered', cpus, note, spawnServer, SigiloDevice }) {
  const { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { createSecureContext } = await import('node:tls');
  const credFile = join(root, `devices-${n}.json`);
  const pristineDir = join(root, pristine);
  let devices;
  if (!existsSync(credFile) || !existsSync(pristineDir)) {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    note(`registering ${n} devices into ${root} (once)`);
    const setup = await spawnServer(dataDir, {
      cpus,
      overrides: {
        'storage.synchronous': 'normal', 'limits.failedRegistrationsPerHour': 1_000_000, 'limits.failedRegistrationsPerHourGlobal': 1_000_000,
        'limits.refusedRequestsPerHour': 1_000_000, 'limits.authTimeout': '10m',
      },
    });
    const cert = readFileSync(join(dataDir, 'tls', 'self-signed.crt'));
    devices = Array.from({ length: n }, (_, i) => new SigiloDevice(i));
    const port = Number(new URL(setup.url.replace(/^wss:/, 'https:')).port);
    await registerAll(setup, { port, cert, secureContext: createSecureContext({ ca: cert }) }, devices, { note });
    await setup.stop();
    writeFileSync(credFile, JSON.stringify(devices.map((d) => d.credentials())));
    cpSync(dataDir, pristineDir, { recursive: true });
  } else {
    devices = JSON.parse(readFileSync(credFile, 'utf8')).map((c) => SigiloDevice.fromCredentials(c));
  }
  for (const d of devices) d.peer = devices[d.index ^ 1];
  rmSync(dataDir, { recursive: true, force: true });
  cpSync(pristineDir, dataDir, { recursive: true });
  return devices;
}

/** Connects every device (128 at once); a connection that fails or hangs is retried up to 5 times with a growing wait. */
export async function connectAll(devices, target, localAddress = '127.0.0.5') {
  await pool(devices, 128, async (d) => {
    for (let attempt = 1; ; attempt++) {
      try { return await withTimeout(d.connect(target, localAddress), 120_000, 'a connection', () => d.close()); } catch (e) {
        d.close();
        if (attempt >= 5) throw e;
        await sleep(500 * attempt);
      }
    }
  });
}
