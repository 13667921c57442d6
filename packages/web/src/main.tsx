import { render } from 'preact';
import { App } from './app.js';
import { lang } from './i18n/index.js';
import { startIntegrity } from './integrity.js';
import './style.css';

document.documentElement.lang = lang.value;
render(<App />, document.getElementById('app')!);
void startIntegrity().catch((e) => console.error('service worker', e));
