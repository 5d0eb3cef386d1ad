/* An independent event-by-event accrual simulator for the tests (see eventsim.h): reads a
 * scenario folder and simulates each trial referral by referral, from DESIGN.md alone.
 * Included whole by tests/test_eventsim.c (the Makefile builds only tests/test_*.c). */
#include "eventsim.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "../engine/csvtab.h"

/* ---- small helpers ---- */

static void es_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("eventsim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void *es_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        es_die("out of memory");
    return p;
}

/* Howard Hinnant's days_from_civil: proleptic Gregorian, days since 1970-01-01. */
long es_days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void es_civil_from_days(long z, long *y, long *m, long *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static long es_days_in_month(long y, long m)
{
    static const long dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int es_parse_date(const char *s, long *days)
{
    int n = 0;
    long y, m, d;
    if (strlen(s) != 10 || sscanf(s, "%4ld-%2ld-%2ld%n", &y, &m, &d, &n) != 3 || n != 10)
        return -1;
    if (s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 || d > es_days_in_month(y, m))
        return -1;
    *days = es_days_from_civil(y, m, d);
    return 0;
}

static long es_date_or_die(const char *s, const char *where)
{
    long d;
    if (es_parse_date(s, &d) != 0)
        es_die("%s: not a date: '%s'", where, s);
    return d;
}

static double es_number_or_die(const char *s, const char *where)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !isfinite(v))
        es_die("%s: not a number: '%s'", where, s);
    return v;
}

static long es_integer_or_die(const char *s, const char *where)
{
    double v = es_number_or_die(s, where);
    if (v != floor(v) || v < 0 || v > 1e9)
        es_die("%s: not a whole number >= 0: '%s'", where, s);
    return (long)v;
}

static es_prob es_prob_or_die(const char *s, const char *where)
{
    es_prob p = {0, 1, 0, 0};
    int n = 0;
    if (strncmp(s, "beta(", 5) == 0) {
        if (sscanf(s, "beta(%lf;%lf)%n", &p.a, &p.b, &n) != 2 || s[n] != '\0' || !(p.a > 0) ||
            !(p.b > 0))
            es_die("%s: not beta(a;b) with a, b > 0: '%s'", where, s);
        p.is_beta = 1;
        p.value = p.a / (p.a + p.b);
        return p;
    }
    p.value = es_number_or_die(s, where);
    if (p.value < 0 || p.value > 1)
        es_die("%s: probability outside [0, 1]: '%s'", where, s);
    return p;
}

static int es_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static csvtab *es_read_table(const char *dir, const char *file)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    csvtab *t = csvtab_read(path, err, sizeof err);
    if (!t)
        es_die("%s", err);
    if (t->nrows < 1)
        es_die("%s: no header", path);
    return t;
}

/* Index of the header column named `name`, or -1. */
static int es_column(const csvtab *t, const char *name)
{
    for (size_t i = 0; i < t->row[0].nfields; i++)
        if (strcmp(t->row[0].field[i], name) == 0)
            return (int)i;
    return -1;
}

static const char *es_field(const csv_row *r, int col)
{
    return col >= 0 && (size_t)col < r->nfields ? r->field[col] : "";
}

/* ---- reading a scenario ---- */

