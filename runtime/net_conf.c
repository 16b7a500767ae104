/* Networks of the store by name: names and aliases nrun accepts, the
 * networks directory, subnets, and the CNI configuration lists a network is
 * (net.h).  The containers attached to them are net.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/net_internal.h"
#include "runtime/runtime.h"

bool rt_net_name_valid(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > 64 || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= '0' && n[0] <= '9')))
        return false;
    for (const char *c = n; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("_.-", *c)))
            return false;
    return strcmp(n, "host") && strcmp(n, "none") && strcmp(n, "private") && strcmp(n, "default");
}

bool rt_net_alias_valid(const char *n)
{
    static const char *const reserved[] = {"localhost", "host.nrun.internal", "host.docker.internal"};
    size_t l = strlen(n);
    if (l == 0 || l > 253 || strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != l)
        return false;
    while (l > 0 && n[l - 1] == '.') /* "localhost." is localhost */
        l--;
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (l == strlen(reserved[i]) && !strncasecmp(n, reserved[i], l))
            return false;
    return true;
}

int rt_net_dir_open(const char *root, nr_err *err)
{
    cleanup_free char *d = nr_xasprintf("%s/networks", root);
    cleanup_free char *a = nr_xasprintf("%s/networks/attach", root);
    if (nr_mkdir_p(a, 0700, err) < 0)
        return -1;
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s", d);
    /* host-local's leases and the pinned namespaces: the plugin, and the
     * pin's mount, follow a link there (another store's leases, which that
     * store's sweep then frees under us; a mount and unlink anywhere) */
    static const char *const subs[] = {"ipam", "ns"};
    for (size_t i = 0; i < NR_ARRAY_LEN(subs); i++) {
        struct stat st;
        if ((mkdirat(fd, subs[i], 0700) < 0 && errno != EEXIST) || fstatat(fd, subs[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            nr_err_sys(err, errno, "%s/%s", d, subs[i]);
            close(fd);
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            nr_err_set(err, "%s/%s: not a directory (%s): remove it", d, subs[i],
                       S_ISLNK(st.st_mode) ? "a symlink" : "a file");
            close(fd);
            return -1;
        }
    }
    return fd;
}

char *rt_net_abs_root(const char *root)
{
    char *r = realpath(root, NULL);
    return r ? r : nr_xstrdup(root);
}

/* parse "a.b.c.d/n" into network and prefix; the network must be aligned */
int rt_net_subnet_parse(const char *s, uint32_t *net, int *prefix)
{
    char buf[32];
    const char *sl = strchr(s, '/');
    if (!sl || (size_t)(sl - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(sl - s));
    buf[sl - s] = 0;
    struct in_addr a;
    char *end;
    long p = strtol(sl + 1, &end, 10);
    /* digits only: "/+24" or "/ 24" would reach the conflist as written */
    if (inet_pton(AF_INET, buf, &a) != 1 || *end || end == sl + 1 || sl[1] < '1' || sl[1] > '9' || p < 8 || p > 30)
        return -1;
    uint32_t n = ntohl(a.s_addr), mask = p ? ~0U << (32 - p) : 0;
    if (n & ~mask)
        return -1;
    *net = n;
    *prefix = (int)p;
    return 0;
}

void rt_net_ip_str(uint32_t ip, char out[16])
{
    struct in_addr a = {.s_addr = htonl(ip)};
    inet_ntop(AF_INET, &a, out, 16);
}

json_t *rt_net_plugin_of(const json_t *cl, const char *type)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(cl, "plugins"), i, p) if (json_is_string(json_object_get(p, "type")) &&
                                                                 !strcmp(json_string_value(json_object_get(p, "type")), type)) return p;
    return NULL;
}

/* the first range of the bridge plugin's host-local IPAM */
const json_t *rt_net_range_of(const json_t *cl)
{
    json_t *br = rt_net_plugin_of(cl, "bridge");
    json_t *r = json_array_get(json_array_get(json_object_get(json_object_get(br, "ipam"), "ranges"), 0), 0);
    return json_is_object(r) ? r : NULL;
}

/* the dnsname instance of network `name` of the store at (absolute) `ar` */
static void dns_instance_of(const char *ar, const char *name, char inst[32])
{
    cleanup_free char *key = nr_xasprintf("%s%c%s", ar, 0, name);
    char hex[65];
    nr_sha256_hex(key, strlen(ar) + 1 + strlen(name), hex);
    snprintf(inst, 32, "nrun-%.16s", hex);
}

void rt_net_bridge_name(const char *root, const char *name, char br[IF_NAMESIZE])
{
    cleanup_free char *ar = rt_net_abs_root(root);
    char inst[32];
    dns_instance_of(ar, name, inst);
    snprintf(br, IF_NAMESIZE, "%.15s", inst); /* nrun- and 10 of its hex digits */
}

json_t *rt_net_conflist_make(const char *root, const char *name, const char *bridge, const char *subnet,
                             const char *gw, bool internal, bool dns)
{
    cleanup_free char *ar = rt_net_abs_root(root);
    cleanup_free char *ipam_dir = nr_xasprintf("%s/networks/ipam", ar);
    json_t *routes = internal ? json_array() : json_pack("[{s:s}]", "dst", "0.0.0.0/0");
    json_t *plugins = json_pack("[{s:s, s:s, s:b, s:b, s:b, s:{s:s, s:[[{s:s, s:s}]], s:o, s:s}}]", "type", "bridge",
                                "bridge", bridge, "isGateway", 1, "ipMasq", !internal, "hairpinMode", 1, "ipam",
                                "type", "host-local", "ranges", "subnet", subnet, "gateway", gw, "routes", routes,
                                "dataDir", ipam_dir);
    json_array_append_new(plugins, json_pack("{s:s, s:{s:b}, s:b}", "type", "portmap", "capabilities", "portMappings", 1,
                                             "snat", 1));
    /* same-bridge: traffic from another nrun network (another bridge) is
     * dropped, as docker isolates its networks */
    json_array_append_new(plugins, json_pack("{s:s, s:s}", "type", "firewall", "ingressPolicy", "same-bridge"));
    if (dns) {
        char inst[32];
        dns_instance_of(ar, name, inst);
        json_array_append_new(plugins, json_pack("{s:s, s:s, s:s, s:{s:b}}", "type", "dnsname", "domainName",
                                                 RT_NET_DNS_DOMAIN, "nrunInstance", inst, "capabilities", "aliases", 1));
    }
    return json_pack("{s:s, s:s, s:o, s:{s:b}}", "cniVersion", "0.4.0", "name", name, "plugins", plugins, "org.nrun",
                     "internal", internal);
}

bool rt_net_instance_valid(const char *s)
{
    return s && strlen(s) == 21 && !strncmp(s, "nrun-", 5) && strspn(s + 5, "0123456789abcdef") == 16;
}

const char *rt_net_dns_instance(const json_t *cl)
{
    const char *inst = json_string_value(json_object_get(rt_net_plugin_of(cl, "dnsname"), "nrunInstance"));
    return rt_net_instance_valid(inst) ? inst : json_string_value(json_object_get(cl, "name"));
}

void rt_net_haddrs_read(rt_net_haddrs *h)
{
    *h = (rt_net_haddrs){0};
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *f = ifs; f; f = f->ifa_next) {
        if (!f->ifa_addr || f->ifa_addr->sa_family != AF_INET || !f->ifa_netmask)
            continue;
        uint32_t ia = ntohl(((struct sockaddr_in *)(void *)f->ifa_addr)->sin_addr.s_addr);
        if ((ia >> 24) == 127)
            continue; /* loopback's 127/8 is no route out */
        h->a = nr_xrealloc(h->a, (h->n + 1) * sizeof *h->a);
        rt_net_haddr *e = &h->a[h->n++];
        e->addr = ia;
        e->mask = ntohl(((struct sockaddr_in *)(void *)f->ifa_netmask)->sin_addr.s_addr);
        snprintf(e->ifname, sizeof e->ifname, "%s", f->ifa_name);
    }
    freeifaddrs(ifs);
}

