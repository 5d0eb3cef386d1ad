/* Statistical validation of the simulator (the models driven by engine/sim.c) against exact
 * results across the parameter space (the finite-pools and corrective-action models, which
 * have no exact mode, against the event-by-event simulator tests/eventsim.c): the exact
 * distribution at the deadline (models/exact.c), closed forms where they exist (Poisson,
 * binomial, beta-binomial and negative-binomial tails), Erlang completion dates and their beta
 * mixtures (GSL adaptive quadrature), checkpoint means.
 *
 * Run without arguments (part of `make test`) it runs the fast subset; with --full (`make
 * validate`) ten times the trials, on other seeds, and every configuration. Both are
 * deterministic: the seeds are fixed and results do not depend on the thread count.
 *
 * Tolerances. Every statistical comparison passes when |z| <= 4. For a mean over the trials
 * (conditional probabilities, counts, pmf entries) z = (estimate - exact) / (SE + floor), normal
 * by the central limit theorem; for a fraction of trials (plain P(success), checkpoint and
 * completion-date probabilities) z is the normal score of the exact two-sided binomial tail,
 * valid for rare events too; for a completion-date quantile z = (day - exact day) /
 * (SE + 1/4), one day of rounding allowed (see compare_erlang_quantiles). Under the null each
 * comparison fails with probability at most 2 (1 - Phi(4)) = 6.334e-5, so m comparisons fail
 * together with probability at most m * 6.334e-5 (Bonferroni; many are positively correlated,
 * which only lowers it). The fast run makes m = 1043 comparisons: family-wise false-alarm rate
 * at most 6.6 %; the full run 1064: at most 6.7 %. The counts are printed at the end.
 * Since the seeds are fixed, a run that passes once passes always: a failure after a change is
 * a bug until shown otherwise (run with --verbose to see every comparison).
 * The floor: exact values are accurate to about 1e-10 (exact.h: quadrature tolerance 1e-10,
 * truncation 2e-13), and when nothing is uncertain the conditional estimator has SE 0; a floor
 * of 2.5e-10 (relative, for means) makes the tolerance 1e-9 there, as good as rounding allows.
 * Deterministic checks (closed forms against the exact mode, exact_mean against the mean of the
 * exact pmf, completion tally against successes) have their own tolerances, stated at each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include "../models/model.h"
#include "../models/exact.h"
#include "eventsim.c"

#define YEAR EXACT_DAYS_PER_YEAR
#define MAX_SITES 40
#define Z_LIMIT 4.0
#define FALSE_ALARM_EACH 6.334e-5     /* erfc(4 / sqrt 2): P(|Z| > 4) for a standard normal */
#define SE_FLOOR 2.5e-10              /* see the file comment: 4 * 2.5e-10 = 1e-9 */
#define TRIALS_FAST 32768u            /* 8 blocks of SIM_BLOCK_TRIALS */
#define TRIALS_FULL (10u * TRIALS_FAST)
#define SEED_FAST 20260718u
#define SEED_FULL 19700101u
#define THREADS 2

static int full_run;                  /* --full */
static int verbose;                   /* --verbose: print every comparison */

/* ---- scenarios built by hand ---------------------------------------------------------------- */

typedef struct fixture {
    scenario s;
    site_spec site[MAX_SITES];
    char site_name[MAX_SITES][8];
} fixture;

static char fixture_name[] = "validation";
static char empty_note[] = "";

static date_t as_of(void) { return date_from_ymd(2026, 7, 18); }

/* Day `offset` counted from as_of (day 0). */
static date_t day(long offset) { return as_of() + (date_t)offset; }

static void add_site(fixture *f, double rate, double shape, date_t active_from)
{
    size_t i = f->s.n_sites++;
    snprintf(f->site_name[i], sizeof f->site_name[i], "s%zu", i);
    f->site[i] = (site_spec){.name = f->site_name[i], .rate = rate, .shape = shape,
                             .active_from = active_from, .active_to = active_from,
                             .opens = 1.0, .note = empty_note};
}

/* The protocol's plan (DESIGN.md section 7): 2026-07-18 to 2029-07-18 (W = 1097 days), target
 * 12, 2 enrolled, 2 in screening, sites at 1, 1, 1/3, 1/3, 1/3 a year; p = q = 1. Every
 * configuration starts from it. */
static void fixture_plan(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->s = (scenario){
        .name = fixture_name, .source = fixture_name, .as_of = as_of(),
        .deadline = date_from_ymd(2029, 7, 18), .target = 12, .enrolled = 2, .screening = 2,
        .screen_pass = {.value = 1.0}, .selfpay_from = as_of(), .selfpay_consent = {.value = 1.0},
        .review_months = 6, .horizon_years = 10.0, .site = f->site,
    };
    static const double rates[5] = {1.0, 1.0, 1.0 / 3, 1.0 / 3, 1.0 / 3};
    for (int i = 0; i < 5; i++)
        add_site(f, rates[i], 0.0, as_of());
}

/* Replaces the sites by n sites of one rate and shape, all recruiting from as_of. */
static void uniform_sites(fixture *f, size_t n, double rate, double shape)
{
    f->s.n_sites = 0;
    for (size_t i = 0; i < n; i++)
        add_site(f, rate, shape, as_of());
}

static void all_shapes(fixture *f, double shape)
{
    for (size_t i = 0; i < f->s.n_sites; i++)
        f->site[i].shape = shape;
}

static prob_spec fixed(double v) { return (prob_spec){.value = v}; }

static prob_spec beta(double a, double b)
{
    return (prob_spec){.is_beta = true, .value = a / (a + b), .a = a, .b = b};
}

/* Exposure of referrals counted by the deadline, in years, at p = q = 1 (exact.h). */
static double exposure_years(const scenario *s, size_t site)
{
    double before, after;
    exact_site_exposure(s, site, &before, &after);
    return (before + after) / YEAR;
}

/* ---- the configurations --------------------------------------------------------------------
 * Each builder changes the plan. Those with a closed form for P(N >= target) give it (closed);
 * the others return NAN there. Comments say what each one exercises. */

/* P(Poisson(mu) >= r); GSL's Q refuses mu = 0, where the answer is plain. */
static double poisson_tail(double mu, long r)
{
    if (r <= 0)
        return 1.0;
    return mu > 0.0 ? gsl_cdf_poisson_Q((unsigned)(r - 1), mu) : 0.0;
}

/* The plan itself: nothing uncertain, so the conditional estimator must be exact (SE 0):
 * N = 4 + Poisson(3 * 1097 / 365.25). */
static void cfg_plan(fixture *f) { (void)f; }
static double closed_plan(const scenario *s)
{
    return poisson_tail(3.0 * 1097.0 / YEAR, s->target - 4);
}

static void cfg_plan_gamma2(fixture *f) { all_shapes(f, 2.0); }

/* Fixed consent 1/2 from as_of halves the Poisson mean. */
static void cfg_consent_half(fixture *f) { f->s.selfpay_consent = fixed(0.5); }
static double closed_consent_half(const scenario *s)
{
    return poisson_tail(0.5 * 3.0 * 1097.0 / YEAR, s->target - 4);
}

