/* Content-addressed blobs: written unnamed (O_TMPFILE, or a ".tmp-<pid>-"
 * file where the filesystem lacks it), hashed while written, linked under
 * their digest only when complete; verified on every read. */
#include "images/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

struct img_blob_writer {
    img_store *s;
    int fd;
    char tmpname[96];   /* "" when the file is an O_TMPFILE */
    nr_sha256 *h;
    uint64_t size;
    uint64_t queued;     /* bytes handed to writeback already (sync_file_range) */
    char digest[IMG_DIGEST_MAX];
    bool finished;
};

int img_blob_writer_new(img_store *s, img_blob_writer **out, nr_err *err)
{
    if (img_store_hold(s, err) < 0)
        return -1;
    img_blob_writer *w = nr_xcalloc(1, sizeof *w);
    w->s = s;
    w->fd = openat(s->blobs_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (w->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        static unsigned n;
        snprintf(w->tmpname, sizeof w->tmpname, ".tmp-%d-%u-%lx", (int)getpid(), ++n, (unsigned long)random());
        w->fd = openat(s->blobs_fd, w->tmpname, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    }
    if (w->fd < 0) {
        int e = errno;
        free(w);
        return nr_err_sys(err, e, "create blob in %s/blobs/sha256", s->root);
    }
    w->h = nr_sha256_new();
    *out = w;
    return 0;
}

int img_blob_writer_write(img_blob_writer *w, const void *data, size_t len, nr_err *err)
{
    if (nr_write_all(w->fd, data, len) < 0)
        return nr_err_sys(err, errno, "write blob in %s/blobs/sha256", w->s->root);
    nr_sha256_update(w->h, data, len);
    w->size += len;
    /* Start writeback as the blob streams in (asynchronously, errors left to
     * the fsync at the end): that fsync then waits for the tail only, not
     * for the whole blob, which is most of a pull's time on a fast link. */
    if (w->size - w->queued >= (8u << 20)) {
        sync_file_range(w->fd, (off_t)w->queued, (off_t)(w->size - w->queued), SYNC_FILE_RANGE_WRITE);
        w->queued = w->size;
    }
    return 0;
}

int img__blob_writer_finish(img_blob_writer *w, char digest_out[IMG_DIGEST_MAX], uint64_t *size_out, nr_err *err)
{
    if (!w->finished) {
        if (fsync(w->fd) < 0)
            return nr_err_sys(err, errno, "write blob in %s/blobs/sha256", w->s->root);
        char hex[65];
        nr_sha256_final(w->h, hex);
        w->h = NULL;
        snprintf(w->digest, sizeof w->digest, "sha256:%s", hex);
        w->finished = true;
    }
    if (digest_out)
        memcpy(digest_out, w->digest, IMG_DIGEST_MAX);
    if (size_out)
        *size_out = w->size;
    return 0;
}

int img__blob_writer_link(img_blob_writer *w, nr_err *err)
{
    int r = 0;
    const char *hex = img_digest_hex(w->digest);
    int bfd = w->s->blobs_fd;
    if (faccessat(bfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        /* Already stored: keep the existing file untouched. */
    } else if (w->tmpname[0]) {
        if (renameat(bfd, w->tmpname, bfd, hex) < 0)
            r = nr_err_sys(err, errno, "store blob %s", w->digest);
        else
            w->tmpname[0] = '\0';
    } else {
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", w->fd);
        if (linkat(w->fd, "", bfd, hex, AT_EMPTY_PATH) < 0 && errno != EEXIST &&
            linkat(AT_FDCWD, p, bfd, hex, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
            r = nr_err_sys(err, errno, "store blob %s", w->digest);
    }
    if (r == 0 && fsync(bfd) < 0 && errno != EINVAL)
        r = nr_err_sys(err, errno, "fsync %s/blobs/sha256", w->s->root);
    img_blob_writer_abort(w);
    return r;
}

int img_blob_writer_commit(img_blob_writer *w, char digest_out[IMG_DIGEST_MAX], uint64_t *size_out, nr_err *err)
{
    if (img__blob_writer_finish(w, digest_out, size_out, err) < 0) {
        img_blob_writer_abort(w);
        return -1;
    }
    return img__blob_writer_link(w, err);
}

void img_blob_writer_abort(img_blob_writer *w)
{
    if (!w)
        return;
    if (w->tmpname[0])
        unlinkat(w->s->blobs_fd, w->tmpname, 0);
    if (w->fd >= 0)
        close(w->fd);
    if (w->h) {
        char hex[65];
        nr_sha256_final(w->h, hex);
    }
    free(w);
}

int img_blob_put(img_store *s, const void *data, size_t len, char digest_out[IMG_DIGEST_MAX], nr_err *err)
{
    char hex[65];
    nr_sha256_hex(data, len, hex);
    char d[IMG_DIGEST_MAX];
    snprintf(d, sizeof d, "sha256:%s", hex);
    /* Hold the gc lock before looking: a blob seen here must not be pruned
     * before this handle tags what uses it. */
    if (img_store_hold(s, err) < 0)
        return -1;
    if (faccessat(s->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        memcpy(digest_out, d, sizeof d);
        return 0;
    }
    img_blob_writer *w;
    if (img_blob_writer_new(s, &w, err) < 0)
        return -1;
    if (img_blob_writer_write(w, data, len, err) < 0) {
        img_blob_writer_abort(w);
        return -1;
    }
    return img_blob_writer_commit(w, digest_out, NULL, err);
}

bool img_blob_exists(img_store *s, const char *digest)
{
    return img_digest_valid(digest) && faccessat(s->blobs_fd, img_digest_hex(digest), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int img_blob_size(img_store *s, const char *digest, uint64_t *size_out, nr_err *err)
{
    if (!img_digest_valid(digest))
        return nr_err_set(err, "invalid digest \"%.80s\"", digest);
    struct stat st;
    if (fstatat(s->blobs_fd, img_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return nr_err_sys(err, errno, "blob %s", digest);
    if (!S_ISREG(st.st_mode))
        return nr_err_set(err, "blob %s is not a regular file", digest);
    *size_out = (uint64_t)st.st_size;
    return 0;
}

/* ---- verifying reader ---- */

struct img_blob_reader {
    int fd;
    nr_sha256 *h;
    char digest[IMG_DIGEST_MAX];
    int64_t expect;
    uint64_t n;
    bool verified;
};

int img_blob_reader_open(img_store *s, const char *digest, int64_t expect_size, img_blob_reader **out, nr_err *err)
{
    if (!img_digest_valid(digest))
        return nr_err_set(err, "invalid digest \"%.80s\"", digest);
    int fd = openat(s->blobs_fd, img_digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return nr_err_sys(err, errno, "blob %s", digest);
    img_blob_reader *r = nr_xcalloc(1, sizeof *r);
    r->fd = fd;
    r->h = nr_sha256_new();
    r->expect = expect_size;
    snprintf(r->digest, sizeof r->digest, "%s", digest);
    *out = r;
    return 0;
}

static int reader_check(img_blob_reader *r, nr_err *err)
{
    char hex[65];
    nr_sha256_final(r->h, hex);
    r->h = NULL;
    if (strcmp(hex, img_digest_hex(r->digest)))
        return nr_err_set(err, "blob %s is corrupt (content hashes to sha256:%s)", r->digest, hex);
    if (r->expect >= 0 && r->n != (uint64_t)r->expect)
        return nr_err_set(err, "blob %s has %llu bytes, expected %lld", r->digest, (unsigned long long)r->n,
                          (long long)r->expect);
    r->verified = true;
    return 0;
}

ssize_t img_blob_reader_read(img_blob_reader *r, void *buf, size_t len, nr_err *err)
{
    if (r->verified)
        return 0;
    if (!r->h)
        return nr_err_set(err, "blob %s: read after a verification error", r->digest);
    ssize_t got;
    do
        got = read(r->fd, buf, len);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return nr_err_sys(err, errno, "read blob %s", r->digest);
    if (got == 0)
        return reader_check(r, err);
    r->n += (uint64_t)got;
    if (r->expect >= 0 && r->n > (uint64_t)r->expect) {
        char hex[65];
        nr_sha256_final(r->h, hex);
        r->h = NULL;
        return nr_err_set(err, "blob %s is larger than its descriptor size %lld", r->digest, (long long)r->expect);
    }
    nr_sha256_update(r->h, buf, (size_t)got);
    return got;
}

int img_blob_reader_finish(img_blob_reader *r, nr_err *err)
{
    char buf[65536];
    for (;;) {
        ssize_t n = img_blob_reader_read(r, buf, sizeof buf, err);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
    }
}

void img_blob_reader_close(img_blob_reader *r)
{
    if (!r)
        return;
    if (r->h) {
        char hex[65];
        nr_sha256_final(r->h, hex);
    }
    close(r->fd);
    free(r);
}

int img_blob_verify(img_store *s, const char *digest, nr_err *err)
{
    img_blob_reader *r;
    if (img_blob_reader_open(s, digest, -1, &r, err) < 0)
        return -1;
    int ret = img_blob_reader_finish(r, err);
    img_blob_reader_close(r);
    return ret;
}

int img_blob_read(img_store *s, const char *digest, size_t max, char **out, size_t *len_out, nr_err *err)
{
    img_blob_reader *r;
    if (img_blob_reader_open(s, digest, -1, &r, err) < 0)
        return -1;
    nr_buf b = {0};
    char chunk[65536];
    for (;;) {
        ssize_t n = img_blob_reader_read(r, chunk, sizeof chunk, err);
        if (n < 0)
            goto fail;
        if (n == 0)
            break;
        if (b.len + (size_t)n > max) {
            nr_err_set(err, "blob %s is larger than %zu bytes", digest, max);
            goto fail;
        }
        nr_buf_add(&b, chunk, (size_t)n);
    }
    img_blob_reader_close(r);
    if (!b.data)
        nr_buf_add(&b, "", 0);
    *out = b.data;
    if (len_out)
        *len_out = b.len;
    return 0;
fail:
    img_blob_reader_close(r);
    nr_buf_free(&b);
    return -1;
}

int img_blob_copy_to(img_store *s, const char *digest, int dst_blobs_dirfd, nr_err *err)
{
    if (!img_digest_valid(digest))
        return nr_err_set(err, "invalid digest \"%.80s\"", digest);
    const char *hex = img_digest_hex(digest);
    if (faccessat(dst_blobs_dirfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return img_blob_verify(s, digest, err);
    img_blob_reader *r;
    if (img_blob_reader_open(s, digest, -1, &r, err) < 0)
        return -1;
    char tmp[256];
    cleanup_close int fd = nr_open_temp(dst_blobs_dirfd, hex, 0644, tmp, sizeof tmp);
    if (fd < 0) {
        img_blob_reader_close(r);
        return nr_err_sys(err, errno, "create blob %s", digest);
    }
    char buf[65536];
    int ret = 0;
    for (;;) {
        ssize_t n = img_blob_reader_read(r, buf, sizeof buf, err);
        if (n < 0) {
            ret = -1;
            break;
        }
        if (n == 0)
            break;
        if (nr_write_all(fd, buf, (size_t)n) < 0) {
            ret = nr_err_sys(err, errno, "write blob %s", digest);
            break;
        }
    }
    img_blob_reader_close(r);
    if (ret == 0 && fsync(fd) < 0)
        ret = nr_err_sys(err, errno, "write blob %s", digest);
    if (ret == 0 && renameat(dst_blobs_dirfd, tmp, dst_blobs_dirfd, hex) < 0)
        ret = nr_err_sys(err, errno, "store blob %s", digest);
    if (ret < 0)
        unlinkat(dst_blobs_dirfd, tmp, 0);
    return ret;
}
