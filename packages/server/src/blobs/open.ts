/** Opens the blob store the configuration names (blobs.backend). */
import type { ServerConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { FsBlobStore } from './fs.js';
import type { BlobStore } from './port.js';
import { S3BlobStore } from './s3.js';

export async function openBlobStore(config: ServerConfig, attachmentsDir: string, env: NodeJS.ProcessEnv = process.env): Promise<BlobStore> {
  if (config.blobs.backend === 'fs') return new FsBlobStore(attachmentsDir);
  const s3 = config.blobs.s3;
  const accessKeyId = s3.accessKeyId ?? env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = s3.secretAccessKey ?? env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new ConfigError('blobs.backend is s3: set blobs.s3.accessKeyId and blobs.s3.secretAccessKey (or SIGILO_S3_ACCESS_KEY_ID and SIGILO_S3_SECRET_ACCESS_KEY)');
  }
  const store = new S3BlobStore({
    endpoint: s3.endpoint!, bucket: s3.bucket!, region: s3.region, prefix: s3.prefix,
    credentials: { accessKeyId, secretAccessKey, sessionToken: s3.accessKeyId ? undefined : env.AWS_SESSION_TOKEN },
  });
  try {
    await store.check();
  } catch (e) {
    store.close();
    throw new ConfigError(`cannot use the S3 bucket blobs.s3.bucket at blobs.s3.endpoint (${(e as Error).message}); check the endpoint, the bucket and the credentials`);
  }
  return store;
}
