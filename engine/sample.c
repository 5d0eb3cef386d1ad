/* Samplers for the hot loop: see sample.h. */
#include "sample.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "rng.h"
#include "simd.h"
#include "vmath.h"

/* ---- the ziggurat tables (Marsaglia and Tsang 2000, section 3, 128 layers) ---- */

#define ZIG_LAYERS 128
#define ZIG_R 3.442619855899           /* start of the tail */
#define ZIG_V 9.91256303526217e-3      /* area of each layer */
#define ZIG_M 2147483648.0             /* 2^31: values are signed 32-bit words */

static uint32_t zig_k[ZIG_LAYERS];
static double zig_w[ZIG_LAYERS], zig_f[ZIG_LAYERS];
static pthread_once_t zig_once = PTHREAD_ONCE_INIT;

static void zig_init(void)
{
    double dn = ZIG_R, tn = dn, q = ZIG_V / exp(-0.5 * dn * dn);
    zig_k[0] = (uint32_t)((dn / q) * ZIG_M);
    zig_k[1] = 0;
    zig_w[0] = q / ZIG_M;
    zig_w[ZIG_LAYERS - 1] = dn / ZIG_M;
    zig_f[0] = 1.0;
    zig_f[ZIG_LAYERS - 1] = exp(-0.5 * dn * dn);
    for (int i = ZIG_LAYERS - 2; i >= 1; i--) {
        dn = sqrt(-2.0 * log(ZIG_V / dn + exp(-0.5 * dn * dn)));
        zig_k[i + 1] = (uint32_t)((dn / tn) * ZIG_M);
        tn = dn;
        zig_f[i] = exp(-0.5 * dn * dn);
        zig_w[i] = dn / ZIG_M;
    }
}

/* A uniform in (0, 1) from one 32-bit word w: (w + 1/2) / 2^32, exactly (w + 1/2 < 2^33 is
 * exact in double). Its distribution function is within 2^-33 of the exact one. Computed as
 * w ^ 2^31 read as a signed 32-bit number, w - 2^31, which converts to double with one
 * instruction on every x86-64 vector width (an unsigned conversion needs AVX-512 or several
 * steps); gcc and clang define the signed reading as modulo 2^32. */
static inline double word_uniform(uint32_t w)
{
    return ((double)(int32_t)(w ^ 0x80000000u) + 2147483648.5) * (1.0 / 4294967296.0);
}

/* word_uniform of the stream's next word. */
static inline double uniform32(rng_state *s)
{
    return word_uniform(rng_next32(s));
}

/* |hz| as unsigned: INT32_MIN's magnitude fits, and then fails the layer test like any large
 * value. */
static uint32_t magnitude(int32_t hz)
{
    return hz < 0 ? 0u - (uint32_t)hz : (uint32_t)hz;
}

static rng_state *state_of(gsl_rng *r)
{
    return (rng_state *)r->state;
}

/* One 32-bit word makes a normal: its low 7 bits pick the layer and the other 25 (sign
 * included) the position in it, with the layer bits masked out of the value so the two are
 * independent. A resolution of 2^-24 of a layer's width is far below anything a forecast can
 * resolve. */
static inline void split_word(uint32_t w, int32_t *hz, uint32_t *iz)
{
    *iz = w & (ZIG_LAYERS - 1);
    *hz = (int32_t)(w & ~(uint32_t)(ZIG_LAYERS - 1));
}

/* The slow path: the wedges of layer iz, or the tail beyond ZIG_R for layer 0. */
static double normal_slow(rng_state *s, int32_t hz, uint32_t iz)
{
    for (;;) {
        double x = (double)hz * zig_w[iz];
        if (iz == 0) {
            double y;
            do {
                x = -log1p(-rng_state_uniform(s)) / ZIG_R;
                y = -log1p(-rng_state_uniform(s));
            } while (y + y < x * x);
            return hz > 0 ? ZIG_R + x : -ZIG_R - x;
        }
        if (zig_f[iz] + uniform32(s) * (zig_f[iz - 1] - zig_f[iz]) < exp(-0.5 * x * x))
            return x;
        split_word(rng_next32(s), &hz, &iz);
        if (magnitude(hz) < zig_k[iz])
            return (double)hz * zig_w[iz];
    }
}

void sample_init(void)
{
    pthread_once(&zig_once, zig_init);
}

double sample_normal(gsl_rng *r)
{
    rng_state *s = state_of(r);
    int32_t hz;
    uint32_t iz;
    split_word(rng_next32(s), &hz, &iz);
    if (magnitude(hz) < zig_k[iz])
        return (double)hz * zig_w[iz];
    return normal_slow(s, hz, iz);
}

/* ---- gamma and beta ---- */

sample_gamma sample_gamma_init(double shape, double scale)
{
    sample_init();
    sample_gamma g = {.shape = shape, .scale = scale, .inv_shape = 1.0 / shape};
    double a = shape < 1.0 ? shape + 1.0 : shape;
    g.d = a - 1.0 / 3.0;
    g.c = 1.0 / sqrt(9.0 * g.d);
    return g;
}

sample_beta sample_beta_init(double a, double b)
{
    sample_beta s = {sample_gamma_init(a, 1.0), sample_gamma_init(b, 1.0)};
    return s;
}

/* Marsaglia and Tsang's squeeze, u < 1 - 0.0331 x^4: accepts about 92 % of candidates (shapes
 * 2 to 6) in a few operations. */
static inline int64_t gamma_squeeze(double x, double u)
{
    double x2 = x * x;
    return u < 1.0 - 0.0331 * x2 * x2;
}

/* Marsaglia and Tsang's acceptance of the candidate d v, v = (1 + c x)^3, given the uniform u:
 * the squeeze, or else this full test, log u < x^2/2 + d (1 - v + log v). Every path that
 * decides a candidate uses it, with vmath_log (engine/vmath.h) rather than libm's log, so
 * that the decision is the same whichever path or target copy makes it. Returns 0 or 1; 0
 * when v <= 0 (vmath_log gives NaN there), though callers check v > 0 first. */
static inline int64_t gamma_log_test(double d, double x, double v, double u)
{
    return vmath_log(u) < 0.5 * (x * x) + d * (1.0 - v + vmath_log(v));
}

/* The same decision with the logarithms computed only when the squeeze fails: for scalar
 * paths. */
static inline int gamma_accepts(double d, double x, double v, double u)
{
    return gamma_squeeze(x, u) || gamma_log_test(d, x, v, u);
}

/* Marsaglia and Tsang's draw for shape a = max(shape, shape + 1 below 1): d v. */
static double gamma_core(rng_state *s, gsl_rng *r, const sample_gamma *g)
{
    double x, v;
    for (;;) {
        do {
            x = sample_normal(r);
            v = 1.0 + g->c * x;
        } while (v <= 0.0);
        v = v * v * v;
        if (gamma_accepts(g->d, x, v, uniform32(s)))
            return g->d * v;
    }
}

double sample_gamma_draw(gsl_rng *r, const sample_gamma *g)
{
    rng_state *s = state_of(r);
    double y = gamma_core(s, r, g);
    if (g->shape < 1.0)
        y *= pow(rng_state_uniform(s), g->inv_shape);
    return y * g->scale;
}

/* log of a Gamma(shape, 1) variate, without underflow for small shapes: U^(1/a) alone
 * underflows to 0 with probability about 10^(-308 a), which for a near 0.01 is 0.1 %. */
static double log_gamma_draw(gsl_rng *r, const sample_gamma *g)
{
    rng_state *s = state_of(r);
    double y = log(gamma_core(s, r, g));
    if (g->shape < 1.0)
        y += log1p(-rng_state_uniform(s)) * g->inv_shape;
    return y;
}

/* ---- whole shapes: products of uniforms ---- */

