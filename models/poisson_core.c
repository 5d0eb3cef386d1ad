/* The shared core of the models that are Poisson given their draws, simulated interval by
 * interval (DESIGN.md sections 2 and 5); see poisson_core.h for the contract.
 *
 * Time u runs in days from the start of as_of. Registrations come from two sources:
 *  - candidates already in screening: each passes with probability p and is registered at a
 *    time uniform on [0, screen_days) (at 0 when screen_days is 0);
 *  - referrals, whose registrations the front end describes as a Poisson process with
 *    piecewise-constant intensity and cumulative intensity LAMBDA(u), given at the points
 *    (activations, rate changes, the self-pay date and checkpoints, all in registration time).
 * Given the trial's draws, referral registrations by the deadline number Poisson(M),
 * M = LAMBDA(deadline), and given their number they are independent with distribution
 * function LAMBDA(u) / M (the order statistics property of a Poisson process). So a trial draws
 * the number from the conditional pmf it computes anyway and splits it over the checkpoint
 * intervals by each one's share of M (one word a registration, or for many a binomial per
 * interval). The target is reached inside an interval holding n arrivals at the j-th of them:
 * LAMBDA^-1 of the j-th of n uniform order statistics across the interval's increment, a
 * Beta(j, n - j + 1) fraction (David and Nagaraja 2003, 2.2). Past the last interval the r-th
 * further arrival lies at LAMBDA^-1(LAMBDA(end) + Gamma(r, 1)) (time change of a Poisson
 * process to unit rate; Cinlar 1975, "Introduction to Stochastic Processes", 4.2). */
#include "poisson_core.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../engine/rng.h"
#include "../engine/sample.h"
#include "../engine/simd.h"
#include "../engine/vmath.h"
#include "poisson_kernel.h"
#include "exact.h"

/* Expected registrations beyond which a scenario is refused, and the longest conditional
 * distribution the engine is asked to tabulate (beyond it, the table of counts comes from the
 * simulated histogram while P(success) stays conditional). */
#define CORE_MAX_MEAN SCENARIO_MAX_REGISTRATIONS  /* checked at load too (scenario.h) */
#define CORE_MAX_TABLE ((size_t)1 << 16)
/* Up to this conditional mean of referral registrations by the deadline, a trial's Poisson
 * window starts at 0 and holds the whole mass; above, the kernel cuts it CUT_WINDOW_SD standard
 * deviations either side of the mean (see cut windows). Either way the kernel computes it,
 * lanes side by side, and the total is drawn by inverting it. */
#define POINTS_MAX_MEAN_WHOLE 64
#define POINTS_MAX_MEAN ((double)POINTS_MAX_MEAN_WHOLE)
/* Up to this many candidates in screening, the conditional distribution integrates their
 * binomial number over its pmf (a convolution of SCREEN_INTEGRATED_MAX + 1 terms, which the
 * AVX-512 kernel keeps in registers); above, it is conditioned on the number the trial's path
 * draws instead (see conditional). Both are exact conditional expectations; the first has the
 * smaller variance, the second costs far less: on bench/scale/screening-32 (32 in screening)
 * 0.17 against 0.36 cpu-s for 1e6 trials, SE 0.000191 against 0.000157, so 0.74 times the time to
 * a given SE; 0.76 with 4, 0.80 with 8 and 0.75 with 16 in screening. */
#define SCREEN_INTEGRATED_MAX (POISSON_KERNEL_FAST_WEIGHTS - 1)
/* Referral registrations by the deadline up to this many are split over the checkpoint
 * intervals by one 32-bit word each, the batch's together (sample_split_sets); more, by one
 * binomial draw per interval (split_by_binomials), whose cost does not grow with the count.
 * When every trial of a batch has that many, the two cost the same at about 400
 * registrations: 5-site scenarios like bench/scale/count-1000 with rates scaled to 200, 400,
 * 600 and 800 registrations took 1.24, 1.00, 0.93 and 0.92 times as long split by binomials
 * as by words (524,288 trials, 1 thread, farm-bench 7 pairs, CPU). But the binomials of a few
 * trials cost nearly those of a vector's worth (sample_binomial_each pads to 16 lanes), and
 * with the switch at 512 bench/scale/count-300, where about one trial in 20 has more, took
 * 1.037 times as long (count-1000 0.85, count-10000 0.92, against the switch at 1024 with
 * binomials drawn one by one); at 1024, 1.006, 0.90 and 0.91. */
#define SPLIT_WORDS_MAX 1024
/* Registrations still needed past the deadline up to which the Gamma(r, 1) laws of the step to
 * the target are prepared once (sample_gamma_init takes a square root); above, per draw. */
#define STEP_LAWS_MAX 1024

struct core_plan {
    const scenario *s;
    long window_days;         /* deadline - as_of + 1 */
    long screen_days;
    long followed_days;       /* days followed for completion (window plus horizon) */
    size_t n_checkpoints;     /* the last is the deadline */
    date_t *checkpoint_date;
    size_t n_intervals;       /* counting intervals: the checkpoints, then [W, sd) if sd > W */
    size_t *interval_end;     /* index in points[] of each interval's end */
    size_t n_points;
    double *points;           /* sorted distinct points, points[0] = 0 */
    size_t deadline_point;    /* index of the window's end in points[] */
    unsigned long needed;     /* registrations still needed at as_of: target - enrolled, or 0 */
    sample_gamma *step_law;   /* step_law[r]: Gamma(r, 1), for 0 < r < n_step_law */
    size_t n_step_law;
    double *inv;              /* inv[k] = 1 / k for k < n_inv, for the Poisson pmf recurrence */
    size_t n_inv;
    double screen_fraction;   /* P(a candidate who passes screening registers by the deadline) */
    int screen_integrated;    /* screening <= SCREEN_INTEGRATED_MAX: see there */
    int screen_first;         /* the screening days end by the first checkpoint */
    /* selfpay_screening, where it matters: a candidate in screening who registers from
     * screen_split on (the self-pay day, within [0, screen_days)) needs consent too, so
     * registration times have density 1 before it and q after (see screen_measure). */
    int screen_consent;
    double screen_split;
    size_t n_weight;          /* screening weights per trial: screening + 1, or 1 */
    size_t group_weights;     /* the most weights a group of the kernel takes (see conditional) */
    double binomial[SCREEN_INTEGRATED_MAX + 1];   /* C(n_weight - 1, k), for screening_weights */
    size_t batch;             /* trials simulated together */
    size_t window_cap;        /* the longest conditional pmf window a trial writes */
    size_t kernel_room;       /* the longest window of the kernel: below n_inv */
    size_t table_cap;         /* counts the engine tabulates (0: none, see sim_model) */
    size_t work_bytes;
};

/* Per-thread scratch.
 * - For the trial at hand outside the batch's vector passes: its Poisson window when outside
 *   the kernel (`window_pmf`).
 * - For the batch, one row of p->batch entries per quantity: the front end's rows (core_rows:
 *   probabilities, LAMBDA at the points, point-major: lambda_at_points[i * batch + t], the
 *   final slope), conditional means M, e^-M, the uniforms that invert the windows, the counts
 *   drawn from them, P(success | drawn), screening weights (screen_weight[s * batch + t]) and
 *   screening counts.
 * - For the paths (see trial_paths): the referral registrations each trial splits over the
 *   checkpoint intervals (`referred`, 0 for the trials split otherwise), the registrations it
 *   needs from referrals (`needed`), the interval edges as 32-bit words and the counts below
 *   them ([n_checkpoints][batch]), the words themselves, the LAMBDA-value of the target's
 *   registration and its time, each trial's crossing (whether, and the shapes of its order
 *   statistic), and lists of trials (`listed`, with the shapes of their order statistics or
 *   gamma steps and the draws, `whole_draw`; `one_by_one`, the ones drawn one by one).
 * - For the kernel: a group's Poisson terms (kernel_terms[m * POISSON_KERNEL_LANES + l]) and
 *   the block's conditional table, lane by lane (table_sum[c * POISSON_KERNEL_LANES + l]: zero
 *   between blocks). */
