/**
 * @sigilo/client-node: the client core (@sigilo/client, re-exported whole)
 * with the Node adapters of its ports: the pinned-TLS transport, the
 * SQLCipher store and attachments from and to files.
 */
import { SigiloClient, type ClientOptions, type ClientStore } from '@sigilo/client';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { nodeAttachmentFiles } from './attachments.js';
import { pinnedTransport } from './pinned-transport.js';
import { SqlCipherStore } from './store/sqlcipher.js';

export * from '@sigilo/client';
export { fetchPinnedCa, pinnedSocket, type Pin, type SocketOnRead } from './pinned.js';
export { PinnedTransport, pinnedTransport } from './pinned-transport.js';
export { pinnedGet, type GetResponse } from './pinned-get.js';
export { BlockFileWriter } from './block-file-writer.js';
export { SqlCipherStore, deriveStoreKey } from './store/sqlcipher.js';
export {
  downloadFile, fileExtras, hasPendingUpload, nodeAttachmentFiles, nodeSha256, openFileInput, openPartFile, partPath, uploadFile, uploadStateKey,
} from './attachments.js';
export { fileSource } from './file-source.js';
export { IDENTITY_KEY_LABEL, openIdentityKeyOnToken, pkcs11IdentityToken, systemLibraryPath, type Pkcs11IdentityOptions } from './identity-token.js';
export { IdentityKeyUnavailableError, identityTokenReference, type TokenKeyReference } from '@sigilo/protocol';
export { makeThumbnail, THUMBNAIL_SIDE, THUMBNAIL_QUALITY, THUMBNAIL_MAX_PIXELS, type Thumbnail } from './thumbnail.js';

export type NodeClientOptions = Partial<Omit<ClientOptions, 'store'>> & (
  | { readonly store: ClientStore }
  /** Opens (or creates) the SQLCipher store in `dir` with `passphrase`. */
  | { readonly dir: string; readonly passphrase: string }
);

/**
 * A SigiloClient wired with the Node adapters: node:crypto, the pinned-TLS
 * transport, file attachments, and the SQLCipher store (given, or opened
 * from `dir`). Any port can still be overridden.
 */
export function createNodeClient(options: NodeClientOptions): SigiloClient {
  const store = 'store' in options ? options.store : SqlCipherStore.open(options.dir, options.passphrase);
  return new SigiloClient({
    store,
    ctx: options.ctx ?? { crypto: nodeCrypto, random: systemRandom },
    transport: options.transport ?? pinnedTransport,
    attachments: options.attachments ?? nodeAttachmentFiles,
    ...(options.now ? { now: options.now } : {}),
    ...(options.transparency ? { transparency: options.transparency } : {}),
    ...(options.confidential !== undefined ? { confidential: options.confidential } : {}),
    ...(options.expiryHints !== undefined ? { expiryHints: options.expiryHints } : {}),
    ...(options.identityToken ? { identityToken: options.identityToken } : {}),
  });
}
