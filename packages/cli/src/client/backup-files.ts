/**
 * `sigilo backup --with-attachments`: the attachments of stored messages, fetched
 * from the server one at a time (verified and decrypted as `sigilo download`
 * does) into a temporary file in the client directory, handed to the backup and
 * removed. Attachments the server no longer keeps are skipped and reported.
 */
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AttachmentError, type BackupAttachmentFile, type SigiloClient } from '@sigilo/client-node';

export async function* backupAttachmentFiles(client: SigiloClient, dir: string, onSkip: (why: string) => void): AsyncGenerator<BackupAttachmentFile> {
  const tmpDir = join(dir, 'backup-tmp');
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  try {
    let n = 0;
    for (const m of client.store.allMessages()) {
      if (m.deleted || !m.attachments?.length) continue;
      for (let index = 0; index < m.attachments.length; index++) {
        const tmp = join(tmpDir, String(n++));
        let size: number;
        try {
          ({ size } = await client.downloadAttachment(m.conversation, m.messageId, index, tmp, { overwrite: true }));
        } catch (e) {
          if (e instanceof AttachmentError && !e.resumable) {
            onSkip(`${m.attachments[index]!.fileName || 'a file'}: ${e.message}`);
            continue;
          }
          throw e;
        }
        yield {
          conversation: m.conversation, messageId: m.messageId, index, size,
          bytes: async function* () {
            try {
              for await (const chunk of createReadStream(tmp, { highWaterMark: 64 * 1024 })) yield new Uint8Array(chunk as Buffer);
            } finally {
              rmSync(tmp, { force: true });
            }
          },
        };
      }
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}
