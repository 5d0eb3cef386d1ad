/* The model layer: a table of the models accrue knows, and the one interface commands use (see
 * model.h). A scenario with corrective-action rules (actions.csv) is served by the actions
 * model (models/actions.c, its own batch function, caps included); else a scenario with a
 * capped site is served by the finite-pools model (models/pools.c,
 * its own batch function); every other by the per-site Poisson-gamma front end on the Poisson
 * core (models/sites.c, models/poisson_core.c). */
#include "model.h"

#include <stdlib.h>
#include "actions.h"
#include "pools.h"
#include "sites.h"

/* One kind of model: whether it serves a scenario, and its operations on its own plan. */
typedef struct model_kind {
    const char *name;
    int (*serves)(const scenario *s);
    void *(*prepare)(const scenario *s, char *err, size_t errlen);
    void (*free_plan)(void *plan);
    sim_model (*sim)(const void *plan);
    const core_plan *(*core)(const void *plan);
    /* The model's own tallies (sim_model.n_tallies); NULL when it has none. */
    void (*tally_name)(const void *plan, size_t i, char *buf, size_t len);
    void (*print_tallies)(const void *plan, const sim_result *r, FILE *out);
} model_kind;

struct model {
    const model_kind *kind;
    const scenario *s;
    void *plan;
};

static int sites_serves(const scenario *s) { return s != NULL; }
static void *sites_prepare(const scenario *s, char *err, size_t errlen)
{
    return sites_plan_new(s, err, errlen);
}
static void sites_free(void *plan) { sites_plan_free(plan); }
static sim_model sites_sim(const void *plan) { return sites_sim_model(plan); }
static const core_plan *sites_core_of(const void *plan) { return sites_core(plan); }

static int actions_serves_kind(const scenario *s) { return actions_serves(s); }
static void *actions_prepare(const scenario *s, char *err, size_t errlen)
{
    return actions_plan_new(s, err, errlen);
}
static void actions_free(void *plan) { actions_plan_free(plan); }
static sim_model actions_sim(const void *plan) { return actions_sim_model(plan); }
static const core_plan *actions_core_of(const void *plan) { return actions_core(plan); }
static void actions_name(const void *plan, size_t i, char *buf, size_t len)
{
    actions_tally_name(plan, i, buf, len);
}
static void actions_print(const void *plan, const sim_result *r, FILE *out)
{
    actions_print_tallies(plan, r, out);
}

static int pools_serves_kind(const scenario *s) { return pools_serves(s); }
static void *pools_prepare(const scenario *s, char *err, size_t errlen)
{
    return pools_plan_new(s, err, errlen);
}
static void pools_free(void *plan) { pools_plan_free(plan); }
static sim_model pools_sim(const void *plan) { return pools_sim_model(plan); }
static const core_plan *pools_core_of(const void *plan) { return pools_core(plan); }

/* The models, the first that serves a scenario taking it. */
static const model_kind kinds[] = {
    {"corrective action at reviews (actions.csv)", actions_serves_kind, actions_prepare,
     actions_free, actions_sim, actions_core_of, actions_name, actions_print},
    {"finite patient pools (capped sites)", pools_serves_kind, pools_prepare, pools_free,
     pools_sim, pools_core_of, NULL, NULL},
    {"Poisson-gamma sites", sites_serves, sites_prepare, sites_free, sites_sim, sites_core_of,
     NULL, NULL},
};

model *model_prepare(const scenario *s, char *err, size_t errlen)
{
    const model_kind *kind = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && !kind; i++)
        if (kinds[i].serves(s))
            kind = &kinds[i];
    if (!kind) {
        if (err && errlen)
            snprintf(err, errlen, "no model serves this scenario");
        return NULL;
    }
    model *m = calloc(1, sizeof *m);
    if (!m) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory preparing the model");
        return NULL;
    }
    m->kind = kind;
    m->s = s;
    m->plan = kind->prepare(s, err, errlen);
    if (!m->plan) {
        free(m);
        return NULL;
    }
    return m;
}

void model_free(model *m)
{
    if (!m)
        return;
    m->kind->free_plan(m->plan);
    free(m);
}

const char *model_name(const model *m) { return m->kind->name; }
void model_describe(const model *m, FILE *out) { scenario_describe(m->s, out); }
sim_model model_sim(const model *m) { return m->kind->sim(m->plan); }

size_t model_n_checkpoints(const model *m)
{
    return core_n_checkpoints(m->kind->core(m->plan));
}

date_t model_checkpoint_date(const model *m, size_t k)
{
    return core_checkpoint_date(m->kind->core(m->plan), k);
}

int model_exact(const model *m, double max_work, exact_dist *out, char *err, size_t errlen)
{
    return exact_deadline_dist_limited(m->s, max_work, out, err, errlen);
}

int model_exact_p_at_least(const model *m, long n, double max_work, double *p, char *err,
                           size_t errlen)
{
    return exact_p_at_least_limited(m->s, n, max_work, p, err, errlen);
}

double model_exact_mean(const model *m) { return exact_mean(m->s); }

int model_has_tallies(const model *m) { return m->kind->tally_name != NULL; }

void model_tally_name(const model *m, size_t i, char *buf, size_t len)
{
    m->kind->tally_name(m->plan, i, buf, len);
}

void model_print_tallies(const model *m, const sim_result *r, FILE *out)
{
    m->kind->print_tallies(m->plan, r, out);
}
