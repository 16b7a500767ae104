/* nrun pull: manifest (through an index to linux/amd64, or with
 * --all-platforms the index and every image it lists), configs, layers in
 * parallel, each blob streamed into an unnamed store blob and linked only
 * when every blob of every image is there and matches its digest and size;
 * the tag last. */
#include "images/reg_int.h"
#include "images/store_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define ACCEPT_MANIFESTS                                                                                   \
    "Accept: " IMG_MT_MANIFEST ", " IMG_MT_INDEX ", " IMG_MT_DOCKER_MANIFEST ", " IMG_MT_DOCKER_LIST
#define PROGRESS_STEP (256u << 10)

typedef struct pull {
    img_store *s;
    reg_client *c;
    const img_regref *r;
    char scope[IMG_NAME_MAX + 32];
    int *lock_fds; /* the per-blob locks held (locks_take) */
    char **lock_names;
    size_t n_locks;
} pull;

#define is_index_type img_mt_is_index
#define is_manifest_type img_mt_is_manifest

/* GET a manifest or index by tag or digest, bounded, its digest checked. */
static int manifest_get(pull *p, const char *ref, char **data, size_t *len, char mt[128], char digest[IMG_DIGEST_MAX],
                        nr_err *err)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", p->c->base, p->r->repo, ref);
    const char *hdrs[] = {ACCEPT_MANIFESTS, NULL};
    img_http_req rq = {.method = "GET", .url = url, .headers = hdrs, .max_body = IMG_REG_MANIFEST_MAX, .follow = true};
    img_http_resp rs;
    char what[1200];
    snprintf(what, sizeof what, "%s/%s: manifest %s", p->c->host, p->r->repo, ref);
    if (reg_request(p->c, p->c->h, p->scope, &rq, NULL, NULL, &rs, err) < 0) {
        img_http_resp_free(&rs);
        return nr_err_wrap(err, "%s/%s: manifest %s", p->c->host, p->r->repo, ref);
    }
    if (rs.status != 200) {
        reg_status_error(&rs, what, err);
        if (rs.status == 404)
            err->errnum = ENOENT;
        img_http_resp_free(&rs);
        return -1;
    }
    char hex[65];
    nr_sha256_hex(rs.body.data ? rs.body.data : "", rs.body.len, hex);
    snprintf(digest, IMG_DIGEST_MAX, "sha256:%s", hex);
    if (img_digest_valid(ref) && strcmp(ref, digest)) {
        nr_err_set(err, "%s: content hashes to %s", what, digest);
        img_http_resp_free(&rs);
        return -1;
    }
    if (!img_digest_valid(ref) && rs.docker_digest[0] && !strncmp(rs.docker_digest, "sha256:", 7) &&
        strcmp(rs.docker_digest, digest)) {
        cleanup_free char *e = nr_escape_controls(rs.docker_digest);
        nr_err_set(err, "%s: content hashes to %s but the registry says %s", what, digest, e);
        img_http_resp_free(&rs);
        return -1;
    }
    json_t *j = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *jm = json_object_get(j, "mediaType");
    mt[0] = 0;
    if (json_is_string(jm) && json_string_length(jm) < 128)
        snprintf(mt, 128, "%s", json_string_value(jm));
    else if (rs.content_type[0])
        snprintf(mt, 128, "%.*s", (int)strcspn(rs.content_type, "; "), rs.content_type);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        img_http_resp_free(&rs);
        return nr_err_set(err, "%s: reply is not a JSON object", what);
    }
    json_decref(j);
    if (!is_index_type(mt) && !is_manifest_type(mt)) {
        img_http_resp_free(&rs);
        cleanup_free char *e = nr_escape_controls(mt);
        return nr_err_set(err, "%s: unsupported media type \"%s\"", what, e);
    }
    *data = steal_ptr(&rs.body.data);
    *len = rs.body.len;
    img_http_resp_free(&rs);
    return 0;
}

