/** Sizes and durations of attachments as people read them; thumbnails of received pictures as blob: URLs. */
import { lang } from './i18n/index.js';

const LOCALES = { en: 'en-GB', es: 'es', pt: 'pt-BR' } as const;

export function fileSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes, u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1024; u++; }
  return `${new Intl.NumberFormat(LOCALES[lang.value], { maximumFractionDigits: u === 0 || v >= 10 ? 0 : 1 }).format(v)} ${units[u]}`;
}

/** 0:07, 1:23, 1:02:03 */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

/** Thumbnails (small JPEGs inside the message) → blob: URLs, made once per message and attachment. */
const thumbs = new Map<string, string>();
const MAX_THUMBS = 400;

export function thumbnailUrl(key: string, jpeg: Uint8Array | undefined): string | undefined {
  if (!jpeg?.length) return undefined;
  let url = thumbs.get(key);
  if (!url) {
    if (thumbs.size >= MAX_THUMBS) {
      const [oldest, u] = thumbs.entries().next().value as [string, string];
      URL.revokeObjectURL(u);
      thumbs.delete(oldest);
    }
    url = URL.createObjectURL(new Blob([jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
    thumbs.set(key, url);
  }
  return url;
}

/** Revokes the thumbnails of a message (`<message hex>.`): it expired or was wiped (client.md §14, §15). */
export function forgetThumbnails(messageHex: string): void {
  for (const [key, url] of [...thumbs]) {
    if (!key.startsWith(`${messageHex}.`)) continue;
    URL.revokeObjectURL(url);
    thumbs.delete(key);
  }
}

/** How many thumbnail URLs are live (tests read it through the page's debugging hook). */
export const liveThumbnails = (): number => thumbs.size;

/** Display size of a picture in a bubble: at most 260 × 320 CSS pixels, keeping its shape. */
export function bubbleSize(width: number | undefined, height: number | undefined): { width: number; height: number } {
  if (!width || !height) return { width: 240, height: 180 };
  const scale = Math.min(260 / width, 320 / height, 1);
  return { width: Math.max(120, Math.round(width * scale)), height: Math.max(80, Math.round(height * scale)) };
}
