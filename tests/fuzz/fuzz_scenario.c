/* libFuzzer harness for the scenario loader and what consumes a loaded scenario. An input is
 * trial.csv's text, one NUL byte, then sites.csv's text (no NUL: sites.csv is empty), the
 * format tests/fuzz/make_seeds.sh writes, and optionally one more NUL and overrides.csv's text
 * (checked on its own: use_overrides). Besides crashes and sanitizer reports, the harness
 * aborts when a documented promise is broken: a refusal must be one line "FILE:LINE: ...;
 * expected ..." that a short buffer cuts cleanly, and an accepted scenario must satisfy every
 * bound of scenario.h and give a model whose batches keep the sim_batch contract.
 * Build and run with `make fuzz` (see the Makefile's fuzz section). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include "../../engine/rng.h"
#include "../../models/model.h"
#include "../../models/scenario.h"

/* scenario.c refers to the built-in default; the harness never loads it, so empty arrays keep
 * the build independent of scenarios/protocol-plan. */
extern const char default_trial_csv[];
extern const size_t default_trial_len;
extern const char default_sites_csv[];
extern const size_t default_sites_len;
const char default_trial_csv[] = "";
const size_t default_trial_len = 0;
const char default_sites_csv[] = "";
const size_t default_sites_len = 0;

#define TRIAL_NAME "trial.csv"
#define SITES_NAME "sites.csv"
#define OVERRIDES_NAME "overrides.csv"
#define ERR_SIZE 4096
#define MAX_MESSAGE 1000  /* a message quotes at most 40 bytes of input, so stays short */
#define TRIALS 3          /* simulated trials per accepted scenario */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;
static gsl_rng *rng, *path_rng;   /* the up-front and path streams of a batch */

/* A broken promise: say which, then abort so that libFuzzer keeps the input as a crash. */
static _Noreturn void broken(const char *why, const char *detail)
{
    fprintf(stderr, "fuzz_scenario: %s: %s\n", why, detail ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The engine's own main switches GSL's aborting handler off; do the same. */
    gsl_set_error_handler_off();
    devnull = fopen("/dev/null", "w");
    rng = gsl_rng_alloc(rng_philox4x32);
    path_rng = gsl_rng_alloc(rng_philox4x32);
    if (!devnull || !rng || !path_rng)
        broken("setup", "cannot open /dev/null or allocate the generator");
    return 0;
}

/* ---- refusals ---- */

/* 1 if s is well-formed UTF-8 (the input was checked to be, and messages quote it cut only at
 * character boundaries). Continuation bytes are 10xxxxxx; lead bytes say how many follow. */
static int is_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t more = *p < 0x80 ? 0 : *p >= 0xC2 && *p <= 0xDF ? 1
                      : *p >= 0xE0 && *p <= 0xEF ? 2 : *p >= 0xF0 && *p <= 0xF4 ? 3 : 9;
        if (more == 9)
            return 0;
        for (size_t i = 1; i <= more; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += more + 1;
    }
    return 1;
}

static size_t count_lines(const char *text, size_t len)
{
    size_t n = 1;   /* LF, CRLF and a lone CR each end a line, as in engine/csvtab.c */
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'));
    return n;
}

/* The message names one of the two files and a line that exists in it (0: the whole file). */
static void check_message_place(const char *err, const char *trial, size_t trial_len,
                                const char *sites, size_t sites_len)
{
    size_t lines;
    if (strncmp(err, TRIAL_NAME ":", sizeof TRIAL_NAME) == 0)
        lines = count_lines(trial, trial_len);
    else if (strncmp(err, SITES_NAME ":", sizeof SITES_NAME) == 0)
        lines = count_lines(sites, sites_len);
    else
        broken("message names no file", err);
    char *end;
    unsigned long line = strtoul(err + sizeof TRIAL_NAME, &end, 10);
    if (end == err + sizeof TRIAL_NAME || strncmp(end, ": ", 2) != 0)
        broken("message has no LINE: part", err);
    if (line > lines)
        broken("message names a line past the end of the file", err);
    /* Only here: the words may also stand in a quoted value later in the message. */
    if (strncmp(end + 2, "internal error", 14) == 0)
        broken("internal error", err);
}