/* From an index, the linux/amd64 image manifest. */
static int index_choose(pull *p, const char *data, size_t len, const char *idx_digest, char out[IMG_DIGEST_MAX],
                        uint64_t *size_out, nr_err *err)
{
    json_t *j = json_loadb(data, len, 0, NULL);
    json_t *ms = json_object_get(j, "manifests");
    int rc = -1;
    if (!json_is_array(ms)) {
        nr_err_set(err, "%s/%s: index %s: manifests is not an array", p->c->host, p->r->repo, idx_digest);
        goto out;
    }
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m)
    {
        img_desc d;
        char w[1200];
        snprintf(w, sizeof w, "%s/%s: index %s: manifests[%zu]", p->c->host, p->r->repo, idx_digest, i);
        if (img__desc_parse(m, &d, w, err) < 0)
            goto out;
        json_t *pl = json_object_get(m, "platform");
        json_t *os = json_object_get(pl, "os"), *arch = json_object_get(pl, "architecture");
        if (!json_is_string(os) || !json_is_string(arch) || strcmp(json_string_value(os), "linux") ||
            strcmp(json_string_value(arch), "amd64"))
            continue;
        if (!strcmp(d.digest, idx_digest)) {
            nr_err_set(err, "%s: points at itself", w);
            goto out;
        }
        if (!is_manifest_type(d.media_type)) {
            nr_err_set(err, "%s: linux/amd64 entry is a %s, not an image manifest", w, d.media_type);
            goto out;
        }
        snprintf(out, IMG_DIGEST_MAX, "%s", d.digest);
        *size_out = d.size;
        rc = 0;
        goto out;
    }
    nr_err_set(err, "%s/%s: index %s has no linux/amd64 image", p->c->host, p->r->repo, idx_digest);
out:
    json_decref(j);
    return rc;
}

/* ---- blobs ---- */

typedef struct blob_dl {
    pull *p;
    const img_desc *d;
    img_blob_writer *w;
    uint64_t got, shown;
} blob_dl;

static int dl_sink(void *arg, const void *data, size_t len, nr_err *err)
{
    blob_dl *b = arg;
    if (b->got + len > b->d->size)
        return nr_err_set(err, "blob %s: the registry sent more than its %llu bytes", b->d->digest,
                          (unsigned long long)b->d->size);
    if (img_blob_writer_write(b->w, data, len, err) < 0)
        return -1;
    b->got += len;
    if (b->got - b->shown >= PROGRESS_STEP) {
        b->shown = b->got;
        reg_progress(b->p->c->o, IMG_PROG_BYTES, b->d->digest, b->got, b->d->size, NULL);
    }
    return 0;
}

static int dl_reset(void *arg, nr_err *err)
{
    blob_dl *b = arg;
    img_blob_writer_abort(b->w);
    b->w = NULL;
    b->got = b->shown = 0;
    return img_blob_writer_new(b->p->s, &b->w, err);
}

/* A foreign or non-distributable layer the registry does not hold, from
 * the first of its descriptor's urls that serves it, as docker and
 * containerd fetch them: http(s) only, with no credential of the registry
 * (another host), into the same counted, hashed blob. */
static int url_fetch(img_http *h, blob_dl *b, json_t *urls, nr_err *err)
{
    const img_desc *d = b->d;
    int rc = nr_err_set(err, "blob %s: the registry does not have it and none of its urls is http(s)", d->digest);
    size_t i;
    json_t *u;
    json_array_foreach(urls, i, u)
    {
        const char *url = json_string_value(u);
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
            continue;
        if (dl_reset(b, err) < 0)
            return -1;
        img_http_req rq = {.method = "GET", .url = url, .sink = dl_sink, .sink_arg = b, .follow = true,
                           .max_size = d->size};
        img_http_resp rs;
        rc = img_http_do(h, &rq, &rs, err);
        cleanup_free char *shown = nr_escape_controls(url);
        if (rc < 0)
            nr_err_wrap(err, "blob %s: GET %.300s", d->digest, shown);
        else if (rs.status != 200)
            rc = nr_err_set(err, "blob %s: GET %.300s: HTTP %ld", d->digest, shown, rs.status);
        img_http_resp_free(&rs);
        if (rc == 0)
            return 0;
    }
    return rc;
}

