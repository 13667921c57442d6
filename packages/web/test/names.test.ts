/**
 * names.ts (web.md §4.2): a name a person chose cannot imitate the app's badges. Pure functions, no browser: the
 * Chromium test (names-routes.test.ts) shows the result on screen.
 */
import { describe, expect, it } from 'vitest';
import { claimsBadge, plainName, shownName } from '../src/names.js';
import { org } from '../src/i18n/org.js';
import { trust } from '../src/i18n/trust.js';

describe('names that imitate badges', () => {
  it('drops check marks, shields, locks, warnings, clocks and direction/invisible characters; keeps ZWJ emoji and scripts', () => {
    expect(plainName('Ana ✓ Certified')).toBe('Ana Certified');
    for (const g of ['✓', '✔', '✔️', '✅', '☑', '☑️', '🗸', '🗹', '√', '🛡', '🛡️', '⛉', '⛊', '⛨', '⚠', '⚠️', '🔒', '🔐', '🔏', '🔓', '🔕', '🔇', '⏱', '⏲', '⏳', '⌛', '🕐', '🕧']) {
      expect(plainName(`Bea ${g} Ruiz`), g).toBe('Bea Ruiz');
    }
    // Right-to-left override would show "Ana ⁮deifitreC" reversed as "Certified"; zero-width space and BOM hide.
    expect(plainName('Ana \u202EdeifitreC\u202C')).toBe('Ana deifitreC');
    expect(plainName('A\u200Bna\uFEFF \u2066Li\u2069 \u200F')).toBe('Ana Li');
    expect(plainName('👩‍💻 Carla')).toBe('👩‍💻 Carla');
    expect(plainName('می‌خواهم')).toBe('می‌خواهم'); // ZWNJ, which Persian needs
    expect(plainName('李小龙')).toBe('李小龙');
    expect(shownName('✓✔ ⚠')).toBeUndefined(); // nothing left: the app shows the id's first digits
  });

  it('finds the badge words of every language of the app, however spelt', () => {
    for (const [lang, c] of Object.entries(org)) {
      expect(claimsBadge(`Ana ${c.certCertifiedBadge('ACME')}`), lang).toBe(true);
      expect(claimsBadge(`Ana ${c.certCertifiedShort}`), lang).toBe(true);
    }
    for (const [lang, c] of Object.entries(trust)) expect(claimsBadge(`Ana ${c.verifiedBadge}`), lang).toBe(true);
    for (const s of ['ana CERTIFIED', 'Ana Certificada por Acme', 'Ana Vérifiée', 'Ana C e r t i f i e d', 'Ana C3rt1f1ed', 'Ana Сеrtіfіеd' /* Cyrillic С е і */,
      'Ana Ｃｅｒｔｉｆｉｅｄ' /* full width */, 'Ana Ve\u0301rifie\u0301', 'Ana ✓Verified']) {
      expect(claimsBadge(s), s).toBe(true);
    }
    for (const s of ['Ana Quintero', 'Bruno Vasconcelos', 'José Ñúñez', 'Zoë Certa Fidel', 'Verónica Fiel', 'محمد', '李小龙', 'Equipo Cuiabá 2027']) {
      expect(claimsBadge(s), s).toBe(false);
    }
  });

  it('shows a name that claims a badge with a tilde (as WhatsApp marks a name someone chose), others as they are', () => {
    expect(shownName('Ana ✓ Certified by ACME')).toEqual({ text: '~Ana Certified by ACME', claim: true });
    expect(shownName('Bruno ✅')).toEqual({ text: 'Bruno', claim: false });
    expect(shownName('Ana Quintero')).toEqual({ text: 'Ana Quintero', claim: false });
    expect(shownName(undefined)).toBeUndefined();
  });
});
