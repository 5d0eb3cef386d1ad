#define _GNU_SOURCE   /* open_memstream */
/* The command line's shared parts: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <omp.h>
#include "dist.h"
#include "outdir.h"
#include "process.h"
#include "../models/history.h"
#include "../models/overrides.h"

/* Prints "accrue: WHAT" with %s in the format replaced by arg, and the hint to --help. */
int cli_usage_error(const char *what, const char *arg)
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
    if (!strcmp(a, "--verbose")) {
        o->verbose = 1;
        return 0;
    }
    if (!strcmp(a, "--json")) {
        o->json = 1;
        o->quiet = 1;
        return 0;
    }
    int known = !strcmp(a, "--trials") || !strcmp(a, "--seed") || !strcmp(a, "--threads") ||
                !strcmp(a, "--out") || !strcmp(a, "--target-se") || !strcmp(a, "--set") ||
                !strcmp(a, "--like") || !strcmp(a, "--vary") || !strcmp(a, "--for") ||
                !strcmp(a, "--p") || !strcmp(a, "--range");
    if (!known)
        return cli_usage_error("unknown option '%s'", a);
    if (!(v = option_value(argc, argv, i)))
        return cli_usage_error("%s needs a value", a);
    if (!strcmp(a, "--out")) {
        o->out = v;
    } else if (!strcmp(a, "--set")) {
        if (o->n_sets == CLI_MAX_SETS)
            return cli_usage_error("--set '%s': at most 64 overrides", v);
        o->set[o->n_sets++] = v;
    } else if (!strcmp(a, "--like")) {
        o->like = v;
    } else if (!strcmp(a, "--vary")) {
        if (o->n_vary == CLI_MAX_VARY)
            return cli_usage_error("--vary '%s': at most two keys vary at once", v);
        o->vary[o->n_vary++] = v;
    } else if (!strcmp(a, "--for")) {
        o->solve_for = v;
    } else if (!strcmp(a, "--range")) {
        o->range = v;
    } else if (!strcmp(a, "--p")) {
        if (parse_positive_real(v, &o->goal) || o->goal >= 1.0)
            return cli_usage_error("--p '%s': expected a probability between 0 and 1, e.g. 0.8", v);
    } else if (!strcmp(a, "--trials")) {
        if (parse_count(v, 1, CLI_MAX_TRIALS, &o->trials))
            return cli_usage_error("--trials '%s': expected a whole number from 1 to 1e12", v);
        o->trials_given = 1;
    } else if (!strcmp(a, "--seed")) {
        if (strspn(v, "0123456789") != strlen(v) || parse_count(v, 0, UINT64_MAX, &o->seed))
            return cli_usage_error("--seed '%s': expected a whole number from 0 to 18446744073709551615", v);
        o->seed_given = 1;
    } else if (!strcmp(a, "--threads")) {
        if (parse_count(v, 1, CLI_MAX_THREADS, &n))
            return cli_usage_error("--threads '%s': expected a whole number from 1 to 1024", v);
        o->threads = (int)n;
        o->threads_given = 1;
    } else if (parse_positive_real(v, &o->target_se) || o->target_se >= 1.0) {
        return cli_usage_error("--target-se '%s': expected a number between 0 and 1, e.g. 1e-4", v);
    }
    return 0;
}

int cli_parse_args(int argc, char **argv, options *o, size_t max_scenarios)
{
    *o = (options){.command = argv[1], .trials = CLI_DEFAULT_TRIALS, .seed = CLI_DEFAULT_SEED,
                   .threads = omp_get_num_procs()};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            o->command = "--help";
            return 0;
        }
        if (!strncmp(argv[i], "--", 2)) {
            int rc = parse_option(argc, argv, &i, o);
            if (rc)
                return rc;
        } else if (o->n_scenarios == max_scenarios) {
            return cli_usage_error(max_scenarios == 1 ? "more than one scenario given ('%s')"
                                                      : "too many scenarios ('%s')", argv[i]);
        } else {
            o->scenario[o->n_scenarios++] = argv[i];
        }
    }
    if (o->target_se > 0.0 && !o->trials_given)
        o->trials = CLI_MAX_TRIALS;
    return 0;
}

