/* The parallel block loop: see sim.h. Rounds of blocks run in parallel (SIM_ROUND_BLOCKS, or
 * doubling from SIM_FIRST_ROUND_BLOCKS under a target standard error); between rounds the
 * per-block floating-point sums are reduced in block order and the stopping rules (trial budget,
 * target standard error, interruption) are checked, so that the number of trials run is itself
 * a deterministic function of (model, seed, configuration).
 *
 * Under MPI (engine/dist.h) each rank runs a contiguous share of every round's blocks on its
 * threads; the ranks then exchange the round's per-block sums (every rank receives every block,
 * in block order) and each adds them to its totals exactly as one process would, so that every
 * rank holds the same totals, takes the same stopping decision, and the results do not depend
 * on the number of ranks. A stop (a signal on any rank) is agreed at the same exchange, and the
 * integer histograms are summed over the ranks at the end. */
#include "sim.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "dist.h"
#include "rng.h"

/* Per-thread and per-block accumulators are written every trial; each starts on its own pair
 * of cache lines (adjacent-line prefetch pairs them), so two threads never write one line. */
#define SIM_LINE 128

/* calloc for arrays of the aligned accumulators (calloc itself only promises 16 bytes). */
static void *calloc_aligned(size_t n, size_t size)
{
    size_t bytes = n * size;
    bytes = (bytes + SIM_LINE - 1) / SIM_LINE * SIM_LINE;
    void *p = aligned_alloc(SIM_LINE, bytes ? bytes : SIM_LINE);
    if (p)
        memset(p, 0, bytes ? bytes : SIM_LINE);
    return p;
}

/* Sum and sum of squares of a per-trial quantity: enough for a mean and its standard error. */
typedef struct moments {
    double sum, sumsq;
} moments;

/* Floating-point sums of one block, filled by one thread in trial order. The per-count sums are
 * kept as separate arrays of sums and of squares (not as moments) so that adding a trial's
 * conditional pmf is a loop the compiler vectorises. */
typedef struct block_acc {
    _Alignas(SIM_LINE) uint64_t n;  /* aligned: blocks run side by side on different threads */
    moments p_success, mean;
    /* the control's sums (see controlled_estimate): sum z^j, j = 1 .. 2S, then sum P z^j, j = 1 ..
     * S (S = SIM_CONTROL_POWERS), z the conditional mean count centred and scaled, P = P(success |
     * drawn) */
    double control[3 * SIM_CONTROL_POWERS];
    double *pmf_sum, *pmf_sumsq;  /* [cond_cap] */
    size_t pmf_lo, pmf_hi;     /* the touched range of pmf, to keep clearing and reduction cheap */
    moments *unit_mean, *unit_p_none;
    moments *tally;            /* [n_tallies] */
} block_acc;

/* Integer tallies and scratch space of one thread. */
typedef struct thread_acc {
    _Alignas(SIM_LINE) hist at_deadline, completion;  /* aligned: no line shared by threads */
    hist *at_checkpoint;
    uint64_t successes;
    int failed;                /* a histogram could not grow */
    gsl_rng *rng, *path_rng;     /* the block's streams: up-front draws, paths */
    void *work;
    sim_batch batch;           /* the model's output arrays */
    double *batch_pmf;         /* pmf_sum and pmf_sumsq of batch, side by side */
} thread_acc;

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

double sim_fraction_se(uint64_t k, uint64_t n)
{
    if (n == 0)
        return 0.0;
    double p = (double)k / (double)n;
    return sqrt(p * (1.0 - p) / (double)n);
}

/* a - b for a sum of squares a of n terms and its mean part b, or 0 when the difference is
 * within the rounding error of accumulating a, at most n eps a (Higham 2002, "Accuracy and
 * Stability of Numerical Algorithms", 4.2): a quantity that never varies then gets a standard
 * error of exactly 0, not a residue of rounding. A real spread this small (a coefficient of
 * variation below sqrt(n eps)) could not change any printed digit. */
static double excess(double a, double b, uint64_t n)
{
    double d = a - b;
    return d > (double)n * DBL_EPSILON * fabs(a) ? d : 0.0;
}

/* Mean and standard error of the mean from n values' sum and sum of squares. */
static sim_estimate estimate_of(moments m, uint64_t n)
{
    sim_estimate e = {0.0, 0.0};
    if (n == 0)
        return e;
    double dn = (double)n;
    e.mean = m.sum / dn;
    if (n > 1) {
        double var = excess(m.sumsq, m.sum * e.mean, n) / (dn - 1.0);
        e.se = sqrt(var / dn);
    }
    return e;
}

/* The powers of the control the model's moments allow (1 to SIM_CONTROL_POWERS), and the scale
 * they are taken in: z = (M - E[M]) / scale, scale the standard deviation of M when known (so
 * that the powers' sums stay near 1 in size), else 1. */
static size_t control_powers(const sim_model *m)
{
    size_t k = m->control_powers;
    return k < 2 ? 1 : k > SIM_CONTROL_POWERS ? SIM_CONTROL_POWERS : k;
}

static double control_scale(const sim_model *m)
{
    return control_powers(m) >= 2 && m->control_central[2] > 0.0 ? sqrt(m->control_central[2])
                                                                  : 1.0;
}

