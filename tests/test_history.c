/* Tests for models/history.c and the reading of history.csv: the conjugate updates against
 * the formulas worked by hand, the R package `accrual`'s published example reproduced from a
 * history through the exact mode, the pooled fit against a brute-force likelihood grid, the
 * degenerate fits, the guarded quantiles, the table, and the refusals that come from learning.
 * The bad-input corpus (tests/bad-input/history-*) is walked by test_badinput.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include "../models/exact.h"
#include "../models/history.h"
#include "../models/scenario.h"

#define DAYS SCENARIO_DAYS_PER_YEAR

/* ---- scenario folders ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A fresh folder under /tmp holding the files given (history may be NULL). */
static void make_folder(char *dir, size_t len, const char *trial, const char *sites,
                        const char *history)
{
    snprintf(dir, len, "/tmp/accrue-history-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file(dir, "trial.csv", trial);
    write_file(dir, "sites.csv", sites);
    if (history)
        write_file(dir, "history.csv", history);
}

static void remove_folder(const char *dir)
{
    static const char *names[] = {"trial.csv", "sites.csv", "history.csv", "schedule.csv"};
    char path[600];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static scenario *load_ok(const char *dir)
{
    char err[1024] = "";
    scenario *s = scenario_load(dir, err, sizeof err);
    if (!s)
        fail_msg("refused: %s", err);
    return s;
}

static void assert_load_refused(const char *dir, const char *fragment)
{
    char err[1024] = "";
    scenario *s = scenario_load(dir, err, sizeof err);
    if (s) {
        scenario_free(s);
        fail_msg("accepted; expected \"%s\"", fragment);
    }
    if (!strstr(err, fragment))
        fail_msg("message \"%s\"; expected \"%s\"", err, fragment);
}

static date_t day(const char *iso)
{
    date_t d = 0;
    assert_int_equal(date_parse(iso, &d), 0);
    return d;
}

static void assert_close(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fmax(1.0, fabs(want))))
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, rel);
}

static const history_param *param(const scenario *s, const char *name)
{
    assert_non_null(s->learned);
    for (size_t i = 0; i < s->learned->n_params; i++)
        if (strcmp(s->learned->param[i].parameter, name) == 0)
            return &s->learned->param[i];
    fail_msg("no parameter %s", name);
    return NULL;
}

/* ---- the conjugate updates by hand ---- */

#define TRIAL_HEAD "key,value\nas_of,2026-07-18\ndeadline,2029-07-18\ntarget,12\n"

/* Every rule of history.h on one scenario, each expected value worked by hand:
 * history_from 2025-07-18 is 365 days before as_of, so T = 365 / 365.25 years for sites
 * recruiting since then; C starts on 2026-01-18, 181 days before as_of. */
