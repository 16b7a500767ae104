/* nrun version, nrun info / system info, system df, system prune: what the
 * store and this host hold, in docker's words. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "images/image.h"
#include "images/store.h"
#include "runtime/create.h"
#include "runtime/runtime.h"

/* Bytes on disk below dirfd/name (st_blocks, never through a link). */
static unsigned long long disk_usage(int dirfd, const char *name, int depth)
{
    struct stat st;
    if (depth > 64 || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    unsigned long long sum = (unsigned long long)st.st_blocks * 512;
    if (!S_ISDIR(st.st_mode))
        return sum;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return sum;
    }
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            sum += disk_usage(fd, e->d_name, depth + 1);
    closedir(d);
    return sum;
}

static unsigned long long usage_of(const char *root, const char *sub)
{
    cleanup_close int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? disk_usage(fd, sub, 0) : 0;
}

static size_t entries(const char *dir)
{
    size_t n = 0;
    cleanup_dir DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    return n;
}

typedef struct counts {
    size_t all, running, stopped, images;
} counts;

static void count(nr_global *g, counts *c)
{
    memset(c, 0, sizeof *c);
    char **ids = NULL;
    size_t n = 0;
    nr_err ign;
    if (rt_container_list(g->root, &ids, &n, &ign) == 0) {
        for (size_t i = 0; i < n; i++) {
            rt_state st;
            if (rt_state_read(g->root, ids[i], &st, &ign) == 0) {
                if (strcmp(st.image, RT_BUILD_STEP_IMAGE)) {
                    c->all++;
                    if (!strcmp(rt_state_live_status(&st), "running"))
                        c->running++;
                    else
                        c->stopped++;
                }
                rt_state_free(&st);
            }
            free(ids[i]);
        }
        free(ids);
    }
    img_store *s;
    img_tag *tags;
    size_t nt;
    if (img_store_open(g->root, &s, &ign) == 0) {
        if (img_tag_list(s, &tags, &nt, &ign) == 0) {
            c->images = nt;
            img_tag_list_free(tags, nt);
        }
        img_store_close(s);
    }
}

static const char *cgroup_version(void)
{
    enum rt_cg_mode m = rt_cgroup_detect();
    return m == RT_CG_V2 ? "2" : m == RT_CG_HYBRID ? "1 (hybrid)" : "1";
}

int nr_cmd_version(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"format", 'f', required_argument, "FORMAT", "json, or a template like '{{.Version}}'"},
        {0},
    };
    static const nr_cmdspec spec = {"version [OPTIONS]", "Show the version of nrun and of this host's kernel.", opts,
                                    true};
    nr_format fmt = {.kind = NR_FMT_TABLE};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 'f') {
            if (nr_format_parse(g, "version", optarg, &fmt))
                return NR_EXIT_USAGE;
        } else {
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    struct utsname u;
    uname(&u);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Version", NR_VERSION, "Os", "linux", "Arch", u.machine,
                          "KernelVersion", u.release, "CgroupVersion", cgroup_version());
    if (fmt.kind == NR_FMT_JSON) {
        char *t = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(t);
        free(t);
    } else if (fmt.tmpl) {
        char *t = nr_format_render(fmt.tmpl, v);
        puts(t);
        free(t);
    } else {
        printf("nrun:\n Version:        %s\n OS/Arch:        linux/%s\n Kernel:         %s\n Cgroup version: %s\n",
               NR_VERSION, u.machine, u.release, cgroup_version());
    }
    json_decref(v);
    return 0;
}