/* A foreign (Docker) or non-distributable (OCI) layer: the only kind whose
 * urls are ever used.  A urls list on any other descriptor is ignored, as
 * containerd does: those bytes are the registry's to serve. */
static bool foreign(const char *mt)
{
    return !strncmp(mt, "application/vnd.oci.image.layer.nondistributable.", 49) ||
           !strcmp(mt, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
}

/* Download one blob into an unnamed store blob (*staged), hashed and
 * counted as it comes; nothing is linked here.  A blob the store has is
 * left alone (*staged stays NULL).  A foreign layer the registry answers
 * 404 for comes from its `urls` when it has some and o->foreign_urls allows
 * it: a manifest's urls are any address it likes (a service on localhost,
 * the cloud's metadata endpoint), so by default they are not fetched. */
static int blob_fetch(pull *p, img_http *h, const img_desc *d, json_t *urls, img_blob_writer **staged, nr_err *err)
{
    uint64_t have;
    nr_err e2;
    if (img_blob_size(p->s, d->digest, &have, &e2) == 0 && have == d->size) {
        reg_progress(p->c->o, IMG_PROG_EXISTS, d->digest, d->size, d->size, NULL);
        return 0;
    }
    reg_progress(p->c->o, IMG_PROG_START, d->digest, 0, d->size, NULL);
    char url[1024];
    snprintf(url, sizeof url, "%s/v2/%s/blobs/%s", p->c->base, p->r->repo, d->digest);
    blob_dl b = {.p = p, .d = d};
    if (img_blob_writer_new(p->s, &b.w, err) < 0)
        return -1;
    img_http_req rq = {.method = "GET", .url = url, .sink = dl_sink, .sink_arg = &b, .follow = true};
    img_http_resp rs;
    int rc = reg_request(p->c, h, p->scope, &rq, dl_reset, &b, &rs, err);
    if (rc < 0 && strncmp(err->msg, "blob ", 5))
        nr_err_wrap(err, "blob %s", d->digest);
    if (rc == 0 && rs.status == 404 && urls && foreign(d->media_type)) {
        img_http_resp_free(&rs);
        if (p->c->o->foreign_urls)
            rc = url_fetch(h, &b, urls, err);
        else
            rc = nr_err_set(err,
                            "%s/%s: blob %s: a foreign layer the registry does not have; its urls are fetched only "
                            "with --allow-foreign-urls",
                            p->c->host, p->r->repo, d->digest);
    } else if (rc == 0 && rs.status != 200) {
        char w[1200];
        snprintf(w, sizeof w, "%s/%s: blob %s", p->c->host, p->r->repo, d->digest);
        rc = reg_status_error(&rs, w, err);
    }
    img_http_resp_free(&rs);
    if (rc == 0 && b.got != d->size)
        rc = nr_err_set(err, "blob %s: truncated: %llu of %llu bytes", d->digest, (unsigned long long)b.got,
                        (unsigned long long)d->size);
    char got[IMG_DIGEST_MAX];
    if (rc == 0 && img__blob_writer_finish(b.w, got, NULL, err) < 0)
        rc = -1;
    if (rc == 0 && strcmp(got, d->digest))
        rc = nr_err_set(err, "blob %s: content hashes to %s", d->digest, got);
    if (rc < 0) {
        img_blob_writer_abort(b.w);
        return -1;
    }
    *staged = b.w;
    reg_progress(p->c->o, IMG_PROG_DONE, d->digest, d->size, d->size, NULL);
    return 0;
}

/* One download per blob in this store at a time: a pull locks every blob
 * of its image (sorted by digest, so two pulls never wait on each other in
 * a circle) until its blobs are linked or dropped.  A second pull of the
 * same blobs waits, then finds them stored. */
static int cmp_digest(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int locks_take(pull *p, const img_desc *ds, size_t n, nr_err *err)
{
    const char **v = nr_xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = ds[i].digest;
    qsort(v, n, sizeof *v, cmp_digest);
    p->lock_fds = nr_xcalloc(n + 1, sizeof *p->lock_fds);
    p->lock_names = nr_xcalloc(n + 1, sizeof *p->lock_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(v[i], v[i - 1]))
            continue;
        char *name = nr_xasprintf("cache/.pull-%s.lock", img_digest_hex(v[i]));
        int fd;
        if (nr_lock_transient(img_store_dirfd(p->s), name, &fd, err) < 0) {
            free(name);
            rc = -1;
            break;
        }
        p->lock_fds[p->n_locks] = fd;
        p->lock_names[p->n_locks++] = name;
    }
    free(v);
    return rc;
}

static void locks_drop(pull *p)
{
    for (size_t i = 0; i < p->n_locks; i++) {
        nr_unlock_transient(img_store_dirfd(p->s), p->lock_names[i], p->lock_fds[i]);
        free(p->lock_names[i]);
    }
    free(p->lock_fds);
    free(p->lock_names);
    p->lock_fds = NULL;
    p->lock_names = NULL;
    p->n_locks = 0;
}

typedef struct fetch_set {
    pull *p;
    const img_desc *ds;
    json_t **urls;
    img_blob_writer **staged;
} fetch_set;

static int fetch_one(void *arg, img_http *h, size_t i, nr_err *err)
{
    fetch_set *fs = arg;
    return blob_fetch(fs->p, h, &fs->ds[i], fs->urls[i], &fs->staged[i], err);
}

static int blobs_fetch(pull *p, const img_desc *ds, json_t **urls, img_blob_writer **staged, size_t n, nr_err *err)
{
    if (img_store_hold(p->s, err) < 0)
        return -1;
    fetch_set fs = {.p = p, .ds = ds, .urls = urls, .staged = staged};
    return reg_each_parallel(p->c, n, fetch_one, &fs, err);
}

/* The config, in memory: from the store, or downloaded (bounded, digest and
 * size checked; *fresh says it still has to be stored). */
static int config_get(pull *p, const img_desc *d, char **out, size_t *len, bool *fresh, nr_err *err)
{
    *fresh = false;
    uint64_t have;
    nr_err e2;
    if (img_blob_size(p->s, d->digest, &have, &e2) == 0 && have == d->size) {
        reg_progress(p->c->o, IMG_PROG_EXISTS, d->digest, d->size, d->size, NULL);
        return img_blob_read(p->s, d->digest, IMG_JSON_MAX, out, len, err);
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/v2/%s/blobs/%s", p->c->base, p->r->repo, d->digest);
    img_http_req rq = {.method = "GET", .url = url, .max_body = (size_t)d->size + 1, .follow = true};
    img_http_resp rs;
    int rc = reg_request(p->c, p->c->h, p->scope, &rq, NULL, NULL, &rs, err);
    if (rc < 0)
        nr_err_wrap(err, "config %s", d->digest);
    if (rc == 0 && rs.status != 200) {
        char w[1200];
        snprintf(w, sizeof w, "%s/%s: config %s", p->c->host, p->r->repo, d->digest);
        rc = reg_status_error(&rs, w, err);
    }
    char hex[65];
    if (rc == 0) {
        nr_sha256_hex(rs.body.data ? rs.body.data : "", rs.body.len, hex);
        if (rs.body.len != d->size)
            rc = nr_err_set(err, "config %s: %zu bytes, not %llu", d->digest, rs.body.len, (unsigned long long)d->size);
        else if (strcmp(hex, img_digest_hex(d->digest)))
            rc = nr_err_set(err, "config %s: content hashes to sha256:%s", d->digest, hex);
    }
    if (rc == 0) {
        *len = rs.body.len;
        *out = rs.body.len ? steal_ptr(&rs.body.data) : nr_xstrdup("");
        *fresh = true;
        reg_progress(p->c->o, IMG_PROG_DONE, d->digest, d->size, d->size, NULL);
    }
    img_http_resp_free(&rs);
    return rc;
}

/* Digests this pull made visible, to take back when a later step fails (a
 * full disk at a manifest, index.json not written): the store stays as it
 * was. */
typedef struct linked {
    char (*d)[IMG_DIGEST_MAX];
    size_t n;
} linked;

static void linked_add(linked *l, const char *digest)
{
    l->d = nr_xrealloc(l->d, (l->n + 1) * sizeof *l->d);
    snprintf(l->d[l->n++], IMG_DIGEST_MAX, "%s", digest);
}

static void linked_undo(img_store *s, linked *l)
{
    if (!l->n)
        return;
    const char **v = nr_xcalloc(l->n, sizeof *v);
    for (size_t i = 0; i < l->n; i++)
        v[i] = l->d[i];
    img_prune_result pr;
    nr_err e2;
    img_blobs_remove_unreferenced(s, v, l->n, &pr, &e2);
    free(v);
}

/* A blob put from memory, recorded in `ln` when it was not there before. */
static int put_new(img_store *s, const char *data, size_t len, linked *ln, nr_err *err)
{
    char hex[65], d[IMG_DIGEST_MAX];
    nr_sha256_hex(data, len, hex);
    snprintf(d, sizeof d, "sha256:%s", hex);
    bool had = img_blob_exists(s, d);
    if (img_blob_put(s, data, len, d, err) < 0)
        return -1;
    if (!had)
        linked_add(ln, d);
    return 0;
}

/* One image of a pull (the only one, or one platform of an index): its
 * manifest as served, what it references, the config in memory.  The
 * layers of all parts are fetched together (each digest once: platforms
 * often share layers) into unnamed blobs, and nothing of any part is linked
 * before all of it is fetched and verified. */
typedef struct part {
    char *data;
    size_t len;
    char digest[IMG_DIGEST_MAX];
    char mt[128];
    bool strict;
    img_desc *ds; /* config, then the layers */
    json_t **urls; /* per descriptor: its "urls" (borrowed from m), or NULL */
    json_t *m;
    size_t nd;
    char *cfg;
    size_t cl;
    bool cfg_new;
} part;

static void part_free(part *pt)
{
    free(pt->cfg);
    free(pt->ds);
    free(pt->urls);
    json_decref(pt->m);
    free(pt->data);
}

/* The descriptors of an image manifest.  `strict` (the image nrun will
 * run): a valid image manifest; otherwise (another platform, an
 * attestation) only well-formed descriptors: those are kept and pushed,
 * never run.  Takes `data`. */
static int part_init(pull *p, part *pt, char *data, size_t len, const char *digest, const char *mt, bool strict,
                     nr_err *err)
{
    memset(pt, 0, sizeof *pt);
    snprintf(pt->mt, sizeof pt->mt, "%s", mt);
    pt->data = data;
    pt->len = len;
    pt->strict = strict;
    snprintf(pt->digest, sizeof pt->digest, "%s", digest);
    char what[1200];
    snprintf(what, sizeof what, "%s/%s: manifest %s", p->c->host, p->r->repo, digest);
    json_t *m = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *sv = json_object_get(m, "schemaVersion"), *layers = json_object_get(m, "layers");
    int rc = -1;
    if (strict && img_manifest_validate(m, what, err) < 0)
        goto out;
    if (!json_is_object(m) || !json_is_integer(sv) || json_integer_value(sv) != 2 || !json_is_array(layers) ||
        json_array_size(layers) > 500) {
        nr_err_set(err, "%s: not a schemaVersion 2 image manifest", what);
        goto out;
    }
    size_t nl = json_array_size(layers);
    pt->ds = nr_xcalloc(nl + 1, sizeof *pt->ds);
    pt->urls = nr_xcalloc(nl + 1, sizeof *pt->urls);
    pt->nd = nl + 1;
    if (img__desc_parse(json_object_get(m, "config"), &pt->ds[0], what, err) < 0)
        goto out;
    for (size_t i = 0; i < nl; i++)
        if (img__desc_parse(json_array_get(layers, i), &pt->ds[i + 1], what, err) < 0 ||
            img_desc_urls(json_array_get(layers, i), what, &pt->urls[i + 1], err) < 0)
            goto out;
    pt->m = json_incref(m);
    if (pt->ds[0].size > IMG_JSON_MAX) {
        nr_err_set(err, "%s: config of %llu bytes (more than %u)", what, (unsigned long long)pt->ds[0].size,
                   IMG_JSON_MAX);
        goto out;
    }
    rc = 0;
out:
    json_decref(m);
    return rc;
}

/* The config (a strict part's must be valid, with a diff_id per layer,
 * before any layer is worth downloading). */
static int part_config(pull *p, part *pt, nr_err *err)
{
    if (config_get(p, &pt->ds[0], &pt->cfg, &pt->cl, &pt->cfg_new, err) < 0)
        return -1;
    size_t nl = pt->nd - 1;
    if (pt->strict) {
        json_t *cj = json_loadb(pt->cfg, pt->cl, JSON_REJECT_DUPLICATES, NULL);
        char cw[1200];
        snprintf(cw, sizeof cw, "%s/%s: config %s", p->c->host, p->r->repo, pt->ds[0].digest);
        int rc = img_config_validate(cj, cw, err);
        size_t nids = json_array_size(json_object_get(json_object_get(cj, "rootfs"), "diff_ids"));
        json_decref(cj);
        if (rc < 0)
            return -1;
        if (nids != nl)
            return nr_err_set(err, "%s/%s: manifest %s: %zu layers but config %s has %zu diff_ids", p->c->host,
                              p->r->repo, pt->digest, nl, pt->ds[0].digest, nids);
    }
    return 0;
}

/* The layers of every part, each digest once, fetched in one pool. */
typedef struct layers {
    img_desc *d;
    json_t **urls;
    img_blob_writer **staged;
    size_t n;
} layers;

static int layers_fetch(pull *p, part *pts, size_t np, layers *ls, nr_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < np; i++)
        total += pts[i].nd;
    ls->d = nr_xcalloc(total + 1, sizeof *ls->d);
    ls->staged = nr_xcalloc(total + 1, sizeof *ls->staged);
    ls->urls = nr_xcalloc(total + 1, sizeof *ls->urls);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 1; j < pts[i].nd; j++) {
            size_t k = 0;
            while (k < ls->n && strcmp(ls->d[k].digest, pts[i].ds[j].digest))
                k++;
            if (k < ls->n && ls->d[k].size != pts[i].ds[j].size)
                return nr_err_set(err, "%s/%s: layer %s is listed with %llu and %llu bytes", p->c->host, p->r->repo,
                                  ls->d[k].digest, (unsigned long long)ls->d[k].size,
                                  (unsigned long long)pts[i].ds[j].size);
            if (k == ls->n) {
                ls->urls[ls->n] = pts[i].urls[j];
                ls->d[ls->n++] = pts[i].ds[j];
            }
        }
    return blobs_fetch(p, ls->d, ls->urls, ls->staged, ls->n, err);
}

