/* The engine against an independent event-by-event simulator (tests/eventsim.c, written from
 * DESIGN.md, not from the engine's code), on the scenarios of tests/models/ and two shipped
 * ones; and the event simulator itself against exact values computed here by convolution
 * (closed forms given the per-trial draws, quadrature over beta probabilities).
 *
 * Usage: build/tests/test_eventsim   (run from the repository's root) */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>

#include "eventsim.c"

#ifndef ACCRUE_BIN
#define ACCRUE_BIN "build/accrue"
#endif

/* ---- settings ----
 * Trial counts. The engine does about 4 to 10 M trials/s on 2 threads on these scenarios, so
 * 4 M cost 0.5 to 1.3 s of CPU a case; the event simulator does about 0.4 M trials/s per core
 * (it follows a trial past the deadline only until its completion date is known), so 600 k
 * cost about 1.5 s of CPU a case. 8 cases: about 18 s of CPU in all, 9 to 10 s on 2 idle
 * cores. The comparisons' power comes from the event simulator's SE: about 0.0006 on a
 * probability near 1/2, 0.002 to 0.009 on a mean count, 0.5 to 3 days on a median.
 * Seeds are fixed: the test is deterministic. Both counts can be overridden at compile time
 * (-DES_TRIALS=..., -DENGINE_TRIALS=...) for a quick run under a sanitizer. */
#ifndef ENGINE_TRIALS
#define ENGINE_TRIALS 4000000
#endif
#define ENGINE_SEED 20260718
#ifndef ES_TRIALS
#define ES_TRIALS 600000
#endif
#define ES_SEED 7

/* Family-wise false-alarm rate: the probability, over the choice of seeds, that at least one
 * comparison of a family exceeds the limit when engine and event simulator (or event simulator
 * and exact value) estimate the same quantities. With m comparisons in a family, each z is
 * approximately standard normal under that hypothesis (both estimates are means or order
 * statistics of many independent trials, their SEs consistent), and Bonferroni's inequality
 * P(any |z_i| > Z) <= m P(|z| > Z) = 2 m Q(Z) gives Z = Q^{-1}(ALPHA / (2 m)) for a family-wise
 * rate of at most ALPHA. m counts every comparison planned for the family, skipped cases
 * included (so Z does not move as the engine learns new inputs). Two families, each at ALPHA:
 * engine against event simulator, m = 78 today (p_success, mean_enrolled, each checkpoint's
 * mean and the median completion for 8 scenarios), Z = Q^{-1}(0.01 / 156) = 3.830; event
 * simulator against exact values, m = 70, Z = Q^{-1}(0.01 / 140) = 3.803. main() counts m and
 * prints Z. (The medians' SEs come from order-statistic intervals, asymptotically exact; the
 * engine's median is a whole date, handled conservatively below.) */
#define ALPHA 0.01

/* Scenarios, and whether the engine is expected to agree now (base model only). */
typedef struct tcase {
    const char *dir;
    int base_model;
    es_scenario *sc;
    es_result *es;
} tcase;

static tcase cases[] = {
    {"tests/models/base-control", 1, NULL, NULL},
    {"tests/models/schedule-steps", 0, NULL, NULL},
    {"tests/models/uncertain-activation", 0, NULL, NULL},
    {"tests/models/opens", 0, NULL, NULL},
    {"tests/models/selfpay-screening", 0, NULL, NULL},
    {"tests/models/mix", 0, NULL, NULL},
    {"scenarios/self-pay", 1, NULL, NULL},
    {"bench/reference", 1, NULL, NULL},
};
#define NCASES (sizeof cases / sizeof *cases)

static double z_engine, z_exact; /* the limits of the two families */
static size_t m_engine, m_exact;

static es_result *case_eventsim(tcase *c)
{
    if (!c->es)
        c->es = es_simulate(c->sc, ES_TRIALS, ES_SEED);
    return c->es;
}

/* z of a - b; a difference up to `slack` (a known bound on a rounding error) counts as 0. */
static double zscore(double a, double se_a, double b, double se_b, double slack)
{
    double s = sqrt(se_a * se_a + se_b * se_b), d = a - b;
    d = d > slack ? d - slack : d < -slack ? d + slack : 0;
    if (!(s > 0))
        return d == 0 ? 0 : (d > 0 ? INFINITY : -INFINITY);
    return d / s;
}

