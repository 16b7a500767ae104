/* Export an image as an OCI layout directory or a tar archive of one (which
 * also carries Docker's manifest.json, so docker load reads it). */
#include "images/oci.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "images/ref.h"
#include "images/store_int.h"

static const char LAYOUT[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

/* The ref.name to write: `tag` verbatim, else the "name:tag" of a named ref. */
static int export_name(const char *ref, const char *tag, char *out, size_t outlen, nr_err *err)
{
    out[0] = '\0';
    if (tag) {
        if (!*tag || strlen(tag) >= outlen || strchr(tag, '\n'))
            return nr_err_set(err, "invalid export tag \"%.80s\"", tag);
        snprintf(out, outlen, "%s", tag);
        return 0;
    }
    img_ref r;
    nr_err e;
    if (strncmp(ref, "sha256:", 7) && img_ref_parse(ref, &r, &e) == 0 && !r.digest[0])
        img_ref_format(&r, out, outlen);
    return 0;
}

/* The image `ref` names and the ref.name its export gets. */
static int export_image(img_store *s, const char *ref, const char *tag, char *name, size_t namelen, img_image **img,
                        nr_err *err)
{
    if (export_name(ref, tag, name, namelen, err) < 0)
        return -1;
    return img_image_load(s, ref, img, err);
}

/* index.json of the export: an existing one (validated) minus entries with
 * the same name, plus this image. */
static char *export_index(json_t *old, const img_image *img, const char *name)
{
    json_t *idx = old ? json_incref(old)
                      : json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", IMG_MT_INDEX, "manifests");
    json_t *m = json_object_get(idx, "manifests");
    for (size_t i = 0; i < json_array_size(m);) {
        json_t *n = json_object_get(json_object_get(json_array_get(m, i), "annotations"), IMG_ANNOT_REF_NAME);
        bool same = name[0] ? json_is_string(n) && !strcmp(json_string_value(n), name)
                            : !n && !strcmp(json_string_value(json_object_get(json_array_get(m, i), "digest")),
                                            img_image_top(img)->digest);
        if (same)
            json_array_remove(m, i);
        else
            i++;
    }
    json_t *d = img__desc_json(img_image_top(img));
    if (!img->platforms) /* an index's entry has no one platform */
        json_object_set_new(d, "platform",
                            json_pack("{s:s, s:s}", "architecture",
                                      json_string_value(json_object_get(img->config_json, "architecture")), "os",
                                      json_string_value(json_object_get(img->config_json, "os"))));
    if (name[0])
        json_object_set_new(d, "annotations", json_pack("{s:s}", IMG_ANNOT_REF_NAME, name));
    json_array_append_new(m, d);
    char *text = json_dumps(idx, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(idx);
    return text;
}

/* manifest.json of an archive, as `docker save` writes it next to the OCI
 * layout (Docker 25 and later): docker load and skopeo's docker-archive read
 * this file, not index.json.  It names the linux/amd64 image by its config
 * and layer blobs; RepoTags only when the export's name is a "repo:tag"
 * (a bare --tag is an OCI ref.name, not a Docker reference). */
static char *export_docker_manifest(const img_image *img, const char *name)
{
    json_t *tags = json_array();
    img_ref r;
    nr_err e;
    char back[IMG_NAME_MAX + IMG_TAG_MAX];
    if (name[0] && img_ref_parse(name, &r, &e) == 0 && !r.digest[0] &&
        img_ref_format(&r, back, sizeof back) == 0 && !strcmp(back, name))
        json_array_append_new(tags, json_string(name));
    json_t *layers = json_array();
    for (size_t i = 0; i < img->n_layers; i++)
        json_array_append_new(layers, json_sprintf("blobs/sha256/%s", img_digest_hex(img->layers[i].blob.digest)));
    json_t *m = json_pack("[{s:o, s:o, s:o}]", "Config",
                          json_sprintf("blobs/sha256/%s", img_digest_hex(img->config.digest)), "RepoTags", tags,
                          "Layers", layers);
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return text;
}

/* Every blob the export holds, each once: the manifest, its config and
 * layers; for a multi-platform image the index, then that for every image
 * it lists (their manifests read again from the store, only as
 * descriptors: another platform's image is never validated as runnable). */
typedef struct blob_list {
    img_desc *d;
    size_t n;
} blob_list;

static void list_add(blob_list *l, const img_desc *d)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->d[i].digest, d->digest))
            return;
    l->d = nr_xrealloc(l->d, (l->n + 1) * sizeof *l->d);
    l->d[l->n++] = *d;
}

