/* Filter rules nrun adds around what the CNI plugins do (net_internal.h).
 *
 * The loopback guard: the portmap plugin (snat, for -p on the host's
 * 127.0.0.1) sets route_localnet=1 on the bridge, which makes the host accept
 * packets for 127.0.0.0/8 that arrive on it: a container with NET_RAW could
 * reach every service the host binds to its loopback (CVE-2020-8558 in
 * kube-proxy).  A packet on the bridge is never legitimately addressed to
 * 127/8 (replies to the host's 127.0.0.1 clients are SNATed to the bridge
 * address), so the raw table drops them before routing, once per bridge.
 *
 * The internal guard: an --internal network has no default route and no
 * NAT, but the host forwards for it all the same (the bridge plugin turns
 * ip_forward on): a container with NET_RAW (or NET_ADMIN, adding a route)
 * sent packets through the host to anywhere.  As docker does for its
 * internal networks, FORWARD drops what comes in on the bridge for another
 * interface and what goes out on it from another: in the mangle table, which
 * runs first and which the plugins leave alone (in filter, the firewall
 * plugin's CNI-FORWARD jump, inserted at the top on a bridge's first ADD,
 * would accept the container's packets before the drop).
 *
 * The spoof guard: the bridge plugin lets any frame through, so a container
 * with NET_ADMIN and NET_RAW can answer ARP for another container's address
 * and take its traffic (a published port's too).  Per attachment, an
 * ebtables chain NRUN-<id12>-<ifname> in the nat table, jumped to from
 * PREROUTING for frames from its host-side veth, drops every frame whose
 * source MAC, ARP sender or IPv4 source is not the attachment's own.  (The bridge plugin's
 * own macspoofchk needs the nft program and checks the MAC only.) */
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/net_internal.h"

int rt_net_tool_run(const char *prog, const char *const *args)
{
    const char *argv[32] = {prog};
    size_t n = 1;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    cleanup_free char *p1 = nr_xasprintf("/usr/sbin/%s", prog), *p2 = nr_xasprintf("/sbin/%s", prog);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0)
            dup2(null, 0), dup2(null, 1), dup2(null, 2);
        execve(p1, (char **)argv, env);
        execve(p2, (char **)argv, env);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) != 127 ? WEXITSTATUS(st) : -1;
}

/* prog-restore --noflush with input on its stdin: one atomic transaction
 * (nft's; the legacy tool applies it table by table) where the single
 * commands would be an exec each, 5-10 ms apiece.  -1 when it fails or the
 * tool is missing or takes no --noflush: the caller then runs the single
 * commands. */
