/* The registry client's core: names, the /v2/ ping, the auth flow (Basic,
 * Bearer tokens cached per scope) and retries. */
#include "images/reg_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define TOKEN_REPLY_MAX (256u << 10)
#define ERROR_BODY_MAX (64u << 10)

bool img_regref_has_host(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return false;
    size_t n = (size_t)(slash - s);
    if (memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !strncmp(s, "localhost", 9)))
        return true;
    for (size_t i = 0; i < n; i++) /* as Docker: an uppercase first component is a host */
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

bool img_reg_host_loopback(const char *host)
{
    char h[256];
    snprintf(h, sizeof h, "%s", host);
    if (h[0] == '[') {
        char *e = strchr(h, ']');
        if (!e)
            return false;
        *e = 0;
        return !strcmp(h + 1, "::1");
    }
    char *colon = strchr(h, ':');
    if (colon)
        *colon = 0;
    if (!strcmp(h, "localhost"))
        return true;
    struct in_addr a;
    return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int img_regref_parse(const char *s, img_regref *out, nr_err *err)
{
    memset(out, 0, sizeof *out);
    img_ref r;
    if (img_ref_parse(s, &r, err) < 0)
        return -1;
    const char *name = r.name;
    if (img_regref_has_host(r.name)) {
        const char *slash = strchr(r.name, '/');
        snprintf(out->host, sizeof out->host, "%.*s", (int)(slash - r.name), r.name);
        name = slash + 1;
    } else {
        snprintf(out->host, sizeof out->host, "%s", IMG_REG_DOCKER_HUB);
    }
    if (!strcmp(out->host, IMG_REG_DOCKER_HUB) || !strcmp(out->host, "index.docker.io")) {
        snprintf(out->host, sizeof out->host, "%s", IMG_REG_DOCKER_HUB);
        if (!strchr(name, '/')) {
            if (strlen(name) + 8 >= sizeof out->repo)
                return nr_err_set(err, "invalid reference \"%s\": name too long", s);
            snprintf(out->repo, sizeof out->repo, "library/%.247s", name);
        } else {
            snprintf(out->repo, sizeof out->repo, "%s", name);
        }
    } else {
        snprintf(out->repo, sizeof out->repo, "%s", name);
    }
    snprintf(out->digest, sizeof out->digest, "%s", r.digest);
    snprintf(out->tag, sizeof out->tag, "%s", r.tag); /* "" for a digest alone */
    if (out->tag[0])
        snprintf(out->local, sizeof out->local, "%s:%s", r.name, out->tag);
    return 0;
}

void reg_progress(const img_reg_opts *o, img_prog_event ev, const char *digest, uint64_t done, uint64_t total,
                  const char *msg)
{
    if (o->progress)
        o->progress(o->progress_arg, ev, digest, done, total, msg);
}

/* ---- auth ---- */

/* Parse `Bearer realm="...",service="...",scope="..."` (RFC 7235 auth-params). */
void reg_challenge_parse(reg_client *c, const char *v)
{
    c->scheme[0] = c->realm[0] = c->service[0] = 0;
    size_t sl = strcspn(v, " ");
    if (sl == 6 && !strncasecmp(v, "bearer", 6))
        snprintf(c->scheme, sizeof c->scheme, "bearer");
    else if (sl == 5 && !strncasecmp(v, "basic", 5))
        snprintf(c->scheme, sizeof c->scheme, "basic");
    else
        snprintf(c->scheme, sizeof c->scheme, "unknown");
    const char *p = v + sl;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ',')
            p++;
        if (*p != '=')
            break;
        size_t kl = (size_t)(p - k);
        p++;
        char val[1024];
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (n + 1 < sizeof val)
                    val[n++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != ' ') {
                if (n + 1 < sizeof val)
                    val[n++] = *p;
                p++;
            }
        }
        val[n] = 0;
        if (kl == 5 && !strncasecmp(k, "realm", 5))
            snprintf(c->realm, sizeof c->realm, "%s", val);
        else if (kl == 7 && !strncasecmp(k, "service", 7))
            snprintf(c->service, sizeof c->service, "%.255s", val);
    }
}

