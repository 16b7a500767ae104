/* nrun network create|ls|inspect|rm|connect|disconnect: docker's verbs and
 * flags over runtime/net.c. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "cli/cli.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

static int net_create(int argc, char **argv, nr_global *g)
{
    const char *subnet = NULL, *gateway = NULL, *name = NULL;
    bool internal = false, dns = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--internal"))
            internal = true;
        else if (!strcmp(a, "--disable-dns"))
            dns = false;
        else if ((!strcmp(a, "--subnet") || !strcmp(a, "--gateway")) && i + 1 < argc)
            *(a[2] == 's' ? &subnet : &gateway) = argv[++i];
        else if (!strncmp(a, "--subnet=", 9))
            subnet = a + 9;
        else if (!strncmp(a, "--gateway=", 10))
            gateway = a + 10;
        else if ((!strcmp(a, "-d") || !strcmp(a, "--driver")) && i + 1 < argc) {
            if (strcmp(argv[++i], "bridge"))
                return nr_usage_error(g, "network create: --driver %s: only bridge", argv[i]);
        } else if (a[0] == '-')
            return nr_usage_error(g, "network create: unknown option %s", a);
        else if (name)
            return nr_usage_error(g, "network create: one NAME");
        else
            name = a;
    }
    if (!name)
        return nr_usage_error(g, "network create [--subnet CIDR] [--gateway IP] [--internal] [--disable-dns] NAME");
    nr_err err = {0};
    if (rt_net_create(g->root, name, subnet, gateway, internal, dns, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    printf("%s\n", name);
    return 0;
}

static int net_ls(int argc, char **argv, nr_global *g)
{
    bool quiet = false;
    nr_format fmt = {.kind = NR_FMT_TABLE};
    for (int i = 1; i < argc; i++) {
        const char *f = NULL;
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
            quiet = true;
        else if (!strcmp(argv[i], "--format") && i + 1 < argc)
            f = argv[++i];
        else if (!strncmp(argv[i], "--format=", 9))
            f = argv[i] + 9;
        else
            return nr_usage_error(g, "network ls: unknown option %s", argv[i]);
        if (f && nr_format_parse(g, "network ls", f, &fmt) != 0)
            return NR_EXIT_USAGE;
    }
    nr_err err = {0};
    json_t *l = rt_net_list(g->root, &err);
    if (!l)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    /* the default table, or a template's over flat rows: Name (ID: a
     * network has no other id), Driver, Scope, Internal, Subnet, Gateway,
     * Bridge, Containers (how many) */
    const char *tmpl = fmt.tmpl ? fmt.tmpl : "{{.Name}}\t{{.Driver}}\t{{.Subnet}}\t{{.Bridge}}\t{{.Containers}}";
    size_t n = json_array_size(l), nl = 0;
    char **lines = nr_xcalloc(n + 2, sizeof *lines);
    if (!quiet && fmt.kind == NR_FMT_TABLE)
        lines[nl++] = nr_format_header(tmpl, (const char *const[]){"ID", "NETWORK ID", NULL});
    for (size_t i = 0; i < n; i++) {
        json_t *net = json_array_get(l, i);
        const char *name = json_string_value(json_object_get(net, "Name"));
        if (quiet) {
            puts(name);
            continue;
        }
        if (fmt.kind == NR_FMT_JSON) {
            cleanup_free char *t = json_dumps(net, JSON_COMPACT);
            puts(t);
            continue;
        }
        const json_t *c = json_array_get(json_object_get(json_object_get(net, "IPAM"), "Config"), 0);
        const char *sub = json_string_value(json_object_get(c, "Subnet"));
        const char *gw = json_string_value(json_object_get(c, "Gateway"));
        const char *br = json_string_value(json_object_get(net, "Bridge"));
        const char *drv = json_string_value(json_object_get(net, "Driver"));
        const char *scope = json_string_value(json_object_get(net, "Scope"));
        char count[24];
        snprintf(count, sizeof count, "%zu", json_object_size(json_object_get(net, "Containers")));
        json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", name, "Name", name, "Driver",
                                drv ? drv : "-", "Scope", scope ? scope : "local", "Internal",
                                json_is_true(json_object_get(net, "Internal")) ? "true" : "false", "Subnet",
                                sub ? sub : "-", "Gateway", gw ? gw : "-", "Bridge", br ? br : "-", "Containers", count);
        char *line = nr_format_render(tmpl, row);
        json_decref(row);
        if (fmt.kind == NR_FMT_TABLE)
            lines[nl++] = line;
        else
            puts(line), free(line);
    }
    nr_table_print(lines, nl, stdout);
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    json_decref(l);
    return 0;
}

