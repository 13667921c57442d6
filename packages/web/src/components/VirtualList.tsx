/**
 * A list that renders only the rows in view (fixed row height), so a chat list of thousands of
 * conversations renders as fast as one of twenty. Rows keep aria-setsize/posinset for screen readers.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export function VirtualList<T>({ items, rowHeight, render, label, overscan = 6 }: { items: readonly T[]; rowHeight: number; render: (item: T, index: number) => ComponentChildren; label: string; overscan?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = () => setView({ top: el.scrollTop, height: el.clientHeight || 800 });
    update();
    el.addEventListener('scroll', update, { passive: true });
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(update) : undefined;
    ro?.observe(el);
    return () => { el.removeEventListener('scroll', update); ro?.disconnect(); };
  }, []);
  const first = Math.max(0, Math.floor(view.top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((view.top + view.height) / rowHeight) + overscan);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) rows.push(render(items[i]!, i));
  return <div class="vlist" ref={ref}>
    <ul class="vlist-inner" aria-label={label} style={{ height: `${items.length * rowHeight}px` }}>
      <li class="vlist-spacer" aria-hidden="true" style={{ height: `${first * rowHeight}px` }} />
      {rows}
    </ul>
  </div>;
}
