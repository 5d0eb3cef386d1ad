/* Reports of a run: see report.h. Probabilities and means are printed with their Monte Carlo
 * standard errors; the files hold nothing that depends on threads or timing. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const double report_quantiles[REPORT_N_QUANTILES] = {0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95};

/* 97.5 % point of the standard normal: 95 % intervals are estimate +- Z95 * SE. */
#define Z95 1.959963984540054
/* Rows of the count distribution whose conditional probability is below this, and never seen,
 * are left out of the tables. */
#define PMF_ROW_EPS 1e-10

/* "PATH: WHAT: DETAIL" into the caller's buffer. */
static void set_err(char *err, size_t errlen, const char *path, const char *what,
                    const char *detail)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s%s%s", path, what, *detail ? ": " : "", detail);
}

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

/* The q-quantile of registrations by the deadline: the smallest n with P(N <= n) >= q. */
static size_t pmf_quantile(const sim_result *r, double q)
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
    char d[11];
    if (slot == 0) {
        date_format(info->start, d);
        snprintf(buf, len, "before %s", d);
    } else if (slot > (size_t)r->n_days) {
        date_format(info->start + (date_t)r->n_days - 1, d);
        snprintf(buf, len, "after %s", d);
    } else {
        date_format(info->start + (date_t)(slot - 1), d);
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
    fprintf(out, "\nProbability of reaching %zu by %s: %s  (SE %.2g; 95 %% interval %s to %s)\n",
            r->target, dl, prob_text(p->mean, a), p->se,
            prob_text(clamp01(p->mean - Z95 * p->se), b),
            prob_text(clamp01(p->mean + Z95 * p->se), c));
    fprintf(out, "  estimators: conditional with control variate %s (SE %.2g), conditional %s "
            "(SE %.2g),\n  plain fraction of trials %s (SE %.2g)\n", prob_text(p->mean, a), p->se,
            prob_text(r->p_success_cond.mean, d), r->p_success_cond.se,
            prob_text(r->p_success_plain.mean, e), r->p_success_plain.se);
    if (info->has_exact) {
        double z = p->se > 0.0 ? (p->mean - info->exact_p_success) / p->se : 0.0;
        fprintf(out, "  exact (no simulation): %.6f; simulation - exact = %+.2g (z = %+.2f)\n",
                info->exact_p_success, p->mean - info->exact_p_success, z);
    } else if (info->exact_note && *info->exact_note)
        fprintf(out, "  (no exact value beside it: %s)\n", info->exact_note);
    fprintf(out, "Expected registrations by %s: %.3f (SE %.2g)", dl, r->mean.mean, r->mean.se);
    if (info->has_exact)
        fprintf(out, "; exact %.4f", info->exact_mean);
    fprintf(out, "\n");
}

