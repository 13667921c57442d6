/**
 * The admin channel: a Unix socket DATA/admin.sock (mode 0600, in a 0700 data
 * directory) on which a running server answers `sigilo admin` requests, one
 * JSON object per line each way. Only the server's own user can connect.
 * The socket doubles as a lock: a second server on the same data directory
 * finds it answering and refuses to start.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { DataDirError, ServerError, type ServerErrorCode } from './errors.js';
import type { AdminService } from './services/admin.js';

export type AdminOp =
  | { op: 'invite'; lifetimeMs?: number; count?: number }
  | { op: 'accounts' }
  | { op: 'account'; accountId: string }
  | { op: 'label'; accountId: string; label: string | null }
  | { op: 'remove-account'; accountId: string }
  | { op: 'revoke-device'; accountId: string; deviceId: number }
  | { op: 'audit' }
  | { op: 'deep-audit'; logFiles?: string[] }
  | { op: 'export-account'; accountId: string }
  | { op: 'identity'; accountId: string }
  | { op: 'publish-org-trust' }
  | { op: 'ca-requests' }
  | { op: 'ca-request'; requestId: number }
  | { op: 'ca-request-close'; requestId: number }
  | { op: 'listening' }
  | { op: 'ping' };

type AdminReply = { ok: true; result: unknown } | { ok: false; code: ServerErrorCode; message: string };

export const adminSocketPath = (dataDir: string) => join(dataDir, 'admin.sock');

/** Where the running server takes clients (its port, also when --port 0 or a flag chose it), for links the admin commands print. */
export interface Listening { readonly host: string; readonly port: number }

async function handle(admin: AdminService, req: AdminOp, listening: () => Listening): Promise<unknown> {
  switch (req.op) {
    case 'invite': return req.count === undefined ? admin.createInvite(req.lifetimeMs) : admin.createInvites(Number(req.count), req.lifetimeMs);
    case 'accounts': return admin.listAccounts();
    case 'account': return admin.describeAccount(String(req.accountId));
    case 'label': return admin.setLabel(String(req.accountId), req.label === null || req.label === undefined ? undefined : String(req.label));
    case 'remove-account': return admin.removeAccount(String(req.accountId));
    case 'revoke-device': return admin.revokeDevice(String(req.accountId), Number(req.deviceId));
    case 'audit': return admin.audit();
    case 'deep-audit': return admin.deepAudit(Array.isArray(req.logFiles) ? req.logFiles.map(String) : []);
    case 'export-account': return admin.exportAccount(String(req.accountId));
    case 'identity': return admin.identityOf(String(req.accountId));
    case 'publish-org-trust': return admin.publishOrgTrust();
    case 'ca-requests': return admin.certificationRequests();
    case 'ca-request': return admin.certificationRequest(Number(req.requestId));
    case 'ca-request-close': return admin.closeCertificationRequest(Number(req.requestId));
    case 'listening': return listening();
    case 'ping': return 'pong';
    default: throw new ServerError('INVALID_ARGUMENT', 'unknown admin operation; update the sigilo command');
  }
}

/** True when a server answers on the socket. */
export function adminSocketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(path)) return resolve(false);
    const s = createConnection(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Unix socket paths are limited to 108 bytes on Linux (104 on macOS). */
const MAX_SOCKET_PATH = 103;

export async function listenAdminSocket(dataDir: string, admin: AdminService, listening: () => Listening): Promise<Server> {
  const path = adminSocketPath(dataDir);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new DataDirError(`the admin socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes, which Unix sockets do not allow; use a shorter --data path (or set adminSocket to false and run sigilo admin only while the server is stopped)`);
  }
  if (await adminSocketAlive(path)) {
    throw new DataDirError(`another Sigilo server is already running with the data directory ${dataDir}; stop it first or choose another --data`);
  }
  if (existsSync(path)) unlinkSync(path); // left by a server that was killed
  const server = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 65536) return socket.destroy();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let req: AdminOp;
        try {
          req = JSON.parse(line) as AdminOp;
        } catch {
          socket.write(`${JSON.stringify({ ok: false, code: 'INVALID_ARGUMENT', message: 'admin requests are JSON lines' })}\n`);
          continue;
        }
        handle(admin, req, listening).then(
          (result) => socket.write(`${JSON.stringify({ ok: true, result } satisfies AdminReply)}\n`),
          (e: unknown) => {
            const se = e instanceof ServerError ? e : new ServerError('INTERNAL', 'the admin operation failed; see the server log');
            socket.write(`${JSON.stringify({ ok: false, code: se.code, message: se.message } satisfies AdminReply)}\n`);
          },
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => { server.off('error', reject); resolve(); });
  });
  chmodSync(path, 0o600);
  server.unref();
  return server;
}

/**
 * Sends one request to the running server on `dataDir`. Resolves undefined
 * when no server is listening (the caller then works on the files directly).
 */
export function adminRequest(dataDir: string, req: AdminOp, timeoutMs = 10_000): Promise<unknown> {
  const path = adminSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    if (!existsSync(path)) return resolve(undefined);
    const socket = createConnection(path);
    let buffer = '';
    let connected = false;
    const timer = setTimeout(() => { socket.destroy(); reject(new ServerError('ADMIN_UNAVAILABLE', 'the running server did not answer on its admin socket; check the server log')); }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => { connected = true; socket.write(`${JSON.stringify(req)}\n`); });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      const reply = JSON.parse(buffer.slice(0, nl)) as AdminReply;
      if (reply.ok) resolve(reply.result);
      else reject(new ServerError(reply.code, reply.message));
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected && (e.code === 'ECONNREFUSED' || e.code === 'ENOENT')) resolve(undefined);
      else reject(new ServerError('ADMIN_UNAVAILABLE', `cannot reach the running server's admin socket (${e.code ?? 'error'}); run sigilo admin as the server's user`));
    });
  });
}
