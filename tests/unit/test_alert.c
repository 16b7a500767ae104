/* --alert rules and the HEALTHCHECK options: what is accepted, what it
 * means, and that a bad one is refused with the rule named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/alert.h"
#include "runtime/supervisor/options.h"
#include "runtime/supervisor/supervisor.h"

static void test_alert_rules(void **state)
{
    (void)state;
    rt_alerts a;
    nr_err e = {0};
    rt_alerts_init(&a);
    assert_int_equal(rt_alert_parse(&a, "restarts>3/1m", &e), 0);
    assert_int_equal(a.rules[0].kind, RT_AL_RESTARTS);
    assert_true(a.rules[0].threshold == 3 && a.rules[0].window_ms == 60000);
    assert_int_equal(rt_alert_parse(&a, "mem>80%", &e), 0);
    assert_true(a.rules[1].kind == RT_AL_MEM && a.rules[1].threshold == 80);
    assert_int_equal(rt_alert_parse(&a, "lag_p99>200ms", &e), 0);
    assert_true(a.rules[2].kind == RT_AL_LAG && a.rules[2].threshold == 200);
    assert_int_equal(rt_alert_parse(&a, "http_5xx>1%/1m", &e), 0);
    assert_true(a.rules[3].kind == RT_AL_HTTP5XX && a.rules[3].threshold == 1 && a.rules[3].window_ms == 60000);
    assert_int_equal(rt_alert_parse(&a, "unhealthy", &e), 0);
    assert_int_equal(rt_alert_parse(&a, "oom", &e), 0);
    assert_false(rt_alerts_want_hang(&a));
    assert_int_equal(rt_alert_parse(&a, "hang", &e), 0);
    assert_true(rt_alerts_want_hang(&a));
    assert_int_equal(a.n, 7);
    static const char *const bad[] = {"restarts>3", "restarts>3.5/1m", "restarts>3/0s", "mem>80", "mem>101%",
                                      "lag_p99>200", "lag_p99>", "http_5xx>1%", "http_5xx>1/1m", "unhealthy>0",
                                      "hangs", "oom ", "", "restarts>-1/1m", "mem>1e400%"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e.msg[0] = 0;
        assert_int_equal(rt_alert_parse(&a, bad[i], &e), -1);
        assert_non_null(strstr(e.msg, bad[i]));
    }
    assert_int_equal(a.n, 7);
}

static void test_health_options(void **state)
{
    (void)state;
    sv_config c;
    nr_err e = {0};
    sv_config_init(&c);
    assert_int_equal(sv_opt_apply(&c, "--health-cmd", "curl -f http://localhost/ || exit 1", &e), 0);
    assert_string_equal(c.health_test, "[\"CMD-SHELL\",\"curl -f http://localhost/ || exit 1\"]");
    assert_int_equal(sv_opt_apply(&c, "--health-test", "[\"CMD\",\"/bin/check\",\"a b\"]", &e), 0);
    assert_string_equal(c.health_test, "[\"CMD\",\"/bin/check\",\"a b\"]");
    assert_int_equal(sv_opt_apply(&c, "--health-test", "[\"NONE\"]", &e), 0);
    assert_null(c.health_test);
    assert_int_equal(sv_opt_apply(&c, "--health-interval", "250ms", &e), 0);
    assert_int_equal(c.health_interval_ms, 250);
    assert_int_equal(sv_opt_apply(&c, "--health-retries", "5", &e), 0);
    assert_int_equal(c.health_retries, 5);
    assert_int_equal(sv_opt_apply(&c, "--no-healthcheck", NULL, &e), 0);
    assert_true(c.health_off);
    assert_int_equal(sv_opt_apply(&c, "--on-unhealthy", "reload", &e), 0);
    assert_true(c.reload_unhealthy);
    static const char *const bad_tests[] = {"[]", "[\"CMD\"]", "[\"CMD\",\"\"]", "[\"CMD-SHELL\"]",
                                            "[\"CMD-SHELL\",\"a\",\"b\"]", "[\"NONE\",\"x\"]", "[\"RUN\",\"x\"]",
                                            "{\"Test\":1}", "[\"CMD\",1]", "not json", "[\"CMD\",\"a\\u0000b\"]"};
    for (size_t i = 0; i < sizeof bad_tests / sizeof *bad_tests; i++)
        assert_int_equal(sv_opt_apply(&c, "--health-test", bad_tests[i], &e), -1);
    assert_int_equal(sv_opt_apply(&c, "--health-cmd", "", &e), -1);
    assert_int_equal(sv_opt_apply(&c, "--health-timeout", "soon", &e), -1);
    assert_int_equal(sv_opt_apply(&c, "--health-retries", "-1", &e), -1);
    assert_int_equal(sv_opt_apply(&c, "--on-unhealthy", "restart", &e), -1);
    sv_config_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_rules),
        cmocka_unit_test(test_health_options),
    };
    return cmocka_run_group_tests_name("alert", tests, NULL, NULL);
}