static void test_site_prior_updates(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir,
                TRIAL_HEAD "history_from,2025-07-18\nscreen_pass,beta(2;3)\n"
                "selfpay_from,2026-01-01\nselfpay_consent,beta(3;2)\n",
                "site,rate,rate_shape,active_from\nA,2,3,\nB,1,,\nC,0.5,2,2026-01-18\n"
                "D,1,1,2027-01-01\n",
                "site,referred,outcome,decided\n"
                "A,2025-08-01,registered,2025-09-01\n"    /* passed; before self-pay */
                "A,2025-10-01,screen_failed,2025-11-01\n" /* failed */
                "A,2026-02-01,registered,2026-03-01\n"    /* passed, consented */
                "A,2026-03-01,declined,2026-04-01\n"      /* passed, refused */
                "B,2025-12-01,registered,2026-07-20\n"    /* decided after as_of */
                "C,2025-12-15,screen_failed,2026-01-05\n" /* before C's first day */
                "C,2026-05-01,,\n"                        /* in screening */
                "A,2026-08-01,registered,2026-09-01\n");  /* after as_of: for track */
    scenario *s = load_ok(dir);
    double t_full = 365.0 / DAYS, t_c = 181.0 / DAYS;
    assert_int_equal((long)(day("2026-07-18") - day("2025-07-18")), 365);
    assert_int_equal((long)(day("2026-07-18") - day("2026-01-18")), 181);

    /* A: Gamma(3, mean 2), 4 referrals in T: Gamma(7, mean 7 / (3/2 + T)). */
    const history_param *a = param(s, "rate:A");
    assert_close(a->events, 4.0, 0.0);
    assert_close(a->exposure, t_full, 1e-15);
    assert_close(s->site[0].shape, 7.0, 0.0);
    assert_close(s->site[0].rate, 7.0 / (1.5 + t_full), 1e-15);
    assert_close(a->low, gsl_cdf_gamma_Pinv(0.05, 7.0, s->site[0].rate / 7.0), 1e-12);
    assert_close(a->high, gsl_cdf_gamma_Pinv(0.95, 7.0, s->site[0].rate / 7.0), 1e-12);
    /* B: fixed 1 with exposure: weak prior Gamma(1, mean 1); 1 referral: Gamma(2, 2 / (1 + T)).
     * Its candidate, decided after as_of, is in screening at as_of. */
    assert_int_equal(param(s, "rate:B")->prior_law, HISTORY_GAMMA);
    assert_close(s->site[1].shape, 2.0, 0.0);
    assert_close(s->site[1].rate, 2.0 / (1.0 + t_full), 1e-15);
    /* C: Gamma(2, mean 0.5), only its May referral counts (December's came before its first
     * day): Gamma(3, mean 3 / (2/0.5 + 181/365.25)). */
    assert_close(param(s, "rate:C")->events, 1.0, 0.0);
    assert_close(param(s, "rate:C")->exposure, t_c, 1e-15);
    assert_close(s->site[2].shape, 3.0, 0.0);
    assert_close(s->site[2].rate, 3.0 / (4.0 + t_c), 1e-15);
    /* D starts after as_of: no exposure, its prior unchanged. */
    assert_close(s->site[3].shape, 1.0, 0.0);
    assert_close(s->site[3].rate, 1.0, 0.0);
    /* screen_pass: passed A Aug, A Feb, A Mar (declined after passing) = 3; failed A Oct,
     * C Dec = 2; B is undecided at as_of. Beta(2 + 3, 3 + 2). */
    assert_true(s->screen_pass.is_beta);
    assert_close(s->screen_pass.a, 5.0, 0.0);
    assert_close(s->screen_pass.b, 5.0, 0.0);
    assert_close(param(s, "screen_pass")->low, gsl_cdf_beta_Pinv(0.05, 5.0, 5.0), 1e-12);
    /* selfpay_consent: referred from 2026-01-01 and passed: A Feb consented, A Mar refused.
     * Beta(3 + 1, 2 + 1). A Aug passed before self-pay and is not a consent. */
    assert_close(s->selfpay_consent.a, 4.0, 0.0);
    assert_close(s->selfpay_consent.b, 3.0, 0.0);
    assert_close(s->selfpay_consent.value, 4.0 / 7.0, 1e-15);
    /* Counted at as_of: registered before it A Aug and A Feb; in screening B and C May. */
    assert_int_equal(s->enrolled, 2);
    assert_int_equal(s->screening, 2);
    assert_int_equal(s->learned->n_before, 7);
    assert_int_equal(s->learned->n_after, 1);
    assert_int_equal(s->learned->last_date, day("2026-09-01"));
    /* The priors stay visible. */
    assert_close(a->prior_a, 3.0, 0.0);
    assert_close(a->prior_b, 2.0, 0.0);
    assert_string_equal(a->prior, "gamma(shape 3; mean 2/year)");
    assert_string_equal(a->data, "4 referrals in 0.9993 years");
    scenario_free(s);
    remove_folder(dir);
}

/* A schedule weights the exposure: factor 0.5 from 2026-01-18 on gives
 * T = (184 + 0.5 x 181) / 365.25 years. */
static void test_schedule_weights_exposure(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir, TRIAL_HEAD "history_from,2025-07-18\n",
                "site,rate,rate_shape\nA,2,3\n",
                "site,referred,outcome,decided\nA,2025-08-01,,\n");
    write_file(dir, "schedule.csv", "site,from,factor\nA,2026-01-18,0.5\n");
    scenario *s = load_ok(dir);
    double t = (184.0 + 0.5 * 181.0) / DAYS;
    assert_close(param(s, "rate:A")->exposure, t, 1e-15);
    assert_close(s->site[0].rate, 4.0 / (1.5 + t), 1e-15);
    scenario_free(s);
    remove_folder(dir);
}

/* Fixed probabilities are kept (not learned) and the table says so; a fixed rate without
 * exposure is kept; a gamma of mean 0 stays 0. */
