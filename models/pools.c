/* Finite patient pools: see pools.h.
 *
 * One trial at a time, plainly. Up front (rng->draws) the trial draws what models/sites.c
 * draws, by the same calls in the same order: screen pass p, consent q, each site's rate (in
 * activation order), then for the sites that may not open or open on an uncertain day,
 * whether they open and their first day. The path (rng->path): the candidates in screening
 * register first (each with probability p, at a time uniform on [0, screen_days), consent q
 * too under selfpay_screening from the self-pay day on), generated in increasing time as
 * uniform order statistics; then the sites' referrals, merged in time order: site s refers as
 * a Poisson process of rate lambda_s / 365.25 times its schedule's factor per day from its
 * first day, stopped at its cap's C-th referral; a referral at t registers at t + screen_days
 * with probability p, times q when t >= selfpay_from (DESIGN.md section 2). An uncapped site's
 * path follows only its referrals that pass screening (or, from selfpay_from on, that
 * register), the same process thinned (models/paths.h): two to three times fewer events, the
 * same law. Every
 * registration before screen_days comes from screening and every later one from a referral,
 * so the registrations are met in time order: the checkpoints' counts and the day the target
 * is reached are read off as they come, and a trial stops once it is past the deadline with
 * the target reached, or past the followed days.
 *
 * The conditional estimator: given the draws, the registrations by the deadline are
 * independent across sources: Binomial(screening, pi) from screening, Poisson from the
 * uncapped sites, and from a capped site Binomial(min(K, C), r) mixed over K ~ Poisson(m), its
 * referrals in the window, when every referral in the window has the same thinning r (p, or
 * p q: the self-pay date not inside the site's window). The pmf of their sum below the
 * target's need gives P(success | draws) exactly, with E[N | draws]. A trial whose capped site
 * has the self-pay date inside its window (the first referrals are thinned by p, the later by
 * p q, and which are cut depends on both counts), or whose need or cap is beyond
 * POOLS_MAX_TABLE, uses its own outcome instead (the indicator of success, its count, and for
 * such a site its own registrations): unbiased, only less precise. */
#include "pools.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include "../engine/rng.h"
#include "../engine/sample.h"
#include "draws.h"
#include "paths.h"
#include "schedule.h"

#define DAYS_PER_YEAR SCENARIO_DAYS_PER_YEAR
/* Needs and caps up to this many get the exact conditional distribution. */
#define POOLS_MAX_TABLE 4096

struct pools_plan {
    const scenario *s;
    core_plan *core;
    draws_plan draws;         /* what a trial draws up front (models/draws.h) */
    size_t table;             /* counts tabulated for the conditional pmf: need, or 0 */
    path_clock clock;         /* what the path's registrations are counted against */
    size_t work_bytes;
};

/* A thread's work: the batch's draws, then one trial's state. */
typedef struct pools_work {
    double *pass, *consent, *scratch, *rate, *starts;   /* [B], [B], [B], [n B], [u B] */
    double *next, *start, *per_day;                     /* [n] per site: next referral time */
    double *followed;                                   /* [n]: the rate of the events followed */
    path_thinning *mode;                                /* [n]: which events (paths.h) */
    long *left, *registered;                            /* [n]: referrals left, by deadline */
    double *acc, *comp, *tmp, *bin;                     /* [table] */
} pools_work;

static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

static pools_work work_of(const pools_plan *p, void *work)
{
    size_t B = p->draws.batch, n = p->draws.n_sites, D = sizeof(double), L = p->table;
    char *at = work;
    pools_work w;
    w.pass = (double *)at, at += round64(B * D);
    w.consent = (double *)at, at += round64(B * D);
    w.scratch = (double *)at, at += round64(B * D);
    w.rate = (double *)at, at += round64(n * B * D);
    w.starts = (double *)at, at += round64(p->draws.n_uncertain * B * D);
    w.next = (double *)at, at += round64(n * D);
    w.start = (double *)at, at += round64(n * D);
    w.per_day = (double *)at, at += round64(n * D);
    w.followed = (double *)at, at += round64(n * D);
    w.mode = (path_thinning *)at, at += round64(n * sizeof(path_thinning));
    w.left = (long *)at, at += round64(n * sizeof(long));
    w.registered = (long *)at, at += round64(n * sizeof(long));
    w.acc = (double *)at, at += round64(L * D);
    w.comp = (double *)at, at += round64(L * D);
    w.tmp = (double *)at, at += round64(L * D);
    w.bin = (double *)at, at += round64(L * D);
    return w;
}

