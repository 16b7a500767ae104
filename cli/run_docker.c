/* docker run's compatibility flags (--add-host, --dns*, --init, --pull,
 * --platform, --log-driver, the namespace modes it refuses, ...): each turned
 * into rt_run_opts or refused, for cli/run.c's option loop. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <jansson.h>

#include "cli/run_int.h"
#include "common/signal.h"
#include "common/util.h"
#include "images/image.h"
#include "runtime/net.h"
#include "runtime/supervisor/options.h"
#include "runtime/supervisor/supervisor.h"

/* The machine's architecture in Go's (docker's) words. */
static const char *host_arch(char *machine, size_t n)
{
    struct utsname u;
    snprintf(machine, n, "%s", uname(&u) == 0 ? u.machine : "x86_64");
    return !strcmp(machine, "x86_64") ? "amd64" : !strcmp(machine, "aarch64") ? "arm64" : machine;
}

/* --platform: [linux/]ARCH of this machine, in docker's or uname's words */
static bool platform_ours(const char *p)
{
    char machine[65];
    const char *arch = host_arch(machine, sizeof machine);
    if (!strncmp(p, "linux/", 6))
        p += 6;
    return !strcmp(p, arch) || !strcmp(p, machine);
}

/* One of docker run's flags (the block in run_opts): 0, or the exit code
 * with the error printed. */
