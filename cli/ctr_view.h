/* A container's filesystem seen from the host without entering it (diff,
 * export, commit; cli/ctr_view.c).  The view is a read-only overlay mounted
 * in a child's private mount namespace -- never on the host, gone with the
 * child -- from the layer dirs and upper dir its config.json names:
 *   CTR_VIEW_IMAGE   the image alone (the lower layers),
 *   CTR_VIEW_MERGED  the image with the container's changes (the upper dir
 *                    as the top lower layer: its whiteouts and opaque dirs
 *                    are honoured, and the running container's own overlay
 *                    and work dir are not touched).
 * fn runs in that child with an O_PATH fd of the view's root and an fd of
 * the upper dir (O_DIRECTORY, opened with O_NOFOLLOW); whatever it walks
 * below them it must open without following links (openat2 RESOLVE_BENEATH
 * | RESOLVE_NO_SYMLINKS, or O_NOFOLLOW per component).  Its error comes back
 * in err. */
#ifndef NR_CTR_VIEW_H
#define NR_CTR_VIEW_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cli/cli.h"

enum ctr_view { CTR_VIEW_IMAGE, CTR_VIEW_MERGED };
typedef int (*ctr_view_fn)(int rootfd, int upperfd, void *arg, nr_err *err);
int ctr_view_run(nr_global *g, const char *id, enum ctr_view view, ctr_view_fn fn, void *arg, nr_err *err);

/* A child that reports its error on a pipe (rfd, its write end closed
 * here): wait for it; 0 when it exited 0, else its message (or "WHAT ended
 * without a word").  rfd is closed. */
int ctr_child_result(pid_t pid, int rfd, const char *what, nr_err *err);

/* The container's upper dir (containers/<id>/upper, as its config.json says),
 * opened O_DIRECTORY | O_NOFOLLOW. */
int ctr_upper_open(nr_global *g, const char *id, nr_err *err);

/* A file too sparse to write out whole (a tar or a layer holds every byte):
 * apparent size more than CTR_SPARSE_SLACK beyond what is allocated. */
#define CTR_SPARSE_SLACK (1ull << 30)
static inline bool ctr_too_sparse(const struct stat *st)
{
    return S_ISREG(st->st_mode) && (uint64_t)st->st_size > (uint64_t)st->st_blocks * 512 + CTR_SPARSE_SLACK;
}

/* The bytes of a regular file that no block holds (0 for other files).
 * The whole tree's together may come to CTR_SPARSE_SLACK at most: a
 * thousand files each just under the limit would be a thousand times it. */
static inline uint64_t ctr_holes(const struct stat *st)
{
    uint64_t alloc = (uint64_t)st->st_blocks * 512;
    return S_ISREG(st->st_mode) && (uint64_t)st->st_size > alloc ? (uint64_t)st->st_size - alloc : 0;
}

/* Open name below dirfd: one component, no link followed, nothing but what
 * it is (O_PATH when flags is O_PATH). */
int ctr_open_beneath(int dirfd, const char *path, int flags);

/* An overlay whiteout in an upper dir (a 0/0 character device), and an
 * opaque dir (overlay.opaque "y"; cli/diff.c). */
bool nr_upper_whiteout(const struct stat *st);
bool nr_upper_opaque(int dirfd);

#endif
