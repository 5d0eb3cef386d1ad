/* Samplers for the simulator's hot loop, drawing from a Philox stream (engine/rng.h) without
 * going through the gsl_rng vtable, with their per-distribution constants computed once, outside
 * the loop. Samplers used once per trial or less come from GSL. */
#ifndef ACCRUE_SAMPLE_H
#define ACCRUE_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

/* Gamma(shape, scale) with the constants of Marsaglia and Tsang's method precomputed. */
typedef struct sample_gamma {
    double shape, scale;
    double d, c;      /* d = a - 1/3, c = 1 / sqrt(9 d), with a = shape, or shape + 1 below 1 */
    double inv_shape; /* 1 / shape, for the boost of shapes below 1 */
} sample_gamma;

/* Beta(a, b) as X / (X + Y) with X ~ Gamma(a, 1), Y ~ Gamma(b, 1). */
typedef struct sample_beta {
    sample_gamma x, y;
} sample_beta;

/* Precomputes the constants for Gamma(shape > 0, scale > 0). */
sample_gamma sample_gamma_init(double shape, double scale);

/* Precomputes the constants for Beta(a > 0, b > 0). */
sample_beta sample_beta_init(double a, double b);

/* Computes the ziggurat tables; thread-safe and idempotent. sample_gamma_init and
 * sample_beta_init call it, so a sampler set up through them is ready. sample_normal itself
 * does not check, to keep the check out of the hot loop: call this before drawing normals
 * directly. */
void sample_init(void);

/* The samplers below need r of type rng_philox4x32 (engine/rng.h). */

/* A standard normal variate: the ziggurat method of Marsaglia and Tsang, "The ziggurat method
 * for generating random variables", J. Stat. Softw. 5(8), 2000, with 128 layers. The layer and
 * the value come from disjoint bits of one 32-bit word, so that the layer index is not
 * correlated with the low bits of the value (the flaw Doornik, 2005, found in the original). */
double sample_normal(gsl_rng *r);

/* A Gamma variate: Marsaglia and Tsang, "A simple method for generating gamma variables", ACM
 * TOMS 26(3), 2000: with d = a - 1/3 and c = 1/sqrt(9d), draw x normal and v = (1 + c x)^3 > 0,
 * accept d v when u < 1 - 0.0331 x^4 or log u < x^2/2 + d (1 - v + log v). Shapes below 1 use
 * Gamma(a) = Gamma(a + 1) U^(1/a) (the same paper, section 6). */
double sample_gamma_draw(gsl_rng *r, const sample_gamma *g);

/* A Beta variate from two gamma variates (Devroye 1986, "Non-Uniform Random Variate
 * Generation", IX.4.1). */
double sample_beta_draw(gsl_rng *r, const sample_beta *b);

/* n independent Gamma variates into out[0 .. n-1], the same distribution as n calls of
 * sample_gamma_draw but not the same values: the first attempt of every draw is made for a
 * chunk of draws at once, from one word for the normal and one for the uniform each, in a loop
 * the compiler vectorises; the draws Marsaglia and Tsang's squeeze leaves (about 8 %) get the
 * full logarithmic test together, also vectorised; the few left after that (the ziggurat's
 * wedges or tail, v <= 0, true rejections) are finished one by one by the same algorithm,
 * continuing from the attempt they made. Every path decides with the same arithmetic
 * (vmath_log, not libm's log), so the draws do not depend on the processor's vector width.
 * Shapes below 1 are drawn one by one. */
void sample_gamma_fill(gsl_rng *r, const sample_gamma *g, double *out, size_t n);

/* n independent Beta variates into out[0 .. n-1] as X / (X + Y) from two sample_gamma_fill
 * calls; scratch holds n doubles. Shapes below 1 are drawn one by one (sample_beta_draw). */
void sample_beta_fill(gsl_rng *r, const sample_beta *b, double *out, double *scratch, size_t n);

/* A Poisson(mu) variate, mu >= 0 (0 when mu <= 0). Below SAMPLE_POISSON_SMALL it inverts the
 * distribution function by sequential search (Devroye 1986, X.3.3): one uniform and about mu + 1
 * multiplications; above, it uses gsl_ran_poisson. */
#define SAMPLE_POISSON_SMALL 16.0
unsigned long sample_poisson(gsl_rng *r, double mu);

/* A Binomial(n, p) variate. Up to SAMPLE_BINOMIAL_COUNT trials as that many Bernoulli trials
 * (one 32-bit word each, success probability within 2^-32 of p); up to SAMPLE_BINOMIAL_SMALL
 * by inversion (one uniform); above by gsl_ran_binomial. */
#define SAMPLE_BINOMIAL_COUNT 4
#define SAMPLE_BINOMIAL_SMALL 32
unsigned long sample_binomial(gsl_rng *r, double p, unsigned long n);

/* The j-th smallest of n independent uniforms on [0, 1), 1 <= j <= n: Beta(j, n - j + 1)
 * (David and Nagaraja 2003, "Order Statistics", section 2.2). Up to SAMPLE_ORDER_STAT_SORT
 * uniforms it is that, literally: n uniforms and a partial sort, cheaper than two gamma
 * variates; above, a beta variate. */
#define SAMPLE_ORDER_STAT_SORT 16
double sample_uniform_order_stat(gsl_rng *r, unsigned long j, unsigned long n);

/* Gamma(shape k > 0, scale 1): the waiting time to the k-th event of a unit-rate Poisson process
 * when k is a whole number. */
double sample_gamma1(gsl_rng *r, double k);

/* n sets of points at once: set t has size[t] points, each independently below
 * edge[k * stride + t] / 2^32 with that probability (one 32-bit word each, so within 2^-32 of
 * any probability asked for); below[k * stride + t] = how many of set t's points lie below that
 * edge, for k < n_edge. With edges nondecreasing in k these are the running counts of a
 * multinomial split of each set. The words are drawn in one go, set after set (the sum of the
 * sizes, into word, which must hold as many); they do not depend on the edges. */
void sample_split_sets(gsl_rng *r, size_t n, const uint32_t *size, const uint32_t *edge,
                       size_t n_edge, size_t stride, uint32_t *below, uint32_t *word);

#endif