static void check_message(const char *err, const char *trial, size_t trial_len,
                          const char *sites, size_t sites_len)
{
    size_t n = strlen(err);
    if (n == 0)
        broken("refused without a message", NULL);
    if (n > MAX_MESSAGE)
        broken("message too long", err);
    if (strchr(err, '\n') || strchr(err, '\r'))
        broken("message spans lines", err);
    if (!strstr(err, "; expected"))
        broken("message says not what was expected", err);
    if (!is_utf8(err))
        broken("message is not UTF-8", err);
    check_message_place(err, trial, trial_len, sites, sites_len);
}

/* The same input with a short buffer: the same outcome, and the message cut to fit. */
static void check_short_buffer(const char *full, size_t size, const char *trial, size_t trial_len,
                               const char *sites, size_t sites_len, int accepted)
{
    char err[64];
    size_t errlen = 1 + size % sizeof err;
    memset(err, 'x', sizeof err);
    scenario *s = scenario_parse("fuzz", TRIAL_NAME, trial, trial_len, SITES_NAME, sites,
                                 sites_len, err, errlen);
    if ((s != NULL) != accepted)
        broken("outcome depends on the message buffer's size", full);
    scenario_free(s);
    if (!accepted && (memchr(err, '\0', errlen) == NULL
                      || strncmp(err, full, strlen(err)) != 0
                      || strlen(err) != (strlen(full) < errlen ? strlen(full) : errlen - 1)))
        broken("short buffer not cut cleanly", full);
    for (size_t i = errlen; i < sizeof err; i++)
        if (err[i] != 'x')
            broken("wrote past the message buffer", full);
}

/* ---- accepted scenarios ---- */

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int is_text(const char *s)
{
    return s && *s && !has_control(s);
}

static int prob_ok(const prob_spec *p)
{
    if (!p->is_beta)
        return p->value >= 0.0 && p->value <= 1.0;
    return p->a > 0.0 && p->a <= SCENARIO_MAX_BETA && p->b > 0.0 && p->b <= SCENARIO_MAX_BETA
           && p->value >= 0.0 && p->value <= 1.0;
}