static void layers_free(layers *ls)
{
    for (size_t i = 0; ls->staged && i < ls->n; i++)
        img_blob_writer_abort(ls->staged[i]);
    free(ls->staged);
    free(ls->urls);
    free(ls->d);
}

/* Make the fetched layers visible. */
static int layers_commit(layers *ls, linked *ln, nr_err *err)
{
    for (size_t i = 0; i < ls->n; i++) {
        img_blob_writer *w = steal_ptr(&ls->staged[i]);
        if (!w)
            continue;
        if (img__blob_writer_link(w, err) < 0)
            return -1;
        linked_add(ln, ls->d[i].digest);
    }
    return 0;
}

/* Then a part's config and manifest. */
static int part_commit(pull *p, part *pt, linked *ln, nr_err *err)
{
    if (pt->cfg_new && put_new(p->s, pt->cfg, pt->cl, ln, err) < 0)
        return -1;
    return put_new(p->s, pt->data, pt->len, ln, err);
}

/* Every blob of every part locked at once (locks_take sorts them), so two
 * pulls that share blobs never wait on each other in a circle. */
static int parts_lock(pull *p, part *pts, size_t n, nr_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += pts[i].nd;
    img_desc *all = nr_xcalloc(total + 1, sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < pts[i].nd; j++)
            all[k++] = pts[i].ds[j];
    int rc = locks_take(p, all, total, err);
    free(all);
    return rc;
}

