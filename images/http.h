/* HTTP for the registry client: libcurl, loaded with dlopen on first use.
 *
 * Why dlopen: libcurl's shared library pulls in ~30 more (TLS, HTTP/2, IDN,
 * LDAP, Kerberos...) and every nrun command would pay their loading and
 * symbol binding at start, though only pull/push/login talk HTTP.
 *
 * Every reply is hostile: a body is kept in memory only up to `max_body`
 * (more is an error), or streamed to a sink that may refuse it; redirects
 * are followed at most IMG_HTTP_MAX_REDIRS (or rq->max_redirs) times and only to http(s)
 * (https only once the request was https); the interesting response
 * headers are captured with bounded lengths. */
#ifndef IMG_HTTP_H
#define IMG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/util.h"

#define IMG_HTTP_MAX_REDIRS 5

typedef struct img_http img_http;

typedef struct img_http_tls {
    bool verify;          /* verify the peer against the system trust store (or ca_file) */
    const char *ca_file;  /* NULL: system store */
} img_http_tls;

/* Streaming body sink: return 0 to go on, < 0 to abort (err filled). */
typedef int (*img_http_sink_fn)(void *arg, const void *data, size_t len, nr_err *err);
/* Streaming upload source: bytes read into buf, 0 at the end, < 0 on error. */
typedef ssize_t (*img_http_src_fn)(void *arg, void *buf, size_t len, nr_err *err);

typedef struct img_http_req {
    const char *method;         /* "GET", "HEAD", "PUT", "POST", "PATCH" */
    const char *url;
    const char *const *headers; /* "Name: value", NULL-terminated, or NULL */
    const void *body;           /* request body in memory ... */
    size_t body_len;
    img_http_src_fn src;        /* ... or streamed (src_len bytes) */
    void *src_arg;
    uint64_t src_len;
    img_http_sink_fn sink;      /* response body streamed here, or kept in memory */
    void *sink_arg;
    size_t max_body;            /* in-memory bound (0: 64 KiB) */
    bool follow;                /* follow redirects (bounded) */
    int max_redirs;             /* 0: IMG_HTTP_MAX_REDIRS */
    uint64_t max_size;          /* refuse a larger declared Content-Length (0: no bound; a sink bounds the rest) */
    const char *user_agent;     /* NULL: "nrun/<version>" */
} img_http_req;

/* A Location longer than this is refused (location_cut), never used cut:
 * registries put upload state in it, a few KiB of it on some. */
#define IMG_HTTP_LOCATION_MAX 8192

typedef struct img_http_resp {
    long status;
    nr_buf body;                /* when no sink (NUL-terminated when non-empty) */
    char content_type[256];
    char location[IMG_HTTP_LOCATION_MAX];
    char docker_digest[128];
    char www_auth[2048];
    char range[64];
    int64_t content_length;     /* -1: not sent */
    long retry_after;           /* seconds, 0: not sent */
    bool transport_error;       /* no HTTP reply at all (connection, TLS, timeout) */
    bool tls_error;             /* the failure was in the TLS handshake */
    bool tls_verify_error;      /* ... the peer speaks TLS but failed verification */
    bool too_many_redirects;    /* more than the redirect bound */
    bool too_large;             /* the declared size exceeded rq->max_size */
    bool location_cut;          /* a Location longer than IMG_HTTP_LOCATION_MAX - 1 (location is then "") */
    char detail[256];           /* libcurl's own message for a failure ("" if none) */
} img_http_resp;

int img_http_new(const img_http_tls *tls, img_http **out, nr_err *err);
void img_http_free(img_http *h);
/* One request.  Returns 0 when an HTTP reply came (any status; see
 * rs->status), -1 on a transport failure or a refused body (err filled,
 * rs->transport_error set for the former). */
int img_http_do(img_http *h, const img_http_req *rq, img_http_resp *rs, nr_err *err);
void img_http_resp_free(img_http_resp *rs);
/* Percent-encode a query value (malloc'd). */
char *img_http_escape(const char *s);

#endif
