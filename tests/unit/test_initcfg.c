/* The configuration nrun hands to PID 1: every field survives the trip, and
 * a damaged or hostile config is refused with the field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/init/initcfg.h"

static int memfd_with(const char *text)
{
    int fd = memfd_create("t", 0);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void test_roundtrip(void **state)
{
    (void)state;
    char *argv[] = {"node", "server.js", "--flag=ü", NULL};
    char *env[] = {"PATH=/usr/bin", "A=b=c", NULL};
    gid_t groups[] = {10, 4294967294u};
    int fds[] = {5, 6}, ports[] = {3000, 65535};
    unsigned char bpf[16] = {0x20, 0, 0, 0, 4, 0, 0, 0, 0x15, 0, 0, 1, 0x3e, 0, 0, 0xc0};
    rt_initcfg in;
    memset(&in, 0, sizeof in);
    sv_config_init(&in.sv);
    in.sv.argv = argv;
    in.sv.envp = env;
    in.sv.cwd = "/app";
    in.sv.uid = 1000;
    in.sv.gid = 1001;
    in.sv.groups = groups;
    in.sv.ngroups = 2;
    in.sv.listen_fds = fds;
    in.sv.listen_ports = ports;
    in.sv.n_listen = 2;
    in.sv.mode = SV_MODE_CLUSTER;
    in.sv.balance = SV_BALANCE_LEASTCONN;
    in.sv.workers = 4;
    in.sv.log_dir_fd = 7;
    in.sv.control_fd = -1;
    in.sv.echo_stdio = true;
    in.sv.pass_stdin = true;
    in.sv.stop_signal = 3;
    in.sv.runtime_dir = "/dev/.nrun";
    in.sv.max_memory = 100ULL << 20;
    in.sv.wait_ready = true;
    in.sv.drain_timeout_ms = 1234;
    in.sv.crash_loop_max = 3;
    in.sv.log_rate = 1ULL << 40;
    snprintf(in.sv.revision, sizeof in.sv.revision, "r-12.b_3");
    in.caps = (1ULL << 40) | 5;
    in.nnp = true;
    in.minimal = false;
    in.lockdown = true;
    in.control_path = "/run/x.sock";
    in.bpf = bpf;
    in.bpf_len = sizeof bpf;
    int fd = memfd_create("t", 0);
    nr_err e = {0};
    assert_int_equal(rt_initcfg_write(fd, &in, &e), 0);
    lseek(fd, 0, SEEK_SET);
    rt_initcfg out;
    assert_int_equal(rt_initcfg_read(fd, &out, &e), 0);
    close(fd);
    for (int i = 0; argv[i]; i++)
        assert_string_equal(out.sv.argv[i], argv[i]);
    assert_null(out.sv.argv[3]);
    assert_string_equal(out.sv.envp[1], "A=b=c");
    assert_null(out.sv.envp[2]);
    assert_string_equal(out.sv.cwd, "/app");
    assert_int_equal(out.sv.uid, 1000);
    assert_int_equal(out.sv.gid, 1001);
    assert_int_equal(out.sv.ngroups, 2);
    assert_int_equal(out.sv.groups[1], 4294967294u);
    assert_int_equal(out.sv.n_listen, 2);
    assert_int_equal(out.sv.listen_fds[1], 6);
    assert_int_equal(out.sv.listen_ports[1], 65535);
    assert_int_equal(out.sv.mode, SV_MODE_CLUSTER);
    assert_int_equal(out.sv.balance, SV_BALANCE_LEASTCONN);
    assert_int_equal(out.sv.workers, 4);
    assert_int_equal(out.sv.log_dir_fd, 7);
    assert_int_equal(out.sv.control_fd, -1);
    assert_true(out.sv.echo_stdio);
    assert_true(out.sv.pass_stdin);
    assert_int_equal(out.sv.stop_signal, 3);
    assert_string_equal(out.sv.runtime_dir, "/dev/.nrun");
    /* defaults the config does not carry */
    assert_int_equal(out.sv.drain_timeout_ms, 1234);
    assert_true(out.sv.max_memory == 100ULL << 20);
    assert_true(out.sv.wait_ready);
    assert_int_equal(out.sv.crash_loop_max, 3);
    assert_true(out.sv.log_rate == 1ULL << 40);
    assert_string_equal(out.sv.revision, "r-12.b_3");
    /* a default carried as is */
    assert_int_equal(out.sv.heartbeat_timeout_ms, 30000);
    assert_true(out.caps == ((1ULL << 40) | 5));
    assert_true(out.nnp);
    assert_false(out.minimal);
    assert_true(out.lockdown);
    assert_string_equal(out.control_path, "/run/x.sock");
    assert_int_equal(out.bpf_len, sizeof bpf);
    assert_memory_equal(out.bpf, bpf, sizeof bpf);
    rt_initcfg_free(&out);
}

