/* Nodefile physical lines (see parse.h): the parser directives at the top,
 * a UTF-8 BOM, CRLF endings, comments and blank lines, `\` (or `# escape=`)
 * continuations joined into logical lines with a byte -> (line, col) map,
 * Unicode spaces trimmed as BuildKit trims them, and the here-documents
 * that follow RUN/COPY/ADD.  Each logical line goes to bld_instr_parse
 * (parse.c) for its words, flags and checks. */
#include "builder/parse_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

/* The parser directives at the very top (see parse.h).  Returns the first
 * byte after them, or NULL with err set. */
static const char *parse_directives(bld_nodefile *f, const char *p, const char *end, int *line, nr_err *err)
{
    bool seen[3] = {false, false, false};
    static const char *const keys[] = {"escape", "syntax", "check"};
    for (;;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        const char *s = p, *t = e;
        while (t > s && isspace((unsigned char)t[-1]))
            t--;
        while (s < t && isspace((unsigned char)*s))
            s++;
        if (s >= t || *s != '#')
            return p;
        s++;
        while (s < t && isspace((unsigned char)*s))
            s++;
        const char *k = s;
        if (s < t && isalpha((unsigned char)*s))
            while (s < t && isalnum((unsigned char)*s))
                s++;
        size_t kl = (size_t)(s - k);
        while (s < t && isspace((unsigned char)*s))
            s++;
        if (kl == 0 || s >= t || *s != '=')
            return p;
        s++;
        while (s < t && isspace((unsigned char)*s))
            s++;
        if (s >= t)
            return p; /* `# key=` with no value: a comment */
        size_t ki = 0;
        while (ki < NR_ARRAY_LEN(keys) && (strlen(keys[ki]) != kl || strncasecmp(k, keys[ki], kl)))
            ki++;
        if (ki == NR_ARRAY_LEN(keys))
            return p; /* an unknown key: a comment, and the end of the directives */
        int col = (int)(k - p) + 1;
        if (seen[ki])
            return nr_err_set(err, "%s:%d:%d: only one %s parser directive can be used", f->path, *line, col,
                              keys[ki]),
                   NULL;
        seen[ki] = true;
        if (ki == 0) {
            if (t - s != 1 || (*s != '`' && *s != '\\'))
                return nr_err_set(err, "%s:%d:%d: invalid escape token '%.*s' does not match ` or \\", f->path,
                                  *line, (int)(s - p) + 1, (int)(t - s > 20 ? 20 : t - s), s),
                       NULL;
            f->escape = *s;
        } else if (ki == 1) {
            f->syntax = nr_xstrndup(s, (size_t)(t - s));
        }
        (*line)++;
        if (e >= end)
            return end;
        p = e + 1;
    }
}

/* Unicode White_Space beyond ASCII, UTF-8 encoded (NBSP and friends that a
 * paste from a web page leaves): BuildKit trims them (Go's unicode.IsSpace)
 * at both ends of an instruction's line and before a comment's '#'. */
static size_t uspace_at(const char *s, const char *end)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = (size_t)(end - s);
    if (n >= 1 && (*u == '\v' || *u == '\f'))
        return 1;
    if (n >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
        return 2;
    if (n >= 3 && ((u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) || (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80) ||
                   (u[0] == 0xe2 && u[1] == 0x80 && (u[2] <= 0x8a || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf)) ||
                   (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f)))
        return 3;
    return 0;
}

static const char *skip_spaces(const char *s, const char *t)
{
    for (size_t k; s < t;) {
        if (*s == ' ' || *s == '\t')
            s++;
        else if ((k = uspace_at(s, t)))
            s += k;
        else
            break;
    }
    return s;
}

