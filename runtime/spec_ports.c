/* The ports of config.json's annotations: docker's -p specs, -P's EXPOSEd
 * ports and --expose, as {address, host, container, proto} entries that
 * net.c publishes (host 0: any free port). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runtime/runtime.h"
#include "runtime/spec_int.h"

/* One side of -p: "N" or "N-M" (a range). */
static int port_range(const char *s, long *lo, long *hi)
{
    char *end;
    errno = 0;
    /* digits only: strtol would take " 80" and "+80" */
    if (*s < '0' || *s > '9')
        return -1;
    *lo = strtol(s, &end, 10);
    if (errno || end == s || *lo < 0 || *lo > 65535)
        return -1;
    *hi = *lo;
    if (*end == '-') {
        const char *b = end + 1;
        if (*b < '0' || *b > '9')
            return -1;
        *hi = strtol(b, &end, 10);
        if (errno || end == b || *hi < *lo || *hi > 65535)
            return -1;
    }
    return *end ? -1 : 0;
}

static void port_add(json_t *list, const char *ip, long host, long ctr, bool udp)
{
    json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:s}", "address", ip, "host", (int)host, "container",
                                          (int)ctr, "proto", udp ? "udp" : "tcp"));
}

/* docker's -p: [IP:][HOST:]CTR[/tcp|/udp], HOST and CTR ports or ranges
 * (8000-8002:3000-3002); no HOST (or IP::CTR) is any free host port. */
int spec_parse_port(const char *spec, json_t *list, nr_err *err)
{
    cleanup_free char *copy = nr_xstrdup(spec);
    bool udp = false;
    char *proto = strchr(copy, '/');
    if (proto) {
        if (!strcmp(proto, "/udp"))
            udp = true;
        else if (strcmp(proto, "/tcp"))
            return nr_err_set(err, "-p %s: the protocol is tcp or udp", spec);
        *proto = 0;
    }
    char *last = strrchr(copy, ':');
    const char *ctr = last ? last + 1 : copy, *host = "", *ip = "";
    if (last) {
        *last = 0;
        host = copy;
        char *mid = strrchr(copy, ':');
        if (mid) {
            *mid = 0;
            ip = copy;
            host = mid + 1;
            if (ip[0] == '[') { /* [::1] */
                size_t l = strlen(ip);
                if (l < 3 || ip[l - 1] != ']')
                    return nr_err_set(err, "-p %s: bad address", spec);
                ip++;
                ((char *)ip)[l - 2] = 0;
            }
            struct in_addr a4;
            struct in6_addr a6;
            if (strlen(ip) >= 64 || (*ip && inet_pton(AF_INET, ip, &a4) != 1 && inet_pton(AF_INET6, ip, &a6) != 1))
                return nr_err_set(err, "-p %s: bad address \"%s\"", spec, ip);
            /* the networks are IPv4 only, and the kernel path has no NAT
             * from an IPv6 address to an IPv4 one: such a port would be
             * accepted and never reached */
            if (*ip && inet_pton(AF_INET, ip, &a4) != 1)
                return nr_err_set(err, "-p %s: an IPv6 host address is not published (container networks are IPv4 "
                                       "only): give an IPv4 address, or none for all of them", spec);
        }
    }
    long clo, chi, hlo = 0, hhi = 0;
    if (port_range(ctr, &clo, &chi) < 0 || clo < 1)
        return nr_err_set(err, "-p %s: bad container port \"%s\"", spec, ctr);
    if (*host && (port_range(host, &hlo, &hhi) < 0 || hlo < 1))
        return nr_err_set(err, "-p %s: bad host port \"%s\"", spec, host);
    if (chi - clo > 1000)
        return nr_err_set(err, "-p %s: more than 1000 ports", spec);
    if (*host && hhi - hlo != chi - clo)
        return nr_err_set(err, "-p %s: the host range and the container range differ in length", spec);
    for (long k = 0; k <= chi - clo; k++)
        port_add(list, ip, *host ? hlo + k : 0, clo + k, udp);
    return 0;
}

/* --expose PORT[-PORT][/tcp|udp] as "80/tcp" keys into `set` */
int rt_expose_parse(const char *spec, json_t *set, nr_err *err)
{
    long lo, hi;
    size_t pl = strcspn(spec, "/");
    cleanup_free char *range = nr_xstrndup(spec, pl);
    const char *proto = spec[pl] ? spec + pl + 1 : "tcp";
    if (port_range(range, &lo, &hi) < 0 || lo < 1 || (strcmp(proto, "tcp") && strcmp(proto, "udp")))
        return nr_err_set(err, "--expose %s: expected PORT[-PORT][/tcp|udp] with ports 1-65535", spec);
    if (hi - lo >= 1024)
        return nr_err_set(err, "--expose %s: more than 1024 ports", spec);
    for (long p = lo; p <= hi; p++) {
        char k[32];
        snprintf(k, sizeof k, "%ld/%s", p, proto);
        json_object_set_new(set, k, json_object());
    }
    return 0;
}

/* -P: every port the image EXPOSEs ("3000/tcp") and --expose adds, on any free host port */
int spec_expose_ports(const json_t *imgcfg, const rt_run_opts *o, json_t *list, nr_err *err)
{
    const json_t *ex = imgcfg ? json_object_get(imgcfg, "ExposedPorts") : NULL;
    json_auto_t *all = json_is_object(ex) ? json_deep_copy(ex) : json_object();
    for (size_t i = 0; i < o->nexpose; i++)
        if (rt_expose_parse(o->expose[i], all, err) < 0)
            return -1;
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v)
    {
        char *end;
        long p = strtol(k, &end, 10);
        bool udp = !strcmp(end, "/udp");
        if (end == k || p < 1 || p > 65535 || (*end && strcmp(end, "/tcp") && !udp))
            return nr_err_set(err, "image ExposedPorts \"%s\" is not PORT[/tcp|udp]", k);
        /* "80" and "80/tcp" are one port */
        bool dup = false;
        size_t i;
        json_t *q;
        json_array_foreach(list, i, q)
        {
            const char *pr = json_string_value(json_object_get(q, "proto"));
            dup |= json_integer_value(json_object_get(q, "container")) == p && !json_integer_value(json_object_get(q, "host")) &&
                   (pr && !strcmp(pr, "udp")) == udp;
        }
        if (!dup)
            port_add(list, "", 0, p, udp);
    }
    return 0;
}
