/* engine/fan.c: the fan's rows (fan.csv, result.json's "fan", the report's fan chart).
 * - Its dates: every month's date from as_of to the deadline and FAN_MONTHS_PAST_DEADLINE months
 *   on, the review dates among them carrying the run's own numbers (checkpoints.csv's) and the
 *   run's trials, the others the companion's fan_trials (one in 64, 256 to 16384).
 * - Every companion row against the exact mode: the registrations by a date D are those by the
 *   deadline of the same scenario with its deadline moved to D (DESIGN.md section 5.1: only the
 *   breakpoints move), which accrue exact computes without simulation.
 * - A scenario with corrective action keeps the review dates only, and so does one whose
 *   monthly version passes a bound. */
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
#include <gsl/gsl_cdf.h>
#include "zcheck.h"
#include "../engine/cli.h"
#include "../engine/fan.h"
#include "../engine/report.h"
#include "../models/exact.h"
#include "../models/model.h"

/* A run of one scenario as accrue run --out makes it, with its fan. */
typedef struct fan_run {
    options o;
    scenario *s;
    model *m;
    report_info info;
    date_t *cp;
    const char **names;
    sim_result *r;
    fan_table fan;
} fan_run;

static void fan_run_with(fan_run *x, const char *folder, uint64_t trials,
                         const char *const *set, size_t n_set)
{
    memset(x, 0, sizeof *x);
    x->o = (options){.command = "run", .n_scenarios = 1, .trials = trials, .seed = 4242,
                     .threads = 2, .quiet = 1, .n_sets = n_set};
    x->o.scenario[0] = folder;
    for (size_t i = 0; i < n_set; i++)
        x->o.set[i] = set[i];
    char err[ERRLEN] = "", exact_err[ERRLEN] = "";
    assert_non_null(x->s = cli_load(&x->o, 0));
    assert_non_null(x->m = model_prepare(x->s, err, sizeof err));
    assert_int_equal(cli_describe_run(&x->o, x->s, x->m, &x->info, &x->cp, &x->names, exact_err,
                                      sizeof exact_err), 0);
    sim_model sim = model_sim(x->m);
    double seconds;
    x->r = cli_simulate(&x->o, &sim, trials, &seconds, err, sizeof err);
    assert_int_equal(cli_simulation_status(x->r, err), 0);
    assert_int_equal(fan_build(&x->o, 0, x->s, &x->info, x->r, &x->fan), 0);
}

static void fan_run_start(fan_run *x, const char *folder, uint64_t trials)
{
    fan_run_with(x, folder, trials, NULL, 0);
}

static void fan_run_end(fan_run *x)
{
    fan_free(&x->fan);
    sim_result_free(x->r);
    free(x->cp);
    free(x->names);
    model_free(x->m);
    scenario_free(x->s);
    cli_forget_folders();   /* the next run may read another folder as scenario 0 */
}

/* The review row k of the run, if date d is a review date (or the deadline): its index, else
 * n_checkpoints. */
static size_t review_of(const fan_run *x, date_t d)
{
    size_t k = 0;
    while (k < x->info.n_checkpoints && x->info.checkpoint_date[k] != d)
        k++;
    return k;
}

/* Dates, sources and the review rows: exact equalities (the same numbers are copied). */
static void test_rows(void **state)
{
    (void)state;
    fan_run x;
    fan_run_start(&x, "scenarios/self-pay", 40000);
    const scenario *s = x.s;
    size_t months = 0;
    while (date_add_months(s->as_of, (int)months + 1) <= s->deadline)
        months++;
    /* scenarios/self-pay's deadline is a whole number of months after as_of. */
    assert_int_equal(date_add_months(s->as_of, (int)months), s->deadline);
    assert_int_equal(x.fan.n, months + FAN_MONTHS_PAST_DEADLINE);
    for (size_t i = 0; i < x.fan.n; i++) {
        assert_int_equal(x.fan.date[i], date_add_months(s->as_of, (int)i + 1));
        size_t k = review_of(&x, x.fan.date[i]);
        if (k < x.info.n_checkpoints) {
            double se, mean = report_checkpoint_mean(&x.info, x.r, k, &se);
            assert_true(x.fan.mean[i] == mean && x.fan.mean_se[i] == se);
            for (int j = 0; j < REPORT_N_QUANTILES; j++)
                assert_int_equal(x.fan.q[i][j],
                                 report_checkpoint_quantile(&x.info, x.r, k, report_quantiles[j]));
            assert_int_equal(x.fan.trials[i], x.r->trials);
        } else {
            assert_int_equal(x.fan.trials[i], fan_trials(x.r->trials));
        }
        /* Every column is a count that only grows from one month to the next, per future; the
         * quantiles of the companion's months (one sample) do too. */
        for (int j = 0; j + 1 < REPORT_N_QUANTILES; j++)
            assert_true(x.fan.q[i][j] <= x.fan.q[i][j + 1]);
    }
    assert_int_equal(x.fan.date[x.fan.n - 1],
                     date_add_months(s->deadline, FAN_MONTHS_PAST_DEADLINE));
    fan_run_end(&x);
}

