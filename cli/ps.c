/* nrun ps [-a] [-q] [--format json] and nrun inspect CONTAINER (container
 * part; returns 127 when nothing matches so `nrun inspect` tries images). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util.h"
#include "cli/cli.h"
#include "runtime/create.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

static void human_duration(long long s, char *out, size_t len)
{
    if (s < 60)
        snprintf(out, len, "%lld second%s", s, s == 1 ? "" : "s");
    else if (s < 3600)
        snprintf(out, len, "%lld minute%s", s / 60, s / 60 == 1 ? "" : "s");
    else if (s < 86400)
        snprintf(out, len, "%lld hour%s", s / 3600, s / 3600 == 1 ? "" : "s");
    else
        snprintf(out, len, "%lld day%s", s / 86400, s / 86400 == 1 ? "" : "s");
}

static void status_text(const rt_state *st, const char *live, char *out, size_t len)
{
    long long now = time(NULL);
    char d[64];
    if (!strcmp(live, "running")) {
        human_duration(now - st->started, d, sizeof d);
        snprintf(out, len, "Up %s", d);
    } else if (!strcmp(live, "restarting")) {
        human_duration(now - (st->finished ? st->finished : st->started), d, sizeof d);
        snprintf(out, len, "Restarting (%d) %s ago", st->exit_code, d);
    } else if (!strcmp(live, "exited")) {
        bool lost = !strcmp(st->status, "running"); /* init died with nobody to record it */
        human_duration(now - (lost || !st->finished ? st->started : st->finished), d, sizeof d);
        if (lost)
            snprintf(out, len, "Exited (unknown) %s ago", d);
        else
            snprintf(out, len, "Exited (%d)%s %s ago", st->exit_code, st->oom_killed ? " OOMKilled" : "", d);
    } else {
        snprintf(out, len, "Created");
    }
}

/* Does config.json ask for a HEALTHCHECK (image or flags)?  Only then is PID 1 asked. */
static bool has_healthcheck(const json_t *cfg)
{
    const json_t *a = json_object_get(cfg, "annotations");
    return a && !json_object_get(a, "org.nrun.supervisor.no-healthcheck") &&
           (json_object_get(a, "org.nrun.supervisor.health-test") || json_object_get(a, "org.nrun.supervisor.health-cmd"));
}

/* .State.Health from the running container's PID 1, its Status checked
 * (the host prints it), or NULL. */
static json_t *health_of(nr_global *g, const char *id, const json_t *cfg)
{
    if (!has_healthcheck(cfg))
        return NULL;
    nr_err ign = {0};
    cleanup_free char *reply = sv_control_call(g, id, NULL, "{\"cmd\":\"health\"}", 2000, &ign);
    json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
    json_t *h = json_object_get(r, "health");
    const char *st = json_string_value(json_object_get(h, "Status"));
    if (!st || (strcmp(st, "starting") && strcmp(st, "healthy") && strcmp(st, "unhealthy")) ||
        !json_is_integer(json_object_get(h, "FailingStreak")) || !json_is_array(json_object_get(h, "Log")))
        h = NULL;
    json_incref(h);
    json_decref(r);
    return h;
}

/* docker's STATUS suffix: "Up 3 minutes (healthy)" */
static void status_health(char *status, size_t len, const json_t *h)
{
    const char *st = json_string_value(json_object_get(h, "Status"));
    size_t n = strlen(status);
    if (st && n < len)
        snprintf(status + n, len - n, !strcmp(st, "starting") ? " (health: starting)" : " (%s)", st);
}

