/* Tests for models/scenario.c: valid scenarios, defaults, accepted oddities, 10,000 sites,
 * the description, and the messages' FILE:LINE prefixes. The bad-input corpus is walked by
 * test_badinput.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../models/scenario.h"

#define TRIAL_MIN "key,value\nas_of,2026-07-18\ndeadline,2029-07-18\ntarget,12\n"
#define SITES_MIN "site,rate\nA,1\n"

static scenario *parse(const char *trial, const char *sites, char *err, size_t errlen)
{
    return scenario_parse("src", "t/trial.csv", trial, strlen(trial), "t/sites.csv", sites,
                          strlen(sites), err, errlen);
}

/* Parses and insists on success, showing the message if it fails. */
static scenario *parse_ok(const char *trial, const char *sites)
{
    char err[512] = "";
    scenario *s = parse(trial, sites, err, sizeof err);
    if (!s)
        fail_msg("refused: %s", err);
    return s;
}

static void assert_refused(const char *trial, const char *sites, const char *prefix,
                           const char *fragment)
{
    char err[512] = "";
    scenario *s = parse(trial, sites, err, sizeof err);
    if (s) {
        scenario_free(s);
        fail_msg("accepted; expected \"%s\"", fragment);
    }
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, fragment))
        fail_msg("message \"%s\"; expected prefix \"%s\" and \"%s\"", err, prefix, fragment);
}

static date_t day(const char *iso)
{
    date_t d = 0;
    assert_int_equal(date_parse(iso, &d), 0);
    return d;
}

static void test_every_key(void **state)
{
    (void)state;
    scenario *s = parse_ok(
        "key,value,note\n"
        "name,Every key,shown on reports\n"
        "as_of,2026-07-18,\n"
        "deadline,2029-07-18,\n"
        "target,12,\n"
        "enrolled,2,\n"
        "screening,3,\n"
        "screen_pass,0.9,\n"
        "screen_days,30,\n"
        "selfpay_from,2026-10-01,\n"
        "selfpay_consent,beta(2;3),\n"
        "review_months,4,\n"
        "horizon_years,7.5,\n",
        "site,rate,rate_shape,active_from,note\n"
        "Lead,1,2,2026-07-18,experienced\n"
        "New,0.25,,2027-01-01,\n");
    assert_string_equal(s->name, "Every key");
    assert_string_equal(s->source, "src");
    assert_int_equal(s->as_of, day("2026-07-18"));
    assert_int_equal(s->deadline, day("2029-07-18"));
    assert_int_equal(s->target, 12);
    assert_int_equal(s->enrolled, 2);
    assert_int_equal(s->screening, 3);
    assert_false(s->screen_pass.is_beta);
    assert_true(s->screen_pass.value == 0.9); /* both sides are strtod("0.9") */
    assert_int_equal(s->screen_days, 30);
    assert_int_equal(s->selfpay_from, day("2026-10-01"));
    assert_true(s->selfpay_consent.is_beta);
    assert_true(s->selfpay_consent.a == 2.0 && s->selfpay_consent.b == 3.0);
    assert_true(s->selfpay_consent.value == 0.4); /* beta mean a / (a + b) = 2 / 5 */
    assert_int_equal(s->review_months, 4);
    assert_true(s->horizon_years == 7.5);
    assert_int_equal(s->n_sites, 2);
    assert_string_equal(s->site[0].name, "Lead");
    assert_true(s->site[0].rate == 1.0 && s->site[0].shape == 2.0);
    assert_int_equal(s->site[0].active_from, day("2026-07-18"));
    assert_string_equal(s->site[0].note, "experienced");
    assert_string_equal(s->site[1].name, "New");
    assert_true(s->site[1].rate == 0.25 && s->site[1].shape == 0.0); /* empty shape: fixed */
    assert_int_equal(s->site[1].active_from, day("2027-01-01"));
    assert_string_equal(s->site[1].note, "");
    scenario_free(s);
}

