/* The Poisson-gamma accrual model, simulated interval by interval (DESIGN.md sections 2 and 5).
 *
 * Time u runs in days from the start of as_of. Registrations come from two sources:
 *  - candidates already in screening: each passes with probability p and is registered at a
 *    time uniform on [0, screen_days) (at 0 when screen_days is 0);
 *  - referrals: site s refers as a Poisson process of rate lambda_s per year from its activation
 *    a_s; a referral at t is registered at t + screen_days with probability p, times q (self-pay
 *    consent) when t >= selfpay_from. Thinning keeps it Poisson, so registrations from referrals
 *    form a Poisson process with piecewise-constant intensity and cumulative intensity LAMBDA(u),
 *    piecewise linear between "points" (activations, the self-pay date and checkpoints, all
 *    shifted by screen_days).
 * Given the trial's drawn rates and probabilities, referral registrations by the deadline number
 * Poisson(M), M = LAMBDA(deadline), and given their number they are independent with
 * distribution function LAMBDA(u) / M (the order statistics property of a Poisson process). So
 * a trial draws the number from the conditional pmf it computes anyway and splits it over the
 * checkpoint intervals by each one's share of M; for large M it draws one Poisson count per
 * interval instead. The target is reached inside an interval holding n arrivals at the j-th of
 * them: LAMBDA^-1 of the j-th of n uniform order statistics across the interval's increment,
 * a Beta(j, n - j + 1) fraction (David and Nagaraja 2003, 2.2). Past the last interval the
 * r-th further arrival lies at LAMBDA^-1(LAMBDA(end) + Gamma(r, 1)) (time change of a Poisson
 * process to unit rate; Cinlar 1975, "Introduction to Stochastic Processes", 4.2). */
#include "accrual.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include "../engine/rng.h"
#include "../engine/sample.h"
#include "../engine/simd.h"
#include "../engine/vmath.h"
#include "exact.h"

#define DAYS_PER_YEAR SCENARIO_DAYS_PER_YEAR
/* A gamma rate above this quantile is treated as beyond the conditional distribution's range:
 * the truncated mass is below n_sites * 1e-10. */
#define RATE_QUANTILE_CAP (1.0 - 1e-10)
/* Expected registrations beyond which a scenario is refused, and the longest conditional
 * distribution the engine is asked to tabulate (beyond it, the table of counts comes from the
 * simulated histogram while P(success) stays conditional). */
#define ACCRUAL_MAX_MEAN 1e8
#define ACCRUAL_MAX_TABLE ((size_t)1 << 16)
/* Conditional pmf terms below this (past the mean) end the window: the neglected tail is of the
 * same order (the terms fall at least geometrically there), far below any Monte Carlo standard
 * error a run can reach (5e-7 at the most trials allowed, 1e12). */
#define POISSON_TAIL_EPS 1e-14
/* Trials whose rates and probabilities are drawn together: vectorised samplers need a few
 * dozen draws of one distribution at a time to pay off. */
#define ACCRUAL_BATCH 64
/* Up to this conditional mean of referral registrations by the deadline, a trial draws their
 * total from the conditional pmf it computes anyway and splits it over the checkpoint
 * intervals (referrals_by_split); above, it draws one Poisson count per interval. */
#define POINTS_MAX_MEAN 64.0

