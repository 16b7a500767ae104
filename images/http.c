/* HTTP over libcurl, loaded on first use (see http.h). */
#include "images/http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static char cu_error[256];

static void cu_load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(cu_error, sizeof cu_error, "load libcurl.so.4: %s", dlerror());
        return;
    }
#define SYM(f, n)                                                                         \
    if (!(*(void **)&cu.f = dlsym(h, n))) {                                                \
        snprintf(cu_error, sizeof cu_error, "libcurl.so.4 lacks %s", n);                  \
        return;                                                                           \
    }
    SYM(global_init, "curl_global_init");
    SYM(easy_init, "curl_easy_init");
    SYM(easy_setopt, "curl_easy_setopt");
    SYM(easy_perform, "curl_easy_perform");
    SYM(easy_getinfo, "curl_easy_getinfo");
    SYM(easy_cleanup, "curl_easy_cleanup");
    SYM(easy_reset, "curl_easy_reset");
    SYM(easy_strerror, "curl_easy_strerror");
    SYM(slist_append, "curl_slist_append");
    SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
    if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(cu_error, sizeof cu_error, "curl_global_init failed");
        cu.easy_init = NULL;
    }
}

struct img_http {
    CURL *c;
    img_http_tls tls;
};

int img_http_new(const img_http_tls *tls, img_http **out, nr_err *err)
{
    pthread_once(&cu_once, cu_load);
    if (cu_error[0] || !cu.easy_init)
        return nr_err_set(err, "%s", cu_error[0] ? cu_error : "libcurl unavailable");
    img_http *h = nr_xcalloc(1, sizeof *h);
    h->c = cu.easy_init();
    if (!h->c) {
        free(h);
        return nr_err_set(err, "curl_easy_init failed");
    }
    h->tls = *tls;
    *out = h;
    return 0;
}

void img_http_free(img_http *h)
{
    if (!h)
        return;
    cu.easy_cleanup(h->c);
    free(h);
}

void img_http_resp_free(img_http_resp *rs)
{
    nr_buf_free(&rs->body);
    memset(rs, 0, sizeof *rs);
}

typedef struct xfer {
    CURL *c;
    int to_sink;     /* -1: not known yet, 1: a 2xx body for the sink, 0: an error body kept in memory */
    const img_http_req *rq;
    img_http_resp *rs;
    nr_err *err;
    bool refused;    /* the sink or the size bound stopped the transfer */
    size_t sent;     /* of rq->body */
} xfer;

static void copy_value(char *dst, size_t dstlen, const char *v, size_t n)
{
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    if (n >= dstlen)
        n = dstlen - 1; /* truncated: a value this long is not one we can use anyway */
    memcpy(dst, v, n);
    dst[n] = 0;
}

static size_t on_header(char *p, size_t size, size_t nitems, void *arg)
{
    xfer *x = arg;
    size_t n = size * nitems;
    img_http_resp *rs = x->rs;
    if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
        /* A new response (after a redirect or a 100 Continue): forget the last one's headers. */
        rs->content_type[0] = rs->location[0] = rs->docker_digest[0] = rs->www_auth[0] = rs->range[0] = 0;
        rs->location_cut = false;
        rs->content_length = -1;
        rs->retry_after = 0;
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return n;
    size_t kl = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vl = n - kl - 1;
#define IS(name) (kl == sizeof(name) - 1 && !strncasecmp(p, name, kl))
    if (IS("Content-Type"))
        copy_value(rs->content_type, sizeof rs->content_type, v, vl);
    else if (IS("Location")) {
        copy_value(rs->location, sizeof rs->location, v, vl);
        rs->location_cut = strlen(rs->location) == sizeof rs->location - 1;
        if (rs->location_cut)
            rs->location[0] = 0;
    } else if (IS("Docker-Content-Digest"))
        copy_value(rs->docker_digest, sizeof rs->docker_digest, v, vl);
    else if (IS("WWW-Authenticate") && !rs->www_auth[0])
        copy_value(rs->www_auth, sizeof rs->www_auth, v, vl);
    else if (IS("Range"))
        copy_value(rs->range, sizeof rs->range, v, vl);
    else if (IS("Content-Length") || IS("Retry-After")) {
        char tmp[32];
        copy_value(tmp, sizeof tmp, v, vl);
        char *end;
        errno = 0;
        long long val = strtoll(tmp, &end, 10);
        if (!errno && end != tmp && !*end && val >= 0) {
            if (IS("Content-Length"))
                rs->content_length = val;
            else
                rs->retry_after = val > 60 ? 60 : (long)val;
        }
    }
#undef IS
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    if (x->rq->sink && x->to_sink < 0) {
        long code = 0;
        cu.easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
        x->to_sink = code >= 200 && code <= 299;
    }
    if (x->rq->sink && !x->to_sink) {
        /* An error reply's body is for the message, never for the sink: keep its start. */
        if (x->rs->body.len < 65536)
            nr_buf_add(&x->rs->body, p, n < 65536 - x->rs->body.len ? n : 65536 - x->rs->body.len);
        return n;
    }
    if (x->rq->sink) {
        if (x->rq->sink(x->rq->sink_arg, p, n, x->err) < 0) {
            x->refused = true;
            return 0;
        }
        return n;
    }
    size_t max = x->rq->max_body ? x->rq->max_body : 65536;
    if (x->rs->body.len + n > max) {
        nr_err_set(x->err, "%s %s: reply body larger than %zu bytes", x->rq->method, x->rq->url, max);
        x->refused = true;
        return 0;
    }
    nr_buf_add(&x->rs->body, p, n);
    return n;
}

