/* nrun volume ls|inspect|create|rm|prune: the named volumes of the store
 * (<root>/volumes/NAME/_data, what `run -v NAME:/path` mounts), in docker's
 * words.  A volume a container (running or not) mounts is never removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "runtime/runtime.h"

bool nr_volume_name_ok(const char *n)
{
    if (!*n || strlen(n) >= 128 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n[0]))
        return false;
    return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(n);
}

/* The names of the containers whose config.json mounts volume `name`, comma-separated, or NULL. */
static char *users_of(nr_global *g, const char *name)
{
    char **ids = NULL;
    size_t n = 0;
    nr_err ign;
    nr_buf b = {0};
    cleanup_free char *src = nr_xasprintf("%s/volumes/%s/_data", g->root, name);
    if (rt_container_list(g->root, &ids, &n, &ign) < 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *path = nr_xasprintf("%s/containers/%s/config.json", g->root, ids[i]);
        json_t *cfg = json_load_file(path, 0, NULL);
        size_t k;
        json_t *m;
        bool uses = false;
        json_array_foreach(json_object_get(cfg, "mounts"), k, m)
        {
            const char *s = json_string_value(json_object_get(m, "source"));
            uses |= s && !strcmp(s, src);
        }
        json_decref(cfg);
        if (uses) {
            rt_state st;
            if (rt_state_read(g->root, ids[i], &st, &ign) == 0) {
                nr_buf_addf(&b, "%s%s", b.len ? ", " : "", st.name);
                rt_state_free(&st);
            } else {
                nr_buf_addf(&b, "%s%.12s", b.len ? ", " : "", ids[i]);
            }
        }
        free(ids[i]);
    }
    free(ids);
    if (!b.len)
        return NULL;
    nr_buf_add(&b, "", 1);
    return b.data;
}

static char **list_names(nr_global *g, size_t *n)
{
    cleanup_free char *dir = nr_xasprintf("%s/volumes", g->root);
    cleanup_dir DIR *d = opendir(dir);
    char **v = NULL;
    *n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!nr_volume_name_ok(e->d_name))
            continue;
        v = nr_xrealloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = nr_xstrdup(e->d_name);
    }
    return v;
}

static json_t *volume_json(nr_global *g, const char *name)
{
    cleanup_free char *dir = nr_xasprintf("%s/volumes/%s", g->root, name);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return NULL;
    char created[64];
    nr_rfc3339(st.st_mtime, 0, created, sizeof created);
    cleanup_free char *mp = nr_xasprintf("%s/_data", dir);
    cleanup_free char *users = users_of(g, name);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Name", name, "Driver", "local", "Mountpoint", mp, "CreatedAt",
                     created, "Scope", "local", "UsedBy", users ? users : "");
}

static int remove_volume(nr_global *g, const char *name, nr_err *err)
{
    cleanup_free char *users = users_of(g, name);
    if (users)
        return nr_err_set(err, "remove %s: volume is in use - [%s]", name, users);
    cleanup_free char *dir = nr_xasprintf("%s/volumes", g->root);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    return nr_rm_rf(dfd, name, err);
}

