/* RUN: a build step that runs a command in a container of the stage so far
 * and keeps what it changed as a layer.
 *
 * The container is an ordinary one, made and run by the runtime library
 * (namespaces, cgroups, seccomp, capabilities, the one hardened entry), from
 * the stage's layers and config held in memory: the layers written so far
 * are put in the store first, nothing else (no config, no manifest) is.
 * The command runs as the stage's USER in its WORKDIR with its ENV and the
 * build ARGs in its environment, under the plain supervisor (a `node`
 * command is a process, not a cluster master).  Its overlay upper dir
 * becomes the layer (images/layer_diff.c: whiteouts, opaque dirs); a step
 * that changed nothing adds an empty_layer history entry.
 *
 * Network: --network=host (the default, so npm and apt reach their
 * registries), none, or default (= host until nrun has a bridge network).
 * Trust anchors: the host's CA bundle is bound read-only at HOST_CA_PATH
 * and named by NODE_EXTRA_CA_CERTS, SSL_CERT_FILE and friends for the step
 * only (--host-ca=false turns it off): never in a layer, the config or the
 * cache key.  So are Docker's predefined proxy ARGs given with --build-arg
 * (HTTP_PROXY, no_proxy, ...; build.c bld_proxy_env).
 *
 * Cache: key = the stage's chain + the command + its environment, user,
 * workdir and network; a hit reuses the layer (or the "changed nothing"
 * record) without running anything. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "builder/relay.h"
#include "builder/run_mount.h"
#include "common/util.h"
#include "images/layer.h"
#include "runtime/create.h"

/* In the container's /dev tmpfs: a bind there leaves nothing in the upper dir. */
#define HOST_CA_PATH "/dev/nrun-host-ca.crt"

/* ---- the cache: a layer, or "this step changed nothing" ---- */

static void empty_seen(bld_state *b, const char *key)
{
    b->empty_keys = nr_xrealloc(b->empty_keys, (b->n_empty_keys + 1) * sizeof *b->empty_keys);
    memcpy(b->empty_keys[b->n_empty_keys++], key, 65);
}

static bool cache_empty_get(bld_state *b, const char *key)
{
    cleanup_free char *p = nr_xasprintf("%s/layers/%s.empty", b->cache_dir, key);
    return bld_cache_usable(b, p) && access(p, F_OK) == 0;
}

void bld_cache_empty_put(bld_state *b, const char *key)
{
    nr_err e;
    cleanup_free char *dir = nr_xasprintf("%s/layers", b->cache_dir);
    cleanup_free char *name = nr_xasprintf("%s.empty", key);
    if (nr_mkdir_p(dir, 0700, &e) < 0)
        return;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        nr_write_atomic(dfd, name, "", 0, 0600, &e);
}

/* ---- the step's upper dir, kept for the rest of the build ---- */

/* A tree of the stage (COPY --from, RUN --mount from=) reads the step's
 * files from its upper dir, pruned to the layer's changes, rather than
 * from the blob unpacked again: no second pass over the files, and no
 * inodes freed by removing the container just before as many are made. */
static void upper_keep(bld_state *b, const char *diff_id, const char *ctr_id, char **dir)
{
    b->uppers = nr_xrealloc(b->uppers, (b->n_uppers + 1) * sizeof *b->uppers);
    struct bld_upper *u = &b->uppers[b->n_uppers++];
    snprintf(u->diff_id, sizeof u->diff_id, "%s", diff_id);
    u->ctr_id = nr_xstrdup(ctr_id);
    u->dir = steal_ptr(dir);
}

/* Does a later stage that the target needs read this one (COPY --from,
 * RUN --mount from=; FROM too, though a RUN there unpacks the layer from
 * its blob)?  Only then is a step's upper dir worth keeping: a tree would
 * otherwise unpack the layer, taking the same room. */
static bool read_later(const bld_state *b, const bld_stage *st)
{
    size_t cur = (size_t)(st - b->stages);
    for (size_t k = cur + 1; b->stage_deps && k < b->n_all_stages; k++)
        if (b->stage_needed[k] && b->stage_deps[k][cur])
            return true;
    return false;
}

const char *bld_upper_of(const bld_state *b, const char *diff_id)
{
    for (size_t i = b->n_uppers; i-- > 0;)
        if (!strcmp(b->uppers[i].diff_id, diff_id))
            return b->uppers[i].dir;
    return NULL;
}

