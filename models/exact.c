/* The exact distribution of registrations at the deadline (DESIGN.md sections 2 and 5).
 *
 * Given the screen-pass probability p and the self-pay consent q, registrations by the deadline
 * are a sum of independent counts: enrolled (a constant), Binomial(screening, p c) from the
 * candidates already in screening (c = exact_screen_fraction), Poisson from the fixed-rate sites
 * together, and one negative binomial per gamma-rate site. The distribution of N is the
 * convolution of those, integrated over p and q when they are beta distributed. The Poisson and
 * negative binomial parts come together from one recurrence on their generating function
 * (poisson_negbin_pmf, its terms by models/exact_terms.c), O(groups) a count, the binomial and
 * the sites with uncertain first days by direct convolution. The recurrences of up to 8
 * quadrature nodes run side by side, one AVX-512 lane each, with the bits of one at a time.
 *
 * A capped site (sites.csv cap C: it refers at most C candidates from as_of) registers
 * Binomial(min(K, C), r) mixed over K, its referrals in its window: K ~ Poisson(m) for a fixed
 * rate, negative binomial (gamma-Poisson, shape k) for a gamma rate, m = rate x exposure / 365.25
 * not thinned by p, and r the thinning of every referral in the window (p before the self-pay
 * date, p q from it; models/pools.c computes the same law given a trial's draws). The law of
 * min(K, C) (P(K >= C) lumped at C) does not depend on p or q: it is built once, and only its
 * binomial thinning is redone at each quadrature node (add_capped), then convolved in. A capped
 * site whose window holds the self-pay date refers K1 before it (thinned by p) and K2 from it
 * (thinned by p q): it registers Binomial(min(K1, C), p) + Binomial(min(K2, C - min(K1, C)),
 * p q), where for a fixed rate K1 and K2 are independent Poissons and for a gamma rate K2 given
 * K1 = a is negative binomial of shape k + a (the rate's posterior); the laws of min(K1, C)
 * and of min(K2, C - a) for each a are built once, the thinnings at each node
 * (add_capped_split, about C^3 / 3 a node). Declined: a capped site with an uncertain first
 * day or that may not open, caps above EXACT_MAX_CAP, and above EXACT_MAX_CAP_SPLIT for a
 * window holding the self-pay date. */
#include "exact.h"
#include "exact_terms.h"
#include "schedule.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

/* Total probability mass any one conditional distribution may lose to truncation. It is split
 * evenly among the truncations (see cond_eps), so P(N >= n) loses at most this much. */
#define EXACT_TAIL_EPS 1e-13
/* The quadrature has converged when no entry of the pmf, and no value of the distribution
 * function, moves by more than this when the nodes are doubled, or when the move, extrapolated
 * by the last two, says the finer rule is within it (integrate_converged). Gauss rules converge
 * geometrically for these analytic integrands, so the error of the finer rule is far smaller. */
#define EXACT_QUAD_TOL 1e-10
#define EXACT_QUAD_FIRST 8
/* Node caps: 512 for one beta probability; 128 per axis (16384 pairs) for the tensor rule, whose
 * cost grows with the square. The nodes needed grow like the square root of the mean count
 * (the pmf at a fixed count is a spike in p of relative width 1/sqrt(mean)): some 16 to 32 for
 * the tens of registrations of a small trial, 128 for a Poisson part of mean 700. Beyond the
 * caps we report failure rather than run for minutes. */
#define EXACT_QUAD_MAX_1D 512
#define EXACT_QUAD_MAX_2D 128
/* A support longer than this (128 MiB of doubles) is refused as not computable here. */
#define EXACT_MAX_SUPPORT ((size_t)1 << 24)
/* The most components the mixtures over uncertain first days may hold in all: each costs a
 * pmf per quadrature node, so beyond this the exact mode declines (README). */
#define EXACT_MAX_COMPONENTS 20000
/* The largest cap computed: the thinning costs about cap^2 / 2 multiply-adds a node (as
 * models/pools.c's POOLS_MAX_TABLE bounds its tables). */
#define EXACT_MAX_CAP 4096
/* The same for a capped site whose window holds the self-pay date: about cap^3 / 3 a node. */
#define EXACT_MAX_CAP_SPLIT 256

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- Exposures and means ------------------------------------------------------------------ */

static double window_days(const scenario *s)
{
    return (double)scenario_window_days(s);
}

void exact_site_exposure(const scenario *s, size_t site, double *before_selfpay_days,
                         double *after_selfpay_days)
{
    double a = fmax(0.0, (double)s->site[site].active_from - (double)s->as_of);
    schedule_exposure(s, &s->site[site], a, before_selfpay_days, after_selfpay_days);
}

double exact_screen_fraction(const scenario *s)
{
    double w = window_days(s);

    if (w <= 0.0)
        return 0.0;
    if (s->screen_days <= 0)
        return 1.0;
    return fmin(1.0, w / (double)s->screen_days);
}

void exact_screen_fractions(const scenario *s, double *before, double *after)
{
    double sf = exact_screen_fraction(s), sd = (double)s->screen_days;
    double f = (double)s->selfpay_from - (double)s->as_of;

    if (!s->selfpay_screening) {
        *before = sf;
        *after = 0.0;
    } else if (sd <= 0.0) {
        *before = f > 0.0 ? sf : 0.0;
        *after = f > 0.0 ? 0.0 : sf;
    } else {
        double end = fmin(sd, window_days(s)), split = fmin(end, fmax(0.0, f));
        *before = split / sd;
        *after = (end - split) / sd;
    }
}

int exact_site_is_mixed(const site_spec *st)
{
    return st->active_to > st->active_from || st->opens < 1.0;
}

/* Calls visit(arg, weight, before, after) for each possible first day of site i (weights
 * opens / days, in day order, the days before as_of all starting at as_of), then once more for
 * "never opens" (weight 1 - opens, no exposure) when opens < 1. */
static void site_first_days(const scenario *s, size_t i,
                            void (*visit)(void *arg, double w, double b, double a), void *arg)
{
    const site_spec *st = &s->site[i];
    long first = (long)st->active_from - (long)s->as_of;
    long days = st->active_to > st->active_from ? (long)st->active_to - (long)st->active_from + 1
                                                : 1;
    for (long k = 0; k < days; k++) {
        double b, a;
        long d = first + k;
        schedule_exposure(s, st, (double)(d > 0 ? d : 0), &b, &a);
        visit(arg, st->opens / (double)days, b, a);
    }
    if (st->opens < 1.0)
        visit(arg, 1.0 - st->opens, 0.0, 0.0);
}

static void add_weighted(void *arg, double w, double b, double a)
{
    double *sum = arg;
    sum[0] += w * b;
    sum[1] += w * a;
}

static int capped_site_computable(const scenario *s, size_t i, char *err, size_t errlen);

/* E[min(K, C)] = sum_{j < C} P(K > j), K Poisson(m) (fixed rate) or negative binomial (gamma
 * rate of shape k, mean m: GSL's NB(n = k, p = k / (k + m))). */
static double capped_mean(const site_spec *st, double m)
{
    double e = 0.0;

    if (!(m > 0.0))
        return 0.0;
    for (long j = st->cap - 1; j >= 0; j--)   /* smallest first */
        e += st->shape > 0.0
                 ? gsl_cdf_negative_binomial_Q((unsigned)j, st->shape / (st->shape + m),
                                               st->shape)
                 : gsl_cdf_poisson_Q((unsigned)j, m);
    return e;
}

/* The split (exposures m1 before the self-pay date, m2 from it, both > 0): *e1 = E[min(K1, C)]
 * and *e2 = E[min(K2, C - min(K1, C))] = sum_{a < C} P(K1 = a) sum_{j < C - a} P(K2 > j | a),
 * K2 given K1 = a as in capped_site_init (GSL's NB(n = k + a, p = (1 + o1) / (1 + o1 + o2))). */
static void capped_split_means(const site_spec *st, double m1, double m2, double *e1, double *e2)
{
    double k = st->shape;

    *e1 = capped_mean(st, m1);
    *e2 = 0.0;
    for (long a = st->cap - 1; a >= 0; a--) {
        double pa, inner = 0.0;
        if (k > 0.0) {
            double o1 = m1 / k, o2 = m2 / k, n = k + (double)a, pn = (1.0 + o1) / (1.0 + o1 + o2);
            pa = gsl_ran_negative_binomial_pdf((unsigned)a, k / (k + m1), k);
            for (long j = st->cap - a - 1; j >= 0; j--)
                inner += gsl_cdf_negative_binomial_Q((unsigned)j, pn, n);
        } else {
            pa = gsl_ran_poisson_pdf((unsigned)a, m1);
            for (long j = st->cap - a - 1; j >= 0; j--)
                inner += gsl_cdf_poisson_Q((unsigned)j, m2);
        }
        *e2 += pa * inner;
    }
}

double exact_mean(const scenario *s)
{
    double ep = s->screen_pass.value, eq = s->selfpay_consent.value, sb, sa;
    exact_screen_fractions(s, &sb, &sa);
    double mean = (double)s->enrolled + (double)s->screening * ep * (sb + eq * sa);

    for (size_t i = 0; i < s->n_sites; i++) {
        double before, after;
        if (s->site[i].has_cap) {
            double em;
            if (!capped_site_computable(s, i, NULL, 0))
                return NAN;
            exact_site_exposure(s, i, &before, &after);
            if (before > 0.0 && after > 0.0) {
                double e2;
                capped_split_means(&s->site[i], s->site[i].rate * before / EXACT_DAYS_PER_YEAR,
                                   s->site[i].rate * after / EXACT_DAYS_PER_YEAR, &em, &e2);
                mean += ep * em + ep * eq * e2;
                continue;
            }
            em = capped_mean(&s->site[i], s->site[i].rate * (before + after) /
                                              EXACT_DAYS_PER_YEAR);
            mean += ep * (before > 0.0 ? 1.0 : eq) * em;
            continue;
        }
        if (exact_site_is_mixed(&s->site[i])) {
            double sum[2] = {0.0, 0.0};
            site_first_days(s, i, add_weighted, sum);
            before = sum[0];
            after = sum[1];
        } else {
            exact_site_exposure(s, i, &before, &after);
        }
        mean += s->site[i].rate * ep * (before + eq * after) / EXACT_DAYS_PER_YEAR;
    }
    return mean;
}

