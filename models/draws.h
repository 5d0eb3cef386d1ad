/* What a simulated trial draws up front, shared by every model of per-site referrals
 * (models/sites.c, pools.c, actions.c): its screen-pass and consent probabilities, each site's
 * rate, and, for the sites that may not open or open on an uncertain day, whether they open and
 * their first day. One plan and one fill function, so that the models draw the same values
 * from the same words of the `draws` stream (engine/sim.h), call for call: a scenario run by
 * two models sees the same up-front draws (common random numbers), and the tests compare them. */
#ifndef ACCRUE_DRAWS_H
#define ACCRUE_DRAWS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "../engine/sample.h"
#include "poisson_core.h"
#include "scenario.h"

/* Trials per batch at most, and the batch size for n sites: up to DRAWS_MAX_BATCH, fewer when
 * the batch's per-site rows (rates, and the engine's mean and P(none) of each unit: 24 bytes a
 * site and trial) would outgrow 12 MiB a thread: below 8,000 sites, the full batch. */
#define DRAWS_MAX_BATCH CORE_MAX_BATCH   /* the Poisson core's most (poisson_core.h) */
size_t draws_batch_size(size_t n_sites);

/* A sure site's first day from as_of (days before as_of count as as_of). */
long draws_activation_day(const scenario *s, size_t site);

/* A site whose first day is drawn per trial (uniform(D1;D2)), or that may not open. */
typedef struct draws_uncertain {
    size_t site;              /* in activation order */
    double opens;
    long first, n_days;       /* D1 - as_of (may be negative); days of uniform(D1;D2) */
} draws_uncertain;

/* The plan of the draws. Its body is open because the three models read the activation order
 * and the uncertain sites in their own loops; treat it as read-only. */
typedef struct draws_plan {
    const scenario *s;
    size_t n_sites, batch;
    size_t *order;            /* activation order (first day, then file order): order[j] =
                                 the site's index in the file */
    size_t *rank;             /* rank[i] = the activation-order position of file site i */
    long *uncertain_of;       /* per activation-order site: its index in `uncertain`, or -1 */
    sample_gamma *rate_law;   /* per activation-order site with a gamma rate */
    sample_beta pass_law, consent_law;
    size_t n_uncertain;
    draws_uncertain *uncertain;   /* in activation order */
} draws_plan;

/* Builds the plan for s (which must outlive it). Returns 0, or -1 when out of memory (the
 * plan is then safe to draws_plan_free). */
int draws_plan_init(draws_plan *d, const scenario *s);

/* Frees what the plan holds; a zeroed or half-built plan is fine. */
void draws_plan_free(draws_plan *d);

/* Where a batch's draws go: pass[t], consent[t], rate[j * batch + t] (activation order; 0 for
 * a trial whose site does not open), starts[k * batch + t] (uncertain site k's first day from
 * as_of, at least 0); scratch holds batch doubles. */
typedef struct draws_rows {
    double *pass, *consent, *rate, *starts, *scratch;
} draws_rows;

/* Draws the batch's n trials from r: p, q, every rate (gamma with mean `rate` and shape k has
 * scale rate/k; each law's draws together, so that they vectorise), then the uncertain sites'
 * opening (a uniform below `opens`) and first day (uniform over uniform(D1;D2)'s days; a day
 * before as_of is as_of), after every rate, so that a scenario without them draws what it drew
 * before they existed. */
void draws_fill(const draws_plan *d, gsl_rng *r, const draws_rows *w, size_t n);

#endif
