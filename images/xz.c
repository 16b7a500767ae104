/* xz within a memory bound for libarchive readers (see xz.h). */
#include "images/xz.h"

#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

typedef struct xz_in {
    void *ctx;
    archive_read_callback *rd;
    archive_close_callback *cl;
    int mode; /* 0: not known yet, 1: xz, 2: as it is */
    bool end, eof;
    lzma_stream z;
    uint8_t out[65536];
} xz_in;

static la_ssize_t xz_read(struct archive *a, void *p, const void **buf)
{
    xz_in *x = p;
    if (x->mode == 2)
        return x->rd(a, x->ctx, buf);
    x->z.next_out = x->out;
    x->z.avail_out = sizeof x->out;
    while (x->z.avail_out == sizeof x->out && !x->end) {
        if (x->z.avail_in == 0 && !x->eof) {
            const void *in = NULL;
            la_ssize_t n = x->rd(a, x->ctx, &in);
            if (n < 0)
                return -1;
            if (x->mode == 0) {
                static const unsigned char magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
                if (n < (la_ssize_t)sizeof magic || memcmp(in, magic, sizeof magic)) {
                    x->mode = 2; /* not xz (a first read of less than 6 bytes: not one either) */
                    *buf = in;
                    return n;
                }
                x->mode = 1;
            }
            x->z.next_in = in;
            x->z.avail_in = (size_t)n;
            x->eof = n == 0;
        }
        lzma_ret r = lzma_code(&x->z, x->eof ? LZMA_FINISH : LZMA_RUN);
        if (r == LZMA_STREAM_END) {
            x->end = true;
        } else if (r == LZMA_MEMLIMIT_ERROR) {
            archive_set_error(a, ENOMEM, "xz: decoding needs more than %d MiB (the dictionary it declares): refused",
                              (int)(IMG_XZ_MEMLIMIT >> 20));
            return -1;
        } else if (r != LZMA_OK) {
            archive_set_error(a, EINVAL, "xz: %s", r == LZMA_BUF_ERROR ? "truncated data" : "corrupt data");
            return -1;
        }
    }
    *buf = x->out;
    return (la_ssize_t)(sizeof x->out - x->z.avail_out);
}

static int xz_close(struct archive *a, void *p)
{
    xz_in *x = p;
    int r = x->cl ? x->cl(a, x->ctx) : ARCHIVE_OK;
    lzma_end(&x->z);
    free(x);
    return r;
}

int img_xz_open(struct archive *a, void *ctx, archive_read_callback *rd, archive_close_callback *cl)
{
    xz_in *x = nr_xcalloc(1, sizeof *x);
    x->ctx = ctx;
    x->rd = rd;
    x->cl = cl;
    x->z = (lzma_stream)LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&x->z, IMG_XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
        free(x);
        if (cl)
            cl(a, ctx);
        archive_set_error(a, ENOMEM, "xz: cannot start the decoder");
        return ARCHIVE_FATAL;
    }
    return archive_read_open(a, x, NULL, xz_read, xz_close);
}

typedef struct fd_src {
    int fd;
    bool own;
    char buf[65536];
} fd_src;

static la_ssize_t fd_read(struct archive *a, void *ctx, const void **buf)
{
    fd_src *f = ctx;
    ssize_t n;
    while ((n = read(f->fd, f->buf, sizeof f->buf)) < 0 && errno == EINTR)
        ;
    if (n < 0) {
        archive_set_error(a, errno, "read");
        return -1;
    }
    *buf = f->buf;
    return n;
}

static int fd_close(struct archive *a, void *ctx)
{
    fd_src *f = ctx;
    if (f->own)
        close(f->fd);
    free(f);
    return ARCHIVE_OK;
}

int img_xz_open_fd(struct archive *a, int fd, bool own_fd)
{
    fd_src *f = nr_xcalloc(1, sizeof *f);
    f->fd = fd;
    f->own = own_fd;
    return img_xz_open(a, f, fd_read, fd_close);
}
