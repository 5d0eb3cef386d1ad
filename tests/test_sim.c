/* Tests of engine/sim.c with a stand-in model whose answers are known exactly: every trial draws
 * one uniform u and registers floor(10 u) patients, so the count is uniform on 0..9; its
 * "conditional" pmf is the uniform pmf itself, so the conditional estimator is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "../engine/sim.h"

#define N_VALUES 10

#define BATCH 5   /* trials per batch: does not divide the block, so blocks end short */

/* Counts 0 .. 9, each with conditional probability 0.1: every trial adds 0.1 and 0.01. */
static void uniform_batch(const void *ctx, const sim_streams *rng, void *work, size_t n,
                          sim_batch *o)
{
    gsl_rng *r = rng->path;
    (void)ctx;
    (void)work;
    for (size_t t = 0; t < n; t++) {
        size_t k = (size_t)(gsl_rng_uniform(r) * N_VALUES);
        o->at_deadline[t] = k;
        o->at_checkpoint[t] = k / 2;
        o->at_checkpoint[BATCH + t] = k;
        o->completion_day[t] = (long)k * 10 - 1;  /* -1 for k = 0: "before the start" */
        o->cond_p_success[t] = 0.3;               /* P(N >= 7) */
        o->cond_mean[t] = 4.5;
        o->unit_mean[t] = (double)k;
        o->unit_p_none[t] = k == 0;
    }
    for (size_t i = 0; i < N_VALUES; i++) {
        o->pmf_sum[i] = 0.1 * (double)n;
        o->pmf_sumsq[i] = 0.01 * (double)n;
    }
    o->pmf_lo = 0;
    o->pmf_hi = N_VALUES;
}

static sim_model uniform_model(void)
{
    sim_model m = {.run_batch = uniform_batch, .batch = BATCH, .target = 7, .n_checkpoints = 2,
                   .n_days = 50, .n_units = 1, .cond_cap = 16};
    return m;
}

/* The uniform model with a conditional P(success) that varies: (k + 1/2) / 10 for its count k,
 * standard deviation about 0.29, so its standard error of 2e-3 needs about 21,000 trials. */
static void spread_batch(const void *ctx, const sim_streams *rng, void *work, size_t n,
                         sim_batch *o)
{
    uniform_batch(ctx, rng, work, n, o);
    for (size_t t = 0; t < n; t++)
        o->cond_p_success[t] = ((double)o->at_deadline[t] + 0.5) / N_VALUES;
}

static sim_model spread_model(void)
{
    sim_model m = uniform_model();
    m.run_batch = spread_batch;
    return m;
}

/* The same trials, but the table is kept in `work` (a count of trials) and reported only when
 * the engine marks a block's last batch. */
static void deferred_batch(const void *ctx, const sim_streams *rng, void *work, size_t n,
                           sim_batch *o)
{
    size_t *pending = work;
    uniform_batch(ctx, rng, NULL, n, o);
    *pending += n;
    o->pmf_lo = o->pmf_hi = 0;
    if (!o->flush)
        return;
    for (size_t i = 0; i < N_VALUES; i++) {
        o->pmf_sum[i] = 0.1 * (double)*pending;
        o->pmf_sumsq[i] = 0.01 * (double)*pending;
    }
    o->pmf_lo = 0;
    o->pmf_hi = N_VALUES;
    *pending = 0;
}

static sim_result *run_model(const sim_model *m, uint64_t trials, int threads)
{
    sim_config c = {.trials = trials, .seed = 42, .threads = threads};
    char err[256];
    sim_result *r = sim_run(m, &c, err, sizeof err);
    assert_non_null(r);
    return r;
}

static sim_result *run(uint64_t trials, int threads, double target_se)
{
    sim_model m = uniform_model();
    sim_config c = {.trials = trials, .seed = 42, .threads = threads, .target_se = target_se};
    char err[256];
    sim_result *r = sim_run(&m, &c, err, sizeof err);
    assert_non_null(r);
    return r;
}

