/* Images in the store: writing a config + manifest, tags in index.json,
 * resolving a reference to a loaded and validated image.
 *
 * index.json holds one manifest descriptor per tag, with annotation
 * org.opencontainers.image.ref.name = "name:tag".  It is read under the
 * shared index lock and rewritten atomically (temp + fsync + rename) under
 * the exclusive one.  A manifest with no tag left is only reachable by
 * digest until prune removes it.
 *
 * Everything read back from the store is treated as hostile: wrong JSON
 * types, missing fields, bad digests or a diff_id count that does not match
 * the layers give an error naming the blob, never a crash. */
#ifndef IMG_IMAGE_H
#define IMG_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "images/store.h"

#define IMG_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define IMG_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMG_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMG_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define IMG_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMG_MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"
#define IMG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_ANNOT_REF_NAME "org.opencontainers.image.ref.name"

/* Largest manifest / config / index.json we read (hostile input bound). */
#define IMG_JSON_MAX (8u << 20)

typedef struct img_desc {
    char media_type[128];
    char digest[IMG_DIGEST_MAX];
    uint64_t size;
} img_desc;

typedef struct img_layer_desc {
    img_desc blob;                 /* compressed layer blob */
    char diff_id[IMG_DIGEST_MAX];  /* from the config's rootfs.diff_ids */
} img_layer_desc;

/* ---- image indexes (multi-platform images: platforms.c) ---- */

/* Entries an index may list. */
#define IMG_INDEX_MAX 64

typedef struct img_platform {
    img_desc manifest;
    char name[128];  /* "linux/arm64/v8", "unknown" when the entry has no platform */
    int dup_of;      /* index of an earlier entry with the same digest, or -1 */
} img_platform;

typedef struct img_index {
    size_t n;
    int chosen;      /* the linux/amd64 entry (the first one) */
    img_platform p[];
} img_index;

bool img_mt_is_index(const char *mt);    /* OCI index or Docker manifest list */
bool img_mt_is_manifest(const char *mt); /* OCI or Docker schema2 image manifest */
/* An index document: an index mediaType, or none with "manifests" and no "layers". */
bool img_json_is_index(json_t *j);
/* Check an index (see platforms.c for the rules: no nesting, no self
 * reference, at most IMG_INDEX_MAX entries, duplicates consistent, a
 * linux/amd64 image present) and list its entries; free() the result.
 * `self_digest` (the index's own digest) may be NULL. */
int img_index_parse(json_t *idx, const char *self_digest, const char *what, img_index **out, nr_err *err);

/* ---- writing an image ---- */

typedef struct img_history_entry {
    const char *created_by;  /* "COPY . /app" */
    const char *comment;     /* NULL for none */
    bool empty_layer;        /* true for ENV, CMD, ... */
} img_history_entry;

typedef struct img_image_spec {
    /* The OCI "config" object: Env, Cmd, Entrypoint, WorkingDir, User,
     * ExposedPorts, Volumes, Labels, StopSignal, Healthcheck (borrowed,
     * validated; NULL = none).  Types are checked: Env/Cmd/Entrypoint arrays
     * of strings, ExposedPorts/Volumes objects of {}, Labels object of
     * strings, the rest strings (Healthcheck an object). */
    json_t *config;
    const img_layer_desc *layers;  /* base first */
    size_t n_layers;
    /* History entries; the non-empty ones must number n_layers.  NULL: the
     * history of the base (`base_history`, borrowed JSON array) plus nothing;
     * or, when both are NULL, one "layer N" entry per layer. */
    const img_history_entry *history;
    size_t n_history;
    json_t *base_history;          /* history array of the FROM image, prepended */
    long long created;             /* < 0: SOURCE_DATE_EPOCH or 0 */
    const char *architecture;      /* NULL: "amd64" */
    const char *os;                /* NULL: "linux" */
    json_t *manifest_annotations;  /* borrowed, NULL for none */
    const char *author;            /* the config's "author" (MAINTAINER); NULL: none */
} img_image_spec;

