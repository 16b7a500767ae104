/* The default seccomp allowlist for a container holding `caps` (an OCI
 * linux.seccomp object): socket families and netlink protocols a Node app
 * needs (AF_PACKET with NET_RAW, every netlink protocol with NET_ADMIN),
 * personality() only with the values docker's default profile allows.
 * rt_seccomp_default() is this for nrun's default capabilities. */
#ifndef RT_SECCOMP_DEFAULT_H
#define RT_SECCOMP_DEFAULT_H

#include <jansson.h>
#include <stdint.h>

json_t *rt_seccomp_default_caps(uint64_t caps);

#endif
