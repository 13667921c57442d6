/**
 * The app's languages: Spanish, Portuguese and English, chosen from the browser's language.
 * Strings live in one catalogue per concept (i18n/<concept>.ts, each with en, es and pt);
 * to add a concept, write its file and add it to CATALOGUES. `t()` is every catalogue merged.
 */
import { signal } from '@preact/signals';
import { shell } from './shell.js';
import { onboarding } from './onboarding.js';
import { chats } from './chats.js';
import { errors } from './errors.js';
import { media } from './media.js';
import { settings } from './settings.js';
import { groups } from './groups.js';
import { trust } from './trust.js';
import { privacy } from './privacy.js';
import { org } from './org.js';
import { push } from './push.js';

export type Lang = 'es' | 'pt' | 'en';
export const LANGS: readonly Lang[] = ['es', 'pt', 'en'];

export type { Catalogue } from './catalogue.js';

const CATALOGUES = [shell, onboarding, chats, errors, media, settings, groups, trust, privacy, org, push] as const;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
export type Dict = UnionToIntersection<(typeof CATALOGUES)[number]['en']>;

// Two catalogues defining one key would silently shadow each other: refuse at load.
const seen = new Set<string>();
for (const c of CATALOGUES) for (const k of Object.keys(c.en)) {
  if (seen.has(k)) throw new Error(`i18n: the key "${k}" is defined in two catalogues`);
  seen.add(k);
}

const DICTS = Object.fromEntries(LANGS.map((l) => [l, Object.assign({}, ...CATALOGUES.map((c) => c[l]))])) as Record<Lang, Dict>;

/** The first of the browser's languages we have, else English. */
export function pickLang(languages: readonly string[]): Lang {
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0] as Lang;
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

const saved = (() => { try { return localStorage.getItem('sigilo.lang'); } catch { return null; } })();
export const lang = signal<Lang>(LANGS.includes(saved as Lang) ? saved as Lang : pickLang(navigator.languages ?? [navigator.language]));
export const t = (): Dict => DICTS[lang.value];
export function setLang(l: Lang): void {
  lang.value = l;
  try { localStorage.setItem('sigilo.lang', l); } catch { /* private mode */ }
  document.documentElement.lang = l;
}