static char *basic_header(const char *user, const char *secret)
{
    char *plain = nr_xasprintf("%s:%s", user, secret);
    char *b = reg_b64_encode(plain, strlen(plain));
    char *h = nr_xasprintf("Authorization: Basic %s", b);
    explicit_bzero(plain, strlen(plain));
    explicit_bzero(b, strlen(b));
    free(plain);
    free(b);
    return h;
}

static int creds_load(reg_client *c, nr_err *err)
{
    if (c->creds_loaded)
        return 0;
    if (c->o->username) {
        c->user = nr_xstrdup(c->o->username);
        c->secret = nr_xstrdup(c->o->password ? c->o->password : "");
    } else if (reg_creds_get(c->o, c->host, &c->user, &c->secret, err) < 0) {
        return -1;
    }
    c->creds_loaded = true;
    return 0;
}

static const char *token_find(reg_client *c, const char *scope)
{
    for (size_t i = 0; i < c->ntoks; i++)
        if (!strcmp(c->toks[i].scope, scope))
            return c->toks[i].header;
    return NULL;
}

/* The Bearer token flow: GET realm?service=..&scope=.. (with Basic
 * credentials when we have some), reply {"token"|"access_token": "..."}. */
static int token_fetch(reg_client *c, img_http *h, const char *scope, nr_err *err)
{
    if (strncmp(c->realm, "https://", 8) &&
        !(strncmp(c->realm, "http://", 7) == 0 && (c->tls.verify == false || !strncmp(c->base, "http://", 7))))
        return nr_err_set(err, "registry %s: token realm \"%s\" is not an https URL", c->host, c->realm);
    nr_buf url = {0};
    nr_buf_addstr(&url, c->realm);
    char sep = strchr(c->realm, '?') ? '&' : '?';
    if (c->service[0]) {
        char *e = img_http_escape(c->service);
        nr_buf_addf(&url, "%cservice=%s", sep, e);
        free(e);
        sep = '&';
    }
    /* Several scopes (a mount reads another repository) are several params. */
    for (const char *sc = scope; sc && *sc;) {
        size_t n = strcspn(sc, " ");
        char *one = nr_xstrndup(sc, n);
        char *e = img_http_escape(one);
        nr_buf_addf(&url, "%cscope=%s", sep, e);
        sep = '&';
        free(e);
        free(one);
        sc += n;
        while (*sc == ' ')
            sc++;
    }
    nr_buf_add(&url, "", 1);
    cleanup_free char *basic = c->user ? basic_header(c->user, c->secret) : NULL;
    const char *hdrs[] = {basic, NULL};
    img_http_req rq = {.method = "GET", .url = url.data, .headers = basic ? hdrs : NULL, .max_body = TOKEN_REPLY_MAX,
                       .follow = true};
    img_http_resp rs;
    int rc = img_http_do(h, &rq, &rs, err);
    nr_buf_free(&url);
    if (rc < 0) {
        img_http_resp_free(&rs);
        return nr_err_wrap(err, "registry %s: token", c->host);
    }
    if (rs.status != 200) {
        char w[300];
        snprintf(w, sizeof w, "registry %s: token for %s", c->host, scope && *scope ? scope : "(no scope)");
        reg_status_error(&rs, w, err);
        img_http_resp_free(&rs);
        return -1;
    }
    json_error_t je;
    json_t *j = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len, 0, &je);
    img_http_resp_free(&rs);
    json_t *t = json_object_get(j, "token");
    if (!json_is_string(t))
        t = json_object_get(j, "access_token");
    if (!json_is_string(t) || json_string_length(t) == 0 || json_string_length(t) > 16384 ||
        strpbrk(json_string_value(t), "\r\n")) {
        json_decref(j);
        return nr_err_set(err, "registry %s: token reply is not JSON with a token", c->host);
    }
    c->toks = nr_xrealloc(c->toks, (c->ntoks + 1) * sizeof *c->toks);
    c->toks[c->ntoks].scope = nr_xstrdup(scope ? scope : "");
    c->toks[c->ntoks].header = nr_xasprintf("Authorization: Bearer %s", json_string_value(t));
    c->ntoks++;
    json_decref(j);
    return 0;
}

