/** A screen's top bar: a back button where the screen is not the first, a title, and actions on the right. */
import type { ComponentChildren } from 'preact';
import { back } from '../router.js';
import { t } from '../i18n/index.js';

export function Header({ title, backButton = true, children, sub, id, avatar }: { title: ComponentChildren; backButton?: boolean; children?: ComponentChildren; sub?: ComponentChildren; id?: string; avatar?: ComponentChildren }) {
  return <header class="bar">
    {backButton && <button type="button" class="icon back" aria-label={t().back} onClick={back}>←</button>}
    {avatar}
    <div class="bar-title">
      <h1 id={id}>{title}</h1>
      {sub && <div class="bar-sub">{sub}</div>}
    </div>
    {children && <div class="bar-actions">{children}</div>}
  </header>;
}
