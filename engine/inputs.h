/* inputs/ of an --out folder (DESIGN.md section 4.1): byte-for-byte copies of the scenario
 * files a run read (trial.csv, sites.csv and those of schedule.csv, actions.csv and history.csv
 * the folder holds; for the built-in default, the two files compiled in) and overrides.csv, the
 * command line's --set and --like in order. Copied from the bytes the scenario was parsed from
 * (scenario_folder, read once per process), so what is written beside the results is what the
 * run used even if a file changes meanwhile, and no process reads the disk again. */
#ifndef ACCRUE_INPUTS_H
#define ACCRUE_INPUTS_H

#include <stddef.h>
#include <stdio.h>
#include "report.h"
#include "../models/scenario.h"

#define INPUTS_MAX_FILES 6   /* the five scenario files and overrides.csv */

typedef struct inputs_file {
    const char *name;        /* "inputs/trial.csv", ... (static) */
    char *bytes;
    size_t len;
} inputs_file;

typedef struct inputs_copy {
    size_t n;
    inputs_file file[INPUTS_MAX_FILES];
} inputs_copy;

/* Every name inputs/ may hold, NULL-terminated. */
extern const char *const inputs_names[];

/* Copies the files of the scenario folder as read (NULL: the built-in default) and writes
 * overrides.csv (columns option,key,value: `set`, KEY, VALUE for each --set KEY=VALUE, then
 * `like`, empty, SITE for --like) into *c. Returns 0, or -1 with a message in err (out of
 * memory); *c is then empty. */
int inputs_snapshot(const scenario_folder *folder, const char *const *set, size_t n_set,
                    const char *like, inputs_copy *c, char *err, size_t errlen);

/* Frees what *c holds; an empty or freed copy is fine. */
void inputs_free(inputs_copy *c);

/* The copies as extra files of a run's set: extra[i] for i < c->n (room for
 * INPUTS_MAX_FILES). Returns c->n. */
size_t inputs_extras(const inputs_copy *c, report_extra *extra);

#endif
