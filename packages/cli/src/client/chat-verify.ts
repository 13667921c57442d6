/**
 * Verification inside `sigilo chat` (client.md §4.4, spec/trust.md §6): the SMP commands
 * `/verify QUESTION | ANSWER`, `/answer ANSWER` and `/verify` (where it stands), and the lines
 * the conversation shows for a question asked, its result, and the organisation revoking or
 * certifying the contact. The answer is never shown or sent: only compared, inside SMP.
 */
import type { ClientEvent, SigiloClient } from '@sigilo/client-node';
import { printable } from './format.js';
import { certificateSentence, certificateShort } from './org-status.js';

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export const VERIFY_HELP = '/verify QUESTION | ANSWER asks them a question only they can answer (SMP); /answer ANSWER answers theirs; /verify shows where it stands.';

/** What the chat should do with a line: show `line` in the conversation and/or `notice` in the status bar. */
export interface ChatOutput {
  readonly line?: string;
  readonly notice?: string;
}

export class ChatVerify {
  readonly #client: SigiloClient;
  readonly #peer: Uint8Array;
  readonly #name: string;
  /** The certificate state last shown, so a change (fetched, revoked, certified) shows once. */
  #shownCert: string;

  constructor(client: SigiloClient, peer: Uint8Array, name: string) {
    this.#client = client;
    this.#peer = peer;
    this.#name = name;
    this.#shownCert = this.titlePart();
  }

  /** `/verify …` and `/answer …`; resolves with what to show (errors included, as notices). */
  async command(text: string): Promise<ChatOutput> {
    const answer = /^\/answer(?:\s+([\s\S]*))?$/.exec(text);
    if (answer) {
      const value = answer[1]?.trim() ?? '';
      const question = this.#client.pendingSmpQuestion(this.#peer);
      if (question === undefined) return { notice: `${this.#name} has not asked you a verification question. To ask one: /verify QUESTION | ANSWER` };
      if (!value) return { notice: 'usage: /answer YOUR ANSWER' };
      try {
        await this.#client.answerSmp(this.#peer, value);
      } catch (e) {
        return { notice: `could not answer: ${(e as Error).message}` };
      }
      return { line: `-- you answered ${this.#name}'s verification question "${printable(question)}"; waiting for the result…` };
    }
    const rest = text.replace(/^\/verify\s*/, '');
    if (rest === '') return { notice: this.status() };
    const bar = rest.lastIndexOf('|');
    const question = bar < 0 ? '' : rest.slice(0, bar).trim();
    const mine = bar < 0 ? '' : rest.slice(bar + 1).trim();
    if (!question || !mine) return { notice: 'usage: /verify QUESTION | ANSWER (e.g. /verify Where did we first meet? | Lisbon)' };
    try {
      await this.#client.startSmp(this.#peer, question, mine);
    } catch (e) {
      return { notice: `could not start the verification: ${(e as Error).message}` };
    }
    return { line: `-- you asked ${this.#name} to verify: "${printable(question)}"; waiting for their answer…` };
  }

  /** Where verification stands, for `/verify` alone and the title. */
  status(): string {
    const pending = this.#client.pendingSmpQuestion(this.#peer);
    if (pending !== undefined) return `${this.#name} asks: "${printable(pending)}" — answer with /answer YOUR ANSWER`;
    const s = this.#client.smpStatus(this.#peer);
    const { trusted: verified, by } = this.#client.trusted(this.#peer);
    const cert = certificateSentence(this.#client.certificateStatus(this.#peer), this.#name, false);
    const smp = s.phase === 'idle' || s.phase === 'done' ? '' : `verification in progress (${s.phase}); `;
    const how = by === 'organisation' ? ' (by the organisation\'s certificate)' : '';
    return `${smp}${verified ? `${this.#name} is verified${how}` : `${this.#name} is not verified`}; ${cert}. ${VERIFY_HELP}`;
  }

  /** The certificate part of the title bar ('' without an organisation CA). */
  titlePart(): string {
    return certificateShort(this.#client.certificateStatus(this.#peer));
  }

  /** A line for the conversation when an SDK event concerns this contact's identity. */
  onEvent(e: ClientEvent): ChatOutput | undefined {
    switch (e.type) {
      case 'smp-question':
        if (!same(e.from, this.#peer)) return undefined;
        return { line: `-- ${this.#name} asks to verify: "${printable(e.question)}" — answer with /answer YOUR ANSWER`, notice: 'verification question: /answer YOUR ANSWER' };
      case 'smp-result':
        if (!same(e.from, this.#peer)) return undefined;
        if (e.failed) return { line: `-- verification with ${this.#name} FAILED: their side sent values that do not check (a cheat or a bug). Not verified; compare safety numbers (sigilo verify ${this.#name}).` };
        if (e.match) return { line: `-- verification with ${this.#name}: MATCH. ${this.#name} is now verified (and sees you as verified).` };
        return { line: `-- verification with ${this.#name}: NO MATCH${e.aborted ? ' (stopped)' : ''}. Not verified: the answers differ or someone is in between.` };
      case 'org-trust': {
        if (e.caChanged) return { notice: 'the server offered another organisation CA than the one this device trusts: tell your administrator' };
        const now = this.titlePart();
        const changed = now !== this.#shownCert;
        this.#shownCert = now;
        if (e.revoked.some((a) => same(a, this.#peer)) || (changed && now !== '')) {
          return { line: `-- ${certificateSentence(this.#client.certificateStatus(this.#peer), this.#name, false)}` };
        }
        return { notice: '' };
      }
      default:
        return undefined;
    }
  }
}