/* For a whole shape k, Gamma(k, 1) is the sum of k independent Exp(1) variates, and
 * -log U ~ Exp(1), so Gamma(k, 1) = -log(U_1 ... U_k) (Knuth, "The Art of Computer
 * Programming" vol. 2, 3rd ed., 3.4.1 E and the gamma paragraph after it; GSL's
 * gsl_ran_gamma_int draws shapes below 12 so). One logarithm per draw, whatever k, and no
 * rejection: the cost is k words and k multiplications, so for small k it beats Marsaglia and
 * Tsang (sample_gamma_fill's crossover: SAMPLE_GAMMA_PRODUCT_MAX).
 *
 * Accuracy. Each U is (w + 1/2) 2^-32 for a 32-bit word w, not a continuous uniform.
 *  1. Exp(1). -log U <= x exactly when U >= t = e^-x, and P(U < t) is 2^-32 times the number
 *     of midpoints (w + 1/2) 2^-32 below t: for t in [m 2^-32, (m + 1) 2^-32) that is m, or
 *     m + 1 when t 2^32 > m + 1/2, so |P(U < t) - t| <= 2^-33, with equality at
 *     t = (m + 1/2) 2^-32. So the Kolmogorov distance sup_x |P(-log U <= x) - (1 - e^-x)| is
 *     exactly 2^-33 = 1.16e-10. The tail is inside this bound, not beside it: the largest
 *     value, -log 2^-33 = 33 ln 2 = 22.87, is exceeded by Exp(1) with probability
 *     e^(-33 ln 2) = 2^-33 as well.
 *  2. Sums. For independent X, Y and independent X', Y', the Kolmogorov distance d is
 *     subadditive: P(X + Y <= z) - P(X' + Y <= z) = E[F_X(z - Y) - F_X'(z - Y)] is at most
 *     d(X, X') in size, and swapping Y for Y' beside X' costs at most d(Y, Y'). So the
 *     product's Gamma(k, 1) is within k 2^-33 of the true law: 16 2^-33 = 1.9e-9 at most.
 *  3. Ratios. G_a / (G_a + G_b) <= z exactly when G_a - c G_b <= 0, c = z / (1 - z) >= 0:
 *     a sum of independent terms, and scaling and negating G_b leave its distance to the
 *     true law unchanged. So the Beta(a, b) is within (a + b) 2^-33 (3.7e-9 at a + b = 32).
 *  4. Rounding. The computed product is p (1 + d), |d| < k 2^-53 (one rounding per
 *     multiplication), so -log of it errs by less than k 2^-53, and vmath_log adds a relative
 *     error of at most VMATH_LOG_REL_ERR (3.2e-16). Moving every value x by at most
 *     s + r x moves a distribution function by at most s sup f + r sup x f(x); for Gamma(k),
 *     1 <= k <= 16, sup f <= 1 and sup x f(x) = k^k e^-k / (k - 1)! <= 1.6: under 3e-15
 *     (the fills' scale adds one rounding more). The beta's event G_a <= c G_b (written
 *     G_b >= c' G_a, c' = 1 / c <= 1, above z = 1/2) moves by shifts of the same kind, plus
 *     its division's rounding: of order (a + b) 2^-53. All negligible beside 2^-33.
 *  5. Range. Every factor lies in [2^-33, 1 - 2^-33], so a product of at most 16 lies in
 *     [2^-528, 1 - 2^-33]: a normal double, far above DBL_MIN = 2^-1022, and below 1, so
 *     vmath_log is defined on it and every gamma draw is positive. (A product of all a + b
 *     factors of a beta could reach 2^-1056, subnormal: hence one product per gamma.) */

/* prod[i] = the product of lane i's factors from rows first[i] .. first[i] + count[i] - 1 of
 * the `rows` rows of w, row j being w[j len .. j len + len - 1]. Each row is one contiguous
 * load. The factor is chosen as max(u, skip), skip 0 or 1 and u in (0, 1): a select of two
 * computed values, which gcc makes a vector max, where `take ? u : 1.0` would become a branch
 * it cannot vectorise (see above vmath_exp_clamp in engine/vmath.h). */
SIMD_CLONES
static void whole_products(const uint32_t *w, size_t len, uint32_t rows, const uint32_t *first,
                           const uint32_t *count, double *prod)
{
#pragma omp simd
    for (size_t i = 0; i < len; i++)
        prod[i] = 1.0;
    for (uint32_t j = 0; j < rows; j++) {
        const uint32_t *row = w + (size_t)j * len;
#pragma omp simd
        for (size_t i = 0; i < len; i++) {
            double u = word_uniform(row[i]);
            double skip = (double)(int32_t)((uint32_t)(j - first[i]) >= count[i]);
            prod[i] *= u > skip ? u : skip;
        }
    }
}

/* The same when every lane takes every row: no masks, the same values (1 u = u exactly). */
SIMD_CLONES
static void whole_products_all(const uint32_t *w, size_t len, uint32_t rows, double *prod)
{
#pragma omp simd
    for (size_t i = 0; i < len; i++)
        prod[i] = word_uniform(w[i]);
    for (uint32_t j = 1; j < rows; j++) {
        const uint32_t *row = w + (size_t)j * len;
#pragma omp simd
        for (size_t i = 0; i < len; i++)
            prod[i] *= word_uniform(row[i]);
    }
}

/* out[i] = -log(prod[i]) scale: Gamma(k, scale) from the product of k uniforms. */
SIMD_CLONES
static void whole_gamma_from_products(const double *prod, double scale, double *out, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        out[i] = -vmath_log(prod[i]) * scale;
}

/* out[i] = G_a / (G_a + G_b) from the products behind G_a and G_b. */
SIMD_CLONES
static void whole_beta_from_products(const double *prod_a, const double *prod_b, double *out,
                                     size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        double ga = -vmath_log(prod_a[i]), gb = -vmath_log(prod_b[i]);
        out[i] = ga / (ga + gb);
    }
}

/* A shape as drawn: at most SAMPLE_WHOLE_MAX, so that a chunk's words fit its buffer. */
static uint32_t whole_shape(uint32_t k)
{
    return k < SAMPLE_WHOLE_MAX ? k : SAMPLE_WHOLE_MAX;
}

/* The rows a chunk needs: the largest of need[0 .. len-1]. */
static uint32_t whole_rows(const uint32_t *need, size_t len)
{
    uint32_t most = 0;
    for (size_t i = 0; i < len; i++)
        most = need[i] > most ? need[i] : most;
    return most;
}

static const uint32_t whole_zeros[SAMPLE_WHOLE_CHUNK];

/* Gamma(k[i], 1) for one chunk of len <= SAMPLE_WHOLE_CHUNK lanes. */
static void gamma_whole_chunk(rng_state *s, const uint32_t *k, double *out, size_t len)
{
    uint32_t w[SAMPLE_WHOLE_MAX * SAMPLE_WHOLE_CHUNK], need[SAMPLE_WHOLE_CHUNK];
    double prod[SAMPLE_WHOLE_CHUNK];
    for (size_t i = 0; i < len; i++)
        need[i] = whole_shape(k[i]);
    uint32_t rows = whole_rows(need, len);
    rng_state_words(s, w, rows * len);
    whole_products(w, len, rows, whole_zeros, need, prod);
    whole_gamma_from_products(prod, 1.0, out, len);
}

void sample_gamma_whole(gsl_rng *r, const uint32_t *k, double *out, size_t n)
{
    for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
        size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
        gamma_whole_chunk(state_of(r), k + at, out + at, len);
    }
}

/* n Gamma(k, scale) variates, 1 <= k <= SAMPLE_WHOLE_MAX: the words and values of
 * sample_gamma_whole with every lane's shape k, times scale. */
static void gamma_product_fill(rng_state *s, uint32_t k, double scale, double *out, size_t n)
{
    uint32_t w[SAMPLE_WHOLE_MAX * SAMPLE_WHOLE_CHUNK];
    double prod[SAMPLE_WHOLE_CHUNK];
    for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
        size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
        rng_state_words(s, w, k * len);
        whole_products_all(w, len, k, prod);
        whole_gamma_from_products(prod, scale, out + at, len);
    }
}

/* ---- whole shapes: order statistics of words ---- */

