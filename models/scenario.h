/* A recruitment scenario: the trial's dates, counts and probabilities (trial.csv), its sites'
 * referral rates (sites.csv), their changes over time (schedule.csv) and the candidates seen so
 * far (history.csv, from which the rates and probabilities are learned: models/history.h), read
 * from a scenario folder and validated. Every value the model uses comes from here; nothing
 * about a particular trial lives in code. */
#ifndef ACCRUE_SCENARIO_H
#define ACCRUE_SCENARIO_H

#include "overrides.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "../engine/date.h"
#include "history.h"

/* A probability that is either a fixed number in [0, 1] or uncertain, Beta(a, b). */
typedef struct prob_spec {
    bool is_beta;
    double value;      /* the fixed value, or the beta mean a / (a + b) */
    double a, b;       /* beta parameters when is_beta */
} prob_spec;

/* A step of a site's rate schedule (schedule.csv): from day `from` on, the site's rate is its
 * `rate` times `factor`, until its next step. */
typedef struct rate_step {
    date_t from;
    double factor;       /* >= 0 */
} rate_step;

/* A corrective-action rule (actions.csv, DESIGN.md section 3). */
typedef enum action_kind { ACTION_ADD_SITE, ACTION_SCALE_RATES } action_kind;

typedef struct action_rule {
    bool every;          /* at each review strictly before the deadline */
    date_t review;       /* else at this review date (one of the scenario's checkpoints) */
    bool pace;           /* threshold: floor(enrolled + (target - enrolled) (d + 1) / W) */
    double below;        /* else this number (>= 0): fires when registrations < below */
    action_kind action;
    double value;        /* add_site: rate per year; scale_rates: the factor */
    double shape;        /* add_site: gamma shape of the rate, 0 = fixed */
    long delay_days;     /* >= 1: effect from the start of review day + delay_days */
    long times;          /* >= 1: most firings per simulated trial */
    size_t line;         /* its line in actions.csv */
} action_rule;

/* One recruiting site. */
typedef struct site_spec {
    char *name;
    double rate;         /* expected referrals per year (365.25 days), before thinning */
    double shape;        /* gamma shape of the rate's uncertainty; 0 means the rate is fixed */
    date_t active_from;  /* first day it recruits (defaults to as_of); with uniform(D1;D2), D1 */
    date_t active_to;    /* the last possible first day: D2 of uniform(D1;D2), every day in
                            [active_from, active_to] equally likely; == active_from when fixed */
    double opens;        /* probability the site ever opens, in [0, 1] (default 1) */
    bool has_cap;        /* the site refers at most `cap` candidates from as_of on (sites.csv
                            column cap; false: no limit, the default) */
    long cap;            /* 0 .. SCENARIO_MAX_CAP when has_cap */
    size_t n_steps;      /* its rate schedule, steps sorted by date (none: factor 1 throughout); */
    rate_step *step;     /* before the first step the factor is 1 */
    char *note;          /* may be empty, never NULL */
    size_t line;         /* its row's line in sites.csv (OVERRIDE_LINE: added by --set; 0:
                            built by hand) */
} site_spec;

/* A value as messages quote it: at most SCENARIO_SHOWN_MAX bytes, cut at a character's start
 * with "..." after, control characters shown as '?', so that a field of binary junk or many
 * lines still gives a one-line message. */
#define SCENARIO_SHOWN_MAX 40
typedef struct scenario_shown {
    char s[SCENARIO_SHOWN_MAX + 4];
} scenario_shown;
scenario_shown scenario_show(const char *v);

