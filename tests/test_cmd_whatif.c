/* End-to-end tests of what-if without editing files (issue 16; engine/cmd_whatif.c,
 * models/overrides.c): `--set KEY=VALUE` on run and exact, `accrue sweep` and `accrue solve`,
 * run through the binary and checked against the exact mode computed here through the library
 * (scenario_load_with / scenario_load + exact_deadline_dist, with no work limit).
 *
 * Statistical assertions and the family-wise false-alarm rate. Each Monte Carlo P(success) is
 * a mean over >= 50,000 trials, normal by the central limit theorem (its SE as reported; a
 * survey of 90 sweep points over 30 seeds gave z-scores of RMS 0.88, largest 2.6). A check
 * "within 4 SE" (two-sided) fails by chance with probability 2 Phi(-4) = 6.3e-5, a one-sided
 * one with Phi(-4) = 3.2e-5. The chance ones here (a correct program failing):
 *   test_sweep_one_key            3 points, two-sided           1.9e-4
 *   test_sweep_grid               4 points, two-sided           2.5e-4
 *   test_solve_simulated          2 one-sided + 1 two-sided     1.3e-4
 *   test_solve_whole_number       2 one-sided (exact mode)      6.3e-5
 *   test_common_random_numbers    F(19,19) < 1/5 (see there)    4.8e-4
 * By the union bound, a correct program fails this file by chance with probability below
 * 1.2e-3 (about 1 in 900) over the seeds; with the fixed seeds below it is deterministic.
 * Every other assertion is exact (identical numbers, rounding of printed digits only). */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "svg_check.h"
#include "../engine/date.h"
#include "../models/exact.h"
#include "../models/overrides.h"
#include "../models/scenario.h"

#ifndef ACCRUE_BIN
#define ACCRUE_BIN "build/accrue"
#endif

#define SELF_PAY "scenarios/self-pay"
/* self-pay with experienced-site-2 opening on a uniform day of its first two years: the exact
 * mode applies without a work limit but is beyond what a what-if step spends (the solves of
 * (b) and (c) simulate). */
#define LATE_SITE "tests/whatif/self-pay-late-site"

/* ---- running the binary (as tests/test_cli.c) ---- */

static char output[1 << 16];

/* Runs the binary with args through the shell, capturing stdout and stderr together into
 * `output`; returns the exit status. */
