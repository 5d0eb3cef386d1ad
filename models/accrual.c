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
#include "poisson_kernel.h"
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
/* Trials simulated together: vectorised samplers and the conditional kernel need a few dozen
 * values of one kind at a time to pay off. */
#define ACCRUAL_BATCH 64
/* Up to this conditional mean of referral registrations by the deadline, a trial's Poisson
 * window starts at 0, its total is drawn by inverting that window, and split over the
 * checkpoint intervals (split_referrals); above, the window starts 10 standard deviations
 * below the mean and one Poisson count is drawn per interval. */
#define POINTS_MAX_MEAN_WHOLE 64
#define POINTS_MAX_MEAN ((double)POINTS_MAX_MEAN_WHOLE)
/* Up to this many candidates in screening, the conditional distribution integrates their
 * binomial number over its pmf (a convolution of SCREEN_INTEGRATED_MAX + 1 terms at most);
 * above, it is conditioned on the trial's drawn number instead. Both are exact conditional
 * expectations; the first has the smaller variance. */
#define SCREEN_INTEGRATED_MAX 32
/* Registrations still needed past the deadline up to which the Gamma(r, 1) laws of the step to
 * the target are prepared once (sample_gamma_init takes a square root); above, per draw. */
#define STEP_LAWS_MAX 1024

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
    unsigned long need;       /* registrations still needed at as_of: target - enrolled, or 0 */
    sample_gamma *step_law;   /* step_law[r]: Gamma(r, 1), for 0 < r < n_step_law */
    size_t n_step_law;
    double *A_w, *B_w;        /* per site: days of referral counted by W before / after self-pay */
    double *inv;              /* inv[k] = 1 / k for k < n_inv, for the Poisson pmf recurrence */
    size_t n_inv;
    double screen_fraction;   /* P(a candidate who passes screening registers by the deadline) */
    int screen_integrated;    /* screening <= SCREEN_INTEGRATED_MAX: see there */
    int screen_first;         /* the screening days end by the first checkpoint */
    size_t n_weight;          /* screening weights per trial: screening + 1, or 1 */
    size_t batch;             /* trials simulated together */
    size_t window_cap;        /* the longest conditional pmf window a trial writes */
    size_t kernel_room;       /* the longest window of the kernel: below n_inv */
    size_t table_cap;         /* counts the engine tabulates (0: none, see sim_model) */
    size_t work_bytes;
};

/* Per-thread scratch.
 * - For the trial at hand outside the batch's vector passes: its LAMBDA at the points (`lam`)
 *   and its Poisson window when outside the kernel.
 * - For the batch, one row of p->batch entries per quantity: the drawn probabilities and rates
 *   (site-major, in activation order: b_rate[j * batch + t]), the running sums of the rates
 *   (b_cum[j * batch + t]: sites before the j-th), the trials' LAMBDA at the points
 *   (point-major: b_Lam[i * batch + t]), conditional means M,
 *   LAMBDA's final slope, e^-M, the uniforms that invert the windows, the counts drawn from
 *   them, P(success | drawn), screening weights (b_weight[s * batch + t]) and screening counts.
 * - For the paths (see trial_paths): the referral registrations each trial splits over the
 *   checkpoint intervals (`size`, 0 for the trials split otherwise), the registrations it
 *   needs from referrals (`rr`), the interval edges as 32-bit words and the counts below them
 *   (edge and below [n_cp][batch]), the words themselves, the LAMBDA-value of the target's
 *   registration (`y`) and its time (`when`), each trial's crossing (whether, and the shapes
 *   of its order statistic), and lists of trials (`list`, with the shapes of their order
 *   statistics or gamma steps and the draws, `b_whole`; `rare`, the ones drawn one by one).
 * - For the kernel: a group's Poisson terms (pwin[m * POISSON_KERNEL_LANES + l]) and the block's
 *   conditional table, lane by lane (acc[c * POISSON_KERNEL_LANES + l]: zero between blocks). */
typedef struct work_layout {
    double *lam, *pmf;
    double *b_pass, *b_consent, *b_scratch, *b_rate, *b_cum;
    double *b_Lam, *b_M, *b_final, *b_v0, *b_u, *b_N, *b_P, *b_weight;
    double *b_y, *b_when, *b_draw, *b_whole;
    double *pwin, *acc, *acc2;
    poisson_kernel_lanes group;
    unsigned long *b_screened, *b_screened_w;
    uint32_t *size, *rr, *edge, *below, *words, *list, *shape_a, *shape_b, *crosses;
    uint32_t *cross_a, *cross_b, *rare;
    size_t *count;            /* [n_cp]: screening counts by checkpoint of one trial */
    size_t *order;            /* [batch]: the kernel's trials, see kernel_order */
    size_t *tab_range;        /* [2]: the block's table rows touched so far, see widen */
} work_layout;

/* Carves the work area into arrays, each starting on a 64-byte boundary of the area (a whole
 * vector); with no area (base NULL) it only counts the bytes. */
typedef struct carver {
    char *base;
    size_t used;
} carver;

static void *carve(carver *c, size_t count, size_t size)
{
    size_t at = c->used;
    c->used += (count * size + 63) / 64 * 64;
    return c->base ? c->base + at : NULL;
}

