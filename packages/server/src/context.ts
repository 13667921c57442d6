/** What every service needs: configuration, storage, clock, randomness, logs, metrics. */
import type { CryptoProvider, Random } from '@sigilo/protocol';
import type { CertificateKey } from './certificate-key.js';
import type { ServerConfig } from './config.js';
import type { Hub } from './hub.js';
import type { PushPort, RelayPort } from './ports.js';
import type { Logger } from './logger.js';
import type { ServerMetrics } from './metrics.js';
import type { KeyedBuckets } from './rate-limit.js';
import type { Limiter } from './shared-limits.js';
import type { RegistrationGuard } from './registration-guard.js';
import type { Storage } from './storage/port.js';
import type { KeyTransparency } from './services/transparency.js';
import type { Cluster } from './cluster.js';

export interface ServerContext {
  readonly config: ServerConfig;
  readonly storage: Storage;
  readonly crypto: CryptoProvider;
  readonly random: Random;
  readonly now: () => number;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  readonly hub: Hub;
  readonly relay: RelayPort;
  readonly certificateKey: CertificateKey;
  /** The key transparency log (spec/transparency.md). */
  readonly kt: KeyTransparency;
  /** Sends per account (identified) or per recipient (sealed); shared by the nodes when the bus keeps counters. */
  readonly sendBuckets: Limiter;
  /** Prekey bundles taken per requesting account; shared by the nodes as sendBuckets. */
  readonly bundleBuckets: Limiter;
  /** Username lookups and directory searches per requesting account. */
  readonly lookupBuckets: KeyedBuckets;
  /** Wake-up pushes (spec/server.md §Push); absent in tests that build a context by hand. */
  push?: PushPort;
  /** The other nodes, when this node is one of several (bus.url set); else undefined. */
  readonly cluster?: Cluster;
  /** Failed registrations per source address and in all (registration-guard.ts). */
  readonly registrationGuard: RegistrationGuard;
}

export type { Session } from './session.js';
