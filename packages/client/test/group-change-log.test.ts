/**
 * Group changes kept in the group's conversation (client.md §9), in a real SQLCipher store:
 * stored once per change, others' as new and one's own as seen, account ids only; a store
 * from before gains the column and keeps its messages.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordGroupChanges } from '../src/index.js';
import { SqlCipherStore, deriveStoreKey } from '../../client-node/src/index.js';
import { decodeGroupChange, encodeGroupChange } from '../src/group-change-log.js';

const id = (n: number, len = 16) => new Uint8Array(len).fill(n);
const GROUP = id(9, 32);
const ME = id(1);
const ANA = id(2);
const CAROL = id(3);

describe('group changes in the conversation', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sigilo-group-changes-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores each change once, with ids not names; others\' changes are new, one\'s own are seen', () => {
    const store = SqlCipherStore.open(dir, 'pass phrase');
    try {
      const update = { groupId: GROUP, revision: 4, changes: [{ by: ANA, kind: 'added' as const, accounts: [CAROL] }, { by: ME, kind: 'renamed' as const, accounts: [], name: 'Trip' }] };
      expect(recordGroupChanges(store, update, ME, 1000)).toHaveLength(2);
      // The same update again (a replayed delivery): nothing new.
      expect(recordGroupChanges(store, update, ME, 2000)).toHaveLength(0);
      const rows = store.listMessages(GROUP, 10);
      expect(rows).toHaveLength(2);
      const added = rows.find((r) => r.groupChange?.kind === 'added')!;
      expect(added).toMatchObject({ outgoing: false, status: 'received', text: '', timestamp: 1000 });
      expect(added.groupChange).toEqual({ by: ANA, kind: 'added', accounts: [CAROL] });
      const renamed = rows.find((r) => r.groupChange?.kind === 'renamed')!;
      expect(renamed).toMatchObject({ outgoing: true, status: 'read' });
      expect(renamed.groupChange).toEqual({ by: ME, kind: 'renamed', accounts: [], name: 'Trip' });
      // The same change at another revision is another row.
      expect(recordGroupChanges(store, { ...update, revision: 5, changes: [update.changes[0]!] }, ME, 3000)).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  it('a stored value this version cannot read is no change (shown as nothing), never an exception', () => {
    expect(decodeGroupChange('not json')).toBeUndefined();
    expect(decodeGroupChange(JSON.stringify({ by: 'zz', kind: 'added', accounts: [] }))).toBeUndefined();
    expect(decodeGroupChange(JSON.stringify({ by: '02', kind: 'exploded', accounts: [] }))).toBeUndefined();
    const c = { by: ANA, kind: 'undone' as const, accounts: [], undoneBy: CAROL };
    expect(decodeGroupChange(encodeGroupChange(c))).toEqual(c);
  });

  it('a store from before gains the column when opened and keeps its messages', async () => {
    SqlCipherStore.open(dir, 'pass phrase').close();
    const Database = (await import('better-sqlite3-multiple-ciphers')).default;
    const db = new Database(join(dir, 'store.db'));
    db.pragma("cipher = 'sqlcipher'");
    db.pragma('legacy = 4');
    db.pragma(`key = "x'${deriveStoreKey('pass phrase', readFileSync(join(dir, 'store.salt'))).toString('hex')}'"`);
    db.exec('ALTER TABLE messages DROP COLUMN group_change');
    db.prepare('INSERT INTO messages (conversation, message_id, author, outgoing, timestamp, text, status, deleted, received_at) VALUES (?, ?, ?, 0, 1, ?, ?, 0, 1)')
      .run(Buffer.from(GROUP), Buffer.from(id(7)), Buffer.from(ANA), 'old message', 'received');
    db.close();
    const store = SqlCipherStore.open(dir, 'pass phrase');
    try {
      const [old] = store.listMessages(GROUP, 10);
      expect(old).toMatchObject({ text: 'old message' });
      expect(old!.groupChange).toBeUndefined();
      expect(recordGroupChanges(store, { groupId: GROUP, revision: 1, changes: [{ by: ANA, kind: 'left', accounts: [ANA] }] }, ME, 5)).toHaveLength(1);
      expect(store.listMessages(GROUP, 10)).toHaveLength(2);
    } finally {
      store.close();
    }
  });
});
