/**
 * Disappearing messages and confidential mode (client.md §14, §15) against the real server over TLS, with real
 * SQLCipher stores: two people with two linked devices each. A timer set on one device reaches every device; a
 * message disappears from both devices of the sender (counted from sending) and of the recipient (from reading on
 * either device), with its downloaded file; afterwards no file of any data directory holds the plaintext, read raw
 * or decrypted page by page (free pages included). An undelivered expiring message is swept from the server's queue
 * at its hint. Confidential messages never reach a store.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '@sigilo/protocol';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { SqlCipherStore, createNodeClient, deriveStoreKey } from '../../client-node/src/index.js';
import type { MessageRow, SigiloClient } from '../src/index.js';
import { introduce, nextEvent } from './support.js';
import { decryptedPages } from './support-sqlcipher.js';

const HOUR = 3_600_000;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Every place a plaintext could be left in a data directory: each file raw (UTF-8 and UTF-16), and the store decrypted page by page. */
function findPlaintext(dir: string, passphrase: string, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const f of filesUnder(dir)) {
    const raw = readFileSync(f);
    for (const s of secrets) {
      if (raw.includes(Buffer.from(s)) || raw.includes(Buffer.from(s, 'utf16le'))) found.push(`${f}: ${s}`);
    }
  }
  const key = deriveStoreKey(passphrase, readFileSync(join(dir, 'store.salt')));
  const pages = decryptedPages(join(dir, 'store.db'), key);
  for (const s of secrets) if (pages.includes(Buffer.from(s))) found.push(`store.db (decrypted): ${s}`);
  return found;
}

/** A server, its clients and their data directories, on one clock that a test moves forward (server and clients alike). */
class Place {
  readonly dirs: string[] = [];
  readonly clients: SigiloClient[] = [];
  skew = 0;
  readonly now = () => Date.now() + this.skew;
  t!: TestServer;

  static async start(overrides: Record<string, unknown> = {}): Promise<Place> {
    const p = new Place();
    p.t = await startTestServer(overrides, { now: p.now });
    return p;
  }

  dir(name: string): string {
    const d = mkdtempSync(join(tmpdir(), `sigilo-disappear-${name}-`));
    this.dirs.push(d);
    return d;
  }

  async client(dir: string, name: string, options: { confidential?: boolean } = {}): Promise<SigiloClient> {
    const c = createNodeClient({ store: SqlCipherStore.open(dir, `pass ${name}`), now: this.now, ...options });
    await c.init(this.t.server.url, this.t.server.tls.fingerprint);
    this.clients.push(c);
    return c;
  }

  async person(name: string, dir = this.dir(name)): Promise<{ c: SigiloClient; dir: string }> {
    const c = await this.client(dir, name);
    await c.register((await this.t.server.admin.createInvite()).code);
    await c.connect({ reconnect: false });
    return { c, dir };
  }

  async link(existing: SigiloClient, name: string): Promise<{ c: SigiloClient; dir: string }> {
    const dir = this.dir(`${name}-2`);
    const c = await this.client(dir, name);
    const pending = await c.startLink();
    await existing.approveLink(pending.code);
    await pending.completed;
    await c.connect({ reconnect: false });
    return { c, dir };
  }