void bld_uppers_remove(bld_state *b)
{
    for (size_t i = 0; i < b->n_uppers; i++) {
        nr_err ign;
        rt_container_remove(img_store_root(b->s), b->uppers[i].ctr_id, &ign);
        free(b->uppers[i].ctr_id);
        free(b->uppers[i].dir);
    }
    free(b->uppers);
    b->uppers = NULL;
    b->n_uppers = 0;
}

/* ---- the step ---- */

static void add_layer(bld_state *b, bld_stage *st, const char *text, const img_layer_desc *l, bool cached)
{
    bld_step *s = nr_xcalloc(1, sizeof *s);
    s->text = nr_xstrdup(text);
    memcpy(s->key, st->chain, sizeof s->key); /* the step's cache key (regcache.c exports it) */
    s->layer = *l;
    s->done = true;
    s->cached = cached;
    s->keep = true;
    st->layers = nr_xrealloc(st->layers, (st->n_layers + 1) * sizeof *st->layers);
    st->layers[st->n_layers++] = s;
    b->steps = nr_xrealloc(b->steps, (b->n_steps + 1) * sizeof *b->steps);
    b->steps[b->n_steps++] = s;
    bld_hist_add(st, text, false);
}

static void dir_seen(void *arg, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    bld_stage_set_dir(arg, path, mode, uid, gid);
}

static void link_seen(void *arg, const char *path, const char *target)
{
    bld_stage_set_link(arg, path, target);
}

/* The ARGs of the stage as environment entries, where ENV does not set the
 * same name (ENV wins, as Docker's RUN sees it). */
static void arg_env(bld_stage *st, char ***env, size_t *n)
{
    for (size_t i = 0; i < st->n_args; i++) {
        if (!st->args[i].value)
            continue;
        bool set_by_env = false;
        size_t k;
        json_t *e;
        size_t nl = strlen(st->args[i].name);
        json_array_foreach(json_object_get(st->config, "Env"), k, e) {
            const char *s = json_string_value(e);
            set_by_env |= s && !strncmp(s, st->args[i].name, nl) && s[nl] == '=';
        }
        if (set_by_env)
            continue;
        *env = nr_xrealloc(*env, (*n + 1) * sizeof **env);
        (*env)[(*n)++] = nr_xasprintf("%s=%s", st->args[i].name, st->args[i].value);
    }
}

/* The upper dir of the finished step as a layer; *entries = 0 when the
 * step changed nothing (the writer is then abandoned). */
static int upper_to_layer(bld_state *b, bld_stage *st, const char *upper, const char *const *skip,
                          img_layer_desc *out, size_t *entries, nr_err *err)
{
    cleanup_close int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ufd < 0)
        return nr_err_sys(err, errno, "open %s", upper);
    img_layer_writer *w;
    if (img_layer_writer_new(b->s, b->o->compress, -1, &w, err) < 0)
        return -1;
    img_layer_writer_set_stop(w, &bld_stop_sig);
    /* files that only record when the step ran, as npm and apt leave them:
     * left out, so two builds of one context give one layer (npm's cache
     * index holds each entry's time: its content store stays, unindexed) */
    static const char *const stamps[] = {
        "/root/.npm/_logs", "/home/node/.npm/_logs", "/root/.npm/_cacache/index-v5",
        "/home/node/.npm/_cacache/index-v5", "/var/log/apt", "/var/log/dpkg.log",
        "/var/log/alternatives.log", "/var/cache/ldconfig/aux-cache", "/var/cache/apt/pkgcache.bin",
        "/var/cache/apt/srcpkgcache.bin", "/var/cache/debconf/templates.dat-old",
        "/var/cache/debconf/config.dat-old",
    };
    size_t ns = 0;
    while (skip && skip[ns])
        ns++;
    const char **all = nr_xcalloc(ns + NR_ARRAY_LEN(stamps) + 1, sizeof *all);
    for (size_t i = 0; i < ns; i++)
        all[i] = skip[i];
    for (size_t i = 0; i < NR_ARRAY_LEN(stamps); i++)
        all[ns + i] = stamps[i];
    img_upper_opts uo = {.skip = all, .prune = true, .dir_cb = dir_seen, .link_cb = link_seen, .arg = st, .userxattr = nr_in_userns()};
    long n = img_layer_add_upper(w, ufd, &uo, err);
    free(all);
    if (n <= 0) {
        img_layer_writer_abort(w);
        *entries = 0;
        return n < 0 ? -1 : 0;
    }
    if (img_layer_writer_commit_desc(w, out, err) < 0)
        return bld_stop_sig ? bld_interrupted(err) : -1;
    *entries = (size_t)n;
    return 0;
}

