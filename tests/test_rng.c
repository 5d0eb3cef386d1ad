/* Tests of engine/rng.c: Philox4x32-10 known answers, the stream layout, copies and replays,
 * the double conversion, and two statistical checks with derived tolerances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "../engine/rng.h"

/* Known answers from Random123's tests/kat_vectors (D. E. Shaw Research), the three
 * "philox4x32 10" lines, columns counter[4] key[2] -> output[4]:
 *   00000000 00000000 00000000 00000000 00000000 00000000 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8
 *   ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff -> 408f276d 41c83b0e a20bc7c6 6d5451fd
 *   243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0 -> d16cfe09 94fdcceb 5001e420 24126ea1
 * (the last input is the hex digits of pi). */
static void test_known_answers(void **state)
{
    (void)state;
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        rng_philox4x32_10(kat[i].ctr, kat[i].key, out);
        for (int w = 0; w < 4; w++)
            assert_int_equal(out[w], kat[i].out[w]);
    }
}

static void test_type_description(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(r);
    assert_string_equal(gsl_rng_name(r), "philox4x32-10");
    assert_int_equal(gsl_rng_min(r), 0);
    assert_int_equal(gsl_rng_max(r), 0xffffffffUL);
    gsl_rng_free(r);
}

/* Output i of stream (seed, stream) is word i % 4 of Philox under key (seed low, seed high) at
 * counter (i / 4 low, i / 4 high, stream low, stream high): checked word by word against the
 * bijection for the first 5 blocks, with every half of seed and stream non-zero. */
static void test_stream_layout(void **state)
{
    (void)state;
    const uint64_t seed = UINT64_C(0x0123456789abcdef), stream = UINT64_C(0xfedcba9876543210);
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    rng_seek(r, seed, stream);
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (uint32_t block = 0; block < 5; block++) {
        const uint32_t ctr[4] = {block, 0, (uint32_t)stream, (uint32_t)(stream >> 32)};
        uint32_t out[4];
        rng_philox4x32_10(ctr, key, out);
        for (int w = 0; w < 4; w++)
            assert_int_equal(gsl_rng_get(r), out[w]);
    }
    gsl_rng_free(r);
}

/* The block index carries from counter word 0 into word 1: started at block 2^32 - 1 (through
 * the exposed state), the stream must produce block 2^32 - 1, then block 2^32 = (0, 1). */
static void test_counter_carry(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    rng_seek(r, 7, 9);
    rng_state *s = r->state;
    s->ctr[0] = 0xffffffff;
    const uint32_t key[2] = {7, 0};
    const uint32_t ctr_last[4] = {0xffffffff, 0, 9, 0}, ctr_next[4] = {0, 1, 9, 0};
    uint32_t out[4];
    rng_philox4x32_10(ctr_last, key, out);
    for (int w = 0; w < 4; w++)
        assert_int_equal(gsl_rng_get(r), out[w]);
    rng_philox4x32_10(ctr_next, key, out);
    for (int w = 0; w < 4; w++)
        assert_int_equal(gsl_rng_get(r), out[w]);
    gsl_rng_free(r);
}

