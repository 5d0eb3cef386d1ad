/* The command line's shared parts: the options every command takes, their parsing, loading the
 * scenario (with its overrides), running the simulation with progress and signals, and the exit
 * statuses. Each command lives in its own file (engine/cmd_*.c); engine/main.c dispatches. */
#ifndef ACCRUE_CLI_H
#define ACCRUE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "outdir.h"
#include "report.h"
#include "sim.h"
#include "../models/model.h"
#include "../models/scenario.h"

#define CLI_VERSION "0.2.0"
#define CLI_DEFAULT_TRIALS 1000000ULL
#define CLI_DEFAULT_SEED 20260718ULL
#define CLI_MAX_TRIALS 1000000000000ULL
#define CLI_MAX_THREADS 1024
#define CLI_MAX_SCENARIOS 16
#define CLI_MAX_SETS 64
#define CLI_MAX_VARY 2
#define EXIT_USAGE 2
#define ERRLEN 1024
/* The exact check beside a run is skipped past this much work (well under a second): a
 * scenario with huge counts and two beta probabilities can take minutes (accrue exact). */
#define CLI_EXACT_CHECK_WORK 1e8

typedef struct options {
    const char *command;
    const char *scenario[CLI_MAX_SCENARIOS];   /* none: the built-in default */
    size_t n_scenarios;
    const char *out;
    uint64_t trials, seed;
    int trials_given, seed_given, threads_given;
    int threads;
    double target_se;
    int quiet, verbose, json;
    const char *set[CLI_MAX_SETS];             /* --set KEY=VALUE, in order */
    size_t n_sets;
    const char *like;                          /* --like SITE (extra_sites) */
    const char *vary[CLI_MAX_VARY];            /* --vary KEY=VALUES (sweep) */
    size_t n_vary;
    const char *solve_for;                     /* --for KEY (solve) */
    double goal;                               /* --p X (solve) */
    const char *range;                         /* --range LO:HI (solve) */
} options;

/* Prints "accrue: WHAT" with %s replaced by arg, and the hint to --help; returns EXIT_USAGE. */
int cli_usage_error(const char *what, const char *arg);

/* Parses argv into *o. Returns 0, or EXIT_USAGE after a message. `max_scenarios` is what the
 * command takes (1 for most). */
int cli_parse_args(int argc, char **argv, options *o, size_t max_scenarios);

/* Loads scenario i of the options (the built-in default when none was given) and applies the
 * options' overrides (--set, in order); NULL after a message (exit status 2). A collective
 * call under MPI (engine/dist.h) the first time for each i. */
scenario *cli_load(const options *o, size_t i);

/* The same with extra overrides after the options' own (a sweep's or a solve's varied key). */
scenario *cli_load_with(const options *o, size_t i, const char *const *extra, size_t n_extra);

/* The same without a message: NULL with the reason in err (for a companion scenario whose
 * failure the caller handles; scenario i must have been loaded once already). */
scenario *cli_load_into(const options *o, size_t i, const char *const *extra, size_t n_extra,
                        char *err, size_t errlen);

/* The overrides scenario s was loaded with, as the reports and inputs/ give them: its
 * folder's overrides.csv (s->from_file) first, then --set in order; like: --like, else the
 * file's. Points into s and o. */
typedef struct cli_overrides {
    const char *set[OVERRIDES_FILE_MAX_ROWS + CLI_MAX_SETS];
    size_t n;
    const char *like;
} cli_overrides;
void cli_overrides_of(const options *o, const scenario *s, cli_overrides *out);

/* Scenario folders are read once per process (by rank 0 alone under MPI, engine/dist.h) and
 * kept for every later cli_load of the same scenario; this frees them (at the end of main). */
void cli_forget_folders(void);

/* Scenario i's folder as read and parsed by cli_load (the built-in default: NULL), for
 * inputs/; valid until cli_forget_folders. */