/* ---- Central moments of the conditional mean (exact_mean_moments) ---------------------------
 * A quantity's raw moments given (p, q) as polynomials: mom[j][a][b] is the coefficient of
 * p^a q^b in E[X^j | p, q], j <= EXACT_MOMENTS_MAX (degree at most j in each). */
#define MOM_D (EXACT_MOMENTS_MAX + 1)
typedef double moment_poly[MOM_D][MOM_D][MOM_D];

/* x's moments become those of x + y, y independent of x given (p, q): E[(x + y)^j] =
 * sum_i C(j, i) E[x^i] E[y^(j - i)] (polynomial products). */
static void moments_add_independent(moment_poly x, moment_poly y, size_t k)
{
    moment_poly z;
    memset(z, 0, sizeof z);
    for (size_t j = 0; j <= k; j++) {
        double c = 1.0;   /* C(j, i) */
        for (size_t i = 0; i <= j; i++) {
            for (size_t a1 = 0; a1 <= i; a1++)
                for (size_t b1 = 0; b1 <= i; b1++) {
                    if (x[i][a1][b1] == 0.0)
                        continue;
                    for (size_t a2 = 0; a2 + a1 <= j && a2 <= j - i; a2++)
                        for (size_t b2 = 0; b2 + b1 <= j && b2 <= j - i; b2++)
                            z[j][a1 + a2][b1 + b2] += c * x[i][a1][b1] * y[j - i][a2][b2];
                }
            c = c * (double)(j - i) / (double)(i + 1);
        }
    }
    memcpy(x, z, sizeof z);
}

/* row[i] += scale C(j, i) x^(j - i) y^i, i = 0 .. j: scale (x + q y)^j as a polynomial in q
 * (row indexed by q's power). */
static void add_power_in_q(double *row, double scale, double x, double y, size_t j)
{
    double c = 1.0;   /* C(j, i) */
    for (size_t i = 0; i <= j; i++) {
        row[i] += scale * c * pow(x, (double)(j - i)) * pow(y, (double)i);
        c = c * (double)(j - i) / (double)(i + 1);
    }
}

/* E[v^a] for a beta or fixed probability v, a = 0 .. k. */
static void prob_raw_moments(const prob_spec *v, size_t k, double *m)
{
    m[0] = 1.0;
    for (size_t a = 1; a <= k; a++)
        m[a] = m[a - 1] * (v->is_beta ? (v->a + (double)(a - 1)) / (v->a + v->b + (double)(a - 1))
                                      : v->value);
}

/* Site i's moments given (p, q): E[lambda^j] p^j sum_c w_c (b_c + q a_c)^j over its first days
 * (one component with weight 1 when it is not mixed), lambda per day (rate / 365.25). */
typedef struct site_moment_acc {
    moment_poly *m;
    size_t k;
    double lambda_moment[MOM_D];
} site_moment_acc;

static void add_site_component(void *arg, double w, double b, double a)
{
    site_moment_acc *acc = arg;
    for (size_t j = 0; j <= acc->k; j++)
        add_power_in_q((*acc->m)[j][j], w * acc->lambda_moment[j], b, a, j);
}

int exact_mean_moments(const scenario *s, int drawn_screening, size_t k, double *central)
{
    moment_poly total, part;
    if (k > EXACT_MOMENTS_MAX)
        k = EXACT_MOMENTS_MAX;
    for (size_t i = 0; i < s->n_sites; i++)
        if (s->site[i].has_cap)
            return -1;
    /* The constant, enrolled - E[C]: C's moments become central ones. */
    double c0 = (double)s->enrolled - exact_mean(s), power = 1.0;
    memset(total, 0, sizeof total);
    for (size_t j = 0; j <= k; j++, power *= c0)
        total[j][0][0] = power;
    /* The candidates in screening: pi = p (sb + q sa) each. */
    double sb, sa, n = (double)s->screening;
    exact_screen_fractions(s, &sb, &sa);
    memset(part, 0, sizeof part);
    if (!drawn_screening) {
        for (size_t j = 0; j <= k; j++)   /* (n p (sb + q sa))^j */
            add_power_in_q(part[j][j], pow(n, (double)j), sb, sa, j);
    } else {
        /* E[S^j | pi] = sum_i S2(j, i) n (n - 1) ... (n - i + 1) pi^i (Stirling numbers of the
         * second kind: factorial moments of the binomial), pi^i = p^i (sb + q sa)^i. */
        double s2[MOM_D][MOM_D] = {{1.0}};
        for (size_t j = 1; j <= k; j++)
            for (size_t i = 1; i <= j; i++)
                s2[j][i] = (double)i * s2[j - 1][i] + s2[j - 1][i - 1];
        for (size_t j = 0; j <= k; j++) {
            double falling = 1.0;
            for (size_t i = 0; i <= j; i++) {
                add_power_in_q(part[j][i], s2[j][i] * falling, sb, sa, i);
                falling *= n - (double)i;
            }
        }
    }
    moments_add_independent(total, part, k);
    for (size_t i = 0; i < s->n_sites; i++) {
        const site_spec *st = &s->site[i];
        site_moment_acc acc = {.m = &part, .k = k};
        double unit = st->rate / EXACT_DAYS_PER_YEAR;
        acc.lambda_moment[0] = 1.0;
        for (size_t j = 1; j <= k; j++)   /* gamma: theta^j k (k + 1) ... (k + j - 1) */
            acc.lambda_moment[j] = acc.lambda_moment[j - 1] * unit *
                                   (st->shape > 0.0 ? (st->shape + (double)(j - 1)) / st->shape : 1.0);
        memset(part, 0, sizeof part);
        if (exact_site_is_mixed(st)) {
            site_first_days(s, i, add_site_component, &acc);
        } else {
            double before, after;
            exact_site_exposure(s, i, &before, &after);
            add_site_component(&acc, 1.0, before, after);
        }
        moments_add_independent(total, part, k);
    }
    double ep[MOM_D], eq[MOM_D];
    prob_raw_moments(&s->screen_pass, k, ep);
    prob_raw_moments(&s->selfpay_consent, k, eq);
    for (size_t j = 0; j <= k; j++) {
        central[j] = 0.0;
        for (size_t a = 0; a <= j; a++)
            for (size_t b = 0; b <= j; b++)
                central[j] += total[j][a][b] * ep[a] * eq[b];
    }
    return 0;
}

/* ---- The model reduced to what the conditional distribution needs ------------------------- */

/* Given (p, q): the fixed-rate sites register Poisson(p (fix_before + q fix_after)); gamma site j
 * registers NB(k, m) with m = p (before + q after), the coefficients rate * days / 365.25. Its
 * odds m / k = p (before / k + q after / k) fix the term ratio rho = (m/k) / (1 + m/k), and
 * NB(k1, rho) + NB(k2, rho) = NB(k1 + k2, rho) (Johnson, Kemp and Kotz 5.1): the gamma sites
 * whose before / k and after / k are equal are one group, group j registering
 * NB(shape[j], rho) with m/k = p (before[j] + q after[j]) (per unit of shape). Repeated sites,
 * the many-site trials' usual case, cost one group. */
/* A site whose first day is uncertain or that may never open registers a mixture, over its
 * possible first days, of Poisson (fixed rate) or negative binomial laws: component c has
 * weight[c] and coefficients before[c], after[c] as above (days with the same exposure merged).
 * Sites with the same mixture are one entry with copies > 1: its pmf is built once a node and
 * convolved copies times. */
typedef struct mixed_site {
    double shape;           /* gamma shape; 0: a fixed rate */
    size_t n, copies;
    double *weight, *before, *after;
} mixed_site;

static void mixed_site_free(mixed_site *ms)
{
    free(ms->weight);
    free(ms->before);
    free(ms->after);
    memset(ms, 0, sizeof *ms);
}

/* Whether a and b are the same mixture. */
static int mixed_site_same(const mixed_site *a, const mixed_site *b)
{
    return a->shape == b->shape && a->n == b->n &&
           !memcmp(a->weight, b->weight, a->n * sizeof *a->weight) &&
           !memcmp(a->before, b->before, a->n * sizeof *a->before) &&
           !memcmp(a->after, b->after, a->n * sizeof *a->after);
}

/* A pmf on lo .. lo + len - 1 (the wpmf below, declared here for the capped sites). */
typedef struct wpmf_row {
    size_t lo, len;
    double *p;
} wpmf_row;

/* A capped site: pmf[i] = P(min(K, C) = lo + i) (its referrals in the window, at most C), its
 * registrations that pmf thinned by p (after = 0) or by p q (after = 1). */
typedef struct capped_site {
    size_t lo, len;
    double *pmf;
    int after;
    /* split: the self-pay date inside the window. Then pmf (lo, len) is the law of
     * min(K1, C), K1 the referrals before the date, and row[a] (a < C) that of
     * min(K2, C - a) given K1 = a, K2 those from the date on (thinned by p q). */
    int split;
    size_t cap;
    wpmf_row *row;
} capped_site;

/* Builds site i's capped_site from its exposure (in days, before and after the self-pay date,
 * exactly one of them positive) with truncations of at most eps; 0 or -1 (out of memory, or a
 * support beyond EXACT_MAX_SUPPORT). Defined with the laws below. */
static int capped_site_init(capped_site *cs, const site_spec *st, double before, double after,
                            double eps);

typedef struct exact_model {
    unsigned long screening;
    double screen_before, screen_after;   /* exact_screen_fractions */
    double fix_before, fix_after;
    size_t n_groups;
    double *shape, *before, *after;     /* per group: total shape, before / k, after / k */
    size_t n_mixed, n_components;
    mixed_site *mixed;
    size_t n_capped;
    capped_site *capped;
    double eps;             /* truncation budget of each single truncation */
} exact_model;

