/** Small inline icons (SVG, so they show on every system, with or without an emoji font); decorative unless labelled by their button. */
export function LockIcon() {
  return <svg class="icon-svg lock" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">
    <path fill="currentColor" d="M4 7V5a4 4 0 0 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 2 13.5v-5A1.5 1.5 0 0 1 3.5 7H4zm2 0h4V5a2 2 0 0 0-4 0v2z" />
  </svg>;
}

export function InfoIcon() {
  return <svg class="icon-svg" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
    <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" stroke-width="2" />
    <path fill="currentColor" d="M11 10h2v7h-2zM11 6.5h2v2h-2z" />
  </svg>;
}

export function GroupIcon() {
  return <svg class="icon-svg" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
    <circle cx="9" cy="8" r="3.5" fill="currentColor" /><circle cx="17" cy="9" r="2.8" fill="currentColor" opacity=".8" />
    <path fill="currentColor" d="M2 19c0-3.6 3.1-6 7-6s7 2.4 7 6v1H2zM16.5 13.2c3 .2 5.5 2.2 5.5 5.3V20h-4.5v-1c0-2.3-.4-4.1-1-5.8z" opacity=".9" />
  </svg>;
}

/** Settings rows: the contact card, devices, what the server keeps. */
export function CardIcon() {
  return <svg class="icon-svg" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
    <rect x="2.5" y="5" width="19" height="14" rx="2" fill="none" stroke="currentColor" stroke-width="2" />
    <circle cx="8.5" cy="11" r="2.2" fill="currentColor" /><path fill="currentColor" d="M5 16.5c.4-1.9 1.8-3 3.5-3s3.1 1.1 3.5 3zM14 10h5v1.8h-5zM14 13.5h4v1.8h-4z" />
  </svg>;
}

export function PhoneIcon() {
  return <svg class="icon-svg" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
    <rect x="6.5" y="2.5" width="11" height="19" rx="2" fill="none" stroke="currentColor" stroke-width="2" />
    <path fill="currentColor" d="M10.5 18h3v1.5h-3z" />
  </svg>;
}

export function ServerIcon() {
  return <svg class="icon-svg" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
    <rect x="3" y="4" width="18" height="7" rx="1.5" fill="none" stroke="currentColor" stroke-width="2" />
    <rect x="3" y="13" width="18" height="7" rx="1.5" fill="none" stroke="currentColor" stroke-width="2" />
    <path fill="currentColor" d="M6 6.75h2v1.5H6zM6 15.75h2v1.5H6z" />
  </svg>;
}
