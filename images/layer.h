/* Reproducible layer writer.  The builder adds entries in any order; commit
 * writes them sorted by path as a tar (PAX restricted: plain ustar headers,
 * an extended header only when a field does not fit) with mtime =
 * SOURCE_DATE_EPOCH (or 0, or the writer's `mtime`), numeric uid/gid, no
 * uname/gname, no atime/ctime, no pid-based names, then gzip (no name, no
 * time in its header) or zstd, streamed into the blob store.  The same
 * entries give the same bytes, so the same digest and diff_id.
 *
 * Paths are in-image paths, relative or absolute ("app/x.js" == "/app/x.js");
 * ".." components, empty paths and NUL are refused.  Adding a path twice
 * keeps the last one (COPY over COPY).  Parent directories are not added
 * implicitly: add them when their mode/owner matters. */
#ifndef IMG_LAYER_H
#define IMG_LAYER_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "images/image.h"
#include "images/store.h"

typedef enum { IMG_COMPRESS_GZIP = 0, IMG_COMPRESS_ZSTD = 1 } img_compress;

/* "gzip" | "zstd" */
int img_compress_parse(const char *s, img_compress *out, nr_err *err);
/* application/vnd.oci.image.layer.v1.tar+gzip / +zstd */
const char *img_compress_media_type(img_compress c);

typedef enum {
    IMG_ENT_FILE,     /* regular file: from host_path, fd or data */
    IMG_ENT_DIR,
    IMG_ENT_SYMLINK,  /* link = target, stored verbatim */
    IMG_ENT_HARDLINK, /* link = in-image path of another entry of this layer */
    IMG_ENT_WHITEOUT, /* path is deleted: written as dir/.wh.name */
    IMG_ENT_OPAQUE,   /* path is an opaque dir: written as path/.wh..wh..opq */
    IMG_ENT_FIFO,     /* named pipe (mode, uid, gid) */
} img_entry_type;

typedef struct img_layer_entry {
    img_entry_type type;
    const char *path;          /* in-image path */
    mode_t mode;               /* permission bits incl. suid/sgid/sticky (07777) */
    uid_t uid;
    gid_t gid;
    /* IMG_ENT_FILE: exactly one source.  host_path is opened at commit
     * (when at_fd > 0: resolved beneath at_fd with no symlink anywhere, and
     * at_fd must stay open until commit or abort: no fd per file, so a
     * layer of 100k files needs no 100k descriptors);
     * fd is dup'ed now and read (pread from 0) at commit; data is copied now.
     * For host_path/fd, size is the expected size: a file that changed size
     * before commit is an error naming it (no torn layer). */
    const char *host_path;
    int fd;                    /* used when > 0 (0 and -1: unused) */
    int at_fd;                 /* used when > 0, with host_path */
    const void *data;
    size_t data_len;
    uint64_t size;
    /* IMG_ENT_FILE: its security.capability xattr (file capabilities, as
     * setcap wrote them), written as a PAX SCHILY.xattr record, the one
     * xattr docker's layers carry; NULL: none.  At most 256 bytes. */
    const void *caps;
    size_t caps_len;
    const char *link;          /* SYMLINK target / HARDLINK in-image target */
} img_layer_entry;

typedef struct img_layer_writer img_layer_writer;

typedef struct img_layer_info {
    char digest[IMG_DIGEST_MAX];   /* of the compressed blob */
    char diff_id[IMG_DIGEST_MAX];  /* sha256 of the uncompressed tar */
    uint64_t size;                 /* compressed size */
    const char *media_type;        /* static string */
    size_t n_entries;
} img_layer_info;

/* mtime < 0: SOURCE_DATE_EPOCH from the environment, else 0. */
/* An in-image path as a layer names it: "/a//b/./c/" -> "a/b/c" (malloc'd);
 * NULL for NULL, "", "/" and any ".." component. */
char *img_layer_path_norm(const char *p);

int img_layer_writer_new(img_store *s, img_compress c, long long mtime, img_layer_writer **out, nr_err *err);
/* A stop flag (a signal handler's): once *stop is set, the commit fails with
 * EINTR at the next block it writes and the store keeps nothing of it, so a
 * stopped build does not read and compress a huge layer to its end first. */
void img_layer_writer_set_stop(img_layer_writer *w, volatile sig_atomic_t *stop);
int img_layer_add(img_layer_writer *w, const img_layer_entry *e, nr_err *err);
/* Shorthands for img_layer_add. */
int img_layer_add_file(img_layer_writer *w, const char *path, const char *host_path, uint64_t size, mode_t mode, uid_t uid, gid_t gid, nr_err *err);
int img_layer_add_file_fd(img_layer_writer *w, const char *path, int fd, uint64_t size, mode_t mode, uid_t uid, gid_t gid, nr_err *err);
int img_layer_add_file_at(img_layer_writer *w, const char *path, int at_fd, const char *rel, uint64_t size, mode_t mode, uid_t uid, gid_t gid, nr_err *err);
int img_layer_add_data(img_layer_writer *w, const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid, nr_err *err);
/* A regular file whose bytes come from rd (called until it returns 0; < 0
 * with err set fails), kept in one unnamed spool file of the writer in the
 * store, not in memory: what an ADD archive unpacks to is not bounded by
 * its own size. */
