/* nrun push: each blob the registry lacks (HEAD) is mounted from another
 * repository of the same registry that the image is tagged under, when the
 * registry offers that, or uploaded (one monolithic PUT; PATCH chunks when
 * the registry refuses it); then the manifest with its media type.  A
 * multi-platform image goes as it came: every image, then the index.  A tag
 * (or digest) that already names the image ends the push after one HEAD. */
#include "images/reg_int.h"
#include "images/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define CHUNK_SIZE (8u << 20)

typedef struct push {
    img_store *s;
    reg_client *c;
    img_regref r;
    char scope[IMG_NAME_MAX + 32];
    char **mount_from; /* other repositories of this registry that hold the image */
    size_t n_mount;
} push;

/* Remove "." and ".." segments from the path that starts at b->data[from]
 * and ends at the query (RFC 3986 5.2.4); ".." never climbs above "/". */
static void remove_dots(nr_buf *b, size_t from)
{
    size_t end = from + strcspn(b->data + from, "?#");
    cleanup_free char *rest = nr_xstrdup(b->data + end);
    char *path = nr_xstrndup(b->data + from, end - from);
    size_t o = from;
    for (char *seg = path; seg && *seg;) {
        char *next = strchr(seg + 1, '/'); /* seg starts with '/' */
        size_t len = next ? (size_t)(next - seg) : strlen(seg);
        if ((len == 2 && !strncmp(seg, "/.", 2)) || (len == 3 && !strncmp(seg, "/..", 3))) {
            if (len == 3)
                while (o > from && b->data[--o] != '/')
                    ;
            if (!next) { /* a trailing "." or "..": the directory itself */
                b->data[o++] = '/';
            }
        } else {
            memmove(b->data + o, seg, len);
            o += len;
        }
        seg = next;
    }
    free(path);
    b->len = o;
    b->data[o] = 0;
    nr_buf_addstr(b, rest);
}

/* An upload Location as an absolute URL: an absolute one as it is, any
 * relative reference (RFC 7231: "/v2/...", "uploads/x", "../x", "?state")
 * resolved against the URL of the request it answered (RFC 3986 5.2). */
static int upload_url(push *p, const char *req_url, const char *loc, const char *digest, char *out, size_t outlen,
                      nr_err *err)
{
    nr_buf b = {0};
    const char *hs = strstr(req_url, "://");
    size_t origin = hs ? (size_t)(hs + 3 - req_url) + strcspn(hs + 3, "/?#") : 0;
    size_t path_end = origin + strcspn(req_url + origin, "?#");
    if (!strncmp(loc, "https://", 8) || !strncmp(loc, "http://", 7)) {
        nr_buf_addstr(&b, loc);
    } else if (!hs || !loc[0] || loc[strcspn(loc, ":/?#")] == ':') {
        /* no base to resolve against, empty, or another scheme ("file:...") */
        return nr_err_set(err, "%s/%s: upload reply has no usable Location", p->c->host, p->r.repo);
    } else if (!strncmp(loc, "//", 2)) {
        nr_buf_addf(&b, "%.*s%s", (int)(hs - req_url + 1), req_url, loc);
    } else {
        if (loc[0] == '/') {
            nr_buf_addf(&b, "%.*s%s", (int)origin, req_url, loc);
        } else if (loc[0] == '?') {
            nr_buf_addf(&b, "%.*s%s", (int)path_end, req_url, loc);
        } else {
            size_t dir = path_end;
            while (dir > origin && req_url[dir - 1] != '/')
                dir--;
            nr_buf_addf(&b, "%.*s%s%s", (int)dir, req_url, dir == origin ? "/" : "", loc);
        }
        remove_dots(&b, origin);
    }
    if (digest)
        nr_buf_addf(&b, "%cdigest=%s", strchr(b.data, '?') ? '&' : '?', digest);
    nr_buf_add(&b, "", 1);
    int rc = 0;
    if (b.len >= outlen || strpbrk(b.data, " \r\n"))
        rc = nr_err_set(err, "%s/%s: upload Location is not a usable URL", p->c->host, p->r.repo);
    else
        snprintf(out, outlen, "%s", b.data);
    nr_buf_free(&b);
    return rc;
}