struct accrual_plan {
    const scenario *s;
    long W;                   /* days in the window: deadline - as_of + 1 */
    long sd;                  /* screen_days */
    long H;                   /* days followed for completion (window plus horizon) */
    size_t n_cp;              /* checkpoints; the last is the deadline */
    date_t *cp_date;
    size_t n_seg;             /* counting intervals: the checkpoints, then [W, sd) if sd > W */
    size_t *seg_point;        /* index in pt[] of each interval's end */
    size_t n_pt;
    double *pt;               /* sorted distinct points, pt[0] = 0 */
    size_t *pt_active;        /* sites (in activation order) registering by pt[i] */
    unsigned char *pt_selfpay;/* referrals registered from pt[i] on are under self-pay */
    size_t w_point;           /* index of W in pt[] */
    size_t *order;            /* sites sorted by activation: order[j] = site index */
    sample_gamma *rate_law;   /* per site in activation order: its rate's gamma (if uncertain) */
    sample_beta pass_law, consent_law;
    double *A_w, *B_w;        /* per site: days of referral counted by W before / after self-pay */
    double *inv;              /* inv[k] = 1 / k for k < n_inv, for the Poisson pmf recurrence */
    double *inv4;             /* inv4[k] = 1 / ((k+1)(k+2)(k+3)(k+4)) for k + 4 < n_inv */
    size_t n_inv;
    size_t batch;             /* trials whose rates and probabilities are drawn together */
    size_t window_cap;        /* the longest conditional pmf window a trial writes */
    size_t table_cap;         /* counts the engine tabulates (0: none, see sim_model) */
    size_t work_bytes;
};

/* Per-thread scratch. For the trial at hand: the running sums of its rates (activation order),
 * LAMBDA at the points, the conditional pmf, the words that place its referral registrations.
 * For the batch: the drawn probabilities and rates of its trials (rates site-major, in
 * activation order: b_rate[j * batch + t]), the sites' means and P(none) laid out alike, and
 * scratch for the beta draws. */
typedef struct work_layout {
    double *cum, *Lam, *pmf, *points;
    double *b_pass, *b_consent, *b_scratch, *b_rate, *b_mean, *b_p_none;
} work_layout;

static size_t work_doubles(const accrual_plan *p)
{
    size_t n = p->s->n_sites;
    return n + 1 + p->n_pt + 2 * p->window_cap + (3 + 3 * n) * p->batch;
}