/* P(success) with the conditional mean count M as control variate of known mean mu, and its
 * powers up to the model's order (z^j, z = (M - mu) / scale, of known means E[(M - mu)^j] /
 * scale^j): P - beta . (mean(z^j) - E[z^j]) with beta solving the trials' covariance equations
 * cov(z^i, z^j) beta = cov(z^i, P) (least squares; the residual variance var(P) - cov(P, z) beta
 * is the estimate's, over n). The powers enter in order while each adds variance of its own
 * (a Cholesky pivot above 1e-9 of its variance: a power that is a combination of the ones before,
 * as when M takes two values, is dropped with all after it). Falls back to the plain conditional
 * mean when M does not vary (then it carries no information) or there is no control. sums[]
 * holds sum z^j (j = 1 .. 2S) then sum P z^j (j = 1 .. S), S = SIM_CONTROL_POWERS, of which the
 * first K = control_powers(model) powers are used, from SIM_CONTROL_POWERS_MIN_TRIALS trials on
 * (before, M alone). */
static sim_estimate controlled_estimate(moments p, moments m, const double *sums, uint64_t n,
                                        const sim_model *model, double *beta_out)
{
    sim_estimate e = estimate_of(p, n);
    *beta_out = 0.0;
    if (!model->has_control || n < 3)
        return e;
    double dn = (double)n, pbar = p.sum / dn, mbar = m.sum / dn;
    double var_m = excess(m.sumsq, m.sum * mbar, n) / (dn - 1.0);
    double var_p = excess(p.sumsq, p.sum * pbar, n) / (dn - 1.0);
    if (!(var_m > 1e-12 * (1.0 + mbar * mbar)))
        return e;
    size_t K = n < SIM_CONTROL_POWERS_MIN_TRIALS ? 1 : control_powers(model);
    double scale = control_scale(model), zbar[2 * SIM_CONTROL_POWERS + 1], ez[SIM_CONTROL_POWERS + 1];
    double a[SIM_CONTROL_POWERS][SIM_CONTROL_POWERS], c[SIM_CONTROL_POWERS], beta[SIM_CONTROL_POWERS];
    for (size_t j = 1; j <= 2 * K; j++)
        zbar[j] = sums[j - 1] / dn;
    ez[1] = 0.0;
    for (size_t j = 2; j <= K; j++)
        ez[j] = model->control_central[j] / pow(scale, (double)j);
    for (size_t i = 0; i < K; i++) {
        for (size_t j = 0; j < K; j++)
            a[i][j] = (sums[i + j + 1] - dn * zbar[i + 1] * zbar[j + 1]) / (dn - 1.0);
        c[i] = (sums[2 * SIM_CONTROL_POWERS + i] - dn * pbar * zbar[i + 1]) / (dn - 1.0);
    }
    /* Cholesky a = L L^T in place (lower triangle), stopping at the first power that adds no
     * variance of its own. */
    size_t used = 0;
    for (size_t j = 0; j < K; j++) {
        double d = a[j][j];
        for (size_t r = 0; r < j; r++)
            d -= a[j][r] * a[j][r];
        if (!(d > 1e-9 * a[j][j]))
            break;
        a[j][j] = sqrt(d);
        for (size_t i = j + 1; i < K; i++) {
            double v = a[i][j];
            for (size_t r = 0; r < j; r++)
                v -= a[i][r] * a[j][r];
            a[i][j] = v / a[j][j];
        }
        used = j + 1;
    }
    if (used == 0)
        return e;
    /* L y = c, then L^T beta = y. */
    double y[SIM_CONTROL_POWERS];
    for (size_t i = 0; i < used; i++) {
        double v = c[i];
        for (size_t r = 0; r < i; r++)
            v -= a[i][r] * y[r];
        y[i] = v / a[i][i];
    }
    /* The first u powers explain sum_{i < u} y_i^2 of var(P). When they explain all of it (to
     * 1e-9), they interpolate P on the few values of M the trials drew: P is then a function of
     * a discrete M, and a value too rare to be drawn (the powers' means include it) would make
     * the SE of 0 wrong (tests/test_validation.c's one-day-delay: P = 1{M >= 1}, M binomial on
     * 0 .. 5, 5 never drawn); only the powers before the one that completes the fit are used
     * (M itself at least). */
    double explained = 0.0, sum = 0.0;   /* explained: by the first u powers */
    size_t u = 0;
    for (size_t i = 0; i < used; i++) {
        sum += y[i] * y[i];
        if (i == 0 || var_p - sum > 1e-9 * var_p) {
            u = i + 1;
            explained = sum;
        }
    }
    used = u;
    for (size_t i = used; i-- > 0;) {
        double v = y[i];
        for (size_t r = i + 1; r < used; r++)
            v -= a[r][i] * beta[r];
        beta[i] = v / a[i][i];
    }
    e.mean = pbar;
    for (size_t i = 0; i < used; i++)
        e.mean -= beta[i] * (zbar[i + 1] - ez[i + 1]);
    *beta_out = beta[0] / scale;
    double resid = var_p - explained;
    e.se = resid > 0.0 ? sqrt(resid / dn) : 0.0;
    return e;
}

static void moments_add(moments *m, double x)
{
    m->sum += x;
    m->sumsq += x * x;
}

/* Adds x[0..n-1], in order, to a and y[0..n-1] to b. The sums live in locals: through the
 * pointers the compiler must assume that the stores may change x and y, so it would load and
 * store each sum every trial and every add would wait for the previous store. Two quantities in
 * one loop give four independent chains of adds (each remains in trial order). */
