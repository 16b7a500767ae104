/* Word expansion (see expand.h): a small recursive-descent lexer. */
#include "builder/expand.h"

#include <ctype.h>
#include <fnmatch.h>
#include <string.h>

#include "common/util.h"

typedef struct lex {
    const char *s;
    size_t i;
    char esc;
    bld_lookup_fn look;
    void *ctx;
    size_t errpos;
    int depth;   /* ${...:-${...}} nesting, bounded: hostile input must not blow the stack */
    nr_err *err;
} lex;

static int word(lex *x, nr_buf *o, const char *stop);

/* Values a pattern form works on are bounded: matching tries every
 * substring (#/% every prefix or suffix), and a Nodefile is input. */
#define PAT_VALUE_MAX 4096
#define REPL_VALUE_MAX 1024

static int fail(lex *x, size_t pos, const char *msg, const char *arg)
{
    x->errpos = pos;
    return nr_err_set(x->err, msg, arg);
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Does pattern p match v[a..b) as a whole (shell pattern, '*' crosses '/')? */
static bool match_at(char *v, size_t a, size_t b, const char *p)
{
    char c = v[b];
    v[b] = '\0';
    bool m = fnmatch(p, v + a, 0) == 0;
    v[b] = c;
    return m;
}

/* Append v with its shortest/longest prefix (#, ##) or suffix (%, %%)
 * that matches pat removed. */
static void trim(nr_buf *o, char *v, char op, bool longest, const char *pat)
{
    size_t n = strlen(v), cut = 0;
    bool found = false;
    for (size_t k = 0; k <= n && !found; k++) {
        size_t len = longest ? n - k : k; /* the prefix or suffix length tried */
        found = op == '#' ? match_at(v, 0, len, pat) : match_at(v, n - len, n, pat);
        if (found)
            cut = len;
    }
    if (op == '#')
        nr_buf_addstr(o, v + cut);
    else
        nr_buf_add(o, v, n - cut);
}

/* Append v with the first (or every) longest match of pat replaced. */
static void replace(nr_buf *o, char *v, bool all, const char *pat, const char *rep)
{
    size_t n = strlen(v), i = 0;
    bool done = !*pat;
    while (i < n) {
        size_t end = i;
        bool found = false;
        for (size_t e = n; !done && e > i && !found; e--)
            if (match_at(v, i, e, pat)) {
                found = true;
                end = e;
            }
        if (!found) {
            nr_buf_add(o, v + i, 1);
            i++;
            continue;
        }
        nr_buf_addstr(o, rep);
        i = end;
        done = !all;
    }
}

/* ${NAME#p} ${NAME##p} ${NAME%p} ${NAME%%p} ${NAME/p/r} ${NAME//p/r}
 * (BuildKit's Dockerfile 1.7 forms; the second '/' is required, as there):
 * x->s[x->i] is the operator.  The pattern and the replacement are words
 * (variables expanded) matched as shell patterns. */
static int pattern_op(lex *x, nr_buf *o, size_t dollar, const char *name, const char *v)
{
    char op = x->s[x->i++];
    bool twice = x->s[x->i] == op;
    if (twice)
        x->i++;
    if (++x->depth > 32)
        return fail(x, dollar, "substitution nested too deeply in ${%s...}", name);
    nr_buf pat = {0}, rep = {0};
    int rc = word(x, &pat, op == '/' ? "/}" : "}");
    if (rc == 0 && op == '/') {
        if (x->s[x->i] != '/')
            rc = fail(x, dollar, "bad substitution: ${%s/pattern/replacement} needs its second '/'", name);
        else {
            x->i++;
            rc = word(x, &rep, "}");
        }
    }
    x->depth--;
    if (rc == 0 && x->s[x->i] != '}')
        rc = fail(x, dollar, "missing '}' in ${%s...}", name);
    if (rc == 0 && strlen(v) > (op == '/' ? REPL_VALUE_MAX : PAT_VALUE_MAX))
        rc = fail(x, dollar, "bad substitution: the value of %s is too long for a pattern", name);
    if (rc == 0) {
        x->i++;
        cleanup_free char *val = nr_xstrdup(v);
        const char *p = pat.data ? pat.data : "";
        if (op == '/')
            replace(o, val, twice, p, rep.data ? rep.data : "");
        else
            trim(o, val, op, twice, p);
    }
    nr_buf_free(&pat);
    nr_buf_free(&rep);
    return rc;
}

/* x->s[x->i] is the character after '$'. */
static int variable(lex *x, nr_buf *o)
{
    size_t dollar = x->i - 1;
    const char *s = x->s;
    if (s[x->i] != '{') {
        /* as BuildKit's lexer: $1 names "1" (digits only: $1x is $1 then
         * x) and $@ $* $# $? $- $$ $! are one-character names, all unset
         * in a Dockerfile; '$' before anything else is itself */
        size_t a = x->i;
        if (isdigit((unsigned char)s[x->i]))
            while (isdigit((unsigned char)s[x->i]))
                x->i++;
        else if (s[x->i] && strchr("@*#?-$!", s[x->i]))
            x->i++;
        else if (!isalpha((unsigned char)s[x->i]) && s[x->i] != '_') {
            nr_buf_add(o, "$", 1);
            return 0;
        } else
            while (name_char(s[x->i]))
                x->i++;
        cleanup_free char *name = nr_xstrndup(s + a, x->i - a);
        const char *v = x->look(x->ctx, name);
        if (v)
            nr_buf_addstr(o, v);
        return 0;
    }
    x->i++;
    size_t a = x->i;
    while (name_char(s[x->i]))
        x->i++;
    if (x->i == a)
        return fail(x, dollar, "bad substitution: %s", "empty or invalid variable name in ${}");
    cleanup_free char *name = nr_xstrndup(s + a, x->i - a);
    const char *v = x->look(x->ctx, name);
    if (s[x->i] == '}') {
        x->i++;
        if (v)
            nr_buf_addstr(o, v);
        return 0;
    }
    if (!s[x->i])
        return fail(x, dollar, "missing '}' in ${%s...}", name);
    if (s[x->i] == '#' || s[x->i] == '%' || s[x->i] == '/')
        return pattern_op(x, o, dollar, name, v ? v : "");
    bool colon = false;
    if (s[x->i] == ':') {
        colon = true;
        x->i++;
    }
    char op = s[x->i];
    if (op != '-' && op != '+' && op != '?')
        return fail(x, dollar, "bad substitution: unsupported modifier in ${%s...}", name);
    x->i++;
    if (++x->depth > 32)
        return fail(x, dollar, "substitution nested too deeply in ${%s...}", name);
    nr_buf alt = {0};
    int wr = word(x, &alt, "}");
    x->depth--;
    if (wr < 0) {
        nr_buf_free(&alt);
        return -1;
    }
    if (x->s[x->i] != '}') {
        nr_buf_free(&alt);
        return fail(x, dollar, "missing '}' in ${%s...}", name);
    }
    x->i++;
    bool set = v && (!colon || *v);
    const char *altv = alt.data ? alt.data : "";
    int rc = 0;
    if (op == '-')
        nr_buf_addstr(o, set ? v : altv);
    else if (op == '+')
        nr_buf_addstr(o, set ? altv : "");
    else if (!set) {
        x->errpos = dollar;
        rc = nr_err_set(x->err, "%s: %s", name, *altv ? altv : "parameter not set or empty");
    } else
        nr_buf_addstr(o, v);
    nr_buf_free(&alt);
    return rc;
}

static int word(lex *x, nr_buf *o, const char *stop)
{
    const char *s = x->s;
    while (s[x->i]) {
        char c = s[x->i];
        if (stop && strchr(stop, c))
            return 0;
        if (c == x->esc) {
            if (s[x->i + 1]) {
                nr_buf_add(o, s + x->i + 1, 1);
                x->i += 2;
            } else {
                nr_buf_add(o, &c, 1);
                x->i++;
            }
        } else if (c == '\'') {
            size_t q = x->i++;
            const char *e = strchr(s + x->i, '\'');
            if (!e)
                return fail(x, q, "unterminated quote %s", "'");
            nr_buf_add(o, s + x->i, (size_t)(e - (s + x->i)));
            x->i = (size_t)(e - s) + 1;
        } else if (c == '"') {
            size_t q = x->i++;
            for (;;) {
                char d = s[x->i];
                if (!d)
                    return fail(x, q, "unterminated quote %s", "\"");
                if (d == '"') {
                    x->i++;
                    break;
                }
                if (d == x->esc && (s[x->i + 1] == '"' || s[x->i + 1] == '$' || s[x->i + 1] == x->esc)) {
                    nr_buf_add(o, s + x->i + 1, 1);
                    x->i += 2;
                } else if (d == '$') {
                    x->i++;
                    if (variable(x, o) < 0)
                        return -1;
                } else {
                    nr_buf_add(o, &d, 1);
                    x->i++;
                }
            }
        } else if (c == '$') {
            x->i++;
            if (variable(x, o) < 0)
                return -1;
        } else {
            nr_buf_add(o, &c, 1);
            x->i++;
        }
    }
    return 0;
}

int bld_expand(const char *w, char esc, bld_lookup_fn look, void *ctx, char **out, size_t *errpos, nr_err *err)
{
    lex x = {.s = w, .esc = esc, .look = look, .ctx = ctx, .err = err};
    nr_buf o = {0};
    if (word(&x, &o, NULL) < 0) {
        nr_buf_free(&o);
        if (errpos)
            *errpos = x.errpos;
        return -1;
    }
    if (!o.data)
        nr_buf_add(&o, "", 0);
    *out = o.data;
    return 0;
}