typedef struct work_layout {
    double *window_pmf;
    double *pass, *consent, *scratch, *screen_p, *screen_frac;
    double *lambda_at_points, *mean, *final_slope, *first_term, *uniform, *drawn, *p_success;
    double *window_lo, *window_hi;
    double *screen_weight;
    double *target_lambda, *target_time, *span, *whole_draw;
    double *kernel_terms, *table_sum, *table_sumsq;
    poisson_kernel_lanes lanes;
    unsigned long *passed, *passed_by_deadline;
    uint32_t *referred, *needed, *interval_edge, *count_below, *split_words, *listed;
    uint32_t *shape_a, *shape_b, *crosses, *cross_a, *cross_b, *one_by_one;
    size_t *screen_count;     /* [n_checkpoints]: screening counts by checkpoint of one trial */
    size_t *kernel_trials;    /* [batch]: the kernel's trials, see kernel_order */
    size_t *spare_order;      /* [batch]: conditioned_order's other buffer */
    uint32_t *sort_digit;     /* [batch]: and each trial's digit in its passes */
    size_t *table_range;      /* [2]: the block's table rows touched so far, see widen */
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

static work_layout work_carve(const core_plan *p, carver *c)
{
    size_t B = p->batch, K = POISSON_KERNEL_LANES, D = sizeof(double);
    work_layout l;
    l.window_pmf = carve(c, p->window_cap, D);
    double **row[] = {&l.pass,      &l.consent,       &l.scratch,    &l.mean,
                      &l.final_slope, &l.first_term,  &l.uniform,    &l.drawn,
                      &l.p_success, &l.target_lambda, &l.target_time, &l.span,
                      &l.whole_draw, &l.screen_p,     &l.screen_frac, &l.window_lo,
                      &l.window_hi};
    for (size_t i = 0; i < sizeof row / sizeof row[0]; i++)
        *row[i] = carve(c, B, D);
    l.lambda_at_points = carve(c, p->n_points * B, D);
    l.screen_weight = carve(c, p->n_weight * B, D);
    l.kernel_terms = carve(c, K * POISSON_KERNEL_PWIN_ROWS(p->kernel_room, p->group_weights), D);
    l.table_sum = carve(c, K * p->table_cap, D);
    l.table_sumsq = carve(c, K * p->table_cap, D);
    l.lanes.weight = carve(c, K * p->group_weights, D);
    l.passed = carve(c, B, sizeof(unsigned long));
    l.passed_by_deadline = carve(c, B, sizeof(unsigned long));
    uint32_t **row32[] = {&l.referred, &l.needed,  &l.listed,  &l.shape_a,   &l.shape_b,
                          &l.crosses,  &l.cross_a, &l.cross_b, &l.one_by_one};
    for (size_t i = 0; i < sizeof row32 / sizeof row32[0]; i++)
        *row32[i] = carve(c, B, sizeof(uint32_t));
    l.interval_edge = carve(c, p->n_checkpoints * B, sizeof(uint32_t));
    l.count_below = carve(c, p->n_checkpoints * B, sizeof(uint32_t));
    l.split_words = carve(c, B * (p->window_cap > SPLIT_WORDS_MAX ? p->window_cap : SPLIT_WORDS_MAX),
                          sizeof(uint32_t));
    l.screen_count = carve(c, p->n_checkpoints, sizeof(size_t));
    l.kernel_trials = carve(c, B, sizeof(size_t));
    l.spare_order = carve(c, B, sizeof(size_t));
    l.sort_digit = carve(c, B, sizeof(uint32_t));
    l.table_range = carve(c, 2, sizeof(size_t));
    return l;
}

static size_t work_bytes(const core_plan *p)
{
    carver c = {NULL, 0};
    work_carve(p, &c);
    return c.used;
}

static work_layout work_of(const core_plan *p, void *work)
{
    carver c = {work, 0};
    return work_carve(p, &c);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* The self-pay date's day offset from as_of, clamped at 0: self-pay before as_of starts at
 * as_of. */
static long selfpay_day(const core_plan *p)
{
    long d = (long)p->s->selfpay_from - (long)p->s->as_of;
    return d > 0 ? d : 0;
}

/* ---- plan construction ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int build_checkpoints(core_plan *p)
{
    const scenario *s = p->s;
    size_t cap = 2;
    for (date_t d = s->as_of; d <= s->deadline; d = date_add_months(d, s->review_months))
        cap++;
    p->checkpoint_date = malloc(cap * sizeof *p->checkpoint_date);
    if (!p->checkpoint_date)
        return -1;
    p->n_checkpoints = 0;
    for (int k = 1;; k++) {
        date_t d = date_add_months(s->as_of, k * s->review_months);
        if (d > s->deadline)
            break;
        p->checkpoint_date[p->n_checkpoints++] = d;
    }
    if (p->n_checkpoints == 0 || p->checkpoint_date[p->n_checkpoints - 1] != s->deadline)
        p->checkpoint_date[p->n_checkpoints++] = s->deadline;
    return 0;
}

size_t core_point_index(const core_plan *p, double u)
{
    const double *hit = bsearch(&u, p->points, p->n_points, sizeof *p->points, cmp_double);
    return (size_t)(hit - p->points);
}

/* The front end's points and the core's own (0, screen_days, the self-pay date, the
 * checkpoints' ends), sorted, without duplicates. */
static int build_points(core_plan *p, const core_spec *spec)
{
    const scenario *s = p->s;
    size_t cap = spec->n_points + p->n_checkpoints + 4;
    p->points = malloc(cap * sizeof *p->points);
    if (!p->points)
        return -1;
    size_t n = 0;
    p->points[n++] = 0.0;
    p->points[n++] = (double)p->screen_days;
    p->points[n++] = (double)(selfpay_day(p) + p->screen_days);
    for (size_t i = 0; i < spec->n_points; i++)
        p->points[n++] = spec->points[i];
    for (size_t k = 0; k < p->n_checkpoints; k++)
        p->points[n++] = (double)(p->checkpoint_date[k] - s->as_of + 1);
    qsort(p->points, n, sizeof *p->points, cmp_double);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || p->points[i] != p->points[m - 1])
            p->points[m++] = p->points[i];
    p->n_points = m;
    return 0;
}

static int build_intervals(core_plan *p)
{
    p->n_intervals = p->n_checkpoints + (p->screen_days > p->window_days);
    p->interval_end = malloc(p->n_intervals * sizeof *p->interval_end);
    if (!p->interval_end)
        return -1;
    for (size_t k = 0; k < p->n_checkpoints; k++)
        p->interval_end[k] =
            core_point_index(p, (double)(p->checkpoint_date[k] - p->s->as_of + 1));
    if (p->screen_days > p->window_days)
        p->interval_end[p->n_checkpoints] = core_point_index(p, (double)p->screen_days);
    p->deadline_point = p->interval_end[p->n_checkpoints - 1];
    return 0;
}

/* The window of poisson_window: from 0 when M <= POINTS_MAX_MEAN (at most M + 8 sqrt(M) + 20
 * terms before they fall below POISSON_TAIL_EPS), else from M - 10 sqrt(M) - 5 to about
 * M + 8 sqrt(M). */
static size_t window_length(double m_hi)
{
    return (size_t)ceil(20.0 * sqrt(m_hi) + 100.0);
}

static int build_conditional(core_plan *p, double m_hi)
{
    if (!isfinite(m_hi) || m_hi > CORE_MAX_MEAN)
        return -1;
    p->window_cap = window_length(m_hi);
    double table = (double)p->s->enrolled + (double)p->s->screening + m_hi +
                   12.0 * sqrt(m_hi) + 40.0;
    p->table_cap = table <= (double)CORE_MAX_TABLE ? (size_t)ceil(table) + 1 : 0;
    p->n_inv = (size_t)ceil(m_hi + 12.0 * sqrt(m_hi) + 100.0);
    if (p->n_inv < p->window_cap + 1)
        p->n_inv = p->window_cap + 1;
    if (p->n_inv > CORE_MAX_TABLE)
        p->n_inv = CORE_MAX_TABLE;
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
static int build_step_laws(core_plan *p)
{
    p->n_step_law = (p->needed < STEP_LAWS_MAX ? p->needed : STEP_LAWS_MAX) + 1;
    p->step_law = malloc(p->n_step_law * sizeof *p->step_law);
    if (!p->step_law)
        return -1;
    for (size_t k = 1; k < p->n_step_law; k++)
        p->step_law[k] = sample_gamma_init((double)k, 1.0);
    return 0;
}

core_plan *core_plan_new(const core_spec *spec, char *err, size_t errlen)
{
    const scenario *s = spec->s;
    core_plan *p = calloc(1, sizeof *p);
    if (!p) {
        set_err(err, errlen, "out of memory preparing the model");
        return NULL;
    }
    p->s = s;
    p->window_days = scenario_window_days(s);
    p->screen_days = s->screen_days;
    p->followed_days = scenario_followed_days(s);
    p->batch = spec->batch < 1 ? 1 : spec->batch > CORE_MAX_BATCH ? CORE_MAX_BATCH : spec->batch;
    p->needed = s->target > s->enrolled ? (unsigned long)(s->target - s->enrolled) : 0;
    if (build_checkpoints(p) || build_points(p, spec) || build_intervals(p)) {
        core_plan_free(p);
        set_err(err, errlen, "out of memory preparing the model");
        return NULL;
    }
    if (build_conditional(p, spec->mean_upper) != 0) {
        core_plan_free(p);
        set_err(err, errlen, "the sites' rates allow more than 1e8 expected registrations by the "
                "deadline, beyond what accrue computes; expected smaller rates or a shorter window");
        return NULL;
    }
    p->screen_fraction = exact_screen_fraction(s);
    p->screen_integrated = s->screening <= SCREEN_INTEGRATED_MAX;
    p->screen_first = (double)p->screen_days <= p->points[p->interval_end[0]];
    long f = (long)s->selfpay_from - (long)s->as_of;
    p->screen_consent = s->selfpay_screening && s->screening > 0 &&
                        (s->screen_days == 0 ? f <= 0 : f < s->screen_days);
    p->screen_split = f > 0 ? (double)f : 0.0;
    p->n_weight = p->screen_integrated ? (size_t)s->screening + 1 : 1;
    p->group_weights = p->screen_integrated ? p->n_weight : POISSON_KERNEL_FAST_WEIGHTS;
    /* Pascal's triangle's row n_weight - 1: whole numbers below 2^53, so exact. */
    p->binomial[0] = 1.0;
    for (size_t k = 1; k < p->n_weight; k++) {
        for (size_t j = k; j > 0; j--)
            p->binomial[j] += p->binomial[j - 1];
    }
    if (build_step_laws(p) != 0) {
        core_plan_free(p);
        set_err(err, errlen, "out of memory preparing the model");
        return NULL;
    }
    p->work_bytes = work_bytes(p);
    return p;
}

void core_plan_free(core_plan *p)
{
    if (!p)
        return;
    free(p->checkpoint_date);
    free(p->interval_end);
    free(p->points);
    free(p->inv);
    free(p->step_law);
    free(p);
}

size_t core_n_points(const core_plan *p) { return p->n_points; }
double core_point(const core_plan *p, size_t i) { return p->points[i]; }
size_t core_n_checkpoints(const core_plan *p) { return p->n_checkpoints; }
date_t core_checkpoint_date(const core_plan *p, size_t k) { return p->checkpoint_date[k]; }
long core_n_days(const core_plan *p) { return p->followed_days; }
size_t core_table_cap(const core_plan *p) { return p->table_cap; }
int core_screening_drawn(const core_plan *p) { return !p->screen_integrated; }
size_t core_work_bytes(const core_plan *p) { return p->work_bytes; }

core_rows core_rows_of(const core_plan *p, void *work)
{
    work_layout w = work_of(p, work);
    return (core_rows){.pass = w.pass, .consent = w.consent,
                       .lambda_at_points = w.lambda_at_points, .final_slope = w.final_slope};
}

/* ---- a batch of trials: what they draw ---- */


/* With selfpay_screening: the measure of registration times in [0, min(u, screen_days)) of a
 * candidate in screening, density 1 before the split and q (consent) after, and its inverse:
 * the time at which the measure reaches m. A candidate who passes screening registers in
 * [0, u) with probability screen_measure(u) / screen_days. */
static double screen_measure(const core_plan *p, double q, double u)
{
    double end = fmin(u, (double)p->screen_days), f = p->screen_split;
    return fmin(end, f) + q * fmax(0.0, end - f);
}

static double screen_time(const core_plan *p, double q, double m)
{
    double f = p->screen_split;
    return m <= f || !(q > 0.0) ? fmin(m, f) : f + (m - f) / q;
}

/* With selfpay_screening: each trial's probability that a candidate in screening registers
 * (passes, and consents if registering from the split on), and that one who registers does so
 * by the deadline. With no screening days every registration is at as_of and needs consent
 * (screen_consent is set only then). */
static void screening_probabilities(const core_plan *p, work_layout *w, size_t n)
{
    double sd = (double)p->screen_days, by_w = fmin(sd, (double)p->window_days);
    for (size_t t = 0; t < n; t++) {
        double q = w->consent[t];
        double total = sd > 0.0 ? screen_measure(p, q, sd) / sd : q;
        w->screen_p[t] = w->pass[t] * total;
        w->screen_frac[t] = sd == 0.0 ? 1.0
                            : total > 0.0 ? screen_measure(p, q, by_w) / sd / total : 0.0;
    }
}

/* Candidates in screening: how many of each trial's register at all, and how many of those by
 * the deadline (each at a uniform time on [0, screen_days): by the deadline with probability
 * screen_fraction; with selfpay_screening, see screening_probabilities). */
static void draw_screening(const core_plan *p, gsl_rng *r, work_layout *w, size_t n)
{
    if (p->screen_consent) {
        screening_probabilities(p, w, n);
        sample_binomial_fill(r, w->screen_p, (unsigned long)p->s->screening, w->passed, n);
        for (size_t t = 0; t < n; t++)
            w->passed_by_deadline[t] = w->screen_frac[t] < 1.0
                                           ? sample_binomial(r, w->screen_frac[t], w->passed[t])
                                           : w->passed[t];
        return;
    }
    sample_binomial_fill(r, w->pass, (unsigned long)p->s->screening, w->passed, n);
    for (size_t t = 0; t < n; t++)
        w->passed_by_deadline[t] = p->screen_fraction < 1.0
                                 ? sample_binomial(r, p->screen_fraction, w->passed[t])
                                 : w->passed[t];
}

/* P(a candidate in screening registers by the deadline) of trial t. */
static double screen_by_deadline(const core_plan *p, const work_layout *w, size_t t)
{
    return p->screen_consent ? w->screen_p[t] * w->screen_frac[t]
                             : w->pass[t] * p->screen_fraction;
}

/* The weights of each trial's screening registrations by the deadline in its conditional
 * distribution when screening is integrated: the Binomial(N, q) pmf, N = screening, q = pass x
 * screen_fraction, C(N, k) q^k (1 - q)^(N - k), in two vectorised passes across the batch:
 * C(N, k) q^k upwards in k, then the powers of 1 - q downwards. O(N) a trial, and with no
 * division, exact for q of 0 or 1 without a guard (0^0 is the empty product, 1). (Conditioned,
 * the weight is 1 at the trial's drawn count: see conditional.) */
SIMD_CLONES
static void screening_weights(const core_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch, last = p->n_weight - 1;
    double *wt = w->screen_weight, *q = w->scratch, *power = w->span;
    for (size_t t = 0; t < n; t++) {
        q[t] = screen_by_deadline(p, w, t);
        power[t] = 1.0;
    }
    for (size_t k = 0; k <= last; k++) {
        double *row = wt + k * B, c = p->binomial[k];
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            row[t] = c * power[t];
            power[t] *= q[t];
        }
    }
    for (size_t t = 0; t < n; t++)
        power[t] = 1.0;
    for (size_t k = last + 1; k-- > 0;) {
        double *row = wt + k * B;
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            row[t] *= power[t];
            power[t] *= 1.0 - q[t];
        }
    }
}

