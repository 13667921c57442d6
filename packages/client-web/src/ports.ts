/**
 * The I/O ports of the client core (client.md §7.3, §7.4) that the browser
 * adapters implement. They are defined by the core (@sigilo/client ports.ts)
 * and re-exported here, so both sides always agree on their shapes.
 */
export type { ByteSink, ByteSource, FrameConnection, HttpRequest, HttpResponse, Transport } from '@sigilo/client';
