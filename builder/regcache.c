/* The registry build cache (--cache-to / --cache-from type=registry), as
 * BuildKit's: a fresh CI runner reuses the layers of the last build.
 *
 * The cache is an ordinary OCI image in the registry, so any registry and
 * any tool (skopeo, a registry's GC) handles it: its layers are the build's
 * layers, its config carries the label org.nrun.buildcache.v1, a JSON
 * object {"v":1,"records":[{"key":"<64 hex>","layer":N},...]} mapping the
 * builder's cache keys (the chain hash of a step: base image, every
 * instruction before it, the step's own inputs, see build_int.h) to the
 * layer that step made; {"key":...,"empty":true} records a RUN that
 * changed nothing (of any stage).  mode=min (the default) records the steps of the
 * image built; mode=max every stage's.
 *
 * --cache-from pulls that image through the registry client (every blob's
 * digest and size verified while it streams), checks each recorded layer's
 * diff_id by reading it through, and turns the records into local cache
 * records: the build then finds CACHED steps as it would after a local
 * build.  Anything wrong with the cache (unreachable, hostile, malformed)
 * is a warning and a miss, never a failed build or a layer that is not what
 * its digest says.  The cache image is not left tagged in the store. */
#include <archive.h>
#include <jansson.h>
#include <string.h>

#include "builder/build_int.h"
#include "common/util.h"

#define LABEL "org.nrun.buildcache.v1"
#define RECORDS_MAX 100000

static bool hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Read the whole layer: its blob digest and its diff_id must both match. */
static int layer_verify(img_store *s, const img_layer_desc *l, nr_err *err)
{
    img_layer_reader *r;
    if (img_layer_reader_open(s, l->blob.digest, (int64_t)l->blob.size, l->diff_id, &r, err) < 0)
        return -1;
    struct archive *a = img_layer_reader_archive(r);
    struct archive_entry *e;
    int st;
    while ((st = archive_read_next_header(a, &e)) == ARCHIVE_OK)
        ;
    int rc = st == ARCHIVE_EOF ? img_layer_reader_finish(r, err)
                               : nr_err_set(err, "layer %s: %s", l->blob.digest, archive_error_string(a));
    img_layer_reader_close(r);
    return rc;
}

/* Records of a pulled cache image into the local cache; the count added. */
static int records_import(bld_state *b, const img_image *img, size_t *n_out, nr_err *err)
{
    json_t *cfg = img_image_runconfig(img);
    const char *text = json_string_value(json_object_get(json_object_get(cfg, "Labels"), LABEL));
    if (!text)
        return nr_err_set(err, "not an nbuild cache (no %s label)", LABEL);
    json_error_t je;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    json_t *recs = json_object_get(j, "records");
    if (!json_is_object(j) || json_integer_value(json_object_get(j, "v")) != 1 || !json_is_array(recs)) {
        json_decref(j);
        return nr_err_set(err, "cache records: not {\"v\":1,\"records\":[...]}%s%s", j ? "" : ": ", j ? "" : je.text);
    }
    if (json_array_size(recs) > RECORDS_MAX) {
        json_decref(j);
        return nr_err_set(err, "cache records: more than %d", RECORDS_MAX);
    }
    /* check every record before using any */
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        json_t *li = json_object_get(r, "layer");
        bool empty = json_is_true(json_object_get(r, "empty")) && !li;
        if (!hex64(json_string_value(json_object_get(r, "key"))) ||
            (!empty && (!json_is_integer(li) || json_integer_value(li) < 0 ||
                        (size_t)json_integer_value(li) >= img->n_layers))) {
            json_decref(j);
            return nr_err_set(err,
                              "cache records: record %zu is not {\"key\":<64 hex>,\"layer\":<0..%zu>} "
                              "or {\"key\":<64 hex>,\"empty\":true}",
                              i, img->n_layers ? img->n_layers - 1 : 0);
        }
    }
    char *checked = nr_xcalloc(img->n_layers + 1, 1);
    int rc = 0;
    *n_out = 0;
    json_array_foreach(recs, i, r) {
        if (!json_object_get(r, "layer")) {
            bld_cache_empty_put(b, json_string_value(json_object_get(r, "key")));
            ++*n_out;
            continue;
        }
        size_t li = (size_t)json_integer_value(json_object_get(r, "layer"));
        const img_layer_desc *l = &img->layers[li];
        if (strcmp(l->blob.media_type, IMG_MT_LAYER_GZIP) && strcmp(l->blob.media_type, IMG_MT_LAYER_ZSTD))
            continue; /* a layer type our cache does not record: a miss */
        if (!checked[li]) {
            if ((rc = layer_verify(b->s, l, err)) < 0)
                break;
            checked[li] = 1;
        }
        bld_cache_put(b, json_string_value(json_object_get(r, "key")), l);
        ++*n_out;
    }
    free(checked);
    json_decref(j);
    return rc;
}

