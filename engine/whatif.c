/* What-if machinery: value lists and ranges, and the solve's bisection. See whatif.h. */
#include "whatif.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "date.h"

/* "'TEXT': what" into err. */
static void set_err(char *err, size_t errlen, const char *text, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "'%s': %s", text, what);
}

int whatif_parse_one(whatif_kind kind, const char *text, double *value)
{
    if (kind == WHATIF_DATE) {
        date_t d;
        if (date_parse(text, &d) != 0)
            return -1;
        *value = (double)d;
        return 0;
    }
    char *end;
    if (!*text || strspn(text, "0123456789.eE+-") != strlen(text))
        return -1;
    double v = strtod(text, &end);
    if (*end || !isfinite(v))
        return -1;
    if (kind == WHATIF_WHOLE && v != floor(v))
        return -1;
    *value = v;
    return 0;
}

void whatif_format(whatif_kind kind, double value, char *buf, size_t len)
{
    if (kind == WHATIF_DATE) {
        char d[11];
        date_format((date_t)value, d);
        snprintf(buf, len, "%s", d);
    } else if (kind == WHATIF_WHOLE) {
        snprintf(buf, len, "%.0f", value);
    } else {
        snprintf(buf, len, "%.6g", value);
    }
}

size_t whatif_values(const char *text, whatif_kind kind, double *values, char *err,
                     size_t errlen)
{
    char buf[4096];
    if (strlen(text) >= sizeof buf) {
        set_err(err, errlen, "values", "too long");
        return 0;
    }
    snprintf(buf, sizeof buf, "%s", text);
    char *colon = strchr(buf, ':');
    if (colon) {
        char *second = strchr(colon + 1, ':');
        double from, to, step;
        if (!second) {
            set_err(err, errlen, text, "expected FROM:TO:STEP");
            return 0;
        }
        *colon = *second = '\0';
        /* A date range steps in days: the step is a whole number. */
        whatif_kind step_kind = kind == WHATIF_NUMBER ? WHATIF_NUMBER : WHATIF_WHOLE;
        if (whatif_parse_one(kind, buf, &from) || whatif_parse_one(kind, colon + 1, &to) ||
            whatif_parse_one(step_kind, second + 1, &step) || !(step > 0.0) || to < from) {
            set_err(err, errlen, text, "expected FROM:TO:STEP with FROM <= TO and STEP > 0");
            return 0;
        }
        double count = floor((to - from) / step + 1e-9) + 1.0;
        if (count > WHATIF_MAX_VALUES) {
            set_err(err, errlen, text, "more than 1000 values");
            return 0;
        }
        for (size_t i = 0; i < (size_t)count; i++)
            values[i] = from + step * (double)i;
        return (size_t)count;
    }
    size_t n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n == WHATIF_MAX_VALUES || whatif_parse_one(kind, tok, &values[n]) != 0) {
            set_err(err, errlen, text, n == WHATIF_MAX_VALUES
                                           ? "more than 1000 values"
                                           : "expected values separated by commas, or FROM:TO:STEP");
            return 0;
        }
        n++;
    }
    if (n == 0)
        set_err(err, errlen, text, "no values");
    return n;
}

/* The midpoint of [a, b] on the kind's grid: whole numbers and dates round down. */
static double midpoint(whatif_kind kind, double a, double b)
{
    double m = 0.5 * (a + b);
    return kind == WHATIF_NUMBER ? m : floor(m);
}

/* Narrows the bracket [a, b] around the smallest x with P(x) >= goal, given P(a) = *pa < goal
 * <= P(b) = *pb (a < b), until it is at most `tol` wide or P(b) is within `close` of the goal.
 * Whole numbers and dates bisect. Numbers take the Illinois variant of the false position
 * (Dowell and Jarratt 1971, BIT 11:168-174): P is smooth in the key under common random
 * numbers, so the secant's next point is usually close, and halving the value kept twice in a
 * row keeps the bracket shrinking from both sides. */
