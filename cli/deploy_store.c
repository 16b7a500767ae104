/* The revision history, image pins and journal of nrun deploy (see
 * cli/deploy.h): store files under <root>/deploy, read as hostile input. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "runtime/net.h"

/* ---- revisions: <root>/deploy/NAME.json ------------------------------------ */

static int hist_dir(nr_global *g, nr_err *err)
{
    cleanup_free char *d = nr_xasprintf("%s/deploy", g->root);
    if (mkdir(d, 0700) < 0 && errno != EEXIST)
        return nr_err_sys(err, errno, "mkdir %s", d);
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s", d);
    return fd;
}

/* Revision N's image tagged deploy/NAME:rN (lower case), so that image prune
 * keeps it and a rollback gets the very same image; "" when NAME cannot be a
 * repository name. */
static void pin_ref(const char *name, json_int_t rev, char *out, size_t n)
{
    char l[128];
    size_t i = 0;
    for (; name[i] && i < sizeof l - 1; i++)
        l[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    l[i] = 0;
    snprintf(out, n, "deploy/%s:r%lld", l, (long long)rev);
}

/* A file of <root>/deploy read as hostile input: a regular file, not through
 * a symlink, at most `max` bytes.  -1 with errnum ENOENT when absent. */
static int store_read(nr_global *g, const char *fname, size_t max, char **out, size_t *len, nr_err *err)
{
    int dfd = hist_dir(g, err);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    close(dfd);
    if (fd < 0)
        return nr_err_sys(err, errno == ELOOP ? EINVAL : errno, "open %s/deploy/%s%s", g->root, fname,
                          errno == ELOOP ? " (a symlink)" : "");
    struct stat st;
    int r;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        r = nr_err_set(err, "%s/deploy/%s: not a regular file", g->root, fname);
    else if ((r = nr_read_fd(fd, max, out, len, err)) < 0)
        nr_err_wrap(err, "%s/deploy/%s", g->root, fname);
    close(fd);
    return r;
}

/* <root>/deploy/<name><ext> as JSON (store_read's checks, a duplicate key
 * refused): 0 with *out NULL when the file is absent. */
static int store_load(nr_global *g, const char *name, const char *ext, size_t max, json_t **out, nr_err *err)
{
    *out = NULL;
    cleanup_free char *fname = nr_xasprintf("%s%s", name, ext);
    cleanup_free char *text = NULL;
    size_t len;
    if (store_read(g, fname, max, &text, &len, err) < 0) {
        if (err->errnum != ENOENT)
            return -1;
        memset(err, 0, sizeof *err);
        return 0;
    }
    json_error_t je;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return nr_err_set(err, "%s/deploy/%s:%d:%d: %s", g->root, fname, je.line, je.column, je.text);
    return 0;
}

/* The history of NAME, checked: {"name": NAME, "revisions": [{rev, image, ...}]}.
 * An absent file is an empty history; a malformed one is an error. */
json_t *nr_dep_hist_load(nr_global *g, const char *name, nr_err *err)
{
    cleanup_free char *path = nr_xasprintf("%s/deploy/%s.json", g->root, name);
    json_t *h;
    if (store_load(g, name, ".json", 1 << 20, &h, err) < 0)
        return NULL;
    if (!h)
        return json_pack("{s:s, s:[]}", "name", name, "revisions");
    json_t *revs = json_object_get(h, "revisions");
    bool ok = json_is_object(h) && json_is_array(revs) && json_array_size(revs) <= DEPLOY_MAX_REVS * 2;
    size_t i;
    json_t *r;
    json_array_foreach(revs, i, r) if (ok)
    {
        const char *img = json_string_value(json_object_get(r, "image"));
        json_int_t n = json_integer_value(json_object_get(r, "rev"));
        if (!json_is_object(r) || !img || !*img || strlen(img) > 512 || !nr_utf8_valid(img) || img[0] == '-' ||
            n < 1 || n > 1000000 || !json_is_string(json_object_get(r, "result")))
            ok = false;
        const char *p = json_string_value(json_object_get(r, "pin"));
        char want[200];
        pin_ref(name, n, want, sizeof want);
        if (ok && json_object_get(r, "pin") && (!p || strcmp(p, want)))
            ok = false; /* a pin is only ever deploy/NAME:rN */
    }
    if (!ok) {
        json_decref(h);
        nr_err_set(err, "%s: not a revision history (a list of {rev, image, result})", path);
        return NULL;
    }
    return h;
}

int nr_dep_hist_save(nr_global *g, const char *name, json_t *h, nr_err *err)
{
    json_t *revs = json_object_get(h, "revisions");
    while (json_array_size(revs) > DEPLOY_MAX_REVS)
        json_array_remove(revs, 0);
    int dfd = hist_dir(g, err);
    if (dfd < 0)
        return -1;
    cleanup_free char *f = nr_xasprintf("%s.json", name);
    cleanup_free char *t = json_dumps(h, JSON_INDENT(1));
    int r = nr_write_atomic(dfd, f, t, strlen(t), 0600, err);
    close(dfd);
    return r;
}

json_int_t nr_dep_hist_next(const json_t *h)
{
    json_int_t m = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(h, "revisions"), i, r) if (json_integer_value(json_object_get(r, "rev")) > m) m =
        json_integer_value(json_object_get(r, "rev"));
    return m + 1;
}

