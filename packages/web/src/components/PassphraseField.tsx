/** A new passphrase with a strength hint (length, variety, repeats, common words), and its repetition. */
import { useSignal } from '@preact/signals';
import { t } from '../i18n/index.js';

const COMMON = /pass(word)?|senha|contrase|qwert|asdf|12345|abc|sigilo|admin|letmein|iloveyou|welcome/i;

/** 0 weak, 1 fair, 2 good, 3 strong: a rough guess-count estimate, no dictionary download. */
export function strength(p: string): 0 | 1 | 2 | 3 {
  if (p.length < 8) return 0;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  const unique = new Set(p).size;
  const words = p.trim().split(/\s+/).length;
  let bits = Math.log2(Math.max(2, [26, 52, 62, 94][classes - 1] ?? 26)) * Math.min(p.length, unique * 2);
  if (words >= 4) bits = Math.max(bits, words * 11);
  if (COMMON.test(p)) bits -= 20;
  if (/(.)\1\1/.test(p)) bits -= 10;
  return bits >= 80 ? 3 : bits >= 60 ? 2 : bits >= 40 ? 1 : 0;
}

export function PassphraseField({ value, onInput, repeat, onRepeat, idPrefix = 'new' }: { value: string; onInput: (v: string) => void; repeat: string; onRepeat: (v: string) => void; idPrefix?: string }) {
  const d = t();
  const show = useSignal(false);
  // Shown as text, the passphrase is an ordinary field, whose value Chromium writes in plain text to the profile's session
  // files at every navigation; autocomplete="off" keeps it out (a password field never goes there).
  const s = strength(value);
  const label = [d.strengthWeak, d.strengthFair, d.strengthGood, d.strengthStrong][s];
  // The level, then what to do about it as its own sentence ("Strength: weak. Easy to guess. …").
  const advice = [d.strengthWeakAdvice, d.strengthFairAdvice, '', ''][s];
  return <div class="passphrase">
    <label for={`${idPrefix}-pass`}>{d.choosePassphrase}</label>
    <input id={`${idPrefix}-pass`} {...({ type: show.value ? 'text' : 'password' } as { type: 'password' })} autocomplete={show.value ? 'off' : 'new-password'} value={value} required minLength={8}
      aria-describedby={`${idPrefix}-pass-hint ${idPrefix}-pass-strength`} onInput={(e) => onInput((e.target as HTMLInputElement).value)} />
    <div class="meter" aria-hidden="true"><span class={`meter-bar s${value ? s : 'x'}`} /></div>
    <p id={`${idPrefix}-pass-strength`} class="hint" aria-live="polite">{value ? `${d.strength}: ${label}${advice ? `. ${advice}` : ''}` : ''}</p>
    <p id={`${idPrefix}-pass-hint`} class="hint">{d.passphraseHint}</p>
    <label for={`${idPrefix}-pass2`}>{d.repeatPassphrase}</label>
    <input id={`${idPrefix}-pass2`} {...({ type: show.value ? 'text' : 'password' } as { type: 'password' })} autocomplete={show.value ? 'off' : 'new-password'} value={repeat} required
      onInput={(e) => onRepeat((e.target as HTMLInputElement).value)} />
    <label class="check"><input type="checkbox" checked={show.value} onChange={(e) => { show.value = (e.target as HTMLInputElement).checked; }} /> {d.showPassphrase}</label>
  </div>;
}

/** Why this passphrase pair cannot be used yet, or undefined. */
export function passphraseProblem(p: string, repeat: string): string | undefined {
  if (p.length < 8) return t().passphraseTooShort;
  if (p !== repeat) return t().passphrasesDiffer;
  return undefined;
}
