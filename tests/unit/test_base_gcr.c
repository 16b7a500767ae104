/* builder/base_gcr.c: Google's distroless names, resolved against the
 * embedded pins (no store, no network). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/base_gcr.h"
#include "common/util.h"

static void test_known_names(void **state)
{
    (void)state;
    static const char *const ok[][4] = {
        /* ref, kind, tag, canonical */
        {"gcr.io/distroless/nodejs20-debian12", "nodejs", "latest", "gcr.io/distroless/nodejs20-debian12:latest"},
        {"gcr.io/distroless/nodejs22-debian12:nonroot", "nodejs", "nonroot", "gcr.io/distroless/nodejs22-debian12:nonroot"},
        {"gcr.io/distroless/nodejs20-debian11:debug-nonroot-amd64", "nodejs", "debug-nonroot",
         "gcr.io/distroless/nodejs20-debian11:debug-nonroot"},
        {"gcr.io/distroless/nodejs24-debian13:debug@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "nodejs", "debug", "gcr.io/distroless/nodejs24-debian13:debug"},
        {"gcr.io/distroless/static-debian12", "static", "latest", "gcr.io/distroless/static-debian12:latest"},
        {"gcr.io/distroless/base-nossl-debian12:nonroot", "base-nossl", "nonroot",
         "gcr.io/distroless/base-nossl-debian12:nonroot"},
        {"gcr.io/distroless/cc-debian12:latest-amd64", "cc", "latest", "gcr.io/distroless/cc-debian12:latest"},
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(ok); i++) {
        bld_gcr_spec g;
        nr_err err;
        if (bld_gcr_resolve(ok[i][0], &g, &err) != 0)
            fail_msg("%s: %s", ok[i][0], err.msg);
        assert_string_equal(g.kind, ok[i][1]);
        assert_string_equal(g.tag, ok[i][2]);
        assert_string_equal(g.canonical, ok[i][3]);
        assert_int_equal(g.node.flavour, BLD_BASE_DISTROLESS);
    }
    bld_gcr_spec g;
    nr_err err;
    assert_int_equal(bld_gcr_resolve("gcr.io/distroless/nodejs20-debian12:nonroot-amd64", &g, &err), 0);
    assert_string_equal(g.asked, "gcr.io/distroless/nodejs20-debian12:nonroot-amd64");
    assert_string_equal(g.debian, "12");
    assert_true(!strncmp(g.node.version, "20.", 3));
}

static void test_unknown_names(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"gcr.io/distroless/python3-debian12", "not a distroless image nbuild makes"},
        {"gcr.io/distroless/java17-debian12", "not a distroless image nbuild makes"},
        {"gcr.io/distroless/nodejs99-debian12", "node 99 is not a major nbuild pins"},
        {"gcr.io/distroless/nodejs20-debian10", "Debian 11, 12 and 13 only"},
        {"gcr.io/distroless/nodejs20-debian12:debug-arm64", "only linux/amd64"},
        {"gcr.io/distroless/nodejs20-debian12:v2", "not a tag Google publishes"},
        {"gcr.io/distroless/nodejs20-debian12@sha256:abc", "64 lowercase hex"},
        {"gcr.io/distroless/nodejs020-debian12", "not a node major"},
        {"gcr.io/distroless/nodejs20", "KIND-debianMM"},
        {"gcr.io/distroless/", "no image name"},
        {"gcr.io/distroless/nodejs20-debian12:", "empty or too long tag"},
        {"gcr.io/other/nodejs20-debian12", "not a gcr.io/distroless/ name"},
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(bad); i++) {
        bld_gcr_spec g;
        nr_err err;
        assert_int_equal(bld_gcr_resolve(bad[i][0], &g, &err), 1);
        assert_int_equal(err.errnum, ENOENT);
        if (!strstr(err.msg, bad[i][1]) || strncmp(err.msg, bad[i][0], strlen(bad[i][0])))
            fail_msg("%s: got \"%s\"", bad[i][0], err.msg);
    }
    /* control characters never reach the message */
    bld_gcr_spec g;
    nr_err err;
    assert_int_equal(bld_gcr_resolve("gcr.io/distroless/x\n\x1b[31m-debian12", &g, &err), 1);
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\x1b'));
}

static void test_list(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    bld_gcr_list(f);
    fclose(f);
    assert_non_null(strstr(buf, "gcr.io/distroless/nodejs20-debian12:debug gcr.io/distroless/nodejs20-debian12:debug"));
    assert_non_null(strstr(buf, "gcr.io/distroless/static-debian13:nonroot "));
    assert_null(strstr(buf, "python"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_names),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
