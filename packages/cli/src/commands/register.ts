/** `sigilo register --invite CODE`: creates this person's account with an administrator's invite. */
import { IDENTITY_KEY_LABEL, PQ_PREKEY_BATCH, PREKEY_BATCH, formatAccountId, normaliseDeviceName, openIdentityKeyOnToken } from '@sigilo/client-node';
import { DEVICE_NAME_OPTION, chosenDeviceName, nameThisDevice } from '../client/device-name.js';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const register = clientCommand({
  path: ['register'],
  summary: 'create your account with an invite code from your administrator',
  usage: `sigilo register --invite CODE [--device-name NAME] [--request-certification "YOUR NAME"] [--pkcs11-module LIB --token LABEL [--key-label LABEL]] ${CLIENT_USAGE} [--json]

--device-name names this device (default: the computer's host name); the name is
end-to-end encrypted for your own devices (sigilo devices).
--request-certification asks your organisation to certify your identity key under this name
(as \`sigilo ca request\` does); your administrator approves it after comparing the fingerprint.
With --pkcs11-module and --token, your identity's signing key lives on that PKCS#11
token (smartcard, HSM): made there (not extractable) unless it already holds a key
labelled --key-label (default ${IDENTITY_KEY_LABEL}), and every identity signature is
made there. The token and its PIN (SIGILO_PKCS11_PIN, or asked) are then needed to
register, link a device and sign group changes and signed receipts; this store and
backups keep only which token and key, never the key (spec/trust.md §7.1).`,
  options: { invite: { type: 'string' }, 'request-certification': { type: 'string' }, 'pkcs11-module': { type: 'string' }, token: { type: 'string' }, 'key-label': { type: 'string' }, ...DEVICE_NAME_OPTION },
  async run(ctx) {
    const invite = str(ctx.values.invite);
    if (!invite) throw new UsageError('give the invite code: --invite CODE (your administrator creates it with `sigilo admin invite`)');
    const module = str(ctx.values['pkcs11-module']);
    const tokenLabel = str(ctx.values.token);
    if ((module === undefined) !== (tokenLabel === undefined)) throw new UsageError('--pkcs11-module and --token go together');
    if (!module && ctx.values['key-label'] !== undefined) throw new UsageError('--key-label needs --pkcs11-module and --token');
    const deviceName = normaliseDeviceName(chosenDeviceName(ctx));
    const certifyAs = str(ctx.values['request-certification'])?.trim();
    if (certifyAs === '') throw new UsageError('give your name with --request-certification "Ana Silva"');
    const client = await ctx.client();
    let onToken: ReturnType<typeof openIdentityKeyOnToken> | undefined;
    if (module && tokenLabel) {
      const pin = await ctx.tokenPin(tokenLabel);
      onToken = openIdentityKeyOnToken({ module, tokenLabel, pin, keyLabel: str(ctx.values['key-label']) }, { pin: () => pin });
      ctx.progress(onToken.created ? `Made the identity key on the token "${tokenLabel}" (it cannot leave it).` : `Using the identity key already on the token "${tokenLabel}".`);
    }
    ctx.progress(`Generating keys… uploading ${PREKEY_BATCH} prekeys and ${PQ_PREKEY_BATCH} post-quantum prekeys…`);
    const { accountId, deviceId } = await client.register(invite, onToken && { token: onToken.token, signer: onToken.signer });
    await nameThisDevice(ctx, client, deviceName);
    const card = client.contactCard;
    // The certification request (spec/trust.md §4.1); the account exists even when this fails, so it only warns.
    let request: { requestId: number } | undefined;
    if (certifyAs) {
      try {
        if (client.state !== 'online') await client.connect({ reconnect: false }); // naming the device connected it
        request = await client.requestCertification(certifyAs);
      } catch (e) {
        ctx.io.err(`Registered, but the certification request failed: ${(e as Error).message}\nAsk again with: sigilo ca request --name "${certifyAs}"\n`);
      }
    }
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ accountId: formatAccountId(accountId), deviceId, contactCard: card, identityFingerprint: client.identityFingerprint, ...(onToken ? { identityKeyOnToken: tokenLabel } : {}), certificationRequest: request?.requestId ?? null })}\n`);
    } else {
      ctx.io.out(`Registered.\nAccount: ${formatAccountId(accountId)}\nDevice: ${deviceId}\nYour contact card (give it to the people who should reach you):\n  ${card}\n`
        // Certification (spec/trust.md §4): the administrator compares this before certifying the key.
        + `Identity fingerprint: ${client.identityFingerprint}\n`
        + (request ? `  Certification request ${request.requestId} sent as "${certifyAs}": read this fingerprint to your administrator, who runs sigilo admin ca approve ${request.requestId}\n`
          : '  (where your organisation certifies identities: sigilo ca request --name "YOUR NAME", then read it to your administrator)\n')
        + 'Next: sigilo profile set --name "Your Name" (until then others see only a short code instead of your name)\n');
    }
    return 0;
  },
});
