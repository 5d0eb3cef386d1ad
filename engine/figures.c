/* The report's figures: see figures.h. Colours are a blue sequence for the bands (darker for
 * the narrower), red for the target and grey for dates; several scenarios take the
 * Okabe-Ito palette, which readers with colour-blindness can tell apart. */
#include "figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define WIDTH 720.0
#define HEIGHT 360.0
#define TARGET_COLOUR "#c0392b"
#define DATE_COLOUR "#666"
#define MEDIAN_COLOUR "#08306b"

static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#56B4E9", "#D55E00", "#F0E442", "#000000"};

static double dmax(double a, double b) { return a > b ? a : b; }

static void date_label(char *buf, size_t len, const char *what, date_t d)
{
    char s[11];
    date_format(d, s);
    snprintf(buf, len, "%s %s", what, s);
}

/* The x axis of dates from `from` to `to`. */
static void date_axis(plot_text *t, const plot_frame *f, date_t from, date_t to)
{
    date_t ticks[16];
    size_t n = plot_date_ticks(from, to, 9, ticks);
    plot_axis_x_dates(t, f, ticks, n, "date");
}

void figure_fan(plot_text *t, const fan_data *d)
{
    double top = d->target;
    for (size_t i = 0; i < d->n; i++)
        top = dmax(top, d->q[i][6]);
    for (size_t i = 0; i < d->n_observed; i++)
        top = dmax(top, d->observed[i]);
    date_t from = d->start, to = d->deadline;
    for (size_t i = 0; i < d->n_observed; i++)
        from = d->observed_date[i] < from ? d->observed_date[i] : from;
    for (size_t i = 0; i < d->n; i++)
        to = d->date[i] > to ? d->date[i] : to;
    plot_frame f = plot_frame_of(WIDTH, HEIGHT, (double)from, (double)to, 0.0, top * 1.08 + 1.0);
    plot_begin(t, WIDTH, HEIGHT, "Registrations over time: median with 50, 80 and 90 % bands");
    double ticks[16];
    size_t n = plot_ticks(0.0, top * 1.08 + 1.0, 7, 1.0, ticks);
    plot_axis_y(t, &f, ticks, n, 0, "registrations (enrolled included)");
    date_axis(t, &f, from, to);
    double *x = malloc((d->n + 1) * sizeof *x), *lo = malloc((d->n + 1) * sizeof *lo);
    double *hi = malloc((d->n + 1) * sizeof *hi), *mid = malloc((d->n + 1) * sizeof *mid);
    if (x && lo && hi && mid) {
        /* Bands 90 % (q05-q95), 80 % (q10-q90), 50 % (q25-q75), widest first. */
        static const int band[3][2] = {{0, 6}, {1, 5}, {2, 4}};
        static const char *const fill[3] = {"#c6dbef", "#9ecae1", "#6baed6"};
        for (int b = 0; b < 3; b++) {
            for (size_t i = 0; i < d->n; i++) {
                x[i] = (double)d->date[i];
                lo[i] = d->q[i][band[b][0]];
                hi[i] = d->q[i][band[b][1]];
            }
            plot_band(t, &f, x, lo, hi, d->n, fill[b], 1.0);
        }
        for (size_t i = 0; i < d->n; i++)
            mid[i] = d->q[i][3];
        plot_line(t, &f, x, mid, d->n, MEDIAN_COLOUR, 2.0, 0);
    }
    free(x);
    free(lo);
    free(hi);
    free(mid);
    for (size_t i = 0; i < d->n_reviews; i++)
        if (d->review[i] != d->deadline)
            plot_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\""
                           DATE_COLOUR "\" stroke-opacity=\"0.5\"/>\n",
                        plot_map(&f.x, (double)d->review[i]), f.bottom,
                        plot_map(&f.x, (double)d->review[i]), f.bottom - 8.0);
    for (size_t i = 0; i < d->n_observed; i++)
        plot_printf(t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#222\"/>\n",
                    plot_map(&f.x, (double)d->observed_date[i]), plot_map(&f.y, d->observed[i]));
    char label[64];
    snprintf(label, sizeof label, "target %.0f", d->target);
    plot_hline(t, &f, d->target, TARGET_COLOUR, label);
    date_label(label, sizeof label, "deadline", d->deadline);
    plot_vline(t, &f, (double)d->deadline, DATE_COLOUR, label);
    plot_legend(t, &f,
                (const char *const[]){"#c6dbef", "#9ecae1", "#6baed6", MEDIAN_COLOUR, "#222"},
                (const char *const[]){"90 % of futures", "80 %", "50 %", "median",
                                      "registered so far (history)"},
                d->n_observed ? 5 : 4);
    plot_end(t);
}

