/* The bad-input corpus: every folder tests/bad-input/NAME/ is a scenario that scenario_load
 * must refuse with one message holding the fragment on the first line of NAME/expect (and, if
 * the second line is "line: N", the prefix FILE:N:). Every folder tests/odd-input/NAME/ is an
 * odd but valid scenario that must load, with the site count given in NAME/expect
 * ("sites: N"). Run from the repository root, as `make test` does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../models/scenario.h"

#define BAD_DIR "tests/bad-input"
#define ODD_DIR "tests/odd-input"
/* The brief asks for at least one case per fault class, at least 40 in all; the history's
 * cases (history-*) brought the corpus to 164 and 31. */
#define MIN_BAD_CASES 160
#define MIN_ODD_CASES 30

typedef struct case_list {
    char **name;
    size_t n;
} case_list;

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sub-folders of dir, sorted so that failures are reported in a stable order. */
static case_list list_cases(const char *dir)
{
    case_list cl = {NULL, 0};
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        cl.name = realloc(cl.name, (cl.n + 1) * sizeof *cl.name);
        assert_non_null(cl.name);
        cl.name[cl.n] = strdup(e->d_name);
        assert_non_null(cl.name[cl.n]);
        cl.n++;
    }
    closedir(d);
    qsort(cl.name, cl.n, sizeof *cl.name, compare_names);
    return cl;
}

static void free_cases(case_list *cl)
{
    for (size_t i = 0; i < cl->n; i++)
        free(cl->name[i]);
    free(cl->name);
}

/* The expect file's first line (fragment) and second line ("line: N" sets *line, else -1). */
static int read_expect(const char *path, char *fragment, size_t size, long *line)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char second[64] = "";
    int ok = fgets(fragment, (int)size, f) != NULL;
    if (ok && !fgets(second, sizeof second, f))
        second[0] = '\0';
    fclose(f);
    if (!ok)
        return -1;
    fragment[strcspn(fragment, "\r\n")] = '\0';
    *line = -1;
    if (sscanf(second, "line: %ld", line) != 1)
        *line = -1;
    return 0;
}

/* The N of a message "FILE:N: ...", whose FILE is dir + "/" and the name of a .csv file in
 * dir (trial.csv, sites.csv, schedule.csv, history.csv, or one refused as unknown); -1 if the
 * message does not start that way. */
static long message_line(const char *err, const char *dir)
{
    size_t n = strlen(dir);
    if (strncmp(err, dir, n) != 0 || err[n] != '/')
        return -1;
    const char *file = err + n + 1, *colon = strchr(file, ':');
    if (!colon || colon - file < 5 || strncmp(colon - 4, ".csv", 4) != 0
        || memchr(file, '/', (size_t)(colon - file)))
        return -1;
    char *end;
    long line = strtol(colon + 1, &end, 10);
    return end > colon + 1 && strncmp(end, ": ", 2) == 0 ? line : -1;
}

/* Checks one bad case; returns 0 or prints why it failed and returns 1. */
static int check_bad_case(const char *name)
{
    char dir[512], path[600], fragment[256], err[512] = "";
    long want_line;
    snprintf(dir, sizeof dir, "%s/%s", BAD_DIR, name);
    snprintf(path, sizeof path, "%s/expect", dir);
    if (read_expect(path, fragment, sizeof fragment, &want_line) != 0 || !fragment[0]) {
        print_error("%s: no expect file or empty fragment\n", name);
        return 1;
    }
    scenario *s = scenario_load(dir, err, sizeof err);
    if (s) {
        scenario_free(s);
        print_error("%s: loaded, but must be refused\n", name);
        return 1;
    }
    long got_line = message_line(err, dir);
    const char *why = !strstr(err, fragment) ? "fragment missing"
                      : strchr(err, '\n') ? "message spans lines"
                      : !strstr(err, "; expected") ? "no \"; expected\" part"
                      : got_line < 0 ? "no FILE:LINE: prefix"
                      : want_line >= 0 && got_line != want_line ? "wrong line"
                      : NULL;
    if (why) {
        print_error("%s: %s (want \"%s\", line %ld): %s\n", name, why, fragment, want_line, err);
        return 1;
    }
    return 0;
}

/* Runs check on every case folder under dir: all must pass, and there must be at least
 * min_cases of them (a corpus that went missing must not pass silently). */
static void check_corpus(const char *dir, int (*check)(const char *name), size_t min_cases)
{
    case_list cl = list_cases(dir);
    int failures = 0;
    for (size_t i = 0; i < cl.n; i++)
        failures += check(cl.name[i]);
    size_t n = cl.n;
    free_cases(&cl);
    assert_int_equal(failures, 0);
    assert_true(n >= min_cases);
}

static void test_bad_inputs_are_refused(void **state)
{
    (void)state;
    check_corpus(BAD_DIR, check_bad_case, MIN_BAD_CASES);
}

/* Checks one odd case; returns 0 or prints why it failed and returns 1. */
static int check_odd_case(const char *name)
{
    char dir[512], path[600], first[256], err[512] = "";
    long unused;
    size_t want_sites = 0;
    snprintf(dir, sizeof dir, "%s/%s", ODD_DIR, name);
    snprintf(path, sizeof path, "%s/expect", dir);
    if (read_expect(path, first, sizeof first, &unused) != 0
        || sscanf(first, "sites: %zu", &want_sites) != 1) {
        print_error("%s: no expect file with \"sites: N\"\n", name);
        return 1;
    }
    scenario *s = scenario_load(dir, err, sizeof err);
    if (!s) {
        print_error("%s: refused, but must load: %s\n", name, err);
        return 1;
    }
    size_t got = s->n_sites;
    scenario_free(s);
    if (got != want_sites) {
        print_error("%s: %zu sites, expected %zu\n", name, got, want_sites);
        return 1;
    }
    return 0;
}

static void test_odd_inputs_load(void **state)
{
    (void)state;
    check_corpus(ODD_DIR, check_odd_case, MIN_ODD_CASES);
}

/* The checker itself must be able to fail: a fragment that is absent, or a wrong line, has to
 * be caught, or a broken corpus would pass silently. */
static void test_checker_catches_mismatch(void **state)
{
    (void)state;
    char err[512];
    scenario *s = scenario_load(BAD_DIR "/unknown-key", err, sizeof err);
    assert_null(s);
    /* unknown-key's trial.csv has the bad key on line 5 (header, as_of, deadline, target). */
    assert_int_equal(message_line(err, BAD_DIR "/unknown-key"), 5);
    assert_null(strstr(err, "a fragment no message holds"));
    assert_int_equal(message_line("elsewhere/trial.csv:5: x", BAD_DIR "/unknown-key"), -1);
    assert_int_equal(message_line(BAD_DIR "/unknown-key/schedule.csv:7: x", BAD_DIR
                                  "/unknown-key"), 7);
    assert_int_equal(message_line(BAD_DIR "/unknown-key/sub/trial.csv:5: x", BAD_DIR
                                  "/unknown-key"), -1);
    assert_int_equal(message_line(BAD_DIR "/unknown-key/trial.txt:5: x", BAD_DIR
                                  "/unknown-key"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs_are_refused),
        cmocka_unit_test(test_odd_inputs_load),
        cmocka_unit_test(test_checker_catches_mismatch),
    };
    return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