static void moments_add_rows(moments *a, const double *x, moments *b, const double *y, size_t n)
{
    moments sa = *a, sb = *b;
    for (size_t j = 0; j < n; j++) {
        moments_add(&sa, x[j]);
        moments_add(&sb, y[j]);
    }
    *a = sa;
    *b = sb;
}

static void moments_merge(moments *dst, const moments *src)
{
    dst->sum += src->sum;
    dst->sumsq += src->sumsq;
}

/* ---- per-block accumulators ---- */

static int block_init(block_acc *b, const sim_model *m)
{
    memset(b, 0, sizeof *b);
    b->pmf_sum = calloc_aligned(m->cond_cap + 1, sizeof *b->pmf_sum);
    b->pmf_sumsq = calloc_aligned(m->cond_cap + 1, sizeof *b->pmf_sumsq);
    b->unit_mean = calloc_aligned(m->n_units + 1, sizeof *b->unit_mean);
    b->unit_p_none = calloc_aligned(m->n_units + 1, sizeof *b->unit_p_none);
    b->tally = calloc_aligned(m->n_tallies + 1, sizeof *b->tally);
    b->pmf_lo = m->cond_cap;
    return b->pmf_sum && b->pmf_sumsq && b->unit_mean && b->unit_p_none && b->tally ? 0 : -1;
}

static void block_free(block_acc *b)
{
    free(b->pmf_sum);
    free(b->pmf_sumsq);
    free(b->unit_mean);
    free(b->unit_p_none);
    free(b->tally);
}

static void block_clear(block_acc *b, const sim_model *m)
{
    if (b->pmf_hi > b->pmf_lo) {
        memset(b->pmf_sum + b->pmf_lo, 0, (b->pmf_hi - b->pmf_lo) * sizeof *b->pmf_sum);
        memset(b->pmf_sumsq + b->pmf_lo, 0, (b->pmf_hi - b->pmf_lo) * sizeof *b->pmf_sumsq);
    }
    b->pmf_lo = m->cond_cap;
    b->pmf_hi = 0;
    memset(b->unit_mean, 0, m->n_units * sizeof *b->unit_mean);
    memset(b->unit_p_none, 0, m->n_units * sizeof *b->unit_p_none);
    memset(b->tally, 0, m->n_tallies * sizeof *b->tally);
    b->n = 0;
    b->p_success = b->mean = (moments){0.0, 0.0};
    memset(b->control, 0, sizeof b->control);
}

/* ---- per-thread accumulators ---- */

static void thread_free(thread_acc *t, const sim_model *m)
{
    if (!t)
        return;
    hist_free(&t->at_deadline);
    hist_free(&t->completion);
    if (t->at_checkpoint)
        for (size_t k = 0; k < m->n_checkpoints; k++)
            hist_free(&t->at_checkpoint[k]);
    free(t->at_checkpoint);
    if (t->rng)
        gsl_rng_free(t->rng);
    if (t->path_rng)
        gsl_rng_free(t->path_rng);
    free(t->work);
    free(t->batch.at_deadline);
    free(t->batch.at_checkpoint);
    free(t->batch.completion_day);
    free(t->batch.cond_p_success);
    free(t->batch.unit_mean);
    free(t->batch.tally);
    free(t->batch_pmf);
}

/* The batch's arrays: per-trial counts, days and conditional values (cond_p_success and
 * cond_mean share one allocation, as do unit_mean and unit_p_none). */
static int batch_init(thread_acc *t, const sim_model *m)
{
    size_t n = m->batch;
    sim_batch *b = &t->batch;
    b->at_deadline = calloc(n, sizeof *b->at_deadline);
    b->at_checkpoint = calloc(m->n_checkpoints * n + 1, sizeof *b->at_checkpoint);
    b->completion_day = calloc(n, sizeof *b->completion_day);
    b->cond_p_success = calloc(2 * n, sizeof *b->cond_p_success);
    b->unit_mean = calloc(2 * m->n_units * n + 1, sizeof *b->unit_mean);
    b->tally = calloc(m->n_tallies * n + 1, sizeof *b->tally);
    t->batch_pmf = calloc(2 * m->cond_cap + 1, sizeof *t->batch_pmf);
    if (!b->at_deadline || !b->at_checkpoint || !b->completion_day || !b->cond_p_success ||
        !b->unit_mean || !b->tally || !t->batch_pmf)
        return -1;
    b->cond_mean = b->cond_p_success + n;
    b->unit_p_none = b->unit_mean + m->n_units * n;
    b->pmf_sum = t->batch_pmf;
    b->pmf_sumsq = t->batch_pmf + m->cond_cap;
    return 0;
}

static int thread_init(thread_acc *t, const sim_model *m)
{
    memset(t, 0, sizeof *t);
    size_t guess = m->target + 1;
    int ok = hist_init(&t->at_deadline, guess) == 0 &&
             hist_init(&t->completion, (size_t)m->n_days + 2) == 0;
    t->at_checkpoint = calloc(m->n_checkpoints + 1, sizeof *t->at_checkpoint);
    ok = ok && t->at_checkpoint;
    for (size_t k = 0; ok && k < m->n_checkpoints; k++)
        ok = hist_init(&t->at_checkpoint[k], guess) == 0;
    t->rng = gsl_rng_alloc(rng_philox4x32);
    t->path_rng = gsl_rng_alloc(rng_philox4x32);
    t->work = m->work_bytes ? calloc(1, m->work_bytes) : NULL;
    ok = ok && t->rng && t->path_rng && (t->work || !m->work_bytes) && batch_init(t, m) == 0;
    return ok ? 0 : -1;
}

