/** Protobuf helpers: every parse failure becomes a typed DecodeError. */
import { fromBinary, toBinary, create, type DescMessage, type MessageShape, type MessageInitShape } from '@bufbuild/protobuf';
import { DecodeError } from './errors.js';

export function decodeProto<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array, what: string): MessageShape<Desc> {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: expected bytes`);
  try {
    return fromBinary(schema, bytes, { readUnknownFields: false });
  } catch {
    throw new DecodeError(`${what}: malformed encoding`);
  }
}

export function encodeProto<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Uint8Array {
  return toBinary(schema, create(schema, init));
}
