/* Tests of engine/hist.c: growth, merge, clear, and the statistics read from small histograms
 * whose answers are computed by hand in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "../engine/hist.h"

/* Every statistic below is exact or one or two roundings from exact, on numbers of order 10:
 * 1e-12 absolute is thousands of times the rounding error yet catches any wrong term. */
#define EXACT_TOL 1e-12

/* cmocka's assert_float_equal works in float precision, too coarse for EXACT_TOL. */
static void assert_near(double actual, double expected, double tol)
{
    if (!(fabs(actual - expected) <= tol))
        print_error("%.17g differs from %.17g by more than %g\n", actual, expected, tol);
    assert_true(fabs(actual - expected) <= tol);
}

/* Fills h with `count[v]` observations of each value v < n. */
static void add_counts(hist *h, const unsigned *count, size_t n)
{
    for (size_t v = 0; v < n; v++)
        for (unsigned i = 0; i < count[v]; i++)
            assert_int_equal(hist_add(h, v), 0);
}

/* The skewed example used below: 3 x 0, 5 x 2, 2 x 7 (total 10; cumulative 3, 8, 10). */
static const unsigned skewed[8] = {3, 0, 5, 0, 0, 0, 0, 2};

static void test_init_and_empty(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 0), 0); /* a zero request still gets one bin */
    assert_true(h.len >= 1);
    assert_int_equal(h.total, 0);
    assert_int_equal(hist_extent(&h), 0);
    assert_int_equal(hist_quantile(&h, 0.5), 0);
    assert_int_equal(hist_quantile(&h, 1.0), 0);
    assert_true(hist_mean(&h) == 0.0);
    assert_true(hist_variance(&h) == 0.0);
    assert_int_equal(hist_count_at_least(&h, 0), 0);
    hist_free(&h);
    hist_free(&h); /* freeing twice and freeing NULL are harmless */
    hist_free(NULL);
    assert_null(h.bin);
}

/* Growth doubles the allocation until the value fits: from 2 bins, value 5 needs 6 bins,
 * so 2 -> 4 -> 8; value 100 needs 101, so 8 -> 16 -> ... -> 128. Bins keep their counts. */
static void test_add_grows_by_doubling(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 2), 0);
    assert_int_equal(hist_add(&h, 0), 0);
    assert_int_equal(hist_add(&h, 1), 0);
    assert_int_equal(h.len, 2);
    assert_int_equal(hist_add(&h, 5), 0);
    assert_int_equal(h.len, 8);
    assert_int_equal(hist_add(&h, 100), 0);
    assert_int_equal(h.len, 128);
    assert_int_equal(hist_add(&h, 5), 0);
    assert_int_equal(h.bin[0], 1);
    assert_int_equal(h.bin[1], 1);
    assert_int_equal(h.bin[5], 2);
    assert_int_equal(h.bin[100], 1);
    for (size_t v = 6; v < 100; v++)
        assert_int_equal(h.bin[v], 0); /* new bins start at zero */
    assert_int_equal(h.total, 5);
    assert_int_equal(hist_extent(&h), 101);
    hist_free(&h);
}

/* A value whose bins could not be addressed in memory fails cleanly, leaving h unchanged
 * (no allocation is attempted: the size check comes first). */
static void test_add_impossible_value_fails(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 4), 0);
    assert_int_equal(hist_add(&h, 3), 0);
    assert_int_equal(hist_add(&h, SIZE_MAX), -1);
    assert_int_equal(hist_add(&h, SIZE_MAX / sizeof(uint64_t)), -1);
    assert_int_equal(h.len, 4);
    assert_int_equal(h.total, 1);
    assert_int_equal(h.bin[3], 1);
    hist_free(&h);
}

static void test_clear_keeps_allocation(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1), 0);
    add_counts(&h, skewed, 8);
    size_t len = h.len;
    hist_clear(&h);
    assert_int_equal(h.len, len);
    assert_int_equal(h.total, 0);
    for (size_t v = 0; v < h.len; v++)
        assert_int_equal(h.bin[v], 0);
    assert_int_equal(hist_extent(&h), 0);
    assert_int_equal(hist_add(&h, 2), 0);
    assert_int_equal(hist_quantile(&h, 0.5), 2);
    hist_free(&h);
}

/* Asserts that a and b hold the same observations (their allocations may differ). */
static void assert_same_hist(const hist *a, const hist *b)
{
    assert_int_equal(a->total, b->total);
    assert_int_equal(hist_extent(a), hist_extent(b));
    for (size_t v = 0; v < hist_extent(a); v++)
        assert_int_equal(a->bin[v], b->bin[v]);
}

/* Values split between a 1-bin and a 64-bin histogram, merged in either direction, give the
 * histogram of all the values added to one; merging leaves the source unchanged. */
