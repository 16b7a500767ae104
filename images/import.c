/* Import images from an OCI layout (directory or tar archive).  Nothing is
 * extracted to disk: each blob streams into an unnamed blob writer, hashed
 * and compared with its name.  Only when every referenced blob is staged and
 * every manifest and config validated are the blobs linked and the tags set,
 * so a hostile or truncated archive, or a full disk, leaves the store as it
 * was.
 *
 * The layout's top directory is a path the user chose and is followed; nothing
 * inside it is: every file is opened beneath it with no symlink on the way
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and must be a regular file
 * (a FIFO would hang us, a device or a link would read the host).  In an
 * archive, an entry that is a symlink, hardlink, device or FIFO where the
 * layout has a file (index.json, oci-layout, blobs/sha256/<hex>) or a
 * directory (blobs, blobs/sha256) refuses the whole archive.  An archive with
 * manifest.json and no index.json is a docker-archive (import_docker.c). */
#include "images/import_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "images/ref.h"
#include "images/store_int.h"
#include "images/xz.h"

ssize_t img__imp_ar_read(void *ctx, void *buf, size_t len, const char *what, nr_err *err)
{
    la_ssize_t n = archive_read_data(ctx, buf, len);
    if (n < 0)
        return nr_err_set(err, "%s: %s", what, archive_error_string(ctx));
    return n;
}

int img__imp_ar_json(struct archive *a, struct archive_entry *e, const char *file, const char *name, char **out,
                     size_t *len, nr_err *err)
{
    if (archive_entry_size(e) > (la_int64_t)IMG_JSON_MAX)
        return nr_err_set(err, "%s: %s is too large", file, name);
    nr_buf b = {0};
    char buf[65536];
    la_ssize_t r;
    while ((r = archive_read_data(a, buf, sizeof buf)) > 0 && b.len <= IMG_JSON_MAX)
        nr_buf_add(&b, buf, (size_t)r);
    if (r < 0 || b.len > IMG_JSON_MAX) {
        nr_buf_free(&b);
        return r < 0 ? nr_err_set(err, "%s: %s", file, archive_error_string(a))
                     : nr_err_set(err, "%s: %s is too large", file, name);
    }
    *out = b.data ? b.data : nr_xstrdup("");
    *len = b.len;
    return 0;
}

/* Stream one blob named `hex` into the store (unlinked) and check its hash;
 * or, hex NULL (a file of a docker-archive, named by its path), stage it
 * under the digest of its content and remember its path in im->df. */
int img__imp_stage(imp *im, const char *hex, const char *path, read_fn rd, void *ctx, nr_err *err)
{
    char d[IMG_DIGEST_MAX] = "";
    if (hex) {
        snprintf(d, sizeof d, "sha256:%s", hex);
        if (!img_digest_valid(d))
            return 0; /* not a sha256 blob name: ignored */
        for (size_t i = 0; i < im->n; i++)
            if (!strcmp(im->b[i].digest, d))
                return 0;
    }
    unsigned char magic[4] = {0};
    img_blob_writer *w;
    if (img_blob_writer_new(im->s, &w, err) < 0)
        return -1;
    nr_buf mem = {0};
    char buf[65536];
    uint64_t size = 0;
    for (;;) {
        ssize_t n = rd(ctx, buf, sizeof buf, im->src, err);
        if (n < 0)
            goto fail;
        if (n == 0)
            break;
        if (img_blob_writer_write(w, buf, (size_t)n, err) < 0)
            goto fail;
        for (size_t k = 0; size + k < sizeof magic && k < (size_t)n; k++)
            magic[size + k] = (unsigned char)buf[k];
        size += (uint64_t)n;
        if (size <= KEEP_IN_MEMORY)
            nr_buf_add(&mem, buf, (size_t)n);
    }
    char got[IMG_DIGEST_MAX];
    if (img__blob_writer_finish(w, got, NULL, err) < 0)
        goto fail;
    if (hex && strcmp(got, d)) {
        nr_err_set(err, "%s: blob %s is corrupt (content hashes to %s)", im->src, d, got);
        goto fail;
    }
    if (!hex) {
        im->df = nr_xrealloc(im->df, (im->n_df + 1) * sizeof *im->df);
        im->df[im->n_df++] = (dfile){.path = nr_xstrdup(path)};
        memcpy(im->df[im->n_df - 1].digest, got, sizeof got);
        for (size_t i = 0; i < im->n; i++)
            if (!strcmp(im->b[i].digest, got)) { /* the same content twice */
                nr_buf_free(&mem);
                img_blob_writer_abort(w);
                return 0;
            }
        memcpy(d, got, sizeof d);
    }
    if (im->n == im->cap) {
        im->cap = im->cap ? im->cap * 2 : 16;
        im->b = nr_xrealloc(im->b, im->cap * sizeof *im->b);
    }
    staged *st = &im->b[im->n++];
    memset(st, 0, sizeof *st);
    memcpy(st->digest, d, sizeof d);
    st->w = w;
    st->size = size;
    memcpy(st->magic, magic, sizeof magic);
    if (size <= KEEP_IN_MEMORY) {
        if (!mem.data)
            nr_buf_add(&mem, "", 0);
        st->data = mem.data;
    } else {
        nr_buf_free(&mem);
    }
    return 0;
fail:
    nr_buf_free(&mem);
    img_blob_writer_abort(w);
    return -1;
}

