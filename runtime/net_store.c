/* The network store (net.h): `nrun network create` writes a CNI conflist
 * to <root>/networks/<name>.conflist (subnet, bridge device, plugins), `rm`
 * removes it with its bridge and dnsname's dnsmasq, `ls`/`inspect` list them
 * with the containers attached now; and the published ports of a container. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/net_internal.h"

json_t *rt_net_ports_json(const char *root, const char *id)
{
    cleanup_free char *f = nr_xasprintf("%s/networks/attach/%s.json", root, id);
    cleanup_free char *text = NULL;
    size_t len;
    nr_err ign;
    if (!rt_net_id_plain(id) || nr_read_file(AT_FDCWD, f, 16 << 20, &text, &len, &ign) < 0)
        return NULL;
    json_t *rec = json_loadb(text, len, 0, NULL);
    json_t *pm = json_object_get(json_object_get(json_array_get(json_object_get(rec, "attachments"), 0), "runtimeConfig"),
                                 "portMappings");
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(pm, i, m)
    {
        const char *hip = json_string_value(json_object_get(m, "hostIP"));
        const char *proto = json_string_value(json_object_get(m, "protocol"));
        json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:s}", "address", hip ? hip : "", "host",
                                             json_integer_value(json_object_get(m, "hostPort")), "container",
                                             json_integer_value(json_object_get(m, "containerPort")), "proto",
                                             proto ? proto : "tcp"));
    }
    json_decref(rec);
    return out;
}

json_t *rt_net_inspect(const char *root, const char *id)
{
    json_t *nets = json_object(), *ports = json_object();
    cleanup_free char *f = nr_xasprintf("%s/networks/attach/%s.json", root, id);
    cleanup_free char *text = NULL;
    size_t len;
    nr_err ign;
    json_t *rec = rt_net_id_plain(id) && nr_read_file(AT_FDCWD, f, 16 << 20, &text, &len, &ign) == 0
                      ? json_loadb(text, len, 0, NULL)
                      : NULL;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(rec, "attachments"), i, a)
    {
        const json_t *cl = json_object_get(a, "conflist");
        const char *name = json_string_value(json_object_get(cl, "name"));
        char ip[64] = "";
        if (!name || !json_object_get(a, "result") || rt_cni_result_ip(json_object_get(a, "result"), ip, &ign) < 0)
            continue;
        const char *gw = json_string_value(json_object_get(rt_net_range_of(cl), "gateway"));
        /* (runtimeConfig's aliases are keyed by the name dnsname knows the network by) */
        const char *inst = rt_net_dns_instance(cl);
        json_t *al = inst ? json_object_get(json_object_get(json_object_get(a, "runtimeConfig"), "aliases"), inst)
                          : NULL;
        json_object_set_new(nets, name, json_pack("{s:s, s:s?, s:O?, s:s?}", "IPAddress", ip, "Gateway", gw, "Aliases",
                                                  al, "Interface", json_string_value(json_object_get(a, "ifname"))));
        json_t *m;
        size_t k;
        json_array_foreach(json_object_get(json_object_get(a, "runtimeConfig"), "portMappings"), k, m)
        {
            const char *proto = json_string_value(json_object_get(m, "protocol"));
            const char *hip = json_string_value(json_object_get(m, "hostIP"));
            char key[32], hp[16];
            snprintf(key, sizeof key, "%lld/%s", (long long)json_integer_value(json_object_get(m, "containerPort")),
                     proto ? proto : "tcp");
            snprintf(hp, sizeof hp, "%lld", (long long)json_integer_value(json_object_get(m, "hostPort")));
            if (!json_object_get(ports, key))
                json_object_set_new(ports, key, json_array());
            json_array_append_new(json_object_get(ports, key),
                                  json_pack("{s:s, s:s}", "HostIp", hip && *hip ? hip : "0.0.0.0", "HostPort", hp));
        }
    }
    json_decref(rec);
    return json_pack("{s:o, s:o}", "Networks", nets, "Ports", ports);
}

/* ---- the store: create, remove, list --------------------------------------- */

