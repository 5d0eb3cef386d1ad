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
 * Counts in a checkpoint interval are one Poisson draw of LAMBDA's increment. The target is
 * reached inside an interval holding n arrivals at the j-th of them; given n, arrivals are
 * independent with distribution function LAMBDA(u) / LAMBDA-increment across the interval, so the
 * j-th is LAMBDA^-1 of a Beta(j, n - j + 1) fraction of the increment. Past the last interval the
 * r-th further arrival lies at LAMBDA^-1(LAMBDA(end) + Gamma(r, 1)) (time change of a Poisson
 * process to unit rate; Cinlar 1975, "Introduction to Stochastic Processes", 4.2). */
#include "accrual.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include "../engine/sample.h"
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
    size_t n_inv;
    size_t window_cap;        /* the longest conditional pmf window a trial writes */
    size_t table_cap;         /* counts the engine tabulates (0: none, see sim_model) */
    size_t work_bytes;
};

/* Per-thread scratch: drawn rates (activation order), LAMBDA at the points, the conditional pmf. */
typedef struct work_layout {
    double *lambda, *cum, *Lam, *pmf;
} work_layout;

static work_layout work_of(const accrual_plan *p, void *work)
{
    double *w = work;
    work_layout l;
    l.lambda = w;
    l.cum = l.lambda + p->s->n_sites;
    l.Lam = l.cum + p->s->n_sites + 1;
    l.pmf = l.Lam + p->n_pt;
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
    if (!p->inv)
        return -1;
    p->inv[0] = 0.0;
    for (size_t k = 1; k < p->n_inv; k++)
        p->inv[k] = 1.0 / (double)k;
    return 0;
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
    p->work_bytes = (2 * s->n_sites + 1 + p->n_pt + p->window_cap) * sizeof(double);
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

static double draw_prob(gsl_rng *r, const prob_spec *ps, const sample_beta *law)
{
    return ps->is_beta ? sample_beta_draw(r, law) : ps->value;
}

/* Draws the rates in activation order (gamma with mean `rate` and shape k has scale rate/k) and
 * their running sums. */
static void draw_rates(const accrual_plan *p, gsl_rng *r, work_layout *w)
{
    const site_spec *site = p->s->site;
    w->cum[0] = 0.0;
    for (size_t j = 0; j < p->s->n_sites; j++) {
        const site_spec *st = &site[p->order[j]];
        double lambda = st->shape > 0.0 ? sample_gamma_draw(r, &p->rate_law[j]) : st->rate;
        w->lambda[j] = lambda;
        w->cum[j + 1] = w->cum[j] + lambda;
    }
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

/* Screening candidates registered in [lo, hi), given `*left` not yet placed over the remaining
 * `*left_len` days of [0, sd): a binomial share by length. */
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

/* The time the target is reached as the j-th registration of the interval [pt[lo], pt[hi])
 * holding n_screen screening registrations (all before any referral registration, which start at
 * sd) then n_ref referral registrations with LAMBDA-increment mu. */
static double crossing_time(const accrual_plan *p, gsl_rng *r, const work_layout *w, size_t lo,
                            size_t hi, unsigned long j, unsigned long n_screen,
                            unsigned long n_ref, double mu, double final_slope)
{
    double start = p->pt[lo];
    if (j <= n_screen) {
        if (p->sd == 0)
            return start;
        double len = fmin(p->pt[hi], (double)p->sd) - start;
        return start + len * sample_uniform_order_stat(r, j, n_screen);
    }
    double y = w->Lam[lo] + mu * sample_uniform_order_stat(r, j - n_screen, n_ref);
    return invert_intensity(p, w, lo, y, final_slope);
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
    size_t n = 0;
    for (size_t k = k0; n < room; k++) {
        pmf[n++] = v;
        v *= k + 1 < p->n_inv ? M * p->inv[k + 1] : M / (double)(k + 1);
        if ((double)k > M && v < POISSON_TAIL_EPS)
            break;
    }
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

/* What the trial's drawn values imply, exactly: given the rates, the probabilities and the
 * screening registrations by the deadline, referral registrations by the deadline are
 * Poisson(LAMBDA(W)) and a site's are Poisson with its share. */
static void conditional_outcome(const accrual_plan *p, const work_layout *w, double pass,
                                double consent, unsigned long screened_by_w, sim_outcome *out)
{
    const scenario *s = p->s;
    size_t offset = (size_t)s->enrolled + screened_by_w, lo;
    out->cond_len = poisson_window(p, w->Lam[p->w_point], w->pmf, p->window_cap, &lo);
    out->cond_pmf = w->pmf;
    out->cond_first = offset + lo;
    double c = pass / DAYS_PER_YEAR;
    for (size_t j = 0; j < s->n_sites; j++) {
        size_t i = p->order[j];
        double mu = c * w->lambda[j] * (p->A_w[i] + consent * p->B_w[i]);
        out->unit_mean[i] = mu;
        out->unit_p_none[i] = exp(-mu);
    }
}

void accrual_trial(const void *plan, gsl_rng *r, void *work, sim_outcome *out)
{
    const accrual_plan *p = plan;
    const scenario *s = p->s;
    work_layout w = work_of(p, work);
    double pass = draw_prob(r, &s->screen_pass, &p->pass_law);
    double consent = draw_prob(r, &s->selfpay_consent, &p->consent_law);
    draw_rates(p, r, &w);
    cumulative_intensity(p, pass, consent, &w);
    double final_slope = pass / DAYS_PER_YEAR * consent * w.cum[s->n_sites];

    unsigned long screen_left =
        sample_binomial(r, pass, (unsigned long)s->screening);
    double screen_len = (double)p->sd;
    unsigned long count = (unsigned long)s->enrolled, target = (unsigned long)s->target;
    unsigned long screened_by_w = 0;
    int reached = count >= target;
    double when = reached ? -1.0 : INFINITY;
    size_t prev = 0;
    for (size_t k = 0; k < p->n_seg; k++) {
        size_t end = p->seg_point[k];
        unsigned long n_screen =
            screening_in(p, r, p->pt[prev], p->pt[end], &screen_left, &screen_len);
        double mu = w.Lam[end] - w.Lam[prev];
        unsigned long n_ref = sample_poisson(r, mu);
        if (!reached && count + n_screen + n_ref >= target) {
            when = crossing_time(p, r, &w, prev, end, target - count, n_screen, n_ref, mu,
                                 final_slope);
            reached = 1;
        }
        count += n_screen + n_ref;
        if (k < p->n_cp) {
            out->at_checkpoint[k] = count;
            screened_by_w += n_screen;
        }
        prev = end;
    }
    out->at_deadline = out->at_checkpoint[p->n_cp - 1];
    if (!reached) {
        double y = w.Lam[prev] + sample_gamma1(r, (double)(target - count));
        when = invert_intensity(p, &w, prev, y, final_slope);
    }
    out->completion_day = when < 0.0 ? -1 : day_of(p, when);
    conditional_outcome(p, &w, pass, consent, screened_by_w, out);
}
