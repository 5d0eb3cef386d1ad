/* The what-if benchmark (`make bench-whatif`, part of `make bench`): how long sweep and solve take
 * on a scenario, and how much the common random numbers of a sweep buy.
 *
 * Timing: each command runs `reps` times as a child process (fork, execv, wait4), wall time from
 * fork to reaping; the median, min and max are printed.
 *
 * Common random numbers: a sweep runs every point on one seed, so neighbouring points share their
 * trials' draws and their difference is far more precise than either point. To measure that
 * without trusting the engine's own error estimates for the difference, the same sweep runs on
 * `seeds` different seeds: for each pair of neighbouring points, the variance of the difference
 * across seeds is its true sampling variance, estimated; the ratio printed is
 *
 *     sqrt(mean over pairs of var_seeds(P[k+1] - P[k])) / mean over points and seeds of SE(P[k])
 *
 * (the SE of a neighbouring difference in units of a point's own SE). Two independent runs would
 * give sqrt(2) = 1.41. A variance estimated from R seeds has a relative SE of sqrt(2/(R-1)), so a
 * single pair's ratio is known to about sqrt(1/(2(R-1))) relative (13 % at R = 30); the pooled
 * ratio is more precise. Nothing asserts on the figures: the exit status is 0 unless a run failed
 * (1) or the arguments were bad (2). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 32
#define MAX_POINTS 64
#define MAX_SEEDS 200
#define MAX_REPS 21

typedef struct options {
    char *accrue, *scenario, *vary, *like;   /* argv strings (execv wants char *) */
    int reps, seeds;
    char *crn_trials;
} options;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs argv (argv[0] the program) with standard output discarded; returns its wall time in
 * seconds, or -1 when it could not run or did not exit 0. */
static double run_child(char *const argv[])
{
    fflush(NULL); /* or the child's stdout would write the parent's buffered lines again */
    double t0 = now_seconds();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    double t = now_seconds() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "whatif bench: %s %s failed (status %d)\n", argv[0], argv[1], status);
        return -1;
    }
    return t;
}

/* Times one command `reps` times and prints its median, min and max; returns the median, or -1. */
static double time_command(const char *label, char *const argv[], int reps)
{
    double t[MAX_REPS];
    for (int r = 0; r < reps; r++)
        if ((t[r] = run_child(argv)) < 0)
            return -1;
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    printf("  %-46s %8.2f s  (min %.2f, max %.2f, %d runs)\n", label, med, t[0], t[reps - 1], reps);
    return med;
}

/* Reads sweep.csv's p_success and p_success_se columns into p[] and se[]; returns the number of
 * rows, or -1. */
static int read_sweep(const char *path, double *p, double *se)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    int col_p = -1, col_se = -1, n = 0;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return -1;
    }
    int c = 0;
    for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), c++) {
        if (!strcmp(tok, "p_success"))
            col_p = c;
        else if (!strcmp(tok, "p_success_se"))
            col_se = c;
    }
    while (col_p >= 0 && col_se >= 0 && n < MAX_POINTS && fgets(line, sizeof line, f)) {
        /* The columns are numbers, dates and empty cells: no quoted commas. */
        char *s = line;
        for (c = 0; s; c++) {
            char *comma = strchr(s, ',');
            if (c == col_p)
                p[n] = strtod(s, NULL);
            if (c == col_se)
                se[n] = strtod(s, NULL);
            s = comma ? comma + 1 : NULL;
        }
        n++;
    }
    fclose(f);
    return col_p >= 0 && col_se >= 0 ? n : -1;
}

/* The common-random-numbers measurement described at the top. Returns 0, or 1 when a run failed. */
static int measure_crn(const options *o, const char *tmp)
{
    static double p[MAX_SEEDS][MAX_POINTS], se[MAX_SEEDS][MAX_POINTS];
    int n = -1;
    for (int s = 0; s < o->seeds; s++) {
        char seed[32], dir[4200], csv[4300];
        snprintf(seed, sizeof seed, "%d", s + 1);
        snprintf(dir, sizeof dir, "%s/crn-%d", tmp, s + 1);
        char *argv[] = {o->accrue, "sweep", o->scenario, "--vary",
                        o->vary, "--trials", o->crn_trials, "--seed", seed,
                        "--quiet", "--out", dir, NULL};
        if (run_child(argv) < 0)
            return 1;
        snprintf(csv, sizeof csv, "%s/sweep.csv", dir);
        int m = read_sweep(csv, p[s], se[s]);
        if (m < 2 || (n >= 0 && m != n)) {
            fprintf(stderr, "whatif bench: cannot read %s\n", csv);
            return 1;
        }
        n = m;
    }
    double sum_se = 0, sum_var = 0, max_var = 0;
    for (int s = 0; s < o->seeds; s++)
        for (int k = 0; k < n; k++)
            sum_se += se[s][k];
    for (int k = 0; k + 1 < n; k++) {
        double mean = 0, ss = 0;
        for (int s = 0; s < o->seeds; s++)
            mean += p[s][k + 1] - p[s][k];
        mean /= o->seeds;
        for (int s = 0; s < o->seeds; s++) {
            double d = p[s][k + 1] - p[s][k] - mean;
            ss += d * d;
        }
        double var = ss / (o->seeds - 1);
        sum_var += var;
        if (var > max_var)
            max_var = var;
    }
    double mean_se = sum_se / ((double)o->seeds * n);
    printf("  sweep --vary %s, %s trials a point, %d seeds, %d points:\n", o->vary, o->crn_trials,
           o->seeds, n);
    printf("    SE of a neighbouring difference / SE of a point: %.3f pooled over %d pairs, "
           "%.3f at the worst pair\n", sqrt(sum_var / (n - 1)) / mean_se, n - 1,
           sqrt(max_var) / mean_se);
    printf("    (independent seeds would give 1.414; one pair's ratio is known to about "
           "%.0f %% relative)\n", 100.0 * sqrt(1.0 / (2.0 * (o->seeds - 1))));
    return 0;
}

