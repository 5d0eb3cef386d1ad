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

/* The companion run's trials at most (8 blocks of SIM_BLOCK_TRIALS). Its quantiles are whole
 * counts: one is off by one only where the count's distribution function lies within noise of
 * the quantile's level, and that noise (the standard error of an estimated probability) is at
 * most 0.5 / sqrt(32768) = 0.0028; its means have a standard error of the count's standard
 * deviation over 181. Enough for a figure and its table; it keeps a run with --out within a few
 * per cent of a run without (the companion's trials cost about twice a run's, and a run has
 * 1e6 by default). */
#define FAN_TRIALS 32768u

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
