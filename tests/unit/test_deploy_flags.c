/* The run flags of a deploy's next revision (cli/deploy_flags.c): the stored
 * flags parsed again with run's table whatever form they were given in, the
 * ports as bound now, the overrides taking the place of what they replace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/deploy.h"

static nr_global g = {.root = "/nonexistent", .prog = "nrun"};

/* the flags as one line, for one comparison that shows the whole difference */
static void expect(const nr_dep_flags *f, const char *want)
{
    char got[4096] = "";
    for (size_t i = 0; i < f->n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", f->v[i]);
    assert_string_equal(got, want);
}

static void test_canonical(void **state)
{
    (void)state;
    json_t *stored = json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "--rm", "-dP", "-eA=1", "-p8080:3000", "--name", "web", "-v",
                               "/a:/data:ro", "-i", "4", "--cidfile=/x", "--metrics", "9100", "-m64m", "-uapp");
    json_t *ports = json_pack("[{s:s,s:i,s:i,s:s},{s:s,s:i,s:i,s:s}]", "address", "", "host", 49153, "container", 3000,
                              "proto", "tcp", "address", "::1", "host", 8125, "container", 8125, "proto", "udp");
    nr_dep_flags over = {0}, out = {0};
    nr_err e = {0};
    assert_int_equal(nr_dep_run_args(&g, stored, NULL, NULL, ports, &over, &out, &e), 0);
    expect(&out, "--rm --env A=1 --volume /a:/data:ro --workers 4 --metrics 9100 --memory 64m --user app "
                 "--publish 49153:3000/tcp --publish [::1]:8125:8125/udp");
    nr_dep_flags_free(&out);
    /* an override of the same container path replaces that volume; -p replaces the ports */
    nr_dep_flags_add(&over, "--volume");
    nr_dep_flags_add(&over, "vol:/data");
    nr_dep_flags_add(&over, "--publish");
    nr_dep_flags_add(&over, "9000:3000");
    assert_int_equal(nr_dep_run_args(&g, stored, NULL, NULL, ports, &over, &out, &e), 0);
    expect(&out, "--rm --env A=1 --workers 4 --metrics 9100 --memory 64m --user app");
    nr_dep_flags_free(&out);
    nr_dep_flags_free(&over);
    json_decref(stored);
    json_decref(ports);
}

static void test_overrides_take(void **state)
{
    (void)state;
    nr_dep_flags f = {0};
    assert_true(nr_dep_flag_take('e', "K=V", &f));
    assert_true(nr_dep_flag_take('P', NULL, &f));
    /* the ones a deploy sets itself are not run's to take here */
    assert_false(nr_dep_flag_take('d', NULL, &f));
    assert_false(nr_dep_flag_take('i', NULL, &f));
    assert_false(nr_dep_flag_take('t', NULL, &f));
    assert_false(nr_dep_flag_take(-5, NULL, &f));
    expect(&f, "--env K=V --publish-all");
    nr_dep_flags_free(&f);
    nr_opt buf[200];
    static const nr_opt own[] = {{"watch", NR_OPT_LONG + 0x80, required_argument, "T", "x"}, {0}};
    const nr_opt *t = nr_dep_opts(own, buf, 200);
    assert_string_equal(t[0].name, "watch");
    bool env = false;
    for (; t->name || t->key; t++) {
        env |= t->key == 'e';
        assert_true(strcmp(t->name, "name") && strcmp(t->name, "cidfile") && strcmp(t->name, "rm") &&
                    strcmp(t->name, "detach"));
    }
    assert_true(env);
}

static void test_hostile(void **state)
{
    (void)state;
    nr_dep_flags over = {0}, out = {0};
    nr_err e = {0};
    const char *bad[] = {"[1]", "[\"--bogus\"]", "[\"-e\"]", "[null]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *stored = json_loads(bad[i], 0, NULL);
        json_t *ports = json_array();
        memset(&e, 0, sizeof e);
        if (nr_dep_run_args(&g, stored, NULL, NULL, ports, &over, &out, &e) == 0)
            fail_msg("%s accepted", bad[i]);
        assert_true(strstr(e.msg, "args") != NULL);
        nr_dep_flags_free(&out);
        json_decref(stored);
        json_decref(ports);
    }
    /* an operand ends the flags, as for run: what follows is never taken */
    json_t *stored = json_pack("[s,s,s,s]", "-e", "A=1", "img:1", "--privileged");
    json_t *ports = json_array();
    assert_int_equal(nr_dep_run_args(&g, stored, NULL, NULL, ports, &over, &out, &e), 0);
    expect(&out, "--env A=1");
    nr_dep_flags_free(&out);
    json_decref(stored);
    json_decref(ports);
}

/* A stored bare -e K takes K from the serving container's environment, never
 * from the deployer's; K not set there is dropped (docker drops an unset K). */
static void test_bare_env(void **state)
{
    (void)state;
    json_t *stored = json_pack("[s,s,s,s,s]", "-e", "TOKEN", "--env=GONE", "-eB=2", "img");
    json_t *ports = json_array();
    char *old_env[] = {"PATH=/usr/bin", "TOKEN=orig", "TOKENX=no", NULL};
    nr_dep_flags over = {0}, out = {0};
    nr_err e = {0};
    setenv("TOKEN", "deployers", 1);
    setenv("GONE", "deployers", 1);
    assert_int_equal(nr_dep_run_args(&g, stored, NULL, old_env, ports, &over, &out, &e), 0);
    expect(&out, "--env TOKEN=orig --env B=2");
    nr_dep_flags_free(&out);
    assert_int_equal(nr_dep_run_args(&g, stored, NULL, NULL, ports, &over, &out, &e), 0);
    expect(&out, "--env B=2");
    nr_dep_flags_free(&out);
    unsetenv("TOKEN");
    unsetenv("GONE");
    json_decref(stored);
    json_decref(ports);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_bare_env),
        cmocka_unit_test(test_overrides_take),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
