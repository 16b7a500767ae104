/* compose's verbs that act on the project's containers one nrun command each:
 * kill, rm, pause, unpause, port, top, cp, images, wait, push, scale,
 * events, attach and version, with docker compose's flags and lines. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/compose.h"
#include "common/util.h"

int cmp_parse_index(nr_global *g, const char *verb, const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 100) {
        nr_usage_error(g, "compose %s: --index %s: expected a container number from 1 to 100", verb, s);
        return 0;
    }
    return (int)v;
}

static bool named(char **svcs, size_t n, const char *svc)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(svcs[i], svc))
            return true;
    return false;
}

/* the services named exist (enabled or behind a profile) */
static int check_services(const cmp_project *p, char **svcs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(json_object_get(p->model, "services"), svcs[i]) &&
            !json_object_get(p->disabled, svcs[i])) {
            cleanup_free char *e = nr_escape_controls(svcs[i]);
            fprintf(stderr, "nrun compose: no such service: %s\n", e);
            return -1;
        }
    return 0;
}

typedef enum { PICK_ANY, PICK_STOPPED, PICK_LIVE } pick_which;

/* The ids and names of the project's containers (not one-off ones) of the
 * services named (all when none), in the store's order: any, the stopped
 * ones (rm), or the running and paused ones (top). */
static int pick(nr_global *g, cmp_project *p, char **svcs, size_t nsvcs, pick_which which, cmp_strv *ids,
                cmp_strv *names)
{
    nr_err err = {0};
    cmp_ctr *cs;
    size_t n;
    if (check_services(p, svcs, nsvcs) < 0)
        return -1;
    if (cmp_ctrs_list(g, p->name, &cs, &n, &err) < 0) {
        nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const cmp_ctr *c = &cs[i];
        bool live = !strcmp(c->status, "running") || !strcmp(c->status, "paused");
        if (c->oneoff || (nsvcs && !named(svcs, nsvcs, c->service)) ||
            (which == PICK_STOPPED && (live || !strcmp(c->status, "restarting"))) || (which == PICK_LIVE && !live))
            continue;
        cmp_strv_push(ids, c->id);
        cmp_strv_push(names, c->name);
    }
    cmp_ctrs_free(cs, n);
    return 0;
}

/* The running container `index` of svc: its id, or NULL with a line said. */
static char *one_ctr(nr_global *g, cmp_project *p, const char *svc, int index)
{
    if (check_services(p, (char **)&svc, 1) < 0)
        return NULL;
    cmp_ctr *cs;
    size_t n;
    nr_err err = {0};
    if (cmp_ctrs_list(g, p->name, &cs, &n, &err) < 0) {
        nr_err_report(&err, "nrun compose", NR_EXIT_FAIL);
        return NULL;
    }
    cmp_ctr *ct = cmp_find_ctr_n(cs, n, p, svc, index);
    char *id = ct ? nr_xstrdup(ct->id) : NULL;
    cmp_ctrs_free(cs, n);
    if (!id) {
        cleanup_free char *e = nr_escape_controls(svc);
        fprintf(stderr, "nrun compose: service \"%s\" has no container %d\n", e, index);
    }
    return id;
}

/* nrun's verb (with flag) on each of ids, a line "Container NAME  DONE" each */
static int run_all(nr_global *g, const cmp_strv *ids, const cmp_strv *names, nr_cmd_fn fn, const char *verb,
                   const char *flag, const char *done)
{
    int rc = 0;
    for (size_t i = 0; i < ids->n; i++) {
        cmp_strv a = {0};
        cmp_strv_push(&a, verb);
        if (flag)
            cmp_strv_push(&a, flag);
        cmp_strv_push(&a, ids->v[i]);
        if (cmp_call(g, fn, &a, true)) {
            rc = NR_EXIT_FAIL;
        } else {
            cleanup_free char *e = nr_escape_controls(names->v[i]);
            fprintf(stderr, "Container %s  %s\n", e, done);
        }
        cmp_strv_free(&a);
    }
    return rc;
}