static json_t *all_conflists(const char *root, int dfd)
{
    json_t *out = json_object();
    DIR *d = nr_opendir_fd(dfd);
    if (!d)
        return out;
    char name[80];
    while (nr_readdir_suffix(d, ".conflist", name, sizeof name)) {
        nr_err ign;
        json_t *cl = rt_net_name_valid(name) || !strcmp(name, RT_NET_DEFAULT) ? rt_net_conflist_load(root, dfd, name, &ign) : NULL;
        if (cl)
            json_object_set_new(out, name, cl);
    }
    closedir(d);
    return out;
}

int rt_net_create(const char *root, const char *name, const char *subnet, const char *gateway, bool internal,
                  bool dns, nr_err *err)
{
    if (!rt_net_name_valid(name) || !strcmp(name, RT_NET_DEFAULT))
        return nr_err_set(err, "network name \"%s\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 64), not bridge, "
                               "host, none, private or default", name);
    int dfd, adfd, lk;
    if (rt_net_lock(root, &dfd, &adfd, &lk, err) < 0)
        return -1;
    int r = -1;
    json_t *cl = NULL;
    rt_net_haddrs host = {0};
    cleanup_free char *t = NULL;
    cleanup_free char *file = nr_xasprintf("%s.conflist", name);
    nr_err ign;
    json_decref(rt_net_conflist_load(root, dfd, RT_NET_DEFAULT, &ign)); /* the default's range counts too */
    json_t *all = all_conflists(root, dfd);
    char sub[32], gw[16];
    uint32_t net = 0;
    int prefix = 24;
    if (json_object_get(all, name)) {
        nr_err_set(err, "network %s already exists", name);
        goto out;
    }
    if (subnet) {
        if (rt_net_subnet_parse(subnet, &net, &prefix) < 0) {
            nr_err_set(err, "--subnet %s: expected an IPv4 network like 10.90.0.0/24 (prefix 8 to 30, host bits zero)",
                       subnet);
            goto out;
        }
    }
    /* the host's own addresses (its LAN, another store's or tool's
     * bridges) are taken too: a network over them would cut the host off */
    bool pick = !subnet;
    rt_net_haddrs_read(&host);
    /* podman's choice: 10.89.N.0/24, the first not used */
    for (int k = 0; k < 256; k++) {
        if (pick)
            net = (10U << 24) | (89U << 16) | ((uint32_t)k << 8);
        uint32_t mask = ~0U << (32 - prefix);
        bool clash = false;
        const char *nn;
        json_t *c;
        json_object_foreach(all, nn, c)
        {
            const char *s = json_string_value(json_object_get(rt_net_range_of(c), "subnet"));
            uint32_t on;
            int op;
            if (!s || rt_net_subnet_parse(s, &on, &op) < 0)
                continue;
            uint32_t m = prefix < op ? mask : ~0U << (32 - op);
            if ((on & m) == (net & m)) {
                clash = true;
                if (!pick) {
                    nr_err_set(err, "--subnet %s overlaps network %s (%s)", subnet, nn, s);
                    goto out;
                }
            }
        }
        char ifn[IF_NAMESIZE];
        uint32_t ia = clash ? 0 : rt_net_haddr_in(&host, net, prefix, ifn);
        if (ia) {
            clash = true;
            if (!pick) {
                char a[16];
                rt_net_ip_str(ia, a);
                nr_err_set(err, "--subnet %s overlaps the address %s of %s on this host", subnet, a, ifn);
                goto out;
            }
        }
        if (!clash)
            break;
        if (!pick || k == 255) {
            nr_err_set(err, "no free subnet in 10.89.0.0/16 for a new network: give one with --subnet");
            goto out;
        }
    }
    rt_net_ip_str(net, gw);
    snprintf(sub, sizeof sub, "%s/%d", gw, prefix);
    if (gateway) {
        struct in_addr a;
        uint32_t mask = ~0U << (32 - prefix);
        if (inet_pton(AF_INET, gateway, &a) != 1 || (ntohl(a.s_addr) & mask) != net) {
            nr_err_set(err, "--gateway %s: not an address in %s", gateway, sub);
            goto out;
        }
        /* the subnet's own address or its broadcast: no host can have it */
        if (ntohl(a.s_addr) == net || ntohl(a.s_addr) == (net | ~mask)) {
            nr_err_set(err, "--gateway %s: the network or broadcast address of %s", gateway, sub);
            goto out;
        }
        snprintf(gw, sizeof gw, "%s", gateway);
    } else {
        rt_net_ip_str(net + 1, gw);
    }
    /* the bridge: its own name per store and network (nrun1, nrun2, ...
     * counted in this store only: another store's network, made before
     * either ran, took the same and shared its segment) */
    char br[IF_NAMESIZE];
    rt_net_bridge_name(root, name, br);
    cl = rt_net_conflist_make(root, name, br, sub, gw, internal, dns);
    t = json_dumps(cl, JSON_INDENT(2));
    r = nr_write_atomic(dfd, file, t, strlen(t), 0600, err);
    if (r == 0 && if_nametoindex(br) == 0) {
        /* the bridge is made now with the gateway's address, as docker
         * makes it (not at the first ADD): another store's network create
         * sees the subnet taken, where it picked the same one */
        char cidr[32];
        snprintf(cidr, sizeof cidr, "%s/%d", gw, prefix);
        rt_net_tool_run("ip", (const char *const[]){"link", "add", "name", br, "type", "bridge", NULL});
        rt_net_tool_run("ip", (const char *const[]){"addr", "add", cidr, "dev", br, NULL});
        rt_net_tool_run("ip", (const char *const[]){"link", "set", br, "up", NULL});
    }
out:
    rt_net_haddrs_free(&host);
    json_decref(cl);
    json_decref(all);
    close(lk), close(adfd), close(dfd);
    return r;
}

