/* Networks of the store and the containers attached to them (net.h).
 *
 * <root>/networks/<name>.conflist   a CNI network configuration list: what
 *                                   `nrun network create` writes, what an
 *                                   admin may edit; the default "bridge" is
 *                                   written on first use (NRUN_BRIDGE_SUBNET)
 * <root>/networks/ipam/              host-local's leases (its own locking)
 * <root>/networks/attach/<id>.json   per container: who attached it (pid and
 *                                   start time of the nrun), and for each
 *                                   network the conflist, interface, runtime
 *                                   config and ADD result used, so DEL gets
 *                                   exactly what ADD got, even after the
 *                                   network was edited or removed
 * Every ADD and DEL runs under <root>/networks/.lock.  Names, subnets and
 * the conflists themselves are net_conf.c's. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <limits.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/net_internal.h"
#include "runtime/runtime.h"

/* ---- attachment records ------------------------------------------------ */

const char *rt_net_attachment_network(const json_t *a)
{
    return json_string_value(json_object_get(json_object_get(a, "conflist"), "name"));
}

json_t *rt_net_record_read(int adfd, const char *id)
{
    cleanup_free char *f = nr_xasprintf("%s.json", id);
    cleanup_free char *text = NULL;
    size_t len;
    nr_err ign;
    /* a regular file of bounded size, judged before reading: a link to
     * /dev/zero was read to its 16 MiB on every ps, and never collected */
    if (nr_read_user_file(adfd, f, "attachment record", 16 << 20, &text, &len, &ign) < 0)
        return ign.errnum == ENOENT ? NULL : json_object();
    json_t *r = json_loadb(text, len, 0, NULL);
    if (!json_is_object(r)) {
        json_decref(r);
        return json_object(); /* unreadable: nothing to undo but the file */
    }
    return r;
}

static int record_write(int adfd, const char *id, const json_t *rec, nr_err *err)
{
    cleanup_free char *f = nr_xasprintf("%s.json", id);
    cleanup_free char *t = json_dumps(rec, JSON_COMPACT);
    return nr_write_atomic(adfd, f, t, strlen(t), 0600, err);
}

bool rt_net_id_plain(const char *id)
{
    if (!*id || strlen(id) > 64)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

/* that very process (pid and start time), and not a zombie: an init whose
 * nrun was killed may never be reaped where no one reaps orphans */
static bool pid_json_alive(const json_t *rec, const char *pk, const char *sk)
{
    json_int_t pid = json_integer_value(json_object_get(rec, pk));
    json_int_t st = json_integer_value(json_object_get(rec, sk));
    return pid > 0 && rt_pid_alive((pid_t)pid, (unsigned long long)st); /* which sees zombies as dead */
}

/* The container's namespace, pinned by a bind mount of it at
 * networks/ns/<id> from before ADD until after DEL: the bridge plugin removes
 * its NAT rule only when it finds the address in the namespace, which dies
 * with the container's last process, before nrun can run DEL. */
/* Where the container's namespace is pinned: <networks>/ns/<id>, from the
 * attach directory nrun holds open, never from the record (a record edited
 * by hand must not make DEL work in another namespace, nor the unpin
 * unlink another file).  NULL for an id that is not plain hex. */
/* <store>/networks of the attach directory nrun holds open, or NULL */
static char *networks_dir(int adfd)
{
    char self[64], dir[PATH_MAX];
    snprintf(self, sizeof self, "/proc/self/fd/%d", adfd);
    ssize_t n = readlink(self, dir, sizeof dir - 1);
    if (n <= 0 || (size_t)n >= sizeof dir - 1)
        return NULL;
    dir[n] = 0;
    char *sl = strrchr(dir, '/');
    if (!sl || strcmp(sl, "/attach"))
        return NULL;
    *sl = 0;
    return nr_xstrdup(dir);
}

static char *pin_path(int adfd, const char *id)
{
    cleanup_free char *dir = rt_net_id_plain(id) ? networks_dir(adfd) : NULL;
    return dir ? nr_xasprintf("%s/ns/%s", dir, id) : NULL;
}

/* the pinned namespace's path, or "" when nothing is pinned there */
static void netns_of(int adfd, const char *id, char out[PATH_MAX])
{
    out[0] = 0;
    cleanup_free char *p = pin_path(adfd, id);
    struct statfs sf;
    struct stat st;
    /* a pin is an nsfs mount on our file; a link there (to /run/netns/X,
     * /proc/1/ns/net) would make DEL run in the namespace it names */
    if (p && strlen(p) < PATH_MAX && lstat(p, &st) == 0 && !S_ISLNK(st.st_mode) && statfs(p, &sf) == 0 &&
        sf.f_type == NSFS_MAGIC)
        strcpy(out, p);
}

static void netns_unpin(int adfd, const char *id)
{
    cleanup_free char *p = pin_path(adfd, id);
    if (!p)
        return;
    struct statfs sf;
    if (statfs(p, &sf) == 0 && sf.f_type == NSFS_MAGIC)
        umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW);
    unlink(p);
}

