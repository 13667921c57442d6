/**
 * The chat's full-screen layout on a terminal: a title bar, the conversation
 * (newest at the bottom, wrapped to the width), a status line (typing, notices)
 * and the input line that readline owns. Redrawn whole on every change, so a
 * tick that changes appears in place on the message it belongs to.
 */

const ESC_SEQ = /\x1b\[[0-9;?]*[A-Za-z]/y;

/** Visible width of a string: ANSI escape sequences take no room. */
export function visibleLength(s: string): number {
  return [...s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')].length;
}

/** Cuts a line into pieces of at most `width` visible characters, keeping escape sequences whole. */
export function wrap(line: string, width: number): string[] {
  if (width <= 0) return [line];
  const out: string[] = [];
  let current = '', seen = 0, i = 0;
  while (i < line.length) {
    ESC_SEQ.lastIndex = i;
    const m = ESC_SEQ.exec(line);
    if (m) {
      current += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    if (seen === width) {
      out.push(current);
      current = '';
      seen = 0;
    }
    current += ch;
    seen++;
    i += ch.length;
  }
  out.push(current);
  return out;
}

export interface Frame {
  readonly title: string;
  readonly lines: readonly string[];
  readonly status: string;
}

/**
 * The text that draws `frame` on a `rows` × `cols` terminal, leaving the cursor
 * at the start of the last row, where readline redraws the input.
 */
export function draw(frame: Frame, rows: number, cols: number): string {
  const bodyRows = Math.max(1, rows - 3);
  const body = frame.lines.flatMap((l) => wrap(l, cols)).slice(-bodyRows);
  while (body.length < bodyRows) body.unshift('');
  const title = frame.title.length > cols ? frame.title.slice(0, cols) : frame.title.padEnd(cols);
  const status = wrap(frame.status, cols)[0] ?? '';
  // Home, then every row overwritten and cleared to its end: no flicker from clearing the screen.
  return `\x1b[H\x1b[7m${title}\x1b[27m\x1b[K\r\n${body.map((l) => `${l}\x1b[0m\x1b[K\r\n`).join('')}${status}\x1b[0m\x1b[K\r\n`;
}

export const ALT_SCREEN_ON = '\x1b[?1049h\x1b[H\x1b[2J';
export const ALT_SCREEN_OFF = '\x1b[?1049l';