/* kill, pause, unpause, stop: nrun's verb on each container, one line each */
static int each(nr_global *g, cmp_project *p, char **svcs, size_t nsvcs, nr_cmd_fn fn, const char *verb,
                const char *flag, const char *done)
{
    cmp_strv ids = {0}, names = {0};
    int rc = pick(g, p, svcs, nsvcs, PICK_ANY, &ids, &names) < 0 ? NR_EXIT_FAIL
                                                                   : run_all(g, &ids, &names, fn, verb, flag, done);
    cmp_strv_free(&ids);
    cmp_strv_free(&names);
    return rc;
}

static int do_kill(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"signal", 's', required_argument, "SIGNAL", "the signal to send (default SIGKILL)"},
        {"remove-orphans", NR_OPT_LONG, no_argument, NULL, "accepted"},
        {0},
    };
    static const nr_cmdspec spec = {"compose kill [-s SIGNAL] [SERVICE...]", "Send a signal to the services' containers.",
                                    opts, false};
    cleanup_free char *flag = NULL;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 's': free(flag), flag = nr_xasprintf("--signal=%s", optarg); break;
        case NR_OPT_LONG: break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    return each(g, p, argv + optind, (size_t)(argc - optind), nr_cmd_kill, "kill", flag, "Killed");
}

static int do_pause(nr_global *g, cmp_project *p, int argc, char **argv, bool pause)
{
    int h = cmp_no_opts(g, argc, argv, pause ? "compose pause [SERVICE...]" : "compose unpause [SERVICE...]",
                        pause ? "Freeze the services' containers." : "Thaw the services' containers.");
    if (h)
        return h == -1 ? 0 : NR_EXIT_USAGE;
    return each(g, p, argv + optind, (size_t)(argc - optind), pause ? nr_cmd_pause : nr_cmd_unpause,
                pause ? "pause" : "unpause", NULL, pause ? "Paused" : "Unpaused");
}

/* rm: the stopped containers (-s stops them first), after a yes unless -f */
static int do_rm(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"force", 'f', no_argument, NULL, "do not ask"},
        {"stop", 's', no_argument, NULL, "stop the containers first"},
        {"volumes", 'v', no_argument, NULL, "remove their anonymous volumes"},
        {0},
    };
    static const nr_cmdspec spec = {"compose rm [-f] [-s] [-v] [SERVICE...]",
                                    "Remove the services' stopped containers.", opts, false};
    bool force = false, stop = false, vols = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'f': force = true; break;
        case 's': stop = true; break;
        case 'v': vols = true; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    char **svcs = argv + optind;
    size_t nsvcs = (size_t)(argc - optind);
    if (stop) {
        int r = each(g, p, svcs, nsvcs, nr_cmd_stop, "stop", NULL, "Stopped");
        if (r)
            return r;
    }
    cmp_strv ids = {0}, names = {0};
    if (pick(g, p, svcs, nsvcs, PICK_STOPPED, &ids, &names) < 0)
        return NR_EXIT_FAIL;
    int rc = 0;
    if (!ids.n) {
        fprintf(stderr, "No stopped containers\n");
        goto out;
    }
    if (!force) {
        fprintf(stderr, "Going to remove");
        for (size_t i = 0; i < names.n; i++) {
            cleanup_free char *e = nr_escape_controls(names.v[i]);
            fprintf(stderr, "%s %s", i ? "," : "", e);
        }
        fprintf(stderr, "\n? Are you sure? (y/N) ");
        char line[16] = "";
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            fprintf(stderr, "\n");
            goto out;
        }
    }
    rc = run_all(g, &ids, &names, nr_cmd_rm, "rm", vols ? "-v" : NULL, "Removed");
out:
    cmp_strv_free(&ids);
    cmp_strv_free(&names);
    return rc;
}

