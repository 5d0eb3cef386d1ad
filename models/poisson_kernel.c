/* The conditional kernel of the Poisson core (models/poisson_core.c): the distribution of a group
 * of trials' referral registrations by the deadline given their draws, one vector lane a trial.
 * See poisson_kernel.h for the contract. */
#include "poisson_kernel.h"

#include <stdint.h>

/* x86-64 with gcc or clang: the AVX-512 kernel below, chosen at run time. */
#if defined(__GNUC__) && defined(__x86_64__)
#define KERNEL_AVX512 1
#include <immintrin.h>
#else
#define KERNEL_AVX512 0
#endif

#define KERNEL_BLOCK POISSON_KERNEL_BLOCK

/* Rows c to c + rows - 1 (rows <= KERNEL_BLOCK) of a group's conditional pmf: row c + j is
 * 0 + w_s x[c + j - s] over the weights s in ascending order, where x is the group's Poisson
 * rows (the window's len, or SIZE_MAX while it grows) with zero rows on either side: a row
 * outside the window adds w_s 0 = +0, which leaves a sum of non-negative terms unchanged, so
 * the block's rows take the same weights, those that meet the window in one of them; into the
 * table (c + j < tab: acc, and its square into acc2) and into the lanes' P(success) (c + j >=
 * from; lanes apart, see poisson_kernel_lanes.shift: c + j >= from_lane[l], where a row below
 * adds +0, which leaves the sum as skipping it does), rows in ascending order. The rows' sums
 * are independent chains, computed side by side: one row at a time, each sum waits on the
 * previous addition. */
static inline __attribute__((always_inline)) void
kernel_rows(const poisson_kernel_args *a, const double *restrict weight, const double *x,
            size_t len, size_t c, size_t rows, const double *from_lane, double *restrict ps)
{
    double q[KERNEL_BLOCK][POISSON_KERNEL_LANES] = {{0.0}};
    ptrdiff_t row0 = (ptrdiff_t)c;
    /* Only the weights that meet a row of the window: the others add +0 to every row. */
    size_t s_lo = c + 1 > len ? c + 1 - len : 0;
    size_t s_end = c + KERNEL_BLOCK < a->n_weight ? c + KERNEL_BLOCK : a->n_weight;
    for (size_t s = s_lo; s < s_end; s++) {
        const double *wt = weight + s * POISSON_KERNEL_LANES;
        const double *xs = x + (row0 - (ptrdiff_t)s) * POISSON_KERNEL_LANES;
#pragma GCC unroll 8
        for (size_t j = 0; j < KERNEL_BLOCK; j++) {
#pragma omp simd
            for (int l = 0; l < POISSON_KERNEL_LANES; l++)
                q[j][l] += wt[l] * xs[j * POISSON_KERNEL_LANES + l];
        }
    }
    for (size_t j = 0; j < rows; j++) {
        size_t r = c + j;
        if (r < a->tab) {
            double *acc = a->acc + r * POISSON_KERNEL_LANES, *acc2 = a->acc2 + r * POISSON_KERNEL_LANES;
#pragma omp simd
            for (int l = 0; l < POISSON_KERNEL_LANES; l++) {
                acc[l] += q[j][l];
                acc2[l] += q[j][l] * q[j][l];
            }
        }
        if (from_lane) {
            double at = (double)r;
#pragma omp simd
            for (int l = 0; l < POISSON_KERNEL_LANES; l++)
                ps[l] += at >= from_lane[l] ? q[j][l] : 0.0;
        } else if (r >= a->from) {
#pragma omp simd
            for (int l = 0; l < POISSON_KERNEL_LANES; l++)
                ps[l] += q[j][l];
        }
    }
}

