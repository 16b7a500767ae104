/* Google's distroless names, made here (builder/base_gcr.c).  Dockerfiles
 * written for gcr.io/distroless/nodejs20-debian12 (and :nonroot, :debug,
 * :debug-nonroot, static-, base-, base-nossl-, cc-debianMM) build unchanged:
 * the image is made from the same pinned inputs as node:<ver>-distroless
 * (images/node/mkbase.sh) and reshaped as Google's by images/node/mkgcr.sh,
 * sharing its os and node layers.  gcr.io itself is never contacted.  A
 * store image of the name, or a --base-map pattern, wins (plan_from.c). */
#ifndef BLD_BASE_GCR_H
#define BLD_BASE_GCR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "builder/base.h"
#include "common/err.h"
#include "images/store.h"

#define BLD_GCR_PREFIX "gcr.io/distroless/"

typedef struct bld_gcr_spec {
    char kind[16];       /* "nodejs", "static", "base", "base-nossl", "cc" */
    char debian[4];      /* "12": the release the name asks for */
    char tag[16];        /* "latest", "nonroot", "debug", "debug-nonroot" */
    char canonical[96];  /* "gcr.io/distroless/nodejs20-debian12:nonroot" */
    char asked[128];     /* the name as written, normalised: a tag, no digest */
    bld_base_spec node;  /* the node:<ver>-distroless it is made from */
} bld_gcr_spec;

/* Does `ref` name something under gcr.io/distroless/ (made here or refused,
 * never pulled from gcr.io)? */
bool bld_gcr_is(const char *ref);

/* Map gcr.io/distroless/NAME[:TAG][@sha256:HEX] to its spec.  0; 1 with
 * err->errnum = ENOENT and a one-line message naming `ref` when it is not a
 * name nbuild makes (python3-debian12, nodejs of an unpinned major, a tag
 * Google does not publish, a malformed digest); -1 when the pins are broken. */
int bld_gcr_resolve(const char *ref, bld_gcr_spec *out, nr_err *err);

/* bld_base_ensure for a gcr.io/distroless/ name (same return contract). */
int bld_gcr_ensure(img_store *s, const char *ref, nr_err *err);

/* For `nrun base --list`: `out->canonical` and a note of what it is made of. */
int bld_gcr_resolve_listed(const char *ref, bld_base_spec *out, char *note, size_t notelen, nr_err *err);

/* Every name and tag made here, "REF CANONICAL  # note" lines. */
void bld_gcr_list(FILE *f);

/* `ref` is a gcr.io/distroless/ name pinned by digest and the store holds
 * no image of that digest: true, with the name without its pin (":latest"
 * when no tag) in `out`.  Google's digest can never be the image made here,
 * so the caller drops the pin and says so. */
bool bld_gcr_unpin(img_store *s, const char *ref, char *out, size_t outlen);

#endif
