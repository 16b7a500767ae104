/* Image references, as docker spells them: NAME[:TAG][@DIGEST] where NAME is
 * [HOST[:PORT]/]component(/component)*, components are lowercase letters and
 * digits joined by '.', '_', '__' or '-'+, TAG is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 * A missing tag means "latest".  No docker.io/library/ prefix is added: the
 * store keys tags by exactly "name:tag" (index.json annotation
 * org.opencontainers.image.ref.name). */
#ifndef IMG_REF_H
#define IMG_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "images/store.h"

#define IMG_NAME_MAX 256
#define IMG_TAG_MAX 129

typedef struct img_ref {
    char name[IMG_NAME_MAX];      /* "registry:5000/team/app" */
    char tag[IMG_TAG_MAX];        /* "1.2"; "latest" when none was given and no digest */
    char digest[IMG_DIGEST_MAX];  /* "" unless "@sha256:..." was given */
} img_ref;

/* Parse and validate; errors say what is wrong with which input. */
int img_ref_parse(const char *s, img_ref *out, nr_err *err);
/* "name:tag" (the index.json key) into out; returns -1 when it does not fit. */
int img_ref_format(const img_ref *r, char *out, size_t outlen);
/* Normalize a user string to "name:tag" ("app" -> "app:latest"). */
int img_ref_normalize(const char *s, char *out, size_t outlen, nr_err *err);
/* True for a valid tag alone ("1.2", "latest"). */
bool img_tag_valid(const char *tag);

#endif
