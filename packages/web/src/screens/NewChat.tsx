/** New chat: find someone by @username, pick a contact, or add one. */
import { useSignal } from '@preact/signals';
import { conversations } from '../sdk/state.js';
import { addContactByUsername } from '../sdk/actions.js';
import { errorCode } from '../sdk/client.js';
import { errorText } from '../errors.js';
import { hex } from '../sdk/ids.js';
import { navigate, routeTo } from '../router.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { displayName } from './ChatList.js';
import { GroupIcon } from '../components/Icons.js';
import { t } from '../i18n/index.js';

export function NewChat() {
  const d = t();
  const people = (conversations.value ?? []).filter((c) => c.kind === 'direct').slice().sort((a, b) => displayName(a).localeCompare(displayName(b)));
  const username = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  const find = async (e: Event) => {
    e.preventDefault();
    const wanted = username.value.trim().replace(/^@/, '');
    if (!wanted) return;
    busy.value = true;
    error.value = undefined;
    try {
      navigate(routeTo('chat', await addContactByUsername(wanted)));
    } catch (err) {
      const code = errorCode(err);
      error.value = code === 'NOT_FOUND' ? d.usernameNotFound(wanted) : code === 'INVALID_INPUT' ? d.usernameInvalid : errorText(err);
    } finally { busy.value = false; }
  };
  return <section class="screen" aria-labelledby="new-h">
    <Header title={d.newChat} id="new-h" />
    <div class="page">
      <form class="find-username" onSubmit={(e) => void find(e)}>
        <label for="find-username">{d.findByUsername}</label>
        <div class="row">
          <input id="find-username" value={username.value} placeholder="@ana.lopez" autocomplete="off" autocapitalize="none" spellcheck={false}
            aria-describedby={error.value ? 'find-username-error' : undefined} onInput={(e) => { username.value = (e.target as HTMLInputElement).value; }} />
          <button type="submit" class="primary" disabled={busy.value || !username.value.trim()}>{d.findUsername}</button>
        </div>
        {error.value && <p role="alert" class="error" id="find-username-error">{error.value}</p>}
      </form>
      <button type="button" class="row-button" onClick={() => navigate('add-contact')}><span class="avatar c0" aria-hidden="true">+</span>{d.addContact}</button>
      <button type="button" class="row-button" onClick={() => navigate('new-group')}><span class="avatar c2" aria-hidden="true"><GroupIcon /></span>{d.newGroup}</button>
      <button type="button" class="row-button" onClick={() => navigate('me')}><span class="avatar c1" aria-hidden="true">☺</span>{d.myCard}</button>
      {people.length ? <>
        <h2 class="section-h">{d.startChat}</h2>
        <ul class="people">
          {people.map((c) => {
            const id = hex(c.id);
            return <li key={id}><a href={`#/${routeTo('chat', id)}`} class="row-button"><Avatar name={displayName(c)} id={id} />{displayName(c)}</a></li>;
          })}
        </ul>
      </> : conversations.value && <div class="empty no-contacts" data-empty="contacts">
        {/* A heading over an empty list reads as broken: say why it is empty and how to fill it. */}
        <p class="empty-title">{d.noContactsTitle}</p>
        <p>{d.noContactsHint}</p>
      </div>}
    </div>
  </section>;
}
