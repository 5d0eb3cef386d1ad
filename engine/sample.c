/* Samplers for small means: see sample.h. */
#include "sample.h"

#include <math.h>
#include <gsl/gsl_randist.h>
#include "rng.h"

unsigned long sample_poisson(gsl_rng *r, double mu)
{
    if (!(mu > 0.0))
        return 0;
    if (mu >= SAMPLE_POISSON_SMALL)
        return gsl_ran_poisson(r, mu);
    /* Sequential search: the smallest k with F(k) > u. The loop ends once the remaining terms
     * cannot change the sum (term underflows relative to 1), which guards against u rounding
     * to a value F never exceeds. */
    double u = gsl_rng_uniform(r);
    double term = exp(-mu), cdf = term;
    unsigned long k = 0;
    while (u >= cdf) {
        k++;
        term *= mu / (double)k;
        double next = cdf + term;
        if (next == cdf)
            break;
        cdf = next;
    }
    return k;
}

double sample_uniform_order_stat(gsl_rng *r, unsigned long j, unsigned long n)
{
    if (n == 1)
        return gsl_rng_uniform(r);
    return gsl_ran_beta(r, (double)j, (double)(n - j + 1));
}

double sample_gamma1(gsl_rng *r, double k)
{
    return gsl_ran_gamma(r, k, 1.0);
}