/* Prints one comparison; returns 1 when |z| exceeds limit (or z is not a number). */
static int compare_slack(const char *what, double a, double se_a, double b, double se_b,
                         double slack, double limit)
{
    double z = zscore(a, se_a, b, se_b, slack);
    int bad = !(fabs(z) <= limit);
    printf("    %-28s %12.6g (%-9.3g) %12.6g (%-9.3g) z = %+7.2f%s\n", what, a, se_a, b, se_b, z,
           bad ? "  <-- FAIL" : "");
    return bad;
}

static int compare(const char *what, double a, double se_a, double b, double se_b, double limit)
{
    return compare_slack(what, a, se_a, b, se_b, 0, limit);
}

static void date_string(long as_of, long day, char *buf, size_t len)
{
    long y, m, d;
    es_civil_from_days(as_of + day, &y, &m, &d);
    snprintf(buf, len, "%04ld-%02ld-%02ld", y, m, d);
}

/* ---- exact values (for the self-check) ----
 * Given p, q and each site's rate, activation and opening, referrals are independent Poisson
 * processes thinned by p (and q on or after selfpay_from): site s registers a Poisson number of
 * candidates by time T with mean rate * (p I_pre + p q I_post) / 365.25, I_pre and I_post the
 * integrals of its schedule factor over its referral window [max(A, 0), min(T - screen_days,
 * horizon_end)) before and after selfpay_from. A gamma rate makes that negative binomial; an
 * uncertain activation or opening makes the site's law a mixture; the sites and the screening
 * candidates (binomial) are independent given p and q, so the count's law is the convolution
 * of theirs. Only the probabilities of 0 .. need-1 registrations matter for P(N >= target),
 * so every law is kept truncated there. Beta p and q: Gauss-Legendre quadrature (EX_NODES
 * points each) against their densities, the weights renormalised to sum 1. */
#define EX_NODES 24

/* integral of site s's schedule factor over [x, y) */
static double factor_integral(const es_site *s, double x, double y)
{
    if (!(y > x))
        return 0;
    double total = 0, a = -INFINITY, f = 1;
    for (size_t k = 0; k <= s->nsteps; k++) {
        double b = k < s->nsteps ? (double)s->step[k].from : INFINITY;
        double lo = a > x ? a : x, hi = b < y ? b : y;
        if (hi > lo)
            total += f * (hi - lo);
        if (k < s->nsteps) {
            a = b;
            f = s->step[k].factor;
        }
    }
    return total;
}

/* referral window integrals of site s activated on day act, for registrations before T */
static void site_window(const es_scenario *sc, const es_site *s, long act, double T,
                        double *pre, double *post)
{
    double a = act > 0 ? (double)act : 0, b = T - sc->screen_days;
    if (b > sc->horizon_end)
        b = sc->horizon_end;
    double S = (double)sc->selfpay_from;
    *pre = factor_integral(s, a, b < S ? b : S);
    *post = factor_integral(s, a > S ? a : S, b);
}

/* probability that a candidate in screening registers before T, given p and q */
static double screening_prob(const es_scenario *sc, double p, double q, double T)
{
    double sd = sc->screen_days, S = (double)sc->selfpay_from;
    double cq = sc->selfpay_screening ? q : 1;
    if (!(sd > 0))
        return T > 0 ? p * (0 >= S ? cq : 1) : 0;
    double end = T < sd ? T : sd;
    if (!(end > 0))
        return 0;
    double before = S < 0 ? 0 : (S < end ? S : end);
    return p * (before + cq * (end - before)) / sd;
}

typedef struct quad {
    size_t n;
    double x[EX_NODES], w[EX_NODES];
} quad;

static quad quad_for(const es_prob *pr)
{
    quad qd = {0};
    if (!pr->is_beta) {
        qd.n = 1;
        qd.x[0] = pr->value;
        qd.w[0] = 1;
        return qd;
    }
    gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc(EX_NODES);
    double sum = 0;
    for (size_t i = 0; i < EX_NODES; i++) {
        gsl_integration_glfixed_point(0, 1, i, &qd.x[i], &qd.w[i], t);
        qd.w[i] *= gsl_ran_beta_pdf(qd.x[i], pr->a, pr->b);
        sum += qd.w[i];
    }
    for (size_t i = 0; i < EX_NODES; i++)
        qd.w[i] /= sum;
    qd.n = EX_NODES;
    gsl_integration_glfixed_table_free(t);
    return qd;
}