/* Self-pay from mid-window with uncertain consent and uncertain rates. */
static void cfg_selfpay_mid_beta(fixture *f)
{
    f->s.selfpay_from = day(365);
    f->s.selfpay_consent = beta(2, 3);
    all_shapes(f, 3.0);
}

/* Self-pay already in force before as_of: the whole window is thinned. */
static void cfg_selfpay_before_as_of(fixture *f)
{
    f->s.selfpay_from = date_from_ymd(2025, 1, 1);
    f->s.selfpay_consent = beta(3, 3);
}

/* Self-pay from after the deadline: the uncertain consent must not matter. */
static void cfg_selfpay_after_deadline(fixture *f)
{
    f->s.selfpay_from = date_from_ymd(2030, 1, 1);
    f->s.selfpay_consent = beta(1, 9);
    all_shapes(f, 2.0);
}

/* Jeffreys' beta(0.5; 0.5) screen pass: density spikes at both ends. */
static void cfg_pass_jeffreys(fixture *f)
{
    f->s.screen_pass = beta(0.5, 0.5);
    f->s.screening = 6;
    f->s.screen_days = 60;
    f->s.target = 10;
}

/* screen_days (200) longer than the window (100 days): no referral can register in time and a
 * candidate in screening registers by the deadline with probability 0.7 * 100/200, so
 * N = Binomial(20, 0.35). */
static void cfg_screen_beyond_window(fixture *f)
{
    f->s.deadline = day(99);
    f->s.screen_days = 200;
    f->s.screening = 20;
    f->s.enrolled = 0;
    f->s.screen_pass = fixed(0.7);
    f->s.target = 8;
    uniform_sites(f, 3, 20.0, 0.0);
}
static double closed_screen_beyond_window(const scenario *s)
{
    return gsl_cdf_binomial_Q((unsigned)(s->target - 1), 0.35, 20);
}

/* Rate 0 everywhere, nobody in screening: a point mass at `enrolled` (3) below the target. */
static void cfg_rate_zero(fixture *f)
{
    uniform_sites(f, 5, 0.0, 0.0);
    f->s.screening = 0;
    f->s.enrolled = 3;
    f->s.target = 5;
}
static double closed_zero(const scenario *s) { (void)s; return 0.0; }

/* Rate 0, ten in screening with p ~ Beta(2, 2): N - 1 is beta-binomial(10, 2, 2). */
static void cfg_beta_binomial(fixture *f)
{
    uniform_sites(f, 5, 0.0, 0.0);
    f->s.screening = 10;
    f->s.screen_pass = beta(2, 2);
    f->s.screen_days = 30;
    f->s.enrolled = 1;
    f->s.target = 6;
}
/* Beta-binomial pmf: C(n, k) B(k + a, n - k + b) / B(a, b) (Johnson, Kemp and Kotz,
 * "Univariate Discrete Distributions", 3rd ed., 6.7.2). */
static double closed_beta_binomial(const scenario *s)
{
    double sum = 0.0, a = 2.0, b = 2.0;
    for (long k = s->target - 1; k <= 10; k++)
        sum += exp(gsl_sf_lnchoose(10, (unsigned)k) +
                   gsl_sf_lnbeta((double)k + a, 10.0 - (double)k + b) - gsl_sf_lnbeta(a, b));
    return sum;
}

/* Target already met (enrolled = target): success is certain. */
static void cfg_target_met(fixture *f) { f->s.enrolled = 12; all_shapes(f, 1.0); }
static double closed_one(const scenario *s) { (void)s; return 1.0; }

/* Target far out of reach: P is about 1e-100. */
static void cfg_out_of_reach(fixture *f) { f->s.target = 200; all_shapes(f, 2.0); }

/* One site opens after the deadline and contributes nothing. */
static void cfg_site_after_deadline(fixture *f)
{
    all_shapes(f, 1.5);
    f->site[4].active_from = f->site[4].active_to = date_from_ymd(2030, 1, 1);
    f->site[4].rate = 20.0;
}

/* Sites opening before, during, on the last day of and after the window. */
static void cfg_sites_staggered(fixture *f)
{
    static const int y[5] = {2020, 2027, 2028, 2029, 2031}, m[5] = {1, 1, 6, 7, 1},
                     d[5] = {1, 1, 1, 18, 1};
    static const double rate[5] = {2, 2, 1, 5, 3}, shape[5] = {4, 0, 1, 0, 2};
    f->s.n_sites = 0;
    for (int i = 0; i < 5; i++)
        add_site(f, rate[i], shape[i], date_from_ymd(y[i], m[i], d[i]));
    f->s.target = 10;
}

/* Gamma shape 0.5: heavily skewed rates. */
static void cfg_shape_half(fixture *f) { uniform_sites(f, 5, 2.0, 0.5); f->s.target = 20; }

/* Gamma shape 200: nearly fixed rates (close to the Poisson). */
static void cfg_shape_200(fixture *f) { uniform_sites(f, 5, 3.0, 200.0); f->s.target = 50; }

/* Fixed and gamma sites of shapes 0.5 to 200 together. */
static void cfg_shapes_mixed(fixture *f)
{
    static const double rate[5] = {1, 2, 1, 3, 0.5}, shape[5] = {0, 0.5, 5, 200, 1};
    f->s.n_sites = 0;
    for (int i = 0; i < 5; i++)
        add_site(f, rate[i], shape[i], as_of());
    f->s.target = 20;
}

/* 30 sites at 50 a year, fixed: about 4505 registrations, tests the Poisson windows of large
 * means in both the simulator and the exact mode. */
static void cfg_rate50_fixed(fixture *f)
{
    uniform_sites(f, 30, 50.0, 0.0);
    f->s.enrolled = f->s.screening = 0;
    f->s.target = 4500;
}
static double closed_rate50_fixed(const scenario *s)
{
    return poisson_tail(30.0 * 50.0 * 1097.0 / YEAR, s->target);
}

/* The same with gamma(20) rates: negative binomials of large means. */
static void cfg_rate50_gamma(fixture *f)
{
    uniform_sites(f, 30, 50.0, 20.0);
    f->s.enrolled = f->s.screening = 0;
    f->s.target = 4400;
}

/* Five sites of gamma(2) rates at 670 a year: about 10,000 registrations, with means up to
 * past CORE_MAX_TABLE (no table of counts): the kernel's groups of large means then run with
 * their lanes apart, each over its own window (models/poisson_kernel.h). */
static void cfg_rate_large_apart(fixture *f)
{
    uniform_sites(f, 5, 670.0, 2.0);
    f->s.target = 10000;
}

/* Large rates with shape 0.5: very wide, heavy-tailed counts. */
static void cfg_rate50_shape_half(fixture *f)
{
    uniform_sites(f, 5, 50.0, 0.5);
    f->s.target = 600;
}

/* Large rates with both probabilities beta and self-pay from mid-window: about 310
 * registrations. */
static void cfg_rate50_betas(fixture *f)
{
    uniform_sites(f, 3, 50.0, 10.0);
    f->s.screen_pass = beta(20, 5);
    f->s.selfpay_consent = beta(8, 2);
    f->s.selfpay_from = day(365);
    f->s.target = 310;
}

