/* nrun base [--list] REF...: make base images now (e.g. before going offline,
 * or to warm a CI cache).  nbuild makes them on demand at `FROM node:20`. */
#include <stdio.h>
#include <string.h>

#include "builder/base.h"
#include "cli/cli.h"
#include "common/embed.h"
#include "common/util.h"
#include "images/image.h"
#include "images/store.h"

/* nr_usage_error lives in nrun_main.c; this file is linked into nbuild too. */
static int usage_error(nr_global *g, const char *msg, const char *arg)
{
    fprintf(stderr, "%s: base: %s%s\n", g->prog, msg, arg);
    return NR_EXIT_USAGE;
}

static int list_refs(nr_global *g)
{
    const char *v = nr_embed_get("images/node/versions.txt", NULL);
    const char *m = v ? strstr(v, "\nNODE_MAJORS=") : NULL;
    if (!m) {
        fprintf(stderr, "%s: base: images/node/versions.txt has no NODE_MAJORS\n", g->prog);
        return NR_EXIT_FAIL;
    }
    cleanup_free char *majors = nr_xstrndup(m + 13, strcspn(m + 13, "\n"));
    for (char *save = NULL, *t = strtok_r(majors, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        bld_base_spec sp;
        nr_err err;
        char ref[64];
        snprintf(ref, sizeof ref, "node:%s", t);
        if (bld_base_resolve(NULL, ref, &sp, &err) != 0)
            continue;
        printf("%s %s %s-slim %s-slim\n", sp.tag_major, sp.tag_version, sp.tag_major, sp.tag_version);
    }
    return 0;
}

int nr_cmd_base(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"list", NR_OPT_LONG, no_argument, NULL, "print the refs this nrun knows"},
        {0},
    };
    static const nr_cmdspec spec = {"base [--list] REF...",
                                    "Make the base images REF (node:20, node:22-slim, ...) in the store from pinned\n"
                                    "packages unless present, and print \"REF DIGEST\" for each.  Downloads are cached\n"
                                    "($NRUN_CACHE_DIR or <root>/cache/base), so only the first run is online.",
                                    opts, true};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == NR_OPT_LONG)
            return list_refs(g);
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    int i = optind;
    if (i >= argc)
        return usage_error(g, "name at least one image, e.g. node:20 (see nrun base --list)", "");
    img_store *s = NULL;
    nr_err err;
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    int rc = 0;
    for (; i < argc && rc == 0; i++) {
        int r = bld_base_ensure(s, argv[i], &err);
        img_image *img = NULL;
        if (r == 1)
            rc = usage_error(g, "unknown base image (see nrun base --list): ", argv[i]);
        else if (r < 0 || img_image_load(s, argv[i], &img, &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else
            printf("%s %s\n", argv[i], img->manifest.digest);
        img_image_free(img);
    }
    img_store_close(s);
    return rc;
}