/* posterior.csv, the learning from history.csv (models/history.h). */
static int write_posterior(const void *learned, FILE *f)
{
    return history_write_csv(learned, f);
}

/* The options of the run being described, for its overrides (one run a process). */
static const options *described;

static void describe_model(const void *m, FILE *out);

void cli_describe(const options *o, const model *m, FILE *out)
{
    const options *keep = described;
    described = o;
    describe_model(m, out);
    described = keep;
}

/* The model's tallies for the report (report_info.tally_name, print_tallies). */
static void tally_name(const void *m, size_t i, char *buf, size_t len)
{
    model_tally_name(m, i, buf, len);
}

static void print_tallies(const void *m, const sim_result *r, FILE *out)
{
    model_print_tallies(m, r, out);
}

/* The assumptions: the scenario as the model reads it (wrapped to 80 columns), then every
 * override. */
static void describe_model(const void *m, FILE *out)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (mem) {
        model_describe(m, mem);
        fclose(mem);
        report_put_wrapped(text, out);
    } else {
        model_describe(m, out);
    }
    free(text);
    for (size_t i = 0; described && i < described->n_sets; i++)
        fprintf(out, "%-14s%s%s%s\n", i == 0 ? "Overrides" : "", described->set[i],
                described->like && !strncmp(described->set[i], "extra_sites=", 12) ? ", like "
                                                                                   : "",
                described->like && !strncmp(described->set[i], "extra_sites=", 12)
                    ? described->like : "");
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
    if (planned >= CLI_MAX_TRIALS)
        fprintf(stderr, "\raccrue: %llu trials, P = %.4f, SE %.2g   ", (unsigned long long)done, p, se);
    else
        fprintf(stderr, "\raccrue: %3.0f %% of %llu trials, P = %.4f, SE %.2g   ",
                100.0 * (double)done / (double)planned, (unsigned long long)planned, p, se);
    fflush(stderr);
}

/* ---- shared by the commands ---- */

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

scenario *cli_load(const options *o, size_t i)
{
    return cli_load_with(o, i, NULL, 0);
}

/* ---- the scenario folders, read once ---- */

/* A folder read travels between ranks as bytes: dir and name with their NUL, then per file
 * present, has-text and length (one byte, one byte, eight) and the text or the error with its
 * NUL. */
static void pack_put(char **at, const void *x, size_t n)
{
    if (*at && n)
        memcpy(*at, x, n);
    *at = *at ? *at + n : NULL;
}

/* The packed size of f (buf NULL), or f packed into buf. */
static size_t pack_folder(const scenario_folder *f, char *buf)
{
    size_t n = strlen(f->dir) + 1 + strlen(f->name) + 1;
    char *at = buf;
    pack_put(&at, f->dir, strlen(f->dir) + 1);
    pack_put(&at, f->name, strlen(f->name) + 1);
    for (size_t i = 0; i < SCENARIO_N_FILES; i++) {
        const scenario_file *sf = &f->file[i];
        unsigned char flag[2] = {(unsigned char)sf->present, sf->text != NULL};
        uint64_t len = sf->text ? sf->len : sf->error ? strlen(sf->error) + 1 : 0;
        pack_put(&at, flag, 2);
        pack_put(&at, &len, sizeof len);
        pack_put(&at, sf->text ? sf->text : sf->error, (size_t)len);
        n += 2 + sizeof len + (size_t)len;
    }
    return n;
}

/* A copy of the next len bytes (NUL-terminated), or NULL when they run past end. */
static char *take(const char **at, const char *end, size_t len)
{
    if ((size_t)(end - *at) < len)
        return NULL;
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, *at, len);
        out[len] = '\0';
    }
    *at += len;
    return out;
}

