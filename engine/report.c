/* Reports of a run: see report.h. Probabilities and means are printed with their Monte Carlo
 * standard errors; the files hold nothing that depends on threads or timing. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "outdir.h"
#include "process.h"

const double report_quantiles[REPORT_N_QUANTILES] = {0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95};

/* 97.5 % point of the standard normal: 95 % intervals are estimate +- Z95 * SE. */
#define Z95 1.959963984540054
/* Rows of the count distribution whose conditional probability is below this, and never seen,
 * are left out of the tables. */
#define PMF_ROW_EPS 1e-10

/* ---- reading the result ---- */

/* The distribution of registrations by the deadline comes from the conditional pmf when the
 * model tabulated it (r->pmf_len > 0), else from the simulated histogram. */

static double plain_at(const sim_result *r, size_t n)
{
    uint64_t k = n < r->at_deadline.len ? r->at_deadline.bin[n] : 0;
    return r->trials ? (double)k / (double)r->trials : 0.0;
}

static double pmf_at(const sim_result *r, size_t n)
{
    if (r->pmf_len == 0)
        return plain_at(r, n);
    return n < r->pmf_len ? r->pmf[n].mean : 0.0;
}

static double pmf_se_at(const sim_result *r, size_t n)
{
    if (r->pmf_len == 0)
        return r->trials ? sqrt(plain_at(r, n) * (1.0 - plain_at(r, n)) / (double)r->trials) : 0;
    return n < r->pmf_len ? r->pmf[n].se : 0.0;
}

/* P(N >= n): sums from the top, so small tails keep their digits. */
static double pmf_at_least(const sim_result *r, size_t n)
{
    if (r->pmf_len == 0)
        return r->trials ? (double)hist_count_at_least(&r->at_deadline, n) / (double)r->trials : 0;
    double s = 0.0;
    for (size_t i = r->pmf_len; i-- > n;)
        s += r->pmf[i].mean;
    return s;
}

/* P(N >= n) for every n in [0, len], len = max(pmf_len, histogram extent), computed once
 * (writing a row per count stays linear in the rows): tail[n] is the same sum, in the same
 * order, as pmf_at_least(r, n), so the same bits. The caller frees it; NULL when out of memory
 * (then pmf_at_least serves row by row). */
static double *pmf_tail(const sim_result *r, size_t *len)
{
    size_t extent = hist_extent(&r->at_deadline);
    size_t n = r->pmf_len > extent ? r->pmf_len : extent;
    double *tail = malloc((n + 1) * sizeof *tail);
    if (!tail)
        return NULL;
    *len = n;
    if (r->pmf_len == 0) {
        uint64_t k = 0;
        tail[n] = 0.0;
        for (size_t i = n; i-- > 0;) {
            k += i < r->at_deadline.len ? r->at_deadline.bin[i] : 0;
            tail[i] = r->trials ? (double)k / (double)r->trials : 0;
        }
        return tail;
    }
    double t = 0.0;
    for (size_t i = n + 1; i-- > 0;) {
        if (i < r->pmf_len)
            t += r->pmf[i].mean;
        tail[i] = t;
    }
    return tail;
}

static double tail_at(const sim_result *r, const double *tail, size_t len, size_t n)
{
    if (!tail)
        return pmf_at_least(r, n);
    return n <= len ? tail[n] : 0.0;
}

/* A row of the count distribution is shown when its conditional probability is not negligible
 * or a simulated trial ended there; the counts between the rows shown, of probability below
 * PMF_ROW_EPS that no trial reached (a bimodal distribution has many), are left out. */
static int pmf_row_shown(const sim_result *r, size_t n)
{
    return (r->pmf_len && n < r->pmf_len && r->pmf[n].mean >= PMF_ROW_EPS) ||
           (n < r->at_deadline.len && r->at_deadline.bin[n]);
}

/* The q-quantile of registrations by the deadline: the smallest n with P(N <= n) >= q. */
size_t report_deadline_quantile(const sim_result *r, double q)
{
    if (r->pmf_len == 0)
        return hist_quantile(&r->at_deadline, q);
    double cdf = 0.0;
    for (size_t n = 0; n < r->pmf_len; n++) {
        cdf += r->pmf[n].mean;
        if (cdf >= q - 1e-12)
            return n;
    }
    return r->pmf_len - 1;
}

