/* nrun ps [-a] [-q] [--format json] and nrun inspect CONTAINER (container
 * part; returns 127 when nothing matches so `nrun inspect` tries images). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util.h"
#include "runtime/cli_common.h"
#include "runtime/create.h"
#include "runtime/runtime.h"
#include "runtime/supervisor/sv_cli.h"

static void human_duration(long long s, char *out, size_t len)
{
    if (s < 60)
        snprintf(out, len, "%lld second%s", s, s == 1 ? "" : "s");
    else if (s < 3600)
        snprintf(out, len, "%lld minute%s", s / 60, s / 60 == 1 ? "" : "s");
    else if (s < 86400)
        snprintf(out, len, "%lld hour%s", s / 3600, s / 3600 == 1 ? "" : "s");
    else
        snprintf(out, len, "%lld day%s", s / 86400, s / 86400 == 1 ? "" : "s");
}

static void status_text(const rt_state *st, const char *live, char *out, size_t len)
{
    long long now = time(NULL);
    char d[64];
    if (!strcmp(live, "running")) {
        human_duration(now - st->started, d, sizeof d);
        snprintf(out, len, "Up %s", d);
    } else if (!strcmp(live, "restarting")) {
        human_duration(now - (st->finished ? st->finished : st->started), d, sizeof d);
        snprintf(out, len, "Restarting (%d) %s ago", st->exit_code, d);
    } else if (!strcmp(live, "exited")) {
        bool lost = !strcmp(st->status, "running"); /* init died with nobody to record it */
        human_duration(now - (lost || !st->finished ? st->started : st->finished), d, sizeof d);
        if (lost)
            snprintf(out, len, "Exited (unknown) %s ago", d);
        else
            snprintf(out, len, "Exited (%d)%s %s ago", st->exit_code, st->oom_killed ? " OOMKilled" : "", d);
    } else {
        snprintf(out, len, "Created");
    }
}

static json_t *state_json(const rt_state *st, const char *live)
{
    char created[64], started[64], finished[64];
    nr_rfc3339(st->created, 0, created, sizeof created);
    nr_rfc3339(st->started, 0, started, sizeof started);
    nr_rfc3339(st->finished, 0, finished, sizeof finished);
    bool lost = !strcmp(live, "exited") && !strcmp(st->status, "running");
    return json_pack("{s:s, s:b, s:b, s:i, s:i, s:b, s:s, s:s, s:i}", "Status", live, "Running",
                     !strcmp(live, "running"), "Restarting", !strcmp(live, "restarting"), "Pid", !strcmp(live, "running") ? (int)st->pid : 0, "ExitCode", lost ? -1 : st->exit_code,
                     "OOMKilled", st->oom_killed, "StartedAt", st->started ? started : "", "FinishedAt",
                     st->finished ? finished : "", "RestartCount", st->restart_count);
}

/* What an nrun killed at the wrong moment leaves: a container dir that never
 * got its state (killed while creating it), a .rm-<id> dir half deleted
 * (killed while removing it).  Once a minute old, so that no nrun is still
 * at work on it, the next ps removes them. */
#define LEFTOVER_AGE 60
static bool old_enough(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && time(NULL) - sb.st_mtime > LEFTOVER_AGE;
}

static void stateless_removed(const char *root, const char *id)
{
    cleanup_free char *dir = rt_ctr_dir(root, id);
    cleanup_free char *state = nr_xasprintf("%s/state.json", dir);
    struct stat sb;
    nr_err ign;
    if (stat(state, &sb) < 0 && errno == ENOENT && old_enough(dir))
        rt_container_remove(root, id, &ign);
}

static void leftovers_removed(const char *root)
{
    cleanup_free char *dir = nr_xasprintf("%s/containers", root);
    cleanup_dir DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, ".rm-", 4))
            continue;
        cleanup_free char *p = nr_xasprintf("%s/%s", dir, e->d_name);
        nr_err ign;
        if (old_enough(p))
            rt_ctr_dir_discard(root, p, e->d_name + 4, &ign);
    }
}

/* Columns count characters, not bytes (a UTF-8 name, the ellipsis). */
static size_t display_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* The bytes of the first n characters of s. */
static size_t prefix_bytes(const char *s, size_t n)
{
    size_t i = 0;
    for (size_t c = 0; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && c++ == n)
            break;
    }
    return i;
}

static int newest_first(const void *a, const void *b)
{
    const rt_state *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? 1 : -1;
    if (x->created_ns != y->created_ns)
        return x->created_ns < y->created_ns ? 1 : -1;
    return strcmp(x->id, y->id);
}