static void model_free(exact_model *m)
{
    for (size_t j = 0; m->capped && j < m->n_capped; j++) {
        free(m->capped[j].pmf);
        for (size_t a = 0; m->capped[j].row && a < m->capped[j].cap; a++)
            free(m->capped[j].row[a].p);
        free(m->capped[j].row);
    }
    free(m->capped);
    free(m->shape);
    free(m->before);
    free(m->after);
    for (size_t j = 0; m->mixed && j < m->n_mixed; j++)
        mixed_site_free(&m->mixed[j]);
    free(m->mixed);
    memset(m, 0, sizeof *m);
}

/* Collects a mixed site's components, merging a day into the previous one when their
 * exposures are equal (the days before as_of, the days past the window's end). */
typedef struct mixture_builder {
    mixed_site *ms;
    double per_day;
    size_t cap;
    int failed;
} mixture_builder;

static void add_component(void *arg, double w, double b, double a)
{
    mixture_builder *mb = arg;
    mixed_site *ms = mb->ms;
    b *= mb->per_day;
    a *= mb->per_day;
    if (ms->n > 0 && ms->before[ms->n - 1] == b && ms->after[ms->n - 1] == a) {
        ms->weight[ms->n - 1] += w;
        return;
    }
    if (ms->n == mb->cap) {
        mb->failed = 1;
        return;
    }
    ms->weight[ms->n] = w;
    ms->before[ms->n] = b;
    ms->after[ms->n] = a;
    ms->n++;
}

static int mixed_site_init(mixed_site *ms, const scenario *s, size_t i)
{
    const site_spec *st = &s->site[i];
    size_t days = st->active_to > st->active_from
                      ? (size_t)((long)st->active_to - (long)st->active_from + 1) : 1;
    mixture_builder mb = {ms, st->rate / EXACT_DAYS_PER_YEAR, days + 1, 0};
    ms->shape = st->shape;
    ms->n = 0;
    ms->weight = malloc(mb.cap * sizeof *ms->weight);
    ms->before = malloc(mb.cap * sizeof *ms->before);
    ms->after = malloc(mb.cap * sizeof *ms->after);
    if (!ms->weight || !ms->before || !ms->after)
        return -1;
    site_first_days(s, i, add_component, &mb);
    return mb.failed ? -1 : 0;
}

/* Whether site i has a cap the exact mode computes (see the top comment); when not, why, in err. */
static int capped_site_computable(const scenario *s, size_t i, char *err, size_t errlen)
{
    const site_spec *st = &s->site[i];
    double before, after;

    if (exact_site_is_mixed(st)) {
        set_err(err, errlen, "exact: declined, site %s has a cap and an uncertain first day or "
                "may not open; the exact mode does not compute that mixture (accrue run "
                "simulates it)", st->name);
        return 0;
    }
    if (st->cap > EXACT_MAX_CAP) {
        set_err(err, errlen, "exact: declined, site %s has a cap of %ld, above the %d the exact "
                "mode computes (accrue run simulates it)", st->name, st->cap,
                EXACT_MAX_CAP);
        return 0;
    }
    exact_site_exposure(s, i, &before, &after);
    if (st->rate > 0.0 && st->cap > EXACT_MAX_CAP_SPLIT && before > 0.0 && after > 0.0) {
        set_err(err, errlen, "exact: declined, site %s has a cap of %ld and the self-pay date "
                "inside its window; the exact mode computes that up to a cap of %d (accrue run "
                "simulates it)", st->name, st->cap, EXACT_MAX_CAP_SPLIT);
        return 0;
    }
    return 1;
}

