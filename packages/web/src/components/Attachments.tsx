/** The attachments of a message, each shown by its kind (picture, video, voice note or audio, any file). */
import '../media.css';
import type { MessageRow } from '../sdk/types.js';
import { mediaKind } from '../sdk/attachments.js';
import { ImageAttachment } from './ImageAttachment.js';
import { VideoAttachment } from './VideoAttachment.js';
import { VoiceAttachment } from './VoiceAttachment.js';
import { FileAttachment } from './FileAttachment.js';

export function Attachments({ chat, m }: { chat: string; m: MessageRow }) {
  return <>{(m.attachments ?? []).map((a, i) => {
    const kind = mediaKind(a);
    const C = kind === 'image' ? ImageAttachment : kind === 'video' ? VideoAttachment : kind === 'voice' || kind === 'audio' ? VoiceAttachment : FileAttachment;
    return <C key={i} chat={chat} m={m} index={i} />;
  })}</>;
}
