/* Unit tests of the image store (images/): blobs, refs, tags, layers,
 * image write/load, hostile JSON, export/import, prune.
 *
 * Also a test aid for the e2e tests, so they can make images with our own
 * layer writer before nbuild exists:
 *   test_store --make-image ROOT NAME:TAG [gzip|zstd]
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/util.h"
#include "images/image.h"
#include "images/layer.h"
#include "images/oci.h"
#include "images/ref.h"
#include "images/store.h"

static char root[256];
static img_store *S;

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/nrun-unit-store.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    nr_err err;
    return img_store_open(root, &S, &err);
}

static int teardown(void **state)
{
    nr_err err;
    img_store_close(S);
    S = NULL;
    return nr_rm_rf(AT_FDCWD, root, &err);
}

static void flip_byte(const char *digest, long off)
{
    char p[512];
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", root, img_digest_hex(digest));
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x01;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* ---- blobs ---- */

static void test_blob_put_read_verify(void **state)
{
    nr_err err;
    char d[IMG_DIGEST_MAX];
    assert_int_equal(img_blob_put(S, "hello", 5, d, &err), 0);
    assert_string_equal(d, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_true(img_blob_exists(S, d));
    char *data;
    size_t len;
    assert_int_equal(img_blob_read(S, d, 100, &data, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    /* Too large for the caller's bound. */
    assert_int_equal(img_blob_read(S, d, 3, &data, &len, &err), -1);
    /* A flipped byte: error names the digest, nothing handed out. */
    flip_byte(d, 1);
    data = NULL;
    assert_int_equal(img_blob_read(S, d, 100, &data, &len, &err), -1);
    assert_null(data);
    assert_non_null(strstr(err.msg, d));
    assert_non_null(strstr(err.msg, "corrupt"));
    assert_int_equal(img_blob_verify(S, d, &err), -1);
    /* The streaming reader reports it at EOF, not 0. */
    img_blob_reader *r;
    assert_int_equal(img_blob_reader_open(S, d, 5, &r, &err), 0);
    char buf[16];
    assert_int_equal(img_blob_reader_read(r, buf, sizeof buf, &err), 5);
    assert_int_equal(img_blob_reader_read(r, buf, sizeof buf, &err), -1);
    assert_non_null(strstr(err.msg, d));
    img_blob_reader_close(r);
    /* Wrong expected size. */
    char d2[IMG_DIGEST_MAX];
    assert_int_equal(img_blob_put(S, "world", 5, d2, &err), 0);
    assert_int_equal(img_blob_reader_open(S, d2, 4, &r, &err), 0);
    assert_int_equal(img_blob_reader_finish(r, &err), -1);
    img_blob_reader_close(r);
    assert_false(img_blob_exists(S, "sha256:00"));
    assert_false(img_blob_exists(S, "../../etc/passwd"));
    assert_int_equal(img_blob_reader_open(S, "sha256:../x", -1, &r, &err), -1);
}

static int count_dir(const char *sub)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, sub);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
    closedir(d);
    return n;
}

static void test_blob_writer_stream_abort(void **state)
{
    nr_err err;
    img_blob_writer *w;
    assert_int_equal(img_blob_writer_new(S, &w, &err), 0);
    assert_int_equal(img_blob_writer_write(w, "ab", 2, &err), 0);
    assert_int_equal(img_blob_writer_write(w, "c", 1, &err), 0);
    assert_int_equal(count_dir("blobs/sha256"), 0); /* nothing visible before commit */
    char d[IMG_DIGEST_MAX];
    uint64_t size;
    assert_int_equal(img_blob_writer_commit(w, d, &size, &err), 0);
    assert_int_equal(size, 3);
    assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(count_dir("blobs/sha256"), 1);
    assert_int_equal(img_blob_writer_new(S, &w, &err), 0);
    assert_int_equal(img_blob_writer_write(w, "zzz", 3, &err), 0);
    img_blob_writer_abort(w);
    assert_int_equal(count_dir("blobs/sha256"), 1);
    /* A stale temp file of a dead process is removed on open. */
    char p[512];
    snprintf(p, sizeof p, "%s/blobs/sha256/.tmp-999999999-x", root);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    img_store *s2;
    assert_int_equal(img_store_open(root, &s2, &err), 0);
    img_store_close(s2);
    assert_int_equal(access(p, F_OK), -1);
}

/* ---- refs ---- */

static void test_ref_parse(void **state)
{
    nr_err err;
    char out[512];
    static const char *good[][2] = {
        {"app", "app:latest"},
        {"app:1.2", "app:1.2"},
        {"team/app:v_1-2.3", "team/app:v_1-2.3"},
        {"localhost:5000/x/y:tag", "localhost:5000/x/y:tag"},
        {"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"},
        {"Registry.Example.com/a__b-c.d---e:v", "Registry.Example.com/a__b-c.d---e:v"},
        {"a/b/c/d", "a/b/c/d:latest"},
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(good); i++) {
        if (img_ref_normalize(good[i][0], out, sizeof out, &err) < 0)
            fail_msg("%s: %s", good[i][0], err.msg);
        assert_string_equal(out, good[i][1]);
    }
    img_ref r;
    assert_int_equal(img_ref_parse("x/y@sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", &r, &err), 0);
    assert_string_equal(r.name, "x/y");
    assert_string_equal(r.tag, "");
    assert_true(img_digest_valid(r.digest));
    static const char *bad[] = {"", "App", "a:", ":tag", "a b", "a//b", "-a", "a-", "a:tag:x", "a/../b", "a/./b",
                                "a:-tag", "a@sha256:zz", "a\nb", "a/", "/a", "a..b", "a_-b", "a___b", "é",
                                "localhost:99999999/a", "a:" /* empty tag */, "a@"};
    for (size_t i = 0; i < NR_ARRAY_LEN(bad); i++) {
        memset(&err, 0, sizeof err);
        if (img_ref_parse(bad[i], &r, &err) == 0)
            fail_msg("accepted bad reference \"%s\"", bad[i]);
        assert_non_null(strstr(err.msg, "invalid reference format"));
    }
    char longtag[200];
    memset(longtag, 'a', sizeof longtag);
    memcpy(longtag, "x:", 2);
    longtag[sizeof longtag - 1] = '\0';
    assert_int_equal(img_ref_parse(longtag, &r, &err), -1);
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(img_ref_parse(longname, &r, &err), -1);
    assert_true(img_tag_valid("1.2"));
    assert_false(img_tag_valid(".x"));
}

/* ---- layers ---- */

static void write_file(const char *path, const char *content, time_t mtime)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
    utimes(path, tv);
}

