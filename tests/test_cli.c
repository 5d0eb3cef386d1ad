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
                              "completion.csv", "checkpoints.csv", "sites.csv"};

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
        "quantile,enrolled_at_deadline,completion_date,completion_date_low,completion_date_high\n",
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
    assert_int_equal(count_entries(dir), 6);  /* and no temporary file left */
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
    for (int i = 0; i < 6; i++) {
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
        snprintf(args, sizeof args, "exact scenarios/%s", e->d_name);
        if (accrue(args) != 0)
            fail_msg("exact scenario %s: %s", e->d_name, output);
        ran++;
    }
    closedir(d);
    assert_true(ran >= 5);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_default_run_writes_every_table),
        cmocka_unit_test(test_identical_across_threads),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_unwritable_out_fails_first),
        cmocka_unit_test(test_every_shipped_scenario_runs),
        cmocka_unit_test(test_exact_command),
        cmocka_unit_test(test_sigint_and_sigterm),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
