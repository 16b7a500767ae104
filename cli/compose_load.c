/* Reading compose files: libyaml's event parser builds a JSON tree with
 * anchors, aliases and << merges resolved, every scalar interpolated
 * (${VAR} and its forms) from the environment over .env, under limits
 * (file size, nesting, nodes after alias expansion) so that a YAML bomb or a
 * hostile file costs little and says where it went wrong.  Files are merged
 * in -f order; compose_model.c then checks and normalizes the result. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "cli/compose.h"
#include "cli/compose_int.h"
#include "common/util.h"

#define FILE_MAX (4 << 20) /* bytes of one compose or .env file */
#define DEPTH_MAX 64       /* nesting of mappings and sequences */
#define NODES_MAX 200000   /* nodes of one file, aliases expanded */
/* bytes of the keys and values of one file, aliases and ${VAR}s expanded: a
 * 4 MiB scalar aliased 200,000 times, or "$X$X..." with a 4 MiB X in .env, is
 * few nodes but would be terabytes */
#define BYTES_MAX (64 << 20)
/* the files one project reads, a file read again counted again: include and
 * extends name files, and a few levels of includes that each name the next
 * file many times (no loop: no file includes itself) were read N^depth times */
#define LOADS_MAX 1000
#define PROJECT_BYTES_MAX (256 << 20)

extern char **environ;

/* ---- .env ---- */

/* KEY=VALUE lines as compose reads them: # comments, blank lines, an
 * optional "export ", '...' literal (but \'), "..." with \n \t \" \\, unquoted
 * values trimmed and cut at " #", KEY alone taking the environment's value.
 * Unquoted and "..." values are interpolated as the compose file's are
 * ('...' is literal), a name looked up in the file's own earlier keys first.
 * Both .env and a service's env_file are read here. */
static int interp(cmp_ctx *c, const char *s, size_t n, nr_buf *b, int depth, nr_err *err);