static int net_inspect(int argc, char **argv, nr_global *g)
{
    if (argc < 2)
        return nr_usage_error(g, "network inspect NAME...");
    nr_err err = {0};
    json_t *l = rt_net_list(g->root, &err);
    if (!l)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    json_t *out = json_array();
    int rc = 0;
    for (int k = 1; k < argc; k++) {
        bool found = false;
        size_t i;
        json_t *n;
        json_array_foreach(l, i, n) if (!strcmp(json_string_value(json_object_get(n, "Name")), argv[k]))
        {
            json_array_append(out, n);
            found = true;
        }
        if (!found) {
            nr_err_set(&err, "network %s not found", argv[k]);
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        }
    }
    cleanup_free char *t = json_dumps(out, JSON_INDENT(4));
    puts(t);
    json_decref(out);
    json_decref(l);
    return rc;
}

static int net_rm(int argc, char **argv, nr_global *g)
{
    if (argc < 2)
        return nr_usage_error(g, "network rm NAME...");
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        nr_err err = {0};
        if (rt_net_remove(g->root, argv[i], &err) < 0)
            rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        else
            printf("%s\n", argv[i]);
    }
    return rc;
}

static int net_connect(int argc, char **argv, nr_global *g, bool connect)
{
    char **aliases = NULL;
    size_t nal = 0;
    const char *ip = NULL;
    const char *pos[2] = {0};
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (connect && !strcmp(argv[i], "--alias") && i + 1 < argc) {
            if (!rt_net_alias_valid(argv[i + 1])) {
                free(aliases);
                cleanup_free char *e = nr_escape_controls(argv[i + 1]);
                return nr_usage_error(g, "network connect: --alias %s: " RT_NET_ALIAS_RULE, e);
            }
            aliases = nr_xrealloc(aliases, (nal + 1) * sizeof *aliases);
            aliases[nal++] = argv[++i];
        } else if (connect && (!strcmp(argv[i], "--ip") || !strncmp(argv[i], "--ip=", 5)) &&
                   (argv[i][4] == '=' || i + 1 < argc)) {
            ip = argv[i][4] == '=' ? argv[i] + 5 : argv[++i];
            struct in_addr a4;
            if (inet_pton(AF_INET, ip, &a4) != 1) {
                free(aliases);
                cleanup_free char *e = nr_escape_controls(ip);
                return nr_usage_error(g, "network connect: --ip %s: not an IPv4 address", e);
            }
        } else if (argv[i][0] == '-' && strcmp(argv[i], "-f") && strcmp(argv[i], "--force")) {
            free(aliases);
            return nr_usage_error(g, "%s: unknown option %s", argv[0], argv[i]);
        } else if (argv[i][0] != '-' && np < 2) {
            pos[np++] = argv[i];
        }
    }
    if (np != 2) {
        free(aliases);
        return nr_usage_error(g, "%s%s NETWORK CONTAINER", argv[0], connect ? " [--alias NAME] [--ip IPv4]" : "");
    }
    nr_err err = {0};
    char id[65];
    rt_state st;
    int r = -1;
    if (rt_container_state(g->root, pos[1], id, &st, &err) == 0) {
        if (!connect)
            r = rt_net_disconnect(g->root, id, pos[0], &err);
        else if (strcmp(rt_state_live_status(&st), "running"))
            r = nr_err_set(&err, "container %s is not running", pos[1]);
        else if (rt_net_exists(g->root, pos[0], &err) == 0)
            r = rt_net_connect(g->root, id, st.pid, st.start_time, pos[0], st.name ? st.name : id, aliases, nal, ip,
                               &err);
        rt_state_free(&st);
    }
    free(aliases);
    return r < 0 ? nr_err_report(&err, g->prog, NR_EXIT_FAIL) : 0;
}

int nr_cmd_network(int argc, char **argv, nr_global *g)
{
    char label[32];
    int code;
    const char *v = nr_group_sub(argc, argv, "network",
                                 "Usage: nrun network COMMAND\n\nManage networks.\n\nCommands:\n"
                                 "  create [--subnet CIDR] [--gateway IP] [--internal] [--disable-dns] NAME\n"
                                 "  ls [-q] [--format table|json|TEMPLATE]\n"
                                 "  inspect NAME...\n"
                                 "  rm NAME...\n"
                                 "  connect [--alias NAME] NETWORK CONTAINER\n"
                                 "  disconnect NETWORK CONTAINER\n",
                                 label, sizeof label, &code);
    if (!v)
        return code;
    if (!strcmp(v, "create"))
        return net_create(argc - 1, argv + 1, g);
    if (!strcmp(v, "ls") || !strcmp(v, "list"))
        return net_ls(argc - 1, argv + 1, g);
    if (!strcmp(v, "inspect"))
        return net_inspect(argc - 1, argv + 1, g);
    if (!strcmp(v, "rm") || !strcmp(v, "remove"))
        return net_rm(argc - 1, argv + 1, g);
    if (!strcmp(v, "connect") || !strcmp(v, "disconnect"))
        return net_connect(argc - 1, argv + 1, g, !strcmp(v, "connect"));
    return nr_usage_error(g, "network: unknown command %s (create, ls, inspect, rm, connect, disconnect)", v);
}
