// Process and CPU figures from /proc (Linux): resident memory, CPU time of a process (all its
// threads), and how busy each core was, to show who used which core during a measurement.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** Resident set size of a process in KiB (NaN once it is gone). */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch { return NaN; }
}

/** User + system CPU seconds of a process so far. */
export function cpuSeconds(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ;
  } catch { return NaN; }
}

/** Busy and total jiffies of every core. */
function coreJiffies() {
  const out = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

/**
 * Measures, between start() and stop(): the CPU use of each named pid (percent of one core) and
 * how busy each core was (percent), so "other work" on a core shows as busy minus ours.
 */
export class CpuWatch {
  #pids; #t0; #cpu0; #cores0;
  constructor(pids) { this.#pids = pids; }
  start() {
    this.#t0 = performance.now();
    this.#cpu0 = Object.fromEntries(Object.entries(this.#pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    this.#cores0 = coreJiffies();
    return this;
  }
  stop() {
    const seconds = (performance.now() - this.#t0) / 1000;
    const procs = Object.fromEntries(Object.entries(this.#pids).map(([k, pid]) => [k, (100 * (cpuSeconds(pid) - this.#cpu0[k])) / seconds]));
    const cores = coreJiffies().map((c, i) => {
      const c0 = this.#cores0[i];
      return c0 && c.total > c0.total ? (100 * (c.busy - c0.busy)) / (c.total - c0.total) : NaN;
    });
    return { seconds, procs, cores };
  }
}

/**
 * Scheduler figures of one thread (the main thread by default), from /proc/PID/task/TID/schedstat: time on a CPU
 * and time runnable but waiting for one (run queue), in ms. The wait is what a machine shared with other work
 * adds to a process's latency however little CPU it needs.
 */
export function schedMs(pid, tid = pid) {
  try {
    const [run, wait, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { run: run / 1e6, wait: wait / 1e6, slices };
  } catch { return { run: NaN, wait: NaN, slices: NaN }; }
}
