/** This person's contact card, to give to the people who should reach them, as text and as a link. */
import { me, notice } from '../sdk/state.js';
import { Header } from '../components/Header.js';
import { QrCode } from '../components/QrCode.js';
import { t } from '../i18n/index.js';
import '../trust.css';

export function MyCard() {
  const d = t();
  const card = me.value?.contactCard ?? '';
  const link = `${location.origin}/#/add-contact#contact=${card}`;
  return <section class="screen" aria-labelledby="me-h">
    <Header title={d.myCard} id="me-h" />
    <div class="page">
      <p>{d.myCardHint}</p>
      <div class="sn-qr"><QrCode text={link} label={d.myCard} /></div>
      <p class="card-text"><code id="my-card">{card}</code></p>
      <button type="button" class="primary" onClick={() => void navigator.clipboard?.writeText(link).then(() => { notice.value = { kind: 'info', text: d.copied }; })}>{d.copyCard}</button>
    </div>
  </section>;
}
