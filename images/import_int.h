/* Internal to images/import*.c: an import in progress.  Every blob of the
 * source is staged (an unnamed store file, hashed as it is read); nothing is
 * linked or tagged before all of it is checked (img__imp_link_and_tag).
 * import.c reads OCI layouts and archives, import_docker.c the
 * docker-archive form (manifest.json) of an archive. */
#ifndef IMG_IMPORT_INT_H
#define IMG_IMPORT_INT_H

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "images/oci.h"
#include "images/store_int.h"

#define KEEP_IN_MEMORY (1u << 20) /* blobs this small stay in memory too (manifests, configs) */
#define LAYOUT_FILE_MAX 4096      /* oci-layout: {"imageLayoutVersion":"1.0.0"} */

typedef struct staged {
    char digest[IMG_DIGEST_MAX];
    img_blob_writer *w;
    uint64_t size;
    char *data; /* when size <= KEEP_IN_MEMORY */
    unsigned char magic[4]; /* the first bytes (a docker-archive layer's compression) */
    bool used;
} staged;

/* A file of a docker-archive: its path in the archive and the digest it was
 * staged as, or (a symlink, as docker save writes for a repeated layer) the
 * path it points to. */
typedef struct dfile {
    char *path;
    char digest[IMG_DIGEST_MAX];
    char *link;
} dfile;

typedef struct imp {
    img_store *s;
    const char *src;
    staged *b;
    size_t n, cap;
    char *index;
    size_t index_len;
    char *docker; /* manifest.json of a docker-archive */
    size_t docker_len;
    dfile *df;
    size_t n_df;
    char (*cfg)[IMG_DIGEST_MAX]; /* the config of every image manifest checked */
    size_t n_cfg;
} imp;

/* Returns bytes read, 0 at the end, -1 with err filled. */
typedef ssize_t (*read_fn)(void *ctx, void *buf, size_t len, const char *what, nr_err *err);

typedef struct found {
    char *name; /* "name:tag" or NULL */
    img_desc m;
    bool amd64; /* its index.json entry says linux/amd64 */
} found;

/* libarchive's current entry as a read_fn. */
ssize_t img__imp_ar_read(void *ctx, void *buf, size_t len, const char *what, nr_err *err);
/* libarchive's current entry, a JSON file (index.json, manifest.json), read
 * whole into *out (NUL-terminated), refused past IMG_JSON_MAX. */
int img__imp_ar_json(struct archive *a, struct archive_entry *e, const char *file, const char *name, char **out,
                     size_t *len, nr_err *err);
/* Stage a blob named by `hex` (checked), or with hex NULL the docker-archive
 * file `path` under the digest of its content (recorded in im->df). */
int img__imp_stage(imp *im, const char *hex, const char *path, read_fn rd, void *ctx, nr_err *err);
staged *img__imp_find(imp *im, const char *digest);
const char *img__imp_json_reason(json_error_t *je);
/* An image manifest and all it references, staged or stored; `strict` for
 * the image nrun runs. */
int img__imp_check_manifest(imp *im, const img_desc *md, bool strict, const char *what, nr_err *err);
/* A Docker Hub name in the short form docker shows ("docker.io/library/x:1"
 * -> "x:1", "docker.io/team/x:1" -> "team/x:1"): the name nrun run x:1 finds. */
const char *img__imp_familiar(const char *name);
/* The "name:tag" an entry gets from its ref.name annotation (or
 * io.containerd.image.name when ref.name is only the tag) and -n REPO. */
int img__imp_tag_for(imp *im, json_t *desc, const char *repo, size_t n_images, char **out, nr_err *err);
/* Link the used staged blobs, drop the others, set the tags. */
int img__imp_link_and_tag(imp *im, found *f, size_t nf, img_import_cb cb, void *arg, nr_err *err);

/* import_docker.c: an archive entry outside the OCI layout, and the import
 * when the archive has manifest.json and no index.json. */
int img__imp_docker_entry(imp *im, const char *file, const char *p, struct archive *a, struct archive_entry *e,
                          nr_err *err);
int img__imp_docker_finish(imp *im, const char *repo, img_import_cb cb, void *arg, nr_err *err);
/* An OCI archive that also has manifest.json (docker save since Docker 25,
 * nrun save): every image manifest.json names must be one index.json names
 * (by its config, whose diff_ids bind the layers), or docker load and nrun
 * load would read two different images from one archive. */
int img__imp_docker_agree(imp *im, nr_err *err);

#endif
