/**
 * Attachments on an account's other devices (client.md §5, §6), against the
 * real server over TLS: a device linked later gets the pointers of files sent
 * and received before it was linked (the history transfer carries them) and
 * downloads them; a device linked earlier downloads what the other device
 * sends afterwards, 1:1 and in a group; a blob the server deleted says so.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '@sigilo/protocol';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { SigiloClient, type MessageRow } from '../src/index.js';
import { SqlCipherStore, createNodeClient } from '../../client-node/src/index.js';
import { introduce, nextEvent } from './support.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('attachments on linked devices', () => {
  let t: TestServer;
  let clock = Date.now();
  let root: string;
  const clients: SigiloClient[] = [];
  let ana1: SigiloClient, bruno: SigiloClient;
  let n = 0;

  async function newClient(name: string): Promise<SigiloClient> {
    const c = createNodeClient({ store: SqlCipherStore.open(join(root, `${name}-${n++}`), `passphrase of ${name}`) });
    await c.init(t.server.url, t.server.tls.fingerprint);
    clients.push(c);
    return c;
  }

  async function person(name: string): Promise<SigiloClient> {
    const c = await newClient(name);
    await c.register((await t.server.admin.createInvite()).code);
    await c.connect({ reconnect: false });
    return c;
  }

  async function link(existing: SigiloClient, name: string): Promise<SigiloClient> {
    const device = await newClient(name);
    const pending = await device.startLink();
    await existing.approveLink(pending.code);
    await pending.completed;
    await device.connect({ reconnect: false });
    return device;
  }

  function file(name: string, text: string): { path: string; bytes: Uint8Array } {
    const bytes = new TextEncoder().encode(text.repeat(2000));
    const path = join(root, name);
    writeFileSync(path, bytes);
    return { path, bytes };
  }

  function stored(client: SigiloClient, conversation: Uint8Array, messageId: Uint8Array): MessageRow | undefined {
    return client.store.getMessage(conversation, messageId);
  }

  async function arrived(client: SigiloClient, conversation: Uint8Array, messageId: Uint8Array): Promise<MessageRow> {
    if (!stored(client, conversation, messageId)) {
      await nextEvent(client, 'message', (e) => bytesEqual(e.message.messageId, messageId), 20_000);
    }
    return stored(client, conversation, messageId)!;
  }

  async function downloaded(client: SigiloClient, m: MessageRow, name: string): Promise<string> {
    const out = join(root, `${name}-${n++}`);
    await client.downloadAttachment(m.conversation, m.messageId, 0, out);
    return sha(readFileSync(out));
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sigilo-linked-att-'));
    t = await startTestServer({ 'retention.attachments': '1d' }, { now: () => clock });
    ana1 = await person('ana');
    bruno = await person('bruno');
    introduce(ana1, 'ana', bruno, 'bruno');
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await t?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('a device linked later downloads files sent and received before it was linked (1:1 and in a group)', async () => {
    const mine = file('mine.txt', 'sent by ana before the link\n');
    const theirs = file('theirs.txt', 'sent by bruno before the link\n');
    const inGroup = file('group.txt', 'sent in the group before the link\n');
    const sent = await ana1.sendFile(bruno.accountId!, mine.path);
    const fromBruno = await bruno.sendFile(ana1.accountId!, theirs.path);
    await arrived(ana1, bruno.accountId!, fromBruno.messageId);
    const group = await ana1.createGroup('crew', [bruno.accountId!]);
    const groupSent = await ana1.sendFile(group.groupId, inGroup.path);

    const ana2 = await link(ana1, 'ana');
    const rows = [stored(ana2, bruno.accountId!, sent.messageId), stored(ana2, bruno.accountId!, fromBruno.messageId), stored(ana2, group.groupId, groupSent.messageId)];
    for (const r of rows) {
      expect(r?.attachments).toHaveLength(1);
    }
    expect(rows[0]!.attachments![0]!.fileName).toBe('mine.txt');
    expect(rows[0]!.outgoing).toBe(true);
    expect(await downloaded(ana2, rows[0]!, 'mine')).toBe(sha(mine.bytes));
    expect(await downloaded(ana2, rows[1]!, 'theirs')).toBe(sha(theirs.bytes));
    expect(await downloaded(ana2, rows[2]!, 'group')).toBe(sha(inGroup.bytes));
  }, 90_000);

  it('a device linked earlier downloads a file the other device sends afterwards, 1:1 and in a group', async () => {
    const ana2 = await link(ana1, 'ana');
    const later = file('later.txt', 'sent by ana after the link\n');
    const sent = await ana1.sendFile(bruno.accountId!, later.path);
    const synced = await arrived(ana2, bruno.accountId!, sent.messageId);
    expect(synced.outgoing).toBe(true);
    expect(synced.attachments?.[0]?.fileName).toBe('later.txt');
    expect(await downloaded(ana2, synced, 'later')).toBe(sha(later.bytes));

    const group = await ana1.createGroup('after', [bruno.accountId!]);
    const inGroup = file('later-group.txt', 'sent in the group after the link\n');
    const groupSent = await ana1.sendFile(group.groupId, inGroup.path);
    const groupSynced = await arrived(ana2, group.groupId, groupSent.messageId);
    expect(await downloaded(ana2, groupSynced, 'later-group')).toBe(sha(inGroup.bytes));
    // And the other way: what ana2 sends, ana1 downloads.
    const back = file('from-2.txt', 'sent by the second device\n');
    const fromTwo = await ana2.sendFile(bruno.accountId!, back.path);
    expect(await downloaded(ana1, await arrived(ana1, bruno.accountId!, fromTwo.messageId), 'from-2')).toBe(sha(back.bytes));
  }, 90_000);

  it('a device linked after the server deleted a blob gets the pointer, and the download says the server no longer has it', async () => {
    const old = file('old.txt', 'deleted by the server later\n');
    const sent = await ana1.sendFile(bruno.accountId!, old.path);
    clock += 2 * 24 * 3600 * 1000;
    await t.server.sweep();
    const ana3 = await link(ana1, 'ana');
    const row = stored(ana3, bruno.accountId!, sent.messageId)!;
    expect(row.attachments).toHaveLength(1);
    await expect(ana3.downloadAttachment(row.conversation, row.messageId, 0, join(root, 'old-out.txt')))
      .rejects.toMatchObject({ name: 'AttachmentError', reason: 'EXPIRED', message: expect.stringMatching(/no longer has this attachment/) });
  }, 90_000);
});
