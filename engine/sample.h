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
 * sample_gamma_draw but not the same values.
 * A whole shape k up to SAMPLE_GAMMA_PRODUCT_MAX is drawn as -log(U_1 ... U_k) scale, the
 * words and values of sample_gamma_whole with every lane's shape k, times the scale: k n
 * words, no rejection. Other shapes: the first attempt of every draw is made for a chunk of
 * draws at once, from one word for the normal and one for the uniform each, in a loop
 * the compiler vectorises; the draws Marsaglia and Tsang's squeeze leaves (about 8 %) get the
 * full logarithmic test together, also vectorised; the few left after that (the ziggurat's
 * wedges or tail, v <= 0, true rejections) are finished one by one by the same algorithm,
 * continuing from the attempt they made. Every path decides with the same arithmetic
 * (vmath_log, not libm's log), so the draws do not depend on the processor's vector width.
 * Shapes below 1 are drawn one by one. */
void sample_gamma_fill(gsl_rng *r, const sample_gamma *g, double *out, size_t n);

/* n independent Beta variates into out[0 .. n-1]; scratch holds n doubles.
 * Whole a, b with a + b - 1 <= SAMPLE_BETA_ORDER_WORDS_MAX: the a-th smallest of a + b - 1
 * uniforms (David and Nagaraja 2003, "Order Statistics", 2.2), selected on 32-bit words w and
 * returned as (w + 1/2) 2^-32, in [2^-33, 1 - 2^-33]; within Kolmogorov distance
 * (a + b - 1) 2^-33 of Beta(a, b), derivation in sample.c. Exactly (a + b - 1) n words, no
 * rejection; the values are the same on every compiled copy. Words: the lanes go in chunks of
 * SAMPLE_WHOLE_CHUNK, in order, and a chunk of len lanes takes (a + b - 1) len words,
 * row-major: lane i's uniform j is word j len + i of the chunk (i counted from the chunk's
 * first lane), as in sample_gamma_whole.
 * Other shapes of at least 1: X / (X + Y) from two sample_gamma_fill calls, all n X first,
 * then all n Y, so a whole shape up to SAMPLE_GAMMA_PRODUCT_MAX is drawn as a product of
 * uniforms, each side on its own. Shapes below 1 are drawn one by one (sample_beta_draw). */
void sample_beta_fill(gsl_rng *r, const sample_beta *b, double *out, double *scratch, size_t n);

/* Where sample_beta_fill's order statistics stop being cheaper than the gamma ratio: at most
 * this many uniforms, a + b - 1. Then at most (a + b) / 2 <= 7 words are kept, min(a, b),
 * and every such case was measured cheaper, so no separate limit on them is needed.
 * Measured in TSC cycles per draw (64 draws a call, the reference run's batch; AVX-512 copy,
 * gcc 12 -O3; medians of 3 runs, order statistics against the ratio). The order statistics
 * cost about 1.3 cycles a word plus 0.12 a word per kept word; the ratio 22 to 32 whatever
 * the size. At n = a + b - 1 = 14, by s = min(a, b): 1: 21.6 against 22.4, 2: 23.6 / 23.8,
 * 3: 24.9 / 26.3, 4: 25.8 / 27.9, 5: 26.9 / 29.7, 6: 28.6 / 31.5, 7: 29.9 / 31.6. At n = 15
 * s = 1 and 2 lose (23.0 / 22.1, 24.9 / 23.7), s = 7 ties (31.3 / 31.2) and s = 3 to 6 gain
 * 2 to 3 %. With 32 draws a call the ratio costs more and the order statistics still win at
 * n = 16 (0.90 to 0.95 of its cost); 14 is the bound for the common batch. */
#define SAMPLE_BETA_ORDER_WORDS_MAX 14

/* The largest whole shape sample_gamma_fill draws as a product of uniforms: where products
 * stop being cheaper. Measured in TSC cycles per draw (256 draws a call, two runs, AVX-512
 * copy, gcc 12 -O3): products cost about 2 k + 5 (a word and a multiplication per factor, one
 * vmath_log), 16.3 to 16.8 at k = 6 against Marsaglia and Tsang's 17.0, and 18.7 to 19.1 at
 * k = 7 against 16.8 to 17.0; Marsaglia and Tsang's fill costs 16.3 to 18.8 at every shape
 * (at -O2 the same picture: 17.0 against 17.6 at 6, 18.4 against 17.6 at 7). In a whole run
 * with every site's rate of shape 6 or 7 the two choices were within the noise. */
#define SAMPLE_GAMMA_PRODUCT_MAX 6

/* Whole shapes as products of uniforms: Gamma(k, 1) = -log(U_1 ... U_k), the sum of k
 * independent Exp(1) (Knuth, TAOCP vol. 2, 3.4.1), and Beta(a, b) = G_a / (G_a + G_b)
 * (Devroye 1986, IX.4.1). Each U is (w + 1/2) 2^-32 from one 32-bit word w, so the laws are
 * exact but for the words' resolution: within Kolmogorov distance k 2^-33 (1.2e-10 per
 * factor) of Gamma(k), within (a + b) 2^-33 of Beta(a, b); derivation in sample.c. Every
 * factor is at least 2^-33, so no product underflows. Vectorised across lanes, no branch on
 * the values; the arithmetic is the same on every compiled copy (vmath_log), so are the
 * values.
 *
 * Words. The lanes go in chunks of SAMPLE_WHOLE_CHUNK, in order. A chunk of len lanes that
 * needs R rows draws R len words, row-major: lane i's word from row j is word j len + i of
 * the chunk (i counted from the chunk's first lane), and the words of rows a lane does not
 * need are drawn and not used. Row-major, because each row is then one contiguous vector load
 * with no per-lane bookkeeping. The alternative, exactly one word per factor (lanes sorted by
 * shape with a counting sort, each row the prefix of lanes needing it, results scattered
 * back), measured slower in all but one case (TSC cycles per draw, gcc 12 -O2, row-major
 * first): on the shapes the reference run draws, 32 lanes a call, gamma 27.8 against 30.4 and
 * beta 41.3 against 42.2; shapes uniform on 1 .. 10 over 64 lanes, gamma 29.5 against 31.7
 * but order statistics 47.1 against 42.9; equal shapes 11.4 against 27. The sort's
 * bookkeeping costs about what the unused words do (1.5 cycles each).
 *
 * Shapes must lie in [1, SAMPLE_WHOLE_MAX]; a larger one is drawn as SAMPLE_WHOLE_MAX (a
 * caller's error, never a write past a buffer). r must be of type rng_philox4x32; n = 0 draws
 * nothing; out must not overlap the shape arrays, which are not changed. */
#define SAMPLE_WHOLE_MAX 16
#define SAMPLE_WHOLE_CHUNK 64

/* out[i] ~ Gamma(k[i], 1), independently, for i < n: lane i's factors are its rows
 * 0 .. k[i] - 1, R = the chunk's largest k[i]. With every k[i] = k, exactly k n words, and the
 * values sample_gamma_fill gives for Gamma(k, 1) when k <= SAMPLE_GAMMA_PRODUCT_MAX. */
void sample_gamma_whole(gsl_rng *r, const uint32_t *k, double *out, size_t n);

/* out[i] ~ Beta(a[i], b[i]), independently, for i < n: lane i's G_a is -log of the product of
 * its rows 0 .. a[i] - 1, its G_b of rows a[i] .. a[i] + b[i] - 1, R = the chunk's largest
 * a[i] + b[i]. So the uniform order statistics Beta(j, m - j + 1) of one m take m + 1 words a
 * lane, none unused. Values lie in (0, 1]; 1 only by rounding, when G_b < G_a 2^-53 or so. */
void sample_beta_whole(gsl_rng *r, const uint32_t *a, const uint32_t *b, double *out, size_t n);

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

/* out[t] ~ Binomial(n, p[t]) for t < count. Up to SAMPLE_BINOMIAL_COUNT trials, the
 * Bernoulli trials of sample_binomial, for all t at once: in chunks of 64 (len of them), trial
 * i of out[t] is word i len + t of the chunk, n len words, drawn even where p[t] is 0 or 1
 * (a vectorised loop, no branch on p). Up to SAMPLE_BINOMIAL_SMALL, sample_binomial's
 * inversion, trials side by side (the same draws). Above, sample_binomial one by one. */
void sample_binomial_fill(gsl_rng *r, const double *p, unsigned long n, unsigned long *out,
                          size_t count);

/* out[i] ~ Binomial(n[i], p[i]) for i < count, independently, each item with its own n and p:
 * 0 where n is 0 or p is at most 0 (or NaN), n where p is at least 1. With p folded to at most
 * 1/2 (a draw for 1 - p counted down from n), a mean n p below SAMPLE_BTRS_MEAN by inversion
 * (one uniform, about n p + 1 steps), a larger one by Hormann's BTRS, transformed rejection
 * (two uniforms an attempt: 1.37 attempts a draw at n p = 10, 1.24 at 60, 1.13 at 50,000, counted
 * over 2^20 draws), so that the cost does not grow with n. The items are drawn side by side in vector lanes, the stream consumed in an
 * order fixed by the items alone (see sample.c). */
#define SAMPLE_BTRS_MEAN 10.0
void sample_binomial_each(gsl_rng *r, const uint32_t *n, const double *p, uint32_t *out,
                          size_t count);

/* The j-th smallest of n independent uniforms on [0, 1), 1 <= j <= n: Beta(j, n - j + 1)
 * (David and Nagaraja 2003, "Order Statistics", section 2.2). Up to SAMPLE_ORDER_STAT_SORT
 * uniforms it is that, literally: n uniforms and a partial sort, cheaper than two gamma
 * variates; above, a beta variate. */
#define SAMPLE_ORDER_STAT_SORT 16
double sample_uniform_order_stat(gsl_rng *r, unsigned long j, unsigned long n);

/* Gamma(shape k > 0, scale 1): the waiting time to the k-th event of a unit-rate Poisson process
 * when k is a whole number. */
double sample_gamma1(gsl_rng *r, double k);

/* n sets of points at once: set t has size[t] points, each
 * independently below edge[k * stride + t] / 2^32 with that probability (a uniform 32-bit word
 * each, so within 2^-32 of any probability asked for); below[k * stride + t] = how many of set
 * t's points lie below that edge, for k < n_edge. With edges nondecreasing in k these are the
 * running counts of a multinomial split of each set. A word's high half is drawn for every
 * point in one go, set after set, two to a 32-bit word (into word, which must hold (sum of the
 * sizes + 1) / 2 words); its low half only for the rare point whose high half ties with an
 * edge's (then one more word from the stream, in set and point order). */
void sample_split_sets(gsl_rng *r, size_t n, const uint32_t *size, const uint32_t *edge,
                       size_t n_edge, size_t stride, uint32_t *below, uint32_t *word);

#endif