/* --all-platforms: a part for every image the index lists (a digest listed
 * twice once), each manifest fetched by digest and checked against its
 * entry. */
static int index_parts(pull *p, const char *idata, size_t ilen, const char *idigest, part **out, size_t *n_out,
                       nr_err *err)
{
    reg_client *c = p->c;
    char what[1200];
    snprintf(what, sizeof what, "%s/%s: index %s", c->host, p->r->repo, idigest);
    json_t *j = json_loadb(idata, ilen, JSON_REJECT_DUPLICATES, NULL);
    img_index *x = NULL;
    int rc = img_index_parse(j, idigest, what, &x, err);
    json_decref(j);
    if (rc < 0)
        return -1;
    part *pts = nr_xcalloc(x->n + 1, sizeof *pts);
    size_t np = 0;
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        const img_platform *pl = &x->p[i];
        if (pl->dup_of >= 0)
            continue;
        char *data = NULL;
        size_t len;
        char mt[128], digest[IMG_DIGEST_MAX];
        rc = manifest_get(p, pl->manifest.digest, &data, &len, mt, digest, err);
        if (rc == 0 && !is_manifest_type(mt))
            rc = nr_err_set(err, "%s: manifest %s (%s) is a %s, not an image manifest", what, pl->manifest.digest,
                            pl->name, mt);
        if (rc == 0 && len != pl->manifest.size)
            rc = nr_err_set(err, "%s: manifest %s has %zu bytes, not the %llu the index says", what,
                            pl->manifest.digest, len, (unsigned long long)pl->manifest.size);
        if (rc < 0) {
            free(data);
            break;
        }
        rc = part_init(p, &pts[np++], data, len, digest, mt, (int)i == x->chosen, err);
    }
    free(x);
    *out = pts;
    *n_out = np;
    return rc;
}

