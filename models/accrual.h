/* The Poisson-gamma accrual model of DESIGN.md section 2, simulated without events: what one
 * simulated trial draws (site rates, screen-pass and self-pay probabilities) and how its
 * registrations arrive, interval by interval (Anisimov and Fedorov 2007, "Modelling, prediction
 * and adaptive adjustment of recruitment in multicentre trials", Stat Med 26:4958-4975). */
#ifndef ACCRUE_ACCRUAL_H
#define ACCRUE_ACCRUAL_H

#include <stddef.h>
#include <stdint.h>
#include "../engine/date.h"
#include "../engine/sim.h"
#include "scenario.h"

typedef struct accrual_plan accrual_plan;

/* Precomputes everything a trial does not draw (exposures, checkpoints, interval ends) from s,
 * which must outlive the plan. Returns NULL with a message in err when out of memory. */
accrual_plan *accrual_plan_new(const scenario *s, char *err, size_t errlen);

/* Frees p; NULL is fine. */
void accrual_plan_free(accrual_plan *p);

/* The engine's view of the plan: trial function, sizes and checkpoints. */
sim_model accrual_sim_model(const accrual_plan *p);

/* n simulated trials (the sim_batch_fn of the model). */
void accrual_batch(const void *plan, gsl_rng *r, void *work, size_t n, sim_batch *out);

/* Review checkpoints: their number and their dates (the last is the deadline). */
size_t accrual_n_checkpoints(const accrual_plan *p);
date_t accrual_checkpoint_date(const accrual_plan *p, size_t k);

/* Days followed for completion dates: day indices 0 .. n-1 from as_of. */
long accrual_n_days(const accrual_plan *p);

#endif
