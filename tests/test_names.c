/* Tests for models/names.c: names that print alike get one key, names that look different
 * keep different keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "../models/names.h"

static void assert_key(const char *name, const char *want)
{
    char *k = names_key(name);
    assert_non_null(k);
    assert_string_equal(k, want);
    free(k);
}

static void assert_same(const char *a, const char *b, int same)
{
    char *ka = names_key(a), *kb = names_key(b);
    assert_non_null(ka);
    assert_non_null(kb);
    if ((strcmp(ka, kb) == 0) != same)
        fail_msg("`%s` and `%s`: keys `%s` and `%s`, wanted them %s", a, b, ka, kb,
                 same ? "equal" : "different");
    free(ka);
    free(kb);
}

static void test_spaces_and_invisibles(void **state)
{
    (void)state;
    assert_key("A", "A");
    assert_same("A", "A\xC2\xA0", 1);                       /* a trailing no-break space */
    assert_same("new site", "new\xC2\xA0site", 1);          /* NBSP inside */
    assert_same("new site", "new\xE3\x80\x80site", 1);      /* ideographic space U+3000 */
    assert_same("new site", "new  \xE2\x80\x89 site", 1);   /* a run with a thin space */
    assert_same("site", "si\xE2\x80\x8Bte", 1);             /* zero-width space */
    assert_same("site", "\xEF\xBB\xBFsite", 1);             /* a byte-order mark */
    assert_key("\xC2\xA0 a \xE2\x80\x83", "a");
    assert_key("", "");
    assert_same("newsite", "new site", 0);                  /* a visible space stays */
}

static void test_accents_nfc_nfd(void **state)
{
    (void)state;
    assert_same("Mar\xC3\xA9", "Mare\xCC\x81", 1);          /* é as U+00E9 and e + U+0301 */
    assert_same("\xC3\x85se", "A\xCC\x8Ase", 1);            /* Å */
    assert_same("Vi\xE1\xBB\x87t", "Vie\xCC\xA3\xCC\x82t", 1); /* ệ: e, dot below, circumflex */
    /* Japanese kana with a voiced mark: が (U+304C) and か + U+3099. */
    assert_same("\xE3\x81\x8C", "\xE3\x81\x8B\xE3\x82\x99", 1);
    /* Different letters stay different. */
    assert_same("Mare", "Mar\xC3\xA9", 0);
    assert_same("\xE3\x81\x8B", "\xE3\x81\x8C", 0);
    assert_same("Yokohama", "yokohama", 0);                 /* case is visible */
    assert_same("\xE6\xA8\xAA\xE6\xB5\x9C", "\xE6\xA8\xAA\xE6\xB5\x9C", 1); /* 横浜 as written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spaces_and_invisibles),
        cmocka_unit_test(test_accents_nfc_nfd),
    };
    return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