int cmp_env_file_read(cmp_ctx *c, const char *path, json_t *env, bool missing_ok, nr_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (nr_read_user_file(AT_FDCWD, path, "env file", FILE_MAX, &text, &len, err) < 0) {
        if (missing_ok && err->errnum == ENOENT) {
            nr_err_clear(err);
            return 0;
        }
        return -1;
    }
    if (memchr(text, 0, len)) {
        free(text);
        return nr_err_set(err, "%s: a NUL byte in the file", path);
    }
    int lineno = 0;
    size_t budget = BYTES_MAX;
    char *save = NULL;
    for (char *line = text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        (void)save;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#')
            continue;
        if (!strncmp(line, "export ", 7))
            line += 7;
        char *eq = strchr(line, '=');
        size_t kl = eq ? (size_t)(eq - line) : strlen(line);
        while (kl && (line[kl - 1] == ' ' || line[kl - 1] == '\t'))
            kl--;
        bool ok = kl > 0 && (isalpha((unsigned char)line[0]) || line[0] == '_');
        for (size_t i = 0; ok && i < kl; i++)
            ok = isalnum((unsigned char)line[i]) || strchr("_.-", line[i]);
        if (ok && !eq && !line[kl + strspn(line + kl, " \t")]) {
            /* KEY alone: the environment's value, nothing when it has none */
            cleanup_free char *key = nr_xstrndup(line, kl);
            const char *ev = getenv(key);
            if (ev)
                json_object_set_new(env, key, json_string(ev));
            continue;
        }
        if (!ok || !eq) {
            /* the line itself is not shown: a .env of a cloned repo may be a symlink to
             * /etc/shadow, whose lines would land in a terminal or a CI log */
            free(text);
            return nr_err_set(err, "%s:%d: expected KEY=VALUE (a name of letters, digits, '_', '.' and '-', then '=')",
                              path, lineno);
        }
        cleanup_free char *key = nr_xstrndup(line, kl);
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        nr_buf val = {0};
        bool literal = *v == '\'';
        if (*v == '\'' || *v == '"') {
            char q = *v++;
            char *end = v;
            for (; *end && *end != q; end++) {
                if (q == '\'' && *end == '\\' && end[1] == '\'') { /* 'Let\'s go' */
                    end++;
                    nr_buf_add(&val, end, 1);
                } else if (q == '"' && *end == '\\' && end[1]) {
                    end++;
                    char c = *end == 'n' ? '\n' : *end == 't' ? '\t' : *end == 'r' ? '\r' : *end;
                    nr_buf_add(&val, &c, 1);
                } else {
                    nr_buf_add(&val, end, 1);
                }
            }
            if (*end != q) {
                nr_buf_free(&val);
                free(text);
                return nr_err_set(err, "%s:%d: %s: the quote is not closed", path, lineno, key);
            }
        } else {
            char *hash = strstr(v, " #");
            size_t vl = hash ? (size_t)(hash - v) : strlen(v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            nr_buf_add(&val, v, vl);
        }
        nr_buf_add(&val, "", 1);
        if (!literal && strchr(val.data, '$')) {
            nr_buf x = {0};
            json_t *saved = c->local;
            c->local = env;
            c->room = budget; /* (the file's values together, ${}s expanded) */
            int r = interp(c, val.data, strlen(val.data), &x, 0, err);
            c->local = saved;
            budget -= x.len < budget ? x.len : budget;
            nr_buf_free(&val);
            if (r < 0) {
                nr_buf_free(&x);
                free(text);
                cleanup_free char *e = nr_escape_controls(err->msg);
                return nr_err_set(err, "%s:%d: %s: %s", path, lineno, key, e);
            }
            nr_buf_add(&x, "", 1);
            val = x;
        }
        if (!nr_utf8_valid(val.data)) {
            nr_buf_free(&val);
            free(text);
            return nr_err_set(err, "%s:%d: %s: the value is not valid UTF-8", path, lineno, key);
        }
        json_object_set_new(env, key, json_string(val.data));
        nr_buf_free(&val);
    }
    free(text);
    return 0;
}

/* ---- interpolation ---- */

static const char *env_get(const cmp_ctx *c, const char *name)
{
    json_t *l = c->local ? json_object_get(c->local, name) : NULL;
    if (l)
        return json_string_value(l);
    const char *v = getenv(name);
    if (v)
        return v;
    return json_string_value(json_object_get(c->env, name));
}

static size_t name_len(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    size_t n = 1;
    while (isalnum((unsigned char)s[n]) || s[n] == '_')
        n++;
    return n;
}

/* How much of s[0..n) an error may show: a variable name, at most 40
 * bytes, never the text around it (a compose file that is a link to
 * /etc/shadow must not print its hashes). */
static size_t shown_len(const char *s, size_t n)
{
    size_t l = 0;
    while (l < n && l < 40 && (isalnum((unsigned char)s[l]) || s[l] == '_'))
        l++;
    return l;
}

/* s[0..n) interpolated into b; -1 with err (no file position: the caller adds it) */
static int interp(cmp_ctx *c, const char *s, size_t n, nr_buf *b, int depth, nr_err *err)
{
    if (depth > 8)
        return nr_err_set(err, "interpolation nested too deep");
    for (size_t i = 0; i < n; i++) {
        if (b->len > c->room)
            return nr_err_set(err, "more than %d MiB of values (aliases and ${} expanded): refused", BYTES_MAX >> 20);
        if (s[i] != '$') {
            nr_buf_add(b, s + i, 1);
            continue;
        }
        if (i + 1 < n && s[i + 1] == '$') {
            nr_buf_add(b, "$", 1);
            i++;
            continue;
        }
        if (i + 1 < n && s[i + 1] != '{') {
            size_t nl = name_len(s + i + 1);
            if (nl == 0 || i + 1 + nl > n)
                return nr_err_set(err, "invalid interpolation: a $ followed by neither a name nor { ($$ is a literal $)");
            cleanup_free char *name = nr_xstrndup(s + i + 1, nl);
            const char *v = env_get(c, name);
            if (!v)
                cmp_warn_unset(c, name);
            nr_buf_addstr(b, v ? v : "");
            i += nl;
            continue;
        }
        if (i + 1 >= n)
            return nr_err_set(err, "invalid interpolation: a lone $ at the end ($$ is a literal $)");
        /* ${...}: find the closing brace, nested ${} counted */
        size_t j = i + 2, open = 1;
        for (; j < n; j++) {
            if (s[j] == '$' && j + 1 < n && s[j + 1] == '{')
                open++, j++;
            else if (s[j] == '}' && --open == 0)
                break;
        }
        if (j >= n)
            return nr_err_set(err, "invalid interpolation: \"${%.*s\" has no closing }", (int)shown_len(s + i + 2, n - i - 2),
                              s + i + 2);
        const char *in = s + i + 2;
        size_t inl = j - (i + 2);
        size_t nl = name_len(in);
        if (nl == 0 || nl > inl)
            return nr_err_set(err, "invalid interpolation: after \"${\", expected a variable name");
        cleanup_free char *name = nr_xstrndup(in, nl);
        const char *v = env_get(c, name);
        const char *op = in + nl;
        size_t rest = inl - nl;
        bool colon = rest && *op == ':';
        char kind = rest > (size_t)colon ? op[colon] : 0;
        const char *arg = op + colon + 1;
        size_t argl = rest > (size_t)colon + 1 ? rest - colon - 1 : 0;
        if (rest == 0) {
            if (!v)
                cmp_warn_unset(c, name);
            nr_buf_addstr(b, v ? v : "");
        } else if (kind == '-' || kind == '?' || kind == '+') {
            bool set = v && (!colon || *v);
            if (kind == '-') {
                if (set)
                    nr_buf_addstr(b, v);
                else if (interp(c, arg, argl, b, depth + 1, err) < 0)
                    return -1;
            } else if (kind == '+') {
                if (set && interp(c, arg, argl, b, depth + 1, err) < 0)
                    return -1;
            } else {
                if (!set) {
                    nr_buf m = {0};
                    if (interp(c, arg, argl, &m, depth + 1, err) < 0)
                        return -1;
                    nr_buf_add(&m, "", 1);
                    cleanup_free char *e = nr_escape_controls(m.data);
                    nr_buf_free(&m);
                    return nr_err_set(err, "required variable %s is %s: %s", name, v ? "empty" : "missing",
                                      *e ? e : "(no message)");
                }
                nr_buf_addstr(b, v);
            }
        } else {
            int sl = (int)shown_len(name, nl);
            return nr_err_set(err, "invalid interpolation in ${%.*s...}: expected ${%.*s}, ${%.*s:-default}, ${%.*s?error}...",
                              sl, name, sl, name, sl, name, sl, name);
        }
        i = j;
    }
    if (b->len > c->room)
        return nr_err_set(err, "more than %d MiB of values (aliases and ${} expanded): refused", BYTES_MAX >> 20);
    return 0;
}

void cmp_warn_unset(cmp_ctx *c, const char *name)
{
    if (json_object_get(c->warned, name))
        return;
    json_object_set_new(c->warned, name, json_true());
    cleanup_free char *e = nr_escape_controls(name);
    fprintf(stderr, "nrun compose: warning: the \"%s\" variable is not set, defaulting to a blank string\n", e);
}

/* ---- YAML to JSON ---- */

typedef struct frame {
    json_t *node;
    bool map;
    char *key; /* a mapping's key waiting for its value */
    yaml_mark_t key_mark;
    char *anchor;
    json_t *merges; /* << values, applied at the mapping's end */
    yaml_mark_t start;
} frame;

typedef struct loader {
    cmp_ctx *c;
    const char *path;
    json_t *anchors; /* name -> node */
    frame st[DEPTH_MAX + 1];
    int depth;
    long nodes;
    size_t bytes; /* of keys and strings, aliases and ${} expanded (BYTES_MAX) */
    json_t *root;
} loader;

static int at(loader *l, yaml_mark_t m, nr_err *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int at(loader *l, yaml_mark_t m, nr_err *err, const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nr_err_set(err, "%s:%zu:%zu: %s", l->path, m.line + 1, m.column + 1, msg);
}

static long count_nodes(const json_t *j)
{
    long n = 1;
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_object(j))
        json_object_foreach((json_t *)j, k, v) n += count_nodes(v);
    else if (json_is_array(j))
        json_array_foreach(j, i, v) n += count_nodes(v);
    return n;
}

/* bytes of the keys and strings of j */
static size_t count_bytes(const json_t *j)
{
    size_t n = json_is_string(j) ? json_string_length(j) : 0;
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_object(j))
        json_object_foreach((json_t *)j, k, v) n += strlen(k) + count_bytes(v);
    else if (json_is_array(j))
        json_array_foreach(j, i, v) n += count_bytes(v);
    return n;
}

