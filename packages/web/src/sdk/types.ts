/** Types shared with the Worker (type-only imports: nothing of the SDK's code enters the page bundle). */
export type { ClientEvent, ContactRow, MessageRow, MessageStatus } from '@sigilo/client';
export type { ConversationSummary } from '@sigilo/client-web';