/* The rows [lo, hi) of the count distribution worth showing. */
static void pmf_rows(const sim_result *r, size_t *lo, size_t *hi)
{
    size_t extent = hist_extent(&r->at_deadline);
    size_t a = SIZE_MAX, b = 0;
    for (size_t n = 0; n < r->pmf_len; n++)
        if (r->pmf[n].mean >= PMF_ROW_EPS) {
            a = n < a ? n : a;
            b = n + 1;
        }
    for (size_t n = 0; n < extent; n++)
        if (r->at_deadline.bin[n]) {
            a = n < a ? n : a;
            b = n + 1 > b ? n + 1 : b;
        }
    *lo = a == SIZE_MAX ? 0 : a;
    *hi = b;
}

void report_completion_label(const report_info *info, const sim_result *r, size_t slot,
                             char *buf, size_t len)
{
    char d[DATE_TEXT_LEN];
    if (slot == 0) {
        date_format_wide(info->start, d);
        snprintf(buf, len, "before %s", d);
    } else if (slot > (size_t)r->n_days) {
        date_format_wide(info->start + (date_t)r->n_days - 1, d);
        snprintf(buf, len, "after %s", d);
    } else {
        date_format_wide(info->start + (date_t)(slot - 1), d);
        snprintf(buf, len, "%s", d);
    }
}

/* P(target reached by the end of day d), from the completion histogram. */
static double reached_by(const sim_result *r, long day)
{
    if (!r->trials)
        return 0.0;
    size_t slots = (size_t)(day + 2);  /* slots 0 .. day+1 */
    uint64_t k = r->completion.total - hist_count_at_least(&r->completion, slots);
    return (double)k / (double)r->trials;
}

static double clamp01(double x)
{
    return x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
}

/* A probability for the readable report: 4 decimals, or 3 significant digits below 0.001. */
static const char *prob_text(double p, char buf[32])
{
    snprintf(buf, 32, p >= 0.001 || p == 0.0 ? "%.4f" : "%.3g", p);
    return buf;
}

/* ---- the readable report ---- */

static void print_headline(FILE *out, const report_info *info, const sim_result *r)
{
    char dl[11];
    date_format(info->deadline, dl);
    const sim_estimate *p = &r->p_success;
    char a[32], b[32], c[32], d[32], e[32];
    fprintf(out, "\nProbability of reaching %zu by %s: %s (SE %.2g)\n  95 %% interval %s to %s\n",
            r->target, dl, prob_text(p->mean, a), p->se,
            prob_text(clamp01(p->mean - Z95 * p->se), b),
            prob_text(clamp01(p->mean + Z95 * p->se), c));
    if (info->verbose) {
        char text[400];
        snprintf(text, sizeof text,
                 "  estimators: conditional with control variate %s (SE %.2g),\n"
                 "  conditional %s (SE %.2g), plain fraction of trials %s (SE %.2g)\n",
                 prob_text(p->mean, a), p->se, prob_text(r->p_success_cond.mean, d),
                 r->p_success_cond.se, prob_text(r->p_success_plain.mean, e),
                 r->p_success_plain.se);
        report_put_wrapped(text, out);
    }
    if (info->has_exact) {
        double z = p->se > 0.0 ? (p->mean - info->exact_p_success) / p->se : 0.0;
        fprintf(out, "  exact (no simulation): %.6f; simulation - exact = %+.2g (z = %+.2f)\n",
                info->exact_p_success, p->mean - info->exact_p_success, z);
    } else if (info->exact_note && *info->exact_note) {
        char note[1200];
        snprintf(note, sizeof note, "  (no exact value beside it: %s)\n", info->exact_note);
        report_put_wrapped(note, out);
    }
    fprintf(out, "Expected registrations by %s: %.3f (SE %.2g)", dl, r->mean.mean, r->mean.se);
    if (info->has_exact)
        fprintf(out, "; exact %.4f", info->exact_mean);
    fprintf(out, "\n");
}

