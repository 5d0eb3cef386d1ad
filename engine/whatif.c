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

/* The smallest x in [a, b] with P(x) + shift >= goal, given that b satisfies it and a does not
 * (a < b): bisection to `tol`. */
static int bisect(whatif_eval eval, void *ctx, whatif_kind kind, double a, double b, double goal,
                  double shift, double tol, unsigned long long trials, double *x)
{
    while (b - a > tol) {
        double m = midpoint(kind, a, b), p, se;
        if (m <= a || m >= b)
            break;
        if (eval(ctx, m, trials, &p, &se) != 0)
            return -1;
        if (p + shift >= goal)
            b = m;
        else
            a = m;
    }
    *x = b;
    return 0;
}

int whatif_solve(whatif_eval eval, void *ctx, whatif_kind kind, double lo, double hi,
                 double goal, double tol, unsigned long long search_trials, whatif_answer *out)
{
    double se;
    if (kind != WHATIF_NUMBER)
        tol = 1.0;
    *out = (whatif_answer){0};
    if (eval(ctx, lo, 0, &out->p_lo, &se) != 0 || eval(ctx, hi, 0, &out->p_hi, &se) != 0)
        return -1;
    if (out->p_lo >= goal) {
        out->status = WHATIF_ALREADY;
        out->value = out->low = out->high = lo;
        return eval(ctx, lo, 0, &out->p, &out->se);
    }
    if (out->p_hi < goal) {
        out->status = WHATIF_OUT_OF_REACH;
        out->value = out->low = out->high = hi;
        return eval(ctx, hi, 0, &out->p, &out->se);
    }
    out->status = WHATIF_FOUND;
    if (bisect(eval, ctx, kind, lo, hi, goal, 0.0, tol, 0, &out->value) != 0 ||
        eval(ctx, out->value, 0, &out->p, &out->se) != 0)
        return -1;
    /* The interval: where P shifted by 1.96 SE (the answer's, with the full trials) crosses
     * the goal; an end that the range cuts off is the range's end. */
    double margin = 1.96 * out->se, p;
    if (!(margin > 0.0)) {
        out->low = out->high = out->value;
        return 0;
    }
    out->low = lo;
    if (eval(ctx, lo, search_trials, &p, &se) != 0)
        return -1;
    if (p + margin < goal &&
        bisect(eval, ctx, kind, lo, out->value, goal, margin, tol, search_trials, &out->low) != 0)
        return -1;
    out->high = hi;
    if (eval(ctx, hi, search_trials, &p, &se) != 0)
        return -1;
    if (p - margin >= goal &&
        bisect(eval, ctx, kind, out->value, hi, goal, -margin, tol, search_trials, &out->high)
            != 0)
        return -1;
    return 0;
}
