/* Nodefile parser (see parse.h).  Two passes over the text: lines.c joins
 * physical lines into logical lines with a byte -> (line, col) map, then
 * each logical line is split here (bld_instr_parse) into keyword, flags and
 * arguments and checked. */
#include "builder/parse.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/parse_int.h"
#include "common/util.h"

static const struct {
    const char *name;
    bld_kind kind;
    bool json_ok;          /* accepts the exec (JSON) form */
    bool raw;              /* shell form is one raw string, not words */
    const char *flags;     /* allowed --flags, space separated; NULL: none parsed */
} kinds[] = {
    {"FROM", BLD_FROM, false, false, "platform"},
    {"ARG", BLD_ARG, false, false, NULL},
    {"ENV", BLD_ENV, false, false, NULL},
    {"LABEL", BLD_LABEL, false, false, NULL},
    {"WORKDIR", BLD_WORKDIR, false, true, NULL},
    {"COPY", BLD_COPY, true, false, "chown chmod from link exclude parents"},
    {"ADD", BLD_ADD, true, false, "chown chmod link checksum keep-git-dir exclude"},
    {"USER", BLD_USER, false, false, NULL},
    {"EXPOSE", BLD_EXPOSE, false, false, NULL},
    {"CMD", BLD_CMD, true, true, NULL},
    {"ENTRYPOINT", BLD_ENTRYPOINT, true, true, NULL},
    {"VOLUME", BLD_VOLUME, true, false, NULL},
    {"STOPSIGNAL", BLD_STOPSIGNAL, false, false, NULL},
    {"HEALTHCHECK", BLD_HEALTHCHECK, false, false, "interval timeout start-period start-interval retries"},
    {"SHELL", BLD_SHELL, true, true, NULL},
    {"RUN", BLD_RUN, true, true, "mount network security"},
    {"MAINTAINER", BLD_MAINTAINER, false, true, NULL},
    {"ONBUILD", BLD_ONBUILD, false, true, NULL},
};

void bld_instr_pos(const bld_instr *in, size_t off, int *line, int *col)
{
    if (in->len == 0) {
        *line = 1;
        *col = 1;
        return;
    }
    if (off >= in->len) {
        /* One past the last byte: the column after it. */
        *line = in->lines[in->len - 1];
        *col = in->cols[in->len - 1] + 1;
        return;
    }
    *line = in->lines[off];
    *col = in->cols[off];
}

int bld_errat(nr_err *err, const bld_nodefile *f, const bld_instr *in, size_t off, const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    bld_instr_pos(in, off, &line, &col);
    return nr_err_set(err, "%s:%d:%d: %s", f->path, line, col, msg);
}

char *bld_instr_rest(const bld_instr *in, size_t off)
{
    size_t a = off, b = in->len;
    while (a < b && isspace((unsigned char)in->text[a]))
        a++;
    while (b > a && isspace((unsigned char)in->text[b - 1]))
        b--;
    return nr_xstrndup(in->text + a, b - a);
}

const bld_heredoc *bld_instr_heredoc(const bld_instr *in, size_t off)
{
    for (size_t i = 0; i < in->nheredocs; i++)
        if (in->heredocs[i].off == off)
            return &in->heredocs[i];
    return NULL;
}

const bld_flag *bld_instr_flag(const bld_instr *in, const char *name)
{
    for (size_t i = 0; i < in->nflags; i++)
        if (!strcmp(in->flags[i].name, name))
            return &in->flags[i];
    return NULL;
}

static void words_free(bld_word *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i].s);
    free(w);
}

static void instr_free(bld_instr *in)
{
    free(in->text);
    free(in->lines);
    free(in->cols);
    for (size_t i = 0; i < in->nflags; i++) {
        free(in->flags[i].name);
        free(in->flags[i].value);
    }
    free(in->flags);
    words_free(in->args, in->nargs);
    words_free(in->hc_args, in->hc_nargs);
    free(in->json_note);
    for (size_t i = 0; i < in->nheredocs; i++) {
        free(in->heredocs[i].name);
        free(in->heredocs[i].body);
        free(in->heredocs[i].data);
    }
    free(in->heredocs);
    if (in->trigger) {
        instr_free(in->trigger);
        free(in->trigger);
    }
}