static void make_layer(img_compress c, bool reverse, img_layer_info *info)
{
    nr_err err;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/cache/a.txt", root);
    snprintf(b, sizeof b, "%s/cache/b.txt", root);
    time_t t = reverse ? 1000000 : 2000000; /* host mtimes differ between the two builds */
    write_file(a, "alpha\n", t);
    write_file(b, "bravo bravo\n", t + 5);
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, c, -1, &w, &err), 0);
    int fd = open(b, O_RDONLY);
    if (!reverse) {
        assert_int_equal(img_layer_add_dir(w, "/app", 0755, 1000, 1000, &err), 0);
        assert_int_equal(img_layer_add_file(w, "/app/a.txt", a, 6, 0644, 1000, 1000, &err), 0);
        assert_int_equal(img_layer_add_file_fd(w, "app/b.txt", fd, 12, 0600, 0, 0, &err), 0);
        assert_int_equal(img_layer_add_symlink(w, "app/link", "a.txt", 0, 0, &err), 0);
        assert_int_equal(img_layer_add_hardlink(w, "app/0hard", "app/a.txt", &err), 0);
        assert_int_equal(img_layer_add_data(w, "etc/motd", "hi\n", 3, 0644, 0, 0, &err), 0);
        assert_int_equal(img_layer_add_whiteout(w, "old/gone", &err), 0);
        assert_int_equal(img_layer_add_opaque(w, "var/cache", &err), 0);
        assert_int_equal(img_layer_add_data(w, "etc/motd", "hello\n", 6, 0644, 0, 0, &err), 0); /* last wins */
    } else {
        assert_int_equal(img_layer_add_opaque(w, "var/cache", &err), 0);
        assert_int_equal(img_layer_add_data(w, "./etc//motd", "hello\n", 6, 0644, 0, 0, &err), 0);
        assert_int_equal(img_layer_add_whiteout(w, "/old/gone/", &err), 0);
        assert_int_equal(img_layer_add_hardlink(w, "app/0hard", "app/a.txt", &err), 0);
        assert_int_equal(img_layer_add_symlink(w, "app/link", "a.txt", 0, 0, &err), 0);
        assert_int_equal(img_layer_add_file_fd(w, "app/b.txt", fd, 12, 0600, 0, 0, &err), 0);
        assert_int_equal(img_layer_add_file(w, "app/a.txt", a, 6, 0644, 1000, 1000, &err), 0);
        assert_int_equal(img_layer_add_dir(w, "app/", 0755, 1000, 1000, &err), 0);
    }
    close(fd);
    if (img_layer_writer_commit(w, info, &err) < 0)
        fail_msg("commit: %s", err.msg);
}