void rt_net_haddrs_free(rt_net_haddrs *h)
{
    free(h->a);
    *h = (rt_net_haddrs){0};
}

uint32_t rt_net_haddr_in(const rt_net_haddrs *h, uint32_t net, int prefix, char ifname[IF_NAMESIZE])
{
    uint32_t mask = prefix > 0 ? ~0U << (32 - prefix) : 0;
    for (size_t i = 0; i < h->n; i++) {
        uint32_t m = mask & h->a[i].mask; /* the shorter prefix of the two */
        if ((h->a[i].addr & m) == (net & m)) {
            snprintf(ifname, IF_NAMESIZE, "%s", h->a[i].ifname);
            return h->a[i].addr;
        }
    }
    return 0;
}

uint32_t rt_net_haddr_of(const rt_net_haddrs *h, const char *ifname)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->a[i].ifname, ifname))
            return h->a[i].addr;
    return 0;
}

int rt_net_conflist_pin(const char *ar, json_t *cl, nr_err *err)
{
    const char *name = json_string_value(json_object_get(cl, "name"));
    /* plugins make paths of it (host-local's dataDir/<name>, dnsname's) */
    if (!name || !rt_net_name_valid(name))
        return nr_err_set(err, "a conflist whose name is not a network name");
    /* the dnsmasq instance is this store's and this name's, whatever the
     * file says: one edited to name another's would add this store's
     * containers to that DNS, and network rm would stop it.  A conflist
     * with none (made before) keeps its name, unless the name is one */
    char inst[32];
    dns_instance_of(ar, name, inst);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(cl, "plugins"), i, p)
    {
        const char *type = json_string_value(json_object_get(p, "type"));
        bool dn = json_is_object(p) && type && !strcmp(type, "dnsname");
        if (dn && (json_object_get(p, "nrunInstance") || rt_net_instance_valid(name)))
            json_object_set_new(p, "nrunInstance", json_string(inst));
        else if (json_is_object(p))
            json_object_del(p, "nrunInstance");
        /* host-local's leases are this store's, whatever the file says */
        json_t *ipam = json_object_get(p, "ipam");
        const char *it = json_string_value(json_object_get(ipam, "type"));
        if (json_is_object(ipam) && it && !strcmp(it, "host-local"))
            json_object_set_new(ipam, "dataDir", json_sprintf("%s/networks/ipam", ar));
    }
    return 0;
}

