/* accrue sweep and accrue solve: what-if without editing files (DESIGN.md section 4). Every
 * point of a sweep and every step of a solve is the scenario with overrides (--set and the
 * varied key) run on the same seed, so that the points share their trials' up-front draws
 * (common random numbers, sim.h's streams per purpose): differences between points are far more
 * precise than the points. Where the exact mode applies within its work bound, a point's
 * P(success) is exact instead (SE 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "figures.h"
#include "plot.h"
#include "whatif.h"
#include "../models/overrides.h"

#define MAX_POINTS 2500

/* One evaluated point. */
typedef struct point {
    double value[CLI_MAX_VARY];
    double p, se;             /* the best estimate: exact (se 0) or simulated */
    int exact;
    double mean;              /* mean registrations by the deadline */
    double exact_p;           /* the exact value beside a simulated one, or NAN */
    date_t median;            /* completion median; 0 when beyond the horizon */
    int median_after;         /* the median lies beyond the followed horizon */
} point;

/* Prints one paragraph (text ending in a newline) within 80 columns, wrapped at spaces, the
 * continuation lines starting at column 0 as prose does. A word longer than a line stays whole. */
static void put_prose(const char *text)
{
    const char *p = text;
    while (*p && *p != '\n') {
        size_t n = strcspn(p, "\n");
        if (n > 80) {
            size_t cut = 80;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(p, " \n");
            n = cut;
        }
        printf("%.*s\n", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

/* A varied key: its name, kind and values. */
typedef struct varied {
    char key[256];
    whatif_kind kind;
    size_t n;
    double *values;
} varied;

static whatif_kind kind_of(override_kind k)
{
    return k == OVERRIDE_DATE ? WHATIF_DATE : k == OVERRIDE_WHOLE ? WHATIF_WHOLE : WHATIF_NUMBER;
}

/* Parses "KEY=VALUES" of --vary. */
static int parse_vary(const char *text, varied *v)
{
    const char *eq = strchr(text, '=');
    char err[ERRLEN];
    int dir;
    if (!eq || eq == text || (size_t)(eq - text) >= sizeof v->key)
        return cli_usage_error("--vary '%s': expected KEY=V1,V2,... or KEY=FROM:TO:STEP", text);
    snprintf(v->key, sizeof v->key, "%.*s", (int)(eq - text), text);
    override_kind k = overrides_kind(v->key, &dir);
    if (k == OVERRIDE_UNKNOWN || k == OVERRIDE_TEXT)
        return cli_usage_error("--vary '%s': not a key with values to vary; expected a trial "
                               "key, SITE.COLUMN, rate_factor or extra_sites", text);
    v->kind = kind_of(k);
    v->values = malloc(WHATIF_MAX_VALUES * sizeof *v->values);
    if (!v->values)
        return 1;
    v->n = whatif_values(eq + 1, v->kind, v->values, err, sizeof err);
    if (v->n == 0) {
        fprintf(stderr, "accrue: --vary %s: %s\n", v->key, err);
        return EXIT_USAGE;
    }
    return 0;
}

/* "KEY=VALUE" for value x of kind. */
static void assignment(char *buf, size_t len, const char *key, whatif_kind kind, double x)
{
    char v[64];
    if (kind == WHATIF_NUMBER)
        snprintf(v, sizeof v, "%.17g", x);
    else
        whatif_format(kind, x, v, sizeof v);
    snprintf(buf, len, "%s=%s", key, v);
}

/* What evaluate does with the exact mode: nothing, compute it beside the simulation, or use it
 * instead of simulating when it is within its work bound. */
enum { EXACT_NONE, EXACT_BESIDE, EXACT_INSTEAD };

/* The exact mode's work bound for a point of a sweep or a step of a solve: a tenth of a run's,
 * since there are many of them. */
#define POINT_EXACT_WORK 1e7

/* Loads the scenario with the options' overrides and the extra assignments, runs it (exactly
 * or by simulation with `trials`, see the policy) into *pt. Returns 0, EXIT_USAGE (a bad value:
 * the message said which) or another status after a message. */
static int evaluate(const options *o, const char *const *extra, size_t n_extra,
                    unsigned long long trials, int exact_policy, point *pt)
{
    char err[ERRLEN] = "";
    scenario *s = cli_load_with(o, 0, extra, n_extra);
    if (!s)
        return EXIT_USAGE;
    model *m = model_prepare(s, err, sizeof err);
    if (!m) {
        fprintf(stderr, "accrue: %s\n", err);
        scenario_free(s);
        return EXIT_USAGE;
    }
    double exact_p = NAN, exact_mean = NAN;
    int have_exact = 0;
    if (exact_policy != EXACT_NONE) {
        exact_dist d;
        have_exact = model_exact(m, POINT_EXACT_WORK, &d, err, sizeof err) == 0;
        if (have_exact) {
            exact_p = exact_p_at_least(&d, s->target);
            exact_mean = model_exact_mean(m);
            exact_dist_free(&d);
        }
    }
    pt->exact_p = exact_p;
    int rc = 0;
    if (have_exact && exact_policy == EXACT_INSTEAD) {
        pt->p = exact_p;
        pt->se = 0.0;
        pt->exact = 1;
        pt->mean = exact_mean;
        pt->median = 0;
        pt->median_after = -1;   /* not computed */
    } else {
        sim_model sim = model_sim(m);
        double seconds;
        options quiet = *o;
        quiet.quiet = 1;
        sim_result *r = cli_simulate(&quiet, &sim, trials, &seconds, err, sizeof err);
        if ((rc = cli_simulation_status(r, err)) == 0) {
            pt->p = r->p_success.mean;
            pt->se = r->p_success.se;
            pt->exact = 0;
            pt->mean = r->mean.mean;
            size_t slot = hist_quantile(&r->completion, 0.5);
            pt->median_after = slot > (size_t)r->n_days;
            pt->median = slot == 0 ? s->as_of - 1 : s->as_of + (date_t)slot - 1;
        }
        sim_result_free(r);
    }
    model_free(m);
    scenario_free(s);
    return rc;
}

/* The base scenario's assumptions (with the --set overrides), as every report begins. */
static int print_assumptions(const options *o)
{
    char err[ERRLEN] = "";
    scenario *s = cli_load(o, 0);
    model *m = s ? model_prepare(s, err, sizeof err) : NULL;
    if (!m) {
        if (s)
            fprintf(stderr, "accrue: %s\n", err);
        scenario_free(s);
        return EXIT_USAGE;
    }
    cli_describe(o, m, stdout);
    printf("\n");
    model_free(m);
    scenario_free(s);
    return 0;
}

/* ---- sweep ---- */

static void print_point_row(FILE *f, const varied *v, size_t n_vary, const point *pt)
{
    char buf[64];
    for (size_t k = 0; k < n_vary; k++) {
        whatif_format(v[k].kind, pt->value[k], buf, sizeof buf);
        fprintf(f, "%12s  ", buf);
    }
    fprintf(f, "%10.4f  %9.2g  %8.3f  ", pt->p, pt->se, pt->mean);
    if (pt->median_after < 0)
        fprintf(f, "%s\n", "(exact)");
    else if (pt->median_after)
        fprintf(f, "after horizon\n");
    else {
        date_format(pt->median, buf);
        fprintf(f, "%s\n", buf);
    }
}

static void csv_point_row(FILE *f, const varied *v, size_t n_vary, const point *pt)
{
    char buf[64];
    for (size_t k = 0; k < n_vary; k++) {
        whatif_format(v[k].kind, pt->value[k], buf, sizeof buf);
        fprintf(f, "%s,", buf);
    }
    fprintf(f, "%.6g,%.3g,%.6g,", pt->p, pt->se, pt->mean);
    if (pt->median_after == 0) {
        date_format(pt->median, buf);
        fprintf(f, "%s", buf);
    }
    fprintf(f, ",%s", pt->median_after > 0 ? "after" : "");
    if (!isnan(pt->exact_p))
        fprintf(f, ",%.8f\n", pt->exact_p);
    else
        fprintf(f, ",\n");
}

/* The sweep's figure: P(success) against the first key, with 95 % bands, one line per value of
 * the second key. */
static void sweep_figure(plot_text *t, const varied *v, size_t n_vary, const point *pts,
                         size_t n_pts, double goal_line)
{
    double lo = v[0].values[0], hi = v[0].values[v[0].n - 1];
    plot_frame f = plot_frame_of(720, 360, lo, hi > lo ? hi : lo + 1, 0.0, 1.0);
    char title[320];
    snprintf(title, sizeof title, "P(success) against %s", v[0].key);
    plot_begin(t, 720, 360, title);
    double ticks[16];
    size_t n = plot_ticks(0.0, 1.0, 6, 0.0, ticks);
    plot_axis_y(t, &f, ticks, n, 1, "P(target reached by the deadline)");
    if (v[0].kind == WHATIF_DATE) {
        date_t dt[16];
        size_t nd = plot_date_ticks((date_t)lo, (date_t)hi, 9, dt);
        plot_axis_x_dates(t, &f, dt, nd, v[0].key);
    } else {
        n = plot_ticks(lo, hi, 9, v[0].kind == WHATIF_WHOLE ? 1.0 : 0.0, ticks);
        plot_axis_x(t, &f, ticks, n, v[0].key);
    }
    static const char *const colour[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                         "#56B4E9", "#D55E00", "#000000", "#F0E442"};
    size_t lines = n_vary > 1 ? v[1].n : 1, per = v[0].n;
    double *x = malloc(per * sizeof *x), *y = malloc(per * sizeof *y);
    double *a = malloc(per * sizeof *a), *b = malloc(per * sizeof *b);
    const char *names[8], *cols[8];
    char label[8][128];
    for (size_t l = 0; l < lines && x && y && a && b; l++) {
        for (size_t i = 0; i < per && l * per + i < n_pts; i++) {
            const point *p = &pts[l * per + i];
            x[i] = p->value[0];
            y[i] = p->p;
            a[i] = fmax(0.0, p->p - 1.96 * p->se);
            b[i] = fmin(1.0, p->p + 1.96 * p->se);
        }
        plot_band(t, &f, x, a, b, per, colour[l % 8], 0.2);
        plot_line(t, &f, x, y, per, colour[l % 8], 2.0, 0);
        if (n_vary > 1 && l < 8) {
            char vb[64];
            whatif_format(v[1].kind, v[1].values[l], vb, sizeof vb);
            snprintf(label[l], sizeof label[l], "%.40s = %s", v[1].key, vb);
            names[l] = label[l];
            cols[l] = colour[l];
        }
    }
    if (goal_line > 0.0)
        plot_hline(t, &f, goal_line, "#c0392b", "goal");
    if (n_vary > 1)
        plot_legend(t, &f, cols, names, lines < 8 ? lines : 8);
    plot_end(t);
    free(x);
    free(y);
    free(a);
    free(b);
}

static const char *const sweep_files[] = {"sweep.csv", "sweep.svg", NULL};

/* sweep.csv and sweep.svg. */
typedef struct sweep_out {
    const varied *v;
    size_t n_vary, n_pts;
    const point *pts;
} sweep_out;

static void sweep_csv(FILE *f, const void *arg)
{
    const sweep_out *w = arg;
    for (size_t k = 0; k < w->n_vary; k++)
        fprintf(f, "%s,", w->v[k].key);
    fprintf(f, "p_success,p_success_se,mean_enrolled,completion_median,completion_censored,"
               "p_success_exact\n");
    for (size_t i = 0; i < w->n_pts; i++)
        csv_point_row(f, w->v, w->n_vary, &w->pts[i]);
}

static void sweep_svg(FILE *f, const void *arg)
{
    const sweep_out *w = arg;
    plot_text svg = {0};
    sweep_figure(&svg, w->v, w->n_vary, w->pts, w->n_pts, 0.0);
    if (!svg.failed)
        fwrite(svg.s, 1, svg.len, f);
    else
        fputs("<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n", f);
    plot_text_free(&svg);
}

static int write_sweep(const options *o, const varied *v, size_t n_vary, const point *pts,
                       size_t n_pts)
{
    sweep_out w = {v, n_vary, n_pts, pts};
    cli_file files[2] = {{"sweep.csv", sweep_csv, &w}, {"sweep.svg", sweep_svg, &w}};
    return cli_write_files(o, sweep_files, files, 2);
}

int cmd_sweep(const options *o)
{
    varied v[CLI_MAX_VARY];
    int rc = 0;
    memset(v, 0, sizeof v);
    if (o->n_vary == 0)
        return cli_usage_error("%s", "sweep needs --vary KEY=V1,V2,... (or FROM:TO:STEP)");
    for (size_t k = 0; k < o->n_vary && rc == 0; k++)
        rc = parse_vary(o->vary[k], &v[k]);
    size_t n_pts = o->n_vary == 2 ? v[0].n * v[1].n : v[0].n;
    if (rc == 0 && n_pts > MAX_POINTS)
        rc = cli_usage_error("sweep: %s points; at most 2500", "too many");
    if (rc == 0 && o->out && cli_check_out_dir(o) != 0)
        rc = EXIT_USAGE;
    point *pts = rc == 0 ? calloc(n_pts, sizeof *pts) : NULL;
    if (rc == 0 && !pts)
        rc = 1;
    /* Every point's scenario is read first, so that a bad value is refused before anything
     * is simulated; then the base scenario's assumptions head the report. */
    for (size_t i = 0; i < n_pts && rc == 0; i++) {
        char a[2][320];
        const char *extra[2] = {a[0], a[1]};
        assignment(a[0], sizeof a[0], v[0].key, v[0].kind, v[0].values[i % v[0].n]);
        if (o->n_vary == 2)
            assignment(a[1], sizeof a[1], v[1].key, v[1].kind, v[1].values[i / v[0].n]);
        scenario *s = cli_load_with(o, 0, extra, o->n_vary);
        if (!s) {
            fprintf(stderr, "accrue: (from --vary %s%s%s)\n", a[0], o->n_vary == 2 ? " " : "",
                    o->n_vary == 2 ? a[1] : "");
            rc = EXIT_USAGE;
        }
        scenario_free(s);
    }
    if (rc == 0)
        rc = print_assumptions(o);
    for (size_t i = 0; i < n_pts && rc == 0; i++) {
        char a[2][320];
        const char *extra[2] = {a[0], a[1]};
        size_t i0 = i % v[0].n, i1 = i / v[0].n;
        pts[i].value[0] = v[0].values[i0];
        assignment(a[0], sizeof a[0], v[0].key, v[0].kind, v[0].values[i0]);
        if (o->n_vary == 2) {
            pts[i].value[1] = v[1].values[i1];
            assignment(a[1], sizeof a[1], v[1].key, v[1].kind, v[1].values[i1]);
        }
        rc = evaluate(o, extra, o->n_vary, o->trials, EXACT_BESIDE, &pts[i]);
        if (rc == 0 && !o->quiet && isatty(STDERR_FILENO))
            fprintf(stderr, "\raccrue: sweep point %zu of %zu   ", i + 1, n_pts);
    }
    if (!o->quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\r%40s\r", "");
    if (rc == 0) {
        char line[1024];
        snprintf(line, sizeof line, "Sweep of %s%s%s: %zu points, %llu trials each, seed %llu\n",
                 v[0].key, o->n_vary == 2 ? " and " : "", o->n_vary == 2 ? v[1].key : "", n_pts,
                 (unsigned long long)o->trials, (unsigned long long)o->seed);
        put_prose(line);
        put_prose("Every point runs on the same seed: neighbouring points share their draws, so "
                  "their difference is far more precise than the SE of either.\n");
        printf("\n");
        for (size_t k = 0; k < o->n_vary; k++)
            printf("%12.12s  ", v[k].key);
        printf("%10s  %9s  %8s  %s\n", "P(success)", "SE", "mean", "median completion");
        for (size_t i = 0; i < n_pts; i++)
            print_point_row(stdout, v, o->n_vary, &pts[i]);
        if (!cli_report_reached_stdout())
            rc = 1;
    }
    if (rc == 0 && o->out) {
        rc = write_sweep(o, v, o->n_vary, pts, n_pts);
        if (rc == 0)
            printf("\nTables written to %s/\n", o->out);
    }
    free(pts);
    for (size_t k = 0; k < CLI_MAX_VARY; k++)
        free(v[k].values);
    return rc;
}

/* ---- solve ---- */

typedef struct solve_ctx {
    const options *o;
    char key[256];
    whatif_kind kind;
    int direction;            /* +1: P grows with the key; -1: the search runs on -key */
    int use_exact;
    int failed;
} solve_ctx;

static int solve_eval(void *arg, double x, unsigned long long trials, double *p, double *se)
{
    solve_ctx *c = arg;
    char a[320];
    const char *extra[1] = {a};
    point pt;
    assignment(a, sizeof a, c->key, c->kind, c->direction * x);
    int rc = evaluate(c->o, extra, 1, trials ? trials : c->o->trials,
                      c->use_exact ? EXACT_INSTEAD : EXACT_NONE, &pt);
    if (rc != 0) {
        c->failed = rc;
        return -1;
    }
    *p = pt.p;
    *se = pt.se;
    return 0;
}

/* The default range of a key when --range is not given, and how far it may grow when P falls
 * short at its end: probabilities [0, 1]; rate_factor [0, 2] growing to 100; a rate [0, 2]
 * growing to 100,000; extra_sites [0, 4] growing to 1,000; counts [0, 100] growing to
 * 1,000,000 (target from 1); dates from the scenario's as_of to 5 years past its deadline,
 * growing to 100 years. */
static void default_range(const options *o, const solve_ctx *c, double *lo, double *hi,
                          double *hi_max)
{
    const char *k = c->key, *col = strrchr(k, '.');
    const char *base = col ? col + 1 : k;
    *lo = 0.0;
    *hi = 100.0;
    *hi_max = 1e6;
    if (!strcmp(base, "screen_pass") || !strcmp(base, "selfpay_consent") ||
        !strcmp(base, "opens")) {
        *hi = *hi_max = 1.0;
    } else if (!strcmp(k, "rate_factor")) {
        *hi = 2.0;
        *hi_max = 100.0;
    } else if (!strcmp(base, "rate")) {
        *hi = 2.0;
        *hi_max = 1e5;
    } else if (!strcmp(k, "extra_sites")) {
        *hi = 4.0;
        *hi_max = 1000.0;
    } else if (!strcmp(k, "target")) {
        *lo = 1.0;
    }
    if (c->kind == WHATIF_DATE) {
        scenario *s = cli_load(o, 0);
        date_t d = s ? s->deadline : date_from_ymd(2030, 1, 1);
        *lo = (double)(s ? s->as_of : d);
        *hi = (double)date_add_months(d, 60);
        *hi_max = (double)date_add_months(d, 1200);
        scenario_free(s);
    }
}

static const char *const solve_files[] = {"solve.csv", NULL};

/* solve.csv: the answer as one row. */
typedef struct solve_row {
    const options *o;
    const solve_ctx *c;
    const whatif_answer *a;
} solve_row;

static void solve_csv(FILE *f, const void *arg)
{
    const solve_row *r = arg;
    const solve_ctx *c = r->c;
    const whatif_answer *a = r->a;
    static const char *const status[] = {"found", "already", "out_of_reach"};
    char v[64], lo[64], hi[64];
    whatif_format(c->kind, c->direction * a->value, v, sizeof v);
    whatif_format(c->kind, c->direction * (c->direction > 0 ? a->low : a->high), lo, sizeof lo);
    whatif_format(c->kind, c->direction * (c->direction > 0 ? a->high : a->low), hi, sizeof hi);
    fprintf(f, "key,p,value,value_low,value_high,p_at_value,p_at_value_se,status,exact\n");
    fprintf(f, "%s,%.6g,%s,%s,%s,%.6g,%.3g,%s,%s\n", c->key, r->o->goal, v, lo, hi, a->p, a->se,
            status[a->status], c->use_exact ? "yes" : "no");
}

static int write_solve(const options *o, const solve_ctx *c, const whatif_answer *a)
{
    solve_row row = {o, c, a};
    cli_file file = {"solve.csv", solve_csv, &row};
    return cli_write_files(o, solve_files, &file, 1);
}

int cmd_solve(const options *o)
{
    solve_ctx c = {.o = o};
    if (!o->solve_for)
        return cli_usage_error("%s", "solve needs --for KEY and --p X");
    if (!(o->goal > 0.0 && o->goal < 1.0))
        return cli_usage_error("%s", "solve needs --p X with 0 < X < 1");
    snprintf(c.key, sizeof c.key, "%s", o->solve_for);
    override_kind k = overrides_kind(c.key, &c.direction);
    if (k == OVERRIDE_UNKNOWN || k == OVERRIDE_TEXT || c.direction == 0)
        return cli_usage_error("--for '%s': expected a key P(success) moves with in one "
                               "direction: a rate, rate_factor, extra_sites, screen_pass, "
                               "selfpay_consent, opens, target, enrolled, deadline",
                               o->solve_for);
    c.kind = kind_of(k);
    double lo, hi, hi_max;
    if (o->range) {
        char text[256], *colon;
        snprintf(text, sizeof text, "%s", o->range);
        if (!(colon = strchr(text, ':')))
            return cli_usage_error("--range '%s': expected LO:HI", o->range);
        *colon = '\0';
        if (whatif_parse_one(c.kind, text, &lo) || whatif_parse_one(c.kind, colon + 1, &hi) ||
            !(hi > lo))
            return cli_usage_error("--range '%s': expected LO:HI with LO < HI", o->range);
        hi_max = hi;
    } else {
        default_range(o, &c, &lo, &hi, &hi_max);
    }
    if (o->out && cli_check_out_dir(o) != 0)
        return EXIT_USAGE;
    int rc0 = print_assumptions(o);
    if (rc0 != 0)
        return rc0;
    /* The exact mode when it applies at both ends of the range: no Monte Carlo error at all. */
    point probe;
    char a[320];
    const char *extra[1] = {a};
    assignment(a, sizeof a, c.key, c.kind, lo);
    int rc = evaluate(o, extra, 1, 1, EXACT_INSTEAD, &probe);
    if (rc != 0)
        return rc;
    c.use_exact = probe.exact;
    if (c.use_exact) {
        assignment(a, sizeof a, c.key, c.kind, hi);
        if ((rc = evaluate(o, extra, 1, 1, EXACT_INSTEAD, &probe)) != 0)
            return rc;
        c.use_exact = probe.exact;
    }
    if (c.direction < 0) {   /* a key that lowers P: search -key, over a fixed range */
        double t = lo;
        lo = -hi;
        hi = hi_max = -t;
    }
    whatif_answer ans;
    double tol = c.kind == WHATIF_NUMBER ? fmax(1e-4 * (hi - lo), 1e-6) : 1.0;
    if (whatif_solve(solve_eval, &c, c.kind, lo, hi, hi_max, o->goal, tol, &ans) != 0)
        return c.failed ? c.failed : 1;
    char v[64], l[64], h[64], r0[64], r1[64];
    whatif_format(c.kind, c.direction * ans.value, v, sizeof v);
    whatif_format(c.kind, c.direction * (c.direction > 0 ? ans.low : ans.high), l, sizeof l);
    whatif_format(c.kind, c.direction * (c.direction > 0 ? ans.high : ans.low), h, sizeof h);
    whatif_format(c.kind, c.direction * (c.direction > 0 ? ans.range_lo : ans.range_hi), r0,
                  sizeof r0);
    whatif_format(c.kind, c.direction * (c.direction > 0 ? ans.range_hi : ans.range_lo), r1,
                  sizeof r1);
    printf("Solve: the %s %s at which P(success) >= %g\n",
           c.direction > 0 ? "smallest" : "largest", c.key, o->goal);
    char line[1024];
    snprintf(line, sizeof line, "Searched %s to %s, %s\n", r0, r1,
             c.use_exact ? "with the exact mode (no simulation)"
                         : "by simulation on one seed (common random numbers)");
    put_prose(line);
    if (ans.status == WHATIF_ALREADY)
        printf("Already reached at %s: P = %.4f\n", r0, ans.p);
    else if (ans.status == WHATIF_OUT_OF_REACH)
        printf(c.use_exact ? "Out of reach within the range: at %s, P = %.6f (exact)\n"
                           : "Out of reach within the range: at %s, P = %.4f (SE %.2g)\n",
               r1, ans.p, ans.se);
    else if (c.use_exact)
        printf("Answer: %s = %s (P = %.6f there)\n", c.key, v, ans.p);
    else
        printf("Answer: %s = %s (P = %.4f, SE %.2g there)\nMonte Carlo interval: %s to %s\n",
               c.key, v, ans.p, ans.se, l, h);
    rc = cli_report_reached_stdout() ? 0 : 1;
    if (rc == 0 && o->out) {
        rc = write_solve(o, &c, &ans);
        if (rc == 0)
            printf("\nTable written to %s/\n", o->out);
    }
    return rc;
}
