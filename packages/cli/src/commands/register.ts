/** `sigilo register --invite CODE`: creates this person's account with an administrator's invite. */
import { PQ_PREKEY_BATCH, PREKEY_BATCH, formatAccountId, normaliseDeviceName } from '@sigilo/client-node';
import { DEVICE_NAME_OPTION, chosenDeviceName, nameThisDevice } from '../client/device-name.js';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const register = clientCommand({
  path: ['register'],
  summary: 'create your account with an invite code from your administrator',
  usage: `sigilo register --invite CODE [--device-name NAME] ${CLIENT_USAGE} [--json]

--device-name names this device (default: the computer's host name); the name is
end-to-end encrypted for your own devices (sigilo devices).`,
  options: { invite: { type: 'string' }, ...DEVICE_NAME_OPTION },
  async run(ctx) {
    const invite = str(ctx.values.invite);
    if (!invite) throw new UsageError('give the invite code: --invite CODE (your administrator creates it with `sigilo admin invite`)');
    const deviceName = normaliseDeviceName(chosenDeviceName(ctx));
    const client = await ctx.client();
    ctx.progress(`Generating keys… uploading ${PREKEY_BATCH} prekeys and ${PQ_PREKEY_BATCH} post-quantum prekeys…`);
    const { accountId, deviceId } = await client.register(invite);
    await nameThisDevice(ctx, client, deviceName);
    const card = client.contactCard;
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ accountId: formatAccountId(accountId), deviceId, contactCard: card, identityFingerprint: client.identityFingerprint })}\n`);
    } else {
      ctx.io.out(`Registered.\nAccount: ${formatAccountId(accountId)}\nDevice: ${deviceId}\nYour contact card (give it to the people who should reach you):\n  ${card}\n`
        // Certification (spec/trust.md §4): the administrator compares this before certifying the key.
        + `Identity fingerprint: ${client.identityFingerprint}\n  (where your organisation certifies identities, read it to your administrator: sigilo admin ca certify)\n`
        + 'Next: sigilo profile set --name "Your Name" (until then others see only a short code instead of your name)\n');
    }
    return 0;
  },
});
