/* The finite-pools model (models/pools.c, sites.csv column cap): against closed forms, against
 * the exact mode where a cap never binds and where caps bind (scenarios/seed-pools), on 1 and
 * 3 threads, and against the independent event-by-event simulator (tests/eventsim.c, which
 * reads cap) on tests/models/pools-*.
 *
 * Tolerances. Each statistical comparison is a z-score of a difference of independent
 * estimates (or an estimate and an exact value) over its standard error; under agreement each
 * is approximately standard normal. With m comparisons in all, |z| <= Z with
 * Z = Q^{-1}(ALPHA / (2 m)) raises a false alarm with probability at most ALPHA (Bonferroni);
 * main() counts m, prints Z, and the seeds are fixed, so the test is deterministic.
 * Deterministic checks (the conditional estimator of a fixed-rate case, where every trial's
 * value is the same exact number; identical outputs across thread counts) use exact or
 * rounding-level tolerances instead.
 *
 * Usage: build/tests/test_pools   (run from the repository's root) */
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
#include <gsl/gsl_errno.h>

#include "eventsim.c"
#include "zcheck.h"
#include "../engine/sim.h"
#include "../models/exact.h"
#include "../models/model.h"
#include "../models/scenario.h"

#define ALPHA 0.01
#define SEED 20260718
#define ENGINE_TRIALS 2000000
#define ES_TRIALS 400000
#define ES_SEED 11
#define DETERMINISM_TRIALS 300000

/* The comparison family (tests/zcheck.h): main() plans 2 per closed-form target, 3 for the
 * cap that never binds, 6 against the exact mode with gamma rates, and 3 plus one per
 * checkpoint for each event-simulator case, and sets the limit from that count. */

/* Closed-form targets for tests/models/pools-fixed (enrolled 2, cap 8). */
static const long fixed_targets[] = {5, 9, 10, 11};
#define N_FIXED (sizeof fixed_targets / sizeof *fixed_targets)

static const char *const es_dirs[] = {"tests/models/pools-fixed", "tests/models/pools-mix",
                                      "tests/models/pools-selfpay-mid"};
#define N_ES (sizeof es_dirs / sizeof *es_dirs)

static scenario *load(const char *dir)
{
    char err[512] = "";
    scenario *s = scenario_load(dir, err, sizeof err);
    if (!s)
        fail_msg("%s: %s", dir, err);
    return s;
}

static sim_result *simulate(const scenario *s, uint64_t trials, int threads, model **m_out)
{
    char err[512] = "";
    model *m = model_prepare(s, err, sizeof err);
    if (!m)
        fail_msg("model_prepare: %s", err);
    sim_model sm = model_sim(m);
    sim_config c = {.trials = trials, .seed = SEED, .threads = threads};
    sim_result *r = sim_run(&sm, &c, err, sizeof err);
    if (!r)
        fail_msg("sim_run: %s", err);
    if (m_out)
        *m_out = m;
    else
        model_free(m);
    return r;
}

