/* What compose_load.c and compose_model.c share. */
#ifndef NR_COMPOSE_INT_H
#define NR_COMPOSE_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

typedef struct cmp_ctx {
    json_t *env;    /* .env's KEY -> VALUE (the process environment wins) */
    json_t *warned; /* variables already warned about */
    json_t *local;  /* while an env file is read: its keys so far, which win */
    size_t room;    /* bytes a value may still grow to (compose_load.c's BYTES_MAX) */
    size_t loads;   /* compose files read so far (-f, include, extends: LOADS_MAX) */
    size_t loaded;  /* and their bytes, read and expanded (PROJECT_BYTES_MAX) */
} cmp_ctx;

/* KEY=VALUE lines into env, unquoted and "..." values interpolated from the
 * file's own earlier keys, then the environment, then .env (compose's rules) */
int cmp_env_file_read(cmp_ctx *c, const char *path, json_t *env, bool missing_ok, nr_err *err);
json_t *cmp_yaml_load(cmp_ctx *c, const char *path, nr_err *err);
void cmp_warn_unset(cmp_ctx *c, const char *name);
int cmp_strcmpp(const char **a, const char **b);
/* compose's word splitting of a string command ("sh -c 'a b'"): a JSON array, or NULL */
json_t *cmp_shell_split(const char *s);

/* compose_service.c: shapes of values, and one service checked and normalized */
char *cmp_scalar_str(const json_t *v);
int cmp_want_str(json_t *obj, const char *key, const char *path, nr_err *err);
int cmp_want_bool(json_t *obj, const char *key, const char *path, nr_err *err);
int cmp_want_kvmap(json_t *obj, const char *key, const char *path, nr_err *err);
/* a string or a list of strings -> a list of strings */
int cmp_want_strlist(json_t *obj, const char *key, const char *path, nr_err *err);
/* compose_dockerkeys.c: the keys that are run flags nrun has (logging, ulimits, group_add, ...) */
bool cmp_docker_key(const char *k);
int cmp_norm_docker_keys(json_t *svc, const char *path, nr_err *err);
char *cmp_abs_path(const char *dir, const char *p);
struct cmp_project;
int cmp_norm_service(struct cmp_project *p, const char *name, json_t *svc, nr_err *err);

#endif