int run_docker_flag(nr_global *g, int c, const char *val, rt_run_opts *op, dk_flags *dk)
{
    nr_err err = {0};
    switch (c) {
    case O_DK_ADDHOST: {
        cleanup_free char *line = NULL;
        if (rt_extra_host_parse(val, &line, &err) < 0)
            return run_usage_error(g, "run: %s", err.msg);
        run_push(&op->extra_hosts, &op->nextra_hosts, val);
        return 0;
    }
    case O_DK_DNS:
        if (!rt_etc_ip_valid(val)) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --dns %s: not an IPv4 or IPv6 address", e);
        }
        run_push(&op->dns, &op->ndns, val);
        return 0;
    case O_DK_DNSSEARCH:
        if (strcmp(val, ".") && !rt_etc_name_valid(val, 253)) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --dns-search %s: expected a domain name ([a-zA-Z0-9_.-], at most 253 bytes)", e);
        }
        run_push(&op->dns_search, &op->ndns_search, val);
        return 0;
    case O_DK_DNSOPT:
        if (!rt_etc_dns_option_valid(val)) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --dns-option %s: expected an option without spaces, '#' or ';' (ndots:2)", e);
        }
        run_push(&op->dns_options, &op->ndns_options, val);
        return 0;
    case O_DK_DOMAIN:
        if (!rt_etc_name_valid(val, 64)) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --domainname %s: expected a name of [a-zA-Z0-9_.-], at most 64 bytes", e);
        }
        op->domainname = val;
        return 0;
    case O_DK_INIT: return 0; /* nrun-init is PID 1 with or without it */
    case O_DK_STOPSIG: {
        int sig = nr_signal_parse(val);
        if (sig < 0) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --stop-signal %s: not a signal (a name like SIGTERM or TERM, or 1..64)", e);
        }
        op->stop_signal = sig;
        return 0;
    }
    case O_DK_PULL:
        if (strcmp(val, "always") && strcmp(val, "missing") && strcmp(val, "never"))
            return run_usage_error(g, "run: --pull %s: expected always, missing or never", val);
        dk->pull = val;
        return 0;
    case O_DK_PLATFORM:
        if (!platform_ours(val)) {
            char machine[65];
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --platform %s: nrun runs this machine's platform only (linux/%s)", e,
                                   host_arch(machine, sizeof machine));
        }
        return 0;
    case O_DK_EXPOSE: {
        json_auto_t *set = json_object();
        if (rt_expose_parse(val, set, &err) < 0)
            return run_usage_error(g, "run: %s", err.msg);
        run_push(&op->expose, &op->nexpose, val);
        return 0;
    }
    case O_DK_GROUPADD:
        if (!*val || strchr(val, ':') || strchr(val, '\n')) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --group-add %s: expected a GID or a group name", e);
        }
        run_push(&op->group_add, &op->ngroup_add, val);
        return 0;
    case O_DK_OOMADJ: {
        long long v;
        if (run_parse_ll(val, &v) < 0 || v < -1000 || v > 1000)
            return run_usage_error(g, "run: --oom-score-adj %s: expected -1000..1000", val);
        op->oom_score_adj = (int)v;
        op->oom_score_adj_set = true;
        return 0;
    }
    case 'c': {
        long long v;
        if (run_parse_ll(val, &v) < 0 || v < 2 || v > 262144)
            return run_usage_error(g, "run: --cpu-shares %s: expected 2..262144", val);
        op->cpu_shares = v;
        return 0;
    }
    case O_DK_MEMSWAP: {
        unsigned long long v;
        if (!strcmp(val, "-1"))
            op->memory_swap = -1;
        else if (nr_parse_size(val, &v) == 0 && v >= 4 * 1024 * 1024 && v <= LLONG_MAX)
            op->memory_swap = (long long)v;
        else
            return run_usage_error(g, "run: --memory-swap %s: expected a size of at least 4m, or -1", val);
        return 0;
    }
    case O_DK_MEMRES: {
        unsigned long long v;
        if (nr_parse_size(val, &v) < 0 || v < 4 * 1024 * 1024 || v > LLONG_MAX)
            return run_usage_error(g, "run: --memory-reservation %s: expected a size of at least 4m", val);
        op->memory_reservation = (long long)v;
        return 0;
    }
    case O_DK_LOGDRV:
        if (strcmp(val, "json-file") && strcmp(val, "local")) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --log-driver %s: not supported (nrun keeps its own rotated JSON-lines log: "
                                      "json-file or local)", e);
        }
        dk->log_driver = op->log_driver = val;
        return 0;
    case O_DK_LOGOPT:
        if (!strncmp(val, "max-size=", 9))
            dk->log_size = val + 9;
        else if (!strncmp(val, "max-file=", 9))
            dk->log_files = val + 9;
        else {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --log-opt %s: not supported (max-size=SIZE, max-file=N)", e);
        }
        return 0;
    case 'q': dk->quiet = true; return 0;
    case O_DK_VOLFROM: {
        const char *colon = strrchr(val, ':');
        if (!*val || *val == ':' || (colon && strcmp(colon, ":ro") && strcmp(colon, ":rw"))) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --volumes-from %s: expected CONTAINER, CONTAINER:ro or CONTAINER:rw", e);
        }
        run_push(&dk->volumes_from, &dk->nvolumes_from, val);
        return 0;
    }
    case O_DK_LINK: {
        const char *colon = strchr(val, ':');
        if (!*val || *val == ':' || (colon && (!colon[1] || !rt_net_alias_valid(colon + 1)))) {
            cleanup_free char *e = nr_escape_controls(val);
            return run_usage_error(g, "run: --link %s: expected CONTAINER or CONTAINER:ALIAS (a DNS name)", e);
        }
        run_push(&dk->links, &dk->nlinks, val);
        return 0;
    }
    case O_DK_PID:
    case O_DK_UTS:
        if (*val && c == O_DK_PID)
            return run_usage_error(g, "run: --pid %s is not supported: nrun-init is PID 1 in the container's own PID "
                                      "namespace", val);
        if (*val)
            return run_usage_error(g, "run: --uts %s is not supported: a container has its own UTS namespace (its "
                                      "hostname)", val);
        return 0;
    case O_DK_IPC:
        if (*val && strcmp(val, "private") && strcmp(val, "shareable"))
            return run_usage_error(g, "run: --ipc %s is not supported: a container has its own IPC namespace "
                                      "(private or shareable)", val);
        return 0;
    case O_DK_USERNS:
        if (*val && strcmp(val, "host"))
            return run_usage_error(g, "run: --userns %s is not supported: nrun does not remap users (host)", val);
        return 0;
    case O_DK_CGROUPNS:
        if (*val && strcmp(val, "private"))
            return run_usage_error(g, "run: --cgroupns %s is not supported: a container has its own cgroup namespace "
                                      "(private)", val);
        return 0;
    }
    return NR_EXIT_CMD;
}

