/** @sigilo/client-web: the browser adapters of the Sigilo client SDK (client.md §7.1–7.3). */
export { IndexedDbStore, deleteStore, localStorageMarker, storeDatabaseName, type EvictionMarker, type OpenOptions, type OpenReport } from './store.js';
export { DEFAULT_KDF, type KdfParams } from './store-keys.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export type { ByteSink, ByteSource, FrameConnection, HttpRequest, HttpResponse, Transport } from './ports.js';
export { BrowserTransport, TransportError, type BrowserTransportOptions, type TransportErrorCode } from './transport.js';
export { uploadResumable, downloadResumable, uploadOffset, TransferError, UPLOAD_CHUNK, type TransferErrorReason, type TransferOptions, type UploadSlot } from './transfer.js';
export { blobSource, opfsSink, streamSink } from './sources.js';
export { hostSigiloWorker, workerError, type WorkerScope } from './worker-host.js';
export { SigiloWorkerClient, SigiloWorkerError, type WorkerPort } from './worker-client.js';
export type { ConversationSummary, DeviceSummary, PageMessage, ContactCertificate, OrgTrustView, PushOffer } from './worker-methods/index.js';
export { IN_ANOTHER_TAB, type FromWorker, type ToWorker, type WorkerMethod, type WorkerMethods, type WorkerErrorData } from './worker-protocol.js';
export { blobInput, opfsDownload, removeOpfsDownload } from './attachment-files.js';
export { attachmentMethods, type AttachmentWorkerMethods, type TransferProgress } from './worker-methods/attachments.js';
export { sendFileInWorker, downloadInWorker, type WorkerTransferOptions } from './worker-methods/attachments-client.js';
export { webCryptoAgreement } from './agreement.js';
export { webCryptoSymmetric } from './symmetric.js';