static json_t *state_json(const rt_state *st, const char *live)
{
    char created[64], started[64], finished[64];
    nr_rfc3339(st->created, 0, created, sizeof created);
    nr_rfc3339(st->started, 0, started, sizeof started);
    nr_rfc3339(st->finished, 0, finished, sizeof finished);
    bool lost = !strcmp(live, "exited") && !strcmp(st->status, "running");
    bool paused = rt_state_paused(st); /* docker: Status "paused", Running and Paused true */
    json_t *j = json_pack("{s:s, s:b, s:b, s:b, s:i, s:i, s:b, s:s, s:s, s:i}", "Status", paused ? "paused" : live, "Running",
                     !strcmp(live, "running"), "Paused", paused, "Restarting", !strcmp(live, "restarting"), "Pid", !strcmp(live, "running") ? (int)st->pid : 0, "ExitCode", lost ? -1 : st->exit_code,
                     "OOMKilled", st->oom_killed, "StartedAt", st->started ? started : "", "FinishedAt",
                     st->finished ? finished : "", "RestartCount", st->restart_count);
    return j;
}

/* What an nrun killed at the wrong moment leaves: a container dir that never
 * got its state (killed while creating it), a .rm-<id> dir half deleted
 * (killed while removing it).  Once a minute old, so that no nrun is still
 * at work on it, the next ps removes them. */
#define LEFTOVER_AGE 60
static bool old_enough(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && time(NULL) - sb.st_mtime > LEFTOVER_AGE;
}

static void stateless_removed(const char *root, const char *id)
{
    cleanup_free char *dir = rt_ctr_dir(root, id);
    cleanup_free char *state = nr_xasprintf("%s/state.json", dir);
    struct stat sb;
    nr_err ign;
    if (stat(state, &sb) < 0 && errno == ENOENT && old_enough(dir))
        rt_container_remove(root, id, &ign);
}

static void leftovers_removed(const char *root)
{
    cleanup_free char *dir = nr_xasprintf("%s/containers", root);
    cleanup_dir DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, ".rm-", 4))
            continue;
        cleanup_free char *p = nr_xasprintf("%s/%s", dir, e->d_name);
        nr_err ign;
        if (old_enough(p))
            rt_ctr_dir_discard(root, p, e->d_name + 4, &ign);
    }
}

/* Columns count characters, not bytes (a UTF-8 name, the ellipsis). */
static size_t display_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* The bytes of the first n characters of s. */
static size_t prefix_bytes(const char *s, size_t n)
{
    size_t i = 0;
    for (size_t c = 0; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && c++ == n)
            break;
    }
    return i;
}

static int newest_first(const void *a, const void *b)
{
    const rt_state *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? 1 : -1;
    if (x->created_ns != y->created_ns)
        return x->created_ns < y->created_ns ? 1 : -1;
    return strcmp(x->id, y->id);
}

/* run.json of a container (cli/run.c): its docker-shaped config; {} when absent. */
static json_t *run_json(const char *root, const char *id)
{
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/run.json", root, id);
    json_t *j = json_load_file(path, 0, NULL);
    return j ? j : json_object();
}

/* config.json's published ports (org.nrun.ports): [{address, host, container}] */
static json_t *ports_of(const char *root, const char *id, json_t **cfg_out)
{
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/config.json", root, id);
    json_t *cfg = json_load_file(path, 0, NULL);
    const char *s = json_string_value(json_object_get(json_object_get(cfg, "annotations"), "org.nrun.ports"));
    /* as attached, when it runs: the host ports -P and -p CTR were given */
    json_t *p = rt_net_ports_json(root, id);
    if (!p || !json_array_size(p)) {
        json_decref(p);
        p = s ? json_loads(s, 0, NULL) : NULL;
    }
    if (cfg_out)
        *cfg_out = cfg;
    else
        json_decref(cfg);
    return json_is_array(p) ? p : (json_decref(p), json_array());
}