staged *img__imp_find(imp *im, const char *digest)
{
    for (size_t i = 0; i < im->n; i++)
        if (!strcmp(im->b[i].digest, digest))
            return &im->b[i];
    return NULL;
}

/* jansson's message without its "near '...'": that would echo bytes of a file
 * that may not be what it claims to be. */
const char *img__imp_json_reason(json_error_t *je)
{
    char *near = strstr(je->text, " near '");
    if (near)
        *near = 0;
    return je->text;
}

/* A small JSON blob from the import or, failing that, from the store. */
static int get_json(imp *im, const img_desc *d, json_t **out, nr_err *err)
{
    staged *st = img__imp_find(im, d->digest);
    cleanup_free char *own = NULL;
    const char *data;
    size_t len;
    if (st) {
        if (!st->data)
            return nr_err_set(err, "%s: blob %s is too large for a manifest or config", im->src, d->digest);
        if (st->size != d->size)
            return nr_err_set(err, "%s: blob %s has %llu bytes, its descriptor says %llu", im->src, d->digest,
                              (unsigned long long)st->size, (unsigned long long)d->size);
        data = st->data;
        len = st->size;
        st->used = true;
    } else if (img_blob_exists(im->s, d->digest)) {
        if (img_blob_read(im->s, d->digest, IMG_JSON_MAX, &own, &len, err) < 0)
            return -1;
        data = own;
    } else {
        return nr_err_set(err, "%s: blob %s is missing", im->src, d->digest);
    }
    json_error_t je;
    *out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return nr_err_set(err, "%s: blob %s: invalid JSON at %d:%d: %s", im->src, d->digest, je.line, je.column,
                          img__imp_json_reason(&je));
    return 0;
}

static int need_blob(imp *im, const img_desc *d, nr_err *err)
{
    staged *st = img__imp_find(im, d->digest);
    if (st) {
        if (st->size != d->size)
            return nr_err_set(err, "%s: blob %s has %llu bytes, its descriptor says %llu", im->src, d->digest,
                              (unsigned long long)st->size, (unsigned long long)d->size);
        st->used = true;
        return 0;
    }
    if (img_blob_exists(im->s, d->digest))
        return 0;
    return nr_err_set(err, "%s: blob %s is missing", im->src, d->digest);
}

/* An image manifest of the layout and everything it references, staged or
 * already stored.  `strict`: the image nrun runs (a valid manifest and
 * config, a diff_id per layer); else (another platform of an index) only
 * well-formed descriptors, as a registry keeps them. */