static void test_merge_equals_adding_all(void **state)
{
    (void)state;
    static const size_t values[] = {3, 0, 17, 3, 200, 5, 5, 5, 63, 64, 1, 0, 3, 999, 2};
    const size_t n = sizeof values / sizeof values[0];
    hist all, small, big;
    assert_int_equal(hist_init(&all, 1), 0);
    assert_int_equal(hist_init(&small, 1), 0);
    assert_int_equal(hist_init(&big, 64), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(hist_add(&all, values[i]), 0);
        /* small gets the small values only, so it stays smaller than big */
        assert_int_equal(hist_add(values[i] < 8 ? &small : &big, values[i]), 0);
    }
    hist small_copy, big_copy;
    assert_int_equal(hist_init(&small_copy, 1), 0);
    assert_int_equal(hist_init(&big_copy, 1), 0);
    assert_int_equal(hist_merge(&small_copy, &small), 0);
    assert_int_equal(hist_merge(&big_copy, &big), 0);
    assert_same_hist(&small_copy, &small);

    assert_int_equal(hist_merge(&small, &big), 0); /* small grows to big's extent */
    assert_same_hist(&small, &all);
    assert_same_hist(&big, &big_copy);
    assert_int_equal(hist_merge(&big_copy, &small_copy), 0); /* big absorbs a shorter one */
    assert_same_hist(&big_copy, &all);
    for (int i = 1; i < 20; i++)
        assert_int_equal(hist_quantile(&big_copy, i / 20.0), hist_quantile(&all, i / 20.0));

    hist_free(&all);
    hist_free(&small);
    hist_free(&big);
    hist_free(&small_copy);
    hist_free(&big_copy);
}

/* Merging a histogram into itself doubles every bin (extent never exceeds its own length, so
 * no reallocation can pull the source away). */
static void test_merge_into_itself(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1), 0);
    add_counts(&h, skewed, 8);
    assert_int_equal(hist_merge(&h, &h), 0);
    assert_int_equal(h.total, 20);
    assert_int_equal(h.bin[0], 6);
    assert_int_equal(h.bin[2], 10);
    assert_int_equal(h.bin[7], 4);
    hist_free(&h);
}

/* hist_add_all gives the histogram of adding its values one at a time, growing on the way:
 * from 2 bins, value 9 needs 10 (2 -> 16) and value 300 needs 301 (16 -> 512); runs of one
 * value, as the engine's counts have, land in one bin. */
static void test_add_all_equals_adding_each(void **state)
{
    (void)state;
    static const size_t values[] = {1, 1, 1, 0, 9, 9, 1, 300, 2, 2, 2, 2, 0, 9, 1};
    const size_t n = sizeof values / sizeof values[0];
    hist each, all;
    assert_int_equal(hist_init(&each, 2), 0);
    assert_int_equal(hist_init(&all, 2), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hist_add(&each, values[i]), 0);
    assert_int_equal(hist_add_all(&all, values, 4), 0); /* within the bins */
    assert_int_equal(all.len, 2);
    assert_int_equal(hist_add_all(&all, values + 4, n - 4), 0);
    assert_int_equal(all.len, 512);
    assert_same_hist(&all, &each);
    assert_int_equal(all.bin[1], 5);
    assert_int_equal(all.bin[2], 4);
    assert_int_equal(all.total, 15);
    assert_int_equal(hist_add_all(&all, values, 0), 0); /* nothing to add */
    assert_int_equal(all.total, 15);
    hist_free(&each);
    hist_free(&all);
}

/* A value that cannot be addressed stops hist_add_all there: the values before it are added
 * (3 and 5), the total counts them and only them, and the bins keep their size. */
static void test_add_all_stops_at_impossible_value(void **state)
{
    (void)state;
    const size_t values[] = {3, 5, SIZE_MAX, 2};
    hist h;
    assert_int_equal(hist_init(&h, 8), 0);
    assert_int_equal(hist_add_all(&h, values, 4), -1);
    assert_int_equal(h.len, 8);
    assert_int_equal(h.total, 2);
    assert_int_equal(h.bin[3], 1);
    assert_int_equal(h.bin[5], 1);
    assert_int_equal(h.bin[2], 0);
    hist_free(&h);
}

/* Values 1..10 once each. Type 1 quantile = the k-th smallest with k = ceil(10 q):
 * q 0.05 -> k 1 -> 1; 0.10 -> 1 -> 1; 0.25 -> 3 -> 3; 0.50 -> 5 -> 5 (not 6: 0.5 * 10 is exactly
 * 5); 0.75 -> 8 -> 8; 0.90 -> 9 -> 9; 0.95 -> 10 -> 10; 1 -> 10 -> 10. */
