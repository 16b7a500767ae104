#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "builder/base.h"
#include "common/embed.h"

static const char *V = "# pins\n"
                       "NODE_MAJORS=20 22\n"
                       "NODE_20=20.20.2\n"
                       "NODE_22=22.23.3\n";

static void test_resolve_majors_and_versions(void **state)
{
    bld_base_spec sp;
    nr_err e;
    assert_int_equal(bld_base_resolve(V, "node:20", &sp, &e), 0);
    assert_string_equal(sp.major, "20");
    assert_string_equal(sp.version, "20.20.2");
    assert_false(sp.slim);
    assert_string_equal(sp.tag_major, "node:20");
    assert_string_equal(sp.tag_version, "node:20.20.2");

    assert_int_equal(bld_base_resolve(V, "node:22-slim", &sp, &e), 0);
    assert_true(sp.slim);
    assert_string_equal(sp.tag_major, "node:22-slim");
    assert_string_equal(sp.tag_version, "node:22.23.3-slim");

    assert_int_equal(bld_base_resolve(V, "node:20.20.2", &sp, &e), 0);
    assert_string_equal(sp.tag_major, "node:20");
    assert_int_equal(bld_base_resolve(V, "node:22.23.3-slim", &sp, &e), 0);
    assert_true(sp.slim);
}

static void test_resolve_unknown_refs(void **state)
{
    bld_base_spec sp;
    nr_err e;
    const char *bad[] = {"node", "node:latest", "node:18", "node:2", "node:200", "node:20.20.1", "node:20.20.2x",
                         "node:20.20", "node:20-alpine", "node:-slim", "node:", "node:20-slim-slim",
                         "nodejs:20", "docker.io/library/node:20", "node:22.23.3.1", "node:20.20.2-slim2", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bld_base_resolve(V, bad[i], &sp, &e) != 1)
            fail_msg("%s should not be a known base image", bad[i]);
    }
}

static void test_resolve_broken_versions(void **state)
{
    bld_base_spec sp;
    nr_err e;
    assert_int_equal(bld_base_resolve("NODE_20=20.1.0\n", "node:20", &sp, &e), -1);
    assert_non_null(strstr(e.msg, "NODE_MAJORS"));
    assert_int_equal(bld_base_resolve("NODE_MAJORS=20\n", "node:20", &sp, &e), -1);
    assert_non_null(strstr(e.msg, "NODE_20"));
    /* A key that merely starts like another is not it. */
    assert_int_equal(bld_base_resolve("NODE_MAJORS=20\nNODE_200=1\n", "node:20", &sp, &e), -1);
}

static void test_embedded_pins(void **state)
{
    bld_base_spec sp;
    nr_err e;
    assert_non_null(nr_embed_get("images/node/mkbase.sh", NULL));
    assert_int_equal(bld_base_resolve(NULL, "node:20", &sp, &e), 0);
    assert_int_equal(strncmp(sp.version, "20.", 3), 0);
    assert_int_equal(bld_base_resolve(NULL, "node:22-slim", &sp, &e), 0);
    assert_int_equal(strncmp(sp.version, "22.", 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_majors_and_versions),
        cmocka_unit_test(test_resolve_unknown_refs),
        cmocka_unit_test(test_resolve_broken_versions),
        cmocka_unit_test(test_embedded_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
