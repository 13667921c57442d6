/**
 * The interactive conversation behind `sigilo chat NAME`. On a terminal it is a
 * full-screen view (screen.ts) with a readline input line; with stdin or stdout
 * not a terminal it reads lines and prints events as lines, for scripts.
 *
 * What the person sees maps onto SDK events: `message` (a new line), `status`
 * (the ticks of one's own line: ✓ sent, ✓✓ delivered, ✓✓ read), `typing`
 * ("NAME is typing…"), `connection` (the title bar). Typing in the input line
 * sends typing-started (again every TYPING_REFRESH_MS while typing goes on) and
 * typing-stopped after TYPING_IDLE_MS without a key, on an emptied line, and
 * after sending. Messages shown are marked read, so the sender sees ✓✓ read.
 */
import { createInterface, emitKeypressEvents, type Interface } from 'node:readline';
import { ClientError, formatAccountId, formatTimer, parseTimer, type ClientEvent, type ContactRow, type MessageRow, type SigiloClient } from '@sigilo/client-node';
import { ANSI, clock, messageLine, mutedText, printable, printableName, profileNameText, ticks } from './format.js';
import { groupChangeText } from './group-change-text.js';
import { personName } from './session.js';
import type { DeviceLeases } from './device-lease.js';
import { HandOver } from './hand-over.js';
import { ALT_SCREEN_OFF, ALT_SCREEN_ON, draw } from './screen.js';
import { ChatVerify, VERIFY_HELP, type ChatOutput } from './chat-verify.js';

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

const TYPING_IDLE_MS = 4_000;
const TYPING_REFRESH_MS = 10_000;
const HISTORY = 500;
const OFFLINE_REFRESH_MS = 1_000;

export interface ChatOptions {
  readonly client: SigiloClient;
  /** The contact of a 1:1 chat; undefined in a group. */
  readonly contact: ContactRow | undefined;
  /** A group chat: messages carry their author's name; /private NAME TEXT writes to one member. */
  readonly group?: { readonly groupId: Uint8Array; readonly name: string };
  readonly name: string;
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
  readonly stopSignal: Promise<string>;
  /** Full screen (both ends are terminals) or line mode. */
  readonly screen: boolean;
  /** The directory's leases: with them the chat hands the connection to other commands and takes it back (hand-over.ts). */
  readonly leases?: DeviceLeases;
  /** 1:1: confidential mode on while the chat is open (client.md §15), off (wiping both sides) when it ends. */
  readonly confidential?: boolean;
}

export class ChatSession {
  readonly #o: ChatOptions;
  readonly #conv: Uint8Array;
  #messages: MessageRow[] = [];
  #peerTyping = false;
  /** Group members typing now (hex account id → name). */
  readonly #typers = new Map<string, string>();
  #notice = '';
  #state = 'connecting';
  #rl: Interface | undefined;
  #typingSentAt = 0;
  #typingIdle: NodeJS.Timeout | undefined;
  #renderQueued = false;
  #closed = false;
  #done!: (code: number) => void;
  readonly #sends = new Set<Promise<unknown>>();
  readonly #printedOwn = new Set<string>();
  readonly #offs: (() => void)[] = [];
  #handOver: HandOver | undefined;
  /** SMP and the organisation's certificate of the contact (1:1 chats only). */
  readonly #verify: ChatVerify | undefined;
  /** Lines of this session that are no stored message (verification, revocation), shown in time order with the messages. */
  readonly #system: { at: number; text: string }[] = [];

  constructor(options: ChatOptions) {
    this.#o = options;
    this.#conv = options.group?.groupId ?? options.contact!.accountId;
    this.#verify = options.group ? undefined : new ChatVerify(options.client, this.#conv, options.name);
  }

