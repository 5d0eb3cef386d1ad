/* End-to-end tests of the accrue binary (engine/main.c): commands, exit statuses, output files,
 * byte-identical results across thread counts, bad arguments, interruption. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <math.h>
#include <jansson.h>

#ifndef ACCRUE_BIN
#define ACCRUE_BIN "build/accrue"
#endif

static char output[1 << 16];

/* Runs the binary with args through the shell, capturing stdout and stderr together into
 * `output`; returns the exit status. */
static int accrue(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", ACCRUE_BIN, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The same with args holding their own redirections (nothing added). */
static int accrue_raw(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", ACCRUE_BIN, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *make_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/accrue-test-XXXXXX");
    assert_non_null(mkdtemp(buf));
    return buf;
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static char *read_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[8][1 << 16];
    static int next;
    char *b = buf[next++ % 8];
    size_t n = fread(b, 1, sizeof buf[0] - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static const char *files[] = {"summary.csv", "enrolled_at_deadline.csv", "quantiles.csv",
                              "completion.csv", "checkpoints.csv", "sites.csv", "result.json"};

static void test_version_and_help(void **state)
{
    (void)state;
    assert_int_equal(accrue("--version"), 0);
    assert_non_null(strstr(output, "accrue "));
    assert_int_equal(accrue("--help"), 0);
    assert_non_null(strstr(output, "usage: accrue run"));
    assert_int_equal(accrue(""), 2);
}

static void test_default_run_writes_every_table(void **state)
{
    (void)state;
    char dir[64], args[256];
    make_tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "run --trials 20000 --quiet --out %s", dir);
    assert_int_equal(accrue(args), 0);
    assert_non_null(strstr(output, "Probability of reaching 12 by 2029-07-18"));
    assert_non_null(strstr(output, "exact (no simulation): 0.677"));
    static const char *headers[] = {
        "key,value\n", "enrolled,probability,probability_at_least",
        "quantile,enrolled_at_deadline,completion_date,completion_censored,completion_date_low,"
        "completion_date_high\n",
        "date,probability_reached",
        "date,mean,q05,q10,q25,q50,q75,q90,q95", "site,mean_registered,probability_none"};
    for (int i = 0; i < 6; i++) {
        char *text = read_file(dir, files[i]);
        assert_non_null(text);
        assert_memory_equal(text, headers[i], strlen(headers[i]));
    }
    char *summary = read_file(dir, "summary.csv");
    static const char *keys[] = {"scenario,", "trials,20000", "seed,", "p_success,",
                                 "p_success_se,", "p_success_ci_low,", "p_success_ci_high,",
                                 "mean_enrolled,", "p_success_exact,0.677"};
    for (int i = 0; i < 9; i++)
        assert_non_null(strstr(summary, keys[i]));
    /* The tables, result.json, fan.csv, inputs/ and no temporary file. */
    assert_int_equal(count_entries(dir), 9);
    char *fan = read_file(dir, "fan.csv");
    assert_non_null(fan);
    assert_memory_equal(fan, "date,mean,q05,q10,q25,q50,q75,q90,q95,mean_se,trials\n", 53);
    /* inputs/: the built-in default's two files, byte for byte those it was built from, and
     * the overrides (none: the header only). */
    static const char *const copied[] = {"trial.csv", "sites.csv"};
    for (int i = 0; i < 2; i++) {
        char in[128], shipped[128];
        snprintf(in, sizeof in, "%s/inputs", dir);
        snprintf(shipped, sizeof shipped, "scenarios/protocol-plan");
        char *a = read_file(in, copied[i]), *b = read_file(shipped, copied[i]);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
    }
    char in[128];
    snprintf(in, sizeof in, "%s/inputs", dir);
    char *ov = read_file(in, "overrides.csv");
    assert_non_null(ov);
    assert_string_equal(ov, "option,key,value\n");
    remove_tree(dir);
}

/* DESIGN.md section 4: same scenario, seed and trials give byte-identical files on any number
 * of threads. The trial count is not a multiple of the block size, to cover a partial block. */
static void test_identical_across_threads(void **state)
{
    (void)state;
    char d1[64], d2[64], args[256];
    make_tmpdir(d1, sizeof d1);
    make_tmpdir(d2, sizeof d2);
    snprintf(args, sizeof args, "run scenarios/self-pay --trials 300001 --seed 99 --threads 1 --quiet --out %s", d1);
    assert_int_equal(accrue(args), 0);
    snprintf(args, sizeof args, "run scenarios/self-pay --trials 300001 --seed 99 --threads 2 --quiet --out %s", d2);
    assert_int_equal(accrue(args), 0);
    for (int i = 0; i < 7; i++) {
        char *a = read_file(d1, files[i]), *b = read_file(d2, files[i]);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
    }
    remove_tree(d1);
    remove_tree(d2);
}

static void expect_usage_error(const char *args, const char *fragment)
{
    int rc = accrue(args);
    if (rc != 2 || !strstr(output, fragment))
        fail_msg("accrue %s: status %d, output: %s (expected status 2 and '%s')", args, rc,
                 output, fragment);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    expect_usage_error("run --trials 0", "--trials '0'");
    expect_usage_error("run --trials -5", "--trials '-5'");
    expect_usage_error("run --trials abc", "--trials 'abc'");
    expect_usage_error("run --trials 2e12", "--trials '2e12'");
    expect_usage_error("run --trials 1.5", "--trials '1.5'");
    expect_usage_error("run --threads 0", "--threads '0'");
    expect_usage_error("run --seed -1", "--seed '-1'");
    expect_usage_error("run --seed 18446744073709551616", "--seed");
    expect_usage_error("run --seed x1", "--seed 'x1'");
    expect_usage_error("run --target-se 0", "--target-se '0'");
    expect_usage_error("run --bogus", "unknown option '--bogus'");
    expect_usage_error("run --trials", "--trials needs a value");
    expect_usage_error("fly", "unknown command 'fly'");
    expect_usage_error("run no/such/folder", "no/such/folder");
    expect_usage_error("run a b", "more than one scenario");
}

/* An --out folder that cannot be written is reported before any simulation: with 1e12
 * trials, a run that started would not end within the test. */
static void test_unwritable_out_fails_first(void **state)
{
    (void)state;
    expect_usage_error("run --trials 1e12 --out /proc/accrue-cannot-be-here", "/proc/accrue-cannot-be-here");
    expect_usage_error("run --trials 1e12 --out README.md", "not a folder");
}

/* The widest line of `output`, in characters (UTF-8 continuation bytes not counted). */
static size_t widest_line(void)
{
    size_t widest = 0, width = 0;
    for (const unsigned char *c = (const unsigned char *)output; *c; c++) {
        if (*c == '\n') {
            width = 0;
            continue;
        }
        if ((*c & 0xC0) != 0x80 && ++width > widest)
            widest = width;
    }
    return widest;
}

/* DESIGN.md 4.3: the terminal's output fits 80 columns, for run with and without --verbose on
 * every shipped scenario (the loop below), and for compare, track, sweep, solve and --help. */
static void expect_80_columns(const char *args)
{
    accrue(args);
    if (widest_line() > 80)
        fail_msg("accrue %s: a line of %zu columns:\n%s", args, widest_line(), output);
}

static void test_every_shipped_scenario_runs(void **state)
{
    (void)state;
    DIR *d = opendir("scenarios");
    assert_non_null(d);
    int ran = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[512], args[600];
        snprintf(path, sizeof path, "scenarios/%s/trial.csv", e->d_name);
        if (e->d_name[0] == '.' || access(path, R_OK) != 0)
            continue;
        snprintf(args, sizeof args, "run scenarios/%s --trials 10000 --quiet", e->d_name);
        if (accrue(args) != 0)
            fail_msg("scenario %s: %s", e->d_name, output);
        assert_non_null(strstr(output, "Probability of reaching"));
        expect_80_columns(args);
        snprintf(args, sizeof args, "run scenarios/%s --trials 10000 --quiet --verbose",
                 e->d_name);
        expect_80_columns(args);
        /* exact computes every shipped scenario, or declines with status 2 and says why (a
         * finite pool, say): never a crash or another status. */
        snprintf(args, sizeof args, "exact scenarios/%s", e->d_name);
        int rc = accrue(args);
        if (rc != 0 && !(rc == 2 && strstr(output, "no exact computation")))
            fail_msg("exact scenario %s: status %d: %s", e->d_name, rc, output);
        ran++;
    }
    closedir(d);
    assert_true(ran >= 5);
    expect_80_columns("compare scenarios/protocol-plan scenarios/self-pay scenarios/recent-pace "
                      "--trials 10000 --quiet");
    expect_80_columns("track scenarios/seed-history-tracked --trials 10000 --quiet");
    /* Two long keys, and a solve by simulation over dates (the longest answer lines). */
    expect_80_columns("sweep scenarios/self-pay --vary rate_factor=1:2:0.5 "
                      "--vary selfpay_consent=0.2,0.6 --trials 10000 --quiet");
    expect_80_columns("solve tests/whatif/self-pay-late-site --for deadline --p 0.5 "
                      "--trials 20000 --quiet");
    expect_80_columns("--help");
}

