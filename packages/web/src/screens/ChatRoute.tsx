/** `#/chat/:id`: a group (32-byte id, 64 hex digits) opens the group conversation, a contact (16 bytes) the 1:1 one. */
import { Conversation } from './Conversation.js';
import { GroupConversation } from './GroupConversation.js';

export function ChatRoute({ params }: { params: Record<string, string> }) {
  return params.id!.length === 64 ? <GroupConversation params={params} /> : <Conversation params={params} />;
}