static void es_read_trial(es_scenario *sc)
{
    csvtab *t = es_read_table(sc->dir, "trial.csv");
    const csv_row *h = &t->row[0];
    if (h->nfields < 2 || strcmp(h->field[0], "key") || strcmp(h->field[1], "value") ||
        (h->nfields == 3 && strcmp(h->field[2], "note")) || h->nfields > 3)
        es_die("%s/trial.csv: header is not key,value[,note]", sc->dir);
    const char *as_of = NULL, *deadline = NULL, *target = NULL, *enrolled = NULL,
               *screening = NULL, *screen_pass = NULL, *screen_days = NULL,
               *selfpay_from = NULL, *consent = NULL, *selfpay_screening = NULL,
               *review_months = NULL, *horizon_years = NULL;
    for (size_t i = 1; i < t->nrows; i++) {
        const csv_row *r = &t->row[i];
        const char *key = es_field(r, 0), *val = es_field(r, 1);
        const char **slot = NULL;
        if (!strcmp(key, "name"))
            continue;
        else if (!strcmp(key, "as_of")) slot = &as_of;
        else if (!strcmp(key, "deadline")) slot = &deadline;
        else if (!strcmp(key, "target")) slot = &target;
        else if (!strcmp(key, "enrolled")) slot = &enrolled;
        else if (!strcmp(key, "screening")) slot = &screening;
        else if (!strcmp(key, "screen_pass")) slot = &screen_pass;
        else if (!strcmp(key, "screen_days")) slot = &screen_days;
        else if (!strcmp(key, "selfpay_from")) slot = &selfpay_from;
        else if (!strcmp(key, "selfpay_consent")) slot = &consent;
        else if (!strcmp(key, "selfpay_screening")) slot = &selfpay_screening;
        else if (!strcmp(key, "review_months")) slot = &review_months;
        else if (!strcmp(key, "horizon_years")) slot = &horizon_years;
        else
            es_die("%s/trial.csv:%zu: key '%s' not handled", sc->dir, r->line, key);
        if (*slot)
            es_die("%s/trial.csv:%zu: duplicate key '%s'", sc->dir, r->line, key);
        *slot = val[0] ? val : NULL;
    }
    if (!as_of || !deadline || !target)
        es_die("%s/trial.csv: as_of, deadline and target are required", sc->dir);
    sc->as_of = es_date_or_die(as_of, "as_of");
    sc->deadline = es_date_or_die(deadline, "deadline") - sc->as_of;
    if (sc->deadline < 0)
        es_die("%s: deadline before as_of", sc->dir);
    sc->target = es_integer_or_die(target, "target");
    sc->enrolled = enrolled ? es_integer_or_die(enrolled, "enrolled") : 0;
    sc->screening = screening ? es_integer_or_die(screening, "screening") : 0;
    sc->screen_pass = screen_pass ? es_prob_or_die(screen_pass, "screen_pass")
                                  : (es_prob){0, 1, 0, 0};
    sc->consent = consent ? es_prob_or_die(consent, "selfpay_consent") : (es_prob){0, 1, 0, 0};
    sc->screen_days = screen_days ? es_number_or_die(screen_days, "screen_days") : 0;
    if (sc->screen_days < 0)
        es_die("screen_days < 0");
    sc->selfpay_from = selfpay_from ? es_date_or_die(selfpay_from, "selfpay_from") - sc->as_of : 0;
    if (!selfpay_screening || !strcmp(selfpay_screening, "no"))
        sc->selfpay_screening = 0;
    else if (!strcmp(selfpay_screening, "yes"))
        sc->selfpay_screening = 1;
    else
        es_die("selfpay_screening: neither yes nor no: '%s'", selfpay_screening);
    sc->review_months = review_months ? es_integer_or_die(review_months, "review_months") : 6;
    if (sc->review_months < 1)
        es_die("review_months < 1");
    sc->horizon_years = horizon_years ? es_number_or_die(horizon_years, "horizon_years") : 10;
    if (sc->horizon_years < 0 || sc->horizon_years > 100)
        es_die("horizon_years outside [0, 100]");
    csvtab_free(t);
}