static void print_distribution(FILE *out, const sim_result *r)
{
    size_t lo, hi, len = 0;
    pmf_rows(r, &lo, &hi);
    double *tail = pmf_tail(r, &len);
    fprintf(out, "\nRegistrations by the deadline\n  %5s  %9s  %9s  %9s\n", "n", "P(N = n)",
            "P(N >= n)", "SE");
    for (size_t n = lo; n < hi; n++) {
        /* Rows that round to 0.0000 are left to enrolled_at_deadline.csv. */
        if (pmf_at(r, n) < 5e-5 && n != r->target)
            continue;
        fprintf(out, "  %5zu  %9.4f  %9.4f  %9.2g%s\n", n, pmf_at(r, n),
                tail_at(r, tail, len, n), pmf_se_at(r, n), n == r->target ? "   <- target" : "");
    }
    free(tail);
}

/* A distribution-free 95 % interval for the q-quantile of the completion date: the sample
 * quantiles at q -/+ 1.96 sqrt(q (1 - q) / n), since the number of trials below the true
 * quantile is Binomial(n, q) (David and Nagaraja 2003, "Order Statistics", 7.1). */
static void completion_quantile_interval(const report_info *info, const sim_result *r, double q,
                                         char *lo, char *hi, size_t len)
{
    double half = r->trials ? Z95 * sqrt(q * (1.0 - q) / (double)r->trials) : 0.0;
    double qlo = q - half > 0.0 ? q - half : 0.0, qhi = q + half < 1.0 ? q + half : 1.0;
    report_completion_label(info, r, hist_quantile(&r->completion, qlo), lo, len);
    report_completion_label(info, r, hist_quantile(&r->completion, qhi), hi, len);
}

/* The short form: the count's quantiles in one row, the completion dates in a few lines. */
static void print_quantiles_short(FILE *out, const report_info *info, const sim_result *r)
{
    char dl[11];
    date_format(info->deadline, dl);
    fprintf(out, "\nRegistrations by %s, in 90 %% of the futures from %zu to %zu:\n  ", dl,
            report_deadline_quantile(r, 0.05), report_deadline_quantile(r, 0.95));
    for (int i = 0; i < REPORT_N_QUANTILES; i++)
        fprintf(out, "%6.0f %%", report_quantiles[i] * 100.0);
    fprintf(out, "\n  ");
    for (int i = 0; i < REPORT_N_QUANTILES; i++)
        fprintf(out, "%8zu", report_deadline_quantile(r, report_quantiles[i]));
    fprintf(out, "\nThe date the target of %zu is reached, in that share of the futures:\n", r->target);
    static const double shown[] = {0.05, 0.25, 0.50, 0.75, 0.95};
    for (int i = 0; i < 5; i++) {
        char label[32];
        report_completion_label(info, r, hist_quantile(&r->completion, shown[i]), label,
                                sizeof label);
        if (i % 2 == 0)
            fprintf(out, "  %3.0f %%: %-21s", shown[i] * 100.0, label);
        else
            fprintf(out, "  %3.0f %%: %s\n", shown[i] * 100.0, label);
    }
    fprintf(out, "\n");
}

static void print_quantiles(FILE *out, const report_info *info, const sim_result *r)
{
    /* Within 80 columns with the longest labels ("after +10026-07-18" aside); an interval
     * whose ends are one censored label says nothing and is left out. */
    fprintf(out, "\n  share  registrations  date the target is reached (95 %% interval)\n");
    for (int i = 0; i < REPORT_N_QUANTILES; i++) {
        double q = report_quantiles[i];
        char label[32], lo[32], hi[32];
        report_completion_label(info, r, hist_quantile(&r->completion, q), label, sizeof label);
        completion_quantile_interval(info, r, q, lo, hi, sizeof lo);
        fprintf(out, "  %3.0f %%  %13zu  %s", q * 100.0, report_deadline_quantile(r, q), label);
        if (strcmp(lo, hi) != 0 || strcmp(lo, label) != 0)
            fprintf(out, "  (%s to %s)", lo, hi);
        fputc('\n', out);
    }
}

/* P(target reached by checkpoint k): at the deadline the headline's estimate (one estimator
 * for one quantity), before it the fraction of trials. */
double report_checkpoint_reached(const report_info *info, const sim_result *r, size_t k)
{
    const hist *h = &r->at_checkpoint[k];
    if (info->checkpoint_date[k] == info->deadline)
        return r->p_success.mean;
    return h->total ? (double)hist_count_at_least(h, r->target) / (double)h->total : 0.0;
}

