/**
 * The sweeper: deletes expired messages, invites, message-id hashes,
 * attachment quota counters and attachments (metadata and blobs, complete or
 * partial) on a timer, and blobs whose metadata is gone (a crash between the
 * two deletions, or files left from a previous database).
 */
import type { BlobStore } from '../blobs/port.js';
import type { ServerContext } from '../context.js';
import { fromHexId, toHex } from '../ids.js';
import type { SweepResult } from '../storage/port.js';

export interface SweepReport extends SweepResult {
  /** Blobs deleted because no live attachment row names them. */
  readonly orphanBlobs: number;
}

/** Deletes every stored blob without a live attachment row; `skip` holds ids just deleted. */
async function sweepOrphans(ctx: ServerContext, blobs: BlobStore, now: number, skip: ReadonlySet<string>): Promise<number> {
  const known = new Map<string, boolean>();
  let removed = 0;
  for await (const entry of blobs.list()) {
    if (skip.has(entry.id)) continue;
    let live = known.get(entry.id);
    if (live === undefined) {
      const record = await ctx.storage.getAttachment(fromHexId(entry.id, 16)!);
      live = record !== undefined && record.expiresAt > now;
      known.set(entry.id, live);
      if (!live) {
        await blobs.delete(entry.id);
        removed++;
      }
    }
  }
  return removed;
}

export async function sweep(ctx: ServerContext, blobs: BlobStore): Promise<SweepReport> {
  const now = ctx.now();
  const r = await ctx.storage.sweep(now);
  const deleted = new Set<string>();
  for (const id of r.attachmentIds) {
    const hex = toHex(id);
    await blobs.delete(hex);
    deleted.add(hex);
  }
  const orphanBlobs = await sweepOrphans(ctx, blobs, now, deleted);
  ctx.metrics.messagesExpired.inc(undefined, r.messages);
  if (r.messages || r.invites || r.attachmentIds.length || r.attachmentUsage || orphanBlobs) {
    ctx.log.info('retention sweep', {
      messages: r.messages, invites: r.invites, dedup: r.dedup, attachments: r.attachmentIds.length, attachmentUsage: r.attachmentUsage, orphanBlobs,
    });
  }
  return { ...r, orphanBlobs };
}

/** Sweeps shortly after start (a server restarted often still expires data), then every sweepInterval. */
export function startSweeper(ctx: ServerContext, blobs: BlobStore): () => void {
  let running = false;
  const run = () => {
    if (running) return;
    running = true;
    sweep(ctx, blobs)
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