static int location_cut(push *p, nr_err *err)
{
    return nr_err_set(err, "%s/%s: upload Location is longer than %d bytes: refused", p->c->host, p->r.repo,
                      IMG_HTTP_LOCATION_MAX - 1);
}

typedef struct up_src {
    push *p;
    const img_desc *d;
    img_blob_reader *rd;
    uint64_t sent, shown;
} up_src;

static ssize_t up_read(void *arg, void *buf, size_t len, nr_err *err)
{
    up_src *u = arg;
    ssize_t n = img_blob_reader_read(u->rd, buf, len, err);
    if (n > 0) {
        u->sent += (uint64_t)n;
        if (u->sent - u->shown >= (256u << 10)) {
            u->shown = u->sent;
            reg_progress(u->p->c->o, IMG_PROG_BYTES, u->d->digest, u->sent, u->d->size, NULL);
        }
    }
    return n;
}

static int up_reset(void *arg, nr_err *err)
{
    up_src *u = arg;
    img_blob_reader_close(u->rd);
    u->rd = NULL;
    u->sent = u->shown = 0;
    return img_blob_reader_open(u->p->s, u->d->digest, (int64_t)u->d->size, &u->rd, err);
}

static int start_upload(push *p, img_http *h, const img_desc *d, const char *mount, bool *mounted, char *loc, size_t loclen,
                        nr_err *err)
{
    char url[1200], scope[2 * IMG_NAME_MAX + 64];
    if (mount) {
        snprintf(url, sizeof url, "%s/v2/%s/blobs/uploads/?mount=%s&from=%s", p->c->base, p->r.repo, d->digest, mount);
        snprintf(scope, sizeof scope, "%s repository:%s:pull", p->scope, mount);
    } else {
        snprintf(url, sizeof url, "%s/v2/%s/blobs/uploads/", p->c->base, p->r.repo);
        snprintf(scope, sizeof scope, "%s", p->scope);
    }
    img_http_req rq = {.method = "POST", .url = url};
    img_http_resp rs;
    int rc = reg_request(p->c, h, scope, &rq, NULL, NULL, &rs, err);
    *mounted = false;
    if (rc == 0 && rs.status == 201 && mount) {
        *mounted = true;
    } else if (rc == 0 && rs.status == 202) {
        rc = rs.location_cut ? location_cut(p, err) : upload_url(p, url, rs.location, NULL, loc, loclen, err);
    } else if (rc == 0) {
        char w[1300];
        snprintf(w, sizeof w, "%s/%s: start upload of %s", p->c->host, p->r.repo, d->digest);
        rc = reg_status_error(&rs, w, err);
    }
    img_http_resp_free(&rs);
    return rc;
}

static int put_monolithic(push *p, img_http *h, const img_desc *d, const char *loc, long *status, nr_err *err)
{
    char url[IMG_HTTP_LOCATION_MAX + 200];
    if (upload_url(p, loc, loc, d->digest, url, sizeof url, err) < 0)
        return -1;
    up_src u = {.p = p, .d = d};
    if (img_blob_reader_open(p->s, d->digest, (int64_t)d->size, &u.rd, err) < 0)
        return -1;
    const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
    img_http_req rq = {.method = "PUT", .url = url, .headers = hdrs, .src = up_read, .src_arg = &u, .src_len = d->size};
    img_http_resp rs;
    int rc = reg_request(p->c, h, p->scope, &rq, up_reset, &u, &rs, err);
    img_blob_reader_close(u.rd);
    *status = rs.status;
    if (rc == 0 && rs.status != 201 && rs.status != 200) {
        char w[1300];
        snprintf(w, sizeof w, "%s/%s: upload of %s", p->c->host, p->r.repo, d->digest);
        rc = reg_status_error(&rs, w, err);
    }
    img_http_resp_free(&rs);
    return rc;
}

