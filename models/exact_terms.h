/* The terms of the exact mode's recurrence (models/exact.c, poisson_negbin_pmf): the pmf of a
 * Poisson plus negative binomials up to its cut, for one quadrature node. */
#ifndef ACCRUE_EXACT_TERMS_H
#define ACCRUE_EXACT_TERMS_H

#include <stddef.h>

/* The terms g_n = P(N = n), n < h, of N = Poisson(mu) + sum_j NB(k[j], rho[j]), j < J, by the
 * recurrence (n + 1) g_{n+1} = mu g_n + sum_j k_j T_j(n), T_j(n) = rho_j (g_n + T_j(n - 1)),
 * from g_0 = 1, rescaled by 2^-900 whenever a term passes 2^900, then divided by their
 * Neumaier-compensated sum (exact.c derives it and chooses h). T is scratch room for 2 J
 * doubles, g room for h >= 1; k, rho, T and g do not overlap. Returns 0, or -1 when the sum is
 * not a positive finite number (g's contents are then unspecified). */
int exact_terms_one(double mu, const double *restrict k, const double *restrict rho, size_t J,
                    size_t h, double *restrict T, double *restrict g);

#endif
