// The workload of the server benchmark, independent of the protocol: devices in pairs (0<->1,
// 2<->3, ...) send ~300-byte messages to their partner, either saturated (each device keeps
// `window` messages in flight until its partner has received them) or open loop (a fixed total
// rate, senders taken in turn, latency counted from the scheduled send time). Every message
// carries its sender, a per-sender sequence number and its send time, so the receiving side
// checks that each stored message arrives exactly once, in order, at the right device.
//
// A device object provides: index, sendMessage(seq, timeMs), close(). It calls back
// onDelivered(device, senderIndex, seq, timeMs), onStored(device), onSendError(device, code),
// onCorrupt(device), onClosed(device).

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Growable array of samples (ms) with percentiles. */
class Samples {
  a = new Float64Array(1 << 14);
  n = 0;
  add(v) {
    if (this.n === this.a.length) { const g = new Float64Array(this.n * 2); g.set(this.a); this.a = g; }
    this.a[this.n++] = v;
  }
  summary() {
    const s = this.a.slice(0, this.n).sort();
    return { n: this.n, p50: percentile(s, 0.5), p90: percentile(s, 0.9), p99: percentile(s, 0.99), max: s.length ? s[s.length - 1] : NaN };
  }
}

/**
 * Where an open-loop message's time goes, seen from the load generator (set engine.trace = new LatencyTrace()):
 * `lag` scheduled -> written to the socket (the generator's own delay: timers, a busy event loop), `answer` written ->
 * SendResult read, `receive` written -> Deliver read by the partner, `total` scheduled -> Deliver read (the benchmark's
 * figure). Samples are taken while the engine measures; the write times of all traced sends are kept until received.
 */
