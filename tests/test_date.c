/* Tests for engine/date.c: strict ISO parsing, day numbers, formatting, month arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include "../engine/date.h"

static date_t parse_ok(const char *s)
{
    date_t d = 0;
    assert_int_equal(date_parse(s, &d), 0);
    return d;
}

static void assert_formats(date_t d, const char *want)
{
    char buf[11];
    date_format(d, buf);
    assert_string_equal(buf, want);
}

/* Known day numbers, counted by hand. */
static void test_known_day_numbers(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01"), 0);  /* the epoch */
    assert_int_equal(parse_ok("1970-01-02"), 1);
    assert_int_equal(parse_ok("1969-12-31"), -1);
    /* 30 years of 365 days plus the leap days of 1972, 76, 80, 84, 88, 92, 96: 10950 + 7. */
    assert_int_equal(parse_ok("2000-01-01"), 10957);
    /* 1600-01-01: 370 years before 1970, with 90 leap years in 1600-1969 (1600 counts; 1700,
     * 1800, 1900 do not: 93 multiples of 4 minus 3): 370 * 365 + 90 = 135140 days before. */
    assert_int_equal(parse_ok("1600-01-01"), -135140);
    /* The design's example: 2026-07-18 to 2029-07-18 is 3 * 365 + 1 (2028-02-29) = 1096 days
     * apart, so 1097 days of recruitment counting the deadline day. */
    assert_int_equal(parse_ok("2029-07-18") - parse_ok("2026-07-18"), 1096);
}

static void test_refuses_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2026-02-30", "2029-13-01", "18/07/2029", "2029-7-18", " 2029-07-18x", "2029-07-18x",
        " 2029-07-18", "2029-07-18 ", "", "2029", "2029-07", "2029-07-1", "2029-00-10",
        "2029-01-00", "2029-04-31", "2026-02-29", "1900-02-29", "1599-12-31", "+029-07-18",
        "2029/07/18", "20290718", "2029-07-18\n", "２０２９-07-18", "-2029-07-18", "2029-1a-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        date_t d = 12345;
        if (date_parse(bad[i], &d) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(d, 12345); /* *out is unchanged on failure */
    }
    date_t d = 7;
    assert_int_equal(date_parse(NULL, &d), -1);
}

static void test_leap_days(void **state)
{
    (void)state;
    /* Leap: divisible by 4, except centuries not divisible by 400. */
    assert_int_equal(parse_ok("2024-03-01") - parse_ok("2024-02-28"), 2);
    assert_int_equal(parse_ok("2000-03-01") - parse_ok("2000-02-29"), 1);
    assert_int_equal(parse_ok("2100-03-01") - parse_ok("2100-02-28"), 1);
    assert_int_equal(parse_ok("1600-03-01") - parse_ok("1600-02-29"), 1);
    assert_int_equal(parse_ok("9999-12-31") - parse_ok("9999-01-01"), 364);
}

static int cal_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Every day from 1600-01-01 to 9999-12-31, walked with an independent calendar: consecutive
 * days get consecutive numbers, and ymd, format and parse all round-trip. */
static void test_every_day_round_trips(void **state)
{
    (void)state;
    date_t expect = date_from_ymd(1600, 1, 1);
    for (int y = 1600; y <= 9999; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= cal_days_in_month(y, m); d++, expect++) {
                date_t got = date_from_ymd(y, m, d);
                int yy, mm, dd;
                date_to_ymd(got, &yy, &mm, &dd);
                char buf[11], want[32];
                date_format(got, buf);
                snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
                date_t back = 0;
                if (got != expect || yy != y || mm != m || dd != d || strcmp(buf, want) != 0
                    || date_parse(buf, &back) != 0 || back != got)
                    fail_msg("%s: day %d, expected %d, formatted %s", want, (int)got,
                             (int)expect, buf);
            }
}

static void test_format(void **state)
{
    (void)state;
    assert_formats(0, "1970-01-01");
    assert_formats(parse_ok("2029-07-18"), "2029-07-18");
    assert_formats(parse_ok("1600-01-01"), "1600-01-01");
    assert_formats(date_from_ymd(2028, 2, 29), "2028-02-29");
}

static void test_add_months(void **state)
{
    (void)state;
    date_t d = parse_ok("2026-08-31");
    assert_formats(date_add_months(d, 6), "2027-02-28");  /* clamped: 2027 is not leap */
    assert_formats(date_add_months(parse_ok("2027-08-31"), 6), "2028-02-29"); /* leap */
    assert_formats(date_add_months(parse_ok("2026-01-31"), 1), "2026-02-28");
    assert_formats(date_add_months(parse_ok("2026-01-31"), 3), "2026-04-30");
    assert_formats(date_add_months(parse_ok("2026-07-18"), 6), "2027-01-18");  /* year wraps */
    assert_formats(date_add_months(parse_ok("2026-07-18"), 36), "2029-07-18");
    assert_formats(date_add_months(parse_ok("2026-07-18"), 0), "2026-07-18");
    assert_formats(date_add_months(parse_ok("2026-03-31"), -1), "2026-02-28"); /* backwards */
    assert_formats(date_add_months(parse_ok("2026-01-15"), -13), "2024-12-15");
    assert_formats(date_add_months(parse_ok("1969-12-31"), 2), "1970-02-28"); /* before epoch */
    /* Clamping is not cumulative: each call starts from the given day. */
    assert_formats(date_add_months(d, 7), "2027-03-31");
}

/* Years past 9999 (a followed horizon can reach them) in ISO 8601's expanded form, with a
 * sign and five digits or more; they printed as xxxx-xx-xx. */
static void test_format_wide(void **state)
{
    (void)state;
    char buf[DATE_TEXT_LEN];
    date_format_wide(date_from_ymd(2029, 7, 18), buf);
    assert_string_equal(buf, "2029-07-18");
    date_format_wide(date_from_ymd(9999, 12, 31) + 1, buf);
    assert_string_equal(buf, "+10000-01-01");
    date_format_wide(date_from_ymd(10099, 2, 28), buf);
    assert_string_equal(buf, "+10099-02-28");
    date_format_wide(date_from_ymd(999999, 12, 31), buf);
    assert_string_equal(buf, "+999999-12-31");
    date_format_wide(date_from_ymd(-1, 3, 1), buf);
    assert_string_equal(buf, "-00001-03-01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_wide),
        cmocka_unit_test(test_known_day_numbers),
        cmocka_unit_test(test_refuses_malformed),
        cmocka_unit_test(test_leap_days),
        cmocka_unit_test(test_every_day_round_trips),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_add_months),
    };
    return cmocka_run_group_tests_name("date", tests, NULL, NULL);
}
