/* The benchmark harness behind `make bench`: runs accrue (and the event-by-event baseline,
 * bench/naive.c) as child processes on the reference scenario, several times per configuration,
 * and reports median speed, wall time and peak memory, whether the output files are
 * byte-identical across thread counts, and a z-score between the two simulators' P(success).
 * It prints a short table and writes a JSON file for CI. It never judges speed: the exit status
 * is 0 unless a run failed or outputs differed across thread counts (1), or the arguments were
 * bad (2). */

/* wait4, the one call that returns a given child's resource usage (its own peak RSS), is a BSD
 * and Linux extension outside POSIX: glibc declares it only with _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_CC
#define BENCH_CC "unknown"  /* the Makefile passes `$(CC) --version | head -1` */
#endif

#define MAX_REPS 100
#define MAX_CONFIGS 14
#define MAX_MODELS 4             /* --model scenarios at most */
/* Path buffers nest (scratch folder < tables folder < file in it) so that no path can be cut. */
#define TMP_LEN 1024
#define DIR_LEN 1100
#define PATH_LEN 1400
#define DEFAULT_SEED "20260718"
#define DEFAULT_NAIVE_TRIALS 200000ULL  /* the baseline runs about 5 us per trial: ~1 s */
#define MEMORY_SMALL 1000000ULL
#define MEMORY_LARGE 100000000ULL

typedef struct bench_options {
    char *accrue, *naive, *scenario, *json, *seed;   /* argv strings (execv wants char *) */
    char *baseline;          /* --baseline: another accrue build, run beside this one */
    char *also;              /* --also: a second scenario, run beside the reference */
    char *model[MAX_MODELS]; /* --model: scenarios served by other models, run on 2 threads */
    int n_models;
    char *scale;             /* --scale: the folder of the scaling table's scenarios */
    int reps;
    int short_mode;          /* 1e6 trials only, plus one 1e7 run with 2 threads */
    int memory_check;        /* 1e6 and 1e8 trials once each, 2 threads */
    unsigned long long naive_trials;
} bench_options;

/* One child process run: wall time from fork to reaping, the child's own peak RSS. */
typedef struct run_stats {
    double wall;             /* seconds */
    long maxrss_kib;         /* ru_maxrss: KiB on Linux */
} run_stats;

/* One configuration: which program, how many trials and threads, and every repetition's figures. */
typedef struct config {
    const char *program;     /* "accrue", "naive", "baseline" (--baseline) or "also" (--also) */
    char *binary, *scenario; /* what runs, on which scenario */
    unsigned long long trials;
    int threads, reps;
    run_stats rep[MAX_REPS];
    int done;                /* repetitions completed */
    char out_dir[DIR_LEN];   /* where accrue writes its tables (each repetition overwrites them) */
} config;

/* The result of comparing the tables written with 1 and 2 threads at one trial count. */
typedef struct identity_check {
    unsigned long long trials;
    int identical;           /* 1 yes, 0 no */
    char detail[300];        /* the first file that differs, or why the check failed */
} identity_check;

typedef struct naive_check {
    int have;
    double p_naive, se_naive, p_accrue, se_accrue, z;
} naive_check;

typedef struct memory_result {
    int have;
    run_stats small, large;
} memory_result;

typedef struct bench_state {
    bench_options o;
    char tmp[TMP_LEN];       /* scratch folder, removed at the end */
    config cfg[MAX_CONFIGS];
    int n_cfg;
    identity_check ident[MAX_CONFIGS];
    int n_ident;
    naive_check nc;
    memory_result mem;
    int failed;              /* a run failed to complete */
    double load_at_start;    /* 1-minute load average before the first run */
} bench_state;

/* ---- small helpers ---- */

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

/* The median of v[0..n) (mean of the two middle values when n is even); 0 when n is 0. */
static double median(const double *v, int n)
{
    double s[MAX_REPS];
    if (n <= 0)
        return 0.0;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* "1e6" for powers of ten, the plain number otherwise. */
static const char *trials_label(unsigned long long n, char buf[32])
{
    int e = 0;
    unsigned long long m = n;
    while (m >= 10 && m % 10 == 0) {
        m /= 10;
        e++;
    }
    if (m == 1 && e > 0)
        snprintf(buf, 32, "1e%d", e);
    else
        snprintf(buf, 32, "%llu", n);
    return buf;
}

static double mib(long kib)
{
    return (double)kib / 1024.0;
}

/* ---- running a child ---- */

/* Runs argv[0] with stdout and stderr sent to the files `out` and `err`, and waits for it; a
 * limit of `limit` seconds (0: none) is an alarm set in the child before execv, which survives
 * it (POSIX keeps a pending alarm across exec), so that a run past it ends by SIGALRM. Returns
 * 0 with *st filled when it exited with status 0, 1 when the limit ended it (st->wall is then
 * the limit), else -1 (with a message). */
static int run_child_limited(char *const argv[], const char *out, const char *err,
                             unsigned limit, run_stats *st)
{
    fflush(NULL);
    double start = now_seconds();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, STDOUT_FILENO) < 0 || dup2(fe, STDERR_FILENO) < 0)
            _exit(126);
        if (limit)
            alarm(limit);
        execv(argv[0], argv);
        fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    pid_t got;
    while ((got = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    st->wall = now_seconds() - start;
    st->maxrss_kib = ru.ru_maxrss;
    if (limit && got >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        st->wall = (double)limit;
        return 1;
    }
    if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: %s failed (%s %d)%s\n", argv[0],
                got >= 0 && WIFSIGNALED(status) ? "signal" : "exit status",
                got < 0 ? -1 : WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                got < 0 ? "" : "; it said:");
        return -1;
    }
    return 0;
}

