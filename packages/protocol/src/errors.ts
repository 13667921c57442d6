/**
 * Every failure the protocol reports is a ProtocolError with a stable `code`.
 * Messages never contain key material, plaintext or identifiers.
 */
export type ProtocolErrorCode =
  // SMP and signed read receipts (spec/smp.md, spec/receipts.md)
  | 'SMP_PROOF_FAILED'
  | 'SMP_INVALID_ELEMENT'
  | 'SMP_REPLAY'
  | 'SMP_UNEXPECTED_MESSAGE'
  | 'RECEIPT_MISMATCH'
  // groups (spec/groups.md)
  | 'FORGED_GROUP_ENTRY'
  | 'GROUP_PERMISSION_DENIED'
  | 'INVALID_GROUP_ENTRY'
  | 'OUT_OF_ORDER_GROUP_ENTRY'
  | 'INVALID_ARGUMENT'
  | 'INVALID_KEY'
  | 'INVALID_SIGNATURE'
  | 'DECODE_ERROR'
  | 'UNSUPPORTED_VERSION'
  | 'DECRYPTION_FAILED'
  | 'DUPLICATE_MESSAGE'
  | 'TOO_MANY_SKIPPED'
  | 'UNTRUSTED_IDENTITY'
  | 'WRONG_RECIPIENT'
  | 'NO_SESSION'
  | 'INVALID_PREKEY'
  | 'INVALID_CERTIFICATE'
  | 'EXPIRED_CERTIFICATE'
  | 'SENDER_MISMATCH'
  // attachments (spec/attachments.md)
  | 'ATTACHMENT_KEY_MISMATCH'
  | 'ATTACHMENT_CORRUPT'
  | 'ATTACHMENT_TRUNCATED'
  // an identity signing key on a PKCS#11 token (spec/trust.md §7.1)
  | 'IDENTITY_KEY_UNAVAILABLE';

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A parameter has the wrong length or shape. */
export class InvalidArgumentError extends ProtocolError {
  constructor(message: string) { super('INVALID_ARGUMENT', message); }
}
/** A public key is malformed or of low order. */
export class InvalidKeyError extends ProtocolError {
  constructor(message: string) { super('INVALID_KEY', message); }
}
/** A signature did not verify (prekey bundle, certificate). */
export class InvalidSignatureError extends ProtocolError {
  constructor(message: string) { super('INVALID_SIGNATURE', message); }
}
/** Bytes could not be parsed as the expected structure. */
export class DecodeError extends ProtocolError {
  constructor(message: string) { super('DECODE_ERROR', message); }
}
/** A structure carries a version this implementation does not speak. */
export class UnsupportedVersionError extends ProtocolError {
  constructor(message: string) { super('UNSUPPORTED_VERSION', message); }
}
/** Authentication failed: tampered, truncated, wrong key or wrong associated data. */
export class DecryptionError extends ProtocolError {
  constructor(message = 'message authentication failed') { super('DECRYPTION_FAILED', message); }
}
/** The message was already decrypted once (replay or duplicate delivery). */
export class DuplicateMessageError extends ProtocolError {
  constructor(message = 'message already received') { super('DUPLICATE_MESSAGE', message); }
}
/** The message is too far ahead of its chain, or would exceed the skipped-key budget. */
export class TooManySkippedError extends ProtocolError {
  constructor(message: string) { super('TOO_MANY_SKIPPED', message); }
}
/** The peer's identity key is not the one this session was built with. */
export class UntrustedIdentityError extends ProtocolError {
  constructor(message = 'identity key does not match the session') { super('UNTRUSTED_IDENTITY', message); }
}
/** A message or envelope addressed to another identity. */
export class WrongRecipientError extends ProtocolError {
  constructor(message = 'message is addressed to another recipient') { super('WRONG_RECIPIENT', message); }
}
/** A non-prekey message arrived and there is no session to decrypt it. */
export class NoSessionError extends ProtocolError {
  constructor(message = 'no session with this peer; ask the sender to start a new one') { super('NO_SESSION', message); }
}
/** A prekey message names a prekey the recipient does not hold (used or unknown). */
export class InvalidPrekeyError extends ProtocolError {
  constructor(message: string) { super('INVALID_PREKEY', message); }
}
/** A sender or server certificate is malformed or not signed by the trusted key. */
export class InvalidCertificateError extends ProtocolError {
  constructor(message: string) { super('INVALID_CERTIFICATE', message); }
}
/** A sender certificate whose expiry is in the past. */
export class ExpiredCertificateError extends ProtocolError {
  constructor(message = 'sender certificate has expired') { super('EXPIRED_CERTIFICATE', message); }
}
/** A sealed-sender envelope whose certificate does not match the sender's identity or session. */
export class SenderMismatchError extends ProtocolError {
  constructor(message = 'sender certificate does not match the sender identity') { super('SENDER_MISMATCH', message); }
}

// --- Attachments (spec/attachments.md §6) -------------------------------------

/**
 * The attachment's header (salt and key commitment) does not belong to the key:
 * the pointer's key and the downloaded blob do not match, or the header was
 * altered. Nothing was decrypted.
 */
export class AttachmentKeyMismatchError extends ProtocolError {
  constructor(message = 'attachment does not match its key (commitment check failed): download it again; if this repeats, ask the sender to send it again') {
    super('ATTACHMENT_KEY_MISMATCH', message);
  }
}
/**
 * A chunk failed authentication: altered, reordered, moved, or data after the
 * final chunk. No plaintext of that chunk was returned; discard what was
 * written so far.
 */