static void es_read_sites(es_scenario *sc)
{
    csvtab *t = es_read_table(sc->dir, "sites.csv");
    static const char *known[] = {"site", "rate", "rate_shape", "active_from", "opens", "cap",
                                  "note"};
    for (size_t i = 0; i < t->row[0].nfields; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok |= !strcmp(t->row[0].field[i], known[k]);
        if (!ok)
            es_die("%s/sites.csv: column '%s' not handled", sc->dir, t->row[0].field[i]);
    }
    int c_site = es_column(t, "site"), c_rate = es_column(t, "rate"),
        c_shape = es_column(t, "rate_shape"), c_active = es_column(t, "active_from"),
        c_opens = es_column(t, "opens"), c_cap = es_column(t, "cap");
    if (c_site < 0 || c_rate < 0)
        es_die("%s/sites.csv: site and rate columns are required", sc->dir);
    sc->nsites = t->nrows - 1;
    sc->site = es_xcalloc(sc->nsites, sizeof *sc->site);
    for (size_t i = 0; i < sc->nsites; i++) {
        const csv_row *r = &t->row[i + 1];
        es_site *s = &sc->site[i];
        const char *name = es_field(r, c_site);
        if (!name[0] || strlen(name) >= sizeof s->name || !strcmp(name, "*"))
            es_die("%s/sites.csv:%zu: bad site name", sc->dir, r->line);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sc->site[j].name, name))
                es_die("%s/sites.csv:%zu: duplicate site '%s'", sc->dir, r->line, name);
        strcpy(s->name, name);
        s->rate = es_number_or_die(es_field(r, c_rate), "rate");
        if (s->rate < 0)
            es_die("%s/sites.csv:%zu: rate < 0", sc->dir, r->line);
        const char *shape = es_field(r, c_shape);
        s->shape = shape[0] ? es_number_or_die(shape, "rate_shape") : 0;
        if (shape[0] && !(s->shape > 0))
            es_die("%s/sites.csv:%zu: rate_shape <= 0", sc->dir, r->line);
        const char *act = es_field(r, c_active);
        if (!act[0]) {
            s->active_lo = s->active_hi = 0;
        } else if (!strncmp(act, "uniform(", 8)) {
            char d1[16], d2[16];
            int n = 0;
            if (sscanf(act, "uniform(%10[0-9-];%10[0-9-])%n", d1, d2, &n) != 2 || act[n])
                es_die("%s/sites.csv:%zu: bad uniform(D1;D2): '%s'", sc->dir, r->line, act);
            s->active_lo = es_date_or_die(d1, "active_from") - sc->as_of;
            s->active_hi = es_date_or_die(d2, "active_from") - sc->as_of;
            if (s->active_hi < s->active_lo)
                es_die("%s/sites.csv:%zu: uniform(D1;D2) with D2 < D1", sc->dir, r->line);
        } else {
            s->active_lo = s->active_hi = es_date_or_die(act, "active_from") - sc->as_of;
        }
        const char *opens = es_field(r, c_opens);
        s->opens = opens[0] ? es_number_or_die(opens, "opens") : 1;
        if (s->opens < 0 || s->opens > 1)
            es_die("%s/sites.csv:%zu: opens outside [0, 1]", sc->dir, r->line);
        const char *cap = es_field(r, c_cap);
        s->cap = cap[0] ? es_integer_or_die(cap, "cap") : -1;
    }
    csvtab_free(t);
}

static int es_step_cmp(const void *a, const void *b)
{
    long x = ((const es_step *)a)->from, y = ((const es_step *)b)->from;
    return (x > y) - (x < y);
}

static void es_read_schedule(es_scenario *sc)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/schedule.csv", sc->dir);
    if (!es_file_exists(path))
        return;
    csvtab *t = es_read_table(sc->dir, "schedule.csv");
    const csv_row *h = &t->row[0];
    if (h->nfields != 3 || strcmp(h->field[0], "site") || strcmp(h->field[1], "from") ||
        strcmp(h->field[2], "factor"))
        es_die("%s: header is not site,from,factor", path);
    size_t nrows = t->nrows - 1;
    es_step *star = es_xcalloc(nrows, sizeof *star);
    size_t nstar = 0;
    for (size_t i = 1; i < t->nrows; i++) {
        const csv_row *r = &t->row[i];
        es_step st = {es_date_or_die(es_field(r, 1), "schedule from") - sc->as_of,
                      es_number_or_die(es_field(r, 2), "schedule factor")};
        if (st.factor < 0)
            es_die("%s:%zu: factor < 0", path, r->line);
        const char *name = es_field(r, 0);
        if (!strcmp(name, "*")) {
            star[nstar++] = st;
            continue;
        }
        es_site *s = NULL;
        for (size_t j = 0; j < sc->nsites; j++)
            if (!strcmp(sc->site[j].name, name))
                s = &sc->site[j];
        if (!s)
            es_die("%s:%zu: unknown site '%s'", path, r->line, name);
        if (!s->step)
            s->step = es_xcalloc(nrows, sizeof *s->step);
        s->step[s->nsteps++] = st;
    }
    for (size_t j = 0; j < sc->nsites; j++) {
        es_site *s = &sc->site[j];
        if (!s->nsteps && nstar) {
            s->step = es_xcalloc(nstar, sizeof *s->step);
            memcpy(s->step, star, nstar * sizeof *star);
            s->nsteps = nstar;
        }
        if (s->nsteps > 1)   /* qsort wants a real array, even for none */
            qsort(s->step, s->nsteps, sizeof *s->step, es_step_cmp);
        for (size_t k = 1; k < s->nsteps; k++)
            if (s->step[k].from == s->step[k - 1].from)
                es_die("%s: two rows for site '%s' on one date", path, s->name);
    }
    sc->added.step = star;
    sc->added.nsteps = nstar;
    if (nstar > 1)
        qsort(star, nstar, sizeof *star, es_step_cmp);
    csvtab_free(t);
}

