/* Tests of models/poisson_kernel.c: poisson_kernel_group, whichever path it takes on this processor
 * (AVX-512 with the state in registers for up to 4 screening weights, else the portable one),
 * gives the same bits as the portable path poisson_kernel_general, on random groups covering every
 * number of weights the fast path specialises, padding lanes, short rooms (windows cut off),
 * windows starting late or lanes apart (each with its own rows), and tables and success
 * thresholds anywhere; and the portable path itself against a
 * one-lane-at-a-time reference computed here. On a processor without AVX-512 the first test
 * compares the portable path with itself, and says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../models/poisson_kernel.h"

#define ROOM_MAX 200
/* Up to 33 screening weights, as the core integrates (32 candidates in screening). */
#define WEIGHTS_MAX 33
#define TABLE_ROWS (ROOM_MAX + WEIGHTS_MAX + 16)
#define GROUPS 20000

/* A fixed xorshift64* stream: the test draws the same groups every run. */
static uint64_t rand_state = 0x9e3779b97f4a7c15u;
static double rand_unit(void)
{
    rand_state ^= rand_state >> 12;
    rand_state ^= rand_state << 25;
    rand_state ^= rand_state >> 27;
    return (double)((rand_state * 0x2545f4914f6cdd1du) >> 11) * 0x1p-53;
}

static size_t rand_below(size_t n) { return (size_t)(rand_unit() * (double)n); }

/* One group's inputs and the buffers one kernel call writes. */
typedef struct case_buf {
    double inv[2 * ROOM_MAX + 2];   /* lanes apart read it up to shift + room + 1 */
    double weight[WEIGHTS_MAX * POISSON_KERNEL_LANES];
    double pwin[POISSON_KERNEL_PWIN_ROWS(ROOM_MAX, WEIGHTS_MAX) * POISSON_KERNEL_LANES];
    double acc[TABLE_ROWS * POISSON_KERNEL_LANES], acc2[TABLE_ROWS * POISSON_KERNEL_LANES];
    poisson_kernel_lanes g;
    poisson_kernel_args a;
    size_t rows;
} case_buf;

/* A random group: `real` lanes with M up to 64 (the kernel's range), v0 = e^-M and a uniform
 * (or, in a third of the groups, windows starting at a random row below M, with a first term
 * there; in another third, lanes apart: each lane's rows shifted by a random number of rows,
 * its mean that far on, with no table, as the core makes them); padding lanes with M, v0, u
 * and weights 0, as gather_group makes them; screening weights a random pmf over n_weight
 * counts; the table rows and success threshold anywhere. Half the groups that are not from 0
 * have their windows cut (tail_eps infinite, each lane's peak a random row up to 40 past its
 * mean's), as the core cuts large means' windows. */
static void random_case(case_buf *b, size_t n_weight, size_t room)
{
    memset(b, 0, sizeof *b);
    for (size_t k = 1; k < 2 * ROOM_MAX + 2; k++)
        b->inv[k] = 1.0 / (double)k;
    size_t real = 1 + rand_below(POISSON_KERNEL_LANES);
    size_t kind = rand_below(3);   /* 1: windows that start below a large mean; 2: lanes apart */
    int cut = kind != 0 && rand_below(2);
    for (size_t l = 0; l < real; l++) {
        b->g.mean[l] = 64.0 * rand_unit();
        b->g.first_term[l] = exp(-b->g.mean[l]);
        b->g.peak[l] = b->g.mean[l];
        if (kind == 1 && room > 8) {
            size_t start = rand_below(room / 2);
            b->g.start[l] = (double)start;
            b->g.mean[l] = (double)start + 64.0 * rand_unit();
            b->g.peak[l] = b->g.mean[l];
            b->g.first_term[l] = 0.01 + 0.1 * rand_unit();
        } else if (kind == 2) {
            b->g.shift[l] = (double)rand_below(ROOM_MAX);
            b->g.mean[l] += b->g.shift[l];
        }
        if (cut)
            b->g.peak[l] = b->g.mean[l] - b->g.shift[l] + (double)rand_below(40);
        b->g.uniform[l] = rand_unit();
        double total = 0.0;
        for (size_t s = 0; s < n_weight; s++)
            total += b->weight[s * POISSON_KERNEL_LANES + l] = rand_unit();
        for (size_t s = 0; s < n_weight; s++)
            b->weight[s * POISSON_KERNEL_LANES + l] /= total;
    }
    b->g.weight = b->weight;
    b->a = (poisson_kernel_args){.inv = b->inv, .room = room, .n_weight = n_weight,
                         .from = rand_below(kind == 2 ? 2 * ROOM_MAX : ROOM_MAX),
                         .tab = kind == 2 ? 0 : rand_below(TABLE_ROWS),
                         .tail_eps = cut ? INFINITY : POISSON_TAIL_EPS,
                         .pwin = b->pwin, .acc = b->acc, .acc2 = b->acc2};
}