/* pmf[0..K-1] of Poisson (shape 0) or negative binomial (shape r, mean mu), added times w */
static void add_count_pmf(double *pmf, size_t K, double shape, double mu, double w)
{
    double v;
    if (shape > 0) {
        double ratio = mu / (shape + mu);
        v = pow(shape / (shape + mu), shape);
        for (size_t j = 0; j < K; j++) {
            pmf[j] += w * v;
            v *= (shape + (double)j) / (double)(j + 1) * ratio;
        }
    } else {
        v = exp(-mu);
        for (size_t j = 0; j < K; j++) {
            pmf[j] += w * v;
            v *= mu / (double)(j + 1);
        }
    }
}

static void convolve(double *acc, const double *f, size_t K, double *tmp)
{
    for (size_t j = 0; j < K; j++) {
        double s = 0;
        for (size_t i = 0; i <= j; i++)
            s += acc[i] * f[j - i];
        tmp[j] = s;
    }
    memcpy(acc, tmp, K * sizeof *acc);
}

/* P(registrations before time T, enrolled included, >= target) */
static double exact_p_reached(const es_scenario *sc, double T)
{
    long need = sc->target - sc->enrolled;
    if (need <= 0)
        return 1;
    size_t K = (size_t)need;
    quad qp = quad_for(&sc->screen_pass), qq = quad_for(&sc->consent);
    double *acc = calloc(K, sizeof *acc), *f = calloc(K, sizeof *f), *tmp = calloc(K, sizeof *tmp);
    size_t ns = sc->nsites;
    double *pre = NULL, *post = NULL; /* per site, per activation day */
    size_t *off = calloc(ns + 1, sizeof *off);
    for (size_t s = 0; s < ns; s++)
        off[s + 1] = off[s] + (size_t)(sc->site[s].active_hi - sc->site[s].active_lo + 1);
    pre = calloc(off[ns] + 1, sizeof *pre);
    post = calloc(off[ns] + 1, sizeof *post);
    assert_true(acc && f && tmp && off && pre && post);
    for (size_t s = 0; s < ns; s++)
        for (long a = sc->site[s].active_lo; a <= sc->site[s].active_hi; a++) {
            size_t i = off[s] + (size_t)(a - sc->site[s].active_lo);
            site_window(sc, &sc->site[s], a, T, &pre[i], &post[i]);
        }
    double below = 0; /* P(N < target) */
    for (size_t ip = 0; ip < qp.n; ip++)
        for (size_t iq = 0; iq < qq.n; iq++) {
            double p = qp.x[ip], q = qq.x[iq];
            memset(acc, 0, K * sizeof *acc);
            /* screening: binomial(screening, pi) */
            double pi = screening_prob(sc, p, q, T);
            for (size_t j = 0; j < K && (long)j <= sc->screening; j++)
                acc[j] = gsl_ran_binomial_pdf((unsigned)j, pi, (unsigned)sc->screening);
            for (size_t s = 0; s < ns; s++) {
                const es_site *site = &sc->site[s];
                memset(f, 0, K * sizeof *f);
                f[0] = 1 - site->opens;
                size_t nA = off[s + 1] - off[s];
                for (size_t i = 0; i < nA; i++) {
                    double mu = site->rate / 365.25 * p *
                                (pre[off[s] + i] + q * post[off[s] + i]);
                    add_count_pmf(f, K, site->shape, mu, site->opens / (double)nA);
                }
                convolve(acc, f, K, tmp);
            }
            double sum = 0;
            for (size_t j = 0; j < K; j++)
                sum += acc[j];
            below += qp.w[ip] * qq.w[iq] * sum;
        }
    free(acc), free(f), free(tmp), free(off), free(pre), free(post);
    return 1 - below;
}

/* E[registrations before T], enrolled included: linear in p and p q, so their means suffice */
static double exact_mean(const es_scenario *sc, double T)
{
    double p = sc->screen_pass.value, q = sc->consent.value; /* means (value holds a/(a+b)) */
    double m = (double)sc->enrolled + (double)sc->screening * screening_prob(sc, p, q, T);
    for (size_t s = 0; s < sc->nsites; s++) {
        const es_site *site = &sc->site[s];
        double sum = 0;
        for (long a = site->active_lo; a <= site->active_hi; a++) {
            double pre, post;
            site_window(sc, site, a, T, &pre, &post);
            sum += pre + q * post;
        }
        m += site->opens * site->rate / 365.25 * p * sum /
             (double)(site->active_hi - site->active_lo + 1);
    }
    return m;
}

