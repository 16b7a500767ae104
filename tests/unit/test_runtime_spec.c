/* config.json: what spec.c builds parses back, and hostile documents are
 * refused with a message naming the field — never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runtime/runtime.h"

static char *build(rt_run_opts *o, const char *imgcfg)
{
    json_t *cfg = imgcfg ? json_loads(imgcfg, 0, NULL) : NULL;
    char *lower[] = {"aaaa", "bbbb"};
    rt_rootfs_desc rf = {.root_path = "/r/c/merged", .layers_dir = "/r/layers", .lower = lower, .nlower = 2,
                         .upper = "/r/c/upper", .work = "/r/c/work"};
    gid_t groups[] = {1000, 2000};
    rt_user u = {.uid = 1000, .gid = 1000, .groups = groups, .ngroups = 2};
    char *out = NULL;
    nr_err err;
    int r = rt_spec_build(cfg, o, &rf, &u, "/r", "/r/c", &out, &err);
    json_decref(cfg);
    if (r < 0) {
        assert_null(out);
        return NULL;
    }
    return out;
}

static void test_round_trip(void **state)
{
    char *ports[] = {"127.0.0.1:8080:80", "9000:9001"};
    char *env[] = {"A=1", "IMG=override"};
    char *drop[] = {"CHOWN"};
    char *svo[] = {"--max-memory=100m", "--wait-ready=true"};
    rt_run_opts o = {.name = "web", .ports = ports, .nports = 2, .env = env, .nenv = 2, .cap_drop = drop,
                     .sv_opts = svo, .nsv_opts = 2,
                     .ncap_drop = 1, .memory = 64 << 20, .pids_limit = 100, .cpu_quota = 50000, .cpu_period = 100000,
                     .workers = 3, .read_only = true};
    char *text = build(&o, "{\"Cmd\":[\"node\",\"app.js\"],\"Env\":[\"IMG=1\",\"PATH=/x\"],\"StopSignal\":\"SIGQUIT\","
                           "\"WorkingDir\":\"/app\"}");
    assert_non_null(text);
    rt_spec s;
    nr_err err;
    assert_int_equal(rt_spec_parse(text, strlen(text), &s, &err), 0);
    assert_string_equal(s.args[0], "node");
    assert_string_equal(s.args[1], "app.js");
    assert_null(s.args[2]);
    assert_string_equal(s.cwd, "/app");
    assert_string_equal(s.env[0], "IMG=override");
    assert_string_equal(s.hostname, "web");
    assert_int_equal(s.uid, 1000);
    assert_int_equal(s.ngroups, 2);
    assert_int_equal(s.stop_signal, SIGQUIT);
    assert_int_equal(s.mem_limit, 64 << 20);
    assert_int_equal(s.pids_limit, 100);
    assert_int_equal(s.cpu_quota, 50000);
    assert_int_equal(s.nports, 2);
    assert_string_equal(s.ports[0].addr, "127.0.0.1");
    assert_int_equal(s.ports[1].host_port, 9000);
    assert_int_equal(s.ports[1].ctr_port, 9001);
    assert_int_equal(s.noverlay_lower, 2);
    assert_string_equal(s.overlay_lower[1], "bbbb");
    assert_true(s.root_readonly);
    assert_true(s.no_new_privs);
    assert_true(s.ns_net);
    assert_int_equal(s.sv_workers, 3);
    assert_int_equal(s.nsv_opts, 2);
    assert_string_equal(s.sv_opts[0], "--max-memory=100m");
    assert_string_equal(s.sv_opts[1], "--wait-ready=true");
    assert_false(s.caps & 1); /* CHOWN dropped */
    assert_true(s.caps & (1ULL << 5)); /* KILL kept */
    assert_non_null(s.seccomp_json);
    assert_false(s.overlay_volatile); /* a kept container's upper is synced on unmount */
    rt_spec_free(&s);
    free(text);
}

/* --rm: the overlay is mounted "volatile" (its upper is deleted at the end) */
static void test_ephemeral_volatile(void **state)
{
    rt_run_opts o = {.name = "tmp", .ephemeral = true};
    char *text = build(&o, "{\"Cmd\":[\"true\"]}");
    assert_non_null(text);
    assert_non_null(strstr(text, "org.nrun.overlay.volatile"));
    rt_spec s;
    nr_err err;
    assert_int_equal(rt_spec_parse(text, strlen(text), &s, &err), 0);
    assert_true(s.overlay_volatile);
    rt_spec_free(&s);
    free(text);
}

static void test_bad_flags(void **state)
{
    char *p1[] = {"80-81:90"};
    rt_run_opts o = {.name = "x", .ports = p1, .nports = 1};
    assert_null(build(&o, "{\"Cmd\":[\"sh\"]}"));
    char *p2[] = {"1:70000"};
    o.ports = p2;
    assert_null(build(&o, "{\"Cmd\":[\"sh\"]}"));
    rt_run_opts o2 = {.name = "x"};
    assert_null(build(&o2, "{}")); /* no command */
    char *v[] = {"/tmp:relative"};
    rt_run_opts o3 = {.name = "x", .volumes = v, .nvolumes = 1};
    assert_null(build(&o3, "{\"Cmd\":[\"sh\"]}"));
    char *c[] = {"CAP_NOPE"};
    rt_run_opts o4 = {.name = "x", .cap_add = c, .ncap_add = 1};
    assert_null(build(&o4, "{\"Cmd\":[\"sh\"]}"));
    rt_run_opts o5 = {.name = "x", .workdir = "/a/../../b"};
    assert_null(build(&o5, "{\"Cmd\":[\"sh\"]}"));
    assert_null(build(&o2, "{\"Cmd\":[\"sh\"],\"StopSignal\":\"SIGNOPE\"}"));
}

