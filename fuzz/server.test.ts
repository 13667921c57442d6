/**
 * The short CI run of the server's frame handler through a real connection
 * (fuzz/server-target.ts): FUZZ_CI_SERVER_FRAMES (default 300) mutated and
 * generated frames; the server answers every one, never with INTERNAL, never
 * faults, and keeps serving a well-behaved client.
 */
import { describe, expect, it } from 'vitest';
import { fuzzServer } from './server-target.js';

const FRAMES = Number(process.env.FUZZ_CI_SERVER_FRAMES ?? 300);

describe('fuzz: the server frame handler over a real connection (short run)', () => {
  it(`answers ${FRAMES} mutated frames with typed errors or valid replies and keeps serving`, async () => {
    const crashes: string[] = [];
    const r = await fuzzServer({
      frames: FRAMES, seed: Number(process.env.FUZZ_SEED ?? 17),
      onCrash: (input, message) => crashes.push(`${message} (input ${Buffer.from(input).toString('hex').slice(0, 200)})`),
    });
    expect(crashes).toEqual([]);
    expect(r.frames).toBe(FRAMES);
    // The generated frames reach the handlers, not only the decoder: some are answered with a reply.
    expect(r.errors).toBeGreaterThan(0);
    expect(r.replies).toBeGreaterThan(0);
  }, 180_000);
});