/* The parts of what the reference names: one image (from an index, its
 * linux/amd64 image), or with --all-platforms every image of an index. */
static int pull_parts(pull *p, char *data, size_t len, const char *mt, const char *digest, part **out, size_t *n_out,
                      nr_err *err)
{
    reg_client *c = p->c;
    const img_regref *r = p->r;
    *out = NULL;
    *n_out = 0;
    if (is_index_type(mt) && c->o->all_platforms)
        return index_parts(p, data, len, digest, out, n_out, err);
    cleanup_free char *own = NULL;
    char md[IMG_DIGEST_MAX], cmt[128];
    snprintf(md, sizeof md, "%s", digest);
    snprintf(cmt, sizeof cmt, "%s", mt);
    if (is_index_type(mt)) {
        char chosen[IMG_DIGEST_MAX];
        uint64_t chosen_size;
        if (index_choose(p, data, len, digest, chosen, &chosen_size, err) < 0)
            return -1;
        if (manifest_get(p, chosen, &own, &len, cmt, md, err) < 0)
            return -1;
        if (!is_manifest_type(cmt))
            return nr_err_set(err, "%s/%s: index %s: manifest %s is a %s, not an image manifest", c->host, r->repo,
                              digest, chosen, cmt);
        if (len != chosen_size)
            return nr_err_set(err, "%s/%s: index %s: manifest %s has %zu bytes, not the %llu the index says",
                              c->host, r->repo, digest, chosen, len, (unsigned long long)chosen_size);
        data = own;
    }
    part *pt = nr_xcalloc(1, sizeof *pt);
    *out = pt;
    *n_out = 1;
    char *copy = nr_xmalloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = 0;
    return part_init(p, pt, copy, len, md, cmt, true, err);
}