/* The uniforms that invert each trial's window. */
static void draw_inversions(gsl_rng *r, work_layout *w, size_t n)
{
    for (size_t t = 0; t < n; t++)
        w->uniform[t] = rng_uniform(r);
}

/* ---- cut windows ----
 *
 * The kernel's windows for large means hold the counts within CUT_WINDOW_SD standard deviations
 * of the mean, rows [a, b] (a lane's own, or up to its group's last row: which, depends only
 * on the group's means, never on the trial's uniform u). The mass outside, eps = P(N not in
 * [a, b] | draws), is at most 7.8e-5 at 4 SD, mostly above the window (summed in double
 * precision for M above 64 to 3,000, in steps of 0.01 to 200 and of 1 above: the largest,
 * 7.6e-5, at M = 65.6, where the rounding of the window's ends leaves the most out (at M = 64
 * itself, a whole window's, 7.7e-5); 7.0e-5 at 100,
 * 5.3e-5 at 300, 5.7e-5 at 1,000, 6.2e-5 at 10,000 and 6.3e-5 at 65,536).
 * The estimators stay unbiased:
 *  - the count: while u < S, the sum of the window's terms (the kernel's mass), the
 *    inversion of u over them, so P(N = k) = pmf(k) inside; else (probability 1 - S = eps, to
 *    the terms' rounding) a count outside, drawn from the full window's terms there
 *    (poisson_window, holding all but 1e-14) by v = (u - S) / (1 - S), uniform given u >= S
 *    (count_outside). u has 53 bits: v keeps about 53 + log2(eps) of them (39 at eps = 5e-5),
 *    a coarseness of about 2^-53 in the law overall;
 *  - each conditional row c: X(c) = sum_s w_s (x_W(c - s) + 1{N = c - s, N outside}), x_W the
 *    terms inside the window, and P(success) the sum of X(c) over successes. Given the draws,
 *    E[X(c)] = sum_s w_s pmf(c - s), the exact conditional value; the indicator part adds at
 *    most eps to its variance (its conditional second moment: sum_s w_s = 1).
 * At bench/scale/count-300 that is 5.3e-5 against P(success)'s conditional variance, 0.026 a
 * trial: 0.2 % more variance, 0.1 % on the standard error; and the windows hold 8 standard
 * deviations instead of 16, so the kernel runs fewer rows (there, 201 a group of 8 trials
 * instead of 332; each group's rows also span its trials' different means). At 5 SD (eps at
 * most 1.6e-6) it ran 235 rows, and count-300 took 1.03 times as long, count-1000 1.04 (1e6 and
 * 524,288 trials, 1 thread, farm-bench 11 and 7 pairs, CPU). tests/test_sites.c cuts the
 * windows at 1 SD, where a third of the trials draw outside, and checks the estimates against
 * the exact mode. */
