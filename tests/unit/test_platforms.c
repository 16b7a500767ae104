/* img_index_parse (images/platforms.c): the checks every multi-platform
 * index passes before the store keeps it or a command follows it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/image.h"

#define MT_M "application/vnd.oci.image.manifest.v1+json"
#define D(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
             c c c c c c c c c c c c c c c c

static int parse(const char *text, const char *self, img_index **x, nr_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    int r = img_index_parse(j, self, "idx", x, err);
    json_decref(j);
    return r;
}

static void test_two_platforms(void **st)
{
    (void)st;
    img_index *x = NULL;
    nr_err err = {0};
    assert_int_equal(parse("{\"schemaVersion\":2,\"manifests\":["
                           "{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("a") "\",\"size\":10,"
                           "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                           "{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("b") "\",\"size\":11,"
                           "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                           "{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("c") "\",\"size\":12}]}",
                           NULL, &x, &err),
                     0);
    assert_int_equal(x->n, 3);
    assert_int_equal(x->chosen, 1);
    assert_string_equal(x->p[0].name, "linux/arm64/v8");
    assert_string_equal(x->p[1].name, "linux/amd64");
    assert_string_equal(x->p[2].name, "unknown");
    assert_int_equal(x->p[1].manifest.size, 11);
    free(x);
}

static void test_refused(void **st)
{
    (void)st;
    img_index *x = NULL;
    nr_err err = {0};
    /* nested */
    assert_int_equal(parse("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                           "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"" D("a") "\",\"size\":1,"
                           "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
                           NULL, &x, &err),
                     -1);
    assert_non_null(strstr(err.msg, "nested indexes are not supported"));
    /* itself */
    assert_int_equal(parse("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("a")
                           "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
                           D("a"), &x, &err),
                     -1);
    assert_non_null(strstr(err.msg, "points at the index itself"));
    /* no linux/amd64, an empty list, a bad platform, a wrong schemaVersion */
    assert_int_equal(parse("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("a")
                           "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}",
                           NULL, &x, &err),
                     -1);
    assert_non_null(strstr(err.msg, "no linux/amd64 image"));
    assert_int_equal(parse("{\"schemaVersion\":2,\"manifests\":[]}", NULL, &x, &err), -1);
    assert_int_equal(parse("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("a")
                           "\",\"size\":1,\"platform\":\"linux/amd64\"}]}",
                           NULL, &x, &err),
                     -1);
    assert_non_null(strstr(err.msg, "platform is not an object"));
    assert_int_equal(parse("{\"schemaVersion\":1,\"manifests\":[]}", NULL, &x, &err), -1);
    assert_null(x);
}

static void test_duplicates_and_bound(void **st)
{
    (void)st;
    img_index *x = NULL;
    nr_err err = {0};
    const char *amd = "{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("a") "\",\"size\":1,"
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}";
    char buf[65536];
    snprintf(buf, sizeof buf, "{\"schemaVersion\":2,\"manifests\":[%s,%s]}", amd, amd);
    assert_int_equal(parse(buf, NULL, &x, &err), 0);
    assert_int_equal(x->p[0].dup_of, -1);
    assert_int_equal(x->p[1].dup_of, 0);
    free(x);
    x = NULL;
    snprintf(buf, sizeof buf,
             "{\"schemaVersion\":2,\"manifests\":[%s,{\"mediaType\":\"" MT_M "\",\"digest\":\"" D("a")
             "\",\"size\":2}]}",
             amd);
    assert_int_equal(parse(buf, NULL, &x, &err), -1);
    assert_non_null(strstr(err.msg, "again (as manifests[0]) with another size"));
    size_t n = snprintf(buf, sizeof buf, "{\"schemaVersion\":2,\"manifests\":[");
    for (int i = 0; i <= IMG_INDEX_MAX; i++)
        n += snprintf(buf + n, sizeof buf - n, "%s%s", i ? "," : "", amd);
    snprintf(buf + n, sizeof buf - n, "]}");
    assert_int_equal(parse(buf, NULL, &x, &err), -1);
    assert_non_null(strstr(err.msg, "at most 64"));
    assert_null(x);
}

static void test_is_index(void **st)
{
    (void)st;
    json_t *a = json_loads("{\"manifests\":[]}", 0, NULL);
    json_t *b = json_loads("{\"manifests\":[],\"layers\":[]}", 0, NULL);
    json_t *c = json_loads("{\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\"}", 0, NULL);
    assert_true(img_json_is_index(a));
    assert_false(img_json_is_index(b));
    assert_true(img_json_is_index(c));
    assert_false(img_json_is_index(NULL));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_platforms),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_duplicates_and_bound),
        cmocka_unit_test(test_is_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
