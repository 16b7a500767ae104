/* sv_resolve: does the container's command end in `node ...`?  Images start
 * their app through wrappers -- `npm start`, `yarn start`, a shell-form CMD
 * (`/bin/sh -c "node server.js"`), `tini --`, `dumb-init`, Docker's
 * `docker-entrypoint.sh` -- and a wrapper between the supervisor and node
 * would keep node from being a cluster worker (npm is itself a node program:
 * it would take the cluster channel, and its child would not get it).
 *
 * So the supervisor does what the wrapper would do, statically, and runs
 * node itself with the environment the wrapper would have set (npm's
 * npm_lifecycle_event, npm_package_*, INIT_CWD, PATH with node_modules/.bin).
 * tini and dumb-init are dropped: the supervisor is the init they would be.
 * Only shapes whose effect is known exactly are resolved; anything else
 * (a script with `&&`, a custom entrypoint, npm options) runs as given, as
 * one supervised process, and `reason` says why.
 *
 * Files read (package.json, the entrypoint script) are hostile input: opened
 * inside our root (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, so a
 * symlink to a host path or /proc/self/fd/N leads nowhere) with the workers'
 * filesystem uid, without blocking (a FIFO, a device), regular files only,
 * not on procfs/sysfs, size-bounded, parsed with jansson (depth-bounded);
 * their content never appears in a message. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime/lockdown.h"
#include "runtime/supervisor/resolve_int.h"
#include "runtime/supervisor/sv_internal.h"

#define SCRIPT_MAX (16 * 1024)  /* docker-entrypoint.sh */
#define MAX_STEPS 8             /* wrappers of wrappers */


void rs_vec_push(vec *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = nr_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = nr_xstrdup(s);
    a->v[a->n] = NULL;
}

void rs_vec_free(vec *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    *a = (vec){0};
}

static void vec_set(vec *a, char *const *src)
{
    vec n = {0};
    for (size_t i = 0; src[i]; i++)
        rs_vec_push(&n, src[i]);
    rs_vec_free(a);
    *a = n;
}


bool sv_argv0_is_node(const char *a)
{
    const char *b = strrchr(a, '/');
    b = b ? b + 1 : a;
    return !strcmp(b, "node") || !strncmp(b, "node-", 5) || !strncmp(b, "nodejs", 6);
}

static const char *base(const char *a)
{
    const char *b = strrchr(a, '/');
    return b ? b + 1 : a;
}

