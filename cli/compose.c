/* nrun compose [-f FILE]... [-p NAME] [--project-directory DIR] [--env-file F] SUB:
 * docker compose's verbs over nrun's own commands (cli/compose.h).  This
 * file is the front (global flags, the verb table) and the verbs that are a
 * loop over the project's containers: down, ps, start, stop, restart,
 * config, ls.  up is in compose_up.c, logs in compose_logs.c, build and pull
 * in compose_images.c, exec and run in compose_exec.c, kill, rm, port, cp,
 * top, images and the other one-command verbs in compose_verbs.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/compose.h"
#include "cli/compose_int.h"
#include "common/util.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

#define COMPOSE_COMMANDS \
    "Commands:\n" \
    "  up [-d | --wait [--wait-timeout S]] [--abort-on-container-exit | --exit-code-from SERVICE]\n" \
    "     [--scale SERVICE=N] [--build] [--no-build] [--force-recreate | --no-recreate] [--no-deps]\n" \
    "     [--pull always|missing|never|build] [--remove-orphans] [SERVICE...]\n" \
    "  down [-v] [--rmi local|all] [--remove-orphans]\n" \
    "  ps [-a] [-q] [--services] [--status S] [SERVICE]\n" \
    "  logs [-f] [-t] [-n N] [--since WHEN] [--no-log-prefix] [--index N] [SERVICE...]\n" \
    "  build [--no-cache] [--pull] [--build-arg K=V]... [SERVICE...]\n" \
    "  pull [-q] [--ignore-pull-failures] [--include-deps] [--policy missing|always] [SERVICE...]\n" \
    "  start|stop|restart [SERVICE...]    exec [-T] [-e K=V] [-w DIR] [-u USER] [--index N] SERVICE CMD...\n" \
    "  run [--rm] [-d] [-T] [-e K=V] [--no-deps] SERVICE [CMD...]\n" \
    "  config [--format yaml|json] [--services] [--volumes] [-q]\n" \
    "  ls [-a] [-q] [--format table|json]\n" \
    "  kill [-s SIGNAL] [SERVICE...]      rm [-f] [-s] [-v] [SERVICE...]\n" \
    "  pause|unpause [SERVICE...]         top [SERVICE...]\n" \
    "  port [--index N] [--protocol tcp|udp] SERVICE PRIVATE_PORT\n" \
    "  cp [--index N] SERVICE:SRC DEST | SRC SERVICE:DEST\n" \
    "  images [-q] [SERVICE...]           wait SERVICE...\n" \
    "  push [SERVICE...]                  scale SERVICE=N...\n" \
    "  events [--json] [SERVICE]          attach [--index N] SERVICE\n" \
    "  version [--short]\n"

static const char *const help_text =
    "Usage: nrun compose [-f FILE]... [-p NAME] [--project-directory DIR] [--env-file FILE] COMMAND\n"
    "\n"
    "Run an application of several services from a compose file (docker compose's words).\n"
    "\n" COMPOSE_COMMANDS
    "\n"
    "Options:\n"
    "  -f, --file FILE               the compose file (repeatable: later files merge over earlier; default\n"
    "                                compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml)\n"
    "  -p, --project-name NAME       the project's name (default: name:, else the directory's name)\n"
    "      --project-directory DIR   where relative paths and .env are (default: the first file's directory)\n"
    "      --env-file FILE           read variables from FILE instead of the project's .env (repeatable)\n"
    "  -h, --help                    show this help\n";

cmp_ctr *cmp_find_ctr(cmp_ctr *cs, size_t n, const char *svc)
{
    for (size_t i = 0; i < n; i++)
        if (!cs[i].oneoff && !strcmp(cs[i].service, svc))
            return &cs[i];
    return NULL;
}

cmp_ctr *cmp_find_ctr_n(cmp_ctr *cs, size_t n, const cmp_project *p, const char *svc, int index)
{
    cleanup_free char *want = cmp_ctr_name_n(p, svc, index);
    json_t *sm = json_object_get(json_object_get(p->model, "services"), svc);
    if (index > 1 && json_object_get(sm, "container_name")) /* one container only */
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!cs[i].oneoff && !strcmp(cs[i].service, svc) && !strcmp(cs[i].name, want))
            return &cs[i];
    return index == 1 ? cmp_find_ctr(cs, n, svc) : NULL;
}

