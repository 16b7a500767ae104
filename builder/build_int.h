/* Internal state shared by build.c (writing), plan_from.c (variables, FROM,
 * planning), instr.c (metadata instructions), copy.c (COPY/ADD) and the
 * rest of the builder.  Not a public interface. */
#ifndef BLD_BUILD_INT_H
#define BLD_BUILD_INT_H

#include <jansson.h>
#include <signal.h>

#include "builder/archive.h"
#include "builder/build.h"
#include "builder/context.h"
#include "builder/owner.h"
#include "builder/parse.h"
#include "builder/select.h"
#include "common/util.h"

/* A directory's metadata in the image being built. */
typedef struct bld_dir {
    char *path;            /* absolute, cleaned */
    mode_t mode;           /* 07777 bits */
    uid_t uid;
    gid_t gid;
} bld_dir;

/* A symlink of the base image (dirs.c). */
typedef struct bld_link {
    char *path;            /* absolute, cleaned */
    char *target;          /* as the link holds it */
} bld_link;

/* One layer of a stage: a base layer (done, text NULL) or a COPY/ADD. */
typedef struct bld_step {
    char *text;            /* history created_by */
    bld_sel sel;
    bld_owner own;
    char key[65];          /* layer cache key */
    bool done;             /* layer known: base layer, cache hit, or written */
    bool cached;           /* from the layer cache */
    bool keep;             /* a RUN's layer: build cache, kept when the build fails later */
    uint64_t max_bytes;    /* upper bound of the layer's size (space check) */
    /* Directory entries written with the metadata chosen at planning: the
     * parents of what the step writes, and its directories that already
     * exist (those keep the metadata they have below, as Docker does). */
    bld_dir *pdirs;
    size_t n_pdirs;
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
    bool skipped;          /* not needed by the target: a name only */
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
    bool pw_stale;         /* a RUN may have changed /etc/passwd: read it from every layer */
    /* Directories known to exist, with their metadata (for COPY's
     * "destination is an existing directory" rule and for parents that keep
     * their metadata): made by this build, and those of the base image. */
    bld_dir *dirs;
    size_t n_dirs;
    /* Symlinks made by this build (a RUN's, a COPY's): a destination
     * through one resolves as through the base's (base_links). */
    bld_link *links;
    size_t n_links;
    char base_digest[IMG_DIGEST_MAX];  /* manifest of the base; "" for scratch */
    /* an Alpine tag this stage's base was substituted for (by default, or
     * --base-map): its RUN steps get apk/adduser/addgroup translated
     * (alpine.c), and a RUN that finds no command names it; "" otherwise */
    char alpine_from[160], alpine_to[160];
    /* FROM alpine:<tag>: Alpine's branch ("3.21", "edge"), whose node apk
     * add nodejs installs (alpine_node.c); "" otherwise */
    char alpine_branch[16];
    char *author;          /* MAINTAINER, else the base image's "author"; NULL: none */
    bool base_dirs_loaded;
    bld_dir *base_dirs;    /* sorted by path */
    size_t n_base_dirs;
    bld_link *base_links;  /* the base's symlinks, sorted by path */
    size_t n_base_links;
} bld_stage;

