/* Base images made on demand (builder/base.c, images/node/): when a FROM
 * names an image the store lacks, the executor asks this hook to build it.
 * Declared weak so the builder links without the recipe. */
#ifndef BLD_BASE_H
#define BLD_BASE_H

#include "common/err.h"
#include "images/store.h"

/* Make `ref` (e.g. "node:20", "node:22-slim") in the store.  Returns 0 when
 * the image now exists; -1 with err->errnum = ENOENT when `ref` is not a
 * base image this recipe knows, or another error when building failed. */
int bld_base_ensure(img_store *s, const char *ref, nr_err *err) __attribute__((weak));

#endif
