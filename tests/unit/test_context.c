/* Build context: source selection rules, refusals, stat cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/context.h"
#include "builder/select.h"
#include "common/util.h"

static char dir[256], cache[300];

static void put(const char *rel, const char *content, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *s = strrchr(p, '/');
    *s = '\0';
    nr_err e;
    assert_int_equal(nr_mkdir_p(p, 0755, &e), 0);
    *s = '/';
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(nr_write_all(fd, content, strlen(content)), 0);
    fchmod(fd, mode);
    close(fd);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/test_context.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cache, sizeof cache, "%s.cache", dir);
    put("a.js", "A", 0644);
    put("b.js", "BB", 0755);
    put("src/x/y.txt", "Y", 0600);
    put("src/z.txt", "Z", 0644);
    put("node_modules/m/index.js", "M", 0644);
    put("docs/keep.md", "K", 0644);
    put("docs/drop.md", "D", 0644);
    put(".dockerignore", "node_modules\ndocs\n!docs/keep.md\nspecial\n", 0644);
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/escape", dir);
    assert_int_equal(symlink("/etc", p), 0);
    snprintf(p, sizeof p, "%s/up", dir);
    assert_int_equal(symlink("../", p), 0);
    snprintf(p, sizeof p, "%s/inside", dir);
    assert_int_equal(symlink("src", p), 0);
    put("special/.keep", "", 0644);
    snprintf(q, sizeof q, "%s/special/fifo", dir);
    assert_int_equal(mkfifo(q, 0644), 0);
    return 0;
}

static int teardown(void **state)
{
    nr_err e;
    nr_rm_rf(AT_FDCWD, dir, &e);
    nr_rm_rf(AT_FDCWD, cache, &e);
    return 0;
}

static bld_ctx *ctx(void)
{
    bld_ctx *c;
    nr_err e;
    if (bld_ctx_open(dir, NULL, cache, &c, &e) < 0)
        fail_msg("%s", e.msg);
    return c;
}

static bld_item *find(bld_sel *s, const char *dest)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i].dest, dest))
            return &s->items[i];
    return NULL;
}

static void sel_ok(bld_ctx *c, const char *src, const char *dest, bool dir_dest, bld_sel *s)
{
    char *srcs[] = {(char *)src};
    size_t bad;
    nr_err e;
    if (bld_ctx_select(c, srcs, 1, dest, dir_dest, false, s, &bad, &e) < 0)
        fail_msg("select %s: %s", src, e.msg);
}

static void sel_bad(bld_ctx *c, const char *src, const char *msg)
{
    char *srcs[] = {(char *)src};
    size_t bad = 99;
    nr_err e;
    bld_sel s = {0};
    assert_int_equal(bld_ctx_select(c, srcs, 1, "/dst", true, false, &s, &bad, &e), -1);
    assert_int_equal(bad, 0);
    assert_string_equal(e.msg, msg);
}

static void test_copy_rules(void **state)
{
    bld_ctx *c = ctx();
    bld_sel s = {0};
    sel_ok(c, "a.js", "/app/", true, &s);
    assert_int_equal(s.n, 1);
    assert_non_null(find(&s, "/app/a.js"));
    bld_sel_free(&s);
    sel_ok(c, "a.js", "/app/main.js", false, &s);
    assert_non_null(find(&s, "/app/main.js"));
    bld_sel_free(&s);
    /* A directory: its contents, not itself; the ignore file applies. */
    sel_ok(c, ".", "/app", false, &s);
    assert_non_null(find(&s, "/app"));
    assert_non_null(find(&s, "/app/src/x/y.txt"));
    assert_int_equal(find(&s, "/app/src/x/y.txt")->mode, 0600);
    assert_int_equal(find(&s, "/app/b.js")->mode, 0755);
    assert_null(find(&s, "/app/node_modules"));
    assert_null(find(&s, "/app/docs/drop.md"));
    assert_non_null(find(&s, "/app/docs/keep.md"));
    assert_null(find(&s, "/app/special"));
    bld_sel_free(&s);
    sel_ok(c, "src", "/s", false, &s);
    assert_non_null(find(&s, "/s/z.txt"));
    assert_null(find(&s, "/s/src"));
    bld_sel_free(&s);
    /* Globs, and a symlink that stays inside. */
    sel_ok(c, "*.js", "/g/", true, &s);
    assert_int_equal(s.n, 2);
    bld_sel_free(&s);
    /* A wildcard that matches nothing selects nothing (BuildKit's AllowEmptyWildcard). */
    sel_ok(c, "*.nothing", "/g/", true, &s);
    assert_int_equal(s.n, 0);
    bld_sel_free(&s);
    sel_ok(c, "inside/z.txt", "/i", false, &s);
    assert_non_null(find(&s, "/i"));
    bld_sel_free(&s);
    bld_ctx_free(c);
}