/* For whole a, b, Beta(a, b) is the law of the a-th smallest of n = a + b - 1 independent
 * uniforms on (0, 1) (David and Nagaraja 2003, "Order Statistics", 3rd ed., 2.2). Each
 * uniform is a 32-bit word w, read as (w + 1/2) 2^-32; the map w -> (w + 1/2) 2^-32 is
 * increasing, so the a-th smallest value is the value of the a-th smallest word, and the
 * selection can run on the words: integer min and max, no logarithm, no division, n words
 * where products of uniforms take a + b. The a-th smallest is the a-th of the
 * a kept smallest when a <= b, and the b-th of the b kept largest when a > b (n - a + 1 = b):
 * s = min(a, b) words are kept either way, the largest case done as the smallest of the
 * complements ~w, which reverse the order.
 *
 * Accuracy. Couple each word with a continuous uniform U: w = floor(2^32 U), so that the
 * words are independent and uniform on 0 .. 2^32 - 1, and the value is g(U), with
 * g(u) = (floor(2^32 u) + 1/2) 2^-32 nondecreasing. A nondecreasing map commutes with order
 * statistics (ties among the words included: the a-th smallest of g(U_1) .. g(U_n) is
 * g(X), X the a-th smallest of the U), so the draw is exactly g(X) with X ~ Beta(a, b).
 * With h = 2^-32, g(X) <= t exactly when X < c(t), c(t) = (m + 1) h for the m with
 * (m + 1/2) h <= t < (m + 3/2) h (c = 0 or 1 at the ends), so |t - c(t)| <= h / 2 and
 *     |P(g(X) <= t) - F(t)| = |F(c(t)) - F(t)| <= f_max h / 2 = f_max 2^-33,
 * f_max the largest density of Beta(a, b). That density is
 *     f(x) = n C(n - 1, a - 1) x^(a-1) (1 - x)^(n-a),
 * n times a binomial probability, so f_max <= n: the Kolmogorov distance to Beta(a, b) is
 * at most (a + b - 1) 2^-33 (1.6e-9 at n = 14), against (a + b) 2^-33 for the products.
 * Sharper, f_max = n times the Binomial(n - 1, x) probability of a - 1 at the mode
 * x = (a - 1) / (n - 1): Beta(6, 2) 2.8, Beta(3, 2) 1.8, so 3.3e-10 and 2.1e-10. There is no
 * rounding: min, max and the conversion (w + 1/2 < 2^33, times a power of two) are exact, so
 * every compiled copy gives the same values, which lie in [2^-33, 1 - 2^-33]. */

/* The kernel below runs over a multiple of ORDER_GROUP lanes, so that no compiled copy needs
 * scalar remainder code, which made each case of s nearly twice as large (12 kB against 6.7
 * over the three copies). 8 words are an AVX2 vector; the AVX-512 copy runs 16 at a time and
 * at most one step of 8. A short chunk is padded up to it; with a group of 16, the padding
 * doubled the cost of calls of 8 draws. */
#define ORDER_GROUP 8

/* The most words kept, min(a, b) <= (a + b) / 2 for a + b - 1 <= SAMPLE_BETA_ORDER_WORDS_MAX. */
#define ORDER_KEEP_MAX ((SAMPLE_BETA_ORDER_WORDS_MAX + 1) / 2)

/* out[i] = (w + 1/2) 2^-32 for the s-th smallest key among lane i's n words, for the
 * lanes = groups ORDER_GROUP lanes (lane i's word from row j at w[j lanes + i]), the key of a
 * word being word ^ flip: with flip = 0 the s-th smallest word, with flip = ~0 the s-th
 * largest. The kept keys are sorted, keep[0] <= .. <= keep[s - 1], starting at UINT32_MAX;
 * a key goes in at its place by a min and a max per kept key, and the largest drops out. Rows
 * outside, lanes inside: each row is one vector loop (gcc does not vectorise the lanes around
 * a loop over the rows). Inlined with s a constant, so that the loop over the kept keys
 * unrolls in the vector loop. */
static inline __attribute__((always_inline)) void
order_stat_lanes(const uint32_t *w, size_t groups, uint32_t n, uint32_t s, uint32_t flip,
                 double *out)
{
    size_t lanes = groups * ORDER_GROUP;
    uint32_t keep[ORDER_KEEP_MAX][SAMPLE_WHOLE_CHUNK];
    for (uint32_t t = 0; t < s; t++) {
#pragma omp simd
        for (size_t i = 0; i < lanes; i++)
            keep[t][i] = UINT32_MAX;
    }
    for (uint32_t j = 0; j < n; j++) {
        const uint32_t *row = w + (size_t)j * lanes;
#pragma omp simd
        for (size_t i = 0; i < lanes; i++) {
            uint32_t x = row[i] ^ flip;
            for (uint32_t t = 0; t < s; t++) {
                uint32_t k = keep[t][i];
                keep[t][i] = k < x ? k : x;
                x = k < x ? x : k;
            }
        }
    }
#pragma omp simd
    for (size_t i = 0; i < lanes; i++)
        out[i] = word_uniform(keep[s - 1][i] ^ flip);
}

/* order_stat_lanes with s = 1 .. ORDER_KEEP_MAX, each case its own constant. */
_Static_assert(ORDER_KEEP_MAX == 7, "order_stat_chunk has a case for each s");
_Static_assert(SAMPLE_WHOLE_CHUNK % ORDER_GROUP == 0, "a full chunk needs no padding");
SIMD_CLONES
static void order_stat_chunk(const uint32_t *w, size_t groups, uint32_t n, uint32_t s,
                             uint32_t flip, double *out)
{
    switch (s) {
    case 1: order_stat_lanes(w, groups, n, 1, flip, out); break;
    case 2: order_stat_lanes(w, groups, n, 2, flip, out); break;
    case 3: order_stat_lanes(w, groups, n, 3, flip, out); break;
    case 4: order_stat_lanes(w, groups, n, 4, flip, out); break;
    case 5: order_stat_lanes(w, groups, n, 5, flip, out); break;
    case 6: order_stat_lanes(w, groups, n, 6, flip, out); break;
    default: order_stat_lanes(w, groups, n, 7, flip, out); break;
    }
}

/* The rows of a chunk of len lanes, drawn at stride len (from), laid out at stride
 * lanes >= len (to), each row's lanes past len set to 0: their results are not used. */
static void order_pad_rows(const uint32_t *from, size_t len, uint32_t rows, size_t lanes,
                           uint32_t *to)
{
    for (uint32_t j = 0; j < rows; j++)
        for (size_t i = 0; i < lanes; i++)
            to[(size_t)j * lanes + i] = i < len ? from[(size_t)j * len + i] : 0;
}

/* n Beta(a, b) variates, whole a, b within the limits of sample_beta_fill's order statistics
 * (sample.h), chunk by chunk: a chunk of len lanes takes (a + b - 1) len words, lane i's
 * uniform from row j being word j len + i. */
static void beta_order_stat_fill(rng_state *s, uint32_t a, uint32_t b, double *out, size_t n)
{
    uint32_t w[SAMPLE_BETA_ORDER_WORDS_MAX * SAMPLE_WHOLE_CHUNK];
    uint32_t padded[SAMPLE_BETA_ORDER_WORDS_MAX * SAMPLE_WHOLE_CHUNK];
    double value[SAMPLE_WHOLE_CHUNK];
    uint32_t rows = a + b - 1, keep = a <= b ? a : b, flip = a <= b ? 0u : UINT32_MAX;
    for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
        size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
        size_t groups = (len + ORDER_GROUP - 1) / ORDER_GROUP;
        rng_state_words(s, w, rows * len);
        if (len == groups * ORDER_GROUP) {
            order_stat_chunk(w, groups, rows, keep, flip, out + at);
            continue;
        }
        order_pad_rows(w, len, rows, groups * ORDER_GROUP, padded);
        order_stat_chunk(padded, groups, rows, keep, flip, value);
        memcpy(out + at, value, len * sizeof *value);
    }
}

/* ---- whole shapes of many laws: beta ratios ---- */

/* Beta(a[i], b[i]) for one chunk of len lanes: lane i's G_a from rows 0 .. a[i] - 1, its G_b
 * from the next b[i] rows. */
static void beta_whole_chunk(rng_state *s, const uint32_t *a, const uint32_t *b, double *out,
                             size_t len)
{
    uint32_t w[2 * SAMPLE_WHOLE_MAX * SAMPLE_WHOLE_CHUNK];
    uint32_t na[SAMPLE_WHOLE_CHUNK], nb[SAMPLE_WHOLE_CHUNK], need[SAMPLE_WHOLE_CHUNK];
    double prod_a[SAMPLE_WHOLE_CHUNK], prod_b[SAMPLE_WHOLE_CHUNK];
    for (size_t i = 0; i < len; i++) {
        na[i] = whole_shape(a[i]);
        nb[i] = whole_shape(b[i]);
        need[i] = na[i] + nb[i];
    }
    uint32_t rows = whole_rows(need, len);
    rng_state_words(s, w, rows * len);
    whole_products(w, len, rows, whole_zeros, na, prod_a);
    whole_products(w, len, rows, na, nb, prod_b);
    whole_beta_from_products(prod_a, prod_b, out, len);
}