/* The text nrun writes for a plain config: the base the hostile cases edit. */
static char *good_text(void)
{
    char *argv[] = {"sh", NULL};
    char *env[] = {NULL};
    rt_initcfg in;
    memset(&in, 0, sizeof in);
    sv_config_init(&in.sv);
    in.sv.argv = argv;
    in.sv.envp = env;
    in.sv.cwd = "/";
    in.sv.uid = 0;
    in.sv.gid = 0;
    in.sv.runtime_dir = "/dev/.nrun";
    in.sv.log_dir_fd = in.sv.control_fd = -1;
    in.nnp = true;
    int fd = memfd_create("t", 0);
    nr_err e = {0};
    assert_int_equal(rt_initcfg_write(fd, &in, &e), 0);
    static char text[8192];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    assert_true(n > 0);
    text[n] = 0;
    close(fd);
    return text;
}

static void expect_refused(const char *text, const char *needle)
{
    int fd = memfd_with(text);
    rt_initcfg c;
    nr_err e = {0};
    int r = rt_initcfg_read(fd, &c, &e);
    close(fd);
    if (r == 0 || !strstr(e.msg, needle))
        fail_msg("config %s: r=%d msg=\"%s\", wanted \"%s\"", text, r, e.msg, needle);
}

/* good_text() with `from` replaced by `to` (which must be there) */
static void refused_edit(const char *from, const char *to, const char *needle)
{
    const char *text = good_text();
    const char *at = strstr(text, from);
    if (!at)
        fail_msg("%s not in %s", from, text);
    char out[8192];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    expect_refused(out, needle);
}

static void test_hostile(void **state)
{
    (void)state;
    /* the well-formed base is accepted */
    int fd = memfd_with(good_text());
    rt_initcfg c;
    nr_err e = {0};
    assert_int_equal(rt_initcfg_read(fd, &c, &e), 0);
    assert_int_equal(c.sv.crash_loop_max, 10);
    rt_initcfg_free(&c);
    close(fd);
    expect_refused("", "init config");
    expect_refused("[1,2]", "not a JSON object");
    refused_edit("\"argv\":[\"sh\"]", "\"argv\":[]", "\"argv\" is empty");
    refused_edit("\"argv\":[\"sh\"]", "\"argv\":[1]", "\"argv\"[0]");
    refused_edit("\"argv\":[\"sh\"]", "\"argv\":[\"a\\u0000b\"]", "u0000");
    refused_edit("\"env\":[]", "\"nv\":[]", "\"env\"");
    refused_edit("\"argv\":[\"sh\"]", "\"argv\":[\"sh\"],\"argv\":[\"x\"]", "duplicate");
    refused_edit("\"uid\":0", "\"uid\":\"0\"", "uid");
    refused_edit("\"groups\":[]", "\"groups\":[-5]", "groups");
    refused_edit("\"listen\":[]", "\"listen\":[{\"fd\":1,\"port\":80}]", "fd");
    refused_edit("\"listen\":[]", "\"listen\":[{\"fd\":4,\"port\":0}]", "port");
    refused_edit("\"mode\":0", "\"mode\":9", "mode");
    refused_edit("\"workers\":0", "\"workers\":100000", "workers");
    refused_edit("\"stop_signal\":0", "\"stop_signal\":65", "stop_signal");
    refused_edit("\"runtime_dir\":\"/dev/.nrun\"", "\"runtime_dir\":\"rel\"", "runtime_dir");
    refused_edit("\"caps\":0", "\"caps\":-1", "caps");
    refused_edit("\"nnp\":true", "\"nnp\":1", "nnp");
    refused_edit("\"seccomp\":\"\"", "\"seccomp\":\"abc\"", "seccomp");
    refused_edit("\"seccomp\":\"\"", "\"seccomp\":\"zz\"", "seccomp");
    refused_edit("\"tuning\":{", "\"tunin\":{", "tuning");
    refused_edit("\"lockdown\":false", "\"lockdown\":null", "lockdown");
    refused_edit("\"lockdown\":false", "\"lockdown\":false,\"control_path\":\"rel\"", "control_path");
    refused_edit("\"uid\":0", "\"uid\":-2", "uid");
    refused_edit("\"max_memory\":0", "\"max_memory\":-1", "max_memory");
    refused_edit("\"wait_ready\":0", "\"wait_ready\":2", "wait_ready");
    refused_edit("\"crash_loop_max\":10", "\"crash_loop_max\":1.5", "crash_loop_max");
    /* the revision goes into metric labels and log lines: a plain word only */
    refused_edit("\"revision\":\"\"", "\"revision\":\"a\\\"} 1\\nx\"", "--revision");
    refused_edit("\"revision\":\"\"", "\"revision\":\"0123456789012345678901234567890123\"", "--revision");
    refused_edit("\"revision\":\"\"", "\"revision\":7", "revision");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
