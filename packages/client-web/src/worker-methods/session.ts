/** Store, server, account and devices: open/close, init, register, connect, who am I, linking a new device. */
import { SigiloClient } from '@sigilo/client';
import { IndexedDbStore, type EvictionMarker } from '../store.js';
import type { KdfParams } from '../store-keys.js';
import { BrowserTransport } from '../transport.js';
import { browserAttachmentFiles } from '../thumbnail.js';
import { webCryptoAgreement } from '../agreement.js';
import { webCryptoSymmetric } from '../symmetric.js';
import { HostError, type HostContext } from './context.js';
import { followQuotes } from './quotes.js';
import { markMemoryOnly } from './messages.js';

type PendingLink = Awaited<ReturnType<SigiloClient['startLink']>>;

export function sessionMethods(ctx: HostContext) {
  let off: (() => void) | undefined;
  let link: PendingLink | undefined;
  return {
    /** Unlocks (or creates) the IndexedDB store `name` in the Worker and makes the engine on it. */
    async open(o: { name: string; passphrase: string; kdf?: KdfParams; marker?: string | null; startOverAfterEviction?: boolean }): Promise<{ created: boolean; registered: boolean; persisted: boolean | undefined; kdfMs: number; loadMs: number }> {
      if (ctx.client) throw new HostError('ALREADY_OPEN', 'this Worker already has a store open');
      // A Worker has no localStorage: the page handed in the marker it keeps, and keeps every change to it.
      let current = o.marker ?? null;
      const marker: EvictionMarker | null = o.marker === undefined ? null : {
        get: () => current,
        set: (v) => { current = v; ctx.post({ kind: 'marker', name: o.name, value: v }); },
        remove: () => { current = null; ctx.post({ kind: 'marker', name: o.name, value: null }); },
      };
      const store = await IndexedDbStore.open({ name: o.name, passphrase: o.passphrase, ...(o.kdf ? { kdf: o.kdf } : {}), marker, ...(o.startOverAfterEviction ? { startOverAfterEviction: true } : {}) });
      const client = new SigiloClient({ store, transport: () => new BrowserTransport(), attachments: browserAttachmentFiles, agreement: webCryptoAgreement, symmetric: webCryptoSymmetric });
      // A message held in memory only is marked for the page (no copy, no reply, no content in notifications).
      const offEvents = client.on((event) => ctx.post({ kind: 'event', event: event.type === 'message' ? { ...event, message: markMemoryOnly(client, [event.message])[0]! } : event }));
      const offQuotes = followQuotes(client);
      off = () => { offEvents(); offQuotes(); };
      ctx.setOpen(store, client);
      const r = store.report;
      return { created: r.created, registered: client.accountId !== undefined, persisted: r.persisted, kdfMs: r.kdfMs, loadMs: r.loadMs };
    },
    /** Points the engine at a server; `url` undefined: the origin the Worker was loaded from. */
    async init(url: string | undefined, fingerprint?: string): Promise<{ url: string }> {
      const r = await ctx.need().init(url ?? location.origin, fingerprint);
      return { url: r.url };
    },
    /** True once `init` stored a server. */
    hasServer: (): boolean => ctx.need().server !== undefined,
    register: (code: string) => ctx.need().register(code),
    connect: (o?: { reconnect?: boolean }) => ctx.need().connect(o ?? {}),
    whoami() {
      const c = ctx.need();
      return { accountId: c.accountId, deviceId: c.deviceId, contactCard: c.accountId ? c.contactCard : undefined, state: c.state, name: c.accountId ? c.profiles.own().name : undefined };
    },
    /**
     * This account's display name: this device's copy, else read from the server with the profile key (a device
     * linked by an older client got the key but not the name). Undefined when none is set or the server is unreachable.
     */
    async ownName(): Promise<string | undefined> {
      const c = ctx.need();
      return c.profiles.own().name ?? (await c.profiles.fetchOwn().catch(() => undefined))?.name;
    },
    /** Sets this account's display name (encrypted profile). */
    async setProfileName(name: string): Promise<void> { await ctx.need().profiles.set({ name }); },
    /** Names this device, or another of the account's (`deviceId`), encrypted for the account's devices only. */
    async setDeviceName(name: string, deviceId?: number): Promise<void> { await ctx.need().setDeviceName(name, deviceId); },
    /**
     * On a NEW device: asks the server for a link code to show (type it, or scan its QR, on a device already in
     * the account). `waitLink` resolves once that device approved it.
     */
    async startLink(): Promise<{ code: string; qrPayload: Uint8Array }> {
      link?.cancel();
      link = await ctx.need().startLink();
      return { code: link.code, qrPayload: link.qrPayload };
    },
    async waitLink(): Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }> {
      if (!link) throw new HostError('NO_LINK', 'start linking first');
      try { return await link.completed; } finally { link = undefined; }
    },
    cancelLink(): void { link?.cancel(); link = undefined; },
    /** On an EXISTING device: sends identity, contacts and history to the new device whose code was typed. */
    approveLink: (code: string) => ctx.need().approveLink(code),
    /** Disconnects, writes what is queued and closes the store (releasing it for another tab). */
    async close(): Promise<void> {
      const c = ctx.client, s = ctx.store;
      ctx.setOpen(undefined, undefined);
      off?.();
      link?.cancel();
      await c?.close();
      s?.close();
      await s?.closed;
    },
  };
}
