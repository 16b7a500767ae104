/* nrun compose's reading (cli/compose_load.c, compose_model.c,
 * compose_service.c) and its translation to run's argv (compose_run.c):
 * compose's word splitting and durations, interpolation forms and their
 * errors with file:line:col, the merge of two files, and the argv a
 * service becomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/compose.h"
#include "cli/compose_int.h"

static char dir[] = "/tmp/nrun-test-compose.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* the model of one file's text (NULL and the message in err when refused) */
static json_t *load(const char *text, nr_err *err, cmp_project *p)
{
    const char *f = write_file("compose.yaml", text);
    const char *files[] = {f};
    cmp_opts o = {.files = files, .nfiles = 1, .project_name = "t"};
    memset(err, 0, sizeof *err);
    if (cmp_load(&o, p, err) < 0) {
        cmp_project_free(p);
        return NULL;
    }
    return p->model;
}

static void test_shell_split(void **state)
{
    (void)state;
    json_t *a = cmp_shell_split("sh -c 'echo \"a  b\"' x\\ y \"q\\\"d\" ''");
    char *s = json_dumps(a, JSON_COMPACT);
    assert_string_equal(s, "[\"sh\",\"-c\",\"echo \\\"a  b\\\"\",\"x y\",\"q\\\"d\",\"\"]");
    free(s);
    json_decref(a);
    assert_null(cmp_shell_split("echo 'open"));
    assert_null(cmp_shell_split("echo \"open"));
    a = cmp_shell_split("   ");
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
}

static void test_duration(void **state)
{
    (void)state;
    assert_int_equal(cmp_duration_ms("1m30s"), 90000);
    assert_int_equal(cmp_duration_ms("10"), 10000);
    assert_int_equal(cmp_duration_ms("500ms"), 500);
    assert_int_equal(cmp_duration_ms("1h"), 3600000);
    assert_int_equal(cmp_duration_ms("1.5s"), 1500);
    assert_int_equal(cmp_duration_ms("soon"), -1);
    assert_int_equal(cmp_duration_ms("5x"), -1);
    assert_int_equal(cmp_duration_ms("-1s"), -1);
    assert_int_equal(cmp_duration_ms(""), -1);
    assert_int_equal(cmp_duration_ms("999999h"), -1);
}

static void test_interpolation(void **state)
{
    (void)state;
    setenv("CMP_SET", "v", 1);
    setenv("CMP_EMPTY", "", 1);
    unsetenv("CMP_UNSET");
    cmp_project p;
    nr_err err;
    json_t *m = load("services:\n  s:\n    image: bb\n    environment:\n"
                     "      A: ${CMP_SET:-d}${CMP_EMPTY:-e}${CMP_EMPTY-f}${CMP_UNSET-g}\n"
                     "      B: $$CMP_SET ${CMP_SET:+alt}${CMP_UNSET:+no}\n"
                     "      C: ${CMP_UNSET:-${CMP_SET}x}\n",
                     &err, &p);
    assert_non_null(m);
    json_t *env = json_object_get(json_object_get(json_object_get(m, "services"), "s"), "environment");
    assert_string_equal(json_string_value(json_object_get(env, "A")), "veg");
    assert_string_equal(json_string_value(json_object_get(env, "B")), "$CMP_SET alt");
    assert_string_equal(json_string_value(json_object_get(env, "C")), "vx");
    cmp_project_free(&p);
    /* errors: where, and which variable */
    assert_null(load("services:\n  s:\n    image: ${CMP_UNSET:?needed}\n", &err, &p));
    assert_non_null(strstr(err.msg, "compose.yaml:3:12: required variable CMP_UNSET is missing: needed"));
    assert_null(load("services:\n  s:\n    image: \"${CMP_EMPTY:?}\"\n", &err, &p));
    assert_non_null(strstr(err.msg, "compose.yaml:3:12: required variable CMP_EMPTY is empty"));
    assert_null(load("services:\n  s:\n    image: ${CMP_SET\n", &err, &p));
    assert_non_null(strstr(err.msg, "has no closing }"));
    assert_null(load("services:\n  s:\n    image: ${1X}\n", &err, &p));
    assert_non_null(strstr(err.msg, "expected a variable name"));
    assert_null(load("services:\n  s:\n    image: ${CMP_SET/x/y}\n", &err, &p));
    assert_non_null(strstr(err.msg, "invalid interpolation"));
}

