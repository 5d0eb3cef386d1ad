/* A trial's registrations one at a time, for the models that follow each trial plainly
 * (models/pools.c, models/actions.c): the checkpoint counts and the completion day read off as
 * registrations come in time order, a site's next referral under its rate schedule, and the
 * candidates in screening. */
#ifndef ACCRUE_PATHS_H
#define ACCRUE_PATHS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "../engine/sim.h"
#include "poisson_core.h"
#include "scenario.h"

/* What a trial's registrations are counted against (times in days from as_of). */
typedef struct path_clock {
    double *checkpoint_end;         /* the end of each checkpoint day */
    size_t n_checkpoints, batch;    /* batch: the stride of sim_batch's checkpoint rows */
    long enrolled, need;            /* need: target - enrolled */
    double followed;                /* days followed */
    double window;                  /* the end of the deadline day */
    double selfpay;                 /* selfpay_from - as_of */
    double screen_days;
} path_clock;

/* The clock of scenario s under the core's checkpoints, for batches of `batch` trials.
 * Returns 0, or -1 when out of memory (then safe to path_clock_free). */
int path_clock_init(path_clock *c, const scenario *s, const core_plan *core, size_t batch);

/* Frees the clock's checkpoints; a zeroed clock is fine. */
void path_clock_free(path_clock *c);

/* Where a trial's registrations have got to. */
typedef struct path_tally {
    long count;                     /* registrations since as_of */
    size_t next_checkpoint;
    long completion;                /* the day the target is reached (see sim_batch) */
} path_tally;

/* A trial's tally before its first registration (completion -1 when nothing is needed,
 * else "beyond the followed days" until the target is reached). */
path_tally path_start(const path_clock *c);

/* Registration at time `at`, in increasing order of time, of trial t: closes the checkpoints
 * it passed into out's rows and dates the completion when it is the target's. */
void path_record(const path_clock *c, path_tally *ty, double at, size_t t, sim_batch *out);

/* The trial's end: the checkpoints not yet closed, the count at the deadline, the completion. */
void path_finish(const path_clock *c, path_tally *ty, size_t t, sim_batch *out);

/* The time of a site's next referral after `from`: an Exp(1) step of its cumulative intensity
 * (per_day times its schedule's factor, steps[] dated from as_of), walked across the steps;
 * INFINITY when the intensity ends at zero first. */
double path_next_referral(date_t as_of, size_t n_steps, const rate_step *step, double per_day,
                          double from, gsl_rng *r);

/* Candidate i of s->screening (in order, i from 0) in screening at as_of: its time, uniform
 * on [0, screen_days), generated in increasing order through *u (start at 0; the next of m
 * remaining above u is 1 - (1 - u) V^(1/m)), into *at; returns whether it registers (passes
 * with pass, and under selfpay_screening consents with consent from selfpay on). */
int path_screening(const scenario *s, long i, double pass, double consent, double selfpay,
                   double *u, double *at, gsl_rng *r);

#endif
