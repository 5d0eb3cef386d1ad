/* The processes of one run over MPI (see dist.h), compiled instead of engine/dist.c by
 * `make MPI=1` (mpicc, Open MPI). Only the main thread calls MPI (MPI_THREAD_FUNNELED): the
 * OpenMP threads of a rank never do. Every exchange is on MPI_COMM_WORLD, in bytes or 64-bit
 * integers; a step that could fail for lack of memory on one rank is followed by an agreement
 * (MPI_Allreduce of a flag), so that every rank takes the same branch and none waits forever. */
#include "dist.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mpi.h>

/* Until dist_init (a test program linking the library never calls it), and with one rank, every
 * call below is what it is on one process, without MPI. */
static int rank = 0, size = 1, started = 0;

int dist_init(int *argc, char ***argv)
{
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "accrue: MPI could not start\n");
        return -1;
    }
    started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != 0) {
        /* Only rank 0 speaks: the others run the same command into /dev/null. */
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            fflush(NULL);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            if (fd > STDERR_FILENO)
                close(fd);
        }
    }
    return 0;
}

int dist_rank(void)
{
    return rank;
}

int dist_size(void)
{
    return size;
}

int dist_finish(int rc)
{
    int shared = rc;
    if (size > 1)
        MPI_Bcast(&shared, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (started)
        MPI_Finalize();
    return shared;
}

long dist_share_long(long v)
{
    if (size == 1)
        return v;
    MPI_Bcast(&v, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    return v;
}

/* 1 on every rank when ok is 1 on every rank. */
static int all_ok(int ok)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

/* MPI counts are ints: a buffer is broadcast in pieces of at most INT_MAX bytes. */
static void bcast_bytes(char *buf, size_t len)
{
    for (size_t at = 0; at < len;) {
        int n = len - at > INT_MAX ? INT_MAX : (int)(len - at);
        MPI_Bcast(buf + at, n, MPI_BYTE, 0, MPI_COMM_WORLD);
        at += (size_t)n;
    }
}

void *dist_share_bytes(void *buf, size_t *len)
{
    if (size == 1)
        return buf;
    uint64_t head[2] = {buf != NULL, rank == 0 && buf ? (uint64_t)*len : 0};
    MPI_Bcast(head, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (!head[0]) {
        if (rank != 0)
            *len = 0;
        return rank == 0 ? buf : NULL;
    }
    char *copy = rank == 0 ? buf : malloc(head[1] ? head[1] : 1);
    if (!all_ok(copy != NULL)) {
        if (rank != 0)
            free(copy);
        *len = 0;
        return NULL;
    }
    bcast_bytes(copy, head[1]);
    *len = head[1];
    return copy;
}

void dist_max_long(long *v, size_t n)
{
    if (size == 1)
        return;
    MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
}

void dist_sum_u64(uint64_t *v, size_t n)
{
    if (size == 1)
        return;
    for (size_t at = 0; at < n;) {
        int k = n - at > INT_MAX ? INT_MAX : (int)(n - at);
        MPI_Allreduce(MPI_IN_PLACE, v + at, k, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        at += (size_t)k;
    }
}

#define MAX_FLAGS 8

int dist_gather_all(const void *mine, size_t len, long *flags, size_t n_flags, void **all,
                    size_t *total)
{
    *all = NULL;
    *total = 0;
    if (size == 1) {
        for (size_t i = 0; i < n_flags; i++)
            if (flags[i])
                return 0;
        if (!(*all = malloc(len ? len : 1)))
            return -1;
        memcpy(*all, mine, len);
        *total = len;
        return 0;
    }
    if (n_flags > MAX_FLAGS)
        return -1;   /* the same on every rank: a caller's mistake, not a state */
    /* Step 1: every rank's length and flags, on every rank. */
    const int width = 1 + MAX_FLAGS;
    int64_t head[1 + MAX_FLAGS] = {(int64_t)len};
    for (size_t i = 0; i < n_flags; i++)
        head[1 + i] = flags[i];
    int64_t *heads = malloc((size_t)size * (size_t)width * sizeof *heads);
    if (!all_ok(heads != NULL)) {
        free(heads);
        return -1;
    }
    MPI_Allgather(head, width, MPI_INT64_T, heads, width, MPI_INT64_T, MPI_COMM_WORLD);
    int any = 0;
    uint64_t sum = 0;
    for (int r = 0; r < size; r++) {
        sum += (uint64_t)heads[r * width];
        for (size_t i = 0; i < n_flags; i++) {
            long f = (long)heads[r * width + 1 + (int)i];
            if (r == 0 || f > flags[i])
                flags[i] = f;
        }
    }
    for (size_t i = 0; i < n_flags; i++)
        any |= flags[i] != 0;
    if (any || sum > INT_MAX) {
        free(heads);
        return any ? 0 : -1;   /* past INT_MAX bytes: the same answer on every rank */
    }
    /* Step 2: the bytes, in rank order. */
    int *count = malloc((size_t)size * sizeof *count), *displ = malloc((size_t)size * sizeof *displ);
    char *buf = malloc(sum ? sum : 1);
    if (!all_ok(count && displ && buf)) {
        free(heads);
        free(count);
        free(displ);
        free(buf);
        return -1;
    }
    int at = 0;
    for (int r = 0; r < size; r++) {
        count[r] = (int)heads[r * width];
        displ[r] = at;
        at += count[r];
    }
    MPI_Allgatherv(mine, (int)len, MPI_BYTE, buf, count, displ, MPI_BYTE, MPI_COMM_WORLD);
    free(heads);
    free(count);
    free(displ);
    *all = buf;
    *total = sum;
    return 0;
}
