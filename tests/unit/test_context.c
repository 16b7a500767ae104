/* Build context: source selection rules, refusals, stat cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/context.h"
#include "common/util.h"

static char dir[256], cache[300];

static void put(const char *rel, const char *content, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *s = strrchr(p, '/');
    *s = '\0';
    nr_err e;
    assert_int_equal(nr_mkdir_p(p, 0755, &e), 0);
    *s = '/';
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(nr_write_all(fd, content, strlen(content)), 0);
    fchmod(fd, mode);
    close(fd);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/test_context.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cache, sizeof cache, "%s.cache", dir);
    put("a.js", "A", 0644);
    put("b.js", "BB", 0755);
    put("src/x/y.txt", "Y", 0600);
    put("src/z.txt", "Z", 0644);
    put("node_modules/m/index.js", "M", 0644);
    put("docs/keep.md", "K", 0644);
    put("docs/drop.md", "D", 0644);
    put(".dockerignore", "node_modules\ndocs\n!docs/keep.md\nspecial\n", 0644);
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/escape", dir);
    assert_int_equal(symlink("/etc", p), 0);
    snprintf(p, sizeof p, "%s/up", dir);
    assert_int_equal(symlink("../", p), 0);
    snprintf(p, sizeof p, "%s/inside", dir);
    assert_int_equal(symlink("src", p), 0);
    put("special/.keep", "", 0644);
    snprintf(q, sizeof q, "%s/special/fifo", dir);
    assert_int_equal(mkfifo(q, 0644), 0);
    return 0;
}

static int teardown(void **state)
{
    nr_err e;
    nr_rm_rf(AT_FDCWD, dir, &e);
    nr_rm_rf(AT_FDCWD, cache, &e);
    return 0;
}

static bld_ctx *ctx(void)
{
    bld_ctx *c;
    nr_err e;
    if (bld_ctx_open(dir, cache, &c, &e) < 0)
        fail_msg("%s", e.msg);
    return c;
}

static bld_item *find(bld_sel *s, const char *dest)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i].dest, dest))
            return &s->items[i];
    return NULL;
}

static void sel_ok(bld_ctx *c, const char *src, const char *dest, bool dir_dest, bld_sel *s)
{
    char *srcs[] = {(char *)src};
    size_t bad;
    nr_err e;
    if (bld_ctx_select(c, srcs, 1, dest, dir_dest, false, s, &bad, &e) < 0)
        fail_msg("select %s: %s", src, e.msg);
}

static void sel_bad(bld_ctx *c, const char *src, const char *msg)
{
    char *srcs[] = {(char *)src};
    size_t bad = 99;
    nr_err e;
    bld_sel s = {0};
    assert_int_equal(bld_ctx_select(c, srcs, 1, "/dst", true, false, &s, &bad, &e), -1);
    assert_int_equal(bad, 0);
    assert_string_equal(e.msg, msg);
}

static void test_copy_rules(void **state)
{
    bld_ctx *c = ctx();
    bld_sel s = {0};
    sel_ok(c, "a.js", "/app/", true, &s);
    assert_int_equal(s.n, 1);
    assert_non_null(find(&s, "/app/a.js"));
    bld_sel_free(&s);
    sel_ok(c, "a.js", "/app/main.js", false, &s);
    assert_non_null(find(&s, "/app/main.js"));
    bld_sel_free(&s);
    /* A directory: its contents, not itself; the ignore file applies. */
    sel_ok(c, ".", "/app", false, &s);
    assert_non_null(find(&s, "/app"));
    assert_non_null(find(&s, "/app/src/x/y.txt"));
    assert_int_equal(find(&s, "/app/src/x/y.txt")->mode, 0600);
    assert_int_equal(find(&s, "/app/b.js")->mode, 0755);
    assert_null(find(&s, "/app/node_modules"));
    assert_null(find(&s, "/app/docs/drop.md"));
    assert_non_null(find(&s, "/app/docs/keep.md"));
    assert_null(find(&s, "/app/special"));
    bld_sel_free(&s);
    sel_ok(c, "src", "/s", false, &s);
    assert_non_null(find(&s, "/s/z.txt"));
    assert_null(find(&s, "/s/src"));
    bld_sel_free(&s);
    /* Globs, and a symlink that stays inside. */
    sel_ok(c, "*.js", "/g/", true, &s);
    assert_int_equal(s.n, 2);
    bld_sel_free(&s);
    sel_ok(c, "inside/z.txt", "/i", false, &s);
    assert_non_null(find(&s, "/i"));
    bld_sel_free(&s);
    bld_ctx_free(c);
}