typedef struct scenario {
    char *name;          /* shown on every report */
    char *source;        /* folder it was read from, or "built-in default" */
    /* The folder's overrides.csv (models/overrides.h), applied before the caller's; empty
     * without one. */
    overrides_file from_file;
    date_t as_of;        /* first day of the forecast */
    date_t deadline;     /* last day a patient may be registered */
    long target;         /* patients needed */
    long enrolled;       /* registered before as_of */
    long screening;      /* candidates in screening at as_of */
    prob_spec screen_pass;
    long screen_days;    /* days from referral to registration */
    date_t selfpay_from; /* referrals from this day on need self-pay consent */
    prob_spec selfpay_consent;
    bool selfpay_screening; /* candidates in screening at as_of need consent too when they
                               register on or after selfpay_from */
    int review_months;   /* months between review checkpoints */
    double horizon_years;/* years past the deadline over which completion is followed */
    size_t n_sites;
    site_spec *site;
    /* Learning from the trial's own data (history.csv; models/history.h). Without a history:
     * has_history false, history_from 0, rate_prior HISTORY_PRIOR_SITE, n_history 0 and
     * history, history_file and learned NULL, and every other field means what it meant
     * before history.csv existed. */
    bool has_history;
    date_t history_from;   /* first day the history's records cover (<= as_of) */
    history_rate_prior rate_prior;
    size_t n_history;
    history_row *history;  /* every row of history.csv in file order, those referred on or
                              after as_of (for `accrue track`) included */
    char *history_file;    /* the path messages name ("DIR/history.csv") */
    /* Corrective action (actions.csv): none without the file. */
    size_t n_actions;
    action_rule *action;
    /* The `*` rows of schedule.csv (the schedule of a site added by a rule); none: factor 1. */
    size_t n_star_steps;
    rate_step *star_step;
    history_learning *learned; /* set by history_apply: the priors, the data and the
                                  posteriors, the sites' rates and the probabilities above
                                  then being the posteriors; NULL before or without learning */
} scenario;

/* Every rate in a scenario is per year of this many days. */
#define SCENARIO_DAYS_PER_YEAR 365.25

/* Bounds beyond which a value is refused as not sane (documented in the README). */
#define SCENARIO_MAX_RATE 100000.0      /* referrals per site per year */
#define SCENARIO_MAX_COUNT 1000000L     /* target, enrolled, screening */
#define SCENARIO_MAX_CAP 1000000L       /* a site's cap */
#define SCENARIO_MAX_HORIZON 100.0      /* years */
#define SCENARIO_MAX_SCREEN_DAYS 3650L
#define SCENARIO_MAX_REVIEW_MONTHS 120
/* Gamma shapes and beta parameters below 0.01 put almost all mass at 0 with tails that reach
 * beyond double precision (a Gamma(1e-5) draw underflows to 0); no evidence supports such a
 * law, so they are refused. */
#define SCENARIO_MIN_SHAPE 0.01
#define SCENARIO_MAX_SHAPE 1e6
#define SCENARIO_MIN_BETA 0.01
#define SCENARIO_MAX_BETA 1e6
#define SCENARIO_MAX_SITES 100000
#define SCENARIO_MAX_WINDOW_DAYS 36525L  /* as_of to deadline: 100 years */
#define SCENARIO_MAX_FACTOR 1000.0      /* a schedule's factor */
#define SCENARIO_MAX_STEPS 1000         /* schedule steps of one site */
#define SCENARIO_MAX_HISTORY 1000000L   /* rows of history.csv */
#define SCENARIO_MAX_ACTIONS 100        /* rows of actions.csv */
#define SCENARIO_MAX_TIMES 1000         /* an action's times */
/* Bounds on what a scenario makes the engine hold, checked when it is loaded (after the
 * learning) so that a scenario within the bounds above runs in bounded memory or is refused up
 * front (scenario_check_size). A site's rate counts at its upper rate (scenario_rate_upper). */
#define SCENARIO_MAX_REGISTRATIONS 1e8   /* registrations by the deadline at the upper rates */
#define SCENARIO_MAX_COUNT_CELLS 1e8     /* count tables: (reviews + 1) x the most registrations,
                                            8 bytes a cell for each thread */
#define SCENARIO_MAX_WINDOW_TOTAL 4000000L /* days of all uniform(D1;D2) windows, from as_of on */
#define SCENARIO_RATE_UPPER_TAIL 1e-10   /* P(a gamma rate > its upper rate) */

/* The rate a site's drawn rate exceeds with probability below SCENARIO_RATE_UPPER_TAIL: its
 * rate when fixed, else the gamma quantile but never below mean + 10 standard deviations
 * (GSL's inverse loses accuracy for shapes in the millions). The sites model sizes its tables
 * by it (models/sites.c), and scenario_check_size bounds it. */
double scenario_rate_upper(const site_spec *st);