int img__imp_check_manifest(imp *im, const img_desc *md, bool strict, const char *what, nr_err *err)
{
    img_desc cd;
    json_t *m = NULL, *c = NULL;
    int r = get_json(im, md, &m, err);
    json_t *sv = json_object_get(m, "schemaVersion");
    if (r == 0 && strict)
        r = img_manifest_validate(m, what, err);
    else if (r == 0 && (!json_is_object(m) || !json_is_integer(sv) || json_integer_value(sv) != 2 ||
                        !json_is_array(json_object_get(m, "layers")) ||
                        json_array_size(json_object_get(m, "layers")) > 500))
        r = nr_err_set(err, "%s: manifest %s is not a schemaVersion 2 image manifest", what, md->digest);
    if (r == 0)
        r = img__desc_parse(json_object_get(m, "config"), &cd, what, err);
    if (r == 0) {
        im->cfg = nr_xrealloc(im->cfg, (im->n_cfg + 1) * sizeof *im->cfg);
        memcpy(im->cfg[im->n_cfg++], cd.digest, IMG_DIGEST_MAX);
    }
    if (r == 0 && strict)
        r = get_json(im, &cd, &c, err);
    else if (r == 0)
        r = cd.size > IMG_JSON_MAX ? nr_err_set(err, "%s: config %s is too large", what, cd.digest)
                                   : need_blob(im, &cd, err);
    if (r == 0 && strict)
        r = img_config_validate(c, what, err);
    json_t *layers = json_object_get(m, "layers");
    if (r == 0 && strict &&
        json_array_size(layers) != json_array_size(json_object_get(json_object_get(c, "rootfs"), "diff_ids")))
        r = nr_err_set(err, "%s: manifest has %zu layers, config %zu diff_ids", what, json_array_size(layers),
                       json_array_size(json_object_get(json_object_get(c, "rootfs"), "diff_ids")));
    size_t j;
    json_t *l;
    json_array_foreach(layers, j, l)
    {
        img_desc ld;
        if (r == 0)
            r = img__desc_parse(l, &ld, what, err);
        if (r == 0)
            r = need_blob(im, &ld, err);
    }
    json_decref(m);
    json_decref(c);
    return r;
}

/* A multi-platform image: the index (checked as a registry's would be) and
 * every image it lists; the linux/amd64 one strictly. */
static int check_index(imp *im, const img_desc *xd, const char *what, nr_err *err)
{
    json_t *j;
    if (get_json(im, xd, &j, err) < 0)
        return -1;
    char w[512];
    snprintf(w, sizeof w, "%s: index %s", what, xd->digest);
    img_index *x = NULL;
    int r = img_json_is_index(j) ? img_index_parse(j, xd->digest, w, &x, err)
                                 : nr_err_set(err, "%s: is not an index (its descriptor says %s)", w, xd->media_type);
    json_t *mt = json_object_get(j, "mediaType");
    if (r == 0 && json_is_string(mt) && strcmp(json_string_value(mt), xd->media_type))
        r = nr_err_set(err, "%s: is a %s, its descriptor says %s", w, json_string_value(mt), xd->media_type);
    json_decref(j);
    for (size_t i = 0; r == 0 && i < x->n; i++) {
        char cw[700];
        snprintf(cw, sizeof cw, "%s: manifests[%zu] (%s)", w, i, x->p[i].name);
        if (x->p[i].dup_of < 0)
            r = img__imp_check_manifest(im, &x->p[i].manifest, (int)i == x->chosen, cw, err);
    }
    free(x);
    return r;
}

/* index.json may list one name once per platform (a layout that is itself
 * the multi-platform index): the name goes to the linux/amd64 entry, as a
 * pull would choose, not to whichever is listed last. */
static bool loses_name(const found *f, size_t nf, size_t i)
{
    for (size_t j = 0; f[i].name && !f[i].amd64 && j < nf; j++)
        if (j != i && f[j].amd64 && f[j].name && !strcmp(f[j].name, f[i].name))
            return true;
    return false;
}

const char *img__imp_familiar(const char *name)
{
    if (!strncmp(name, "docker.io/library/", 18) && !strchr(name + 18, '/'))
        return name + 18;
    if (!strncmp(name, "docker.io/", 10))
        return name + 10;
    return name;
}

