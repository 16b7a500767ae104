/* nrun container SUB ... -- docker's management group for containers: each
 * subcommand is the top-level command of the same name (same flags, same
 * output), `ls`/`list` are `ps`, `inspect` looks at containers only, and
 * `prune` (here) removes every stopped container. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "runtime/create.h"
#include "runtime/runtime.h"

/* Bytes of the regular files below dirfd (what docker counts as a
 * container's size), walked without following links. */
unsigned long long nr_tree_bytes(int dirfd, int depth)
{
    if (depth > 256)
        return 0;
    int dup_fd = dup(dirfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return 0;
    }
    unsigned long long sum = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode)) {
            sum += (unsigned long long)st.st_size;
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                sum += nr_tree_bytes(sub, depth + 1);
                close(sub);
            }
        }
    }
    closedir(d);
    return sum;
}

typedef struct prune_row {
    const rt_state *st;
    json_t *labels;
    long long until_ns;
} prune_row;

/* label=K, label=K=V, label!=K[=V], until=T (created before T) */
static bool prune_filter_one(const nr_filter *f, void *ctx)
{
    prune_row *r = ctx;
    if (!strcmp(f->key, "until"))
        return r->st->created_ns ? r->st->created * 1000000000LL + r->st->created_ns % 1000000000LL < r->until_ns
                                 : r->st->created * 1000000000LL < r->until_ns;
    bool neg = !strcmp(f->key, "label!");
    const char *eq = strchr(f->value, '=');
    cleanup_free char *k = eq ? nr_xstrndup(f->value, (size_t)(eq - f->value)) : nr_xstrdup(f->value);
    const char *v = json_string_value(json_object_get(r->labels, k));
    bool has = v && (!eq || !strcmp(v, eq + 1));
    return neg ? !has : has;
}

bool nr_confirm(const char *what)
{
    printf("WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ", what);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = 0;
    return !strcasecmp(line, "y") || !strcasecmp(line, "yes");
}

static int container_prune(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"force", 'f', no_argument, NULL, "do not prompt for confirmation"},
        {"filter", 'F' + NR_OPT_LONG, required_argument, "FILTER", "until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE]"},
        {0},
    };
    static const nr_cmdspec spec = {"container prune [OPTIONS]", "Remove all stopped containers.", opts, true};
    bool force = false;
    nr_filter fs[32];
    size_t nf = 0;
    long long until_ns = 0;
    int c, rc = 0;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 'f') {
            force = true;
        } else if (c == 'F' + NR_OPT_LONG) {
            const char *eq = strchr(optarg, '=');
            if (!eq || nf >= NR_ARRAY_LEN(fs))
                rc = nr_usage_error(g, "container prune: --filter %s: expected KEY=VALUE (at most %zu)", optarg,
                                    NR_ARRAY_LEN(fs));
            else {
                fs[nf].key = nr_xstrndup(optarg, (size_t)(eq - optarg));
                fs[nf].value = nr_xstrdup(eq + 1);
                if (!strcmp(fs[nf].key, "until") && nr_time_parse(fs[nf].value, &until_ns) < 0)
                    rc = nr_usage_error(g, "container prune: --filter until=%s: not a time or duration", fs[nf].value);
                else if (strcmp(fs[nf].key, "until") && strcmp(fs[nf].key, "label") && strcmp(fs[nf].key, "label!"))
                    rc = nr_usage_error(g, "container prune: invalid filter '%s' (until, label, label!)", fs[nf].key);
                nf++;
            }
        } else {
            rc = c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
            break;
        }
        if (rc)
            break;
    }
    if (rc == 0 && c != -1)
        goto out;
    if (rc)
        goto out;
    if (optind < argc) {
        rc = nr_usage_error(g, "container prune: takes no arguments");
        goto out;
    }
    if (!force && !nr_confirm("all stopped containers")) {
        fprintf(stderr, "%s: container prune has been cancelled\n", g->prog);
        rc = NR_EXIT_FAIL;
        goto out;
    }
    char **ids = NULL;
    size_t n = 0;
    unsigned long long bytes = 0;
    nr_err err = {0};
    if (rt_container_list(g->root, &ids, &n, &err) < 0) {
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        goto out;
    }
    bool header = false;
    for (size_t i = 0; i < n; i++) {
        rt_state st;
        /* a container being started is judged once it runs */
        cleanup_close int lock = rt_ctr_lock(g->root, ids[i], &err);
        if (lock >= 0 && rt_state_read(g->root, ids[i], &st, &err) == 0) {
            const char *live = rt_state_live_status(&st);
            bool gone = strcmp(live, "running") && strcmp(live, "restarting") && !rt_state_monitor_alive(&st) &&
                        strcmp(st.image, RT_BUILD_STEP_IMAGE);
            cleanup_free char *rpath = nr_xasprintf("%s/containers/%s/run.json", g->root, ids[i]);
            json_t *run = gone && nf ? json_load_file(rpath, 0, NULL) : NULL;
            prune_row row = {&st, json_object_get(json_object_get(run, "config"), "Labels"), until_ns};
            gone = gone && nr_filters_match(fs, nf, prune_filter_one, &row);
            json_decref(run);
            rt_state_free(&st);
            unsigned long long size = 0;
            if (gone) {
                cleanup_free char *dir = rt_ctr_dir(g->root, ids[i]);
                cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd >= 0)
                    size = nr_tree_bytes(dfd, 0);
            }
            cleanup_free char *user = gone ? nr_ctr_volume_user(g->root, ids[i]) : NULL;
            gone = gone && !user; /* its anonymous volume is another's: kept */
            if (gone && rt_container_remove(g->root, ids[i], &err) == 0) {
                if (!header)
                    puts("Deleted Containers:"), header = true;
                printf("%s\n", ids[i]);
                bytes += size;
            } else if (gone) {
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
            }
        }
        memset(&err, 0, sizeof err);
        free(ids[i]);
    }
    free(ids);
    char hs[32];
    nr_human_size(bytes, hs, sizeof hs);
    printf("%sTotal reclaimed space: %s\n", header ? "\n" : "", hs);
