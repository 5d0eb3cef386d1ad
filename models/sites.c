/* The per-site Poisson-gamma front end: see sites.h.
 *
 * Site s refers candidates as a Poisson process of rate lambda_s per year times its schedule's
 * factor, from its activation a_s on; a referral at t is registered at t + screen_days with
 * probability p, times q (self-pay consent) when t >= selfpay_from. Thinning keeps it Poisson,
 * so registrations from referrals form a Poisson process whose intensity is piecewise constant
 * between the points (activations, rate changes, the self-pay date, all shifted by
 * screen_days): its slope on [point i, point i+1) is p / 365.25 (times q under self-pay) times
 * the sum over active sites of their rate times their factor. That sum changes only at events
 * (a site starts, a factor changes), so a trial's LAMBDA at every point costs one pass over
 * the points plus one over the events, across the batch. */
#include "sites.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include "../engine/sample.h"
#include "../engine/simd.h"
#include "../engine/vmath.h"
#include "exact.h"

#define DAYS_PER_YEAR SCENARIO_DAYS_PER_YEAR
/* A gamma rate above this quantile is treated as beyond the conditional distribution's range:
 * the truncated mass is below n_sites * 1e-10. */
#define RATE_QUANTILE_CAP (1.0 - 1e-10)

/* At point `point`, site `site` (in activation order) adds rate x delta to the slope sum. */
typedef struct slope_event {
    size_t point;
    size_t site;
    double delta;
} slope_event;

struct sites_plan {
    const scenario *s;
    core_plan *core;
    size_t batch;
    size_t *order;                /* sites sorted by activation: order[j] = site index */
    sample_gamma *rate_law;       /* per site in activation order: its rate's gamma (if any) */
    sample_beta pass_law, consent_law;
    double *exposure_before;      /* per site: days of referral counted by the deadline, */
    double *exposure_after;       /* before / after self-pay, weighted by the schedule */
    size_t n_events;
    slope_event *event;           /* sorted by point, then site */
    size_t *first_event;          /* [n_points + 1]: events of point i are first_event[i] .. */
    unsigned char *under_selfpay; /* [n_points]: registrations from point i on need consent */
    size_t core_bytes;            /* the core's part of the work area, before ours */
    size_t work_bytes;
};

/* The front end's per-thread rows, after the core's: the batch's rates (site-major, in
 * activation order: rate[j * batch + t]), the slope sum and p / 365.25 of each trial. */
typedef struct sites_work {
    double *rate, *slope, *scale, *scratch;
} sites_work;

static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

static sites_work work_of(const sites_plan *p, void *work)
{
    size_t B = p->batch, D = sizeof(double);
    char *at = work ? (char *)work + p->core_bytes : NULL;
    sites_work w = {0};
    if (!at)
        return w;
    w.rate = (double *)at;
    at += round64(p->s->n_sites * B * D);
    w.slope = (double *)at;
    at += round64(B * D);
    w.scale = (double *)at;
    at += round64(B * D);
    w.scratch = (double *)at;
    return w;
}