static int run_child(char *const argv[], const char *out, const char *err, run_stats *st)
{
    return run_child_limited(argv, out, err, 0, st);
}

/* Prints the last lines of a child's stderr file, so that a failure explains itself. */
static void show_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

/* One repetition of configuration c. accrue writes its tables into c->out_dir (the folder the
 * comparison across threads reads); both programs' reports go to the scratch folder beside it. */
static int run_config(bench_state *b, config *c)
{
    char trials[32], threads[16], out[PATH_LEN], err[PATH_LEN];
    snprintf(trials, sizeof trials, "%llu", c->trials);
    snprintf(threads, sizeof threads, "%d", c->threads);
    snprintf(out, sizeof out, "%s/%s-%llu-%d.stdout", b->tmp, c->program, c->trials, c->threads);
    snprintf(err, sizeof err, "%s/%s.stderr", b->tmp, c->program);
    char *acc[] = {c->binary, "run", c->scenario, "--trials", trials,
                   "--seed", b->o.seed, "--threads", threads, "--quiet", "--out",
                   c->out_dir, NULL};
    char *nav[] = {b->o.naive, b->o.scenario, "--trials", trials, "--seed",
                   b->o.seed, "--threads", threads, NULL};
    int is_naive = !strcmp(c->program, "naive");
    if (!is_naive && mkdir(c->out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench: cannot create %s: %s\n", c->out_dir, strerror(errno));
        return -1;
    }
    run_stats st;
    if (run_child(is_naive ? nav : acc, out, err, &st) != 0) {
        show_file(err);
        return -1;
    }
    c->rep[c->done++] = st;
    fprintf(stderr, "bench: %-6s %5s trials, %d thread%s: %8.3f s, %7.1f MiB\n", c->program,
            trials_label(c->trials, trials), c->threads, c->threads > 1 ? "s" : "", st.wall,
            mib(st.maxrss_kib));
    return 0;
}

/* ---- comparing output folders ---- */

/* 0 when files a and b hold the same bytes, 1 when they differ, -1 when one cannot be read. */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int rc = (fa && fb) ? 0 : -1;
    while (rc == 0) {
        int ca = getc(fa), cb = getc(fb);
        if (ca != cb)
            rc = 1;
        else if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return rc;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Compares every file of folder a with its namesake in b, as cmp does, and checks that b holds
 * no other files. Fills chk and returns chk->identical. */
static int same_folder(const char *a, const char *b, identity_check *chk)
{
    DIR *d = opendir(a);
    struct dirent *e;
    int n = 0;
    chk->identical = d != NULL;
    snprintf(chk->detail, sizeof chk->detail, "%s", d ? "" : "no tables written");
    while (d && chk->identical && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char pa[PATH_LEN], pb[PATH_LEN];
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        n++;
        if (same_file(pa, pb) != 0) {
            chk->identical = 0;
            snprintf(chk->detail, sizeof chk->detail, "%s differs", e->d_name);
        }
    }
    if (d)
        closedir(d);
    if (chk->identical && (n == 0 || count_files(b) != n)) {
        chk->identical = 0;
        snprintf(chk->detail, sizeof chk->detail, "%s", n ? "different sets of files" : "no tables");
    }
    return chk->identical;
}

/* For every trial count run with both 1 and 2 threads, compares their tables. */
static void check_identity(bench_state *b)
{
    for (int i = 0; i < b->n_cfg; i++)
        for (int j = 0; j < b->n_cfg; j++) {
            config *c1 = &b->cfg[i], *c2 = &b->cfg[j];
            if (strcmp(c1->program, "accrue") || strcmp(c2->program, "accrue") ||
                c1->trials != c2->trials || c1->threads != 1 || c2->threads != 2 || !c1->done ||
                !c2->done)
                continue;
            identity_check *chk = &b->ident[b->n_ident++];
            chk->trials = c1->trials;
            same_folder(c1->out_dir, c2->out_dir, chk);
        }
}

/* Removes folder `dir` and the files in it (one level: the harness creates no deeper ones
 * except the tables folders, handled by recursion). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[PATH_LEN];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* ---- reading the two simulators' estimates ---- */

/* Finds `key` at the start of a line of file `path` followed by `sep` and a number. */
static int read_key(const char *path, const char *key, char sep, double *v)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    size_t n = strlen(key);
    int rc = -1;
    while (f && rc != 0 && fgets(line, sizeof line, f)) {
        char *end;
        if (strncmp(line, key, n) == 0 && line[n] == sep) {
            *v = strtod(line + n + 1, &end);
            rc = end == line + n + 1 ? -1 : 0;
        }
    }
    if (f)
        fclose(f);
    return rc;
}

/* The z-score of the difference between the baseline's P(success) and accrue's (1 thread, the
 * smallest trial count): z = (p_n - p_a) / sqrt(se_n^2 + se_a^2), the two runs being
 * independent (different random streams). |z| > 3 would deserve a look; nothing asserts it. */
static void compare_estimates(bench_state *b)
{
    char naive_out[PATH_LEN], summary[PATH_LEN];
    config *acc = NULL;
    for (int i = 0; i < b->n_cfg; i++)
        if (!strcmp(b->cfg[i].program, "accrue") && b->cfg[i].threads == 1 && b->cfg[i].done &&
            (!acc || b->cfg[i].trials < acc->trials))
            acc = &b->cfg[i];
    if (!acc)
        return;
    snprintf(naive_out, sizeof naive_out, "%s/naive-%llu-1.stdout", b->tmp, b->o.naive_trials);
    snprintf(summary, sizeof summary, "%s/summary.csv", acc->out_dir);
    naive_check *nc = &b->nc;
    if (read_key(naive_out, "p_success", ' ', &nc->p_naive) || read_key(naive_out, "p_success_se", ' ', &nc->se_naive) ||
        read_key(summary, "p_success", ',', &nc->p_accrue) || read_key(summary, "p_success_se", ',', &nc->se_accrue))
        return;
    double se = sqrt(nc->se_naive * nc->se_naive + nc->se_accrue * nc->se_accrue);
    nc->z = se > 0.0 ? (nc->p_naive - nc->p_accrue) / se : 0.0;
    nc->have = 1;
}

/* ---- the plan of runs ---- */

static config *add_config(bench_state *b, const char *program, unsigned long long trials,
                          int threads, int reps)
{
    config *c = &b->cfg[b->n_cfg++];
    *c = (config){.program = program, .trials = trials, .threads = threads, .reps = reps,
                  .binary = b->o.accrue, .scenario = b->o.scenario};
    snprintf(c->out_dir, sizeof c->out_dir, "%s/%s-%llu-%d", b->tmp, program, trials, threads);
    return c;
}

static void plan_runs(bench_state *b)
{
    int r = b->o.reps;
    add_config(b, "accrue", 1000000ULL, 1, r);
    add_config(b, "accrue", 1000000ULL, 2, r);
    if (b->o.short_mode) {
        add_config(b, "accrue", 10000000ULL, 2, 1);
    } else {
        add_config(b, "accrue", 10000000ULL, 1, r);
        add_config(b, "accrue", 10000000ULL, 2, r);
    }
    add_config(b, "naive", b->o.naive_trials, 1, r);
    if (b->o.baseline)
        add_config(b, "baseline", 1000000ULL, 1, r)->binary = b->o.baseline;
    if (b->o.also)
        add_config(b, "also", 1000000ULL, 1, r)->scenario = b->o.also;
    for (int i = 0; i < b->o.n_models; i++) {
        config *c = add_config(b, "model", 1000000ULL, 2, r);
        c->scenario = b->o.model[i];
        snprintf(c->out_dir, sizeof c->out_dir, "%s/model%d", b->tmp, i);
    }
}

/* Median trials per second of `program` at 1e6 trials, 1 thread, over accrue's on the
 * reference (0 when either is missing): the side-by-side figures of --baseline and --also. */
static double beside_ratio(const bench_state *b, const char *program);

/* Repetitions are interleaved (every configuration once, then again) so that a slow spell of
 * the machine spreads over all configurations instead of spoiling one. */
static void run_all(bench_state *b)
{
    for (int rep = 0; rep < b->o.reps && !b->failed; rep++)
        for (int i = 0; i < b->n_cfg && !b->failed; i++)
            if (b->cfg[i].done < b->cfg[i].reps && run_config(b, &b->cfg[i]) != 0)
                b->failed = 1;
}

static void run_memory_check(bench_state *b)
{
    config small = {.program = "accrue", .trials = MEMORY_SMALL, .threads = 2, .reps = 1,
                    .binary = b->o.accrue, .scenario = b->o.scenario};
    config large = {.program = "accrue", .trials = MEMORY_LARGE, .threads = 2, .reps = 1,
                    .binary = b->o.accrue, .scenario = b->o.scenario};
    snprintf(small.out_dir, sizeof small.out_dir, "%s/memory-small", b->tmp);
    snprintf(large.out_dir, sizeof large.out_dir, "%s/memory-large", b->tmp);
    if (run_config(b, &small) != 0 || run_config(b, &large) != 0) {
        b->failed = 1;
        return;
    }
    b->mem = (memory_result){.have = 1, .small = small.rep[0], .large = large.rep[0]};
}

/* ---- the scaling table (--scale DIR) ----
 *
 * How the cost grows with the work, one kind of growth at a time from the reference (the
 * scenarios of bench/scale, see its README): each scenario's trials per second on 1 thread
 * (every output written), its wall time to a standard error of 1e-4 on P(success) with 2
 * threads (--target-se 1e-4), and the exact mode's wall time; with --baseline, the other build
 * on the same runs, interleaved. A run that exceeds its limit is stopped and shown as beyond
 * it; a measure that took longer than SCALE_SLOW seconds is not repeated. */
#define SCALE_LIMIT_RATE 120u
#define SCALE_LIMIT_SE 60u
#define SCALE_LIMIT_EXACT 30u
#define SCALE_SLOW 10.0
#define SCALE_TARGET_SE "1e-4"
#define SCALE_MAX_TRIALS "1000000000000"

typedef enum scale_measure { MEASURE_RATE, MEASURE_SE, MEASURE_EXACT, N_MEASURES } scale_measure;

/* One measure of one scenario by one build. */
typedef struct scale_cell {
    double wall[MAX_REPS];
    int done;
    int timed_out;           /* stopped at its limit */
    int declined;            /* the exact mode said it would not compute it (exit status 1) */
    double trials_reached;   /* MEASURE_SE: the trials --target-se ran (its summary.csv) */
} scale_cell;

/* A scenario of the table: its folder under --scale ("reference": --scenario), the trials of
 * its rate runs and its sites. The trials make each rate run take about half a second to a
 * second on one thread, so that the start-up (reading the scenario, run's exact check: 0.01 s
 * for the reference, 0.05 to 0.12 s for count-300, count-1000, count-10000 and sites-5000) is
 * at most about a tenth of the time and ns/trial is mostly the cost of trials. (They were
 * chosen for about a second before the scaling work; with the trials 2 to 10 times faster
 * since, the start-up had become a third to a half of some rows.) */
typedef struct scale_row {
    const char *name;
    unsigned long long trials;
    int sites;
    char scenario[PATH_LEN];
    scale_cell cell[2][N_MEASURES];   /* [0] accrue, [1] the baseline */
} scale_row;

static scale_row scale_rows[] = {
    {.name = "reference", .trials = 4000000ULL, .sites = 5},
    {.name = "count-100", .trials = 1000000ULL, .sites = 5},
    {.name = "count-300", .trials = 1000000ULL, .sites = 30},
    {.name = "count-1000", .trials = 524288ULL, .sites = 5},
    {.name = "count-10000", .trials = 262144ULL, .sites = 5},
    {.name = "sites-50", .trials = 1000000ULL, .sites = 50},
    {.name = "sites-500", .trials = 262144ULL, .sites = 500},
    {.name = "sites-5000", .trials = 32768ULL, .sites = 5000},
    {.name = "screening-32", .trials = 4000000ULL, .sites = 5},
};
#define N_SCALE_ROWS (sizeof scale_rows / sizeof scale_rows[0])

static void json_string(FILE *f, const char *s);

static const char *const measure_name[N_MEASURES] = {"rate", "se", "exact"};

/* One run of measure m of row r by build `which` (0 accrue, 1 the baseline). Returns 0 (also
 * for a run stopped at its limit or an exact mode that declined), -1 when a run failed. */
static int scale_run(bench_state *b, scale_row *r, int which, scale_measure m)
{
    scale_cell *c = &r->cell[which][m];
    char *bin = which ? b->o.baseline : b->o.accrue;
    char trials[32], dir[DIR_LEN], out[PATH_LEN], err[PATH_LEN];
    snprintf(trials, sizeof trials, "%llu", r->trials);
    snprintf(dir, sizeof dir, "%s/scale-%s-%d-%s", b->tmp, r->name, which, measure_name[m]);
    snprintf(out, sizeof out, "%s.stdout", dir);
    snprintf(err, sizeof err, "%s.stderr", dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char *rate[] = {bin, "run", r->scenario, "--trials", trials, "--seed", b->o.seed,
                    "--threads", "1", "--quiet", "--out", dir, NULL};
    char *se[] = {bin, "run", r->scenario, "--target-se", SCALE_TARGET_SE, "--trials",
                  SCALE_MAX_TRIALS, "--seed", b->o.seed, "--threads", "2", "--quiet", "--out",
                  dir, NULL};
    char *exact[] = {bin, "exact", r->scenario, "--out", dir, NULL};
    char *const *argv = m == MEASURE_RATE ? rate : m == MEASURE_SE ? se : exact;
    unsigned limit = m == MEASURE_RATE ? SCALE_LIMIT_RATE
                     : m == MEASURE_SE ? SCALE_LIMIT_SE : SCALE_LIMIT_EXACT;
    run_stats st;
    int rc = run_child_limited(argv, out, err, limit, &st);
    if (rc < 0 && m == MEASURE_EXACT) {
        c->declined = 1;       /* its message is in err; the table says "declined" */
        return 0;
    }
    if (rc < 0) {
        show_file(err);
        return -1;
    }
    c->timed_out = rc == 1;
    c->wall[c->done++] = st.wall;
    if (m == MEASURE_SE && !c->timed_out) {
        char summary[PATH_LEN];
        snprintf(summary, sizeof summary, "%s/summary.csv", dir);
        if (read_key(summary, "trials", ',', &c->trials_reached) != 0)
            c->trials_reached = 0.0;
    }
    fprintf(stderr, "bench: scale %-12s %-8s %-5s %8.3f s%s\n", r->name,
            which ? "baseline" : "accrue", measure_name[m], st.wall,
            c->timed_out ? " (stopped at the limit)" : "");
    return 0;
}

/* Whether a cell needs another run: fewer than reps, and none slow, stopped or declined. */
static int scale_wants(const scale_cell *c, int reps)
{
    if (c->done >= reps || c->timed_out || c->declined)
        return 0;
    for (int i = 0; i < c->done; i++)
        if (c->wall[i] > SCALE_SLOW)
            return 0;
    return 1;
}

/* Every row, measure and build once per round, for reps rounds (interleaved as run_all). */
static void run_scaling(bench_state *b)
{
    for (size_t i = 0; i < N_SCALE_ROWS; i++) {
        scale_row *r = &scale_rows[i];
        if (!strcmp(r->name, "reference"))
            snprintf(r->scenario, sizeof r->scenario, "%s", b->o.scenario);
        else
            snprintf(r->scenario, sizeof r->scenario, "%s/%s", b->o.scale, r->name);
    }
    int builds = b->o.baseline ? 2 : 1;
    for (int rep = 0; rep < b->o.reps && !b->failed; rep++)
        for (size_t i = 0; i < N_SCALE_ROWS && !b->failed; i++)
            for (int m = 0; m < N_MEASURES && !b->failed; m++)
                for (int w = 0; w < builds && !b->failed; w++)
                    if (scale_wants(&scale_rows[i].cell[w][m], b->o.reps) &&
                        scale_run(b, &scale_rows[i], w, (scale_measure)m) != 0)
                        b->failed = 1;
}

static double cell_median(const scale_cell *c)
{
    return median(c->wall, c->done);
}

/* A wall time for the table: seconds, "> limit" or "declined". */
static void cell_text(const scale_cell *c, unsigned limit, char *buf, size_t len)
{
    if (c->declined)
        snprintf(buf, len, "declined");
    else if (c->timed_out)
        snprintf(buf, len, "> %u", limit);
    else if (c->done)
        snprintf(buf, len, "%.3f", cell_median(c));
    else
        snprintf(buf, len, "-");
}

/* Nanoseconds per trial of a rate cell (wall time over trials, start-up included). */
static double cell_ns_per_trial(const scale_cell *c, unsigned long long trials)
{
    return c->done && !c->timed_out ? 1e9 * cell_median(c) / (double)trials : 0.0;
}

static void print_scaling(const bench_state *b)
{
    int builds = b->o.baseline ? 2 : 1;
    printf("\nScaling: trials/s and ns/trial on 1 thread (every output written), x ref = cost "
           "per trial over the reference's;\nto SE %s: wall s with 2 threads (trials run); "
           "exact: wall s of `accrue exact`; medians of up to %d runs\n",
           SCALE_TARGET_SE, b->o.reps);
    printf("  %-13s %-8s %12s %10s %8s %10s %14s %10s\n", "scenario", "build", "trials/s",
           "ns/trial", "x ref", "to SE s", "(trials)", "exact s");
    for (size_t i = 0; i < N_SCALE_ROWS; i++) {
        const scale_row *r = &scale_rows[i];
        for (int w = 0; w < builds; w++) {
            const scale_cell *rate = &r->cell[w][MEASURE_RATE], *se = &r->cell[w][MEASURE_SE];
            double ns = cell_ns_per_trial(rate, r->trials);
            double ref = cell_ns_per_trial(&scale_rows[0].cell[w][MEASURE_RATE],
                                           scale_rows[0].trials);
            char t_rate[32], t_se[32], t_exact[32], reached[32];
            cell_text(rate, SCALE_LIMIT_RATE, t_rate, sizeof t_rate);
            cell_text(se, SCALE_LIMIT_SE, t_se, sizeof t_se);
            cell_text(&r->cell[w][MEASURE_EXACT], SCALE_LIMIT_EXACT, t_exact, sizeof t_exact);
            snprintf(reached, sizeof reached, se->trials_reached > 0.0 ? "(%.0f)" : "",
                     se->trials_reached);
            printf("  %-13s %-8s %12.0f %10.0f %8.1f %10s %14s %10s\n", w ? "" : r->name,
                   w ? "baseline" : "accrue", ns > 0.0 ? 1e9 / ns : 0.0, ns,
                   ref > 0.0 ? ns / ref : 0.0, t_se, reached, t_exact);
        }
    }
}

static void json_scaling(FILE *f, const bench_state *b)
{
    int builds = b->o.baseline ? 2 : 1;
    fprintf(f, "  \"scaling\": [\n");
    for (size_t i = 0; i < N_SCALE_ROWS; i++) {
        const scale_row *r = &scale_rows[i];
        for (int w = 0; w < builds; w++) {
            const scale_cell *c = r->cell[w];
            fprintf(f, "    {\"scenario\": ");
            json_string(f, r->name);
            fprintf(f, ", \"build\": \"%s\", \"sites\": %d, \"trials\": %llu, "
                       "\"ns_per_trial\": %.1f, \"se_wall_s\": %.4f, \"se_timed_out\": %s, "
                       "\"se_trials\": %.0f, \"exact_wall_s\": %.4f, \"exact_timed_out\": %s, "
                       "\"exact_declined\": %s}%s\n",
                    w ? "baseline" : "accrue", r->sites, r->trials,
                    cell_ns_per_trial(&c[MEASURE_RATE], r->trials), cell_median(&c[MEASURE_SE]),
                    c[MEASURE_SE].timed_out ? "true" : "false", c[MEASURE_SE].trials_reached,
                    cell_median(&c[MEASURE_EXACT]),
                    c[MEASURE_EXACT].timed_out ? "true" : "false",
                    c[MEASURE_EXACT].declined ? "true" : "false",
                    i + 1 < N_SCALE_ROWS || w + 1 < builds ? "," : "");
        }
    }
    fprintf(f, "  ],\n");
}

/* ---- figures ---- */

static double median_wall(const config *c)
{
    double w[MAX_REPS];
    for (int i = 0; i < c->done; i++)
        w[i] = c->rep[i].wall;
    return median(w, c->done);
}

/* Median over repetitions of trials / wall time. */
static double median_rate(const config *c)
{
    double v[MAX_REPS];
    for (int i = 0; i < c->done; i++)
        v[i] = (double)c->trials / c->rep[i].wall;
    return median(v, c->done);
}

/* The largest peak RSS over repetitions. */
static long peak_rss(const config *c)
{
    long m = 0;
    for (int i = 0; i < c->done; i++)
        if (c->rep[i].maxrss_kib > m)
            m = c->rep[i].maxrss_kib;
    return m;
}

static const config *find_config(const bench_state *b, const char *program,
                                 unsigned long long trials, int threads)
{
    for (int i = 0; i < b->n_cfg; i++) {
        const config *c = &b->cfg[i];
        if (!strcmp(c->program, program) && c->trials == trials && c->threads == threads && c->done)
            return c;
    }
    return NULL;
}

/* 2 threads / 1 thread at the largest trial count run with both; 0 when none. */
static double thread_ratio(const bench_state *b, unsigned long long *at)
{
    double ratio = 0.0;
    *at = 0;
    for (int i = 0; i < b->n_cfg; i++) {
        const config *c1 = &b->cfg[i];
        const config *c2 = find_config(b, "accrue", c1->trials, 2);
        if (!strcmp(c1->program, "accrue") && c1->threads == 1 && c1->done && c2 &&
            c1->trials > *at) {
            *at = c1->trials;
            ratio = median_rate(c2) / median_rate(c1);
        }
    }
    return ratio;
}

/* accrue (1e6 trials, 1 thread) / the baseline (1 thread), in trials per second; 0 if missing. */
static double naive_ratio(const bench_state *b)
{
    const config *a = find_config(b, "accrue", 1000000ULL, 1);
    const config *n = NULL;
    for (int i = 0; i < b->n_cfg; i++)
        if (!strcmp(b->cfg[i].program, "naive") && b->cfg[i].done)
            n = &b->cfg[i];
    return a && n ? median_rate(a) / median_rate(n) : 0.0;
}

static int all_identical(const bench_state *b)
{
    for (int i = 0; i < b->n_ident; i++)
        if (!b->ident[i].identical)
            return 0;
    return b->n_ident > 0;
}

static double beside_ratio(const bench_state *b, const char *program)
{
    const config *base = NULL, *other = NULL;
    for (int i = 0; i < b->n_cfg; i++) {
        const config *c = &b->cfg[i];
        if (c->trials == 1000000ULL && c->threads == 1 && c->done) {
            if (!strcmp(c->program, "accrue"))
                base = c;
            if (!strcmp(c->program, program))
                other = c;
        }
    }
    return base && other ? median_rate(other) / median_rate(base) : 0.0;
}

/* ---- the table ---- */

static void print_table(const bench_state *b)
{
    char t[32];
    printf("\naccrue benchmark: scenario %s, seed %s\n", b->o.scenario, b->o.seed);
    printf("  %-30s %14s %10s %10s %5s\n", "configuration", "trials/s", "wall s", "peak MiB", "reps");
    for (int i = 0; i < b->n_cfg; i++) {
        const config *c = &b->cfg[i];
        char name[64];
        if (!strcmp(c->program, "model")) {
            const char *base = strrchr(c->scenario, '/');
            snprintf(name, sizeof name, "%s %s, %d thread%s", base ? base + 1 : c->scenario,
                     trials_label(c->trials, t), c->threads, c->threads > 1 ? "s" : "");
        } else {
            snprintf(name, sizeof name, "%s %s trials, %d thread%s", c->program,
                     trials_label(c->trials, t), c->threads, c->threads > 1 ? "s" : "");
        }
        printf("  %-30s %14.0f %10.3f %10.1f %5d\n", name, median_rate(c), median_wall(c),
               mib(peak_rss(c)), c->done);
    }
    printf("  (medians over repetitions; peak: the largest peak RSS of the repetitions)\n");
    if (b->load_at_start > 0.5)
        printf("Note: load average %.2f before the runs: other work shared the CPUs\n",
               b->load_at_start);
    for (int i = 0; i < b->n_ident; i++)
        printf("Outputs identical with 1 and 2 threads at %s trials: %s%s%s\n",
               trials_label(b->ident[i].trials, t), b->ident[i].identical ? "yes" : "NO",
               b->ident[i].detail[0] ? ", " : "", b->ident[i].detail);
    unsigned long long at;
    double ratio = thread_ratio(b, &at);
    if (at)
        printf("2 threads / 1 thread: %.2f (%s trials)\n", ratio, trials_label(at, t));
    printf("accrue / naive (1 thread): %.1f\n", naive_ratio(b));
    if (b->o.baseline)
        printf("baseline %s / accrue (1e6 trials, 1 thread): %.3f\n", b->o.baseline,
               beside_ratio(b, "baseline"));
    if (b->o.also)
        printf("scenario %s / %s (1e6 trials, 1 thread): %.3f\n", b->o.also, b->o.scenario,
               beside_ratio(b, "also"));
    if (b->nc.have)
        printf("P(success): naive %.5f (SE %.5f), accrue %.5f (SE %.5f): z = %+.2f\n",
               b->nc.p_naive, b->nc.se_naive, b->nc.p_accrue, b->nc.se_accrue, b->nc.z);
    if (b->mem.have) {
        const run_stats *s = &b->mem.small, *l = &b->mem.large;
        printf("Memory check, 2 threads: peak %.1f MiB at 1e6 trials, %.1f MiB at 1e8 (ratio "
               "%.3f); trials/s %.0f and %.0f\n",
               mib(s->maxrss_kib), mib(l->maxrss_kib),
               (double)l->maxrss_kib / (double)s->maxrss_kib, (double)MEMORY_SMALL / s->wall,
               (double)MEMORY_LARGE / l->wall);
    }
}

/* ---- the JSON file ---- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* The first line of a command's output, without its newline; "unknown" when it gives none. */
static void command_line_output(const char *cmd, char *buf, size_t len)
{
    FILE *p = popen(cmd, "r");
    snprintf(buf, len, "unknown");
    if (!p)
        return;
    if (fgets(buf, (int)len, p))
        buf[strcspn(buf, "\r\n")] = '\0';
    if (pclose(p) != 0 || !buf[0])
        snprintf(buf, len, "unknown");
}

static void cpu_model(char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(buf, len, "unknown");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon += 1 + (colon[1] == ' ');
            colon[strcspn(colon, "\r\n")] = '\0';
            snprintf(buf, len, "%s", colon);
            break;
        }
    }
    if (f)
        fclose(f);
}