void sample_beta_whole(gsl_rng *r, const uint32_t *a, const uint32_t *b, double *out, size_t n)
{
    for (size_t at = 0; at < n; at += SAMPLE_WHOLE_CHUNK) {
        size_t len = n - at < SAMPLE_WHOLE_CHUNK ? n - at : SAMPLE_WHOLE_CHUNK;
        beta_whole_chunk(state_of(r), a + at, b + at, out + at, len);
    }
}

/* ---- many draws at once ---- */

/* Draws whose first attempt is made together: the words they need fit on the stack. */
#define FILL_CHUNK 64

/* Finishes a draw whose first attempt (normal word wz, uniform word wu) failed: the ziggurat
 * continues from wz as sample_normal would and the candidate is tested in full, or, when the
 * ziggurat took wz at once, the attempt was a true rejection (or v <= 0) and Marsaglia and
 * Tsang's loop starts afresh. So the draw follows exactly the algorithm of sample_gamma_draw. */
static double gamma_finish(rng_state *s, gsl_rng *r, const sample_gamma *g, uint32_t wz,
                           uint32_t wu)
{
    int32_t hz;
    uint32_t iz;
    split_word(wz, &hz, &iz);
    if (magnitude(hz) >= zig_k[iz]) {
        double x = normal_slow(s, hz, iz);
        double v = 1.0 + g->c * x;
        if (v > 0.0) {
            v = v * v * v;
            if (gamma_accepts(g->d, x, v, word_uniform(wu)))
                return g->d * v * g->scale;
        }
    }
    return gamma_core(s, r, g) * g->scale;
}

/* The first attempt at one draw from the words wz, wu: *out = the candidate d v scale, and the
 * result says whether the ziggurat took wz at once, v > 0 and the candidate passed the squeeze
 * (full = 0) or the full test (full = 1). Branch-free; the arithmetic is the scalar path's,
 * operation for operation, so a draw is the same whichever path or copy decides it. 64-bit
 * integers throughout: gcc 12 vectorises the table reads (gathers) only with indices and flags
 * as wide as the doubles beside them. */
static inline int64_t gamma_attempt(const sample_gamma *g, uint32_t wz, uint32_t wu, int full,
                                    double *out)
{
    int64_t iz = (int64_t)(wz & (ZIG_LAYERS - 1));
    int32_t hz = (int32_t)(wz & ~(uint32_t)(ZIG_LAYERS - 1));
    int64_t mag = hz < 0 ? -(int64_t)hz : (int64_t)hz;
    double x = (double)hz * zig_w[iz];
    double v = 1.0 + g->c * x;
    double v3 = v * v * v;
    double u = word_uniform(wu);
    int64_t pass = gamma_squeeze(x, u) | (full ? gamma_log_test(g->d, x, v3, u) : 0);
    *out = g->d * v3 * g->scale;
    return (mag < (int64_t)zig_k[iz]) & (v > 0.0) & pass;
}

/* The first attempt of n <= FILL_CHUNK draws with the squeeze alone: out[i] is the draw where
 * bit i of the result is 0; the set bits mark the draws left to the full test. Vectorised
 * (the tables read by gathers where the target has them). */
SIMD_CLONES
static uint64_t gamma_first_attempt(const sample_gamma *g, const uint32_t *wz,
                                    const uint32_t *wu, size_t n, double *out)
{
    uint64_t failed = 0;
#pragma omp simd reduction(| : failed)
    for (size_t i = 0; i < n; i++)
        failed |= (uint64_t)(gamma_attempt(g, wz[i], wu[i], 0, &out[i]) ^ 1) << i;
    return failed;
}

/* The full test for n draws from the words wz, wu (n a multiple of FULL_TEST_LANES): out[j]
 * is the draw when ok[j]. Vectorised too: the squeeze fails for 8 % of draws, a handful in a
 * chunk, and with their words gathered here one vector's pass tests them all, where testing
 * each in scalar code cost two libm logs and a mispredicted branch. FULL_TEST_LANES is the
 * widest copy's vector length (AVX-512: 8 doubles), so that no copy runs a scalar remainder. */
#define FULL_TEST_LANES 8
SIMD_CLONES
static void gamma_full_test(const sample_gamma *g, const uint32_t *wz, const uint32_t *wu,
                            size_t n, double *out, int64_t *ok)
{
#pragma omp simd
    for (size_t j = 0; j < n; j++)
        ok[j] = gamma_attempt(g, wz[j], wu[j], 1, &out[j]);
}

/* The draws of one chunk that the squeeze left (set bits of failed), by the full test; those
 * it rejects are finished one by one. */
static void gamma_second_attempt(rng_state *s, gsl_rng *r, const sample_gamma *g,
                                 const uint32_t *wz, const uint32_t *wu, uint64_t failed,
                                 double *out)
{
    uint32_t cz[FILL_CHUNK], cu[FILL_CHUNK];
    unsigned char idx[FILL_CHUNK];
    double cout[FILL_CHUNK];
    int64_t ok[FILL_CHUNK];
    size_t m = 0;
    for (; failed; failed &= failed - 1, m++) {
        idx[m] = (unsigned char)__builtin_ctzll(failed);
        cz[m] = wz[idx[m]];
        cu[m] = wu[idx[m]];
    }
    size_t padded = (m + FULL_TEST_LANES - 1) / FULL_TEST_LANES * FULL_TEST_LANES;
    for (size_t j = m; j < padded; j++)
        cz[j] = cu[j] = 0; /* any words will do: their results are not read */
    gamma_full_test(g, cz, cu, padded, cout, ok);
    for (size_t j = 0; j < m; j++)
        out[idx[j]] = ok[j] ? cout[j] : gamma_finish(s, r, g, cz[j], cu[j]);
}

/* The shape as a number of factors when sample_gamma_fill draws it as a product of uniforms:
 * a whole number from 1 to SAMPLE_GAMMA_PRODUCT_MAX; else 0. */
static uint32_t product_shape(const sample_gamma *g)
{
    double k = g->shape;
    return k >= 1.0 && k <= SAMPLE_GAMMA_PRODUCT_MAX && k == floor(k) ? (uint32_t)k : 0;
}

void sample_gamma_fill(gsl_rng *r, const sample_gamma *g, double *out, size_t n)
{
    rng_state *s = state_of(r);
    uint32_t k = product_shape(g);
    if (k > 0) {
        gamma_product_fill(s, k, g->scale, out, n);
        return;
    }
    if (g->shape < 1.0) {
        for (size_t i = 0; i < n; i++)
            out[i] = sample_gamma_draw(r, g);
        return;
    }
    uint32_t wz[FILL_CHUNK], wu[FILL_CHUNK];
    for (size_t at = 0; at < n; at += FILL_CHUNK) {
        size_t len = n - at < FILL_CHUNK ? n - at : FILL_CHUNK;
        rng_state_words(s, wz, len); /* all the chunk's normals' words, then its uniforms' */
        rng_state_words(s, wu, len);
        uint64_t failed = gamma_first_attempt(g, wz, wu, len, out + at);
        if (failed)
            gamma_second_attempt(s, r, g, wz, wu, failed, out + at);
    }
}

/* Whether sample_beta_fill draws Beta(a, b) as an order statistic of words: a, b whole, with
 * a + b - 1 <= SAMPLE_BETA_ORDER_WORDS_MAX. If so, *wa and *wb get a and b. */
static int order_stat_shapes(const sample_beta *law, uint32_t *wa, uint32_t *wb)
{
    double a = law->x.shape, b = law->y.shape;
    if (!(a >= 1.0 && b >= 1.0 && a == floor(a) && b == floor(b)))
        return 0;
    if (a + b - 1.0 > SAMPLE_BETA_ORDER_WORDS_MAX)
        return 0;
    *wa = (uint32_t)a;
    *wb = (uint32_t)b;
    return 1;
}

void sample_beta_fill(gsl_rng *r, const sample_beta *b, double *out, double *scratch, size_t n)
{
    uint32_t wa, wb;
    if (order_stat_shapes(b, &wa, &wb)) {
        beta_order_stat_fill(state_of(r), wa, wb, out, n);
        return;
    }
    if (b->x.shape < 1.0 || b->y.shape < 1.0) {
        for (size_t i = 0; i < n; i++)
            out[i] = sample_beta_draw(r, b);
        return;
    }
    sample_gamma_fill(r, &b->x, out, n);
    sample_gamma_fill(r, &b->y, scratch, n);
    for (size_t i = 0; i < n; i++)
        out[i] = out[i] / (out[i] + scratch[i]);
}