static int netns_pin(int adfd, const char *id, pid_t pid, nr_err *err)
{
    cleanup_free char *path = pin_path(adfd, id);
    if (!path)
        return nr_err_set(err, "container id %s: no path to pin its network namespace at", id);
    cleanup_free char *dir = nr_xstrdup(path);
    *strrchr(dir, '/') = 0;
    cleanup_free char *src = nr_xasprintf("/proc/%d/ns/net", (int)pid);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "mkdir %s", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_err_sys(err, errno, "create %s", path);
    close(fd);
    if (mount(src, path, NULL, MS_BIND, NULL) < 0)
        return nr_err_sys(err, errno, "pin the container's network namespace at %s", path);
    return 0;
}

static int attachment_del(int adfd, const char *id, const json_t *a, nr_err *err)
{
    char ns[PATH_MAX];
    netns_of(adfd, id, ns);
    rt_cni_call c = {.container_id = id,
                     .netns = ns,
                     .ifname = json_string_value(json_object_get(a, "ifname")),
                     .args = json_string_value(json_object_get(a, "args")),
                     .runtime_config = json_object_get(a, "runtimeConfig")};
    const json_t *rcl = json_object_get(a, "conflist");
    if (!c.ifname || !json_is_object(rcl))
        return 0;
    /* the record's conflist as ADD had it, but what the store decides
     * (host-local's dataDir, the dnsmasq, a name that is no path) as its
     * load sets them: a forged record must not make DEL work elsewhere */
    cleanup_free char *nd = networks_dir(adfd);
    char *slash = nd ? strrchr(nd, '/') : NULL;
    if (!slash)
        return nr_err_set(err, "no store for the attachment of %.12s", id);
    *slash = 0;
    json_t *cl = json_deep_copy(rcl);
    if (rt_net_conflist_pin(nd, cl, err) < 0) {
        json_decref(cl);
        return -1;
    }
    const json_t *prev = json_object_get(a, "result");
    rt_net_spoof_guard(id, c.ifname, cl, json_is_object(prev) ? prev : NULL, false, &(nr_err){0});
    int r = rt_cni_del(cl, &c, json_is_object(prev) ? prev : NULL, err);
    json_decref(cl);
    return r;
}

/* with the lock held */
static void detach_locked(int adfd, const char *id)
{
    json_t *rec = rt_net_record_read(adfd, id);
    if (!rec)
        return;
    /* a record that no longer reads has no attachments to DEL, but its
     * namespace still goes, and the container's veth with it */
    const json_t *as = json_object_get(rec, "attachments");
    for (size_t i = json_array_size(as); i-- > 0;) {
        nr_err ign = {0};
        attachment_del(adfd, id, json_array_get(as, i), &ign);
    }
    netns_unpin(adfd, id);
    json_decref(rec);
    cleanup_free char *f = nr_xasprintf("%s.json", id);
    unlinkat(adfd, f, 0);
}

