/* docker run's --add-host, --dns, --dns-search, --dns-option and
 * --domainname: the checks (the CLI's and config.json's are the same ones,
 * so a value that could forge a line of /etc/hosts or resolv.conf is refused
 * at both doors), and the lines they add to the files mounts.c writes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "runtime/net.h"
#include "runtime/runtime.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

bool rt_etc_name_valid(const char *n, size_t max)
{
    size_t l = strlen(n);
    return l > 0 && l <= max && strspn(n, NAME_CHARS) == l && n[0] != '-';
}

bool rt_etc_ip_valid(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

bool rt_etc_dns_option_valid(const char *s)
{
    size_t l = strlen(s);
    if (l == 0 || l > 255)
        return false;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c <= ' ' || *c >= 0x7f || *c == '#' || *c == ';')
            return false;
    return true;
}

int rt_extra_host_parse(const char *spec, char **line, nr_err *err)
{
    /* NAME:IP (IPv6 has colons: the name ends at the first), or docker's NAME=IP */
    size_t nl = strcspn(spec, ":=");
    if (!spec[nl])
        return nr_err_set(err, "--add-host %s: expected NAME:IP or NAME=IP", spec);
    cleanup_free char *name = nr_xstrndup(spec, nl);
    cleanup_free char *ip = nr_xstrdup(spec + nl + 1);
    size_t il = strlen(ip);
    if (il > 2 && ip[0] == '[' && ip[il - 1] == ']') { /* [::1] */
        memmove(ip, ip + 1, il - 2);
        ip[il - 2] = 0;
    }
    if (!rt_etc_name_valid(name, 253)) {
        cleanup_free char *e = nr_escape_controls(name);
        return nr_err_set(err, "--add-host %s: expected a host name ([a-zA-Z0-9_.-], at most 253 bytes)", e);
    }
    if (strcmp(ip, "host-gateway") && !rt_etc_ip_valid(ip)) {
        cleanup_free char *e = nr_escape_controls(ip);
        return nr_err_set(err, "--add-host %s: \"%s\" is not an IPv4 or IPv6 address (or host-gateway)", name, e);
    }
    *line = nr_xasprintf("%s\t%s\n", ip, name);
    return 0;
}

int rt_extra_hosts_check(const char *lines, nr_err *err)
{
    cleanup_free char *copy = nr_xstrdup(lines);
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(l, '\t');
        if (!tab)
            return nr_err_set(err, "config.json: org.nrun.extra-hosts: a line without a tab");
        *tab = 0;
        if ((strcmp(l, "host-gateway") && !rt_etc_ip_valid(l)) || !rt_etc_name_valid(tab + 1, 253))
            return nr_err_set(err, "config.json: org.nrun.extra-hosts: an invalid line");
    }
    size_t n = strlen(lines);
    if (n && lines[n - 1] != '\n')
        return nr_err_set(err, "config.json: org.nrun.extra-hosts: the last line has no end");
    return 0;
}

char *rt_extra_hosts_text(const char *lines, const char *gateway, nr_err *err)
{
    nr_buf b = {0};
    cleanup_free char *copy = nr_xstrdup(lines);
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, "host-gateway\t", 13)) {
            if (!gateway) {
                nr_buf_free(&b);
                nr_err_set(err, "--add-host %s:host-gateway: this network has no address of the host", l + 13);
                return NULL;
            }
            nr_buf_addf(&b, "%s\t%s\n", gateway, l + 13);
        } else {
            nr_buf_addf(&b, "%s\n", l);
        }
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

/* the words after `key` on a line that starts with it ("search a b") */
static const char *after_key(const char *line, const char *key)
{
    size_t k = strlen(key);
    return !strncmp(line, key, k) && (line[k] == ' ' || line[k] == '\t') ? line + k + 1 : NULL;
}