  async stop(): Promise<void> {
    for (const c of this.clients) {
      await c.close().catch(() => {});
      try { c.store.close(); } catch { /* closed already */ }
    }
    await this.t.stop();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

const row = (c: SigiloClient, conversation: Uint8Array, text: string): MessageRow | undefined => c.store.listMessages(conversation, 1000).find((m) => m.text === text);
const waitText = (c: SigiloClient, text: string) => nextEvent(c, 'message', (e) => e.message.text === text, 20_000);

describe('disappearing messages on every device', () => {
  let place: Place;
  let ana: { c: SigiloClient; dir: string }, ana2: { c: SigiloClient; dir: string };
  let bruno: { c: SigiloClient; dir: string }, bruno2: { c: SigiloClient; dir: string };
  beforeAll(async () => {
    place = await Place.start();
    ana = await place.person('ana');
    bruno = await place.person('bruno');
    introduce(ana.c, 'ana', bruno.c, 'bruno');
    ana2 = await place.link(ana.c, 'ana');
    bruno2 = await place.link(bruno.c, 'bruno');
  }, 120_000);
  afterAll(async () => { await place?.stop(); });

  it('a timer set on one device reaches every device of both people as a notice', async () => {
    const seen = [bruno.c, bruno2.c, ana2.c].map((c) => nextEvent(c, 'disappearing-timer', (e) => e.timerMs === HOUR, 20_000));
    const notice = await ana.c.setDisappearingTimer(bruno.c.accountId!, HOUR);
    expect(notice.notice).toBe('timer');
    for (const e of await Promise.all(seen)) expect(bytesEqual(e.by, ana.c.accountId!)).toBe(true);
    expect(ana.c.disappearingTimer(bruno.c.accountId!)).toBe(HOUR);
    expect(bruno2.c.disappearingTimer(ana.c.accountId!)).toBe(HOUR);
    expect(ana2.c.disappearingTimer(bruno.c.accountId!)).toBe(HOUR);
    expect(bruno.c.store.listMessages(ana.c.accountId!, 10).some((m) => m.notice === 'timer' && m.expireTimerMs === HOUR)).toBe(true);
    await expect(ana.c.setDisappearingTimer(bruno.c.accountId!, 5_000)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  }, 60_000);

  it('a device linked later gets the conversation\'s timer, and no disappearing message in its history', async () => {
    const sentBefore = `sent-before-${Math.random().toString(36).slice(2)}`;
    const arrived = waitText(bruno.c, sentBefore);
    await ana.c.sendText(bruno.c.accountId!, sentBefore);
    await arrived;
    const ana3 = await place.link(ana.c, 'ana');
    expect(ana3.c.disappearingTimer(bruno.c.accountId!)).toBe(HOUR);
    expect(ana3.c.store.listMessages(bruno.c.accountId!, 100).some((m) => m.text === sentBefore || m.expireTimerMs)).toBe(false);
    await ana3.c.close();
  }, 60_000);

  it('expires on both devices of the sender and of the recipient, file included, leaving no plaintext in any file', async () => {
    const secret = `CANARY-disappear-${Math.random().toString(36).slice(2)}`;
    const fileSecret = `FILE-CANARY-${Math.random().toString(36).slice(2)}`;
    const arrived = [bruno.c, bruno2.c, ana2.c].map((c) => waitText(c, secret));
    const sent = await ana.c.sendText(bruno.c.accountId!, secret);
    await Promise.all(arrived);
    expect(sent.expireTimerMs).toBe(HOUR);
    // The sender's countdown runs from sending, on both of its devices; the recipient's has not started.
    expect(row(ana.c, bruno.c.accountId!, secret)!.expiresAt).toBeGreaterThan(place.now() + HOUR - 60_000);
    expect(row(ana2.c, bruno.c.accountId!, secret)!.expiresAt).toBe(sent.timestamp + HOUR);
    expect(row(bruno.c, ana.c.accountId!, secret)!.expireTimerMs).toBe(HOUR);
    expect(row(bruno.c, ana.c.accountId!, secret)!.expiresAt).toBeUndefined();

    // A file, downloaded by the recipient into its data directory.
    const src = join(place.dir('src'), 'note.txt');
    writeFileSync(src, `${fileSecret}\n`.repeat(50));
    const withFile = nextEvent(bruno.c, 'message', (e) => (e.message.attachments?.length ?? 0) > 0, 60_000);
    await ana.c.sendFile(bruno.c.accountId!, src);
    const fileRow = (await withFile).message;
    expect(fileRow.expireTimerMs).toBe(HOUR);
    mkdirSync(join(bruno.dir, 'downloads'));
    const downloaded = join(bruno.dir, 'downloads', 'note.txt');
    await bruno.c.downloadAttachment(ana.c.accountId!, fileRow.messageId, 0, downloaded);
    expect(readFileSync(downloaded, 'utf8')).toContain(fileSecret);

    // Read on bruno's first device: the countdown starts there, and on the second when the read arrives.
    const readThere = nextEvent(bruno2.c, 'status', (e) => e.status === 'read', 20_000);
    await bruno.c.markRead(ana.c.accountId!);
    await readThere;
    expect(row(bruno.c, ana.c.accountId!, secret)!.expiresAt).toBeGreaterThan(place.now() + HOUR - 60_000);
    expect(row(bruno2.c, ana.c.accountId!, secret)!.expiresAt).toBeGreaterThan(place.now() + HOUR - 60_000);

    // Before expiry the plaintext is in every store (so the searches below can find it).
    for (const [p, name] of [[ana, 'ana'], [ana2, 'ana'], [bruno, 'bruno'], [bruno2, 'bruno']] as const) {
      expect(findPlaintext(p.dir, `pass ${name}`, [secret]).some((f) => f.startsWith('store.db (decrypted)'))).toBe(true);
    }

    // bruno's second device is off when the time runs out: it deletes on its next start, before showing anything.
    await bruno2.c.close();
    bruno2.c.store.close();
    place.skew += HOUR + 2 * 60_000;
    for (const c of [ana.c, ana2.c, bruno.c]) {
      const gone = nextEvent(c, 'expired', undefined, 5_000);
      expect(await c.expireMessages()).toBeGreaterThanOrEqual(1);
      await gone;
      expect(row(c, bytesEqual(c.accountId!, ana.c.accountId!) ? bruno.c.accountId! : ana.c.accountId!, secret)).toBeUndefined();
    }
    expect(existsSync(downloaded)).toBe(false);
    expect(bruno.c.store.getMessage(ana.c.accountId!, fileRow.messageId)).toBeUndefined();
    const restarted = createNodeClient({ store: SqlCipherStore.open(bruno2.dir, 'pass bruno'), now: place.now });
    expect(row(restarted, ana.c.accountId!, secret)).toBeUndefined();
    expect(restarted.listMessages(ana.c.accountId!).some((m) => m.text === secret)).toBe(false);
    // The notices stay; they hold no text.
    expect(restarted.store.listMessages(ana.c.accountId!, 100).some((m) => m.notice === 'timer')).toBe(true);

    for (const c of [ana.c, ana2.c, bruno.c, restarted]) {
      await c.close();
      c.store.close();
    }
    for (const [p, name] of [[ana, 'ana'], [ana2, 'ana'], [bruno, 'bruno'], [bruno2, 'bruno']] as const) {
      expect(findPlaintext(p.dir, `pass ${name}`, [secret, fileSecret])).toEqual([]);
    }
  }, 180_000);
});

describe('the server and disappearing messages', () => {
  let place: Place;
  beforeAll(async () => { place = await Place.start({ 'retention.maxDisappearingTimer': '1d' }); }, 60_000);
  afterAll(async () => { await place?.stop(); });

  it('a timer above the organisation\'s maximum is refused (TIMER_TOO_LONG), on the client and by the server', async () => {
    const fede = await place.person('fede');
    const gala = await place.person('gala');
    introduce(fede.c, 'fede', gala.c, 'gala');
    await expect(fede.c.setDisappearingTimer(gala.c.accountId!, 7 * 24 * HOUR)).rejects.toMatchObject({ code: 'TIMER_TOO_LONG' });
    await expect(fede.c.setDisappearingTimer(gala.c.accountId!, 0)).rejects.toMatchObject({ code: 'TIMER_TOO_LONG' });
    // A conversation with no timer uses the maximum: every message disappears within a day.
    expect(fede.c.disappearingTimer(gala.c.accountId!)).toBe(24 * HOUR);
    const sent = await fede.c.sendText(gala.c.accountId!, 'within a day');
    expect(sent.expireTimerMs).toBe(24 * HOUR);
    await fede.c.setDisappearingTimer(gala.c.accountId!, HOUR);
    expect(fede.c.disappearingTimer(gala.c.accountId!)).toBe(HOUR);
    // A client that ignores the maximum is refused by the server: a hint a week ahead.
    const raw = await place.t.account();
    const target = await place.t.account();
    const f = await raw.client.request({
      case: 'send',
      value: { recipientAccountId: target.device.accountId!, messageId: new Uint8Array(16).fill(9), messages: [{ deviceId: 1, content: new Uint8Array([1]) }], expiresHint: BigInt(place.now() + 7 * 24 * HOUR) },
    });
    expect(f.body.case === 'error' && f.body.value.code).toBe(100); // ERROR_CODE_TIMER_TOO_LONG
    const a = await raw.client.request({ case: 'allocateAttachment', value: { size: 100n, expiresHint: BigInt(place.now() + 7 * 24 * HOUR) } });
    expect(a.body.case === 'error' && a.body.value.code).toBe(100);
    const inPast = await raw.client.request({
      case: 'send',
      value: { recipientAccountId: target.device.accountId!, messageId: new Uint8Array(16).fill(8), messages: [{ deviceId: 1, content: new Uint8Array([1]) }], expiresHint: BigInt(place.now() - 10 * HOUR) },
    });
    expect(inPast.body.case === 'error' && inPast.body.value.code).toBe(8); // INVALID_ARGUMENT
  }, 120_000);

  it('an undelivered expiring message and its file are deleted from the server at the hint, not at retention.undelivered', async () => {
    const dana = await place.person('dana');
    const eli = await place.person('eli');
    introduce(dana.c, 'dana', eli.c, 'eli');
    const got = nextEvent(eli.c, 'disappearing-timer', (e) => e.timerMs === HOUR, 20_000);
    await dana.c.setDisappearingTimer(eli.c.accountId!, HOUR);
    await got;
    await eli.c.close();
    const before = await place.t.server.storage.queueDepth();
    const secret = `CANARY-queued-${Math.random().toString(36).slice(2)}`;
    await dana.c.sendText(eli.c.accountId!, secret);
    const src = join(place.dir('src'), 'photo.bin');
    writeFileSync(src, new Uint8Array(4096).fill(7));
    await dana.c.sendFile(eli.c.accountId!, src);
    expect(await place.t.server.storage.queueDepth()).toBe(before + 2);
    // Before the hint nothing goes; after it (the hour rounded up, plus the timer), both copies and the blob go.
    expect((await place.t.server.sweep()).messages).toBe(0);
    place.skew += 2 * HOUR + 60_000;
    const swept = await place.t.server.sweep();
    expect(swept.messages).toBe(2);
    expect(swept.attachmentIds.length).toBe(1);
    expect(await place.t.server.storage.queueDepth()).toBe(before);
    const shown: string[] = [];
    eli.c.on((e) => { if (e.type === 'message') shown.push(e.message.text); });
    const caught = nextEvent(eli.c, 'caught-up', undefined, 20_000);
    await eli.c.connect({ reconnect: false });
    await caught;
    expect(shown).not.toContain(secret);
    expect(eli.c.store.listMessages(dana.c.accountId!, 100).some((m) => m.text === secret || (m.attachments?.length ?? 0) > 0)).toBe(false);
  }, 120_000);
});

describe('confidential mode', () => {
  let place: Place;
  beforeAll(async () => { place = await Place.start(); }, 60_000);
  afterAll(async () => { await place?.stop(); });

  it('both sides see it switch; its messages reach no store file on any device; leaving it wipes them', async () => {
    const hugo = await place.person('hugo');
    const iris = await place.person('iris');
    introduce(hugo.c, 'hugo', iris.c, 'iris');
    const hugo2 = await place.link(hugo.c, 'hugo');
    const iris2 = await place.link(iris.c, 'iris');
    const on = nextEvent(iris.c, 'confidential', (e) => e.on, 20_000);
    await hugo.c.setConfidential(iris.c.accountId!, true);
    await on;
    expect(iris.c.confidential(hugo.c.accountId!)).toBe(true);
    const secrets = [`CONF-A-${Math.random().toString(36).slice(2)}`, `CONF-B-${Math.random().toString(36).slice(2)}`];
    const arrived = [iris.c, iris2.c, hugo2.c].map((c) => waitText(c, secrets[0]!));
    await hugo.c.sendText(iris.c.accountId!, secrets[0]!);
    await Promise.all(arrived);
    const back = waitText(hugo.c, secrets[1]!);
    await iris.c.sendText(hugo.c.accountId!, secrets[1]!);
    await back;
    await iris.c.markRead(hugo.c.accountId!);
    for (const [c, peer] of [[hugo.c, iris.c], [iris.c, hugo.c]] as const) {
      expect(c.listMessages(peer.accountId!).map((m) => m.text)).toEqual(expect.arrayContaining(secrets));
      expect(c.store.listMessages(peer.accountId!, 100).some((m) => secrets.includes(m.text))).toBe(false);
      expect(c.store.listOutbox().length).toBe(0);
    }
    // A file's message would be stored (pointer, caption): refused in the mode.
    const file = join(place.dir('conf-src'), 'a.txt');
    writeFileSync(file, 'x');
    await expect(hugo.c.sendFile(iris.c.accountId!, file)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    // Offline, a confidential message is refused rather than queued.
    await hugo2.c.close();
    await expect(hugo2.c.sendText(iris.c.accountId!, 'not queued')).rejects.toMatchObject({ code: 'CONFIDENTIAL_OFFLINE' });
    // iris leaves the mode: hugo's screen and memory are wiped.
    const wiped = nextEvent(hugo.c, 'confidential-wiped', undefined, 20_000);
    await iris.c.setConfidential(hugo.c.accountId!, false);
    await wiped;
    expect(hugo.c.listMessages(iris.c.accountId!).some((m) => secrets.includes(m.text))).toBe(false);
    expect(iris.c.listMessages(hugo.c.accountId!).some((m) => secrets.includes(m.text))).toBe(false);
    expect(hugo.c.store.listMessages(iris.c.accountId!, 100).filter((m) => m.notice).map((m) => m.notice)).toEqual(['confidential-on', 'confidential-off']);
    for (const p of [hugo, iris, hugo2, iris2]) {
      await p.c.close();
      p.c.store.close();
    }
    for (const [p, name] of [[hugo, 'hugo'], [hugo2, 'hugo'], [iris, 'iris'], [iris2, 'iris']] as const) {
      expect(findPlaintext(p.dir, `pass ${name}`, secrets)).toEqual([]);
    }
  }, 180_000);

  it('a confidential device keeps every 1:1 message in memory only', async () => {
    const juan = await place.person('juan');
    const dir = place.dir('kim');
    const kim = await place.client(dir, 'kim', { confidential: true });
    await kim.register((await place.t.server.admin.createInvite()).code);
    await kim.connect({ reconnect: false });
    introduce(juan.c, 'juan', kim, 'kim');
    const secret = `CONF-DEVICE-${Math.random().toString(36).slice(2)}`;
    const got = waitText(kim, secret);
    await juan.c.sendText(kim.accountId!, secret);
    await got;
    const reply = `CONF-REPLY-${Math.random().toString(36).slice(2)}`;
    const back = waitText(juan.c, reply);
    await kim.sendText(juan.c.accountId!, reply);
    await back;
    expect(kim.listMessages(juan.c.accountId!).map((m) => m.text)).toEqual([secret, reply]);
    expect(kim.store.listMessages(juan.c.accountId!, 100)).toEqual([]);
    await kim.close();
    kim.store.close();
    expect(findPlaintext(dir, 'pass kim', [secret, reply])).toEqual([]);
  }, 120_000);
});

describe('disappearing messages in a group', () => {
  let place: Place;
  beforeAll(async () => { place = await Place.start(); }, 60_000);
  afterAll(async () => { await place?.stop(); });

  it('an admin sets the timer, a member may not; a group message disappears from every member after reading', async () => {
    const lara = await place.person('lara');
    const mar = await place.person('mar');
    const nico = await place.person('nico');
    introduce(lara.c, 'lara', mar.c, 'mar');
    introduce(lara.c, 'lara', nico.c, 'nico');
    introduce(mar.c, 'mar', nico.c, 'nico');
    const joined = nextEvent(nico.c, 'group-update', undefined, 20_000);
    const g = await lara.c.createGroup('ronda', [mar.c.accountId!, nico.c.accountId!]);
    await joined;
    await expect(mar.c.setDisappearingTimer(g.groupId, HOUR)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const seen = [mar.c, nico.c].map((c) => nextEvent(c, 'disappearing-timer', (e) => e.timerMs === HOUR, 20_000));
    await lara.c.setDisappearingTimer(g.groupId, HOUR);
    await Promise.all(seen);
    expect(nico.c.disappearingTimer(g.groupId)).toBe(HOUR);
    const secret = `GROUP-CANARY-${Math.random().toString(36).slice(2)}`;
    const arrived = [lara.c, nico.c].map((c) => waitText(c, secret));
    const sent = await mar.c.sendGroupText(g.groupId, secret);
    expect(sent.expireTimerMs).toBe(HOUR);
    await Promise.all(arrived);
    for (const c of [lara.c, nico.c]) {
      expect(row(c, g.groupId, secret)!.expiresAt).toBeUndefined();
      await c.markRead(g.groupId);
      expect(row(c, g.groupId, secret)!.expiresAt).toBeGreaterThan(place.now());
    }
    place.skew += HOUR + 60_000;
    for (const c of [lara.c, mar.c, nico.c]) {
      expect(await c.expireMessages()).toBe(1);
      expect(row(c, g.groupId, secret)).toBeUndefined();
    }
    for (const [p, name] of [[lara, 'lara'], [mar, 'mar'], [nico, 'nico']] as const) {
      await p.c.close();
      p.c.store.close();
      expect(findPlaintext(p.dir, `pass ${name}`, [secret])).toEqual([]);
    }
  }, 120_000);
});

describe('timer changes that cross (client.md §14.1)', () => {
  let place: Place;
  beforeAll(async () => { place = await Place.start(); }, 60_000);
  afterAll(async () => { await place?.stop(); });

  it('two people set different timers at the same time: both, and a linked device, end with the same one', async () => {
    const ana = await place.person('ana');
    const bruno = await place.person('bruno');
    introduce(ana.c, 'ana', bruno.c, 'bruno');
    const bruno2 = await place.link(bruno.c, 'bruno');
    // Bruno is offline: his change and Ana's cross (neither has seen the other's when making it).
    await bruno.c.close();
    const anaDay = nextEvent(bruno2.c, 'disappearing-timer', (e) => e.timerMs === 24 * HOUR, 20_000);
    await ana.c.setDisappearingTimer(bruno.c.accountId!, 24 * HOUR);
    await anaDay; // bruno2 has Ana's change first
    place.skew += 1000; // Bruno's change is the later one
    await bruno.c.setDisappearingTimer(ana.c.accountId!, HOUR);
    expect(bruno.c.disappearingTimer(ana.c.accountId!)).toBe(HOUR);
    // Back online: Bruno receives Ana's (older) change after his own, Ana and bruno2 receive Bruno's (newer) one.
    const anaGets = nextEvent(ana.c, 'disappearing-timer', (e) => e.timerMs === HOUR, 20_000);
    const bruno2Gets = nextEvent(bruno2.c, 'disappearing-timer', (e) => e.timerMs === HOUR, 20_000);
    const brunoGetsAnas = nextEvent(bruno.c, 'message', (e) => e.message.notice === 'timer' && !e.message.outgoing, 20_000);
    await bruno.c.connect({ reconnect: false });
    await Promise.all([anaGets, bruno2Gets, brunoGetsAnas]);
    for (const [c, other] of [[ana.c, bruno.c], [bruno.c, ana.c], [bruno2.c, ana.c]] as const) expect(c.disappearingTimer(other.accountId!)).toBe(HOUR);
    // Every device shows both notices in the same order: Ana's (1 day) then Bruno's (1 hour), the one in force last.
    for (const [c, other] of [[ana.c, bruno.c], [bruno.c, ana.c], [bruno2.c, ana.c]] as const) {
      expect(c.listMessages(other.accountId!, 50).filter((m) => m.notice === 'timer').map((m) => m.expireTimerMs)).toEqual([24 * HOUR, HOUR]);
    }
    // A change made after seeing the one in force always wins, even from a device whose clock is behind it.
    place.skew -= 5000;
    const back = nextEvent(bruno.c, 'disappearing-timer', (e) => e.timerMs === 7 * 24 * HOUR, 20_000);
    await ana.c.setDisappearingTimer(bruno.c.accountId!, 7 * 24 * HOUR);
    await back;
    for (const [c, other] of [[ana.c, bruno.c], [bruno.c, ana.c]] as const) expect(c.disappearingTimer(other.accountId!)).toBe(7 * 24 * HOUR);
  }, 120_000);

  it('a device linked after a change ignores an older change that crossed it, as the approving device does', async () => {
    const ana = await place.person('ana');
    const bruno = await place.person('bruno');
    introduce(ana.c, 'ana', bruno.c, 'bruno');
    // Bruno, offline, sets an hour; Ana, later and before hearing of it, sets a day.
    await bruno.c.close();
    await bruno.c.setDisappearingTimer(ana.c.accountId!, HOUR);
    place.skew += 1000;
    await ana.c.setDisappearingTimer(bruno.c.accountId!, 24 * HOUR);
    // Ana links a new device now: it gets the day, with the change's place in the order.
    const ana3 = await place.link(ana.c, 'ana');
    expect(ana3.c.disappearingTimer(bruno.c.accountId!)).toBe(24 * HOUR);
    // Bruno's older change arrives at both of Ana's devices: neither applies it (without the order stamp, the new
    // device took any first change as newer and ended on an hour while Ana's first device stayed on a day).
    const notices = [ana.c, ana3.c].map((c) => nextEvent(c, 'message', (e) => e.message.notice === 'timer' && !e.message.outgoing, 20_000));
    const brunoGetsAnas = nextEvent(bruno.c, 'disappearing-timer', (e) => e.timerMs === 24 * HOUR, 20_000);
    await bruno.c.connect({ reconnect: false });
    await bruno.c.flush();
    await Promise.all([...notices, brunoGetsAnas]);
    for (const [c, other] of [[ana.c, bruno.c], [ana3.c, bruno.c], [bruno.c, ana.c]] as const) expect(c.disappearingTimer(other.accountId!)).toBe(24 * HOUR);
  }, 120_000);

  it('in a group, two admins\' crossing changes end the same on every member', async () => {
    const lara = await place.person('lara');
    const mar = await place.person('mar');
    const nico = await place.person('nico');
    introduce(lara.c, 'lara', mar.c, 'mar');
    introduce(lara.c, 'lara', nico.c, 'nico');
    introduce(mar.c, 'mar', nico.c, 'nico');
    const joined = [mar.c, nico.c].map((c) => nextEvent(c, 'group-update', undefined, 20_000));
    const g = await lara.c.createGroup('cruce', [mar.c.accountId!, nico.c.accountId!]);
    await Promise.all(joined);
    const promoted = nextEvent(mar.c, 'group-update', () => mar.c.group(g.groupId).myRole === 'admin', 20_000);
    await lara.c.promote(g.groupId, mar.c.accountId!);
    await promoted;
    await mar.c.close();
    const laraDay = nextEvent(nico.c, 'disappearing-timer', (e) => e.timerMs === 24 * HOUR, 20_000);
    await lara.c.setDisappearingTimer(g.groupId, 24 * HOUR);
    await laraDay;
    place.skew += 1000;
    await mar.c.setDisappearingTimer(g.groupId, HOUR); // offline: queued, made before hearing of Lara's
    const got = [lara.c, nico.c].map((c) => nextEvent(c, 'disappearing-timer', (e) => e.timerMs === HOUR, 20_000));
    const marGetsLaras = nextEvent(mar.c, 'message', (e) => e.message.notice === 'timer' && !e.message.outgoing, 20_000);
    await mar.c.connect({ reconnect: false });
    await mar.c.flush();
    await Promise.all([...got, marGetsLaras]);
    for (const c of [lara.c, mar.c, nico.c]) expect(c.disappearingTimer(g.groupId)).toBe(HOUR);
  }, 120_000);
});
