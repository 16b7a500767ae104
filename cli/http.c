/* The request-head parser of `nrun dashboard`: a request line and headers,
 * bounded (NR_HTTP_MAX_HEAD bytes, NR_HTTP_MAX_HEADERS lines); a header that
 * does not fit its field makes the request bad rather than cut. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/http.h"

static int copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = 0;
    return 0;
}

static int header(nr_http_req *r, const char *l, size_t n)
{
    const char *colon = memchr(l, ':', n);
    if (!colon || colon == l)
        return -400;
    size_t kn = (size_t)(colon - l);
    for (size_t i = 0; i < kn; i++)
        if (!(isalnum((unsigned char)l[i]) || l[i] == '-' || l[i] == '_'))
            return -400;
    const char *v = colon + 1, *end = l + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vn = (size_t)(end - v);
    for (size_t i = 0; i < vn; i++)
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
            return -400;
#define IS(name) (kn == sizeof name - 1 && !strncasecmp(l, name, kn))
    if (IS("Host"))
        return copy(r->host, sizeof r->host, v, vn) ? -400 : 0;
    if (IS("Origin"))
        return copy(r->origin, sizeof r->origin, v, vn) ? -400 : 0;
    if (IS("X-Nrun-Token"))
        return copy(r->token, sizeof r->token, v, vn) ? -400 : 0;
    if (IS("Cookie"))
        return copy(r->cookie, sizeof r->cookie, v, vn) ? -431 : 0;
    if (IS("Content-Type"))
        return copy(r->ctype, sizeof r->ctype, v, vn) ? -400 : 0;
    if (IS("Transfer-Encoding"))
        return -501;
    if (IS("Content-Length")) {
        char num[24];
        if (vn == 0 || copy(num, sizeof num, v, vn) || r->content_length >= 0)
            return -400;
        for (size_t i = 0; i < vn; i++)
            if (!isdigit((unsigned char)num[i]))
                return -400;
        long cl = strtol(num, NULL, 10);
        if (cl > NR_HTTP_MAX_BODY)
            return -413;
        r->content_length = cl;
    }
#undef IS
    return 0;
}

int nr_http_parse(const char *buf, size_t len, nr_http_req *r)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (!memcmp(buf + i, "\r\n\r\n", 4)) {
            end = buf + i + 2; /* the last header line's CRLF */
            break;
        }
    if (!end)
        return len >= NR_HTTP_MAX_HEAD ? -431 : 0;
    if ((size_t)(end + 2 - buf) > NR_HTTP_MAX_HEAD)
        return -431;
    const char *l = buf;
    const char *nl = memchr(l, '\r', (size_t)(end - l));
    /* request line: METHOD SP TARGET SP HTTP/1.x */
    const char *sp1 = memchr(l, ' ', (size_t)(nl - l));
    if (!sp1 || copy(r->method, sizeof r->method, l, (size_t)(sp1 - l)) || !r->method[0])
        return -400;
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(nl - t));
    if (!sp2 || *t != '/' || (size_t)(nl - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7))
        return -400;
    const char *q = memchr(t, '?', (size_t)(sp2 - t));
    const char *pe = q ? q : sp2;
    if (copy(r->path, sizeof r->path, t, (size_t)(pe - t)) ||
        (q && copy(r->query, sizeof r->query, q + 1, (size_t)(sp2 - q - 1))))
        return -431;
    for (const char *c = t; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return -400;
    int nh = 0;
    for (l = nl + 2; l < end; l = nl + 2) {
        nl = memchr(l, '\r', (size_t)(end - l));
        if (!nl || nl[1] != '\n')
            return -400;
        if (++nh > NR_HTTP_MAX_HEADERS)
            return -431;
        int rc = header(r, l, (size_t)(nl - l));
        if (rc)
            return rc;
    }
    r->head_len = (size_t)(end + 2 - buf);
    return (int)r->head_len;
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : isxdigit((unsigned char)c) ? (tolower((unsigned char)c) - 'a' + 10) : -1;
}

int nr_http_param(const char *s, char sep, const char *name, char *out, size_t cap)
{
    size_t nn = strlen(name);
    while (s && *s) {
        while (*s == ' ')
            s++;
        const char *e = strchr(s, sep);
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n > nn && !strncmp(s, name, nn) && s[nn] == '=') {
            size_t o = 0;
            for (size_t i = nn + 1; i < n; i++) {
                char c = s[i];
                if (c == '%' && i + 2 < n + 1 && hexval(s[i + 1]) >= 0 && i + 2 < n && hexval(s[i + 2]) >= 0) {
                    c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                    i += 2;
                } else if (c == '+' && sep == '&') {
                    c = ' ';
                }
                if (o + 1 >= cap)
                    return -1;
                out[o++] = c;
            }
            out[o] = 0;
            return 0;
        }
        s = e ? e + 1 : NULL;
    }
    return -1;
}
