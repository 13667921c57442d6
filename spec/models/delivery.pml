/*
 * Sigilo delivery protocol (spec/server.md §4, spec/client.md): send, durable
 * commit, acknowledgement, retry with the same message id, dedupe, reconnect,
 * and the multi-node wake-up. Checked by Spin (spec/models/README.md) for
 *   - no loss: every message sent is acknowledged, and once acknowledged it is
 *     stored on every device of the recipient;
 *   - no duplicate shown to a person: a device shows each message id at most once.
 *
 * One sender device S (connected to node N1) sends M = 2 messages to one person
 * with D = 2 devices (connected to node N2). The nodes share the durable store
 * (PostgreSQL): the table of accepted message ids and the per-device queues. A
 * commit on N1 publishes a wake-up (NATS / Redis) to N2, which may be lost; N2
 * reads a device's queue when the device (re)connects and polls it. Either node
 * may be killed (kill -9) at any moment, MAXCRASH times in all: its connections
 * drop with every frame in flight and its volatile state is gone; the store stays.
 *
 * A frame in flight is not a state of its own: a crash while it travels has the
 * same outcome as a crash just before it was sent (it is lost), so "send and
 * receive" is one step. The steps that a crash can separate are kept apart:
 * commit / acknowledge / publish the wake-up on N1; store / acknowledge on a device.
 *
 * Mutants (spin -DNAME), each of which Spin must refute:
 *   NO_DEDUPE          the device shows a redelivered id again
 *   NO_RETRY           the client does not send an unacknowledged message again after reconnecting
 *   NO_POLL            N2 neither polls nor reads the queue on reconnect: only the wake-up
 *   ACK_BEFORE_COMMIT  N1 acknowledges, then commits
 */

#define M 2
#ifndef MAXCRASH
#define MAXCRASH 3
#endif
/* The devices' indices are written out below (queue[0..1] device 0, queue[2..3] device 1). */
#define D 2

/* Sender device. The outbox is durable (its own store) and flushed in order, one
   request at a time (client.ts flush awaits each send): `cur` is the first entry
   not yet acknowledged (M: empty). */
bool pending[M];          /* in the outbox */
bool acked[M];            /* status `sent`: the server acknowledged it */
byte cur;
bool waiting;             /* the Send of `cur` is out on the current connection */
bool sconn;               /* S is connected to N1 */

/* N1 volatile: a request committed, not answered yet (id + 1); a wake-up not published yet. */
byte toAnswer;
bool toPublish;

/* The durable store, shared by the nodes. */
bool committed[M];        /* accepted ids (the server's dedupe) */
bool queue[D * M];        /* queue[d*M+m]: held for device d until it acknowledges it */

/* The wake-up from N1 to N2 (may be lost). */
bool wake;

/* N2: the devices' connections, and what it pushed on each (volatile). */
bool dconn[D];
bool pushed[D * M];

/* Recipient devices (durable stores). */
bool stored[D * M];
byte shown[D * M];        /* how many times a `message` event showed it */
bool toAck[D * M];        /* stored; its acknowledgement not sent yet */

byte crashes;
hidden byte m, d, i;      /* scratch indices, not part of the state */

/* The device receives message m (one Deliver): stores it unless the id is held already. */
inline receive(d, m) {
  if
#ifdef NO_DEDUPE
  :: true -> stored[d * M + m] = 1; shown[d * M + m]++
#else
  :: !stored[d * M + m] -> stored[d * M + m] = 1; shown[d * M + m]++
  :: else -> skip       /* held already: stored and shown once */
#endif
  fi;
  assert(shown[d * M + m] <= 1);
  toAck[d * M + m] = 1
}

/* N2 pushes device d's queue: everything not pushed on this connection yet. */
inline pushAll(d) {
  m = 0;
  do
  :: m < M ->
     if
     :: queue[d * M + m] && !pushed[d * M + m] -> pushed[d * M + m] = 1; receive(d, m)
     :: else -> skip
     fi;
     m++
  :: else -> break
  od;
  m = 0
}

/* N1 commits message m for every device in one transaction and records its id; a known id is a duplicate, stored once. */
inline commit(m) {
  if
  :: !committed[m] -> committed[m] = 1; d = 0; do :: d < D -> queue[d * M + m] = 1; d++ :: else -> break od; d = 0; toPublish = 1
  :: else -> skip
  fi
}