int img__imp_tag_for(imp *im, json_t *desc, const char *repo, size_t n_images, char **out, nr_err *err)
{
    *out = NULL;
    json_t *an = json_object_get(json_object_get(desc, "annotations"), IMG_ANNOT_REF_NAME);
    const char *rn = json_is_string(an) ? json_string_value(an) : NULL;
    char name[IMG_NAME_MAX + IMG_TAG_MAX];
    img_ref r;
    if (repo && strchr(repo, ':') && strrchr(repo, ':') > (strrchr(repo, '/') ? strrchr(repo, '/') : repo)) {
        if (n_images != 1)
            return nr_err_set(err, "%s: holds %zu images; a name:tag can only name one", im->src, n_images);
        if (img_ref_normalize(repo, name, sizeof name, err) < 0)
            return -1;
    } else if (rn && (strchr(rn, ':') || strchr(rn, '/'))) {
        if (img_ref_normalize(rn, name, sizeof name, err) < 0)
            return nr_err_wrap(err, "%s: image name", im->src);
        if (repo) { /* the given repository, the archive's tag */
            img_ref full;
            if (img_ref_parse(name, &full, err) < 0 || img_ref_parse(repo, &r, err) < 0)
                return -1;
            snprintf(name, sizeof name, "%s:%s", r.name, full.tag);
        }
    } else if (rn) {
        if (!img_tag_valid(rn))
            return nr_err_set(err, "%s: ref.name \"%.80s\" is not a valid tag", im->src, rn);
        /* containerd's export and docker save since Docker 25 keep only the
         * tag in ref.name and the whole name in io.containerd.image.name */
        json_t *cn = json_object_get(json_object_get(desc, "annotations"), "io.containerd.image.name");
        const char *full = json_is_string(cn) ? img__imp_familiar(json_string_value(cn)) : NULL;
        img_ref cr;
        nr_err e2;
        if (!repo && full && img_ref_parse(full, &cr, &e2) == 0 && !cr.digest[0] && !strcmp(cr.tag, rn)) {
            snprintf(name, sizeof name, "%s:%s", cr.name, cr.tag);
        } else {
            if (!repo)
                return nr_err_set(err, "%s: image is named only by the tag \"%s\"; give a repository name", im->src,
                                  rn);
            if (img_ref_parse(repo, &r, err) < 0)
                return -1;
            snprintf(name, sizeof name, "%s:%s", r.name, rn);
        }
    } else if (repo) {
        if (img_ref_normalize(repo, name, sizeof name, err) < 0)
            return -1;
    } else {
        return 0;
    }
    if (!strncmp(name, "sha256:", 7)) /* as img_tag_set refuses it, but before any blob is linked */
        return nr_err_set(err, "%s: image name \"%s\" reads as an image ID: refused", im->src, name);
    *out = nr_xstrdup(name);
    return 0;
}

/* oci-layout, when present: {"imageLayoutVersion": "..."}. */
static int check_oci_layout(const char *src, const char *data, size_t len, nr_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return nr_err_set(err, "%s: oci-layout:%d:%d: %s", src, je.line, je.column, img__imp_json_reason(&je));
    bool ok = json_is_string(json_object_get(j, "imageLayoutVersion"));
    json_decref(j);
    if (!ok)
        return nr_err_set(err, "%s: oci-layout has no imageLayoutVersion", src);
    return 0;
}

static int finish_import(imp *im, const char *repo, img_import_cb cb, void *arg, nr_err *err)
{
    if (!im->index && im->docker)
        return img__imp_docker_finish(im, repo, cb, arg, err);
    if (!im->index)
        return nr_err_set(err, "%s: no index.json or manifest.json (neither an OCI image layout nor a docker-archive)",
                          im->src);
    json_error_t je;
    json_t *idx = json_loadb(im->index, im->index_len, JSON_REJECT_DUPLICATES, &je);
    if (!idx)
        return nr_err_set(err, "%s: index.json:%d:%d: %s", im->src, je.line, je.column, img__imp_json_reason(&je));
    json_t *list = json_object_get(idx, "manifests");
    int ret = -1;
    found *f = nr_xcalloc(json_array_size(list) + 1, sizeof *f);
    size_t nf = 0, i;
    json_t *v;
    if (!json_is_array(list) || json_array_size(list) == 0) {
        nr_err_set(err, "%s: index.json lists no manifests", im->src);
        goto out;
    }
    json_array_foreach(list, i, v)
    {
        char what[256];
        snprintf(what, sizeof what, "%s: index.json manifests[%zu]", im->src, i);
        img_desc md;
        if (img__desc_parse(v, &md, what, err) < 0)
            goto out;
        if (img_mt_is_index(md.media_type)) {
            if (check_index(im, &md, what, err) < 0)
                goto out;
        } else if (!img_mt_is_manifest(md.media_type)) {
            nr_err_set(err, "%s: %s is not supported (only image manifests and indexes)", what, md.media_type);
            goto out;
        } else if (img__imp_check_manifest(im, &md, true, what, err) < 0) {
            goto out;
        }
        f[nf].m = md;
        json_t *pl = json_object_get(v, "platform");
        f[nf].amd64 = json_is_string(json_object_get(pl, "os")) && json_is_string(json_object_get(pl, "architecture")) &&
                      !strcmp(json_string_value(json_object_get(pl, "os")), "linux") &&
                      !strcmp(json_string_value(json_object_get(pl, "architecture")), "amd64");
        if (img__imp_tag_for(im, v, repo, json_array_size(list), &f[nf].name, err) < 0)
            goto out;
        nf++;
    }
    if (im->docker && img__imp_docker_agree(im, err) < 0)
        goto out;
    ret = img__imp_link_and_tag(im, f, nf, cb, arg, err);
out:
    for (i = 0; i < nf; i++)
        free(f[i].name);
    free(f);
    json_decref(idx);
    return ret;
}

