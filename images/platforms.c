/* Image indexes (multi-platform images): the checks every index passes
 * before the store keeps it or a command follows it, wherever it comes from
 * (a registry, an OCI layout, the store itself), and the choice of the one
 * platform nrun runs (linux/amd64).
 *
 * An index is hostile input like any manifest: an entry that is itself an
 * index (nesting, and with it every loop) or names the index's own digest is
 * refused; so are more than IMG_INDEX_MAX entries, a digest listed twice
 * with a different size or media type, and an index with no linux/amd64
 * image.  An entry without a platform is kept (attestations, or an index
 * that does not say): it is copied, never run. */
#include "images/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "images/image.h"

bool img_mt_is_index(const char *mt)
{
    return !strcmp(mt, IMG_MT_INDEX) || !strcmp(mt, IMG_MT_DOCKER_LIST);
}

bool img_mt_is_manifest(const char *mt)
{
    return !strcmp(mt, IMG_MT_MANIFEST) || !strcmp(mt, IMG_MT_DOCKER_MANIFEST);
}

bool img_json_is_index(json_t *j)
{
    json_t *mt = json_object_get(j, "mediaType");
    if (json_is_string(mt))
        return img_mt_is_index(json_string_value(mt));
    return !mt && json_is_array(json_object_get(j, "manifests")) && !json_object_get(j, "layers");
}

/* "os/arch[/variant]" of an entry's platform, "unknown" when it has none. */
static void platform_name(json_t *pl, char *out, size_t len)
{
    json_t *os = json_object_get(pl, "os"), *arch = json_object_get(pl, "architecture");
    json_t *var = json_object_get(pl, "variant");
    if (!json_is_string(os) || !json_is_string(arch)) {
        snprintf(out, len, "unknown");
        return;
    }
    cleanup_free char *o = nr_escape_controls(json_string_value(os));
    cleanup_free char *a = nr_escape_controls(json_string_value(arch));
    cleanup_free char *v = json_is_string(var) ? nr_escape_controls(json_string_value(var)) : NULL;
    snprintf(out, len, "%.40s/%.40s%s%.40s", o, a, v ? "/" : "", v ? v : "");
}

static bool is_amd64(json_t *pl)
{
    json_t *os = json_object_get(pl, "os"), *arch = json_object_get(pl, "architecture");
    return json_is_string(os) && json_is_string(arch) && !strcmp(json_string_value(os), "linux") &&
           !strcmp(json_string_value(arch), "amd64");
}

int img_index_parse(json_t *idx, const char *self_digest, const char *what, img_index **out, nr_err *err)
{
    if (!json_is_object(idx))
        return nr_err_set(err, "%s: index is not a JSON object", what);
    json_t *sv = json_object_get(idx, "schemaVersion");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return nr_err_set(err, "%s: index schemaVersion is not 2", what);
    json_t *ms = json_object_get(idx, "manifests");
    if (!json_is_array(ms))
        return nr_err_set(err, "%s: manifests is not an array", what);
    size_t n = json_array_size(ms);
    if (n == 0)
        return nr_err_set(err, "%s: index lists no manifests", what);
    if (n > IMG_INDEX_MAX)
        return nr_err_set(err, "%s: index lists %zu manifests (at most %d)", what, n, IMG_INDEX_MAX);
    img_index *x = nr_xcalloc(1, sizeof *x + (n + 1) * sizeof x->p[0]);
    x->chosen = -1;
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m)
    {
        char w[512];
        snprintf(w, sizeof w, "%s: manifests[%zu]", what, i);
        img_platform *p = &x->p[i];
        if (img__desc_parse(m, &p->manifest, w, err) < 0)
            goto fail;
        if (self_digest && !strcmp(p->manifest.digest, self_digest)) {
            nr_err_set(err, "%s: points at the index itself", w);
            goto fail;
        }
        if (!img_mt_is_manifest(p->manifest.media_type)) {
            cleanup_free char *e = nr_escape_controls(p->manifest.media_type);
            nr_err_set(err, "%s: is a %s, not an image manifest (nested indexes are not supported)", w, e);
            goto fail;
        }
        json_t *pl = json_object_get(m, "platform");
        if (pl && !json_is_object(pl)) {
            nr_err_set(err, "%s: platform is not an object", w);
            goto fail;
        }
        platform_name(pl, p->name, sizeof p->name);
        p->dup_of = -1;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(x->p[k].manifest.digest, p->manifest.digest))
                continue;
            if (x->p[k].manifest.size != p->manifest.size || strcmp(x->p[k].manifest.media_type, p->manifest.media_type)) {
                nr_err_set(err, "%s: lists %s again (as manifests[%zu]) with another size or media type", w,
                           p->manifest.digest, k);
                goto fail;
            }
            p->dup_of = (int)k;
            break;
        }
        if (x->chosen < 0 && is_amd64(pl))
            x->chosen = (int)i;
        x->n++;
    }
    if (x->chosen < 0) {
        nr_err_set(err, "%s: index has no linux/amd64 image", what);
        goto fail;
    }
    *out = x;
    return 0;
fail:
    free(x);
    return -1;
}
