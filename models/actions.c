/* Corrective action at reviews: see actions.h.
 *
 * One trial at a time, plainly, as models/pools.c does. Up front (rng->draws) the trial draws
 * what models/sites.c draws, by the same calls in the same order: screen pass p, consent q,
 * each site's rate (in activation order), then for the sites that may not open or open on an
 * uncertain day, whether they open and their first day. The path (rng->path): the candidates
 * in screening register first (each with probability p at a time uniform on [0, screen_days),
 * consent q too under selfpay_screening from the self-pay day on), in increasing time; then
 * the events in time order: each site's next referral (a Poisson process of rate g lambda_s /
 * 365.25 times its schedule's factor per day from its first day, stopped at its cap, g the
 * product of the scale_rates fired and in effect; an uncapped site's only those referrals that
 * pass screening, or register, as models/paths.h thins them), the reviews and the rules'
 * effects. A
 * referral at t registers at t + screen_days with probability p, times q when t >=
 * selfpay_from. A review ending at E (the end of its day) is decided when the referrals reach
 * E - screen_days: every registration before E is then known (those of screening counted
 * apart), and none of a rule's effects, which start at E + delay_days - 1 >= E, has begun. A
 * rule that fires schedules its effect: scale_rates multiplies g from then on (every site's
 * next referral is redrawn from that time, which the Poisson processes' lack of memory
 * allows); add_site opens a new site then, its rate drawn from the path stream at the firing
 * (Gamma with shape rate_shape and mean value, or value), with the schedule of `*` in
 * schedule.csv if any (the schedule of every site without rows of its own), screening and
 * self-pay as for any referral, no cap. A trial stops once past the deadline with the target
 * reached, or past the followed days.
 *
 * No conditional estimator: the trial's own outcome is its cond_p_success and cond_mean, and
 * each original site's own registrations by the deadline its unit figures. The tallies
 * (actions.h) say which rules fired at which review, and whether the trial would have
 * succeeded without the rules: the same draws, and the path stream rewound to the trial's
 * start and run again without them, which is the same path up to the first firing (a review
 * where nothing fires consumes no random numbers), so the paired difference is zero in every
 * trial without a firing and its variance is small. */
#include "actions.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "../engine/rng.h"
#include "../engine/sample.h"
#include "draws.h"
#include "paths.h"

#define DAYS_PER_YEAR SCENARIO_DAYS_PER_YEAR

/* A rule as the path uses it. */
typedef struct act_rule {
    const action_rule *a;
    size_t max_fire;          /* min(times, reviews it applies at) */
    size_t first_slot;        /* add_site: its sites' slots first_slot .. + max_fire - 1 */
} act_rule;

struct actions_plan {
    const scenario *s;
    core_plan *core;
    draws_plan draws;         /* what a trial draws up front (models/draws.h) */
    size_t n_rules, n_slots, n_pending;   /* slots: the sites, then the added ones */
    act_rule *rule;
    unsigned char *applies;   /* [n_rules][n_checkpoints] */
    double *threshold;        /* [n_rules][n_checkpoints]: fires when the count is below */
    path_clock clock;         /* what the path's registrations are counted against */
    path_clock clock1;        /* the same for a one-trial scratch batch (the paired run) */
    size_t work_bytes;
};

/* A scheduled effect of a firing. */
typedef struct act_pending {
    double at;
    size_t rule, slot;
    int done;
} act_pending;

typedef struct act_work {
    double *pass, *consent, *scratch, *rate, *starts;   /* [B], [B], [B], [n B], [u B] */
    double *next, *start, *per_day;                     /* [slots] */
    double *thin;                                       /* [slots]: the followed share */
    path_thinning *mode;                                /* [slots]: which events (paths.h) */
    long *left, *registered;                            /* [slots] */
    size_t *fired;                                      /* [rules] */
    unsigned char *fired_at;                            /* [rules][checkpoints] */
    long *screen_by;                                    /* [checkpoints] */
    act_pending *pending;                               /* [n_pending] */
    size_t *scratch_count;                              /* [checkpoints + 1] */
} act_work;

static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

