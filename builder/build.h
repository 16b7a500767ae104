/* The Nodefile executor: plan every instruction (expand variables, resolve
 * the base image, select and hash COPY/ADD sources, look up the layer
 * cache), then write the missing layers, the config and manifest, the
 * --output exports and, last, the tags.
 *
 * Contract: every error that bad input can cause is found while planning,
 * before the store is touched.  An error while writing (disk full, read-only
 * store) removes the blobs this build added, so the store is left as it was.
 * Cache records and the stat cache live under <root>/cache/build/. */
#ifndef BLD_BUILD_H
#define BLD_BUILD_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"
#include "images/image.h"
#include "images/registry.h"
#include "images/layer.h"
#include "images/store.h"

typedef struct bld_opts {
    const char *context;       /* context directory */
    const char *file;          /* Nodefile path; NULL: CONTEXT/Nodefile, then CONTEXT/Dockerfile */
    const char **tags;         /* -t, normalized "name:tag" */
    size_t n_tags;
    const char **build_args;   /* "K=V" or "K" (value from the environment) */
    size_t n_build_args;
    const char *output;        /* "oci:DIR" / "oci-archive:FILE" / NULL */
    img_compress compress;
    bool quiet;
    bool no_cache;
    const char **no_cache_stages; /* --no-cache-filter: stages whose steps all run again */
    size_t n_no_cache_stages;
    const char *host_ca;       /* CA bundle bound into RUN steps; NULL: none */
    const char *target;        /* --target STAGE; NULL: the last stage */
    const char *network;       /* --network host|none: RUN's default; NULL: host */
    const char **secrets;      /* --secret id=ID[,src=FILE|,env=VAR] */
    size_t n_secrets;
    FILE *progress;            /* STEP lines; NULL when quiet */
    bool tty;                  /* --progress=tty: a RUN's output folds away when it succeeds */
    bool init;                 /* --init: add /nrun-init as a layer and the entrypoint (init_layer.c) */
    const char **cache_from;   /* --cache-from registry refs: their records join the local cache */
    size_t n_cache_from;
    const char *cache_to;      /* --cache-to registry ref (after a successful build) */
    bool cache_to_max;         /* mode=max: every stage's steps, not only the image's */
    const char **base_maps;    /* --base-map PATTERN=REPLACEMENT, first match wins (builder/basemap.c) */
    size_t n_base_maps;
    unsigned jobs;             /* --jobs: stages built at once (0, 1: one at a time) */
    const img_reg_opts *reg;   /* pulling what the store lacks (FROM, COPY --from); NULL: never */
    bool pull;                 /* --pull: pull FROM / COPY --from images again when a registry has them */
    const char **labels;       /* --label K=V (or K: ""), set on the image after the Nodefile's LABELs */
    size_t n_labels;
    const char **build_contexts; /* --build-context NAME=DIR|NAME=docker-image://REF (named.c) */
    size_t n_build_contexts;
    const char **ssh;          /* --ssh ID[=SOCKET|KEY[,KEY...]] (ssh.c) */
    size_t n_ssh;
    const char **add_hosts;    /* --add-host NAME:IP for RUN steps' /etc/hosts (checked by rt_extra_host_parse) */
    size_t n_add_hosts;
} bld_opts;

typedef struct bld_result {
    img_desc manifest;
    size_t layers_cached, layers_built;
    size_t files_read;         /* context files read for hashing (stat cache misses) */
} bld_result;

int bld_build(img_store *s, const bld_opts *o, bld_result *res, nr_err *err);

/* --base-map: is `map` a valid PATTERN=REPLACEMENT?  Rewrite `ref` by the
 * first of `maps` that matches: 1 (out set), 0 (no map matches), -1 (the
 * result does not fit in outlen). */
int bld_base_map_check(const char *map, nr_err *err);
/* --build-context: is `spec` NAME=DIR (an existing directory) or NAME=docker-image://REF? */
int bld_named_check(const char *spec, nr_err *err);
/* --ssh: is `spec` ID (default: $SSH_AUTH_SOCK), ID=SOCKET or ID=KEY[,KEY...], each there? */
int bld_ssh_check(const char *spec, nr_err *err);
int bld_base_map(const char *const *maps, size_t n, const char *ref, char *out, size_t outlen);

#endif
