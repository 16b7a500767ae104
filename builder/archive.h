/* ADD of a local tar archive (plain, gzip, bzip2, xz or zstd): detection,
 * validation and unpacking into a layer.
 *
 * Hostile archives are refused with the entry's name: absolute paths, paths
 * that climb out with "..", entries written through a symlink of the same
 * archive, hardlinks to a path outside it or not yet seen, and special files
 * (devices, fifos).  Validation runs before anything is written. */
#ifndef BLD_ARCHIVE_H
#define BLD_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "images/layer.h"

/* Is the file a tar archive libarchive can read (any supported filter)?
 * The functions here read the open file fd from its start (the caller
 * opened it beneath the context: bld_ctx_open_host); `shown` names it. */
bool bld_archive_probe(int fd, const char *shown);

/* One clause of a symbolic --chmod (chmod.c): who, an operator and what. */
typedef struct bld_chmod_op {
    mode_t who;  /* the classes' bits: 04700 u, 02070 g, 01007 o */
    char op;     /* '+', '-' or '=' */
    mode_t perm; /* r w x s t bits, given for every class */
    bool big_x;  /* X: x only for a directory or a file with some x already */
    char copy;   /* 'u', 'g' or 'o': the permissions that class has now (0: none) */
} bld_chmod_op;

#define BLD_CHMOD_OPS 16

typedef struct bld_owner {
    bool chown;      /* override the archive's uid/gid */
    uid_t uid;
    gid_t gid;
    bool chmod;      /* override modes: mode, or the symbolic ops when nops > 0 */
    mode_t mode;
    size_t nops;
    bld_chmod_op ops[BLD_CHMOD_OPS];
} bld_owner;

/* --chmod's value: octal (0644, 755) or symbolic as chmod(1) and BuildKit
 * take it (u+x, go=r, a-w,u=rwX; no umask applies); 0, or -1. */
int bld_chmod_parse(const char *s, bld_owner *o);
/* The mode a copied file or directory gets: `cur` (its own) unless --chmod. */
mode_t bld_owner_mode(const bld_owner *o, mode_t cur, bool dir);

/* Read every entry and apply the rules above.  `shown` names the source.
 * *bytes_out (may be NULL) gets the unpacked size: data + headers. */
int bld_archive_check(int fd, const char *shown, uint64_t *bytes_out, nr_err *err);
/* Add the archive's entries below `dest` (absolute in-image dir) to w. */
int bld_archive_add(img_layer_writer *w, int fd, const char *shown, const char *dest, const bld_owner *o,
                    nr_err *err);

#endif
