/* accrue report: the review board's bundle (DESIGN.md section 4.2). For one or several
 * scenarios, DIR/report.html, one self-contained page (inline SVG and CSS, no script, no
 * external resource, readable on screen and printed on A4): a plain-language headline, the
 * assumptions, the figures (fan chart, completion curve, the count at the deadline, each site's
 * contribution) and short tables; with several scenarios a comparison table and their
 * completion curves overlaid first. The figures are also written as DIR/figures/NAME.svg. */
#define _GNU_SOURCE   /* open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "figures.h"
#include "inputs.h"
#include "fan.h"
#include "outdir.h"
#include "plot.h"
#include "process.h"
#include "result_json.h"

/* One scenario of the bundle: its run and its fan (engine/fan.h). */
typedef struct bundle_item {
    scenario *s;
    model *m;
    sim_result *r;
    fan_table fan;
    report_info info;
    date_t *cp;
    const char **names;
    char exact_err[ERRLEN];
    char *assumptions;            /* the describer's text */
    /* Registrations before as_of from history.csv: the running count at each decision day. */
    size_t hist_n;
    date_t *hist_date;
    double *hist_count;
    cli_overrides overrides;      /* the folder's overrides.csv, then --set */
    inputs_copy inputs;
    result_json_args json;
    report_extra extra[3 + INPUTS_MAX_FILES];
} bundle_item;

/* Every name a bundle may hold, whatever its number of scenarios (an earlier bundle of more
 * scenarios is replaced whole): report.html, figures/K-STEM.svg, figures/completion-all.svg. */
#define FIGURES_PER_SCENARIO 4
static const char *const figure_stem[FIGURES_PER_SCENARIO] = {"fan", "completion",
                                                             "distribution", "sites"};
/* Room for a run's tables and inputs (report_table_names) in each scenario-K/ folder. */
#define TABLES_PER_SCENARIO 24
#define BUNDLE_NAMES (CLI_MAX_SCENARIOS * (FIGURES_PER_SCENARIO + TABLES_PER_SCENARIO) + 3)
static char bundle_name_text[BUNDLE_NAMES][64];
static const char *bundle_names[BUNDLE_NAMES];

/* ... and each scenario's tables and inputs as run --out writes them, in scenario-K/. */
static const char *const *bundle_files(void)
{
    size_t n = 0;
    bundle_names[n++] = "report.html";
    for (size_t k = 0; k < CLI_MAX_SCENARIOS; k++) {
        for (size_t f = 0; f < FIGURES_PER_SCENARIO; f++) {
            snprintf(bundle_name_text[n], sizeof bundle_name_text[n], "figures/%zu-%s.svg",
                     k + 1, figure_stem[f]);
            bundle_names[n] = bundle_name_text[n];
            n++;
        }
        const char *const *t = report_table_names();
        for (size_t i = 0; t[i] && i < TABLES_PER_SCENARIO; i++) {
            snprintf(bundle_name_text[n], sizeof bundle_name_text[n], "scenario-%zu/%s", k + 1,
                     t[i]);
            bundle_names[n] = bundle_name_text[n];
            n++;
        }
    }
    bundle_names[n++] = "figures/completion-all.svg";
    bundle_names[n++] = "compare.csv";
    bundle_names[n] = NULL;
    return bundle_names;
}

/* The inputs --out must not touch: every scenario folder. */
static void input_dirs(const options *o, const char **inputs)
{
    for (size_t k = 0; k < o->n_scenarios; k++)
        inputs[k] = o->scenario[k];
    inputs[o->n_scenarios] = NULL;
}

static void html_escape(plot_text *t, const char *s) { plot_escape(t, s); }

/* A probability in percent: 1 decimal from 1 %, 2 below (0.38 %), 2 significant digits below
 * 0.1 % (0.047 %), so that a small probability and its interval do not all read 0.4 %. */
static void pct(char *buf, size_t len, double p)
{
    if (p < 0.001 && p > 0.0)
        snprintf(buf, len, "%.2g %%", 100.0 * p);
    else if (p < 0.01 && p > 0.0)
        snprintf(buf, len, "%.2f %%", 100.0 * p);
    else
        snprintf(buf, len, "%.1f %%", 100.0 * p);
}