/* port SERVICE PRIVATE_PORT: the host address it is published on */
static int do_port(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_INDEX = NR_OPT_LONG, O_PROTO };
    static const nr_opt opts[] = {
        {"index", O_INDEX, required_argument, "N", "the service's Nth container (default 1)"},
        {"protocol", O_PROTO, required_argument, "tcp|udp", "the port's protocol (default tcp)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose port [--index N] [--protocol tcp|udp] SERVICE PRIVATE_PORT",
                                    "Print the host address a service's port is published on.", opts, false};
    int index = 1, c;
    const char *proto = "tcp";
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_INDEX:
            if (!(index = cmp_parse_index(g, "port", optarg)))
                return NR_EXIT_USAGE;
            break;
        case O_PROTO:
            if (strcmp(optarg, "tcp") && strcmp(optarg, "udp"))
                return nr_usage_error(g, "compose port: --protocol %s: tcp or udp", optarg);
            proto = optarg;
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return nr_usage_error(g, "compose port: SERVICE PRIVATE_PORT");
    const char *port = argv[optind + 1];
    if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 || atoi(port) < 1 ||
        atoi(port) > 65535)
        return nr_usage_error(g, "compose port: %s: expected a port number", port);
    cleanup_free char *id = one_ctr(g, p, argv[optind], index);
    if (!id)
        return NR_EXIT_FAIL;
    cmp_strv a = {0};
    cmp_strv_push(&a, "port");
    cmp_strv_push(&a, id);
    cmp_strv_pushf(&a, "%s/%s", port, proto);
    int r = cmp_call(g, nr_cmd_port, &a, false);
    cmp_strv_free(&a);
    return r;
}

/* cp [--index N] SERVICE:SRC DEST | SRC SERVICE:DEST */
static int do_cp(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"index", NR_OPT_LONG, required_argument, "N", "the service's Nth container (default 1)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose cp [--index N] SERVICE:SRC DEST | SRC SERVICE:DEST",
                                    "Copy files between a service's container and the host.", opts, false};
    int index = 1, c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case NR_OPT_LONG:
            if (!(index = cmp_parse_index(g, "cp", optarg)))
                return NR_EXIT_USAGE;
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return nr_usage_error(g, "compose cp: SERVICE:SRC DEST or SRC SERVICE:DEST");
    /* the side with SERVICE: (a path with a '/' before its ':' is the host's) */
    int side = -1;
    for (int k = 0; k < 2; k++) {
        const char *s = argv[optind + k], *colon = strchr(s, ':');
        if (colon && colon > s && memchr(s, '/', (size_t)(colon - s)) == NULL) {
            if (side >= 0)
                return nr_usage_error(g, "compose cp: copying between services is not supported");
            side = k;
        }
    }
    if (side < 0)
        return nr_usage_error(g, "compose cp: one of SRC and DEST must be SERVICE:PATH");
    const char *arg = argv[optind + side];
    cleanup_free char *svc = nr_xstrndup(arg, (size_t)(strchr(arg, ':') - arg));
    cleanup_free char *id = one_ctr(g, p, svc, index);
    if (!id)
        return NR_EXIT_FAIL;
    cmp_strv a = {0};
    cmp_strv_push(&a, "cp");
    for (int k = 0; k < 2; k++) {
        if (k == side)
            cmp_strv_pushf(&a, "%s%s", id, strchr(arg, ':'));
        else
            cmp_strv_push(&a, argv[optind + k]);
    }
    int r = cmp_call(g, nr_cmd_cp, &a, false);
    cmp_strv_free(&a);
    return r;
}

/* top [SERVICE...]: each container's name, then its processes */
static int do_top(nr_global *g, cmp_project *p, int argc, char **argv)
{
    int h = cmp_no_opts(g, argc, argv, "compose top [SERVICE...]", "Show the processes of the services' containers.");
    if (h)
        return h == -1 ? 0 : NR_EXIT_USAGE;
    cmp_strv ids = {0}, names = {0};
    if (pick(g, p, argv + optind, (size_t)(argc - optind), PICK_LIVE, &ids, &names) < 0)
        return NR_EXIT_FAIL;
    int rc = 0;
    bool first = true;
    for (size_t i = 0; i < ids.n; i++) {
        cleanup_free char *e = nr_escape_controls(names.v[i]);
        printf("%s%s\n", first ? "" : "\n", e);
        first = false;
        cmp_strv a = {0};
        cmp_strv_push(&a, "top");
        cmp_strv_push(&a, ids.v[i]);
        if (cmp_call(g, nr_cmd_top, &a, false))
            rc = NR_EXIT_FAIL;
        cmp_strv_free(&a);
    }
    cmp_strv_free(&ids);
    cmp_strv_free(&names);
    return rc;
}

