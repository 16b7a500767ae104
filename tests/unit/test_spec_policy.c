/* Mount destinations and the -p/networks rule, on both sides of
 * config.json: spec.c stores only canonical destinations and refuses the
 * kernel's views whatever the spelling; spec_parse.c (hostile input)
 * canonicalises and applies the same rule.  Also nr_path_clean itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runtime/runtime.h"

static void test_path_clean(void **state)
{
    static const char *const cases[][2] = {
        {"/", "/"},          {"//", "/"},           {"/proc", "/proc"},       {"//proc", "/proc"},
        {"/./proc", "/proc"}, {"/proc/", "/proc"},   {"/proc/../proc", "/proc"}, {"/sys/./", "/sys"},
        {"/..", "/"},        {"/../../etc", "/etc"}, {"/a//b/./c/..", "/a/b"},  {"/a/b/../../..", "/"},
        {"/.a/..b/...", "/.a/..b/..."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *c = nr_path_clean(cases[i][0]);
        assert_non_null(c);
        if (strcmp(c, cases[i][1]))
            fail_msg("%s -> %s, not %s", cases[i][0], c, cases[i][1]);
        free(c);
    }
    assert_null(nr_path_clean("proc"));
    assert_null(nr_path_clean(""));
}

static int build(char **vols, size_t nvol, char **caps, size_t ncap, char **ports, size_t nport, const char *img,
                 char **out, nr_err *err)
{
    rt_run_opts o = {.name = "x", .volumes = vols, .nvolumes = nvol, .cap_add = caps, .ncap_add = ncap,
                     .ports = ports, .nports = nport};
    json_t *cfg = json_loads(img ? img : "{\"Cmd\":[\"sh\"]}", 0, NULL);
    rt_rootfs_desc rf = {.root_path = "/r/c/merged"};
    rt_user u = {0};
    *out = NULL;
    int r = rt_spec_build(cfg, &o, &rf, &u, "/nonexistent-root", "/nonexistent-root/c", out, err);
    json_decref(cfg);
    return r;
}

static void test_build_refuses_every_spelling(void **state)
{
    static const char *const dests[] = {
        "//proc", "/./proc", "/proc/", "/proc/sys/kernel", "//sys", "/sys/./", "/sys/fs/cgroup/x", "///",
        "/.", "//dev", "/dev/", "/./dev/.nrun", "/dev//.nrun/x",
    };
    for (size_t i = 0; i < sizeof dests / sizeof dests[0]; i++) {
        char *v = NULL;
        if (asprintf(&v, "/tmp:%s", dests[i]) < 0)
            fail();
        char *out;
        nr_err err = {0};
        if (build(&v, 1, NULL, 0, NULL, 0, NULL, &out, &err) == 0)
            fail_msg("-v %s accepted", v);
        assert_non_null(strstr(err.msg, "nothing may be mounted on"));
        free(v);
        /* a named volume, and the image's VOLUME key too */
        if (asprintf(&v, "vol1:%s", dests[i]) < 0)
            fail();
        if (build(&v, 1, NULL, 0, NULL, 0, NULL, &out, &err) == 0)
            fail_msg("-v %s accepted", v);
        free(v);
        char *img = NULL;
        if (asprintf(&img, "{\"Cmd\":[\"sh\"],\"Volumes\":{\"%s\":{}}}", dests[i]) < 0)
            fail();
        if (build(NULL, 0, NULL, 0, NULL, 0, img, &out, &err) == 0)
            fail_msg("image VOLUME %s accepted", dests[i]);
        free(img);
    }
    /* below /dev a host bind is fine, a volume nrun fills is not */
    char *ok[] = {"/tmp://dev/fuse/"};
    char *out;
    nr_err err;
    assert_int_equal(build(ok, 1, NULL, 0, NULL, 0, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "\"destination\": \"/dev/fuse\""));
    free(out);
}

static void test_build_stores_canonical(void **state)
{
    char *v[] = {"/tmp://data/./x/"};
    char *out;
    nr_err err;
    assert_int_equal(build(v, 1, NULL, 0, NULL, 0, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "\"destination\": \"/data/x\""));
    free(out);
    /* "/data" and "//data/" are one mount point */
    char *dup[] = {"/tmp:/data", "/tmp://data/"};
    assert_int_equal(build(dup, 2, NULL, 0, NULL, 0, NULL, &out, &err), -1);
    assert_non_null(strstr(err.msg, "duplicate mount point /data"));
    /* a -v at "/data/" replaces the image's VOLUME "/data" */
    char *over[] = {"/tmp:/data/"};
    assert_int_equal(build(over, 1, NULL, 0, NULL, 0, "{\"Cmd\":[\"sh\"],\"Volumes\":{\"/data\":{}}}", &out, &err), 0);
    assert_null(strstr(out, "nrun-copyup"));
    free(out);
}

/* Published ports are DNAT rules into the container's own namespace now: no
 * host socket is handed in, so NET_ADMIN with -p is no longer refused. */
static void test_build_ports_net_admin(void **state)
{
    char *p[] = {"8080:80"};
    char *c[] = {"NET_ADMIN"};
    char *out;
    nr_err err = {0};
    if (build(NULL, 0, c, 1, p, 1, NULL, &out, &err) < 0) {
        if (strstr(err.msg, "bounding set"))
            skip(); /* this process cannot pass NET_ADMIN on at all */
        fail_msg("-p with NET_ADMIN refused: %s", err.msg);
    }
    assert_non_null(strstr(out, "org.nrun.networks"));
    free(out);
}