static int model_init(exact_model *m, const scenario *s, char *err, size_t errlen)
{
    size_t n = s->n_sites ? s->n_sites : 1, components, mixed_sites = 0, capped_sites = 0;

    memset(m, 0, sizeof *m);
    /* The truncation budget first: the capped sites' laws are built here. */
    for (size_t i = 0; i < s->n_sites; i++) {
        if (s->site[i].has_cap && !capped_site_computable(s, i, err, errlen))
            return -1;
        if (s->site[i].has_cap) {
            double before, after;
            exact_site_exposure(s, i, &before, &after);
            capped_sites += before > 0.0 && after > 0.0 ? 2 : 1;
        } else if (exact_site_is_mixed(&s->site[i]))
            mixed_sites++;
    }
    /* Truncations, each losing at most eps: the Poisson and negative binomial groups together
     * 3 (poisson_negbin_pmf: the upper cut, then a trim of each side), the binomial 4 (its two
     * sides, the convolution's two), each mixed site 6 (its components' two sides in a weighted
     * mean, its trim's two, the convolution's two), each capped site 6 (its law's two sides,
     * the thinned law's trim's two, the convolution's two), 8 with the self-pay date inside
     * its window (its rows' two sides in a weighted mean too), counted as two components. 6
     * per component covers them all. */
    components = 2 + mixed_sites + capped_sites;
    m->eps = EXACT_TAIL_EPS / (6.0 * (double)components);
    mixed_sites = 0;
    m->screening = s->screening > 0 ? (unsigned long)s->screening : 0;
    exact_screen_fractions(s, &m->screen_before, &m->screen_after);
    m->shape = malloc(n * sizeof *m->shape);
    m->before = malloc(n * sizeof *m->before);
    m->after = malloc(n * sizeof *m->after);
    m->mixed = calloc(n, sizeof *m->mixed);
    m->capped = calloc(n, sizeof *m->capped);
    if (!m->shape || !m->before || !m->after || !m->mixed || !m->capped) {
        model_free(m);
        set_err(err, errlen, "exact: out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->n_sites; i++) {
        double before, after, per_day = s->site[i].rate / EXACT_DAYS_PER_YEAR;
        if (s->site[i].has_cap) {
            exact_site_exposure(s, i, &before, &after);
            if (per_day * (before + after) <= 0.0 || s->site[i].cap == 0)
                continue;                   /* refers nobody in the window */
            /* counted before it is built, so that model_free frees a half-built one */
            if (capped_site_init(&m->capped[m->n_capped++], &s->site[i], before, after,
                                 m->eps) != 0) {
                model_free(m);
                set_err(err, errlen, "exact: out of memory, or support beyond %zu counts",
                        (size_t)EXACT_MAX_SUPPORT);
                return -1;
            }
            continue;
        }
        if (exact_site_is_mixed(&s->site[i])) {
            mixed_site *ms = &m->mixed[m->n_mixed++];
            if (mixed_site_init(ms, s, i) != 0) {
                model_free(m);
                set_err(err, errlen, "exact: out of memory");
                return -1;
            }
            mixed_sites++;
            ms->copies = 1;
            for (size_t j = 0; j + 1 < m->n_mixed; j++)
                if (mixed_site_same(&m->mixed[j], ms)) {
                    m->mixed[j].copies++;
                    mixed_site_free(ms);
                    m->n_mixed--;
                    ms = NULL;
                    break;
                }
            if (ms == NULL)
                continue;
            m->n_components += ms->n;
            if (m->n_components > EXACT_MAX_COMPONENTS) {
                model_free(m);
                set_err(err, errlen, "exact: declined, the sites' uncertain first days make "
                        "more than %d distinct exposures to mix (the simulator handles them)",
                        EXACT_MAX_COMPONENTS);
                return -1;
            }
            continue;
        }
        exact_site_exposure(s, i, &before, &after);
        if (per_day * (before + after) <= 0.0)
            continue;                       /* registers nobody in the window */
        if (s->site[i].shape > 0.0) {
            double k = s->site[i].shape, b = per_day * before / k, a = per_day * after / k;
            size_t j = 0;
            while (j < m->n_groups && !(m->before[j] == b && m->after[j] == a))
                j++;
            if (j == m->n_groups) {
                m->shape[j] = 0.0;
                m->before[j] = b;
                m->after[j] = a;
                m->n_groups++;
            }
            m->shape[j] += k;
        } else {
            m->fix_before += per_day * before;
            m->fix_after += per_day * after;
        }
    }
    return 0;
}

/* Does the distribution depend on p (resp. q) at all? Integrating over a probability that no
 * count depends on would only multiply the work. */
static int model_uses_p(const exact_model *m)
{
    return (m->screening > 0 && m->screen_before + m->screen_after > 0.0) ||
           m->fix_before > 0.0 || m->fix_after > 0.0 || m->n_groups > 0 || m->n_mixed > 0 ||
           m->n_capped > 0;
}

static int model_uses_q(const exact_model *m)
{
    if (m->fix_after > 0.0 || (m->screening > 0 && m->screen_after > 0.0))
        return 1;
    for (size_t j = 0; j < m->n_mixed; j++)
        for (size_t c = 0; c < m->mixed[j].n; c++)
            if (m->mixed[j].after[c] > 0.0)
                return 1;
    for (size_t j = 0; j < m->n_groups; j++)
        if (m->after[j] > 0.0)
            return 1;
    for (size_t j = 0; j < m->n_capped; j++)
        if (m->capped[j].after || m->capped[j].split)
            return 1;
    return 0;
}

/* ---- Windowed pmfs ------------------------------------------------------------------------ */

/* p[i] = P(X = lo + i) for i < len; mass outside the window was truncated. */
typedef struct wpmf {
    size_t lo, len;
    double *p;
} wpmf;

static void wpmf_free(wpmf *w)
{
    free(w->p);
    w->p = NULL;
    w->lo = w->len = 0;
}

/* A growable array of doubles. */
typedef struct dvec {
    double *v;
    size_t len, cap;
} dvec;

static void dvec_free(dvec *d)
{
    free(d->v);
    d->v = NULL;
    d->len = d->cap = 0;
}

static int dvec_reserve(dvec *d, size_t len)
{
    size_t cap = d->cap ? d->cap : 64;
    double *v;

    if (len <= d->cap)
        return 0;
    if (len > EXACT_MAX_SUPPORT)
        return -1;
    while (cap < len)
        cap *= 2;
    v = realloc(d->v, cap * sizeof *v);
    if (v == NULL)
        return -1;
    d->v = v;
    d->cap = cap;
    return 0;
}

static int dvec_push(dvec *d, double x)
{
    if (dvec_reserve(d, d->len + 1) != 0)
        return -1;
    d->v[d->len++] = x;
    return 0;
}

/* acc[lo + i] += weight * w.p[i], growing acc with zeros as needed. */
static int dvec_add_window(dvec *acc, const wpmf *w, double weight)
{
    size_t end = w->lo + w->len;

    if (dvec_reserve(acc, end) != 0)
        return -1;
    if (end > acc->len) {
        memset(acc->v + acc->len, 0, (end - acc->len) * sizeof *acc->v);
        acc->len = end;
    }
    for (size_t i = 0; i < w->len; i++)
        acc->v[w->lo + i] += weight * w->p[i];
    return 0;
}

/* ---- The three laws, by their term ratios --------------------------------------------------
 *
 * Each pmf t(x) is computed relative to its mode by the ratios of successive terms and then
 * normalised by the sum of the terms kept. This needs no gamma function, so it does not lose the
 * relative precision that log-gamma differences lose for means in the thousands:
 *   Poisson(mu):        t(x+1)/t(x) = mu / (x+1)
 *   Binomial(n, pi):    t(x+1)/t(x) = (n-x)/(x+1) * pi/(1-pi)
 *   NegBin(k, m):       t(x+1)/t(x) = (k+x)/(x+1) * rho,  rho = m/(k+m),
 * where NegBin(k, m) is P(X = x) = Gamma(k+x)/(Gamma(k) x!) (k/(k+m))^k (m/(k+m))^x, the count of a
 * Poisson process whose rate is Gamma(shape k) with mean giving m (Anisimov and Fedorov 2007;
 * Johnson, Kemp and Kotz, "Univariate Discrete Distributions", 3rd ed., 5.1 and 4.2).
 * Beyond the mode the ratios only fall (or, for NegBin with k < 1, rise towards rho < 1), so the
 * terms after x are bounded by a geometric series t(x) r/(1-r) with r the largest ratio still to
 * come: the truncation bound used to stop. */
typedef enum law_kind { LAW_POISSON, LAW_BINOMIAL, LAW_NEGBIN } law_kind;

typedef struct law {
    law_kind kind;
    double mu;          /* Poisson mean */
    unsigned long n;    /* binomial trials */
    double pi;          /* binomial success probability, strictly inside (0, 1) */
    double k, m, rho;   /* negative-binomial shape, mean and m / (k + m) */
} law;

static double law_ratio_up(const law *l, double x)
{
    switch (l->kind) {
    case LAW_POISSON:
        return l->mu / (x + 1.0);
    case LAW_BINOMIAL:
        return ((double)l->n - x) / (x + 1.0) * (l->pi / (1.0 - l->pi));
    case LAW_NEGBIN:
        return (l->k + x) / (x + 1.0) * l->rho;
    }
    return 0.0;
}

/* t(x-1)/t(x), x >= 1. */
static double law_ratio_down(const law *l, double x)
{
    switch (l->kind) {
    case LAW_POISSON:
        return x / l->mu;
    case LAW_BINOMIAL:
        return x * (1.0 - l->pi) / (((double)l->n - x + 1.0) * l->pi);
    case LAW_NEGBIN:
        return x / ((l->k + x - 1.0) * l->rho);
    }
    return 0.0;
}

/* The largest ratio t(y+1)/t(y) for y >= x, x at or beyond the mode. */
static double law_ratio_bound(const law *l, double x)
{
    double r = law_ratio_up(l, x);
    return l->kind == LAW_NEGBIN ? fmax(r, l->rho) : r;
}

static double law_mode(const law *l)
{
    switch (l->kind) {
    case LAW_POISSON:
        return floor(l->mu);
    case LAW_BINOMIAL:
        return fmin((double)l->n, floor(((double)l->n + 1.0) * l->pi));
    case LAW_NEGBIN:
        return l->k > 1.0 ? floor((l->k - 1.0) / l->k * l->m) : 0.0;
    }
    return 0.0;
}

/* Terms above the mode (mode excluded) into up, relative to t(mode) = 1; *sum gains them. */
static int law_sweep_up(const law *l, double mode, double eps, dvec *up, double *sum)
{
    double t = 1.0;

    for (double x = mode;; x += 1.0) {
        double r, next;
        if (l->kind == LAW_BINOMIAL && x >= (double)l->n)
            return 0;
        r = law_ratio_bound(l, x);
        if (r < 1.0 && t * r / (1.0 - r) < eps * *sum)
            return 0;
        next = t * law_ratio_up(l, x);
        if (next <= 0.0)
            return 0;
        if (dvec_push(up, next) != 0)
            return -1;
        *sum += next;
        t = next;
    }
}

/* Terms below the mode into down (nearest first); below the mode t(x-1)/t(x) falls with x. */
static int law_sweep_down(const law *l, double mode, double eps, dvec *down, double *sum)
{
    double t = 1.0;

    for (double x = mode; x >= 1.0; x -= 1.0) {
        double r = law_ratio_down(l, x), next;
        if (r < 1.0 && t * r / (1.0 - r) < eps * *sum)
            return 0;
        next = t * r;
        if (next <= 0.0)
            return 0;
        if (dvec_push(down, next) != 0)
            return -1;
        *sum += next;
        t = next;
    }
    return 0;
}

/* The pmf of l, truncated where each side's remaining mass is below eps, normalised. */
static int law_pmf(const law *l, double eps, wpmf *out)
{
    dvec up = {0}, down = {0};
    double mode = law_mode(l), sum = 1.0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (mode >= (double)EXACT_MAX_SUPPORT)
        return -1;
    /* Sweeping down first makes the upper stopping test see most of the mass in sum. */
    if (law_sweep_down(l, mode, eps, &down, &sum) != 0 ||
        law_sweep_up(l, mode, eps, &up, &sum) != 0)
        goto done;
    out->len = down.len + 1 + up.len;
    out->lo = (size_t)mode - down.len;
    out->p = malloc(out->len * sizeof *out->p);
    if (out->p == NULL)
        goto done;
    for (size_t i = 0; i < down.len; i++)
        out->p[i] = down.v[down.len - 1 - i] / sum;
    out->p[down.len] = 1.0 / sum;
    for (size_t i = 0; i < up.len; i++)
        out->p[down.len + 1 + i] = up.v[i] / sum;
    rc = 0;
done:
    dvec_free(&up);
    dvec_free(&down);
    if (rc != 0)
        wpmf_free(out);
    return rc;
}

static int point_mass(size_t at, wpmf *out)
{
    out->lo = at;
    out->len = 1;
    out->p = malloc(sizeof *out->p);
    if (out->p == NULL)
        return -1;
    out->p[0] = 1.0;
    return 0;
}

/* ---- Convolution and truncation ----------------------------------------------------------- */

/* Drops the outermost entries on each side while the mass dropped stays below eps. */
static void wpmf_trim(wpmf *w, double eps)
{
    size_t lo = 0, hi = w->len;
    double cut = 0.0;

    while (hi - lo > 1 && cut + w->p[lo] < eps)
        cut += w->p[lo++];
    cut = 0.0;
    while (hi - lo > 1 && cut + w->p[hi - 1] < eps)
        cut += w->p[--hi];
    if (lo > 0)
        memmove(w->p, w->p + lo, (hi - lo) * sizeof *w->p);
    w->lo += lo;
    w->len = hi - lo;
}

/* *acc becomes the distribution of the sum of independent variables with pmfs *acc and *b,
 * trimmed by eps; O(len_acc * len_b). */
/* Multiply-adds spent in convolutions and recurrences by the current computation on this
 * thread, and the most allowed (0: no limit); over is set when one was refused for the limit. */
typedef struct work_budget {
    double used, limit;
    int over;
} work_budget;
static _Thread_local work_budget work;

/* The caller's stop flag (exact_set_stop), or NULL. */
static volatile sig_atomic_t *stop_flag;

void exact_set_stop(volatile sig_atomic_t *stop)
{
    stop_flag = stop;
}

static int stop_requested(void)
{
    return stop_flag && *stop_flag;
}

/* The caller's progress function (exact_set_progress), or NULL. */
static void (*progress_fn)(void *arg, const char *what, double fraction);
static void *progress_arg;

void exact_set_progress(void (*fn)(void *arg, const char *what, double fraction), void *arg)
{
    progress_fn = fn;
    progress_arg = arg;
}

static int wpmf_convolve_into(wpmf *acc, const wpmf *b, double eps)
{
    wpmf c;

    if (b->len == 1 && b->p[0] == 1.0) {    /* a point mass only shifts */
        acc->lo += b->lo;
        return 0;
    }
    work.used += (double)acc->len * (double)b->len;
    if (work.limit > 0.0 && work.used > work.limit) {
        work.over = 1;
        return -1;
    }
    if (stop_requested())
        return -1;
    c.lo = acc->lo + b->lo;
    c.len = acc->len + b->len - 1;
    if (c.lo + c.len > EXACT_MAX_SUPPORT)
        return -1;
    c.p = calloc(c.len, sizeof *c.p);
    if (c.p == NULL)
        return -1;
    /* The longer pmf in the inner loop, whose contiguous multiply-adds vectorise. */
    const wpmf *outer = b->len <= acc->len ? b : acc, *inner = outer == b ? acc : b;
    for (size_t j = 0; j < outer->len; j++) {
        double w = outer->p[j];
        double *restrict to = c.p + j;
        const double *restrict from = inner->p;
        for (size_t i = 0; i < inner->len; i++)
            to[i] += w * from[i];
    }
    wpmf_trim(&c, eps);
    wpmf_free(acc);
    *acc = c;
    return 0;
}

/* Convolves *acc with the law l, unless l is a point mass at 0 (mean 0). */
static int add_law(wpmf *acc, const law *l, double eps)
{
    wpmf b;
    int rc;

    if (law_pmf(l, eps, &b) != 0)
        return -1;
    rc = wpmf_convolve_into(acc, &b, eps);
    wpmf_free(&b);
    return rc;
}

static int add_binomial(wpmf *acc, unsigned long n, double pi, double eps)
{
    law l = {.kind = LAW_BINOMIAL, .n = n, .pi = pi};
    wpmf b;
    int rc;

    if (n == 0 || pi <= 0.0)
        return 0;
    if (pi >= 1.0) {                        /* everyone passes: a point mass at n */
        if (point_mass(n, &b) != 0)
            return -1;
        rc = wpmf_convolve_into(acc, &b, eps);
        wpmf_free(&b);
        return rc;
    }
    return add_law(acc, &l, eps);
}

/* ---- The Poisson and negative binomial groups together, by one recurrence -----------------
 *
 * The sum N of Poisson(mu) and NB(k[j], rho[j]), j < J, has the generating function
 *   G(z) = exp(mu (z - 1)) prod_j ((1 - rho_j) / (1 - rho_j z))^k_j,
 * so G'(z) = G(z) (mu + sum_j k_j rho_j / (1 - rho_j z)), and comparing the coefficients of z^n
 * (the Panjer-type recursion of Panjer 1981, ASTIN Bulletin 12:22-26, for this G) gives, for
 * g_n = P(N = n),
 *   (n + 1) g_{n+1} = mu g_n + sum_j k_j T_j(n),   T_j(n) = sum_{i=0..n} rho_j^(i+1) g_{n-i}
 *                                                          = rho_j (g_n + T_j(n - 1)).
 * Every term is positive, so each g_n carries a relative rounding error of at most a few
 * epsilons more than the terms before it: after n steps at most about 4 (J + 2) n epsilons
 * (1e-10 at n = 10^5, J = 4), whatever the means. The cost is O(J) a count, against the
 * O(spread) a count of convolving the laws one by one. The terms start from g_0 = 1 (the true
 * g_0 underflows for means in the hundreds) and are rescaled by a power of 2 when they grow
 * large, then normalised by their sum.
 *
 * Where to stop: for any t in (0, -log max rho), Chernoff's bound
 * P(N >= h) <= exp(K(t) - h t), with the cumulant generating function
 *   K(t) = log G(e^t) = mu (e^t - 1) + sum_j k_j (log(1 - rho_j) - log(1 - rho_j e^t)),
 * holds; h = ceil((K(t) + log(1/eps)) / t) makes it at most eps. The t minimising that h solves
 * t K'(t) - K(t) = log(1/eps), whose left side grows from 0 (its derivative is t K''(t) > 0);
 * bisection finds it, and any t it stops at still gives a valid bound. */

/* K(t) and K'(t) as above. */
static void pnb_cgf(double mu, const double *k, const double *rho, size_t J, double t, double *K,
                    double *dK)
{
    double et = exp(t), em1 = expm1(t);

    *K = mu * em1;
    *dK = mu * et;
    for (size_t j = 0; j < J; j++) {
        *K += k[j] * (log1p(-rho[j]) - log1p(-rho[j] * et));
        *dK += k[j] * rho[j] * et / (1.0 - rho[j] * et);
    }
}

/* The least count h found with P(N >= h) <= eps by Chernoff's bound; -1 beyond the support cap. */
static int pnb_cut(double mu, const double *k, const double *rho, size_t J, double eps, size_t *h)
{
    double c = -log(eps), lo = 0.0, hi, t, K, dK, rho_max = 0.0, bound;

    for (size_t j = 0; j < J; j++)
        rho_max = fmax(rho_max, rho[j]);
    if (rho_max > 0.0) {
        hi = -log(rho_max);                 /* G(e^t) is infinite from here on */
    } else {
        for (hi = 1.0;; hi *= 2.0) {        /* Poisson alone: K is finite for every t */
            pnb_cgf(mu, k, rho, J, hi, &K, &dK);
            if (hi * dK - K >= c || hi > 1e3)
                break;
        }
    }
    /* h(t) = (K(t) + c) / t is flat at its least value, so t within 1e-2 of it (some 7 steps)
     * gives h within about 1e-4 of the least, a bound as valid: against t within 1e-4 (14
     * steps), at most one count more on every node of bench/reference, bench/scale's count-300
     * and count-1000 (supports up to 17,685 counts) and scenarios/self-pay, at most 7 on
     * count-10000's (up to 177,203), and the same printed pmf. The bisection's K(t) take most
     * of the time of a node with a short support: the 7 steps saved took 1 ms of the 9 ms a run
     * of bench/reference starts in (farm-bench, 11 pairs). */
    for (int it = 0; it < 200 && hi - lo > 1e-2 * hi; it++) {
        t = 0.5 * (lo + hi);
        pnb_cgf(mu, k, rho, J, t, &K, &dK);
        if (t * dK - K < c)
            lo = t;
        else
            hi = t;
    }
    t = 0.5 * (lo + hi);
    if (!(t > 0.0))
        return -1;
    pnb_cgf(mu, k, rho, J, t, &K, &dK);
    bound = ceil((K + c) / t);
    if (!isfinite(bound) || bound >= (double)EXACT_MAX_SUPPORT)
        return -1;
    *h = bound < 1.0 ? 1 : (size_t)bound;
    return 0;
}

/* A quadrature node's Poisson and gamma-site groups given (p, q): the first law cond_pmf
 * convolves. Built by node_groups_init; its terms are computed at the node's turn
 * (poisson_negbin_pmf), or ahead of it for a batch of nodes, side by side (prepare_batch). */
typedef struct node_groups {
    double p, q;
    double *k, *rho;        /* room for n_groups each: t.k and t.rho */
    exact_terms_node t;     /* mu, J, k, rho, h and, computed ahead, g and rc */
    int cut;                /* 0: pnb_cut set h; -1: it failed, or there is nothing to cut */
    int ahead;              /* t.g (owned here until the node's turn) and t.rc computed ahead */
} node_groups;

/* Fills nd for the node (p, q): the Poisson mean of the fixed-rate sites, the shape and term
 * ratio of each group whose odds are positive, and, when they are not all zero, the cut. */
static void node_groups_init(const exact_model *m, double p, double q, node_groups *nd)
{
    double *k = nd->k, *rho = nd->rho;
    size_t J = 0;

    nd->p = p;
    nd->q = q;
    nd->t.mu = p * (m->fix_before + q * m->fix_after);
    for (size_t j = 0; j < m->n_groups; j++) {
        double odds = p * (m->before[j] + q * m->after[j]);   /* m / k */
        if (odds > 0.0) {
            k[J] = m->shape[j];
            rho[J++] = odds / (1.0 + odds);
        }
    }
    nd->t.k = k;
    nd->t.rho = rho;
    nd->t.J = J;
    nd->t.h = 0;
    nd->t.g = NULL;
    nd->ahead = 0;
    nd->cut = nd->t.mu > 0.0 || J > 0 ? pnb_cut(nd->t.mu, k, rho, J, m->eps, &nd->t.h) : -1;
}

/* The work charged for a recurrence of h terms over J groups, counted in multiply-adds' worth
 * of time: a step's 2 J + 2 multiply-adds wait on a chain of two, and the sum, scaling and trim
 * pass over the terms three more times. */
static double pnb_cost(size_t h, size_t J)
{
    return (double)h * (double)(2 * J + 7);
}

/* The pmf of Poisson(mu) + sum_j NB(k[j], rho[j]) (rho[j] in (0, 1), mu >= 0, not all zero) of
 * node nd, cut where Chernoff's bound puts at most eps above (nd->cut), trimmed by eps on each
 * side, normalised: the terms computed ahead when they were (taken over from nd), else here
 * (exact_terms_one, the same bits). T is scratch room for 2 J doubles. */
static int poisson_negbin_pmf(node_groups *nd, double eps, double *T, wpmf *out)
{
    const exact_terms_node *t = &nd->t;
    double *g;
    int rc;

    memset(out, 0, sizeof *out);
    if (nd->cut != 0)
        return -1;
    work.used += pnb_cost(t->h, t->J);
    if (work.limit > 0.0 && work.used > work.limit) {
        work.over = 1;
        return -1;
    }
    if (nd->ahead) {
        g = nd->t.g;
        rc = nd->t.rc;
        nd->t.g = NULL;
        nd->ahead = 0;
    } else {
        g = malloc(t->h * sizeof *g);
        if (g == NULL)
            return -1;
        rc = exact_terms_one(t->mu, t->k, t->rho, t->J, t->h, T, g);
    }
    if (rc != 0) {
        free(g);
        return -1;
    }
    out->lo = 0;
    out->len = t->h;
    out->p = g;
    wpmf_trim(out, eps);
    return 0;
}

/* Convolves *acc with a mixed site's law given p and q: the weighted sum of its components'
 * Poisson or negative binomial pmfs (a point mass at 0 for no exposure). */
static int add_mixture(wpmf *acc, const mixed_site *ms, double p, double q, double eps)
{
    int done_copies = 0;
    dvec mix = {0};
    int rc = -1;
    for (size_t c = 0; c < ms->n; c++) {
        double mean = p * (ms->before[c] + q * ms->after[c]), one = 1.0;
        wpmf w = {0, 1, &one};
        law l = ms->shape > 0.0
                    ? (law){.kind = LAW_NEGBIN, .k = ms->shape, .m = mean,
                            .rho = mean / (ms->shape + mean)}
                    : (law){.kind = LAW_POISSON, .mu = mean};
        int owned = mean > 0.0;
        if (owned && ms->shape > 0.0 && mean / ms->shape * -log(eps) > (double)EXACT_MAX_SUPPORT)
            goto done;
        if (owned && law_pmf(&l, eps, &w) != 0)
            goto done;
        work.used += (double)w.len;
        int bad = dvec_add_window(&mix, &w, ms->weight[c]) != 0;
        if (owned)
            wpmf_free(&w);
        if (bad)
            goto done;
    }
    wpmf b = {0, mix.len, mix.v};
    wpmf_trim(&b, eps);
    for (rc = 0; rc == 0 && (size_t)done_copies < ms->copies; done_copies++)
        rc = wpmf_convolve_into(acc, &b, eps);
done:
    dvec_free(&mix);
    return rc;
}

/* The law of min(K, C), K ~ l (P(K >= C) lumped at C), truncated by eps a side. */
static int lumped_pmf(const law *l, size_t C, double eps, wpmf *w)
{
    double tail = 0.0;

    if (C == 0 || (l->kind == LAW_POISSON ? !(l->mu > 0.0) : !(l->m > 0.0)))
        return point_mass(0, w);
    if (l->kind == LAW_NEGBIN && l->m / l->k * -log(eps) > (double)EXACT_MAX_SUPPORT)
        return -1;
    if (law_pmf(l, eps, w) != 0)
        return -1;
    if (w->lo >= C) {                       /* the cap is reached with all but eps */
        w->p[0] = 1.0;
        w->lo = C;
        w->len = 1;
    } else if (w->lo + w->len > C + 1) {    /* P(K >= C) lumped at C, summed smallest first */
        for (size_t i = w->len; i > C - w->lo; i--)
            tail += w->p[i - 1];
        w->len = C - w->lo + 1;
        w->p[w->len - 1] = tail;
    }
    return 0;
}

/* Fixed rate: K ~ Poisson(m). Gamma rate (shape k): K ~ NB(k, m); for the split, K2 given
 * K1 = a is NB(k + a) with odds o2 / (1 + o1) per unit of shape, o = m / k (the rate's
 * posterior given a referrals in the first part: Gamma(k + a), its scale shrunk by 1 + o1). */
static int capped_site_init(capped_site *cs, const site_spec *st, double before, double after,
                            double eps)
{
    double per_day = st->rate / EXACT_DAYS_PER_YEAR, k = st->shape;
    size_t C = (size_t)st->cap;
    int split = before > 0.0 && after > 0.0;
    double m1 = per_day * (split ? before : before + after), m2 = per_day * after;
    law l = k > 0.0 ? (law){.kind = LAW_NEGBIN, .k = k, .m = m1, .rho = m1 / (k + m1)}
                    : (law){.kind = LAW_POISSON, .mu = m1};
    wpmf w;

    memset(cs, 0, sizeof *cs);
    cs->after = !(before > 0.0);
    if (lumped_pmf(&l, C, eps, &w) != 0)
        return -1;
    cs->lo = w.lo;
    cs->len = w.len;
    cs->pmf = w.p;
    if (!split)
        return 0;
    cs->split = 1;
    cs->cap = C;
    cs->row = calloc(C, sizeof *cs->row);
    if (cs->row == NULL)
        return -1;
    for (size_t a = 0; a < C; a++) {
        double o1 = k > 0.0 ? m1 / k : 0.0, o2 = k > 0.0 ? m2 / k : 0.0;
        law l2 = k > 0.0 ? (law){.kind = LAW_NEGBIN, .k = k + (double)a,
                                 .m = (k + (double)a) * o2 / (1.0 + o1),
                                 .rho = o2 / (1.0 + o1 + o2)}
                         : (law){.kind = LAW_POISSON, .mu = m2};
        if (lumped_pmf(&l2, C - a, eps, &w) != 0)
            return -1;
        cs->row[a] = (wpmf_row){w.lo, w.len, w.p};
    }
    return 0;
}

/* out[j] += weight * sum_k pmf[k - lo] Binomial(k, r)(j), out of room lo + len, bin of room
 * lo + len (scratch); the binomial rows built up one trial at a time (below). */
static void thin_add(const double *pmf, size_t lo, size_t len, double r, double weight,
                     double *out, double *bin)
{
    size_t hi = lo + len;

    memset(bin, 0, hi * sizeof *bin);
    bin[0] = 1.0;                           /* Binomial(0, r) */
    for (size_t k = 0; k < hi; k++) {
        if (k >= lo) {
            double w = weight * pmf[k - lo];
            for (size_t j = 0; j <= k; j++)
                out[j] += w * bin[j];
        }
        if (k + 1 < hi) {                   /* Binomial(k + 1, r) from Binomial(k, r) */
            bin[k + 1] = r * bin[k];
            for (size_t j = k; j > 0; j--)
                bin[j] = (1.0 - r) * bin[j] + r * bin[j - 1];
            bin[0] *= 1.0 - r;
        }
    }
}

/* A split capped site's registrations given p and q: sum over a of P(min(K1, C) = a) times
 * Binomial(a, p) convolved with min(K2, C - a) thinned by p q (nothing after when a = C). */
static int add_capped_split(wpmf *acc, const capped_site *cs, double p, double q, double eps)
{
    size_t C = cs->cap;
    double *out = calloc(C + 1, sizeof *out), *bin = calloc(C + 1, sizeof *bin);
    double *binp = calloc(C + 1, sizeof *binp), *t = calloc(C + 1, sizeof *t);
    wpmf b = {0};
    int rc = -1;

    work.used += (double)C * (double)C * (double)C / 3.0 + (double)C * (double)C;
    if (work.limit > 0.0 && work.used > work.limit) {
        work.over = 1;
        goto done;
    }
    if (!out || !bin || !binp || !t)
        goto done;
    binp[0] = 1.0;                          /* Binomial(a, p), a = 0 */
    for (size_t a = 0; a <= C; a++) {
        double w = a >= cs->lo && a < cs->lo + cs->len ? cs->pmf[a - cs->lo] : 0.0;
        if (w > 0.0) {
            size_t tl = 1;
            if (a < C) {                    /* min(K2, C - a) thinned by p q */
                const wpmf_row *rw = &cs->row[a];
                tl = rw->lo + rw->len;
                memset(t, 0, tl * sizeof *t);
                thin_add(rw->p, rw->lo, rw->len, p * q, 1.0, t, bin);
            } else {
                t[0] = 1.0;
            }
            for (size_t i = 0; i <= a; i++)
                for (size_t j = 0; j < tl && i + j <= C; j++)
                    out[i + j] += w * binp[i] * t[j];
        }
        if (a < C) {                        /* Binomial(a + 1, p) */
            binp[a + 1] = p * binp[a];
            for (size_t j = a; j > 0; j--)
                binp[j] = (1.0 - p) * binp[j] + p * binp[j - 1];
            binp[0] *= 1.0 - p;
        }
    }
    b = (wpmf){0, C + 1, out};
    wpmf_trim(&b, eps);
    rc = wpmf_convolve_into(acc, &b, eps);
done:
    free(b.p ? b.p : out);
    free(bin);
    free(binp);
    free(t);
    return rc;
}

/* Convolves *acc with a capped site's registrations given p and q: the law of min(K, C)
 * thinned by r, sum_k P(min(K, C) = k) Binomial(k, r), the binomial rows built up one referral
 * at a time (Bin(k + 1, r)(j) = (1 - r) Bin(k, r)(j) + r Bin(k, r)(j - 1): convex combinations,
 * so no error grows), about (lo + len)^2 / 2 multiply-adds. */
static int add_capped(wpmf *acc, const capped_site *cs, double p, double q, double eps)
{
    double r = cs->after ? p * q : p;
    size_t hi = cs->lo + cs->len;
    wpmf b = {0};
    double *bin;
    int rc;

    if (cs->split)
        return add_capped_split(acc, cs, p, q, eps);
    if (r <= 0.0)
        return 0;                           /* nobody registers: a point mass at 0 */
    if (r >= 1.0) {
        b = (wpmf){cs->lo, cs->len, cs->pmf};
        return wpmf_convolve_into(acc, &b, eps);
    }
    work.used += 0.5 * (double)hi * (double)hi;
    if (work.limit > 0.0 && work.used > work.limit) {
        work.over = 1;
        return -1;
    }
    b.len = hi;
    b.p = calloc(hi, sizeof *b.p);
    bin = calloc(hi, sizeof *bin);
    if (b.p == NULL || bin == NULL) {
        free(b.p);
        free(bin);
        return -1;
    }
    thin_add(cs->pmf, cs->lo, cs->len, r, 1.0, b.p, bin);
    free(bin);
    wpmf_trim(&b, eps);
    rc = wpmf_convolve_into(acc, &b, eps);
    wpmf_free(&b);
    return rc;
}

/* The distribution of N - enrolled given the node's p and q (nd, from node_groups_init). T is
 * scratch room for 2 n_groups doubles. */
static int cond_pmf(const exact_model *m, node_groups *nd, double *T, wpmf *out)
{
    double p = nd->p, q = nd->q;

    memset(out, 0, sizeof *out);
    if (nd->t.mu > 0.0 || nd->t.J > 0) {
        if (poisson_negbin_pmf(nd, m->eps, T, out) != 0)
            return -1;
    } else if (point_mass(0, out) != 0) {
        return -1;
    }
    if (add_binomial(out, m->screening, p * (m->screen_before + q * m->screen_after),
                     m->eps) != 0)
        goto fail;
    for (size_t j = 0; j < m->n_mixed; j++)
        if (add_mixture(out, &m->mixed[j], p, q, m->eps) != 0)
            goto fail;
    for (size_t j = 0; j < m->n_capped; j++)
        if (add_capped(out, &m->capped[j], p, q, m->eps) != 0)
            goto fail;
    return 0;
fail:
    wpmf_free(out);
    return -1;
}

/* ---- Quadrature over beta probabilities ----------------------------------------------------
 *
 * Given p and q the pmf of N is analytic in them (polynomials times exponentials and negative
 * binomial terms), and a beta density is the weight. Gauss-Jacobi quadrature with weight
 * (1 - x)^(b-1) x^(a-1) on [0, 1] integrates the density's endpoint behaviour exactly, even the
 * infinite spikes of a or b < 1, leaving the rule a smooth function to integrate; that is where
 * Gauss rules converge fastest (geometrically), unlike Gauss-Legendre or adaptive rules applied to
 * the product. GSL (gsl_integration_fixed_jacobi, from IQPACK, Elhay and Kautsky 1987) takes the
 * weight (b - x)^alpha (x - a)^beta on [a, b], so alpha = b - 1 and beta = a - 1 here. Its weights
 * carry the factor B(a, b) computed from gamma functions, which overflows for a + b beyond about
 * 170 (then they come back NaN); for those we build the same rule ourselves by Golub and Welsch
 * (1969, Math Comp 23:221-230): the nodes are the eigenvalues of the Jacobi matrix of the Jacobi
 * polynomials' recurrence, the normalised weights the squared first components of its
 * eigenvectors. Either way the weights are normalised to sum to 1, which divides by B(a, b). */
typedef struct rule {
    size_t n;
    double *x, *w;
} rule;

static void rule_free(rule *r)
{
    free(r->x);
    free(r->w);
    r->x = r->w = NULL;
    r->n = 0;
}

static int rule_alloc(rule *r, size_t n)
{
    r->n = n;
    r->x = malloc(n * sizeof *r->x);
    r->w = malloc(n * sizeof *r->w);
    if (r->x == NULL || r->w == NULL) {
        rule_free(r);
        return -1;
    }
    return 0;
}

/* Scales r's weights to sum 1; -1 when they are not finite positive numbers. */
static int rule_normalise(rule *r)
{
    double sum = 0.0;

    for (size_t i = 0; i < r->n; i++) {
        if (!isfinite(r->w[i]) || r->w[i] < 0.0 || !isfinite(r->x[i]))
            return -1;
        sum += r->w[i];
    }
    if (!(sum > 0.0) || !isfinite(sum))
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        r->w[i] /= sum;
        r->x[i] = fmin(1.0, fmax(0.0, r->x[i]));
    }
    return 0;
}

