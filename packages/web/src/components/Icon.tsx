/**
 * Small line icons drawn as inline SVG (24-unit grid, currentColor), so they look the same on every device:
 * emoji fonts are missing on many desktops and differ between phones. Decorative: the button carries the label.
 */
const STROKE: Record<string, string> = {
  clip: 'M16.5 7v9.5a4.5 4.5 0 0 1-9 0V5.5a3 3 0 0 1 6 0V16a1.5 1.5 0 0 1-3 0V7',
  mic: 'M12 3a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7',
  trash: 'M4 7h16M9.5 7V4.5h5V7M6.5 7l1 13h9l1-13M10 11v5.5M14 11v5.5',
  bellOff: 'M8.5 5.2A6 6 0 0 1 18 10.5V15l1.5 2.5M17 17.5H4.5L6 15v-4.5M10 20.5a2 2 0 0 0 4 0M3.5 3.5l17 17',
  download: 'M12 4v11M7.5 10.5 12 15l4.5-4.5M5 19.5h14',
  close: 'M6 6l12 12M18 6 6 18',
  retry: 'M4.5 12a7.5 7.5 0 1 0 2.2-5.3M4.5 4v4.5H9',
  clock: 'M12 7v5l3.5 2M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17z',
  file: 'M6 3h8l4 4v14H6zM14 3v4h4',
  phone: 'M8.5 2.5h7a1.5 1.5 0 0 1 1.5 1.5v16a1.5 1.5 0 0 1-1.5 1.5h-7A1.5 1.5 0 0 1 7 20V4a1.5 1.5 0 0 1 1.5-1.5zM11 18.5h2',
  laptop: 'M5 5.5h14v9.5H5zM2.5 18.5h19',
  image: 'M4 5h16v14H4zM4 16l4.5-4.5 4 4 2.5-2.5L20 18M15.5 9.5h.01',
  chevron: 'M9.5 6l6 6-6 6',
  lock: 'M6.5 10.5h11v9.5h-11zM8.5 10.5V7.5a3.5 3.5 0 0 1 7 0v3M12 14.5v2',
};
const FILL: Record<string, string> = {
  play: 'M8 5.5v13l10.5-6.5z',
  pause: 'M7 5h3.5v14H7zM13.5 5H17v14h-3.5z',
};

export type IconName = keyof typeof STROKE | keyof typeof FILL;

export function Icon({ name, size = '1.25em' }: { name: IconName; size?: string }) {
  const fill = FILL[name];
  return <svg class="ic" viewBox="0 0 24 24" width={size} height={size} aria-hidden="true" focusable="false"
    fill={fill ? 'currentColor' : 'none'} stroke={fill ? 'none' : 'currentColor'} stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">
    <path d={fill ?? STROKE[name]} />
  </svg>;
}