static int call2(nr_global *g, nr_cmd_fn fn, const char *verb, const char *a1, const char *a2, bool quiet)
{
    cmp_strv a = {0};
    cmp_strv_push(&a, verb);
    if (a1)
        cmp_strv_push(&a, a1);
    if (a2)
        cmp_strv_push(&a, a2);
    int r = cmp_call(g, fn, &a, quiet);
    cmp_strv_free(&a);
    return r;
}

int cmp_no_opts(nr_global *g, int argc, char **argv, const char *usage, const char *about)
{
    static const nr_opt none[] = {{0}};
    nr_cmdspec spec = {usage, about, none, true};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? -1 : -2;
    return 0;
}

static int do_down(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_RMI = NR_OPT_LONG, O_ORPHANS };
    static const nr_opt opts[] = {
        {"volumes", 'v', no_argument, NULL, "remove the project's volumes too (not external ones)"},
        {"rmi", O_RMI, required_argument, "local|all", "remove images: the built ones (local) or all the services'"},
        {"remove-orphans", O_ORPHANS, no_argument, NULL, "also containers of services no longer in the file"},
        {"timeout", 't', required_argument, "S", "accepted (the services' stop_grace_period applies)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose down [-v] [--rmi local|all] [--remove-orphans]",
                                    "Stop and remove the project's containers and networks.", opts, true};
    bool vols = false, orphans = false;
    const char *rmi = NULL;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'v': vols = true; break;
        case O_RMI: rmi = optarg; break;
        case O_ORPHANS: orphans = true; break;
        case 't': break;
        case NR_OPT_HELP: return 0;
        default: return NR_EXIT_USAGE;
        }
    }
    if (rmi && strcmp(rmi, "local") && strcmp(rmi, "all"))
        return nr_usage_error(g, "compose down: --rmi %s: expected local or all", rmi);
    nr_err err = {0};
    cmp_ctr *cs;
    size_t n;
    if (cmp_ctrs_list(g, p->name, &cs, &n, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    json_t *svcs = json_object_get(p->model, "services");
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        /* a service whose profile is not active is still the project's (no orphan) */
        bool known = json_object_get(svcs, cs[i].service) || json_object_get(p->disabled, cs[i].service);
        if (!known && !orphans && !cs[i].oneoff) {
            fprintf(stderr, "nrun compose: warning: orphan container %s kept (--remove-orphans removes it)\n",
                    cs[i].name);
            continue;
        }
        if (!strcmp(cs[i].status, "running")) {
            fprintf(stderr, "Container %s  Stopping\n", cs[i].name);
            call2(g, nr_cmd_stop, "stop", cs[i].id, NULL, true);
        }
        if (call2(g, nr_cmd_rm, "rm", "-f", cs[i].id, true))
            rc = NR_EXIT_FAIL;
        else
            fprintf(stderr, "Container %s  Removed\n", cs[i].name);
    }
    cmp_ctrs_free(cs, n);
    {
        /* the secret and config files up wrote (write_contents, compose_up.c) */
        cleanup_free char *files = nr_xasprintf("%s/compose/%s.files", g->root, p->name);
        nr_err ign;
        if (access(files, F_OK) == 0 && nr_rm_rf(AT_FDCWD, files, &ign) < 0)
            fprintf(stderr, "nrun compose: %s\n", ign.msg);
    }
    const char *k;
    json_t *v;
    /* the networks and volumes up recorded making, never one the file merely names (a
     * cloned file's `name: pgdata` is not a licence to remove the user's own volume) */
    json_t *saved = cmp_state_load(g, p->name);
    static const char *const kinds[] = {"networks", "volumes"};
    for (int kind = 0; kind < (vols ? 2 : 1); kind++) {
        json_t *names = json_array();
        size_t i;
        json_array_foreach(json_object_get(saved, kinds[kind]), i, v) {
            const char *n = json_string_value(v);
            bool dup = false, external = false;
            size_t j;
            json_t *y;
            json_array_foreach(names, j, y) dup |= n && !strcmp(json_string_value(y), n);
            /* recorded, but external in this file: not ours to remove */
            json_object_foreach(json_object_get(p->model, kinds[kind]), k, y) {
                char *full = kind == 0 ? cmp_net_name(p, k) : cmp_vol_name(p, k);
                external |= n && json_is_true(json_object_get(y, "external")) && !strcmp(full, n);
                free(full);
            }
            bool valid = n && (kind == 0 ? rt_net_name_valid(n) : nr_volume_name_ok(n));
            if (valid && !dup && !external)
                json_array_append(names, v);
        }
        json_array_foreach(names, i, v) {
            const char *name = json_string_value(v);
            if (kind == 0) {
                nr_err ign = {0};
                if (rt_net_exists(g->root, name, &ign) < 0)
                    continue;
                if (call2(g, nr_cmd_network, "network", "rm", name, true))
                    rc = NR_EXIT_FAIL;
                else
                    fprintf(stderr, "Network %s  Removed\n", name);
            } else {
                cleanup_free char *path = nr_xasprintf("%s/volumes/%s", g->root, name);
                if (access(path, F_OK) < 0)
                    continue;
                if (call2(g, nr_cmd_volume, "volume", "rm", name, true))
                    rc = NR_EXIT_FAIL;
                else
                    fprintf(stderr, "Volume %s  Removed\n", name);
            }
        }
        json_decref(names);
    }
    json_decref(saved);
    if (rmi) {
        json_object_foreach(svcs, k, v) {
            bool built = !json_object_get(v, "image");
            if (!built && strcmp(rmi, "all"))
                continue;
            cleanup_free char *img = cmp_svc_image(p, k);
            if (cmp_image_exists(g, img) && call2(g, nr_cmd_rmi, "rmi", img, NULL, true) == 0)
                fprintf(stderr, "Image %s  Removed\n", img);
        }
    }
    cleanup_free char *state = nr_xasprintf("%s/compose/%s.json", g->root, p->name);
    json_t *keep = vols ? NULL : cmp_state_load(g, p->name);
    if (rc == 0 && json_array_size(json_object_get(keep, "volumes"))) {
        /* down without -v: the volumes up made stay recorded, so that a later down -v
         * removes them (and only them) */
        json_object_set_new(keep, "networks", json_array());
        cleanup_free char *dir = nr_xasprintf("%s/compose", g->root);
        cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        cleanup_free char *text = json_dumps(keep, JSON_COMPACT);
        cleanup_free char *file = nr_xasprintf("%s.json", p->name);
        nr_err ign;
        if (dfd < 0 || !text || nr_write_atomic(dfd, file, text, strlen(text), 0600, &ign) < 0)
            unlink(state);
    } else if (rc == 0) {
        unlink(state);
    }
    json_decref(keep);
    return rc;
}