/* the containers attached to `name` now: {id: {IPv4Address, Interface}} */
static json_t *users_of(int adfd, const char *name)
{
    json_t *out = json_object();
    DIR *d = nr_opendir_fd(adfd);
    if (!d)
        return out;
    char id[80];
    while (nr_readdir_suffix(d, ".json", id, sizeof id)) {
        json_t *rec = rt_net_id_plain(id) ? rt_net_record_read(adfd, id) : NULL;
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(rec, "attachments"), i, a)
        {
            const char *n = rt_net_attachment_network(a);
            if (!n || strcmp(n, name))
                continue;
            char ip[64] = "";
            nr_err ign;
            if (json_object_get(a, "result"))
                rt_cni_result_ip(json_object_get(a, "result"), ip, &ign);
            json_object_set_new(out, id, json_pack("{s:s, s:s}", "IPv4Address", ip, "Interface",
                                                   json_string_value(json_object_get(a, "ifname")) ?: ""));
        }
        json_decref(rec);
    }
    closedir(d);
    return out;
}

/* A bridge nrun made for network `name`: the name it gives now (from the
 * store and the network), or the nrunN of a network made before that. */
static bool bridge_ours(const char *root, const char *name, const char *br)
{
    char mine[IF_NAMESIZE];
    rt_net_bridge_name(root, name, mine);
    if (!strcmp(br, mine))
        return true;
    if (strncmp(br, "nrun", 4) || !br[4] || br[4] == '0')
        return false;
    return strspn(br + 4, "0123456789") == strlen(br + 4);
}

