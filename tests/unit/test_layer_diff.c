/* Unit tests of img_layer_add_upper: an overlay upper dir made by hand
 * (whiteouts as 0/0 devices and as xattrs, opaque dirs, hardlinks, symlinks,
 * setuid files, FIFOs, sockets, skipped mount points) becomes the layer an
 * OCI reader expects; what a layer cannot carry is an error naming it. */
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include "store_fixture.h"

static char up[256];

static int up_setup(void **state)
{
    snprintf(up, sizeof up, "/tmp/nrun-unit-upper.XXXXXX");
    if (!mkdtemp(up))
        return -1;
    return setup(state);
}

static int up_teardown(void **state)
{
    nr_err err;
    nr_rm_rf(AT_FDCWD, up, &err);
    return teardown(state);
}

static void mk(const char *rel, mode_t type_mode, const char *content)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", up, rel);
    if (S_ISDIR(type_mode)) {
        assert_int_equal(mkdir(p, type_mode & 07777), 0);
        assert_int_equal(chmod(p, type_mode & 07777), 0);
    } else if (S_ISREG(type_mode)) {
        write_file(p, content ? content : "", 12345);
        assert_int_equal(chmod(p, type_mode & 07777), 0);
    } else if (S_ISLNK(type_mode)) {
        assert_int_equal(symlink(content, p), 0);
    } else {
        assert_int_equal(mknod(p, type_mode, 0), 0);
        assert_int_equal(chmod(p, type_mode & 07777), 0);
    }
}

static void xattr(const char *rel, const char *name, const char *val)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", up, rel);
    if (lsetxattr(p, name, val, strlen(val), 0) < 0)
        fail_msg("setxattr %s %s: %s", p, name, strerror(errno));
}

typedef struct seen {
    char path[128];
    mode_t type, perm;
    uid_t uid;
    char link[128];
    char data[64];
    la_int64_t size;
    char caps[48]; /* security.capability, hex */
} seen;

/* Convert the upper dir, commit, read the layer back. */
static size_t convert(const img_upper_opts *o, long *added, seen *out, size_t max)
{
    nr_err err;
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    int fd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd > 0);
    *added = img_layer_add_upper(w, fd, o, &err);
    if (*added < 0)
        fail_msg("add upper: %s", err.msg);
    img_layer_info li;
    if (img_layer_writer_commit(w, &li, &err) < 0)
        fail_msg("commit: %s", err.msg);
    close(fd);
    img_layer_reader *r;
    assert_int_equal(img_layer_reader_open(S, li.digest, (int64_t)li.size, li.diff_id, &r, &err), 0);
    struct archive *a = img_layer_reader_archive(r);
    struct archive_entry *e;
    size_t n = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        assert_true(n < max);
        seen *s = &out[n++];
        memset(s, 0, sizeof *s);
        snprintf(s->path, sizeof s->path, "%s", archive_entry_pathname(e));
        s->type = archive_entry_filetype(e);
        s->perm = archive_entry_perm(e);
        s->uid = (uid_t)archive_entry_uid(e);
        s->size = archive_entry_size(e);
        const char *l = archive_entry_symlink(e) ? archive_entry_symlink(e) : archive_entry_hardlink(e);
        snprintf(s->link, sizeof s->link, "%s", l ? l : "");
        if (s->size > 0)
            assert_true(archive_read_data(a, s->data, sizeof s->data - 1) >= 0);
        const char *xn;
        const void *xv;
        size_t xl;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK) {
            assert_string_equal(xn, "security.capability");
            for (size_t i = 0; i < xl && 2 * i + 2 < sizeof s->caps; i++)
                sprintf(s->caps + 2 * i, "%02x", ((const unsigned char *)xv)[i]);
        }
    }
    assert_int_equal(img_layer_reader_finish(r, &err), 0);
    img_layer_reader_close(r);
    return n;
}

static const seen *find(const seen *v, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].path, path))
            return &v[i];
    fail_msg("no entry %s in the layer", path);
    return NULL;
}

static char dirs[1024];
static void dir_cb(void *arg, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    size_t l = strlen(dirs);
    snprintf(dirs + l, sizeof dirs - l, "%s %o %u;", path, (unsigned)mode, (unsigned)uid);
}