/* actions.csv: review,below,action,value,rate_shape,delay_days,times (DESIGN.md section 3). */
static void es_read_actions(es_scenario *sc)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/actions.csv", sc->dir);
    if (!es_file_exists(path))
        return;
    csvtab *t = es_read_table(sc->dir, "actions.csv");
    static const char *known[] = {"review", "below", "action", "value", "rate_shape",
                                  "delay_days", "times", "note"};
    for (size_t i = 0; i < t->row[0].nfields; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok |= !strcmp(t->row[0].field[i], known[k]);
        if (!ok)
            es_die("%s: column '%s' not handled", path, t->row[0].field[i]);
    }
    int c_review = es_column(t, "review"), c_below = es_column(t, "below"),
        c_action = es_column(t, "action"), c_value = es_column(t, "value"),
        c_shape = es_column(t, "rate_shape"), c_delay = es_column(t, "delay_days"),
        c_times = es_column(t, "times");
    sc->nactions = t->nrows - 1;
    sc->action = es_xcalloc(sc->nactions, sizeof *sc->action);
    for (size_t i = 1; i < t->nrows; i++) {
        const csv_row *r = &t->row[i];
        es_action *a = &sc->action[i - 1];
        const char *review = es_field(r, c_review), *below = es_field(r, c_below);
        const char *action = es_field(r, c_action), *shape = es_field(r, c_shape);
        const char *delay = es_field(r, c_delay), *times = es_field(r, c_times);
        a->every = !strcmp(review, "every");
        if (!a->every)
            a->review = es_date_or_die(review, "actions review") - sc->as_of;
        a->pace = !strcmp(below, "pace");
        if (!a->pace)
            a->below = es_number_or_die(below, "actions below");
        if (!strcmp(action, "add_site"))
            a->add_site = 1;
        else if (strcmp(action, "scale_rates"))
            es_die("%s:%zu: unknown action '%s'", path, r->line, action);
        a->value = es_number_or_die(es_field(r, c_value), "actions value");
        a->shape = *shape ? es_number_or_die(shape, "actions rate_shape") : 0;
        a->delay_days = *delay ? es_integer_or_die(delay, "actions delay_days") : 1;
        a->times = *times ? es_integer_or_die(times, "actions times") : 1;
        if (a->delay_days < 1 || a->times < 1 || a->value < 0 || a->shape < 0)
            es_die("%s:%zu: bad delay_days, times, value or rate_shape", path, r->line);
    }
    csvtab_free(t);
}

/* Review checkpoints: as_of plus k * review_months months (a day missing from the month
 * becomes its last day), those strictly before the deadline, then the deadline. */
static void es_make_checkpoints(es_scenario *sc)
{
    long y0, m0, d0;
    es_civil_from_days(sc->as_of, &y0, &m0, &d0);
    size_t cap = 16;
    sc->checkpoint = es_xcalloc(cap, sizeof *sc->checkpoint);
    for (long k = 1;; k++) {
        long months = (m0 - 1) + k * sc->review_months;
        long y = y0 + months / 12, m = months % 12 + 1;
        long d = d0 < es_days_in_month(y, m) ? d0 : es_days_in_month(y, m);
        long day = es_days_from_civil(y, m, d) - sc->as_of;
        if (day >= sc->deadline)
            break;
        if (sc->ncheckpoints + 1 >= cap) {
            cap *= 2;
            sc->checkpoint = realloc(sc->checkpoint, cap * sizeof *sc->checkpoint);
            if (!sc->checkpoint)
                es_die("out of memory");
        }
        sc->checkpoint[sc->ncheckpoints++] = day;
    }
    sc->checkpoint[sc->ncheckpoints++] = sc->deadline;
}

