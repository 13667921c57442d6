/** A QR code drawn as SVG (qrcode-generator, MIT, ~8 KB gz): dark modules on a white field with a quiet zone, so phones can read it. */
import qrcode from 'qrcode-generator';

/** Uppercase base32 with a `SIGILO-SN:` prefix fits the QR's alphanumeric mode (denser than bytes). */
const ALNUM = /^[0-9A-Z $%*+\-./:]*$/;

export function QrCode({ text, label, size = 240 }: { text: string; label: string; size?: number }) {
  const qr = qrcode(0, 'M');
  qr.addData(text, ALNUM.test(text) ? 'Alphanumeric' : 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
  const full = n + 2 * quiet;
  return <svg class="qr" role="img" aria-label={label} width={size} height={size} viewBox={`0 0 ${full} ${full}`} shape-rendering="crispEdges" data-qr-text={text}>
    <rect width={full} height={full} fill="#fff" />
    <path d={d} fill="#000" />
  </svg>;
}