static act_work work_of(const actions_plan *p, void *work, size_t *bytes)
{
    size_t B = p->draws.batch, n = p->draws.n_sites, m = p->n_slots, D = sizeof(double);
    char *at = work, *base = work;
    act_work w;
    w.pass = (double *)at, at += round64(B * D);
    w.consent = (double *)at, at += round64(B * D);
    w.scratch = (double *)at, at += round64(B * D);
    w.rate = (double *)at, at += round64(n * B * D);
    w.starts = (double *)at, at += round64(p->draws.n_uncertain * B * D);
    w.next = (double *)at, at += round64(m * D);
    w.start = (double *)at, at += round64(m * D);
    w.per_day = (double *)at, at += round64(m * D);
    w.thin = (double *)at, at += round64(m * D);
    w.mode = (path_thinning *)at, at += round64(m * sizeof(path_thinning));
    w.left = (long *)at, at += round64(m * sizeof(long));
    w.registered = (long *)at, at += round64(m * sizeof(long));
    w.fired = (size_t *)at, at += round64(p->n_rules * sizeof(size_t));
    w.fired_at = (unsigned char *)at, at += round64(p->n_rules * p->clock.n_checkpoints);
    w.scratch_count = (size_t *)at, at += round64((p->clock.n_checkpoints + 1) * sizeof(size_t));
    w.screen_by = (long *)at, at += round64(p->clock.n_checkpoints * sizeof(long));
    w.pending = (act_pending *)at, at += round64(p->n_pending * sizeof(act_pending));
    if (bytes)
        *bytes = (size_t)(at - base);
    return w;
}

int actions_serves(const scenario *s) { return s && s->n_actions > 0; }

/* ---- the plan ---- */

/* The rules: where each applies, its thresholds, its most firings and its added sites. */
static int plan_rules(actions_plan *p)
{
    const scenario *s = p->s;
    size_t R = s->n_actions, K = p->clock.n_checkpoints;
    p->n_rules = R;
    p->rule = calloc(R, sizeof *p->rule);
    p->applies = calloc(R * K, 1);
    p->threshold = calloc(R * K, sizeof *p->threshold);
    if (!p->rule || !p->applies || !p->threshold)
        return -1;
    p->n_slots = p->draws.n_sites;
    p->n_pending = 0;
    double W = p->clock.window;
    for (size_t r = 0; r < R; r++) {
        const action_rule *a = &s->action[r];
        size_t reviews = 0;
        for (size_t k = 0; k < K; k++) {
            date_t d = core_checkpoint_date(p->core, k);
            int at = a->every ? d < s->deadline : d == a->review;
            p->applies[r * K + k] = (unsigned char)at;
            reviews += (size_t)at;
            double day = (double)((long)d - (long)s->as_of); /* d's index */
            p->threshold[r * K + k] =
                a->pace ? floor((double)s->enrolled +
                                (double)(s->target - s->enrolled) * (day + 1.0) / W)
                        : a->below;
        }
        act_rule *ar = &p->rule[r];
        ar->a = a;
        ar->max_fire = (size_t)a->times < reviews ? (size_t)a->times : reviews;
        ar->first_slot = p->n_slots;
        if (a->action == ACTION_ADD_SITE)
            p->n_slots += ar->max_fire;
        p->n_pending += ar->max_fire;
    }
    return 0;
}

actions_plan *actions_plan_new(const scenario *s, char *err, size_t errlen)
{
    actions_plan *p = calloc(1, sizeof *p);
    if (!p || draws_plan_init(&p->draws, s) != 0)
        goto oom;
    p->s = s;
    core_spec spec = {.s = s, .points = NULL, .n_points = 0, .mean_upper = 1.0,
                      .batch = p->draws.batch};
    p->core = core_plan_new(&spec, err, errlen);
    if (!p->core) {
        actions_plan_free(p);
        return NULL;
    }
    if (path_clock_init(&p->clock, s, p->core, p->draws.batch) != 0 ||
        path_clock_init(&p->clock1, s, p->core, 1) != 0)
        goto oom;
    if (plan_rules(p) != 0)
        goto oom;
    work_of(p, NULL, &p->work_bytes);
    return p;
oom:
    actions_plan_free(p);
    if (err && errlen)
        snprintf(err, errlen, "out of memory preparing the model");
    return NULL;
}

void actions_plan_free(actions_plan *p)
{
    if (!p)
        return;
    core_plan_free(p->core);
    draws_plan_free(&p->draws);
    path_clock_free(&p->clock);
    path_clock_free(&p->clock1);
    free(p->rule);
    free(p->applies);
    free(p->threshold);
    free(p);
}

const core_plan *actions_core(const actions_plan *p) { return p->core; }