static void test_fixed_values_kept(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir,
                TRIAL_HEAD "history_from,2025-07-18\nscreen_pass,0.7\nselfpay_consent,0.6\n",
                "site,rate,rate_shape,active_from\nA,1,,\nLate,2,,2027-01-01\nShut,0,2,\n",
                "site,referred,outcome,decided\nA,2025-08-01,registered,2025-09-01\n"
                "A,2025-10-01,screen_failed,2025-11-01\n");
    scenario *s = load_ok(dir);
    assert_false(s->screen_pass.is_beta);
    assert_close(s->screen_pass.value, 0.7, 0.0);
    assert_false(param(s, "screen_pass")->learned);
    assert_non_null(strstr(param(s, "screen_pass")->data, "not learned: fixed"));
    assert_close(param(s, "screen_pass")->low, 0.7, 0.0);
    assert_close(s->selfpay_consent.value, 0.6, 0.0);
    assert_close(s->site[1].shape, 0.0, 0.0);
    assert_close(s->site[1].rate, 2.0, 0.0);
    assert_false(param(s, "rate:Late")->learned);
    assert_close(s->site[2].rate, 0.0, 0.0);
    assert_close(s->site[2].shape, 2.0, 0.0);
    assert_close(param(s, "rate:Shut")->high, 0.0, 0.0);
    /* A: fixed 1 with a year of exposure: Gamma(1 + 2, mean 3 / (1 + T)). */
    assert_close(s->site[0].shape, 3.0, 0.0);
    assert_close(s->site[0].rate, 3.0 / (1.0 + 365.0 / DAYS), 1e-15);
    scenario_free(s);
    remove_folder(dir);
}

/* ---- the R package accrual's example ---- */

/* accrual.n.inform / accrual.T.inform (Gajewski, Simon and Carlson 2008): target n = 300 in
 * T = 36 months with prior certainty P = 0.5, m = 100 accrued by tm = 10 months. The prior on
 * the accrual rate is Gamma(shape nP = 150, rate TP = 18 months), the data m in tm, the
 * posterior Gamma(250, rate 28 months); P(300 by month 36) = P(NB(shape 250, mean 26 x 250/28)
 * >= 200) = P(Beta(200, 250) <= 26/54) = 0.9426287981 (GSL), published as 0.9426.
 *
 * Days replace months: with a month of exactly 30 days, 10 months of history are 300 days and
 * the remaining 26 months a window of 780 days, so the day grid adds no error; the scale of
 * time cancels from P(success). The prior is one site of rate 150 / 540 per day (365.25 times
 * that per year) and shape 150; the history holds 100 registrations (screen_days 0, referred
 * and registered the same day) over the 300 days.
 *
 * Tolerance: the published value has 4 decimals, so it is the true value rounded: |true -
 * 0.9426| <= 0.00005. The exact mode's own error is below 1e-9 (exact.h), so the computed value
 * must be within 0.00005 + 1e-9 of 0.9426, and within 1e-9 of the closed forms above. */
static void test_accrual_package_example(void **state)
{
    (void)state;
    date_t from = day("2024-01-01"), as_of = from + 300, deadline = as_of + 779;
    char f[11], a[11], dl[11], trial[512], sites[256];
    date_format(from, f);
    date_format(as_of, a);
    date_format(deadline, dl);
    snprintf(trial, sizeof trial, "key,value\nas_of,%s\ndeadline,%s\ntarget,300\n"
             "history_from,%s\n", a, dl, f);
    snprintf(sites, sizeof sites, "site,rate,rate_shape\nsite-1,%.17g,150\n",
             150.0 / 540.0 * DAYS);
    size_t cap = 64 + 100 * 64, len = 0;
    char *history = malloc(cap);
    assert_non_null(history);
    len += (size_t)snprintf(history + len, cap - len, "site,referred,outcome,decided\n");
    for (int j = 0; j < 100; j++) {
        char d[11];
        date_format(from + 3 * j, d); /* days 0, 3, ..., 297: all before as_of */
        len += (size_t)snprintf(history + len, cap - len, "site-1,%s,registered,%s\n", d, d);
    }
    char dir[64];
    make_folder(dir, sizeof dir, trial, sites, history);
    free(history);
    scenario *s = load_ok(dir);
    assert_int_equal(s->enrolled, 100);
    assert_int_equal(s->screening, 0);
    assert_int_equal(scenario_window_days(s), 780);
    /* Posterior: shape 250, rate per day 250 / (540 + 300). */
    assert_close(s->site[0].shape, 250.0, 1e-15);
    assert_close(s->site[0].rate, 250.0 / 840.0 * DAYS, 1e-13);

    exact_dist d;
    char err[256];
    assert_int_equal(exact_deadline_dist(s, &d, err, sizeof err), 0);
    double p = exact_p_at_least(&d, 300);
    exact_dist_free(&d);
    double mean = 780.0 * 250.0 / 840.0;
    double nb = gsl_cdf_negative_binomial_Q(199, 250.0 / (250.0 + mean), 250.0);
    double beta = gsl_cdf_beta_P(26.0 / 54.0, 200.0, 250.0);
    assert_true(fabs(nb - beta) < 1e-12);
    assert_true(fabs(p - nb) < 1e-9);
    assert_true(fabs(p - 0.9426) <= 0.00005 + 1e-9);
    scenario_free(s);
    remove_folder(dir);
}

