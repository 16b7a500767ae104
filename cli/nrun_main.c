/* nrun: the command-line front of the image store and the runtime.  It only
 * parses global options and dispatches through the command table
 * (cli/commands.h); each command lives in its own cli/ file. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "common/err.h"
#include "images/image.h"
#include "images/store.h"
#include "runtime/runtime.h"

typedef struct nr_cmd {
    const char *verb;
    nr_cmd_fn fn;
    const char *group;
    const char *summary;
} nr_cmd;

#define NR_CMD_ENTRY(verb, fn, group, summary) {verb, fn, group, summary},
static const nr_cmd commands[] = {NR_COMMANDS(NR_CMD_ENTRY)};
#undef NR_CMD_ENTRY

static const nr_cmd *lookup(const char *verb)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].verb, verb))
            return &commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fputs("Usage: nrun [OPTIONS] COMMAND [ARGS...]\n"
          "       nrun [OPTIONS] IMAGE[:TAG] [CMD...]    (same as nrun run IMAGE CMD...)\n",
          f);
    const char *group = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const nr_cmd *c = &commands[i];
        if (!*c->group)
            continue;
        if (!group || strcmp(group, c->group))
            fprintf(f, "\n%s:\n", group = c->group);
        fprintf(f, "  %-12s %s\n", c->verb, c->summary);
    }
    fputs("\nGlobal options:\n"
          "  --root DIR   store and state directory (env NRUN_ROOT, default " NR_DEFAULT_ROOT ",\n"
          "               for a non-root user $XDG_DATA_HOME/nrun or ~/.local/share/nrun)\n"
          "  --debug      more detail in error messages\n"
          "  --version    print the version\n"
          "\nRun 'nrun COMMAND --help' for a command's options.\n",
          f);
}

/* The shorthand `nrun IMAGE [CMD...]` is taken only for a word that reads as an
 * image reference on its own (a tag, a digest or a registry/path part), or
 * that names an image in the store; anything else is an unknown command. */
static bool image_word(nr_global *g, const char *w)
{
    if (strpbrk(w, ":/@"))
        return true;
    /* no store yet: no image, and an unknown word must not make one */
    char index[4096];
    snprintf(index, sizeof index, "%s/index.json", g->root);
    if (access(index, F_OK) < 0)
        return false;
    img_store *s;
    nr_err err = {0};
    if (img_store_open(g->root, &s, &err) < 0)
        return false;
    img_image *img = NULL;
    bool found = img_image_load(s, w, &img, &err) == 0;
    if (img)
        img_image_free(img);
    img_store_close(s);
    return found;
}

static bool removes_layers(const char *verb)
{
    static const char *const verbs[] = {"rmi", "image", "system"};
    for (size_t i = 0; i < NR_ARRAY_LEN(verbs); i++)
        if (!strcmp(verb, verbs[i]))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    nr_global g = {.root = getenv("NRUN_ROOT"), .prog = "nrun"};
    if (g.root && !*g.root)
        g.root = NULL;
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
        } else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
            puts("nrun version " NR_VERSION);
            return 0;
        } else {
            return nr_usage_error(&g, "unknown global option %s (see 'nrun --help')", argv[i]);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return NR_EXIT_USAGE;
    }
    if (g.root && !*g.root)
        return nr_usage_error(&g, "--root must not be empty");
    cleanup_free char *def_root = NULL;
    if (!g.root) {
        nr_err err;
        if (nr_root_default(&def_root, &err) < 0)
            return nr_err_report(&err, g.prog, NR_EXIT_STORE);
        g.root = def_root;
    }
    if (!strcmp(argv[i], "help")) {
        if (i + 1 < argc && lookup(argv[i + 1])) { /* `nrun help ps` = `nrun ps --help` */
            char *hargv[] = {argv[i + 1], "--help", NULL};
            return lookup(argv[i + 1])->fn(2, hargv, &g);
        }
        usage(stdout);
        return 0;
    }
    const nr_cmd *c = lookup(argv[i]);
    if (c && geteuid() != 0 && removes_layers(c->verb)) {
        /* a non-root caller's store holds files of its subuid range (the
         * layers its rootless builds unpacked): removing them takes the
         * user namespace nbuild builds in (runtime/userns.c) */
        nr_err err;
        rt_userns_info ui;
        if (rt_userns_enter(&ui, &err) < 0)
            return nr_err_report(&err, g.prog, NR_EXIT_STORE);
    }
    if (c)
        return c->fn(argc - i, argv + i, &g);
    if (argv[i][0] && image_word(&g, argv[i])) {
        argv[i - 1] = "run";
        return nr_cmd_run(argc - i + 1, argv + i - 1, &g);
    }
    fprintf(stderr, "nrun: unknown command \"%s\" (see 'nrun --help')\n", argv[i]);
    return NR_EXIT_USAGE;
}
