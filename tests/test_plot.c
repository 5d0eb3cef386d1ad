/* Tests of engine/plot.c: scales, nice ticks for counts, probabilities and dates, XML
 * escaping, and a whole document whose tags balance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "../engine/plot.h"
#include "svg_check.h"

static void test_map(void **state)
{
    (void)state;
    plot_scale s = {0.0, 10.0, 100.0, 300.0};
    assert_true(plot_map(&s, 0.0) == 100.0);
    assert_true(plot_map(&s, 10.0) == 300.0);
    assert_true(plot_map(&s, 5.0) == 200.0);
    plot_scale y = {0.0, 1.0, 400.0, 20.0};   /* a y axis: up is smaller */
    assert_true(plot_map(&y, 0.25) == 305.0);
    plot_scale flat = {3.0, 3.0, 0.0, 50.0};
    assert_true(plot_map(&flat, 3.0) == 25.0);
}

static void expect_ticks(double lo, double hi, size_t max, double min_step, const double *want,
                         size_t n_want)
{
    double got[32];
    size_t n = plot_ticks(lo, hi, max, min_step, got);
    if (n != n_want)
        fail_msg("ticks of [%g, %g]: %zu, expected %zu", lo, hi, n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_true(got[i] == want[i]);
}

static void test_number_ticks(void **state)
{
    (void)state;
    /* [0, 12] in at most 7: steps of 1 and 2 are the candidates; 2 fits (0..12 is 6 steps). */
    expect_ticks(0, 12, 7, 1, (double[]){0, 2, 4, 6, 8, 10, 12}, 7);
    /* Counts never step below 1: [0, 3] in up to 10 ticks is 0, 1, 2, 3. */
    expect_ticks(0, 3, 10, 1, (double[]){0, 1, 2, 3}, 4);
    /* Probabilities: [0, 1] in at most 6 is steps of 0.2. */
    expect_ticks(0, 1, 6, 0, (double[]){0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}, 6);
    /* A range not starting on a step: the first tick is at or below lo. */
    expect_ticks(7, 93, 6, 1, (double[]){0, 20, 40, 60, 80, 100}, 6);
    /* An empty range still gives two ticks. */
    expect_ticks(5, 5, 6, 1, (double[]){5, 6}, 2);
}

static void test_date_ticks(void **state)
{
    (void)state;
    date_t t[16];
    /* The seed's window, 2026-07-18 to 2029-07-18, at most 8 ticks: quarterly would need 12,
     * half-yearly fits: the first of January and July from 2027. */
    size_t n = plot_date_ticks(date_from_ymd(2026, 7, 18), date_from_ymd(2029, 7, 18), 8, t);
    assert_int_equal(n, 6);
    assert_int_equal(t[0], date_from_ymd(2027, 1, 1));
    assert_int_equal(t[1], date_from_ymd(2027, 7, 1));
    assert_int_equal(t[5], date_from_ymd(2029, 7, 1));
    /* Two months, at most 12: monthly; a window starting on the 1st has a tick there. */
    n = plot_date_ticks(date_from_ymd(2027, 3, 1), date_from_ymd(2027, 5, 10), 12, t);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], date_from_ymd(2027, 3, 1));
    /* Forty years in at most 6: every 10 years, on decades. */
    n = plot_date_ticks(date_from_ymd(2026, 7, 18), date_from_ymd(2066, 7, 18), 6, t);
    assert_int_equal(n, 4);
    assert_int_equal(t[0], date_from_ymd(2030, 1, 1));
    assert_int_equal(t[3], date_from_ymd(2060, 1, 1));
    assert_int_equal(plot_date_ticks(10, 5, 6, t), 0);
    /* Their labels: the year alone in January, else the month and the whole year ("Jul 27"
     * read as the 27th of July). */
    n = plot_date_ticks(date_from_ymd(2026, 7, 18), date_from_ymd(2029, 7, 18), 8, t);
    plot_frame f = plot_frame_of(640, 360, (double)date_from_ymd(2026, 7, 18),
                                 (double)date_from_ymd(2029, 7, 18), 0, 1);
    plot_text x = {0};
    plot_axis_x_dates(&x, &f, t, n, "date");
    assert_non_null(strstr(x.s, ">2027<"));
    assert_non_null(strstr(x.s, ">Jul 2027<"));
    assert_null(strstr(x.s, "Jul 27"));
    plot_text_free(&x);
}

static void test_escape(void **state)
{
    (void)state;
    plot_text t = {0};
    plot_escape(&t, "a<b & \"c\" 'd'>");
    assert_string_equal(t.s, "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    plot_text_free(&t);
}

static void test_document(void **state)
{
    (void)state;
    plot_text t = {0};
    plot_frame f = plot_frame_of(640, 360, 0, 10, 0, 1);
    double x[] = {0, 5, 10}, lo[] = {0.1, 0.2, 0.3}, hi[] = {0.4, 0.6, 0.9};
    double ticks[16];
    size_t n = plot_ticks(0, 1, 6, 0, ticks);
    plot_begin(&t, 640, 360, "A test <figure>");
    plot_axis_y(&t, &f, ticks, n, 1, "probability");
    n = plot_ticks(0, 10, 6, 1, ticks);
    plot_axis_x(&t, &f, ticks, n, "x & y");
    plot_band(&t, &f, x, lo, hi, 3, "#9ecae1", 0.5);
    plot_line(&t, &f, x, hi, 3, "#08519c", 2, 0);
    plot_bars(&t, &f, x, lo, 3, 0.8, "#6baed6");
    plot_hline(&t, &f, 0.5, "#c00", "target");
    plot_vline(&t, &f, 7, "#555", "deadline");
    plot_legend(&t, &f, (const char *const[]){"#9ecae1"}, (const char *const[]){"band"}, 1);
    plot_end(&t);
    assert_false(t.failed);
    assert_true(svg_tags_balance(t.s));
    assert_non_null(strstr(t.s, "A test &lt;figure&gt;"));
    assert_non_null(strstr(t.s, "x &amp; y"));
    assert_non_null(strstr(t.s, ">40 %<"));     /* a percent tick */
    assert_null(strstr(t.s, "nan"));
    plot_text_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map),           cmocka_unit_test(test_number_ticks),
        cmocka_unit_test(test_date_ticks),    cmocka_unit_test(test_escape),
        cmocka_unit_test(test_document),
    };
    return cmocka_run_group_tests_name("plot", tests, NULL, NULL);
}