#define CUT_WINDOW_SD 4.0
static double cut_window_sd = CUT_WINDOW_SD;

void core_set_cut_window_sd(double sd)
{
    cut_window_sd = sd > 0.0 && sd <= CUT_WINDOW_SD ? sd : CUT_WINDOW_SD;
}

/* log(2 pi) */
#define LOG_2PI 1.8378770664093454836

/* Each trial's Poisson window: its first term, and for a large mean its cut window's first and
 * last rows (see cut windows), the batch's together, vectorised:
 *  - M up to POINTS_MAX_MEAN: from 0, first term e^-M;
 *  - above: rows k = floor(M - sd sqrt(M)) to ceil(M + sd sqrt(M)) (sd = cut_window_sd; the
 *    square root as exp(log(M) / 2), which vectorises where sqrt, setting errno, does not),
 *    first term the Poisson(M) pmf at k by Loader's saddle-point form (C. Loader 2000, "Fast
 *    and accurate computation of binomial probabilities"): exp(-vmath_stirling_tail(k) - bd0) /
 *    sqrt(2 pi k), bd0 = k log(k / M) + M - k. As M > 64 and sd <= 5, k >= 24, where the tail's
 *    series is within 3.2e-16. Its parts are
 *    of the size of their result (bd0 about sd^2 / 2) but for k log(k / M) and M - k, each
 *    about sd sqrt(M): the exponent's error is about sd sqrt(M) 2^-52, 1e-14 at M = 300,
 *    1e-12 at 1e6 (exp(-M + k log M - log k!) lost about M 2^-52). */
SIMD_CLONES
static void window_starts(const work_layout *w, size_t n)
{
    const double *M = w->mean;
    double *v0 = w->first_term, *lo = w->window_lo, *hi = w->window_hi, sd = cut_window_sd;
    int any_large = 0;
#pragma omp simd reduction(| : any_large)
    for (size_t t = 0; t < n; t++)
        any_large |= M[t] > POINTS_MAX_MEAN;
    if (!any_large) {
        /* Small means only (bench/reference: the large means' logarithms and exponentials for
         * every trial took 1.10 times as long): e^-M alone. */
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            v0[t] = vmath_exp(-M[t]);
            lo[t] = hi[t] = 0.0;
        }
        return;
    }
#pragma omp simd
    for (size_t t = 0; t < n; t++) {
        double log_m = vmath_log(M[t]), root = vmath_exp(0.5 * log_m);
        double below = vmath_floor(M[t] - sd * root), k = below > 0.0 ? below : 0.0;
        double log_ratio = vmath_log(k / M[t]);
        double bd0 = k * log_ratio + (M[t] - k);
        double exponent = -(vmath_stirling_tail(k) + bd0) - 0.5 * (LOG_2PI + log_ratio + log_m);
        /* Selects of arguments and products with 0 or 1, not selects of computed values, which
         * gcc turns into branches that keep the loop scalar. */
        double large = M[t] > POINTS_MAX_MEAN;
        v0[t] = vmath_exp(large != 0.0 ? exponent : -M[t]);
        lo[t] = large * k;
        hi[t] = large * -vmath_floor(-(M[t] + sd * root));
    }
}

/* ---- the conditional distribution ---- */

/* Where a full window above POINTS_MAX_MEAN begins (poisson_window, for the trials outside the
 * kernel and the draws outside a cut window): 8 standard deviations below the mean, and 5
 * rows more; it ends where the terms are below POISSON_TAIL_EPS (about 8 standard deviations
 * above the mean). The mass below the start is under
 * exp(-32) = 1.3e-14, the order of what the end leaves out: by Chernoff's bound
 * P(X <= x M) <= exp(-M h(x)), h(x) = x log x - x + 1 >= (1 - x)^2 / 2 for x <= 1, and here
 * M (1 - x)^2 >= 64. Against windows from 10 standard deviations below (mass under 1e-20),
 * bench/scale/count-300 took 0.98 of the time (1e6 trials, 1 thread, farm-bench 9 pairs, CPU). */
static double window_low(double M)
{
    return fmax(0.0, floor(M - 8.0 * sqrt(M) - 5.0));
}

/* The Poisson(M) pmf at k: exp(-M + k log M - log k!). At the means the kernel takes (below
 * n_inv, at most 65536) the exponent's rounding is a relative 1e-11 of the term at most. */
static double poisson_term(double M, double k)
{
    return exp(-M + k * log(M) - lgamma(k + 1.0));
}

/* Poisson(M) pmf on [*lo, *lo + n), n <= room, by the ratio recurrence pmf(k+1) = pmf(k) M/(k+1)
 * started where the mass begins: at 0 up to POINTS_MAX_MEAN, else at window_low (the mass
 * below is under 1.3e-14), from the log pmf there. It ends past the mean once
 * terms fall below POISSON_TAIL_EPS, or when room runs out (a trial whose rates exceed their
 * upper bounds: probability below 1e-10 per site). For the trials outside the kernel. */
