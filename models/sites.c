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
#include "../engine/rng.h"
#include "draws.h"
#include "exact.h"
#include "schedule.h"

#define DAYS_PER_YEAR SCENARIO_DAYS_PER_YEAR

/* When an event applies to a trial: always, or only when the site's drawn first day (uncertain
 * activation) is before the event's day. (An uncertain site's start itself is no event: each
 * trial's is added at its own point, see start_at.) */
typedef enum event_gate { GATE_NONE, GATE_STARTED_BEFORE } event_gate;

/* At point `point`, site `site` (in activation order) adds rate x delta to the slope sum, for
 * the trials its gate lets through (`starts`: the row of the site's drawn first days). */
typedef struct slope_event {
    size_t point;
    size_t site;
    double delta;
    event_gate gate;
    size_t starts;
    long day;
} slope_event;

/* A site whose first day is uncertain, uniform(D1;D2), or that may never open (the k-th of
 * the draws plan's, see models/draws.h): its exposure by the deadline, and where its start
 * registers, for each possible first day. */
typedef struct uncertain_site {
    size_t site;              /* in activation order */
    long lo, hi;              /* the possible first days from as_of on: max(0, D1), max(0, D2) */
    double *before, *after;   /* [hi - lo + 1]: exposures by first day (schedule_exposure) */
    size_t *start_point;      /* [hi - lo + 1]: the point where a start on that day registers,
                                 SIZE_MAX past the followed span */
    double *start_factor;     /* [hi - lo + 1]: the schedule's factor on that day */
} uncertain_site;

struct sites_plan {
    const scenario *s;
    core_plan *core;
    size_t batch;                 /* draws.batch, read by every loop over the batch */
    draws_plan draws;             /* what a trial draws up front (models/draws.h): the
                                     activation order, the laws, the batch size */
    double *exposure_before;      /* per site: days of referral counted by the deadline, */
    double *exposure_after;       /* before / after self-pay, weighted by the schedule */
    size_t n_uncertain;
    uncertain_site *uncertain;    /* in activation order */
    size_t n_events;
    slope_event *event;           /* sorted by point, then site */
    size_t *first_event;          /* [n_points + 1]: events of point i are first_event[i] .. */
    unsigned char *under_selfpay; /* [n_points]: registrations from point i on need consent */
    unsigned char *lowers;        /* [n_points]: an event there may lower the slope sum */
    unsigned char *starts_at;     /* [n_points]: an uncertain site may start there */
    int *pnone_shape;             /* per activation-order site: pnone_whole_shape, or 0 */
    size_t *pnone_twin;           /* per activation-order site: an earlier one whose P(none)
                                     rows are its own (see find_pnone_twins), or SIZE_MAX */
    size_t core_bytes;            /* the core's part of the work area, before ours */
    size_t work_bytes;
};

/* The front end's per-thread rows, after the core's: the batch's rates (site-major, in
 * activation order: rate[j * batch + t]; 0 for a site that does not open), the slope sum and
 * p / 365.25 of each trial, the first days drawn for the uncertain sites (starts[u * batch +
 * t]) and, per point, what their starts add to the slope there (start_add[i * batch + t]:
 * zero outside intensities, which clears what it reads). */
typedef struct sites_work {
    double *rate, *slope, *scale, *scratch, *starts, *start_add;
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
    at += round64(B * D);
    w.starts = (double *)at;
    at += round64(p->n_uncertain * B * D);
    w.start_add = (double *)at;
    return w;
}