typedef struct run_cmd {
    char **argv;
    size_t argc;
    const char *network; /* the runtime's name: "host" or "none" */
    char *text;          /* history: "RUN ..." */
    const char *script;  /* a #! heredoc's body (the instruction's), executed at */
    char *script_at;     /* /dev/pipes/NAME */
} run_cmd;

static void run_cmd_free(run_cmd *c)
{
    for (size_t i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->text);
    free(c->script_at);
}

/* The flags of a RUN: checked for the whole file before any step runs. */
static int run_flags(bld_state *b, const bld_instr *in, const char **network, nr_err *err)
{
    /* the build's (nbuild --network): a Dockerfile may narrow it, never
     * widen it; --network none is what a Dockerfile one does not trust
     * runs under (as BuildKit's RUN --network=host needs the caller's
     * network.host entitlement), and `default` is the build's, not host */
    const char *build_net = b->o->network ? b->o->network : "host";
    *network = build_net;
    for (size_t i = 0; i < in->nflags; i++) {
        const bld_flag *f = &in->flags[i];
        const char *v = f->value ? f->value : "";
        if (!strcmp(f->name, "network")) {
            if (!strcmp(v, "default"))
                *network = build_net;
            else if (!strcmp(v, "host") && !strcmp(build_net, "none"))
                return bld_errat(err, &b->f, in, f->off,
                                 "RUN --network=host: this build runs with nbuild --network none, which a Dockerfile "
                                 "cannot lift");
            else if (!strcmp(v, "host"))
                *network = "host";
            else if (!strcmp(v, "none"))
                *network = "none";
            else
                return bld_errat(err, &b->f, in, f->off, "RUN --network=%s: expected default, host or none", v);
        } else if (!strcmp(f->name, "security")) {
            if (strcmp(v, "sandbox"))
                return bld_errat(err, &b->f, in, f->off, "RUN --security=%s: only sandbox is supported", v);
        } else if (!strcmp(f->name, "mount")) {
            bld_run_mount m;
            int r = bld_run_mount_parse(b, NULL, in, f, "/", &m, err);
            bld_run_mount_free(&m);
            if (r < 0)
                return -1;
        } else {
            return bld_errat(err, &b->f, in, f->off, "RUN --%s is not supported yet", f->name);
        }
    }
    return 0;
}

int bld_run_check(bld_state *b, const bld_instr *in, nr_err *err)
{
    const char *net;
    if (run_flags(b, in, &net, err) < 0)
        return -1;
    if (in->json ? in->nargs == 0 : in->rest_off >= in->len)
        return bld_errat(err, &b->f, in, in->kw_off, "RUN: an empty command");
    return 0;
}

/* The RUN that is one heredoc and nothing else, or NULL. */
static const bld_heredoc *sole_heredoc(const bld_instr *in, const char *cmd)
{
    const bld_heredoc *h = in->nheredocs == 1 ? &in->heredocs[0] : NULL;
    size_t wl = h ? h->end - h->off : 0;
    return h && strlen(cmd) == wl && !strncmp(cmd, in->text + h->off, wl) ? h : NULL;
}

/* The shell-form command with its heredocs, as BuildKit runs it: a RUN
 * that is one heredoc and nothing else gives the shell its content as the
 * script (one that starts with #! is a file the step executes:
 * parse_run); any other use (`python3 <<EOF`, several heredocs) gives the
 * shell the command line followed by the bodies and their delimiters, so
 * the shell's own heredocs apply. */
static char *heredoc_script(const bld_instr *in, const char *cmd)
{
    const bld_heredoc *h = sole_heredoc(in, cmd);
    if (h)
        return nr_xstrdup(h->data);
    nr_buf o = {0};
    nr_buf_addstr(&o, cmd);
    for (size_t i = 0; i < in->nheredocs; i++)
        nr_buf_addf(&o, "\n%s%s", in->heredocs[i].body, in->heredocs[i].name);
    nr_buf_add(&o, "", 1);
    return o.data;
}

