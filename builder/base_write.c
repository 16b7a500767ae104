/* Write a base image context made by images/node/mkbase.sh into the store:
 * image.json lists the steps (the same as its Nodefile), each COPY step's
 * directory becomes one layer through the store's reproducible layer writer
 * (sorted entries, mtime 0, numeric owners), and the config carries Env, Cmd
 * and Labels with a fixed `created` of 0, so the same context always gives
 * the same manifest digest, whatever the clock or SOURCE_DATE_EPOCH.  A
 * context may also go on top of an image (bld_base_write_on: its layers,
 * history and config, with the context's Labels added). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/base.h"
#include "common/util.h"
#include "images/image.h"
#include "images/layer.h"
#include "images/store.h"

#define MAX_STEPS 32
#define MAX_DEPTH 64

/* Add everything below host directory `dfd` (named `host` in errors) to the
 * layer under in-image path `img` ("" for the root), owned by uid:gid. */
static int add_tree(img_layer_writer *w, int dfd, const char *host, const char *img, uid_t uid, gid_t gid,
                    int depth, nr_err *err)
{
    if (depth > MAX_DEPTH)
        return nr_err_set(err, "%s: directories nested too deep", host);
    int fd2 = dup(dfd);
    if (fd2 < 0)
        return nr_err_sys(err, errno, "dup %s", host);
    cleanup_dir DIR *d = fdopendir(fd2);
    if (!d) {
        close(fd2);
        return nr_err_sys(err, errno, "opendir %s", host);
    }
    struct dirent *de;
    while ((errno = 0, de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cleanup_free char *hpath = nr_xasprintf("%s/%s", host, de->d_name);
        cleanup_free char *ipath = nr_xasprintf("%s%s%s", img, *img ? "/" : "", de->d_name);
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return nr_err_sys(err, errno, "stat %s", hpath);
        mode_t perm = st.st_mode & 07777;
        if (S_ISDIR(st.st_mode)) {
            if (img_layer_add_dir(w, ipath, perm, uid, gid, err) < 0)
                return -1;
            cleanup_close int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                return nr_err_sys(err, errno, "open %s", hpath);
            if (add_tree(w, sub, hpath, ipath, uid, gid, depth + 1, err) < 0)
                return -1;
        } else if (S_ISREG(st.st_mode)) {
            if (img_layer_add_file(w, ipath, hpath, (uint64_t)st.st_size, perm, uid, gid, err) < 0)
                return -1;
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(dfd, de->d_name, target, sizeof target - 1);
            if (n < 0)
                return nr_err_sys(err, errno, "readlink %s", hpath);
            target[n] = '\0';
            if (img_layer_add_symlink(w, ipath, target, uid, gid, err) < 0)
                return -1;
        } else {
            return nr_err_set(err, "%s: not a file, directory or symlink", hpath);
        }
    }
    if (errno)
        return nr_err_sys(err, errno, "readdir %s", host);
    return 0;
}

/* The directory ctx/<src> (not through a symlink) and a writer for its
 * layer: *dfd and *w for the caller to close and commit or abort. */
static int layer_begin(img_store *s, const char *ctx, const char *src, char **host, int *dfd, img_layer_writer **w,
                       nr_err *err)
{
    *host = nr_xasprintf("%s/%s", ctx, src);
    *dfd = open(*host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*dfd < 0)
        return nr_err_sys(err, errno, "open %s", *host);
    return img_layer_writer_new(s, IMG_COMPRESS_GZIP, 0, w, err);
}

/* A whole root file system (a Debian rootfs unpacked as root): every entry
 * keeps its owner, mode (suid/sgid), hardlinks and file capabilities, as
 * the store's layer writer takes a RUN step's upper directory. */
static int write_tree_layer(img_store *s, const char *ctx, const char *src, const char *by, img_layer_desc *out,
                            nr_err *err)
{
    fprintf(stderr, "base: %s\n", by);
    cleanup_free char *host = NULL;
    cleanup_close int dfd = -1;
    img_layer_writer *w;
    if (layer_begin(s, ctx, src, &host, &dfd, &w, err) < 0)
        return -1;
    if (img_layer_add_upper(w, dfd, NULL, err) < 0) {
        img_layer_writer_abort(w);
        return nr_err_wrap(err, "layer %s", src);
    }
    if (img_layer_writer_commit_desc(w, out, err) < 0)
        return nr_err_wrap(err, "layer %s", src);
    return 0;
}

/* One COPY step: the directory ctx/<src> as a layer at <dest>. */
static int write_layer(img_store *s, const char *ctx, json_t *layer, const char *by, bool quiet,
                       img_layer_desc *out, nr_err *err)
{
    const char *src = json_string_value(json_object_get(layer, "src"));
    const char *dest = json_string_value(json_object_get(layer, "dest"));
    const char *owners = json_string_value(json_object_get(layer, "owners"));
    json_t *ju = json_object_get(layer, "uid"), *jg = json_object_get(layer, "gid");
    if (owners && (!strcmp(owners, "keep") && src && *src && !strchr(src, '/') && src[0] != '.' && dest &&
                   !strcmp(dest, "/")))
        return write_tree_layer(s, ctx, src, by, out, err);
    if (!src || !*src || strchr(src, '/') || src[0] == '.' || !dest || dest[0] != '/' || strstr(dest, "..") ||
        !json_is_integer(ju) || !json_is_integer(jg) || json_integer_value(ju) < 0 || json_integer_value(jg) < 0 ||
        json_integer_value(ju) > 65535 || json_integer_value(jg) > 65535)
        return nr_err_set(err, "%s/image.json: a layer needs src (a name), dest (absolute) and uid/gid", ctx);
    if (!quiet)
        fprintf(stderr, "base: %s\n", by);
    /* In-image prefix: "/" -> "", "/home/" -> "home". */
    cleanup_free char *prefix = nr_xstrdup(dest + 1);
    size_t pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/')
        prefix[--pl] = '\0';
    cleanup_free char *host = NULL;
    cleanup_close int dfd = -1;
    img_layer_writer *w;
    if (layer_begin(s, ctx, src, &host, &dfd, &w, err) < 0)
        return -1;
    if (add_tree(w, dfd, host, prefix, (uid_t)json_integer_value(ju), (gid_t)json_integer_value(jg), 0, err) < 0) {
        img_layer_writer_abort(w);
        return -1;
    }
    if (img_layer_writer_commit_desc(w, out, err) < 0)
        return nr_err_wrap(err, "layer %s", src);
    return 0;
}

#define MADE_DIR "cache/made-bases"

/* The mark of a base this store made: an empty file named by the manifest's
 * hex digest (a digest names its content, so a mark outlives nothing it
 * should not: the same digest is the same image). */
static int mark_made(img_store *s, const char *digest, nr_err *err)
{
    if (!img_digest_valid(digest))
        return nr_err_set(err, "base image: odd manifest digest %s", digest);
    cleanup_free char *dir = nr_xasprintf("%s/" MADE_DIR, img_store_root(s));
    if (nr_mkdir_p(dir, 0755, err) < 0)
        return nr_err_wrap(err, "base image mark");
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int fd = dfd < 0 ? -1 : openat(dfd, digest + 7, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return nr_err_sys(err, errno, "base image mark in %s", dir);
    close(fd);
    return 0;
}

bool bld_base_made_by_store(img_store *s, const char *digest)
{
    if (!img_digest_valid(digest))
        return false;
    cleanup_free char *p = nr_xasprintf("%s/" MADE_DIR "/%s", img_store_root(s), digest + 7);
    struct stat st;
    return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ctx's image.json into the store: its steps from scratch with its config,
 * or (base non-NULL) on top of base, whose config gets the context's Labels. */
static int write_ctx(img_store *s, const img_image *base, const char *ctx, const char *const *tags, size_t n_tags,
                     img_desc *manifest_out, nr_err *err)
{
    cleanup_close int cfd = open(ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return nr_err_sys(err, errno, "open %s", ctx);
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_user_file(cfd, "image.json", "image config", 1 << 20, &text, &len, err) < 0)
        return nr_err_wrap(err, "%s", ctx);
    json_error_t je;
    json_auto_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return nr_err_set(err, "%s/image.json:%d:%d: %s", ctx, je.line, je.column, je.text);
    json_t *steps = json_object_get(doc, "steps"), *config = json_object_get(doc, "config");
    size_t n = json_array_size(steps);
    if (!json_is_array(steps) || n == 0 || n > MAX_STEPS || !json_is_object(config))
        return nr_err_set(err, "%s/image.json: needs a steps array (1..%d) and a config object", ctx, MAX_STEPS);
    json_t *labels = json_object_get(config, "Labels");
    if (base && (json_object_size(config) != (labels ? 1 : 0) || (labels && !json_is_object(labels))))
        return nr_err_set(err, "%s/image.json: on top of an image, the config may hold Labels only", ctx);

    size_t nb = base ? base->n_layers : 0;
    img_history_entry hist[MAX_STEPS];
    cleanup_free img_layer_desc *layers = nr_xcalloc(nb + MAX_STEPS, sizeof *layers);
    for (size_t i = 0; i < nb; i++)
        layers[i] = base->layers[i];
    size_t n_layers = nb;
    for (size_t i = 0; i < n; i++) {
        json_t *st = json_array_get(steps, i);
        const char *by = json_string_value(json_object_get(st, "created_by"));
        if (!by)
            return nr_err_set(err, "%s/image.json: steps[%zu] has no created_by", ctx, i);
        json_t *layer = json_object_get(st, "layer");
        hist[i] = (img_history_entry){.created_by = by, .empty_layer = !layer};
        if (!layer)
            continue;
        if (write_layer(s, ctx, layer, by, base != NULL, &layers[n_layers], err) < 0)
            return -1;
        n_layers++;
    }
    json_auto_t *merged = NULL;
    json_t *base_history = NULL;
    const char *author = NULL;
    if (base) {
        json_t *rc = img_image_runconfig(base);
        merged = rc ? json_deep_copy(rc) : json_object();
        json_t *ml = json_object_get(merged, "Labels");
        if (!json_is_object(ml)) {
            ml = json_object();
            json_object_set_new(merged, "Labels", ml);
        }
        if (labels)
            json_object_update(ml, labels);
        config = merged;
        base_history = json_object_get(base->config_json, "history");
        if (!json_is_array(base_history))
            return nr_err_set(err, "the image %s has no history to build on", base->manifest.digest);
        author = json_string_value(json_object_get(base->config_json, "author"));
    }
    img_image_spec spec = {
        .config = config,
        .layers = layers,
        .n_layers = n_layers,
        .history = hist,
        .n_history = n,
        .base_history = base_history,
        .created = base ? img_image_created(base) : 0,
        .author = author,
    };
    /* the mark says this store made all of it: on top of an image it did
     * not make (a node:20-slim pulled from a registry under that name),
     * what is made here is not marked */
    if (img_image_write(s, &spec, manifest_out, err) < 0 ||
        ((!base || bld_base_made_by_store(s, base->manifest.digest)) && mark_made(s, manifest_out->digest, err) < 0))
        return -1;
    for (size_t i = 0; i < n_tags; i++)
        if (img_tag_set(s, tags[i], manifest_out, err) < 0)
            return -1;
    return 0;
}

int bld_base_write(img_store *s, const char *ctx, const char *const *tags, size_t n_tags, img_desc *manifest_out,
                   nr_err *err)
{
    return write_ctx(s, NULL, ctx, tags, n_tags, manifest_out, err);
}

int bld_base_write_on(img_store *s, const img_image *base, const char *ctx, img_desc *manifest_out, nr_err *err)
{
    return write_ctx(s, base, ctx, NULL, 0, manifest_out, err);
}