/* The same with ten such sites (about 1040 registrations): the exact mode's tensor quadrature
 * over ten negative binomials takes about 12 s per distribution, so only in --full. */
static void cfg_rate50_betas_10(fixture *f)
{
    cfg_rate50_betas(f);
    uniform_sites(f, 10, 50.0, 10.0);
    f->s.target = 1000;
}

/* A one-day window (as_of = deadline): ten sites at 50 a year give a mean of 500 / 365.25 =
 * 1.37 that day; three in screening pass with probability 1/2 on day 0. */
static void cfg_one_day(fixture *f)
{
    f->s.deadline = f->s.as_of;
    uniform_sites(f, 10, 50.0, 0.0);
    f->s.enrolled = 1;
    f->s.screening = 3;
    f->s.screen_pass = fixed(0.5);
    f->s.target = 3;
}

/* A one-day window with a 10-day screening delay: only 1/10 of the screened register in time,
 * and no referral does. */
static void cfg_one_day_delay(fixture *f)
{
    f->s.deadline = f->s.as_of;
    f->s.screen_days = 10;
    f->s.screening = 5;
    f->s.screen_pass = beta(2, 2);
    uniform_sites(f, 2, 50.0, 2.0);
    f->s.enrolled = 0;
    f->s.target = 1;
}

/* One slow site (0.1 a year): P = 1 - exp(-0.1 * 1097 / 365.25). */
static void cfg_low_rate(fixture *f)
{
    uniform_sites(f, 1, 0.1, 0.0);
    f->s.enrolled = f->s.screening = 0;
    f->s.target = 1;
}
static double closed_low_rate(const scenario *s) { (void)s; return -expm1(-0.1 * 1097.0 / YEAR); }

/* A ten-year window, yearly reviews, exponential (shape 1) rates. */
static void cfg_long_window(fixture *f)
{
    f->s.deadline = date_from_ymd(2036, 7, 18);
    f->s.review_months = 12;
    all_shapes(f, 1.0);
    f->s.target = 30;
}

/* Two beta probabilities (a tensor-product quadrature in the exact mode), one of them
 * Jeffreys', self-pay from day 500. */
static void cfg_two_betas(fixture *f)
{
    static const double rate[5] = {3, 3, 1, 1, 1};
    for (int i = 0; i < 5; i++) {
        f->site[i].rate = rate[i];
        f->site[i].shape = 2.0;
    }
    f->s.screen_pass = beta(2, 5);
    f->s.selfpay_consent = beta(0.5, 0.5);
    f->s.selfpay_from = day(500);
}

/* A 90-day screening delay with self-pay from day 200: the self-pay break shifts by the delay. */
static void cfg_delay_selfpay(fixture *f)
{
    f->s.screen_days = 90;
    f->s.selfpay_from = day(200);
    f->s.selfpay_consent = fixed(0.3);
    f->s.screening = 4;
    f->s.screen_pass = fixed(0.8);
    all_shapes(f, 3.0);
    f->s.target = 8;
}

/* The brief's question: self-pay from as_of with uncertain consent, uncertain screen pass and
 * rates. */
static void cfg_brief_selfpay(fixture *f)
{
    f->s.screen_pass = beta(8, 2);
    f->s.selfpay_consent = beta(2, 2);
    all_shapes(f, 2.0);
}

/* A high target within reach: about 81 expected against 80. */
static void cfg_high_target(fixture *f)
{
    uniform_sites(f, 3, 10.0, 0.0);
    f->s.screen_pass = fixed(0.9);
    f->s.enrolled = f->s.screening = 0;
    f->s.target = 80;
}
static double closed_high_target(const scenario *s)
{
    return poisson_tail(0.9 * 30.0 * 1097.0 / YEAR, s->target);
}

/* Screen pass 0: nobody new ever registers; N = enrolled = 2 < 3. */
static void cfg_pass_zero(fixture *f)
{
    f->s.screen_pass = fixed(0.0);
    f->s.screening = 5;
    all_shapes(f, 2.0);
    f->s.target = 3;
}

/* Consent 0 from day 400: referrals stop counting there, N = 4 + Poisson(3 * 400 / 365.25). */
static void cfg_consent_zero_mid(fixture *f)
{
    f->s.selfpay_consent = fixed(0.0);
    f->s.selfpay_from = day(400);
    f->s.target = 7;
}
static double closed_consent_zero_mid(const scenario *s)
{
    return poisson_tail(3.0 * 400.0 / YEAR, s->target - 4);
}

/* A 45-day window with monthly reviews. */
static void cfg_short_monthly(fixture *f)
{
    f->s.deadline = day(44);
    f->s.review_months = 1;
    uniform_sites(f, 3, 20.0, 2.0);
    f->s.target = 6;
}

/* Many already enrolled, a target 70 beyond them. */
static void cfg_enrolled_large(fixture *f)
{
    uniform_sites(f, 5, 5.0, 5.0);
    f->s.enrolled = 100;
    f->s.target = 170;
}

/* Fifty in screening, p ~ Beta(5, 5), a 400-day delay inside the window. */
static void cfg_screening_many(fixture *f)
{
    f->s.screening = 50;
    f->s.screen_pass = beta(5, 5);
    f->s.screen_days = 400;
    all_shapes(f, 2.0);
    f->s.target = 35;
}

/* One exponential-rate site: N is negative binomial with shape 1 (geometric). */
static void cfg_single_gamma(fixture *f)
{
    uniform_sites(f, 1, 4.0, 1.0);
    f->s.enrolled = f->s.screening = 0;
    f->s.target = 10;
}
static double closed_single_gamma(const scenario *s)
{
    double m = 4.0 * exposure_years(s, 0);
    return gsl_cdf_negative_binomial_Q((unsigned)(s->target - 1), 1.0 / (1.0 + m), 1.0);
}

/* A fast site opening on the deadline itself: one day of exposure. */
static void cfg_site_last_day(fixture *f)
{
    add_site(f, 50.0, 0.0, f->s.deadline);
    f->s.target = 9;
}
static double closed_site_last_day(const scenario *s)
{
    return poisson_tail((3.0 * 1097.0 + 50.0) / YEAR, s->target - 4);
}

/* Registrations in [0, W): rates between 0 and 50 across 20 sites, gamma and fixed. */
static void cfg_rate_spread(fixture *f)
{
    f->s.n_sites = 0;
    for (int i = 0; i < 20; i++)
        add_site(f, 2.5 * i, i % 3 == 0 ? 0.0 : (double)(i % 4) + 0.5, day(30 * i));
    f->s.target = 1400;
}

/* ---- the models of DESIGN.md section 2.2 ---- */

/* Rate schedules: the lead sites double from day 200, stop from day 500 to 700, then run at
 * half rate; gamma rates (one negative binomial each, scaled exposures). */
static rate_step steps_lead[3];
static void cfg_schedule_steps(fixture *f)
{
    steps_lead[0] = (rate_step){day(200), 2.0};
    steps_lead[1] = (rate_step){day(500), 0.0};
    steps_lead[2] = (rate_step){day(700), 0.5};
    all_shapes(f, 2.0);
    for (int i = 0; i < 2; i++) {
        f->site[i].n_steps = 3;
        f->site[i].step = steps_lead;
    }
    f->s.screen_days = 30;
    f->s.selfpay_from = day(300);
    f->s.selfpay_consent = beta(3, 2);
}

