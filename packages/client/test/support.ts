/** End-to-end fixtures: a real server over TLS and real clients with SQLCipher stores in temp dirs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { SigiloClient, type ClientEvent } from '../src/index.js';
import { SqlCipherStore, createNodeClient } from '../../client-node/src/index.js';

export interface Person {
  readonly name: string;
  readonly devices: SigiloClient[];
  readonly dirs: string[];
}

export class World {
  readonly people = new Map<string, Person>();
  readonly dirs: string[] = [];
  private constructor(readonly server: TestServer) {}

  static async start(overrides: Record<string, unknown> = {}): Promise<World> {
    return new World(await startTestServer(overrides));
  }

  dir(name: string): string {
    const d = mkdtempSync(join(tmpdir(), `sigilo-client-${name}-`));
    this.dirs.push(d);
    return d;
  }

  async newClient(name: string, dir = this.dir(name), now?: () => number): Promise<SigiloClient> {
    const client = createNodeClient({ store: SqlCipherStore.open(dir, `passphrase of ${name}`), ...(now ? { now } : {}) });
    await client.init(this.server.server.url, this.server.server.tls.fingerprint);
    return client;
  }

  /** A registered person with one connected device (`now`: the client's clock, for tests that date things). */
  async person(name: string, now?: () => number): Promise<SigiloClient> {
    const client = await this.newClient(name, undefined, now);
    const { code } = await this.server.server.admin.createInvite();
    await client.register(code);
    await client.connect({ reconnect: false });
    this.people.set(name, { name, devices: [client], dirs: [] });
    return client;
  }

  async stop(): Promise<void> {
    for (const p of this.people.values()) for (const d of p.devices) await d.close().catch(() => {});
    await this.server.stop();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Makes `a` and `b` contacts of each other (by contact card, as users would). */
export function introduce(a: SigiloClient, aName: string, b: SigiloClient, bName: string): void {
  a.addContact(bName, b.accountId!, b.accessKey);
  b.addContact(aName, a.accountId!, a.accessKey);
}

/** Resolves with the first event that matches, or rejects after `ms`. */
export function nextEvent<T extends ClientEvent['type']>(client: SigiloClient, type: T, pred: (e: Extract<ClientEvent, { type: T }>) => boolean = () => true, ms = 10_000): Promise<Extract<ClientEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`timed out waiting for a ${type} event`)); }, ms);
    const off = client.on((e) => {
      if (e.type === type && pred(e as Extract<ClientEvent, { type: T }>)) {
        clearTimeout(timer);
        off();
        resolve(e as Extract<ClientEvent, { type: T }>);
      }
    });
  });
}
