/* accrue's command line: parses arguments, loads a scenario, runs the simulation or the exact
 * computation and writes the reports. The only place that decides how the program ends.
 * Exit status: 0 done; 1 failure while running (memory, writing the report or the tables);
 * 2 bad arguments, scenario or --out folder; 130 / 143 interrupted by SIGINT / SIGTERM (the
 * --out folder left as it was). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <omp.h>
#include <gsl/gsl_errno.h>
#include "process.h"
#include "report.h"
#include "sim.h"
#include "../models/model.h"
#include "../models/scenario.h"

#define ACCRUE_VERSION "0.1.0"
#define DEFAULT_TRIALS 1000000ULL
#define DEFAULT_SEED 20260718ULL
#define MAX_TRIALS 1000000000000ULL
#define MAX_THREADS 1024
#define EXIT_USAGE 2
#define ERRLEN 1024
/* The exact check beside a run is skipped past this much work (well under a second): a
 * scenario with huge counts and two beta probabilities can take minutes (accrue exact). */
#define EXACT_CHECK_WORK 1e8

static const char usage[] =
    "usage: accrue run [SCENARIO] [--trials N] [--seed S] [--threads T] [--out DIR]\n"
    "                  [--target-se X] [--quiet]\n"
    "       accrue exact [SCENARIO] [--out DIR]\n"
    "       accrue --help | --version\n"
    "\n"
    "  SCENARIO        a folder holding trial.csv and sites.csv (default: the built-in\n"
    "                  protocol-plan scenario)\n"
    "  --trials N      simulated trials (default 1000000; with --target-se, the most to run)\n"
    "  --seed S        random seed, 0 to 2^64-1 (default 20260718)\n"
    "  --threads T     threads (default: all cores); results do not depend on it\n"
    "  --out DIR       also write the CSV tables into DIR (created if missing)\n"
    "  --target-se X   run until the standard error of P(success) is at most X\n"
    "  --quiet         no progress line on standard error\n"
    "\n"
    "run simulates; exact computes the distribution of registrations at the deadline\n"
    "without simulation. See README.md for the scenario format and every output.\n";

typedef struct options {
    const char *command;
    const char *scenario;
    const char *out;
    uint64_t trials, seed;
    int trials_given;
    int threads;
    double target_se;
    int quiet;
} options;

/* Prints "accrue: WHAT" with %s in the format replaced by arg, and the hint to --help. */
static int usage_error(const char *what, const char *arg)
{
    const char *at = strstr(what, "%s");
    fprintf(stderr, "accrue: ");
    if (at)
        fprintf(stderr, "%.*s%s%s", (int)(at - what), what, arg, at + 2);
    else
        fputs(what, stderr);
    fprintf(stderr, "\n(accrue --help shows the usage)\n");
    return EXIT_USAGE;
}

/* A whole number written in decimal digits, or in scientific notation that is exactly whole
 * (1e6), in [lo, hi]. */