sim_model actions_sim_model(const actions_plan *p)
{
    sim_model m = {
        .ctx = p,
        .run_batch = actions_batch,
        .batch = p->draws.batch,
        .work_bytes = p->work_bytes,
        .target = (size_t)p->s->target,
        .n_checkpoints = p->clock.n_checkpoints,
        .n_days = core_n_days(p->core),
        .n_units = p->draws.n_sites,
        .cond_cap = 0,
        .has_control = 0,
        .control_mean = 0.0,
        .n_tallies = ACTIONS_TALLY_RULES + p->n_rules * (p->clock.n_checkpoints + 1),
    };
    return m;
}

/* ---- the path of one trial ---- */

/* A slot's schedule: a site's own steps, an added site the `*` rows. */
static void slot_steps(const actions_plan *p, size_t slot, size_t *n, const rate_step **step)
{
    if (slot < p->draws.n_sites) {
        *n = p->s->site[slot].n_steps;
        *step = p->s->site[slot].step;
    } else {
        *n = p->s->n_star_steps;
        *step = p->s->star_step;
    }
}

/* The slot's next referral after `from` at intensity per_day times its schedule's factor;
 * INFINITY when none. */
static double next_referral(const actions_plan *p, size_t slot, double per_day, double from,
                            gsl_rng *r)
{
    size_t n;
    const rate_step *step;
    slot_steps(p, slot, &n, &step);
    if (!(per_day > 0.0))
        return INFINITY;
    return path_next_referral(p->s->as_of, n, step, per_day, from, r);
}

/* Redraws the slot's next referral from `from` (at its start if later). */
static void redraw(const actions_plan *p, const act_work *w, size_t slot, double g, double from,
                   gsl_rng *r)
{
    w->next[slot] = INFINITY;
    if (w->left[slot] > 0 && w->per_day[slot] > 0.0 && isfinite(w->start[slot]))
        w->next[slot] = next_referral(p, slot, w->per_day[slot] * w->thin[slot] * g,
                                      fmax(from, w->start[slot]), r);
}

/* Trial t's path from r into out's entries o (through clock, whose stride is out's), the
 * rules applied when `rules` is set; w->fired and w->fired_at say which fired. Returns the
 * number of firings. */