int rt_net_lock(const char *root, int *dfd, int *adfd, int *lk, nr_err *err)
{
    *dfd = rt_net_dir_open(root, err);
    if (*dfd < 0)
        return -1;
    *adfd = openat(*dfd, "attach", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (*adfd < 0) {
        close(*dfd);
        return nr_err_sys(err, errno, "open %s/networks/attach", root);
    }
    if (nr_lock(*dfd, ".lock", true, lk, err) < 0) {
        close(*dfd);
        close(*adfd);
        return -1;
    }
    return 0;
}

/* host-local's leases (ipam/<network>/<address>: the container id, then
 * the interface) whose container has no attachment record: a record is
 * written before every ADD and removed after the DEL, so such a lease is
 * one nothing will release (an nrun killed between, a file edited into
 * garbage) and its address would be lost until removed by hand. */
static void leases_gc_locked(int adfd)
{
    cleanup_close int ipam = openat(adfd, "../ipam", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *nets = ipam >= 0 ? nr_opendir_fd(ipam) : NULL;
    if (!nets)
        return;
    for (struct dirent *n; (n = readdir(nets));) {
        if (n->d_name[0] == '.' || !rt_net_name_valid(n->d_name))
            continue;
        int nfd = openat(ipam, n->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = nfd >= 0 ? fdopendir(nfd) : NULL;
        if (!d) {
            if (nfd >= 0)
                close(nfd);
            continue;
        }
        for (struct dirent *e; (e = readdir(d));) {
            struct in_addr a;
            if (inet_pton(AF_INET, e->d_name, &a) != 1)
                continue; /* lock, last_reserved_ip.0 */
            char buf[160] = "";
            int fd = openat(nfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            struct stat st;
            ssize_t r = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, sizeof buf - 1) : -1;
            if (fd >= 0)
                close(fd);
            if (r < 0)
                continue;
            buf[r] = 0;
            buf[strcspn(buf, "\r\n")] = 0;
            cleanup_free char *rec = nr_xasprintf("%s.json", buf);
            if (rt_net_id_plain(buf) && faccessat(adfd, rec, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                continue;
            unlinkat(nfd, e->d_name, 0);
        }
        closedir(d);
    }
    closedir(nets);
}

void rt_net_gc_locked(int adfd)
{
    DIR *d = nr_opendir_fd(adfd);
    if (!d)
        return;
    char **stale = NULL;
    size_t n = 0;
    char id[80];
    while (nr_readdir_suffix(d, ".json", id, sizeof id)) {
        if (!rt_net_id_plain(id))
            continue;
        json_t *rec = rt_net_record_read(adfd, id);
        if (rec && !pid_json_alive(rec, "owner_pid", "owner_start") && !pid_json_alive(rec, "init_pid", "init_start")) {
            stale = nr_xrealloc(stale, (n + 1) * sizeof *stale);
            stale[n++] = nr_xstrdup(id);
        }
        json_decref(rec);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        detach_locked(adfd, stale[i]);
        free(stale[i]);
    }
    free(stale);
}

void rt_net_gc(const char *root)
{
    cleanup_free char *a = nr_xasprintf("%s/networks/attach", root);
    if (access(a, F_OK) < 0)
        return; /* no network was ever used */
    int dfd, adfd, lk;
    nr_err ign;
    if (rt_net_lock(root, &dfd, &adfd, &lk, &ign) < 0)
        return;
    rt_net_gc_locked(adfd);
    close(lk), close(adfd), close(dfd);
}

void rt_net_detach(const char *root, const char *id)
{
    cleanup_free char *a = nr_xasprintf("%s/networks/attach/%s.json", root, id);
    if (!rt_net_id_plain(id) || access(a, F_OK) < 0)
        return;
    int dfd, adfd, lk;
    nr_err ign;
    if (rt_net_lock(root, &dfd, &adfd, &lk, &ign) < 0)
        return;
    detach_locked(adfd, id);
    close(lk), close(adfd), close(dfd);
}

/* ---- attach --------------------------------------------------------------- */

/* A host port held for the container: bound, never listening, never passed
 * in.  It makes a port that is taken (by a host service or another
 * container) an error here, and -P's "any free port" a real free port. */
static int port_reserve(rt_net_port *p, nr_err *err)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int fam = strchr(p->host_ip, ':') ? AF_INET6 : AF_INET;
    if (fam == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p->host_port);
        if (inet_pton(AF_INET6, p->host_ip, &a->sin6_addr) != 1)
            return nr_err_set(err, "-p %s: bad IPv6 address", p->host_ip);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p->host_port);
        if (*p->host_ip && inet_pton(AF_INET, p->host_ip, &a->sin_addr) != 1)
            return nr_err_set(err, "-p %s: bad IPv4 address", p->host_ip);
        len = sizeof *a;
    }
    int fd = socket(fam, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nr_err_sys(err, errno, "socket");
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;
        close(fd);
        return nr_err_sys(err, e, "publish port %s%s%d/%s", p->host_ip, *p->host_ip ? ":" : "", p->host_port,
                          p->udp ? "udp" : "tcp");
    }
    if (p->host_port == 0) {
        getsockname(fd, (struct sockaddr *)&ss, &len);
        p->host_port = ntohs(fam == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    }
    return fd;
}

static char *etc_text(const char *root, const json_t *result, const json_t *cl, const char *hostname, const char *ip)
{
    const json_t *r = rt_net_range_of(cl);
    const char *gw = json_string_value(json_object_get(r, "gateway"));
    nr_buf h = {0}, rs = {0};
    nr_buf_addf(&h, "%s\t%s\n", ip, hostname);
    struct in_addr a;
    if (gw && inet_pton(AF_INET, gw, &a) == 1)
        nr_buf_addf(&h, "%s\thost.nrun.internal host.docker.internal\n", gw);
    /* dnsname answers for the network on the bridge's address */
    const json_t *dns = json_object_get(result, "dns");
    const json_t *ns = json_object_get(dns, "nameservers");
    size_t nns = 0;
    for (size_t i = 0; i < json_array_size(ns) && i < 3; i++) {
        const char *s = json_string_value(json_array_get(ns, i));
        if (s && inet_pton(AF_INET, s, &a) == 1) {
            nr_buf_addf(&rs, "nameserver %s\n", s);
            nns++;
        }
    }
    if (nns) {
        const json_t *se = json_object_get(dns, "search");
        for (size_t i = 0; i < json_array_size(se) && i < 6; i++) {
            const char *s = json_string_value(json_array_get(se, i));
            if (s && strlen(s) < 254 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(s))
                nr_buf_addf(&rs, "%s%s", i ? " " : "search ", s);
        }
        if (json_array_size(se))
            nr_buf_addstr(&rs, "\n");
    } else {
        /* the host's resolvers, as docker's default bridge gives them; a
         * loopback one cannot be reached from the container */
        cleanup_free char *host = NULL;
        size_t len;
        nr_err ign;
        if (nr_read_file(AT_FDCWD, "/etc/resolv.conf", 1 << 16, &host, &len, &ign) == 0) {
            char *save = NULL;
            for (char *l = strtok_r(host, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char addr[64];
                if (sscanf(l, "nameserver %63s", addr) == 1) {
                    if (!strncmp(addr, "127.", 4) || !strcmp(addr, "::1"))
                        continue;
                    nns++;
                }
                if (!strncmp(l, "nameserver", 10) || !strncmp(l, "search", 6) || !strncmp(l, "options", 7))
                    nr_buf_addf(&rs, "%s\n", l);
            }
        }
        if (!nns)
            nr_buf_addstr(&rs, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    (void)root;
    nr_buf_add(&h, "", 1);
    nr_buf_add(&rs, "", 1);
    size_t hl = h.len;
    char *out = nr_xmalloc(hl + rs.len);
    memcpy(out, h.data, hl);
    memcpy(out + hl, rs.data, rs.len);
    nr_buf_free(&h);
    nr_buf_free(&rs);
    return out;
}

static char *cni_args(const char *name)
{
    return nr_xasprintf("IgnoreUnknown=1;K8S_POD_NAME=%s", name);
}

static int attach_one(int adfd, const char *id, json_t *rec, json_t *conf, const char *ifname, const char *name,
                      json_t *aliases, json_t *portmaps, const char *ipv4, json_t **result, nr_err *err)
{
    json_t *rc = json_object();
    /* --ip: host-local's "ips" (the CNI convention), which the bridge
     * plugin hands to its IPAM; declared here for conflists made before */
    json_t *bp = ipv4 ? (json_t *)rt_net_plugin_of(conf, "bridge") : NULL;
    if (bp) {
        json_object_set_new(rc, "ips", json_pack("[s]", ipv4));
        json_t *caps = json_object_get(bp, "capabilities");
        if (!json_is_object(caps))
            json_object_set_new(bp, "capabilities", caps = json_object());
        json_object_set_new(caps, "ips", json_true());
    }
    bool defer = portmaps && json_array_size(portmaps) && getenv("NRUN_DEPLOY_DEFER_PORTS");
    if (portmaps && json_array_size(portmaps))
        json_object_set(rc, defer ? "deferredPortMappings" : "portMappings", portmaps);
    /* dnsname writes each into a hosts file: DNS names only, and none every
     * container has in its /etc/hosts (a config.json older than that rule) */
    json_t *keep = json_array(), *x;
    size_t k;
    json_array_foreach(aliases, k, x) if (json_is_string(x) && rt_net_alias_valid(json_string_value(x)))
        json_array_append(keep, x);
    if (json_array_size(keep))
        json_object_set_new(rc, "aliases", json_pack("{s:O}", rt_net_dns_instance(conf), keep)); /* by the name dnsname is given */
    json_decref(keep);
    cleanup_free char *args = cni_args(name);
    json_t *a = json_pack("{s:O, s:s, s:s, s:o}", "conflist", conf, "ifname", ifname, "args", args, "runtimeConfig", rc);
    json_array_append_new(json_object_get(rec, "attachments"), a);
    /* recorded before ADD: a failure or a kill from here on is undone by DEL */
    if (record_write(adfd, id, rec, err) < 0)
        return -1;
    /* before ADD, which may set route_localnet on the bridge it makes */
    const char *br = json_string_value(json_object_get(rt_net_plugin_of(conf, "bridge"), "bridge"));
    bool internal = json_is_true(json_object_get(json_object_get(conf, "org.nrun"), "internal"));
    if (br && (rt_net_localnet_guard(br, true, err) < 0 || (internal && rt_net_internal_guard(br, true, err) < 0)))
        return nr_err_wrap(err, "network %s", json_string_value(json_object_get(conf, "name")));
    char ns[PATH_MAX];
    netns_of(adfd, id, ns);
    rt_cni_call c = {.container_id = id, .netns = ns, .ifname = ifname, .args = args, .runtime_config = rc};
    if (rt_cni_add(conf, &c, result, err) < 0)
        return -1;
    json_object_set(a, "result", *result);
    if (record_write(adfd, id, rec, err) < 0 || rt_net_spoof_guard(id, ifname, conf, *result, true, err) < 0) {
        json_decref(*result);
        *result = NULL;
        return nr_err_wrap(err, "network %s", json_string_value(json_object_get(conf, "name")));
    }
    return 0;
}

int rt_net_attach(const char *root, const char *id, pid_t pid, const char *networks_json, const char *hostname,
                  rt_net_port *ports, size_t nports, char **etc, int **hold, size_t *nhold, nr_err *err)
{
    *etc = NULL;
    *hold = NULL;
    *nhold = 0;
    if (!rt_net_id_plain(id))
        return nr_err_set(err, "container id %s", id);
    json_t *nets = json_loads(networks_json, 0, NULL);
    if (!json_is_array(nets) || !json_array_size(nets)) {
        json_decref(nets);
        return nr_err_set(err, "config.json: org.nrun.networks is not a list of networks");
    }
    int dfd, adfd, lk;
    if (rt_net_lock(root, &dfd, &adfd, &lk, err) < 0) {
        json_decref(nets);
        return -1;
    }
    rt_net_gc_locked(adfd);
    leases_gc_locked(adfd); /* only here, where an address is wanted: not on every `ps` */
    int r = -1;
    json_t *rec = json_pack("{s:i, s:I, s:i, s:I, s:[]}", "owner_pid", (int)getpid(), "owner_start",
                            (json_int_t)rt_pid_start_time(getpid()), "init_pid", (int)pid, "init_start",
                            (json_int_t)rt_pid_start_time(pid), "attachments");
    json_t *pm = json_array();
    int *fds = nr_xcalloc(nports + 1, sizeof *fds);
    size_t nf = 0;
    json_t *first_result = NULL, *more_ns = json_array(); /* the DNS servers of networks after the first */
    if (record_write(adfd, id, rec, err) < 0 || netns_pin(adfd, id, pid, err) < 0)
        goto undo;
    /* a deploy's new container: the old one holds the ports until it goes */
    bool defer = getenv("NRUN_DEPLOY_DEFER_PORTS") != NULL;
    for (size_t i = 0; i < nports; i++) {
        if (defer && ports[i].host_port == 0)
            defer = false;
        int fd = defer ? -1 : port_reserve(&ports[i], err);
        if (fd < 0 && !defer)
            goto undo;
        if (fd >= 0)
            fds[nf++] = fd;
        json_t *m = json_pack("{s:i, s:i, s:s}", "hostPort", ports[i].host_port, "containerPort", ports[i].ctr_port,
                              "protocol", ports[i].udp ? "udp" : "tcp");
        if (*ports[i].host_ip)
            json_object_set_new(m, "hostIP", json_string(ports[i].host_ip));
        json_array_append_new(pm, m);
    }
    const json_t *first_conf = NULL;
    char ip[64] = "";
    size_t i;
    json_t *n;
    json_array_foreach(nets, i, n)
    {
        const char *name = json_string_value(json_object_get(n, "name"));
        json_t *aliases = json_object_get(n, "aliases");
        if (!name || !rt_net_name_valid(name)) {
            nr_err_set(err, "config.json: org.nrun.networks[%zu] has no valid name", i);
            goto undo;
        }
        json_t *conf = rt_net_conflist_load(root, dfd, name, err);
        if (!conf)
            goto undo;
        char ifname[32];
        snprintf(ifname, sizeof ifname, "eth%u", (unsigned)(i & 0xff));
        const char *cname = json_string_value(json_array_get(aliases, 0));
        json_t *res = NULL;
        int ar = attach_one(adfd, id, rec, conf, ifname, cname ? cname : id, aliases, i == 0 ? pm : NULL,
                            json_string_value(json_object_get(n, "ipv4")), &res, err);
        if (ar < 0) {
            json_decref(conf);
            goto undo;
        }
        if (i == 0) {
            if (rt_cni_result_ip(res, ip, err) < 0) {
                nr_err_wrap(err, "network %s", name);
                json_decref(res);
                json_decref(conf);
                goto undo;
            }
            first_result = res;
            first_conf = conf; /* kept alive by rec */
        } else {
            json_t *x;
            size_t k;
            json_array_foreach(json_object_get(json_object_get(res, "dns"), "nameservers"), k, x)
                json_array_append(more_ns, x);
            json_decref(res);
        }
        json_decref(conf);
    }
    /* once: a restart of the new container (its monitor) publishes as usual */
    unsetenv("NRUN_DEPLOY_DEFER_PORTS");
    *etc = etc_text(root, first_result, first_conf, hostname, ip);
    if (json_array_size(more_ns)) {
        /* the other networks' DNS servers too, as a connect adds them
         * (resolv_connect): a restart resolves the names of every network */
        json_t *all = json_deep_copy(more_ns), *x;
        size_t k;
        json_array_foreach(json_object_get(json_object_get(first_result, "dns"), "nameservers"), k, x)
            json_array_append(all, x);
        size_t hl = strlen(*etc);
        cleanup_free char *rs = rt_resolv_add_network(*etc + hl + 1, all, more_ns);
        size_t rl = strlen(rs);
        char *joined = nr_xmalloc(hl + 1 + rl + 1);
        memcpy(joined, *etc, hl + 1);
        memcpy(joined + hl + 1, rs, rl + 1);
        free(*etc);
        *etc = joined;
        json_decref(all);
    }
    json_decref(first_result);
    *hold = fds;
    *nhold = nf;
    fds = NULL;
    r = 0;
    goto out;
undo:
    json_decref(first_result);
    detach_locked(adfd, id);
out:
    json_decref(more_ns);
    for (size_t k = 0; fds && k < nf; k++)
        close(fds[k]);
    free(fds);
    json_decref(pm);
    json_decref(rec);
    json_decref(nets);
    close(lk), close(adfd), close(dfd);
    return r;
}

/* ---- connect / disconnect a running container ----------------------------- */

/* rt_net_lock for a change to container id's record (a plain id: it names a file). */
static int lock_for(const char *root, const char *id, int *dfd, int *adfd, int *lk, nr_err *err)
{
    if (!rt_net_id_plain(id))
        return nr_err_set(err, "container id %s", id);
    return rt_net_lock(root, dfd, adfd, lk, err);
}

/* A running container connected to one more network resolves that network's
 * names too, as docker's (one DNS for all its networks): its DNS server
 * joins the container's resolv.conf (/dev/.nrun/resolv.conf, bind-mounted
 * on /etc/resolv.conf, rewritten in place). A server that does not know a
 * name refuses it (dnsname's dnsmasq has no upstream for a name it does not
 * hold), so the resolver asks the next. A disconnect (add_it false) takes
 * out the servers no network left has. Best effort: the connection stands
 * without it; a resolv.conf of the user's own (a mount) is left alone. */
static void resolv_connect(pid_t pid, unsigned long long start, const json_t *rec, const json_t *res, bool add_it)
{
    const json_t *add = json_object_get(json_object_get(res, "dns"), "nameservers");
    if (!json_array_size(add))
        return;
    char root[64], self[64];
    snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
    /* Looked at before it is opened: root in the container can put a node
     * of its own there (with CAP_MKNOD, any disk or watchdog), which this
     * host process, outside the container's device rules, must not open;
     * O_NONBLOCK: a lease the container holds on it does not hold us. */
    cleanup_close int pfd = nr_open_in_root(root, &RT_CTR_RUN_DIR "/resolv.conf"[1], O_PATH | O_NOFOLLOW);
    struct stat st;
    if (pfd < 0 || fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode) || !rt_pid_alive(pid, start))
        return;
    snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
    cleanup_close int fd = open(self, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 16) || !rt_pid_alive(pid, start))
        return;
    cleanup_free char *text = nr_xcalloc(1, (size_t)st.st_size + 1);
    if (pread(fd, text, (size_t)st.st_size, 0) != st.st_size)
        return;
    json_t *all = json_array(), *drop = json_array();
    size_t i, j;
    const json_t *a, *x;
    json_array_foreach(json_object_get(rec, "attachments"), i, a)
        json_array_foreach(json_object_get(json_object_get(json_object_get(a, "result"), "dns"), "nameservers"), j, x)
            json_array_append(all, (json_t *)x);
    /* a disconnect: the servers of no network left */
    json_array_foreach(add, i, x) {
        bool kept = false;
        json_array_foreach(all, j, a) kept = kept || json_equal(a, x);
        if (!kept)
            json_array_append(drop, (json_t *)x);
    }
    cleanup_free char *out = add_it ? rt_resolv_add_network(text, all, add) : rt_resolv_drop_network(text, drop);
    json_decref(all);
    json_decref(drop);
    size_t n = strlen(out);
    if (strcmp(out, text) && pwrite(fd, out, n, 0) == (ssize_t)n)
        (void)!ftruncate(fd, (off_t)n);
}

/* The networks a container starts on are its config.json's
 * (org.nrun.networks, read at every launch): a connect adds one there, a
 * disconnect takes it out, so a restart (--restart, nrun start) attaches
 * what it had, as docker's.  aliases NULL: take network out.  The last
 * network stays (a container without one has no place for its ports). */
static int networks_persist(const char *root, const char *id, const char *network, json_t *aliases, const char *ip,
                            nr_err *err)
{
    cleanup_free char *dir = rt_ctr_dir(root, id);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return nr_err_sys(err, errno, "open %s", dir);
    cleanup_free char *text = NULL;
    size_t len = 0;
    if (nr_read_file(dfd, "config.json", 16 << 20, &text, &len, err) < 0)
        return -1;
    json_auto_t *cfg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *ann = json_object_get(cfg, "annotations");
    const char *nets_s = json_string_value(json_object_get(ann, "org.nrun.networks"));
    json_auto_t *nets = nets_s ? json_loads(nets_s, 0, NULL) : NULL;
    if (!json_is_array(nets))
        return nr_err_set(err, "%s/config.json: no org.nrun.networks list", dir);
    for (size_t i = json_array_size(nets); i-- > 0;)
        if (!strcmp(json_string_value(json_object_get(json_array_get(nets, i), "name")) ?: "", network) &&
            (aliases || json_array_size(nets) > 1))
            json_array_remove(nets, i);
    if (aliases) {
        if (json_array_size(nets) >= 16)
            return nr_err_set(err, "container %.12s: at most 16 networks", id);
        json_array_append_new(nets, json_pack("{s:s, s:O}", "name", network, "aliases", aliases));
        if (ip)
            json_object_set_new(json_array_get(nets, json_array_size(nets) - 1), "ipv4", json_string(ip));
    }
    cleanup_free char *ns = json_dumps(nets, JSON_COMPACT);
    json_object_set_new(ann, "org.nrun.networks", json_string(ns));
    cleanup_free char *out = json_dumps(cfg, JSON_INDENT(2));
    if (!out)
        return nr_err_set(err, "%s/config.json: cannot write it", dir);
    return nr_write_atomic(dfd, "config.json", out, strlen(out), 0600, err);
}

int rt_net_connect(const char *root, const char *id, pid_t pid, unsigned long long start, const char *network,
                   const char *hostname, char **aliases, size_t naliases, const char *ip, nr_err *err)
{
    int dfd, adfd, lk;
    if (lock_for(root, id, &dfd, &adfd, &lk, err) < 0)
        return -1;
    int r = -1;
    json_t *conf = NULL, *res = NULL, *al = NULL;
    json_t *rec = rt_net_record_read(adfd, id);
    if (!rec || !json_is_array(json_object_get(rec, "attachments")) ||
        json_integer_value(json_object_get(rec, "init_pid")) != pid ||
        (unsigned long long)json_integer_value(json_object_get(rec, "init_start")) != start || !rt_pid_alive(pid, start)) {
        nr_err_set(err, "container %.12s is not running on an nrun network (--network none, host or container:)", id);
        goto out;
    }
    for (size_t k = 0; k < naliases; k++)
        if (!rt_net_alias_valid(aliases[k])) {
            cleanup_free char *e = nr_escape_controls(aliases[k]);
            nr_err_set(err, "--alias %s: " RT_NET_ALIAS_RULE, e);
            goto out;
        }
    if (!rt_net_alias_valid(hostname)) {
        nr_err_set(err, "container %.12s: its name %s is not a DNS name for network %s: " RT_NET_ALIAS_RULE, id,
                   hostname, network);
        goto out;
    }
    json_t *as = json_object_get(rec, "attachments");
    size_t i;
    json_t *a;
    json_array_foreach(as, i, a) if (!strcmp(rt_net_attachment_network(a) ?: "", network))
    {
        nr_err_set(err, "container %.12s is already connected to network %s", id, network);
        goto out;
    }
    if (!(conf = rt_net_conflist_load(root, dfd, network, err)))
        goto out;
    char ifname[32];
    snprintf(ifname, sizeof ifname, "eth%u", (unsigned)(json_array_size(as) & 0xff));
    al = json_array();
    json_array_append_new(al, json_string(hostname));
    for (size_t k = 0; k < naliases; k++)
        json_array_append_new(al, json_string(aliases[k]));
    if (attach_one(adfd, id, rec, conf, ifname, hostname, al, NULL, ip, &res, err) < 0) {
        /* undo this one attachment only */
        nr_err ign = {0};
        size_t last = json_array_size(as) - 1;
        attachment_del(adfd, id, json_array_get(as, last), &ign);
        json_array_remove(as, last);
        record_write(adfd, id, rec, &ign);
        goto out;
    }
    resolv_connect(pid, start, rec, res, true);
    r = networks_persist(root, id, network, al, ip, err) < 0 ? nr_err_wrap(err, "connected, but not kept for a restart")
                                                             : 0;
out:
    json_decref(res);
    json_decref(al);
    json_decref(conf);
    json_decref(rec);
    close(lk), close(adfd), close(dfd);
    return r;
}

int rt_net_disconnect(const char *root, const char *id, const char *network, nr_err *err)
{
    int dfd, adfd, lk;
    if (lock_for(root, id, &dfd, &adfd, &lk, err) < 0)
        return -1;
    int r = nr_err_set(err, "container %.12s is not connected to network %s", id, network);
    json_t *rec = rt_net_record_read(adfd, id);
    json_t *as = json_object_get(rec, "attachments");
    for (size_t i = 0; i < json_array_size(as); i++) {
        json_t *a = json_array_get(as, i);
        const char *n = rt_net_attachment_network(a);
        if (!n || strcmp(n, network))
            continue;
        memset(err, 0, sizeof *err);
        r = attachment_del(adfd, id, a, err);
        json_t *res = json_incref(json_object_get(a, "result"));
        json_array_remove(as, i);
        resolv_connect((pid_t)json_integer_value(json_object_get(rec, "init_pid")),
                       (unsigned long long)json_integer_value(json_object_get(rec, "init_start")), rec, res, false);
        json_decref(res);
        nr_err ign;
        record_write(adfd, id, rec, &ign);
        break;
    }
    if (r == 0 && networks_persist(root, id, network, NULL, NULL, err) < 0)
        r = nr_err_wrap(err, "disconnected, but a restart would attach it again");
    json_decref(rec);
    close(lk), close(adfd), close(dfd);
    return r;
}


/* ---- deploys: the portmap plugin alone, on or off ------------------------- */

int rt_net_publish(const char *root, const char *id, bool on, nr_err *err)
{
    int dfd, adfd, lk;
    if (lock_for(root, id, &dfd, &adfd, &lk, err) < 0)
        return -1;
    int r = -1;
    json_t *rec = rt_net_record_read(adfd, id);
    json_t *a = json_array_get(json_object_get(rec, "attachments"), 0);
    json_t *rc = json_object_get(a, "runtimeConfig");
    json_t *cl = json_object_get(a, "conflist");
    json_t *pm = json_object_get(rc, "portMappings");
    if (!pm)
        pm = json_object_get(rc, "deferredPortMappings");
    json_incref(pm); /* rc's key changes below */
    json_t *plugin = json_is_object(cl) ? rt_net_plugin_of(cl, "portmap") : NULL;
    const char *ifname = json_string_value(json_object_get(a, "ifname"));
    if (!json_is_object(rc) || !json_is_array(pm) || !json_array_size(pm) || !plugin || !ifname ||
        !json_is_object(json_object_get(a, "result"))) {
        nr_err_set(err, "container %.12s has no published ports on record (networks/attach/%.64s.json)", id, id);
        goto out;
    }
    json_t *one = json_deep_copy(cl);
    json_object_set_new(one, "plugins", json_pack("[O]", plugin));
    json_t *call_rc = json_pack("{s:O}", "portMappings", pm);
    char ns[PATH_MAX];
    netns_of(adfd, id, ns);
    rt_cni_call c = {.container_id = id,
                     .netns = ns,
                     .ifname = ifname,
                     .args = json_string_value(json_object_get(a, "args")),
                     .runtime_config = call_rc};
    json_t *res = NULL;
    if (on && !*ns)
        r = nr_err_set(err, "container %.12s: its network namespace is gone", id);
    else
        r = on ? rt_cni_add_prev(one, &c, json_object_get(a, "result"), &res, err)
               : rt_cni_del(one, &c, json_object_get(a, "result"), err);
    json_decref(res);
    json_decref(one);
    json_decref(call_rc);
    if (r == 0) {
        /* the full DEL at the end runs portmap with these again: idempotent */
        json_object_del(rc, "deferredPortMappings");
        json_object_set(rc, "portMappings", pm);
        json_object_set_new(a, "published", json_boolean(on));
        r = record_write(adfd, id, rec, err);
    }
out:
    json_decref(pm);
    json_decref(rec);
    close(lk), close(adfd), close(dfd);
    return r;
}
