/* nr_http_parse / nr_http_param (cli/http.c): the request heads `nrun
 * dashboard` reads from any browser or script, bounded and strict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http.h"

#define P(s, r) nr_http_parse(s, strlen(s), r)

static void test_get(void **st)
{
    (void)st;
    nr_http_req r;
    const char *s = "GET /api/containers?token=a%2Bb&x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                    "Cookie: a=1; nrun_token=tok\r\nX-Nrun-Token:  t1 \r\n\r\nBODY";
    assert_int_equal(P(s, &r), (int)(strstr(s, "BODY") - s));
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.path, "/api/containers");
    assert_string_equal(r.host, "127.0.0.1:8080");
    assert_string_equal(r.token, "t1");
    assert_int_equal(r.content_length, -1);
    char v[64];
    assert_int_equal(nr_http_param(r.query, '&', "token", v, sizeof v), 0);
    assert_string_equal(v, "a+b");
    assert_int_equal(nr_http_param(r.cookie, ';', "nrun_token", v, sizeof v), 0);
    assert_string_equal(v, "tok");
    assert_int_equal(nr_http_param(r.cookie, ';', "nrun", v, sizeof v), -1);
    assert_int_equal(nr_http_param(r.query, '&', "token", v, 3), -1); /* too long for out */
}

static void test_incomplete_and_bad(void **st)
{
    (void)st;
    nr_http_req r;
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: x\r\n", &r), 0);
    assert_int_equal(P("GET / HTTP/1.1\r\nHost x\r\n\r\n", &r), -400);
    assert_int_equal(P("GET x HTTP/1.1\r\n\r\n", &r), -400);
    assert_int_equal(P("GET / FTP/1.0\r\n\r\n", &r), -400);
    assert_int_equal(P("GET / HTTP/1.1\r\nHost: a\x01 b\r\n\r\n", &r), -400);
    assert_int_equal(P("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &r), -400);
    assert_int_equal(P("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", &r), -400);
    assert_int_equal(P("POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", &r), -413);
    assert_int_equal(P("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), -501);
}

static void test_bounds(void **st)
{
    (void)st;
    nr_http_req r;
    size_t n = NR_HTTP_MAX_HEAD + 100;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    memcpy(big, "GET /", 5);
    big[n] = 0;
    assert_int_equal(nr_http_parse(big, n, &r), -431); /* no end of head within the bound */
    /* too many header lines */
    char many[4096] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < NR_HTTP_MAX_HEADERS + 1; i++)
        strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    assert_int_equal(P(many, &r), -431);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_incomplete_and_bad),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
