/* Unit tests of OCI export/import: round trips through a layout and an
 * archive, corrupt blobs, hostile archives (traversal names, symlinked or
 * lying blobs, duplicate keys, nested indexes, bad names). */
#include "store_fixture.h"

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

    /* The config blob as a symlink: refused by name, never followed. */
    ar_ent link[] = {{"index.json", AE_IFREG, idx, NULL}, {bc, AE_IFLNK, NULL, "/etc/passwd"}, {bm, AE_IFREG, man, NULL}};
    write_archive(file, link, NR_ARRAY_LEN(link));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "is a symlink: refused"));
    /* A blob whose content does not match its name. */
    ar_ent lie[] = {{"index.json", AE_IFREG, idx, NULL}, {bc, AE_IFREG, "{}", NULL}, {bm, AE_IFREG, man, NULL}};
    write_archive(file, lie, NR_ARRAY_LEN(lie));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "corrupt"));
    /* Duplicate JSON keys, an index entry whose blob is a manifest, a bad name, no index at all. */
    ar_ent dup[] = {{"index.json", AE_IFREG, "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", NULL}};
    write_archive(file, dup, NR_ARRAY_LEN(dup));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    char *nested = nr_xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\","
                                "\"size\":%zu}]}", IMG_MT_INDEX, manhex, strlen(man));
    ar_ent nest[] = {{"index.json", AE_IFREG, nested, NULL}, {bm, AE_IFREG, man, NULL}};
    write_archive(file, nest, NR_ARRAY_LEN(nest));
    assert_int_equal(img_import_oci_archive(S, file, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "is not an index (its descriptor says"));
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
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_import_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_hostile_archives, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
