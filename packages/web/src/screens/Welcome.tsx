/** First visit: what Sigilo is, then register with an invite or link this browser to an existing account. */
import { navigate } from '../router.js';
import { t } from '../i18n/index.js';

export function Welcome() {
  const d = t();
  return <main class="onboard" aria-labelledby="start-h">
    <div class="onboard-card">
      <img src="/icons/icon.svg" alt="" width={64} height={64} class="logo" />
      <h1 id="start-h">{d.welcomeTitle}</h1>
      <p class="center">{d.welcomeText}</p>
      <div class="stack">
        <button type="button" class="primary big" onClick={() => navigate('register')}>{d.haveInvite}</button>
        <button type="button" class="big" onClick={() => navigate('link')}>{d.linkDevice}</button>
      </div>
      <p class="hint">{d.connectHint}</p>
    </div>
  </main>;
}