static size_t work_size(const pools_plan *p)
{
    size_t B = p->draws.batch, n = p->draws.n_sites, D = sizeof(double), L = p->table;
    return 3 * round64(B * D) + round64(n * B * D) + round64(p->draws.n_uncertain * B * D) +
           4 * round64(n * D) + round64(n * sizeof(path_thinning)) +
           2 * round64(n * sizeof(long)) + 4 * round64(L * D);
}

int pools_serves(const scenario *s)
{
    for (size_t i = 0; s && i < s->n_sites; i++)
        if (s->site[i].has_cap)
            return 1;
    return 0;
}

/* ---- the plan ---- */

pools_plan *pools_plan_new(const scenario *s, char *err, size_t errlen)
{
    pools_plan *p = calloc(1, sizeof *p);
    if (!p || draws_plan_init(&p->draws, s) != 0)
        goto oom;
    p->s = s;
    core_spec spec = {.s = s, .points = NULL, .n_points = 0, .mean_upper = 1.0,
                      .batch = p->draws.batch};
    p->core = core_plan_new(&spec, err, errlen);
    if (!p->core) {
        pools_plan_free(p);
        return NULL;
    }
    if (path_clock_init(&p->clock, s, p->core, p->draws.batch) != 0)
        goto oom;
    long need = p->clock.need;
    p->table = need > 0 && need <= POOLS_MAX_TABLE ? (size_t)need : 0;
    p->work_bytes = work_size(p);
    return p;
oom:
    pools_plan_free(p);
    if (err && errlen)
        snprintf(err, errlen, "out of memory preparing the model");
    return NULL;
}

void pools_plan_free(pools_plan *p)
{
    if (!p)
        return;
    core_plan_free(p->core);
    draws_plan_free(&p->draws);
    path_clock_free(&p->clock);
    free(p);
}

const core_plan *pools_core(const pools_plan *p) { return p->core; }

sim_model pools_sim_model(const pools_plan *p)
{
    sim_model m = {
        .ctx = p,
        .run_batch = pools_batch,
        .batch = p->draws.batch,
        .work_bytes = p->work_bytes,
        .target = (size_t)p->s->target,
        .n_checkpoints = p->clock.n_checkpoints,
        .n_days = core_n_days(p->core),
        .n_units = p->draws.n_sites,
        .cond_cap = 0,
        .has_control = 0,
        .control_mean = 0.0,
    };
    return m;
}

/* ---- the path of one trial ---- */

static void run_path(const pools_plan *p, const pools_work *w, gsl_rng *r, size_t t,
                     sim_batch *out)
{
    const scenario *s = p->s;
    double pass = w->pass[t], consent = w->consent[t], sd = p->clock.screen_days;
    path_tally ty = path_start(&p->clock);

    /* Candidates in screening first: they register before any referral. */
    double u = 0.0, at;
    for (long i = 0; i < s->screening; i++)
        if (path_screening(s, i, pass, consent, p->clock.selfpay, &u, &at, r))
            path_record(&p->clock, &ty, at, t, out);

    /* The sites' referrals, merged in time order. */
    for (size_t i = 0; i < p->draws.n_sites; i++) {
        const site_spec *st = &s->site[i];
        w->registered[i] = 0;
        w->left[i] = st->has_cap ? st->cap : LONG_MAX;
        w->next[i] = INFINITY;
        w->followed[i] = w->per_day[i] * path_thinning_of(st->has_cap, w->start[i], pass,
                                                           consent, p->clock.selfpay,
                                                           &w->mode[i]);
        if (w->followed[i] > 0.0 && w->left[i] > 0)
            w->next[i] = path_next_referral(s->as_of, st->n_steps, st->step, w->followed[i],
                                            w->start[i], r);
    }
    for (;;) {
        size_t j = SIZE_MAX;
        for (size_t i = 0; i < p->draws.n_sites; i++)
            if (isfinite(w->next[i]) && (j == SIZE_MAX || w->next[i] < w->next[j]))
                j = i;
        if (j == SIZE_MAX)
            break;
        double referred = w->next[j];
        at = referred + sd;
        if (at >= p->clock.followed || (at >= p->clock.window && ty.count >= p->clock.need))
            break;
        w->left[j]--;
        if (path_registers(w->mode[j], referred, pass, consent, p->clock.selfpay, r)) {
            path_record(&p->clock, &ty, at, t, out);
            if (at < p->clock.window)
                w->registered[j]++;
        }
        w->next[j] = w->left[j] > 0 ? path_next_referral(s->as_of, s->site[j].n_steps,
                                                         s->site[j].step, w->followed[j],
                                                         referred, r)
                                    : INFINITY;
    }
    path_finish(&p->clock, &ty, t, out);
}