/* gsl_rng_set(r, s) is documented as key s, stream 0. */
static void test_set_is_stream_zero(void **state)
{
    (void)state;
    gsl_rng *a = gsl_rng_alloc(rng_philox4x32), *b = gsl_rng_alloc(rng_philox4x32);
    gsl_rng_set(a, 123456789UL);
    rng_seek(b, 123456789, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(gsl_rng_get(a), gsl_rng_get(b));
    gsl_rng_free(a);
    gsl_rng_free(b);
}

/* A clone taken mid-block (an odd number of words drawn) must stay in step through any mix of
 * 32-bit draws and doubles: the whole state is plain data copied by gsl_rng_clone. */
static void test_copies_stay_identical(void **state)
{
    (void)state;
    gsl_rng *a = gsl_rng_alloc(rng_philox4x32);
    rng_seek(a, 42, 3);
    for (int i = 0; i < 7; i++)
        gsl_rng_get(a);
    gsl_rng *b = gsl_rng_clone(a);
    assert_non_null(b);
    for (int i = 0; i < 10000; i++) {
        if (i % 3 == 0)
            assert_int_equal(gsl_rng_get(a), gsl_rng_get(b));
        else
            assert_true(rng_uniform(a) == gsl_rng_uniform(b));
    }
    gsl_rng_free(a);
    gsl_rng_free(b);
}

/* Seeking back to (seed, stream) replays the stream from its start, whatever was drawn since. */
static void test_seek_replays(void **state)
{
    (void)state;
    enum { N = 1001 };
    static uint32_t first[N];
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    rng_seek(r, 2024, 17);
    for (int i = 0; i < N; i++)
        first[i] = (uint32_t)gsl_rng_get(r);
    rng_seek(r, 99, 1);
    gsl_rng_uniform(r);
    rng_seek(r, 2024, 17);
    for (int i = 0; i < N; i++)
        assert_int_equal(gsl_rng_get(r), first[i]);
    gsl_rng_free(r);
}

/* Whether the first 8 words of two streams are all equal. For a random bijection two distinct
 * inputs collide in all 8 words with probability 2^-256, so "equal" means a wiring error. */
static int same_start(uint64_t seed_a, uint64_t stream_a, uint64_t seed_b, uint64_t stream_b)
{
    gsl_rng *a = gsl_rng_alloc(rng_philox4x32), *b = gsl_rng_alloc(rng_philox4x32);
    rng_seek(a, seed_a, stream_a);
    rng_seek(b, seed_b, stream_b);
    int same = 1;
    for (int i = 0; i < 8; i++)
        same &= gsl_rng_get(a) == gsl_rng_get(b);
    gsl_rng_free(a);
    gsl_rng_free(b);
    return same;
}

/* Distinct seeds and distinct streams differ, including in the high 32-bit halves and with
 * seed and stream swapped (key and counter must not be interchangeable). */
static void test_distinct_streams_differ(void **state)
{
    (void)state;
    const uint64_t hi = UINT64_C(1) << 32;
    assert_true(same_start(5, 6, 5, 6));
    assert_false(same_start(5, 0, 5, 1));
    assert_false(same_start(5, 0, 6, 0));
    assert_false(same_start(1, 0, 0, 1));
    assert_false(same_start(0, 0, hi, 0));
    assert_false(same_start(0, 0, 0, hi));
    assert_false(same_start(0, 1, 0, 1 + hi));
}

/* get_double is ((a >> 5) * 2^26 + (b >> 6)) * 2^-53 of two consecutive words, exactly, and it
 * lies in [0, 1). Checked against the words drawn from a clone; 2^20 draws in range; and some
 * draw has its 2^-53 bit set, so all 53 bits reach the result (a draw has it clear with
 * probability 1/2; 1024 draws all clear with probability 2^-1024). */
static void test_double_conversion(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    rng_seek(r, 11, 0);
    gsl_rng *words = gsl_rng_clone(r);
    int low_bit_seen = 0;
    for (int i = 0; i < 1024; i++) {
        uint32_t a = (uint32_t)gsl_rng_get(words), b = (uint32_t)gsl_rng_get(words);
        double want = ldexp((double)(a >> 5), -27) + ldexp((double)(b >> 6), -53);
        double u = rng_uniform(r);
        assert_true(u == want);
        low_bit_seen |= (uint32_t)(b >> 6) & 1u;
    }
    assert_true(low_bit_seen);
    for (long i = 0; i < (1L << 20); i++) {
        double u = gsl_rng_uniform(r);
        assert_true(u >= 0.0 && u < 1.0);
    }
    gsl_rng_free(words);
    gsl_rng_free(r);
}

/* The extremes of the conversion, set through the exposed buffer: all-zero words give 0 and
 * all-one words give (2^53 - 1) / 2^53 = 1 - 2^-53, the largest double below 1. */
static void test_double_extremes(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    rng_seek(r, 0, 0);
    rng_state *s = r->state;
    for (int w = 0; w < 4; w++)
        s->buf[w] = w < 2 ? 0u : 0xffffffffu;
    s->idx = 0;
    assert_true(rng_uniform(r) == 0.0);
    assert_true(rng_uniform(r) == 1.0 - ldexp(1.0, -53));
    assert_true(1.0 - ldexp(1.0, -53) < 1.0);
    gsl_rng_free(r);
}

/* rng_uniform and gsl_rng_uniform return the same sequence from the same state. */
static void test_uniform_agrees_with_gsl(void **state)
{
    (void)state;
    gsl_rng *a = gsl_rng_alloc(rng_philox4x32), *b = gsl_rng_alloc(rng_philox4x32);
    rng_seek(a, 314, 159);
    rng_seek(b, 314, 159);
    gsl_rng_get(a); /* start both off a block boundary, where a double straddles two blocks */
    gsl_rng_get(b);
    for (int i = 0; i < 100000; i++)
        assert_true(rng_uniform(a) == gsl_rng_uniform(b));
    gsl_rng_free(a);
    gsl_rng_free(b);
}

/* Pearson's chi-square for 2^20 doubles in 64 equal bins (expected 2^14 per bin, so the
 * chi-square(63) approximation is excellent). Under uniformity the statistic exceeds
 * Q^-1(1e-6) of chi-square(63) (about 129.5) with probability 1e-6: that is this test's false
 * alarm rate over the choice of seed. */
static void test_chi_square_uniform(void **state)
{
    (void)state;
    enum { BINS = 64 };
    const long n = 1L << 20;
    long count[BINS] = {0};
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    rng_seek(r, 20240601, 0);
    for (long i = 0; i < n; i++)
        count[(int)(rng_uniform(r) * BINS)]++;
    const double expected = (double)n / BINS;
    double chi2 = 0.0;
    for (int k = 0; k < BINS; k++)
        chi2 += ((double)count[k] - expected) * ((double)count[k] - expected) / expected;
    double limit = gsl_cdf_chisq_Qinv(1e-6, BINS - 1);
    assert_true(limit > 120.0 && limit < 140.0); /* sanity of the quantile itself */
    assert_true(chi2 < limit);
    gsl_rng_free(r);
}

/* The mean of n Poisson(mu) draws through this generator has standard error sqrt(mu / n).
 * Tolerance k standard errors with k = Q^-1(0.5e-6) of the standard normal (about 4.89), a
 * two-sided false alarm rate of 1e-6 per mean. mu = 3.7 exercises GSL's small-mean inversion
 * loop, mu = 42.5 its gamma/binomial reduction (gsl_ran_poisson switches above mu = 10). */
static void check_poisson_mean(double mu, uint64_t stream)
{
    const long n = 1000000;
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    rng_seek(r, 777, stream);
    double sum = 0.0;
    for (long i = 0; i < n; i++)
        sum += (double)gsl_ran_poisson(r, mu);
    double se = sqrt(mu / (double)n);
    double k = gsl_cdf_ugaussian_Qinv(0.5e-6);
    assert_true(fabs(sum / (double)n - mu) < k * se);
    gsl_rng_free(r);
}

static void test_poisson_mean(void **state)
{
    (void)state;
    check_poisson_mean(3.7, 1);
    check_poisson_mean(42.5, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_type_description),
        cmocka_unit_test(test_stream_layout),
        cmocka_unit_test(test_counter_carry),
        cmocka_unit_test(test_set_is_stream_zero),
        cmocka_unit_test(test_copies_stay_identical),
        cmocka_unit_test(test_seek_replays),
        cmocka_unit_test(test_distinct_streams_differ),
        cmocka_unit_test(test_double_conversion),
        cmocka_unit_test(test_double_extremes),
        cmocka_unit_test(test_uniform_agrees_with_gsl),
        cmocka_unit_test(test_chi_square_uniform),
        cmocka_unit_test(test_poisson_mean),
    };
    return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