/* Removes the scratch folder's files one level down and the folder itself (sweep --out sets). */
static void remove_tree(char *dir)
{
    char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    run_child(argv);
}

static const char usage[] =
    "usage: whatif --accrue PATH --scenario DIR [--vary KEY=FROM:TO:STEP] [--like SITE]\n"
    "              [--reps N] [--seeds R] [--crn-trials N]\n"
    "Times `accrue solve` (rate_factor for P 0.8, extra_sites like SITE for 0.5, selfpay_consent\n"
    "for 0.3) and a 21-point sweep of rate_factor at 1e6 trials a point, then measures the SE of\n"
    "neighbouring sweep differences across R seeds. Defaults: --vary rate_factor=1:2:0.05,\n"
    "--reps 3, --seeds 30, --crn-trials 100000.\n"
    "Exit status: 0 done; 1 a run failed; 2 bad arguments.\n";

int main(int argc, char **argv)
{
    static char default_vary[] = "rate_factor=1:2:0.05", default_trials[] = "100000";
    options o = {NULL, NULL, default_vary, NULL, 3, 30, default_trials};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "whatif bench: %s needs a value\n%s", a, usage);
            return 2;
        }
        if (!strcmp(a, "--accrue")) o.accrue = v;
        else if (!strcmp(a, "--scenario")) o.scenario = v;
        else if (!strcmp(a, "--vary")) o.vary = v;
        else if (!strcmp(a, "--like")) o.like = v;
        else if (!strcmp(a, "--reps")) o.reps = atoi(v);
        else if (!strcmp(a, "--seeds")) o.seeds = atoi(v);
        else if (!strcmp(a, "--crn-trials")) o.crn_trials = v;
        else {
            fprintf(stderr, "whatif bench: unknown option %s\n%s", a, usage);
            return 2;
        }
        i++;
    }
    if (!o.accrue || !o.scenario || o.reps < 1 || o.reps > MAX_REPS || o.seeds < 3 ||
        o.seeds > MAX_SEEDS) {
        fprintf(stderr, "whatif bench: --accrue and --scenario are needed, 1 <= reps <= %d, "
                        "3 <= seeds <= %d\n%s", MAX_REPS, MAX_SEEDS, usage);
        return 2;
    }
    char tmp[] = "/tmp/accrue-whatif-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("whatif bench: mkdtemp");
        return 1;
    }
    char *acc = o.accrue, *sc = o.scenario;
    int failed = 0;
    printf("What-if on %s (wall time, median of %d):\n", o.scenario, o.reps);
    {
        char *argv1[] = {acc, "solve", sc, "--for", "rate_factor", "--p", "0.8", "--quiet", NULL};
        failed |= time_command("solve --for rate_factor --p 0.8", argv1, o.reps) < 0;
    }
    if (o.like) {
        char *argv2[] = {acc, "solve", sc, "--for", "extra_sites", "--like", o.like,
                         "--p", "0.5", "--quiet", NULL};
        failed |= time_command("solve --for extra_sites --like SITE --p 0.5", argv2, o.reps) < 0;
    }
    {
        char *argv3[] = {acc, "solve", sc, "--for", "selfpay_consent", "--p", "0.3", "--quiet",
                         NULL};
        failed |= time_command("solve --for selfpay_consent --p 0.3", argv3, o.reps) < 0;
    }
    {
        char *argv4[] = {acc, "sweep", sc, "--vary", "rate_factor=1:2:0.05", "--trials", "1e6",
                         "--quiet", NULL};
        failed |= time_command("sweep rate_factor=1:2:0.05, 1e6 trials a point", argv4,
                               o.reps) < 0;
    }
    failed |= measure_crn(&o, tmp);
    remove_tree(tmp);
    return failed ? 1 : 0;
}
