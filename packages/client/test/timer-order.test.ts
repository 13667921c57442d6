/**
 * The order of disappearing-timer changes (client.md §14.1) on a real SQLCipher store: two changes with the same
 * timestamp are ordered by author, then by message id, so devices that apply them in opposite orders end the same;
 * a change seen again (a resend) or an older one changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlCipherStore } from '../../client-node/src/index.js';
import { applyTimerChange, conversationTimerMs, nextChangeAt, timerStamp } from '../src/disappearing-timer.js';

const dirs: string[] = [];
const store = () => {
  const d = mkdtempSync(join(tmpdir(), 'sigilo-timer-order-'));
  dirs.push(d);
  return SqlCipherStore.open(d, 'pass');
};
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const conv = new Uint8Array(16).fill(7);
const ana = new Uint8Array(16).fill(0x11);
const bruno = new Uint8Array(16).fill(0xee);
const id = (b: number) => new Uint8Array(16).fill(b);

describe('timer change order', () => {
  it('same timestamp: the greater author wins whatever the order of arrival; then the greater message id', () => {
    const changes = [
      { ms: 3_600_000, stamp: timerStamp(1000, ana, id(9)) },
      { ms: 86_400_000, stamp: timerStamp(1000, bruno, id(1)) },
    ];
    for (const order of [changes, [...changes].reverse()]) {
      const s = store();
      s.transaction(() => { for (const c of order) applyTimerChange(s, conv, c.ms, c.stamp); });
      expect(conversationTimerMs(s, conv)).toBe(86_400_000);
      expect(nextChangeAt(s, conv)).toBe(1001);
      s.close();
    }
    const s = store();
    s.transaction(() => {
      expect(applyTimerChange(s, conv, 60_000, timerStamp(1000, ana, id(2)))).toBe(true);
      expect(applyTimerChange(s, conv, 120_000, timerStamp(1000, ana, id(1)))).toBe(false);
      expect(applyTimerChange(s, conv, 60_000, timerStamp(1000, ana, id(2)))).toBe(false); // seen again
      expect(applyTimerChange(s, conv, 0, timerStamp(999, bruno, id(255)))).toBe(false); // older
    });
    expect(conversationTimerMs(s, conv)).toBe(60_000);
    s.close();
  });

  it('timestamps compare as numbers, not as text (9 before 10)', () => {
    expect(timerStamp(9, ana, id(1)) < timerStamp(10, ana, id(1))).toBe(true);
    expect(timerStamp(1_700_000_000_000, bruno, id(1)) < timerStamp(1_700_000_000_001, ana, id(1))).toBe(true);
  });
});
