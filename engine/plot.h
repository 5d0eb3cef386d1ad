/* A small SVG plotting module for the report's figures: linear scales, "nice" ticks for counts,
 * probabilities and dates, axes, bands, lines, bars, reference lines and a legend, written into
 * a growing text buffer as self-contained SVG (inline styles, no script, no external resource).
 * It knows nothing about trials: engine/figures.c draws the report's figures with it. */
#ifndef ACCRUE_PLOT_H
#define ACCRUE_PLOT_H

#include <stddef.h>
#include "date.h"

/* A growing text buffer. Appending never fails visibly: on running out of memory the buffer
 * keeps what it had and sets `failed`, which the writer checks once at the end. */
typedef struct plot_text {
    char *s;
    size_t len, cap;
    int failed;
} plot_text;

/* Appends printf-style text to t. */
void plot_printf(plot_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s with the five XML special characters escaped (&amp; &lt; &gt; &quot; &apos;). */
void plot_escape(plot_text *t, const char *s);

/* Frees t's buffer and empties it; t may be empty already. */
void plot_text_free(plot_text *t);

/* A linear map from data values [d0, d1] to pixels [r0, r1] (r1 < r0 for a y axis). */
typedef struct plot_scale {
    double d0, d1, r0, r1;
} plot_scale;

/* Pixel of data value v (values outside the domain map outside the range; d0 == d1 maps to
 * the middle of the range). */
double plot_map(const plot_scale *s, double v);

/* Up to `max` (>= 2) ticks covering [lo, hi] at a "nice" step (1, 2 or 5 times a power of ten,
 * at least `min_step`: 1 for counts), the first at or below lo rounded to the step, into
 * ticks[0 .. n-1] (room for max + 2). Returns n, at least 2 when hi > lo. */
size_t plot_ticks(double lo, double hi, size_t max, double min_step, double *ticks);

/* Date ticks between lo and hi, at most `max`: on the first of every 1, 2, 3, 6 or 12 months,
 * or every 2, 5, 10 or 20 years, the shortest step that fits, into ticks (room for max).
 * Returns their number (0 when hi < lo). */
size_t plot_date_ticks(date_t lo, date_t hi, size_t max, date_t *ticks);

/* The drawing area of one figure: its pixel box inside the SVG and the two scales. */
typedef struct plot_frame {
    double left, top, right, bottom;    /* pixels */
    plot_scale x, y;
} plot_frame;

/* Starts an SVG document of width x height pixels (scalable: viewBox, width 100 %) with a
 * title (for screen readers and as a tooltip) and the frame's box inset by the margins. */
void plot_begin(plot_text *t, double width, double height, const char *title);
void plot_end(plot_text *t);

/* The frame for data [x0, x1] x [y0, y1] inside an SVG of the given size, with margins for
 * axes and labels. */
plot_frame plot_frame_of(double width, double height, double x0, double x1, double y0, double y1);

/* Axes with their grid lines and labels: the y axis with numeric ticks (as percentages when
 * `percent`), the x axis with numeric ticks or with date ticks (x values are day numbers). */
void plot_axis_y(plot_text *t, const plot_frame *f, const double *ticks, size_t n, int percent,
                 const char *label);
void plot_axis_x(plot_text *t, const plot_frame *f, const double *ticks, size_t n,
                 const char *label);
void plot_axis_x_dates(plot_text *t, const plot_frame *f, const date_t *ticks, size_t n,
                       const char *label);

/* A band between lo and hi over x (n points), a line through (x, y), bars centred at x of the
 * given width in data units from 0 to h, with fill or stroke colours as CSS colours. */
void plot_band(plot_text *t, const plot_frame *f, const double *x, const double *lo,
               const double *hi, size_t n, const char *fill, double opacity);
void plot_line(plot_text *t, const plot_frame *f, const double *x, const double *y, size_t n,
               const char *stroke, double width, int dashed);
void plot_bars(plot_text *t, const plot_frame *f, const double *x, const double *h, size_t n,
               double bar_width, const char *fill);

/* A horizontal (at y) or vertical (at x) reference line across the frame, with a label. */
void plot_hline(plot_text *t, const plot_frame *f, double y, const char *stroke,
                const char *label);
void plot_vline(plot_text *t, const plot_frame *f, double x, const char *stroke,
                const char *label);

/* A legend at the frame's top left: n entries of a colour swatch and a label. */
void plot_legend(plot_text *t, const plot_frame *f, const char *const *colour,
                 const char *const *label, size_t n);

#endif
