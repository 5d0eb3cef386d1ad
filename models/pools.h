/* Finite patient pools (DESIGN.md section 2.2, sites.csv column `cap`): a site with cap C
 * refers at most C candidates from as_of on, its referrals a Poisson process stopped at its
 * C-th event. Not Poisson given the draws, so this model brings its own batch function,
 * written plainly per trial: every referral of a trial is followed in time order. It serves
 * every scenario with at least one capped site; the others stay with models/sites.c. */
#ifndef ACCRUE_POOLS_H
#define ACCRUE_POOLS_H

#include <stddef.h>
#include "../engine/sim.h"
#include "poisson_core.h"
#include "scenario.h"

typedef struct pools_plan pools_plan;

/* Whether the scenario has a capped site (then this model serves it). */
int pools_serves(const scenario *s);

/* Prepares the plan; s must outlive it. NULL with a message in err when out of memory. */
pools_plan *pools_plan_new(const scenario *s, char *err, size_t errlen);

/* Frees p; NULL is fine. */
void pools_plan_free(pools_plan *p);

/* The engine's view: pools_batch with its sizes. No control variate (E[N] has no closed form
 * here) and no tabulated conditional pmf (the engine's count table comes from at_deadline). */
sim_model pools_sim_model(const pools_plan *p);

/* A core plan used only for the checkpoints and the followed days, so that they are the
 * sites model's, date for date. */
const core_plan *pools_core(const pools_plan *p);

/* The batch function (sim_batch_fn): up-front draws from rng->draws exactly as models/sites.c
 * makes them (the same calls in the same order, so that a capped scenario and its uncapped
 * variant share their draws), then each trial's path from rng->path. */
void pools_batch(const void *plan, const sim_streams *rng, void *work, size_t n,
                 sim_batch *out);

#endif