typedef struct bld_state {
    img_store *s;
    const bld_opts *o;
    bld_nodefile f;
    char *nodefile_disk;   /* the Nodefile's path when read from a file (its ignore file sits beside it) */
    bld_ctx *ctx;
    bld_var *gargs;        /* ARGs before the first FROM */
    size_t n_gargs;
    bool gargs_ready;      /* gargs planned (bld_global_args) */
    bool *build_arg_used;
    bld_stage *stages;
    size_t n_stages;
    bld_step **steps;      /* every step made, for freeing */
    size_t n_steps;
    char *cache_dir;       /* <root>/cache/build */
    char **downloads;      /* ADD <url>: files under cache_dir/downloads, removed at the end */
    size_t n_downloads;
    bool stage_no_cache;   /* --no-cache-filter names the stage being planned */
    /* while a base image's ONBUILD trigger is planned (and its RUN runs):
     * that base's manifest digest, whose cache mounts are its own; NULL */
    const char *trigger_of;
    /* stages.c: every stage of the file, what the target needs */
    char **stage_names;    /* AS name per stage (NULL: none); points into f */
    bool *stage_needed;
    bool **stage_deps;     /* [k][d]: stage k reads stage d (FROM, COPY --from, RUN --mount from=) */
    size_t n_all_stages, target;
    size_t only_stage;     /* 1 + the stage a parallel job builds as its target (parallel.c), 0: none */
    const char *prefix;    /* progress and RUN output lines of a parallel job: "[name] " */
    /* --no-cache with --jobs: the stages the jobs just built are found in
     * the cache by the sequential pass, but only records written since
     * this time (by this build); tv_sec 0: none is a hit */
    struct timespec fresh_since;
    struct bld_tree {
        char *key;         /* a stage's chain or an image's manifest digest */
        bld_ctx *ctx;      /* its files, read-only (COPY --from) */
    } *trees;
    size_t n_trees;
    char (*empty_keys)[65]; /* RUN steps that changed nothing (cache keys): --cache-to records them */
    size_t n_empty_keys;
    /* RUN steps' containers, kept until the build ends: each one's upper
     * dir, pruned to exactly its layer's changes, is that layer's files
     * for a tree (COPY --from, RUN --mount from=) in place of an unpacked
     * copy of the blob just made (run.c, stages.c) */
    struct bld_upper {
        char diff_id[IMG_DIGEST_MAX];
        char *ctr_id;
        char *dir;         /* <root>/containers/<id>/upper */
    } *uppers;
    size_t n_uppers;
    bld_ctx **named_ctx;   /* --build-context directories, opened when first used (named.c) */
    struct bld_ssh {       /* --ssh agents in use (ssh.c) */
        char *id;
        char *sock;        /* the agent's socket */
        char *dir;         /* our own agent's directory; NULL: the caller's agent */
        pid_t agent_pid;   /* our own ssh-agent's guard (its parent); 0: none */
    } *ssh;
    size_t n_ssh;
} bld_state;

/* --build-context NAME=VALUE (named.c): 0 when no context has that name;
 * 1 with *image set (docker-image://REF); 2 with *dir set (a directory,
 * opened on first use, freed by bld_named_free); -1 on error. */
int bld_named_find(bld_state *b, const char *name, const char **image, bld_ctx **dir, nr_err *err);
void bld_named_free(bld_state *b);
bool bld_named_has(const bld_opts *o, const char *name);
/* The last of `specs` ("NAME" or "NAME=VALUE": --build-context, --ssh) whose
 * NAME is `name` (icase: in any case, as stage names): its index, or -1. */
long bld_spec_find(const char *const *specs, size_t n, const char *name, bool icase);
/* --ssh (ssh.c): the agent socket for `id` (*sock NULL: no --ssh of that
 * ID), our own ssh-agent started on first use when keys were given; the
 * relay a step's socket (path, uid:gid, mode) gets to it; the end of the build. */
int bld_ssh_agent(bld_state *b, const char *id, const char **sock, nr_err *err);
int bld_ssh_relay(const char *agent, const char *path, uid_t uid, gid_t gid, mode_t mode, pid_t *pid, nr_err *err);
void bld_ssh_free(bld_state *b);

/* Variable lookup for the current stage (ENV, then ARG). */
const char *bld_lookup(void *stage, const char *name);
/* Expand a word of `in` in stage `st` (NULL: global ARGs only, for FROM). */
int bld_expand_word(bld_state *b, bld_stage *st, const bld_instr *in, const bld_word *w, char **out, nr_err *err);
void bld_hist_add(bld_stage *st, const char *text, bool empty);
/* Append the predefined proxy ARGs given with --build-arg (HTTP_PROXY,
 * no_proxy, ...) that stage st does not declare, as "K=V" entries: the
 * environment of a RUN step, never its cache key or the image. */
void bld_proxy_env(bld_state *b, const bld_stage *st, char ***env, size_t *n);
void bld_chain_add(bld_stage *st, const char *text);

/* ENV LABEL WORKDIR USER EXPOSE CMD ENTRYPOINT VOLUME STOPSIGNAL HEALTHCHECK
 * SHELL MAINTAINER: change the stage's config (instr.c). */