static work_layout work_carve(const accrual_plan *p, carver *c)
{
    size_t n = p->s->n_sites, B = p->batch, K = POISSON_KERNEL_LANES, D = sizeof(double);
    work_layout l;
    l.lam = carve(c, p->n_pt, D);
    l.pmf = carve(c, p->window_cap, D);
    double **row[] = {&l.b_pass, &l.b_consent, &l.b_scratch, &l.b_M, &l.b_final, &l.b_v0,
                      &l.b_u, &l.b_N, &l.b_P, &l.b_y, &l.b_when, &l.b_draw, &l.b_whole};
    for (size_t i = 0; i < sizeof row / sizeof row[0]; i++)
        *row[i] = carve(c, B, D);
    l.b_rate = carve(c, n * B, D);
    l.b_cum = carve(c, (n + 1) * B, D);
    l.b_Lam = carve(c, p->n_pt * B, D);
    l.b_weight = carve(c, p->n_weight * B, D);
    l.pwin = carve(c, K * p->kernel_room, D);
    l.acc = carve(c, K * p->table_cap, D);
    l.acc2 = carve(c, K * p->table_cap, D);
    l.group.weight = carve(c, K * p->n_weight, D);
    l.b_screened = carve(c, B, sizeof(unsigned long));
    l.b_screened_w = carve(c, B, sizeof(unsigned long));
    uint32_t **row32[] = {&l.size,    &l.rr,      &l.list,    &l.shape_a,
                          &l.shape_b, &l.crosses, &l.cross_a, &l.cross_b, &l.rare};
    for (size_t i = 0; i < sizeof row32 / sizeof row32[0]; i++)
        *row32[i] = carve(c, B, sizeof(uint32_t));
    l.edge = carve(c, p->n_cp * B, sizeof(uint32_t));
    l.below = carve(c, p->n_cp * B, sizeof(uint32_t));
    l.words = carve(c, B * p->window_cap, sizeof(uint32_t));
    l.count = carve(c, p->n_cp, sizeof(size_t));
    l.order = carve(c, B, sizeof(size_t));
    l.tab_range = carve(c, 2, sizeof(size_t));
    return l;
}

static size_t work_bytes(const accrual_plan *p)
{
    carver c = {NULL, 0};
    work_carve(p, &c);
    return c.used;
}

static work_layout work_of(const accrual_plan *p, void *work)
{
    carver c = {work, 0};
    return work_carve(p, &c);
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

/* The window of poisson_window: from 0 when M <= POINTS_MAX_MEAN (at most M + 8 sqrt(M) + 20
 * terms before they fall below POISSON_TAIL_EPS), else from M - 10 sqrt(M) - 5 to about
 * M + 8 sqrt(M). */
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
    if (p->n_inv < p->window_cap + 1)
        p->n_inv = p->window_cap + 1;
    if (p->n_inv > ACCRUAL_MAX_TABLE)
        p->n_inv = ACCRUAL_MAX_TABLE;
    p->kernel_room = p->window_cap < p->n_inv - 1 ? p->window_cap : p->n_inv - 1;
    p->inv = malloc(p->n_inv * sizeof *p->inv);
    if (!p->inv)
        return -1;
    p->inv[0] = 0.0;
    for (size_t k = 1; k < p->n_inv; k++)
        p->inv[k] = 1.0 / (double)k;
    return 0;
}

/* The laws of the Gamma(r, 1) steps that completion_day draws, r up to the registrations
 * needed (at most STEP_LAWS_MAX). */
static int build_step_laws(accrual_plan *p)
{
    p->n_step_law = (p->need < STEP_LAWS_MAX ? p->need : STEP_LAWS_MAX) + 1;
    p->step_law = malloc(p->n_step_law * sizeof *p->step_law);
    if (!p->step_law)
        return -1;
    for (size_t k = 1; k < p->n_step_law; k++)
        p->step_law[k] = sample_gamma_init((double)k, 1.0);
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
    p->screen_fraction = exact_screen_fraction(s);
    p->screen_integrated = s->screening <= SCREEN_INTEGRATED_MAX;
    p->screen_first = (double)p->sd <= p->pt[p->seg_point[0]];
    p->n_weight = p->screen_integrated ? (size_t)s->screening + 1 : 1;
    p->batch = batch_size(s->n_sites);
    p->need = s->target > s->enrolled ? (unsigned long)(s->target - s->enrolled) : 0;
    if (build_step_laws(p) != 0) {
        accrual_plan_free(p);
        set_err(err, errlen, "out of memory preparing the model");
        return NULL;
    }
    p->work_bytes = work_bytes(p);
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
    free(p->step_law);
    free(p);
}

size_t accrual_n_checkpoints(const accrual_plan *p) { return p->n_cp; }
date_t accrual_checkpoint_date(const accrual_plan *p, size_t k) { return p->cp_date[k]; }
long accrual_n_days(const accrual_plan *p) { return p->H; }

sim_model accrual_sim_model(const accrual_plan *p)
{
    sim_model m = {
        .ctx = p,
        .run_batch = accrual_batch,
        .batch = p->batch,
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

/* ---- a batch of trials: what they draw ---- */

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
 * days after), so none with probability exp(-mean). Into the engine's rows of each unit (the
 * site, in file order). */
SIMD_CLONES
static void site_outcomes(const accrual_plan *p, const work_layout *w, size_t n, sim_batch *out)
{
    size_t stride = p->batch;
    for (size_t j = 0; j < p->s->n_sites; j++) {
        size_t i = p->order[j];
        double A = p->A_w[i], B = p->B_w[i];
        const double *rate = w->b_rate + j * stride, *pass = w->b_pass, *consent = w->b_consent;
        double *mean = out->unit_mean + i * stride, *p_none = out->unit_p_none + i * stride;
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            double mu = pass[t] / DAYS_PER_YEAR * rate[t] * (A + consent[t] * B);
            mean[t] = mu;
            p_none[t] = vmath_exp(-mu);
        }
    }
}

