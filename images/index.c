/* Tags: index.json of the store, one manifest descriptor per "name:tag"
 * (annotation org.opencontainers.image.ref.name).  Changed only under the
 * exclusive index lock and rewritten atomically. */
#include "images/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "images/image.h"
#include "images/ref.h"

int img__desc_parse(json_t *j, img_desc *d, const char *what, nr_err *err)
{
    memset(d, 0, sizeof *d);
    if (!json_is_object(j))
        return nr_err_set(err, "%s: descriptor is not a JSON object", what);
    json_t *mt = json_object_get(j, "mediaType");
    json_t *dg = json_object_get(j, "digest");
    json_t *sz = json_object_get(j, "size");
    if (!json_is_string(mt) || json_string_length(mt) >= sizeof d->media_type || json_string_length(mt) == 0)
        return nr_err_set(err, "%s: mediaType is missing or not a short string", what);
    if (!json_is_string(dg) || !img_digest_valid(json_string_value(dg)))
        return nr_err_set(err, "%s: digest is missing or not sha256:<64 hex>", what);
    if (!json_is_integer(sz) || json_integer_value(sz) < 0)
        return nr_err_set(err, "%s: size is missing or not a non-negative integer", what);
    snprintf(d->media_type, sizeof d->media_type, "%s", json_string_value(mt));
    snprintf(d->digest, sizeof d->digest, "%s", json_string_value(dg));
    d->size = (uint64_t)json_integer_value(sz);
    return 0;
}

json_t *img__desc_json(const img_desc *d)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", d->digest, "size", (json_int_t)d->size);
}

static const char *ref_name_of(json_t *desc)
{
    json_t *a = json_object_get(desc, "annotations");
    json_t *n = json_object_get(a, IMG_ANNOT_REF_NAME);
    return json_is_string(n) ? json_string_value(n) : NULL;
}

int img__index_load(img_store *s, json_t **out, nr_err *err)
{
    cleanup_free char *data = NULL;
    size_t len;
    if (nr_read_file(s->root_fd, "index.json", IMG_JSON_MAX, &data, &len, err) < 0)
        return nr_err_wrap(err, "store %s", s->root);
    json_error_t je;
    json_t *idx = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!idx)
        return nr_err_set(err, "%s/index.json:%d:%d: %s", s->root, je.line, je.column, je.text);
    json_t *m = json_object_get(idx, "manifests");
    json_t *sv = json_object_get(idx, "schemaVersion");
    if (!json_is_object(idx) || !json_is_integer(sv) || json_integer_value(sv) != 2 || !json_is_array(m)) {
        json_decref(idx);
        return nr_err_set(err, "%s/index.json: not an OCI image index (schemaVersion 2 with a manifests array)", s->root);
    }
    size_t i;
    json_t *v;
    json_array_foreach(m, i, v)
    {
        char what[64];
        snprintf(what, sizeof what, "index.json: manifests[%zu]", i);
        img_desc d;
        if (img__desc_parse(v, &d, what, err) < 0) {
            json_decref(idx);
            return nr_err_wrap(err, "store %s", s->root);
        }
        json_t *a = json_object_get(v, "annotations");
        if (a && (!json_is_object(a) ||
                  (json_object_get(a, IMG_ANNOT_REF_NAME) && !json_is_string(json_object_get(a, IMG_ANNOT_REF_NAME))))) {
            json_decref(idx);
            return nr_err_set(err, "store %s: %s: annotations must be an object of strings", s->root, what);
        }
    }
    *out = idx;
    return 0;
}

int img__index_load_locked(img_store *s, bool exclusive, int *lk, json_t **out, nr_err *err)
{
    if (img__lock_index(s, exclusive, lk, err) < 0)
        return -1;
    return img__index_load(s, out, err);
}

static int cmp_desc(const void *a, const void *b)
{
    const char *x = ref_name_of(*(json_t *const *)a), *y = ref_name_of(*(json_t *const *)b);
    return strcmp(x ? x : "", y ? y : "");
}