out:
    for (size_t i = 0; i < nf; i++) {
        free(fs[i].key);
        free(fs[i].value);
    }
    return rc;
}

static int container_inspect(int argc, char **argv, nr_global *g)
{
    char **v = nr_xcalloc((size_t)argc + 2, sizeof *v);
    v[0] = argv[0];
    v[1] = "--type=container";
    for (int i = 1; i < argc; i++)
        v[i + 1] = argv[i];
    int r = nr_cmd_inspect(argc + 1, v, g);
    free(v);
    return r;
}

int nr_cmd_container(int argc, char **argv, nr_global *g)
{
    static const struct {
        const char *sub;
        nr_cmd_fn fn;
    } subs[] = {
        {"ls", nr_cmd_ps}, {"list", nr_cmd_ps}, {"ps", nr_cmd_ps}, {"run", nr_cmd_run},
        {"create", nr_cmd_create}, {"start", nr_cmd_start}, {"stop", nr_cmd_stop}, {"restart", nr_cmd_restart},
        {"kill", nr_cmd_kill}, {"rm", nr_cmd_rm}, {"remove", nr_cmd_rm}, {"logs", nr_cmd_logs},
        {"exec", nr_cmd_exec}, {"inspect", container_inspect}, {"port", nr_cmd_port}, {"rename", nr_cmd_rename},
        {"wait", nr_cmd_wait}, {"top", nr_cmd_top}, {"stats", nr_cmd_stats}, {"attach", nr_cmd_attach},
        {"cp", nr_cmd_cp}, {"prune", container_prune}, {"pause", nr_cmd_pause}, {"unpause", nr_cmd_unpause},
        {"diff", nr_cmd_diff}, {"export", nr_cmd_export}, {"commit", nr_cmd_commit},
    };
    char label[48];
    int code;
    const char *sub = nr_group_sub(argc, argv, "container",
                                   "Usage: nrun container COMMAND [ARGS...]\n\nManage containers (docker's words; each is the "
                                   "nrun command of that name).\n\nCommands:\n"
                                   "  ls, list, ps   list containers (nrun ps)\n"
                                   "  run, create, start, stop, restart, kill, rm, wait, rename\n"
                                   "  logs, exec, attach, top, stats, port, cp, inspect (containers only)\n"
                                   "  pause, unpause  freeze and thaw a container's processes\n"
                                   "  diff, export, commit  its file changes, its filesystem as a tar, a new image\n"
                                   "  prune          remove all stopped containers\n"
                                   "\nRun 'nrun container COMMAND --help' for a command's options.\n",
                                   label, sizeof label, &code);
    if (!sub)
        return code;
    for (size_t i = 0; i < NR_ARRAY_LEN(subs); i++)
        if (!strcmp(sub, subs[i].sub))
            return subs[i].fn(argc - 1, argv + 1, g);
    return nr_usage_error(g, "container: unknown subcommand %s (see 'nrun container --help')", sub);
}
