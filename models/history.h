/* Learning from the trial's own data (DESIGN.md sections 2.2 and 5.6): history.csv's
 * candidates turn the scenario's site rates and its screen-pass and self-pay consent
 * probabilities, read as priors, into posteriors by Gamma-Poisson and Beta-binomial conjugacy,
 * and rate_prior `pooled` fits one gamma law to all sites' counts first (empirical Bayes). The
 * posteriors are written back into the scenario, so that the model and the exact mode use them
 * unchanged; the priors, the data and the posteriors stay in a table for posterior.csv and the
 * report.
 *
 * Sources: the conjugate updates are those of Gelman et al., Bayesian Data Analysis (3rd ed.,
 * 2013), sections 2.4 and 2.6 (binomial with a beta prior; Poisson with a gamma prior and an
 * exposure); for accrual, Gajewski, Simon and Carlson (2008), Stat Med 27:2328-2340 (the R
 * package `accrual`), and the Poisson-gamma model of Anisimov and Fedorov (2007), Stat Med
 * 26:4958-4975, whose negative-binomial marginal likelihood the pooled fit maximises.
 *
 * What is learned, and from which rows (a row is one candidate; A is as_of, H history_from):
 * - Site rates. Site i's exposure runs from S_i = max(H, active_from_i) to A: T_i years, the
 *   integral of its rate schedule's factor over [S_i, A) divided by 365.25 (the plain length
 *   without a schedule), 0 when S_i >= A. Its data n_i are its rows referred in [S_i, A). Rows
 *   referred before the site's active_from count for enrolled, screening and the probabilities,
 *   not for its rate: an active_from later than history_from learns a site's rate from its
 *   recent period only. With a gamma prior (shape k from rate_shape, mean r from rate) the
 *   posterior is Gamma(shape k + n, mean (k + n) / (k / r + T)), the prior counting as k
 *   referrals seen over k / r years. A referral on a day the site's schedule gives factor 0
 *   is refused: the model gives it probability 0.
 * - Fixed rates (rate_shape empty). A fixed rate r > 0 with exposure T > 0 is learned with the
 *   weak prior Gamma(shape 1, mean r): the exponential law of mean r, worth one referral seen
 *   over 1 / r years, so that a few years of the site's own data dominate it. A fixed rate
 *   with no exposure (a site starting on or after as_of) stays fixed: there is nothing to
 *   learn from. A rate of 0 (fixed, or the mean of a gamma) is a site that refers no one; it
 *   stays 0, and a referral of that site in its exposure is refused as contradicting it.
 * - screen_pass. Rows decided before A: s passed (registered or declined: declining to pay
 *   comes after passing screening), f failed (screen_failed). Beta(a, b) becomes
 *   Beta(a + s, b + f).
 * - selfpay_consent. Rows decided before A that passed screening and whose consent the model
 *   asks: referred on or after selfpay_from, or, with selfpay_screening yes, decided on or
 *   after it. Consented c: registered; refused d: declined. Beta(a, b) becomes
 *   Beta(a + c, b + d).
 * - Fixed probabilities (a plain number, or the default 1) stay fixed: a number without a beta
 *   states no uncertainty, and turning it into a prior would have to invent one; the table
 *   shows the data beside it, marked not learned. Write a beta (beta(1;1) for "no prior
 *   knowledge") to learn one. Data that a fixed value makes impossible (a failure under
 *   screen_pass 1, a pass under 0; a refusal under selfpay_consent 1, a consent under 0) are
 *   refused with the line of the first such row, since the model would give them probability 0.
 * - rate_prior pooled. The sites with exposure (T_i > 0) are the data: the counts n_i are
 *   independent negative binomials when the rates are Gamma(shape alpha, mean mu) (Anisimov and
 *   Fedorov 2007); (alpha, mu) maximise their marginal likelihood, mu profiled out for each
 *   alpha (one root of a monotone equation in log(alpha / mu)), log(alpha) searched on a grid
 *   over [SCENARIO_MIN_SHAPE, SCENARIO_MAX_SHAPE] and refined by golden section. Each site's
 *   posterior is then Gamma(alpha + n_i, mean (alpha + n_i) / (alpha / mu + T_i)); a site
 *   without exposure gets Gamma(alpha, mu) itself: it borrows from the others. sites.csv's rate
 *   and rate_shape are not used, except when the fit is degenerate:
 *   - no site has exposure (HISTORY_POOL_NO_EXPOSURE): nothing to fit; every site is learned
 *     from its own prior as under rate_prior site (which, without exposure, changes nothing);
 *   - no referrals at all (HISTORY_POOL_NO_REFERRALS): the likelihood grows as mu falls to 0
 *     whatever alpha, a law that says no site will ever refer anyone; each site's own prior is
 *     updated with its exposure instead, as under rate_prior site;
 *   - the maximum at infinite shape (HISTORY_POOL_ALIKE; the likelihood still rising at
 *     SCENARIO_MAX_SHAPE): the sites' counts vary no more than Poisson counts with one common
 *     rate would, which the maximum estimates as N / sum T_i (N referrals in all). A fixed
 *     rate would ignore how uncertain that estimate is, so every site gets
 *     Gamma(shape N / (number of sites), mean N / sum T_i): the sum of the sites' independent
 *     rates then has shape N, the evidence of the N referrals, as the common rate's posterior
 *     under the prior 1 / lambda would (exactly so when the sites' future exposures are
 *     equal). The shape is at least SCENARIO_MIN_SHAPE. The sites' own counts are already in
 *     that law, so no further update is made;
 *   - the maximum at the smallest allowed shape (HISTORY_POOL_LOW_SHAPE): SCENARIO_MIN_SHAPE
 *     is used, the sites being as unlike one another as a scenario may say.
 *
 * Intervals are the 5 % and 95 % quantiles of the posterior (90 %), computed in bounded time
 * whatever the shapes: see history_gamma_interval and history_beta_interval. */
