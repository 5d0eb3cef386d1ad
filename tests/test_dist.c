/* Tests of engine/dist.c, the processes of a run without MPI: one process, rank 0 of 1, where
 * every collective is what it is on a single rank (the same library, built with MPI=1 but
 * never started by dist_init, behaves the same). The ranks of an MPI job are checked against
 * the plain build by tests/mpi/check.sh (make test-mpi). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../engine/dist.h"

static void test_one_rank(void **state)
{
    (void)state;
    assert_int_equal(dist_rank(), 0);
    assert_int_equal(dist_size(), 1);
    assert_int_equal(dist_share_long(-7), -7);
    assert_int_equal(dist_finish(143), 143);
}

/* Rank 0's bytes are the bytes: the same buffer back, its length unchanged; nothing stays
 * nothing. */
static void test_share_bytes(void **state)
{
    (void)state;
    char buf[] = "trial.csv";
    size_t len = sizeof buf;
    assert_ptr_equal(dist_share_bytes(buf, &len), buf);
    assert_int_equal(len, sizeof buf);
    len = 0;
    assert_null(dist_share_bytes(NULL, &len));
}

/* The largest and the sum over one rank are the values themselves. */
static void test_reductions(void **state)
{
    (void)state;
    long v[3] = {-1, 0, 15};
    dist_max_long(v, 3);
    assert_int_equal(v[0], -1);
    assert_int_equal(v[1], 0);
    assert_int_equal(v[2], 15);
    uint64_t u[2] = {UINT64_MAX, 3};
    dist_sum_u64(u, 2);
    assert_true(u[0] == UINT64_MAX && u[1] == 3);
}

/* With every flag 0 the gather is a copy of this rank's bytes; with a flag set nothing is
 * exchanged and the flags are this rank's (the largest over one rank). */
static void test_gather_all(void **state)
{
    (void)state;
    const char mine[] = {1, 2, 3, 4, 5};
    long flags[2] = {0, 0};
    void *all = NULL;
    size_t total = 99;
    assert_int_equal(dist_gather_all(mine, sizeof mine, flags, 2, &all, &total), 0);
    assert_non_null(all);
    assert_int_equal(total, sizeof mine);
    assert_memory_equal(all, mine, sizeof mine);
    free(all);
    assert_int_equal(dist_gather_all(mine, 0, flags, 2, &all, &total), 0);
    assert_non_null(all);
    assert_int_equal(total, 0);
    free(all);
    flags[1] = 2;
    assert_int_equal(dist_gather_all(mine, sizeof mine, flags, 2, &all, &total), 0);
    assert_null(all);
    assert_int_equal(total, 0);
    assert_int_equal(flags[0], 0);
    assert_int_equal(flags[1], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_rank),
        cmocka_unit_test(test_share_bytes),
        cmocka_unit_test(test_reductions),
        cmocka_unit_test(test_gather_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