/* The mean and the quantiles by checkpoint k: at the deadline those of the headline (the
 * conditional estimates), before it the simulated histogram's. */
double report_checkpoint_mean(const report_info *info, const sim_result *r, size_t k,
                              double *se)
{
    const hist *h = &r->at_checkpoint[k];
    if (info->checkpoint_date[k] == info->deadline) {
        *se = r->mean.se;
        return r->mean.mean;
    }
    *se = hist_mean_se(h);
    return hist_mean(h);
}

size_t report_checkpoint_quantile(const report_info *info, const sim_result *r, size_t k,
                                  double q)
{
    if (info->checkpoint_date[k] == info->deadline)
        return report_deadline_quantile(r, q);
    return hist_quantile(&r->at_checkpoint[k], q);
}

static void print_checkpoints(FILE *out, const report_info *info, const sim_result *r)
{
    fprintf(out, "\nAt each review: registrations by the end of the day\n");
    if (info->verbose)
        fprintf(out, "  %-10s  %7s  %4s %4s %4s %4s %4s %4s %4s  %s\n", "date", "mean", "5%",
                "10%", "25%", "50%", "75%", "90%", "95%", "P(target reached)");
    else
        fprintf(out, "  %-10s  %7s  %4s %4s %4s  %s\n", "date", "mean", "10%", "50%", "90%",
                "P(target already reached)");
    for (size_t k = 0; k < info->n_checkpoints; k++) {
        char d[11];
        double se;
        date_format(info->checkpoint_date[k], d);
        fprintf(out, "  %-10s  %7.2f ", d, report_checkpoint_mean(info, r, k, &se));
        for (int i = 0; i < REPORT_N_QUANTILES; i++)
            if (info->verbose || i == 1 || i == 3 || i == 5)
                fprintf(out, " %4zu", report_checkpoint_quantile(info, r, k, report_quantiles[i]));
        fprintf(out, "  %.4f\n", report_checkpoint_reached(info, r, k));
    }
    if (!info->verbose)
        fprintf(out, "Fewer registrations at a review than its 10 %% column: behind plan.\n");
}

static void print_units(FILE *out, const report_info *info, const sim_result *r)
{
    fprintf(out, "\nBy %s, by the deadline: mean registered (from its referrals), P(none)\n",
            info->unit_label);
    size_t shown = r->n_units < 50 ? r->n_units : 50;
    int width = 8;
    for (size_t u = 0; u < shown; u++) {
        size_t len = strlen(info->unit_name[u]);
        width = len > (size_t)width ? (len < 40 ? (int)len : 40) : width;
    }
    for (size_t u = 0; u < shown; u++)
        fprintf(out, "  %-*s  %8.3f  %.4f\n", width, info->unit_name[u], r->unit_mean[u].mean,
                r->unit_p_none[u].mean);
    if (shown < r->n_units)
        fprintf(out, "  ... %zu more in sites.csv\n", r->n_units - shown);
}

/* Writes text to out with every line longer than 80 columns wrapped at a space: a labelled
 * line ("Scenario      ...") continues under its value (14 columns in), an indented line four
 * columns deeper than it started. A word longer than a line is left whole. */
void report_put_wrapped(const char *text, FILE *out)
{
    enum { WIDTH = 80 };
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        size_t lead = strspn(line, " ");
        size_t indent = lead > 0 ? lead + 4 : 14, first = 1;
        const char *p = line, *stop = line + len;
        while (p < stop) {
            size_t room = first ? WIDTH : WIDTH - indent, left = (size_t)(stop - p);
            size_t take = left;
            if (left > room) {
                take = room;
                while (take > 0 && p[take] != ' ')
                    take--;
                if (take == 0)
                    take = left;   /* one long word: as it is */
            }
            if (!first)
                fprintf(out, "%*s", (int)indent, "");
            fwrite(p, 1, take, out);
            fputc('\n', out);
            p += take;
            while (p < stop && *p == ' ')
                p++;
            first = 0;
        }
        if (len == 0)
            fputc('\n', out);
        line = end ? end + 1 : line + len;
    }
}

/* A probability as a percentage: one decimal from 1 %, two significant digits below. */
static const char *percent_text(double p, char buf[16])
{
    snprintf(buf, 16, p >= 0.01 || p == 0.0 ? "%.1f %%" : "%.2g %%", 100.0 * p);
    return buf;
}

