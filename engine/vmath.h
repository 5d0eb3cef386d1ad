/* Vectorisable elementary functions for the simulator's hot loops. vmath_exp and vmath_log
 * replace libm exp and log where a loop over trials or sites should vectorise: they are plain
 * C11 arithmetic with no calls, no tables and no branches on their main paths, so
 * `#pragma omp simd` loops around them vectorise, and their results are the same bit patterns
 * scalar or vectorised, on every IEEE 754 target. vmath_floor and vmath_stirling_tail (the
 * samplers' and the Poisson core's log-factorial correction) are the same kind of helper. */
#ifndef ACCRUE_VMATH_H
#define ACCRUE_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The largest x for which vmath_exp(x) is finite: 0x1.62e42fefa39efp+9 = 709.782712893384,
 * the largest double below ln(DBL_MAX + ulp/2) = ln(2^1024 (1 - 2^-54)), where exp(x) starts
 * rounding to +inf.
 * exp(VMATH_EXP_MAX_X) = DBL_MAX (1 - 2.4e-14). */
#define VMATH_EXP_MAX_X 0x1.62e42fefa39efp+9

/* The smallest x for which vmath_exp(x) is not 0: -0x1.6232bdd7abcd2p+9 = -708.3964185322641,
 * the smallest double at or above ln(DBL_MIN) = -1022 ln 2. exp(VMATH_EXP_MIN_X) =
 * DBL_MIN (1 + 2.7e-14); every smaller x has a subnormal exp(x), below DBL_MIN. */
#define VMATH_EXP_MIN_X (-0x1.6232bdd7abcd2p+9)

/* Bound on |vmath_exp(x) / exp(x) - 1| for x in [VMATH_EXP_MIN_X, VMATH_EXP_MAX_X], exp(x) the
 * exact value: 1.93 u with u = 2^-53, rounded up (derivation above vmath_exp). 1 to 2 ulp. */
#define VMATH_EXP_REL_ERR 2.2e-16

/* ln 2 = VMATH_LN2_HI + VMATH_LN2_LO (Cody and Waite's split): HI is ln 2 rounded to a multiple
 * of 2^-42, so it has 42 significant bits and k * HI is exact for |k| < 2^11; LO is the rest,
 * rounded to double (|ln 2 - HI - LO| < 2e-31). */
#define VMATH_LN2_HI 0x1.62e42fefa38p-1
#define VMATH_LN2_LO 0x1.ef35793c7673p-45
#define VMATH_LOG2E 0x1.71547652b82fep+0 /* 1 / ln 2 rounded */
/* 1.5 * 2^52: adding it to |v| < 2^51 leaves round(v) (ties to even) in the low bits of the
 * mantissa, as the two's-complement integer bits(v + 1.5 * 2^52) - bits(1.5 * 2^52). */
#define VMATH_ROUND_SHIFTER 0x1.8p52

/* exp(r) for |r| <= a = 0.3466 (just above ln2 / 2), as 1 + r + r^2 q(r) with q the Taylor
 * polynomial sum_{j=0}^{11} r^j / (j + 2)!, evaluated by Estrin's scheme (pairs, then r^2,
 * then r^4) so that q's chain of dependent operations is 8 deep rather than Horner's 22.
 * 1 + r is split exactly into s + s_err (Dekker's Fast2Sum, valid as |r| < 1), so the only
 * rounding at the scale of the result is the last addition. Not for other callers. */
static inline double vmath_exp_reduced(double r)
{
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
    double r2 = r * r;
    double r4 = r2 * r2;
    double p01 = 1.0 / 2 + r * (1.0 / 6);
    double p23 = 1.0 / 24 + r * (1.0 / 120);
    double p45 = 1.0 / 720 + r * (1.0 / 5040);
    double p67 = 1.0 / 40320 + r * (1.0 / 362880);
    double p89 = 1.0 / 3628800 + r * (1.0 / 39916800);
    double p1011 = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
    double a0 = p01 + r2 * p23;
    double a1 = p45 + r2 * p67;
    double a2 = p89 + r2 * p1011;
    double q = a0 + r4 * (a1 + r4 * a2);
    double s = 1.0 + r;
    double s_err = (1.0 - s) + r; /* exact: s + s_err = 1 + r */
    return s + (s_err + r2 * q);
}