/* The conditional distribution of a group of POISSON_KERNEL_LANES trials, in one pass:
 * - each lane's Poisson(M) pmf of referral registrations, into pwin[m][l] (after
 *   n_weight - 1 zero rows): 0 before its start row, then by the ratio recurrence
 *   pmf(m+1) = pmf(m) M / (m+1) (inv[m + 1], the caller's inv shifted by the group's base;
 *   inv[shift + m + 1] for lanes apart, see poisson_kernel_lanes.shift) from its first term
 *   (a padding lane has M and its first term 0, see gather_group), up to the first m where
 *   every lane is past its peak row and below tail_eps (POISSON_TAIL_EPS: the terms then fall
 *   at least geometrically; INFINITY: the windows cut at their peak rows), or room runs out;
 * - each lane's count by inversion of its window with its uniform u: the number of m < len - 1
 *   whose cumulative sum is at most u (sequential search, Devroye 1986, X.3.3), and the
 *   window's sum (mass);
 * - every KERNEL_BLOCK Poisson rows, the rows of the conditional pmf that end with them
 *   (kernel_rows): the table and P(success); then the rows left, up to those past the window
 *   that the screening weights still reach.
 * Lane by lane, the same arithmetic in the same order at any vector width. Returns the rows of
 * the conditional pmf, len + n_weight - 1. */
SIMD_CLONES
size_t poisson_kernel_general(const poisson_kernel_args *a, poisson_kernel_lanes *g)
{
    double M[POISSON_KERNEL_LANES], v[POISSON_KERNEL_LANES], cdf[POISSON_KERNEL_LANES], below[POISSON_KERNEL_LANES];
    double ps[POISSON_KERNEL_LANES], peak[POISSON_KERNEL_LANES], from_lane[POISSON_KERNEL_LANES];
    size_t lane_shift[POISSON_KERNEL_LANES];
    size_t pad = a->n_weight - 1;
    double *x = a->pwin + pad * POISSON_KERNEL_LANES;   /* Poisson row m at x + m lanes */
    for (size_t i = 0; i < pad * POISSON_KERNEL_LANES; i++)
        a->pwin[i] = 0.0;
    int starts_late = 0;   /* some lane starts past row 0 (loop-invariant: gcc unswitches it) */
    int apart = 0;         /* some lane's rows are shifted */
#pragma omp simd reduction(| : starts_late, apart)
    for (int l = 0; l < POISSON_KERNEL_LANES; l++) {
        M[l] = g->mean[l];
        peak[l] = g->peak[l];
        v[l] = g->first_term[l];
        cdf[l] = below[l] = ps[l] = 0.0;
        starts_late |= g->start[l] != 0.0;
        apart |= g->shift[l] != 0.0;
        from_lane[l] = (double)a->from - g->shift[l];
        lane_shift[l] = (size_t)g->shift[l];
    }
    if (starts_late) {
#pragma omp simd
        for (int l = 0; l < POISSON_KERNEL_LANES; l++)
            v[l] = g->start[l] == 0.0 ? v[l] : 0.0;
    }
    size_t m = 0, done_rows = 0;
    while (m < a->room) {
        double *row = x + m * POISSON_KERNEL_LANES, r = a->inv[m + 1], row_at = (double)m;
        double r_lane[POISSON_KERNEL_LANES];   /* lanes apart: each lane's own 1/k */
        if (starts_late) {
#pragma omp simd
            for (int l = 0; l < POISSON_KERNEL_LANES; l++)
                v[l] = row_at == g->start[l] ? g->first_term[l] : v[l];
        }
        if (apart) {
#pragma omp simd
            for (int l = 0; l < POISSON_KERNEL_LANES; l++)
                r_lane[l] = a->inv[lane_shift[l] + m + 1];
        }
#pragma omp simd
        for (int l = 0; l < POISSON_KERNEL_LANES; l++) {
            row[l] = v[l];
            cdf[l] += v[l];
            below[l] += g->uniform[l] >= cdf[l] ? 1.0 : 0.0;
            v[l] *= M[l] * (apart ? r_lane[l] : r);
        }
        m++;
        if (m % 4 == 0) {
            if (m - done_rows >= KERNEL_BLOCK) {
                kernel_rows(a, g->weight, x, SIZE_MAX, done_rows, KERNEL_BLOCK,
                            apart ? from_lane : NULL, ps);
                done_rows += KERNEL_BLOCK;
            }
            int done = 1;
            double at = (double)(m - 1);
#pragma omp simd reduction(& : done)
            for (int l = 0; l < POISSON_KERNEL_LANES; l++)
                done &= at > peak[l] && row[l] < a->tail_eps;
            if (done)
                break;
        }
    }
    size_t len = m, rows = len + pad;
    /* The last block starts below rows and reads up to KERNEL_BLOCK - 1 rows on. */
    for (size_t i = len * POISSON_KERNEL_LANES; i < (rows + KERNEL_BLOCK - 1) * POISSON_KERNEL_LANES; i++)
        x[i] = 0.0;
    for (; done_rows < rows; done_rows += KERNEL_BLOCK)
        kernel_rows(a, g->weight, x, len, done_rows,
                    rows - done_rows < KERNEL_BLOCK ? rows - done_rows : KERNEL_BLOCK,
                    apart ? from_lane : NULL, ps);
    double last = (double)(len - 1);
#pragma omp simd
    for (int l = 0; l < POISSON_KERNEL_LANES; l++) {
        g->count[l] = (below[l] < last ? below[l] : last) + g->shift[l];
        g->p_success[l] = ps[l];
        g->mass[l] = cdf[l];
    }
    return rows;
}