static int parse_run(bld_state *b, bld_stage *st, const bld_instr *in, run_cmd *c, nr_err *err)
{
    memset(c, 0, sizeof *c);
    if (run_flags(b, in, &c->network, err) < 0)
        return -1;
    nr_buf t = {0};
    nr_buf_addstr(&t, "RUN ");
    if (in->json) {
        if (in->nargs == 0)
            return bld_errat(err, &b->f, in, in->rest_off, "RUN: an empty command");
        c->argv = nr_xcalloc(in->nargs + 1, sizeof *c->argv);
        for (size_t i = 0; i < in->nargs; i++)
            c->argv[c->argc++] = nr_xstrdup(in->args[i].s);
        json_t *a = json_array();
        for (size_t i = 0; i < c->argc; i++)
            json_array_append_new(a, json_string(c->argv[i]));
        char *s = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        nr_buf_addstr(&t, s ? s : "[]");
        free(s);
    } else {
        cleanup_free char *cmd = bld_instr_rest(in, in->rest_off);
        if (!*cmd)
            return bld_errat(err, &b->f, in, in->rest_off, "RUN: an empty command");
        const bld_heredoc *h = in->nheredocs ? sole_heredoc(in, cmd) : NULL;
        if (h && !strncmp(h->data, "#!", 2)) {
            /* BuildKit's way: the body is /dev/pipes/NAME, executed (no
             * shell); the kernel runs its interpreter on that path */
            bool plain = *h->name && !strpbrk(h->name, "/:") && strcmp(h->name, ".") && strcmp(h->name, "..");
            c->script = h->data;
            c->script_at = nr_xasprintf("/dev/pipes/%s", plain ? h->name : "script");
            c->argv = nr_xcalloc(2, sizeof *c->argv);
            c->argv[c->argc++] = nr_xstrdup(c->script_at);
            nr_buf_addf(&t, "%s\n%s%s%s", cmd, h->data,
                        *h->data && h->data[strlen(h->data) - 1] != '\n' ? "\n" : "", h->name);
            nr_buf_add(&t, "", 1);
            c->text = t.data;
            return 0;
        }
        char *script = in->nheredocs ? heredoc_script(in, cmd) : steal_ptr(&cmd);
        size_t ns = json_array_size(st->shell);
        c->argv = nr_xcalloc(ns + 2, sizeof *c->argv);
        for (size_t i = 0; i < ns; i++)
            c->argv[c->argc++] = nr_xstrdup(json_string_value(json_array_get(st->shell, i)));
        c->argv[c->argc++] = script;
        for (size_t i = 0; i < ns; i++)
            nr_buf_addf(&t, "%s ", json_string_value(json_array_get(st->shell, i)));
        nr_buf_addstr(&t, script); /* the history shows what ran, heredocs included (as BuildKit's) */
    }
    nr_buf_add(&t, "", 1);
    c->text = t.data;
    return 0;
}

/* Everything the result depends on besides the layers: part of the key. */
static char *key_text(const bld_state *b, bld_stage *st, const run_cmd *c, char **env, size_t nenv, const char *mounts)
{
    json_t *k = json_object();
    json_t *a = json_array();
    for (size_t i = 0; i < c->argc; i++)
        json_array_append_new(a, json_string(c->argv[i]));
    json_object_set_new(k, "run", a);
    json_t *e = json_deep_copy(json_object_get(st->config, "Env"));
    if (!e)
        e = json_array();
    for (size_t i = 0; i < nenv; i++)
        json_array_append_new(e, json_string(env[i]));
    json_object_set_new(k, "env", e);
    for (const char *const *f = (const char *const[]){"User", "WorkingDir", NULL}; *f; f++) {
        json_t *v = json_object_get(st->config, *f);
        if (v)
            json_object_set(k, *f, v);
    }
    json_object_set_new(k, "network", json_string(c->network));
    if (b->o->n_add_hosts) { /* --add-host: the step's /etc/hosts, as BuildKit keys it */
        json_t *h = json_array();
        for (size_t i = 0; i < b->o->n_add_hosts; i++)
            json_array_append_new(h, json_string(b->o->add_hosts[i]));
        json_object_set_new(k, "hosts", h);
    }
    if (mounts && *mounts)
        json_object_set_new(k, "mounts", json_string(mounts));
    char *s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(k);
    return s;
}