/* ---- closed form: one fixed-rate site, p = q = 1: N = enrolled + min(Poisson(mu), C) ---- */
static void test_closed_form(void **state)
{
    (void)state;
    scenario *s = load("tests/models/pools-fixed");
    assert_int_equal(s->n_sites, 1);
    assert_true(s->site[0].has_cap);
    long C = s->site[0].cap, e = s->enrolled;
    double mu = s->site[0].rate * (double)scenario_window_days(s) / SCENARIO_DAYS_PER_YEAR;
    int bad = 0;
    printf("  pools-fixed: mu %.6f, cap %ld, enrolled %ld\n", mu, C, e);
    for (size_t i = 0; i < N_FIXED; i++) {
        long t = fixed_targets[i];
        s->target = t;
        model *m;
        sim_result *r = simulate(s, ENGINE_TRIALS, 2, &m);
        assert_string_equal(model_name(m), "finite patient pools (capped sites)");
        double want = t - e <= 0 ? 1.0 : t - e <= C ? gsl_cdf_poisson_Q((unsigned)(t - e - 1), mu)
                                                    : 0.0;
        /* E[min(K, C)] = sum_{j < C} P(K > j) */
        double want_mean = (double)e;
        for (long j = 0; j < C; j++)
            want_mean += gsl_cdf_poisson_Q((unsigned)j, mu);
        char what[64];
        snprintf(what, sizeof what, "P(N >= %ld) plain", t);
        bad += zcheck(what, r->p_success_plain.mean, r->p_success_plain.se, want, 0, 0);
        snprintf(what, sizeof what, "mean plain (target %ld)", t);
        bad += zcheck(what, r->mean_plain.mean, r->mean_plain.se, want_mean, 0, 0);
        /* Every trial's conditional value is the exact closed form itself. */
        printf("    P(N >= %ld) conditional %.12f, closed form %.12f; mean %.12f, %.12f\n", t,
               r->p_success.mean, want, r->mean.mean, want_mean);
        bad += !(fabs(r->p_success.mean - want) < 1e-9) || !(fabs(r->mean.mean - want_mean) < 1e-9);
        if (t - e > C)
            bad += r->p_success_plain.mean != 0.0;
        /* The exact mode computes it too (p = q = 1: min(K, C) itself): its truncation
         * loses at most 1e-13, rounding a few 1e-16 a term. */
        exact_dist d;
        char err[512] = "";
        if (exact_deadline_dist(s, &d, err, sizeof err) != 0)
            fail_msg("exact on pools-fixed: %s", err);
        printf("    exact: P %.12f, mean %.12f\n", exact_p_at_least(&d, t), exact_mean(s));
        bad += !(fabs(exact_p_at_least(&d, t) - want) < 1e-12) ||
               !(fabs(exact_mean(s) - want_mean) < 1e-12);
        exact_dist_free(&d);
        sim_result_free(r);
        model_free(m);
    }
    scenario_free(s);
    if (bad)
        fail_msg("pools-fixed: %d checks failed", bad);
}

/* ---- a cap that never binds: the uncapped scenario's exact value, and the same draws ---- */
static void test_cap_not_binding(void **state)
{
    (void)state;
    scenario *s = load("scenarios/self-pay");
    char err[512] = "";
    exact_dist d;
    assert_int_equal(exact_deadline_dist(s, &d, err, sizeof err), 0);
    double p = exact_p_at_least(&d, s->target), mean = exact_mean(s);
    exact_dist_free(&d);
    model *plain_model;
    sim_result *plain = simulate(s, ENGINE_TRIALS, 2, &plain_model);
    for (size_t i = 0; i < s->n_sites; i++) {
        s->site[i].has_cap = true;
        s->site[i].cap = SCENARIO_MAX_CAP;
    }
    /* the exact mode declines it: a cap above the 4096 it computes */
    assert_int_not_equal(exact_deadline_dist(s, &d, err, sizeof err), 0);
    printf("  exact mode on a capped scenario: %s\n", err);
    assert_non_null(strstr(err, "cap"));
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, NULL);
    int bad = 0;
    printf("  self-pay with every site capped at %ld (exact %.6f, mean %.6f)\n", SCENARIO_MAX_CAP,
           p, mean);
    bad += zcheck("P(success)", r->p_success.mean, r->p_success.se, p, 0, 0);
    bad += zcheck("P(success) plain", r->p_success_plain.mean, r->p_success_plain.se, p, 0, 0);
    bad += zcheck("mean", r->mean.mean, r->mean.se, mean, 0, 0);
    /* The same up-front draws as the sites model (common random numbers): the conditional
     * values are the same numbers up to rounding, so their means agree far inside the SE. */
    printf("    conditional P: pools %.12f, sites %.12f\n", r->p_success_cond.mean,
           plain->p_success_cond.mean);
    bad += !(fabs(r->p_success_cond.mean - plain->p_success_cond.mean) < 1e-9);
    sim_result_free(r);
    sim_result_free(plain);
    model_free(plain_model);
    scenario_free(s);
    if (bad)
        fail_msg("cap not binding: %d checks failed", bad);
}

