/* Unit tests of the image store (images/): blobs, refs, tags, image
 * write/load, hostile JSON.  Layers: test_layer.c; OCI export/import:
 * test_oci.c.
 *
 * Also a test aid for the e2e tests, so they can make images with our own
 * layer writer before nbuild exists:
 *   test_store --make-image ROOT NAME:TAG [gzip|zstd]
 */
#include "store_fixture.h"

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

/* ---- images and tags ---- */

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

    /* Undoing a write: only unreferenced blobs of the list go. */
    char lone[IMG_DIGEST_MAX];
    assert_int_equal(img_blob_put(S, "lone", 4, lone, &err), 0);
    const char *undo[] = {lone, m2.digest};
    img_prune_result ur;
    assert_int_equal(img_blobs_remove_unreferenced(S, undo, 2, &ur, &err), 0);
    assert_int_equal(ur.blobs_removed, 1);
    assert_false(img_blob_exists(S, lone));
    assert_true(img_blob_exists(S, m2.digest)); /* other:2 still reaches it */
    const char *bad[] = {"sha256:nope"};
    assert_int_equal(img_blobs_remove_unreferenced(S, bad, 1, &ur, &err), -1);

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


/* Mutated manifests, configs and index.json files (fixed seed): every one is
 * either accepted or refused with a message, never a crash (run it under
 * make check-asan). */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static char *mutate(const char *in)
{
    static const char *tokens[] = {"null", "1", "-1", "\"\"", "[]", "{}", "true", "\"sha256:zz\"", "1e400",
                                   "\"x\"", "[1]", "{\"a\":1}", "99999999999999999999"};
    nr_buf b = {0};
    nr_buf_addstr(&b, in);
    for (int k = 0, n = 1 + (int)rnd(3); k < n; k++) {
        size_t at = rnd((unsigned)b.len);
        if (rnd(2)) { /* replace a value after a ':' with another JSON value */
            char *colon = strchr(b.data + at, ':');
            if (!colon)
                continue;
            size_t from = (size_t)(colon + 1 - b.data), to = from;
            int depth = 0;
            bool str = false;
            for (; to < b.len; to++) {
                char c = b.data[to];
                if (str) {
                    if (c == '\\')
                        to++;
                    else if (c == '"')
                        str = false;
                    continue;
                }
                if (c == '"')
                    str = true;
                else if (c == '[' || c == '{')
                    depth++;
                else if ((c == ']' || c == '}') && depth-- == 0)
                    break;
                else if (c == ',' && depth == 0)
                    break;
            }
            nr_buf out = {0};
            nr_buf_add(&out, b.data, from);
            nr_buf_addstr(&out, tokens[rnd(NR_ARRAY_LEN(tokens))]);
            nr_buf_add(&out, b.data + to, b.len - to);
            nr_buf_free(&b);
            b = out;
        } else { /* flip a byte */
            b.data[at] = (char)(b.data[at] ^ (1 << rnd(7)));
        }
    }
    return b.data;
}

static void test_validators_survive_mutations(void **state)
{
    nr_err err;
    img_desc m;
    write_image("seed:1", "x", &m);
    img_image *img;
    assert_int_equal(img_image_load(S, "seed:1", &img, &err), 0);
    char *man = json_dumps(img->manifest_json, JSON_SORT_KEYS | JSON_COMPACT);
    char *cfg = json_dumps(img->config_json, JSON_SORT_KEYS | JSON_COMPACT);
    img_image_free(img);
    cleanup_free char *idx = NULL;
    assert_int_equal(nr_read_file(img_store_dirfd(S), "index.json", 1 << 20, &idx, NULL, &err), 0);
    size_t accepted = 0, refused = 0;
    for (int i = 0; i < 3000; i++) {
        char *mm = mutate(man), *mc = mutate(cfg);
        json_t *j = json_loads(mm, JSON_REJECT_DUPLICATES, NULL);
        if (j) {
            memset(&err, 0, sizeof err);
            if (img_manifest_validate(j, "m", &err) == 0)
                accepted++;
            else
                refused += strlen(err.msg) > 0;
            json_decref(j);
        }
        j = json_loads(mc, JSON_REJECT_DUPLICATES, NULL);
        if (j) {
            memset(&err, 0, sizeof err);
            if (img_config_validate(j, "c", &err) == 0)
                accepted++;
            else
                refused += strlen(err.msg) > 0;
            json_decref(j);
        }
        free(mm);
        free(mc);
        if (i % 20 == 0) { /* the index, through the store */
            char *mi = mutate(idx);
            assert_int_equal(nr_write_atomic(img_store_dirfd(S), "index.json", mi, strlen(mi), 0644, &err), 0);
            img_tag *t;
            size_t n;
            if (img_tag_list(S, &t, &n, &err) == 0) {
                for (size_t k = 0; k < n; k++)
                    if (img_image_load(S, t[k].ref_name, &img, &err) == 0)
                        img_image_free(img);
                img_tag_list_free(t, n);
            }
            free(mi);
        }
    }
    free(man);
    free(cfg);
    assert_true(refused > 100); /* the mutations did bite */
    assert_true(accepted > 0);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--make-image"))
        return make_image(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blob_put_read_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_writer_stream_abort, setup, teardown),
        cmocka_unit_test(test_ref_parse),
        cmocka_unit_test_setup_teardown(test_image_write_tag_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_manifest_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validators_survive_mutations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
