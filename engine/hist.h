/* Integer histograms of non-negative integer outcomes (counts, day indices) and the quantiles
 * read from them. Counts are uint64_t: adding histograms is exact, so the merge order of
 * per-thread histograms can never change a result. */
#ifndef ACCRUE_HIST_H
#define ACCRUE_HIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct hist {
    uint64_t *bin;   /* bin[v]: how many times value v was seen, for v < len */
    size_t len;      /* number of bins allocated (grows on demand) */
    uint64_t total;  /* sum of all bins */
} hist;

/* Initialises h with room for `len` bins (at least 1). Returns 0, or -1 when out of memory
 * (h is then empty and safe to hist_free). */
int hist_init(hist *h, size_t len);

/* Frees the bins; h may be NULL or already freed. */
void hist_free(hist *h);

/* hist_add's path for a value beyond the bins: grows them, then adds. */
int hist_add_growing(hist *h, size_t v);

/* Adds one observation of value v, growing the bins (doubling) when v >= len.
 * Returns 0, or -1 when out of memory (h is unchanged). Inline: the engine adds several values
 * per simulated trial, almost always into bins that exist. */
static inline int hist_add(hist *h, size_t v)
{
    if (v >= h->len)
        return hist_add_growing(h, v);
    h->bin[v]++;
    h->total++;
    return 0;
}

/* Adds the n observations v[0..n-1], growing the bins (doubling) as needed: the same as n calls
 * of hist_add, faster (the total is updated once, not through memory at every value).
 * Returns 0, or -1 when out of memory or a value cannot be addressed; h then holds exactly the
 * observations before that value. */
int hist_add_all(hist *h, const size_t *v, size_t n);

/* dst += src, growing dst as needed. Returns 0 or -1 (out of memory; dst unchanged). */
int hist_merge(hist *dst, const hist *src);

/* Sets every bin to zero; keeps the allocation. */
void hist_clear(hist *h);

/* The q-quantile (0 < q <= 1) as the smallest v with (bin[0] + ... + bin[v]) >= q * total,
 * the inverse of the empirical distribution function (Hyndman and Fan type 1), computed in
 * integer arithmetic where possible so that it does not depend on rounding: the comparison is
 * cumsum >= k with k = ceil(q * total), where a product q * total within 4 DBL_EPSILON
 * (relative) of an integer counts as that integer. So q = 0.5 of 10 values is the 5th value and
 * q = 0.07 of 100 values the 7th, although 0.07 * 100 evaluates to 7.000000000000001.
 * q <= 0 gives the smallest value seen, q >= 1 the largest. Returns 0 for an empty histogram. */
size_t hist_quantile(const hist *h, double q);

/* Mean and (population) variance of the recorded values; 0 for an empty histogram. */
double hist_mean(const hist *h);
double hist_variance(const hist *h);

/* The standard error of hist_mean as an estimate of the mean of the law the values were drawn
 * from: sqrt(variance / (total - 1)) (the population variance rescaled to the unbiased one, over
 * total); 0 with fewer than two values. */
double hist_mean_se(const hist *h);

/* Number of observations with value >= v. */
uint64_t hist_count_at_least(const hist *h, size_t v);

/* One past the largest value seen (0 when empty). */
size_t hist_extent(const hist *h);

#endif