/* Everything checked: make the blobs visible, then the tags. */
int img__imp_link_and_tag(imp *im, found *f, size_t nf, img_import_cb cb, void *arg, nr_err *err)
{
    int ret = -1;
    char **linked = nr_xcalloc(im->n + 1, sizeof *linked);
    size_t n_linked = 0, i;
    for (i = 0; i < im->n; i++) {
        staged *st = &im->b[i];
        img_blob_writer *w = st->w;
        st->w = NULL;
        if (!st->used) {
            img_blob_writer_abort(w);
            continue;
        }
        linked[n_linked++] = st->digest;
        if (img__blob_writer_link(w, err) < 0)
            goto out;
    }
    for (i = 0; i < nf; i++) {
        bool named = f[i].name && !loses_name(f, nf, i);
        if (named && img_tag_set(im->s, f[i].name, &f[i].m, err) < 0)
            goto out;
        if (cb)
            cb(named ? f[i].name : NULL, &f[i].m, arg);
    }
    ret = 0;
out:
    if (ret < 0 && n_linked) {
        /* Failed after linking (index.json could not be written): take
         * back the blobs nothing refers to. */
        img_prune_result pr;
        nr_err e2;
        img_blobs_remove_unreferenced(im->s, (const char *const *)linked, n_linked, &pr, &e2);
    }
    free(linked);
    return ret;
}

static void imp_free(imp *im)
{
    for (size_t i = 0; i < im->n; i++) {
        img_blob_writer_abort(im->b[i].w);
        free(im->b[i].data);
    }
    free(im->b);
    free(im->index);
    free(im->docker);
    for (size_t i = 0; i < im->n_df; i++) {
        free(im->df[i].path);
        free(im->df[i].link);
    }
    free(im->df);
    free(im->cfg);
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, const char *what, nr_err *err)
{
    int fd = *(int *)ctx;
    ssize_t n;
    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return nr_err_sys(err, errno, "read %s", what);
    return n;
}

/* Open dirfd/name of the layout `dir` for reading: beneath it, through no
 * symlink, a regular file only.  Checked before the open too, so a device
 * node or FIFO is never opened (a FIFO's open would block); O_NONBLOCK covers
 * one swapped in between, and the fd's own type decides. */
static int open_layout_file(const char *dir, int dirfd, const char *shown, const char *name, int *fd_out, nr_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return nr_err_sys(err, errno, "%s/%s", dir, shown);
    if (S_ISLNK(st.st_mode))
        return nr_err_set(err, "%s/%s is a symlink: refused", dir, shown);
    if (!S_ISREG(st.st_mode))
        return nr_err_set(err, "%s/%s is not a regular file: refused", dir, shown);
    cleanup_close int fd = img__open_nofollow(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0 && (errno == ELOOP || errno == EXDEV))
        return nr_err_set(err, "%s/%s is a symlink: refused", dir, shown);
    if (fd < 0 || fstat(fd, &st) < 0)
        return nr_err_sys(err, errno, "open %s/%s", dir, shown);
    if (!S_ISREG(st.st_mode))
        return nr_err_set(err, "%s/%s is not a regular file: refused", dir, shown);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return nr_err_sys(err, errno, "open %s/%s", dir, shown);
    *fd_out = steal_fd(&fd);
    return 0;
}

