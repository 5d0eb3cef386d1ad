/* result.json (DESIGN.md section 4.1): a run's results, typed, with the inputs as read, the
 * run's settings and the program's version, built with jansson (a JSON library, not by hand) so
 * that every string is escaped and every number a JSON number. Dates are ISO 8601 strings, a
 * censored date is null beside its "censored" field. Like the CSV tables it depends only on
 * (scenario, overrides, seed, trials): no thread count, no timing. */
#include "result_json.h"

#include <math.h>
#include <stdint.h>
#include <jansson.h>
#include "../models/history.h"

static json_t *date_json(date_t d)
{
    char buf[DATE_TEXT_LEN];
    date_format_wide(d, buf);
    return json_string(buf);
}

/* A probability as read: {"value": v} or {"beta": [a, b], "mean": v}. */
static json_t *prob_json(const prob_spec *p)
{
    if (!p->is_beta)
        return json_pack("{s:f}", "value", p->value);
    return json_pack("{s:[f,f],s:f}", "beta", p->a, p->b, "mean", p->value);
}

static json_t *estimate_json(const sim_estimate *e)
{
    return json_pack("{s:f,s:f}", "estimate", e->mean, "se", e->se);
}

/* A completion-histogram slot as {"date": D or null, "censored": null, "before" or "after"}. */
static json_t *completion_json(const scenario *s, const sim_result *r, size_t slot)
{
    if (slot == 0)
        return json_pack("{s:n,s:s}", "date", "censored", "before");
    if (slot > (size_t)r->n_days)
        return json_pack("{s:n,s:s}", "date", "censored", "after");
    return json_pack("{s:o,s:n}", "date", date_json(s->as_of + (date_t)slot - 1), "censored");
}

static json_t *inputs_json(const scenario *s, const char *const *set, size_t n_set,
                           const char *like)
{
    json_t *sites = json_array(), *overrides = json_array();
    for (size_t i = 0; i < n_set; i++)
        json_array_append_new(overrides, json_string(set[i]));
    for (size_t i = 0; i < s->n_sites; i++) {
        const site_spec *st = &s->site[i];
        json_t *steps = json_array();
        for (size_t k = 0; k < st->n_steps; k++)
            json_array_append_new(steps, json_pack("{s:o,s:f}", "from",
                                                   date_json(st->step[k].from), "factor",
                                                   st->step[k].factor));
        json_t *site = json_pack("{s:s,s:f,s:o,s:o,s:o,s:f,s:o}", "site", st->name, "rate",
                                 st->rate, "rate_shape",
                                 st->shape > 0.0 ? json_real(st->shape) : json_null(),
                                 "active_from", date_json(st->active_from), "active_to",
                                 date_json(st->active_to > st->active_from ? st->active_to
                                                                           : st->active_from),
                                 "opens", st->opens, "schedule", steps);
        json_array_append_new(sites, site);
    }
    json_t *in = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:I,s:I,s:I,s:o,s:I,s:o,s:o,s:b,s:i,s:f,s:o,s:o}", "name", s->name,
        "source", s->source, "as_of", date_json(s->as_of), "deadline", date_json(s->deadline),
        "overrides", overrides, "target", (json_int_t)s->target, "enrolled",
        (json_int_t)s->enrolled, "screening", (json_int_t)s->screening, "screen_pass",
        prob_json(&s->screen_pass), "screen_days", (json_int_t)s->screen_days, "selfpay_from",
        date_json(s->selfpay_from), "selfpay_consent", prob_json(&s->selfpay_consent),
        "selfpay_screening", s->selfpay_screening, "review_months", s->review_months,
        "horizon_years", s->horizon_years, "like", like ? json_string(like) : json_null(),
        "sites", sites);
    return in;
}

static void distribution_row(void *arg, const report_pmf_row *x)
{
    json_array_append_new(arg, json_pack("{s:I,s:f,s:f,s:f,s:f}", "enrolled",
                                         (json_int_t)x->enrolled, "probability", x->probability,
                                         "probability_at_least", x->at_least, "probability_se",
                                         x->se, "probability_plain", x->plain));
}

/* fan.csv's rows (engine/fan.h). */
static json_t *fan_json(const fan_table *fan)
{
    json_t *rows = json_array();
    for (size_t k = 0; k < fan->n; k++) {
        json_t *row = json_pack("{s:o,s:f,s:f,s:I}", "date", date_json(fan->date[k]), "mean",
                                fan->mean[k], "mean_se", fan->mean_se[k], "trials",
                                (json_int_t)fan->trials[k]);
        for (int i = 0; i < REPORT_N_QUANTILES; i++) {
            char key[8];
            snprintf(key, sizeof key, "q%02.0f", 100.0 * report_quantiles[i]);
            json_object_set_new(row, key, json_integer((json_int_t)fan->q[k][i]));
        }
        json_array_append_new(rows, row);
    }
    return rows;
}

