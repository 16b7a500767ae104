/* builder/zeroconf.c: engines.node ranges, quoting, the generated recipe. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/parse.h"
#include "builder/zeroconf.h"
#include "common/util.h"

static int sat(const char *range, const char *ver)
{
    nr_err e;
    int r = bld_semver_satisfies(range, ver, &e);
    if (r < 0)
        fail_msg("%s: %s", range, e.msg);
    return r;
}

static void test_semver_ranges(void **state)
{
    (void)state;
    assert_true(sat(">=18", "20.1.0"));
    assert_false(sat(">=18", "16.20.2"));
    assert_true(sat(">= 18", "18.0.0"));
    assert_true(sat("^20", "20.19.0"));
    assert_false(sat("^20", "21.0.0"));
    assert_false(sat("^20.5", "20.4.9"));
    assert_true(sat("20.x", "20.0.0"));
    assert_false(sat("20.x", "22.1.0"));
    assert_true(sat("20.X.x", "20.3.1"));
    assert_true(sat("18 || 20", "20.2.0"));
    assert_true(sat("18 || 20", "18.2.0"));
    assert_false(sat("18 || 20", "22.2.0"));
    assert_true(sat(">=18 <21", "20.9.9"));
    assert_false(sat(">=18 <21", "21.0.0"));
    assert_false(sat(">20", "20.9.0")); /* >20 is >=21.0.0 */
    assert_true(sat(">20", "21.0.0"));
    assert_true(sat("<=20", "20.9.0")); /* <=20 is <21.0.0 */
    assert_false(sat("<=20.1.0", "20.1.1"));
    assert_true(sat("~20.1", "20.1.9"));
    assert_false(sat("~20.1", "20.2.0"));
    assert_true(sat("18 - 20", "20.5.0"));
    assert_false(sat("18 - 20", "22.0.0"));
    assert_true(sat("*", "24.0.0"));
    assert_true(sat("", "24.0.0"));
    assert_true(sat("v20.11.1", "20.11.1"));
    assert_false(sat("=20.11.1", "20.11.2"));
    assert_true(sat("^0.10 || >=16.0.0-0", "16.1.0"));
    nr_err e;
    const char *bad[] = {"foo", ">>=18", "18 -", ">=", "20.1.2.3", "^a", "20 - x y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (bld_semver_satisfies(bad[i], "20.0.0", &e) != -1)
            fail_msg("%s parsed", bad[i]);
    char longr[400];
    memset(longr, '1', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    assert_int_equal(bld_semver_satisfies(longr, "20.0.0", &e), -1);
}

static void test_semver_pick(void **state)
{
    (void)state;
    const char *v[] = {"18.20.4", "24.1.0", "20.19.0", "22.11.0"};
    nr_err e;
    assert_int_equal(bld_semver_pick(">=18", v, 4, &e), 1);
    assert_int_equal(bld_semver_pick("^20", v, 4, &e), 2);
    assert_int_equal(bld_semver_pick("18 || 20", v, 4, &e), 2);
    assert_int_equal(bld_semver_pick(">=18 <21", v, 4, &e), 2);
    assert_int_equal(bld_semver_pick("18.x", v, 4, &e), 0);
    assert_int_equal(bld_semver_pick("<14", v, 4, &e), -1);
    assert_non_null(strstr(e.msg, "\"<14\""));
    /* a range with a newline is quoted on one line in the error */
    assert_int_equal(bld_semver_pick("x\nFROM evil", v, 4, &e), -1);
    assert_null(strchr(e.msg, '\n'));
}

static void test_json_quote(void **state)
{
    (void)state;
    char *q = bld_json_quote("a\"b\\c\nd\x01");
    assert_string_equal(q, "\"a\\\"b\\\\c\\nd\\u0001\"");
    free(q);
    q = bld_json_quote("\xff\xfe");
    assert_null(strchr(q, '\xff'));
    free(q);
}

/* Write package.json (and optional lock file) into a fresh dir, generate. */
static int gen(const char *pkg, const char *lock, char **out, nr_err *e)
{
    char dir[] = "/tmp/nrun-zc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *p = nr_xasprintf("%s/package.json", dir);
    FILE *f = fopen(p, "w");
    fputs(pkg, f);
    fclose(f);
    char *l = NULL;
    if (lock) {
        l = nr_xasprintf("%s/%s", dir, lock);
        f = fopen(l, "w");
        fputs(lock[0] == 'y' ? "# yarn lockfile v1\n" : "{}\n", f);
        fclose(f);
    }
    char *shown = NULL;
    *out = NULL;
    int r = bld_zeroconf_nodefile(dir, out, &shown, e);
    free(shown);
    unlink(p);
    if (l)
        unlink(l);
    free(p);
    free(l);
    rmdir(dir);
    return r;
}

/* The recipe parses as a Nodefile, and hostile values stay inside one JSON string. */
static void parses(const char *text)
{
    bld_nodefile nf;
    nr_err e;
    if (bld_parse("recipe", text, strlen(text), &nf, &e) < 0)
        fail_msg("%s\n%s", e.msg, text);
    bld_nodefile_free(&nf);
}

static void test_recipe(void **state)
{
    (void)state;
    char *t;
    nr_err e;
    assert_int_equal(gen("{\"engines\":{\"node\":\"^20\"},\"scripts\":{\"start\":\"node s.js\",\"build\":\"tsc\"}}",
                         "package-lock.json", &t, &e),
                     0);
    parses(t);
    assert_non_null(strstr(t, "FROM node:20 AS deps\n"));
    assert_non_null(strstr(t, "RUN --mount=type=cache,target=/root/.npm mkdir -p node_modules && npm ci\n"));
    assert_non_null(strstr(t, "RUN npm run build\n"));
    assert_non_null(strstr(t, "RUN npm prune --omit=dev\n"));
    assert_non_null(strstr(t, "FROM node:20-slim\nENV NODE_ENV=production\n"));
    assert_non_null(strstr(t, "USER node\n"));
    assert_non_null(strstr(t, "CMD [\"npm\", \"start\"]\n"));
    assert_null(strstr(t, "\nEXPOSE"));
    assert_null(strstr(t, "tsc")); /* scripts never reach the text */
    free(t);
    /* yarn classic, no build script, main */
    assert_int_equal(gen("{\"main\":\"lib/app.js\"}", "yarn.lock", &t, &e), 0);
    parses(t);
    assert_non_null(strstr(t, "yarn install --frozen-lockfile\n"));
    assert_null(strstr(t, "run build"));
    assert_non_null(strstr(t, "CMD [\"node\", \"./lib/app.js\"]\n"));
    free(t);
    assert_int_equal(gen("{}", "pnpm-lock.yaml", &t, &e), 0);
    assert_non_null(strstr(t, "pnpm install --frozen-lockfile"));
    assert_non_null(strstr(t, "CMD [\"node\", \"./index.js\"]\n"));
    free(t);
    /* a hostile main: quoted into the exec form, never a new line */
    assert_int_equal(gen("{\"main\":\"a\\\"]\\u0020x $(id) `id`.js\"}", NULL, &t, &e), 0);
    parses(t);
    assert_non_null(strstr(t, "CMD [\"node\", \"./a\\\"] x $(id) `id`.js\"]\n"));
    assert_non_null(strstr(t, "npm install\n"));
    free(t);
    const char *bad[] = {"{\"main\":\"a\\nRUN x\"}", "{\"main\":\"/etc/x\"}", "{\"main\":\"../x\"}", "{\"main\":3}",
                         "[]", "{\"a\":", "{\"engines\":{\"node\":18}}", "{\"scripts\":\"x\"}",
                         "{\"engines\":{\"node\":\"<4\"}}", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (gen(bad[i], NULL, &t, &e) != -1)
            fail_msg("%s accepted:\n%s", bad[i], t);
        assert_non_null(strstr(e.msg, "package.json"));
        assert_null(strchr(e.msg, '\n'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semver_ranges),
        cmocka_unit_test(test_semver_pick),
        cmocka_unit_test(test_json_quote),
        cmocka_unit_test(test_recipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
