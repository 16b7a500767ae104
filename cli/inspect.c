/* `nrun inspect`: containers and images as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/err.h"

/* `nrun inspect X` looks for a container first, then an image, as docker does. */
/* `nrun inspect [--type container|image] [--no-verify] NAME...`: each name is
 * a container if there is one of that name or id, else an image (docker's
 * order); one JSON array of them all; a name that is neither is an error. */
int nr_cmd_inspect(int argc, char **argv, nr_global *g)
{
    bool containers = true, images = true, verify = true;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *t = NULL;
        if (!strcmp(argv[i], "--type") && i + 1 < argc)
            t = argv[++i];
        else if (!strncmp(argv[i], "--type=", 7))
            t = argv[i] + 7;
        else if (!strcmp(argv[i], "--no-verify"))
            verify = false;
        else
            return nr_usage_error(g, "inspect: unknown option %s (--type container|image, --no-verify)", argv[i]);
        if (t && strcmp(t, "container") && strcmp(t, "image"))
            return nr_usage_error(g, "inspect: --type %s: container or image", t);
        if (t)
            containers = !strcmp(t, "container"), images = !containers;
    }
    if (i >= argc)
        return nr_usage_error(g, "inspect: which container or image?");
    json_t *out = json_array();
    int rc = 0;
    for (; i < argc; i++) {
        nr_err err = {0};
        bool found = false;
        json_t *j = NULL;
        if (containers)
            j = nr_inspect_container(g, argv[i], &found, &err);
        if (!j && !found && images) {
            memset(&err, 0, sizeof err);
            j = nr_inspect_image(g, argv[i], verify, &found, &err);
        }
        if (j) {
            json_array_append_new(out, j);
        } else if (found) {
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        } else {
            fprintf(stderr, "%s: no such %s: %s\n", g->prog,
                    containers && images ? "container or image" : containers ? "container" : "image", argv[i]);
            rc = NR_EXIT_NOTFOUND;
        }
    }
    char *text = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(out);
    return rc;
}

