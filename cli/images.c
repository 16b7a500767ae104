/* nrun images | rmi | tag | image (ls|rm|inspect|prune|tag|load|save) | load | save:
 * flag parsing and output only; the work is in the store library. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/images_filter.h"
#include "common/util.h"
#include "images/image.h"
#include "images/oci.h"
#include "images/ref.h"
#include "images/store.h"
#include "runtime/runtime.h"


static int open_store(nr_global *g, img_store **s)
{
    nr_err err;
    if (img_store_open(g->root, s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    return 0;
}

/* ---- nrun images ---- */

/* The platforms of a multi-platform image, in the index's order. */
static json_t *platforms_json(const img_image *img)
{
    json_t *a = json_array();
    const img_index *x = img->platforms;
    for (size_t i = 0; x && i < x->n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "Platform", x->p[i].name, "Digest",
                                           x->p[i].manifest.digest, "MediaType", x->p[i].manifest.media_type));
    return a;
}

static void platforms_print(const img_image *img)
{
    const img_index *x = img->platforms;
    if (!x) {
        printf("   -");
        return;
    }
    printf("   ");
    for (size_t i = 0; i < x->n; i++)
        printf("%s%s", i ? "," : "", x->p[i].name);
}

typedef struct row {
    char repo[IMG_NAME_MAX];
    char tag[IMG_TAG_MAX];
    img_image *img; /* borrowed from the cache */
} row;