double sample_beta_draw(gsl_rng *r, const sample_beta *b)
{
    if (b->x.shape >= 1.0 && b->y.shape >= 1.0) {
        double x = sample_gamma_draw(r, &b->x);
        double y = sample_gamma_draw(r, &b->y);
        return x / (x + y);
    }
    /* X / (X + Y) = 1 / (1 + exp(log Y - log X)), which stays defined when both underflow. */
    double lx = log_gamma_draw(r, &b->x), ly = log_gamma_draw(r, &b->y);
    return 1.0 / (1.0 + exp(ly - lx));
}

/* ---- Poisson and order statistics ---- */

unsigned long sample_poisson(gsl_rng *r, double mu)
{
    if (!(mu > 0.0))
        return 0;
    if (mu >= SAMPLE_POISSON_SMALL)
        return gsl_ran_poisson(r, mu);
    /* Sequential search: the smallest k with F(k) > u. The loop also ends once the terms can no
     * longer change the sum, so a u that rounds above every F(k) cannot loop for ever. */
    double u = rng_state_uniform(state_of(r));
    double term = exp(-mu), cdf = term;
    unsigned long k = 0;
    while (u >= cdf) {
        k++;
        term *= mu / (double)k;
        double next = cdf + term;
        if (next == cdf)
            break;
        cdf = next;
    }
    return k;
}

unsigned long sample_binomial(gsl_rng *r, double p, unsigned long n)
{
    if (n == 0 || !(p > 0.0))
        return 0;
    if (p >= 1.0)
        return n;
    if (n > SAMPLE_BINOMIAL_SMALL)
        return gsl_ran_binomial(r, p, (unsigned int)n);
    if (n <= SAMPLE_BINOMIAL_COUNT) {
        /* n Bernoulli trials, each a 32-bit word below p 2^32: no division, no loop-carried
         * product; each trial's probability is within 2^-32 of p. */
        rng_state *s = state_of(r);
        double edge = p * 4294967296.0;
        unsigned long k = 0;
        for (unsigned long i = 0; i < n; i++)
            k += (double)rng_next32(s) < edge;
        return k;
    }
    /* Inversion by sequential search from P(0) = (1-p)^n with the ratio
     * P(k+1) / P(k) = (n - k) / (k + 1) * p / (1 - p) (Devroye 1986, X.4.3). */
    double u = rng_state_uniform(state_of(r)), odds = p / (1.0 - p);
    double term = 1.0;
    for (unsigned long i = 0; i < n; i++)
        term *= 1.0 - p;   /* (1-p)^n by n products: cheaper than pow for n this small */
    double cdf = term;
    unsigned long k = 0;
    while (u >= cdf && k < n) {
        term *= (double)(n - k) / (double)(k + 1) * odds;
        cdf += term;
        k++;
    }
    return k;
}

/* count[t] = how many of the rows words of trial t (word i len + t) lie below p[t] 2^32. */
SIMD_CLONES
static void bernoulli_rows(const uint32_t *w, size_t len, unsigned long rows, const double *p,
                           unsigned long *count)
{
    for (size_t t = 0; t < len; t++)
        count[t] = 0;
    for (unsigned long i = 0; i < rows; i++) {
        const uint32_t *row = w + i * len;
#pragma omp simd
        for (size_t t = 0; t < len; t++)
            count[t] += (double)row[t] < p[t] * 4294967296.0;
    }
}

/* sample_binomial's inversion (SAMPLE_BINOMIAL_COUNT < n <= SAMPLE_BINOMIAL_SMALL) for len
 * trials side by side, u[t] the uniform each drew (none where p[t] is not in (0, 1)): the same
 * terms and running sums in the same order. The sequential search stops at the first k whose
 * sum exceeds u, or at n; the sums never decrease, so that k is the number of the first n
 * sums that u reaches, which every trial counts through all n (selects, no branch on u). */
/* Trials binomial_invert takes side by side: four vectors, whose chains of products and sums
 * overlap. */
#define INVERT_LANES (4 * SIMD_LANES)

SIMD_CLONES
static void binomial_invert(const double *p, const double *u, unsigned long n,
                            unsigned long *out, size_t len)
{
    for (size_t t0 = 0; t0 < len; t0 += INVERT_LANES) {
        double q[INVERT_LANES], v[INVERT_LANES], term[INVERT_LANES], cdf[INVERT_LANES], odds[INVERT_LANES];
        double below[INVERT_LANES];
        /* Lanes past len, and trials whose p is not in (0, 1), invert with q = 1/2: their
         * results are not used. */
#pragma omp simd
        for (int l = 0; l < INVERT_LANES; l++) {
            size_t t = t0 + (size_t)l < len ? t0 + (size_t)l : len - 1;
            int inside = (p[t] > 0.0) & (p[t] < 1.0);
            q[l] = inside ? p[t] : 0.5;
            v[l] = u[t];
            odds[l] = q[l] / (1.0 - q[l]);
            term[l] = 1.0;
            below[l] = 0.0;
        }
        for (unsigned long i = 0; i < n; i++) {
#pragma omp simd
            for (int l = 0; l < INVERT_LANES; l++)
                term[l] *= 1.0 - q[l];
        }
#pragma omp simd
        for (int l = 0; l < INVERT_LANES; l++)
            cdf[l] = term[l];
        for (unsigned long k = 0; k < n; k++) {
            double ratio = (double)(n - k) / (double)(k + 1);
#pragma omp simd
            for (int l = 0; l < INVERT_LANES; l++) {
                below[l] += v[l] >= cdf[l] ? 1.0 : 0.0;
                term[l] *= ratio * odds[l];
                cdf[l] += term[l];
            }
        }
        for (size_t l = 0; l < INVERT_LANES && t0 + l < len; l++) {
            double pt = p[t0 + l];
            out[t0 + l] = pt >= 1.0 ? n : pt > 0.0 ? (unsigned long)below[l] : 0;
        }
    }
}

void sample_binomial_fill(gsl_rng *r, const double *p, unsigned long n, unsigned long *out,
                          size_t count)
{
    if (n > SAMPLE_BINOMIAL_SMALL) {
        for (size_t t = 0; t < count; t++)
            out[t] = sample_binomial(r, p[t], n);
        return;
    }
    if (n > SAMPLE_BINOMIAL_COUNT) {
        /* Each trial's uniform in trial order, drawn as sample_binomial draws it (not where p
         * is 0 or 1), then the inversions together. */
        double u[FILL_CHUNK];
        for (size_t at = 0; at < count; at += FILL_CHUNK) {
            size_t len = count - at < FILL_CHUNK ? count - at : FILL_CHUNK;
            for (size_t t = 0; t < len; t++)
                u[t] = p[at + t] > 0.0 && p[at + t] < 1.0 ? rng_state_uniform(state_of(r)) : 0.0;
            binomial_invert(p + at, u, n, out + at, len);
        }
        return;
    }
    uint32_t w[SAMPLE_BINOMIAL_COUNT * FILL_CHUNK];
    for (size_t at = 0; at < count; at += FILL_CHUNK) {
        size_t len = count - at < FILL_CHUNK ? count - at : FILL_CHUNK;
        rng_state_words(state_of(r), w, n * len);
        bernoulli_rows(w, len, n, p + at, out + at);
    }
}

/* ---- binomials, each its own n and p ----
 *
 * With p folded to at most 1/2 (a draw for 1 - p counted down from n), an item whose mean n p
 * is below SAMPLE_BTRS_MEAN inverts the distribution function by sequential search from 0, and
 * one whose mean is at least that is drawn by Hormann's BTRS, transformed rejection with a
 * squeeze (W. Hormann, "The generation of binomial random variates", J. Statist. Comput.
 * Simul. 46, 1993, 101-110; valid for n p >= 10). Both are exact up to rounding. The items go
 * in chunks of EACH_CHUNK, side by side in vector lanes; within a chunk the inversions draw
 * their uniforms first, in item order, then the rejection's rounds, each drawing two uniforms
 * for every item still pending, in item order. So what is drawn depends on the items alone,
 * never on the vector width. */
#define EACH_CHUNK 64

/* fc(k) = log k! - ((k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2), the tail of Stirling's
 * series for log k!: tabulated below FC_TABLE (to 17 digits, computed with mpmath at 40), the
 * series' first four terms above, in z = k + 1: 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) -
 * 1/(1680 z^7), whose error is below the first omitted term, 1/(1188 z^9) (Abramowitz and
 * Stegun 6.1.41; the series alternates), under 7e-15 from z = 17 on. */
