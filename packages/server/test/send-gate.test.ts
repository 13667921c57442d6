/** The per-connection send order (send-gate.ts): a send goes to the relay only after every earlier one went or was refused. */
import { describe, expect, it } from 'vitest';
import { SendGate } from '../src/send-gate.js';

describe('SendGate', () => {
  it('lets sends go in ticket order whatever order their checks finish in, and skips refused ones', async () => {
    const gate = new SendGate();
    const [a, b, c, d] = [gate.take(), gate.take(), gate.take(), gate.take()];
    const went: string[] = [];
    const go = async (name: string, turn: typeof a) => {
      const w = turn.wait();
      if (w) await w;
      went.push(name);
      turn.pass();
    };
    // d's and b's checks finish first; c is refused before its turn; a finishes last.
    const pd = go('d', d);
    const pb = go('b', b);
    c.pass();
    await new Promise((r) => setTimeout(r, 10));
    expect(went).toEqual([]);
    await go('a', a);
    await Promise.all([pb, pd]);
    expect(went).toEqual(['a', 'b', 'd']);
    // Everything before has passed: the next one goes at once, without a promise.
    expect(gate.take().wait()).toBeUndefined();
  });

  it('passing twice is harmless', () => {
    const gate = new SendGate();
    const a = gate.take();
    a.pass();
    a.pass();
    const b = gate.take();
    expect(b.wait()).toBeUndefined();
    const c = gate.take();
    expect(c.wait()).toBeInstanceOf(Promise);
  });
});
