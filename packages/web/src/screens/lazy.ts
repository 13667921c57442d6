/**
 * A screen whose code loads when it is first shown (a chunk of its own), so the first load up to
 * the chat list carries only the chat list. The chunk is a signed asset like any other: the
 * service worker serves it only if its hash matches the release manifest.
 */
import { h, type FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/index.js';

type Screen = FunctionComponent<{ params: Record<string, string> }>;

export function lazyScreen(load: () => Promise<Screen>): Screen {
  let loaded: Screen | undefined;
  let pending: Promise<Screen> | undefined;
  return function LazyScreen(props) {
    const [component, setComponent] = useState<Screen | undefined>(() => loaded);
    const [failed, setFailed] = useState<unknown>(undefined);
    useEffect(() => {
      if (component) return;
      let live = true;
      pending ??= load().then((c) => (loaded = c));
      pending.then((c) => { if (live) setComponent(() => c); }, (e) => { pending = undefined; if (live) setFailed(e); });
      return () => { live = false; };
    }, [component]);
    // A chunk refused by the service worker (not in the signed manifest) or not reachable: the page says so.
    if (failed) return h('p', { role: 'alert', class: 'banner error' }, t().errGeneric(failed instanceof Error ? failed.message : String(failed)));
    return component ? h(component, props) : h('div', { class: 'screen-loading', 'aria-busy': 'true' });
  };
}
