// The XMPP side of the server benchmark's load generator: a minimal client over plain TCP
// (RFC 6120/6121): stream open, in-band registration (XEP-0077), SASL PLAIN, resource binding,
// stream management (XEP-0198) so the client acknowledges what it receives as a real client
// does, initial presence, then <message type='chat'> stanzas with a 300-character body to the
// partner's bare JID. Only what Prosody sends back is parsed, and only as far as needed.
import { connect as netConnect } from 'node:net';

export const BODY_CHARS = 300;
const SM = 'urn:xmpp:sm:3';
const PAD = 'x'.repeat(BODY_CHARS);

const escapeXml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');

// Connections with stanzas waiting: written once per event-loop turn.
const dirty = [];
let flushScheduled = false;
function flushAll() {
  flushScheduled = false;
  for (const c of dirty.splice(0)) c.flush();
}

export class XmppDevice {
  index;
  user;
  password;
  /** The partner's bare JID (set by the benchmark). */
  peerJid;
  engine;
  socket;
  closed = false;
  #domain;
  #rx = '';
  #p = 0;
  #depth = 0;
  #elemStart = 0;
  #waiters = [];
  #h = 0;            // stanzas received since <enabled/> (XEP-0198 'h')
  #acked = 0;        // last h we reported
  #smEnabled = false;
  #ackRequested = false;
  #out = [];
  #dirty = false;

  constructor(index, domain) {
    this.index = index;
    this.#domain = domain;
    this.user = `u${index}`;
    this.password = `pw-${index}-bench`;
  }

  get jid() { return `${this.user}@${this.#domain}`; }

