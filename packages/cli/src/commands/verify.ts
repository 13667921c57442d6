/**
 * `sigilo verify NAME`: the safety number with a contact (60 digits) and the QR
 * payload their app scans; `--qr` checks a scanned payload, `--accept` accepts a
 * changed identity key, `--verified` records that the numbers were compared.
 */
import { base32, formatAccountId, fromBase32 } from '@sigilo/client-node';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { hex } from '../client/format.js';
import { CLIENT_USAGE, EXIT_IDENTITY, clientCommand, contactName } from '../client/session.js';
import { runSmp } from '../client/smp.js';

/** A scanned QR payload as text: hex or base32 (the two forms `verify` prints), told apart by length. */
function parseQrText(text: string, expectedBytes: number): Uint8Array {
  const clean = text.replace(/[\s:-]/g, '');
  if (clean.length === expectedBytes * 2 && /^[0-9a-f]+$/i.test(clean)) return new Uint8Array(Buffer.from(clean, 'hex'));
  try {
    return fromBase32(clean);
  } catch {
    throw new UsageError('--qr takes the payload as hex or base32, as `sigilo verify NAME` prints it');
  }
}

export const verify = clientCommand({
  path: ['verify'],
  summary: 'show the safety number with a contact; check a scanned QR payload; accept a changed key',
  usage: `sigilo verify NAME [--qr PAYLOAD | --verified | --accept] ${CLIENT_USAGE} [--json]
sigilo verify NAME --ask "QUESTION" --answer "OUR ANSWER" [--wait SECONDS] ${CLIENT_USAGE} [--json]
sigilo verify NAME --answer "ANSWER" [--wait SECONDS] ${CLIENT_USAGE} [--json]

Compare the safety number with your contact in person or on a call you trust,
or scan each other's QR codes.
  --qr PAYLOAD  the payload scanned from your contact's screen (hex or base32):
                marks them verified when it matches; exit code 3 when it does not
  --verified    you compared the numbers and they match: mark the contact verified
  --accept      accept your contact's NEW identity key (after a "safety number changed"
                warning) without marking it verified; sending is blocked until you do
Exit code 3 also when the key changed and is not accepted yet.

Or verify with a question only your contact can answer (SMP, no numbers to compare;
neither side learns the other's answer, only whether they are the same):
  --ask QUESTION  ask it; --answer gives your own answer (case and extra spaces ignored)
  --answer TEXT   alone: answer the question your contact asked (sigilo inbox shows it)
  --wait SECONDS  how long to wait for the result (default 60; 0: do not wait, the
                  result shows in sigilo inbox)
Exit codes: 0 match (both sides mark each other verified), 3 no match,
5 no result yet (your contact has not answered: run sigilo inbox later).
At most 3 questions per contact per hour.`,
  options: { qr: { type: 'string' }, accept: { type: 'boolean' }, verified: { type: 'boolean' }, ask: { type: 'string' }, answer: { type: 'string' }, wait: { type: 'string' } },
  positionals: true,
  async run(ctx) {
    const [name, ...extra] = ctx.positionals;
    if (!name) throw new UsageError('give the contact NAME');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const qr = str(ctx.values.qr);
    const ask = str(ctx.values.ask), answer = str(ctx.values.answer), waitText = str(ctx.values.wait);
    const smp = ask !== undefined || answer !== undefined;
    const actions = [qr !== undefined, ctx.values.accept === true, ctx.values.verified === true, smp].filter(Boolean).length;
    if (actions > 1) throw new UsageError('give only one of --qr, --verified, --accept and --ask/--answer');
    if (ask !== undefined && answer === undefined) throw new UsageError('--ask needs your own answer too: --answer "…" (it is never sent, only compared)');
    if (waitText !== undefined && !smp) throw new UsageError('--wait goes with --ask or --answer');
    const wait = waitText === undefined ? 60 : Number(waitText);
    if (!Number.isFinite(wait) || wait < 0) throw new UsageError(`--wait takes a number of seconds, got '${waitText}'`);
    const client = await ctx.client();
    const contact = client.resolveContact(name);
    const who = contactName(contact, contact.accountId, client);
    if (smp) return runSmp(ctx, client, contact.accountId, who, ask, answer!, wait);
    const before = client.safetyNumber(contact.accountId);
    let outcome: 'shown' | 'accepted' | 'verified' | 'mismatch' = 'shown';
    if (qr !== undefined) {
      outcome = client.verifyQr(contact.accountId, parseQrText(qr, before.qrPayload.length)) ? 'verified' : 'mismatch';
    } else if (ctx.values.verified === true) {
      client.acceptIdentity(contact.accountId, true);
      outcome = 'verified';
    } else if (ctx.values.accept === true) {
      // A revoked certificate (spec/trust.md §6.3) is accepted the same way as a changed key.
      if (client.acceptRevokedCertificate(contact.accountId) && !ctx.json) ctx.io.out(`Accepted ${who}'s key although the organisation revoked its certificate; held messages go out on the next connection.\n`);
      client.acceptIdentity(contact.accountId, false);
      outcome = 'accepted';
    }
    // acceptIdentity schedules the held outbox; connecting would send it, but verify stays offline.
    const sn = client.safetyNumber(contact.accountId);
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({
        contact: contact.alias ?? null, accountId: formatAccountId(contact.accountId),
        safetyNumber: sn.digits, formatted: sn.formatted, qrPayloadHex: hex(sn.qrPayload), qrPayloadBase32: base32(sn.qrPayload),
        verified: sn.verified, changed: sn.changed, outcome, trustedBy: client.trusted(contact.accountId).by ?? null,
      })}\n`);
    } else {
      ctx.io.out(`Safety number with ${who}:\n\n${sn.formatted.replace(/^/gm, '  ')}\n\nQR payload (base32): ${base32(sn.qrPayload)}\nQR payload (hex):    ${hex(sn.qrPayload)}\n\n`);
      if (outcome === 'mismatch') ctx.io.out(`The scanned payload does NOT match: this is not ${who}'s current key, or someone is in between. Not verified.\n`);
      else if (outcome === 'verified') ctx.io.out(`${who} is now verified.\n`);
      else if (outcome === 'accepted') ctx.io.out(`Accepted ${who}'s new key (not verified: compare the numbers, then run sigilo verify ${who} --verified). Held messages go out on the next connection.\n`);
      else if (sn.changed) ctx.io.out(`${who}'s safety number CHANGED: compare the new number above, then accept it with: sigilo verify ${who} --accept\n`);
      else if (!sn.verified && client.trusted(contact.accountId).by === 'organisation') ctx.io.out(`${who} is trusted: certified by ${client.orgCa()!.organisation}, which your organisation counts as verified.\n`);
      else ctx.io.out(sn.verified ? `${who} is verified.\n` : `${who} is not verified yet. After comparing: sigilo verify ${who} --verified (or --qr PAYLOAD)\n`);
    }
    if (outcome === 'mismatch') {
      ctx.io.err(`sigilo verify: the scanned QR payload does not match ${who}'s safety number\n`);
      return EXIT_IDENTITY;
    }
    return sn.changed ? EXIT_IDENTITY : 0;
  },
});