/* The container's view of the stage: its layers (written to the store
 * first) and a config without what would make the runtime add to the run
 * (volumes, healthcheck, ports). */
static int stage_image(bld_state *b, bld_stage *st, img_image *img, nr_err *err)
{
    memset(img, 0, sizeof *img);
    for (size_t i = 0; i < st->n_layers; i++)
        if (!st->layers[i]->done && bld_step_write(b, st->layers[i], err) < 0)
            return nr_err_wrap(err, "writing layer for \"%s\"", st->layers[i]->text);
    json_t *cfg = json_deep_copy(st->config);
    json_object_del(cfg, "Volumes");
    json_object_del(cfg, "Healthcheck");
    json_object_del(cfg, "ExposedPorts");
    json_object_del(cfg, "Entrypoint");
    json_object_del(cfg, "Cmd");
    img->config_json = json_pack("{s:o}", "config", cfg);
    img->layers = nr_xcalloc(st->n_layers + 1, sizeof *img->layers);
    for (size_t i = 0; i < st->n_layers; i++)
        img->layers[img->n_layers++] = st->layers[i]->layer;
    return 0;
}

/* The step's mounts (RUN --mount) and their part of the cache key. */
typedef struct run_mounts {
    bld_run_mount *m;
    size_t n;
    char **vols;     /* -v specs: the trust anchors, then the mounts */
    size_t nvols;
    char **tmp;      /* what to undo after the step (secret copies, bind mounts) */
    size_t ntmp;
    char **tmpfs;    /* the runtime's tmpfs specs */
    size_t ntmpfs;
    char **envs;     /* secrets' env= ("NAME=VALUE"): the step's environment only */
    size_t nenvs;
    const char **skip; /* the targets: none of them is in the layer */
} run_mounts;

static void mounts_free(run_mounts *r)
{
    for (size_t i = 0; i < r->n; i++)
        bld_run_mount_free(&r->m[i]);
    for (size_t i = 0; i < r->nvols; i++)
        free(r->vols[i]);
    for (size_t i = 0; i < r->ntmp; i++) {
        bld_run_mount_cleanup(r->tmp[i]);
        free(r->tmp[i]);
    }
    free(r->m);
    free(r->vols);
    free(r->tmp);
    for (size_t i = 0; i < r->ntmpfs; i++)
        free(r->tmpfs[i]);
    free(r->tmpfs);
    for (size_t i = 0; i < r->nenvs; i++)
        free(r->envs[i]); /* NULL once moved into the step's environment */
    free(r->envs);
    free(r->skip);
}

static int mounts_parse(bld_state *b, bld_stage *st, const bld_instr *in, run_mounts *r, nr_buf *key, nr_err *err)
{
    const char *wd = json_string_value(json_object_get(st->config, "WorkingDir"));
    r->m = nr_xcalloc(in->nflags + 1, sizeof *r->m);
    r->skip = nr_xcalloc(in->nflags + 3, sizeof *r->skip);
    size_t ns = 0;
    for (size_t i = 0; i < in->nflags; i++) {
        if (strcmp(in->flags[i].name, "mount"))
            continue;
        if (bld_run_mount_parse(b, st, in, &in->flags[i], wd, &r->m[r->n], err) < 0) {
            bld_run_mount_free(&r->m[r->n]);
            return -1;
        }
        r->n++;
        if (bld_run_mount_key(b, in, &r->m[r->n - 1], key, err) < 0)
            return -1;
        if (r->m[r->n - 1].target) /* an env-only secret mounts nothing */
            r->skip[ns++] = r->m[r->n - 1].target;
    }
    /* the directory the runtime makes for secrets at their default place */
    for (size_t i = 0; i < r->n; i++)
        if (r->m[i].type == BLD_MOUNT_SECRET && r->m[i].target && !strncmp(r->m[i].target, "/run/secrets/", 13)) {
            r->skip[ns++] = "/run/secrets";
            break;
        }
    /* and for ssh agents (BuildKit's /run/buildkit/ssh_agent.N) */
    for (size_t i = 0; i < r->n; i++)
        if (r->m[i].type == BLD_MOUNT_SSH && r->m[i].target && !strncmp(r->m[i].target, "/run/buildkit/", 14)) {
            r->skip[ns++] = "/run/buildkit";
            break;
        }
    return 0;
}