static int parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!*s || strspn(s, "0123456789") == strlen(s)) {
        if (!*s || strlen(s) > 20)
            return -1;
        errno = 0;
        unsigned long long v = strtoull(s, NULL, 10);
        if (errno || v < lo || v > hi)
            return -1;
        *out = v;
        return 0;
    }
    char *end;
    if (strspn(s, "0123456789.eE+") != strlen(s))
        return -1;
    double d = strtod(s, &end);
    if (*end || !(d >= (double)lo) || !(d <= (double)hi) || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static int parse_positive_real(const char *s, double *out)
{
    char *end;
    if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
        return -1;
    double d = strtod(s, &end);
    if (*end || !(d > 0.0) || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* Takes the value of option argv[*i], or reports it missing. */
static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0')
        return NULL;
    return argv[++*i];
}

static int parse_option(int argc, char **argv, int *i, options *o)
{
    const char *a = argv[*i], *v;
    uint64_t n;
    if (!strcmp(a, "--quiet")) {
        o->quiet = 1;
        return 0;
    }
    int known = !strcmp(a, "--trials") || !strcmp(a, "--seed") || !strcmp(a, "--threads") ||
                !strcmp(a, "--out") || !strcmp(a, "--target-se");
    if (!known)
        return usage_error("unknown option '%s'", a);
    if (!(v = option_value(argc, argv, i)))
        return usage_error("%s needs a value", a);
    if (!strcmp(a, "--out")) {
        o->out = v;
    } else if (!strcmp(a, "--trials")) {
        if (parse_count(v, 1, MAX_TRIALS, &o->trials))
            return usage_error("--trials '%s': expected a whole number from 1 to 1e12", v);
        o->trials_given = 1;
    } else if (!strcmp(a, "--seed")) {
        if (strspn(v, "0123456789") != strlen(v) || parse_count(v, 0, UINT64_MAX, &o->seed))
            return usage_error("--seed '%s': expected a whole number from 0 to 18446744073709551615", v);
    } else if (!strcmp(a, "--threads")) {
        if (parse_count(v, 1, MAX_THREADS, &n))
            return usage_error("--threads '%s': expected a whole number from 1 to 1024", v);
        o->threads = (int)n;
    } else if (parse_positive_real(v, &o->target_se) || o->target_se >= 1.0) {
        return usage_error("--target-se '%s': expected a number between 0 and 1, e.g. 1e-4", v);
    }
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.trials = DEFAULT_TRIALS, .seed = DEFAULT_SEED, .threads = omp_get_num_procs()};
    if (argc < 2)
        return usage_error("%s", "no command given: expected run or exact");
    o->command = argv[1];
    if (!strcmp(o->command, "--help") || !strcmp(o->command, "--version"))
        return 0;
    if (strcmp(o->command, "run") && strcmp(o->command, "exact"))
        return usage_error("unknown command '%s': expected run or exact", o->command);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            o->command = "--help";
            return 0;
        }
        if (!strncmp(argv[i], "--", 2)) {
            int rc = parse_option(argc, argv, &i, o);
            if (rc)
                return rc;
        } else if (o->scenario) {
            return usage_error("more than one scenario given ('%s')", argv[i]);
        } else {
            o->scenario = argv[i];
        }
    }
    if (o->target_se > 0.0 && !o->trials_given)
        o->trials = MAX_TRIALS;
    return 0;
}

static void describe_model(const void *m, FILE *out)
{
    model_describe(m, out);
}

/* ---- progress on a terminal ---- */

typedef struct progress {
    double start;
    int shown;
} progress;

static void show_progress(void *arg, uint64_t done, uint64_t planned, double p, double se)
{
    progress *pr = arg;
    if (omp_get_wtime() - pr->start < 1.0)
        return;
    pr->shown = 1;
    if (planned >= MAX_TRIALS)
        fprintf(stderr, "\raccrue: %llu trials, P = %.4f, SE %.2g   ", (unsigned long long)done, p, se);
    else
        fprintf(stderr, "\raccrue: %3.0f %% of %llu trials, P = %.4f, SE %.2g   ",
                100.0 * (double)done / (double)planned, (unsigned long long)planned, p, se);
    fflush(stderr);
}

/* ---- commands ---- */

static scenario *load(const options *o)
{
    char err[ERRLEN] = "";
    scenario *s = o->scenario ? scenario_load(o->scenario, err, sizeof err)
                              : scenario_default(err, sizeof err);
    if (!s)
        fprintf(stderr, "accrue: %s\n", err);
    return s;
}

/* "-0" in a scenario file reads as -0.0, within every bound, and printed as "-0/year": each
 * value becomes +0 (x + 0.0 changes only the sign of a zero). */
static void drop_negative_zeros(scenario *s)
{
    s->horizon_years += 0.0;
    s->screen_pass.value += 0.0;
    s->selfpay_consent.value += 0.0;
    for (size_t i = 0; i < s->n_sites; i++) {
        s->site[i].rate += 0.0;
        s->site[i].shape += 0.0;
    }
}

static int check_out_dir(const options *o)
{
    char err[ERRLEN] = "";
    if (o->out && report_check_dir(o->out, o->scenario, err, sizeof err) != 0) {
        fprintf(stderr, "accrue: %s\n", err);
        return -1;
    }
    return 0;
}

