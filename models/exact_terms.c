/* The terms of the exact mode's recurrence for the Poisson and negative binomial parts of a
 * quadrature node's pmf (models/exact.c), one node at a time or several side by side in AVX-512
 * lanes with the same bits; see exact_terms.h for the contract. */
#include "exact_terms.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* x86-64 with gcc or clang: the AVX-512 lanes below, chosen at run time. */
#if defined(__GNUC__) && defined(__x86_64__)
#define TERMS_AVX512 1
#include <immintrin.h>
#else
#define TERMS_AVX512 0
#endif

#define LANES EXACT_TERMS_LANES
#define MAX_GROUPS EXACT_TERMS_MAX_GROUPS

/* A term past TERMS_BIG rescales its node's terms by TERMS_SHRINK, a power of 2. */
#define TERMS_BIG 0x1p900
#define TERMS_SHRINK 0x1p-900

int exact_terms_one(double mu, const double *restrict k, const double *restrict rho, size_t J,
                    size_t h, double *restrict T, double *restrict g)
{
    double a = mu, sum = 0.0, comp = 0.0;

    /* sum_j k_j T_j(n) = g_n sum_j k_j rho_j + sum_j k_j rho_j T_j(n - 1): the second part,
     * r below, does not wait for g_n, which keeps the chain from g_n to g_{n+1} short. */
    double *kr = T + J;
    for (size_t j = 0; j < J; j++) {
        T[j] = 0.0;
        kr[j] = k[j] * rho[j];
        a += kr[j];
    }
    g[0] = 1.0;
    for (size_t n = 0; n + 1 < h; n++) {
        /* 1 / (n + 1) does not wait for g_n either: a multiplication, not a division, is what
         * the chain waits for. */
        double r = 0.0, next, inv = 1.0 / (double)(n + 1);
        for (size_t j = 0; j < J; j++)
            r += kr[j] * T[j];
        next = (a * g[n] + r) * inv;
        for (size_t j = 0; j < J; j++)
            T[j] = rho[j] * (g[n] + T[j]);
        if (next > TERMS_BIG) {             /* exact rescaling by a power of 2 */
            for (size_t i = 0; i <= n; i++)
                g[i] *= TERMS_SHRINK;
            for (size_t j = 0; j < J; j++)
                T[j] *= TERMS_SHRINK;
            next *= TERMS_SHRINK;
        }
        g[n + 1] = next;
    }
    for (size_t i = 0; i < h; i++) {        /* Neumaier's compensated sum */
        double y = sum + g[i];
        comp += fabs(sum) >= fabs(g[i]) ? (sum - y) + g[i] : (g[i] - y) + sum;
        sum = y;
    }
    sum += comp;
    if (!(sum > 0.0) || !isfinite(sum))
        return -1;
    for (size_t i = 0; i < h; i++)
        g[i] /= sum;
    return 0;
}

void exact_terms_work_free(exact_terms_work *w)
{
    if (w == NULL)
        return;
    free(w->terms);
    free(w->rescaled);
    free(w->inv);
    free(w->T);
    memset(w, 0, sizeof *w);
}

/* Room for J groups in w->T; 0 or -1. */
static int work_groups(exact_terms_work *w, size_t J)
{
    double *T;

    if (J <= w->T_groups && w->T != NULL)
        return 0;
    T = realloc(w->T, (2 * J + 1) * sizeof *T);
    if (T == NULL)
        return -1;
    w->T = T;
    w->T_groups = J;
    return 0;
}

