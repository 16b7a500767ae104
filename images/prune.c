/* Garbage collection: blobs not reachable from index.json go (then the
 * unpacked layers nothing uses: prune_layers.c), under the exclusive gc lock (no build is between writing blobs and tagging) and the
 * exclusive index lock (no tag changes meanwhile). */
#include "images/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "images/image.h"

typedef struct strset {
    char **v;
    size_t n, cap;
} strset;

static void set_add(strset *s, const char *d)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = nr_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = nr_xstrdup(img_digest_hex(d));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool set_has(const strset *s, const char *hex)
{
    return s->n && bsearch(&hex, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void set_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* What the images of index.json keep: blobs, and the diff_ids of their
 * unpacked layers (layers_unknown when a config could not be read: then no
 * unpacked layer is removed). */
typedef struct marks {
    strset blobs;
    strset diff_ids;
    bool layers_unknown;
} marks;

/* Add the config's rootfs.diff_ids to m->diff_ids. */
static void mark_diff_ids(img_store *s, const img_desc *c, marks *m)
{
    cleanup_free char *data = NULL;
    size_t len;
    nr_err ign;
    json_t *j = NULL;
    if (img_blob_read(s, c->digest, IMG_JSON_MAX, &data, &len, &ign) < 0 || !(j = json_loadb(data, len, 0, NULL))) {
        m->layers_unknown = true;
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(j, "rootfs"), "diff_ids"), i, v)
    {
        if (json_is_string(v) && img_digest_valid(json_string_value(v)))
            set_add(&m->diff_ids, json_string_value(v));
        else
            m->layers_unknown = true;
    }
    json_decref(j);
}

/* Mark a descriptor and what it references (manifest -> config + layers,
 * index -> manifests). */
static int mark(img_store *s, const img_desc *d, marks *mk, int depth, nr_err *err)
{
    strset *set = &mk->blobs;
    set_add(set, d->digest);
    bool is_index = img_mt_is_index(d->media_type);
    if (strcmp(d->media_type, IMG_MT_MANIFEST) && strcmp(d->media_type, IMG_MT_DOCKER_MANIFEST) && !is_index)
        return 0;
    if (depth > 4)
        return nr_err_set(err, "index %s: nested too deep", d->digest);
    cleanup_free char *data = NULL;
    size_t len;
    if (img_blob_read(s, d->digest, IMG_JSON_MAX, &data, &len, err) < 0)
        return -1;
    json_t *j = json_loadb(data, len, 0, NULL);
    if (!j)
        return nr_err_set(err, "manifest %s: invalid JSON", d->digest);
    int r = 0;
    json_t *list = is_index ? json_object_get(j, "manifests") : json_object_get(j, "layers");
    img_desc c;
    if (!is_index) {
        r = img__desc_parse(json_object_get(j, "config"), &c, d->digest, err);
        if (r == 0)
            set_add(set, c.digest);
        if (r == 0)
            mark_diff_ids(s, &c, mk);
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (r < 0)
            break;
        r = img__desc_parse(v, &c, d->digest, err);
        if (r == 0)
            r = mark(s, &c, mk, depth + 1, err);
    }
    json_decref(j);
    return r;
}

/* The gc lock exclusively: on a new fd, or by converting this handle's
 * shared hold (a second fd would wait for ourselves). */
static int gc_lock_exclusive(img_store *s, int *own, nr_err *err)
{
    if (s->gc_fd < 0) {
        if (nr_lock(s->root_fd, IMG_GC_LOCK, true, own, err) < 0)
            return nr_err_wrap(err, "store %s", s->root);
        return 0;
    }
    while (flock(s->gc_fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return nr_err_sys(err, errno, "lock %s/%s", s->root, IMG_GC_LOCK);
    return 0;
}

static void gc_unlock_exclusive(img_store *s)
{
    if (s->gc_fd >= 0)
        flock(s->gc_fd, LOCK_SH);
}

/* The image manifests an index blob lists (none when `digest` is not an
 * index or cannot be read: those stay for prune). */
static void index_children(img_store *s, const char *digest, strset *out)
{
    cleanup_free char *data = NULL;
    size_t len;
    nr_err ign;
    if (img_blob_read(s, digest, IMG_JSON_MAX, &data, &len, &ign) < 0)
        return;
    json_t *j = json_loadb(data, len, 0, NULL);
    if (img_json_is_index(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(j, "manifests"), i, v)
        {
            img_desc d;
            if (img__desc_parse(v, &d, "index", &ign) == 0 && img_mt_is_manifest(d.media_type))
                set_add(out, d.digest);
        }
    }
    json_decref(j);
}

int img_manifest_drop_untagged(img_store *s, const char *digest, bool *deleted, nr_err *err)
{
    *deleted = false;
    if (!img_digest_valid(digest))
        return nr_err_set(err, "invalid digest \"%.80s\"", digest);
    cleanup_close int gc = -1, lk = -1;
    if (gc_lock_exclusive(s, &gc, err) < 0)
        return -1;
    int ret = -1;
    json_t *idx = NULL;
    strset gone = {0}, kept = {0};
    if (img__index_load_locked(s, false, &lk, &idx, err) < 0)
        goto out;
    size_t i;
    json_t *v;
    bool used = false;
    json_array_foreach(json_object_get(idx, "manifests"), i, v)
    {
        const char *d = json_string_value(json_object_get(v, "digest"));
        used |= !strcmp(d, digest);
        set_add(&kept, d);
        index_children(s, d, &kept);
    }
    if (kept.n)
        qsort(kept.v, kept.n, sizeof *kept.v, cmp_str);
    /* an image a kept index lists stays, tagged or not: the index needs it
     * (said with 1, for rmi to refuse a digest that was never tagged) */
    if (!used && set_has(&kept, img_digest_hex(digest))) {
        nr_err_set(err, "%s is one platform of a multi-platform image in the store: remove that image instead",
                   digest);
        ret = 1;
        goto out;
    }
    if (!used) {
        /* An index takes the manifests only it listed along (their configs
         * and layers stay for prune, as a single image's do). */
        index_children(s, digest, &gone);
        if (unlinkat(s->blobs_fd, img_digest_hex(digest), 0) < 0 && errno != ENOENT) {
            nr_err_sys(err, errno, "remove blob %s", digest);
            goto out;
        }
        *deleted = true;
        for (i = 0; i < gone.n; i++)
            if (!set_has(&kept, gone.v[i]) && unlinkat(s->blobs_fd, gone.v[i], 0) < 0 && errno != ENOENT) {
                nr_err_sys(err, errno, "remove blob sha256:%s", gone.v[i]);
                goto out;
            }
    }
    ret = 0;
out:
    set_free(&gone);
    set_free(&kept);
    json_decref(idx);
    gc_unlock_exclusive(s);
    return ret;
}

static int remove_blob(img_store *s, const char *hex, img_prune_result *res, nr_err *err)
{
    struct stat st;
    if (fstatat(s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (unlinkat(s->blobs_fd, hex, 0) < 0)
        return nr_err_sys(err, errno, "remove blob sha256:%s", hex);
    res->blobs_removed++;
    res->bytes_reclaimed += (uint64_t)st.st_size;
    return 0;
}

/* Remove unreachable blobs (all of them, or only those in `only`; none when
 * !blobs) and then, unless `only`, the unpacked layers nothing uses. */
static int prune_impl(img_store *s, const char *const *only, size_t n_only, bool blobs, img_prune_result *res,
                      nr_err *err)
{
    memset(res, 0, sizeof *res);
    cleanup_close int gc = -1;
    if (gc_lock_exclusive(s, &gc, err) < 0)
        return -1;
    cleanup_close int lk = -1;
    int ret = -1;
    marks mk = {0};
    strset set = {0};
    char **used = NULL;
    size_t n_used = 0;
    json_t *idx = NULL;
    cleanup_dir DIR *dir = NULL;
    if (img__index_load_locked(s, true, &lk, &idx, err) < 0)
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(idx, "manifests"), i, v)
    {
        img_desc d;
        if (img__desc_parse(v, &d, "index.json", err) < 0 || mark(s, &d, &mk, 0, err) < 0) {
            nr_err_wrap(err, "prune %s: nothing removed", s->root);
            goto out;
        }
    }
    set = mk.blobs;
    mk.blobs = (strset){0};
    /* What containers use, before anything goes: an unreadable config.json
     * stops prune with the store as it was. */
    if (!only && !mk.layers_unknown && img__layers_in_use(s, &used, &n_used, err) < 0) {
        nr_err_wrap(err, "prune %s: nothing removed", s->root);
        goto out;
    }
    if (set.n)
        qsort(set.v, set.n, sizeof *set.v, cmp_str);
    if (only) {
        for (i = 0; i < n_only; i++) {
            if (!img_digest_valid(only[i])) {
                nr_err_set(err, "invalid digest \"%.80s\"", only[i]);
                goto out;
            }
            if (!set_has(&set, img_digest_hex(only[i])) && remove_blob(s, img_digest_hex(only[i]), res, err) < 0)
                goto out;
        }
        ret = 0;
        goto out;
    }
    if (!blobs)
        goto layers;
    dir = nr_opendir_fd(s->blobs_fd);
    if (!dir) {
        nr_err_sys(err, errno, "open %s/blobs/sha256", s->root);
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(dir))) {
        char d[IMG_DIGEST_MAX];
        snprintf(d, sizeof d, "sha256:%.64s", de->d_name);
        if (strlen(de->d_name) != 64 || !img_digest_valid(d) || set_has(&set, de->d_name))
            continue;
        if (remove_blob(s, de->d_name, res, err) < 0)
            goto out;
    }
    res->temps_removed = img__clean_temps(s->blobs_fd, true) + img__clean_temps(s->root_fd, true);
layers:
    /* Then the unpacked layers of what went (a layer's blob may have gone
     * with an image while a container still runs from its unpacked dir). */
    if (!mk.layers_unknown) {
        if (mk.diff_ids.n)
            qsort(mk.diff_ids.v, mk.diff_ids.n, sizeof *mk.diff_ids.v, cmp_str);
        if (img__layers_prune(s, mk.diff_ids.v, mk.diff_ids.n, used, n_used, res, err) < 0)
            goto out;
    }
    ret = 0;
out:
    gc_unlock_exclusive(s);
    json_decref(idx);
    set_free(&set);
    set_free(&mk.blobs);
    set_free(&mk.diff_ids);
    img__names_free(used, n_used);
    return ret;
}

int img_store_prune(img_store *s, img_prune_result *res, nr_err *err)
{
    return prune_impl(s, NULL, 0, true, res, err);
}

int img_layers_prune(img_store *s, img_prune_result *res, nr_err *err)
{
    return prune_impl(s, NULL, 0, false, res, err);
}

int img_blobs_remove_unreferenced(img_store *s, const char *const *digests, size_t n, img_prune_result *res,
                                  nr_err *err)
{
    return prune_impl(s, digests, n, true, res, err);
}