/* Reads dir/trial.csv, dir/sites.csv and, when present, dir/schedule.csv and dir/history.csv,
 * and learns from the history (below). Returns a scenario
 * the caller frees with scenario_free, or NULL with one message "FILE:LINE: what is wrong; what
 * was expected" in err (errlen bytes; err may be NULL; a short buffer gets a cut message).
 * Never guesses: unknown, missing or duplicate keys, columns and files, bad numbers, dates or
 * probabilities are all errors.
 *
 * FILE is the path as given (dir + "/trial.csv"). LINE is the line on which the faulty row
 * starts; a fault in a header (unknown, duplicate or missing column) is on the header's line;
 * LINE is 0 when the fault is the whole file: missing, unreadable, empty or over 64 MiB, a
 * required key (as_of, deadline, target) absent, no sites, a file the folder must not hold,
 * a schedule too large in all, history_from missing with a history. The folder is checked
 * first, then trial.csv is read and checked completely before sites.csv is opened, sites.csv
 * before schedule.csv and schedule.csv before history.csv, so faults are reported in that
 * order; a count that disagrees with the history (below) comes after history.csv's rows, and
 * what the learning refuses (models/history.h) last.
 *
 * Files: a regular file in dir whose name ends in .csv (in any case) other than trial.csv,
 * sites.csv, schedule.csv, history.csv and actions.csv is refused with "DIR/NAME:0: unknown
 * scenario file; expected trial.csv, sites.csv and optionally schedule.csv, history.csv and
 * actions.csv" (a misspelt
 * schedul.csv, Sites.csv, action.csv). Of several such files the first in byte order is named. Other files
 * (README.md) are ignored. schedule.csv and history.csv are optional: absent, no site has a
 * schedule, or there is no history; anything else at that name (an empty file, a folder, a
 * dangling link) is read and refused like a bad trial.csv.
 *
 * Reading rules (DESIGN.md section 3 gives the keys, columns and defaults), the same for the
 * four files:
 * - Spaces and tabs around every field are trimmed, inside quotes too: `" A "` is "A".
 * - Keys and column names are lower case as documented; `Target` is an unknown key.
 * - Every data row has as many fields as its header; the note columns are ignored.
 * - Numbers are plain decimals ([+-]digits[.digits][e[+-]digits]); "nan", "inf", hex
 *   floats, "1,5", "12abc" and values that overflow are refused.
 * - Counts (target, enrolled, screening, screen_days, review_months) are whole numbers
 *   written as such: "12.0" and "1e1" are refused as "not a whole number".
 * - Bounds: 1 <= target <= SCENARIO_MAX_COUNT; 0 <= enrolled, screening <= SCENARIO_MAX_COUNT
 *   (enrolled >= target is allowed: the target is already met); 0 <= screen_days <=
 *   SCENARIO_MAX_SCREEN_DAYS; 1 <= review_months <= SCENARIO_MAX_REVIEW_MONTHS;
 *   0 <= horizon_years <= SCENARIO_MAX_HORIZON; 0 <= rate <= SCENARIO_MAX_RATE (0 is a site
 *   that refers no one); rate_shape empty (fixed) or 0 < shape <= SCENARIO_MAX_SHAPE;
 *   probabilities in [0, 1] or beta(a;b) with 0 < a, b <= SCENARIO_MAX_BETA (spaces allowed
 *   inside: `beta( 2 ; 3 )`); at most SCENARIO_MAX_SITES sites, at least one.
 * - Dates are YYYY-MM-DD (date_parse: years 1600 to 9999); deadline >= as_of (equal gives a
 *   one-day window); selfpay_from and active_from may be any date.
 * - name and site names are non-empty, on one line, without control characters; site names
 *   are unique after trimming. name defaults to dir's last component (for "." the current
 *   folder's name; "scenario" if the path names none).
 * - trial.csv key selfpay_screening: `yes` or `no` (lower case; default no).
 * - sites.csv active_from: empty (as_of), a date, or `uniform(D1;D2)` with dates D1 <= D2 and
 *   D2 - D1 <= SCENARIO_MAX_WINDOW_DAYS days, spaces allowed inside like beta's:
 *   active_from = D1, active_to = D2. Otherwise active_to = active_from.
 * - sites.csv column opens (optional): a plain number in [0, 1], not a beta; empty is 1.
 * - sites.csv column cap (optional): a whole number from 0 to SCENARIO_MAX_CAP, the most
 *   candidates the site refers from as_of on (after the deadline too); empty is no limit
 *   (has_cap false).
 * - schedule.csv: columns site, from, factor (required) and note, in any order. site is a
 *   site of sites.csv (compared after trimming) or `*`; from a date; factor a plain number in
 *   [0, SCENARIO_MAX_FACTOR]. A site's rows, sorted by date, become its steps; the `*` rows
 *   are the steps of every site that has no rows of its own. A second row with the same site
 *   (or `*`) and date is refused on its line, as is an unknown site and a site's (or `*`'s)
 *   row beyond SCENARIO_MAX_STEPS. All sites' steps together, the `*` rows counted once for
 *   each site that takes them, are at most 1000000 (a bound on memory). A header with no rows
 *   is no schedule.
 * - history.csv (DESIGN.md section 3): columns site, referred, outcome, decided (required)
 *   and note, in any order, one row per candidate, at most SCENARIO_MAX_HISTORY. site is a
 *   site of sites.csv; referred a date on or after history_from; outcome `registered`,
 *   `screen_failed`, `declined` or empty (in screening); decided a date on or after referred,
 *   empty exactly when outcome is. `declined` (refused to pay) only for a candidate whose
 *   consent the model asks: referred on or after selfpay_from or, with selfpay_screening yes,
 *   decided on or after it. Rows referred on or after as_of are kept (for `accrue track`) and
 *   checked alike, but count for nothing at as_of. A header with no rows is a history with no
 *   candidate (the sites' exposure is still data).
 * - With history.csv, trial.csv must have history_from (a date on or before as_of) and may have
 *   rate_prior (`site`, the default, or `pooled`); without it, neither key is allowed.
 *   enrolled (default: counted) is the number of rows registered with decided < as_of,
 *   screening (default: counted) the number referred before as_of with no outcome or decided
 *   on or after as_of; given in trial.csv they must be those numbers ("trial.csv:LINE: enrolled
 *   3 disagrees with history.csv ..."). A site's active_from defaults to history_from instead
 *   of as_of and may lie before as_of; a site starting before as_of must have a known first
 *   day (not uniform(D1;D2) with D1 before as_of) and opens 1.
 * - Without the new inputs every site has active_to = active_from, opens = 1, has_cap false,
 *   n_steps = 0 and step = NULL, and selfpay_screening is false: the base model of DESIGN.md section 2.1.
 * - actions.csv (DESIGN.md section 3; read after history.csv): columns review, below, action,
 *   value (required), rate_shape, delay_days, times and note, in any order, at most
 *   SCENARIO_MAX_ACTIONS rows. review: `every` or a review checkpoint's date (the deadline
 *   included); below: `pace` or a plain number from 0 to SCENARIO_MAX_COUNT; action:
 *   `add_site` (value a rate from 0 to SCENARIO_MAX_RATE, rate_shape empty or a gamma shape as
 *   in sites.csv) or `scale_rates` (value a factor from 0 to SCENARIO_MAX_FACTOR, rate_shape
 *   empty); delay_days a whole number from 1 to SCENARIO_MAX_WINDOW_DAYS (empty: 1); times a
 *   whole number from 1 to SCENARIO_MAX_TIMES (empty: 1). A header with no rows is no rule.
 * Accepted: a UTF-8 byte-order mark, CRLF or LF, blank lines anywhere, quoted fields holding
 * commas, quotes or line breaks (notes), columns of sites.csv, schedule.csv and history.csv in
 * any order.
 *
 * Learning: with a history, the scenario as read holds the priors, and scenario_load then
 * calls history_apply (models/history.h), so that every command forecasts from the
 * posteriors: the sites' rate and shape, screen_pass and selfpay_consent are replaced by
 * them, and s->learned keeps the priors, the data and the posteriors for the report. What the
 * learning refuses (data that a fixed value makes impossible) is an error like any other. */
