/**
 * The sweeper: deletes expired messages, invites, message-id hashes,
 * attachment quota counters and attachments (metadata and blobs, complete or
 * partial) on a timer, and blobs whose metadata is gone (a crash between the
 * two deletions, or files left from a previous database).
 *
 * A failure (EMFILE when the process is out of file descriptors, an I/O
 * error) never stops the sweeper: a blob that cannot be deleted is skipped
 * and found again as an orphan, and a failed sweep is tried again soon
 * instead of after a whole sweepInterval.
 */
import type { BlobStore } from '../blobs/port.js';
import type { ServerContext } from '../context.js';
import { fromHexId, toHex } from '../ids.js';
import type { SweepResult } from '../storage/port.js';
import { removeKeylessDevices } from './devices.js';

export interface SweepReport extends SweepResult {
  /** Blobs deleted because no live attachment row names them. */
  readonly orphanBlobs: number;
  /** Devices removed because a link left them without keys (services/devices.ts removeKeylessDevices). */
  readonly keylessDevices: number;
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
  let failure: unknown;
  for (const id of r.attachmentIds) {
    const hex = toHex(id);
    try {
      await blobs.delete(hex);
      deleted.add(hex);
    } catch (e) {
      // Its row is gone: the blob is an orphan now, deleted by the next sweep.
      failure ??= e;
    }
  }
  const orphanBlobs = await sweepOrphans(ctx, blobs, now, deleted).catch((e: unknown) => { failure ??= e; return 0; });
  const keylessDevices = await removeKeylessDevices(ctx).catch((e: unknown) => { failure ??= e; return 0; });
  ctx.metrics.messagesExpired.inc(undefined, r.messages);
  if (r.messages || r.invites || r.attachmentIds.length || r.attachmentUsage || orphanBlobs || keylessDevices) {
    ctx.log.info('retention sweep', {
      messages: r.messages, invites: r.invites, dedup: r.dedup, attachments: r.attachmentIds.length, attachmentUsage: r.attachmentUsage, orphanBlobs, keylessDevices,
    });
  }
  if (failure !== undefined) throw failure;
  return { ...r, orphanBlobs, keylessDevices };
}

/**
 * Sweeps shortly after start (a server restarted often still expires data), then every
 * sweepInterval; a failed sweep is retried after `retryMs` (at most sweepInterval).
 */
export function startSweeper(ctx: ServerContext, blobs: BlobStore, retryMs = 30_000): () => void {
  let running = false;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const run = () => {
    if (running || stopped) return;
    running = true;
    clearTimeout(retry);
    retry = undefined;
    let failed = false;
    const attempt = async () => {
      try {
        // Several nodes: one sweeps at a time; the others skip this round.
        await ctx.storage.exclusive('retention-sweep', () => sweep(ctx, blobs));
      } catch (e) {
        failed = true;
        ctx.log.error('retention sweep failed; trying again soon', { code: (e as { code?: string } | null)?.code });
      }
    };
    void attempt().finally(() => {
      running = false;
      if (failed && !stopped) {
        retry = setTimeout(run, Math.min(retryMs, ctx.config.retention.sweepIntervalMs));
        retry.unref();
      }
    });
  };
  const first = setTimeout(run, 5000);
  const timer = setInterval(run, ctx.config.retention.sweepIntervalMs);
  first.unref();
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(first);
    clearTimeout(retry);
    clearInterval(timer);
  };
}
