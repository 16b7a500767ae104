/* Base Node images made on demand (issue 2 item 4).  When a Nodefile says
 * `FROM node:20` and the store lacks it, the builder calls bld_base_ensure:
 * it runs the embedded recipe images/node/mkbase.sh (pinned versions in
 * images/node/versions.txt) to assemble a build context from registry
 * packages, cached under $NRUN_CACHE_DIR or <root>/cache/base so only the
 * first build downloads, then writes that context into the store with the
 * store's reproducible layer writer (one layer per COPY step of the context's
 * Nodefile) and tags it both node:<major>[-slim] and node:<version>[-slim].
 *
 * Known refs: node:<major>, node:<major>-slim, node:<version>,
 * node:<version>-slim for every pinned major/version.  Progress goes to
 * stderr ("base: downloading ...").  Same cached inputs, same image digest. */
#ifndef BLD_BASE_H
#define BLD_BASE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "images/image.h"
#include "images/store.h"

/* Make sure the base image `ref` is in the store.  Returns 0 when the tag is
 * present (already, or built now); 1 with err->errnum = ENOENT when `ref` is
 * not a base image this recipe knows (the caller reports "unknown base
 * image"); -1 with `err` filled (errnum never ENOENT) when making it failed,
 * leaving the store's tags as they were. */
int bld_base_ensure(img_store *s, const char *ref, nr_err *err);

/* What a base ref stands for (exposed for tests and `nbuild`). */
typedef struct bld_base_spec {
    char major[16];        /* "20" */
    char version[32];      /* "20.20.2" */
    bool slim;             /* node:<x>-slim: no npm, no shell */
    char tag_major[64];    /* "node:20" / "node:20-slim" */
    char tag_version[64];  /* "node:20.20.2" / "node:20.20.2-slim" */
} bld_base_spec;

/* Map a ref to its spec using the pinned versions (`versions` is the text of
 * versions.txt; NULL = the embedded one).  Returns 0, 1 when `ref` is not a
 * known base image, -1 when versions.txt itself is broken. */
int bld_base_resolve(const char *versions, const char *ref, bld_base_spec *out, nr_err *err);

/* Run the recipe alone: assemble the context (Nodefile + layer dirs) of
 * `spec` into the new directory `out_dir`, downloading into `cache_dir` what
 * is not cached yet. */
int bld_base_make_context(const bld_base_spec *spec, const char *cache_dir, const char *out_dir, nr_err *err);

/* Write a context made by the recipe (its image.json: steps and config) into
 * the store as an image and point each of `tags` at it.  created = 0 and
 * layer mtimes = 0: the same context gives the same manifest digest. */
int bld_base_write(img_store *s, const char *ctx_dir, const char *const *tags, size_t n_tags, img_desc *manifest_out,
                   nr_err *err);

#endif