static void test_layer_reproducible(void **state)
{
    img_layer_info x, y, z;
    unsetenv("SOURCE_DATE_EPOCH");
    make_layer(IMG_COMPRESS_GZIP, false, &x);
    make_layer(IMG_COMPRESS_GZIP, true, &y);
    assert_string_equal(x.digest, y.digest);
    assert_string_equal(x.diff_id, y.diff_id);
    assert_int_equal(x.size, y.size);
    assert_string_equal(x.media_type, IMG_MT_LAYER_GZIP);
    make_layer(IMG_COMPRESS_ZSTD, true, &z);
    assert_string_equal(z.media_type, IMG_MT_LAYER_ZSTD);
    assert_string_equal(z.diff_id, x.diff_id); /* same tar, other compression */
    assert_string_not_equal(z.digest, x.digest);

    /* Read it back: sorted, mtime 0, numeric ids, no names, links right. */
    nr_err err;
    img_layer_reader *r;
    assert_int_equal(img_layer_reader_open(S, x.digest, (int64_t)x.size, x.diff_id, &r, &err), 0);
    struct archive *a = img_layer_reader_archive(r);
    struct archive_entry *e;
    const char *want[] = {"app/", "app/0hard", "app/a.txt", "app/b.txt", "app/link", "etc/motd", "old/.wh.gone",
                          "var/cache/.wh..wh..opq"};
    size_t n = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        assert_true(n < NR_ARRAY_LEN(want));
        assert_string_equal(archive_entry_pathname(e), want[n]);
        assert_int_equal(archive_entry_mtime(e), 0);
        assert_false(archive_entry_atime_is_set(e));
        assert_false(archive_entry_ctime_is_set(e));
        assert_true(!archive_entry_uname(e) || !*archive_entry_uname(e));
        assert_true(!archive_entry_gname(e) || !*archive_entry_gname(e));
        if (!strcmp(want[n], "app/0hard")) {
            assert_int_equal(archive_entry_size(e), 6); /* first name carries the content */
            assert_int_equal(archive_entry_uid(e), 1000);
        }
        if (!strcmp(want[n], "app/a.txt"))
            assert_string_equal(archive_entry_hardlink(e), "app/0hard");
        if (!strcmp(want[n], "app/b.txt"))
            assert_int_equal(archive_entry_perm(e), 0600);
        if (!strcmp(want[n], "app/link"))
            assert_string_equal(archive_entry_symlink(e), "a.txt");
        if (!strcmp(want[n], "etc/motd")) {
            char buf[16] = "";
            assert_int_equal(archive_read_data(a, buf, sizeof buf), 6);
            assert_string_equal(buf, "hello\n");
        }
        n++;
    }
    assert_int_equal(n, NR_ARRAY_LEN(want));
    assert_int_equal(img_layer_reader_finish(r, &err), 0);
    img_layer_reader_close(r);

    /* SOURCE_DATE_EPOCH moves every mtime, so the digest changes. */
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    img_layer_info w;
    make_layer(IMG_COMPRESS_GZIP, false, &w);
    unsetenv("SOURCE_DATE_EPOCH");
    assert_string_not_equal(w.diff_id, x.diff_id);

    /* A wrong diff_id, and a corrupt blob, are reported by finish. */
    assert_int_equal(img_layer_reader_open(S, x.digest, (int64_t)x.size, y.digest, &r, &err), 0);
    a = img_layer_reader_archive(r);
    while (archive_read_next_header(a, &e) == ARCHIVE_OK)
        ;
    assert_int_equal(img_layer_reader_finish(r, &err), -1);
    assert_non_null(strstr(err.msg, "diff_id"));
    img_layer_reader_close(r);
    flip_byte(x.digest, (long)x.size - 3);
    assert_int_equal(img_layer_reader_open(S, x.digest, (int64_t)x.size, x.diff_id, &r, &err), 0);
    a = img_layer_reader_archive(r);
    while (archive_read_next_header(a, &e) == ARCHIVE_OK)
        ;
    assert_int_equal(img_layer_reader_finish(r, &err), -1);
    assert_non_null(strstr(err.msg, x.digest));
    img_layer_reader_close(r);
}


/* Long names, UTF-8 names, big ids: PAX records appear, but only the needed
 * ones (no atime/ctime, no pid-based header names) and the bytes repeat. */
static void raw_tar(const char *digest, nr_buf *out)
{
    char p[512];
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", root, img_digest_hex(digest));
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    assert_int_equal(archive_read_open_filename(a, p, 65536), ARCHIVE_OK);
    struct archive_entry *e;
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
        nr_buf_add(out, buf, (size_t)n);
    archive_read_free(a);
}

static void long_layer(img_layer_info *info)
{
    nr_err err;
    char longp[300];
    memset(longp, 'd', sizeof longp);
    for (int i = 50; i < 290; i += 50)
        longp[i] = '/';
    longp[sizeof longp - 1] = '\0';
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    if (img_layer_add_data(w, longp, "x", 1, 0644, 3000000, 3000000, &err) < 0 ||
        img_layer_add_data(w, "app/caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac.txt", "y", 1, 0644, 0, 0, &err) < 0 ||
        img_layer_add_symlink(w, "lnk", longp, 0, 0, &err) < 0)
        fail_msg("add: %s", err.msg);
    if (img_layer_writer_commit(w, info, &err) < 0)
        fail_msg("commit: %s", err.msg);
}