int nr_cmd_ps(int argc, char **argv, nr_global *g)
{
    bool all = false, json = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] && argv[i][1] != '-' && strspn(argv[i] + 1, "aq") == strlen(argv[i] + 1)) {
            all |= strchr(argv[i], 'a') != NULL;
            quiet |= strchr(argv[i], 'q') != NULL;
        } else if (!strcmp(argv[i], "--all"))
            all = true;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = true;
        else if (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "json"))
            json = true, i++;
        else if (!strcmp(argv[i], "--format=json"))
            json = true;
        else
            return nr_usage_error(g, "ps: unknown option %s (ps [-a] [-q] [--format json])", argv[i]);
    }
    char **ids;
    size_t n;
    nr_err err = {0};
    if (rt_container_list(g->root, &ids, &n, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    /* newest first, as docker lists them */
    rt_state *sts = nr_xcalloc(n ? n : 1, sizeof *sts);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (rt_state_read(g->root, ids[i], &sts[m], &err) == 0) {
            if (!rt_state_orphan_removed(g->root, &sts[m]))
                m++;
        } else {
            stateless_removed(g->root, ids[i]); /* or being created right now */
        }
        free(ids[i]);
    }
    free(ids);
    leftovers_removed(g->root);
    qsort(sts, m, sizeof *sts, newest_first);
    /* the table: every column as wide as its widest cell, as docker's is */
    enum { NCOL = 6 };
    char *(*rows)[NCOL] = nr_xcalloc(m + 1, sizeof *rows);
    size_t nrows = 0, width[NCOL] = {0};
    static const char *const head[NCOL] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"};
    for (int c = 0; c < NCOL; c++)
        rows[nrows][c] = nr_xstrdup(head[c]);
    nrows++;
    for (size_t i = 0; i < m; i++) {
        rt_state st = sts[i];
        const char *live = rt_state_live_status(&st);
        if (all || !strcmp(live, "running")) {
            char status[128], ago[64];
            status_text(&st, live, status, sizeof status);
            if (quiet) {
                printf("%.12s\n", st.id);
            } else if (json) {
                json_t *state = state_json(&st, live);
                json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:O, s:O, s:O}", "ID", st.id, "Names", st.name,
                                      "Image", st.image, "Command", st.command, "CreatedAt", (json_int_t)st.created,
                                      "Status", status, "State", state, "ExitCode", json_object_get(state, "ExitCode"),
                                      "OOMKilled", json_object_get(state, "OOMKilled"));
                json_decref(state);
                char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", text);
                free(text);
                json_decref(j);
            } else {
                nr_human_ago(time(NULL) - st.created, ago, sizeof ago);
                /* the command quoted, control characters escaped (a newline
                 * would break the row, an escape sequence reach the terminal),
                 * cut to 20 characters with an ellipsis */
                cleanup_free char *cmd = nr_escape_controls(st.command);
                rows[nrows][0] = nr_xasprintf("%.12s", st.id);
                rows[nrows][1] = nr_xstrdup(st.image);
                rows[nrows][2] = display_width(cmd) > 20 ? nr_xasprintf("\"%.*s…\"", (int)prefix_bytes(cmd, 19), cmd)
                                                         : nr_xasprintf("\"%s\"", cmd);
                rows[nrows][3] = nr_xstrdup(ago);
                rows[nrows][4] = nr_xstrdup(status);
                rows[nrows][5] = nr_xstrdup(st.name);
                nrows++;
            }
        }
        rt_state_free(&st);
    }
    free(sts);
    if (!json && !quiet) {
        for (size_t r = 0; r < nrows; r++)
            for (int c = 0; c < NCOL; c++)
                if (display_width(rows[r][c]) > width[c])
                    width[c] = display_width(rows[r][c]);
        for (size_t r = 0; r < nrows; r++) {
            for (int c = 0; c < NCOL; c++)
                printf("%s%*s", rows[r][c], c < NCOL - 1 ? (int)(width[c] - display_width(rows[r][c]) + 3) : 0, "");
            putchar('\n');
        }
    }
    for (size_t r = 0; r < nrows; r++)
        for (int c = 0; c < NCOL; c++)
            free(rows[r][c]);
    free(rows);
    return 0;
}

json_t *nr_inspect_container(nr_global *g, const char *ref, bool *found, nr_err *err)
{
    char id[65];
    *found = false;
    if (rt_container_find(g->root, ref, id, err) < 0)
        return NULL; /* none, or an ambiguous prefix (err says so) */
    *found = true;
    rt_state st;
    if (rt_state_read(g->root, id, &st, err) < 0)
        return NULL;
    const char *live = rt_state_live_status(&st);
    char created[64];
    nr_rfc3339(st.created, 0, created, sizeof created);
    cleanup_free char *cfgpath = nr_xasprintf("%s/containers/%s/config.json", g->root, id);
    json_t *cfg = json_load_file(cfgpath, 0, NULL);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "Id", st.id, "Name", st.name, "Image", st.image,
                          "Created", created, "State", state_json(&st, live), "Config", cfg ? cfg : json_null(),
                          "Cgroups", json_incref(st.cgroups));
    /* What its PID 1 chose (cluster or single, why, the command it runs):
     * asked from PID 1 itself while the container runs. */
    if (j && !strcmp(live, "running")) {
        nr_err ign = {0};
        cleanup_free char *reply = sv_control_call(g, id, NULL, "{\"cmd\":\"ps\"}", 2000, &ign);
        json_t *r = reply ? json_loads(reply, 0, NULL) : NULL;
        if (json_is_object(r))
            json_object_set_new(j, "Supervisor",
                                json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "Mode", json_object_get(r, "mode"), "ModeReason",
                                          json_object_get(r, "mode_reason"), "Command", json_object_get(r, "command"),
                                          "Workers", json_object_get(r, "target"), "LogLevel",
                                          json_object_get(r, "log_level")));
        json_decref(r);
    }
    rt_state_free(&st);
    return j;
}
