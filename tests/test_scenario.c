/* Tests for models/scenario.c: valid scenarios, defaults, accepted oddities, 10,000 sites,
 * the description, the messages' FILE:LINE prefixes, and the inputs beyond the base model
 * (uniform first days, opens, selfpay_screening, schedule.csv, the folder's files). The bad-input corpus is walked by
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
#include <sys/stat.h>
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

static void remove_file(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    unlink(path);
}

/* Removes the folder and the files the tests write into it. */
static void remove_folder(const char *dir)
{
    static const char *const files[] = {"trial.csv", "sites.csv", "schedule.csv", "README.md",
                                        "sites.csv.bak"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        remove_file(dir, files[i]);
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

/* ---- the inputs beyond the base model (DESIGN.md section 2.2) ---- */

/* Without them every site is the base model's: first day fixed, always opens, no schedule;
 * candidates in screening need no consent. */
static void test_new_input_defaults(void **state)
{
    (void)state;
    scenario *s = parse_ok(TRIAL_MIN, "site,rate,active_from\nA,1,\nB,2,2027-01-01\n");
    assert_false(s->selfpay_screening);
    for (size_t i = 0; i < s->n_sites; i++) {
        assert_int_equal(s->site[i].active_to, s->site[i].active_from);
        assert_true(s->site[i].opens == 1.0);
        assert_int_equal(s->site[i].n_steps, 0);
        assert_null(s->site[i].step);
    }
    assert_int_equal(s->site[0].active_from, s->as_of);
    assert_int_equal(s->site[1].active_from, day("2027-01-01"));
    scenario_free(s);
}

static void test_uniform_first_day(void **state)
{
    (void)state;
    scenario *s = parse_ok(TRIAL_MIN, "site,rate,active_from\n"
                                      "A,1,uniform(2027-01-01;2027-06-30)\n"
                                      "B,1,\" uniform ( 2027-03-01 ;\t2027-04-01 ) \"\n"
                                      "C,1,Uniform(2027-05-05;2027-05-05)\n"
                                      "D,1,2027-02-02\n");
    assert_int_equal(s->site[0].active_from, day("2027-01-01"));
    assert_int_equal(s->site[0].active_to, day("2027-06-30"));
    assert_int_equal(s->site[1].active_from, day("2027-03-01"));
    assert_int_equal(s->site[1].active_to, day("2027-04-01"));
    assert_int_equal(s->site[2].active_from, day("2027-05-05")); /* D1 == D2: one day */
    assert_int_equal(s->site[2].active_to, day("2027-05-05"));
    assert_int_equal(s->site[3].active_to, s->site[3].active_from);
    scenario_free(s);
    /* 36525 days apart is the most: 1927-01-01 to 2027-01-01 holds 24 leap days. */
    s = parse_ok(TRIAL_MIN, "site,rate,active_from\nA,1,uniform(1927-01-01;2027-01-01)\n");
    assert_int_equal(s->site[0].active_to - s->site[0].active_from, SCENARIO_MAX_WINDOW_DAYS);
    scenario_free(s);
    assert_refused(TRIAL_MIN, "site,rate,active_from\nA,1,uniform(1926-12-31;2027-01-01)\n",
                   "t/sites.csv:2: ", "D2 is more than 36525 days after D1");
    assert_refused(TRIAL_MIN, "site,rate,active_from\nA,1,uniform(2027-01-02;2027-01-01)\n",
                   "t/sites.csv:2: ", "D1 is after D2; expected uniform(D1;D2)");
    assert_refused(TRIAL_MIN, "site,rate,active_from\nA,1,uniform(;2027-01-01)\n",
                   "t/sites.csv:2: ", "D1 `` is not a valid date");
    assert_refused(TRIAL_MIN, "site,rate,active_from\nA,1,uniform 2027-01-01;2027-02-01\n",
                   "t/sites.csv:2: ", "is a malformed uniform; expected uniform(D1;D2)");
}

static void test_opens(void **state)
{
    (void)state;
    scenario *s = parse_ok(TRIAL_MIN, "site,opens,rate\nA,0,1\nB,0.25,1\nC,,1\nD,1,1\n"
                                      "E,1e-1,1\n");
    assert_true(s->site[0].opens == 0.0);
    assert_true(s->site[1].opens == 0.25);
    assert_true(s->site[2].opens == 1.0); /* empty: always opens */
    assert_true(s->site[3].opens == 1.0);
    assert_true(s->site[4].opens == 0.1);
    scenario_free(s);
    assert_refused(TRIAL_MIN, "site,rate,opens\nA,1,1.01\n", "t/sites.csv:2: ",
                   "opens `1.01` is too large; expected a number from 0 to 1");
    assert_refused(TRIAL_MIN, "site,rate,opens\nA,1,beta( 1 ; 2 )\n", "t/sites.csv:2: ",
                   "is a beta; expected a plain number from 0 to 1");
    assert_refused(TRIAL_MIN, "site,rate,opens,opens\nA,1,1,1\n", "t/sites.csv:1: ",
                   "duplicate column `opens`");
}

static void test_selfpay_screening(void **state)
{
    (void)state;
    scenario *s = parse_ok(TRIAL_MIN "selfpay_screening,yes\n", SITES_MIN);
    assert_true(s->selfpay_screening);
    scenario_free(s);
    s = parse_ok(TRIAL_MIN "selfpay_screening, no \n", SITES_MIN);
    assert_false(s->selfpay_screening);
    scenario_free(s);
    assert_refused(TRIAL_MIN "selfpay_screening,1\n", SITES_MIN, "t/trial.csv:5: ",
                   "selfpay_screening `1` is neither yes nor no; expected yes or no");
    assert_refused(TRIAL_MIN "selfpay_screening,no\nselfpay_screening,yes\n", SITES_MIN,
                   "t/trial.csv:6: ", "duplicate key `selfpay_screening` (first on line 5)");
}

/* ---- folders: schedule.csv and the files a folder may hold ---- */

/* A fresh folder under $TMPDIR (or /tmp) holding trial.csv and sites.csv. */
static void make_folder(char *dir, size_t size, const char *trial, const char *sites)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, size, "%s/plan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    write_file(dir, "trial.csv", trial);
    write_file(dir, "sites.csv", sites);
}

/* Loads dir, insisting on success. */
static scenario *load_ok(const char *dir)
{
    char err[512] = "";
    scenario *s = scenario_load(dir, err, sizeof err);
    if (!s)
        fail_msg("refused: %s", err);
    return s;
}

/* Loads dir, insisting on a refusal whose message starts with dir + "/" + file_line
 * ("schedule.csv:3: ") and holds fragment. */
static void assert_folder_refused(const char *dir, const char *file_line, const char *fragment)
{
    char err[512] = "", prefix[400];
    scenario *s = scenario_load(dir, err, sizeof err);
    if (s) {
        scenario_free(s);
        fail_msg("accepted; expected \"%s\"", fragment);
    }
    snprintf(prefix, sizeof prefix, "%s/%s", dir, file_line);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, fragment))
        fail_msg("message \"%s\"; expected prefix \"%s\" and \"%s\"", err, prefix, fragment);
}