/* "0.0.0.0:8080->80/tcp, 127.0.0.1:9000->9000/tcp", as docker's PORTS column */
static char *ports_text(const json_t *ports)
{
    nr_buf b = {0};
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        const char *a = json_string_value(json_object_get(p, "address"));
        const char *pr = json_string_value(json_object_get(p, "proto"));
        nr_buf_addf(&b, "%s%s:%lld->%lld/%s", i ? ", " : "", a && *a ? a : "0.0.0.0",
                    (long long)json_integer_value(json_object_get(p, "host")),
                    (long long)json_integer_value(json_object_get(p, "container")), pr ? pr : "tcp");
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

static char *labels_text(const json_t *labels)
{
    nr_buf b = {0};
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)labels, k, v)
    {
        nr_buf_addf(&b, "%s%s=%s", first ? "" : ",", k, json_is_string(v) ? json_string_value(v) : "");
        first = false;
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

/* What a --filter sees of one container. */
typedef struct ps_row {
    const rt_state *st;
    const char *live;
    const json_t *labels;
} ps_row;

static bool filter_one(const nr_filter *f, void *row)
{
    const ps_row *r = row;
    const rt_state *st = r->st;
    const char *live = r->live;
    const json_t *labels = r->labels;
    if (!strcmp(f->key, "name"))
        return strstr(st->name, f->value) != NULL;
    if (!strcmp(f->key, "id"))
        return !strncmp(st->id, f->value, strlen(f->value));
    if (!strcmp(f->key, "status"))
        return !strcmp(live, f->value);
    if (!strcmp(f->key, "ancestor"))
        return !strcmp(st->image, f->value) || (!strchr(f->value, ':') && !strncmp(st->image, f->value, strlen(f->value)) &&
                                                 st->image[strlen(f->value)] == ':');
    if (!strcmp(f->key, "label")) {
        const char *eq = strchr(f->value, '=');
        cleanup_free char *k = eq ? nr_xstrndup(f->value, (size_t)(eq - f->value)) : nr_xstrdup(f->value);
        const json_t *v = json_object_get(labels, k);
        return v && (!eq || (json_is_string(v) && !strcmp(json_string_value(v), eq + 1)));
    }
    return false;
}


int nr_cmd_ps(int argc, char **argv, nr_global *g)
{
    enum { O_FORMAT = NR_OPT_LONG, O_NOTRUNC };
    static const nr_opt opts[] = {
        {"all", 'a', no_argument, NULL, "show all containers (default: running ones)"},
        {"quiet", 'q', no_argument, NULL, "print container ids only"},
        {"filter", 'f', required_argument, "KEY=VALUE", "name=, id=, status=, ancestor=, label=KEY[=VALUE]"},
        {"format", O_FORMAT, required_argument, "FORMAT", "table, json, or a template: '{{.Names}} {{.Status}}'"},
        {"no-trunc", O_NOTRUNC, no_argument, NULL, "do not shorten ids and commands"},
        {0},
    };
    static const nr_cmdspec spec = {"ps [OPTIONS]",
                                    "List containers.  Template fields: .ID .Names .Image .Command .CreatedAt "
                                    ".RunningFor .Status .State .Ports .Labels", opts, true};
    static const char *const heads[] = {"ID", "CONTAINER ID", "RunningFor", "CREATED", "CreatedAt", "CREATED AT", NULL};
    bool all = false, quiet = false, notrunc = false;
    nr_format fmt = {.kind = NR_FMT_TABLE};
    nr_filter *filters = nr_xcalloc((size_t)argc + 1, sizeof *filters);
    size_t nfilters = 0;
    int c, rc = 0;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'q': quiet = true; break;
        case O_NOTRUNC: notrunc = true; break;
        case 'f': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                rc = nr_usage_error(g, "ps: --filter %s: expected KEY=VALUE", optarg);
                goto out;
            }
            *eq = 0;
            if (strcmp(optarg, "name") && strcmp(optarg, "id") && strcmp(optarg, "status") &&
                strcmp(optarg, "ancestor") && strcmp(optarg, "label")) {
                rc = nr_usage_error(g, "ps: --filter %s: name, id, status, ancestor or label", optarg);
                goto out;
            }
            filters[nfilters++] = (nr_filter){optarg, eq + 1};
            /* docker: a status filter shows stopped containers too */
            all |= !strcmp(optarg, "status");
            break;
        }
        case O_FORMAT:
            if (nr_format_parse(g, "ps", optarg, &fmt)) {
                rc = NR_EXIT_USAGE;
                goto out;
            }
            break;
        default: rc = c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE; goto out;
        }
    }
    if (optind < argc) {
        rc = nr_usage_error(g, "ps: takes no arguments (got \"%s\")", argv[optind]);
        goto out;
    }
    char **ids;
    size_t n;
    nr_err err = {0};
    if (rt_container_list(g->root, &ids, &n, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        goto out;
    }
    /* newest first, as docker lists them */
    rt_state *sts = nr_xcalloc(n ? n : 1, sizeof *sts);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (rt_state_read(g->root, ids[i], &sts[m], &err) == 0) {
            if (!rt_state_orphan_removed(g->root, &sts[m]))
                m++;
        } else {
            stateless_removed(g->root, ids[i]); /* or being created right now */
        }
        free(ids[i]);
    }
    free(ids);
    leftovers_removed(g->root);
    rt_net_gc(g->root); /* network attachments of containers whose nrun was killed */
    nr_deploy_recover(g); /* deploys whose nrun was killed */
    qsort(sts, m, sizeof *sts, newest_first);
    const char *tmpl = fmt.tmpl ? fmt.tmpl
                                : "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    char **lines = nr_xcalloc(m + 2, sizeof *lines);
    size_t nlines = 0;
    if (fmt.kind == NR_FMT_TABLE && !quiet)
        lines[nlines++] = nr_format_header(tmpl, heads);
    for (size_t i = 0; i < m; i++) {
        rt_state st = sts[i];
        const char *live = rt_state_live_status(&st);
        json_t *run = run_json(g->root, st.id);
        json_t *labels = json_object_get(json_object_get(run, "config"), "Labels");
        ps_row row = {&st, live, labels};
        if ((all || !strcmp(live, "running")) && nr_filters_match(filters, nfilters, filter_one, &row)) {
            char status[160], ago[64];
            status_text(&st, live, status, sizeof status);
            bool paused = !quiet && rt_state_paused(&st); /* a frozen PID 1 answers nothing */
            if (paused)
                snprintf(status + strlen(status), sizeof status - strlen(status), " (Paused)");
            json_t *cfg = NULL;
            json_t *ports = ports_of(g->root, st.id, &cfg);
            json_t *health = !quiet && !paused && !strcmp(live, "running") ? health_of(g, st.id, cfg) : NULL;
            json_decref(cfg);
            status_health(status, sizeof status, health);
            cleanup_free char *ptext = ports_text(ports);
            cleanup_free char *ltext = labels_text(labels);
            if (quiet) {
                printf("%.*s\n", notrunc ? 64 : 12, st.id);
            } else if (fmt.kind == NR_FMT_JSON) {
                json_t *state = state_json(&st, live);
                if (health)
                    json_object_set(state, "Health", health);
                json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:O, s:O, s:O, s:s, s:O, s:s}", "ID", st.id,
                                      "Names", st.name, "Image", st.image, "Command", st.command, "CreatedAt",
                                      (json_int_t)st.created, "Status", status, "State", state, "ExitCode",
                                      json_object_get(state, "ExitCode"), "OOMKilled",
                                      json_object_get(state, "OOMKilled"), "Ports", ptext, "PortBindings", ports,
                                      "Labels", ltext);
                json_decref(state);
                char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
                free(text);
                json_decref(j);
            } else {
                nr_human_ago(time(NULL) - st.created, ago, sizeof ago);
                /* the command quoted, control characters escaped (a newline
                 * would break the row, an escape sequence reach the terminal),
                 * cut to 20 characters with an ellipsis unless --no-trunc */
                cleanup_free char *cmd = nr_escape_controls(st.command);
                cleanup_free char *qcmd = !notrunc && display_width(cmd) > 20
                                              ? nr_xasprintf("\"%.*s…\"", (int)prefix_bytes(cmd, 19), cmd)
                                              : nr_xasprintf("\"%s\"", cmd);
                char created[64];
                nr_rfc3339(st.created, 0, created, sizeof created);
                cleanup_free char *name = nr_escape_controls(st.name);
                /* the image's labels are its author's text: escaped as the command is */
                cleanup_free char *lshown = nr_escape_controls(ltext);
                json_t *row = json_pack("{s:s%, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", st.id,
                                        (size_t)(notrunc ? 64 : 12), "Names", name, "Image", st.image, "Command",
                                        qcmd, "CreatedAt", created, "RunningFor", ago, "Status", status, "State", live,
                                        "Ports", ptext, "Labels", lshown);
                char *line = nr_format_render(tmpl, row);
                json_decref(row);
                if (fmt.kind == NR_FMT_TEMPLATE)
                    printf("%s\n", line), free(line);
                else
                    lines[nlines++] = line;
            }
            json_decref(ports);
            json_decref(health);
        }
        json_decref(run);
        rt_state_free(&st);
    }
    free(sts);
    nr_table_print(lines, nlines, stdout);
    for (size_t r = 0; r < nlines; r++)
        free(lines[r]);
    free(lines);
