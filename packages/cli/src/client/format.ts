/** How messages, ticks and contacts look on the terminal and in --json output. */
import { formatAccountId, formatTimer, type ContactRow, type MessageRow, type MessageStatus } from '@sigilo/client-node';

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
    attachments: attachmentsJson(m),
    disappearingTimerMs: m.expireTimerMs ?? null,
    expiresAt: m.expiresAt ?? null,
    notice: m.notice ? { kind: m.notice, text: noticeText(m, m.outgoing ? 'you' : formatAccountId(m.author)) } : null,
  };
}

/** A notice in words (client.md §14, §15): "ana set disappearing messages to 1 day", "ana turned confidential mode on". */
export function noticeText(m: MessageRow, who: string): string {
  switch (m.notice) {
    case 'timer': return m.expireTimerMs ? `${who} set disappearing messages to ${formatTimer(m.expireTimerMs)}` : `${who} turned disappearing messages off`;
    case 'confidential-on': return `${who} turned confidential mode on: messages are kept in memory only`;
    case 'confidential-off': return `${who} turned confidential mode off: its messages were wiped`;
    default: return '';
  }
}

// ------------------------------------------------------------------ attachments

/** Bytes as people read them (decimal units): 999 B, 1.2 kB, 45.6 MB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A message's attachments for --json: what they are and their index for `sigilo download --index`, never their keys. */
export function attachmentsJson(m: MessageRow) {
  return (m.attachments ?? []).map((a, index) => ({
    index, fileName: a.fileName, size: a.size, contentType: a.contentType, width: a.width ?? null, height: a.height ?? null,
    durationMs: a.durationMs ?? null, voiceNote: a.voiceNote, expires: a.expires,
  }));
}

/**
 * A message's attachments as text: "[voice note 0:12, 24.1 kB]", "[image holiday.jpg, 240×320, 45.2 kB]",
 * then how to download them (by the first 8 digits of the message id). Names from peers are made printable.
 */
export function attachmentsText(m: MessageRow): string {
  const list = m.attachments ?? [];
  if (list.length === 0) return '';
  const parts = list.map((a) => {
    const top = a.contentType.split('/')[0]!;
    const kind = a.voiceNote ? 'voice note' : ['image', 'video', 'audio'].includes(top) ? top : 'file';
    const bits = [
      a.voiceNote ? undefined : printable(a.fileName.replace(/[\r\n]/g, ' ')) || undefined,
      a.width && a.height ? `${a.width}×${a.height}` : undefined,
      a.durationMs !== undefined ? duration(a.durationMs) : undefined,
      formatBytes(a.size),
      kind === 'file' ? a.contentType : undefined,
    ].filter(Boolean);
    return `[${kind} ${bits.join(', ')}]`;
  });
  return `${parts.join(' ')} (sigilo download ${hex(m.messageId).slice(0, 8)})`;
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

/** Check marks, ballot boxes, shields, locks, warning signs, clocks, bells (as the web app's names.ts drops them). */
const MARKS = /[\u221A\u2610-\u2612\u2705\u2713\u2714\u26A0\u26C9\u26CA\u26E8\u231A\u231B\u23F0-\u23F3\u{1F5F8}\u{1F5F9}\u{1F6E1}\u{1F50F}-\u{1F515}\u{1F507}\u{1F550}-\u{1F567}\u{1F197}\u{2611}\uFE0E\uFE0F]/gu;
/** Invisible characters and direction controls (not ZWJ/ZWNJ). */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/**
 * A display name a peer chose for themselves (their profile), for a terminal: without mark-like and invisible
 * characters, so "Ana ✓ Certified by Acme" cannot pass for the certificate column or a ✓ tick (spec/trust.md).
 */
export function profileNameText(name: string): string {
  const plain = name.replace(/\s+/gu, ' ').replace(INVISIBLE, '').replace(MARKS, '').replace(/ {2,}/g, ' ').trim();
  return printableName(plain || '\ufffd');
}

/** A name chosen by a peer (a group's name), on one line and safe for a terminal. */
export function printableName(name: string): string {
  return printable(name).replace(/\n/g, '\ufffd');
}

/** A message as a line of text; `me` names one's own side. */
export function messageLine(m: MessageRow, name: string, colour: boolean): string {
  const who = m.outgoing ? 'me' : name;
  if (m.notice) {
    const text = `-- ${noticeText(m, printableName(m.outgoing ? 'you' : name))}`;
    return `${clock(m.timestamp)} ${colour ? ANSI.dim(text) : text}`;
  }
  // A disappearing message says so, with its timer (client.md §14).
  const timer = m.expireTimerMs ? ` ⏱ ${formatTimer(m.expireTimerMs)}` : '';
  const body = m.deleted ? '(deleted)' : [printable(m.text), attachmentsText(m)].filter((x) => x !== '').join(' ');
  const t = m.outgoing ? `  ${colour ? colouredTicks(m.status) : ticks(m.status)}` : '';
  return `${clock(m.timestamp)} ${colour ? ANSI.bold(who) : who}: ${body}${colour ? ANSI.dim(timer) : timer}${t}`;
}
