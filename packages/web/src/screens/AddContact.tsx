/** Add a contact from a pasted contact card or contact link (`…#contact=CARD`), with the name to show. */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { addContact } from '../sdk/actions.js';
import { fragmentValue, navigate, routeTo } from '../router.js';
import { errorCode } from '../sdk/client.js';
import { errorText } from '../errors.js';
import { Header } from '../components/Header.js';
import { QrScanner } from '../components/QrScanner.js';
import { t } from '../i18n/index.js';
import '../trust.css';

const CONTACT_NAME = /^[\p{L}\p{N}_.-]{1,64}$/u;

export function AddContact() {
  const d = t();
  const card = useSignal(fragmentValue('contact') ?? '');
  const name = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  const scanning = useSignal(false);
  // The card names its owner's account: read it into the form, then out of the address bar and history (web.md §4.1).
  useEffect(() => { if (/[#&]contact=/.test(location.hash)) history.replaceState(null, '', '#/add-contact'); }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    error.value = undefined;
    // The same rule as the SDK's (client contacts.ts), checked first so a bad name is never blamed on the card.
    if (!CONTACT_NAME.test(name.value.trim())) { error.value = d.errInvalidContactName; return; }
    busy.value = true;
    try {
      const id = await addContact(name.value.trim(), card.value);
      navigate(routeTo('chat', id), true);
    } catch (err) {
      error.value = errorCode(err) === 'INVALID_INPUT' ? `${d.errInvalidCard} (${(err as Error).message})` : errorText(err);
    } finally { busy.value = false; }
  };
  return <section class="screen" aria-labelledby="add-h">
    <Header title={d.addContact} id="add-h" />
    <form class="page" onSubmit={submit}>
      {!scanning.value ? <button type="button" onClick={() => { scanning.value = true; }}>{d.scanContactQr}</button>
        : <QrScanner idPrefix="card-qr" paste={false} onText={(x) => { scanning.value = false; card.value = x; }} />}
      <label for="card">{d.contactCardLabel}</label>
      <textarea id="card" rows={3} required spellcheck={false} autocomplete="off" value={card.value} aria-describedby="card-hint"
        onInput={(e) => { card.value = (e.target as HTMLTextAreaElement).value; }} />
      <p id="card-hint" class="hint">{d.contactCardHint}</p>
      <label for="contact-name">{d.contactName}</label>
      <input id="contact-name" required maxLength={64} value={name.value} aria-describedby="contact-name-hint" autocomplete="off"
        onInput={(e) => { name.value = (e.target as HTMLInputElement).value; }} />
      <p id="contact-name-hint" class="hint">{d.contactNameHint}</p>
      {error.value && <p role="alert" class="error">{error.value}</p>}
      <button type="submit" class="primary big" disabled={busy.value}>{d.save}</button>
    </form>
  </section>;
}