/* The English ordinal suffix of n: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st. */
static const char *ordinal(long n)
{
    long r100 = n % 100, r10 = n % 10;
    if (r100 >= 11 && r100 <= 13)
        return "th";
    return r10 == 1 ? "st" : r10 == 2 ? "nd" : r10 == 3 ? "rd" : "th";
}

/* ---- figures of one scenario ---- */

/* The trial's own registrations before as_of (history.csv): the running count, enrolled at
 * as_of, stepping up at each registration's decision day. Returns 0 or -1. */
static int build_history_points(bundle_item *it)
{
    const scenario *s = it->s;
    size_t n = 0;
    for (size_t i = 0; i < s->n_history; i++)
        n += s->history[i].outcome == HISTORY_REGISTERED && s->history[i].decided < s->as_of;
    if (n == 0)
        return 0;
    it->hist_date = malloc((n + 1) * sizeof *it->hist_date);
    it->hist_count = malloc((n + 1) * sizeof *it->hist_count);
    if (!it->hist_date || !it->hist_count)
        return -1;
    for (size_t i = 0; i < s->n_history; i++) {
        const history_row *h = &s->history[i];
        if (h->outcome != HISTORY_REGISTERED || h->decided >= s->as_of)
            continue;
        /* Insertion in date order (history.csv need not be sorted). */
        size_t at = it->hist_n;
        while (at > 0 && it->hist_date[at - 1] > h->decided) {
            it->hist_date[at] = it->hist_date[at - 1];
            at--;
        }
        it->hist_date[at] = h->decided;
        it->hist_n++;
    }
    /* The count by the end of each day: registrations before as_of that the history does not
     * list (enrolled counts them all) are taken as before its first. */
    double before = (double)s->enrolled - (double)n;
    for (size_t i = 0; i < n; i++)
        it->hist_count[i] = before + (double)(i + 1);
    return 0;
}

static void fan_figure(plot_text *t, const bundle_item *it)
{
    const fan_table *fan = &it->fan;
    size_t n = fan->n;
    date_t *date = malloc((n + 1) * sizeof *date);
    double (*q)[7] = malloc((n + 1) * sizeof *q);
    date_t *review = malloc((it->info.n_checkpoints + 1) * sizeof *review);
    if (date && q && review) {
        /* The start of as_of: only the enrolled, in every future. */
        date[0] = it->s->as_of;
        for (int j = 0; j < 7; j++)
            q[0][j] = (double)it->s->enrolled;
        for (size_t k = 0; k < n; k++) {
            date[k + 1] = fan->date[k];
            for (int j = 0; j < 7; j++)
                q[k + 1][j] = (double)fan->q[k][j];
        }
        for (size_t k = 0; k < it->info.n_checkpoints; k++)
            review[k] = it->info.checkpoint_date[k];
        fan_data d = {.n = n + 1, .date = date, .q = (const double (*)[7])q,
                      .target = (double)it->s->target, .start = it->s->as_of,
                      .deadline = it->s->deadline, .n_reviews = it->info.n_checkpoints,
                      .review = review, .n_observed = it->hist_n,
                      .observed_date = it->hist_date, .observed = it->hist_count};
        figure_fan(t, &d);
    } else {
        t->failed = 1;
    }
    free(date);
    free(q);
    free(review);
}

/* The completion curve's points: monthly from as_of to the end of the followed span. */
static size_t completion_points(const bundle_item *it, date_t **date, double **p)
{
    date_t last = it->s->as_of + (date_t)it->r->n_days - 1;
    size_t cap = 0;
    for (date_t d = it->s->as_of; d < last; d = date_add_months(d, 1))
        cap++;
    *date = malloc((cap + 2) * sizeof **date);
    *p = malloc((cap + 2) * sizeof **p);
    if (!*date || !*p)
        return 0;
    size_t n = 0;
    for (int k = 0;; k++) {
        date_t d = date_add_months(it->s->as_of, k);
        if (d > last)
            d = last;
        double se;
        (*date)[n] = d;
        (*p)[n++] = report_completion_reached(&it->info, it->r, d, &se);
        if (d == last)
            break;
    }
    return n;
}