int nr_cmd_images(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"quiet", 'q', no_argument, NULL, "print image ids only"},
        {"all", 'a', no_argument, NULL, "all images (accepted; there are no intermediate images)"},
        {"format", 'o' + NR_OPT_LONG, required_argument, "FORMAT",
         "table (default), json, or a template: '{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Size}}'"},
        {"filter", 'f', required_argument, "FILTER",
         "dangling=true|false, reference=PATTERN (glob on name:tag), label=KEY[=VALUE]"},
        {"no-trunc", 'T' + NR_OPT_LONG, no_argument, NULL, "do not shorten ids"},
        {0},
    };
    static const nr_cmdspec spec = {"images [OPTIONS] [REPOSITORY[:TAG]]", "List images.", opts, true};
    bool quiet = false, json = false, notrunc = false;
    nr_format fmt = {.kind = NR_FMT_TABLE};
    nr_filter *filters = NULL;
    size_t nfilters = 0;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case 'a': break;
        case 'T' + NR_OPT_LONG: notrunc = true; break;
        case 'f':
            if (nr_images_filter_add(g, optarg, &filters, &nfilters) != 0) {
                nr_images_filter_free(filters, nfilters);
                return NR_EXIT_USAGE;
            }
            break;
        case 'o' + NR_OPT_LONG:
            if (nr_format_parse(g, "images", optarg, &fmt) != 0)
                return NR_EXIT_USAGE;
            json = fmt.kind == NR_FMT_JSON;
            break;
        default: nr_images_filter_free(filters, nfilters); return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    const char *filter = optind < argc ? argv[optind] : NULL;
    img_store *s;
    if (open_store(g, &s)) {
        nr_images_filter_free(filters, nfilters);
        return NR_EXIT_STORE;
    }
    nr_err err;
    img_tag *tags;
    size_t nt;
    if (img_tag_list(s, &tags, &nt, &err) < 0) {
        img_store_close(s);
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    }
    int rc = 0;
    row *rows = nr_xcalloc(nt + 1, sizeof *rows);
    img_image **cache = nr_xcalloc(nt + 1, sizeof *cache);
    size_t nr = 0, nc = 0;
    for (size_t i = 0; i < nt; i++) {
        img_ref r;
        if (img_ref_parse(tags[i].ref_name, &r, &err) < 0)
            continue;
        if (filter) {
            img_ref fr;
            bool has_tag = strrchr(filter, ':') && strrchr(filter, ':') > (strrchr(filter, '/') ? strrchr(filter, '/') : filter);
            if (img_ref_parse(filter, &fr, &err) < 0 || strcmp(fr.name, r.name) || (has_tag && strcmp(fr.tag, r.tag)))
                continue;
        }
        img_image *img = NULL;
        for (size_t k = 0; k < nc && !img; k++)
            if (!strcmp(img_image_top(cache[k])->digest, tags[i].manifest.digest))
                img = cache[k];
        if (!img) {
            if (img_image_load_digest(s, tags[i].manifest.digest, &img, &err) < 0) {
                nr_err_report(&err, g->prog, 0);
                rc = NR_EXIT_FAIL;
                continue;
            }
            cache[nc++] = img;
        }
        if (!nr_images_filter_match(filters, nfilters, r.name, r.tag, img))
            continue;
        snprintf(rows[nr].repo, sizeof rows[nr].repo, "%s", r.name);
        snprintf(rows[nr].tag, sizeof rows[nr].tag, "%s", r.tag);
        rows[nr++].img = img;
    }
    /* dangling=true: the images no tag reaches, as <none> <none> */
    if (nr_images_filter_dangling(filters, nfilters)) {
        img_image **dang = NULL;
        size_t nd = 0;
        if (nr_images_dangling(s, tags, nt, &dang, &nd, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        rows = nr_xrealloc(rows, (nr + nd + 1) * sizeof *rows);
        cache = nr_xrealloc(cache, (nc + nd + 1) * sizeof *cache);
        for (size_t i = 0; i < nd; i++) {
            cache[nc++] = dang[i];
            if (filter || !nr_images_filter_match(filters, nfilters, NULL, NULL, dang[i]))
                continue;
            memset(&rows[nr], 0, sizeof rows[nr]);
            snprintf(rows[nr].repo, sizeof rows[nr].repo, "<none>");
            snprintf(rows[nr].tag, sizeof rows[nr].tag, "<none>");
            rows[nr++].img = dang[i];
        }
        free(dang);
    }
    nr_images_filter_free(filters, nfilters);
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < nr; i++) {
            char created[64];
            nr_rfc3339(img_image_created(rows[i].img), 0, created, sizeof created);
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "Repository", rows[i].repo, "Tag", rows[i].tag,
                                  "Id", rows[i].img->config.digest, "Digest", img_image_top(rows[i].img)->digest,
                                  "Size", (json_int_t)img_image_size(rows[i].img), "Created", created);
            if (rows[i].img->platforms)
                json_object_set_new(o, "Platforms", platforms_json(rows[i].img));
            json_array_append_new(a, o);
        }
        char *t = json_dumps(a, JSON_INDENT(2));
        puts(t);
        free(t);
        json_decref(a);
    } else if (fmt.tmpl && !quiet) {
        /* docker's fields: ID, Repository, Tag, Digest, CreatedSince, CreatedAt, Size */
        static const char *const heads[] = {"ID", "IMAGE ID", "CreatedSince", "CREATED", "CreatedAt", "CREATED AT", NULL};
        char **lines = nr_xcalloc(nr + 1, sizeof *lines);
        size_t nl = 0;
        if (fmt.kind == NR_FMT_TABLE)
            lines[nl++] = nr_format_header(fmt.tmpl, heads);
        long long now = (long long)time(NULL);
        for (size_t i = 0; i < nr; i++) {
            char size[32], ago[64], created[64] = "N/A";
            nr_human_size(img_image_size(rows[i].img), size, sizeof size);
            long long cr = img_image_created(rows[i].img);
            if (cr <= 0) {
                snprintf(ago, sizeof ago, "N/A");
            } else {
                nr_human_ago(now - cr, ago, sizeof ago);
                nr_rfc3339(cr, 0, created, sizeof created);
            }
            char id[80];
            snprintf(id, sizeof id, "%.*s", notrunc ? 71 : 12,
                     notrunc ? rows[i].img->config.digest : img_digest_hex(rows[i].img->config.digest));
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Repository", rows[i].repo, "Tag",
                                  rows[i].tag, "Digest", img_image_top(rows[i].img)->digest, "CreatedSince", ago,
                                  "CreatedAt", created, "Size", size);
            char *line = nr_format_render(fmt.tmpl, o);
            json_decref(o);
            if (fmt.kind == NR_FMT_TABLE)
                lines[nl++] = line;
            else
                puts(line), free(line);
        }
        if (fmt.kind == NR_FMT_TABLE)
            nr_table_print(lines, nl, stdout);
        for (size_t i = 0; i < nl; i++)
            free(lines[i]);
        free(lines);
    } else if (quiet) {
        for (size_t i = 0; i < nr; i++) {
            bool seen = false;
            for (size_t k = 0; k < i; k++)
                seen |= rows[k].img == rows[i].img;
            if (!seen)
                printf("%.*s\n", notrunc ? 71 : 12, notrunc ? rows[i].img->config.digest : img_digest_hex(rows[i].img->config.digest));
        }
    } else {
        int wr = 10, wt = 3;
        for (size_t i = 0; i < nr; i++) {
            wr = (int)strlen(rows[i].repo) > wr ? (int)strlen(rows[i].repo) : wr;
            wt = (int)strlen(rows[i].tag) > wt ? (int)strlen(rows[i].tag) : wt;
        }
        int wid = notrunc ? 71 : 12;
        /* PLATFORMS only when a multi-platform image is listed: the usual
         * table stays what scripts already read. */
        bool multi = false;
        for (size_t i = 0; i < nr; i++)
            multi |= rows[i].img->platforms != NULL;
        char hdr[32];
        snprintf(hdr, sizeof hdr, "%-14s", "CREATED");
        printf("%-*s   %-*s   %-*s   %-71s   %-8s   %s%s\n", wr, "REPOSITORY", wt, "TAG", wid, "IMAGE ID", "DIGEST",
               "SIZE", multi ? hdr : "CREATED", multi ? "   PLATFORMS" : "");
        long long now = (long long)time(NULL);
        for (size_t i = 0; i < nr; i++) {
            char size[32], ago[64];
            nr_human_size(img_image_size(rows[i].img), size, sizeof size);
            long long cr = img_image_created(rows[i].img);
            if (cr <= 0)
                snprintf(ago, sizeof ago, "N/A");
            else
                nr_human_ago(now - cr, ago, sizeof ago);
            printf("%-*s   %-*s   %-*.*s   %-71s   %-8s   %-*s", wr, rows[i].repo, wt, rows[i].tag, wid, wid,
                   notrunc ? rows[i].img->config.digest : img_digest_hex(rows[i].img->config.digest),
                   img_image_top(rows[i].img)->digest, size, multi ? 14 : 0, ago);
            if (multi)
                platforms_print(rows[i].img);
            putchar('\n');
        }
    }
    for (size_t k = 0; k < nc; k++)
        img_image_free(cache[k]);
    free(cache);
    free(rows);
    img_tag_list_free(tags, nt);
    img_store_close(s);
    return rc;
}

