/* The SVG plotting module: see plot.h. Coordinates are written with one decimal (a tenth of a
 * pixel), text in a system sans-serif font at 12 px, so that a figure reads the same on screen
 * and printed. */
#include "plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT "font-family:Helvetica,Arial,sans-serif;font-size:12px"
#define AXIS_COLOUR "#444"
#define GRID_COLOUR "#ddd"
/* Margins around the frame, in pixels: room for tick labels, axis titles and the legend. */
#define MARGIN_LEFT 64.0
#define MARGIN_RIGHT 24.0
#define MARGIN_TOP 16.0
#define MARGIN_BOTTOM 48.0

/* ---- text ---- */

static void grow(plot_text *t, size_t more)
{
    if (t->failed || t->len + more + 1 <= t->cap)
        return;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *s = realloc(t->s, cap);
    if (!s) {
        t->failed = 1;
        return;
    }
    t->s = s;
    t->cap = cap;
}

void plot_printf(plot_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    grow(t, (size_t)n);
    if (t->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void plot_escape(plot_text *t, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': plot_printf(t, "&amp;"); break;
        case '<': plot_printf(t, "&lt;"); break;
        case '>': plot_printf(t, "&gt;"); break;
        case '"': plot_printf(t, "&quot;"); break;
        case '\'': plot_printf(t, "&apos;"); break;
        default: plot_printf(t, "%c", *s);
        }
    }
}

void plot_text_free(plot_text *t)
{
    free(t->s);
    *t = (plot_text){0};
}

/* ---- scales and ticks ---- */

double plot_map(const plot_scale *s, double v)
{
    if (s->d1 == s->d0)
        return 0.5 * (s->r0 + s->r1);
    return s->r0 + (v - s->d0) / (s->d1 - s->d0) * (s->r1 - s->r0);
}

/* The smallest step of the form {1, 2, 5} x 10^k, at least min_step, that covers span in at
 * most max - 1 steps. */
static double nice_step(double span, size_t max, double min_step)
{
    double raw = span / (double)(max - 1), base = pow(10.0, floor(log10(raw)));
    static const double mult[] = {1.0, 2.0, 5.0, 10.0};
    double step = 10.0 * base;
    for (int i = 0; i < 4; i++)
        if (mult[i] * base >= raw) {
            step = mult[i] * base;
            break;
        }
    return step < min_step ? min_step : step;
}

size_t plot_ticks(double lo, double hi, size_t max, double min_step, double *ticks)
{
    if (max < 2)
        max = 2;
    if (!(hi > lo)) {
        ticks[0] = lo;
        ticks[1] = lo + (min_step > 0.0 ? min_step : 1.0);
        return 2;
    }
    double step = nice_step(hi - lo, max, min_step);
    double first = floor(lo / step + 1e-9) * step;
    size_t n = 0;
    for (double v = first; n < max + 2; v = first + step * (double)n) {
        ticks[n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
        if (v >= hi - step * 1e-9)
            break;
    }
    return n;
}

size_t plot_date_ticks(date_t lo, date_t hi, size_t max, date_t *ticks)
{
    static const int months[] = {1, 2, 3, 6, 12, 24, 60, 120, 240};
    if (hi < lo || max == 0)
        return 0;
    int y, m, d;
    date_to_ymd(lo, &y, &m, &d);
    for (size_t k = 0; k < sizeof months / sizeof months[0]; k++) {
        int step = months[k];
        /* The first tick: the first month boundary on or after lo that the step divides
         * (January for steps of a year or more). */
        int mm = m - 1 + (d > 1), yy = y;
        int unit = step < 12 ? step : 12;
        mm = (mm + unit - 1) / unit * unit;
        yy += mm / 12;
        mm %= 12;
        if (step > 12)
            while (yy % (step / 12) != 0)
                yy++, mm = 0;
        size_t n = 0;
        int ok = 1;
        for (date_t t = date_from_ymd(yy, mm + 1, 1); t <= hi;
             t = date_add_months(t, step)) {
            if (n == max) {
                ok = 0;
                break;
            }
            ticks[n++] = t;
        }
        if (ok)
            return n;
    }
    return 0;
}

/* ---- the document and the frame ---- */

void plot_begin(plot_text *t, double width, double height, const char *title)
{
    plot_printf(t, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
                   "width=\"100%%\" style=\"max-width:%.0fpx;" FONT "\" role=\"img\">\n",
                width, height, width);
    plot_printf(t, "<title>");
    plot_escape(t, title);
    plot_printf(t, "</title>\n<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", width,
                height);
}

void plot_end(plot_text *t)
{
    plot_printf(t, "</svg>\n");
}

plot_frame plot_frame_of(double width, double height, double x0, double x1, double y0, double y1)
{
    plot_frame f = {.left = MARGIN_LEFT, .top = MARGIN_TOP, .right = width - MARGIN_RIGHT,
                    .bottom = height - MARGIN_BOTTOM};
    f.x = (plot_scale){x0, x1, f.left, f.right};
    f.y = (plot_scale){y0, y1, f.bottom, f.top};
    return f;
}

static double px(const plot_frame *f, double x) { return plot_map(&f->x, x); }
static double py(const plot_frame *f, double y) { return plot_map(&f->y, y); }

/* A number as a tick label: whole numbers without decimals, others with up to 3 digits. */
static void tick_label(char *buf, size_t len, double v, int percent)
{
    if (percent)
        snprintf(buf, len, "%g %%", round(v * 1000.0) / 10.0);
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.3g", v);
}

void plot_axis_y(plot_text *t, const plot_frame *f, const double *ticks, size_t n, int percent,
                 const char *label)
{
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        double y = py(f, ticks[i]);
        if (y < f->top - 0.5 || y > f->bottom + 0.5)
            continue;
        tick_label(buf, sizeof buf, ticks[i], percent);
        plot_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" GRID_COLOUR
                       "\"/>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\""
                       AXIS_COLOUR "\">%s</text>\n",
                    f->left, y, f->right, y, f->left - 6.0, y + 4.0, buf);
    }
    plot_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" AXIS_COLOUR
                   "\"/>\n", f->left, f->top, f->left, f->bottom);
    plot_printf(t, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                   "fill=\"" AXIS_COLOUR "\">", 0.5 * (f->top + f->bottom));
    plot_escape(t, label);
    plot_printf(t, "</text>\n");
}