static void assert_step(const site_spec *st, size_t j, const char *from, double factor)
{
    assert_true(j < st->n_steps);
    assert_int_equal(st->step[j].from, day(from));
    assert_true(st->step[j].factor == factor);
}

/* Steps sorted by date; the `*` rows for every site without rows of its own; columns in any
 * order, a note column, spaces and quotes. */
static void test_schedule(void **state)
{
    (void)state;
    char dir[300];
    make_folder(dir, sizeof dir, TRIAL_MIN, "site,rate\nA,1\nB,2\nC,3\n\" D \",4\n");
    write_file(dir, "schedule.csv", "factor,site,note,from\n"
                                    "2,B,more staff,2028-01-01\n"
                                    "0.5,*,ramp-up,2027-01-01\n"
                                    "0,B,\"closed, for works\",2027-06-01\n"
                                    "1,*,,2026-07-18\n"
                                    "1000,D,,2027-03-03\n"
                                    "\" 0.25 \", * ,, 2030-01-01 \n");
    scenario *s = load_ok(dir);
    const site_spec *a = &s->site[0], *b = &s->site[1], *c = &s->site[2], *d = &s->site[3];
    assert_int_equal(a->n_steps, 3); /* A: the * rows, sorted */
    assert_step(a, 0, "2026-07-18", 1.0);
    assert_step(a, 1, "2027-01-01", 0.5);
    assert_step(a, 2, "2030-01-01", 0.25);
    assert_int_equal(b->n_steps, 2); /* B: its own rows only, sorted */
    assert_step(b, 0, "2027-06-01", 0.0);
    assert_step(b, 1, "2028-01-01", 2.0);
    assert_int_equal(c->n_steps, 3); /* C: the * rows, a copy of its own */
    assert_true(c->step != a->step);
    assert_memory_equal(c->step, a->step, 3 * sizeof *a->step);
    assert_int_equal(d->n_steps, 1); /* " D " is D after trimming */
    assert_step(d, 0, "2027-03-03", SCENARIO_MAX_FACTOR);
    scenario_free(s);

    /* Without * rows a site without rows has no schedule; a header alone is no schedule. */
    write_file(dir, "schedule.csv", "site,from,factor\nB,2027-01-01,3\n");
    s = load_ok(dir);
    assert_int_equal(s->site[0].n_steps, 0);
    assert_null(s->site[0].step);
    assert_int_equal(s->site[1].n_steps, 1);
    scenario_free(s);
    write_file(dir, "schedule.csv", "site,from,factor\r\n\r\n");
    s = load_ok(dir);
    for (size_t i = 0; i < s->n_sites; i++)
        assert_int_equal(s->site[i].n_steps, 0);
    scenario_free(s);

    /* Faults name the schedule and the line. */
    write_file(dir, "schedule.csv", "site,from,factor\nA,2027-01-01,1\nE,2027-01-01,1\n");
    assert_folder_refused(dir, "schedule.csv:3: ", "unknown site `E`; expected a site named "
                          "in sites.csv or *");
    write_file(dir, "schedule.csv", "site,from,factor\nA,2027-01-01,1\nB,2027-01-01,1\n"
                                    "B,2028-01-01,1\nB,2027-01-01,2\nA,2027-01-01,3\n");
    assert_folder_refused(dir, "schedule.csv:5: ", "duplicate step for site `B` from "
                          "2027-01-01 (first on line 3)");
    write_file(dir, "schedule.csv", "site,from,factor\nA,2027-01-01,1e999\n");
    assert_folder_refused(dir, "schedule.csv:2: ", "factor `1e999` is not a finite number");
    write_file(dir, "schedule.csv", "site,from,from,factor\n");
    assert_folder_refused(dir, "schedule.csv:1: ", "duplicate column `from` (columns 2 and 3)");
    write_file(dir, "schedule.csv", "site,factor\n");
    assert_folder_refused(dir, "schedule.csv:1: ", "missing column `from`");
    write_file(dir, "schedule.csv", "site,from,factor\n\"A,2027-01-01,1\n");
    assert_folder_refused(dir, "schedule.csv:2: ", "");
    /* sites.csv is read before schedule.csv: its faults come first. */
    write_file(dir, "schedule.csv", "site,from,factor\nE,2027-01-01,1\n");
    write_file(dir, "sites.csv", "site,rate\nA,-1\n");
    assert_folder_refused(dir, "sites.csv:2: ", "rate `-1` is negative");
    remove_folder(dir);
}

