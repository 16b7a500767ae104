/* xz read with a bound on the decoder's memory, for libarchive readers.
 *
 * libarchive's own xz reader lets liblzma take up to 1 GiB, and the
 * decoder's dictionary is the size the stream declares, filled as it
 * unpacks: a 60 KB .tar.xz whose header declares 768 MiB took its reader to
 * 768 MB resident.  img_xz_open opens `a` on what `rd` reads (a libarchive
 * read callback on ctx; `cl`, if any, closes ctx with `a`, or at once when
 * the open fails): an xz stream (by its magic) decoded here within
 * IMG_XZ_MEMLIMIT, anything else as it is, for the filters `a` supports.
 * An xz past the bound fails the first read with ENOMEM
 * (archive_errno), its message saying why. */
#pragma once

#include <archive.h>
#include <stdbool.h>

#define IMG_XZ_MEMLIMIT (128ull << 20) /* xz -9e's 64 MiB dictionary decodes in 65 MiB */

int img_xz_open(struct archive *a, void *ctx, archive_read_callback *rd, archive_close_callback *cl);
/* img_xz_open on file descriptor fd (closed with `a` when own_fd) */
int img_xz_open_fd(struct archive *a, int fd, bool own_fd);