static size_t own_work_bytes(const sites_plan *p)
{
    size_t B = p->batch, D = sizeof(double);
    size_t starts = p->n_uncertain ? core_n_points(p->core) : 0;
    return round64(p->s->n_sites * B * D) + 4 * round64(B * D) +
           round64(p->n_uncertain * B * D) + round64(starts * B * D);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static long selfpay_day(const scenario *s)
{
    long d = (long)s->selfpay_from - (long)s->as_of;
    return d > 0 ? d : 0;
}

/* ---- plan construction ---- */

/* Expected referral registrations by the deadline when every rate is at its upper bound
 * (scenario_rate_upper: a gamma rate above it is treated as beyond the conditional
 * distribution's range, the truncated mass below n_sites * 1e-10) and nothing is thinned: the
 * conditional Poisson mean of almost every trial is below it. scenario_load refuses a scenario
 * where it passes SCENARIO_MAX_REGISTRATIONS (scenario.h). */
static double mean_upper(const sites_plan *p)
{
    const scenario *s = p->s;
    double m = 0.0;
    for (size_t i = 0; i < s->n_sites; i++)
        m += scenario_rate_upper(&s->site[i]) * (p->exposure_before[i] + p->exposure_after[i]) /
             DAYS_PER_YEAR;
    return m;
}

/* The uncertain sites' draws and their exposures by every possible first day. */
static int build_uncertain(sites_plan *p)
{
    const scenario *s = p->s;
    p->uncertain = calloc(s->n_sites + 1, sizeof *p->uncertain);
    if (!p->uncertain)
        return -1;
    for (size_t k = 0; k < p->draws.n_uncertain; k++) {
        const draws_uncertain *du = &p->draws.uncertain[k];
        const site_spec *st = &s->site[p->draws.order[du->site]];
        uncertain_site *u = &p->uncertain[p->n_uncertain++];
        long last = du->first + du->n_days - 1;
        u->site = du->site;
        u->lo = du->first > 0 ? du->first : 0;
        u->hi = last > 0 ? last : 0;
        size_t days = (size_t)(u->hi - u->lo + 1);
        u->before = malloc(days * sizeof *u->before);
        u->after = malloc(days * sizeof *u->after);
        u->start_point = malloc(days * sizeof *u->start_point);
        u->start_factor = malloc(days * sizeof *u->start_factor);
        if (!u->before || !u->after || !u->start_point || !u->start_factor)
            return -1;
        for (size_t d = 0; d < days; d++) {
            schedule_exposure(s, st, (double)(u->lo + (long)d), &u->before[d], &u->after[d]);
            u->start_factor[d] = schedule_factor(s, st, u->lo + (long)d);
        }
    }
    return 0;
}

/* Appends an event (the array has room: see count_events). */
static void add_event(sites_plan *p, double at, size_t site, double delta, event_gate gate,
                      size_t starts, long day)
{
    p->event[p->n_events++] = (slope_event){.point = core_point_index(p->core, at),
                                            .site = site, .delta = delta, .gate = gate,
                                            .starts = starts, .day = day};
}

/* A site's events, or with p->event NULL only their registration-time points into pt (when
 * not NULL) and their number. A sure site starts on its day with its factor there, then
 * changes by each later step; an uncertain one may start on each possible first day (gated on
 * the drawn one), and its later steps apply to the trials that started before them. Days past
 * the followed span change nothing that is reported and get no event. */
static size_t site_events(sites_plan *p, size_t j, const uncertain_site *u, double *pt)
{
    const scenario *s = p->s;
    const site_spec *st = &s->site[p->draws.order[j]];
    long sd = s->screen_days, last = scenario_followed_days(s);
    long lo = u ? u->lo : draws_activation_day(s, p->draws.order[j]), hi = u ? u->hi : lo;
    size_t n = 0, row = u ? (size_t)(u - p->uncertain) : 0;
    for (long d = lo; d <= hi && d <= last; d++, n++) {
        if (pt)
            pt[n] = (double)(d + sd);
        if (p->event && !u)
            add_event(p, (double)(d + sd), j, schedule_factor(s, st, d), GATE_NONE, row, d);
    }
    double before = schedule_factor(s, st, lo);
    for (size_t k = 0; k < st->n_steps; k++) {
        long day = (long)st->step[k].from - (long)s->as_of;
        if (day <= lo || day > last)
            continue;
        if (pt)
            pt[n] = (double)(day + sd);
        if (p->event)
            add_event(p, (double)(day + sd), j, st->step[k].factor - before,
                      u ? GATE_STARTED_BEFORE : GATE_NONE, row, day);
        before = st->step[k].factor;
        n++;
    }
    return n;
}

/* The uncertain site of site j (activation order), or NULL. */
static const uncertain_site *uncertain_of(const sites_plan *p, size_t j)
{
    for (size_t u = 0; u < p->n_uncertain; u++)
        if (p->uncertain[u].site == j)
            return &p->uncertain[u];
    return NULL;
}

/* Every site's registration-time points, for the core. */
static double *site_points(sites_plan *p, size_t *n)
{
    const scenario *s = p->s;
    size_t total = 0;
    for (size_t j = 0; j < s->n_sites; j++)
        total += site_events(p, j, uncertain_of(p, j), NULL);
    double *pt = malloc((total + 1) * sizeof *pt);
    if (!pt)
        return NULL;
    *n = 0;
    for (size_t j = 0; j < s->n_sites; j++)
        *n += site_events(p, j, uncertain_of(p, j), pt + *n);
    return pt;
}

static int cmp_event(const void *a, const void *b)
{
    const slope_event *x = a, *y = b;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    if (x->site != y->site)
        return x->site < y->site ? -1 : 1;
    return (x->day > y->day) - (x->day < y->day);
}

/* The events of the slope sum, sorted by point then site (the order in which the sure sites'
 * rates were summed before there were events, so that their sums are the same), grouped by
 * point (first_event), and the self-pay flags. */
static int build_events(sites_plan *p)
{
    const scenario *s = p->s;
    size_t n_pt = core_n_points(p->core), total = 0;
    for (size_t j = 0; j < s->n_sites; j++)
        total += site_events(p, j, uncertain_of(p, j), NULL);
    p->event = malloc((total + 1) * sizeof *p->event);
    p->first_event = calloc(n_pt + 1, sizeof *p->first_event);
    p->under_selfpay = malloc(n_pt);
    p->lowers = calloc(n_pt, 1);
    if (!p->event || !p->first_event || !p->under_selfpay || !p->lowers)
        return -1;
    p->n_events = 0;
    for (size_t j = 0; j < s->n_sites; j++)
        site_events(p, j, uncertain_of(p, j), NULL);
    qsort(p->event, p->n_events, sizeof *p->event, cmp_event);
    for (size_t e = 0; e < p->n_events; e++) {
        p->first_event[p->event[e].point + 1]++;
        if (p->event[e].delta < 0.0)
            p->lowers[p->event[e].point] = 1;
    }
    for (size_t i = 0; i < n_pt; i++)
        p->first_event[i + 1] += p->first_event[i];
    double f = (double)(selfpay_day(s) + s->screen_days);
    for (size_t i = 0; i < n_pt; i++)
        p->under_selfpay[i] = core_point(p->core, i) >= f;
    p->starts_at = calloc(n_pt, 1);
    if (!p->starts_at)
        return -1;
    long last = scenario_followed_days(s);
    for (size_t k = 0; k < p->n_uncertain; k++) {
        uncertain_site *u = &p->uncertain[k];
        for (long d = u->lo; d <= u->hi; d++) {
            size_t i = SIZE_MAX;
            if (d <= last) {
                i = core_point_index(p->core, (double)(d + s->screen_days));
                p->starts_at[i] = 1;
            }
            u->start_point[d - u->lo] = i;
        }
    }
    return 0;
}

/* Gamma rates of a whole shape up to this have their P(none) with the rate integrated out (see
 * site_outcomes): a power by products, then a division. */
#define PNONE_WHOLE_MAX 16

/* The whole shape k of site st's gamma rate when its P(none) integrates the rate out, else 0. */
static int pnone_whole_shape(const site_spec *st)
{
    return st->shape >= 1.0 && st->shape <= PNONE_WHOLE_MAX && st->shape == floor(st->shape)
               ? (int)st->shape : 0;
}

/* What makes a sure site's P(none) rows (site_outcomes): the whole shape of its gamma rate, its
 * exposures before and after self-pay, its rate's scale; sites alike in all four have the same
 * rows, whatever their drawn rates. */
typedef struct pnone_key {
    int k;
    double before, after, theta;
    size_t j;                     /* the site, in activation order */
} pnone_key;

static int cmp_pnone_key(const void *a, const void *b)
{
    const pnone_key *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    if (x->before != y->before)
        return x->before < y->before ? -1 : 1;
    if (x->after != y->after)
        return x->after < y->after ? -1 : 1;
    if (x->theta != y->theta)
        return x->theta < y->theta ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* pnone_twin: for each sure site whose P(none) integrates its gamma rate out, the first site
 * (in activation order) alike in shape, exposures and scale, unless that is itself; SIZE_MAX for
 * the others. Such a site's rows are copied rather than computed again: at bench/scale/
 * count-300, 30 sites of 4 kinds, 26 divisions a trial fewer. Sorted, so that thousands of
 * sites take n log n comparisons. */
static int find_pnone_twins(sites_plan *p)
{
    size_t n = p->s->n_sites, m = 0;
    pnone_key *key = malloc((n + 1) * sizeof *key);
    p->pnone_twin = malloc((n + 1) * sizeof *p->pnone_twin);
    if (!key || !p->pnone_twin) {
        free(key);
        return -1;
    }
    for (size_t j = 0; j < n; j++) {
        size_t i = p->draws.order[j];
        p->pnone_twin[j] = SIZE_MAX;
        if (p->pnone_shape[j] && p->draws.uncertain_of[j] < 0)
            key[m++] = (pnone_key){p->pnone_shape[j], p->exposure_before[i],
                                   p->exposure_after[i], p->draws.rate_law[j].scale, j};
    }
    qsort(key, m, sizeof *key, cmp_pnone_key);
    for (size_t a = 0, b = 1; b < m; b++) {   /* key[a]: the first of the run holding key[b] */
        pnone_key x = key[a], y = key[b];
        if (x.k == y.k && x.before == y.before && x.after == y.after && x.theta == y.theta)
            p->pnone_twin[y.j] = x.j;
        else
            a = b;
    }
    free(key);
    return 0;
}

sites_plan *sites_plan_new(const scenario *s, char *err, size_t errlen)
{
    sites_plan *p = calloc(1, sizeof *p);
    size_t n = s->n_sites;
    if (!p)
        goto oom;
    p->s = s;
    p->exposure_before = malloc((n + 1) * sizeof *p->exposure_before);
    p->exposure_after = malloc((n + 1) * sizeof *p->exposure_after);
    p->pnone_shape = malloc((n + 1) * sizeof *p->pnone_shape);
    if (draws_plan_init(&p->draws, s) != 0 || !p->exposure_before || !p->exposure_after ||
        !p->pnone_shape)
        goto oom;
    for (size_t j = 0; j < n; j++)
        p->pnone_shape[j] = pnone_whole_shape(&s->site[p->draws.order[j]]);
    p->batch = p->draws.batch;
    /* The exposures by the deadline are the exact mode's, so that the two cannot disagree. */
    for (size_t i = 0; i < n; i++)
        exact_site_exposure(s, i, &p->exposure_before[i], &p->exposure_after[i]);
    size_t n_points;
    if (build_uncertain(p) != 0 || find_pnone_twins(p) != 0)
        goto oom;
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
    draws_plan_free(&p->draws);
    free(p->exposure_before);
    free(p->exposure_after);
    free(p->pnone_shape);
    free(p->pnone_twin);
    for (size_t u = 0; p->uncertain && u < p->n_uncertain; u++) {
        free(p->uncertain[u].before);
        free(p->uncertain[u].after);
        free(p->uncertain[u].start_point);
        free(p->uncertain[u].start_factor);
    }
    free(p->uncertain);
    free(p->event);
    free(p->first_event);
    free(p->under_selfpay);
    free(p->lowers);
    free(p->starts_at);
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
    /* The powers of the conditional mean count as controls too, when their means are known:
     * the conditional P(success) of a trial with a large expected count is nearly a step in
     * that mean, which its powers follow far better than the mean alone. */
    _Static_assert(SIM_CONTROL_POWERS <= EXACT_MOMENTS_MAX, "the control's powers need moments");
    double central[EXACT_MOMENTS_MAX + 1];
    if (exact_mean_moments(p->s, core_screening_drawn(p->core), SIM_CONTROL_POWERS, central) == 0) {
        m.control_powers = SIM_CONTROL_POWERS;
        for (size_t j = 2; j <= SIM_CONTROL_POWERS; j++)
            m.control_central[j] = central[j];
    }
    return m;
}

/* ---- a batch of trials ---- */

/* p_none[t] = 1 / (1 + x[t])^k for t < n and a whole k >= 1: k - 1 products and a division,
 * one power at a time across the trials (a loop over k inside the loop over trials keeps gcc
 * from vectorising it). x[t] = 0 gives exactly 1. */
SIMD_CLONES
static void inverse_powers(const double *x, int k, double *p_none, size_t n)
{
    double b[DRAWS_MAX_BATCH], pw[DRAWS_MAX_BATCH];
#pragma omp simd
    for (size_t t = 0; t < n; t++)
        pw[t] = b[t] = 1.0 + x[t];
    for (int e = 1; e < k; e++) {
#pragma omp simd
        for (size_t t = 0; t < n; t++)
            pw[t] *= b[t];
    }
#pragma omp simd
    for (size_t t = 0; t < n; t++)
        p_none[t] = 1.0 / pw[t];
}

/* What the batch's draws imply for each site, into the engine's rows of each unit (the site,
 * in file order). Its registrations by the deadline are Poisson with mean mu = c x rate, c =
 * pass/year x (days referred before self-pay + consent x days after) (an uncertain site's days
 * are those of its drawn first day): the mean is mu. P(none) is exp(-mu) given the rate; for a
 * gamma rate of whole shape k and scale theta (up to PNONE_WHOLE_MAX), the rate integrated out
 * instead, E[exp(-c R) | c] = (1 + c theta)^-k (the gamma law's Laplace transform; a site that
 * did not open, rate 0: 1). Both are P(none | the trial's draws) for one set of draws or a
 * coarser one, so both are unbiased; the second has the smaller variance (the rate's share of
 * it gone), and a division costs less than an exponential: bench/scale/count-300 (30 sites of
 * shape 2) took 0.964 of the time with it (1e6 trials, 1 thread, farm-bench 11 pairs, CPU);
 * bench/reference (5 sites of shape 2) 0.99. A sure site alike in all that sets it to an
 * earlier one (find_pnone_twins) copies that one's P(none) rows. */
SIMD_CLONES
static void site_outcomes(const sites_plan *p, const core_rows *rows, const sites_work *w,
                          size_t n, sim_batch *out)
{
    size_t stride = p->batch;
    const uncertain_site *u = p->uncertain, *u_end = p->uncertain + p->n_uncertain;
    const double *c = w->scale, *consent = rows->consent;   /* c[t] = pass / year (intensities) */
    for (size_t j = 0; j < p->s->n_sites; j++) {
        size_t i = p->draws.order[j];
        int k = p->pnone_shape[j];
        double A = p->exposure_before[i], B = p->exposure_after[i];
        double theta = k ? p->draws.rate_law[j].scale : 0.0, x[DRAWS_MAX_BATCH];
        const double *rate = w->rate + j * stride;
        double *mean = out->unit_mean + i * stride, *p_none = out->unit_p_none + i * stride;
        if (u < u_end && u->site == j) {
            const double *start = w->starts + (size_t)(u - p->uncertain) * stride;
            for (size_t t = 0; t < n; t++) {
                size_t d = (size_t)((long)start[t] - u->lo);
                double days = u->before[d] + consent[t] * u->after[d];
                mean[t] = c[t] * rate[t] * days;
                if (k)
                    x[t] = rate[t] > 0.0 ? c[t] * days * theta : 0.0;   /* not opened: 1 */
                else
                    p_none[t] = vmath_exp(-mean[t]);
            }
            u++;
        } else if (k) {
#pragma omp simd
            for (size_t t = 0; t < n; t++) {
                double days = A + consent[t] * B;
                mean[t] = c[t] * rate[t] * days;
                x[t] = c[t] * days * theta;
            }
        } else {
#pragma omp simd
            for (size_t t = 0; t < n; t++) {
                double mu = c[t] * rate[t] * (A + consent[t] * B);
                mean[t] = mu;
                p_none[t] = vmath_exp(-mu);
            }
        }
        if (k && p->pnone_twin[j] != SIZE_MAX)   /* a site alike, earlier: its rows */
            memcpy(p_none, out->unit_p_none + p->draws.order[p->pnone_twin[j]] * stride,
                   n * sizeof *p_none);
        else if (k)
            inverse_powers(x, k, p_none, n);
    }
}

/* The slope sum gains rate x delta for each event at point i, for the trials its gate lets
 * through; it never falls below 0 (a schedule's decreases cancel earlier increases, up to
 * rounding). */
SIMD_CLONES
static void apply_events(const sites_plan *p, const sites_work *w, size_t i, size_t n)
{
    double *slope = w->slope;
    for (size_t e = p->first_event[i]; e < p->first_event[i + 1]; e++) {
        const slope_event *ev = &p->event[e];
        const double *rate = w->rate + ev->site * p->batch, delta = ev->delta;
        const double *start = w->starts + ev->starts * p->batch, day = (double)ev->day;
        if (ev->gate == GATE_NONE) {
#pragma omp simd
            for (size_t t = 0; t < n; t++)
                slope[t] += rate[t] * delta;
        } else {
#pragma omp simd
            for (size_t t = 0; t < n; t++)
                slope[t] += start[t] < day ? rate[t] * delta : 0.0;
        }
    }
    if (p->starts_at[i]) {
        double *add = w->start_add + i * p->batch;
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            slope[t] += add[t];
            add[t] = 0.0;
        }
    }
    if (p->lowers[i])
        for (size_t t = 0; t < n; t++)
            slope[t] = slope[t] > 0.0 ? slope[t] : 0.0;
}

/* Each trial's uncertain sites add their rate times the schedule's factor at the point of
 * their drawn first day (none past the followed span): one scattered addition a site, instead
 * of a gated pass over the batch at every possible first day. */
static void start_additions(const sites_plan *p, const sites_work *w, size_t n)
{
    size_t B = p->batch;
    for (size_t k = 0; k < p->n_uncertain; k++) {
        const uncertain_site *u = &p->uncertain[k];
        const double *rate = w->rate + u->site * B, *start = w->starts + k * B;
        for (size_t t = 0; t < n; t++) {
            size_t d = (size_t)((long)start[t] - u->lo), i = u->start_point[d];
            if (i != SIZE_MAX)
                w->start_add[i * B + t] += rate[t] * u->start_factor[d];
        }
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
    start_additions(p, w, n);
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
    draws_rows draws = {rows.pass, rows.consent, w.rate, w.starts, w.scratch};
    draws_fill(&p->draws, rng->draws, &draws, n);
    intensities(p, &rows, &w, n);
    site_outcomes(p, &rows, &w, n, out);
    core_batch(p->core, rng->path, work, n, out);
}