void bld_nodefile_free(bld_nodefile *f)
{
    for (size_t i = 0; i < f->n; i++)
        instr_free(&f->ins[i]);
    free(f->ins);
    free(f->path);
    free(f->syntax);
    memset(f, 0, sizeof *f);
}

static void word_push(bld_word **w, size_t *n, char *s, size_t off)
{
    *w = nr_xrealloc(*w, (*n + 1) * sizeof **w);
    (*w)[*n].s = s;
    (*w)[*n].off = off;
    (*n)++;
}

static size_t skip_ws(const bld_instr *in, size_t i)
{
    while (i < in->len && isspace((unsigned char)in->text[i]))
        i++;
    return i;
}

/* Split text[from..] into words at unquoted whitespace; quotes and escapes
 * are kept (expansion removes them) but group characters into one word. */
static int split_words(const bld_nodefile *f, bld_instr *in, size_t from, bld_word **out, size_t *nout, nr_err *err)
{
    size_t i = skip_ws(in, from);
    while (i < in->len) {
        size_t start = i;
        char q = 0;
        size_t qoff = 0;
        while (i < in->len) {
            char c = in->text[i];
            if (q) {
                if (c == f->escape && q == '"' && i + 1 < in->len)
                    i++;
                else if (c == q)
                    q = 0;
            } else if (c == f->escape && i + 1 < in->len) {
                i++;
            } else if (c == '"' || c == '\'') {
                q = c;
                qoff = i;
            } else if (isspace((unsigned char)c)) {
                break;
            }
            i++;
        }
        if (q)
            return bld_errat(err, f, in, qoff, "%s: unterminated quote %c", in->name, q);
        word_push(out, nout, nr_xstrndup(in->text + start, i - start), start);
        i = skip_ws(in, i);
    }
    return 0;
}

/* An argument that starts with '[' but is no JSON at all, written as if it
 * were one: `[` then `]`, `'`, or a "string" followed by `,`, `]`, another
 * "string" or nothing (a shell test such as `[ "$A" = x ]` is none).  It
 * becomes the shell form, as in BuildKit, and a warning says why
 * (bld_instr.json_note). */
#define JSON_OPEN "no closing ']' on its line"

static bool meant_json(const bld_instr *in, size_t i)
{
    size_t j = skip_ws(in, i + 1);
    if (j >= in->len || in->text[j] == ']' || in->text[j] == '\'')
        return true;
    if (in->text[j] != '"')
        return false;
    for (j++; j < in->len && in->text[j] != '"'; j++)
        if (in->text[j] == '\\')
            j++;
    j = skip_ws(in, j + 1);
    return j >= in->len || strchr(",]\"", in->text[j]);
}

/* The exec form, read as BuildKit reads it (Go's json.Decoder): an argument
 * that starts with a JSON array is that array of strings (anything else in
 * it is an error), and text after the ']' is ignored, so
 * `CMD ["node", "app.js"] # note` is the exec form; one that is not JSON is
 * the shell form as written, so `CMD ["node" "app.js"]` (a comma missing)
 * builds as BuildKit builds it, and `RUN [ -f x ] && y` is a shell test.
 * Returns 1 with the strings in *out, 0 for the shell form, -1 on error. */
static int parse_json(const bld_nodefile *f, bld_instr *in, size_t at, bld_word **out, size_t *nout, nr_err *err)
{
    if (at >= in->len || in->text[at] != '[')
        return 0;
    size_t end = in->len;
    while (end > at && isspace((unsigned char)in->text[end - 1]))
        end--;
    json_error_t je;
    json_t *a = json_loadb(in->text + at, end - at, JSON_DISABLE_EOF_CHECK, &je);
    if (!a || !json_is_array(a)) {
        if (a)
            json_decref(a);
        else if (!in->json_note && meant_json(in, at)) {
            size_t pos = je.position > 0 ? (size_t)je.position - 1 : 0;
            bool open = at + pos + 1 >= end && in->text[end - 1] != ']';
            in->json_note = open ? nr_xstrdup(JSON_OPEN) : nr_xstrdup(je.text);
            in->json_note_off = open || at + pos >= end ? at : at + pos;
        }
        return 0;
    }
    size_t rest = skip_ws(in, at + (size_t)je.position);
    if (rest < end && !in->json_note) {
        in->json_note = nr_xasprintf("%.*s", (int)(end - rest > 60 ? 60 : end - rest), in->text + rest);
        for (char *p = in->json_note; *p; p++) /* shown in a warning */
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        in->json_note_off = rest;
        in->json_ignored = true;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) {
            json_decref(a);
            return bld_errat(err, f, in, at, "%s: JSON array elements must be strings", in->name);
        }
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            json_decref(a);
            return bld_errat(err, f, in, at, "%s: NUL byte in JSON string", in->name);
        }
        word_push(out, nout, nr_xstrdup(json_string_value(v)), at);
    }
    json_decref(a);
    return 1;
}