#if KERNEL_AVX512
/* ---- AVX-512, few screening weights: every quantity in a register ---- */

/* Screening weights kept in registers, with as many recent Poisson rows (see z_kernel). */
#define Z_WEIGHTS_MAX POISSON_KERNEL_FAST_WEIGHTS

#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

/* The group's running state, one vector of lanes per quantity: M, u, the next Poisson term v,
 * the inversion's cumulative sum and count, P(success), the screening weights w_s and the last
 * Poisson rows (x_s is row m - 1 - s after row m - 1); for lanes apart, each lane's index of
 * inv for the next row and its first row of success; the end test's tail_eps. Small enough to
 * live in registers. */
typedef struct avx512_state {
    __m512d M, u, v, cdf, below, ps, start, first, peak, from, tail;
    __m512d w0, w1, w2, w3, x0, x1, x2, x3;
    __m512i at;
} avx512_state;

/* q + w x when s0 <= s < s1 (constants once inlined), else q. */
AVX512_INLINE __m512d z_term(__m512d q, __m512d w, __m512d x, int s, int s0, int s1)
{
    return s0 <= s && s < s1 ? _mm512_add_pd(q, _mm512_mul_pd(w, x)) : q;
}

/* Row c of the conditional pmf, as kernel_rows: 0 + w_s x_s for s0 <= s < s1 in order of s,
 * where x_s holds Poisson row c - s; into the table and P(success) (lanes apart: each from its
 * own row, `apart` a constant once inlined). */
AVX512_INLINE void avx512_row(const poisson_kernel_args *a, avx512_state *f, size_t c, int s0,
                              int s1, int apart)
{
    __m512d q = _mm512_setzero_pd();
    q = z_term(q, f->w0, f->x0, 0, s0, s1);
    q = z_term(q, f->w1, f->x1, 1, s0, s1);
    q = z_term(q, f->w2, f->x2, 2, s0, s1);
    q = z_term(q, f->w3, f->x3, 3, s0, s1);
    if (c < a->tab) {
        double *acc = a->acc + c * POISSON_KERNEL_LANES, *acc2 = a->acc2 + c * POISSON_KERNEL_LANES;
        _mm512_storeu_pd(acc, _mm512_add_pd(_mm512_loadu_pd(acc), q));
        _mm512_storeu_pd(acc2, _mm512_add_pd(_mm512_loadu_pd(acc2), _mm512_mul_pd(q, q)));
    }
    if (apart) {
        __mmask8 success = _mm512_cmp_pd_mask(_mm512_set1_pd((double)c), f->from, _CMP_GE_OS);
        f->ps = _mm512_mask_add_pd(f->ps, success, f->ps, q);
    } else if (c >= a->from) {
        f->ps = _mm512_add_pd(f->ps, q);
    }
}

/* The Poisson rows move one place down: x_s becomes row m - s once x0 is set to row m. */
AVX512_INLINE void avx512_shift(avx512_state *f, int nw)
{
    if (nw > 3)
        f->x3 = f->x2;
    if (nw > 2)
        f->x2 = f->x1;
    if (nw > 1)
        f->x1 = f->x0;
}

/* Poisson row m and its row of the conditional pmf, as poisson_kernel_general's loop body: the
 * weights below s1 (fewer than nw in the first rows only); with `late` (a constant once
 * inlined) a lane whose window starts at row m takes its first term there; with `apart` (also)
 * each lane reads inv at its own row. */