static bool is_int(const char *s)
{
    const char *p = s + (*s == '-' || *s == '+');
    return *p && strspn(p, "0123456789") == strlen(p) && strlen(p) < 18;
}

static bool is_float(const char *s)
{
    char *end;
    if (!*s || !strpbrk(s, "0123456789"))
        return false;
    errno = 0;
    strtod(s, &end);
    return !*end && !errno && !strpbrk(s, "xXnNiI");
}

/* A plain scalar's type, as YAML 1.2's core schema reads it (as compose does:
 * "yes" and "on" are strings). */
static json_t *plain_value(const char *s)
{
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (is_int(s))
        return json_integer(strtoll(s, NULL, 10));
    if (is_float(s))
        return json_real(strtod(s, NULL));
    return json_string(s);
}

/* Put a finished node into its parent (or make it the root). */
static int place(loader *l, json_t *node, yaml_mark_t m, const char *anchor, nr_err *err)
{
    if (anchor) {
        long n = count_nodes(node);
        (void)n;
        json_object_set(l->anchors, anchor, node);
    }
    if (l->depth == 0) {
        if (l->root) {
            json_decref(node);
            return at(l, m, err, "more than one YAML document");
        }
        l->root = node;
        return 0;
    }
    frame *f = &l->st[l->depth - 1];
    if (!f->map) {
        json_array_append_new(f->node, node);
        return 0;
    }
    if (!f->key) {
        if (!json_is_string(node) && !json_is_integer(node) && !json_is_real(node) && !json_is_boolean(node)) {
            json_decref(node);
            return at(l, m, err, "a mapping key must be a scalar");
        }
        if (json_is_string(node))
            f->key = nr_xstrdup(json_string_value(node));
        else if (json_is_integer(node))
            f->key = nr_xasprintf("%lld", (long long)json_integer_value(node));
        else if (json_is_real(node))
            f->key = nr_xasprintf("%g", json_real_value(node));
        else
            f->key = nr_xstrdup(json_is_true(node) ? "true" : "false");
        f->key_mark = m;
        json_decref(node);
        /* A top-level key is a word (services, name, x-...), and a later error shows it:
         * anything else is refused here without being shown, since a compose file that
         * is a link to /etc/shadow has root's "root:$y$...:::" line as its key. */
        size_t kl = strlen(f->key);
        if (l->depth == 1 && strncmp(f->key, "x-", 2) &&
            (kl == 0 || kl > 64 || strspn(f->key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != kl))
            return at(l, m, err, "not a compose file: a top-level key is a word (services, networks, volumes, name, "
                                 "x-...), this one is not (not shown)");
        return 0;
    }
    cleanup_free char *key = f->key;
    f->key = NULL;
    if (!strcmp(key, "<<")) {
        if (!f->merges)
            f->merges = json_array();
        if (json_is_array(node)) {
            size_t i;
            json_t *v;
            json_array_foreach(node, i, v) json_array_append(f->merges, v);
            json_decref(node);
        } else {
            json_array_append_new(f->merges, node);
        }
        return 0;
    }
    if (json_object_get(f->node, key)) {
        json_decref(node);
        cleanup_free char *e = nr_escape_controls(key);
        return at(l, f->key_mark, err, "mapping key \"%s\" already defined", e);
    }
    json_object_set_new(f->node, key, node);
    return 0;
}

static int on_scalar(loader *l, yaml_event_t *ev, nr_err *err)
{
    const char *raw = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(raw, 0, len))
        return at(l, ev->start_mark, err, "a NUL character in a scalar");
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool is_key = l->depth > 0 && l->st[l->depth - 1].map && !l->st[l->depth - 1].key;
    json_t *node;
    size_t grew = len;
    if (is_key) {
        node = json_string(raw);
    } else {
        nr_buf b = {0};
        l->c->room = BYTES_MAX - l->bytes;
        if (interp(l->c, raw, len, &b, 0, err) < 0) {
            nr_buf_free(&b);
            return nr_err_wrap(err, "%s:%zu:%zu", l->path, ev->start_mark.line + 1, ev->start_mark.column + 1);
        }
        nr_buf_add(&b, "", 1);
        grew = b.len - 1;
        bool changed = strlen(b.data) != len || memcmp(b.data, raw, len);
        node = plain && !tag && !changed ? plain_value(b.data) : json_string(b.data);
        nr_buf_free(&b);
    }
    if (!node)
        return at(l, ev->start_mark, err, "a scalar that is not valid UTF-8");
    if ((l->bytes += grew) > BYTES_MAX) {
        json_decref(node);
        return at(l, ev->start_mark, err, "more than %d MiB of values (aliases and ${} expanded): refused",
                  BYTES_MAX >> 20);
    }
    if (++l->nodes > NODES_MAX)
        return at(l, ev->start_mark, err, "more than %d nodes (aliases expanded): refused", NODES_MAX);
    return place(l, node, ev->start_mark, (const char *)ev->data.scalar.anchor, err);
}