static int accrue(const char *fmt, ...)
{
    char args[4096], cmd[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", ACCRUE_BIN, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *make_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/accrue-whatif-XXXXXX");
    assert_non_null(mkdtemp(buf));
    return buf;
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The whole of DIR/NAME, NUL-terminated (the caller frees), or NULL. */
static char *slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    for (size_t got; (got = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (cap - n - 1 == 0) {
            b = realloc(b, cap *= 2);
            assert_non_null(b);
        }
    }
    b[n] = '\0';
    fclose(f);
    return b;
}

/* The number printed right after `label` in `text`. */
static double number_after(const char *text, const char *label)
{
    const char *at = strstr(text, label);
    if (!at)
        print_error("missing '%s' in:\n%s\n", label, text);
    assert_non_null(at);
    char *end;
    double v = strtod(at + strlen(label), &end);
    assert_true(end > at + strlen(label));
    return v;
}

/* The value of KEY in a key,value table (summary.csv). */
static double summary_value(const char *summary, const char *key)
{
    char label[128];
    snprintf(label, sizeof label, "\n%s,", key);
    return number_after(summary, label);
}

/* ---- CSV rows of sweep.csv and solve.csv (no quoted fields in them) ---- */

#define MAX_FIELDS 16
#define MAX_ROWS 16

typedef struct table {
    char *text;
    size_t nrows;                       /* data rows, header excluded */
    char *header;
    char *field[MAX_ROWS][MAX_FIELDS];
    size_t nfields[MAX_ROWS];
} table;

static void read_table(const char *dir, const char *name, table *t)
{
    memset(t, 0, sizeof *t);
    t->text = slurp(dir, name);
    assert_non_null(t->text);
    char *save = NULL, *line = strtok_r(t->text, "\n", &save);
    assert_non_null(line);
    t->header = line;
    while ((line = strtok_r(NULL, "\n", &save))) {
        assert_true(t->nrows < MAX_ROWS);
        size_t r = t->nrows++;
        /* split on commas, keeping empty fields */
        char *p = line;
        for (;;) {
            assert_true(t->nfields[r] < MAX_FIELDS);
            t->field[r][t->nfields[r]++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = '\0';
            p = c + 1;
        }
    }
}

static double num(const table *t, size_t row, size_t col)
{
    assert_true(row < t->nrows && col < t->nfields[row]);
    char *end;
    double v = strtod(t->field[row][col], &end);
    assert_true(end != t->field[row][col] && *end == '\0');
    return v;
}

/* ---- the exact mode through the library ---- */

/* P(N >= target) of s, exactly, with no work limit. */
static double exact_p(const scenario *s)
{
    char err[1024] = "";
    exact_dist d;
    if (exact_deadline_dist(s, &d, err, sizeof err) != 0)
        print_error("exact: %s\n", err);
    assert_true(d.pmf != NULL);
    double p = exact_p_at_least(&d, s->target);
    exact_dist_free(&d);
    return p;
}

static scenario *load_with(const char *dir, const char *const *set, size_t n, const char *like)
{
    char err[1024] = "";
    scenario_overrides ov = {set, n, like};
    scenario *s = scenario_load_with(dir, &ov, err, sizeof err);
    if (!s)
        print_error("load: %s\n", err);
    assert_non_null(s);
    return s;
}

/* Exact P(success) of dir with the overrides (the library's own route for --set). */
static double exact_with(const char *dir, const char *const *set, size_t n, const char *like)
{
    scenario *s = load_with(dir, set, n, like);
    double p = exact_p(s);
    scenario_free(s);
    return p;
}

/* Exact P(success) of dir with one override "KEY=VALUE" built from a format. */
static double exact_with1(const char *dir, const char *like, const char *fmt, ...)
{
    char a[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a, sizeof a, fmt, ap);
    va_end(ap);
    const char *set[1] = {a};
    return exact_with(dir, set, 1, like);
}

static scenario *load_plain(const char *dir)
{
    char err[1024] = "";
    scenario *s = scenario_load(dir, err, sizeof err);
    if (!s)
        print_error("load: %s\n", err);
    assert_non_null(s);
    return s;
}

static char *xstrdup(const char *s)
{
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

/* ===================================================================================== */
/* 1. --set                                                                              */
/* ===================================================================================== */

/* A trial key: `exact --set selfpay_consent=0.4` prints the P that the exact mode gives for
 * the scenario with consent fixed at 0.4, computed here two ways: through scenario_load_with
 * (the library's override route) and by loading the scenario unchanged and setting the field
 * in the struct (independent of models/overrides.c). The printed value has 8 decimals
 * (rounding 5e-9); 1e-6 leaves room for nothing else, the computations being the same. */
static void test_set_trial_key(void **state)
{
    (void)state;
    assert_int_equal(accrue("exact " SELF_PAY " --set selfpay_consent=0.4"), 0);
    double printed = number_after(output, "Probability of reaching 12 by 2029-07-18: ");
    /* The assumptions wrap at 80 columns: the value may start a continuation line. */
    assert_non_null(strstr(output, "probability 0.4\n"));

    const char *set[] = {"selfpay_consent=0.4"};
    double via_overrides = exact_with(SELF_PAY, set, 1, NULL);
    scenario *s = load_plain(SELF_PAY);
    double base = exact_p(s);
    s->selfpay_consent = (prob_spec){.is_beta = false, .value = 0.4};
    double via_struct = exact_p(s);
    scenario_free(s);

    print_message("selfpay_consent=0.4: printed %.8f, library %.8f / %.8f (base %.8f)\n",
                  printed, via_overrides, via_struct, base);
    assert_true(fabs(printed - via_overrides) < 1e-6);
    assert_true(fabs(printed - via_struct) < 1e-6);
    assert_true(fabs(via_overrides - via_struct) < 1e-12);
    assert_true(base - printed > 0.05);   /* the override did change the answer */
}

/* SITE.COLUMN: a rate, a first day, and a column the file does not have (opens, added by the
 * override), against the same edits made to the struct. 8 printed decimals: 1e-6. */
static void test_set_site_column(void **state)
{
    (void)state;
    assert_int_equal(accrue("exact " SELF_PAY " --set new-site-1.rate=3 --set "
                            "new-site-2.opens=0.5 --set new-site-3.active_from=2027-01-01"),
                     0);
    double printed = number_after(output, "Probability of reaching 12 by 2029-07-18: ");
    const char *set[] = {"new-site-1.rate=3", "new-site-2.opens=0.5",
                         "new-site-3.active_from=2027-01-01"};
    double via_overrides = exact_with(SELF_PAY, set, 3, NULL);

    scenario *s = load_plain(SELF_PAY);
    double base = exact_p(s);
    date_t d;
    assert_int_equal(date_parse("2027-01-01", &d), 0);
    size_t found = 0;
    for (size_t i = 0; i < s->n_sites; i++) {
        if (!strcmp(s->site[i].name, "new-site-1")) {
            s->site[i].rate = 3.0;
            found++;
        } else if (!strcmp(s->site[i].name, "new-site-2")) {
            s->site[i].opens = 0.5;
            found++;
        } else if (!strcmp(s->site[i].name, "new-site-3")) {
            s->site[i].active_from = s->site[i].active_to = d;
            found++;
        }
    }
    assert_int_equal(found, 3);
    double via_struct = exact_p(s);
    scenario_free(s);

    print_message("SITE.COLUMN: printed %.8f, library %.8f / %.8f (base %.8f)\n", printed,
                  via_overrides, via_struct, base);
    assert_true(fabs(printed - via_overrides) < 1e-6);
    assert_true(fabs(printed - via_struct) < 1e-6);
    assert_true(fabs(printed - base) > 1e-3);

    /* the rate shows in the assumptions */
    assert_non_null(strstr(output, "new-site-1                           3/year"));
}

/* rate_factor=f is the scenario with every rate times f: a copy of the scenario written here
 * with the rates multiplied (17 significant digits, as exact as the override's own) gives
 * byte-identical tables on the same seed, and the same exact distribution. */
/* Removes from text the line starting with `key` (the whole line and its newline). */
static void drop_line(char *text, const char *key)
{
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (!strncmp(line, key, strlen(key))) {
            if (next)
                memmove(line, next + 1, strlen(next + 1) + 1);
            else
                *line = '\0';
            return;
        }
        line = next ? next + 1 : NULL;
    }
}

static void test_set_rate_factor(void **state)
{
    (void)state;
    const double f = 1.7;
    char tmp[64], scen[128], out1[128], out2[128], path[256];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(scen, sizeof scen, "%s/scaled", tmp);
    snprintf(out1, sizeof out1, "%s/out-set", tmp);
    snprintf(out2, sizeof out2, "%s/out-copy", tmp);
    assert_int_equal(mkdir(scen, 0755), 0);

    /* trial.csv as it is; sites.csv with the rates times f */
    char *trial = slurp(SELF_PAY, "trial.csv");
    assert_non_null(trial);
    snprintf(path, sizeof path, "%s/trial.csv", scen);
    FILE *w = fopen(path, "wb");
    assert_non_null(w);
    fputs(trial, w);
    assert_int_equal(fclose(w), 0);
    free(trial);
    scenario *s = load_plain(SELF_PAY);
    snprintf(path, sizeof path, "%s/sites.csv", scen);
    w = fopen(path, "wb");
    assert_non_null(w);
    fprintf(w, "site,rate,rate_shape,active_from,opens\n");
    for (size_t i = 0; i < s->n_sites; i++) {
        const site_spec *st = &s->site[i];
        char day[11];
        assert_int_equal(st->n_steps, 0);
        assert_int_equal(st->active_to, st->active_from);
        date_format(st->active_from, day);
        fprintf(w, "%s,%.17g,", st->name, st->rate * f);
        if (st->shape > 0.0)
            fprintf(w, "%.17g", st->shape);
        fprintf(w, ",%s,%.17g\n", day, st->opens);
    }
    assert_int_equal(fclose(w), 0);
    scenario_free(s);

    assert_int_equal(accrue("run " SELF_PAY " --set rate_factor=1.7 --trials 100000 --seed 5 "
                            "--quiet --out %s", out1), 0);
    assert_int_equal(accrue("run %s --trials 100000 --seed 5 --quiet --out %s", scen, out2), 0);
    static const char *files[] = {"summary.csv", "enrolled_at_deadline.csv", "quantiles.csv",
                                  "completion.csv", "checkpoints.csv", "sites.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *a = slurp(out1, files[i]), *b = slurp(out2, files[i]);
        assert_non_null(a);
        assert_non_null(b);
        /* summary.csv records where the scenario came from and its overrides: the only lines
         * that must differ between the two runs. */
        drop_line(a, "source,");
        drop_line(b, "source,");
        drop_line(a, "overrides,");
        drop_line(b, "overrides,");
        if (strcmp(a, b))
            print_error("%s differs between --set rate_factor=1.7 and the scaled copy\n",
                        files[i]);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }

    /* the exact mode: the same distribution, and a changed answer */
    const char *set[] = {"rate_factor=1.7"};
    scenario *a = load_with(SELF_PAY, set, 1, NULL), *b = load_plain(scen);
    assert_int_equal(a->n_sites, b->n_sites);
    for (size_t i = 0; i < a->n_sites; i++)
        assert_true(a->site[i].rate == b->site[i].rate);
    exact_dist da, db;
    assert_int_equal(exact_deadline_dist(a, &da, NULL, 0), 0);
    assert_int_equal(exact_deadline_dist(b, &db, NULL, 0), 0);
    assert_int_equal(da.len, db.len);
    for (size_t n = 0; n < da.len; n++)
        assert_true(fabs(da.pmf[n] - db.pmf[n]) < 1e-15);
    double pa = exact_p_at_least(&da, a->target);
    exact_dist_free(&da);
    exact_dist_free(&db);
    scenario_free(a);
    scenario_free(b);
    assert_int_equal(accrue("exact " SELF_PAY " --set rate_factor=1.7"), 0);
    double printed = number_after(output, "Probability of reaching 12 by 2029-07-18: ");
    print_message("rate_factor=1.7: printed %.8f, library %.8f\n", printed, pa);
    assert_true(fabs(printed - pa) < 1e-6);
    assert_true(pa - exact_with(SELF_PAY, NULL, 0, NULL) > 0.05);
    remove_tree(tmp);
}

/* extra_sites=N with --like SITE: N more rows copying SITE, named SITE+1 .. SITE+N, in the
 * report, in sites.csv and in the scenario as loaded; the run's exact value (6 printed
 * decimals, rounding 5e-7, so 1e-6) is that of the scenario with the copies added by hand. */
static void test_set_extra_sites(void **state)
{
    (void)state;
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(accrue("run " SELF_PAY " --set extra_sites=2 --like new-site-1 --trials "
                            "50000 --quiet --out %s", out), 0);
    assert_non_null(strstr(output, "Sites         7,"));
    assert_non_null(strstr(output, "\n  new-site-1+1 "));
    assert_non_null(strstr(output, "\n  new-site-1+2 "));
    assert_null(strstr(output, "new-site-1+3"));
    double printed = number_after(output, "exact (no simulation): ");
    char *sites = slurp(out, "sites.csv");
    assert_non_null(sites);
    assert_non_null(strstr(sites, "\n\"new-site-1+1\","));
    assert_non_null(strstr(sites, "\n\"new-site-1+2\","));
    free(sites);

    const char *set[] = {"extra_sites=2"};
    scenario *s = load_with(SELF_PAY, set, 1, "new-site-1");
    assert_int_equal(s->n_sites, 7);
    const site_spec *like = NULL;
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(s->site[i].name, "new-site-1"))
            like = &s->site[i];
    assert_non_null(like);
    assert_string_equal(s->site[5].name, "new-site-1+1");
    assert_string_equal(s->site[6].name, "new-site-1+2");
    for (size_t i = 5; i < 7; i++) {
        assert_true(s->site[i].rate == like->rate);
        assert_true(s->site[i].shape == like->shape);
        assert_int_equal(s->site[i].active_from, like->active_from);
    }
    double via_overrides = exact_p(s);
    scenario_free(s);

    /* by hand: the plain scenario with two copies of new-site-1 appended */
    s = load_plain(SELF_PAY);
    size_t n = s->n_sites, at = n;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s->site[i].name, "new-site-1"))
            at = i;
    assert_true(at < n);
    site_spec *grown = realloc(s->site, (n + 2) * sizeof *grown);
    assert_non_null(grown);
    s->site = grown;
    for (size_t k = 0; k < 2; k++) {
        site_spec c = s->site[at];
        assert_int_equal(c.n_steps, 0);
        c.name = xstrdup(k == 0 ? "copy-a" : "copy-b");
        c.note = xstrdup("");
        s->site[n + k] = c;
    }
    s->n_sites = n + 2;
    double by_hand = exact_p(s);
    scenario_free(s);

    print_message("extra_sites=2: run's exact %.6f, library %.8f / %.8f\n", printed,
                  via_overrides, by_hand);
    assert_true(fabs(via_overrides - by_hand) < 1e-12);
    assert_true(fabs(printed - by_hand) < 1e-6);
    assert_true(by_hand - exact_with(SELF_PAY, NULL, 0, NULL) > 0.01);
    remove_tree(tmp);
}