static size_t run_path(const actions_plan *p, const act_work *w, gsl_rng *r, size_t t,
                       size_t o, const path_clock *clock, int rules, sim_batch *out)
{
    const scenario *s = p->s;
    size_t K = p->clock.n_checkpoints, R = p->n_rules, M = p->n_slots, n_fired = 0;
    double pass = w->pass[t], consent = w->consent[t], sd = p->clock.screen_days, g = 1.0;
    path_tally ty = path_start(clock);
    long screened = 0;

    for (size_t k = 0; k < K; k++)
        w->screen_by[k] = 0;
    double u = 0.0;
    for (long i = 0; i < s->screening; i++) {
        double at;
        if (!path_screening(s, i, pass, consent, p->clock.selfpay, &u, &at, r))
            continue;
        path_record(clock, &ty, at, o, out);
        screened++;
        for (size_t k = 0; k < K; k++)
            w->screen_by[k] += at < p->clock.checkpoint_end[k];
    }

    for (size_t r2 = 0; r2 < R; r2++)
        w->fired[r2] = 0;
    memset(w->fired_at, 0, R * K);
    size_t n_pending = 0;
    for (size_t i = 0; i < M; i++) {
        w->registered[i] = 0;
        if (i < p->draws.n_sites) {
            const site_spec *st = &s->site[i];
            w->left[i] = st->has_cap ? st->cap : LONG_MAX;
        } else {
            w->left[i] = LONG_MAX;
            w->per_day[i] = 0.0;
            w->start[i] = INFINITY;   /* not added (yet) */
        }
        w->next[i] = INFINITY;
        if (i < p->draws.n_sites) {
            w->thin[i] = path_thinning_of(s->site[i].has_cap, w->start[i], pass, consent,
                                          p->clock.selfpay, &w->mode[i]);
            redraw(p, w, i, g, w->start[i], r);
        }
    }
    size_t review = 0;
    for (;;) {
        size_t j = SIZE_MAX, c = SIZE_MAX;
        for (size_t i = 0; i < M; i++)
            if (isfinite(w->next[i]) && (j == SIZE_MAX || w->next[i] < w->next[j]))
                j = i;
        for (size_t i = 0; i < n_pending; i++)
            if (!w->pending[i].done && (c == SIZE_MAX || w->pending[i].at < w->pending[c].at))
                c = i;
        double t_ref = j == SIZE_MAX ? INFINITY : w->next[j];
        double t_chg = c == SIZE_MAX ? INFINITY : w->pending[c].at;
        double t_rev = review < K ? p->clock.checkpoint_end[review] - sd : INFINITY;
        if (review < K && t_rev <= t_chg && t_rev <= t_ref && !rules) {
            review++;
            continue;
        }
        if (review < K && t_rev <= t_chg && t_rev <= t_ref) {
            /* the review: registrations by the end of its day, enrolled included */
            double count = (double)(s->enrolled + ty.count - screened + w->screen_by[review]);
            for (size_t q = 0; q < R; q++) {
                const act_rule *ar = &p->rule[q];
                if (!p->applies[q * K + review] || w->fired[q] >= ar->max_fire
                    || !(count < p->threshold[q * K + review]))
                    continue;
                act_pending *pe = &w->pending[n_pending++];
                pe->at = p->clock.checkpoint_end[review] + (double)ar->a->delay_days - 1.0;
                pe->rule = q;
                pe->done = 0;
                pe->slot = SIZE_MAX;
                if (ar->a->action == ACTION_ADD_SITE) {
                    size_t slot = ar->first_slot + w->fired[q];
                    double rate = ar->a->shape > 0.0
                                      ? gsl_ran_gamma(r, ar->a->shape,
                                                      ar->a->value / ar->a->shape)
                                      : ar->a->value;
                    pe->slot = slot;
                    w->per_day[slot] = rate / DAYS_PER_YEAR;
                }
                w->fired[q]++;
                w->fired_at[q * K + review] = 1;
                n_fired++;
            }
            review++;
            continue;
        }
        if (c != SIZE_MAX && t_chg <= t_ref) {
            act_pending *pe = &w->pending[c];
            pe->done = 1;
            if (pe->slot != SIZE_MAX) {
                w->start[pe->slot] = pe->at;
                w->thin[pe->slot] = path_thinning_of(0, pe->at, pass, consent, p->clock.selfpay,
                                                     &w->mode[pe->slot]);
                redraw(p, w, pe->slot, g, pe->at, r);
            } else {
                g *= p->rule[pe->rule].a->value;
                for (size_t i = 0; i < M; i++)
                    if (isfinite(w->start[i]))
                        redraw(p, w, i, g, pe->at, r);
            }
            continue;
        }
        if (j == SIZE_MAX)
            break;
        double referred = w->next[j], at = referred + sd;
        if (at >= p->clock.followed || (at >= p->clock.window && ty.count >= p->clock.need))
            break;
        w->left[j]--;
        if (path_registers(w->mode[j], referred, pass, consent, p->clock.selfpay, r)) {
            path_record(clock, &ty, at, o, out);
            if (at < p->clock.window)
                w->registered[j]++;
        }
        w->next[j] = w->left[j] > 0 ? next_referral(p, j, w->per_day[j] * w->thin[j] * g,
                                                    referred, r)
                                    : INFINITY;
    }
    path_finish(clock, &ty, o, out);
    return n_fired;
}

/* Whether trial t succeeds without the rules, on the same draws and the same path stream from
 * `saved` (its state before the trial's path): until the first firing the two paths are one
 * (a review consumes no random numbers unless a rule fires), so only a trial in which a rule
 * fired needs this run, into a one-trial scratch batch. */
static int succeeds_without(const actions_plan *p, const act_work *w, const gsl_rng *path,
                            rng_state *saved, size_t t)
{
    gsl_rng again = {path->type, saved};
    size_t K = p->clock.n_checkpoints;
    size_t *count = w->scratch_count;
    long day;
    sim_batch one = {.at_deadline = count + K, .at_checkpoint = count, .completion_day = &day};
    run_path(p, w, &again, t, 0, &p->clock1, 0, &one);
    return one.at_deadline[0] >= (size_t)p->s->target;
}

