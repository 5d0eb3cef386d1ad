/* The accrual model of DESIGN.md section 2 simulated the slow, obvious way: every referral is an
 * event drawn as an exponential gap, thinned one by one, and the registrations are sorted and
 * counted. It is the baseline `make bench` measures accrue against, and an independent check of
 * the interval-by-interval simulator (models/poisson_core.c behind models/sites.c): it shares only the scenario reader, the
 * date functions, the random generator and the histograms with it, none of the model code.
 *
 * usage: naive [SCENARIO] [--trials N] [--seed S] [--threads 1]
 * It prints "key value" lines: P(success) and mean registrations by the deadline with their
 * plain Monte Carlo standard errors, the mean at each checkpoint, the median completion date and
 * the elapsed time. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "../engine/date.h"
#include "../engine/hist.h"
#include "../engine/rng.h"
#include "../models/scenario.h"

#define DAYS_PER_YEAR SCENARIO_DAYS_PER_YEAR
#define DEFAULT_TRIALS 1000000ULL
#define DEFAULT_SEED 20260718ULL
#define ERRLEN 1024
/* accrue gives block b of its run the stream (seed, b). The baseline draws from one stream far
 * above any block number accrue can reach (at most 1e12 / 4096 blocks), so that with the same
 * seed its draws are independent of accrue's and the two estimates can be compared by a z-score. */
#define NAIVE_STREAM (UINT64_C(1) << 63)

typedef struct naive_options {
    const char *scenario;    /* folder; NULL: the built-in default */
    uint64_t trials, seed;
} naive_options;

/* What every trial shares, as day offsets u from the start of as_of (a date D covers [D, D+1)). */
typedef struct naive_plan {
    const scenario *s;
    double window;           /* W: registrations at u < W count by the deadline */
    double horizon;          /* H: completion is followed for u < H */
    double screen_days;
    double selfpay;          /* referrals at t >= this need self-pay consent */
    double *active;          /* per site: first day it refers */
    size_t n_cp;
    date_t *cp_date;         /* review checkpoints; the last is the deadline */
    double *cp_end;          /* per checkpoint: registrations at u < cp_end[k] count by it */
} naive_plan;

/* Registration times of one trial, grown on demand. */
typedef struct times_buf {
    double *t;
    size_t n, cap;
} times_buf;

/* What the run gathers: histograms of counts and of the completion day. */
typedef struct naive_tally {
    hist at_deadline;
    hist *at_cp;             /* [n_cp] */
    hist completion;         /* 0: before day 0; d + 1: day d; H + 1: not within the horizon */
    uint64_t successes;
} naive_tally;

/* ---- plan ---- */

static double day_offset(const scenario *s, date_t d)
{
    return fmax(0.0, (double)d - (double)s->as_of);
}

/* Checkpoints every review_months from as_of up to the deadline, and the deadline itself. */
static int plan_checkpoints(naive_plan *p)
{
    const scenario *s = p->s;
    size_t cap = 1;
    for (int k = 1; date_add_months(s->as_of, k * s->review_months) <= s->deadline; k++)
        cap++;
    p->cp_date = malloc(cap * sizeof *p->cp_date);
    p->cp_end = malloc(cap * sizeof *p->cp_end);
    if (!p->cp_date || !p->cp_end)
        return -1;
    p->n_cp = 0;
    for (int k = 1; date_add_months(s->as_of, k * s->review_months) <= s->deadline; k++)
        p->cp_date[p->n_cp++] = date_add_months(s->as_of, k * s->review_months);
    if (p->n_cp == 0 || p->cp_date[p->n_cp - 1] != s->deadline)
        p->cp_date[p->n_cp++] = s->deadline;
    for (size_t k = 0; k < p->n_cp; k++)
        p->cp_end[k] = (double)(p->cp_date[k] - s->as_of) + 1.0;
    return 0;
}

static void plan_free(naive_plan *p)
{
    free(p->active);
    free(p->cp_date);
    free(p->cp_end);
}

/* Fills p from s (which must outlive it). Returns 0, or -1 when out of memory (p is then safe
 * to plan_free). */
static int plan_init(naive_plan *p, const scenario *s)
{
    *p = (naive_plan){.s = s};
    p->window = (double)scenario_window_days(s);
    p->horizon = (double)scenario_followed_days(s);
    p->screen_days = (double)s->screen_days;
    p->selfpay = day_offset(s, s->selfpay_from);
    p->active = malloc((s->n_sites + 1) * sizeof *p->active);
    if (!p->active || plan_checkpoints(p) != 0)
        return -1;
    for (size_t i = 0; i < s->n_sites; i++)
        p->active[i] = day_offset(s, s->site[i].active_from);
    return 0;
}

/* ---- one trial, event by event ---- */

