/* nrun base [--list] REF...: make base images now (e.g. before going offline,
 * or to warm a CI cache).  nbuild makes them on demand at `FROM node:20`. */
#include <stdio.h>
#include <string.h>

#include "builder/base.h"
#include "builder/base_gcr.h"
#include "cli/cli.h"
#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"
#include "images/ref.h"
#include "images/store.h"

/* An image nbuild makes here (`nrun base` takes it), spelled as Docker Hub's
 * official one: a missing one is made, not pulled (no registry serves
 * Docker Hub here; a name with another registry host is pulled).  norm: the
 * name nrun base makes. */
bool nr_base_makes(const char *image, char *norm, size_t nlen)
{
    nr_err ign = {0};
    bld_base_spec sp;
    if (strchr(image, '@') || img_ref_normalize(image, norm, nlen, &ign) < 0)
        return false;
    bld_base_hub_official(norm, norm, nlen);
    char slim[IMG_NAME_MAX + IMG_TAG_MAX + 2]; /* node:20-alpine: on Debian slim (builder/base.c) */
    return bld_gcr_is(norm) || bld_base_resolve(NULL, NULL, norm, &sp, &ign) == 0 ||
           bld_base_alpine_slim(norm, slim, sizeof slim);
}


/* nr_usage_error lives in nrun_main.c; this file is linked into nbuild too. */
static int usage_error(nr_global *g, const char *msg, const char *arg)
{
    fprintf(stderr, "%s: base: %s%s\n", g->prog, msg, arg);
    return NR_EXIT_USAGE;
}

static int list_refs(nr_global *g, int argc, char **argv)
{
    if (argc == 0) {
        cleanup_free char *all = bld_base_list();
        if (!all) {
            fprintf(stderr, "%s: base: the embedded pins (images/node/versions.txt) are broken\n", g->prog);
            return NR_EXIT_FAIL;
        }
        fputs(all, stdout);
        return 0;
    }
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        bld_base_spec sp;
        nr_err err;
        char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2];
        const char *ref = img_ref_normalize(argv[i], norm, sizeof norm, &err) == 0 ? norm : argv[i];
        if (ref == norm)
            bld_base_hub_official(norm, norm, sizeof norm); /* docker.io/library/node:20 is node:20 */
        char note[256];
        int r = bld_base_resolve_listed(ref, &sp, note, sizeof note, &err);
        if (r != 0) {
            fprintf(stderr, "%s: base: %s\n", g->prog, err.msg);
            rc = NR_EXIT_FAIL;
            continue;
        }
        printf("%s %s%s%s%s%s\n", ref, sp.canonical, sp.warning[0] || *note ? "  # " : "", note,
               sp.warning[0] && *note ? "; " : "", sp.warning);
    }
    return rc;
}

int nr_cmd_base(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"list", NR_OPT_LONG, no_argument, NULL, "print what each tag (every known one, or each REF) resolves to"},
        {0},
    };
    static const nr_cmdspec spec = {"base [--list] REF...",
                                    "Make the base images REF (node:20, node:22-slim, node:lts-trixie-slim,\n"
                                    "node:20-distroless, ...) in the store from pinned packages unless present, and\n"
                                    "print \"REF DIGEST\" for each.  Downloads are cached ($NRUN_CACHE_DIR or\n"
                                    "<root>/cache/base), so only the first run is online.",
                                    opts, true};
    int c;
    bool list = false;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == NR_OPT_LONG) {
            list = true;
            continue;
        }
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    int i = optind;
    if (list)
        return list_refs(g, argc - i, argv + i);
    if (i >= argc)
        return usage_error(g, "name at least one image, e.g. node:20 (see nrun base --list)", "");
    img_store *s = NULL;
    nr_err err;
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    int rc = 0;
    for (; i < argc && rc == 0; i++) {
        /* docker.io/library/redis:7 is redis:7, as FROM and --list read it */
        char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2];
        nr_err nerr;
        const char *ref = argv[i];
        if (!strchr(ref, '@') && img_ref_normalize(ref, norm, sizeof norm, &nerr) == 0 &&
            bld_base_hub_official(norm, norm, sizeof norm))
            ref = norm;
        int r = bld_base_ensure(s, ref, &err);
        img_image *img = NULL;
        char unpinned[IMG_NAME_MAX + IMG_TAG_MAX + 2]; /* a gcr.io/distroless/ pin names Google's build */
        const char *made = r == 0 && bld_gcr_unpin(s, ref, unpinned, sizeof unpinned) ? unpinned : ref;
        if (r == 1)
            rc = usage_error(g, "unknown base image (see nrun base --list): ", err.msg);
        else if (r < 0 || img_image_load(s, made, &img, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else
            printf("%s %s\n", argv[i], img->manifest.digest);
        img_image_free(img);
    }
    img_store_close(s);
    return rc;
}
