/*
 * Fork choice of the group membership log (spec/groups.md §4.5, implemented
 * incrementally by GroupLog in packages/protocol/src/group/membership.ts):
 * every device that holds the same entries has the same head, whatever order
 * they arrived in, and the branch of the most senior admin wins over a longer
 * branch of a junior one. spec/models/README.md describes the abstraction.
 *
 * A fixed tree of N = 7 valid entries over the genesis (entry 0); D = 2 devices
 * each receive all of them in any order (every interleaving). An entry whose
 * parent is not held yet waits (OUT_OF_ORDER_GROUP_ENTRY: the client obtains the
 * parent and adds the entry again) and is added after its parent. Adding an entry
 * recomputes the choice at its parent and every ancestor, as GroupLog#insert does:
 * at a node, the child whose best chain has the most senior author wins, then the
 * longer best chain, then the smaller entry hash.
 *
 *            0 (genesis: admins A rank 0, B rank 1; member C)
 *          / |  \
 *    A: 1  B: 2  C: 4        (C, not an admin, ranks after every admin)
 *    /  \    |
 * B: 5  B: 6 B: 3
 *            |
 *            B: 7            B's branch is the longest (3), A's is the most senior.
 *
 * Expected head: 6 (A's branch; inside it, 5 and 6 tie on rank and length, 6 has the smaller hash).
 *
 * Mutants (spin -DNAME), each of which Spin must refute:
 *   LONGEST_CHAIN     no seniority: the longest branch wins (the design brief's first rule)
 *   ARRIVAL_TIEBREAK  a tie goes to the child that arrived first instead of the smaller hash
 * CONVERGENCE_ONLY leaves out the expected-head assertion, so that with ARRIVAL_TIEBREAK
 * it is the convergence assertion (two devices, two heads) that Spin refutes.
 */

#define N 7               /* entries 1..N; 0 is the genesis */
#define D 2
#define NONE 255
#define IX(dev, e) ((dev) * (N + 1) + (e))

byte parent[N + 1];
byte rank[N + 1];         /* the author's seniority at the fork point (admins by rank, members 9) */
byte hash[N + 1];         /* the entry hash, as a number (lexicographic order) */

/* Per device. */
bool got[D * (N + 1)];    /* received (held or waiting for its parent) */
bool held[D * (N + 1)];   /* linked into the tree */
byte bestNext[D * (N + 1)];
byte bestLen[D * (N + 1)];
#ifdef ARRIVAL_TIEBREAK
byte seq[D * (N + 1)];    /* arrival order */
byte arrivals[D];
#endif
byte head[D];
bool done[D];

hidden byte n, c, best, x, r, br, k;

/* The seniority of child c's branch on device dev: the lowest rank along its best chain. */
inline seniority(dev, c, r) {
  r = NONE; x = c;
  do
  :: x != NONE -> if :: rank[x] < r -> r = rank[x] :: else -> skip fi; x = bestNext[IX(dev, x)]
  :: else -> break
  od
}

/* The choice at node n on device dev. */
inline choose(dev, n) {
  best = NONE; br = NONE; c = 1;
  do
  :: c <= N ->
     if
     :: held[IX(dev, c)] && parent[c] == n ->
#ifdef LONGEST_CHAIN
        r = 0;
#else
        seniority(dev, c, r);
#endif
        if
        :: best == NONE -> best = c; br = r
        :: best != NONE && (r < br || (r == br && (bestLen[IX(dev, c)] > bestLen[IX(dev, best)] ||
#ifdef ARRIVAL_TIEBREAK
             (bestLen[IX(dev, c)] == bestLen[IX(dev, best)] && seq[IX(dev, c)] < seq[IX(dev, best)])))) -> best = c; br = r
#else
             (bestLen[IX(dev, c)] == bestLen[IX(dev, best)] && hash[c] < hash[best])))) -> best = c; br = r
#endif
        :: else -> skip
        fi
     :: else -> skip
     fi;
     c++
  :: else -> break
  od;
  bestNext[IX(dev, n)] = best;
  if :: best == NONE -> bestLen[IX(dev, n)] = 1 :: else -> bestLen[IX(dev, n)] = bestLen[IX(dev, best)] + 1 fi
}

/* Links entry e in and recomputes the choice from its parent up to the genesis; then the head. */
inline insert(dev, e) {
  held[IX(dev, e)] = 1; bestNext[IX(dev, e)] = NONE; bestLen[IX(dev, e)] = 1;
  n = parent[e];
  do
  :: n != NONE -> choose(dev, n); if :: n == 0 -> n = NONE :: else -> n = parent[n] fi
  :: else -> break
  od;
  n = 0;
  do :: bestNext[IX(dev, n)] != NONE -> n = bestNext[IX(dev, n)] :: else -> break od;
  head[dev] = n;
  n = 0; c = 0; best = 0; x = 0; r = 0; br = 0
}

/* Adds every waiting entry whose parent is now held, until none is left. */
inline drain(dev) {
  k = 1;
  do
  :: k <= N ->
     if
     :: got[IX(dev, k)] && !held[IX(dev, k)] && held[IX(dev, parent[k])] -> insert(dev, k); k = 1
     :: else -> k++
     fi
  :: else -> break
  od;
  k = 0
}

/* Entry e arrives at device dev (each exactly once, in any order). */
inline arrive(dev, e) {
  got[IX(dev, e)] = 1;
#ifdef ARRIVAL_TIEBREAK
  arrivals[dev]++; seq[IX(dev, e)] = arrivals[dev];
#endif
  drain(dev)
}

proctype Device(byte dev) {
  do
  :: d_step { !got[IX(dev, 1)] -> arrive(dev, 1) }
  :: d_step { !got[IX(dev, 2)] -> arrive(dev, 2) }
  :: d_step { !got[IX(dev, 3)] -> arrive(dev, 3) }
  :: d_step { !got[IX(dev, 4)] -> arrive(dev, 4) }
  :: d_step { !got[IX(dev, 5)] -> arrive(dev, 5) }
  :: d_step { !got[IX(dev, 6)] -> arrive(dev, 6) }
  :: d_step { !got[IX(dev, 7)] -> arrive(dev, 7) }
  :: else -> break
  od;
#ifndef CONVERGENCE_ONLY
  /* Holding every entry: the branch of the most senior admin, then the tie-break by hash. */
  assert(head[dev] == 6);
#endif
  done[dev] = 1
}

/* Convergence: devices holding the same entries have the same head. */
proctype Converge() {
  (done[0] && done[1]) -> assert(head[0] == head[1])
}

init {
  atomic {
    parent[0] = NONE; rank[0] = 0; hash[0] = 0;
    parent[1] = 0; rank[1] = 0; hash[1] = 50;    /* A */
    parent[2] = 0; rank[2] = 1; hash[2] = 10;    /* B */
    parent[3] = 2; rank[3] = 1; hash[3] = 30;    /* B */
    parent[4] = 0; rank[4] = 9; hash[4] = 5;     /* C, a member (leaving) */
    parent[5] = 1; rank[5] = 1; hash[5] = 40;    /* B */
    parent[6] = 1; rank[6] = 1; hash[6] = 20;    /* B */
    parent[7] = 3; rank[7] = 1; hash[7] = 60;    /* B */
    bestNext[IX(0, 0)] = NONE; bestNext[IX(1, 0)] = NONE;
    bestLen[IX(0, 0)] = 1; bestLen[IX(1, 0)] = 1;
    held[IX(0, 0)] = 1; held[IX(1, 0)] = 1;
    run Device(0); run Device(1); run Converge()
  }
}
