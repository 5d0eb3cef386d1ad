/* A recruitment scenario: the trial's dates, counts and probabilities (trial.csv) and its sites'
 * referral rates (sites.csv), read from a scenario folder and validated. Every value the model
 * uses comes from here; nothing about a particular trial lives in code. */
#ifndef ACCRUE_SCENARIO_H
#define ACCRUE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "../engine/date.h"

/* A probability that is either a fixed number in [0, 1] or uncertain, Beta(a, b). */
typedef struct prob_spec {
    bool is_beta;
    double value;      /* the fixed value, or the beta mean a / (a + b) */
    double a, b;       /* beta parameters when is_beta */
} prob_spec;

/* One recruiting site. */
typedef struct site_spec {
    char *name;
    double rate;         /* expected referrals per year (365.25 days), before thinning */
    double shape;        /* gamma shape of the rate's uncertainty; 0 means the rate is fixed */
    date_t active_from;  /* first day it recruits (defaults to as_of) */
    char *note;          /* may be empty, never NULL */
} site_spec;

typedef struct scenario {
    char *name;          /* shown on every report */
    char *source;        /* folder it was read from, or "built-in default" */
    date_t as_of;        /* first day of the forecast */
    date_t deadline;     /* last day a patient may be registered */
    long target;         /* patients needed */
    long enrolled;       /* registered before as_of */
    long screening;      /* candidates in screening at as_of */
    prob_spec screen_pass;
    long screen_days;    /* days from referral to registration */
    date_t selfpay_from; /* referrals from this day on need self-pay consent */
    prob_spec selfpay_consent;
    int review_months;   /* months between review checkpoints */
    double horizon_years;/* years past the deadline over which completion is followed */
    size_t n_sites;
    site_spec *site;
} scenario;

/* Bounds beyond which a value is refused as not sane (documented in the README). */
#define SCENARIO_MAX_RATE 100000.0      /* referrals per site per year */
#define SCENARIO_MAX_COUNT 1000000L     /* target, enrolled, screening */
#define SCENARIO_MAX_HORIZON 100.0      /* years */
#define SCENARIO_MAX_SCREEN_DAYS 3650L
#define SCENARIO_MAX_REVIEW_MONTHS 120
#define SCENARIO_MAX_SHAPE 1e6
#define SCENARIO_MAX_BETA 1e6
#define SCENARIO_MAX_SITES 100000

/* Reads dir/trial.csv and dir/sites.csv. Returns a scenario the caller frees with
 * scenario_free, or NULL with one message "FILE:LINE: what is wrong; what was expected" in err
 * (errlen bytes; err may be NULL). Never guesses: unknown, missing or duplicate keys and
 * columns, bad numbers, dates or probabilities are all errors. */
scenario *scenario_load(const char *dir, char *err, size_t errlen);

/* The same from two CSV texts held in memory (used for the built-in default and by tests);
 * trial_name and sites_name label the messages, source becomes scenario->source and the
 * default name. */
scenario *scenario_parse(const char *source, const char *trial_name, const char *trial_csv,
                         size_t trial_len, const char *sites_name, const char *sites_csv,
                         size_t sites_len, char *err, size_t errlen);

/* The built-in default scenario (the protocol's own plan, compiled in from
 * scenarios/protocol-plan at build time). */
scenario *scenario_default(char *err, size_t errlen);

/* Frees s; NULL is fine. */
void scenario_free(scenario *s);

/* Prints the scenario's assumptions, one per line, as a report header. */
void scenario_describe(const scenario *s, FILE *out);

/* Days of recruitment from as_of to the end of the deadline day: deadline - as_of + 1. */
long scenario_window_days(const scenario *s);

#endif