/* Every override is listed under "Overrides" in run's assumptions, in order, extra_sites with
 * its --like site. */
static void test_overrides_listed(void **state)
{
    (void)state;
    assert_int_equal(accrue("run " SELF_PAY " --set selfpay_consent=0.4 --set rate_factor=1.5 "
                            "--set extra_sites=2 --like new-site-1 --set new-site-2.rate=1 "
                            "--trials 20000 --quiet"), 0);
    assert_non_null(strstr(output, "\nOverrides     selfpay_consent=0.4\n"
                                   "              rate_factor=1.5\n"
                                   "              extra_sites=2, like new-site-1\n"
                                   "              new-site-2.rate=1\n"));
    /* and nothing of the kind without overrides */
    assert_int_equal(accrue("run " SELF_PAY " --trials 20000 --quiet"), 0);
    assert_null(strstr(output, "Overrides"));
}

/* Bad overrides: exit 2 before anything runs, one message naming the option and the fault;
 * an --out folder is not created. */
static void test_set_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *args, *expect1, *expect2;
    } bad[] = {
        {"--set foo=1", "--set foo=1", "unknown key"},
        {"--set new-site-1.bogus=1", "--set new-site-1.bogus=1", "unknown key"},
        {"--set selfpay_consent", "--set selfpay_consent", "unknown key"},
        {"--set nosuch.rate=1", "--set nosuch.rate=1", "no site 'nosuch'"},
        {"--set selfpay_consent=2", "--set", "selfpay_consent `2`"},
        {"--set selfpay_consent=", "--set", "selfpay_consent is empty"},
        {"--set new-site-1.rate=-1", "--set", "rate `-1`"},
        {"--set target=1.5", "--set", "target `1.5`"},
        {"--set extra_sites=2", "--set extra_sites=2", "--like"},
        {"--set extra_sites=2 --like nosuch", "--like nosuch", "no such site"},
        {"--set extra_sites=-1 --like new-site-1", "--set extra_sites=-1", "whole number"},
        {"--set rate_factor=-1", "--set rate_factor=-1", ">= 0"},
        {"--set rate_factor=abc", "--set rate_factor=abc", ">= 0"},
    };
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int cmd = 0; cmd < 2; cmd++) {
            int rc = cmd == 0 ? accrue("run " SELF_PAY " %s --trials 1000 --quiet --out %s",
                                       bad[i].args, out)
                              : accrue("exact " SELF_PAY " %s", bad[i].args);
            if (rc != 2 || !strstr(output, bad[i].expect1) || !strstr(output, bad[i].expect2))
                print_error("%s %s: status %d, output:\n%s\n", cmd ? "exact" : "run",
                            bad[i].args, rc, output);
            assert_int_equal(rc, 2);
            assert_non_null(strstr(output, bad[i].expect1));
            assert_non_null(strstr(output, bad[i].expect2));
            assert_null(strstr(output, "Probability of reaching"));
            assert_false(exists(out));
        }
    }
    remove_tree(tmp);
}