/* ---- AVX-512 lanes --------------------------------------------------------------------------
 *
 * Lane l of a 512-bit vector holds node l's g_n, a = mu + sum_j k_j rho_j, and its T_j, k_j rho_j
 * and rho_j for each group j, and every step applies exact_terms_one's operations, in its order,
 * to all lanes at once; the terms go side by side into the work's terms[n][l]. What differs
 * between the nodes is handled outside the steps, so that they stay branch-free:
 * - each node's own h: the lanes step to the largest h in segments, and at the end of a lane's
 *   steps (n = h - 1) every quantity of the lane is set to 0; its later terms are then +0,
 *   which leave the compensated sum's two parts as they are (y = s + 0 = s, the terms being
 *   >= 0; and the correction (s - y) + 0 = +0, added to a compensation that is never -0, as
 *   round-to-nearest gives -0 only for -0 + -0), so the sum runs over every row;
 * - the rescaling: a lane whose next term passes 2^900 scales its T and that term at once, as
 *   exact_terms_one does, but its earlier terms later (lane_rescale_history): nothing reads them
 *   before the sum, and each takes the same multiplications in the same order.
 * gcc does not contract a multiplication and an addition into one FMA under -std=c11 (nor does
 * clang by default across statements), and the intrinsics below never ask for one. */
#if TERMS_AVX512

#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))
#define AVX512 __attribute__((target("avx512f")))

/* The lanes' running state: the last term g_n and the per-node constants and sums. */
typedef struct lanes {
    __m512d g, a;
    __m512d T[MAX_GROUPS], kr[MAX_GROUPS], rho[MAX_GROUPS];
} lanes;

/* Steps n = from .. to - 1 of the recurrence for J groups (a constant once inlined, so that the
 * state lives in registers): term n + 1 into terms[n + 1][l], and the lanes rescaled at step n
 * into bit l of rescaled[n] (only when some are). Returns the lanes rescaled at any step. */
AVX512_INLINE unsigned lanes_steps(lanes *s, const size_t J, size_t from, size_t to,
                                   double *restrict terms, unsigned char *restrict rescaled,
                                   const double *restrict inv)
{
    const __m512d big = _mm512_set1_pd(TERMS_BIG), shrink = _mm512_set1_pd(TERMS_SHRINK);
    __m512d g = s->g, a = s->a, T[MAX_GROUPS], kr[MAX_GROUPS], rho[MAX_GROUPS];
    unsigned any = 0;

    for (size_t j = 0; j < J; j++) {
        T[j] = s->T[j];
        kr[j] = s->kr[j];
        rho[j] = s->rho[j];
    }
    for (size_t n = from; n < to; n++) {
        __m512d r = _mm512_setzero_pd();
        for (size_t j = 0; j < J; j++)
            r = _mm512_add_pd(r, _mm512_mul_pd(kr[j], T[j]));
        __m512d next = _mm512_mul_pd(_mm512_add_pd(_mm512_mul_pd(a, g), r),
                                     _mm512_set1_pd(inv[n]));
        for (size_t j = 0; j < J; j++)
            T[j] = _mm512_mul_pd(rho[j], _mm512_add_pd(g, T[j]));
        __mmask8 over = _mm512_cmp_pd_mask(next, big, _CMP_GT_OQ);
        if (over) {                         /* rare: a branch keeps it off the chain */
            for (size_t j = 0; j < J; j++)
                T[j] = _mm512_mask_mul_pd(T[j], over, T[j], shrink);
            next = _mm512_mask_mul_pd(next, over, next, shrink);
            rescaled[n] = (unsigned char)over;
            any |= over;
        }
        _mm512_store_pd(terms + (n + 1) * LANES, next);
        g = next;
    }
    s->g = g;
    for (size_t j = 0; j < J; j++)
        s->T[j] = T[j];
    return any;
}

/* lanes_steps with J as a constant, 0 to MAX_GROUPS. */
static AVX512 unsigned lanes_segment(lanes *s, size_t J, size_t from, size_t to, double *terms,
                                     unsigned char *rescaled, const double *inv)
{
    switch (J) {
    case 0:
        return lanes_steps(s, 0, from, to, terms, rescaled, inv);
    case 1:
        return lanes_steps(s, 1, from, to, terms, rescaled, inv);
    case 2:
        return lanes_steps(s, 2, from, to, terms, rescaled, inv);
    case 3:
        return lanes_steps(s, 3, from, to, terms, rescaled, inv);
    case 4:
        return lanes_steps(s, 4, from, to, terms, rescaled, inv);
    case 5:
        return lanes_steps(s, 5, from, to, terms, rescaled, inv);
    case 6:
        return lanes_steps(s, 6, from, to, terms, rescaled, inv);
    case 7:
        return lanes_steps(s, 7, from, to, terms, rescaled, inv);
    default:
        return lanes_steps(s, MAX_GROUPS, from, to, terms, rescaled, inv);
    }
}