/* A small case by hand: one site, Gamma(2, mean 1) prior, 4 referrals in 365 days, 3 of them
 * registered and 1 in screening at as_of (passes surely); target 6, deadline 365 days after
 * as_of (window 366 days), screen_days 0. Posterior Gamma(6, rate 2 + 365/365.25 per year);
 * new registrations NB(shape 6, p = rate / (rate + 366/365.25)); P(N >= 6) = P(NB >= 6 - 3 -
 * 1 = 2) = 1 - p^6 - 6 p^6 (1 - p). */
static void test_small_case_by_hand(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir,
                "key,value\nas_of,2026-07-18\ndeadline,2027-07-18\ntarget,6\n"
                "history_from,2025-07-18\n",
                "site,rate,rate_shape\nA,1,2\n",
                "site,referred,outcome,decided\nA,2025-09-01,registered,2025-09-01\n"
                "A,2025-11-01,registered,2025-11-01\nA,2026-01-01,registered,2026-01-01\n"
                "A,2026-07-01,,\n");
    scenario *s = load_ok(dir);
    assert_int_equal(scenario_window_days(s), 366);
    assert_int_equal(s->enrolled, 3);
    assert_int_equal(s->screening, 1);
    exact_dist d;
    char err[256];
    assert_int_equal(exact_deadline_dist(s, &d, err, sizeof err), 0);
    double rate = 2.0 + 365.0 / DAYS, p = rate / (rate + 366.0 / DAYS);
    double want = 1.0 - pow(p, 6) - 6.0 * pow(p, 6) * (1.0 - p);
    assert_close(exact_p_at_least(&d, 6), want, 1e-10);
    exact_dist_free(&d);
    scenario_free(s);
    remove_folder(dir);
}

/* ---- the pooled fit ---- */

/* The negative binomial log-likelihood written independently of history.c, from GSL's pmf:
 * gsl_ran_negative_binomial_pdf(k, p, n) = Gamma(n + k) / (Gamma(k + 1) Gamma(n)) p^n
 * (1 - p)^k with n = shape and p = beta / (beta + t), beta = shape / mean. */
static double loglik_gsl(size_t m, const double *n, const double *t, double shape, double mean)
{
    double sum = 0.0, beta = shape / mean;
    for (size_t i = 0; i < m; i++)
        if (t[i] > 0.0)
            sum += log(gsl_ran_negative_binomial_pdf((unsigned)n[i], beta / (beta + t[i]),
                                                     shape));
    return sum;
}

typedef struct grid_max {
    double loglik, log_shape, log_mean;
} grid_max;

/* The largest log-likelihood on a grid of step h in log-shape and log-mean, over shapes
 * [0.01, 1000] and means within a factor e^3 of N / sum t. */
static grid_max brute_force(size_t m, const double *n, const double *t, double h)
{
    double n_sum = 0.0, t_sum = 0.0;
    for (size_t i = 0; i < m; i++) {
        n_sum += n[i];
        t_sum += t[i];
    }
    grid_max best = {-INFINITY, 0.0, 0.0};
    double centre = log(n_sum / t_sum);
    for (double ls = log(0.01); ls <= log(1000.0); ls += h)
        for (double lm = centre - 3.0; lm <= centre + 3.0; lm += h) {
            double f = loglik_gsl(m, n, t, exp(ls), exp(lm));
            if (f > best.loglik)
                best = (grid_max){f, ls, lm};
        }
    return best;
}