static int system_info(nr_global *g, nr_format *fmt)
{
    counts c;
    count(g, &c);
    struct utsname u;
    uname(&u);
    struct sysinfo si;
    sysinfo(&si);
    cleanup_free char *vols = nr_xasprintf("%s/volumes", g->root);
    json_t *v = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "Containers",
                          (json_int_t)c.all, "ContainersRunning", (json_int_t)c.running, "ContainersStopped",
                          (json_int_t)c.stopped, "Images", (json_int_t)c.images, "Volumes", (json_int_t)entries(vols),
                          "StorageDriver", "overlay", "CgroupVersion", cgroup_version(), "KernelVersion", u.release,
                          "OperatingSystem", "linux", "Architecture", u.machine, "NCPU",
                          (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal",
                          (json_int_t)((unsigned long long)si.totalram * si.mem_unit), "RootDir", g->root,
                          "ServerVersion", NR_VERSION);
    if (fmt->kind == NR_FMT_JSON || fmt->tmpl) {
        char *t = fmt->tmpl ? nr_format_render(fmt->tmpl, v) : json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(t);
        free(t);
    } else {
        char mem[32];
        nr_human_size((unsigned long long)si.totalram * si.mem_unit, mem, sizeof mem);
        printf("Containers: %zu\n Running: %zu\n Stopped: %zu\nImages: %zu\nVolumes: %zu\n"
               "Server Version: %s\nStorage Driver: overlay\nCgroup Version: %s\nKernel Version: %s\n"
               "Operating System: linux\nArchitecture: %s\nCPUs: %ld\nTotal Memory: %s\nRoot Dir: %s\n",
               c.all, c.running, c.stopped, c.images, entries(vols), NR_VERSION, cgroup_version(), u.release,
               u.machine, sysconf(_SC_NPROCESSORS_ONLN), mem, g->root);
    }
    json_decref(v);
    return 0;
}

static int system_df(nr_global *g, nr_format *fmt)
{
    counts c;
    count(g, &c);
    cleanup_free char *vols = nr_xasprintf("%s/volumes", g->root);
    unsigned long long img = usage_of(g->root, "blobs") + usage_of(g->root, "layers");
    unsigned long long ctr = usage_of(g->root, "containers");
    unsigned long long vol = usage_of(g->root, "volumes");
    unsigned long long cache = usage_of(g->root, "cache");
    struct {
        const char *type;
        size_t total, active;
        unsigned long long size;
    } rows[] = {
        {"Images", c.images, c.images, img},
        {"Containers", c.all, c.running, ctr},
        {"Local Volumes", entries(vols), 0, vol},
        {"Build Cache", 0, 0, cache},
    };
    char **lines = nr_xcalloc(6, sizeof *lines);
    size_t nl = 0;
    if (fmt->kind == NR_FMT_TABLE && !fmt->tmpl)
        lines[nl++] = nr_xstrdup("TYPE\tTOTAL\tACTIVE\tSIZE");
    for (size_t i = 0; i < NR_ARRAY_LEN(rows); i++) {
        char size[32];
        nr_human_size(rows[i].size, size, sizeof size);
        json_t *r = json_pack("{s:s, s:I, s:I, s:s, s:I}", "Type", rows[i].type, "TotalCount", (json_int_t)rows[i].total,
                              "Active", (json_int_t)rows[i].active, "Size", size, "Bytes", (json_int_t)rows[i].size);
        if (fmt->kind == NR_FMT_JSON) {
            char *t = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
            puts(t);
            free(t);
        } else if (fmt->tmpl) {
            char *t = nr_format_render(fmt->tmpl, r);
            puts(t);
            free(t);
        } else {
            lines[nl++] = nr_xasprintf("%s\t%zu\t%zu\t%s", rows[i].type, rows[i].total, rows[i].active, size);
        }
        json_decref(r);
    }
    nr_table_print(lines, nl, stdout);
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    return 0;
}