static int interrupted_status(void)
{
    fprintf(stderr, "\naccrue: interrupted; no output written\n");
    return process_stop_status();
}

/* The report printed so far reached standard output; else a message (exit status 1). */
static int report_reached_stdout(void)
{
    char err[ERRLEN] = "";
    if (process_flush_stdout(err, sizeof err) == 0)
        return 1;
    fprintf(stderr, "accrue: %s\n", err);
    return 0;
}

/* The exit status after writing the tables (report_write's rc_write, message err): written,
 * interrupted (the writer polls process_stop and leaves --out as it was) or failed. */
static int write_tables(int rc_write, const char *err)
{
    if (rc_write == 0)
        return 0;
    if (process_stop)
        return interrupted_status();
    fprintf(stderr, "accrue: %s\n", err);
    return 1;
}

static int exact_p_success(const model *m, const scenario *s, double *p, double *mean, char *err,
                           size_t errlen)
{
    exact_dist d;
    if (model_exact(m, EXACT_CHECK_WORK, &d, err, errlen) != 0)
        return -1;
    *p = exact_p_at_least(&d, s->target);
    *mean = model_exact_mean(m);
    exact_dist_free(&d);
    return 0;
}

static int write_run_outputs(const options *o, const report_info *info, const sim_result *r)
{
    char err[ERRLEN] = "";
    process_signals_defer();
    int rc = write_tables(report_write(o->out, o->scenario, info, r, err, sizeof err), err);
    if (rc == 0)
        process_signals_resume();
    return rc;
}

/* The report's view of a scenario and its plan: names, dates and the exact check. The arrays
 * *cp and *names are the caller's to free (also on failure). */
static int describe_run(const options *o, const scenario *s, const model *plan,
                        report_info *info, date_t **cp, const char ***names, char *exact_err,
                        size_t errlen)
{
    size_t n_cp = model_n_checkpoints(plan);
    *cp = malloc(n_cp * sizeof **cp);
    *names = malloc((s->n_sites + 1) * sizeof **names);
    if (!*cp || !*names)
        return -1;
    for (size_t k = 0; k < n_cp; k++)
        (*cp)[k] = model_checkpoint_date(plan, k);
    for (size_t i = 0; i < s->n_sites; i++)
        (*names)[i] = s->site[i].name;
    *info = (report_info){
        .scenario_name = s->name, .start = s->as_of, .deadline = s->deadline,
        .n_checkpoints = n_cp, .checkpoint_date = *cp, .unit_name = *names, .unit_label = "site",
        .describe = describe_model, .describe_arg = plan, .seed = o->seed,
    };
    info->has_exact = exact_p_success(plan, s, &info->exact_p_success, &info->exact_mean, exact_err,
                                      errlen) == 0;
    info->exact_note = exact_err;
    return 0;
}

/* Runs the simulation with the progress line and the signal handlers in place. */
static sim_result *simulate(const options *o, const sim_model *sim, double *seconds,
                            char *err, size_t errlen)
{
    /* From here a signal stops the simulation at the next batch, which returns what it did. */
    process_signals_defer();
    progress pr = {.start = omp_get_wtime()};
    int show = !o->quiet && isatty(STDERR_FILENO);
    sim_config cfg = {
        .trials = o->trials, .seed = o->seed, .threads = o->threads, .target_se = o->target_se,
        .stop = &process_stop, .progress = show ? show_progress : NULL, .progress_arg = &pr,
    };
    sim_result *r = sim_run(sim, &cfg, err, errlen);
    *seconds = omp_get_wtime() - pr.start;
    if (pr.shown)
        fprintf(stderr, "\r%70s\r", "");
    return r;
}

/* Prints the report and writes the tables; the exit status of the run. */
static int publish(const options *o, const report_info *info, const sim_result *r,
                   double seconds)
{
    if (r->interrupted || process_stop)
        return interrupted_status();
    process_signals_resume();
    report_print(stdout, info, r, o->threads, seconds);
    if (!report_reached_stdout())
        return 1;  /* and --out is left as it was */
    if (!o->out)
        return 0;
    int rc = write_run_outputs(o, info, r);
    if (rc != 0)
        return rc;
    printf("\nTables written to %s/\n", o->out);
    return 0;
}