static void test_exact_command(void **state)
{
    (void)state;
    char dir[64], args[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "exact --out %s", dir);
    assert_int_equal(accrue(args), 0);
    /* P(Poisson(9.0103) >= 8) = 0.67730 (DESIGN.md section 7). */
    assert_non_null(strstr(output, "0.6773"));
    char *summary = read_file(dir, "summary.csv");
    assert_non_null(summary);
    assert_non_null(strstr(summary, "p_success,0.6773"));
    assert_non_null(read_file(dir, "enrolled_at_deadline.csv"));
    remove_tree(dir);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A signal stops a huge run promptly, with status 128 + signal and no file in --out. */
static void interrupt_with(int sig, int expected_status)
{
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(ACCRUE_BIN, "accrue", "run", "--trials", "1e11", "--quiet", "--out", dir, (char *)NULL);
        _exit(127);
    }
    struct timespec half = {0, 500000000};
    nanosleep(&half, NULL);
    double t0 = now();
    kill(pid, sig);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    double waited = now() - t0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), expected_status);
    /* The loop checks the flag between blocks of 4096 trials (milliseconds apart). This is a
     * guard against ignoring the signal, not a timing test: ten seconds is far beyond any
     * block on a loaded machine, and a run that ignored it would take hours. */
    printf("  stopped %.3f s after signal %d\n", waited, sig);
    assert_true(waited < 10.0);
    assert_int_equal(count_entries(dir), 0);
    remove_tree(dir);
}

