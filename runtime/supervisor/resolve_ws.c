/* npm workspaces (`npm start -w NAME`): NAME is a workspace's package name
 * or its path, relative to the app; the workspaces are the directories the
 * root package.json's "workspaces" patterns name.  Everything is read
 * beneath the app's directory (no `..`, absolute path or symlink leads out
 * of it); a workspace that cannot be found that way is not resolved. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/supervisor/resolve_int.h"
#include "runtime/supervisor/sv_internal.h"

#define MAX_WORKSPACES 256 /* directories the workspace patterns may name */
#define MAX_PATTERNS 64


/* "./a//b/" -> "a/b"; NULL for an absolute path, one with a `..` or the app itself. */
static char *ws_norm(const char *p)
{
    if (p[0] == '/')
        return NULL;
    nr_buf b = {0};
    for (const char *q = p; *q;) {
        const char *e = strchrnul(q, '/');
        size_t l = (size_t)(e - q);
        if (l == 2 && q[0] == '.' && q[1] == '.') {
            nr_buf_free(&b);
            return NULL;
        }
        if (l && !(l == 1 && q[0] == '.')) {
            if (b.len)
                nr_buf_addstr(&b, "/");
            nr_buf_add(&b, q, l);
        }
        q = *e ? e + 1 : e;
    }
    if (!b.len || b.len > 1024) {
        nr_buf_free(&b);
        return NULL;
    }
    nr_buf_add(&b, "", 1);
    return b.data;
}

/* The "workspaces" patterns of the root package.json, normalized. */
static int ws_patterns(rs *r, json_t *root, const char *pkg, vec *out)
{
    json_t *ws = json_object_get(root, "workspaces");
    if (json_is_object(ws))
        ws = json_object_get(ws, "packages");
    if (!json_is_array(ws))
        return rs_fail(r, "%s has no \"workspaces\" list", pkg);
    if (json_array_size(ws) > MAX_PATTERNS)
        return rs_fail(r, "%s: more than %d workspaces patterns", pkg, MAX_PATTERNS);
    size_t i;
    json_t *v;
    json_array_foreach(ws, i, v) {
        const char *p = json_string_value(v);
        char *n = p && p[0] != '!' ? ws_norm(p) : NULL;
        if (!n)
            return rs_fail(r, "%s: workspaces[%zu] is not a path inside the app", pkg, i);
        if (strstr(n, "**")) {
            free(n);
            return rs_fail(r, "%s: workspaces[%zu] uses **", pkg, i);
        }
        rs_vec_push(out, n);
        free(n);
    }
    return 0;
}

/* The directories pattern `rest` names under `prefix` (relative to the app), into `out`. */
static void ws_expand(rs *r, const char *prefix, const char *rest, vec *out, int *budget)
{
    const char *e = strchrnul(rest, '/');
    cleanup_free char *seg = nr_xasprintf("%.*s", (int)(e - rest), rest);
    const char *next = *e ? e + 1 : NULL;
    if (!strpbrk(seg, "*?[")) {
        cleanup_free char *d = *prefix ? nr_xasprintf("%s/%s", prefix, seg) : nr_xstrdup(seg);
        if (next)
            ws_expand(r, d, next, out, budget);
        else if (out->n < MAX_WORKSPACES)
            rs_vec_push(out, d);
        return;
    }
    int fd = rs_open_beneath(r, r->cwd, *prefix ? prefix : ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dir)) && --*budget > 0 && out->n < MAX_WORKSPACES) {
        /* as npm's globbing: no dot directories unless asked for */
        if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
            fnmatch(seg, de->d_name, FNM_PERIOD) != 0)
            continue;
        cleanup_free char *d = *prefix ? nr_xasprintf("%s/%s", prefix, de->d_name) : nr_xstrdup(de->d_name);
        if (next)
            ws_expand(r, d, next, out, budget);
        else
            rs_vec_push(out, d);
    }
    closedir(dir);
}

/* The package.json of workspace `dir` (relative to the app), parsed; NULL with r->why set. */
json_t *rs_ws_package(rs *r, const char *dir, char **shown)
{
    cleanup_free char *rel = nr_xasprintf("%s/package.json", dir);
    *shown = rs_abs_path(r, rel);
    cleanup_free char *text = NULL;
    size_t len;
    bool missing;
    if (rs_read_file_in(r, r->cwd, rel, *shown, PKG_MAX, &text, &len, &missing) < 0)
        return NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        rs_fail(r, "%s:%d:%d: not valid JSON", *shown, jerr.line, jerr.column);
    else if (!json_is_object(root)) {
        json_decref(root);
        root = NULL;
        rs_fail(r, "%s: not a JSON object", *shown);
    }
    return root;
}

/* Find workspace `name` of the app whose package.json is `root`: its
 * directory relative to the app, or NULL with r->why set. */
char *rs_ws_find(rs *r, json_t *root, const char *pkg, const char *name)
{
    vec pats = {0}, dirs = {0};
    char *found = NULL;
    int nfound = 0;
    if (ws_patterns(r, root, pkg, &pats) < 0)
        goto out;
    int budget = 10000;
    for (size_t i = 0; i < pats.n; i++)
        ws_expand(r, "", pats.v[i], &dirs, &budget);
    /* by package name first, as npm does */
    for (size_t i = 0; i < dirs.n; i++) {
        cleanup_free char *shown = NULL;
        json_t *p = rs_ws_package(r, dirs.v[i], &shown);
        const char *n = p ? json_string_value(json_object_get(p, "name")) : NULL;
        if (n && !strcmp(n, name) && nfound++ == 0)
            found = nr_xstrdup(dirs.v[i]);
        if (p)
            json_decref(p);
    }
    if (nfound == 0) {
        /* then by path: one the patterns name */
        cleanup_free char *n = ws_norm(name);
        for (size_t i = 0; n && i < pats.n && !found; i++)
            if (fnmatch(pats.v[i], n, FNM_PATHNAME | FNM_PERIOD) == 0)
                found = nr_xstrdup(n), nfound = 1;
    }
    if (nfound > 1) {
        free(found);
        found = NULL;
        rs_fail(r, "%s: more than one workspace is named \"%.64s\"", pkg, name);
    } else if (!found)
        rs_fail(r, "%s: no workspace \"%.64s\" inside the app", pkg, name);
out:
    rs_vec_free(&pats);
    rs_vec_free(&dirs);
    return found;
}