/* The defaults of DESIGN.md section 3. */
static void test_defaults(void **state)
{
    (void)state;
    scenario *s = parse_ok(TRIAL_MIN, SITES_MIN);
    assert_string_equal(s->name, "src"); /* scenario_parse: the source is the default name */
    assert_int_equal(s->enrolled, 0);
    assert_int_equal(s->screening, 0);
    assert_false(s->screen_pass.is_beta);
    assert_true(s->screen_pass.value == 1.0);
    assert_int_equal(s->screen_days, 0);
    assert_int_equal(s->selfpay_from, s->as_of);
    assert_false(s->selfpay_consent.is_beta);
    assert_true(s->selfpay_consent.value == 1.0);
    assert_int_equal(s->review_months, 6);
    assert_true(s->horizon_years == 10.0);
    assert_int_equal(s->site[0].active_from, s->as_of);
    assert_true(s->site[0].shape == 0.0);
    assert_non_null(s->site[0].note);
    assert_string_equal(s->site[0].note, "");
    /* 2026-07-18 to 2029-07-18 inclusive: 3 * 365 + 1 leap day + 1 = 1097 (DESIGN.md, 2). */
    assert_int_equal(scenario_window_days(s), 1097);
    scenario_free(s);
}

static void test_bom_and_crlf(void **state)
{
    (void)state;
    scenario *s = parse_ok("\xEF\xBB\xBFkey,value\r\nas_of,2026-07-18\r\ndeadline,2029-07-18\r\n"
                           "target,12\r\n", "\xEF\xBB\xBFsite,rate\r\nA,1\r\n");
    assert_int_equal(s->target, 12);
    assert_int_equal(s->deadline, day("2029-07-18"));
    assert_string_equal(s->site[0].name, "A"); /* no BOM bytes, no CR left in fields */
    assert_true(s->site[0].rate == 1.0);
    scenario_free(s);
}

static void test_quotes_blank_lines_notes(void **state)
{
    (void)state;
    scenario *s = parse_ok("\n" TRIAL_MIN "name,\"Plan, \"\"revised\"\"\"\n\n\n",
                           "site,rate,note\n\n\"Hospital, East\",1,\"two\nlines, \"\"quoted\"\"\""
                           "\n\nWest,0,\n\n");
    assert_string_equal(s->name, "Plan, \"revised\"");
    assert_int_equal(s->n_sites, 2);
    assert_string_equal(s->site[0].name, "Hospital, East");
    assert_string_equal(s->site[0].note, "two\nlines, \"quoted\"");
    assert_true(s->site[1].rate == 0.0); /* rate 0 is allowed: a site that refers no one */
    scenario_free(s);
}

/* Spaces around fields are trimmed, quoted or not; columns come in any order; beta takes
 * spaces inside; the trial's note column is ignored. */
static void test_spaces_order_beta(void **state)
{
    (void)state;
    scenario *s = parse_ok("key , value , note\n as_of , 2026-07-18 , x\n"
                           "\tdeadline\t,\t2029-07-18\t,\n\"target\",\" 12 \",\n"
                           "screen_pass, beta( 2 ; 3 ) ,\"a, b\"\nenrolled,+2,\n",
                           "note,rate_shape,active_from,rate,site\n"
                           "x,,,1,\"  A  \"\n,0.5,2027-01-01,2,B\n");
    assert_int_equal(s->as_of, day("2026-07-18"));
    assert_int_equal(s->target, 12);
    assert_int_equal(s->enrolled, 2);
    assert_true(s->screen_pass.is_beta && s->screen_pass.a == 2.0 && s->screen_pass.b == 3.0);
    assert_string_equal(s->site[0].name, "A");
    assert_string_equal(s->site[0].note, "x");
    assert_string_equal(s->site[1].name, "B");
    assert_true(s->site[1].rate == 2.0 && s->site[1].shape == 0.5);
    assert_int_equal(s->site[1].active_from, day("2027-01-01"));
    scenario_free(s);
}

/* Limits are inclusive; enrolled may already exceed the target; deadline may equal as_of. */
static void test_bounds_inclusive(void **state)
{
    (void)state;
    scenario *s = parse_ok("key,value\nas_of,2026-07-18\ndeadline,2026-07-18\ntarget,1000000\n"
                           "enrolled,1000000\nscreening,1000000\nscreen_days,3650\n"
                           "review_months,120\nhorizon_years,100\nscreen_pass,0\n"
                           "selfpay_consent,beta(1e6;0.01)\n",
                           "site,rate,rate_shape\nA,100000,1e6\nB,0,0.01\n");
    assert_int_equal(scenario_window_days(s), 1); /* one day: the deadline day itself */
    assert_int_equal(s->target, SCENARIO_MAX_COUNT);
    assert_int_equal(s->review_months, SCENARIO_MAX_REVIEW_MONTHS);
    assert_true(s->site[0].rate == SCENARIO_MAX_RATE && s->site[0].shape == SCENARIO_MAX_SHAPE);
    scenario_free(s);
    s = parse_ok("key,value\nas_of,2026-07-18\ndeadline,2029-07-18\ntarget,12\nenrolled,15\n",
                 SITES_MIN);
    assert_int_equal(s->enrolled, 15);
    scenario_free(s);
}

