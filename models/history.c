/* Learning from the trial's own data: history.csv's candidates update the scenario's rates and
 * probabilities by conjugacy, with an optional pooled (empirical Bayes) rate prior. The
 * formulas, their sources and every choice are in history.h. */
#include "history.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include "../engine/quantile.h"
#include "scenario.h"
#include "schedule.h"

#if defined(__GNUC__)
#define HISTORY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HISTORY_PRINTF(f, a)
#endif

#define BISECTIONS 200        /* steps of the profile's root finder */

/* ---- messages ---- */

static int fail(char *err, size_t errlen, const char *file, size_t line, const char *fmt, ...)
    HISTORY_PRINTF(5, 6);

/* Writes "FILE:LINE: ..." into err and returns -1. */
static int fail(char *err, size_t errlen, const char *file, size_t line, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return -1;
    int n = snprintf(err, errlen, "%s:%zu: ", file, line);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A fresh string from a format; NULL when out of memory. */
static char *format(const char *fmt, ...) HISTORY_PRINTF(1, 2);

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- intervals ---- */

void history_gamma_interval(double shape, double mean, double *low, double *high)
{
    if (!(shape > 0.0) || !(mean > 0.0) || !isfinite(shape)) {
        *low = *high = mean > 0.0 ? mean : 0.0;
        return;
    }
    *low = quantile_gamma(0.05, shape, mean / shape);
    *high = quantile_gamma(0.95, shape, mean / shape);
}

void history_beta_interval(double a, double b, double *low, double *high)
{
    *low = quantile_beta(0.05, a, b);
    *high = quantile_beta(0.95, a, b);
}

/* ---- the pooled fit ---- */

/* log(Gamma(x + n) / Gamma(x)): GSL's lnpoch keeps the digits that lgamma's difference loses
 * at large x. */
static double log_rising(double x, double n)
{
    if (n == 0.0)
        return 0.0;
    gsl_sf_result r;
    if (gsl_sf_lnpoch_e(x, n, &r) == GSL_SUCCESS)
        return r.val;
    return lgamma(x + n) - lgamma(x);
}

double history_nb_loglik(size_t m, const double *n, const double *t, double shape, double mean)
{
    double beta = shape / mean, sum = 0.0;
    for (size_t i = 0; i < m; i++) {
        if (!(t[i] > 0.0))
            continue;
        /* shape log(beta / (beta + t)) = -shape log1p(t / beta), exact where shape is large. */
        sum += log_rising(shape, n[i]) - lgamma(n[i] + 1.0) - shape * log1p(t[i] / beta)
               + (n[i] > 0.0 ? n[i] * log(t[i] / (beta + t[i])) : 0.0);
    }
    return sum;
}

/* The profile's equation in u = log beta for a given shape: g(u) = sum over sites with
 * exposure of shape - (shape + n) beta / (beta + t), zero where d loglik / d u is. It falls
 * strictly from m shape (u -> -inf) to -N (u -> +inf), so its root is unique. *slope is
 * g'(u). */
static double profile_equation(size_t m, const double *n, const double *t, double shape,
                               double u, double *slope)
{
    double g = 0.0, d = 0.0, beta = exp(u);
    for (size_t i = 0; i < m; i++) {
        if (!(t[i] > 0.0))
            continue;
        double f = beta / (beta + t[i]);
        g += shape - (shape + n[i]) * f;
        d -= (shape + n[i]) * f * (1.0 - f);
    }
    *slope = d;
    return g;
}

/* The mean maximising the likelihood for this shape (N > 0 referrals over total exposure
 * t_sum): the root of profile_equation by Newton's method kept inside a bracket, bisecting
 * when a step leaves it; at most BISECTIONS steps. With equal exposures the root is
 * mean = N / t_sum exactly, which is where the search starts. */
static double profile_mean(size_t m, const double *n, const double *t, double shape,
                           double n_sum, double t_sum)
{
    double u0 = log(shape * t_sum / n_sum), slope;
    double lo = u0, hi = u0;
    for (int i = 0; i < 2000 && profile_equation(m, n, t, shape, lo, &slope) <= 0.0; i++)
        lo -= 1.0;
    for (int i = 0; i < 2000 && profile_equation(m, n, t, shape, hi, &slope) >= 0.0; i++)
        hi += 1.0;
    double u = u0 < lo || u0 > hi ? 0.5 * (lo + hi) : u0;
    for (int i = 0; i < BISECTIONS && hi - lo > 1e-14 * fmax(1.0, fabs(u)); i++) {
        double g = profile_equation(m, n, t, shape, u, &slope);
        if (g == 0.0)
            break;
        if (g > 0.0)
            lo = u;
        else
            hi = u;
        double next = slope < 0.0 ? u - g / slope : 0.5 * (lo + hi);
        u = next > lo && next < hi ? next : 0.5 * (lo + hi);
    }
    return shape / exp(u);
}

typedef struct pool_data {
    size_t m;
    const double *n, *t;
    double n_sum, t_sum;
} pool_data;

/* The profile log-likelihood at log-shape theta; *mean gets the profiled mean. */
static double profile(const pool_data *d, double theta, double *mean)
{
    double shape = exp(theta);
    *mean = profile_mean(d->m, d->n, d->t, shape, d->n_sum, d->t_sum);
    return history_nb_loglik(d->m, d->n, d->t, shape, *mean);
}

#define POOL_GRID_STEP 0.25   /* in log-shape: 75 points from 0.01 to 1e6 */
#define GOLDEN_STEPS 80       /* a bracket of 0.5 shrinks below 1e-16 */

/* Golden-section search for the maximum of the profile on [a, b]. */
static double golden_max(const pool_data *d, double a, double b)
{
    const double r = 0.5 * (sqrt(5.0) - 1.0);
    double mean, x1 = b - r * (b - a), x2 = a + r * (b - a);
    double f1 = profile(d, x1, &mean), f2 = profile(d, x2, &mean);
    for (int i = 0; i < GOLDEN_STEPS && b - a > 1e-12; i++) {
        if (f1 >= f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - r * (b - a);
            f1 = profile(d, x1, &mean);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + r * (b - a);
            f2 = profile(d, x2, &mean);
        }
    }
    return f1 >= f2 ? x1 : x2;
}

history_pool_status history_pool_fit(size_t m, const double *n, const double *t, double *shape,
                                     double *mean)
{
    pool_data d = {m, n, t, 0.0, 0.0};
    size_t exposed = 0;
    for (size_t i = 0; i < m; i++)
        if (t[i] > 0.0) {
            exposed++;
            d.n_sum += n[i];
            d.t_sum += t[i];
        }
    *shape = *mean = NAN;
    if (exposed == 0)
        return HISTORY_POOL_NO_EXPOSURE;
    if (d.n_sum == 0.0) {
        *mean = 0.0;
        return HISTORY_POOL_NO_REFERRALS;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double lo = log(SCENARIO_MIN_SHAPE), hi = log(SCENARIO_MAX_SHAPE);
    size_t points = (size_t)ceil((hi - lo) / POOL_GRID_STEP) + 1, best = 0;
    double best_f = -INFINITY, mu;
    for (size_t j = 0; j < points; j++) {
        double theta = j + 1 == points ? hi : lo + POOL_GRID_STEP * (double)j;
        double f = profile(&d, theta, &mu);
        if (f > best_f) {
            best_f = f;
            best = j;
        }
    }
    history_pool_status status;
    if (best + 1 == points) {
        /* Still rising at the largest allowed shape: the Poisson limit, one common rate. */
        status = HISTORY_POOL_ALIKE;
        *shape = INFINITY;
        *mean = d.n_sum / d.t_sum;
    } else {
        double a = best == 0 ? lo : lo + POOL_GRID_STEP * (double)(best - 1);
        double b = fmin(hi, lo + POOL_GRID_STEP * (double)(best + 1));
        double theta = golden_max(&d, a, b);
        if (best == 0 && theta - lo < 1e-9) {
            theta = lo;
            status = HISTORY_POOL_LOW_SHAPE;
        } else {
            status = HISTORY_POOL_FITTED;
        }
        profile(&d, theta, &mu);
        *shape = exp(theta);
        *mean = mu;
        if (status == HISTORY_POOL_LOW_SHAPE)
            *shape = SCENARIO_MIN_SHAPE;
    }
    gsl_set_error_handler(old);
    return status;
}

/* ---- gathering the data ---- */

/* What the rows before as_of say. */
typedef struct data {
    double *n, *t;            /* per site: referrals in its exposure, exposure in years */
    size_t *rate_line;        /* per site: line of its first referral in its exposure, or 0 */
    long passed, failed, consented, refused;
    size_t line_passed, line_failed, line_consented, line_refused; /* first such row */
} data;

static void note_line(size_t *first, size_t line)
{
    if (*first == 0 || line < *first)
        *first = line;
}

/* The day site i's exposure starts: the later of history_from and its first day. */
static date_t exposure_start(const scenario *s, const site_spec *st)
{
    return st->active_from > s->history_from ? st->active_from : s->history_from;
}

/* Whether the model asks this candidate's consent (history.h: selfpay_consent). */
static bool consent_asked(const scenario *s, const history_row *r)
{
    return r->referred >= s->selfpay_from || (s->selfpay_screening
                                              && r->decided >= s->selfpay_from);
}

static int gather(const scenario *s, data *d, char *err, size_t errlen)
{
    const char *file = s->history_file ? s->history_file : "history.csv";
    for (size_t i = 0; i < s->n_sites; i++) {
        const site_spec *st = &s->site[i];
        double start = (double)exposure_start(s, st) - (double)s->as_of;
        d->t[i] = start < 0.0 ? schedule_integral(s, st, start, 0.0) / SCENARIO_DAYS_PER_YEAR
                              : 0.0;
    }
    for (size_t k = 0; k < s->n_history; k++) {
        const history_row *r = &s->history[k];
        if (r->referred >= s->as_of)
            continue;
        const site_spec *st = &s->site[r->site];
        if (r->referred >= exposure_start(s, st)) {
            long day = (long)r->referred - (long)s->as_of;
            if (!(schedule_factor(s, st, day) > 0.0)) {
                char on[11];
                date_format(r->referred, on);
                return fail(err, errlen, file, r->line, "site `%s`'s rate schedule has factor "
                            "0 on %s, but this candidate was referred there that day; "
                            "expected a factor above 0 in schedule.csv on the days the site "
                            "referred candidates", st->name, on);
            }
            d->n[r->site] += 1.0;
            note_line(&d->rate_line[r->site], r->line);
        }
        if (r->outcome == HISTORY_IN_SCREENING || r->decided >= s->as_of)
            continue;
        if (r->outcome == HISTORY_SCREEN_FAILED) {
            d->failed++;
            note_line(&d->line_failed, r->line);
            continue;
        }
        d->passed++;
        note_line(&d->line_passed, r->line);
        if (!consent_asked(s, r))
            continue;
        if (r->outcome == HISTORY_REGISTERED) {
            d->consented++;
            note_line(&d->line_consented, r->line);
        } else {
            d->refused++;
            note_line(&d->line_refused, r->line);
        }
    }
    return 0;
}

/* A fixed probability that the data make impossible is refused (history.h). */
static int check_fixed(const prob_spec *p, const char *key, long yes, size_t line_yes,
                       const char *yes_what, long no, size_t line_no, const char *no_what,
                       const char *file, char *err, size_t errlen)
{
    if (p->is_beta)
        return 0;
    if (p->value >= 1.0 && no > 0)
        return fail(err, errlen, file, line_no, "%s is fixed at 1 (in trial.csv, or by "
                    "default), but this candidate %s before as_of; expected a %s below 1, or "
                    "a beta such as beta(1;1) to learn it from the history", key, no_what, key);
    if (p->value <= 0.0 && yes > 0)
        return fail(err, errlen, file, line_yes, "%s is fixed at 0 in trial.csv, but this "
                    "candidate %s before as_of; expected a %s above 0, or a beta such as "
                    "beta(1;1) to learn it from the history", key, yes_what, key);
    return 0;
}

/* ---- the table ---- */

static void free_param(history_param *p)
{
    free(p->parameter);
    free(p->prior);
    free(p->data);
    free(p->posterior);
}

void history_learning_free(history_learning *l)
{
    if (!l)
        return;
    for (size_t i = 0; l->param && i < l->n_params; i++)
        free_param(&l->param[i]);
    free(l->param);
    free(l->note);
    free(l);
}

/* Fills mean, low and high from the posterior law. */
static void summarise(history_param *p)
{
    switch (p->posterior_law) {
    case HISTORY_FIXED:
        p->mean = p->low = p->high = p->post_a;
        break;
    case HISTORY_GAMMA:
        p->mean = p->post_b;
        history_gamma_interval(p->post_a, p->post_b, &p->low, &p->high);
        break;
    case HISTORY_BETA:
        p->mean = p->post_a / (p->post_a + p->post_b);
        history_beta_interval(p->post_a, p->post_b, &p->low, &p->high);
        break;
    }
}

static char *law_text(history_law law, double a, double b, const char *unit)
{
    switch (law) {
    case HISTORY_FIXED: return format("fixed %.6g%s", a, unit);
    case HISTORY_GAMMA: return format("gamma(shape %.4g; mean %.4g%s)", a, b, unit);
    case HISTORY_BETA: break;
    }
    return format("beta(%.4g;%.4g)", a, b);
}

/* A site's rate row from its prior (law, a, b, words after the law) and data (n, t). The
 * gamma prior is updated; a fixed one is kept. update false: the prior already holds the
 * site's data (the pooled fit's ALIKE case). */
static int rate_row(history_param *p, const site_spec *st, history_law law, double a, double b,
                    const char *why, double n, double t, bool update)
{
    p->prior_law = law;
    p->prior_a = a;
    p->prior_b = b;
    p->events = n;
    p->exposure = t;
    p->learned = law == HISTORY_GAMMA && b > 0.0;
    p->posterior_law = law;
    p->post_a = a;
    p->post_b = b;
    if (p->learned && update) {
        /* Gamma(k, mean r) is Gamma(k, rate k / r); n events in exposure t give
         * Gamma(k + n, rate k / r + t) (BDA3 section 2.6). */
        p->post_a = a + n;
        p->post_b = (a + n) / (a / b + t);
    }
    char *prior = law_text(law, a, b, "/year");
    p->parameter = format("rate:%s", st->name);
    p->prior = prior ? format("%s%s", prior, why) : NULL;
    free(prior);
    p->data = t > 0.0 ? format("%.0f referral%s in %.4g years", n, n == 1.0 ? "" : "s", t)
                      : format("%.0f referrals, no exposure before as_of", n);
    p->posterior = law_text(p->posterior_law, p->post_a, p->post_b, "/year");
    summarise(p);
    return p->parameter && p->prior && p->data && p->posterior ? 0 : -1;
}

/* A site's row under its own prior from sites.csv (rate_prior site, or a degenerate pooled
 * fit). */
static int own_prior_row(history_param *p, const site_spec *st, double n, double t,
                         const char *suffix)
{
    if (st->shape > 0.0)
        return rate_row(p, st, HISTORY_GAMMA, st->shape, st->rate,
                        st->rate > 0.0 ? suffix : ": a rate of 0 stays 0", n, t, true);
    if (st->rate > 0.0 && t > 0.0) {
        char *why = format(", weak prior for the fixed rate %.6g%s", st->rate, suffix);
        int rc = why ? rate_row(p, st, HISTORY_GAMMA, 1.0, st->rate, why, n, t, true) : -1;
        free(why);
        return rc;
    }
    return rate_row(p, st, HISTORY_FIXED, st->rate, 0.0,
                    st->rate > 0.0 ? ": no exposure, kept fixed" : ": a rate of 0 stays 0", n,
                    t, true);
}

static int prob_row(history_param *p, history_param_kind kind, const prob_spec *prior,
                    long yes, long no, const char *yes_word, const char *no_word)
{
    p->kind = kind;
    p->events = (double)yes;
    p->exposure = (double)no;
    p->learned = prior->is_beta;
    p->prior_law = p->posterior_law = prior->is_beta ? HISTORY_BETA : HISTORY_FIXED;
    p->prior_a = p->post_a = prior->is_beta ? prior->a : prior->value;
    p->prior_b = p->post_b = prior->is_beta ? prior->b : 0.0;
    if (prior->is_beta) {
        /* Beta(a, b) with yes successes and no failures is Beta(a + yes, b + no) (BDA3
         * section 2.4). */
        p->post_a += (double)yes;
        p->post_b += (double)no;
    }
    p->parameter = strdup(kind == HISTORY_SCREEN_PASS ? "screen_pass" : "selfpay_consent");
    p->prior = law_text(p->prior_law, p->prior_a, p->prior_b, "");
    p->data = format("%ld %s, %ld %s%s", yes, yes_word, no, no_word,
                     prior->is_beta ? "" : " (not learned: fixed)");
    p->posterior = law_text(p->posterior_law, p->post_a, p->post_b, "");
    summarise(p);
    return p->parameter && p->prior && p->data && p->posterior ? 0 : -1;
}

/* The rate rows and the note under the pooled prior. */
static int pooled_rows(const scenario *s, const data *d, history_learning *l)
{
    double shape, mean;
    l->pool = history_pool_fit(s->n_sites, d->n, d->t, &shape, &mean);
    double n_sum = 0.0, t_sum = 0.0;
    for (size_t i = 0; i < s->n_sites; i++) {
        n_sum += d->n[i];
        t_sum += d->t[i];
    }
    const char *suffix = "";
    switch (l->pool) {
    case HISTORY_POOL_NONE:
    case HISTORY_POOL_NO_EXPOSURE:
        l->note = strdup("rate_prior pooled: no site recruited between history_from and "
                         "as_of, so there is nothing to fit; each site keeps its own prior "
                         "from sites.csv.");
        suffix = ", own prior (no pooled fit)";
        break;
    case HISTORY_POOL_NO_REFERRALS:
        l->note = format("rate_prior pooled: no referral in %.4g site-years of exposure, so "
                         "the likelihood is largest at mean 0 whatever the shape (no site "
                         "would ever refer anyone); each site's own prior from sites.csv is "
                         "updated with its exposure instead.", t_sum);
        suffix = ", own prior (no pooled fit)";
        break;
    case HISTORY_POOL_ALIKE:
        l->pool_mean = mean;
        l->pool_shape = fmax(SCENARIO_MIN_SHAPE, n_sum / (double)s->n_sites);
        l->note = format("rate_prior pooled: the likelihood is largest at infinite shape: the "
                         "sites' counts vary no more than Poisson counts with one common rate "
                         "would. Every site gets that rate, %.0f referrals in %.4g site-years "
                         "= %.4g/year, with shape %.0f / %zu sites = %.4g, so that the sites' "
                         "summed rate carries the evidence of the %.0f referrals.", n_sum,
                         t_sum, mean, n_sum, s->n_sites, l->pool_shape, n_sum);
        break;
    case HISTORY_POOL_FITTED:
    case HISTORY_POOL_LOW_SHAPE:
        l->pool_shape = shape;
        l->pool_mean = mean;
        l->pool_loglik = history_nb_loglik(s->n_sites, d->n, d->t, shape, mean);
        l->note = format("rate_prior pooled: one gamma law for every site's rate, fitted to "
                         "the %zu sites' counts by maximum negative-binomial likelihood: "
                         "shape %.4g, mean %.4g/year%s; each site's own referrals then update "
                         "it.", s->n_sites, shape, mean,
                         l->pool == HISTORY_POOL_LOW_SHAPE
                             ? " (the likelihood is largest at the smallest allowed shape, "
                               "0.01: the sites are as unlike one another as a scenario may "
                               "say)" : "");
        break;
    }
    if (!l->note)
        return -1;
    bool fitted = l->pool == HISTORY_POOL_FITTED || l->pool == HISTORY_POOL_LOW_SHAPE
                  || l->pool == HISTORY_POOL_ALIKE;
    const char *why = l->pool == HISTORY_POOL_ALIKE ? ", pooled: all sites alike"
                                                    : ", pooled fit";
    for (size_t i = 0; i < s->n_sites; i++) {
        history_param *p = &l->param[i];
        p->kind = HISTORY_RATE;
        p->site = i;
        int rc = fitted ? rate_row(p, &s->site[i], HISTORY_GAMMA, l->pool_shape, l->pool_mean,
                                   why, d->n[i], d->t[i], l->pool != HISTORY_POOL_ALIKE)
                        : own_prior_row(p, &s->site[i], d->n[i], d->t[i], suffix);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A rate of 0 (the site refers no one) with a referral in its exposure is refused, when the
 * site's own prior is used. */
static int check_zero_rates(const scenario *s, const data *d, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n_sites; i++)
        if (s->site[i].rate <= 0.0 && d->rate_line[i])
            return fail(err, errlen, s->history_file ? s->history_file : "history.csv",
                        d->rate_line[i], "site `%s` has rate 0 in sites.csv (it refers no "
                        "one), but this candidate was referred there; expected a rate above "
                        "0 for a site with referrals in the history", s->site[i].name);
    return 0;
}

static int learn(const scenario *s, data *d, history_learning *l, char *err, size_t errlen)
{
    const char *file = s->history_file ? s->history_file : "history.csv";
    if (gather(s, d, err, errlen) != 0
        || check_fixed(&s->screen_pass, "screen_pass", d->passed, d->line_passed,
                       "passed screening", d->failed, d->line_failed, "failed screening",
                       file, err, errlen) != 0
        || check_fixed(&s->selfpay_consent, "selfpay_consent", d->consented,
                       d->line_consented, "consented to pay", d->refused, d->line_refused,
                       "declined to pay", file, err, errlen) != 0)
        return -1;
    l->rate_prior = s->rate_prior;
    l->pool = HISTORY_POOL_NONE;
    int rc = 0;
    if (s->rate_prior == HISTORY_PRIOR_POOLED) {
        rc = pooled_rows(s, d, l);
        bool own = l->pool == HISTORY_POOL_NO_EXPOSURE || l->pool == HISTORY_POOL_NO_REFERRALS;
        if (rc == 0 && own && check_zero_rates(s, d, err, errlen) != 0)
            return -1;
    } else {
        if (check_zero_rates(s, d, err, errlen) != 0)
            return -1;
        l->note = strdup("rate_prior site: each site's rate from sites.csv is its prior (a "
                         "fixed rate with exposure gets the weak prior gamma(shape 1) of that "
                         "mean), updated with its own referrals over its exposure.");
        rc = l->note ? 0 : -1;
        for (size_t i = 0; rc == 0 && i < s->n_sites; i++) {
            l->param[i].kind = HISTORY_RATE;
            l->param[i].site = i;
            rc = own_prior_row(&l->param[i], &s->site[i], d->n[i], d->t[i], "");
        }
    }
    if (rc == 0)
        rc = prob_row(&l->param[s->n_sites], HISTORY_SCREEN_PASS, &s->screen_pass, d->passed,
                      d->failed, "passed", "failed");
    if (rc == 0)
        rc = prob_row(&l->param[s->n_sites + 1], HISTORY_SELFPAY_CONSENT, &s->selfpay_consent,
                      d->consented, d->refused, "consented", "refused");
    if (rc != 0)
        return fail(err, errlen, file, 0, "out of memory; expected enough memory to learn "
                    "from the history");
    return 0;
}

void history_count(const scenario *s, date_t day, long *registered, long *screening)
{
    *registered = *screening = 0;
    for (size_t k = 0; k < s->n_history; k++) {
        const history_row *r = &s->history[k];
        if (r->referred >= day)
            continue;
        if (r->outcome == HISTORY_IN_SCREENING || r->decided >= day)
            (*screening)++;
        else if (r->outcome == HISTORY_REGISTERED)
            (*registered)++;
    }
}

/* The counts at as_of and the span of the rows. */
static void count_rows(const scenario *s, history_learning *l)
{
    history_count(s, s->as_of, &l->enrolled, &l->screening);
    l->last_date = s->history_from;
    for (size_t k = 0; k < s->n_history; k++) {
        const history_row *r = &s->history[k];
        if (r->referred < s->as_of)
            l->n_before++;
        else
            l->n_after++;
        date_t last = r->decided > r->referred ? r->decided : r->referred;
        if (last > l->last_date)
            l->last_date = last;
    }
}

int history_learn(const scenario *s, history_learning **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *file = s->history_file ? s->history_file : "history.csv";
    size_t n = s->n_sites ? s->n_sites : 1;
    history_learning *l = calloc(1, sizeof *l);
    data d = {0};
    d.n = calloc(n, sizeof *d.n);
    d.t = calloc(n, sizeof *d.t);
    d.rate_line = calloc(n, sizeof *d.rate_line);
    if (l)
        l->param = calloc(s->n_sites + 2, sizeof *l->param);
    int rc;
    if (!l || !l->param || !d.n || !d.t || !d.rate_line) {
        rc = fail(err, errlen, file, 0, "out of memory; expected enough memory to learn from "
                  "the history");
    } else {
        l->n_params = s->n_sites + 2;
        gsl_error_handler_t *old = gsl_set_error_handler_off();
        rc = learn(s, &d, l, err, errlen);
        gsl_set_error_handler(old);
        count_rows(s, l);
        l->history_from = s->history_from;
    }
    free(d.n);
    free(d.t);
    free(d.rate_line);
    if (rc != 0) {
        history_learning_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

int history_apply(scenario *s, char *err, size_t errlen)
{
    if (!s->has_history)
        return 0;
    if (s->learned) {
        if (err && errlen)
            snprintf(err, errlen, "%s:0: the scenario has already learned from its history; "
                     "expected a scenario whose values are still the priors",
                     s->history_file ? s->history_file : "history.csv");
        return -1;
    }
    history_learning *l;
    if (history_learn(s, &l, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < s->n_sites; i++) {
        const history_param *p = &l->param[i];
        site_spec *st = &s->site[i];
        /* A gamma keeps its shape even at mean 0 (a site that refers no one, as before). */
        st->rate = p->posterior_law == HISTORY_GAMMA ? p->post_b : p->post_a;
        st->shape = p->posterior_law == HISTORY_GAMMA ? p->post_a : 0.0;
    }
    for (size_t k = 0; k < 2; k++) {
        const history_param *p = &l->param[s->n_sites + k];
        prob_spec *ps = k == 0 ? &s->screen_pass : &s->selfpay_consent;
        if (p->posterior_law == HISTORY_BETA)
            *ps = (prob_spec){.is_beta = true, .value = p->post_a / (p->post_a + p->post_b),
                              .a = p->post_a, .b = p->post_b};
    }
    s->learned = l;
    return 0;
}

/* ---- writing ---- */

/* A CSV field: quoted when it holds a comma, quote or line break, quotes doubled. */
static int put_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, out) < 0 ? -1 : 0;
    if (fputc('"', out) == EOF)
        return -1;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', out) == EOF) || fputc(*s, out) == EOF)
            return -1;
    return fputc('"', out) == EOF ? -1 : 0;
}

/* A number with 6 significant digits and '.' as decimal mark whatever the locale. */
static int put_number(FILE *out, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.6g", v);
    for (char *c = buf; *c; c++)
        if (*c == ',')
            *c = '.';
    return fputs(buf, out) < 0 ? -1 : 0;
}

int history_write_csv(const history_learning *l, FILE *out)
{
    int rc = fputs("parameter,prior,data,posterior_mean,posterior_low,posterior_high,"
                   "posterior\n", out) < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < l->n_params; i++) {
        const history_param *p = &l->param[i];
        rc |= put_field(out, p->parameter);
        rc |= fputc(',', out) == EOF ? -1 : 0;
        rc |= put_field(out, p->prior);
        rc |= fputc(',', out) == EOF ? -1 : 0;
        rc |= put_field(out, p->data);
        rc |= fputc(',', out) == EOF ? -1 : 0;
        rc |= put_number(out, p->mean);
        rc |= fputc(',', out) == EOF ? -1 : 0;
        rc |= put_number(out, p->low);
        rc |= fputc(',', out) == EOF ? -1 : 0;
        rc |= put_number(out, p->high);
        rc |= fputc(',', out) == EOF ? -1 : 0;
        rc |= put_field(out, p->posterior);
        rc |= fputc('\n', out) == EOF ? -1 : 0;
    }
    return rc ? -1 : 0;
}

#define PRINT_COLUMNS 79

/* Writes text wrapped at PRINT_COLUMNS, every line indented by indent spaces. */
static void print_wrapped(FILE *out, const char *text, int indent)
{
    const char *p = text;
    while (*p) {
        int width = PRINT_COLUMNS - indent, n = 0, last_space = -1;
        while (p[n] && n < width) {
            if (p[n] == ' ')
                last_space = n;
            n++;
        }
        if (p[n] && last_space > 0)
            n = last_space;
        fprintf(out, "%*s%.*s\n", indent, "", n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

/* A short form of a law for the terminal: "gamma(1;2)", "beta(3;3)", "fixed 1". */
static void short_law(char *buf, size_t len, history_law law, double a, double b)
{
    switch (law) {
    case HISTORY_FIXED: snprintf(buf, len, "fixed %.3g", a); return;
    case HISTORY_GAMMA: snprintf(buf, len, "gamma(%.3g;%.3g)", a, b); return;
    case HISTORY_BETA: snprintf(buf, len, "beta(%.3g;%.3g)", a, b); return;
    }
}

/* One parameter's cells on the terminal. */
typedef struct print_row {
    char prior[40], data[40], posterior[60];
} print_row;

static void print_cells(const history_param *p, print_row *c)
{
    short_law(c->prior, sizeof c->prior, p->prior_law, p->prior_a, p->prior_b);
    if (p->kind == HISTORY_RATE)
        snprintf(c->data, sizeof c->data, "%.0f in %.3g y", p->events, p->exposure);
    else
        snprintf(c->data, sizeof c->data, "%.0f %s, %.0f %s", p->events,
                 p->kind == HISTORY_SCREEN_PASS ? "pass" : "yes", p->exposure,
                 p->kind == HISTORY_SCREEN_PASS ? "fail" : "no");
    if (p->low == p->high)
        snprintf(c->posterior, sizeof c->posterior, "%.3g%s", p->mean,
                 p->learned ? "" : " (kept)");
    else
        snprintf(c->posterior, sizeof c->posterior, "%.3g (%.3g-%.3g)", p->mean, p->low,
                 p->high);
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

void history_print(const history_learning *l, FILE *out)
{
    char from[11];
    date_format(l->history_from, from);
    fprintf(out, "Learned       history.csv from %s: %zu candidate%s before as_of, %zu after\n",
            from, l->n_before, l->n_before == 1 ? "" : "s", l->n_after);
    fprintf(out, "              %ld registered before as_of and %ld in screening at it "
            "(counted)\n", l->enrolled, l->screening);
    print_wrapped(out, l->note, 2);
    print_row *cells = malloc((l->n_params ? l->n_params : 1) * sizeof *cells);
    if (!cells)
        return;
    int name_w = 9, prior_w = 5, data_w = 4, post_w = 16;
    for (size_t i = 0; i < l->n_params; i++) {
        print_cells(&l->param[i], &cells[i]);
        name_w = max_int(name_w, (int)strlen(l->param[i].parameter));
        prior_w = max_int(prior_w, (int)strlen(cells[i].prior));
        data_w = max_int(data_w, (int)strlen(cells[i].data));
        post_w = max_int(post_w, (int)strlen(cells[i].posterior));
    }
    /* Long site names are cut so that a row fits in PRINT_COLUMNS when it can. */
    name_w = max_int(12, name_w < PRINT_COLUMNS - 8 - prior_w - data_w - post_w
                             ? name_w : PRINT_COLUMNS - 8 - prior_w - data_w - post_w);
    fprintf(out, "  %-*s  %-*s  %-*s  %s\n", name_w, "parameter", prior_w, "prior", data_w,
            "data", "posterior (90 %)");
    for (size_t i = 0; i < l->n_params; i++) {
        const char *name = l->param[i].parameter;
        if ((int)strlen(name) > name_w)
            fprintf(out, "  %.*s..", name_w - 2, name);
        else
            fprintf(out, "  %-*s", name_w, name);
        fprintf(out, "  %-*s  %-*s  %s\n", prior_w, cells[i].prior, data_w, cells[i].data,
                cells[i].posterior);
    }
    free(cells);
    fprintf(out, "  rates per year; gamma(shape;mean), beta(a;b); rate data: referrals in "
            "years\n");
}
