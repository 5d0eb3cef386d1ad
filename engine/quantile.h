/* Quantiles of the beta and gamma distributions in bounded time, for every shape the scenario
 * format allows (0.01 to 1e6). GSL's inverses are not: gsl_cdf_beta_Pinv(0.05, 1e6, 1e6) loops
 * for hours (the incomplete beta it inverts returns NaN near the mean of such shapes), and
 * gsl_cdf_gamma_Pinv(0.05, 0.01, 1) returns NaN. Here the distribution function is inverted by
 * Brent's method in a transformed variable, at most QUANTILE_MAX_ITER evaluations after a
 * bracket found from a normal approximation; where GSL's distribution function itself fails
 * (NaN), the normal approximation stands in for it, which is accurate exactly where that
 * happens (shapes in the hundreds of thousands). */
#ifndef ACCRUE_QUANTILE_H
#define ACCRUE_QUANTILE_H

#define QUANTILE_MAX_ITER 200

/* The p-quantile (0 <= p <= 1) of Beta(a, b), a, b > 0: the x with P(X <= x) = p, to about
 * 1e-12 relative. NaN for arguments outside those ranges. */
double quantile_beta(double p, double a, double b);

/* The p-quantile of Gamma(shape, scale) (mean shape x scale), shape, scale > 0. NaN for
 * arguments outside the ranges. */
double quantile_gamma(double p, double shape, double scale);

#endif