static bool status_ok(const char *s)
{
    static const char *const all[] = {"created", "restarting", "running", "removing", "paused", "exited", "dead", NULL};
    for (const char *const *x = all; *x; x++)
        if (!strcmp(*x, s))
            return true;
    return false;
}

/* ps --services: the services that have containers (running ones unless
 * -a; of the --status given), sorted, once each */
static int ps_services(nr_global *g, cmp_project *p, bool all, const cmp_strv *status)
{
    cmp_ctr *cs;
    size_t n;
    nr_err err = {0};
    if (cmp_ctrs_list(g, p->name, &cs, &n, &err) < 0)
        return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    json_auto_t *seen = json_object();
    for (size_t i = 0; i < n; i++) {
        bool ok = !cs[i].oneoff && (all || status->n || !strcmp(cs[i].status, "running"));
        if (ok && status->n) {
            ok = false;
            for (size_t k = 0; k < status->n; k++)
                ok |= !strcmp(status->v[k], cs[i].status);
        }
        if (ok)
            json_object_set_new(seen, cs[i].service, json_true());
    }
    cmp_ctrs_free(cs, n);
    size_t m = json_object_size(seen), i = 0;
    const char **names = nr_xcalloc(m ? m : 1, sizeof *names);
    const char *k;
    json_t *v;
    json_object_foreach(seen, k, v) names[i++] = k;
    qsort(names, m, sizeof *names, (int (*)(const void *, const void *))cmp_strcmpp);
    for (i = 0; i < m; i++)
        puts(names[i]);
    free(names);
    return fflush(stdout) ? NR_EXIT_FAIL : 0;
}