  /** Runs until /quit, Ctrl-C, Ctrl-D (end of input) or a stop signal; resolves with the exit code. */
  async run(): Promise<number> {
    const { client, input, output, screen } = this.#o;
    const finished = new Promise<number>((resolve) => { this.#done = resolve; });
    this.#reload();
    if (screen) output.write(ALT_SCREEN_ON);
    else if (this.#o.group) this.#line(`Group ${this.#o.name}. Type a message and press Enter; /private NAME TEXT to one member; /quit to leave.`);
    else {
      this.#line(`Chat with ${this.#o.name}. Type a message and press Enter; /verify QUESTION | ANSWER to verify them; /quit to leave.`);
      const cert = this.#verify?.titlePart();
      if (cert) this.#line(`(${cert})`);
    }
    if (!screen) for (const m of this.#messages) this.#line(this.#lineOf(m, false));

    this.#offs.push(client.on((e) => this.#onEvent(e)));
    // A long-running screen must not die with a stack trace over one failed background step.
    const onRejection = (e: unknown) => this.#setNotice(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.on('unhandledRejection', onRejection);
    this.#offs.push(() => process.off('unhandledRejection', onRejection));
    if (this.#o.leases) {
      const handOver = new HandOver(client, this.#o.leases, {
        state: (text) => {
          if (text === this.#state) return;
          this.#state = text;
          if (!this.#o.screen) this.#line(`(${text})`);
          this.#render();
        },
        poll: () => this.#refreshFromStore(),
        notice: (text) => this.#setNotice(text),
      });
      this.#handOver = handOver;
      this.#offs.push(() => handOver.stop());
    }
    const connecting = (this.#handOver ? this.#handOver.start() : client.connect({ reconnect: true })).catch((e: Error) => {
      // Retried with backoff by the SDK; a wrong pin or revoked device will not get better.
      this.#setNotice(`cannot connect: ${e.message}`);
    });
    // In line mode input may be a script's whole text at once: read it once the first connection attempt is over.
    if (!screen || this.#o.confidential) await connecting;
    if (this.#o.confidential && !client.confidential(this.#conv)) {
      await client.setConfidential(this.#conv, true).then((row) => this.#shownOwn(row), (e: Error) => this.#setNotice(`confidential mode not switched on: ${e.message}`));
    }
    const rl = createInterface({ input, output, terminal: screen, prompt: screen ? '> ' : '', historySize: 100 });
    this.#rl = rl;
    rl.on('line', (line) => this.#onLine(line));
    rl.on('close', () => void this.#quit(0));
    rl.on('SIGINT', () => void this.#quit(0));
    void this.#o.stopSignal.then(() => this.#quit(0));
    if (screen) {
      emitKeypressEvents(input, rl);
      const onKey = () => setImmediate(() => this.#onKey());
      input.on('keypress', onKey);
      this.#offs.push(() => input.off('keypress', onKey));
      const onResize = () => this.#render();
      output.on('resize', onResize);
      this.#offs.push(() => output.off('resize', onResize));
    }
    // Not online (offline, or the connection lent to another command): other commands on this
    // directory may store messages for this conversation meanwhile (a `sigilo send` queued while
    // the server is down): show them. Online, events say what changed.
    const refresh = setInterval(() => { if (client.state !== 'online') this.#refreshFromStore(); }, OFFLINE_REFRESH_MS);
    this.#offs.push(() => clearInterval(refresh));
    this.#render();
    void this.#markShownRead();
    return finished;
  }

  // ------------------------------------------------------------------ events from the SDK

  #onEvent(e: ClientEvent): void {
    const shown = this.#verify?.onEvent(e);
    if (shown) {
      this.#show(shown);
      return;
    }
    if (e.type === 'org-trust' && e.revoked.length > 0 && this.#o.group) {
      let members: Set<string>;
      try {
        members = new Set(this.#o.client.group(this.#conv).members.map((m) => hexOf(m.accountId)));
      } catch {
        return; // the group is gone from this device
      }
      const hit = e.revoked.filter((a) => members.has(hexOf(a))).map((a) => this.#memberName(a));
      if (hit.length) this.#setNotice(`the organisation revoked the certificate of ${hit.join(', ')}: messages to them are held (sigilo verify NAME)`);
      return;
    }
    switch (e.type) {
      case 'message':
        if (!sameBytes(e.message.conversation, this.#conv)) {
          this.#otherConversation(e.message);
          return;
        }
        if (!e.message.outgoing) this.#peerTyping = false;
        if (!e.message.outgoing) this.#typers.delete(hexOf(e.message.author));
        this.#reload();
        // A confidential send comes back as this event while sendText runs: each own line prints once.
        if (!this.#o.screen) this.#lineOnce(e.message);
        if (!e.message.outgoing) void this.#markShownRead();
        this.#render();
        return;
      case 'status': {
        if (!sameBytes(e.conversation, this.#conv)) return;
        this.#reload();
        const m = this.#messages.find((x) => sameBytes(x.messageId, e.messageId));
        if (m?.outgoing && !m.notice && !this.#o.screen) this.#line(`  ${ticks(e.status)}: ${printable(m.text)}`);
        this.#render();
        return;
      }
      case 'typing':
        if (!sameBytes(e.conversation, this.#conv)) return;
        if (this.#o.group) {
          this.#groupTyping(e.from, e.started);
          return;
        }
        if (this.#peerTyping !== e.started && !this.#o.screen) this.#line(e.started ? `${this.#o.name} is typing…` : `${this.#o.name} stopped typing`);
        this.#peerTyping = e.started;
        this.#render();
        return;
      case 'deleted':
      case 'history-deleted':
      case 'expired':
      case 'confidential-wiped':
        if (!sameBytes(e.conversation, this.#conv)) return;
        this.#reload();
        if (!this.#o.screen) {
          this.#line(e.type === 'deleted' ? '(a message was deleted)' : e.type === 'expired' ? '(a message disappeared)'
            : e.type === 'confidential-wiped' ? '(the confidential messages were wiped)' : '(the history was deleted)');
        }
        this.#render();
        return;
      case 'group-update':
      case 'group-rejected':
        if (this.#o.group && e.groupId && sameBytes(e.groupId, this.#conv)) this.#groupEvent(e);
        return;
      case 'identity-changed':
        if (this.#o.group) {
          const name = this.#memberName(e.accountId);
          this.#setNotice(`${name}'s safety number changed: messages to ${name} are held. /quit and run: sigilo verify ${name}`);
          return;
        }
        if (sameBytes(e.accountId, this.#conv)) {
          this.#setNotice(`${this.#o.name}'s safety number changed: sending is blocked. /quit and run: sigilo verify ${this.#o.name}`);
        }
        return;
      case 'connection':
        // Replaced by another command of this directory: the hand-over shows who has the connection.
        if (e.state === 'offline' && this.#handOver?.paused) return;
        this.#state = e.state === 'offline' && e.retryInMs !== undefined ? `offline, retrying in ${Math.ceil(e.retryInMs / 1000)} s` : e.state;
        if (e.state === 'online' && this.#notice.startsWith('cannot connect')) this.#notice = '';
        // Names of members and of whoever writes: read their profiles once connected (cached, best effort).
        if (e.state === 'online') void this.#o.client.profiles.refresh().then((n) => { if (n > 0) this.#render(); }, () => {});
        // Back from a hand-over: what the other command stored (sent or received) is shown.
        if (e.state === 'online') this.#refreshFromStore();
        if (!this.#o.screen) this.#line(`(${this.#state})`);
        this.#render();
        return;
      case 'undecryptable':
        this.#setNotice(`a message could not be read (${e.reason})`);
        return;
      case 'kt-alert':
        this.#setNotice(`key transparency alert: ${e.reason}; tell your administrator`);
        return;
      default:
    }
  }

  #otherConversation(m: MessageRow): void {
    if (m.outgoing) return;
    if (m.conversation.length === 32) {
      const g = this.#o.client.store.getGroup(m.conversation);
      if (!g || g.mutedUntil > Date.now()) return;
      this.#setNotice(`new message in ${printableName(g.name)} (sigilo chat ${printableName(JSON.stringify(g.name))})`);
      return;
    }
    const c = this.#o.client.store.getContact(m.conversation);
    if (c && mutedText(c, Date.now())) return;
    const id = c?.alias ?? formatAccountId(m.conversation);
    const profile = c?.alias ? undefined : this.#o.client.profiles.nameOf(m.conversation);
    this.#setNotice(`new message from ${profile ? `~${profileNameText(profile)}` : id} (sigilo chat ${id})`);
  }

  // ------------------------------------------------------------------ input

  #onKey(): void {
    if (this.#closed) return;
    const line = this.#rl?.line ?? '';
    const typingText = line.length > 0 && !line.startsWith('/');
    if (typingText) {
      const now = Date.now();
      if (this.#typingSentAt === 0 || now - this.#typingSentAt > TYPING_REFRESH_MS) {
        this.#typingSentAt = now;
        void this.#o.client.typing(this.#conv, true).catch(() => {});
      }
      if (this.#typingIdle) clearTimeout(this.#typingIdle);
      this.#typingIdle = setTimeout(() => void this.#stopTyping(), TYPING_IDLE_MS);
    } else {
      void this.#stopTyping();
    }
  }

  async #stopTyping(): Promise<void> {
    if (this.#typingIdle) clearTimeout(this.#typingIdle);
    this.#typingIdle = undefined;
    if (this.#typingSentAt === 0) return;
    this.#typingSentAt = 0;
    await this.#o.client.typing(this.#conv, false).catch(() => {});
  }

  #onLine(raw: string): void {
    const text = raw.trim();
    if (text === '') {
      this.#render();
      return;
    }
    if (text.startsWith('/')) {
      this.#command(text);
      return;
    }
    void this.#stopTyping();
    this.#notice = '';
    let sending: Promise<unknown>;
    try {
      // The row is stored as pending synchronously; the send itself finishes later.
      sending = this.#o.client.sendText(this.#conv, raw).catch((e: unknown) => this.#sendFailed(e));
    } catch (e) {
      this.#sendFailed(e);
      return;
    }
    this.#sends.add(sending);
    void sending.finally(() => { this.#sends.delete(sending); this.#reload(); this.#render(); });
    this.#reload();
    if (!this.#o.screen) {
      const mine = this.#messages.filter((m) => m.outgoing).at(-1);
      if (mine) this.#lineOnce(mine);
    }
    this.#render();
  }

  /** A notice this side made (a timer, confidential mode): on the screen, or as a line. */
  #shownOwn(row: MessageRow): void {
    this.#reload();
    if (!this.#o.screen) this.#line(this.#lineOf(row, false));
    this.#render();
  }

  #sendFailed(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    const held = e instanceof ClientError && (e.code === 'IDENTITY_CHANGED' || e.code === 'CONFIDENTIAL_OFFLINE' || e.code === 'CERTIFICATE_REVOKED');
    this.#setNotice(held ? `not sent: ${message}` : `not sent yet (${message}); it stays in the outbox`);
  }

  #command(text: string): void {
    const [cmd] = text.split(/\s+/);
    switch (cmd) {
      case '/quit':
      case '/exit':
      case '/q':
        void this.#quit(0);
        return;
      case '/help':
        this.#setNotice(this.#o.group
          ? 'Enter sends to the group. /private NAME TEXT (or /p) to one member only. /members lists them. /quit leaves. Ticks: ✓ sent, ✓✓ delivered to all, ✓✓ read by all.'
          : `Enter sends. /disappear 1d (or off) sets the timer. ${VERIFY_HELP} /quit leaves. Ticks: ✓ sent, ✓✓ delivered, ✓✓ read.`);
        return;
      case '/verify':
      case '/answer': {
        const verify = this.#verify;
        if (!verify) {
          this.#setNotice(`${cmd} is for 1:1 chats: open one with sigilo chat NAME`);
          return;
        }
        void verify.command(text).then((out) => this.#show(out));
        return;
      }
      case '/private':
      case '/p':
        this.#privateReply(text);
        return;
      case '/members':
        this.#showMembers();
        return;
      case '/disappear': {
        const arg = text.split(/\s+/)[1] ?? '';
        let ms: number;
        try { ms = parseTimer(arg); } catch { this.#setNotice('/disappear 30s … 4w, or off (e.g. /disappear 1d)'); return; }
        void this.#o.client.setDisappearingTimer(this.#conv, ms).then((row) => this.#shownOwn(row), (e: Error) => this.#setNotice(`timer not set: ${e.message}`));
        return;
      }
      default:
        this.#setNotice(`unknown command ${cmd}: /help lists them`);
    }
  }

  // ------------------------------------------------------------------ groups

  /** A member's name: the contact's alias, else "~" and the name from their profile, else the start of the account id. */
  #memberName(accountId: Uint8Array): string {
    const me = this.#o.client.accountId;
    if (me && sameBytes(me, accountId)) return 'me';
    const alias = this.#o.client.store.getContact(accountId)?.alias;
    if (alias) return alias;
    const profile = this.#o.client.profiles.nameOf(accountId);
    return profile ? `~${profileNameText(profile)}` : formatAccountId(accountId).slice(0, 8);
  }

  /** A message as a line; in a group with its author's name, and private ones marked. */
  #lineOf(m: MessageRow, colour: boolean): string {
    if (m.groupChange) {
      const text = `-- ${groupChangeText(m.groupChange, (id) => personName(this.#o.client, id))}`;
      return `${clock(m.timestamp)} ${colour ? ANSI.dim(text) : text}`;
    }
    if (!this.#o.group) return messageLine(m, this.#o.name, colour);
    const line = messageLine(m, this.#memberName(m.author), colour);
    if (!m.privateWith) return line;
    const mark = m.outgoing ? `[private to ${this.#memberName(m.privateWith)}]` : '[private]';
    // After the clock ("HH:MM "): the mark comes before the author.
    return `${line.slice(0, 6)}${colour ? ANSI.yellow(mark) : mark} ${line.slice(6)}`;
  }

  #groupTyping(from: Uint8Array | undefined, started: boolean): void {
    if (!from) return;
    const key = hexOf(from);
    const name = this.#memberName(from);
    const was = this.#typers.has(key);
    if (started) this.#typers.set(key, name);
    else this.#typers.delete(key);
    if (was !== started && !this.#o.screen) this.#line(started ? `${name} is typing…` : `${name} stopped typing`);
    this.#render();
  }

  #groupEvent(e: Extract<ClientEvent, { type: 'group-update' | 'group-rejected' }>): void {
    if (e.type === 'group-rejected') {
      this.#setNotice(`refused: ${e.reason}`);
      return;
    }
    // The SDK stored the changes in the conversation before this event (client.md §12): they show as lines.
    const before = new Set(this.#messages.map((m) => hexOf(m.messageId)));
    this.#reload();
    if (!this.#o.screen) {
      for (const m of this.#messages) if (m.groupChange && !before.has(hexOf(m.messageId))) this.#line(this.#lineOf(m, false));
    }
    for (const m of this.#messages) {
      if (m.groupChange && !m.outgoing && m.status !== 'read') this.#o.client.store.setMessageStatus(m.conversation, m.messageId, 'read');
    }
    this.#render();
  }

  #privateReply(text: string): void {
    if (!this.#o.group) {
      this.#setNotice('/private is for group chats: this chat is already private');
      return;
    }
    const m = /^\/(?:private|p)\s+(\S+)\s+([\s\S]+)$/.exec(text);
    if (!m) {
      this.#setNotice('usage: /private NAME TEXT (or /p NAME TEXT)');
      return;
    }
    const [, name, body] = m;
    let to: Uint8Array;
    try {
      to = this.#o.client.resolveContact(name!).accountId;
    } catch (e) {
      this.#setNotice(e instanceof Error ? e.message : String(e));
      return;
    }
    this.#notice = '';
    let sending: Promise<unknown>;
    try {
      sending = this.#o.client.sendPrivateInGroup(this.#conv, to, body!).catch((e: unknown) => this.#sendFailed(e));
    } catch (e) {
      this.#sendFailed(e);
      return;
    }
    this.#sends.add(sending);
    void sending.finally(() => { this.#sends.delete(sending); this.#reload(); this.#render(); });
    // The row is stored before the promise settles; show it when it is there.
    void Promise.resolve().then(() => {
      this.#reload();
      const mine = this.#messages.filter((x) => x.outgoing && x.privateWith).at(-1);
      if (mine && !this.#o.screen) this.#line(this.#lineOf(mine, false));
      this.#render();
    });
  }

  #showMembers(): void {
    if (!this.#o.group) {
      this.#setNotice('/members is for group chats');
      return;
    }
    try {
      const g = this.#o.client.group(this.#conv);
      this.#setNotice(`members: ${g.members.map((m) => `${this.#memberName(m.accountId)}${m.role === 'admin' ? ' (admin)' : ''}`).join(', ')}`);
    } catch (e) {
      this.#setNotice(e instanceof Error ? e.message : String(e));
    }
  }

  // ------------------------------------------------------------------ display

  /** While another command has the connection: what it received or sent for this conversation shows here too. */
  #refreshFromStore(): void {
    const known = new Map(this.#messages.map((m) => [hexOf(m.messageId), m.status]));
    this.#reload();
    let changed = known.size !== this.#messages.length;
    for (const m of this.#messages) {
      const was = known.get(hexOf(m.messageId));
      if (was === m.status) continue;
      changed = true;
      if (this.#o.screen) continue;
      if (was === undefined) this.#line(this.#lineOf(m, false));
      else if (m.outgoing && !m.groupChange && !m.notice) this.#line(`  ${ticks(m.status)}: ${printable(m.text)}`);
    }
    if (changed) this.#render();
  }

  #reload(): void {
    // Stored and confidential (in-memory) messages; expired ones are removed first (client.md §14, §15).
    this.#messages = this.#o.client.listMessages(this.#conv, HISTORY);
  }

  /** Everything from the contact on screen is read: tell them (read receipt) and this person's other devices. */
  async #markShownRead(): Promise<void> {
    // Group changes on screen are seen: marked here only (no receipt: they are nobody's message).
    for (const m of this.#messages) if (m.groupChange && !m.outgoing && m.status !== 'read') this.#o.client.store.setMessageStatus(m.conversation, m.messageId, 'read');
    const unread = this.#messages.filter((m) => !m.outgoing && m.status !== 'read' && !m.deleted && !m.groupChange).map((m) => m.messageId);
    if (unread.length === 0) return;
    await this.#o.client.markRead(this.#conv, unread).catch((e: Error) => this.#setNotice(`could not mark read: ${e.message}`));
  }

  /** A verification or certificate line in the conversation (and/or a notice). */
  #show(out: ChatOutput): void {
    if (out.line) {
      const at = Date.now();
      this.#system.push({ at, text: out.line });
      if (!this.#o.screen) this.#line(`${clock(at)} ${out.line}`);
    }
    if (out.notice) this.#setNotice(out.notice);
    else this.#render();
  }

  #setNotice(text: string): void {
    this.#notice = text;
    if (!this.#o.screen) this.#line(`! ${text}`);
    this.#render();
  }

  /** A message as a line, an own message only the first time (its send and its event may both show it). */
  #lineOnce(m: MessageRow): void {
    if (m.outgoing) {
      const id = hexOf(m.messageId);
      if (this.#printedOwn.has(id)) return;
      this.#printedOwn.add(id);
    }
    this.#line(this.#lineOf(m, false));
  }

  #line(text: string): void {
    this.#o.output.write(`${text}\n`);
  }

  #render(): void {
    if (!this.#o.screen || this.#closed || this.#renderQueued) return;
    this.#renderQueued = true;
    setImmediate(() => {
      this.#renderQueued = false;
      if (this.#closed) return;
      const { output } = this.#o;
      const typers = [...this.#typers.values()];
      const status = typers.length ? ANSI.dim(`${typers.join(', ')} ${typers.length === 1 ? 'is' : 'are'} typing…`)
        : this.#peerTyping ? ANSI.dim(`${this.#o.name} is typing…`) : this.#notice ? ANSI.yellow(this.#notice) : '';
      const c = this.#o.client.store.getContact(this.#conv);
      const muted = c ? mutedText(c, Date.now()) : undefined;
      const timer = this.#o.client.disappearingTimer(this.#conv);
      const privacy = `${timer > 0 ? ` · ⏱ ${formatTimer(timer)}` : ''}${!this.#o.group && this.#o.client.confidential(this.#conv) ? ' · confidential' : ''}`;
      const cert = this.#verify?.titlePart();
      const title = ` Sigilo · ${this.#o.name}${cert ? ` (${cert})` : ''}${muted ? ` (${muted})` : ''}${privacy} · ${this.#state} · /quit to leave`;
      const lines = [...this.#messages.map((m) => ({ at: m.timestamp, text: this.#lineOf(m, true) })),
        ...this.#system.map((l) => ({ at: l.at, text: `${clock(l.at)} ${ANSI.dim(l.text)}` }))].sort((a, b) => a.at - b.at).map((l) => l.text);
      output.write(draw({ title, lines, status }, output.rows || 24, output.columns || 80));
      this.#rl?.prompt(true);
    });
  }

  async #quit(code: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopTyping();
    // Let sends started from the input finish (they are in the outbox either way).
    await Promise.race([
      Promise.allSettled([...this.#sends]).then(() => (this.#o.client.state === 'online' ? this.#o.client.flush() : undefined)),
      new Promise((r) => setTimeout(r, 5_000).unref()),
    ]).catch(() => {});
    if (this.#o.confidential && this.#o.client.confidential(this.#conv)) {
      // Leaving the chat leaves the mode: both sides wipe its messages.
      await this.#o.client.setConfidential(this.#conv, false).catch((e: Error) => this.#setNotice(`confidential mode still on: ${e.message}`));
    }
    for (const off of this.#offs) off();
    this.#rl?.close();
    if (this.#o.screen) this.#o.output.write(ALT_SCREEN_OFF);
    this.#done(code);
  }
}
