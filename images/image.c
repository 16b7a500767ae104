/* Image config + manifest: validation of what the store holds, writing a new
 * image reproducibly (sorted keys, compact JSON, fixed `created`). */
#include "images/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "images/image.h"

#define MAX_LAYERS 500

/* The layer types pulled and unpacked: OCI and Docker tars, plain or
 * compressed, and the foreign / non-distributable ones (a tar like the
 * others; only where it is fetched from differs, see img_desc_urls). */
static bool layer_media_type_ok(const char *mt)
{
    static const char *const ok[] = {
        IMG_MT_LAYER, IMG_MT_LAYER_GZIP, IMG_MT_LAYER_ZSTD, IMG_MT_DOCKER_LAYER, IMG_MT_DOCKER_LAYER_TAR,
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"};
    for (size_t i = 0; i < NR_ARRAY_LEN(ok); i++)
        if (!strcmp(mt, ok[i]))
            return true;
    return false;
}

int img_desc_urls(json_t *desc, const char *what, json_t **out, nr_err *err)
{
    json_t *u = json_object_get(desc, "urls");
    *out = NULL;
    if (!u || json_is_null(u))
        return 0;
    if (!json_is_array(u) || json_array_size(u) > IMG_DESC_URLS_MAX)
        return nr_err_set(err, "%s: urls is not a list of at most %d URLs", what, IMG_DESC_URLS_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(u, i, v) if (!json_is_string(v) || json_string_length(v) > 2048) return nr_err_set(
        err, "%s: urls[%zu] is not a string of at most 2048 bytes", what, i);
    *out = json_array_size(u) ? u : NULL;
    return 0;
}

int img_manifest_validate(json_t *m, const char *what, nr_err *err)
{
    if (!json_is_object(m))
        return nr_err_set(err, "%s: manifest is not a JSON object", what);
    json_t *sv = json_object_get(m, "schemaVersion");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return nr_err_set(err, "%s: manifest schemaVersion is not 2", what);
    json_t *mt = json_object_get(m, "mediaType");
    if (mt && (!json_is_string(mt) || (strcmp(json_string_value(mt), IMG_MT_MANIFEST) &&
                                       strcmp(json_string_value(mt), IMG_MT_DOCKER_MANIFEST))))
        return nr_err_set(err, "%s: not an image manifest (mediaType %s)", what,
                          json_is_string(mt) ? json_string_value(mt) : "of the wrong type");
    char w[128];
    img_desc d;
    snprintf(w, sizeof w, "%s: config", what);
    if (img__desc_parse(json_object_get(m, "config"), &d, w, err) < 0)
        return -1;
    if (strcmp(d.media_type, IMG_MT_CONFIG) && strcmp(d.media_type, IMG_MT_DOCKER_CONFIG))
        return nr_err_set(err, "%s: unsupported config mediaType %s", what, d.media_type);
    json_t *layers = json_object_get(m, "layers");
    if (!json_is_array(layers))
        return nr_err_set(err, "%s: layers is missing or not an array", what);
    if (json_array_size(layers) > MAX_LAYERS)
        return nr_err_set(err, "%s: more than %d layers", what, MAX_LAYERS);
    size_t i;
    json_t *v;
    json_array_foreach(layers, i, v)
    {
        snprintf(w, sizeof w, "%s: layers[%zu]", what, i);
        if (img__desc_parse(v, &d, w, err) < 0)
            return -1;
        if (!layer_media_type_ok(d.media_type))
            return nr_err_set(err, "%s: unsupported layer mediaType %s", w, d.media_type);
        json_t *urls;
        if (img_desc_urls(v, w, &urls, err) < 0)
            return -1;
    }
    json_t *a = json_object_get(m, "annotations");
    if (a && !json_is_object(a))
        return nr_err_set(err, "%s: annotations is not an object", what);
    return 0;
}

static bool is_string_array(json_t *a)
{
    if (!json_is_array(a))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v)) return false;
    return true;
}

static bool is_object_of(json_t *o, json_type type)
{
    if (!json_is_object(o))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) if (json_typeof(v) != type) return false;
    return true;
}

