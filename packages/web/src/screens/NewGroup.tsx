/** New group: its name and the contacts in it (this person becomes its admin). */
import { useSignal } from '@preact/signals';
import { conversations } from '../sdk/state.js';
import { createGroup } from '../sdk/groups.js';
import { hex } from '../sdk/ids.js';
import { errorText } from '../errors.js';
import { navigate, routeTo } from '../router.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { displayName } from './ChatList.js';
import { t } from '../i18n/index.js';
import '../trust.css';

export function NewGroup() {
  const d = t();
  const name = useSignal('');
  const picked = useSignal<ReadonlySet<string>>(new Set());
  const busy = useSignal(false);
  const error = useSignal<string | undefined>(undefined);
  const people = (conversations.value ?? []).filter((c) => c.kind === 'direct').slice().sort((a, b) => displayName(a).localeCompare(displayName(b)));
  const toggle = (id: string) => {
    const next = new Set(picked.value);
    if (next.has(id)) next.delete(id); else next.add(id);
    picked.value = next;
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (picked.value.size === 0) return;
    busy.value = true;
    error.value = undefined;
    try { navigate(routeTo('chat', await createGroup(name.value, [...picked.value])), true); } catch (err) { error.value = errorText(err); } finally { busy.value = false; }
  };
  return <section class="screen" aria-labelledby="ng-h">
    <Header title={d.newGroup} id="ng-h" />
    <form class="page" onSubmit={(e) => void submit(e)}>
      <label for="group-name">{d.groupName}</label>
      <input id="group-name" required maxLength={64} value={name.value} onInput={(e) => { name.value = (e.target as HTMLInputElement).value; }} />
      <fieldset class="pick-members">
        <legend>{d.pickMembers} ({picked.value.size})</legend>
        {people.length === 0 && <p class="hint">{d.noContactsForGroup}</p>}
        <ul class="people">
          {people.map((c) => {
            const id = hex(c.id);
            return <li key={id}><label class="row-button check-row" data-member={id}>
              <input type="checkbox" checked={picked.value.has(id)} onChange={() => toggle(id)} />
              <Avatar name={displayName(c)} id={id} />{displayName(c)}
            </label></li>;
          })}
        </ul>
      </fieldset>
      {error.value && <p role="alert" class="error">{error.value}</p>}
      <button type="submit" class="primary big" disabled={busy.value || picked.value.size === 0}>{d.createGroup}</button>
    </form>
  </section>;
}