/* ---- one batch, one block ---- */

/* Adds the batch's sums of the conditional pmf and of its squares to the block's. */
static void record_conditional_table(const sim_batch *o, block_acc *b)
{
    if (o->pmf_hi <= o->pmf_lo)
        return;
    for (size_t i = o->pmf_lo; i < o->pmf_hi; i++) {
        b->pmf_sum[i] += o->pmf_sum[i];
        b->pmf_sumsq[i] += o->pmf_sumsq[i];
    }
    if (o->pmf_lo < b->pmf_lo)
        b->pmf_lo = o->pmf_lo;
    if (o->pmf_hi > b->pmf_hi)
        b->pmf_hi = o->pmf_hi;
}

/* Adds the batch's n trials, in order, to the block's sums of the control's powers (see
 * controlled_estimate), kept in locals (see moments_add_rows). */
static void record_control(const sim_model *m, const sim_batch *o, size_t n, block_acc *b)
{
    enum { K = SIM_CONTROL_POWERS };
    double mu = m->control_mean, inv = 1.0 / control_scale(m), sum[3 * K];
    memcpy(sum, b->control, sizeof sum);
    for (size_t j = 0; j < n; j++) {
        double z = (o->cond_mean[j] - mu) * inv, p = o->cond_p_success[j], power[2 * K];
        power[0] = z;
#pragma GCC unroll 8
        for (size_t i = 1; i < 2 * K; i++)
            power[i] = power[i - 1] * z;
#pragma GCC unroll 8
        for (size_t i = 0; i < 2 * K; i++)
            sum[i] += power[i];
#pragma GCC unroll 4
        for (size_t i = 0; i < K; i++)
            sum[2 * K + i] += p * power[i];
    }
    memcpy(b->control, sum, sizeof sum);
}

/* Adds the batch's n trials, in order, to the thread's tallies and the block's sums. */
static void record_batch(const sim_model *m, const sim_batch *o, size_t n, thread_acc *t,
                         block_acc *b)
{
    size_t stride = m->batch;
    int bad = 0;
    bad |= hist_add_all(&t->at_deadline, o->at_deadline, n);
    for (size_t j = 0; j < n; j++) {
        t->successes += o->at_deadline[j] >= m->target;
        long day = o->completion_day[j];
        size_t slot = day < 0 ? 0 : day >= m->n_days ? (size_t)m->n_days + 1 : (size_t)day + 1;
        bad |= hist_add(&t->completion, slot);
    }
    for (size_t k = 0; k < m->n_checkpoints; k++)
        bad |= hist_add_all(&t->at_checkpoint[k], o->at_checkpoint + k * stride, n);
    t->failed |= bad;
    for (size_t j = 0; j < n; j++) {
        moments_add(&b->p_success, o->cond_p_success[j]);
        moments_add(&b->mean, o->cond_mean[j]);
    }
    if (m->has_control)
        record_control(m, o, n, b);
    for (size_t u = 0; u < m->n_units; u++)
        moments_add_rows(&b->unit_mean[u], o->unit_mean + u * stride, &b->unit_p_none[u],
                         o->unit_p_none + u * stride, n);
    for (size_t i = 0; i < m->n_tallies; i++)
        for (size_t j = 0; j < n; j++)
            moments_add(&b->tally[i], o->tally[i * stride + j]);
    record_conditional_table(o, b);
    b->n += n;
}

static int stop_requested(const sim_config *cfg)
{
    return cfg->stop && *cfg->stop;
}

/* Runs one block; returns 0 when a stop came before its last batch (the block is then
 * incomplete and must not count: its batches are checked one by one, since one batch of a
 * model with 100,000 units takes a fraction of a second and a block 64 of them). */
static int run_block(const sim_model *m, const sim_config *cfg, uint64_t block, thread_acc *t,
                     block_acc *b)
{
    uint64_t first = block * SIM_BLOCK_TRIALS;
    uint64_t n = cfg->trials - first < SIM_BLOCK_TRIALS ? cfg->trials - first : SIM_BLOCK_TRIALS;
    block_clear(b, m);
    rng_seek(t->rng, cfg->seed, (uint64_t)SIM_STREAM_DRAWS << 56 | block);
    rng_seek(t->path_rng, cfg->seed, (uint64_t)SIM_STREAM_PATH << 56 | block);
    sim_streams streams = {t->rng, t->path_rng};
    for (uint64_t j = 0; j < n; j += m->batch) {
        if (stop_requested(cfg))
            return 0;
        size_t count = n - j < m->batch ? (size_t)(n - j) : m->batch;
        t->batch.pmf_lo = t->batch.pmf_hi = 0;
        t->batch.flush = j + count == n;
        m->run_batch(m->ctx, &streams, t->work, count, &t->batch);
        record_batch(m, &t->batch, count, t, b);
    }
    return 1;
}

/* ---- totals ---- */

typedef struct totals {
    uint64_t n;
    moments p_success, mean;
    double control[3 * SIM_CONTROL_POWERS];   /* as block_acc's */
    moments *pmf;
    moments *unit_mean, *unit_p_none;
    moments *tally;
} totals;