static void test_layer_pax_names(void **state)
{
    img_layer_info x, y;
    long_layer(&x);
    long_layer(&y);
    assert_string_equal(x.digest, y.digest);
    nr_buf t = {0};
    raw_tar(x.digest, &t);
    assert_null(memmem(t.data, t.len, "atime", 5));
    assert_null(memmem(t.data, t.len, "ctime", 5));
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    assert_null(memmem(t.data, t.len, "PaxHeaders.", 11));
    assert_non_null(memmem(t.data, t.len, "caf\xc3\xa9", 5)); /* UTF-8 kept as is */
    nr_buf_free(&t);
    /* And a tar reader sees the names and ids back. */
    nr_err err;
    img_layer_reader *r;
    assert_int_equal(img_layer_reader_open(S, x.digest, -1, x.diff_id, &r, &err), 0);
    struct archive_entry *e;
    int n = 0;
    while (archive_read_next_header(img_layer_reader_archive(r), &e) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        assert_non_null(p);
        if (strlen(p) > 250) {
            assert_int_equal(archive_entry_uid(e), 3000000);
            n++;
        }
        if (strstr(p, "caf\xc3\xa9-"))
            n++;
        if (!strcmp(p, "lnk") && strlen(archive_entry_symlink(e)) > 250)
            n++;
    }
    assert_int_equal(n, 3);
    assert_int_equal(img_layer_reader_finish(r, &err), 0);
    img_layer_reader_close(r);
}

static void test_layer_bad_entries(void **state)
{
    nr_err err;
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    assert_int_equal(img_layer_add_data(w, "../etc/passwd", "x", 1, 0644, 0, 0, &err), -1);
    assert_int_equal(img_layer_add_data(w, "a/../../b", "x", 1, 0644, 0, 0, &err), -1);
    assert_int_equal(img_layer_add_data(w, "/", "x", 1, 0644, 0, 0, &err), -1);
    assert_int_equal(img_layer_add_hardlink(w, "x", "../y", &err), -1);
    assert_int_equal(img_layer_add_hardlink(w, "x", "missing", &err), 0);
    assert_int_equal(img_layer_writer_commit(w, &(img_layer_info){0}, &err), -1);
    assert_non_null(strstr(err.msg, "missing"));
    /* A file that changed size between add and commit. */
    char p[512];
    snprintf(p, sizeof p, "%s/cache/grow", root);
    write_file(p, "12345", 0);
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    assert_int_equal(img_layer_add_file(w, "grow", p, 3, 0644, 0, 0, &err), 0);
    assert_int_equal(img_layer_writer_commit(w, &(img_layer_info){0}, &err), -1);
    assert_non_null(strstr(err.msg, p));
    assert_int_equal(count_dir("blobs/sha256"), 0); /* nothing half-written */
    /* Compression level: part of the blob, not of the tar. */
    img_layer_info l1, l9;
    for (int lv = 1; lv <= 9; lv += 8) {
        assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
        assert_int_equal(img_layer_writer_set_level(w, lv, &err), 0);
        for (int i = 0; i < 50; i++) {
            char name[32];
            snprintf(name, sizeof name, "f%d", i);
            assert_int_equal(img_layer_add_data(w, name, "some text some text some text", 29, 0644, 0, 0, &err), 0);
        }
        assert_int_equal(img_layer_writer_commit(w, lv == 1 ? &l1 : &l9, &err), 0);
    }
    assert_string_equal(l1.diff_id, l9.diff_id);
    assert_string_not_equal(l1.digest, l9.digest);
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    assert_int_equal(img_layer_writer_set_level(w, 10, &err), -1);
    img_layer_writer_abort(w);
    /* An empty layer is a valid (empty) tar. */
    img_layer_info empty;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, 0, &w, &err), 0);
    assert_int_equal(img_layer_writer_commit(w, &empty, &err), 0);
    img_layer_reader *r;
    assert_int_equal(img_layer_reader_open(S, empty.digest, (int64_t)empty.size, empty.diff_id, &r, &err), 0);
    struct archive_entry *ae;
    assert_int_equal(archive_read_next_header(img_layer_reader_archive(r), &ae), ARCHIVE_EOF);
    assert_int_equal(img_layer_reader_finish(r, &err), 0);
    img_layer_reader_close(r);
    img_compress c;
    assert_int_equal(img_compress_parse("lz4", &c, &err), -1);
    assert_int_equal(img_compress_parse("zstd", &c, &err), 0);
}

/* ---- images and tags ---- */

static void write_image(const char *tag, const char *content, img_desc *m)
{
    nr_err err;
    img_layer_writer *w;
    assert_int_equal(img_layer_writer_new(S, IMG_COMPRESS_GZIP, -1, &w, &err), 0);
    assert_int_equal(img_layer_add_data(w, "hello.txt", content, strlen(content), 0644, 0, 0, &err), 0);
    img_layer_info li;
    assert_int_equal(img_layer_writer_commit(w, &li, &err), 0);
    img_layer_desc ld = {.blob = {.size = li.size}};
    snprintf(ld.blob.media_type, sizeof ld.blob.media_type, "%s", li.media_type);
    memcpy(ld.blob.digest, li.digest, IMG_DIGEST_MAX);
    memcpy(ld.diff_id, li.diff_id, IMG_DIGEST_MAX);
    json_t *cfg = json_pack("{s:[s], s:[s,s], s:s, s:{s:{}}, s:{s:s}, s:s}", "Env", "PATH=/bin", "Cmd", "node",
                            "server.js", "WorkingDir", "/app", "ExposedPorts", "3000/tcp", "Labels", "a", "b", "User",
                            "node");
    img_history_entry h[] = {{.created_by = "COPY hello.txt /"}, {.created_by = "CMD [\"node\"]", .empty_layer = true}};
    img_image_spec spec = {.config = cfg, .layers = &ld, .n_layers = 1, .history = h, .n_history = 2, .created = -1};
    if (img_image_write(S, &spec, m, &err) < 0)
        fail_msg("image write: %s", err.msg);
    json_decref(cfg);
    if (tag)
        assert_int_equal(img_tag_set(S, tag, m, &err), 0);
}

