/** The engine in a dedicated Worker, as the web app runs it (part of window.sigiloTest, see entry.ts). */
import { bytesEqual } from '@sigilo/protocol';
import { SigiloWorkerClient, SigiloWorkerError, StoreError, deleteStore, downloadInWorker, sendFileInWorker } from '@sigilo/client-web';
import { parseContactCard } from '@sigilo/client';
import { ok } from '../store-conformance.js';
import { TEST_KDF, hex, openStore, patternBlob, sha256Hex, uniqueName } from './page-support.js';

export const workerTests = {
  /** The engine in a dedicated Worker: open, init, register, connect and send through it; events come back. */
  async workerChat(inviteCode: string, peerCard: string) {
    const name = uniqueName('worker');
    const w = new SigiloWorkerClient(new Worker('/test-worker.js'));
    const statuses: string[] = [];
    w.on((e) => { if (e.type === 'status') statuses.push(e.status); });
    try {
      const opened = await w.open({ name, passphrase: 'pw', kdf: TEST_KDF });
      ok(opened.created && !opened.registered, 'a new store in the worker');
      await w.call.init(undefined);
      const reg = await w.call.register(inviteCode);
      await w.call.connect({ reconnect: false });
      const peer = parseContactCard(peerCard);
      await w.call.addContact('node', peer.accountId, peer.accessKey, peer.profileKey);
      const sent = await w.call.sendText(peer.accountId, 'hello through the worker');
      const deadline = Date.now() + 30_000;
      while (!statuses.includes('delivered') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const who = await w.call.whoami();
      ok(who.state === 'online' && who.contactCard !== undefined, 'whoami through the worker');
      // The store is the Worker's: the page cannot open it meanwhile.
      let uiStoreOpen = true;
      try { (await openStore(name, 'pw')).close(); } catch (e) { uiStoreOpen = (e as StoreError).code !== 'STORE_IN_USE'; }
      return { accountId: hex(reg.accountId), sentStatus: sent.status, statuses, uiStoreOpen };
    } finally {
      await w.close();
      await deleteStore(name);
    }
  },

  /**
   * Attachments through two engines in Workers: a Blob sent with progress and cancelled half-way
   * (ABORTED), sent again (resumed), then downloaded by the other Worker into OPFS with progress,
   * cancelled once and resumed; the File it answers is the Blob byte for byte.
   */
  async workerAttachments(invites: string[], size: number) {
    // a uploads and b downloads over a slow link, so the page's cancel reaches the Worker before the last byte (see worker.ts).
    const { a, b, ids, close } = await twoWorkers('worker', invites, { slowUploadsForA: true, slowDownloadsForB: true });
    try {
      const blob = new File([patternBlob(size)], 'worker.bin', { lastModified: 1_700_000_000_000 });
      const want = await sha256Hex(await blob.arrayBuffer());
      // Send, cancelled half-way through progress events.
      const stop = new AbortController();
      const upProgress: number[] = [];
      const cut = await sendFileInWorker(a, ids[1]!, blob, { caption: 'via worker', signal: stop.signal, onProgress: (done, total) => { upProgress.push(done); if (done > total / 2) stop.abort(); } })
        .then(() => undefined, (e: SigiloWorkerError) => `${e.reason}${e.resumable ? ' resumable' : ''}`);
      let resumedUpAt = -1;
      const sent = await sendFileInWorker(a, ids[1]!, blob, { caption: 'via worker', onProgress: (done) => { if (resumedUpAt < 0) resumedUpAt = done; } });
      // The other Worker receives it, downloads with a cancel, then resumes.
      await attachmentArrived(b, ids[0]!, sent.messageId);
      const stopDown = new AbortController();
      const cutDown = await downloadInWorker(b, ids[0]!, sent.messageId, { signal: stopDown.signal, onProgress: (done, total) => { if (done > 0 && done < total) stopDown.abort(); } })
        .then(() => undefined, (e: SigiloWorkerError) => `${e.reason}${e.resumable ? ' resumable' : ''}`);
      let resumedDownAt = -1;
      const got = await downloadInWorker(b, ids[0]!, sent.messageId, { onProgress: (done) => { if (resumedDownAt < 0) resumedDownAt = done; } });
      const same = (await sha256Hex(await got.file.arrayBuffer())) === want;
      const url = URL.createObjectURL(got.file);
      URL.revokeObjectURL(url);
      return { cut, upEvents: upProgress.length, resumedUpAt, cutDown, resumedDownAt, size: got.size, fileSize: got.file.size, same, caption: sent.text, urlMade: url.startsWith('blob:') };
    } finally {
      await close();
    }
  },

  /**
   * Attack (client.md §14): a disappearing file whose message expires while it downloads. The expiry cannot delete an
   * OPFS file that is open for writing (NoModificationAllowedError), so the decrypted file stayed in OPFS with nothing
   * left to remember it. The download starts just before the countdown ends and lasts past it. Returns the names left
   * in OPFS for that attachment and how the download ended.
   */
  async workerDownloadAcrossExpiry(invites: string[], size: number) {
    const { a, b, ids, close } = await twoWorkers('expiry', invites);
    try {
      await a.call.setDisappearingTimer(ids[1]!, 30_000);
      const sent = await sendFileInWorker(a, ids[1]!, new File([patternBlob(size)], 'secret.bin'));
      await attachmentArrived(b, ids[0]!, sent.messageId);
      await b.call.markRead(ids[0]!);
      const row = (await b.call.listMessages(ids[0]!, 10)).find((m) => bytesEqual(m.messageId, sent.messageId))!;
      const attachmentName = Array.from(row.attachments![0]!.attachmentId, (x) => x.toString(16).padStart(2, '0')).join('');
      // Start 1.5 s before the countdown ends: the file (48 MiB, about 10 s to fetch, decrypt and write here) is still
      // being written when the message expires. 300 ms left too little room: a page or Worker stalled that long on a
      // loaded machine found the message already gone, and no progress came after the expiry.
      await new Promise((r) => setTimeout(r, Math.max(0, row.expiresAt! - 1500 - Date.now())));
      let progressAfterExpiry = false;
      const ended = await downloadInWorker(b, ids[0]!, sent.messageId, { onProgress: () => { if (Date.now() > row.expiresAt!) progressAfterExpiry = true; } })
        .then(() => 'completed', (e: SigiloWorkerError) => `${e.code ?? ''} ${e.reason ?? ''}`.trim());
      await new Promise((r) => setTimeout(r, 1000));
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('sigilo-downloads', { create: true });
      const left: string[] = [];
      for await (const k of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) if (k.startsWith(attachmentName)) left.push(k);
      const gone = !(await b.call.listMessages(ids[0]!, 10)).some((m) => bytesEqual(m.messageId, sent.messageId));
      return { left, ended, gone, progressAfterExpiry };
    } finally {
      await close();
    }
  },

  /** A Worker per tab on the same store name: 'open' keeps one, 'try' opens and closes another, 'close'. */
  async workerTab(name: string, phase: 'open' | 'try' | 'close') {
    const g = globalThis as unknown as { heldWorker?: SigiloWorkerClient };
    if (phase === 'open') {
      g.heldWorker = new SigiloWorkerClient(new Worker('/test-worker.js'));
      await g.heldWorker.open({ name, passphrase: 'pw', kdf: TEST_KDF });
      return true;
    }
    if (phase === 'close') { await g.heldWorker!.close(); return true; }
    const worker = new Worker('/test-worker.js');
    const w = new SigiloWorkerClient(worker);
    try {
      await w.open({ name, passphrase: 'pw', kdf: TEST_KDF });
      await w.close();
      await deleteStore(name);
      return { opened: true };
    } catch (e) {
      if (!(e instanceof SigiloWorkerError)) throw e;
      return { name: e.name, code: e.code, message: e.message };
    } finally {
      worker.terminate();
    }
  },
};

/**
 * Two engines in Workers, registered with `invites`, connected, each the other's contact ('b', 'a'); `close` closes
 * and deletes both. `slowUploadsForA` and `slowDownloadsForB` put a's uploads and b's downloads behind the slow link of worker.ts.
 */
async function twoWorkers(prefix: string, invites: string[], options: { slowUploadsForA?: boolean; slowDownloadsForB?: boolean } = {}) {
  const names = [uniqueName(`${prefix}-a`), uniqueName(`${prefix}-b`)];
  const a = new SigiloWorkerClient(new Worker(options.slowUploadsForA ? '/test-worker.js?slow-uploads' : '/test-worker.js'));
  const b = new SigiloWorkerClient(new Worker(options.slowDownloadsForB ? '/test-worker.js?slow-downloads' : '/test-worker.js'));
  const close = async () => {
    for (const [i, w] of [a, b].entries()) { await w.close().catch(() => {}); await deleteStore(names[i]!).catch(() => {}); }
  };
  try {
    const ids: Uint8Array[] = [];
    const cards: string[] = [];
    for (const [i, w] of [a, b].entries()) {
      await w.open({ name: names[i]!, passphrase: 'pw', kdf: TEST_KDF });
      await w.call.init(undefined);
      ids.push((await w.call.register(invites[i]!)).accountId);
      await w.call.connect({ reconnect: false });
      cards.push((await w.call.whoami()).contactCard!);
    }
    const ca = parseContactCard(cards[0]!), cb = parseContactCard(cards[1]!);
    await a.call.addContact('b', cb.accountId, cb.accessKey, cb.profileKey);
    await b.call.addContact('a', ca.accountId, ca.accessKey, ca.profileKey);
    return { a, b, ids, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Waits (at most 30 s, then throws saying so) until `w` holds the message `messageId` from `from` with its attachment pointer. */
async function attachmentArrived(w: SigiloWorkerClient, from: Uint8Array, messageId: Uint8Array): Promise<void> {
  const deadline = Date.now() + 30_000;
  const arrived = async () => (await w.call.listMessages(from, 10)).some((m) => bytesEqual(m.messageId, messageId) && m.attachments?.length === 1);
  while (!(await arrived())) {
    if (Date.now() > deadline) throw new Error('the message with the attachment did not arrive at the other Worker within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}