static int site_ok(const site_spec *st)
{
    return is_text(st->name) && st->note && st->rate >= 0.0 && st->rate <= SCENARIO_MAX_RATE
           && (st->shape == 0.0 || (st->shape > 0.0 && st->shape <= SCENARIO_MAX_SHAPE));
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Site names are unique: sorted, no two neighbours are equal. */
static void check_unique_sites(const scenario *s)
{
    char **names = malloc(s->n_sites * sizeof *names);
    if (!names)
        return;
    for (size_t i = 0; i < s->n_sites; i++)
        names[i] = s->site[i].name;
    qsort(names, s->n_sites, sizeof *names, compare_names);
    for (size_t i = 1; i < s->n_sites; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            broken("duplicate site accepted", names[i]);
    free(names);
}

static void check_scenario(const scenario *s)
{
    long w = scenario_window_days(s);
    if (!is_text(s->name) || !s->source || strcmp(s->source, "fuzz") != 0)
        broken("bad name or source", s->name);
    if (w < 1 || w > SCENARIO_MAX_WINDOW_DAYS)
        broken("window out of bounds", NULL);
    if (s->target < 1 || s->target > SCENARIO_MAX_COUNT || s->enrolled < 0
        || s->enrolled > SCENARIO_MAX_COUNT || s->screening < 0
        || s->screening > SCENARIO_MAX_COUNT)
        broken("count out of bounds", NULL);
    if (s->screen_days < 0 || s->screen_days > SCENARIO_MAX_SCREEN_DAYS || s->review_months < 1
        || s->review_months > SCENARIO_MAX_REVIEW_MONTHS || !(s->horizon_years >= 0.0)
        || s->horizon_years > SCENARIO_MAX_HORIZON)
        broken("duration out of bounds", NULL);
    if (!prob_ok(&s->screen_pass) || !prob_ok(&s->selfpay_consent))
        broken("probability out of bounds", NULL);
    if (s->n_sites < 1 || s->n_sites > SCENARIO_MAX_SITES)
        broken("site count out of bounds", NULL);
    for (size_t i = 0; i < s->n_sites; i++)
        if (!site_ok(&s->site[i]))
            broken("site out of bounds", s->site[i].name);
    check_unique_sites(s);
}

/* ---- the model ---- */

typedef struct batch_buffers {
    void *work;
    size_t *at_deadline, *at_checkpoint;
    long *completion_day;
    double *cond, *unit, *pmf;
} batch_buffers;

static void free_buffers(batch_buffers *b)
{
    free(b->work);
    free(b->at_deadline);
    free(b->at_checkpoint);
    free(b->completion_day);
    free(b->cond);
    free(b->unit);
    free(b->pmf);
}

static void range_broken(const char *what, size_t i, double x)
{
    char detail[96];
    snprintf(detail, sizeof detail, "%zu: %.17g", i, x);
    broken(what, detail);
}

/* What sim.h promises of trial t's outcome, and the consistency of its counts and dates. */
static void check_outcome(const sim_model *m, const scenario *s, const sim_batch *o, size_t t)
{
    long w = scenario_window_days(s);
    size_t B = m->batch, at_deadline = o->at_deadline[t];
    long day = o->completion_day[t];
    for (size_t k = 1; k < m->n_checkpoints; k++)
        if (o->at_checkpoint[k * B + t] < o->at_checkpoint[(k - 1) * B + t])
            broken("registrations fall between checkpoints", NULL);
    if (at_deadline != o->at_checkpoint[(m->n_checkpoints - 1) * B + t])
        broken("deadline count differs from the last checkpoint's", NULL);
    if (!(o->cond_p_success[t] >= 0.0 && o->cond_p_success[t] <= 1.0 + 1e-9))
        range_broken("conditional P(success) outside [0, 1]", t, o->cond_p_success[t]);
    if (!(o->cond_mean[t] >= (double)s->enrolled))
        range_broken("conditional mean below the enrolled", t, o->cond_mean[t]);
    for (size_t i = 0; i < m->n_units; i++) {
        double mean = o->unit_mean[i * B + t], none = o->unit_p_none[i * B + t];
        if (!(mean >= 0.0) || !(none >= 0.0 && none <= 1.0))
            range_broken("site mean or P(none) out of range", i, mean);
    }
    if (day < -1 || day > m->n_days)
        broken("completion day out of range", NULL);
    if (s->enrolled >= s->target && day != -1)
        broken("target met before as_of but completion day is not -1", NULL);
    if (s->enrolled < s->target && at_deadline >= m->target && !(day >= 0 && day < w))
        broken("target met by the deadline but completion day outside the window", NULL);
    if (at_deadline < m->target && day < w)
        broken("target missed by the deadline but completion day inside the window", NULL);
}

/* The table of n trials never holds more than their whole probability, and each entry's sum of
 * squares is at most its sum: every term q is a probability, so q^2 <= q, except that rounding
 * can take q past 1. A term near 1 comes from a short window (a mean near 0: a few dozen terms
 * at most), whose recurrence and convolution add a relative error of a few dozen eps, under
 * 1e-14; 1e-12 bounds that with room. The mass may exceed n by the same rounding, far below
 * 1e-9 of it. */
static void check_table(const sim_model *m, const sim_batch *o, size_t n)
{
    if (o->pmf_hi > m->cond_cap || (o->pmf_hi > 0 && o->pmf_lo >= o->pmf_hi))
        broken("conditional table range outside [0, cond_cap)", NULL);
    double mass = 0.0;
    for (size_t i = o->pmf_lo; i < o->pmf_hi; i++) {
        if (!(o->pmf_sum[i] >= 0.0 && o->pmf_sumsq[i] <= o->pmf_sum[i] * (1.0 + 1e-12)))
            range_broken("conditional table entry out of range", i, o->pmf_sum[i]);
        mass += o->pmf_sum[i];
    }
    if (!(mass <= (double)n * (1.0 + 1e-9)))
        range_broken("conditional table holds more than the trials' probability", n, mass);
}

static void run_trials(const model *p, const scenario *s)
{
    sim_model m = model_sim(p);
    size_t B = m.batch, n = TRIALS < B ? TRIALS : B;
    batch_buffers b = {
        .work = calloc(1, m.work_bytes ? m.work_bytes : 1),
        .at_deadline = calloc(B, sizeof *b.at_deadline),
        .at_checkpoint = calloc(m.n_checkpoints * B, sizeof *b.at_checkpoint),
        .completion_day = calloc(B, sizeof *b.completion_day),
        .cond = calloc(2 * B, sizeof *b.cond),
        .unit = calloc(2 * m.n_units * B + 1, sizeof *b.unit),
        .pmf = calloc(2 * m.cond_cap + 1, sizeof *b.pmf),
    };
    if (b.work && b.at_deadline && b.at_checkpoint && b.completion_day && b.cond && b.unit &&
        b.pmf) {
        sim_batch o = {.at_deadline = b.at_deadline, .at_checkpoint = b.at_checkpoint,
                       .completion_day = b.completion_day, .cond_p_success = b.cond,
                       .cond_mean = b.cond + B, .unit_mean = b.unit,
                       .unit_p_none = b.unit + m.n_units * B, .pmf_sum = b.pmf,
                       .pmf_sumsq = b.pmf + m.cond_cap, .flush = 1};
        rng_seek(rng, 1, (uint64_t)SIM_STREAM_DRAWS << 56);
        rng_seek(path_rng, 1, (uint64_t)SIM_STREAM_PATH << 56);
        sim_streams streams = {rng, path_rng};
        m.run_batch(m.ctx, &streams, b.work, n, &o);
        for (size_t t = 0; t < n; t++)
            check_outcome(&m, s, &o, t);
        check_table(&m, &o, n);
    }
    free_buffers(&b);
}

static void use_scenario(const scenario *s)
{
    char err[ERR_SIZE] = "";
    check_scenario(s);
    scenario_describe(s, devnull);
    model *p = model_prepare(s, err, sizeof err);
    if (!p)
        broken("model_prepare refused an accepted scenario", err);
    if (model_n_checkpoints(p) < 1 || model_checkpoint_date(p, model_n_checkpoints(p) - 1)
                                            != s->deadline)
        broken("last checkpoint is not the deadline", NULL);
    run_trials(p, s);
    model_free(p);
}

/* overrides.csv's reader (models/overrides.h) on the input's third part: a refusal is one
 * line "overrides.csv:LINE: ...; expected ..." naming a line of the text; an accepted file holds
 * at most OVERRIDES_FILE_MAX_ROWS KEY=VALUE overrides that overrides_check accepts. */
static void use_overrides(const char *text, size_t len)
{
    overrides_file f;
    char err[ERR_SIZE] = "";
    if (overrides_file_parse(OVERRIDES_NAME, text, len, &f, err, sizeof err) != 0) {
        size_t n = strlen(err);
        if (n == 0 || n > MAX_MESSAGE || strchr(err, '\n') || !strstr(err, "; expected") ||
            !is_utf8(err) || strncmp(err, OVERRIDES_NAME ":", sizeof OVERRIDES_NAME) != 0)
            broken("overrides.csv: a refusal breaks the message's form", err);
        if (strtoul(err + sizeof OVERRIDES_NAME, NULL, 10) > count_lines(text, len))
            broken("overrides.csv: message names a line past the end of the file", err);
        return;
    }
    if (f.n > OVERRIDES_FILE_MAX_ROWS)
        broken("overrides.csv: more rows kept than allowed", NULL);
    scenario_overrides ov = {(const char *const *)f.set, f.n, "any"};
    if (overrides_check(&ov, err, sizeof err) != 0)
        broken("overrides.csv: an accepted override fails overrides_check", err);
    overrides_file_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t trial_len = nul ? (size_t)(nul - text) : size;
    const char *sites = nul ? nul + 1 : text + size;
    size_t sites_len = nul ? size - trial_len - 1 : 0;
    /* A second NUL starts overrides.csv's text. */
    const char *nul2 = memchr(sites, '\0', sites_len);
    if (nul2) {
        use_overrides(nul2 + 1, sites_len - (size_t)(nul2 - sites) - 1);
        sites_len = (size_t)(nul2 - sites);
    }
    char err[ERR_SIZE] = "";
    scenario *s = scenario_parse("fuzz", TRIAL_NAME, text, trial_len, SITES_NAME, sites,
                                 sites_len, err, sizeof err);
    if (s)
        use_scenario(s);
    else
        check_message(err, text, trial_len, sites, sites_len);
    check_short_buffer(err, size, text, trial_len, sites, sites_len, s != NULL);
    scenario_free(s);
    return 0;
}