scenario *scenario_load(const char *dir, char *err, size_t errlen);

/* The same without learning: with a history, the rates and probabilities are the priors as
 * written and s->learned is NULL (history_apply learns later, e.g. after overrides of the
 * priors). The history is read and checked, enrolled and screening counted, as by
 * scenario_load. Without a history the two are the same. */
scenario *scenario_load_prior(const char *dir, char *err, size_t errlen);

/* The same from two CSV texts held in memory (used for the built-in default and by tests),
 * without a schedule or a history and without the folder's check of its files; trial_name and
 * sites_name label the messages, source becomes scenario->source and the default name. */
scenario *scenario_parse(const char *source, const char *trial_name, const char *trial_csv,
                         size_t trial_len, const char *sites_name, const char *sites_csv,
                         size_t sites_len, char *err, size_t errlen);

/* The built-in default scenario (the protocol's own plan, compiled in from
 * scenarios/protocol-plan at build time by engine/embed.sh). Its source is
 * "built-in default (scenarios/protocol-plan)"; its name comes from the file ("protocol-plan"
 * if it has no name key); messages name "built-in scenarios/protocol-plan/trial.csv". */
scenario *scenario_default(char *err, size_t errlen);

/* scenario_load and scenario_default with overrides (--set, models/overrides.h) applied to the
 * tables before they are read, so that an overridden value meets every rule a file's value
 * meets; a fault in an overridden row is reported as "--set (in FILE): ...". ov may be NULL. */