/* A fixed-rate schedule whose first step lies before as_of and whose factor rises 10-fold late
 * in the window: N is Poisson with the schedule-weighted mean (closed form). */
static rate_step steps_rise[2];
static void cfg_schedule_fixed(fixture *f)
{
    steps_rise[0] = (rate_step){day(-100), 0.5};
    steps_rise[1] = (rate_step){day(900), 10.0};
    for (size_t i = 0; i < f->s.n_sites; i++) {
        f->site[i].n_steps = 2;
        f->site[i].step = steps_rise;
    }
    f->s.target = 16;
}
static double closed_schedule_fixed(const scenario *s)
{
    /* Every site: 0.5 x 900 days + 10 x 197 days of referral; rates sum to 3 a year. */
    return poisson_tail(3.0 * (0.5 * 900.0 + 10.0 * 197.0) / YEAR, s->target - 4);
}

/* Uncertain first days: the three new sites start uniformly over 200-day ranges, one of them
 * straddling as_of; gamma rates. */
static void cfg_uncertain_start(fixture *f)
{
    all_shapes(f, 1.5);
    f->site[2].active_from = day(-50);
    f->site[2].active_to = day(149);
    f->site[3].active_from = day(100);
    f->site[3].active_to = day(299);
    f->site[4].active_from = day(900);
    f->site[4].active_to = day(1199);   /* partly past the deadline */
    f->s.screen_days = 20;
    f->s.review_months = 4;
}

/* Sites that may never open, fixed rates: N - 4 is a mixture over which sites open of Poisson
 * laws (closed form by enumerating the 2^3 cases). */
static void cfg_opens(fixture *f)
{
    f->site[2].opens = 0.3;
    f->site[3].opens = 0.6;
    f->site[4].opens = 0.0;
    f->s.target = 9;
}
static double closed_opens(const scenario *s)
{
    double sum = 0.0, years = 1097.0 / YEAR;
    for (int mask = 0; mask < 4; mask++) {
        double w = (mask & 1 ? 0.3 : 0.7) * (mask & 2 ? 0.6 : 0.4);
        double rate = 2.0 + ((mask & 1) + ((mask >> 1) & 1)) / 3.0;
        sum += w * poisson_tail(rate * years, s->target - 4);
    }
    return sum;
}

/* Everything uncertain at once: a schedule, uncertain first days and opening, beta p and q. */
static void cfg_uncertain_all(fixture *f)
{
    cfg_schedule_steps(f);
    f->site[3].active_from = day(10);
    f->site[3].active_to = day(400);
    f->site[3].opens = 0.7;
    f->site[4].n_steps = 3;
    f->site[4].step = steps_lead;
    f->site[4].active_from = day(150);
    f->site[4].active_to = day(250);
    f->s.screen_pass = beta(4, 2);
}

/* selfpay_screening: eight candidates in screening over 120 days, self-pay from day 50, so
 * those registering from day 50 on must consent too. */
static void cfg_selfpay_screening(fixture *f)
{
    f->s.screening = 8;
    f->s.screen_days = 120;
    f->s.selfpay_from = day(50);
    f->s.selfpay_screening = true;
    f->s.selfpay_consent = beta(2, 2);
    f->s.screen_pass = beta(5, 2);
    all_shapes(f, 3.0);
    f->s.target = 16;
}

/* selfpay_screening with no screening days and self-pay before as_of: every candidate in
 * screening registers at as_of with probability p q; with no sites, N - 2 is
 * Binomial(10, p q) (closed form). */
static void cfg_selfpay_screening_now(fixture *f)
{
    f->s.n_sites = 0;
    f->s.screening = 10;
    f->s.selfpay_from = day(-30);
    f->s.selfpay_screening = true;
    f->s.screen_pass = fixed(0.8);
    f->s.selfpay_consent = fixed(0.5);
    f->s.target = 7;
}
static double closed_selfpay_screening_now(const scenario *s)
{
    return gsl_cdf_binomial_Q((unsigned)(s->target - 2 - 1), 0.4, 10);
}

typedef struct config {
    const char *name;
    void (*build)(fixture *);
    double (*closed)(const scenario *);   /* P(N >= target) in closed form, or NULL */
    int full_only;                        /* slow or redundant: only in --full */
} config;

static const config configs[] = {
    {"plan", cfg_plan, closed_plan, 0},
    {"plan-gamma2", cfg_plan_gamma2, NULL, 0},
    {"consent-half", cfg_consent_half, closed_consent_half, 0},
    {"selfpay-mid-beta", cfg_selfpay_mid_beta, NULL, 0},
    {"selfpay-before-as-of", cfg_selfpay_before_as_of, NULL, 0},
    {"selfpay-after-deadline", cfg_selfpay_after_deadline, NULL, 0},
    {"pass-jeffreys", cfg_pass_jeffreys, NULL, 0},
    {"screen-beyond-window", cfg_screen_beyond_window, closed_screen_beyond_window, 0},
    {"rate-zero", cfg_rate_zero, closed_zero, 0},
    {"beta-binomial", cfg_beta_binomial, closed_beta_binomial, 0},
    {"target-met", cfg_target_met, closed_one, 0},
    {"out-of-reach", cfg_out_of_reach, NULL, 0},
    {"site-after-deadline", cfg_site_after_deadline, NULL, 0},
    {"sites-staggered", cfg_sites_staggered, NULL, 0},
    {"shape-0.5", cfg_shape_half, NULL, 0},
    {"shape-200", cfg_shape_200, NULL, 0},
    {"shapes-mixed", cfg_shapes_mixed, NULL, 0},
    {"rate50-fixed", cfg_rate50_fixed, closed_rate50_fixed, 0},
    {"rate50-gamma", cfg_rate50_gamma, NULL, 0},
    {"rate50-shape-0.5", cfg_rate50_shape_half, NULL, 0},
    {"rate-large-apart", cfg_rate_large_apart, NULL, 0},
    {"rate50-betas", cfg_rate50_betas, NULL, 0},
    {"rate50-betas-10-sites", cfg_rate50_betas_10, NULL, 1},
    {"one-day", cfg_one_day, NULL, 0},
    {"one-day-delay", cfg_one_day_delay, NULL, 0},
    {"low-rate", cfg_low_rate, closed_low_rate, 0},
    {"long-window", cfg_long_window, NULL, 0},
    {"two-betas", cfg_two_betas, NULL, 0},
    {"delay-selfpay", cfg_delay_selfpay, NULL, 0},
    {"brief-selfpay", cfg_brief_selfpay, NULL, 0},
    {"high-target", cfg_high_target, closed_high_target, 0},
    {"pass-zero", cfg_pass_zero, closed_zero, 0},
    {"consent-zero-mid", cfg_consent_zero_mid, closed_consent_zero_mid, 0},
    {"short-monthly", cfg_short_monthly, NULL, 0},
    {"enrolled-large", cfg_enrolled_large, NULL, 0},
    {"screening-many", cfg_screening_many, NULL, 0},
    {"single-gamma", cfg_single_gamma, closed_single_gamma, 0},
    {"site-last-day", cfg_site_last_day, closed_site_last_day, 0},
    {"rate-spread", cfg_rate_spread, NULL, 0},
    {"schedule-steps", cfg_schedule_steps, NULL, 0},
    {"schedule-fixed", cfg_schedule_fixed, closed_schedule_fixed, 0},
    {"uncertain-start", cfg_uncertain_start, NULL, 0},
    {"opens", cfg_opens, closed_opens, 0},
    {"uncertain-all", cfg_uncertain_all, NULL, 0},
    {"selfpay-screening", cfg_selfpay_screening, NULL, 0},
    {"selfpay-screening-now", cfg_selfpay_screening_now, closed_selfpay_screening_now, 0},
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])