/* The median completion time (days from the start of as_of): the smallest t with
 * P(target reached before t) >= 1/2, by bisection to 1e-6 day, or NAN past the followed span.
 * P(T_target < t) = P(N(t) >= target), N(t) the registrations in [0, t). */
static double exact_median(const es_scenario *sc)
{
    double lo = 0, hi = sc->horizon_end + sc->screen_days;
    if (exact_p_reached(sc, hi) < 0.5)
        return NAN;
    if (exact_p_reached(sc, 1e-9) >= 0.5)
        return 0;
    while (hi - lo > 1e-6) {
        double mid = (lo + hi) / 2;
        if (exact_p_reached(sc, mid) >= 0.5)
            hi = mid;
        else
            lo = mid;
    }
    return (lo + hi) / 2;
}

/* ---- the exact calculator itself against GSL's closed forms ----
 * Deterministic: the convolution code above against gsl_cdf_poisson_Q and
 * gsl_cdf_negative_binomial_Q where the count's law is one Poisson or a small mixture. */
static void test_exact_calculator(void **state)
{
    (void)state;
    /* schedule-steps: fixed rates and probabilities, no screening: N ~ Poisson(Lambda) */
    es_scenario *sc = cases[1].sc;
    double T = (double)sc->deadline + 1, Lambda = 0;
    for (size_t s = 0; s < sc->nsites; s++) {
        double pre, post;
        site_window(sc, &sc->site[s], sc->site[s].active_lo, T, &pre, &post);
        Lambda += sc->site[s].rate / 365.25 * sc->screen_pass.value *
                  (pre + sc->consent.value * post);
    }
    double want = gsl_cdf_poisson_Q((unsigned)(sc->target - 1), Lambda);
    double got = exact_p_reached(sc, T);
    printf("    schedule-steps: Lambda %.6f, P(Poisson >= %ld) %.9f, convolution %.9f\n", Lambda,
           sc->target, want, got);
    assert_true(fabs(got - want) < 1e-9);
    assert_true(fabs(exact_mean(sc, T) - Lambda) < 1e-9);

    /* opens: fixed-rate sites opening with probability o_s, one gamma site: a mixture over
     * which sites open of negative binomial (+) Poisson; the negative binomial tail by GSL and
     * the sum with the Poisson by conditioning on the Poisson part. */
    sc = cases[3].sc;
    T = (double)sc->deadline + 1;
    size_t ns = sc->nsites, g = ns;
    double mu[16];
    assert_true(ns < 16);
    for (size_t s = 0; s < ns; s++) {
        double pre, post;
        site_window(sc, &sc->site[s], sc->site[s].active_lo, T, &pre, &post);
        mu[s] = sc->site[s].rate / 365.25 * sc->screen_pass.value *
                (pre + sc->consent.value * post);
        if (sc->site[s].shape > 0) {
            assert_int_equal(g, ns); /* at most one gamma site in this check */
            g = s;
        }
    }
    unsigned k = (unsigned)(sc->target - sc->enrolled);
    want = 0;
    for (unsigned mask = 0; mask < (1u << ns); mask++) {
        double w = 1, lam = 0;
        int gamma_open = 0;
        for (size_t s = 0; s < ns; s++) {
            int open = (mask >> s) & 1;
            w *= open ? sc->site[s].opens : 1 - sc->site[s].opens;
            if (open && s == g)
                gamma_open = 1;
            else if (open)
                lam += mu[s];
        }
        if (w == 0)
            continue;
        double pr;
        if (!gamma_open) {
            pr = gsl_cdf_poisson_Q(k - 1, lam);
        } else {
            /* P(X + Y >= k), X ~ Poisson(lam), Y ~ NB(r, mean mu_g) */
            double r = sc->site[g].shape, pg = r / (r + mu[g]);
            pr = gsl_cdf_poisson_Q(k - 1, lam);
            for (unsigned x = 0; x < k; x++)
                pr += gsl_ran_poisson_pdf(x, lam) *
                      gsl_cdf_negative_binomial_Q(k - x - 1, pg, r);
        }
        want += w * pr;
    }
    got = exact_p_reached(sc, T);
    printf("    opens: mixture of Poisson and negative binomial tails %.9f, convolution %.9f\n",
           want, got);
    assert_true(fabs(got - want) < 1e-9);
}