static int narrow(whatif_eval eval, void *ctx, whatif_kind kind, double *a, double *b,
                  double *pa, double *pb, double *seb, double goal, double tol, double close)
{
    int kept = 0;   /* which end survived the last step: -1 a, +1 b */
    double fa = *pa - goal, fb = *pb - goal;
    while (*b - *a > tol && fb > close) {
        double m;
        if (kind == WHATIF_NUMBER) {
            m = *b - fb * (*b - *a) / (fb - fa);
            /* Never at an end, and never within a tenth of the tolerance of one. */
            double guard = 0.1 * tol;
            if (!(m > *a + guard && m < *b - guard))
                m = 0.5 * (*a + *b);
        } else {
            m = midpoint(kind, *a, *b);
            if (m <= *a || m >= *b)
                break;
        }
        double p, se;
        if (eval(ctx, m, 0, &p, &se) != 0)
            return -1;
        if (p >= goal) {
            *b = m;
            *pb = p;
            *seb = se;
            fb = p - goal;
            if (kept == -1)
                fa *= 0.5;
            kept = -1;
        } else {
            *a = m;
            *pa = p;
            fa = p - goal;
            if (kept == 1)
                fb *= 0.5;
            kept = 1;
        }
    }
    return 0;
}

int whatif_solve(whatif_eval eval, void *ctx, whatif_kind kind, double lo, double hi,
                 double hi_max, double goal, double tol, whatif_answer *out)
{
    double se_lo, se_hi;
    if (kind != WHATIF_NUMBER)
        tol = 1.0;
    *out = (whatif_answer){0};
    if (eval(ctx, lo, 0, &out->p_lo, &se_lo) != 0 || eval(ctx, hi, 0, &out->p_hi, &se_hi) != 0)
        return -1;
    /* Short of the goal at hi: the range grows, doubling its width, up to hi_max; each end
     * short of the goal becomes the bracket's lower end. */
    while (out->p_lo < goal && out->p_hi < goal && hi < hi_max) {
        double next = lo + 2.0 * (hi - lo);
        lo = hi;
        out->p_lo = out->p_hi;
        se_lo = se_hi;
        hi = next < hi_max ? next : hi_max;
        if (eval(ctx, hi, 0, &out->p_hi, &se_hi) != 0)
            return -1;
    }
    out->range_lo = lo;
    out->range_hi = hi;
    if (out->p_lo >= goal || out->p_hi < goal) {
        int already = out->p_lo >= goal;
        out->status = already ? WHATIF_ALREADY : WHATIF_OUT_OF_REACH;
        out->value = out->low = out->high = already ? lo : hi;
        out->p = already ? out->p_lo : out->p_hi;
        out->se = already ? se_lo : se_hi;
        return 0;
    }
    out->status = WHATIF_FOUND;
    double a = lo, b = hi, pa = out->p_lo, pb = out->p_hi, se = se_hi;
    /* Close enough: a tenth of the Monte Carlo error (nothing finer can be told apart), or
     * 1e-9 for exact values. */
    double close = se_hi > 0.0 ? 0.1 * se_hi : 1e-9;
    if (narrow(eval, ctx, kind, &a, &b, &pa, &pb, &se, goal, tol, close) != 0)
        return -1;
    out->value = b;
    out->p = pb;
    out->se = se;
    /* P's slope near the answer, for the interval: across the bracket when it is narrow, else
     * from one more evaluation a tolerance below the answer. */
    if (b - a > 10.0 * tol && kind == WHATIF_NUMBER && b - tol > lo) {
        double s_unused;
        a = b - tol;
        if (eval(ctx, a, 0, &pa, &s_unused) != 0)
            return -1;
    }
    /* The interval: where P -/+ 1.96 SE would cross the goal, by that slope (the same trials
     * at both ends, so it is far more precise than P), on the kind's grid, within the range. */
    double margin = 1.96 * out->se, slope = (pb - pa) / (b - a);
    lo = out->range_lo;
    out->low = out->high = out->value;
    if (margin > 0.0 && slope > 0.0) {
        double below = (out->p - goal + margin) / slope, above = (goal + margin - out->p) / slope;
        out->low = out->value - below;
        out->high = out->value + above;
        if (kind != WHATIF_NUMBER) {
            out->low = ceil(out->low - 1e-9);
            out->high = ceil(out->high - 1e-9);
        }
        out->low = out->low < lo ? lo : out->low > out->value ? out->value : out->low;
        out->high = out->high > hi ? hi : out->high < out->value ? out->value : out->high;
    }
    return 0;
}