const scenario_folder *cli_folder(const options *o, size_t i);

/* Checks --out before anything runs; -1 after a message (exit status 2). */
int cli_check_out_dir(const options *o);

/* Runs the simulation with the progress line and the signal handlers in place; NULL with a
 * message in err. */
sim_result *cli_simulate(const options *o, const sim_model *sim, uint64_t trials,
                         double *seconds, char *err, size_t errlen);

/* The exact P(success) and mean beside a run, within CLI_EXACT_CHECK_WORK (the quadrature
 * converging on P(success) alone, model_exact_p_at_least); -1 with the reason. */
int cli_exact_check(const model *m, const scenario *s, double *p, double *mean, char *err,
                    size_t errlen);

/* The report's view of a scenario and its plan (names, dates, the exact check). The arrays *cp
 * and *names are the caller's to free (also on failure). Returns 0 or -1 (out of memory). */
int cli_describe_run(const options *o, const scenario *s, const model *plan, report_info *info,
                     date_t **cp, const char ***names, char *exact_err, size_t errlen);

/* One file of an --out set: its name and how to write it. */
typedef struct cli_file {
    const char *name;
    void (*write)(FILE *f, const void *arg);
    const void *arg;
} cli_file;

/* Writes the files into --out as one set (engine/outdir.c: complete or not at all, signals
 * deferred meanwhile); known lists every name such a folder may hold. Returns the exit status
 * (0, or after a message 1 or 130 / 143). */
int cli_write_files(const options *o, const char *const *known, const cli_file *files,
                    size_t n);

/* Prints the assumptions: the scenario as model m reads it, then the options' overrides. */
void cli_describe(const options *o, const model *m, FILE *out);

/* Exit statuses: after an interruption (130 / 143, with a message), whether the report reached
 * standard output (else a message), and after writing tables (rc_write from the writer). */
int cli_interrupted_status(void);
int cli_report_reached_stdout(void);
int cli_write_tables(int rc_write, const char *err);

/* After cli_simulate: 0 when r is a complete result; 1 after a message when the simulation
 * failed (r NULL, the reason in err); 130 / 143 after a message when a signal stopped it. */
int cli_simulation_status(const sim_result *r, const char *err);

/* Ends an output set d that the caller filled (rc_write 0) or failed to (rc_write != 0, message
 * in err): commits it when all went well and no stop is pending, frees it either way, and
 * returns the exit status as cli_write_tables does; signals held back for the writing are
 * resumed after a success. */
int cli_finish_out(outdir *d, int rc_write, char *err, size_t errlen);

/* One row of accrue compare (engine/cmd_compare.c), which the report's comparison uses too:
 * P(success) with its SE and the exact value, the mean and the 10/50/90 % points of the count
 * at the deadline (quantiles.csv's), the median completion date or its censoring. */
typedef struct compare_row {
    char name[256];
    char folder[64];          /* the scenario folder's last part, for the terminal's table */
    double p, se, exact, mean;
    int has_exact;
    size_t q10, q50, q90;
    char median[16];
    const char *censored;     /* "", "before" or "after" */
} compare_row;

/* Fills row from scenario s (read from folder source; NULL: the built-in default) and its run
 * r; has_exact and exact are the caller's. */
void compare_row_fill(compare_row *row, const scenario *s, const char *source,
                      const sim_result *r);

/* compare.csv: scenario,folder,p_success,p_success_se,p_success_exact,mean_enrolled,q10,q50,
 * q90,completion_median,completion_censored, a row each. */
void compare_write_csv(FILE *f, const compare_row *rows, size_t n);

/* The commands, each in its own file: the exit status. */
int cmd_run(const options *o);
int cmd_exact(const options *o);
int cmd_sweep(const options *o);
int cmd_solve(const options *o);
int cmd_track(const options *o);
int cmd_report(const options *o);
int cmd_compare(const options *o);

#endif
