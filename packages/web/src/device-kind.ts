/**
 * What to call this browser among an account's devices, as WhatsApp Web does ("Chrome on Android"), and which
 * icon a device's name suggests. From the user agent only; the name stays editable by nobody but its account.
 */

/** Browser and system from a user agent string; undefined parts when it is not recognised. */
export function browserAndSystem(ua: string): { browser?: string; system?: string } {
  const browser = /Edg(A|iOS)?\//.test(ua) ? 'Edge'
    : /Firefox\/|FxiOS\//.test(ua) ? 'Firefox'
    : /SamsungBrowser\//.test(ua) ? 'Samsung Internet'
    : /OPR\//.test(ua) ? 'Opera'
    : /(Headless)?Chrom(e|ium)\/|CriOS\//.test(ua) ? 'Chrome'
    : /Version\/[\d.]+.*Safari\//.test(ua) ? 'Safari'
    : undefined;
  const system = /Android/.test(ua) ? 'Android'
    : /iPhone|iPad|iPod/.test(ua) ? 'iOS'
    : /CrOS/.test(ua) ? 'ChromeOS'
    : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /Linux/.test(ua) ? 'Linux'
    : undefined;
  return { browser, system };
}

/** The device name for this browser: "Chrome on Android" in the person's language, else the generic one. */
export function thisBrowserName(ua: string, on: (browser: string, system: string) => string, generic: string): string {
  const { browser, system } = browserAndSystem(ua);
  return browser && system ? on(browser, system) : browser ?? generic;
}

/** A phone icon for names that say phone or a mobile system, else a computer. */
export function deviceIcon(name: string): 'phone' | 'laptop' {
  return /android|\bios\b|iphone|ipad|phone|móvil|movil|celular|telefone|teléfono/i.test(name) ? 'phone' : 'laptop';
}
