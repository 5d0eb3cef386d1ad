/* Corrective action at reviews (models/actions.c, actions.csv): against the exact mode where a
 * policy is equivalent to a known schedule or site, against the exact value of the scenario
 * without actions where a rule never fires, on 1 and 3 threads, and against the independent
 * event-by-event simulator (tests/eventsim.c, which reads actions.csv) where firing depends on
 * the path.
 *
 * Tolerances. Each statistical comparison is a z-score of a difference of independent
 * estimates (or an estimate and an exact value) over its standard error; under agreement each
 * is approximately standard normal. With m comparisons in all, |z| <= Z with
 * Z = Q^{-1}(ALPHA / (2 m)) raises a false alarm with probability at most ALPHA = 1 %
 * (Bonferroni); main() counts m and prints Z, and the seeds are fixed, so the test is
 * deterministic. The firing counts of rules that always or never fire are checked exactly.
 *
 * Usage: build/tests/test_actions   (run from the repository's root) */
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
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#include "eventsim.c"
#include "../engine/rng.h"
#include "../engine/sim.h"
#include "../models/actions.h"
#include "../models/exact.h"
#include "../models/model.h"
#include "../models/scenario.h"

#define ALPHA 0.01
#define SEED 20260718
#define ENGINE_TRIALS 1000000
#define ES_TRIALS 400000
#define ES_SEED 11
#define DETERMINISM_TRIALS 200000
#define COUNT_TRIALS 40000 /* a whole number of batches of 64 */

static double z_limit;
static size_t m_planned;

/* comparisons: never fires 2, scale 2, add_site 2, event simulator 3 + checkpoints + rules per
 * case (main() adds them) */
#define M_EXACT 6

static double zscore(double a, double se_a, double b, double se_b)
{
    double s = sqrt(se_a * se_a + se_b * se_b), d = a - b;
    if (!(s > 0))
        return d == 0 ? 0 : (d > 0 ? INFINITY : -INFINITY);
    return d / s;
}

static int compare(const char *what, double a, double se_a, double b, double se_b)
{
    double z = zscore(a, se_a, b, se_b);
    int bad = !(fabs(z) <= z_limit);
    printf("    %-30s %12.6g (%-9.3g) %12.6g (%-9.3g) z = %+6.2f%s\n", what, a, se_a, b, se_b, z,
           bad ? "  <-- FAIL" : "");
    return bad;
}

static scenario *load(const char *dir)
{
    char err[512] = "";
    scenario *s = scenario_load(dir, err, sizeof err);
    if (!s)
        fail_msg("%s: %s", dir, err);
    return s;
}

static sim_result *simulate(const scenario *s, uint64_t trials, int threads, const char *want)
{
    char err[512] = "";
    model *m = model_prepare(s, err, sizeof err);
    if (!m)
        fail_msg("model_prepare: %s", err);
    if (want)
        assert_string_equal(model_name(m), want);
    sim_model sm = model_sim(m);
    sim_config c = {.trials = trials, .seed = SEED, .threads = threads};
    sim_result *r = sim_run(&sm, &c, err, sizeof err);
    if (!r)
        fail_msg("sim_run: %s", err);
    model_free(m);
    return r;
}

#define ACTIONS_NAME "corrective action at reviews (actions.csv)"

/* Gives s one rule (replacing any). */
static void set_rule(scenario *s, action_rule rule)
{
    free(s->action);
    s->action = malloc(sizeof *s->action);
    assert_non_null(s->action);
    s->action[0] = rule;
    s->n_actions = 1;
}

static double exact_p(const scenario *s, double *mean)
{
    char err[512] = "";
    exact_dist d;
    if (exact_deadline_dist(s, &d, err, sizeof err) != 0)
        fail_msg("exact: %s", err);
    double p = exact_p_at_least(&d, s->target);
    *mean = exact_mean(s);
    exact_dist_free(&d);
    return p;
}

/* The first review date after as_of. */
static date_t first_review(const scenario *s)
{
    date_t d = date_add_months(s->as_of, s->review_months);
    return d < s->deadline ? d : s->deadline;
}

/* Runs COUNT_TRIALS trials through actions_batch_counted on one thread and returns the
 * fraction of trials in which rule r fired (and the firings per trial in *per_trial, the
 * trials run in *n_out when not NULL). */
