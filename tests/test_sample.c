/* Statistical tests of engine/sample.c: moments, goodness of fit and exact edge cases of every
 * sampler, the inversion samplers checked draw by draw against GSL's distribution functions, the
 * products and order statistics for whole shapes recomputed word by word, and the determinism
 * of a stream of mixed draws.
 *
 * Tolerances. Every statistical check is a test whose false-alarm rate for a correct sampler is
 * at most 1e-6:
 *   - a z-score within Z_MAX = 5 standard errors: the two-sided normal tail is 5.7e-7;
 *   - a chi-square below its upper 1e-6 quantile (gsl_cdf_chisq_Qinv);
 *   - a Kolmogorov-Smirnov statistic below KS_CRIT (upper 1e-6 point of Kolmogorov's law);
 *   - a count whose exact binomial or Poisson tail on either side is at least 5e-7.
 * The file makes 245 such checks (11 normal, 48 gamma, 42 beta, 21 Poisson, 56 binomial, 14
 * order statistics, 1 draw-by-draw inversion, 52 of the whole shapes by products), so by
 * Bonferroni's inequality the family-wise false-alarm rate is below 2.5e-4. The other checks
 * are exact. The seeds are fixed, so a run is deterministic: the rate is the chance that a correct
 * sampler fails for a seed picked at random. Means and variances are judged by a normal
 * approximation. Its worst case here is the sample variance of Gamma(0.3) at
 * n = 2e5 (or Gamma(0.7) at 1e5): (X - mu)^2 has skewness about 17, so s^2 has skewness
 * 17 / sqrt(n) = 0.04, and the first Edgeworth term, skew (z^3 - 3 z) / 6 at z = 5, raises one
 * 5-SE tail by a factor of at most 1.7 while lowering the other: the two-sided rate stays below
 * 1e-6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "../engine/rng.h"
#include "../engine/sample.h"
#include "../engine/vmath.h"

#define SEED UINT64_C(0x5eed5a3b1e)
#define Z_MAX 5.0
#define ALPHA 1e-6
/* Kolmogorov's limit law: P(sqrt(n) D > t) = 2 sum_k (-1)^(k-1) exp(-2 k^2 t^2). At t = 2.6934
 * the first term is 2 exp(-14.509) = 1.0e-6 and the second 2 exp(-58) is negligible. Stephens's
 * factor sqrt(n) + 0.12 + 0.11/sqrt(n) in place of sqrt(n) makes the limit law accurate at
 * finite n (Stephens 1970, JRSS B 32(1), table 1). */
#define KS_CRIT 2.6934
/* The ziggurat's tail start r (Marsaglia and Tsang 2000, 128 layers). */
#define ZIG_TAIL 3.442619855899

/* ---- helpers ---- */

/* Each test draws from its own stream of SEED, so tests do not depend on each other's order. */
static gsl_rng *stream_new(uint64_t stream)
{
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(r);
    rng_seek(r, SEED, stream);
    return r;
}

static double *draws_new(size_t n)
{
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    return x;
}

/* Fails unless |got - want| <= Z_MAX se. */
static void assert_z(const char *what, double got, double want, double se)
{
    double z = (got - want) / se;
    if (!(fabs(z) <= Z_MAX))
        fail_msg("%s: got %.10g, expected %.10g with SE %.4g (z = %.2f, limit %.1f)", what, got,
                 want, se, z, Z_MAX);
}

/* The mean and the central moments m2, m3, m4 (divided by n) of x[0..n), in two passes so that
 * a large mean does not cancel the variance's digits. */
typedef struct moments {
    double mean, m2, m3, m4;
} moments;

static moments moments_of(const double *x, size_t n)
{
    moments m = {0.0, 0.0, 0.0, 0.0};
    for (size_t i = 0; i < n; i++)
        m.mean += x[i];
    m.mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m.mean, d2 = d * d;
        m.m2 += d2;
        m.m3 += d2 * d;
        m.m4 += d2 * d2;
    }
    m.m2 /= (double)n;
    m.m3 /= (double)n;
    m.m4 /= (double)n;
    return m;
}

/* Checks the sample mean and the unbiased sample variance s^2 of x[0..n) against a distribution
 * with mean `mean`, variance mu2 and fourth central moment mu4:
 *   SE(mean) = sqrt(mu2 / n);
 *   Var(s^2) = mu4 / n - mu2^2 (n - 3) / (n (n - 1))  (Cramer 1946, "Mathematical Methods of
 *   Statistics", 27.4; for large n, (mu4 - mu2^2) / n). */
static void assert_mean_var(const char *what, const double *x, size_t n, double mean, double mu2,
                            double mu4)
{
    moments m = moments_of(x, n);
    double dn = (double)n;
    char label[160];
    snprintf(label, sizeof label, "%s mean", what);
    assert_z(label, m.mean, mean, sqrt(mu2 / dn));
    double s2 = m.m2 * dn / (dn - 1.0);
    snprintf(label, sizeof label, "%s variance", what);
    assert_z(label, s2, mu2, sqrt(mu4 / dn - mu2 * mu2 * (dn - 3.0) / (dn * (dn - 1.0))));
}

/* Pearson's chi-square of counts[0..bins) against probabilities prob[0..bins) summing to 1,
 * n draws in all; fails above the upper ALPHA quantile of chi-square(bins - 1). */
static void assert_chisq(const char *what, const double *counts, const double *prob, size_t bins,
                         size_t n)
{
    double chi2 = 0.0;
    for (size_t i = 0; i < bins; i++) {
        double e = prob[i] * (double)n, d = counts[i] - e;
        chi2 += d * d / e;
    }
    double limit = gsl_cdf_chisq_Qinv(ALPHA, (double)(bins - 1));
    if (!(chi2 <= limit))
        fail_msg("%s: chi-square %.2f with %zu df, limit %.2f", what, chi2, bins - 1, limit);
}

/* A discrete fit: counts[k] and prob[k] for k = 0..len-1, the last cell holding the upper tail.
 * Cells are pooled left to right until each expects at least 5 draws (Cochran's rule), and a
 * remainder below 5 at the right end joins the last pooled cell. */
static void assert_discrete_fit(const char *what, const double *counts, const double *prob,
                                size_t len, size_t n)
{
    double *pc = calloc(len, sizeof *pc), *pp = calloc(len, sizeof *pp);
    assert_non_null(pc);
    assert_non_null(pp);
    size_t bins = 0;
    double c = 0.0, p = 0.0;
    for (size_t k = 0; k < len; k++) {
        c += counts[k];
        p += prob[k];
        if (p * (double)n >= 5.0) {
            pc[bins] = c;
            pp[bins++] = p;
            c = p = 0.0;
        }
    }
    assert_true(bins >= 2);
    pc[bins - 1] += c;
    pp[bins - 1] += p;
    assert_chisq(what, pc, pp, bins, n);
    free(pc);
    free(pp);
}

/* Fails unless `count` successes in n Bernoulli(p) trials has both exact binomial tails at least
 * ALPHA / 2: P(X <= count) and P(X >= count). */
static void assert_binomial_count(const char *what, unsigned int count, unsigned int n, double p)
{
    double lower = gsl_cdf_binomial_P(count, p, n);
    double upper = count == 0 ? 1.0 : gsl_cdf_binomial_Q(count - 1, p, n);
    if (!(lower >= ALPHA / 2 && upper >= ALPHA / 2))
        fail_msg("%s: %u of %u, expected %.2f; P(X <= %u) = %.3g, P(X >= %u) = %.3g", what,
                 count, n, p * n, count, lower, count, upper);
}

typedef double cdf_fn(double x, const void *par);

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Kolmogorov-Smirnov: sorts x[0..n) and fails when Stephens's scaled statistic
 * (sqrt(n) + 0.12 + 0.11 / sqrt(n)) D exceeds KS_CRIT, D = sup |F_n - F|. */
static void assert_ks(const char *what, double *x, size_t n, cdf_fn *cdf, const void *par)
{
    qsort(x, n, sizeof *x, compare_doubles);
    double d = 0.0, dn = (double)n;
    for (size_t i = 0; i < n; i++) {
        double f = cdf(x[i], par);
        d = fmax(d, fmax(f - (double)i / dn, (double)(i + 1) / dn - f));
    }
    double stat = (sqrt(dn) + 0.12 + 0.11 / sqrt(dn)) * d;
    if (!(stat <= KS_CRIT))
        fail_msg("%s: KS D = %.5f over %zu draws, scaled %.3f, limit %.4f", what, d, n, stat,
                 KS_CRIT);
}

/* ---- normal ---- */

#define NORMAL_N 2000000
#define NORMAL_BINS 50

static double normal_cdf(double x, const void *par)
{
    (void)par;
    return gsl_cdf_ugaussian_P(x);
}

/* The conditional law of |x| beyond the tail start r: F(t) = 1 - Q(t) / Q(r). */
static double normal_tail_cdf(double x, const void *par)
{
    (void)par;
    return 1.0 - gsl_cdf_ugaussian_Q(x) / gsl_cdf_ugaussian_Q(ZIG_TAIL);
}