/* ===================================================================================== */
/* 2. sweep                                                                              */
/* ===================================================================================== */

/* Columns of sweep.csv after the varied keys (DESIGN.md section 4, and more). */
#define SWEEP_HEADER_TAIL "p_success,p_success_se,mean_enrolled,completion_median"

/* Index of column `name` in a header line. */
static size_t column(const char *header, const char *name)
{
    size_t idx = 0, len = strlen(name);
    for (const char *p = header;; idx++) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == len && !strncmp(p, name, len))
            return idx;
        if (!c)
            break;
        p = c + 1;
    }
    print_error("no column %s in %s\n", name, header);
    fail();
    return 0;
}

/* One key, three values: the contract header, 3 rows in order, each p_success within 4 SE of
 * its p_success_exact (two-sided, 2 Phi(-4) = 6.3e-5 each, 1.9e-4 for the three; p and SE are
 * printed with 6 and 3 significant digits, rounding far below an SE), which in turn is the
 * library's exact value (printed with 8 decimals: 1e-8). The figure is there and balanced. */
static void test_sweep_one_key(void **state)
{
    (void)state;
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(accrue("sweep " SELF_PAY " --vary selfpay_consent=0.2,0.6,1 --trials "
                            "200000 --quiet --out %s", out), 0);
    assert_non_null(strstr(output, "3 points"));
    table t;
    read_table(out, "sweep.csv", &t);
    assert_memory_equal(t.header, "selfpay_consent," SWEEP_HEADER_TAIL,
                        strlen("selfpay_consent," SWEEP_HEADER_TAIL));
    assert_int_equal(t.nrows, 3);
    size_t cp = column(t.header, "p_success"), cse = column(t.header, "p_success_se"),
           cex = column(t.header, "p_success_exact"), cm = column(t.header, "mean_enrolled");
    static const double q[] = {0.2, 0.6, 1.0};
    double last = -1.0;
    for (size_t r = 0; r < 3; r++) {
        assert_true(fabs(num(&t, r, 0) - q[r]) < 1e-12);
        double p = num(&t, r, cp), se = num(&t, r, cse), ex = num(&t, r, cex);
        double lib = exact_with1(SELF_PAY, NULL, "selfpay_consent=%.17g", q[r]);
        print_message("consent %.1f: p %.6f SE %.2g exact %.8f (library %.8f) z %+.2f\n", q[r],
                      p, se, ex, lib, (p - ex) / se);
        assert_true(se > 0.0);
        assert_true(fabs(ex - lib) < 1e-8);
        assert_true(fabs(p - ex) <= 4.0 * se);
        assert_true(p > last);   /* increasing in consent: the differences are many SE */
        last = p;
        assert_true(num(&t, r, cm) > 2.0);
    }
    free(t.text);
    char *svg = slurp(out, "sweep.svg");
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    assert_true(svg_tags_balance(svg));
    free(svg);
    remove_tree(tmp);
}

