/* The terms of the exact mode's recurrence (models/exact.c, poisson_negbin_pmf): the pmf of a
 * Poisson plus negative binomials up to its cut, for one quadrature node, or for up to
 * EXACT_TERMS_LANES nodes side by side, one AVX-512 lane a node, each lane doing its node's
 * operations in the one-node order so that the terms are the same bits either way. Apart from
 * exact.c so that the vector code can be read and tested on its own (tests/test_exact.c). */
#ifndef ACCRUE_EXACT_TERMS_H
#define ACCRUE_EXACT_TERMS_H

#include <stddef.h>

/* Nodes computed side by side: one 512-bit vector of doubles. */
#define EXACT_TERMS_LANES 8

/* The most negative binomial groups the lanes hold in registers; nodes with more are computed
 * one at a time. */
#define EXACT_TERMS_MAX_GROUPS 8

/* The terms g_n = P(N = n), n < h, of N = Poisson(mu) + sum_j NB(k[j], rho[j]), j < J, by the
 * recurrence (n + 1) g_{n+1} = mu g_n + sum_j k_j T_j(n), T_j(n) = rho_j (g_n + T_j(n - 1)),
 * from g_0 = 1, rescaled by 2^-900 whenever a term passes 2^900, then divided by their
 * Neumaier-compensated sum (exact.c derives it and chooses h). T is scratch room for 2 J
 * doubles, g room for h >= 1; k, rho, T and g do not overlap. Returns 0, or -1 when the sum is
 * not a positive finite number (g's contents are then unspecified). */
int exact_terms_one(double mu, const double *restrict k, const double *restrict rho, size_t J,
                    size_t h, double *restrict T, double *restrict g);

/* One node of a batch (exact_terms_batch): the arguments of exact_terms_one, and its result. */
typedef struct exact_terms_node {
    double mu;                  /* Poisson mean, >= 0 */
    size_t J;                   /* negative binomial groups */
    const double *k, *rho;      /* J shapes and term ratios */
    size_t h;                   /* terms wanted, >= 1 */
    double *g;                  /* room for h terms: out, as exact_terms_one's g */
    int rc;                     /* out: exact_terms_one's return value */
} exact_terms_node;

/* Scratch that exact_terms_batch grows and reuses from one batch to the next: the lanes' terms
 * side by side, the steps where a lane was rescaled, the reciprocals 1 / (n + 1), and room T
 * for one node at a time. Start it zeroed; exact_terms_work_free releases it. */
typedef struct exact_terms_work {
    double *terms;              /* [cap][EXACT_TERMS_LANES] */
    unsigned char *rescaled;    /* [cap]: bit l set when lane l was rescaled at that step (of
                                   the last batch's steps, to its largest h) */
    double *inv;                /* [cap]: 1 / (n + 1) */
    size_t cap;
    double *T;                  /* [2 * T_groups] */
    size_t T_groups;
} exact_terms_work;

/* Frees w's arrays and zeroes it; w may be NULL. */
void exact_terms_work_free(exact_terms_work *w);

/* Computes each of the n <= EXACT_TERMS_LANES nodes as exact_terms_one would, the same bits
 * into its g (when its rc is 0) and the same rc: the nodes that share the most common J (at
 * most EXACT_TERMS_MAX_GROUPS), when two or more do, in AVX-512 lanes on a processor with
 * AVX-512F; every other node, and all of them without AVX-512F, one at a time. The lanes run to
 * the largest h among them, so nodes of similar h make good batches. Returns 0, or -1 when out
 * of memory or n is too large (the nodes' rc and g are then unspecified). w is the scratch,
 * kept between calls. */
int exact_terms_batch(exact_terms_node *node, size_t n, exact_terms_work *w);

/* Whether exact_terms_batch uses the AVX-512 lanes on this processor (for tests). */
int exact_terms_lanes_available(void);

#endif