/* Why the special cases are handled as they are: given a select of a computed value,
 * `cond ? special : computed`, or a clamp to a constant ahead of the computation, gcc 12 turns
 * the select into a branch and moves the computation into one arm (or folds it for the
 * constant), then cannot if-convert that arm because a floating-point operation might trap:
 * the loop would vectorise only with AVX-512's masked instructions. So x is clamped to values
 * gcc cannot fold, and the special results fall out of the arithmetic: above VMATH_EXP_MAX_X
 * the final product overflows to +inf; below VMATH_EXP_MIN_X, x becomes VMATH_EXP_ZERO_X, for
 * which the power of two built below has a zero exponent field, so the result is +0. */
#define VMATH_SIGN_BIT UINT64_C(0x8000000000000000)
#define VMATH_ONE_BITS UINT64_C(0x3ff0000000000000)
#define VMATH_EXP_INF_X 710.0
#define VMATH_EXP_INF_X_BITS UINT64_C(0x4086300000000000)
#define VMATH_EXP_ZERO_X (-709.0)
#define VMATH_EXP_ZERO_X_MAGNITUDE_BITS UINT64_C(0x4086280000000000) /* the bits of +709 */

/* x with every value above VMATH_EXP_INF_X (+inf too) replaced by it and every value below
 * VMATH_EXP_MIN_X (-inf too) by VMATH_EXP_ZERO_X; NaN stays NaN, as both comparisons are false.
 * The replacements are built from x's sign bit, which the comparison fixes, only so that gcc
 * cannot see them as constants. Not for other callers. */
static inline double vmath_exp_clamp(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint64_t sign = bits & VMATH_SIGN_BIT;
    uint64_t above_bits = VMATH_EXP_INF_X_BITS | sign;
    uint64_t below_bits = VMATH_EXP_ZERO_X_MAGNITUDE_BITS | sign;
    double above, below;
    memcpy(&above, &above_bits, sizeof above);
    memcpy(&below, &below_bits, sizeof below);
    x = x > VMATH_EXP_INF_X ? above : x;
    return x < VMATH_EXP_MIN_X ? below : x;
}

/* y 2^k, for y = exp(r) in [0.70, 1.42] and k = round(x / ln 2) held in the low bits of
 * k_shifted = x / ln 2 + VMATH_ROUND_SHIFTER, x clamped by vmath_exp_clamp (or NaN).
 * The power of two is built in the exponent field, which holds 2^-1022 .. 2^1023. For x >= 0,
 * k reaches 1024 (x >= 709.44), so the result is (2y) 2^(k-1); for x < 0, k reaches -1022
 * (x <= -708.05), so it is y 2^k. On [VMATH_EXP_MIN_X, VMATH_EXP_MAX_X] both products are
 * exact, as the result is normal (at VMATH_EXP_MIN_X, k = -1022 and r > 0, so y >= 1). At
 * VMATH_EXP_ZERO_X, k = -1023 and the field is 0: the power of two is +0. Not for other
 * callers. */
static inline double vmath_exp_scale(double x, double y, double k_shifted)
{
    uint64_t k_bits, x_bits;
    memcpy(&k_bits, &k_shifted, sizeof k_bits);
    memcpy(&x_bits, &x, sizeof x_bits);
    uint64_t negative = x_bits >> 63;
    /* 2^(k-1) and 2 for x >= 0, 2^k and 1 for x < 0, by arithmetic rather than selects.
     * Only the low 12 bits of k_bits + bias survive the shift: k + bias, in 0 .. 2046. */
    uint64_t bias = 1022 + negative;
    uint64_t y_factor_bits = VMATH_ONE_BITS + ((negative ^ 1) << 52);
    uint64_t scale_bits = (k_bits + bias) << 52;
    double scale, y_factor;
    memcpy(&scale, &scale_bits, sizeof scale);
    memcpy(&y_factor, &y_factor_bits, sizeof y_factor);
    return (y * y_factor) * scale;
}