static int tool_restore(const char *prog, const char *input)
{
    size_t len = strlen(input);
    int pfd[2];
    if (len > 16384 || pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    cleanup_free char *name = nr_xasprintf("%s-restore", prog);
    cleanup_free char *p1 = nr_xasprintf("/usr/sbin/%s", name), *p2 = nr_xasprintf("/sbin/%s", name);
    char *argv[] = {name, "--noflush", NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(pfd[0], 0);
        if (null >= 0)
            dup2(null, 1), dup2(null, 2);
        execve(p1, argv, env);
        execve(p2, argv, env);
        _exit(127);
    }
    close(pfd[0]);
    /* the input fits the pipe's buffer: written whole before the wait */
    bool wrote = pid > 0 && nr_write_all(pfd[1], input, len) == 0;
    close(pfd[1]);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return wrote && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* A device name fit for an iptables argument: what the kernel takes, and
 * never an option ("-j ACCEPT") */
static bool ifname_plain(const char *s)
{
    size_t l = strlen(s);
    return l > 0 && l < IFNAMSIZ && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == l;
}

int rt_net_localnet_guard(const char *bridge, bool add, nr_err *err)
{
    if (!ifname_plain(bridge))
        return nr_err_set(err, "bridge \"%s\" is not a plain device name", bridge);
    const char *rule[] = {"-w", "-t", "raw", add ? "-C" : "-D", "PREROUTING", "-i", bridge, "-d", "127.0.0.0/8", "-m",
                          "comment", "--comment", "nrun: no host loopback from containers", "-j", "DROP", NULL};
    int r = rt_net_tool_run("iptables", rule);
    if (!add || r == 0)
        return 0;
    rule[3] = "-I";
    if (rt_net_tool_run("iptables", rule) != 0)
        return nr_err_set(err, "iptables -t raw -I PREROUTING -i %s -d 127.0.0.0/8 -j DROP failed: containers on %s "
                               "could reach the host's loopback", bridge, bridge);
    return 0;
}

int rt_net_internal_guard(const char *bridge, bool add, nr_err *err)
{
    if (!ifname_plain(bridge))
        return nr_err_set(err, "bridge \"%s\" is not a plain device name", bridge);
    for (int out = 0; out < 2; out++) {
        const char *rule[] = {"-w", "-t", "mangle", add ? "-C" : "-D", "FORWARD", out ? "-o" : "-i", bridge, "!",
                              out ? "-i" : "-o", bridge, "-m", "comment", "--comment", "nrun: internal network",
                              "-j", "DROP", NULL};
        if (!add) {
            rt_net_tool_run("iptables", rule);
            continue;
        }
        if (rt_net_tool_run("iptables", rule) == 0)
            continue;
        rule[3] = "-I";
        if (rt_net_tool_run("iptables", rule) != 0)
            return nr_err_set(err, "iptables -t mangle -I FORWARD %s %s ! %s %s -j DROP failed: the internal network on %s "
                                   "would forward", out ? "-o" : "-i", bridge, out ? "-i" : "-o", bridge, bridge);
    }
    return 0;
}

/* "aa:bb:cc:dd:ee:ff", lower or upper hex */
static bool mac_plain(const char *s)
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? s[i] != ':' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    return true;
}

/* From an ADD result: the container's IPv4 address and MAC (the interface
 * its address is on) and the host side of its veth (the one interface that
 * is neither in the sandbox nor the bridge). */
static int result_ends(const json_t *result, const char *bridge, char ip[64], const char **mac, const char **veth,
                       nr_err *err)
{
    if (rt_cni_result_ip(result, ip, err) < 0)
        return -1;
    const json_t *ifs = json_object_get(result, "interfaces");
    *mac = *veth = NULL;
    size_t i;
    const json_t *f;
    json_array_foreach(ifs, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *m = json_string_value(json_object_get(f, "mac"));
        const char *sb = json_string_value(json_object_get(f, "sandbox"));
        if (!name)
            continue;
        if (sb && *sb && m && !*mac)
            *mac = m;
        else if ((!sb || !*sb) && strcmp(name, bridge) && !*veth)
            *veth = name;
    }
    if (!*mac || !mac_plain(*mac) || !*veth || !ifname_plain(*veth))
        return nr_err_set(err, "CNI result: no container MAC and host veth to guard against spoofing");
    return 0;
}

int rt_net_spoof_guard(const char *id, const char *ifname, const json_t *conf, const json_t *result, bool add,
                       nr_err *err)
{
    const char *bridge = json_string_value(json_object_get(rt_net_plugin_of(conf, "bridge"), "bridge"));
    if (!bridge || !result)
        return 0; /* not a bridge network: nothing shared to spoof on */
    char ip[64], chain[32];
    const char *mac, *veth;
    if (!rt_net_id_plain(id) || !ifname_plain(ifname) || result_ends(result, bridge, ip, &mac, &veth, err) < 0)
        return add ? -1 : 0;
    snprintf(chain, sizeof chain, "NRUN-%.12s-%s", id, ifname);
    /* nat PREROUTING: before the bridge learns the frame's source MAC (in
     * filter, a frame with another container's MAC was dropped only after
     * the bridge had moved that MAC to the spoofer's port) */
    const char *jump[] = {"-t", "nat", add ? "-A" : "-D", "PREROUTING", "-i", veth, "-j", chain, NULL};
    if (!add) {
        cleanup_free char *batch =
            nr_xasprintf("*nat\n-D PREROUTING -i %s -j %s\n-F %s\n-X %s\nCOMMIT\n", veth, chain, chain, chain);
        if (tool_restore("ebtables", batch) == 0)
            return 0;
        /* a part already gone (a killed nrun's half-made chain): one by one */
        rt_net_tool_run("ebtables", jump);
        rt_net_tool_run("ebtables", (const char *const[]){"-t", "nat", "-F", chain, NULL});
        rt_net_tool_run("ebtables", (const char *const[]){"-t", "nat", "-X", chain, NULL});
        return 0;
    }
    /* one transaction: the chain (declaring it empties one a killed nrun
     * left for the same id and interface), its rules, the jump */
    cleanup_free char *batch = nr_xasprintf("*nat\n:%s ACCEPT\n"
                                            "-A %s -s ! %s -j DROP\n"
                                            "-A %s -p ARP --arp-mac-src ! %s -j DROP\n"
                                            "-A %s -p ARP --arp-ip-src ! %s -j DROP\n"
                                            "-A %s -p IPv4 --ip-src ! %s -j DROP\n"
                                            "-A PREROUTING -i %s -j %s\nCOMMIT\n",
                                            chain, chain, mac, chain, mac, chain, ip, chain, ip, veth, chain);
    if (tool_restore("ebtables", batch) == 0)
        return 0;
    /* a chain left by a killed nrun for the same id and interface is reused */
    if (rt_net_tool_run("ebtables", (const char *const[]){"-t", "nat", "-N", chain, NULL}) != 0)
        rt_net_tool_run("ebtables", (const char *const[]){"-t", "nat", "-F", chain, NULL});
    const char *const rules[][12] = {
        {"-t", "nat", "-A", chain, "-s", "!", mac, "-j", "DROP", NULL},
        {"-t", "nat", "-A", chain, "-p", "ARP", "--arp-mac-src", "!", mac, "-j", "DROP", NULL},
        {"-t", "nat", "-A", chain, "-p", "ARP", "--arp-ip-src", "!", ip, "-j", "DROP", NULL},
        {"-t", "nat", "-A", chain, "-p", "IPv4", "--ip-src", "!", ip, "-j", "DROP", NULL},
    };
    for (size_t k = 0; k < sizeof rules / sizeof *rules; k++)
        if (rt_net_tool_run("ebtables", rules[k]) != 0)
            goto fail;
    if (rt_net_tool_run("ebtables", jump) != 0)
        goto fail;
    return 0;
fail:
    rt_net_spoof_guard(id, ifname, conf, result, false, &(nr_err){0});
    return nr_err_set(err, "ebtables: the chain %s against address spoofing from %s could not be made", chain, veth);
}
