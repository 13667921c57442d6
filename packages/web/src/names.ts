/**
 * Names that people give themselves (profile names, group names) cannot pass for the app's own marks (web.md §4.2).
 *
 * The app's badges ("Certified by ORG", "Verified", the safety-number warning, the confidential lock, the timer) are
 * drawn elements with an icon, never characters of a name. A name is shown:
 * - without the characters that look like those marks (check marks, ballot boxes, shields, locks, warning signs,
 *   clocks, bells) and without invisible and direction-changing characters (which could reorder or hide text);
 * - when it contains a badge's words in any of the app's languages ("Certified", "Certificado por", "Verified", …,
 *   also spelt with look-alike letters, digits for letters, accents or spaces in between), with a tilde before it, as
 *   WhatsApp marks a name the person chose for themselves ("~Ana Certified by ACME"), and a "name not verified" tag.
 */
import { org } from './i18n/org.js';
import { trust } from './i18n/trust.js';

/** Check marks, ballot boxes, shields, locks, warning signs, clocks and bells, and emoji presentation selectors. */
const MARKS = /[\u221A\u2610-\u2612\u2705\u2713\u2714\u26A0\u26C9\u26CA\u26E8\u231A\u231B\u23F0-\u23F3\u{1F5F8}\u{1F5F9}\u{1F6E1}\u{1F50F}-\u{1F515}\u{1F507}\u{1F550}-\u{1F567}\u{1F197}\u{2611}\uFE0E\uFE0F]/gu;
/** Invisible characters and direction controls (not ZWJ/ZWNJ, which scripts and emoji sequences need). */
const INVISIBLE = /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/** Latin look-alikes from Cyrillic and Greek, and digits and signs written for letters: LOOK[i] reads as LATIN[i]. */
const LOOK = 'авсԁеёһіїјкмнорԛѕтухԝαβεηικνορτυχϲ013457|!$@';
const LATIN = 'abcdeehiijkmhopqstyxwabenikvoptuxcoieastiisa';

/** Lower case, no accents, look-alikes read as Latin, nothing but letters: "Cеrt1fíed  by" → "certifiedby". */
function skeleton(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()) {
    const k = LOOK.indexOf(ch);
    const c = k < 0 ? ch : LATIN[k]!;
    if (/\p{L}/u.test(c)) out += c;
  }
  return out;
}

/** The badge words of every language the app has, and their stems (certifi-, verifi-: certified, certificada, vérifié …). */
const BADGE_WORDS = [...new Set([
  'certifi', 'verifi',
  ...Object.values(org).flatMap((c) => [c.certCertifiedShort, c.certCertifiedBadge('')]),
  ...Object.values(trust).map((c) => c.verifiedBadge),
].map(skeleton).filter((w) => w.length >= 5))];

/** The name without mark-like and invisible characters, spaces collapsed. */
export function plainName(raw: string): string {
  return raw.replace(INVISIBLE, '').replace(MARKS, '').replace(/\s+/gu, ' ').trim();
}

/** A file name as shown: without invisible and direction-changing characters ("photo\u202Egnp.exe" would read "photoexe.png"). */
export function shownFileName(raw: string): string {
  return raw.replace(INVISIBLE, '');
}

/** Whether a name holds a badge's words (in any of the app's languages, however spelt). */
export function claimsBadge(name: string): boolean {
  const s = skeleton(name);
  return BADGE_WORDS.some((w) => s.includes(w));
}

/** How a chosen name is shown: its plain form, "~" before it when it claims a badge; undefined when nothing is left. */
export function shownName(raw: string | undefined): { text: string; claim: boolean } | undefined {
  if (raw === undefined) return undefined;
  const plain = plainName(raw);
  if (!plain) return undefined;
  const claim = claimsBadge(plain);
  return { text: claim ? `~${plain}` : plain, claim };
}