/* A schedule with `n` rows for site `site` (dates a day apart from 2027-01-01). */
static char *schedule_rows(const char *site, size_t n)
{
    size_t cap = 32 + n * 40;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t len = (size_t)snprintf(buf, cap, "site,from,factor\n");
    for (size_t i = 0; i < n; i++) {
        char d[11];
        date_format(day("2027-01-01") + (date_t)i, d);
        len += (size_t)snprintf(buf + len, cap - len, "%s,%s,%zu\n", site, d, i % 3);
    }
    return buf;
}

/* SCENARIO_MAX_STEPS rows for a site (or for *) are fine, one more is refused on its line;
 * all steps together, * counted once per site taking them, are at most 1000000. */
static void test_schedule_limits(void **state)
{
    (void)state;
    char dir[300], want[64];
    make_folder(dir, sizeof dir, TRIAL_MIN, "site,rate\nA,1\nB,1\n");
    char *rows = schedule_rows("A", SCENARIO_MAX_STEPS);
    write_file(dir, "schedule.csv", rows);
    free(rows);
    scenario *s = load_ok(dir);
    assert_int_equal(s->site[0].n_steps, SCENARIO_MAX_STEPS);
    for (size_t j = 1; j < s->site[0].n_steps; j++)
        assert_true(s->site[0].step[j - 1].from < s->site[0].step[j].from);
    assert_int_equal(s->site[1].n_steps, 0);
    scenario_free(s);

    rows = schedule_rows("*", SCENARIO_MAX_STEPS + 1);
    write_file(dir, "schedule.csv", rows);
    free(rows);
    snprintf(want, sizeof want, "schedule.csv:%d: ", SCENARIO_MAX_STEPS + 2);
    assert_folder_refused(dir, want, "more than 1000 steps for site `*`; expected at most 1000");
    remove_folder(dir);

    /* 1000 sites take 1000 rows of *: 1000000 steps, the most; a 1001st site is too many. */
    char *sites = many_sites_csv(1000, "");
    make_folder(dir, sizeof dir, TRIAL_MIN, sites);
    rows = schedule_rows("*", SCENARIO_MAX_STEPS);
    write_file(dir, "schedule.csv", rows);
    s = load_ok(dir);
    assert_int_equal(s->site[999].n_steps, SCENARIO_MAX_STEPS);
    scenario_free(s);
    free(sites);
    sites = many_sites_csv(1000, "one more,1,\n");
    write_file(dir, "sites.csv", sites);
    assert_folder_refused(dir, "schedule.csv:0: ", "the schedule gives 1001000 steps in all");
    free(sites);
    free(rows);
    remove_folder(dir);
}

