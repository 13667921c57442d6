/** The sweeper: deletes expired messages, invites, message-id hashes and attachments on a timer. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerContext } from '../context.js';
import { toHex } from '../ids.js';
import type { SweepResult } from '../storage/port.js';

export async function sweep(ctx: ServerContext, attachmentsDir: string): Promise<SweepResult> {
  const r = await ctx.storage.sweep(ctx.now());
  for (const id of r.attachmentIds) {
    rmSync(join(attachmentsDir, toHex(id)), { force: true });
    rmSync(join(attachmentsDir, `${toHex(id)}.part`), { force: true });
  }
  ctx.metrics.messagesExpired.inc(undefined, r.messages);
  if (r.messages || r.invites || r.attachmentIds.length) {
    ctx.log.info('retention sweep', { messages: r.messages, invites: r.invites, dedup: r.dedup, attachments: r.attachmentIds.length });
  }
  return r;
}

/** Sweeps shortly after start (a server restarted often still expires data), then every sweepInterval. */
export function startSweeper(ctx: ServerContext, attachmentsDir: string): () => void {
  let running = false;
  const run = () => {
    if (running) return;
    running = true;
    sweep(ctx, attachmentsDir)
      .catch((e) => ctx.log.error('retention sweep failed', { code: (e as { code?: string }).code }))
      .finally(() => { running = false; });
  };
  const first = setTimeout(run, 5000);
  const timer = setInterval(run, ctx.config.retention.sweepIntervalMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
