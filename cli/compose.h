/* nrun compose: docker compose's words over nrun's own commands.
 *
 * compose_load.c reads the compose files (libyaml, under limits) and
 * interpolates ${VAR} from the environment and .env; compose_model.c merges
 * -f files in order and names the project; compose_service.c checks each
 * service's keys and puts them in one shape.  Every error names
 * file:line:col or the key path (services.web.ports[1]) and nothing is
 * made.  The result is one JSON model (services, networks, volumes, name),
 * which `config` prints.
 * compose_run.c turns a service into the argv of `nrun run` (so run checks
 * every flag as it always does) and lists a project's containers by their
 * com.docker.compose.* labels; compose_up.c is up and its log follower
 * (compose_wait.c its --wait);
 * compose.c is the command itself and its smaller verbs. */
#ifndef NR_COMPOSE_H
#define NR_COMPOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <signal.h>

#include "cli/cli.h"
#include "common/err.h"

/* What the global flags say (before the verb). */
typedef struct cmp_opts {
    const char **files;
    size_t nfiles;
    const char *project_name;
    const char *project_dir;
    const char **env_files;
    size_t nenv_files;
    const char **profiles; /* --profile (none: COMPOSE_PROFILES) */
    size_t nprofiles;
} cmp_opts;

typedef struct cmp_project {
    char *name;    /* normalized: [a-z0-9][a-z0-9_-]* */
    char *dir;     /* absolute project directory */
    json_t *files; /* the files read, absolute paths */
    json_t *model; /* {name, services: {NAME: {...}}, networks: {...}, volumes: {...}} */
    json_t *disabled; /* services whose profiles are not active: NAME -> as read */
    json_t *profiles; /* the active profiles ("*": all) */
    struct cmp_ctx *ctx; /* while cmp_load runs: .env, for env_file's interpolation */
    json_t *contents; /* "secrets/NAME", "configs/NAME" -> the text of an environment or content
                       * source (not in model: `config` does not print a secret's value) */
} cmp_project;

int cmp_load(const cmp_opts *o, cmp_project *p, nr_err *err);
void cmp_project_free(cmp_project *p);
/* Services named on the command line are enabled with their profiles, as
 * compose enables them (and the other services of those profiles). */
int cmp_enable(cmp_project *p, char **names, size_t n, nr_err *err);
/* The model as YAML text (malloc'd), for `config`. */
char *cmp_yaml_dump(const json_t *model, nr_err *err);
/* compose's duration ("1m30s", "500ms", "10") in milliseconds; -1 when bad. */
long long cmp_duration_ms(const char *s);