static double fired_fraction(const scenario *s, size_t rule, double *per_trial, double *n_out)
{
    char err[512] = "";
    actions_plan *p = actions_plan_new(s, err, sizeof err);
    if (!p)
        fail_msg("actions_plan_new: %s", err);
    sim_model sm = actions_sim_model(p);
    size_t B = sm.batch, K = sm.n_checkpoints, U = sm.n_units > 0 ? sm.n_units : 1;
    void *work = calloc(1, sm.work_bytes + 64);
    sim_batch out = {0};
    out.at_deadline = calloc(B, sizeof(size_t));
    out.at_checkpoint = calloc(K * B, sizeof(size_t));
    out.completion_day = calloc(B, sizeof(long));
    out.cond_p_success = calloc(B, sizeof(double));
    out.cond_mean = calloc(B, sizeof(double));
    out.unit_mean = calloc(U * B, sizeof(double));
    out.unit_p_none = calloc(U * B, sizeof(double));
    unsigned long *fired = calloc(s->n_actions, sizeof *fired);
    unsigned long *trials_fired = calloc(s->n_actions, sizeof *trials_fired);
    sim_streams st = {gsl_rng_alloc(rng_philox4x32), gsl_rng_alloc(rng_philox4x32)};
    assert_true(work && out.at_deadline && out.at_checkpoint && out.completion_day && fired
                && trials_fired && st.draws && st.path);
    size_t done = 0;
    for (uint64_t b = 0; done < COUNT_TRIALS; b++) {
        rng_seek(st.draws, SEED, ((uint64_t)SIM_STREAM_DRAWS << 56) | b);
        rng_seek(st.path, SEED, ((uint64_t)SIM_STREAM_PATH << 56) | b);
        actions_batch_counted(p, &st, work, B, &out, fired, trials_fired);
        done += B;
    }
    double frac = (double)trials_fired[rule] / (double)done;
    *per_trial = (double)fired[rule] / (double)done;
    if (n_out)
        *n_out = (double)done;
    gsl_rng_free(st.draws);
    gsl_rng_free(st.path);
    free(fired);
    free(trials_fired);
    free(work);
    free(out.at_deadline);
    free(out.at_checkpoint);
    free(out.completion_day);
    free(out.cond_p_success);
    free(out.cond_mean);
    free(out.unit_mean);
    free(out.unit_p_none);
    actions_plan_free(p);
    return frac;
}

/* ---- a rule that never fires: the scenario without actions, exactly ---- */
static void test_never_fires(void **state)
{
    (void)state;
    scenario *s = load("scenarios/self-pay");
    double mean, p = exact_p(s, &mean);
    set_rule(s, (action_rule){.every = true, .below = 0.0, .action = ACTION_ADD_SITE,
                              .value = 100.0, .delay_days = 1, .times = 5});
    char err[512] = "";
    exact_dist d;
    assert_int_not_equal(exact_deadline_dist(s, &d, err, sizeof err), 0);
    printf("  exact mode with actions: %s\n", err);
    assert_non_null(strstr(err, "corrective action"));
    double per;
    assert_true(fired_fraction(s, 0, &per, NULL) == 0.0);
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, ACTIONS_NAME);
    printf("  self-pay, every review, below 0 (never fires): exact %.6f, mean %.6f\n", p, mean);
    int bad = compare("P(success)", r->p_success.mean, r->p_success.se, p, 0);
    bad += compare("mean", r->mean.mean, r->mean.se, mean, 0);
    sim_result_free(r);
    scenario_free(s);
    if (bad)
        fail_msg("never fires: %d comparisons failed", bad);
}

/* ---- always fires at the first review: scale_rates 2 = a schedule x2 from the day after ---- */
static void test_scale_always(void **state)
{
    (void)state;
    scenario *s = load("scenarios/self-pay"), *eq = load("scenarios/self-pay");
    date_t review = first_review(s);
    set_rule(s, (action_rule){.review = review, .below = 1e6, .action = ACTION_SCALE_RATES,
                              .value = 2.0, .delay_days = 1, .times = 1});
    rate_step step = {review + 1, 2.0};
    for (size_t i = 0; i < eq->n_sites; i++) {
        assert_int_equal(eq->site[i].n_steps, 0);
        eq->site[i].step = malloc(sizeof step);
        eq->site[i].step[0] = step;
        eq->site[i].n_steps = 1;
    }
    double mean, p = exact_p(eq, &mean), per;
    assert_true(fired_fraction(s, 0, &per, NULL) == 1.0 && per == 1.0);
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, ACTIONS_NAME);
    printf("  self-pay, scale_rates 2 at the first review, always: exact (schedule x2 from the "
           "day after) %.6f, mean %.6f\n", p, mean);
    int bad = compare("P(success)", r->p_success.mean, r->p_success.se, p, 0);
    bad += compare("mean", r->mean.mean, r->mean.se, mean, 0);
    sim_result_free(r);
    scenario_free(s);
    scenario_free(eq);
    if (bad)
        fail_msg("scale_rates: %d comparisons failed", bad);
}

