/* nrun: the command-line front of the image store and the runtime.  It only
 * parses global options and dispatches; each subcommand lives in its module. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/err.h"

static nr_cmd_fn lookup(const char *name)
{
    struct {
        const char *name;
        nr_cmd_fn fn;
    } table[] = {
        {"run", nr_cmd_run},
        {"create", nr_cmd_create},
        {"start", nr_cmd_start},
        {"ps", nr_cmd_ps},
        {"stop", nr_cmd_stop},
        {"kill", nr_cmd_kill},
        {"rm", nr_cmd_rm},
        {"logs", nr_cmd_logs},
        {"exec", nr_cmd_exec},
        {"container", NULL},
        {"oci", nr_cmd_oci},
        {"__internal", nr_cmd_internal},
        {"reload", nr_cmd_reload},
        {"scale", nr_cmd_scale},
        {"stats", nr_cmd_stats},
        {"top", nr_cmd_top},
        {"loglevel", nr_cmd_loglevel},
        {"dye", nr_cmd_dye},
        {"supervise", nr_cmd_supervise},
        {"images", nr_cmd_images},
        {"rmi", nr_cmd_rmi},
        {"tag", nr_cmd_tag},
        {"image", nr_cmd_image},
        {"pull", nr_cmd_pull},
        {"push", nr_cmd_push},
        {"login", nr_cmd_login},
        {"logout", nr_cmd_logout},
        {"save", nr_cmd_save},
        {"load", nr_cmd_load},
        {"build", nr_cmd_build},
        {"base", nr_cmd_base},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].name, name))
            return table[i].fn ? table[i].fn : (nr_cmd_fn)-1;
    return NULL;
}

static void usage(FILE *f)
{
    fputs("Usage: nrun [--root DIR] COMMAND [ARGS...]\n"
          "       nrun [--root DIR] IMAGE [CMD...]      (same as nrun run)\n"
          "\n"
          "Containers:  run create start ps stop kill rm logs exec inspect\n"
          "Supervisor:  reload scale stats top loglevel dye\n"
          "Images:      images rmi tag image (ls|rm|inspect|prune) pull push login logout save load base\n"
          "OCI runtime: oci (create|start|state|kill|delete)\n"
          "\n"
          "Global options:\n"
          "  --root DIR   store and state directory (env NRUN_ROOT, default " NR_DEFAULT_ROOT ")\n",
          f);
}

/* `nrun inspect X` looks for a container first, then an image, as docker does. */
/* `nrun inspect [--type container|image] [--no-verify] NAME...`: each name is
 * a container if there is one of that name or id, else an image (docker's
 * order); one JSON array of them all; a name that is neither is an error. */
static int cmd_inspect(int argc, char **argv, nr_global *g)
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
        if (containers && nr_inspect_container)
            j = nr_inspect_container(g, argv[i], &found, &err);
        if (!j && !found && images && nr_inspect_image) {
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

int main(int argc, char **argv)
{
    nr_global g = {.root = getenv("NRUN_ROOT"), .prog = "nrun"};
    if (!g.root || !*g.root)
        g.root = NR_DEFAULT_ROOT;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--root")) {
            if (++i >= argc)
                return nr_usage_error(&g, "--root needs a directory");
            g.root = argv[i];
        } else if (!strncmp(argv[i], "--root=", 7)) {
            g.root = argv[i] + 7;
        } else if (!strcmp(argv[i], "--debug")) {
            g.debug = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            puts("nrun version " NR_VERSION);
            return 0;
        } else {
            return nr_usage_error(&g, "unknown global option %s (see nrun --help)", argv[i]);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return NR_EXIT_USAGE;
    }
    if (!*g.root)
        return nr_usage_error(&g, "--root must not be empty");
    if (!strcmp(argv[i], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[i], "inspect"))
        return cmd_inspect(argc - i, argv + i, &g);
    nr_cmd_fn fn = lookup(argv[i]);
    if (fn == (nr_cmd_fn)-1)
        return nr_usage_error(&g, "%s: not supported yet", argv[i]);
    if (fn)
        return fn(argc - i, argv + i, &g);
    /* Not a command: docker-like shorthand `nrun IMAGE [CMD...]`. */
    if (!nr_cmd_run)
        return nr_usage_error(&g, "unknown command %s (see nrun --help)", argv[i]);
    argv[i - 1] = "run";
    return nr_cmd_run(argc - i + 1, argv + i - 1, &g);
}
