/* Overrides of a scenario's values: see overrides.h. They edit the tables as a user would edit
 * the files, so every rule of the loader applies to them unchanged. */
#include "overrides.h"
#include "scenario.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The trial keys and site columns an override may set, with their kinds and how P(success)
 * moves as they grow. */
typedef struct key_info {
    const char *name;
    override_kind kind;
    int direction;
} key_info;

static const key_info trial_keys[] = {
    {"name", OVERRIDE_TEXT, 0},           {"as_of", OVERRIDE_DATE, 0},
    {"deadline", OVERRIDE_DATE, 1},       {"target", OVERRIDE_WHOLE, -1},
    {"enrolled", OVERRIDE_WHOLE, 1},      {"screening", OVERRIDE_WHOLE, 1},
    {"screen_pass", OVERRIDE_NUMBER, 1},  {"screen_days", OVERRIDE_WHOLE, -1},
    {"selfpay_from", OVERRIDE_DATE, 1},   {"selfpay_consent", OVERRIDE_NUMBER, 1},
    {"selfpay_screening", OVERRIDE_TEXT, 0},
    {"review_months", OVERRIDE_WHOLE, 0}, {"horizon_years", OVERRIDE_NUMBER, 0},
    {"history_from", OVERRIDE_DATE, 0},   {"rate_prior", OVERRIDE_TEXT, 0},
};
static const key_info site_columns[] = {
    {"rate", OVERRIDE_NUMBER, 1},   {"rate_shape", OVERRIDE_NUMBER, 0},
    {"active_from", OVERRIDE_DATE, -1}, {"opens", OVERRIDE_NUMBER, 1},
    {"cap", OVERRIDE_WHOLE, 1},         {"note", OVERRIDE_TEXT, 0},
};
static const key_info pseudo_keys[] = {
    {"rate_factor", OVERRIDE_NUMBER, 1},
    {"extra_sites", OVERRIDE_WHOLE, 1},
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

static const key_info *find_key(const key_info *keys, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i].name) == len && !strncmp(keys[i].name, name, len))
            return &keys[i];
    return NULL;
}

/* The key of "KEY=VALUE" (its length) and the value; a site key is "SITE.COLUMN", the site
 * being everything before the last dot. */
typedef struct parsed {
    const char *key, *value;
    size_t key_len;
    const key_info *info;
    const char *site;            /* SITE.COLUMN: the site (site_len bytes) */
    size_t site_len;
    int is_trial, is_pseudo;
} parsed;

static int parse_one(const char *text, parsed *p)
{
    const char *eq = strchr(text, '=');
    memset(p, 0, sizeof *p);
    if (!eq || eq == text)
        return -1;
    p->key = text;
    p->key_len = (size_t)(eq - text);
    p->value = eq + 1;
    if ((p->info = find_key(trial_keys, COUNT(trial_keys), text, p->key_len))) {
        p->is_trial = 1;
        return 0;
    }
    if ((p->info = find_key(pseudo_keys, COUNT(pseudo_keys), text, p->key_len))) {
        p->is_pseudo = 1;
        return 0;
    }
    const char *dot = NULL;
    for (const char *c = text; c < eq; c++)
        if (*c == '.')
            dot = c;
    if (!dot || dot == text)
        return -1;
    p->site = text;
    p->site_len = (size_t)(dot - text);
    p->info = find_key(site_columns, COUNT(site_columns), dot + 1, (size_t)(eq - dot - 1));
    return p->info ? 0 : -1;
}

override_kind overrides_kind(const char *key, int *direction)
{
    char text[512];
    parsed p;
    snprintf(text, sizeof text, "%s=", key);
    if (parse_one(text, &p) != 0) {
        *direction = 0;
        return OVERRIDE_UNKNOWN;
    }
    *direction = p.info->direction;
    return p.info->kind;
}

/* The keys an override may set, as the refusals of an unknown one list them. */
#define KEYS_EXPECTED "a trial key (as in trial.csv), SITE.COLUMN (rate, rate_shape, " \
                      "active_from, opens, cap, note), rate_factor or extra_sites"

int overrides_check(const scenario_overrides *ov, char *err, size_t errlen)
{
    for (size_t i = 0; i < ov->n; i++) {
        parsed p;
        if (parse_one(ov->set[i], &p) != 0) {
            snprintf(err, errlen,
                     "--set %s: unknown key; expected KEY=VALUE with KEY " KEYS_EXPECTED,
                     ov->set[i]);
            return -1;
        }
        if (p.is_pseudo && !strcmp(p.info->name, "extra_sites") && !ov->like) {
            snprintf(err, errlen, "--set %s: extra_sites needs --like SITE, the site whose row "
                     "the new sites copy", ov->set[i]);
            return -1;
        }
    }
    return 0;
}

/* ---- overrides.csv ---- */

void overrides_file_free(overrides_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->set[i]);
    free(f->like);
    memset(f, 0, sizeof *f);
}

