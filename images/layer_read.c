/* Reading a stored layer: two libarchive readers stacked.  The outer one
 * decompresses the verified blob stream (raw format, any filter); its
 * output is hashed for the diff_id and fed to the inner tar reader the
 * caller iterates. */
#include "images/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "images/xz.h"

struct img_layer_reader {
    img_blob_reader *blob;
    struct archive *outer, *inner;
    nr_sha256 *diff;
    char diff_id[IMG_DIGEST_MAX];
    char digest[IMG_DIGEST_MAX];
    nr_err blob_err;
    bool blob_failed, eof;
    char inbuf[65536];
    char outbuf[65536];
};

static la_ssize_t outer_read(struct archive *a, void *ctx, const void **buf)
{
    img_layer_reader *r = ctx;
    ssize_t n = img_blob_reader_read(r->blob, r->inbuf, sizeof r->inbuf, &r->blob_err);
    if (n < 0) {
        r->blob_failed = true;
        archive_set_error(a, EIO, "%s", r->blob_err.msg);
        return -1;
    }
    *buf = r->inbuf;
    return n;
}

static la_ssize_t inner_read(struct archive *a, void *ctx, const void **buf)
{
    img_layer_reader *r = ctx;
    if (r->eof)
        return 0;
    la_ssize_t n = archive_read_data(r->outer, r->outbuf, sizeof r->outbuf);
    if (n < 0) {
        archive_set_error(a, EIO, "%s", r->blob_failed ? r->blob_err.msg : archive_error_string(r->outer));
        return -1;
    }
    if (n == 0)
        r->eof = true;
    nr_sha256_update(r->diff, r->outbuf, (size_t)n);
    *buf = r->outbuf;
    return n;
}

int img_layer_reader_open(img_store *s, const char *digest, int64_t size, const char *diff_id,
                          img_layer_reader **out, nr_err *err)
{
    if (diff_id && !img_digest_valid(diff_id))
        return nr_err_set(err, "layer %s: invalid diff_id \"%.80s\"", digest, diff_id);
    img_layer_reader *r = nr_xcalloc(1, sizeof *r);
    snprintf(r->digest, sizeof r->digest, "%s", digest);
    if (diff_id)
        snprintf(r->diff_id, sizeof r->diff_id, "%s", diff_id);
    if (img_blob_reader_open(s, digest, size, &r->blob, err) < 0) {
        free(r);
        return -1;
    }
    r->diff = nr_sha256_new();
    r->outer = archive_read_new();
    r->inner = archive_read_new();
    struct archive_entry *ae;
    /* A layer of no bytes (or compressed nothing) is an empty tar stream, as
     * Go's archive/tar (containerd, umoci, skopeo) reads it: libarchive's
     * "empty" format takes it, its next header is the end. */
    int hr = ARCHIVE_FATAL;
    /* the compressions docker reads a layer in (gzip, zstd; bzip2 and xz of
     * old saves), never filter_all's others: libarchive runs some of them
     * (lrzip, lzop, grzip) as host programs on the image's bytes.  xz is
     * img_xz_open's, within its memory bound. */
    if (!r->outer || !r->inner || archive_read_support_filter_gzip(r->outer) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(r->outer) != ARCHIVE_OK ||
        archive_read_support_filter_bzip2(r->outer) != ARCHIVE_OK ||
        archive_read_support_format_raw(r->outer) != ARCHIVE_OK ||
        archive_read_support_format_empty(r->outer) != ARCHIVE_OK ||
        img_xz_open(r->outer, r, outer_read, NULL) != ARCHIVE_OK ||
        ((hr = archive_read_next_header(r->outer, &ae)) != ARCHIVE_OK && hr != ARCHIVE_EOF)) {
        nr_err_set(err, "layer %s: %s", digest,
                   r->blob_failed ? r->blob_err.msg : r->outer ? archive_error_string(r->outer) : "out of memory");
        img_layer_reader_close(r);
        return -1;
    }
    r->eof = hr == ARCHIVE_EOF;
    if (archive_read_support_format_tar(r->inner) != ARCHIVE_OK ||
        archive_read_support_format_empty(r->inner) != ARCHIVE_OK ||
        archive_read_open(r->inner, r, NULL, inner_read, NULL) != ARCHIVE_OK) {
        nr_err_set(err, "layer %s: not a tar archive: %s", digest, archive_error_string(r->inner));
        img_layer_reader_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

struct archive *img_layer_reader_archive(img_layer_reader *r)
{
    return r->inner;
}

int img_layer_reader_finish(img_layer_reader *r, nr_err *err)
{
    /* Drain what the tar reader did not need (end blocks, padding). */
    while (!r->eof) {
        la_ssize_t n = archive_read_data(r->outer, r->outbuf, sizeof r->outbuf);
        if (n < 0)
            return nr_err_set(err, "layer %s: %s", r->digest,
                              r->blob_failed ? r->blob_err.msg : archive_error_string(r->outer));
        if (n == 0)
            r->eof = true;
        nr_sha256_update(r->diff, r->outbuf, (size_t)n);
    }
    /* The decompressor may stop at the end of the compressed stream before
     * the blob reader saw EOF: read the rest so the digest is checked. */
    if (img_blob_reader_finish(r->blob, err) < 0)
        return -1;
    char hex[65];
    nr_sha256_final(r->diff, hex);
    r->diff = NULL;
    if (r->diff_id[0] && strcmp(hex, img_digest_hex(r->diff_id)))
        return nr_err_set(err, "layer %s is corrupt: uncompressed content hashes to sha256:%s, diff_id is %s", r->digest,
                          hex, r->diff_id);
    return 0;
}

void img_layer_reader_close(img_layer_reader *r)
{
    if (!r)
        return;
    if (r->inner)
        archive_read_free(r->inner);
    if (r->outer)
        archive_read_free(r->outer);
    if (r->diff) {
        char hex[65];
        nr_sha256_final(r->diff, hex);
    }
    img_blob_reader_close(r->blob);
    free(r);
}