/* The exact distribution of registrations by date d: the scenario with its deadline at d. */
static void exact_by(const options *o, date_t d, exact_dist *out, double *mean)
{
    char set[40], text[DATE_TEXT_LEN], err[ERRLEN] = "";
    date_format_wide(d, text);
    snprintf(set, sizeof set, "deadline=%s", text);
    const char *extra[1] = {set};
    scenario *s = cli_load_into(o, 0, extra, 1, err, sizeof err);
    assert_non_null(s);
    model *m = model_prepare(s, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(model_exact(m, 0.0, out, err, sizeof err), 0);
    *mean = model_exact_mean(m);
    model_free(m);
    scenario_free(s);
}

/* P(N <= c) from the exact distribution (0 below the support). */
static double exact_cdf(const exact_dist *d, long c)
{
    return c < 0 ? 0.0 : 1.0 - exact_p_at_least(d, c + 1);
}

/* Each companion row of a scenario: its mean against the exact mean (z with the row's SE), and
 * each of its quantiles q at level L against the exact distribution function F. The estimated
 * quantile is the smallest count c whose empirical F^(c) >= L, so F^(q) >= L and F^(q - 1) < L;
 * as F^(c) = F(c) +- Z sqrt(F(c) (1 - F(c)) / n) at the family's limit Z, F(q) >= L - that and
 * F(q - 1) <= L + that. Each one-sided condition is one comparison of the family: written as a
 * z-check of min(F(q), L) (resp. max(F(q - 1), L)) against L, which fails exactly when it is
 * violated. One family per scenario at alpha / n_scenarios (a union bound over the families).
 * Returns the failed comparisons. */
static int fan_against_exact(const char *folder, double alpha)
{
    fan_run x;
    fan_run_start(&x, folder, 800000);   /* a fan of 12,500 trials */
    size_t rows = 0;
    for (size_t i = 0; i < x.fan.n; i++)
        rows += review_of(&x, x.fan.date[i]) == x.info.n_checkpoints;
    assert_true(rows >= 36);
    printf("%s: ", folder);
    zcheck_made = 0;   /* a new family */
    zcheck_plan(rows * (1 + 2 * REPORT_N_QUANTILES), alpha);
    int bad = 0;
    for (size_t i = 0; i < x.fan.n; i++) {
        if (review_of(&x, x.fan.date[i]) < x.info.n_checkpoints)
            continue;
        exact_dist d;
        double mean;
        exact_by(&x.o, x.fan.date[i], &d, &mean);
        char what[64], day[DATE_TEXT_LEN];
        date_format_wide(x.fan.date[i], day);
        snprintf(what, sizeof what, "%s mean", day);
        bad += zcheck(what, x.fan.mean[i], x.fan.mean_se[i], mean, 0.0, 0.0);
        for (int j = 0; j < REPORT_N_QUANTILES; j++) {
            double level = report_quantiles[j];
            long q = (long)x.fan.q[i][j];
            double at = exact_cdf(&d, q), below = exact_cdf(&d, q - 1);
            double n = (double)x.fan.trials[i];
            snprintf(what, sizeof what, "%s F(q%02.0f=%ld)", day, 100 * level, q);
            bad += zcheck(what, fmin(at, level), sqrt(at * (1 - at) / n), level, 0.0, 0.0);
            snprintf(what, sizeof what, "%s F(q%02.0f-1)", day, 100 * level);
            bad += zcheck(what, fmax(below, level), sqrt(below * (1 - below) / n), level, 0.0,
                          0.0);
        }
        exact_dist_free(&d);
    }
    assert_true(zcheck_done());
    fan_run_end(&x);
    return bad;
}

/* Scenarios that take each path of the companion: screening and self-pay (self-pay), capped
 * sites (seed-pools, the pools model), rates learned from a history (seed-history), sites
 * whose first day is uncertain (protocol-plan-uncertain), rate schedules (self-pay-measures).
 * Family-wise false-alarm rate 0.01 over all of them. */
static void test_against_exact(void **state)
{
    (void)state;
    static const char *const folders[] = {
        "scenarios/self-pay", "scenarios/seed-pools", "scenarios/seed-history",
        "scenarios/protocol-plan-uncertain", "scenarios/self-pay-measures"};
    size_t n = sizeof folders / sizeof folders[0];
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += fan_against_exact(folders[i], 0.01 / (double)n);
    assert_int_equal(bad, 0);
}

/* One in 64 of the run's trials (rounded up), within 256 and 16384, never more than the
 * run's. */
static void test_companion_trials(void **state)
{
    (void)state;
    assert_int_equal(fan_trials(100), 100);
    assert_int_equal(fan_trials(20000), 313);
    assert_int_equal(fan_trials(800000), 12500);
    assert_int_equal(fan_trials(1000000), 15625);
    assert_int_equal(fan_trials(1048576), 16384);
    assert_int_equal(fan_trials(1048577), 16384);
    assert_int_equal(fan_trials(3000000), 16384);
}

/* Rules act at the reviews: the fan keeps the review dates, all the run's own rows. */
static void test_actions_keep_reviews(void **state)
{
    (void)state;
    fan_run x;
    fan_run_start(&x, "scenarios/seed-actions", 20000);
    assert_int_equal(x.fan.n, x.info.n_checkpoints);
    for (size_t i = 0; i < x.fan.n; i++) {
        assert_int_equal(x.fan.date[i], x.info.checkpoint_date[i]);
        assert_int_equal(x.fan.trials[i], x.r->trials);
    }
    fan_run_end(&x);
}

/* A scenario whose monthly version passes a bound (count tables of 1e8 cells: 48 dates times
 * about 4 million registrations, where its 7 review dates need 2e7) keeps its review dates,
 * after a note: the run itself must not fail for its fan. */
static void test_beyond_bounds_keeps_reviews(void **state)
{
    (void)state;
    static const char *const set[] = {"rate_factor=30", "target=1000000"};
    fan_run x;
    fan_run_with(&x, "bench/scale/count-10000", 2000, set, 2);
    assert_int_equal(x.fan.n, x.info.n_checkpoints);
    fan_run_end(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_companion_trials),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_against_exact),
        cmocka_unit_test(test_actions_keep_reviews),
        cmocka_unit_test(test_beyond_bounds_keeps_reviews),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
