/** Group Contents sent pairwise through the outbox (groups.md §6): queued in the store, then sent together. */
import { create, toBinary } from '@bufbuild/protobuf';
import { ContentSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { ContentInit, GroupEngine, Queued } from './group-log.js';

/** A pairwise Content in the outbox (with this account's access key, as every pairwise Content). Returns its seq and bytes. */
export function enqueue(ge: GroupEngine, to: Uint8Array, content: ContentInit, sync?: ContentInit, messageId = ge.h.ctx.random(16)): Queued {
  return enqueueEncoded(ge, to, encode(ge, content), sync ? toBinary(ContentSchema, create(ContentSchema, sync)) : undefined, messageId);
}

/** A pairwise Content's bytes, with this account's access key. */
export function encode(ge: GroupEngine, content: ContentInit): Uint8Array {
  const c = create(ContentSchema, content);
  const accessKey = ge.h.accessKey();
  if (accessKey) c.senderAccessKey = accessKey;
  c.senderProfileKey = ge.h.profileKey();
  return toBinary(ContentSchema, c);
}

export function enqueueEncoded(ge: GroupEngine, to: Uint8Array, bytes: Uint8Array, syncContent?: Uint8Array, messageId = ge.h.ctx.random(16)): Queued {
  const seq = ge.h.store.enqueueOutbox({ recipient: to, content: bytes, syncContent, messageId, createdAt: ge.h.now() });
  return { seq, to, bytes, messageId };
}

/**
 * Sends queued pairwise rows now, all at once (deliverContents: one store transaction for the sessions, the sends in
 * parallel), and removes the sent ones from the outbox in one transaction; one that fails stays in the outbox and
 * is retried with it.
 */
export async function sendNow(ge: GroupEngine, queued: Queued[]): Promise<void> {
  const ready = queued.filter((q) => !ge.h.store.getContact(q.to)?.pendingIdentityKey); // others held until accepted
  if (!ready.length) return;
  let sent: boolean[];
  try {
    sent = await ge.h.deliverContents(ready.map((q) => ({ to: q.to, content: q.bytes, messageId: q.messageId })));
  } catch {
    sent = [];
  }
  const done = ready.filter((_, i) => sent[i] === true);
  if (done.length) ge.h.store.transaction(() => { for (const q of done) ge.h.store.removeOutbox(q.seq); });
  if (done.length < ready.length) ge.h.flushSoon(1000);
}

/**
 * Sends queued pairwise rows now, all at once when online (while no flush runs; rows a flush sent meanwhile are no
 * longer in the outbox and are skipped); what does not go out stays for the next flush.
 */
export async function sendQueued(ge: GroupEngine, queued: Queued[]): Promise<void> {
  if (queued.length && ge.h.isOnline()) {
    await ge.h.exclusive(() => {
      const still = new Set(ge.h.store.listOutbox().map((r) => r.seq));
      return sendNow(ge, queued.filter((q) => still.has(q.seq)));
    }).catch(() => {});
  }
  await ge.h.flush().catch(() => {});
}