/* ---- gamma rates, beta probabilities, binding caps: the exact mode against the model ----
 * scenarios/seed-pools: two capped sites (cap 5, gamma rates of shape 1) with every referral
 * under self-pay, beside five uncapped gamma sites and candidates in screening; the exact mode
 * (models/exact.c: min(K, C) for a negative binomial K, thinned at each quadrature node)
 * against the pools model's conditional estimator (models/pools.c's own tables given each
 * trial's draws) and its plain indicators and counts: 4 comparisons.
 * tests/models/pools-selfpay-mid: a capped gamma site whose window holds the self-pay date
 * (the exact mode's split law), where the model uses each trial's own outcome: P(success) and
 * the mean, 2 comparisons. Each is a z-score under the family's Bonferroni limit. */
static void test_exact_gamma(void **state)
{
    (void)state;
    static const char *const dirs[] = {"scenarios/seed-pools", "tests/models/pools-selfpay-mid"};
    int bad = 0;
    for (size_t k = 0; k < 2; k++) {
        scenario *s = load(dirs[k]);
        char err[512] = "";
        exact_dist d;
        if (exact_deadline_dist(s, &d, err, sizeof err) != 0)
            fail_msg("exact on %s: %s", dirs[k], err);
        double p = exact_p_at_least(&d, s->target), mean = exact_mean(s);
        exact_dist_free(&d);
        sim_result *r = simulate(s, ENGINE_TRIALS, 2, NULL);
        printf("  %s: exact P(success) %.8f, mean %.6f\n", dirs[k], p, mean);
        bad += zcheck("P(success)", r->p_success.mean, r->p_success.se, p, 0, 0);
        bad += zcheck("mean", r->mean.mean, r->mean.se, mean, 0, 0);
        if (k == 0) {
            bad += zcheck("P(success) plain", r->p_success_plain.mean, r->p_success_plain.se, p,
                           0, 0);
            bad += zcheck("mean plain", r->mean_plain.mean, r->mean_plain.se, mean, 0, 0);
        }
        sim_result_free(r);
        scenario_free(s);
    }
    if (bad)
        fail_msg("against the exact mode: %d comparisons beyond |z| = %.2f", bad, zcheck_limit);
}

/* ---- the same results on 1 and 3 threads ---- */
static void test_threads(void **state)
{
    (void)state;
    scenario *s = load("tests/models/pools-mix");
    sim_result *a = simulate(s, DETERMINISM_TRIALS, 1, NULL);
    sim_result *b = simulate(s, DETERMINISM_TRIALS, 3, NULL);
    assert_int_equal(a->trials, b->trials);
    assert_memory_equal(&a->p_success, &b->p_success, sizeof a->p_success);
    assert_memory_equal(&a->p_success_plain, &b->p_success_plain, sizeof a->p_success_plain);
    assert_memory_equal(&a->mean, &b->mean, sizeof a->mean);
    assert_int_equal(a->at_deadline.total, b->at_deadline.total);
    size_t len = a->at_deadline.len < b->at_deadline.len ? a->at_deadline.len : b->at_deadline.len;
    assert_memory_equal(a->at_deadline.bin, b->at_deadline.bin, len * sizeof(uint64_t));
    size_t clen = a->completion.len < b->completion.len ? a->completion.len : b->completion.len;
    assert_memory_equal(a->completion.bin, b->completion.bin, clen * sizeof(uint64_t));
    for (size_t k = 0; k < a->n_checkpoints; k++)
        assert_true(hist_mean(&a->at_checkpoint[k]) == hist_mean(&b->at_checkpoint[k]));
    for (size_t u = 0; u < a->n_units; u++) {
        assert_memory_equal(&a->unit_mean[u], &b->unit_mean[u], sizeof a->unit_mean[u]);
        assert_memory_equal(&a->unit_p_none[u], &b->unit_p_none[u], sizeof a->unit_p_none[u]);
    }
    printf("  pools-mix: P %.6f, mean %.6f on 1 and 3 threads\n", a->p_success.mean, a->mean.mean);
    sim_result_free(a);
    sim_result_free(b);
    scenario_free(s);
}