/* exp(x), vectorisable and bit-reproducible.
 *
 * Method: Cody and Waite, "Software Manual for the Elementary Functions" (1980), ch. 6; see
 * also Muller, "Elementary Functions", 3rd ed. (2016), ch. 11. x = k ln 2 + r with
 * k = round(x / ln 2), r = (x - k HI) - k LO, |r| <= ln2 / 2; exp(x) = 2^k exp(r), exp(r) from
 * a degree-13 Taylor polynomial, 2^k put straight into the exponent bits.
 *
 * Returns: exp(x) within relative error VMATH_EXP_REL_ERR (2.2e-16, 1 to 2 ulp) for x in
 * [VMATH_EXP_MIN_X, VMATH_EXP_MAX_X] = [-708.396, 709.783]; exactly 1 at x = +-0; +inf for
 * x > VMATH_EXP_MAX_X and x = +inf; +0 for x < VMATH_EXP_MIN_X and x = -inf, where the true
 * value is subnormal or 0 (absolute error below DBL_MIN = 2.2250738585072014e-308; libm would
 * return a subnormal there); NaN for NaN. The upper edge is exact: at VMATH_EXP_MAX_X,
 * r = -2.4e-14, so y < 1 and (2y) 2^1023 <= DBL_MAX; at the next double r = +9.0e-14, which
 * the error bound cannot undo, so y >= 1 and the product overflows, as exp(x) rounds to +inf.
 * Floating-point exception flags are not meaningful; errno is never set.
 *
 * Reproducibility: only IEEE 754 basic operations rounded to nearest, so every conforming
 * target gives the same bits whether the call is vectorised or not, as long as the compiler
 * neither contracts a * b + c into a fused multiply-add nor reassociates: compile with
 * -ffp-contract=off (gcc's default under -std=c11; for clang the pragma in
 * vmath_exp_reduced also says so) and never with -ffast-math (which would also delete the
 * rounding shifter and the Fast2Sum). Works only in round-to-nearest mode and with
 * FLT_EVAL_METHOD 0 (double evaluated as double: not 32-bit x87 code).
 *
 * Cost (x86-64, gcc 12 and clang 14 -O2, against glibc 2.36's exp, which uses FMA): about
 * twice libm's time per scalar call and 1.3 times per element in a loop vectorised for the
 * default target (SSE2, 2 lanes); 0.7 times with AVX2 and 0.4 times with AVX-512F. So it pays
 * in `#pragma omp simd` loops compiled for AVX2 or better (target clones), or where the same
 * bits on every machine matter; not as a drop-in for scalar calls.
 *
 * Error bound, with u = 2^-53 and a = 0.3466 >= |r| (fl(x LOG2E) is within 2.3e-13 of x / ln 2,
 * so |x / ln2 - k| <= 1/2 + 2.3e-13):
 *  1. Reduction. k HI is exact (42 + 11 bits) and so is x - k HI: when k != 0, |x| > 1/4,
 *     so x and k HI are multiples of 2^-54 and so is their difference, below 1/2: 53 bits;
 *     k LO and the split of ln 2 err by under 2e-26 together; rounding r costs half an ulp of
 *     r, at most 2^-55 = 0.25 u as |r| < 1/2. exp(r) / exp(r_exact) - 1 <= 0.25 u.
 *  2. Truncation. Lagrange: |sum_{n>=14} r^n / n!| <= e^a a^14 / 14! = 5.9e-18 = 0.053 u
 *     absolute. The coefficients 1 / (j+2)! rounded to double (1/2 exact) err by at most
 *     u (e^a - 1 - a - a^2/2) = 0.008 u.
 *  3. Evaluation (each operation rounds by a factor 1 + d, |d| <= u; bounds on magnitudes
 *     over |r| <= a): q <= 0.5632 and q's computed value errs by at most 1.76 u
 *     (p01: 0.058 u + 0.558 u; a0: + 0.016 u + 0.563 u; the r^4 tail: < 0.001 u; q:
 *     + 0.563 u); t = r2 q <= 0.0677 errs by 0.068 u (r2) + 0.1201 x 1.76 u + 0.068 u
 *     = 0.347 u; s_err + t rounds by 0.068 u (|s_err| <= u). Absolute error before the last
 *     addition: 0.347 + 0.068 + 0.053 + 0.008 = 0.476 u, relative to exp(r) >= 0.7071:
 *     0.673 u. The last addition s + (...) rounds by u; the scaling by 2^k is exact.
 *  Total: (1 + u)(1 + 0.673 u)(1 + 0.25 u) - 1 < 1.93 u = 2.14e-16 < VMATH_EXP_REL_ERR. */