static void test_refusals(void **state)
{
    bld_ctx *c = ctx();
    sel_bad(c, "../x", "source ../x is outside the build context");
    sel_bad(c, "src/../../x", "source src/../../x is outside the build context");
    /* a leading / is the context's root (BuildKit's join("/", src)), never the host's */
    sel_bad(c, "/etc/passwd", "source /etc/passwd not found in the build context");
    /* links resolve inside the context (escape -> /etc is CTX/etc, up -> ../ is CTX) */
    sel_bad(c, "escape/passwd", "source escape/passwd not found in the build context: a symlink on its path "
                                "resolves inside the context (as BuildKit does), and nothing is there");
    sel_bad(c, "up/x", "source up/x not found in the build context: a symlink on its path resolves inside the "
                       "context (as BuildKit does), and nothing is there");
    sel_bad(c, "missing.js", "source missing.js not found in the build context");
    sel_bad(c, "node_modules/m/index.js", "source node_modules/m/index.js is excluded by the ignore file");
    sel_bad(c, "https://example.com/x", "COPY source can not be a URL (https://example.com/x)");
    char msg[512];
    snprintf(msg, sizeof msg, "source special/fifo is excluded by the ignore file");
    sel_bad(c, "special/fifo", msg);
    bld_ctx_free(c);
    /* Without the ignore rule, the fifo is refused by type, never opened. */
    put(".dockerignore", "", 0644);
    c = ctx();
    sel_bad(c, "special/fifo", "source special/fifo: cannot copy a fifo");
    /* In a copied directory, as BuildKit: the fifo is an entry (made, never
     * opened), a unix socket (a dev server's) is skipped. */
    char sp[600];
    snprintf(sp, sizeof sp, "%s/special/dev.sock", dir);
    int so = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(so >= 0 && strlen(sp) < sizeof sa.sun_path);
    memcpy(sa.sun_path, sp, strlen(sp) + 1);
    assert_int_equal(bind(so, (struct sockaddr *)&sa, sizeof sa), 0);
    close(so);
    bld_sel s0 = {0};
    sel_ok(c, "special", "/x", false, &s0);
    bld_item *ff = find(&s0, "/x/fifo");
    assert_non_null(ff);
    assert_int_equal(ff->type, IMG_ENT_FIFO);
    assert_null(find(&s0, "/x/dev.sock"));
    bld_sel_free(&s0);
    unlink(sp);
    put(".dockerignore", "node_modules\ndocs\n!docs/keep.md\nspecial\n", 0644);
    /* Two sources need a directory destination. */
    char *two[] = {"a.js", "b.js"};
    size_t bad;
    nr_err e;
    bld_sel s = {0};
    assert_int_equal(bld_ctx_select(c, two, 2, "/x", false, false, &s, &bad, &e), -1);
    assert_int_equal(bad, 2);
    assert_non_null(strstr(e.msg, "must be a directory"));
    bld_ctx_free(c);
}

static void test_stat_cache(void **state)
{
    nr_err e;
    bld_ctx *c = ctx();
    bld_sel s = {0};
    sel_ok(c, ".", "/app", false, &s);
    char d1[65];
    assert_int_equal(bld_sel_digest(c, &s, d1, &e), 0);
    bld_sel_free(&s);
    assert_true(bld_ctx_files_read(c) > 0);
    assert_int_equal(bld_ctx_save(c, &e), 0);
    bld_ctx_free(c);
    /* A second run reads nothing and gets the same digest. */
    c = ctx();
    sel_ok(c, ".", "/app", false, &s);
    char d2[65];
    assert_int_equal(bld_sel_digest(c, &s, d2, &e), 0);
    bld_sel_free(&s);
    assert_int_equal(bld_ctx_files_read(c), 0);
    assert_string_equal(d1, d2);
    bld_ctx_free(c);
    /* A change (same size) is seen through ctime/mtime, and changes the digest. */
    put("a.js", "Q", 0644);
    c = ctx();
    sel_ok(c, ".", "/app", false, &s);
    assert_int_equal(bld_sel_digest(c, &s, d2, &e), 0);
    bld_sel_free(&s);
    assert_int_equal(bld_ctx_files_read(c), 1);
    assert_string_not_equal(d1, d2);
    bld_ctx_free(c);
    /* A mode change alone changes the digest too. */
    char p[512];
    snprintf(p, sizeof p, "%s/a.js", dir);
    chmod(p, 0600);
    c = ctx();
    sel_ok(c, ".", "/app", false, &s);
    char d3[65];
    assert_int_equal(bld_sel_digest(c, &s, d3, &e), 0);
    bld_sel_free(&s);
    assert_string_not_equal(d2, d3);
    bld_ctx_free(c);
    /* A garbage cache file is ignored, not trusted. */
    snprintf(p, sizeof p, "%s/statcache", cache);
    int fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    const char junk[] = "zz a 1 2 3 4 5 6 7 /x\n\x01\x02 nonsense\n";
    assert_int_equal(nr_write_all(fd, junk, sizeof junk - 1), 0);
    close(fd);
    c = ctx();
    sel_ok(c, "a.js", "/a", false, &s);
    bld_sel_free(&s);
    assert_int_equal(bld_ctx_files_read(c), 1);
    bld_ctx_free(c);
}

