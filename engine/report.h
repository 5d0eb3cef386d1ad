/* Reports of a run: the readable report on standard output and the CSV files of DESIGN.md
 * section 4. Nothing here knows the model: it is given dates, names and a function that prints
 * the scenario's assumptions. */
#ifndef ACCRUE_REPORT_H
#define ACCRUE_REPORT_H

#include <stdio.h>
#include "date.h"
#include "sim.h"

/* A table beyond the run's own that the model has to offer (posterior.csv with a history):
 * its file name (one of report_extra_names) and a writer; write returns 0 or -1. */
typedef struct report_extra {
    const char *name;
    int (*write)(const void *arg, FILE *f);
    const void *arg;
} report_extra;

/* The names extra tables may take in an --out folder. */
extern const char *const report_extra_names[];

typedef struct report_info {
    const char *scenario_name;
    date_t start;                  /* day index 0 of the simulation */
    date_t deadline;
    size_t n_checkpoints;
    const date_t *checkpoint_date; /* [n_checkpoints], the last being the deadline */
    const char *const *unit_name;  /* [n_units] */
    const char *unit_label;        /* what a unit is, e.g. "site" */
    void (*describe)(const void *arg, FILE *out);  /* prints the assumptions */
    const void *describe_arg;
    uint64_t seed;
    int has_exact;                 /* an exact P(success) is known */
    const char *exact_note;        /* when not: why (may be NULL or empty) */
    double exact_p_success;
    double exact_mean;
    const char *version;           /* the program's, for summary.csv's provenance */
    const char *source;            /* where the scenario was read from */
    const char *overrides;         /* the --set overrides, separated by spaces (may be "") */
    long enrolled;                 /* registered before the start */
    int verbose;                   /* the terminal report's long tables and estimator details */
    size_t n_extra;                /* extra tables written beside the run's (may be 0) */
    const report_extra *extra;
    /* The model's own tallies (sim_result.tally), when it has any: tally_name writes tally i's
     * key for summary.csv and result.json into buf; print_tallies prints them for a reader
     * after the headline's table. Both NULL when the model has none. */
    void (*tally_name)(const void *arg, size_t i, char *buf, size_t len);
    void (*print_tallies)(const void *arg, const sim_result *r, FILE *out);
    const void *tallies_arg;
} report_info;

/* Writes text to out with every line longer than 80 columns wrapped at a space: a line that
 * starts with a label ("Scenario      ...") or none continues 14 columns in, an indented line
 * four columns deeper than its indent. A word longer than a line is left whole. */
void report_put_wrapped(const char *text, FILE *out);

/* The quantiles every table shows. */
#define REPORT_N_QUANTILES 7
extern const double report_quantiles[REPORT_N_QUANTILES];

/* Prints the readable report (assumptions, then results) to out. threads and seconds describe
 * the run and appear only here, never in the files (which must not depend on them). */
void report_print(FILE *out, const report_info *info, const sim_result *r, int threads,
                  double seconds);

/* Checks, before any simulation runs, that dir can receive the tables (outdir.h): it is not
 * input_dir (the scenario folder; may be NULL), does not hold it or one of its files, holds
 * nothing but accrue's tables if it exists, and a folder can be made beside it; its missing
 * parents are created. Returns 0, or -1 with a message in err. */
int report_check_dir(const char *dir, const char *input_dir, char *err, size_t errlen);

/* Writes summary.csv, enrolled_at_deadline.csv, quantiles.csv, completion.csv, checkpoints.csv
 * and sites.csv as one set: built in a private folder beside dir and swapped in for dir whole
 * (outdir.h), so dir holds the previous set or this one, never a mix and never a part. The
 * checks of report_check_dir are made again first. Stops early when process_stop is set (a
 * signal, process.h), leaving dir as it was. Returns 0, or -1 with a message in err. */
int report_write(const char *dir, const char *input_dir, const report_info *info,
                 const sim_result *r, char *err, size_t errlen);

/* Registrations by the deadline and by each checkpoint k as every table of a run gives them
 * (one estimator per quantity): at the deadline the headline's conditional estimates (the
 * q-quantile: the smallest n with P(N <= n) >= q; the mean with its SE; P(target reached) the
 * headline's P(success)), before it the simulated histogram's. */
size_t report_deadline_quantile(const sim_result *r, double q);
double report_checkpoint_mean(const report_info *info, const sim_result *r, size_t k,
                              double *se);
size_t report_checkpoint_quantile(const report_info *info, const sim_result *r, size_t k,
                                  double q);
double report_checkpoint_reached(const report_info *info, const sim_result *r, size_t k);

/* P(target reached by the end of day d) as completion.csv gives it (at the deadline the
 * headline's P(success)), with its SE in *se. */
double report_completion_reached(const report_info *info, const sim_result *r, date_t d,
                                 double *se);

/* The rows of enrolled_at_deadline.csv, in order: row(arg, x) for each count shown (its
 * conditional probability not negligible, or a simulated trial ended there). */
typedef struct report_pmf_row {
    size_t enrolled;
    double probability, at_least, se, plain;
} report_pmf_row;
void report_distribution(const sim_result *r,
                         void (*row)(void *arg, const report_pmf_row *x), void *arg);

/* Every name a run's --out folder may hold (NULL-terminated). */
const char *const *report_table_names(void);

/* Writes the run's tables and info's extras into the set begun in d (outdir.h), each name
 * prefixed by prefix ("" or "scenario-1/"): what report_write puts in a folder of its own.
 * Returns 0, or -1 with a message in err (also when a signal came: process_stop). */
struct outdir;
int report_write_into(struct outdir *d, const char *prefix, const report_info *info,
                      const sim_result *r, char *err, size_t errlen);

/* The date string of a completion-histogram slot: "before D", a date, or "after D". */
void report_completion_label(const report_info *info, const sim_result *r, size_t slot,
                             char *buf, size_t len);

/* Writes the exact distribution of registrations at the deadline as summary.csv and
 * enrolled_at_deadline.csv (same formats as report_write), as one set like report_write.
 * pmf[n] = P(N = n). */
int report_write_exact(const char *dir, const char *input_dir, const char *scenario_name,
                       const double *pmf, size_t len, size_t target, double mean, char *err,
                       size_t errlen);

#endif