static void test_pooled_fit_matches_grid(void **state)
{
    (void)state;
    static const struct {
        size_t m;
        double n[6], t[6];
    } cases[] = {
        {5, {5, 1, 0, 0, 0}, {5, 5, 5, 5, 5}},             /* the seed's shape of data */
        {6, {12, 3, 7, 0, 25, 1}, {2, 1.5, 3, 0.5, 4, 1}},
        {3, {40, 2, 9}, {1, 1, 2}},
        {4, {1, 0, 12, 0}, {1, 0, 2, 1}},                  /* a site without exposure */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t m = cases[c].m;
        const double *n = cases[c].n, *t = cases[c].t;
        /* history_nb_loglik agrees with GSL's pmf. */
        assert_close(history_nb_loglik(m, n, t, 0.7, 1.3), loglik_gsl(m, n, t, 0.7, 1.3),
                     1e-12);
        assert_close(history_nb_loglik(m, n, t, 5e4, 2.0), loglik_gsl(m, n, t, 5e4, 2.0),
                     1e-9);
        double shape, mean;
        assert_int_equal(history_pool_fit(m, n, t, &shape, &mean), HISTORY_POOL_FITTED);
        double h = 0.01;
        grid_max g = brute_force(m, n, t, h);
        double fit = history_nb_loglik(m, n, t, shape, mean);
        /* No grid point beats the fit, and the fit beats the best grid point by no more than
         * the grid's resolution allows (the surface is flat to 1e-3 within half a step). */
        assert_true(fit >= g.loglik - 1e-9);
        assert_true(fit - g.loglik < 1e-3);
        assert_true(fabs(log(shape) - g.log_shape) <= 3 * h);
        assert_true(fabs(log(mean) - g.log_mean) <= 3 * h);
        /* And it is a maximum: every neighbour is lower. */
        for (int ds = -1; ds <= 1; ds++)
            for (int dm = -1; dm <= 1; dm++)
                if (ds || dm)
                    assert_true(history_nb_loglik(m, n, t, shape * exp(1e-4 * ds),
                                                  mean * exp(1e-4 * dm)) <= fit + 1e-12);
    }
}

/* With equal exposures the profiled mean is N / sum t whatever the shape (setting d loglik /
 * d beta = 0 gives (m shape + N) beta / (beta + t) = m shape); so is the fit's. */
static void test_pooled_equal_exposures(void **state)
{
    (void)state;
    double n[4] = {9, 0, 2, 4}, t[4] = {2, 2, 2, 2}, shape, mean;
    assert_int_equal(history_pool_fit(4, n, t, &shape, &mean), HISTORY_POOL_FITTED);
    assert_close(mean, 15.0 / 8.0, 1e-12);
}

static void test_pooled_degenerate(void **state)
{
    (void)state;
    double shape, mean;
    /* All alike: the counts vary less than Poisson ones; the maximum is at infinite shape,
     * the common rate N / sum t. */
    double n1[4] = {3, 3, 3, 3}, t1[4] = {1, 1, 1, 1};
    assert_int_equal(history_pool_fit(4, n1, t1, &shape, &mean), HISTORY_POOL_ALIKE);
    assert_true(isinf(shape));
    assert_close(mean, 3.0, 1e-15);
    /* One site: one count cannot show any spread between sites. */
    double n2[1] = {7}, t2[1] = {2};
    assert_int_equal(history_pool_fit(1, n2, t2, &shape, &mean), HISTORY_POOL_ALIKE);
    assert_close(mean, 3.5, 1e-15);
    /* No referral: the likelihood rises as the mean falls to 0. */
    double n3[2] = {0, 0}, t3[2] = {1, 3};
    assert_int_equal(history_pool_fit(2, n3, t3, &shape, &mean), HISTORY_POOL_NO_REFERRALS);
    assert_close(mean, 0.0, 0.0);
    assert_true(isnan(shape));
    /* No exposure. */
    double n4[2] = {0, 0}, t4[2] = {0, 0};
    assert_int_equal(history_pool_fit(2, n4, t4, &shape, &mean), HISTORY_POOL_NO_EXPOSURE);
    assert_true(isnan(shape) && isnan(mean));
    /* One site with every referral among 200 equal ones: as unlike as can be; the likelihood
     * is largest at or below the smallest allowed shape. */
    double n5[200] = {1000}, t5[200];
    for (int i = 0; i < 200; i++)
        t5[i] = 1.0;
    history_pool_status st = history_pool_fit(200, n5, t5, &shape, &mean);
    assert_int_equal(st, HISTORY_POOL_LOW_SHAPE);
    assert_close(shape, SCENARIO_MIN_SHAPE, 0.0);
    assert_true(history_nb_loglik(200, n5, t5, 0.01, mean)
                >= history_nb_loglik(200, n5, t5, 0.0101, mean) - 1e-12);
}