/* images [-q] [SERVICE...]: the image each container runs */
static int do_images(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"quiet", 'q', no_argument, NULL, "image ids only"},
        {"format", NR_OPT_LONG, required_argument, "table|json", "how to print (default table)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose images [-q] [--format table|json] [SERVICE...]",
                                    "List the images the services' containers run.", opts, false};
    bool quiet = false, json = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case NR_OPT_LONG:
            if (strcmp(optarg, "table") && strcmp(optarg, "json"))
                return nr_usage_error(g, "compose images: --format %s: table or json", optarg);
            json = !strcmp(optarg, "json");
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    cmp_strv ids = {0}, names = {0};
    if (pick(g, p, argv + optind, (size_t)(argc - optind), PICK_ANY, &ids, &names) < 0)
        return NR_EXIT_FAIL;
    json_t *rows = json_array();
    for (size_t i = 0; i < ids.n; i++) {
        bool found;
        nr_err ign = {0};
        json_auto_t *ci = nr_inspect_container(g, ids.v[i], &found, &ign);
        const char *ref = json_string_value(json_object_get(json_object_get(ci, "Config"), "Image"));
        const char *iid = json_string_value(json_object_get(ci, "Image"));
        if (!ref || !iid)
            continue;
        json_auto_t *ii = nr_inspect_image(g, iid, false, &found, &ign);
        json_int_t size = json_integer_value(json_object_get(ii, "Size"));
        /* name:tag (the tag after the last ':' past the last '/') */
        cleanup_free char *repo = nr_xstrdup(ref);
        char *slash = strrchr(repo, '/'), *colon = strrchr(repo, ':');
        const char *tag = "latest";
        if (colon && (!slash || colon > slash)) {
            *colon = 0;
            tag = colon + 1;
        }
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:I}", "ContainerName", names.v[i], "Repository",
                                              repo, "Tag", tag, "ID", iid, "Size", size));
    }
    size_t i;
    json_t *r;
    if (json) {
        cleanup_free char *t = json_dumps(rows, JSON_COMPACT);
        puts(t);
    } else if (quiet) {
        json_array_foreach(rows, i, r) {
            const char *id = json_string_value(json_object_get(r, "ID"));
            printf("%.12s\n", strncmp(id, "sha256:", 7) ? id : id + 7);
        }
    } else {
        printf("%-24s %-32s %-12s %-14s %s\n", "CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE");
        json_array_foreach(rows, i, r) {
            const char *id = json_string_value(json_object_get(r, "ID"));
            char sz[32];
            nr_human_size((unsigned long long)json_integer_value(json_object_get(r, "Size")), sz, sizeof sz);
            cleanup_free char *cn = nr_escape_controls(json_string_value(json_object_get(r, "ContainerName")));
            cleanup_free char *rp = nr_escape_controls(json_string_value(json_object_get(r, "Repository")));
            cleanup_free char *tg = nr_escape_controls(json_string_value(json_object_get(r, "Tag")));
            printf("%-24s %-32s %-12s %-14.12s %s\n", cn, rp, tg, strncmp(id, "sha256:", 7) ? id : id + 7, sz);
        }
    }
    json_decref(rows);
    cmp_strv_free(&ids);
    cmp_strv_free(&names);
    return fflush(stdout) ? NR_EXIT_FAIL : 0;
}

/* wait SERVICE...: until their containers stop; their exit codes */
static int do_wait(nr_global *g, cmp_project *p, int argc, char **argv)
{
    int h = cmp_no_opts(g, argc, argv, "compose wait SERVICE...", "Wait for the services' containers to stop; print their exit codes.");
    if (h)
        return h == -1 ? 0 : NR_EXIT_USAGE;
    if (optind >= argc)
        return nr_usage_error(g, "compose wait: which SERVICE?");
    cmp_strv ids = {0}, names = {0};
    if (pick(g, p, argv + optind, (size_t)(argc - optind), PICK_ANY, &ids, &names) < 0)
        return NR_EXIT_FAIL;
    int rc = 0;
    if (!ids.n) {
        fprintf(stderr, "nrun compose: no containers for the services named\n");
        rc = NR_EXIT_FAIL;
    } else {
        cmp_strv a = {0};
        cmp_strv_push(&a, "wait");
        for (size_t i = 0; i < ids.n; i++)
            cmp_strv_push(&a, ids.v[i]);
        rc = nr_cmd_wait((int)a.n, a.v, g); /* (in this process, as events) */
        cmp_strv_free(&a);
    }
    cmp_strv_free(&ids);
    cmp_strv_free(&names);
    return rc;
}