int nr_cmd_volume(int argc, char **argv, nr_global *g)
{
    char label[32];
    int code;
    const char *sub = nr_group_sub(argc, argv, "volume",
                                   "Usage: nrun volume COMMAND\n\nManage volumes (run -v NAME:/path).\n\nCommands:\n"
                                   "  create [NAME]   make a volume (a random name without one)\n"
                                   "  inspect NAME... show volumes as JSON\n"
                                   "  ls              list volumes\n"
                                   "  rm NAME...      remove volumes no container uses\n"
                                   "  prune           remove every volume no container uses\n",
                                   label, sizeof label, &code);
    if (!sub)
        return code;
    argc--, argv++;
    static const nr_opt ls_opts[] = {
        {"quiet", 'q', no_argument, NULL, "names only"},
        {"format", NR_OPT_LONG, required_argument, "FORMAT", "table, json or a template like '{{.Name}}'"},
        {0},
    };
    static const nr_opt rm_opts[] = {
        {"force", 'f', no_argument, NULL, "no error for a volume that does not exist"},
        {"all", 'a', no_argument, NULL, "accepted (prune): every unused volume is removed"},
        {0},
    };
    static const nr_opt no_opts[] = {{0}};
    static const nr_cmdspec ls = {"volume ls [OPTIONS]", "List volumes.", ls_opts, true};
    static const nr_cmdspec insp = {"volume inspect NAME...", "Show volumes as JSON.", no_opts, true};
    static const nr_cmdspec create = {"volume create [NAME]", "Make a volume.", no_opts, true};
    static const nr_cmdspec rm = {"volume rm [OPTIONS] NAME...", "Remove volumes no container uses.", rm_opts, true};
    static const nr_cmdspec prune = {"volume prune [OPTIONS]", "Remove every volume no container uses.", rm_opts, true};
    const nr_cmdspec *spec = !strcmp(sub, "ls") || !strcmp(sub, "list") ? &ls
                             : !strcmp(sub, "inspect")                  ? &insp
                             : !strcmp(sub, "create")                   ? &create
                             : !strcmp(sub, "rm") || !strcmp(sub, "remove") ? &rm
                             : !strcmp(sub, "prune")                    ? &prune
                                                                        : NULL;
    if (!spec)
        return nr_usage_error(g, "volume: unknown command %s (create, inspect, ls, rm, prune)", sub);
    bool quiet = false, force = false;
    nr_format fmt = {.kind = NR_FMT_TABLE};
    int c;
    while ((c = nr_opt_next(spec, argc, argv, g)) != -1) {
        if (c == 'q')
            quiet = true;
        else if (c == 'f')
            force = true;
        else if (c == NR_OPT_LONG) {
            if (nr_format_parse(g, "volume ls", optarg, &fmt))
                return NR_EXIT_USAGE;
        } else if (c != 'a')
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    }
    nr_err err = {0};
    int rc = 0;
    if (spec == &create) {
        if (argc - optind > 1)
            return nr_usage_error(g, "volume create: one NAME at most");
        char name[65];
        if (argc - optind == 1) {
            if (!nr_volume_name_ok(argv[optind]))
                return nr_usage_error(g, "volume create: \"%s\": [a-zA-Z0-9][a-zA-Z0-9_.-]*, under 128 characters",
                                      argv[optind]);
            snprintf(name, sizeof name, "%s", argv[optind]);
        } else {
            unsigned char r[32];
            if (getrandom(r, sizeof r, 0) != sizeof r)
                return nr_usage_error(g, "volume create: no random bytes");
            for (int i = 0; i < 32; i++)
                sprintf(name + 2 * i, "%02x", r[i]);
        }
        cleanup_free char *vols = nr_xasprintf("%s/volumes", g->root);
        cleanup_free char *data = nr_xasprintf("%s/%s/_data", vols, name);
        if (mkdir(vols, 0700) < 0 && errno != EEXIST) {
            nr_err_sys(&err, errno, "mkdir %s", vols);
            return nr_err_report(&err, g->prog, NR_EXIT_STORE);
        }
        if (nr_mkdir_p(data, 0755, &err) < 0)
            return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        puts(name);
        return 0;
    }
    if (spec == &insp || spec == &rm) {
        if (optind >= argc)
            return nr_usage_error(g, "%s: which volume?", label);
        json_t *out = json_array();
        for (int i = optind; i < argc; i++) {
            json_t *v = nr_volume_name_ok(argv[i]) ? volume_json(g, argv[i]) : NULL;
            if (!v) {
                if (!(spec == &rm && force)) {
                    fprintf(stderr, "%s: no such volume: %s\n", g->prog, argv[i]);
                    rc = NR_EXIT_FAIL;
                }
                continue;
            }
            if (spec == &insp) {
                json_array_append_new(out, v);
                continue;
            }
            json_decref(v);
            if (remove_volume(g, argv[i], &err) < 0) {
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            } else {
                puts(argv[i]);
            }
        }
        if (spec == &insp) {
            char *t = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
            puts(t);
            free(t);
        }
        json_decref(out);
        return rc;
    }
    if (optind < argc)
        return nr_usage_error(g, "%s: takes no arguments", label);
    size_t n;
    char **names = list_names(g, &n);
    char **lines = nr_xcalloc(n + 2, sizeof *lines);
    size_t nl = 0;
    if (spec == &ls && fmt.kind == NR_FMT_TABLE && !quiet)
        lines[nl++] = fmt.tmpl ? nr_format_header(fmt.tmpl, NULL) : nr_xstrdup("DRIVER\tVOLUME NAME");
    if (spec == &prune)
        puts("Deleted Volumes:");
    for (size_t i = 0; i < n; i++) {
        if (spec == &prune) {
            cleanup_free char *users = users_of(g, names[i]);
            if (!users && remove_volume(g, names[i], &err) == 0)
                puts(names[i]);
            else if (!users)
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        } else if (quiet) {
            puts(names[i]);
        } else {
            json_t *v = volume_json(g, names[i]);
            if (v && fmt.kind == NR_FMT_JSON) {
                char *t = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                puts(t);
                free(t);
            } else if (v) {
                char *line = nr_format_render(fmt.tmpl ? fmt.tmpl : "local\t{{.Name}}", v);
                if (fmt.kind == NR_FMT_TEMPLATE)
                    puts(line), free(line);
                else
                    lines[nl++] = line;
            }
            json_decref(v);
        }
        free(names[i]);
    }
    free(names);
    nr_table_print(lines, nl, stdout);
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    return rc;
}