/* ---- nrun rmi ---- */

/* A container made from img (its root is img's layers, whatever its tags are
 * now): its name, malloc'd, or NULL.  As docker, rmi refuses to take such an
 * image away from under a container (running or not) unless forced. */
static char *image_user(nr_global *g, const img_image *img)
{
    char **ids = NULL;
    size_t n = 0;
    nr_err err;
    char *user = NULL;
    if (img->n_layers == 0 || rt_container_list(g->root, &ids, &n, &err) < 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *path = nr_xasprintf("%s/containers/%s/config.json", g->root, ids[i]);
        json_t *j = user ? NULL : json_load_file(path, 0, NULL);
        const char *lower = json_string_value(json_object_get(json_object_get(j, "annotations"),
                                                              "org.nrun.overlay.lower"));
        /* the image's layers, by diff_id hex, all there and nothing else of that form */
        size_t found = 0, hexes = 0;
        for (const char *p = lower ? lower : ""; *p;) {
            size_t len = strcspn(p, ":");
            if (len == 64 && strspn(p, "0123456789abcdef") >= 64) {
                hexes++;
                for (size_t k = 0; k < img->n_layers; k++)
                    if (!strncmp(img_digest_hex(img->layers[k].diff_id), p, 64)) {
                        found++;
                        break;
                    }
            }
            p += len + (p[len] == ':');
        }
        if (lower && found == img->n_layers && hexes == img->n_layers) {
            rt_state st;
            if (rt_state_read(g->root, ids[i], &st, &err) == 0) {
                user = nr_xstrdup(st.name && *st.name ? st.name : st.id);
                rt_state_free(&st);
            } else {
                user = nr_xstrndup(ids[i], 12);
            }
        }
        json_decref(j);
        free(ids[i]);
    }
    free(ids);
    return user;
}