/* push [SERVICE...]: the images of the services that name one */
static int do_push(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"ignore-push-failures", NR_OPT_LONG, no_argument, NULL, "go on after a failed push"},
        {"quiet", 'q', no_argument, NULL, "no progress"},
        {0},
    };
    static const nr_cmdspec spec = {"compose push [--ignore-push-failures] [SERVICE...]",
                                    "Push the images of the services that name one (nrun push).", opts, false};
    bool ignore = false, quiet = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case NR_OPT_LONG: ignore = true; break;
        case 'q': quiet = true; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    char **svcs = argv + optind;
    size_t nsvcs = (size_t)(argc - optind);
    if (check_services(p, svcs, nsvcs) < 0)
        return NR_EXIT_FAIL;
    const char *k;
    json_t *s;
    int rc = 0;
    json_object_foreach(json_object_get(p->model, "services"), k, s) {
        const char *image = json_string_value(json_object_get(s, "image"));
        if ((nsvcs && !named(svcs, nsvcs, k)) || !image)
            continue;
        cmp_strv a = {0};
        cmp_strv_push(&a, "push");
        if (quiet)
            cmp_strv_push(&a, "-q");
        cmp_strv_push(&a, image);
        int r = cmp_call(g, nr_cmd_push, &a, quiet);
        cmp_strv_free(&a);
        if (r) {
            cleanup_free char *e = nr_escape_controls(k);
            fprintf(stderr, "nrun compose: service %s: the push of %s failed\n", e, image);
            rc = NR_EXIT_FAIL;
            if (!ignore)
                break;
        }
    }
    return ignore ? 0 : rc;
}

/* scale SERVICE=N...: up -d --no-deps with those scales */
static int do_scale(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"no-deps", NR_OPT_LONG, no_argument, NULL, "accepted (the services named only)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose scale SERVICE=N...", "Set the number of containers of services.", opts,
                                    false};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        if (c != NR_OPT_LONG)
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (optind >= argc)
        return nr_usage_error(g, "compose scale: SERVICE=N...");
    cmp_strv up = {0}, svcs = {0};
    cmp_strv_push(&up, "compose up");
    cmp_strv_push(&up, "-d");
    cmp_strv_push(&up, "--no-deps");
    for (int i = optind; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            cmp_strv_free(&up);
            cmp_strv_free(&svcs);
            return nr_usage_error(g, "compose scale: %s: expected SERVICE=N", argv[i]);
        }
        cmp_strv_push(&up, "--scale");
        cmp_strv_push(&up, argv[i]);
        cleanup_free char *svc = nr_xstrndup(argv[i], (size_t)(eq - argv[i]));
        cmp_strv_push(&svcs, svc);
    }
    for (size_t i = 0; i < svcs.n; i++)
        cmp_strv_push(&up, svcs.v[i]);
    optind = 1;
    int r = cmp_up(g, p, (int)up.n, up.v);
    cmp_strv_free(&up);
    cmp_strv_free(&svcs);
    return r;
}

/* events [--json] [SERVICE]: nrun events of the project's containers */
static int do_events(nr_global *g, cmp_project *p, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"json", NR_OPT_LONG, no_argument, NULL, "one JSON object per line"},
        {0},
    };
    static const nr_cmdspec spec = {"compose events [--json] [SERVICE]",
                                    "Show the events of the project's containers as they happen.", opts, false};
    bool json = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case NR_OPT_LONG: json = true; break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (argc - optind > 1)
        return nr_usage_error(g, "compose events: at most one SERVICE (nrun's label filters are all required)");
    if (check_services(p, argv + optind, (size_t)(argc - optind)) < 0)
        return NR_EXIT_FAIL;
    cmp_strv a = {0};
    cmp_strv_push(&a, "events");
    cmp_strv_pushf(&a, "--filter=label=com.docker.compose.project=%s", p->name);
    if (optind < argc)
        cmp_strv_pushf(&a, "--filter=label=com.docker.compose.service=%s", argv[optind]);
    if (json)
        cmp_strv_push(&a, "--format=json");
    /* in this process: it runs until killed, and a signal to compose is one to it */
    int r = nr_cmd_events((int)a.n, a.v, g);
    cmp_strv_free(&a);
    return r;
}

