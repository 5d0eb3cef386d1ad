/* Tests of engine/rng.c: Philox4x32-10 known answers, the stream layout, refills and the bulk
 * draw against the bijection, every block implementation against it, copies and replays, the
 * double conversion, and two statistical checks with derived tolerances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
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

/* Words w of stream (seed, stream) from output `from` on, by the bijection on explicit
 * counters: output i is word i % 4 of the block with counter {i/4 low, i/4 high, stream low,
 * stream high} under key (seed low, seed high). */
static void reference_words(uint64_t seed, uint64_t stream, uint64_t from, uint32_t *w, size_t n)
{
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (size_t i = 0; i < n; i++) {
        uint64_t out_index = from + i, block = out_index / 4;
        const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream,
                                 (uint32_t)(stream >> 32)};
        uint32_t out[4];
        rng_philox4x32_10(ctr, key, out);
        w[i] = out[out_index % 4];
    }
}

/* Three buffers' worth of draws, word by word, against the bijection: every refill, and the
 * last word before and first word after each buffer boundary, must be exact. */
static void test_refill_boundaries_exact(void **state)
{
    (void)state;
    enum { N = 3 * RNG_BUF_WORDS + 1 };
    static uint32_t want[N];
    const uint64_t seed = UINT64_C(0x9e3779b97f4a7c15), stream = UINT64_C(0x00000001fffffffe);
    reference_words(seed, stream, 0, want, N);
    rng_state s;
    rng_state_seek(&s, seed, stream);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(rng_next32(&s), want[i]);
}

/* A refill from a counter that is not a multiple of the buffer, so that the block index carries
 * from word 0 into word 1 inside one pass of the vector kernels, and, at 2^64 - 3, wraps to
 * block 0 (the counter is taken mod 2^64, as in the scalar bijection's own increment). */
static void check_refill_from(uint64_t block)
{
    enum { N = 2 * RNG_BUF_WORDS };
    static uint32_t want[N];
    const uint64_t seed = 5, stream = 6;
    rng_state s;
    rng_state_seek(&s, seed, stream);
    s.ctr[0] = (uint32_t)block;
    s.ctr[1] = (uint32_t)(block >> 32);
    for (size_t i = 0; i < N; i++) {
        uint64_t b = block + i / 4;
        const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 6, 0};
        const uint32_t key[2] = {5, 0};
        uint32_t out[4];
        rng_philox4x32_10(ctr, key, out);
        want[i] = out[i % 4];
    }
    for (size_t i = 0; i < N; i++)
        assert_int_equal(rng_next32(&s), want[i]);
}

static void test_refill_carries(void **state)
{
    (void)state;
    check_refill_from(UINT64_C(0xffffffff) - 5);
    check_refill_from(UINT64_C(0x1ffffffff) - 17);
    check_refill_from(UINT64_MAX - 2);
}

/* rng_state_words(s, dst, n) equals n calls of rng_next32 on a copy of s, for every n from 0 to
 * past three buffers and from every starting offset in the buffer (plus a few far ones), leaves
 * dst[n] alone, and leaves s where the copy stands: the next words agree too. */
static void check_words_from(size_t skip, size_t n)
{
    enum { MAX = 4 * RNG_BUF_WORDS + 8, AFTER = RNG_BUF_WORDS + 3 };
    static uint32_t got[MAX + 1];
    rng_state bulk, single;
    rng_state_seek(&bulk, 271828, 3);
    for (size_t i = 0; i < skip; i++)
        rng_next32(&bulk);
    single = bulk;
    got[n] = 0xdeadbeef; /* the guard word just past the n asked for */
    rng_state_words(&bulk, got, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], rng_next32(&single));
    assert_int_equal(got[n], 0xdeadbeef);
    for (size_t i = 0; i < AFTER; i++)
        assert_int_equal(rng_next32(&bulk), rng_next32(&single));
}

static void test_words_match_draws(void **state)
{
    (void)state;
    const size_t max_n = 3 * RNG_BUF_WORDS + 2;
    for (size_t skip = 0; skip <= RNG_BUF_WORDS; skip++)
        for (size_t n = 0; n <= max_n; n += 1 + n / 16) /* every n to 16, then sparser */
            check_words_from(skip, n);
    const size_t far_skips[] = {2 * RNG_BUF_WORDS - 1, 5 * RNG_BUF_WORDS + 7};
    const size_t edge_n[] = {RNG_BUF_WORDS - 1, RNG_BUF_WORDS, RNG_BUF_WORDS + 1,
                             2 * RNG_BUF_WORDS, 4 * RNG_BUF_WORDS + 8};
    for (size_t i = 0; i < sizeof far_skips / sizeof far_skips[0]; i++)
        for (size_t j = 0; j < sizeof edge_n / sizeof edge_n[0]; j++)
            check_words_from(far_skips[i], edge_n[j]);
    for (size_t skip = 0; skip <= RNG_BUF_WORDS; skip++)
        for (size_t j = 0; j < sizeof edge_n / sizeof edge_n[0]; j++)
            check_words_from(skip, edge_n[j]);
}

