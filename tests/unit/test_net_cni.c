/* A CNI plugin's result is hostile input: rt_cni_result_ip takes the first
 * IPv4 address and refuses anything that is not an address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "runtime/net.h"

static int ip_of(const char *json, char ip[64], nr_err *err)
{
    json_t *r = json_loads(json, 0, NULL);
    int rc = rt_cni_result_ip(r, ip, err);
    json_decref(r);
    return rc;
}

static void test_result_ip(void **state)
{
    char ip[64];
    nr_err err = {0};
    assert_int_equal(ip_of("{\"ips\":[{\"address\":\"fd00::2/64\"},{\"address\":\"10.88.0.7/16\"}]}", ip, &err), 0);
    assert_string_equal(ip, "10.88.0.7");
    static const char *const bad[] = {
        "{}", "{\"ips\":{}}", "{\"ips\":[]}", "{\"ips\":[{\"address\":7}]}", "{\"ips\":[{\"address\":\"300.1.1.1/24\"}]}",
        "{\"ips\":[{\"address\":\"10.0.0.1;rm -rf /\"}]}", "{\"ips\":[{\"address\":\"fd00::2/64\"}]}", "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        if (ip_of(bad[i], ip, &err) == 0)
            fail_msg("accepted %s as %s", bad[i], ip);
        assert_non_null(strstr(err.msg, "CNI result"));
    }
}

static void test_names(void **state)
{
    assert_true(rt_net_name_valid("front-end_1.x"));
    static const char *const bad[] = {"", "../x", "a/b", ".x", "-x", "host", "none", "private", "default", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rt_net_name_valid(bad[i]))
            fail_msg("accepted network name \"%s\"", bad[i]);
}

/* an alias becomes a word of a line in dnsname's hosts file */
static void test_aliases(void **state)
{
    (void)state;
    static const char *const good[] = {"db", "api.v2", "front-end_1", "Host.nrun.internal.x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!rt_net_alias_valid(good[i]))
            fail_msg("refused alias \"%s\"", good[i]);
    static const char *const bad[] = {"", "a b", "a\nb", "a\n10.0.0.1 db", "a\tb", "a#b", "a;b", "a/b",
                                      "localhost", "LocalHost.", "host.nrun.internal", "host.docker.internal..",
                                      "HOST.DOCKER.INTERNAL"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rt_net_alias_valid(bad[i]))
            fail_msg("accepted alias \"%s\"", bad[i]);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_false(rt_net_alias_valid(big));
    big[253] = 0;
    assert_true(rt_net_alias_valid(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_ip),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_aliases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
