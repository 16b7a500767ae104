/* Internal state shared by build.c (stages, metadata instructions, writing)
 * and copy.c (COPY/ADD).  Not a public interface. */
#ifndef BLD_BUILD_INT_H
#define BLD_BUILD_INT_H

#include <jansson.h>

#include "builder/archive.h"
#include "builder/build.h"
#include "builder/context.h"
#include "builder/owner.h"
#include "builder/parse.h"

/* One layer of a stage: a base layer (done, text NULL) or a COPY/ADD. */
typedef struct bld_step {
    char *text;            /* history created_by */
    bld_sel sel;
    bld_owner own;
    char key[65];          /* layer cache key */
    bool done;             /* layer known: base layer, cache hit, or written */
    bool cached;           /* from the layer cache */
    uint64_t max_bytes;    /* upper bound of the layer's size (space check) */
    img_layer_desc layer;
} bld_step;

typedef struct bld_var {
    char *name;
    char *value;           /* NULL: declared without a value */
} bld_var;

typedef struct bld_hist {
    char *created_by;
    bool empty;
} bld_hist;

typedef struct bld_stage {
    char *name;            /* AS name, or NULL */
    json_t *config;        /* the image's "config" object being built */
    json_t *base_history;  /* history inherited from the base (array) */
    bld_step **layers;     /* base layers first */
    size_t n_layers, n_base_layers;
    bld_hist *hist;
    size_t n_hist;
    bld_var *args;
    size_t n_args;
    char chain[65];        /* cache chain: base + every instruction so far */
    json_t *shell;         /* SHELL, default ["/bin/sh","-c"] */
    bool cmd_set;
    bld_passwd pw;
    /* Directories known to exist (for COPY's "destination is an existing
     * directory" rule): made by this build, and those of the base image. */
    char **dirs;
    size_t n_dirs;
    char base_digest[IMG_DIGEST_MAX];  /* manifest of the base; "" for scratch */
    bool base_dirs_loaded;
    char *base_dirs;       /* "\n/a\n/a/b\n..." */
} bld_stage;

typedef struct bld_state {
    img_store *s;
    const bld_opts *o;
    bld_nodefile f;
    bld_ctx *ctx;
    bld_var *gargs;        /* ARGs before the first FROM */
    size_t n_gargs;
    bool *build_arg_used;
    bld_stage *stages;
    size_t n_stages;
    bld_step **steps;      /* every step made, for freeing */
    size_t n_steps;
    char *cache_dir;       /* <root>/cache/build */
} bld_state;

/* Variable lookup for the current stage (ENV, then ARG). */
const char *bld_lookup(void *stage, const char *name);
/* Expand a word of `in` in stage `st` (NULL: global ARGs only, for FROM). */
int bld_expand_word(bld_state *b, bld_stage *st, const bld_instr *in, const bld_word *w, char **out, nr_err *err);
void bld_hist_add(bld_stage *st, const char *text, bool empty);
void bld_chain_add(bld_stage *st, const char *text);

/* ENV LABEL WORKDIR USER EXPOSE CMD ENTRYPOINT VOLUME STOPSIGNAL HEALTHCHECK
 * SHELL MAINTAINER: change the stage's config (instr.c). */
int bld_meta_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err);

/* Known directories of a stage (dirs.c). */
void bld_stage_add_dir(bld_stage *st, const char *path);
bool bld_stage_is_dir(bld_state *b, bld_stage *st, const char *path);

/* COPY / ADD: plan (select, hash, cache lookup) and write. */
int bld_copy_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err);
int bld_step_write(bld_state *b, bld_step *step, nr_err *err);
/* WORKDIR of a missing directory: a layer that creates it. */
int bld_mkdir_plan(bld_state *b, bld_stage *st, const char *path, const char *text);
/* Layer cache records under <cache_dir>/layers/<key>. */
bool bld_cache_get(bld_state *b, const char *key, img_layer_desc *out);
void bld_cache_put(bld_state *b, const char *key, const img_layer_desc *l);

#endif