out:
    free(filters);
    return rc;
}

/* `nrun port CONTAINER [PRIVATE_PORT[/tcp|/udp]]`: "80/tcp -> 0.0.0.0:8080" lines. */
int nr_cmd_port(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {{0}};
    static const nr_cmdspec spec = {"port CONTAINER [PRIVATE_PORT[/tcp|/udp]]", "List a container's published ports.",
                                    opts, false};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1)
        return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
    if (argc - optind < 1 || argc - optind > 2)
        return nr_usage_error(g, "port: needs CONTAINER [PRIVATE_PORT]");
    long want = 0;
    const char *want_proto = "tcp";
    if (argc - optind == 2) {
        char *end;
        want = strtol(argv[optind + 1], &end, 10);
        if (want < 1 || want > 65535 || (*end && strcmp(end, "/tcp") && strcmp(end, "/udp")))
            return nr_usage_error(g, "port: %s: expected a port like 80, 80/tcp or 53/udp", argv[optind + 1]);
        if (*end)
            want_proto = end + 1;
    }
    char id[65];
    nr_err err = {0};
    if (rt_container_find(g->root, argv[optind], id, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    json_t *ports = ports_of(g->root, id, NULL);
    size_t i, shown = 0;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        long long ctr = json_integer_value(json_object_get(p, "container"));
        const char *proto = json_string_value(json_object_get(p, "proto"));
        if (want && (ctr != want || strcmp(proto ? proto : "tcp", want_proto)))
            continue;
        const char *a = json_string_value(json_object_get(p, "address"));
        if (want)
            printf("%s:%lld\n", a && *a ? a : "0.0.0.0", (long long)json_integer_value(json_object_get(p, "host")));
        else
            printf("%lld/%s -> %s:%lld\n", ctr, proto ? proto : "tcp", a && *a ? a : "0.0.0.0",
                   (long long)json_integer_value(json_object_get(p, "host")));
        shown++;
    }
    json_decref(ports);
    if (want && !shown) {
        fprintf(stderr, "%s: no public port '%ld/%s' published for %s\n", g->prog, want, want_proto, argv[optind]);
        return NR_EXIT_FAIL;
    }
    return 0;
}