proctype Sender() {
end:
  do
  /* Send the first outbox entry (the first time, or again after reconnecting: the same id); N1 receives it. */
  :: atomic { sconn && !waiting && cur < M -> waiting = 1;
#ifdef ACK_BEFORE_COMMIT
       acked[cur] = 1; pending[cur] = 0; toAnswer = cur + 1; cur++; waiting = 0
#else
       commit(cur); toAnswer = cur + 1
#endif
     }
  /* The connection dropped: reconnect; the entry in flight is sent again. */
  :: atomic { !sconn -> sconn = 1;
#ifndef NO_RETRY
       waiting = 0
#endif
     }
  od
}

proctype N1() {
end:
  do
#ifdef ACK_BEFORE_COMMIT
  /* The commit comes after the acknowledgement went out. */
  :: atomic { toAnswer != 0 -> m = toAnswer - 1; toAnswer = 0; commit(m); m = 0 }
#else
  /* The acknowledgement, after the commit (a crash in between loses it: S retries, the id dedupes);
     S marks the message sent and goes on to the next. */
  :: atomic { toAnswer != 0 -> acked[toAnswer - 1] = 1; pending[toAnswer - 1] = 0; toAnswer = 0; waiting = 0; cur++ }
#endif
  /* Then the wake-up for the node holding the recipient's connections. */
  :: atomic { toPublish -> toPublish = 0; wake = 1 }
  od
}

proctype N2() {
end:
  do
  :: atomic { wake -> wake = 0; d = 0; do :: d < D -> if :: dconn[d] -> pushAll(d) :: else -> skip fi; d++ :: else -> break od; d = 0 }
#ifndef NO_POLL
  /* A device (re)connects: its queue is read at once. */
  :: atomic { !dconn[0] -> dconn[0] = 1; d = 0; pushAll(d) }
  :: atomic { !dconn[1] -> dconn[1] = 1; d = 1; pushAll(d); d = 0 }
  /* The poll finds what a lost wake-up did not announce (a poll that finds nothing changes nothing: not modelled). */
  :: atomic { dconn[0] && ((queue[0] && !pushed[0]) || (queue[1] && !pushed[1])) -> d = 0; pushAll(d) }
  :: atomic { dconn[1] && ((queue[2] && !pushed[2]) || (queue[3] && !pushed[3])) -> d = 1; pushAll(d); d = 0 }
#else
  :: atomic { !dconn[0] -> dconn[0] = 1 }
  :: atomic { !dconn[1] -> dconn[1] = 1 }
#endif
  od
}

/* A device acknowledges what it stored (after its store committed); N2 removes it from the queue. */
proctype Device(byte dev) {
end:
  do
  :: atomic { toAck[dev * M] -> toAck[dev * M] = 0; if :: dconn[dev] -> queue[dev * M] = 0; pushed[dev * M] = 0 :: else -> skip fi }
  :: atomic { toAck[dev * M + 1] -> toAck[dev * M + 1] = 0; if :: dconn[dev] -> queue[dev * M + 1] = 0; pushed[dev * M + 1] = 0 :: else -> skip fi }
  od
}

/* kill -9 of a node at any moment, MAXCRASH times in all; the wake-up may be lost. */
proctype Faults() {
end:
  do
  :: atomic { crashes < MAXCRASH -> crashes++;      /* N1: S's connection drops with what was in flight */
       sconn = 0; toAnswer = 0; toPublish = 0 }
  :: atomic { crashes < MAXCRASH -> crashes++;      /* N2: the devices' connections drop */
       i = 0; do :: i < D * M -> pushed[i] = 0; i++ :: else -> break od;
       i = 0; do :: i < D -> dconn[i] = 0; i++ :: else -> break od; i = 0 }
  :: atomic { wake -> wake = 0 }                    /* the wake-up is lost */
  :: break
  od
}

/* When nothing can move any more: everything sent was acknowledged, and every
   acknowledged message is on every device of the recipient, shown once. */
proctype Quiescence() {
  timeout ->
  assert(pending[0] == 0 && pending[1] == 0);
  i = 0;
  do
  :: i < D * M -> assert(acked[i % M] && stored[i] && shown[i] == 1); i++
  :: else -> break
  od
}

init {
  atomic {
    pending[0] = 1; pending[1] = 1; sconn = 1;
    dconn[0] = 1; dconn[1] = 1;
    run Sender(); run N1(); run N2(); run Device(0); run Device(1); run Faults(); run Quiescence()
  }
}
