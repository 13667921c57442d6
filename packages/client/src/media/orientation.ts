/** Exif orientation: how a picture stored as w × h is shown (attachments.md §Metadata). */

/** Where output pixel (x, y) comes from, for each Exif orientation (w, h: the stored size). */
export function orientedSource(orientation: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (orientation) {
    case 2: return [w - 1 - x, y];
    case 3: return [w - 1 - x, h - 1 - y];
    case 4: return [x, h - 1 - y];
    case 5: return [y, x];
    case 6: return [y, h - 1 - x];
    case 7: return [w - 1 - y, h - 1 - x];
    case 8: return [w - 1 - y, x];
    default: return [x, y];
  }
}

/** The displayed size of a picture stored as w × h with this orientation. */
export function orientedSize(orientation: number, w: number, h: number): { width: number; height: number } {
  return orientation >= 5 ? { width: h, height: w } : { width: w, height: h };
}