static void test_image_write_tag_resolve(void **state)
{
    nr_err err;
    img_desc m1, m2, m1b;
    write_image("app", "one", &m1);
    write_image(NULL, "one", &m1b);
    assert_string_equal(m1.digest, m1b.digest); /* reproducible */
    write_image("other:2", "two", &m2);
    assert_int_equal(img_tag_set(S, "app:v1", &m1, &err), 0);
    assert_int_equal(img_tag_set(S, "Bad Name", &m1, &err), -1);
    img_tag *t;
    size_t n;
    assert_int_equal(img_tag_list(S, &t, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(t[0].ref_name, "app:latest");
    assert_string_equal(t[1].ref_name, "app:v1");
    assert_string_equal(t[2].ref_name, "other:2");
    img_tag_list_free(t, n);

    img_image *img;
    assert_int_equal(img_image_load(S, "app", &img, &err), 0);
    assert_string_equal(img->manifest.digest, m1.digest);
    assert_int_equal(img->n_layers, 1);
    assert_int_equal(img->n_tags, 2);
    assert_string_equal(json_string_value(json_object_get(img_image_runconfig(img), "WorkingDir")), "/app");
    assert_int_equal(img_image_created(img), 0);
    char cid[16];
    snprintf(cid, sizeof cid, "%.12s", img_digest_hex(img->config.digest));
    img_image_free(img);
    /* By short config ID (docker's IMAGE ID), by manifest digest, by name@digest. */
    assert_int_equal(img_image_load(S, cid, &img, &err), 0);
    assert_string_equal(img->manifest.digest, m1.digest);
    img_image_free(img);
    assert_int_equal(img_image_load(S, m2.digest, &img, &err), 0);
    assert_int_equal(img->n_tags, 1);
    img_image_free(img);
    char r[200];
    snprintf(r, sizeof r, "app@%s", m1.digest);
    assert_int_equal(img_image_load(S, r, &img, &err), 0);
    img_image_free(img);
    /* Not found is ENOENT (the CLI maps it to 127). */
    assert_int_equal(img_image_load(S, "nope:1", &img, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(img_image_load(S, "sha256:0000", &img, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(img_image_load(S, "Bad!", &img, &err), -1);
    assert_int_not_equal(err.errnum, ENOENT);

    assert_int_equal(img_tag_remove(S, "app:latest", &err), 0);
    assert_int_equal(img_tag_remove(S, "app:latest", &err), -1);
    assert_int_equal(err.errnum, ENOENT);

    /* Prune keeps what app:v1 and other:2 reach, removes the rest. */
    char junk[IMG_DIGEST_MAX];
    assert_int_equal(img_blob_put(S, "junk", 4, junk, &err), 0);
    img_prune_result pr;
    assert_int_equal(img_store_prune(S, &pr, &err), 0);
    assert_int_equal(pr.blobs_removed, 1);
    assert_false(img_blob_exists(S, junk));
    assert_int_equal(img_image_load(S, "app:v1", &img, &err), 0);
    img_image_free(img);
    assert_int_equal(img_image_load(S, "other:2", &img, &err), 0);
    img_image_free(img);
}

static void put_index(const char *text)
{
    nr_err err;
    assert_int_equal(nr_write_atomic(img_store_dirfd(S), "index.json", text, strlen(text), 0644, &err), 0);
}

static void test_hostile_index(void **state)
{
    nr_err err;
    char hello[IMG_DIGEST_MAX];
    assert_int_equal(img_blob_put(S, "hello", 5, hello, &err), 0); /* the digest the entries below name */
    img_tag *t;
    size_t n;
    static const char *bad[] = {
        "not json",
        "[]",
        "{\"schemaVersion\":2}",
        "{\"schemaVersion\":\"2\",\"manifests\":[]}",
        "{\"schemaVersion\":2,\"manifests\":[1]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:../../etc\",\"size\":1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:"
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\",\"size\":-1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:"
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\",\"size\":1,\"annotations\":"
        "{\"org.opencontainers.image.ref.name\":5}}]}",
    };
    for (size_t i = 0; i < NR_ARRAY_LEN(bad); i++) {
        put_index(bad[i]);
        memset(&err, 0, sizeof err);
        if (img_tag_list(S, &t, &n, &err) == 0)
            fail_msg("accepted index.json: %s", bad[i]);
        assert_non_null(strstr(err.msg, "index.json"));
        img_desc m = {.media_type = IMG_MT_MANIFEST, .digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"};
        assert_int_equal(img_tag_set(S, "x", &m, &err), -1); /* never rewrites a file it cannot read */
    }
}

/* Tag a hand-written manifest (and config) and try to load it. */
static int load_hostile(const char *manifest, const char *config, nr_err *err)
{
    char cd[IMG_DIGEST_MAX], md[IMG_DIGEST_MAX];
    nr_err e;
    assert_int_equal(img_blob_put(S, config, strlen(config), cd, &e), 0);
    char *m = nr_xasprintf(manifest, cd, strlen(config));
    assert_int_equal(img_blob_put(S, m, strlen(m), md, &e), 0);
    img_desc d = {.media_type = IMG_MT_MANIFEST, .size = strlen(m)};
    memcpy(d.digest, md, sizeof md);
    free(m);
    assert_int_equal(img_tag_set(S, "hostile", &d, &e), 0);
    img_image *img = NULL;
    int r = img_image_load(S, "hostile", &img, err);
    img_image_free(img);
    return r;
}

static void test_hostile_manifest_config(void **state)
{
    nr_err err;
    const char *okcfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    const char *okman = "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_MANIFEST "\",\"config\":{\"mediaType\":\"" IMG_MT_CONFIG
                        "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[]}";
    assert_int_equal(load_hostile(okman, okcfg, &err), 0);
    assert_int_equal(load_hostile("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMG_MT_CONFIG
                                  "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":{}}",
                                  okcfg, &err),
                     -1);
    assert_non_null(strstr(err.msg, "layers"));
    assert_int_equal(load_hostile("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMG_MT_CONFIG
                                  "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"" IMG_MT_LAYER_GZIP
                                  "\",\"digest\":\"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\","
                                  "\"size\":5}]}",
                                  okcfg, &err),
                     -1);
    assert_non_null(strstr(err.msg, "diff_ids"));
    assert_int_equal(load_hostile(okman, "{\"architecture\":1,\"os\":\"linux\",\"rootfs\":{}}", &err), -1);
    assert_non_null(strstr(err.msg, "architecture"));
    assert_int_equal(load_hostile(okman,
                                  "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                                  "\"diff_ids\":[]},\"config\":{\"Env\":\"A=B\"}}",
                                  &err),
                     -1);
    assert_non_null(strstr(err.msg, "Env"));
    assert_int_equal(load_hostile(okman,
                                  "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                                  "\"diff_ids\":[\"nope\"]}}",
                                  &err),
                     -1);
    assert_int_equal(load_hostile("[1,2]", okcfg, &err), -1);
    assert_int_equal(load_hostile("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMG_MT_CONFIG
                                  "\",\"digest\":\"%s\",\"size\":1},\"layers\":[]}",
                                  okcfg, &err),
                     -1); /* config size does not match */
}


/* ---- hostile layers and archives ---- */

static void test_layer_reader_garbage(void **state)
{
    nr_err err;
    char d[IMG_DIGEST_MAX];
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    assert_int_equal(img_blob_put(S, junk, sizeof junk, d, &err), 0);
    img_layer_reader *r = NULL;
    if (img_layer_reader_open(S, d, -1, NULL, &r, &err) == 0) {
        struct archive_entry *e;
        assert_int_not_equal(archive_read_next_header(img_layer_reader_archive(r), &e), ARCHIVE_OK);
        img_layer_reader_close(r);
    }
    /* A missing blob names the digest. */
    assert_int_equal(img_layer_reader_open(S, "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                                           -1, NULL, &r, &err), -1);
    assert_non_null(strstr(err.msg, "sha256:1111"));
    /* Tagging a manifest that is not stored is refused. */
    img_desc m = {.media_type = IMG_MT_MANIFEST, .size = 1};
    snprintf(m.digest, sizeof m.digest, "sha256:%064d", 0);
    assert_int_equal(img_tag_set(S, "ghost", &m, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
}

typedef struct ar_ent {
    const char *name;
    int type; /* AE_IFREG, AE_IFLNK, AE_IFDIR */
    const char *data;
    const char *link;
} ar_ent;

static void write_archive(const char *path, const ar_ent *ents, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_copy_pathname(e, ents[i].name);
        archive_entry_set_filetype(e, (unsigned)ents[i].type);
        archive_entry_set_perm(e, 0644);
        if (ents[i].link)
            archive_entry_copy_symlink(e, ents[i].link);
        size_t len = ents[i].data ? strlen(ents[i].data) : 0;
        archive_entry_set_size(e, (la_int64_t)len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (len)
            assert_int_equal(archive_write_data(a, ents[i].data, len), (la_ssize_t)len);
        archive_entry_free(e);
    }
    archive_write_free(a);
}

static char *blob_name(const char *content)
{
    char hex[65];
    nr_sha256_hex(content, strlen(content), hex);
    return nr_xasprintf("blobs/sha256/%s", hex);
}

static void test_import_hostile_archives(void **state)
{
    nr_err err;
    char file[512], evil[512];
    snprintf(file, sizeof file, "%s/cache/h.tar", root);
    snprintf(evil, sizeof evil, "%s/cache/evil-written", root);
    const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    char cfghex[65];
    nr_sha256_hex(cfg, strlen(cfg), cfghex);
    char *man = nr_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                             "\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[]}",
                             IMG_MT_MANIFEST, IMG_MT_CONFIG, cfghex, strlen(cfg));
    char manhex[65];
    nr_sha256_hex(man, strlen(man), manhex);
    char *idx = nr_xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\","
                             "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"ok:1\"}}]}",
                             IMG_MT_MANIFEST, manhex, strlen(man));
    char *bc = blob_name(cfg), *bm = blob_name(man);
    char travel[600];
    snprintf(travel, sizeof travel, "../../../../../../../..%s", evil);

    /* Sanity: the good archive loads. */
    ar_ent good[] = {{"oci-layout", AE_IFREG, "{\"imageLayoutVersion\":\"1.0.0\"}", NULL},
                     {"index.json", AE_IFREG, idx, NULL},
                     {bc, AE_IFREG, cfg, NULL},
                     {bm, AE_IFREG, man, NULL},
                     {travel, AE_IFREG, "pwned", NULL},
                     {"blobs/sha256/../../../x", AE_IFREG, "pwned", NULL}};
    write_archive(file, good, NR_ARRAY_LEN(good));
    if (img_import_oci_archive(S, file, NULL, NULL, NULL, &err) < 0)
        fail_msg("good archive: %s", err.msg);
    assert_int_equal(access(evil, F_OK), -1); /* nothing is ever extracted by name */
    img_image *img;
    assert_int_equal(img_image_load(S, "ok:1", &img, &err), 0);
    img_image_free(img);
    assert_int_equal(img_tag_remove(S, "ok:1", &err), 0);
    img_prune_result pr;
    assert_int_equal(img_store_prune(S, &pr, &err), 0);

    /* The config blob as a symlink: not a blob, so it is missing. */
    ar_ent link[] = {{"index.json", AE_IFREG, idx, NULL}, {bc, AE_IFLNK, NULL, "/etc/passwd"}, {bm, AE_IFREG, man, NULL}};
    write_archive(file, link, NR_ARRAY_LEN(link));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "missing"));
    /* A blob whose content does not match its name. */
    ar_ent lie[] = {{"index.json", AE_IFREG, idx, NULL}, {bc, AE_IFREG, "{}", NULL}, {bm, AE_IFREG, man, NULL}};
    write_archive(file, lie, NR_ARRAY_LEN(lie));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "corrupt"));
    /* Duplicate JSON keys, a nested index, a bad name, no index at all. */
    ar_ent dup[] = {{"index.json", AE_IFREG, "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", NULL}};
    write_archive(file, dup, NR_ARRAY_LEN(dup));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    char *nested = nr_xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\","
                                "\"size\":%zu}]}", IMG_MT_INDEX, manhex, strlen(man));
    ar_ent nest[] = {{"index.json", AE_IFREG, nested, NULL}, {bm, AE_IFREG, man, NULL}};
    write_archive(file, nest, NR_ARRAY_LEN(nest));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "not supported"));
    char *badname = nr_xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\","
                                 "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"../x:y\"}}]}",
                                 IMG_MT_MANIFEST, manhex, strlen(man));
    ar_ent bn[] = {{"index.json", AE_IFREG, badname, NULL}, {bc, AE_IFREG, cfg, NULL}, {bm, AE_IFREG, man, NULL}};
    write_archive(file, bn, NR_ARRAY_LEN(bn));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "invalid reference"));
    ar_ent none[] = {{bc, AE_IFREG, cfg, NULL}};
    write_archive(file, none, NR_ARRAY_LEN(none));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "index.json"));
    /* None of the failures left a tag or a blob behind. */
    img_tag *t;
    size_t n;
    assert_int_equal(img_tag_list(S, &t, &n, &err), 0);
    assert_int_equal(n, 0);
    img_tag_list_free(t, n);
    assert_int_equal(count_dir("blobs/sha256"), 0);
    free(nested);
    free(badname);
    free(bc);
    free(bm);
    free(idx);
    free(man);
}

