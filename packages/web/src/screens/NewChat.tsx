/** New chat: pick a contact (or add one). */
import { conversations } from '../sdk/state.js';
import { hex } from '../sdk/ids.js';
import { navigate } from '../router.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { displayName } from './ChatList.js';
import { GroupIcon } from '../components/Icons.js';
import { t } from '../i18n/index.js';

export function NewChat() {
  const d = t();
  const people = (conversations.value ?? []).filter((c) => c.kind === 'direct').slice().sort((a, b) => displayName(a).localeCompare(displayName(b)));
  return <section class="screen" aria-labelledby="new-h">
    <Header title={d.newChat} id="new-h" />
    <div class="page">
      <button type="button" class="row-button" onClick={() => navigate('add-contact')}><span class="avatar c0" aria-hidden="true">+</span>{d.addContact}</button>
      <button type="button" class="row-button" onClick={() => navigate('new-group')}><span class="avatar c2" aria-hidden="true"><GroupIcon /></span>{d.newGroup}</button>
      <button type="button" class="row-button" onClick={() => navigate('me')}><span class="avatar c1" aria-hidden="true">☺</span>{d.myCard}</button>
      <h2 class="section-h">{d.startChat}</h2>
      <ul class="people">
        {people.map((c) => {
          const id = hex(c.id);
          return <li key={id}><a href={`#/chat/${id}`} class="row-button"><Avatar name={displayName(c)} id={id} />{displayName(c)}</a></li>;
        })}
      </ul>
    </div>
  </section>;
}