/* ---- comparisons ------------------------------------------------------------------------- */

typedef struct tally {
    long comparisons;        /* statistical: |z| <= 4 */
    long checks;             /* deterministic: exact equalities and closed forms */
    long failures;
    double max_z;
    char max_where[96];
} tally;

static tally totals;

/* Records one comparison of an estimate with its exact value, given its z: prints and counts a
 * failure when |z| > Z_LIMIT (or z is NaN). Returns z. */
static double record(tally *t, const char *cfg, const char *what, double exact, double est,
                    double se, double z)
{
    t->comparisons++;
    if (fabs(z) > t->max_z || isnan(z)) {
        t->max_z = isnan(z) ? INFINITY : fabs(z);
        snprintf(t->max_where, sizeof t->max_where, "%s: %s", cfg, what);
    }
    int fail = !(fabs(z) <= Z_LIMIT);
    t->failures += fail;
    if (fail || verbose)
        printf("%s %s: %s: exact %.12g simulated %.12g SE %.3g z %.2f\n", fail ? "FAIL" : "  ok",
               cfg, what, exact, est, se, z);
    return z;
}

/* A mean over the trials against its exact value: z = (estimate - exact) / (se + floor), normal
 * by the central limit theorem (n >= 32768 trials of bounded or light-tailed values). */
static double compare(tally *t, const char *cfg, const char *what, double exact, double est,
                      double se, double floor)
{
    return record(t, cfg, what, exact, est, se, (est - exact) / (se + floor));
}

/* A fraction k/n against its exact probability P. The count k is Binomial(n, P): its two-sided
 * tail probability 2 min(P(X <= k), P(X >= k)) is turned into the |z| of a normal variate with
 * the same tail, signed as k - n P. So the false-alarm rate stays 6.3e-5 even for rare events
 * (n P of order 1) where the normal approximation would not hold; for large n P it is the usual
 * z with SE sqrt(P (1 - P) / n), which is what is printed. */
static double compare_fraction(tally *t, const char *cfg, const char *what, double exact,
                               uint64_t k, uint64_t n)
{
    double P = fmin(1.0, fmax(0.0, exact));
    unsigned kk = (unsigned)k, nn = (unsigned)n;
    double below = gsl_cdf_binomial_P(kk, P, nn);                       /* P(X <= k) */
    double above = kk == 0 ? 1.0 : gsl_cdf_binomial_Q(kk - 1, P, nn);   /* P(X >= k) */
    double z = gsl_cdf_ugaussian_Qinv(fmin(0.5, fmin(below, above)));
    if ((double)k < (double)n * P)
        z = -z;
    return record(t, cfg, what, P, (double)k / (double)n, sqrt(P * (1.0 - P) / (double)n), z);
}

/* Adds one configuration's tally to the run's. */
static void tally_add(tally *sum, const tally *t)
{
    sum->comparisons += t->comparisons;
    sum->checks += t->checks;
    sum->failures += t->failures;
    if (t->max_z > sum->max_z) {
        sum->max_z = t->max_z;
        memcpy(sum->max_where, t->max_where, sizeof t->max_where);
    }
}