/* The index of the equiprobable bin holding x, from the bins-1 inner edges by bisection. */
static size_t bin_of(double x, const double *edges, size_t bins)
{
    size_t lo = 0, hi = bins - 1; /* x is in bin lo..hi */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x < edges[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void normal_edges(double *edges, size_t bins)
{
    for (size_t i = 1; i < bins; i++)
        edges[i - 1] = gsl_cdf_ugaussian_Pinv((double)i / (double)bins);
}

/* Mean 0, variance 1 (mu4 = 3), and the standardized third and fourth moments: for a normal
 * sample g1 = m3 / m2^1.5 has SE sqrt(6/n) and b2 = m4 / m2^2 has mean 3 - 6/(n+1) and SE
 * sqrt(24/n) (Pearson; D'Agostino and Stephens 1986, "Goodness-of-Fit Techniques", 7.2).
 * At n = 2e6 the margins are 0.0035 (mean), 0.005 (variance), 0.0087 (skewness), 0.017
 * (kurtosis). */
static void test_normal_moments(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(1);
    double *x = draws_new(NORMAL_N);
    for (size_t i = 0; i < NORMAL_N; i++)
        x[i] = sample_normal(r);
    assert_mean_var("normal", x, NORMAL_N, 0.0, 1.0, 3.0);
    moments m = moments_of(x, NORMAL_N);
    double n = NORMAL_N;
    assert_z("normal skewness", m.m3 / pow(m.m2, 1.5), 0.0, sqrt(6.0 / n));
    assert_z("normal kurtosis", m.m4 / (m.m2 * m.m2), 3.0 - 6.0 / (n + 1.0), sqrt(24.0 / n));
    free(x);
    gsl_rng_free(r);
}

/* Chi-square over 50 equiprobable bins (edges from gsl_cdf_ugaussian_Pinv), 40000 expected per
 * bin, against the upper 1e-6 quantile of chi-square(49), 111.1. The ziggurat's 128
 * layers, their wedges and the tail each cover several bins, so a wrong table entry or a
 * wrong wedge test shows here. */
static void test_normal_chisq(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(2);
    double edges[NORMAL_BINS - 1], counts[NORMAL_BINS] = {0}, prob[NORMAL_BINS];
    normal_edges(edges, NORMAL_BINS);
    for (size_t i = 0; i < NORMAL_N; i++)
        counts[bin_of(sample_normal(r), edges, NORMAL_BINS)] += 1.0;
    for (size_t b = 0; b < NORMAL_BINS; b++)
        prob[b] = 1.0 / NORMAL_BINS;
    assert_chisq("normal, 50 bins", counts, prob, NORMAL_BINS, NORMAL_N);
    gsl_rng_free(r);
}

/* Independence of consecutive draws: 1e6 disjoint pairs (x[2i], x[2i+1]) in a 10 x 10 grid of
 * equiprobable cells (10000 expected per cell), chi-square with 99 df against its upper 1e-6
 * quantile, 180.8. A layer index or sign reused across calls, the flaw the
 * one-word design must avoid, correlates neighbours. */
static void test_normal_pairs(void **state)
{
    (void)state;
    enum { side = 10, cells = side * side };
    gsl_rng *r = stream_new(3);
    double edges[side - 1], counts[cells] = {0}, prob[cells];
    normal_edges(edges, side);
    size_t pairs = NORMAL_N / 2;
    for (size_t i = 0; i < pairs; i++) {
        size_t a = bin_of(sample_normal(r), edges, side);
        size_t b = bin_of(sample_normal(r), edges, side);
        counts[a * side + b] += 1.0;
    }
    for (size_t c = 0; c < cells; c++)
        prob[c] = 1.0 / cells;
    assert_chisq("normal pairs, 10 x 10 cells", counts, prob, cells, pairs);
    gsl_rng_free(r);
}

/* The tail beyond the ziggurat's r, drawn by Marsaglia's exponential rejection, from 2e7 draws
 * (about 0.15 s): about 11500 land beyond r, enough for the KS test to see a tail of the wrong
 * shape (a wrong exponential rate or a missing rejection step moves D by several percent; the
 * limit is KS_CRIT / sqrt(11500) = 0.025).
 *   - the count of |x| > r is Binomial(n, 2 Q(r)), 2 Q(r) = 5.76e-4, about 11524;
 *   - the count of x > 4 is Binomial(n, Q(4)), Q(4) = 3.17e-5, about 633;
 *   - the positive share of the tail is Binomial(tail count, 1/2);
 *   - |x| given |x| > r follows 1 - Q(t) / Q(r): KS on the tail draws.
 * Counts are judged by their exact binomial tails (assert_binomial_count). */
#define TAIL_N 20000000
#define TAIL_KEEP 40000 /* 250 SE above the expected tail count: a larger count fails anyway */

static void test_normal_tail(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(4);
    double *tail = draws_new(TAIL_KEEP);
    unsigned int n_tail = 0, n_positive = 0, n_above4 = 0;
    for (size_t i = 0; i < TAIL_N; i++) {
        double x = sample_normal(r);
        n_above4 += x > 4.0;
        if (fabs(x) > ZIG_TAIL) {
            if (n_tail < TAIL_KEEP)
                tail[n_tail] = fabs(x);
            n_tail++;
            n_positive += x > 0.0;
        }
    }
    assert_binomial_count("P(|x| > r)", n_tail, TAIL_N, 2.0 * gsl_cdf_ugaussian_Q(ZIG_TAIL));
    assert_binomial_count("P(x > 4)", n_above4, TAIL_N, gsl_cdf_ugaussian_Q(4.0));
    assert_binomial_count("tail sign", n_positive, n_tail, 0.5);
    assert_ks("|x| beyond r", tail, n_tail, normal_tail_cdf, NULL);
    free(tail);
    gsl_rng_free(r);
}

/* A KS test of 2e5 normals on the whole line: complements the binned tests with a
 * resolution of 1/sqrt(n) = 0.002 in probability anywhere. */
static void test_normal_ks(void **state)
{
    (void)state;
    enum { n = 200000 };
    gsl_rng *r = stream_new(5);
    double *x = draws_new(n);
    for (size_t i = 0; i < n; i++)
        x[i] = sample_normal(r);
    assert_ks("normal", x, n, normal_cdf, NULL);
    free(x);
    gsl_rng_free(r);
}

/* ---- gamma ---- */

#define GAMMA_N 200000

typedef struct gamma_par {
    double shape, scale;
} gamma_par;

static double gamma_cdf(double x, const void *par)
{
    const gamma_par *g = par;
    return gsl_cdf_gamma_P(x, g->shape, g->scale);
}

/* Gamma(k, theta): mean k theta, variance k theta^2, fourth central moment 3 k (k + 2) theta^4
 * (excess kurtosis 6/k), so the relative SE of s^2 is sqrt((2 + 6/k) / n): 1.05 percent at
 * k = 0.3, 0.32 percent at k = 200, for n = 2e5. Then KS against gsl_cdf_gamma_P. Shapes 0.3
 * and 0.5 exercise the U^(1/a) boost; 1 is the boundary; 200 a nearly normal shape. */
/* Lengths of the pieces sample_gamma_fill and sample_beta_fill are asked for, in turn: single
 * draws, a chunk (64) and either side of it, several chunks and a ragged end. */
static const size_t fill_pieces[] = {1, 63, 64, 65, 200, 7, 128, 1000};

/* n draws of x by fill(r, law, x, scratch, len) in pieces of the lengths above. */
typedef void (*fill_fn)(gsl_rng *r, const void *law, double *x, double *scratch, size_t n);

static void fill_in_pieces(gsl_rng *r, const void *law, fill_fn fill, double *x, size_t n)
{
    double scratch[1000];
    for (size_t at = 0, k = 0; at < n; k++) {
        size_t len = fill_pieces[k % (sizeof fill_pieces / sizeof fill_pieces[0])];
        len = len < n - at ? len : n - at;
        fill(r, law, x + at, scratch, len);
        at += len;
    }
}

static void gamma_fill(gsl_rng *r, const void *law, double *x, double *scratch, size_t n)
{
    (void)scratch;
    sample_gamma_fill(r, law, x, n);
}

static void beta_fill(gsl_rng *r, const void *law, double *x, double *scratch, size_t n)
{
    sample_beta_fill(r, law, x, scratch, n);
}

/* by_fill: drawn by sample_gamma_fill in pieces, else one by one by sample_gamma_draw. */
static void check_gamma(double shape, double scale, uint64_t stream, int by_fill)
{
    gsl_rng *r = stream_new(stream);
    sample_gamma g = sample_gamma_init(shape, scale);
    double *x = draws_new(GAMMA_N);
    if (by_fill)
        fill_in_pieces(r, &g, gamma_fill, x, GAMMA_N);
    for (size_t i = 0; i < GAMMA_N; i++) {
        if (!by_fill)
            x[i] = sample_gamma_draw(r, &g);
        assert_true(x[i] >= 0.0);
    }
    char what[64];
    snprintf(what, sizeof what, "gamma(%g, %g)%s", shape, scale, by_fill ? " by fill" : "");
    double t2 = scale * scale;
    assert_mean_var(what, x, GAMMA_N, shape * scale, shape * t2,
                    3.0 * shape * (shape + 2.0) * t2 * t2);
    gamma_par par = {shape, scale};
    assert_ks(what, x, GAMMA_N, gamma_cdf, &par);
    free(x);
    gsl_rng_free(r);
}

static void test_gamma(void **state)
{
    (void)state;
    static const double shapes[] = {0.3, 0.5, 1.0, 2.0, 7.5, 200.0};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_gamma(shapes[i], 2.5, 100 + i, 0);
}

/* The same checks for draws made many at once. Whole shapes up to SAMPLE_GAMMA_PRODUCT_MAX (6)
 * are drawn as products of uniforms: 1, 2 and 6, the last at the threshold; 7, just above it,
 * by Marsaglia and Tsang. Of the shapes drawn so, 1.5 has the largest c = 1/sqrt(9 d), so the
 * most first attempts with v <= 0 or a failed squeeze finished one by one; 0.3 goes the
 * one-by-one way. */
static void test_gamma_fill(void **state)
{
    (void)state;
    static const double shapes[] = {0.3, 1.0, 1.5, 2.0, 6.0, 7.0, 7.5, 200.0};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_gamma(shapes[i], 2.5, 140 + i, 1);
}

/* The constants of Marsaglia and Tsang: a = shape for shape >= 1 and a = shape + 1 below
 * (the boost), d = a - 1/3, c = 1 / sqrt(9 d); each is one or two correctly rounded operations,
 * so they must match to a few ulps (1e-15 relative). */
static void test_gamma_constants(void **state)
{
    (void)state;
    static const double shapes[] = {0.3, 1.0, 7.5};
    for (size_t i = 0; i < 3; i++) {
        sample_gamma g = sample_gamma_init(shapes[i], 4.0);
        double a = shapes[i] < 1.0 ? shapes[i] + 1.0 : shapes[i];
        double d = a - 1.0 / 3.0;
        assert_float_equal(g.shape, shapes[i], 0.0);
        assert_float_equal(g.scale, 4.0, 0.0);
        assert_float_equal(g.d, d, 1e-15 * d);
        assert_float_equal(g.c, 1.0 / sqrt(9.0 * d), 1e-15);
        assert_float_equal(g.inv_shape, 1.0 / shapes[i], 1e-15 / shapes[i]);
    }
}

/* sample_gamma1(r, k) is Gamma(k, 1): mean k, variance k, mu4 = 3 k (k + 2). */
static void test_gamma1(void **state)
{
    (void)state;
    static const double ks[] = {1.0, 3.0, 0.7};
    for (size_t i = 0; i < 3; i++) {
        enum { n = 100000 };
        gsl_rng *r = stream_new(120 + i);
        double *x = draws_new(n), k = ks[i];
        for (size_t j = 0; j < n; j++)
            x[j] = sample_gamma1(r, k);
        char what[64];
        snprintf(what, sizeof what, "gamma1(%g)", k);
        assert_mean_var(what, x, n, k, k, 3.0 * k * (k + 2.0));
        free(x);
        gsl_rng_free(r);
    }
}

/* ---- beta ---- */

#define BETA_N 200000

typedef struct beta_par {
    double a, b;
} beta_par;

static double beta_cdf(double x, const void *par)
{
    const beta_par *p = par;
    return gsl_cdf_beta_P(x, p->a, p->b);
}

/* The variance and fourth central moment of Beta(a, b) from its raw moments
 * E[X^k] = prod_{i<k} (a + i) / (a + b + i) (Johnson, Kotz and Balakrishnan 1995, "Continuous
 * Univariate Distributions" vol. 2, 25.3): mu2 = E2 - m^2,
 * mu4 = E4 - 4 m E3 + 6 m^2 E2 - 3 m^4. In [0, 1] the cancellation costs at most a few digits. */
static void beta_central(double a, double b, double *mu2, double *mu4)
{
    double e[5] = {1.0};
    for (int k = 1; k <= 4; k++)
        e[k] = e[k - 1] * (a + k - 1) / (a + b + k - 1);
    double m = e[1];
    *mu2 = e[2] - m * m;
    *mu4 = e[4] - 4.0 * m * e[3] + 6.0 * m * m * e[2] - 3.0 * m * m * m * m;
}

/* Mean a / (a + b), variance and mu4 from beta_central, then KS against gsl_cdf_beta_P. */
static void check_beta(double a, double b, uint64_t stream, int by_fill)
{
    gsl_rng *r = stream_new(stream);
    sample_beta s = sample_beta_init(a, b);
    double *x = draws_new(BETA_N);
    if (by_fill)
        fill_in_pieces(r, &s, beta_fill, x, BETA_N);
    for (size_t i = 0; i < BETA_N; i++) {
        if (!by_fill)
            x[i] = sample_beta_draw(r, &s);
        assert_true(x[i] >= 0.0 && x[i] <= 1.0);
    }
    char what[64];
    snprintf(what, sizeof what, "beta(%g, %g)%s", a, b, by_fill ? " by fill" : "");
    double mu2, mu4;
    beta_central(a, b, &mu2, &mu4);
    assert_mean_var(what, x, BETA_N, a / (a + b), mu2, mu4);
    beta_par par = {a, b};
    assert_ks(what, x, BETA_N, beta_cdf, &par);
    free(x);
    gsl_rng_free(r);
}

static void test_beta(void **state)
{
    (void)state;
    static const double ab[][2] = {{0.5, 0.5}, {2.0, 3.0}, {8.0, 2.0}, {1.0, 1.0}};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
        check_beta(ab[i][0], ab[i][1], 200 + i, 0);
}

/* Whole shapes with a + b - 1 <= SAMPLE_BETA_ORDER_WORDS_MAX (14) are drawn as order
 * statistics of words: the benchmark's (6, 2) and (3, 2) (the b largest kept), (2, 3) (the a
 * smallest), (1, 1) and (1, 5) (one kept), (4, 4), and (8, 7), at the limit (14 words, the
 * most kept, 7). Just past it, 15 words, the gamma ratio draws: (2, 14) by products on one
 * side and Marsaglia and Tsang on the other, (8, 8) by Marsaglia and Tsang on both; (0.5, 0.5)
 * is drawn one by one.
 * Limits, as in check_beta: 5 SE and KS_CRIT, each a false-alarm rate of at most 1e-6 for
 * draws of exactly Beta(a, b). The words' resolution moves the law by at most
 * (a + b - 1) 2^-33 <= 1.7e-9 in Kolmogorov distance and the mean by at most 2^-33 (sample.c),
 * against a KS limit of KS_CRIT / sqrt(2e5) = 0.006 and a mean's SE of at least 2.8e-4 here,
 * so the rates stand. One rank off is far outside them: the j-th of n uniforms has mean
 * j / (n + 1), so a rank off moves the mean by 1 / (a + b): Beta(5, 3) for Beta(6, 2) is 0.625
 * for 0.75, 390 SE (SE = sqrt(0.0208 / 2e5) = 3.2e-4), and the least in these cases is 240 SE,
 * for (8, 7). */
static void test_beta_fill(void **state)
{
    (void)state;
    static const double ab[][2] = {{0.5, 0.5}, {6.0, 2.0}, {3.0, 2.0}, {2.0, 3.0},
                                   {1.0, 1.0}, {1.0, 5.0}, {4.0, 4.0}, {8.0, 7.0},
                                   {2.0, 14.0}, {8.0, 8.0}};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
        check_beta(ab[i][0], ab[i][1], 220 + i, 1);
}

/* ---- Poisson ---- */

#define POISSON_N 200000
#define POISSON_CELLS 128 /* k = 0..126 and the tail k >= 127: enough for mu <= 40 */

/* Poisson(mu): mean mu, variance mu, fourth central moment mu (1 + 3 mu). Draws at and below
 * 40 are also counted for a chi-square against gsl_ran_poisson_pdf, the last cell holding
 * P(K >= 127) = gsl_cdf_poisson_Q(126, mu). */
static void check_poisson(double mu, uint64_t stream, int fit)
{
    gsl_rng *r = stream_new(stream);
    double *x = draws_new(POISSON_N), counts[POISSON_CELLS] = {0}, prob[POISSON_CELLS];
    for (size_t i = 0; i < POISSON_N; i++) {
        unsigned long k = sample_poisson(r, mu);
        x[i] = (double)k;
        counts[k < POISSON_CELLS - 1 ? k : POISSON_CELLS - 1] += 1.0;
    }
    char what[64];
    snprintf(what, sizeof what, "poisson(%g)", mu);
    assert_mean_var(what, x, POISSON_N, mu, mu, mu * (1.0 + 3.0 * mu));
    if (fit) {
        for (unsigned int k = 0; k < POISSON_CELLS - 1; k++)
            prob[k] = gsl_ran_poisson_pdf(k, mu);
        prob[POISSON_CELLS - 1] = gsl_cdf_poisson_Q(POISSON_CELLS - 2, mu);
        assert_discrete_fit(what, counts, prob, POISSON_CELLS, POISSON_N);
    }
    free(x);
    gsl_rng_free(r);
}

/* Both sides of the switch from inversion to GSL at SAMPLE_POISSON_SMALL = 16 (15.9 and 16),
 * small means, and 1e4 (GSL's rejection method; moments only). */
static void test_poisson(void **state)
{
    (void)state;
    static const double means[] = {0.3, 1.5, 9.0, 15.9, 16.0, 40.0};
    for (size_t i = 0; i < sizeof means / sizeof means[0]; i++)
        check_poisson(means[i], 300 + i, 1);
    check_poisson(1e4, 310, 0);
}

/* mu = 0 (and a negative mu, documented as 0) gives 0 every time. For mu = 1e-9 each
 * draw is non-zero with probability 1 - exp(-1e-9) = 1e-9: over 1e6 draws the number of non-zero
 * draws is Poisson(1e-3), and P(N >= 2) = 5e-7 < ALPHA, so more than one non-zero draw, or any
 * draw above 1 (P = 5e-19 each), fails. */
static void test_poisson_tiny(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(320);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sample_poisson(r, 0.0), 0);
        assert_int_equal(sample_poisson(r, -1.0), 0);
    }
    unsigned long nonzero = 0;
    for (int i = 0; i < 1000000; i++) {
        unsigned long k = sample_poisson(r, 1e-9);
        assert_true(k <= 1);
        nonzero += k;
    }
    assert_true(nonzero <= 1);
    gsl_rng_free(r);
}

