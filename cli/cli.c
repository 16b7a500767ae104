/* Helpers shared by the subcommands of both binaries. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/err.h"
#include "common/util.h"

int nr_usage_verror(nr_global *g, int code, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", g->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return code;
}

int nr_usage_error(nr_global *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = nr_usage_verror(g, NR_EXIT_USAGE, fmt, ap);
    va_end(ap);
    return r;
}

/* An XDG base directory (malloc'd): $var when absolute, else ~/home_sub
 * (HOME when absolute, else the passwd entry's); NULL without either. */
static char *xdg_base(const char *var, const char *home_sub)
{
    const char *x = getenv(var);
    if (x && x[0] == '/')
        return nr_xstrdup(x);
    const char *home = getenv("HOME");
    struct passwd *pw = home && home[0] == '/' ? NULL : getpwuid(getuid());
    if (!(home && home[0] == '/') && !(pw && pw->pw_dir[0] == '/'))
        return NULL;
    return nr_xasprintf("%s/%s", home && home[0] == '/' ? home : pw->pw_dir, home_sub);
}

/* A rootless store's parent, as the XDG base directory spec names it:
 * $XDG_DATA_HOME when absolute, else ~/.local/share.  Ours and closed to
 * others, or refused: another user who owns it, or can write in it, could
 * put there a store of theirs, or a symlink to one, for us to run from. */
static int data_home(char **out, nr_err *err)
{
    *out = xdg_base("XDG_DATA_HOME", ".local/share");
    if (!*out)
        return nr_err_set(err, "no store for a non-root user: set XDG_DATA_HOME, HOME or NRUN_ROOT");
    return 0;
}

static int check_own_dir(const char *what, const char *p, nr_err *err)
{
    struct stat st;
    /* what cannot be reached cannot mislead us: the store's own open says
     * why it fails, and a command that needs no store (nrun stats
     * --control) is not stopped by another user's HOME it cannot enter */
    if (lstat(p, &st) < 0)
        return 0;
    if (S_ISLNK(st.st_mode))
        return nr_err_set(err, "%s %s is a symlink: refused (set NRUN_ROOT to choose a store)", what, p);
    if (!S_ISDIR(st.st_mode))
        return nr_err_set(err, "%s %s is not a directory: refused", what, p);
    if (st.st_uid != geteuid())
        return nr_err_set(err, "%s %s is owned by uid %u, not by uid %u: refused", what, p, (unsigned)st.st_uid,
                          (unsigned)geteuid());
    if (st.st_mode & 022)
        return nr_err_set(err, "%s %s is writable by group or others (mode %04o): refused", what, p,
                          (unsigned)(st.st_mode & 07777));
    return 0;
}

/* A directory that only root or the caller can change: no symlink at the
 * end, and every directory from / down owned by root or the caller and
 * writable by no one else (a sticky one, as /tmp, excepted above the end). */
static int check_trusted_path(const char *p, nr_err *err)
{
    struct stat st;
    if (lstat(p, &st) < 0)
        return nr_err_sys(err, errno, "%s", p);
    if (S_ISLNK(st.st_mode))
        return nr_err_set(err, "%s is a symlink", p);
    cleanup_free char *real = realpath(p, NULL);
    if (!real)
        return nr_err_sys(err, errno, "%s", p);
    for (char *s = real;;) {
        char *slash = strchr(s + 1, '/');
        if (slash)
            *slash = '\0';
        const char *cur = *real ? real : "/";
        if (lstat(cur, &st) < 0)
            return nr_err_sys(err, errno, "%s", cur);
        if (st.st_uid != 0 && st.st_uid != geteuid())
            return nr_err_set(err, "%s is owned by uid %u (neither root nor uid %u)", cur, (unsigned)st.st_uid,
                              (unsigned)geteuid());
        if ((st.st_mode & 022) && !(slash && (st.st_mode & S_ISVTX)))
            return nr_err_set(err, "%s is writable by group or others (mode %04o)", cur,
                              (unsigned)(st.st_mode & 07777));
        if (!slash)
            return 0;
        *slash = '/';
        s = slash;
    }
}

/* The base image caches of a non-root user (see README, *Rootless builds*):
 * *own is written (NRUN_CACHE_DIR when it is the caller's alone, else
 * $XDG_CACHE_HOME/nrun, else ~/.cache/nrun); *ro, when NRUN_CACHE_DIR is
 * root's (a shared cache root filled), is read and never written.  Any
 * other NRUN_CACHE_DIR (another user's, writable by others, a symlink) is
 * refused: its rootfs tars are checked against a sha256 kept beside them,
 * which whoever can write the one can write too. */
int nr_cache_rootless(char **own, char **ro, nr_err *err)
{
    *own = *ro = NULL;
    const char *env = getenv("NRUN_CACHE_DIR");
    if (env && *env) {
        struct stat st;
        if (env[0] != '/')
            return nr_err_set(err, "NRUN_CACHE_DIR=%s: not an absolute path", env);
        if (lstat(env, &st) < 0 && errno == ENOENT && nr_mkdir_p(env, 0700, err) < 0)
            return nr_err_wrap(err, "NRUN_CACHE_DIR");
        if (check_trusted_path(env, err) < 0)
            return nr_err_wrap(err, "NRUN_CACHE_DIR refused");
        if (lstat(env, &st) < 0 || !S_ISDIR(st.st_mode))
            return nr_err_set(err, "NRUN_CACHE_DIR %s is not a directory", env);
        if (st.st_uid == geteuid()) {
            *own = nr_xstrdup(env);
            return 0;
        }
        *ro = nr_xstrdup(env);
    }
    char *base = xdg_base("XDG_CACHE_HOME", ".cache");
    if (!base) {
        free(*ro);
        *ro = NULL;
        return nr_err_set(err, "no base image cache for a non-root user: set XDG_CACHE_HOME, HOME or NRUN_CACHE_DIR");
    }
    char *dir = nr_xasprintf("%s/nrun", base);
    int r = 0;
    if (nr_mkdir_p(dir, 0700, err) < 0 || check_own_dir("XDG_CACHE_HOME", base, err) < 0 ||
        check_own_dir("base image cache", dir, err) < 0)
        r = -1;
    free(base);
    if (r < 0) {
        free(dir);
        free(*ro);
        *ro = NULL;
        return -1;
    }
    *own = dir;
    return 0;
}

int nr_root_default(char **out, nr_err *err)
{
    if (geteuid() == 0) {
        *out = nr_xstrdup(NR_DEFAULT_ROOT);
        return 0;
    }
    cleanup_free char *base = NULL;
    if (data_home(&base, err) < 0 || check_own_dir("XDG_DATA_HOME", base, err) < 0)
        return -1;
    char *root = nr_xasprintf("%s/nrun", base);
    if (check_own_dir("store", root, err) < 0) {
        free(root);
        return -1;
    }
    *out = root;
    return 0;
}

const char *nr_group_sub(int argc, char **argv, const char *group, const char *help, char *label, size_t labellen,
                         int *code)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(help, argc < 2 ? stderr : stdout);
        *code = argc < 2 ? NR_EXIT_USAGE : 0;
        return NULL;
    }
    const char *sub = argv[1];
    snprintf(label, labellen, "%s %s", group, sub);
    argv[1] = label;
    return sub;
}