static int on_start(loader *l, yaml_event_t *ev, bool map, nr_err *err)
{
    if (l->depth >= DEPTH_MAX)
        return at(l, ev->start_mark, err, "nested more than %d levels deep: refused", DEPTH_MAX);
    if (l->depth > 0 && l->st[l->depth - 1].map && !l->st[l->depth - 1].key)
        return at(l, ev->start_mark, err, "a mapping key must be a scalar");
    if (++l->nodes > NODES_MAX)
        return at(l, ev->start_mark, err, "more than %d nodes (aliases expanded): refused", NODES_MAX);
    frame *f = &l->st[l->depth++];
    memset(f, 0, sizeof *f);
    f->map = map;
    f->start = ev->start_mark;
    f->node = map ? json_object() : json_array();
    const char *anchor = map ? (const char *)ev->data.mapping_start.anchor : (const char *)ev->data.sequence_start.anchor;
    f->anchor = anchor ? nr_xstrdup(anchor) : NULL;
    return 0;
}

static int on_end(loader *l, yaml_event_t *ev, nr_err *err)
{
    frame f = l->st[--l->depth];
    if (f.merges) {
        size_t i;
        json_t *m;
        json_array_foreach(f.merges, i, m) {
            if (!json_is_object(m)) {
                json_decref(f.merges);
                json_decref(f.node);
                free(f.anchor);
                return at(l, ev->start_mark, err, "<< merges a mapping (or a list of them)");
            }
            const char *k;
            json_t *v;
            json_object_foreach(m, k, v) if (!json_object_get(f.node, k)) json_object_set_new(f.node, k, json_deep_copy(v));
        }
        json_decref(f.merges);
    }
    int r = place(l, f.node, f.start, f.anchor, err);
    free(f.anchor);
    return r;
}