/* ---- compose_run.c ---- */
typedef struct cmp_strv {
    char **v;
    size_t n;
} cmp_strv;
void cmp_strv_push(cmp_strv *s, const char *x);
void cmp_strv_pushf(cmp_strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmp_strv_free(cmp_strv *s);

/* The container name of service `svc` (container_name, else P-svc-1). */
char *cmp_ctr_name(const cmp_project *p, const char *svc);
/* replica n's container: <project>-<svc>-<n> (container_name when set) */
char *cmp_ctr_name_n(const cmp_project *p, const char *svc, int n);
/* how many containers svc has: scale (deploy.replicas, up --scale), 1 by default */
int cmp_scale(const cmp_project *p, const char *svc);
/* Full names of the project's networks and volumes (P_name, or the
 * external name). */
char *cmp_net_name(const cmp_project *p, const char *net);
char *cmp_vol_name(const cmp_project *p, const char *vol);
/* The networks a service joins, in order: [{name, aliases: []}]; NULL
 * with network_mode. */
json_t *cmp_svc_networks(const cmp_project *p, const char *svc);
/* The image a service runs: image:, else P-svc (compose's built name). */
char *cmp_svc_image(const cmp_project *p, const char *svc);

typedef enum { CMP_ARGV_UP, CMP_ARGV_RUN, CMP_ARGV_CHECK } cmp_argv_mode;
/* The argv of `nrun run` after "run" (appended to out): the service's
 * flags, then extra's (which win), IMAGE, CMD...  In CHECK mode without the
 * networks (they are made later), for nr_run_flags_check.  With RUN, cmd
 * (if n > 0) replaces the service's command. */
int cmp_run_argv(const cmp_project *p, const char *svc, cmp_argv_mode mode, const char *hash, const cmp_strv *extra,
                 char **cmd, size_t ncmd, cmp_strv *out, nr_err *err);

/* One container of a project, as the store has it. */
typedef struct cmp_ctr {
    char id[65];
    char *name, *service, *hash, *status; /* status: running, exited, created, ... */
    bool oneoff;
} cmp_ctr;
/* Every container labelled com.docker.compose.project=project. */
int cmp_ctrs_list(nr_global *g, const char *project, cmp_ctr **out, size_t *n, nr_err *err);
void cmp_ctrs_free(cmp_ctr *c, size_t n);
/* The labels of container id (a new reference, or NULL). */
json_t *cmp_ctr_labels(nr_global *g, const char *id);

/* Run a command of nrun (nr_cmd_*) in a child, as `nrun ARGV` would: its
 * exit code.  quiet: its stdout to /dev/null. */
int cmp_call(nr_global *g, nr_cmd_fn fn, cmp_strv *argv, bool quiet);
/* Services in start order (dependencies first), restricted to `only` and
 * what they depend on (unless no_deps); an error names a cycle. */
int cmp_order(cmp_project *p, char **only, size_t nonly, bool no_deps, cmp_strv *out, nr_err *err);

/* ---- compose_up.c ---- */
/* compose_dockerkeys.c: logging, ulimits, group_add, dns_search, ... as run's flags */
void cmp_argv_docker_keys(const json_t *s, cmp_strv *a);
int cmp_up(nr_global *g, cmp_project *p, int argc, char **argv);
/* compose_exec.c: exec into a service's container, run a one-off container */
int cmp_exec(nr_global *g, cmp_project *p, int argc, char **argv);
int cmp_run_oneoff(nr_global *g, cmp_project *p, int argc, char **argv);
/* compose.c: the project's container of a service (not a one-off), or NULL */
cmp_ctr *cmp_find_ctr(cmp_ctr *cs, size_t n, const char *svc);
/* its container `index` (<project>-<svc>-<index>; for 1, any if that name is not there), or NULL */
cmp_ctr *cmp_find_ctr_n(cmp_ctr *cs, size_t n, const cmp_project *p, const char *svc, int index);
/* a verb's flags when it has none: 0, -1 after --help, -2 on a bad one */
int cmp_no_opts(nr_global *g, int argc, char **argv, const char *usage, const char *about);
int cmp_logs(nr_global *g, cmp_project *p, int argc, char **argv);
/* compose_images.c: compose build, compose pull */
int cmp_build(nr_global *g, cmp_project *p, int argc, char **argv);
int cmp_pull(nr_global *g, cmp_project *p, int argc, char **argv);
/* compose_logs.c: what `logs` asks of nrun logs, and whether lines get the
 * "svc-1 | " prefix; the logs of containers names[] (labels[] their
 * prefixes) until each ends (with ended: the first that exited, its index)
 * or *stop is set: 0, or *stop */
typedef struct cmp_log_opts {
    bool follow, timestamps, no_prefix;
    const char *tail, *since;
} cmp_log_opts;
int cmp_follow(nr_global *g, char **names, char **labels, size_t n, const cmp_log_opts *lo,
               volatile sig_atomic_t *stop, int *ended);
/* compose_verbs.c: kill, rm, pause, unpause, port, cp, top, images, wait,
 * push, scale, events, attach (-1: not one of them); version needs no project */
int cmp_more(nr_global *g, cmp_project *p, const char *sub, int argc, char **argv);
int cmp_version(nr_global *g, int argc, char **argv);
/* --index N of VERB: 1 to 100, or 0 after a usage error */
int cmp_parse_index(nr_global *g, const char *verb, const char *s);
/* ---- compose_wait.c ---- */
/* depends_on's conditions of svc (of the services in order), each met or -1 with err */
int cmp_wait_deps(nr_global *g, const cmp_project *p, const char *svc, const cmp_strv *order,
                  volatile sig_atomic_t *stop, nr_err *err);
/* up --wait: each service of order running (healthy with a health check), or
 * -1 with err (one exited, unhealthy, timeout_ms passed (0: no limit), *stop) */
int cmp_wait(nr_global *g, const cmp_project *p, const cmp_strv *order, long long timeout_ms,
             volatile sig_atomic_t *stop, nr_err *err);
/* The exit code of container `name`; *running (when not NULL) whether it runs. */
int cmp_exit_code(nr_global *g, const char *name, bool *running);
/* Make the project's networks and volumes that are missing (quiet). */
int cmp_make_shared(nr_global *g, cmp_project *p, nr_err *err);
/* nrun build of svc's build: (extra: more flags of nrun build, after the file's) */
int cmp_build_service(nr_global *g, cmp_project *p, const char *svc, const cmp_strv *extra);
/* svc's image (not built) into the store: made as `nrun base` makes it when
 * nbuild makes that name, else pulled; quiet: no progress of the pull */
int cmp_get_image(nr_global *g, const char *svc, const char *image, bool quiet);
bool cmp_image_exists(nr_global *g, const char *ref);
/* Record what the project is (files, dir, the networks and volumes it may
 * make) in the store's compose/<name>.json, for `ls`, `-p NAME` and `down`. */
void cmp_state_save(nr_global *g, cmp_project *p);
/* a volume of that name is in the store */
bool cmp_volume_exists(nr_global *g, const char *name);
/* That record, or NULL. */
json_t *cmp_state_load(nr_global *g, const char *name);

#endif
