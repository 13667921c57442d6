/**
 * Prometheus text exposition (format 0.0.4) for /metrics: counts, gauges and
 * latency histograms only; no label ever carries an identity.
 */

type Labels = Readonly<Record<string, string>>;
// Hot paths pass the same label objects again and again: render each once.
const rendered = new WeakMap<Labels, string>();
const labelText = (l: Labels | undefined) => {
  if (!l) return '';
  let text = rendered.get(l);
  if (text === undefined) {
    const entries = Object.entries(l);
    text = entries.length ? `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}` : '';
    rendered.set(l, text);
  }
  return text;
};

/** Interned label objects, so labelText's cache hits; by kind, then outcome (no key string built per call). */
const interned = new Map<string, Map<string, Labels>>();
export function labels(kind: string, outcome: string): Labels {
  let byOutcome = interned.get(kind);
  if (!byOutcome) interned.set(kind, (byOutcome = new Map()));
  let l = byOutcome.get(outcome);
  if (!l) byOutcome.set(outcome, (l = { kind, outcome }));
  return l;
}

export class Counter {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels?: Labels, by = 1): void {
    const k = labelText(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number { return this.#values.get(labelText(labels)) ?? 0; }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.#values) lines.push(`${this.name}${k} ${v}`);
    return lines.join('\n');
  }
}

export class Gauge {
  constructor(readonly name: string, readonly help: string, readonly read: () => number | Promise<number>, readonly labels?: Labels) {}
  async render(): Promise<string> {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name}${labelText(this.labels)} ${await this.read()}`;
  }
}

export class Histogram {
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.#counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.#counts[i]!++;
  }
  get count(): number { return this.#count; }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.#counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`, `${this.name}_sum ${this.#sum}`, `${this.name}_count ${this.#count}`);
    return lines.join('\n');
  }
}

const boundLabels = new Map<string, Labels>();

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DELIVERY_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400];

export class ServerMetrics {
  readonly messagesStored = new Counter('sigilo_messages_stored_total', 'Per-device messages durably queued');
  readonly messagesPushed = new Counter('sigilo_messages_pushed_total', 'Deliver frames sent to devices (including redeliveries)');
  readonly messagesDelivered = new Counter('sigilo_messages_delivered_total', 'Per-device messages acknowledged by their device and deleted');
  readonly messagesExpired = new Counter('sigilo_messages_expired_total', 'Undelivered messages deleted by retention');
  readonly sends = new Counter('sigilo_sends_total', 'Send requests by kind (identified, sealed) and outcome');
  readonly bundleFetches = new Counter('sigilo_prekey_bundles_served_total', 'Prekey bundles handed out');
  readonly preKeysLow = new Counter('sigilo_prekeys_low_notices_total', 'Low one-time prekey notices sent');
  readonly pushes = new Counter('sigilo_push_wakeups_total', 'Wake-up pushes by outcome (sent, refused, unreachable)');
  readonly errors = new Counter('sigilo_errors_total', 'Errors returned to clients, by code');
  readonly authentications = new Counter('sigilo_authentications_total', 'Authentication attempts by outcome');
  readonly registrations = new Counter('sigilo_registrations_total', 'Account registrations and device links by outcome');
  /** Requests and sockets refused by an abuse bound (spec/server.md §7, "Abuse bounds"): the bound's name only, never who. */
  readonly abuseRefusals = new Counter('sigilo_abuse_refusals_total', 'Requests and sockets refused or closed by an abuse bound, by bound');
  readonly sendLatency = new Histogram('sigilo_send_commit_seconds', 'Time from receiving a send to acknowledging it (after the durable commit)', LATENCY_BUCKETS);
  readonly deliveryLatency = new Histogram('sigilo_delivery_seconds', 'Time from queueing a message to its device acknowledging it', DELIVERY_BUCKETS);
  readonly commitBatch = new Histogram('sigilo_commit_batch_size', 'Sends per group commit', [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
  readonly multiRecipients = new Histogram('sigilo_multi_send_recipients', 'Recipient accounts per accepted multi-recipient sealed send', [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]);
  readonly #gauges: Gauge[] = [];

  /** Counts one refusal by `bound` (a fixed name such as 'registration_address'). */
  refused(bound: string): void {
    let l = boundLabels.get(bound);
    if (!l) boundLabels.set(bound, (l = { bound }));
    this.abuseRefusals.inc(l);
  }

  gauge(name: string, help: string, read: () => number | Promise<number>, labels?: Labels): void {
    this.#gauges.push(new Gauge(name, help, read, labels));
  }

  async render(): Promise<string> {
    const parts: string[] = [];
    for (const g of this.#gauges) parts.push(await g.render());
    for (const c of [this.messagesStored, this.messagesPushed, this.messagesDelivered, this.messagesExpired, this.sends, this.bundleFetches, this.preKeysLow, this.errors, this.authentications, this.registrations, this.pushes, this.abuseRefusals]) parts.push(c.render());
    for (const h of [this.sendLatency, this.deliveryLatency, this.commitBatch, this.multiRecipients]) parts.push(h.render());
    return `${parts.join('\n')}\n`;
  }
}
