/* The exact distribution of registrations at the deadline under the model of DESIGN.md section 2:
 * a mixture, over beta-distributed screen-pass and self-pay probabilities, of the convolution of
 * a binomial (candidates in screening), a Poisson (fixed-rate sites) and one negative binomial per
 * gamma-rate site (Anisimov and Fedorov 2007, Stat Med 26:4958-4975). No simulation: the
 * simulator is checked against it, and its pieces serve the simulator's conditional estimator. */
#ifndef ACCRUE_EXACT_H
#define ACCRUE_EXACT_H

#include <signal.h>
#include <stddef.h>
#include "scenario.h"

/* Days per year: every rate in a scenario is per year of this many days. */
#define EXACT_DAYS_PER_YEAR SCENARIO_DAYS_PER_YEAR

/* The distribution of N, registrations by the end of the deadline day (enrolled included).
 * pmf[n] = P(N = n) for n < len; tail = P(N >= len). Entries below `enrolled` are 0. The support
 * is cut where the mass beyond is below 1e-13, and that mass is in tail; any other mass lost to
 * truncation is below 1e-13 too, so pmf and tail sum to 1 within 2e-13 plus rounding. */
typedef struct exact_dist {
    double *pmf;
    size_t len;
    double tail;
} exact_dist;

/* Computes the distribution of N for scenario s into *out (the caller frees it with
 * exact_dist_free). Beta probabilities are integrated by Gauss-Jacobi quadrature, doubling the
 * nodes until no entry of the pmf, nor of its distribution function, moves by 1e-10 (or the
 * move, extrapolated, says the finer rule is within that).
 * Cost: nodes (1 when p and q are fixed; up to 512, or 128 x 128 when both are beta) times
 * O(J L) for the Poisson and gamma-rate sites (a recurrence over the L counts of the support,
 * J the groups of gamma sites with distinct odds) plus a convolution, O(L) times the spread,
 * for the candidates in screening and for each site with an uncertain first day. Milliseconds
 * for tens of registrations, 0.1 s for a thousand, about a second for ten thousand (gamma
 * sites, both probabilities beta, bench/scale).
 * Returns 0, or -1 with a message in err (errlen bytes; err may be NULL) when out of memory,
 * when the quadrature does not converge within its node cap, or when a parameter is outside what
 * can be computed; *out is then empty ({NULL, 0, 0}) and needs no freeing. s is not changed. */
int exact_deadline_dist(const scenario *s, exact_dist *out, char *err, size_t errlen);

/* The same, giving up with an error once max_work multiply-adds of convolution and recurrence
 * (or their time's worth) are spent; max_work <= 0 means no limit. The simulator's report uses
 * it so that an exact check never holds up a run: 1e8 take well under a second. */
int exact_deadline_dist_limited(const scenario *s, double max_work, exact_dist *out, char *err,
                                size_t errlen);

/* P(N >= n) for scenario s, as exact_p_at_least(&d, n) of exact_deadline_dist_limited's d,
 * but with the quadrature converging on that one probability: the rules double until it moves by
 * less than 1e-10 (or its move, extrapolated, says so), rather than every entry of the pmf and
 * of its distribution function; so it may stop at a coarser rule, within 1e-10 of the integral
 * all the same. What the check beside a run needs (engine/cli.c): at bench/scale/count-300,
 * 32 x 32 nodes instead of 64 x 64. Returns 0, or -1 as exact_deadline_dist_limited. */
int exact_p_at_least_limited(const scenario *s, long n, double max_work, double *p, char *err,
                             size_t errlen);

/* Makes every later exact computation (on any thread) poll *stop between convolutions and
 * give up, returning -1 with "exact: interrupted" in err and *out empty, once it is non-zero:
 * a command passes its signal flag here once at start-up so that Ctrl-C ends a long exact
 * computation within a convolution's time. NULL (the default) polls nothing. */
void exact_set_stop(volatile sig_atomic_t *stop);