/* The pooled scenario: every site's posterior from the fitted law and its own data; in the
 * all-alike case every site gets Gamma(N / sites, N / sum T) and no further update. */
static void test_pooled_scenario(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir, TRIAL_HEAD "history_from,2025-07-18\nrate_prior,pooled\n",
                "site,rate\nA,1\nB,1\nC,1\nLate,1\n",
                "site,referred,outcome,decided\nA,2025-08-01,,\nA,2025-09-01,,\n"
                "A,2025-10-01,,\nA,2025-11-01,,\nA,2025-12-01,,\nA,2026-01-01,,\n"
                "B,2025-08-01,,\n");
    write_file(dir, "sites.csv",
               "site,rate,active_from\nA,1,\nB,1,\nC,1,\nLate,1,2027-01-01\n");
    scenario *s = load_ok(dir);
    double t = 365.0 / DAYS, n[4] = {6, 1, 0, 0}, tt[4] = {t, t, t, 0}, shape, mean;
    assert_int_equal(history_pool_fit(4, n, tt, &shape, &mean), HISTORY_POOL_FITTED);
    assert_int_equal(s->learned->pool, HISTORY_POOL_FITTED);
    assert_close(s->learned->pool_shape, shape, 0.0);
    assert_close(mean, 7.0 / (3.0 * t), 1e-12); /* equal exposures among the exposed */
    for (int i = 0; i < 4; i++) {
        assert_close(s->site[i].shape, shape + n[i], 1e-15);
        assert_close(s->site[i].rate, (shape + n[i]) / (shape / mean + tt[i]), 1e-15);
    }
    assert_non_null(strstr(s->learned->note, "maximum negative-binomial likelihood"));
    scenario_free(s);

    write_file(dir, "history.csv", "site,referred,outcome,decided\nA,2025-08-01,,\n"
                                   "B,2025-08-01,,\nC,2025-08-01,,\n");
    s = load_ok(dir);
    assert_int_equal(s->learned->pool, HISTORY_POOL_ALIKE);
    for (int i = 0; i < 4; i++) {
        assert_close(s->site[i].shape, 3.0 / 4.0, 1e-15);
        assert_close(s->site[i].rate, 3.0 / (3.0 * t), 1e-15);
    }
    assert_non_null(strstr(s->learned->note, "infinite shape"));
    scenario_free(s);

    /* No referral: each site's own prior (fixed 1: weak Gamma(1, 1)) with its exposure. */
    write_file(dir, "history.csv", "site,referred,outcome,decided\n");
    s = load_ok(dir);
    assert_int_equal(s->learned->pool, HISTORY_POOL_NO_REFERRALS);
    assert_close(s->site[0].shape, 1.0, 0.0);
    assert_close(s->site[0].rate, 1.0 / (1.0 + t), 1e-15);
    assert_close(s->site[3].shape, 0.0, 0.0); /* Late: no exposure, kept fixed */
    scenario_free(s);
    remove_folder(dir);
}

/* ---- quantiles, the table, the API's rules ---- */

/* The intervals come from engine/quantile.h (tested in tests/test_quantile.c); here, that
 * they are the 5 % and 95 % points where GSL's inverses fail or hang, and the fixed cases. */
