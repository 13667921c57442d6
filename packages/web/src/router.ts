/**
 * A hash router: `#/chat/<token>`, `#/settings`, … The path after `#/` is matched against the screens'
 * patterns (screens/registry.ts); `:name` segments become params. Fragments that are not routes
 * (`#invite=CODE`, `#contact=CARD`) are read once by the screens that take them.
 *
 * No account or group id ever enters a URL (web.md §4.1): the browser keeps URLs in its history, its
 * session files and the address bar. A route names a chat, contact or group by a token drawn at random
 * the first time this page needs one for that id and kept in this page's memory only; `:id` params are
 * resolved back to the id when matched. A token from another page load (a reload, a bookmark, an old
 * history entry) resolves to nothing and its route does not match: the app shows the chat list.
 */
import { signal } from '@preact/signals';

export const path = signal(readPath());

function readPath(): string {
  const h = location.hash;
  // A contact link is `#/add-contact#contact=CARD`: the route is before the second `#`.
  return h.startsWith('#/') ? h.slice(2).split('#')[0]! : '';
}

window.addEventListener('hashchange', () => { path.value = readPath(); });

/** How many app pages were pushed on the browser's history (so Back returns within the app). */
let depth = 0;

export function navigate(to: string, replace = false): void {
  const url = `#/${to}`;
  if (replace) history.replaceState(null, '', url);
  else { history.pushState(null, '', url); depth++; }
  path.value = to;
}

/** Goes back in the app (the browser's history when it holds an app page, else the chat list). */
export function back(): void {
  if (depth > 0) { depth--; history.back(); } else navigate('', true);
}

const idOf = new Map<string, string>();
const tokenOf = new Map<string, string>();

/** This page's route token for `id` (hex): random, the same for the page's lifetime, never derived from the id. */
export function routeToken(id: string): string {
  let tok = tokenOf.get(id);
  if (!tok) {
    const b = crypto.getRandomValues(new Uint8Array(9));
    // base64url; a leading "t" keeps a token from ever looking like hex.
    tok = 't' + btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_');
    idOf.set(tok, id);
    tokenOf.set(id, tok);
  }
  return tok;
}

/** The route (without `#/`) of a chat, contact or group screen for `id` (hex), e.g. `chat/tXy…`, `chat/tXy…/settings`. */
export const routeTo = (screen: 'chat' | 'contact' | 'group', id: string, sub = ''): string => `${screen}/${routeToken(id)}${sub ? `/${sub}` : ''}`;

/** Matches `pattern` ("chat/:id") against `p`; the params (`id` resolved from its token), or undefined. */
export function match(pattern: string, p: string): Record<string, string> | undefined {
  const a = pattern.split('/').filter(Boolean), b = p.split('/').filter(Boolean);
  if (a.length !== b.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i] === ':id') {
      const id = idOf.get(b[i]!);
      if (!id) return undefined;
      params.id = id;
    } else if (a[i]!.startsWith(':')) params[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
    else if (a[i] !== b[i]) return undefined;
  }
  return params;
}

/** The last fragment that was not a route (an invite link's `#invite=CODE` survives the navigation to its form). */
let openedWith = location.hash;
window.addEventListener('hashchange', () => { if (!location.hash.startsWith('#/') || location.hash.includes('#', 1)) openedWith = location.hash; });

/** A value from the fragment's `key=value` form (invite links, contact links), now or when the app was opened. */
export function fragmentValue(key: string): string | undefined {
  const re = new RegExp(`[#&]${key}=([^&]+)`);
  const m = re.exec(location.hash) ?? re.exec(openedWith);
  return m ? decodeURIComponent(m[1]!) : undefined;
}