static int do_ps(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_FORMAT = NR_OPT_LONG, O_SERVICES, O_STATUS, O_FILTER };
    static const nr_opt opts[] = {
        {"all", 'a', no_argument, NULL, "stopped containers too"},
        {"quiet", 'q', no_argument, NULL, "ids only"},
        {"format", O_FORMAT, required_argument, "FORMAT", "as nrun ps --format"},
        {"services", O_SERVICES, no_argument, NULL, "the services' names only"},
        {"status", O_STATUS, required_argument, "STATUS", "only containers in that state (repeatable)"},
        {"filter", O_FILTER, required_argument, "status=STATUS", "the same as --status"},
        {0},
    };
    static const nr_cmdspec spec = {"compose ps [-a] [-q] [--services] [--status S] [SERVICE]",
                                    "List the project's containers (nrun ps of its labels).", opts, true};
    cmp_strv a = {0}, status = {0};
    cmp_strv_push(&a, "ps");
    bool services = false, all = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        const char *st = c == O_STATUS ? optarg : c == O_FILTER && !strncmp(optarg, "status=", 7) ? optarg + 7 : NULL;
        if (c == 'a' || c == 'q') {
            cmp_strv_pushf(&a, "-%c", c);
            all |= c == 'a';
        } else if (c == O_FORMAT) {
            cmp_strv_pushf(&a, "--format=%s", optarg);
        } else if (c == O_SERVICES) {
            services = true;
        } else if (st && status_ok(st)) {
            cmp_strv_push(&status, st);
        } else if (c == O_STATUS || c == O_FILTER) {
            cmp_strv_free(&a);
            cmp_strv_free(&status);
            return nr_usage_error(g, "compose ps: %s %s: expected %sone of created, restarting, running, removing, "
                                     "paused, exited, dead", c == O_STATUS ? "--status" : "--filter", optarg,
                                  c == O_FILTER ? "status= and " : "");
        } else {
            cmp_strv_free(&a);
            cmp_strv_free(&status);
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (services) {
        cmp_strv_free(&a);
        int r = ps_services(g, p, all, &status);
        cmp_strv_free(&status);
        return r;
    }
    if (status.n) {
        /* (nrun ps: one status filter; a list of them as docker's, any of them) */
        if (status.n > 1) {
            cmp_strv_free(&a);
            cmp_strv_free(&status);
            return nr_usage_error(g, "compose ps: one --status at most (with --services, several)");
        }
        cmp_strv_push(&a, "-a");
        cmp_strv_pushf(&a, "--filter=status=%s", status.v[0]);
    }
    cmp_strv_free(&status);
    if (argc - optind > 1) {
        cmp_strv_free(&a);
        return nr_usage_error(g, "compose ps: one SERVICE at most");
    }
    cmp_strv_pushf(&a, "--filter=label=com.docker.compose.project=%s", p->name);
    cmp_strv_push(&a, "--filter=label=com.docker.compose.oneoff=False");
    nr_err perr = {0};
    if (optind < argc && cmp_enable(p, argv + optind, 1, &perr) < 0) {
        cmp_strv_free(&a);
        return nr_err_report(&perr, "nrun compose", NR_EXIT_FAIL);
    }
    if (optind < argc) {
        if (!json_object_get(json_object_get(p->model, "services"), argv[optind])) {
            cmp_strv_free(&a);
            return nr_usage_error(g, "compose ps: no such service: %s", argv[optind]);
        }
        cmp_strv_pushf(&a, "--filter=label=com.docker.compose.service=%s", argv[optind]);
    }
    int r = cmp_call(g, nr_cmd_ps, &a, false);
    cmp_strv_free(&a);
    return r;
}

