/* RUN --mount=type=cache|secret|bind|tmpfs|ssh (run_mount.c): parsed from the flag,
 * part of the step's cache key, and turned into a -v bind of the step's
 * container.  Internal to the builder. */
#ifndef BLD_RUN_MOUNT_H
#define BLD_RUN_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "builder/build_int.h"
#include "common/util.h"

enum bld_mount_type { BLD_MOUNT_BIND, BLD_MOUNT_CACHE, BLD_MOUNT_SECRET, BLD_MOUNT_TMPFS, BLD_MOUNT_SSH };

typedef struct bld_run_mount {
    enum bld_mount_type type;
    char *target;      /* absolute in-image path, cleaned */
    char *id;          /* cache and secret */
    char *source;      /* bind: context-relative, or in `from` */
    char *from;        /* bind: a stage (name or index) or an image; NULL: the context */
    char *size;        /* tmpfs: size=N[k|m|g] as given, or NULL */
    char *env;         /* secret: also (or only, without target=) this variable */
    bool readonly, rw, required;
    uid_t uid;
    gid_t gid;
    mode_t mode;
    size_t off;        /* of the flag, for errors */
} bld_run_mount;

/* One --mount flag; wd is the stage's WORKDIR (relative targets).  Option
 * values expand the stage's ARG and ENV variables, as BuildKit's do
 * (id=npm-$TARGETARCH, target=$PNPM_HOME/store).  st NULL: the check before
 * any step runs, which leaves a flag with a variable to its step (returns 0). */
int bld_run_mount_parse(bld_state *b, bld_stage *st, const bld_instr *in, const bld_flag *f, const char *wd,
                        bld_run_mount *m, nr_err *err);
/* What the step depends on through the mount (a bind's content digest). */
int bld_run_mount_key(bld_state *b, const bld_instr *in, const bld_run_mount *m, nr_buf *key, nr_err *err);
/* The -v spec ("HOST:CTR[:ro]", NULL for an absent optional secret; for a
 * tmpfs "CTR[:size=N]", a tmpfs spec of the runtime) with its host side
 * made; *tmpfile (a secret's copy, or the mounts of a bind from a stage or a
 * rw bind) is undone by bld_run_mount_cleanup after the step. */
int bld_run_mount_volume(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **vol, char **tmpfile,
                         nr_err *err);
/* A RUN that is one heredoc starting with #! runs as BuildKit runs it: its
 * body is a read-only file of mode 0755 at target (/dev/pipes/NAME, in the
 * step's /dev, never in a layer) that the step executes, so the kernel
 * starts its interpreter on a real path (node resolves the path of its
 * script, which a pipe on /dev/fd/N has not).  *tmpfile as above. */
int bld_run_script_volume(bld_state *b, const char *data, const char *target, char **vol, char **tmpfile,
                          nr_err *err);
/* A secret's env= as "NAME=VALUE" for the step's environment (*out NULL
 * when the mount has no env= or the optional secret is not given). */
int bld_run_mount_env(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **out, nr_err *err);
void bld_run_mount_free(bld_run_mount *m);
/* run_mount.c for run_mount_make.c: a bind's from= (an earlier stage, by name
 * or index, or an image; one of *stage, *img set), and the value of the secret
 * a mount names (*data NULL: an optional one not given). */
int bld_run_mount_from(bld_state *b, const bld_instr *in, const bld_run_mount *m, bld_stage **stage, img_image **img,
                       nr_err *err);
int bld_run_mount_secret(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **data, size_t *len,
                         nr_err *err);
/* Undo what bld_run_mount_volume made for a step (*tmpfile). */
void bld_run_mount_cleanup(const char *tmpfile);
/* Remove the secret copies and bind mounts a killed nbuild left (their pid
 * is gone). */
void bld_secrets_sweep(bld_state *b);

#endif