static void totals_add_block(totals *s, const block_acc *b, const sim_model *m)
{
    s->n += b->n;
    moments_merge(&s->p_success, &b->p_success);
    moments_merge(&s->mean, &b->mean);
    for (size_t i = 0; i < 3 * SIM_CONTROL_POWERS; i++)
        s->control[i] += b->control[i];
    for (size_t i = b->pmf_lo; i < b->pmf_hi; i++) {
        s->pmf[i].sum += b->pmf_sum[i];
        s->pmf[i].sumsq += b->pmf_sumsq[i];
    }
    for (size_t u = 0; u < m->n_units; u++) {
        moments_merge(&s->unit_mean[u], &b->unit_mean[u]);
        moments_merge(&s->unit_p_none[u], &b->unit_p_none[u]);
    }
    for (size_t i = 0; i < m->n_tallies; i++)
        moments_merge(&s->tally[i], &b->tally[i]);
}

/* ---- the result ---- */

void sim_result_free(sim_result *r)
{
    if (!r)
        return;
    hist_free(&r->at_deadline);
    hist_free(&r->completion);
    if (r->at_checkpoint)
        for (size_t k = 0; k < r->n_checkpoints; k++)
            hist_free(&r->at_checkpoint[k]);
    free(r->at_checkpoint);
    free(r->pmf);
    free(r->unit_mean);
    free(r->unit_p_none);
    free(r->tally);
    free(r);
}

static sim_result *result_alloc(const sim_model *m)
{
    sim_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->n_checkpoints = m->n_checkpoints;
    r->n_units = m->n_units;
    r->n_days = m->n_days;
    r->target = m->target;
    r->at_checkpoint = calloc(m->n_checkpoints + 1, sizeof *r->at_checkpoint);
    r->pmf = calloc(m->cond_cap + 1, sizeof *r->pmf);
    r->unit_mean = calloc(m->n_units + 1, sizeof *r->unit_mean);
    r->unit_p_none = calloc(m->n_units + 1, sizeof *r->unit_p_none);
    r->n_tallies = m->n_tallies;
    r->tally = calloc(m->n_tallies + 1, sizeof *r->tally);
    int ok = r->at_checkpoint && r->pmf && r->unit_mean && r->unit_p_none && r->tally &&
             hist_init(&r->at_deadline, 1) == 0 && hist_init(&r->completion, 1) == 0;
    for (size_t k = 0; ok && k < m->n_checkpoints; k++)
        ok = hist_init(&r->at_checkpoint[k], 1) == 0;
    if (!ok) {
        sim_result_free(r);
        return NULL;
    }
    return r;
}

static int result_merge_thread(sim_result *r, const thread_acc *t, const sim_model *m)
{
    int bad = hist_merge(&r->at_deadline, &t->at_deadline) |
              hist_merge(&r->completion, &t->completion);
    for (size_t k = 0; k < m->n_checkpoints; k++)
        bad |= hist_merge(&r->at_checkpoint[k], &t->at_checkpoint[k]);
    return bad || t->failed ? -1 : 0;
}

static void result_set_estimates(sim_result *r, const totals *s, uint64_t successes,
                                 const sim_model *m)
{
    r->trials = s->n;
    r->p_success_plain.mean = s->n ? (double)successes / (double)s->n : 0.0;
    r->p_success_plain.se = sim_fraction_se(successes, s->n);
    r->mean_plain.mean = hist_mean(&r->at_deadline);
    r->mean_plain.se = s->n > 1 ? sqrt(hist_variance(&r->at_deadline) / (double)(s->n - 1)) : 0.0;
    r->p_success_cond = estimate_of(s->p_success, s->n);
    r->p_success = controlled_estimate(s->p_success, s->mean, s->control, s->n, m, &r->control_beta);
    r->mean = estimate_of(s->mean, s->n);
    r->pmf_len = 0;
    for (size_t i = 0; i < m->cond_cap; i++) {
        r->pmf[i] = estimate_of(s->pmf[i], s->n);
        if (s->pmf[i].sum > 0.0)
            r->pmf_len = i + 1;
    }
    for (size_t u = 0; u < m->n_units; u++) {
        r->unit_mean[u] = estimate_of(s->unit_mean[u], s->n);
        r->unit_p_none[u] = estimate_of(s->unit_p_none[u], s->n);
    }
    for (size_t i = 0; i < m->n_tallies; i++)
        r->tally[i] = estimate_of(s->tally[i], s->n);
}

/* ---- the run ---- */

typedef struct run_state {
    thread_acc *thread;
    block_acc *block;
    totals sum;
    int nthreads;
    int rank, ranks;           /* engine/dist.h: this process's share of every round */
    block_acc remote;          /* a block received from the ranks, for totals_add_block */
    double exchange_seconds, combine_seconds;   /* see sim_result */
    uint64_t exchange_rounds, exchange_blocks, exchange_bytes;
} run_state;

static void run_state_free(run_state *st, const sim_model *m)
{
    if (st->thread)
        for (int i = 0; i < st->nthreads; i++)
            thread_free(&st->thread[i], m);
    if (st->block)
        for (unsigned i = 0; i < SIM_ROUND_BLOCKS; i++)
            block_free(&st->block[i]);
    if (st->ranks > 1)
        block_free(&st->remote);
    free(st->thread);
    free(st->block);
    free(st->sum.pmf);
    free(st->sum.unit_mean);
    free(st->sum.unit_p_none);
    free(st->sum.tally);
}

