/* The front end of the per-site Poisson-gamma model (DESIGN.md section 2): what one simulated
 * trial draws for its sites (gamma or fixed rates, beta or fixed probabilities, and, in their own
 * files, rate schedules and uncertain activation) and the cumulative intensity of referral
 * registrations that results, which models/poisson_core.c turns into counts, dates and the
 * conditional distribution (Anisimov and Fedorov 2007, Stat Med 26:4958-4975). */
#ifndef ACCRUE_SITES_H
#define ACCRUE_SITES_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "../engine/sim.h"
#include "poisson_core.h"
#include "scenario.h"

typedef struct sites_plan sites_plan;

/* Precomputes everything a trial does not draw from s, which must outlive the plan. Returns
 * NULL with a message in err (out of memory; expected counts beyond what accrue computes). */
sites_plan *sites_plan_new(const scenario *s, char *err, size_t errlen);

/* Frees p; NULL is fine. */
void sites_plan_free(sites_plan *p);

/* The core plan under it: checkpoints, days followed. */
const core_plan *sites_core(const sites_plan *p);

/* The engine's view of the plan: batch function, sizes, checkpoints, the control variate. */
sim_model sites_sim_model(const sites_plan *p);

/* n simulated trials (the sim_batch_fn of the model). */
void sites_batch(const void *plan, const sim_streams *rng, void *work, size_t n,
                 sim_batch *out);

#endif
