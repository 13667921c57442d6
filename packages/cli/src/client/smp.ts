/** `sigilo verify NAME --ask/--answer`: verification by a shared secret (SMP, client.md §4.4) from the command line. */
import { formatAccountId, type ClientEvent, type SigiloClient } from '@sigilo/client-node';
import { ClientError } from '@sigilo/client-node';
import type { ClientContext } from './session.js';
import { EXIT_IDENTITY, connectAndCatchUp, watchWarnings } from './session.js';

/** The verification has no result yet: the contact has not answered (or is offline). */
export const EXIT_PENDING = 5;

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

export async function runSmp(ctx: ClientContext, client: SigiloClient, peer: Uint8Array, who: string, ask: string | undefined, answer: string, waitSeconds: number): Promise<number> {
  watchWarnings(client, ctx.io);
  let off = () => {};
  const outcome = new Promise<Extract<ClientEvent, { type: 'smp-result' }>>((resolve) => {
    off = client.on((e) => { if (e.type === 'smp-result' && same(e.from, peer)) resolve(e); });
  });
  ctx.progress('Connecting…');
  await connectAndCatchUp(client);
  let question: string;
  if (ask !== undefined) {
    await client.startSmp(peer, ask, answer);
    question = ask;
    if (!ctx.json) ctx.io.out(`Asked ${who}: ${ask}\n`);
  } else {
    const pending = client.pendingSmpQuestion(peer);
    if (pending === undefined) {
      throw new ClientError('NOT_FOUND', `${who} has not asked you a verification question (run sigilo inbox to receive it; to ask one yourself: sigilo verify ${who} --ask "…" --answer "…")`);
    }
    question = pending;
    await client.answerSmp(peer, answer);
    if (!ctx.json) ctx.io.out(`Answered ${who}'s question: ${pending}\n`);
  }
  let result: Extract<ClientEvent, { type: 'smp-result' }> | undefined;
  if (waitSeconds > 0) {
    ctx.progress(`Waiting for ${who}…`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), waitSeconds * 1000); });
    result = await Promise.race([outcome, timeout, ctx.io.stopSignal.then(() => undefined)]);
    clearTimeout(timer);
  }
  off();
  // The last step (SMP4) to the peer is queued as the result arrives: it must leave before this command ends.
  await client.flush().catch(() => {});
  const verified = client.safetyNumber(peer).verified;
  if (ctx.json) {
    ctx.io.out(`${JSON.stringify({
      accountId: formatAccountId(peer), question, outcome: result === undefined ? 'pending' : result.match ? 'match' : result.failed ? 'failed' : result.aborted ? 'aborted' : 'no-match', verified,
    })}\n`);
  } else if (result === undefined) {
    ctx.io.out(`No result yet: ${who} has not answered. The result shows in sigilo inbox.\n`);
  } else if (result.failed) {
    ctx.io.out(`Verification FAILED: ${who}'s side sent values that do not check (a cheat or a bug, not a wrong answer). ${who} is NOT verified; compare safety numbers instead (sigilo verify ${who}).\n`);
  } else if (result.match) {
    ctx.io.out(`Match: ${who} gave the same answer. ${who} is now verified (and sees you as verified).\n`);
  } else {
    ctx.io.out(`No match${result.aborted ? ` (${who} stopped the verification)` : ''}: ${who} is NOT verified. Either the answers differ or someone is in between; ask again, or compare safety numbers (sigilo verify ${who}).\n`);
  }
  if (result === undefined) return EXIT_PENDING;
  return result.match ? 0 : EXIT_IDENTITY;
}
