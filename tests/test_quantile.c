/* Tests for engine/quantile.c: beta and gamma quantiles that agree with GSL where GSL works and
 * finish, exactly, where it does not (beta(1e6;1e6) made gsl_cdf_beta_Pinv loop for hours,
 * gamma shape 0.01 made gsl_cdf_gamma_Pinv return NaN). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include "../engine/quantile.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void assert_close(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("got %.17g, expected %.17g (relative tolerance %g)", got, want, rel);
}

/* The values tests/test_scenario.c checks in the report (beta(2;3) 0.0976 to 0.751, gamma of
 * shape 2 and mean 1 0.178 to 2.37), here to GSL's digits. */
static void test_known_values(void **state)
{
    (void)state;
    assert_close(quantile_beta(0.05, 2, 3), 0.0976114628864144, 1e-12);
    assert_close(quantile_beta(0.95, 2, 3), 0.751395374269818, 1e-12);
    assert_close(quantile_gamma(0.05, 2, 0.5), 0.177680755349331, 1e-12);
    assert_close(quantile_gamma(0.95, 2, 0.5), 2.37193225919529, 1e-12);
    /* Closed forms: Beta(1, 1) is uniform; Gamma(1, 1) exponential. */
    assert_close(quantile_beta(0.3, 1, 1), 0.3, 1e-12);
    assert_close(quantile_gamma(0.3, 1, 1), -log(0.7), 1e-12);
    assert_true(quantile_beta(0.0, 2, 3) == 0.0);
    assert_true(quantile_beta(1.0, 2, 3) == 1.0);
    assert_true(isnan(quantile_beta(0.5, 0.0, 3)));
    assert_true(isnan(quantile_gamma(1.5, 2, 1)));
}

/* Over the shapes the scenario format allows, F(quantile(p)) = p; and the quantile agrees with
 * GSL's wherever GSL's is a number (its beta inverse is not called at a = b near 1e6, where it
 * would not return). */
static void test_inverts_the_distribution_function(void **state)
{
    (void)state;
    gsl_set_error_handler_off();
    static const double ps[] = {0.05, 0.5, 0.95};
    double worst = 0.0, slowest = 0.0;
    for (double la = -2.0; la <= 6.0001; la += 0.5)
        for (double lb = -2.0; lb <= 6.0001; lb += 0.5)
            for (int i = 0; i < 3; i++) {
                double a = pow(10, la), b = pow(10, lb), p = ps[i];
                double t = now();
                double x = quantile_beta(p, a, b);
                slowest = fmax(slowest, now() - t);
                assert_true(x >= 0.0 && x <= 1.0);
                double F = gsl_cdf_beta_P(x, a, b);
                /* Near 1 the doubles are too sparse for F to hit p (1 - x ~ 1e-15 for
                 * beta(1e5; 0.03)): there x is only the double nearest the quantile. */
                if (isfinite(F) && x > 1e-300 && x < 1.0 - 1e-6)
                    assert_close(F, p, 1e-8);
                if (a < 5e5 || b < 5e5) {
                    double g = gsl_cdf_beta_Pinv(p, a, b);
                    if (isfinite(g) && g > 1e-300 && g < 1.0 - 1e-12)
                        worst = fmax(worst, fabs(x - g) / g);
                }
            }
    for (double la = -2.0; la <= 6.0001; la += 0.1)
        for (int i = 0; i < 3; i++) {
            double k = pow(10, la), p = ps[i];
            double t = now();
            double x = quantile_gamma(p, k, 1.0);
            slowest = fmax(slowest, now() - t);
            assert_true(x > 0.0 && isfinite(x));
            assert_close(gsl_cdf_gamma_P(x, k, 1.0), p, 1e-9);
            double g = gsl_cdf_gamma_Pinv(p, k, 1.0);
            if (isfinite(g) && g > 0.0)
                worst = fmax(worst, fabs(x - g) / g);
        }
    printf("  largest difference from GSL: %.2g relative; slowest call %.2g s\n", worst, slowest);
    assert_true(worst < 1e-8);
    assert_true(slowest < 0.1);
}

/* The cases of issue 15: these finish at once and are right. */
static void test_extreme_shapes(void **state)
{
    (void)state;
    double t = now();
    /* Beta(a, a) for a in the hundreds of thousands is normal to many digits: mean 1/2,
     * variance 1 / (4 (2a + 1)). */
    static const double as[] = {1e6, 950000, 3e5};
    for (int i = 0; i < 3; i++) {
        double a = as[i], sd = sqrt(0.25 / (2 * a + 1));
        assert_close(quantile_beta(0.05, a, a), 0.5 - 1.6448536269514722 * sd, 1e-9);
        assert_close(quantile_beta(0.95, a, a), 0.5 + 1.6448536269514722 * sd, 1e-9);
    }
    /* Gamma(0.01): P(X <= x) is about x^0.01 / Gamma(1.01) near 0, so the 5 % point is about
     * (0.05 Gamma(1.01))^100 = 4.5e-129, where GSL's inverse gave NaN. */
    double x = quantile_gamma(0.05, 0.01, 1.0);
    assert_close(x, pow(0.05 * tgamma(1.01), 100.0), 0.05);
    assert_close(gsl_cdf_gamma_P(x, 0.01, 1.0), 0.05, 1e-9);
    /* The upper tail the model bounds rates with: P(X > x) = 1e-10 at shape 1e6, where GSL's
     * gsl_cdf_gamma_Qinv is 42 % low. */
    x = quantile_gamma(1.0 - 1e-10, 1e6, 1.0);
    assert_close(gsl_cdf_gamma_Q(x, 1e6, 1.0), 1e-10, 1e-4);
    assert_true(now() - t < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_inverts_the_distribution_function),
        cmocka_unit_test(test_extreme_shapes),
    };
    return cmocka_run_group_tests_name("quantile", tests, NULL, NULL);
}
