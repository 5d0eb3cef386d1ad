/* Corrective action at reviews (DESIGN.md sections 2.2 and 3, actions.csv): at a review, when
 * the registrations by the end of its day are below a threshold, a rule adds a site or scales
 * every site's rate from a later day. The path after a review then depends on the count at it,
 * so this model brings its own batch function, written plainly per trial like models/pools.c:
 * the trial's referrals are followed one by one in time order and the rules are applied at the
 * reviews. It serves every scenario with at least one rule (caps included); the others stay
 * with models/pools.c and models/sites.c. */
#ifndef ACCRUE_ACTIONS_H
#define ACCRUE_ACTIONS_H

#include <stddef.h>
#include <stdio.h>
#include "../engine/sim.h"
#include "poisson_core.h"
#include "scenario.h"

typedef struct actions_plan actions_plan;

#define ACTIONS_TALLY_WITHOUT 0
#define ACTIONS_TALLY_EFFECT 1
#define ACTIONS_TALLY_RULES 2

/* Whether the scenario has a corrective-action rule (then this model serves it). */
int actions_serves(const scenario *s);

/* Prepares the plan; s must outlive it. NULL with a message in err when out of memory. */
actions_plan *actions_plan_new(const scenario *s, char *err, size_t errlen);

/* Frees p; NULL is fine. */
void actions_plan_free(actions_plan *p);

/* The engine's view: actions_batch with its sizes. No control variate, no tabulated
 * conditional pmf; each trial's own outcome serves as its conditional P(success) and mean.
 * Its tallies (sim_batch.tally), per trial: ACTIONS_TALLY_WITHOUT, whether the trial succeeds
 * without the rules on the same draws and path stream (paired: the two paths agree up to the
 * first firing); ACTIONS_TALLY_EFFECT, success with the rules minus that (its mean is the
 * policy's effect on P(success), its standard error that of the paired difference); then per
 * rule q, at ACTIONS_TALLY_RULES + q (n_checkpoints + 1): whether it fired, then for each
 * checkpoint k whether it fired at that review (0 where it does not apply). */
sim_model actions_sim_model(const actions_plan *p);

/* A core plan used only for the checkpoints and the followed days (the sites model's). */
const core_plan *actions_core(const actions_plan *p);

/* The batch function (sim_batch_fn): up-front draws from rng->draws exactly as models/sites.c
 * makes them (so that a scenario with rules and the same scenario without them share their
 * up-front draws), then each trial's path from rng->path, the added sites' gamma rates
 * included (drawn when their rule fires). */
void actions_batch(const void *plan, const sim_streams *rng, void *work, size_t n,
                   sim_batch *out);

/* Tally i's key for summary.csv and result.json (p_success_without_rules,
 * rules_effect_on_p_success, ruleQ_fired, ruleQ_fired_at_DATE) into buf. */
void actions_tally_name(const actions_plan *p, size_t i, char *buf, size_t len);

/* The report's section on the tallies of r: P(success) with and without the rules and their
 * paired difference with its standard error, then per rule the share of trials it fired in,
 * overall and at each review where it applies. */
void actions_print_tallies(const actions_plan *p, const sim_result *r, FILE *out);

#endif
