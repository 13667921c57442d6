/**
 * A group change as a line people read, as messengers show them: "ana added carol",
 * "you renamed the group to "Trip"", "bob left". Names come from `nameOf` at the time
 * it is shown (client.md §12), so a contact renamed later shows under the new name.
 */
import type { GroupChangeRecord } from '@sigilo/client-node';
import { printableName } from './format.js';

const list = (names: string[]) => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);

export function groupChangeText(c: GroupChangeRecord, nameOf: (accountId: Uint8Array) => string): string {
  const by = nameOf(c.by);
  const whom = list(c.accounts.map(nameOf));
  const text = c.kind === 'created' ? `${by} created the group${c.name !== undefined ? ` "${printableName(c.name)}"` : ''}${whom ? ` with ${whom}` : ''}`
    : c.kind === 'added' ? `${by} added ${whom}`
    : c.kind === 'removed' ? `${by} removed ${whom}`
    : c.kind === 'left' ? `${by} left`
    : c.kind === 'promoted' ? `${by} made ${whom} an admin`
    : c.kind === 'demoted' ? `${by} made ${whom} a member (no longer an admin)`
    : c.kind === 'undone' ? `a change by ${by} was undone by a concurrent change by ${c.undoneBy ? nameOf(c.undoneBy) : 'another admin'}`
    : c.name !== undefined ? `${by} renamed the group to "${printableName(c.name)}"` : `${by} changed the group`;
  // A sentence starts with a capital; names stay as the person wrote them.
  return /^(you|a) /.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}
