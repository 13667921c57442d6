/**
 * What every client command shares: the global options (--dir, --passphrase-file,
 * --json), opening the encrypted store, connecting, and the exit codes
 * (0 ok, 1 failure, 2 usage, 3 identity changed or verification failed).
 */
import { existsSync, rmSync, rmdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ClientError, ServerRequestError, SigiloClient, SqlCipherStore, createNodeClient, formatAccountId, identityTokenReference, pkcs11IdentityToken, systemLibraryPath,
  type ClientEvent, type ContactRow,
} from '@sigilo/client-node';
import { parse, str, type Parsed } from '../args.js';
import { UsageError, type Command, type Io } from '../command.js';
import { profileNameText } from './format.js';
import { promptHidden, readPassphrase } from './passphrase.js';
import { DeviceLeases, describeLease, type LeaseKind } from './device-lease.js';

export const EXIT_IDENTITY = 3;
/** This device was removed from its account (by another of its devices or the administrator). */
export const EXIT_DEVICE_REMOVED = 4;

export const clientOptions = {
  dir: { type: 'string' },
  'passphrase-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const CLIENT_USAGE = '[--dir DIR] [--passphrase-file FILE]';

/** Appended to every client command's help. */
export const CLIENT_HELP = `
Client options:
  --dir DIR               the client's directory (default: $SIGILO_HOME, else ~/.sigilo)
  --passphrase-file FILE  read the store passphrase from FILE (one line)
  SIGILO_PASSPHRASE       environment variable with the passphrase, for scripts
Without either, the passphrase is asked on the terminal (not echoed).
  SIGILO_PKCS11_PIN       the PIN of the token holding your identity key (register --token),
                          else asked on the terminal; SIGILO_PKCS11_MODULE: its library here
These options (and --json) may also come before the command: sigilo --dir DIR whoami.
Exit codes: 0 ok, 1 failure, 2 usage, 3 identity changed or verification failed,
4 this device was removed from your account, 5 no answer yet (verify --ask/--answer).`;

type Options = Parameters<typeof parse>[1];

export interface ClientContext {
  readonly io: Io;
  readonly values: Parsed['values'];
  readonly positionals: string[];
  readonly json: boolean;
  readonly dir: string;
  /** Who else uses this directory now (device-lease.ts); this command's lease is taken when the client is opened. */
  readonly leases: DeviceLeases;
  /** Opens the store (asking for the passphrase) and returns the client; closed after run. */
  client(options?: { create?: boolean }): Promise<SigiloClient>;
  /**
   * The PIN of the PKCS#11 token holding the identity key (spec/trust.md §7.1): SIGILO_PKCS11_PIN, else asked
   * on the terminal (once per run). Never stored.
   */
  tokenPin(tokenLabel: string): Promise<string>;
  /** `sigilo link` on the new device: the identity comes in a link message, whose token library path is loaded only from a system library directory. */
  identityFromLink(): void;
  /** Progress for long work, on stderr so that stdout stays parseable. */
  progress(text: string): void;
  /** Closes the client and removes its store if this run created it (a failed `init` leaves nothing behind). */
  discardNewStore(): void;
}

export function clientDir(io: Io, values: Parsed['values']): string {
  const explicit = str(values.dir) ?? (io.env.SIGILO_HOME || undefined);
  return explicit ? resolve(io.cwd, explicit) : join(io.env.HOME || homedir(), '.sigilo');
}

/**
 * A client command: parses the shared options with its own, opens the client
 * lazily, always closes it, and turns an identity change into exit code 3.
 */
export function clientCommand(def: {
  path: string[];
  summary: string;
  usage: string;
  options?: Options;
  positionals?: boolean;
  /** 'chat' for a long-running command that hands the connection to other commands (client.md §13). */
  lease?: LeaseKind;
  run(ctx: ClientContext): Promise<number>;
}): Command {
  return {
    path: def.path,
    summary: def.summary,
    usage: `${def.usage}\n${CLIENT_HELP}`,
    async run(args, io) {
      const { values, positionals } = parse(args, { ...clientOptions, ...def.options }, def.positionals ?? false);
      const dir = clientDir(io, values);
      let opened: SigiloClient | undefined;
      let created = false;
      let createdDir = false;
      const leases = new DeviceLeases(dir);
      let pin = io.env.SIGILO_PKCS11_PIN || undefined;
      // The identity a link brings names its token's library; anyone holding the link code could send it, so only a system library is loaded then.
      let fromLink = false;
      const identityToken = pkcs11IdentityToken({ pin: () => pin, module: io.env.SIGILO_PKCS11_MODULE || undefined, allowModule: (path) => !fromLink || systemLibraryPath(path) });
      const ctx: ClientContext = {
        io, values, positionals, dir, leases,
        json: values.json === true,
        progress: (text) => io.err(`${text}\n`),
        identityFromLink() { fromLink = true; },
        async tokenPin(tokenLabel) {
          if (pin) return pin;
          if (!process.stdin.isTTY) throw new UsageError(`the identity key is on the token "${tokenLabel}": set SIGILO_PKCS11_PIN (or run this in a terminal to be asked for the PIN)`);
          pin = await promptHidden(`PIN of the token "${tokenLabel}": `);
          return pin;
        },
        async client(options = {}) {
          if (opened) return opened;
          const fresh = !existsSync(join(dir, 'store.db'));
          if (fresh && !options.create) {
            throw new ClientError('NOT_INITIALISED', `no Sigilo client in ${dir}: run \`sigilo init URL --fingerprint FP\` (or \`--ca-fingerprint FP\`, as your administrator gave it) first, or give --dir`);
          }
          const passphrase = await readPassphrase({ file: str(values['passphrase-file']), env: io.env, cwd: io.cwd, confirm: fresh });
          const dirExisted = existsSync(dir);
          const store = SqlCipherStore.open(dir, passphrase);
          // An identity key on a token (trust.md §7.1): the PIN is asked now, in a terminal, for the signatures to come.
          const stored = store.getMeta('identity');
          const onToken = stored ? identityTokenReference(stored) : undefined;
          if (onToken && !pin && process.stdin.isTTY) await ctx.tokenPin(onToken.tokenLabel);
          opened = createNodeClient({ store, transparency: transparencyFromEnv(io.env), identityToken });
          created = fresh;
          if (fresh && !dirExisted) createdDir = true;
          const kind = def.lease ?? 'command';
          leases.take(kind, def.path.join(' '));
          // One connection per device: a command waits for the commands started before it (a chat waits for it instead).
          if (kind === 'command') await leases.waitForEarlierCommands((holder) => ctx.progress(`Waiting for ${describeLease(holder)} on this directory to finish…`));
          return opened;
        },
        discardNewStore() {
          if (!opened || !created) return;
          opened.store.close();
          opened = undefined;
          leases.release(false);
          for (const f of ['store.db', 'store.db-journal', 'store.salt']) rmSync(join(dir, f), { force: true });
          if (createdDir) try { rmdirSync(dir); } catch { /* not empty: keep it */ }
        },
      };
      try {
        return await def.run(ctx);
      } catch (e) {
        // Scripts reading --json get the failure there too (the message also goes to stderr).
        const code = (e as { code?: unknown }).code;
        if (ctx.json && typeof code === 'string' && code !== 'USAGE') {
          io.out(`${JSON.stringify({ error: { code, message: e instanceof Error ? e.message : String(e) } })}\n`);
        }
        if (e instanceof ClientError && (e.code === 'IDENTITY_CHANGED' || e.code === 'CERTIFICATE_REVOKED')) {
          io.err(`sigilo ${def.path.join(' ')}: ${e.message} [${e.code}]\n`);
          return EXIT_IDENTITY;
        }
        if (e instanceof ClientError && (e.code === 'DEVICE_REMOVED' || e.code === 'ACCOUNT_REMOVED')) {
          io.err(`sigilo ${def.path.join(' ')}: ${e.message}\n`);
          return EXIT_DEVICE_REMOVED;
        }
        // A registered device the server no longer knows: the administrator removed the account
        // (a removed device alone is told so, above). Say it in words, not as a signature failure.
        if (e instanceof ServerRequestError && e.serverCode === 'AUTH_FAILED' && opened?.accountId) {
          io.err(`sigilo ${def.path.join(' ')}: the server no longer knows this device or its account `
            + `(${formatAccountId(opened.accountId)}): your administrator may have removed the account. `
            + 'Ask them; for a new account they give you an invite, then run `sigilo register` in a new --dir [AUTH_FAILED]\n');
          return 1;
        }
        throw e;
      } finally {
        if (opened) {
          await opened.close().catch(() => {});
          opened.store.close();
        }
        leases.release();
      }
    },
  };
}

/** Connects once (no reconnect) and waits until the server's queue for this device is drained. */
export async function connectAndCatchUp(client: SigiloClient, timeoutMs = 30_000): Promise<void> {
  let off = () => {};
  const caughtUp = new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => { off(); reject(new ClientError('TIMEOUT', 'the server did not finish sending queued messages in time; run it again')); }, timeoutMs);
    timer.unref();
    off = client.on((e) => {
      if (e.type === 'caught-up') {
        clearTimeout(timer);
        off();
        resolvePromise();
      }
    });
  });
  try {
    await client.connect({ reconnect: false });
  } catch (e) {
    off();
    throw e;
  }
  await caughtUp;
}

