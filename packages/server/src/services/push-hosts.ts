/**
 * Which hosts a push subscription may name (spec/server.md §8.2, push.allowedHosts). The server
 * POSTs wake-ups to the endpoint a device registered: unbounded, that would let any device make
 * the server send requests to any host (an internal address, a service that should not see the
 * server). Endpoints are accepted only on the browsers' push services and on the UnifiedPush
 * servers the administrator names; others are refused with PUSH_ENDPOINT_REFUSED.
 */
import { ConfigError } from '../errors.js';

/**
 * The browsers' push services: Chrome and Android (FCM), Firefox (Mozilla autopush), Safari
 * (Apple), Edge (Windows Notification Service); and ntfy.sh, the public UnifiedPush server.
 */
export const WELL_KNOWN_PUSH_HOSTS: readonly string[] = [
  'fcm.googleapis.com', 'android.googleapis.com', 'updates.push.services.mozilla.com', '*.push.apple.com', '*.notify.windows.com', 'ntfy.sh',
];

/** A pattern: `host`, `*.domain` (any name under it, not the domain itself), either with an optional `:port`. */
const ENTRY = /^(\*\.)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

export interface PushHostRule { readonly wildcard: boolean; readonly host: string; readonly port: string | undefined }

/** The well-known hosts and the administrator's entries (comma- or space-separated); a malformed entry fails the start. */
export function pushHostRules(extra: string): PushHostRule[] {
  const entries = [...WELL_KNOWN_PUSH_HOSTS, ...extra.split(/[\s,]+/).filter(Boolean)];
  return entries.map((e) => {
    const m = ENTRY.exec(e.toLowerCase());
    if (!m) throw new ConfigError(`push.allowedHosts: '${e}' is not a host name (e.g. ntfy.example.org, *.push.example.org or push.example.org:8443)`);
    return { wildcard: m[1] !== undefined, host: m[2]!, port: m[3] };
  });
}

/** Whether an endpoint URL (already checked to be https) is on an allowed host. */
export function pushHostAllowed(url: URL, rules: readonly PushHostRule[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || '443';
  return rules.some((r) => (r.port === undefined || r.port === port)
    && (r.wildcard ? host.endsWith(`.${r.host}`) : host === r.host));
}