static inline double vmath_exp(double x)
{
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
    x = vmath_exp_clamp(x);
    double k_shifted = x * VMATH_LOG2E + VMATH_ROUND_SHIFTER;
    double k = k_shifted - VMATH_ROUND_SHIFTER;
    double r_hi = x - k * VMATH_LN2_HI;
    double r = r_hi - k * VMATH_LN2_LO;
    return vmath_exp_scale(x, vmath_exp_reduced(r), k_shifted);
}

/* ---- log ---- */

/* Bound on |vmath_log(x) / log(x) - 1| for positive normal x != 1, log(x) the exact value:
 * 2.86 u with u = 2^-53, rounded up (derivation above vmath_log). 1 to 3 ulp. */
#define VMATH_LOG_REL_ERR 3.2e-16

/* The bits of fl(sqrt(1/2)) = 0x1.6a09e667f3bcdp-1, 4.8e-17 above sqrt(1/2): the bottom of the
 * reduced argument's range. */
#define VMATH_SQRT_HALF_BITS UINT64_C(0x3fe6a09e667f3bcd)
#define VMATH_HIGH12_BITS UINT64_C(0xfff0000000000000) /* where the exponent field lies */
#define VMATH_TWO52_BITS UINT64_C(0x4330000000000000)  /* the bits of 2^52 */
#define VMATH_QNAN_BITS UINT64_C(0x7ff8000000000000)

/* s (f^2 / 2 + R) for f in [fl(sqrt(1/2)) - 1, 2 fl(sqrt(1/2)) - 1) = [-0.2929, 0.4143), with
 * s = f / (2 + f), so |s| <= 3 - 2 sqrt(2) = 0.1716, and R = sum_{j=1}^{10} 2 s^(2j) / (2j + 1),
 * the Taylor series of 2 atanh(s) / s - 2 cut after ten terms, evaluated in z = s^2 by
 * Estrin's scheme (chain 7 deep rather than Horner's 20). log(1 + f) = f - f^2/2 + this: see
 * vmath_log. hfsq is fl(f^2 / 2), passed in as vmath_log needs it too. Not for other
 * callers. */
static inline double vmath_log_tail(double f, double hfsq)
{
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
    double s = f / (2.0 + f);
    double z = s * s;
    double z2 = z * z;
    double z4 = z2 * z2;
    double p01 = 2.0 / 3 + z * (2.0 / 5);
    double p23 = 2.0 / 7 + z * (2.0 / 9);
    double p45 = 2.0 / 11 + z * (2.0 / 13);
    double p67 = 2.0 / 15 + z * (2.0 / 17);
    double p89 = 2.0 / 19 + z * (2.0 / 21);
    double a0 = p01 + z2 * p23;
    double a1 = p45 + z2 * p67;
    double r = z * (a0 + z4 * (a1 + z4 * p89));
    return s * (hfsq + r);
}