/* Sets every quantity of the lanes in `done` to 0: their next terms are +0 from then on. */
AVX512_INLINE void lanes_stop(lanes *s, size_t J, __mmask8 done)
{
    __mmask8 keep = (__mmask8)~done;

    s->g = _mm512_maskz_mov_pd(keep, s->g);
    s->a = _mm512_maskz_mov_pd(keep, s->a);
    for (size_t j = 0; j < J; j++) {
        s->T[j] = _mm512_maskz_mov_pd(keep, s->T[j]);
        s->kr[j] = _mm512_maskz_mov_pd(keep, s->kr[j]);
        s->rho[j] = _mm512_maskz_mov_pd(keep, s->rho[j]);
    }
}

/* Each lane's Neumaier-compensated sum of rows 0 .. rows - 1, as exact_terms_one's: the
 * correction of the branch exact_terms_one takes is the one added. */
AVX512_INLINE __m512d lanes_sum(const double *terms, size_t rows)
{
    __m512d sum = _mm512_setzero_pd(), comp = _mm512_setzero_pd();

    for (size_t i = 0; i < rows; i++) {
        __m512d x = _mm512_load_pd(terms + i * LANES), y = _mm512_add_pd(sum, x);
        __mmask8 sum_larger = _mm512_cmp_pd_mask(_mm512_abs_pd(sum), _mm512_abs_pd(x),
                                                 _CMP_GE_OQ);
        __m512d from_sum = _mm512_add_pd(_mm512_sub_pd(sum, y), x);
        __m512d from_x = _mm512_add_pd(_mm512_sub_pd(x, y), sum);
        comp = _mm512_add_pd(comp, _mm512_mask_blend_pd(sum_larger, from_x, from_sum));
        sum = y;
    }
    return _mm512_add_pd(sum, comp);
}

/* The 8 x 8 block of rows r[0 .. 7] transposed: c[l] holds lane l's values of the 8 rows. */
AVX512_INLINE void transpose8(const __m512d r[LANES], __m512d c[LANES])
{
    /* Pairs of rows interleaved within 128-bit blocks, then blocks gathered in two rounds. */
    __m512d t0 = _mm512_unpacklo_pd(r[0], r[1]), t1 = _mm512_unpackhi_pd(r[0], r[1]);
    __m512d t2 = _mm512_unpacklo_pd(r[2], r[3]), t3 = _mm512_unpackhi_pd(r[2], r[3]);
    __m512d t4 = _mm512_unpacklo_pd(r[4], r[5]), t5 = _mm512_unpackhi_pd(r[4], r[5]);
    __m512d t6 = _mm512_unpacklo_pd(r[6], r[7]), t7 = _mm512_unpackhi_pd(r[6], r[7]);
    __m512d u0 = _mm512_shuffle_f64x2(t0, t2, 0x88), u1 = _mm512_shuffle_f64x2(t0, t2, 0xdd);
    __m512d u2 = _mm512_shuffle_f64x2(t1, t3, 0x88), u3 = _mm512_shuffle_f64x2(t1, t3, 0xdd);
    __m512d u4 = _mm512_shuffle_f64x2(t4, t6, 0x88), u5 = _mm512_shuffle_f64x2(t4, t6, 0xdd);
    __m512d u6 = _mm512_shuffle_f64x2(t5, t7, 0x88), u7 = _mm512_shuffle_f64x2(t5, t7, 0xdd);
    c[0] = _mm512_shuffle_f64x2(u0, u4, 0x88);
    c[4] = _mm512_shuffle_f64x2(u0, u4, 0xdd);
    c[2] = _mm512_shuffle_f64x2(u1, u5, 0x88);
    c[6] = _mm512_shuffle_f64x2(u1, u5, 0xdd);
    c[1] = _mm512_shuffle_f64x2(u2, u6, 0x88);
    c[5] = _mm512_shuffle_f64x2(u2, u6, 0xdd);
    c[3] = _mm512_shuffle_f64x2(u3, u7, 0x88);
    c[7] = _mm512_shuffle_f64x2(u3, u7, 0xdd);
}