#ifndef ACCRUE_HISTORY_H
#define ACCRUE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "../engine/date.h"

struct scenario;

/* A candidate's outcome in history.csv. */
typedef enum history_outcome {
    HISTORY_IN_SCREENING,   /* empty: no outcome yet when the history was written */
    HISTORY_REGISTERED,
    HISTORY_SCREEN_FAILED,
    HISTORY_DECLINED        /* passed screening, refused to pay (self-pay) */
} history_outcome;

/* One row of history.csv. */
typedef struct history_row {
    size_t site;              /* index into the scenario's site[] */
    date_t referred;          /* the day screening started */
    history_outcome outcome;
    date_t decided;           /* the day of the outcome; equal to referred when none */
    size_t line;              /* line of history.csv on which the row starts */
} history_row;

/* trial.csv's rate_prior. */
typedef enum history_rate_prior {
    HISTORY_PRIOR_SITE,       /* each site's prior from sites.csv (the default) */
    HISTORY_PRIOR_POOLED      /* one gamma law fitted across sites */
} history_rate_prior;

/* What rate_prior pooled found (see the header comment). */
typedef enum history_pool_status {
    HISTORY_POOL_NONE,          /* rate_prior site: no fit */
    HISTORY_POOL_FITTED,        /* a finite maximum inside the allowed shapes */
    HISTORY_POOL_ALIKE,         /* maximum at infinite shape: all sites alike */
    HISTORY_POOL_LOW_SHAPE,     /* maximum at the smallest allowed shape */
    HISTORY_POOL_NO_REFERRALS,  /* exposure but no referral: sites' own priors used */
    HISTORY_POOL_NO_EXPOSURE    /* no site recruited before as_of: sites' own priors used */
} history_pool_status;

/* What one row of the table is about. */
typedef enum history_param_kind {
    HISTORY_RATE,             /* a site's rate, per year */
    HISTORY_SCREEN_PASS,
    HISTORY_SELFPAY_CONSENT
} history_param_kind;

/* The law of a prior or posterior. */
typedef enum history_law {
    HISTORY_FIXED,            /* a fixed value: a = the value */
    HISTORY_GAMMA,            /* a = shape, b = mean */
    HISTORY_BETA              /* a, b the beta's parameters */
} history_law;

/* One parameter learned: a row of posterior.csv. */
typedef struct history_param {
    history_param_kind kind;
    size_t site;              /* HISTORY_RATE: the site's index */
    char *parameter;          /* "rate:SITE", "screen_pass" or "selfpay_consent" */
    char *prior;              /* the prior as used, in words, e.g. "gamma(shape 1; mean
                                 2/year), weak prior for the fixed rate 2" */
    char *data;               /* e.g. "5 referrals in 4.997 years", "2 passed, 2 failed" */
    char *posterior;          /* the posterior law, e.g. "gamma(shape 6; mean 1.09/year)" */
    bool learned;             /* false: the value was kept (a fixed probability, a fixed
                                 rate without exposure, a rate of 0) */
    history_law prior_law, posterior_law;
    double prior_a, prior_b;  /* see history_law */
    double events;            /* rate: referrals n; probability: successes (passed,
                                 consented) */
    double exposure;          /* rate: T in years; probability: failures (failed, refused) */
    double post_a, post_b;
    double mean, low, high;   /* the posterior's mean and 5 % and 95 % quantiles */
} history_param;