static int on_alias(loader *l, yaml_event_t *ev, nr_err *err)
{
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *target = json_object_get(l->anchors, name);
    if (!target) {
        cleanup_free char *e = nr_escape_controls(name);
        return at(l, ev->start_mark, err, "unknown anchor *%s", e);
    }
    /* an alias counts as what it expands to: 9 levels of 10 aliases would be 10^9 nodes */
    l->nodes += count_nodes(target);
    if (l->nodes > NODES_MAX)
        return at(l, ev->start_mark, err, "more than %d nodes (aliases expanded): refused", NODES_MAX);
    if ((l->bytes += count_bytes(target)) > BYTES_MAX)
        return at(l, ev->start_mark, err, "more than %d MiB of values (aliases and ${} expanded): refused",
                  BYTES_MAX >> 20);
    bool is_key = l->depth > 0 && l->st[l->depth - 1].map && !l->st[l->depth - 1].key;
    if (is_key && !json_is_string(target))
        return at(l, ev->start_mark, err, "a mapping key must be a scalar");
    return place(l, json_deep_copy(target), ev->start_mark, NULL, err);
}

/* One compose file as JSON (a new reference), or NULL with err. */
json_t *cmp_yaml_load(cmp_ctx *c, const char *path, nr_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (++c->loads > LOADS_MAX || c->loaded > PROJECT_BYTES_MAX) {
        if (c->loads > LOADS_MAX)
            nr_err_set(err, "%s: more than %d compose files read (include, extends; each read counts): refused", path,
                       LOADS_MAX);
        else
            nr_err_set(err, "%s: more than %d MiB of compose files read (include, extends; each read counts): refused",
                       path, PROJECT_BYTES_MAX >> 20);
        return NULL;
    }
    if (nr_read_user_file(AT_FDCWD, path, "compose file", FILE_MAX, &text, &len, err) < 0)
        return NULL;
    c->loaded += len;
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    loader l = {.c = c, .path = path, .anchors = json_object()};
    int r = 0;
    bool done = false;
    while (!done && r == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            r = nr_err_set(err, "%s:%zu:%zu: %s%s%s", path, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                           parser.problem ? parser.problem : "YAML error", parser.context ? " " : "",
                           parser.context ? parser.context : "");
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_SCALAR_EVENT: r = on_scalar(&l, &ev, err); break;
        case YAML_SEQUENCE_START_EVENT: r = on_start(&l, &ev, false, err); break;
        case YAML_MAPPING_START_EVENT: r = on_start(&l, &ev, true, err); break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: r = on_end(&l, &ev, err); break;
        case YAML_ALIAS_EVENT: r = on_alias(&l, &ev, err); break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    free(text);
    while (l.depth > 0) {
        frame *f = &l.st[--l.depth];
        json_decref(f->node);
        json_decref(f->merges);
        free(f->key);
        free(f->anchor);
    }
    json_decref(l.anchors);
    c->loaded += l.bytes;
    if (r < 0) {
        json_decref(l.root);
        return NULL;
    }
    if (!l.root || json_is_null(l.root)) {
        json_decref(l.root);
        nr_err_set(err, "%s: empty compose file", path);
        return NULL;
    }
    if (!json_is_object(l.root)) {
        json_decref(l.root);
        nr_err_set(err, "%s:1:1: a compose file is a mapping (services:, networks:, ...)", path);
        return NULL;
    }
    return l.root;
}

/* ---- YAML out (config) ---- */

static bool needs_quotes(const char *s)
{
    /* what YAML 1.1 readers take for a boolean too ("no", "on"), and a leading indicator */
    static const char *const words[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
                                        "off", "Off", "OFF", NULL};
    for (const char *const *w = words; *w; w++)
        if (!strcmp(s, *w))
            return true;
    json_t *t = plain_value(s);
    bool q = !json_is_string(t);
    json_decref(t);
    return q || !*s || strchr("0123456789.+-", s[0]);
}

static int emit(yaml_emitter_t *em, const json_t *j)
{
    yaml_event_t ev;
    if (json_is_object(j)) {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return -1;
        /* sorted keys: the same model prints the same text */
        const char *k;
        json_t *v;
        size_t n = json_object_size(j), i = 0;
        const char **keys = nr_xcalloc(n ? n : 1, sizeof *keys);
        json_object_foreach((json_t *)j, k, v) keys[i++] = k;
        qsort(keys, n, sizeof *keys, (int (*)(const void *, const void *))cmp_strcmpp);
        for (i = 0; i < n; i++) {
            json_t *key = json_string(keys[i]);
            int r = emit(em, key);
            json_decref(key);
            if (r < 0 || emit(em, json_object_get(j, keys[i])) < 0) {
                free(keys);
                return -1;
            }
        }
        free(keys);
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev) ? 0 : -1;
    }
    if (json_is_array(j)) {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return -1;
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (emit(em, v) < 0) return -1;
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev) ? 0 : -1;
    }
    char buf[64];
    const char *s;
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
    cleanup_free char *esc = NULL;
    if (json_is_string(j)) {
        s = json_string_value(j);
        /* $ as $$: the text printed is a compose file that reads back the same */
        if (strchr(s, '$')) {
            nr_buf b = {0};
            for (const char *c = s; *c; c++)
                nr_buf_add(&b, *c == '$' ? "$$" : c, *c == '$' ? 2 : 1);
            nr_buf_add(&b, "", 1);
            s = esc = b.data;
        }
        if (needs_quotes(s))
            style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        else
            style = YAML_ANY_SCALAR_STYLE;
    } else if (json_is_integer(j)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(j));
        s = buf;
    } else if (json_is_real(j)) {
        snprintf(buf, sizeof buf, "%g", json_real_value(j));
        s = buf;
    } else if (json_is_boolean(j)) {
        s = json_is_true(j) ? "true" : "false";
    } else {
        s = "null";
    }
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style);
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int out_write(void *data, unsigned char *buffer, size_t size)
{
    nr_buf_add(data, buffer, size);
    return 1;
}

