/* Overrides of a scenario's values from the command line, `--set KEY=VALUE` (DESIGN.md section
 * 4): a trial key (`selfpay_consent=0.4`), a site's column (`new-site-1.rate=1`),
 * `rate_factor=1.5` (every site's rate times 1.5) or `extra_sites=N` (N more sites copied from
 * the `--like` site's row). They are applied to the scenario's CSV tables before the tables are
 * read, so that an overridden value is validated exactly like one in the files; a fault in one
 * is reported as "--set KEY=VALUE: ...". The sweep and solve commands set their varied key the
 * same way. */
#ifndef ACCRUE_OVERRIDES_H
#define ACCRUE_OVERRIDES_H

#include <stddef.h>
#include "../engine/csvtab.h"

/* The overrides of one load, in order (later ones win); like names the site extra_sites
 * copies (NULL when not given). */
typedef struct scenario_overrides {
    const char *const *set;
    size_t n;
    const char *like;
} scenario_overrides;

/* The line number an overridden row carries, so that a message about it names the override
 * instead of a line of a file. */
#define OVERRIDE_LINE ((size_t)-1)

/* What values a key takes (for sweep and solve), and whether P(success) grows with it. */
typedef enum override_kind {
    OVERRIDE_UNKNOWN, OVERRIDE_NUMBER, OVERRIDE_WHOLE, OVERRIDE_DATE, OVERRIDE_TEXT
} override_kind;

/* The kind of KEY (a trial key, SITE.COLUMN without checking that the site exists,
 * rate_factor, extra_sites) and the direction P(success) moves as it grows: +1, -1, or 0 when
 * it need not be monotone. */
override_kind overrides_kind(const char *key, int *direction);

/* Checks that every override is KEY=VALUE with a known key, and that extra_sites comes with
 * like; returns 0, or -1 with "--set TEXT: what is wrong; what is allowed" in err. */
int overrides_check(const scenario_overrides *ov, char *err, size_t errlen);

/* overrides.csv in a scenario folder, as an --out folder's inputs/ writes it (engine/inputs.h):
 * header `option,key,value`, then a row `set,KEY,VALUE` for each --set KEY=VALUE in order and
 * `like,,SITE` for --like (a field written with a leading ' before =, +, - or @, as accrue's
 * tables quote such text, is read without it). Its overrides apply before the command line's,
 * so that a copy of inputs/ run as a scenario gives the run it came from. */
#define OVERRIDES_FILE_MAX_ROWS 64
typedef struct overrides_file {
    size_t n;
    char *set[OVERRIDES_FILE_MAX_ROWS];  /* "KEY=VALUE", in order */
    char *like;                          /* the last like row's SITE, or NULL */
} overrides_file;

/* Parses the file's bytes (path for messages). Returns 0, or -1 with "PATH:LINE: what is
 * wrong; expected ..." in err, quoting at most 40 bytes of the file (a bad header, an unknown
 * option, a set row whose key overrides_kind does not know, a like row without a site or with a
 * key, more than
 * OVERRIDES_FILE_MAX_ROWS rows, out of memory); *out is then empty. */
int overrides_file_parse(const char *path, const char *text, size_t len, overrides_file *out,
                         char *err, size_t errlen);

/* Frees what *f holds; an empty or freed one is fine. */
void overrides_file_free(overrides_file *f);

/* Applies the trial keys to trial.csv's table (replacing a key's value, or adding its row). */
int overrides_apply_trial(csvtab *trial, const scenario_overrides *ov, char *err, size_t errlen);

/* Applies SITE.COLUMN, rate_factor and extra_sites to sites.csv's table, in order; a column a
 * site sets that the file lacks is added (empty for the other sites). */
int overrides_apply_sites(csvtab *sites, const scenario_overrides *ov, char *err, size_t errlen);

#endif
