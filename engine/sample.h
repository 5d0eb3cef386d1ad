/* Samplers tuned for the small means of accrual forecasting, drawing from a gsl_rng. Where GSL's
 * own sampler is already best they defer to it. */
#ifndef ACCRUE_SAMPLE_H
#define ACCRUE_SAMPLE_H

#include <gsl/gsl_rng.h>

/* A Poisson(mu) variate, mu >= 0 (0 when mu <= 0). Below SAMPLE_POISSON_SMALL it inverts the
 * distribution function by sequential search (Devroye 1986, "Non-Uniform Random Variate
 * Generation", section X.3.3): one uniform and about mu + 1 multiplications; above, it uses
 * gsl_ran_poisson. */
#define SAMPLE_POISSON_SMALL 16.0
unsigned long sample_poisson(gsl_rng *r, double mu);

/* The j-th smallest of n independent uniforms on [0, 1), 1 <= j <= n: Beta(j, n - j + 1)
 * (David and Nagaraja 2003, "Order Statistics", section 2.2). */
double sample_uniform_order_stat(gsl_rng *r, unsigned long j, unsigned long n);

/* Gamma(shape k > 0, scale 1): the waiting time to the k-th event of a unit-rate Poisson process
 * when k is a whole number. */
double sample_gamma1(gsl_rng *r, double k);

#endif