/* Two keys: a 2 x 2 grid, the first key varying fastest, each point within 4 SE of the exact
 * value (4 points, 2.5e-4). rate_factor 2 with consent 0.5 and rate_factor 1 with consent 1
 * are one model (every referral thinned by q: rate x q alike), so their exact values agree. */
static void test_sweep_grid(void **state)
{
    (void)state;
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(accrue("sweep " SELF_PAY " --vary rate_factor=1,2 --vary "
                            "selfpay_consent=0.5,1 --trials 50000 --quiet --out %s", out), 0);
    table t;
    read_table(out, "sweep.csv", &t);
    assert_memory_equal(t.header, "rate_factor,selfpay_consent," SWEEP_HEADER_TAIL,
                        strlen("rate_factor,selfpay_consent," SWEEP_HEADER_TAIL));
    assert_int_equal(t.nrows, 4);
    size_t cp = column(t.header, "p_success"), cse = column(t.header, "p_success_se"),
           cex = column(t.header, "p_success_exact");
    static const double rf[] = {1, 2, 1, 2}, q[] = {0.5, 0.5, 1, 1};
    double ex[4];
    for (size_t r = 0; r < 4; r++) {
        assert_true(num(&t, r, 0) == rf[r]);
        assert_true(num(&t, r, 1) == q[r]);
        double p = num(&t, r, cp), se = num(&t, r, cse);
        ex[r] = num(&t, r, cex);
        const char *set[2];
        char a[64], b[64];
        snprintf(a, sizeof a, "rate_factor=%g", rf[r]);
        snprintf(b, sizeof b, "selfpay_consent=%g", q[r]);
        set[0] = a;
        set[1] = b;
        double lib = exact_with(SELF_PAY, set, 2, NULL);
        print_message("rate_factor %g consent %g: p %.6f SE %.2g exact %.8f z %+.2f\n", rf[r],
                      q[r], p, se, ex[r], (p - ex[r]) / se);
        assert_true(fabs(ex[r] - lib) < 1e-8);
        assert_true(fabs(p - ex[r]) <= 4.0 * se);
    }
    assert_true(fabs(ex[1] - ex[2]) < 1e-8);
    assert_true(ex[3] > ex[1] && ex[1] > ex[0]);
    free(t.text);
    char *svg = slurp(out, "sweep.svg");
    assert_non_null(svg);
    assert_true(svg_tags_balance(svg));
    free(svg);
    remove_tree(tmp);
}

/* Bad --vary: exit 2 with a message, and no --out folder. */
static void test_sweep_bad_vary(void **state)
{
    (void)state;
    static const struct {
        const char *args, *expect;
    } bad[] = {
        {"--vary selfpay_consent=a,b", "--vary selfpay_consent"},
        {"--vary selfpay_consent=1:0:0.1", "FROM:TO:STEP"},
        {"--vary selfpay_consent=0.1:0.5", "FROM:TO:STEP"},
        {"--vary selfpay_consent=0:1:0", "FROM:TO:STEP"},
        {"--vary rate_factor=", "no values"},
        {"--vary target=1.5,2", "--vary target"},
        {"--vary foo=1,2", "--vary 'foo=1,2'"},
        {"--vary name=a,b", "--vary 'name=a,b'"},
        {"--vary selfpay_consent=0.5,2", "selfpay_consent `2`"},
        {"--vary rate_factor=1,-1", "rate_factor=-1"},
        {"--vary extra_sites=1,2", "--like"},
        {"--vary rate_factor=0:1e6:1", "1000"},
        {"--vary rate_factor=1 --vary selfpay_consent=1 --vary target=3", "at most two"},
        {"", "--vary"},
    };
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = accrue("sweep " SELF_PAY " %s --trials 1000 --quiet --out %s", bad[i].args,
                        out);
        if (rc != 2 || !strstr(output, bad[i].expect))
            print_error("sweep %s: status %d, output:\n%s\n", bad[i].args, rc, output);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(output, bad[i].expect));
        assert_false(exists(out));
    }
    remove_tree(tmp);
}