/* Start from a valid document and break one field at a time. */
static const char *base =
    "{\"process\":{\"args\":[\"sh\"],\"env\":[\"A=1\"],\"cwd\":\"/\"},\"root\":{\"path\":\"/r\"},"
    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
    "{\"type\":\"cgroup\"}]}}";

static void expect_bad(const char *patch_path, const char *value, const char *msg_part)
{
    json_t *j = json_loads(base, 0, NULL);
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    /* patch_path: "a.b" sets j[a][b] */
    char *copy = strdup(patch_path), *dot = strchr(copy, '.');
    if (dot) {
        *dot = 0;
        json_t *o = json_object_get(j, copy);
        if (!o) {
            o = json_object();
            json_object_set_new(j, copy, o);
        }
        json_object_set_new(o, dot + 1, v);
    } else {
        json_object_set_new(j, copy, v);
    }
    free(copy);
    char *text = json_dumps(j, 0);
    json_decref(j);
    rt_spec s;
    nr_err err = {0};
    int r = rt_spec_parse(text, strlen(text), &s, &err);
    if (r == 0)
        fail_msg("accepted %s = %s", patch_path, value);
    if (!strstr(err.msg, msg_part))
        fail_msg("%s = %s: message \"%s\" lacks \"%s\"", patch_path, value, err.msg, msg_part);
    free(text);
}

static void test_hostile_config(void **state)
{
    rt_spec s;
    nr_err err;
    assert_int_equal(rt_spec_parse(base, strlen(base), &s, &err), 0);
    assert_false(s.ns_net);
    rt_spec_free(&s);
    assert_int_equal(rt_spec_parse("{\"process\":", 12, &s, &err), -1);
    assert_non_null(strstr(err.msg, "config.json:1:"));
    expect_bad("process.args", "[]", "process.args");
    expect_bad("process.args", "[1]", "process.args[0]");
    expect_bad("process.cwd", "\"relative\"", "process.cwd");
    expect_bad("process.cwd", "\"/a/../..\"", "process.cwd");
    expect_bad("process.env", "[\"NOEQUALS\"]", "process.env[0]");
    expect_bad("process.user", "{\"uid\":-1}", "process.user.uid");
    expect_bad("process.capabilities", "{\"bounding\":[\"CAP_EVIL\"]}", "bounding[0]");
    expect_bad("process.rlimits", "[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":5}]", "rlimits[0]");
    expect_bad("root.path", "\"r\"", "root.path");
    expect_bad("mounts", "[{\"destination\":\"/a/../../etc\"}]", "mounts[0].destination");
    expect_bad("mounts", "[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"rel\"}]", "mounts[0].source");
    expect_bad("mounts", "{}", "mounts");
    expect_bad("linux.namespaces", "[{\"type\":\"pid\"}]", "lacks");
    expect_bad("linux.namespaces", "[{\"type\":\"user\"}]", "namespaces[0]");
    expect_bad("linux.namespaces", "[{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}]", "namespaces[0]");
    expect_bad("linux.resources", "{\"cpu\":{\"cpus\":\"0;rm -rf\"}}", "cpus");
    expect_bad("linux.resources", "{\"memory\":{\"limit\":\"big\"}}", "memory.limit");
    expect_bad("linux.maskedPaths", "[\"proc/kcore\"]", "maskedPaths[0]");
    expect_bad("annotations", "{\"org.nrun.overlay.layers\":\"/l\",\"org.nrun.overlay.lower\":\"../x\","
               "\"org.nrun.overlay.upper\":\"/u\",\"org.nrun.overlay.work\":\"/w\"}", "layer name");
    expect_bad("annotations", "{\"org.nrun.ports\":\"[{\\\"address\\\":\\\"\\\",\\\"host\\\":-1,\\\"container\\\":1}]\"}",
               "org.nrun.ports[0]");
    expect_bad("annotations", "{\"org.nrun.stop-signal\":\"99\"}", "stop-signal");
    expect_bad("annotations", "{\"org.nrun.supervisor.max-memory\":\"lots\"}", "org.nrun.supervisor.max-memory");
    expect_bad("annotations", "{\"org.nrun.supervisor.max-memory\":100}", "must be a string");
    expect_bad("annotations", "{\"org.nrun.supervisor.rm-rf\":\"1\"}", "no such supervisor option");
    expect_bad("annotations", "{\"org.nrun.supervisor.wait-ready\":\"no\"}", "takes no value");
    expect_bad("hostname", "\"" "0123456789012345678901234567890123456789012345678901234567890123456789" "\"", "hostname");
}

static void test_caps_names(void **state)
{
    assert_int_equal(rt_cap_from_name("CAP_CHOWN"), 0);
    assert_int_equal(rt_cap_from_name("net_raw"), 13);
    assert_int_equal(rt_cap_from_name("CAP_NOPE"), -1);
    assert_string_equal(rt_cap_name(21), "CAP_SYS_ADMIN");
    uint64_t d = rt_caps_default();
    assert_false(d & (1ULL << 13)); /* NET_RAW */
    assert_false(d & (1ULL << 27)); /* MKNOD */
    assert_false(d & (1ULL << 29)); /* AUDIT_WRITE */
    assert_false(d & (1ULL << 21)); /* SYS_ADMIN */
    assert_true(d & (1ULL << 10));  /* NET_BIND_SERVICE */
    assert_int_equal(__builtin_popcountll(d), 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_ephemeral_volatile),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_hostile_config),
        cmocka_unit_test(test_caps_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
