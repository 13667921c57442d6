/**
 * The crash-and-restart soak, short (issue 17 point 2): the server is killed
 * with SIGKILL 10 times while clients send, link devices and change a group.
 * `npm run soak` runs 100 cycles (SIGILO_SOAK_CYCLES overrides).
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from './soak/soak.js';

const cycles = Number(process.env.SIGILO_SOAK_CYCLES ?? 10);
const seed = Number(process.env.SIGILO_SOAK_SEED ?? 0x5161);

describe('crash-and-restart soak', () => {
  it(`kill -9 ${cycles} times: every acknowledged message delivered exactly once, the same history on every device`, async () => {
    // The short run (CI) sends a little less often, to keep it near a minute and a half on two cores.
    const report = await runSoak({ cycles, seed, tickMs: cycles <= 10 ? 120 : 80, log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(`soak: ${JSON.stringify(report, null, 1)}\n`);
    process.stdout.write(`soak: ${report.cycles} cycles, ${report.sent} texts sent, ${report.acknowledged} acknowledged, ${report.deliveries} (message, device) deliveries, `
      + `duplicates ${report.duplicates}, lost ${report.lost}, history mismatches ${report.historyMismatches}, link-window gaps ${report.linkWindowGaps}, ${(report.elapsedMs / 1000).toFixed(1)} s\n`);
    expect(report.cycles).toBe(cycles);
    expect(report.acknowledged).toBeGreaterThan(cycles * 5);
    expect(report.problems).toEqual([]);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.historyMismatches).toBe(0);
    expect(report.groupMismatches).toBe(0);
    // What the approving device stored during a link reaches the new device (client.md §6.1): no gap is tolerated.
    expect(report.linkWindowGaps, report.linkWindowGapList.join(', ')).toBe(0);
  }, 120_000 + cycles * 20_000);
});
