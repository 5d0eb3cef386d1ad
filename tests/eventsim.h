/* An independent event-by-event accrual simulator for the tests, written from DESIGN.md (sections
 * 2 and 3) and not from the engine's code: it reads a scenario folder and simulates whole trials
 * one at a time, every referral an event, with GSL's Mersenne Twister, so that the engine's
 * batch pipeline can be checked against a plain reading of the model. Slow on purpose. */
#ifndef ACCRUE_TESTS_EVENTSIM_H
#define ACCRUE_TESTS_EVENTSIM_H

#include <stddef.h>
#include <stdint.h>

/* A probability: fixed (is_beta 0, value) or Beta(a, b) drawn once per trial. */
typedef struct es_prob {
    int is_beta;
    double value, a, b;
} es_prob;

/* One step of a site's rate schedule: from day `from` (days from as_of, may be negative) on,
 * the site's rate is multiplied by `factor`, until the next step. */
typedef struct es_step {
    long from;
    double factor;
} es_step;

typedef struct es_site {
    char name[128];
    double rate;             /* expected referrals per 365.25-day year */
    double shape;            /* gamma shape; 0 = fixed rate */
    long active_lo, active_hi; /* activation day, uniform over [lo, hi] (equal when fixed) */
    double opens;            /* probability the site ever opens */
    long cap;                /* most referrals from as_of on (sites.csv cap); -1: no limit */
    size_t nsteps;           /* rate schedule, sorted by day; empty = factor 1 throughout */
    es_step *step;
} es_site;

/* A corrective-action rule (actions.csv, DESIGN.md section 3). */
typedef struct es_action {
    int every;               /* at each review strictly before the deadline */
    long review;             /* else at this review (day index from as_of) */
    int pace;                /* threshold floor(enrolled + (target - enrolled) (d + 1) / W) */
    double below;            /* else: fires when registrations by the review's end < below */
    int add_site;            /* 1: add a site; 0: scale every site's rate */
    double value, shape;     /* rate per year (gamma shape, 0 = fixed) or the factor */
    long delay_days, times;
} es_action;

/* A scenario as read. Days count from as_of (day 0 covers [0, 1)); the checkpoint days are
 * the review dates, the deadline last. */
typedef struct es_scenario {
    char dir[512];
    long as_of;              /* days since 1970-01-01 */
    long deadline;           /* day index from as_of */
    long target, enrolled, screening;
    es_prob screen_pass, consent;
    double screen_days;
    long selfpay_from;       /* day index from as_of */
    int selfpay_screening;   /* 1: candidates in screening must consent when registering on or
                                after selfpay_from */
    long review_months;
    double horizon_years;
    double horizon_end;      /* time (days) where the followed span ends: the end of the
                                deadline day plus horizon_years * 365.25 days, rounded */
    size_t ncheckpoints;
    long *checkpoint;        /* day indices, ascending, the deadline last */
    size_t nsites;
    es_site *site;
    size_t nactions;         /* actions.csv's rules (none without the file) */
    es_action *action;
    es_site added;           /* the template of a site a rule adds: the `*` schedule */
} es_scenario;

/* Reads DIR/trial.csv, DIR/sites.csv, DIR/schedule.csv and DIR/actions.csv (when present).
 * Handles only well-formed input of the documented keys and columns (cap included); anything
 * else (an unknown key or column, history.csv, a bad number or date) prints a message to
 * standard error and aborts. The caller frees the result with es_free. */
es_scenario *es_load(const char *dir);
void es_free(es_scenario *sc);

/* Results of es_simulate: each estimate with its Monte Carlo standard error. */
typedef struct es_result {
    uint64_t trials;
    double p_success, p_success_se;        /* fraction of trials reaching target by the
                                              end of the deadline day; binomial SE */
    double mean_deadline, mean_deadline_se;/* registrations by the deadline, enrolled included */
    size_t ncheckpoints;
    double *cp_mean, *cp_mean_se;          /* registrations by the end of each checkpoint day */
    /* The median completion time, in days from the start of as_of (a continuous time: the
     * date the target is reached is its whole part): the lower sample median, the order
     * statistic of rank ceil(n/2). Its SE comes from the distribution-free binomial
     * order-statistic interval: the order statistics of ranks n/2 -/+ 1.96 sqrt(n)/2 bound a
     * 95 % interval for the median, and SE = (high - low) / (2 * 1.96) (asymptotically the
     * usual sqrt(1/4n) / density). NAN when the median (or a bound) lies past the followed
     * span. Kept continuous rather than in whole days: a sample median of whole days is not
     * asymptotically normal when the distribution function crosses 1/2 near a day's end. */
    double median_completion, median_completion_se;
    /* Per rule of actions.csv: the fraction of trials in which it fired, binomial SE. */
    size_t nactions;
    double *fired_fraction, *fired_fraction_se;
} es_result;

/* Simulates `trials` (at least 2) trials with gsl_rng_mt19937. The trials are cut into
 * ES_CHUNKS chunks, chunk c seeded from (seed, c) and run by OpenMP threads; counts are merged
 * as integers, completion times kept per trial (8 bytes a trial), so the result depends only
 * on (scenario, trials, seed), not on the thread count. Free with es_result_free. */
#define ES_CHUNKS 64
es_result *es_simulate(const es_scenario *sc, uint64_t trials, unsigned long seed);
void es_result_free(es_result *r);

/* Dates: days since 1970-01-01 for a proleptic Gregorian date, and back. es_parse_date
 * returns 0 and sets *days for a well-formed YYYY-MM-DD, -1 otherwise. */
long es_days_from_civil(long y, long m, long d);
void es_civil_from_days(long days, long *y, long *m, long *d);
int es_parse_date(const char *s, long *days);

#endif
