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
    enum { OPT_TYPE = NR_OPT_LONG, OPT_NOVERIFY };
    static const nr_opt opts[] = {
        {"format", 'f', required_argument, "TEMPLATE", "print each object through a template: '{{.State.Status}}'"},
        {"type", OPT_TYPE, required_argument, "TYPE", "container or image (default: a container, else an image)"},
        {"no-verify", OPT_NOVERIFY, no_argument, NULL, "do not check an image's layer digests"},
        {0},
    };
    static const nr_cmdspec spec = {"inspect [OPTIONS] NAME...", "Show containers or images as one JSON array.", opts,
                                    true};
    bool containers = true, images = true, verify = true;
    nr_format fmt = {.kind = NR_FMT_JSON};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        const char *t = NULL;
        if (c == 'f') {
            if (nr_format_parse(g, "inspect", optarg, &fmt))
                return NR_EXIT_USAGE;
            if (fmt.kind == NR_FMT_TABLE)
                return nr_usage_error(g, "inspect: --format %s: json or a template", optarg);
            continue;
        }
        if (c == OPT_TYPE)
            t = optarg;
        else if (c == OPT_NOVERIFY)
            verify = false;
        else
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        if (t && strcmp(t, "container") && strcmp(t, "image"))
            return nr_usage_error(g, "inspect: --type %s: container or image", t);
        if (t)
            containers = !strcmp(t, "container"), images = !containers;
    }
    int i = optind;
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
    if (fmt.kind == NR_FMT_TEMPLATE) {
        size_t k;
        json_t *o;
        json_array_foreach(out, k, o)
        {
            char *line = nr_format_render(fmt.tmpl, o);
            printf("%s\n", line);
            free(line);
        }
    } else {
        char *text = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
    }
    json_decref(out);
    return rc;
}

