/**
 * What the services, the hub and the context use of a connection, the relay and the push service, as interfaces
 * (connection.ts, services/relay.ts and services/push.ts implement them). Kept apart so that none of those files
 * imports another through the context: the connection calls every service, and every service gets the context.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CloseReason, ServerFrameSchema, SetPushSubscription } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Session } from './session.js';
import type {
  AckRequest, AckedMessage, EnqueueRequest, EnqueueResult, MultiEnqueueRequest, MultiEnqueueResult, QueuedMessage,
} from './storage/port.js';

export type ServerBody = MessageInitShape<typeof ServerFrameSchema>['body'];
/** A service's answer to a frame (undefined: none); `after` runs once it is written. */
export type Reply = { body: ServerBody; after?: () => void } | undefined;

/** One WebSocket connection, as the hub and the services see it. */
export interface Connection {
  /** The authenticated device, once authenticated. */
  readonly session: Session | undefined;
  readonly closed: boolean;
  /** The challenge nonce this connection's Register / LinkDevice / Authenticate signs. */
  readonly nonce: Uint8Array;
  /** The source the registration guard counts failures by (never logged). */
  readonly sourceKey: string;
  /** Binds the authenticated device; returns what to run once the answer is written. */
  establish(session: Session): () => void;
  /** A frame for this connection (answers carry their request id). */
  send(body: ServerBody, requestId?: bigint): void;
  /** A committed message for this device. */
  push(message: QueuedMessage): void;
  /** An online-only message (typing): sent if the connection can take it, never stored. */
  pushEphemeral(message: QueuedMessage): void;
  /** Reads the device's queue again (a wake-up from another node, a poll). */
  recheck(): Promise<void>;
  heartbeat(): void;
  close(reason: CloseReason, message: string): void;
}

/** The group commit (services/relay.ts). */
export interface RelayPort {
  /** recipientHex: toHex(req.recipient), when the caller has it already. */
  enqueue(req: EnqueueRequest, recipientHex?: string): Promise<EnqueueResult>;
  enqueueMulti(req: MultiEnqueueRequest): Promise<MultiEnqueueResult>;
  ack(req: AckRequest): Promise<AckedMessage[]>;
  /** True when the caller should stop reading; `resume` is called once the backlog is low again. */
  congested(resume: () => void): boolean;
}

/** Wake-up pushes (services/push.ts). */
export interface PushPort {
  readonly enabled: boolean;
  readonly vapidPublicKey: string | undefined;
  setSubscription(session: Session, f: SetPushSubscription): Promise<Reply>;
}
