/** The chat's screen layout: wrapping that keeps escape sequences whole, and a frame that fills the terminal exactly. */
import { describe, expect, it } from 'vitest';
import { ANSI, messageLine, ticks } from '../src/client/format.js';
import { draw, visibleLength, wrap } from '../src/client/screen.js';
import type { MessageRow } from '@sigilo/client-node';

const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('chat screen', () => {
  it('wraps by visible width and never splits an escape sequence', () => {
    const line = `${ANSI.bold('alice')}: ${'x'.repeat(12)} ${ANSI.blue('✓✓ read')}`;
    const parts = wrap(line, 8);
    expect(parts.map(strip).join('')).toBe(strip(line));
    for (const p of parts) expect(visibleLength(p)).toBeLessThanOrEqual(8);
    for (const p of parts) expect(p).not.toMatch(/\x1b(?!\[[0-9;?]*[A-Za-z])/);
    expect(wrap('', 10)).toEqual(['']);
    expect(wrap('héllo 👋 wörld', 5).map(strip)).toEqual(['héllo', ' 👋 wö', 'rld']);
  });

  it('draws the title, the newest lines at the bottom, the status, and leaves the last row to the input', () => {
    const out = draw({ title: ' Sigilo · bob · online', lines: ['one', 'two', 'three', 'four'], status: 'bob is typing…' }, 6, 20);
    const rows = out.split('\r\n');
    expect(rows).toHaveLength(6); // 5 drawn rows + the empty remainder where readline writes the prompt
    expect(rows.at(-1)).toBe('');
    expect(rows.map(strip).map((r) => r.trimEnd())).toEqual([' Sigilo · bob · onli', 'two', 'three', 'four', 'bob is typing…', '']);
    // Fewer lines than rows: padded at the top, so the conversation sits above the input.
    const short = draw({ title: 't', lines: ['only'], status: '' }, 6, 20).split('\r\n').map(strip).map((r) => r.trim());
    expect(short).toEqual(['t', '', '', 'only', '', '']);
  });

  it('ticks: one for sent, two for delivered, two and "read" for read', () => {
    expect([ticks('sent'), ticks('delivered'), ticks('read')]).toEqual(['✓ sent', '✓✓ delivered', '✓✓ read']);
    const row: MessageRow = {
      messageId: new Uint8Array(16), conversation: new Uint8Array(16), author: new Uint8Array(16), outgoing: true,
      timestamp: new Date(2026, 0, 2, 9, 5).getTime(), text: 'hi', status: 'delivered', deleted: false, receivedAt: 0,
    };
    expect(messageLine(row, 'bob', false)).toBe('09:05 me: hi  ✓✓ delivered');
    expect(strip(messageLine({ ...row, outgoing: false, status: 'received' }, 'bob', true))).toBe('09:05 bob: hi');
    expect(messageLine({ ...row, deleted: true, text: '' }, 'bob', false)).toBe('09:05 me: (deleted)  ✓✓ delivered');
  });
});

describe('peer text on a terminal', () => {
  it('escape sequences and other control characters are neutralised', async () => {
    const { printable } = await import('../src/client/format.js');
    const evil = 'hi\u001b]0;pwned\u0007\u001b[2J\u001b[1Ahello\rX\u202ereversed';
    const shown = printable(evil);
    expect(shown).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    expect(shown).toContain('hello');
    expect(printable('line one\nline two')).toBe('line one\nline two');
  });

  it('names chosen by peers (group names) stay on one line, without escapes', async () => {
    const { printableName } = await import('../src/client/format.js');
    const shown = printableName('crew\u001b]0;owned\u0007\u001b[2J\nfake line\u202e');
    expect(shown).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    expect(shown).toContain('crew');
    expect(shown).toContain('fake line');
  });

  it('a profile name loses check marks, shields, locks and invisible characters, so it cannot pass for a tick or a badge', async () => {
    const { profileNameText } = await import('../src/client/format.js');
    expect(profileNameText('Ana ✓ Certified by Acme')).toBe('Ana Certified by Acme');
    expect(profileNameText('Ana\u2714\uFE0F \u{1F6E1} \u{1F512}Acme\u200B\u202E')).toBe('Ana Acme');
    expect(profileNameText('María 👩‍💻 中文')).toBe('María 👩‍💻 中文');
    expect(profileNameText('✓✓')).toBe('\ufffd');
    expect(profileNameText('two\nlines')).toBe('two lines');
  });
});