es_scenario *es_load(const char *dir)
{
    es_scenario *sc = es_xcalloc(1, sizeof *sc);
    if (strlen(dir) >= sizeof sc->dir)
        es_die("path too long: %s", dir);
    strcpy(sc->dir, dir);
    static const char *unhandled[] = {"history.csv"};
    for (size_t i = 0; i < 1; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, unhandled[i]);
        if (es_file_exists(path))
            es_die("%s: not handled by the event simulator", path);
    }
    es_read_trial(sc);
    es_read_sites(sc);
    es_read_schedule(sc);
    es_make_checkpoints(sc);
    es_read_actions(sc);
    for (size_t i = 0; i < sc->nactions; i++) {
        const es_action *a = &sc->action[i];
        int found = a->every;
        for (size_t c = 0; c < sc->ncheckpoints && !found; c++)
            found = sc->checkpoint[c] == a->review;
        if (!found)
            es_die("%s/actions.csv: rule %zu's review is not a review date", dir, i + 1);
    }
    sc->horizon_end = (double)(sc->deadline + 1) + round(sc->horizon_years * 365.25);
    return sc;
}

void es_free(es_scenario *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->nsites; i++)
        free(sc->site[i].step);
    free(sc->site);
    free(sc->checkpoint);
    free(sc->action);
    free(sc->added.step);
    free(sc);
}

/* ---- simulation ---- */

typedef struct es_acc {
    uint64_t success;
    int64_t *sum, *sumsq;   /* per checkpoint, registrations (enrolled included) */
    double *completion;     /* each trial's completion time (days from as_of), INFINITY when
                               not reached within the followed span */
    uint64_t *fired;        /* per rule: trials in which it fired */
} es_acc;

typedef struct es_buf {
    double *x;
    size_t n, cap;
} es_buf;

static void es_push(es_buf *b, double v)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->x = realloc(b->x, b->cap * sizeof *b->x);
        if (!b->x)
            es_die("out of memory");
    }
    b->x[b->n++] = v;
}

static double es_draw_prob(const es_prob *p, gsl_rng *r)
{
    return p->is_beta ? gsl_ran_beta(r, p->a, p->b) : p->value;
}

/* The k-th smallest (0-based) of x[0..n-1], k < n; reorders x (quickselect, Lomuto
 * partition around the middle element). */
static double es_select(double *x, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, store = lo;
        double t = x[mid];
        x[mid] = x[hi];
        x[hi] = t;
        double pivot = x[hi];
        for (size_t i = lo; i < hi; i++)
            if (x[i] < pivot) {
                t = x[i];
                x[i] = x[store];
                x[store++] = t;
            }
        x[hi] = x[store];
        x[store] = pivot;
        if (k == store)
            return x[k];
        if (k < store)
            hi = store - 1;
        else
            lo = store + 1;
    }
    return x[lo];
}

/* A site's referral process within one trial: where it has got to. */
typedef struct es_site_state {
    double per_day;  /* lambda / 365.25; 0 for a site that never opens */
    double at;       /* referrals before `at` have been generated */
    size_t k;        /* the next schedule step after `at` */
    double factor;   /* the schedule factor in force at `at` */
    long left;       /* referrals the site may still make (its cap); -1: no limit */
} es_site_state;

/* Generates site s's referrals in [st->at, until) (until <= horizon_end) as a Poisson process
 * of piecewise-constant intensity, segment by segment with exponential gaps (memoryless, so
 * each segment, and each call, restarts at its own start); every referral at t is registered
 * at t + screen_days when it passes screening (p) and, when t >= selfpay_from, consents (q).
 * A site with a cap refers no more once it has referred `cap` candidates (DESIGN.md 2.2: a
 * Poisson process stopped at its C-th event). */
static void es_advance_site(const es_scenario *sc, const es_site *site, es_site_state *st,
                            double until, double p, double q, gsl_rng *r, es_buf *regs)
{
    const double sd = sc->screen_days, S = (double)sc->selfpay_from;
    while (st->at < until) {
        double b = st->k < site->nsteps ? (double)site->step[st->k].from : until;
        if (b > until)
            b = until;
        double c = st->per_day * st->factor;
        if (c > 0) {
            for (double t = st->at + gsl_ran_exponential(r, 1.0 / c); t < b && st->left != 0;
                 t += gsl_ran_exponential(r, 1.0 / c)) {
                if (st->left > 0)
                    st->left--;
                if (!(gsl_rng_uniform(r) < p))
                    continue;
                if (t >= S && !(gsl_rng_uniform(r) < q))
                    continue;
                es_push(regs, t + sd);
            }
        }
        st->at = b;
        if (st->k < site->nsteps && (double)site->step[st->k].from <= b)
            st->factor = site->step[st->k++].factor;
    }
}

