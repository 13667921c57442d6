/**
 * Being online (client.md §1): connecting and authenticating, reconnecting
 * with backoff, what the server pushes, and closing.
 */
import type { ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { authenticate } from './account.js';
import { Connection, ServerRequestError } from './connection.js';
import { accountRemovedMessage, deviceRemovedMessage } from './device-names.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import { refreshPolicy } from './disappearing.js';
import { drainInbox } from './inbox.js';
import { flush } from './outbox.js';
import { replenishPreKeys } from './prekeys.js';
import { applyOrgTrust, refreshOrgTrust } from './org-trust/org-trust.js';

/**
 * Connects, authenticates, then receives everything queued while offline and
 * sends the outbox. With `reconnect`, a dropped connection is retried with
 * exponential backoff (1 s doubling to 60 s, with jitter) until close().
 */
export async function connect(engine: Engine, options: { reconnect?: boolean } = {}): Promise<void> {
  engine.requireAccount();
  engine.wantOnline = options.reconnect ?? true;
  await connectOnce(engine);
}

export async function connectOnce(engine: Engine): Promise<void> {
  const generation = engine.generation;
  engine.setState('connecting');
  let opened: Awaited<ReturnType<typeof Connection.open>> | undefined;
  try {
    opened = await Connection.open(engine.transport(), (f) => onPush(engine, f));
    await authenticate(engine, opened.connection, opened.nonce);
  } catch (e) {
    opened?.connection.terminate();
    if (e instanceof ServerRequestError && e.serverCode === 'DEVICE_REMOVED') {
      // Removed from its account (server.md §3.5): reconnecting cannot help; say so in words.
      engine.wantOnline = false;
      const r = e.frame.body.case === 'error' ? e.frame.body.value.deviceRemoval : undefined;
      throw new ClientError('DEVICE_REMOVED', deviceRemovedMessage(r?.byDeviceId ?? 0, r?.day ?? 0));
    }
    if (e instanceof ServerRequestError && e.serverCode === 'ACCOUNT_REMOVED') {
      engine.wantOnline = false;
      const r = e.frame.body.case === 'error' ? e.frame.body.value.deviceRemoval : undefined;
      throw new ClientError('ACCOUNT_REMOVED', accountRemovedMessage(r?.day ?? 0));
    }
    if (generation === engine.generation) scheduleReconnect(engine);
    throw e;
  }
  const connection = opened.connection;
  if (generation !== engine.generation || engine.connection?.isOpen) {
    // close() was called meanwhile, or another connect won: this one is not wanted.
    connection.close();
    return;
  }
  engine.connection = connection;
  engine.backoffMs = 0;
  engine.ownDevices = undefined;
  engine.setState('online');
  void connection.closed.then(() => {
    if (engine.connection !== connection) return; // a stale connection: nothing to do
    engine.connection = undefined;
    engine.setState('offline');
    scheduleReconnect(engine);
  });
  await replenishPreKeys(engine, connection, false).catch(() => {});
  // The organisation's maximum disappearing timer (client.md §14), kept for when this device is offline.
  void refreshPolicy(engine).catch(() => {});
  // Monitor this account's bindings in the key transparency log; a finding is a kt-alert event.
  void engine.kt.monitor(connection, engine.requireAccount().accountId, engine.identity.publicKey).catch(() => {});
  // The organisation's CA, CRL and certificates (spec/trust.md §6): a revocation made while offline is seen now.
  engine.orgTrustRefresh = refreshOrgTrust(engine, connection).catch(() => {});
  // Started now (not on a timer), so close() waits for the outbox to go out.
  flush(engine).catch(() => { /* retried by the timer the failure set */ });
}

export function scheduleReconnect(engine: Engine): void {
  if (!engine.wantOnline || engine.reconnectTimer) return;
  engine.backoffMs = Math.min(60_000, engine.backoffMs ? engine.backoffMs * 2 : 1000);
  const delay = Math.round(engine.backoffMs * (0.75 + Math.random() * 0.5));
  engine.setState('offline', delay);
  engine.reconnectTimer = setTimeout(() => {
    engine.reconnectTimer = undefined;
    connectOnce(engine).catch(() => { /* scheduled again */ });
  }, delay);
}

/** Stops reconnecting, waits for work in progress, closes the connection. */
export async function close(engine: Engine): Promise<void> {
  engine.wantOnline = false;
  engine.generation++;
  if (engine.reconnectTimer) clearTimeout(engine.reconnectTimer);
  engine.reconnectTimer = undefined;
  if (engine.flushTimer) clearTimeout(engine.flushTimer);
  engine.flushTimer = undefined;
  if (engine.inboxTimer) clearTimeout(engine.inboxTimer);
  engine.inboxTimer = undefined;
  await engine.inboxRunning;
  await engine.flushing;
  await engine.orgTrustRefresh;
  for (const t of engine.typingTimers.values()) clearTimeout(t);
  engine.typingTimers.clear();
  engine.groups.close();
  const anonymous = engine.anonymous;
  engine.anonymous = undefined;
  void anonymous?.then((a) => a.close(), () => {});
  const c = engine.connection;
  engine.connection = undefined;
  if (c) {
    c.close();
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 2000))]);
  }
  // The connection's own close handler sees it as stale (engine.connection was cleared above), so say it here.
  if (engine.state !== 'offline') engine.setState('offline');
}

export function onPush(engine: Engine, frame: ServerFrame): void {
  switch (frame.body.case) {
    case 'deliver':
      engine.inbox.push(frame.body.value);
      drainInbox(engine);
      return;
    case 'queueEmpty':
      void (engine.inboxRunning ?? Promise.resolve()).then(() => engine.emit({ type: 'caught-up' }));
      return;
    case 'preKeysLow': {
      const c = engine.connection;
      if (c) void replenishPreKeys(engine, c, false).catch(() => {});
      return;
    }
    case 'orgTrust': {
      applyOrgTrust(engine, frame.body.value.caCertificate, frame.body.value.crl);
      // A push follows every change of the CA's files, a new certificate too: fetch the certificates again.
      const c = engine.connection;
      if (c) engine.orgTrustRefresh = refreshOrgTrust(engine, c).catch(() => {});
      return;
    }
    case 'closing':
      // Revoked, removed, or replaced by another connection of this device: do not fight back.
      if (frame.body.value.reason === 2 || frame.body.value.reason === 3 || frame.body.value.reason === 4) engine.wantOnline = false;
      if (frame.body.value.reason === 4) engine.emit({ type: 'replaced' });
      return;
    default:
  }
}
