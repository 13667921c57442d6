/** @sigilo/client: the SDK every Sigilo client (CLI, web) builds on. */
export { SigiloClient, PREKEY_BATCH, PQ_PREKEY_BATCH, TYPING_EXPIRY_MS, type ClientEvent, type ClientOptions, type ConnectionState } from './client.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { Connection, ServerRequestError, fetchJson, normaliseFingerprint, type ServerAddress } from './connection.js';
export { SqlCipherStore, deriveStoreKey } from './store/sqlcipher.js';
export type { ClientStore, ContactRow, MessageRow, MessageStatus, OutboxRow, PreKeyKind } from './store/port.js';
export { base32, fromBase32, formatAccountId, parseAccountId, formatContactCard, parseContactCard } from './ids.js';
export { pad, unpad, PADDING_BLOCK } from './padding.js';
export { formatLinkCode, parseLinkCode, linkQrPayload } from './provisioning.js';
export {
  AttachmentError, safeFileName, partPath, prepareFile, hasPendingUpload, THUMBNAIL_MAX_SOURCE,
  type AttachmentErrorReason, type SendFileOptions, type DownloadOptions, type TransferOptions, type PreparedFile,
} from './attachments.js';
export type { Attachment } from './media/pointer.js';
export { fileSource, bufferSource, type ByteSource } from './media/source.js';
export { GROUP_ID_LENGTH, checkGroupName, type GroupInfo, type GroupMemberInfo, type GroupChangeEvent } from './groups.js';
export type { GroupRow, GroupStatus, GroupChangeRecord } from './store/port.js';
export { recordGroupChanges } from './group-change-log.js';