/* Messages carry the names given for the two texts, the faulty line, and "; expected". */
static void test_message_prefixes(void **state)
{
    (void)state;
    assert_refused(TRIAL_MIN "target,13\n", SITES_MIN, "t/trial.csv:5: ",
                   "duplicate key `target` (first on line 4)");
    assert_refused(TRIAL_MIN, "site,rate\nA,1\nB,x\n", "t/sites.csv:3: ",
                   "rate `x` is not a decimal number; expected");
    assert_refused("key,value\nas_of,2026-07-18\n", SITES_MIN, "t/trial.csv:0: ",
                   "missing key `deadline`");
    assert_refused(TRIAL_MIN, "site,rate\n", "t/sites.csv:0: ", "no sites");
    /* A trial fault is reported even when sites.csv is broken too: trial.csv is read first. */
    assert_refused("key,value\n", "", "t/trial.csv:0: ", "missing key `as_of`");
    char err[8];
    assert_null(parse(TRIAL_MIN, "", err, sizeof err)); /* a short buffer is cut, not overrun */
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_null(parse(TRIAL_MIN, "", NULL, 0));
}

/* Long or binary values are quoted short and on one line. */
static void test_shown_values_are_short(void **state)
{
    (void)state;
    char trial[400], err[512];
    snprintf(trial, sizeof trial, "%sname,ok\nscreen_pass,\"%s\"\n", TRIAL_MIN,
             "0.5\x01\x02\n0123456789012345678901234567890123456789012345678901234567890");
    assert_null(parse(trial, SITES_MIN, err, sizeof err));
    assert_null(strchr(err, '\n'));
    assert_non_null(strstr(err, "t/trial.csv:6: screen_pass `0.5???012"));
    assert_non_null(strstr(err, "...` is not a probability"));
}

/* 10,000 generated sites load; a duplicate at the end is found on its own line. */
#define MANY_SITES 10000

static char *many_sites_csv(size_t n, const char *last_row)
{
    size_t cap = 32 + n * 32 + strlen(last_row);
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t len = (size_t)snprintf(buf, cap, "site,rate,rate_shape\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "site %05zu,%zu,%s\n", i, i % 4,
                                i % 2 ? "2" : "");
    snprintf(buf + len, cap - len, "%s", last_row);
    return buf;
}

static void test_ten_thousand_sites(void **state)
{
    (void)state;
    char *sites = many_sites_csv(MANY_SITES, "");
    scenario *s = parse_ok(TRIAL_MIN, sites);
    free(sites);
    assert_int_equal(s->n_sites, MANY_SITES);
    double total = 0.0;
    for (size_t i = 0; i < s->n_sites; i++)
        total += s->site[i].rate;
    /* Rates cycle 0, 1, 2, 3: 2500 cycles of 6 = 15000, exact in floating point. */
    assert_true(total == 15000.0);
    assert_string_equal(s->site[MANY_SITES - 1].name, "site 09999");
    assert_true(s->site[MANY_SITES - 1].shape == 2.0); /* odd index: shape 2 */
    assert_true(s->site[MANY_SITES - 2].shape == 0.0);
    scenario_free(s);

    /* Header on line 1, sites on lines 2 to 10001, the duplicate on line 10002. */
    sites = many_sites_csv(MANY_SITES, "site 00007,1,\n");
    assert_refused(TRIAL_MIN, sites, "t/sites.csv:10002: ",
                   "duplicate site `site 00007` (first on line 9)");
    free(sites);
}

static void test_too_many_sites(void **state)
{
    (void)state;
    char *sites = many_sites_csv(SCENARIO_MAX_SITES + 1, "");
    char want[64];
    /* The first site beyond the limit is data row SCENARIO_MAX_SITES + 1, on line + 1. */
    snprintf(want, sizeof want, "t/sites.csv:%d: ", SCENARIO_MAX_SITES + 2);
    assert_refused(TRIAL_MIN, sites, want, "more than 100000 sites");
    free(sites);
}

/* ---- loading from a folder ---- */

static void write_file(const char *dir, const char *file, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    fclose(f);
}

static void remove_folder(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/trial.csv", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/sites.csv", dir);
    unlink(path);
    rmdir(dir);
}

