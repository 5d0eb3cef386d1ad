/* The parallel Monte Carlo loop: runs a model's simulated trials in fixed-size blocks, each block
 * on its own random stream keyed by (seed, block), and gathers what the reports need in constant
 * memory. Integer histograms are merged per thread (addition is exact); floating-point sums are
 * kept per block and reduced in block order. So a run's results depend on (model, seed, trials)
 * and never on the number of threads or on scheduling. */
#ifndef ACCRUE_SIM_H
#define ACCRUE_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "hist.h"

#define SIM_BLOCK_TRIALS 4096u  /* trials per block: one random stream each */
#define SIM_ROUND_BLOCKS 64u    /* blocks run in parallel between two checks of the stopping rule */
/* With a target standard error the rounds start at SIM_FIRST_ROUND_BLOCKS blocks and double up
 * to SIM_ROUND_BLOCKS, so that a loose target stops after few trials and a tight one after at
 * most about twice (or one full round more than) the trials it needs. The round sizes depend on
 * nothing but their index, so the trials run stay a function of (model, seed, target). */
#define SIM_FIRST_ROUND_BLOCKS 2u

/* What a batch of simulated trials tells the engine. The engine owns the arrays, sized for
 * sim_model.batch trials; the model fills entries t < n of the per-trial arrays, those of a
 * checkpoint or unit in a row of their own: at_checkpoint[k * batch + t]. */
typedef struct sim_batch {
    size_t *at_deadline;      /* registrations by the deadline */
    size_t *at_checkpoint;    /* registrations by each checkpoint [n_checkpoints][batch] */
    long *completion_day;     /* day index (from 0) the target is reached; -1: already reached
                                 before day 0; >= n_days: not within the followed horizon */
    /* Given what the trial drew (its rates and probabilities), the probability of success and
     * the expected registrations by the deadline, exactly: the engine averages them
     * (conditional Monte Carlo, "Rao-Blackwellisation"). */
    double *cond_p_success, *cond_mean;
    /* The distribution of registrations by the deadline given the drawn values, summed over
     * trials, with the sum of its squares: pmf_sum[i] = sum over trials of
     * P(N = i | drawn values), for the tabulated counts pmf_lo <= i < pmf_hi <= cond_cap (the
     * model writes that range only). The sums may cover several batches of a block: the model
     * may keep them in its work and report them at the block's last batch, which the engine
     * marks with `flush`; an empty range reports nothing. */
    double *pmf_sum, *pmf_sumsq;
    size_t pmf_lo, pmf_hi;
    int flush;
    /* Per unit, given the drawn values: expected registrations by the deadline and the
     * probability of none [n_units][batch]. */
    double *unit_mean, *unit_p_none;
    /* The model's own per-trial quantities (sim_model.n_tallies of them, e.g. whether a rule
     * fired): tally[i * batch + t]; the engine reports each one's mean with its standard error
     * (sim_result.tally). */
    double *tally;
} sim_batch;

/* The random streams of one block, one per purpose (DESIGN.md section 5.5): what a trial draws
 * up front (rates, probabilities, activations) comes from `draws`, its path (counts, dates)
 * from `path`. Block b's stream of purpose k is Philox stream (k << 56) | b under the seed
 * (rng_seek), so two variants of a scenario run on one seed see the same up-front draws wherever
 * their laws agree, whatever their paths consume (common random numbers). */
typedef struct sim_streams {
    gsl_rng *draws, *path;
} sim_streams;

#define SIM_STREAM_DRAWS 0u
#define SIM_STREAM_PATH 1u

/* n <= batch simulated trials: draws from the streams only, writes *out, may use `work`
 * (work_bytes, per thread, not shared, zeroed before the thread's first batch). It must not
 * allocate, lock or fail. Every block's streams are fresh at its first batch, and a block's
 * batches come in order on one thread: the last may be short. */
typedef void (*sim_batch_fn)(const void *ctx, const sim_streams *rng, void *work, size_t n,
                             sim_batch *out);

/* The most powers of the conditional mean count that the control variate takes (sim_model). */
#define SIM_CONTROL_POWERS 4
/* The powers beyond the first are used from this many trials on. Fitted on fewer, the higher
 * powers (whose covariances rest on the 8th moment of a skewed M) overfit the trials drawn and
 * the standard error comes out too small: on bench/reference over 40 to 60 seeds, the z-scores
 * against the exact value had a standard deviation of 1.50 at 8,192 trials and 1.20 at 57,344
 * (mean 0.5 and 0.2), 1.01 at 122,880, 1.00 at 253,952, 0.93 at 516,096 and 1.06 at 2,000,000;
 * the count alone gave 0.89 at 8,192. Below, the count alone is the control. */
#define SIM_CONTROL_POWERS_MIN_TRIALS ((uint64_t)1 << 18)