/* NaN when x is not a positive normal number, else +0, from x's sign and exponent fields e
 * (bits >> 52, in 0 .. 4095): x is a positive normal number exactly when 1 <= e <= 2046, and
 * e - 1 wraps to a number with its top bit set exactly when e = 0, e + 1 reaches 2^11 exactly
 * when e >= 2047. Integer arithmetic only, not comparisons or selects: for the reason given
 * above vmath_exp_clamp, and because SSE2 has no 64-bit comparison (with one, the loop would
 * not vectorise there). Not for other callers. */
static inline double vmath_log_domain(uint64_t bits)
{
    uint64_t e = bits >> 52;
    uint64_t outside = ((e - 1) >> 63) | ((e + 1) >> 11); /* 0 inside, 1 to 3 outside */
    uint64_t nan_bits = (0 - outside) & VMATH_QNAN_BITS;  /* QNAN's low 51 bits are 0 */
    double nan_or_zero;
    memcpy(&nan_or_zero, &nan_bits, sizeof nan_or_zero);
    return nan_or_zero;
}

/* log(x), vectorisable and bit-reproducible.
 *
 * Method: Cody and Waite, "Software Manual for the Elementary Functions" (1980), ch. 5, and
 * Muller, "Elementary Functions", 3rd ed. (2016), ch. 11: x = 2^k m with m in
 * [fl(sqrt(1/2)), 2 fl(sqrt(1/2))), read off the bits (subtracting the bits of fl(sqrt(1/2))
 * carries into the exponent field exactly when m would leave that range), then with f = m - 1
 * and s = f / (2 + f), log m = log((1 + s) / (1 - s)) = 2 atanh(s) = 2 s + s R,
 * R = sum_{j>=1} 2 s^(2j) / (2j + 1). As s (2 + f) = f, 2 s = f - s f and
 * s f = f^2 / (2 + f) = f^2/2 - s f^2/2, so log m = f - (f^2/2 - s (f^2/2 + R)): f is exact
 * and the correction in brackets is at most 0.19 |f|, so most rounding errors are scaled down
 * by it. log x = k ln2 + log m, with k ln2 split as in vmath_exp (k HI exact).
 *
 * Returns: log(x) within relative error VMATH_LOG_REL_ERR (3.2e-16, 1 to 3 ulp) for
 * positive normal x (DBL_MIN <= x <= DBL_MAX); exactly +0 at x = 1. NaN for every other x:
 * +-0, subnormals, negatives, +-inf and NaN (libm gives -inf, a finite value, NaN, NaN, +inf
 * and NaN; callers here never pass them). NaN's sign and payload are unspecified.
 * Floating-point exception flags are not meaningful; errno is never set.
 *
 * Reproducibility: as for vmath_exp: IEEE 754 basic operations rounded to nearest (one
 * division), no contraction into fused multiply-adds, FLT_EVAL_METHOD 0; the integer steps
 * are exact. Same bits scalar or vectorised, on every such target, except NaN's payload.
 *
 * Error bound, with u = 2^-53, every operation rounding by a factor 1 + d, |d| <= u; over
 * f's range |s| <= 0.1716, z = s^2 <= 0.0295, hfsq <= 0.0858:
 *  1. Reduction. m, f and k are exact; k HI is exact (42 + 11 bits); k LO and the split of
 *     ln 2 err by under 3e-29 |k|, negligible against |log x| >= 0.34 |k| for k != 0.
 *  2. Truncation. The terms of R after j = 10 sum to at most 2 z^11 / (23 (1 - z)), so
 *     log m errs by at most z^11 / (23 (1 - z)) = 0.006 u relative (as |log m| >= 2 |s|).
 *  3. Evaluation. s errs by 2 u relative (the sum, the quotient), z by 5 u. Every term of
 *     R's polynomial is positive and meets at most 12 roundings (its coefficient, its
 *     multiplications and additions, z^2 and z^4) besides its power of z's error, so r
 *     (<= 0.0200) errs by at most 10.2 u relative, dominated by 2 z / 3 (5 roundings and z's
 *     5 u). Absolute errors at the worst point below: hfsq 0.086 u; t = s (hfsq + r)
 *     (<= 0.0182) 0.122 u; t + k LO 0.018 u; c = hfsq - (...) (<= 0.0677) 0.068 u; so c
 *     errs by 0.294 u. Rounding c - f (|c - f| = |log m| <= 0.3466) adds 0.347 u.
 *  Worst case: k = -1 and f at the top of its range (x just below fl(sqrt(1/2))), where
 *  |log x| = ln 2 - log m = 0.3466 is smallest for the size of the terms: (0.294 + 0.347 +
 *  0.002) u / 0.3466 = 1.853 u, plus u for the last subtraction: 2.853 u, second-order terms
 *  included below 2.86 u = 3.18e-16 < VMATH_LOG_REL_ERR. The sums above, made step by step
 *  for every f on a fine grid of its range and k in -2 .. 2, peak there; for k = 0 the bound
 *  falls to u as f -> 0 (the correction c shrinks with f^2), and larger |k| only make
 *  |log x| larger. */
