/* The build context: the directory given to nbuild, seen through its ignore
 * file, or a stage's or image's tree (COPY --from).  COPY/ADD's selection of
 * sources from it is select.h.
 *
 * Contract:
 *  - Every open of the tree, and of what was selected from it (hashing, the
 *    layer writer, archives), goes from the tree's directory fd (openat2),
 *    with no symlink allowed in the already resolved path: a directory
 *    swapped for a symlink while the build runs fails the build ("changed
 *    while reading the build context"), never leads outside.  Without
 *    openat2 (Linux < 5.6, or refused by a seccomp filter) a walk one
 *    component at a time with O_NOFOLLOW stands in, following no symlink.
 *  - A file's content digest comes from a stat cache keyed by host path +
 *    size + mtime + ctime + inode + device, persisted in CACHE_DIR/statcache:
 *    an unchanged file is never opened again (a no-op rebuild reads nothing). */
#ifndef BLD_CONTEXT_H
#define BLD_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "builder/ignore.h"
#include "common/err.h"

typedef struct bld_ctx bld_ctx;

/* Open the context directory.  nodefile (may be NULL) is the Nodefile's path
 * when read from a file: an ignore file beside it comes first.  cache_dir
 * (may be NULL: no persistence) holds the stat cache. */
int bld_ctx_open(const char *dir, const char *nodefile, const char *cache_dir, bld_ctx **out, nr_err *err);
/* A tree that is not the context (an earlier stage, an image: COPY --from):
 * no ignore file, no stat cache; its host paths are /proc/self/fd/N/...,
 * valid while the context is open. */
int bld_ctx_open_fd(int dirfd, bld_ctx **out, nr_err *err);
void bld_ctx_free(bld_ctx *c);
/* Write the stat cache back (atomically) when it changed. */
int bld_ctx_save(bld_ctx *c, nr_err *err);
const char *bld_ctx_dir(const bld_ctx *c);   /* absolute, symlinks resolved */
const bld_ignore *bld_ctx_ignore(const bld_ctx *c);
/* Files hashed by reading them (stat cache misses) since open. */
size_t bld_ctx_files_read(const bld_ctx *c);
/* The tree's directory fd (valid until bld_ctx_free), and a selected host
 * path relative to it (NULL when it is not below the tree). */
int bld_ctx_fd(const bld_ctx *c);
const char *bld_ctx_rel(const bld_ctx *c, const char *host);
/* Open a host path the selection resolved, again from the tree's fd with
 * no symlink in any component (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS):
 * an fd, or -1 with err naming the path. */
int bld_ctx_open_host(const bld_ctx *c, const char *host, int flags, nr_err *err);

/* sha256 of a file's content through the stat cache.  `host` is the
 * absolute path (the cache key), `st` its fresh lstat, fd an open fd or -1
 * (then host is opened). */
int bld_ctx_hash_file(bld_ctx *c, const char *host, const struct stat *st, char out[65], nr_err *err);

/* Path helpers shared with the executor. */
char *bld_path_clean(const char *p);          /* Go's filepath.Clean */
char *bld_path_join(const char *a, const char *b);

#endif
