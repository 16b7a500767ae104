/* Ignore patterns (see ignore.h).  Each pattern is compiled once into an
 * anchored POSIX extended regex, the way Docker turns them into Go regexps. */
#include "builder/context.h"
#include "builder/ignore.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct pattern {
    char *text;       /* cleaned pattern */
    bool exception;   /* "!pattern" */
    regex_t re;
} pattern;

struct bld_ignore {
    pattern *p;
    size_t n;
    bool any_exception;
};

/* Translate a pattern into an anchored ERE. */
static char *to_regex(const char *p)
{
    nr_buf b = {0};
    nr_buf_addstr(&b, "^");
    for (size_t i = 0; p[i]; i++) {
        char c = p[i];
        if (c == '*') {
            if (p[i + 1] == '*') {
                i++;
                if (p[i + 1] == '/')
                    i++;
                if (!p[i + 1])
                    nr_buf_addstr(&b, ".*");
                else
                    nr_buf_addstr(&b, "(.*/)?");
            } else {
                nr_buf_addstr(&b, "[^/]*");
            }
        } else if (c == '?') {
            nr_buf_addstr(&b, "[^/]");
        } else if (c == '[') {
            size_t j = i + 1;
            if (p[j] == '!' || p[j] == '^')
                j++;
            if (p[j] == ']')
                j++;
            while (p[j] && p[j] != ']')
                j++;
            if (!p[j]) { /* no closing bracket: a literal '[' */
                nr_buf_addstr(&b, "\\[");
                continue;
            }
            nr_buf_addstr(&b, "[");
            size_t k = i + 1;
            if (p[k] == '!' || p[k] == '^') {
                nr_buf_addstr(&b, "^");
                k++;
            }
            for (; k < j; k++) {
                if (p[k] == '\\' && k + 1 < j)
                    k++;
                nr_buf_add(&b, p + k, 1);
            }
            nr_buf_addstr(&b, "]");
            i = j;
        } else if (c == '\\' && p[i + 1]) {
            i++;
            if (strchr(".+()|{}^$*?[]\\", p[i]))
                nr_buf_addstr(&b, "\\");
            nr_buf_add(&b, p + i, 1);
        } else {
            if (strchr(".+()|{}^$]", c))
                nr_buf_addstr(&b, "\\");
            nr_buf_add(&b, &c, 1);
        }
    }
    nr_buf_addstr(&b, "$");
    return b.data;
}

bool bld_ignore_empty(const bld_ignore *ig)
{
    return !ig || ig->n == 0;
}

void bld_ignore_free(bld_ignore *ig)
{
    if (!ig)
        return;
    for (size_t i = 0; i < ig->n; i++) {
        regfree(&ig->p[i].re);
        free(ig->p[i].text);
    }
    free(ig->p);
    free(ig);
}

int bld_ignore_parse(const char *name, const char *text, bld_ignore **out, nr_err *err)
{
    bld_ignore *ig = nr_xcalloc(1, sizeof *ig);
    int line = 0;
    if (!strncmp(text, "\xef\xbb\xbf", 3))
        text += 3; /* a UTF-8 BOM (Windows editors write one), as Docker skips it */
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        line++;
        cleanup_free char *raw = nr_xstrndup(p, l);
        p += l + (e ? 1 : 0);
        /* Trim surrounding whitespace (and a CR) as Docker does. */
        char *s = raw;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t sl = strlen(s);
        while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t' || s[sl - 1] == '\r'))
            s[--sl] = '\0';
        if (!*s || *s == '#')
            continue;
        /* each compiled pattern costs kilobytes and every path is matched
         * against all: 16 MiB of one-letter lines took gigabytes */
        if (ig->n >= BLD_IGNORE_MAX) {
            bld_ignore_free(ig);
            return nr_err_set(err, "%s:%d: more than %d patterns", name, line, BLD_IGNORE_MAX);
        }
        bool exc = false;
        if (*s == '!') {
            exc = true;
            s++;
            while (*s == ' ' || *s == '\t')
                s++;
            if (!*s) {
                bld_ignore_free(ig);
                return nr_err_set(err, "%s:%d: illegal exclusion pattern \"!\"", name, line);
            }
        }
        char *c = bld_path_clean(s);
        if (c[0] == '/' && c[1])
            memmove(c, c + 1, strlen(c));
        cleanup_free char *rx = to_regex(c);
        pattern pt = {.text = c, .exception = exc};
        int rc = regcomp(&pt.re, rx, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char m[128];
            regerror(rc, &pt.re, m, sizeof m);
            free(c);
            bld_ignore_free(ig);
            return nr_err_set(err, "%s:%d: bad pattern \"%s\": %s", name, line, s, m);
        }
        ig->p = nr_xrealloc(ig->p, (ig->n + 1) * sizeof *ig->p);
        ig->p[ig->n++] = pt;
        ig->any_exception |= exc;
    }
    *out = ig;
    return 0;
}

int bld_ignore_read(int fd, const char *name, bld_ignore **out, nr_err *err)
{
    cleanup_free char *text = NULL;
    size_t len;
    if (nr_read_user_fd(fd, name, "ignore file", 16u << 20, &text, &len, err) < 0)
        return -1;
    if (memchr(text, '\0', len) != NULL)
        return nr_err_set(err, "%s: NUL byte", name);
    return bld_ignore_parse(name, text, out, err);
}

static bool pat_match(const pattern *pt, const char *path)
{
    if (regexec(&pt->re, path, 0, NULL, 0) == 0)
        return true;
    /* A pattern matching a parent directory matches the path too. */
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return false;
    memcpy(buf, path, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        bool m = regexec(&pt->re, buf, 0, NULL, 0) == 0;
        buf[i] = '/';
        if (m)
            return true;
    }
    return false;
}

bool bld_ignore_match(const bld_ignore *ig, const char *path)
{
    bool matched = false;
    for (size_t i = 0; ig && i < ig->n; i++) {
        const pattern *pt = &ig->p[i];
        if (pt->exception && !matched)
            continue;
        if (pat_match(pt, path))
            matched = !pt->exception;
    }
    return matched;
}

/* Could the pattern match some path strictly below `dir`?  Compare segment
 * by segment; a `**` segment (or running out of dir segments) means yes. */
static bool could_match_below(const pattern *pt, const char *dir)
{
    const char *p = pt->text, *d = dir;
    for (;;) {
        if (!*d)
            return *p != '\0';
        if (!*p)
            return false;
        const char *pe = strchr(p, '/'), *de = strchr(d, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), dl = de ? (size_t)(de - d) : strlen(d);
        if (memmem(p, pl, "**", 2))
            return true;
        cleanup_free char *ps = nr_xstrndup(p, pl), *ds = nr_xstrndup(d, dl);
        cleanup_free char *rx = to_regex(ps);
        regex_t re;
        if (regcomp(&re, rx, REG_EXTENDED | REG_NOSUB) != 0)
            return true;
        bool m = regexec(&re, ds, 0, NULL, 0) == 0;
        regfree(&re);
        if (!m)
            return false;
        p += pl + (pe ? 1 : 0);
        d += dl + (de ? 1 : 0);
        if (!pe)
            return false; /* the pattern ends at this segment: it names dir or a parent */
    }
}

bool bld_ignore_skip_dir(const bld_ignore *ig, const char *dir)
{
    if (!bld_ignore_match(ig, dir))
        return false;
    for (size_t i = 0; i < ig->n; i++)
        if (ig->p[i].exception && could_match_below(&ig->p[i], dir))
            return false;
    return true;
}