char *cmp_yaml_dump(const json_t *model, nr_err *err)
{
    yaml_emitter_t em;
    yaml_emitter_initialize(&em);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    nr_buf b = {0};
    yaml_emitter_set_output(&em, out_write, &b);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    int ok = yaml_emitter_emit(&em, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    ok = ok && emit(&em, model) == 0;
    yaml_document_end_event_initialize(&ev, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_stream_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_emitter_delete(&em);
    if (!ok) {
        nr_buf_free(&b);
        nr_err_set(err, "writing YAML failed");
        return NULL;
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

int cmp_strcmpp(const char **a, const char **b)
{
    return strcmp(*a, *b);
}

long long cmp_duration_ms(const char *s)
{
    /* Go's durations as compose writes them: 1h2m3s, 1.5s, 300ms, 10us; a bare number is seconds */
    if (!s || !*s)
        return -1;
    if (is_int(s) && *s != '-')
        return strtoll(s, NULL, 10) * 1000;
    double total = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || v < 0)
            return -1;
        p = end;
        double mul;
        if (!strncmp(p, "ms", 2))
            mul = 1, p += 2;
        else if (!strncmp(p, "us", 2))
            mul = 0.001, p += 2;
        else if (*p == 'h')
            mul = 3600000, p++;
        else if (*p == 'm')
            mul = 60000, p++;
        else if (*p == 's')
            mul = 1000, p++;
        else
            return -1;
        total += v * mul;
        if (total > 86400000.0 * 24)
            return -1;
    }
    return (long long)total;
}
