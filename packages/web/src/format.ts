/** Dates and times as people read them, in the app's language. */
import { lang, t } from './i18n/index.js';

const LOCALES = { en: 'en-GB', es: 'es', pt: 'pt-BR' } as const;
const locale = () => LOCALES[lang.value];

export function sameDay(a: number, b: number): boolean {
  const x = new Date(a), y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}

export const clock = (ms: number): string => new Date(ms).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });

/** The chat list's time: the clock today, "Yesterday", the weekday this week, else the date. */
export function listTime(ms: number, now = Date.now()): string {
  if (sameDay(ms, now)) return clock(ms);
  if (sameDay(ms, now - 86_400_000)) return t().yesterday;
  if (now - ms < 6 * 86_400_000) return new Date(ms).toLocaleDateString(locale(), { weekday: 'long' });
  return new Date(ms).toLocaleDateString(locale(), { day: 'numeric', month: 'numeric', year: '2-digit' });
}

/** A conversation's day separator: Today, Yesterday, else the full date. */
export function dayLabel(ms: number, now = Date.now()): string {
  if (sameDay(ms, now)) return t().today;
  if (sameDay(ms, now - 86_400_000)) return t().yesterday;
  return new Date(ms).toLocaleDateString(locale(), { weekday: 'long', day: 'numeric', month: 'long', year: new Date(ms).getFullYear() === new Date(now).getFullYear() ? undefined : 'numeric' });
}

/** A date with the year, for a certificate's validity ("12 March 2027"). */
export const longDate = (ms: number): string => new Date(ms).toLocaleDateString(locale(), { day: 'numeric', month: 'long', year: 'numeric' });

/** A timer in ms as [count, unit] in the largest unit that divides it. */
function timerParts(ms: number): [number, 's' | 'm' | 'h' | 'd' | 'w'] {
  if (ms % (7 * 86_400_000) === 0) return [ms / (7 * 86_400_000), 'w'];
  if (ms % 86_400_000 === 0) return [ms / 86_400_000, 'd'];
  if (ms % 3_600_000 === 0) return [ms / 3_600_000, 'h'];
  if (ms % 60_000 === 0) return [ms / 60_000, 'm'];
  return [Math.round(ms / 1000), 's'];
}

/** "1 day", "8 hours", … for a disappearing timer in ms (any value, not only those offered). */
export const timerLabel = (ms: number): string => t().timer(...timerParts(ms));

/** "1 h", "5 min", "4 wk": the same, short enough for a chat's top bar. */
export const timerShortLabel = (ms: number): string => t().timerShort(...timerParts(ms));