/* ---- always fires: add_site = a site active from the day after the review ---- */
static void test_add_site_always(void **state)
{
    (void)state;
    scenario *s = load("scenarios/self-pay"), *eq = load("scenarios/self-pay");
    date_t review = first_review(s);
    set_rule(s, (action_rule){.review = review, .below = 1e6, .action = ACTION_ADD_SITE,
                              .value = 1.5, .shape = 1.0, .delay_days = 1, .times = 1});
    site_spec *grown = realloc(eq->site, (eq->n_sites + 1) * sizeof *grown);
    assert_non_null(grown);
    eq->site = grown;
    site_spec *add = &eq->site[eq->n_sites++];
    memset(add, 0, sizeof *add);
    add->name = strdup("added");
    add->note = strdup("");
    add->rate = 1.5;
    add->shape = 1.0;
    add->active_from = add->active_to = review + 1;
    add->opens = 1.0;
    double mean, p = exact_p(eq, &mean), per;
    assert_true(fired_fraction(s, 0, &per, NULL) == 1.0 && per == 1.0);
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, ACTIONS_NAME);
    printf("  self-pay, add_site 1.5/year (gamma 1) at the first review, always: exact (a site "
           "from the day after) %.6f, mean %.6f\n", p, mean);
    int bad = compare("P(success)", r->p_success.mean, r->p_success.se, p, 0);
    bad += compare("mean", r->mean.mean, r->mean.se, mean, 0);
    sim_result_free(r);
    scenario_free(s);
    scenario_free(eq);
    if (bad)
        fail_msg("add_site: %d comparisons failed", bad);
}

/* ---- the same results on 1 and 3 threads ---- */
static void test_threads(void **state)
{
    (void)state;
    scenario *s = load("scenarios/seed-actions");
    sim_result *a = simulate(s, DETERMINISM_TRIALS, 1, ACTIONS_NAME);
    sim_result *b = simulate(s, DETERMINISM_TRIALS, 3, ACTIONS_NAME);
    assert_int_equal(a->trials, b->trials);
    assert_memory_equal(&a->p_success, &b->p_success, sizeof a->p_success);
    assert_memory_equal(&a->mean, &b->mean, sizeof a->mean);
    size_t len = a->at_deadline.len < b->at_deadline.len ? a->at_deadline.len : b->at_deadline.len;
    assert_memory_equal(a->at_deadline.bin, b->at_deadline.bin, len * sizeof(uint64_t));
    size_t clen = a->completion.len < b->completion.len ? a->completion.len : b->completion.len;
    assert_memory_equal(a->completion.bin, b->completion.bin, clen * sizeof(uint64_t));
    printf("  seed-actions: P %.6f, mean %.6f on 1 and 3 threads\n", a->p_success.mean,
           a->mean.mean);
    sim_result_free(a);
    sim_result_free(b);
    scenario_free(s);
}

/* ---- the engine against the event-by-event simulator, firing depending on the path ---- */

static char tmp_dir[64];

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A fixed-rate case with both actions, a number threshold, a schedule and caps. */
static const char *make_mixed_case(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/accrue-actions-XXXXXX");
    assert_non_null(mkdtemp(tmp_dir));
    write_text(tmp_dir, "trial.csv",
               "key,value\nas_of,2026-07-18\ndeadline,2028-07-17\ntarget,14\nenrolled,1\n"
               "screening,3\nscreen_pass,0.7\nscreen_days,30\nselfpay_from,2027-01-01\n"
               "selfpay_consent,beta(4;2)\nreview_months,4\nhorizon_years,3\n");
    write_text(tmp_dir, "sites.csv",
               "site,rate,rate_shape,active_from,cap\nA,4,,2026-07-18,\nB,3,2,2026-10-01,6\n");
    write_text(tmp_dir, "schedule.csv", "site,from,factor\n*,2027-06-01,0.5\nA,2027-03-01,1.5\n");
    write_text(tmp_dir, "actions.csv",
               "review,below,action,value,rate_shape,delay_days,times\n"
               "every,pace,add_site,3,2,45,2\n"
               "2027-07-18,6,scale_rates,1.8,,10,1\n");
    return tmp_dir;
}

static const char *es_dirs[2];
#define N_ES 2

