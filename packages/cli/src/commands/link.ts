/**
 * `sigilo link`: on a NEW device (after `sigilo init`), shows a one-time code and
 * waits; `sigilo link --approve CODE` on a device already in the account sends
 * the identity, contacts and history to it, encrypted to the code's key.
 */
import { IdentityKeyUnavailableError, base32, formatAccountId, normaliseDeviceName } from '@sigilo/client-node';
import { DEVICE_NAME_OPTION, chosenDeviceName, nameThisDevice } from '../client/device-name.js';
import { parseDuration } from '@sigilo/server';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';
import { terminalQr } from '../client/terminal-qr.js';

export const link = clientCommand({
  path: ['link'],
  summary: 'link a new device to your account (run on the new device, approve on an existing one)',
  usage: `sigilo link [--timeout 10m] [--device-name NAME] [--token LABEL] ${CLIENT_USAGE} [--json]
       sigilo link --approve CODE ${CLIENT_USAGE} [--json]

On the NEW device (after \`sigilo init URL --fingerprint FP\`): prints a one-time code
and its QR payload, then waits until an existing device approves it. It receives your
identity, contacts and conversation history, end-to-end encrypted.
On an EXISTING device: \`sigilo link --approve CODE\` with the code the new device shows.
Only approve a code you see on your own new device: it gets everything this device has.
--device-name names the new device (default: the computer's host name), encrypted.
An account whose identity key is on a PKCS#11 token (sigilo register --token): the new
device signs its link on the token, which must be plugged in here, with its PIN from
SIGILO_PKCS11_PIN or, with --token LABEL, asked before waiting. The library path the
link brings is loaded only from a system library directory (/usr/lib, /opt, …);
SIGILO_PKCS11_MODULE names the token's library if this computer keeps it elsewhere.
With --json the new device prints one JSON line with the code, and one when linked.`,
  options: { approve: { type: 'string' }, timeout: { type: 'string' }, token: { type: 'string' }, ...DEVICE_NAME_OPTION },
  async run(ctx) {
    const code = str(ctx.values.approve);
    const client = await ctx.client();
    if (code !== undefined) {
      if (ctx.values.timeout !== undefined || ctx.values.token !== undefined) throw new UsageError('--timeout and --token are for the new device; --approve finishes on its own');
      ctx.progress('Connecting…');
      await client.connect({ reconnect: false });
      let last = -1;
      const { historyMessages } = await client.approveLink(code, {
        onProgress: (sent, total) => {
          const pct = Math.floor((sent / total) * 100);
          if (pct !== last && (sent === 1 || sent === total || pct - last >= 10)) {
            last = pct;
            ctx.progress(sent === 1 ? `Sent the identity and contacts; sending the history (${total - 1} part${total === 2 ? '' : 's'})… ${pct}%` : `Sending the history… ${pct}%`);
          }
        },
      });
      if (ctx.json) ctx.io.out(`${JSON.stringify({ approved: true, historyMessages })}\n`);
      else ctx.io.out(`Approved. The new device receives your identity, contacts and ${historyMessages} message${historyMessages === 1 ? '' : 's'} of history.\n`);
      return 0;
    }
    const deviceName = normaliseDeviceName(chosenDeviceName(ctx));
    const tokenLabel = str(ctx.values.token);
    if (tokenLabel !== undefined) await ctx.tokenPin(tokenLabel);
    ctx.identityFromLink();
    const timeoutText = str(ctx.values.timeout) ?? '10m';
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError(`--timeout takes a duration such as 5m or 1h, got '${timeoutText}'`);
    ctx.progress('Asking the server for a link address…');
    const pending = await client.startLink();
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ code: pending.code, qrPayload: base32(pending.qrPayload) })}\n`);
    } else {
      ctx.io.out(`On a device already in your account, run:\n\n  sigilo link --approve ${pending.code}\n\nor, in the web app, open Settings › Linked devices and scan this code's QR or type the code.\n`);
      if (process.stdout.isTTY === true) ctx.io.out(`\n${terminalQr(pending.code)}\n`);
      ctx.io.out(`QR payload (base32): ${base32(pending.qrPayload)}\n`);
    }
    ctx.progress('Waiting for the approval (Ctrl-C cancels)…');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      pending.completed.then((r) => ({ kind: 'linked' as const, ...r }), (e: unknown) => {
        // The account's identity key is on a token and no PIN was at hand: say how to give it (trust.md §7.1).
        if (e instanceof IdentityKeyUnavailableError && e.reason === 'pin' && tokenLabel === undefined) {
          throw new IdentityKeyUnavailableError('pin', `${e.message}; run \`sigilo link --token LABEL\` to be asked for the PIN before waiting`);
        }
        throw e;
      }),
      ctx.io.stopSignal.then(() => ({ kind: 'stopped' as const })),
      new Promise<{ kind: 'timeout' }>((resolve) => { timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs); }),
    ]).finally(() => clearTimeout(timer));
    if (outcome.kind !== 'linked') {
      pending.cancel();
      ctx.io.err(`sigilo link: ${outcome.kind === 'timeout' ? `not approved within ${timeoutText}` : 'cancelled'}; the code is void now, run \`sigilo link\` again for a new one\n`);
      return 1;
    }
    await nameThisDevice(ctx, client, deviceName);
    // Names (client.md §11.1): the approving device sent those it knows; read the profiles now (avatars, and the
    // names themselves when an older device sent only the keys). Best effort: they are read again later anyway.
    if (client.state === 'online') {
      await client.profiles.refresh().catch(() => 0);
      if (!client.profiles.own().name) await client.profiles.fetchOwn().catch(() => undefined);
    }
    const card = client.contactCard;
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ linked: true, accountId: formatAccountId(outcome.accountId), deviceId: outcome.deviceId, historyMessages: outcome.historyMessages, contactCard: card })}\n`);
    } else {
      ctx.io.out(`Linked to account ${formatAccountId(outcome.accountId)} as device ${outcome.deviceId}; received ${outcome.historyMessages} message${outcome.historyMessages === 1 ? '' : 's'} of history.\n`);
    }
    return 0;
  },
});
