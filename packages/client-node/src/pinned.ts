/**
 * Pinned TLS sockets (client.md §1.1): checked against the server's
 * certificate fingerprint or the organisation CA before anything is written
 * on them; the Node transport (pinned-transport.ts) runs everything over them.
 */
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import { ClientError, type ServerAddress } from '@sigilo/client';

/** node's `onread` for sockets: received bytes go into one reused buffer (tls.connect accepts it; @types/node does not list it for TLS). */
export interface SocketOnRead {
  readonly buffer: Uint8Array;
  callback(n: number, buf: Uint8Array): boolean;
}

/** What a connection is checked against: the server's leaf fingerprint and/or the organisation CA (client.md §1.1). */
export type Pin = string | undefined | Pick<ServerAddress, 'fingerprint' | 'caFingerprint' | 'caCert'>;

const MISMATCH = 'the server certificate does not match the pinned fingerprint: this may be an impostor; ask your administrator for the fingerprint and run `sigilo init` again';

/**
 * Opens a TLS socket and checks the pin before anything is written on it (also
 * used for attachment transfers; a download passes `onread` so every received
 * piece lands in one reused buffer). With a pinned CA the chain must lead to that
 * CA (and only it) and name the host; a leaf matching the pinned fingerprint is
 * accepted as well.
 */
export function pinnedSocket(url: URL, pin: Pin, timeoutMs = 15_000, onread?: SocketOnRead): Promise<TLSSocket> {
  const { fingerprint, caCert, caFingerprint } = typeof pin === 'object' ? pin : { fingerprint: pin, caCert: undefined, caFingerprint: undefined };
  const withCa = caCert !== undefined;
  const pinned = fingerprint !== undefined || withCa;
  return new Promise((resolve, reject) => {
    const options: ConnectionOptions & { onread?: SocketOnRead } = {
      host: url.hostname,
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      rejectUnauthorized: !pinned,
      // The pinned CA replaces the system's list: no other CA can vouch for this server.
      ...(withCa ? { ca: [caCert] } : {}),
      ALPNProtocols: ['http/1.1'],
      ...(onread ? { onread } : {}),
    };
    const socket = tlsConnect(options);
    socket.once('error', (e) => reject(new ClientError('CONNECTION_FAILED', connectionFailure(e as NodeJS.ErrnoException))));
    // A stalled TCP or TLS handshake must not leave the caller waiting forever.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClientError('TIMEOUT', 'the server did not complete the TLS handshake in time; check the URL and the network'));
    }, timeoutMs);
    socket.once('close', () => clearTimeout(timer));
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (pinned) {
        const leafOk = fingerprint !== undefined && socket.getPeerCertificate().fingerprint256 === fingerprint;
        // `authorized` covers the chain up to the pinned CA and the host name (or address).
        if (!leafOk && !(withCa && socket.authorized)) {
          socket.destroy();
          reject(new ClientError('FINGERPRINT_MISMATCH', withCa
            ? `the server certificate was not issued by the pinned organisation CA ${caFingerprint ?? ''} (${String(socket.authorizationError ?? 'not trusted')}): this may be an impostor; ask your administrator for the CA fingerprint (sigilo admin tls-ca prints it) and run \`sigilo init URL --ca-fingerprint FP\` again`
            : MISMATCH));
          return;
        }
      }
      resolve(socket);
    });
  });
}

const pem = (der: Buffer): string => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

/**
 * The organisation CA for `init --ca-fingerprint` (client.md §1.1): taken from the chain the
 * server presents, or else from its /ca.crt, both over a connection not yet trusted; only a
 * certificate whose SHA-256 is `caFingerprint` and that is a CA is accepted. Returns the PEM.
 */
export async function fetchPinnedCa(serverUrl: string, caFingerprint: string, timeoutMs = 15_000): Promise<string> {
  const url = new URL(serverUrl.includes('://') ? serverUrl : `https://${serverUrl}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
  // Nothing is trusted on this connection yet: only the certificates it shows are read.
  const chain = await new Promise<X509Certificate[]>((resolve, reject) => {
    const socket = tlsConnect({ host, port, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => { socket.destroy(); reject(new ClientError('TIMEOUT', 'the server did not complete the TLS handshake in time; check the URL and the network')); }, timeoutMs);
    socket.once('error', (e) => { clearTimeout(timer); reject(new ClientError('CONNECTION_FAILED', connectionFailure(e as NodeJS.ErrnoException))); });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const found: X509Certificate[] = [];
      const seen = new Set<string>();
      let c = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
      while (c?.raw && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        found.push(new X509Certificate(c.raw));
        c = c.issuerCertificate;
      }
      socket.destroy();
      resolve(found);
    });
  });
  let ca = chain.find((x) => x.fingerprint256 === caFingerprint);
  if (!ca) {
    // The chain did not carry it: the server also offers it at /ca.crt.
    // (DER; PEM accepted too.)
    const body = await new Promise<Buffer>((resolve) => {
      const req = httpsRequest({ host, port, servername, path: '/ca.crt', rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
        const parts: Buffer[] = [];
        let n = 0;
        res.on('data', (d: Buffer) => { n += d.length; if (n <= 64 * 1024) parts.push(d); });
        res.on('end', () => resolve(res.statusCode === 200 && n <= 64 * 1024 ? Buffer.concat(parts) : Buffer.alloc(0)));
        res.on('error', () => resolve(Buffer.alloc(0)));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(Buffer.alloc(0)));
      req.end();
    });
    try {
      const x = body.length ? new X509Certificate(body) : undefined;
      if (x?.fingerprint256 === caFingerprint) ca = x;
    } catch { /* not a certificate */ }
  }
  if (!ca) {
    throw new ClientError('FINGERPRINT_MISMATCH', `the server does not present a CA with the fingerprint ${caFingerprint}: compare it with the CA fingerprint that \`sigilo admin tls-ca\` and https://HOST:PORT/ca show (not the server certificate's), or ask your administrator`);
  }
  if (!ca.ca) throw new ClientError('FINGERPRINT_MISMATCH', `the certificate with the fingerprint ${caFingerprint} is not a certificate authority: give the organisation CA's fingerprint, or pin the server certificate with --fingerprint`);
  return pem(Buffer.from(ca.raw));
}

/** Certificate checks that fail when the server is reached but not trusted (no pin, `--ca-trusted`). */
const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function connectionFailure(e: NodeJS.ErrnoException): string {
  const code = e.code ?? e.message;
  if (!UNTRUSTED.has(code)) return `cannot reach the server (${code}); check the URL and that it is running`;
  // Node checks against its own CA list, not the system's: an organisation CA installed on the
  // machine is not enough.
  return `the server answered, but its certificate is not trusted here (${code}); pin it instead: `
    + 'sigilo init URL --ca-fingerprint FP for an organisation CA (sigilo admin tls-ca and https://HOST:PORT/ca show it), '
    + 'or sigilo init URL --fingerprint FP (the fingerprint the server prints)';
}