int nr_cmd_rmi(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"force", 'f', no_argument, NULL, "remove the image even if a container uses it"},
        {0},
    };
    static const nr_cmdspec spec = {"rmi [OPTIONS] IMAGE...", "Remove images (the unpacked layers no image or container "
                                    "uses go with them).", opts, true};
    bool force = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'f': force = true; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return nr_usage_error(g, "%s: needs at least one image", argv[0]);
    img_store *s;
    if (open_store(g, &s))
        return NR_EXIT_STORE;
    int rc = 0;
    bool any_deleted = false;
    for (int i = optind; i < argc; i++) {
        nr_err err;
        img_image *img;
        if (img_image_load(s, argv[i], &img, &err) < 0) {
            /* A tag whose image cannot be read (corrupt, missing blob) can still be untagged. */
            char name[IMG_NAME_MAX + IMG_TAG_MAX];
            nr_err e2;
            if (err.errnum != ENOENT && img_ref_normalize(argv[i], name, sizeof name, &e2) == 0 &&
                img_tag_remove(s, name, &e2) == 0) {
                printf("Untagged: %s\n", name);
                continue;
            }
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            continue;
        }
        /* By name: untag that name.  By ID/digest: every tag (-f when several). */
        char name[IMG_NAME_MAX + IMG_TAG_MAX] = "";
        img_ref r;
        bool by_name = strncmp(argv[i], "sha256:", 7) && img_ref_parse(argv[i], &r, &err) == 0 && !r.digest[0];
        if (by_name) {
            img_ref_format(&r, name, sizeof name);
            bool tagged = false;
            for (size_t k = 0; k < img->n_tags; k++)
                tagged |= !strcmp(img->tags[k], name);
            by_name = tagged;
        }
        /* the last name of an image a container was made from: refused without -f */
        if (!force && (!by_name || img->n_tags == 1)) {
            cleanup_free char *user = image_user(g, img);
            if (user) {
                nr_err_set(&err, "conflict: unable to remove %s (must be forced) - container %s is using it", argv[i],
                           user);
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
                img_image_free(img);
                continue;
            }
        }
        if (!by_name && img->n_tags > 1 && !force) {
            nr_err_set(&err, "conflict: unable to delete %s (must be forced) - image is referenced by %zu tags", argv[i],
                       img->n_tags);
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            img_image_free(img);
            continue;
        }
        bool untagged = false;
        for (size_t k = 0; k < img->n_tags; k++) {
            if (by_name && strcmp(img->tags[k], name))
                continue;
            if (img_tag_remove(s, img->tags[k], &err) < 0) {
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
                continue;
            }
            printf("Untagged: %s\n", img->tags[k]);
            untagged = true;
        }
        bool deleted;
        int dr = img_manifest_drop_untagged(s, img_image_top(img)->digest, &deleted, &err);
        /* kept for an index: an error only when nothing else was asked (a bare platform digest) */
        if (dr < 0 || (dr == 1 && !untagged))
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else if (deleted)
            printf("Deleted: %s\n", img_image_top(img)->digest);
        any_deleted |= deleted;
        img_image_free(img);
    }
    /* The unpacked layers of what went, as docker's rmi deletes its layers
     * (their blobs stay for prune, as the config's do). */
    img_prune_result pr;
    nr_err err;
    if (any_deleted && img_layers_prune(s, &pr, &err) < 0)
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    img_store_close(s);
    return rc;
}

