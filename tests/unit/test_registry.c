/* The registry client's pure parts: names as Docker resolves them, loopback
 * hosts, WWW-Authenticate challenges, the registries config file, and
 * Docker's config.json credentials (auths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "images/reg_int.h"
#include "images/registry.h"

static void test_regref_docker_hub(void **state)
{
    img_regref r;
    nr_err e;
    assert_int_equal(img_regref_parse("node:20", &r, &e), 0);
    assert_string_equal(r.host, "docker.io");
    assert_string_equal(r.repo, "library/node");
    assert_string_equal(r.tag, "20");
    assert_string_equal(r.local, "node:20");
    assert_int_equal(img_regref_parse("node", &r, &e), 0);
    assert_string_equal(r.tag, "latest");
    assert_string_equal(r.local, "node:latest");
    assert_int_equal(img_regref_parse("bitnami/node:1", &r, &e), 0);
    assert_string_equal(r.host, "docker.io");
    assert_string_equal(r.repo, "bitnami/node");
    assert_int_equal(img_regref_parse("docker.io/library/node:20", &r, &e), 0);
    assert_string_equal(r.repo, "library/node");
    assert_int_equal(img_regref_parse("docker.io/node:20", &r, &e), 0);
    assert_string_equal(r.repo, "library/node");
    assert_int_equal(img_regref_parse("index.docker.io/x/y:2", &r, &e), 0);
    assert_string_equal(r.host, "docker.io");
    assert_string_equal(r.repo, "x/y");
}

static void test_regref_hosts(void **state)
{
    img_regref r;
    nr_err e;
    assert_int_equal(img_regref_parse("127.0.0.1:5000/team/app:1.2", &r, &e), 0);
    assert_string_equal(r.host, "127.0.0.1:5000");
    assert_string_equal(r.repo, "team/app");
    assert_string_equal(r.tag, "1.2");
    assert_string_equal(r.local, "127.0.0.1:5000/team/app:1.2");
    assert_int_equal(img_regref_parse("localhost/app", &r, &e), 0);
    assert_string_equal(r.host, "localhost");
    assert_string_equal(r.repo, "app");
    assert_int_equal(img_regref_parse("reg.example/app", &r, &e), 0);
    assert_string_equal(r.host, "reg.example");
    /* not a host: no '.', ':' and not localhost */
    assert_int_equal(img_regref_parse("team/app", &r, &e), 0);
    assert_string_equal(r.host, "docker.io");
    assert_true(img_regref_has_host("a.b/c"));
    assert_true(img_regref_has_host("a:1/c"));
    assert_false(img_regref_has_host("node:20"));
    assert_false(img_regref_has_host("team/app"));
}

static void test_regref_digest(void **state)
{
    img_regref r;
    nr_err e;
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char s[200];
    snprintf(s, sizeof s, "reg:5000/app@%s", d);
    assert_int_equal(img_regref_parse(s, &r, &e), 0);
    assert_string_equal(r.digest, d);
    assert_string_equal(r.tag, "");
    assert_string_equal(r.local, "");
    snprintf(s, sizeof s, "reg:5000/app:1@%s", d);
    assert_int_equal(img_regref_parse(s, &r, &e), 0);
    assert_string_equal(r.tag, "1");
    assert_string_equal(r.digest, d);
    assert_int_equal(img_regref_parse("UPPER/x", &r, &e), 0); /* Docker: a host */
    assert_string_equal(r.host, "UPPER");
    assert_int_equal(img_regref_parse("team/UPPER", &r, &e), -1);
    assert_int_equal(img_regref_parse("bad//name", &r, &e), -1);
    assert_int_equal(img_regref_parse("reg:5000/app@sha256:12", &r, &e), -1);
}

static void test_loopback(void **state)
{
    assert_true(img_reg_host_loopback("localhost"));
    assert_true(img_reg_host_loopback("localhost:5000"));
    assert_true(img_reg_host_loopback("127.0.0.1:5000"));
    assert_true(img_reg_host_loopback("127.255.1.2"));
    assert_true(img_reg_host_loopback("[::1]:5000"));
    assert_false(img_reg_host_loopback("128.0.0.1"));
    assert_false(img_reg_host_loopback("127.0.0.1.example.com"));
    assert_false(img_reg_host_loopback("localhost.example.com"));
    assert_false(img_reg_host_loopback("[::2]:5000"));
    assert_false(img_reg_host_loopback("docker.io"));
}