/** Collects warnings worth telling the person about while a command runs (identity changes, undecryptable messages). */
export function watchWarnings(client: SigiloClient, io: Io): () => void {
  return client.on((e: ClientEvent) => {
    if (e.type === 'identity-changed') {
      const name = contactName(client.store.getContact(e.accountId), e.accountId, client);
      io.err(`warning: the safety number with ${name} changed; sending to ${name} is blocked until you compare it and accept it (sigilo verify ${name})\n`);
    } else if (e.type === 'undecryptable') {
      io.err(`warning: a message could not be read (${e.reason})\n`);
    } else if (e.type === 'group-rejected') {
      io.err(`warning: ${e.reason}\n`);
    }
  });
}

/**
 * How a person is named on the terminal: the contact name you gave them; else the display
 * name from their profile, marked with "~" (they chose it themselves); else their account id.
 */
export function contactName(c: ContactRow | undefined, accountId: Uint8Array, client?: SigiloClient): string {
  if (c?.alias) return c.alias;
  const profile = client?.profiles.nameOf(accountId);
  return profile ? `~${profileNameText(profile)}` : formatAccountId(accountId);
}

/** Anyone's name as this person knows them: "you" for this account, else the contact's name (contactName). */
export function personName(client: SigiloClient, accountId: Uint8Array): string {
  const me = client.accountId;
  if (me && Buffer.from(me).equals(Buffer.from(accountId))) return 'you';
  return contactName(client.store.getContact(accountId), accountId);
}

