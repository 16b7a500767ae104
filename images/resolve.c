/* Resolving a reference (tag, digest, short ID) to a loaded, validated image. */
#include "images/store_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "images/image.h"
#include "images/ref.h"

void img_image_free(img_image *img)
{
    if (!img)
        return;
    json_decref(img->manifest_json);
    json_decref(img->config_json);
    free(img->layers);
    free(img->platforms);
    for (size_t i = 0; i < img->n_tags; i++)
        free(img->tags[i]);
    free(img->tags);
    free(img);
}

/* Read a JSON blob, verified against digest and expected size. */
static int load_json_blob(img_store *s, const char *digest, int64_t size, const char *what, json_t **out, nr_err *err)
{
    img_blob_reader *r;
    if (size > (int64_t)IMG_JSON_MAX)
        return nr_err_set(err, "%s %s: size %lld is too large", what, digest, (long long)size);
    if (img_blob_reader_open(s, digest, size, &r, err) < 0)
        return -1;
    nr_buf b = {0};
    char chunk[65536];
    int ret = 0;
    for (;;) {
        ssize_t n = img_blob_reader_read(r, chunk, sizeof chunk, err);
        if (n < 0) {
            ret = -1;
            break;
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > IMG_JSON_MAX) {
            ret = nr_err_set(err, "%s %s is larger than %u bytes", what, digest, IMG_JSON_MAX);
            break;
        }
        nr_buf_add(&b, chunk, (size_t)n);
    }
    img_blob_reader_close(r);
    if (ret == 0) {
        json_error_t je;
        *out = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &je);
        if (!*out)
            ret = nr_err_set(err, "%s %s: invalid JSON at %d:%d: %s", what, digest, je.line, je.column, je.text);
    }
    nr_buf_free(&b);
    return ret;
}

const img_desc *img_image_top(const img_image *img)
{
    return img->index.digest[0] ? &img->index : &img->manifest;
}

/* An index blob: checked, its entries kept in img, and its linux/amd64
 * manifest loaded in its place; *digest then names that manifest. */
static int follow_index(img_store *s, img_image *img, json_t *idx, const char **digest, nr_err *err)
{
    char what[128];
    snprintf(what, sizeof what, "index %s", *digest);
    if (img_index_parse(idx, *digest, what, &img->platforms, err) < 0)
        return -1;
    json_t *mt = json_object_get(idx, "mediaType");
    snprintf(img->index.media_type, sizeof img->index.media_type, "%s",
             json_is_string(mt) ? json_string_value(mt) : IMG_MT_INDEX);
    snprintf(img->index.digest, sizeof img->index.digest, "%s", *digest);
    if (img_blob_size(s, *digest, &img->index.size, err) < 0)
        return -1;
    const img_desc *m = &img->platforms->p[img->platforms->chosen].manifest;
    if (!img_blob_exists(s, m->digest))
        return nr_err_set(err, "index %s: its linux/amd64 manifest %s is not in the store", *digest, m->digest);
    *digest = m->digest;
    return load_json_blob(s, m->digest, (int64_t)m->size, "manifest", &img->manifest_json, err);
}

static int load_digest(img_store *s, const char *digest, int64_t size, img_image **out, nr_err *err)
{
    img_image *img = nr_xcalloc(1, sizeof *img);
    const char *top = digest;
    json_t *j = NULL;
    if (load_json_blob(s, digest, size, "manifest", &j, err) < 0)
        goto fail;
    if (img_json_is_index(j)) {
        int r = follow_index(s, img, j, &digest, err);
        json_decref(j);
        if (r < 0)
            goto fail;
    } else {
        img->manifest_json = j;
    }
    char what[128];
    snprintf(what, sizeof what, "manifest %s", digest);
    if (img_manifest_validate(img->manifest_json, what, err) < 0)
        goto fail;
    json_t *mt = json_object_get(img->manifest_json, "mediaType");
    snprintf(img->manifest.media_type, sizeof img->manifest.media_type, "%s",
             json_is_string(mt) ? json_string_value(mt) : IMG_MT_MANIFEST);
    snprintf(img->manifest.digest, sizeof img->manifest.digest, "%s", digest);
    if (img_blob_size(s, digest, &img->manifest.size, err) < 0)
        goto fail;
    img__desc_parse(json_object_get(img->manifest_json, "config"), &img->config, what, err);
    char cwhat[128];
    snprintf(cwhat, sizeof cwhat, "config %s", img->config.digest);
    if (load_json_blob(s, img->config.digest, (int64_t)img->config.size, "config", &img->config_json, err) < 0 ||
        img_config_validate(img->config_json, cwhat, err) < 0)
        goto fail;
    json_t *layers = json_object_get(img->manifest_json, "layers");
    json_t *ids = json_object_get(json_object_get(img->config_json, "rootfs"), "diff_ids");
    if (json_array_size(layers) != json_array_size(ids)) {
        nr_err_set(err, "image %s: manifest has %zu layers but config %s has %zu diff_ids", digest,
                   json_array_size(layers), img->config.digest, json_array_size(ids));
        goto fail;
    }
    img->n_layers = json_array_size(layers);
    img->layers = nr_xcalloc(img->n_layers + 1, sizeof *img->layers);
    for (size_t i = 0; i < img->n_layers; i++) {
        img__desc_parse(json_array_get(layers, i), &img->layers[i].blob, what, err);
        snprintf(img->layers[i].diff_id, sizeof img->layers[i].diff_id, "%s", json_string_value(json_array_get(ids, i)));
    }
    /* Every tag pointing at this manifest. */
    img_tag *tags;
    size_t nt;
    if (img_tag_list(s, &tags, &nt, err) < 0)
        goto fail;
    img->tags = nr_xcalloc(nt + 1, sizeof *img->tags);
    for (size_t i = 0; i < nt; i++)
        if (!strcmp(tags[i].manifest.digest, top))
            img->tags[img->n_tags++] = nr_xstrdup(tags[i].ref_name);
    img_tag_list_free(tags, nt);
    *out = img;
    return 0;
fail:
    img_image_free(img);
    return -1;
}