static json_t *results_json(const scenario *s, const report_info *info, const sim_result *r)
{
    const sim_estimate *p = &r->p_success;
    double lo = fmax(0.0, p->mean - 1.96 * p->se), hi = fmin(1.0, p->mean + 1.96 * p->se);
    json_t *dist = json_array(), *quant = json_array(), *cps = json_array(), *sites = json_array();
    json_t *completion = json_array();
    /* The tables' own rows and estimators (report.h): at the deadline the headline's. */
    report_distribution(r, distribution_row, dist);
    for (int i = 0; i < REPORT_N_QUANTILES; i++) {
        double q = report_quantiles[i];
        json_t *c = completion_json(s, r, hist_quantile(&r->completion, q));
        json_object_set_new(c, "quantile", json_real(q));
        json_object_set_new(c, "enrolled_at_deadline",
                            json_integer((json_int_t)report_deadline_quantile(r, q)));
        json_array_append_new(quant, c);
    }
    for (size_t k = 0; k < info->n_checkpoints; k++) {
        double se, mean = report_checkpoint_mean(info, r, k, &se);
        json_t *cp = json_pack("{s:o,s:f,s:f}", "date", date_json(info->checkpoint_date[k]),
                               "mean", mean, "mean_se", se);
        for (int i = 0; i < REPORT_N_QUANTILES; i++) {
            char key[8];
            snprintf(key, sizeof key, "q%02.0f", 100.0 * report_quantiles[i]);
            json_object_set_new(cp, key, json_integer((json_int_t)report_checkpoint_quantile(
                                             info, r, k, report_quantiles[i])));
        }
        json_object_set_new(cp, "probability_target_reached",
                            json_real(report_checkpoint_reached(info, r, k)));
        json_array_append_new(cps, cp);
    }
    for (size_t i = 0; i < r->n_units; i++)
        json_array_append_new(sites, json_pack("{s:s,s:o,s:o}", "site", info->unit_name[i],
                                               "mean_registered",
                                               estimate_json(&r->unit_mean[i]),
                                               "probability_none",
                                               estimate_json(&r->unit_p_none[i])));
    date_t last = s->as_of + (date_t)r->n_days - 1;
    for (int k = 0;; k++) {
        date_t d = date_add_months(s->as_of, k);
        if (d > last)
            d = last;
        double se, reached = report_completion_reached(info, r, d, &se);
        json_array_append_new(completion, json_pack("{s:o,s:f,s:f}", "date", date_json(d),
                                                    "probability_reached", reached,
                                                    "probability_reached_se", se));
        if (d == last)
            break;
    }
    json_t *res = json_pack(
        "{s:{s:f,s:f,s:[f,f],s:s},s:o,s:o,s:o,s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "p_success",
        "estimate", p->mean, "se", p->se, "ci95", lo, hi, "estimator",
        info->has_exact || r->control_beta != 0.0 ? "conditional with control variate"
                                                  : "conditional",
        "p_success_conditional", estimate_json(&r->p_success_cond), "p_success_plain",
        estimate_json(&r->p_success_plain), "mean_enrolled", estimate_json(&r->mean),
        "control_beta", r->control_beta, "exact",
        info->has_exact ? json_pack("{s:f,s:f}", "p_success", info->exact_p_success,
                                    "mean_enrolled", info->exact_mean)
                        : json_null(),
        "completion_median", completion_json(s, r, hist_quantile(&r->completion, 0.5)),
        "enrolled_at_deadline", dist, "quantiles", quant, "checkpoints", cps, "completion",
        completion, "sites", sites);
    if (res && info->tally_name && r->n_tallies) {
        json_t *tallies = json_object();
        for (size_t i = 0; i < r->n_tallies; i++) {
            char key[128];
            info->tally_name(info->tallies_arg, i, key, sizeof key);
            json_object_set_new(tallies, key, estimate_json(&r->tally[i]));
        }
        json_object_set_new(res, "tallies", tallies);
    }
    return res;
}

int result_json_write(FILE *f, const result_json_args *a)
{
    /* Seeds above 2^63 - 1 do not fit a JSON integer of jansson's: written as a string. */
    char seed_text[24];
    snprintf(seed_text, sizeof seed_text, "%llu", a->seed);
    json_t *seed = a->seed <= (unsigned long long)INT64_MAX ? json_integer((json_int_t)a->seed)
                                                           : json_string(seed_text);
    json_t *root = json_pack(
        "{s:{s:s,s:s},s:{s:I,s:o,s:o},s:o,s:o,s:o}", "program", "name", "accrue", "version",
        a->version, "settings", "trials", (json_int_t)a->r->trials, "seed", seed, "target_se", a->target_se > 0.0 ? json_real(a->target_se) :
                                                                 json_null(),
        "inputs", inputs_json(a->s, a->set, a->n_set, a->like), "learned",
        json_null(), "results", results_json(a->s, a->info, a->r));
    if (!root)
        return -1;
    if (a->s->learned)
        json_object_set_new(root, "learned", json_string("see posterior.csv"));
    if (a->fan)
        json_object_set_new(json_object_get(root, "results"), "fan", fan_json(a->fan));
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    fputc('\n', f);
    json_decref(root);
    return rc == 0 ? 0 : -1;
}