/* One simulated trial: registration times after as_of into regs, every one before the end of
 * the deadline day and at least the first `need` of all (when the trial completes within the
 * followed span). The referrals are generated up to deadline + 1 - screen_days (their
 * registrations are the ones before the end of the deadline day), then a year at a time until
 * `need` registrations are known or the span ends: registrations of later referrals come after
 * all those already known, so they change neither the counts nor the need-th time.
 * states: scratch for nsites plus the sites the rules may add; pend: for the firings;
 * fired[a]: the times rule a fired in this trial. */
/* A fired rule's effect, waiting for its day. */
typedef struct es_pending {
    double at, lambda;       /* when; an added site's rate (per year) */
    size_t action;
    int done;
} es_pending;

/* The most sites the rules may add, and the most firings, in one trial. */
static size_t es_max_firings(const es_scenario *sc, int add_only)
{
    size_t n = 0;
    for (size_t a = 0; a < sc->nactions; a++)
        if (!add_only || sc->action[a].add_site)
            n += (size_t)sc->action[a].times < sc->ncheckpoints ? (size_t)sc->action[a].times
                                                                 : sc->ncheckpoints;
    return n;
}

static void es_one_trial(const es_scenario *sc, gsl_rng *r, es_buf *regs, es_site_state *states,
                         long need, es_pending *pend, long *fired)
{
    regs->n = 0;
    double p = es_draw_prob(&sc->screen_pass, r);
    double q = es_draw_prob(&sc->consent, r);
    const double sd = sc->screen_days, S = (double)sc->selfpay_from, H = sc->horizon_end;

    /* Candidates in screening at as_of. */
    for (long i = 0; i < sc->screening; i++) {
        if (!(gsl_rng_uniform(r) < p))
            continue;
        double u = sd > 0 ? gsl_rng_uniform(r) * sd : 0;
        if (sc->selfpay_screening && u >= S && !(gsl_rng_uniform(r) < q))
            continue;
        es_push(regs, u);
    }

    /* What each site draws once per trial: whether it opens, its activation day, its rate. */
    for (size_t s = 0; s < sc->nsites; s++) {
        const es_site *site = &sc->site[s];
        es_site_state *st = &states[s];
        int open = site->opens >= 1 || gsl_rng_uniform(r) < site->opens;
        long act = site->active_lo;
        if (site->active_hi > site->active_lo)
            act += (long)gsl_rng_uniform_int(r, (unsigned long)(site->active_hi - site->active_lo + 1));
        double lambda = site->shape > 0 ? gsl_ran_gamma(r, site->shape, site->rate / site->shape)
                                        : site->rate;
        st->per_day = open ? lambda / 365.25 : 0;
        st->at = act > 0 ? (double)act : 0.0;
        st->k = 0;
        st->factor = 1;
        st->left = site->cap;
        while (st->k < site->nsteps && (double)site->step[st->k].from <= st->at)
            st->factor = site->step[st->k++].factor;
    }

    /* Corrective action (DESIGN.md 2.2, section 3): the referrals are generated up to the
     * next moment something happens: a review is decided once the referrals reach its end
     * minus screen_days (every registration before its end is then known), and a fired
     * rule's effect starts at the start of the review day + delay_days. Added sites (from
     * states[nsites] on) refer from that moment with the `*` schedule; scale_rates multiplies
     * every site's intensity, those added later included (g). */
    size_t nadded = 0, npend = 0, next_review = 0;
    double g = 1.0;
    for (size_t a = 0; a < sc->nactions; a++)
        fired[a] = 0;
    double until = (double)(sc->deadline + 1) - sd;
    if (until < 0)
        until = 0;
    if (until > H)
        until = H;
    for (;;) {
        double stop = until;
        int what = 0; /* 0: until, 1: review, 2: an effect */
        size_t which = 0;
        if (next_review < sc->ncheckpoints && sc->nactions > 0) {
            double t = (double)(sc->checkpoint[next_review] + 1) - sd;
            if (t <= stop) {
                stop = t;
                what = 1;
            }
        }
        for (size_t k = 0; k < npend; k++)
            if (!pend[k].done && pend[k].at < stop) {
                stop = pend[k].at;
                what = 2;
                which = k;
            }
        for (size_t s = 0; s < sc->nsites + nadded; s++)
            es_advance_site(sc, s < sc->nsites ? &sc->site[s] : &sc->added, &states[s], stop,
                            p, q, r, regs);
        if (what == 1) {
            long day = sc->checkpoint[next_review];
            double end = (double)(day + 1);
            long count = sc->enrolled;
            for (size_t j = 0; j < regs->n; j++)
                count += regs->x[j] < end;
            double W = (double)(sc->deadline + 1);
            for (size_t a = 0; a < sc->nactions; a++) {
                const es_action *ac = &sc->action[a];
                int here = ac->every ? day < sc->deadline : day == ac->review;
                double thr = ac->pace ? floor((double)sc->enrolled + (double)(sc->target -
                                              sc->enrolled) * (double)(day + 1) / W)
                                      : ac->below;
                if (!here || fired[a] >= ac->times || !((double)count < thr))
                    continue;
                fired[a]++;
                es_pending *pe = &pend[npend++];
                pe->at = end + (double)ac->delay_days - 1;
                pe->done = 0;
                pe->action = a;
                pe->lambda = ac->add_site ? (ac->shape > 0 ? gsl_ran_gamma(r, ac->shape,
                                                                           ac->value / ac->shape)
                                                           : ac->value)
                                          : 0;
            }
            next_review++;
            continue;
        }
        if (what == 2) {
            es_pending *pe = &pend[which];
            const es_action *ac = &sc->action[pe->action];
            pe->done = 1;
            if (ac->add_site) {
                es_site_state *st = &states[sc->nsites + nadded++];
                st->per_day = g * pe->lambda / 365.25;
                st->at = pe->at;
                st->k = 0;
                st->factor = 1;
                st->left = -1;
                while (st->k < sc->added.nsteps && (double)sc->added.step[st->k].from <= st->at)
                    st->factor = sc->added.step[st->k++].factor;
            } else {
                g *= ac->value;
                for (size_t s = 0; s < sc->nsites + nadded; s++)
                    states[s].per_day *= ac->value;
            }
            continue;
        }
        if ((long)regs->n >= need || until >= H)
            break;
        until = until + 365.25 < H ? until + 365.25 : H;
    }
}

