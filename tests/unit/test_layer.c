/* Unit tests of the layer writer and the verifying layer reader:
 * reproducible bytes, sorted entries, no time/owner-name noise, PAX only
 * where needed, hostile entries, corrupt blobs. */
#include "store_fixture.h"

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

/* A layer blob of no bytes is an empty tar (as Go's archive/tar reads it):
 * no entry, and its diff_id is the digest of nothing. */
static void test_layer_reader_empty(void **state)
{
    nr_err err;
    char d[IMG_DIGEST_MAX];
    assert_int_equal(img_blob_put(S, "", 0, d, &err), 0);
    img_layer_reader *r = NULL;
    if (img_layer_reader_open(S, d, 0, d, &r, &err) < 0)
        fail_msg("open: %s", err.msg);
    struct archive_entry *e;
    assert_int_equal(archive_read_next_header(img_layer_reader_archive(r), &e), ARCHIVE_EOF);
    if (img_layer_reader_finish(r, &err) < 0)
        fail_msg("finish: %s", err.msg);
    img_layer_reader_close(r);
    /* ... and one whose diff_id says otherwise is refused at the end */
    char other[IMG_DIGEST_MAX];
    snprintf(other, sizeof other, "sha256:%064d", 1);
    assert_int_equal(img_layer_reader_open(S, d, 0, other, &r, &err), 0);
    assert_int_equal(archive_read_next_header(img_layer_reader_archive(r), &e), ARCHIVE_EOF);
    assert_int_equal(img_layer_reader_finish(r, &err), -1);
    assert_non_null(strstr(err.msg, "diff_id"));
    img_layer_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layer_reproducible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_pax_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_bad_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_reader_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_reader_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