static void test_intervals_guarded(void **state)
{
    (void)state;
    gsl_set_error_handler_off();
    double lo, hi;
    /* Small shapes: GSL's inverse returns NaN for the lower quantile. Gamma(0.01, mean 1):
     * P(X <= x) ~ (x / 100)^0.01 / Gamma(1.01) near 0, so the 5 % point is near
     * 100 (0.05 x 0.99433)^100 = 4.5e-129; checked through GSL's distribution function. */
    history_gamma_interval(0.01, 1.0, &lo, &hi);
    assert_true(lo > 1e-130 && lo < 1e-128);
    assert_close(gsl_cdf_gamma_P(lo, 0.01, 100.0), 0.05, 1e-9);
    assert_close(gsl_cdf_gamma_P(hi, 0.01, 100.0), 0.95, 1e-9);
    history_gamma_interval(1e5, 3.0, &lo, &hi);
    assert_close(lo, gsl_cdf_gamma_Pinv(0.05, 1e5, 3e-5), 1e-9);
    assert_close(hi, gsl_cdf_gamma_Pinv(0.95, 1e5, 3e-5), 1e-9);
    history_gamma_interval(0.0, 3.0, &lo, &hi); /* fixed */
    assert_true(lo == 3.0 && hi == 3.0);
    history_gamma_interval(2.0, 0.0, &lo, &hi); /* a rate of 0 */
    assert_true(lo == 0.0 && hi == 0.0);
    /* Beta(1e6, 1e6): GSL's inverse runs for hours; here at once, and the normal law (the
     * skewness is 0, the excess kurtosis -3 / (2e6)) gives 0.5 -/+ 1.6449 sqrt(0.25 / 2000001). */
    clock_t c0 = clock();
    history_beta_interval(1e6, 1e6, &lo, &hi);
    assert_true((double)(clock() - c0) / CLOCKS_PER_SEC < 0.5);
    double sd = sqrt(0.25 / (2e6 + 1.0));
    assert_close(lo, 0.5 - 1.6448536269514722 * sd, 1e-7);
    assert_close(hi, 0.5 + 1.6448536269514722 * sd, 1e-7);
    history_beta_interval(20.0, 2e4, &lo, &hi);
    assert_close(lo, gsl_cdf_beta_Pinv(0.05, 20.0, 2e4), 1e-9);
    /* Posterior parameters may pass the scenario's bound of 1e6 by the history's rows:
     * Beta(2e6, 3) has 1 - X close to Gamma(3, scale 1 / 2e6), whose 95 % point is 6.2958 /
     * 2e6, so the 5 % point of X is 1 - 3.148e-6. */
    history_beta_interval(2e6, 3.0, &lo, &hi);
    assert_true(fabs((1.0 - lo) - gsl_cdf_gamma_Pinv(0.95, 3.0, 1.0) / 2e6) < 1e-8);
    history_beta_interval(0.01, 2e6, &lo, &hi);
    assert_true(isfinite(lo) && isfinite(hi) && lo >= 0.0 && hi < 1e-5);
}

static void test_table_and_api(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir, TRIAL_HEAD "history_from,2025-07-18\nscreen_pass,beta(1;1)\n",
                "site,rate,rate_shape\n\"North, upper\",2,2\n",
                "site,referred,outcome,decided\n\"North, upper\",2025-08-01,registered,"
                "2025-09-01\n");
    /* scenario_load_prior reads and counts, learns nothing. */
    char err[512];
    scenario *s = scenario_load_prior(dir, err, sizeof err);
    assert_non_null(s);
    assert_null(s->learned);
    assert_close(s->site[0].rate, 2.0, 0.0);
    assert_int_equal(s->enrolled, 1);
    assert_int_equal(history_apply(s, err, sizeof err), 0);
    assert_non_null(s->learned);
    assert_close(s->site[0].shape, 3.0, 0.0);
    /* A second learning would count the data twice. */
    assert_int_equal(history_apply(s, err, sizeof err), -1);
    assert_non_null(strstr(err, "already learned"));
    assert_close(s->site[0].shape, 3.0, 0.0);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(history_write_csv(s->learned, f), 0);
    fclose(f);
    double t = 365.0 / DAYS, post = 3.0 / (1.0 + t);
    char want[512];
    snprintf(want, sizeof want,
             "parameter,prior,data,posterior_mean,posterior_low,posterior_high,posterior\n"
             "\"rate:North, upper\",gamma(shape 2; mean 2/year),1 referral in 0.9993 years,"
             "%.6g,", post);
    assert_memory_equal(buf, want, strlen(want));
    assert_non_null(strstr(buf, "\nscreen_pass,beta(1;1),\"1 passed, 0 failed\",0.666667,"));
    assert_non_null(strstr(buf, "\nselfpay_consent,fixed 1,\"0 consented, 0 refused (not "
                                "learned: fixed)\",1,1,1,fixed 1\n"));
    free(buf);

    /* The terminal table stays under 80 columns. */
    f = open_memstream(&buf, &len);
    history_print(s->learned, f);
    fclose(f);
    for (const char *line = buf; *line;) {
        size_t n = strcspn(line, "\n");
        if (n >= 80)
            fail_msg("line of %zu columns: %.*s", n, (int)n, line);
        line += n + (line[n] == '\n');
    }
    assert_non_null(strstr(buf, "rate:North, upper"));
    free(buf);
    scenario_free(s);
    remove_folder(dir);
}

