/* RUN --mount: what a build step sees besides the stage's files, and never
 * keeps in its layer.
 *
 *   type=cache,target=DIR[,id=ID][,uid=N][,gid=N][,mode=OCTAL][,sharing=..][,ro]
 *       a directory kept under the store's cache/build/mounts/ across builds
 *       (the second `npm ci` finds ~/.npm filled); its content is in no
 *       layer and no cache key.
 *   type=secret,id=ID[,target=FILE][,env=VAR][,required][,uid=N][,gid=N][,mode=OCTAL]
 *       nbuild --secret id=ID,src=FILE|env=VAR, as a read-only file (default
 *       /run/secrets/ID, mode 0400) and/or, with env=, the step's variable VAR
 *       (then no file unless target= is given, as BuildKit does): in no
 *       layer, cache key, history or log.
 *   type=bind[,source=PATH],target=DIR[,from=STAGE|IMAGE][,rw]
 *       a read-only view of the context's PATH (default the whole context),
 *       resolved with the context as its root; its content digest is part
 *       of the cache key.  A source that is, or a directory that holds, a
 *       path the ignore file excludes is refused, judged by the path it
 *       resolved to: the step would see what the context hides (BuildKit
 *       never sends it).
 *       from=: PATH in an earlier stage or an image, resolved inside its
 *       root (an absolute link or ".." stays in it, as for COPY --from);
 *       the stage's chain or the image's digest is in the key.  rw: the
 *       step may write, into an overlay upper dir of its own that is
 *       dropped after the step (never in a layer, never in the source).
 *   type=tmpfs,target=DIR[,size=N[k|m|g]]
 *       an empty tmpfs for the step.
 *   type=ssh[,id=ID][,target=SOCKET][,required][,uid=N][,gid=N][,mode=OCTAL]
 *       the agent of `nbuild --ssh ID`, through a socket of the step's own
 *       at target (uid:gid, mode; default /run/buildkit/ssh_agent.0, 0:0,
 *       0600) relayed to it (ssh.c); SSH_AUTH_SOCK is the first one's
 *       target.  No --ssh of that ID: the step runs without an agent, as
 *       BuildKit runs an optional ssh mount when none is forwarded (`RUN
 *       --mount=type=ssh npm ci` of public packages builds); with required
 *       it is an error before any step runs.
 *
 * Each becomes one of the runtime's -v binds (or tmpfs mounts) for the
 * step's container (run_mount_make.c makes them), and its target is left out of the layer
 * (img_upper_opts.skip).  A bind's source is checked once, through an fd,
 * and that very object is cloned (open_tree) and attached at
 * cache/build/binds/<pid>-<random>/src while the step runs; the runtime
 * binds that path, which no one but nbuild can change, never the source's
 * own path again (a context writer could have swapped it for a symlink to
 * the host).  Binds from a stage and rw binds resolve their source in an
 * overlay mount of their own there (tree/).  Not yet: cache from= (a
 * clear error). */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/build_int.h"
#include "builder/fetch.h"
#include "builder/run_mount.h"
#include "builder/select.h"
#include "common/util.h"
#include "images/unpack.h"

#define SECRET_MAX (500u << 10) /* BuildKit's limit */

static void bind_drop(int dfd, const char *dir, const char *name)
{
    (void)dfd;
    cleanup_free char *p = nr_xasprintf("%s/%s", dir, name);
    bld_run_mount_cleanup(p);
}

static void dir_drop(int dfd, const char *dir, const char *name)
{
    (void)dir;
    nr_err ign;
    nr_rm_rf(dfd, name, &ign);
}

void bld_secrets_sweep(bld_state *b)
{
    cleanup_free char *binds = nr_xasprintf("%s/binds", b->cache_dir);
    bld_sweep_dead(binds, bind_drop);
    cleanup_free char *secrets = nr_xasprintf("%s/secrets", b->cache_dir);
    bld_sweep_dead(secrets, NULL);
    /* --ssh agents of a killed nbuild (their guards ended them): their directories */
    cleanup_free char *ssh = nr_xasprintf("%s/ssh", b->cache_dir);
    bld_sweep_dead(ssh, dir_drop);
}