static int mounts_make(bld_state *b, const bld_instr *in, run_mounts *r, nr_err *err)
{
    r->vols = nr_xcalloc(r->n + 3, sizeof *r->vols); /* + the CA, a #! script, the Alpine translations */
    r->tmp = nr_xcalloc(r->n + 1, sizeof *r->tmp);
    r->tmpfs = nr_xcalloc(r->n + 1, sizeof *r->tmpfs);
    r->envs = nr_xcalloc(2 * r->n + 1, sizeof *r->envs);
    bool ssh_env = false;
    if (b->o->host_ca)
        r->vols[r->nvols++] = nr_xasprintf("%s:%s:ro", b->o->host_ca, HOST_CA_PATH);
    for (size_t i = 0; i < r->n; i++) {
        char *vol, *tmp;
        int rc = bld_run_mount_volume(b, in, &r->m[i], &vol, &tmp, err);
        if (tmp)
            r->tmp[r->ntmp++] = tmp;
        if (rc < 0)
            return -1;
        char *e;
        if (bld_run_mount_env(b, in, &r->m[i], &e, err) < 0)
            return -1;
        if (e)
            r->envs[r->nenvs++] = e;
        /* the first ssh mount with an agent is SSH_AUTH_SOCK, as BuildKit sets it */
        if (vol && r->m[i].type == BLD_MOUNT_SSH && !ssh_env) {
            r->envs[r->nenvs++] = nr_xasprintf("SSH_AUTH_SOCK=%s", r->m[i].target);
            ssh_env = true;
        }
        if (vol && r->m[i].type == BLD_MOUNT_TMPFS)
            r->tmpfs[r->ntmpfs++] = vol;
        else if (vol)
            r->vols[r->nvols++] = vol;
    }
    return 0;
}


/* A step that failed to start or run: where it is (file:line:col) and the
 * command's first 200 bytes, as an exit code's message says them. */
static void step_wrap(nr_err *err, const bld_state *b, const bld_instr *in, const char *text)
{
    int line, col;
    bld_instr_pos(in, in->kw_off, &line, &col);
    nr_err_wrap(err, "%s:%d:%d: %.200s%s", b->f.path, line, col, text, strlen(text) > 200 ? "..." : "");
}

