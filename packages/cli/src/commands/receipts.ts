/**
 * Signed read receipts (client.md §4.5, spec/receipts.md): `sigilo receipts NAME --signed on|off`,
 * `sigilo export-receipts NAME MESSAGE-ID FILE` and `sigilo verify-receipt FILE` (offline, no account needed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClientError, formatAccountId } from '@sigilo/client-node';
import { ProtocolError, verifyReceiptExport } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { dateTime, hex } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectAndCatchUp, contactName, watchWarnings } from '../client/session.js';

export const receipts = clientCommand({
  path: ['receipts'],
  summary: 'turn signed read receipts on or off for a conversation',
  usage: `sigilo receipts NAME [--signed on|off] ${CLIENT_USAGE} [--json]

With --signed on, reading NAME's messages also sends NAME a read receipt signed
with your identity key: NAME can export it as proof that you read that exact
message (sigilo export-receipts). Off by default; without --signed, shows the setting.`,
  options: { signed: { type: 'string' } },
  positionals: true,
  async run(ctx) {
    const [name, ...extra] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const signed = str(ctx.values.signed);
    if (signed !== undefined && signed !== 'on' && signed !== 'off') throw new UsageError(`--signed takes on or off, got '${signed}'`);
    const client = await ctx.client();
    const contact = client.resolveContact(name);
    const who = contactName(contact, contact.accountId, client);
    if (signed !== undefined) client.setSignedReceipts(contact.accountId, signed === 'on');
    const on = client.signedReceiptsOn(contact.accountId);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ contact: contact.alias ?? null, accountId: formatAccountId(contact.accountId), signedReceipts: on })}\n`);
    else ctx.io.out(on ? `Signed read receipts are ON with ${who}: messages you read from ${who} are confirmed with your signature.\n` : `Signed read receipts are off with ${who}.\n`);
    return 0;
  },
});

export const exportReceipts = clientCommand({
  path: ['export-receipts'],
  summary: 'write the signed read receipts of one of your messages to a file anyone can check',
  usage: `sigilo export-receipts NAME MESSAGE-ID FILE ${CLIENT_USAGE} [--json]

MESSAGE-ID: the id (or its first digits) of a message you sent NAME (sigilo send --json
prints it). Receives first, then writes the message and every signed receipt kept for it;
check the file with sigilo verify-receipt FILE.`,
  positionals: true,
  async run(ctx) {
    const [name, idText, file, ...extra] = ctx.positionals;
    if (!name || !idText || !file) throw new UsageError('give the contact NAME, the MESSAGE-ID and the FILE to write');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const client = await ctx.client();
    const contact = client.resolveContact(name);
    watchWarnings(client, ctx.io);
    await connectAndCatchUp(client).catch((e) => { ctx.io.err(`warning: could not receive new receipts (${(e as Error).message}); exporting what is stored\n`); });
    const p = idText.toLowerCase();
    const found = client.store.listMessages(contact.accountId, 100_000).filter((m) => m.outgoing && hex(m.messageId).startsWith(p));
    if (found.length === 0) throw new ClientError('NOT_FOUND', `no message you sent ${contactName(contact, contact.accountId, client)} has the id ${idText}`);
    if (found.length > 1) throw new UsageError(`${found.length} messages have ids starting with ${idText}: give more digits`);
    const text = client.exportReceipts(contact.accountId, found[0]!.messageId);
    const path = resolve(ctx.io.cwd, file);
    writeFileSync(path, text, { mode: 0o600 });
    const count = client.signedReceipts(contact.accountId, found[0]!.messageId).length;
    if (ctx.json) ctx.io.out(`${JSON.stringify({ file: path, messageId: hex(found[0]!.messageId), receipts: count })}\n`);
    else ctx.io.out(`Wrote ${count} signed receipt${count === 1 ? '' : 's'} to ${path}; anyone can check it with: sigilo verify-receipt ${file}\n`);
    return 0;
  },
});

export const verifyReceipt: Command = {
  path: ['verify-receipt'],
  summary: 'check a signed read receipt file offline',
  usage: `sigilo verify-receipt FILE [--json]

Checks, without any server or account, that the message in FILE matches its digest
and that every receipt is a valid signature over it. It proves which identity keys
signed that they read this message; who holds a key is for the safety number to say.
Exit codes: 0 valid, 1 invalid (the reason is printed).`,
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } }, true);
    const [file, ...extra] = positionals;
    if (!file) throw new UsageError('give the receipt FILE');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    let text: string;
    try {
      text = readFileSync(resolve(io.cwd, file), 'utf8');
    } catch (e) {
      io.err(`sigilo verify-receipt: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`);
      return 1;
    }
    try {
      const r = verifyReceiptExport(nodeCrypto, text);
      if (values.json === true) {
        io.out(`${JSON.stringify({
          valid: true, messageId: hex(r.message.messageId), sender: formatAccountId(r.message.senderAccountId), text: r.message.text,
          receipts: r.receipts.map((x) => ({ reader: formatAccountId(x.readerAccountId), readerIdentityKey: hex(x.readerIdentityKey), readAt: x.readAt })),
        })}\n`);
      } else {
        io.out(`Valid: message ${hex(r.message.messageId)} from ${formatAccountId(r.message.senderAccountId)} sent ${dateTime(r.message.timestamp)}:\n  ${JSON.stringify(r.message.text)}\n`);
        for (const x of r.receipts) io.out(`  read by ${formatAccountId(x.readerAccountId)} at ${dateTime(x.readAt)} (identity key ${hex(x.readerIdentityKey).slice(0, 16)}…)\n`);
      }
      return 0;
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      if (values.json === true) io.out(`${JSON.stringify({ valid: false, reason: e.message })}\n`);
      io.err(`sigilo verify-receipt: INVALID: ${e.message}\n`);
      return 1;
    }
  },
};
