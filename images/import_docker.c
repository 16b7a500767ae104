/* docker-archive: `docker save` before Docker 25, skopeo's and podman's
 * docker-archive:.  manifest.json lists each image as a config file and
 * layer files named by path; the files were staged by content as the
 * archive went by.  Each image gets an OCI manifest written here (layer
 * media type from the blob's first bytes); an uncompressed layer must be the
 * diff_id its config names, a compressed one is checked when it is unpacked,
 * as after a pull. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "images/import_int.h"

#define DOCKER_IMAGES_MAX 64
#define DOCKER_FILES_MAX 1024

/* `in` made relative to the archive's top ("./a/../b.tar" -> "b.tar");
 * -1 when it climbs above it or does not fit. */
static int norm_path(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    while (*in) {
        size_t l = strcspn(in, "/");
        if (l == 2 && !strncmp(in, "..", 2)) {
            if (!n)
                return -1;
            while (n && out[n - 1] != '/')
                n--;
            if (n)
                n--;
            out[n] = 0;
        } else if (l && !(l == 1 && in[0] == '.')) {
            if (n + !!n + l + 1 > outlen)
                return -1;
            if (n)
                out[n++] = '/';
            memcpy(out + n, in, l);
            n += l;
            out[n] = 0;
        }
        in += l;
        while (*in == '/')
            in++;
    }
    return n ? 0 : -1;
}

/* The staged blob of the archive file `path` (through at most 8 links). */
static staged *docker_file(imp *im, const char *path, const char *what, nr_err *err)
{
    char p[1024];
    if (norm_path(path, p, sizeof p) < 0) {
        cleanup_free char *e = nr_escape_controls(path);
        nr_err_set(err, "%s: \"%.200s\" is not a path inside the archive", what, e);
        return NULL;
    }
    for (int depth = 0; depth < 8; depth++) {
        dfile *hit = NULL;
        for (size_t i = 0; i < im->n_df && !hit; i++)
            if (!strcmp(im->df[i].path, p))
                hit = &im->df[i];
        if (!hit && !strncmp(p, "blobs/sha256/", 13) && strlen(p) == 13 + 64) {
            char d[IMG_DIGEST_MAX];
            snprintf(d, sizeof d, "sha256:%.64s", p + 13);
            staged *st = img__imp_find(im, d);
            if (st)
                return st;
        }
        if (!hit)
            break;
        if (!hit->link)
            return img__imp_find(im, hit->digest);
        snprintf(p, sizeof p, "%s", hit->link);
    }
    cleanup_free char *e = nr_escape_controls(path);
    nr_err_set(err, "%s: \"%.200s\" is not a file of the archive", what, e);
    return NULL;
}

/* A blob made here (the OCI manifest of a docker-archive image), staged. */
static int stage_bytes(imp *im, char *data, size_t len, char digest[IMG_DIGEST_MAX], nr_err *err)
{
    img_blob_writer *w;
    if (img_blob_writer_new(im->s, &w, err) < 0)
        return -1;
    if (img_blob_writer_write(w, data, len, err) < 0 || img__blob_writer_finish(w, digest, NULL, err) < 0) {
        img_blob_writer_abort(w);
        return -1;
    }
    if (img__imp_find(im, digest)) {
        img_blob_writer_abort(w);
        free(data);
        return 0;
    }
    if (im->n == im->cap) {
        im->cap = im->cap ? im->cap * 2 : 16;
        im->b = nr_xrealloc(im->b, im->cap * sizeof *im->b);
    }
    staged *st = &im->b[im->n++];
    memset(st, 0, sizeof *st);
    memcpy(st->digest, digest, IMG_DIGEST_MAX);
    st->w = w;
    st->size = len;
    st->data = data;
    return 0;
}

static const char *layer_type(const staged *st)
{
    if (st->size >= 2 && st->magic[0] == 0x1f && st->magic[1] == 0x8b)
        return IMG_MT_LAYER_GZIP;
    if (st->size >= 4 && !memcmp(st->magic, "\x28\xb5\x2f\xfd", 4))
        return IMG_MT_LAYER_ZSTD;
    return IMG_MT_LAYER;
}

/* One manifest.json entry: its OCI manifest, staged and checked as an
 * imported layout's would be. */
