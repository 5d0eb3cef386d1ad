/* The fan: registrations by the end of each month's date from as_of through the deadline and a
 * year on (DESIGN.md sections 4.1 and 4.2: fan.csv, result.json's "fan" and the report's fan
 * chart). Rows at a review date or the deadline are the run's own numbers (checkpoints.csv's),
 * so that every table of a run agrees; the months between and after come from a companion run
 * of the same scenario and seed with monthly reviews and the deadline a year later, of at most
 * FAN_TRIALS trials. */
#ifndef ACCRUE_FAN_H
#define ACCRUE_FAN_H

#include <stdint.h>
#include <stdio.h>
#include "cli.h"
#include "report.h"
#include "sim.h"

/* The companion run's trials: one in FAN_SHARE of the run's (rounded up), at least
 * FAN_TRIALS_MIN and at most FAN_TRIALS (4 blocks of SIM_BLOCK_TRIALS), never more than the
 * run's. A companion trial costs 2 to 3 times a run's (48 intervals to split instead of 7, 55
 * points to fill instead of 15, the per-site figures of many sites, measured on
 * bench/reference and bench/scale's count-10000 and sites-5000), so one in 64 keeps a run with
 * --out within about 5 % of one without, whatever its size (a fixed minimum of thousands would
 * double a short run's time). The cap is about a default run's companion (15,625 of 1e6
 * trials): longer runs draw the same fan and pay less for it (about 1 % of bench/reference's
 * run of 4e6 trials, 0.005 s of CPU; twice that with a cap of 32,768). Its quantiles are whole
 * counts: one is off by one only where the count's distribution function lies within noise of
 * the quantile's level, and that noise (the standard error of an estimated probability) is at
 * most 0.5 / sqrt(n): 0.004 at 15,625 and 16,384, 0.03 at 256; fan.csv gives n beside each row
 * and the mean's standard error. */
#define FAN_SHARE 64u
#define FAN_TRIALS_MIN 256u
#define FAN_TRIALS 16384u

/* The companion's trials for a run of `trials` (see FAN_SHARE). */
uint64_t fan_trials(uint64_t trials);

/* How far the fan goes past the deadline: what one more year would bring. */
#define FAN_MONTHS_PAST_DEADLINE 12

typedef struct fan_table {
    size_t n;
    date_t *date;                 /* [n], increasing */
    double *mean, *mean_se;       /* [n] registrations by the end of the date (enrolled included) */
    size_t (*q)[REPORT_N_QUANTILES];  /* [n] at report_quantiles' levels */
    uint64_t *trials;             /* [n] the trials the row comes from */
} fan_table;

/* Builds scenario i's fan for its run r (a complete result; s, info as the run used them):
 * runs the companion with o's seed, threads and quiet. A scenario with corrective action keeps
 * the review dates only (its rules act at the reviews, so monthly reviews would change its
 * model), and so does one the companion cannot be made for (the monthly scenario beyond a
 * limit), with a note on standard error. Returns 0, or the exit status after a message: 1 (out
 * of memory, the companion failed) or 130 / 143 (stopped by a signal); *fan is then empty. */
int fan_build(const options *o, size_t i, const scenario *s, const report_info *info,
              const sim_result *r, fan_table *fan);

/* Frees what *fan holds; an empty or freed table is fine. */
void fan_free(fan_table *fan);

/* fan.csv (date,mean,q05,q10,q25,q50,q75,q90,q95,mean_se,trials): a report_extra writer, arg
 * a fan_table. Returns 0 or -1. */
int fan_write_csv(const void *arg, FILE *f);

#endif
