/* Image reference grammar (docker's distribution/reference, written anew). */
#include "images/ref.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )* */
static bool path_component_valid(const char *p, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[n - 1]))
        return false;
    while (i < n) {
        if (is_lower_alnum(p[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !is_lower_alnum(p[j]))
            j++;
        size_t sl = j - i;
        const char *sep = p + i;
        bool ok = (sl == 1 && (*sep == '.' || *sep == '_' || *sep == '-')) ||
                  (sl == 2 && sep[0] == '_' && sep[1] == '_');
        if (!ok) {
            ok = true;
            for (size_t k = 0; k < sl; k++)
                if (sep[k] != '-')
                    ok = false;
        }
        if (!ok)
            return false;
        i = j;
    }
    return true;
}

/* host: label(.label)* [:port], labels [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? */
static bool domain_valid(const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    size_t hn = colon ? (size_t)(colon - p) : n;
    if (hn == 0)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= hn; i++) {
        if (i < hn && p[i] != '.')
            continue;
        size_t ln = i - start;
        const char *l = p + start;
        if (ln == 0 || !isalnum((unsigned char)l[0]) || !isalnum((unsigned char)l[ln - 1]))
            return false;
        for (size_t k = 0; k < ln; k++)
            if (!isalnum((unsigned char)l[k]) && l[k] != '-')
                return false;
        start = i + 1;
    }
    if (colon) {
        size_t pn = n - hn - 1;
        if (pn == 0 || pn > 5)
            return false;
        for (size_t k = 0; k < pn; k++)
            if (!isdigit((unsigned char)colon[1 + k]))
                return false;
    }
    return true;
}

bool img_tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128)
        return false;
    if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return false;
    return true;
}

static bool name_valid(const char *name, const char **why)
{
    size_t n = strlen(name);
    if (n == 0) {
        *why = "empty name";
        return false;
    }
    if (n > IMG_NAME_MAX - 1) {
        *why = "name longer than 255 characters";
        return false;
    }
    const char *p = name;
    bool first = true;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t cn = slash ? (size_t)(slash - p) : strlen(p);
        bool is_domain = first && slash &&
                         (memchr(p, '.', cn) || memchr(p, ':', cn) || (cn == 9 && !memcmp(p, "localhost", 9)));
        for (size_t k = 0; first && slash && k < cn; k++)
            if (isupper((unsigned char)p[k]))
                is_domain = true;
        if (is_domain) {
            if (!domain_valid(p, cn)) {
                *why = "invalid registry host";
                return false;
            }
        } else if (!path_component_valid(p, cn)) {
            for (size_t k = 0; k < cn; k++)
                if (isupper((unsigned char)p[k])) {
                    *why = "repository name must be lowercase";
                    return false;
                }
            *why = "invalid name (lowercase letters, digits and separators . _ __ - only)";
            return false;
        }
        if (!slash)
            break;
        p = slash + 1;
        first = false;
    }
    return true;
}

int img_ref_parse(const char *s, img_ref *out, nr_err *err)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return nr_err_set(err, "invalid reference format: empty image name");
    size_t n = strlen(s);
    if (n > 512)
        return nr_err_set(err, "invalid reference format: longer than 512 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return nr_err_set(err, "invalid reference format \"%.80s\": contains a space or a control/non-ASCII character", s);
    char buf[513];
    memcpy(buf, s, n + 1);
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        if (!img_digest_valid(at + 1))
            return nr_err_set(err, "invalid reference format \"%s\": digest must be sha256:<64 hex>", s);
        snprintf(out->digest, sizeof out->digest, "%s", at + 1);
    }
    char *slash = strrchr(buf, '/');
    char *colon = strrchr(buf, ':');
    if (colon && (!slash || colon > slash)) {
        *colon = '\0';
        if (!img_tag_valid(colon + 1))
            return nr_err_set(err, "invalid reference format \"%s\": bad tag \"%s\" ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})", s,
                              colon + 1);
        snprintf(out->tag, sizeof out->tag, "%s", colon + 1);
    } else if (!at) {
        snprintf(out->tag, sizeof out->tag, "latest");
    }
    const char *why = NULL;
    if (!name_valid(buf, &why))
        return nr_err_set(err, "invalid reference format \"%s\": %s", s, why);
    memcpy(out->name, buf, strlen(buf) + 1); /* name_valid bounded it to IMG_NAME_MAX - 1 */
    return 0;
}

int img_ref_format(const img_ref *r, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s:%s", r->name, r->tag[0] ? r->tag : "latest");
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int img_ref_normalize(const char *s, char *out, size_t outlen, nr_err *err)
{
    img_ref r;
    if (img_ref_parse(s, &r, err) < 0)
        return -1;
    if (r.digest[0] && !r.tag[0])
        return nr_err_set(err, "\"%s\": a digest reference cannot be used as a tag", s);
    if (img_ref_format(&r, out, outlen) < 0)
        return nr_err_set(err, "\"%s\": reference too long", s);
    return 0;
}
