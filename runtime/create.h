/* Turning an image and `nrun run` flags into a container directory with its
 * config.json and state.json (create.c), and running it: in the foreground
 * or under a detached monitor that records the exit and applies --restart
 * (run.c). */
#ifndef RT_CREATE_H
#define RT_CREATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "images/store.h"
#include "runtime/runtime.h"

typedef struct rt_created {
    char id[65];
    char *name;
    size_t layers_extracted;  /* layers this call had to unpack (0 = all cached) */
} rt_created;

/* o->name/o->hostname are filled in when not given. */
int rt_container_create(img_store *store, const char *root, const char *image_ref, rt_run_opts *o, rt_created *out,
                        nr_err *err);
/* The same from an image in memory (its layers in the store, its config_json
 * holding "config"; manifest and tags unused): a build step's container.
 * image_ref is what state.json and ps show. */
struct img_image;
int rt_container_create_image(img_store *store, const char *root, const struct img_image *img, const char *image_ref,
                              rt_run_opts *o, rt_created *out, nr_err *err);

typedef struct rt_restart {
    enum { RT_RESTART_NO, RT_RESTART_ON_FAILURE, RT_RESTART_ALWAYS } policy;
    int max;                  /* on-failure:N, 0 = unlimited */
} rt_restart;
int rt_restart_parse(const char *s, rt_restart *out, nr_err *err);

struct rt_alerts;
typedef struct rt_run_params {
    rt_restart restart;
    bool rm, interactive, detach, tty;
    struct rt_alerts *alerts; /* --alert rules, evaluated by the detached monitor; NULL = none */
} rt_run_params;

/* Foreground: returns the app's exit code (125 when nrun failed).  The signals
 * it forwards are blocked while it waits; the caller's handlers and mask are
 * given back when it returns. */
int rt_run_foreground(const char *root, const char *id, const rt_run_params *p, nr_err *err);
/* Detached: returns 0 once the container runs under its monitor. */
int rt_run_detached(const char *root, const char *id, const rt_run_params *p, nr_err *err);

/* Give a container another name (the rules and uniqueness of --name); its
 * hostname stays the one it was created with, as docker's does. */
int rt_container_rename(const char *root, const char *ref, const char *new_name, nr_err *err);

/* Remove a container that is not running: cgroups left behind, its dir. */
int rt_container_remove(const char *root, const char *id, nr_err *err);

/* run's -v and --mount flags checked as creating the container would check them, nothing made (runtime/spec.c) */
int rt_spec_volumes_check(const rt_run_opts *o, const char *store_root, nr_err *err);

#endif