static int pull_run(pull *p, linked *ln, img_desc *out, nr_err *err)
{
    snprintf(p->scope, sizeof p->scope, "repository:%s:pull", p->r->repo);
    cleanup_free char *data = NULL;
    size_t len;
    char mt[128], digest[IMG_DIGEST_MAX];
    if (manifest_get(p, p->r->digest[0] ? p->r->digest : p->r->tag, &data, &len, mt, digest, err) < 0)
        return -1;
    part *pts;
    size_t np;
    int rc = pull_parts(p, data, len, mt, digest, &pts, &np, err);
    bool whole = is_index_type(mt) && p->c->o->all_platforms;
    if (rc == 0) {
        snprintf(out->digest, sizeof out->digest, "%s", whole ? digest : pts[0].digest);
        snprintf(out->media_type, sizeof out->media_type, "%s", whole ? mt : "");
        out->size = whole ? len : pts[0].len;
        reg_progress(p->c->o, IMG_PROG_RESOLVED, NULL, 0, 0, out->digest);
        rc = parts_lock(p, pts, np, err);
    }
    for (size_t i = 0; rc == 0 && i < np; i++)
        rc = part_config(p, &pts[i], err);
    layers ls = {0};
    if (rc == 0)
        rc = layers_fetch(p, pts, np, &ls, err);
    /* All there and verified: now, and only now, the store changes. */
    if (rc == 0)
        rc = layers_commit(&ls, ln, err);
    layers_free(&ls);
    for (size_t i = 0; rc == 0 && i < np; i++)
        rc = part_commit(p, &pts[i], ln, err);
    if (rc == 0 && whole)
        rc = put_new(p->s, data, len, ln, err);
    if (rc == 0 && !whole)
        snprintf(out->media_type, sizeof out->media_type, "%s", pts[0].mt);
    for (size_t i = 0; i < np; i++)
        part_free(&pts[i]);
    free(pts);
    if (rc == 0 && p->r->local[0])
        rc = img_tag_set(p->s, p->r->local, out, err);
    return rc;
}