static int rule_jacobi_gsl(rule *r, double a, double b, size_t n)
{
    gsl_integration_fixed_workspace *ws =
        gsl_integration_fixed_alloc(gsl_integration_fixed_jacobi, n, 0.0, 1.0, b - 1.0, a - 1.0);
    int rc;

    if (ws == NULL)
        return -1;
    rc = rule_alloc(r, n);
    if (rc == 0) {
        memcpy(r->x, gsl_integration_fixed_nodes(ws), n * sizeof *r->x);
        memcpy(r->w, gsl_integration_fixed_weights(ws), n * sizeof *r->w);
        rc = rule_normalise(r);
        if (rc != 0)
            rule_free(r);
    }
    gsl_integration_fixed_free(ws);
    return rc;
}

/* Recurrence coefficients of the Jacobi polynomials P^(al,be) on [-1, 1] (Gautschi 2004,
 * "Orthogonal Polynomials: Computation and Approximation", Table 1.1): diagonal
 *   a_i = (be^2 - al^2) / ((2i+al+be)(2i+al+be+2)),  a_0 = (be - al) / (al + be + 2),
 * off-diagonal squared
 *   b_i = 4i(i+al)(i+be)(i+al+be) / ((2i+al+be)^2 (2i+al+be+1)(2i+al+be-1)),
 *   b_1 = 4(1+al)(1+be) / ((2+al+be)^2 (3+al+be)). */
