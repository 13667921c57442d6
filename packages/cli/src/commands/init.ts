/** `sigilo init URL --fingerprint FP | --ca-fingerprint FP`: points this client at a server, pinned to its certificate or its organisation CA. */
import { EXPECTED_ORG_CA_META, fetchPinnedCa, normaliseCaFingerprint, normaliseFingerprint } from '@sigilo/client-node';
import { str } from '../args.js';
import { UsageError } from '../command.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

export const init = clientCommand({
  path: ['init'],
  summary: 'set up this client: the server URL and its certificate (or organisation CA) fingerprint',
  usage: `sigilo init URL --fingerprint FP | --ca-fingerprint FP | --ca-trusted ${CLIENT_USAGE} [--json]

  URL                 https://HOST:PORT of your organisation's Sigilo server
  --fingerprint FP    the server certificate's SHA-256, as \`sigilo server start\` prints it
                      (ask your administrator; colons optional). Changes when the
                      certificate is renewed: run init again with the new one.
  --ca-fingerprint FP the SHA-256 of your organisation's CA, as \`sigilo admin tls-ca\` and
                      https://HOST:PORT/ca show it: the server certificate must be issued by
                      that CA, and renewals keep working. Both pins may be given.
  --ca-trusted        the server has a certificate from a CA this machine trusts: no pin
  --identity-ca FP    the SHA-256 of your organisation's identity CA, as \`sigilo admin ca init\`
                      prints it: only that CA is trusted for certificates of people's keys
                      (without it, the first one the server offers is; spec/trust.md §6.1)

Running init again on a registered client changes only the pin: the account and history stay.`,
  options: { fingerprint: { type: 'string' }, 'ca-fingerprint': { type: 'string' }, 'ca-trusted': { type: 'boolean' }, 'identity-ca': { type: 'string' } },
  positionals: true,
  async run(ctx) {
    const [url, ...extra] = ctx.positionals;
    if (!url) throw new UsageError('give the server URL, e.g. https://chat.example.org:8443');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const fingerprint = str(ctx.values.fingerprint);
    const caFingerprintArg = str(ctx.values['ca-fingerprint']);
    if (fingerprint === undefined && caFingerprintArg === undefined && ctx.values['ca-trusted'] !== true) {
      throw new UsageError('give --fingerprint FP (the server certificate\'s) or --ca-fingerprint FP (your organisation\'s CA, as sigilo admin tls-ca prints it); ask your administrator for it; or --ca-trusted if the server has a certificate from a public CA');
    }
    if ((fingerprint !== undefined || caFingerprintArg !== undefined) && ctx.values['ca-trusted'] === true) throw new UsageError('give either a fingerprint or --ca-trusted, not both');
    // A typo is reported before asking for a passphrase.
    const check = (fp: string | undefined, flag: string): string | undefined => {
      if (fp === undefined) return undefined;
      try {
        return normaliseFingerprint(fp);
      } catch (e) {
        throw new UsageError(`${flag}: ${(e as Error).message}`);
      }
    };
    check(fingerprint, '--fingerprint');
    const caFingerprint = check(caFingerprintArg, '--ca-fingerprint');
    const identityCaArg = str(ctx.values['identity-ca']);
    const identityCa = identityCaArg === undefined ? undefined : normaliseCaFingerprint(identityCaArg);
    if (identityCaArg !== undefined && !identityCa) throw new UsageError('--identity-ca: the identity CA\'s SHA-256, 64 hex digits (spaces and colons allowed), as sigilo admin ca init prints it');
    const client = await ctx.client({ create: true });
    ctx.progress(`Connecting to ${url}${caFingerprint ? ' and checking the organisation CA' : fingerprint ? ' and checking the certificate fingerprint' : ''}…`);
    let r: Awaited<ReturnType<typeof client.init>>;
    try {
      // The CA is read from the server over a connection not yet trusted and kept only if its
      // fingerprint is the one given; every connection after this one verifies against it.
      const ca = caFingerprint ? { fingerprint: caFingerprint, cert: await fetchPinnedCa(url, caFingerprint) } : undefined;
      r = await client.init(url, fingerprint, ca);
      if (identityCa) client.store.setMeta(EXPECTED_ORG_CA_META, new TextEncoder().encode(identityCa));
    } catch (e) {
      ctx.discardNewStore();
      throw e;
    }
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ url: r.url, fingerprint: r.fingerprint ?? null, caFingerprint: r.caFingerprint ?? null, identityCa: identityCa ?? null, dir: ctx.dir, registered: client.accountId !== undefined })}\n`);
    } else {
      const pins = [r.caFingerprint ? `Pinned organisation CA: ${r.caFingerprint} (server certificate renewals keep working)\n` : '', r.fingerprint ? `Pinned certificate: ${r.fingerprint}\n` : ''].join('');
      // Say the identity CA was pinned too, in the grouping `admin ca init` prints, so it can be compared.
      const idPin = identityCa ? `Pinned identity CA: ${identityCa.match(/.{4}/g)!.join(' ')} (only its certificates count)\n` : '';
      ctx.io.out(`Server: ${r.url}\n${pins || 'Certificate: checked against the system CAs\n'}${idPin}Client directory: ${ctx.dir}\n`);
      if (!client.accountId) ctx.io.out('Next: sigilo register --invite CODE (or sigilo link to add this device to your account)\n');
    }
    return 0;
  },
});