/* A small file of the layout (index.json, oci-layout), at most `max` bytes. */
static int read_layout_file(const char *dir, int dirfd, const char *name, size_t max, char **out, size_t *len,
                            nr_err *err)
{
    cleanup_close int fd = -1;
    if (open_layout_file(dir, dirfd, name, name, &fd, err) < 0)
        return -1;
    if (nr_read_fd(fd, max, out, len, err) == 0)
        return 0;
    if (err->errnum == EFBIG)
        return nr_err_set(err, "%s/%s is larger than %zu bytes: refused", dir, name, max);
    return nr_err_sys(err, err->errnum, "read %s/%s", dir, name);
}

/* A directory of the layout, beneath it and through no symlink. */
static int open_layout_dir(const char *dir, int dirfd, const char *name, nr_err *err)
{
    int fd = img__open_nofollow(dirfd, name, O_RDONLY | O_DIRECTORY);
    if (fd >= 0)
        return fd;
    if (errno == ELOOP || errno == EXDEV)
        return nr_err_set(err, "%s/%s is a symlink or crosses one: refused", dir, name);
    if (errno == ENOTDIR)
        return nr_err_set(err, "%s/%s is not a directory: refused", dir, name);
    return nr_err_sys(err, errno, "open %s/%s", dir, name);
}

static bool hex64(const char *name)
{
    char d[IMG_DIGEST_MAX];
    return strlen(name) == 64 && snprintf(d, sizeof d, "sha256:%s", name) > 0 && img_digest_valid(d);
}

int img_import_oci_dir(img_store *s, const char *dir, const char *repo, img_import_cb cb, void *arg, nr_err *err)
{
    imp im = {.s = s, .src = dir};
    int ret = -1;
    if (img_store_hold(s, err) < 0) /* blobs found in the store stay until tagged */
        return -1;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    cleanup_free char *layout = NULL;
    size_t layout_len;
    if (faccessat(dfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
        if (read_layout_file(dir, dfd, "oci-layout", LAYOUT_FILE_MAX, &layout, &layout_len, err) < 0 ||
            check_oci_layout(dir, layout, layout_len, err) < 0)
            return -1;
    }
    if (faccessat(dfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        return nr_err_set(err, "%s: no index.json (not an OCI image layout)", dir);
    if (read_layout_file(dir, dfd, "index.json", IMG_JSON_MAX, &im.index, &im.index_len, err) < 0)
        return -1;
    cleanup_dir DIR *d = NULL;
    int bfd = open_layout_dir(dir, dfd, "blobs", err);
    if (bfd >= 0) {
        close(bfd);
        bfd = open_layout_dir(dir, dfd, "blobs/sha256", err);
    }
    if (bfd < 0)
        goto out;
    d = fdopendir(bfd);
    if (!d) {
        close(bfd);
        nr_err_sys(err, errno, "open %s/blobs/sha256", dir);
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!hex64(de->d_name))
            continue; /* not a sha256 blob name: ignored */
        char shown[80];
        snprintf(shown, sizeof shown, "blobs/sha256/%.64s", de->d_name);
        cleanup_close int fd = -1;
        if (open_layout_file(dir, bfd, shown, de->d_name, &fd, err) < 0)
            goto out;
        if (img__imp_stage(&im, de->d_name, NULL, fd_read, &fd, err) < 0)
            goto out;
    }
    ret = finish_import(&im, repo, cb, arg, err);
out:
    imp_free(&im);
    return ret;
}

/* What a layout has at an archive path: a file, a directory, or nothing of
 * ours (other entries are ignored). */
enum { ENTRY_OTHER, ENTRY_FILE, ENTRY_DIR };
static int layout_entry(const char *p)
{
    size_t n = strlen(p);
    while (n && p[n - 1] == '/')
        n--;
    if ((n == 10 && !strncmp(p, "index.json", n)) || (n == 10 && !strncmp(p, "oci-layout", n)))
        return ENTRY_FILE;
    if ((n == 5 && !strncmp(p, "blobs", n)) || (n == 12 && !strncmp(p, "blobs/sha256", n)))
        return ENTRY_DIR;
    if (n == 13 + 64 && !strncmp(p, "blobs/sha256/", 13)) {
        char hex[65];
        memcpy(hex, p + 13, 64);
        hex[64] = 0;
        if (hex64(hex))
            return ENTRY_FILE;
    }
    return ENTRY_OTHER;
}

/* An entry where the layout has a file must be a plain file (no link,
 * device, FIFO or directory), where it has a directory a directory. */
static int check_entry(const char *file, const char *p, struct archive_entry *e, int kind, nr_err *err)
{
    unsigned type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e))
        return nr_err_set(err, "%s: entry \"%.200s\" is a hardlink: refused", file, p);
    if (type == AE_IFLNK)
        return nr_err_set(err, "%s: entry \"%.200s\" is a symlink: refused", file, p);
    if (kind == ENTRY_DIR && type != AE_IFDIR)
        return nr_err_set(err, "%s: entry \"%.200s\" is not a directory: refused", file, p);
    if (kind == ENTRY_FILE && (type != AE_IFREG || p[strlen(p) - 1] == '/'))
        return nr_err_set(err, "%s: entry \"%.200s\" is not a regular file: refused", file, p);
    return 0;
}