static void jacobi_matrix(gsl_matrix *J, double al, double be)
{
    size_t n = J->size1;

    gsl_matrix_set_zero(J);
    for (size_t i = 0; i < n; i++) {
        double s = 2.0 * (double)i + al + be;
        double d = i == 0 ? (be - al) / (al + be + 2.0) : (be * be - al * al) / (s * (s + 2.0));
        gsl_matrix_set(J, i, i, d);
    }
    for (size_t i = 1; i < n; i++) {
        double s = 2.0 * (double)i + al + be, fi = (double)i, b2;
        if (i == 1)
            b2 = 4.0 * (1.0 + al) * (1.0 + be) / ((2.0 + al + be) * (2.0 + al + be) * (3.0 + al + be));
        else
            b2 = 4.0 * fi * (fi + al) * (fi + be) * (fi + al + be) /
                 (s * s * (s + 1.0) * (s - 1.0));
        gsl_matrix_set(J, i, i - 1, sqrt(b2));
        gsl_matrix_set(J, i - 1, i, sqrt(b2));
    }
}

static int rule_jacobi_golub_welsch(rule *r, double a, double b, size_t n)
{
    gsl_matrix *J = gsl_matrix_alloc(n, n), *V = gsl_matrix_alloc(n, n);
    gsl_vector *eval = gsl_vector_alloc(n);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(n);
    int rc = -1;

    if (J && V && eval && ws && rule_alloc(r, n) == 0) {
        jacobi_matrix(J, b - 1.0, a - 1.0);
        if (gsl_eigen_symmv(J, eval, V, ws) == 0) {
            for (size_t i = 0; i < n; i++) {
                double v0 = gsl_matrix_get(V, 0, i);
                r->x[i] = 0.5 * (1.0 + gsl_vector_get(eval, i));   /* [-1, 1] -> [0, 1] */
                r->w[i] = v0 * v0;
            }
            rc = rule_normalise(r);
        }
        if (rc != 0)
            rule_free(r);
    }
    gsl_eigen_symmv_free(ws);
    gsl_vector_free(eval);
    gsl_matrix_free(V);
    gsl_matrix_free(J);
    return rc;
}

