/**
 * Reads a QR code from a camera frame or a picture: the browser's BarcodeDetector where it has one,
 * else jsQR (Apache-2.0), loaded only when first needed so it never weighs on the first load.
 */
type Source = HTMLVideoElement | HTMLCanvasElement | ImageBitmap;

interface Detector { detect(s: Source): Promise<{ rawValue: string }[]> }
declare const BarcodeDetector: { new (o: { formats: string[] }): Detector; getSupportedFormats?(): Promise<string[]> } | undefined;

let native: Promise<Detector | undefined> | undefined;
function nativeDetector(): Promise<Detector | undefined> {
  native ??= (async () => {
    if (typeof BarcodeDetector === 'undefined') return undefined;
    const formats = await BarcodeDetector.getSupportedFormats?.().catch(() => []) ?? [];
    return formats.includes('qr_code') ? new BarcodeDetector({ formats: ['qr_code'] }) : undefined;
  })();
  return native;
}

/** Which decoder reads codes in this browser (shown nowhere; for tests and DevTools). */
export async function decoderName(): Promise<'native' | 'jsqr'> {
  return (await nativeDetector()) ? 'native' : 'jsqr';
}

function pixels(src: Source): ImageData | undefined {
  const w = src instanceof HTMLVideoElement ? src.videoWidth : src.width;
  const h = src instanceof HTMLVideoElement ? src.videoHeight : src.height;
  if (!w || !h) return undefined;
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) return undefined;
  g.drawImage(src, 0, 0);
  return g.getImageData(0, 0, w, h);
}

/** The text of the first QR code seen in `src`, or undefined. `forceJs` skips the native detector (tests). */
export async function decodeQr(src: Source, forceJs = false): Promise<string | undefined> {
  const det = forceJs ? undefined : await nativeDetector();
  if (det) {
    const found = await det.detect(src).catch(() => []);
    if (found[0]) return found[0].rawValue;
    return undefined;
  }
  const img = pixels(src);
  if (!img) return undefined;
  const { default: jsQR } = await import('jsqr');
  return jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' })?.data ?? undefined;
}

/** Decodes a picture file (a screenshot or photo of the code). */
export async function decodeQrFile(file: Blob, forceJs = false): Promise<string | undefined> {
  const bitmap = await createImageBitmap(file);
  try { return await decodeQr(bitmap, forceJs); } finally { bitmap.close(); }
}