#define FC_TABLE 16
static const double fc_table[FC_TABLE] = {
    0.081061466795327258,  0.041340695955409294,  0.027677925684998339,  0.020790672103765093,
    0.016644691189821192,  0.013876128823070748,  0.01189670994589177,   0.010411265261972096,
    0.0092554621827127329, 0.0083305634333628713, 0.0075736754879518408, 0.0069428401072095299,
    0.0064089941880042071, 0.0059513701127588477, 0.0055547335519628014, 0.0052076559196096404};

/* fc(k) by the series alone (vmath_stirling_tail at z = k + 1), right from k = FC_TABLE on; in
 * vector loops, which gcc does not vectorise with a table's lookup, followed by stirling_fix
 * for the few small k. */
static inline double stirling_series(double k)
{
    return vmath_stirling_tail(k + 1.0);
}

/* What fc(k) - stirling_series(k) is, for a whole k >= 0: 0 from FC_TABLE on. */
static double stirling_fix(double k)
{
    return k < (double)FC_TABLE ? fc_table[(int)k] - stirling_series(k) : 0.0;
}


/* log(1 - q) for q in [0, 1/2], to a few units in the last place: with y = 1 - q rounded,
 * log(y) q / (1 - y), as y - 1 is exact (Goldberg 1991, "What every computer scientist should
 * know about floating-point arithmetic", theorem 4); -q where y rounds to 1. The division is
 * made for every q, by 1 where y - 1 is 0: one made only under the condition would keep the
 * vector loops that call this scalar. */
static inline double log_one_minus(double q)
{
    double y = 1.0 - q, d = y - 1.0;
    return d == 0.0 ? -q : vmath_log(y) * (-q / (d == 0.0 ? 1.0 : d));
}

/* Sequential search from 0 for len items side by side: item i has n[i] trials, success
 * probability q[i] <= 1/2 and uniform u[i]; x[i] = the number of leading terms of its pmf
 * whose running sum is at most u[i], P(0) = (1 - q)^n and the ratio P(k+1)/P(k) =
 * (n - k)/(k + 1) q/(1 - q) (Devroye 1986, X.4.3). A search also stops at n, or where the
 * terms have underflowed past the mode (a sum that rounding kept below u). */
SIMD_CLONES
static void each_invert(const double *n, const double *q, const double *u, double *x, size_t len)
{
    double term[EACH_CHUNK], cdf[EACH_CHUNK], odds[EACH_CHUNK];
#pragma omp simd
    for (size_t i = 0; i < len; i++) {
        odds[i] = q[i] / (1.0 - q[i]);
        term[i] = vmath_exp(n[i] * log_one_minus(q[i]));
        cdf[i] = term[i];
        x[i] = 0.0;
    }
    for (int going = len > 0; going;) {
        going = 0;
#pragma omp simd reduction(| : going)
        for (size_t i = 0; i < len; i++) {
            int more = (u[i] >= cdf[i]) & (x[i] < n[i]) & (term[i] > 0.0);
            double next = term[i] * ((n[i] - x[i]) / (x[i] + 1.0) * odds[i]);
            term[i] = more ? next : term[i];
            cdf[i] = more ? cdf[i] + next : cdf[i];
            x[i] += more ? 1.0 : 0.0;
            going |= more;
        }
    }
}

/* The items BTRS draws (n trials, q <= 1/2, n q >= SAMPLE_BTRS_MEAN), those still pending first:
 * their constants in Hormann's names (spq = sqrt(n q (1 - q)), r = q / (1 - q), m the mode),
 * and h, the log of the pmf at m less the terms that depend on k (see btrs_round). Kept in
 * the order of the pending items, so that the rounds read them in sequence. */
typedef struct btrs_items {
    double n[EACH_CHUNK], q[EACH_CHUNK], spq[EACH_CHUNK], a[EACH_CHUNK], b[EACH_CHUNK];
    double c[EACH_CHUNK], v_r[EACH_CHUNK], alpha[EACH_CHUNK], r[EACH_CHUNK], m[EACH_CHUNK];
    double h[EACH_CHUNK];
    uint32_t item[EACH_CHUNK];   /* the item's index in its chunk */
} btrs_items;

/* The constants from n, q and spq (the square root taken before: a vectorised sqrt would have
 * to set errno, which keeps gcc from vectorising it), h with the series alone (binomial_chunk
 * mends it for a small m or n - m). */
SIMD_CLONES
static void btrs_setup(btrs_items *it, size_t len)
{
#pragma omp simd
    for (size_t i = 0; i < len; i++) {
        double n = it->n[i], q = it->q[i], spq = it->spq[i], b = 1.15 + 2.53 * spq;
        double r = q / (1.0 - q), m = vmath_floor((n + 1.0) * q);
        it->b[i] = b;
        it->a[i] = -0.0873 + 0.0248 * b + 0.01 * q;
        it->c[i] = n * q + 0.5;
        it->v_r[i] = 0.92 - 4.2 / b;
        it->alpha[i] = (2.83 + 5.1 / b) * spq;
        it->r[i] = r;
        it->m[i] = m;
        it->h[i] = (m + 0.5) * vmath_log((m + 1.0) / (r * (n - m + 1.0))) + stirling_series(m) +
                   stirling_series(n - m);
    }
}

/* One round of BTRS for the first `lanes` items (np of them pending, the others padding), with
 * the uniforms u_j (words w[j] and w[np + j]) and v_j (w[2 np + j] and w[3 np + j]): k[j] =
 * the candidate and, when it lies in [0, n], in ok[j] the bits BTRS_SQUEEZE (accepted by the
 * squeeze), BTRS_TEST (by the test log(v alpha / (a / us^2 + b)) <= log(f(k) / f(m)), f the
 * pmf, written with Stirling's series as Hormann
 * does so that no large log-factorials cancel) and BTRS_SMALL (k or n - k below FC_TABLE: the
 * test's two sides are in lv[j] and bound[j], the bound without stirling_fix, for the caller
 * to decide); ok[j] = 0 otherwise. Every operation is made for every item and the results
 * combined by arithmetic (gcc does not vectorise this loop with selects between them). */
#define BTRS_SQUEEZE 1
#define BTRS_TEST 2
#define BTRS_SMALL 4
SIMD_CLONES
static void btrs_round(const btrs_items *it, size_t np, size_t lanes, const uint32_t *w,
                       double *k, int *ok, double *lv, double *bound)
{
#pragma omp simd
    for (size_t j = 0; j < lanes; j++) {
        double u = rng_uniform_of_words(w[j], w[np + j]) - 0.5;
        double v = rng_uniform_of_words(w[2 * np + j], w[3 * np + j]);
        double us = 0.5 - fabs(u), n = it->n[j], a = it->a[j], b = it->b[j], m = it->m[j];
        double y = (2.0 * a / us + b) * u + it->c[j];
        y = y < -1.0 ? -1.0 : y;   /* outside [0, n] either way; now vmath_floor's range */
        y = y > n + 1.0 ? n + 1.0 : y;
        double x = vmath_floor(y), kc = x < 0.0 ? 0.0 : x;
        kc = kc > n ? n : kc;   /* x if in [0, n]: the test is then made in range */
        int inside = x == kc, squeeze = (us >= 0.07) & (v <= it->v_r[j]);
        double left = vmath_log(v * it->alpha[j] / (a / (us * us) + b));
        double right = it->h[j] + (n + 1.0) * vmath_log((n - m + 1.0) / (n - kc + 1.0)) +
                       (kc + 0.5) * vmath_log(it->r[j] * (n - kc + 1.0) / (kc + 1.0)) -
                       stirling_series(kc) - stirling_series(n - kc);
        int small = (kc < (double)FC_TABLE) | (n - kc < (double)FC_TABLE);
        k[j] = kc;
        lv[j] = left;
        bound[j] = right;
        ok[j] = inside *
                (BTRS_SQUEEZE * squeeze + BTRS_TEST * (left <= right) + BTRS_SMALL * small);
    }
}

/* Item j's constants to place `to` (the pending items moved down over the accepted ones). */
static void btrs_keep(btrs_items *it, size_t to, size_t j)
{
    it->n[to] = it->n[j];
    it->a[to] = it->a[j];
    it->b[to] = it->b[j];
    it->c[to] = it->c[j];
    it->v_r[to] = it->v_r[j];
    it->alpha[to] = it->alpha[j];
    it->r[to] = it->r[j];
    it->m[to] = it->m[j];
    it->h[to] = it->h[j];
    it->item[to] = it->item[j];
}

