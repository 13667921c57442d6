import pngJs from 'pngjs';
import { describe, expect, it, vi } from 'vitest';
import { makeThumbnail, THUMBNAIL_MAX_PIXELS, THUMBNAIL_SIDE } from '../../client-node/src/thumbnail.js';

function png(width: number, height: number): Uint8Array {
  const img = new pngJs.PNG({ width, height });
  img.data.fill(200);
  return new Uint8Array(pngJs.PNG.sync.write(img));
}

/** A PNG whose IHDR declares `width` x `height`; the pixel data is not there. */
function declaredPng(width: number, height: number): Uint8Array {
  const bytes = png(4, 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return bytes;
}

describe('thumbnails', () => {
  it('a small PNG gets a JPEG thumbnail no larger than the thumbnail side', () => {
    const t = makeThumbnail(png(300, 200), 'image/png');
    expect(t).toBeDefined();
    expect(t!.width).toBe(THUMBNAIL_SIDE);
    expect(t!.height).toBe(85);
    expect([...t!.jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
  });

  it('a PNG that declares more pixels than the limit is refused before it is decoded (no decompression bomb)', () => {
    const read = vi.spyOn(pngJs.PNG.sync, 'read');
    try {
      expect(8000 * 8000).toBeGreaterThan(THUMBNAIL_MAX_PIXELS);
      expect(makeThumbnail(declaredPng(8000, 8000), 'image/png')).toBeUndefined();
      expect(makeThumbnail(declaredPng(0xffffffff, 0xffffffff), 'image/png')).toBeUndefined();
      expect(read).not.toHaveBeenCalled();
      expect(makeThumbnail(png(10, 10), 'image/png')).toBeDefined();
      expect(read).toHaveBeenCalledTimes(1);
    } finally {
      read.mockRestore();
    }
  });

  it('truncated or garbage pictures get no thumbnail and throw nothing', () => {
    for (const bytes of [new Uint8Array(0), new Uint8Array(10), png(20, 20).subarray(0, 40), new Uint8Array(100).fill(0xff)]) {
      expect(makeThumbnail(bytes, 'image/png')).toBeUndefined();
      expect(makeThumbnail(bytes, 'image/jpeg')).toBeUndefined();
    }
  });
});