static void distribution_figure(plot_text *t, const bundle_item *it)
{
    const sim_result *r = it->r;
    size_t len = r->pmf_len ? r->pmf_len : hist_extent(&r->at_deadline);
    double *p = malloc((len + 1) * sizeof *p);
    if (!p) {
        t->failed = 1;
        return;
    }
    size_t lo = len, hi = 0;
    for (size_t i = 0; i < len; i++) {
        p[i] = r->pmf_len ? r->pmf[i].mean : (double)r->at_deadline.bin[i] / (double)r->trials;
        if (p[i] >= 1e-4) {
            lo = i < lo ? i : lo;
            hi = i + 1;
        }
    }
    if (lo >= hi)
        lo = 0, hi = len ? 1 : 0;
    figure_distribution(t, lo, p + lo, hi - lo, (size_t)it->s->target, it->s->deadline);
    free(p);
}

static void sites_figure(plot_text *t, const bundle_item *it)
{
    size_t n = it->s->n_sites;
    double *mean = malloc((n + 1) * sizeof *mean);
    if (!mean) {
        t->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        mean[i] = it->r->unit_mean[i].mean;
    figure_sites(t, it->names, mean, n, it->s->deadline);
    free(mean);
}

/* ---- the page ---- */

static const char page_style[] =
    "body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:180mm;margin:0 auto;"
    "padding:8mm;line-height:1.4}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;border-bottom:1px solid #ccc;"
    "margin-top:28px}h3{font-size:14px;margin:18px 0 6px}"
    ".headline{font-size:16px;background:#f2f6fa;border-left:4px solid #08519c;"
    "padding:8px 12px}"
    "pre{font-size:10.5px;background:#fafafa;border:1px solid #eee;padding:6px;"
    "white-space:pre-wrap;overflow-wrap:anywhere}"
    "table{border-collapse:collapse;font-size:12px;margin:6px 0}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
    "figure{margin:10px 0;break-inside:avoid}figcaption{font-size:12px;color:#555}"
    "svg{display:block;max-width:100%;height:auto}"
    ".note{font-size:12px;color:#555}"
    "@page{size:A4;margin:12mm}@media print{body{padding:0}h2{break-before:auto}}";

/* n with a comma every three digits: 1,000,000. */
static void thousands(char *buf, size_t len, unsigned long long n)
{
    char digits[32];
    int d = snprintf(digits, sizeof digits, "%llu", n);
    size_t j = 0;
    for (int i = 0; i < d && j + 2 < len; i++) {
        if (i > 0 && (d - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = digits[i];
    }
    buf[j] = '\0';
}

static void headline(plot_text *t, const bundle_item *it)
{
    char p[32], lo[32], hi[32], day[11];
    const sim_estimate *e = &it->r->p_success;
    double l = fmax(0.0, e->mean - 1.96 * e->se), h = fmin(1.0, e->mean + 1.96 * e->se);
    pct(p, sizeof p, e->mean);
    pct(lo, sizeof lo, l);
    pct(hi, sizeof hi, h);
    date_format(it->s->deadline, day);
    char trials[32];
    thousands(trials, sizeof trials, it->r->trials);
    plot_printf(t, "<p class=\"headline\">A <b>%s</b> chance of reaching <b>%ld</b> patients "
                   "by <b>%s</b> (", p, it->s->target, day);
    if (e->se > 0.0)
        plot_printf(t, "95 %% interval %s to %s from %s simulated futures", lo, hi, trials);
    else
        plot_printf(t, "no simulation error: nothing in this scenario is uncertain but the "
                       "counts themselves, whose probabilities are computed, not sampled");
    if (it->info.has_exact)
        plot_printf(t, "; exact value %.4f", it->info.exact_p_success);
    size_t slot = hist_quantile(&it->r->completion, 0.5);
    char median[11];
    plot_printf(t, "). Expected registrations by then: %.1f", it->r->mean.mean);
    if (slot == 0)
        plot_printf(t, "; the target was met before the forecast began.</p>\n");
    else if (slot > (size_t)it->r->n_days)
        plot_printf(t, "; half of the futures do not reach the target within the %g years "
                       "followed after the deadline.</p>\n", it->s->horizon_years);
    else {
        date_format(it->s->as_of + (date_t)slot - 1, median);
        plot_printf(t, "; in half of the futures the %ld<sup>%s</sup> patient is registered by "
                       "%s.</p>\n", it->s->target, ordinal(it->s->target), median);
    }
}

static void quantile_table(plot_text *t, const bundle_item *it)
{
    plot_printf(t, "<table><tr><th>futures</th><th>registrations by the deadline</th>"
                   "<th>target reached by</th></tr>\n");
    for (int j = 0; j < 7; j++) {
        size_t n = report_deadline_quantile(it->r, report_quantiles[j]);
        size_t slot = hist_quantile(&it->r->completion, report_quantiles[j]);
        char when[40], day[11];
        if (slot == 0)
            snprintf(when, sizeof when, "before the start");
        else if (slot > (size_t)it->r->n_days)
            snprintf(when, sizeof when, "beyond the horizon");
        else {
            date_format(it->s->as_of + (date_t)slot - 1, day);
            snprintf(when, sizeof when, "%s", day);
        }
        plot_printf(t, "<tr><td>%.0f %%</td><td>%zu or fewer</td><td>%s</td></tr>\n",
                    100.0 * report_quantiles[j], n, when);
    }
    plot_printf(t, "</table>\n<p class=\"note\">Read a row as: in that share of the simulated "
                   "futures, the trial has at most that many registrations by the deadline, and "
                   "reaches its target by that date.</p>\n");
}

static void checkpoint_table(plot_text *t, const bundle_item *it)
{
    plot_printf(t, "<table><tr><th>review</th><th>mean</th><th>10 %%</th><th>50 %%</th>"
                   "<th>90 %%</th><th>target already reached</th></tr>\n");
    for (size_t k = 0; k < it->info.n_checkpoints; k++) {
        /* The run's estimates (at the deadline the headline's), as checkpoints.csv has them. */
        const report_info *in = &it->info;
        char day[11], reached[32];
        double se;
        date_format(in->checkpoint_date[k], day);
        pct(reached, sizeof reached, report_checkpoint_reached(in, it->r, k));
        plot_printf(t, "<tr><td>%s</td><td>%.1f</td><td>%zu</td><td>%zu</td><td>%zu</td>"
                       "<td>%s</td></tr>\n",
                    day, report_checkpoint_mean(in, it->r, k, &se),
                    report_checkpoint_quantile(in, it->r, k, 0.1),
                    report_checkpoint_quantile(in, it->r, k, 0.5),
                    report_checkpoint_quantile(in, it->r, k, 0.9), reached);
    }
    plot_printf(t, "</table>\n<p class=\"note\">A review that sees fewer registrations than "
                   "the 10 %% column is seeing a plan in trouble (<code>accrue track</code> "
                   "makes that check from the trial's history).</p>\n");
}

/* A figure inline in the page and as figures/NAME.svg (into *svg, the caller writes it). */
static void figure_block(plot_text *page, plot_text *svg, const char *caption)
{
    plot_printf(page, "<figure>%s<figcaption>", svg->s ? svg->s : "");
    html_escape(page, caption);
    plot_printf(page, "</figcaption></figure>\n");
}

typedef struct compare_rows {
    const compare_row *row;
    size_t n;
} compare_rows;

static void write_compare(FILE *f, const void *arg)
{
    const compare_rows *c = arg;
    compare_write_csv(f, c->row, c->n);
}

typedef struct figure_file {
    char name[64];
    plot_text svg;
} figure_file;

static void scenario_section(plot_text *t, const bundle_item *it, size_t k, figure_file *files)
{
    plot_printf(t, "<h2>");
    html_escape(t, it->s->name);
    plot_printf(t, "</h2>\n");
    headline(t, it);
    plot_printf(t, "<h3>Assumptions</h3>\n<pre>");
    html_escape(t, it->assumptions ? it->assumptions : "");
    plot_printf(t, "</pre>\n");
    static const char fan_reviews_caption[] =
        "Registrations by each review date and the deadline: the median future (line) and the "
        "bands that hold 50, 80 and 90 % of the simulated futures; the target as a dashed line.";
    static const char *const caption[4] = {
        "Registrations over time, month by month to a year past the deadline: the median "
        "future (line) and the bands that hold 50, 80 and 90 % of the simulated futures; the "
        "target as a dashed line, the deadline marked, the review dates as ticks.",
        "The chance that the target is reached by each date.",
        "How many patients by the deadline: the probability of each count; the darker bars "
        "reach the target.",
        "Each site's expected registrations by the deadline (candidates already in screening "
        "belong to no site)."};
    const char *const *stem = figure_stem;
    void (*draw[4])(plot_text *, const bundle_item *) = {fan_figure, NULL, distribution_figure,
                                                        sites_figure};
    plot_printf(t, "<h3>Figures</h3>\n");
    for (int f = 0; f < 4; f++) {
        figure_file *ff = &files[4 * k + (size_t)f];
        snprintf(ff->name, sizeof ff->name, "figures/%zu-%s.svg", k + 1, stem[f]);
        if (draw[f]) {
            draw[f](&ff->svg, it);
        } else {
            date_t *date = NULL;
            double *p = NULL;
            size_t n = completion_points(it, &date, &p);
            char label[32];
            snprintf(label, sizeof label, "%ld", it->s->target);
            completion_curve c = {it->s->name, n, date, p};
            figure_completion(&ff->svg, &c, 1, it->s->deadline, label);
            free(date);
            free(p);
        }
        /* A fan of review dates only (corrective action, engine/fan.h) says so. */
        int reviews_only = f == 0 && it->fan.n == it->info.n_checkpoints;
        figure_block(t, &ff->svg, reviews_only ? fan_reviews_caption : caption[f]);
    }
    plot_printf(t, "<h3>At the deadline</h3>\n");
    quantile_table(t, it);
    plot_printf(t, "<h3>At each review</h3>\n");
    checkpoint_table(t, it);
    plot_printf(t, "<p class=\"note\">This scenario's tables (as <code>accrue run --out</code> "
                   "writes them, with <code>fan.csv</code>, the fan chart's data), "
                   "<code>result.json</code> and its input files as read "
                   "(<code>inputs/</code>) are in the folder <code>scenario-%zu/</code> beside "
                   "this page.</p>\n", k + 1);
}

/* With several scenarios: their comparison (accrue compare's rows, also as compare.csv) and
 * their completion curves together. */
static void comparison_section(plot_text *t, bundle_item *items, size_t n, figure_file *overlay,
                               const compare_row *rows)
{
    plot_printf(t, "<h2>The scenarios side by side</h2>\n<table><tr><th>scenario</th>"
                   "<th>P(target by deadline)</th><th>SE</th><th>exact</th>"
                   "<th>mean at deadline</th><th>10 / 50 / 90 %%</th>"
                   "<th>median completion</th></tr>\n");
    completion_curve *c = calloc(n, sizeof *c);
    date_t **dates = calloc(n, sizeof *dates);
    double **ps = calloc(n, sizeof *ps);
    if (!dates || !ps) {
        free(c);
        c = NULL;
    }
    for (size_t k = 0; k < n; k++) {
        bundle_item *it = &items[k];
        const compare_row *row = &rows[k];
        const char *median = row->censored[0] == 'a'   ? "beyond horizon"
                             : row->censored[0] == 'b' ? "before start"
                                                       : row->median;
        plot_printf(t, "<tr><td>");
        html_escape(t, row->name);
        plot_printf(t, "</td><td>%.4f</td><td>%.2g</td><td>", row->p, row->se);
        if (row->has_exact)
            plot_printf(t, "%.4f", row->exact);
        else
            plot_printf(t, "&ndash;");
        plot_printf(t, "</td><td>%.2f</td><td>%zu / %zu / %zu</td><td>%s</td></tr>\n",
                    row->mean, row->q10, row->q50, row->q90, median);
        if (c) {
            c[k].name = it->s->name;
            c[k].n = completion_points(it, &dates[k], &ps[k]);
            c[k].date = dates[k];
            c[k].p = ps[k];
        }
    }
    plot_printf(t, "</table>\n<p class=\"note\">The same table as <code>accrue compare</code> "
                   "gives, in <code>compare.csv</code> beside this page.</p>\n");
    if (c) {
        char label[32];
        snprintf(label, sizeof label, "%ld", items[0].s->target);
        snprintf(overlay->name, sizeof overlay->name, "figures/completion-all.svg");
        figure_completion(&overlay->svg, c, n, items[0].s->deadline, label);
        figure_block(t, &overlay->svg, "The chance that the target is reached by each date, "
                                       "every scenario.");
    }
    for (size_t k = 0; dates && ps && k < n; k++) {
        free(dates[k]);
        free(ps[k]);
    }
    free(dates);
    free(ps);
    free(c);
}

/* ---- running and writing ---- */

/* Writes a text built in memory (a page or a figure). */
static void write_text(FILE *f, const void *arg)
{
    const plot_text *t = arg;
    if (t->s && !t->failed)
        fwrite(t->s, 1, t->len, f);
}

static int write_json(const void *arg, FILE *f)
{
    return result_json_write(f, arg);
}

static int run_item(const options *o, size_t k, bundle_item *it)
{
    char err[ERRLEN] = "";
    double seconds;
    if (!(it->s = cli_load(o, k)))
        return EXIT_USAGE;
    if (!(it->m = model_prepare(it->s, err, sizeof err)) ||
        cli_describe_run(o, it->s, it->m, &it->info, &it->cp, &it->names, it->exact_err,
                         sizeof it->exact_err) != 0) {
        fprintf(stderr, "accrue: %s: %s\n", it->s->source, err[0] ? err : "out of memory");
        return 1;
    }
    cli_overrides_of(o, it->s, &it->overrides);
    if (inputs_snapshot(cli_folder(o, k), it->overrides.set, it->overrides.n, it->overrides.like,
                        &it->inputs, err, sizeof err) != 0) {
        fprintf(stderr, "accrue: %s\n", err);
        return 1;
    }
    size_t len = 0;
    FILE *mem = open_memstream(&it->assumptions, &len);
    if (mem) {
        it->info.describe(it->info.describe_arg, mem);
        fclose(mem);
    }
    sim_model sim = model_sim(it->m);
    it->r = cli_simulate(o, &sim, o->trials, &seconds, err, sizeof err);
    int rc = cli_simulation_status(it->r, err);
    if (rc == 0)
        rc = fan_build(o, k, it->s, &it->info, it->r, &it->fan);
    if (rc != 0)
        return rc;
    if (build_history_points(it) != 0) {
        fprintf(stderr, "accrue: out of memory\n");
        return 1;
    }
    /* The scenario's tables as run --out writes them, with fan.csv and inputs/. */
    it->json = (result_json_args){it->s, it->overrides.set, it->overrides.n,
                                  it->overrides.like, &it->info, it->r, o->seed, o->target_se,
                                  CLI_VERSION, &it->fan};
    size_t n_extra = 0;
    if (it->info.n_extra)
        it->extra[n_extra++] = it->info.extra[0];
    it->extra[n_extra++] = (report_extra){"result.json", write_json, &it->json};
    it->extra[n_extra++] = (report_extra){"fan.csv", fan_write_csv, &it->fan};
    n_extra += inputs_extras(&it->inputs, it->extra + n_extra);
    it->info.extra = it->extra;
    it->info.n_extra = n_extra;
    return 0;
}

/* Writes the bundle as one set (outdir.h): report.html, the figures and each scenario's
 * folder. Returns the exit status. */
static void write_compare(FILE *f, const void *arg);

static int write_bundle(const options *o, const plot_text *page, const figure_file *files,
                        size_t n_files, const bundle_item *items, size_t n,
                        const compare_rows *cmp)
{
    char err[ERRLEN] = "";
    const char *inputs[CLI_MAX_SCENARIOS + 1];
    input_dirs(o, inputs);
    process_signals_defer();
    outdir *d = outdir_open(o->out, bundle_files(), inputs, err, sizeof err);
    int rc = d ? outdir_begin(d, err, sizeof err) : -1;
    for (size_t i = 0; i <= n_files && rc == 0; i++) {
        const char *name = i == 0 ? "report.html" : files[i - 1].name;
        const plot_text *t = i == 0 ? page : &files[i - 1].svg;
        FILE *f = outdir_create(d, name, err, sizeof err);
        if (!f) {
            rc = -1;
            break;
        }
        write_text(f, t);
        rc = outdir_close(d, f, name, err, sizeof err);
    }
    if (rc == 0 && n > 1) {
        FILE *f = outdir_create(d, "compare.csv", err, sizeof err);
        if (!f)
            rc = -1;
        else {
            write_compare(f, cmp);
            rc = outdir_close(d, f, "compare.csv", err, sizeof err);
        }
    }
    for (size_t k = 0; k < n && rc == 0; k++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "scenario-%zu/", k + 1);
        rc = report_write_into(d, prefix, &items[k].info, items[k].r, err, sizeof err);
    }
    return cli_finish_out(d, rc, err, sizeof err);
}

int cmd_report(const options *o)
{
    if (!o->out)
        return cli_usage_error("%s", "report needs --out DIR (the folder for report.html and "
                                     "its figures)");
    const char *inputs[CLI_MAX_SCENARIOS + 1];
    char err[ERRLEN] = "";
    input_dirs(o, inputs);
    outdir *check = outdir_open(o->out, bundle_files(), inputs, err, sizeof err);
    if (!check) {
        fprintf(stderr, "accrue: %s\n", err);
        return EXIT_USAGE;
    }
    outdir_free(check);
    size_t n = o->n_scenarios ? o->n_scenarios : 1;
    bundle_item *items = calloc(n, sizeof *items);
    figure_file *files = calloc(4 * n + 1, sizeof *files);
    int rc = items && files ? 0 : 1;
    compare_row *rows = calloc(n, sizeof *rows);
    if (!rows)
        rc = 1;
    for (size_t k = 0; k < n && rc == 0; k++) {
        rc = run_item(o, k, &items[k]);
        if (rc == 0) {
            compare_row_fill(&rows[k], items[k].s, k < o->n_scenarios ? o->scenario[k] : NULL,
                             items[k].r);
            rows[k].has_exact = items[k].info.has_exact;
            rows[k].exact = items[k].info.exact_p_success;
        }
    }
    plot_text page = {0};
    if (rc == 0) {
        plot_printf(&page, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                           "<title>accrue report</title><style>%s</style></head><body>\n",
                    page_style);
        char trials[32];
        thousands(trials, sizeof trials, o->trials);
        plot_printf(&page, "<h1>Recruitment forecast</h1>\n<p class=\"note\">accrue %s, %s "
                           "simulated futures per scenario, seed %llu. Every number below is "
                           "estimated from the assumptions printed with it; the same scenario "
                           "and seed give the same report.</p>\n",
                    CLI_VERSION, trials, (unsigned long long)o->seed);
        if (n > 1)
            comparison_section(&page, items, n, &files[4 * n], rows);
        for (size_t k = 0; k < n; k++)
            scenario_section(&page, &items[k], k, files);
        plot_printf(&page, "<p class=\"note\">Method: per-site Poisson-gamma recruitment "
                           "simulated interval by interval, with the exact conditional "
                           "probability of success of each simulated future averaged (see the "
                           "README of accrue).</p>\n</body></html>\n");
    }
    if (rc == 0) {
        /* The set: report.html and every figure. */
        size_t n_files = 4 * n + (n > 1);
        int failed = page.failed;
        for (size_t i = 0; i < n_files; i++)
            failed |= files[i].svg.failed;
        if (failed) {
            fprintf(stderr, "accrue: out of memory writing the report\n");
            rc = 1;
        } else {
            compare_rows cmp = {rows, n};
            rc = write_bundle(o, &page, files, n_files, items, n, &cmp);
            if (rc == 0)
                printf("Report written to %s/report.html (figures in %s/figures/, each "
                       "scenario's tables and inputs in %s/scenario-K/)\n", o->out, o->out,
                       o->out);
        }
    }
    plot_text_free(&page);
    for (size_t i = 0; files && i < 4 * n + 1; i++)
        plot_text_free(&files[i].svg);
    for (size_t k = 0; items && k < n; k++) {
        sim_result_free(items[k].r);
        fan_free(&items[k].fan);
        model_free(items[k].m);
        free(items[k].cp);
        free(items[k].names);
        free(items[k].assumptions);
        free(items[k].hist_date);
        free(items[k].hist_count);
        inputs_free(&items[k].inputs);
        scenario_free(items[k].s);
    }
    free(items);
    free(files);
    free(rows);
    return rc;
}