/* The headline in words, first of all (DESIGN.md section 4.3). */
static void print_plain_headline(FILE *out, const report_info *info, const sim_result *r)
{
    char dl[11], when[32];
    date_format(info->deadline, dl);
    const sim_estimate *p = &r->p_success;
    double lo = clamp01(p->mean - Z95 * p->se), hi = clamp01(p->mean + Z95 * p->se);
    char pc[16], lc[16], hc[16];
    char line[200];
    int n = snprintf(line, sizeof line, "A %s chance of reaching %zu by %s (95 %% interval %s to %s).",
                     percent_text(p->mean, pc), r->target, dl, percent_text(lo, lc),
                     percent_text(hi, hc));
    if (n > 80)   /* the interval on a line of its own rather than split inside a number */
        fprintf(out, "A %s chance of reaching %zu by %s\n(95 %% interval %s to %s).\n", pc,
                r->target, dl, lc, hc);
    else
        fprintf(out, "%s\n", line);
    size_t slot = hist_quantile(&r->completion, 0.5);
    report_completion_label(info, r, slot, when, sizeof when);
    fprintf(out, "Expected registrations by then: %.1f.\n", r->mean.mean);
    if (slot == 0)
        fprintf(out, "The target was met before the forecast began.\n\n");
    else if (slot > (size_t)r->n_days)
        fprintf(out, "Half of the futures do not reach %zu within the span followed (%s).\n\n",
                r->target, when);
    else
        fprintf(out, "Half of the futures reach %zu by %s.\n\n", r->target, when);
}

void report_print(FILE *out, const report_info *info, const sim_result *r, int threads,
                  double seconds)
{
    print_plain_headline(out, info, r);
    info->describe(info->describe_arg, out);
    fprintf(out, "Run           %llu trials, seed %llu, %d thread%s, %.2f s%s\n",
            (unsigned long long)r->trials, (unsigned long long)info->seed, threads,
            threads == 1 ? "" : "s", seconds, r->interrupted ? " (interrupted)" : "");
    print_headline(out, info, r);
    if (info->print_tallies && r->n_tallies)
        info->print_tallies(info->tallies_arg, r, out);
    if (info->verbose) {
        print_distribution(out, r);
        print_quantiles(out, info, r);
    } else {
        print_quantiles_short(out, info, r);
    }
    print_checkpoints(out, info, r);
    print_units(out, info, r);
}

/* ---- files: a set built in a private folder, swapped in whole (outdir.c) ---- */

/* Every file accrue writes into an --out folder. */
static const char *const table_names[] = {
    "summary.csv", "enrolled_at_deadline.csv", "quantiles.csv", "completion.csv",
    "checkpoints.csv", "sites.csv", "posterior.csv", "result.json", "fan.csv",
    "inputs/trial.csv", "inputs/sites.csv", "inputs/schedule.csv", "inputs/actions.csv",
    "inputs/history.csv", "inputs/overrides.csv", NULL,
};

const char *const report_extra_names[] = {
    "posterior.csv", "result.json", "fan.csv", "inputs/trial.csv", "inputs/sites.csv",
    "inputs/schedule.csv", "inputs/actions.csv", "inputs/history.csv", "inputs/overrides.csv",
    NULL,
};

const char *const *report_table_names(void) { return table_names; }

int report_check_dir(const char *dir, const char *input_dir, char *err, size_t errlen)
{
    const char *inputs[] = {input_dir, NULL};
    outdir *d = outdir_open(dir, table_names, inputs, err, errlen);
    int rc = d ? 0 : -1;
    outdir_free(d);
    return rc;
}

/* ---- the CSV files ---- */

/* A CSV field: quoted, with embedded quotes doubled (names come from the scenario files). A
 * text starting with =, +, - or @ gets a leading ' inside the quotes, so that a spreadsheet
 * shows it as text instead of running it as a formula ("=HYPERLINK(...)"). */
static void write_csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    if (*s && strchr("=+-@", *s))
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A completion date for a typed table: the date, or empty with the censoring ("before": the
 * target was met before as_of; "after": not within the followed span) in *censored. */
