/**
 * The provisioning relay for linking devices (spec/server.md, Provisioning;
 * spec/client.md §6). A new device's unauthenticated connection gets a random
 * address; an authenticated device sends opaque, end-to-end encrypted bodies
 * to it. Held in memory only: nothing is stored, nothing is logged, and an
 * address dies with its connection.
 */
import type { ProvisionSend } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Connection, Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { ServerError, invalidArgument } from '../errors.js';
import { toHex } from '../ids.js';

const ADDRESS_LENGTH = 16;
const listeners = new WeakMap<ServerContext, Map<string, Connection>>();
const addressOf = new WeakMap<Connection, string>();

function registry(ctx: ServerContext): Map<string, Connection> {
  let m = listeners.get(ctx);
  if (!m) {
    m = new Map();
    listeners.set(ctx, m);
  }
  return m;
}

export async function provisionListen(ctx: ServerContext, conn: Connection, session: Session | undefined): Promise<Reply> {
  if (session) throw new ServerError('ALREADY_AUTHENTICATED', 'a registered device cannot be provisioned; use a new device');
  let address = addressOf.get(conn);
  if (!address) {
    address = toHex(ctx.random(ADDRESS_LENGTH));
    addressOf.set(conn, address);
    registry(ctx).set(address, conn);
    // Answered once the other nodes can find it: a code approved at once on another node would otherwise be NOT_FOUND.
    await ctx.cluster?.listenProvision(address);
  }
  return { body: { case: 'provisionAddress', value: { address: Buffer.from(address, 'hex') } } };
}

const NOT_WAITING = 'no device is waiting at that link code: start `sigilo link` on the new device again and use its new code';

export async function provisionSend(ctx: ServerContext, _session: Session, m: ProvisionSend): Promise<Reply> {
  if (m.address.length !== ADDRESS_LENGTH) throw invalidArgument(`address must be ${ADDRESS_LENGTH} bytes`);
  if (m.body.length === 0) throw invalidArgument('body must not be empty');
  const address = toHex(m.address);
  const target = registry(ctx).get(address);
  if (target && !target.closed) {
    target.send({ case: 'provisionDeliver', value: { body: m.body } });
  } else if (!ctx.cluster || !(await ctx.cluster.sendProvision(address, m.body))) {
    // Several nodes: the address may wait on another node (relayed through the bus).
    throw new ServerError('NOT_FOUND', NOT_WAITING);
  }
  return { body: { case: 'ok', value: {} } };
}

/** A provisioning body relayed from another node (cluster.ts) for an address waiting here. */
export function deliverProvision(ctx: ServerContext, address: string, body: Uint8Array): void {
  const target = registry(ctx).get(address);
  if (target && !target.closed) target.send({ case: 'provisionDeliver', value: { body } });
}

/** Called when a connection closes: its address is forgotten. */
export function forgetProvisioning(ctx: ServerContext, conn: Connection): void {
  const address = addressOf.get(conn);
  if (address && registry(ctx).get(address) === conn) {
    registry(ctx).delete(address);
    ctx.cluster?.forgetProvision(address);
  }
}