static const char *trim_spaces_end(const char *s, const char *t)
{
    while (t > s) {
        if (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r')
            t--;
        else if (t - s >= 1 && uspace_at(t - 1, t) == 1)
            t--;
        else if (t - s >= 2 && uspace_at(t - 2, t) == 2)
            t -= 2;
        else if (t - s >= 3 && uspace_at(t - 3, t) == 3)
            t -= 3;
        else
            break;
    }
    return t;
}

typedef struct lbuf {
    nr_buf text;
    int *lines, *cols;
    size_t cap;
} lbuf;

static void lbuf_add(lbuf *b, const char *s, size_t n, int line, int col)
{
    if (b->text.len + n + 1 > b->cap) {
        b->cap = (b->text.len + n + 1) * 2;
        b->lines = nr_xrealloc(b->lines, b->cap * sizeof(int));
        b->cols = nr_xrealloc(b->cols, b->cap * sizeof(int));
    }
    for (size_t i = 0; i < n; i++) {
        b->lines[b->text.len + i] = line;
        b->cols[b->text.len + i] = col + (int)i;
    }
    nr_buf_add(&b->text, s, n);
}

static int finish(bld_nodefile *f, lbuf *b, nr_err *err)
{
    f->ins = nr_xrealloc(f->ins, (f->n + 1) * sizeof *f->ins);
    bld_instr *in = &f->ins[f->n++];
    memset(in, 0, sizeof *in);
    in->text = b->text.data ? b->text.data : nr_xstrdup("");
    in->len = b->text.len;
    in->lines = b->lines;
    in->cols = b->cols;
    memset(b, 0, sizeof *b);
    return bld_instr_parse(f, in, err);
}

/* A word of the logical line that starts a heredoc, as BuildKit finds them:
 * [digits]<<[-][blanks]NAME where NAME (one word, no '<') may be quoted,
 * which turns expansion off.  Fills h (name, chomp, expand) and returns
 * true. */
static bool heredoc_word(const char *w, size_t n, bld_heredoc *h)
{
    size_t i = 0;
    while (i < n && isdigit((unsigned char)w[i]))
        i++;
    if (n - i < 2 || w[i] != '<' || w[i + 1] != '<')
        return false;
    i += 2;
    bool chomp = i < n && w[i] == '-';
    i += chomp;
    while (i < n && isspace((unsigned char)w[i]))
        i++;
    if (i >= n || memchr(w + i, '<', n - i))
        return false;
    nr_buf name = {0};
    char q = 0;
    bool quoted = false;
    for (; i < n; i++) {
        char c = w[i];
        if (q == '\'') {
            if (c == '\'')
                q = 0;
            else
                nr_buf_add(&name, &c, 1);
        } else if (q == '"') {
            if (c == '"')
                q = 0;
            else if (c == '\\' && i + 1 < n && strchr("\"\\$", w[i + 1]))
                nr_buf_add(&name, &w[++i], 1);
            else
                nr_buf_add(&name, &c, 1);
        } else if (c == '\'' || c == '"') {
            q = c;
            quoted = true;
        } else if (c == '\\' && i + 1 < n) {
            nr_buf_add(&name, &w[++i], 1);
        } else {
            nr_buf_add(&name, &c, 1);
        }
    }
    if (name.len == 0) {
        nr_buf_free(&name);
        return false;
    }
    nr_buf_add(&name, "", 1);
    h->name = name.data;
    h->chomp = chomp;
    h->expand = !quoted;
    return true;
}

/* The heredoc words of a RUN, COPY or ADD in shell form (quotes group a
 * word, so `echo "<<EOF"` has none). */
static void find_heredocs(bld_instr *in)
{
    if ((in->kind != BLD_RUN && in->kind != BLD_COPY && in->kind != BLD_ADD) || in->json ||
        !memmem(in->text, in->len, "<<", 2))
        return;
    size_t i = in->rest_off;
    while (i < in->len) {
        while (i < in->len && isspace((unsigned char)in->text[i]))
            i++;
        size_t start = i;
        char q = 0;
        for (; i < in->len; i++) {
            char c = in->text[i];
            if (q) {
                if (c == '\\' && q == '"' && i + 1 < in->len)
                    i++;
                else if (c == q)
                    q = 0;
            } else if (c == '\\' && i + 1 < in->len) {
                i++;
            } else if (c == '"' || c == '\'') {
                q = c;
            } else if (isspace((unsigned char)c)) {
                break;
            }
        }
        bld_heredoc h = {0};
        if (i > start && heredoc_word(in->text + start, i - start, &h)) {
            h.off = start;
            h.end = i;
            in->heredocs = nr_xrealloc(in->heredocs, (in->nheredocs + 1) * sizeof *in->heredocs);
            in->heredocs[in->nheredocs++] = h;
        }
    }
}

/* Read the bodies of the heredocs of `in` from *pp on (physical line
 * *line), verbatim, each up to its delimiter line. */
static int read_heredocs(const bld_nodefile *f, bld_instr *in, const char **pp, const char *end, int *line,
                         nr_err *err)
{
    const char *p = *pp;
    for (size_t k = 0; k < in->nheredocs; k++) {
        bld_heredoc *h = &in->heredocs[k];
        size_t nl = strlen(h->name);
        nr_buf body = {0}, data = {0};
        bool done = false;
        h->line = *line;
        while (p < end && !done) {
            const char *e = memchr(p, '\n', (size_t)(end - p));
            const char *next = e ? e + 1 : end;
            if (!e)
                e = end;
            const char *z = memchr(p, '\0', (size_t)(e - p));
            if (z) {
                nr_buf_free(&body);
                nr_buf_free(&data);
                return nr_err_set(err, "%s:%d:%d: NUL byte in file", f->path, *line, (int)(z - p) + 1);
            }
            const char *s = p, *t = e;
            while (t > s && t[-1] == '\r')
                t--;
            if (h->chomp)
                while (s < t && *s == '\t')
                    s++;
            if ((size_t)(t - s) == nl && !memcmp(s, h->name, nl)) {
                done = true;
            } else {
                nr_buf_add(&body, p, (size_t)(next - p));
                const char *d = p;
                if (h->chomp)
                    while (d < next && *d == '\t')
                        d++;
                nr_buf_add(&data, d, (size_t)(next - d));
            }
            p = next;
            (*line)++;
        }
        nr_buf_add(&body, "", 1);
        nr_buf_add(&data, "", 1);
        h->body = body.data;
        h->data = data.data;
        if (!done)
            return bld_errat(err, f, in, h->off, "%s: unterminated heredoc: no line \"%.100s\" before the end of the file",
                             in->name, h->name);
    }
    *pp = p;
    return 0;
}

/* The last instruction is complete: check it, then read its heredocs. */
static int finish_heredocs(bld_nodefile *f, lbuf *cur, const char **pp, const char *end, int *line, nr_err *err)
{
    if (finish(f, cur, err) < 0)
        return -1;
    bld_instr *in = &f->ins[f->n - 1];
    find_heredocs(in);
    if (in->kind == BLD_COPY || in->kind == BLD_ADD) {
        const bld_heredoc *h = in->nargs ? bld_instr_heredoc(in, in->args[in->nargs - 1].off) : NULL;
        if (h)
            return bld_errat(err, f, in, h->off, "%s cannot accept a heredoc as a destination", in->name);
    }
    return read_heredocs(f, in, pp, end, line, err);
}

int bld_parse(const char *path, const char *text, size_t len, bld_nodefile *out, nr_err *err)
{
    bld_nodefile f = {.path = nr_xstrdup(path), .escape = '\\'};
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3;
    int line = 1;
    p = parse_directives(&f, p, end, &line, err);
    if (!p) {
        bld_nodefile_free(&f);
        return -1;
    }
    lbuf cur = {0};
    bool open = false;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *next = e ? e + 1 : end;
        if (!e)
            e = end;
        if (memchr(p, '\0', (size_t)(e - p))) {
            free(cur.text.data), free(cur.lines), free(cur.cols);
            bld_nodefile_free(&f);
            return nr_err_set(err, "%s:%d:%d: NUL byte in file", path, line,
                              (int)((const char *)memchr(p, '\0', (size_t)(e - p)) - p) + 1);
        }
        const char *s = p, *t = e, *lstart = p;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
            t--;
        const char *nw = skip_spaces(s, t);
        p = next;
        line++;
        if (nw == t || *nw == '#') /* blank or comment, also inside a continuation */
            continue;
        bool cont = t[-1] == f.escape;
        if (!cont) /* the instruction ends here: Unicode spaces go too */
            t = trim_spaces_end(nw, t);
        if (!open)
            s = nw; /* its first line: from the instruction word on */
        lbuf_add(&cur, s, (size_t)((cont ? t - 1 : t) - s), line - 1, (int)(s - lstart) + 1);
        open = true;
        if (!cont) {
            open = false;
            if (finish_heredocs(&f, &cur, &p, end, &line, err) < 0) {
                bld_nodefile_free(&f);
                return -1;
            }
        }
    }
    if (open && finish_heredocs(&f, &cur, &p, end, &line, err) < 0) {
        bld_nodefile_free(&f);
        return -1;
    }
    if (f.n == 0) {
        bld_nodefile_free(&f);
        return nr_err_set(err, "%s:1:1: file has no instructions", path);
    }
    *out = f;
    return 0;
}