static void completion_cell(const report_info *info, const sim_result *r, size_t slot,
                            char *date, size_t len, const char **censored)
{
    *censored = "";
    date[0] = '\0';
    if (slot == 0)
        *censored = "before";
    else if (slot > (size_t)r->n_days)
        *censored = "after";
    else
        date_format_wide(info->start + (date_t)(slot - 1), date);
    (void)len;
}

static void write_summary(FILE *f, const report_info *info, const sim_result *r)
{
    char d[11], label[32];
    const sim_estimate *p = &r->p_success;
    fprintf(f, "key,value\nscenario,");
    write_csv_field(f, info->scenario_name);
    fputc('\n', f);
    fprintf(f, "trials,%llu\nseed,%llu\n", (unsigned long long)r->trials,
            (unsigned long long)info->seed);
    fprintf(f, "version,%s\nsource,", info->version ? info->version : "");
    write_csv_field(f, info->source ? info->source : "");
    fprintf(f, "\noverrides,");
    write_csv_field(f, info->overrides ? info->overrides : "");
    date_format(info->start, d);
    fprintf(f, "\nas_of,%s\n", d);
    fprintf(f, "target,%zu\nenrolled,%ld\n", r->target, info->enrolled);
    date_format(info->deadline, d);
    fprintf(f, "deadline,%s\n", d);
    fprintf(f, "p_success,%.6g\np_success_se,%.3g\n", p->mean, p->se);
    fprintf(f, "p_success_ci_low,%.6g\np_success_ci_high,%.6g\n", clamp01(p->mean - Z95 * p->se),
            clamp01(p->mean + Z95 * p->se));
    fprintf(f, "p_success_cond,%.6g\np_success_cond_se,%.3g\n", r->p_success_cond.mean,
            r->p_success_cond.se);
    fprintf(f, "p_success_plain,%.6g\np_success_plain_se,%.3g\n", r->p_success_plain.mean,
            r->p_success_plain.se);
    fprintf(f, "control_beta,%.6g\n", r->control_beta);
    if (info->has_exact) {
        fprintf(f, "p_success_exact,%.8f\n", info->exact_p_success);
        fprintf(f, "p_success_z,%.3f\n", p->se > 0 ? (p->mean - info->exact_p_success) / p->se : 0.0);
    }
    fprintf(f, "mean_enrolled,%.6g\nmean_enrolled_se,%.3g\n", r->mean.mean, r->mean.se);
    fprintf(f, "mean_enrolled_plain,%.6g\nmean_enrolled_plain_se,%.3g\n", r->mean_plain.mean,
            r->mean_plain.se);
    if (info->has_exact)
        fprintf(f, "mean_enrolled_exact,%.8f\n", info->exact_mean);
    const char *censored;
    completion_cell(info, r, hist_quantile(&r->completion, 0.5), label, sizeof label, &censored);
    fprintf(f, "completion_median,%s\ncompletion_median_censored,%s\n", label, censored);
    for (size_t i = 0; info->tally_name && i < r->n_tallies; i++) {
        char key[128];
        info->tally_name(info->tallies_arg, i, key, sizeof key);
        fprintf(f, "%s,%.6g\n%s_se,%.3g\n", key, r->tally[i].mean, key, r->tally[i].se);
    }
}

void report_distribution(const sim_result *r,
                         void (*row)(void *arg, const report_pmf_row *x), void *arg)
{
    size_t lo, hi, len = 0;
    pmf_rows(r, &lo, &hi);
    double *tail = pmf_tail(r, &len);
    for (size_t n = lo; n < hi && !process_stop; n++)
        if (pmf_row_shown(r, n)) {
            report_pmf_row x = {n, pmf_at(r, n), tail_at(r, tail, len, n), pmf_se_at(r, n),
                                plain_at(r, n)};
            row(arg, &x);
        }
    free(tail);
}

static void distribution_row(void *arg, const report_pmf_row *x)
{
    fprintf(arg, "%zu,%.6g,%.6g,%.3g,%.6g\n", x->enrolled, x->probability, x->at_least, x->se,
            x->plain);
}

static void write_distribution(FILE *f, const sim_result *r)
{
    fprintf(f, "enrolled,probability,probability_at_least,probability_se,probability_plain\n");
    report_distribution(r, distribution_row, f);
}