export class LatencyTrace {
  /** Sends are traced (open loop); `on`: samples are kept (the measured window). */
  armed = false;
  on = false;
  #writtenAt = new Map();
  lag = new Samples(); answer = new Samples(); receive = new Samples(); total = new Samples();
  /** Per 100 ms of the window: the largest `total` of the messages received in it, and the server's pings received in it. */
  #t0 = 0;
  slots = { worst: [], count: [], pings: [] };
  reset() {
    this.lag = new Samples(); this.answer = new Samples(); this.receive = new Samples(); this.total = new Samples();
    this.#t0 = performance.now();
    this.slots = { worst: [], count: [], pings: [] };
  }
  #slot(now) { return Math.floor((now - this.#t0) / 100); }
  /** A ping from the server arrived (heartbeat). */
  pinged(now) { if (this.on) { const i = this.#slot(now); this.slots.pings[i] = (this.slots.pings[i] ?? 0) + 1; } }
  written(sender, seq, sched, now) {
    this.#writtenAt.set(sender * 2 ** 32 + seq, now);
    if (this.on) this.lag.add(now - sched);
  }
  answered(sched, written, now) { if (this.on) this.answer.add(now - written); }
  delivered(sender, seq, sched, now) {
    const key = sender * 2 ** 32 + seq;
    const w = this.#writtenAt.get(key);
    if (w === undefined) return;
    this.#writtenAt.delete(key);
    if (this.on) {
      this.receive.add(now - w);
      this.total.add(now - sched);
      const i = this.#slot(now);
      const sl = this.slots;
      sl.worst[i] = Math.max(sl.worst[i] ?? 0, now - sched);
      sl.count[i] = (sl.count[i] ?? 0) + 1;
    }
  }
  summary() { return { lag: this.lag.summary(), answer: this.answer.summary(), receive: this.receive.summary(), total: this.total.summary() }; }
}

export class LoadEngine {
  devices;
  /** Optional LatencyTrace (open loop only: the devices note when each send was written and answered). */
  trace;
  #n;
  #seqOut; #stored; #received; #nextExpected; #inflight;
  totals = { sent: 0, stored: 0, failed: 0, delivered: 0, outOfOrder: 0, gaps: 0, corrupt: 0, misrouted: 0, closed: 0 };
  errors = new Map();
  #mode = 'idle';
  #window = 1;
  #running = false;
  #measuring = false;
  #win = { delivered: 0, failed: 0, latency: new Float64Array(1 << 16), count: 0 };

  constructor(devices) {
    this.devices = devices;
    const n = (this.#n = devices.length);
    if (n % 2 !== 0) throw new Error('the workload needs an even number of devices (pairs)');
    this.#seqOut = new Uint32Array(n);
    this.#stored = new Uint32Array(n);
    this.#received = new Uint32Array(n);
    this.#nextExpected = new Uint32Array(n);
    this.#inflight = new Int32Array(n);
    for (const d of devices) d.engine = this;
  }

  static partnerOf(i) { return i ^ 1; }

  #send(i, t) {
    const seq = this.#seqOut[i]++;
    this.#inflight[i]++;
    this.totals.sent++;
    this.devices[i].sendMessage(seq, t);
  }

  onDelivered(device, sender, seq, t) {
    const now = performance.now();
    const r = device.index;
    const tot = this.totals;
    if (sender !== (r ^ 1) || sender >= this.#n) { tot.misrouted++; return; }
    this.#received[r]++;
    tot.delivered++;
    const expected = this.#nextExpected[r];
    if (seq === expected) this.#nextExpected[r] = expected + 1;
    else if (seq < expected) tot.outOfOrder++;
    else { tot.gaps += seq - expected; this.#nextExpected[r] = seq + 1; }
    if (this.#measuring) {
      const w = this.#win;
      w.delivered++;
      if (w.count === w.latency.length) { const grown = new Float64Array(w.count * 2); grown.set(w.latency); w.latency = grown; }
      w.latency[w.count++] = now - t;
    }
    if (this.trace && this.#mode === 'open') this.trace.delivered(sender, seq, t, now);
    this.#inflight[sender]--;
    if (this.#running && this.#mode === 'saturate') this.#send(sender, now);
  }

  onStored(device) { this.#stored[device.index]++; this.totals.stored++; }

  onSendError(device, code) {
    const i = device.index;
    this.totals.failed++;
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    if (this.#measuring) this.#win.failed++;
    this.#inflight[i]--;
    if (this.#running && this.#mode === 'saturate') {
      setTimeout(() => { if (this.#running) this.#send(i, performance.now()); }, code === 'RATE_LIMITED' ? 20 : 1);
    }
  }

  /** A message the server had accepted came back as an error (XMPP): not stored after all. */
  onBounced(device, code) {
    this.#stored[device.index]--;
    this.totals.stored--;
    this.onSendError(device, code);
  }

  onPushError(device, code) { this.errors.set(`push ${code}`, (this.errors.get(`push ${code}`) ?? 0) + 1); }
  onCorrupt() { this.totals.corrupt++; }
  onClosed() { if (this.#running) this.totals.closed++; }

  #startWindow() {
    this.#win = { delivered: 0, failed: 0, latency: this.#win.latency, count: 0 };
    this.#measuring = true;
    if (this.trace) { this.trace.reset(); this.trace.on = this.#mode === 'open'; }
    return performance.now();
  }

  #endWindow(t0) {
    this.#measuring = false;
    if (this.trace) this.trace.on = false;
    const seconds = (performance.now() - t0) / 1000;
    const w = this.#win;
    const lat = w.latency.slice(0, w.count).sort();
    return {
      seconds,
      delivered: w.delivered,
      failed: w.failed,
      rate: w.delivered / seconds,
      p50: percentile(lat, 0.5),
      p99: percentile(lat, 0.99),
      max: lat.length ? lat[lat.length - 1] : NaN,
    };
  }

  /**
   * Saturated: every device keeps `window` messages in flight. `during(phase)` is called with
   * 'start' / 'end' around the measured window (for CPU and memory sampling).
   */
  async saturate({ window, warmup, seconds, during = () => {} }) {
    this.#mode = 'saturate';
    this.#window = window;
    this.#running = true;
    const now = performance.now();
    for (let w = 0; w < window; w++) for (let i = 0; i < this.#n; i++) this.#send(i, now);
    await sleep(warmup * 1000);
    during('start');
    const t0 = this.#startWindow();
    await sleep(seconds * 1000);
    const result = this.#endWindow(t0);
    during('end');
    this.#running = false;
    result.drain = await this.drain();
    return result;
  }

  /** Open loop at `rate` messages/s in total, senders in turn; latency from the scheduled time. */
  async openLoop({ rate, warmup, seconds, during = () => {} }) {
    this.#mode = 'open';
    this.#running = true;
    if (this.trace) this.trace.armed = true;
    const t0 = performance.now();
    let k = 0;
    let next = 0;
    const n = this.#n;
    let timer;
    const tick = () => {
      if (!this.#running) return;
      const due = Math.floor(((performance.now() - t0) * rate) / 1000) + 1; // message k is due at t0 + k/rate
      while (k < due) {
        this.#send(next, t0 + (k * 1000) / rate);
        next = next + 1 === n ? 0 : next + 1;
        k++;
      }
      timer = setTimeout(tick, 1);
    };
    tick();
    await sleep(warmup * 1000);
    during('start');
    const w0 = this.#startWindow();
    await sleep(seconds * 1000);
    const result = this.#endWindow(w0);
    during('end');
    this.#running = false;
    clearTimeout(timer);
    result.offered = rate;
    result.drain = await this.drain();
    if (this.trace) this.trace.armed = false;
    return result;
  }

  /** Waits until every send was answered and every stored message arrived (or timeoutMs passed). */
  async drain(timeoutMs = 60_000) {
    const t0 = performance.now();
    const tot = this.totals;
    for (;;) {
      const answered = tot.stored + tot.failed >= tot.sent;
      const arrived = tot.delivered + tot.misrouted + tot.corrupt >= tot.stored;
      if (answered && arrived) return { ok: true, ms: performance.now() - t0 };
      if (performance.now() - t0 > timeoutMs) {
        return { ok: false, ms: performance.now() - t0, unanswered: tot.sent - tot.stored - tot.failed, missing: tot.stored - tot.delivered };
      }
      await sleep(20);
    }
  }

  /**
   * After a drain: every message the server accepted reached the partner exactly once.
   * Returns a list of problems (empty when everything checks out).
   */
  verify() {
    const problems = [];
    const t = this.totals;
    let pairMismatch = 0;
    for (let r = 0; r < this.#n; r++) if (this.#received[r] !== this.#stored[r ^ 1]) pairMismatch++;
    if (t.delivered !== t.stored) problems.push(`${t.stored} messages stored but ${t.delivered} delivered`);
    if (pairMismatch) problems.push(`${pairMismatch} devices received a different number of messages than their partner had stored`);
    if (t.outOfOrder) problems.push(`${t.outOfOrder} messages arrived twice or out of order`);
    if (t.gaps > t.failed) problems.push(`${t.gaps - t.failed} sequence numbers skipped beyond the ${t.failed} refused sends`);
    if (t.corrupt) problems.push(`${t.corrupt} messages arrived with wrong contents`);
    if (t.misrouted) problems.push(`${t.misrouted} messages arrived at the wrong device`);
    if (t.closed) problems.push(`${t.closed} connections closed during the run`);
    return problems;
  }
}