/* v (a new reference) when there is one, else dflt: for json_pack's "o" */
static json_t *or_new(json_t *v, json_t *dflt)
{
    if (!v)
        return dflt;
    json_decref(dflt);
    return json_incref(v);
}

/* HostConfig and Mounts in docker's words, from config.json */
static json_t *host_config(const json_t *cfg, const json_t *run, const json_t *ports, const rt_state *st)
{
    const json_t *res = json_object_get(json_object_get(cfg, "linux"), "resources");
    const json_t *ann = json_object_get(cfg, "annotations");
    const json_t *cpu = json_object_get(res, "cpu");
    long long quota = json_integer_value(json_object_get(cpu, "quota"));
    long long period = json_integer_value(json_object_get(cpu, "period"));
    json_t *pb = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        char key[32], hp[16];
        const char *proto = json_string_value(json_object_get(p, "proto"));
        snprintf(key, sizeof key, "%lld/%s", (long long)json_integer_value(json_object_get(p, "container")),
                 proto && !strcmp(proto, "udp") ? "udp" : "tcp");
        snprintf(hp, sizeof hp, "%lld", (long long)json_integer_value(json_object_get(p, "host")));
        json_t *l = json_object_get(pb, key);
        if (!l)
            json_object_set_new(pb, key, l = json_array());
        json_array_append_new(l, json_pack("{s:O, s:s}", "HostIp", json_object_get(p, "address"), "HostPort", hp));
    }
    const char *restart = json_string_value(json_object_get(run, "restart"));
    char rname[32] = "no";
    int rmax = 0;
    if (restart) {
        snprintf(rname, sizeof rname, "%.*s", (int)strcspn(restart, ":"), restart);
        if (strchr(restart, ':'))
            rmax = atoi(strchr(restart, ':') + 1);
    }
    const char *net = json_string_value(json_object_get(ann, "org.nrun.net"));
    const json_t *root = json_object_get(cfg, "root");
    return json_pack("{s:I, s:I, s:I, s:o, s:{s:s, s:i}, s:b, s:o, s:s, s:o}", "Memory",
                     (json_int_t)json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")),
                     "NanoCpus", (json_int_t)(period > 0 && quota > 0 ? quota * 1000000000LL / period : 0),
                     "PidsLimit", (json_int_t)json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")),
                     "CpusetCpus", or_new(json_object_get(cpu, "cpus"), json_string("")),
                     "RestartPolicy", "Name", rname, "MaximumRetryCount", rmax, "AutoRemove", st->auto_remove,
                     "ReadonlyRootfs", or_new(json_object_get(root, "readonly"), json_false()),
                     "NetworkMode", net && strcmp(net, "private") ? net : "default", "PortBindings", pb);
}