/* Each lane l in `out` (a mask) gets its terms divided by its sum, rows 0 .. h[l] - 1 into
 * g[l], eight rows at a time: divided side by side, then transposed. terms holds the rows
 * rounded up to a multiple of 8. */
AVX512_INLINE void lanes_divide(const double *terms, size_t rows, __m512d sum, __mmask8 out,
                                double *const g[LANES], const size_t h[LANES])
{
    for (size_t i = 0; i < rows; i += LANES) {
        __m512d r[LANES], c[LANES];
        for (size_t k = 0; k < LANES; k++)
            r[k] = _mm512_div_pd(_mm512_load_pd(terms + (i + k) * LANES), sum);
        transpose8(r, c);
        for (size_t l = 0; l < LANES; l++) {
            if (!((out >> l) & 1u) || i >= h[l])
                continue;
            __mmask8 keep = h[l] - i >= LANES ? (__mmask8)0xff
                                                : (__mmask8)((1u << (h[l] - i)) - 1u);
            _mm512_mask_storeu_pd(g[l] + i, keep, c[l]);
        }
    }
}

/* The rescalings of lane l's earlier terms that the lanes put off: exact_terms_one multiplies
 * g_0 .. g_n by 2^-900 at each step n where the lane rescaled, so g_i takes one multiplication
 * for each such step n >= i, in the same order (a term at 0 stays 0). */
static void lane_rescale_history(double *terms, const unsigned char *rescaled, size_t l, size_t h)
{
    size_t times = 0;

    for (size_t i = h; i-- > 0;) {
        double *x = terms + i * LANES + l;
        times += (rescaled[i] >> l) & 1u;
        for (size_t t = 0; t < times && *x != 0.0; t++)
            *x *= TERMS_SHRINK;
    }
}

/* Room for `rows` rows in w, rounded up to a multiple of LANES; 0 or -1. The rows are 64-byte
 * aligned, one vector each. */
static int work_rows(exact_terms_work *w, size_t rows)
{
    size_t cap = w->cap ? w->cap : 256;
    double *terms, *inv;
    unsigned char *rescaled;

    rows = (rows + LANES - 1) / LANES * LANES;
    if (rows <= w->cap)
        return 0;
    while (cap < rows)
        cap *= 2;
    terms = aligned_alloc(64, cap * LANES * sizeof *terms);
    inv = realloc(w->inv, cap * sizeof *inv);
    if (inv != NULL)
        w->inv = inv;
    rescaled = realloc(w->rescaled, cap);
    if (rescaled != NULL)
        w->rescaled = rescaled;
    if (terms == NULL || inv == NULL || rescaled == NULL) {
        free(terms);
        return -1;
    }
    free(w->terms);
    w->terms = terms;
    for (size_t n = w->cap; n < cap; n++)   /* exact_terms_one's 1 / (n + 1) */
        w->inv[n] = 1.0 / (double)(n + 1);
    w->cap = cap;
    return 0;
}

/* The count nodes (2 .. LANES, each with J groups) side by side: as exact_terms_one, lane by
 * lane. Returns 0, or -1 when out of memory. */