static void test_against_eventsim(void **state)
{
    const char *dir = *state;
    scenario *s = load(dir);
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, ACTIONS_NAME);
    es_scenario *sc = es_load(dir);
    es_result *es = es_simulate(sc, ES_TRIALS, ES_SEED);
    int bad = 0;
    printf("  %s (engine %llu trials, event simulator %llu)\n", dir,
           (unsigned long long)r->trials, (unsigned long long)es->trials);
    bad += compare("p_success", r->p_success.mean, r->p_success.se, es->p_success,
                   es->p_success_se);
    bad += compare("mean by the deadline", r->mean.mean, r->mean.se, es->mean_deadline,
                   es->mean_deadline_se);
    assert_int_equal(r->n_checkpoints, sc->ncheckpoints);
    double n = (double)r->trials;
    for (size_t k = 0; k < sc->ncheckpoints; k++) {
        const hist *h = &r->at_checkpoint[k];
        char what[64];
        snprintf(what, sizeof what, "mean at checkpoint %zu", k + 1);
        bad += compare(what, hist_mean(h), sqrt(hist_variance(h) / n), es->cp_mean[k],
                       es->cp_mean_se[k]);
    }
    double half = 0.98 / sqrt(n);
    double med = (double)hist_quantile(&r->completion, 0.5) - 1.0;
    double lo = (double)hist_quantile(&r->completion, 0.5 - half) - 1.0;
    double hi = (double)hist_quantile(&r->completion, 0.5 + half) - 1.0;
    if (isfinite(es->median_completion) && med < (double)r->n_days) {
        /* whole days against a continuous median: day + 1/2, slack 1/2 (as test_pools.c) */
        double z = zscore(med + 0.5, (hi - lo + 1) / (2 * 1.96), es->median_completion,
                          es->median_completion_se);
        double slack = 0.5 / sqrt(pow((hi - lo + 1) / (2 * 1.96), 2)
                                  + pow(es->median_completion_se, 2));
        z = fabs(z) <= slack ? 0 : z > 0 ? z - slack : z + slack;
        printf("    %-30s %12.6g %12.6g z = %+6.2f%s\n", "median completion (days)", med + 0.5,
               es->median_completion, z, fabs(z) <= z_limit ? "" : "  <-- FAIL");
        bad += !(fabs(z) <= z_limit);
    } else {
        printf("    median completion beyond the followed days\n");
    }
    /* how often each rule fired: the fraction of trials */
    for (size_t q = 0; q < s->n_actions; q++) {
        double per, done, frac = fired_fraction(s, q, &per, &done);
        double se = sqrt(frac * (1 - frac) / done);
        char what[64];
        snprintf(what, sizeof what, "rule %zu fired (fraction)", q + 1);
        bad += compare(what, frac, se, es->fired_fraction[q], es->fired_fraction_se[q]);
    }
    es_result_free(es);
    es_free(sc);
    sim_result_free(r);
    scenario_free(s);
    if (bad)
        fail_msg("%s: %d comparisons beyond |z| = %.2f", dir, bad, z_limit);
}

static void remove_tmp(void)
{
    if (!tmp_dir[0])
        return;
    const char *names[] = {"trial.csv", "sites.csv", "schedule.csv", "actions.csv"};
    char path[256];
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp_dir, names[i]);
        unlink(path);
    }
    rmdir(tmp_dir);
}

int main(void)
{
    gsl_set_error_handler_off();
    es_dirs[0] = "scenarios/seed-actions";
    es_dirs[1] = make_mixed_case();
    m_planned = M_EXACT;
    for (size_t i = 0; i < N_ES; i++) {
        es_scenario *sc = es_load(es_dirs[i]);
        m_planned += 3 + sc->ncheckpoints + sc->nactions;
        es_free(sc);
    }
    z_limit = gsl_cdf_ugaussian_Qinv(ALPHA / (2.0 * (double)m_planned));
    printf("family-wise false-alarm rate %.2g (Bonferroni) over %zu comparisons: |z| <= %.3f\n",
           ALPHA, m_planned, z_limit);
    printf("columns: quantity, first estimate (SE), second (SE), z\n");
    struct CMUnitTest tests[4 + N_ES];
    char names[N_ES][96];
    tests[0] = (struct CMUnitTest){"a rule that never fires against the exact mode",
                                   test_never_fires, NULL, NULL, NULL};
    tests[1] = (struct CMUnitTest){"scale_rates always firing against an exact schedule",
                                   test_scale_always, NULL, NULL, NULL};
    tests[2] = (struct CMUnitTest){"add_site always firing against an exact late site",
                                   test_add_site_always, NULL, NULL, NULL};
    tests[3] = (struct CMUnitTest){"identical results on 1 and 3 threads", test_threads, NULL,
                                   NULL, NULL};
    for (size_t i = 0; i < N_ES; i++) {
        snprintf(names[i], sizeof names[i], "engine vs eventsim: %s",
                 i == 0 ? es_dirs[0] : "a mixed case (both actions, caps, schedule)");
        tests[4 + i] = (struct CMUnitTest){names[i], test_against_eventsim, NULL, NULL,
                                           (void *)(uintptr_t)es_dirs[i]};
    }
    int rc = cmocka_run_group_tests_name("actions", tests, NULL, NULL);
    remove_tmp();
    return rc;
}