/* ---- nrun tag ---- */

int nr_cmd_tag(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"tag SOURCE_IMAGE TARGET_IMAGE[:TAG]", "Give an image another name.", opts, false};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    argc -= optind - 1, argv += optind - 1;
    if (argc != 3)
        return nr_usage_error(g, "tag: needs SOURCE_IMAGE and TARGET_IMAGE[:TAG]");
    nr_err err;
    char name[IMG_NAME_MAX + IMG_TAG_MAX];
    if (img_ref_normalize(argv[2], name, sizeof name, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_USAGE);
    img_store *s;
    if (open_store(g, &s))
        return NR_EXIT_STORE;
    img_image *img;
    int rc = 0;
    if (img_image_load(s, argv[1], &img, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    } else {
        if (img_tag_set(s, name, img_image_top(img), &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        img_image_free(img);
    }
    img_store_close(s);
    return rc;
}

/* ---- nrun image inspect ---- */

static json_t *inspect_json(img_image *img)
{
    json_t *tags = json_array(), *digests = json_array(), *layers = json_array(), *diff = json_array();
    for (size_t i = 0; i < img->n_tags; i++) {
        json_array_append_new(tags, json_string(img->tags[i]));
        img_ref r;
        nr_err e;
        if (img_ref_parse(img->tags[i], &r, &e) == 0) {
            char *d = nr_xasprintf("%s@%s", r.name, img_image_top(img)->digest);
            bool dup = false;
            for (size_t k = 0; k < json_array_size(digests); k++)
                dup |= !strcmp(json_string_value(json_array_get(digests, k)), d);
            if (!dup)
                json_array_append_new(digests, json_string(d));
            free(d);
        }
    }
    for (size_t i = 0; i < img->n_layers; i++) {
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I, s:s}", "Digest", img->layers[i].blob.digest,
                                                "MediaType", img->layers[i].blob.media_type, "Size",
                                                (json_int_t)img->layers[i].blob.size, "DiffID", img->layers[i].diff_id));
        json_array_append_new(diff, json_string(img->layers[i].diff_id));
    }
    json_t *cfg = img_image_runconfig(img);
    json_t *hist = json_object_get(img->config_json, "history");
    json_t *created = json_object_get(img->config_json, "created");
    json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:o, s:O, s:O, s:{s:s, s:o}, s:O, s:o, s:I, s:s, s:s}", "Id",
                     img->config.digest, "RepoTags", tags, "RepoDigests", digests, "Digest", img->manifest.digest,
                     "MediaType", img->manifest.media_type, "Created", created ? json_incref(created) : json_string(""),
                     "Architecture", json_object_get(img->config_json, "architecture"), "Os",
                     json_object_get(img->config_json, "os"), "RootFS", "Type", "layers", "Layers", diff, "Config",
                     cfg ? cfg : json_object(), "History", hist ? json_incref(hist) : json_array(), "Size",
                     (json_int_t)img_image_size(img), "ManifestMediaType", img->manifest.media_type, "ConfigDigest",
                     img->config.digest);
    json_object_set_new(o, "Layers", layers);
    /* A multi-platform image: Digest is the index's (what its tag and a
     * registry name), the rest describes its linux/amd64 image. */
    if (img->platforms) {
        json_object_set_new(o, "Digest", json_string(img->index.digest));
        json_object_set_new(o, "MediaType", json_string(img->index.media_type));
        json_object_set_new(o, "ManifestDigest", json_string(img->manifest.digest));
        json_object_set_new(o, "Index", json_pack("{s:s, s:s, s:I, s:o}", "Digest", img->index.digest, "MediaType",
                                                  img->index.media_type, "Size", (json_int_t)img->index.size,
                                                  "Platforms", platforms_json(img)));
    }
    return o;
}