/* The 1-minute load average from /proc/loadavg; -1 when unknown. Other work on the machine
 * slows every figure down; recording the load lets a reader discount a noisy run. */
static double load_average(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double v = -1.0;
    if (f) {
        if (fscanf(f, "%lf", &v) != 1)
            v = -1.0;
        fclose(f);
    }
    return v;
}

static void json_machine(FILE *f, const bench_state *b)
{
    char cpu[256], kernel[600], commit[64], date[32];
    struct utsname u;
    cpu_model(cpu, sizeof cpu);
    if (uname(&u) == 0)
        snprintf(kernel, sizeof kernel, "%s %s %s", u.sysname, u.release, u.machine);
    else
        snprintf(kernel, sizeof kernel, "unknown");
    command_line_output("git rev-parse --short HEAD 2>/dev/null", commit, sizeof commit);
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    fprintf(f, "  \"date\": \"%s\",\n  \"commit\": ", date);
    json_string(f, commit);
    fprintf(f, ",\n  \"compiler\": ");
    json_string(f, BENCH_CC);
    fprintf(f, ",\n  \"machine\": {\"nproc\": %ld, \"cpu\": ", sysconf(_SC_NPROCESSORS_ONLN));
    json_string(f, cpu);
    fprintf(f, ", \"kernel\": ");
    json_string(f, kernel);
    fprintf(f, ", \"loadavg_at_start\": %.2f},\n", b->load_at_start);
}

