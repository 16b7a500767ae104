/* A gzip writer that compresses on several threads and writes one gzip
 * member whose bytes do not depend on the number of threads.
 *
 * The input is cut into blocks of IMG_PGZ_BLOCK bytes.  Each block is
 * compressed on its own as raw deflate, primed with the last 32 KiB of the
 * block before it (so matches still reach back across the cut), and ended
 * with a sync flush (an empty stored block: the next block starts on a byte
 * boundary); the last block ends the stream.  The blocks' deflate data
 * joined in order is one deflate stream, framed by one gzip header and the
 * CRC-32 and length of the whole input: any gzip reader reads it, and the
 * output is a function of the input, the level and the block size only.
 *
 *   img_pgz *z = img_pgz_new(level, threads, write_fn, ctx);
 *   img_pgz_write(z, buf, len, err) ...;
 *   img_pgz_finish(z, err);   // the trailer is written; then
 *   img_pgz_free(z);          // always, also after an error
 *
 * write_fn is called on the caller's thread only, in order. */
#ifndef NR_IMAGES_PGZIP_H
#define NR_IMAGES_PGZIP_H

#include <stddef.h>

#include "common/err.h"

#define IMG_PGZ_BLOCK (128 * 1024)

typedef struct img_pgz img_pgz;

/* Returns 0, or -1 with err set (the output is then incomplete). */
typedef int (*img_pgz_write_fn)(void *ctx, const void *buf, size_t len, nr_err *err);

/* level: 1-9, 0 for zlib's default (6).  threads: 0 picks the number of
 * online CPUs (at most 8; NRUN_COMPRESS_THREADS overrides it); 1 compresses
 * on the caller's thread. */
img_pgz *img_pgz_new(int level, int threads, img_pgz_write_fn fn, void *ctx);
int img_pgz_write(img_pgz *z, const void *buf, size_t len, nr_err *err);
int img_pgz_finish(img_pgz *z, nr_err *err);
void img_pgz_free(img_pgz *z);

#endif