/** Connects when the server is reachable; work done offline is queued in the outbox. Returns whether it is online. */
export async function connectBestEffort(client: SigiloClient): Promise<boolean> {
  try {
    await client.connect({ reconnect: false });
    return true;
  } catch (e) {
    if (e instanceof ClientError && (e.code === 'CONNECTION_FAILED' || e.code === 'TIMEOUT')) return false;
    throw e;
  }
}

/**
 * Key transparency witnesses for this client (spec/transparency.md §6.1): SIGILO_KT_WITNESSES, the
 * witness keys (comma-separated, as `sigilo witness` prints them), and SIGILO_KT_REQUIRED, how many
 * of them must have cosigned a checkpoint before its keys are used (default 0).
 */
function transparencyFromEnv(env: NodeJS.ProcessEnv): { witnesses: string[]; requiredCosignatures: number } | undefined {
  const witnesses = (env.SIGILO_KT_WITNESSES ?? '').split(',').map((w) => w.trim()).filter(Boolean);
  const required = env.SIGILO_KT_REQUIRED ?? '0';
  if (!/^\d+$/.test(required)) throw new ClientError('INVALID_INPUT', 'SIGILO_KT_REQUIRED must be a number of witnesses (0 or more)');
  if (!witnesses.length && required === '0') return undefined;
  return { witnesses, requiredCosignatures: Number(required) };
}
