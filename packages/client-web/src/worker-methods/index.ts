/**
 * The Worker's method table: one file per concept, each `(ctx) => ({ …methods })`.
 * To add methods, write worker-methods/<concept>.ts and add it to FILES below;
 * the page's typed client (`SigiloWorkerClient.call`) picks them up from the types.
 */
import type { HostContext, MethodFile } from './context.js';
import { attachmentMethods } from './attachments.js';
import { contactMethods } from './contacts.js';
import { messageMethods } from './messages.js';
import { sessionMethods } from './session.js';
import { settingsMethods } from './settings.js';
import { privacyMethods } from './privacy.js';
import { groupMethods } from './groups.js';
import { trustMethods } from './trust.js';
import { pushMethods } from './push.js';

/** Attachments (attachments.ts) take the engine and a way to post progress rather than the whole context. */
const attachmentFile = (ctx: HostContext) => attachmentMethods(() => ctx.need(), (m) => ctx.post(m));

const FILES = [sessionMethods, messageMethods, contactMethods, settingsMethods, privacyMethods, attachmentFile, groupMethods, trustMethods, pushMethods] as const;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every method the Worker answers, with its arguments and result (possibly a Promise). */
export type WorkerMethods = UnionToIntersection<ReturnType<(typeof FILES)[number]>>;

/** The table the Worker answers from; `files` is for tests (default: every method file). */
export function methodTable(ctx: HostContext, files: readonly MethodFile[] = FILES): Record<string, (...args: unknown[]) => unknown> {
  const table: Record<string, (...args: unknown[]) => unknown> = Object.create(null);
  for (const file of files) {
    for (const [name, fn] of Object.entries(file(ctx))) {
      if (name in table) throw new Error(`worker method "${name}" is defined twice`);
      table[name] = fn as (...args: unknown[]) => unknown;
    }
  }
  return table;
}

export type { ConversationSummary, PageMessage } from './messages.js';
export type { ContactCertificate, OrgTrustView } from './trust.js';
export type { DeviceSummary } from './settings.js';
export type { PushOffer } from './push.js';
export { HostError, type HostContext } from './context.js';
