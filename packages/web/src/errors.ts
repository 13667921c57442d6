/** An error from the Worker as a sentence a person understands (issue 13 point 11), by its stable code. */
import { errorCode } from './sdk/client.js';
import { t } from './i18n/index.js';

export function errorText(e: unknown): string {
  const d = t();
  const code = errorCode(e);
  if (code === 'SERVER_ERROR' && /invite/i.test(e instanceof Error ? e.message : '')) return d.errInvite;
  switch (code) {
    case 'BAD_PASSPHRASE': return d.errBadPassphrase;
    case 'STORE_IN_USE': return d.errInUse;
    case 'STORE_EVICTED': return d.errEvicted;
    case 'UNSUPPORTED': return d.errUnsupported;
    case 'IDENTITY_KEY_UNAVAILABLE': return d.errIdentityOnToken;
    case 'INVITE_INVALID': case 'INVALID_INVITE': case 'INVITE_USED': case 'INVITE_EXPIRED': return d.errInvite;
    case 'IDENTITY_CHANGED': return d.errSendBlocked;
    case 'TIMER_TOO_LONG': return d.errTimerTooLong;
    case 'CONFIDENTIAL_OFFLINE': return d.errConfidentialOffline;
    case 'CERTIFICATE_REVOKED': return d.certNotSent;
    case 'CLIENT_TOO_OLD': case 'VERSION': return d.errVersion;
    case 'TIMEOUT': case 'CONNECTION_FAILED': case 'NOT_INITIALISED': return `${d.errOfflineNow} ${d.errCertHint}`;
    default: return d.errGeneric(e instanceof Error ? e.message : String(e));
  }
}
