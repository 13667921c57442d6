/**
 * A contact: name, verified / changed state, the safety number in groups of five digits (as `sigilo verify`
 * prints it) and its QR code; scan the other's code (or compare the digits) to mark them verified.
 * A changed key is accepted here after reviewing the new number.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { conversations, notice } from '../sdk/state.js';
import { acceptIdentity, setNickname } from '../sdk/actions.js';
import { markVerified, safetyCode, verifiedIds, verifyScanned } from '../sdk/trust.js';
import { errorCode } from '../sdk/client.js';
import { fromHex } from '../sdk/ids.js';
import { errorText } from '../errors.js';
import { navigate, routeTo } from '../router.js';
import { Header } from '../components/Header.js';
import { Avatar } from '../components/Avatar.js';
import { QrCode } from '../components/QrCode.js';
import { QrScanner } from '../components/QrScanner.js';
import { TrustBadge } from '../components/TrustBadge.js';
import { CertBadge, CertificatePanel } from '../components/CertBadge.js';
import { personName } from '../person-name.js';
import { shownName } from '../names.js';
import { NameFlags } from '../components/NameFlag.js';
import { StrangerBanner } from '../components/StrangerBanner.js';
import type { ConversationSummary } from '../sdk/types.js';
import { t } from '../i18n/index.js';
import '../trust.css';

type Code = { digits: string; formatted: string; qrText: string; verified: boolean; changed: boolean };

export function ContactInfo({ params }: { params: Record<string, string> }) {
  const d = t();
  const id = params.id!;
  const summary = conversations.value?.find((c) => c.kind === 'direct' && sameHex(c.id, id));
  const shown = summary ? personName(summary) : undefined;
  const name = shown?.text ?? '…';
  const code = useSignal<Code | undefined>(undefined);
  const unknown = useSignal(false);
  const scanning = useSignal(false);
  const result = useSignal<'ok' | 'mismatch' | undefined>(undefined);
  const changed = summary?.identityChanged ?? false;
  const verified = verifiedIds.value.has(id);
  const report = (e: unknown) => { notice.value = { kind: 'error', text: errorText(e) }; };
  useEffect(() => {
    safetyCode(id).then((c) => { code.value = c; unknown.value = false; })
      .catch((e) => { if (errorCode(e) === 'NOT_FOUND') unknown.value = true; else report(e); });
  }, [id, changed, verified]);
  const scanned = async (text: string) => {
    scanning.value = false;
    try { result.value = (await verifyScanned(id, text)) ? 'ok' : 'mismatch'; } catch (e) { result.value = errorCode(e) === 'INVALID_INPUT' ? 'mismatch' : undefined; if (errorCode(e) !== 'INVALID_INPUT') report(e); }
  };
  const groups = code.value?.formatted.split(/\s+/).filter(Boolean) ?? [];
  return <section class="screen contact-info" aria-labelledby="ci-h">
    <Header title={d.contactInfo} id="ci-h" />
    <div class="page">
      <div class="ci-who">
        <Avatar name={name} id={id} />
        <h2 class="ci-name" title={shown?.stranger ? d.notContactHint : undefined}>{name}</h2>
        <NameFlags p={shown} />
        {summary?.username && <p class="ci-username" data-username>@{summary.username}</p>}
        {summary?.contact && <TheirName summary={summary} shownText={name} />}
        <TrustBadge id={id} changed={changed} />
        <CertBadge id={id} />
      </div>
      {shown && <StrangerBanner id={id} summary={summary} shown={shown} />}
      {summary?.contact && <NicknameForm key={id} id={id} current={summary.nickname ?? ''} />}
      {changed && <div role="alert" class="banner warning ci-changed">
        <p>{d.errIdentityChanged(name)}</p>
        <button type="button" class="primary" data-action="accept" onClick={() => void acceptIdentity(id).catch(report)}>{d.errAcceptIdentity}</button>
      </div>}
      <CertificatePanel id={id} name={name} />
      <h2 class="section-h">{d.safetyNumber}</h2>
      {unknown.value && <p class="hint">{d.safetyNumberUnknown}</p>}
      {code.value && <>
        <p class="hint">{d.safetyNumberHint(name)}</p>
        <div class="sn-qr"><QrCode text={code.value.qrText} label={d.qrLabel(name)} /></div>
        <p class="safety-digits" data-safety-number={code.value.digits} aria-label={`${d.safetyNumber}: ${groups.join(' ')}`}>
          {groups.map((g, i) => <span key={i}>{g}</span>)}
        </p>
        {result.value === 'ok' && <p role="status" class="ok" data-verify="ok">✓ {d.verifiedOk(name)}</p>}
        {result.value === 'mismatch' && <p role="alert" class="error" data-verify="mismatch">{d.codeMismatch}</p>}
        <div class="ci-actions">
          {!scanning.value && <button type="button" class="primary" onClick={() => { result.value = undefined; scanning.value = true; }}>{d.scanCode}</button>}
          {scanning.value && <button type="button" onClick={() => { scanning.value = false; }}>{d.stopScan}</button>}
          {!verified && <button type="button" data-action="mark-verified" onClick={() => void markVerified(id).then(() => { result.value = 'ok'; }).catch(report)}>{d.markVerified}</button>}
        </div>
        {scanning.value && <QrScanner idPrefix="sn" onText={(x) => void scanned(x)} />}
      </>}
      <button type="button" class="row-button" onClick={() => navigate(routeTo('chat', id))}>{d.startChat.replace(/…$/, '')} {name}</button>
    </div>
  </section>;
}

/** The name the contact chose themselves, where another one (a nickname, the certified name) is shown. */
function TheirName({ summary, shownText }: { summary: ConversationSummary; shownText: string }) {
  const own = shownName(summary.profileName)?.text;
  return own && own !== shownText ? <p class="hint ci-their-name" data-their-name>{t().theirName(own)}</p> : null;
}

/** The nickname this person gives the contact (this device only); empty shows the contact's own or certified name. */
function NicknameForm({ id, current }: { id: string; current: string }) {
  const d = t();
  const value = useSignal(current);
  const busy = useSignal(false);
  const save = (e: Event) => {
    e.preventDefault();
    busy.value = true;
    const v = value.value.trim();
    void setNickname(id, v).then(() => { notice.value = { kind: 'info', text: v ? d.nicknameSaved : d.nicknameRemoved }; })
      .catch((err) => { notice.value = { kind: 'error', text: errorText(err) }; }).finally(() => { busy.value = false; });
  };
  return <form class="ci-nickname" onSubmit={save}>
    <label for="nickname">{d.nickname}</label>
    <div class="inline-field">
      <input id="nickname" maxLength={64} autocomplete="off" aria-describedby="nickname-hint" value={value.value} onInput={(e) => { value.value = (e.target as HTMLInputElement).value; }} />
      <button type="submit" class="primary" disabled={busy.value || value.value.trim() === current}>{d.saveFile}</button>
    </div>
    <p class="hint" id="nickname-hint">{d.nicknameHint}</p>
  </form>;
}

function sameHex(a: Uint8Array, h: string): boolean {
  const b = fromHex(h);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