static int run_state_init(run_state *st, const sim_model *m, int nthreads)
{
    memset(st, 0, sizeof *st);
    st->nthreads = nthreads;
    st->thread = calloc_aligned((size_t)nthreads, sizeof *st->thread);
    st->block = calloc_aligned(SIM_ROUND_BLOCKS, sizeof *st->block);
    st->sum.pmf = calloc(m->cond_cap + 1, sizeof *st->sum.pmf);
    st->sum.unit_mean = calloc(m->n_units + 1, sizeof *st->sum.unit_mean);
    st->sum.unit_p_none = calloc(m->n_units + 1, sizeof *st->sum.unit_p_none);
    st->sum.tally = calloc(m->n_tallies + 1, sizeof *st->sum.tally);
    if (!st->thread || !st->block || !st->sum.pmf || !st->sum.unit_mean || !st->sum.unit_p_none ||
        !st->sum.tally)
        return -1;
    int ok = 1;
    /* Each thread allocates its own tallies and scratch, so that they come from its own malloc
     * arena, far from the other threads' (small arrays written every trial must not share a
     * cache line across threads). */
#pragma omp parallel num_threads(nthreads) reduction(& : ok)
    ok = thread_init(&st->thread[omp_get_thread_num()], m) == 0;
    /* OpenMP may grant fewer threads than asked; whatever it did not set up is set up here. */
    for (int i = 0; i < nthreads; i++)
        if (!st->thread[i].rng)
            ok &= thread_init(&st->thread[i], m) == 0;
    for (unsigned i = 0; i < SIM_ROUND_BLOCKS; i++)
        ok &= block_init(&st->block[i], m) == 0;
    st->rank = dist_rank();
    st->ranks = dist_size();
    if (st->ranks > 1)
        ok &= block_init(&st->remote, m) == 0;
    return ok ? 0 : -1;
}

/* ---- the ranks' exchange (engine/dist.h) ---- */

/* The first block of rank r's share of a round of count blocks: the shares are contiguous, in
 * rank order, and differ by at most one block (so none exceeds SIM_ROUND_BLOCKS when a round has
 * at most SIM_ROUND_BLOCKS blocks a rank). */
static unsigned share_start(unsigned count, int r, int ranks)
{
    return (unsigned)((uint64_t)count * (uint64_t)r / (uint64_t)ranks);
}

/* The bytes of one block's sums: n, pmf_lo, pmf_hi, then p_success, mean, control, the pmf
 * range's sums and squares, the units' moments and the model's tallies' moments, as the
 * doubles they are (copied bit for bit, so that a block's sums are the same numbers on every
 * rank). */
static size_t packed_size(const block_acc *b, const sim_model *m)
{
    size_t range = b->pmf_hi > b->pmf_lo ? b->pmf_hi - b->pmf_lo : 0;
    return 3 * sizeof(uint64_t) + (4 + 3 * SIM_CONTROL_POWERS) * sizeof(double) +
           2 * range * sizeof(double) +
           (2 * m->n_units + m->n_tallies) * sizeof(moments);
}

static char *put(char *at, const void *x, size_t bytes)
{
    memcpy(at, x, bytes);
    return at + bytes;
}

static const char *get(const char *at, void *x, size_t bytes)
{
    memcpy(x, at, bytes);
    return at + bytes;
}

static char *pack_block(char *at, const block_acc *b, const sim_model *m)
{
    uint64_t lo = b->pmf_lo, hi = b->pmf_hi > b->pmf_lo ? b->pmf_hi : b->pmf_lo;
    at = put(at, &b->n, sizeof b->n);
    at = put(at, &lo, sizeof lo);
    at = put(at, &hi, sizeof hi);
    at = put(at, &b->p_success, sizeof b->p_success);
    at = put(at, &b->mean, sizeof b->mean);
    at = put(at, b->control, sizeof b->control);
    at = put(at, b->pmf_sum + lo, (size_t)(hi - lo) * sizeof *b->pmf_sum);
    at = put(at, b->pmf_sumsq + lo, (size_t)(hi - lo) * sizeof *b->pmf_sumsq);
    at = put(at, b->unit_mean, m->n_units * sizeof *b->unit_mean);
    at = put(at, b->unit_p_none, m->n_units * sizeof *b->unit_p_none);
    return put(at, b->tally, m->n_tallies * sizeof *b->tally);
}

/* Reads a block packed by pack_block into b (cleared first); NULL when the bytes end early or
 * name a range beyond the model's (which a rank of the same model never sends). */
static const char *unpack_block(const char *at, const char *end, block_acc *b,
                                const sim_model *m)
{
    uint64_t lo, hi;
    block_clear(b, m);
    if ((size_t)(end - at) < 3 * sizeof(uint64_t))
        return NULL;
    at = get(at, &b->n, sizeof b->n);
    at = get(at, &lo, sizeof lo);
    at = get(at, &hi, sizeof hi);
    if (lo > hi || hi > m->cond_cap)
        return NULL;
    b->pmf_lo = (size_t)lo;
    b->pmf_hi = (size_t)hi;
    if ((size_t)(end - at) < packed_size(b, m) - 3 * sizeof(uint64_t))
        return NULL;
    at = get(at, &b->p_success, sizeof b->p_success);
    at = get(at, &b->mean, sizeof b->mean);
    at = get(at, b->control, sizeof b->control);
    at = get(at, b->pmf_sum + lo, (size_t)(hi - lo) * sizeof *b->pmf_sum);
    at = get(at, b->pmf_sumsq + lo, (size_t)(hi - lo) * sizeof *b->pmf_sumsq);
    at = get(at, b->unit_mean, m->n_units * sizeof *b->unit_mean);
    at = get(at, b->unit_p_none, m->n_units * sizeof *b->unit_p_none);
    at = get(at, b->tally, m->n_tallies * sizeof *b->tally);
    if (hi == lo) {   /* an empty range, as block_clear leaves it */
        b->pmf_lo = m->cond_cap;
        b->pmf_hi = 0;
    }
    return at;
}