/* Only trial.csv, sites.csv and schedule.csv may be .csv files of the folder. */
static void test_folder_files(void **state)
{
    (void)state;
    char dir[300], sub[400];
    make_folder(dir, sizeof dir, TRIAL_MIN, SITES_MIN);
    write_file(dir, "README.md", "other files are fine\n");
    write_file(dir, "sites.csv.bak", "so is a backup\n");
    snprintf(sub, sizeof sub, "%s/old.csv", dir); /* a folder, not a file: fine */
    assert_int_equal(mkdir(sub, 0700), 0);
    scenario *s = load_ok(dir);
    assert_int_equal(s->site[0].n_steps, 0); /* no schedule.csv: no schedule */
    scenario_free(s);

    write_file(dir, "zz.CSV", "site\n");
    write_file(dir, "schedul.csv", "site,from,factor\n");
    /* Of two, the first in byte order; before any fault of trial.csv. */
    write_file(dir, "trial.csv", "key,value\n");
    assert_folder_refused(dir, "schedul.csv:0: ", "unknown scenario file; expected trial.csv, "
                          "sites.csv and optionally schedule.csv");
    remove_file(dir, "schedul.csv");
    assert_folder_refused(dir, "zz.CSV:0: ", "unknown scenario file");
    remove_file(dir, "zz.CSV");
    write_file(dir, "action.csv", "review,below,action,value\n");
    assert_folder_refused(dir, "action.csv:0: ", "unknown scenario file; expected trial.csv, "
                          "sites.csv and optionally schedule.csv, history.csv, actions.csv and "
                          "overrides.csv");
    remove_file(dir, "action.csv");
    assert_folder_refused(dir, "trial.csv:0: ", "missing key `as_of`");
    rmdir(sub);
    remove_folder(dir);
}

/* overrides.csv, as an --out folder's inputs/ writes it: applied before the caller's
 * overrides (theirs win), its like used when the caller gives none, a quoting ' dropped, and
 * every fault named by file and line. */
