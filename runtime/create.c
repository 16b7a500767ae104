/* Create a container from an image: unpack its layers once, make
 * containers/<id>/ (upper, work, merged),
 * resolve the user in the image's /etc/passwd and /etc/group, and write the
 * config.json that describes it.  Names are unique (checked under a lock). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "images/image.h"
#include "images/unpack.h"
#include "runtime/create.h"
#include "runtime/runtime.h"

/* Find etc/<file> in the layers, top first (a whiteout hides it below). */
/* The image's /etc/<file> (passwd, group), read from its layers top down as
 * the overlay would show it, without following any symlink: a layer's
 * "etc -> /etc" must not make us read the host's. */
static char *read_etc(const char *layers_dir, char **lower, size_t n, const char *file)
{
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *p = nr_xasprintf("%s/%s", layers_dir, lower[i]);
        cleanup_close int lfd = open(p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (lfd < 0 || fstatat(lfd, "etc", &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISDIR(st.st_mode))
            return NULL; /* a whiteout, a symlink or a file hides every lower etc */
        cleanup_close int efd = openat(lfd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (efd < 0 || fstatat(efd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISREG(st.st_mode))
            return NULL; /* whiteout or something odd: no such file */
        char *text = NULL;
        size_t len;
        nr_err ign;
        if (nr_read_file(efd, file, 4 << 20, &text, &len, &ign) < 0)
            return NULL;
        return text;
    }
    return NULL;
}

static bool all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* A uid or gid: decimal, at most 4294967294 ((uid_t)-1 means "unchanged" to
 * the kernel, and a wider number must not wrap round to root). */
static bool parse_id(const char *s, uint32_t *out)
{
    if (!all_digits(s) || strlen(s) > 10)
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v >= 0xffffffffULL)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Look `key` (a name, or a number when by_id) up in a passwd/group text:
 * returns the line's fields split in place. */
static bool find_entry(char *text, const char *key, bool by_id, char **fields, int nf)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int n = 0;
        char *p = line;
        fields[n++] = p;
        while (n < nf && (p = strchr(p, ':'))) {
            *p++ = 0;
            fields[n++] = p;
        }
        if (n < 3)
            continue;
        static char none[1];
        for (int k = n; k < nf; k++)
            fields[k] = none; /* a short line: its missing fields are empty */
        if (!strcmp(by_id ? fields[2] : fields[0], key))
            return true;
    }
    return false;
}

int rt_user_resolve(const char *spec, char *passwd, char *group, rt_user *u, nr_err *err)
{
    memset(u, 0, sizeof *u);
    if (!spec || !*spec)
        return 0;
    cleanup_free char *copy = nr_xstrdup(spec);
    char *grp = strchr(copy, ':');
    if (grp)
        *grp++ = 0;
    const char *user = copy;
    const char *uname = NULL;
    char *f[7];
    uint32_t id;
    if (all_digits(user)) {
        if (!parse_id(user, &id))
            return nr_err_set(err, "user id %s is out of range (0-4294967294)", user);
        u->uid = id;
        u->gid = 0;
        if (passwd && find_entry(passwd, user, true, f, 7) && parse_id(f[3], &id)) {
            u->gid = id;
            uname = f[0];
            snprintf(u->home, sizeof u->home, "%s", f[5]);
        }
    } else {
        uint32_t gid;
        if (!passwd || !find_entry(passwd, user, false, f, 7) || !parse_id(f[2], &id) || !parse_id(f[3], &gid))
            return nr_err_set(err, "user \"%s\" not found in the image's /etc/passwd", user);
        u->uid = id;
        u->gid = gid;
        uname = f[0];
        snprintf(u->home, sizeof u->home, "%s", f[5]);
    }
    if (grp) {
        char *g[4];
        cleanup_free char *gcopy = group ? nr_xstrdup(group) : NULL;
        if (all_digits(grp)) {
            if (!parse_id(grp, &id))
                return nr_err_set(err, "group id %s is out of range (0-4294967294)", grp);
            u->gid = id;
        } else if (gcopy && find_entry(gcopy, grp, false, g, 4) && parse_id(g[2], &id)) {
            u->gid = id;
        } else {
            return nr_err_set(err, "group \"%s\" not found in the image's /etc/group", grp);
        }
    }
    /* supplementary groups: the primary one, then every group listing the user by name */
    u->groups = nr_xmalloc(sizeof(gid_t));
    u->groups[u->ngroups++] = u->gid;
    if (uname && group) {
        cleanup_free char *un = nr_xstrdup(uname);
        char *save = NULL;
        for (char *line = strtok_r(group, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *g[4];
            int n = 0;
            char *p = line;
            g[n++] = p;
            while (n < 4 && (p = strchr(p, ':'))) {
                *p++ = 0;
                g[n++] = p;
            }
            uint32_t gid;
            if (n < 4 || !parse_id(g[2], &gid))
                continue;
            char *s2 = NULL;
            bool have = false;
            for (size_t k = 0; k < u->ngroups; k++)
                have |= u->groups[k] == gid;
            for (char *m = strtok_r(g[3], ",", &s2); m && !have; m = strtok_r(NULL, ",", &s2))
                if (!strcmp(m, un) && u->ngroups < 64 && !have) {
                    have = true;
                    u->groups = nr_xrealloc(u->groups, (u->ngroups + 1) * sizeof(gid_t));
                    u->groups[u->ngroups++] = gid;
                }
        }
    }
    return 0;
}

int rt_groups_add(rt_user *u, char **names, size_t n, const char *group, nr_err *err)
{
    if (!u->groups) { /* no USER: root, its group 0 first */
        u->groups = nr_xmalloc(sizeof(gid_t));
        u->groups[u->ngroups++] = u->gid;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t id;
        char *g[4];
        cleanup_free char *gcopy = group ? nr_xstrdup(group) : NULL;
        if (all_digits(names[i])) {
            if (!parse_id(names[i], &id))
                return nr_err_set(err, "--group-add %s: group id out of range (0-4294967294)", names[i]);
        } else if (!(gcopy && find_entry(gcopy, names[i], false, g, 4) && parse_id(g[2], &id))) {
            cleanup_free char *e = nr_escape_controls(names[i]);
            return nr_err_set(err, "--group-add %s: no such group in the image's /etc/group", e);
        }
        bool have = false;
        for (size_t k = 0; k < u->ngroups; k++)
            have |= u->groups[k] == id;
        if (have)
            continue;
        if (u->ngroups >= 64)
            return nr_err_set(err, "--group-add: more than 64 groups");
        u->groups = nr_xrealloc(u->groups, (u->ngroups + 1) * sizeof(gid_t));
        u->groups[u->ngroups++] = id;
    }
    return 0;
}

/* Will execve take this command and environment?  Each string is at most
 * 128 KiB (MAX_ARG_STRLEN) and, with an 8 MiB stack, all of them 2 MiB. */
static int exec_fits(const json_t *args, const json_t *env, nr_err *err)
{
    size_t total = 0, i;
    json_t *v;
    const json_t *lists[] = {args, env};
    for (size_t l = 0; l < 2; l++)
        json_array_foreach(lists[l], i, v) {
            size_t n = strlen(json_string_value(v)) + 1;
            if (n > 128 * 1024)
                return nr_err_set(err, "process.%s[%zu] is %zu bytes: longer than exec takes (128 KiB)",
                                  l ? "env" : "args", i, n - 1);
            total += n + sizeof(char *);
        }
    if (total > 2 << 20)
        return nr_err_set(err, "the command and environment take %zu bytes: more than exec takes (2 MiB)", total);
    return 0;
}

/* A file of a brand-new container dir: nobody reads it before state.json
 * exists, so a plain exclusive create is enough (no temp + rename). */
static int write_new(int dfd, const char *name, const char *text, mode_t mode, nr_err *err)
{
    cleanup_close int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return nr_err_sys(err, errno, "create %s", name);
    if (nr_write_all(fd, text, strlen(text)) < 0)
        return nr_err_sys(err, errno, "write %s", name);
    return 0;
}

/* The init layer: the mount points every container needs (/proc, /dev,
 * /sys, /etc/hostname, /etc/hosts, /etc/resolv.conf), shared by all of them
 * as the top lower layer, so that an image lacking one costs no copy-up in
 * each container's upper dir.  Made once per store, atomically.  A
 * container that nrun run/create makes also gets docker's empty /.dockerenv
 * (INIT_LAYER_RUN), by which apps and libraries (is-docker, so fastify-cli
 * listening on 0.0.0.0) know they run in a container; a build step does not,
 * as BuildKit's RUN has none. */
#define INIT_LAYER "nrun-init-1"
#define INIT_LAYER_RUN "nrun-init-2"

static int ensure_init_layer(const char *layers_dir, const char *name, nr_err *err)
{
    cleanup_close int lfd = open(layers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lfd < 0)
        return nr_err_sys(err, errno, "open %s", layers_dir);
    struct stat st;
    if (fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return 0;
    char tmp[64];
    snprintf(tmp, sizeof tmp, ".tmp-%s-%d", name, (int)getpid());
    nr_err ign;
    nr_rm_rf(lfd, tmp, &ign);
    static const char *const dirs[] = {"", "/proc", "/dev", "/sys", "/etc"};
    static const char *const files[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/.dockerenv"};
    size_t nfiles = strcmp(name, INIT_LAYER_RUN) ? NR_ARRAY_LEN(files) - 1 : NR_ARRAY_LEN(files);
    for (size_t i = 0; i < NR_ARRAY_LEN(dirs); i++) {
        cleanup_free char *p = nr_xasprintf("%s%s", tmp, dirs[i]);
        if (mkdirat(lfd, p, 0755) < 0 || fchmodat(lfd, p, 0755, 0) < 0)
            goto fail;
    }
    for (size_t i = 0; i < nfiles; i++) {
        cleanup_free char *p = nr_xasprintf("%s%s", tmp, files[i]);
        mode_t mode = strcmp(files[i], "/.dockerenv") ? 0644 : 0755; /* docker's */
        int fd = openat(lfd, p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 || fchmod(fd, mode) < 0) {
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        close(fd);
    }
    if (renameat(lfd, tmp, lfd, name) < 0) {
        int e = errno;
        nr_rm_rf(lfd, tmp, &ign);
        if (e == EEXIST || e == ENOTEMPTY)
            return 0; /* another nrun made it first */
        return nr_err_sys(err, e, "rename %s/%s", layers_dir, tmp);
    }
    return 0;
fail: {
    int e = errno;
    nr_rm_rf(lfd, tmp, &ign);
    return nr_err_sys(err, e, "make the init layer in %s", layers_dir);
}
}

/* A container name as docker takes it: [a-zA-Z0-9][a-zA-Z0-9_.-]*, here at
 * most 128 characters (it names the container in every command and log). */
#define NAME_MAX_LEN 128
int rt_ctr_name_check(const char *name, nr_err *err)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t len = strlen(name);
    if (len == 0)
        return nr_err_set(err, "--name \"\": a container name cannot be empty");
    if (len > NAME_MAX_LEN)
        return nr_err_set(err, "--name \"%.16s...\": %zu characters, at most %d", name, len, NAME_MAX_LEN);
    if (!strchr(alnum, name[0]))
        return nr_err_set(err, "--name \"%s\": must start with a letter or a digit", name);
    for (const char *p = name; *p; p++)
        if (!strchr(alnum, *p) && !strchr("_.-", *p))
            return nr_err_set(err, "--name \"%s\": only letters, digits, '_', '.' and '-' are allowed", name);
    return 0;
}

int rt_container_create(img_store *store, const char *root, const char *image_ref, rt_run_opts *o, rt_created *out,
                        nr_err *err)
{
    memset(out, 0, sizeof *out);
    img_image *img = NULL;
    /* gc.lock shared until the store is closed, after config.json names the
     * layers: prune cannot remove an unpacked layer in between.  (A store we
     * cannot write has no prune to fear.) */
    nr_err ign;
    img_store_hold(store, &ign);
    if (img_image_load(store, image_ref, &img, err) < 0)
        return -1;
    int r = rt_container_create_image(store, root, img, image_ref, o, out, err);
    img_image_free(img);
    return r;
}

int rt_container_create_image(img_store *store, const char *root, const img_image *img, const char *image_ref,
                              rt_run_opts *o, rt_created *out, nr_err *err)
{
    memset(out, 0, sizeof *out);
    nr_err ign;
    img_store_hold(store, &ign);
    int r = -1;
    char **lower = NULL;
    size_t nlower = 0;
    cleanup_free char *dir = NULL;
    cleanup_free char *config = NULL;
    cleanup_close int lock = -1;
    cleanup_close int cdfd = -1;
    /* every cleanup variable is declared here: the error paths jump over the code below */
    cleanup_free char *cdir = NULL, *layers_dir = NULL, *merged = NULL, *upper = NULL, *work = NULL;
    int dfd = -1;
    rt_user u = {0};
    if (img->n_layers == 0) {
        nr_err_set(err, "image %s has no layers", image_ref);
        goto out;
    }
    if (img_image_unpack(store, img, &out->layers_extracted, err) < 0)
        goto out;
    rt_timing("image loaded+unpacked");
    lower = nr_xcalloc(img->n_layers + 2, sizeof(char *));
    layers_dir = nr_xasprintf("%s/layers", root);
    const char *init = image_ref && !strcmp(image_ref, RT_BUILD_STEP_IMAGE) ? INIT_LAYER : INIT_LAYER_RUN;
    if (ensure_init_layer(layers_dir, init, err) < 0)
        goto out;
    lower[nlower++] = nr_xstrdup(init);
    for (size_t i = img->n_layers; i-- > 0;) {
        const char *hex = img_digest_hex(img->layers[i].diff_id);
        bool dup = false;
        for (size_t k = 0; k < nlower; k++)
            dup |= !strcmp(lower[k], hex);
        if (!dup)
            lower[nlower++] = nr_xstrdup(hex);
    }
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
        nr_err_sys(err, errno, "getrandom");
        goto out;
    }
    for (int i = 0; i < 32; i++)
        sprintf(out->id + 2 * i, "%02x", rnd[i]);
    cdir = nr_xasprintf("%s/containers", root);
    cdfd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cdfd < 0) {
        nr_err_sys(err, errno, "open %s", cdir);
        goto out;
    }
    if (nr_lock(cdfd, ".names.lock", true, &lock, err) < 0)
        goto out;
    char short_id[13];
    memcpy(short_id, out->id, 12);
    short_id[12] = 0;
    out->name = nr_xstrdup(o->name ? o->name : short_id);
    if (o->name) {
        if (rt_ctr_name_check(o->name, err) < 0)
            goto out;
        char other[65];
        nr_err ign;
        if (rt_container_find(root, o->name, other, &ign) == 0) {
            rt_state st;
            bool same = rt_state_read(root, other, &st, &ign) == 0 && !strcmp(st.name, o->name);
            if (same)
                rt_state_free(&st);
            if (same) {
                nr_err_set(err, "the container name \"%s\" is already in use by %.12s", o->name, other);
                goto out;
            }
        }
    }
    /* --net host: the host's name, as docker gives it; else the container's */
    char host_name[65] = "";
    if (!o->hostname && o->net && !strcmp(o->net, "host") && gethostname(host_name, sizeof host_name - 1) == 0 &&
        host_name[0])
        o->hostname = host_name;
    /* the name is the hostname when it is one (63 bytes at most), else
     * the short id, docker's default */
    if (!o->hostname)
        o->hostname = o->name && strlen(o->name) <= 63 ? o->name : short_id;
    o->name = out->name;
    dir = rt_ctr_dir(root, out->id);
    dfd = rt_ctr_dir_make(root, out->id, err);
    if (dfd < 0)
        goto out;
    merged = nr_xasprintf("%s/merged", dir);
    upper = nr_xasprintf("%s/upper", dir);
    work = nr_xasprintf("%s/work", dir);
    rt_rootfs_desc rf = {.root_path = merged, .layers_dir = layers_dir, .lower = lower, .nlower = nlower,
                         .upper = upper, .work = work};
    const json_t *cfg = img_image_runconfig(img);
    const char *user = o->user;
    const json_t *iu = cfg ? json_object_get(cfg, "User") : NULL;
    if (!user && json_is_string(iu))
        user = json_string_value(iu);
    {
        cleanup_free char *passwd = user ? read_etc(layers_dir, lower, nlower, "passwd") : NULL;
        cleanup_free char *group = user ? read_etc(layers_dir, lower, nlower, "group") : NULL;
        if (rt_user_resolve(user, passwd, group, &u, err) < 0)
            goto out_rm;
    }
    if (o->ngroup_add) {
        /* --group-add: numbers as they are, names from the image's /etc/group
         * (read_etc: never through a symlink) */
        cleanup_free char *group = read_etc(layers_dir, lower, nlower, "group");
        if (rt_groups_add(&u, o->group_add, o->ngroup_add, group, err) < 0)
            goto out_rm;
    }
    if (rt_spec_build(cfg, o, &rf, &u, root, dir, &config, err) < 0)
        goto out_rm;
    json_t *spec = json_loads(config, 0, NULL);
    const json_t *proc = json_object_get(spec, "process");
    if (exec_fits(json_object_get(proc, "args"), json_object_get(proc, "env"), err) < 0 ||
        (strlen(config) > RT_CONFIG_MAX &&
         nr_err_set(err, "config.json would take %zu bytes, more than the %d nrun reads", strlen(config),
                    RT_CONFIG_MAX) < 0) ||
        write_new(dfd, "config.json", config, 0600, err) < 0) {
        json_decref(spec);
        goto out_rm;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    /* the creating nrun is the monitor until a detached one takes over */
    rt_state st = {.status = "created", .name = out->name, .created = now.tv_sec, .created_ns = now.tv_nsec,
                   .auto_remove = o->ephemeral, .monitor_pid = getpid(), .monitor_start = rt_pid_start_time(getpid())};
    strcpy(st.id, out->id);
    st.image = (char *)image_ref;
    nr_buf cmd = {0};
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(proc, "args"), i, v)
        nr_buf_addf(&cmd, "%s%s", i ? " " : "", json_string_value(v));
    nr_buf_add(&cmd, "", 1);
    json_decref(spec);
    /* the command as ps shows it: a few KB at most, cut between characters */
    if (cmd.len > 4096) {
        size_t k = 4096;
        while (k > 0 && (cmd.data[k] & 0xc0) == 0x80)
            k--;
        cmd.data[k] = 0;
    }
    st.command = cmd.data;
    r = rt_state_write(root, &st, err);
    nr_buf_free(&cmd);
    if (r < 0)
        goto out_rm;
    goto out;
out_rm: {
    nr_err ign;
    nr_rm_rf(AT_FDCWD, dir, &ign);
    r = -1;
}
out:
    if (r < 0) {
        free(out->name);
        out->name = NULL;
    }
    if (dfd >= 0)
        close(dfd);
    for (size_t k = 0; k < nlower; k++)
        free(lower[k]);
    free(lower);
    free(u.groups);
    return r;
}

int rt_container_rename(const char *root, const char *ref, const char *new_name, nr_err *err)
{
    char id[65], other[65];
    if (rt_ctr_name_check(new_name, err) < 0)
        return -1;
    cleanup_free char *cdir = nr_xasprintf("%s/containers", root);
    cleanup_close int cdfd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cdfd < 0)
        return nr_err_sys(err, errno, "open %s", cdir);
    cleanup_close int lock = -1;
    if (nr_lock(cdfd, ".names.lock", true, &lock, err) < 0 || rt_container_find(root, ref, id, err) < 0)
        return -1;
    nr_err ign;
    if (rt_container_find(root, new_name, other, &ign) == 0) {
        rt_state o;
        bool same = rt_state_read(root, other, &o, &ign) == 0 && !strcmp(o.name, new_name);
        if (same)
            rt_state_free(&o);
        if (same)
            return nr_err_set(err, "the container name \"%s\" is already in use by %.12s", new_name, other);
    }
    rt_state st;
    if (rt_state_read(root, id, &st, err) < 0)
        return -1;
    free(st.name);
    st.name = nr_xstrdup(new_name);
    int r = rt_state_write(root, &st, err);
    rt_state_free(&st);
    return r;
}