static int command_run(const options *o, scenario *s)
{
    char err[ERRLEN] = "", exact_err[ERRLEN] = "";
    model *plan = model_prepare(s, err, sizeof err);
    if (!plan) {
        fprintf(stderr, "accrue: %s\n", err);
        return 1;
    }
    date_t *cp = NULL;
    const char **names = NULL;
    report_info info;
    int rc = 1;
    if (describe_run(o, s, plan, &info, &cp, &names, exact_err, sizeof exact_err) != 0) {
        fprintf(stderr, "accrue: out of memory\n");
    } else {
        sim_model sim = model_sim(plan);
        double seconds;
        sim_result *r = simulate(o, &sim, &seconds, err, sizeof err);
        if (r)
            rc = publish(o, &info, r, seconds);
        else
            fprintf(stderr, "accrue: %s\n", err);
        sim_result_free(r);
    }
    free(cp);
    free(names);
    model_free(plan);
    return rc;
}

static int command_exact(const options *o, const scenario *s)
{
    char err[ERRLEN] = "";
    exact_dist d;
    model *m = model_prepare(s, err, sizeof err);
    if (!m || model_exact(m, 0.0, &d, err, sizeof err) != 0) {
        fprintf(stderr, "accrue: %s: no exact computation: %s\n", s->source, err);
        model_free(m);
        return EXIT_USAGE;
    }
    double p = exact_p_at_least(&d, s->target), mean = model_exact_mean(m);
    char dl[11];
    date_format(s->deadline, dl);
    model_describe(m, stdout);
    printf("\nExact (no simulation)\n");
    printf("Probability of reaching %ld by %s: %.8f\n", s->target, dl, p);
    printf("Expected registrations by %s: %.6f\n", dl, mean);
    printf("\n  %5s  %12s  %12s\n", "n", "P(N = n)", "P(N >= n)");
    double at_least = exact_p_at_least(&d, 0);
    for (size_t n = 0; n < d.len; n++) {
        if (d.pmf[n] >= 1e-6 || (at_least >= 1e-6 && at_least < 1.0 - 1e-12))
            printf("  %5zu  %12.8f  %12.8f%s\n", n, d.pmf[n], at_least,
                   (long)n == s->target ? "   <- target" : "");
        at_least -= d.pmf[n];
    }
    int rc = report_reached_stdout() ? 0 : 1;
    if (o->out && rc == 0) {
        process_signals_defer();
        rc = write_tables(report_write_exact(o->out, o->scenario, s->name, d.pmf, d.len,
                                             (size_t)s->target, mean, err, sizeof err), err);
        if (rc == 0) {
            process_signals_resume();
            printf("\nTables written to %s/\n", o->out);
        }
    }
    exact_dist_free(&d);
    model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    char err[ERRLEN] = "";
    if (process_check_std_streams(err, sizeof err) != 0) {
        fprintf(stderr, "accrue: %s\n", err);
        return 1;
    }
    process_signals_install();
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (!strcmp(o.command, "--help") || !strcmp(o.command, "--version")) {
        if (!strcmp(o.command, "--help"))
            fputs(usage, stdout);
        else
            printf("accrue %s\n", ACCRUE_VERSION);
        rc = 0;
        goto done;
    }
    gsl_set_error_handler_off();
    scenario *s = load(&o);
    if (!s)
        return EXIT_USAGE;
    drop_negative_zeros(s);
    if (check_out_dir(&o) != 0) {
        scenario_free(s);
        return EXIT_USAGE;
    }
    rc = !strcmp(o.command, "run") ? command_run(&o, s) : command_exact(&o, s);
    scenario_free(s);
done:
    /* A report lost on the way is an error (after another error, already said, not again). */
    if (process_close_stdout(err, sizeof err) != 0 && rc == 0) {
        fprintf(stderr, "accrue: %s\n", err);
        rc = 1;
    }
    return rc;
}