static int list_manifest(img_store *s, const img_desc *m, blob_list *l, nr_err *err)
{
    cleanup_free char *data = NULL;
    size_t len;
    if (img_blob_read(s, m->digest, IMG_JSON_MAX, &data, &len, err) < 0)
        return -1;
    json_t *j = json_loadb(data, len, 0, NULL);
    char what[128];
    snprintf(what, sizeof what, "manifest %s", m->digest);
    list_add(l, m);
    img_desc d;
    int rc = img__desc_parse(json_object_get(j, "config"), &d, what, err);
    if (rc == 0)
        list_add(l, &d);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "layers"), i, v)
    {
        if (rc == 0 && (rc = img__desc_parse(v, &d, what, err)) == 0)
            list_add(l, &d);
    }
    json_decref(j);
    return rc;
}

static int export_blobs(img_store *s, const img_image *img, blob_list *l, nr_err *err)
{
    memset(l, 0, sizeof *l);
    if (!img->platforms) {
        list_add(l, &img->manifest);
        list_add(l, &img->config);
        for (size_t i = 0; i < img->n_layers; i++)
            list_add(l, &img->layers[i].blob);
        return 0;
    }
    list_add(l, &img->index);
    for (size_t i = 0; i < img->platforms->n; i++)
        if (list_manifest(s, &img->platforms->p[i].manifest, l, err) < 0) {
            free(l->d);
            l->d = NULL;
            return -1;
        }
    return 0;
}

static bool dir_is_empty(int dfd)
{
    DIR *d = nr_opendir_fd(dfd);
    if (!d)
        return false;
    struct dirent *de;
    bool empty = true;
    while (empty && (de = readdir(d)))
        empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    closedir(d);
    return empty;
}

int img_export_oci_dir(img_store *s, const char *ref, const char *dir, const char *tag, nr_err *err)
{
    char name[IMG_NAME_MAX + IMG_TAG_MAX];
    img_image *img;
    if (export_image(s, ref, tag, name, sizeof name, &img, err) < 0)
        return -1;
    int ret = -1;
    json_t *old = NULL;
    blob_list bl = {0};
    cleanup_free char *text = NULL;
    cleanup_close int dfd = -1, bfd = -1;
    cleanup_free char *layout = NULL;
    if (nr_mkdir_p(dir, 0755, err) < 0)
        goto out;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        nr_err_sys(err, errno, "open %s", dir);
        goto out;
    }
    if (nr_read_file(dfd, "oci-layout", 4096, &layout, NULL, err) == 0) {
        json_t *l = json_loads(layout, 0, NULL);
        bool ok = json_is_string(json_object_get(l, "imageLayoutVersion"));
        json_decref(l);
        if (!ok) {
            nr_err_set(err, "%s/oci-layout: not an OCI image layout", dir);
            goto out;
        }
        cleanup_free char *it = NULL;
        if (nr_read_file(dfd, "index.json", IMG_JSON_MAX, &it, NULL, err) == 0) {
            old = json_loads(it, 0, NULL);
            if (!json_is_array(json_object_get(old, "manifests"))) {
                nr_err_set(err, "%s/index.json: not an OCI image index", dir);
                goto out;
            }
        } else if (err->errnum != ENOENT) {
            goto out;
        }
    } else if (err->errnum != ENOENT) {
        goto out;
    } else if (!dir_is_empty(dfd)) {
        /* Never scatter blobs/ and index.json into somebody's directory. */
        nr_err_set(err, "%s exists, is not empty and is not an OCI layout", dir);
        goto out;
    } else if (nr_write_atomic(dfd, "oci-layout", LAYOUT, strlen(LAYOUT), 0644, err) < 0) {
        nr_err_wrap(err, "export to %s", dir);
        goto out;
    }
    if ((mkdirat(dfd, "blobs", 0755) < 0 && errno != EEXIST) ||
        (mkdirat(dfd, "blobs/sha256", 0755) < 0 && errno != EEXIST)) {
        nr_err_sys(err, errno, "mkdir %s/blobs/sha256", dir);
        goto out;
    }
    bfd = openat(dfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0) {
        nr_err_sys(err, errno, "open %s/blobs/sha256", dir);
        goto out;
    }
    if (export_blobs(s, img, &bl, err) < 0)
        goto wrap;
    for (size_t i = 0; i < bl.n; i++)
        if (img_blob_copy_to(s, bl.d[i].digest, bfd, err) < 0)
            goto wrap;
    text = export_index(old, img, name);
    if (!text || nr_write_atomic(dfd, "index.json", text, strlen(text), 0644, err) < 0)
        goto wrap;
    ret = 0;
    goto out;