/* ---- export / import ---- */

static void test_export_import_roundtrip(void **state)
{
    nr_err err;
    img_desc m;
    write_image("app:1", "payload", &m);
    char dir[512], file[512];
    snprintf(dir, sizeof dir, "%s/cache/out", root);
    snprintf(file, sizeof file, "%s/cache/out.tar", root);
    assert_int_equal(img_export_oci_dir(S, "app:1", dir, "1", &err), 0);      /* OCI style: tag only */
    assert_int_equal(img_export_oci_archive(S, "app:1", file, NULL, &err), 0); /* full name */
    /* Into a second store, by directory and by archive. */
    char root2[512];
    snprintf(root2, sizeof root2, "%s/cache/store2", root);
    img_store *s2;
    assert_int_equal(img_store_open(root2, &s2, &err), 0);
    assert_int_equal(img_import_oci_dir(s2, dir, NULL, NULL, NULL, &err), -1); /* only a tag: needs a repo */
    assert_non_null(strstr(err.msg, "repository"));
    assert_int_equal(img_import_oci_dir(s2, dir, "copy", NULL, NULL, &err), 0);
    assert_int_equal(img_import_oci_archive(s2, file, NULL, NULL, NULL, &err), 0);
    img_image *a, *b;
    assert_int_equal(img_image_load(s2, "copy:1", &a, &err), 0);
    assert_int_equal(img_image_load(s2, "app:1", &b, &err), 0);
    assert_string_equal(a->manifest.digest, m.digest);
    assert_string_equal(b->manifest.digest, m.digest);
    img_image_free(a);
    img_image_free(b);
    img_store_close(s2);
    /* A corrupt blob stops export with the digest named. */
    img_image *img;
    assert_int_equal(img_image_load(S, "app:1", &img, &err), 0);
    flip_byte(img->layers[0].blob.digest, 2);
    assert_int_equal(img_export_oci_archive(S, "app:1", file, NULL, &err), -1);
    assert_non_null(strstr(err.msg, img->layers[0].blob.digest));
    char dir2[512];
    snprintf(dir2, sizeof dir2, "%s/cache/out2", root);
    assert_int_equal(img_export_oci_dir(S, "app:1", dir2, NULL, &err), -1);
    assert_non_null(strstr(err.msg, img->layers[0].blob.digest));
    img_image_free(img);
}

