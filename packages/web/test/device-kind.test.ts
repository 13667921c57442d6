/** What a browser calls itself among the account's devices, and the icon a device's name gets. */
import { describe, expect, it } from 'vitest';
import { browserAndSystem, deviceIcon, thisBrowserName } from '../src/device-kind.js';

const on = (b: string, s: string) => `${b} on ${s}`;

describe('device names from the user agent', () => {
  it('names the common phone and computer browsers', () => {
    const cases: [string, string][] = [
      ['Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
      ['Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36', 'Samsung Internet on Android'],
      ['Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', 'Firefox on Android'],
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari on iOS'],
      ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge on Windows'],
      ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari on macOS'],
      ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ];
    for (const [ua, name] of cases) expect(thisBrowserName(ua, on, 'Web browser'), ua).toBe(name);
  });

  it('falls back to the generic name for an agent it does not know', () => {
    expect(browserAndSystem('curl/8.5.0')).toEqual({ browser: undefined, system: undefined });
    expect(thisBrowserName('curl/8.5.0', on, 'Web browser')).toBe('Web browser');
  });

  it('a phone icon for names that say so, a computer otherwise', () => {
    expect(deviceIcon('Chrome on Android')).toBe('phone');
    expect(deviceIcon('Safari on iOS')).toBe('phone');
    expect(deviceIcon('Mi teléfono')).toBe('phone');
    expect(deviceIcon('Chrome on Linux')).toBe('laptop');
    expect(deviceIcon('ana-laptop')).toBe('laptop');
  });
});
