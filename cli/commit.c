/* nrun commit [-m MSG] [-a AUTHOR] [-c CHANGE]... [--pause=false] CONTAINER
 * [REPO[:TAG]] -- docker's: a new image made of the container's image plus
 * one layer of its changes (the overlay upper dir as images/layer_diff.c
 * reads it: whiteouts as .wh. entries, opaque dirs, no link followed, device
 * nodes refused), the image's config with the -c changes applied, and one
 * history entry (the container's command, -m as its comment).  A running
 * container is paused while its upper dir is read, as docker does.  A file
 * far sparser than it is long (CTR_SPARSE_SLACK) is refused before anything
 * is written: the layer would hold every byte.  Prints the new image ID. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/ctr_view.h"
#include "common/util.h"
#include "images/image.h"
#include "images/layer.h"
#include "images/ref.h"
#include "images/store.h"
#include "runtime/events.h"
#include "runtime/runtime.h"

/* Words of a --change value: blanks split, "..." and '...' quote, \ escapes. */
static size_t words_split(const char *s, char ***out)
{
    char **w = NULL;
    size_t n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        nr_buf b = {0};
        char q = 0;
        for (; *s && (q || (*s != ' ' && *s != '\t')); s++) {
            if (q && *s == q) {
                q = 0;
            } else if (!q && (*s == '"' || *s == '\'')) {
                q = *s;
            } else if (*s == '\\' && q != '\'' && s[1]) {
                nr_buf_add(&b, ++s, 1);
            } else {
                nr_buf_add(&b, s, 1);
            }
        }
        nr_buf_add(&b, "", 1);
        w = nr_xrealloc(w, (n + 1) * sizeof *w);
        w[n++] = b.data;
    }
    *out = w;
    return n;
}

static void words_free(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

/* CMD/ENTRYPOINT/VOLUME: a JSON array of strings, else the shell form. */
static json_t *list_arg(const char *rest, bool shell, nr_err *err)
{
    if (*rest == '[') {
        json_t *a = json_loads(rest, 0, NULL);
        size_t i;
        json_t *v;
        bool ok = json_is_array(a);
        json_array_foreach(a, i, v) ok = ok && json_is_string(v);
        if (ok)
            return a;
        json_decref(a);
        if (!shell) {
            nr_err_set(err, "\"%s\" is not a JSON array of strings", rest);
            return NULL;
        }
    }
    if (shell)
        return json_pack("[s, s, s]", "/bin/sh", "-c", rest);
    char **w;
    size_t n = words_split(rest, &w);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(w[i]));
    words_free(w, n);
    return a;
}

static json_t *obj_of(json_t *cfg, const char *key)
{
    json_t *o = json_object_get(cfg, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(cfg, key, o);
    }
    return o;
}