/* ===================================================================================== */
/* 3. solve                                                                              */
/* ===================================================================================== */

/* (a) A key the exact mode covers at both ends: the answer is the root of
 * P_exact(selfpay_consent) = 0.3, found here by bisection on the exact mode (P increasing in
 * consent; 20 halvings of [0, 1] leave 1e-6), within 1e-4 (the solve's resolution; its value
 * is printed with 6 significant digits). */
static void test_solve_exact(void **state)
{
    (void)state;
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(accrue("solve " SELF_PAY " --for selfpay_consent --p 0.3 --quiet --out %s",
                            out), 0);
    assert_non_null(strstr(output, "with the exact mode"));
    double printed = number_after(output, "Answer: selfpay_consent = ");

    double lo = 0.0, hi = 1.0;
    double plo = exact_with1(SELF_PAY, NULL, "selfpay_consent=%.17g", lo);
    double phi = exact_with1(SELF_PAY, NULL, "selfpay_consent=%.17g", hi);
    assert_true(plo < 0.3 && phi >= 0.3);
    for (int i = 0; i < 20; i++) {
        double m = 0.5 * (lo + hi);
        if (exact_with1(SELF_PAY, NULL, "selfpay_consent=%.17g", m) >= 0.3)
            hi = m;
        else
            lo = m;
    }
    double root = 0.5 * (lo + hi);

    table t;
    read_table(out, "solve.csv", &t);
    static const char head[] = "key,p,value,value_low,value_high,p_at_value,p_at_value_se";
    assert_memory_equal(t.header, head, strlen(head));
    assert_int_equal(t.nrows, 1);
    assert_string_equal(t.field[0][0], "selfpay_consent");
    double value = num(&t, 0, column(t.header, "value"));
    print_message("solve selfpay_consent for 0.3: printed %.6f, csv %.6f, bisection %.7f\n",
                  printed, value, root);
    assert_true(fabs(printed - root) <= 1e-4);
    assert_true(fabs(value - root) <= 1e-4);
    assert_true(fabs(num(&t, 0, column(t.header, "p_at_value")) - 0.3) < 1e-6);
    assert_true(num(&t, 0, column(t.header, "p_at_value_se")) == 0.0);
    assert_string_equal(t.field[0][column(t.header, "status")], "found");
    free(t.text);
    remove_tree(tmp);
}

/* (b) A simulated solve: rate_factor for P = 0.5 at 400,000 trials, on self-pay with one
 * site's first day uncertain over two years (LATE_SITE: its 730 first days make the exact mode
 * cost more than a solve's step may spend, so the solve simulates). value_low <= value <=
 * value_high, and the exact mode (no work limit) agrees with the interval:
 * - value_high is where P_sim - 1.96 SE reaches the goal, so P_sim(value_high) ~ 0.5 + 1.96
 *   SE >= 0.5; P_exact(value_high) < 0.5 - 4 SE needs a simulation error above 4 SE (in truth
 *   5.96 SE; the margin absorbs the slope's linearisation over a bracket of width ~0.005):
 *   one-sided, Phi(-4) = 3.2e-5. Symmetrically P_exact(value_low) > 0.5 + 4 SE: 3.2e-5.
 * - P_exact(value) within 4 SE of p_at_value (two-sided, 6.3e-5).
 * 1.3e-4 in all. The SE is p_at_value_se, at the answer; the ends are within 0.01 of it in
 * rate_factor, where the SE differs by far less than its own precision. */
static void test_solve_simulated(void **state)
{
    (void)state;
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(accrue("solve " LATE_SITE " --for rate_factor --p 0.5 --trials 400000 "
                            "--quiet --out %s", out), 0);
    assert_non_null(strstr(output, "Answer: rate_factor = "));
    table t;
    read_table(out, "solve.csv", &t);
    assert_int_equal(t.nrows, 1);
    assert_string_equal(t.field[0][0], "rate_factor");
    assert_true(num(&t, 0, column(t.header, "p")) == 0.5);
    assert_string_equal(t.field[0][column(t.header, "status")], "found");
    double value = num(&t, 0, column(t.header, "value"));
    double low = num(&t, 0, column(t.header, "value_low"));
    double high = num(&t, 0, column(t.header, "value_high"));
    double p = num(&t, 0, column(t.header, "p_at_value"));
    double se = num(&t, 0, column(t.header, "p_at_value_se"));
    free(t.text);
    double ex_low = exact_with1(LATE_SITE, NULL, "rate_factor=%.17g", low);
    double ex_value = exact_with1(LATE_SITE, NULL, "rate_factor=%.17g", value);
    double ex_high = exact_with1(LATE_SITE, NULL, "rate_factor=%.17g", high);
    print_message("solve rate_factor for 0.5: %.6g (%.6g to %.6g), P %.6f SE %.3g; exact at "
                  "low %.6f value %.6f high %.6f\n", value, low, high, p, se, ex_low, ex_value,
                  ex_high);
    assert_true(se > 0.0);
    assert_true(low <= value && value <= high);
    assert_true(low < high);   /* a Monte Carlo answer has an interval of some width */
    assert_true(p >= 0.5 - 1e-6);   /* the answer reaches the goal (6 printed digits) */
    assert_true(ex_high >= 0.5 - 4.0 * se);
    assert_true(ex_low <= 0.5 + 4.0 * se);
    assert_true(fabs(ex_value - p) <= 4.0 * se);
    remove_tree(tmp);
}

