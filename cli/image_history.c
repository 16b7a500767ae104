/* nrun image history IMAGE -- docker's: one row per entry of the config's
 * history, newest first: IMAGE (the image's ID on the top row, <missing>
 * below, as docker shows layers that are no image of their own), CREATED,
 * CREATED BY, SIZE (the layer blob of a non-empty entry, 0B for an
 * empty_layer one), COMMENT.  --no-trunc, -q, --format (table, json or a
 * template over ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/deploy.h"
#include "common/util.h"
#include "images/image.h"
#include "images/store.h"

/* docker cuts CREATED BY at 45 columns with an ellipsis */
#define HIST_BY_WIDTH 45

static long long parse_created(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return (long long)timegm(&tm);
}

/* One line of the image's text (its author chose it): blanks for line
 * breaks, and any other control byte (an escape sequence) shown escaped. */
static char *one_line(const char *s, bool trunc)
{
    cleanup_free char *t = nr_xstrdup(s ? s : "");
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\t' || *p == '\r')
            *p = ' ';
    if (trunc && strlen(t) > HIST_BY_WIDTH)
        t[HIST_BY_WIDTH - 1] = 0;
    cleanup_free char *e = nr_escape_controls(t);
    return trunc && strlen(s ? s : "") > HIST_BY_WIDTH ? nr_xasprintf("%s…", e) : nr_xstrdup(e);
}

int nr_image_history(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"no-trunc", 'T' + NR_OPT_LONG, no_argument, NULL, "do not shorten the output"},
        {"quiet", 'q', no_argument, NULL, "print image ids only"},
        {"human", 'H', optional_argument, "BOOL", "sizes and dates in human form (default true)"},
        {"format", 'f' + NR_OPT_LONG, required_argument, "FORMAT",
         "table, json, or a template over ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment"},
        {0},
    };
    static const nr_cmdspec spec = {"image history [OPTIONS] IMAGE", "Show the history of an image.", opts, true};
    bool notrunc = false, quiet = false, human = true;
    nr_format fmt = {.kind = NR_FMT_TABLE};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'T' + NR_OPT_LONG: notrunc = true; break;
        case 'q': quiet = true; break;
        case 'H': human = !optarg || strcmp(optarg, "false"); break;
        case 'f' + NR_OPT_LONG:
            if (nr_format_parse(g, "image history", optarg, &fmt) != 0)
                return NR_EXIT_USAGE;
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return nr_usage_error(g, "image history: needs exactly one image");
    nr_err err = {0};
    img_store *s;
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    img_image *img;
    if (img_image_load(s, argv[optind], &img, &err) < 0) {
        img_store_close(s);
        if (err.errnum == ENOENT) {
            fprintf(stderr, "%s: no such image: %s\n", g->prog, argv[optind]);
            return NR_EXIT_NOTFOUND;
        }
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    }
    json_t *hist = json_object_get(img->config_json, "history");
    size_t nh = json_array_size(hist);
    /* which layer each non-empty entry made: counted from the bottom */
    size_t layer = 0;
    json_t *rows = json_array();
    for (size_t i = 0; i < nh; i++) {
        json_t *h = json_array_get(hist, i);
        bool empty = json_is_true(json_object_get(h, "empty_layer"));
        uint64_t size = 0;
        if (!empty && layer < img->n_layers)
            size = img->layers[layer++].blob.size;
        else if (!empty)
            layer++;
        const char *cr = json_string_value(json_object_get(h, "created"));
        long long t = parse_created(cr);
        char ago[64] = "N/A", at[64] = "N/A", sz[32];
        if (t > 0) {
            nr_human_ago((long long)time(NULL) - t, ago, sizeof ago);
            nr_rfc3339(t, 0, at, sizeof at);
        }
        if (human)
            nr_human_size(size, sz, sizeof sz);
        else
            snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
        cleanup_free char *by = one_line(json_string_value(json_object_get(h, "created_by")), !notrunc && !fmt.tmpl);
        cleanup_free char *comment = one_line(json_string_value(json_object_get(h, "comment")), false);
        json_array_insert_new(rows, 0,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "ID", "<missing>", "CreatedSince",
                                        human ? ago : at, "CreatedAt", at, "CreatedBy", by, "Size", sz, "Comment",
                                        comment, "Bytes", (json_int_t)size));
    }
    if (json_array_size(rows)) {
        char id[80];
        snprintf(id, sizeof id, "%s", notrunc ? img->config.digest : img_digest_hex(img->config.digest));
        if (!notrunc)
            id[12] = 0;
        json_object_set_new(json_array_get(rows, 0), "ID", json_string(id));
    }
    size_t i;
    json_t *r;
    if (quiet) {
        json_array_foreach(rows, i, r) printf("%s\n", json_string_value(json_object_get(r, "ID")));
    } else if (fmt.kind == NR_FMT_JSON) {
        json_array_foreach(rows, i, r)
        {
            char *t = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
            puts(t);
            free(t);
        }
    } else if (fmt.kind == NR_FMT_TEMPLATE) {
        json_array_foreach(rows, i, r)
        {
            char *t = nr_format_render(fmt.tmpl, r);
            puts(t);
            free(t);
        }
    } else {
        static const char *const heads[] = {"ID",     "IMAGE",   "CreatedSince", "CREATED", "CreatedAt", "CREATED AT",
                                            "CreatedBy", "CREATED BY", "Size", "SIZE", "Comment", "COMMENT", NULL};
        const char *tmpl = fmt.tmpl ? fmt.tmpl : "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
        char **lines = nr_xcalloc(json_array_size(rows) + 1, sizeof *lines);
        size_t nl = 0;
        lines[nl++] = nr_format_header(tmpl, heads);
        json_array_foreach(rows, i, r) lines[nl++] = nr_format_render(tmpl, r);
        nr_table_print(lines, nl, stdout);
        for (size_t k = 0; k < nl; k++)
            free(lines[k]);
        free(lines);
    }
    json_decref(rows);
    img_image_free(img);
    img_store_close(s);
    return 0;
}

/* `nrun history X` is docker's image history when X is no deploy's name with
 * revisions and names an image (then the deploy meaning wins: it was first). */
bool nr_history_is_image(int argc, char **argv, nr_global *g)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return false;
        if (argv[i][0] != '-') {
            if (name)
                return false;
            name = argv[i];
        }
    }
    if (!name)
        return false;
    nr_err err = {0};
    if (nr_dep_name_ok(name)) {
        json_t *h = nr_dep_hist_load(g, name, &err);
        size_t n = json_array_size(json_object_get(h, "revisions"));
        json_decref(h);
        if (n > 0)
            return false;
    }
    img_store *s;
    if (img_store_open(g->root, &s, &err) < 0)
        return false;
    img_image *img = NULL;
    bool found = img_image_load(s, name, &img, &err) == 0;
    if (img)
        img_image_free(img);
    img_store_close(s);
    return found;
}