/* The run config ("config" of the config blob, docker's ContainerConfig). */
static int runconfig_validate(json_t *c, const char *what, nr_err *err)
{
    if (!json_is_object(c))
        return nr_err_set(err, "%s: config is not an object", what);
    static const char *arrays[] = {"Env", "Cmd", "Entrypoint"};
    for (size_t i = 0; i < NR_ARRAY_LEN(arrays); i++) {
        json_t *v = json_object_get(c, arrays[i]);
        if (v && !json_is_null(v) && !is_string_array(v))
            return nr_err_set(err, "%s: config.%s must be an array of strings", what, arrays[i]);
    }
    static const char *strings[] = {"WorkingDir", "User", "StopSignal"};
    for (size_t i = 0; i < NR_ARRAY_LEN(strings); i++) {
        json_t *v = json_object_get(c, strings[i]);
        if (v && !json_is_string(v))
            return nr_err_set(err, "%s: config.%s must be a string", what, strings[i]);
    }
    static const char *sets[] = {"ExposedPorts", "Volumes"};
    for (size_t i = 0; i < NR_ARRAY_LEN(sets); i++) {
        json_t *v = json_object_get(c, sets[i]);
        if (v && !json_is_null(v) && !is_object_of(v, JSON_OBJECT))
            return nr_err_set(err, "%s: config.%s must be an object of {}", what, sets[i]);
    }
    json_t *l = json_object_get(c, "Labels");
    if (l && !json_is_null(l) && !is_object_of(l, JSON_STRING))
        return nr_err_set(err, "%s: config.Labels must be an object of strings", what);
    json_t *h = json_object_get(c, "Healthcheck");
    if (h && !json_is_null(h) && !json_is_object(h))
        return nr_err_set(err, "%s: config.Healthcheck must be an object", what);
    return 0;
}

int img_config_validate(json_t *c, const char *what, nr_err *err)
{
    if (!json_is_object(c))
        return nr_err_set(err, "%s: image config is not a JSON object", what);
    json_t *arch = json_object_get(c, "architecture"), *os = json_object_get(c, "os");
    if (!json_is_string(arch) || !json_is_string(os))
        return nr_err_set(err, "%s: architecture and os must be strings", what);
    json_t *rootfs = json_object_get(c, "rootfs");
    json_t *ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_object(rootfs) || !json_is_string(json_object_get(rootfs, "type")) ||
        strcmp(json_string_value(json_object_get(rootfs, "type")), "layers") || !json_is_array(ids))
        return nr_err_set(err, "%s: rootfs must be {\"type\":\"layers\",\"diff_ids\":[...]}", what);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) if (!json_is_string(v) || !img_digest_valid(json_string_value(v))) return nr_err_set(
        err, "%s: rootfs.diff_ids[%zu] is not sha256:<64 hex>", what, i);
    json_t *rc = json_object_get(c, "config");
    if (rc && !json_is_null(rc) && runconfig_validate(rc, what, err) < 0)
        return -1;
    json_t *cr = json_object_get(c, "created");
    if (cr && !json_is_string(cr))
        return nr_err_set(err, "%s: created must be a string", what);
    json_t *hist = json_object_get(c, "history");
    if (hist && !json_is_null(hist)) {
        if (!json_is_array(hist))
            return nr_err_set(err, "%s: history must be an array", what);
        json_array_foreach(hist, i, v)
        {
            if (!json_is_object(v))
                return nr_err_set(err, "%s: history[%zu] is not an object", what, i);
            json_t *e = json_object_get(v, "empty_layer");
            if (e && !json_is_boolean(e))
                return nr_err_set(err, "%s: history[%zu].empty_layer is not a boolean", what, i);
        }
    }
    return 0;
}

static long long default_created(long long c)
{
    if (c >= 0)
        return c;
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (e && *e) {
        char *end;
        long long v = strtoll(e, &end, 10);
        if (!*end && v >= 0)
            return v;
    }
    return 0;
}

static int history_build(const img_image_spec *spec, const char *created, json_t **out, nr_err *err)
{
    json_t *h = json_array();
    size_t nonempty = 0, i;
    json_t *v;
    if (spec->base_history) {
        if (!json_is_array(spec->base_history)) {
            json_decref(h);
            return nr_err_set(err, "image history: base history is not an array");
        }
        json_array_foreach(spec->base_history, i, v)
        {
            if (!json_is_object(v)) {
                json_decref(h);
                return nr_err_set(err, "image history: base history[%zu] is not an object", i);
            }
            if (!json_is_true(json_object_get(v, "empty_layer")))
                nonempty++;
            json_array_append_new(h, json_deep_copy(v));
        }
    }
    for (i = 0; i < spec->n_history; i++) {
        const img_history_entry *e = &spec->history[i];
        json_t *o = json_pack("{s:s}", "created", created);
        if (e->created_by)
            json_object_set_new(o, "created_by", json_string(e->created_by));
        if (e->comment)
            json_object_set_new(o, "comment", json_string(e->comment));
        if (e->empty_layer)
            json_object_set_new(o, "empty_layer", json_true());
        else
            nonempty++;
        json_array_append_new(h, o);
    }
    if (!spec->base_history && !spec->n_history) {
        for (i = 0; i < spec->n_layers; i++) {
            char by[64];
            snprintf(by, sizeof by, "layer %zu", i + 1);
            json_array_append_new(h, json_pack("{s:s, s:s}", "created", created, "created_by", by));
        }
        nonempty = spec->n_layers;
    }
    if (nonempty != spec->n_layers) {
        json_decref(h);
        return nr_err_set(err, "image history names %zu layers, the image has %zu", nonempty, spec->n_layers);
    }
    *out = h;
    return 0;
}