static void json_runs(FILE *f, const bench_state *b)
{
    fprintf(f, "  \"runs\": [\n");
    for (int i = 0; i < b->n_cfg; i++) {
        const config *c = &b->cfg[i];
        fprintf(f, "    {\"program\": \"%s\", \"scenario\": ", c->program);
        json_string(f, c->scenario ? c->scenario : "");
        fprintf(f, ", \"trials\": %llu, \"threads\": %d, \"reps\": %d, "
                   "\"median_trials_per_s\": %.0f, \"median_wall_s\": %.4f, \"peak_rss_mib\": %.2f, "
                   "\"wall_s\": [",
                c->trials, c->threads, c->done, median_rate(c), median_wall(c),
                mib(peak_rss(c)));
        for (int r = 0; r < c->done; r++)
            fprintf(f, "%s%.4f", r ? ", " : "", c->rep[r].wall);
        fprintf(f, "]}%s\n", i + 1 < b->n_cfg ? "," : "");
    }
    fprintf(f, "  ],\n");
}

static void json_checks(FILE *f, const bench_state *b)
{
    unsigned long long at;
    double ratio = thread_ratio(b, &at);
    fprintf(f, "  \"identical_across_threads\": %s,\n  \"identity_checks\": [",
            all_identical(b) ? "true" : "false");
    for (int i = 0; i < b->n_ident; i++) {
        fprintf(f, "%s{\"trials\": %llu, \"identical\": %s, \"detail\": ", i ? ", " : "",
                b->ident[i].trials, b->ident[i].identical ? "true" : "false");
        json_string(f, b->ident[i].detail);
        fputc('}', f);
    }
    fprintf(f, "],\n  \"threads_2_over_1\": {\"trials\": %llu, \"ratio\": %.3f},\n", at, ratio);
    fprintf(f, "  \"accrue_over_naive\": %.2f,\n", naive_ratio(b));
    if (b->o.baseline)
        fprintf(f, "  \"baseline_over_accrue\": %.4f,\n", beside_ratio(b, "baseline"));
    if (b->o.also)
        fprintf(f, "  \"also_over_reference\": %.4f,\n", beside_ratio(b, "also"));
    if (b->nc.have)
        fprintf(f, "  \"naive_check\": {\"p_success_naive\": %.6f, \"se_naive\": %.6f, "
                   "\"p_success_accrue\": %.6f, \"se_accrue\": %.6f, \"z\": %.3f},\n",
                b->nc.p_naive, b->nc.se_naive, b->nc.p_accrue, b->nc.se_accrue, b->nc.z);
    else
        fprintf(f, "  \"naive_check\": null,\n");
    if (b->mem.have)
        fprintf(f, "  \"memory_check\": {\"threads\": 2, \"trials\": [%llu, %llu], "
                   "\"peak_rss_mib\": [%.2f, %.2f], \"ratio\": %.4f, \"wall_s\": [%.4f, %.4f]},\n",
                MEMORY_SMALL, MEMORY_LARGE, mib(b->mem.small.maxrss_kib),
                mib(b->mem.large.maxrss_kib),
                (double)b->mem.large.maxrss_kib / (double)b->mem.small.maxrss_kib,
                b->mem.small.wall, b->mem.large.wall);
    else
        fprintf(f, "  \"memory_check\": null,\n");
}