static void run_batch(const actions_plan *p, const sim_streams *rng, void *work, size_t n,
                      sim_batch *out)
{
    size_t K = p->clock.n_checkpoints, R = p->n_rules;
    act_work w = work_of(p, work, NULL);
    const scenario *s = p->s;
    size_t B = p->draws.batch;
    draws_rows rows = {w.pass, w.consent, w.rate, w.starts, w.scratch};
    draws_fill(&p->draws, rng->draws, &rows, n);
    for (size_t t = 0; t < n; t++) {
        for (size_t i = 0; i < p->draws.n_sites; i++) {
            size_t j = p->draws.rank[i];
            long u = p->draws.uncertain_of[j];
            w.per_day[i] = w.rate[j * B + t] / DAYS_PER_YEAR;
            w.start[i] = u >= 0 ? w.starts[(size_t)u * B + t] : (double)draws_activation_day(s, i);
        }
        rng_state saved = *(const rng_state *)rng->path->state;
        size_t n_fired = run_path(p, &w, rng->path, t, t, &p->clock, 1, out);
        int success = out->at_deadline[t] >= (size_t)s->target;
        out->cond_p_success[t] = (double)success;
        out->cond_mean[t] = (double)out->at_deadline[t];
        for (size_t i = 0; i < p->draws.n_sites; i++) {
            out->unit_mean[i * B + t] = (double)w.registered[i];
            out->unit_p_none[i * B + t] = w.registered[i] == 0;
        }
        for (size_t q = 0; q < R; q++) {
            double *row = out->tally + (ACTIONS_TALLY_RULES + q * (K + 1)) * B;
            row[t] = w.fired[q] > 0;
            for (size_t k = 0; k < K; k++)
                row[(k + 1) * B + t] = w.fired_at[q * K + k];
        }
        int without = n_fired ? succeeds_without(p, &w, rng->path, &saved, t) : success;
        out->tally[ACTIONS_TALLY_WITHOUT * B + t] = without;
        out->tally[ACTIONS_TALLY_EFFECT * B + t] = success - without;
    }
    out->pmf_lo = out->pmf_hi = 0;
}

void actions_batch(const void *plan, const sim_streams *rng, void *work, size_t n,
                   sim_batch *out)
{
    run_batch(plan, rng, work, n, out);
}

/* ---- the tallies, for the report ---- */

void actions_tally_name(const actions_plan *p, size_t i, char *buf, size_t len)
{
    size_t K = p->clock.n_checkpoints;
    if (i == ACTIONS_TALLY_WITHOUT) {
        snprintf(buf, len, "p_success_without_rules");
        return;
    }
    if (i == ACTIONS_TALLY_EFFECT) {
        snprintf(buf, len, "rules_effect_on_p_success");
        return;
    }
    size_t q = (i - ACTIONS_TALLY_RULES) / (K + 1), k = (i - ACTIONS_TALLY_RULES) % (K + 1);
    if (k == 0) {
        snprintf(buf, len, "rule%zu_fired", q + 1);
        return;
    }
    char d[11];
    date_format(core_checkpoint_date(p->core, k - 1), d);
    snprintf(buf, len, "rule%zu_fired_at_%s", q + 1, d);
}

void actions_print_tallies(const actions_plan *p, const sim_result *r, FILE *out)
{
    size_t K = p->clock.n_checkpoints;
    const scenario *s = p->s;
    const sim_estimate *with = &r->p_success, *without = &r->tally[ACTIONS_TALLY_WITHOUT];
    const sim_estimate *effect = &r->tally[ACTIONS_TALLY_EFFECT];
    char dl[11];
    date_format(s->deadline, dl);
    fprintf(out, "\nCorrective action: the same simulated trials with and without the rules\n");
    char label[64];
    int w = snprintf(label, sizeof label, "P(%ld by %s)", s->target, dl);
    fprintf(out, "  %s  with the rules  %.4f (SE %.2g)\n", label, with->mean, with->se);
    fprintf(out, "  %*s  without them    %.4f (SE %.2g)\n", w, "", without->mean, without->se);
    fprintf(out, "  The rules change it by %+.4f (SE %.2g, from the per-trial differences)\n",
            effect->mean, effect->se);
    for (size_t q = 0; q < p->n_rules; q++) {
        const sim_estimate *row = r->tally + ACTIONS_TALLY_RULES + q * (K + 1);
        fprintf(out, "  Action %zu fired in %.1f %% of the trials; by review (%% of trials):\n",
                q + 1, 100.0 * row[0].mean);
        size_t shown = 0;
        for (size_t k = 0; k < K; k++) {
            if (!p->applies[q * K + k])
                continue;
            char d[11];
            date_format(core_checkpoint_date(p->core, k), d);
            fprintf(out, "%s%s %5.1f", shown % 4 == 0 ? "    " : "   ", d,
                    100.0 * row[k + 1].mean);
            if (++shown % 4 == 0)
                fputc('\n', out);
        }
        if (shown % 4 != 0)
            fputc('\n', out);
    }
}
