/* Tests of engine/vmath.h: vmath_exp and vmath_log against more precise versions (expl, logl)
 * and against libm's over dense deterministic point sets, their exact values and special cases,
 * and bit-identical results from vectorised loops (SSE2, AVX2, AVX2 with FMA available,
 * AVX-512) and scalar calls; vmath_floor against floor and vmath_stirling_tail against values
 * computed with mpmath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../engine/vmath.h"

/* Points per dense set: 10^6 on each of the two grids and 10^6 hashed points. */
#define GRID_POINTS 1000000u
#define HASH_POINTS 1000000u

/* Error of the long double reference expl: glibc's x86-64 expl is accurate to about one ulp of
 * its 64-bit significand, 2^-63 = 1.1e-19 relative; 1e-18 allows several of those. */
#define EXPL_REL_ERR 1e-18

/* Error of libm's exp: glibc documents at most 1 ulp for exp (libm-test-ulps; the current
 * implementation is within 0.51 ulp), and one ulp is at most 2^-52 of the value. */
#define LIBM_REL_ERR 0x1p-52

/* Bits of 2^-53, the unit roundoff, for printing errors in units of u. */
#define UNIT_ROUNDOFF 0x1p-53

typedef double (*exp_fn)(double);

/* vmath_exp behind a function pointer read from a volatile: the loop calling it cannot be
 * vectorised or have vmath_exp inlined into it, so this is the scalar code path. */
static double scalar_vmath_exp(double x)
{
    return vmath_exp(x);
}
static exp_fn volatile scalar_exp = scalar_vmath_exp;

