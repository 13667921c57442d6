/** A round badge with the person's initials, coloured from their id (decorative: the name is next to it). */
export function Avatar({ name, id, small }: { name: string; id: string; small?: boolean }) {
  // The first letter or digit of the first two words that have one ("~Bruno (finanzas)" → "BF", "@bruno" → "B").
  const initials = name.split(/\s+/).map((w) => /[\p{L}\p{N}\p{Extended_Pictographic}]/u.exec(w)?.[0]).filter((c): c is string => c !== undefined).slice(0, 2).map((c) => c.toUpperCase()).join('') || '#';
  const colour = parseInt(id.slice(0, 2) || '0', 16) % 8;
  return <span class={`avatar c${colour}${small ? ' small' : ''}`} aria-hidden="true">{initials}</span>;
}