static void print_distribution(FILE *out, const sim_result *r)
{
    size_t lo, hi;
    pmf_rows(r, &lo, &hi);
    fprintf(out, "\nRegistrations by the deadline\n  %5s  %9s  %9s  %9s\n", "n", "P(N = n)",
            "P(N >= n)", "SE");
    for (size_t n = lo; n < hi; n++) {
        /* Rows that round to 0.0000 are left to enrolled_at_deadline.csv. */
        if (pmf_at(r, n) < 5e-5 && n != r->target)
            continue;
        fprintf(out, "  %5zu  %9.4f  %9.4f  %9.2g%s\n", n, pmf_at(r, n), pmf_at_least(r, n), pmf_se_at(r, n),
                n == r->target ? "   <- target" : "");
    }
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

static void print_quantiles(FILE *out, const report_info *info, const sim_result *r)
{
    fprintf(out, "\nQuantiles   registrations by deadline   date target reached (95 %% interval)\n");
    for (int i = 0; i < REPORT_N_QUANTILES; i++) {
        double q = report_quantiles[i];
        char label[32], lo[32], hi[32];
        report_completion_label(info, r, hist_quantile(&r->completion, q), label, sizeof label);
        completion_quantile_interval(info, r, q, lo, hi, sizeof lo);
        fprintf(out, "  %3.0f %%     %10zu                  %s  (%s to %s)\n", q * 100.0,
                pmf_quantile(r, q), label, lo, hi);
    }
}

static void print_checkpoints(FILE *out, const report_info *info, const sim_result *r)
{
    fprintf(out, "\nReview checkpoints: registrations by the end of each date\n");
    fprintf(out, "  %-10s  %7s  %4s %4s %4s %4s %4s %4s %4s  %s\n", "date", "mean", "5%", "10%",
            "25%", "50%", "75%", "90%", "95%", "P(target reached)");
    for (size_t k = 0; k < info->n_checkpoints; k++) {
        const hist *h = &r->at_checkpoint[k];
        char d[11];
        date_format(info->checkpoint_date[k], d);
        fprintf(out, "  %-10s  %7.3f ", d, hist_mean(h));
        for (int i = 0; i < REPORT_N_QUANTILES; i++)
            fprintf(out, " %4zu", hist_quantile(h, report_quantiles[i]));
        double reached = h->total ? (double)hist_count_at_least(h, r->target) / (double)h->total : 0;
        fprintf(out, "  %.4f\n", reached);
    }
}

static void print_units(FILE *out, const report_info *info, const sim_result *r)
{
    fprintf(out, "\nBy %s, by the deadline: mean registered (from referrals), P(none)\n",
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

void report_print(FILE *out, const report_info *info, const sim_result *r, int threads,
                  double seconds)
{
    info->describe(info->describe_arg, out);
    fprintf(out, "Run           %llu trials, seed %llu, %d thread%s, %.2f s%s\n",
            (unsigned long long)r->trials, (unsigned long long)info->seed, threads,
            threads == 1 ? "" : "s", seconds, r->interrupted ? " (interrupted)" : "");
    print_headline(out, info, r);
    print_distribution(out, r);
    print_quantiles(out, info, r);
    print_checkpoints(out, info, r);
    print_units(out, info, r);
}

/* ---- files: written under temporary names, renamed into place together ---- */

#define MAX_OUT_FILES 8

typedef struct out_set {
    const char *dir;
    size_t n;
    char *tmp[MAX_OUT_FILES], *final[MAX_OUT_FILES];
} out_set;

static char *path_join(const char *dir, const char *prefix, const char *name)
{
    size_t len = strlen(dir) + strlen(prefix) + strlen(name) + 32;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s%s", dir, prefix, name);
    return p;
}

static FILE *out_open(out_set *s, const char *name, char *err, size_t errlen)
{
    if (s->n == MAX_OUT_FILES)
        return NULL;
    char prefix[48];
    snprintf(prefix, sizeof prefix, ".accrue-%ld-", (long)getpid());
    s->tmp[s->n] = path_join(s->dir, prefix, name);
    s->final[s->n] = path_join(s->dir, "", name);
    if (!s->tmp[s->n] || !s->final[s->n]) {
        free(s->tmp[s->n]);
        free(s->final[s->n]);
        set_err(err, errlen, name, "out of memory", "");
        return NULL;
    }
    FILE *f = fopen(s->tmp[s->n], "w");
    if (!f) {
        set_err(err, errlen, s->tmp[s->n], "cannot create", strerror(errno));
        free(s->tmp[s->n]);
        free(s->final[s->n]);
        return NULL;
    }
    s->n++;
    return f;
}

/* Closes f, reporting any write error (a full disk shows up here). */
static int out_close(out_set *s, FILE *f, char *err, size_t errlen)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad)
        set_err(err, errlen, s->tmp[s->n - 1], "write failed", strerror(errno));
    return bad ? -1 : 0;
}

static void out_release(out_set *s, int remove_tmp)
{
    for (size_t i = 0; i < s->n; i++) {
        if (remove_tmp)
            unlink(s->tmp[i]);
        free(s->tmp[i]);
        free(s->final[i]);
    }
    s->n = 0;
}

static int out_commit(out_set *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n; i++)
        if (rename(s->tmp[i], s->final[i]) != 0) {
            set_err(err, errlen, s->final[i], "cannot rename into place", strerror(errno));
            out_release(s, 1);
            return -1;
        }
    out_release(s, 0);
    return 0;
}

int report_check_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (mkdir(dir, 0777) != 0) {
            set_err(err, errlen, dir, "cannot create the output folder", strerror(errno));
            return -1;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        set_err(err, errlen, dir, "not a folder; --out expects a folder", "");
        return -1;
    }
    out_set s = {.dir = dir};
    FILE *f = out_open(&s, "probe", err, errlen);
    if (!f)
        return -1;
    int rc = out_close(&s, f, err, errlen);
    out_release(&s, 1);
    return rc;
}

/* ---- the CSV files ---- */

/* A CSV field: quoted, with embedded quotes doubled (names come from the scenario files). */
static void write_csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
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
    fprintf(f, "target,%zu\n", r->target);
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
    report_completion_label(info, r, hist_quantile(&r->completion, 0.5), label, sizeof label);
    fprintf(f, "completion_median,%s\n", label);
}

static void write_distribution(FILE *f, const sim_result *r)
{
    size_t lo, hi;
    pmf_rows(r, &lo, &hi);
    fprintf(f, "enrolled,probability,probability_at_least,probability_se,probability_plain\n");
    for (size_t n = lo; n < hi; n++)
        fprintf(f, "%zu,%.6g,%.6g,%.3g,%.6g\n", n, pmf_at(r, n), pmf_at_least(r, n),
                pmf_se_at(r, n), plain_at(r, n));
}