/* ---- the event simulator against the exact values ---- */
static void test_selfcheck(void **state)
{
    tcase *c = *state;
    es_scenario *sc = c->sc;
    es_result *r = case_eventsim(c);
    int bad = 0;
    char what[64];
    printf("  %s (event simulator, %llu trials; exact)\n", c->dir, (unsigned long long)r->trials);
    bad += compare("p_success", r->p_success, r->p_success_se,
                   exact_p_reached(sc, (double)sc->deadline + 1), 0, z_exact);
    for (size_t j = 0; j < sc->ncheckpoints; j++) {
        char date[16];
        date_string(sc->as_of, sc->checkpoint[j], date, sizeof date);
        snprintf(what, sizeof what, "mean %s", date);
        bad += compare(what, r->cp_mean[j], r->cp_mean_se[j],
                       exact_mean(sc, (double)sc->checkpoint[j] + 1), 0, z_exact);
    }
    bad += compare("completion median (days)", r->median_completion, r->median_completion_se,
                   exact_median(sc), 0, z_exact);
    if (bad)
        fail_msg("%s: %d comparisons beyond |z| = %.2f", c->dir, bad, z_exact);
}

/* ---- the engine against the event simulator ---- */

/* DIR/FILE read whole, or NULL after printing why */
static csvtab *read_table(const char *dir, const char *file)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    csvtab *t = csvtab_read(path, err, sizeof err);
    if (!t)
        printf("    %s\n", err);
    return t;
}

static const char *summary_value(const csvtab *t, const char *key)
{
    for (size_t i = 1; i < t->nrows; i++)
        if (t->row[i].nfields >= 2 && !strcmp(t->row[i].field[0], key))
            return t->row[i].field[1];
    fail_msg("summary.csv: no key %s", key);
    return NULL;
}

static double number(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        fail_msg("not a number: '%s'", s);
    return v;
}

static double date_day(const es_scenario *sc, const char *s)
{
    long d;
    if (es_parse_date(s, &d) != 0)
        fail_msg("not a date: '%s'", s);
    return (double)(d - sc->as_of);
}

