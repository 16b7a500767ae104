/* --format templates (cli/format.c): "\t" and "\n" typed in a shell argument
 * mean the characters wherever they stand, in the header of a table as in
 * its rows (docker replaces both in the whole template). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char *const heads[] = {"Names", "NAMES", "Status", "STATUS", NULL};

static void header_is(const char *tmpl, const char *want)
{
    char *h = nr_format_header(tmpl, heads);
    assert_string_equal(h, want);
    free(h);
}

static void row_is(const char *tmpl, const char *want)
{
    json_t *row = json_pack("{s:s, s:s}", "Names", "c1", "Status", "Up 2 seconds");
    char *r = nr_format_render(tmpl, row);
    assert_string_equal(r, want);
    free(r);
    json_decref(row);
}

static void test_tab(void **state)
{
    (void)state;
    header_is("{{.Names}}\\t{{.Status}}", "NAMES\tSTATUS");
    row_is("{{.Names}}\\t{{.Status}}", "c1\tUp 2 seconds");
}

static void test_newline_in_header(void **state)
{
    (void)state;
    header_is("{{.Names}}\\n{{.Status}}", "NAMES\nSTATUS");
    row_is("{{.Names}}\\n{{.Status}}", "c1\nUp 2 seconds");
}

static void test_after_last_placeholder(void **state)
{
    (void)state;
    header_is("{{.Names}}\\t{{.Status}}\\tend\\n", "NAMES\tSTATUS\tend\n");
    row_is("{{.Names}}\\t{{.Status}}\\tend\\n", "c1\tUp 2 seconds\tend\n");
    header_is("plain", "plain");
    row_is("a\\tb", "a\tb");
}

static void test_other_escapes_kept(void **state)
{
    (void)state;
    header_is("\\x{{.Names}}\\", "\\xNAMES\\");
    row_is("\\x{{.Names}}\\", "\\xc1\\");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tab),
        cmocka_unit_test(test_newline_in_header),
        cmocka_unit_test(test_after_last_placeholder),
        cmocka_unit_test(test_other_escapes_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
