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
 * (Bonferroni, tests/zcheck.h); main() counts m and prints Z, and the seeds are fixed, so the
 * test is deterministic. The firing counts of rules that always or never fire are checked exactly.
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
#include "zcheck.h"
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


/* comparisons: never fires 2, scale 4, add_site 4 (P and mean, then the rules-free arm and
 * the paired effect), event simulator 3 + checkpoints + rules per case (main() adds them) */
#define M_EXACT 10

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

/* Tally i of r (see actions.h): rule q's "fired" is ACTIONS_TALLY_RULES + q (K + 1), its
 * firing at review k that plus k + 1. */
static const sim_estimate *rule_tally(const sim_result *r, size_t q, size_t k_plus_1)
{
    return &r->tally[ACTIONS_TALLY_RULES + q * (r->n_checkpoints + 1) + k_plus_1];
}

/* The paired figures against exact values (P without the rules p0, with them p1): the
 * without-arm against p0 and the effect against p1 - p0, each with its own SE. */
static int compare_paired(const sim_result *r, double p0, double p1)
{
    const sim_estimate *w = &r->tally[ACTIONS_TALLY_WITHOUT], *e = &r->tally[ACTIONS_TALLY_EFFECT];
    int bad = zcheck("P(success) without the rules", w->mean, w->se, p0, 0, 0);
    bad += zcheck("effect of the rules (paired)", e->mean, e->se, p1 - p0, 0, 0);
    /* with - without, trial by trial. The actions model's per-trial values are 0 or 1 (plain
     * Monte Carlo) and the differences -1, 0 or 1, so every block sum is an integer below 2^53
     * and exact; the three means are then a / n, b / n and (a - b) / n, which differ from
     * with - without - effect by a few roundings of a division, under 1e-15. 1e-12 bounds
     * that with room. */
    assert_true(fabs(r->p_success.mean - w->mean - e->mean) < 1e-12);
    return bad;
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
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, ACTIONS_NAME);
    printf("  self-pay, every review, below 0 (never fires): exact %.6f, mean %.6f\n", p, mean);
    /* never fired, so with and without the rules are the same trials: effect 0 exactly */
    assert_int_equal(r->n_tallies, ACTIONS_TALLY_RULES + r->n_checkpoints + 1);
    for (size_t k = 0; k <= r->n_checkpoints; k++)
        assert_true(rule_tally(r, 0, k)->mean == 0.0);
    assert_true(r->tally[ACTIONS_TALLY_EFFECT].mean == 0.0);
    assert_true(r->tally[ACTIONS_TALLY_EFFECT].se == 0.0);
    assert_memory_equal(&r->tally[ACTIONS_TALLY_WITHOUT], &r->p_success, sizeof r->p_success);
    int bad = zcheck("P(success)", r->p_success.mean, r->p_success.se, p, 0, 0);
    bad += zcheck("mean", r->mean.mean, r->mean.se, mean, 0, 0);
    sim_result_free(r);
    scenario_free(s);
    if (bad)
        fail_msg("never fires: %d comparisons failed", bad);
}

/* A rule that fires in every trial at the first review and only there, simulated on s, against
 * eq, the scenario it amounts to, computed exactly, and against p0, the exact value without the
 * rule, for the paired effect; frees both scenarios. */
static void check_always_fires(const char *what, scenario *s, scenario *eq, double p0)
{
    double mean, p = exact_p(eq, &mean);
    sim_result *r = simulate(s, ENGINE_TRIALS, 2, ACTIONS_NAME);
    assert_true(rule_tally(r, 0, 0)->mean == 1.0 && rule_tally(r, 0, 1)->mean == 1.0);
    for (size_t k = 2; k <= r->n_checkpoints; k++)
        assert_true(rule_tally(r, 0, k)->mean == 0.0);
    printf("  self-pay, %s %.6f, mean %.6f\n", what, p, mean);
    int bad = zcheck("P(success)", r->p_success.mean, r->p_success.se, p, 0, 0);
    bad += zcheck("mean", r->mean.mean, r->mean.se, mean, 0, 0);
    bad += compare_paired(r, p0, p);
    sim_result_free(r);
    scenario_free(s);
    scenario_free(eq);
    if (bad)
        fail_msg("%s: %d comparisons failed", what, bad);
}

/* ---- always fires at the first review: scale_rates 2 = a schedule x2 from the day after ---- */
static void test_scale_always(void **state)
{
    (void)state;
    scenario *s = load("scenarios/self-pay"), *eq = load("scenarios/self-pay");
    double mean0, p0 = exact_p(s, &mean0);   /* without the rule */
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
    check_always_fires("scale_rates 2 at the first review, always: exact (schedule x2 from "
                       "the day after)", s, eq, p0);
}

/* ---- always fires: add_site = a site active from the day after the review ---- */
static void test_add_site_always(void **state)
{
    (void)state;
    scenario *s = load("scenarios/self-pay"), *eq = load("scenarios/self-pay");
    double mean0, p0 = exact_p(s, &mean0);   /* without the rule */
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
    check_always_fires("add_site 1.5/year (gamma 1) at the first review, always: exact (a "
                       "site from the day after)", s, eq, p0);
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
    assert_int_equal(a->n_tallies, b->n_tallies);
    assert_memory_equal(a->tally, b->tally, a->n_tallies * sizeof *a->tally);
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
    double half = 0.98 / sqrt(n);
    double med = (double)hist_quantile(&r->completion, 0.5) - 1.0;
    double lo = (double)hist_quantile(&r->completion, 0.5 - half) - 1.0;
    double hi = (double)hist_quantile(&r->completion, 0.5 + half) - 1.0;
    if (isfinite(es->median_completion) && med < (double)r->n_days) {
        /* whole days against a continuous median: day + 1/2, slack 1/2 (as test_pools.c) */
        bad += zcheck("median completion (days)", med + 0.5, (hi - lo + 1) / (2 * 1.96),
                      es->median_completion, es->median_completion_se, 0.5);
    } else {
        printf("    median completion beyond the followed days\n");
    }
    /* how often each rule fired: the fraction of trials */
    for (size_t q = 0; q < s->n_actions; q++) {
        const sim_estimate *f = rule_tally(r, q, 0);
        char what[64];
        snprintf(what, sizeof what, "rule %zu fired (fraction)", q + 1);
        bad += zcheck(what, f->mean, f->se, es->fired_fraction[q], es->fired_fraction_se[q], 0);
    }
    es_result_free(es);
    es_free(sc);
    sim_result_free(r);
    scenario_free(s);
    if (bad)
        fail_msg("%s: %d comparisons beyond |z| = %.2f", dir, bad, zcheck_limit);
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
    size_t m_planned = M_EXACT;
    for (size_t i = 0; i < N_ES; i++) {
        es_scenario *sc = es_load(es_dirs[i]);
        m_planned += 3 + sc->ncheckpoints + sc->nactions;
        es_free(sc);
    }
    zcheck_plan(m_planned, ALPHA);
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
    return zcheck_done() ? rc : 1;
}