/* (c) A whole-number key: extra_sites like new-site-1 for 0.5, simulated (LATE_SITE, as in
 * (b)). The answer k is whole, and
 * `run --set extra_sites=k` at the same seed and trials gives P(k) >= 0.5 - 4 SE and
 * P(k-1) < 0.5 + 4 SE: the same draws as the solve's (results depend only on scenario,
 * overrides, seed and trials), so these hold without chance, and P(k) is the solve's own
 * p_at_value. Against the exact mode the same two bounds are chance ones: one-sided
 * 3.2e-5 each, 6.3e-5. */
static void test_solve_whole_number(void **state)
{
    (void)state;
    char tmp[64], out[128], run_out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(run_out, sizeof run_out, "%s/run", tmp);
    assert_int_equal(accrue("solve " LATE_SITE " --for extra_sites --like new-site-1 --p 0.5 "
                            "--trials 200000 --seed 11 --quiet --out %s", out), 0);
    table t;
    read_table(out, "solve.csv", &t);
    assert_int_equal(t.nrows, 1);
    assert_string_equal(t.field[0][0], "extra_sites");
    const char *vtext = t.field[0][column(t.header, "value")];
    assert_true(strspn(vtext, "0123456789") == strlen(vtext));
    long k = strtol(vtext, NULL, 10);
    double solve_p = num(&t, 0, column(t.header, "p_at_value"));
    double solve_se = num(&t, 0, column(t.header, "p_at_value_se"));
    assert_true(num(&t, 0, column(t.header, "value_low")) <= (double)k);
    assert_true(num(&t, 0, column(t.header, "value_high")) >= (double)k);
    free(t.text);
    assert_true(k >= 1);

    double p[2], se[2];
    for (int j = 0; j < 2; j++) {
        remove_tree(run_out);
        assert_int_equal(accrue("run " LATE_SITE " --set extra_sites=%ld --like new-site-1 "
                                "--trials 200000 --seed 11 --quiet --out %s", k - j, run_out),
                         0);
        char *summary = slurp(run_out, "summary.csv");
        assert_non_null(summary);
        p[j] = summary_value(summary, "p_success");
        se[j] = summary_value(summary, "p_success_se");
        free(summary);
    }
    double ex_k = exact_with1(LATE_SITE, "new-site-1", "extra_sites=%ld", k);
    double ex_k1 = exact_with1(LATE_SITE, "new-site-1", "extra_sites=%ld", k - 1);
    print_message("solve extra_sites for 0.5: k = %ld; run P(k) %.6f SE %.3g, P(k-1) %.6f "
                  "SE %.3g; exact %.6f, %.6f\n", k, p[0], se[0], p[1], se[1], ex_k, ex_k1);
    assert_true(p[0] >= 0.5 - 4.0 * se[0]);
    assert_true(p[1] < 0.5 + 4.0 * se[1]);
    /* the same estimate as the solve's (both printed with 6 and 3 significant digits) */
    assert_true(p[0] == solve_p);
    assert_true(se[0] == solve_se);
    assert_true(ex_k >= 0.5 - 4.0 * se[0]);
    assert_true(ex_k1 < 0.5 + 4.0 * se[1]);
    remove_tree(tmp);
}

/* (d) Out of reach says so and exits 0 (even consent 1 gives 0.4155); keys that P does not
 * move in one direction, unknown keys and bad goals exit 2. */
static void test_solve_out_of_reach_and_refusals(void **state)
{
    (void)state;
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    assert_int_equal(accrue("solve " SELF_PAY " --for selfpay_consent --p 0.99 --quiet --out %s",
                            out), 0);
    assert_non_null(strstr(output, "Out of reach"));
    assert_null(strstr(output, "Answer:"));
    table t;
    read_table(out, "solve.csv", &t);
    assert_string_equal(t.field[0][column(t.header, "status")], "out_of_reach");
    double p_top = num(&t, 0, column(t.header, "p_at_value"));
    assert_true(fabs(p_top - exact_with1(SELF_PAY, NULL, "selfpay_consent=1")) < 1e-5);
    free(t.text);
    remove_tree(out);

    static const struct {
        const char *args, *expect;
    } bad[] = {
        {"--for review_months --p 0.5", "--for 'review_months'"},
        {"--for new-site-1.rate_shape --p 0.5", "--for 'new-site-1.rate_shape'"},
        {"--for horizon_years --p 0.5", "--for 'horizon_years'"},
        {"--for name --p 0.5", "--for 'name'"},
        {"--for foo --p 0.5", "--for 'foo'"},
        {"--for selfpay_consent --p 1.5", "--p"},
        {"--for selfpay_consent --p 0", "--p"},
        {"--for selfpay_consent", "--p"},
        {"--p 0.5", "--for"},
        {"--for rate_factor --p 0.5 --range 2:1", "--range"},
        {"--for rate_factor --p 0.5 --range 1", "--range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = accrue("solve " SELF_PAY " %s --trials 1000 --quiet --out %s", bad[i].args, out);
        if (rc != 2 || !strstr(output, bad[i].expect))
            print_error("solve %s: status %d, output:\n%s\n", bad[i].args, rc, output);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(output, bad[i].expect));
        assert_false(exists(out));
    }
    remove_tree(tmp);
}