/* Writes the JSON next to its final name, then renames it, so that a reader never sees half. */
static int write_json(const bench_state *b)
{
    char tmp[PATH_LEN];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", b->o.json) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"benchmark\": \"accrue\",\n  \"mode\": \"%s\",\n  \"scenario\": ",
            b->o.short_mode ? "short" : "full");
    json_string(f, b->o.scenario);
    fprintf(f, ",\n  \"seed\": \"%s\",\n", b->o.seed);
    json_machine(f, b);
    json_runs(f, b);
    json_checks(f, b);
    if (b->o.scale)
        json_scaling(f, b);
    fprintf(f, "  \"complete\": %s\n}\n", b->failed ? "false" : "true");
    int rc = ferror(f) | fclose(f);
    if (rc != 0 || rename(tmp, b->o.json) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", b->o.json);
        remove(tmp);
        return -1;
    }
    printf("Figures written to %s\n", b->o.json);
    return 0;
}

/* ---- command line ---- */

static const char usage[] =
    "usage: bench [--accrue PATH] [--naive PATH] [--scenario DIR] [--json FILE] [--reps R]\n"
    "             [--seed S] [--naive-trials N] [--short] [--memory-check]\n"
    "  --accrue PATH       the accrue program (default build/accrue)\n"
    "  --naive PATH        the event-by-event baseline (default build/bench/naive)\n"
    "  --scenario DIR      scenario folder (default bench/reference)\n"
    "  --json FILE         where the figures go (default bench/results.json)\n"
    "  --reps R            repetitions per configuration, 1 to 100 (default 5)\n"
    "  --seed S            seed passed to both programs (default " DEFAULT_SEED ")\n"
    "  --naive-trials N    trials of the baseline (default 200000, about a second)\n"
    "  --short             1e6 trials only, plus one 1e7 run with 2 threads (for CI)\n"
    "  --memory-check      also run 1e6 and 1e8 trials once each with 2 threads\n"
    "  --baseline PATH     also run another accrue build at 1e6 trials, 1 thread, beside this\n"
    "                      one, and print its speed over accrue's\n"
    "  --also DIR          also run accrue on scenario DIR at 1e6 trials, 1 thread, and print\n"
    "                      its speed over the reference's\n"
    "  --model DIR         also run accrue on scenario DIR at 1e6 trials on 2 threads (a\n"
    "                      scenario served by another model: caps, actions); repeatable,\n"
    "                      4 at most\n"
    "  --scale DIR         also build the scaling table from the scenarios in DIR (see\n"
    "                      bench/scale/README.md), with the baseline beside when given\n"
    "Exit status: 0 done; 1 a run failed or outputs differ across threads; 2 bad arguments.\n";