/* An n-node rule for a probability: its beta law, or the single node at its fixed value when it
 * is fixed or when nothing depends on it. */
static int rule_for(rule *r, const prob_spec *ps, int used, size_t n)
{
    if (!ps->is_beta || !used) {
        if (rule_alloc(r, 1) != 0)
            return -1;
        r->x[0] = ps->value;
        r->w[0] = 1.0;
        return 0;
    }
    if (rule_jacobi_gsl(r, ps->a, ps->b, n) == 0)
        return 0;
    return rule_jacobi_golub_welsch(r, ps->a, ps->b, n);
}

/* The longest recurrence computed ahead in lanes: the lanes' scratch holds EXACT_TERMS_LANES
 * terms a count, and the nodes' pmfs as many again (64 MiB each at this length); longer ones
 * are computed at their turn. */
#define EXACT_AHEAD_MAX_TERMS ((size_t)1 << 20)

/* Prepares the nodes first .. first + count - 1 (count <= EXACT_TERMS_LANES) of the tensor rule
 * (node i rq->n + j is (p_i, q_j)) into nd, and computes their recurrences' terms ahead, side
 * by side (exact_terms_batch), when that pays: two or more of them have terms to compute and
 * the processor has the lanes. Their work is charged at each node's turn as before
 * (poisson_negbin_pmf); so that what is computed ahead stays within the work limit, the nodes
 * whose charges, added in order to the work so far, would pass it are left to their turn, where
 * the limit stops them. Anything not computed ahead (and all of it when out of memory) is
 * computed at its turn, with the same bits. */
static void prepare_batch(const exact_model *m, const rule *rp, const rule *rq, size_t first,
                          size_t count, node_groups *nd, exact_terms_work *tw)
{
    exact_terms_node batch[EXACT_TERMS_LANES];
    node_groups *owner[EXACT_TERMS_LANES];
    size_t n = 0;
    double projected = work.used;

    for (size_t c = 0; c < count; c++) {
        size_t at = first + c;
        node_groups_init(m, rp->x[at / rq->n], rq->x[at % rq->n], &nd[c]);
        if (nd[c].cut != 0 || nd[c].t.h > EXACT_AHEAD_MAX_TERMS)
            continue;
        projected += pnb_cost(nd[c].t.h, nd[c].t.J);
        if (work.limit > 0.0 && projected > work.limit)
            break;
        owner[n++] = &nd[c];
    }
    if (n < 2 || !exact_terms_lanes_available())
        return;
    for (size_t b = 0; b < n; b++) {
        batch[b] = owner[b]->t;
        batch[b].g = malloc(batch[b].h * sizeof *batch[b].g);
        if (batch[b].g == NULL) {
            n = b + 1;
            goto release;
        }
    }
    if (exact_terms_batch(batch, n, tw) != 0)
        goto release;
    for (size_t b = 0; b < n; b++) {
        owner[b]->t.g = batch[b].g;
        owner[b]->t.rc = batch[b].rc;
        owner[b]->ahead = 1;
    }
    return;
release:
    for (size_t b = 0; b < n; b++)
        free(batch[b].g);
}

/* acc = sum over the tensor rule of weight * conditional pmf of N - enrolled, node by node in
 * the rule's order (p's nodes outer): the progress report, the stop test and the pmf's work
 * charge at each node as they come, the recurrences computed ahead a batch of
 * EXACT_TERMS_LANES nodes at a time (prepare_batch). */
static int integrate(const exact_model *m, const scenario *s, size_t n, dvec *acc, char *err,
                     size_t errlen)
{
    rule rp = {0}, rq = {0};
    int rc = -1;
    size_t G = m->n_groups;
    double *scratch = malloc(((2 * EXACT_TERMS_LANES + 2) * G + 1) * sizeof *scratch);
    node_groups nd[EXACT_TERMS_LANES] = {{0}};
    exact_terms_work tw = {0};
    char what[64];

    acc->len = 0;
    if (scratch == NULL) {
        set_err(err, errlen, "exact: out of memory");
        goto done;
    }
    for (size_t c = 0; c < EXACT_TERMS_LANES; c++) {
        nd[c].k = scratch + 2 * c * G;
        nd[c].rho = nd[c].k + G;
    }
    if (rule_for(&rp, &s->screen_pass, model_uses_p(m), n) != 0 ||
        rule_for(&rq, &s->selfpay_consent, model_uses_q(m), n) != 0) {
        set_err(err, errlen, "exact: cannot build the %zu-node beta quadrature rule", n);
        goto done;
    }
    if (rp.n > 1 && rq.n > 1)
        snprintf(what, sizeof what, "quadrature on %zu x %zu nodes", rp.n, rq.n);
    else
        snprintf(what, sizeof what, "quadrature on %zu nodes", rp.n * rq.n);
    for (size_t first = 0; first < rp.n * rq.n; first += EXACT_TERMS_LANES) {
        size_t count = rp.n * rq.n - first;
        if (count > EXACT_TERMS_LANES)
            count = EXACT_TERMS_LANES;
        for (size_t c = 0; c < count; c++) {
            size_t i = (first + c) / rq.n, j = (first + c) % rq.n;
            wpmf pmf = {0};
            if (progress_fn)
                progress_fn(progress_arg, what, (double)(i * rq.n + j) / (double)(rp.n * rq.n));
            if (!stop_requested() && c == 0)
                prepare_batch(m, &rp, &rq, first, count, nd, &tw);
            if (stop_requested() || cond_pmf(m, &nd[c], scratch + 2 * EXACT_TERMS_LANES * G,
                                             &pmf) != 0 ||
                dvec_add_window(acc, &pmf, rp.w[i] * rq.w[j]) != 0) {
                wpmf_free(&pmf);
                if (stop_requested())
                    set_err(err, errlen, "exact: interrupted");
                else if (work.over)
                    set_err(err, errlen, "exact: skipped, the computation would exceed its "
                            "limit of %.3g operations", work.limit);
                else
                    set_err(err, errlen, "exact: out of memory, or support beyond %zu counts",
                            (size_t)EXACT_MAX_SUPPORT);
                goto done;
            }
            wpmf_free(&pmf);
        }
    }
    rc = 0;
done:
    for (size_t c = 0; c < EXACT_TERMS_LANES; c++)
        if (nd[c].ahead)
            free(nd[c].t.g);
    exact_terms_work_free(&tw);
    free(scratch);
    rule_free(&rp);
    rule_free(&rq);
    return rc;
}

