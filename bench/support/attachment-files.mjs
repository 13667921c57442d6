// Files and process figures for bench/attachments.mjs: a deterministic pseudo-random source file
// written in a streaming fashion, a streaming SHA-256 of a file, a pinned HTTPS request to the
// benchmark server, and peak/current resident memory from /proc.
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:tls';

const MiB = 1024 * 1024;

/**
 * Writes `size` bytes of AES-256-CTR keystream under a fixed key (the same bytes on every run,
 * incompressible like a real media file) to `path`, 1 MiB at a time; resolves to its SHA-256 (hex).
 */
export async function writeSourceFile(path, size, onProgress = () => {}) {
  const key = createHash('sha256').update('sigilo bench attachment source').digest();
  const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  const hash = createHash('sha256');
  const file = await open(path, 'w', 0o600);
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(MiB, size - written);
      const block = stream.update(zeros.subarray(0, n));
      hash.update(block);
      await file.write(block, 0, n);
      written += n;
      onProgress(written);
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** SHA-256 (hex) of a file, read as a stream. */
export async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Memory of a process in KiB from /proc/<pid>/status (NaN when unreadable): peak and current
 * resident set, and the current resident set split into anonymous memory (heap, buffers: this
 * process's own) and file pages (the node binary and libraries, shared with other processes).
 */
export function memoryKiB(pid) {
  const field = (s, name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { hwm: field(s, 'VmHWM'), rss: field(s, 'VmRSS'), anon: field(s, 'RssAnon'), file: field(s, 'RssFile') };
  } catch {
    return { hwm: NaN, rss: NaN, anon: NaN, file: NaN };
  }
}

/** Samples memoryKiB of each named pid every `ms` until stop(), which returns the largest {rss, anon, file} seen per name. */
export function sampleMemory(pids, ms = 20) {
  const peak = Object.fromEntries(Object.keys(pids).map((k) => [k, { rss: 0, anon: 0, file: 0 }]));
  const take = () => {
    for (const [k, pid] of Object.entries(pids)) {
      const m = memoryKiB(pid);
      for (const f of ['rss', 'anon', 'file']) if (m[f] > peak[k][f]) peak[k][f] = m[f];
    }
  };
  take();
  const timer = setInterval(take, ms);
  return { stop() { clearInterval(timer); take(); return peak; } };
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (Linux clear_refs "5"); false when not allowed. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * One HTTP/1.1 request over a TLS connection to the benchmark server whose certificate
 * fingerprint is checked before anything is written (as the SDK pins it). Resolves to the
 * response (a readable stream) once its headers arrived; `send(req)` writes the body.
 */
export function pinnedRequest(wssUrl, fingerprint, { method, path, headers = {} }, send = (req) => req.end()) {
  const url = new URL(wssUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      if (socket.getPeerCertificate().fingerprint256 !== fingerprint) {
        socket.destroy();
        reject(new Error('the benchmark server certificate does not match its fingerprint'));
        return;
      }
      const req = request({ host: url.hostname, port: url.port, method, path, headers: { ...headers, connection: 'close' }, createConnection: () => socket });
      req.once('error', reject);
      req.once('response', resolve);
      send(req);
    });
  });
}