/* Everything learned from a scenario's history. */
typedef struct history_learning {
    size_t n_params;
    history_param *param;     /* one per site (rate:SITE, in sites.csv order), then
                                 screen_pass, then selfpay_consent */
    long enrolled;            /* registered before as_of (decided < as_of) */
    long screening;           /* in screening at as_of: referred before it, no outcome or
                                 decided on or after it */
    size_t n_before;          /* rows referred before as_of: the data */
    size_t n_after;           /* rows referred on or after as_of: kept for `accrue track` */
    date_t history_from;      /* the scenario's, for the report */
    date_t last_date;         /* the latest referred or decided date of any row; history_from
                                 when there is no row */
    history_rate_prior rate_prior;
    history_pool_status pool;
    double pool_shape, pool_mean; /* the law the pooled fit gave every site (before each site's
                                     own data), when pool is FITTED, ALIKE or LOW_SHAPE */
    double pool_loglik;       /* the marginal log-likelihood at the fit (FITTED, LOW_SHAPE) */
    char *note;               /* one or two sentences on the rate prior used, for the report;
                                 never NULL */
} history_learning;

/* Learns from s's history (s->has_history must be true; s's values are the priors) without
 * changing s: fills *out with a table the caller frees with history_learning_free. Returns 0,
 * or -1 with a message "HISTORY_FILE:LINE: ...; expected ..." in err (errlen bytes; err may
 * be NULL) when the history contradicts a fixed value (see the header comment) or when out
 * of memory (line 0); *out is then NULL. Turns GSL's error handler off while it runs and
 * restores it. */
int history_learn(const struct scenario *s, history_learning **out, char *err, size_t errlen);

/* Learns as history_learn, then rewrites s's sites' rate and shape (shape 0 for a rate kept
 * fixed) and its screen_pass and selfpay_consent to the posteriors, and keeps the table in
 * s->learned. Posterior shapes and beta parameters exceed the priors by the counts, so they
 * may lie beyond SCENARIO_MAX_SHAPE and SCENARIO_MAX_BETA (by at most SCENARIO_MAX_HISTORY).
 * A scenario without a history is left as it is (returns 0). Calling it on a
 * scenario already learned (s->learned set) is refused: its values are no longer priors.
 * All or nothing: on error s is unchanged. scenario_load calls it; scenario_load_prior does
 * not. */
int history_apply(struct scenario *s, char *err, size_t errlen);

/* Counts s's history rows at the start of day `day`: *registered, those registered before it
 * (outcome registered, decided < day); *screening, those referred before it with no outcome
 * or an outcome decided on or after it. At day = as_of these are enrolled and screening;
 * registrations by the end of day D are *registered at D + 1. Changes nothing. */
void history_count(const struct scenario *s, date_t day, long *registered, long *screening);

/* Frees l and its strings; NULL is fine. */
void history_learning_free(history_learning *l);

/* Writes the table as posterior.csv: the header
 * `parameter,prior,data,posterior_mean,posterior_low,posterior_high,posterior` and one row per
 * parameter, numbers with 6 significant digits ('.' as decimal mark whatever the locale), text
 * quoted per RFC 4180 when it holds a comma, quote or line break. Returns 0, or -1 when a
 * write fails. */
int history_write_csv(const history_learning *l, FILE *out);

/* Writes the table for the terminal, under 80 columns: a title line, the note wrapped, then
 * per parameter its name, prior, data and posterior mean with its 90 % interval. */
void history_print(const history_learning *l, FILE *out);

/* The 5 % and 95 % quantiles of Gamma(shape, mean) (scale mean / shape), by quantile_gamma
 * (engine/quantile.h: bounded time for every shape, where GSL's inverse returns NaN below
 * shape 0.2). Both are the mean when shape <= 0 (a fixed rate) or mean <= 0. */
void history_gamma_interval(double shape, double mean, double *low, double *high);

/* The 5 % and 95 % quantiles of Beta(a, b) (a, b > 0), by quantile_beta (engine/quantile.h:
 * bounded time where GSL's inverse runs for hours, e.g. at a = b = 1e6). */
void history_beta_interval(double a, double b, double *low, double *high);

/* The marginal log-likelihood of counts n[i] over exposures t[i] (years; m sites) when each
 * site's rate is Gamma(shape, mean) independently: sum over sites with t[i] > 0 of the
 * negative binomial log-probability
 *   lgamma(shape + n) - lgamma(shape) - lgamma(n + 1) + shape log(beta / (beta + t))
 *   + n log(t / (beta + t)),   beta = shape / mean.
 * shape, mean > 0. For the pooled fit and its tests. */
double history_nb_loglik(size_t m, const double *n, const double *t, double shape, double mean);

/* The pooled fit: maximises history_nb_loglik over shape in [SCENARIO_MIN_SHAPE,
 * SCENARIO_MAX_SHAPE] and mean > 0, as in the header comment. Returns its status: FITTED
 * or LOW_SHAPE with *shape and *mean at the maximum; ALIKE with *shape = +infinity and *mean =
 * N / sum t; NO_REFERRALS (*mean = 0, *shape = NaN) and NO_EXPOSURE (both NaN). Bounded work:
 * about 160 profile evaluations (a grid of 75 log-shapes, then 80 golden-section steps), each
 * at most 200 Newton or bisection steps over the m sites. */
history_pool_status history_pool_fit(size_t m, const double *n, const double *t, double *shape,
                                     double *mean);

#endif
