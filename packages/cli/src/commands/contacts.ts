/** `sigilo contacts`: the people this client knows, with their verification and mute state. */
import { checkUsername, formatAccountId, parseContactCard, type ContactRow } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { mutedText, profileNameText } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectBestEffort } from '../client/session.js';
import { contactConflict, settleContactConflict } from '../client/contact-conflict.js';
import { certificateJson, certificateShort, refreshCertificates } from '../client/org-status.js';

export function identityState(c: ContactRow): 'changed' | 'verified' | 'unverified' | 'unknown' {
  if (c.pendingIdentityKey) return 'changed';
  if (!c.identityKey) return 'unknown';
  return c.verified ? 'verified' : 'unverified';
}

export const contacts = clientCommand({
  path: ['contacts'],
  summary: 'list your contacts (name, account id, verified or changed, muted)',
  usage: `sigilo contacts ${CLIENT_USAGE} [--json]
       sigilo contacts add NAME CARD
       sigilo contacts add [NAME] @USERNAME

PROFILE is the display name the contact chose (read from their encrypted profile;
updated by \`sigilo inbox\` and \`sigilo chat\`).

Identity: "verified" (safety number compared), "unverified", "CHANGED" (the contact's
key changed: sending is blocked until \`sigilo verify NAME --accept\`), or "unknown"
(no message exchanged yet).

Certificate (when the organisation runs an identity CA): "certified by ORG", "uncertified",
"REVOKED by ORG" (sending is held until \`sigilo verify NAME --accept\`), "certificate EXPIRED",
or "certificate for ANOTHER KEY". Fetched from the server when it is reachable. Where the
organisation's CA says so, a certified contact shows as "verified" without comparing numbers.`,
  positionals: true,
  async run(ctx) {
    if (ctx.positionals.length) throw new UsageError(`unknown subcommand '${ctx.positionals[0]}' (did you mean \`sigilo contacts add NAME CARD\`?)`);
    const client = await ctx.client();
    if (await connectBestEffort(client).catch(() => false)) await refreshCertificates(client);
    const now = Date.now();
    const rows = client.store.listContacts();
    const certificate = (c: ContactRow) => client.certificateStatus(c.accountId);
    // Certified, where the organisation's CA says that counts as verified (spec/trust.md §6.4).
    const stateOf = (c: ContactRow) => { const s = identityState(c); return s === 'unverified' && client.trusted(c.accountId).by === 'organisation' ? 'verified' : s; };
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(rows.map((c) => ({
        name: c.alias ?? null,
        profileName: client.profiles.nameOf(c.accountId) ?? null,
        accountId: formatAccountId(c.accountId),
        identity: stateOf(c),
        verified: c.verified,
        trustedBy: client.trusted(c.accountId).by ?? null,
        certificate: certificateJson(certificate(c)),
        mutedUntil: c.mutedUntil > now ? c.mutedUntil : null,
      })))}\n`);
      return 0;
    }
    if (rows.length === 0) {
      ctx.io.out('No contacts yet. Add one with: sigilo contacts add NAME CARD\n');
      return 0;
    }
    const profileOf = (c: ContactRow) => { const n = client.profiles.nameOf(c.accountId); return n ? profileNameText(n) : '-'; };
    const width = Math.max(4, ...rows.map((c) => (c.alias ?? '-').length));
    const pw = Math.max(7, ...rows.map((c) => profileOf(c).length));
    const certs = new Map(rows.map((c) => [c, certificateShort(certificate(c))]));
    const cw = Math.max(11, ...[...certs.values()].map((t) => t.length));
    const withCerts = [...certs.values()].some((t) => t !== '');
    ctx.io.out(`${'NAME'.padEnd(width)}  ${'PROFILE'.padEnd(pw)}  ${'ACCOUNT'.padEnd(26)}  IDENTITY    ${withCerts ? `${'CERTIFICATE'.padEnd(cw)}  ` : ''}MUTED\n`);
    for (const c of rows) {
      const state = stateOf(c);
      ctx.io.out(`${(c.alias ?? '-').padEnd(width)}  ${profileOf(c).padEnd(pw)}  ${formatAccountId(c.accountId)}  ${(state === 'changed' ? 'CHANGED' : state).padEnd(10)}  ${withCerts ? `${certs.get(c)!.padEnd(cw)}  ` : ''}${mutedText(c, now) ?? ''}`.trimEnd() + '\n');
    }
    return 0;
  },
});

export const contactsAdd = clientCommand({
  path: ['contacts', 'add'],
  summary: 'add a contact from their contact card or @username (or rename one)',
  usage: `sigilo contacts add NAME CARD [--yes] ${CLIENT_USAGE} [--json]
       sigilo contacts add [NAME] @USERNAME [--yes]

  NAME       what you call them: letters, digits, "_", "." or "-" (default: the username)
  CARD       their contact card (\`sigilo whoami\` prints it; a typo anywhere is caught by its
             checksum), or just their account id
  @USERNAME  their username on this server (\`sigilo username\`), looked up by its hash
  --yes      rename a contact you already have under another name, or give NAME to this
             account when another contact has it (that one keeps its history, without a
             name); without --yes this is asked on a terminal and refused otherwise`,
  options: { yes: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [first, second, ...extra] = ctx.positionals;
    if (!first) throw new UsageError('give a NAME and their contact CARD, or their @USERNAME');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const byUsername = (second ?? first).startsWith('@');
    if (!byUsername && !second) throw new UsageError('give a NAME and their contact CARD (or their @USERNAME)');
    const client = await ctx.client();
    let row: ContactRow;
    let username: string | undefined;
    const settle = async (name: string, accountId: Uint8Array) => {
      const conflict = contactConflict(client, name, accountId);
      if (conflict) await settleContactConflict(client, conflict, { yes: ctx.values.yes === true, interactive: process.stdin.isTTY === true && !ctx.json });
    };
    if (byUsername) {
      const wanted = checkUsername(second ?? first);
      await client.connect({ reconnect: false });
      const found = await client.usernames.lookup(wanted);
      username = found.username;
      const name = second ? first : found.username;
      await settle(name, found.accountId);
      row = client.addContact(name, found.accountId, undefined);
    } else {
      const parsed = parseContactCard(second!);
      await settle(first, parsed.accountId);
      row = client.addContact(first, parsed.accountId, parsed.accessKey, parsed.profileKey);
      // Their name, when the card carried the profile key and the server is reachable.
      if (parsed.profileKey && await connectBestEffort(client)) await client.profiles.refresh({ accountIds: [parsed.accountId], maxAgeMs: 0 }).catch(() => 0);
    }
    const profileName = client.profiles.nameOf(row.accountId);
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ name: row.alias, accountId: formatAccountId(row.accountId), identity: identityState(row), username: username ?? null, profileName: profileName ?? null })}\n`);
    } else {
      const who = [username ? `@${username}` : undefined, profileName ? profileNameText(profileName) : undefined, formatAccountId(row.accountId)].filter(Boolean).join(', ');
      ctx.io.out(`Added ${row.alias} (${who}). Send with: sigilo send ${row.alias} TEXT\n`);
    }
    return 0;
  },
});
