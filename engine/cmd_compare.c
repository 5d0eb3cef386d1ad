/* accrue compare SCENARIO...: one table, one row per scenario (DESIGN.md section 4): P(success)
 * with its SE and the exact value where one exists, the mean and the 10/50/90 % points of the
 * count at the deadline, and the median completion date; with --out DIR, compare.csv. Every
 * scenario runs with the same options (seed, trials, overrides). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

void compare_row_fill(compare_row *row, const scenario *s, const char *source,
                      const sim_result *r)
{
    snprintf(row->name, sizeof row->name, "%s", s->name);
    const char *src = source ? source : "protocol-plan (built in)";
    size_t len = strlen(src);
    while (len > 1 && src[len - 1] == '/')
        len--;
    const char *base = src;
    for (size_t i = 0; i + 1 < len; i++)
        if (src[i] == '/')
            base = src + i + 1;
    snprintf(row->folder, sizeof row->folder, "%.*s", (int)(len - (size_t)(base - src)), base);
    row->p = r->p_success.mean;
    row->se = r->p_success.se;
    row->mean = r->mean.mean;
    /* The count's points as quantiles.csv has them (the conditional distribution's). */
    row->q10 = report_deadline_quantile(r, 0.10);
    row->q50 = report_deadline_quantile(r, 0.50);
    row->q90 = report_deadline_quantile(r, 0.90);
    size_t slot = hist_quantile(&r->completion, 0.5);
    row->censored = slot == 0 ? "before" : slot > (size_t)r->n_days ? "after" : "";
    row->median[0] = '\0';
    if (!row->censored[0])
        date_format(s->as_of + (date_t)slot - 1, row->median);
}

static int compare_one(const options *o, size_t k, compare_row *row)
{
    char err[ERRLEN] = "", exact_err[ERRLEN] = "";
    scenario *s = cli_load(o, k);
    if (!s)
        return EXIT_USAGE;
    model *m = model_prepare(s, err, sizeof err);
    int rc = 0;
    if (!m) {
        fprintf(stderr, "accrue: %s: %s\n", s->source, err);
        scenario_free(s);
        return 1;
    }
    double exact_mean;
    row->has_exact = cli_exact_check(m, s, &row->exact, &exact_mean, exact_err,
                                     sizeof exact_err) == 0;
    sim_model sim = model_sim(m);
    double seconds;
    sim_result *r = cli_simulate(o, &sim, o->trials, &seconds, err, sizeof err);
    if ((rc = cli_simulation_status(r, err)) == 0)
        compare_row_fill(row, s, k < o->n_scenarios ? o->scenario[k] : NULL, r);
    sim_result_free(r);
    model_free(m);
    scenario_free(s);
    return rc;
}

typedef struct compare_out {
    const compare_row *rows;
    size_t n;
} compare_out;

/* A CSV field, quoted, with its quotes doubled. */
static void csv_text(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void compare_write_csv(FILE *f, const compare_row *rows, size_t n)
{
    const compare_out c0 = {rows, n}, *c = &c0;
    fprintf(f, "scenario,folder,p_success,p_success_se,p_success_exact,mean_enrolled,q10,q50,q90,"
               "completion_median,completion_censored\n");
    for (size_t i = 0; i < c->n; i++) {
        const compare_row *r = &c->rows[i];
        csv_text(f, r->name);
        fputc(',', f);
        csv_text(f, r->folder);
        fprintf(f, ",%.6g,%.3g,", r->p, r->se);
        if (r->has_exact)
            fprintf(f, "%.8f", r->exact);
        fprintf(f, ",%.6g,%zu,%zu,%zu,%s,%s\n", r->mean, r->q10, r->q50, r->q90, r->median,
                r->censored);
    }
}

static void compare_csv(FILE *f, const void *arg)
{
    const compare_out *c = arg;
    compare_write_csv(f, c->rows, c->n);
}

static const char *const compare_files[] = {"compare.csv", NULL};

int cmd_compare(const options *o)
{
    size_t n = o->n_scenarios ? o->n_scenarios : 1;
    if (o->out && cli_check_out_dir(o) != 0)
        return EXIT_USAGE;
    compare_row *rows = calloc(n, sizeof *rows);
    int rc = rows ? 0 : 1;
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = compare_one(o, k, &rows[k]);
    if (rc == 0) {
        printf("%llu trials a scenario, seed %llu\n\n", (unsigned long long)o->trials,
               (unsigned long long)o->seed);
        /* Within 80 columns: a folder name beyond 20 characters is cut (compare.csv has it
         * whole). */
        printf("%-20s %7s %8s %7s %6s %10s  %s\n", "scenario", "P", "SE", "exact", "mean",
               "10-50-90 %", "median date");
        for (size_t i = 0; i < n; i++) {
            const compare_row *r = &rows[i];
            char exact[16] = "-", band[32];
            if (r->has_exact)
                snprintf(exact, sizeof exact, "%.4f", r->exact);
            snprintf(band, sizeof band, "%zu-%zu-%zu", r->q10, r->q50, r->q90);
            printf("%-20.20s %7.4f %8.2g %7s %6.2f %10s  %s\n", r->folder, r->p, r->se, exact,
                   r->mean, band, r->censored[0] ? (r->censored[0] == 'a' ? "beyond horizon"
                                                                          : "already met")
                                                 : r->median);
        }
        if (!cli_report_reached_stdout())
            rc = 1;
    }
    if (rc == 0 && o->out) {
        compare_out c = {rows, n};
        cli_file file = {"compare.csv", compare_csv, &c};
        rc = cli_write_files(o, compare_files, &file, 1);
        if (rc == 0)
            printf("\nTable written to %s/\n", o->out);
    }
    free(rows);
    return rc;
}