/* A tmpfs size option's bytes ("65536k", "10485760") */
static long long size_opt(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    int sh = *end == 'k' ? 10 : *end == 'm' ? 20 : *end == 'g' ? 30 : 0;
    return n << sh;
}

/* docker's mount and limit flags in HostConfig: ShmSize, Tmpfs, Ulimits,
 * Sysctls from config.json; Mounts (the --mount flags) from run.json's args */
static void host_config_flags(json_t *hc, const json_t *cfg, const json_t *run)
{
    long long shm = 0;
    json_t *tmpfs = json_object(), *ul = json_array(), *mounts = json_array();
    size_t i, k;
    json_t *m, *o;
    json_array_foreach(json_object_get(cfg, "mounts"), i, m)
    {
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *dst = json_string_value(json_object_get(m, "destination"));
        if (!type || !dst || strcmp(type, "tmpfs") || !strcmp(dst, "/dev"))
            continue;
        nr_buf opts = {0};
        json_array_foreach(json_object_get(m, "options"), k, o)
        {
            const char *s = json_string_value(o);
            if (!s)
                continue;
            if (!strncmp(s, "size=", 5) && !strcmp(dst, "/dev/shm"))
                shm = size_opt(s + 5);
            nr_buf_addf(&opts, "%s%s", opts.len ? "," : "", s);
        }
        nr_buf_add(&opts, "", 1);
        if (strcmp(dst, "/dev/shm"))
            json_object_set_new(tmpfs, dst, json_string(opts.data));
        nr_buf_free(&opts);
    }
    json_array_foreach(json_object_get(json_object_get(cfg, "process"), "rlimits"), i, m)
    {
        const char *t = json_string_value(json_object_get(m, "type"));
        if (!t || strncmp(t, "RLIMIT_", 7))
            continue;
        char name[32];
        snprintf(name, sizeof name, "%s", t + 7);
        for (char *c = name; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        json_int_t soft = json_integer_value(json_object_get(m, "soft")), hard = json_integer_value(json_object_get(m, "hard"));
        json_array_append_new(ul, json_pack("{s:s, s:I, s:I}", "Name", name, "Soft", soft >= INT64_MAX ? -1 : soft,
                                            "Hard", hard >= INT64_MAX ? -1 : hard));
    }
    const json_t *args = json_object_get(run, "args");
    for (i = 0; i < json_array_size(args); i++) {
        const char *a = json_string_value(json_array_get(args, i));
        const char *spec = !a ? NULL : !strncmp(a, "--mount=", 8) ? a + 8
                         : !strcmp(a, "--mount") ? json_string_value(json_array_get(args, i + 1)) : NULL;
        json_t *one = spec ? rt_mount_flag_json(spec) : NULL;
        if (one)
            json_array_append_new(mounts, one);
    }
    const json_t *sysctl = json_object_get(json_object_get(cfg, "linux"), "sysctl");
    json_object_set_new(hc, "ShmSize", json_integer(shm));
    json_object_set_new(hc, "Tmpfs", tmpfs);
    json_object_set_new(hc, "Ulimits", ul);
    json_object_set_new(hc, "Sysctls", json_is_object(sysctl) ? json_deep_copy(sysctl) : json_object());
    json_object_set_new(hc, "Mounts", mounts);
}

static json_t *mounts_of(const json_t *cfg)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cfg, "mounts"), i, m)
    {
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *tdst = json_string_value(json_object_get(m, "destination"));
        if (type && tdst && !strcmp(type, "tmpfs") && strcmp(tdst, "/dev") && strcmp(tdst, "/dev/shm")) {
            bool tro = false; /* a tmpfs of the flags */
            size_t tk;
            json_t *to;
            json_array_foreach(json_object_get(m, "options"), tk, to) tro |= json_is_string(to) && !strcmp(json_string_value(to), "ro");
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:b}", "Type", "tmpfs", "Source", "", "Destination",
                                                 tdst, "RW", !tro));
            continue;
        }
        if (!type || strcmp(type, "bind"))
            continue; /* /proc, /dev, ...: the runtime's own, docker lists none */
        bool ro = false;
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(m, "options"), k, o) ro |= json_is_string(o) && !strcmp(json_string_value(o), "ro");
        const char *src = json_string_value(json_object_get(m, "source"));
        const char *dst = json_string_value(json_object_get(m, "destination"));
        if (!src || !dst || !strncmp(dst, "/etc/", 5) || !strncmp(dst, RT_CTR_RUN_DIR, strlen(RT_CTR_RUN_DIR)))
            continue;
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", src, "Destination", dst,
                                             "RW", !ro));
    }
    return out;
}

