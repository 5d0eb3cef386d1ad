/* Pinned outputs: every case of tests/pinned/cases.txt, run by the accrue binary on 1, 2 and 3
 * threads, must reproduce the files in tests/pinned/expected/NAME/ byte for byte. This is what
 * keeps a restructuring honest: a commit that moves code keeps these files; only a commit that
 * changes results on purpose re-pins them (tests/pinned/update.sh) and says why. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef ACCRUE_BIN
#define ACCRUE_BIN "build/accrue"
#endif

static const char *files[] = {"summary.csv", "enrolled_at_deadline.csv", "quantiles.csv",
                              "completion.csv", "checkpoints.csv", "sites.csv", "fan.csv",
                              "result.json"};

/* The whole of a file into a fresh buffer (the caller frees it), or NULL. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Runs one case on `threads` threads and compares every table with the pinned one. */
static void check_case(const char *name, const char *scenario, const char *trials,
                       const char *seed, int threads)
{
    char dir[64], cmd[2048];
    snprintf(dir, sizeof dir, "/tmp/accrue-pinned-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "%s run %s --trials %s --seed %s --threads %d --quiet --out %s/out "
             "> /dev/null", ACCRUE_BIN, scenario, trials, seed, threads, dir);
    int status = system(cmd);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: accrue failed (%s)", name, cmd);
    char expected[512], got[512];
    snprintf(expected, sizeof expected, "tests/pinned/expected/%s", name);
    snprintf(got, sizeof got, "%s/out", dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t la = 0, lb = 0;
        char *a = slurp(expected, files[i], &la), *b = slurp(got, files[i], &lb);
        if (!a || !b)
            fail_msg("%s: %s missing (%s)", name, files[i], a ? "output" : "pinned");
        if (la != lb || memcmp(a, b, la) != 0)
            fail_msg("%s: %s differs from tests/pinned/expected/%s/%s on %d thread(s)", name,
                     files[i], name, files[i], threads);
        free(a);
        free(b);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_pinned_outputs(void **state)
{
    (void)state;
    FILE *f = fopen("tests/pinned/cases.txt", "r");
    assert_non_null(f);
    char line[1024];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128], scenario[512], trials[32], seed[32];
        if (line[0] == '#' || sscanf(line, "%127s %511s %31s %31s", name, scenario, trials, seed) != 4)
            continue;
        check_case(name, scenario, trials, seed, 1);
        check_case(name, scenario, trials, seed, 2);
        check_case(name, scenario, trials, seed, 3);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_outputs),
    };
    return cmocka_run_group_tests_name("pinned outputs", tests, NULL, NULL);
}