static void es_run_chunk(const es_scenario *sc, uint64_t n, unsigned long seed, es_acc *acc)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        es_die("out of memory");
    gsl_rng_set(r, seed);
    es_buf regs = {0};
    es_site_state *states = es_xcalloc(sc->nsites + es_max_firings(sc, 1), sizeof *states);
    es_pending *pend = es_xcalloc(es_max_firings(sc, 0), sizeof *pend);
    long *fired = es_xcalloc(sc->nactions, sizeof *fired);
    size_t ncp = sc->ncheckpoints;
    int64_t *bin = es_xcalloc(ncp + 1, sizeof *bin);
    long need = sc->target - sc->enrolled;
    for (uint64_t i = 0; i < n; i++) {
        es_one_trial(sc, r, &regs, states, need, pend, fired);
        for (size_t a = 0; a < sc->nactions; a++)
            acc->fired[a] += fired[a] > 0;
        memset(bin, 0, (ncp + 1) * sizeof *bin);
        for (size_t j = 0; j < regs.n; j++) {
            size_t c = 0;
            while (c < ncp && !(regs.x[j] < (double)(sc->checkpoint[c] + 1)))
                c++;
            bin[c]++;
        }
        int64_t count = sc->enrolled;
        for (size_t c = 0; c < ncp; c++) {
            count += bin[c];
            acc->sum[c] += count;
            acc->sumsq[c] += count * count;
        }
        acc->success += count >= sc->target;
        double done = INFINITY;
        if (need <= 0)
            done = 0;
        else if (regs.n >= (size_t)need)
            done = es_select(regs.x, regs.n, (size_t)need - 1);
        acc->completion[i] = done;
    }
    free(bin);
    free(pend);
    free(fired);
    free(states);
    free(regs.x);
    gsl_rng_free(r);
}

