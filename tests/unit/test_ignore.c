/* .dockerignore semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "builder/ignore.h"
#include "common/util.h"

static bld_ignore *ig_of(const char *text)
{
    bld_ignore *ig = NULL;
    nr_err e;
    if (bld_ignore_parse(".dockerignore", text, &ig, &e) < 0)
        fail_msg("parse: %s", e.msg);
    return ig;
}

#define IN(ig, p) assert_false(bld_ignore_match(ig, p))
#define OUT(ig, p) assert_true(bld_ignore_match(ig, p))

static void test_basic(void **state)
{
    bld_ignore *ig = ig_of("# comment\n\nnode_modules\n*.log\n/tmp/\n./build/../dist\n  spaced  \n");
    OUT(ig, "node_modules");
    OUT(ig, "node_modules/x/y.js");
    IN(ig, "src/node_modules");    /* no ** : only at the top */
    OUT(ig, "a.log");
    IN(ig, "dir/a.log");           /* * does not cross / */
    OUT(ig, "tmp");
    OUT(ig, "tmp/x");
    OUT(ig, "dist/x");
    IN(ig, "build");
    OUT(ig, "spaced");
    IN(ig, "comment");
    IN(ig, "# comment");
    bld_ignore_free(ig);
}

static void test_doublestar_and_classes(void **state)
{
    bld_ignore *ig = ig_of("**/*.md\n**/test/**\nfile?.txt\n[a-c]x\n[!d]y\n**\n!keep/**\n");
    bld_ignore_free(ig);
    ig = ig_of("**/*.md\n**/test\nfile?.txt\n[a-c]x\n[!d]y\nlit\\*\n");
    OUT(ig, "README.md");
    OUT(ig, "a/b/c/NOTES.md");
    OUT(ig, "test");
    OUT(ig, "pkg/test/x.js");
    OUT(ig, "file1.txt");
    IN(ig, "file12.txt");
    IN(ig, "file/.txt");
    OUT(ig, "bx");
    IN(ig, "dx");
    OUT(ig, "ey");
    IN(ig, "dy");
    OUT(ig, "lit*");
    IN(ig, "litx");
    IN(ig, "md");
    bld_ignore_free(ig);
}

static void test_exceptions_last_wins(void **state)
{
    bld_ignore *ig = ig_of("*.md\n!README.md\nREADME*\n");
    OUT(ig, "a.md");
    OUT(ig, "README.md"); /* the last match wins */
    bld_ignore_free(ig);
    ig = ig_of("*.md\nREADME*\n!README.md\n");
    IN(ig, "README.md");
    OUT(ig, "READMEx");
    bld_ignore_free(ig);
    ig = ig_of("docs\n!docs/keep.txt\n");
    OUT(ig, "docs");
    OUT(ig, "docs/other");
    IN(ig, "docs/keep.txt");
    assert_false(bld_ignore_skip_dir(ig, "docs")); /* an exception lives below */
    bld_ignore_free(ig);
    ig = ig_of("node_modules\n!src/keep\n");
    assert_true(bld_ignore_skip_dir(ig, "node_modules"));
    assert_false(bld_ignore_skip_dir(ig, "src"));
    bld_ignore_free(ig);
    ig = ig_of("*\n!**/keep.js\n");
    assert_false(bld_ignore_skip_dir(ig, "a"));
    IN(ig, "a/b/keep.js");
    OUT(ig, "a/b/other.js");
    bld_ignore_free(ig);
    ig = ig_of("a\n!a/b/c\n");
    assert_false(bld_ignore_skip_dir(ig, "a"));
    assert_false(bld_ignore_skip_dir(ig, "a/b"));
    assert_true(bld_ignore_skip_dir(ig, "a/x"));
    bld_ignore_free(ig);
}

static void test_bad(void **state)
{
    bld_ignore *ig = NULL;
    nr_err e;
    assert_int_equal(bld_ignore_parse(".dockerignore", "ok\n!\n", &ig, &e), -1);
    assert_string_equal(e.msg, ".dockerignore:2: illegal exclusion pattern \"!\"");
    /* Odd but valid: must not crash. */
    ig = ig_of("[\n]\n\\\n(\n{}\n$^\n/\n..\n../../x\n****\n*/**/*\n");
    OUT(ig, "[");
    OUT(ig, "(");
    OUT(ig, "{}");
    OUT(ig, "x"); /* "****" matches everything */
    bld_ignore_free(ig);
    ig = ig_of("");
    assert_true(bld_ignore_empty(ig));
    IN(ig, "anything");
    bld_ignore_free(ig);
}


/* Random patterns and paths: never a crash, a parse error names the line. */
static void test_fuzz(void **state)
{
    static const char alphabet[] = "ab/*?[]!^\\.-\n# ";
    unsigned long long r = 0x9e3779b97f4a7c15ULL;
    for (int iter = 0; iter < 5000; iter++) {
        char pat[64], path[32];
        size_t pn = 0, qn = 0;
        for (int i = 0; i < 40; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            pat[pn++] = alphabet[r % (sizeof alphabet - 1)];
        }
        pat[pn] = '\0';
        for (int i = 0; i < 12; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            path[qn++] = "ab/."[r % 4];
        }
        path[qn] = '\0';
        bld_ignore *ig = NULL;
        nr_err e;
        if (bld_ignore_parse(".dockerignore", pat, &ig, &e) < 0) {
            assert_true(!strncmp(e.msg, ".dockerignore:", 14));
            continue;
        }
        (void)bld_ignore_match(ig, path);
        (void)bld_ignore_skip_dir(ig, path);
        bld_ignore_free(ig);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_doublestar_and_classes),
        cmocka_unit_test(test_exceptions_last_wins),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