/* --volumes-from C[:ro|:rw]: each volume and bind of container C (running or
 * not) at its own path, as docker's: its config.json's binds but nrun's own
 * (/etc/hosts and the like, the run dir); a named volume as that volume (-v
 * NAME:DST), the rest as binds of their sources (an anonymous volume is C's:
 * it goes with C).  The mode: C's, or the one given. */
static int volumes_from(nr_global *g, rt_run_opts *op, const char *spec)
{
    nr_err err = {0};
    cleanup_free char *ref = nr_xstrdup(spec);
    const char *mode = NULL;
    char *colon = strrchr(ref, ':');
    if (colon && (!strcmp(colon, ":ro") || !strcmp(colon, ":rw"))) {
        mode = colon + 1;
        *colon = 0;
    }
    char id[65];
    if (rt_container_find(g->root, ref, id, &err) < 0)
        return run_usage_error(g, "run: --volumes-from %s: %s", spec, err.msg);
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/config.json", g->root, id);
    json_error_t je;
    json_auto_t *cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!cfg)
        return run_usage_error(g, "run: --volumes-from %s: %s: %s", spec, path, je.text);
    cleanup_free char *vols = nr_xasprintf("%s/volumes/", g->root);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cfg, "mounts"), i, m)
    {
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *src = json_string_value(json_object_get(m, "source"));
        const char *dst = json_string_value(json_object_get(m, "destination"));
        if (!type || strcmp(type, "bind") || !src || !dst || !strncmp(dst, "/etc/", 5) ||
            !strncmp(dst, RT_CTR_RUN_DIR, strlen(RT_CTR_RUN_DIR)))
            continue;
        bool ro = false;
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(m, "options"), k, o) ro |= json_is_string(o) && !strcmp(json_string_value(o), "ro");
        if (mode)
            ro = !strcmp(mode, "ro");
        /* <root>/volumes/NAME/_data: the named volume */
        size_t vl = strlen(vols);
        const char *name = !strncmp(src, vols, vl) ? src + vl : NULL;
        const char *slash = name ? strchr(name, '/') : NULL;
        cleanup_free char *v = NULL;
        if (slash && slash > name && !strcmp(slash, "/_data") && !strchr(dst, ':'))
            v = nr_xasprintf("%.*s:%s%s", (int)(slash - name), name, dst, ro ? ":ro" : "");
        else if (!strchr(src, ':') && !strchr(dst, ':'))
            v = nr_xasprintf("%s:%s%s", src, dst, ro ? ":ro" : "");
        if (v) {
            run_push(&op->volumes, &op->nvolumes, v);
            continue;
        }
        if (strchr(src, ',') || strchr(dst, ',') || strchr(src, '"') || strchr(dst, '"')) {
            cleanup_free char *e = nr_escape_controls(dst);
            return run_usage_error(g, "run: --volumes-from %s: the mount at %s has a path nrun cannot pass on", spec, e);
        }
        cleanup_free char *mt = nr_xasprintf("type=bind,source=%s,target=%s%s", src, dst, ro ? ",readonly" : "");
        run_push(&op->mounts, &op->nmounts, mt);
    }
    return 0;
}

/* --link C[:ALIAS] (docker's legacy links): C's address on the network this
 * container joins, as /etc/hosts lines for C's name and ALIAS (--add-host's);
 * the address as C has it now (docker updates the line when C restarts:
 * nrun does not; on a user network the names resolve by DNS anyway).  C
 * must be running on that network. */
