/** The key transparency frames (spec/transparency.md §5): consistency proofs and an account's own bindings. */
import type { KtGetConsistency } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { invalidArgument } from '../errors.js';

export async function ktConsistency(ctx: ServerContext, _s: Session, m: KtGetConsistency): Promise<Reply> {
  const cp = await ctx.kt.latest();
  const newSize = m.newSize === 0n ? cp.size : Number(m.newSize);
  const oldSize = Number(m.oldSize);
  if (m.newSize > BigInt(cp.size) || m.oldSize > BigInt(newSize)) {
    throw invalidArgument(`sizes must satisfy old_size <= new_size <= ${cp.size} (the latest checkpoint's size)`);
  }
  const path = await ctx.kt.consistency(oldSize, newSize);
  return { body: { case: 'ktConsistency', value: { checkpoint: cp.note, oldSize: BigInt(oldSize), newSize: BigInt(newSize), path } } };
}

export async function ktAccount(ctx: ServerContext, s: Session): Promise<Reply> {
  const r = await ctx.kt.accountProofs(s.accountId);
  return { body: { case: 'ktAccountBindings', value: { checkpoint: r.checkpoint, leaves: r.leaves } } };
}
