/* Inside the builder of config.json: what spec.c shares with spec_flags.c
 * (docker's --mount, --tmpfs, --ulimit and --sysctl flags).  Every mount a
 * flag asks for is added through spec_add_mount / spec_add_tmpfs, the one
 * checked path of -v. */
#ifndef RT_SPEC_INT_H
#define RT_SPEC_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "runtime/runtime.h"

/* A container path in canonical form; NULL when not absolute or with "..". */
char *spec_ctr_path(const char *p);
json_t *spec_mount_obj(const char *dest, const char *type, const char *src, const char *opts);
/* Another of the user's mounts (a bind, or a tmpfs of the flags) is at dest. */
bool spec_has_dest(const json_t *mounts, const char *dest);
/* -v's mount: src an absolute host path (bind), a volume name, or NULL
 * (anonymous); `nocopy`: a volume nrun makes starts empty; `create`: a
 * missing host path is made (docker's -v), only once every flag is checked. */
int spec_add_mount(json_t *mounts, json_t *mk, const char *what, const char *src_arg, const char *dest_arg, bool ro,
                   bool nocopy, bool create, const char *store_root, const char *ctr_dir, int *anon, nr_err *err);

/* spec_flags.c: make the directories listed in mk (volumes, a missing -v
 * host path), set a made bind's source to its real path */
int spec_make_dirs(const json_t *mk, nr_err *err);
/* spec_flags.c: --mount and --tmpfs into mounts (after -v's) */
int spec_flags_mounts(json_t *mounts, json_t *mk, const rt_run_opts *o, const char *store_root, const char *ctr_dir,
                      int *anon, nr_err *err);
/* Does a --mount or --tmpfs of o go at `dest` (canonical)?  (It replaces an image VOLUME there.) */
bool spec_flags_cover(const rt_run_opts *o, const char *dest);
/* process.rlimits: --ulimit's, and RLIMIT_NOFILE = our hard limit unless one names it */
json_t *spec_flags_rlimits(const rt_run_opts *o, nr_err *err);
/* linux.devices and linux.resources.devices (--device: the allow rules of
 * exactly those nodes), linux.sysctl (--sysctl) into linux_ */
int spec_flags_linux(json_t *linux_, const rt_run_opts *o, bool own_netns, nr_err *err);

/* spec_ports.c: docker's -p [IP:][HOST:]CTR[/tcp|udp] (ports or ranges) and
 * -P (the image's ExposedPorts and --expose, on any free host port) into list */
int spec_parse_port(const char *spec, json_t *list, nr_err *err);
int spec_expose_ports(const json_t *imgcfg, const rt_run_opts *o, json_t *list, nr_err *err);

#endif