json_t *nr_inspect_container(nr_global *g, const char *ref, bool *found, nr_err *err)
{
    char id[65];
    *found = false;
    if (rt_container_find(g->root, ref, id, err) < 0)
        return NULL; /* none, or an ambiguous prefix (err says so) */
    *found = true;
    rt_state st;
    if (rt_state_read(g->root, id, &st, err) < 0)
        return NULL;
    const char *live = rt_state_live_status(&st);
    char created[64];
    nr_rfc3339(st.created, 0, created, sizeof created);
    json_t *cfg = NULL;
    json_t *ports = ports_of(g->root, id, &cfg);
    json_t *run = run_json(g->root, id);
    json_t *dc = json_object_get(run, "config");
    json_t *proc = json_object_get(cfg, "process");
    json_t *args = json_object_get(proc, "args");
    /* docker's shape: Config is what it was made with, NetworkSettings.Ports
     * the published ports ("80/tcp": [{HostIp, HostPort}]); Spec is the OCI
     * config.json the runtime runs */
    json_t *config = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "Image", st.image, "Hostname",
                               or_new(json_object_get(cfg, "hostname"), json_string("")),
                               "Env", or_new(json_object_get(proc, "env"), json_array()),
                               "Cmd", or_new(json_object_get(dc, "Cmd"), or_new(args, json_null())),
                               "Entrypoint", or_new(json_object_get(dc, "Entrypoint"), json_null()),
                               "WorkingDir", or_new(json_object_get(proc, "cwd"), json_string("")),
                               "User", or_new(json_object_get(dc, "User"), json_string("")),
                               "Labels", or_new(json_object_get(dc, "Labels"), json_object()));
    json_t *hc = host_config(cfg, run, ports, &st);
    host_config_flags(hc, cfg, run);
    /* docker run's flags that config.json keeps in its own shape (run.c) */
    json_t *hx = json_object_get(dc, "HostExtra");
    if (json_is_object(hx))
        json_object_update(hc, hx);
    if (json_object_get(dc, "StopSignal"))
        json_object_set(config, "StopSignal", json_object_get(dc, "StopSignal"));
    if (json_object_get(dc, "ExposedPorts"))
        json_object_set(config, "ExposedPorts", json_object_get(dc, "ExposedPorts"));
    if (json_object_get(dc, "Domainname"))
        json_object_set(config, "Domainname", json_object_get(dc, "Domainname"));
    json_t *netports = json_deep_copy(json_object_get(hc, "PortBindings"));
    json_t *state = state_json(&st, live);
    bool paused = json_is_true(json_object_get(state, "Paused")); /* a frozen PID 1 answers nothing */
    json_object_set_new(state, "Dead", json_false());
    json_object_set_new(state, "Error", json_string(""));
    /* the HEALTHCHECK's status and last results, from PID 1 while it runs */
    json_t *health = !paused && !strcmp(live, "running") ? health_of(g, id, cfg) : NULL;
    json_object_set_new(state, "Health", health ? health : json_null());
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:i, s:o, s:o, s:{s:o}, s:o, s:o}",
                          "Id", st.id, "Name", "/", "Created", created,
                          "Path", or_new(json_array_get(args, 0), json_string("")),
                          "Args", or_new(args, json_array()),
                          "Image", json_string_value(json_object_get(run, "image_id")) ? json_string_value(json_object_get(run, "image_id")) : "",
                          "ImageName", st.image, "State", state, "Config", config, "RestartCount", st.restart_count,
                          "HostConfig", hc, "Mounts", mounts_of(cfg), "NetworkSettings", "Ports", netports,
                          "Spec", cfg ? cfg : json_null(), "Cgroups", json_incref(st.cgroups));
    /* the networks as attached now: address, gateway, aliases, interface */
    json_t *ns = rt_net_inspect(g->root, st.id);
    json_object_set(json_object_get(j, "NetworkSettings"), "Networks", json_object_get(ns, "Networks"));
    json_decref(ns);
    char *name = nr_xasprintf("/%s", st.name);
    json_object_set_new(j, "Name", json_string(name));
    free(name);
    /* What its PID 1 chose (cluster or single, why, the command it runs):
     * asked from PID 1 itself while the container runs. */
    if (j && !paused && !strcmp(live, "running")) {
        nr_err ign = {0};
        cleanup_free char *reply = sv_control_call(g, id, NULL, "{\"cmd\":\"ps\"}", 2000, &ign);
        json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
        if (json_is_object(r))
            json_object_set_new(j, "Supervisor",
                                json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "Mode", json_object_get(r, "mode"),
                                          "ModeReason", json_object_get(r, "mode_reason"), "Command",
                                          json_object_get(r, "command"), "Workers", json_object_get(r, "target"),
                                          "LogLevel", json_object_get(r, "log_level")));
        json_decref(r);
    }
    json_decref(ports);
    json_decref(run);
    rt_state_free(&st);
    return j;
}