static void test_upper_entries(void **state)
{
    char p[512], q[512];
    mk("gone", S_IFCHR, NULL); /* overlay whiteout: 0/0 */
    mk("xw", S_IFREG | 0644, "");           /* xattr whiteout */
    xattr("xw", "trusted.overlay.whiteout", "");
    mk("opq", S_IFDIR | 0750, NULL);        /* opaque: deleted then recreated */
    xattr("opq", "trusted.overlay.opaque", "y");
    mk("opq/new.txt", S_IFREG | 0644, "new\n");
    mk("xdir", S_IFDIR | 0755, NULL);       /* "x": holds xattr whiteouts, not opaque */
    xattr("xdir", "trusted.overlay.opaque", "x");
    mk("udir", S_IFDIR | 0755, NULL);       /* user.* is data unless userxattr */
    xattr("udir", "user.overlay.opaque", "y");
    mk("hard2", S_IFREG | 0640, "shared\n"); /* made first, but hard1 sorts first */
    snprintf(p, sizeof p, "%s/hard2", up);
    snprintf(q, sizeof q, "%s/hard1", up);
    assert_int_equal(link(p, q), 0);
    mk("link", S_IFLNK, "../target//x");
    mk("suid", S_IFREG | 0644, "#!/bin/sh\n");
    snprintf(p, sizeof p, "%s/suid", up);
    assert_int_equal(chown(p, 7, 8), 0);
    assert_int_equal(chmod(p, 04755), 0); /* after chown, which clears it */
    /* setcap cap_net_bind_service=ep: v2, effective, permitted bit 10 */
    static const unsigned char caps[20] = {0x01, 0, 0, 0x02, 0, 0x04};
    if (setxattr(p, "security.capability", caps, sizeof caps, 0) < 0)
        fail_msg("setcap: %s", strerror(errno));
    mk("empty", S_IFDIR | 01777, NULL);
    mk("a", S_IFDIR | 0755, NULL);
    mk("a/b", S_IFDIR | 02755, NULL);
    mk("a/b/c", S_IFDIR | 0700, NULL);
    mk("a/b/c/deep.txt", S_IFREG | 0600, "deep\n");
    mk("fifo", S_IFIFO | 0620, NULL);
    mk("dev", S_IFDIR | 0755, NULL);        /* a mount point: skipped with its content */
    mk("dev/null", S_IFCHR | 0666, NULL);
    snprintf(p, sizeof p, "%s/dev/null", up);
    unlink(p);
    assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
    mk("etc", S_IFDIR | 0755, NULL);
    mk("etc/hosts", S_IFREG | 0644, "127.0.0.1\n");
    mk("etc/passwd", S_IFREG | 0644, "root\n");
    int sk = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(up) + 6 < sizeof sa.sun_path);
    memcpy(sa.sun_path, up, strlen(up));
    memcpy(sa.sun_path + strlen(up), "/sock", 6);
    assert_int_equal(bind(sk, (struct sockaddr *)&sa, sizeof sa), 0);
    close(sk);

    const char *skip[] = {"/dev", "etc//hosts/", NULL};
    img_upper_opts o = {.skip = skip, .dir_cb = dir_cb};
    dirs[0] = 0;
    seen v[64];
    long added;
    size_t n = convert(&o, &added, v, 64);
    const char *want[] = {".wh.gone", ".wh.xw", "a/", "a/b/", "a/b/c/", "a/b/c/deep.txt", "empty/", "etc/",
                          "etc/passwd", "fifo", "hard1", "hard2", "link", "opq/", "opq/.wh..wh..opq", "opq/new.txt",
                          "suid", "udir/", "xdir/"};
    for (size_t i = 0; i < n && i < NR_ARRAY_LEN(want); i++)
        assert_string_equal(v[i].path, want[i]);
    assert_int_equal(n, NR_ARRAY_LEN(want));
    assert_int_equal(added, (long)n);

    assert_int_equal(find(v, n, ".wh.gone")->type, AE_IFREG);
    assert_int_equal(find(v, n, ".wh.gone")->size, 0);
    assert_int_equal(find(v, n, "opq/.wh..wh..opq")->size, 0);
    assert_int_equal(find(v, n, "opq/")->perm, 0750);
    assert_int_equal(find(v, n, "empty/")->perm, 01777);
    assert_int_equal(find(v, n, "a/b/")->perm, 02755);
    assert_int_equal(find(v, n, "a/b/c/")->type, AE_IFDIR);
    const seen *s = find(v, n, "suid");
    assert_int_equal(s->perm, 04755);
    assert_int_equal(s->uid, 7);
    assert_string_equal(s->data, "#!/bin/sh\n");
    assert_string_equal(s->caps, "0100000200040000000000000000000000000000");
    assert_string_equal(find(v, n, "hard1")->caps, "");
    assert_int_equal(find(v, n, "fifo")->type, AE_IFIFO);
    assert_int_equal(find(v, n, "fifo")->perm, 0620);
    s = find(v, n, "link");
    assert_int_equal(s->type, AE_IFLNK);
    assert_string_equal(s->link, "../target//x"); /* verbatim */
    s = find(v, n, "hard1"); /* first in path order: the content */
    assert_string_equal(s->link, "");
    assert_string_equal(s->data, "shared\n");
    assert_int_equal(s->perm, 0640);
    s = find(v, n, "hard2");
    assert_string_equal(s->link, "hard1");
    assert_int_equal(s->size, 0);
    assert_string_equal(find(v, n, "a/b/c/deep.txt")->data, "deep\n");
    assert_string_equal(dirs, "/a 755 0;/a/b 2755 0;/a/b/c 700 0;/empty 1777 0;/etc 755 0;/opq 750 0;/udir 755 0;"
                              "/xdir 755 0;");

    /* Rootless: user.overlay.* is overlay's, trusted.* is not looked at. */
    img_upper_opts u = {.skip = skip, .userxattr = true};
    n = convert(&u, &added, v, 64);
    find(v, n, "udir/.wh..wh..opq");
    find(v, n, ".wh.gone"); /* a 0/0 device is a whiteout in both modes */
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(v[i].path, "opq/.wh..wh..opq"));
    find(v, n, "xw"); /* an empty file now */
}