static int parse_args(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){.accrue = "build/accrue", .naive = "build/bench/naive",
                         .scenario = "bench/reference", .json = "bench/results.json",
                         .seed = DEFAULT_SEED, .reps = 5, .naive_trials = DEFAULT_NAIVE_TRIALS};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--short")) {
            o->short_mode = 1;
            continue;
        }
        if (!strcmp(a, "--memory-check")) {
            o->memory_check = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !v)
            goto bad;
        i++;
        if (!strcmp(a, "--accrue"))
            o->accrue = v;
        else if (!strcmp(a, "--naive"))
            o->naive = v;
        else if (!strcmp(a, "--scenario"))
            o->scenario = v;
        else if (!strcmp(a, "--baseline"))
            o->baseline = v;
        else if (!strcmp(a, "--also"))
            o->also = v;
        else if (!strcmp(a, "--model") && o->n_models < MAX_MODELS)
            o->model[o->n_models++] = v;
        else if (!strcmp(a, "--scale"))
            o->scale = v;
        else if (!strcmp(a, "--json"))
            o->json = v;
        else if (!strcmp(a, "--seed") && strspn(v, "0123456789") == strlen(v) && *v)
            o->seed = v;
        else if (!strcmp(a, "--reps") && (o->reps = (int)strtol(v, &end, 10)) >= 1 &&
                 o->reps <= MAX_REPS && !*end)
            ;
        else if (!strcmp(a, "--naive-trials") &&
                 (o->naive_trials = strtoull(v, &end, 10)) >= 1 && !*end && *v != '-')
            ;
        else
            goto bad;
    }
    return 0;
