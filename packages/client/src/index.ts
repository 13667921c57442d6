/**
 * @sigilo/client: the isomorphic SDK core every Sigilo client (CLI, web) builds on.
 * It imports no node:* module: I/O comes in through ports (ports.ts, store/port.ts);
 * @sigilo/client-node and @sigilo/client-web provide them.
 */
export { SigiloClient, PREKEY_BATCH, PQ_PREKEY_BATCH, TYPING_EXPIRY_MS, type ClientEvent, type ClientOptions, type ConnectionState } from './client.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { KeyTransparencyClient, type TransparencyAlert, type TransparencyOptions } from './transparency.js';
export { Connection, ServerRequestError, fetchJson, normaliseFingerprint, type ServerAddress } from './connection.js';
export type { ClientStore, ContactProfileRow, ContactRow, MessageNotice, MessageQuote, MessageRow, MessageStatus, OutboxRow, PreKeyKind, OwnSenderKeyRow, PendingGroupMessageRow, SenderKeyRow } from './store/port.js';
export type { AttachmentFiles, ByteSink, ByteSource, DownloadSink, FileInput, FrameConnection, HashStream, HttpRequest, HttpResponse, Transport, TransportFactory } from './ports.js';
export { Emitter } from './events.js';
export { prefetchAgreements, withAgreements, type AgreementCache, type AsyncAgreement } from './agreement-prefetch.js';
export { QUOTE_TEXT_MAX } from './quotes.js';
export { toHex, fromHex, toBase64, fromBase64 } from './bytes.js';
export { Profiles, checkProfileName, MAX_PROFILE_NAME, MAX_AVATAR_BYTES, PROFILE_REFRESH_MS, type Profile } from './profiles.js';
export { contactNames, setContactNickname, noteContactOrigin, givenName, freeAlias, type ContactNames } from './contact-names.js';
export { Usernames, checkUsername, type DirectoryListing } from './usernames.js';
export { MAX_DEVICE_NAME_BYTES, normaliseDeviceName, encryptDeviceName, decryptDeviceName, deviceRemovedMessage, accountRemovedMessage } from './device-names.js';
export { base32, fromBase32, formatAccountId, parseAccountId, formatContactCard, parseContactCard, type ContactCard } from './ids.js';
export { pad, unpad, PADDING_BLOCK } from './padding.js';
export { formatLinkCode, parseLinkCode, linkQrPayload } from './provisioning.js';
export {
  AttachmentError, INTEGRITY, MAX_FAILED_ATTEMPTS, safeFileName, prepareFile, attachmentUrlPath, THUMBNAIL_MAX_SOURCE,
  type AttachmentErrorReason, type AttachmentSlotInfo, type SendFileOptions, type DownloadOptions, type TransferOptions, type PreparedFile, type UploadHost,
} from './attachments.js';
export { uploadAttachment, fileExtras, UPLOAD_CHUNK } from './attachment-upload.js';
export { downloadAttachmentTo, checkPointer, type DownloadHost } from './attachment-download.js';
export { portableSha256 } from './attachment-transfer.js';
export { uploadStateKey, loadUploadState, type UploadState } from './upload-state.js';
export { decodeAttachments, encodeAttachments, type Attachment } from './media/pointer.js';
export { bufferSource, type Piece } from './media/source.js';
export { probeDurationMs } from './media/duration.js';
export { orientedSize, orientedSource } from './media/orientation.js';
export { GROUP_ID_LENGTH, checkGroupName, type GroupInfo, type GroupMemberInfo, type GroupChangeEvent } from './groups.js';
export type { GroupRow, GroupStatus, GroupChangeRecord } from './store/port.js';
export {
  BACKUP_CHUNK_SIZE, BACKUP_HEADER_LENGTH, DEFAULT_BACKUP_KDF, RECOVERY_CODE_DIGITS, BackupSealer, backupFrames, formatRecoveryCode, generateRecoveryCode,
  openBackupHeader, openBackupStream, parseRecoveryCode, portableScrypt, readBackup, writeBackup,
  type AttachmentFileSink, type BackupAttachmentFile, type BackupInput, type BackupKdfParams, type RestoredBackup, type ScryptFunction,
} from './backup.js';
export { recordGroupChanges, decodeGroupChange, encodeGroupChange } from './group-change-log.js';
export { PUSH_WAKE_UP, setPushSubscription, serverPushInfo, applicationServerKey, type PushSubscriptionKeys, type ServerPushInfo } from './push.js';
export { readServerPolicy, describeServerPolicy, policyFacts, durationWords, effectiveDisappearingTimer, ENGLISH_POLICY_WORDS, type PolicyWords, type ServerPolicy } from './server-policy.js';
// Disappearing messages (client.md §14): SigiloClient.setDisappearingTimer / disappearingTimer / expireMessages, events
// 'disappearing-timer' and 'expired'. Confidential mode (client.md §15): SigiloClient.setConfidential / confidential /
// wipeConfidential / listMessages (stored + in-memory rows), ClientOptions.confidential, events 'confidential' and
// 'confidential-wiped'.
export { MIN_DISAPPEARING_MS, MAX_DISAPPEARING_MS, EXPIRY_HINT_STEP_MS, parseTimer, formatTimer } from './disappearing.js';
export { MAX_CONFIDENTIAL_PER_CONVERSATION } from './confidential.js';
export type { CertificateStatus } from './org-trust/org-trust.js';
export { EXPECTED_ORG_CA_META, normaliseCaFingerprint } from './org-trust/org-trust.js';
export type { CertificationRequestResult, PendingCertification } from './org-trust/request.js';
export { parseCertificate, verifyCaCertificate, verifyIdentityCertificate, verifyCrl, bindsIdentityKey, caFingerprint, identityFingerprint, type Certificate, type Crl } from './org-trust/certificate.js';