/* Test aid for the e2e tests: an image made by our own writers. */
static int make_image(const char *r, const char *tag, const char *comp)
{
    nr_err err;
    snprintf(root, sizeof root, "%s", r);
    if (img_store_open(root, &S, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    img_compress c = IMG_COMPRESS_GZIP;
    if (comp && img_compress_parse(comp, &c, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    img_layer_writer *w;
    img_layer_info li[2];
    const char *passwd = "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n";
    const char *js = "require('http').createServer((q,s)=>s.end('hi')).listen(3000)\n";
    for (int i = 0; i < 2; i++) {
        if (img_layer_writer_new(S, c, -1, &w, &err) < 0)
            goto fail;
        if (i == 0) {
            if (img_layer_add_dir(w, "etc", 0755, 0, 0, &err) < 0 ||
                img_layer_add_data(w, "etc/passwd", passwd, strlen(passwd), 0644, 0, 0, &err) < 0 ||
                img_layer_add_dir(w, "tmp", 01777, 0, 0, &err) < 0 ||
                img_layer_add_dir(w, "bin", 0755, 0, 0, &err) < 0 ||
                img_layer_add_symlink(w, "bin/sh", "busybox", 0, 0, &err) < 0)
                goto fail;
        } else {
            if (img_layer_add_dir(w, "app", 0755, 1000, 1000, &err) < 0 ||
                img_layer_add_data(w, "app/server.js", js, strlen(js), 0644, 1000, 1000, &err) < 0 ||
                img_layer_add_hardlink(w, "app/index.js", "app/server.js", &err) < 0 ||
                img_layer_add_data(w, "app/caf\xc3\xa9.txt", "utf8\n", 5, 0644, 1000, 1000, &err) < 0 ||
                img_layer_add_data(w, "app/node_modules/a-very-long-package-name-for-testing/lib/"
                                      "and-a-long-directory-name-below-it/deeper/still-deeper/index.js",
                                   "module.exports = 1\n", 19, 0644, 1000, 1000, &err) < 0 ||
                img_layer_add_whiteout(w, "tmp/old", &err) < 0)
                goto fail;
        }
        if (img_layer_writer_commit(w, &li[i], &err) < 0)
            goto fail;
    }
    img_layer_desc ld[2] = {0};
    for (int i = 0; i < 2; i++) {
        snprintf(ld[i].blob.media_type, sizeof ld[i].blob.media_type, "%s", li[i].media_type);
        memcpy(ld[i].blob.digest, li[i].digest, IMG_DIGEST_MAX);
        ld[i].blob.size = li[i].size;
        memcpy(ld[i].diff_id, li[i].diff_id, IMG_DIGEST_MAX);
    }
    json_t *cfg = json_pack("{s:[s], s:[s,s], s:s, s:{s:{}}, s:{s:{}}, s:{s:s}, s:s, s:s}", "Env",
                            "PATH=/usr/local/bin:/usr/bin:/bin", "Cmd", "node", "server.js", "WorkingDir", "/app",
                            "ExposedPorts", "3000/tcp", "Volumes", "/data", "Labels", "org.example", "yes", "User",
                            "node", "StopSignal", "SIGTERM");
    img_history_entry h[] = {{.created_by = "base files"}, {.created_by = "COPY . /app"},
                             {.created_by = "CMD [\"node\",\"server.js\"]", .empty_layer = true}};
    img_image_spec spec = {.config = cfg, .layers = ld, .n_layers = 2, .history = h, .n_history = 3, .created = -1};
    img_desc m;
    int rc = img_image_write(S, &spec, &m, &err);
    json_decref(cfg);
    if (rc < 0 || img_tag_set(S, tag, &m, &err) < 0)
        goto fail;
    printf("%s\n", m.digest);
    img_store_close(S);
    return 0;
fail:
    fprintf(stderr, "make-image: %s\n", err.msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--make-image"))
        return make_image(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blob_put_read_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_writer_stream_abort, setup, teardown),
        cmocka_unit_test(test_ref_parse),
        cmocka_unit_test_setup_teardown(test_layer_reproducible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_pax_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_bad_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_write_tag_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_manifest_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_import_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_reader_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_hostile_archives, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