static size_t on_read(char *p, size_t size, size_t nitems, void *arg)
{
    xfer *x = arg;
    size_t n = size * nitems;
    if (x->rq->src) {
        ssize_t r = x->rq->src(x->rq->src_arg, p, n, x->err);
        if (r < 0) {
            x->refused = true;
            return CURL_READFUNC_ABORT;
        }
        return (size_t)r;
    }
    size_t left = x->rq->body_len - x->sent;
    if (n > left)
        n = left;
    memcpy(p, (const char *)x->rq->body + x->sent, n);
    x->sent += n;
    return n;
}

static bool is_tls_error(CURLcode rc)
{
    return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CERTPROBLEM ||
           rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR;
}

int img_http_do(img_http *h, const img_http_req *rq, img_http_resp *rs, nr_err *err)
{
    CURL *c = h->c;
    memset(rs, 0, sizeof *rs);
    rs->content_length = -1;
    xfer x = {.c = h->c, .to_sink = -1, .rq = rq, .rs = rs, .err = err};
    cu.easy_reset(c);
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; rq->headers && rq->headers[i]; i++)
        hdrs = cu.slist_append(hdrs, rq->headers[i]);
    bool https = !strncmp(rq->url, "https://", 8);
    bool head = !strcmp(rq->method, "HEAD");
    bool upload = rq->body || rq->src || !strcmp(rq->method, "PUT") || !strcmp(rq->method, "PATCH");
    char ua[64];
    snprintf(ua, sizeof ua, "nrun/%s", NR_VERSION);
    char cerr[CURL_ERROR_SIZE] = "";
    cu.easy_setopt(c, CURLOPT_URL, rq->url);
    cu.easy_setopt(c, CURLOPT_USERAGENT, rq->user_agent ? rq->user_agent : ua);
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
    cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, rq->follow ? 1L : 0L);
    cu.easy_setopt(c, CURLOPT_MAXREDIRS, (long)(rq->max_redirs > 0 ? rq->max_redirs : IMG_HTTP_MAX_REDIRS));
    if (rq->max_size)
        cu.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_size);
    cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A server that stops sending is a failure, not a hang. */
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->tls.verify ? 1L : 0L);
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->tls.verify ? 2L : 0L);
    if (h->tls.ca_file)
        cu.easy_setopt(c, CURLOPT_CAINFO, h->tls.ca_file);
    cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    cu.easy_setopt(c, CURLOPT_HEADERDATA, &x);
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, &x);
    /* Blobs are megabytes: reads bigger than libcurl's 16 KiB are a
     * fraction of the syscalls, and of the blob file's writes, for the same
     * bytes.  (A bigger upload buffer than its 64 KiB measured no better.) */
    if (!head && !upload)
        cu.easy_setopt(c, CURLOPT_BUFFERSIZE, 256L << 10);
    if (head) {
        cu.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (upload) {
        cu.easy_setopt(c, CURLOPT_UPLOAD, 1L);
        cu.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        cu.easy_setopt(c, CURLOPT_READDATA, &x);
        cu.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(rq->src ? rq->src_len : rq->body_len));
        cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
        hdrs = cu.slist_append(hdrs, "Expect:");
    } else if (!strcmp(rq->method, "POST")) {
        cu.easy_setopt(c, CURLOPT_POST, 1L);
        cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        cu.easy_setopt(c, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(rq->method, "GET")) {
        cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    cu.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = cu.easy_perform(c);
    cu.slist_free_all(hdrs);
    cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* cerr goes out of scope */
    snprintf(rs->detail, sizeof rs->detail, "%s", cerr);
    if (rc == CURLE_OK) {
        if (rs->body.len)
            nr_buf_add(&rs->body, "", 1), rs->body.len--;
        return 0;
    }
    if (x.refused)
        return -1;
    rs->transport_error = true;
    rs->tls_error = is_tls_error(rc);
    rs->tls_verify_error = rc == CURLE_PEER_FAILED_VERIFICATION;
    rs->too_many_redirects = rc == CURLE_TOO_MANY_REDIRECTS;
    rs->too_large = rc == CURLE_FILESIZE_EXCEEDED;
    if (rs->too_many_redirects || rs->too_large)
        rs->transport_error = false; /* the server's fault, and no retry will fix it */
    return nr_err_set(err, "%s %s: %s", rq->method, rq->url, cu.easy_strerror(rc));
}

char *img_http_escape(const char *s)
{
    nr_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            nr_buf_add(&b, p, 1);
        else
            nr_buf_addf(&b, "%%%02X", *p);
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}