/* Draws the probabilities and rates of the batch's n trials (gamma with mean `rate` and shape
 * k has scale rate/k), each distribution's draws together so that they vectorise. */
static void draw_rates(const accrual_plan *p, gsl_rng *r, work_layout *w, size_t n)
{
    const scenario *s = p->s;
    fill_prob(r, &s->screen_pass, &p->pass_law, w->b_pass, w->b_scratch, n);
    fill_prob(r, &s->selfpay_consent, &p->consent_law, w->b_consent, w->b_scratch, n);
    for (size_t j = 0; j < s->n_sites; j++) {
        const site_spec *st = &s->site[p->order[j]];
        double *dst = w->b_rate + j * p->batch;
        if (st->shape > 0.0) {
            sample_gamma_fill(r, &p->rate_law[j], dst, n);
        } else {
            for (size_t t = 0; t < n; t++)
                dst[t] = st->rate;
        }
    }
}

/* Candidates in screening: how many of each trial's pass, and how many of those register by
 * the deadline (each at a uniform time on [0, screen_days): by the deadline with probability
 * screen_fraction). */
static void draw_screening(const accrual_plan *p, gsl_rng *r, work_layout *w, size_t n)
{
    sample_binomial_fill(r, w->b_pass, (unsigned long)p->s->screening, w->b_screened, n);
    for (size_t t = 0; t < n; t++)
        w->b_screened_w[t] = p->screen_fraction < 1.0
                                 ? sample_binomial(r, p->screen_fraction, w->b_screened[t])
                                 : w->b_screened[t];
}

/* The running sums of the batch's rates in activation order: row j sums the first j sites'. */
SIMD_CLONES
static void rate_sums(const accrual_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch;
    double *cum = w->b_cum;
    for (size_t t = 0; t < n; t++)
        cum[t] = 0.0;
    for (size_t j = 0; j < p->s->n_sites; j++) {
        const double *rate = w->b_rate + j * B, *below = cum + j * B;
        double *row = cum + (j + 1) * B;
#pragma omp simd
        for (size_t t = 0; t < n; t++)
            row[t] = below[t] + rate[t];
    }
}

/* Every trial's LAMBDA at the points (the integral of the registration intensity of referrals,
 * per day, piecewise linear: row i + 1 adds the slope on [pt[i], pt[i+1]) times its length),
 * its conditional mean M = LAMBDA(deadline) and the slope of LAMBDA past the last point (every
 * site active, self-pay in effect). Point by point across the batch, so that it vectorises. */
SIMD_CLONES
static void intensities(const accrual_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch;
    const double *pass = w->b_pass, *consent = w->b_consent;
    double *c = w->b_scratch, *Lam = w->b_Lam;
    rate_sums(p, w, n);
    for (size_t t = 0; t < n; t++) {
        c[t] = pass[t] / DAYS_PER_YEAR;
        Lam[t] = 0.0;
    }
    for (size_t i = 0; i + 1 < p->n_pt; i++) {
        const double *cum = w->b_cum + p->pt_active[i] * B, *at = Lam + i * B;
        double *next = Lam + (i + 1) * B, dt = p->pt[i + 1] - p->pt[i];
        if (p->pt_selfpay[i]) {
#pragma omp simd
            for (size_t t = 0; t < n; t++)
                next[t] = at[t] + c[t] * cum[t] * consent[t] * dt;
        } else {
#pragma omp simd
            for (size_t t = 0; t < n; t++)
                next[t] = at[t] + c[t] * cum[t] * dt;
        }
    }
    const double *all = w->b_cum + p->s->n_sites * B, *M = Lam + p->w_point * B;
    for (size_t t = 0; t < n; t++) {
        w->b_M[t] = M[t];
        w->b_final[t] = pass[t] / DAYS_PER_YEAR * consent[t] * all[t];
    }
}

/* The weights of each trial's screening registrations by the deadline in its conditional
 * distribution: Binomial(screening, q) with q = pass x screen_fraction when integrated, built by
 * adding one candidate at a time (exact for q of 0 or 1, and vectorised across trials); else
 * (n_weight 1) one weight, 1, at the trial's drawn count. */
static void screening_weights(const accrual_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch;
    double *wt = w->b_weight, *q = w->b_scratch;
    for (size_t t = 0; t < n; t++) {
        wt[t] = 1.0;
        q[t] = w->b_pass[t] * p->screen_fraction;
    }
    for (size_t c = 1; c < p->n_weight; c++) {
        for (size_t t = 0; t < n; t++)
            wt[c * B + t] = 0.0;
        for (size_t k = c; k > 0; k--) {
            double *row = wt + k * B, *below = wt + (k - 1) * B;
            for (size_t t = 0; t < n; t++)
                row[t] = row[t] * (1.0 - q[t]) + below[t] * q[t];
        }
        for (size_t t = 0; t < n; t++)
            wt[t] *= 1.0 - q[t];
    }
}

/* The uniforms that invert each trial's window. */
static void draw_inversions(gsl_rng *r, work_layout *w, size_t n)
{
    for (size_t t = 0; t < n; t++)
        w->b_u[t] = rng_uniform(r);
}

/* The first term of each trial's Poisson window from 0, e^-M, for the trials whose window
 * starts there (M up to POINTS_MAX_MEAN). */
SIMD_CLONES
static void window_starts(const work_layout *w, size_t n)
{
    const double *M = w->b_M;
    double *v0 = w->b_v0;
#pragma omp simd
    for (size_t t = 0; t < n; t++)
        v0[t] = M[t] <= POINTS_MAX_MEAN ? vmath_exp(-M[t]) : 0.0;
}