static void test_refusals(void **state)
{
    bld_ctx *c = ctx();
    sel_bad(c, "../x", "source ../x is outside the build context");
    sel_bad(c, "src/../../x", "source src/../../x is outside the build context");
    sel_bad(c, "/etc/passwd", "source /etc/passwd is outside the build context");
    sel_bad(c, "escape/passwd", "source escape/passwd is outside the build context (through a symlink)");
    sel_bad(c, "up/x", "source up/x is outside the build context (through a symlink)");
    sel_bad(c, "missing.js", "source missing.js not found in the build context");
    sel_bad(c, "node_modules/m/index.js", "source node_modules/m/index.js is excluded by the ignore file");
    sel_bad(c, "*.nothing", "no source files match *.nothing");
    sel_bad(c, "https://example.com/x", "COPY source can not be a URL (https://example.com/x)");
    char msg[512];
    snprintf(msg, sizeof msg, "source special/fifo is excluded by the ignore file");
    sel_bad(c, "special/fifo", msg);
    bld_ctx_free(c);
    /* Without the ignore rule, the fifo is refused by type, never opened. */
    put(".dockerignore", "", 0644);
    c = ctx();
    sel_bad(c, "special/fifo", "source special/fifo: cannot copy a fifo");
    bld_sel s0 = {0};
    char *dot[] = {"special"};
    size_t bad0;
    nr_err e0;
    assert_int_equal(bld_ctx_select(c, dot, 1, "/x", false, false, &s0, &bad0, &e0), -1);
    snprintf(msg, sizeof msg, "%s/special/fifo: cannot copy a fifo", dir);
    assert_string_equal(e0.msg, msg);
    put(".dockerignore", "node_modules\ndocs\n!docs/keep.md\nspecial\n", 0644);
    /* Two sources need a directory destination. */
    char *two[] = {"a.js", "b.js"};
    size_t bad;
    nr_err e;
    bld_sel s = {0};
    assert_int_equal(bld_ctx_select(c, two, 2, "/x", false, false, &s, &bad, &e), -1);
    assert_int_equal(bad, 2);
    assert_non_null(strstr(e.msg, "must be a directory"));
    bld_ctx_free(c);
}

static void test_stat_cache(void **state)
{
    nr_err e;
    bld_ctx *c = ctx();
    bld_sel s = {0};
    sel_ok(c, ".", "/app", false, &s);
    char d1[65];
    assert_int_equal(bld_sel_digest(c, &s, d1, &e), 0);
    bld_sel_free(&s);
    assert_true(bld_ctx_files_read(c) > 0);
    assert_int_equal(bld_ctx_save(c, &e), 0);
    bld_ctx_free(c);
    /* A second run reads nothing and gets the same digest. */
    c = ctx();
    sel_ok(c, ".", "/app", false, &s);
    char d2[65];
    assert_int_equal(bld_sel_digest(c, &s, d2, &e), 0);
    bld_sel_free(&s);
    assert_int_equal(bld_ctx_files_read(c), 0);
    assert_string_equal(d1, d2);
    bld_ctx_free(c);
    /* A change (same size) is seen through ctime/mtime, and changes the digest. */
    put("a.js", "Q", 0644);
    c = ctx();
    sel_ok(c, ".", "/app", false, &s);
    assert_int_equal(bld_sel_digest(c, &s, d2, &e), 0);
    bld_sel_free(&s);
    assert_int_equal(bld_ctx_files_read(c), 1);
    assert_string_not_equal(d1, d2);
    bld_ctx_free(c);
    /* A mode change alone changes the digest too. */
    char p[512];
    snprintf(p, sizeof p, "%s/a.js", dir);
    chmod(p, 0600);
    c = ctx();
    sel_ok(c, ".", "/app", false, &s);
    char d3[65];
    assert_int_equal(bld_sel_digest(c, &s, d3, &e), 0);
    bld_sel_free(&s);
    assert_string_not_equal(d2, d3);
    bld_ctx_free(c);
    /* A garbage cache file is ignored, not trusted. */
    snprintf(p, sizeof p, "%s/statcache", cache);
    int fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    const char junk[] = "zz a 1 2 3 4 5 6 7 /x\n\x01\x02 nonsense\n";
    assert_int_equal(nr_write_all(fd, junk, sizeof junk - 1), 0);
    close(fd);
    c = ctx();
    sel_ok(c, "a.js", "/a", false, &s);
    bld_sel_free(&s);
    assert_int_equal(bld_ctx_files_read(c), 1);
    bld_ctx_free(c);
}

static void test_paths(void **state)
{
    const char *cases[][2] = {{"a/../b", "b"}, {"/../x", "/x"}, {"./a/./b/", "a/b"}, {"", "."},
                              {"../../a", "../../a"}, {"//a//b", "/a/b"}, {"a/b/../../..", ".."}};
    for (size_t i = 0; i < NR_ARRAY_LEN(cases); i++) {
        char *c = bld_path_clean(cases[i][0]);
        assert_string_equal(c, cases[i][1]);
        free(c);
    }
    char *j = bld_path_join("/app", "../etc");
    assert_string_equal(j, "/etc");
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_rules),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_stat_cache),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
