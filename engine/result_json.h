/* result.json: a run's results, typed, with its inputs and settings (see result_json.c). */
#ifndef ACCRUE_RESULT_JSON_H
#define ACCRUE_RESULT_JSON_H

#include <stdio.h>
#include "report.h"
#include "fan.h"
#include "sim.h"
#include "../models/scenario.h"

/* What result.json is made of: the scenario as read (after overrides and learning), the
 * overrides as given, the report's view, the results and the run's settings. */
typedef struct result_json_args {
    const scenario *s;
    const char *const *set;
    size_t n_set;
    const char *like;
    const report_info *info;
    const sim_result *r;
    unsigned long long seed;
    double target_se;
    const char *version;
    const fan_table *fan;     /* the fan's rows (results.fan), or NULL: none */
} result_json_args;

/* Writes result.json to f (indented, keys in a fixed order). Returns 0, or -1 when out of
 * memory or when f failed. */
int result_json_write(FILE *f, const result_json_args *a);

#endif