static void write_quantiles(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "quantile,enrolled_at_deadline,completion_date,completion_censored,"
               "completion_date_low,completion_date_high\n");
    for (int i = 0; i < REPORT_N_QUANTILES; i++) {
        double q = report_quantiles[i];
        double half = r->trials ? Z95 * sqrt(q * (1.0 - q) / (double)r->trials) : 0.0;
        double qlo = q - half > 0.0 ? q - half : 0.0, qhi = q + half < 1.0 ? q + half : 1.0;
        char date[DATE_TEXT_LEN], lo[DATE_TEXT_LEN], hi[DATE_TEXT_LEN];
        const char *censored, *c_lo, *c_hi;
        completion_cell(info, r, hist_quantile(&r->completion, q), date, sizeof date, &censored);
        completion_cell(info, r, hist_quantile(&r->completion, qlo), lo, sizeof lo, &c_lo);
        completion_cell(info, r, hist_quantile(&r->completion, qhi), hi, sizeof hi, &c_hi);
        fprintf(f, "%.2f,%zu,%s,%s,%s,%s\n", q, report_deadline_quantile(r, q), date, censored, lo, hi);
    }
}

/* Monthly from the start: P(target reached by the end of the day before each month's date),
 * up to the end of the followed horizon. */
double report_completion_reached(const report_info *info, const sim_result *r, date_t d,
                                 double *se)
{
    /* At the deadline, the headline's estimate: one estimator for one quantity. */
    double p = d == info->deadline ? r->p_success.mean : reached_by(r, (long)(d - info->start));
    *se = d == info->deadline ? r->p_success.se
          : r->trials         ? sqrt(p * (1 - p) / (double)r->trials)
                              : 0;
    return p;
}

static void write_completion(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "date,probability_reached,probability_reached_se\n");
    date_t last = info->start + (date_t)r->n_days - 1;
    for (int k = 0; !process_stop; k++) {
        date_t d = date_add_months(info->start, k);
        if (d > last)
            d = last;
        char ds[DATE_TEXT_LEN];
        date_format_wide(d, ds);
        double se, p = report_completion_reached(info, r, d, &se);
        fprintf(f, "%s,%.6g,%.3g\n", ds, p, se);
        if (d == last)
            break;
    }
}

static void write_checkpoints(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "date,mean,q05,q10,q25,q50,q75,q90,q95,mean_se,probability_target_reached\n");
    for (size_t k = 0; k < info->n_checkpoints; k++) {
        char d[11];
        double se, mean = report_checkpoint_mean(info, r, k, &se);
        date_format(info->checkpoint_date[k], d);
        fprintf(f, "%s,%.6g", d, mean);
        for (int i = 0; i < REPORT_N_QUANTILES; i++)
            fprintf(f, ",%zu", report_checkpoint_quantile(info, r, k, report_quantiles[i]));
        fprintf(f, ",%.3g,%.6g\n", se, report_checkpoint_reached(info, r, k));
    }
}

static void write_units(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "%s,mean_registered,probability_none,mean_registered_se,probability_none_se\n",
            info->unit_label);
    for (size_t u = 0; u < r->n_units && !process_stop; u++) {
        write_csv_field(f, info->unit_name[u]);
        fprintf(f, ",%.6g,%.6g,%.3g,%.3g\n", r->unit_mean[u].mean, r->unit_p_none[u].mean,
                r->unit_mean[u].se, r->unit_p_none[u].se);
    }
}

typedef void (*writer_fn)(FILE *f, const report_info *info, const sim_result *r);

static void write_distribution_w(FILE *f, const report_info *info, const sim_result *r)
{
    (void)info;
    write_distribution(f, r);
}

/* Writes one table of the set begun in d; -1 with a message in err when it could not be
 * written, or when a signal came meanwhile (process_stop). */
static int write_table(outdir *d, const char *prefix, const char *name, writer_fn write,
                       const report_info *info, const sim_result *r, char *err, size_t errlen)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    FILE *f = outdir_create(d, full, err, errlen);
    if (!f)
        return -1;
    write(f, info, r);
    if (outdir_close(d, f, full, err, errlen) != 0)
        return -1;
    if (process_stop) {
        snprintf(err, errlen, "interrupted");
        return -1;
    }
    return 0;
}

/* Opens dir again (what is there may have changed during the run), begins a set, writes it
 * with `tables` and swaps it in. */