/* Parse the command part of CMD/ENTRYPOINT/RUN/SHELL/HEALTHCHECK CMD. */
static int parse_cmd(const bld_nodefile *f, bld_instr *in, size_t at, bool json_ok, bool *json, bld_word **w,
                     size_t *n, nr_err *err)
{
    at = skip_ws(in, at);
    int r = json_ok ? parse_json(f, in, at, w, n, err) : 0;
    *json = r > 0;
    if (r != 0)
        return r < 0 ? -1 : 0;
    if (at >= in->len) {
        /* BuildKit takes a bare CMD or ENTRYPOINT: the shell form of an
         * empty command (["/bin/sh", "-c", ""]) */
        if (in->kind == BLD_CMD || in->kind == BLD_ENTRYPOINT) {
            word_push(w, n, nr_xstrdup(""), at);
            return 0;
        }
        return bld_errat(err, f, in, at, "%s requires at least one argument", in->name);
    }
    word_push(w, n, bld_instr_rest(in, at), at);
    return 0;
}

static bool valid_arg_name(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* ENV and LABEL: `K=V K2="x y"` or the old `K value with spaces`.  Stored as
 * pairs: args[2i] = key, args[2i+1] = raw value (expanded later). */
static int parse_name_vals(const bld_nodefile *f, bld_instr *in, nr_err *err)
{
    cleanup_free bld_word *w = NULL;
    size_t n = 0;
    int rc = split_words(f, in, in->rest_off, &w, &n, err);
    if (rc < 0) {
        /* the words split so far are freed below */
    } else if (n == 0) {
        rc = bld_errat(err, f, in, in->rest_off, "%s requires at least one argument", in->name);
    } else if (!strchr(w[0].s, '=')) {
        /* Old form: one key, the rest of the line is the value. */
        if (n < 2)
            rc = bld_errat(err, f, in, w[0].off, "%s %s: missing value (use %s name=value)", in->name, w[0].s,
                           in->name);
        else {
            word_push(&in->args, &in->nargs, nr_xstrdup(w[0].s), w[0].off);
            word_push(&in->args, &in->nargs, bld_instr_rest(in, w[1].off), w[1].off);
        }
    } else {
        for (size_t i = 0; i < n && rc == 0; i++) {
            char *eq = strchr(w[i].s, '=');
            if (!eq)
                rc = bld_errat(err, f, in, w[i].off, "%s: syntax error - can't find = in \"%s\", must be name=value",
                               in->name, w[i].s);
            else if (eq == w[i].s)
                rc = bld_errat(err, f, in, w[i].off, "%s names can not be blank", in->name);
            else {
                word_push(&in->args, &in->nargs, nr_xstrndup(w[i].s, (size_t)(eq - w[i].s)), w[i].off);
                word_push(&in->args, &in->nargs, nr_xstrdup(eq + 1), w[i].off + (size_t)(eq - w[i].s) + 1);
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(w[i].s);
    return rc;
}

static bool flag_allowed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, name, n))
            return true;
        p = e ? e + 1 : p + l;
    }
    return false;
}

static int parse_flags(const bld_nodefile *f, bld_instr *in, size_t *at, const char *allowed, nr_err *err)
{
    size_t i = skip_ws(in, *at);
    while (i + 1 < in->len && in->text[i] == '-' && in->text[i + 1] == '-') {
        size_t s = i + 2, e = s;
        while (e < in->len && !isspace((unsigned char)in->text[e]))
            e++;
        if (e == s) { /* "--" ends the flags */
            i = skip_ws(in, e);
            break;
        }
        const char *eq = memchr(in->text + s, '=', e - s);
        size_t nl = eq ? (size_t)(eq - (in->text + s)) : e - s;
        cleanup_free char *name = nr_xstrndup(in->text + s, nl);
        if (!flag_allowed(allowed, name))
            return bld_errat(err, f, in, i, "%s: unknown flag --%s", in->name, name);
        in->flags = nr_xrealloc(in->flags, (in->nflags + 1) * sizeof *in->flags);
        bld_flag *fl = &in->flags[in->nflags++];
        fl->name = steal_ptr(&name);
        fl->value = eq ? nr_xstrndup(eq + 1, (size_t)(in->text + e - eq - 1)) : NULL;
        fl->off = i;
        i = skip_ws(in, e);
    }
    *at = i;
    return 0;
}