void bld_run_mount_free(bld_run_mount *m)
{
    free(m->target);
    free(m->id);
    free(m->source);
    free(m->from);
    free(m->size);
    free(m->env);
    memset(m, 0, sizeof *m);
}

/* A POSIX shell variable name: what env= may name. */
static bool valid_env_name(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static int num(const char *v, unsigned long max, int base, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, base);
    if (!*v || *end || errno || n > max || *v == '-')
        return -1;
    *out = n;
    return 0;
}

int bld_run_mount_parse(bld_state *b, bld_stage *st, const bld_instr *in, const bld_flag *f, const char *wd,
                        bld_run_mount *m, nr_err *err)
{
    memset(m, 0, sizeof *m);
    m->off = f->off;
    m->mode = 0755;
    m->type = BLD_MOUNT_BIND;
    const char *v = f->value ? f->value : "";
    cleanup_free char *copy = nr_xstrdup(v);
    if (!st && strchr(v, '$'))
        return 0; /* its values are known when its step plans */
    bool mode_set = false;
    for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        const char *val = eq ? eq + 1 : "";
        if (eq)
            *eq = 0;
        cleanup_free char *expanded = NULL;
        if (st && eq && strchr(val, '$')) {
            bld_word w = {.s = (char *)val, .off = f->off + 2 + strlen(f->name) + 1 + (size_t)(val - copy)};
            if (bld_expand_word(b, st, in, &w, &expanded, err) < 0)
                return -1;
            val = expanded;
        }
        unsigned long n;
        if (!strcmp(kv, "type")) {
            if (!strcmp(val, "cache"))
                m->type = BLD_MOUNT_CACHE;
            else if (!strcmp(val, "secret"))
                m->type = BLD_MOUNT_SECRET;
            else if (!strcmp(val, "bind"))
                m->type = BLD_MOUNT_BIND;
            else if (!strcmp(val, "tmpfs"))
                m->type = BLD_MOUNT_TMPFS;
            else if (!strcmp(val, "ssh"))
                m->type = BLD_MOUNT_SSH;
            else
                return bld_errat(err, &b->f, in, f->off, "RUN --mount=type=%s is not supported yet", val);
        } else if (!strcmp(kv, "target") || !strcmp(kv, "dst") || !strcmp(kv, "destination")) {
            free(m->target);
            m->target = val[0] == '/' ? bld_path_clean(val) : bld_path_join(wd && *wd ? wd : "/", val);
        } else if (!strcmp(kv, "id")) {
            free(m->id);
            m->id = nr_xstrdup(val);
        } else if (!strcmp(kv, "source") || !strcmp(kv, "src")) {
            free(m->source);
            m->source = nr_xstrdup(val);
        } else if (!strcmp(kv, "ro") || !strcmp(kv, "readonly")) {
            m->readonly = !eq || strcmp(val, "false");
        } else if (!strcmp(kv, "rw") || !strcmp(kv, "readwrite")) {
            m->readonly = eq && !strcmp(val, "false");
            m->rw = !m->readonly;
        } else if (!strcmp(kv, "required")) {
            m->required = !eq || strcmp(val, "false");
        } else if (!strcmp(kv, "uid") && num(val, 4294967294UL, 10, &n) == 0) {
            m->uid = (uid_t)n;
        } else if (!strcmp(kv, "gid") && num(val, 4294967294UL, 10, &n) == 0) {
            m->gid = (gid_t)n;
        } else if (!strcmp(kv, "mode") && num(val, 07777, 8, &n) == 0) {
            m->mode = (mode_t)n;
            mode_set = true;
        } else if (!strcmp(kv, "sharing") && (!strcmp(val, "shared") || !strcmp(val, "private") || !strcmp(val, "locked"))) {
            /* one build at a time uses a cache dir here: shared is what it gets */
        } else if (!strcmp(kv, "env") && valid_env_name(val)) {
            free(m->env);
            m->env = nr_xstrdup(val);
        } else if (!strcmp(kv, "from") && *val) {
            free(m->from);
            m->from = nr_xstrdup(val);
        } else if (!strcmp(kv, "size") && *val && strspn(val, "0123456789") > 0 &&
                   (strspn(val, "0123456789") == strlen(val) ||
                    (strspn(val, "0123456789") == strlen(val) - 1 && strchr("kmgKMG", val[strlen(val) - 1])))) {
            free(m->size);
            m->size = nr_xstrdup(val);
        } else {
            return bld_errat(err, &b->f, in, f->off, "RUN --mount: unknown or bad option \"%s%s%s\"", kv,
                             eq ? "=" : "", val);
        }
    }
    if (m->type == BLD_MOUNT_SECRET) {
        if (!m->id && m->target) {
            const char *base = strrchr(m->target, '/');
            m->id = nr_xstrdup(base ? base + 1 : m->target);
        }
        if (!m->id || !*m->id)
            return bld_errat(err, &b->f, in, f->off, "RUN --mount=type=secret needs an id");
        if (!m->target && !m->env)
            m->target = nr_xasprintf("/run/secrets/%s", m->id);
        if (!mode_set)
            m->mode = 0400;
    }
    if (m->type == BLD_MOUNT_SSH) {
        if (!m->id)
            m->id = nr_xstrdup("default");
        if (m->required && bld_spec_find(b->o->ssh, b->o->n_ssh, m->id, false) < 0)
            return bld_errat(err, &b->f, in, f->off,
                             "RUN --mount=type=ssh,id=%s,required: no --ssh %s given (without required the step "
                             "runs with no agent, as BuildKit's does)",
                             m->id, m->id);
        if (!m->target)
            m->target = nr_xstrdup("/run/buildkit/ssh_agent.0");
        if (!mode_set)
            m->mode = 0600;
    }
    if (m->env && m->type != BLD_MOUNT_SECRET)
        return bld_errat(err, &b->f, in, f->off, "RUN --mount: env= applies to type=secret only");
    if (!m->target && m->env) { /* an env-only secret: nothing is mounted */
        if (strchr(m->id, '/') || !strcmp(m->id, ".."))
            return bld_errat(err, &b->f, in, f->off, "RUN --mount=type=secret: bad id \"%s\"", m->id);
        return 0;
    }
    if (!m->target)
        return bld_errat(err, &b->f, in, f->off, "RUN --mount needs a target");
    if (!strcmp(m->target, "/"))
        return bld_errat(err, &b->f, in, f->off, "RUN --mount: the target can not be /");
    if (m->type == BLD_MOUNT_CACHE && !m->id)
        m->id = nr_xstrdup(m->target);
    if (m->from && m->type != BLD_MOUNT_BIND)
        return bld_errat(err, &b->f, in, f->off, "RUN --mount: from= is supported for type=bind only");
    if (m->size && m->type != BLD_MOUNT_TMPFS)
        return bld_errat(err, &b->f, in, f->off, "RUN --mount: size= applies to type=tmpfs only");
    if (m->type == BLD_MOUNT_BIND && !m->source)
        m->source = nr_xstrdup(".");
    if (m->id && (strchr(m->id, '/') || !strcmp(m->id, "..")) && m->type == BLD_MOUNT_SECRET)
        return bld_errat(err, &b->f, in, f->off, "RUN --mount=type=secret: bad id \"%s\"", m->id);
    return 0;
}