/* ---- the conditional distribution given the draws ---- */

/* acc <- acc * comp, both pmfs on 0 .. L-1 (what lies beyond is not needed). */
static void convolve(double *acc, const double *comp, double *tmp, size_t L)
{
    for (size_t j = 0; j < L; j++) {
        double sum = 0.0;
        for (size_t i = 0; i <= j; i++)
            sum += acc[i] * comp[j - i];
        tmp[j] = sum;
    }
    memcpy(acc, tmp, L * sizeof *acc);
}

static double poisson_pmf(long k, double m)
{
    if (m <= 0.0)
        return k == 0 ? 1.0 : 0.0;
    return exp((double)k * log(m) - m - gsl_sf_lngamma((double)k + 1.0));
}

/* Below this mean, Poisson pmfs come by the recurrence P(k) = P(k-1) m / k from exp(-m)
 * (one exp instead of a log-gamma each; relative error about k ulps); above, exp(-m) would
 * underflow, and each is computed on its own. */
#define POISSON_RECURRENCE_MAX 600.0

static void poisson_table(double *comp, size_t L, double m)
{
    if (!(m < POISSON_RECURRENCE_MAX)) {
        for (size_t j = 0; j < L; j++)
            comp[j] = poisson_pmf((long)j, m);
        return;
    }
    double pk = exp(-m);
    for (size_t j = 0; j < L; j++) {
        comp[j] = pk;
        pk *= m / (double)(j + 1);
    }
}

/* A count beyond this is so unlikely for Poisson(m) (below 1e-20) that a cap above it never
 * binds within precision. */
static double poisson_high(double m) { return m + 10.0 * sqrt(m) + 20.0; }

/* comp <- the pmf on 0 .. L-1 of Binomial(min(K, C), r), K ~ Poisson(m): the sum over k of
 * P(min(K, C) = k) Binomial(k, r), the binomial pmfs built up one trial at a time in bin.
 * Returns E[min(K, C)]. */
static double capped_table(double *comp, double *bin, size_t L, double m, long C, double r)
{
    double mean = 0.0;
    memset(comp, 0, L * sizeof *comp);
    memset(bin, 0, L * sizeof *bin);
    bin[0] = 1.0;
    int recur = m < POISSON_RECURRENCE_MAX;
    double pk = recur ? exp(-m) : 0.0, below = 0.0;
    for (long k = 0; k <= C; k++) {
        double w;
        if (!recur)
            w = k < C ? poisson_pmf(k, m) : gsl_cdf_poisson_Q((unsigned)(C - 1), m);
        else if (k < C)
            w = pk, below += pk, pk *= m / (double)(k + 1);
        else
            w = below < 1.0 ? 1.0 - below : 0.0;   /* P(K >= C), to an absolute 1e-16 */
        mean += (double)k * w;
        for (size_t j = 0; j < L; j++)
            comp[j] += w * bin[j];
        size_t top = (size_t)k + 1 < L ? (size_t)k + 1 : L - 1;
        for (size_t j = top; j > 0; j--)
            bin[j] = bin[j] * (1.0 - r) + bin[j - 1] * r;
        bin[0] *= 1.0 - r;
    }
    return mean;
}

/* The probability that a candidate in screening registers before the end of the deadline. */
static double screening_share(const pools_plan *p, double pass, double consent)
{
    double sd = p->clock.screen_days, S = p->clock.selfpay;
    double late = p->s->selfpay_screening ? consent : 1.0;
    if (!(sd > 0.0))
        return pass * (S <= 0.0 ? late : 1.0);
    double end = fmin(p->clock.window, sd), before = fmin(fmax(S, 0.0), end);
    return pass * (before + late * (end - before)) / sd;
}

/* cond_p_success, cond_mean and the units' figures of trial t, given its draws; the path must
 * have run (a trial that cannot be tabulated uses its own outcome). */