/* SplitMix64's output function (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): a fixed bijective hash of i, for deterministic scattered points. */
static uint64_t hash64(uint64_t i)
{
    uint64_t z = i * UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Point i of the three dense sets: set 0, a uniform grid over [VMATH_EXP_MIN_X,
 * VMATH_EXP_MAX_X]; set 1, a grid over [-50, 0], where the simulator's exp(-mu) lives; set 2,
 * hashed points spread over [VMATH_EXP_MIN_X, VMATH_EXP_MAX_X] with hashed low bits. */
static double dense_point(int set, uint64_t i)
{
    if (set == 0)
        return VMATH_EXP_MIN_X + (VMATH_EXP_MAX_X - VMATH_EXP_MIN_X) * ((double)i / GRID_POINTS);
    if (set == 1)
        return -50.0 + 50.0 * ((double)i / GRID_POINTS);
    double unit = (double)(hash64(i) >> 11) * 0x1p-53; /* in [0, 1) */
    return VMATH_EXP_MIN_X + (VMATH_EXP_MAX_X - VMATH_EXP_MIN_X) * unit;
}

static uint64_t dense_count(int set)
{
    return set == 2 ? HASH_POINTS : GRID_POINTS + 1;
}

/* The largest |vmath_exp(x) / reference(x) - 1| over the three dense sets. */
static double max_rel_err_dense(long double (*reference)(double))
{
    double worst = 0.0;
    for (int set = 0; set < 3; set++)
        for (uint64_t i = 0; i < dense_count(set); i++) {
            double x = dense_point(set, i);
            long double ref = reference(x);
            double err = (double)fabsl(((long double)vmath_exp(x) - ref) / ref);
            if (!(err <= worst)) /* also catches a NaN error */
                worst = err;
        }
    return worst;
}

static long double reference_expl(double x)
{
    return expl((long double)x);
}

static long double reference_libm(double x)
{
    return (long double)exp(x);
}

static void test_dense_against_expl(void **state)
{
    (void)state;
    if (LDBL_MANT_DIG < 64)
        skip(); /* long double is no more precise than double on this target */
    double worst = max_rel_err_dense(reference_expl);
    print_message("max relative error against expl: %.3g (%.3f u)\n", worst,
                  worst / UNIT_ROUNDOFF);
    /* VMATH_EXP_REL_ERR is derived in vmath.h (1.93 u, rounded up to 2.2e-16); the reference
     * adds at most EXPL_REL_ERR. */
    assert_true(worst <= VMATH_EXP_REL_ERR + EXPL_REL_ERR);
}

static void test_dense_against_libm(void **state)
{
    (void)state;
    double worst = max_rel_err_dense(reference_libm);
    print_message("max relative error against libm exp: %.3g (%.3f u)\n", worst,
                  worst / UNIT_ROUNDOFF);
    /* Both err from the exact value: vmath_exp by at most VMATH_EXP_REL_ERR (vmath.h), libm by
     * at most LIBM_REL_ERR; their difference, relative to libm's value, by at most the sum
     * (plus second-order terms of 1e-31). */
    assert_true(worst <= VMATH_EXP_REL_ERR + LIBM_REL_ERR);
}

/* exp(+-0) = 1: r = 0, k = 0, y = 1 + 0 and the scale 2^-1 times 2 (or 2^0 times 1), all
 * exact. */
static void test_exact_values(void **state)
{
    (void)state;
    assert_true(vmath_exp(0.0) == 1.0);
    assert_true(vmath_exp(-0.0) == 1.0);
    /* Tiny |x|: k = 0, r = x, s = fl(1 + x) = 1 and the tail s_err + r^2 q, about x, is below
     * a quarter ulp of 1, so the last addition returns 1 exactly (as exp(x) rounds to 1). */
    assert_true(vmath_exp(0x1p-60) == 1.0);
    assert_true(vmath_exp(-0x1p-60) == 1.0);
    assert_true(vmath_exp(DBL_MIN) == 1.0);
}

/* Relative error against expl at one point, for the boundary cases below. */
static void assert_accurate_at(double x)
{
    long double ref = expl((long double)x);
    double err = (double)fabsl(((long double)vmath_exp(x) - ref) / ref);
    if (!(err <= VMATH_EXP_REL_ERR + EXPL_REL_ERR))
        print_error("vmath_exp(%a): relative error %.3g\n", x, err);
    assert_true(err <= VMATH_EXP_REL_ERR + EXPL_REL_ERR);
}

static void test_upper_edge(void **state)
{
    (void)state;
    /* exp(VMATH_EXP_MAX_X) = DBL_MAX (1 - 2.4e-14): finite, and accurate. */
    double top = vmath_exp(VMATH_EXP_MAX_X);
    assert_true(isfinite(top));
    assert_true(top > DBL_MAX * (1.0 - 1e-13));
    if (LDBL_MANT_DIG >= 64)
        assert_accurate_at(VMATH_EXP_MAX_X);
    /* The next double up has exp(x) = 2^1024 (1 + 9.0e-14), which rounds to +inf. */
    assert_true(isinf(vmath_exp(nextafter(VMATH_EXP_MAX_X, INFINITY))));
    assert_true(isinf(exp(nextafter(VMATH_EXP_MAX_X, INFINITY))));
    /* Above the clamp point 710 and far above it. */
    const double above[] = {709.9, 710.0, 710.5, 1000.0, 1e300, DBL_MAX, INFINITY};
    for (size_t i = 0; i < sizeof above / sizeof above[0]; i++) {
        double e = vmath_exp(above[i]);
        assert_true(isinf(e) && e > 0);
    }
    /* k = 1024 starts at x / ln 2 = 1023.5, x = 709.436: the (2y) 2^1023 path. */
    if (LDBL_MANT_DIG >= 64) {
        assert_accurate_at(709.43);
        assert_accurate_at(709.44);
        assert_accurate_at(709.5);
    }
}

static void test_lower_edge(void **state)
{
    (void)state;
    /* exp(VMATH_EXP_MIN_X) = DBL_MIN (1 + 2.7e-14): normal, and accurate. */
    double bottom = vmath_exp(VMATH_EXP_MIN_X);
    assert_true(bottom >= DBL_MIN);
    if (LDBL_MANT_DIG >= 64) {
        assert_accurate_at(VMATH_EXP_MIN_X);
        /* k = -1022 starts at x / ln 2 = -1021.5, x = -708.048. */
        assert_accurate_at(-708.04);
        assert_accurate_at(-708.05);
        assert_accurate_at(-708.2);
    }
    /* Below: +0 where exp(x) < DBL_MIN, so the absolute error is below DBL_MIN. */
    const double below[] = {nextafter(VMATH_EXP_MIN_X, -INFINITY), -708.5, -709.0, -709.5,
                            -745.2, -1000.0, -1e300, -DBL_MAX, -INFINITY};
    for (size_t i = 0; i < sizeof below / sizeof below[0]; i++) {
        double e = vmath_exp(below[i]);
        assert_true(e == 0.0 && !signbit(e));
        assert_true(exp(below[i]) < DBL_MIN);
    }
}

static void test_nan(void **state)
{
    (void)state;
    assert_true(isnan(vmath_exp(NAN)));
    assert_true(isnan(vmath_exp(-NAN)));
}

/* Inputs for the vectorised-against-scalar comparison: a grid over [-800, 800] with a step
 * that is not a multiple of ln 2 / 2, the hashed points, and the special values; so every
 * lane position meets every branch of the clamp. */
#define VEC_POINTS 200000u
static double vec_in[VEC_POINTS], vec_out[VEC_POINTS], vec_ref[VEC_POINTS];

/* ---- vectorised loops against scalar calls ---- */

/* A function of vmath over an array, in a loop the compiler vectorises, compiled once per
 * target: the default (SSE2), AVX2, AVX2 with FMA available (the compiler may then fuse
 * a * b + c; vmath must not let it) and AVX-512. */
typedef void (*array_loop)(const double *x, double *y, size_t n);
typedef struct target_loops {
    array_loop plain, avx2, fma, avx512;
} target_loops;

#define ARRAY_LOOP(name, attributes, fn)                                                      \
    attributes static void name(const double *x, double *y, size_t n)                         \
    {                                                                                          \
        _Pragma("omp simd") for (size_t i = 0; i < n; i++) y[i] = fn(x[i]);                    \
    }

#if defined(__x86_64__) && defined(__GNUC__)
#define EACH_TARGET_LOOP(table, fn)                                                            \
    ARRAY_LOOP(table##_plain, , fn)                                                            \
    ARRAY_LOOP(table##_avx2, __attribute__((target("avx2"))), fn)                             \
    ARRAY_LOOP(table##_fma, __attribute__((target("avx2,fma"))), fn)                          \
    ARRAY_LOOP(table##_avx512, __attribute__((target("avx512f"))), fn)                        \
    static const target_loops table = {table##_plain, table##_avx2, table##_fma,               \
                                       table##_avx512};
#else
#define EACH_TARGET_LOOP(table, fn)                                                            \
    ARRAY_LOOP(table##_plain, , fn)                                                            \
    static const target_loops table = {table##_plain, NULL, NULL, NULL};
#endif

typedef void (*same_fn)(const double *got, const double *want, size_t n, const char *what);

/* Each loop the processor can run, over in[0 .. VEC_POINTS-1], against the scalar results
 * ref; the default target also at an odd offset and length, which puts the points in other
 * lanes and through the loop's epilogue. */
static void check_every_target(const target_loops *t, const double *in, double *out,
                               const double *ref, same_fn same)
{
    t->plain(in, out, VEC_POINTS);
    same(out, ref, VEC_POINTS, "default target");
    t->plain(in + 3, out + 3, VEC_POINTS - 8);
    same(out + 3, ref + 3, VEC_POINTS - 8, "default target, offset 3");
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        t->avx2(in, out, VEC_POINTS);
        same(out, ref, VEC_POINTS, "avx2");
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        t->fma(in, out, VEC_POINTS);
        same(out, ref, VEC_POINTS, "avx2 and fma");
    }
    if (__builtin_cpu_supports("avx512f")) {
        t->avx512(in, out, VEC_POINTS);
        same(out, ref, VEC_POINTS, "avx512f");
    }
#endif
}


static void fill_vector_inputs(void)
{
    const double special[] = {0.0, -0.0, NAN, INFINITY, -INFINITY, VMATH_EXP_MAX_X,
                              VMATH_EXP_MIN_X, 710.0, -709.0, DBL_MAX, -DBL_MAX, DBL_MIN};
    size_t nspecial = sizeof special / sizeof special[0];
    for (size_t i = 0; i < VEC_POINTS; i++) {
        if (i % 97 < nspecial)
            vec_in[i] = special[i % 97];
        else if (i % 2 == 0)
            vec_in[i] = -800.0 + 1600.0 * ((double)i / VEC_POINTS);
        else
            vec_in[i] = dense_point(2, i);
    }
    for (size_t i = 0; i < VEC_POINTS; i++)
        vec_ref[i] = scalar_exp(vec_in[i]);
}

/* Bitwise comparison, so that NaN matches NaN and -0 does not match +0. */
static void assert_same_bits(const double *got, const double *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof got[i]) != 0) {
            print_error("%s: vmath_exp(%a) = %a, scalar %a\n", what, vec_in[i], got[i], want[i]);
            fail();
        }
}

EACH_TARGET_LOOP(exp_loops, vmath_exp)

static void test_vectorised_matches_scalar(void **state)
{
    (void)state;
    fill_vector_inputs();
    check_every_target(&exp_loops, vec_in, vec_out, vec_ref, assert_same_bits);
}

/* ---- vmath_log ---- */

/* Error of the reference logl: glibc's x86-64 logl is accurate to about one ulp of its 64-bit
 * significand, as expl; the same allowance. */
#define LOGL_REL_ERR 1e-18

/* Error of libm's log: glibc documents at most 1 ulp (its log is within 0.52 ulp), at most
 * 2^-52 of the value. */
#define LIBM_LOG_REL_ERR 0x1p-52

static double scalar_vmath_log(double x)
{
    return vmath_log(x);
}
static exp_fn volatile scalar_log = scalar_vmath_log;

/* Point i of the dense sets for log: set 0, a grid over [1/4, 4] (k = -2 .. 2, where
 * |log x| is smallest for its k and the bound is tightest); set 1, a grid over [0.99, 1.01],
 * where log x -> 0; set 2, hashed significands times hashed powers of two over the whole
 * normal range; set 3, the edges of the reduced range, fl(sqrt(1/2)) 2^k and the doubles
 * next to it, and the powers of two, for k = -1022 .. 1023. */
static double log_point(int set, uint64_t i)
{
    if (set == 0)
        return 0.25 + 3.75 * ((double)i / GRID_POINTS);
    if (set == 1)
        return 0.99 + 0.02 * ((double)i / GRID_POINTS);
    if (set == 2) {
        uint64_t h = hash64(i);
        double m = 1.0 + (double)(h >> 12) * 0x1p-52; /* [1, 2) */
        return ldexp(m, (int)(h % 2046) - 1022);      /* 2^-1022 .. 2^1023 */
    }
    int k = (int)(i / 4) - 1022;
    const double edge[4] = {nextafter(0x1.6a09e667f3bcdp-1, 0.0), 0x1.6a09e667f3bcdp-1,
                            nextafter(0x1.6a09e667f3bcdp-1, 1.0), 1.0};
    double x = ldexp(edge[i % 4], k);
    return x < DBL_MIN ? DBL_MIN : x;
}

static uint64_t log_count(int set)
{
    return set == 3 ? 4 * 2046 : set == 2 ? HASH_POINTS : GRID_POINTS + 1;
}

/* The largest |vmath_log(x) / reference(x) - 1| over the dense sets, x = 1 left out (both
 * are 0 there: test_log_exact_values). */
static double log_max_rel_err_dense(long double (*reference)(double))
{
    double worst = 0.0;
    for (int set = 0; set < 4; set++)
        for (uint64_t i = 0; i < log_count(set); i++) {
            double x = log_point(set, i);
            if (x == 1.0)
                continue;
            long double ref = reference(x);
            double err = (double)fabsl(((long double)vmath_log(x) - ref) / ref);
            if (!(err <= worst))
                worst = err;
        }
    return worst;
}

static long double reference_logl(double x)
{
    return logl((long double)x);
}

static long double reference_libm_log(double x)
{
    return (long double)log(x);
}

static void test_log_dense_against_logl(void **state)
{
    (void)state;
    if (LDBL_MANT_DIG < 64)
        skip();
    double worst = log_max_rel_err_dense(reference_logl);
    print_message("vmath_log: max relative error against logl: %.3g (%.3f u)\n", worst,
                  worst / UNIT_ROUNDOFF);
    /* VMATH_LOG_REL_ERR is derived in vmath.h (2.86 u, rounded up to 3.2e-16); the reference
     * adds at most LOGL_REL_ERR. */
    assert_true(worst <= VMATH_LOG_REL_ERR + LOGL_REL_ERR);
}

static void test_log_dense_against_libm(void **state)
{
    (void)state;
    double worst = log_max_rel_err_dense(reference_libm_log);
    print_message("vmath_log: max relative error against libm log: %.3g (%.3f u)\n", worst,
                  worst / UNIT_ROUNDOFF);
    /* Each errs from the exact value by at most its bound; the difference, relative to libm's
     * value, by at most the sum (plus second-order terms of 1e-31). */
    assert_true(worst <= VMATH_LOG_REL_ERR + LIBM_LOG_REL_ERR);
}

/* log 1 = +0: m = 1, f = 0, k = 0, and every term is an exact 0. At a power of two 2^k, f = 0
 * too and the result is k HI + fl(k LO) rounded once, within 3e-29 |k| of k ln 2 before that
 * rounding: the same double as libm's correctly rounded log for every k. */
static void test_log_exact_values(void **state)
{
    (void)state;
    double one = vmath_log(1.0);
    assert_true(one == 0.0 && !signbit(one));
    for (int k = -1022; k <= 1023; k++)
        assert_true(vmath_log(ldexp(1.0, k)) == log(ldexp(1.0, k)));
}

/* The ends of the normal range, and NaN for everything outside it (vmath.h). */
static void test_log_special(void **state)
{
    (void)state;
    if (LDBL_MANT_DIG >= 64) {
        const double edge[] = {DBL_MIN, DBL_MAX, nextafter(DBL_MIN, 1.0),
                               nextafter(DBL_MAX, 0.0)};
        for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
            long double ref = logl((long double)edge[i]);
            double err = (double)fabsl(((long double)vmath_log(edge[i]) - ref) / ref);
            assert_true(err <= VMATH_LOG_REL_ERR + LOGL_REL_ERR);
        }
    }
    const double outside[] = {0.0,       -0.0,      0x1p-1074,  nextafter(DBL_MIN, 0.0),
                              -DBL_MIN,  -1.0,      -DBL_MAX,   INFINITY,
                              -INFINITY, NAN,       -NAN};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        assert_true(isnan(vmath_log(outside[i])));
}

static double log_vec_in[VEC_POINTS], log_vec_out[VEC_POINTS], log_vec_ref[VEC_POINTS];

/* Inputs for vectorised against scalar: the four dense sets interleaved, and every class of
 * special value in every lane position. */
static void fill_log_inputs(void)
{
    const double special[] = {1.0,       0.0,      -0.0,     0x1p-1074, -1.0, INFINITY,
                              -INFINITY, NAN,      DBL_MIN,  DBL_MAX,   0.5,  2.0};
    size_t nspecial = sizeof special / sizeof special[0];
    for (size_t i = 0; i < VEC_POINTS; i++) {
        if (i % 97 < nspecial)
            log_vec_in[i] = special[i % 97];
        else
            log_vec_in[i] = log_point((int)(i % 4), (i * 7) % log_count((int)(i % 4)));
    }
    for (size_t i = 0; i < VEC_POINTS; i++)
        log_vec_ref[i] = scalar_log(log_vec_in[i]);
}

/* Bitwise, except that any NaN matches any NaN (vmath_log leaves NaN's payload open). */
static void assert_same_log(const double *got, const double *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) && isnan(want[i]))
            continue;
        if (memcmp(&got[i], &want[i], sizeof got[i]) != 0) {
            print_error("%s: vmath_log(%a) = %a, scalar %a\n", what, log_vec_in[i], got[i],
                        want[i]);
            fail();
        }
    }
}

EACH_TARGET_LOOP(log_loops, vmath_log)

static void test_log_vectorised_matches_scalar(void **state)
{
    (void)state;
    fill_log_inputs();
    check_every_target(&log_loops, log_vec_in, log_vec_out, log_vec_ref, assert_same_log);
}

/* vmath_floor against floor: whole numbers (including -0 and the ends of the range), halves,
 * values just off whole numbers either side, and a deterministic spread over +-2^50; floor is
 * exact, so the two must be equal (-0 and +0 compare equal, as callers use them). */
static void test_floor(void **state)
{
    (void)state;
    const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, -0.3, 0.3, 2.5, -2.5, 1e-300,
                            -1e-300, 0x1p51 - 1.0, -(0x1p51 - 1.0), 0x1p51 - 0.5,
                            -(0x1p51 - 0.5), 4503599627370495.0 / 4.0, 123456789.999999};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        assert_true(vmath_floor(fixed[i]) == floor(fixed[i]));
    uint64_t h = 0x9e3779b97f4a7c15u;
    for (unsigned i = 0; i < HASH_POINTS; i++) {
        h ^= h >> 12;
        h ^= h << 25;
        h ^= h >> 27;
        double u = (double)((h * 0x2545f4914f6cdd1du) >> 11) * 0x1p-53;   /* [0, 1) */
        double x = (2.0 * u - 1.0) * ldexp(1.0, (int)(i % 51));        /* +-2^0 .. +-2^50 */
        assert_true(vmath_floor(x) == floor(x));
    }
}