/* start, stop, restart: the services' containers, in dependency order (stop: reversed) */
static int do_lifecycle(nr_global *g, cmp_project *p, int argc, char **argv, const char *verb)
{
    char usage[80];
    snprintf(usage, sizeof usage, "compose %s [SERVICE...]", verb);
    int h = cmp_no_opts(g, argc, argv, usage, "Start, stop or restart the services' containers.");
    if (h)
        return h == -1 ? 0 : NR_EXIT_USAGE;
    nr_err err = {0};
    cmp_strv order = {0};
    cmp_ctr *cs;
    size_t n;
    if (cmp_order(p, argv + optind, (size_t)(argc - optind), true, &order, &err) < 0 ||
        cmp_ctrs_list(g, p->name, &cs, &n, &err) < 0) {
        cmp_strv_free(&order);
        return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    }
    bool stop = !strcmp(verb, "stop");
    nr_cmd_fn fn = stop ? nr_cmd_stop : !strcmp(verb, "start") ? nr_cmd_start : nr_cmd_restart;
    int rc = 0;
    for (size_t k = 0; k < order.n; k++) {
        const char *svc = order.v[stop ? order.n - 1 - k : k];
        if (!cmp_find_ctr(cs, n, svc) && argc > optind) {
            fprintf(stderr, "nrun compose: service %s has no container (compose up makes it)\n", svc);
            rc = NR_EXIT_FAIL;
        }
        for (size_t j = 0; j < n; j++) { /* each replica */
            cmp_ctr *ct = &cs[j];
            if (ct->oneoff || strcmp(ct->service, svc) || (!strcmp(verb, "start") && !strcmp(ct->status, "running")))
                continue;
            if (call2(g, fn, verb, ct->id, NULL, true)) {
                rc = NR_EXIT_FAIL;
                continue;
            }
            fprintf(stderr, "Container %s  %s\n", ct->name,
                    stop ? "Stopped" : !strcmp(verb, "start") ? "Started" : "Restarted");
        }
    }
    cmp_ctrs_free(cs, n);
    cmp_strv_free(&order);
    return rc;
}

static int do_config(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_FORMAT = NR_OPT_LONG, O_SERVICES, O_VOLUMES, O_NETWORKS };
    static const nr_opt opts[] = {
        {"format", O_FORMAT, required_argument, "yaml|json", "how to print the model (default yaml)"},
        {"quiet", 'q', no_argument, NULL, "only check the files"},
        {"services", O_SERVICES, no_argument, NULL, "print the services' names"},
        {"volumes", O_VOLUMES, no_argument, NULL, "print the volumes' names"},
        {"networks", O_NETWORKS, no_argument, NULL, "print the networks' names"},
        {0},
    };
    static const nr_cmdspec spec = {"compose config [--format yaml|json] [--services] [-q]",
                                    "Print the resolved model: files merged, variables interpolated.", opts, true};
    const char *fmt = "yaml", *list = NULL;
    bool quiet = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_FORMAT: fmt = optarg; break;
        case 'q': quiet = true; break;
        case O_SERVICES: list = "services"; break;
        case O_VOLUMES: list = "volumes"; break;
        case O_NETWORKS: list = "networks"; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (strcmp(fmt, "yaml") && strcmp(fmt, "json"))
        return nr_usage_error(g, "compose config: --format %s: expected yaml or json", fmt);
    if (quiet)
        return 0;
    if (list) {
        cmp_strv order = {0};
        nr_err err = {0};
        if (!strcmp(list, "services")) {
            if (cmp_order(p, NULL, 0, false, &order, &err) < 0)
                return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
            for (size_t i = 0; i < order.n; i++)
                puts(order.v[i]);
            cmp_strv_free(&order);
            return 0;
        }
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(p->model, list), k, v) puts(k);
        return 0;
    }
    char *text;
    if (!strcmp(fmt, "json")) {
        text = json_dumps(p->model, JSON_INDENT(2) | JSON_SORT_KEYS);
    } else {
        nr_err err = {0};
        text = cmp_yaml_dump(p->model, &err);
        if (!text)
            return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    }
    fputs(text, stdout);
    if (!strcmp(fmt, "json"))
        fputc('\n', stdout);
    free(text);
    return 0;
}