static int push_time(times_buf *b, double t)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        double *t2 = realloc(b->t, cap * sizeof *t2);
        if (!t2)
            return -1;
        b->t = t2;
        b->cap = cap;
    }
    b->t[b->n++] = t;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double draw_prob(gsl_rng *r, const prob_spec *ps)
{
    return ps->is_beta ? gsl_ran_beta(r, ps->a, ps->b) : ps->value;
}

/* Candidates in screening at as_of: Binomial(screening, p) of them pass, each registered at a
 * time uniform on [0, screen_days) (at 0 when screen_days is 0). */
static int screening_registrations(const naive_plan *p, gsl_rng *r, double pass, times_buf *b)
{
    unsigned n = p->s->screening ? gsl_ran_binomial(r, pass, (unsigned)p->s->screening) : 0;
    for (unsigned i = 0; i < n; i++)
        if (push_time(b, p->screen_days * gsl_rng_uniform(r)) != 0)
            return -1;
    return 0;
}

/* One site's referrals: a Poisson process of rate lambda per year from its activation, walked
 * gap by gap (gaps are Exponential with mean 365.25 / lambda days). A referral at t passes
 * screening with probability `pass`, needs consent with probability `consent` when
 * t >= selfpay, and is registered at t + screen_days; the walk ends at the horizon. */
static int site_registrations(const naive_plan *p, gsl_rng *r, double lambda, double start,
                              double pass, double consent, times_buf *b)
{
    if (!(lambda > 0.0))
        return 0;
    double mean_gap = DAYS_PER_YEAR / lambda;
    for (double t = start + gsl_ran_exponential(r, mean_gap); t + p->screen_days < p->horizon;
         t += gsl_ran_exponential(r, mean_gap)) {
        if (gsl_rng_uniform(r) >= pass)
            continue;
        if (t >= p->selfpay && gsl_rng_uniform(r) >= consent)
            continue;
        if (push_time(b, t + p->screen_days) != 0)
            return -1;
    }
    return 0;
}

/* A site's rate: fixed, or Gamma(shape k, scale rate / k), whose mean is rate. */
static double draw_rate(gsl_rng *r, const site_spec *st)
{
    return st->shape > 0.0 ? gsl_ran_gamma(r, st->shape, st->rate / st->shape) : st->rate;
}

/* Registrations before u: the enrolled plus the sorted times below u. */
static size_t count_before(const naive_plan *p, const times_buf *b, double u)
{
    size_t n = 0;
    while (n < b->n && b->t[n] < u)
        n++;
    return (size_t)p->s->enrolled + n;
}

/* The completion histogram's value: 0 when the target was met before as_of, d + 1 when the
 * target-th registration falls on day d, H + 1 when it is not within the horizon. */
static size_t completion_value(const naive_plan *p, const times_buf *b)
{
    long need = p->s->target - p->s->enrolled;
    if (need <= 0)
        return 0;
    if ((size_t)need > b->n || !(b->t[need - 1] < p->horizon))
        return (size_t)p->horizon + 1;
    return (size_t)floor(b->t[need - 1]) + 1;
}

static int record(const naive_plan *p, const times_buf *b, naive_tally *t)
{
    size_t at_w = count_before(p, b, p->window);
    int rc = hist_add(&t->at_deadline, at_w) | hist_add(&t->completion, completion_value(p, b));
    for (size_t k = 0; k < p->n_cp; k++)
        rc |= hist_add(&t->at_cp[k], count_before(p, b, p->cp_end[k]));
    t->successes += at_w >= (size_t)p->s->target;
    return rc;
}

/* Simulates one trial and records it. Returns 0, or -1 when out of memory. */
static int naive_trial(const naive_plan *p, gsl_rng *r, times_buf *b, naive_tally *t)
{
    const scenario *s = p->s;
    double pass = draw_prob(r, &s->screen_pass);
    double consent = draw_prob(r, &s->selfpay_consent);
    b->n = 0;
    if (screening_registrations(p, r, pass, b) != 0)
        return -1;
    for (size_t i = 0; i < s->n_sites; i++) {
        double lambda = draw_rate(r, &s->site[i]);
        if (site_registrations(p, r, lambda, p->active[i], pass, consent, b) != 0)
            return -1;
    }
    qsort(b->t, b->n, sizeof *b->t, cmp_double);
    return record(p, b, t);
}

/* ---- the run ---- */

static void tally_free(naive_tally *t, size_t n_cp)
{
    hist_free(&t->at_deadline);
    hist_free(&t->completion);
    for (size_t k = 0; t->at_cp && k < n_cp; k++)
        hist_free(&t->at_cp[k]);
    free(t->at_cp);
}