static void test_sigint_and_sigterm(void **state)
{
    (void)state;
    interrupt_with(SIGINT, 130);
    interrupt_with(SIGTERM, 143);
}

/* An alarm set before exec (a time limit, as bench/bench.c sets for its runs) still ends a
 * run by SIGALRM: accrue's own SIGALRM handler (the grace period after a stop) must not swallow
 * it. Ten seconds is a guard against a run that ignores it (it would take hours). */
static void test_inherited_alarm(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        alarm(1);
        execl(ACCRUE_BIN, "accrue", "run", "--trials", "1e11", "--quiet", (char *)NULL);
        _exit(127);
    }
    double t0 = now(), waited;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if ((waited = now() - t0) > 10.0) {   /* ignored: ended here, and the test fails */
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        struct timespec tick = {0, 5000000};
        nanosleep(&tick, NULL);
    }
    waited = now() - t0;
    printf("  ended %.3f s after start\n", waited);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGALRM);
    assert_true(waited < 10.0);
}

/* ---- DESIGN.md section 8: nothing lost, nothing hangs ---- */

/* Writes a scenario folder dir/name from the text of its two files. */
static void write_scenario(const char *dir, const char *name, const char *trial,
                           const char *sites)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0777), 0);
    const char *text[2] = {trial, sites}, *file[2] = {"trial.csv", "sites.csv"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s/%s", dir, name, file[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text[i], f);
        assert_int_equal(fclose(f), 0);
    }
}

#define TRIAL_HEAD "key,value\nas_of,2026-07-18\ndeadline,2029-07-18\ntarget,12\n"

/* Runs the binary with argv, standard output and error to /dev/null; after `delay` seconds
 * sends `sig` (none when 0) and waits at most `limit` seconds more, then kills it. Returns the
 * exit status (128 + signal if a signal ended it; -1 if it had to be killed); *waited is the
 * time from the signal (or the start) to the end. */
static int spawn(char *const argv[], double delay, int sig, double limit, double *waited)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(ACCRUE_BIN, argv);
        _exit(127);
    }
    double t0 = now();
    int status = 0, sent = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            break;
        double t = now() - t0;
        if (sig && !sent && t >= delay) {
            kill(pid, sig);
            sent = 1;
            t0 = now();
        } else if ((!sig || sent) && t > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            *waited = now() - t0;
            return -1;
        }
        struct timespec tick = {0, 5000000};
        nanosleep(&tick, NULL);
    }
    *waited = now() - t0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* beta(1e6;1e6) made GSL's inverse beta loop for hours while the report printed its 90 %
 * interval (run and exact alike; the signal handler only set a flag, so only SIGKILL ended
 * it); gamma shape 0.01 printed "90 % interval nan to 336". */
