/* The report's figures (DESIGN.md section 4.2), drawn with engine/plot.c from plain arrays: the
 * fan chart of registrations over time, the completion curve (one or several scenarios), the
 * distribution of registrations at the deadline and each site's expected contribution. Nothing
 * here knows the model or the engine's results: the report gathers the arrays. */
#ifndef ACCRUE_FIGURES_H
#define ACCRUE_FIGURES_H

#include <stddef.h>
#include "date.h"
#include "plot.h"

/* Registrations by the end of each date: quantiles 5, 10, 25, 50, 75, 90 and 95 % in
 * q[i][0 .. 6], and what is marked: the target, the deadline, the review dates, and the
 * registrations observed before the forecast (points; none when n_observed is 0). */
typedef struct fan_data {
    size_t n;
    const date_t *date;
    const double (*q)[7];
    double target;
    date_t start, deadline;
    size_t n_reviews;
    const date_t *review;
    size_t n_observed;
    const date_t *observed_date;
    const double *observed;
} fan_data;

/* P(target reached by the end of each date), for one or several scenarios. */
typedef struct completion_curve {
    const char *name;
    size_t n;
    const date_t *date;
    const double *p;
} completion_curve;

/* The figures, each a complete SVG document appended to t. */
void figure_fan(plot_text *t, const fan_data *d);
void figure_completion(plot_text *t, const completion_curve *c, size_t n_curves, date_t deadline,
                       const char *target_label);
/* P(N = lo + i) for i < n; counts at or above the target are drawn darker. */
void figure_distribution(plot_text *t, size_t lo, const double *p, size_t n, size_t target,
                         date_t deadline);
/* Expected registrations by the deadline from each site's referrals. */
void figure_sites(plot_text *t, const char *const *name, const double *mean, size_t n,
                  date_t deadline);

#endif