/* ---- the conditional distribution ---- */

/* Poisson(M) pmf on [*lo, *lo + n), n <= room, by the ratio recurrence pmf(k+1) = pmf(k) M/(k+1)
 * started where the mass begins: at 0 up to POINTS_MAX_MEAN, else 10 standard deviations below
 * the mean (the mass below is under 1e-20), from the log pmf there. It ends past the mean once
 * terms fall below POISSON_TAIL_EPS, or when room runs out (a trial whose rates exceed their
 * upper bounds: probability below 1e-10 per site). For the trials outside the kernel. */
static size_t poisson_window(const accrual_plan *p, double M, double *pmf, size_t room, size_t *lo)
{
    *lo = 0;
    if (!(M > 0.0)) {
        pmf[0] = 1.0;
        return 1;
    }
    size_t k = 0;
    double v;
    if (M <= POINTS_MAX_MEAN) {
        v = exp(-M);
    } else {
        k = (size_t)fmax(0.0, floor(M - 10.0 * sqrt(M) - 5.0));
        v = exp(-M + (double)k * log(M) - lgamma((double)k + 1.0));
    }
    *lo = k;
    size_t n = 0;
    while (n < room) {
        pmf[n++] = v;
        k++;
        if ((double)(k - 1) > M && v < POISSON_TAIL_EPS)
            break;
        v *= k < p->n_inv ? M * p->inv[k] : M / (double)k;
    }
    if (*lo > 0) {
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

/* Widens the table's touched rows [lo, hi) (empty while hi <= lo) to [a, b). */
static void widen(size_t *range, size_t a, size_t b)
{
    if (range[1] <= range[0]) {
        range[0] = a;
        range[1] = b;
        return;
    }
    if (a < range[0])
        range[0] = a;
    if (b > range[1])
        range[1] = b;
}

/* The table and P(success) of a trial outside the kernel, one term at a time: its window
 * pmf[0 .. len-1] (referral registrations lo, lo + 1, ...) convolved with its screening weights
 * (or shifted by its drawn count when not integrated), into lane t mod POISSON_KERNEL_LANES of the
 * block's table. Widens the table's range to the rows it touched; returns P(success). */
static double trial_table(const accrual_plan *p, const work_layout *w, size_t t,
                          const double *pmf, size_t len, size_t lo, size_t *range)
{
    const scenario *s = p->s;
    size_t first = (size_t)s->enrolled + lo + (p->screen_integrated ? 0 : w->b_screened_w[t]);
    size_t lane = t % POISSON_KERNEL_LANES, n_weight = p->n_weight;
    double ps = 0.0;
    for (size_t c = 0; c + 1 < len + n_weight; c++) {
        double q = 0.0;
        size_t s0 = c >= len ? c - len + 1 : 0, s1 = c < n_weight ? c + 1 : n_weight;
        for (size_t j = s0; j < s1; j++)
            q += w->b_weight[j * p->batch + t] * pmf[c - j];
        size_t count = first + c;
        if (count < p->table_cap) {
            w->acc[count * POISSON_KERNEL_LANES + lane] += q;
            w->acc2[count * POISSON_KERNEL_LANES + lane] += q * q;
        }
        if (count >= (size_t)s->target)
            ps += q;
    }
    widen(range, first, first + len + n_weight - 1);
    return ps;
}

/* The count of a window from 0 by inversion with uniform u: the number of leading terms, short
 * of the last, whose cumulative sum is at most u. */
static double invert_window(const double *pmf, size_t len, double u)
{
    double cdf = 0.0;
    size_t i = 0;
    while (i + 1 < len && u >= (cdf += pmf[i]))
        i++;
    return (double)i;
}

/* The batch's trials that the kernel takes (conditional mean up to POINTS_MAX_MEAN, screening
 * integrated), into order[], sorted by M in buckets of width 2 (a stable counting sort): a
 * group's window is as long as its largest mean needs, so similar means go together. Returns
 * how many. */
#define MEAN_BUCKETS (POINTS_MAX_MEAN_WHOLE / 2 + 1)
static size_t kernel_order(const accrual_plan *p, const work_layout *w, size_t n, size_t *order)
{
    size_t start[MEAN_BUCKETS + 1] = {0};
    if (!p->screen_integrated)
        return 0;
    for (size_t t = 0; t < n; t++)
        if (w->b_M[t] <= POINTS_MAX_MEAN)
            start[(size_t)(w->b_M[t] * 0.5) + 1]++;
    for (size_t b = 1; b <= MEAN_BUCKETS; b++)
        start[b] += start[b - 1];
    for (size_t t = 0; t < n; t++)
        if (w->b_M[t] <= POINTS_MAX_MEAN)
            order[start[(size_t)(w->b_M[t] * 0.5)]++] = t;
    return start[MEAN_BUCKETS - 1];
}

/* Lane l of group buffer g takes trial order[l] (l < k); the lanes past k are padding, with
 * e^-M, u and weights 0, so that they add nothing. */
static void gather_group(const accrual_plan *p, const work_layout *w, const size_t *order,
                         size_t k, poisson_kernel_lanes *g)
{
    for (size_t l = 0; l < POISSON_KERNEL_LANES; l++) {
        size_t t = order[l < k ? l : 0];
        int real = l < k;
        g->mean[l] = real ? w->b_M[t] : 0.0;
        g->first_term[l] = real ? w->b_v0[t] : 0.0;
        g->uniform[l] = real ? w->b_u[t] : 0.0;
        for (size_t j = 0; j < p->n_weight; j++)
            g->weight[j * POISSON_KERNEL_LANES + l] = real ? w->b_weight[j * p->batch + t] : 0.0;
    }
}

/* Hands the table of the block so far to the engine (lanes summed in a fixed order) and clears
 * it for the next block. */
static void flush_table(const accrual_plan *p, work_layout *w, sim_batch *out)
{
    size_t lo = w->tab_range[0], hi = w->tab_range[1] < p->table_cap ? w->tab_range[1]
                                                                     : p->table_cap;
    out->pmf_lo = lo < hi ? lo : 0;
    out->pmf_hi = lo < hi ? hi : 0;
    for (size_t c = out->pmf_lo; c < out->pmf_hi; c++) {
        double *a = w->acc + c * POISSON_KERNEL_LANES, *a2 = w->acc2 + c * POISSON_KERNEL_LANES;
        out->pmf_sum[c] = simd_sum_lanes(a);
        out->pmf_sumsq[c] = simd_sum_lanes(a2);
        for (size_t l = 0; l < POISSON_KERNEL_LANES; l++)
            a[l] = a2[l] = 0.0;
    }
    w->tab_range[0] = w->tab_range[1] = 0;
}

/* Every trial's conditional distribution: the kernel's groups, then the trials outside it one
 * by one, into the block's table (lane by lane), which goes to the engine at the block's last
 * batch. */
static void conditional(const accrual_plan *p, work_layout *w, size_t n, sim_batch *out)
{
    const scenario *s = p->s;
    size_t enrolled = (size_t)s->enrolled, target = (size_t)s->target;
    size_t from = target > enrolled ? target - enrolled : 0;
    size_t tab = p->table_cap > enrolled ? p->table_cap - enrolled : 0;
    size_t skip = tab ? enrolled * POISSON_KERNEL_LANES : 0;   /* no table: acc is not written */
    size_t in_kernel = kernel_order(p, w, n, w->order);
    poisson_kernel_lanes *g = &w->group;
    poisson_kernel_args args = {.inv = p->inv, .room = p->kernel_room, .n_weight = p->n_weight,
                        .from = from, .tab = tab, .pwin = w->pwin, .acc = w->acc + skip,
                        .acc2 = w->acc2 + skip};
    for (size_t t = 0; t < n; t++)
        w->b_N[t] = -1.0;   /* not yet drawn */
    for (size_t first = 0; first < in_kernel; first += POISSON_KERNEL_LANES) {
        size_t k = in_kernel - first < POISSON_KERNEL_LANES ? in_kernel - first : POISSON_KERNEL_LANES;
        gather_group(p, w, w->order + first, k, g);
        size_t rows = poisson_kernel_group(&args, g);
        for (size_t l = 0; l < k; l++) {
            size_t t = w->order[first + l];
            w->b_P[t] = g->p_success[l];
            w->b_N[t] = g->count[l];
        }
        widen(w->tab_range, enrolled, enrolled + rows);
    }
    for (size_t t = 0; t < n; t++) {
        if (w->b_N[t] >= 0.0)
            continue;
        size_t lo, len = poisson_window(p, w->b_M[t], w->pmf, p->window_cap, &lo);
        w->b_P[t] = trial_table(p, w, t, w->pmf, len, lo, w->tab_range);
        w->b_N[t] = lo == 0 ? invert_window(w->pmf, len, w->b_u[t]) : 0.0;
    }
    if (out->flush)
        flush_table(p, w, out);
}

/* ---- the trials' paths ----
 *
 * A trial's path is where its registrations fall among the checkpoints and when the target's
 * registration comes. The batch's paths are drawn stage by stage across its trials, as the
 * rates are: screening (screening_paths), the split of referral registrations by the deadline
 * (split_referrals, or one Poisson draw per interval for large means: interval_referrals),
 * the target's registration by the deadline (crossings) or after it (steps), then every time
 * at once (completion_days). Only rare cases are drawn one trial at a time. */

static long day_of(const accrual_plan *p, double u)
{
    return u < (double)p->H ? (long)floor(u) : p->H;
}

/* Candidates in screening registered by the deadline in [lo, hi), given `*left` not yet placed
 * over the remaining `*left_len` days of [0, min(sd, W)): a binomial share by length. */
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

/* One trial's screening registrations, `passed` in all and `by_w` of them by the deadline, in
 * general: how the latter spread over the checkpoint intervals (the others fall in [W, sd)),
 * and the time of the target's registration when it is one of them (the j-th of n uniform on
 * the interval's overlap with [0, sd): a uniform order statistic), into *when. Writes their
 * running count by checkpoint. */
static void screening_path(const accrual_plan *p, gsl_rng *r, unsigned long passed,
                           unsigned long by_w, double *when, size_t *count)
{
    unsigned long left = by_w, done = 0, need = p->need;
    double left_len = fmin((double)p->sd, (double)p->W);
    size_t prev = 0;
    for (size_t k = 0; k < p->n_seg; k++) {
        size_t end = p->seg_point[k];
        unsigned long n = k < p->n_cp ? screening_in(p, r, p->pt[prev], p->pt[end], &left,
                                                     &left_len)
                                      : passed - by_w;
        if (*when == INFINITY && n > 0 && done + n >= need) {
            double start = p->pt[prev];
            double len = fmin(p->pt[end], (double)p->sd) - start;
            *when = p->sd == 0 ? start : start + len * sample_uniform_order_stat(r, need - done, n);
        }
        done += n;
        if (k < p->n_cp)
            count[k] = done;
        prev = end;
    }
}

/* need - got, or 0 when got covers need: with a mask, not a select, which gcc turns into a
 * branch, mispredicted as often as not on these random counts. */
static inline uint32_t shortfall(uint32_t need, uint32_t got)
{
    return (need - got) & (0u - (uint32_t)(need > got));
}

/* row[t] = base + count[t], and row[t] += add[t]: the checkpoint rows, vectorised. */
SIMD_CLONES
static void row_set(size_t *row, size_t base, const unsigned long *count, size_t n)
{
#pragma omp simd
    for (size_t t = 0; t < n; t++)
        row[t] = base + count[t];
}

SIMD_CLONES
static void row_add(size_t *row, const uint32_t *add, size_t n)
{
#pragma omp simd
    for (size_t t = 0; t < n; t++)
        row[t] += add[t];
}

/* Every trial's screening registrations (all in [0, sd), before any referral's, which start at
 * sd): the checkpoint rows start at the enrolled plus their running count; rr = the
 * registrations still needed from referrals; when = the time of the target's registration when
 * screening reaches the target (-1 when nothing was needed), else INFINITY. When the screening
 * days end by the first checkpoint, every screening registration counts at every checkpoint
 * and none is drawn one by one unless screening reaches the target. */
static void screening_paths(const accrual_plan *p, gsl_rng *r, work_layout *w, size_t n,
                            sim_batch *out)
{
    size_t B = p->batch, enrolled = (size_t)p->s->enrolled;
    unsigned long need = p->need;
    for (size_t t = 0; t < n; t++) {
        w->rr[t] = shortfall((uint32_t)need, (uint32_t)w->b_screened[t]);
        w->b_when[t] = need == 0 ? -1.0 : INFINITY;
    }
    if (p->screen_first) {
        for (size_t k = 0; k < p->n_cp; k++)
            row_set(out->at_checkpoint + k * B, enrolled, w->b_screened, n);
        for (size_t t = 0; t < n; t++)
            if (need > 0 && w->b_screened[t] >= need)
                w->b_when[t] = p->sd == 0 ? 0.0 : (double)p->sd *
                               sample_uniform_order_stat(r, need, w->b_screened[t]);
        return;
    }
    for (size_t t = 0; t < n; t++) {
        screening_path(p, r, w->b_screened[t], w->b_screened_w[t], &w->b_when[t], w->count);
        for (size_t k = 0; k < p->n_cp; k++)
            out->at_checkpoint[k * B + t] = enrolled + w->count[k];
    }
}

/* x in [0, 2^32) rounded to the nearest whole number (a share within 2^-33 of x / 2^32), or
 * 2^32 - 1 at most, as a 32-bit word: the low bits of x + 2^52, whose last bit is worth 1 (a
 * conversion that vectorises without AVX-512DQ, unlike a cast). */
static inline uint32_t word_of(double x)
{
    union {
        double d;
        uint64_t u;
    } v = {.d = (x < 4294967295.0 ? x : 4294967295.0) + 4503599627370496.0};
    return (uint32_t)v.u;
}

/* The checkpoint intervals' edges for the trials whose referral registrations by the deadline
 * are split (M up to POINTS_MAX_MEAN, N of them drawn by inverting the window; the others get
 * size 0): edge k is LAMBDA at the end of interval k as a share of M, scaled to 2^32 and
 * rounded (word_of). The last checkpoint is the deadline, below which every registration
 * falls: it needs no edge. */
SIMD_CLONES
static void split_edges(const accrual_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch;
    double *scale = w->b_draw;
#pragma omp simd
    for (size_t t = 0; t < n; t++) {
        int split = w->b_M[t] <= POINTS_MAX_MEAN;
        w->size[t] = split ? (uint32_t)w->b_N[t] : 0;
        scale[t] = w->b_M[t] > 0.0 ? 4294967296.0 / w->b_M[t] : 0.0;
    }
    for (size_t k = 0; k + 1 < p->n_cp; k++) {
        const double *L = w->b_Lam + p->seg_point[k] * B;
        uint32_t *edge = w->edge + k * B;
#pragma omp simd
        for (size_t t = 0; t < n; t++)
            edge[t] = word_of(L[t] * scale[t]);
    }
}

/* Referral registrations by the deadline, split: as given their number N they are independent
 * with distribution function LAMBDA(u) / M over the window (the order statistics property of a
 * Poisson process), each falls below edge k with probability LAMBDA(end of interval k) / M,
 * decided by one 32-bit word. below[k] = the running count by checkpoint k (the last: N); it
 * is added to the checkpoint rows. */
static void split_referrals(const accrual_plan *p, gsl_rng *r, work_layout *w, size_t n,
                            sim_batch *out)
{
    size_t B = p->batch, last = p->n_cp - 1;
    split_edges(p, w, n);
    sample_split_sets(r, n, w->size, w->edge, last, B, w->below, w->words);
    memcpy(w->below + last * B, w->size, n * sizeof *w->size);
    for (size_t k = 0; k < p->n_cp; k++)
        row_add(out->at_checkpoint + k * B, w->below + k * B, n);
}

/* Referral registrations by the deadline of one trial as one Poisson draw per checkpoint
 * interval, for large conditional means: added to its checkpoint row (row[k * stride]). The
 * target's registration, the rr-th, when in interval k with n arrivals, is at LAMBDA-value
 * Lam(start) + mu B with B the j-th of n uniform order statistics: into *y. Returns their
 * number. */
static uint32_t referrals_by_intervals(const accrual_plan *p, gsl_rng *r, const double *Lam,
                                       unsigned long rr, size_t *row, size_t stride, double *y)
{
    unsigned long total = 0;
    size_t prev = 0;
    for (size_t k = 0; k < p->n_cp; k++) {
        size_t end = p->seg_point[k];
        double mu = Lam[end] - Lam[prev];
        unsigned long n = sample_poisson(r, mu);
        if (rr > total && rr <= total + n)
            *y = Lam[prev] + mu * sample_uniform_order_stat(r, rr - total, n);
        total += n;
        row[k * stride] += total;
        prev = end;
    }
    return (uint32_t)total;
}

/* The trials not split (M above POINTS_MAX_MEAN), one by one; their referral registrations by
 * the deadline go into size. */
static void interval_referrals(const accrual_plan *p, gsl_rng *r, work_layout *w, size_t n,
                               sim_batch *out)
{
    size_t B = p->batch;
    for (size_t t = 0; t < n; t++) {
        if (w->b_M[t] <= POINTS_MAX_MEAN)
            continue;
        for (size_t i = 0; i < p->n_pt; i++)
            w->lam[i] = w->b_Lam[i * B + t];
        w->size[t] = referrals_by_intervals(p, r, w->lam, w->rr[t], out->at_checkpoint + t, B,
                                            &w->b_y[t]);
    }
}

/* The split trials whose referrals reach the target by the deadline: the rr-th referral
 * registration lies in the first interval whose running count reaches rr, as the j-th of its m
 * registrations, uniform order statistics of LAMBDA across the interval: at a fraction
 * Beta(j, m - j + 1) of it. Sets y to the interval's start (INFINITY for the other trials),
 * b_draw to its width, the two shapes and `crosses`, which says which trials need the draw.
 * One scan over the intervals across the batch: the running counts never decrease, so the
 * intervals before the crossing are those whose count is below rr, and the crossing's is the
 * first of the others. Selects, not gathers (slower) or branches (on random values). */
SIMD_CLONES
static void crossing_intervals(const accrual_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch, n_cp = p->n_cp;
    uint32_t k[ACCRUAL_BATCH], before[ACCRUAL_BATCH], top[ACCRUAL_BATCH];
    double from[ACCRUAL_BATCH], to[ACCRUAL_BATCH];
    for (size_t t = 0; t < n; t++) {
        k[t] = before[t] = top[t] = 0;
        from[t] = to[t] = 0.0;
    }
    for (size_t c = 0; c < n_cp; c++) {
        const uint32_t *count = w->below + c * B;
        const double *end = c + 1 < n_cp ? w->b_Lam + p->seg_point[c] * B : w->b_M;
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            int below = count[t] < w->rr[t], first = !below & (k[t] == c);
            from[t] = below ? end[t] : from[t];
            before[t] = below ? count[t] : before[t];
            to[t] = first ? end[t] : to[t];
            top[t] = first ? count[t] : top[t];
            k[t] += (uint32_t)below;
        }
    }
#pragma omp simd
    for (size_t t = 0; t < n; t++) {
        uint32_t rr = w->rr[t];
        int crosses = (rr > 0) & (k[t] < n_cp) & (w->b_M[t] <= POINTS_MAX_MEAN);
        w->b_y[t] = crosses ? from[t] : INFINITY;
        w->b_draw[t] = to[t] - from[t];
        w->cross_a[t] = rr - before[t];
        w->cross_b[t] = top[t] - rr + 1;
        w->crosses[t] = (uint32_t)crosses;
    }
}

/* Lists trial t when it needs a draw (`needs`): in `list`, with its shapes a and b, when both
 * are at most SAMPLE_WHOLE_MAX (drawn together by the whole-shape samplers), else in `rare`
 * (drawn one by one). Both entries are written and the counts advanced by the tests, so that no
 * branch depends on which trials need what (random). */
static inline void list_draw(work_layout *w, size_t t, uint32_t needs, uint32_t a, uint32_t b,
                             size_t *listed, size_t *rare)
{
    uint32_t whole = (a <= SAMPLE_WHOLE_MAX) & (b <= SAMPLE_WHOLE_MAX);
    w->list[*listed] = w->rare[*rare] = (uint32_t)t;
    w->shape_a[*listed] = a;
    w->shape_b[*listed] = b;
    *listed += needs & whole;
    *rare += needs & !whole;
}

/* Lists the crossing trials (list_draw); returns how many are listed, *n_rare how many rare (a
 * crossing interval holding more than SAMPLE_WHOLE_MAX registrations). */
static size_t crossings(const accrual_plan *p, work_layout *w, size_t n, size_t *n_rare)
{
    crossing_intervals(p, w, n);
    size_t listed = 0, rare = 0;
    for (size_t t = 0; t < n; t++)
        list_draw(w, t, w->crosses[t], w->cross_a[t], w->cross_b[t], &listed, &rare);
    *n_rare = rare;
    return listed;
}

/* The crossings' order statistics, placed in their intervals: the listed ones together, the
 * rare ones one by one. */
static void place_crossings(gsl_rng *r, work_layout *w, size_t listed, size_t n_rare)
{
    sample_beta_whole(r, w->shape_a, w->shape_b, w->b_whole, listed);
    for (size_t i = 0; i < listed; i++)
        w->b_y[w->list[i]] += w->b_draw[w->list[i]] * w->b_whole[i];
    for (size_t i = 0; i < n_rare; i++) {
        size_t t = w->rare[i];
        unsigned long j = w->cross_a[t], m = w->cross_a[t] + w->cross_b[t] - 1;
        w->b_y[t] += w->b_draw[t] * sample_uniform_order_stat(r, j, m);
    }
}

/* The trials whose referrals by the deadline fall short of the rr they need: the target's
 * registration is the r-th further one past the deadline, r = rr - referred, at LAMBDA-value
 * LAMBDA(W) + Gamma(r, 1) (time change to a unit-rate process). Whole r up to SAMPLE_WHOLE_MAX
 * (all but rare trials) are drawn together, the others one by one. */
static void steps(const accrual_plan *p, gsl_rng *r, work_layout *w, size_t n)
{
    size_t listed = 0, rare = 0;
    for (size_t t = 0; t < n; t++) {
        uint32_t short_by = shortfall(w->rr[t], w->size[t]);
        list_draw(w, t, short_by > 0, short_by, 1, &listed, &rare);
    }
    sample_gamma_whole(r, w->shape_a, w->b_whole, listed);
    for (size_t i = 0; i < listed; i++)
        w->b_y[w->list[i]] = w->b_M[w->list[i]] + w->b_whole[i];
    for (size_t i = 0; i < rare; i++) {
        size_t t = w->rare[i];
        unsigned long rest = w->rr[t] - w->size[t];
        double step = rest < p->n_step_law ? sample_gamma_draw(r, &p->step_law[rest])
                                           : sample_gamma1(r, (double)rest);
        w->b_y[t] = w->b_M[t] + step;
    }
}

/* when = LAMBDA^-1(y) for every trial screening has not completed. LAMBDA never decreases:
 * y lies past the points at or below it, up to the first point above it, found in one scan
 * over the points across the batch (selects, not gathers or branches); past the last point
 * LAMBDA grows at the final slope, or never again. */
SIMD_CLONES
static void invert_intensities(const accrual_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch;
    double lo[ACCRUAL_BATCH], u_lo[ACCRUAL_BATCH], hi[ACCRUAL_BATCH], u_hi[ACCRUAL_BATCH];
    int64_t above[ACCRUAL_BATCH];
    for (size_t t = 0; t < n; t++) {
        lo[t] = u_lo[t] = hi[t] = u_hi[t] = 0.0;
        above[t] = 0;
    }
    for (size_t j = 1; j < p->n_pt; j++) {
        const double *L = w->b_Lam + j * B, u = p->pt[j];
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            int64_t at_or_below = L[t] <= w->b_y[t], first = !at_or_below & !above[t];
            lo[t] = at_or_below ? L[t] : lo[t];
            u_lo[t] = at_or_below ? u : u_lo[t];
            hi[t] = first ? L[t] : hi[t];
            u_hi[t] = first ? u : u_hi[t];
            above[t] |= !at_or_below;
        }
    }
#pragma omp simd
    for (size_t t = 0; t < n; t++) {
        /* Every load and division is made for every trial and the results selected (with
         * divisors that cannot be 0): the compiler does not move an operation that may trap
         * under a condition, so a conditional operand would keep the loop scalar. */
        double gap = hi[t] - lo[t], span = u_hi[t] - u_lo[t], final = w->b_final[t];
        double slope = (above[t] ? gap : final) / (above[t] ? span : 1.0);
        double ahead = (w->b_y[t] - lo[t]) / (slope > 0.0 ? slope : 1.0);
        double u = slope > 0.0 ? u_lo[t] + ahead : INFINITY, when = w->b_when[t];
        w->b_when[t] = when < INFINITY ? when : u;
    }
}