/* ONBUILD INSTRUCTION: the instruction is parsed now, as BuildKit does, so
 * its errors name their place in the file; it runs in the builds that use
 * this image as their base. */
static int parse_trigger(const bld_nodefile *f, bld_instr *in, nr_err *err)
{
    size_t at = skip_ws(in, in->rest_off);
    if (at >= in->len)
        return bld_errat(err, f, in, at, "ONBUILD requires at least one argument");
    if (in->nheredocs)
        return bld_errat(err, f, in, at, "ONBUILD: a heredoc in a trigger is not supported");
    bld_instr *t = nr_xcalloc(1, sizeof *t);
    in->trigger = t;
    t->len = in->len - at;
    t->text = nr_xstrndup(in->text + at, t->len);
    t->lines = nr_xmalloc((t->len + 1) * sizeof *t->lines);
    t->cols = nr_xmalloc((t->len + 1) * sizeof *t->cols);
    memcpy(t->lines, in->lines + at, t->len * sizeof *t->lines);
    memcpy(t->cols, in->cols + at, t->len * sizeof *t->cols);
    if (bld_instr_parse(f, t, err) < 0)
        return -1;
    if (t->kind == BLD_ONBUILD || t->kind == BLD_FROM || t->kind == BLD_MAINTAINER)
        return bld_errat(err, f, in, at, "%s isn't allowed as an ONBUILD trigger", t->name);
    return 0;
}