/* The Authorization header for a request to `scope`, or NULL (anonymous). */
static char *auth_for(reg_client *c, img_http *h, const char *scope, bool fetch, nr_err *err, int *rc)
{
    *rc = 0;
    if (!strcmp(c->scheme, "basic"))
        return c->user ? basic_header(c->user, c->secret) : NULL;
    if (strcmp(c->scheme, "bearer"))
        return NULL;
    const char *t = token_find(c, scope ? scope : "");
    if (!t && fetch) {
        if (token_fetch(c, h, scope, err) < 0) {
            *rc = -1;
            return NULL;
        }
        t = token_find(c, scope ? scope : "");
    }
    return t ? nr_xstrdup(t) : NULL;
}

static void token_drop(reg_client *c, const char *scope)
{
    for (size_t i = 0; i < c->ntoks; i++)
        if (!strcmp(c->toks[i].scope, scope ? scope : "")) {
            free(c->toks[i].scope);
            free(c->toks[i].header);
            c->toks[i] = c->toks[--c->ntoks];
            return;
        }
}

int reg_status_error(const img_http_resp *rs, const char *what, nr_err *err)
{
    const char *code = NULL, *msg = NULL;
    json_t *j = NULL;
    if (rs->body.len && rs->body.len < ERROR_BODY_MAX) {
        j = json_loadb(rs->body.data, rs->body.len, 0, NULL);
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        if (json_is_string(json_object_get(e0, "code")))
            code = json_string_value(json_object_get(e0, "code"));
        if (json_is_string(json_object_get(e0, "message")))
            msg = json_string_value(json_object_get(e0, "message"));
    }
    cleanup_free char *ec = code ? nr_escape_controls(code) : NULL;
    cleanup_free char *em = msg ? nr_escape_controls(msg) : NULL;
    if (ec && strlen(ec) > 100)
        ec[100] = 0;
    if (em && strlen(em) > 300)
        em[300] = 0;
    if (ec)
        nr_err_set(err, "%s: HTTP %ld %s%s%s", what, rs->status, ec, em ? ": " : "", em ? em : "");
    else
        nr_err_set(err, "%s: HTTP %ld", what, rs->status);
    json_decref(j);
    return -1;
}

static bool transient(const img_http_resp *rs)
{
    return (rs->transport_error && !rs->tls_error) || rs->status == 429 || (rs->status >= 500 && rs->status <= 599);
}