static void test_merge_and_argv(void **state)
{
    (void)state;
    const char *a = write_file("a.yaml", "services:\n  web:\n    image: bb\n    ports: [\"80:80\"]\n"
                                         "    environment: [A=1, B=1]\n    command: [one]\n");
    const char *b = write_file("b.yaml", "services:\n  web:\n    ports: [\"81:81\"]\n    environment: {B: \"2\"}\n"
                                         "    command: two three\n    healthcheck: {test: [CMD, x], interval: 2s}\n"
                                         "    volumes: [data:/d]\n    entrypoint: [/bin/tini, --]\n"
                                         "volumes:\n  data:\n");
    const char *files[] = {a, b};
    cmp_opts o = {.files = files, .nfiles = 2, .project_name = "Pr.Oj"};
    cmp_project p;
    nr_err err = {0};
    assert_int_equal(cmp_load(&o, &p, &err), 0);
    assert_string_equal(p.name, "proj");
    cmp_strv v = {0};
    assert_int_equal(cmp_run_argv(&p, "web", CMP_ARGV_UP, "H", NULL, NULL, 0, &v, &err), 0);
    char line[4096] = "";
    for (size_t i = 0; i < v.n; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "", v.v[i]);
    char want[4096];
    snprintf(want, sizeof want,
             "-d --name=proj-web-1 --label=com.docker.compose.project=proj --label=com.docker.compose.service=web "
             "--label=com.docker.compose.container-number=1 --label=com.docker.compose.oneoff=False "
             "--label=com.docker.compose.project.working_dir=%s --label=com.docker.compose.config-hash=H "
             "--network=proj_default --network-alias=web --publish=80:80 --publish=81:81 --volume=proj_data:/d "
             "--env=A=1 --env=B=2 --health-test=[\"CMD\",\"x\"] --health-interval=2000ms --entrypoint=/bin/tini "
             "bb -- two three",
             dir);
    assert_string_equal(line, want);
    cmp_strv_free(&v);
    /* a one-off: no ports, no fixed name, oneoff=True, the command given */
    char *cmd[] = {"echo", "hi"};
    assert_int_equal(cmp_run_argv(&p, "web", CMP_ARGV_RUN, NULL, NULL, cmd, 2, &v, &err), 0);
    bool ports = false, oneoff = false;
    for (size_t i = 0; i < v.n; i++) {
        ports |= !strncmp(v.v[i], "--publish", 9);
        oneoff |= !strcmp(v.v[i], "--label=com.docker.compose.oneoff=True");
    }
    assert_false(ports);
    assert_true(oneoff);
    assert_string_equal(v.v[v.n - 1], "hi");
    assert_string_equal(v.v[v.n - 2], "echo");
    assert_string_equal(v.v[v.n - 3], "--");
    cmp_strv_free(&v);
    cmp_project_free(&p);
}

static void test_order(void **state)
{
    (void)state;
    cmp_project p;
    nr_err err;
    assert_non_null(load("services:\n  a: {image: x, depends_on: [b, c]}\n  b: {image: x, depends_on: [c]}\n"
                         "  c: {image: x}\n  d: {image: x}\n",
                         &err, &p));
    cmp_strv o = {0};
    assert_int_equal(cmp_order(&p, NULL, 0, false, &o, &err), 0);
    assert_int_equal(o.n, 4);
    assert_string_equal(o.v[0], "c");
    assert_string_equal(o.v[1], "b");
    assert_string_equal(o.v[2], "a");
    assert_string_equal(o.v[3], "d");
    cmp_strv_free(&o);
    char *only[] = {"a"};
    assert_int_equal(cmp_order(&p, only, 1, true, &o, &err), 0);
    assert_int_equal(o.n, 1);
    cmp_strv_free(&o);
    cmp_project_free(&p);
    assert_non_null(load("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n", &err, &p));
    assert_int_equal(cmp_order(&p, NULL, 0, false, &o, &err), -1);
    assert_non_null(strstr(err.msg, "a dependency cycle"));
    cmp_strv_free(&o);
    cmp_project_free(&p);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_split),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_merge_and_argv),
        cmocka_unit_test(test_order),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        r = 1;
    return r;
}