/* Every trial's path: checkpoint rows, the count at the deadline and the day the target is
 * reached. */
static void trial_paths(const accrual_plan *p, gsl_rng *r, work_layout *w, size_t n,
                        sim_batch *out)
{
    screening_paths(p, r, w, n, out);
    split_referrals(p, r, w, n, out);
    size_t n_rare, listed = crossings(p, w, n, &n_rare);
    interval_referrals(p, r, w, n, out);
    place_crossings(r, w, listed, n_rare);
    steps(p, r, w, n);
    invert_intensities(p, w, n);
    size_t deadline = (p->n_cp - 1) * p->batch;
    for (size_t t = 0; t < n; t++) {
        out->at_deadline[t] = out->at_checkpoint[deadline + t];
        out->completion_day[t] = day_of(p, w->b_when[t]);
    }
}

/* ---- a batch ---- */

/* E[registrations by the deadline | drawn values]: the enrolled, the screening registrations
 * by the deadline (their binomial mean, or the drawn count when not integrated) and M. */
static void conditional_means(const accrual_plan *p, const work_layout *w, size_t n,
                              sim_batch *out)
{
    const scenario *s = p->s;
    for (size_t t = 0; t < n; t++) {
        double screened = p->screen_integrated
                              ? (double)s->screening * w->b_pass[t] * p->screen_fraction
                              : (double)w->b_screened_w[t];
        out->cond_mean[t] = (double)s->enrolled + screened + w->b_M[t];
        out->cond_p_success[t] = w->b_P[t];
    }
}

void accrual_batch(const void *plan, gsl_rng *r, void *work, size_t n, sim_batch *out)
{
    const accrual_plan *p = plan;
    work_layout w = work_of(p, work);
    draw_rates(p, r, &w, n);
    site_outcomes(p, &w, n, out);
    draw_screening(p, r, &w, n);
    draw_inversions(r, &w, n);
    intensities(p, &w, n);
    screening_weights(p, &w, n);
    window_starts(&w, n);
    conditional(p, &w, n, out);
    conditional_means(p, &w, n, out);
    trial_paths(p, r, &w, n, out);
}
