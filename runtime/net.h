/* Container networks, built from the CNI plugins (containernetworking-plugins:
 * bridge, host-local, portmap, firewall, and dnsname for names) driven through
 * the CNI spec's documented interface: a plugin binary run with CNI_COMMAND,
 * CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH and CNI_ARGS in its
 * environment and its network configuration as JSON on stdin; its reply is
 * JSON on stdout, read as hostile input.
 *
 * net_cni.c  runs one conflist (ADD in order with prevResult, DEL in reverse).
 * net.c      the network store (<root>/networks/<name>.conflist), attachment
 *            records (<root>/networks/attach/<id>.json) so that rm, a restart
 *            and the next nrun after a killed one can undo an ADD, and the
 *            /etc/hosts and resolv.conf lines a container gets. */
#ifndef RT_NET_H
#define RT_NET_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

struct json_t;

#define RT_NET_DEFAULT "bridge"          /* docker's name for the default network */
#define RT_NET_DEFAULT_BRIDGE "nrun0"
#define RT_NET_DEFAULT_SUBNET "10.88.0.0/16"
#define RT_NET_DNS_DOMAIN "dns.nrun"

/* One CNI invocation's environment. */
typedef struct rt_cni_call {
    const char *container_id;
    const char *netns;        /* path, "" when the namespace is gone (DEL) */
    const char *ifname;
    const char *args;         /* CNI_ARGS, may be NULL */
    struct json_t *runtime_config; /* capability name -> value (portMappings, aliases) */
} rt_cni_call;

/* net_cni.c: run every plugin of `conflist` (a parsed CNI network
 * configuration list).  ADD returns the last plugin's result (new ref) in
 * *result; DEL passes `prev` (the cached ADD result, may be NULL) on. */
int rt_cni_add(const struct json_t *conflist, const rt_cni_call *c, struct json_t **result, nr_err *err);
/* ADD starting from a cached result (`prev`): a part of a list, e.g. portmap alone */
int rt_cni_add_prev(const struct json_t *conflist, const rt_cni_call *c, const struct json_t *prev,
                    struct json_t **result, nr_err *err);
int rt_cni_del(const struct json_t *conflist, const rt_cni_call *c, const struct json_t *prev, nr_err *err);
int rt_cni_check(const struct json_t *conflist, const rt_cni_call *c, const struct json_t *prev, nr_err *err);
/* The CNI result's first IPv4 address ("10.88.0.2") and its DNS servers
 * and search domains, validated: -1 with a message when malformed. */
int rt_cni_result_ip(const struct json_t *result, char ip[64], nr_err *err);

/* net.c ------------------------------------------------------------------- */
typedef struct rt_net_port {
    char host_ip[64];
    int host_port, ctr_port;  /* host_port 0: any free one (-P, -p CTR) */
    bool udp;
} rt_net_port;

/* Attach container `id` (its init is `pid`, still our unreaped child) to
 * the networks named in `networks_json` ([{"name":..,"aliases":[..]}]),
 * publishing `ports` on the first.  Writes the attachment record first, so
 * a failure or a kill is undone by rt_net_detach or rt_net_gc.  *etc gets
 * "HOSTS-LINES\0RESOLV" for the container's /etc files.  Host ports are
 * reserved with bound (never listening, never passed in) sockets whose fds
 * go to *hold (*nhold of them): the caller keeps them until the container ends. */
int rt_net_attach(const char *root, const char *id, pid_t pid, const char *networks_json, const char *hostname,
                  rt_net_port *ports, size_t nports, char **etc, int **hold, size_t *nhold, nr_err *err);
/* Deploys (cli/deploy.c): with NRUN_DEPLOY_DEFER_PORTS=1 in the environment,
 * rt_net_attach records the ports but neither reserves nor publishes them.
 * rt_net_publish runs the portmap plugin alone (ADD when `on`, else DEL) for
 * the recorded ports of `id`'s first network, so that a deploy can add the
 * new container's DNAT before it deletes the old one's. */
int rt_net_publish(const char *root, const char *id, bool on, nr_err *err);
/* DEL everything recorded for `id` (quiet, idempotent). */
void rt_net_detach(const char *root, const char *id);
/* DEL the attachments whose owner (the nrun that made them) is dead. */
void rt_net_gc(const char *root);

