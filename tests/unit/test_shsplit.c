/* sv_shell_split: a command line that is one simple command splits into the
 * words sh would give exec; anything sh would do more with is refused, with
 * the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/supervisor/sv_internal.h"

/* Split `line` and compare with the NULL-terminated `want` (and its
 * assignment flags: a string of '1'/'0', one per word). */
static void check(const char *line, const char *flags, const char *const *want)
{
    bool *assign;
    const char *why;
    char **w = sv_shell_split(line, &assign, &why);
    assert_non_null(w);
    assert_null(why);
    size_t i = 0;
    for (; want[i]; i++) {
        assert_non_null(w[i]);
        assert_string_equal(w[i], want[i]);
        assert_int_equal(assign[i], flags[i] == '1');
    }
    assert_null(w[i]);
    for (i = 0; w[i]; i++)
        free(w[i]);
    free(w);
    free(assign);
}

static void refused(const char *line, const char *reason)
{
    bool *assign;
    const char *why;
    assert_null(sv_shell_split(line, &assign, &why));
    assert_non_null(why);
    assert_string_equal(why, reason);
    assert_null(assign);
}

static void test_words_quotes_escapes(void **state)
{
    check("node server.js", "00", (const char *const[]){"node", "server.js", NULL});
    check("  node\t server.js  \n", "00", (const char *const[]){"node", "server.js", NULL});
    check("node 'a b' \"c d\" e\\ f ''", "00000", (const char *const[]){"node", "a b", "c d", "e f", "", NULL});
    check("node \"a\\\"b\\\\c\\d\"", "00", (const char *const[]){"node", "a\"b\\c\\d", NULL});
    check("node 'it''s' x'y'z", "000", (const char *const[]){"node", "its", "xyz", NULL});
    /* NAME=value is flagged wherever it is; only leading ones are assignments (resolve.c) */
    check("node --title={a} a=b", "001", (const char *const[]){"node", "--title={a}", "a=b", NULL});
}

static void test_assignments(void **state)
{
    check("PORT=3000 NODE_ENV=production node s.js", "1100",
          (const char *const[]){"PORT=3000", "NODE_ENV=production", "node", "s.js", NULL});
    check("A='x y' B=\"1 2\" node", "110", (const char *const[]){"A=x y", "B=1 2", "node", NULL});
    /* not a name before '=': a plain word */
    check("'A'=1 1A=2 a.b=3 =4", "0000", (const char *const[]){"A=1", "1A=2", "a.b=3", "=4", NULL});
}

static void test_refused(void **state)
{
    refused("npm run build && node s.js", "'&&'");
    refused("node a || node b", "'||'");
    refused("node a | cat", "a pipe '|'");
    refused("node a; node b", "';'");
    refused("node a &", "'&'");
    refused("node a > log", "a redirection");
    refused("node a 2>&1", "a redirection");
    refused("(node a)", "a subshell '('");
    refused("node $FILE", "a '$' expansion");
    refused("node \"$FILE\"", "a '$' expansion");
    refused("node `which x`", "a '`' command substitution");
    refused("node *.js", "a glob pattern");
    refused("node ~/a.js", "a '~' expansion");
    refused("node a # comment", "a comment");
    refused("node a\nnode b", "more than one line");
    refused("node 'a", "an unterminated quote");
    refused("node \"a", "an unterminated quote");
    refused("node a\\", "a line continuation");
    refused("   ", "no command");
    refused("", "no command");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_quotes_escapes),
        cmocka_unit_test(test_assignments),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
