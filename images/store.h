/* The image store: a root directory that is itself a valid OCI image layout
 * (oci-layout, index.json, blobs/sha256/<hex>) plus nrun's own directories
 * (layers/ for unpacked layers, cache/ for build cache and downloads,
 * containers/ for container state, volumes/ for named volumes).
 *
 * Contract:
 *  - A blob is written to a temp file (".tmp-<pid>-...") in blobs/sha256,
 *    hashed while written, fsync'd and renamed to its digest: a half-written
 *    blob is never visible under its digest name.
 *  - Every read of a blob is verified against its digest; a mismatch is an
 *    error naming the digest and the bytes are never handed out as good
 *    (a streaming reader reports the mismatch at EOF, before returning 0).
 *  - Locks (flock on files in the root): "index.lock" guards index.json
 *    (shared to read, exclusive to change); "gc.lock" is held shared by a
 *    store handle from its first blob write until img_store_close, and
 *    exclusively by prune, so prune never removes blobs of a build that has
 *    not tagged its image yet.  Lock order: gc.lock before index.lock.
 *  - Temp files left by a crashed process are removed on open (when their
 *    pid is gone) and by prune.
 *  - nrun's directories (blobs/, layers/, cache/, containers/, volumes/) are
 *    owner-only (0700), and open tightens those of an older, more open store:
 *    other host users must not reach image or container files (a setuid-root
 *    file in a layer or a volume).  A root nrun creates is 0700 as well.
 *  - A store prepared by someone else is refused, never used or chmodded
 *    through: the root (a user-given path, followed) and every store
 *    directory and file must be owned by root or the calling euid; the root
 *    must not be group/world-writable; nothing inside the root may be a
 *    symlink (store directories are opened with RESOLVE_NO_SYMLINKS and only
 *    the fd opened is ever fchmod'ed).
 */
#ifndef IMG_STORE_H
#define IMG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* "sha256:" + 64 hex + NUL */
#define IMG_DIGEST_MAX 72

typedef struct img_store img_store;

/* Open (and on first use create) the store at `root`: oci-layout, index.json,
 * blobs/sha256/, layers/, cache/, containers/, volumes/.  A root that exists
 * but is not writable can still be opened for reading (listing, inspect,
 * export). */
int img_store_open(const char *root, img_store **out, nr_err *err);
void img_store_close(img_store *s);
/* The same checks of a root prepared by someone else as open makes, with
 * nothing created or changed: for commands that use the root's directories
 * without opening the store (nrun ps, rm, stop...).  A missing root is fine. */
int img_store_check(const char *root, nr_err *err);
const char *img_store_root(const img_store *s);
/* O_PATH-free directory fds owned by the store (do not close). */
int img_store_dirfd(const img_store *s);       /* the root */
int img_store_blobs_dirfd(const img_store *s); /* blobs/sha256 */

/* Digests are "sha256:<64 lowercase hex>"; anything else is rejected. */
bool img_digest_valid(const char *digest);
/* The hex part of a valid digest (pointer into `digest`). */
const char *img_digest_hex(const char *digest);

/* ---- blobs ---- */

/* Store a memory buffer; returns its digest.  Existing blob: no write. */
int img_blob_put(img_store *s, const void *data, size_t len, char digest_out[IMG_DIGEST_MAX], nr_err *err);

/* Streaming writer: write chunks, then commit (fsync + rename to the digest)
 * or abort (temp file removed).  Commit and abort free the writer. */
typedef struct img_blob_writer img_blob_writer;
int img_blob_writer_new(img_store *s, img_blob_writer **out, nr_err *err);
int img_blob_writer_write(img_blob_writer *w, const void *data, size_t len, nr_err *err);
int img_blob_writer_commit(img_blob_writer *w, char digest_out[IMG_DIGEST_MAX], uint64_t *size_out, nr_err *err);
void img_blob_writer_abort(img_blob_writer *w);

bool img_blob_exists(img_store *s, const char *digest);
/* Size of a stored blob (not verified). errnum ENOENT when absent. */
int img_blob_size(img_store *s, const char *digest, uint64_t *size_out, nr_err *err);

/* Read a whole blob (at most `max` bytes) into a NUL-terminated malloc'd
 * buffer, verified against its digest.  Mismatch: error "blob sha256:... is
 * corrupt (content hashes to sha256:...)", *out untouched. */
int img_blob_read(img_store *s, const char *digest, size_t max, char **out, size_t *len_out, nr_err *err);

/* Streaming verifying reader.  `expect_size` < 0: not checked.  read returns
 * bytes read, 0 at EOF once the digest (and size) matched, -1 on error
 * (including a mismatch at EOF, or more bytes than expect_size). */
typedef struct img_blob_reader img_blob_reader;
int img_blob_reader_open(img_store *s, const char *digest, int64_t expect_size, img_blob_reader **out, nr_err *err);
ssize_t img_blob_reader_read(img_blob_reader *r, void *buf, size_t len, nr_err *err);
/* Read and verify the rest of the blob (for consumers, like a tar reader,
 * that stop before the end of the stream). */
int img_blob_reader_finish(img_blob_reader *r, nr_err *err);
void img_blob_reader_close(img_blob_reader *r);
/* Verify a stored blob completely (used by export/inspect checks). */
int img_blob_verify(img_store *s, const char *digest, nr_err *err);

/* Copy a verified blob into another OCI layout's blobs dir (dirfd of
 * "<layout>/blobs/sha256"), atomically. */
int img_blob_copy_to(img_store *s, const char *digest, int dst_blobs_dirfd, nr_err *err);

/* ---- locks ---- */

/* Hold gc.lock shared for the rest of this handle's life (taken
 * automatically by blob writes, img_image_write and imports).  Call it before
 * trusting img_blob_exists for a blob this handle did not write (a build
 * cache hit): prune then cannot remove it before the image is tagged. */
int img_store_hold(img_store *s, nr_err *err);

/* ---- prune ---- */

typedef struct img_prune_result {
    size_t blobs_removed;
    size_t layers_removed; /* unpacked layer dirs (layers/<diff_id hex>) */
    uint64_t bytes_reclaimed;
    size_t temps_removed;
} img_prune_result;
/* Remove blobs not reachable from index.json (manifest, its config and
 * layers) and stale temp files, under the exclusive gc lock; then the
 * unpacked layers (layers/<hex>) that no image of index.json has (by its
 * config's rootfs.diff_ids) and no container's config.json lists, and
 * half-extracted layer dirs of dead unpacks.  nrun's own layers (not named
 * by a diff_id, e.g. layers/nrun-init-1) stay. */
int img_store_prune(img_store *s, img_prune_result *res, nr_err *err);
/* Only the unpacked-layer half of prune (rmi: an image's layers go with it,
 * as docker's do, when no other image or container uses them). */
int img_layers_prune(img_store *s, img_prune_result *res, nr_err *err);
/* Remove just these blobs, unless index.json reaches them: for a writer
 * undoing what it wrote when it fails late (a full disk at the manifest).
 * Like prune it first waits until no other handle holds the gc lock, so a
 * concurrent build that wrote the same blob (same content, same digest) has
 * tagged it by then and it stays. */
int img_blobs_remove_unreferenced(img_store *s, const char *const *digests, size_t n, img_prune_result *res,
                                  nr_err *err);

#endif