int bld_meta_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err);

/* Known directories of a stage (dirs.c).  set_dir records (or replaces) the
 * metadata of one directory made by this build. */
void bld_stage_set_dir(bld_stage *st, const char *path, mode_t mode, uid_t uid, gid_t gid);
void bld_stage_set_link(bld_stage *st, const char *path, const char *target);
/* Is `path` a directory in the stage?  *out (may be NULL) gets its
 * metadata (not to be freed; path points into the stage). */
bool bld_stage_dir(bld_state *b, bld_stage *st, const char *path, bld_dir *out);
bool bld_stage_is_dir(bld_state *b, bld_stage *st, const char *path);
/* `path` (absolute) with the symlinks in it (the base image's, and those
 * this build's RUN and COPY steps made) resolved inside the image, as
 * BuildKit resolves a COPY or WORKDIR destination: /bin/x of a usrmerged
 * Debian is /usr/bin/x.  Returns a cleaned path to free. */
char *bld_stage_resolve(bld_state *b, bld_stage *st, const char *path);
/* The directories of layer l (a RUN step's, taken from the cache) become
 * known to the stage, with their metadata, as running the step makes them
 * known: a later COPY into one keeps its owner and mode. */
void bld_stage_learn_layer(bld_state *b, bld_stage *st, const img_layer_desc *l);
void bld_dirs_free(bld_dir *v, size_t n);
void bld_links_free(bld_link *v, size_t n);

/* COPY / ADD: plan (select, hash, cache lookup) and write. */
int bld_copy_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err);
int bld_step_write(bld_state *b, bld_step *step, nr_err *err);
/* WORKDIR of a missing directory: a layer that creates it (and its missing
 * parents) owned by uid:gid. */
int bld_mkdir_plan(bld_state *b, bld_stage *st, const char *path, const char *text, uid_t uid, gid_t gid);
/* Load the base image's /etc/passwd and /etc/group into st->pw (once). */
int bld_stage_passwd(bld_state *b, bld_stage *st, nr_err *err);
/* RUN: its flags and shape, checked before any step runs (run.c). */
int bld_run_check(bld_state *b, const bld_instr *in, nr_err *err);
/* RUN: run the step in a container now, its changes a layer (run.c). */
int bld_run_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err);
/* alpine.c: the directory of Alpine's apk/adduser/addgroup translations
 * (written once under the build cache) and the hash of its content */
#define BLD_ALPINE_DIR "/dev/nrun-alpine"
int bld_alpine_shim(bld_state *b, const char *branch, char **dir, char hash[65], nr_err *err);
/* alpine_node.c: Alpine's branch of an alpine[:TAG] name (false: not one);
 * the node pins of a branch for pins.txt; and for a step that may `apk add
 * nodejs npm yarn` (its texts name them), the pinned tarballs fetched into
 * the download cache and bound read-only at BLD_ALPINE_PKGS (*vols grows) */
#define BLD_ALPINE_PKGS "/dev/nrun-alpine-pkgs"
bool bld_alpine_branch(const char *norm, char *out, size_t outlen);
int bld_alpine_node_pins(const char *branch, nr_buf *out, nr_err *err);
int bld_alpine_node_binds(bld_state *b, const char *branch, const char *const *texts, size_t ntexts, char ***vols,
                          size_t *nvols, nr_err *err);
/* plan_from.c: the slim image *img substituted for Alpine tag `ref` gets
 * Alpine's busybox tools (bld_base_alpine_tools), or a warning says why not */
void bld_alpine_tools_add(bld_state *b, const char *ref, img_image **img);
/* After a RUN: the users and groups are read again from all the layers. */
void bld_stage_pw_stale(bld_stage *st);
/* stages.c: find the stages and what the target needs (before planning);
 * the files of a stage or an image for COPY --from; free the trees. */
int bld_stages_analyze(bld_state *b, nr_err *err);
/* An overlay to configure (fsopen): with userxattr in a rootless build. */
int bld_overlay_open(const char *what, nr_err *err);
/* parallel.c: build the stages the target needs but does not contain, up
 * to o->jobs at a time in forked nbuild processes, each once what it reads
 * is done; their RUN layers land in the build cache, so the sequential
 * pass that follows finds them there. */