/* --secret id=ID,src=FILE | id=ID,env=VAR | id=ID (the variable ID): its bytes. */
static int secret_value(bld_state *b, const char *id, char **data, size_t *len, nr_err *err)
{
    for (size_t i = 0; i < b->o->n_secrets; i++) {
        cleanup_free char *spec = nr_xstrdup(b->o->secrets[i]);
        const char *sid = NULL, *src = NULL, *env = NULL;
        for (char *save = NULL, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq)
                continue;
            *eq = 0;
            if (!strcmp(kv, "id"))
                sid = eq + 1;
            else if (!strcmp(kv, "src") || !strcmp(kv, "source"))
                src = eq + 1;
            else if (!strcmp(kv, "env"))
                env = eq + 1;
        }
        if (!sid || strcmp(sid, id))
            continue;
        if (src)
            return nr_read_user_file(AT_FDCWD, src, "--secret file", SECRET_MAX, data, len, err);
        const char *v = getenv(env ? env : id);
        if (!v)
            return nr_err_set(err, "--secret id=%s: the variable %s is not set", id, env ? env : id);
        *len = strlen(v);
        if (*len > SECRET_MAX)
            return nr_err_set(err, "--secret id=%s: more than %u bytes", id, SECRET_MAX);
        *data = nr_xstrdup(v);
        return 0;
    }
    *data = NULL;
    return 0;
}

