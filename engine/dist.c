/* The processes of one run, without MPI (see dist.h): one process, rank 0 of 1. Every function
 * is what the collective operation is on a single rank. The MPI build compiles
 * engine/dist_mpi.c instead of this file. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

int dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int dist_rank(void)
{
    return 0;
}

int dist_size(void)
{
    return 1;
}

int dist_finish(int rc)
{
    return rc;
}

long dist_share_long(long v)
{
    return v;
}

void *dist_share_bytes(void *buf, size_t *len)
{
    (void)len;
    return buf;
}

void dist_max_long(long *v, size_t n)
{
    (void)v;
    (void)n;
}

void dist_sum_u64(uint64_t *v, size_t n)
{
    (void)v;
    (void)n;
}

int dist_gather_all(const void *mine, size_t len, long *flags, size_t n_flags, void **all,
                    size_t *total)
{
    *all = NULL;
    *total = 0;
    for (size_t i = 0; i < n_flags; i++)
        if (flags[i])
            return 0;
    *all = malloc(len ? len : 1);
    if (!*all)
        return -1;
    if (len)
        memcpy(*all, mine, len);
    *total = len;
    return 0;
}
