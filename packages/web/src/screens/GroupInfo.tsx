/**
 * Group info: rename, the members with their roles (admins first), and for an admin: add members,
 * remove one, make or dismiss an admin. Anyone can leave. Members' names link to their contact screen.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { conversations, me, notice } from '../sdk/state.js';
import { addMembers, demoteMember, groupInfos, leaveGroup, loadGroup, promoteMember, removeMember, renameGroup } from '../sdk/groups.js';
import { fromHex, hex } from '../sdk/ids.js';
import { errorText } from '../errors.js';
import { navigate, routeTo } from '../router.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { TrustBadge } from '../components/TrustBadge.js';
import { displayName } from './ChatList.js';
import { t } from '../i18n/index.js';
import '../trust.css';

export function GroupInfo({ params }: { params: Record<string, string> }) {
  const d = t();
  const id = params.id!;
  const info = groupInfos.value.get(id);
  const editing = useSignal(false);
  const newName = useSignal('');
  const adding = useSignal(false);
  const toAdd = useSignal<ReadonlySet<string>>(new Set());
  const busy = useSignal(false);
  useEffect(() => { void loadGroup(id).catch((e) => { notice.value = { kind: 'error', text: errorText(e) }; }); }, [id]);
  const selfHex = me.value ? hex(me.value.accountId) : '';
  const run = async (p: () => Promise<void>) => {
    busy.value = true;
    try { await p(); } catch (e) { notice.value = { kind: 'error', text: errorText(e) }; } finally { busy.value = false; }
  };
  if (!info) return <section class="screen" aria-labelledby="gi-h"><Header title={d.groupInfo} id="gi-h" /><p class="empty" role="status">…</p></section>;
  const isAdmin = info.myRole === 'admin';
  const shownTitle = displayName({ name: info.name, id: fromHex(id) });
  const contact = (h: string) => conversations.value?.find((c) => c.kind === 'direct' && hex(c.id) === h);
  const nameOf = (a: Uint8Array, alias: string | undefined) => {
    const h = hex(a);
    if (h === selfHex) return d.you;
    const c = contact(h);
    return c ? displayName(c) : displayName({ name: alias, id: a });
  };
  const members = info.members.slice().sort((a, b) => (a.role === b.role ? 0 : a.role === 'admin' ? -1 : 1));
  const inGroup = new Set(info.members.map((x) => hex(x.accountId)));
  const candidates = (conversations.value ?? []).filter((c) => c.kind === 'direct' && !inGroup.has(hex(c.id)));
  return <section class="screen group-info" aria-labelledby="gi-h">
    <Header title={d.groupInfo} id="gi-h" />
    <div class="page">
      <div class="ci-who">
        <Avatar name={shownTitle} id={id} />
        {!editing.value ? <h2 class="ci-name" data-group-name>{shownTitle}</h2>
          : <form class="row" onSubmit={(e) => { e.preventDefault(); void run(() => renameGroup(id, newName.value)).then(() => { editing.value = false; }); }}>
            <label class="visually-hidden" for="rename">{d.groupName}</label>
            <input id="rename" required maxLength={64} value={newName.value} onInput={(e) => { newName.value = (e.target as HTMLInputElement).value; }} />
            <button type="submit" class="primary" disabled={busy.value}>{d.save}</button>
          </form>}
        <p class="hint">{d.membersCount(info.members.length)}</p>
        {info.myRole && !editing.value && <button type="button" onClick={() => { newName.value = info.name; editing.value = true; }}>{d.rename}</button>}
      </div>
      {info.myRole === undefined && <p role="status" class="banner info">{d.leftGroup}</p>}
      <h2 class="section-h">{d.pickMembers}</h2>
      {isAdmin && candidates.length > 0 && !adding.value && <button type="button" class="row-button" onClick={() => { adding.value = true; }}><span class="avatar c0" aria-hidden="true">+</span>{d.addMembers}</button>}
      {adding.value && <form class="pick-members" onSubmit={(e) => { e.preventDefault(); void run(() => addMembers(id, [...toAdd.value])).then(() => { adding.value = false; toAdd.value = new Set(); }); }}>
        <fieldset><legend>{d.addMembers}</legend>
          <ul class="people">{candidates.map((c) => {
            const h = hex(c.id);
            return <li key={h}><label class="row-button check-row" data-candidate={h}>
              <input type="checkbox" checked={toAdd.value.has(h)} onChange={() => { const n = new Set(toAdd.value); if (n.has(h)) n.delete(h); else n.add(h); toAdd.value = n; }} />
              <Avatar name={displayName(c)} id={h} />{displayName(c)}
            </label></li>;
          })}</ul>
        </fieldset>
        <button type="submit" class="primary" disabled={busy.value || toAdd.value.size === 0}>{d.add}</button>
      </form>}
      <ul class="people members">
        {members.map((x) => {
          const h = hex(x.accountId);
          const n = nameOf(x.accountId, x.alias);
          const self = h === selfHex;
          const c = contact(h);
          return <li key={h} class="member-row" data-member-row={h} data-role={x.role}>
            {self || !c ? <span class="row-button static"><Avatar name={n} id={h} /><span class="member-name">{n}</span></span>
              : <a class="row-button" href={`#/${routeTo('contact', h)}`}><Avatar name={n} id={h} /><span class="member-name">{n}</span><TrustBadge id={h} changed={c.identityChanged} compact /></a>}
            {x.role === 'admin' && <span class="role-tag">{d.admin}</span>}
            {isAdmin && !self && <span class="member-actions">
              {x.role === 'admin'
                ? <button type="button" disabled={busy.value} onClick={() => void run(() => demoteMember(id, x.accountId))}>{d.demoteMember(n)}</button>
                : <button type="button" disabled={busy.value} onClick={() => void run(() => promoteMember(id, x.accountId))}>{d.promoteMember(n)}</button>}
              <button type="button" class="danger" disabled={busy.value} onClick={() => { if (confirm(d.confirmRemove(n))) void run(() => removeMember(id, x.accountId)); }}>{d.removeMember(n)}</button>
            </span>}
          </li>;
        })}
      </ul>
      {info.myRole && <button type="button" class="row-button danger" onClick={() => { if (confirm(d.confirmLeave)) void run(() => leaveGroup(id)).then(() => navigate(routeTo('chat', id), true)); }}>{d.leaveGroup}</button>}
    </div>
  </section>;
}