int img_import_oci_archive(img_store *s, const char *file, const char *repo, img_import_cb cb, void *arg, nr_err *err)
{
    imp im = {.s = s, .src = file};
    int ret = -1;
    if (img_store_hold(s, err) < 0) /* blobs found in the store stay until tagged */
        return -1;
    struct archive *a = archive_read_new();
    /* docker load's compressions, none of filter_all's host programs; xz
     * within img_xz_open's memory bound */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_format_tar(a);
    int fd = !strcmp(file, "-") ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        nr_err_sys(err, errno, "open %s", file);
        goto out;
    }
    int r = img_xz_open_fd(a, fd, fd != STDIN_FILENO);
    if (r != ARCHIVE_OK) {
        nr_err_set(err, "open %s: %s", file, archive_error_string(a));
        goto out;
    }
    struct archive_entry *e;
    bool seen_layout = false;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        if (!p)
            continue;
        while (p[0] == '.' && p[1] == '/')
            p += 2;
        int kind = layout_entry(p);
        if (kind == ENTRY_OTHER) {
            if (img__imp_docker_entry(&im, file, p, a, e, err) < 0)
                goto out;
            continue;
        }
        if (check_entry(file, p, e, kind, err) < 0)
            goto out;
        if (kind == ENTRY_DIR)
            continue;
        if (!strcmp(p, "oci-layout")) {
            if (seen_layout) {
                nr_err_set(err, "%s: oci-layout appears twice: refused", file);
                goto out;
            }
            seen_layout = true;
            char buf[LAYOUT_FILE_MAX + 1];
            size_t got = 0;
            la_ssize_t n = 0;
            while (got < sizeof buf && (n = archive_read_data(a, buf + got, sizeof buf - got)) > 0)
                got += (size_t)n;
            if (n < 0) {
                nr_err_set(err, "%s: %s", file, archive_error_string(a));
                goto out;
            }
            if (got > LAYOUT_FILE_MAX) {
                nr_err_set(err, "%s: oci-layout is larger than %d bytes: refused", file, LAYOUT_FILE_MAX);
                goto out;
            }
            if (check_oci_layout(file, buf, got, err) < 0)
                goto out;
        } else if (!strcmp(p, "index.json")) {
            if (im.index) {
                nr_err_set(err, "%s: index.json appears twice: refused", file);
                goto out;
            }
            if (img__imp_ar_json(a, e, file, "index.json", &im.index, &im.index_len, err) < 0)
                goto out;
        } else {
            if (img__imp_stage(&im, p + 13, NULL, img__imp_ar_read, a, err) < 0)
                goto out;
        }
    }
    if (r != ARCHIVE_EOF) {
        nr_err_set(err, "%s: %s", file, archive_error_string(a));
        goto out;
    }
    ret = finish_import(&im, repo, cb, arg, err);
out:
    archive_read_free(a);
    imp_free(&im);
    return ret;
}