static AVX512 int lanes_run(exact_terms_node *const *node, size_t count, size_t J,
                            exact_terms_work *w)
{
    double first[LANES] = {0}, a[LANES] = {0}, kr[MAX_GROUPS][LANES] = {{0}};
    double rho[MAX_GROUPS][LANES] = {{0}}, sum[LANES], *g[LANES] = {NULL};
    size_t rows = 1, n = 0, h[LANES] = {0};
    __mmask8 live = 0;
    unsigned rescaled_lanes = 0;
    lanes s;

    for (size_t l = 0; l < count; l++)
        rows = node[l]->h > rows ? node[l]->h : rows;
    if (work_rows(w, rows) != 0)
        return -1;
    memset(w->rescaled, 0, rows);
    for (size_t l = 0; l < count; l++) {    /* exact_terms_one's set-up, lane by lane */
        const exact_terms_node *x = node[l];
        a[l] = x->mu;
        for (size_t j = 0; j < J; j++) {
            kr[j][l] = x->k[j] * x->rho[j];
            rho[j][l] = x->rho[j];
            a[l] += kr[j][l];
        }
        first[l] = 1.0;
        if (x->h > 1)
            live |= (__mmask8)(1u << l);
    }
    s.g = _mm512_loadu_pd(first);
    s.a = _mm512_loadu_pd(a);
    for (size_t j = 0; j < J; j++) {
        s.T[j] = _mm512_setzero_pd();
        s.kr[j] = _mm512_loadu_pd(kr[j]);
        s.rho[j] = _mm512_loadu_pd(rho[j]);
    }
    _mm512_store_pd(w->terms, s.g);
    lanes_stop(&s, J, (__mmask8)~live);     /* the lanes of one term, and those unused */
    while (live) {
        size_t end = SIZE_MAX;              /* the next step where a live lane stops */
        __mmask8 done = 0;
        for (size_t l = 0; l < count; l++)
            if ((live >> l) & 1u && node[l]->h - 1 < end)
                end = node[l]->h - 1;
        rescaled_lanes |= lanes_segment(&s, J, n, end, w->terms, w->rescaled, w->inv);
        n = end;
        for (size_t l = 0; l < count; l++)
            if ((live >> l) & 1u && node[l]->h - 1 == end)
                done |= (__mmask8)(1u << l);
        lanes_stop(&s, J, done);
        live &= (__mmask8)~done;
    }
    for (size_t l = 0; l < count; l++)
        if ((rescaled_lanes >> l) & 1u)
            lane_rescale_history(w->terms, w->rescaled, l, node[l]->h);
    __m512d total = lanes_sum(w->terms, rows);
    /* lanes_divide reads whole blocks of 8 rows: those past the last are zeros. */
    size_t pad = (LANES - rows % LANES) % LANES;
    memset(w->terms + rows * LANES, 0, pad * LANES * sizeof *w->terms);
    _mm512_storeu_pd(sum, total);
    __mmask8 out = 0;
    for (size_t l = 0; l < count; l++) {
        node[l]->rc = !(sum[l] > 0.0) || !isfinite(sum[l]) ? -1 : 0;
        if (node[l]->rc == 0)
            out |= (__mmask8)(1u << l);
        g[l] = node[l]->g;
        h[l] = node[l]->h;
    }
    lanes_divide(w->terms, rows, total, out, g, h);
    return 0;
}

#endif /* TERMS_AVX512 */

int exact_terms_lanes_available(void)
{
#if TERMS_AVX512
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return 0;
#endif
}

int exact_terms_batch(exact_terms_node *node, size_t n, exact_terms_work *w)
{
    unsigned char in_lanes[LANES] = {0};

    if (n > LANES)
        return -1;
#if TERMS_AVX512
    if (exact_terms_lanes_available()) {
        exact_terms_node *lane[LANES];
        size_t count = 0, J = 0;
        for (size_t i = 0; i < n; i++) {    /* the most common J, the first on a tie */
            size_t same = 0;
            for (size_t i2 = 0; i2 < n; i2++)
                same += node[i2].J == node[i].J;
            if (node[i].J <= MAX_GROUPS && same > count) {
                count = same;
                J = node[i].J;
            }
        }
        if (count >= 2) {
            count = 0;
            for (size_t i = 0; i < n; i++)
                if (node[i].J == J) {
                    lane[count++] = &node[i];
                    in_lanes[i] = 1;
                }
            if (lanes_run(lane, count, J, w) != 0)
                return -1;
        }
    }
#endif
    for (size_t i = 0; i < n; i++) {
        if (in_lanes[i])
            continue;
        if (work_groups(w, node[i].J) != 0)
            return -1;
        node[i].rc = exact_terms_one(node[i].mu, node[i].k, node[i].rho, node[i].J, node[i].h,
                                     w->T, node[i].g);
    }
    return 0;
}