/* A deterministic check: |got - want| <= tol. */
static void check(tally *t, const char *cfg, const char *what, double want, double got,
                  double tol)
{
    t->checks++;
    if (!(fabs(got - want) <= tol)) {
        t->failures++;
        printf("FAIL %s: %s: want %.15g got %.15g difference %.3g > %.3g\n", cfg, what, want, got,
               fabs(got - want), tol);
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- one configuration ------------------------------------------------------------------- */

static exact_dist exact_of(const scenario *s, const char *cfg)
{
    exact_dist d = {NULL, 0, 0.0};
    char err[256] = "";
    if (exact_deadline_dist(s, &d, err, sizeof err) != 0)
        print_error("%s: exact_deadline_dist: %s\n", cfg, err);
    assert_non_null(d.pmf);
    return d;
}

static size_t exact_mode(const exact_dist *d)
{
    size_t mode = 0;
    for (size_t i = 1; i < d->len; i++)
        if (d->pmf[i] > d->pmf[mode])
            mode = i;
    return mode;
}

/* The smallest n with P(N <= n) >= q. */
static size_t exact_quantile(const exact_dist *d, double q)
{
    double cum = 0.0;
    for (size_t i = 0; i < d->len; i++) {
        cum += d->pmf[i];
        if (cum >= q)
            return i;
    }
    return d->len;
}

static sim_result *simulate(const scenario *s, uint64_t trials, uint64_t seed,
                            model **plan)
{
    char err[256] = "";
    *plan = model_prepare(s, err, sizeof err);
    assert_non_null(*plan);
    sim_model m = model_sim(*plan);
    sim_config c = {.trials = trials, .seed = seed, .threads = THREADS};
    sim_result *r = sim_run(&m, &c, err, sizeof err);
    if (!r)
        print_error("sim_run: %s\n", err);
    assert_non_null(r);
    return r;
}

/* P(success) three ways, the mean count two ways. Returns the z of the best estimator. */
static double compare_success_and_mean(tally *t, const char *cfg, const scenario *s,
                                       const exact_dist *d, const sim_result *r)
{
    double p = exact_p_at_least(d, s->target), mean = exact_mean(s);
    double mean_floor = SE_FLOOR * fmax(1.0, mean);
    double z = compare(t, cfg, "P(success)", p, r->p_success.mean, r->p_success.se, SE_FLOOR);
    compare(t, cfg, "P(success) conditional", p, r->p_success_cond.mean, r->p_success_cond.se,
            SE_FLOOR);
    compare_fraction(t, cfg, "P(success) plain", p, (uint64_t)llround(r->p_success_plain.mean *
                                                                       (double)r->trials),
                     r->trials);
    compare(t, cfg, "mean", mean, r->mean.mean, r->mean.se, mean_floor);
    compare(t, cfg, "mean plain", mean, r->mean_plain.mean, r->mean_plain.se, mean_floor);
    /* The closed-form mean and the mean of the exact pmf: they differ by the truncated mass
     * (< 2e-13) times counts, and rounding. */
    check(t, cfg, "exact_mean vs mean of the exact pmf", mean, exact_dist_mean(d),
          1e-9 * fmax(1.0, mean));
    return z;
}

/* Conditional pmf entries at the target, the exact mode and the exact 10 % and 90 % quantiles
 * (the distinct ones), each with its SE; the plain fraction at the mode, binomial SE. A model
 * without a table of counts (table_cap 0: counts past its cap, sim_model.cond_cap) has no
 * conditional pmf: the plain fraction only. Whether there is one is the model's word, not the
 * run's, so that a run that lost its table fails here instead of skipping. */
static void compare_pmf(tally *t, const char *cfg, const scenario *s, const exact_dist *d,
                        const sim_result *r, size_t table_cap)
{
    size_t at[4] = {(size_t)s->target, exact_mode(d), exact_quantile(d, 0.1),
                    exact_quantile(d, 0.9)};
    for (int i = 0; i < 4 && table_cap > 0; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= at[j] == at[i];
        if (seen)
            continue;
        size_t n = at[i];
        double want = n < d->len ? d->pmf[n] : 0.0;
        double got = n < r->pmf_len ? r->pmf[n].mean : 0.0;
        double se = n < r->pmf_len ? r->pmf[n].se : 0.0;
        char what[64];
        snprintf(what, sizeof what, "P(N = %zu)", n);
        compare(t, cfg, what, want, got, se, SE_FLOOR);
    }
    size_t mode = exact_mode(d);
    uint64_t k = mode < r->at_deadline.len ? r->at_deadline.bin[mode] : 0;
    char what[64];
    snprintf(what, sizeof what, "P(N = %zu) plain", mode);
    compare_fraction(t, cfg, what, d->pmf[mode], k, r->trials);
}

/* Each checkpoint counts registrations by the end of its date: the deadline moved there. Its
 * mean is exact_mean of that scenario (SE from the histogram's variance); its fraction of
 * trials at or above the target is compared with that scenario's exact tail (the last
 * checkpoint is the deadline, whose fraction is already compared). */
static void compare_checkpoints(tally *t, const char *cfg, const scenario *s,
                                const model *plan, const sim_result *r)
{
    size_t n_cp = model_n_checkpoints(plan);
    for (size_t k = 0; k < n_cp; k++) {
        scenario at = *s;
        at.deadline = model_checkpoint_date(plan, k);
        const hist *h = &r->at_checkpoint[k];
        double mean = exact_mean(&at), n = (double)r->trials;
        double se = sqrt(hist_variance(h) / (n - 1.0));
        char what[64];
        snprintf(what, sizeof what, "checkpoint %zu mean", k + 1);
        compare(t, cfg, what, mean, hist_mean(h), se, SE_FLOOR * fmax(1.0, mean));
        if (k + 1 == n_cp)
            break;
        exact_dist d = exact_of(&at, cfg);
        snprintf(what, sizeof what, "checkpoint %zu P(N >= target)", k + 1);
        compare_fraction(t, cfg, what, exact_p_at_least(&d, s->target),
                         hist_count_at_least(h, (size_t)s->target), r->trials);
        exact_dist_free(&d);
    }
}

/* Deterministic consistency: a trial reaches the target by the deadline exactly when its
 * completion day is at most W - 1 (completion slot <= W), so the two tallies are equal. */
static void check_completion_tally(tally *t, const char *cfg, const scenario *s,
                                   const sim_result *r)
{
    long W = scenario_window_days(s);
    uint64_t reached = r->trials - hist_count_at_least(&r->completion, (size_t)W + 1);
    /* p_success_plain is successes / trials: times trials it is the integer within rounding. */
    double successes = r->p_success_plain.mean * (double)r->trials;
    check(t, cfg, "completed by the deadline = successes", successes, (double)reached, 0.5);
}

static void run_config(const config *c, uint64_t seed, uint64_t trials)
{
    fixture f;
    fixture_plan(&f);
    c->build(&f);
    const scenario *s = &f.s;
    tally t = {0};
    double t0 = now_seconds();
    exact_dist d = exact_of(s, c->name);
    double p = exact_p_at_least(&d, s->target);
    model *plan;
    sim_result *r = simulate(s, trials, seed, &plan);
    double z = compare_success_and_mean(&t, c->name, s, &d, r);
    compare_pmf(&t, c->name, s, &d, r, model_sim(plan).cond_cap);
    compare_checkpoints(&t, c->name, s, plan, r);
    check_completion_tally(&t, c->name, s, r);
    /* The exact mode against a closed form: both lose < 2e-13 to truncation, GSL's tails are
     * accurate to ~1e-15 and beta quadrature moves entries by < 1e-10 at convergence. */
    if (c->closed)
        check(&t, c->name, "exact P vs closed form", c->closed(s), p, 1e-10);
    printf("%-24s %14.10f %14.10f %10.3g %7.2f %7.2f %5ld %6.2f\n", c->name, p, r->p_success.mean,
           r->p_success.se, z, t.max_z, t.comparisons, now_seconds() - t0);
    fflush(stdout);
    tally_add(&totals, &t);
    sim_result_free(r);
    model_free(plan);
    exact_dist_free(&d);
}

static void test_configurations(void **state)
{
    (void)state;
    uint64_t trials = full_run ? TRIALS_FULL : TRIALS_FAST;
    size_t n_run = 0;
    for (size_t i = 0; i < N_CONFIGS; i++)
        n_run += full_run || !configs[i].full_only;
    printf("%zu of %zu configurations, %llu trials each (%s run)\n", n_run, N_CONFIGS,
           (unsigned long long)trials, full_run ? "full" : "fast");
    printf("%-24s %14s %14s %10s %7s %7s %5s %6s\n", "configuration", "exact P", "simulated P",
           "SE", "z", "max|z|", "cmps", "secs");
    long failures_before = totals.failures;
    for (size_t i = 0; i < N_CONFIGS; i++) {
        if (configs[i].full_only && !full_run)
            continue;
        run_config(&configs[i], (full_run ? SEED_FULL : SEED_FAST) + i, trials);
    }
    assert_int_equal(totals.failures - failures_before, 0);
}

/* ---- completion dates -------------------------------------------------------------------
 * With everything constant in time (sites all recruiting from as_of, self-pay from as_of, no
 * one in screening), registrations after the screening delay sd form a Poisson process of rate
 * L = p q sum(rates) per year, and the r-th (r = target - enrolled) falls at sd + Gamma(r,
 * 365.25 / L) days. Given p, q and the rates, the day index D = floor(time), so
 * P(D <= d) = P(time < d + 1) = P(N(d + 1 - sd) >= r), with N(t) the registrations in t days:
 * exact to the day. Uncertain p, q or a gamma rate make it a mixture: negative binomial for the
 * rate (one site of gamma rate), and an integral over the beta densities. */

typedef struct timing_case {
    const char *name;
    size_t n_sites;
    double rate[4];        /* per year */
    double shape;          /* of site 0's rate (then n_sites must be 1); 0 for fixed */
    long enrolled, target, screen_days;
    prob_spec pass, consent;
} timing_case;

static const timing_case timing_cases[] = {
    {"erlang-1", 1, {12}, 0, 0, 1, 0, {.value = 1}, {.value = 1}},
    {"erlang-8-straddling", 1, {2.5}, 0, 0, 8, 0, {.value = 1}, {.value = 1}},
    {"erlang-4-sites", 4, {1, 2, 0.5, 2.5}, 0, 3, 12, 0, {.value = 1}, {.value = 1}},
    {"erlang-200", 3, {50, 50, 50}, 0, 0, 200, 0, {.value = 1}, {.value = 1}},
    {"erlang-thinned-delayed", 2, {3, 5}, 0, 1, 6, 45, {.value = 0.5}, {.value = 0.4}},
    {"negbin-shape-1", 1, {4}, 1.0, 0, 5, 0, {.value = 1}, {.value = 1}},
    {"negbin-shape-0.5", 1, {6}, 0.5, 0, 3, 30, {.value = 1}, {.value = 1}},
    {"beta-pass", 2, {2, 3}, 0, 0, 10, 0, {.is_beta = 1, .value = 0.4, .a = 2, .b = 3},
     {.value = 1}},
    {"beta-pass-jeffreys", 1, {8}, 0, 2, 6, 20, {.is_beta = 1, .value = 0.5, .a = 0.5, .b = 0.5},
     {.value = 1}},
    {"beta-pass-consent", 1, {10}, 0, 0, 8, 0, {.is_beta = 1, .value = 0.8, .a = 8, .b = 2},
     {.is_beta = 1, .value = 0.5, .a = 2, .b = 2}},
    {"beta-pass-negbin", 1, {5}, 3.0, 0, 6, 0, {.is_beta = 1, .value = 0.75, .a = 3, .b = 1},
     {.value = 1}},
};
#define N_TIMING (sizeof timing_cases / sizeof timing_cases[0])

static void build_timing(fixture *f, const timing_case *c)
{
    fixture_plan(f);
    f->s.n_sites = 0;
    for (size_t i = 0; i < c->n_sites; i++)
        add_site(f, c->rate[i], i == 0 ? c->shape : 0.0, as_of());
    f->s.enrolled = c->enrolled;
    f->s.screening = 0;
    f->s.target = c->target;
    f->s.screen_days = c->screen_days;
    f->s.screen_pass = c->pass;
    f->s.selfpay_consent = c->consent;
}

static double total_rate(const timing_case *c)
{
    double sum = 0.0;
    for (size_t i = 0; i < c->n_sites; i++)
        sum += c->rate[i];
    return sum;
}

/* P(at least r registrations in t days of referral | p, q): Poisson, or negative binomial with
 * GSL's parameters n = shape, p = shape / (shape + mean) when the one site's rate is gamma. */
static double reached_given(const timing_case *c, double p, double q, double t)
{
    long r = c->target - c->enrolled;
    double mean = t > 0.0 ? total_rate(c) * p * q * t / YEAR : 0.0;
    if (r <= 0 || !(mean > 0.0))
        return r <= 0 ? 1.0 : 0.0;
    if (c->shape > 0.0)
        return gsl_cdf_negative_binomial_Q((unsigned)(r - 1), c->shape / (c->shape + mean),
                                           c->shape);
    return poisson_tail(mean, r);
}

typedef struct mix_point {
    const timing_case *c;
    double t, p;
} mix_point;

/* E over x ~ Beta(a, b) of f(x) by QAWS, GSL's adaptive rule for the weight
 * x^(a-1) (1-x)^(b-1) (Piessens et al., QUADPACK, 1983), divided by B(a, b). */
static double beta_expectation(gsl_function *fn, double a, double b)
{
    gsl_integration_qaws_table *tab = gsl_integration_qaws_table_alloc(a - 1.0, b - 1.0, 0, 0);
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(200);
    double result = NAN, abserr = 0.0;
    int rc = gsl_integration_qaws(fn, 0.0, 1.0, tab, 1e-12, 1e-10, 200, w, &result, &abserr);
    gsl_integration_workspace_free(w);
    gsl_integration_qaws_table_free(tab);
    /* A flagged failure is accepted only if the error estimate is far below the binomial SEs
     * (>= 1e-4) this is compared with. */
    if (rc != 0 && !(abserr < 1e-8))
        return NAN;
    return result / gsl_sf_beta(a, b);
}

static double over_consent(double q, void *arg)
{
    const mix_point *m = arg;
    return reached_given(m->c, m->p, q, m->t);
}

static double consent_expectation(mix_point *m)
{
    const prob_spec *q = &m->c->consent;
    if (!q->is_beta)
        return reached_given(m->c, m->p, q->value, m->t);
    gsl_function fn = {over_consent, m};
    return beta_expectation(&fn, q->a, q->b);
}

static double over_pass(double p, void *arg)
{
    mix_point m = *(const mix_point *)arg;
    m.p = p;
    return consent_expectation(&m);
}

/* P(completion day <= d): the target reached before the end of day d. */
static double completion_cdf(const timing_case *c, long d)
{
    mix_point m = {c, (double)(d + 1 - c->screen_days), c->pass.value};
    if (!c->pass.is_beta)
        return consent_expectation(&m);
    gsl_function fn = {over_pass, &m};
    return beta_expectation(&fn, c->pass.a, c->pass.b);
}

/* The fraction of trials completed by the end of day d: completion slots 0 .. d + 1. */
static uint64_t completed_by(const sim_result *r, long d)
{
    return r->trials - hist_count_at_least(&r->completion, (size_t)d + 2);
}

/* The mean time to the r-th registration ignoring the uncertainty: only to place the days at
 * which the distribution function is compared (a fixed function of the case, not of the run). */
static double typical_days(const timing_case *c)
{
    double L = total_rate(c) * c->pass.value * c->consent.value;
    return (double)c->screen_days + (double)(c->target - c->enrolled) * YEAR / L;
}

/* Quantiles of the Erlang case: the sample q-quantile of n draws has SE about
 * sqrt(q (1 - q) / n) / f(x_q) (David and Nagaraja, "Order Statistics", 3rd ed., 10.2); the day
 * rounding adds up to one day, so z = (got - floor(x_q)) / (SE + 1/4): |z| <= 4 allows 4 SE
 * plus one day. */
static void compare_erlang_quantiles(tally *t, const timing_case *c, const sim_result *r)
{
    static const double qs[7] = {0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95};
    double shape = (double)(c->target - c->enrolled), scale = YEAR / total_rate(c);
    scale /= c->pass.value * c->consent.value;
    for (int i = 0; i < 7; i++) {
        double x = gsl_cdf_gamma_Pinv(qs[i], shape, scale);
        double se = sqrt(qs[i] * (1 - qs[i]) / (double)r->trials) /
                    gsl_ran_gamma_pdf(x, shape, scale);
        double want = floor((double)c->screen_days + x);
        double got = (double)hist_quantile(&r->completion, qs[i]) - 1.0;  /* slot d + 1: day d */
        char what[64];
        snprintf(what, sizeof what, "completion day q%02.0f", 100 * qs[i]);
        compare(t, c->name, what, want, got, se, 0.25);
    }
}

static void run_timing_case(const timing_case *c, uint64_t seed, uint64_t trials)
{
    fixture f;
    build_timing(&f, c);
    tally t = {0};
    model *plan;
    sim_result *r = simulate(&f.s, trials, seed, &plan);
    int erlang = !c->pass.is_beta && !c->consent.is_beta && c->shape == 0.0;
    if (erlang)
        compare_erlang_quantiles(&t, c, r);
    static const double frac[5] = {0.25, 0.6, 1.0, 1.5, 2.5};
    double worst = 0.0;
    long worst_day = 0;
    for (int i = 0; i < 5; i++) {
        long d = (long)floor(frac[i] * typical_days(c));
        double want = completion_cdf(c, d);
        char what[64];
        snprintf(what, sizeof what, "P(completed by day %ld)", d);
        double z = compare_fraction(&t, c->name, what, want, completed_by(r, d), r->trials);
        if (fabs(z) >= fabs(worst)) {
            worst = z;
            worst_day = d;
        }
    }
    printf("%-24s %6s %8.0f %6ld %7.2f %7.2f %5ld\n", c->name, erlang ? "erlang" : "mixed",
           typical_days(c), worst_day, worst, t.max_z, t.comparisons);
    tally_add(&totals, &t);
    sim_result_free(r);
    model_free(plan);
}

static void test_completion_dates(void **state)
{
    (void)state;
    uint64_t trials = full_run ? TRIALS_FULL : TRIALS_FAST;
    printf("%zu completion-date cases, %llu trials each\n", N_TIMING, (unsigned long long)trials);
    printf("%-24s %6s %8s %6s %7s %7s %5s\n", "case", "kind", "days", "day", "z(day)", "max|z|",
           "cmps");
    long failures_before = totals.failures;
    for (size_t i = 0; i < N_TIMING; i++) {
        run_timing_case(&timing_cases[i], (full_run ? SEED_FULL : SEED_FAST) + 1000 + i, trials);
    }
    assert_int_equal(totals.failures - failures_before, 0);
}

/* ---- finite pools and corrective action against the event simulator ------------------------ */

/* Scenarios served by the pools and actions models (caps; rules), where no exact mode applies:
 * the engine against the independent event-by-event simulator (tests/eventsim.c), each side
 * with its own SE, z = (engine - simulator) / sqrt(SE1^2 + SE2^2), on P(success), the mean by
 * the deadline, the mean at each review and, with rules, the share of trials in which each
 * fired. The two estimates are independent (different generators and seeds), so under
 * agreement z is approximately standard normal and |z| <= 4 holds with the same 6.3e-5 per
 * comparison as above. */
static const char *const event_cases[] = {
    "tests/models/pools-fixed", "tests/models/pools-mix", "tests/models/pools-selfpay-mid",
    "scenarios/seed-pools",     "scenarios/seed-actions", "tests/models/actions-mix",
};
#define N_EVENT_CASES (sizeof event_cases / sizeof event_cases[0])

static double compare_two(tally *t, const char *cfg, const char *what, double es, double es_se,
                          double est, double se)
{
    double both = sqrt(se * se + es_se * es_se);
    double z = both > 0.0 ? (est - es) / both : (est == es ? 0.0 : INFINITY);
    return record(t, cfg, what, es, est, both, z);
}

static void run_event_case(const char *dir, uint64_t seed, uint64_t trials)
{
    char err[512] = "";
    scenario *s = scenario_load(dir, err, sizeof err);
    if (!s)
        fail_msg("%s: %s", dir, err);
    model *plan = model_prepare(s, err, sizeof err);
    if (!plan)
        fail_msg("%s: %s", dir, err);
    sim_model sm = model_sim(plan);
    sim_config c = {.trials = trials, .seed = seed, .threads = THREADS};
    sim_result *r = sim_run(&sm, &c, err, sizeof err);
    if (!r)
        fail_msg("%s: %s", dir, err);
    es_scenario *sc = es_load(dir);
    es_result *es = es_simulate(sc, trials, (unsigned long)seed);
    tally t = {0};
    compare_two(&t, dir, "P(success)", es->p_success, es->p_success_se, r->p_success.mean,
                r->p_success.se);
    compare_two(&t, dir, "mean by the deadline", es->mean_deadline, es->mean_deadline_se,
                r->mean.mean, r->mean.se);
    assert_int_equal(r->n_checkpoints, es->ncheckpoints);
    double n = (double)r->trials;
    for (size_t k = 0; k < r->n_checkpoints; k++) {
        const hist *h = &r->at_checkpoint[k];
        char what[64];
        snprintf(what, sizeof what, "mean at review %zu", k + 1);
        compare_two(&t, dir, what, es->cp_mean[k], es->cp_mean_se[k], hist_mean(h),
                    sqrt(hist_variance(h) / n));
    }
    /* the actions model's tallies: rule q fired, at ACTIONS_TALLY_RULES + q (reviews + 1) */
    for (size_t q = 0; q < es->nactions; q++) {
        const sim_estimate *f = &r->tally[2 + q * (r->n_checkpoints + 1)];
        char what[64];
        snprintf(what, sizeof what, "rule %zu fired", q + 1);
        compare_two(&t, dir, what, es->fired_fraction[q], es->fired_fraction_se[q], f->mean,
                    f->se);
    }
    printf("%-32s %7.4f %7.4f %7.2f %5ld\n", dir, r->p_success.mean, es->p_success, t.max_z,
           t.comparisons);
    tally_add(&totals, &t);
    es_result_free(es);
    es_free(sc);
    sim_result_free(r);
    model_free(plan);
    scenario_free(s);
}

static void test_pools_and_actions(void **state)
{
    (void)state;
    uint64_t trials = full_run ? TRIALS_FULL : TRIALS_FAST;
    printf("%zu scenarios with caps or rules against the event simulator, %llu trials each\n",
           N_EVENT_CASES, (unsigned long long)trials);
    printf("%-32s %7s %7s %7s %5s\n", "case", "P", "P(es)", "max|z|", "cmps");
    long failures_before = totals.failures;
    for (size_t i = 0; i < N_EVENT_CASES; i++)
        run_event_case(event_cases[i], (full_run ? SEED_FULL : SEED_FAST) + 2000 + i, trials);
    assert_int_equal(totals.failures - failures_before, 0);
}

/* ---- the summary -------------------------------------------------------------------------- */

static int summary(void **state)
{
    (void)state;
    printf("comparisons: %ld at |z| <= %.0f (family-wise false-alarm rate <= %ld x %.3g = %.3f), "
           "deterministic checks: %ld, failures: %ld\n",
           totals.comparisons, Z_LIMIT, totals.comparisons, FALSE_ALARM_EACH,
           (double)totals.comparisons * FALSE_ALARM_EACH, totals.checks, totals.failures);
    printf("largest |z|: %.2f (%s)\n", totals.max_z, totals.max_where);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0) {
            full_run = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else {
            fprintf(stderr, "usage: %s [--full] [--verbose]\n", argv[0]);
            return 2;
        }
    }
    /* GSL's quadrature reports trouble through its status; the default handler would abort. */
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configurations),
        cmocka_unit_test(test_completion_dates),
        cmocka_unit_test(test_pools_and_actions),
    };
    return cmocka_run_group_tests_name("validation", tests, NULL, summary);
}