/* ---- the engine against the event-by-event simulator ---- */
static void test_against_eventsim(void **state)
{
    const char *dir = *state;
    scenario *s = load(dir);
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, NULL);
    es_scenario *sc = es_load(dir);
    es_result *es = es_simulate(sc, ES_TRIALS, ES_SEED);
    int bad = 0;
    printf("  %s (engine %llu trials, event simulator %llu)\n", dir,
           (unsigned long long)r->trials, (unsigned long long)es->trials);
    bad += zcheck("p_success", r->p_success.mean, r->p_success.se, es->p_success,
                   es->p_success_se, 0);
    bad += zcheck("mean by the deadline", r->mean.mean, r->mean.se, es->mean_deadline,
                   es->mean_deadline_se, 0);
    assert_int_equal(r->n_checkpoints, sc->ncheckpoints);
    double n = (double)r->trials;
    for (size_t k = 0; k < sc->ncheckpoints; k++) {
        const hist *h = &r->at_checkpoint[k];
        char what[64];
        snprintf(what, sizeof what, "mean at checkpoint %zu", k + 1);
        bad += zcheck(what, hist_mean(h), sqrt(hist_variance(h) / n), es->cp_mean[k],
                       es->cp_mean_se[k], 0);
    }
    /* The median completion day: the engine's histogram holds whole days (value d + 1 for day
     * d), so its median lies within a day of the continuous one: compared as day + 1/2 with a
     * slack of 1/2, its SE from the 95 % order-statistic interval widened by a day (as
     * tests/test_eventsim.c does). */
    double half = 0.98 / sqrt(n);
    double med = (double)hist_quantile(&r->completion, 0.5) - 1.0;
    double lo = (double)hist_quantile(&r->completion, 0.5 - half) - 1.0;
    double hi = (double)hist_quantile(&r->completion, 0.5 + half) - 1.0;
    if (isfinite(es->median_completion) && med < (double)r->n_days)
        bad += zcheck("median completion (days)", med + 0.5, (hi - lo + 1) / (2 * 1.96),
                       es->median_completion, es->median_completion_se, 0.5);
    else
        printf("    median completion beyond the followed days in %s\n",
               isfinite(es->median_completion) ? "the engine" : "the event simulator");
    es_result_free(es);
    es_free(sc);
    sim_result_free(r);
    scenario_free(s);
    if (bad)
        fail_msg("%s: %d comparisons beyond |z| = %.2f", dir, bad, zcheck_limit);
}

int main(void)
{
    gsl_set_error_handler_off();
    /* m: closed form 2 per target; not binding 3; exact gamma 4 + 2; event simulator 3 +
     * checkpoints each */
    size_t m_planned = 2 * N_FIXED + 3 + 6;
    for (size_t i = 0; i < N_ES; i++) {
        es_scenario *sc = es_load(es_dirs[i]);
        m_planned += 3 + sc->ncheckpoints;
        es_free(sc);
    }
    zcheck_plan(m_planned, ALPHA);
    struct CMUnitTest tests[4 + N_ES];
    char names[N_ES][96];
    tests[0] = (struct CMUnitTest){"capped fixed-rate site against the closed form",
                                   test_closed_form, NULL, NULL, NULL};
    tests[1] = (struct CMUnitTest){"a cap that never binds against the exact mode",
                                   test_cap_not_binding, NULL, NULL, NULL};
    tests[2] = (struct CMUnitTest){"identical results on 1 and 3 threads", test_threads, NULL,
                                   NULL, NULL};
    tests[3] = (struct CMUnitTest){"gamma rates with binding caps against the exact mode",
                                   test_exact_gamma, NULL, NULL, NULL};
    for (size_t i = 0; i < N_ES; i++) {
        snprintf(names[i], sizeof names[i], "engine vs eventsim: %s", es_dirs[i]);
        tests[4 + i] = (struct CMUnitTest){names[i], test_against_eventsim, NULL, NULL,
                                           (void *)(uintptr_t)es_dirs[i]};
    }
    int rc = cmocka_run_group_tests_name("pools", tests, NULL, NULL);
    return zcheck_done() ? rc : 1;
}
