/* --format for the listing commands (ps, images, stats, inspect): docker's
 * words -- "table" (the default columns), "json" (one object a line), a Go
 * template's {{.Field}} / {{json .Field}} placeholders, "table TEMPLATE"
 * (the same with a header row) -- and columns as wide as their widest cell.
 * And how their --filter options combine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"

int nr_format_parse(nr_global *g, const char *cmd, const char *arg, nr_format *f)
{
    memset(f, 0, sizeof *f);
    if (!arg || !strcmp(arg, "table")) {
        f->kind = NR_FMT_TABLE;
    } else if (!strcmp(arg, "json") || !strcmp(arg, "{{json .}}")) {
        f->kind = NR_FMT_JSON;
    } else if (!strncmp(arg, "table ", 6)) {
        f->kind = NR_FMT_TABLE;
        f->tmpl = arg + 6;
    } else if (strstr(arg, "{{")) {
        f->kind = NR_FMT_TEMPLATE;
        f->tmpl = arg;
    } else {
        return nr_usage_error(g, "%s: --format %s: table, json, or a template like '{{.Names}}'", cmd, arg);
    }
    /* every placeholder must be closed and name a field: {{.Field}} or {{json .Field}} */
    for (const char *p = f->tmpl; p && (p = strstr(p, "{{"));) {
        const char *end = strstr(p, "}}");
        if (!end)
            return nr_usage_error(g, "%s: --format: unclosed {{ in \"%s\"", cmd, f->tmpl);
        const char *q = p + 2;
        q += strspn(q, " ");
        if (!strncmp(q, "json ", 5))
            q += 5 + strspn(q + 5, " ");
        if (*q != '.')
            return nr_usage_error(g, "%s: --format: \"%.*s\": only {{.Field}} and {{json .Field}} are supported", cmd,
                                  (int)(end + 2 - p), p);
        p = end + 2;
    }
    return 0;
}

/* Text between placeholders, with "\t" and "\n" typed literally in a shell
 * argument meaning the characters, as docker reads them: in the header as in
 * the rows, after the last placeholder as before the first. */
static void add_literal(nr_buf *b, const char *p, size_t n)
{
    for (const char *t = p; t < p + n; t++) {
        if (t[0] == '\\' && t + 1 < p + n && (t[1] == 't' || t[1] == 'n')) {
            nr_buf_add(b, t[1] == 't' ? "\t" : "\n", 1);
            t++;
        } else {
            nr_buf_add(b, t, 1);
        }
    }
}

/* The value of {{.Key}} / {{json .Key}} from row (fields by name); a missing
 * one is "<no value>", as Go's templates print it. */
char *nr_format_render(const char *tmpl, const json_t *row)
{
    nr_buf b = {0};
    for (const char *p = tmpl; *p;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            add_literal(&b, p, strlen(p));
            break;
        }
        add_literal(&b, p, (size_t)(open - p));
        const char *end = strstr(open, "}}");
        const char *q = open + 2;
        q += strspn(q, " ");
        bool as_json = !strncmp(q, "json ", 5);
        if (as_json)
            q += 5 + strspn(q + 5, " ");
        q++; /* the '.' */
        size_t klen = strcspn(q, " }");
        cleanup_free char *key = nr_xstrndup(q, klen);
        /* {{.State.Status}}: a path through nested objects; {{.}} the row itself */
        const json_t *v = klen ? row : row;
        for (char *save = NULL, *part = strtok_r(key, ".", &save); v && part; part = strtok_r(NULL, ".", &save))
            v = json_object_get(v, part);
        if (!klen)
            as_json = true;
        if (as_json || (v && !json_is_string(v))) {
            char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            const char *out = s ? s : "null";
            nr_buf_add(&b, out, strlen(out));
            free(s);
        } else {
            const char *s = v ? json_string_value(v) : "<no value>";
            nr_buf_add(&b, s, strlen(s));
        }
        p = end + 2;
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

/* Columns count characters, not bytes (a UTF-8 name, the ellipsis). */
static size_t width_of(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w;
}

void nr_table_print(char **lines, size_t n, FILE *f)
{
    /* cells are separated by tabs, padded to the widest cell + 3 spaces */
    size_t widths[32] = {0};
    for (size_t r = 0; r < n; r++) {
        size_t c = 0;
        for (const char *p = lines[r]; c < 32; c++) {
            size_t len = strcspn(p, "\t");
            if (width_of(p, len) > widths[c])
                widths[c] = width_of(p, len);
            if (!p[len])
                break;
            p += len + 1;
        }
    }
    for (size_t r = 0; r < n; r++) {
        size_t c = 0;
        for (const char *p = lines[r];; c++) {
            size_t len = strcspn(p, "\t");
            fwrite(p, 1, len, f);
            if (!p[len])
                break;
            fprintf(f, "%*s", (int)(c < 32 ? widths[c] - width_of(p, len) + 3 : 1), "");
            p += len + 1;
        }
        fputc('\n', f);
    }
}

/* "{{.Names}}\t{{.Status}}" -> "NAMES\tSTATUS" with docker's header words. */
char *nr_format_header(const char *tmpl, const char *const *names)
{
    nr_buf b = {0};
    for (const char *p = tmpl; *p;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            add_literal(&b, p, strlen(p));
            break;
        }
        add_literal(&b, p, (size_t)(open - p));
        const char *end = strstr(open, "}}");
        const char *q = strchr(open, '.') + 1;
        size_t klen = strcspn(q, " }");
        const char *head = NULL;
        for (size_t i = 0; names && names[i]; i += 2)
            if (strlen(names[i]) == klen && !strncmp(names[i], q, klen))
                head = names[i + 1];
        if (head) {
            nr_buf_add(&b, head, strlen(head));
        } else {
            for (size_t i = 0; i < klen; i++) {
                char c = (char)(q[i] >= 'a' && q[i] <= 'z' ? q[i] - 32 : q[i]);
                nr_buf_add(&b, &c, 1);
            }
        }
        p = end + 2;
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

bool nr_filters_match(const nr_filter *fs, size_t n, bool (*one)(const nr_filter *f, void *ctx), void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(fs[i].key, "label")) {
            if (!one(&fs[i], ctx))
                return false;
            continue;
        }
        bool seen = false, any = false;
        for (size_t k = 0; k < i; k++)
            seen |= !strcmp(fs[k].key, fs[i].key);
        if (seen)
            continue; /* judged with the first of its key */
        for (size_t k = i; k < n; k++)
            if (!strcmp(fs[k].key, fs[i].key))
                any |= one(&fs[k], ctx);
        if (!any)
            return false;
    }
    return true;
}