/* The conditional estimator averages the same pmf every trial: exact, with zero variance. */
static void test_conditional_estimator_is_exact(void **state)
{
    (void)state;
    sim_result *r = run(10000, 2, 0.0);
    assert_int_equal(r->trials, 10000);
    /* P(N >= 7) = 3/10; sums of 10000 copies of 0.1 carry rounding of order 1e-12. */
    assert_true(fabs(r->p_success.mean - 0.3) < 1e-12);
    assert_true(r->p_success.se < 1e-9);
    assert_true(fabs(r->mean.mean - 4.5) < 1e-10);
    assert_int_equal(r->pmf_len, N_VALUES);
    sim_result_free(r);
}

/* The plain fraction is binomial: within 4 standard errors, sqrt(0.3 * 0.7 / n), of 0.3
 * (false alarm 6e-5). */
static void test_plain_estimator_within_error(void **state)
{
    (void)state;
    sim_result *r = run(100000, 2, 0.0);
    double se = sqrt(0.3 * 0.7 / 100000.0);
    assert_true(fabs(r->p_success_plain.mean - 0.3) < 4.0 * se);
    /* The reported SE is sqrt(q(1-q)/n) at the estimate q; its relative change with q is
     * (1-2p) / (2p(1-p)) = 0.952 at p = 0.3, so with |q - 0.3| < 4 se = 0.0058 (just asserted)
     * it is off by at most 0.952 * 0.0058 = 0.0055 of itself; 0.01 bounds that. */
    assert_true(fabs(r->p_success_plain.se - se) < 0.01 * se);
    /* Count mean 4.5, variance 8.25: 4 standard errors sqrt(8.25 / n). */
    assert_true(fabs(r->mean_plain.mean - 4.5) < 4.0 * sqrt(8.25 / 100000.0));
    assert_int_equal(r->at_deadline.total, 100000);
    assert_int_equal(r->at_checkpoint[1].total, 100000);
    /* Per unit: mean of floor(10u) is 4.5; P(none) is 0.1, binomial error. */
    assert_true(fabs(r->unit_mean[0].mean - 4.5) < 4.0 * sqrt(8.25 / 100000.0));
    assert_true(fabs(r->unit_p_none[0].mean - 0.1) < 4.0 * sqrt(0.09 / 100000.0));
    sim_result_free(r);
}

/* A table reported only at each block's last batch (sim_batch.flush) counts every trial once:
 * over 2.5 blocks with short batches and a short last block, each entry is 0.1 (P(N = i)) up to
 * the rounding of sums of 0.1 (relative 1e-12 is far above it and far below any miscount, which
 * would be off by at least 1 / trials = 1e-4). */
static void test_table_reported_at_flush(void **state)
{
    (void)state;
    sim_model m = uniform_model();
    m.run_batch = deferred_batch;
    m.work_bytes = sizeof(size_t);
    uint64_t trials = 5 * SIM_BLOCK_TRIALS / 2;
    sim_result *r = run_model(&m, trials, 2);
    assert_int_equal(r->trials, trials);
    assert_int_equal(r->pmf_len, N_VALUES);
    for (size_t i = 0; i < N_VALUES; i++)
        assert_true(fabs(r->pmf[i].mean - 0.1) < 1e-12);
    sim_result_free(r);
}

static void assert_same_hist(const hist *a, const hist *b)
{
    assert_int_equal(a->total, b->total);
    size_t n = hist_extent(a);
    assert_int_equal(n, hist_extent(b));
    assert_memory_equal(a->bin, b->bin, n * sizeof *a->bin);
}

/* Same seed and trials: identical histograms and bit-identical estimates on 1, 2 or 3 threads. */
static void test_thread_count_does_not_matter(void **state)
{
    (void)state;
    uint64_t trials = 5 * SIM_ROUND_BLOCKS * SIM_BLOCK_TRIALS / 3 + 17;  /* partial round and block */
    sim_result *a = run(trials, 1, 0.0), *b = run(trials, 2, 0.0), *c = run(trials, 3, 0.0);
    sim_result *rs[2] = {b, c};
    for (int i = 0; i < 2; i++) {
        assert_same_hist(&a->at_deadline, &rs[i]->at_deadline);
        assert_same_hist(&a->completion, &rs[i]->completion);
        assert_same_hist(&a->at_checkpoint[0], &rs[i]->at_checkpoint[0]);
        assert_memory_equal(&a->p_success, &rs[i]->p_success, sizeof a->p_success);
        assert_memory_equal(&a->unit_mean[0], &rs[i]->unit_mean[0], sizeof a->unit_mean[0]);
        assert_memory_equal(a->pmf, rs[i]->pmf, a->pmf_len * sizeof *a->pmf);
    }
    sim_result_free(a);
    sim_result_free(b);
    sim_result_free(c);
}