static int do_ls(nr_global *g, int argc, char **argv)
{
    enum { O_FORMAT = NR_OPT_LONG };
    static const nr_opt opts[] = {
        {"all", 'a', no_argument, NULL, "stopped projects too"},
        {"quiet", 'q', no_argument, NULL, "names only"},
        {"format", O_FORMAT, required_argument, "table|json", "how to print"},
        {0},
    };
    static const nr_cmdspec spec = {"compose ls [-a] [-q] [--format table|json]",
                                    "List the projects that compose up made in this store.", opts, true};
    bool all = false, quiet = false, json = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'q': quiet = true; break;
        case O_FORMAT:
            if (strcmp(optarg, "table") && strcmp(optarg, "json"))
                return nr_usage_error(g, "compose ls: --format %s: expected table or json", optarg);
            json = !strcmp(optarg, "json");
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    cleanup_free char *dir = nr_xasprintf("%s/compose", g->root);
    DIR *d = opendir(dir);
    json_t *rows = json_array();
    char name[256];
    while (d && nr_readdir_suffix(d, ".json", name, sizeof name)) {
        cleanup_free char *path = nr_xasprintf("%s/%s.json", dir, name);
        json_t *j = json_load_file(path, 0, NULL);
        const char *pn = json_string_value(json_object_get(j, "name"));
        if (!pn || strcmp(pn, name)) {
            json_decref(j);
            continue;
        }
        cmp_ctr *cs;
        size_t n, run = 0;
        nr_err err = {0};
        if (cmp_ctrs_list(g, pn, &cs, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++)
                run += !strcmp(cs[i].status, "running");
            cmp_ctrs_free(cs, n);
        } else {
            n = 0;
        }
        if (run || (all && n)) {
            nr_buf files = {0};
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(j, "config_files"), i, f) {
                if (i)
                    nr_buf_addstr(&files, ",");
                nr_buf_addstr(&files, json_string_value(f));
            }
            nr_buf_add(&files, "", 1);
            cleanup_free char *status = run == n ? nr_xasprintf("running(%zu)", run)
                                                 : nr_xasprintf("running(%zu), exited(%zu)", run, n - run);
            json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "Name", pn, "Status", status, "ConfigFiles",
                                                  files.data));
            nr_buf_free(&files);
        }
        json_decref(j);
    }
    if (d)
        closedir(d);
    if (json) {
        char *t = json_dumps(rows, JSON_COMPACT);
        puts(t);
        free(t);
    } else {
        if (!quiet)
            printf("%-20s %-24s %s\n", "NAME", "STATUS", "CONFIG FILES");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) {
            if (quiet)
                puts(json_string_value(json_object_get(r, "Name")));
            else
                printf("%-20s %-24s %s\n", json_string_value(json_object_get(r, "Name")),
                       json_string_value(json_object_get(r, "Status")),
                       json_string_value(json_object_get(r, "ConfigFiles")));
        }
    }
    json_decref(rows);
    return 0;
}

/* what `up` recorded for project `name` when no compose file is in the
 * working directory, or NULL */
