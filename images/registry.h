/* Registries (the OCI distribution spec, as Docker speaks it): pull, push,
 * login.  Names resolve as Docker resolves them: "node:20" is
 * docker.io/library/node:20 (the store keeps the name as the user wrote it,
 * "node:20"); "HOST[:PORT]/repo" names its registry when the first
 * component has a '.' or ':' or is "localhost".
 *
 * Contract:
 *  - Every reply is hostile input: manifests, indexes, configs and token
 *    replies are bounded (IMG_REG_MANIFEST_MAX), parsed with jansson and
 *    validated (media types, descriptors); every blob is streamed into an
 *    unnamed store blob, hashed and counted as it comes, and linked under its
 *    digest only when digest and size match (else it is dropped and the pull
 *    fails naming the digest).  The tag is set last: a failed pull leaves no
 *    tag and no half-written blob.
 *  - Transient failures (a 5xx, 429, a reset connection) are retried with
 *    backoff (IMG_REG_TRIES attempts); a 4xx never is.
 *  - One download per blob per store: a pull holds a lock per blob digest
 *    while fetching it, and a second pull of the same blob waits, then finds
 *    it stored.
 *  - TLS is verified against the system trust store; plain http is used
 *    only for loopback hosts (localhost, 127.0.0.0/8, ::1), hosts listed as
 *    insecure, or with tls_verify off, as Docker's insecure-registries do.
 *  - Credentials come from Docker's config.json ($DOCKER_CONFIG or
 *    ~/.docker): credHelpers, credsStore (docker-credential-* helpers) or
 *    auths (base64 "user:password"). */
#ifndef IMG_REGISTRY_H
#define IMG_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "images/image.h"
#include "images/ref.h"
#include "images/store.h"

#define IMG_REG_MANIFEST_MAX (4u << 20)
#define IMG_REG_TRIES 4
#define IMG_REG_DOCKER_HUB "docker.io"

typedef struct img_regref {
    char host[256];                           /* "127.0.0.1:5000", "docker.io" */
    char repo[IMG_NAME_MAX];                  /* "team/app", "library/node" */
    char tag[IMG_TAG_MAX];                    /* "" when only a digest was given */
    char digest[IMG_DIGEST_MAX];              /* "" unless @sha256:... */
    char local[IMG_NAME_MAX + IMG_TAG_MAX + 2]; /* the store's tag: "node:20", "127.0.0.1:5000/app:1" */
} img_regref;

int img_regref_parse(const char *s, img_regref *out, nr_err *err);
/* Does the reference name its registry host ("reg:5000/app", not "node:20")? */
bool img_regref_has_host(const char *s);
/* Loopback host (localhost, 127.0.0.0/8, [::1]), with or without a port. */
bool img_reg_host_loopback(const char *host);

typedef enum {
    IMG_PROG_RESOLVED, /* manifest digest known: msg = digest */
    IMG_PROG_START,    /* blob transfer starts (digest, total) */
    IMG_PROG_BYTES,    /* bytes so far (digest, done, total) */
    IMG_PROG_DONE,     /* blob complete */
    IMG_PROG_EXISTS,   /* blob already there (store or registry) */
    IMG_PROG_MOUNTED,  /* push: mounted from another repository (msg) */
    IMG_PROG_NOTE,     /* a line to show (msg): fallbacks, retries */
} img_prog_event;
typedef void (*img_reg_progress_fn)(void *arg, img_prog_event ev, const char *digest, uint64_t done,
                                    uint64_t total, const char *msg);

typedef struct img_reg_opts {
    int tls_verify;              /* -1: default (verify), 0: off (and http allowed), 1: on */
    const char *ca_file;         /* NULL: the system store */
    const char *config_dir;      /* Docker config dir; NULL: $DOCKER_CONFIG or ~/.docker */
    const char *username;        /* explicit credentials (login), NULL: from the config */
    const char *password;
    const char *const *mirrors;  /* docker.io mirrors ("host[:port]" or URLs), tried in order */
    size_t n_mirrors;
    const char *const *insecure; /* hosts where plain http is allowed */
    size_t n_insecure;
    bool mirrors_only;           /* docker.io names: only the mirrors, never docker.io itself */
    bool all_platforms;          /* pull: keep an index and every image it lists (else linux/amd64 only) */
    bool foreign_urls;           /* pull: a foreign layer the registry lacks may come from its urls */
    int parallel;                /* blob transfers at once (0: 3) */
    img_reg_progress_fn progress;
    void *progress_arg;
} img_reg_opts;

/* Read mirrors and insecure registries from a daemon.json-style file
 * (keys "registry-mirrors", "insecure-registries"): `path`, else
 * $NRUN_REGISTRIES_CONFIG, else /etc/nrun/daemon.json; a missing default
 * file is no error.  Strings are appended to the (malloc'd) arrays. */
int img_reg_config_load(const char *path, char ***mirrors, size_t *n_mirrors, char ***insecure, size_t *n_insecure,
                        nr_err *err);

/* Pull `ref` into the store and tag it as ref's `local` name (untagged when
 * pulled by digest only).  From an index, the linux/amd64 manifest is
 * chosen, as docker pull does; with o->all_platforms the index is kept as
 * it is (its digest unchanged) with every image it lists, and tagged.  *from_out (optional) says where it came from ("127.0.0.1:5000",
 * or the mirror used). */
int img_reg_pull(img_store *s, const char *ref, const img_reg_opts *o, img_desc *manifest_out, char *from_out,
                 size_t from_len, nr_err *err);
/* Push the store's image `local_ref` to `dest_ref` (NULL: local_ref):
 * blobs the registry lacks (HEAD), mounted from another repository of the
 * same registry that the image is tagged under when the registry offers it,
 * else uploaded (monolithic PUT, chunked PATCHes when refused); then the
 * manifest with its media type.  An index (a multi-platform image) goes
 * whole: each image's blobs and manifest (by digest), then the index. */
int img_reg_push(img_store *s, const char *local_ref, const char *dest_ref, const img_reg_opts *o,
                 img_desc *manifest_out, nr_err *err);
/* Check credentials against the registry (a /v2/ ping through the auth
 * flow), then store them in the Docker config (helper or auths). */
int img_reg_login(const char *host, const img_reg_opts *o, nr_err *err);
/* Remove stored credentials; errnum ENOENT when there were none. */
int img_reg_logout(const char *host, const img_reg_opts *o, nr_err *err);
/* The credential key for a host as Docker writes it (docker.io ->
 * "https://index.docker.io/v1/"). */
const char *img_reg_cred_key(const char *host);

#endif