/* The network store. */
bool rt_net_name_valid(const char *name);
/* A name others on a network find a container by (its name, hostname, an
 * alias): a DNS name ([a-zA-Z0-9_.-], at most 253) that dnsname writes into
 * its hosts file for dnsmasq; not one every container has in /etc/hosts
 * (localhost, host.nrun.internal, host.docker.internal). */
/* etc_extra.c: --add-host, --dns*, --domainname (checks and the lines they make) */
struct rt_spec;
bool rt_etc_name_valid(const char *name, size_t max); /* [a-zA-Z0-9_.-], 1..max bytes, no leading '-' */
bool rt_etc_ip_valid(const char *s);                  /* an IPv4 or IPv6 address */
bool rt_etc_dns_option_valid(const char *s);          /* printable, no space, '#' or ';' */
/* NAME:IP or NAME=IP -> "IP\tNAME\n" (malloc'd); IP may be host-gateway */
int rt_extra_host_parse(const char *spec, char **line, nr_err *err);
int rt_extra_hosts_check(const char *lines, nr_err *err);
/* the lines with host-gateway replaced by `gateway` (NULL: an error if used) */
char *rt_extra_hosts_text(const char *lines, const char *gateway, nr_err *err);
/* resolv.conf: `base` with the spec's --dns/--dns-search/--dns-option in
 * place of its nameserver/search/options lines, as docker writes it;
 * `keep_ns`: a nameserver of base that stays (the network's DNS). */
char *rt_resolv_compose(const char *base, const struct rt_spec *s, const char *keep_ns);
/* resolv.conf `text` of a running container connected to one more network:
 * `add` (that network's DNS servers, a JSON list) as nameservers before the
 * first one that is none of `net_ns` (the DNS servers of all its networks),
 * or after the last nameserver; ones already there are not repeated. */
char *rt_resolv_add_network(const char *text, const struct json_t *net_ns, const struct json_t *add);
/* resolv.conf `text` without the nameserver lines of `drop` (a JSON list) */
char *rt_resolv_drop_network(const char *text, const struct json_t *drop);
bool rt_net_alias_valid(const char *name);
#define RT_NET_ALIAS_RULE "expected a DNS name ([a-zA-Z0-9_.-], at most 253), not localhost, host.nrun.internal or host.docker.internal"
/* dnsname keeps a network's dnsmasq in /run/containers/cni/dnsname/<the
 * name it is given>, one directory for the whole host: nrun gives it
 * "nrun-" and 16 hex digits of the store and the network's name (the
 * dnsname plugin's "nrunInstance" in the conflist), so two stores with a
 * network of the same name do not share, or stop, each other's DNS.  The
 * instance of conflist `cl` (its name when it has none: made before);
 * rt_net_conflist_load sets it from the store and name, whatever the file
 * says, and only a dnsname plugin has one. */
const char *rt_net_dns_instance(const struct json_t *cl);
bool rt_net_instance_valid(const char *s);
int rt_net_exists(const char *root, const char *name, nr_err *err);
int rt_net_create(const char *root, const char *name, const char *subnet, const char *gateway, bool internal,
                  bool dns, nr_err *err);
int rt_net_remove(const char *root, const char *name, nr_err *err);
/* [{Name, Driver, Subnet, Gateway, Bridge, Containers: {id: {IPv4Address, Interface}}}] */
struct json_t *rt_net_list(const char *root, nr_err *err);
/* connect/disconnect a running container (init `pid`) to/from a network */
int rt_net_connect(const char *root, const char *id, pid_t pid, unsigned long long start, const char *network,
                   const char *hostname, char **aliases, size_t naliases, const char *ip, nr_err *err);
int rt_net_disconnect(const char *root, const char *id, const char *network, nr_err *err);
/* docker inspect's NetworkSettings of `id` as attached now:
 * {Networks: {name: {IPAddress, Gateway, Aliases, Interface}}, Ports: {"80/tcp": [{HostIp, HostPort}]}} */
struct json_t *rt_net_inspect(const char *root, const char *id);
/* the published ports of `id` as attached (the host ports chosen for -P
 * and -p CTR included), in config.json's org.nrun.ports shape:
 * [{address, host, container, proto}]; NULL when it is not attached */
struct json_t *rt_net_ports_json(const char *root, const char *id);

#endif
