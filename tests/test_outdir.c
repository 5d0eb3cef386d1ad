/* --out folders (engine/outdir.c, DESIGN.md section 8), end to end through the accrue binary:
 * a set appears whole or not at all, replaces the previous set whole, never mixes two runs,
 * never replaces a scenario's files or files accrue did not write, creates missing parents,
 * and what killed runs leave is cleaned up. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
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
static char bin[PATH_MAX];  /* ACCRUE_BIN made absolute, for commands run in another folder */

/* Runs "accrue ARGS" through the shell (after "cd DIR &&" when dir is not NULL), capturing
 * standard output and error into `output`; returns the exit status. */
static int accrue_in(const char *dir, const char *args)
{
    char cmd[16384];
    if (dir)
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", dir, bin, args);
    else
        snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int accrue(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return accrue_in(NULL, args);
}

static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static void make_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/accrue-outdir-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

/* The names in dir, sorted and joined by spaces ("." and ".." left out). */
static const char *listing(const char *dir)
{
    static char buf[4096];
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            if (buf[0])
                strcat(buf, " ");
            strncat(buf, names[i]->d_name, sizeof buf - strlen(buf) - 2);
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    return buf;
}

static char *slurp(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void expect(int status, int want, const char *fragment)
{
    if (status != want || (fragment && !strstr(output, fragment)))
        fail_msg("status %d, output: %s (expected status %d and '%s')", status, output, want,
                 fragment ? fragment : "");
}

static const char all_tables[] = "checkpoints.csv completion.csv enrolled_at_deadline.csv fan.csv "
                                 "inputs quantiles.csv result.json sites.csv summary.csv";

/* accrue run S --out S overwrote the scenario's own sites.csv with a table and exited 0. */
static void test_scenario_folder_refused(void **state)
{
    (void)state;
    char t[64];
    make_tmpdir(t, sizeof t);
    sh("cp -r scenarios/self-pay %s/s", t);
    expect(accrue("run %s/s --trials 1000 --quiet --out %s/s", t, t), 2, "scenario folder");
    expect(accrue("exact %s/s --out %s/s/", t, t), 2, "scenario folder");
    expect(accrue("run %s/s --trials 1000 --quiet --out %s", t, t), 2, "holds the scenario");
    assert_string_equal(listing(t), "s");
    assert_string_equal(listing(t), "s");
    char path[128];
    snprintf(path, sizeof path, "%s/s", t);
    assert_string_equal(listing(path), "README.md sites.csv trial.csv");
    char *sites = slurp(path, "sites.csv");
    assert_memory_equal(sites, "site,rate,", 10);
    free(sites);
    /* A scenario file reached through a symbolic link in the output folder. */
    sh("mkdir %s/out && ln -s %s/s/sites.csv %s/out/sites.csv", t, t, t);
    expect(accrue("run %s/s --trials 1000 --quiet --out %s/out", t, t), 2, "sites.csv");
    sites = slurp(path, "sites.csv");
    assert_memory_equal(sites, "site,rate,", 10);
    free(sites);
    /* A subfolder of the scenario is fine: it replaces none of its files. */
    expect(accrue("run %s/s --trials 1000 --quiet --out %s/s/results", t, t), 0, NULL);
    assert_string_equal(listing(path), "README.md results sites.csv trial.csv");
    sh("rm -rf '%s'", t);
}

/* The whole folder is replaced, so one holding anything accrue did not write is refused, and
 * nothing in it changes. So are the current folder and files that are not folders. */
static void test_foreign_files_refused(void **state)
{
    (void)state;
    char t[64], out[96];
    make_tmpdir(t, sizeof t);
    snprintf(out, sizeof out, "%s/out", t);
    sh("mkdir %s && echo mine > %s/notes.txt", out, out);
    expect(accrue("run --trials 1000 --quiet --out %s", out), 2, "notes.txt");
    assert_string_equal(listing(out), "notes.txt");
    sh("rm %s/notes.txt && mkdir %s/sub", out, out);
    expect(accrue("run --trials 1000 --quiet --out %s", out), 2, "'sub'");
    sh("rmdir %s/sub && ln -s /etc/passwd %s/summary.csv", out, out);
    expect(accrue("exact --out %s", out), 2, "summary.csv");
    sh("rm %s/summary.csv", out);
    expect(accrue_in(out, "exact --out ."), 2, "current folder");
    expect(accrue_in(out, "exact --out .."), 2, "current folder");
    expect(accrue("exact --out %s/../out/", out), 0, NULL);  /* the same folder, named oddly */
    assert_string_equal(listing(out), "enrolled_at_deadline.csv summary.csv");
    expect(accrue("exact --out %s/summary.csv", out), 2, "not a folder");
    sh("ln -s %s/nowhere %s/dangling", t, t);
    expect(accrue("exact --out %s/dangling", t), 2, "symbolic link to nothing");
    expect(accrue("exact --out /"), 2, NULL);
    sh("rm -rf '%s'", t);
}

/* Missing parents are created; a new run replaces the whole set, so a folder never holds
 * tables of two runs (exact writes 2 tables where run wrote 6: the other 4 go); nothing else
 * is left beside it. */
static void test_parents_and_whole_replacement(void **state)
{
    (void)state;
    char t[64], out[160], parent[128];
    make_tmpdir(t, sizeof t);
    snprintf(parent, sizeof parent, "%s/a/b", t);
    snprintf(out, sizeof out, "%s/c", parent);
    expect(accrue("run --trials 1000 --quiet --out %s", out), 0, "Tables written");
    assert_string_equal(listing(out), all_tables);
    assert_string_equal(listing(parent), "c");
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0777 & ~mask);  /* not the private folder's 0700 */
    expect(accrue("exact --out %s", out), 0, NULL);
    assert_string_equal(listing(out), "enrolled_at_deadline.csv summary.csv");
    assert_string_equal(listing(parent), "c");
    /* The mode of an existing folder is kept. */
    assert_int_equal(chmod(out, 0750), 0);
    expect(accrue("run --trials 1000 --quiet --out %s", out), 0, NULL);
    assert_string_equal(listing(out), all_tables);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    /* Temporary files an older accrue left inside count as its own, and go. */
    sh("touch %s/.accrue-1234-summary.csv", out);
    expect(accrue("exact --out %s", out), 0, NULL);
    assert_string_equal(listing(out), "enrolled_at_deadline.csv summary.csv");
    sh("rm -rf '%s'", t);
}

/* A private folder left by a killed run (its process gone, older than this run) is removed by
 * the next run beside it; that of a live process is not, nor a folder of another name. */
static void test_leftovers_removed(void **state)
{
    (void)state;
    char t[64];
    make_tmpdir(t, sizeof t);
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    sh("mkdir %s/.accrue-%ld-AbCdEf && touch %s/.accrue-%ld-AbCdEf/summary.csv", t, (long)dead,
       t, (long)dead);
    sh("mkdir %s/.accrue-%ld-GhIjKl", t, (long)getpid());
    sh("mkdir %s/.accrue-notes", t);
    struct timespec pause = {0, 20000000};
    nanosleep(&pause, NULL);
    expect(accrue("exact --out %s/out", t), 0, NULL);
    char want[256];
    snprintf(want, sizeof want, ".accrue-%ld-GhIjKl .accrue-notes out", (long)getpid());
    assert_string_equal(listing(t), want);
    sh("rm -rf '%s'", t);
}

/* Two runs into one folder at the same time: both succeed and the folder then holds every
 * table of one of them, never a mix. */
static void test_concurrent_runs_never_mix(void **state)
{
    (void)state;
    char t[64], a[96], b[96], out[96];
    make_tmpdir(t, sizeof t);
    snprintf(a, sizeof a, "%s/a", t);
    snprintf(b, sizeof b, "%s/b", t);
    snprintf(out, sizeof out, "%s/out", t);
    expect(accrue("run --trials 20000 --seed 1 --threads 1 --quiet --out %s", a), 0, NULL);
    expect(accrue("run --trials 20000 --seed 2 --threads 1 --quiet --out %s", b), 0, NULL);
    static const char *names[] = {"summary.csv", "enrolled_at_deadline.csv", "quantiles.csv",
                                  "completion.csv", "checkpoints.csv", "sites.csv"};
    for (int round = 0; round < 8; round++) {
        char cmd[16384];
        snprintf(cmd, sizeof cmd, "'%s' run --trials 20000 --seed 1 --threads 1 --quiet --out %s "
                 "> /dev/null & p1=$!; '%s' run --trials 20000 --seed 2 --threads 1 --quiet "
                 "--out %s > /dev/null & p2=$!; wait $p1 && wait $p2", bin, out, bin, out);
        assert_int_equal(system(cmd), 0);
        int from_a = 0, from_b = 0;
        for (int i = 0; i < 6; i++) {
            char *x = slurp(out, names[i]), *ya = slurp(a, names[i]), *yb = slurp(b, names[i]);
            assert_non_null(x);
            if (!strcmp(ya, yb))
                assert_string_equal(x, ya);  /* a table the seeds do not change */
            else {
                from_a += !strcmp(x, ya);
                from_b += !strcmp(x, yb);
            }
            free(x);
            free(ya);
            free(yb);
        }
        if (!(from_a > 0 && from_b == 0) && !(from_a == 0 && from_b > 0))
            fail_msg("round %d: %d tables from one run, %d from the other", round, from_a, from_b);
        assert_string_equal(listing(t), "a b out");
    }
    sh("rm -rf '%s'", t);
}

/* A signal while the tables are being written (each fsync made 0.4 s slow by strace, so the
 * signal lands there): status 130 / 143, the previous set untouched, no private folder left.
 * SIGKILL there leaves the private folder, which the next run removes. Skipped without strace. */
static void interrupt_writing(int sig, const char *t, const char *out)
{
    char cmd[8192];
    /* LeakSanitizer cannot run under ptrace: off for this run in a SAN=1 build. */
    snprintf(cmd, sizeof cmd, "ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null -e trace=fsync "
             "-e inject=fsync:delay_exit=400000 '%s' run --trials 1000 --seed 3 --quiet --out %s "
             "> /dev/null 2>&1 & pid=$!; sleep 1.2; kill -%d $(pgrep -P $pid accrue); wait $pid 2> /dev/null",
             bin, out, sig);
    int status = system(cmd);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (sig == SIGKILL) {
        assert_int_equal(code, 128 + SIGKILL);
        assert_non_null(strstr(listing(t), ".accrue-"));
    } else {
        assert_int_equal(code, 128 + sig);
        assert_string_equal(listing(t), "out");
    }
    assert_string_equal(listing(out), "enrolled_at_deadline.csv summary.csv");
}

static void test_interrupted_while_writing(void **state)
{
    (void)state;
    if (system("strace -o /dev/null true > /dev/null 2>&1") != 0 ||
        system("pgrep -V > /dev/null 2>&1") != 0) {
        printf("  (skipped: strace or pgrep cannot run here)\n");
        return;
    }
    char t[64], out[96];
    make_tmpdir(t, sizeof t);
    snprintf(out, sizeof out, "%s/out", t);
    expect(accrue("exact --out %s", out), 0, NULL);
    char *before = slurp(out, "summary.csv");
    interrupt_writing(SIGINT, t, out);
    interrupt_writing(SIGTERM, t, out);
    interrupt_writing(SIGKILL, t, out);
    char *after = slurp(out, "summary.csv");
    assert_string_equal(before, after);
    expect(accrue("run --trials 1000 --quiet --out %s", out), 0, NULL);
    assert_string_equal(listing(t), "out");
    assert_string_equal(listing(out), all_tables);
    free(before);
    free(after);
    sh("rm -rf '%s'", t);
}

int main(void)
{
    if (!realpath(ACCRUE_BIN, bin)) {
        fprintf(stderr, "%s: not found\n", ACCRUE_BIN);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_folder_refused),
        cmocka_unit_test(test_foreign_files_refused),
        cmocka_unit_test(test_parents_and_whole_replacement),
        cmocka_unit_test(test_leftovers_removed),
        cmocka_unit_test(test_concurrent_runs_never_mix),
        cmocka_unit_test(test_interrupted_while_writing),
    };
    return cmocka_run_group_tests_name("outdir", tests, NULL, NULL);
}