AVX512_INLINE void avx512_step(const poisson_kernel_args *a, avx512_state *f, size_t m, int nw,
                               int s1, int late, int apart)
{
    __m512d r;
    if (apart) {
        r = _mm512_i64gather_pd(f->at, a->inv, 8);
        f->at = _mm512_add_epi64(f->at, _mm512_set1_epi64(1));
    } else {
        r = _mm512_set1_pd(a->inv[m + 1]);
    }
    if (late) {
        __mmask8 starts = _mm512_cmp_pd_mask(f->start, _mm512_set1_pd((double)m), _CMP_EQ_OQ);
        f->v = _mm512_mask_mov_pd(f->v, starts, f->first);
    }
    avx512_shift(f, nw);
    f->x0 = f->v;
    f->cdf = _mm512_add_pd(f->cdf, f->v);
    __mmask8 le = _mm512_cmp_pd_mask(f->u, f->cdf, _CMP_GE_OS);
    f->below = _mm512_add_pd(f->below, _mm512_maskz_mov_pd(le, _mm512_set1_pd(1.0)));
    f->v = _mm512_mul_pd(f->v, _mm512_mul_pd(f->M, r));
    avx512_row(a, f, m, 0, s1, apart);
}

/* Whether every lane's Poisson row m - 1 (in x0) is past its peak row and below tail_eps. */
AVX512_INLINE int avx512_done(const avx512_state *f, size_t m)
{
    __m512d at = _mm512_set1_pd((double)(m - 1));
    __mmask8 past = _mm512_cmp_pd_mask(at, f->peak, _CMP_GT_OS);
    __mmask8 small = _mm512_cmp_pd_mask(f->x0, f->tail, _CMP_LT_OS);
    return (past & small) == 0xff;
}

/* poisson_kernel_general for nw = n_weight <= Z_WEIGHTS_MAX (a constant once inlined) and room >= 4:
 * the same operations in the same order, lane by lane, with the state and the last nw Poisson
 * rows in registers instead of arrays and pwin, four rows between "done" checks as there. */
AVX512_INLINE size_t z_kernel(const poisson_kernel_args *args, poisson_kernel_lanes *g, int nw,
                              int late, int apart)
{
    /* A local copy, which the table's stores cannot alias: its fields stay in registers. */
    const poisson_kernel_args copy = *args, *a = &copy;
    __m512d zero = _mm512_setzero_pd();
    __m512d start = _mm512_loadu_pd(g->start), first = _mm512_loadu_pd(g->first_term);
    /* With late starts, a lane's v is 0 until its start row (avx512_step); else its first term. */
    __m512d v = late ? _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(start, zero, _CMP_EQ_OQ), first)
                     : first;
    avx512_state f = {.M = _mm512_loadu_pd(g->mean), .u = _mm512_loadu_pd(g->uniform),
                 .v = v, .cdf = zero, .below = zero, .ps = zero, .start = start, .first = first,
                 .peak = _mm512_loadu_pd(g->peak), .tail = _mm512_set1_pd(a->tail_eps),
                 .from = _mm512_sub_pd(_mm512_set1_pd((double)a->from), _mm512_loadu_pd(g->shift)),
                 .at = _mm512_setzero_si512(),
                 .w0 = zero, .w1 = zero, .w2 = zero, .w3 = zero,
                 .x0 = zero, .x1 = zero, .x2 = zero, .x3 = zero};
    if (apart) {
        int64_t at[POISSON_KERNEL_LANES];   /* inv's index of each lane's row 1 */
        for (int l = 0; l < POISSON_KERNEL_LANES; l++)
            at[l] = (int64_t)g->shift[l] + 1;
        f.at = _mm512_loadu_si512(at);
    }
    const double *w = g->weight;
    f.w0 = _mm512_loadu_pd(w);
    if (nw > 1)
        f.w1 = _mm512_loadu_pd(w + POISSON_KERNEL_LANES);
    if (nw > 2)
        f.w2 = _mm512_loadu_pd(w + 2 * POISSON_KERNEL_LANES);
    if (nw > 3)
        f.w3 = _mm512_loadu_pd(w + 3 * POISSON_KERNEL_LANES);
    /* Rows 0 to 3: row c takes the weights s <= c only. */
    avx512_step(a, &f, 0, nw, 1, late, apart);
    avx512_step(a, &f, 1, nw, nw < 2 ? nw : 2, late, apart);
    avx512_step(a, &f, 2, nw, nw < 3 ? nw : 3, late, apart);
    avx512_step(a, &f, 3, nw, nw, late, apart);
    size_t m = 4;
    while (!avx512_done(&f, m) && m + 4 <= a->room) {
        avx512_step(a, &f, m, nw, nw, late, apart);
        avx512_step(a, &f, m + 1, nw, nw, late, apart);
        avx512_step(a, &f, m + 2, nw, nw, late, apart);
        avx512_step(a, &f, m + 3, nw, nw, late, apart);
        m += 4;
    }
    /* Fewer than four rows of room left: no "done" check falls among them. */
    if (m + 4 > a->room && !avx512_done(&f, m)) {
        for (; m < a->room; m++)
            avx512_step(a, &f, m, nw, nw, late, apart);
    }
    size_t len = m;
    /* The rows past the window: row len + j takes Poisson rows len + j - s for s > j. */