static size_t poisson_window(const core_plan *p, double M, double *pmf, size_t room, size_t *lo)
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
        k = (size_t)window_low(M);
        v = poisson_term(M, (double)k);
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
         * relative 1e-9 at M = 1e6); the window holds all but about 1e-13 of the mass, so
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
static double trial_table(const core_plan *p, const work_layout *w, size_t t,
                          const double *pmf, size_t len, size_t lo, size_t *range)
{
    const scenario *s = p->s;
    size_t first = (size_t)s->enrolled + lo + (p->screen_integrated ? 0 : w->passed_by_deadline[t]);
    size_t lane = t % POISSON_KERNEL_LANES, n_weight = p->n_weight;
    double ps = 0.0;
    for (size_t c = 0; c + 1 < len + n_weight; c++) {
        double q = 0.0;
        size_t s0 = c >= len ? c - len + 1 : 0, s1 = c < n_weight ? c + 1 : n_weight;
        for (size_t j = s0; j < s1; j++)
            q += (p->screen_integrated ? w->screen_weight[j * p->batch + t] : 1.0) * pmf[c - j];
        size_t count = first + c;
        if (count < p->table_cap) {
            w->table_sum[count * POISSON_KERNEL_LANES + lane] += q;
            w->table_sumsq[count * POISSON_KERNEL_LANES + lane] += q * q;
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

/* The batch's trials with small means that the kernel takes (conditional mean up to
 * POINTS_MAX_MEAN, screening integrated), into order[], sorted by M in buckets of width 2 (a
 * stable counting sort): a group's window is as long as its largest mean needs, so similar
 * means go together. Returns how many. */
#define MEAN_BUCKETS (POINTS_MAX_MEAN_WHOLE / 2 + 1)
static size_t kernel_order(const work_layout *w, size_t n, size_t *order)
{
    size_t start[MEAN_BUCKETS + 1] = {0};
    for (size_t t = 0; t < n; t++)
        if (w->mean[t] <= POINTS_MAX_MEAN)
            start[(size_t)(w->mean[t] * 0.5) + 1]++;
    for (size_t b = 1; b <= MEAN_BUCKETS; b++)
        start[b] += start[b - 1];
    for (size_t t = 0; t < n; t++)
        if (w->mean[t] <= POINTS_MAX_MEAN)
            order[start[(size_t)(w->mean[t] * 0.5)]++] = t;
    return start[MEAN_BUCKETS - 1];
}

/* The batch's trials with large means (above POINTS_MAX_MEAN, screening integrated), into
 * order[], sorted by M, ties in trial order (a stable sort); returns how many. Each trial's
 * place is the number of means below its own plus the equal ones of earlier trials, counted
 * without a branch: every mean against the batch's, CORE_MAX_BATCH lanes (padded with +inf,
 * below which nothing counts) in vectors, CORE_MAX_BATCH^2 comparisons; equal means, which
 * gamma rates make all but impossible, are counted apart. An insertion sort, which gave the
 * same order, ended each mean's moves at a random place, a branch no predictor can foresee:
 * 19 ns a trial at expected count 300 against 5.5 (64 means of a batch, measured alone). */
SIMD_CLONES
static size_t large_order(const work_layout *w, size_t n, size_t *order)
{
    double m[CORE_MAX_BATCH];
    size_t trial[CORE_MAX_BATCH], k = 0;
    int64_t place[CORE_MAX_BATCH] = {0};
    for (size_t t = 0; t < n; t++)
        if (w->mean[t] > POINTS_MAX_MEAN) {
            m[k] = w->mean[t];
            trial[k++] = t;
        }
    for (size_t i = k; i < CORE_MAX_BATCH; i++)
        m[i] = INFINITY;
    int64_t equal = 0;
    for (size_t j = 0; j < k; j++) {
        double mj = m[j];
#pragma omp simd reduction(+ : equal)
        for (size_t i = 0; i < CORE_MAX_BATCH; i++) {
            place[i] += mj < m[i];
            equal += mj == m[i];
        }
    }
    if (equal > (int64_t)k)   /* besides each mean with itself */
        for (size_t i = 1; i < k; i++)
            for (size_t j = 0; j < i; j++)
                place[i] += m[j] == m[i];
    for (size_t i = 0; i < k; i++)
        order[place[i]] = trial[i];
    return k;
}

/* One pass of a stable counting sort: the n trials of from[] into to[] by digit[t] < bins. */
#define SORT_BINS 256
static void counting_pass(const size_t *from, size_t *to, size_t n, const uint32_t *digit,
                          size_t bins)
{
    size_t start[SORT_BINS + 1];
    for (size_t b = 0; b <= bins; b++)
        start[b] = 0;
    for (size_t i = 0; i < n; i++)
        start[digit[from[i]] + 1]++;
    for (size_t b = 1; b <= bins; b++)
        start[b] += start[b - 1];
    for (size_t i = 0; i < n; i++)
        to[start[digit[from[i]]]++] = from[i];
}

/* Screening conditioned: the batch's trials into order[], those with small means first (their
 * number in *n_small), then those with large means, each part sorted by the drawn screening
 * count S, ties by M in buckets of width 2, then in trial order (a radix sort: a counting pass
 * on the bucket, then one on each byte of S that the scenario's screening count needs): a
 * group's trials then differ little in S (its one-hot weights, see gather_group) and in M (its
 * window). */
static void conditioned_order(const core_plan *p, work_layout *w, size_t n, size_t *order,
                              size_t *n_small)
{
    const unsigned long *S = w->passed_by_deadline;
    const double *M = w->mean;
    uint32_t *digit = w->sort_digit, top = 0;
    size_t *spare = w->spare_order;
    for (size_t t = 0; t < n; t++) {
        double b = M[t] * 0.5;
        digit[t] = b < SORT_BINS - 1 ? (uint32_t)b : SORT_BINS - 1;
        top = digit[t] > top ? digit[t] : top;
        spare[t] = t;
    }
    counting_pass(spare, order, n, digit, (size_t)top + 1);
    unsigned long most = (unsigned long)p->s->screening;
    for (unsigned shift = 0; shift < 64 && (most >> shift) > 0; shift += 8) {
        for (size_t t = 0; t < n; t++)
            digit[t] = (uint32_t)(S[t] >> shift) & (SORT_BINS - 1);
        unsigned long bins = (most >> shift) + 1;
        counting_pass(order, spare, n, digit, bins < SORT_BINS ? (size_t)bins : SORT_BINS);
        memcpy(order, spare, n * sizeof *order);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (M[spare[i]] <= POINTS_MAX_MEAN)
            order[k++] = spare[i];
    *n_small = k;
    for (size_t i = 0; i < n; i++)
        if (M[spare[i]] > POINTS_MAX_MEAN)
            order[k++] = spare[i];
}

/* One group of the kernel: its trials order[0 .. k-1]; its rows count from `base` referral
 * registrations (a large mean's window starts below its mass; 0 otherwise) and, screening
 * conditioned, its conditional rows from the smallest screening count among its trials, s_min,
 * with n_weight one-hot weights (the range of its counts, plus one). */
typedef struct kernel_group {
    size_t k, base, s_min, n_weight;
    int cut;   /* windows cut (large means: see cut windows), else whole */
} kernel_group;

/* Whether trial t may join a group of screening counts from s_min on (sorted, so t's is the
 * largest): always when screening is integrated, else while the group's weights stay within
 * the AVX-512 kernel's registers. */
static int spread_fits(const core_plan *p, const work_layout *w, size_t t, size_t s_min)
{
    return p->screen_integrated ||
           w->passed_by_deadline[t] - s_min < POISSON_KERNEL_FAST_WEIGHTS;
}

/* The group's screening weights: integrated, every trial's; conditioned, one-hot: weight 1 at
 * S - s_min, where the conditional pmf of the count is the Poisson window shifted by S (the
 * other weights add +0, so each row is the Poisson term itself, exactly). */
static void group_weights(const core_plan *p, const work_layout *w, const size_t *order,
                          const kernel_group *gr, poisson_kernel_lanes *g)
{
    for (size_t l = 0; l < POISSON_KERNEL_LANES; l++) {
        size_t t = order[l < gr->k ? l : 0];
        int real = l < gr->k;
        if (p->screen_integrated) {
            for (size_t j = 0; j < gr->n_weight; j++)
                g->weight[j * POISSON_KERNEL_LANES + l] =
                    real ? w->screen_weight[j * p->batch + t] : 0.0;
        } else {
            for (size_t j = 0; j < gr->n_weight; j++)
                g->weight[j * POISSON_KERNEL_LANES + l] =
                    real && w->passed_by_deadline[t] - gr->s_min == j ? 1.0 : 0.0;
        }
    }
}

/* Lane l of group buffer g takes trial order[l] (l < gr->k), its window from row 0; the lanes
 * past k are padding, with e^-M, u and weights 0, so that they add nothing. */
static void gather_group(const core_plan *p, const work_layout *w, const size_t *order,
                         const kernel_group *gr, poisson_kernel_lanes *g)
{
    for (size_t l = 0; l < POISSON_KERNEL_LANES; l++) {
        size_t t = order[l < gr->k ? l : 0];
        int real = l < gr->k;
        g->mean[l] = real ? w->mean[t] : 0.0;
        g->peak[l] = g->mean[l];   /* rows from 0; gather_large_group moves it with its base */
        g->start[l] = 0.0;
        g->shift[l] = 0.0;
        g->first_term[l] = real ? w->first_term[t] : 0.0;
        g->uniform[l] = real ? w->uniform[t] : 0.0;
    }
    group_weights(p, w, order, gr, g);
}

/* A group of small means from order[0] on (`left` of them): up to POISSON_KERNEL_LANES trials,
 * while their screening counts fit (spread_fits). */
static kernel_group small_group(const core_plan *p, const work_layout *w, const size_t *order,
                                size_t left)
{
    kernel_group gr = {1, 0, 0, p->n_weight, 0};
    if (!p->screen_integrated)
        gr.s_min = w->passed_by_deadline[order[0]];
    while (gr.k < POISSON_KERNEL_LANES && gr.k < left && spread_fits(p, w, order[gr.k], gr.s_min))
        gr.k++;
    if (!p->screen_integrated)
        gr.n_weight = w->passed_by_deadline[order[gr.k - 1]] - gr.s_min + 1;
    return gr;
}

/* Hands the table of the block so far to the engine (lanes summed in a fixed order) and clears
 * it for the next block. */
static void flush_table(const core_plan *p, work_layout *w, sim_batch *out)
{
    size_t lo = w->table_range[0], hi = w->table_range[1] < p->table_cap ? w->table_range[1]
                                                                     : p->table_cap;
    out->pmf_lo = lo < hi ? lo : 0;
    out->pmf_hi = lo < hi ? hi : 0;
    for (size_t c = out->pmf_lo; c < out->pmf_hi; c++) {
        double *a = w->table_sum + c * POISSON_KERNEL_LANES, *a2 = w->table_sumsq + c * POISSON_KERNEL_LANES;
        out->pmf_sum[c] = simd_sum_lanes(a);
        out->pmf_sumsq[c] = simd_sum_lanes(a2);
        for (size_t l = 0; l < POISSON_KERNEL_LANES; l++)
            a[l] = a2[l] = 0.0;
    }
    w->table_range[0] = w->table_range[1] = 0;
}

/* Whether a window of rows [lo, hi) fits the kernel from lo: within its room, with a margin
 * of 4 rows, and with inv's entries there (lo + room below n_inv). */
static int rows_fit(const core_plan *p, double lo, double hi)
{
    double room = (double)p->kernel_room;
    return !(hi - lo + 4.0 > room || lo + room + 1.0 >= (double)p->n_inv);
}

/* A group of large means, from order[0] on (`left` of them; sorted by M, or by S then M): its
 * rows count from `base`, the lowest window_lo of its trials, and it takes the following
 * trials while their screening counts fit (spread_fits) and each trial's window fits the
 * kernel: with a table, the group's rows are its lanes' (the table's rows are the group's), so
 * every window must end within the kernel's room (window_hi) from the base and the group's
 * inv entries exist (base + room below n_inv); without one (no table: the means reach past
 * CORE_MAX_TABLE), the lanes are apart, each with its own rows from its own window_lo (its
 * shift from the base), which must fit the room and inv from there: the group then runs as
 * many rows as its longest window, not the span of its means (at expected count 10,000, half
 * the rows). Fills g (each lane's window starting at its own window_lo, with the Poisson
 * term there, and cut at its window_hi: its peak) and returns the group: k = 0 when the first
 * does not fit (it goes one by one, outside the kernel). */
static kernel_group gather_large_group(const core_plan *p, work_layout *w, const size_t *order,
                                       size_t left, poisson_kernel_lanes *g)
{
    int apart = p->table_cap == 0;
    double lo = w->window_lo[order[0]], hi = w->window_hi[order[0]];
    kernel_group gr = {0, 0, 0, p->n_weight, 1};
    if (!rows_fit(p, lo, hi))
        return gr;
    if (!p->screen_integrated)
        gr.s_min = w->passed_by_deadline[order[0]];
    gr.k = 1;
    while (gr.k < POISSON_KERNEL_LANES && gr.k < left && spread_fits(p, w, order[gr.k], gr.s_min)) {
        size_t t = order[gr.k];
        double lo1 = w->window_lo[t], hi1 = w->window_hi[t];
        double lo2 = fmin(lo, lo1), hi2 = fmax(hi, hi1);
        if (apart ? !rows_fit(p, lo1, hi1) : !rows_fit(p, lo2, hi2))
            break;
        lo = lo2;
        hi = hi2;
        gr.k++;
    }
    if (!p->screen_integrated)
        gr.n_weight = w->passed_by_deadline[order[gr.k - 1]] - gr.s_min + 1;
    gather_group(p, w, order, &gr, g);
    for (size_t l = 0; l < gr.k; l++) {
        double start = w->window_lo[order[l]];
        g->start[l] = apart ? 0.0 : start - lo;
        g->shift[l] = apart ? start - lo : 0.0;
        g->peak[l] = w->window_hi[order[l]] - (apart ? start : lo);
    }
    gr.base = (size_t)lo;
    return gr;
}

/* The registrations of group gr's first conditional row: enrolled + base + s_min. */
static size_t group_first_count(const core_plan *p, const kernel_group *gr)
{
    return (size_t)p->s->enrolled + gr->base + gr->s_min;
}

/* The kernel's arguments for group gr: its rows count from base (inv shifted by it) and its
 * conditional rows from group_first_count (the success threshold and the table shifted by
 * that). */
static poisson_kernel_args group_args(const core_plan *p, work_layout *w, const kernel_group *gr)
{
    size_t shift = group_first_count(p, gr), target = (size_t)p->s->target;
    poisson_kernel_args a = {.inv = p->inv + gr->base, .room = p->kernel_room,
                             .n_weight = gr->n_weight, .pwin = w->kernel_terms,
                             .tail_eps = gr->cut ? INFINITY : POISSON_TAIL_EPS};
    a.from = target > shift ? target - shift : 0;
    a.tab = p->table_cap > shift ? p->table_cap - shift : 0;
    /* no table: acc is not written */
    a.acc = w->table_sum + (a.tab ? shift * POISSON_KERNEL_LANES : 0);
    a.acc2 = w->table_sumsq + (a.tab ? shift * POISSON_KERNEL_LANES : 0);
    return a;
}

/* Lane l of group gr (trial t), whose window is cut (rows [a, b] of referral counts, from the
 * kernel's len rows) and whose uniform fell at or past the window's sum S: its count from the
 * terms outside the window, and that count's part of its estimates, into its P(success) and
 * lane l of the block's table (see cut windows). Rare: at most 7.8e-5 of the trials. */
static void count_outside(const core_plan *p, work_layout *w, const kernel_group *gr,
                          const poisson_kernel_lanes *g, size_t l, size_t t, size_t len)
{
    size_t lo, n = poisson_window(p, w->mean[t], w->window_pmf, p->window_cap, &lo);
    const double *pmf = w->window_pmf;
    double a = (double)gr->base + g->shift[l] + g->start[l];
    double b = (double)gr->base + g->shift[l] + (double)(len - 1);
    double outside = 0.0;
    for (size_t i = 0; i < n; i++) {
        double k = (double)(lo + i);
        outside += k < a || k > b ? pmf[i] : 0.0;
    }
    if (!(outside > 0.0))
        return;   /* rounding: no mass outside; the window's last row stands, as for a whole one */
    double S = g->mass[l], v = (g->uniform[l] - S) / (1.0 - S);
    double goal = (v < 1.0 ? v : 1.0) * outside, sum = 0.0;
    size_t N = 0;
    for (size_t i = 0; i < n; i++) {
        double k = (double)(lo + i);
        if (k >= a && k <= b)
            continue;
        N = lo + i;
        sum += pmf[i];
        if (goal < sum)
            break;
    }
    w->drawn[t] = (double)N;
    size_t first = (size_t)p->s->enrolled + gr->s_min, target = (size_t)p->s->target;
    for (size_t s = 0; s < gr->n_weight; s++) {
        double ws = g->weight[s * POISSON_KERNEL_LANES + l];
        size_t count = first + N + s;
        if (count >= target)
            w->p_success[t] += ws;
        if (count >= p->table_cap)
            continue;
        /* The window's part of this row, for the square: sum_s' w_s' x_W(N + s - s'). */
        double inside = 0.0;
        for (size_t s2 = 0; s2 < gr->n_weight && s2 <= N + s; s2++) {
            size_t k = N + s - s2;
            if ((double)k >= a && (double)k <= b && k >= lo && k < lo + n)
                inside += g->weight[s2 * POISSON_KERNEL_LANES + l] * pmf[k - lo];
        }
        w->table_sum[count * POISSON_KERNEL_LANES + l] += ws;
        w->table_sumsq[count * POISSON_KERNEL_LANES + l] += ws * (2.0 * inside + ws);
        widen(w->table_range, count, count + 1);
    }
}

/* Runs group gr (gathered into g) through the kernel: each trial's P(success) and drawn
 * referral count, and the table's touched rows; with cut windows, the trials whose uniform
 * fell past theirs draw outside them (count_outside). */
static void run_group(const core_plan *p, work_layout *w, const size_t *order,
                      const kernel_group *gr, poisson_kernel_lanes *g)
{
    poisson_kernel_args a = group_args(p, w, gr);
    size_t rows = poisson_kernel_group(&a, g);
    size_t first = group_first_count(p, gr);
    widen(w->table_range, first, first + rows);
    for (size_t l = 0; l < gr->k; l++) {
        size_t t = order[l];
        w->p_success[t] = g->p_success[l];
        w->drawn[t] = (double)gr->base + g->count[l];
        if (gr->cut && g->uniform[l] >= g->mass[l])
            count_outside(p, w, gr, g, l, t, rows + 1 - gr->n_weight);
    }
}

/* Every trial's conditional distribution: the kernel's groups of small means (windows from 0),
 * then of large means (windows from a base below their mass), then the trials outside it one
 * by one, into the block's table (lane by lane), which goes to the engine at the block's last
 * batch.
 * With screening integrated, a trial's conditional pmf is its Poisson window convolved with its
 * Binomial(screening, q) weights. Conditioned (more than SCREEN_INTEGRATED_MAX in screening), it
 * is P(N = c | the draws, S) for the screening registrations by the deadline S that the trial's
 * path draws (draw_screening, the path stream) and then uses for its checkpoints and completion
 * (screening_paths): the Poisson window shifted by S. Its mean over S is the integrated pmf
 * (the tower rule), so the estimator stays unbiased, with the variance of S added. The kernel
 * takes such trials sorted by S, a group's shifts as one-hot weights. */
static void conditional(const core_plan *p, work_layout *w, size_t n, sim_batch *out)
{
    poisson_kernel_lanes *g = &w->lanes;
    size_t *order = w->kernel_trials;
    for (size_t t = 0; t < n; t++)
        w->drawn[t] = -1.0;   /* not yet drawn */
    size_t in_kernel, n_large = 0;
    if (p->screen_integrated) {
        in_kernel = kernel_order(w, n, order);
    } else {
        conditioned_order(p, w, n, order, &in_kernel);
        n_large = n - in_kernel;
    }
    for (size_t first = 0; first < in_kernel;) {
        kernel_group gr = small_group(p, w, order + first, in_kernel - first);
        gather_group(p, w, order + first, &gr, g);
        run_group(p, w, order + first, &gr, g);
        first += gr.k;
    }
    if (p->screen_integrated)
        n_large = large_order(w, n, order);
    else
        order += in_kernel;
    for (size_t first = 0; first < n_large;) {
        kernel_group gr = gather_large_group(p, w, order + first, n_large - first, g);
        if (gr.k == 0) {
            first++;
            continue;
        }
        run_group(p, w, order + first, &gr, g);
        first += gr.k;
    }
    for (size_t t = 0; t < n; t++) {
        if (w->drawn[t] >= 0.0)
            continue;
        size_t lo, len = poisson_window(p, w->mean[t], w->window_pmf, p->window_cap, &lo);
        w->p_success[t] = trial_table(p, w, t, w->window_pmf, len, lo, w->table_range);
        w->drawn[t] = (double)lo + invert_window(w->window_pmf, len, w->uniform[t]);
    }
    if (out->flush)
        flush_table(p, w, out);
}

/* ---- the trials' paths ----
 *
 * A trial's path is where its registrations fall among the checkpoints and when the target's
 * registration comes. The batch's paths are drawn stage by stage across its trials, as the
 * rates are: screening (screening_paths), the split of referral registrations by the deadline
 * (split_referrals), the target's registration by the deadline (crossings) or after it
 * (steps), then every time at once (completion_days). Only rare cases are drawn one trial at a
 * time. */

/* The day of time u >= 0 (every time a path draws: screening's in [0, screen_days), the others
 * LAMBDA^-1 of a value at or above LAMBDA(0) = 0), or followed_days from the end of the span on
 * (INFINITY: never). The cast truncates, which is floor for u >= 0, without the call to libm's
 * floor that this scalar code (built for any x86-64, before SSE4.1's rounding) makes for it:
 * 1.4 % of bench/reference's time went to that call. */
static long day_of(const core_plan *p, double u)
{
    return u < (double)p->followed_days ? (long)u : p->followed_days;
}

/* Candidates in screening registered by the deadline in [lo, hi), given `*left` not yet placed
 * over the remaining `*left_len` days of [0, min(sd, W)): a binomial share by length (by
 * screen_measure with consent weight q under selfpay_screening). */
static unsigned long screening_in(const core_plan *p, gsl_rng *r, double q, double lo,
                                  double hi, unsigned long *left, double *left_len)
{
    if (*left == 0)
        return 0;
    unsigned long m;
    if (p->screen_days == 0) {
        m = *left;
    } else {
        double overlap = p->screen_consent
                             ? screen_measure(p, q, hi) - screen_measure(p, q, lo)
                             : fmax(0.0, fmin(hi, (double)p->screen_days) - lo);
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
static void screening_path(const core_plan *p, gsl_rng *r, double q, unsigned long passed,
                           unsigned long by_w, double *when, size_t *count)
{
    unsigned long left = by_w, done = 0, need = p->needed;
    double left_len = fmin((double)p->screen_days, (double)p->window_days);
    if (p->screen_consent)
        left_len = screen_measure(p, q, left_len);
    size_t prev = 0;
    for (size_t k = 0; k < p->n_intervals; k++) {
        size_t end = p->interval_end[k];
        unsigned long n = k < p->n_checkpoints
                              ? screening_in(p, r, q, p->points[prev], p->points[end], &left,
                                             &left_len)
                              : passed - by_w;
        if (*when == INFINITY && n > 0 && done + n >= need) {
            double start = p->points[prev];
            double len = fmin(p->points[end], (double)p->screen_days) - start;
            if (p->screen_days == 0) {
                *when = start;
            } else if (p->screen_consent) {
                double m0 = screen_measure(p, q, start), m1 = screen_measure(p, q, start + len);
                *when = screen_time(p, q, m0 + (m1 - m0) *
                                    sample_uniform_order_stat(r, need - done, n));
            } else {
                *when = start + len * sample_uniform_order_stat(r, need - done, n);
            }
        }
        done += n;
        if (k < p->n_checkpoints)
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
static void screening_paths(const core_plan *p, gsl_rng *r, work_layout *w, size_t n,
                            sim_batch *out)
{
    size_t B = p->batch, enrolled = (size_t)p->s->enrolled;
    unsigned long need = p->needed;
    for (size_t t = 0; t < n; t++) {
        w->needed[t] = shortfall((uint32_t)need, (uint32_t)w->passed[t]);
        w->target_time[t] = need == 0 ? -1.0 : INFINITY;
    }
    if (p->screen_first) {
        for (size_t k = 0; k < p->n_checkpoints; k++)
            row_set(out->at_checkpoint + k * B, enrolled, w->passed, n);
        for (size_t t = 0; t < n; t++)
            if (need > 0 && w->passed[t] >= need) {
                double sd = (double)p->screen_days;
                if (p->screen_days == 0)
                    w->target_time[t] = 0.0;
                else if (p->screen_consent)
                    w->target_time[t] = screen_time(
                        p, w->consent[t], screen_measure(p, w->consent[t], sd) *
                                              sample_uniform_order_stat(r, need, w->passed[t]));
                else
                    w->target_time[t] = sd * sample_uniform_order_stat(r, need, w->passed[t]);
            }
        return;
    }
    for (size_t t = 0; t < n; t++) {
        screening_path(p, r, w->consent[t], w->passed[t], w->passed_by_deadline[t],
                       &w->target_time[t], w->screen_count);
        for (size_t k = 0; k < p->n_checkpoints; k++)
            out->at_checkpoint[k * B + t] = enrolled + w->screen_count[k];
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
 * are split by words (N of them, drawn by inverting the window, up to SPLIT_WORDS_MAX; the
 * others get size 0 here): edge k is LAMBDA at the end of interval k as a share of M, scaled
 * to 2^32 and rounded (word_of). The last checkpoint is the deadline, below which every
 * registration falls: it needs no edge. */
SIMD_CLONES
static void split_edges(const core_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch;
    double *scale = w->span;
#pragma omp simd
    for (size_t t = 0; t < n; t++) {
        int by_words = w->drawn[t] <= (double)SPLIT_WORDS_MAX;
        w->referred[t] = by_words ? (uint32_t)w->drawn[t] : 0;
        scale[t] = w->mean[t] > 0.0 ? 4294967296.0 / w->mean[t] : 0.0;
    }
    for (size_t k = 0; k + 1 < p->n_checkpoints; k++) {
        const double *L = w->lambda_at_points + p->interval_end[k] * B;
        uint32_t *edge = w->interval_edge + k * B;
#pragma omp simd
        for (size_t t = 0; t < n; t++)
            edge[t] = word_of(L[t] * scale[t]);
    }
}

/* The trials with more than SPLIT_WORDS_MAX referral registrations by the deadline: their
 * multinomial split over the checkpoint intervals as a binomial per interval, interval k's
 * share of those left being its increment of LAMBDA over what is left of M (the conditional
 * laws of a multinomial), interval by interval, the trials' binomials of an interval drawn
 * together (sample_binomial_each), into their running counts below[k * B + t]; referred
 * becomes their number. */
static void split_by_binomials(const core_plan *p, gsl_rng *r, work_layout *w, size_t n)
{
    size_t B = p->batch, last = p->n_checkpoints - 1, m = 0;
    uint32_t trial[CORE_MAX_BATCH], left[CORE_MAX_BATCH], got[CORE_MAX_BATCH];
    double before[CORE_MAX_BATCH], share[CORE_MAX_BATCH];
    for (size_t t = 0; t < n; t++)
        if (w->drawn[t] > (double)SPLIT_WORDS_MAX) {
            trial[m] = (uint32_t)t;
            left[m] = (uint32_t)w->drawn[t];
            before[m++] = 0.0;
        }
    for (size_t k = 0; k < last && m > 0; k++) {
        const double *L = w->lambda_at_points + p->interval_end[k] * B;
        for (size_t j = 0; j < m; j++) {
            size_t t = trial[j];
            double rest = w->mean[t] - before[j];
            share[j] = rest > 0.0 ? (L[t] - before[j]) / rest : 1.0;
            before[j] = L[t];
        }
        sample_binomial_each(r, left, share, got, m);
        for (size_t j = 0; j < m; j++) {
            size_t t = trial[j];
            left[j] -= got[j];
            w->count_below[k * B + t] = (uint32_t)w->drawn[t] - left[j];
        }
    }
    for (size_t j = 0; j < m; j++)
        w->referred[trial[j]] = (uint32_t)w->drawn[trial[j]];
}

/* Referral registrations by the deadline, split: as given their number N they are independent
 * with distribution function LAMBDA(u) / M over the window (the order statistics property of a
 * Poisson process), each falls below edge k with probability LAMBDA(end of interval k) / M,
 * decided by one uniform 32-bit word (sample_split_sets draws it by halves). below[k] = the
 * running count by checkpoint k (the last: N); it is added to the checkpoint rows. */
static void split_referrals(const core_plan *p, gsl_rng *r, work_layout *w, size_t n,
                            sim_batch *out)
{
    size_t B = p->batch, last = p->n_checkpoints - 1;
    split_edges(p, w, n);
    sample_split_sets(r, n, w->referred, w->interval_edge, last, B, w->count_below, w->split_words);
    split_by_binomials(p, r, w, n);
    memcpy(w->count_below + last * B, w->referred, n * sizeof *w->referred);
    for (size_t k = 0; k < p->n_checkpoints; k++)
        row_add(out->at_checkpoint + k * B, w->count_below + k * B, n);
}

/* The trials whose referrals reach the target by the deadline: the rr-th referral
 * registration lies in the first interval whose running count reaches rr, as the j-th of its m
 * registrations, uniform order statistics of LAMBDA across the interval: at a fraction
 * Beta(j, m - j + 1) of it. Sets y to the interval's start (INFINITY for the other trials),
 * span to its width, the two shapes and `crosses`, which says which trials need the draw.
 * One scan over the intervals across the batch: the running counts never decrease, so the
 * intervals before the crossing are those whose count is below rr, and the crossing's is the
 * first of the others. Selects, not gathers (slower) or branches (on random values). */
SIMD_CLONES
static void crossing_intervals(const core_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch, n_checkpoints = p->n_checkpoints;
    uint32_t k[CORE_MAX_BATCH], before[CORE_MAX_BATCH], top[CORE_MAX_BATCH];
    double from[CORE_MAX_BATCH], to[CORE_MAX_BATCH];
    for (size_t t = 0; t < n; t++) {
        k[t] = before[t] = top[t] = 0;
        from[t] = to[t] = 0.0;
    }
    for (size_t c = 0; c < n_checkpoints; c++) {
        const uint32_t *count = w->count_below + c * B;
        const double *end = c + 1 < n_checkpoints ? w->lambda_at_points + p->interval_end[c] * B : w->mean;
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            int below = count[t] < w->needed[t], first = !below & (k[t] == c);
            from[t] = below ? end[t] : from[t];
            before[t] = below ? count[t] : before[t];
            to[t] = first ? end[t] : to[t];
            top[t] = first ? count[t] : top[t];
            k[t] += (uint32_t)below;
        }
    }
#pragma omp simd
    for (size_t t = 0; t < n; t++) {
        uint32_t rr = w->needed[t];
        int crosses = (rr > 0) & (k[t] < n_checkpoints);
        w->target_lambda[t] = crosses ? from[t] : INFINITY;
        w->span[t] = to[t] - from[t];
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
    w->listed[*listed] = w->one_by_one[*rare] = (uint32_t)t;
    w->shape_a[*listed] = a;
    w->shape_b[*listed] = b;
    *listed += needs & whole;
    *rare += needs & !whole;
}

/* Lists the crossing trials (list_draw); returns how many are listed, *n_rare how many rare (a
 * crossing interval holding more than SAMPLE_WHOLE_MAX registrations). */
static size_t crossings(const core_plan *p, work_layout *w, size_t n, size_t *n_rare)
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
    sample_beta_whole(r, w->shape_a, w->shape_b, w->whole_draw, listed);
    for (size_t i = 0; i < listed; i++)
        w->target_lambda[w->listed[i]] += w->span[w->listed[i]] * w->whole_draw[i];
    for (size_t i = 0; i < n_rare; i++) {
        size_t t = w->one_by_one[i];
        unsigned long j = w->cross_a[t], m = w->cross_a[t] + w->cross_b[t] - 1;
        w->target_lambda[t] += w->span[t] * sample_uniform_order_stat(r, j, m);
    }
}

/* The trials whose referrals by the deadline fall short of the rr they need: the target's
 * registration is the r-th further one past the deadline, r = rr - referred, at LAMBDA-value
 * LAMBDA(W) + Gamma(r, 1) (time change to a unit-rate process). Whole r up to SAMPLE_WHOLE_MAX
 * (all but rare trials) are drawn together, the others one by one. */
static void steps(const core_plan *p, gsl_rng *r, work_layout *w, size_t n)
{
    size_t listed = 0, rare = 0;
    for (size_t t = 0; t < n; t++) {
        uint32_t short_by = shortfall(w->needed[t], w->referred[t]);
        list_draw(w, t, short_by > 0, short_by, 1, &listed, &rare);
    }
    sample_gamma_whole(r, w->shape_a, w->whole_draw, listed);
    for (size_t i = 0; i < listed; i++)
        w->target_lambda[w->listed[i]] = w->mean[w->listed[i]] + w->whole_draw[i];
    for (size_t i = 0; i < rare; i++) {
        size_t t = w->one_by_one[i];
        unsigned long rest = w->needed[t] - w->referred[t];
        double step = rest < p->n_step_law ? sample_gamma_draw(r, &p->step_law[rest])
                                           : sample_gamma1(r, (double)rest);
        w->target_lambda[t] = w->mean[t] + step;
    }
}

/* when = LAMBDA^-1(y) for every trial screening has not completed. LAMBDA never decreases:
 * y lies past the points at or below it, up to the first point above it, found in one scan
 * over the points across the batch (selects, not gathers or branches); past the last point
 * LAMBDA grows at the final slope, or never again. */
SIMD_CLONES
static void invert_intensities(const core_plan *p, work_layout *w, size_t n)
{
    size_t B = p->batch;
    double lo[CORE_MAX_BATCH], u_lo[CORE_MAX_BATCH], hi[CORE_MAX_BATCH], u_hi[CORE_MAX_BATCH];
    int64_t above[CORE_MAX_BATCH];
    for (size_t t = 0; t < n; t++) {
        lo[t] = u_lo[t] = hi[t] = u_hi[t] = 0.0;
        above[t] = 0;
    }
    for (size_t j = 1; j < p->n_points; j++) {
        const double *L = w->lambda_at_points + j * B, u = p->points[j];
#pragma omp simd
        for (size_t t = 0; t < n; t++) {
            int64_t at_or_below = L[t] <= w->target_lambda[t], first = !at_or_below & !above[t];
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
        double gap = hi[t] - lo[t], span = u_hi[t] - u_lo[t], final = w->final_slope[t];
        double slope = (above[t] ? gap : final) / (above[t] ? span : 1.0);
        double ahead = (w->target_lambda[t] - lo[t]) / (slope > 0.0 ? slope : 1.0);
        double u = slope > 0.0 ? u_lo[t] + ahead : INFINITY, when = w->target_time[t];
        w->target_time[t] = when < INFINITY ? when : u;
    }
}

/* Every trial's path: checkpoint rows, the count at the deadline and the day the target is
 * reached. */
static void trial_paths(const core_plan *p, gsl_rng *r, work_layout *w, size_t n,
                        sim_batch *out)
{
    screening_paths(p, r, w, n, out);
    split_referrals(p, r, w, n, out);
    size_t n_rare, listed = crossings(p, w, n, &n_rare);
    place_crossings(r, w, listed, n_rare);
    steps(p, r, w, n);
    invert_intensities(p, w, n);
    size_t deadline = (p->n_checkpoints - 1) * p->batch;
    for (size_t t = 0; t < n; t++) {
        out->at_deadline[t] = out->at_checkpoint[deadline + t];
        out->completion_day[t] = day_of(p, w->target_time[t]);
    }
}

/* ---- a batch ---- */

/* E[registrations by the deadline | drawn values]: the enrolled, the screening registrations
 * by the deadline (their binomial mean, or the drawn count when not integrated) and M. */
static void conditional_means(const core_plan *p, const work_layout *w, size_t n,
                              sim_batch *out)
{
    const scenario *s = p->s;
    for (size_t t = 0; t < n; t++) {
        double screened = p->screen_integrated
                              ? (double)s->screening * screen_by_deadline(p, w, t)
                              : (double)w->passed_by_deadline[t];
        out->cond_mean[t] = (double)s->enrolled + screened + w->mean[t];
        out->cond_p_success[t] = w->p_success[t];
    }
}

/* LAMBDA at the deadline, M, for every trial: the conditional Poisson mean. */
static void deadline_means(const core_plan *p, work_layout *w, size_t n)
{
    const double *M = w->lambda_at_points + p->deadline_point * p->batch;
    for (size_t t = 0; t < n; t++)
        w->mean[t] = M[t];
}

void core_batch(const core_plan *p, gsl_rng *r, void *work, size_t n, sim_batch *out)
{
    work_layout w = work_of(p, work);
    draw_screening(p, r, &w, n);
    draw_inversions(r, &w, n);
    deadline_means(p, &w, n);
    if (p->screen_integrated)
        screening_weights(p, &w, n);
    window_starts(&w, n);
    conditional(p, &w, n, out);
    conditional_means(p, &w, n, out);
    trial_paths(p, r, &w, n, out);
}