char *rt_resolv_compose(const char *base, const rt_spec *s, const char *keep_ns)
{
    if (!s->dns && !s->dns_search && !s->dns_options)
        return nr_xstrdup(base);
    nr_buf ns = {0}, se = {0}, op = {0};
    cleanup_free char *copy = nr_xstrdup(base);
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        const char *v;
        if ((v = after_key(l, "nameserver"))) {
            v += strspn(v, " \t");
            /* the network's own DNS (dnsname on its gateway) stays first:
             * the names of the network's containers still resolve */
            if (!s->dns || (keep_ns && !strcmp(v, keep_ns)))
                nr_buf_addf(&ns, "%s\n", l);
        } else if (after_key(l, "search") && !s->dns_search) {
            nr_buf_addf(&se, "%s\n", l);
        } else if (after_key(l, "options") && !s->dns_options) {
            nr_buf_addf(&op, "%s\n", l);
        }
    }
    for (size_t i = 0; i < s->ndns; i++)
        nr_buf_addf(&ns, "nameserver %s\n", s->dns[i]);
    /* docker: --dns-search . is no search line at all */
    bool any = false;
    for (size_t i = 0; i < s->ndns_search; i++)
        if (strcmp(s->dns_search[i], ".")) {
            nr_buf_addf(&se, "%s%s", any ? " " : "search ", s->dns_search[i]);
            any = true;
        }
    if (any)
        nr_buf_addstr(&se, "\n");
    for (size_t i = 0; i < s->ndns_options; i++)
        nr_buf_addf(&op, "%s%s", i ? " " : "options ", s->dns_options[i]);
    if (s->ndns_options)
        nr_buf_addstr(&op, "\n");
    nr_buf out = {0};
    nr_buf_addf(&out, "%.*s%.*s%.*s", (int)ns.len, ns.data ? ns.data : "", (int)se.len, se.data ? se.data : "",
                (int)op.len, op.data ? op.data : "");
    nr_buf_add(&out, "", 1);
    nr_buf_free(&ns);
    nr_buf_free(&se);
    nr_buf_free(&op);
    return out.data;
}

/* the address of a "nameserver ADDR" line, NULL for any other line */
static bool ns_line(const char *l, size_t len, char addr[64])
{
    const char *v = after_key(l, "nameserver");
    if (!v || (size_t)(v - l) >= len)
        return false;
    v += strspn(v, " \t");
    size_t n = strcspn(v, " \t\n");
    if (n == 0 || n >= 64 || (size_t)(v - l) + n > len)
        return false;
    memcpy(addr, v, n);
    addr[n] = 0;
    return true;
}

static bool in_list(const json_t *list, const char *s)
{
    size_t i;
    const json_t *x;
    json_array_foreach(list, i, x) if (json_is_string(x) && !strcmp(json_string_value(x), s)) return true;
    return false;
}

char *rt_resolv_add_network(const char *text, const json_t *net_ns, const json_t *add)
{
    nr_buf b = {0}, mid = {0};
    for (size_t i = 0; i < json_array_size(add); i++) {
        const char *a = json_string_value(json_array_get(add, i));
        char have[64];
        bool dup = false;
        for (const char *l = text; *l && !dup; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n'))
            dup = ns_line(l, strcspn(l, "\n"), have) && !strcmp(have, a);
        if (a && !dup && rt_etc_ip_valid(a) && !strchr(a, ':'))
            nr_buf_addf(&mid, "nameserver %s\n", a);
    }
    bool placed = !mid.len;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        char addr[64];
        /* before the first nameserver that is not a network's own: names of
         * the networks first, then the servers for everything else */
        if (!placed && ns_line(l, n, addr) && !in_list(net_ns, addr)) {
            nr_buf_add(&b, mid.data, mid.len);
            placed = true;
        }
        nr_buf_add(&b, l, n);
        nr_buf_addstr(&b, "\n");
        l += n + (l[n] == '\n');
    }
    if (!placed) {
        /* after the last nameserver line (or at the end) */
        nr_buf out = {0};
        const char *t = b.data ? b.data : "";
        size_t cut = 0, off = 0;
        char addr[64];
        while (off < b.len) {
            size_t n = strcspn(t + off, "\n");
            if (ns_line(t + off, n, addr))
                cut = off + n + 1;
            off += n + 1;
        }
        if (!cut)
            cut = b.len;
        nr_buf_add(&out, t, cut);
        nr_buf_add(&out, mid.data, mid.len);
        nr_buf_add(&out, t + cut, b.len - cut);
        nr_buf_free(&b);
        b = out;
    }
    nr_buf_free(&mid);
    nr_buf_add(&b, "", 1);
    return b.data;
}

char *rt_resolv_drop_network(const char *text, const json_t *drop)
{
    nr_buf b = {0};
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        char addr[64];
        if (!(ns_line(l, n, addr) && in_list(drop, addr))) {
            nr_buf_add(&b, l, n);
            nr_buf_addstr(&b, "\n");
        }
        l += n + (l[n] == '\n');
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}
