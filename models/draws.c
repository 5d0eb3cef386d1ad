/* What a trial draws up front, for every per-site model: see draws.h. */
#include "draws.h"

#include <stdlib.h>
#include "../engine/rng.h"

size_t draws_batch_size(size_t n_sites)
{
    size_t b = ((size_t)1 << 19) / (n_sites + 3);
    return b < 1 ? 1 : b > DRAWS_MAX_BATCH ? DRAWS_MAX_BATCH : b;
}

long draws_activation_day(const scenario *s, size_t site)
{
    long d = (long)s->site[site].active_from - (long)s->as_of;
    return d > 0 ? d : 0;
}

/* A site and its activation day, sorted by day then index (qsort takes no context). */
typedef struct site_key {
    long day;
    size_t site;
} site_key;

static int cmp_site_key(const void *a, const void *b)
{
    const site_key *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return (x->site > y->site) - (x->site < y->site);
}

int draws_plan_init(draws_plan *d, const scenario *s)
{
    size_t n = s->n_sites;
    *d = (draws_plan){.s = s, .n_sites = n, .batch = draws_batch_size(n)};
    site_key *key = malloc((n + 1) * sizeof *key);
    d->order = malloc((n + 1) * sizeof *d->order);
    d->rank = malloc((n + 1) * sizeof *d->rank);
    d->uncertain_of = malloc((n + 1) * sizeof *d->uncertain_of);
    d->rate_law = calloc(n + 1, sizeof *d->rate_law);
    d->uncertain = calloc(n + 1, sizeof *d->uncertain);
    if (!key || !d->order || !d->rank || !d->uncertain_of || !d->rate_law || !d->uncertain) {
        free(key);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        key[i] = (site_key){draws_activation_day(s, i), i};
    qsort(key, n, sizeof *key, cmp_site_key);
    for (size_t j = 0; j < n; j++) {
        d->order[j] = key[j].site;
        d->rank[key[j].site] = j;
    }
    free(key);
    for (size_t j = 0; j < n; j++) {
        const site_spec *st = &s->site[d->order[j]];
        d->uncertain_of[j] = -1;
        if (st->shape > 0.0)
            d->rate_law[j] = sample_gamma_init(st->shape, st->rate / st->shape);
        if (st->active_to > st->active_from || st->opens < 1.0) {
            draws_uncertain *u = &d->uncertain[d->n_uncertain];
            d->uncertain_of[j] = (long)d->n_uncertain++;
            u->site = j;
            u->opens = st->opens;
            u->first = (long)st->active_from - (long)s->as_of;
            /* active_to before active_from (a site built by hand) is a sure first day. */
            u->n_days = st->active_to > st->active_from
                            ? (long)st->active_to - (long)st->active_from + 1 : 1;
        }
    }
    if (s->screen_pass.is_beta)
        d->pass_law = sample_beta_init(s->screen_pass.a, s->screen_pass.b);
    if (s->selfpay_consent.is_beta)
        d->consent_law = sample_beta_init(s->selfpay_consent.a, s->selfpay_consent.b);
    return 0;
}

void draws_plan_free(draws_plan *d)
{
    free(d->order);
    free(d->rank);
    free(d->uncertain_of);
    free(d->rate_law);
    free(d->uncertain);
    *d = (draws_plan){0};
}

static void fill_prob(gsl_rng *r, const prob_spec *ps, const sample_beta *law, double *dst,
                      double *scratch, size_t n)
{
    if (ps->is_beta) {
        sample_beta_fill(r, law, dst, scratch, n);
        return;
    }
    for (size_t t = 0; t < n; t++)
        dst[t] = ps->value;
}

void draws_fill(const draws_plan *d, gsl_rng *r, const draws_rows *w, size_t n)
{
    const scenario *s = d->s;
    size_t B = d->batch;
    fill_prob(r, &s->screen_pass, &d->pass_law, w->pass, w->scratch, n);
    fill_prob(r, &s->selfpay_consent, &d->consent_law, w->consent, w->scratch, n);
    for (size_t j = 0; j < d->n_sites; j++) {
        const site_spec *st = &s->site[d->order[j]];
        double *dst = w->rate + j * B;
        if (st->shape > 0.0) {
            sample_gamma_fill(r, &d->rate_law[j], dst, n);
        } else {
            for (size_t t = 0; t < n; t++)
                dst[t] = st->rate;
        }
    }
    for (size_t k = 0; k < d->n_uncertain; k++) {
        const draws_uncertain *u = &d->uncertain[k];
        double *rate = w->rate + u->site * B, *start = w->starts + k * B;
        if (u->opens < 1.0)
            for (size_t t = 0; t < n; t++)
                rate[t] = rng_uniform(r) < u->opens ? rate[t] : 0.0;
        for (size_t t = 0; t < n; t++) {
            long day = u->n_days > 1 ? u->first + (long)(rng_uniform(r) * (double)u->n_days)
                                     : u->first;
            start[t] = (double)(day > 0 ? day : 0);
        }
    }
}
