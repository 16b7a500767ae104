/* COPY/ADD --chown: "user[:group]" as numbers or names.  Names are looked
 * up in /etc/passwd and /etc/group of the image being built, read from its
 * layers (top layer first, whiteouts honoured) through the images API. */
#ifndef BLD_OWNER_H
#define BLD_OWNER_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "images/image.h"
#include "images/layer.h"
#include "images/store.h"

typedef struct bld_passwd {
    bool loaded;
    char *passwd;  /* NULL when the image has none */
    char *group;
} bld_passwd;

/* True when the spec needs the image's files (a part is not numeric). */
bool bld_chown_needs_names(const char *spec);
/* Read them from the layers; `cache_file` (may be NULL) keeps the result as
 * JSON so the next build of the same base reads one small file instead of
 * decompressing the base layers. */
int bld_passwd_load(img_store *s, const img_layer_desc *layers, size_t n, const char *cache_file, bld_passwd *out,
                    nr_err *err);
void bld_passwd_free(bld_passwd *p);
/* Resolve; without a group, a name takes its passwd entry's group and a
 * number its own value as gid (BuildKit's rule).  Errors name the part. */
int bld_chown_resolve(const char *spec, const bld_passwd *pw, uid_t *uid, gid_t *gid, nr_err *err);

#endif