export class AttachmentCorruptError extends ProtocolError {
  /** Index of the chunk that failed (not secret: it follows from the byte offset). */
  readonly chunkIndex: number;
  constructor(chunkIndex: number, message = `attachment chunk ${chunkIndex} failed authentication (altered, reordered or extended): discard the partial file and download it again`) {
    super('ATTACHMENT_CORRUPT', message);
    this.chunkIndex = chunkIndex;
  }
}
/**
 * The ciphertext ended before its final (short) chunk: a cut-off download or
 * upload. Resume or repeat the transfer; do not keep the partial file.
 */
export class AttachmentTruncatedError extends ProtocolError {
  constructor(message = 'attachment ends before its final chunk (truncated): resume or repeat the download and do not keep the partial file') {
    super('ATTACHMENT_TRUNCATED', message);
  }
}

// --- Groups (spec/groups.md §4.4) ----------------------------------------------

/**
 * A membership log entry whose signature does not verify, or whose author's
 * identity key is not the one the group holds for that member. Drop it; the
 * log is unchanged.
 */
export class ForgedGroupEntryError extends ProtocolError {
  constructor(message = 'group log entry is not signed by the identity the group holds for its author: it was dropped') {
    super('FORGED_GROUP_ENTRY', message);
  }
}
/**
 * The author may not make this change in the state it was made on: not a
 * member, or not an admin for a change that needs one.
 */
export class GroupPermissionError extends ProtocolError {
  constructor(message: string) { super('GROUP_PERMISSION_DENIED', message); }
}
/**
 * A well-signed entry that does not fit the log: another group, a wrong
 * revision, a second genesis, or a change that is not valid on its parent
 * (adding a member twice, removing a non-member, leaving no admin, bounds).
 */
export class InvalidGroupEntryError extends ProtocolError {
  constructor(message: string) { super('INVALID_GROUP_ENTRY', message); }
}
/**
 * The entry's parent is not held: entries arrived out of order or some are
 * missing. Ask the sender for the chain (GroupUpdate from an entry you hold)
 * and add the entries parents first; nothing was changed.
 */
export class OutOfOrderGroupEntryError extends ProtocolError {
  /** Hash of the missing parent entry (32 bytes). */
  readonly parent: Uint8Array;
  constructor(parent: Uint8Array, message = 'group log entry arrived before its parent: ask the sender for the missing entries and add them parents first') {
    super('OUT_OF_ORDER_GROUP_ENTRY', message);
    this.parent = parent;
  }
}

// --- SMP (spec/smp.md §5) and signed read receipts (spec/receipts.md §4) --------

/**
 * A zero-knowledge proof of an SMP message did not verify: the peer does not
 * know the exponents it claims, or the message was altered. The exchange is
 * aborted (send the exchange's abort message); show "verification failed", not
 * "no match". `proof` names the proof, e.g. 'smp1.c2' (smp.md §4).
 */
export class SmpProofError extends ProtocolError {
  readonly proof: string;
  constructor(proof: string, message = `SMP proof ${proof} does not verify: the exchange was aborted; start a new verification`) {
    super('SMP_PROOF_FAILED', message);
    this.proof = proof;
  }
}
/**
 * A received SMP group element or scalar is malformed: not a canonical
 * ristretto255 encoding, the identity element, or a scalar not below the group
 * order. The exchange is aborted. `field` names it, e.g. 'smp2.pb'.
 */
export class SmpInvalidElementError extends ProtocolError {
  readonly field: string;
  constructor(field: string, reason: string) {
    super('SMP_INVALID_ELEMENT', `SMP field ${field} is ${reason}: the exchange was aborted; start a new verification`);
    this.field = field;
  }
}
/** An SMP message of an exchange (or a step) already handled: refused, nothing changed. */
export class SmpReplayError extends ProtocolError {
  constructor(message = 'SMP message was already handled (replayed or duplicated): ignored') { super('SMP_REPLAY', message); }
}
/**
 * An SMP message that does not fit the exchange in progress: another exchange
 * id, a step out of order, or a second exchange started while ours waits
 * (smp.md §5). Refused; nothing changed.
 */
export class SmpUnexpectedMessageError extends ProtocolError {
  constructor(message: string) { super('SMP_UNEXPECTED_MESSAGE', message); }
}
/**
 * A well-signed read receipt for another message, conversation or reader than
 * the one it is checked against (replayed or re-targeted). Refused.
 */
export class ReceiptMismatchError extends ProtocolError {
  constructor(message: string) { super('RECEIPT_MISMATCH', message); }
}

/**
 * Why an identity key on a token cannot sign now: `absent` (no token with that
 * label is present), `pin` (PIN missing or refused, or the token is locked),
 * `module` (the PKCS#11 library does not load), `key` (the token lacks the key),
 * `unsupported` (this client cannot use tokens at all: a browser), `failed`
 * (the token refused the operation).
 */
export type IdentityKeyUnavailableReason = 'absent' | 'pin' | 'module' | 'key' | 'unsupported' | 'failed';

/** The identity's signing key lives on a token that cannot be used now; the message says what to do. */
export class IdentityKeyUnavailableError extends ProtocolError {
  readonly reason: IdentityKeyUnavailableReason;
  constructor(reason: IdentityKeyUnavailableReason, message: string) {
    super('IDENTITY_KEY_UNAVAILABLE', message);
    this.reason = reason;
  }
}
