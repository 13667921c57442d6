/**
 * A QR code for a terminal: two module rows per text line with the upper half block, black on white set
 * explicitly (ANSI 30/47 and 37/40), so it scans whatever the terminal's own colours are.
 */
import qrcode from 'qrcode-generator';

const QUIET = 2;

export function terminalQr(text: string): string {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const dark = (r: number, c: number) => r >= 0 && c >= 0 && r < n && c < n && qr.isDark(r, c);
  const lines: string[] = [];
  for (let r = -QUIET; r < n + QUIET; r += 2) {
    let line = '';
    for (let c = -QUIET; c < n + QUIET; c++) {
      // '▀' paints its upper half in the foreground colour, its lower half in the background one.
      line += `\x1b[${dark(r, c) ? 30 : 37};${dark(r + 1, c) ? 40 : 47}m▀`;
    }
    lines.push(`${line}\x1b[0m`);
  }
  return `${lines.join('\n')}\n`;
}