static int index_save(img_store *s, json_t *idx, nr_err *err)
{
    /* Sorted by ref name so the file does not depend on the order of writers. */
    json_t *m = json_object_get(idx, "manifests");
    size_t n = json_array_size(m);
    json_t **v = nr_xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(m, i));
    qsort(v, n, sizeof *v, cmp_desc);
    json_array_clear(m);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(m, v[i]);
    free(v);
    json_object_set_new(idx, "mediaType", json_string(IMG_MT_INDEX));
    cleanup_free char *text = json_dumps(idx, JSON_SORT_KEYS | JSON_COMPACT);
    if (!text)
        return nr_err_set(err, "store %s: cannot serialize index.json", s->root);
    if (img__write_atomic(s->root_fd, "index.json", text, strlen(text), 0644, err) < 0)
        return nr_err_wrap(err, "store %s", s->root);
    return 0;
}

/* Remove entries named `name`; returns how many. */
static size_t index_drop(json_t *idx, const char *name)
{
    json_t *m = json_object_get(idx, "manifests");
    size_t removed = 0;
    for (size_t i = 0; i < json_array_size(m);) {
        const char *rn = ref_name_of(json_array_get(m, i));
        if (rn && !strcmp(rn, name)) {
            json_array_remove(m, i);
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}

int img_tag_set(img_store *s, const char *ref, const img_desc *manifest, nr_err *err)
{
    char name[IMG_NAME_MAX + IMG_TAG_MAX];
    if (img_ref_normalize(ref, name, sizeof name, err) < 0)
        return -1;
    /* "sha256:<hex>" parses as repository sha256, but every command that
     * takes an image reads it as an image ID (or a prefix of one): such a
     * tag could never be named again, not even by rmi */
    if (!strncmp(name, "sha256:", 7))
        return nr_err_set(err, "tag %s: a name that reads as an image ID", name);
    if (!img_digest_valid(manifest->digest))
        return nr_err_set(err, "tag %s: invalid manifest digest", name);
    if (!img_blob_exists(s, manifest->digest))
        return img__not_found(err, "tag %s: manifest %s is not in the store", name, manifest->digest);
    cleanup_close int lk = -1;
    json_t *idx;
    if (img__index_load_locked(s, true, &lk, &idx, err) < 0)
        return -1;
    index_drop(idx, name);
    json_t *d = img__desc_json(manifest);
    json_object_set_new(d, "annotations", json_pack("{s:s}", IMG_ANNOT_REF_NAME, name));
    json_array_append_new(json_object_get(idx, "manifests"), d);
    int r = index_save(s, idx, err);
    json_decref(idx);
    return r;
}

int img_tag_remove(img_store *s, const char *ref, nr_err *err)
{
    char name[IMG_NAME_MAX + IMG_TAG_MAX];
    if (img_ref_normalize(ref, name, sizeof name, err) < 0)
        return -1;
    cleanup_close int lk = -1;
    json_t *idx;
    if (img__index_load_locked(s, true, &lk, &idx, err) < 0)
        return -1;
    int r = 0;
    if (index_drop(idx, name) == 0)
        r = img__not_found(err, "no such image: %s", name);
    else
        r = index_save(s, idx, err);
    json_decref(idx);
    return r;
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const img_tag *)a)->ref_name, ((const img_tag *)b)->ref_name);
}

int img_tag_list(img_store *s, img_tag **out, size_t *n_out, nr_err *err)
{
    json_t *idx;
    {
        cleanup_close int lk = -1;
        if (img__index_load_locked(s, false, &lk, &idx, err) < 0)
            return -1;
    }
    json_t *m = json_object_get(idx, "manifests");
    img_tag *t = nr_xcalloc(json_array_size(m) + 1, sizeof *t);
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(m, i, v)
    {
        const char *rn = ref_name_of(v);
        if (!rn)
            continue;
        img__desc_parse(v, &t[n].manifest, "index.json", err); /* validated by img__index_load */
        t[n].ref_name = nr_xstrdup(rn);
        n++;
    }
    json_decref(idx);
    qsort(t, n, sizeof *t, cmp_tag);
    *out = t;
    *n_out = n;
    return 0;
}

void img_tag_list_free(img_tag *tags, size_t n)
{
    if (!tags)
        return;
    for (size_t i = 0; i < n; i++)
        free(tags[i].ref_name);
    free(tags);
}
