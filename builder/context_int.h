/* What context.c (the tree, resolution beneath its fd, the stat cache) and
 * select.c (COPY/ADD source selection) share: the context's state and the
 * few internal calls selection makes into the tree.  Not a public interface:
 * the rest of the builder uses context.h and select.h. */
#ifndef BLD_CONTEXT_INT_H
#define BLD_CONTEXT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "builder/context.h"

typedef struct sc_ent sc_ent;   /* a stat cache entry: context.c's own */

struct bld_ctx {
    char *dir;
    int fd;
    bld_ignore *ig;
    char *cache_dir;
    sc_ent *tab;     /* open addressing, power-of-two size */
    size_t cap, n;
    bool dirty;
    size_t files_read;
    bool tree;       /* bld_ctx_open_fd: paths are read through dir (our fd) */
    const bld_ignore *ex; /* COPY --exclude of the selection under way, or NULL */
    bool parents;         /* COPY --parents of the selection under way */
};

/* Open `rel` from the tree's fd with openat2's `resolve` rules, or (openat2
 * missing) with the walk that follows no symlink at all: never looser. */
int bld_ctx_openat(const bld_ctx *c, const char *rel, int flags, uint64_t resolve);
/* True once openat2 proved unusable here: a refused link's message says why. */
bool bld_ctx_openat2_gone(void);
/* bld_ctx_hash_file, and whether the file may be an archive (by its first
 * bytes' magic, kept in the stat cache with the digest). */
int bld_ctx_hash_kind(bld_ctx *c, const char *host, const struct stat *st, char out[65], bool *maybe_archive,
                      nr_err *err);

#endif