/* Load (and check) networks/<name>.conflist; the default network is made on first use. */
json_t *rt_net_conflist_load(const char *root, int dfd, const char *name, nr_err *err)
{
    cleanup_free char *file = nr_xasprintf("%s.conflist", name);
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_file(dfd, file, 1 << 20, &text, &len, err) < 0) {
        if (err->errnum != ENOENT)
            return nr_err_wrap(err, "%s/networks", root), NULL;
        if (strcmp(name, RT_NET_DEFAULT))
            return nr_err_set(err, "network %s not found", name), NULL;
        const char *sub = getenv("NRUN_BRIDGE_SUBNET");
        sub = sub && *sub ? sub : RT_NET_DEFAULT_SUBNET;
        uint32_t n;
        int p;
        if (rt_net_subnet_parse(sub, &n, &p) < 0)
            return nr_err_set(err, "NRUN_BRIDGE_SUBNET=%s: expected an IPv4 network like 10.88.0.0/16", sub), NULL;
        /* another store's default network (its nrun0 has the address) or
         * the LAN: this store's host-local would hand out the same
         * addresses on the same bridge, a container of each on one address */
        char ifn[IF_NAMESIZE], a[16];
        rt_net_haddrs h;
        rt_net_haddrs_read(&h);
        uint32_t taken = rt_net_haddr_in(&h, n, p, ifn);
        /* nrun0 up already: another store's default network (in this
         * network namespace); with another subnet too, the containers of
         * both would share its bridge, one L2 segment */
        uint32_t other = rt_net_haddr_of(&h, RT_NET_DEFAULT_BRIDGE);
        rt_net_haddrs_free(&h);
        if (other) {
            rt_net_ip_str(other, a);
            return nr_err_set(err,
                              "the default network's bridge %s is up with %s, another store's default network: a "
                              "second store cannot share it; run with --network NAME (`nrun network create NAME`) or "
                              "--network none, or remove that store's bridge",
                              RT_NET_DEFAULT_BRIDGE, a),
                   NULL;
        }
        if (taken) {
            rt_net_ip_str(taken, a);
            return nr_err_set(err,
                              "the default network's subnet %s overlaps the address %s of %s on this host: set "
                              "NRUN_BRIDGE_SUBNET to a free subnet, or use a network of `nrun network create`",
                              sub, a, ifn),
                   NULL;
        }
        char gw[16];
        rt_net_ip_str(n + 1, gw);
        json_t *cl = rt_net_conflist_make(root, name, RT_NET_DEFAULT_BRIDGE, sub, gw, false, false);
        cleanup_free char *t = json_dumps(cl, JSON_INDENT(2));
        if (nr_write_atomic(dfd, file, t, strlen(t), 0600, err) < 0) {
            json_decref(cl);
            return NULL;
        }
        return cl;
    }
    json_error_t je;
    json_t *cl = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!cl)
        return nr_err_set(err, "%s/networks/%s:%d:%d: %s", root, file, je.line, je.column, je.text), NULL;
    if (!json_is_object(cl) || !json_is_array(json_object_get(cl, "plugins")) ||
        !json_is_string(json_object_get(cl, "name")) || strcmp(json_string_value(json_object_get(cl, "name")), name)) {
        json_decref(cl);
        return nr_err_set(err, "%s/networks/%s: not a CNI conflist named \"%s\"", root, file, name), NULL;
    }
    cleanup_free char *ar = rt_net_abs_root(root);
    if (rt_net_conflist_pin(ar, cl, err) < 0) {
        json_decref(cl);
        return nr_err_wrap(err, "%s/networks/%s", root, file), NULL;
    }
    return cl;
}

int rt_net_exists(const char *root, const char *name, nr_err *err)
{
    cleanup_close int dfd = rt_net_dir_open(root, err);
    if (dfd < 0)
        return -1;
    json_t *cl = rt_net_conflist_load(root, dfd, name, err);
    json_decref(cl);
    return cl ? 0 : -1;
}
