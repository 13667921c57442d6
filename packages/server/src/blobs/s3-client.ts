/**
 * A small S3 client: AWS Signature Version 4 on node:crypto and requests on
 * node:http(s) with keep-alive, path-style addressing (`endpoint/bucket/key`,
 * which MinIO, Ceph RGW, Garage, SeaweedFS and AWS all accept). It speaks only
 * the calls the S3 blob store needs (PUT, GET with Range, HEAD, DELETE,
 * ListObjectsV2); the full AWS SDK would bring dozens of packages for that.
 *
 * Every request is signed over its exact payload hash (no UNSIGNED-PAYLOAD),
 * so a body corrupted on the way is refused by the server.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (STS) carry a session token. */
  readonly sessionToken?: string | undefined;
}

export interface S3ClientOptions {
  /** Base URL of the S3 service, e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:9000. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly credentials: S3Credentials;
  /** Per-request time limit. */
  readonly timeoutMs?: number;
}

export interface S3Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** An answer other than 2xx (or a 404 the caller did not expect). */
export class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, what: string) {
    super(`S3 ${what} failed: HTTP ${status}${code ? ` ${code}` : ''}`);
    this.name = 'S3Error';
  }
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const sha256Hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Uint8Array | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface SignInput {
  readonly method: string;
  /** Already encoded path, e.g. /bucket/some/key. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case names; `host` included. All are signed. */
  readonly headers: Readonly<Record<string, string>>;
  readonly payloadHash: string;
  /** YYYYMMDD'T'HHMMSS'Z' */
  readonly amzDate: string;
  readonly region: string;
  readonly service: string;
  readonly credentials: S3Credentials;
}

export function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query).map((k) => [uriEncode(k), uriEncode(query[k]!)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`).join('&');
}

/** The Authorization header value for a request (AWS4-HMAC-SHA256). */
export function signV4(input: SignInput): string {
  const names = Object.keys(input.headers).map((n) => n.toLowerCase()).sort();
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) lower[k.toLowerCase()] = v.trim().replace(/\s+/g, ' ');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    input.method, input.path, canonicalQuery(input.query),
    names.map((n) => `${n}:${lower[n]}\n`).join(''), signedHeaders, input.payloadHash,
  ].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${input.credentials.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, input.region), input.service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

export const amzDateOf = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

export interface S3RequestInit {
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** Statuses answered without throwing (besides 2xx), e.g. 404 for a HEAD. */
  readonly accept?: readonly number[];
}

export class S3Client {
  readonly #url: URL;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  readonly #basePath: string;

  constructor(readonly options: S3ClientOptions) {
    this.#url = new URL(options.endpoint);
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') throw new Error('the S3 endpoint must be an http: or https: URL');
    const https = this.#url.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
    this.#request = https ? httpsRequest : httpRequest;
    this.#basePath = this.#url.pathname.replace(/\/+$/, '');
  }

  /** One signed request to `/bucket/key` (key '' is the bucket itself); the body is read whole. */
  send(method: string, key: string, init: S3RequestInit = {}): Promise<S3Response> {
    const path = `${this.#basePath}/${uriEncode(this.options.bucket)}${key ? `/${key.split('/').map(uriEncode).join('/')}` : ''}`;
    const query = init.query ?? {};
    const body = init.body;
    const amzDate = amzDateOf(Date.now());
    const headers: Record<string, string> = {
      host: this.#url.host,
      'x-amz-date': amzDate,
      'x-amz-content-sha256': body && body.length ? sha256Hex(body) : EMPTY_SHA256,
      ...init.headers,
    };
    if (this.options.credentials.sessionToken) headers['x-amz-security-token'] = this.options.credentials.sessionToken;
    const authorization = signV4({
      method, path, query, headers, payloadHash: headers['x-amz-content-sha256']!, amzDate,
      region: this.options.region, service: 's3', credentials: this.options.credentials,
    });
    const qs = canonicalQuery(query);
    return new Promise<S3Response>((resolve, reject) => {
      const req = this.#request({
        method, agent: this.#agent, protocol: this.#url.protocol, hostname: this.#url.hostname, port: this.#url.port || undefined,
        path: qs ? `${path}?${qs}` : path,
        headers: { ...headers, authorization, 'content-length': String(body?.length ?? 0) },
        timeout: this.options.timeoutMs ?? 30_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const out = { status, headers: res.headers, body: Buffer.concat(chunks) };
          if ((status >= 200 && status < 300) || init.accept?.includes(status)) return resolve(out);
          const code = /<Code>([^<]{1,64})<\/Code>/.exec(out.body.toString('utf8'))?.[1] ?? '';
          reject(new S3Error(status, code, `${method} ${key ? 'object' : 'bucket'}`));
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('the S3 request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** ListObjectsV2 under a prefix, page by page: keys and sizes in key order. */
  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix, 'max-keys': '1000' };
      if (token) query['continuation-token'] = token;
      const xml = (await this.send('GET', '', { query })).body.toString('utf8');
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = /<Key>([^<]*)<\/Key>/.exec(m[1]!)?.[1];
        const size = /<Size>(\d+)<\/Size>/.exec(m[1]!)?.[1];
        if (key !== undefined && size !== undefined) yield { key: unescapeXml(key), size: Number(size) };
      }
      const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
      token = truncated ? unescapeXml(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') : undefined;
      if (truncated && !token) throw new S3Error(200, 'NoContinuationToken', 'list (truncated without a continuation token)');
    } while (token);
  }

  close(): void { this.#agent.destroy(); }
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      case 'amp': return '&';
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}