/* len rounded up to whole vector iterations: the vector loops run over the padding too (lanes
 * whose results nobody reads), which costs less than gcc's scalar loop for the remainder. An
 * iteration is EACH_LANES items: gcc takes 16 lanes (two vectors of doubles) when a loop also
 * reads 32-bit words, as btrs_round does. */
#define EACH_LANES (2 * SIMD_LANES)
static size_t padded(size_t len)
{
    return (len + EACH_LANES - 1) / EACH_LANES * EACH_LANES;
}

/* The draw for item i from the folded one, k: n - k when p > 1/2 (modulo 2^32: no branch on the
 * random side of 1/2). */
static uint32_t unfold(const uint32_t *n, const double *p, size_t i, uint32_t k)
{
    uint32_t flip = p[i] > 0.5;
    return k + flip * (n[i] - 2u * k);
}

/* The inversions of a chunk: n_inv items (their index in the chunk inv[j], folded q[j] and
 * trials dn[j]), one uniform each in item order. */
static void chunk_inversions(rng_state *s, const uint32_t *n, const double *p, uint32_t *out,
                             const uint32_t *inv, double *q, double *dn, size_t n_inv)
{
    double u[EACH_CHUNK], x[EACH_CHUNK];
    uint32_t w[2 * EACH_CHUNK];
    rng_state_words(s, w, 2 * n_inv);
    for (size_t j = 0; j < n_inv; j++)
        u[j] = rng_uniform_of_words(w[2 * j], w[2 * j + 1]);
    for (size_t j = n_inv; j < padded(n_inv); j++) {
        q[j] = q[0];
        dn[j] = dn[0];
        u[j] = u[0];
    }
    each_invert(dn, q, u, x, padded(n_inv));
    for (size_t j = 0; j < n_inv; j++)
        out[inv[j]] = unfold(n, p, inv[j], (uint32_t)x[j]);
}

/* BTRS for a chunk's n_rej items in it (item, n, q and spq set): rounds of four words an item
 * still pending, in item order, until every item is accepted. */
static void chunk_rejections(rng_state *s, const uint32_t *n, const double *p, uint32_t *out,
                             btrs_items *it, size_t n_rej)
{
    for (size_t j = n_rej; j < padded(n_rej); j++) {
        it->n[j] = it->n[0];
        it->q[j] = it->q[0];
        it->spq[j] = it->spq[0];
        it->item[j] = it->item[0];
    }
    btrs_setup(it, padded(n_rej));
    for (size_t j = 0; j < n_rej; j++)
        it->h[j] += stirling_fix(it->m[j]) + stirling_fix(it->n[j] - it->m[j]);
    for (size_t np = n_rej; np > 0;) {
        double x[EACH_CHUNK], lv[EACH_CHUNK], bound[EACH_CHUNK];
        uint32_t w[4 * EACH_CHUNK + EACH_LANES];   /* the padding's lanes read past 4 np */
        int ok[EACH_CHUNK];
        rng_state_words(s, w, 4 * np);
        btrs_round(it, np, padded(np), w, x, ok, lv, bound);
        size_t left = 0;
        for (size_t j = 0; j < np; j++) {
            int accept = (ok[j] & BTRS_SQUEEZE) | ((ok[j] & (BTRS_TEST | BTRS_SMALL)) == BTRS_TEST);
            if ((ok[j] & (BTRS_SQUEEZE | BTRS_SMALL)) == BTRS_SMALL)   /* rare */
                accept = lv[j] <= bound[j] - stirling_fix(x[j]) - stirling_fix(it->n[j] - x[j]);
            size_t i = it->item[j];
            uint32_t k = unfold(n, p, i, (uint32_t)x[j]);
            out[i] = accept ? k : out[i];
            btrs_keep(it, left, j);   /* kept only if rejected: no branch on the outcome */
            left += !accept;
        }
        np = left;
    }
}

/* Up to EACH_CHUNK items: see sample_binomial_each. */
static void binomial_chunk(rng_state *s, const uint32_t *n, const double *p, uint32_t *out,
                           size_t len)
{
    double iq[EACH_CHUNK], in[EACH_CHUNK];
    uint32_t inv[EACH_CHUNK];
    btrs_items it;
    size_t n_inv = 0, n_rej = 0;
    /* Each item to its list, written to both and counted in one (no branch on its side). */
    for (size_t i = 0; i < len; i++) {
        double q = p[i] > 0.5 ? 1.0 - p[i] : p[i], dn = (double)n[i];
        int drawn = (n[i] > 0) & (p[i] > 0.0) & (p[i] < 1.0), small = dn * q < SAMPLE_BTRS_MEAN;
        out[i] = p[i] >= 1.0 ? n[i] : 0;
        inv[n_inv] = it.item[n_rej] = (uint32_t)i;
        iq[n_inv] = it.q[n_rej] = q;
        in[n_inv] = it.n[n_rej] = dn;
        n_inv += drawn & small;
        n_rej += drawn & !small;
    }
    for (size_t j = 0; j < n_rej; j++)
        it.spq[j] = sqrt(it.n[j] * it.q[j] * (1.0 - it.q[j]));
    if (n_inv > 0)
        chunk_inversions(s, n, p, out, inv, iq, in, n_inv);
    if (n_rej > 0)
        chunk_rejections(s, n, p, out, &it, n_rej);
}

void sample_binomial_each(gsl_rng *r, const uint32_t *n, const double *p, uint32_t *out,
                          size_t count)
{
    for (size_t at = 0; at < count; at += EACH_CHUNK)
        binomial_chunk(state_of(r), n + at, p + at, out + at,
                       count - at < EACH_CHUNK ? count - at : EACH_CHUNK);
}

/* The j-th smallest (from 1) of v[0 .. n-1], reordering v: a partial selection sort, as n is
 * a handful. The running minimum is kept by selects, not branches: the values are random, so a
 * branch on them would be mispredicted about as often as not. */
static double nth_smallest(double *v, size_t n, size_t j)
{
    for (size_t a = 0; a < j; a++) {
        double low = v[a];
        size_t m = a;
        for (size_t b = a + 1; b < n; b++) {
            int less = v[b] < low;
            low = less ? v[b] : low;
            m = less ? b : m;
        }
        v[m] = v[a];
        v[a] = low;
    }
    return v[j - 1];
}

double sample_uniform_order_stat(gsl_rng *r, unsigned long j, unsigned long n)
{
    if (n <= SAMPLE_ORDER_STAT_SORT) {
        double v[SAMPLE_ORDER_STAT_SORT];
        for (unsigned long i = 0; i < n; i++)
            v[i] = rng_state_uniform(state_of(r));
        return nth_smallest(v, n, j);
    }
    sample_beta b = sample_beta_init((double)j, (double)(n - j + 1));
    return sample_beta_draw(r, &b);
}

double sample_gamma1(gsl_rng *r, double k)
{
    sample_gamma g = sample_gamma_init(k, 1.0);
    return sample_gamma_draw(r, &g);
}

/* ---- points split by words ----
 *
 * A point is a uniform 32-bit word W = H 2^16 + L, drawn half by half: its high half H from
 * the sets' halves, drawn together, and its low half L only where H alone does not decide
 * W < E, E = eh 2^16 + el: W < E exactly when H < eh, or H = eh and L < el; when el is 0, H < eh
 * decides. So a point needs its low half with probability about n_edge / 2^16, and W is uniform
 * on 32 bits as if drawn whole. */

/* Half i of the sets' halves: of word i / 2, the low 16 bits first (as the halves lie in memory
 * on the little-endian x86-64 the vector path runs on). */
static inline uint32_t half_at(const uint32_t *word, size_t i)
{
    return (word[i >> 1] >> ((i & 1) * 16)) & 0xffffu;
}

/* A point of a set whose high half h ties with an edge's (with a non-zero low half): draws its
 * low half, the high 16 bits of one word, and counts it below each such edge when the low half
 * is below the edge's. */
static void split_tie(rng_state *s, uint32_t h, const uint32_t *edge, size_t n_edge,
                      size_t stride, uint32_t *below)
{
    uint32_t low = rng_next32(s) >> 16;
    for (size_t k = 0; k < n_edge; k++) {
        uint32_t e = edge[k * stride];
        below[k * stride] += ((e >> 16) == h) & ((e & 0xffffu) != 0) & (low < (e & 0xffffu));
    }
}

/* The counts of one set, its points' high halves half[at .. at + size - 1]:
 * below[k * stride] = how many lie below edge k, the ties' low halves drawn in point order. */