static json_t *saved_project(nr_global *g, const char *name)
{
    for (const char *const *f = (const char *const[]){"compose.yaml", "compose.yml", "docker-compose.yaml",
                                                      "docker-compose.yml", NULL};
         *f; f++)
        if (access(*f, F_OK) == 0)
            return NULL;
    json_t *j = cmp_state_load(g, name);
    const char *dir = json_string_value(json_object_get(j, "working_dir"));
    json_t *files = json_object_get(j, "config_files");
    size_t i;
    json_t *f;
    bool ok = dir && json_is_array(files) && json_array_size(files) > 0;
    json_array_foreach(files, i, f) ok &= json_is_string(f);
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int dispatch(nr_global *g, cmp_project *p, const char *sub, int argc, char **argv)
{
    return !strcmp(sub, "up")       ? cmp_up(g, p, argc, argv)
           : !strcmp(sub, "down")   ? do_down(g, p, argc, argv)
           : !strcmp(sub, "ps")     ? do_ps(g, p, argc, argv)
           : !strcmp(sub, "logs")   ? cmp_logs(g, p, argc, argv)
           : !strcmp(sub, "build")  ? cmp_build(g, p, argc, argv)
           : !strcmp(sub, "pull")   ? cmp_pull(g, p, argc, argv)
           : !strcmp(sub, "exec")   ? cmp_exec(g, p, argc, argv)
           : !strcmp(sub, "run")    ? cmp_run_oneoff(g, p, argc, argv)
           : !strcmp(sub, "config") ? do_config(g, p, argc, argv)
           : (!strcmp(sub, "start") || !strcmp(sub, "stop") || !strcmp(sub, "restart"))
               ? do_lifecycle(g, p, argc, argv, sub)
               : cmp_more(g, p, sub, argc, argv);
}

int nr_cmd_compose(int argc, char **argv, nr_global *g)
{
    enum { O_PDIR = NR_OPT_LONG, O_ENVF, O_PROFILE, O_ANSI, O_PROGRESS };
    static const nr_opt opts[] = {
        {"file", 'f', required_argument, "FILE", "a compose file (repeatable)"},
        {"project-name", 'p', required_argument, "NAME", "the project's name"},
        {"project-directory", O_PDIR, required_argument, "DIR", "the project's directory"},
        {"env-file", O_ENVF, required_argument, "FILE", "variables for interpolation (instead of .env)"},
        {"profile", O_PROFILE, required_argument, "NAME", "enable a profile (repeatable; default: COMPOSE_PROFILES)"},
        {"ansi", O_ANSI, required_argument, "never|auto|always", "accepted (nrun prints no colours)"},
        {"progress", O_PROGRESS, required_argument, "MODE", "accepted"},
        {0},
    };
    static nr_cmdspec spec = {"compose [OPTIONS] COMMAND", NULL, opts, false};
    spec.about = "Run an application of several services from a compose file.";
    cmp_opts o = {0};
    const char *files[64], *envs[16], *profs[64];
    o.files = files;
    o.env_files = envs;
    o.profiles = profs;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'f':
            if (o.nfiles == 64)
                return nr_usage_error(g, "compose: at most 64 -f files");
            files[o.nfiles++] = optarg;
            break;
        case 'p': o.project_name = optarg; break;
        case O_PDIR: o.project_dir = optarg; break;
        case O_ENVF:
            if (o.nenv_files == 16)
                return nr_usage_error(g, "compose: at most 16 --env-file files");
            envs[o.nenv_files++] = optarg;
            break;
        case O_PROFILE:
            if (o.nprofiles == 64)
                return nr_usage_error(g, "compose: at most 64 --profile");
            profs[o.nprofiles++] = optarg;
            break;
        case O_ANSI:
        case O_PROGRESS: break;
        case NR_OPT_HELP: /* usage and options are printed: the commands follow */
            fputs("\n" COMPOSE_COMMANDS, stdout);
            return 0;
        default: return NR_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(help_text, stderr);
        return NR_EXIT_USAGE;
    }
    int sub_at = optind;
    const char *sub = argv[sub_at];
    static const char *const verbs[] = {"up",     "down",  "ps",    "logs",    "build", "start",  "stop",
                                        "restart", "exec", "run",   "pull",    "config", "ls",    "kill",
                                        "rm",     "pause", "unpause", "port",  "cp",     "top",   "images",
                                        "wait",   "push",  "scale", "events",  "attach", "version", NULL};
    bool known = false;
    for (const char *const *v = verbs; *v; v++)
        known |= !strcmp(*v, sub);
    if (!known) {
        cleanup_free char *e = nr_escape_controls(sub);
        return nr_usage_error(g, "compose: unknown command \"%s\" (see 'nrun compose --help')", e);
    }
    char label[64];
    snprintf(label, sizeof label, "compose %s", sub);
    int sargc = argc - sub_at;
    char **sargv = nr_xcalloc((size_t)sargc + 1, sizeof *sargv);
    memcpy(sargv, argv + sub_at, (size_t)sargc * sizeof *sargv);
    sargv[0] = label;
    int rc;
    if (!strcmp(sub, "ls") || !strcmp(sub, "version")) {
        rc = !strcmp(sub, "ls") ? do_ls(g, sargc, sargv) : cmp_version(g, sargc, sargv);
        free(sargv);
        return rc;
    }
    /* --help of a verb without a compose file */
    for (int i = 1; i < sargc; i++) {
        if (!strcmp(sargv[i], "--"))
            break;
        if (!strcmp(sargv[i], "--help") || !strcmp(sargv[i], "-h")) {
            /* every verb parses its options before it reads the project */
            cmp_project none = {.name = (char *)""};
            rc = dispatch(g, &none, sub, sargc, sargv);
            free(sargv);
            return rc;
        }
    }
    cmp_project p;
    nr_err err = {0};
    json_t *saved = NULL;
    const char *saved_files[64];
    if (!o.nfiles && !o.project_dir && o.project_name && (saved = saved_project(g, o.project_name))) {
        /* -p NAME away from the project: the files `up` read, from the store (as compose finds a project by name) */
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(saved, "config_files"), i, f) if (i < 64) saved_files[o.nfiles++] =
            json_string_value(f);
        o.files = saved_files;
        o.project_dir = json_string_value(json_object_get(saved, "working_dir"));
    }
    if (cmp_load(&o, &p, &err) < 0) {
        cmp_project_free(&p);
        free(sargv);
        json_decref(saved);
        return nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
    }
    rc = dispatch(g, &p, sub, sargc, sargv);
    json_decref(saved);
    cmp_project_free(&p);
    free(sargv);
    return rc;
}
