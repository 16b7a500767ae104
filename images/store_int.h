/* Private to images/: the store handle and helpers shared by its files. */
#ifndef IMG_STORE_INT_H
#define IMG_STORE_INT_H

#include <jansson.h>

#include "images/image.h"
#include "images/store.h"

struct img_store {
    char *root;
    int root_fd;
    int blobs_fd;
    int gc_fd;      /* gc.lock held shared (img_store_hold), or -1 */
    bool writable;
};

#define IMG_INDEX_LOCK "index.lock"
#define IMG_GC_LOCK "gc.lock"

/* Atomic replace of dirfd/name that touches nothing when the data cannot be
 * written (full disk): the content goes to an unnamed O_TMPFILE first and is
 * only linked (then renamed over `name`) once it is complete and fsync'd. */
int img__write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode, nr_err *err);
/* openat2 of dirfd/path with no symlink anywhere on the way and nothing
 * outside dirfd (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS); O_CLOEXEC added. */
int img__open_nofollow(int dirfd, const char *path, int flags);
int img__lock_index(img_store *s, bool exclusive, int *fd_out, nr_err *err);

/* A blob written in two steps: finish (hash, fsync) then link (make it
 * visible under its digest).  Import finishes every blob before linking any,
 * so a full disk leaves the store untouched. */
int img__blob_writer_finish(img_blob_writer *w, char digest_out[IMG_DIGEST_MAX], uint64_t *size_out, nr_err *err);
int img__blob_writer_link(img_blob_writer *w, nr_err *err); /* frees w, also on error */

/* Prune's layer half (prune_layers.c), under the exclusive gc and index
 * locks: the layer names containers' config.json files list (sorted; an
 * unreadable config.json is an error naming it), then the removal of
 * layers/<hex> in neither `keep` (sorted diff_id hexes of the images) nor
 * `used`, and of dead unpack temp dirs. */
int img__layers_in_use(img_store *s, char ***out, size_t *n_out, nr_err *err);
int img__layers_prune(img_store *s, char *const *keep, size_t n_keep, char *const *used, size_t n_used,
                      img_prune_result *res, nr_err *err);
void img__names_free(char **v, size_t n);

/* Remove ".tmp-<pid>-*" files in dirfd whose pid is gone (all of them when
 * `all`); returns the number removed. */
size_t img__clean_temps(int dirfd, bool all);

/* A logical "not found" (errnum ENOENT, no strerror suffix): the CLI maps
 * it to its not-found exit code. */
int img__not_found(nr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* index.json, read (caller holds the index lock) and validated. */
int img__index_load(img_store *s, json_t **out, nr_err *err);
/* img__lock_index, then img__index_load: *lk holds the lock (the caller
 * closes it, on failure too). */
int img__index_load_locked(img_store *s, bool exclusive, int *lk, json_t **out, nr_err *err);
/* Parse a descriptor object; `what` names it in errors ("index.json: manifests[2]"). */
int img__desc_parse(json_t *j, img_desc *d, const char *what, nr_err *err);
json_t *img__desc_json(const img_desc *d);

#endif
