/* nrun deploy's parts (cli/deploy.c: the verbs and the switch;
 * cli/deploy_flags.c: the run flags of the next revision;
 * cli/deploy_canary.c: the canary's share of connections;
 * cli/deploy_store.c: the revision history deploy/NAME.json, the image pins
 * deploy/NAME:rN, the journal deploy/NAME.journal and its recovery).
 * Everything read from <root>/deploy is hostile input: checked, one-line errors. */
#ifndef NR_CLI_DEPLOY_H
#define NR_CLI_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/cli.h"

#define DEPLOY_MAX_REVS 50
#define DEPLOY_KEEP_IMAGES 5 /* the last K revisions' images stay tagged (deploy/NAME:rN): prune keeps them */

/* What deploy needs of a container: id, running, health, the first network address. */
typedef struct nr_dep_ctr {
    char id[65];
    char ip[64];
    char image[512];
    char health[16]; /* its HEALTHCHECK: "starting", "healthy", "unhealthy"; "" when it has none */
    char health_out[200]; /* the last check's output */
    bool running;
    int exit_code;
} nr_dep_ctr;

bool nr_dep_name_ok(const char *n);
/* this nrun again: `nrun --root R a b c` (NULLs end it), stdout dropped; its exit code */
int nr_dep_run(nr_global *g, const char *a, const char *b, const char *c);
int nr_dep_ctr_get(nr_global *g, const char *ref, nr_dep_ctr *c, nr_err *err);

json_t *nr_dep_hist_load(nr_global *g, const char *name, nr_err *err);
int nr_dep_hist_save(nr_global *g, const char *name, json_t *h, nr_err *err);
json_int_t nr_dep_hist_next(const json_t *h);
void nr_dep_pin(nr_global *g, json_t *revrec, const char *name, const char *image);
void nr_dep_pins_trim(nr_global *g, json_t *h);

int nr_dep_journal_lock(nr_global *g, const char *name, bool wait, nr_err *err);
void nr_dep_journal_write(nr_global *g, const char *name, json_t *j, const char *step);
void nr_dep_journal_clear(nr_global *g, const char *name);
/* Revert or finish what a killed deploy of NAME left (NAME's lock held).  A
 * canary held on purpose is left; with `canary`, its journal is returned there. */
int nr_dep_journal_recover(nr_global *g, const char *name, json_t **canary, nr_err *err);
/* The run flags of the next revision (cli/deploy_flags.c), each option as
 * "--long" [VALUE]; an array of malloc'd strings ending with NULL. */
typedef struct nr_dep_flags {
    char **v;
    size_t n;
} nr_dep_flags;
void nr_dep_flags_add(nr_dep_flags *f, const char *s);
void nr_dep_flags_free(nr_dep_flags *f);
/* deploy's own options followed by run's, less those a deploy sets itself
 * (-d, --name) or that are how NAME was started (-i, -t, --rm; --cidfile) */
const nr_opt *nr_dep_opts(const nr_opt *own, nr_opt *buf, size_t cap);
/* An option of run's table that deploy parsed (key, optarg) added to f as an
 * override; false when key is not one of them. */
bool nr_dep_flag_take(int key, const char *val, nr_dep_flags *f);
/* The serving container's run flags (its run.json "args", parsed again with
 * run's table) less -d/--name/--cidfile, the volumes an override mounts
 * elsewhere and the ports; then its ports as bound now (-P and -p CTR keep
 * their host ports), unless the overrides publish their own.  A file the
 * stored flags name by a relative path (--env-file, --label-file,
 * --security-opt seccomp=) is the one in `cwd`, the directory NAME was run
 * from (run.json "cwd"); none recorded, such a flag is an error.  A stored
 * `-e K` takes K's value from old_env (the serving container's environment,
 * NULL-terminated; may be NULL), never from the deployer's. */
int nr_dep_run_args(nr_global *g, const json_t *stored, const char *cwd, char *const *old_env, const json_t *ports,
                    const nr_dep_flags *over, nr_dep_flags *out, nr_err *err);
/* the canary rule of container `id` (its DNAT published behind the old
 * one's): that share (0..1) of new connections to it; removed (cli/deploy_canary.c) */
int nr_dep_canary_add(const char *id, double share, nr_err *err);
void nr_dep_canary_del(const char *id);

#endif