/* Makes every later exact computation call fn(arg, what, fraction) before each quadrature node:
 * what says which rule is being computed ("quadrature on 64 x 64 nodes"), fraction how much of
 * that rule is done (0 to 1; a finer rule may follow when the quadrature has not converged).
 * fn decides itself whether to show anything (the command line shows a line on standard error
 * once a computation has run a second). NULL (the default) calls nothing. */
void exact_set_progress(void (*fn)(void *arg, const char *what, double fraction), void *arg);

/* P(N >= n) from d: tail plus the pmf entries from n on, summed smallest first. Exactly 1 when
 * every entry below n is 0 (the target is already met), tail when n >= len. */
double exact_p_at_least(const exact_dist *d, long n);

/* The mean of d: sum of n * pmf[n], plus len * tail as a lower bound for the tail's share. */
double exact_dist_mean(const exact_dist *d);

/* E[N] in closed form: enrolled + screening * E[p] * screen fraction
 * + sum_s rate_s * E[p] * (before_s + E[q] * after_s) / 365.25, with p and q independent and
 * the gamma rate's mean equal to rate_s (the exposures are those of exact_site_exposure); a
 * capped site contributes E[p] (times E[q] when its window is after the self-pay date)
 * E[min(K, C)], or, its window holding the self-pay date, E[p] E[min(K1, C)] + E[p] E[q]
 * E[min(K2, C - min(K1, C))]. NAN when a capped site is one the exact mode declines (exact.c's
 * top comment). */
double exact_mean(const scenario *s);

/* The most central moments exact_mean_moments computes. */
#define EXACT_MOMENTS_MAX 4

/* The central moments E[(C - E[C])^j], j = 0 .. k (k <= EXACT_MOMENTS_MAX), of the sites model's
 * conditional mean count C = enrolled + (the screening term) + sum_s lambda_s p (before_s +
 * q after_s) / 365.25, lambda_s the site's rate (gamma of shape k_s and mean rate_s, or fixed),
 * p and q the probabilities (beta or fixed) and the exposures those of exact_site_exposure, or a
 * mixture over an uncertain first day (weights as the exact mode's); the screening term is its
 * mean screening p (sb + q sa) (exact_screen_fractions), or with drawn_screening a
 * Binomial(screening, p (sb + q sa)) number. Exact up to rounding: the moments given (p, q) are
 * polynomials in p and q, built from the sites' moments by binomial convolution, then averaged
 * with the beta laws' raw moments. Returns 0, or -1 when a site is capped (only exact_mean is
 * known then); central[1] is 0 up to rounding. */
int exact_mean_moments(const scenario *s, int drawn_screening, size_t k, double *central);

/* The probability that a candidate in screening at as_of who passes screening is registered by
 * the end of the deadline day without needing self-pay consent (*before) and needing it
 * (*after: with selfpay_screening, registering on or after selfpay_from), so that the chance is
 * p (before + q after). Without selfpay_screening: exact_screen_fraction and 0. */
void exact_screen_fractions(const scenario *s, double *before, double *after);

/* Whether site st's count is a mixture: its first day is uniform(D1;D2), or it may never open. */
int exact_site_is_mixed(const site_spec *st);

/* Frees d's array and empties it; d may be NULL or already freed. */
void exact_dist_free(exact_dist *d);

/* Site `site`'s referral exposure in days, weighted by its rate schedule (schedule_exposure):
 * referrals made at t in [a, W - screen_days), where a = max(0, active_from - as_of) and
 * W = scenario_window_days(s), are registered by the end of the deadline day. *before_selfpay_days is the length of the part before selfpay_from (no
 * consent needed), *after_selfpay_days the part from selfpay_from on; empty parts are 0.
 * The site's expected registrations are rate * p * (before + q * after) / 365.25. */
void exact_site_exposure(const scenario *s, size_t site, double *before_selfpay_days,
                         double *after_selfpay_days);

/* The probability that a candidate in screening at as_of who passes screening is registered by
 * the end of the deadline day: min(1, W / screen_days), 1 when screen_days is 0 and W >= 1, and
 * 0 when W <= 0. Registration times are uniform on [0, screen_days). */
double exact_screen_fraction(const scenario *s);

#endif