static void count_set_portable(rng_state *s, const uint32_t *word, size_t at, uint32_t size,
                               const uint32_t *edge, size_t n_edge, size_t stride,
                               uint32_t *below)
{
    int tie = 0;
    for (size_t k = 0; k < n_edge; k++) {
        uint32_t b = 0, eh = edge[k * stride] >> 16, el = edge[k * stride] & 0xffffu;
        for (uint32_t i = 0; i < size; i++) {
            uint32_t h = half_at(word, at + i);
            b += h < eh;
            tie |= (h == eh) & (el != 0);
        }
        below[k * stride] = b;
    }
    for (uint32_t i = 0; tie && i < size; i++) {
        uint32_t h = half_at(word, at + i);
        int ties = 0;
        for (size_t k = 0; k < n_edge; k++)
            ties |= ((edge[k * stride] >> 16) == h) & ((edge[k * stride] & 0xffffu) != 0);
        if (ties)
            split_tie(s, h, edge, n_edge, stride, below);
    }
}

static void count_sets_portable(rng_state *s, const uint32_t *word, size_t n,
                                const uint32_t *size, const uint32_t *edge, size_t n_edge,
                                size_t stride, uint32_t *below)
{
    size_t at = 0;
    for (size_t t = 0; t < n; t++) {
        count_set_portable(s, word, at, size[t], edge + t, n_edge, stride, below + t);
        at += size[t];
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SAMPLE_HAVE_AVX512_COUNT 1

/* Sets of more than SAMPLE_LARGE_SET points, and fewer than SAMPLE_LARGE_SET_END (so that its
 * 16-bit counts, one a vector of 32 halves, stay below 2^15), take count_large_set_avx512. */
#define SAMPLE_LARGE_SET 64
#define SAMPLE_LARGE_SET_END ((uint32_t)1 << 20)

/* The ties of one set, its halves half[0 .. size - 1], in point order: for each point whose high
 * half ties with an edge's (with a non-zero low half), split_tie. Both counting paths call it
 * once they have seen that the set has a tie, after counting it. */
__attribute__((target("avx512f,avx512bw,popcnt"), noinline)) static void
ties_avx512(rng_state *s, const uint16_t *half, uint32_t size, const uint32_t *edge,
            size_t n_edge, size_t stride, uint32_t *below)
{
    for (uint32_t i = 0; i < size; i += 32) {
        uint32_t left = size - i;
        __mmask32 in = left >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << left) - 1u);
        __m512i x = _mm512_maskz_loadu_epi16(in, half + i);
        __mmask32 ties = 0;
        for (size_t k = 0; k < n_edge; k++) {
            uint32_t e = edge[k * stride];
            if (e & 0xffffu)
                ties |= _mm512_mask_cmpeq_epu16_mask(in, x, _mm512_set1_epi16((short)(e >> 16)));
        }
        for (; ties; ties &= ties - 1) {
            uint32_t at = i + (uint32_t)__builtin_ctz((unsigned)ties);
            split_tie(s, half[at], edge, n_edge, stride, below);
        }
    }
}

/* A set of more than SAMPLE_LARGE_SET points (as at expected counts in the hundreds), edge by
 * edge: how many of its halves lie below the edge's high half, gathered in a vector of 32
 * per-lane counts (a compare and a masked add a vector of halves) and summed once; and whether
 * any equals it, in another vector. Only a set with such a tie goes over its points again for
 * them, in point order (ties_avx512), so that the stream gives the same low halves. For each
 * edge and vector of halves, 11 instructions, none a store, where count_sets_avx512's loop for
 * smaller sets takes 15, a population count added to memory among them (objdump). */
__attribute__((target("avx512f,avx512bw,popcnt"), noinline)) static void
count_large_set_avx512(rng_state *s, const uint16_t *half, uint32_t size, const uint32_t *edge,
                       size_t n_edge, size_t stride, uint32_t *below)
{
    const __m512i one = _mm512_set1_epi16(1), zero = _mm512_setzero_si512();
    uint32_t full = size / 32;
    __mmask32 rest = (__mmask32)((1u << (size % 32)) - 1u);
    __m512i tied = zero;
    for (size_t k = 0; k < n_edge; k++) {
        uint32_t e = edge[k * stride];
        __m512i eh = _mm512_set1_epi16((short)(e >> 16)), lanes = zero, equal = zero;
        for (uint32_t c = 0; c < full; c++) {
            __m512i x = _mm512_loadu_si512(half + 32 * c);
            lanes = _mm512_mask_add_epi16(lanes, _mm512_cmplt_epu16_mask(x, eh), lanes, one);
            equal = _mm512_mask_mov_epi16(equal, _mm512_cmpeq_epu16_mask(x, eh), one);
        }
        __m512i x = _mm512_maskz_loadu_epi16(rest, half + 32 * full);
        lanes = _mm512_mask_add_epi16(lanes, _mm512_mask_cmplt_epu16_mask(rest, x, eh), lanes,
                                      one);
        equal = _mm512_mask_mov_epi16(equal, _mm512_mask_cmpeq_epu16_mask(rest, x, eh), one);
        /* A lane counts at most one half in 32 of the set: below 2^15 (SAMPLE_LARGE_SET_END),
         * so its 16-bit count and madd's signed pairs are exact. */
        below[k * stride] = (uint32_t)_mm512_reduce_add_epi32(_mm512_madd_epi16(lanes, one));
        if (e & 0xffffu)
            tied = _mm512_or_si512(tied, equal);
    }
    if (_mm512_test_epi16_mask(tied, tied))
        ties_avx512(s, half, size, edge, n_edge, stride, below);
}

/* The same with AVX-512 (BW): 32 halves per compare (unsigned), the last vector of a set loaded
 * under a mask, so that no half past the set is read and no padding is needed; a compare's
 * count is its mask's bits; a set whose equality masks show a tie has ties_avx512 take them,
 * in point order. Most sets hold at most 32 points: one load and two compares per edge. Sets of
 * more than SAMPLE_LARGE_SET points take count_large_set_avx512. */
__attribute__((target("avx512f,avx512bw,popcnt"))) static void
count_sets_avx512(rng_state *s, const uint32_t *word, size_t n, const uint32_t *size,
                  const uint32_t *edge, size_t n_edge, size_t stride, uint32_t *below)
{
    const uint16_t *half = (const uint16_t *)(const void *)word;
    for (size_t t = 0; t < n; t++) {
        if (size[t] > SAMPLE_LARGE_SET && size[t] < SAMPLE_LARGE_SET_END) {
            count_large_set_avx512(s, half, size[t], edge + t, n_edge, stride, below + t);
            half += size[t];
            continue;
        }
        /* The first 32 points set the counts (an empty set: 0), the others add to them. */
        __mmask32 ties = 0;
        for (uint32_t i = 0; i == 0 || i < size[t]; i += 32) {
            uint32_t left = size[t] - i;
            __mmask32 in = left >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << left) - 1u);
            __m512i x = _mm512_maskz_loadu_epi16(in, half + i);
            for (size_t k = 0; k < n_edge; k++) {
                uint32_t e = edge[k * stride + t];
                __m512i eh = _mm512_set1_epi16((short)(e >> 16));
                uint32_t lt = (uint32_t)__builtin_popcount(
                    (unsigned)_mm512_mask_cmplt_epu16_mask(in, x, eh));
                below[k * stride + t] = i ? below[k * stride + t] + lt : lt;
                __mmask32 tied = (e & 0xffffu) ? in : 0;
                ties |= _mm512_mask_cmpeq_epu16_mask(tied, x, eh);
            }
        }
        if (ties)
            ties_avx512(s, half, size[t], edge + t, n_edge, stride, below + t);
        half += size[t];
    }
}
#else
#define SAMPLE_HAVE_AVX512_COUNT 0
#endif

void sample_split_sets(gsl_rng *r, size_t n, const uint32_t *size, const uint32_t *edge,
                       size_t n_edge, size_t stride, uint32_t *below, uint32_t *word)
{
    size_t total = 0;
    for (size_t t = 0; t < n; t++)
        total += size[t];
    rng_state *s = state_of(r);
    rng_state_words(s, word, (total + 1) / 2);
#if SAMPLE_HAVE_AVX512_COUNT
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("popcnt")) {
        count_sets_avx512(s, word, n, size, edge, n_edge, stride, below);
        return;
    }
#endif
    count_sets_portable(s, word, n, size, edge, n_edge, stride, below);
}