/* from=: an earlier stage (by name or index) or an image. */
int bld_run_mount_from(bld_state *b, const bld_instr *in, const bld_run_mount *m, bld_stage **stage, img_image **img,
                       nr_err *err)
{
    *stage = NULL;
    *img = NULL;
    bld_from fr;
    if (bld_from_resolve(b, in, m->off, "RUN --mount from", m->from, b->n_stages ? b->n_stages - 1 : 0, &fr, err) < 0)
        return -1;
    if (fr.dir)
        return bld_errat(err, &b->f, in, m->off,
                         "RUN --mount from=%s: a --build-context directory is not supported here (COPY --from=%s "
                         "reads it)",
                         m->from, m->from);
    *stage = fr.stage;
    *img = fr.img;
    return 0;
}

int bld_run_mount_key(bld_state *b, const bld_instr *in, const bld_run_mount *m, nr_buf *key, nr_err *err)
{
    static const char *const types[] = {"bind", "cache", "secret", "tmpfs", "ssh"};
    nr_buf_addf(key, "mount type=%s target=%s id=%s ro=%d uid=%u gid=%u mode=%o;", types[m->type],
                m->target ? m->target : "", m->id ? m->id : "", m->readonly, (unsigned)m->uid, (unsigned)m->gid,
                (unsigned)m->mode);
    if (m->env) /* the variable's name, never its value */
        nr_buf_addf(key, "env=%s;", m->env);
    if (m->type == BLD_MOUNT_TMPFS && m->size)
        nr_buf_addf(key, "size=%s;", m->size);
    if (m->type != BLD_MOUNT_BIND)
        return 0;
    if (m->rw)
        nr_buf_addstr(key, "rw;");
    if (m->from) {
        /* the source's identity stands for its content, as for COPY --from */
        bld_stage *stage;
        img_image *img;
        if (bld_run_mount_from(b, in, m, &stage, &img, err) < 0)
            return -1;
        nr_buf_addf(key, "from=%s source=%s;", stage ? stage->chain : img->manifest.digest, m->source);
        img_image_free(img);
        return 0;
    }
    /* what the step reads through a bind is part of what it depends on */
    char *srcs[1] = {m->source};
    bld_sel sel = {0};
    size_t bad;
    char digest[65];
    int rc = bld_ctx_select(b->ctx, srcs, 1, "/", true, false, &sel, &bad, err);
    if (rc == 0)
        rc = bld_sel_digest(b->ctx, &sel, digest, err);
    bld_sel_free(&sel);
    if (rc < 0)
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=bind,source=%s: %s", m->source, err->msg);
    nr_buf_addf(key, "content=%s;", digest);
    return 0;
}

/* The value of the secret `m` names (*data NULL: an optional one not given,
 * as BuildKit skips it); a required one not given is an error on its line. */
int bld_run_mount_secret(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **data, size_t *len,
                     nr_err *err)
{
    if (secret_value(b, m->id, data, len, err) < 0)
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=secret,id=%s: %s", m->id, err->msg);
    if (!*data && m->required)
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=secret,id=%s: required, and no --secret "
                         "id=%s given", m->id, m->id);
    return 0;
}

int bld_run_mount_env(bld_state *b, const bld_instr *in, const bld_run_mount *m, char **out, nr_err *err)
{
    *out = NULL;
    if (m->type != BLD_MOUNT_SECRET || !m->env)
        return 0;
    cleanup_free char *data = NULL;
    size_t len = 0;
    if (bld_run_mount_secret(b, in, m, &data, &len, err) < 0)
        return -1;
    if (!data)
        return 0;
    /* an environment string ends at the first NUL: a value holding one
     * would be cut silently */
    if (memchr(data, '\0', len)) {
        memset(data, 0, len);
        return bld_errat(err, &b->f, in, m->off, "RUN --mount=type=secret,id=%s,env=%s: the secret holds a NUL byte",
                         m->id, m->env);
    }
    *out = nr_xasprintf("%s=%s", m->env, data);
    memset(data, 0, len);
    return 0;
}
