/* The model layer (DESIGN.md section 6): how commands reach models. A model turns a scenario
 * into a plan that the engine simulates (engine/sim.h) and, where it can, computes exactly.
 * Commands find the model a scenario needs through this interface, never by name; adding a
 * model is one more entry in models/model.c's table and its own files. */
#ifndef ACCRUE_MODEL_H
#define ACCRUE_MODEL_H

#include <stddef.h>
#include <stdio.h>
#include "../engine/date.h"
#include "../engine/sim.h"
#include "exact.h"
#include "scenario.h"

typedef struct model model;

/* Prepares the plan of the model that scenario s needs; s must outlive it. Returns NULL with a
 * message in err (errlen bytes; err may be NULL) when out of memory or when the scenario is
 * beyond what the model computes (the message says which bound). */
model *model_prepare(const scenario *s, char *err, size_t errlen);

/* Frees m; NULL is fine. */
void model_free(model *m);

/* The model's name, one line, for the report's assumptions ("Poisson-gamma sites"). */
const char *model_name(const model *m);

/* Prints the scenario's assumptions as the model reads them (scenario_describe). */
void model_describe(const model *m, FILE *out);

/* The engine's view of the plan. Valid while m lives. */
sim_model model_sim(const model *m);

/* Review checkpoints: their number and dates (the last is the deadline). */
size_t model_n_checkpoints(const model *m);
date_t model_checkpoint_date(const model *m, size_t k);

/* The exact distribution of registrations at the deadline, when the model has one, giving up
 * past max_work multiply-adds (<= 0: no limit). Returns 0, or -1 with the reason in err (no
 * exact computation for this model or scenario, too costly, out of memory). */
int model_exact(const model *m, double max_work, exact_dist *out, char *err, size_t errlen);

/* P(registrations by the deadline >= n) alone, the same way, its quadrature converging on that
 * one probability (exact_p_at_least_limited): the check beside a run. 0, or -1 as model_exact. */
int model_exact_p_at_least(const model *m, long n, double max_work, double *p, char *err,
                           size_t errlen);

/* The model's own per-trial tallies (sim_model.n_tallies; for the actions model how often
 * each rule fired and the policy's paired effect): whether it has any; tally i's key for the
 * tables ("rule1_fired") into buf; and the readable section of the report on them. */
int model_has_tallies(const model *m);
void model_tally_name(const model *m, size_t i, char *buf, size_t len);
void model_print_tallies(const model *m, const sim_result *r, FILE *out);

/* E[registrations by the deadline], in closed form. */
double model_exact_mean(const model *m);

#endif
