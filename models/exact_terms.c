/* The terms of the exact mode's recurrence for the Poisson and negative binomial parts of a
 * quadrature node's pmf (models/exact.c); see exact_terms.h for the contract. */
#include "exact_terms.h"

#include <math.h>

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