/* The largest change between two pmfs, entry by entry and in their distribution functions. */
static double max_change(const dvec *x, const dvec *y)
{
    size_t len = x->len > y->len ? x->len : y->len;
    double cx = 0.0, cy = 0.0, worst = 0.0;

    for (size_t i = 0; i < len; i++) {
        double a = i < x->len ? x->v[i] : 0.0, b = i < y->len ? y->v[i] : 0.0;
        cx += a;
        cy += b;
        worst = fmax(worst, fmax(fabs(a - b), fabs(cx - cy)));
    }
    return worst;
}

/* Pmf entries are counted from here when the quadrature converges on every one of them (and on
 * the distribution function), rather than on one probability (integrate_converged's focus). */
#define EXACT_WHOLE SIZE_MAX

/* How far P(N - enrolled >= from) moves between two pmfs: their sums from `from` on, each from
 * its far end (smallest terms first). */
static double change_from(const dvec *x, const dvec *y, size_t from)
{
    double sx = 0.0, sy = 0.0;

    for (size_t i = x->len; i-- > from;)
        sx += x->v[i];
    for (size_t i = y->len; i-- > from;)
        sy += y->v[i];
    return fabs(sx - sy);
}

/* Integrates with 8, 16, 32, ... nodes per beta axis until two successive rules agree, or until
 * the finer rule's error, extrapolated, is below EXACT_QUAD_TOL. The move d_k between the rules of
 * n/2 and n nodes estimates the error of the n/2 rule; when a rule's error falls like r^n
 * (geometric convergence), each doubling multiplies it by r^n, a factor that itself shrinks with
 * n, so d_k (d_k / d_{k-1}) overestimates the n rule's error, and the rule is taken once that is
 * below the tolerance. The counts of bench/scale (gamma sites, both probabilities beta) move by
 * about 1e-5, 1e-8 and 1e-12 at 16, 32 and 64 nodes: the extrapolation (1e-8)^2 / 1e-5 = 1e-11
 * takes 32 per axis where the plain test took 64, a quarter of the nodes, and the 64-node rule
 * agrees with it to 3e-12 (tests/test_exact.c pins them against the earlier values).
 * Under a work limit, a rule whose cost, projected from the rule before (its nodes, 2^n_beta
 * times as many, at that rule's cost a node), would pass the limit is not started: the
 * computation stops there instead of spending the rest of the limit on a rule it cannot finish
 * (bench/scale/count-10000's check spent 6e7 of its 1e8 operations on 100 of the 256 nodes of
 * its second rule). */
static int integrate_converged(const exact_model *m, const scenario *s, size_t focus, dvec *out,
                               char *err, size_t errlen)
{
    int n_beta = (s->screen_pass.is_beta && model_uses_p(m)) +
                 (s->selfpay_consent.is_beta && model_uses_q(m));
    size_t cap = n_beta == 2 ? EXACT_QUAD_MAX_2D : EXACT_QUAD_MAX_1D;
    dvec prev = {0};
    double change = 0.0, last = 0.0, before = work.used;

    if (integrate(m, s, EXACT_QUAD_FIRST, out, err, errlen) != 0)
        return -1;
    if (n_beta == 0)
        return 0;
    for (size_t n = 2 * EXACT_QUAD_FIRST; n <= cap; n *= 2) {
        double rule_cost = work.used - before, projected = work.used + rule_cost * (1 << n_beta);
        if (work.limit > 0.0 && projected > work.limit) {
            work.over = 1;
            dvec_free(&prev);
            set_err(err, errlen, "exact: skipped, the computation would exceed its limit of "
                    "%.3g operations", work.limit);
            return -1;
        }
        before = work.used;
        dvec t = prev;
        prev = *out;
        *out = t;
        if (integrate(m, s, n, out, err, errlen) != 0) {
            dvec_free(&prev);
            return -1;
        }
        change = focus == EXACT_WHOLE ? max_change(&prev, out) : change_from(&prev, out, focus);
        if (change < EXACT_QUAD_TOL ||
            (last > 0.0 && change < last && change * (change / last) < EXACT_QUAD_TOL)) {
            dvec_free(&prev);
            return 0;
        }
        last = change;
    }
    dvec_free(&prev);
    set_err(err, errlen,
            "exact: the beta quadrature did not converge with %zu nodes per probability "
            "(last change %.3g, wanted below %.0e)", cap, change, EXACT_QUAD_TOL);
    return -1;
}

/* ---- Public entry points ------------------------------------------------------------------ */

static int prob_computable(const prob_spec *ps)
{
    if (ps->is_beta)
        return isfinite(ps->a) && isfinite(ps->b) && ps->a > 0.0 && ps->b > 0.0 &&
               ps->value >= 0.0 && ps->value <= 1.0;
    return ps->value >= 0.0 && ps->value <= 1.0;
}

/* The loader validates scenarios; this guards the arithmetic against one built by hand. */
static int scenario_computable(const scenario *s, char *err, size_t errlen)
{
    if (s->enrolled < 0 || s->screening < 0 || s->screen_days < 0 ||
        (size_t)s->enrolled > EXACT_MAX_SUPPORT || (size_t)s->screening > EXACT_MAX_SUPPORT) {
        set_err(err, errlen, "exact: enrolled, screening and screen_days must be counts below %zu",
                (size_t)EXACT_MAX_SUPPORT);
        return -1;
    }
    if (!prob_computable(&s->screen_pass) || !prob_computable(&s->selfpay_consent)) {
        set_err(err, errlen, "exact: a probability is outside [0, 1] or has a bad beta law");
        return -1;
    }
    for (size_t i = 0; i < s->n_sites; i++)
        if (!isfinite(s->site[i].rate) || s->site[i].rate < 0.0 ||
            !isfinite(s->site[i].shape) || s->site[i].shape < 0.0) {
            set_err(err, errlen, "exact: site %zu has a rate or shape that is not a finite "
                    "number >= 0", i + 1);
            return -1;
        }
    return 0;
}

int exact_deadline_dist(const scenario *s, exact_dist *out, char *err, size_t errlen)
{
    return exact_deadline_dist_limited(s, 0.0, out, err, errlen);
}

/* exact_deadline_dist_limited, the quadrature converging on every entry (focus EXACT_WHOLE)
 * or on P(N - enrolled >= focus) alone (integrate_converged). */
static int deadline_dist(const scenario *s, double max_work, size_t focus, exact_dist *out,
                         char *err, size_t errlen)
{
    exact_model m;
    dvec acc = {0};
    size_t enrolled, hi;
    double tail = 0.0;

    out->pmf = NULL;
    out->len = 0;
    out->tail = 0.0;
    if (scenario_computable(s, err, errlen) != 0)
        return -1;
    /* Corrective action makes the path after a review depend on the count at that review. */
    if (s->n_actions > 0) {
        set_err(err, errlen, "exact: the scenario has corrective action (actions.csv): the path "
                "after a review depends on the count at it, and the exact mode does not compute "
                "that; accrue run simulates it and prints the value without the rules beside "
                "it");
        return -1;
    }
    if (model_init(&m, s, err, errlen) != 0)
        return -1;
    work = (work_budget){.limit = max_work};
    int rc = integrate_converged(&m, s, focus, &acc, err, errlen);
    work = (work_budget){0};
    if (rc != 0) {
        model_free(&m);
        dvec_free(&acc);
        return -1;
    }
    model_free(&m);
    /* The rules' windows differ, so the far end holds scraps; move them into the tail. */
    hi = acc.len;
    while (hi > 1 && tail + acc.v[hi - 1] < EXACT_TAIL_EPS)
        tail += acc.v[--hi];
    enrolled = (size_t)s->enrolled;
    out->pmf = calloc(enrolled + hi, sizeof *out->pmf);
    if (out->pmf == NULL) {
        dvec_free(&acc);
        set_err(err, errlen, "exact: out of memory");
        return -1;
    }
    memcpy(out->pmf + enrolled, acc.v, hi * sizeof *acc.v);
    out->len = enrolled + hi;
    out->tail = tail;
    dvec_free(&acc);
    return 0;
}

int exact_deadline_dist_limited(const scenario *s, double max_work, exact_dist *out, char *err,
                                size_t errlen)
{
    return deadline_dist(s, max_work, EXACT_WHOLE, out, err, errlen);
}

int exact_p_at_least_limited(const scenario *s, long n, double max_work, double *p, char *err,
                             size_t errlen)
{
    exact_dist d;
    long from = n - (long)s->enrolled;
    if (deadline_dist(s, max_work, from > 0 ? (size_t)from : 0, &d, err, errlen) != 0)
        return -1;
    *p = exact_p_at_least(&d, n);
    exact_dist_free(&d);
    return 0;
}

double exact_p_at_least(const exact_dist *d, long n)
{
    double sum = d->tail;
    size_t from;
    int below = 0;

    if (n <= 0)
        return 1.0;
    from = (size_t)n < d->len ? (size_t)n : d->len;
    for (size_t i = 0; i < from && !below; i++)
        below = d->pmf[i] != 0.0;
    if (!below)
        return 1.0;
    for (size_t i = d->len; i > from; i--)
        sum += d->pmf[i - 1];
    return fmin(1.0, sum);
}

double exact_dist_mean(const exact_dist *d)
{
    double mean = (double)d->len * d->tail;

    for (size_t i = d->len; i > 0; i--)
        mean += (double)(i - 1) * d->pmf[i - 1];
    return mean;
}

void exact_dist_free(exact_dist *d)
{
    if (d == NULL)
        return;
    free(d->pmf);
    d->pmf = NULL;
    d->len = 0;
    d->tail = 0.0;
}
