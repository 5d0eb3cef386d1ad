/* The conditional kernel of the accrual model: see accrual_kernel.h. */
#include "accrual_kernel.h"

#include <stdint.h>

/* Row c of a group's conditional pmf: the Poisson rows c - s < len weighted by the screening
 * weights s < n_weight; into the table (c < tab: acc, and its square into acc2) and into the
 * lanes' P(success) (c >= from). */
static inline __attribute__((always_inline)) void
kernel_row(const kernel_args *a, const double *restrict weight, size_t c, size_t len,
           double *restrict ps)
{
    double q[KERNEL_LANES] = {0.0};
    size_t s0 = c >= len ? c - len + 1 : 0, s1 = c < a->n_weight ? c + 1 : a->n_weight;
    for (size_t s = s0; s < s1; s++) {
        const double *x = a->pwin + (c - s) * KERNEL_LANES, *wt = weight + s * KERNEL_LANES;
#pragma omp simd
        for (int l = 0; l < KERNEL_LANES; l++)
            q[l] += wt[l] * x[l];
    }
    if (c < a->tab) {
        double *acc = a->acc + c * KERNEL_LANES, *acc2 = a->acc2 + c * KERNEL_LANES;
#pragma omp simd
        for (int l = 0; l < KERNEL_LANES; l++) {
            acc[l] += q[l];
            acc2[l] += q[l] * q[l];
        }
    }
    if (c >= a->from) {
#pragma omp simd
        for (int l = 0; l < KERNEL_LANES; l++)
            ps[l] += q[l];
    }
}

/* The conditional distribution of a group of KERNEL_LANES trials, in one pass:
 * - each lane's Poisson(M) pmf of referral registrations from 0, into pwin[m][l], by the ratio
 *   recurrence pmf(m+1) = pmf(m) M / (m+1) from v0 = e^-M (a padding lane has M and v0 0, see
 *   gather_group), up to the first m where every lane is past its mean and below
 *   POISSON_TAIL_EPS (the terms then fall at least geometrically), or room runs out;
 * - each lane's count by inversion of its window with its uniform u: the number of m < len - 1
 *   whose cumulative sum is at most u (sequential search, Devroye 1986, X.3.3);
 * - as soon as a Poisson row is known, the row of the conditional pmf that ends with it
 *   (kernel_row): the table and P(success); then the rows past the window that the screening
 *   weights still reach.
 * Lane by lane, the same arithmetic in the same order at any vector width. Returns the rows of
 * the conditional pmf, len + n_weight - 1. */
SIMD_CLONES
size_t kernel_group(const kernel_args *a, work_group *g)
{
    double M[KERNEL_LANES], v[KERNEL_LANES], cdf[KERNEL_LANES], below[KERNEL_LANES];
    double ps[KERNEL_LANES];
#pragma omp simd
    for (int l = 0; l < KERNEL_LANES; l++) {
        M[l] = g->M[l];
        v[l] = g->v0[l];
        cdf[l] = below[l] = ps[l] = 0.0;
    }
    size_t m = 0;
    while (m < a->room) {
        double *row = a->pwin + m * KERNEL_LANES, r = a->inv[m + 1];
#pragma omp simd
        for (int l = 0; l < KERNEL_LANES; l++) {
            row[l] = v[l];
            cdf[l] += v[l];
            below[l] += g->u[l] >= cdf[l] ? 1.0 : 0.0;
            v[l] *= M[l] * r;
        }
        kernel_row(a, g->weight, m, SIZE_MAX, ps);
        m++;
        if (m % 4 == 0) {
            int done = 1;
            double at = (double)(m - 1);
#pragma omp simd reduction(& : done)
            for (int l = 0; l < KERNEL_LANES; l++)
                done &= at > M[l] && row[l] < POISSON_TAIL_EPS;
            if (done)
                break;
        }
    }
    size_t len = m;
    for (size_t c = len; c + 1 < len + a->n_weight; c++)
        kernel_row(a, g->weight, c, len, ps);
    double last = (double)(len - 1);
#pragma omp simd
    for (int l = 0; l < KERNEL_LANES; l++) {
        g->N[l] = below[l] < last ? below[l] : last;
        g->P[l] = ps[l];
    }
    return len + a->n_weight - 1;
}
