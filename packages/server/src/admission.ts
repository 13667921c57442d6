/**
 * Admission of TCP/TLS sockets on the client port (spec/server.md §1, §7):
 * every socket counts against limits.maxConnections from the moment it is
 * accepted; a socket not yet bound to an authenticated device also counts
 * against limits.maxUnauthenticated and against its source address's
 * limits.maxUnauthenticatedPerAddress. The rest of maxConnections is thereby
 * kept for authenticated devices; and when the server is full, the address
 * holding the most unauthenticated sockets gives way to a newcomer.
 *
 * Deadlines: the TLS handshake (tls option), the request headers (from
 * connecting, or from the end of the previous response), and the whole of a
 * request other than an attachment transfer (those have their own idle timeout
 * in services/attachments.ts). A WebSocket is handed to its Connection, whose
 * authentication and anonymous-lifetime timers take over.
 *
 * Source addresses are held in memory only, as map keys while a socket is
 * open; they are never stored or logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { isIPv4 } from 'node:net';
import type { Socket } from 'node:net';

export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxUnauthenticated: number;
  readonly maxUnauthenticatedPerAddress: number;
  readonly headerTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** The per-address key: an IPv4 address (also when IPv4-mapped), or the /64 of an IPv6 address. */
export function addressKey(address: string | undefined): string {
  if (!address) return '?';
  let a = address.toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (isIPv4(a)) return a;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (a.includes('.')) return a; // other embedded IPv4 forms: the whole address
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** One accepted socket. */
export class SocketTicket {
  authenticated = false;
  released = false;
  timer: NodeJS.Timeout | undefined;
  readonly since = process.hrtime.bigint();
  /** @param key the source address key; @param id the socket's remote address and port; @param onExpire told when a deadline closes the socket */
  constructor(readonly key: string, readonly id: string, readonly socket: Socket, readonly onExpire?: () => void) {}

  /** Destroys the socket after `ms` unless disarmed or re-armed first. */
  arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.socket.destroyed) this.onExpire?.(); this.socket.destroy(); }, ms);
    this.timer.unref();
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class Admission {
  #total = 0;
  #unauthenticated = 0;
  /** Unauthenticated tickets by source address, oldest first. */
  readonly #byAddress = new Map<string, Set<SocketTicket>>();
  /** Tickets by the socket's remote address and port (unique among open sockets on one listener). */
  readonly #bySocket = new Map<string, SocketTicket>();
  readonly #limits: AdmissionLimits;
  readonly #onDeadline: (() => void) | undefined;

  /** @param onDeadline told when the header or request deadline closes a socket (a metric, no identity). */
  constructor(limits: AdmissionLimits, onDeadline?: () => void) {
    this.#limits = limits;
    this.#onDeadline = onDeadline;
  }

  get total(): number { return this.#total; }
  get unauthenticated(): number { return this.#unauthenticated; }

  /**
   * Counts a new socket, or returns undefined when a limit refuses it. When the server is
   * full but unauthenticated sockets hold room, the oldest unauthenticated socket of the
   * address holding the most of them gives way (`onEvict` is told), as long as that address
   * holds at least as many as the newcomer's would: whoever holds the most is pushed out first,
   * so a device can always get in long enough to authenticate.
   */
  admit(socket: Socket, onEvict?: () => void): SocketTicket | undefined {
    const l = this.#limits;
    const key = addressKey(socket.remoteAddress);
    const mine = this.#byAddress.get(key)?.size ?? 0;
    if (mine >= l.maxUnauthenticatedPerAddress) return undefined;
    const full = () => this.#total >= l.maxConnections || this.#unauthenticated >= Math.min(l.maxUnauthenticated, l.maxConnections);
    if (full()) {
      const victim = this.#largestShareOldest();
      if (!victim || (this.#byAddress.get(victim.key)?.size ?? 0) < mine + 1) return undefined;
      this.release(victim);
      victim.socket.destroy();
      onEvict?.();
      if (full()) return undefined;
    }
    this.#total++;
    this.#unauthenticated++;
    const ticket = new SocketTicket(key, socketKey(socket), socket, this.#onDeadline);
    let set = this.#byAddress.get(key);
    if (!set) this.#byAddress.set(key, (set = new Set()));
    set.add(ticket);
    this.#bySocket.set(ticket.id, ticket);
    return ticket;
  }

  /** The oldest unauthenticated ticket of the address with the most (ties: the oldest ticket). */
  #largestShareOldest(): SocketTicket | undefined {
    let best: SocketTicket | undefined;
    let bestSize = 0;
    for (const set of this.#byAddress.values()) {
      const first = set.values().next().value as SocketTicket | undefined;
      if (!first) continue;
      if (set.size > bestSize || (set.size === bestSize && best && first.since < best.since)) {
        best = first;
        bestSize = set.size;
      }
    }
    return best;
  }

  /** The ticket of an open socket (the raw TCP socket or the TLS socket over it). */
  ticketOf(socket: Socket): SocketTicket | undefined {
    return this.#bySocket.get(socketKey(socket));
  }

  /** The socket now carries an authenticated device: it leaves the unauthenticated counts. */
  authenticate(ticket: SocketTicket): void {
    if (ticket.authenticated || ticket.released) return;
    ticket.authenticated = true;
    this.#unauthenticated--;
    this.#dropAddress(ticket);
  }

  release(ticket: SocketTicket): void {
    if (ticket.released) return;
    ticket.released = true;
    ticket.disarm();
    this.#total--;
    if (!ticket.authenticated) {
      this.#unauthenticated--;
      this.#dropAddress(ticket);
    }
    if (this.#bySocket.get(ticket.id) === ticket) this.#bySocket.delete(ticket.id);
  }

  /** Shutdown: closes every socket still open. */
  destroyAll(): void {
    for (const t of [...this.#bySocket.values()]) t.socket.destroy();
  }

  #dropAddress(ticket: SocketTicket): void {
    const set = this.#byAddress.get(ticket.key);
    set?.delete(ticket);
    if (set?.size === 0) this.#byAddress.delete(ticket.key);
  }

  /**
   * Wires admission and the HTTP deadlines into the listener. The request
   * handler disarms the ticket of an attachment transfer (its own idle timeout applies).
   */
  attach(server: HttpsServer, onRefused: () => void, onEvicted: () => void): void {
    const l = this.#limits;
    // Before the TLS layer's own listener: a refused socket is closed before any handshake work.
    server.prependListener('connection', (socket: Socket) => {
      const ticket = this.admit(socket, onEvicted);
      if (!ticket) {
        onRefused();
        socket.destroy();
        return;
      }
      ticket.arm(l.headerTimeoutMs);
      socket.once('close', () => this.release(ticket));
    });
    // Before the request handler, which exempts attachment transfers.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const ticket = this.ticketOf(req.socket);
      if (!ticket) return;
      ticket.arm(l.requestTimeoutMs);
      let answered = false;
      let received = req.complete;
      const done = () => {
        // Keep-alive: the next request's headers must come within headerTimeout.
        if (answered && received && !req.socket.destroyed) ticket.arm(l.headerTimeoutMs);
      };
      res.once('finish', () => { answered = true; done(); });
      req.once('end', () => { received = true; done(); });
    });
  }
}

function socketKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}