/* ---- binomial ---- */

#define BINOMIAL_N 200000

/* The draws x[0], x[stride], ... (len of them) of Binomial(n, p): every one in 0..n; their mean
 * and variance against n p, n p q and the fourth central moment n p q (1 + 3 (n - 2) p q)
 * (Johnson, Kemp and Kotz 2005, "Univariate Discrete Distributions", 3.3); with `fit`, a
 * chi-square of the counts against gsl_ran_binomial_pdf over the whole support, pooled by
 * assert_discrete_fit. */
static void assert_binomial_draws(const char *what, const uint32_t *x, size_t stride, size_t len,
                                  unsigned int n, double p, int fit)
{
    double *d = draws_new(len), *counts = calloc(n + 1, sizeof *counts),
           *prob = malloc((n + 1) * sizeof *prob);
    assert_non_null(counts);
    assert_non_null(prob);
    for (size_t i = 0; i < len; i++) {
        uint32_t k = x[i * stride];
        assert_true(k <= n);
        d[i] = (double)k;
        counts[k] += 1.0;
    }
    double v = n * p * (1.0 - p);
    assert_mean_var(what, d, len, n * p, v, v * (1.0 + 3.0 * (n - 2.0) * p * (1.0 - p)));
    if (fit) {
        for (unsigned int k = 0; k <= n; k++)
            prob[k] = gsl_ran_binomial_pdf(k, p, n);
        assert_discrete_fit(what, counts, prob, n + 1, len);
    }
    free(d);
    free(counts);
    free(prob);
}