/* vmath_stirling_tail against log z! - ((z + 1/2) log z - z + log(2 pi) / 2) computed with
 * mpmath at 40 digits (printed to 20). Tolerance: the series' truncation, below its first
 * omitted term 1/(1188 z^9) (the series alternates), plus its rounding, 8 units of 2^-53 of the
 * value (a handful of operations, each within half a unit, on terms of one sign and size).
 * Without the 1/(1680 z^7) term the error at z = 100 would be 6e-18, against a tolerance of
 * 7.4e-19. */
static void test_stirling_tail(void **state)
{
    (void)state;
    const struct {
        double z, value;
    } cases[] = {
        {17.0, 0.0049013959484347378607},   {24.0, 0.0034720213829787669629},
        {100.0, 0.00083333055563491468338}, {1000.0, 0.000083333330555556349206},
        {65536.0, 1.2715657551984646842e-6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double z = cases[i].z, got = vmath_stirling_tail(z);
        double tolerance = 1.0 / (1188.0 * pow(z, 9.0)) + 8.0 * UNIT_ROUNDOFF * cases[i].value;
        if (!(fabs(got - cases[i].value) <= tolerance))
            fprintf(stderr, "z = %g: %.17g against %.17g\n", z, got, cases[i].value);
        assert_true(fabs(got - cases[i].value) <= tolerance);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_values),
        cmocka_unit_test(test_upper_edge),
        cmocka_unit_test(test_lower_edge),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_vectorised_matches_scalar),
        cmocka_unit_test(test_dense_against_expl),
        cmocka_unit_test(test_dense_against_libm),
        cmocka_unit_test(test_log_exact_values),
        cmocka_unit_test(test_log_special),
        cmocka_unit_test(test_log_vectorised_matches_scalar),
        cmocka_unit_test(test_log_dense_against_logl),
        cmocka_unit_test(test_log_dense_against_libm),
        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_stirling_tail),
    };
    return cmocka_run_group_tests_name("vmath", tests, NULL, NULL);
}
