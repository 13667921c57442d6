/** Protobuf helpers: every parse failure becomes a typed DecodeError. */
import { fromBinary, toBinary, create, type DescMessage, type MessageShape, type MessageInitShape } from '@bufbuild/protobuf';
import { DecodeError, InvalidArgumentError } from './errors.js';

export function decodeProto<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array, what: string): MessageShape<Desc> {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: expected bytes`);
  try {
    // Decode from a private copy: decoded bytes fields are views into it, never
    // into the caller's buffer (which the caller may reuse or wipe).
    return fromBinary(schema, bytes.slice(), { readUnknownFields: false });
  } catch {
    throw new DecodeError(`${what}: malformed encoding`);
  }
}

export function encodeProto<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Uint8Array {
  try {
    return toBinary(schema, create(schema, init));
  } catch {
    throw new InvalidArgumentError(`${schema.name}: a field is out of range`);
  }
}
