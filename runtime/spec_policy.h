/* Where a container's mounts may go, shared by the builder of config.json
 * (spec.c) and its reader (spec_parse.c, which takes the file as hostile).
 * Destinations are compared in canonical form only (nr_path_clean): "//proc",
 * "/proc/" and "/./proc" are /proc. */
#ifndef RT_SPEC_POLICY_H
#define RT_SPEC_POLICY_H

#include <stdbool.h>

/* The forbidden place `dest` (canonical) is or lies in, or NULL when a mount
 * may go there: never "/", never in the kernel's /proc or /sys views; a
 * volume nrun fills from the image (`nrun_volume`) never in /dev either, and
 * nothing on /dev itself or in /dev/.nrun (nrun's files in the container). */
const char *rt_spec_dest_forbidden(const char *dest, bool nrun_volume);

/* Why the sysctl `key` (docker's dotted form) may not be set in a container,
 * or NULL when it may: only what the kernel keeps per namespace and docker
 * allows (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*; net.* only
 * with a network namespace of its own, `own_netns`), spelled with
 * [A-Za-z0-9_-] components between single dots. */
const char *rt_sysctl_refused(const char *key, bool own_netns);

/* Why a --device node may not go at `path` (canonical), or NULL: only below
 * /dev, never on /dev itself, nrun's nodes (null, zero, tty, ptmx, ...) or
 * in /dev/.nrun, /dev/pts, /dev/shm, /dev/mqueue (/dev is nrun's tmpfs: a
 * node there is never written to a host directory or an image layer). */
const char *rt_device_path_refused(const char *path);

#endif