/* f from bytes packed by pack_folder; -1 when they are not such bytes or memory runs out. */
static int unpack_folder(const char *buf, size_t len, scenario_folder *f)
{
    const char *at = buf, *end = buf + len;
    memset(f, 0, sizeof *f);
    /* dir and name, each followed by its NUL */
    int ok = (f->dir = take(&at, end, strnlen(at, len))) != NULL && at < end;
    at += ok;
    ok = ok && (f->name = take(&at, end, strnlen(at, (size_t)(end - at)))) != NULL && at < end;
    at += ok;
    for (size_t i = 0; ok && i < SCENARIO_N_FILES; i++) {
        scenario_file *sf = &f->file[i];
        uint64_t n;
        if ((size_t)(end - at) < 2 + sizeof n) {
            ok = 0;
            break;
        }
        sf->present = at[0];
        int text = at[1];
        memcpy(&n, at + 2, sizeof n);
        at += 2 + sizeof n;
        if (n > (uint64_t)(end - at)) {
            ok = 0;
            break;
        }
        if (text) {
            sf->len = (size_t)n;
            ok = (sf->text = take(&at, end, (size_t)n)) != NULL;
        } else if (n) {
            ok = (sf->error = take(&at, end, (size_t)n)) != NULL;
        }
    }
    if (!ok)
        scenario_folder_free(f);
    return ok ? 0 : -1;
}

/* The folders of the options' scenarios, each read once per process (by rank 0, and shared
 * with the other ranks as bytes: engine/dist.h); loaded[i]: 1 read, -1 refused. */
static scenario_folder folders[CLI_MAX_SCENARIOS];
static int loaded[CLI_MAX_SCENARIOS];

void cli_forget_folders(void)
{
    for (size_t i = 0; i < CLI_MAX_SCENARIOS; i++) {
        scenario_folder_free(&folders[i]);
        loaded[i] = 0;
    }
}

/* Rank 0's folder f (read: whether it was), on every rank (engine/dist.h); 1 when every rank
 * has it, else 0 and f is freed everywhere. */
static int share_folder(scenario_folder *f, int read)
{
    size_t len = 0;
    char *bytes = NULL;
    if (dist_rank() == 0 && read) {
        if ((bytes = malloc(len = pack_folder(f, NULL))))
            pack_folder(f, bytes);
        else
            fprintf(stderr, "accrue: out of memory reading %s\n", f->dir);
    }
    char *shared = dist_share_bytes(bytes, &len);
    long failed[1] = {!shared};
    if (shared && dist_rank() != 0)
        failed[0] = unpack_folder(shared, len, f) != 0;
    if (shared != bytes)
        free(shared);
    free(bytes);
    dist_max_long(failed, 1);
    if (failed[0])
        scenario_folder_free(f);
    return !failed[0];
}

/* Scenario i's folder as read; NULL after a message (on rank 0) when it cannot be. */
static const scenario_folder *folder_of(const options *o, size_t i)
{
    if (loaded[i])
        return loaded[i] > 0 ? &folders[i] : NULL;
    char err[ERRLEN] = "";
    int read = 0;
    if (dist_rank() == 0) {
        struct stat st;
        if (stat(o->scenario[i], &st) == 0 && !S_ISDIR(st.st_mode))
            fprintf(stderr, "accrue: %s: not a folder; expected a scenario folder holding "
                            "trial.csv and sites.csv\n", o->scenario[i]);
        else if (scenario_read_folder(o->scenario[i], &folders[i], err, sizeof err) != 0)
            fprintf(stderr, "accrue: %s\n", err);
        else
            read = 1;
    }
    if (dist_size() > 1)
        read = share_folder(&folders[i], read);
    loaded[i] = read ? 1 : -1;
    return read ? &folders[i] : NULL;
}

const scenario_folder *cli_folder(const options *o, size_t i)
{
    return i < o->n_scenarios && loaded[i] > 0 ? &folders[i] : NULL;
}

