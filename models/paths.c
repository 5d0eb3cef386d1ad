/* A trial's registrations one at a time: see paths.h. */
#include "paths.h"

#include <math.h>
#include <stdlib.h>
#include "../engine/rng.h"

int path_clock_init(path_clock *c, const scenario *s, const core_plan *core, size_t batch)
{
    size_t K = core_n_checkpoints(core);
    *c = (path_clock){.n_checkpoints = K, .batch = batch, .enrolled = s->enrolled,
                      .need = s->target - s->enrolled,
                      .followed = (double)core_n_days(core),
                      .window = (double)scenario_window_days(s),
                      .selfpay = (double)((long)s->selfpay_from - (long)s->as_of),
                      .screen_days = (double)s->screen_days};
    c->checkpoint_end = malloc((K + 1) * sizeof *c->checkpoint_end);
    if (!c->checkpoint_end)
        return -1;
    for (size_t k = 0; k < K; k++)
        c->checkpoint_end[k] = (double)((long)core_checkpoint_date(core, k) - (long)s->as_of + 1);
    return 0;
}

void path_clock_free(path_clock *c)
{
    free(c->checkpoint_end);
    c->checkpoint_end = NULL;
}

path_tally path_start(const path_clock *c)
{
    return (path_tally){0, 0, c->need <= 0 ? -1 : (long)c->followed};
}

void path_record(const path_clock *c, path_tally *ty, double at, size_t t, sim_batch *out)
{
    while (ty->next_checkpoint < c->n_checkpoints && at >= c->checkpoint_end[ty->next_checkpoint])
        out->at_checkpoint[ty->next_checkpoint++ * c->batch + t] =
            (size_t)(c->enrolled + ty->count);
    ty->count++;
    if (ty->count == c->need) {
        double day = floor(at);
        ty->completion = day < c->followed ? (long)day : (long)c->followed;
    }
}

void path_finish(const path_clock *c, path_tally *ty, size_t t, sim_batch *out)
{
    while (ty->next_checkpoint < c->n_checkpoints)
        out->at_checkpoint[ty->next_checkpoint++ * c->batch + t] =
            (size_t)(c->enrolled + ty->count);
    out->at_deadline[t] = out->at_checkpoint[(c->n_checkpoints - 1) * c->batch + t];
    out->completion_day[t] = ty->completion;
}

/* The factor for referrals at time `at`: that of the last step on or before it; *until the
 * next step's time (INFINITY after the last). */
static double factor_at(date_t as_of, size_t n, const rate_step *step, double at, double *until)
{
    double f = 1.0;
    *until = INFINITY;
    for (size_t k = 0; k < n; k++) {
        double from = (double)((long)step[k].from - (long)as_of);
        if (from > at) {
            *until = from;
            break;
        }
        f = step[k].factor;
    }
    return f;
}

double path_next_referral(date_t as_of, size_t n_steps, const rate_step *step, double per_day,
                          double from, gsl_rng *r)
{
    double e = -log(1.0 - rng_uniform(r)), at = from;
    while (isfinite(at)) {
        double until, c = per_day * factor_at(as_of, n_steps, step, at, &until);
        if (c > 0.0 && e <= c * (until - at))
            return at + e / c;
        if (c > 0.0)
            e -= c * (until - at);
        at = until;
    }
    return INFINITY;
}

int path_screening(const scenario *s, long i, double pass, double consent, double selfpay,
                   double *u, double *at, gsl_rng *r)
{
    double sd = (double)s->screen_days;
    if (sd > 0.0)
        *u = 1.0 - (1.0 - *u) * pow(1.0 - rng_uniform(r), 1.0 / (double)(s->screening - i));
    *at = *u * sd;
    if (!(rng_uniform(r) < pass))
        return 0;
    if (s->selfpay_screening && *at >= selfpay && !(rng_uniform(r) < consent))
        return 0;
    return 1;
}