/* What a rank tells the others after its share of a round. */
enum { FLAG_SIGNAL, FLAG_STOPPED, FLAG_FAILED, N_FLAGS };

/* After this rank ran its share of a round (mine blocks from st->block[0], the first k of them
 * complete): sends them to the other ranks and adds every block of the round, in block order,
 * to the totals. Returns how many blocks count: count, or 0 when any rank stopped (the signal
 * is then recorded in cfg->stop on every rank, so that every rank's command ends as
 * interrupted) or -1 when a rank ran out of memory. */
static int64_t exchange_round(const sim_model *m, const sim_config *cfg, run_state *st,
                              unsigned count, unsigned mine, unsigned k)
{
    long flags[N_FLAGS] = {cfg->stop ? (long)*cfg->stop : 0, k < mine || stop_requested(cfg), 0};
    size_t len = 0;
    for (unsigned i = 0; i < mine; i++)
        len += packed_size(&st->block[i], m);
    char *mine_bytes = malloc(len ? len : 1), *at = mine_bytes;
    flags[FLAG_FAILED] = !mine_bytes;
    for (unsigned i = 0; mine_bytes && i < mine; i++)
        at = pack_block(at, &st->block[i], m);
    void *all = NULL;
    size_t total = 0;
    double t0 = omp_get_wtime();
    int rc = dist_gather_all(mine_bytes, len, flags, N_FLAGS, &all, &total);
    st->exchange_seconds += omp_get_wtime() - t0;
    st->exchange_rounds++;
    st->exchange_bytes += total;
    free(mine_bytes);
    if (rc != 0 || flags[FLAG_FAILED])
        return -1;
    if (flags[FLAG_SIGNAL] || flags[FLAG_STOPPED]) {
        if (cfg->stop && flags[FLAG_SIGNAL])
            *cfg->stop = (sig_atomic_t)flags[FLAG_SIGNAL];
        return 0;
    }
    const char *p = all, *end = p + total;
    t0 = omp_get_wtime();
    for (unsigned i = 0; i < count && p; i++)
        if ((p = unpack_block(p, end, &st->remote, m)))
            totals_add_block(&st->sum, &st->remote, m);
    free(all);
    st->combine_seconds += omp_get_wtime() - t0;
    st->exchange_seconds += omp_get_wtime() - t0;
    st->exchange_blocks += count;
    return p == end ? (int64_t)count : -1;
}

/* Runs this rank's share of blocks [first, first + count) in parallel; returns how many blocks
 * of the round count (all of them, or fewer after a stop), or -1 (out of memory on a rank). */
static int64_t run_round(const sim_model *m, const sim_config *cfg, run_state *st,
                         uint64_t first, unsigned count)
{
    unsigned done[SIM_ROUND_BLOCKS] = {0};
    unsigned lo = share_start(count, st->rank, st->ranks);
    unsigned mine = share_start(count, st->rank + 1, st->ranks) - lo;
#pragma omp parallel for schedule(dynamic, 1) num_threads(st->nthreads)
    for (unsigned i = 0; i < mine; i++) {
        if (stop_requested(cfg))
            continue;
        done[i] = (unsigned)run_block(m, cfg, first + lo + i, &st->thread[omp_get_thread_num()],
                                      &st->block[i]);
    }
    /* A block counts only if every block before it completed, so that an interrupted run's
     * partial result is still the result of its first k blocks. */
    unsigned k = 0;
    while (k < mine && done[k])
        k++;
    if (st->ranks > 1)
        return exchange_round(m, cfg, st, count, mine, k);
    for (unsigned i = 0; i < k; i++)
        totals_add_block(&st->sum, &st->block[i], m);
    return k;
}

/* Sums the ranks' integer tallies (histograms, successes) into every rank's result, and agrees
 * on failure and on a stop: returns 0, or -1 on every rank when any rank failed (bad, or out of
 * memory here). A signal that reached any rank by now is recorded on every rank (*stop_seen,
 * and cfg->stop): the commands check it after the run, and must all take the same branch. */
