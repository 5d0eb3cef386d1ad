/* What-if machinery for `accrue sweep` and `accrue solve` (DESIGN.md section 4), independent of
 * the model: the values a varied key takes (lists and ranges of numbers, whole numbers or
 * dates), and the search for the smallest value of a monotone key at which a probability
 * reaches a goal. The caller supplies how one value is evaluated (a run of the model with the
 * key set to it, on a fixed seed, so that every evaluation sees the same draws). */
#ifndef ACCRUE_WHATIF_H
#define ACCRUE_WHATIF_H

#include <stddef.h>

/* What kind of values a key takes; values are held as doubles (dates as day numbers). */
typedef enum whatif_kind { WHATIF_NUMBER, WHATIF_WHOLE, WHATIF_DATE } whatif_kind;

#define WHATIF_MAX_VALUES 1000

/* Parses "V1,V2,..." or "FROM:TO:STEP" (STEP > 0, whole for WHATIF_WHOLE, days for dates;
 * TO included when the steps land on it within 1e-9 of a step) into values[0 .. n-1] (room for
 * WHATIF_MAX_VALUES). Returns n >= 1, or 0 with a message in err. */
size_t whatif_values(const char *text, whatif_kind kind, double *values, char *err,
                     size_t errlen);

/* Formats one value: a number with up to 6 significant digits, a whole number, or a date. */
void whatif_format(whatif_kind kind, double value, char *buf, size_t len);

/* Parses one value of the kind (a number, a whole number, an ISO date). Returns 0 or -1. */
int whatif_parse_one(whatif_kind kind, const char *text, double *value);

/* One evaluation: P(success) and its standard error at value x, computed with `trials` trials
 * (0: the caller's full count; whatif_solve always asks for 0). Returns 0, or -1 to stop the
 * search (an error or an interruption; the callback has reported it). */
typedef int (*whatif_eval)(void *ctx, double x, unsigned long long trials, double *p,
                           double *se);

/* The answer of a solve. */
typedef struct whatif_answer {
    int status;               /* WHATIF_FOUND, WHATIF_ALREADY (lo reaches the goal),
                                 WHATIF_OUT_OF_REACH (hi does not) */
    double value;             /* the smallest value (on the kind's grid) with P >= goal */
    double low, high;         /* where P -/+ 1.96 SE would reach the goal: the Monte Carlo
                                 error's interval for `value` */
    double p, se;             /* P and SE at `value`, with the full trials */
    double p_lo, p_hi;        /* P at the ends of the range searched (full trials) */
    double range_lo, range_hi;/* that range (grown from [lo, hi] when P(hi) fell short) */
} whatif_answer;

enum { WHATIF_FOUND, WHATIF_ALREADY, WHATIF_OUT_OF_REACH };

/* Finds the smallest x in [lo, hi] with P(x) >= goal (when P(hi) falls short and hi_max > hi,
 * the range first grows, doubling its width, up to hi_max), for P non-decreasing in x (the caller
 * flips a decreasing key), by bisection to a resolution of `tol` (whole numbers and dates: 1),
 * every evaluation with the full trials on one seed (common random numbers make P a smooth
 * function of x), then P and its SE at the answer. The interval reflects the Monte Carlo error:
 * the values at which P -/+ 1.96 SE would reach the goal, from P's slope across the final
 * bracket (on the kind's grid, within [lo, hi]; the answer itself when SE is 0). Returns 0, or
 * -1 when an evaluation stopped it. */
int whatif_solve(whatif_eval eval, void *ctx, whatif_kind kind, double lo, double hi,
                 double hi_max, double goal, double tol, whatif_answer *out);

#endif
