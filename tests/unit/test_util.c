#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/signal.h"
#include "common/util.h"

static void test_err_sys_names_errno(void **state)
{
    nr_err e;
    assert_int_equal(nr_err_sys(&e, ENOENT, "open %s", "/x/y"), -1);
    assert_string_equal(e.msg, "open /x/y: ENOENT (No such file or directory)");
    assert_int_equal(e.errnum, ENOENT);
    nr_err_wrap(&e, "store %s", "/r");
    assert_string_equal(e.msg, "store /r: open /x/y: ENOENT (No such file or directory)");
}

static void test_signal_parse(void **state)
{
    assert_int_equal(nr_signal_parse("TERM"), 15);
    assert_int_equal(nr_signal_parse("SIGterm"), 15);
    assert_int_equal(nr_signal_parse("alrm"), 14);
    assert_int_equal(nr_signal_parse("SIGPIPE"), 13);
    assert_int_equal(nr_signal_parse("IOT"), 6);
    assert_int_equal(nr_signal_parse("cld"), 17);
    assert_int_equal(nr_signal_parse("SIGSYS"), 31);
    assert_int_equal(nr_signal_parse("RTMIN"), 34);
    assert_int_equal(nr_signal_parse("RTMIN+1"), 35);
    assert_int_equal(nr_signal_parse("SIGRTMIN+3"), 37);
    assert_int_equal(nr_signal_parse("rtmax-2"), 62);
    assert_int_equal(nr_signal_parse("SIGRTMAX"), 64);
    assert_int_equal(nr_signal_parse("RTMIN+30"), 64);
    assert_int_equal(nr_signal_parse("1"), 1);
    assert_int_equal(nr_signal_parse("64"), 64);
    const char *bad[] = {"", "SIG", "0", "65", "-1", "+3", " 9", "9 ", "TERM ", "SIGSIGTERM", "RTMIN+0",
                         "RTMIN+31", "RTMIN+", "RTMAX-x", "RTMIN-1", "NOPE", "1000"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(nr_signal_parse(bad[i]), -1);
    assert_int_equal(nr_signal_parse(NULL), -1);
}

static void test_parse_size(void **state)
{
    unsigned long long v;
    assert_int_equal(nr_parse_size("512", &v), 0);
    assert_int_equal(v, 512);
    assert_int_equal(nr_parse_size("64k", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(nr_parse_size("1.5m", &v), 0);
    assert_int_equal(v, 1572864);
    assert_int_equal(nr_parse_size("2GiB", &v), 0);
    assert_int_equal(v, 2ULL << 30);
    assert_int_equal(nr_parse_size("", &v), -1);
    assert_int_equal(nr_parse_size("-1", &v), -1);
    assert_int_equal(nr_parse_size("12q", &v), -1);
}

static void test_sha256(void **state)
{
    char hex[65];
    nr_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    nr_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_atomic_write_and_rm_rf(void **state)
{
    char dir[] = "/tmp/nrun-ut-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    nr_err e;
    assert_int_equal(nr_write_atomic(dfd, "f.json", "{}", 2, 0644, &e), 0);
    char *buf;
    size_t len;
    assert_int_equal(nr_read_file(dfd, "f.json", 100, &buf, &len, &e), 0);
    assert_int_equal(len, 2);
    assert_string_equal(buf, "{}");
    free(buf);
    assert_int_equal(nr_read_file(dfd, "f.json", 1, &buf, &len, &e), -1);
    assert_int_equal(e.errnum, EFBIG);
    assert_int_equal(mkdirat(dfd, "sub", 0755), 0);
    assert_int_equal(symlinkat("/etc", dfd, "sub/link"), 0);
    assert_int_equal(nr_rm_rf(dfd, "sub", &e), 0);
    assert_int_equal(faccessat(dfd, "sub", F_OK, 0), -1);
    assert_int_equal(access("/etc/passwd", F_OK), 0); /* symlink target untouched */
    close(dfd);
    assert_int_equal(nr_rm_rf(AT_FDCWD, dir, &e), 0);
}

/* A file planted where the temporary file would go (the old name was
 * ".tmp-PID-NAME": a hard link there to another file was truncated and
 * written through) is never opened: the temporary name is new and O_EXCL. */
static void test_atomic_write_never_through_planted_temp(void **state)
{
    (void)state;
    char dir[] = "/tmp/nrun-ut-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int v = openat(dfd, "victim", O_CREAT | O_WRONLY, 0600);
    assert_true(v >= 0);
    assert_int_equal(write(v, "keep", 4), 4);
    close(v);
    char planted[64];
    snprintf(planted, sizeof planted, ".tmp-%d-f.json", (int)getpid());
    assert_int_equal(linkat(dfd, "victim", dfd, planted, 0), 0);
    assert_int_equal(mkdirat(dfd, "sub", 0755), 0);
    snprintf(planted, sizeof planted, "sub/.tmp-%d-f.json", (int)getpid());
    assert_int_equal(linkat(dfd, "victim", dfd, planted, 0), 0);
    nr_err e;
    assert_int_equal(nr_write_atomic(dfd, "f.json", "{}", 2, 0644, &e), 0);
    assert_int_equal(nr_write_atomic(dfd, "sub/f.json", "[]", 2, 0644, &e), 0);
    char *buf;
    size_t len;
    assert_int_equal(nr_read_file(dfd, "victim", 100, &buf, &len, &e), 0);
    assert_string_equal(buf, "keep");
    free(buf);
    assert_int_equal(nr_read_file(dfd, "sub/f.json", 100, &buf, &len, &e), 0);
    assert_string_equal(buf, "[]");
    free(buf);
    /* two temporary files for one name are two files */
    char t1[256], t2[256];
    int a = nr_open_temp(dfd, "x", 0600, t1, sizeof t1), b = nr_open_temp(dfd, "x", 0600, t2, sizeof t2);
    assert_true(a >= 0 && b >= 0);
    assert_string_not_equal(t1, t2);
    close(a);
    close(b);
    close(dfd);
    assert_int_equal(nr_rm_rf(AT_FDCWD, dir, &e), 0);
}

/* A tree far deeper than the fds we may open is removed all the same. */
static void test_rm_rf_deep(void **state)
{
    (void)state;
    char dir[] = "/tmp/nrun-ut-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(mkdirat(fd, "d", 0755), 0);
        int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        close(openat(sub, "f", O_CREAT | O_WRONLY, 0600));
        close(fd);
        fd = sub;
    }
    close(fd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {200, 200}; /* far fewer fds than levels */
        nr_err e;
        _exit(setrlimit(RLIMIT_NOFILE, &rl) == 0 && nr_rm_rf(AT_FDCWD, dir, &e) == 0 ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(access(dir, F_OK), -1);
}

static void test_json_escape(void **state)
{
    (void)state;
    char out[256];
    /* quotes, backslash, controls; valid UTF-8 kept; overlong, surrogate, stray and cut bytes as U+FFFD */
    static const struct {
        const char *in;
        const char *want;
    } c[] = {
        {"a\"b\\c\n\t\r\x01\x7f", "a\\\"b\\\\c\\n\\t\\r\\u0001\\u007f"},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"\xc0\xaf", "\\ufffd\\ufffd"},
        {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},
        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},
        {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},
        {"x\xe2\x82", "x\\ufffd\\ufffd"},
        {"\xff", "\\ufffd"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        size_t n = nr_json_escape(out, c[i].in, strlen(c[i].in));
        out[n] = 0;
        assert_string_equal(out, c[i].want);
    }
}

static void test_escape_controls(void **state)
{
    (void)state;
    char *e = nr_escape_controls("up\x1b]0;pwned\x07\nx\ty\x7f\xc3\xa9");
    assert_string_equal(e, "up\\x1b]0;pwned\\x07\\nx\\ty\\x7f\xc3\xa9");
    free(e);
    /* C1 controls written in UTF-8 (U+009B is CSI to xterm): escaped; the
     * letters around them (U+00A0, U+00E9) stay */
    e = nr_escape_controls("a\xc2\x9b" "2J\xc2\x85" "b\xc2\xa0\xc3\xa9");
    assert_string_equal(e, "a\\xc2\\x9b2J\\xc2\\x85b\xc2\xa0\xc3\xa9");
    free(e);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(nr_utf8_valid(""));
    assert_true(nr_utf8_valid("plain ascii"));
    assert_true(nr_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")); /* é € emoji */
    assert_false(nr_utf8_valid("\xff"));
    assert_false(nr_utf8_valid("a\xc3"));             /* truncated */
    assert_false(nr_utf8_valid("\xc0\xaf"));          /* overlong '/' */
    assert_false(nr_utf8_valid("\xed\xa0\x80"));      /* surrogate */
    assert_false(nr_utf8_valid("\xf4\x90\x80\x80"));  /* past U+10FFFF */
    assert_false(nr_utf8_valid("\x80"));              /* lone continuation */
}

/* The lock file exists while held and goes with the unlock; a waiter that
 * got the lock of the removed file takes the lock again on a file of the name. */
static void test_lock_transient(void **state)
{
    char dir[] = "/tmp/nrun-ut-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    nr_err e;
    int fd;
    assert_int_equal(nr_lock_transient(dfd, ".lock-x", &fd, &e), 0);
    assert_int_equal(faccessat(dfd, ".lock-x", F_OK, 0), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd); /* a copy of ours would hold our lock */
        int cfd;
        if (nr_lock_transient(dfd, ".lock-x", &cfd, &e) < 0)
            _exit(1);
        struct stat held, named;
        if (fstat(cfd, &held) < 0 || fstatat(dfd, ".lock-x", &named, 0) < 0 || held.st_ino != named.st_ino)
            _exit(2);
        nr_unlock_transient(dfd, ".lock-x", cfd);
        _exit(faccessat(dfd, ".lock-x", F_OK, 0) == 0 ? 3 : 0);
    }
    usleep(100 * 1000); /* the child waits on our file */
    nr_unlock_transient(dfd, ".lock-x", fd);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* a file left by a crashed holder is taken over and removed */
    close(openat(dfd, ".lock-y", O_CREAT | O_WRONLY, 0600));
    assert_int_equal(nr_lock_transient(dfd, ".lock-y", &fd, &e), 0);
    nr_unlock_transient(dfd, ".lock-y", fd);
    assert_int_equal(faccessat(dfd, ".lock-y", F_OK, 0), -1);
    close(dfd);
    assert_int_equal(nr_rm_rf(AT_FDCWD, dir, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_sys_names_errno),
        cmocka_unit_test(test_escape_controls),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_signal_parse),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_atomic_write_and_rm_rf),
        cmocka_unit_test(test_atomic_write_never_through_planted_temp),
        cmocka_unit_test(test_rm_rf_deep),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_lock_transient),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