static int reduce_ranks(sim_result *r, uint64_t *successes, int bad, const sim_config *cfg,
                        const sim_model *m)
{
    size_t n_hist = 2 + m->n_checkpoints, n = 1;
    hist **h = malloc(n_hist * sizeof *h);
    long *len = malloc(n_hist * sizeof *len);
    long agree[2] = {bad || !h || !len, cfg->stop ? (long)*cfg->stop : 0};
    dist_max_long(agree, 2);
    if (agree[1] && cfg->stop)
        *cfg->stop = (sig_atomic_t)agree[1];
    if (agree[1])
        r->interrupted = 1;
    uint64_t *v = NULL;
    if (!agree[0]) {
        h[0] = &r->at_deadline;
        h[1] = &r->completion;
        for (size_t k = 0; k < m->n_checkpoints; k++)
            h[2 + k] = &r->at_checkpoint[k];
        for (size_t i = 0; i < n_hist; i++)
            len[i] = (long)hist_extent(h[i]);
        dist_max_long(len, n_hist);
        /* The sums travel as one array: every histogram's bins up to the largest extent on
         * any rank, then the successes. */
        for (size_t i = 0; i < n_hist; i++)
            n += (size_t)len[i];
        v = calloc(n, sizeof *v);
        agree[0] = !v;
        dist_max_long(agree, 1);
    }
    if (!agree[0]) {
        size_t at = 0;
        for (size_t i = 0; i < n_hist; i++) {
            memcpy(v + at, h[i]->bin, hist_extent(h[i]) * sizeof *v);
            at += (size_t)len[i];
        }
        v[at] = *successes;
        dist_sum_u64(v, n);
        at = 0;
        for (size_t i = 0; i < n_hist && !agree[0]; i++) {
            hist sum;
            agree[0] = hist_init(&sum, len[i] ? (size_t)len[i] : 1) != 0;
            for (size_t b = 0; !agree[0] && b < (size_t)len[i]; b++) {
                sum.bin[b] = v[at + b];
                sum.total += v[at + b];
            }
            at += (size_t)len[i];
            if (!agree[0]) {
                hist_free(h[i]);
                *h[i] = sum;
            }
        }
        *successes = v[n - 1];
        dist_max_long(agree, 1);
    }
    free(v);
    free(h);
    free(len);
    return agree[0] ? -1 : 0;
}

sim_result *sim_run(const sim_model *m, const sim_config *cfg, char *err, size_t errlen)
{
    if (!m || !cfg || !m->run_batch || m->batch == 0 || cfg->trials == 0 || cfg->threads < 1) {
        set_err(err, errlen, "sim_run: bad configuration (no model, zero trials or threads)");
        return NULL;
    }
    run_state st;
    memset(&st, 0, sizeof st);
    sim_result *r = result_alloc(m);
    long failed_init[1] = {!r || run_state_init(&st, m, cfg->threads) != 0};
    if (dist_size() > 1)
        dist_max_long(failed_init, 1);   /* every rank fails together, or none */
    if (failed_init[0]) {
        run_state_free(&st, m);
        sim_result_free(r);
        set_err(err, errlen, "out of memory setting up the simulation");
        return NULL;
    }
    uint64_t n_blocks = (cfg->trials + SIM_BLOCK_TRIALS - 1) / SIM_BLOCK_TRIALS;
    /* Under a target standard error, rounds grow geometrically (see SIM_FIRST_ROUND_BLOCKS) up
     * to SIM_ROUND_BLOCKS; else every round is full: SIM_ROUND_BLOCKS a rank, which changes
     * nothing but how often the rules are checked (and the ranks exchange). */
    unsigned full = cfg->target_se > 0.0 ? SIM_ROUND_BLOCKS : SIM_ROUND_BLOCKS * (unsigned)st.ranks;
    unsigned round = cfg->target_se > 0.0 ? SIM_FIRST_ROUND_BLOCKS : full;
    int failed = 0;
    for (uint64_t b = 0; b < n_blocks;) {
        unsigned count = n_blocks - b < round ? (unsigned)(n_blocks - b) : round;
        round = 2 * round < full ? 2 * round : full;
        int64_t done = run_round(m, cfg, &st, b, count);
        if (done < 0) {
            failed = 1;
            break;
        }
        b += (uint64_t)done;
        if ((uint64_t)done < count) {
            r->interrupted = 1;
            break;
        }
        double beta;
        sim_estimate p = controlled_estimate(st.sum.p_success, st.sum.mean, st.sum.control,
                                             st.sum.n, m, &beta);
        if (cfg->progress)
            cfg->progress(cfg->progress_arg, st.sum.n, cfg->trials, p.mean, p.se);
        if (cfg->target_se > 0.0 && st.sum.n > 1 && p.se <= cfg->target_se)
            break;
    }
    uint64_t successes = 0;
    int bad = failed;
    for (int i = 0; i < st.nthreads; i++) {
        bad |= result_merge_thread(r, &st.thread[i], m);
        successes += st.thread[i].successes;
    }
    if (st.ranks > 1) {
        double t0 = omp_get_wtime();
        bad = reduce_ranks(r, &successes, bad, cfg, m) != 0;
        r->exchange_seconds = st.exchange_seconds + omp_get_wtime() - t0;
        r->combine_seconds = st.combine_seconds;
        r->exchange_rounds = st.exchange_rounds;
        r->exchange_blocks = st.exchange_blocks;
        r->exchange_bytes = st.exchange_bytes;
    }
    if (r->interrupted) {
        /* Integer tallies of blocks run after the first unfinished one cannot be told apart
         * once merged; an interrupted run reports nothing, so only the counts matter. */
        successes = successes < st.sum.n ? successes : st.sum.n;
    }
    result_set_estimates(r, &st.sum, successes, m);
    run_state_free(&st, m);
    if (bad) {
        sim_result_free(r);
        set_err(err, errlen, failed ? "out of memory exchanging the blocks' sums among the ranks"
                                    : "out of memory growing a histogram");
        return NULL;
    }
    return r;
}