/* The cache borrows a local tag to pull or push: what it named before
 * (NULL: nothing), and putting that back after (the tag removed when it
 * named nothing and the cache set it). */
static img_image *tag_save(bld_state *b, const char *local)
{
    img_image *old;
    nr_err e;
    return img_image_load(b->s, local, &old, &e) == 0 ? old : NULL;
}

static void tag_restore(bld_state *b, const char *local, img_image *old, bool was_set)
{
    nr_err e;
    if (old)
        img_tag_set(b->s, local, img_image_top(old), &e);
    else if (was_set)
        img_tag_remove(b->s, local, &e);
    img_image_free(old);
}

int bld_regcache_import(bld_state *b, const char *ref, nr_err *err)
{
    img_regref rr;
    if (img_regref_parse(ref, &rr, err) < 0)
        return -1;
    /* the pull tags the cache image: put the tag back as it was after */
    img_image *old = tag_save(b, rr.local);
    img_desc m;
    int rc = img_reg_pull(b->s, ref, b->o->reg, &m, NULL, 0, err);
    tag_restore(b, rr.local, old, rc == 0);
    if (rc < 0)
        return -1;
    img_image *img;
    if (img_image_load_digest(b->s, m.digest, &img, err) < 0)
        return -1;
    size_t n = 0;
    rc = records_import(b, img, &n, err);
    if (rc == 0 && b->o->progress)
        fprintf(b->o->progress, "CACHE FROM %s: %zu steps, %zu layers\n", ref, n, img->n_layers);
    img_image_free(img);
    return rc;
}

int bld_regcache_export(bld_state *b, const char *ref, bool max, nr_err *err)
{
    img_regref rr;
    if (img_regref_parse(ref, &rr, err) < 0)
        return -1;
    if (!rr.tag[0])
        return nr_err_set(err, "--cache-to %s: needs a tag", ref);
    bld_stage *st = &b->stages[b->target];
    bld_step **v = max ? b->steps : st->layers + st->n_base_layers;
    size_t nv = max ? b->n_steps : st->n_layers - st->n_base_layers;
    img_layer_desc *ls = nr_xcalloc(nv + 1, sizeof *ls);
    size_t nl = 0;
    json_t *recs = json_array();
    for (size_t i = 0; i < nv; i++) {
        const bld_step *s = v[i];
        if (!s->done || !hex64(s->key) || !s->layer.blob.digest[0])
            continue;
        size_t li = 0;
        while (li < nl && strcmp(ls[li].blob.digest, s->layer.blob.digest))
            li++;
        if (li == nl)
            ls[nl++] = s->layer;
        json_array_append_new(recs, json_pack("{s:s,s:I}", "key", s->key, "layer", (json_int_t)li));
    }
    for (size_t i = 0; i < b->n_empty_keys; i++)
        json_array_append_new(recs, json_pack("{s:s,s:b}", "key", b->empty_keys[i], "empty", 1));
    size_t nrec = json_array_size(recs);
    json_t *lab = json_pack("{s:i,s:o}", "v", 1, "records", recs);
    char *text = json_dumps(lab, JSON_COMPACT);
    json_decref(lab);
    json_t *config = json_pack("{s:{s:s}}", "Labels", LABEL, text);
    free(text);
    img_image_spec spec = {.config = config, .layers = ls, .n_layers = nl, .created = -1};
    img_desc m;
    int rc = img_image_write(b->s, &spec, &m, err);
    json_decref(config);
    free(ls);
    if (rc < 0)
        return -1;
    /* push goes by a tag: lend it the cache's name, then put that back */
    img_image *old = tag_save(b, rr.local);
    img_desc pd;
    rc = img_tag_set(b->s, rr.local, &m, err);
    if (rc == 0)
        rc = img_reg_push(b->s, rr.local, ref, b->o->reg, &pd, err);
    tag_restore(b, rr.local, old, true);
    if (rc == 0 && b->o->progress)
        fprintf(b->o->progress, "CACHE TO %s: %zu steps, %zu layers\n", ref, nrec, nl);
    return rc;
}