  /** Connects; registers in-band first when `register`; logs in, binds, enables SM, sends presence. */
  async connect({ port, localAddress, register = false, timeoutMs = 30_000 }) {
    const timer = setTimeout(() => this.socket?.destroy(new Error('XMPP login timed out')), timeoutMs);
    try {
      await new Promise((resolve, reject) => {
        this.socket = netConnect({ host: '127.0.0.1', port, localAddress }, resolve);
        this.socket.once('error', reject);
      });
      const s = this.socket;
      s.setNoDelay(true);
      s.setEncoding('latin1');
      s.on('data', (chunk) => this.#onData(chunk));
      s.on('error', () => {});
      s.on('close', () => {
        this.closed = true;
        for (const w of this.#waiters.splice(0)) w.reject(new Error('XMPP connection closed'));
        this.engine?.onClosed(this);
      });
      await this.#openStream();
      if (register) {
        const r = await this.#exchange(`<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>${this.user}</username>`
          + `<password>${escapeXml(this.password)}</password></query></iq>`, (el) => el.startsWith('<iq') && el.includes("id='reg'"));
        if (!r.includes("type='result'") && !r.includes('<conflict')) throw new Error(`registration refused: ${r.slice(0, 200)}`);
      }
      const auth = await this.#exchange(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`
        + `${Buffer.from(`\0${this.user}\0${this.password}`).toString('base64')}</auth>`, (el) => el.startsWith('<success') || el.startsWith('<failure'));
      if (!auth.startsWith('<success')) throw new Error(`authentication failed: ${auth.slice(0, 200)}`);
      await this.#openStream();
      const bound = await this.#exchange(`<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>`,
        (el) => el.startsWith('<iq') && el.includes("id='bind'"));
      if (!bound.includes("type='result'")) throw new Error(`bind failed: ${bound.slice(0, 200)}`);
      const enabled = await this.#exchange(`<enable xmlns='${SM}'/>`, (el) => el.startsWith('<enabled') || el.startsWith('<failed'));
      if (!enabled.startsWith('<enabled')) throw new Error(`stream management refused: ${enabled.slice(0, 200)}`);
      this.#smEnabled = true;
      this.socket.write('<presence/>');
    } finally {
      clearTimeout(timer);
    }
  }

  #openStream() {
    this.#depth = 0;
    return this.#exchange(`<?xml version='1.0'?><stream:stream to='${this.#domain}' xmlns='jabber:client' `
      + `xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`, (el) => el.startsWith('<stream:features'));
  }

  /** Writes `xml` and resolves with the first top-level element `match` accepts. */
  #exchange(xml, match) {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ match, resolve, reject });
      this.socket.write(xml);
    });
  }

  /** Splits the stream into top-level elements (children of <stream:stream>). */
  #onData(chunk) {
    const s = this.#rx.length ? this.#rx + chunk : chunk;
    let p = this.#p;
    let depth = this.#depth;
    let start = this.#elemStart;
    for (;;) {
      const lt = s.indexOf('<', p);
      if (lt < 0) { p = s.length; break; }
      const gt = s.indexOf('>', lt);
      if (gt < 0) { p = lt; break; }
      const c1 = s.charCodeAt(lt + 1);
      p = gt + 1;
      if (c1 === 63 /* ? */) continue;
      if (c1 === 47 /* / */) {
        depth--;
        if (depth === 1) { this.#depth = depth; this.#onElement(s.slice(start, p)); }
        else if (depth <= 0) { depth = 0; }
        continue;
      }
      if (depth === 0) { depth = 1; continue; } // <stream:stream ...>
      const selfClosing = s.charCodeAt(gt - 1) === 47;
      if (depth === 1) {
        start = lt;
        if (selfClosing) { this.#onElement(s.slice(lt, p)); continue; }
      }
      if (!selfClosing) depth++;
    }
    const keep = depth > 1 ? start : p;
    this.#rx = keep < s.length ? s.slice(keep) : '';
    this.#p = p - keep;
    this.#elemStart = depth > 1 ? 0 : start - keep;
    this.#depth = depth;
  }

  #onElement(el) {
    const c = el.charCodeAt(1);
    if (this.#smEnabled && (c === 109 /* m */ || c === 112 /* p */ || c === 105 /* i */) && (el.startsWith('<message') || el.startsWith('<presence') || el.startsWith('<iq'))) {
      this.#h++;
      this.#requestFlush();
    }
    if (c === 109 && el.startsWith('<message')) { this.#onMessage(el); return; }
    if (c === 114 /* r */ && el.startsWith('<r ')) { this.#ackRequested = true; this.#requestFlush(); return; }
    if (c === 97 /* a */ && el.startsWith('<a ')) return;
    const i = this.#waiters.findIndex((w) => w.match(el));
    if (i >= 0) this.#waiters.splice(i, 1)[0].resolve(el);
  }

  #onMessage(el) {
    const b = el.indexOf('<body>');
    const e = b < 0 ? -1 : el.indexOf('</body>', b);
    if (b < 0 || e < 0) { this.engine.onCorrupt(this); return; }
    const body = el.slice(b + 6, e);
    const d1 = body.indexOf('.');
    const d2 = body.indexOf('.', d1 + 1);
    const semi = body.indexOf(';', d2);
    const sender = Number(body.slice(0, d1));
    const seq = Number(body.slice(d1 + 1, d2));
    if (el.includes("type='error'")) { this.engine.onBounced(this, 'XMPP_ERROR'); return; }
    if (body.length !== BODY_CHARS || d1 < 0 || d2 < 0 || semi < 0) { this.engine.onCorrupt(this); return; }
    const time = Number(body.slice(d2 + 1, semi));
    this.engine.onDelivered(this, sender, seq, time);
  }

  /** A chat message to the partner; accepted by the server as soon as it is written (no per-message result in XMPP). */
  sendMessage(seq, timeMs) {
    const head = `${this.index}.${seq}.${timeMs.toFixed(3)};`;
    this.#out.push(`<message to='${this.peerJid}' type='chat' id='${this.index}-${seq}'><body>${head}${PAD.slice(head.length)}</body></message>`);
    this.#requestFlush();
    this.engine.onStored(this);
  }

  #requestFlush() {
    if (this.#dirty) return;
    this.#dirty = true;
    dirty.push(this);
    if (!flushScheduled) { flushScheduled = true; setImmediate(flushAll); }
  }

  /**
   * One write per turn: the messages, then an <a/> for what arrived. Senders do not add an <r/>
   * of their own (Prosody already asks with <r/> after the stanzas it sends; measured: an extra
   * <r/> per sender turn changed nothing at 1,000 devices).
   */
  flush() {
    this.#dirty = false;
    if (this.closed) { this.#out = []; return; }
    if (this.#smEnabled && (this.#ackRequested || this.#h !== this.#acked)) {
      this.#out.push(`<a xmlns='${SM}' h='${this.#h}'/>`);
      this.#acked = this.#h;
      this.#ackRequested = false;
    }
    if (this.#out.length === 0) return;
    const data = this.#out.length === 1 ? this.#out[0] : this.#out.join('');
    this.#out = [];
    this.socket.write(data, 'latin1');
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
  }
}
