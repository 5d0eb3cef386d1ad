/* The shared core of the models that are Poisson given their draws (DESIGN.md sections 5.1 to
 * 5.3): given, for each trial of a batch, the cumulative intensity LAMBDA of its referral
 * registrations at a fixed set of points and the probabilities that thin its candidates in
 * screening, it computes everything the engine needs: the conditional distribution of the count
 * at the deadline, the registrations by each checkpoint and the day the target is reached. A
 * front end (models/sites.c) decides what a trial draws and fills those rows; the core never
 * looks at sites, rates or schedules. */
#ifndef ACCRUE_POISSON_CORE_H
#define ACCRUE_POISSON_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "../engine/date.h"
#include "../engine/sim.h"
#include "scenario.h"

typedef struct core_plan core_plan;

/* What a front end tells the core when the plan is made. */
typedef struct core_spec {
    const scenario *s;          /* dates, counts, screening; must outlive the plan */
    const double *points;       /* times (days from as_of, registration time: referral time plus
                                   screen_days) where the front end's intensity changes slope */
    size_t n_points;            /* the core adds 0, screen_days, the self-pay date and the
                                   checkpoints; duplicates are fine */
    double mean_upper;          /* a bound that almost every trial's expected referral
                                   registrations by the deadline stays below (sizes the windows) */
    size_t batch;               /* trials per batch, at most CORE_MAX_BATCH */
} core_spec;

/* Trials in one batch at most: vectorised samplers and the conditional kernel need a few dozen
 * values of one kind at a time to pay off. */
#define CORE_MAX_BATCH 64

/* The rows a front end fills for a batch of n trials (entries t < n), inside the core's work
 * area (core_rows_of): */
typedef struct core_rows {
    double *pass;               /* [batch] the trial's screen-pass probability p */
    double *consent;            /* [batch] its self-pay consent probability q */
    /* [n_points][batch]: LAMBDA at each point (core_point), row 0 (time 0) being 0, and
     * non-decreasing; LAMBDA is linear between two points. */
    double *lambda_at_points;
    double *final_slope;        /* [batch] LAMBDA's slope past the last point (per day) */
} core_rows;

/* For tests: cuts the kernel's windows for large means sd standard deviations either side of
 * the mean (0 < sd <= 5; anything else restores the default, 5), so that the draws outside
 * them (see cut windows in poisson_core.c) are common enough to check. Not thread-safe: set it
 * before a run. */
void core_set_cut_window_sd(double sd);

/* Builds the core's plan. Returns NULL with a message in err (out of memory; expected counts
 * beyond what accrue computes, 1e8 by the deadline). */
core_plan *core_plan_new(const core_spec *spec, char *err, size_t errlen);

/* Frees p; NULL is fine. */
void core_plan_free(core_plan *p);

/* The plan's sorted distinct points: their number, and point i (point 0 is 0). */
size_t core_n_points(const core_plan *p);
double core_point(const core_plan *p, size_t i);

/* The index of time u among the points; u must be one of them (one given in core_spec or one
 * the core added). */
size_t core_point_index(const core_plan *p, double u);

/* Review checkpoints: their number and their dates (the last is the deadline); days followed
 * for completion dates (day indices 0 .. n-1 from as_of). */
size_t core_n_checkpoints(const core_plan *p);
date_t core_checkpoint_date(const core_plan *p, size_t k);
long core_n_days(const core_plan *p);

/* Whether each trial's conditional distribution is conditioned on the screening registrations
 * by the deadline that its path draws (a long screening queue), instead of integrating their
 * binomial number: its conditional mean count then holds that number, not its mean. */
int core_screening_drawn(const core_plan *p);

/* Counts the engine tabulates for the conditional pmf (0: none; see sim_model.cond_cap). */
size_t core_table_cap(const core_plan *p);

/* Bytes of per-thread work the core needs; the front end's own work may follow it. */
size_t core_work_bytes(const core_plan *p);

/* The front end's rows inside a thread's work area. */
core_rows core_rows_of(const core_plan *p, void *work);

/* The rest of a batch once the front end has filled its rows: draws the candidates in
 * screening and the paths from `r`, writes every per-trial entry of `out` except the units'
 * (the front end writes unit_mean and unit_p_none). */
void core_batch(const core_plan *p, gsl_rng *r, void *work, size_t n, sim_batch *out);

#endif