static int link_host(nr_global *g, rt_run_opts *op, const char *spec)
{
    nr_err err = {0};
    cleanup_free char *ref = nr_xstrdup(spec);
    char *alias = strchr(ref, ':');
    if (alias)
        *alias++ = 0;
    char id[65];
    rt_state st;
    if (rt_container_state(g->root, ref, id, &st, &err) < 0)
        return run_usage_error(g, "run: --link %s: %s", spec, err.msg);
    bool running = !strcmp(rt_state_live_status(&st), "running");
    rt_state_free(&st);
    if (!running)
        return run_usage_error(g, "run: --link %s: container %s is not running", spec, ref);
    const char *net = op->net ? op->net : RT_NET_DEFAULT;
    json_t *ins = rt_net_inspect(g->root, id);
    const char *ip = json_string_value(json_object_get(json_object_get(json_object_get(ins, "Networks"), net), "IPAddress"));
    cleanup_free char *ipc = ip ? nr_xstrdup(ip) : NULL;
    json_decref(ins);
    if (!ipc)
        return run_usage_error(g, "run: --link %s: container %s is not on network %s", spec, ref, net);
    const char *names[2] = {ref, alias};
    for (int k = 0; k < 2; k++) {
        if (!names[k] || (k == 1 && !strcmp(names[1], ref)) || !rt_net_alias_valid(names[k]))
            continue;
        cleanup_free char *h = nr_xasprintf("%s:%s", names[k], ipc);
        run_push(&op->extra_hosts, &op->nextra_hosts, h);
    }
    return 0;
}

/* After the loop: --log-driver/--log-opt as the supervisor's log flags,
 * --memory-swap and --memory-reservation against --memory. */
int run_docker_flags_finish(nr_global *g, rt_run_opts *op, const dk_flags *dk)
{
    nr_err err = {0};
    const char *sv[2][2] = {{"--log-max-size", dk->log_size}, {"--log-max-files", dk->log_files}};
    for (int i = 0; i < 2; i++) {
        if (!sv[i][1])
            continue;
        sv_config probe;
        sv_config_init(&probe);
        int bad = sv_opt_apply(&probe, sv[i][0], sv[i][1], &err);
        sv_config_fini(&probe);
        if (bad < 0)
            return run_usage_error(g, "run: --log-opt %s=%s: %s", i ? "max-file" : "max-size", sv[i][1], err.msg);
        cleanup_free char *kv = nr_xasprintf("%s=%s", sv[i][0], sv[i][1]);
        run_push(&op->sv_opts, &op->nsv_opts, kv);
    }
    for (size_t i = 0; i < dk->nvolumes_from; i++)
        if (volumes_from(g, op, dk->volumes_from[i]) != 0)
            return NR_EXIT_CMD;
    for (size_t i = 0; i < dk->nlinks; i++)
        if (link_host(g, op, dk->links[i]) != 0)
            return NR_EXIT_CMD;
    if (op->memory_swap && !op->memory)
        return run_usage_error(g, "run: --memory-swap needs --memory (the memory part of it)");
    if (op->memory_swap > 0 && op->memory_swap < op->memory)
        return run_usage_error(g, "run: --memory-swap must be at least --memory (it is memory and swap together)");
    if (op->memory_reservation && op->memory && op->memory_reservation > op->memory)
        return run_usage_error(g, "run: --memory-reservation must not be more than --memory");
    return 0;
}


/* What docker's inspect and ps show of a container that config.json does not
 * keep apart: the image's ID, Entrypoint and Cmd as given (not merged),
 * Labels, and the user as asked for.  Read from the image once, at create. */