/* The same case with fresh output buffers pointing at its own arrays. */
static void copy_case(case_buf *dst, const case_buf *src)
{
    memcpy(dst, src, sizeof *dst);
    dst->g.weight = dst->weight;
    dst->a.inv = dst->inv;
    dst->a.pwin = dst->pwin;
    dst->a.acc = dst->acc;
    dst->a.acc2 = dst->acc2;
}

static int same_outputs(const case_buf *x, const case_buf *y)
{
    return x->rows == y->rows && memcmp(x->g.count, y->g.count, sizeof x->g.count) == 0 &&
           memcmp(x->g.p_success, y->g.p_success, sizeof x->g.p_success) == 0 &&
           memcmp(x->g.mass, y->g.mass, sizeof x->g.mass) == 0 &&
           memcmp(x->acc, y->acc, sizeof x->acc) == 0 &&
           memcmp(x->acc2, y->acc2, sizeof x->acc2) == 0;
}

/* n_weight 1 to 33 (the fast path takes 1 to 4), rooms from 4 to ROOM_MAX (below about 100 the
 * window is often cut off by room, the path real scenarios never reach). */
static void test_paths_agree(void **state)
{
    (void)state;
    static case_buf fast, general;
    size_t mismatches = 0;
    for (size_t i = 0; i < GROUPS; i++) {
        size_t n_weight = 1 + i % WEIGHTS_MAX;
        size_t room = i % 3 == 0 ? 4 + rand_below(30) : ROOM_MAX;
        random_case(&fast, n_weight, room);
        copy_case(&general, &fast);
        fast.rows = poisson_kernel_group(&fast.a, &fast.g);
        general.rows = poisson_kernel_general(&general.a, &general.g);
        mismatches += !same_outputs(&fast, &general);
    }
    if (!__builtin_cpu_supports("avx512f"))
        printf("  (no AVX-512 here: poisson_kernel_group took the portable path throughout)\n");
    assert_int_equal(mismatches, 0);
}

/* One lane of poisson_kernel_general, term by term in the same order (so the same bits): the Poisson
 * window from v0 until the whole group is done, the count by inversion, the conditional rows
 * by convolution with the weights, and P(success); a lane apart reads inv and counts from its
 * shift. The window length is the kernel's (it depends on every lane), so it is passed in. */
static void reference_lane(const case_buf *b, size_t l, size_t len, double *N, double *P,
                           double *mass, double *row_q)
{
    double pois[ROOM_MAX], v = 0.0, cdf = 0.0, below = 0.0;
    for (size_t m = 0; m < len; m++) {
        if ((double)m == b->g.start[l])
            v = b->g.first_term[l];
        pois[m] = v;
        cdf += v;
        below += b->g.uniform[l] >= cdf ? 1.0 : 0.0;
        v *= b->g.mean[l] * b->inv[(size_t)b->g.shift[l] + m + 1];
    }
    double last = (double)(len - 1), ps = 0.0;
    *N = (below < last ? below : last) + b->g.shift[l];
    *mass = cdf;
    for (size_t c = 0; c + 1 < len + b->a.n_weight; c++) {
        double q = 0.0;
        for (size_t s = 0; s < b->a.n_weight; s++)
            if (c >= s && c - s < len)
                q += b->weight[s * POISSON_KERNEL_LANES + l] * pois[c - s];
        row_q[c] = q;
        if (c + (size_t)b->g.shift[l] >= b->a.from)
            ps += q;
    }
    *P = ps;
}

/* Where a cut window ends (tail_eps infinite): at the first check, every 4 rows, at which row
 * len - 1 is past every lane's peak, or at the room. */
static size_t cut_length(const case_buf *b)
{
    double top = 0.0;
    for (size_t l = 0; l < POISSON_KERNEL_LANES; l++)
        top = b->g.peak[l] > top ? b->g.peak[l] : top;
    size_t len = 4;
    while ((double)(len - 1) <= top)
        len += 4;
    return len < b->a.room ? len : b->a.room;
}

/* The portable kernel lane by lane against reference_lane, bit for bit; a cut window's length
 * against cut_length (the same length whatever the terms: with the whole windows' end test
 * instead, it would run on until the terms fell below POISSON_TAIL_EPS). */