int rs_fail(rs *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rs_fail(rs *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* The value of NAME in what the command would see. */
static const char *env_get(rs *r, const char *name)
{
    size_t l = strlen(name);
    for (size_t i = r->env.n; i-- > 0;)
        if (!strncmp(r->env.v[i], name, l) && r->env.v[i][l] == '=')
            return r->env.v[i] + l + 1;
    for (size_t i = 0; r->base_env && r->base_env[i]; i++)
        if (!strncmp(r->base_env[i], name, l) && r->base_env[i][l] == '=')
            return r->base_env[i] + l + 1;
    return NULL;
}

static void env_set(rs *r, const char *name, const char *value)
{
    cleanup_free char *e = nr_xasprintf("%s=%s", name, value);
    rs_vec_push(&r->env, e);
}

/* An absolute path for `p` (relative to the workers' directory). */
char *rs_abs_path(rs *r, const char *p)
{
    if (p[0] == '/')
        return nr_xstrdup(p);
    return nr_xasprintf("%s%s%s", r->cwd, r->cwd[strlen(r->cwd) - 1] == '/' ? "" : "/", p);
}

/* What absolute path `p` inside our root is, seen as the workers see it
 * (their identity, no link out of the root): false when they cannot reach it. */
static bool stat_as_workers(rs *r, const char *p, struct stat *st)
{
    sv_fs_ident old;
    nr_err err = {0};
    if (sv_fsid_enter(r->uid, r->gid, &old, &err) < 0)
        return false;
    int fd = rt_open_in_root(p, O_PATH);
    sv_fsid_leave(&old);
    if (fd < 0)
        return false;
    bool ok = fstat(fd, st) == 0;
    close(fd);
    return ok;
}

/* Open `rel` beneath directory `dir` (inside our root) as the workers: no
 * `..`, absolute path or symlink leads out of `dir`. */
int rs_open_beneath(rs *r, const char *dir, const char *rel, int flags)
{
    sv_fs_ident old;
    nr_err err = {0};
    if (sv_fsid_enter(r->uid, r->gid, &old, &err) < 0) {
        errno = EPERM;
        return -1;
    }
    int dfd = rt_open_in_root(dir, O_PATH | O_DIRECTORY);
    int fd = -1, e = errno;
    if (dfd >= 0) {
        struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
        e = errno;
        close(dfd);
    }
    sv_fsid_leave(&old);
    errno = e;
    return fd;
}

static int read_opened(rs *r, int fd, const char *path, size_t max, char **out, size_t *len);

/* Read a small regular file inside our root as the workers (`beneath`: only
 * inside the app's directory, a path relative to it); 0, or -1 with r->why
 * set (ENOENT: *missing = true). */
int rs_read_file_in(rs *r, const char *beneath, const char *path, const char *shown, size_t max, char **out,
                        size_t *len, bool *missing)
{
    *missing = false;
    int fd, e;
    if (beneath) {
        fd = rs_open_beneath(r, beneath, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        e = errno;
    } else {
        sv_fs_ident old;
        nr_err err = {0};
        if (sv_fsid_enter(r->uid, r->gid, &old, &err) < 0)
            return rs_fail(r, "%s: cannot take the workers' identity", shown);
        fd = rt_open_in_root(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        e = errno;
        sv_fsid_leave(&old);
    }
    if (fd < 0) {
        *missing = e == ENOENT;
        const char *what = beneath ? "a link or path that leaves the app's directory" : "a link that leaves the container";
        return rs_fail(r, "%s: %s", shown, e == ELOOP || e == EXDEV ? what : strerror(e));
    }
    cleanup_close int cfd = fd;
    return read_opened(r, cfd, shown, max, out, len);
}

static int read_file(rs *r, const char *path, size_t max, char **out, size_t *len, bool *missing)
{
    return rs_read_file_in(r, NULL, path, path, max, out, len, missing);
}

static int read_opened(rs *r, int fd, const char *path, size_t max, char **out, size_t *len)
{
    nr_err err = {0};
    struct stat st;
    struct statfs sf;
    if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
        return rs_fail(r, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return rs_fail(r, "%s: not a regular file", path);
    if (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC)
        return rs_fail(r, "%s: a kernel file, not the app's", path);
    if (st.st_size > (off_t)max)
        return rs_fail(r, "%s: larger than %zu KiB", path, max / 1024);
    if (nr_read_fd(fd, max, out, len, &err) < 0)
        return rs_fail(r, "%s: %s", path, errno == EFBIG ? "too large" : "cannot be read");
    return 0;
}

/* Is `name` what `command -v` finds (an executable in PATH or a path)? */
static bool is_command(rs *r, const char *name)
{
    static const char *const builtins[] = {"exec", "echo", "true", "false", "test", "[", "cd", "set", "export",
                                           "printf", "command", "eval", "exit", "read", "trap", "ulimit", "umask"};
    for (size_t i = 0; i < NR_ARRAY_LEN(builtins); i++)
        if (!strcmp(name, builtins[i]))
            return true;
    if (!*name)
        return false;
    vec cands = {0};
    if (strchr(name, '/')) {
        cleanup_free char *p = rs_abs_path(r, name);
        rs_vec_push(&cands, p);
    } else {
        const char *path = env_get(r, "PATH");
        if (!path)
            path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const char *p = path;; p++) {
            const char *end = strchrnul(p, ':');
            if (end > p && end - p < 1024 && p[0] == '/') {
                cleanup_free char *c = nr_xasprintf("%.*s/%s", (int)(end - p), p, name);
                rs_vec_push(&cands, c);
            }
            if (!*end)
                break;
            p = end;
        }
    }
    bool found = false;
    for (size_t i = 0; i < cands.n && !found; i++) {
        struct stat st;
        found = stat_as_workers(r, cands.v[i], &st) && S_ISREG(st.st_mode) && (st.st_mode & 0111);
    }
    rs_vec_free(&cands);
    return found;
}

/* A regular file that is not executable (docker-entrypoint.sh runs it with node). */
static bool is_plain_file(rs *r, const char *name)
{
    cleanup_free char *p = rs_abs_path(r, name);
    struct stat st;
    return stat_as_workers(r, p, &st) && S_ISREG(st.st_mode) && !(st.st_mode & 0111);
}

/* A regular file at absolute path `p`, seen as the workers see it. */
static bool is_reg_file(rs *r, const char *p)
{
    struct stat st;
    return stat_as_workers(r, p, &st) && S_ISREG(st.st_mode);
}

/* Yarn 2+ Plug'n'Play: there is no node_modules, `yarn run` has node load
 * the project's .pnp.cjs (and .pnp.loader.mjs when yarn wrote one) through
 * NODE_OPTIONS, before what NODE_OPTIONS held.  The project is the nearest
 * directory from cwd up that has a .pnp.cjs. */
static int yarn_pnp(rs *r)
{
    cleanup_free char *dir = nr_xstrdup(r->cwd);
    for (;;) {
        size_t l = strlen(dir);
        while (l > 1 && dir[l - 1] == '/')
            dir[--l] = 0;
        const char *d = l == 1 ? "" : dir;
        cleanup_free char *cjs = nr_xasprintf("%s/.pnp.cjs", d);
        if (is_reg_file(r, cjs)) {
            if (strpbrk(cjs, " \t\n\"'\\%#?"))
                return rs_fail(r, "%s: a path NODE_OPTIONS cannot carry unquoted", cjs);
            cleanup_free char *mjs = nr_xasprintf("%s/.pnp.loader.mjs", d);
            const char *old = env_get(r, "NODE_OPTIONS");
            cleanup_free char *opts = nr_xasprintf("--require %s%s%s%s%s", cjs, is_reg_file(r, mjs) ? " --experimental-loader file://" : "",
                                                   is_reg_file(r, mjs) ? mjs : "", old && *old ? " " : "", old ? old : "");
            env_set(r, "NODE_OPTIONS", opts);
            return 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || l == 1)
            return 0;
        slash[slash == dir ? 1 : 0] = 0;
    }
}

/* Docker's node entrypoint, by what it does: after comments and blank lines,
 *   set -e / if <...command -v...>; then / set -- node "$@" / fi / exec "$@"
 * Any other script (migrations, gosu, ...) must run for real. */
static bool is_docker_entrypoint(rs *r, const char *cmd)
{
    char *path = NULL;
    if (strchr(cmd, '/'))
        path = rs_abs_path(r, cmd);
    else {
        const char *p = env_get(r, "PATH");
        if (!p)
            p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (;; p++) {
            const char *end = strchrnul(p, ':');
            if (end > p && end - p < 1024 && *p == '/') {
                char *c = nr_xasprintf("%.*s/%s", (int)(end - p), p, cmd);
                struct stat st;
                if (stat_as_workers(r, c, &st)) {
                    path = c;
                    break;
                }
                free(c);
            }
            if (!*end)
                break;
            p = end;
        }
    }
    if (!path)
        return rs_fail(r, "%s: not found", cmd), false;
    cleanup_free char *pth = path;
    cleanup_free char *text = NULL;
    size_t len;
    bool missing;
    if (read_file(r, pth, SCRIPT_MAX, &text, &len, &missing) < 0)
        return false;
    static const char *const want[] = {"set -e", "if ", "set -- node \"$@\"", "fi", "exec \"$@\""};
    size_t k = 0;
    bool ok = memchr(text, 0, len) == NULL;
    for (char *line = text, *next; ok && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        char *e = line + strlen(line);
        while (e > line && strchr(" \t\r", e[-1]))
            *--e = 0;
        if (!*line || *line == '#')
            continue;
        if (k >= NR_ARRAY_LEN(want))
            ok = false;
        else if (k == 1)
            ok = !strncmp(line, "if ", 3) && strstr(line, "command -v") && e - line >= 4 && !strcmp(e - 4, "then");
        else
            ok = !strcmp(line, want[k]);
        k++;
    }
    if (!ok || k != NR_ARRAY_LEN(want))
        return rs_fail(r, "%s is not Docker's node entrypoint (a script of its own runs as given)", pth), false;
    return true;
}

static void chain_add(rs *r, char *const *argv)
{
    if (r->chain.len)
        nr_buf_addstr(&r->chain, " -> ");
    for (size_t i = 0; argv[i] && r->chain.len < 300; i++)
        nr_buf_addf(&r->chain, "%s%s", i ? " " : "", argv[i]);
}

/* A split command line: NAME=value prefixes go to the environment; `exec`,
 * `env NAME=value...` and `cross-env NAME=value...` are looked through. */
static int simple_command(rs *r, char **words, const bool *assign)
{
    size_t i = 0;
    for (;;) {
        for (; words[i] && assign[i]; i++) {
            char *eq = strchr(words[i], '=');
            *eq = 0;
            env_set(r, words[i], eq + 1);
            *eq = '=';
        }
        if (!words[i])
            return rs_fail(r, "only assignments, no command");
        if (!strcmp(words[i], "exec") || !strcmp(words[i], "env") || !strcmp(base(words[i]), "cross-env")) {
            bool is_env = strcmp(words[i], "exec") != 0;
            i++;
            if (words[i] && words[i][0] == '-')
                return rs_fail(r, "%s with options", words[i - 1]);
            /* env's and cross-env's assignments are words of their own: any NAME=value */
            for (; is_env && words[i] && strchr(words[i], '=') && words[i][0] != '='; i++) {
                size_t k = 0;
                while (words[i][k] != '=' && (words[i][k] == '_' || ('a' <= (words[i][k] | 32) && (words[i][k] | 32) <= 'z') ||
                                              (k && '0' <= words[i][k] && words[i][k] <= '9')))
                    k++;
                if (words[i][k] != '=')
                    break;
                char *eq = words[i] + k;
                *eq = 0;
                env_set(r, words[i], eq + 1);
                *eq = '=';
            }
            continue;
        }
        break;
    }
    vec_set(&r->cur, words + i);
    return 0;
}

static int shell_c(rs *r, const char *line, const char *what)
{
    bool *assign;
    const char *why;
    char **words = sv_shell_split(line, &assign, &why);
    if (!words) {
        r->notable = r->notable || strstr(line, "node") || strstr(line, "npm") || strstr(line, "yarn");
        return rs_fail(r, "%s is not one simple command: it uses %s", what, why);
    }
    int rc = simple_command(r, words, assign);
    for (size_t i = 0; words[i]; i++)
        free(words[i]);
    free(words);
    free(assign);
    return rc;
}

/* npm/yarn/pnpm: the script and the arguments appended to it. */
static int package_script_in(rs *r, char *const *args, const char *workspace)
{
    const char *tool = base(r->cur.v[0]);
    char *const *a = args;
    const char *name = NULL, *cmd = NULL;
    bool is_npm = !strcmp(tool, "npm");
    if (!a[0])
        return rs_fail(r, "%s without a command", tool);
    if (a[0][0] == '-')
        return rs_fail(r, "%s option %s", tool, a[0]);
    if (!strcmp(a[0], "start") || !strcmp(a[0], "test") || !strcmp(a[0], "stop")) {
        name = a[0], cmd = a[0];
        a++;
    } else if (!strcmp(a[0], "run") || !strcmp(a[0], "run-script") || (is_npm && (!strcmp(a[0], "rum") || !strcmp(a[0], "urn")))) {
        if (!a[1] || a[1][0] == '-')
            return rs_fail(r, "%s %s without a script name", tool, a[0]);
        name = a[1], cmd = "run-script";
        a += 2;
    } else if (!is_npm) {
        name = a[0], cmd = "run"; /* `yarn dev`, `pnpm dev`: a script of that name */
        a++;
    } else {
        return rs_fail(r, "npm %s is not a script", a[0]);
    }
    /* arguments: after `--` anything; before it, options would be npm's own */
    vec extra = {0};
    bool dashdash = false;
    for (; *a; a++) {
        if (!dashdash && !strcmp(*a, "--")) {
            dashdash = true;
            continue;
        }
        if (!dashdash && (*a)[0] == '-') {
            rs_vec_free(&extra);
            return rs_fail(r, "%s option %s", tool, *a);
        }
        rs_vec_push(&extra, *a);
    }

    cleanup_free char *pkg = rs_abs_path(r, "package.json");
    const char *init_cwd = r->cwd; /* where npm was started (a workspace's script runs in its directory) */
    cleanup_free char *text = NULL;
    size_t len;
    bool missing;
    if (read_file(r, pkg, PKG_MAX, &text, &len, &missing) < 0) {
        rs_vec_free(&extra);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        rs_vec_free(&extra);
        if (root)
            json_decref(root);
        else
            return rs_fail(r, "%s:%d:%d: not valid JSON", pkg, jerr.line, jerr.column);
        return rs_fail(r, "%s: not a JSON object", pkg);
    }
    if (workspace) {
        /* the workspace's package.json, and its directory where the script runs */
        cleanup_free char *dir = rs_ws_find(r, root, pkg, workspace);
        json_decref(root);
        root = NULL;
        cleanup_free char *shown = NULL;
        if (dir)
            root = rs_ws_package(r, dir, &shown);
        if (!root) {
            rs_vec_free(&extra);
            return -1;
        }
        free(r->ws_cwd);
        r->ws_cwd = rs_abs_path(r, dir);
        r->cwd = r->ws_cwd;
        free(pkg);
        pkg = nr_xstrdup(shown);
    }
    json_t *scripts = json_object_get(root, "scripts");
    json_t *s = json_is_object(scripts) ? json_object_get(scripts, name) : NULL;
    cleanup_free char *script = NULL;
    int rc = 0;
    if (s && !json_is_string(s))
        rc = rs_fail(r, "%s: scripts.%s is not a string", pkg, name);
    else if (s)
        script = nr_xstrdup(json_string_value(s));
    else if (!strcmp(name, "start") && !strcmp(tool, "npm")) {
        /* npm's default start script, when server.js exists */
        if (is_plain_file(r, "server.js") || is_command(r, "./server.js"))
            script = nr_xstrdup("node server.js");
        else
            rc = rs_fail(r, "%s has no start script and there is no server.js", pkg);
    } else
        rc = rs_fail(r, "%s has no script \"%.64s\"", pkg, name);
    /* npm and yarn run pre<name> and post<name> around it: not a plain node command */
    for (int k = 0; rc == 0 && k < 2 && strcmp(tool, "pnpm"); k++) {
        cleanup_free char *hook = nr_xasprintf("%s%s", k ? "post" : "pre", name);
        if (json_is_object(scripts) && json_object_get(scripts, hook))
            rc = rs_fail(r, "%s has a \"%.64s\" script, which %s runs too", pkg, hook, tool);
    }
    if (rc == 0) {
        json_t *pn = json_object_get(root, "name"), *pv = json_object_get(root, "version");
        env_set(r, "npm_lifecycle_event", name);
        env_set(r, "npm_lifecycle_script", script);
        if (json_is_string(pn))
            env_set(r, "npm_package_name", json_string_value(pn));
        if (json_is_string(pv))
            env_set(r, "npm_package_version", json_string_value(pv));
        env_set(r, "npm_package_json", pkg);
        env_set(r, "npm_command", cmd);
        env_set(r, "INIT_CWD", init_cwd);
        if (!strcmp(tool, "npm"))
            env_set(r, "npm_config_user_agent", "npm");
        else
            env_set(r, "npm_config_user_agent", tool);
        /* PATH: node_modules/.bin of the package's directory and each parent */
        nr_buf p = {0};
        cleanup_free char *dir = nr_xstrdup(r->cwd);
        for (;;) {
            size_t l = strlen(dir);
            while (l > 1 && dir[l - 1] == '/')
                dir[--l] = 0;
            nr_buf_addf(&p, "%s/node_modules/.bin:", l == 1 ? "" : dir);
            char *slash = strrchr(dir, '/');
            if (!slash || l == 1)
                break;
            slash[slash == dir ? 1 : 0] = 0;
        }
        const char *old = env_get(r, "PATH");
        nr_buf_addstr(&p, old ? old : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        nr_buf_add(&p, "", 1);
        env_set(r, "PATH", p.data);
        nr_buf_free(&p);
        if (!strcmp(tool, "yarn"))
            rc = yarn_pnp(r);
        char what[96];
        snprintf(what, sizeof what, "the \"%.64s\" script", name);
        if (rc == 0)
            rc = shell_c(r, script, what);
    }
    json_decref(root);
    for (size_t i = 0; rc == 0 && i < extra.n; i++)
        rs_vec_push(&r->cur, extra.v[i]);
    rs_vec_free(&extra);
    return rc;
}

/* npm's workspace options (-w NAME, --workspace NAME, --workspace=NAME),
 * before a `--`, are taken out of the arguments; one workspace at most. */
static int package_script(rs *r)
{
    bool is_npm = !strcmp(base(r->cur.v[0]), "npm");
    vec args = {0};
    const char *workspace = NULL;
    int rc = 0;
    bool dashdash = false;
    for (char **a = r->cur.v + 1; *a && rc == 0; a++) {
        const char *w = NULL;
        dashdash = dashdash || !strcmp(*a, "--");
        if (is_npm && !dashdash && (!strcmp(*a, "-w") || !strcmp(*a, "--workspace"))) {
            if (!a[1] || !a[1][0] || a[1][0] == '-')
                rc = rs_fail(r, "npm %s without a workspace name", *a);
            w = *++a;
        } else if (is_npm && !dashdash && !strncmp(*a, "--workspace=", 12)) {
            w = *a + 12;
            if (!*w)
                rc = rs_fail(r, "npm --workspace= without a workspace name");
        } else {
            rs_vec_push(&args, *a);
        }
        if (w && rc == 0 && workspace)
            rc = rs_fail(r, "npm with more than one workspace");
        if (w)
            workspace = w;
    }
    static char *const none[] = {NULL};
    if (rc == 0)
        rc = package_script_in(r, args.v ? args.v : none, workspace);
    rs_vec_free(&args);
    return rc;
}

/* One step: replace r->cur by what it runs; 1 when it is node, -1 when unknown. */
static int step(rs *r)
{
    char **v = r->cur.v;
    const char *b = base(v[0]);
    if (sv_argv0_is_node(v[0]))
        return 1;
    if (!strcmp(b, "tini") || !strcmp(b, "tini-static") || !strcmp(b, "dumb-init")) {
        bool tini = b[0] == 't';
        size_t i = 1;
        for (; v[i] && v[i][0] == '-' && strcmp(v[i], "--"); i++) {
            /* options that change nothing once the supervisor is the init */
            if (tini && (!strcmp(v[i], "-s") || !strcmp(v[i], "-g") || !strcmp(v[i], "-v") || !strcmp(v[i], "-vv") ||
                         !strcmp(v[i], "-vvv") || !strcmp(v[i], "-w")))
                continue;
            if (!tini && (!strcmp(v[i], "-c") || !strcmp(v[i], "--single-child") || !strcmp(v[i], "-v") ||
                          !strcmp(v[i], "--verbose")))
                continue;
            return rs_fail(r, "%s option %s", b, v[i]);
        }
        if (v[i] && !strcmp(v[i], "--"))
            i++;
        if (!v[i])
            return rs_fail(r, "%s without a command", b);
        vec_set(&r->cur, v + i);
        return 0;
    }
    if (!strcmp(b, "sh") || !strcmp(b, "bash") || !strcmp(b, "dash") || !strcmp(b, "ash")) {
        if (!v[1] || strcmp(v[1], "-c") || !v[2])
            return rs_fail(r, "%s runs a script, not a command line", b);
        cleanup_free char *line = nr_xstrdup(v[2]);
        return shell_c(r, line, "the shell command");
    }
    if (!strcmp(b, "docker-entrypoint.sh")) {
        r->notable = true;
        if (!is_docker_entrypoint(r, v[0]))
            return -1;
        if (!v[1])
            return rs_fail(r, "docker-entrypoint.sh without a command");
        /* as the script does: node "$@" when $1 is an option, no command, or a plain file */
        if (v[1][0] == '-' || !is_command(r, v[1]) || is_plain_file(r, v[1])) {
            vec n = {0};
            rs_vec_push(&n, "node");
            for (size_t i = 1; v[i]; i++)
                rs_vec_push(&n, v[i]);
            rs_vec_free(&r->cur);
            r->cur = n;
        } else {
            vec_set(&r->cur, v + 1);
        }
        return 0;
    }
    if (!strcmp(b, "npm") || !strcmp(b, "yarn") || !strcmp(b, "pnpm")) {
        r->notable = true;
        return package_script(r);
    }
    return rs_fail(r, "%s is not a node command", b);
}

static char *printable(const char *s)
{
    char *o = nr_xstrdup(s);
    for (unsigned char *p = (unsigned char *)o; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            *p = '?';
    return o;
}

void sv_resolve(char *const *argv, char *const *envp, const char *cwd, uid_t uid, gid_t gid, sv_resolved *out)
{
    memset(out, 0, sizeof *out);
    char here[4096];
    if (!cwd || !*cwd)
        cwd = getcwd(here, sizeof here) ? here : "/";
    rs r = {.cwd = cwd, .uid = uid, .gid = gid, .base_env = envp};
    vec_set(&r.cur, argv);
    chain_add(&r, r.cur.v);
    int rc = 0, steps = 0;
    for (; steps < MAX_STEPS && (rc = step(&r)) == 0; steps++)
        chain_add(&r, r.cur.v);
    if (rc == 0)
        rs_fail(&r, "more than %d wrappers", MAX_STEPS);
    nr_buf_add(&r.chain, "", 1);
    if (rc == 1) {
        out->node = true;
        out->changed = steps > 0;
        out->notable = steps > 0;
        out->argv = r.cur.v;
        out->env = r.env.v ? r.env.v : nr_xcalloc(1, sizeof(char *));
        out->reason = printable(steps > 0 ? r.chain.data : "a node command");
        out->cwd = r.ws_cwd;
        r.ws_cwd = NULL;
    } else {
        rs_vec_free(&r.cur);
        rs_vec_free(&r.env);
        vec_set(&r.cur, argv);
        out->argv = r.cur.v;
        out->env = nr_xcalloc(1, sizeof(char *));
        out->reason = printable(r.why);
        out->notable = r.notable;
    }
    free(r.ws_cwd);
    nr_buf_free(&r.chain);
}

void sv_resolved_free(sv_resolved *r)
{
    for (size_t i = 0; r->argv && r->argv[i]; i++)
        free(r->argv[i]);
    for (size_t i = 0; r->env && r->env[i]; i++)
        free(r->env[i]);
    free(r->argv);
    free(r->env);
    free(r->reason);
    free(r->cwd);
    memset(r, 0, sizeof *r);
}