static void conditional(const pools_plan *p, const pools_work *w, size_t t, sim_batch *out)
{
    const scenario *s = p->s;
    size_t L = p->table, B = p->draws.batch;
    double pass = w->pass[t], consent = w->consent[t], cut = p->clock.window - p->clock.screen_days;
    double pi = screening_share(p, pass, consent);
    double mean = (double)s->enrolled + (double)s->screening * pi, uncapped = 0.0;
    int own_outcome = p->clock.need > 0 && L == 0;
    if (L > 0) {
        memset(w->acc, 0, L * sizeof *w->acc);
        for (size_t j = 0; j < L && (long)j <= s->screening; j++)
            w->acc[j] = gsl_ran_binomial_pdf((unsigned)j, pi, (unsigned)s->screening);
    }
    for (size_t i = 0; i < p->draws.n_sites; i++) {
        const site_spec *st = &s->site[i];
        double c = w->per_day[i], a = w->start[i];
        double m1 = c * schedule_integral(s, st, a, fmin(cut, p->clock.selfpay));
        double m2 = c * schedule_integral(s, st, fmax(a, p->clock.selfpay), cut);
        double *unit_mean = &out->unit_mean[i * B + t], *unit_none = &out->unit_p_none[i * B + t];
        double m = m1 + m2;
        if (!st->has_cap || !(m > 0.0) || (double)st->cap > poisson_high(m)) {
            double mu = pass * m1 + pass * consent * m2;
            uncapped += mu;
            mean += mu;
            *unit_mean = mu;
            *unit_none = exp(-mu);
            continue;
        }
        if ((m1 > 0.0 && m2 > 0.0) || st->cap > POOLS_MAX_TABLE) {
            /* the self-pay date inside the window, or too large a table: its own outcome */
            own_outcome = 1;
            *unit_mean = (double)w->registered[i];
            *unit_none = w->registered[i] == 0;
            mean += (double)w->registered[i];
            continue;
        }
        double r = m1 > 0.0 ? pass : pass * consent;
        if (L > 0) {
            double e = r * capped_table(w->comp, w->bin, L, m, st->cap, r);
            *unit_mean = e;
            *unit_none = w->comp[0];
            mean += e;
            convolve(w->acc, w->comp, w->tmp, L);
            continue;
        }
        /* no table (the target already met, or too far): E[min(K, C)] and
         * P(none) = E[(1 - r)^min(K, C)] directly */
        double e = 0.0, none = st->cap == 0 ? 1.0 : 0.0;
        for (long k = 0; k <= st->cap && st->cap > 0; k++) {
            double wk = k < st->cap ? poisson_pmf(k, m)
                                    : gsl_cdf_poisson_Q((unsigned)(st->cap - 1), m);
            e += (double)k * wk;
            none += wk * pow(1.0 - r, (double)k);
        }
        *unit_mean = r * e;
        *unit_none = none;
        mean += r * e;
    }
    if (own_outcome) {
        out->cond_p_success[t] = (double)(out->at_deadline[t] >= (size_t)s->target);
        out->cond_mean[t] = (double)out->at_deadline[t];
        return;
    }
    out->cond_mean[t] = mean;
    if (p->clock.need <= 0) {
        out->cond_p_success[t] = 1.0;
        return;
    }
    poisson_table(w->comp, L, uncapped);
    convolve(w->acc, w->comp, w->tmp, L);
    double below = 0.0;
    for (size_t j = 0; j < L; j++)
        below += w->acc[j];
    double ps = 1.0 - below;
    out->cond_p_success[t] = ps < 0.0 ? 0.0 : ps > 1.0 ? 1.0 : ps;
}

void pools_batch(const void *plan, const sim_streams *rng, void *work, size_t n,
                 sim_batch *out)
{
    const pools_plan *p = plan;
    pools_work w = work_of(p, work);
    draws_rows rows = {w.pass, w.consent, w.rate, w.starts, w.scratch};
    draws_fill(&p->draws, rng->draws, &rows, n);
    for (size_t t = 0; t < n; t++) {
        for (size_t i = 0; i < p->draws.n_sites; i++) {
            size_t j = p->draws.rank[i];
            long u = p->draws.uncertain_of[j];
            w.per_day[i] = w.rate[j * p->draws.batch + t] / DAYS_PER_YEAR;
            w.start[i] = u >= 0 ? w.starts[(size_t)u * p->draws.batch + t]
                                : (double)draws_activation_day(p->s, i);
        }
        run_path(p, &w, rng->path, t, out);
        conditional(p, &w, t, out);
    }
    out->pmf_lo = out->pmf_hi = 0;
}
