/**
 * A hash router: `#/chat/<id>`, `#/settings`, … The path after `#/` is matched against the screens'
 * patterns (screens/registry.ts); `:name` segments become params. Fragments that are not routes
 * (`#invite=CODE`, `#contact=CARD`) are read once by the screens that take them.
 */
import { signal } from '@preact/signals';

export const path = signal(readPath());

function readPath(): string {
  const h = location.hash;
  return h.startsWith('#/') ? h.slice(2) : '';
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

/** Matches `pattern` ("chat/:id") against `p`; the params, or undefined. */
export function match(pattern: string, p: string): Record<string, string> | undefined {
  const a = pattern.split('/').filter(Boolean), b = p.split('/').filter(Boolean);
  if (a.length !== b.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith(':')) params[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
    else if (a[i] !== b[i]) return undefined;
  }
  return params;
}

/** The last fragment that was not a route (an invite link's `#invite=CODE` survives the navigation to its form). */
let openedWith = location.hash;
window.addEventListener('hashchange', () => { if (!location.hash.startsWith('#/')) openedWith = location.hash; });

/** A value from the fragment's `key=value` form (invite links, contact links), now or when the app was opened. */
export function fragmentValue(key: string): string | undefined {
  const re = new RegExp(`[#&]${key}=([^&]+)`);
  const m = re.exec(location.hash) ?? re.exec(openedWith);
  return m ? decodeURIComponent(m[1]!) : undefined;
}