static int put_json(img_store *s, json_t *j, const char *mt, img_desc *d, nr_err *err)
{
    cleanup_free char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    if (!text)
        return nr_err_set(err, "cannot serialize %s", mt);
    snprintf(d->media_type, sizeof d->media_type, "%s", mt);
    d->size = strlen(text);
    return img_blob_put(s, text, d->size, d->digest, err);
}

int img_image_write(img_store *s, const img_image_spec *spec, img_desc *manifest_out, nr_err *err)
{
    if (spec->n_layers > MAX_LAYERS)
        return nr_err_set(err, "image has %zu layers, at most %d are supported", spec->n_layers, MAX_LAYERS);
    if (spec->config && runconfig_validate(spec->config, "image config", err) < 0)
        return -1;
    if (img_store_hold(s, err) < 0) /* the layers checked below stay until tagged */
        return -1;
    for (size_t i = 0; i < spec->n_layers; i++) {
        const img_layer_desc *l = &spec->layers[i];
        if (!img_digest_valid(l->blob.digest) || !img_digest_valid(l->diff_id))
            return nr_err_set(err, "layer %zu: invalid digest or diff_id", i);
        if (!layer_media_type_ok(l->blob.media_type))
            return nr_err_set(err, "layer %zu: unsupported mediaType %s", i, l->blob.media_type);
        if (!img_blob_exists(s, l->blob.digest))
            return nr_err_set(err, "layer %zu: blob %s is not in the store", i, l->blob.digest);
    }
    char created[64];
    nr_rfc3339(default_created(spec->created), 0, created, sizeof created);
    json_t *history = NULL;
    if (history_build(spec, created, &history, err) < 0)
        return -1;
    json_t *ids = json_array();
    for (size_t i = 0; i < spec->n_layers; i++)
        json_array_append_new(ids, json_string(spec->layers[i].diff_id));
    json_t *cfg = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:o}}", "architecture",
                            spec->architecture ? spec->architecture : "amd64", "os", spec->os ? spec->os : "linux",
                            "created", created, "history", history, "rootfs", "type", "layers", "diff_ids", ids);
    json_object_set_new(cfg, "config", spec->config ? json_deep_copy(spec->config) : json_object());
    if (spec->author)
        json_object_set_new(cfg, "author", json_string(spec->author));
    img_desc cd;
    int r = put_json(s, cfg, IMG_MT_CONFIG, &cd, err);
    json_decref(cfg);
    if (r < 0)
        return -1;
    json_t *layers = json_array();
    for (size_t i = 0; i < spec->n_layers; i++)
        json_array_append_new(layers, img__desc_json(&spec->layers[i].blob));
    json_t *m = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", IMG_MT_MANIFEST, "config",
                          img__desc_json(&cd), "layers", layers);
    if (spec->manifest_annotations && json_object_size(spec->manifest_annotations))
        json_object_set(m, "annotations", spec->manifest_annotations);
    r = put_json(s, m, IMG_MT_MANIFEST, manifest_out, err);
    json_decref(m);
    return r;
}

json_t *img_image_runconfig(const img_image *img)
{
    json_t *c = json_object_get(img->config_json, "config");
    return json_is_object(c) ? c : NULL;
}

uint64_t img_image_size(const img_image *img)
{
    uint64_t n = img->config.size;
    for (size_t i = 0; i < img->n_layers; i++)
        n += img->layers[i].blob.size;
    return n;
}

long long img_image_created(const img_image *img)
{
    const char *s = json_string_value(json_object_get(img->config_json, "created"));
    if (!s)
        return 0;
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return 0;
    long long t = (long long)timegm(&tm);
    if (*rest == '.')
        while (*++rest >= '0' && *rest <= '9')
            ;
    int hh, mm;
    if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d", &hh, &mm) == 2)
        t -= (*rest == '+' ? 1 : -1) * (hh * 3600LL + mm * 60LL);
    return t;
}