static inline double vmath_log(double x)
{
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    /* For positive normal x = 2^k m: offset = (k + 1023) 2^52 + (bits of m) - bits(1). */
    uint64_t offset = bits - VMATH_SQRT_HALF_BITS + VMATH_ONE_BITS;
    uint64_t m_bits = bits - (offset & VMATH_HIGH12_BITS) + VMATH_ONE_BITS;
    uint64_t k_bits = VMATH_TWO52_BITS + (offset >> 52); /* the double 2^52 + k + 1023 */
    double m, k_shifted;
    memcpy(&m, &m_bits, sizeof m);
    memcpy(&k_shifted, &k_bits, sizeof k_shifted);
    double k = k_shifted - (0x1p52 + 1023.0);
    double f = m - 1.0; /* exact (Sterbenz), as m is in [1/2, 2] */
    double hfsq = 0.5 * f * f;
    double tail = vmath_log_tail(f, hfsq);
    double y = k * VMATH_LN2_HI - ((hfsq - (tail + k * VMATH_LN2_LO)) - f);
    return y + vmath_log_domain(bits);
}

/* floor(x) for |x| < 2^51, without a call (gcc vectorises neither floor, which needs SSE4.1's
 * rounding, nor a cast to a 64-bit integer, for every vector width): x plus and minus
 * VMATH_ROUND_SHIFTER is x rounded to a whole number (the sum lies in [2^52, 2^53), where a
 * double's last place is 1), less 1 where that is above x (the comparison's 0 or 1, not a
 * select, which gcc may turn into a branch that keeps a loop scalar). */
static inline double vmath_floor(double x)
{
    double r = (x + VMATH_ROUND_SHIFTER) - VMATH_ROUND_SHIFTER;
    return r - (double)(r > x);
}

/* log z! - ((z + 1/2) log z - z + log(2 pi) / 2), the tail of Stirling's series for log z!,
 * by the series' first four terms, 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) - 1/(1680 z^7), whose
 * error is below the first omitted term, 1/(1188 z^9) (Abramowitz and Stegun 6.1.41; the
 * series alternates): under 7.1e-15 from z = 17 on, 3.2e-16 from z = 24. */
static inline double vmath_stirling_tail(double z)
{
    double iz = 1.0 / z, iz2 = iz * iz;
    return iz * (1.0 / 12.0 - iz2 * (1.0 / 360.0 - iz2 * (1.0 / 1260.0 - iz2 * (1.0 / 1680.0))));
}

#endif