typedef struct sim_model {
    const void *ctx;          /* the model's prepared plan, read-only during the run */
    sim_batch_fn run_batch;
    size_t batch;             /* the most trials run_batch is given at once (>= 1) */
    size_t work_bytes;
    size_t target;            /* success: at_deadline >= target */
    size_t n_checkpoints;
    long n_days;              /* completion days followed: 0 .. n_days-1 */
    size_t n_units;
    size_t cond_cap;          /* the conditional pmf is tabulated for counts below this (0: not
                                 at all; the count distribution then comes from at_deadline) */
    /* When the model knows E[N] exactly (has_control), the conditional mean count M of each
     * trial serves as a control variate for P(success): see sim_result.p_success. When it also
     * knows the central moments of M up to order control_powers (2 to SIM_CONTROL_POWERS;
     * control_central[j] = E[(M - control_mean)^j]), the powers of M up to that order serve
     * together (0 or 1: M alone). */
    int has_control;
    double control_mean;
    size_t control_powers;
    double control_central[SIM_CONTROL_POWERS + 1];
    size_t n_tallies;         /* the model's own per-trial quantities (sim_batch.tally; 0: none) */
} sim_model;

typedef struct sim_config {
    uint64_t trials;          /* at most this many trials (>= 1) */
    uint64_t seed;
    int threads;              /* >= 1 */
    double target_se;         /* > 0: stop after the first round where SE(p_success) <= this
                                 (rounds of 2, 4, 8, ... SIM_ROUND_BLOCKS blocks) */
    volatile sig_atomic_t *stop;  /* when set non-zero, the run stops at the next batch (an
                                     unfinished block is dropped); may be NULL */
    /* Called after every round on the calling thread with the trials done so far; may be NULL. */
    void (*progress)(void *arg, uint64_t done, uint64_t planned, double p, double se);
    void *progress_arg;
} sim_config;

/* A Monte Carlo estimate with its standard error. */
typedef struct sim_estimate {
    double mean, se;
} sim_estimate;

typedef struct sim_result {
    uint64_t trials;          /* trials actually run */
    int interrupted;          /* the stop flag ended the run early */
    size_t n_checkpoints, n_units;
    long n_days;
    size_t target;
    hist at_deadline;         /* simulated registrations by the deadline */
    hist *at_checkpoint;      /* [n_checkpoints] */
    hist completion;          /* value 0: before day 0; d+1: day d; n_days+1: beyond the horizon */
    sim_estimate p_success_plain;   /* fraction of trials that reached the target */
    sim_estimate p_success_cond;    /* mean of the conditional P(success | drawn values) */
    /* The best estimate: p_success_cond corrected by the control variate when the model has
     * one (beta = cov(P, M) / var(M) over the trials' conditional P and mean count M:
     * P - beta (mean(M) - E[N]); Glasserman 2003, "Monte Carlo Methods in Financial
     * Engineering", 4.1), with several powers of M when their means are known (the multiple
     * regression of P on them, Glasserman 4.1.2), else p_success_cond. */
    sim_estimate p_success;
    double control_beta;            /* the fitted coefficient of M itself, per registration (0
                                       without a control) */
    sim_estimate mean_plain, mean;  /* registrations by the deadline, plain and conditional */
    size_t pmf_len;           /* 0 when the model asked for no table (sim_model.cond_cap) */
    sim_estimate *pmf;        /* conditional P(N = n) for n < pmf_len */
    sim_estimate *unit_mean, *unit_p_none;   /* [n_units] */
    size_t n_tallies;
    sim_estimate *tally;      /* [n_tallies]: the mean of each of the model's own per-trial
                                 quantities over the trials, with its standard error */
    /* Under MPI (engine/dist.h), for the benchmark (bench/ranks.c): the rounds' exchanges among
     * the ranks and the final sum of the histograms, their wall time on this rank (waiting for
     * the slowest rank included), the part of it spent adding the received blocks to the totals
     * (combine_seconds), how many rounds exchanged, the blocks and the bytes received; all 0 in
     * a single process. Never written into any output. */
    double exchange_seconds, combine_seconds;
    uint64_t exchange_rounds, exchange_blocks, exchange_bytes;
} sim_result;

/* Runs the model. Returns a result the caller frees with sim_result_free, or NULL with a message
 * in err (out of memory, bad configuration). An interrupted run still returns its partial result
 * with interrupted set. */
sim_result *sim_run(const sim_model *m, const sim_config *cfg, char *err, size_t errlen);

/* Frees r; NULL is fine. */
void sim_result_free(sim_result *r);

/* Binomial standard error of a fraction k/n: sqrt(p(1-p)/n). */
double sim_fraction_se(uint64_t k, uint64_t n);

#endif
