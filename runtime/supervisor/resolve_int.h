/* Shared by the parts of sv_resolve (resolve.c: wrappers, npm scripts;
 * resolve_ws.c: npm workspaces): the resolution's state and the safe file
 * access both use.  Not a public interface. */
#ifndef NR_SV_RESOLVE_INT_H
#define NR_SV_RESOLVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/util.h"

#define PKG_MAX (1024 * 1024) /* package.json */

typedef struct vec {
    char **v;
    size_t n, cap;
} vec;

typedef struct rs {
    const char *cwd;  /* where the command runs: the app, or a workspace of it */
    char *ws_cwd;     /* the workspace's directory when `npm -w` moved there */
    uid_t uid;
    gid_t gid;
    vec cur;      /* the command at this step */
    vec env;      /* NAME=value set so far (later ones win) */
    char *const *base_env;
    nr_buf chain; /* "npm start -> node server.js" */
    char why[256];
    bool notable; /* looked like a node app: the choice goes into the log */
} rs;

void rs_vec_push(vec *a, const char *s);
void rs_vec_free(vec *a);
/* Set r->why; returns -1. */
int rs_fail(rs *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An absolute path for `p` (relative to r->cwd). */
char *rs_abs_path(rs *r, const char *p);
/* Open `rel` beneath directory `dir` (inside our root) as the workers. */
int rs_open_beneath(rs *r, const char *dir, const char *rel, int flags);
/* Read a small regular file as the workers (beneath `beneath` when set); 0, or -1 with r->why set. */
int rs_read_file_in(rs *r, const char *beneath, const char *path, const char *shown, size_t max, char **out,
                    size_t *len, bool *missing);

/* npm workspaces (resolve_ws.c): workspace `name` of the app whose parsed
 * package.json is `root` (at `pkg`): its directory relative to the app, or
 * NULL with r->why set; a workspace's package.json, parsed. */
char *rs_ws_find(rs *r, json_t *root, const char *pkg, const char *name);
json_t *rs_ws_package(rs *r, const char *dir, char **shown);

#endif