/* The chunked upload: PATCH with Content-Range, each reply moving the
 * Location on, then a PUT with the digest and no body. */
static int put_chunked(push *p, img_http *h, const img_desc *d, char *loc, size_t loclen, nr_err *err)
{
    img_blob_reader *rd;
    if (img_blob_reader_open(p->s, d->digest, (int64_t)d->size, &rd, err) < 0)
        return -1;
    char *buf = nr_xmalloc(CHUNK_SIZE);
    uint64_t off = 0;
    int rc = 0;
    for (;;) {
        size_t n = 0;
        while (n < CHUNK_SIZE) {
            ssize_t r = img_blob_reader_read(rd, buf + n, CHUNK_SIZE - n, err);
            if (r < 0) {
                rc = -1;
                goto out;
            }
            if (r == 0)
                break;
            n += (size_t)r;
        }
        if (n == 0)
            break;
        char url[IMG_HTTP_LOCATION_MAX + 200], range[80];
        if (upload_url(p, loc, loc, NULL, url, sizeof url, err) < 0) {
            rc = -1;
            goto out;
        }
        snprintf(range, sizeof range, "Content-Range: %llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + n - 1));
        const char *hdrs[] = {"Content-Type: application/octet-stream", range, NULL};
        img_http_req rq = {.method = "PATCH", .url = url, .headers = hdrs, .body = buf, .body_len = n};
        img_http_resp rs;
        rc = reg_request(p->c, h, p->scope, &rq, NULL, NULL, &rs, err);
        if (rc == 0 && rs.status != 202) {
            char w[1300];
            snprintf(w, sizeof w, "%s/%s: chunk upload of %s", p->c->host, p->r.repo, d->digest);
            rc = reg_status_error(&rs, w, err);
        }
        if (rc == 0 && rs.location_cut)
            rc = location_cut(p, err);
        else if (rc == 0 && rs.location[0])
            rc = upload_url(p, url, rs.location, NULL, loc, loclen, err);
        img_http_resp_free(&rs);
        if (rc < 0)
            goto out;
        off += n;
        reg_progress(p->c->o, IMG_PROG_BYTES, d->digest, off, d->size, NULL);
    }
    char url[IMG_HTTP_LOCATION_MAX + 200];
    if (upload_url(p, loc, loc, d->digest, url, sizeof url, err) < 0) {
        rc = -1;
        goto out;
    }
    img_http_req rq = {.method = "PUT", .url = url, .body = "", .body_len = 0};
    img_http_resp rs;
    rc = reg_request(p->c, h, p->scope, &rq, NULL, NULL, &rs, err);
    if (rc == 0 && rs.status != 201) {
        char w[1300];
        snprintf(w, sizeof w, "%s/%s: finishing upload of %s", p->c->host, p->r.repo, d->digest);
        rc = reg_status_error(&rs, w, err);
    }
    img_http_resp_free(&rs);
out:
    free(buf);
    img_blob_reader_close(rd);
    return rc;
}

static int blob_exists(push *p, img_http *h, const img_desc *d, bool *yes, nr_err *err)
{
    char url[1200];
    snprintf(url, sizeof url, "%s/v2/%s/blobs/%s", p->c->base, p->r.repo, d->digest);
    img_http_req rq = {.method = "HEAD", .url = url, .follow = true};
    img_http_resp rs;
    int rc = reg_request(p->c, h, p->scope, &rq, NULL, NULL, &rs, err);
    *yes = rc == 0 && rs.status == 200 && (rs.content_length < 0 || (uint64_t)rs.content_length == d->size);
    /* A registry (or a proxy before it) that does not serve HEAD says 405 or
     * 501: the blob is then unknown, and uploading it is what answers. */
    if (rc == 0 && rs.status != 200 && rs.status != 404 && rs.status != 405 && rs.status != 501) {
        char w[1300];
        snprintf(w, sizeof w, "%s/%s: HEAD blob %s", p->c->host, p->r.repo, d->digest);
        rc = reg_status_error(&rs, w, err);
    }
    img_http_resp_free(&rs);
    return rc;
}

static int blob_push(push *p, img_http *h, const img_desc *d, nr_err *err)
{
    bool have;
    if (blob_exists(p, h, d, &have, err) < 0)
        return -1;
    if (have) {
        reg_progress(p->c->o, IMG_PROG_EXISTS, d->digest, d->size, d->size, NULL);
        return 0;
    }
    char loc[IMG_HTTP_LOCATION_MAX] = "";
    bool mounted = false;
    for (size_t i = 0; i < p->n_mount && !loc[0]; i++) {
        nr_err e2;
        if (start_upload(p, h, d, p->mount_from[i], &mounted, loc, sizeof loc, &e2) < 0)
            continue; /* a mount is an optimization: fall back to uploading */
        if (mounted) {
            reg_progress(p->c->o, IMG_PROG_MOUNTED, d->digest, d->size, d->size, p->mount_from[i]);
            return 0;
        }
    }
    if (!loc[0] && start_upload(p, h, d, NULL, &mounted, loc, sizeof loc, err) < 0)
        return -1;
    reg_progress(p->c->o, IMG_PROG_START, d->digest, 0, d->size, NULL);
    long status = 0;
    if (put_monolithic(p, h, d, loc, &status, err) < 0) {
        /* Some registries take uploads only in chunks: 400/405/413/416 say so. */
        if (status != 400 && status != 405 && status != 413 && status != 416)
            return -1;
        char note[1300];
        snprintf(note, sizeof note, "%s: monolithic upload refused (HTTP %ld); uploading in chunks", d->digest, status);
        reg_progress(p->c->o, IMG_PROG_NOTE, NULL, 0, 0, note);
        loc[0] = 0;
        if (start_upload(p, h, d, NULL, &mounted, loc, sizeof loc, err) < 0 ||
            put_chunked(p, h, d, loc, sizeof loc, err) < 0)
            return -1;
    }
    reg_progress(p->c->o, IMG_PROG_DONE, d->digest, d->size, d->size, NULL);
    return 0;
}

typedef struct push_set {
    push *p;
    const img_desc *ds;
} push_set;

static int push_one(void *arg, img_http *h, size_t i, nr_err *err)
{
    push_set *ps = arg;
    return blob_push(ps->p, h, &ps->ds[i], err);
}

/* Layers and config, o->parallel at a time, each thread with its own
 * connection. */
static int blobs_push(push *p, const img_desc *ds, size_t n, nr_err *err)
{
    push_set ps = {.p = p, .ds = ds};
    return reg_each_parallel(p->c, n, push_one, &ps, err);
}

/* Does `ref` (a tag, or a digest) already name the stored manifest or index
 * `d` in the registry?  Then the registry holds every blob it lists too: a
 * registry accepts a manifest only when its blobs are in the repository
 * (distribution answers MANIFEST_BLOB_UNKNOWN otherwise), so a no-change push
 * needs this one HEAD, not one per blob. */
static bool manifest_there(push *p, const img_desc *d, const char *ref)
{
    char url[1200], accept[200];
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", p->c->base, p->r.repo, ref);
    snprintf(accept, sizeof accept, "Accept: %s", d->media_type);
    const char *hh[] = {accept, NULL};
    img_http_req hq = {.method = "HEAD", .url = url, .headers = hh};
    img_http_resp hs;
    nr_err e2;
    bool same = reg_request(p->c, p->c->h, p->scope, &hq, NULL, NULL, &hs, &e2) == 0 && hs.status == 200 &&
                !strcmp(hs.docker_digest, d->digest);
    img_http_resp_free(&hs);
    return same;
}

/* PUT the stored manifest or index `d` under `ref` (a tag, or its digest). */
static int manifest_put(push *p, const img_desc *d, const char *ref, img_desc *out, nr_err *err)
{
    cleanup_free char *data = NULL;
    size_t len;
    if (img_blob_read(p->s, d->digest, IMG_REG_MANIFEST_MAX, &data, &len, err) < 0)
        return -1;
    char url[1200], ct[200];
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", p->c->base, p->r.repo, ref);
    snprintf(ct, sizeof ct, "Content-Type: %s", d->media_type);
    const char *hdrs[] = {ct, NULL};
    img_http_req rq = {.method = "PUT", .url = url, .headers = hdrs, .body = data, .body_len = len};
    img_http_resp rs;
    int rc = reg_request(p->c, p->c->h, p->scope, &rq, NULL, NULL, &rs, err);
    if (rc == 0 && rs.status != 201 && rs.status != 200) {
        char w[1300];
        snprintf(w, sizeof w, "%s/%s: manifest %s", p->c->host, p->r.repo, ref);
        rc = reg_status_error(&rs, w, err);
    }
    if (rc == 0 && rs.docker_digest[0] && strcmp(rs.docker_digest, d->digest)) {
        cleanup_free char *e = nr_escape_controls(rs.docker_digest);
        rc = nr_err_set(err, "%s/%s: registry stored manifest %s as %s", p->c->host, p->r.repo, d->digest, e);
    }
    img_http_resp_free(&rs);
    if (rc == 0)
        *out = *d;
    return rc;
}

/* The config and layers of a stored manifest (any platform's: only the
 * descriptors are read, the image itself is never run). */
static int stored_descs(push *p, const img_desc *m, img_desc **out, size_t *n_out, nr_err *err)
{
    cleanup_free char *data = NULL;
    size_t len;
    if (img_blob_read(p->s, m->digest, IMG_JSON_MAX, &data, &len, err) < 0)
        return nr_err_wrap(err, "manifest %s (push with every platform needs every image of the index)", m->digest);
    json_t *j = json_loadb(data, len, 0, NULL);
    json_t *layers = json_object_get(j, "layers");
    size_t nl = json_array_size(layers);
    img_desc *ds = nr_xcalloc(nl + 1, sizeof *ds);
    char what[128];
    snprintf(what, sizeof what, "manifest %s", m->digest);
    int rc = json_is_array(layers) ? img__desc_parse(json_object_get(j, "config"), &ds[nl], what, err)
                                   : nr_err_set(err, "%s: layers is not an array", what);
    for (size_t i = 0; rc == 0 && i < nl; i++)
        rc = img__desc_parse(json_array_get(layers, i), &ds[i], what, err);
    json_decref(j);
    if (rc < 0) {
        free(ds);
        return -1;
    }
    *out = ds;
    *n_out = nl + 1;
    return 0;
}

/* One image: its blobs, then its manifest under `ref`. */
static int image_push(push *p, const img_desc *m, const char *ref, img_desc *out, nr_err *err)
{
    img_desc *ds = NULL;
    size_t n = 0;
    if (stored_descs(p, m, &ds, &n, err) < 0)
        return -1;
    if (manifest_there(p, m, ref)) {
        /* as docker says of each layer the registry has */
        for (size_t i = 0; i < n; i++)
            reg_progress(p->c->o, IMG_PROG_EXISTS, ds[i].digest, ds[i].size, ds[i].size, NULL);
        *out = *m;
        free(ds);
        return 0;
    }
    int rc = blobs_push(p, ds, n, err);
    if (rc == 0)
        rc = manifest_put(p, m, ref, out, err);
    free(ds);
    return rc;
}

/* A multi-platform image: each image by digest (the index only names them
 * by digest), then the index under the tag with its own media type. */
static int index_push(push *p, const img_image *img, img_desc *out, nr_err *err)
{
    const img_index *x = img->platforms;
    const char *ref = p->r.tag[0] ? p->r.tag : img->index.digest;
    if (manifest_there(p, &img->index, ref)) {
        *out = img->index;
        return 0;
    }
    for (size_t i = 0; i < x->n; i++) {
        img_desc done;
        if (x->p[i].dup_of < 0 && image_push(p, &x->p[i].manifest, x->p[i].manifest.digest, &done, err) < 0)
            return -1;
    }
    return manifest_put(p, &img->index, ref, out, err);
}

int img_reg_push(img_store *s, const char *local_ref, const char *dest_ref, const img_reg_opts *o,
                 img_desc *manifest_out, nr_err *err)
{
    push p = {.s = s};
    if (img_regref_parse(dest_ref ? dest_ref : local_ref, &p.r, err) < 0)
        return -1;
    if (!p.r.tag[0] && !p.r.digest[0])
        return nr_err_set(err, "%s: a push needs a tag", dest_ref ? dest_ref : local_ref);
    img_image *img;
    if (img_image_load(s, local_ref, &img, err) < 0)
        return -1;
    const img_desc *top = img_image_top(img);
    if (p.r.digest[0] && strcmp(p.r.digest, top->digest)) {
        nr_err_set(err, "%s: the image's digest is %s", dest_ref, top->digest);
        img_image_free(img);
        return -1;
    }
    /* Mount sources: the image's other tags in the same registry. */
    for (size_t i = 0; i < img->n_tags; i++) {
        img_regref t;
        nr_err e2;
        if (img_regref_parse(img->tags[i], &t, &e2) == 0 && !strcmp(t.host, p.r.host) && strcmp(t.repo, p.r.repo)) {
            p.mount_from = nr_xrealloc(p.mount_from, (p.n_mount + 1) * sizeof *p.mount_from);
            p.mount_from[p.n_mount++] = nr_xstrdup(t.repo);
        }
    }
    int rc = -1;
    if (reg_client_open(p.r.host, NULL, o, &p.c, err) < 0)
        goto out;
    snprintf(p.scope, sizeof p.scope, "repository:%s:pull,push", p.r.repo);
    reg_progress(o, IMG_PROG_RESOLVED, NULL, 0, 0, top->digest);
    if (img->index.digest[0] ? index_push(&p, img, manifest_out, err) < 0
                             : image_push(&p, &img->manifest, p.r.tag[0] ? p.r.tag : img->manifest.digest,
                                          manifest_out, err) < 0)
        goto out;
    rc = 0;
out:
    reg_client_free(p.c);
    for (size_t i = 0; i < p.n_mount; i++)
        free(p.mount_from[i]);
    free(p.mount_from);
    img_image_free(img);
    return rc;
}

int img_reg_login(const char *host, const img_reg_opts *o, nr_err *err)
{
    if (!o->username)
        return nr_err_set(err, "login: no username");
    reg_client *c;
    if (reg_client_open(host, NULL, o, &c, err) < 0)
        return -1;
    /* The ping accepts a 401 (it only finds how to authenticate); now the
     * credentials must get us in. */
    char url[400];
    snprintf(url, sizeof url, "%s/v2/", c->base);
    img_http_req rq = {.method = "GET", .url = url, .max_body = 65536};
    img_http_resp rs;
    int rc = reg_request(c, c->h, NULL, &rq, NULL, NULL, &rs, err);
    if (rc == 0 && rs.status != 200) {
        char w[300];
        snprintf(w, sizeof w, "login to %s", host);
        rc = reg_status_error(&rs, w, err);
    }
    img_http_resp_free(&rs);
    reg_client_free(c);
    if (rc < 0)
        return -1;
    return reg_creds_store(o, host, o->username, o->password ? o->password : "", err);
}

int img_reg_logout(const char *host, const img_reg_opts *o, nr_err *err)
{
    return reg_creds_erase(o, host, err);
}