/* Write config and manifest blobs (sorted keys, compact JSON: same spec, same
 * digest).  Every layer blob must already be in the store.  Returns the
 * manifest descriptor (digest, size, media type). */
int img_image_write(img_store *s, const img_image_spec *spec, img_desc *manifest_out, nr_err *err);

/* ---- tags (index.json) ---- */

typedef struct img_tag {
    char *ref_name;  /* "name:tag" */
    img_desc manifest;
} img_tag;

/* Point "name[:tag]" (normalized) at a manifest, replacing the old target. */
int img_tag_set(img_store *s, const char *ref, const img_desc *manifest, nr_err *err);
/* Remove a tag; errnum ENOENT when it does not exist. */
int img_tag_remove(img_store *s, const char *ref, nr_err *err);
/* Remove the manifest blob `digest` when no tag in index.json points to it
 * any more (config and layers stay for prune: other images may share them).
 * Under the exclusive gc lock, so no build about to tag the same manifest is
 * in between.  *deleted says whether it went.  1 (with err set) when it
 * stays because an index that is kept lists it. */
int img_manifest_drop_untagged(img_store *s, const char *digest, bool *deleted, nr_err *err);
/* All tags, sorted by ref name. */
int img_tag_list(img_store *s, img_tag **out, size_t *n_out, nr_err *err);
void img_tag_list_free(img_tag *tags, size_t n);

/* ---- resolving and loading ---- */

typedef struct img_image {
    img_desc manifest;            /* digest of the manifest = the image digest */
    img_desc config;              /* config digest = docker's "IMAGE ID" */
    json_t *manifest_json;        /* owned, validated */
    json_t *config_json;          /* owned, validated (whole config blob) */
    img_layer_desc *layers;       /* n_layers, base first, with diff_ids */
    size_t n_layers;
    char **tags;                  /* every "name:tag" pointing at this manifest (or at its index) */
    size_t n_tags;
    /* When the reference named an index: the index (digest "" otherwise)
     * and its entries; the fields above are its linux/amd64 image. */
    img_desc index;
    img_index *platforms;
} img_image;

/* What the reference names: the index when there is one, else the manifest
 * (the digest a registry shows, what a tag points at). */
const img_desc *img_image_top(const img_image *img);

/* Resolve a reference (a tag or digest of an index loads the index's
 * linux/amd64 image, the index in img->index): name[:tag], name@sha256:..., a full "sha256:<hex>"
 * (manifest or config digest), or a unique hex prefix (>= 4 chars, with or
 * without "sha256:") of a tagged manifest or config digest, as docker prints
 * IDs.  Not found: returns -1 with err->errnum = ENOENT.  Ambiguous prefix:
 * errnum EINVAL.  The image's blobs are verified while loading (manifest
 * and config); layers are verified when read. */
int img_image_load(img_store *s, const char *ref, img_image **out, nr_err *err);
/* Load by manifest digest (no tag lookup). */
int img_image_load_digest(img_store *s, const char *manifest_digest, img_image **out, nr_err *err);
void img_image_free(img_image *img);
/* The "config" object inside the config blob (borrowed; may be NULL). */
json_t *img_image_runconfig(const img_image *img);
/* Size as `nrun images` shows it: config + compressed layers. */
uint64_t img_image_size(const img_image *img);
/* "created" of the config as seconds since the epoch (0 when absent/bad). */
long long img_image_created(const img_image *img);

/* Validate a manifest / config / index.json document (exposed for tests and
 * import). `what` names the blob in errors. */
int img_manifest_validate(json_t *m, const char *what, nr_err *err);
/* A descriptor's optional "urls" (where a foreign or non-distributable
 * layer is fetched from when the registry lacks it): at most
 * IMG_DESC_URLS_MAX strings of at most 2048 bytes.  *out borrows the array
 * (NULL when there is none). */
#define IMG_DESC_URLS_MAX 16
int img_desc_urls(json_t *desc, const char *what, json_t **out, nr_err *err);
int img_config_validate(json_t *c, const char *what, nr_err *err);

#endif