static int write_set(const char *dir, const char *input_dir,
                     int (*tables)(outdir *d, const void *arg, char *err, size_t errlen),
                     const void *arg, char *err, size_t errlen)
{
    const char *inputs[] = {input_dir, NULL};
    outdir *d = outdir_open(dir, table_names, inputs, err, errlen);
    if (!d)
        return -1;
    int rc = outdir_begin(d, err, errlen);
    if (rc == 0)
        rc = tables(d, arg, err, errlen);
    if (rc == 0 && process_stop) {
        snprintf(err, errlen, "interrupted");
        rc = -1;
    }
    if (rc == 0)
        rc = outdir_commit(d, err, errlen);
    outdir_free(d);  /* removes the private folder of a set not committed */
    return rc;
}

int report_write_into(outdir *d, const char *prefix, const report_info *info,
                      const sim_result *r, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        writer_fn write;
    } files[] = {
        {"summary.csv", write_summary},       {"enrolled_at_deadline.csv", write_distribution_w},
        {"quantiles.csv", write_quantiles},   {"completion.csv", write_completion},
        {"checkpoints.csv", write_checkpoints}, {"sites.csv", write_units},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (write_table(d, prefix, files[i].name, files[i].write, info, r, err, errlen) != 0)
            return -1;
    for (size_t i = 0; i < info->n_extra; i++) {
        const report_extra *x = &info->extra[i];
        char full[256];
        snprintf(full, sizeof full, "%s%s", prefix, x->name);
        FILE *f = outdir_create(d, full, err, errlen);
        if (!f)
            return -1;
        int bad = x->write(x->arg, f) != 0;
        if (outdir_close(d, f, full, err, errlen) != 0)
            return -1;
        if (bad) {
            snprintf(err, errlen, "%s: could not be written", full);
            return -1;
        }
    }
    return 0;
}

typedef struct run_tables {
    const report_info *info;
    const sim_result *r;
} run_tables;

static int write_run_tables(outdir *d, const void *arg, char *err, size_t errlen)
{
    const run_tables *t = arg;
    return report_write_into(d, "", t->info, t->r, err, errlen);
}

int report_write(const char *dir, const char *input_dir, const report_info *info,
                 const sim_result *r, char *err, size_t errlen)
{
    run_tables t = {info, r};
    return write_set(dir, input_dir, write_run_tables, &t, err, errlen);
}

typedef struct exact_tables {
    const char *scenario_name;
    const double *pmf;
    size_t len, target;
    double mean;
} exact_tables;

static int write_exact_tables(outdir *d, const void *arg, char *err, size_t errlen)
{
    const exact_tables *t = arg;
    FILE *f = outdir_create(d, "summary.csv", err, errlen);
    if (!f)
        return -1;
    double p = 0.0;
    for (size_t n = t->len; n-- > t->target;)
        p += t->pmf[n];
    fprintf(f, "key,value\nscenario,");
    write_csv_field(f, t->scenario_name);
    fprintf(f, "\nmethod,exact\ntarget,%zu\n", t->target);
    fprintf(f, "p_success,%.10f\np_success_se,0\nmean_enrolled,%.10f\n", p, t->mean);
    if (outdir_close(d, f, "summary.csv", err, errlen) != 0 ||
        !(f = outdir_create(d, "enrolled_at_deadline.csv", err, errlen)))
        return -1;
    fprintf(f, "enrolled,probability,probability_at_least\n");
    double at_least = 0.0;
    for (size_t n = t->len; n-- > 0;)
        at_least += t->pmf[n];
    for (size_t n = 0; n < t->len && !process_stop; n++) {
        if (at_least >= PMF_ROW_EPS || t->pmf[n] >= PMF_ROW_EPS)
            fprintf(f, "%zu,%.10g,%.10g\n", n, t->pmf[n], at_least);
        at_least -= t->pmf[n];
    }
    return outdir_close(d, f, "enrolled_at_deadline.csv", err, errlen);
}

int report_write_exact(const char *dir, const char *input_dir, const char *scenario_name,
                       const double *pmf, size_t len, size_t target, double mean, char *err,
                       size_t errlen)
{
    exact_tables t = {scenario_name, pmf, len, target, mean};
    return write_set(dir, input_dir, write_exact_tables, &t, err, errlen);
}