wrap:
    nr_err_wrap(err, "export %s to %s", ref, dir);
out:
    free(bl.d);
    json_decref(old);
    img_image_free(img);
    return ret;
}

/* ---- archive ---- */

/* The header of one entry, with mtime 0 so that the archive depends on the
 * image only, not on the clock. */
static int tar_header(struct archive *a, const char *path, unsigned type, int perm, uint64_t size, nr_err *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    if (type == AE_IFREG)
        archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return nr_err_set(err, "write %s: %s", path, archive_error_string(a));
    return 0;
}

static int tar_add_bytes(struct archive *a, const char *path, const void *data, size_t len, nr_err *err)
{
    if (tar_header(a, path, AE_IFREG, 0644, len, err) < 0)
        return -1;
    if (len && archive_write_data(a, data, len) < 0)
        return nr_err_set(err, "write %s: %s", path, archive_error_string(a));
    return 0;
}

static int tar_add_dir(struct archive *a, const char *path, nr_err *err)
{
    return tar_header(a, path, AE_IFDIR, 0755, 0, err);
}

static int tar_add_blob(img_store *s, struct archive *a, const img_desc *d, nr_err *err)
{
    char path[128];
    snprintf(path, sizeof path, "blobs/sha256/%s", img_digest_hex(d->digest));
    uint64_t size;
    if (img_blob_size(s, d->digest, &size, err) < 0)
        return -1;
    if (size != d->size)
        return nr_err_set(err, "blob %s has %llu bytes, its descriptor says %llu", d->digest,
                          (unsigned long long)size, (unsigned long long)d->size);
    img_blob_reader *r;
    if (img_blob_reader_open(s, d->digest, (int64_t)size, &r, err) < 0)
        return -1;
    int ret = tar_header(a, path, AE_IFREG, 0644, size, err);
    char buf[65536];
    while (ret == 0) {
        ssize_t n = img_blob_reader_read(r, buf, sizeof buf, err);
        if (n < 0)
            ret = -1;
        else if (n == 0)
            break;
        else if (archive_write_data(a, buf, (size_t)n) < 0)
            ret = nr_err_set(err, "write %s: %s", path, archive_error_string(a));
    }
    img_blob_reader_close(r);
    return ret;
}

int img_export_oci_archive(img_store *s, const char *ref, const char *file, const char *tag, nr_err *err)
{
    char name[IMG_NAME_MAX + IMG_TAG_MAX];
    img_image *img;
    if (export_image(s, ref, tag, name, sizeof name, &img, err) < 0)
        return -1;
    cleanup_free char *tmp = nr_xasprintf("%s.tmp-%d", file, (int)getpid());
    int ret = -1;
    blob_list bl = {0};
    struct archive *a = NULL;
    cleanup_free char *text = export_index(NULL, img, name);
    cleanup_free char *docker = export_docker_manifest(img, name);
    bool to_stdout = !strcmp(file, "-");
    int fd = to_stdout ? STDOUT_FILENO : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        nr_err_sys(err, errno, "create %s", file);
        goto out;
    }
    a = archive_write_new();
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        nr_err_set(err, "write %s: %s", file, archive_error_string(a));
        goto out;
    }
    if (tar_add_bytes(a, "oci-layout", LAYOUT, strlen(LAYOUT), err) < 0 ||
        tar_add_bytes(a, "index.json", text, strlen(text), err) < 0 ||
        tar_add_bytes(a, "manifest.json", docker, strlen(docker), err) < 0 || tar_add_dir(a, "blobs", err) < 0 ||
        tar_add_dir(a, "blobs/sha256", err) < 0 || export_blobs(s, img, &bl, err) < 0)
        goto out;
    for (size_t i = 0; i < bl.n; i++)
        if (tar_add_blob(s, a, &bl.d[i], err) < 0)
            goto out;
    if (archive_write_close(a) != ARCHIVE_OK) {
        nr_err_set(err, "write %s: %s", file, archive_error_string(a));
        goto out;
    }
    if (!to_stdout && fsync(fd) < 0) {
        nr_err_sys(err, errno, "write %s", file);
        goto out;
    }
    if (!to_stdout && rename(tmp, file) < 0) {
        nr_err_sys(err, errno, "rename %s", file);
        goto out;
    }
    ret = 0;
out:
    if (a)
        archive_write_free(a);
    if (fd >= 0 && !to_stdout)
        close(fd);
    if (ret < 0) {
        if (!to_stdout)
            unlink(tmp);
        nr_err_wrap(err, "export %s", ref);
    }
    free(bl.d);
    img_image_free(img);
    return ret;
}
