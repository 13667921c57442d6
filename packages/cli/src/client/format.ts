/** How messages, ticks and contacts look on the terminal and in --json output. */
import { formatAccountId, type ContactRow, type MessageRow, type MessageStatus } from '@sigilo/client';

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Ticks for one's own messages: one for sent (the server has it), two for delivered, two and "read" for read. */
export function ticks(status: MessageStatus): string {
  switch (status) {
    case 'pending': return '… sending';
    case 'sent': return '✓ sent';
    case 'delivered': return '✓✓ delivered';
    case 'read': return '✓✓ read';
    case 'failed': return '! not sent';
    default: return '';
  }
}

export const ANSI = {
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  blue: (s: string) => `\x1b[34m${s}\x1b[39m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
  inverse: (s: string) => `\x1b[7m${s}\x1b[27m`,
};

/** Ticks with colour: read ticks are bold blue, as people know them from phone messengers. */
export function colouredTicks(status: MessageStatus): string {
  const t = ticks(status);
  if (status === 'read') return ANSI.bold(ANSI.blue(t));
  if (status === 'failed') return ANSI.yellow(t);
  return ANSI.dim(t);
}

export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export function dateTime(ms: number): string {
  const d = new Date(ms);
  const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return `${day} ${clock(ms)}`;
}

/** Muted "forever" is stored as the largest date JavaScript can represent. */
export const MUTED_FOREVER = 8.64e15;

export function mutedText(c: ContactRow, now: number): string | undefined {
  if (c.mutedUntil <= now) return undefined;
  return c.mutedUntil >= MUTED_FOREVER ? 'muted' : `muted until ${dateTime(c.mutedUntil)}`;
}

export function messageJson(m: MessageRow, contact: ContactRow | undefined) {
  return {
    conversation: formatAccountId(m.conversation),
    contact: contact?.alias ?? null,
    messageId: hex(m.messageId),
    outgoing: m.outgoing,
    author: formatAccountId(m.author),
    timestamp: m.timestamp,
    text: m.text,
    status: m.status,
    deleted: m.deleted,
  };
}

/**
 * Text from a peer, made safe for a terminal: control characters (escape
 * sequences that could move the cursor, rewrite earlier lines or set the
 * window title) are shown as U+FFFD; tabs become spaces, newlines stay.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\t/g, '    ').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}

/** A message as a line of text; `me` names one's own side. */
export function messageLine(m: MessageRow, name: string, colour: boolean): string {
  const who = m.outgoing ? 'me' : name;
  const body = m.deleted ? '(deleted)' : printable(m.text);
  const t = m.outgoing ? `  ${colour ? colouredTicks(m.status) : ticks(m.status)}` : '';
  return `${clock(m.timestamp)} ${colour ? ANSI.bold(who) : who}: ${body}${t}`;
}