static work_layout work_of(const accrual_plan *p, void *work)
{
    size_t n = p->s->n_sites;
    work_layout l;
    l.cum = work;
    l.Lam = l.cum + n + 1;
    l.pmf = l.Lam + p->n_pt;
    l.points = l.pmf + p->window_cap;
    l.b_pass = l.points + p->window_cap;
    l.b_consent = l.b_pass + p->batch;
    l.b_scratch = l.b_consent + p->batch;
    l.b_rate = l.b_scratch + p->batch;
    l.b_mean = l.b_rate + n * p->batch;
    l.b_p_none = l.b_mean + n * p->batch;
    return l;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static long lmax(long a, long b) { return a > b ? a : b; }

/* Day offsets from as_of, clamped at 0: activity or self-pay before as_of starts at as_of. */
static long activation_day(const accrual_plan *p, size_t site)
{
    return lmax(0, (long)p->s->site[site].active_from - (long)p->s->as_of);
}

static long selfpay_day(const accrual_plan *p)
{
    return lmax(0, (long)p->s->selfpay_from - (long)p->s->as_of);
}

/* ---- plan construction ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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
static int sort_by_activation(const accrual_plan *p, size_t *order)
{
    size_t n = p->s->n_sites;
    site_key *key = malloc((n + 1) * sizeof *key);
    if (!key)
        return -1;
    for (size_t i = 0; i < n; i++)
        key[i] = (site_key){activation_day(p, i), i};
    qsort(key, n, sizeof *key, cmp_site_key);
    for (size_t i = 0; i < n; i++)
        order[i] = key[i].site;
    free(key);
    return 0;
}

static int build_checkpoints(accrual_plan *p)
{
    const scenario *s = p->s;
    size_t cap = 2;
    for (date_t d = s->as_of; d <= s->deadline; d = date_add_months(d, s->review_months))
        cap++;
    p->cp_date = malloc(cap * sizeof *p->cp_date);
    if (!p->cp_date)
        return -1;
    p->n_cp = 0;
    for (int k = 1;; k++) {
        date_t d = date_add_months(s->as_of, k * s->review_months);
        if (d > s->deadline)
            break;
        p->cp_date[p->n_cp++] = d;
    }
    if (p->n_cp == 0 || p->cp_date[p->n_cp - 1] != s->deadline)
        p->cp_date[p->n_cp++] = s->deadline;
    return 0;
}

static size_t point_index(const accrual_plan *p, double u)
{
    const double *hit = bsearch(&u, p->pt, p->n_pt, sizeof *p->pt, cmp_double);
    return (size_t)(hit - p->pt);
}

static int build_points(accrual_plan *p)
{
    const scenario *s = p->s;
    size_t cap = s->n_sites + p->n_cp + 4;
    p->pt = malloc(cap * sizeof *p->pt);
    if (!p->pt)
        return -1;
    size_t n = 0;
    p->pt[n++] = 0.0;
    p->pt[n++] = (double)p->sd;
    p->pt[n++] = (double)(selfpay_day(p) + p->sd);
    for (size_t i = 0; i < s->n_sites; i++)
        p->pt[n++] = (double)(activation_day(p, i) + p->sd);
    for (size_t k = 0; k < p->n_cp; k++)
        p->pt[n++] = (double)(p->cp_date[k] - s->as_of + 1);
    qsort(p->pt, n, sizeof *p->pt, cmp_double);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || p->pt[i] != p->pt[m - 1])
            p->pt[m++] = p->pt[i];
    p->n_pt = m;
    return 0;
}

static int build_sites(accrual_plan *p)
{
    const scenario *s = p->s;
    size_t n = s->n_sites;
    p->order = malloc((n + 1) * sizeof *p->order);
    p->A_w = malloc((n + 1) * sizeof *p->A_w);
    p->B_w = malloc((n + 1) * sizeof *p->B_w);
    p->pt_active = malloc(p->n_pt * sizeof *p->pt_active);
    p->pt_selfpay = malloc(p->n_pt);
    if (!p->order || !p->A_w || !p->B_w || !p->pt_active || !p->pt_selfpay)
        return -1;
    p->rate_law = malloc((n + 1) * sizeof *p->rate_law);
    if (!p->rate_law)
        return -1;
    if (sort_by_activation(p, p->order) != 0)
        return -1;
    for (size_t j = 0; j < n; j++) {
        const site_spec *st = &s->site[p->order[j]];
        if (st->shape > 0.0)
            p->rate_law[j] = sample_gamma_init(st->shape, st->rate / st->shape);
    }
    /* The exposures by the deadline are the exact mode's, so that the two cannot disagree. */
    for (size_t i = 0; i < n; i++)
        exact_site_exposure(s, i, &p->A_w[i], &p->B_w[i]);
    double f = (double)selfpay_day(p);
    size_t j = 0;
    for (size_t i = 0; i < p->n_pt; i++) {
        while (j < n && (double)(activation_day(p, p->order[j]) + p->sd) <= p->pt[i])
            j++;
        p->pt_active[i] = j;
        p->pt_selfpay[i] = p->pt[i] >= f + (double)p->sd;
    }
    return 0;
}

