// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, largest first.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The newest .cpuprofile in `dir` (or `file`), as [{what, percent}] of busy (non-idle) time, top `n`. */
export function summariseProfile(dir, n = 15, file = undefined) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (!file && files.length === 0) return [];
  const p = JSON.parse(readFileSync(file ?? join(dir, files[files.length - 1]), 'utf8'));
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const cf = byId.get(p.samples[i]).callFrame;
    if (cf.functionName === '(idle)') continue;
    const file = cf.url ? cf.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/') : '';
    const what = `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
    const dt = p.timeDeltas[i] ?? 0;
    self.set(what, (self.get(what) ?? 0) + dt);
    busy += dt;
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([what, t]) => ({ what, percent: (100 * t) / busy }));
}
