/**
 * A key transparency witness (`sigilo witness`, spec/transparency.md §7): an
 * HTTP service implementing C2SP tlog-witness's add-checkpoint for the logs it
 * is configured with. For each log (by origin) it keeps the latest checkpoint
 * it cosigned, and cosigns a new one only when it is signed by the log's key
 * and a consistency proof shows it extends the one it kept: a log that forks or
 * rewrites its history gets no cosignature.
 *
 * State: DATA/witness.json (owner-only): the witness key and, per origin, the
 * size and root of the latest cosigned checkpoint. Checking the old size and
 * storing the new checkpoint happen without yielding in between, and the file
 * is replaced atomically before the answer is sent.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COSIGNATURE_V1, base64Decode, base64Encode, bytesEqual, cosignCheckpoint, encodeVerifierKey, formatSignatureLine, ktVerifyConsistency, noteSignedBy,
  parseCheckpointText, parseNote, toHex, type CryptoProvider, type Random,
} from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { DataDirError } from './errors.js';

export interface WitnessOptions {
  readonly dataDir: string;
  /** The logs this witness cosigns: their origin (note key name) and Ed25519 note key. */
  readonly logs: readonly { readonly name: string; readonly publicKey: Uint8Array }[];
  /** Key name, kept in the state file on first start (default sigilo-witness/<key hash>). */
  readonly name?: string;
  readonly host?: string;
  /** 0: any free port. */
  readonly port?: number;
  readonly now?: () => number;
  readonly crypto?: CryptoProvider;
  readonly random?: Random;
  /** Called for every refused request (no keys or account data, only the origin and the reason). */
  readonly onRefusal?: (status: number, reason: string) => void;
}

export interface RunningWitness {
  readonly name: string;
  readonly publicKey: Uint8Array;
  /** The cosigner verifier key (type 0x04), for clients and the server's kt.witnesses. */
  readonly verifierKey: string;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface WitnessState {
  seed: string;
  name: string;
  logs: Record<string, { size: number; root: string }>;
}

const MAX_BODY = 64 * 1024;
const MAX_PROOF_LINES = 63;

function loadState(file: string, random: Random, crypto: CryptoProvider, name: string | undefined): WitnessState {
  if (existsSync(file)) {
    try {
      const s = JSON.parse(readFileSync(file, 'utf8')) as WitnessState;
      if (typeof s.seed !== 'string' || typeof s.name !== 'string' || typeof s.logs !== 'object' || !s.logs) throw new Error('shape');
      if (base64Decode(s.seed).length !== 32) throw new Error('seed');
      return s;
    } catch {
      throw new DataDirError(`${file} is damaged; restore it from a backup (a new witness key must be given to the servers and clients that trust this witness)`);
    }
  }
  const seed = random(32);
  const state = { seed: base64Encode(seed), name: name ?? `sigilo-witness/${toHex(crypto.sha256(crypto.ed25519PublicKey(seed))).slice(0, 12)}`, logs: {} };
  saveState(file, state);
  return state;
}

function saveState(file: string, state: WitnessState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, file);
}

export type AddCheckpointAnswer = { status: number; body: string; contentType?: string };

/** The add-checkpoint decision (C2SP tlog-witness), synchronous: check, then record, then cosign. */
export function addCheckpoint(state: WitnessState, body: string, logs: WitnessOptions['logs'], crypto: CryptoProvider, now: number, persist: () => void): AddCheckpointAnswer {
  const bad = (status: number, reason: string): AddCheckpointAnswer => ({ status, body: `${reason}\n` });
  const blank = body.indexOf('\n\n');
  if (blank < 0) return bad(400, 'expected an old size line, proof lines, an empty line and a checkpoint');
  const head = body.slice(0, blank).split('\n');
  const noteText = body.slice(blank + 2);
  const m = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0] ?? '');
  if (!m) return bad(400, 'the first line must be "old <size>"');
  const old = Number(m[1]);
  const proofLines = head.slice(1);
  if (proofLines.length > MAX_PROOF_LINES) return bad(400, 'too many consistency proof lines');
  let proof: Uint8Array[];
  let note;
  let checkpoint;
  try {
    proof = proofLines.map((l) => base64Decode(l));
    note = parseNote(noteText);
    checkpoint = parseCheckpointText(note.text);
  } catch (e) {
    return bad(400, (e as Error).message);
  }
  const log = logs.find((l) => l.name === checkpoint.origin);
  if (!log) return bad(404, 'unknown log origin');
  if (!noteSignedBy(crypto, note, log.name, log.publicKey)) return bad(403, 'no signature by a trusted key of this log');
  if (old > checkpoint.size) return bad(400, 'the old size is larger than the checkpoint size');
  const known = state.logs[log.name];
  const knownSize = known?.size ?? 0;
  if (old !== knownSize) return { status: 409, body: `${knownSize}\n`, contentType: 'text/x.tlog.size' };
  if (old === checkpoint.size) {
    if (known && !bytesEqual(base64Decode(known.root), checkpoint.root)) return bad(409, 'same size as the cosigned checkpoint but another root hash');
  } else if (old === 0) {
    if (proof.length) return bad(422, 'the proof must be empty from size 0');
  } else {
    try {
      ktVerifyConsistency(crypto, old, checkpoint.size, base64Decode(known!.root), checkpoint.root, proof);
    } catch (e) {
      return bad(422, `the consistency proof does not verify: ${(e as Error).message}`);
    }
  }
  state.logs[log.name] = { size: checkpoint.size, root: base64Encode(checkpoint.root) };
  persist();
  const timestamp = Math.floor(now / 1000);
  return { status: 200, body: formatSignatureLine(cosignCheckpoint(crypto, note.text, state.name, base64Decode(state.seed), timestamp)) };
}

export async function startWitness(o: WitnessOptions): Promise<RunningWitness> {
  const crypto = o.crypto ?? nodeCrypto;
  const random = o.random ?? systemRandom;
  const now = o.now ?? Date.now;
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const file = join(o.dataDir, 'witness.json');
  const state = loadState(file, random, crypto, o.name);
  const publicKey = crypto.ed25519PublicKey(base64Decode(state.seed));
  const verifierKey = encodeVerifierKey(crypto, state.name, publicKey, COSIGNATURE_V1);

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/add-checkpoint') { res.writeHead(404).end('not found\n'); return; }
    if (req.method !== 'POST') { res.writeHead(405, { allow: 'POST' }).end('POST a checkpoint\n'); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { res.writeHead(413).end('request too large\n'); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      let answer: AddCheckpointAnswer;
      try {
        answer = addCheckpoint(state, Buffer.concat(chunks).toString('utf8'), o.logs, crypto, now(), () => saveState(file, state));
      } catch {
        answer = { status: 500, body: 'could not record the checkpoint\n' };
      }
      if (answer.status !== 200) o.onRefusal?.(answer.status, answer.body.trim());
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain; charset=utf-8' }).end(answer.body);
    });
    req.on('error', () => res.destroy());
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  }).catch((e: NodeJS.ErrnoException) => {
    throw new DataDirError(e.code === 'EADDRINUSE' ? `port ${o.port} on ${host} is already in use; choose another with --port` : `cannot listen on ${host}:${o.port} (${e.code ?? 'error'})`);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port ?? 0;
  return {
    name: state.name, publicKey, verifierKey, port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