/* A field as written by accrue's tables: a leading ' before =, +, - or @ is quoting. */
static const char *unquoted(const char *field)
{
    return field[0] == '\'' && field[1] && strchr("=+-@", field[1]) ? field + 1 : field;
}

static int file_fail(const char *path, size_t line, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s:%zu: %s", path, line, what);
    return -1;
}

int overrides_file_parse(const char *path, const char *text, size_t len, overrides_file *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    csvtab *t = csvtab_parse(path, text, len, err, errlen);
    if (!t)
        return -1;
    int rc = 0;
    const csv_row *h = &t->row[0];
    if (h->nfields != 3 || strcmp(h->field[0], "option") || strcmp(h->field[1], "key") ||
        strcmp(h->field[2], "value"))
        rc = file_fail(path, h->line, err, errlen,
                       "header is not option,key,value; expected the header inputs/ writes");
    for (size_t r = 1; rc == 0 && r < t->nrows; r++) {
        const csv_row *row = &t->row[r];
        const char *key = row->nfields > 1 ? unquoted(row->field[1]) : "";
        const char *value = row->nfields > 2 ? unquoted(row->field[2]) : "";
        char what[512];
        if (!strcmp(row->field[0], "like")) {
            if (key[0] || !value[0]) {
                rc = file_fail(path, row->line, err, errlen, "a like row is `like,,SITE`; "
                               "expected an empty key and the site extra_sites copies");
            } else {
                free(out->like);
                if (!(out->like = strdup(value)))
                    rc = file_fail(path, row->line, err, errlen, "out of memory; expected "
                                   "enough memory to read the overrides");
            }
        } else if (!strcmp(row->field[0], "set")) {
            char *kv = malloc(strlen(key) + strlen(value) + 2);
            if (!kv || out->n == OVERRIDES_FILE_MAX_ROWS) {
                free(kv);
                rc = file_fail(path, row->line, err, errlen,
                               kv ? "more than 64 set rows; expected at most 64"
                                  : "out of memory; expected enough memory to read the "
                                    "overrides");
                break;
            }
            sprintf(kv, "%s=%s", key, value);
            out->set[out->n++] = kv;
            int direction;
            if (overrides_kind(key, &direction) == OVERRIDE_UNKNOWN) {
                snprintf(what, sizeof what, "key `%s` is unknown; expected " KEYS_EXPECTED,
                         scenario_show(key).s);
                rc = file_fail(path, row->line, err, errlen, what);
            }
        } else {
            snprintf(what, sizeof what, "option `%s` is unknown; expected set or like",
                     scenario_show(row->field[0]).s);
            rc = file_fail(path, row->line, err, errlen, what);
        }
    }
    csvtab_free(t);
    if (rc != 0)
        overrides_file_free(out);
    return rc;
}

/* ---- editing tables ---- */

static char *copy_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* Replaces field f of row r with text (copied). */
static int set_field(csv_row *r, size_t f, const char *text, size_t len)
{
    char *c = copy_n(text, len);
    if (!c)
        return -1;
    free(r->field[f]);
    r->field[f] = c;
    return 0;
}

/* Appends a row of n fields, all empty, marked as an override's; returns it or NULL. */
static csv_row *append_row(csvtab *t, size_t n)
{
    csv_row *rows = realloc(t->row, (t->nrows + 1) * sizeof *rows);
    if (!rows)
        return NULL;
    t->row = rows;
    csv_row *r = &t->row[t->nrows];
    r->line = OVERRIDE_LINE;
    r->nfields = n;
    r->field = calloc(n ? n : 1, sizeof *r->field);
    if (!r->field)
        return NULL;
    for (size_t f = 0; f < n; f++)
        if (!(r->field[f] = copy_n("", 0)))
            return NULL;
    t->nrows++;
    return r;
}

/* Adds a column named `name` to every row (empty but in the header). Returns its index. */
static long add_column(csvtab *t, const char *name)
{
    for (size_t i = 0; i < t->nrows; i++) {
        csv_row *r = &t->row[i];
        char **f = realloc(r->field, (r->nfields + 1) * sizeof *f);
        if (!f)
            return -1;
        r->field = f;
        if (!(f[r->nfields] = copy_n(i == 0 ? name : "", i == 0 ? strlen(name) : 0)))
            return -1;
        r->nfields++;
    }
    return (long)t->row[0].nfields - 1;
}

static long column_of(const csvtab *t, const char *name)
{
    if (t->nrows == 0)
        return -1;
    for (size_t f = 0; f < t->row[0].nfields; f++)
        if (!strcmp(t->row[0].field[f], name))
            return (long)f;
    return -1;
}