int bld_par_prebuild(bld_state *b, nr_err *err);
/* plan_from.c: plan (and run) the file up to b's target; free ARG lists.
 * bld_global_args: the ARGs before the first FROM (and the platform ARGs)
 * into b->gargs, once: what a FROM's ${VAR} expands with. */
int bld_global_args(bld_state *b, nr_err *err);
/* An image a needed stage starts FROM or copies from that nothing can give:
 * the error at its place, before anything builds (plan_from.c). */
int bld_images_precheck(bld_state *b, nr_err *err);
int bld_plan(bld_state *b, nr_err *err);
void bld_vars_free(bld_var *v, size_t n);
int bld_read_nodefile(bld_state *b, nr_err *err);
int bld_tree_stage(bld_state *b, bld_stage *src, bld_ctx **out, nr_err *err);
int bld_image_for_copy(bld_state *b, const char *ref, img_image **out, nr_err *err);
/* What a --from value names, for the instruction being planned in stage `me`
 * (COPY --from=, RUN --mount from=): a --build-context (its image, or its
 * directory), else an earlier stage by index or name (case-insensitive), else
 * an image.  One of stage, img (the caller frees it), dir is set.  Errors
 * read "WHAT=FROM: ..." at off of `in`. */
typedef struct bld_from {
    bld_stage *stage;
    img_image *img;
    bld_ctx *dir;
} bld_from;
int bld_from_resolve(bld_state *b, const bld_instr *in, size_t off, const char *what, const char *from, size_t me,
                     bld_from *out, nr_err *err);
/* Pull `norm` ("name:tag") into the store when the build may (builder/pull.c):
 * 0 pulled; -1 with errnum ENOENT when there is nothing to pull it from (or,
 * for node:, the mirrors failed: the local recipe comes next); -1 otherwise. */
int bld_pull(bld_state *b, const char *norm, nr_err *err);
int bld_tree_image(bld_state *b, const img_image *img, bld_ctx **out, nr_err *err);
/* A layer's files, once a tree holds it: the upper dir of this build's RUN
 * step that made it, else its directory in the store's layer cache. */
char *bld_layer_dir(bld_state *b, const img_layer_desc *l);
void bld_trees_free(bld_state *b);
/* Layer cache records under <cache_dir>/layers/<key>. */
/* init_layer.c: --init's layer (/nrun-init) and the config that starts it
 * (*config replaced by a new reference the caller frees). */
int bld_init_apply(bld_state *b, json_t **config, img_layer_desc *layer, nr_err *err);

/* regcache.c: the registry build cache (--cache-from / --cache-to). */
int bld_regcache_import(bld_state *b, const char *ref, nr_err *err);
int bld_regcache_export(bld_state *b, const char *ref, bool max, nr_err *err);
/* run.c: a RUN step with this key changed nothing (a local cache record). */
void bld_cache_empty_put(bld_state *b, const char *key);
/* run.c: the kept upper dir holding the layer with this diff_id, or NULL;
 * remove the kept containers (at the end of the build). */
const char *bld_upper_of(const bld_state *b, const char *diff_id);
void bld_uppers_remove(bld_state *b);

bool bld_cache_get(bld_state *b, const char *key, img_layer_desc *out);
/* May the cache record at `path` be used (--no-cache, --no-cache-filter,
 * records this build's jobs wrote)? */
bool bld_cache_usable(const bld_state *b, const char *path);
void bld_cache_put(bld_state *b, const char *key, const img_layer_desc *l);

/* A stop (SIGINT, SIGTERM, SIGHUP) asked of this build: set by the handler
 * bld_build installs (a job of --jobs inherits it), acted on between steps
 * and before a RUN starts; during a RUN the runtime forwards it to the step
 * (rt_stop_forwarded).  Either way the build fails "interrupted" through
 * its error path, which removes its step containers and tags nothing. */
extern volatile sig_atomic_t bld_stop_sig;
int bld_interrupted(nr_err *err);

#endif