scenario *cli_load_into(const options *o, size_t i, const char *const *extra, size_t n_extra,
                        char *err, size_t errlen)
{
    const scenario_folder *folder = NULL;
    if (i < o->n_scenarios && !(folder = folder_of(o, i))) {
        snprintf(err, errlen, "%s: cannot be read", o->scenario[i]);
        return NULL;
    }
    const char *set[CLI_MAX_SETS + CLI_MAX_VARY];
    size_t n = 0;
    for (size_t k = 0; k < o->n_sets; k++)
        set[n++] = o->set[k];
    for (size_t k = 0; k < n_extra && n < sizeof set / sizeof set[0]; k++)
        set[n++] = extra[k];
    scenario_overrides ov = {set, n, o->like};
    if (overrides_check(&ov, err, errlen) != 0)
        return NULL;
    scenario *s = folder ? scenario_from_folder(folder, &ov, err, errlen)
                         : scenario_default_with(&ov, err, errlen);
    if (s)
        drop_negative_zeros(s);
    return s;
}

scenario *cli_load_with(const options *o, size_t i, const char *const *extra, size_t n_extra)
{
    char err[ERRLEN] = "";
    /* folder_of prints its own message when the folder cannot be read. */
    if (i < o->n_scenarios && !folder_of(o, i))
        return NULL;
    scenario *s = cli_load_into(o, i, extra, n_extra, err, sizeof err);
    if (!s)
        fprintf(stderr, "accrue: %s\n", err);
    return s;
}

void cli_overrides_of(const options *o, const scenario *s, cli_overrides *out)
{
    out->n = 0;
    for (size_t i = 0; i < s->from_file.n; i++)
        out->set[out->n++] = s->from_file.set[i];
    for (size_t i = 0; i < o->n_sets; i++)
        out->set[out->n++] = o->set[i];
    out->like = o->like ? o->like : s->from_file.like;
}

int cli_check_out_dir(const options *o)
{
    char err[ERRLEN] = "";
    if (o->out && report_check_dir(o->out, o->scenario[0], err, sizeof err) != 0) {
        fprintf(stderr, "accrue: %s\n", err);
        return -1;
    }
    return 0;
}

int cli_interrupted_status(void)
{
    fprintf(stderr, "\naccrue: interrupted; no output written\n");
    return process_stop_status();
}

/* The report printed so far reached standard output; else a message (exit status 1). */
int cli_report_reached_stdout(void)
{
    char err[ERRLEN] = "";
    int ok = process_flush_stdout(err, sizeof err) == 0;
    if (!ok)
        fprintf(stderr, "accrue: %s\n", err);
    /* Rank 0's standard output is the report's (engine/dist.h): every rank goes on as it does. */
    return (int)dist_share_long(ok);
}

/* The exit status after writing the tables (report_write's rc_write, message err): written,
 * interrupted (the writer polls process_stop and leaves --out as it was) or failed. */
int cli_write_tables(int rc_write, const char *err)
{
    if (rc_write == 0)
        return 0;
    if (process_stop)
        return cli_interrupted_status();
    fprintf(stderr, "accrue: %s\n", err);
    return 1;
}

int cli_finish_out(outdir *d, int rc_write, char *err, size_t errlen)
{
    if (rc_write == 0 && process_stop) {
        snprintf(err, errlen, "interrupted");
        rc_write = -1;
    }
    if (rc_write == 0)
        rc_write = outdir_commit(d, err, errlen);
    outdir_free(d);
    int rc = cli_write_tables(rc_write, err);
    if (rc == 0)
        process_signals_resume();
    return rc;
}

int cli_simulation_status(const sim_result *r, const char *err)
{
    if (!r) {
        fprintf(stderr, "accrue: %s\n", err);
        return 1;
    }
    if (r->interrupted || process_stop)
        return cli_interrupted_status();
    return 0;
}