json_t *run_docker_config(img_store *store, const char *image, const rt_run_opts *op, const json_t *user_labels,
                          char *image_id, size_t n)
{
    img_image *img = NULL;
    nr_err ign;
    json_t *rc = NULL;
    image_id[0] = 0;
    if (img_image_load(store, image, &img, &ign) == 0) {
        rc = json_incref(img_image_runconfig(img)); /* borrowed from img */
        snprintf(image_id, n, "%s", img->config.digest);
        img_image_free(img);
    }
    json_t *ep = json_object_get(rc, "Entrypoint"), *cmd = json_object_get(rc, "Cmd");
    json_t *c = json_object();
    if (op->entrypoint_set)
        json_object_set_new(c, "Entrypoint", op->entrypoint && *op->entrypoint ? json_pack("[s]", op->entrypoint)
                                                                               : json_null());
    else
        json_object_set(c, "Entrypoint", json_is_array(ep) ? ep : json_null());
    if (op->ncmd)
        json_object_set_new(c, "Cmd", run_strv_json(op->cmd, op->ncmd));
    else
        json_object_set(c, "Cmd", !op->entrypoint_set && json_is_array(cmd) ? cmd : json_null());
    json_t *user = json_object_get(rc, "User");
    json_object_set_new(c, "User", json_string(op->user ? op->user : json_is_string(user) ? json_string_value(user) : ""));
    json_t *labels = json_object_get(rc, "Labels");
    json_t *all = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    /* com.docker.compose.* say which project and service a container is of,
     * and only compose (through --label) may say it: an image's own would
     * make every container of it, run by hand, one of that project's, which
     * compose exec, cp and attach would then enter (and ps, logs, down list) */
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(all, tmp, k, v) if (!strncmp(k, "com.docker.compose.", 19)) json_object_del(all, k);
    json_object_update(all, (json_t *)user_labels); /* --label over the image's LABEL, as docker */
    json_object_set_new(c, "Labels", all);
    json_t *exposed = json_object_get(rc, "ExposedPorts");
    json_t *ex = json_is_object(exposed) ? json_deep_copy(exposed) : json_object();
    for (size_t i = 0; i < op->nexpose; i++)
        rt_expose_parse(op->expose[i], ex, &ign); /* checked when parsed */
    if (json_object_size(ex))
        json_object_set(c, "ExposedPorts", ex);
    json_decref(ex);
    /* docker's Config.StopSignal and Domainname, and the HostConfig fields
     * of its run flags (ps.c puts them into inspect's HostConfig) */
    json_t *iss = json_object_get(rc, "StopSignal");
    char sb[NR_SIGNAME_MAX];
    if (op->stop_signal > 0)
        json_object_set_new(c, "StopSignal", json_string(nr_signal_name(op->stop_signal, sb)));
    else if (json_is_string(iss) && json_string_length(iss))
        json_object_set(c, "StopSignal", iss);
    json_object_set_new(c, "Domainname", json_string(op->domainname ? op->domainname : ""));
    json_t *hx = json_object();
    json_object_set_new(hx, "ExtraHosts", op->nextra_hosts ? run_strv_json(op->extra_hosts, op->nextra_hosts) : json_null());
    json_object_set_new(hx, "Dns", run_strv_json(op->dns, op->ndns));
    json_object_set_new(hx, "DnsSearch", run_strv_json(op->dns_search, op->ndns_search));
    json_object_set_new(hx, "DnsOptions", run_strv_json(op->dns_options, op->ndns_options));
    json_object_set_new(hx, "GroupAdd", op->ngroup_add ? run_strv_json(op->group_add, op->ngroup_add) : json_null());
    json_object_set_new(hx, "OomScoreAdj", json_integer(op->oom_score_adj));
    json_object_set_new(hx, "CpuShares", json_integer(op->cpu_shares));
    json_object_set_new(hx, "MemorySwap", json_integer(op->memory_swap ? op->memory_swap : op->memory));
    json_object_set_new(hx, "MemoryReservation", json_integer(op->memory_reservation));
    json_t *lc = json_object();
    for (size_t i = 0; i < op->nsv_opts; i++) {
        const char *kv = op->sv_opts[i];
        if (!strncmp(kv, "--log-max-size=", 15))
            json_object_set_new(lc, "max-size", json_string(kv + 15));
        else if (!strncmp(kv, "--log-max-files=", 16))
            json_object_set_new(lc, "max-file", json_string(kv + 16));
    }
    json_object_set_new(hx, "LogConfig", json_pack("{s:s, s:o}", "Type", op->log_driver ? op->log_driver : "json-file",
                                                   "Config", lc));
    json_object_set_new(c, "HostExtra", hx);
    json_decref(rc);
    return c;
}