static void test_extreme_shapes_finish(void **state)
{
    (void)state;
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    write_scenario(dir, "b", TRIAL_HEAD "screen_pass,beta(1e6;1e6)\nselfpay_consent,"
                   "beta(950000;950000)\n", "site,rate,rate_shape\na,1,0.01\nb,2,1e6\n");
    snprintf(path, sizeof path, "%s/b", dir);
    char *run[] = {"accrue", "run", path, "--trials", "10000", "--quiet", NULL};
    char *exact[] = {"accrue", "exact", path, NULL};
    double waited;
    assert_int_equal(spawn(run, 0, 0, 20.0, &waited), 0);
    assert_int_equal(spawn(exact, 0, 0, 20.0, &waited), 0);
    char args[256];
    snprintf(args, sizeof args, "run %s --trials 10000 --quiet", path);
    assert_int_equal(accrue(args), 0);
    assert_non_null(strstr(output, "beta(1e+06;1e+06): mean 0.5, 90 % interval 0.499 to 0.501"));
    assert_non_null(strstr(output, "gamma(shape 0.01): 90 % interval 4.47e-129 to 0.336"));
    assert_null(strstr(output, "nan"));
    remove_tree(dir);
}

/* SIGINT and SIGTERM end a run within about a second in every phase: reading 100,000 sites,
 * describing them, the exact check, simulating (a batch of them takes a fraction of a second;
 * the flag used to be read once per block of 4096 trials, 25 s), and exact's long
 * computation; status 130 / 143 and no file in --out. */