typedef ssize_t (*img_layer_read_fn)(void *ctx, void *buf, size_t len, nr_err *err);
int img_layer_add_spooled(img_layer_writer *w, const char *path, img_layer_read_fn rd, void *ctx, mode_t mode, uid_t uid, gid_t gid, nr_err *err);
int img_layer_add_dir(img_layer_writer *w, const char *path, mode_t mode, uid_t uid, gid_t gid, nr_err *err);
int img_layer_add_symlink(img_layer_writer *w, const char *path, const char *target, uid_t uid, gid_t gid, nr_err *err);
int img_layer_add_hardlink(img_layer_writer *w, const char *path, const char *target, nr_err *err);
int img_layer_add_whiteout(img_layer_writer *w, const char *path, nr_err *err);
int img_layer_add_opaque(img_layer_writer *w, const char *dirpath, nr_err *err);
size_t img_layer_count(const img_layer_writer *w);
/* Compression level (gzip 1-9, default 6; zstd 1-19, default 3).  Part of
 * the layer's identity: the same entries at another level give another
 * digest (the diff_id stays). */
int img_layer_writer_set_level(img_layer_writer *w, int level, nr_err *err);

/* Write the tar into the store.  Commit and abort free the writer. */
int img_layer_writer_commit(img_layer_writer *w, img_layer_info *out, nr_err *err);
/* The same, giving the layer as an image lists it (blob and diff_id). */
int img_layer_writer_commit_desc(img_layer_writer *w, img_layer_desc *out, nr_err *err);
void img_layer_writer_abort(img_layer_writer *w);



/* ---- reading a stored layer (for unpacking) ----
 * A libarchive tar reader over a stored layer blob (gzip, zstd or plain),
 * verifying while it streams both the blob digest (compressed bytes) and
 * the diff_id (uncompressed tar).  Read entries with archive_read_next_header /
 * archive_read_data on img_layer_reader_archive(r); after ARCHIVE_EOF call
 * img_layer_reader_finish, which drains what the tar reader left and checks
 * both digests: only when it returns 0 is the extracted content good.
 * `size` < 0 and `diff_id` NULL skip those checks. */
struct archive;
typedef struct img_layer_reader img_layer_reader;
int img_layer_reader_open(img_store *s, const char *digest, int64_t size, const char *diff_id,
                          img_layer_reader **out, nr_err *err);
struct archive *img_layer_reader_archive(img_layer_reader *r);
int img_layer_reader_finish(img_layer_reader *r, nr_err *err);
void img_layer_reader_close(img_layer_reader *r);

/* ---- an overlayfs upper directory as a layer (layer_diff.c) ----
 * A RUN step's container writes into an overlay upper dir; this turns that
 * dir into the OCI changeset it means: files, dirs (mode incl. suid/sgid/
 * sticky, uid, gid), symlinks (target verbatim), FIFOs, hardlinks (names of
 * one inode inside the upper dir), overlay whiteouts (0/0 char devices, or
 * empty files with the overlay.whiteout xattr) as .wh.name, opaque dirs
 * (overlay.opaque = "y"; "x" only marks a dir holding xattr whiteouts) as
 * the dir plus .wh..wh..opq.  Sockets are left out (as docker does); device
 * nodes, names starting with ".wh.", and overlay metacopy/redirect files
 * (mount with metacopy=off,redirect_dir=off) are errors naming the path.
 * The walk never follows a symlink (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), holds O(1) descriptors, and is bounded (paths
 * < 4096 bytes, so depth < 2048; at most 4M entries).  File contents are
 * read at commit beneath upper_dirfd: keep it open and the dir unchanged
 * until the writer is committed or aborted.  Of the other extended
 * attributes only a file's security.capability is carried (as docker does). */
typedef struct img_upper_opts {
    /* In-image paths ("/dev", "etc/hosts") left out with all they hold: the
     * runtime's mount points.  NULL-terminated; NULL for none. */
    const char *const *skip;
    /* The overlay was mounted with userxattr (rootless): its xattrs are
     * user.overlay.*; else trusted.overlay.* (and user.* ones are data). */
    bool userxattr;
    /* Remove from the upper dir what the layer leaves out (the skipped
     * paths, sockets), so that the dir then holds exactly the layer's
     * changes and can serve as an overlay lower dir in its place (the
     * builder reads a RUN step's files for COPY --from from it, not from an
     * unpacked copy of the blob just written).  Differs from the layer only
     * in what a layer does not carry: times, other xattrs. */
    bool prune;
    /* Called for each directory added, with its in-image path ("/app"). */
    void (*dir_cb)(void *arg, const char *path, mode_t mode, uid_t uid, gid_t gid);
    /* Called for each symlink added, with its in-image path and target. */
    void (*link_cb)(void *arg, const char *path, const char *target);
    void *arg;
} img_upper_opts;

/* Add every entry of the upper dir to w.  Returns the number of entries
 * added (0: the step changed nothing), or -1 with err set (w is then left
 * with what was added: abort it).  o may be NULL. */
long img_layer_add_upper(img_layer_writer *w, int upper_dirfd, const img_upper_opts *o, nr_err *err);

#endif