static void test_engine(void **state)
{
    tcase *c = *state;
    es_scenario *sc = c->sc;
    char tmp[] = "/tmp/accrue-eventsim-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char out[600], cmd[2048];
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(cmd, sizeof cmd, "%s run %s --trials %d --seed %d --quiet --out %s 2>&1",
             ACCRUE_BIN, c->dir, ENGINE_TRIALS, ENGINE_SEED, out);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char output[1 << 16];
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (code != 0) {
        char *nl = strchr(output, '\n');
        if (nl)
            *nl = '\0';
        printf("  %s: the engine refused it (exit %d): %s\n", c->dir, code, output);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp);
        if (c->base_model)
            fail_msg("%s: a base-model scenario the engine must accept", c->dir);
        skip();
    }
    csvtab *sum = read_table(out, "summary.csv");
    csvtab *cp = read_table(out, "checkpoints.csv");
    csvtab *qt = read_table(out, "quantiles.csv");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    assert_true(sum && cp && qt);

    es_result *r = case_eventsim(c);
    int bad = 0;
    printf("  %s (engine %d trials; event simulator %llu trials)\n", c->dir, ENGINE_TRIALS,
           (unsigned long long)r->trials);
    bad += compare("p_success", number(summary_value(sum, "p_success")),
                   number(summary_value(sum, "p_success_se")), r->p_success, r->p_success_se,
                   z_engine);
    bad += compare("mean_enrolled", number(summary_value(sum, "mean_enrolled")),
                   number(summary_value(sum, "mean_enrolled_se")), r->mean_deadline,
                   r->mean_deadline_se, z_engine);

    /* checkpoints: the same dates, then each mean */
    int c_date = es_column(cp, "date"), c_mean = es_column(cp, "mean"),
        c_se = es_column(cp, "mean_se");
    assert_true(c_date >= 0 && c_mean >= 0 && c_se >= 0);
    if (cp->nrows - 1 != sc->ncheckpoints) {
        printf("    checkpoints: the engine has %zu dates, DESIGN.md gives %zu  <-- FAIL\n",
               cp->nrows - 1, sc->ncheckpoints);
        bad++;
    } else {
        for (size_t j = 0; j < sc->ncheckpoints; j++) {
            const csv_row *row = &cp->row[j + 1];
            char date[16], what[64];
            date_string(sc->as_of, sc->checkpoint[j], date, sizeof date);
            if (strcmp(es_field(row, c_date), date)) {
                printf("    checkpoint %zu: engine %s, DESIGN.md %s  <-- FAIL\n", j + 1,
                       es_field(row, c_date), date);
                bad++;
                continue;
            }
            snprintf(what, sizeof what, "mean %s", date);
            bad += compare(what, number(es_field(row, c_mean)), number(es_field(row, c_se)),
                           r->cp_mean[j], r->cp_mean_se[j], z_engine);
        }
    }

    /* The median completion date. The engine gives the date of its sample median m_e, i.e.
     * its whole part (the whole part of an order statistic is the order statistic of the whole
     * parts), and a 95 % order-statistic interval of dates [low, high], so the continuous
     * interval lies within [low, high + 1): SE <= (high - low + 1) / (2 * 1.96), used as the
     * engine's SE. It is compared as date + 1/2 against the event simulator's continuous
     * median, with a slack of half a day (the rounding error's bound) taken off the
     * difference before dividing by the SEs: conservative, so the family-wise rate stays at
     * most ALPHA. */
    int c_q = es_column(qt, "quantile"), c_lo = es_column(qt, "completion_date_low"),
        c_hi = es_column(qt, "completion_date_high");
    assert_true(c_q >= 0 && c_lo >= 0 && c_hi >= 0);
    double lo = NAN, hi = NAN;
    for (size_t i = 1; i < qt->nrows; i++)
        if (fabs(number(es_field(&qt->row[i], c_q)) - 0.5) < 1e-9) {
            lo = date_day(sc, es_field(&qt->row[i], c_lo));
            hi = date_day(sc, es_field(&qt->row[i], c_hi));
        }
    double med = date_day(sc, summary_value(sum, "completion_median"));
    bad += compare_slack("completion median (days)", med + 0.5, (hi - lo + 1) / (2 * 1.96),
                         r->median_completion, r->median_completion_se, 0.5, z_engine);
    csvtab_free(sum);
    csvtab_free(cp);
    csvtab_free(qt);
    if (bad)
        fail_msg("%s: %d comparisons beyond |z| = %.2f%s", c->dir, bad, z_engine,
                 c->base_model ? "" : " (the engine may not model this scenario's inputs yet)");
}

static int teardown_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        es_result_free(cases[i].es);
        es_free(cases[i].sc);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s (from the repository's root)\n", argv[0]);
        return 2;
    }
    gsl_set_error_handler_off();
    for (size_t i = 0; i < NCASES; i++) {
        cases[i].sc = es_load(cases[i].dir);
        m_engine += 3 + cases[i].sc->ncheckpoints; /* p, mean, checkpoints, median */
        m_exact += 2 + cases[i].sc->ncheckpoints;  /* p, checkpoints, median */
    }
    z_engine = gsl_cdf_ugaussian_Qinv(ALPHA / (2.0 * (double)m_engine));
    z_exact = gsl_cdf_ugaussian_Qinv(ALPHA / (2.0 * (double)m_exact));
    printf("family-wise false-alarm rate %.2g (Bonferroni): engine vs event simulator, %zu "
           "comparisons, |z| <= %.3f; event simulator vs exact, %zu comparisons, |z| <= %.3f\n",
           ALPHA, m_engine, z_engine, m_exact, z_exact);
    printf("columns: quantity, first estimate (SE), second estimate (SE), z\n");

    struct CMUnitTest tests[1 + 2 * NCASES];
    char names[2 * NCASES][96];
    tests[0] = (struct CMUnitTest){"exact calculator against GSL closed forms",
                                   test_exact_calculator, NULL, NULL, NULL};
    for (size_t i = 0; i < NCASES; i++) {
        snprintf(names[i], sizeof names[i], "eventsim vs exact: %s", cases[i].dir);
        tests[1 + i] = (struct CMUnitTest){names[i], test_selfcheck, NULL, NULL, &cases[i]};
        snprintf(names[NCASES + i], sizeof names[NCASES + i], "engine vs eventsim: %s",
                 cases[i].dir);
        tests[1 + NCASES + i] =
            (struct CMUnitTest){names[NCASES + i], test_engine, NULL, NULL, &cases[i]};
    }
    return cmocka_run_group_tests_name("eventsim", tests, NULL, teardown_all);
}
