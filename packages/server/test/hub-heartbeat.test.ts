/**
 * The heartbeat's rounds (hub.ts): every connection is pinged once per heartbeat interval, in its own round, so that
 * a node's pings are spread over the interval rather than written in one turn (spec/server.md §13.3).
 */
import { describe, expect, it } from 'vitest';
import { CloseReason } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { HEARTBEAT_ROUNDS, Hub } from '../src/hub.js';
import type { Connection } from '../src/ports.js';

/** What the hub calls of a connection for the heartbeat: heartbeat() and close(); the rest is never reached here. */
function connection(pings: Map<Connection, number>): Connection {
  const c = {
    session: undefined, closed: false, nonce: new Uint8Array(32), sourceKey: '?',
    heartbeat() { pings.set(c, (pings.get(c) ?? 0) + 1); },
    close() { c.closed = true; },
  } as unknown as Connection & { closed: boolean };
  return c;
}

describe('Hub heartbeat rounds', () => {
  it('pings every connection exactly once per interval, at most ceil(n / rounds) per round', () => {
    const hub = new Hub();
    const pings = new Map<Connection, number>();
    const n = 10 * HEARTBEAT_ROUNDS + 7;
    const conns = Array.from({ length: n }, () => connection(pings));
    for (const c of conns) hub.add(c);
    hub.add(conns[0]!); // added twice: still one round
    const perRound: number[] = [];
    for (let r = 0; r < HEARTBEAT_ROUNDS; r++) {
      const before = [...pings.values()].reduce((a, b) => a + b, 0);
      hub.heartbeat();
      perRound.push([...pings.values()].reduce((a, b) => a + b, 0) - before);
    }
    expect(conns.every((c) => pings.get(c) === 1)).toBe(true);
    expect(Math.max(...perRound)).toBe(Math.ceil(n / HEARTBEAT_ROUNDS));
    expect(Math.min(...perRound)).toBe(Math.floor(n / HEARTBEAT_ROUNDS));
    // The next interval pings each once more, in the same order of rounds.
    for (let r = 0; r < HEARTBEAT_ROUNDS; r++) hub.heartbeat();
    expect(conns.every((c) => pings.get(c) === 2)).toBe(true);
  });

  it('no longer pings a removed connection; closeAll reaches every connection of every round', () => {
    const hub = new Hub();
    const pings = new Map<Connection, number>();
    const conns = Array.from({ length: 3 * HEARTBEAT_ROUNDS }, () => connection(pings));
    for (const c of conns) hub.add(c);
    const gone = conns.slice(0, HEARTBEAT_ROUNDS);
    for (const c of gone) hub.remove(c);
    expect(hub.size).toBe(2 * HEARTBEAT_ROUNDS);
    for (let r = 0; r < HEARTBEAT_ROUNDS; r++) hub.heartbeat();
    expect(gone.every((c) => !pings.has(c))).toBe(true);
    expect(conns.slice(HEARTBEAT_ROUNDS).every((c) => pings.get(c) === 1)).toBe(true);
    hub.closeAll(CloseReason.SHUTDOWN, 'bye');
    expect(conns.slice(HEARTBEAT_ROUNDS).every((c) => c.closed)).toBe(true);
    expect(gone.every((c) => !c.closed)).toBe(true);
  });
});