json_t *nr_inspect_image(nr_global *g, const char *ref, bool verify, bool *found, nr_err *err)
{
    *found = false;
    img_store *s;
    if (img_store_open(g->root, &s, err) < 0)
        return NULL;
    img_image *img;
    json_t *j = NULL;
    if (img_image_load(s, ref, &img, err) < 0) {
        *found = err->errnum != ENOENT;
        img_store_close(s);
        return NULL;
    }
    *found = true;
    size_t k = 0;
    for (; verify && k < img->n_layers; k++)
        if (img_blob_verify(s, img->layers[k].blob.digest, err) < 0)
            break;
    if (!verify || k == img->n_layers)
        j = inspect_json(img);
    img_image_free(img);
    img_store_close(s);
    return j;
}

static int nr_cmd_image_inspect(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"no-verify", NR_OPT_LONG, no_argument, NULL, "do not check the layer blobs' digests"},
        {0},
    };
    static const nr_cmdspec spec = {"image inspect [OPTIONS] IMAGE...", "Show images as JSON.", opts, true};
    bool verify = true;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == NR_OPT_LONG)
            verify = false;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    int first = optind;
    if (first >= argc)
        return nr_usage_error(g, "inspect: needs at least one image");
    json_t *out = json_array();
    int rc = 0;
    for (int i = first; i < argc; i++) {
        nr_err err = {0};
        bool found;
        json_t *j = nr_inspect_image(g, argv[i], verify, &found, &err);
        if (j)
            json_array_append_new(out, j);
        else
            rc = nr_err_report(&err, g->prog, found ? NR_EXIT_FAIL : NR_EXIT_NOTFOUND);
    }
    if (json_array_size(out)) {
        char *t = json_dumps(out, JSON_INDENT(4));
        puts(t);
        free(t);
    }
    json_decref(out);
    return rc;
}

/* ---- nrun image prune ---- */

static int cmd_prune(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"force", 'f', no_argument, NULL, "do not ask (nrun never asks)"},
        {"all", 'a', no_argument, NULL, "accepted: every blob no tag reaches is removed"},
        {0},
    };
    static const nr_cmdspec spec = {"image prune [OPTIONS]", "Remove the blobs and unpacked layers no tagged image and "
                                    "no container uses.", opts, true};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        if (c != 'f' && c != 'a')
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (optind < argc)
        return nr_usage_error(g, "image prune: unknown argument %s", argv[optind]);
    img_store *s;
    if (open_store(g, &s))
        return NR_EXIT_STORE;
    nr_err err;
    img_prune_result res;
    int rc = 0;
    if (img_store_prune(s, &res, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    } else {
        char size[32];
        nr_human_size(res.bytes_reclaimed, size, sizeof size);
        printf("Deleted blobs: %zu\nDeleted layers: %zu\nTotal reclaimed space: %s\n", res.blobs_removed,
               res.layers_removed, size);
    }
    img_store_close(s);
    return rc;
}

/* ---- nrun load / save ---- */

static void print_loaded(const char *name, const img_desc *m, void *arg)
{
    if (*(bool *)arg)
        return;
    if (name)
        printf("Loaded image: %s\n", name);
    else
        printf("Loaded image ID: %s\n", m->digest);
}

int nr_cmd_load(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"input", 'i', required_argument, "FILE|DIR", "an OCI archive or layout directory, or a docker-archive (default stdin)"},
        {"name", 'n', required_argument, "REPO[:TAG]", "tag the loaded image(s) with this name"},
        {"quiet", 'q', no_argument, NULL, "print nothing"},
        {0},
    };
    static const nr_cmdspec spec = {"load [OPTIONS]", "Read images from an OCI archive or layout, or a docker-archive (docker save).", opts, true};
    const char *input = NULL, *repo = NULL;
    bool quiet = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'i': input = optarg; break;
        case 'n': repo = optarg; break;
        case 'q': quiet = true; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (!input && !isatty(STDIN_FILENO))
        input = "-";
    if (!input || optind != argc)
        return nr_usage_error(g, "load: needs -i FILE (an OCI archive or layout directory) or an archive on stdin");
    struct stat st = {0};
    if (strcmp(input, "-") && stat(input, &st) < 0) {
        nr_err e;
        nr_err_sys(&e, errno, "load %s", input);
        return nr_err_report(&e, g->prog, NR_EXIT_FAIL);
    }
    img_store *s;
    if (open_store(g, &s))
        return NR_EXIT_STORE;
    nr_err err;
    int r = S_ISDIR(st.st_mode) ? img_import_oci_dir(s, input, repo, print_loaded, &quiet, &err)
                                : img_import_oci_archive(s, input, repo, print_loaded, &quiet, &err);
    img_store_close(s);
    if (r < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    return 0;
}

