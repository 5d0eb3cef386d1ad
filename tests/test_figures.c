/* Tests of engine/figures.c: every figure is a balanced SVG document with its title, its
 * marks (target, deadline, bands or bars) and no NaN, for ordinary and degenerate data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "../engine/figures.h"
#include "svg_check.h"

static void expect_svg(plot_text *t, const char *fragment)
{
    assert_false(t->failed);
    assert_true(svg_tags_balance(t->s));
    assert_null(strstr(t->s, "nan"));
    assert_null(strstr(t->s, "inf"));
    if (!strstr(t->s, fragment))
        fail_msg("missing '%s' in:\n%s", fragment, t->s);
    plot_text_free(t);
}

static void test_fan(void **state)
{
    (void)state;
    date_t start = date_from_ymd(2026, 7, 18), deadline = date_from_ymd(2029, 7, 18);
    date_t date[4] = {start, start + 365, start + 730, deadline};
    double q[4][7] = {{2, 2, 2, 2, 2, 2, 2}, {2, 3, 3, 4, 5, 6, 7}, {3, 3, 4, 6, 8, 9, 11},
                      {3, 4, 5, 8, 10, 13, 15}};
    date_t review[2] = {start + 181, deadline};
    date_t seen[2] = {start - 400, start - 30};
    double count[2] = {1, 2};
    fan_data d = {.n = 4, .date = date, .q = (const double (*)[7])q, .target = 12,
                  .start = start, .deadline = deadline, .n_reviews = 2, .review = review,
                  .n_observed = 2, .observed_date = seen, .observed = count};
    plot_text t = {0};
    figure_fan(&t, &d);
    /* The history's registrations: one point each, and their legend entry. */
    size_t circles = 0;
    for (const char *c = strstr(t.s, "<circle"); c; c = strstr(c + 1, "<circle"))
        circles++;
    assert_int_equal(circles, 2);
    assert_non_null(strstr(t.s, "registered so far"));
    expect_svg(&t, "target 12");
    d.n_observed = 0;
    figure_fan(&t, &d);
    assert_null(strstr(t.s, "<circle"));
    assert_null(strstr(t.s, "registered so far"));
    expect_svg(&t, "target 12");
    figure_fan(&t, &(fan_data){.n = 0, .target = 1, .start = start, .deadline = start});
    expect_svg(&t, "deadline 2026-07-18");
}

static void test_completion(void **state)
{
    (void)state;
    date_t d[3] = {date_from_ymd(2026, 7, 18), date_from_ymd(2030, 1, 1),
                   date_from_ymd(2036, 7, 18)};
    double p1[3] = {0, 0.4, 0.9}, p2[3] = {0, 0.1, 0.3};
    completion_curve c[2] = {{"plan", 3, d, p1}, {"self-pay & more", 3, d, p2}};
    plot_text t = {0};
    figure_completion(&t, c, 2, date_from_ymd(2029, 7, 18), "12");
    expect_svg(&t, "self-pay &amp; more");
}

static void test_distribution_and_sites(void **state)
{
    (void)state;
    double p[5] = {0.1, 0.2, 0.4, 0.2, 0.1};
    plot_text t = {0};
    figure_distribution(&t, 10, p, 5, 12, date_from_ymd(2029, 7, 18));
    expect_svg(&t, "target 12");
    double zero[1] = {0};
    figure_distribution(&t, 0, zero, 1, 3, date_from_ymd(2029, 7, 18));
    expect_svg(&t, "target 3");
    const char *names[2] = {"yokohama-city-univ-hospital", "<new>"};
    double mean[2] = {1.6, 0.0};
    figure_sites(&t, names, mean, 2, date_from_ymd(2029, 7, 18));
    expect_svg(&t, "&lt;new&gt;");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fan),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_distribution_and_sites),
    };
    return cmocka_run_group_tests_name("figures", tests, NULL, NULL);
}