/* ===================================================================================== */
/* 4. common random numbers                                                              */
/* ===================================================================================== */

/* The points of a sweep share their draws, so the difference between neighbouring points
 * (rate_factor 1 and 1.05, 50,000 trials) varies far less than a point. Over R = 20 seeds
 * (1..20) the sample variance of the difference d = P(1.05) - P(1), S_d^2, and over 20 other
 * seeds (21..40) that of a point, S_p^2 = var of P(1): the two sets of runs are independent,
 * so that, each P being normal, (S_p^2 / sigma_p^2) / (S_d^2 / sigma_d^2) ~ F(19, 19) exactly
 * (with the point's variance taken from the runs of the difference, the two would be
 * correlated and the F law only approximate).
 * Independent streams would give sigma_d^2 = sigma_1^2 + sigma_2^2, a ratio
 * r0 = sigma_p^2 / sigma_d^2 of about 0.5 (estimated below from the reported SEs). The test
 * asserts S_p^2 / S_d^2 > 5. Its false alarm as a test of the streams, the chance that streams
 * that do not line up pass it: Q_F(19,19)(5 / r0) = Q_F(19,19)(10) = 2.9e-6 for r0 = 0.5
 * (2.4e-6 for the r0 ~ 0.49 the SEs give), computed and printed below; a pass is strong
 * evidence of common random numbers. The other way, a correct program failing it: the
 * issue's goal (SE of a difference at most a fifth of a point's) is a true ratio >= 25, and
 * P(S_p^2 / S_d^2 <= 5 | 25) = P(F(19,19) <= 0.2) = 4.8e-4 (smaller for a larger true ratio;
 * the reported SE^2 over S_d^2 suggests ~37), counted in the header's budget. */
static void test_common_random_numbers(void **state)
{
    (void)state;
    enum { R = 20 };
    char tmp[64], out[128];
    make_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    double point[R], diff[R], se1 = 0.0, se2 = 0.0;
    for (int s = 1; s <= 2 * R; s++) {
        remove_tree(out);
        assert_int_equal(accrue("sweep " SELF_PAY " --vary rate_factor=1,1.05 --trials 50000 "
                                "--seed %d --quiet --out %s", s, out), 0);
        table t;
        read_table(out, "sweep.csv", &t);
        assert_int_equal(t.nrows, 2);
        size_t cp = column(t.header, "p_success"), cse = column(t.header, "p_success_se");
        double p1 = num(&t, 0, cp), p2 = num(&t, 1, cp);
        se1 += num(&t, 0, cse) * num(&t, 0, cse) / (2 * R);
        se2 += num(&t, 1, cse) * num(&t, 1, cse) / (2 * R);
        if (s <= R)
            diff[s - 1] = p2 - p1;
        else
            point[s - R - 1] = p1;
        free(t.text);
    }
    double mp = 0.0, md = 0.0, vp = 0.0, vd = 0.0;
    for (int i = 0; i < R; i++) {
        mp += point[i] / R;
        md += diff[i] / R;
    }
    for (int i = 0; i < R; i++) {
        vp += (point[i] - mp) * (point[i] - mp) / (R - 1);
        vd += (diff[i] - md) * (diff[i] - md) / (R - 1);
    }
    double ratio = vp / vd;
    double r0 = se1 / (se1 + se2);   /* the independent streams' ratio, from the SEs */
    double alarm_05 = gsl_cdf_fdist_Q(5.0 / 0.5, R - 1, R - 1);
    double alarm_r0 = gsl_cdf_fdist_Q(5.0 / r0, R - 1, R - 1);
    double miss_25 = gsl_cdf_fdist_P(5.0 / 25.0, R - 1, R - 1);
    print_message("CRN: var(point) %.3g (SE^2 %.3g), var(diff) %.3g, ratio %.1f (SE of a "
                  "difference %.2f of a point's); independent streams: ratio %.3f, P(ratio > 5) "
                  "%.2g (%.2g at 0.5); P(ratio <= 5 | true 25) %.2g\n", vp, se1, vd, ratio,
                  sqrt(vd / vp), r0, alarm_r0, alarm_05, miss_25);
    assert_true(md > 0.0);   /* a higher rate gives a higher P, on every seed's draws */
    assert_true(alarm_05 < 1e-5 && alarm_r0 < 1e-5);
    assert_true(ratio > 5.0);
    remove_tree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_trial_key),
        cmocka_unit_test(test_set_site_column),
        cmocka_unit_test(test_set_rate_factor),
        cmocka_unit_test(test_set_extra_sites),
        cmocka_unit_test(test_overrides_listed),
        cmocka_unit_test(test_set_bad_input),
        cmocka_unit_test(test_sweep_one_key),
        cmocka_unit_test(test_sweep_grid),
        cmocka_unit_test(test_sweep_bad_vary),
        cmocka_unit_test(test_solve_exact),
        cmocka_unit_test(test_solve_simulated),
        cmocka_unit_test(test_solve_whole_number),
        cmocka_unit_test(test_solve_out_of_reach_and_refusals),
        cmocka_unit_test(test_common_random_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