int cli_exact_check(const model *m, const scenario *s, double *p, double *mean, char *err,
                    size_t errlen)
{
    if (model_exact_p_at_least(m, s->target, CLI_EXACT_CHECK_WORK, p, err, errlen) != 0)
        return -1;
    *mean = model_exact_mean(m);
    return 0;
}

/* The report's view of a scenario and its plan: names, dates and the exact check. The arrays
 * *cp and *names are the caller's to free (also on failure). */
int cli_describe_run(const options *o, const scenario *s, const model *plan, report_info *info,
                     date_t **cp, const char ***names, char *exact_err, size_t errlen)
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
    described = o;
    static report_extra posterior;
    int has_posterior = s->learned != NULL;
    posterior = (report_extra){"posterior.csv", write_posterior, s->learned};
    *info = (report_info){
        .scenario_name = s->name, .start = s->as_of, .deadline = s->deadline,
        .n_checkpoints = n_cp, .checkpoint_date = *cp, .unit_name = *names, .unit_label = "site",
        .describe = describe_model, .describe_arg = plan, .seed = o->seed,
        .n_extra = has_posterior ? 1 : 0, .extra = &posterior,
        .version = CLI_VERSION, .source = s->source, .enrolled = s->enrolled,
        .verbose = o->verbose,
    };
    static char overrides[4096];
    overrides[0] = '\0';
    cli_overrides ov;
    cli_overrides_of(o, s, &ov);
    for (size_t i = 0; i < ov.n; i++) {
        size_t used = strlen(overrides);
        snprintf(overrides + used, sizeof overrides - used, "%s%s", used ? " " : "", ov.set[i]);
    }
    if (ov.like) {
        size_t used = strlen(overrides);
        snprintf(overrides + used, sizeof overrides - used, "%s--like %s", used ? " " : "",
                 ov.like);
    }
    info->overrides = overrides;
    if (model_has_tallies(plan)) {
        info->tally_name = tally_name;
        info->print_tallies = print_tallies;
        info->tallies_arg = plan;
    }
    info->has_exact = cli_exact_check(plan, s, &info->exact_p_success, &info->exact_mean, exact_err,
                                      errlen) == 0;
    info->exact_note = exact_err;
    return 0;
}

/* Runs the simulation with the progress line and the signal handlers in place. */
sim_result *cli_simulate(const options *o, const sim_model *sim, uint64_t trials,
                         double *seconds, char *err, size_t errlen)
{
    /* From here a signal stops the simulation at the next batch, which returns what it did. */
    process_signals_defer();
    progress pr = {.start = omp_get_wtime()};
    int show = !o->quiet && isatty(STDERR_FILENO);
    sim_config cfg = {
        .trials = trials, .seed = o->seed, .threads = o->threads, .target_se = o->target_se,
        .stop = &process_stop, .progress = show ? show_progress : NULL, .progress_arg = &pr,
    };
    sim_result *r = sim_run(sim, &cfg, err, errlen);
    *seconds = omp_get_wtime() - pr.start;
    if (pr.shown)
        fprintf(stderr, "\r%70s\r", "");
    return r;
}


int cli_write_files(const options *o, const char *const *known, const cli_file *files,
                    size_t n)
{
    char err[ERRLEN] = "";
    const char *inputs[CLI_MAX_SCENARIOS + 1];
    for (size_t k = 0; k < o->n_scenarios; k++)
        inputs[k] = o->scenario[k];
    inputs[o->n_scenarios] = NULL;
    process_signals_defer();
    outdir *d = outdir_open(o->out, known, inputs, err, sizeof err);
    int rc = d ? outdir_begin(d, err, sizeof err) : -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        FILE *f = outdir_create(d, files[i].name, err, sizeof err);
        if (!f) {
            rc = -1;
            break;
        }
        files[i].write(f, files[i].arg);
        rc = outdir_close(d, f, files[i].name, err, sizeof err);
        if (rc == 0 && process_stop) {
            snprintf(err, sizeof err, "interrupted");
            rc = -1;
        }
    }
    return cli_finish_out(d, rc, err, sizeof err);
}
