/** @sigilo/client: the SDK every Sigilo client (CLI, web) builds on. */
export { SigiloClient, PREKEY_BATCH, PQ_PREKEY_BATCH, TYPING_EXPIRY_MS, type ClientEvent, type ClientOptions, type ConnectionState } from './client.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { KeyTransparencyClient, type TransparencyAlert, type TransparencyOptions } from './transparency.js';
export { Connection, ServerRequestError, fetchJson, normaliseFingerprint, type ServerAddress } from './connection.js';
export { SqlCipherStore, deriveStoreKey } from './store/sqlcipher.js';
export type { ClientStore, ContactProfileRow, ContactRow, MessageRow, MessageStatus, OutboxRow, PreKeyKind } from './store/port.js';
export { Profiles, checkProfileName, MAX_PROFILE_NAME, MAX_AVATAR_BYTES, PROFILE_REFRESH_MS, type Profile } from './profiles.js';
export { Usernames, checkUsername, type DirectoryListing } from './usernames.js';
export { MAX_DEVICE_NAME_BYTES, normaliseDeviceName, encryptDeviceName, decryptDeviceName, deviceRemovedMessage } from './device-names.js';
export { base32, fromBase32, formatAccountId, parseAccountId, formatContactCard, parseContactCard, type ContactCard } from './ids.js';
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
export {
  BACKUP_CHUNK_SIZE, BACKUP_HEADER_LENGTH, DEFAULT_BACKUP_KDF, RECOVERY_CODE_DIGITS, BackupSealer, backupFrames, formatRecoveryCode, generateRecoveryCode,
  openBackupHeader, openBackupStream, parseRecoveryCode, portableScrypt, readBackup, writeBackup,
  type AttachmentFileSink, type BackupAttachmentFile, type BackupInput, type BackupKdfParams, type RestoredBackup, type ScryptFunction,
} from './backup.js';
export { recordGroupChanges } from './group-change-log.js';
export { PUSH_WAKE_UP, setPushSubscription, serverPushInfo, applicationServerKey, type PushSubscriptionKeys, type ServerPushInfo } from './push.js';
export { readServerPolicy, describeServerPolicy, durationWords, effectiveDisappearingTimer, type ServerPolicy } from './server-policy.js';