/* The completion histogram: slot 0 "before the start" for n = 0 (day -1), slot d+1 for day d,
 * and slot n_days+1 beyond the horizon (days 50 .. 89 for n = 6..9 with n_days = 50). */
static void test_completion_slots(void **state)
{
    (void)state;
    sim_result *r = run(50000, 2, 0.0);
    uint64_t before = r->completion.bin[0];
    uint64_t after = hist_count_at_least(&r->completion, 51);
    /* Each is binomial: 0.1 and 0.4 of the trials, within 4 standard errors. */
    assert_true(fabs((double)before / 50000.0 - 0.1) < 4.0 * sqrt(0.09 / 50000.0));
    assert_true(fabs((double)after / 50000.0 - 0.4) < 4.0 * sqrt(0.24 / 50000.0));
    assert_int_equal(hist_extent(&r->completion), 52);
    sim_result_free(r);
}

/* --target-se: the run stops at the end of the first round whose standard error is small
 * enough; with a plain-estimator-free exact model the SE is 0 after the first round, so exactly
 * one round runs, the small first one (SIM_FIRST_ROUND_BLOCKS blocks), whatever the thread
 * count. */
static void test_target_se_stops_after_round(void **state)
{
    (void)state;
    sim_result *a = run(1000000000ULL, 1, 1e-3), *b = run(1000000000ULL, 2, 1e-3);
    assert_int_equal(a->trials, (uint64_t)SIM_FIRST_ROUND_BLOCKS * SIM_BLOCK_TRIALS);
    assert_int_equal(b->trials, a->trials);
    sim_result_free(a);
    sim_result_free(b);
}

/* --target-se with a real spread: the rounds double (2, 4, 8, ... blocks, then full rounds),
 * so the run stops at a sum of them, the first at which the SE is at most the target; that
 * count is the same on 1 and 3 threads, and the results are byte for byte the same as a run of
 * exactly that many trials without a target. */
static void test_target_se_geometric_rounds(void **state)
{
    (void)state;
    sim_model m = spread_model();
    sim_config c = {.trials = 1000000000ULL, .seed = 7, .threads = 1, .target_se = 2e-3};
    sim_result *a = sim_run(&m, &c, NULL, 0);
    c.threads = 3;
    sim_result *b = sim_run(&m, &c, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->trials, b->trials);
    assert_true(a->p_success.se <= 2e-3);
    uint64_t sum = 0, round = SIM_FIRST_ROUND_BLOCKS, stops = 0;
    while (sum < a->trials / SIM_BLOCK_TRIALS) {
        sum += round;
        round = 2 * round < SIM_ROUND_BLOCKS ? 2 * round : SIM_ROUND_BLOCKS;
    }
    stops = sum * SIM_BLOCK_TRIALS;
    assert_int_equal(a->trials, stops);
    assert_true(a->trials < (uint64_t)SIM_ROUND_BLOCKS * SIM_BLOCK_TRIALS);
    sim_config fixed = {.trials = a->trials, .seed = 7, .threads = 2};
    sim_result *f = sim_run(&m, &fixed, NULL, 0);
    assert_non_null(f);
    assert_memory_equal(&f->p_success, &a->p_success, sizeof a->p_success);
    assert_memory_equal(&f->mean, &a->mean, sizeof a->mean);
    sim_result_free(a);
    sim_result_free(b);
    sim_result_free(f);
}

/* A stop flag already set: nothing runs and the result says it was interrupted. */
static void test_stop_flag(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 1;
    sim_model m = uniform_model();
    sim_config c = {.trials = 1000000, .seed = 1, .threads = 2, .stop = &stop};
    sim_result *r = sim_run(&m, &c, NULL, 0);
    assert_non_null(r);
    assert_true(r->interrupted);
    assert_int_equal(r->trials, 0);
    sim_result_free(r);
}