int overrides_apply_trial(csvtab *trial, const scenario_overrides *ov, char *err, size_t errlen)
{
    for (size_t i = 0; i < ov->n; i++) {
        parsed p;
        if (parse_one(ov->set[i], &p) != 0 || !p.is_trial)
            continue;
        csv_row *row = NULL;
        for (size_t r = 1; r < trial->nrows && !row; r++)
            if (trial->row[r].nfields >= 2 && !strcmp(trial->row[r].field[0], p.info->name))
                row = &trial->row[r];
        size_t width = trial->nrows ? trial->row[0].nfields : 2;
        if (!row && !(row = append_row(trial, width < 2 ? 2 : width)))
            goto oom;
        if (set_field(row, 0, p.info->name, strlen(p.info->name)) != 0 ||
            set_field(row, 1, p.value, strlen(p.value)) != 0)
            goto oom;
        row->line = OVERRIDE_LINE;
    }
    return 0;
oom:
    snprintf(err, errlen, "--set: out of memory; expected enough memory for the overrides");
    return -1;
}

/* The row of the site named (len bytes) in the sites table, or NULL. */
static csv_row *site_row(csvtab *sites, long name_col, const char *name, size_t len)
{
    for (size_t r = 1; r < sites->nrows; r++) {
        csv_row *row = &sites->row[r];
        if ((size_t)name_col < row->nfields && strlen(row->field[name_col]) == len &&
            !strncmp(row->field[name_col], name, len))
            return row;
    }
    return NULL;
}

/* Every site's rate times factor (written with 17 significant digits, so that the loader reads
 * the product back exactly). */
static int scale_rates(csvtab *sites, long rate_col, double factor)
{
    for (size_t r = 1; r < sites->nrows; r++) {
        csv_row *row = &sites->row[r];
        char *end, buf[64];
        if ((size_t)rate_col >= row->nfields)
            continue;
        double v = strtod(row->field[rate_col], &end);
        if (end == row->field[rate_col] || *end)
            continue;   /* a bad rate stays as it is, for the loader to refuse */
        snprintf(buf, sizeof buf, "%.17g", v * factor);
        if (set_field(row, (size_t)rate_col, buf, strlen(buf)) != 0)
            return -1;
        row->line = OVERRIDE_LINE;
    }
    return 0;
}

/* n more rows copying the like site's, named LIKE+1 .. LIKE+n. */
static int add_sites(csvtab *sites, long name_col, const char *like, long n)
{
    csv_row *src = site_row(sites, name_col, like, strlen(like));
    if (!src)
        return -2;
    size_t at = (size_t)(src - sites->row);
    for (long k = 1; k <= n; k++) {
        size_t width = sites->row[at].nfields;
        csv_row *row = append_row(sites, width);
        if (!row)
            return -1;
        src = &sites->row[at];   /* append_row may move the rows */
        for (size_t f = 0; f < width; f++) {
            char name[512];
            const char *text = src->field[f];
            if ((long)f == name_col) {
                snprintf(name, sizeof name, "%s+%ld", like, k);
                text = name;
            }
            if (set_field(row, f, text, strlen(text)) != 0)
                return -1;
        }
    }
    return 0;
}

int overrides_apply_sites(csvtab *sites, const scenario_overrides *ov, char *err, size_t errlen)
{
    long name_col = column_of(sites, "site"), rate_col = column_of(sites, "rate");
    for (size_t i = 0; i < ov->n; i++) {
        parsed p;
        if (parse_one(ov->set[i], &p) != 0 || p.is_trial)
            continue;
        if (name_col < 0 || rate_col < 0)
            return 0;   /* the loader will refuse the header */
        if (p.is_pseudo && !strcmp(p.info->name, "rate_factor")) {
            char *end;
            double f = strtod(p.value, &end);
            if (end == p.value || *end || !isfinite(f) || f < 0.0) {
                snprintf(err, errlen, "--set %s: expected a number >= 0", ov->set[i]);
                return -1;
            }
            if (scale_rates(sites, rate_col, f) != 0)
                goto oom;
        } else if (p.is_pseudo) {   /* extra_sites */
            char *end;
            long n = strtol(p.value, &end, 10);
            if (end == p.value || *end || n < 0 || n > 10000) {
                snprintf(err, errlen, "--set %s: expected a whole number from 0 to 10000",
                         ov->set[i]);
                return -1;
            }
            int rc = add_sites(sites, name_col, ov->like, n);
            if (rc == -2) {
                snprintf(err, errlen, "--like %s: no such site in sites.csv", ov->like);
                return -1;
            }
            if (rc != 0)
                goto oom;
        } else {
            csv_row *row = site_row(sites, name_col, p.site, p.site_len);
            if (!row) {
                snprintf(err, errlen, "--set %s: no site '%.*s' in sites.csv", ov->set[i],
                         (int)p.site_len, p.site);
                return -1;
            }
            size_t at = (size_t)(row - sites->row);
            long col = column_of(sites, p.info->name);
            if (col < 0 && (col = add_column(sites, p.info->name)) < 0)
                goto oom;
            row = &sites->row[at];
            if (set_field(row, (size_t)col, p.value, strlen(p.value)) != 0)
                goto oom;
            row->line = OVERRIDE_LINE;
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "--set: out of memory; expected enough memory for the overrides");
    return -1;
}