struct scenario_overrides;
scenario *scenario_load_with(const char *dir, const struct scenario_overrides *ov, char *err,
                             size_t errlen);
scenario *scenario_default_with(const struct scenario_overrides *ov, char *err, size_t errlen);

/* A scenario folder read but not parsed: what scenario_load takes from the disk, so that one
 * process can read a folder and others parse the same bytes (the ranks of the MPI build,
 * engine/dist.h). file[]: trial.csv, sites.csv, schedule.csv, history.csv, actions.csv,
 * overrides.csv (models/overrides.h: applied before the caller's overrides). */
#define SCENARIO_N_FILES 6
#define SCENARIO_FILE_OVERRIDES 5
typedef struct scenario_file {
    int present;        /* 0: an optional file that is not there */
    char *text;         /* its bytes (len of them), or NULL with error */
    size_t len;
    char *error;        /* why it could not be read: the message scenario_load would give */
} scenario_file;

typedef struct scenario_folder {
    char *dir;          /* as given */
    char *name;         /* the scenario's default name (the folder's) */
    scenario_file file[SCENARIO_N_FILES];
} scenario_folder;

/* Reads dir's files into *f (freed with scenario_folder_free). Returns 0 (a file that cannot
 * be read is kept with its error, said when scenario_from_folder reaches it, in
 * scenario_load's order), or -1 with a message (an unknown .csv file in the folder, out of
 * memory). */
int scenario_read_folder(const char *dir, scenario_folder *f, char *err, size_t errlen);

/* scenario_load_with on a folder read by scenario_read_folder: the same scenario or message. */
scenario *scenario_from_folder(const scenario_folder *f, const struct scenario_overrides *ov,
                               char *err, size_t errlen);

/* Frees what f holds (f itself is the caller's); a zeroed f is fine. */
void scenario_folder_free(scenario_folder *f);

/* Frees s, its sites' steps, its history and what it learned included; NULL is fine. */
void scenario_free(scenario *s);

/* Prints the scenario's assumptions, one per line, as a report header: name, source, window,
 * counts, probabilities (a beta with its mean and 90 % interval), "candidates in screening
 * need consent too" under self-pay when selfpay_screening, reviews, then one line per site
 * (rate per year, fixed or gamma with its 90 % interval, first day when fixed), followed, for
 * a site that has any, by a line (wrapped under 80 columns) with its uncertain first day
 * ("first day uniform 2027-01-01 to 2027-06-30"), its probability of opening when below 1 and
 * its rate schedule ("rate x0.5 from 2027-04-01, x1 from 2027-10-01", or "same rate schedule
 * as NAME" when a site just above has the same). A scenario that has learned from its history
 * shows, before its sites, what was learned (history_print) and its sites' rates are the
 * posteriors ("(posteriors)" on the Sites line). A scenario without the new inputs is
 * described as before them. Changes nothing; GSL's error handler is switched off while it
 * runs and restored after. */
void scenario_describe(const scenario *s, FILE *out);

/* Days of recruitment from as_of to the end of the deadline day: deadline - as_of + 1. */
long scenario_window_days(const scenario *s);

/* Days followed for the completion date: the window plus horizon_years, rounded to whole days. */
long scenario_followed_days(const scenario *s);

#endif