/* Streams per purpose (DESIGN.md section 5.5): a trial's up-front draw must not depend on how
 * much of the path stream earlier trials used. Two models draw one word from `draws` per trial
 * (its count, 0 .. 9) and then 1 or 7 words from `path`; the same seed must give the same
 * counts, so identical histograms. With one stream for both, the second model's counts would be
 * other words: the chance that the 4099 counts still agree is nil. */
static void path_words(const sim_streams *rng, size_t n, sim_batch *o, int words)
{
    for (size_t t = 0; t < n; t++) {
        size_t k = (size_t)(gsl_rng_uniform(rng->draws) * N_VALUES);
        for (int i = 0; i < words; i++)
            (void)gsl_rng_get(rng->path);
        o->at_deadline[t] = k;
        o->at_checkpoint[t] = o->at_checkpoint[BATCH + t] = k;
        o->completion_day[t] = 0;
        o->cond_p_success[t] = o->cond_mean[t] = 0.0;
        o->unit_mean[t] = o->unit_p_none[t] = 0.0;
    }
    o->pmf_lo = o->pmf_hi = 0;
}

static void one_path_word(const void *ctx, const sim_streams *rng, void *work, size_t n,
                          sim_batch *o)
{
    (void)ctx;
    (void)work;
    path_words(rng, n, o, 1);
}

static void seven_path_words(const void *ctx, const sim_streams *rng, void *work, size_t n,
                             sim_batch *o)
{
    (void)ctx;
    (void)work;
    path_words(rng, n, o, 7);
}

static void test_draws_do_not_depend_on_paths(void **state)
{
    (void)state;
    sim_model a = uniform_model(), b = uniform_model();
    a.run_batch = one_path_word;
    b.run_batch = seven_path_words;
    a.cond_cap = b.cond_cap = 0;
    sim_config cfg = {.trials = 4099, .seed = 5, .threads = 1};
    char err[256];
    sim_result *ra = sim_run(&a, &cfg, err, sizeof err), *rb = sim_run(&b, &cfg, err, sizeof err);
    assert_non_null(ra);
    assert_non_null(rb);
    for (size_t k = 0; k < N_VALUES; k++)
        assert_int_equal(hist_count_at_least(&ra->at_deadline, k),
                         hist_count_at_least(&rb->at_deadline, k));
    sim_result_free(ra);
    sim_result_free(rb);
}

/* A stop that comes in the middle of a block acts at the next batch, not at the end of the
 * block (a batch of a model with 100,000 sites takes a fraction of a second, a block 4096 / 64
 * of them): the model sets the flag itself at its 10th batch; one thread then runs no other
 * batch, and the unfinished block does not count. */
static volatile sig_atomic_t stop_mid_block;
static size_t batches_run;

static void stopping_batch(const void *ctx, const sim_streams *rng, void *work, size_t n,
                           sim_batch *o)
{
    uniform_batch(ctx, rng, work, n, o);
    if (++batches_run == 10)
        stop_mid_block = SIGINT;
}

static void test_stop_flag_checked_per_batch(void **state)
{
    (void)state;
    sim_model m = uniform_model();
    m.run_batch = stopping_batch;
    stop_mid_block = 0;
    batches_run = 0;
    sim_config c = {.trials = 1000000, .seed = 1, .threads = 1, .stop = &stop_mid_block};
    sim_result *r = sim_run(&m, &c, NULL, 0);
    assert_non_null(r);
    assert_true(r->interrupted);
    assert_int_equal(batches_run, 10);
    assert_int_equal(r->trials, 0);
    sim_result_free(r);
}

static void test_bad_configuration(void **state)
{
    (void)state;
    sim_model m = uniform_model();
    sim_config c = {.trials = 0, .seed = 1, .threads = 1};
    char err[128] = "";
    assert_null(sim_run(&m, &c, err, sizeof err));
    assert_true(strlen(err) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditional_estimator_is_exact),
        cmocka_unit_test(test_plain_estimator_within_error),
        cmocka_unit_test(test_table_reported_at_flush),
        cmocka_unit_test(test_thread_count_does_not_matter),
        cmocka_unit_test(test_completion_slots),
        cmocka_unit_test(test_target_se_stops_after_round),
        cmocka_unit_test(test_target_se_geometric_rounds),
        cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_draws_do_not_depend_on_paths),
        cmocka_unit_test(test_stop_flag_checked_per_batch),
        cmocka_unit_test(test_bad_configuration),
    };
    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
