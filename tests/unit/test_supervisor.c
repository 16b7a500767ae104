/* Supervisor pieces that can be checked without workers: the log line
 * escaping (always valid JSON, whatever a worker prints), duration parsing,
 * the event loop's timers, the default worker count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/supervisor/options.h"
#include "runtime/supervisor/sv_internal.h"

/* Escape `in`, wrap it in quotes, parse it back with jansson: the result must be valid JSON. */
static char *roundtrip(const char *in, size_t n)
{
    char *out = malloc(6 * n + 3);
    out[0] = '"';
    size_t k = sv_json_escape(out + 1, in, n);
    out[k + 1] = '"';
    json_error_t e;
    json_t *j = json_loadb(out, k + 2, JSON_DECODE_ANY, &e);
    free(out);
    if (!j || !json_is_string(j)) {
        json_decref(j);
        return NULL;
    }
    char *r = strndup(json_string_value(j), json_string_length(j));
    json_decref(j);
    return r;
}

static void test_escape_plain_and_specials(void **state)
{
    const char in[] = "say \"hi\"\\ tab\there\r\x01\x1f\x7f end";
    char *r = roundtrip(in, sizeof in - 1);
    assert_non_null(r);
    assert_string_equal(r, in);
    free(r);
}

static void test_escape_utf8_kept_invalid_replaced(void **state)
{
    const char good[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    char *r = roundtrip(good, sizeof good - 1);
    assert_non_null(r);
    assert_string_equal(r, good);
    free(r);
    /* lone continuation, overlong NUL, truncated sequence, stray 0xff */
    const char bad[] = "a\x80" "b\xc0\x80" "c\xe2\x82" "d\xff";
    r = roundtrip(bad, sizeof bad - 1);
    assert_non_null(r);
    assert_string_equal(r, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd");
    free(r);
}

static void test_escape_nul_bytes(void **state)
{
    const char in[] = {'a', 0, 'b'};
    char out[32];
    size_t k = sv_json_escape(out, in, 3);
    assert_int_equal(k, 8);
    assert_memory_equal(out, "a\\u0000b", 8);
}

static void test_durations(void **state)
{
    int ms;
    assert_int_equal(sv_parse_duration_ms("500ms", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(sv_parse_duration_ms("10", &ms), 0);
    assert_int_equal(ms, 10000);
    assert_int_equal(sv_parse_duration_ms("1.5s", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(sv_parse_duration_ms("2m", &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(sv_parse_duration_ms("1h", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(sv_parse_duration_ms("", &ms), -1);
    assert_int_equal(sv_parse_duration_ms("-1s", &ms), -1);
    assert_int_equal(sv_parse_duration_ms("5 s", &ms), -1);
    assert_int_equal(sv_parse_duration_ms("1d", &ms), -1);
    assert_int_equal(sv_parse_duration_ms("1e30", &ms), -1);
}

static int fired[4], nfired;
static void on_timer(void *arg)
{
    fired[nfired++] = (int)(intptr_t)arg;
}

static void test_loop_timers_fire_in_order_and_stop(void **state)
{
    nr_err err = {0};
    assert_int_equal(sv_loop_init(&err), 0);
    sv_timer a = {0}, b = {0}, c = {0};
    sv_timer_start(&a, 30, on_timer, (void *)1);
    sv_timer_start(&b, 10, on_timer, (void *)2);
    sv_timer_start(&c, 20, on_timer, (void *)3);
    sv_timer_stop(&c);
    uint64_t t0 = sv_now_ms();
    while (nfired < 2 && sv_now_ms() - t0 < 2000)
        assert_int_equal(sv_loop_once(NULL, &err), 0);
    assert_int_equal(nfired, 2);
    assert_int_equal(fired[0], 2);
    assert_int_equal(fired[1], 1);
    assert_false(a.armed || b.armed || c.armed);
    sv_loop_fini();
}

static void test_cpu_count(void **state)
{
    int n = sv_cpu_count();
    assert_true(n >= 1 && n <= 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_plain_and_specials),
        cmocka_unit_test(test_escape_utf8_kept_invalid_replaced),
        cmocka_unit_test(test_escape_nul_bytes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_loop_timers_fire_in_order_and_stop),
        cmocka_unit_test(test_cpu_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
