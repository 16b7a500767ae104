/* COPY/ADD source selection: which files of a build context (or of a
 * stage's or image's tree, COPY --from) an instruction copies, and where.
 *
 * Contract:
 *  - Sources are context-relative.  An absolute source or one that climbs
 *    out with ".." is refused.  Symlinks on a source's path are followed with
 *    the context as the root, as BuildKit does (openat2 RESOLVE_IN_ROOT): a
 *    link to /etc/passwd is CTX/etc/passwd, never the host's; symlinks met
 *    inside a copied directory are copied as symlinks.  A missing or ignored
 *    source (or link target) and a special file (fifo, socket, device) are
 *    refused — all with a message naming the source.  A glob that matches
 *    nothing is skipped, also when no source of the instruction matched
 *    (BuildKit's AllowEmptyWildcard; the classic builder refused that): the
 *    selection is then empty.
 *  - Sources are resolved from the tree's directory fd (context.h), and so
 *    is every later open of what was selected.  Without openat2 a source
 *    through any symlink is refused.
 *  - Selection applies Docker's COPY rules: a file goes to DEST, or to
 *    DEST/<basename> when DEST is a directory (ends with '/'); a directory's
 *    contents (not the directory itself) go below DEST. */
#ifndef BLD_SELECT_H
#define BLD_SELECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "builder/context.h"
#include "builder/ignore.h"
#include "common/err.h"
#include "images/layer.h"

typedef struct bld_item {
    char *dest;            /* absolute in-image path, cleaned */
    img_entry_type type;   /* IMG_ENT_FILE, IMG_ENT_DIR or IMG_ENT_SYMLINK */
    mode_t mode;           /* 07777 bits from the context */
    uint64_t size;
    char *host;            /* absolute host path (files), NULL for inline data */
    bool in_tree;          /* host is in the selection's tree (sel->ctx): read it through bld_ctx_open_host */
    char *data;            /* inline content (a COPY heredoc): written as is, size = data_len */
    size_t data_len;
    char *link;            /* symlink target */
    char sha[65];          /* file content digest */
    bool owned;            /* from a stage's or image's tree: uid/gid are its owner there */
    uid_t uid;
    gid_t gid;
} bld_item;

typedef struct bld_sel {
    bld_item *items;
    size_t n;
    char **archives;       /* ADD: host paths of sources that are archives (with archive_dest) */
    char **archive_dest;
    size_t n_archives;
    const bld_ctx *ctx;    /* the tree the items were selected from (not owned; outlives the sel) */
} bld_sel;

/* Select the sources (expanded words) for DEST (absolute, cleaned;
 * dest_is_dir when the instruction's destination ends with '/' or is ".").
 * `is_add`: local tar archives (by content) are listed in sel->archives
 * instead of being copied.  On error *bad is the index of the culprit
 * source (or nsrc for the destination) and err names it. */
int bld_ctx_select(bld_ctx *c, char **srcs, size_t nsrc, const char *dest, bool dest_is_dir, bool is_add,
                   bld_sel *out, size_t *bad, nr_err *err);
/* The same, for an instruction that also copies n_inline sources that are
 * not in the context (heredocs): they count as sources that matched. */
int bld_ctx_select_inline(bld_ctx *c, char **srcs, size_t nsrc, size_t n_inline, const char *dest, bool dest_is_dir,
                          bool is_add, bld_sel *out, size_t *bad, nr_err *err);
/* COPY/ADD --exclude: while set (non-NULL), the next selections leave out
 * what these patterns match, read as .dockerignore lines relative to each
 * source (a directory source's own paths; a file source by its name).  Not
 * owned; set it back to NULL after the selection. */
void bld_ctx_set_exclude(bld_ctx *c, const bld_ignore *ex);
/* COPY --parents: while set, the next selections keep each source's path
 * (below a "/./" in the source, else from the root) under the destination,
 * which is then a directory. */
void bld_ctx_set_parents(bld_ctx *c, bool on);
void bld_sel_free(bld_sel *s);
/* Open `rel` (a source as written, relative to the tree) with links
 * resolved inside the tree, as COPY does: an fd, or -1 with err saying
 * "source <rel> ..." (not found, and where a link pointed). */
int bld_ctx_source_open(const bld_ctx *c, const char *rel, int flags, nr_err *err);
/* Digest over the selection: dest, type, mode, size, content/link of each
 * item in dest order, and each archive's content digest. */
int bld_sel_digest(bld_ctx *c, bld_sel *s, char out[65], nr_err *err);

#endif
