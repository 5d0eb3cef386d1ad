/* Tests of engine/cmd_track.c, the 6-monthly check: the observed count at a review is the
 * history's registrations by the end of that day, P(N <= observed) is the exact checkpoint
 * distribution's where the exact mode applies, the simulated quantiles bracket it, and a
 * scenario without a history is refused. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "../models/exact.h"
#include "../models/history.h"
#include "../models/scenario.h"

#ifndef ACCRUE_BIN
#define ACCRUE_BIN "build/accrue"
#endif

#define TRACKED "scenarios/seed-history-tracked"

static int run(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s > /dev/null 2>&1", ACCRUE_BIN, args);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_track_against_exact(void **state)
{
    (void)state;
    char dir[64], args[512], path[128], line[512];
    snprintf(dir, sizeof dir, "/tmp/accrue-track-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(args, sizeof args, "track " TRACKED " --trials 200000 --quiet --out %s/out", dir);
    assert_int_equal(run(args), 0);
    snprintf(path, sizeof path, "%s/out/track.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "date,observed,q10,q50,q90,p_at_most_observed,"
                              "p_at_most_observed_se,verdict,exact\n");
    char err[1024];
    scenario *s = scenario_load(TRACKED, err, sizeof err);
    assert_non_null(s);
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char day[16], verdict[32], exact[8];
        long observed;
        size_t q10, q50, q90;
        double p, se;
        assert_int_equal(sscanf(line, "%10[^,],%ld,%zu,%zu,%zu,%lf,%lf,%31[^,],%7s", day,
                                &observed, &q10, &q50, &q90, &p, &se, verdict, exact), 9);
        date_t d;
        assert_int_equal(date_parse(day, &d), 0);
        /* The observed count: the history's registrations decided on or before the day. */
        long registered, screening;
        history_count(s, d + 1, &registered, &screening);
        assert_int_equal(observed, registered);
        /* The exact checkpoint distribution: the scenario with its deadline on the review day.
         * Both sides compute the same sums: agreement to 1e-9 (exact.h's accuracy). */
        scenario at = *s;
        at.deadline = d;
        exact_dist dist;
        assert_int_equal(exact_deadline_dist(&at, &dist, err, sizeof err), 0);
        double want = 1.0 - exact_p_at_least(&dist, observed + 1);
        assert_string_equal(exact, "yes");
        assert_true(fabs(p - want) < 1e-6);   /* printed with 6 significant digits */
        assert_true(se == 0.0);
        /* The simulated quantiles: the exact q-quantile is the smallest n with P(N <= n) >= q.
         * With 200,000 trials the sample distribution function at a count has SE at most
         * sqrt(0.25 / 200000) = 0.0011, so it lies within 0.0056 (5 SE; 6e-7 two-sided per
         * count) of the exact one; the sample quantile can then move past the exact one only
         * by counts holding less than 0.0056 together, and near these quantiles each count
         * holds several per cent (a forecast of 2 to 4 registrations): one count at most. */
        size_t qs[3] = {q10, q50, q90};
        double levels[3] = {0.10, 0.50, 0.90};
        for (int k = 0; k < 3; k++) {
            double cdf = 0.0;
            size_t n = 0;
            for (; n < dist.len; n++)
                if ((cdf += dist.pmf[n]) >= levels[k])
                    break;
            assert_true(qs[k] + 1 >= n && qs[k] <= n + 1);
        }
        const char *expected = want < 0.10 ? "behind plan"
                               : exact_p_at_least(&dist, observed) < 0.10 ? "ahead of plan"
                                                                          : "on track";
        assert_string_equal(verdict, expected);
        exact_dist_free(&dist);
        rows++;
    }
    fclose(f);
    assert_true(rows >= 1);
    scenario_free(s);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    assert_int_equal(system(args), 0);
}

static void test_track_needs_a_history(void **state)
{
    (void)state;
    assert_int_equal(run("track scenarios/self-pay --trials 1000"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track_against_exact),
        cmocka_unit_test(test_track_needs_a_history),
    };
    return cmocka_run_group_tests_name("track", tests, NULL, NULL);
}
