/* Rate schedules: the step function of a site's rate factor, and its integrals. See schedule.h. */
#include "schedule.h"

#include <math.h>

static long step_day(const scenario *s, const site_spec *st, size_t j)
{
    return (long)st->step[j].from - (long)s->as_of;
}

double schedule_factor(const scenario *s, const site_spec *st, long day)
{
    double f = 1.0;
    for (size_t j = 0; j < st->n_steps && step_day(s, st, j) <= day; j++)
        f = st->step[j].factor;
    return f;
}

double schedule_integral(const scenario *s, const site_spec *st, double from, double to)
{
    if (!(to > from))
        return 0.0;
    if (st->n_steps == 0)
        return to - from;
    /* Piece by piece: [edge_j, edge_j+1) has the factor of the steps before edge_j + 1. */
    double sum = 0.0, at = from, f = schedule_factor(s, st, (long)floor(from));
    for (size_t j = 0; j < st->n_steps && at < to; j++) {
        double edge = (double)step_day(s, st, j);
        if (edge <= at)
            continue;
        double end = edge < to ? edge : to;
        sum += f * (end - at);
        at = end;
        f = st->step[j].factor;
    }
    if (at < to)
        sum += f * (to - at);
    return sum;
}

void schedule_exposure(const scenario *s, const site_spec *st, double start, double *before,
                       double *after)
{
    double end = (double)scenario_window_days(s) - (double)s->screen_days;
    double f = (double)s->selfpay_from - (double)s->as_of;
    if (st->n_steps == 0) {
        *before = fmax(0.0, fmin(end, f) - start);
        *after = fmax(0.0, end - fmax(start, f));
        return;
    }
    *before = schedule_integral(s, st, start, fmin(end, f));
    *after = schedule_integral(s, st, fmax(start, f), end);
}
