/* Tests of engine/whatif.c: value lists and ranges of each kind, and the solve's bisection on
 * functions whose answers are known in closed form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "../engine/date.h"
#include "../engine/whatif.h"

static void test_values(void **state)
{
    (void)state;
    double v[WHATIF_MAX_VALUES];
    char err[256];
    assert_int_equal(whatif_values("1,1.5,4", WHATIF_NUMBER, v, err, sizeof err), 3);
    assert_true(v[1] == 1.5);
    /* 1 to 2 in steps of 0.05: 21 values, the last 2 within rounding. */
    assert_int_equal(whatif_values("1:2:0.05", WHATIF_NUMBER, v, err, sizeof err), 21);
    assert_true(fabs(v[20] - 2.0) < 1e-12);
    assert_int_equal(whatif_values("0:12:3", WHATIF_WHOLE, v, err, sizeof err), 5);
    assert_int_equal(whatif_values("2029-07-18:2030-07-18:365", WHATIF_DATE, v, err, sizeof err),
                     2);
    assert_true(v[1] == (double)date_from_ymd(2030, 7, 18));
    assert_int_equal(whatif_values("1.5", WHATIF_WHOLE, v, err, sizeof err), 0);
    assert_int_equal(whatif_values("3:1:1", WHATIF_NUMBER, v, err, sizeof err), 0);
    assert_int_equal(whatif_values("1:2", WHATIF_NUMBER, v, err, sizeof err), 0);
    assert_int_equal(whatif_values("0:1e6:1", WHATIF_NUMBER, v, err, sizeof err), 0);
    assert_non_null(strstr(err, "1000"));
    assert_int_equal(whatif_values("a,b", WHATIF_NUMBER, v, err, sizeof err), 0);
    char buf[32];
    whatif_format(WHATIF_DATE, (double)date_from_ymd(2029, 7, 18), buf, sizeof buf);
    assert_string_equal(buf, "2029-07-18");
}

/* P(x) = 1 - exp(-x / 2), with a fixed SE: the goal 0.8 is reached at x = 2 ln 5 = 3.2189. */
typedef struct smooth {
    double se;
    int calls;
} smooth;

static int smooth_eval(void *ctx, double x, unsigned long long trials, double *p, double *se)
{
    smooth *s = ctx;
    (void)trials;
    s->calls++;
    *p = 1.0 - exp(-x / 2.0);
    *se = s->se;
    return 0;
}

static void test_solve_number(void **state)
{
    (void)state;
    smooth s = {.se = 0.002};
    whatif_answer a;
    assert_int_equal(whatif_solve(smooth_eval, &s, WHATIF_NUMBER, 0.0, 10.0, 10.0, 0.8, 1e-4, &a),
                     0);
    assert_int_equal(a.status, WHATIF_FOUND);
    /* The search stops once P is within a tenth of the SE above the goal (0.0002) or the
     * bracket is 1e-4 wide; P' = 0.1 near the root, so the answer lies at most
     * 0.0002 / 0.1 = 0.002 above it, never below. */
    double root = 2.0 * log(5.0);
    assert_true(a.value >= root && a.value <= root + 0.002 + 1e-4);
    /* The interval: P = 0.8 -/+ 1.96 x 0.002, so x = -2 ln(0.2 +/- 0.00392) = 3.1801 and
     * 3.2585; by the slope over the final bracket (P' = 0.1 at the root, P'' = -0.05: a
     * linear extrapolation over 0.04 is off by at most 0.05 x 0.04^2 / 2 / 0.1 = 4e-4). */
    assert_true(fabs(a.low - -2.0 * log(0.2 + 0.00392)) <= 5e-4);
    assert_true(fabs(a.high - -2.0 * log(0.2 - 0.00392)) <= 5e-4);
    assert_true(s.calls < 100);
    assert_int_equal(whatif_solve(smooth_eval, &s, WHATIF_NUMBER, 5.0, 10.0, 10.0, 0.8, 1e-4, &a),
                     0);
    assert_int_equal(a.status, WHATIF_ALREADY);
    assert_int_equal(whatif_solve(smooth_eval, &s, WHATIF_NUMBER, 0.0, 2.0, 2.0, 0.8, 1e-4, &a),
                     0);
    assert_int_equal(a.status, WHATIF_OUT_OF_REACH);
    /* The same range allowed to grow to 100 finds the root (beyond 2): [0, 2] -> [2, 4]. */
    assert_int_equal(whatif_solve(smooth_eval, &s, WHATIF_NUMBER, 0.0, 2.0, 100.0, 0.8, 1e-4, &a),
                     0);
    assert_int_equal(a.status, WHATIF_FOUND);
    assert_true(a.range_lo == 2.0 && a.range_hi == 4.0);
    assert_true(a.value >= root && a.value <= root + 0.002 + 1e-4);
    /* With no Monte Carlo error the interval is the answer itself. */
    s.se = 0.0;
    assert_int_equal(whatif_solve(smooth_eval, &s, WHATIF_NUMBER, 0.0, 10.0, 10.0, 0.8, 1e-4, &a),
                     0);
    assert_true(a.low == a.value && a.high == a.value);
}

static void test_solve_whole(void **state)
{
    (void)state;
    /* Whole values: the smallest k in 0..40 with 1 - exp(-k/2) >= 0.8 is ceil(3.2189) = 4. */
    smooth s = {.se = 0.0};
    whatif_answer a;
    assert_int_equal(whatif_solve(smooth_eval, &s, WHATIF_WHOLE, 0.0, 40.0, 40.0, 0.8, 0.5, &a), 0);
    assert_int_equal(a.status, WHATIF_FOUND);
    assert_true(a.value == 4.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_solve_number),
        cmocka_unit_test(test_solve_whole),
    };
    return cmocka_run_group_tests_name("whatif", tests, NULL, NULL);
}