/* attach [--index N] SERVICE */
static int do_attach(nr_global *g, cmp_project *p, int argc, char **argv)
{
    enum { O_INDEX = NR_OPT_LONG, O_KEYS, O_NOSTDIN, O_SIGPROXY };
    static const nr_opt opts[] = {
        {"index", O_INDEX, required_argument, "N", "the service's Nth container (default 1)"},
        {"detach-keys", O_KEYS, required_argument, "KEYS", "the keys that detach"},
        {"no-stdin", O_NOSTDIN, no_argument, NULL, "do not send this terminal's input"},
        {"sig-proxy", O_SIGPROXY, optional_argument, "true|false", "pass signals to the container (default true)"},
        {0},
    };
    static const nr_cmdspec spec = {"compose attach [--index N] SERVICE",
                                    "Connect this terminal to a service's running container.", opts, false};
    int index = 1, c;
    cmp_strv a = {0};
    cmp_strv_push(&a, "attach");
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case O_INDEX:
            if (!(index = cmp_parse_index(g, "attach", optarg))) {
                cmp_strv_free(&a);
                return NR_EXIT_USAGE;
            }
            break;
        case O_KEYS: cmp_strv_pushf(&a, "--detach-keys=%s", optarg); break;
        case O_NOSTDIN: cmp_strv_push(&a, "--no-stdin"); break;
        case O_SIGPROXY: cmp_strv_pushf(&a, "--sig-proxy=%s", optarg ? optarg : "true"); break;
        default: cmp_strv_free(&a); return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        cmp_strv_free(&a);
        return nr_usage_error(g, "compose attach: SERVICE");
    }
    cleanup_free char *id = one_ctr(g, p, argv[optind], index);
    if (!id) {
        cmp_strv_free(&a);
        return NR_EXIT_FAIL;
    }
    cmp_strv_push(&a, id);
    int r = nr_cmd_attach((int)a.n, a.v, g);
    cmp_strv_free(&a);
    return r;
}

int cmp_version(nr_global *g, int argc, char **argv)
{
    static const nr_opt opts[] = {
        {"short", NR_OPT_LONG, no_argument, NULL, "the version only"},
        {"format", 'f', required_argument, "pretty|json", "how to print"},
        {0},
    };
    static const nr_cmdspec spec = {"compose version [--short] [-f pretty|json]", "Show the version.", opts, false};
    bool sh = false, json = false;
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case NR_OPT_LONG: sh = true; break;
        case 'f':
            if (strcmp(optarg, "pretty") && strcmp(optarg, "json"))
                return nr_usage_error(g, "compose version: --format %s: pretty or json", optarg);
            json = !strcmp(optarg, "json");
            break;
        default: return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return nr_usage_error(g, "compose version: no arguments");
    if (sh)
        puts(NR_VERSION);
    else if (json)
        puts("{\"version\":\"" NR_VERSION "\"}");
    else
        puts("nrun compose version " NR_VERSION);
    return fflush(stdout) ? NR_EXIT_FAIL : 0;
}

int cmp_more(nr_global *g, cmp_project *p, const char *sub, int argc, char **argv)
{
    return !strcmp(sub, "kill")      ? do_kill(g, p, argc, argv)
           : !strcmp(sub, "rm")      ? do_rm(g, p, argc, argv)
           : !strcmp(sub, "pause")   ? do_pause(g, p, argc, argv, true)
           : !strcmp(sub, "unpause") ? do_pause(g, p, argc, argv, false)
           : !strcmp(sub, "port")    ? do_port(g, p, argc, argv)
           : !strcmp(sub, "cp")      ? do_cp(g, p, argc, argv)
           : !strcmp(sub, "top")     ? do_top(g, p, argc, argv)
           : !strcmp(sub, "images")  ? do_images(g, p, argc, argv)
           : !strcmp(sub, "wait")    ? do_wait(g, p, argc, argv)
           : !strcmp(sub, "push")    ? do_push(g, p, argc, argv)
           : !strcmp(sub, "scale")   ? do_scale(g, p, argc, argv)
           : !strcmp(sub, "events")  ? do_events(g, p, argc, argv)
           : !strcmp(sub, "attach")  ? do_attach(g, p, argc, argv)
                                     : -1;
}