static int pull_from(img_store *s, reg_client *c, const img_regref *r, img_desc *out, nr_err *err)
{
    pull p = {.s = s, .c = c, .r = r};
    linked ln = {0};
    int rc = pull_run(&p, &ln, out, err);
    locks_drop(&p);
    if (rc < 0)
        linked_undo(s, &ln);
    free(ln.d);
    return rc;
}

/* A mirror as Docker writes one: "https://mirror.example" or "host:port". */
static char *mirror_base(const char *m)
{
    if (!strncmp(m, "http://", 7) || !strncmp(m, "https://", 8))
        return nr_xstrdup(m);
    return img_reg_host_loopback(m) ? nr_xasprintf("http://%s", m) : nr_xasprintf("https://%s", m);
}

int img_reg_pull(img_store *s, const char *ref, const img_reg_opts *o, img_desc *manifest_out, char *from_out,
                 size_t from_len, nr_err *err)
{
    img_regref r;
    if (img_regref_parse(ref, &r, err) < 0)
        return -1;
    img_desc d;
    if (!strcmp(r.host, IMG_REG_DOCKER_HUB)) {
        for (size_t i = 0; i < o->n_mirrors; i++) {
            cleanup_free char *base = mirror_base(o->mirrors[i]);
            reg_client *c = NULL;
            int rc = reg_client_open(o->mirrors[i], base, o, &c, err);
            if (rc == 0)
                rc = pull_from(s, c, &r, &d, err);
            reg_client_free(c);
            if (rc == 0) {
                if (from_out)
                    snprintf(from_out, from_len, "%s", o->mirrors[i]);
                goto done;
            }
            char note[1200];
            snprintf(note, sizeof note, "mirror %s: %s; trying the next", o->mirrors[i], err->msg);
            reg_progress(o, IMG_PROG_NOTE, NULL, 0, 0, note);
        }
    }
    if (!strcmp(r.host, IMG_REG_DOCKER_HUB) && o->mirrors_only) {
        if (!o->n_mirrors)
            return nr_err_set(err, "%s: no registry mirror configured", ref);
        return -1; /* err holds the last mirror's failure */
    }
    reg_client *c;
    if (reg_client_open(r.host, NULL, o, &c, err) < 0)
        return -1;
    int rc = pull_from(s, c, &r, &d, err);
    reg_client_free(c);
    if (rc < 0)
        return -1;
    if (from_out)
        snprintf(from_out, from_len, "%s", r.host);
done:
    if (manifest_out)
        *manifest_out = d;
    return 0;
}