void nr_dep_pin(nr_global *g, json_t *revrec, const char *name, const char *image)
{
    char ref[200];
    pin_ref(name, json_integer_value(json_object_get(revrec, "rev")), ref, sizeof ref);
    if (nr_dep_run(g, "tag", image, ref) == 0)
        json_object_set_new(revrec, "pin", json_string(ref));
}

/* untag the pins of failed revisions and of all but the last K */
void nr_dep_pins_trim(nr_global *g, json_t *h)
{
    json_t *revs = json_object_get(h, "revisions");
    size_t n = json_array_size(revs), kept = 0;
    for (size_t i = n; i-- > 0;) {
        json_t *r = json_array_get(revs, i);
        const char *p = json_string_value(json_object_get(r, "pin"));
        const char *res = json_string_value(json_object_get(r, "result"));
        if (!p)
            continue;
        bool ok = !strcmp(res, "deployed") || !strcmp(res, "replaced") || !strcmp(res, "running") ||
                  !strcmp(res, "starting");
        if (ok && kept < DEPLOY_KEEP_IMAGES) {
            kept++;
            continue;
        }
        nr_dep_run(g, "rmi", p, NULL);
        json_object_del(r, "pin");
    }
}

/* ---- the journal: <root>/deploy/NAME.journal, written before each step ---
 * {"old": ID, "new": ID or "", "newname": NAME-rN, "rev": N, "step": S}
 *   start     the new one may exist, unpublished: remove it (old serves)
 *   switch    both may be published (the first rule serves) or one of them:
 *             publish the old again, unpublish and remove the new (revert)
 *   drain     the old one is unpublished and going: finish (remove the old,
 *             the new one takes the name)
 * NAME.lock is held (flock) by the deploy for its whole run: a journal
 * whose lock can be taken belongs to a deploy that was killed. */

int nr_dep_journal_lock(nr_global *g, const char *name, bool wait, nr_err *err)
{
    int dfd = hist_dir(g, err);
    if (dfd < 0)
        return -1;
    cleanup_free char *f = nr_xasprintf("%s.lock", name);
    int fd = openat(dfd, f, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    close(dfd);
    if (fd < 0)
        return nr_err_sys(err, errno, "open %s/deploy/%s", g->root, f);
    if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return nr_err_set(err, "a deploy of %s is in progress (%s/deploy/%s)", name, g->root, f);
        return nr_err_sys(err, e, "lock %s/deploy/%s", g->root, f);
    }
    return fd;
}

void nr_dep_journal_write(nr_global *g, const char *name, json_t *j, const char *step)
{
    json_object_set_new(j, "step", json_string(step));
    nr_err ign;
    int dfd = hist_dir(g, &ign);
    if (dfd < 0)
        return;
    cleanup_free char *f = nr_xasprintf("%s.journal", name);
    cleanup_free char *t = json_dumps(j, JSON_COMPACT);
    if (t)
        nr_write_atomic(dfd, f, t, strlen(t), 0600, &ign);
    close(dfd);
}

void nr_dep_journal_clear(nr_global *g, const char *name)
{
    cleanup_free char *p = nr_xasprintf("%s/deploy/%s.journal", g->root, name);
    unlink(p);
}