static void x_axis_line_and_title(plot_text *t, const plot_frame *f, const char *label)
{
    plot_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" AXIS_COLOUR
                   "\"/>\n", f->left, f->bottom, f->right, f->bottom);
    plot_printf(t, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"" AXIS_COLOUR
                   "\">", 0.5 * (f->left + f->right), f->bottom + 38.0);
    plot_escape(t, label);
    plot_printf(t, "</text>\n");
}

static void x_tick(plot_text *t, const plot_frame *f, double x, const char *text)
{
    plot_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" AXIS_COLOUR
                   "\"/>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\""
                   AXIS_COLOUR "\">%s</text>\n",
                x, f->bottom, x, f->bottom + 5.0, x, f->bottom + 18.0, text);
}

void plot_axis_x(plot_text *t, const plot_frame *f, const double *ticks, size_t n,
                 const char *label)
{
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        double x = px(f, ticks[i]);
        if (x < f->left - 0.5 || x > f->right + 0.5)
            continue;
        tick_label(buf, sizeof buf, ticks[i], 0);
        x_tick(t, f, x, buf);
    }
    x_axis_line_and_title(t, f, label);
}

void plot_axis_x_dates(plot_text *t, const plot_frame *f, const date_t *ticks, size_t n,
                       const char *label)
{
    static const char *const month[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        double x = px(f, (double)ticks[i]);
        if (x < f->left - 0.5 || x > f->right + 0.5)
            continue;
        int y, m, d;
        date_to_ymd(ticks[i], &y, &m, &d);
        if (m == 1)
            snprintf(buf, sizeof buf, "%d", y);
        else
            snprintf(buf, sizeof buf, "%s %d", month[m - 1], y);  /* "Jul 2027", not "Jul 27" */
        x_tick(t, f, x, buf);
    }
    x_axis_line_and_title(t, f, label);
}

/* ---- marks ---- */

void plot_band(plot_text *t, const plot_frame *f, const double *x, const double *lo,
               const double *hi, size_t n, const char *fill, double opacity)
{
    if (n == 0)
        return;
    plot_printf(t, "<path fill=\"%s\" fill-opacity=\"%.2f\" stroke=\"none\" d=\"", fill, opacity);
    for (size_t i = 0; i < n; i++)
        plot_printf(t, "%c%.1f %.1f", i ? 'L' : 'M', px(f, x[i]), py(f, hi[i]));
    for (size_t i = n; i-- > 0;)
        plot_printf(t, "L%.1f %.1f", px(f, x[i]), py(f, lo[i]));
    plot_printf(t, "Z\"/>\n");
}

void plot_line(plot_text *t, const plot_frame *f, const double *x, const double *y, size_t n,
               const char *stroke, double width, int dashed)
{
    if (n == 0)
        return;
    plot_printf(t, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s d=\"", stroke, width,
                dashed ? " stroke-dasharray=\"6 4\"" : "");
    for (size_t i = 0; i < n; i++)
        plot_printf(t, "%c%.1f %.1f", i ? 'L' : 'M', px(f, x[i]), py(f, y[i]));
    plot_printf(t, "\"/>\n");
}

void plot_bars(plot_text *t, const plot_frame *f, const double *x, const double *h, size_t n,
               double bar_width, const char *fill)
{
    for (size_t i = 0; i < n; i++) {
        double x0 = px(f, x[i] - 0.5 * bar_width), x1 = px(f, x[i] + 0.5 * bar_width);
        double y0 = py(f, 0.0), y1 = py(f, h[i]);
        plot_printf(t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                    fmin(x0, x1), fmin(y0, y1), fabs(x1 - x0), fabs(y1 - y0), fill);
    }
}

void plot_hline(plot_text *t, const plot_frame *f, double y, const char *stroke,
                const char *label)
{
    double yy = py(f, y);
    plot_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"end\" fill=\"%s\">",
                f->left, yy, f->right, yy, stroke, f->right - 4.0, yy - 5.0, stroke);
    plot_escape(t, label);
    plot_printf(t, "</text>\n");
}

void plot_vline(plot_text *t, const plot_frame *f, double x, const char *stroke,
                const char *label)
{
    double xx = px(f, x);
    plot_printf(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"%s\" fill=\"%s\">",
                xx, f->top, xx, f->bottom, stroke,
                xx > 0.5 * (f->left + f->right) ? xx - 4.0 : xx + 4.0, f->top + 12.0,
                xx > 0.5 * (f->left + f->right) ? "end" : "start", stroke);
    plot_escape(t, label);
    plot_printf(t, "</text>\n");
}

void plot_legend(plot_text *t, const plot_frame *f, const char *const *colour,
                 const char *const *label, size_t n)
{
    double x = f->left + 10.0, y = f->top + 8.0;
    for (size_t i = 0; i < n; i++, y += 16.0) {
        plot_printf(t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>\n"
                       "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">",
                    x, y, colour[i], x + 20.0, y + 9.5);
        plot_escape(t, label[i]);
        plot_printf(t, "</text>\n");
    }
}
