/* The processes of one run. accrue is one process by default (engine/dist.c: rank 0 of 1, every
 * call below a no-op or a copy); built with MPI=1 it is one rank of an MPI job
 * (engine/dist_mpi.c, Open MPI), where every rank runs the same command on the same inputs
 * ("single program, multiple data"): rank 0 alone reads the scenario and --out and writes,
 * and the simulation divides its blocks among the ranks (engine/sim.c). The functions below
 * are the only places ranks talk to each other; each is collective: every rank calls it, at
 * the same point of the same command, or the job hangs. */
#ifndef ACCRUE_DIST_H
#define ACCRUE_DIST_H

#include <stddef.h>
#include <stdint.h>

/* Starts the job (MPI_Init) before anything else. On ranks other than 0, standard output and
 * standard error go to /dev/null: only rank 0 speaks. Returns 0, or -1 with a message on
 * standard error (the job cannot start). */
int dist_init(int *argc, char ***argv);

/* This process's rank (0 .. dist_size() - 1) and the number of ranks. */
int dist_rank(void);
int dist_size(void);

/* Ends the job: every rank returns rank 0's exit status rc (so a job ends with the status the
 * README gives whatever rank saw it first). After it no other dist_ call may come. */
int dist_finish(int rc);

/* Rank 0's v, on every rank. */
long dist_share_long(long v);

/* Rank 0's bytes, on every rank: on rank 0 returns buf (len unchanged); elsewhere a malloc'd
 * copy (the caller frees) with *len set. A NULL buf on rank 0 gives NULL everywhere ("nothing
 * to share", e.g. after an error). NULL on a rank that ran out of memory: then on every rank,
 * with *len 0 (rank 0's buf is not freed). */
void *dist_share_bytes(void *buf, size_t *len);

/* v[0..n-1] replaced by the largest over the ranks of each, on every rank. */
void dist_max_long(long *v, size_t n);

/* v[0..n-1] replaced by the sum over the ranks of each, on every rank: exact, since they are
 * integers (counts of trials, at most 10^12 in all, far below 2^64). */
void dist_sum_u64(uint64_t *v, size_t n);

/* Every rank gives `len` bytes and n_flags numbers. Afterwards flags[i] holds the largest
 * flags[i] of any rank. If every flag is then 0, *all receives every rank's bytes concatenated
 * in rank order (malloc'd, the caller frees; *total its length); else nothing more is
 * exchanged and *all is NULL. Returns 0, or -1 on every rank when some rank ran out of memory
 * (*all NULL). */
int dist_gather_all(const void *mine, size_t len, long *flags, size_t n_flags, void **all,
                    size_t *total);

#endif