static void env_set(json_t *cfg, const char *k, const char *v)
{
    json_t *env = json_object_get(cfg, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(cfg, "Env", env);
    }
    cleanup_free char *kv = nr_xasprintf("%s=%s", k, v);
    size_t kl = strlen(k), i;
    json_t *e;
    json_array_foreach(env, i, e)
    {
        const char *s = json_string_value(e);
        if (s && !strncmp(s, k, kl) && s[kl] == '=') {
            json_array_set_new(env, i, json_string(kv));
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
}

/* One -c CHANGE (a Dockerfile instruction) applied to the config object. */
static int change_apply(json_t *cfg, const char *change, nr_err *err)
{
    while (*change == ' ' || *change == '\t')
        change++;
    size_t kl = strcspn(change, " \t");
    const char *rest = change + kl;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    cleanup_free char *kw = nr_xstrndup(change, kl);
    if (!*rest)
        return nr_err_set(err, "--change \"%s\": %s needs a value", change, kw);
    if (!strcasecmp(kw, "CMD") || !strcasecmp(kw, "ENTRYPOINT")) {
        json_t *a = list_arg(rest, true, err);
        json_object_set_new(cfg, !strcasecmp(kw, "CMD") ? "Cmd" : "Entrypoint", a);
        return 0;
    }
    if (!strcasecmp(kw, "VOLUME")) {
        json_t *a = list_arg(rest, false, err);
        if (!a)
            return -1;
        json_t *vols = obj_of(cfg, "Volumes");
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) json_object_set_new(vols, json_string_value(v), json_object());
        json_decref(a);
        return 0;
    }
    if (!strcasecmp(kw, "WORKDIR") || !strcasecmp(kw, "USER") || !strcasecmp(kw, "STOPSIGNAL")) {
        const char *key = !strcasecmp(kw, "WORKDIR") ? "WorkingDir" : !strcasecmp(kw, "USER") ? "User" : "StopSignal";
        json_object_set_new(cfg, key, json_string(rest));
        return 0;
    }
    char **w;
    size_t n = words_split(rest, &w);
    int r = 0;
    if (!strcasecmp(kw, "ENV") || !strcasecmp(kw, "LABEL")) {
        bool env = !strcasecmp(kw, "ENV");
        if (n && !strchr(w[0], '=')) { /* ENV K V..., the old form */
            const char *v = rest + strcspn(rest, " \t");
            while (*v == ' ' || *v == '\t')
                v++;
            if (env)
                env_set(cfg, w[0], v);
            else
                json_object_set_new(obj_of(cfg, "Labels"), w[0], json_string(v));
        } else {
            for (size_t i = 0; i < n && r == 0; i++) {
                char *eq = strchr(w[i], '=');
                if (!eq || eq == w[i]) {
                    r = nr_err_set(err, "--change \"%s\": \"%s\" is not KEY=VALUE", change, w[i]);
                    break;
                }
                *eq = 0;
                if (env)
                    env_set(cfg, w[i], eq + 1);
                else
                    json_object_set_new(obj_of(cfg, "Labels"), w[i], json_string(eq + 1));
            }
        }
    } else if (!strcasecmp(kw, "EXPOSE")) {
        json_t *ports = obj_of(cfg, "ExposedPorts");
        for (size_t i = 0; i < n && r == 0; i++) {
            char *end;
            long p = strtol(w[i], &end, 10);
            if (p < 1 || p > 65535 || (*end && strcmp(end, "/tcp") && strcmp(end, "/udp") && strcmp(end, "/sctp"))) {
                r = nr_err_set(err, "--change \"%s\": \"%s\" is not PORT[/tcp|udp|sctp]", change, w[i]);
                break;
            }
            cleanup_free char *k = nr_xasprintf("%ld%s", p, *end ? end : "/tcp");
            json_object_set_new(ports, k, json_object());
        }
    } else {
        r = nr_err_set(err, "--change \"%s\": %s cannot be changed (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, "
                            "USER, VOLUME, WORKDIR)", change, kw);
    }
    words_free(w, n);
    return r;
}

/* Before anything is written: no file in the upper dir that a layer could
 * not hold sensibly (see ctr_too_sparse).  Walked like the layer walk: dir
 * fds, no link followed. */
static int sparse_check(int dfd, const char *path, int depth, uint64_t *holes, nr_err *err)
{
    if (depth > 2048)
        return nr_err_set(err, "%s: too deep", path);
    int dup_fd = dup(dfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return nr_err_sys(err, errno, "read directory %s", path);
    }
    int r = 0;
    for (struct dirent *e; r == 0 && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        cleanup_free char *p = nr_xasprintf("%s/%s", strcmp(path, "/") ? path : "", e->d_name);
        /* a file of several names is written once: each name its share */
        *holes += ctr_holes(&st) / (st.st_nlink > 1 ? st.st_nlink : 1);
        if (ctr_too_sparse(&st)) {
            r = nr_err_set(err, "%s is a sparse file of %lld bytes with %lld allocated: refused (a layer holds every byte)",
                           p, (long long)st.st_size, (long long)st.st_blocks * 512);
        } else if (*holes > CTR_SPARSE_SLACK) {
            r = nr_err_set(err, "%s: the layer would hold more than %llu bytes of sparse files' holes: refused (a layer "
                                "holds every byte)", p, (unsigned long long)CTR_SPARSE_SLACK);
        } else if (S_ISDIR(st.st_mode)) {
            cleanup_close int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                r = sparse_check(sub, p, depth + 1, holes, err);
        }
    }
    closedir(d);
    return r;
}

typedef struct commit_opts {
    const char *msg, *author, *repo;
    char **changes;
    size_t nchanges;
    bool pause;
} commit_opts;

/* The image the container was made from: by the config digest run/create
 * recorded, else by the name it was given. */
static int image_of(nr_global *g, img_store *s, const char *id, const rt_state *st, img_image **img, nr_err *err)
{
    cleanup_free char *path = nr_xasprintf("%s/containers/%s/run.json", g->root, id);
    json_t *run = json_load_file(path, 0, NULL);
    const char *iid = json_string_value(json_object_get(run, "image_id"));
    int r = iid && *iid ? img_image_load(s, iid, img, err) : -1;
    json_decref(run);
    if (r == 0)
        return 0;
    memset(err, 0, sizeof *err);
    if (img_image_load(s, st->image, img, err) < 0)
        return nr_err_wrap(err, "the image of container %.12s (%s)", id, st->image);
    return 0;
}

static int commit_layer(img_store *s, int ufd, img_layer_desc *out, bool *empty, nr_err *err)
{
    uint64_t holes = 0;
    if (sparse_check(ufd, "/", 0, &holes, err) < 0)
        return -1;
    img_layer_writer *w;
    if (img_layer_writer_new(s, IMG_COMPRESS_GZIP, time(NULL), &w, err) < 0)
        return -1;
    img_upper_opts uo = {.userxattr = nr_in_userns()};
    long n = img_layer_add_upper(w, ufd, &uo, err);
    if (n <= 0) {
        img_layer_writer_abort(w);
        *empty = n == 0;
        return n < 0 ? nr_err_wrap(err, "the container's changes") : 0;
    }
    *empty = false;
    return img_layer_writer_commit_desc(w, out, err);
}

/* The pause commit makes outlives no nrun: a child of ours, which holds
 * nothing of the store, waits on a pipe and thaws the container when the
 * pipe ends without a word (nrun killed, even by SIGKILL, while the
 * container was frozen); thaw_done tells it the thaw is done. */
typedef struct thaw_guard {
    rt_cgroup *cg;
    bool frozen;
    int fd;
    pid_t pid;
} thaw_guard;

static int thaw_guard_start(thaw_guard *t, nr_err *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return nr_err_sys(err, errno, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return nr_err_sys(err, errno, "fork");
    }
    if (pid == 0) {
        /* a terminal's ^C or a kill of the group is for nrun, not for this */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        if (dup2(p[0], 3) < 0)
            _exit(1);
        syscall(SYS_close_range, 4, ~0U, 0); /* the store's locks stay nrun's */
        char c;
        ssize_t n;
        while ((n = read(3, &c, 1)) < 0 && errno == EINTR)
            ;
        if (n != 1) {
            nr_err ign;
            rt_cgroup_freeze(t->cg, false, &ign);
        }
        _exit(0);
    }
    close(p[0]);
    t->fd = p[1];
    t->pid = pid;
    return 0;
}

static void thaw_done(thaw_guard *t)
{
    if (t->frozen) {
        nr_err ign;
        rt_cgroup_freeze(t->cg, false, &ign);
        t->frozen = false;
    }
    if (t->fd >= 0) {
        (void)!write(t->fd, "t", 1);
        close(t->fd);
        t->fd = -1;
        while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
}

static int commit(nr_global *g, const char *ref, const commit_opts *o, nr_err *err)
{
    char id[65];
    rt_state st;
    if (rt_container_state(g->root, ref, id, &st, err) < 0)
        return -1;
    img_store *s = NULL;
    img_image *img = NULL;
    json_t *cfg = NULL, *base_history = NULL;
    img_layer_desc *layers = NULL;
    rt_cgroup cg = {0};
    thaw_guard thaw = {.cg = &cg, .fd = -1};
    int r = -1;
    cleanup_close int ufd = ctr_upper_open(g, id, err);
    if (ufd < 0)
        goto out;
    if (img_store_open(g->root, &s, err) < 0 || image_of(g, s, id, &st, &img, err) < 0)
        goto out;
    json_t *rc = img_image_runconfig(img);
    cfg = rc ? json_deep_copy(rc) : json_object();
    for (size_t i = 0; i < o->nchanges; i++)
        if (change_apply(cfg, o->changes[i], err) < 0)
            goto out;
    if (o->pause && !strcmp(rt_state_live_status(&st), "running") && !rt_state_paused(&st)) {
        rt_cgroup_from_json(st.cgroups, &cg);
        if (thaw_guard_start(&thaw, err) < 0)
            goto out;
        thaw.frozen = true; /* a freeze that fails half way is undone too */
        if (rt_cgroup_freeze(&cg, true, err) < 0)
            goto out;
    }
    layers = nr_xcalloc(img->n_layers + 1, sizeof *layers);
    memcpy(layers, img->layers, img->n_layers * sizeof *layers);
    bool empty;
    if (commit_layer(s, ufd, &layers[img->n_layers], &empty, err) < 0)
        goto out;
    thaw_done(&thaw);
    /* the base's history, when it names its layers (else a line each) */
    json_t *bh = json_object_get(img->config_json, "history");
    size_t nonempty = 0, i;
    json_t *v;
    json_array_foreach(bh, i, v) nonempty += !json_is_true(json_object_get(v, "empty_layer"));
    if (json_is_array(bh) && nonempty == img->n_layers)
        base_history = json_deep_copy(bh);
    else {
        base_history = json_array();
        for (i = 0; i < img->n_layers; i++)
            json_array_append_new(base_history, json_pack("{s:s}", "created_by", "(layer of the base image)"));
    }
    img_history_entry h = {.created_by = st.command, .comment = o->msg, .empty_layer = empty};
    img_image_spec spec = {.config = cfg, .layers = layers, .n_layers = img->n_layers + !empty, .history = &h,
                           .n_history = 1, .base_history = base_history, .created = time(NULL), .author = o->author};
    img_desc m;
    if (img_image_write(s, &spec, &m, err) < 0)
        goto out;
    if (o->repo && img_tag_set(s, o->repo, &m, err) < 0)
        goto out;
    /* the image ID docker prints: the config's digest */
    img_image *made;
    if (img_image_load_digest(s, m.digest, &made, err) < 0)
        goto out;
    printf("%s\n", made->config.digest);
    img_image_free(made);
    rt_event_container(g->root, "commit", id, &st, NULL);
    r = 0;
out:
    thaw_done(&thaw);
    rt_cgroup_free(&cg);
    free(layers);
    json_decref(cfg);
    json_decref(base_history);
    if (img)
        img_image_free(img);
    if (s)
        img_store_close(s);
    rt_state_free(&st);
    return r;
}

int nr_cmd_commit(int argc, char **argv, nr_global *g)
{
    static const nr_opt opts[] = {
        {"message", 'm', required_argument, "MSG", "the commit message (the history entry's comment)"},
        {"author", 'a', required_argument, "AUTHOR", "the image's author"},
        {"change", 'c', required_argument, "CHANGE",
         "apply an instruction to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"},
        {"pause", 'p', optional_argument, "BOOL", "pause the container while it is committed (default true)"},
        {0},
    };
    static const nr_cmdspec spec = {"commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                                    "Create a new image from a container's changes.", opts, true};
    commit_opts o = {.pause = true};
    char **changes = nr_xcalloc((size_t)argc + 1, sizeof *changes);
    int c;
    while ((c = nr_opt_next(&spec, argc, argv, g)) != -1) {
        switch (c) {
        case 'm': o.msg = optarg; break;
        case 'a': o.author = optarg; break;
        case 'c': changes[o.nchanges++] = optarg; break;
        case 'p':
            if (!optarg || !strcmp(optarg, "true") || !strcmp(optarg, "1"))
                o.pause = true;
            else if (!strcmp(optarg, "false") || !strcmp(optarg, "0"))
                o.pause = false;
            else {
                free(changes);
                return nr_usage_error(g, "commit: --pause=%s: expected true or false", optarg);
            }
            break;
        default: free(changes); return c == NR_OPT_HELP ? 0 : NR_EXIT_USAGE;
        }
    }
    o.changes = changes;
    int n = argc - optind;
    if (n < 1 || n > 2) {
        free(changes);
        return nr_usage_error(g, "commit: needs a CONTAINER and at most one REPOSITORY[:TAG]");
    }
    char norm[512];
    nr_err err = {0};
    if (n == 2) {
        if (img_ref_normalize(argv[optind + 1], norm, sizeof norm, &err) < 0) {
            free(changes);
            return nr_err_report(&err, g->prog, NR_EXIT_USAGE);
        }
        o.repo = norm;
    }
    int r = commit(g, argv[optind], &o, &err);
    free(changes);
    if (r < 0)
        return nr_err_report(&err, g->prog, NR_EXIT_FAIL);
    return 0;
}