static void test_general_matches_reference(void **state)
{
    (void)state;
    static case_buf b;
    double row_q[ROOM_MAX + WEIGHTS_MAX];
    size_t cut = 0;
    for (size_t i = 0; i < GROUPS / 10; i++) {
        random_case(&b, 1 + i % WEIGHTS_MAX, ROOM_MAX);
        size_t rows = poisson_kernel_general(&b.a, &b.g);
        size_t len = rows + 1 - b.a.n_weight;
        if (isinf(b.a.tail_eps)) {
            assert_int_equal(len, cut_length(&b));
            cut++;
        }
        for (size_t l = 0; l < POISSON_KERNEL_LANES; l++) {
            double N, P, mass;
            reference_lane(&b, l, len, &N, &P, &mass, row_q);
            assert_true(N == b.g.count[l]);
            assert_true(P == b.g.p_success[l]);
            assert_true(mass == b.g.mass[l]);
            for (size_t c = 0; c < rows && c < b.a.tab; c++) {
                assert_true(b.acc[c * POISSON_KERNEL_LANES + l] == row_q[c]);
                assert_true(b.acc2[c * POISSON_KERNEL_LANES + l] == row_q[c] * row_q[c]);
            }
        }
    }
    /* Cut: groups not from 0 (2/3), half of them: 667 of 2,000 expected, SD 21; 500 is 8 SD off. */
    assert_true(cut > GROUPS / 10 / 4);
}

/* A large mean's whole window (tail_eps POISSON_TAIL_EPS; rows counted from a base 10 SD below
 * the mean, inv shifted by the base, the lane's peak its mean's row), as the core gave it
 * before it cut large means' windows (it still makes whole ones from 0 for small means): it
 * ends once past the mass, where the terms fall below POISSON_TAIL_EPS, about 7.5 SD past the
 * mean; not at the room's end (it did, up to 4.5 times the rows needed, when the end test
 * compared the row with the mean itself instead of its row). Bound: M + 9 sqrt(M) + 24, where
 * the terms are far below POISSON_TAIL_EPS, plus the 4 rows between end checks. The window
 * holds the whole mass: its terms sum to 1 within 1e-12 (the cut tails are below 1e-14 each
 * side, and the 1,300 terms' rounding adds at most some 1e-13). */
static void test_large_mean_window_ends_past_its_mass(void **state)
{
    (void)state;
    enum { ROOM = 8000 };
    static double inv[ROOM + 2], pwin[POISSON_KERNEL_PWIN_ROWS(ROOM, 1) * POISSON_KERNEL_LANES];
    static double acc[(ROOM + 16) * POISSON_KERNEL_LANES], acc2[(ROOM + 16) * POISSON_KERNEL_LANES];
    static double weight[POISSON_KERNEL_LANES] = {1.0};
    double M = 5150.3, base = floor(M - 10.0 * sqrt(M) - 5.0);
    for (size_t k = 1; k < ROOM + 2; k++)
        inv[k] = 1.0 / (base + (double)k);
    poisson_kernel_lanes g;
    memset(&g, 0, sizeof g);
    g.mean[0] = M;
    g.peak[0] = M - base;
    g.first_term[0] = exp(-M + base * log(M) - lgamma(base + 1.0));
    g.uniform[0] = 0.5;
    g.weight = weight;
    poisson_kernel_args a = {.inv = inv, .room = ROOM, .n_weight = 1, .from = ROOM, .tab = ROOM,
                             .tail_eps = POISSON_TAIL_EPS, .pwin = pwin, .acc = acc, .acc2 = acc2};
    size_t rows = poisson_kernel_group(&a, &g);
    double high = ceil(M + 9.0 * sqrt(M) + 24.0) - base;
    printf("  mean %.1f from row base %.0f: %zu rows, bound %.0f, room %d\n", M, base, rows,
           high + 4.0, ROOM);
    assert_true((double)rows <= high + 4.0);
    double total = 0.0;
    for (size_t c = 0; c < rows; c++)
        total += acc[c * POISSON_KERNEL_LANES];
    assert_true(fabs(total - 1.0) < 1e-12);
    /* With u = 0.5 the inversion draws the median (the first count whose distribution
     * function passes 0.5), which for a Poisson mean M lies in [M - ln 2, M + 1/3] (Choi 1994,
     * Proc. AMS 121); the window's terms are the exact pmf's to 1e-11 relative, which can move
     * a distribution function lying within 1e-11 of 0.5 by one count: within 2 of M. */
    assert_true(fabs(base + g.count[0] - M) < 2.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_agree),
        cmocka_unit_test(test_general_matches_reference),
        cmocka_unit_test(test_large_mean_window_ends_past_its_mass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
