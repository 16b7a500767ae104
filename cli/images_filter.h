/* nrun images --filter (cli/images_filter.c). */
#ifndef NR_IMAGES_FILTER_H
#define NR_IMAGES_FILTER_H

#include "cli/cli.h"
#include "images/image.h"
#include "images/store.h"

/* Parse and check one --filter KEY=VALUE onto fs (printing a usage error). */
int nr_images_filter_add(nr_global *g, const char *arg, nr_filter **fs, size_t *n);
void nr_images_filter_free(nr_filter *fs, size_t n);
/* repo/tag NULL: a dangling image. */
bool nr_images_filter_match(const nr_filter *fs, size_t n, const char *repo, const char *tag, const img_image *img);
/* Was dangling=true asked for (then only untagged images are listed)? */
bool nr_images_filter_dangling(const nr_filter *fs, size_t n);
int nr_images_dangling(img_store *s, const img_tag *tags, size_t nt, img_image ***out, size_t *nout, nr_err *err);

#endif