es_result *es_simulate(const es_scenario *sc, uint64_t trials, unsigned long seed)
{
    size_t ncp = sc->ncheckpoints;
    if (trials < 2)
        es_die("es_simulate needs at least 2 trials");
    /* every trial's completion time, chunk c's in its own slice */
    double *completion = es_xcalloc(trials, sizeof *completion);
    es_acc acc[ES_CHUNKS];
    uint64_t first[ES_CHUNKS + 1];
    first[0] = 0;
    for (int c = 0; c < ES_CHUNKS; c++) {
        first[c + 1] = first[c] + trials / ES_CHUNKS + ((uint64_t)c < trials % ES_CHUNKS);
        acc[c].success = 0;
        acc[c].sum = es_xcalloc(ncp, sizeof(int64_t));
        acc[c].sumsq = es_xcalloc(ncp, sizeof(int64_t));
        acc[c].completion = completion + first[c];
        acc[c].fired = es_xcalloc(sc->nactions, sizeof(uint64_t));
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < ES_CHUNKS; c++) {
        unsigned long s = (unsigned long)((seed * ES_CHUNKS + (unsigned long)c + 1) & 0xffffffffUL);
        es_run_chunk(sc, first[c + 1] - first[c], s, &acc[c]);
    }
    es_result *res = es_xcalloc(1, sizeof *res);
    res->trials = trials;
    res->ncheckpoints = ncp;
    res->cp_mean = es_xcalloc(ncp, sizeof(double));
    res->cp_mean_se = es_xcalloc(ncp, sizeof(double));
    uint64_t success = 0;
    for (size_t j = 0; j < ncp; j++) {
        /* sums merged as integers: exact, independent of the order */
        int64_t sum = 0, sumsq = 0;
        for (int c = 0; c < ES_CHUNKS; c++) {
            sum += acc[c].sum[j];
            sumsq += acc[c].sumsq[j];
        }
        double n = (double)trials, mean = (double)sum / n;
        double var = ((double)sumsq - n * mean * mean) / (n - 1);
        res->cp_mean[j] = mean;
        res->cp_mean_se[j] = sqrt(var > 0 ? var / n : 0);
    }
    res->nactions = sc->nactions;
    res->fired_fraction = es_xcalloc(sc->nactions, sizeof(double));
    res->fired_fraction_se = es_xcalloc(sc->nactions, sizeof(double));
    for (size_t a = 0; a < sc->nactions; a++) {
        uint64_t k = 0;
        for (int c = 0; c < ES_CHUNKS; c++)
            k += acc[c].fired[a];
        double f = (double)k / (double)trials;
        res->fired_fraction[a] = f;
        res->fired_fraction_se[a] = sqrt(f * (1 - f) / (double)trials);
    }
    for (int c = 0; c < ES_CHUNKS; c++) {
        free(acc[c].fired);
        success += acc[c].success;
        free(acc[c].sum);
        free(acc[c].sumsq);
    }
    double n = (double)trials;
    res->p_success = (double)success / n;
    res->p_success_se = sqrt(res->p_success * (1 - res->p_success) / n);
    res->mean_deadline = res->cp_mean[ncp - 1];
    res->mean_deadline_se = res->cp_mean_se[ncp - 1];

    /* The median and its binomial order-statistic 95 % interval: the order statistics of
     * ranks (1-based) ceil(n/2), and n/2 -/+ 1.96 sqrt(n)/2 rounded outwards. */
    double half = 1.96 * sqrt(n) / 2;
    double lo_r = floor(n / 2 - half), hi_r = ceil(n / 2 + half);
    uint64_t r_med = (trials + 1) / 2;
    uint64_t r_lo = lo_r < 1 ? 1 : (uint64_t)lo_r, r_hi = hi_r > n ? trials : (uint64_t)hi_r;
    double v_med = es_select(completion, trials, r_med - 1);
    double v_lo = es_select(completion, trials, r_lo - 1);
    double v_hi = es_select(completion, trials, r_hi - 1);
    res->median_completion = isfinite(v_med) ? v_med : NAN;
    res->median_completion_se = isfinite(v_lo) && isfinite(v_hi) ? (v_hi - v_lo) / (2 * 1.96) : NAN;
    free(completion);
    return res;
}

void es_result_free(es_result *r)
{
    if (!r)
        return;
    free(r->cp_mean);
    free(r->cp_mean_se);
    free(r->fired_fraction);
    free(r->fired_fraction_se);
    free(r);
}