int nr_cmd_save(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"output", 'o', required_argument, "FILE|-", "write to this file (default stdout when it is not a terminal)"},
        {"dir", 'd' + NR_OPT_LONG, no_argument, NULL, "write an OCI layout directory instead of an archive"},
        {"tag", 't', required_argument, "TAG", "the tag the image gets in the archive"},
        {0},
    };
    static const nr_cmdspec spec = {"save [OPTIONS] IMAGE", "Write an image as an OCI archive (or OCI layout).", opts,
                                    true};
    const char *out = NULL, *tag = NULL;
    bool dir = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'd' + NR_OPT_LONG: dir = true; break;
        case 't': tag = optarg; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (!out && !dir && !isatty(STDOUT_FILENO))
        out = "-";
    if (!out || optind != argc - 1)
        return nr_usage_error(g, "save: needs -o FILE (or a pipe on stdout) and one IMAGE");
    if (dir && !strcmp(out, "-"))
        return nr_usage_error(g, "save: --dir needs a directory, not stdout");
    img_store *s;
    if (open_store(g, &s))
        return NR_EXIT_STORE;
    nr_err err;
    int r = dir ? img_export_oci_dir(s, argv[optind], out, tag, &err)
                : img_export_oci_archive(s, argv[optind], out, tag, &err);
    img_store_close(s);
    if (r < 0)
        return nr_err_report(&err, g->prog, err.errnum == ENOENT ? NR_EXIT_NOTFOUND : NR_EXIT_FAIL);
    return 0;
}

/* ---- nrun image ... ---- */

int nr_cmd_image(int argc, char **argv, nr_global *g)
{
    char name[32];
    int code;
    const char *sub = nr_group_sub(argc, argv, "image",
                                   "Usage: nrun image COMMAND [ARGS...]\n\nManage images.\n\nCommands:\n"
                                   "  ls       list images (nrun images)\n"
                                   "  rm       remove images (nrun rmi)\n"
                                   "  inspect  show images as JSON\n"
                                   "  prune    remove what no tagged image or container uses\n"
                                   "  tag      give an image another name (nrun tag)\n"
                                   "  load     read images from an OCI archive (nrun load)\n"
                                   "  save     write an image to an OCI archive (nrun save)\n"
                                   "  history  show an image's layers and the steps that made them\n"
                                   "\nRun 'nrun image COMMAND --help' for a command's options.\n",
                                   name, sizeof name, &code);
    if (!sub)
        return code;
    if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
        return nr_cmd_images(argc - 1, argv + 1, g);
    if (!strcmp(sub, "rm"))
        return nr_cmd_rmi(argc - 1, argv + 1, g);
    if (!strcmp(sub, "inspect"))
        return nr_cmd_image_inspect(argc - 1, argv + 1, g);
    if (!strcmp(sub, "prune"))
        return cmd_prune(argc - 1, argv + 1, g);
    if (!strcmp(sub, "tag"))
        return nr_cmd_tag(argc - 1, argv + 1, g);
    if (!strcmp(sub, "load") || !strcmp(sub, "import"))
        return nr_cmd_load(argc - 1, argv + 1, g);
    if (!strcmp(sub, "save"))
        return nr_cmd_save(argc - 1, argv + 1, g);
    if (!strcmp(sub, "history"))
        return nr_image_history(argc - 1, argv + 1, g);
    return nr_usage_error(g, "image: unknown subcommand %s (ls, rm, inspect, prune, tag, load, save, history)", sub);
}