static void test_challenge(void **state)
{
    reg_client *c = nr_xcalloc(1, sizeof *c);
    reg_challenge_parse(c, "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a:pull\"");
    assert_string_equal(c->scheme, "bearer");
    assert_string_equal(c->realm, "https://auth.example/token");
    assert_string_equal(c->service, "registry.example");
    reg_challenge_parse(c, "Basic realm=\"Registry Realm\"");
    assert_string_equal(c->scheme, "basic");
    assert_string_equal(c->realm, "Registry Realm");
    assert_string_equal(c->service, "");
    reg_challenge_parse(c, "bearer realm=https://a/t, service=s");
    assert_string_equal(c->scheme, "bearer");
    assert_string_equal(c->realm, "https://a/t");
    assert_string_equal(c->service, "s");
    reg_challenge_parse(c, "Negotiate");
    assert_string_equal(c->scheme, "unknown");
    /* hostile: unterminated quote, escapes, an overlong value */
    reg_challenge_parse(c, "Bearer realm=\"https://a/\\\"x");
    assert_string_equal(c->realm, "https://a/\"x");
    char *big = nr_xmalloc(10000);
    memset(big, 'a', 9999);
    big[9999] = 0;
    char *v = nr_xasprintf("Bearer realm=\"%s\",service=\"%s\"", big, big);
    reg_challenge_parse(c, v);
    assert_int_equal(strlen(c->realm), sizeof c->realm - 1);
    assert_int_equal(strlen(c->service), 255);
    free(v);
    free(big);
    free(c);
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char p[200];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_file(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nrun-unit-reg.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file("daemon.json", "{\"registry-mirrors\":[\"https://m1\",\"m2:5000\"],\"insecure-registries\":[\"r:1\"]}");
    char p[200];
    snprintf(p, sizeof p, "%s/daemon.json", tmpdir);
    char **m = NULL, **ins = NULL;
    size_t nm = 0, ni = 0;
    nr_err e;
    assert_int_equal(img_reg_config_load(p, &m, &nm, &ins, &ni, &e), 0);
    assert_int_equal(nm, 2);
    assert_string_equal(m[1], "m2:5000");
    assert_int_equal(ni, 1);
    assert_string_equal(ins[0], "r:1");
    for (size_t i = 0; i < nm; i++)
        free(m[i]);
    free(m);
    free(ins[0]);
    free(ins);
    write_file("daemon.json", "{\"registry-mirrors\":\"https://m1\"}");
    m = NULL, nm = 0;
    assert_int_equal(img_reg_config_load(p, &m, &nm, &ins, &ni, &e), -1);
    assert_non_null(strstr(e.msg, "\"registry-mirrors\" is not an array of strings"));
    write_file("daemon.json", "{\"registry-mirrors\": [1");
    assert_int_equal(img_reg_config_load(p, &m, &nm, &ins, &ni, &e), -1);
    assert_non_null(strstr(e.msg, "daemon.json:1:"));
}

static void test_auths(void **state)
{
    /* dXNlcjpwYTpzcw== is base64("user:pa:ss") */
    write_file("config.json", "{\"auths\":{\"https://reg.example:5000/v1/\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
                              "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnB3\"},"
                              "\"bad.example\":{\"auth\":\"!!!\"}}}");
    img_reg_opts o = {.config_dir = tmpdir};
    char *u, *s;
    nr_err e;
    assert_int_equal(reg_creds_get(&o, "reg.example:5000", &u, &s, &e), 0);
    assert_string_equal(u, "user");
    assert_string_equal(s, "pa:ss");
    free(u), free(s);
    assert_int_equal(reg_creds_get(&o, "docker.io", &u, &s, &e), 0);
    assert_string_equal(u, "hub");
    assert_string_equal(s, "hubpw");
    free(u), free(s);
    assert_int_equal(reg_creds_get(&o, "other.example", &u, &s, &e), 0);
    assert_null(u);
    assert_int_equal(reg_creds_get(&o, "bad.example", &u, &s, &e), -1);
    assert_non_null(strstr(e.msg, "not base64 of user:password"));
    /* store then erase round trip, other entries kept */
    assert_int_equal(reg_creds_store(&o, "new.example", "n", "p w", &e), 0);
    assert_int_equal(reg_creds_get(&o, "new.example", &u, &s, &e), 0);
    assert_string_equal(s, "p w");
    free(u), free(s);
    assert_int_equal(reg_creds_erase(&o, "new.example", &e), 0);
    assert_int_equal(reg_creds_erase(&o, "new.example", &e), -1);
    assert_int_equal(e.errnum, ENOENT);
    assert_int_equal(reg_creds_get(&o, "reg.example:5000", &u, &s, &e), 0);
    assert_non_null(u);
    free(u), free(s);
    /* a helper name that is a path is refused, never run */
    write_file("config.json", "{\"credsStore\":\"../../bin/sh\"}");
    assert_int_equal(reg_creds_get(&o, "x.example", &u, &s, &e), -1);
    assert_non_null(strstr(e.msg, "is not a plain name"));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regref_docker_hub), cmocka_unit_test(test_regref_hosts),
        cmocka_unit_test(test_regref_digest),     cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_challenge),         cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_auths),
    };
    return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
