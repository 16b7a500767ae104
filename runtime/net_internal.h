/* Store-level CNI glue shared by net.c (attach, detach, GC) and
 * net_store.c (create, remove, list): paths, locking, conflists. */
#ifndef RT_NET_INTERNAL_H
#define RT_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include <jansson.h>

#include "common/err.h"

int rt_net_dir_open(const char *root, nr_err *err);   /* <root>/networks, made with attach/ */
char *rt_net_abs_root(const char *root);
int rt_net_subnet_parse(const char *s, uint32_t *net, int *prefix);
void rt_net_ip_str(uint32_t ip, char out[16]);
json_t *rt_net_plugin_of(const json_t *cl, const char *type);
const json_t *rt_net_range_of(const json_t *cl);
/* a network's bridge device: "nrun-" and hex digits of the store's path and
 * the name, as its dnsmasq instance, so no other store's network takes it */
void rt_net_bridge_name(const char *root, const char *name, char br[IF_NAMESIZE]);
json_t *rt_net_conflist_make(const char *root, const char *name, const char *bridge, const char *subnet,
                             const char *gw, bool internal, bool dns);
/* Run /usr/sbin/<prog> (or /sbin/) with args, no stdin or output; its exit
 * status, -1 if it could not run. */
int rt_net_tool_run(const char *prog, const char *const *args);
/* this host's IPv4 addresses (loopback's aside), read once with getifaddrs */
typedef struct {
    uint32_t addr, mask;
    char ifname[IF_NAMESIZE];
} rt_net_haddr;
typedef struct {
    rt_net_haddr *a;
    size_t n;
} rt_net_haddrs;
void rt_net_haddrs_read(rt_net_haddrs *h);
void rt_net_haddrs_free(rt_net_haddrs *h);
/* the one in net/prefix, its interface's name in ifname; 0 when none */
uint32_t rt_net_haddr_in(const rt_net_haddrs *h, uint32_t net, int prefix, char ifname[IF_NAMESIZE]);
/* the first address of interface ifname; 0 when none */
uint32_t rt_net_haddr_of(const rt_net_haddrs *h, const char *ifname);
/* Set what a conflist (a file's, or a record's) may not choose: its dnsname
 * instance and host-local's dataDir, from the store at (absolute) `ar` and
 * its name, which must be a network name.  rt_net_conflist_load does it. */
int rt_net_conflist_pin(const char *ar, json_t *cl, nr_err *err);
json_t *rt_net_conflist_load(const char *root, int dfd, const char *name, nr_err *err);
json_t *rt_net_record_read(int adfd, const char *id);
/* the network an attachment of a record is on (its conflist's name), or NULL */
const char *rt_net_attachment_network(const json_t *a);
bool rt_net_id_plain(const char *id);
/* networks dir, its attach/ dir and the exclusive lock (close all three) */
int rt_net_lock(const char *root, int *dfd, int *adfd, int *lk, nr_err *err);
void rt_net_gc_locked(int adfd);
/* net_guard.c: the raw-table DROP of 127.0.0.0/8 arriving on bridge (add, or remove) */
int rt_net_localnet_guard(const char *bridge, bool add, nr_err *err);
/* an --internal network's FORWARD drops (add, or remove) */
int rt_net_internal_guard(const char *bridge, bool add, nr_err *err);
/* the ebtables chain that drops frames from an attachment's veth with
 * another MAC, ARP sender or IPv4 source than its own (add, or remove) */
int rt_net_spoof_guard(const char *id, const char *ifname, const json_t *conf, const json_t *result, bool add,
                       nr_err *err);

#endif
