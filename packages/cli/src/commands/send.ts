/** `sigilo send NAME TEXT…`: sends one text message (from stdin with `-`). */
import { ClientError, formatAccountId } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { hex, ticks } from '../client/format.js';
import { CLIENT_USAGE, EXIT_IDENTITY, clientCommand, contactName, watchWarnings, type ClientContext } from '../client/session.js';
import { describeLease } from '../client/device-lease.js';
import { resolveConversation, sendToGroup } from './group.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export const send = clientCommand({
  path: ['send'],
  summary: 'send a text message to a contact or group',
  usage: `sigilo send NAME TEXT… ${CLIENT_USAGE} [--json]
       sigilo send GROUP TEXT…          (a group's name or id: to every member)
       echo TEXT | sigilo send NAME -

The message is stored in the outbox first: if the server cannot be reached it is
sent by a running \`sigilo chat\` as soon as the server is back, else by the next
\`sigilo send\`, \`inbox\` or \`chat\` (exit code 1 says so; do not send it again).
A message that cannot be sent at all (no such account, too large, refused) exits 1
with the reason; a contact whose safety number changed exits 3. With --json the
object has "status" (sent, delivered, pending, failed) and, unless sent, "error":
{code, message}.`,
  positionals: true,
  async run(ctx) {
    const [name, ...words] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME and the TEXT (or - to read it from stdin)');
    if (words.length === 0) throw new UsageError('give the TEXT to send (or - to read it from stdin)');
    const text = words.length === 1 && words[0] === '-' ? await readStdin() : words.join(' ');
    if (text.trim() === '') throw new UsageError('the message is empty');
    const client = await ctx.client();
    const target = resolveConversation(client, name);
    if (target.kind === 'group') return sendToGroup(ctx, client, target.group, text);
    const contact = client.resolveContact(name);
    const who = contactName(contact, contact.accountId, client);
    watchWarnings(client, ctx.io);
    let offline: Error | undefined;
    try {
      await client.connect({ reconnect: false });
    } catch (e) {
      if (!(e instanceof ClientError) || (e.code !== 'CONNECTION_FAILED' && e.code !== 'TIMEOUT')) throw e;
      offline = e;
    }
    // Why the outbox could not send it: the SDK says so with a send-failed event for its id.
    const failures = new Map<string, { reason: string; code: string | undefined }>();
    const off = client.on((e) => { if (e.type === 'send-failed') failures.set(hex(e.messageId), { reason: e.reason, code: e.code }); });
    let m;
    try {
      m = await client.sendText(contact.accountId, text);
    } catch (e) {
      // Refused before it was stored (a changed safety number not accepted yet): nothing is queued.
      if (!(e instanceof ClientError) || e.code !== 'IDENTITY_CHANGED') throw e;
      return held(ctx, who, contact.accountId, undefined, changedText(who), 'not sent (nothing was queued)');
    } finally {
      off();
    }
    const base = { to: formatAccountId(contact.accountId), contact: contact.alias ?? null, messageId: hex(m.messageId), timestamp: m.timestamp, status: m.status };
    if (m.status === 'failed') {
      const f = failures.get(hex(m.messageId));
      const reason = f?.reason ?? 'the server refused it';
      const code = f?.code ?? 'SEND_FAILED';
      if (ctx.json) ctx.io.out(`${JSON.stringify({ ...base, error: { code, message: reason } })}\n`);
      ctx.io.err(`sigilo send: not sent to ${who}: ${reason} [${code}]${advice(code, who)}\n`);
      return 1;
    }
    if (m.status === 'pending' && client.store.getContact(contact.accountId)?.pendingIdentityKey) {
      return held(ctx, who, contact.accountId, base, changedText(who), 'the message is held in the outbox until then');
    }
    if (m.status === 'pending') {
      // When it will be retried: a chat running on this directory retries in the background; otherwise the next command does.
      const chat = ctx.leases.runningChat();
      const when = chat
        ? `${describeLease(chat)} is running on this directory: it sends it in the background as soon as the server is back`
        : 'it goes out with the next `sigilo send`, `inbox` or `chat` (a running `sigilo chat` retries in the background)';
      const reason = offline?.message ?? failures.get(hex(m.messageId))?.reason ?? 'the server did not take it yet';
      if (ctx.json) ctx.io.out(`${JSON.stringify({ ...base, error: { code: offline instanceof ClientError ? offline.code : 'QUEUED', message: reason }, retry: chat ? 'running-chat' : 'next-command' })}\n`);
      else ctx.io.out(`Queued for ${who}: not sent yet.\n`);
      ctx.io.err(`sigilo send: not sent yet (${reason}); the message stays in the outbox and ${when}. Do not send it again.\n`);
      return 1;
    }
    if (ctx.json) ctx.io.out(`${JSON.stringify(base)}\n`);
    else ctx.io.out(`Sent to ${who} ${ticks(m.status)}\n`);
    return 0;
  },
});

const changedText = (who: string) => `${who}'s safety number changed: compare it (\`sigilo verify ${who}\`) and accept it with \`sigilo verify ${who} --accept\``;

/** What to do about a refusal, by its code. */
function advice(code: string, who: string): string {
  switch (code) {
    case 'NOT_FOUND': return `; check ${who}'s contact card (\`sigilo contacts\`): that account does not exist on this server`;
    case 'MESSAGE_TOO_LARGE': return '; send long text as a file (`sigilo send-file`)';
    default: return '';
  }
}

/** A message blocked by a changed safety number: exit 3 with the reason, in --json too. */
function held(ctx: ClientContext, who: string, to: Uint8Array, base: object | undefined, message: string, what: string): number {
  if (ctx.json) ctx.io.out(`${JSON.stringify({ ...(base ?? { to: formatAccountId(to), contact: who, messageId: null, status: 'not-queued' }), error: { code: 'IDENTITY_CHANGED', message } })}\n`);
  ctx.io.err(`sigilo send: ${message}; ${what} [IDENTITY_CHANGED]\n`);
  return EXIT_IDENTITY;
}
