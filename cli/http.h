/* A minimal HTTP/1.1 request-head parser for `nrun dashboard` (cli/http.c):
 * bounded, no allocation, only what the dashboard needs to decide. */
#ifndef NR_HTTP_H
#define NR_HTTP_H

#include <stddef.h>

enum { NR_HTTP_MAX_HEAD = 8192, NR_HTTP_MAX_BODY = 16384, NR_HTTP_MAX_HEADERS = 64 };

typedef struct nr_http_req {
    char method[8];
    char path[1024];    /* the target up to '?' */
    char query[1024];   /* after '?', "" when none */
    char host[256], origin[256], token[128], cookie[1024], ctype[128];
    long content_length; /* -1: none */
    size_t head_len;     /* bytes of the head, with its blank line */
} nr_http_req;

/* Parse the head at buf[0..len): 0 = incomplete (read more), > 0 = done (the
 * head's length), -400 bad request, -431 head too large, -413 body too large,
 * -501 unsupported (Transfer-Encoding). */
int nr_http_parse(const char *buf, size_t len, nr_http_req *r);

/* The value of `name` in a query string or a Cookie header (sep '&' or ';'),
 * percent-decoded into out (cap bytes): 0, or -1 when absent or too long. */
int nr_http_param(const char *s, char sep, const char *name, char *out, size_t cap);

#endif
