/* The fan (see fan.h): the run's review rows merged with a monthly companion run's, from as_of
 * through the deadline and FAN_MONTHS_PAST_DEADLINE months on. */
#include "fan.h"
#include <stdlib.h>
#include "date.h"
#include "hist.h"

void fan_free(fan_table *fan)
{
    free(fan->date);
    free(fan->mean);
    free(fan->mean_se);
    free(fan->q);
    free(fan->trials);
    *fan = (fan_table){0};
}

static int fan_alloc(fan_table *fan, size_t cap)
{
    *fan = (fan_table){
        .date = malloc(cap * sizeof *fan->date),
        .mean = malloc(cap * sizeof *fan->mean),
        .mean_se = malloc(cap * sizeof *fan->mean_se),
        .q = malloc(cap * sizeof *fan->q),
        .trials = malloc(cap * sizeof *fan->trials),
    };
    if (fan->date && fan->mean && fan->mean_se && fan->q && fan->trials)
        return 0;
    fan_free(fan);
    return -1;
}

/* Row k of the run itself: checkpoints.csv's numbers. */
static void run_row(fan_table *fan, const report_info *info, const sim_result *r, size_t k)
{
    size_t at = fan->n++;
    fan->date[at] = info->checkpoint_date[k];
    fan->mean[at] = report_checkpoint_mean(info, r, k, &fan->mean_se[at]);
    for (int j = 0; j < REPORT_N_QUANTILES; j++)
        fan->q[at][j] = report_checkpoint_quantile(info, r, k, report_quantiles[j]);
    fan->trials[at] = r->trials;
}

/* A row of the companion: its histogram of registrations by date d. */
static void companion_row(fan_table *fan, date_t d, const hist *h)
{
    size_t at = fan->n++;
    fan->date[at] = d;
    fan->mean[at] = hist_mean(h);
    fan->mean_se[at] = hist_mean_se(h);
    for (int j = 0; j < REPORT_N_QUANTILES; j++)
        fan->q[at][j] = hist_quantile(h, report_quantiles[j]);
    fan->trials[at] = h->total;
}

/* The companion scenario and plan: scenario i with monthly reviews and its deadline
 * FAN_MONTHS_PAST_DEADLINE months later (or where it is when that would leave the calendar).
 * NULL with the reason in err. */
static model *companion_model(const options *o, size_t i, const scenario *s, scenario **cs,
                              char *err, size_t errlen)
{
    char deadline[16 + DATE_TEXT_LEN], later[DATE_TEXT_LEN];
    date_t d = date_add_months(s->deadline, FAN_MONTHS_PAST_DEADLINE);
    int year, month, day;
    date_to_ymd(d, &year, &month, &day);
    date_format(year <= 9999 ? d : s->deadline, later);   /* a scenario's dates end in 9999 */
    snprintf(deadline, sizeof deadline, "deadline=%s", later);
    const char *monthly[2] = {"review_months=1", deadline};
    *cs = cli_load_into(o, i, monthly, 2, err, errlen);
    return *cs ? model_prepare(*cs, err, errlen) : NULL;
}

uint64_t fan_trials(uint64_t trials)
{
    uint64_t n = trials / FAN_SHARE + (trials % FAN_SHARE != 0);
    n = n < FAN_TRIALS_MIN ? FAN_TRIALS_MIN : n > FAN_TRIALS ? FAN_TRIALS : n;
    return n < trials ? n : trials;
}

int fan_build(const options *o, size_t i, const scenario *s, const report_info *info,
              const sim_result *r, fan_table *fan)
{
    char err[ERRLEN] = "";
    *fan = (fan_table){0};
    scenario *cs = NULL;
    model *cm = NULL;
    sim_result *cr = NULL;
    int rc = 0;
    if (s->n_actions == 0 && !(cm = companion_model(o, i, s, &cs, err, sizeof err)) &&
        !o->quiet && err[0])
        fprintf(stderr, "accrue: note: the fan has the review dates only: %s\n", err);
    if (cm) {
        sim_model sim = model_sim(cm);
        options co = *o;
        co.target_se = 0.0;
        uint64_t trials = fan_trials(r->trials);
        double seconds;
        err[0] = '\0';
        cr = cli_simulate(&co, &sim, trials, &seconds, err, sizeof err);
        if ((rc = cli_simulation_status(cr, err)) != 0)
            goto done;
    }
    size_t n_companion = cm ? model_n_checkpoints(cm) : 0;
    if (fan_alloc(fan, info->n_checkpoints + n_companion) != 0) {
        fprintf(stderr, "accrue: out of memory\n");
        rc = 1;
        goto done;
    }
    /* Both date lists increase: merged, a date of the run's taking its row. */
    size_t k = 0, c = 0;
    while (k < info->n_checkpoints || c < n_companion) {
        date_t dc = c < n_companion ? model_checkpoint_date(cm, c) : 0;
        if (k < info->n_checkpoints && (c == n_companion || info->checkpoint_date[k] <= dc)) {
            c += c < n_companion && info->checkpoint_date[k] == dc;
            run_row(fan, info, r, k++);
        } else {
            companion_row(fan, dc, &cr->at_checkpoint[c++]);
        }
    }
done:
    sim_result_free(cr);
    model_free(cm);
    scenario_free(cs);
    return rc;
}

int fan_write_csv(const void *arg, FILE *f)
{
    const fan_table *fan = arg;
    fprintf(f, "date,mean,q05,q10,q25,q50,q75,q90,q95,mean_se,trials\n");
    for (size_t k = 0; k < fan->n; k++) {
        char d[DATE_TEXT_LEN];
        date_format_wide(fan->date[k], d);
        fprintf(f, "%s,%.6g", d, fan->mean[k]);
        for (int j = 0; j < REPORT_N_QUANTILES; j++)
            fprintf(f, ",%zu", fan->q[k][j]);
        fprintf(f, ",%.3g,%llu\n", fan->mean_se[k], (unsigned long long)fan->trials[k]);
    }
    return ferror(f) ? -1 : 0;
}