static int check_instr(const bld_nodefile *f, bld_instr *in, bool json_ok, bool raw, nr_err *err)
{
    size_t at = in->rest_off;
    switch (in->kind) {
    case BLD_ENV:
    case BLD_LABEL:
        return parse_name_vals(f, in, err);
    case BLD_HEALTHCHECK: {
        size_t kw = skip_ws(in, at), kend = kw;
        while (kend < in->len && !isspace((unsigned char)in->text[kend]))
            kend++;
        if (kend - kw == 4 && !strncasecmp(in->text + kw, "NONE", 4)) {
            if (skip_ws(in, kend) < in->len)
                return bld_errat(err, f, in, kend, "HEALTHCHECK NONE takes no arguments");
            if (in->nflags)
                return bld_errat(err, f, in, in->flags[0].off, "HEALTHCHECK NONE takes no flags");
            in->hc_none = true;
            return 0;
        }
        if (kend - kw != 3 || strncasecmp(in->text + kw, "CMD", 3))
            return bld_errat(err, f, in, kw, "HEALTHCHECK: expected CMD or NONE");
        in->hc_off = skip_ws(in, kend);
        return parse_cmd(f, in, kend, true, &in->hc_json, &in->hc_args, &in->hc_nargs, err);
    }
    default:
        break;
    }
    at = skip_ws(in, at);
    if (raw) {
        if (parse_cmd(f, in, at, json_ok, &in->json, &in->args, &in->nargs, err) < 0)
            return -1;
        if (in->kind == BLD_SHELL && !in->json)
            return in->json_note ? bld_errat(err, f, in, in->json_note_off, "SHELL requires the arguments in JSON form "
                                             "(not JSON: %s)", in->json_note)
                                 : bld_errat(err, f, in, at, "SHELL requires the arguments in JSON form");
    } else {
        int r = json_ok ? parse_json(f, in, at, &in->args, &in->nargs, err) : 0;
        if (r < 0)
            return -1;
        in->json = r > 0;
        if (r == 0 && split_words(f, in, at, &in->args, &in->nargs, err) < 0)
            return -1;
    }
    size_t n = in->nargs;
    switch (in->kind) {
    case BLD_FROM:
        if (n == 1)
            return 0;
        if (n == 3 && !strcasecmp(in->args[1].s, "as")) {
            /* BuildKit lowercases a stage name before checking it (and only
             * lints "Builder"): stage names compare case-insensitively */
            char *s = in->args[2].s;
            for (char *p = s; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            bool ok = islower((unsigned char)s[0]);
            for (const char *p = s; ok && *p; p++)
                ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("-_.", *p);
            if (!ok)
                return bld_errat(err, f, in, in->args[2].off, "FROM: invalid stage name \"%s\"", s);
            return 0;
        }
        for (size_t i = 1; i < n; i++) /* `FROM node:22-slim  # note`: as in BuildKit, no comment there */
            if (in->args[i].s[0] == '#')
                return bld_errat(err, f, in, in->args[i].off, "FROM requires either one or three arguments "
                                 "(image [AS name]); '#' starts a comment only at the start of a line");
        return bld_errat(err, f, in, at, "FROM requires either one or three arguments (image [AS name])");
    case BLD_ARG:
        if (n == 0)
            return bld_errat(err, f, in, at, "ARG requires at least one argument");
        for (size_t i = 0; i < n; i++) {
            const char *eq = strchr(in->args[i].s, '=');
            size_t nl = eq ? (size_t)(eq - in->args[i].s) : strlen(in->args[i].s);
            if (!valid_arg_name(in->args[i].s, nl))
                return bld_errat(err, f, in, in->args[i].off, "ARG: invalid name \"%.*s\"", (int)nl, in->args[i].s);
        }
        return 0;
    case BLD_WORKDIR:
    case BLD_MAINTAINER:
        return 0; /* raw: parse_cmd already refused an empty one */
    case BLD_USER:
    case BLD_STOPSIGNAL:
        if (n != 1)
            return bld_errat(err, f, in, at, "%s requires exactly one argument", in->name);
        return 0;
    case BLD_EXPOSE:
    case BLD_VOLUME:
        if (n == 0)
            return bld_errat(err, f, in, at, "%s requires at least one argument", in->name);
        return 0;
    case BLD_COPY:
    case BLD_ADD:
        if (n < 2)
            return bld_errat(err, f, in, at, "%s requires at least two arguments: source... destination", in->name);
        return 0;
    case BLD_ONBUILD:
        return parse_trigger(f, in, err);
    default:
        return 0;
    }
}

int bld_instr_parse(const bld_nodefile *f, bld_instr *in, nr_err *err)
{
    size_t i = skip_ws(in, 0), k = i;
    while (k < in->len && !isspace((unsigned char)in->text[k]))
        k++;
    size_t kl = k - i;
    in->kw_off = i;
    for (size_t t = 0; t < NR_ARRAY_LEN(kinds); t++) {
        if (strlen(kinds[t].name) != kl || strncasecmp(kinds[t].name, in->text + i, kl))
            continue;
        in->kind = kinds[t].kind;
        in->name = kinds[t].name;
        in->rest_off = k;
        if (kinds[t].flags && parse_flags(f, in, &in->rest_off, kinds[t].flags, err) < 0)
            return -1;
        return check_instr(f, in, kinds[t].json_ok, kinds[t].raw, err);
    }
    in->name = "?";
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)(kl < 40 ? kl : 40), in->text + i);
    for (char *p = word; *p; p++)
        if (!isprint((unsigned char)*p))
            *p = '?';
    /* `CMD ["node",` then `"app.js"]` on the next line: BuildKit's error
     * too, but the reason is the line before */
    const bld_instr *prev = f->n >= 2 && in == &f->ins[f->n - 1] ? &f->ins[f->n - 2] : NULL;
    if (prev && prev->json_note && !strcmp(prev->json_note, JSON_OPEN)) {
        int pl, pc;
        bld_instr_pos(prev, prev->json_note_off, &pl, &pc);
        return bld_errat(err, f, in, i, "unknown instruction: %s (line %d's JSON array has no closing ']' on its "
                         "line: a line that goes on ends with '%c')", word, pl, f->escape);
    }
    /* A misspelt instruction is a word of letters, shown; anything else is not: `-f`
     * (or a compose file's dockerfile:) naming /etc/shadow would print root's hash. */
    bool letters = kl > 0;
    for (size_t w = 0; w < kl; w++)
        letters &= isalpha((unsigned char)in->text[i + w]) != 0;
    if (!letters)
        return bld_errat(err, f, in, i, "unknown instruction (the line does not start with a word of letters; "
                                        "not shown)");
    return bld_errat(err, f, in, i, "unknown instruction: %s", word);
}
