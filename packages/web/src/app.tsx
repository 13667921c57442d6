/**
 * The app shell: banners on top; before unlocking, the onboarding screens; after, the chat list and the
 * routed screen (two panes on a desktop, one at a time on a phone). Screens are listed in screens/registry.ts.
 */
import { useEffect } from 'preact/hooks';
import { phase } from './sdk/state.js';
import { start } from './sdk/actions.js';
import { match, navigate, path } from './router.js';
import { ONBOARDING, SCREENS, type ScreenDef } from './screens/registry.js';
import { Banners } from './components/Banners.js';
import { ReleaseInfo } from './components/ReleaseInfo.js';
import { ChatList } from './screens/ChatList.js';
import { Welcome } from './screens/Welcome.js';
import { Unlock } from './screens/Unlock.js';
import { t } from './i18n/index.js';

function route(screens: readonly ScreenDef[], p: string) {
  for (const s of screens) {
    const params = match(s.pattern, p);
    if (params) return <s.component params={params} />;
  }
  return undefined;
}

export function App() {
  useEffect(() => { void start(); }, []);
  const p = path.value;
  const ph = phase.value;
  const main = ph === 'ready' ? route(SCREENS, p) : undefined;
  // A route this page cannot resolve (a chat token from an earlier page load, web.md §4.1): the chat list.
  const unresolved = ph === 'ready' && !!p && !main;
  useEffect(() => { if (unresolved) navigate('', true); }, [unresolved, p]);
  if (ph !== 'ready') {
    const screen = ph === 'starting' ? null : ph === 'locked' ? <Unlock /> : route(ONBOARDING, p) ?? <Welcome />;
    return <div class="app onboarding"><Banners />{screen}{ph !== 'starting' && <footer class="onboard-foot"><ReleaseInfo /></footer>}</div>;
  }
  return <div class={`app layout${main ? ' has-main' : ''}`}>
    <Banners />
    <div class="panes">
      <aside class="pane-list">{<ChatList />}</aside>
      <main class="pane-main">{main ?? <div class="placeholder"><img src="/icons/icon.svg" alt="" width={96} height={96} /><p>{t().selectChat}</p></div>}</main>
    </div>
  </div>;
}
