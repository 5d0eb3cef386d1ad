/* The rank-scaling benchmark behind `make bench-ranks` (and the end of `make bench`): one
 * configuration of ranks x threads, started under mpirun by bench/ranks.sh, which runs
 * 1 x 1, 1 x 2 and 2 x 1 side by side and prints the ratios. This program, built against the
 * MPI build's library (build-mpi/), runs the simulation engine itself (engine/sim.h) on a
 * scenario, REPS times after one warm-up, and prints on rank 0 one line:
 *   ranks R threads T trials N median_s S trials_per_s X rounds K exchange_ms_per_round E
 *   combine_us_per_block C bytes_per_round B gather_ms G
 * - median_s: the median wall time of sim_run (every rank starts together after an agreement;
 *   the time is rank 0's);
 * - exchange_ms_per_round: the time rank 0 spent in the rounds' exchanges and the final sum of
 *   the histograms over the rounds (sim_result.exchange_seconds), waiting for the slowest rank
 *   included; the median over the repetitions;
 * - combine_us_per_block: the part of it spent adding the received blocks' sums to the totals
 *   (every rank adds every block, in block order), per block;
 * - gather_ms: the exchange alone, without the simulation around it: dist_gather_all of the
 *   same number of bytes a round (this rank's share), 200 times back to back, median per call.
 * Every rank reads the scenario itself here (the benchmark is not the program: accrue's rank 0
 * alone reads). No timing is judged: the exit status is 0 unless a run failed.
 * Usage: ranks SCENARIO TRIALS THREADS REPS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "../engine/dist.h"
#include "../engine/sim.h"
#include "../models/model.h"
#include "../models/scenario.h"

#define MAX_REPS 50
#define GATHERS 200

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Every rank here, then the clock: the ranks start a timed step together. */
static void together(void)
{
    long x[1] = {0};
    dist_max_long(x, 1);
}

int main(int argc, char **argv)
{
    if (dist_init(&argc, &argv) != 0)
        return 1;
    if (argc != 5) {
        fprintf(stderr, "usage: ranks SCENARIO TRIALS THREADS REPS\n");
        return dist_finish(2);
    }
    uint64_t trials = strtoull(argv[2], NULL, 10);
    int threads = atoi(argv[3]), reps = atoi(argv[4]);
    if (trials < 1 || threads < 1 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "ranks: bad TRIALS, THREADS or REPS (1 to %d)\n", MAX_REPS);
        return dist_finish(2);
    }
    char err[1024] = "";
    scenario *s = scenario_load(argv[1], err, sizeof err);
    model *plan = s ? model_prepare(s, err, sizeof err) : NULL;
    if (!plan) {
        fprintf(stderr, "ranks: %s\n", err);
        scenario_free(s);
        return dist_finish(1);
    }
    sim_model m = model_sim(plan);
    sim_config cfg = {.trials = trials, .seed = 20260718, .threads = threads};
    double wall[MAX_REPS], per_round[MAX_REPS], per_block[MAX_REPS];
    uint64_t rounds = 0, bytes = 0;
    int rc = 0;
    for (int k = -1; k < reps && rc == 0; k++) {   /* k = -1: the warm-up, not counted */
        together();
        double t0 = omp_get_wtime();
        sim_result *r = sim_run(&m, &cfg, err, sizeof err);
        double t = omp_get_wtime() - t0;
        if (!r) {
            fprintf(stderr, "ranks: %s\n", err);
            rc = 1;
            break;
        }
        if (k >= 0) {
            wall[k] = t;
            per_round[k] = r->exchange_rounds ? r->exchange_seconds / (double)r->exchange_rounds
                                              : 0.0;
            per_block[k] = r->exchange_blocks ? r->combine_seconds / (double)r->exchange_blocks
                                              : 0.0;
        }
        rounds = r->exchange_rounds;
        bytes = r->exchange_bytes;
        sim_result_free(r);
    }
    /* The exchange alone: each rank sends its share of a round's bytes. */
    double gather[GATHERS], gather_ms = 0.0;
    if (rc == 0 && dist_size() > 1 && rounds > 0) {
        size_t share = (size_t)(bytes / rounds / (uint64_t)dist_size());
        char *mine = calloc(share ? share : 1, 1);
        for (int k = 0; k < GATHERS && mine; k++) {
            long flags[3] = {0, 0, 0};
            void *all = NULL;
            size_t total = 0;
            together();
            double t0 = omp_get_wtime();
            dist_gather_all(mine, share, flags, 3, &all, &total);
            gather[k] = omp_get_wtime() - t0;
            free(all);
        }
        gather_ms = mine ? 1e3 * median(gather, GATHERS) : 0.0;
        free(mine);
    }
    if (rc == 0 && dist_rank() == 0) {
        double med = median(wall, reps);
        printf("ranks %d threads %d trials %llu median_s %.4f trials_per_s %.4g rounds %llu "
               "exchange_ms_per_round %.4f combine_us_per_block %.4f bytes_per_round %llu "
               "gather_ms %.4f\n",
               dist_size(), threads, (unsigned long long)trials, med, (double)trials / med,
               (unsigned long long)rounds, 1e3 * median(per_round, reps),
               1e6 * median(per_block, reps),
               (unsigned long long)(rounds ? bytes / rounds : 0), gather_ms);
    }
    model_free(plan);
    scenario_free(s);
    return dist_finish(rc);
}