static void test_load_folder(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char dir[300], slashed[310], err[512];
    snprintf(dir, sizeof dir, "%s/plan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    write_file(dir, "trial.csv", TRIAL_MIN);
    write_file(dir, "sites.csv", SITES_MIN);
    scenario *s = scenario_load(dir, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s->source, dir);
    /* No name key: the folder's base name, "plan-" and six random characters. */
    assert_int_equal(strncmp(s->name, "plan-", 5), 0);
    assert_int_equal(strlen(s->name), 11);
    assert_string_equal(s->name, strrchr(dir, '/') + 1);
    scenario_free(s);

    /* A trailing slash changes neither the name nor the message paths' single slash. */
    snprintf(slashed, sizeof slashed, "%s/", dir);
    s = scenario_load(slashed, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s->name, strrchr(dir, '/') + 1);
    scenario_free(s);

    write_file(dir, "sites.csv", "site,rate\nA,1\nB,-1\n");
    assert_null(scenario_load(slashed, err, sizeof err));
    char want[400];
    snprintf(want, sizeof want, "%s/sites.csv:3: rate `-1` is negative", dir);
    assert_non_null(strstr(err, want));
    remove_folder(dir);

    assert_null(scenario_load(dir, err, sizeof err)); /* gone: trial.csv cannot be opened */
    snprintf(want, sizeof want, "%s/trial.csv:0: cannot open", dir);
    assert_non_null(strstr(err, want));
}

/* ---- the description ---- */

static char *describe(const scenario *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    scenario_describe(s, f);
    fclose(f);
    return text;
}

static void assert_has(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("description lacks \"%s\":\n%s", want, text);
}

static void test_describe(void **state)
{
    (void)state;
    scenario *s = parse_ok("key,value\nname,plan: a projection\nas_of,2026-07-18\n"
                           "deadline,2029-07-18\ntarget,12\nenrolled,2\nscreening,2\n"
                           "selfpay_consent,beta(2;3)\n",
                           "site,rate,rate_shape,active_from\nLead,1,2,\nLate,0.5,,2027-01-01\n");
    char *text = describe(s);
    assert_has(text, "Scenario      plan: a projection\n");
    assert_has(text, "Forecast from 2026-07-18 to deadline 2029-07-18 (1097 days), target 12\n");
    assert_has(text, "Enrolled      2 before 2026-07-18;  in screening: 2, pass probability 1\n");
    /* Beta(2, 3) has CDF F(x) = 6x^2 - 8x^3 + 3x^4 (the integral of 12 x (1 - x)^2);
     * F(0.0976) = 0.0500 and F(0.7514) = 0.9500, so the 90 % interval is 0.0976 to 0.751;
     * its mean is 2 / 5 = 0.4. */
    assert_has(text, "beta(2;3): mean 0.4, 90 % interval 0.0976 to 0.751");
    /* Gamma(shape 2, scale 1/2) (mean 1) has CDF 1 - e^(-2x) (1 + 2x): at x = 0.178 it is
     * 0.0500, at x = 2.372 it is 0.9500, so the interval prints as 0.178 to 2.37. */
    assert_has(text, "Lead");
    assert_has(text, "1/year, gamma(shape 2): 90 % interval 0.178 to 2.37, from 2026-07-18\n");
    assert_has(text, "0.5/year, fixed, from 2027-01-01\n");
    assert_has(text, "Sites         2, expected referrals 1.5/year in total\n");
    free(text);
    scenario_free(s);
}

/* ---- the built-in default ---- */

static void test_default(void **state)
{
    (void)state;
    char err[512] = "";
    scenario *s = scenario_default(err, sizeof err);
    if (!s)
        fail_msg("the built-in default does not load: %s", err);
    assert_string_equal(s->source, "built-in default (scenarios/protocol-plan)");
    assert_true(strlen(s->name) > 0);
    assert_true(s->n_sites >= 1);
    assert_true(scenario_window_days(s) >= 1);
    scenario_free(s);
    scenario_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bom_and_crlf),
        cmocka_unit_test(test_quotes_blank_lines_notes),
        cmocka_unit_test(test_spaces_order_beta),
        cmocka_unit_test(test_bounds_inclusive),
        cmocka_unit_test(test_message_prefixes),
        cmocka_unit_test(test_shown_values_are_short),
        cmocka_unit_test(test_ten_thousand_sites),
        cmocka_unit_test(test_too_many_sites),
        cmocka_unit_test(test_load_folder),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_default),
    };
    return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