static int tally_init(naive_tally *t, const naive_plan *p)
{
    *t = (naive_tally){0};
    t->at_cp = calloc(p->n_cp, sizeof *t->at_cp);
    int rc = hist_init(&t->at_deadline, 64) | hist_init(&t->completion, (size_t)p->horizon + 2);
    if (!t->at_cp)
        return -1;
    for (size_t k = 0; k < p->n_cp; k++)
        rc |= hist_init(&t->at_cp[k], 64);
    return rc ? -1 : 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs o->trials trials into t. Returns 0, or -1 when out of memory. */
static int naive_run(const naive_plan *p, const naive_options *o, naive_tally *t)
{
    gsl_rng *r = gsl_rng_alloc(rng_philox4x32);
    times_buf b = {0};
    int rc = r ? 0 : -1;
    if (r)
        rng_seek(r, o->seed, NAIVE_STREAM);
    for (uint64_t i = 0; rc == 0 && i < o->trials; i++)
        rc = naive_trial(p, r, &b, t);
    free(b.t);
    gsl_rng_free(r);
    return rc;
}

/* ---- report ---- */

static void print_date_value(const naive_plan *p, const char *key, size_t v)
{
    char d[11];
    if (v == 0) {
        date_format(p->s->as_of, d);
        printf("%s before %s\n", key, d);
    } else if (v > (size_t)p->horizon) {
        date_format(p->s->as_of + (date_t)p->horizon - 1, d);
        printf("%s after %s\n", key, d);
    } else {
        date_format(p->s->as_of + (date_t)(v - 1), d);
        printf("%s %s\n", key, d);
    }
}

static void print_report(const naive_plan *p, const naive_options *o, const naive_tally *t,
                         double seconds)
{
    double n = (double)o->trials, ps = (double)t->successes / n;
    printf("model naive event-by-event simulation\n");
    printf("scenario %s\n", p->s->name);
    printf("trials %llu\n", (unsigned long long)o->trials);
    printf("seed %llu\n", (unsigned long long)o->seed);
    printf("p_success %.6f\n", ps);
    /* Binomial standard error of a fraction: sqrt(p (1 - p) / n). */
    printf("p_success_se %.6f\n", sqrt(ps * (1.0 - ps) / n));
    printf("mean_enrolled %.6f\n", hist_mean(&t->at_deadline));
    printf("mean_enrolled_se %.6f\n", sqrt(hist_variance(&t->at_deadline) / n));
    for (size_t k = 0; k < p->n_cp; k++) {
        char d[11];
        date_format(p->cp_date[k], d);
        printf("checkpoint_mean %s %.4f\n", d, hist_mean(&t->at_cp[k]));
    }
    print_date_value(p, "completion_median", hist_quantile(&t->completion, 0.5));
    printf("seconds %.3f\n", seconds);
    printf("trials_per_second %.0f\n", n / seconds);
}

/* ---- command line ---- */

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "naive: %s%s\nusage: naive [SCENARIO] [--trials N] [--seed S] [--threads 1]\n",
            what, arg);
    return 2;
}

/* A whole number in decimal digits, or in scientific notation that is exactly whole (1e6). */
static int parse_count(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (strspn(s, "0123456789") == strlen(s) && *s) {
        unsigned long long v = strtoull(s, &end, 10);
        *out = v;
        return errno ? -1 : 0;
    }
    double d = strtod(s, &end);
    if (*end || !*s || !(d >= 0.0) || d > 1e15 || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static int parse_args(int argc, char **argv, naive_options *o)
{
    *o = (naive_options){.trials = DEFAULT_TRIALS, .seed = DEFAULT_SEED};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (o->scenario)
                return usage_error("more than one scenario: ", a);
            o->scenario = a;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error("missing value after ", a);
        const char *v = argv[++i];
        uint64_t n;
        if (parse_count(v, &n) != 0)
            return usage_error("expected a whole number, got ", v);
        if (!strcmp(a, "--trials") && n >= 1)
            o->trials = n;
        else if (!strcmp(a, "--seed"))
            o->seed = n;
        else if (!strcmp(a, "--threads") && n == 1)
            ; /* the baseline is single-threaded by design: accepted for symmetry with accrue */
        else
            return usage_error("unknown option or bad value: ", a);
    }
    return 0;
}

int main(int argc, char **argv)
{
    naive_options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    gsl_set_error_handler_off();
    char err[ERRLEN] = "";
    scenario *s = o.scenario ? scenario_load(o.scenario, err, sizeof err)
                             : scenario_default(err, sizeof err);
    if (!s) {
        fprintf(stderr, "naive: %s\n", err);
        return 2;
    }
    naive_plan p;
    naive_tally t;
    rc = plan_init(&p, s) | tally_init(&t, &p);
    double start = now_seconds();
    if (rc == 0)
        rc = naive_run(&p, &o, &t);
    double seconds = now_seconds() - start;
    if (rc == 0)
        print_report(&p, &o, &t, seconds);
    else
        fprintf(stderr, "naive: out of memory\n");
    tally_free(&t, p.n_cp);
    plan_free(&p);
    scenario_free(s);
    return rc ? 1 : 0;
}