static int docker_image(imp *im, json_t *v, const char *what, img_desc *md, nr_err *err)
{
    json_t *cp = json_object_get(v, "Config"), *lp = json_object_get(v, "Layers");
    if (!json_is_object(v) || !json_is_string(cp) || !json_is_array(lp) || json_array_size(lp) > 500)
        return nr_err_set(err, "%s: not {\"Config\": PATH, \"Layers\": [PATH, ...]} (at most 500 layers)", what);
    staged *cs = docker_file(im, json_string_value(cp), what, err);
    if (!cs)
        return -1;
    if (!cs->data)
        return nr_err_set(err, "%s: config %s is too large", what, cs->digest);
    json_error_t je;
    json_t *c = json_loadb(cs->data, cs->size, JSON_REJECT_DUPLICATES, &je);
    if (!c)
        return nr_err_set(err, "%s: config %s: invalid JSON at %d:%d: %s", what, cs->digest, je.line, je.column,
                          img__imp_json_reason(&je));
    json_t *ids = json_object_get(json_object_get(c, "rootfs"), "diff_ids");
    int r = img_config_validate(c, what, err);
    if (r == 0 && json_array_size(ids) != json_array_size(lp))
        r = nr_err_set(err, "%s: %zu layers, its config has %zu diff_ids", what, json_array_size(lp),
                       json_array_size(ids));
    json_t *layers = json_array();
    size_t j;
    json_t *l;
    json_array_foreach(lp, j, l)
    {
        staged *ls = NULL;
        if (r == 0 && !json_is_string(l))
            r = nr_err_set(err, "%s: Layers[%zu] is not a path", what, j);
        if (r == 0 && !(ls = docker_file(im, json_string_value(l), what, err)))
            r = -1;
        if (r < 0)
            break;
        const char *mt = layer_type(ls), *id = json_string_value(json_array_get(ids, j));
        if (!strcmp(mt, IMG_MT_LAYER) && strcmp(ls->digest, id)) {
            r = nr_err_set(err, "%s: layer %s hashes to %s, its config's diff_id is %s", what, json_string_value(l),
                           ls->digest, id);
            break;
        }
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", ls->digest, "size",
                                                (json_int_t)ls->size));
    }
    json_decref(c);
    if (r < 0) {
        json_decref(layers);
        return -1;
    }
    json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType", IMG_MT_MANIFEST,
                          "config", "mediaType", IMG_MT_CONFIG, "digest", cs->digest, "size", (json_int_t)cs->size,
                          "layers", layers);
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    memset(md, 0, sizeof *md);
    snprintf(md->media_type, sizeof md->media_type, "%s", IMG_MT_MANIFEST);
    md->size = strlen(text);
    if (stage_bytes(im, text, md->size, md->digest, err) < 0) {
        free(text);
        return -1;
    }
    return img__imp_check_manifest(im, md, true, what, err);
}

int img__imp_docker_finish(imp *im, const char *repo, img_import_cb cb, void *arg, nr_err *err)
{
    json_error_t je;
    json_t *list = json_loadb(im->docker, im->docker_len, JSON_REJECT_DUPLICATES, &je);
    if (!list)
        return nr_err_set(err, "%s: manifest.json:%d:%d: %s", im->src, je.line, je.column, img__imp_json_reason(&je));
    int ret = -1;
    found *f = NULL;
    size_t nf = 0, i, n = json_array_size(list);
    json_t *v;
    if (!json_is_array(list) || n == 0 || n > DOCKER_IMAGES_MAX) {
        nr_err_set(err, "%s: manifest.json is not a list of 1 to %d images", im->src, DOCKER_IMAGES_MAX);
        goto out;
    }
    json_array_foreach(list, i, v)
    {
        char what[256];
        snprintf(what, sizeof what, "%s: manifest.json[%zu]", im->src, i);
        img_desc md;
        if (docker_image(im, v, what, &md, err) < 0)
            goto out;
        json_t *tags = json_object_get(v, "RepoTags");
        if (tags && !json_is_null(tags) && (!json_is_array(tags) || json_array_size(tags) > DOCKER_IMAGES_MAX)) {
            nr_err_set(err, "%s: RepoTags is not a list of at most %d names", what, DOCKER_IMAGES_MAX);
            goto out;
        }
        size_t nt = json_array_size(tags);
        f = nr_xrealloc(f, (nf + nt + 1) * sizeof *f);
        for (size_t t = 0; t < (nt ? nt : 1); t++) {
            json_t *name = json_array_get(tags, t);
            if (nt && !json_is_string(name)) {
                nr_err_set(err, "%s: RepoTags[%zu] is not a string", what, t);
                goto out;
            }
            /* tag_for reads a name as an OCI ref.name annotation; a Docker
             * Hub name in the short form docker load shows (skopeo writes
             * docker.io/library/x:1), so that it is the name nrun run x:1 finds */
            const char *rn = nt ? img__imp_familiar(json_string_value(name)) : NULL;
            json_t *desc = rn ? json_pack("{s:{s:s}}", "annotations", IMG_ANNOT_REF_NAME, rn) : json_object();
            f[nf] = (found){.m = md, .amd64 = true};
            int r = img__imp_tag_for(im, desc, repo, n, &f[nf].name, err);
            json_decref(desc);
            nf++;
            if (r < 0)
                goto out;
        }
    }
    ret = img__imp_link_and_tag(im, f, nf, cb, arg, err);
out:
    for (i = 0; i < nf; i++)
        free(f[i].name);
    free(f);
    json_decref(list);
    return ret;
}