/* n = 0 with a NULL destination is a no-op: the stream continues from the same word. */
static void test_words_zero(void **state)
{
    (void)state;
    rng_state a, b;
    rng_state_seek(&a, 1, 2);
    rng_next32(&a);
    b = a;
    rng_state_words(&a, NULL, 0);
    for (int i = 0; i < 2 * RNG_BUF_WORDS; i++)
        assert_int_equal(rng_next32(&a), rng_next32(&b));
}

/* A large bulk draw (whole buffers computed straight into the destination, not starting on a
 * multiple of 4 words) against the bijection, and the words after it. */
static void test_words_large_exact(void **state)
{
    (void)state;
    enum { SKIP = 3, N = 100 * RNG_BUF_WORDS + 5, AFTER = 2 * RNG_BUF_WORDS };
    static uint32_t got[N], want[N + AFTER];
    const uint64_t seed = UINT64_C(0xfeedfacecafebeef), stream = 12345;
    rng_state s;
    rng_state_seek(&s, seed, stream);
    for (int i = 0; i < SKIP; i++)
        rng_next32(&s);
    rng_state_words(&s, got, N);
    reference_words(seed, stream, SKIP, want, N + AFTER);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(got[i], want[i]);
    for (size_t i = 0; i < AFTER; i++)
        assert_int_equal(rng_next32(&s), want[N + i]);
}

/* Every implementation this processor can run, over 10^5 blocks (3125 buffers of 32, a whole
 * number of passes of every kernel), against the bijection on each counter. The start,
 * 2^32 - 1000 blocks, puts a carry into counter word 1 inside the run; key and stream halves are
 * all non-zero. The portable implementation is always checked; AVX2 and AVX-512VL where the
 * processor has them (the test says which it could not check). */
static void test_impls_match_reference(void **state)
{
    (void)state;
    const size_t nblocks = 100000 / RNG_BUF_BLOCKS * RNG_BUF_BLOCKS;
    uint32_t *out = malloc(4 * nblocks * sizeof *out);
    assert_non_null(out);
    const uint32_t key[2] = {0x243f6a88, 0x85a308d3};
    const uint32_t ctr[4] = {0xffffffffu - 999, 0, 0x13198a2e, 0x03707344};
    const uint64_t first = ctr[0];
    for (int impl = 0; impl < RNG_IMPL_COUNT; impl++) {
        if (!rng_impl_usable((rng_impl)impl)) {
            print_message("rng implementation %d not usable here, not checked\n", impl);
            assert_int_equal(rng_impl_blocks((rng_impl)impl, ctr, key, out, nblocks), -1);
            continue;
        }
        memset(out, 0, 4 * nblocks * sizeof *out);
        assert_int_equal(rng_impl_blocks((rng_impl)impl, ctr, key, out, nblocks), 0);
        for (size_t j = 0; j < nblocks; j++) {
            uint64_t b = first + j;
            const uint32_t c[4] = {(uint32_t)b, (uint32_t)(b >> 32), ctr[2], ctr[3]};
            uint32_t want[4];
            rng_philox4x32_10(c, key, want);
            for (int w = 0; w < 4; w++)
                assert_int_equal(out[4 * j + (size_t)w], want[w]);
        }
    }
    free(out);
}

/* The portable implementation is always usable and the chosen one is usable; a block count
 * that is not a whole number of buffers, or an implementation number out of range, is refused
 * without writing. */
static void test_impl_contract(void **state)
{
    (void)state;
    uint32_t out[4 * RNG_BUF_BLOCKS + 1];
    const uint32_t key[2] = {1, 2}, ctr[4] = {3, 4, 5, 6};
    assert_true(rng_impl_usable(RNG_IMPL_PORTABLE));
    assert_true(rng_impl_usable(rng_impl_chosen()));
    assert_false(rng_impl_usable(RNG_IMPL_COUNT));
    out[0] = 0xdeadbeef;
    assert_int_equal(rng_impl_blocks(RNG_IMPL_PORTABLE, ctr, key, out, RNG_BUF_BLOCKS - 1), -1);
    assert_int_equal(rng_impl_blocks(RNG_IMPL_COUNT, ctr, key, out, RNG_BUF_BLOCKS), -1);
    assert_int_equal(out[0], 0xdeadbeef);
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
        cmocka_unit_test(test_refill_boundaries_exact),
        cmocka_unit_test(test_refill_carries),
        cmocka_unit_test(test_words_match_draws),
        cmocka_unit_test(test_words_zero),
        cmocka_unit_test(test_words_large_exact),
        cmocka_unit_test(test_impls_match_reference),
        cmocka_unit_test(test_impl_contract),
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
