/* Integer histograms (see hist.h). Bins are counts, so histograms add exactly and every
 * statistic read from them is a deterministic scan in value order. */
#include "hist.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A product q * total that lies within this relative distance of an integer is taken to be that
 * integer. Why: q is a decimal such as 0.07 stored as the nearest double (relative error at most
 * DBL_EPSILON / 2) and the product rounds once more (another DBL_EPSILON / 2), so 0.07 * 100
 * evaluates to 7.000000000000001 although the user meant exactly 7. Four epsilons cover both
 * roundings with a margin of two. */
#define HIST_RANK_RELTOL (4.0 * DBL_EPSILON)

int hist_init(hist *h, size_t len)
{
    if (len == 0)
        len = 1;
    h->bin = calloc(len, sizeof *h->bin);
    h->len = h->bin ? len : 0;
    h->total = 0;
    return h->bin ? 0 : -1;
}

void hist_free(hist *h)
{
    if (h == NULL)
        return;
    free(h->bin);
    h->bin = NULL;
    h->len = 0;
    h->total = 0;
}

/* Makes room for at least `need` bins, doubling the allocation (amortised O(1) per hist_add)
 * and zeroing the new bins. Returns 0, or -1 with h unchanged when memory runs out. */
static int hist_reserve(hist *h, size_t need)
{
    if (need <= h->len)
        return 0;
    size_t len = h->len ? h->len : 1;
    while (len < need)
        len = len > SIZE_MAX / 2 ? need : 2 * len;
    if (len > SIZE_MAX / sizeof *h->bin)
        return -1;
    uint64_t *bin = realloc(h->bin, len * sizeof *bin);
    if (bin == NULL)
        return -1;
    memset(bin + h->len, 0, (len - h->len) * sizeof *bin);
    h->bin = bin;
    h->len = len;
    return 0;
}

/* Makes room for value v: -1 when out of memory or v has no addressable bin. */
static int hist_fit(hist *h, size_t v)
{
    return v == SIZE_MAX ? -1 : hist_reserve(h, v + 1);
}

int hist_add_growing(hist *h, size_t v)
{
    if (hist_fit(h, v) != 0)
        return -1;
    h->bin[v]++;
    h->total++;
    return 0;
}

int hist_add_all(hist *h, const size_t *v, size_t n)
{
    /* Bins and length in locals, the total added at the end: h->total has the type of a bin, so
     * the compiler would otherwise load and store it around every increment, one long chain of
     * dependent adds through memory. */
    uint64_t *bin = h->bin;
    size_t len = h->len;
    for (size_t j = 0; j < n; j++) {
        if (v[j] >= len) {
            if (hist_fit(h, v[j]) != 0) {
                h->total += j;
                return -1;
            }
            bin = h->bin;
            len = h->len;
        }
        bin[v[j]]++;
    }
    h->total += n;
    return 0;
}

int hist_merge(hist *dst, const hist *src)
{
    /* Only src's occupied bins matter, so dst grows to src's extent, not to its allocation. */
    size_t n = hist_extent(src);
    if (hist_reserve(dst, n) != 0)
        return -1;
    for (size_t v = 0; v < n; v++)
        dst->bin[v] += src->bin[v];
    dst->total += src->total;
    return 0;
}

void hist_clear(hist *h)
{
    if (h->bin)
        memset(h->bin, 0, h->len * sizeof *h->bin);
    h->total = 0;
}

/* The rank k = ceil(q * total) in 1..total that the q-quantile must reach, so that
 * "cumsum(v) >= q * total" becomes the integer comparison "cumsum(v) >= k".
 * A product within HIST_RANK_RELTOL of an integer n gives k = n, so q = 0.5 of 10 values is the
 * 5th value and q = 0.07 of 100 the 7th (not the 8th, as a bare ceil of 7.000000000000001
 * would give). The price: a q that exceeds n / total by less than four rounding errors is read
 * as n / total, a difference no double q can express reliably anyway. Exact for totals below
 * 2^53; beyond, total itself is rounded to a double first. q <= 0 (or NaN) reads as the
 * minimum and q >= 1 as the maximum. */
static uint64_t hist_rank(uint64_t total, double q)
{
    if (!(q > 0.0))
        return 1;
    if (q >= 1.0)
        return total;
    double x = q * (double)total;
    double nearest = floor(x + 0.5);
    double k = fabs(x - nearest) <= HIST_RANK_RELTOL * x ? nearest : ceil(x);
    if (k < 1.0)
        return 1;
    if (k >= (double)total)
        return total;
    return (uint64_t)k;
}

size_t hist_quantile(const hist *h, double q)
{
    if (h->total == 0)
        return 0;
    uint64_t k = hist_rank(h->total, q);
    uint64_t cum = 0;
    for (size_t v = 0; v < h->len; v++) {
        cum += h->bin[v];
        if (cum >= k)
            return v;
    }
    return h->len - 1; /* unreachable while total equals the sum of the bins */
}

double hist_mean(const hist *h)
{
    if (h->total == 0)
        return 0.0;
    double sum = 0.0;
    for (size_t v = 0; v < h->len; v++)
        sum += (double)v * (double)h->bin[v];
    return sum / (double)h->total;
}

/* Two passes (mean first, then squared deviations from it) rather than E[X^2] - E[X]^2, which
 * cancels catastrophically when the spread is small next to the mean (Chan, Golub and LeVeque,
 * "Algorithms for computing the sample variance", Am. Stat. 1983). */
double hist_variance(const hist *h)
{
    if (h->total == 0)
        return 0.0;
    double mean = hist_mean(h);
    double sum = 0.0;
    for (size_t v = 0; v < h->len; v++) {
        double d = (double)v - mean;
        sum += d * d * (double)h->bin[v];
    }
    return sum / (double)h->total;
}

double hist_mean_se(const hist *h)
{
    return h->total > 1 ? sqrt(hist_variance(h) / (double)(h->total - 1)) : 0.0;
}

uint64_t hist_count_at_least(const hist *h, size_t v)
{
    uint64_t n = 0;
    for (size_t i = v; i < h->len; i++)
        n += h->bin[i];
    return n;
}

size_t hist_extent(const hist *h)
{
    size_t n = h->len;
    while (n > 0 && h->bin[n - 1] == 0)
        n--;
    return n;
}