int img__imp_docker_agree(imp *im, nr_err *err)
{
    json_error_t je;
    json_t *list = json_loadb(im->docker, im->docker_len, JSON_REJECT_DUPLICATES, &je);
    if (!list)
        return nr_err_set(err, "%s: manifest.json:%d:%d: %s", im->src, je.line, je.column, img__imp_json_reason(&je));
    int r = 0;
    size_t i, n = json_array_size(list);
    json_t *v;
    if (!json_is_array(list) || n == 0 || n > DOCKER_IMAGES_MAX)
        r = nr_err_set(err, "%s: manifest.json is not a list of 1 to %d images", im->src, DOCKER_IMAGES_MAX);
    json_array_foreach(list, i, v)
    {
        char what[256];
        snprintf(what, sizeof what, "%s: manifest.json[%zu]", im->src, i);
        json_t *cp = json_object_get(v, "Config");
        staged *cs = NULL;
        if (r == 0 && !json_is_string(cp))
            r = nr_err_set(err, "%s: not {\"Config\": PATH, ...}", what);
        if (r == 0 && !(cs = docker_file(im, json_string_value(cp), what, err)))
            r = -1;
        if (r < 0)
            break;
        size_t k = 0;
        while (k < im->n_cfg && strcmp(im->cfg[k], cs->digest))
            k++;
        if (k == im->n_cfg) {
            r = nr_err_set(err, "%s: config %s is of no image index.json names: refused", what, cs->digest);
            break;
        }
    }
    json_decref(list);
    return r;
}

/* An archive entry outside the OCI layout: manifest.json is kept, a file
 * a docker-archive names (a config *.json, a layer *.tar) staged by
 * content, a link to one remembered; anything else is skipped. */
int img__imp_docker_entry(imp *im, const char *file, const char *p, struct archive *a, struct archive_entry *e,
                        nr_err *err)
{
    size_t n = strlen(p);
    bool manifest = !strcmp(p, "manifest.json");
    bool json = !manifest && n > 5 && !strcmp(p + n - 5, ".json");
    bool tar = n > 4 && !strcmp(p + n - 4, ".tar");
    if (!manifest && !json && !tar)
        return 0;
    unsigned type = archive_entry_filetype(e);
    const char *hl = archive_entry_hardlink(e);
    char np[1024]; /* the path as manifest.json's paths are compared: "a//./b.tar" is "a/b.tar" */
    if (!manifest && norm_path(p, np, sizeof np) < 0)
        return 0;
    if (manifest && (hl || type != AE_IFREG))
        return nr_err_set(err, "%s: entry \"manifest.json\" is not a regular file: refused", file);
    if (im->n_df >= DOCKER_FILES_MAX)
        return nr_err_set(err, "%s: more than %d layer and config files: refused", file, DOCKER_FILES_MAX);
    /* One path, one file: docker load extracts the archive and keeps the
     * last entry of a name, a first-match lookup the first; an archive that
     * is one image to docker and another to nrun is refused. */
    for (size_t i = 0; !manifest && i < im->n_df; i++)
        if (!strcmp(im->df[i].path, np)) {
            cleanup_free char *shown = nr_escape_controls(np);
            return nr_err_set(err, "%s: entry \"%.200s\" appears twice: refused", file, shown);
        }
    if (hl || type == AE_IFLNK) {
        /* docker save writes a repeated layer as a symlink to the first;
         * the link only names another entry, it is never followed on disk */
        const char *t = hl ? hl : archive_entry_symlink(e);
        char to[1024], joined[2100];
        if (!t)
            return 0;
        const char *slash = strrchr(p, '/');
        if (hl || t[0] == '/')
            snprintf(joined, sizeof joined, "%s", t);
        else
            snprintf(joined, sizeof joined, "%.*s/%s", slash ? (int)(slash - p) : 0, p, t);
        if (norm_path(joined, to, sizeof to) < 0)
            return 0; /* points outside the archive: never a file of it */
        im->df = nr_xrealloc(im->df, (im->n_df + 1) * sizeof *im->df);
        im->df[im->n_df++] = (dfile){.path = nr_xstrdup(np), .link = nr_xstrdup(to)};
        return 0;
    }
    if (type != AE_IFREG)
        return 0;
    if (!manifest)
        return img__imp_stage(im, NULL, np, img__imp_ar_read, a, err);
    if (im->docker)
        return nr_err_set(err, "%s: manifest.json appears twice: refused", file);
    return img__imp_ar_json(a, e, file, "manifest.json", &im->docker, &im->docker_len, err);
}

