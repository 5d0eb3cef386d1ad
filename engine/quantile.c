/* Beta and gamma quantiles in bounded time: see quantile.h.
 *
 * The root of F(x(t)) - p is found in t, a variable in which both tails are reachable and the
 * bisection steps are even: t = logit(x) for the beta (x from 1e-300 to 1 - 1e-16 is t from
 * -690 to 37) and t = log(x) for the gamma of unit scale. Every evaluation of F is bounded
 * (GSL's incomplete beta and gamma functions stop after a fixed number of terms) and there are
 * at most QUANTILE_MAX_ITER of them; in practice 3 to 8 (bisection steps, each halving the
 * bracket, take over where Newton's steps would not converge). */
#include "quantile.h"

#include <math.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>

/* Where t stops: x(T_LO) is 0 or below every double, x(T_HI) is 1 (beta) or beyond any value a
 * scenario can produce (gamma: e^700 ~ 1e304). */
#define T_LO (-800.0)
#define T_HI_BETA 800.0
#define T_HI_GAMMA 700.0

typedef struct qproblem {
    int beta;          /* 1: Beta(a, b); 0: Gamma(a, 1) */
    double p, a, b;
    double mu, sigma;  /* of the normal approximation (gamma: of the cube root, Wilson and
                          Hilferty 1931) */
    double log_norm;   /* log B(a, b) or log Gamma(a) */
} qproblem;

static double logistic(double t)
{
    return t >= 0.0 ? 1.0 / (1.0 + exp(-t)) : exp(t) / (1.0 + exp(t));
}

static double x_of(const qproblem *q, double t)
{
    return q->beta ? logistic(t) : exp(t);
}

/* F(x), with the normal approximation where GSL's value is not a number. */
static double cdf(const qproblem *q, double x)
{
    if (q->beta) {
        double v = gsl_cdf_beta_P(x, q->a, q->b);
        return isfinite(v) ? v : gsl_cdf_ugaussian_P((x - q->mu) / q->sigma);
    }
    double v = gsl_cdf_gamma_P(x, q->a, 1.0);
    return isfinite(v) ? v : gsl_cdf_ugaussian_P((cbrt(x / q->a) - q->mu) / q->sigma);
}

static double root_fn(double t, const qproblem *q)
{
    return cdf(q, x_of(q, t)) - q->p;
}

/* A first guess t0 of the quantile from the normal approximation. */
static double first_guess(const qproblem *q)
{
    double z = gsl_cdf_ugaussian_Pinv(q->p), t0;
    if (q->beta) {
        double x0 = q->mu + z * q->sigma;
        if (!(x0 > 0.0 && x0 < 1.0))
            x0 = q->mu;
        t0 = log(x0) - log1p(-x0);
    } else {
        double c = q->mu + z * q->sigma;
        t0 = log(c > 0.0 ? q->a * c * c * c : q->a);
    }
    return isfinite(t0) ? t0 : 0.0;
}

/* dF(x(t))/dt, the density in t: x^a (1-x)^b / B(a, b) for the beta, x^a e^-x / Gamma(a) for
 * the gamma, from logarithms (no overflow for shapes in the millions). */
static double density_t(const qproblem *q, double t)
{
    double x = x_of(q, t);
    if (q->beta)
        return exp(q->a * log(x) + q->b * log1p(-x) - q->log_norm);
    return exp(q->a * t - x - q->log_norm);
}

/* The t with F(x(t)) = p in [T_LO, t_hi]: Newton's method from the first guess, kept inside
 * the bracket that every evaluation narrows and replaced by a bisection step whenever it would
 * leave it or shrink too slowly ("rtsafe", Press et al., Numerical Recipes, 9.4). F(x(T_LO)) = 0
 * <= p and F(x(t_hi)) = 1 >= p, so [T_LO, t_hi] brackets the root from the start. */
static double solve(const qproblem *q, double t_hi)
{
    double lo = T_LO, hi = t_hi;
    double t = fmin(fmax(first_guess(q), lo), hi);
    double dx = hi - lo, dx_old = dx;
    for (int i = 0; i < QUANTILE_MAX_ITER; i++) {
        double f = root_fn(t, q);
        if (f == 0.0)
            return t;
        if (f < 0.0)
            lo = t;
        else
            hi = t;
        double df = density_t(q, t);
        dx_old = dx;
        if (!(df > 0.0) || !isfinite(df) || ((t - hi) * df - f) * ((t - lo) * df - f) > 0.0 ||
            fabs(2.0 * f) > fabs(dx_old * df)) {
            dx = 0.5 * (hi - lo);
            t = lo + dx;
        } else {
            dx = f / df;
            t -= dx;
        }
        if (fabs(dx) <= 1e-13 * (1.0 + fabs(t)) || hi - lo <= 1e-13 * (1.0 + fabs(t)))
            break;
    }
    return t;
}

double quantile_beta(double p, double a, double b)
{
    if (!(p >= 0.0 && p <= 1.0 && a > 0.0 && b > 0.0 && isfinite(a) && isfinite(b)))
        return NAN;
    if (p == 0.0)
        return 0.0;
    if (p == 1.0)
        return 1.0;
    double n = a + b;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    qproblem q = {.beta = 1, .p = p, .a = a, .b = b, .mu = a / n,
                  .sigma = sqrt(a * b / (n * n * (n + 1.0))), .log_norm = gsl_sf_lnbeta(a, b)};
    double x = logistic(solve(&q, T_HI_BETA));
    gsl_set_error_handler(old);
    return x;
}

double quantile_gamma(double p, double shape, double scale)
{
    if (!(p >= 0.0 && p <= 1.0 && shape > 0.0 && scale > 0.0 && isfinite(shape) &&
          isfinite(scale)))
        return NAN;
    if (p == 0.0)
        return 0.0;
    if (p == 1.0)
        return INFINITY;
    double v = 1.0 / (9.0 * shape);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    qproblem q = {.beta = 0, .p = p, .a = shape, .mu = 1.0 - v, .sigma = sqrt(v),
                  .log_norm = gsl_sf_lngamma(shape)};
    double x = exp(solve(&q, T_HI_GAMMA));
    gsl_set_error_handler(old);
    return x * scale;
}