/* Stopped containers, then what no image or container uses any more. */
static int system_prune(nr_global *g)
{
    char **ids = NULL;
    size_t n = 0, removed = 0;
    nr_err err = {0};
    int rc = 0;
    if (rt_container_list(g->root, &ids, &n, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    puts("Deleted Containers:");
    for (size_t i = 0; i < n; i++) {
        rt_state st;
        /* a container being started is judged once it runs */
        cleanup_close int lock = rt_ctr_lock(g->root, ids[i], &err);
        if (lock >= 0 && rt_state_read(g->root, ids[i], &st, &err) == 0) {
            bool gone = strcmp(rt_state_live_status(&st), "running") && strcmp(rt_state_live_status(&st), "restarting") &&
                        !rt_state_monitor_alive(&st) && strcmp(st.image, RT_BUILD_STEP_IMAGE);
            rt_state_free(&st);
            cleanup_free char *user = gone ? nr_ctr_volume_user(g->root, ids[i]) : NULL;
            gone = gone && !user; /* its anonymous volume is another's: kept */
            if (gone && rt_container_remove(g->root, ids[i], &err) == 0)
                printf("%s\n", ids[i]), removed++;
            else if (gone)
                rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
        }
        free(ids[i]);
    }
    free(ids);
    img_store *s;
    img_prune_result res = {0};
    if (img_store_open(g->root, &s, &err) < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_STORE);
    if (img_store_prune(s, &res, &err) < 0)
        rc = nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    img_store_close(s);
    char size[32];
    nr_human_size(res.bytes_reclaimed, size, sizeof size);
    printf("\nDeleted blobs: %zu\nDeleted layers: %zu\nTotal reclaimed space: %s\n", res.blobs_removed,
           res.layers_removed, size);
    return rc;
}

static int info_cmd(const char *usage, int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"format", 'f', required_argument, "FORMAT", "json, or a template like '{{.Containers}}'"},
        {0},
    };
    static nr_cmdspec spec = {NULL, "Show what the store holds and what this host is.", opts, true};
    spec.usage = usage;
    nr_format fmt = {.kind = NR_FMT_TABLE};
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        if (c == 'f') {
            if (nr_format_parse(g, "info", optarg, &fmt))
                return NR_EXIT_USAGE;
        } else {
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    return system_info(g, &fmt);
}

int nr_cmd_info(int argc, char **argv, nr_global *g)
{
    return info_cmd("info [OPTIONS]", argc, argv, g);
}

int nr_cmd_system(int argc, char **argv, nr_global *g)
{
    char name[32];
    int code;
    const char *sub = nr_group_sub(argc, argv, "system",
                                   "Usage: nrun system COMMAND\n\nManage nrun.\n\nCommands:\n"
                                   "  df       disk usage of images, containers, volumes and the build cache\n"
                                   "  info     what the store holds and what this host is (nrun info)\n"
                                   "  prune    remove stopped containers and what no image or container uses\n",
                                   name, sizeof name, &code);
    if (!sub)
        return code;
    if (!strcmp(sub, "info"))
        return info_cmd("system info [OPTIONS]", argc - 1, argv + 1, g);
    static const nr_opt df_opts[] = {
        {"format", NR_OPT_LONG, required_argument, "FORMAT", "table, json or a template like '{{.Type}} {{.Size}}'"},
        {0},
    };
    static const nr_opt prune_opts[] = {
        {"force", 'f', no_argument, NULL, "do not ask (nrun never asks)"},
        {"all", 'a', no_argument, NULL, "accepted: untagged images are always pruned"},
        {0},
    };
    static const nr_cmdspec df = {"system df [OPTIONS]", "Disk usage of images, containers, volumes and the build cache.",
                                  df_opts, true};
    static const nr_cmdspec prune = {"system prune [OPTIONS]",
                                     "Remove stopped containers, then the blobs and unpacked layers no tagged image "
                                     "and no container uses.", prune_opts, true};
    bool is_df = !strcmp(sub, "df");
    if (!is_df && strcmp(sub, "prune"))
        return nr_usage_error(g, "system: unknown command %s (df, info, prune)", sub);
    nr_format fmt = {.kind = NR_FMT_TABLE};
    int c;
    while ((c = nr_opt_next(is_df ? &df : &prune, argc - 1, argv + 1, g)) != -1) {
        if (c == NR_OPT_LONG) {
            if (nr_format_parse(g, "system df", optarg, &fmt))
                return NR_EXIT_USAGE;
        } else if (c != 'f' && c != 'a') {
            return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    if (optind + 1 < argc)
        return nr_usage_error(g, "system %s: takes no arguments", sub);
    return is_df ? system_df(g, &fmt) : system_prune(g);
}