void figure_completion(plot_text *t, const completion_curve *c, size_t n_curves, date_t deadline,
                       const char *target_label)
{
    date_t from = deadline, to = deadline;
    for (size_t k = 0; k < n_curves; k++)
        if (c[k].n) {
            from = c[k].date[0] < from ? c[k].date[0] : from;
            to = c[k].date[c[k].n - 1] > to ? c[k].date[c[k].n - 1] : to;
        }
    /* Several curves: their legend goes below the axis title, one line each, so that it
     * covers no curve. */
    double legend = n_curves > 1 ? 16.0 * (double)(n_curves < 8 ? n_curves : 8) + 8.0 : 0.0;
    plot_frame f = plot_frame_of(WIDTH, HEIGHT, (double)from, (double)to, 0.0, 1.0);
    char title[160];
    snprintf(title, sizeof title, "Probability that %s is reached by each date", target_label);
    plot_begin(t, WIDTH, HEIGHT + legend, title);
    double ticks[16];
    size_t n = plot_ticks(0.0, 1.0, 6, 0.0, ticks);
    plot_axis_y(t, &f, ticks, n, 1, "P(target reached by date)");
    date_axis(t, &f, from, to);
    const char *colour[8], *name[8];
    for (size_t k = 0; k < n_curves; k++) {
        double *x = malloc((c[k].n + 1) * sizeof *x);
        if (!x)
            continue;
        for (size_t i = 0; i < c[k].n; i++)
            x[i] = (double)c[k].date[i];
        plot_line(t, &f, x, c[k].p, c[k].n, palette[k % 8], 2.0, 0);
        free(x);
        if (k < 8) {
            colour[k] = palette[k];
            name[k] = c[k].name;
        }
    }
    char label[40];
    date_label(label, sizeof label, "deadline", deadline);
    plot_vline(t, &f, (double)deadline, DATE_COLOUR, label);
    if (n_curves > 1) {
        plot_frame below = f;
        below.top = HEIGHT - 6.0;
        below.left = f.left - 10.0;
        plot_legend(t, &below, colour, name, n_curves < 8 ? n_curves : 8);
    }
    plot_end(t);
}

void figure_distribution(plot_text *t, size_t lo, const double *p, size_t n, size_t target,
                         date_t deadline)
{
    double top = 0.0;
    for (size_t i = 0; i < n; i++)
        top = dmax(top, p[i]);
    plot_frame f = plot_frame_of(WIDTH, HEIGHT, (double)lo - 0.5, (double)(lo + n) - 0.5, 0.0,
                                 top * 1.1 + 1e-9);
    char title[96], day[11];
    date_format(deadline, day);
    snprintf(title, sizeof title, "Registrations by %s: probability of each count", day);
    plot_begin(t, WIDTH, HEIGHT, title);
    double ticks[16];
    size_t nt = plot_ticks(0.0, top * 1.1 + 1e-9, 6, 0.0, ticks);
    plot_axis_y(t, &f, ticks, nt, 1, "probability");
    nt = plot_ticks((double)lo, (double)(lo + n - 1), 10, 1.0, ticks);
    plot_axis_x(t, &f, ticks, nt, "registrations by the deadline (enrolled included)");
    for (size_t i = 0; i < n; i++) {
        double x = (double)(lo + i);
        plot_bars(t, &f, &x, &p[i], 1, 0.8, lo + i >= target ? "#08519c" : "#9ecae1");
    }
    char label[32];
    snprintf(label, sizeof label, "target %zu", target);
    plot_vline(t, &f, (double)target - 0.5, TARGET_COLOUR, label);
    plot_legend(t, &f, (const char *const[]){"#9ecae1", "#08519c"},
                (const char *const[]){"below the target", "target reached"}, 2);
    plot_end(t);
}

void figure_sites(plot_text *t, const char *const *name, const double *mean, size_t n,
                  date_t deadline)
{
    double top = 0.0;
    for (size_t i = 0; i < n; i++)
        top = dmax(top, mean[i]);
    /* Horizontal bars, one row a site, names in the left margin. */
    double row = 22.0, height = 64.0 + row * (double)n, left = 200.0;
    plot_frame f = {.left = left, .top = 16.0, .right = WIDTH - 24.0, .bottom = height - 48.0};
    f.x = (plot_scale){0.0, top * 1.1 + 1e-9, f.left, f.right};
    f.y = (plot_scale){0.0, (double)n, f.top, f.bottom};
    char title[96], day[11];
    date_format(deadline, day);
    snprintf(title, sizeof title, "Expected registrations by %s from each site", day);
    plot_begin(t, WIDTH, height, title);
    double ticks[16];
    size_t nt = plot_ticks(0.0, top * 1.1 + 1e-9, 7, 0.0, ticks);
    plot_axis_x(t, &f, ticks, nt, "expected registrations by the deadline");
    for (size_t i = 0; i < n; i++) {
        double y0 = plot_map(&f.y, (double)i + 0.15), y1 = plot_map(&f.y, (double)i + 0.85);
        double x1 = plot_map(&f.x, mean[i]);
        plot_printf(t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                       "fill=\"#6baed6\"/>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                       "fill=\"#222\">",
                    f.left, y0, x1 - f.left, y1 - y0, f.left - 6.0, 0.5 * (y0 + y1) + 4.0);
        plot_escape(t, name[i]);
        plot_printf(t, "</text>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">%.2f</text>\n",
                    x1 + 4.0, 0.5 * (y0 + y1) + 4.0, mean[i]);
    }
    plot_end(t);
}