#pragma GCC unroll 4
    for (int j = 0; j + 1 < nw; j++) {
        avx512_shift(&f, nw);
        avx512_row(a, &f, len + (size_t)j, j + 1, nw, apart);
    }
    double below[POISSON_KERNEL_LANES], last = (double)(len - 1);
    _mm512_storeu_pd(below, f.below);
    _mm512_storeu_pd(g->p_success, f.ps);
    _mm512_storeu_pd(g->mass, f.cdf);
    for (int l = 0; l < POISSON_KERNEL_LANES; l++)
        g->count[l] = (below[l] < last ? below[l] : last) + g->shift[l];
    return len + (size_t)nw - 1;
}

/* z_kernel for each number of weights it takes (1 to Z_WEIGHTS_MAX), with windows from row 0
 * or starting late (the check per row costs the small means' groups about 4 %, so they go
 * without it), or with lanes apart (each from its own row: see poisson_kernel_lanes.shift). */
__attribute__((target("avx512f")))
static size_t z_group(const poisson_kernel_args *a, poisson_kernel_lanes *g)
{
    int late = 0, apart = 0;
    for (int l = 0; l < POISSON_KERNEL_LANES; l++) {
        late |= g->start[l] != 0.0;
        apart |= g->shift[l] != 0.0;
    }
    if (apart) {
        switch (a->n_weight) {
        case 1:
            return z_kernel(a, g, 1, 0, 1);
        case 2:
            return z_kernel(a, g, 2, 0, 1);
        case 3:
            return z_kernel(a, g, 3, 0, 1);
        default:
            return z_kernel(a, g, 4, 0, 1);
        }
    }
    switch (a->n_weight + (size_t)late * Z_WEIGHTS_MAX) {
    case 1:
        return z_kernel(a, g, 1, 0, 0);
    case 2:
        return z_kernel(a, g, 2, 0, 0);
    case 3:
        return z_kernel(a, g, 3, 0, 0);
    case 4:
        return z_kernel(a, g, 4, 0, 0);
    case 1 + Z_WEIGHTS_MAX:
        return z_kernel(a, g, 1, 1, 0);
    case 2 + Z_WEIGHTS_MAX:
        return z_kernel(a, g, 2, 1, 0);
    case 3 + Z_WEIGHTS_MAX:
        return z_kernel(a, g, 3, 1, 0);
    default:
        return z_kernel(a, g, 4, 1, 0);
    }
}
#endif

/* The conditional distribution of a group: the AVX-512 kernel for the few screening weights of
 * most scenarios when the processor has it (a flag read per group, negligible against the
 * group's work), poisson_kernel_general otherwise; the outputs are the same bits either way. */
size_t poisson_kernel_group(const poisson_kernel_args *a, poisson_kernel_lanes *g)
{
#if KERNEL_AVX512
    if (a->room >= 4 && a->n_weight >= 1 && a->n_weight <= Z_WEIGHTS_MAX &&
        __builtin_cpu_supports("avx512f"))
        return z_group(a, g);
#endif
    return poisson_kernel_general(a, g);
}
