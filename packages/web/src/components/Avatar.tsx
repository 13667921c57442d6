/** A round badge with the person's initials, coloured from their id (decorative: the name is next to it). */
export function Avatar({ name, id, small }: { name: string; id: string; small?: boolean }) {
  const initials = name.replace(/^[#~]/, '').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => [...w][0]!.toUpperCase()).join('') || '#';
  const colour = parseInt(id.slice(0, 2) || '0', 16) % 8;
  return <span class={`avatar c${colour}${small ? ' small' : ''}`} aria-hidden="true">{initials}</span>;
}
