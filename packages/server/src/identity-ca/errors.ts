/** Failures of the organisation's identity CA (spec/trust.md): one ServerError code, and a reason for tests and scripts. */
import { ServerError } from '../errors.js';

export type CaErrorReason =
  | 'CA_EXISTS'        // `ca init` on a directory that has a CA
  | 'NO_CA'            // no identity CA in this data directory
  | 'CA_KEY'           // the key file is missing, unreadable or not Ed25519
  | 'PKCS11'           // the token library, slot, PIN or key
  | 'INVALID_INPUT'    // a name, number of days or serial is out of range
  | 'NOT_FOUND';       // no such certificate

export class CaError extends ServerError {
  readonly reason: CaErrorReason;
  constructor(reason: CaErrorReason, message: string) {
    super('IDENTITY_CA', message);
    this.reason = reason;
  }
}
