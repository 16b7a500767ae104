/* sv_shell_split: the words of a command line that is a single simple
 * command, as POSIX sh would split it -- or NULL when sh would do more
 * than split it (run two commands, pipe, redirect, expand a variable, a
 * command substitution, a glob or a `~`).  The supervisor uses it to see
 * through `sh -c "node server.js"` and package.json scripts: anything it
 * cannot split exactly runs through the real shell instead (single mode). */
#include <stdlib.h>
#include <string.h>

#include "runtime/supervisor/sv_internal.h"

typedef struct words {
    char **v;
    bool *assign;
    size_t n, cap;
} words;

static void words_push(words *w, nr_buf *b, bool assign)
{
    if (w->n + 2 > w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->v = nr_xrealloc(w->v, w->cap * sizeof *w->v);
        w->assign = nr_xrealloc(w->assign, w->cap * sizeof *w->assign);
    }
    nr_buf_add(b, "", 1);
    w->assign[w->n] = assign;
    w->v[w->n++] = b->data;
    w->v[w->n] = NULL;
    *b = (nr_buf){0};
}

static void words_free(words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    free(w->assign);
}

static bool name_char(char c, bool first)
{
    return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (!first && '0' <= c && c <= '9');
}

/* What an unquoted special character starts, for the reason shown to the user. */
static const char *special(const char *p)
{
    switch (*p) {
    case '&':
        return p[1] == '&' ? "'&&'" : "'&'";
    case '|':
        return p[1] == '|' ? "'||'" : "a pipe '|'";
    case ';':
        return "';'";
    case '<':
    case '>':
        return "a redirection";
    case '(':
    case ')':
        return "a subshell '('";
    case '$':
        return "a '$' expansion";
    case '`':
        return "a '`' command substitution";
    case '*':
    case '?':
    case '[':
        return "a glob pattern";
    }
    return NULL;
}

char **sv_shell_split(const char *line, bool **assigns, const char **why)
{
    words w = {0};
    nr_buf b = {0};
    bool in_word = false, plain_prefix = true, assign = false;
    size_t len = strlen(line);
    while (len && strchr(" \t\r\n", line[len - 1]))
        len--;
    *why = NULL;
    for (size_t i = 0; i < len && !*why; i++) {
        char c = line[i];
        if (c == ' ' || c == '\t') {
            if (in_word)
                words_push(&w, &b, assign);
            in_word = false, plain_prefix = true, assign = false;
            continue;
        }
        if (c == '\n' || c == '\r') {
            *why = "more than one line";
            break;
        }
        if (!in_word && (c == '#' || c == '~')) {
            *why = c == '#' ? "a comment" : "a '~' expansion";
            break;
        }
        if ((*why = special(line + i)))
            break;
        in_word = true;
        if (c == '\'') {
            const char *end = memchr(line + i + 1, '\'', len - i - 1);
            if (!end) {
                *why = "an unterminated quote";
                break;
            }
            nr_buf_add(&b, line + i + 1, (size_t)(end - line - i - 1));
            i = (size_t)(end - line);
            plain_prefix = false;
        } else if (c == '"') {
            plain_prefix = false;
            size_t j = i + 1;
            for (; j < len && line[j] != '"'; j++) {
                if (line[j] == '$' || line[j] == '`') {
                    *why = special(line + j);
                    break;
                }
                if (line[j] == '\\' && j + 1 < len && strchr("$`\"\\", line[j + 1]))
                    j++;
                else if (line[j] == '\\' && j + 1 < len && line[j + 1] == '\n') {
                    *why = "a line continuation";
                    break;
                }
                nr_buf_add(&b, line + j, 1);
            }
            if (!*why && j >= len)
                *why = "an unterminated quote";
            i = j;
        } else if (c == '\\') {
            if (i + 1 >= len || line[i + 1] == '\n') {
                *why = "a line continuation";
                break;
            }
            nr_buf_add(&b, line + ++i, 1);
            plain_prefix = false;
        } else {
            /* NAME=value: an assignment when NAME is unquoted and valid */
            if (c == '=' && plain_prefix && !assign && b.len > 0) {
                assign = true;
                for (size_t k = 0; k < b.len; k++)
                    assign = assign && name_char(b.data[k], k == 0);
            }
            if (c != '=' && !name_char(c, b.len == 0) && !assign)
                plain_prefix = false;
            nr_buf_add(&b, &c, 1);
        }
    }
    if (!*why && in_word)
        words_push(&w, &b, assign);
    if (!*why && w.n == 0)
        *why = "no command";
    if (*why) {
        nr_buf_free(&b);
        words_free(&w);
        *assigns = NULL;
        return NULL;
    }
    *assigns = w.assign;
    return w.v;
}
