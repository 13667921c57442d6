/** `sigilo register --invite CODE`: creates this person's account with an administrator's invite. */
import { PQ_PREKEY_BATCH, PREKEY_BATCH, formatAccountId } from '@sigilo/client';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const register = clientCommand({
  path: ['register'],
  summary: 'create your account with an invite code from your administrator',
  usage: `sigilo register --invite CODE ${CLIENT_USAGE} [--json]`,
  options: { invite: { type: 'string' } },
  async run(ctx) {
    const invite = str(ctx.values.invite);
    if (!invite) throw new UsageError('give the invite code: --invite CODE (your administrator creates it with `sigilo admin invite`)');
    const client = await ctx.client();
    ctx.progress(`Generating keys… uploading ${PREKEY_BATCH} prekeys and ${PQ_PREKEY_BATCH} post-quantum prekeys…`);
    const { accountId, deviceId } = await client.register(invite);
    const card = client.contactCard;
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ accountId: formatAccountId(accountId), deviceId, contactCard: card })}\n`);
    } else {
      ctx.io.out(`Registered.\nAccount: ${formatAccountId(accountId)}\nDevice: ${deviceId}\nYour contact card (give it to the people who should reach you):\n  ${card}\n`);
    }
    return 0;
  },
});