int reg_request(reg_client *c, img_http *h, const char *scope, img_http_req *rq, reg_reset_fn reset, void *reset_arg,
                img_http_resp *rs, nr_err *err)
{
    const char *orig_hdrs[16] = {0};
    size_t nh = 0;
    for (; rq->headers && rq->headers[nh] && nh < 14; nh++)
        orig_hdrs[nh] = rq->headers[nh];
    const char *const *saved = rq->headers;
    bool reauthed = false;
    int rc = -1;
    for (int attempt = 1;; attempt++) {
        /* Credentials and tokens go to the registry itself only, never to
         * another host an upload Location points at. */
        size_t bl = strlen(c->base);
        bool ours = !strncmp(rq->url, c->base, bl) && (rq->url[bl] == '/' || rq->url[bl] == 0);
        pthread_mutex_lock(&c->mu);
        int arc = 0;
        cleanup_free char *auth = ours ? auth_for(c, h, scope, true, err, &arc) : NULL;
        pthread_mutex_unlock(&c->mu);
        if (arc < 0) {
            rc = -1;
            goto out;
        }
        orig_hdrs[nh] = auth;
        orig_hdrs[nh + 1] = NULL;
        rq->headers = orig_hdrs;
        rc = img_http_do(h, rq, rs, err);
        rq->headers = saved;
        if (rc == 0 && rs->status == 401 && !reauthed) {
            /* Asked to authenticate: learn how, then try once more. */
            pthread_mutex_lock(&c->mu);
            if (rs->www_auth[0])
                reg_challenge_parse(c, rs->www_auth);
            token_drop(c, scope);
            int lrc = creds_load(c, err);
            pthread_mutex_unlock(&c->mu);
            if (lrc < 0) {
                rc = -1;
                goto out;
            }
            if (!strcmp(c->scheme, "basic") && !c->user) {
                rc = nr_err_set(err, "registry %s: authentication required (nrun login %s)", c->host, c->host);
                goto out;
            }
            if (strcmp(c->scheme, "basic") && strcmp(c->scheme, "bearer"))
                goto out; /* an auth scheme we do not speak: the caller reports the 401 */
            reauthed = true;
            if (reset && reset(reset_arg, err) < 0) {
                rc = -1;
                goto out;
            }
            img_http_resp_free(rs);
            attempt--;
            continue;
        }
        if (rc < 0 && !rs->transport_error)
            goto out; /* refused by us (size bound, digest) or a redirect loop: no retry helps */
        if (!transient(rs) || attempt >= IMG_REG_TRIES)
            goto out;
        /* Backoff 0.5 s, 1 s, 2 s (or what Retry-After asks, at most 60 s). */
        long ms = rs->retry_after ? rs->retry_after * 1000 : 250L << attempt;
        char note[1200];
        if (rc < 0)
            snprintf(note, sizeof note, "%s; retrying (%d/%d)", err->msg, attempt, IMG_REG_TRIES - 1);
        else
            snprintf(note, sizeof note, "%s %s: HTTP %ld; retrying (%d/%d)", rq->method, rq->url, rs->status, attempt,
                     IMG_REG_TRIES - 1);
        reg_progress(c->o, IMG_PROG_NOTE, NULL, 0, 0, note);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (reset && reset(reset_arg, err) < 0) {
            rc = -1;
            goto out;
        }
        img_http_resp_free(rs);
    }
out:
    rq->headers = saved;
    return rc;
}

/* ---- client ---- */

static bool host_insecure(const img_reg_opts *o, const char *host)
{
    if (o->tls_verify == 0 || (o->tls_verify != 1 && img_reg_host_loopback(host)))
        return true;
    for (size_t i = 0; i < o->n_insecure; i++)
        if (!strcmp(o->insecure[i], host))
            return true;
    return false;
}

static int ping(reg_client *c, nr_err *err)
{
    char url[400];
    snprintf(url, sizeof url, "%s/v2/", c->base);
    img_http_req rq = {.method = "GET", .url = url, .max_body = ERROR_BODY_MAX, .follow = true};
    img_http_resp rs;
    int rc = reg_request(c, c->h, NULL, &rq, NULL, NULL, &rs, err);
    if (rc == 0 && rs.status != 200 && rs.status != 401) {
        char w[1200];
        snprintf(w, sizeof w, "registry %s: GET %s", c->host, url);
        rc = reg_status_error(&rs, w, err);
    }
    /* No TLS spoken there (not: a certificate we do not trust): the http fallback may try. */
    bool no_tls = (rs.tls_error || rs.transport_error) && !rs.tls_verify_error;
    c->ping_status = rs.transport_error ? 0 : rs.status;
    img_http_resp_free(&rs);
    if (rc < 0 && no_tls)
        err->errnum = EPROTO;
    return rc;
}