static void test_paths(void **state)
{
    const char *cases[][2] = {{"a/../b", "b"}, {"/../x", "/x"}, {"./a/./b/", "a/b"}, {"", "."},
                              {"../../a", "../../a"}, {"//a//b", "/a/b"}, {"a/b/../../..", ".."}};
    for (size_t i = 0; i < NR_ARRAY_LEN(cases); i++) {
        char *c = bld_path_clean(cases[i][0]);
        assert_string_equal(c, cases[i][1]);
        free(c);
    }
    char *j = bld_path_join("/app", "../etc");
    assert_string_equal(j, "/etc");
    free(j);
}

/* A selected file is read again from the context's fd, never by its host
 * path: a parent swapped for a symlink since the selection (to the host or
 * even inside the context) fails, it never reads what the link points at. */
static void test_swapped_parent(void **state)
{
    nr_err e;
    bld_ctx *c = ctx();
    bld_sel s = {0};
    sel_ok(c, "src/z.txt", "/z", false, &s);
    bld_item *it = find(&s, "/z");
    assert_non_null(it);
    assert_true(it->in_tree);
    assert_ptr_equal(s.ctx, c);
    assert_string_equal(bld_ctx_rel(c, it->host), "src/z.txt");
    int fd = bld_ctx_open_host(c, it->host, O_RDONLY, &e);
    assert_true(fd >= 0);
    close(fd);
    char out[300], p[512], real[512], msg[700];
    snprintf(out, sizeof out, "%s.out", dir);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(p, sizeof p, "%s/z.txt", out);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(nr_write_all(fd, "S", 1), 0);
    close(fd);
    snprintf(p, sizeof p, "%s/src", dir);
    snprintf(real, sizeof real, "%s/src.real", dir);
    assert_int_equal(rename(p, real), 0);
    snprintf(msg, sizeof msg, "%s changed while reading the build context (a symlink in its path)", it->host);
    const char *targets[] = {out, "src.real"};
    for (size_t i = 0; i < NR_ARRAY_LEN(targets); i++) {
        assert_int_equal(symlink(targets[i], p), 0);
        assert_int_equal(bld_ctx_open_host(c, it->host, O_RDONLY, &e), -1);
        assert_string_equal(e.msg, msg);
        assert_int_equal(unlink(p), 0);
    }
    assert_int_equal(rename(real, p), 0);
    /* only paths below the context have a relative name */
    assert_string_equal(bld_ctx_rel(c, dir), ".");
    assert_null(bld_ctx_rel(c, "/etc/passwd"));
    snprintf(p, sizeof p, "%sx/a.js", dir);
    assert_null(bld_ctx_rel(c, p));
    assert_int_equal(bld_ctx_open_host(c, "/etc/passwd", O_RDONLY, &e), -1);
    bld_sel_free(&s);
    bld_ctx_free(c);
    nr_rm_rf(AT_FDCWD, out, &e);
}

/* A kernel without openat2 (ENOSYS, as seccomp makes it here), or a seccomp
 * filter that refuses it with EPERM (Docker's default profile before 20.10):
 * the walk one component at a time still selects and reads the context, and
 * follows no symlink at all, so nothing outside is ever reached. */
#define CHILD_CHECK(x) \
    do { \
        if (!(x)) \
            _exit(__LINE__ % 250 + 1); \
    } while (0)

static void no_openat2(int e)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)e),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = NR_ARRAY_LEN(f), .filter = f};
    CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHILD_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
    CHILD_CHECK(syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) < 0 && errno == e);
}

static int child_select(bld_ctx *c, const char *src, bld_sel *s, nr_err *e)
{
    char *srcs[] = {(char *)src};
    size_t bad;
    memset(s, 0, sizeof *s);
    return bld_ctx_select(c, srcs, 1, "/d/", true, false, s, &bad, e);
}