/* sample_binomial's draws of Binomial(n, p) (assert_binomial_draws; the chi-square for n <= 40). */
static void check_binomial(unsigned int n, double p, uint64_t stream)
{
    gsl_rng *r = stream_new(stream);
    uint32_t *x = malloc(BINOMIAL_N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < BINOMIAL_N; i++) {
        unsigned long k = sample_binomial(r, p, n);
        assert_true(k <= n);
        x[i] = (uint32_t)k;
    }
    char what[64];
    snprintf(what, sizeof what, "binomial(%u, %g)", n, p);
    assert_binomial_draws(what, x, 1, BINOMIAL_N, n, p, n <= 40);
    free(x);
    gsl_rng_free(r);
}

/* Both sides of the switch to GSL above SAMPLE_BINOMIAL_SMALL = 32 trials (32 and 33), a rare
 * success (10, 0.03: P(0) = 0.737), a likely one (2, 0.7), and a large n (1000, 0.2). */
static void test_binomial(void **state)
{
    (void)state;
    static const struct {
        unsigned int n;
        double p;
    } cases[] = {{2, 0.7}, {4, 0.05}, {5, 0.4}, {10, 0.03}, {10, 0.3}, {32, 0.5}, {33, 0.5}, {1000, 0.2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_binomial(cases[i].n, cases[i].p, 400 + i);
}

/* The degenerate cases are exact: n = 0 gives 0; p = 0 gives 0; p = 1 gives n, also above
 * the inversion threshold. */
static void test_binomial_edges(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(420);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sample_binomial(r, 0.5, 0), 0);
        assert_int_equal(sample_binomial(r, 0.0, 2), 0);
        assert_int_equal(sample_binomial(r, 1.0, 2), 2);
        assert_int_equal(sample_binomial(r, 0.0, 1000), 0);
        assert_int_equal(sample_binomial(r, 1.0, 1000), 1000);
    }
    gsl_rng_free(r);
}

/* ---- binomials, each its own n and p ---- */

/* sample_binomial_each with one (n, p) for BINOMIAL_N items (so in many chunks): both of its
 * methods on both sides of SAMPLE_BTRS_MEAN = 10 (the folded mean 9 and 10.2), p above 1/2
 * (folded), a large n by inversion (2000 trials, mean 8) and BTRS up to a million trials. */
static void test_binomial_each(void **state)
{
    (void)state;
    static const struct {
        unsigned int n;
        double p;
    } cases[] = {{20, 0.3},   {2000, 0.004}, {30, 0.7},     {34, 0.3},
                 {300, 0.2},  {300, 0.8},    {100000, 0.37}, {1000000, 0.5}};
    uint32_t *n = malloc(BINOMIAL_N * sizeof *n), *x = malloc(BINOMIAL_N * sizeof *x);
    double *p = malloc(BINOMIAL_N * sizeof *p);
    assert_true(n && x && p);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gsl_rng *r = stream_new(430 + c);
        for (size_t i = 0; i < BINOMIAL_N; i++) {
            n[i] = cases[c].n;
            p[i] = cases[c].p;
        }
        sample_binomial_each(r, n, p, x, BINOMIAL_N);
        char what[64];
        snprintf(what, sizeof what, "binomial each(%u, %g)", cases[c].n, cases[c].p);
        assert_binomial_draws(what, x, 1, BINOMIAL_N, cases[c].n, cases[c].p, 1);
        gsl_rng_free(r);
    }
    free(n);
    free(x);
    free(p);
}

/* Items of three laws interleaved (inversion, BTRS, BTRS folded), so that every chunk mixes
 * them: each law's draws, read every third item, must still fit it. */
static void test_binomial_each_mixed(void **state)
{
    (void)state;
    static const unsigned int cn[3] = {12, 500, 80};
    static const double cp[3] = {0.25, 0.1, 0.9};
    size_t len = 3 * BINOMIAL_N;
    uint32_t *n = malloc(len * sizeof *n), *x = malloc(len * sizeof *x);
    double *p = malloc(len * sizeof *p);
    assert_true(n && x && p);
    for (size_t i = 0; i < len; i++) {
        n[i] = cn[i % 3];
        p[i] = cp[i % 3];
    }
    gsl_rng *r = stream_new(440);
    sample_binomial_each(r, n, p, x, len);
    for (size_t c = 0; c < 3; c++) {
        char what[64];
        snprintf(what, sizeof what, "binomial each, mixed, (%u, %g)", cn[c], cp[c]);
        assert_binomial_draws(what, x + c, 3, BINOMIAL_N, cn[c], cp[c], 1);
    }
    gsl_rng_free(r);
    free(n);
    free(x);
    free(p);
}

/* The degenerate items are exact and draw nothing: n = 0, p = 0, a NaN p and p = 1 (n), so a
 * stream that draws only them stays where it was. */
static void test_binomial_each_edges(void **state)
{
    (void)state;
    uint32_t n[5] = {0, 7, 7, 7, 4000000000u}, x[5];
    double p[5] = {0.5, 0.0, NAN, 1.0, 1.5};
    gsl_rng *r = stream_new(450), *clone = stream_new(450);
    sample_binomial_each(r, n, p, x, 5);
    assert_int_equal(x[0], 0);
    assert_int_equal(x[1], 0);
    assert_int_equal(x[2], 0);
    assert_int_equal(x[3], 7);
    assert_int_equal(x[4], 4000000000u);
    assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
    gsl_rng_free(r);
    gsl_rng_free(clone);
}

/* ---- inversion, draw by draw ---- */

/* Below their thresholds sample_poisson and sample_binomial invert the distribution function
 * with one uniform: the draw is the smallest k with F(k) > u, u the stream's next rng_uniform.
 * A clone of the stream gives u; GSL's distribution functions give F. They can disagree only
 * when u lies within rounding of some F(k): the sequential sums err by at most about
 * (k + 1) 2^-53 relative and GSL's functions by a few 1e-15, both far inside a band of 1e-12,
 * so a disagreement with |u - F(k)| > 1e-12 for every F(k) between the two answers is a bug,
 * and agreement within the band is let pass. After each draw the clone and the stream must be
 * in step: exactly one uniform used. */
typedef double dist_cdf(unsigned int k, double param, unsigned int n);

static double poisson_P(unsigned int k, double mu, unsigned int n)
{
    (void)n;
    return gsl_cdf_poisson_P(k, mu);
}

static double binomial_P(unsigned int k, double p, unsigned int n)
{
    return gsl_cdf_binomial_P(k, p, n);
}

/* Checks that `got` is the inverse of u under F, up to the rounding band. */
static void assert_inverse(const char *what, unsigned long got, double u, dist_cdf *cdf,
                           double param, unsigned int n)
{
    unsigned int k = 0;
    while (cdf(k, param, n) <= u && k < 1000)
        k++;
    if (got == k)
        return;
    unsigned int lo = got < k ? (unsigned int)got : k, hi = got < k ? k : (unsigned int)got;
    for (unsigned int j = lo; j < hi; j++)
        if (fabs(u - cdf(j, param, n)) < 1e-12)
            return;
    fail_msg("%s(%g, %u): u = %.17g gave %lu, inverse of GSL's F is %u", what, param, n, u, got,
             k);
}

/* Up to SAMPLE_BINOMIAL_COUNT trials, a binomial draw is the number of the next n words below
 * p 2^32, exactly. */