static void test_folder_overrides(void **state)
{
    (void)state;
    char dir[300], err[512] = "";
    make_folder(dir, sizeof dir, TRIAL_MIN, "site,rate\nA,1\nB,2\n");
    write_file(dir, "overrides.csv", "option,key,value\nset,\"target\",\"5\"\n"
                                     "set,name,\"'=x\"\nset,extra_sites,2\nlike,,\"B\"\n");
    scenario *s = load_ok(dir);
    assert_int_equal(s->target, 5);
    assert_string_equal(s->name, "=x");
    assert_int_equal(s->n_sites, 4);               /* two more sites like B */
    assert_true(s->site[3].rate == 2.0);
    assert_int_equal(s->from_file.n, 3);
    assert_string_equal(s->from_file.set[0], "target=5");
    assert_string_equal(s->from_file.like, "B");
    scenario_free(s);

    /* The caller's overrides come after the file's, and their like wins. */
    const char *set[1] = {"target=7"};
    scenario_overrides ov = {set, 1, "A"};
    s = scenario_load_with(dir, &ov, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(s->target, 7);
    assert_int_equal(s->n_sites, 4);
    assert_true(s->site[3].rate == 1.0);      /* like A */
    scenario_free(s);

    write_file(dir, "overrides.csv", "opt,key,value\n");
    assert_folder_refused(dir, "overrides.csv:1: ", "header is not option,key,value");
    write_file(dir, "overrides.csv", "option,key,value\nset,target,5\nsett,target,6\n");
    assert_folder_refused(dir, "overrides.csv:3: ", "option `sett` is unknown; expected set or "
                                                    "like");
    write_file(dir, "overrides.csv", "option,key,value\n\nset,targt,5\n");
    assert_folder_refused(dir, "overrides.csv:3: ", "key `targt` is unknown; expected a trial "
                                                    "key");
    /* A key across lines is quoted on one: its line end as '?'. */
    write_file(dir, "overrides.csv", "option,key,value\nset,\"tar\nget\",5\n");
    assert_folder_refused(dir, "overrides.csv:2: ", "key `tar?get` is unknown");
    /* A long key is quoted cut, so that the message stays one short line. */
    write_file(dir, "overrides.csv", "option,key,value\nset,"
               "extraaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,1\n");
    assert_folder_refused(dir, "overrides.csv:2: ", "key `extraaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...` "
                                                    "is unknown");
    write_file(dir, "overrides.csv", "option,key,value\nlike,A,B\n");
    assert_folder_refused(dir, "overrides.csv:2: ", "a like row is `like,,SITE`");
    /* A bad value is refused as a bad value of the file it overrides, as --set's are. */
    write_file(dir, "overrides.csv", "option,key,value\nset,target,-5\n");
    assert_null(s = scenario_load(dir, err, sizeof err));
    assert_non_null(strstr(err, "trial.csv): target `-5` is negative"));
    /* extra_sites with no like anywhere. */
    write_file(dir, "overrides.csv", "option,key,value\nset,extra_sites,1\n");
    assert_folder_refused(dir, "overrides.csv: ", "extra_sites needs --like SITE");
    remove_file(dir, "overrides.csv");
    remove_folder(dir);
}

static void test_describe_new_inputs(void **state)
{
    (void)state;
    char dir[300];
    make_folder(dir, sizeof dir, TRIAL_MIN "selfpay_screening,yes\n",
                "site,rate,active_from,opens\nLead,1,uniform(2027-01-01;2027-06-30),0.7\n"
                "Other,2,,\nThird,1,,0\nPlain,1,2027-01-01,1\n");
    write_file(dir, "schedule.csv", "site,from,factor\n*,2027-04-01,0.5\n*,2027-10-01,1\n"
                                    "*,2028-01-01,1.25\n*,2028-04-01,1.5\n*,2028-07-01,1.75\n"
                                    "*,2028-10-01,2\nPlain,2027-01-01,1\n");
    scenario *s = load_ok(dir);
    char *text = describe(s);
    assert_has(text, "self-pay from 2026-07-18, consent probability 1\n"
                     "              candidates in screening need consent too\n");
    assert_has(text, "1/year, fixed\n    first day uniform 2027-01-01 to 2027-06-30; "
                     "opens with probability 0.7;\n      rate x0.5 from 2027-04-01, x1 from "
                     "2027-10-01, x1.25 from 2028-01-01,\n      x1.5 from 2028-04-01, x1.75 "
                     "from 2028-07-01, x2 from 2028-10-01\n");
    assert_has(text, "2/year, fixed, from 2026-07-18\n    same rate schedule as Lead\n");
    assert_has(text, "1/year, fixed, from 2026-07-18\n    opens with probability 0; "
                     "same rate schedule as Lead\n");
    assert_has(text, "1/year, fixed, from 2027-01-01\n    rate x1 from 2027-01-01\n");
    /* The lines it adds stay under 80 columns. */
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        if (strncmp(line, "    ", 4) == 0 || strncmp(line, "              ", 14) == 0)
            assert_true(n < 80);
        line += n + (line[n] == '\n');
    }
    free(text);
    scenario_free(s);
    remove_folder(dir);

    /* Without the new inputs: nothing added. */
    s = parse_ok(TRIAL_MIN, SITES_MIN);
    text = describe(s);
    assert_null(strstr(text, "consent too"));
    assert_has(text, "  A             1/year, fixed, from 2026-07-18\n");
    assert_null(strstr(text, "\n    "));
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
        cmocka_unit_test(test_new_input_defaults),
        cmocka_unit_test(test_uniform_first_day),
        cmocka_unit_test(test_opens),
        cmocka_unit_test(test_selfpay_screening),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_schedule_limits),
        cmocka_unit_test(test_folder_files),
        cmocka_unit_test(test_folder_overrides),
        cmocka_unit_test(test_describe_new_inputs),
        cmocka_unit_test(test_default),
    };
    return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
