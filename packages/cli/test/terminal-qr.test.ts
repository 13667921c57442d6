/** `sigilo link` draws its code as a QR in the terminal: read back by an independent decoder (jsQR), it is the code. */
import { describe, expect, it } from 'vitest';
import jsQR from 'jsqr';
import { terminalQr } from '../src/client/terminal-qr.js';

/** The terminal's picture of the QR: each '▀' cell is two modules, upper (foreground 30/37) and lower (background 40/47). */
function modules(drawn: string): boolean[][] {
  const grid: boolean[][] = [];
  for (const line of drawn.trimEnd().split('\n')) {
    const upper: boolean[] = [], lower: boolean[] = [];
    for (const m of line.matchAll(/\x1b\[(3[07]);(4[07])m▀/g)) {
      upper.push(m[1] === '30');
      lower.push(m[2] === '40');
    }
    grid.push(upper, lower);
  }
  return grid;
}

function decode(grid: boolean[][], scale = 4): string | undefined {
  const h = grid.length * scale, w = grid[0]!.length * scale;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = grid[Math.floor(y / scale)]![Math.floor(x / scale)] ? 0 : 255;
    rgba.set([v, v, v, 255], (y * w + x) * 4);
  }
  return jsQR(rgba, w, h, { inversionAttempts: 'dontInvert' })?.data; // an inverted code would not pass
}

describe('terminal QR', () => {
  it('a link code drawn for the terminal decodes to the same code', () => {
    const code = 'buu3-qdbt-huy2-zyx4-ct7p-cerd-oa7r-e3rq-thf6-gaus-o6rq-z7bb-3hsq-46wc-4f34-463d-54fl-y75z-beef-s';
    const drawn = terminalQr(code);
    const grid = modules(drawn);
    expect(grid.length).toBeGreaterThan(20);
    expect(decode(grid)).toBe(code);
    // Every cell sets both colours and the line resets them: the terminal's own colours never show through.
    for (const line of drawn.trimEnd().split('\n')) expect(line.endsWith('\x1b[0m')).toBe(true);
  });
});