static void test_binomial_by_count(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(510), *clone = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(clone);
    static const double ps[] = {0.05, 0.5, 0.93};
    for (int i = 0; i < 20000; i++) {
        unsigned long n = 1 + (unsigned long)i % SAMPLE_BINOMIAL_COUNT;
        double p = ps[i % 3];
        gsl_rng_memcpy(clone, r);
        unsigned long k = sample_binomial(r, p, n), expect = 0;
        for (unsigned long j = 0; j < n; j++)
            expect += (double)gsl_rng_get(clone) < p * 4294967296.0;
        assert_int_equal(k, expect);
        assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
    }
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

/* sample_binomial_fill is sample_binomial's Bernoulli count for every trial, word i len + t
 * for trial i of out[t] in chunks of 64 (len lanes each), and above SAMPLE_BINOMIAL_COUNT the
 * same draws as sample_binomial one by one (its inversion side by side up to
 * SAMPLE_BINOMIAL_SMALL, n from 0 to SAMPLE_BINOMIAL_SMALL + 2 here). Counts of 1 to 130 cross
 * a chunk and leave a short one; probabilities differ by lane (one reading another's would
 * fail) and include 0 and 1. */
static void test_binomial_fill(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(515), *clone = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(clone);
    enum { MAX_COUNT = 130, CHUNK = 64 };
    double p[MAX_COUNT];
    unsigned long out[MAX_COUNT];
    for (int i = 0; i < 1200; i++) {
        size_t count = 1 + (size_t)i % MAX_COUNT;
        unsigned long n = (unsigned long)i % (SAMPLE_BINOMIAL_SMALL + 3);
        for (size_t t = 0; t < count; t++)
            p[t] = t % 11 == 0 ? 0.0 : t % 13 == 0 ? 1.0 : (double)(t % 17) / 17.0;
        gsl_rng_memcpy(clone, r);
        sample_binomial_fill(r, p, n, out, count);
        for (size_t at = 0; at < count; at += CHUNK) {
            size_t len = count - at < CHUNK ? count - at : CHUNK;
            if (n > SAMPLE_BINOMIAL_COUNT) {
                for (size_t t = 0; t < len; t++)
                    assert_int_equal(out[at + t], sample_binomial(clone, p[at + t], n));
                continue;
            }
            unsigned long expect[CHUNK] = {0};
            for (unsigned long j = 0; j < n; j++)
                for (size_t t = 0; t < len; t++)
                    expect[t] += (double)gsl_rng_get(clone) < p[at + t] * 4294967296.0;
            for (size_t t = 0; t < len; t++)
                assert_int_equal(out[at + t], expect[t]);
        }
        assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
    }
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

/* sample_split_sets counts each set's points below each of its edges, exactly (whichever
 * counting code the processor gets), a point being a 32-bit word whose high half comes from the
 * sets' halves (two to a word of the stream, low half first) and whose low half, where the
 * high half ties with an edge's, from one further word (its high 16 bits), in set and point
 * order; and leaves the stream there. Sizes run from 0 to 40, across the 32-half vectors of the
 * AVX-512 path and the masked load of a partial one, sets starting on odd halves, and in every
 * fifth round to 160, past the 64 above which sets take the large sets' path; edges include
 * 0, values near the top of the 32-bit range, a repeat and UINT32_MAX; the middle ones are
 * scaled by (t + 1) / 7 for set t, so that a set reading another's edges would fail; two more
 * take the high half of one of the set's own points (read ahead from a copy of the stream), with
 * low halves 0 or 0x8000 and 0xffff, so that ties occur in most sets. */
static void test_split_words(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(520), *clone = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(clone);
    static const uint32_t base[] = {0u, 1u << 30, 1u << 30, 3000000000u, UINT32_MAX - 1u,
                                    UINT32_MAX};
    enum { N_BASE = sizeof base / sizeof base[0], N_EDGE = N_BASE + 2, SETS = 7, MAX_N = 160 };
    uint32_t size[SETS], edge[N_EDGE * SETS], below[N_EDGE * SETS], expect[N_EDGE * SETS];
    uint32_t word[SETS * MAX_N], ahead[SETS * MAX_N];
    size_t ties = 0;
    for (int i = 0; i < 2000; i++) {
        size_t total = 0;
        for (size_t t = 0; t < SETS; t++) {
            /* every fifth round past 40 points, into the large sets' path (more than 64) */
            int most = i % 5 == 4 ? MAX_N : 40;
            size[t] = (uint32_t)((i * SETS + (int)t * 13) % (most + 1));
            total += size[t];
        }
        gsl_rng_memcpy(clone, r);
        for (size_t j = 0; j < (total + 1) / 2; j++)
            ahead[j] = (uint32_t)gsl_rng_get(clone);
        size_t at = 0;
        for (size_t t = 0; t < SETS; t++) {
            for (size_t k = 0; k < N_BASE; k++)
                edge[k * SETS + t] = base[k] >= UINT32_MAX - 1u
                                         ? base[k] : (uint32_t)((uint64_t)base[k] * (t + 1) / SETS);
            size_t pick = at + (size[t] ? (size_t)i % size[t] : 0);
            uint32_t h = size[t] ? (ahead[pick / 2] >> (pick % 2 * 16)) & 0xffffu : 0x1234u;
            edge[N_BASE * SETS + t] = h << 16 | (i % 2 ? 0x8000u : 0u);
            edge[(N_BASE + 1) * SETS + t] = h << 16 | 0xffffu;
            at += size[t];
        }
        gsl_rng_memcpy(clone, r);
        sample_split_sets(r, SETS, size, edge, N_EDGE, SETS, below, word);
        for (size_t j = 0; j < (total + 1) / 2; j++)
            assert_int_equal(ahead[j], (uint32_t)gsl_rng_get(clone));
        memset(expect, 0, sizeof expect);
        at = 0;
        for (size_t t = 0; t < SETS; t++)
            for (size_t j = 0; j < size[t]; j++, at++) {
                uint32_t h = (ahead[at / 2] >> (at % 2 * 16)) & 0xffffu, low = 0;
                int drawn = 0;
                for (size_t k = 0; k < N_EDGE; k++) {
                    uint32_t e = edge[k * SETS + t];
                    if (h == e >> 16 && (e & 0xffffu) != 0 && !drawn) {
                        low = (uint32_t)gsl_rng_get(clone) >> 16;
                        drawn = 1;
                        ties++;
                    }
                    expect[k * SETS + t] += ((uint64_t)h << 16 | low) < e;
                }
            }
        assert_memory_equal(below, expect, sizeof below);
        assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
    }
    assert_true(ties > 1000);   /* the low halves' path was taken */
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

static void test_inversion_exact(void **state)
{
    (void)state;
    static const double means[] = {0.3, 2.0, 15.9};
    static const struct {
        unsigned int n;
        double p;
    } bins[] = {{SAMPLE_BINOMIAL_COUNT + 1, 0.4}, {10, 0.3}, {32, 0.9}};
    gsl_rng *r = stream_new(500), *clone = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(clone);
    for (int i = 0; i < 20000; i++) {
        gsl_rng_memcpy(clone, r);
        double mu = means[i % 3];
        assert_inverse("poisson", sample_poisson(r, mu), rng_uniform(clone), poisson_P, mu, 0);
        assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
        gsl_rng_memcpy(clone, r);
        unsigned int n = bins[i % 3].n;
        double p = bins[i % 3].p;
        assert_inverse("binomial", sample_binomial(r, p, n), rng_uniform(clone), binomial_P, p, n);
        assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
    }
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

/* ---- uniform order statistics ---- */

/* The j-th of n uniforms is Beta(j, n - j + 1): mean j / (n + 1), variance
 * j (n - j + 1) / ((n + 1)^2 (n + 2)), mu4 from beta_central. n = 1 is the uniform itself
 * (mean 1/2, variance 1/12, mu4 = 1/80), and must lie in [0, 1). */
static void test_order_stats(void **state)
{
    (void)state;
    /* Up to SAMPLE_ORDER_STAT_SORT (16) uniforms sorted, above a beta variate: both sides of the
     * switch. */
    static const unsigned long jn[][2] = {{1, 1}, {1, 5}, {5, 5}, {3, 7}, {16, 16}, {9, 17},
                                          {50, 100}};
    enum { n_draws = 100000 };
    double *x = draws_new(n_draws);
    for (size_t c = 0; c < sizeof jn / sizeof jn[0]; c++) {
        unsigned long j = jn[c][0], n = jn[c][1];
        gsl_rng *r = stream_new(600 + c);
        for (size_t i = 0; i < n_draws; i++) {
            x[i] = sample_uniform_order_stat(r, j, n);
            assert_true(x[i] >= 0.0 && x[i] < 1.0);
        }
        char what[64];
        snprintf(what, sizeof what, "order statistic %lu of %lu", j, n);
        double mu2, mu4;
        beta_central((double)j, (double)(n - j + 1), &mu2, &mu4);
        assert_mean_var(what, x, n_draws, (double)j / (double)(n + 1), mu2, mu4);
        gsl_rng_free(r);
    }
    free(x);
}

/* ---- whole shapes: products of uniforms ---- */

/* Draws of Gamma(k, 1) and Beta(a, b) by sample_gamma_whole and sample_beta_whole with every
 * lane's shapes equal, in the calls of fill_in_pieces: single lanes, a chunk (64) and either
 * side of it, several chunks and ragged ends. */
#define WHOLE_N 200000

static void gamma_whole_fill(gsl_rng *r, const void *law, double *x, double *scratch, size_t n)
{
    (void)scratch;
    uint32_t k[1000];
    for (size_t i = 0; i < n; i++)
        k[i] = *(const uint32_t *)law;
    sample_gamma_whole(r, k, x, n);
}

static void beta_whole_fill(gsl_rng *r, const void *law, double *x, double *scratch, size_t n)
{
    (void)scratch;
    uint32_t a[1000], b[1000];
    for (size_t i = 0; i < n; i++) {
        a[i] = ((const uint32_t *)law)[0];
        b[i] = ((const uint32_t *)law)[1];
    }
    sample_beta_whole(r, a, b, x, n);
}

/* Gamma(k, 1): mean k, variance k, mu4 = 3 k (k + 2), then KS against gsl_cdf_gamma_P. At
 * n = 2e5 the mean's SE is sqrt(k / n) = 0.0022 sqrt(k) and the variance's relative SE
 * sqrt((2 + 6/k) / n) is 0.63 % at k = 1, 0.34 % at k = 16; each limit is Z_MAX = 5 SE, a
 * two-sided false-alarm rate of 5.7e-7. One factor too few or too many moves the mean by 1,
 * at least 110 SE; the KS limit, KS_CRIT / sqrt(n) = 0.006 in probability, sees much less. */
static void check_gamma_whole(uint32_t k, uint64_t stream)
{
    gsl_rng *r = stream_new(stream);
    double *x = draws_new(WHOLE_N);
    fill_in_pieces(r, &k, gamma_whole_fill, x, WHOLE_N);
    for (size_t i = 0; i < WHOLE_N; i++)
        assert_true(x[i] > 0.0 && isfinite(x[i]));
    char what[64];
    snprintf(what, sizeof what, "gamma(%u) by products", (unsigned)k);
    double dk = k;
    assert_mean_var(what, x, WHOLE_N, dk, dk, 3.0 * dk * (dk + 2.0));
    gamma_par par = {dk, 1.0};
    assert_ks(what, x, WHOLE_N, gamma_cdf, &par);
    free(x);
    gsl_rng_free(r);
}

/* 1 (one factor), 2 (the benchmark's rates), 5, 10 and SAMPLE_WHOLE_MAX = 16 (the smallest
 * products, down to 2^-528). */
static void test_gamma_whole(void **state)
{
    (void)state;
    static const uint32_t ks[] = {1, 2, 5, 10, SAMPLE_WHOLE_MAX};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        check_gamma_whole(ks[i], 800 + i);
}

/* Beta(a, b): mean a / (a + b), variance and mu4 from beta_central, then KS against
 * gsl_cdf_beta_P; every value in (0, 1]. Limits as for the gammas: 5 SE and KS_CRIT, each a
 * false-alarm rate of at most 1e-6 for draws of exactly Beta(a, b). The words' resolution
 * moves the law by at most (a + b) 2^-33 <= 3.7e-9 in Kolmogorov distance (sample.c), and so
 * the mean by as much (|E X - E Y| = |integral of F_X - F_Y over [0, 1]|), rounding adding
 * of order (a + b) 2^-53: against a KS limit of KS_CRIT / sqrt(2e5) = 0.006 and a mean's SE
 * of at least 1.2e-4 here (Beta(1, 16)), so the rates stand. One factor too few in G_a moves
 * the mean by b / ((a + b) (a + b - 1)), at least 80 SE in the cases here with a >= 2
 * (Beta(16, 16): 15/31 against 1/2, SE 1.9e-4); with a = 1 it leaves G_a = 0, so the value 0,
 * outside (0, 1]. One too few in G_b moves it by a / ((a + b) (a + b - 1)), at least 29 SE
 * (Beta(1, 16)), or with b = 1 makes every value 1. */
static void check_beta_whole(uint32_t a, uint32_t b, uint64_t stream)
{
    gsl_rng *r = stream_new(stream);
    double *x = draws_new(WHOLE_N);
    uint32_t law[2] = {a, b};
    fill_in_pieces(r, law, beta_whole_fill, x, WHOLE_N);
    for (size_t i = 0; i < WHOLE_N; i++)
        assert_true(x[i] > 0.0 && x[i] <= 1.0);
    char what[64];
    snprintf(what, sizeof what, "beta(%u, %u) by products", (unsigned)a, (unsigned)b);
    double mu2, mu4;
    beta_central(a, b, &mu2, &mu4);
    assert_mean_var(what, x, WHOLE_N, (double)a / (double)(a + b), mu2, mu4);
    beta_par par = {a, b};
    assert_ks(what, x, WHOLE_N, beta_cdf, &par);
    free(x);
    gsl_rng_free(r);
}

/* The uniform (1, 1), the benchmark's (6, 2) and (3, 2), a skewed (1, 16) and the most
 * factors, (16, 16). */
static void test_beta_whole(void **state)
{
    (void)state;
    static const uint32_t ab[][2] = {{1, 1}, {6, 2}, {3, 2}, {1, 16}, {16, 16}};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
        check_beta_whole(ab[i][0], ab[i][1], 820 + i);
}

static double uniform_cdf(double x, const void *par)
{
    (void)par;
    return x;
}

/* Shapes varying across lanes, in calls of 61 lanes: not a multiple of any vector width, so
 * every compiled copy's remainder code draws some lanes, and lanes of every shape from 1 to 16
 * share each call (lane i of call c has shape 1 + (5 i + c) % 16). If each x_i ~ Gamma(k_i),
 * then P(k_i, x_i) is uniform (the probability integral transform), so one KS test against
 * the uniform checks every shape and lane at once; and as Gamma(k) has mean and variance k,
 * sum (x_i - k_i) / sqrt(sum k_i) is a z-score (limit 5, as everywhere). */
#define LANES_CALL 61
#define LANES_CALLS 3279 /* 200019 draws */

static void test_gamma_whole_lanes(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(840);
    size_t n = (size_t)LANES_CALL * LANES_CALLS;
    double *x = draws_new(n), *u = draws_new(n), excess = 0.0, var = 0.0;
    for (size_t c = 0; c < LANES_CALLS; c++) {
        uint32_t k[LANES_CALL];
        for (size_t i = 0; i < LANES_CALL; i++)
            k[i] = 1 + (uint32_t)((5 * i + c) % SAMPLE_WHOLE_MAX);
        sample_gamma_whole(r, k, x + c * LANES_CALL, LANES_CALL);
        for (size_t i = 0; i < LANES_CALL; i++) {
            double xi = x[c * LANES_CALL + i];
            assert_true(xi > 0.0 && isfinite(xi));
            u[c * LANES_CALL + i] = gsl_cdf_gamma_P(xi, k[i], 1.0);
            excess += xi - k[i];
            var += k[i];
        }
    }
    assert_z("gamma by products, shapes across lanes: sum of x - k", excess, 0.0, sqrt(var));
    assert_ks("gamma by products, shapes across lanes: P(k, x)", u, n, uniform_cdf, NULL);
    free(u);
    free(x);
    gsl_rng_free(r);
}

/* The same for uniform order statistics across lanes, as callers use sample_beta_whole: lane i
 * of call c draws the j-th of m uniforms, Beta(j, m - j + 1), m = 1 + (i + c) % 16 and
 * j = 1 + (3 i + c) % m; the z-score sums x - j / (m + 1) over the variances
 * j (m - j + 1) / ((m + 1)^2 (m + 2)). */
static void test_beta_whole_lanes(void **state)
{
    (void)state;
    gsl_rng *r = stream_new(841);
    size_t n = (size_t)LANES_CALL * LANES_CALLS;
    double *x = draws_new(n), *u = draws_new(n), excess = 0.0, var = 0.0;
    for (size_t c = 0; c < LANES_CALLS; c++) {
        uint32_t a[LANES_CALL], b[LANES_CALL];
        for (size_t i = 0; i < LANES_CALL; i++) {
            uint32_t m = 1 + (uint32_t)((i + c) % SAMPLE_WHOLE_MAX);
            a[i] = 1 + (uint32_t)((3 * i + c) % m);
            b[i] = m - a[i] + 1;
        }
        sample_beta_whole(r, a, b, x + c * LANES_CALL, LANES_CALL);
        for (size_t i = 0; i < LANES_CALL; i++) {
            double xi = x[c * LANES_CALL + i], m1 = a[i] + b[i];
            assert_true(xi > 0.0 && xi <= 1.0);
            u[c * LANES_CALL + i] = gsl_cdf_beta_P(xi, a[i], b[i]);
            excess += xi - a[i] / m1;
            var += a[i] * (double)b[i] / (m1 * m1 * (m1 + 1.0));
        }
    }
    assert_z("order statistics across lanes: sum of x - mean", excess, 0.0, sqrt(var));
    assert_ks("order statistics across lanes: P(a, b, x)", u, n, uniform_cdf, NULL);
    free(u);
    free(x);
    gsl_rng_free(r);
}

/* The header's word order, recomputed from a copy of the stream: chunks of SAMPLE_WHOLE_CHUNK
 * lanes; a chunk of len lanes needing R rows takes R len words, lane i's word from row j
 * being word j len + i; the factors multiplied in row order from 1, then -log by vmath_log
 * (and for sample_beta_fill's order statistics, the lane's words sorted, below).
 * The library's vectorised copy must give these scalar values bit for bit. */
static double word_uniform_ref(uint32_t w)
{
    return ((double)w + 0.5) / 4294967296.0;
}

/* The product of the factors of lane i (of len) from rows first .. first + count - 1. */
static double row_product_ref(const uint32_t *w, size_t len, size_t i, uint32_t first,
                              uint32_t count)
{
    double p = 1.0;
    for (uint32_t j = first; j < first + count; j++)
        p *= word_uniform_ref(w[j * len + i]);
    return p;
}

/* The words of one chunk of R = rows rows from clone, into w. */
static void chunk_words_ref(gsl_rng *clone, size_t len, uint32_t rows, uint32_t *w)
{
    for (size_t j = 0; j < rows * len; j++)
        w[j] = (uint32_t)gsl_rng_get(clone);
}

static void gamma_whole_ref(gsl_rng *clone, const uint32_t *k, size_t n, double *out)
{
    uint32_t w[SAMPLE_WHOLE_MAX * SAMPLE_WHOLE_CHUNK];
    for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
        size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
        uint32_t rows = 0;
        for (size_t i = 0; i < len; i++)
            rows = k[at + i] > rows ? k[at + i] : rows;
        chunk_words_ref(clone, len, rows, w);
        for (size_t i = 0; i < len; i++)
            out[at + i] = -vmath_log(row_product_ref(w, len, i, 0, k[at + i]));
    }
}

/* sample_beta_fill's order statistics as sample.h documents them, recomputed from a copy of
 * the stream: chunks of SAMPLE_WHOLE_CHUNK lanes; a chunk of len lanes takes a + b - 1 rows of
 * len words, lane i's uniform from row j being word j len + i; the value is (w + 1/2) 2^-32
 * for the a-th smallest of lane i's words, found here by sorting them. */
static int compare_words(const void *x, const void *y)
{
    uint32_t u = *(const uint32_t *)x, v = *(const uint32_t *)y;
    return (u > v) - (u < v);
}

/* The a-th smallest of lane i's words from rows 0 .. m - 1 (m <= SAMPLE_WHOLE_MAX * 2), as
 * (w + 1/2) 2^-32: by sorting a copy of them. */
static double lane_order_ref(const uint32_t *w, size_t len, size_t i, uint32_t a, uint32_t m)
{
    uint32_t lane[2 * SAMPLE_WHOLE_MAX];
    for (uint32_t j = 0; j < m; j++)
        lane[j] = w[j * len + i];
    qsort(lane, m, sizeof lane[0], compare_words);
    return word_uniform_ref(lane[a - 1]);
}

/* sample_beta_whole: a chunk takes R = its largest a + b rows; lane i's G_a is -log of the
 * product of its rows 0 .. a - 1, its G_b of rows a .. a + b - 1, the value G_a / (G_a + G_b). */
static void beta_whole_ref(gsl_rng *clone, const uint32_t *a, const uint32_t *b, size_t n,
                           double *out)
{
    uint32_t w[2 * SAMPLE_WHOLE_MAX * SAMPLE_WHOLE_CHUNK];
    for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
        size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
        uint32_t rows = 0;
        for (size_t i = 0; i < len; i++)
            rows = a[at + i] + b[at + i] > rows ? a[at + i] + b[at + i] : rows;
        chunk_words_ref(clone, len, rows, w);
        for (size_t i = 0; i < len; i++) {
            uint32_t ai = a[at + i], bi = b[at + i];
            double ga = -vmath_log(row_product_ref(w, len, i, 0, ai));
            double gb = -vmath_log(row_product_ref(w, len, i, ai, bi));
            out[at + i] = ga / (ga + gb);
        }
    }
}

/* Lengths around the vector widths and the chunk; shapes drawn from another stream, from 1 to
 * SAMPLE_WHOLE_MAX, so that a chunk's R is often set by one lane. After each call the stream
 * must stand where the reference left its copy. */
static void test_whole_words(void **state)
{
    (void)state;
    static const size_t lens[] = {1, 7, 8, 9, 17, 63, 64, 65, 130, 200};
    gsl_rng *r = stream_new(850), *clone = gsl_rng_alloc(rng_philox4x32), *shapes = stream_new(851);
    assert_non_null(clone);
    uint32_t a[200], b[200];
    double got[200], want[200];
    for (int round = 0; round < 50; round++) {
        for (size_t c = 0; c < sizeof lens / sizeof lens[0]; c++) {
            size_t n = lens[c];
            for (size_t i = 0; i < n; i++) {
                a[i] = 1 + (uint32_t)gsl_rng_uniform_int(shapes, SAMPLE_WHOLE_MAX);
                b[i] = 1 + (uint32_t)gsl_rng_uniform_int(shapes, SAMPLE_WHOLE_MAX);
            }
            gsl_rng_memcpy(clone, r);
            sample_gamma_whole(r, a, got, n);
            gamma_whole_ref(clone, a, n, want);
            assert_memory_equal(got, want, n * sizeof got[0]);
            assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
            gsl_rng_memcpy(clone, r);
            sample_beta_whole(r, a, b, got, n);
            beta_whole_ref(clone, a, b, n, want);
            assert_memory_equal(got, want, n * sizeof got[0]);
            assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
        }
    }
    gsl_rng_free(shapes);
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

/* sample_beta_whole's word consumption, counted apart from the reference: uniform order
 * statistics as callers draw them, lane i the j-th smallest of m uniforms, Beta(j, m - j + 1),
 * m uniform on 1 .. SAMPLE_WHOLE_MAX and j on 1 .. m (drawn from another stream); lengths not
 * multiples of the vector widths (8, 16), up to several chunks. Lane i takes a + b = m + 1
 * words, in rows: a chunk of len lanes takes R len words, R its largest a + b, so the stream
 * must stand sum over chunks of R len words on, where a copy skipped by that count stands; and
 * the values equal the products reference's bit for bit. */
static void test_beta_whole_words_used(void **state)
{
    (void)state;
    static const size_t lens[] = {1, 7, 9, 17, 31, 33, 63, 65, 129, 200};
    gsl_rng *r = stream_new(890), *clone = gsl_rng_alloc(rng_philox4x32), *shapes = stream_new(891);
    assert_non_null(clone);
    uint32_t a[200], b[200];
    double got[200], want[200];
    for (int round = 0; round < 100; round++) {
        for (size_t c = 0; c < sizeof lens / sizeof lens[0]; c++) {
            size_t n = lens[c], words = 0;
            for (size_t i = 0; i < n; i++) {
                uint32_t m = 1 + (uint32_t)gsl_rng_uniform_int(shapes, SAMPLE_WHOLE_MAX);
                a[i] = 1 + (uint32_t)gsl_rng_uniform_int(shapes, m);
                b[i] = m - a[i] + 1;
            }
            for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
                size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
                uint32_t rows = 0;
                for (size_t i = at; i < at + len; i++)
                    rows = a[i] + b[i] > rows ? a[i] + b[i] : rows;
                words += rows * len;
            }
            gsl_rng_memcpy(clone, r);
            sample_beta_whole(r, a, b, got, n);
            for (size_t k = 0; k < words; k++)
                (void)gsl_rng_get(clone);
            assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
            gsl_rng_memcpy(clone, r);
            sample_beta_whole(r, a, b, got, n);
            beta_whole_ref(clone, a, b, n, want);
            assert_memory_equal(got, want, n * sizeof got[0]);
            assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
        }
    }
    gsl_rng_free(shapes);
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

/* The laws of sample_beta_whole with shapes mixed across lanes: calls of LANES_CALL lanes,
 * lane i of call c drawing law (i + c) % 6 of the six below when c is even (R = 15 rows, for
 * the j = 7 of 14 and 14 of 14) and law (i + c) % 4 when c is odd (R = 8): the uniform (1 of
 * 1), Beta(2, 3) (2 of 4), the benchmark's Beta(6, 2) and Beta(3, 2) (6 of 7 and 3 of 4),
 * Beta(7, 8) (7 of 14) and Beta(14, 1) (14 of 14), so that most lanes leave rows of the chunk
 * unused. Each law's draws get the mean and variance at 5 SE and KS against gsl_cdf_beta_P at
 * KS_CRIT: 3 checks, each a false-alarm rate of at most 1e-6 for draws of exactly
 * Beta(j, m - j + 1). The words' resolution moves each law by at most (m + 1) 2^-33 <= 1.7e-9
 * in Kolmogorov distance and its mean by as much (sample.c; check_beta_whole), against a KS
 * limit of KS_CRIT / sqrt(n) >= 0.0097 (n = 76000 or 76500 draws of the first four laws, 31000
 * of Beta(7, 8), 30000 of Beta(14, 1)) and a mean's SE of at least 3.6e-4 (Beta(14, 1):
 * sqrt(0.0039 / 30000)), so the rates stand. One factor too few in G_a or G_b moves a mean
 * by at least 13 SE (Beta(14, 1) with 13 factors in G_a: 13/14 against 14/15, SE 3.6e-4; the
 * others 47 SE or more), or with a = 1 or b = 1 gives the value 0 or 1 every time. Every
 * value must lie in (0, 1]. */
#define ORDER_LAW_CALLS 6000

static void test_beta_whole_laws(void **state)
{
    (void)state;
    enum { laws = 6 };
    static const uint32_t jm[laws][2] = {{1, 1}, {2, 4}, {6, 7}, {3, 4}, {7, 14}, {14, 14}};
    gsl_rng *r = stream_new(895);
    double *x[laws];
    size_t count[laws] = {0};
    for (size_t k = 0; k < laws; k++)
        x[k] = draws_new((size_t)LANES_CALL * ORDER_LAW_CALLS);
    for (size_t c = 0; c < ORDER_LAW_CALLS; c++) {
        uint32_t a[LANES_CALL], b[LANES_CALL], law[LANES_CALL];
        double out[LANES_CALL];
        for (size_t i = 0; i < LANES_CALL; i++) {
            law[i] = (uint32_t)((i + c) % (c % 2 ? 4 : laws));
            a[i] = jm[law[i]][0];
            b[i] = jm[law[i]][1] - a[i] + 1;
        }
        sample_beta_whole(r, a, b, out, LANES_CALL);
        for (size_t i = 0; i < LANES_CALL; i++) {
            assert_true(out[i] > 0.0 && out[i] <= 1.0);
            x[law[i]][count[law[i]]++] = out[i];
        }
    }
    for (size_t k = 0; k < laws; k++) {
        double j = jm[k][0], m = jm[k][1], mu2, mu4;
        char what[80];
        snprintf(what, sizeof what, "order statistic %g of %g across lanes", j, m);
        beta_central(j, m - j + 1.0, &mu2, &mu4);
        assert_mean_var(what, x[k], count[k], j / (m + 1.0), mu2, mu4);
        beta_par par = {j, m - j + 1.0};
        assert_ks(what, x[k], count[k], beta_cdf, &par);
        free(x[k]);
    }
    gsl_rng_free(r);
}

/* sample_gamma_fill draws a whole shape k <= SAMPLE_GAMMA_PRODUCT_MAX as sample_gamma_whole
 * does with every lane's shape k, times the scale: the same words (k n) and, as x 1 = x
 * exactly, the same values times the scale, bit for bit. Just above the threshold it draws
 * by Marsaglia and Tsang: other values. */
static void test_gamma_fill_products(void **state)
{
    (void)state;
    enum { n = 150 };
    gsl_rng *r = stream_new(860), *clone = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(clone);
    uint32_t k[n];
    double got[n], want[n];
    for (uint32_t shape = 1; shape <= SAMPLE_GAMMA_PRODUCT_MAX + 1; shape++) {
        sample_gamma g = sample_gamma_init(shape, 2.5);
        for (size_t i = 0; i < n; i++)
            k[i] = shape;
        gsl_rng_memcpy(clone, r);
        sample_gamma_fill(r, &g, got, n);
        sample_gamma_whole(clone, k, want, n);
        for (size_t i = 0; i < n; i++)
            want[i] *= 2.5;
        if (shape <= SAMPLE_GAMMA_PRODUCT_MAX) {
            assert_memory_equal(got, want, sizeof got);
            assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
        } else {
            assert_memory_not_equal(got, want, sizeof got);
        }
    }
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

/* Up to one row past the limit, for the shapes just past it. */
#define ORDER_REF_ROWS (SAMPLE_BETA_ORDER_WORDS_MAX + 1)

static void beta_order_ref(gsl_rng *clone, uint32_t a, uint32_t b, size_t n, double *out)
{
    uint32_t rows = a + b - 1, w[ORDER_REF_ROWS * SAMPLE_WHOLE_CHUNK];
    assert_true(rows <= ORDER_REF_ROWS);
    for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
        size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
        chunk_words_ref(clone, len, rows, w);
        for (size_t i = 0; i < len; i++)
            out[at + i] = lane_order_ref(w, len, i, a, rows);
    }
}

/* Every pair of whole shapes within the limit, at lengths around the vector widths (8, 16)
 * and the chunk: the library's values equal the reference's bit for bit, and the stream then
 * stands where the reference left its copy, (a + b - 1) n words on. Just past the limit,
 * a + b - 1 = 15 words, the gamma ratio draws: other values. */
static void test_beta_fill_order_words(void **state)
{
    (void)state;
    static const size_t lens[] = {1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 130, 200};
    gsl_rng *r = stream_new(880), *clone = gsl_rng_alloc(rng_philox4x32);
    assert_non_null(clone);
    double got[200], want[200], scratch[200];
    for (uint32_t a = 1; a <= SAMPLE_BETA_ORDER_WORDS_MAX + 1; a++) {
        for (uint32_t b = 1; a + b - 1 <= SAMPLE_BETA_ORDER_WORDS_MAX + 1; b++) {
            sample_beta law = sample_beta_init(a, b);
            int inside = a + b - 1 <= SAMPLE_BETA_ORDER_WORDS_MAX;
            for (size_t c = 0; c < sizeof lens / sizeof lens[0]; c++) {
                size_t n = lens[c];
                gsl_rng_memcpy(clone, r);
                sample_beta_fill(r, &law, got, scratch, n);
                beta_order_ref(clone, a, b, n, want);
                if (!inside) {
                    if (n >= 8) /* 8 continuous values coinciding: the routing is wrong */
                        assert_memory_not_equal(got, want, n * sizeof got[0]);
                    continue;
                }
                assert_memory_equal(got, want, n * sizeof got[0]);
                assert_int_equal(gsl_rng_get(r), gsl_rng_get(clone));
            }
        }
    }
    gsl_rng_free(clone);
    gsl_rng_free(r);
}

/* Two generators at the same (seed, stream) give bit-identical draws, call after call; a third
 * at another stream gives other values. */
static void test_whole_determinism(void **state)
{
    (void)state;
    gsl_rng *r1 = stream_new(870), *r2 = stream_new(870), *other = stream_new(871);
    uint32_t a[LANES_CALL], b[LANES_CALL];
    for (size_t i = 0; i < LANES_CALL; i++) {
        a[i] = 1 + (uint32_t)(i % SAMPLE_WHOLE_MAX);
        b[i] = 1 + (uint32_t)((7 * i) % SAMPLE_WHOLE_MAX);
    }
    for (int round = 0; round < 200; round++) {
        double x1[LANES_CALL], x2[LANES_CALL];
        sample_gamma_whole(r1, a, x1, LANES_CALL);
        sample_gamma_whole(r2, a, x2, LANES_CALL);
        assert_memory_equal(x1, x2, sizeof x1);
        sample_beta_whole(r1, a, b, x1, LANES_CALL);
        sample_beta_whole(r2, a, b, x2, LANES_CALL);
        assert_memory_equal(x1, x2, sizeof x1);
        if (round == 0) {
            sample_beta_whole(other, a, b, x2, LANES_CALL);
            assert_memory_not_equal(x1, x2, sizeof x1);
        }
    }
    gsl_rng_free(other);
    gsl_rng_free(r2);
    gsl_rng_free(r1);
}

/* ---- determinism ---- */

/* One round of mixed draws, covering every sampler and both sides of each threshold. */
static void mixed_draws(gsl_rng *r, const sample_gamma *g, const sample_beta *b, double out[12])
{
    out[0] = sample_normal(r);
    out[1] = sample_gamma_draw(r, &g[0]);
    out[2] = sample_gamma_draw(r, &g[1]);
    out[3] = sample_beta_draw(r, b);
    out[4] = (double)sample_poisson(r, 3.0);
    out[5] = (double)sample_poisson(r, 30.0);
    out[6] = (double)sample_binomial(r, 0.3, 5);
    out[7] = (double)sample_binomial(r, 0.3, 100);
    out[8] = sample_uniform_order_stat(r, 2, 4);
    out[9] = sample_uniform_order_stat(r, 1, 1);
    out[10] = sample_gamma1(r, 2.0);
    out[11] = rng_uniform(r);
}

/* Two generators at the same (seed, stream) give bit-identical rounds; a third at another
 * stream gives a different first round (12 continuous or wide-ranging values coinciding would
 * mean the stream is ignored). */
static void test_determinism(void **state)
{
    (void)state;
    sample_gamma g[2] = {sample_gamma_init(0.4, 3.0), sample_gamma_init(5.0, 0.5)};
    sample_beta b = sample_beta_init(2.0, 3.0);
    gsl_rng *r1 = stream_new(700), *r2 = stream_new(700), *other = stream_new(701);
    for (int round = 0; round < 2000; round++) {
        double a[12], c[12];
        mixed_draws(r1, g, &b, a);
        mixed_draws(r2, g, &b, c);
        assert_memory_equal(a, c, sizeof a);
        if (round == 0) {
            mixed_draws(other, g, &b, c);
            assert_memory_not_equal(a, c, sizeof a);
        }
    }
    gsl_rng_free(other);
    gsl_rng_free(r2);
    gsl_rng_free(r1);
}

static int setup(void **state)
{
    (void)state;
    sample_init();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_moments),  cmocka_unit_test(test_normal_chisq),
        cmocka_unit_test(test_normal_pairs),    cmocka_unit_test(test_normal_tail),
        cmocka_unit_test(test_normal_ks),       cmocka_unit_test(test_gamma),
        cmocka_unit_test(test_gamma_constants), cmocka_unit_test(test_gamma1),
        cmocka_unit_test(test_gamma_fill),      cmocka_unit_test(test_beta_fill),
        cmocka_unit_test(test_beta),            cmocka_unit_test(test_poisson),
        cmocka_unit_test(test_poisson_tiny),    cmocka_unit_test(test_binomial),
        cmocka_unit_test(test_binomial_edges),
        cmocka_unit_test(test_binomial_each), cmocka_unit_test(test_binomial_each_mixed),
        cmocka_unit_test(test_binomial_each_edges),  cmocka_unit_test(test_inversion_exact),
        cmocka_unit_test(test_binomial_by_count), cmocka_unit_test(test_binomial_fill),
        cmocka_unit_test(test_split_words),
        cmocka_unit_test(test_order_stats),     cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_gamma_whole),     cmocka_unit_test(test_beta_whole),
        cmocka_unit_test(test_gamma_whole_lanes), cmocka_unit_test(test_beta_whole_lanes),
        cmocka_unit_test(test_whole_words),     cmocka_unit_test(test_gamma_fill_products),
        cmocka_unit_test(test_whole_determinism), cmocka_unit_test(test_beta_fill_order_words),
        cmocka_unit_test(test_beta_whole_words_used),
        cmocka_unit_test(test_beta_whole_laws),
    };
    return cmocka_run_group_tests_name("sample", tests, setup, NULL);
}
