/* accrue run and accrue exact: one scenario simulated (the report on standard output, the
 * tables with --out), or its distribution at the deadline computed exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "fan.h"
#include "inputs.h"
#include "process.h"
#include "result_json.h"

static int write_run_outputs(const options *o, const report_info *info, const sim_result *r)
{
    char err[ERRLEN] = "";
    process_signals_defer();
    int rc = cli_write_tables(report_write(o->out, o->scenario[0], info, r, err, sizeof err), err);
    if (rc == 0)
        process_signals_resume();
    return rc;
}

/* Prints the report and writes the tables; the exit status of the run. */
static int write_json(const void *arg, FILE *f)
{
    return result_json_write(f, arg);
}

/* --json: result.json on standard output instead of the report (and no --out). */
static int print_json(const result_json_args *json)
{
    process_signals_resume();
    if (result_json_write(stdout, json) != 0) {
        fprintf(stderr, "accrue: out of memory writing the JSON\n");
        return 1;
    }
    return cli_report_reached_stdout() ? 0 : 1;
}

static int publish(const options *o, const report_info *info, const sim_result *r,
                   double seconds)
{
    if (r->interrupted || process_stop)
        return cli_interrupted_status();
    process_signals_resume();
    report_print(stdout, info, r, o->threads, seconds);
    if (!cli_report_reached_stdout())
        return 1;  /* and --out is left as it was */
    if (!o->out)
        return 0;
    int rc = write_run_outputs(o, info, r);
    if (rc != 0)
        return rc;
    printf("\nTables written to %s/\n", o->out);
    return 0;
}

/* The scenario, once --out is known to be usable; NULL after a message (status 2). */
static scenario *load_checked(const options *o)
{
    scenario *s = cli_load(o, 0);
    if (s && cli_check_out_dir(o) != 0) {
        scenario_free(s);
        return NULL;
    }
    return s;
}

/* The run itself, then the report and the tables (with the fan and inputs/ from copy) or the
 * JSON. */
static int simulate_and_publish(const options *o, const scenario *s, const model *plan,
                                report_info *info, const cli_overrides *ov,
                                const inputs_copy *copy)
{
    char err[ERRLEN] = "";
    double seconds = 0.0;
    sim_model sim = model_sim(plan);
    sim_result *r = cli_simulate(o, &sim, o->trials, &seconds, err, sizeof err);
    int rc = cli_simulation_status(r, err);
    /* The fan for the files and the JSON (not needed for the terminal's report alone). */
    fan_table fan = {0};
    if (rc == 0 && (o->out || o->json))
        rc = fan_build(o, 0, s, info, r, &fan);
    /* result.json beside the tables (after posterior.csv when there is one), fan.csv, then
     * inputs/. */
    result_json_args json = {s, ov->set, ov->n, ov->like, info, r, o->seed, o->target_se,
                             CLI_VERSION, &fan};
    report_extra extra[3 + INPUTS_MAX_FILES];
    size_t n_extra = 0;
    if (info->n_extra)
        extra[n_extra++] = info->extra[0];
    extra[n_extra++] = (report_extra){"result.json", write_json, &json};
    extra[n_extra++] = (report_extra){"fan.csv", fan_write_csv, &fan};
    n_extra += inputs_extras(copy, extra + n_extra);
    info->extra = extra;
    info->n_extra = n_extra;
    if (rc == 0)
        rc = o->json ? print_json(&json) : publish(o, info, r, seconds);
    fan_free(&fan);
    sim_result_free(r);
    return rc;
}

int cmd_run(const options *o)
{
    scenario *s = load_checked(o);
    if (!s)
        return EXIT_USAGE;
    char err[ERRLEN] = "", exact_err[ERRLEN] = "";
    model *plan = model_prepare(s, err, sizeof err);
    if (!plan) {
        fprintf(stderr, "accrue: %s\n", err);
        scenario_free(s);
        return 1;
    }
    date_t *cp = NULL;
    const char **names = NULL;
    report_info info;
    int rc = 1;
    if (cli_describe_run(o, s, plan, &info, &cp, &names, exact_err, sizeof exact_err) != 0) {
        fprintf(stderr, "accrue: out of memory\n");
    } else {
        /* The scenario files as read, for inputs/, before the run (they may change meanwhile). */
        inputs_copy copy = {0};
        cli_overrides ov;
        cli_overrides_of(o, s, &ov);
        if (o->out && inputs_snapshot(cli_folder(o, 0), ov.set, ov.n, ov.like, &copy, err,
                                      sizeof err) != 0)
            fprintf(stderr, "accrue: %s\n", err);
        else
            rc = simulate_and_publish(o, s, plan, &info, &ov, &copy);
        inputs_free(&copy);
    }
    free(cp);
    free(names);
    model_free(plan);
    scenario_free(s);
    return rc;
}

/* The exact mode's progress line on a terminal, once the computation has run a second. */
typedef struct exact_progress {
    struct timespec start;
    double last;              /* seconds from start at the last line shown */
    int shown;
} exact_progress;

/* Shown from the first second on, at most ten times a second. */
static void show_exact_progress(void *arg, const char *what, double fraction)
{
    exact_progress *pr = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double t = (double)(now.tv_sec - pr->start.tv_sec) +
               1e-9 * (double)(now.tv_nsec - pr->start.tv_nsec);
    if (t < 1.0 || (pr->shown && t - pr->last < 0.1))
        return;
    pr->shown = 1;
    pr->last = t;
    fprintf(stderr, "\raccrue: computing exactly, %s: %3.0f %%   ", what, 100.0 * fraction);
    fflush(stderr);
}

int cmd_exact(const options *o)
{
    scenario *s = load_checked(o);
    if (!s)
        return EXIT_USAGE;
    char err[ERRLEN] = "";
    exact_dist d;
    if (o->trials_given || o->seed_given || o->threads_given || o->target_se > 0.0)
        fprintf(stderr, "accrue: note: exact computes without simulation; --trials, --seed, "
                        "--threads and --target-se do not apply\n");
    model *m = model_prepare(s, err, sizeof err);
    exact_progress pr = {.shown = 0};
    clock_gettime(CLOCK_MONOTONIC, &pr.start);
    if (!o->quiet && isatty(STDERR_FILENO))
        exact_set_progress(show_exact_progress, &pr);
    int failed = !m || model_exact(m, 0.0, &d, err, sizeof err) != 0;
    exact_set_progress(NULL, NULL);
    if (pr.shown)
        fprintf(stderr, "\r%78s\r", "");
    if (failed) {
        fprintf(stderr, "accrue: %s: no exact computation: %s\n", s->source, err);
        model_free(m);
        scenario_free(s);
        return EXIT_USAGE;
    }
    double p = exact_p_at_least(&d, s->target), mean = model_exact_mean(m);
    char dl[11];
    date_format(s->deadline, dl);
    cli_describe(o, m, stdout);
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
    int rc = cli_report_reached_stdout() ? 0 : 1;
    if (o->out && rc == 0) {
        process_signals_defer();
        rc = cli_write_tables(report_write_exact(o->out, o->scenario[0], s->name, d.pmf, d.len,
                                             (size_t)s->target, mean, err, sizeof err), err);
        if (rc == 0) {
            process_signals_resume();
            printf("\nTables written to %s/\n", o->out);
        }
    }
    exact_dist_free(&d);
    model_free(m);
    scenario_free(s);
    return rc;
}

