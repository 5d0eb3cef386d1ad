/* Rate schedules (schedule.csv, DESIGN.md sections 2.2 and 3): a site's rate is its `rate` times
 * a known step function of the referral day. Here the step function is read off a site's steps
 * and integrated, for the simulator's front end (models/sites.c) and the exact mode alike, so
 * that the two cannot disagree. Days are offsets from as_of. */
#ifndef ACCRUE_SCHEDULE_H
#define ACCRUE_SCHEDULE_H

#include <stddef.h>
#include "scenario.h"

/* The factor of site `st` for referrals on day `day` (an offset from as_of, may be negative):
 * that of its last step on or before the day, 1 before its first step or without steps. */
double schedule_factor(const scenario *s, const site_spec *st, long day);

/* The integral of the factor over referral days [from, to) (0 when to <= from). */
double schedule_integral(const scenario *s, const site_spec *st, double from, double to);

/* The site's referral exposure in factor-weighted days when it starts on day `start` (>= 0):
 * referrals made at t in [start, W - screen_days) are registered by the end of the deadline
 * day; *before the part before selfpay_from (no consent needed), *after the part from it on.
 * Without steps, the plain lengths: max(0, min(end, f) - start) and max(0, end - max(start, f)). */
void schedule_exposure(const scenario *s, const site_spec *st, double start, double *before,
                       double *after);

#endif