static void test_signals_in_every_phase(void **state)
{
    (void)state;
    char dir[64], path[128], out[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/many/sites.csv", dir);
    write_scenario(dir, "many", TRIAL_HEAD, "site,rate,rate_shape\n");
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    for (int i = 0; i < 100000; i++)
        fprintf(f, "s%d,1,%d\n", i, 1000000 - i);
    assert_int_equal(fclose(f), 0);
    write_scenario(dir, "slow-exact", TRIAL_HEAD "screening,1000000\nscreen_pass,beta(2;3)\n"
                   "selfpay_consent,beta(2;3)\n", "site,rate\na,100000\nb,100000\n");
    snprintf(path, sizeof path, "%s/many", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    static const double delays[] = {0.05, 0.4, 1.0, 2.0, 3.5, 5.0};
    for (int i = 0; i < 6; i++) {
        int sig = i % 2 ? SIGTERM : SIGINT;
        char *run[] = {"accrue", "run", path, "--trials", "1e9", "--threads", "2", "--quiet",
                       "--out", out, NULL};
        double waited;
        int status = spawn(run, delays[i], sig, 10.0, &waited);
        printf("  signal %d at %.2f s: status %d, %.3f s later\n", sig, delays[i], status, waited);
        assert_int_equal(status, 128 + sig);
        assert_true(waited < 2.0);
        assert_int_equal(count_entries(dir), 2);  /* many and slow-exact: no out, no leftover */
    }
    snprintf(path, sizeof path, "%s/slow-exact", dir);
    char *exact[] = {"accrue", "exact", path, "--out", out, NULL};
    double waited;
    assert_int_equal(spawn(exact, 1.0, SIGTERM, 10.0, &waited), 143);
    assert_true(waited < 2.0);
    assert_int_equal(count_entries(dir), 2);
    /* One step far longer than a second between two polls of the stop flag: the actions model
     * follows each referral of a capped site one by one (each counts against its cap), and
     * four sites of 100,000 a year that never register (screen_pass 0), each capped at a
     * million, are 4 million referrals per trial, a batch of them minutes. (Uncapped sites
     * would not do: their paths follow only the referrals that pass screening.) The stop must
     * still come within about a second: the grace of engine/process.c (1 s) plus the test's
     * margin. Before it, SIGTERM waited for the batch (over a minute). */
    write_scenario(dir, "slow-step", TRIAL_HEAD "screen_pass,0\nhorizon_years,100\n",
                   "site,rate,cap\na,100000,1000000\nb,100000,1000000\nc,100000,1000000\n"
                   "d,100000,1000000\n");
    snprintf(path, sizeof path, "%s/slow-step/actions.csv", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("review,below,action,value\nevery,0,scale_rates,2\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(path, sizeof path, "%s/slow-step", dir);
    char *step[] = {"accrue", "run", path, "--trials", "1e6", "--threads", "2", "--quiet",
                    "--out", out, NULL};
    assert_int_equal(spawn(step, 1.0, SIGTERM, 10.0, &waited), 143);
    printf("  one long step: status 143, %.3f s after the signal\n", waited);
    assert_true(waited < 3.0);
    assert_int_equal(count_entries(dir), 3);  /* the three scenarios: no out, no leftover */
    remove_tree(dir);
}

/* Runs the binary with args under an address-space limit of limit_kb (none under ASan, which
 * reserves terabytes of address space), output and errors into `output`. */
static int accrue_limited(long limit_kb, const char *args)
{
    char cmd[4096];
#if defined(__SANITIZE_ADDRESS__)
    (void)limit_kb;
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", ACCRUE_BIN, args);
#else
    snprintf(cmd, sizeof cmd, "(ulimit -v %ld && exec %s %s) 2>&1", limit_kb, ACCRUE_BIN, args);
#endif
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Issue 15's memory cases within the documented bounds run in bounded memory or are refused up
 * front (status 2, FILE:LINE). One site at 100,000 a year followed 100 years past the deadline
 * (23 GB once) runs within 1 GB of address space; 20 MB of commas on one line (about 800 MB
 * before csvtab counted a too-wide row's fields instead of keeping them) is refused within
 * 400 MB; 300 sites at 100,000 a year (3.6 GB of count tables, then status 1) are refused
 * before anything is simulated. */
static void test_memory_bounds(void **state)
{
    (void)state;
    char dir[64], args[512], path[128];
    make_tmpdir(dir, sizeof dir);
    write_scenario(dir, "long", "key,value\nas_of,2026-07-18\ndeadline,2029-07-18\n"
                   "target,1000000\nhorizon_years,100\n", "site,rate\na,100000\n");
    snprintf(args, sizeof args, "run %s/long --trials 200 --threads 2 --quiet", dir);
    assert_int_equal(accrue_limited(1000000, args), 0);
    write_scenario(dir, "commas", TRIAL_HEAD, "site,rate\na,");
    snprintf(path, sizeof path, "%s/commas/sites.csv", dir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    for (int i = 0; i < 20000; i++)
        for (int j = 0; j < 1000; j++)
            putc(',', f);
    assert_int_equal(fclose(f), 0);
    snprintf(args, sizeof args, "run %s/commas --trials 200 --quiet", dir);
    assert_int_equal(accrue_limited(400000, args), 2);
    assert_non_null(strstr(output, "commas/sites.csv:2: row has 20000002 fields; expected 2"));
    write_scenario(dir, "many-fast", TRIAL_HEAD, "site,rate\n");
    snprintf(path, sizeof path, "%s/many-fast/sites.csv", dir);
    f = fopen(path, "a");
    assert_non_null(f);
    for (int i = 0; i < 300; i++)
        fprintf(f, "s%d,100000\n", i);
    assert_int_equal(fclose(f), 0);
    snprintf(args, sizeof args, "run %s/many-fast --trials 200 --quiet", dir);
    assert_int_equal(accrue_limited(400000, args), 2);
    assert_non_null(strstr(output, "many-fast/sites.csv:49: with this site the count tables"));
    remove_tree(dir);
}

/* A report that cannot be written is an error, and --out is then left as it was: a full disk
 * (/dev/full), a closed standard output, a pipe whose reader is gone while SIGPIPE is ignored.
 * All three used to exit 0. */
static void test_lost_report_is_an_error(void **state)
{
    (void)state;
    char dir[64], args[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "run --trials 1000 --quiet --out %s/out 2>&1 >/dev/full", dir);
    assert_int_equal(accrue_raw(args), 1);
    assert_non_null(strstr(output, "cannot write the report to standard output: No space left"));
    assert_int_equal(count_entries(dir), 0);
    assert_int_equal(accrue_raw("exact 2>&1 >/dev/full"), 1);
    assert_int_equal(accrue_raw("--version 2>&1 >/dev/full"), 1);
    snprintf(args, sizeof args, "run --trials 1000 --quiet --out %s/out 2>&1 >&-", dir);
    assert_int_equal(accrue_raw(args), 1);
    assert_non_null(strstr(output, "standard output is closed"));
    assert_int_equal(count_entries(dir), 0);
    /* A pipe with no reader, SIGPIPE ignored (inherited, as from a shell's trap '' PIPE). */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        close(fds[0]);
        dup2(fds[1], 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(ACCRUE_BIN, "accrue", "run", "--trials", "1000", "--quiet", (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    close(fds[1]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    remove_tree(dir);
}

/* Writing is linear in the rows and lists only counts with non-negligible probability: one site
 * at rate 1000 with rate_shape 0.01 wrote 609,814 rows (609,619 of probability 0) in 96 s. */
static void test_bimodal_table_is_short(void **state)
{
    (void)state;
    char dir[64], args[512];
    make_tmpdir(dir, sizeof dir);
    write_scenario(dir, "s", TRIAL_HEAD, "site,rate,rate_shape\na,1000,0.01\n");
    double t0 = now();
    snprintf(args, sizeof args, "run %s/s --trials 2000 --quiet --out %s/out", dir, dir);
    assert_int_equal(accrue(args), 0);
    double took = now() - t0;
    char out[128];
    snprintf(out, sizeof out, "%s/out", dir);
    char *table = read_file(out, "enrolled_at_deadline.csv");
    assert_non_null(table);
    size_t rows = 0;
    for (char *line = strchr(table, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        double p, plain;
        assert_int_equal(sscanf(line + 1, "%*d,%lf,%*f,%*f,%lf", &p, &plain), 2);
        assert_true(p >= 1e-10 || plain > 0.0);
        rows++;
    }
    printf("  %zu rows in %.2f s\n", rows, took);
    assert_true(rows < 2001 + 200);  /* at most one per trial besides the smooth part */
    assert_true(took < 10.0);
    remove_tree(dir);
}

/* Dates past 9999 (a deadline late in 9999 and a long horizon) printed xxxx-xx-xx; now in ISO
 * 8601's expanded form. "-0" printed as "-0/year". Names starting with =, +, - or @ are written
 * with a leading ' inside the quotes, which a spreadsheet shows as text, not as a formula. */
static void test_odd_outputs(void **state)
{
    (void)state;
    char dir[64], args[512], out[128];
    make_tmpdir(dir, sizeof dir);
    write_scenario(dir, "far", "key,value\nas_of,9990-01-01\ndeadline,9999-01-01\ntarget,12\n"
                   "horizon_years,100\n", "site,rate\na,1\n");
    snprintf(args, sizeof args, "run %s/far --trials 2000 --quiet --out %s/far-out", dir, dir);
    assert_int_equal(accrue(args), 0);
    assert_null(strstr(output, "xxxx"));
    assert_non_null(strstr(output, "+10001-"));
    snprintf(out, sizeof out, "%s/far-out", dir);
    for (int i = 0; i < 6; i++)
        assert_null(strstr(read_file(out, files[i]), "xxxx"));
    assert_non_null(strstr(read_file(out, "completion.csv"), "\n+10099-01-01,1,"));
    write_scenario(dir, "odd", TRIAL_HEAD "name,\"=HYPERLINK(\"\"x\"\")\"\nhorizon_years,-0\n",
                   "site,rate\n=cmd|calc,1\n+x,-0\n@y,1\n-z,1\nplain,1\n");
    snprintf(args, sizeof args, "run %s/odd --trials 2000 --quiet --out %s/odd-out", dir, dir);
    assert_int_equal(accrue(args), 0);
    assert_null(strstr(output, "-0/year"));
    assert_null(strstr(output, "-0 years"));
    assert_non_null(strstr(output, " 0/year"));
    snprintf(out, sizeof out, "%s/odd-out", dir);
    char *sites = read_file(out, "sites.csv");
    assert_non_null(strstr(sites, "\n\"'=cmd|calc\","));
    assert_non_null(strstr(sites, "\n\"'+x\","));
    assert_non_null(strstr(sites, "\n\"'@y\","));
    assert_non_null(strstr(sites, "\n\"'-z\","));
    assert_non_null(strstr(sites, "\n\"plain\","));
    assert_non_null(strstr(read_file(out, "summary.csv"), "scenario,\"'=HYPERLINK(\"\"x\"\")\"\n"));
    remove_tree(dir);
}

/* compare: one row per scenario in the terminal table and in compare.csv, each P the same as
 * the scenario's own run at the same seed and trials (the same trials: byte-equal numbers). */
static void test_compare(void **state)
{
    (void)state;
    char dir[64], args[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "compare scenarios/protocol-plan scenarios/self-pay --trials 20000 "
             "--quiet --out %s/out", dir);
    assert_int_equal(accrue(args), 0);
    assert_non_null(strstr(output, "protocol-plan"));
    assert_non_null(strstr(output, "self-pay"));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/out", dir);
    char *csv = read_file(sub, "compare.csv");
    assert_non_null(csv);
    assert_memory_equal(csv, "scenario,folder,p_success,p_success_se,p_success_exact,", 52);
    size_t lines = 0;
    for (const char *c = csv; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 3);
    char *self_pay_row = strstr(csv, "\"self-pay\",");
    assert_non_null(self_pay_row);
    double p_compare = strtod(self_pay_row + strlen("\"self-pay\","), NULL);
    snprintf(args, sizeof args, "run scenarios/self-pay --trials 20000 --quiet --out %s/run", dir);
    assert_int_equal(accrue(args), 0);
    snprintf(sub, sizeof sub, "%s/run", dir);
    char *summary = read_file(sub, "summary.csv");
    char *p_line = strstr(summary, "\np_success,");
    assert_non_null(p_line);
    assert_true(strtod(p_line + strlen("\np_success,"), NULL) == p_compare);
    remove_tree(dir);
}

/* result.json: parses, holds the inputs as read and the same P as summary.csv (both from one
 * estimate: summary.csv prints 6 significant digits, so they agree to 5e-6 relative); --json
 * prints it instead of the report. */
static void test_result_json(void **state)
{
    (void)state;
    char dir[64], args[512], sub[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "run scenarios/self-pay --trials 20000 --quiet --set "
             "selfpay_consent=0.5 --out %s/out", dir);
    assert_int_equal(accrue(args), 0);
    snprintf(sub, sizeof sub, "%s/out/result.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(sub, 0, &jerr);
    if (!root)
        fail_msg("result.json: %s (line %d)", jerr.text, jerr.line);
    json_t *inputs = json_object_get(root, "inputs"), *res = json_object_get(root, "results");
    assert_int_equal(json_integer_value(json_object_get(inputs, "target")), 12);
    assert_string_equal(json_string_value(json_array_get(json_object_get(inputs, "overrides"), 0)),
                        "selfpay_consent=0.5");
    assert_true(json_real_value(json_object_get(json_object_get(inputs, "selfpay_consent"),
                                                "value")) == 0.5);
    double p = json_real_value(json_object_get(json_object_get(res, "p_success"), "estimate"));
    snprintf(sub, sizeof sub, "%s/out", dir);
    char *summary = read_file(sub, "summary.csv");
    double p_csv = strtod(strstr(summary, "\np_success,") + strlen("\np_success,"), NULL);
    assert_true(fabs(p - p_csv) <= 5e-6 * p_csv);
    assert_int_equal(json_array_size(json_object_get(res, "sites")), 5);
    json_decref(root);
    assert_int_equal(accrue("run scenarios/self-pay --trials 20000 --json"), 0);
    root = json_loads(output, 0, &jerr);
    assert_non_null(root);
    json_decref(root);
    remove_tree(dir);
}

/* A reviewer holding only an --out folder reruns it: its inputs/ (overrides.csv included) is
 * a scenario folder, and with the seed and trials of summary.csv it gives the same files, all
 * of them byte for byte but for the one line saying where the scenario was read from; and its
 * own inputs/overrides.csv is the first one's. */
static void test_rerun_from_inputs(void **state)
{
    (void)state;
    char dir[64], args[512], cmd[2048];
    make_tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args, "run scenarios/self-pay --set rate_factor=1.3 --set "
             "extra_sites=1 --like new-site-1 --trials 20000 --seed 5 --quiet --out %s/a", dir);
    assert_int_equal(accrue(args), 0);
    snprintf(args, sizeof args, "run %s/a/inputs --trials 20000 --seed 5 --quiet --out %s/b",
             dir, dir);
    assert_int_equal(accrue(args), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && n=0 && for f in a/*.csv a/result.json a/inputs/overrides.csv; do "
             "g=b/${f#a/}; grep -v '^source,\\|\"source\": ' $f > x; "
             "grep -v '^source,\\|\"source\": ' $g > y; cmp -s x y || exit 1; n=$((n+1)); "
             "done; test $n = 9 && test $(grep -c source a/summary.csv) = 1", dir);
    assert_int_equal(system(cmd), 0);
    remove_tree(dir);
}

/* Rough edges: a file given instead of a folder, and exact told simulation options. */
/* The length of the first n comma-separated fields of line (without the comma after them). */
static size_t fields_len(const char *line, int n)
{
    size_t i = 0;
    for (int seen = 0; line[i] && line[i] != '\n'; i++)
        if (line[i] == ',' && ++seen == n)
            break;
    return i;
}

/* accrue report's bundle (DESIGN.md 4.2): report.html, the figures, and each scenario's
 * folder holding what run --out writes plus fan.csv; the fan's deadline row is the checkpoint
 * table's (one estimator per quantity); a history's registrations are points on the fan;
 * inputs/ holds the scenario files byte for byte. */
static void test_report_bundle(void **state)
{
    (void)state;
    char dir[64], args[256], sub[160];
    make_tmpdir(dir, sizeof dir);
    snprintf(args, sizeof args,
             "report scenarios/seed-history scenarios/protocol-plan --trials 20000 --quiet "
             "--out %s/b", dir);
    assert_int_equal(accrue(args), 0);
    snprintf(sub, sizeof sub, "%s/b", dir);
    /* report.html figures scenario-1 scenario-2 compare.csv */
    assert_int_equal(count_entries(sub), 5);
    snprintf(sub, sizeof sub, "%s/b/scenario-1", dir);
    /* run --out's set with a history (posterior.csv), and fan.csv. */
    assert_int_equal(count_entries(sub), 10);
    char *fan = read_file(sub, "fan.csv"), *cp = read_file(sub, "checkpoints.csv");
    assert_non_null(fan);
    assert_non_null(cp);
    assert_memory_equal(fan, "date,mean,q05,q10,q25,q50,q75,q90,q95,mean_se,trials\n"
                             "2026-08-18,", 64);
    /* 36 months from 2026-07-18 to the deadline 2029-07-18 and 12 on, a row each. */
    size_t rows = 0;
    for (const char *c = fan; *c; c++)
        rows += *c == '\n';
    assert_int_equal(rows, 1 + 36 + 12);
    assert_non_null(strstr(fan, "\n2030-07-18,"));
    const char *fan_last = strstr(fan, "2029-07-18,"), *cp_last = strstr(cp, "2029-07-18,");
    assert_non_null(fan_last);
    assert_non_null(cp_last);
    /* date, mean, the seven quantiles and mean_se: 10 fields, the same text. */
    size_t len = fields_len(fan_last, 10);
    assert_memory_equal(fan_last, cp_last, len);
    assert_int_equal(cp_last[len], ',');
    /* So is a review date's. */
    const char *review = strstr(cp, "\n2027-01-18,"), *fan_review = strstr(fan, "\n2027-01-18,");
    assert_non_null(review);
    assert_non_null(fan_review);
    len = fields_len(fan_review + 1, 10) + 1;
    assert_memory_equal(review, fan_review, len);
    assert_int_equal(review[len], ',');
    snprintf(sub, sizeof sub, "%s/b/scenario-1/inputs", dir);
    assert_int_equal(count_entries(sub), 4);   /* trial, sites, history, overrides */
    const char *const copied[] = {"trial.csv", "sites.csv", "history.csv"};
    for (int i = 0; i < 3; i++) {
        char *x = read_file(sub, copied[i]), *y = read_file("scenarios/seed-history", copied[i]);
        assert_non_null(x);
        assert_non_null(y);
        assert_string_equal(x, y);
    }
    /* The history's two registrations before as_of, as points on the fan chart. */
    snprintf(sub, sizeof sub, "%s/b/figures", dir);
    char *svg = read_file(sub, "1-fan.svg");
    assert_non_null(svg);
    size_t circles = 0;
    for (const char *c = strstr(svg, "<circle"); c; c = strstr(c + 1, "<circle"))
        circles++;
    assert_int_equal(circles, 2);
    svg = read_file(sub, "2-fan.svg");
    assert_null(strstr(svg, "<circle"));
    /* The comparison is accrue compare's, byte for byte. */
    snprintf(args, sizeof args,
             "compare scenarios/seed-history scenarios/protocol-plan --trials 20000 --quiet "
             "--out %s/c", dir);
    assert_int_equal(accrue(args), 0);
    char b[128], c[128];
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    char *from_report = read_file(b, "compare.csv"), *from_compare = read_file(c, "compare.csv");
    assert_non_null(from_report);
    assert_non_null(from_compare);
    assert_string_equal(from_report, from_compare);
    remove_tree(dir);
}

static void test_rough_edges(void **state)
{
    (void)state;
    expect_usage_error("run scenarios/self-pay/trial.csv", "not a folder");
    assert_int_equal(accrue("exact scenarios/protocol-plan --trials 5"), 0);
    assert_non_null(strstr(output, "do not apply"));
    assert_int_equal(accrue("-h"), 0);
    assert_non_null(strstr(output, "usage: accrue run"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_result_json),
        cmocka_unit_test(test_rough_edges),
        cmocka_unit_test(test_report_bundle),
        cmocka_unit_test(test_rerun_from_inputs),
        cmocka_unit_test(test_default_run_writes_every_table),
        cmocka_unit_test(test_identical_across_threads),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_unwritable_out_fails_first),
        cmocka_unit_test(test_every_shipped_scenario_runs),
        cmocka_unit_test(test_exact_command),
        cmocka_unit_test(test_sigint_and_sigterm),
        cmocka_unit_test(test_inherited_alarm),
        cmocka_unit_test(test_extreme_shapes_finish),
        cmocka_unit_test(test_signals_in_every_phase),
        cmocka_unit_test(test_memory_bounds),
        cmocka_unit_test(test_lost_report_is_an_error),
        cmocka_unit_test(test_bimodal_table_is_short),
        cmocka_unit_test(test_odd_outputs),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