static bool hex_id(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* With NAME's lock held: complete or revert what a killed deploy left. */
int nr_dep_journal_recover(nr_global *g, const char *name, json_t **canary, nr_err *err)
{
    if (canary)
        *canary = NULL;
    cleanup_free char *path = nr_xasprintf("%s/deploy/%s.journal", g->root, name);
    json_t *j;
    if (store_load(g, name, ".journal", 1 << 16, &j, err) < 0)
        return -1;
    if (!j)
        return 0;
    const char *old = json_string_value(json_object_get(j, "old"));
    const char *nw = json_string_value(json_object_get(j, "new"));
    const char *nn = json_string_value(json_object_get(j, "newname"));
    const char *step = json_string_value(json_object_get(j, "step"));
    if (!hex_id(old) || !nw || (*nw && !hex_id(nw)) || !nn || !nr_dep_name_ok(nn) || !step ||
        (strcmp(step, "start") && strcmp(step, "switch") && strcmp(step, "drain") && strcmp(step, "canary-start") &&
         strcmp(step, "canary"))) {
        json_decref(j);
        return nr_err_set(err, "%s: not a deploy journal (old, new, newname, step); remove it once the ports serve", path);
    }
    /* what it would remove must be what a deploy of NAME made */
    char expect[160];
    snprintf(expect, sizeof expect, "%s-r%lld", name, (long long)json_integer_value(json_object_get(j, "rev")));
    if (strcmp(nn, expect)) {
        json_decref(j);
        return nr_err_set(err, "%s: its new container is not %s's revision (%s): not touched; remove the file", path, name,
                          expect);
    }
    /* by name, and only when the name still means what the journal says */
    nr_dep_ctr named, made;
    nr_err ign;
    bool have_named = nr_dep_ctr_get(g, name, &named, &ign) == 0, have_made = nr_dep_ctr_get(g, nn, &made, &ign) == 0;
    if (have_made && *nw && strcmp(made.id, nw))
        have_made = false; /* somebody else's NAME-rN */
    if (!strcmp(step, "canary")) { /* held on purpose until --promote / --abort */
        if (canary && have_made && have_named && !strcmp(named.id, old))
            *canary = json_incref(j);
        json_decref(j);
        if (canary && !*canary)
            return nr_err_set(err, "%s: a canary whose containers are gone; remove the file", path);
        return 0;
    }
    if (!strcmp(step, "drain")) {
        fprintf(stderr, "%s: %s: finishing the deploy a killed nrun left (%s serves)\n", g->prog, name, nn);
        if (have_made) {
            rt_net_publish(g->root, made.id, true, &ign); /* already on: no second rule */
            if (have_named && !strcmp(named.id, old)) {
                nr_dep_run(g, "stop", old, NULL); /* drained, as deploy drains it */
                nr_dep_run(g, "rm", "-f", old);
            }
            nr_dep_run(g, "rename", made.id, name);
        }
    } else {
        fprintf(stderr, "%s: %s: reverting the deploy a killed nrun left (%.12s serves)\n", g->prog, name, old);
        if (have_named && !strcmp(named.id, old))
            rt_net_publish(g->root, old, true, &ign);
        if (have_made) {
            nr_dep_canary_del(made.id);
            rt_net_publish(g->root, made.id, false, &ign);
            /* its connections of before the switch back finish first (a
             * removal alone reset them: a failed request under load) */
            nr_dep_run(g, "stop", made.id, NULL);
            nr_dep_run(g, "rm", "-f", made.id);
        }
    }
    json_t *h = nr_dep_hist_load(g, name, &ign);
    json_t *revs = json_object_get(h, "revisions");
    json_t *last = json_array_get(revs, json_array_size(revs) - 1);
    if (last && json_integer_value(json_object_get(last, "rev")) == json_integer_value(json_object_get(j, "rev"))) {
        json_object_set_new(last, "result", json_string(!strcmp(step, "drain") ? "deployed" : "rolled back"));
        json_object_set_new(last, "reason", json_string("the deploying nrun was killed; finished by the next command"));
        nr_dep_hist_save(g, name, h, &ign);
    }
    json_decref(h);
    json_decref(j);
    nr_dep_journal_clear(g, name);
    return 0;
}

/* ps and the deploy verbs: the journals of killed deploys, done or undone.
 * One line per problem on stderr; never fails the caller. */
void nr_deploy_recover(nr_global *g)
{
    cleanup_free char *d = nr_xasprintf("%s/deploy", g->root);
    DIR *dir = opendir(d);
    if (!dir)
        return;
    char name[256];
    while (nr_readdir_suffix(dir, ".journal", name, sizeof name)) {
        if (!nr_dep_name_ok(name))
            continue;
        nr_err err = {0};
        int lk = nr_dep_journal_lock(g, name, false, &err);
        if (lk < 0)
            continue; /* a live deploy */
        if (nr_dep_journal_recover(g, name, NULL, &err) < 0)
            fprintf(stderr, "%s: %s\n", g->prog, err.msg);
        close(lk);
    }
    closedir(dir);
}