bad:
    fputs(usage, stderr);
    return 2;
}

/* Makes the scratch folder under $TMPDIR (or /tmp). */
static int make_scratch(bench_state *b)
{
    const char *base = getenv("TMPDIR");
    snprintf(b->tmp, sizeof b->tmp, "%s/accrue-bench-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(b->tmp)) {
        fprintf(stderr, "bench: cannot create a scratch folder %s: %s\n", b->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static bench_state b;
    if (parse_args(argc, argv, &b.o) != 0)
        return 2;
    if (make_scratch(&b) != 0)
        return 1;
    double start = now_seconds();
    b.load_at_start = load_average();
    plan_runs(&b);
    run_all(&b);
    if (!b.failed && b.o.memory_check)
        run_memory_check(&b);
    if (!b.failed && b.o.scale)
        run_scaling(&b);
    check_identity(&b);
    compare_estimates(&b);
    print_table(&b);
    if (b.o.scale)
        print_scaling(&b);
    int rc = write_json(&b) != 0 || b.failed || !all_identical(&b);
    if (b.failed)
        printf("FAILED: a run did not complete (see the messages above)\n");
    else if (!all_identical(&b))
        printf("FAILED: the tables differ between 1 and 2 threads\n");
    printf("Bench took %.0f s\n", now_seconds() - start);
    remove_tree(b.tmp);
    return rc;
}
