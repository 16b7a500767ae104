/* Private to the registry client (images/reg_*.c). */
#ifndef IMG_REG_INT_H
#define IMG_REG_INT_H

#include <pthread.h>

#include "images/http.h"
#include "images/registry.h"

typedef struct reg_token {
    char *scope;
    char *header; /* "Authorization: Bearer ..." */
} reg_token;

typedef struct reg_client {
    const img_reg_opts *o;
    char host[256];       /* the name users and credentials use ("docker.io") */
    char base[320];       /* "https://registry-1.docker.io" */
    img_http_tls tls;
    char *ca_buf;         /* tls.ca_file when it came from certs.d */
    img_http *h;          /* the calling thread's handle */
    pthread_mutex_t mu;   /* guards the auth state below (parallel transfers) */
    char *user, *secret;  /* credentials, NULL: anonymous */
    bool creds_loaded;
    long ping_status;     /* HTTP status of the last /v2/ ping, 0: no reply */
    char scheme[16];      /* "bearer", "basic" or "" (none asked yet) */
    char realm[1024], service[256];
    reg_token *toks;
    size_t ntoks;
} reg_client;

/* Open a client for `host` ("docker.io" goes to its API host, `api_base`
 * overrides the URL for mirrors) and ping /v2/. */
int reg_client_open(const char *host, const char *api_base, const img_reg_opts *o, reg_client **out, nr_err *err);
void reg_client_free(reg_client *c);

/* One request to the registry through the auth flow (`scope` for a Bearer
 * token: "repository:team/app:pull"), retried on transient failures.  Before
 * a retry `reset` (if any) is called so a streaming sink can start over.
 * Returns 0 with any HTTP status in rs, -1 on failure. */
typedef int (*reg_reset_fn)(void *arg, nr_err *err);
int reg_request(reg_client *c, img_http *h, const char *scope, img_http_req *rq, reg_reset_fn reset, void *reset_arg,
                img_http_resp *rs, nr_err *err);
/* An error for an unexpected status, with the registry's error code/message
 * when the body carries one ({"errors":[{"code","message"}]}), escaped. */
int reg_status_error(const img_http_resp *rs, const char *what, nr_err *err);

/* Parse a WWW-Authenticate value into c->scheme ("bearer", "basic",
 * "unknown"), c->realm and c->service (quoted or bare auth-params). */
void reg_challenge_parse(reg_client *c, const char *v);

/* Credentials for a host from the Docker config (helpers, auths).  Both
 * NULL when there are none. */
int reg_creds_get(const img_reg_opts *o, const char *host, char **user, char **secret, nr_err *err);
int reg_creds_store(const img_reg_opts *o, const char *host, const char *user, const char *secret, nr_err *err);
int reg_creds_erase(const img_reg_opts *o, const char *host, nr_err *err);

/* Call one(arg, h, i, err) for i in 0..n-1, o->parallel at a time (3 when
 * 0), each thread with its own HTTP connection h.  After a failure no new
 * item starts; the first failure is the one returned. */
typedef int (*reg_item_fn)(void *arg, img_http *h, size_t i, nr_err *err);
int reg_each_parallel(reg_client *c, size_t n, reg_item_fn one, void *arg, nr_err *err);

char *reg_b64_encode(const void *data, size_t n);

void reg_progress(const img_reg_opts *o, img_prog_event ev, const char *digest, uint64_t done, uint64_t total,
                  const char *msg);

#endif