static size_t own_work_bytes(const sites_plan *p)
{
    size_t B = p->batch, D = sizeof(double);
    return round64(p->s->n_sites * B * D) + 3 * round64(B * D);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Day offsets from as_of, clamped at 0: activity or self-pay before as_of starts at as_of. */
static long activation_day(const scenario *s, size_t site)
{
    long d = (long)s->site[site].active_from - (long)s->as_of;
    return d > 0 ? d : 0;
}

static long selfpay_day(const scenario *s)
{
    long d = (long)s->selfpay_from - (long)s->as_of;
    return d > 0 ? d : 0;
}

/* ---- plan construction ---- */

/* A site and its activation day, sorted by day then index (qsort takes no context). */
typedef struct site_key {
    long day;
    size_t site;
} site_key;

static int cmp_site_key(const void *a, const void *b)
{
    const site_key *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return (x->site > y->site) - (x->site < y->site);
}

/* order[] = the sites sorted by activation, ties in file order. */
static int sort_by_activation(const scenario *s, size_t *order)
{
    size_t n = s->n_sites;
    site_key *key = malloc((n + 1) * sizeof *key);
    if (!key)
        return -1;
    for (size_t i = 0; i < n; i++)
        key[i] = (site_key){activation_day(s, i), i};
    qsort(key, n, sizeof *key, cmp_site_key);
    for (size_t i = 0; i < n; i++)
        order[i] = key[i].site;
    free(key);
    return 0;
}

/* A rate that the site's drawn rate exceeds with probability below 1 - RATE_QUANTILE_CAP: the
 * gamma quantile, but never below mean + 10 standard deviations (GSL's inverse loses accuracy
 * for shapes in the millions). */
static double rate_upper(const site_spec *st)
{
    if (!(st->shape > 0.0))
        return st->rate;
    double q = gsl_cdf_gamma_Qinv(1.0 - RATE_QUANTILE_CAP, st->shape, st->rate / st->shape);
    double normal = st->rate * (1.0 + 10.0 / sqrt(st->shape));
    return isfinite(q) && q > normal ? q : normal;
}

/* Expected referral registrations by the deadline when every rate is at its upper bound and
 * nothing is thinned: the conditional Poisson mean of almost every trial is below it. */
static double mean_upper(const sites_plan *p)
{
    const scenario *s = p->s;
    double m = 0.0;
    for (size_t i = 0; i < s->n_sites; i++)
        m += rate_upper(&s->site[i]) * (p->exposure_before[i] + p->exposure_after[i]) /
             DAYS_PER_YEAR;
    return m;
}

/* The registration-time points where a site's contribution changes: its activation. */
static double *site_points(const sites_plan *p, size_t *n)
{
    const scenario *s = p->s;
    double *pt = malloc((s->n_sites + 1) * sizeof *pt);
    if (!pt)
        return NULL;
    for (size_t i = 0; i < s->n_sites; i++)
        pt[i] = (double)(activation_day(s, i) + s->screen_days);
    *n = s->n_sites;
    return pt;
}

/* The events of the slope sum, grouped by point (first_event), and the self-pay flags. */
static int build_events(sites_plan *p)
{
    const scenario *s = p->s;
    size_t n_pt = core_n_points(p->core);
    p->n_events = s->n_sites;
    p->event = malloc((p->n_events + 1) * sizeof *p->event);
    p->first_event = calloc(n_pt + 1, sizeof *p->first_event);
    p->under_selfpay = malloc(n_pt);
    if (!p->event || !p->first_event || !p->under_selfpay)
        return -1;
    for (size_t j = 0; j < s->n_sites; j++) {
        size_t i = p->order[j];
        double at = (double)(activation_day(s, i) + s->screen_days);
        p->event[j] = (slope_event){core_point_index(p->core, at), j, 1.0};
    }
    /* Sites are in activation order, so the events are sorted by point, then site. */
    for (size_t e = 0; e < p->n_events; e++)
        p->first_event[p->event[e].point + 1]++;
    for (size_t i = 0; i < n_pt; i++)
        p->first_event[i + 1] += p->first_event[i];
    double f = (double)(selfpay_day(s) + s->screen_days);
    for (size_t i = 0; i < n_pt; i++)
        p->under_selfpay[i] = core_point(p->core, i) >= f;
    return 0;
}

/* Trials per batch: up to CORE_MAX_BATCH, fewer when many sites would make the batch's rates
 * outgrow the cache (about 16 kB of them). */
static size_t batch_size(size_t n_sites)
{
    size_t b = 2048 / (n_sites + 3);
    return b < 1 ? 1 : b > CORE_MAX_BATCH ? CORE_MAX_BATCH : b;
}

sites_plan *sites_plan_new(const scenario *s, char *err, size_t errlen)
{
    sites_plan *p = calloc(1, sizeof *p);
    size_t n = s->n_sites;
    if (!p)
        goto oom;
    p->s = s;
    p->batch = batch_size(n);
    p->order = malloc((n + 1) * sizeof *p->order);
    p->rate_law = malloc((n + 1) * sizeof *p->rate_law);
    p->exposure_before = malloc((n + 1) * sizeof *p->exposure_before);
    p->exposure_after = malloc((n + 1) * sizeof *p->exposure_after);
    if (!p->order || !p->rate_law || !p->exposure_before || !p->exposure_after ||
        sort_by_activation(s, p->order) != 0)
        goto oom;
    for (size_t j = 0; j < n; j++) {
        const site_spec *st = &s->site[p->order[j]];
        if (st->shape > 0.0)
            p->rate_law[j] = sample_gamma_init(st->shape, st->rate / st->shape);
    }
    /* The exposures by the deadline are the exact mode's, so that the two cannot disagree. */
    for (size_t i = 0; i < n; i++)
        exact_site_exposure(s, i, &p->exposure_before[i], &p->exposure_after[i]);
    if (s->screen_pass.is_beta)
        p->pass_law = sample_beta_init(s->screen_pass.a, s->screen_pass.b);
    if (s->selfpay_consent.is_beta)
        p->consent_law = sample_beta_init(s->selfpay_consent.a, s->selfpay_consent.b);
    size_t n_points;
    double *points = site_points(p, &n_points);
    if (!points)
        goto oom;
    core_spec spec = {.s = s, .points = points, .n_points = n_points,
                      .mean_upper = mean_upper(p), .batch = p->batch};
    p->core = core_plan_new(&spec, err, errlen);
    free(points);
    if (!p->core) {
        sites_plan_free(p);
        return NULL;
    }
    if (build_events(p) != 0)
        goto oom;
    p->core_bytes = core_work_bytes(p->core);
    p->work_bytes = p->core_bytes + own_work_bytes(p);
    return p;
oom:
    sites_plan_free(p);
    set_err(err, errlen, "out of memory preparing the model");
    return NULL;
}

void sites_plan_free(sites_plan *p)
{
    if (!p)
        return;
    core_plan_free(p->core);
    free(p->order);
    free(p->rate_law);
    free(p->exposure_before);
    free(p->exposure_after);
    free(p->event);
    free(p->first_event);
    free(p->under_selfpay);
    free(p);
}

const core_plan *sites_core(const sites_plan *p) { return p->core; }

sim_model sites_sim_model(const sites_plan *p)
{
    sim_model m = {
        .ctx = p,
        .run_batch = sites_batch,
        .batch = p->batch,
        .work_bytes = p->work_bytes,
        .target = (size_t)p->s->target,
        .n_checkpoints = core_n_checkpoints(p->core),
        .n_days = core_n_days(p->core),
        .n_units = p->s->n_sites,
        .cond_cap = core_table_cap(p->core),
        .has_control = 1,
        .control_mean = exact_mean(p->s),
    };
    return m;
}

/* ---- a batch of trials ---- */

static void fill_prob(gsl_rng *r, const prob_spec *ps, const sample_beta *law, double *dst,
                      double *scratch, size_t n)
{
    if (ps->is_beta) {
        sample_beta_fill(r, law, dst, scratch, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = ps->value;
}

/* Draws the probabilities and rates of the batch's n trials (gamma with mean `rate` and shape
 * k has scale rate/k), each distribution's draws together so that they vectorise. */
static void draw_rates(const sites_plan *p, gsl_rng *r, const core_rows *rows,
                       const sites_work *w, size_t n)
{
    const scenario *s = p->s;
    fill_prob(r, &s->screen_pass, &p->pass_law, rows->pass, w->scratch, n);
    fill_prob(r, &s->selfpay_consent, &p->consent_law, rows->consent, w->scratch, n);
    for (size_t j = 0; j < s->n_sites; j++) {
        const site_spec *st = &s->site[p->order[j]];
        double *dst = w->rate + j * p->batch;
        if (st->shape > 0.0) {
            sample_gamma_fill(r, &p->rate_law[j], dst, n);
        } else {
            for (size_t t = 0; t < n; t++)
                dst[t] = st->rate;
        }
    }
}

/* What the batch's drawn values imply for each site, exactly: its registrations by the
 * deadline are Poisson with mean pass/year x rate x (days referred before self-pay + consent x
 * days after), so none with probability exp(-mean). Into the engine's rows of each unit (the
 * site, in file order). */
SIMD_CLONES
static void site_outcomes(const sites_plan *p, const core_rows *rows, const sites_work *w,
                          size_t n, sim_batch *out)
{
    size_t stride = p->batch;
    for (size_t j = 0; j < p->s->n_sites; j++) {
        size_t i = p->order[j];
        double A = p->exposure_before[i], B = p->exposure_after[i];
        const double *rate = w->rate + j * stride, *pass = rows->pass, *consent = rows->consent;
        double *mean = out->unit_mean + i * stride, *p_none = out->unit_p_none + i * stride;
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            double mu = pass[t] / DAYS_PER_YEAR * rate[t] * (A + consent[t] * B);
            mean[t] = mu;
            p_none[t] = vmath_exp(-mu);
        }
    }
}

/* The slope sum gains rate x delta for each event at point i. */
SIMD_CLONES
static void apply_events(const sites_plan *p, const sites_work *w, size_t i, size_t n)
{
    for (size_t e = p->first_event[i]; e < p->first_event[i + 1]; e++) {
        const double *rate = w->rate + p->event[e].site * p->batch;
        double delta = p->event[e].delta, *slope = w->slope;
#pragma omp simd
        for (size_t t = 0; t < n; t++)
            slope[t] += rate[t] * delta;
    }
}

/* Every trial's LAMBDA at the points (the integral of the registration intensity of referrals,
 * per day, piecewise linear: row i + 1 adds the slope on [point i, point i+1) times its
 * length) and its slope past the last point (every event applied, self-pay in effect). Point
 * by point across the batch, so that it vectorises. */
SIMD_CLONES
static void intensities(const sites_plan *p, const core_rows *rows, const sites_work *w,
                        size_t n)
{
    size_t B = p->batch, n_pt = core_n_points(p->core);
    const double *pass = rows->pass, *consent = rows->consent;
    double *c = w->scale, *Lam = rows->lambda_at_points, *slope = w->slope;
    for (size_t t = 0; t < n; t++) {
        c[t] = pass[t] / DAYS_PER_YEAR;
        Lam[t] = 0.0;
        slope[t] = 0.0;
    }
    for (size_t i = 0; i < n_pt; i++) {
        apply_events(p, w, i, n);
        if (i + 1 == n_pt)
            break;
        const double *at = Lam + i * B;
        double *next = Lam + (i + 1) * B, dt = core_point(p->core, i + 1) - core_point(p->core, i);
        if (p->under_selfpay[i]) {
#pragma omp simd
            for (size_t t = 0; t < n; t++)
                next[t] = at[t] + c[t] * slope[t] * consent[t] * dt;
        } else {
#pragma omp simd
            for (size_t t = 0; t < n; t++)
                next[t] = at[t] + c[t] * slope[t] * dt;
        }
    }
    for (size_t t = 0; t < n; t++)
        rows->final_slope[t] = pass[t] / DAYS_PER_YEAR * consent[t] * slope[t];
}

void sites_batch(const void *plan, const sim_streams *rng, void *work, size_t n,
                 sim_batch *out)
{
    const sites_plan *p = plan;
    core_rows rows = core_rows_of(p->core, work);
    sites_work w = work_of(p, work);
    draw_rates(p, rng->draws, &rows, &w, n);
    site_outcomes(p, &rows, &w, n, out);
    intensities(p, &rows, &w, n);
    core_batch(p->core, rng->path, work, n, out);
}