static void test_quantiles_one_to_ten(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 4), 0);
    for (size_t v = 1; v <= 10; v++)
        assert_int_equal(hist_add(&h, v), 0);
    static const struct {
        double q;
        size_t want;
    } cases[] = {{0.05, 1}, {0.10, 1}, {0.25, 3}, {0.50, 5},  {0.75, 8},
                 {0.90, 9}, {0.95, 10}, {1.0, 10}, {0.51, 6}, {0.49, 5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(hist_quantile(&h, cases[i].q), cases[i].want);
    hist_free(&h);
}

/* Values 0..99 once each: the q = i/100 quantile is the i-th smallest, value i - 1, for every
 * i = 1..99. In doubles, (i / 100.0) * 100 rounds above i for i = 7, 14, 28, 55, 56
 * (0.07 * 100 is 7.000000000000001), where a bare ceil would give value i, and below i for
 * i = 29, 57, 58 (0.29 * 100 is 28.999999999999996). */
static void test_quantiles_of_hundred_percentiles(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 100), 0);
    for (size_t v = 0; v < 100; v++)
        assert_int_equal(hist_add(&h, v), 0);
    for (size_t i = 1; i <= 99; i++)
        assert_int_equal(hist_quantile(&h, (double)i / 100.0), i - 1);
    assert_int_equal(hist_quantile(&h, 0.07), 6);
    hist_free(&h);
}

/* The skewed example (cumulative counts 3 at 0, 8 at 2, 10 at 7):
 * q 0.05 -> k 1 -> 0; 0.30 -> 3 -> 0; 0.31 -> 4 -> 2; 0.50 -> 5 -> 2; 0.80 -> 8 -> 2;
 * 0.81 -> 9 -> 7; 0.95 -> 10 -> 7; 1 -> 7. Out-of-range q clamps: 0 and 1e-300 give the
 * smallest value seen, 2 the largest. */
static void test_quantiles_skewed(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1), 0);
    add_counts(&h, skewed, 8);
    static const struct {
        double q;
        size_t want;
    } cases[] = {{0.05, 0}, {0.30, 0}, {0.31, 2}, {0.50, 2}, {0.80, 2}, {0.81, 7},
                 {0.95, 7}, {1.0, 7},  {0.0, 0},  {1e-300, 0}, {2.0, 7}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(hist_quantile(&h, cases[i].q), cases[i].want);
    hist_free(&h);
}

/* One observation of 4: every quantile is 4. */
static void test_quantiles_single_value(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1), 0);
    assert_int_equal(hist_add(&h, 4), 0);
    for (int i = 1; i < 20; i++)
        assert_int_equal(hist_quantile(&h, i / 20.0), 4);
    assert_int_equal(hist_quantile(&h, 1.0), 4);
    hist_free(&h);
}

/* Skewed example: mean (3*0 + 5*2 + 2*7) / 10 = 24 / 10 = 2.4;
 * variance (population) = (3 * 2.4^2 + 5 * 0.4^2 + 2 * 4.6^2) / 10
 *                       = (17.28 + 0.8 + 42.32) / 10 = 6.04 (= 11.8 - 2.4^2). */
static void test_mean_and_variance(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1), 0);
    add_counts(&h, skewed, 8);
    assert_near(hist_mean(&h), 2.4, EXACT_TOL);
    assert_near(hist_variance(&h), 6.04, EXACT_TOL);
    hist_clear(&h);
    assert_int_equal(hist_add(&h, 9), 0); /* one value: mean 9, variance 0 */
    assert_near(hist_mean(&h), 9.0, EXACT_TOL);
    assert_near(hist_variance(&h), 0.0, EXACT_TOL);
    hist_free(&h);
}

/* Skewed example: >= 0: 10; >= 1 and >= 2: 7; >= 3 .. >= 7: 2; >= 8 and beyond the bins: 0. */
static void test_count_at_least(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1), 0);
    add_counts(&h, skewed, 8);
    assert_int_equal(hist_count_at_least(&h, 0), 10);
    assert_int_equal(hist_count_at_least(&h, 1), 7);
    assert_int_equal(hist_count_at_least(&h, 2), 7);
    assert_int_equal(hist_count_at_least(&h, 3), 2);
    assert_int_equal(hist_count_at_least(&h, 7), 2);
    assert_int_equal(hist_count_at_least(&h, 8), 0);
    assert_int_equal(hist_count_at_least(&h, 1000000), 0);
    assert_int_equal(hist_extent(&h), 8);
    hist_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_empty),
        cmocka_unit_test(test_add_grows_by_doubling),
        cmocka_unit_test(test_add_impossible_value_fails),
        cmocka_unit_test(test_add_all_equals_adding_each),
        cmocka_unit_test(test_add_all_stops_at_impossible_value),
        cmocka_unit_test(test_clear_keeps_allocation),
        cmocka_unit_test(test_merge_equals_adding_all),
        cmocka_unit_test(test_merge_into_itself),
        cmocka_unit_test(test_quantiles_one_to_ten),
        cmocka_unit_test(test_quantiles_of_hundred_percentiles),
        cmocka_unit_test(test_quantiles_skewed),
        cmocka_unit_test(test_quantiles_single_value),
        cmocka_unit_test(test_mean_and_variance),
        cmocka_unit_test(test_count_at_least),
    };
    return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