int bld_run_plan(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err)
{
    run_cmd c;
    run_mounts mnt = {0};
    char **env = NULL;
    size_t nenv = 0;
    int rc = -1;
    img_layer_desc l;
    img_image img = {0};
    rt_created cr = {0};
    bool created = false;
    char *kt = NULL, *tail = NULL, *upper = NULL, *alpine_dir = NULL;
    char alpine_hash[65];
    nr_buf mkey = {0};
    if (parse_run(b, st, in, &c, err) < 0)
        goto out;
    arg_env(st, &env, &nenv);
    if (mounts_parse(b, st, in, &mnt, &mkey, err) < 0)
        goto out;
    if (c.script) { /* what the step executes is part of its key */
        char h[65];
        nr_sha256_hex(c.script, strlen(c.script), h);
        nr_buf_addf(&mkey, "\nscript %s sha256:%s", c.script_at, h);
    }
    if (*st->alpine_from) { /* the translations are part of what the step runs */
        if (bld_alpine_shim(b, st->alpine_branch, &alpine_dir, alpine_hash, err) < 0) {
            step_wrap(err, b, in, c.text);
            goto out;
        }
        nr_buf_addf(&mkey, "\nalpine-compat sha256:%s", alpine_hash);
    }
    nr_buf_add(&mkey, "", 1);
    kt = key_text(b, st, &c, env, nenv, mkey.data);
    bld_chain_add(st, kt);
    char key[65];
    memcpy(key, st->chain, sizeof key);
    if (bld_cache_get(b, key, &l)) {
        add_layer(b, st, c.text, &l, true);
        bld_stage_learn_layer(b, st, &l);
        bld_stage_pw_stale(st);
        rc = 0;
        goto out;
    }
    if (cache_empty_get(b, key)) {
        empty_seen(b, key);
        bld_hist_add(st, c.text, true);
        if (b->o->progress)
            fprintf(b->o->progress, "%s--> CACHED (no change)\n", b->prefix ? b->prefix : "");
        rc = 0;
        goto out;
    }
    if (st->n_layers == 0) {
        bld_errat(err, &b->f, in, in->kw_off, "RUN in an image with no layers (FROM scratch) has nothing to run");
        goto out;
    }
    if (stage_image(b, st, &img, err) < 0 || mounts_make(b, in, &mnt, err) < 0)
        goto out;
    if (c.script) {
        char *vol = NULL, *tmp = NULL;
        int r = bld_run_script_volume(b, c.script, c.script_at, &vol, &tmp, err);
        if (tmp)
            mnt.tmp[mnt.ntmp++] = tmp;
        if (r < 0)
            goto out;
        mnt.vols[mnt.nvols++] = vol;
    }
    /* the step's own environment: ARGs, the proxy settings, secrets' env=, and the host's trust anchors */
    bld_proxy_env(b, st, &env, &nenv);
    for (size_t i = 0; i < mnt.nenvs; i++) {
        env = nr_xrealloc(env, (nenv + 1) * sizeof *env);
        env[nenv++] = mnt.envs[i]; /* moved: freed with the environment */
        mnt.envs[i] = NULL;
    }
    if (alpine_dir) {
        /* apk, adduser, addgroup first on the step's PATH, from a read-only
         * directory that no layer holds */
        mnt.vols[mnt.nvols++] = nr_xasprintf("%s:%s:ro", alpine_dir, BLD_ALPINE_DIR);
        const char *path = NULL;
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(st->config, "Env"), k, e) {
            const char *v = json_string_value(e);
            if (v && !strncmp(v, "PATH=", 5))
                path = v + 5;
        }
        /* FROM alpine:<branch>: the node release apk add nodejs installs,
         * when the step may ask for it (its command, ARG or ENV values name it) */
        size_t nt = 0;
        const char **texts = nr_xcalloc(nenv + json_array_size(json_object_get(st->config, "Env")) + 1, sizeof *texts);
        texts[nt++] = c.text;
        for (size_t i = 0; i < nenv; i++)
            texts[nt++] = env[i];
        json_array_foreach(json_object_get(st->config, "Env"), k, e) {
            if (json_string_value(e))
                texts[nt++] = json_string_value(e);
        }
        int nb = bld_alpine_node_binds(b, st->alpine_branch, texts, nt, &mnt.vols, &mnt.nvols, err);
        free(texts);
        if (nb < 0) {
            step_wrap(err, b, in, c.text);
            goto out;
        }
        env = nr_xrealloc(env, (nenv + 1) * sizeof *env);
        env[nenv++] = nr_xasprintf("PATH=%s:%s", BLD_ALPINE_DIR,
                                   path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }
    if (b->o->host_ca) {
        static const char *const vars[] = {"NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
                                           "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO", "npm_config_cafile"};
        for (size_t i = 0; i < NR_ARRAY_LEN(vars); i++) {
            env = nr_xrealloc(env, (nenv + 1) * sizeof *env);
            env[nenv++] = nr_xasprintf("%s=%s", vars[i], HOST_CA_PATH);
        }
    }
    rt_run_opts o = {.net = c.network, .cmd = c.argv, .ncmd = c.argc, .entrypoint_set = true, .entrypoint = "",
                     .env = env, .nenv = nenv, .mode = 2, .workers = 1, .volumes = mnt.vols,
                     .nvolumes = mnt.nvols, .tmpfs = mnt.tmpfs, .ntmpfs = mnt.ntmpfs, .ephemeral = true /* a killed nbuild's is swept */,
                     .extra_hosts = (char **)b->o->add_hosts, .nextra_hosts = b->o->n_add_hosts};
    if (rt_container_create_image(b->s, img_store_root(b->s), &img, RT_BUILD_STEP_IMAGE, &o, &cr, err) < 0) {
        step_wrap(err, b, in, c.text);
        goto out;
    }
    created = true;
    bld_relay r = {0};
    if (bld_relay_start(&r, b->o->quiet, b->prefix, err) < 0)
        goto out;
    rt_run_params rp = {0};
    rt_stop_forwarded = 0;
    if (bld_stop_sig) { /* came while the step's container was made */
        /* our stdout and stderr back first: the error said next must not go
         * into the relay's pipe, which dies with us before showing it */
        size_t none;
        free(bld_relay_end(&r, &none));
        bld_interrupted(err);
        goto out;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* the runtime's foreground wait gives our handlers and mask back: a
     * stop while the layer is written is seen (bld_stop_sig) */
    int code = rt_run_foreground(img_store_root(b->s), cr.id, &rp, err);
    size_t shown = 0;
    tail = bld_relay_end(&r, &shown);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (code == 0 && !rt_stop_forwarded && b->o->progress && b->o->tty) {
        /* a tty view: the step's output folds away once it succeeded */
        if (shown)
            fprintf(b->o->progress, "\033[%zuF\033[J", shown);
        fprintf(b->o->progress, "%s--> DONE %.1fs\n", b->prefix ? b->prefix : "", secs);
    } else if (code == 0 && !rt_stop_forwarded && b->o->progress) {
        fprintf(b->o->progress, "%s--> DONE %.1fs\n", b->prefix ? b->prefix : "", secs);
    }
    if (code < 0) {
        step_wrap(err, b, in, c.text);
        goto out;
    }
    if (rt_stop_forwarded || bld_stop_sig) {
        /* we were asked to stop: the step is cut short, whatever its code */
        bld_interrupted(err);
        step_wrap(err, b, in, c.text);
        goto out;
    }
    if (code != 0) {
        int line, col;
        bld_instr_pos(in, in->kw_off, &line, &col);
        size_t tl = strlen(tail);
        /* the message holds the step's last lines, as many as fit */
        const char *t = tail;
        while (tl > 700 && strchr(t, '\n')) {
            t = strchr(t, '\n') + 1;
            tl = strlen(t);
        }
        /* 127: a command not found; in a Debian image substituted for an
         * Alpine tag, most likely one of Alpine's */
        cleanup_free char *hint = code == 127 && *st->alpine_from
                                      ? nr_xasprintf(" (this stage's base is %s, which nbuild used for %s: "
                                                     "Alpine's apk, adduser and addgroup are translated, its other "
                                                     "commands are not in it)",
                                                     st->alpine_to, st->alpine_from)
                                      : NULL;
        /* Alpine's apk configuration (echo ... >>/etc/apk/repositories) has no file here */
        if (!hint && *st->alpine_from && strstr(c.text, "/etc/apk/"))
            hint = nr_xasprintf(" (this stage's base is %s, which nbuild used for %s: it has no /etc/apk, apk "
                                "is translated to apt-get and its packages come from Debian's archive, so Alpine's "
                                "repositories and keys have no place; --base-map chooses another base)",
                                st->alpine_to, st->alpine_from);
        nr_err_set(err, "%s:%d:%d: %.200s: exit code %d%s%s%.700s", b->f.path, line, col, c.text, code,
                   hint ? hint : "", *t ? "; its last output:\n" : "", t);
        err->errnum = 0;
        goto out;
    }
    upper = nr_xasprintf("%s/containers/%s/upper", img_store_root(b->s), cr.id);
    size_t n = 0;
    if (upper_to_layer(b, st, upper, mnt.skip, &l, &n, err) < 0) {
        nr_err_wrap(err, "%s: the step's changes", c.text);
        goto out;
    }
    if (n == 0) {
        bld_hist_add(st, c.text, true);
        bld_cache_empty_put(b, key);
        empty_seen(b, key);
    } else {
        add_layer(b, st, c.text, &l, false);
        bld_cache_put(b, key, &l);
        bld_stage_pw_stale(st);
        if (read_later(b, st)) {
            upper_keep(b, l.diff_id, cr.id, &upper);
            created = false; /* removed with the build's others */
        }
    }
    rc = 0;
out:
    if (created) {
        nr_err ign;
        rt_container_remove(img_store_root(b->s), cr.id, &ign);
    }
    free(cr.name);
    mounts_free(&mnt);
    json_decref(img.config_json);
    free(img.layers);
    for (size_t i = 0; i < nenv; i++)
        free(env[i]);
    free(env);
    free(kt);
    free(tail);
    free(upper);
    free(alpine_dir);
    nr_buf_free(&mkey);
    run_cmd_free(&c);
    return rc;
}
