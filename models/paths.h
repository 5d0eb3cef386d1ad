/* A trial's registrations one at a time, for the models that follow each trial plainly
 * (models/pools.c, models/actions.c): the checkpoint counts and the completion day read off as
 * registrations come in time order, a site's next referral under its rate schedule, and the
 * candidates in screening. */
#ifndef ACCRUE_PATHS_H
#define ACCRUE_PATHS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "../engine/rng.h"
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

/* Which of a site's referrals a path follows, one at a time. A capped site: every referral
 * (each counts against its cap), thinned as it comes by screen pass p and, from selfpay on,
 * consent q. An uncapped site: only those that pass screening, a Poisson process of p times
 * the site's rate (thinning a Poisson process by independent coin flips leaves a Poisson
 * process), consent then decided per referral from selfpay on; or, when the site starts on or
 * after selfpay, only those that register, at p q times its rate. The same law of
 * registrations, with fewer events to follow. */
typedef enum path_thinning {
    PATH_EVERY_REFERRAL,      /* rate x 1; register with p, and q from selfpay on */
    PATH_PASSED,              /* rate x p; register with q from selfpay on */
    PATH_REGISTERED           /* rate x p q; every event registers */
} path_thinning;

/* The thinning of a site starting at `start` (capped or not), and the factor of its rate. */
static inline double path_thinning_of(int capped, double start, double pass, double consent,
                                      double selfpay, path_thinning *mode)
{
    if (capped) {
        *mode = PATH_EVERY_REFERRAL;
        return 1.0;
    }
    if (start >= selfpay) {
        *mode = PATH_REGISTERED;
        return pass * consent;
    }
    *mode = PATH_PASSED;
    return pass;
}

/* Whether an event of a site followed under `mode`, referred at `referred`, registers. */
static inline int path_registers(path_thinning mode, double referred, double pass,
                                 double consent, double selfpay, gsl_rng *r)
{
    if (mode == PATH_REGISTERED)
        return 1;
    if (mode == PATH_EVERY_REFERRAL && !(rng_uniform(r) < pass))
        return 0;
    return referred < selfpay || rng_uniform(r) < consent;
}

#endif