int rt_net_remove(const char *root, const char *name, nr_err *err)
{
    if (!strcmp(name, RT_NET_DEFAULT))
        return nr_err_set(err, "network %s is the default network: it cannot be removed", name);
    if (!rt_net_name_valid(name))
        return nr_err_set(err, "network %s not found", name);
    int dfd, adfd, lk;
    if (rt_net_lock(root, &dfd, &adfd, &lk, err) < 0)
        return -1;
    rt_net_gc_locked(adfd);
    int r = -1;
    json_t *u = users_of(adfd, name);
    cleanup_free char *file = nr_xasprintf("%s.conflist", name);
    char *br = NULL;
    nr_err ign;
    json_t *cl = rt_net_conflist_load(root, dfd, name, &ign);
    if (cl && json_string_value(json_object_get(rt_net_plugin_of(cl, "bridge"), "bridge")))
        br = nr_xstrdup(json_string_value(json_object_get(rt_net_plugin_of(cl, "bridge"), "bridge")));
    bool internal = json_is_true(json_object_get(json_object_get(cl, "org.nrun"), "internal"));
    /* its dnsmasq, if it has one (a conflist that no longer loads names
     * none: better a dnsmasq left than another store's stopped) */
    cleanup_free char *dns_inst = rt_net_plugin_of(cl, "dnsname") ? nr_xstrdup(rt_net_dns_instance(cl)) : NULL;
    json_decref(cl);
    if (json_object_size(u)) {
        const char *first = json_object_iter_key(json_object_iter(u));
        nr_err_set(err, "network %s has active endpoints (container %.12s): stop or disconnect them first", name, first);
    } else if (faccessat(dfd, file, F_OK, 0) < 0) {
        nr_err_set(err, "network %s not found", name);
    } else if (unlinkat(dfd, file, 0) < 0) {
        if (errno == ENOENT)
            nr_err_set(err, "network %s not found", name);
        else
            nr_err_sys(err, errno, "remove %s/networks/%s", root, file);
    } else {
        /* the bridge goes with the network, as docker's does (the CNI
         * plugins never remove it), but only one nrun names: a conflist
         * edited to join a host bridge (br0, docker0, another store's)
         * may use it, never have it deleted */
        if (br && bridge_ours(root, name, br) && if_nametoindex(br) > 0)
            rt_net_tool_run("ip", (const char *const[]){"link", "delete", br, "type", "bridge", NULL});
        if (br) {
            nr_err ign1;
            rt_net_localnet_guard(br, false, &ign1);
            if (internal)
                rt_net_internal_guard(br, false, &ign1);
        }
        /* dnsname's dnsmasq for the network keeps its address bound: stop it */
        if (dns_inst) {
            cleanup_free char *dd = nr_xasprintf("/run/containers/cni/dnsname/%s", dns_inst);
            cleanup_free char *pf = nr_xasprintf("%s/pidfile", dd), *pt = NULL, *comm = NULL;
            size_t l;
            nr_err ign2;
            long dp = nr_read_file(AT_FDCWD, pf, 64, &pt, &l, &ign2) == 0 ? strtol(pt, NULL, 10) : 0;
            cleanup_free char *cp = nr_xasprintf("/proc/%ld/comm", dp);
            if (dp > 1 && nr_read_file(AT_FDCWD, cp, 64, &comm, &l, &ign2) == 0 && !strncmp(comm, "dnsmasq", 7))
                kill((pid_t)dp, SIGTERM);
            nr_rm_rf(AT_FDCWD, dd, &ign2);
        }
        r = 0;
    }
    free(br);
    json_decref(u);
    close(lk), close(adfd), close(dfd);
    return r;
}

json_t *rt_net_list(const char *root, nr_err *err)
{
    int dfd, adfd, lk;
    if (rt_net_lock(root, &dfd, &adfd, &lk, err) < 0)
        return NULL;
    rt_net_gc_locked(adfd);
    nr_err ign;
    json_decref(rt_net_conflist_load(root, dfd, RT_NET_DEFAULT, &ign));
    json_t *all = all_conflists(root, dfd);
    json_t *out = json_array();
    const char *name;
    json_t *c;
    json_object_foreach(all, name, c)
    {
        const json_t *r = rt_net_range_of(c);
        json_t *o = json_pack("{s:s, s:s, s:s, s:{s:[{s:s?, s:s?}]}, s:b, s:b, s:s?, s:o}", "Name", name, "Driver",
                              rt_net_plugin_of(c, "bridge") ? "bridge" : "cni", "Scope", "local", "IPAM", "Config", "Subnet",
                              json_string_value(json_object_get(r, "subnet")), "Gateway",
                              json_string_value(json_object_get(r, "gateway")), "Internal",
                              json_is_true(json_object_get(json_object_get(c, "org.nrun"), "internal")), "DNS",
                              rt_net_plugin_of(c, "dnsname") != NULL, "Bridge",
                              json_string_value(json_object_get(rt_net_plugin_of(c, "bridge"), "bridge")), "Containers",
                              users_of(adfd, name));
        json_array_append_new(out, o);
    }
    json_decref(all);
    close(lk), close(adfd), close(dfd);
    return out;
}