/* history_count at several days: registrations by the end of day D are the count at D + 1. */
static void test_history_count(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir, TRIAL_HEAD "history_from,2025-07-18\nscreen_pass,beta(1;1)\n",
                "site,rate\nA,1\n",
                "site,referred,outcome,decided\nA,2025-08-01,registered,2025-09-01\n"
                "A,2026-07-01,registered,2026-08-01\nA,2026-09-01,,\n"
                "A,2026-09-02,screen_failed,2026-10-01\n");
    scenario *s = load_ok(dir);
    long reg, scr;
    history_count(s, day("2026-07-18"), &reg, &scr);
    assert_int_equal(reg, 1);
    assert_int_equal(scr, 1);
    history_count(s, day("2026-08-01"), &reg, &scr); /* decided that day: not yet */
    assert_int_equal(reg, 1);
    history_count(s, day("2026-08-02"), &reg, &scr);
    assert_int_equal(reg, 2);
    assert_int_equal(scr, 0);
    history_count(s, day("2026-09-15"), &reg, &scr);
    assert_int_equal(scr, 2);
    assert_int_equal(s->learned->last_date, day("2026-10-01"));
    scenario_free(s);
    remove_folder(dir);
}

/* What learning refuses is refused by scenario_load with the history's line;
 * scenario_load_prior reads the same folder. */
static void test_learning_refusals(void **state)
{
    (void)state;
    char dir[64], err[512];
    make_folder(dir, sizeof dir, TRIAL_HEAD "history_from,2025-07-18\n", "site,rate\nA,1\n",
                "site,referred,outcome,decided\nA,2025-08-01,registered,2025-09-01\n"
                "A,2025-10-01,screen_failed,2025-11-01\n");
    assert_load_refused(dir, "history.csv:3: screen_pass is fixed at 1");
    scenario *s = scenario_load_prior(dir, err, sizeof err);
    assert_non_null(s);
    scenario_free(s);
    /* The history file's messages name it as given. */
    write_file(dir, "trial.csv", TRIAL_HEAD "history_from,2025-07-18\nscreen_pass,beta(1;1)\n"
                                 "enrolled,1\nscreening,0\n");
    s = load_ok(dir);
    scenario_free(s);
    write_file(dir, "trial.csv", TRIAL_HEAD "history_from,2025-07-18\nscreen_pass,beta(1;1)\n"
                                 "enrolled,0\n");
    assert_load_refused(dir, "trial.csv:7: enrolled 0 disagrees with history.csv, which has 1 "
                             "registered before as_of 2026-07-18");
    remove_folder(dir);
}

/* A scenario without a history means what it meant before: nothing learned, defaults as
 * before (active_from as_of, counts 0). */
static void test_no_history_unchanged(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, sizeof dir, TRIAL_HEAD, "site,rate\nA,1\n", NULL);
    scenario *s = load_ok(dir);
    assert_false(s->has_history);
    assert_null(s->learned);
    assert_null(s->history);
    assert_int_equal(s->site[0].active_from, s->as_of);
    assert_int_equal(history_apply(s, NULL, 0), 0);
    assert_null(s->learned);
    scenario_free(s);
    remove_folder(dir);
}

/* The shipped example loads and learns what its README says: 2 registered, 2 in screening,
 * screen_pass beta(3;3), the lead site's rate Gamma(6, mean 6 / (1/2 + T)) with T = 1825
 * days. */
static void test_seed_history(void **state)
{
    (void)state;
    scenario *s = load_ok("scenarios/seed-history");
    assert_int_equal(s->enrolled, 2);
    assert_int_equal(s->screening, 2);
    assert_close(s->screen_pass.a, 3.0, 0.0);
    assert_close(s->screen_pass.b, 3.0, 0.0);
    double t = 1825.0 / DAYS;
    assert_close(s->site[0].shape, 6.0, 0.0);
    assert_close(s->site[0].rate, 6.0 / (0.5 + t), 1e-15);
    scenario_free(s);
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_site_prior_updates),
        cmocka_unit_test(test_schedule_weights_exposure),
        cmocka_unit_test(test_fixed_values_kept),
        cmocka_unit_test(test_accrual_package_example),
        cmocka_unit_test(test_small_case_by_hand),
        cmocka_unit_test(test_pooled_fit_matches_grid),
        cmocka_unit_test(test_pooled_equal_exposures),
        cmocka_unit_test(test_pooled_degenerate),
        cmocka_unit_test(test_pooled_scenario),
        cmocka_unit_test(test_intervals_guarded),
        cmocka_unit_test(test_table_and_api),
        cmocka_unit_test(test_history_count),
        cmocka_unit_test(test_learning_refusals),
        cmocka_unit_test(test_no_history_unchanged),
        cmocka_unit_test(test_seed_history),
    };
    return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
