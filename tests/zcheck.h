/* Statistical comparisons shared by the test programs that check a simulated figure against an
 * exact value or another independent estimate (tests/test_pools.c, tests/test_actions.c).
 *
 * Each comparison is z = (a - b) / sqrt(se_a^2 + se_b^2), approximately standard normal when the
 * two agree (se 0 for an exact value). With m comparisons planned, |z| <= Z with
 * Z = Q^{-1}(alpha / (2 m)) raises a false alarm with probability at most alpha (Bonferroni);
 * zcheck_plan sets Z from m and zcheck_done fails the program when more comparisons were made
 * than planned, which would void that bound. `slack` widens the allowed difference by a known
 * bias bound (0 when there is none). Include once per test program (static state). */
#ifndef ACCRUE_TESTS_ZCHECK_H
#define ACCRUE_TESTS_ZCHECK_H

#include <math.h>
#include <stdio.h>
#include <gsl/gsl_cdf.h>

static double zcheck_limit;
static size_t zcheck_planned, zcheck_made;

/* Sets the family's limit for m comparisons at family-wise false-alarm rate alpha, and prints
 * it with the columns of the lines zcheck prints. */
static void zcheck_plan(size_t m, double alpha)
{
    zcheck_planned = m;
    zcheck_limit = gsl_cdf_ugaussian_Qinv(alpha / (2.0 * (double)m));
    printf("family-wise false-alarm rate %.2g (Bonferroni) over %zu comparisons: |z| <= %.3f\n",
           alpha, m, zcheck_limit);
    printf("columns: quantity, first estimate (SE), second (SE), z\n");
}

/* The z-score of a - b beyond +-slack; +-infinity for a difference with no error at all. */
static double zcheck_score(double a, double se_a, double b, double se_b, double slack)
{
    double s = sqrt(se_a * se_a + se_b * se_b), d = a - b;
    d = d > slack ? d - slack : d < -slack ? d + slack : 0;
    if (!(s > 0))
        return d == 0 ? 0 : (d > 0 ? INFINITY : -INFINITY);
    return d / s;
}

/* One comparison of the family: prints it, returns 1 when |z| exceeds the limit. */
static int zcheck(const char *what, double a, double se_a, double b, double se_b, double slack)
{
    double z = zcheck_score(a, se_a, b, se_b, slack);
    int bad = !(fabs(z) <= zcheck_limit);
    zcheck_made++;
    printf("    %-30s %12.6g (%-9.3g) %12.6g (%-9.3g) z = %+6.2f%s\n", what, a, se_a, b, se_b, z,
           bad ? "  <-- FAIL" : "");
    return bad;
}

/* Whether the comparisons made stayed within those planned (1) or not (0, with a message). */
static int zcheck_done(void)
{
    printf("comparisons through zcheck: %zu of %zu planned\n", zcheck_made, zcheck_planned);
    if (zcheck_made > zcheck_planned) {
        fprintf(stderr, "more comparisons than planned: the limit |z| <= %.3f no longer holds "
                        "the family-wise rate\n", zcheck_limit);
        return 0;
    }
    return 1;
}

#endif