static const char *base =
    "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"},"
    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
    "{\"type\":\"cgroup\"},{\"type\":\"network\"}]}%s}";

static int parse(const char *extra, rt_spec *s, nr_err *err)
{
    char *text = NULL;
    if (asprintf(&text, base, extra) < 0)
        fail();
    int r = rt_spec_parse(text, strlen(text), s, err);
    free(text);
    return r;
}

static void test_parse_mounts(void **state)
{
    static const char *const bad[] = {
        ",\"mounts\":[{\"destination\":\"//proc\",\"type\":\"bind\",\"source\":\"/tmp\"}]",
        ",\"mounts\":[{\"destination\":\"/sys/./\",\"type\":\"bind\",\"source\":\"/tmp\"}]",
        ",\"mounts\":[{\"destination\":\"/proc/sys/kernel\",\"type\":\"bind\",\"source\":\"/tmp\",\"options\":[\"nrun-copyup\"]}]",
        ",\"mounts\":[{\"destination\":\"//dev/\",\"type\":\"bind\",\"source\":\"/tmp\"}]",
        ",\"mounts\":[{\"destination\":\"/dev/shm/x\",\"type\":\"bind\",\"source\":\"/tmp\",\"options\":[\"nrun-copyup\"]}]",
        ",\"mounts\":[{\"destination\":\"/dev/.nrun\",\"type\":\"bind\",\"source\":\"/tmp\"}]",
        ",\"mounts\":[{\"destination\":\"/.\",\"type\":\"bind\",\"source\":\"/tmp\"}]",
        ",\"mounts\":[{\"destination\":\"//\",\"type\":\"tmpfs\"}]",
    };
    rt_spec s;
    nr_err err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &s, &err) == 0) {
            rt_spec_free(&s);
            fail_msg("accepted %s", bad[i]);
        }
        assert_non_null(strstr(err.msg, "nothing may be mounted on"));
    }
    /* the kernel's own filesystems where they belong; destinations canonical after parsing */
    assert_int_equal(parse(",\"mounts\":[{\"destination\":\"/proc/\",\"type\":\"proc\"},"
                           "{\"destination\":\"//data/./\",\"type\":\"bind\",\"source\":\"/tmp\"}]", &s, &err), 0);
    assert_string_equal(s.mounts[0].dest, "/proc");
    assert_string_equal(s.mounts[1].dest, "/data");
    rt_spec_free(&s);
}

static void test_parse_ports_networks(void **state)
{
    rt_spec s;
    nr_err err;
    const char *ports = ",\"annotations\":{\"org.nrun.ports\":\"[{\\\"address\\\":\\\"\\\",\\\"host\\\":8080,\\\"container\\\":80}]\"%s}";
    char *text = NULL;
    /* ports with no network to publish them on: refused */
    if (asprintf(&text, ports, "") < 0)
        fail();
    assert_int_equal(parse(text, &s, &err), -1);
    assert_non_null(strstr(err.msg, "org.nrun.ports need org.nrun.networks"));
    free(text);
    /* on a network: fine, with CAP_NET_ADMIN too (the namespace is the container's own) */
    if (asprintf(&text, ports, ",\"org.nrun.networks\":\"[{\\\"name\\\":\\\"bridge\\\"}]\"") < 0)
        fail();
    assert_int_equal(parse(text, &s, &err), 0);
    assert_int_equal(s.nports, 1);
    assert_non_null(s.networks);
    rt_spec_free(&s);
    free(text);
    /* a network name that could climb out of networks/ */
    assert_int_equal(parse(",\"annotations\":{\"org.nrun.networks\":\"[{\\\"name\\\":\\\"../x\\\"}]\"}", &s, &err), -1);
    assert_non_null(strstr(err.msg, "org.nrun.networks"));
    /* --ip's address: an IPv4 address, nothing else reaches the plugin */
    assert_int_equal(parse(",\"annotations\":{\"org.nrun.networks\":\"[{\\\"name\\\":\\\"n1\\\",\\\"ipv4\\\":\\\"10.1.2.3\\\"}]\"}", &s, &err), 0);
    rt_spec_free(&s);
    static const char *const bad[] = {"10.1.2.3/24", "10.1.2.3\\\\n", "fd00::1", "", "10.1.2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (asprintf(&text, ",\"annotations\":{\"org.nrun.networks\":\"[{\\\"name\\\":\\\"n1\\\",\\\"ipv4\\\":\\\"%s\\\"}]\"}", bad[i]) < 0)
            fail();
        assert_int_equal(parse(text, &s, &err), -1);
        assert_non_null(strstr(err.msg, "org.nrun.networks"));
        free(text);
    }
    assert_int_equal(parse(",\"annotations\":{\"org.nrun.networks\":\"[{\\\"name\\\":\\\"n1\\\",\\\"ipv4\\\":7}]\"}", &s, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_clean),
        cmocka_unit_test(test_build_refuses_every_spelling),
        cmocka_unit_test(test_build_stores_canonical),
        cmocka_unit_test(test_build_ports_net_admin),
        cmocka_unit_test(test_parse_mounts),
        cmocka_unit_test(test_parse_ports_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