int img_image_load_digest(img_store *s, const char *manifest_digest, img_image **out, nr_err *err)
{
    if (!img_digest_valid(manifest_digest))
        return nr_err_set(err, "invalid digest \"%.80s\"", manifest_digest);
    if (!img_blob_exists(s, manifest_digest))
        return img__not_found(err, "no such image: %s", manifest_digest);
    return load_digest(s, manifest_digest, -1, out, err);
}

static bool is_hex(const char *p)
{
    if (!*p)
        return false;
    for (; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            return false;
    return true;
}

/* Config digest of a tagged manifest (reads and verifies the manifest). */
static int config_digest_of(img_store *s, const img_desc *m, char out[IMG_DIGEST_MAX])
{
    nr_err e;
    json_t *j;
    if (load_json_blob(s, m->digest, -1, "manifest", &j, &e) < 0)
        return -1;
    if (img_json_is_index(j)) {
        img_index *x;
        int r = img_index_parse(j, m->digest, "index", &x, &e);
        json_decref(j);
        j = NULL;
        if (r == 0)
            r = load_json_blob(s, x->p[x->chosen].manifest.digest, -1, "manifest", &j, &e);
        free(x);
        if (r < 0)
            return -1;
    }
    img_desc d;
    int r = img__desc_parse(json_object_get(j, "config"), &d, "manifest", &e);
    if (r == 0)
        memcpy(out, d.digest, IMG_DIGEST_MAX);
    json_decref(j);
    return r;
}

/* Find a tagged manifest whose digest or config digest starts with `hex`. */
static int find_by_id(img_store *s, const char *ref, const char *hex, char found[IMG_DIGEST_MAX], nr_err *err)
{
    img_tag *tags;
    size_t nt;
    if (img_tag_list(s, &tags, &nt, err) < 0)
        return -1;
    size_t hl = strlen(hex);
    found[0] = '\0';
    int ret = 0;
    for (size_t i = 0; i < nt && ret == 0; i++) {
        const char *md = tags[i].manifest.digest;
        char cd[IMG_DIGEST_MAX] = "";
        bool hit = !strncmp(img_digest_hex(md), hex, hl);
        if (!hit && config_digest_of(s, &tags[i].manifest, cd) == 0)
            hit = !strncmp(img_digest_hex(cd), hex, hl);
        if (!hit)
            continue;
        if (found[0] && strcmp(found, md))
            ret = nr_err_sys(err, EINVAL, "image ID prefix %s is ambiguous (matches %.19s and %.19s)", ref, found, md);
        memcpy(found, md, IMG_DIGEST_MAX);
    }
    img_tag_list_free(tags, nt);
    if (ret == 0 && !found[0])
        ret = img__not_found(err, "no such image: %s", ref);
    return ret;
}

int img_image_load(img_store *s, const char *ref, img_image **out, nr_err *err)
{
    if (!ref || !*ref)
        return nr_err_set(err, "empty image reference");
    const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
    bool idlike = is_hex(hex) && strlen(hex) <= 64 && (hex != ref || strlen(hex) >= 4);
    if (hex != ref && !idlike)
        return nr_err_set(err, "invalid image ID or digest \"%.80s\"", ref);
    char found[IMG_DIGEST_MAX];
    if (hex == ref || strlen(hex) < 64) {
        img_ref r;
        nr_err perr;
        if (hex == ref && img_ref_parse(ref, &r, &perr) == 0) {
            if (r.digest[0]) {
                if (!img_blob_exists(s, r.digest))
                    return img__not_found(err, "no such image: %s", ref);
                return load_digest(s, r.digest, -1, out, err);
            }
            char name[IMG_NAME_MAX + IMG_TAG_MAX];
            img_ref_format(&r, name, sizeof name);
            img_tag *tags;
            size_t nt;
            if (img_tag_list(s, &tags, &nt, err) < 0)
                return -1;
            int64_t size = -1;
            found[0] = '\0';
            /* A plain OCI layout may name images by tag alone ("1.0"). */
            for (size_t i = 0; i < nt; i++)
                if (!strcmp(tags[i].ref_name, name) || !strcmp(tags[i].ref_name, ref)) {
                    memcpy(found, tags[i].manifest.digest, IMG_DIGEST_MAX);
                    size = (int64_t)tags[i].manifest.size;
                }
            img_tag_list_free(tags, nt);
            if (found[0])
                return load_digest(s, found, size, out, err);
            if (!idlike)
                return img__not_found(err, "no such image: %s", name);
        } else if (!idlike) {
            *err = perr;
            return -1;
        }
        if (find_by_id(s, ref, hex, found, err) < 0)
            return -1;
        return load_digest(s, found, -1, out, err);
    }
    /* A full digest: a manifest blob, or the config digest of a tagged image. */
    char d[IMG_DIGEST_MAX];
    snprintf(d, sizeof d, "sha256:%s", hex);
    nr_err e2;
    if (find_by_id(s, ref, hex, found, &e2) == 0)
        return load_digest(s, found, -1, out, err);
    if (img_blob_exists(s, d))
        return load_digest(s, d, -1, out, err);
    return img__not_found(err, "no such image: %s", ref);
}
