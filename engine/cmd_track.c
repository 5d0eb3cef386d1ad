/* accrue track: the 6-monthly check the seed's applicant promised (DESIGN.md section 4). For each
 * review date of the scenario up to the last date in its history.csv, the registrations
 * observed by the end of that day against the forecast made at as_of (learned from the history
 * before as_of only): the forecast's quantiles, where the observation falls, P(N <= observed)
 * with its SE (exact where the exact mode applies), and a verdict. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "../models/history.h"

/* A verdict at one review. The forecast's 10 % and 90 % points frame the plan: fewer than the
 * 10 % quantile is "behind plan" (P(N <= observed) < 0.10), more than the 90 % quantile
 * "ahead of plan" (P(N >= observed) < 0.10). */
#define VERDICT_TAIL 0.10

typedef struct review_row {
    date_t date;
    long observed;
    size_t q10, q50, q90;
    double p_at_most, p_at_most_se;   /* P(N <= observed) */
    double p_at_least;                /* P(N >= observed), for the verdict */
    int exact;
    const char *verdict;
} review_row;

/* P(N <= observed) and P(N >= observed) at review k: exact when the exact mode applies to the
 * scenario with its deadline moved to the review (the count by a date is the count at a
 * deadline on that date), within the usual work bound; else from the simulated histogram. */
static void where_it_falls(const scenario *s, const sim_result *r, size_t k, review_row *row)
{
    scenario at = *s;
    at.deadline = row->date;
    exact_dist d;
    char err[ERRLEN];
    long obs = row->observed;
    if (exact_deadline_dist_limited(&at, CLI_EXACT_CHECK_WORK, &d, err, sizeof err) == 0) {
        row->p_at_most = 1.0 - exact_p_at_least(&d, obs + 1);
        row->p_at_least = exact_p_at_least(&d, obs);
        row->p_at_most_se = 0.0;
        row->exact = 1;
        exact_dist_free(&d);
        return;
    }
    const hist *h = &r->at_checkpoint[k];
    uint64_t above = hist_count_at_least(h, (size_t)obs + 1);
    row->p_at_most = 1.0 - (double)above / (double)r->trials;
    row->p_at_least = (double)hist_count_at_least(h, (size_t)obs) / (double)r->trials;
    row->p_at_most_se = sim_fraction_se(r->trials - above, r->trials);
    row->exact = 0;
}

static const char *verdict_of(const review_row *row)
{
    if (row->p_at_most < VERDICT_TAIL)
        return "behind plan";
    if (row->p_at_least < VERDICT_TAIL)
        return "ahead of plan";
    return "on track";
}

static const char *const track_files[] = {"track.csv", NULL};

/* track.csv: one row a review. */
typedef struct track_out {
    const review_row *rows;
    size_t n;
} track_out;

static void track_csv(FILE *f, const void *arg)
{
    const track_out *t = arg;
    char day[11];
    fprintf(f, "date,observed,q10,q50,q90,p_at_most_observed,p_at_most_observed_se,verdict,"
               "exact\n");
    for (size_t i = 0; i < t->n; i++) {
        const review_row *r = &t->rows[i];
        date_format(r->date, day);
        fprintf(f, "%s,%ld,%zu,%zu,%zu,%.6g,%.3g,%s,%s\n", day, r->observed, r->q10, r->q50,
                r->q90, r->p_at_most, r->p_at_most_se, r->verdict, r->exact ? "yes" : "no");
    }
}

static int write_track(const options *o, const review_row *rows, size_t n)
{
    track_out t = {rows, n};
    cli_file file = {"track.csv", track_csv, &t};
    return cli_write_files(o, track_files, &file, 1);
}

int cmd_track(const options *o)
{
    char err[ERRLEN] = "";
    scenario *s = cli_load(o, 0);
    if (!s)
        return EXIT_USAGE;
    if (!s->has_history || !s->learned) {
        fprintf(stderr, "accrue: %s: track needs a history.csv in the scenario folder (the "
                        "candidates seen, with their dates)\n", s->source);
        scenario_free(s);
        return EXIT_USAGE;
    }
    if (o->out && cli_check_out_dir(o) != 0) {
        scenario_free(s);
        return EXIT_USAGE;
    }
    model *m = model_prepare(s, err, sizeof err);
    if (!m) {
        fprintf(stderr, "accrue: %s\n", err);
        scenario_free(s);
        return 1;
    }
    sim_model sim = model_sim(m);
    double seconds;
    int rc = 0;
    sim_result *r = cli_simulate(o, &sim, o->trials, &seconds, err, sizeof err);
    size_t n_cp = model_n_checkpoints(m), n = 0;
    review_row *rows = calloc(n_cp + 1, sizeof *rows);
    date_t last = s->learned->last_date;
    if (r && !rows) {
        fprintf(stderr, "accrue: out of memory\n");
        rc = 1;
    } else if ((rc = cli_simulation_status(r, err)) == 0) {
        for (size_t k = 0; k < n_cp && model_checkpoint_date(m, k) <= last; k++) {
            review_row *row = &rows[n++];
            long registered, screening;
            row->date = model_checkpoint_date(m, k);
            /* Registrations by the end of the review day: those decided before the next. */
            history_count(s, row->date + 1, &registered, &screening);
            row->observed = registered;
            row->q10 = hist_quantile(&r->at_checkpoint[k], 0.10);
            row->q50 = hist_quantile(&r->at_checkpoint[k], 0.50);
            row->q90 = hist_quantile(&r->at_checkpoint[k], 0.90);
            where_it_falls(s, r, k, row);
            row->verdict = verdict_of(row);
        }
        char asof[11], upto[11], day[11];
        date_format(s->as_of, asof);
        date_format(last, upto);
        cli_describe(o, m, stdout);   /* wrapped at 80 columns, with the overrides */
        printf("\nTrack: the forecast made at %s (%llu trials, seed %llu)\nagainst history.csv "
               "up to %s\n", asof, (unsigned long long)r->trials, (unsigned long long)o->seed,
               upto);
        if (n == 0) {
            printf("No review date of the scenario falls on or before %s yet: nothing to check."
                   "\n", upto);
        } else {
            printf("  %-10s  %8s  %18s  %15s  %s\n", "review", "observed", "forecast 10-50-90 %",
                   "P(N <= obs.)", "verdict");
            for (size_t i = 0; i < n; i++) {
                char band[32], p[32];
                date_format(rows[i].date, day);
                snprintf(band, sizeof band, "%zu - %zu - %zu", rows[i].q10, rows[i].q50,
                         rows[i].q90);
                if (rows[i].exact)
                    snprintf(p, sizeof p, "%.4f exact", rows[i].p_at_most);
                else
                    snprintf(p, sizeof p, "%.4f (%.1g)", rows[i].p_at_most, rows[i].p_at_most_se);
                printf("  %-10s  %8ld  %18s  %15s  %s\n", day, rows[i].observed, band, p,
                       rows[i].verdict);
            }
            printf("Behind plan: fewer registrations than the forecast's 10 %% point\n(P(N <= "
                   "observed) < 0.10); ahead of plan: more than its 90 %% point.\n");
        }
        if (!cli_report_reached_stdout())
            rc = 1;
        if (rc == 0 && o->out) {
            rc = write_track(o, rows, n);
            if (rc == 0)
                printf("\nTable written to %s/\n", o->out);
        }
    }
    free(rows);
    sim_result_free(r);
    model_free(m);
    scenario_free(s);
    return rc;
}
