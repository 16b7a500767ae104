/* Shared fixture of the image store unit tests: a fresh store per test
 * under /tmp, and helpers to damage blobs and write small images. */
#ifndef NR_TEST_STORE_FIXTURE_H
#define NR_TEST_STORE_FIXTURE_H

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

__attribute__((unused)) static void flip_byte(const char *digest, long off)
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

__attribute__((unused)) static int count_dir(const char *sub)
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

__attribute__((unused)) static void write_file(const char *path, const char *content, time_t mtime)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
    utimes(path, tv);
}

__attribute__((unused)) static void write_image(const char *tag, const char *content, img_desc *m)
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

#endif