static int build_segments(accrual_plan *p)
{
    p->n_seg = p->n_cp + (p->sd > p->W);
    p->seg_point = malloc(p->n_seg * sizeof *p->seg_point);
    if (!p->seg_point)
        return -1;
    for (size_t k = 0; k < p->n_cp; k++)
        p->seg_point[k] = point_index(p, (double)(p->cp_date[k] - p->s->as_of + 1));
    if (p->sd > p->W)
        p->seg_point[p->n_cp] = point_index(p, (double)p->sd);
    p->w_point = p->seg_point[p->n_cp - 1];
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
static double mean_upper(const accrual_plan *p)
{
    const scenario *s = p->s;
    double m = 0.0;
    for (size_t i = 0; i < s->n_sites; i++)
        m += rate_upper(&s->site[i]) * (p->A_w[i] + p->B_w[i]) / DAYS_PER_YEAR;
    return m;
}

/* The window of poisson_window: from 0 when M < 30 (at most M + 8 sqrt(M) + 20 terms before
 * they fall below POISSON_TAIL_EPS), else from M - 10 sqrt(M) - 5 to about M + 8 sqrt(M). */
static size_t window_length(double m_hi)
{
    return (size_t)ceil(20.0 * sqrt(m_hi) + 100.0);
}

static int build_conditional(accrual_plan *p)
{
    double m_hi = mean_upper(p);
    if (!isfinite(m_hi) || m_hi > ACCRUAL_MAX_MEAN)
        return -1;
    p->window_cap = window_length(m_hi);
    double table = (double)p->s->enrolled + (double)p->s->screening + m_hi +
                   12.0 * sqrt(m_hi) + 40.0;
    p->table_cap = table <= (double)ACCRUAL_MAX_TABLE ? (size_t)ceil(table) + 1 : 0;
    p->n_inv = (size_t)ceil(m_hi + 12.0 * sqrt(m_hi) + 100.0);
    if (p->n_inv > ACCRUAL_MAX_TABLE)
        p->n_inv = ACCRUAL_MAX_TABLE;
    p->inv = malloc(p->n_inv * sizeof *p->inv);
    p->inv4 = malloc(p->n_inv * sizeof *p->inv4);
    if (!p->inv || !p->inv4)
        return -1;
    p->inv[0] = 0.0;
    for (size_t k = 1; k < p->n_inv; k++)
        p->inv[k] = 1.0 / (double)k;
    for (size_t k = 0; k + 4 < p->n_inv; k++)
        p->inv4[k] = p->inv[k + 1] * p->inv[k + 2] * (p->inv[k + 3] * p->inv[k + 4]);
    return 0;
}

/* Trials per batch: up to ACCRUAL_BATCH, fewer when many sites would make the batch's rates
 * outgrow the cache (about 16 kB of them). */
static size_t batch_size(size_t n_sites)
{
    size_t b = 2048 / (n_sites + 3);
    return b < 1 ? 1 : b > ACCRUAL_BATCH ? ACCRUAL_BATCH : b;
}

accrual_plan *accrual_plan_new(const scenario *s, char *err, size_t errlen)
{
    accrual_plan *p = calloc(1, sizeof *p);
    if (!p) {
        set_err(err, errlen, "out of memory preparing the model");
        return NULL;
    }
    p->s = s;
    p->W = scenario_window_days(s);
    p->sd = s->screen_days;
    p->H = scenario_followed_days(s);
    if (build_checkpoints(p) || build_points(p) || build_sites(p) || build_segments(p)) {
        accrual_plan_free(p);
        set_err(err, errlen, "out of memory preparing the model");
        return NULL;
    }
    if (s->screen_pass.is_beta)
        p->pass_law = sample_beta_init(s->screen_pass.a, s->screen_pass.b);
    if (s->selfpay_consent.is_beta)
        p->consent_law = sample_beta_init(s->selfpay_consent.a, s->selfpay_consent.b);
    if (build_conditional(p) != 0) {
        accrual_plan_free(p);
        set_err(err, errlen, "the sites' rates allow more than 1e8 expected registrations by the "
                "deadline, beyond what accrue computes; expected smaller rates or a shorter window");
        return NULL;
    }
    p->batch = batch_size(s->n_sites);
    p->work_bytes = work_doubles(p) * sizeof(double);
    return p;
}

void accrual_plan_free(accrual_plan *p)
{
    if (!p)
        return;
    free(p->cp_date);
    free(p->seg_point);
    free(p->pt);
    free(p->pt_active);
    free(p->pt_selfpay);
    free(p->order);
    free(p->rate_law);
    free(p->A_w);
    free(p->B_w);
    free(p->inv);
    free(p->inv4);
    free(p);
}

size_t accrual_n_checkpoints(const accrual_plan *p) { return p->n_cp; }
date_t accrual_checkpoint_date(const accrual_plan *p, size_t k) { return p->cp_date[k]; }
long accrual_n_days(const accrual_plan *p) { return p->H; }

sim_model accrual_sim_model(const accrual_plan *p)
{
    sim_model m = {
        .ctx = p,
        .trial = accrual_trial,
        .work_bytes = p->work_bytes,
        .target = (size_t)p->s->target,
        .n_checkpoints = p->n_cp,
        .n_days = p->H,
        .n_units = p->s->n_sites,
        .cond_cap = p->table_cap,
        .has_control = 1,
        .control_mean = exact_mean(p->s),
    };
    return m;
}

/* ---- one trial ---- */

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

/* What the batch's drawn values imply for each site, exactly: its registrations by the
 * deadline are Poisson with mean pass/year x rate x (days referred before self-pay + consent x
 * days after), so none with probability exp(-mean). Site-major, like the rates. */
SIMD_CLONES
static void site_outcomes(const accrual_plan *p, work_layout *w)
{
    size_t b = p->batch;
    for (size_t j = 0; j < p->s->n_sites; j++) {
        size_t i = p->order[j];
        double A = p->A_w[i], B = p->B_w[i];
        const double *rate = w->b_rate + j * b, *pass = w->b_pass, *consent = w->b_consent;
        double *mean = w->b_mean + j * b, *p_none = w->b_p_none + j * b;
#pragma omp simd
        for (size_t t = 0; t < b; t++) {
            double mu = pass[t] / DAYS_PER_YEAR * rate[t] * (A + consent[t] * B);
            mean[t] = mu;
            p_none[t] = vmath_exp(-mu);
        }
    }
}

/* Draws the probabilities and rates of the next p->batch trials (gamma with mean `rate` and
 * shape k has scale rate/k), each distribution's draws together so that they vectorise. */
static void draw_batch(const accrual_plan *p, gsl_rng *r, work_layout *w)
{
    const scenario *s = p->s;
    size_t b = p->batch;
    fill_prob(r, &s->screen_pass, &p->pass_law, w->b_pass, w->b_scratch, b);
    fill_prob(r, &s->selfpay_consent, &p->consent_law, w->b_consent, w->b_scratch, b);
    for (size_t j = 0; j < s->n_sites; j++) {
        const site_spec *st = &s->site[p->order[j]];
        double *dst = w->b_rate + j * b;
        if (st->shape > 0.0) {
            sample_gamma_fill(r, &p->rate_law[j], dst, b);
        } else {
            for (size_t t = 0; t < b; t++)
                dst[t] = st->rate;
        }
    }
    site_outcomes(p, w);
}

/* The running sums of the batch's trial t's rates, in activation order. */
static void take_rates(const accrual_plan *p, work_layout *w, size_t t)
{
    w->cum[0] = 0.0;
    for (size_t j = 0; j < p->s->n_sites; j++)
        w->cum[j + 1] = w->cum[j] + w->b_rate[j * p->batch + t];
}

/* LAMBDA(u) at every point: the integral of the registration intensity, per day, of referrals. */
static void cumulative_intensity(const accrual_plan *p, double pass, double consent, work_layout *w)
{
    double c = pass / DAYS_PER_YEAR;
    w->Lam[0] = 0.0;
    for (size_t i = 0; i + 1 < p->n_pt; i++) {
        double slope = c * w->cum[p->pt_active[i]] * (p->pt_selfpay[i] ? consent : 1.0);
        w->Lam[i + 1] = w->Lam[i] + slope * (p->pt[i + 1] - p->pt[i]);
    }
}

/* The time u >= pt[from] at which LAMBDA reaches y >= Lam[from]; INFINITY if it never does. */
static double invert_intensity(const accrual_plan *p, const work_layout *w, size_t from,
                               double y, double final_slope)
{
    size_t i = from;
    while (i + 1 < p->n_pt && w->Lam[i + 1] <= y)
        i++;
    if (i + 1 < p->n_pt)
        return p->pt[i] + (y - w->Lam[i]) / (w->Lam[i + 1] - w->Lam[i]) * (p->pt[i + 1] - p->pt[i]);
    if (!(final_slope > 0.0))
        return INFINITY;
    return p->pt[i] + (y - w->Lam[i]) / final_slope;
}

static long day_of(const accrual_plan *p, double u)
{
    return u < (double)p->H ? (long)floor(u) : p->H;
}

/* The Poisson(M) pmf from term k0 (whose value is v) on, into pmf[0 .. n-1], n <= room, ending
 * past the mean once a term falls below POISSON_TAIL_EPS. The ratio recurrence
 * pmf(k+1) = pmf(k) M / (k+1) is a chain of dependent multiplications; four chains side by side,
 * pmf(k+4) = pmf(k) M^4 / ((k+1)(k+2)(k+3)(k+4)), keep the multiplier busy and vectorise. Each
 * term's relative rounding error grows by a few eps every four terms instead of every term. */
static size_t poisson_terms(const accrual_plan *p, double M, size_t k0, double v, double *pmf,
                            size_t room)
{
    size_t n = 0;
    for (; n < 4 && n < room; n++) {
        pmf[n] = v;
        size_t k = k0 + n + 1;
        v *= k < p->n_inv ? M * p->inv[k] : M / (double)k;
    }
    double M4 = (M * M) * (M * M);
    while (n + 4 <= room && k0 + n + 4 < p->n_inv) {
        if ((double)(k0 + n - 1) > M && pmf[n - 1] < POISSON_TAIL_EPS)
            return n;
        const double *inv4 = p->inv4 + k0 + n - 4;
        /* M^4 / ((k+1)..(k+4)) first: it does not wait for the previous term. */
        for (size_t i = 0; i < 4; i++)
            pmf[n + i] = pmf[n - 4 + i] * (M4 * inv4[i]);
        n += 4;
    }
    /* Past the table (rates beyond their upper bounds, probability below 1e-10 per site): one
     * term at a time. */
    for (size_t k = k0 + n; n < room; k++, n++) {
        if ((double)(k - 1) > M && pmf[n - 1] < POISSON_TAIL_EPS)
            break;
        pmf[n] = pmf[n - 1] * (M / (double)k);
    }
    return n;
}

/* Poisson(M) pmf on [*lo, *lo + n), n <= room, by the ratio recurrence pmf(k+1) = pmf(k) M/(k+1)
 * started where the mass begins: at 0 for small M, else 10 standard deviations below the mean
 * (the mass below is under 1e-20), from the log pmf there. It ends past the mean once terms fall
 * below POISSON_TAIL_EPS, or when room runs out (a trial whose rates exceed their upper bounds:
 * probability below 1e-10 per site). */
static size_t poisson_window(const accrual_plan *p, double M, double *pmf, size_t room, size_t *lo)
{
    *lo = 0;
    if (!(M > 0.0)) {
        pmf[0] = 1.0;
        return 1;
    }
    size_t k0 = 0;
    double v;
    if (M < 30.0) {
        v = exp(-M);
    } else {
        k0 = (size_t)fmax(0.0, floor(M - 10.0 * sqrt(M) - 5.0));
        v = exp(-M + (double)k0 * log(M) - lgamma((double)k0 + 1.0));
    }
    *lo = k0;
    size_t n = poisson_terms(p, M, k0, v, pmf, room);
    if (M >= 30.0) {
        /* The starting term carries the rounding of lgamma and log at large arguments (a
         * relative 1e-9 at M = 1e6); the window holds all but 1e-14 of the mass, so
         * normalising it removes that error. */
        double mass = 0.0;
        for (size_t i = 0; i < n; i++)
            mass += pmf[i];
        for (size_t i = 0; i < n; i++)
            pmf[i] /= mass;
    }
    return n;
}

/* Candidates in screening registered in [lo, hi), given `*left` not yet placed over the
 * remaining `*left_len` days of [0, sd): a binomial share by length. */
static unsigned long screening_in(const accrual_plan *p, gsl_rng *r, double lo, double hi,
                                  unsigned long *left, double *left_len)
{
    if (*left == 0)
        return 0;
    unsigned long m;
    if (p->sd == 0) {
        m = *left;
    } else {
        double overlap = fmax(0.0, fmin(hi, (double)p->sd) - lo);
        m = overlap >= *left_len ? *left : sample_binomial(r, overlap / *left_len, *left);
        *left_len -= overlap;
    }
    *left -= m;
    return m;
}

/* What a trial's path is made of: registrations of candidates already in screening (all in
 * [0, sd), before any referral's, which start at sd) and of referrals, counted by checkpoint. */
typedef struct path {
    unsigned long need;       /* registrations still needed at as_of */
    unsigned long screened;   /* screening registrations, all of them */
    unsigned long screened_by_w;
    unsigned long referred;   /* referral registrations by the deadline */
    double when;              /* time of the target's registration, INFINITY while unknown */
    double y_cross;           /* LAMBDA-value of the registration that reaches the target, when
                                 it is a referral's by the deadline; INFINITY otherwise */
} path;

/* Screening registrations: how many pass, how they spread over the intervals, and the time
 * of the target's registration when it is one of them (the j-th of n uniform on the interval's
 * overlap with [0, sd): a uniform order statistic). Writes their running count by checkpoint
 * into at_checkpoint. */
static void screening_path(const accrual_plan *p, gsl_rng *r, double pass, path *pa,
                           size_t *at_checkpoint)
{
    unsigned long left = sample_binomial(r, pass, (unsigned long)p->s->screening);
    double left_len = (double)p->sd;
    unsigned long done = 0;
    pa->screened = left;
    size_t prev = 0;
    for (size_t k = 0; k < p->n_seg; k++) {
        size_t end = p->seg_point[k];
        unsigned long n = screening_in(p, r, p->pt[prev], p->pt[end], &left, &left_len);
        if (pa->when == INFINITY && n > 0 && done + n >= pa->need) {
            double start = p->pt[prev];
            double len = fmin(p->pt[end], (double)p->sd) - start;
            pa->when = p->sd == 0 ? start
                                  : start + len * sample_uniform_order_stat(r, pa->need - done, n);
        }
        done += n;
        if (k < p->n_cp)
            at_checkpoint[k] = done;
        prev = end;
    }
    pa->screened_by_w = at_checkpoint[p->n_cp - 1];
}

/* Referral registrations by the deadline from the conditional pmf the trial has computed: their
 * number N by inversion of the pmf (one uniform); then, as given N they are independent with
 * distribution function LAMBDA(u) / M over the window (the order statistics property of a
 * Poisson process), each falls in checkpoint interval k with probability
 * (LAMBDA(end k) - LAMBDA(start k)) / M, decided by one 32-bit word against the interval's
 * edges scaled to 2^32 (probabilities within 2^-32 of exact). Adds the running counts to
 * at_checkpoint and sets y_cross when the r-th referral registration is the target's. */
static void referrals_by_split(const accrual_plan *p, gsl_rng *r, work_layout *w,
                               const double *pmf, size_t len, size_t lo, path *pa,
                               size_t *at_checkpoint)
{
    rng_state *st = (rng_state *)r->state;
    double u = rng_uniform(r), cdf = 0.0, M = w->Lam[p->w_point];
    size_t i = 0;
    while (i + 1 < len && u >= (cdf += pmf[i]))
        i++;
    size_t n = lo + i;
    uint32_t *word = (uint32_t *)w->points;
    rng_state_words(st, word, n);
    unsigned long rr = pa->need > pa->screened ? pa->need - pa->screened : 0;
    size_t before = 0;
    double to_words = 4294967296.0 / M;
    for (size_t k = 0; k < p->n_cp; k++) {
        size_t by = n;
        double e = w->Lam[p->seg_point[k]] * to_words;
        if (k + 1 < p->n_cp && e < 4294967295.0) {
            uint32_t edge = (uint32_t)e;
            uint32_t b = 0;
#pragma omp simd reduction(+ : b)
            for (size_t m = 0; m < n; m++)
                b += word[m] < edge;
            by = b;
        }
        at_checkpoint[k] += by;
        if (rr > before && rr <= by) {
            double from = k ? w->Lam[p->seg_point[k - 1]] : 0.0;
            double to = k + 1 < p->n_cp ? w->Lam[p->seg_point[k]] : M;
            double f = sample_uniform_order_stat(r, rr - before, by - before);
            pa->y_cross = from + (to - from) * f;
        }
        before = by;
    }
    pa->referred = n;
}

/* Referral registrations by the deadline as one Poisson draw per checkpoint interval, for
 * large conditional means: the target's registration, when in interval k with n arrivals, is
 * at LAMBDA-value Lam(start) + mu B with B the j-th of n uniform order statistics. */
static void referrals_by_intervals(const accrual_plan *p, gsl_rng *r, const work_layout *w,
                                   path *pa, size_t *at_checkpoint)
{
    unsigned long rr = pa->need > pa->screened ? pa->need - pa->screened : 0, total = 0;
    size_t prev = 0;
    for (size_t k = 0; k < p->n_cp; k++) {
        size_t end = p->seg_point[k];
        double mu = w->Lam[end] - w->Lam[prev];
        unsigned long n = sample_poisson(r, mu);
        if (rr > total && rr <= total + n)
            pa->y_cross = w->Lam[prev] + mu * sample_uniform_order_stat(r, rr - total, n);
        total += n;
        at_checkpoint[k] += total;
        prev = end;
    }
    pa->referred = total;
}

/* The day the target is reached, from what the path has set: a screening registration's time,
 * a referral's LAMBDA-value by the deadline, or else LAMBDA(W) plus a Gamma(r, 1) step for the
 * r further registrations still needed (time change to a unit-rate process). */
static long completion_day(const accrual_plan *p, gsl_rng *r, const work_layout *w,
                           const path *pa, double final_slope)
{
    if (pa->need == 0)
        return -1;
    double when = pa->when;
    if (when == INFINITY && pa->y_cross < INFINITY)
        when = invert_intensity(p, w, 0, pa->y_cross, final_slope);
    if (when == INFINITY) {
        unsigned long rr = pa->need - pa->screened - pa->referred;
        double y = w->Lam[p->w_point] + sample_gamma1(r, (double)rr);
        when = invert_intensity(p, w, p->w_point, y, final_slope);
    }
    return day_of(p, when);
}

/* The batch's trial t's per-site outcomes, into the engine's arrays (in file order). */
static void copy_site_outcomes(const accrual_plan *p, const work_layout *w, size_t t,
                               sim_outcome *out)
{
    for (size_t j = 0; j < p->s->n_sites; j++) {
        size_t i = p->order[j];
        out->unit_mean[i] = w->b_mean[j * p->batch + t];
        out->unit_p_none[i] = w->b_p_none[j * p->batch + t];
    }
}

void accrual_trial(const void *plan, gsl_rng *r, void *work, uint64_t index, sim_outcome *out)
{
    const accrual_plan *p = plan;
    const scenario *s = p->s;
    work_layout w = work_of(p, work);
    size_t t = (size_t)(index % p->batch);
    if (t == 0)
        draw_batch(p, r, &w);
    double pass = w.b_pass[t], consent = w.b_consent[t];
    take_rates(p, &w, t);
    cumulative_intensity(p, pass, consent, &w);
    double final_slope = pass / DAYS_PER_YEAR * consent * w.cum[s->n_sites];
    double M = w.Lam[p->w_point];
    size_t lo, len = poisson_window(p, M, w.pmf, p->window_cap, &lo);

    path pa = {.need = s->enrolled < s->target ? (unsigned long)(s->target - s->enrolled) : 0,
               .when = INFINITY, .y_cross = INFINITY};
    if (pa.need == 0)
        pa.when = -1.0;
    screening_path(p, r, pass, &pa, out->at_checkpoint);
    if (M <= POINTS_MAX_MEAN && lo == 0)   /* lo is 0 below a mean of 100: see poisson_window */
        referrals_by_split(p, r, &w, w.pmf, len, lo, &pa, out->at_checkpoint);
    else
        referrals_by_intervals(p, r, &w, &pa, out->at_checkpoint);
    for (size_t k = 0; k < p->n_cp; k++)
        out->at_checkpoint[k] += (size_t)s->enrolled;
    out->at_deadline = out->at_checkpoint[p->n_cp - 1];
    out->completion_day = completion_day(p, r, &w, &pa, final_slope);
    out->cond_pmf = w.pmf;
    out->cond_len = len;
    out->cond_first = (size_t)s->enrolled + pa.screened_by_w + lo;
    copy_site_outcomes(p, &w, t, out);
}
