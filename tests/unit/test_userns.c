/* The subordinate id files a rootless nbuild reads (runtime/userns.c): the
 * caller's first well-formed range by name or uid; anything malformed is
 * skipped, never half-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

/* rt_subid_range on a copy of text: 1 and the range, or 0 */
static int range(const char *text, const char *name, unsigned long id, unsigned long *s, unsigned long *n)
{
    char *t = strdup(text);
    *s = *n = 0;
    int r = rt_subid_range(t, name, id, s, n);
    free(t);
    return r;
}

static void test_found(void **state)
{
    (void)state;
    unsigned long s, n;
    const char *f = "alice:100000:65536\nbob:165536:65536\n1003:231072:1000\n";
    assert_int_equal(range(f, "bob", 1002, &s, &n), 1);
    assert_int_equal(s, 165536);
    assert_int_equal(n, 65536);
    /* by uid when the name is not there, or when there is no name */
    assert_int_equal(range(f, "carol", 1003, &s, &n), 1);
    assert_int_equal(s, 231072);
    assert_int_equal(range(f, NULL, 1003, &s, &n), 1);
    assert_int_equal(n, 1000);
    /* the first of several ranges */
    assert_int_equal(range("bob:5:10\nbob:20:30\n", "bob", 1, &s, &n), 1);
    assert_int_equal(s, 5);
    /* no newline at the end, the last id of 32 bits */
    assert_int_equal(range("bob:4294967293:1", "bob", 1, &s, &n), 1);
    assert_int_equal(s, 4294967293UL);
}

static void test_absent_or_malformed(void **state)
{
    (void)state;
    unsigned long s, n;
    assert_int_equal(range("", "bob", 1, &s, &n), 0);
    assert_int_equal(range("alice:100000:65536\n", "bob", 1, &s, &n), 0);
    /* a name that is a prefix, or has it as a prefix, is another user */
    assert_int_equal(range("bo:1:2\nbobby:1:2\n", "bob", 1, &s, &n), 0);
    static const char *const bad[] = {
        "bob:100000\n",       "bob::65536\n",         "bob:100000:\n",       "bob:-1:65536\n",
        "bob: 100000:65536\n", "bob:+100000:65536\n", "bob:100000:0\n",      "bob:1e5:65536\n",
        "bob:100000:65536x\n", "bob:100000:65536\r\n", "bob:4294967295:1\n", "bob:4294967294:2\n",
        "bob:99999999999:1\n", "bob:100000:18446744073709551617\n", ":100000:65536\n", "bob:1:2:3\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (range(bad[i], "bob", 1, &s, &n) != 0)
            fail_msg("accepted: %s", bad[i]);
    }
    /* a malformed line does not hide a good one after it */
    assert_int_equal(range("bob:x:1\nbob:7:8\n", "bob", 1, &s, &n), 1);
    assert_int_equal(s, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_absent_or_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
