/* RUN --mount=type=cache|secret|bind (run_mount.c): parsed from the flag,
 * part of the step's cache key, and turned into a -v bind of the step's
 * container.  Internal to the builder. */
#ifndef BLD_RUN_MOUNT_H
#define BLD_RUN_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "builder/build_int.h"
#include "common/util.h"

enum bld_mount_type { BLD_MOUNT_BIND, BLD_MOUNT_CACHE, BLD_MOUNT_SECRET };

typedef struct bld_run_mount {
    enum bld_mount_type type;
    char *target;      /* absolute in-image path, cleaned */
    char *id;          /* cache and secret */
    char *source;      /* bind: context-relative */
    bool readonly, rw, required;
    uid_t uid;
    gid_t gid;
    mode_t mode;
    size_t off;        /* of the flag, for errors */
} bld_run_mount;

/* One --mount flag; wd is the stage's WORKDIR (relative targets). */
int bld_run_mount_parse(bld_state *b, const bld_instr *in, const bld_flag *f, const char *wd, bld_run_mount *m,
                        nr_err *err);
/* What the step depends on through the mount (a bind's content digest). */
int bld_run_mount_key(bld_state *b, const bld_instr *in, const bld_run_mount *m, nr_buf *key, nr_err *err);
/* The -v spec ("HOST:CTR[:ro]", NULL for an absent optional secret) with its
 * host side made; *tmpfile (a secret's copy) is removed by the caller. */
int bld_run_mount_volume(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **vol, char **tmpfile,
                         nr_err *err);
void bld_run_mount_free(bld_run_mount *m);
/* Remove the secret copies a killed nbuild left (their pid is gone). */
void bld_secrets_sweep(bld_state *b);

#endif