static void without_openat2(int errnum)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        no_openat2(errnum);
        bld_ctx *c;
        nr_err e;
        bld_sel s;
        char d[65];
        CHILD_CHECK(bld_ctx_open(dir, NULL, NULL, &c, &e) == 0);
        CHILD_CHECK(child_select(c, "src/x/y.txt", &s, &e) == 0 && s.n == 1);
        int fd = bld_ctx_open_host(c, s.items[0].host, O_RDONLY, &e);
        CHILD_CHECK(fd >= 0);
        close(fd);
        bld_sel_free(&s);
        CHILD_CHECK(child_select(c, ".", &s, &e) == 0 && bld_sel_digest(c, &s, d, &e) == 0);
        bld_sel_free(&s);
        CHILD_CHECK(child_select(c, "*.js", &s, &e) == 0 && s.n == 2);
        bld_sel_free(&s);
        /* links: refused, the one inside too (stricter than openat2) */
        CHILD_CHECK(child_select(c, "escape/passwd", &s, &e) < 0 && strstr(e.msg, "no openat2"));
        CHILD_CHECK(child_select(c, "up/x", &s, &e) < 0 && strstr(e.msg, "symlink"));
        CHILD_CHECK(child_select(c, "inside/z.txt", &s, &e) < 0 && strstr(e.msg, "symlink"));
        CHILD_CHECK(child_select(c, "e*/passwd", &s, &e) < 0 && strstr(e.msg, "symlink"));
        bld_ctx_free(c);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st))
        fail_msg("the child failed near test_context.c line %d (mod 250)", WEXITSTATUS(st) - 1);
}

static void test_no_openat2(void **state)
{
    (void)state;
    without_openat2(ENOSYS);
}

static void test_openat2_eperm(void **state)
{
    (void)state;
    without_openat2(EPERM);
}

/* A source through a link that leads out of the context, as BuildKit reads
 * it: the context is the root, so /etc/passwd is CTX/etc/passwd; an ignored
 * target is refused; a link met inside a copied directory stays a link. */
static void test_links_in_root(void **state)
{
    (void)state;
    char p[512];
    put("etc/passwd", "CTXPW", 0644);
    put("keep/f", "F", 0644);
    snprintf(p, sizeof p, "%s/pw", dir);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof p, "%s/deep", dir);
    assert_int_equal(symlink("../../../../../../etc", p), 0);
    snprintf(p, sizeof p, "%s/keep/l", dir);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof p, "%s/gone", dir);
    assert_int_equal(symlink("/nothing/here", p), 0);
    snprintf(p, sizeof p, "%s/hidden", dir);
    assert_int_equal(symlink("/docs/drop.md", p), 0);
    bld_ctx *c = ctx();
    const char *via[] = {"pw", "escape/passwd", "deep/passwd", "up/etc/passwd", "es*/passwd"};
    for (size_t i = 0; i < NR_ARRAY_LEN(via); i++) {
        bld_sel s;
        char *srcs[] = {(char *)via[i]};
        size_t bad;
        nr_err e;
        if (bld_ctx_select(c, srcs, 1, "/d/", true, false, &s, &bad, &e) < 0)
            fail_msg("%s: %s", via[i], e.msg);
        assert_int_equal(s.n, 1);
        snprintf(p, sizeof p, "%s/etc/passwd", dir);
        assert_string_equal(s.items[0].host, p);
        int fd = bld_ctx_open_host(c, s.items[0].host, O_RDONLY, &e);
        assert_true(fd >= 0);
        char buf[16] = "";
        assert_int_equal(read(fd, buf, sizeof buf), 5);
        assert_string_equal(buf, "CTXPW");
        close(fd);
        bld_sel_free(&s);
    }
    bld_sel s = {0};
    sel_ok(c, "keep", "/k", true, &s);
    bld_item *l = find(&s, "/k/l");
    assert_non_null(l);
    assert_int_equal(l->type, IMG_ENT_SYMLINK);
    assert_string_equal(l->link, "/etc/passwd");
    bld_sel_free(&s);
    sel_bad(c, "gone", "source gone not found in the build context: it is a symlink to /nothing/here, which "
                       "resolves inside the context (as BuildKit does), and nothing is there");
    sel_bad(c, "hidden", "source hidden is a symlink to docs/drop.md, which the ignore file excludes");
    bld_ctx_free(c);
    const char *made[] = {"pw", "deep", "keep", "gone", "hidden", "etc"};
    nr_err e;
    for (size_t i = 0; i < NR_ARRAY_LEN(made); i++)
        nr_rm_rf(AT_FDCWD, (snprintf(p, sizeof p, "%s/%s", dir, made[i]), p), &e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_rules),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_stat_cache),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_swapped_parent),
        cmocka_unit_test(test_no_openat2),
        cmocka_unit_test(test_openat2_eperm),
        cmocka_unit_test(test_links_in_root),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