static void write_quantiles(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "quantile,enrolled_at_deadline,completion_date,completion_date_low,"
               "completion_date_high\n");
    for (int i = 0; i < REPORT_N_QUANTILES; i++) {
        double q = report_quantiles[i];
        char label[32], lo[32], hi[32];
        report_completion_label(info, r, hist_quantile(&r->completion, q), label, sizeof label);
        completion_quantile_interval(info, r, q, lo, hi, sizeof lo);
        fprintf(f, "%.2f,%zu,%s,%s,%s\n", q, pmf_quantile(r, q), label, lo, hi);
    }
}

/* Monthly from the start: P(target reached by the end of the day before each month's date),
 * up to the end of the followed horizon. */
static void write_completion(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "date,probability_reached,probability_reached_se\n");
    date_t last = info->start + (date_t)r->n_days - 1;
    for (int k = 0;; k++) {
        date_t d = date_add_months(info->start, k);
        if (d > last)
            d = last;
        char ds[11];
        date_format(d, ds);
        double p = reached_by(r, (long)(d - info->start));
        fprintf(f, "%s,%.6g,%.3g\n", ds, p, r->trials ? sqrt(p * (1 - p) / (double)r->trials) : 0);
        if (d == last)
            break;
    }
}

static void write_checkpoints(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "date,mean,q05,q10,q25,q50,q75,q90,q95,mean_se,probability_target_reached\n");
    for (size_t k = 0; k < info->n_checkpoints; k++) {
        const hist *h = &r->at_checkpoint[k];
        char d[11];
        date_format(info->checkpoint_date[k], d);
        fprintf(f, "%s,%.6g", d, hist_mean(h));
        for (int i = 0; i < REPORT_N_QUANTILES; i++)
            fprintf(f, ",%zu", hist_quantile(h, report_quantiles[i]));
        double se = h->total > 1 ? sqrt(hist_variance(h) / (double)(h->total - 1)) : 0.0;
        double reached = h->total ? (double)hist_count_at_least(h, r->target) / (double)h->total : 0;
        fprintf(f, ",%.3g,%.6g\n", se, reached);
    }
}

static void write_units(FILE *f, const report_info *info, const sim_result *r)
{
    fprintf(f, "%s,mean_registered,probability_none,mean_registered_se,probability_none_se\n",
            info->unit_label);
    for (size_t u = 0; u < r->n_units; u++) {
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

int report_write(const char *dir, const report_info *info, const sim_result *r, char *err,
                 size_t errlen)
{
    static const struct {
        const char *name;
        writer_fn write;
    } files[] = {
        {"summary.csv", write_summary},       {"enrolled_at_deadline.csv", write_distribution_w},
        {"quantiles.csv", write_quantiles},   {"completion.csv", write_completion},
        {"checkpoints.csv", write_checkpoints}, {"sites.csv", write_units},
    };
    out_set s = {.dir = dir};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f = out_open(&s, files[i].name, err, errlen);
        if (!f) {
            out_release(&s, 1);
            return -1;
        }
        files[i].write(f, info, r);
        if (out_close(&s, f, err, errlen) != 0) {
            out_release(&s, 1);
            return -1;
        }
    }
    return out_commit(&s, err, errlen);
}

int report_write_exact(const char *dir, const char *scenario_name, const double *pmf,
                       size_t len, size_t target, double mean, char *err, size_t errlen)
{
    out_set s = {.dir = dir};
    FILE *f = out_open(&s, "summary.csv", err, errlen);
    if (!f)
        return -1;
    double p = 0.0;
    for (size_t n = len; n-- > target;)
        p += pmf[n];
    fprintf(f, "key,value\nscenario,");
    write_csv_field(f, scenario_name);
    fprintf(f, "\nmethod,exact\ntarget,%zu\n", target);
    fprintf(f, "p_success,%.10f\np_success_se,0\nmean_enrolled,%.10f\n", p, mean);
    if (out_close(&s, f, err, errlen) != 0 || !(f = out_open(&s, "enrolled_at_deadline.csv", err, errlen))) {
        out_release(&s, 1);
        return -1;
    }
    fprintf(f, "enrolled,probability,probability_at_least\n");
    double at_least = 1.0, tail = 0.0;
    for (size_t n = len; n-- > 0;)
        tail += pmf[n];
    at_least = tail;
    for (size_t n = 0; n < len; n++) {
        if (at_least >= PMF_ROW_EPS || pmf[n] >= PMF_ROW_EPS)
            fprintf(f, "%zu,%.10g,%.10g\n", n, pmf[n], at_least);
        at_least -= pmf[n];
    }
    if (out_close(&s, f, err, errlen) != 0) {
        out_release(&s, 1);
        return -1;
    }
    return out_commit(&s, err, errlen);
}