int reg_client_open(const char *host, const char *api_base, const img_reg_opts *o, reg_client **out, nr_err *err)
{
    reg_client *c = nr_xcalloc(1, sizeof *c);
    c->o = o;
    pthread_mutex_init(&c->mu, NULL);
    snprintf(c->host, sizeof c->host, "%s", host);
    c->tls.verify = o->tls_verify != 0;
    c->tls.ca_file = o->ca_file;
    /* Docker's place for a registry's private CA: /etc/docker/certs.d/HOST[:PORT]/ca.crt */
    char certs_d[400];
    snprintf(certs_d, sizeof certs_d, "/etc/docker/certs.d/%s/ca.crt", host);
    if (!c->tls.ca_file && !strchr(host, '/') && strcmp(host, "..") && access(certs_d, R_OK) == 0)
        c->tls.ca_file = c->ca_buf = nr_xstrdup(certs_d);
    if (img_http_new(&c->tls, &c->h, err) < 0)
        goto fail;
    if (api_base) {
        snprintf(c->base, sizeof c->base, "%s", api_base);
        size_t n = strlen(c->base);
        while (n && c->base[n - 1] == '/')
            c->base[--n] = 0;
        if (ping(c, err) < 0)
            goto fail;
    } else {
        const char *api = !strcmp(host, IMG_REG_DOCKER_HUB) ? "registry-1.docker.io" : host;
        if (img_reg_host_loopback(host) && o->tls_verify != 1) {
            /* Loopback: plain http first (the traffic never leaves the host,
             * and it saves a TLS handshake per command), https when what
             * answers there is no registry. */
            snprintf(c->base, sizeof c->base, "http://%s", api);
            if (ping(c, err) == 0)
                goto done;
            if (c->ping_status == 200 || c->ping_status == 401)
                goto fail; /* a registry answered (and refused): its error is the one */
        }
        snprintf(c->base, sizeof c->base, "https://%s", api);
        if (ping(c, err) < 0) {
            if (err->errnum != EPROTO || !host_insecure(o, host))
                goto fail;
            /* Docker's insecure registries: https first, then plain http. */
            nr_err first = *err;
            snprintf(c->base, sizeof c->base, "http://%s", api);
            if (ping(c, err) < 0) {
                nr_err_wrap(err, "over https: %s; over http", first.msg);
                goto fail;
            }
        }
    }
done:
    *out = c;
    return 0;
fail:
    nr_err_wrap(err, "registry %s", host);
    reg_client_free(c);
    return -1;
}

void reg_client_free(reg_client *c)
{
    if (!c)
        return;
    img_http_free(c->h);
    for (size_t i = 0; i < c->ntoks; i++) {
        free(c->toks[i].scope);
        free(c->toks[i].header);
    }
    free(c->toks);
    if (c->secret)
        explicit_bzero(c->secret, strlen(c->secret));
    free(c->user);
    free(c->secret);
    free(c->ca_buf);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- parallel transfers ---- */

typedef struct reg_pool {
    reg_client *c;
    reg_item_fn one;
    void *arg;
    size_t n, next;
    pthread_mutex_t mu;
    bool failed;
    nr_err err;
} reg_pool;

static void *reg_pool_worker(void *arg)
{
    reg_pool *pl = arg;
    img_http *h = NULL;
    nr_err err = {0};
    if (img_http_new(&pl->c->tls, &h, &err) < 0)
        goto fail;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        size_t i = pl->failed ? pl->n : pl->next++;
        pthread_mutex_unlock(&pl->mu);
        if (i >= pl->n)
            break;
        if (pl->one(pl->arg, h, i, &err) < 0)
            goto fail;
    }
    img_http_free(h);
    return NULL;
fail:
    img_http_free(h);
    pthread_mutex_lock(&pl->mu);
    if (!pl->failed)
        pl->err = err;
    pl->failed = true;
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

int reg_each_parallel(reg_client *c, size_t n, reg_item_fn one, void *arg, nr_err *err)
{
    reg_pool pl = {.c = c, .one = one, .arg = arg, .n = n};
    pthread_mutex_init(&pl.mu, NULL);
    size_t nt = c->o->parallel > 0 ? (size_t)c->o->parallel : 3;
    if (nt > n)
        nt = n;
    pthread_t *t = nr_xcalloc(nt + 1, sizeof *t);
    size_t started = 0;
    for (; started < nt; started++)
        if (pthread_create(&t[started], NULL, reg_pool_worker, &pl) != 0)
            break;
    /* No thread could start: do the work on this one. */
    if (started == 0 && n > 0)
        reg_pool_worker(&pl);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&pl.mu);
    if (pl.failed) {
        *err = pl.err;
        return -1;
    }
    return 0;
}