static void test_upper_empty(void **state)
{
    seen v[4];
    long added;
    assert_int_equal(convert(NULL, &added, v, 4), 0);
    assert_int_equal(added, 0);
    mk("proc", S_IFDIR | 0555, NULL);
    const char *skip[] = {"proc", NULL};
    img_upper_opts o = {.skip = skip};
    assert_int_equal(convert(&o, &added, v, 4), 0);
    assert_int_equal(added, 0);
}

/* What a layer cannot carry is refused, naming the path. */
static void expect_refused(const char *what)
{
    nr_err err;
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    int fd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(img_layer_add_upper(w, fd, NULL, &err), -1);
    if (!strstr(err.msg, what))
        fail_msg("error \"%s\" does not name %s", err.msg, what);
    img_layer_writer_abort(w);
    close(fd);
    nr_rm_rf(AT_FDCWD, up, &err);
    assert_int_equal(mkdir(up, 0700), 0);
}

static void test_upper_refused(void **state)
{
    char p[512];
    mk("d", S_IFDIR | 0755, NULL);
    snprintf(p, sizeof p, "%s/d/tty", up);
    assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(5, 0)), 0);
    expect_refused("\"d/tty\": device node c 5:0");

    mk("blk", S_IFBLK | 0600, NULL);
    expect_refused("\"blk\": device node b 0:0");

    mk(".wh.sneaky", S_IFREG | 0644, "x");
    expect_refused("\".wh.sneaky\"");

    mk("meta", S_IFREG | 0644, "");
    xattr("meta", "trusted.overlay.metacopy", "");
    expect_refused("\"meta\": an overlay metacopy");

    mk("moved", S_IFDIR | 0755, NULL);
    xattr("moved", "trusted.overlay.redirect", "/old");
    expect_refused("\"moved\": an overlay redirect");

    nr_err err;
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    int fd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *bad[] = {"a/../b", NULL};
    img_upper_opts o = {.skip = bad};
    assert_int_equal(img_layer_add_upper(w, fd, &o, &err), -1);
    assert_non_null(strstr(err.msg, "a/../b"));
    img_layer_writer_abort(w);
    close(fd);
}

/* Deep nests are walked without recursion; a path too long for openat2 is
 * an error, not a crash. */
static void test_upper_deep(void **state)
{
    int fd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int depth = 0;
    for (; depth < 1500; depth++) {
        assert_int_equal(mkdirat(fd, "d", 0755), 0);
        int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        fd = nfd;
    }
    close(fd);
    seen v[1];
    long added;
    nr_err err;
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    fd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    added = img_layer_add_upper(w, fd, NULL, &err);
    if (added < 0)
        fail_msg("deep: %s", err.msg);
    assert_int_equal(added, 1500);
    img_layer_writer_abort(w);
    (void)v;

    /* 2100 levels: 4199 bytes of path */
    int dfd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; i < 2100; i++) {
        if (mkdirat(dfd, "d", 0755) < 0 && errno != EEXIST)
            fail_msg("mkdir: %s", strerror(errno));
        int nfd = openat(dfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(dfd);
        dfd = nfd;
    }
    close(dfd);
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    assert_int_equal(img_layer_add_upper(w, fd, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "path longer than"));
    img_layer_writer_abort(w);
    close(fd);
}

int main(void)
{
    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root (mknod, trusted.* xattrs)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upper_entries, up_setup, up_teardown),
        cmocka_unit_test_setup_teardown(test_upper_empty, up_setup, up_teardown),
        cmocka_unit_test_setup_teardown(test_upper_refused, up_setup, up_teardown),
        cmocka_unit_test_setup_teardown(test_upper_deep, up_setup, up_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
