/* --chown resolution (see owner.h). */
#include "builder/owner.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static bool numeric(const char *s, size_t n)
{
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool bld_chown_needs_names(const char *spec)
{
    const char *c = strchr(spec, ':');
    size_t ul = c ? (size_t)(c - spec) : strlen(spec);
    return (ul && !numeric(spec, ul)) || (c && c[1] && !numeric(c + 1, strlen(c + 1)));
}

void bld_passwd_free(bld_passwd *p)
{
    free(p->passwd);
    free(p->group);
    memset(p, 0, sizeof *p);
}

/* Strip "./" and "/" prefixes of a tar entry name. */
static const char *norm(const char *n)
{
    while (*n == '/' || (n[0] == '.' && n[1] == '/'))
        n += n[0] == '/' ? 1 : 2;
    return n;
}

static bool cache_read(const char *file, bld_passwd *out)
{
    cleanup_free char *text = NULL;
    nr_err e;
    if (!file || nr_read_file(AT_FDCWD, file, 4u << 20, &text, NULL, &e) < 0)
        return false;
    json_t *j = json_loads(text, 0, NULL);
    json_t *pw = json_object_get(j, "passwd"), *gr = json_object_get(j, "group");
    bool ok = json_is_object(j) && (json_is_null(pw) || json_is_string(pw)) && (json_is_null(gr) || json_is_string(gr));
    if (ok) {
        out->loaded = true;
        out->passwd = json_is_string(pw) ? nr_xstrdup(json_string_value(pw)) : NULL;
        out->group = json_is_string(gr) ? nr_xstrdup(json_string_value(gr)) : NULL;
    }
    json_decref(j);
    return ok;
}

static void cache_write(const char *file, const bld_passwd *p)
{
    cleanup_free char *dir = nr_xstrdup(file);
    char *sl = strrchr(dir, '/');
    nr_err e;
    if (!sl)
        return;
    *sl = '\0';
    if (nr_mkdir_p(dir, 0700, &e) < 0)
        return;
    json_t *j = json_pack("{s:s?, s:s?}", "passwd", p->passwd, "group", p->group);
    cleanup_free char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0 && text)
        nr_write_atomic(dfd, sl + 1, text, strlen(text), 0600, &e); /* best effort */
}

static int load_layers(img_store *s, const img_layer_desc *layers, size_t n, bld_passwd *out, nr_err *err);

int bld_passwd_load(img_store *s, const img_layer_desc *layers, size_t n, const char *cache_file, bld_passwd *out,
                    nr_err *err)
{
    if (cache_read(cache_file, out))
        return 0;
    if (load_layers(s, layers, n, out, err) < 0)
        return -1;
    if (cache_file)
        cache_write(cache_file, out);
    return 0;
}

static int load_layers(img_store *s, const img_layer_desc *layers, size_t n, bld_passwd *out, nr_err *err)
{
    /* 0 = not seen yet, 1 = found (or deleted): lower layers do not matter. */
    int have_pw = 0, have_gr = 0;
    bld_passwd p = {.loaded = true};
    for (size_t i = n; i-- > 0 && !(have_pw && have_gr);) {
        img_layer_reader *r;
        if (img_layer_reader_open(s, layers[i].blob.digest, (int64_t)layers[i].blob.size, layers[i].diff_id, &r,
                                  err) < 0) {
            bld_passwd_free(&p);
            return -1;
        }
        struct archive *a = img_layer_reader_archive(r);
        struct archive_entry *e;
        int ar, got_pw = 0, got_gr = 0;
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
            const char *nm = norm(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
            bool opq = !strcmp(nm, "etc/.wh..wh..opq");
            bool is_pw = !strcmp(nm, "etc/passwd"), is_gr = !strcmp(nm, "etc/group");
            if (!strcmp(nm, "etc/.wh.passwd") || !strcmp(nm, ".wh.etc") || opq)
                got_pw = got_pw ? got_pw : 2;
            if (!strcmp(nm, "etc/.wh.group") || !strcmp(nm, ".wh.etc") || opq)
                got_gr = got_gr ? got_gr : 2;
            if ((is_pw && !have_pw) || (is_gr && !have_gr)) {
                if (archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) > (1 << 20))
                    continue;
                nr_buf b = {0};
                char chunk[8192];
                la_ssize_t k;
                while ((k = archive_read_data(a, chunk, sizeof chunk)) > 0)
                    nr_buf_add(&b, chunk, (size_t)k);
                if (!b.data)
                    nr_buf_add(&b, "", 0);
                char **dst = is_pw ? &p.passwd : &p.group;
                free(*dst);
                *dst = b.data;
                if (is_pw)
                    got_pw = 1;
                else
                    got_gr = 1;
            }
        }
        if (ar != ARCHIVE_EOF) {
            nr_err_set(err, "layer %s: %s", layers[i].blob.digest, archive_error_string(a));
            img_layer_reader_close(r);
            bld_passwd_free(&p);
            return -1;
        }
        int rc = img_layer_reader_finish(r, err);
        img_layer_reader_close(r);
        if (rc < 0) {
            bld_passwd_free(&p);
            return -1;
        }
        have_pw |= got_pw != 0;
        have_gr |= got_gr != 0;
    }
    *out = p;
    return 0;
}

/* Field 3 (uid/gid) of the line whose field 1 is `name`; -1 when absent. */
static long long lookup(const char *db, const char *name, size_t nl, int field)
{
    for (const char *l = db; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t ll = e ? (size_t)(e - l) : strlen(l);
        if (ll > nl && !strncmp(l, name, nl) && l[nl] == ':') {
            const char *f = l;
            for (int i = 1; i < field && f; i++) {
                f = memchr(f, ':', ll - (size_t)(f - l));
                if (f)
                    f++;
            }
            if (f && isdigit((unsigned char)*f))
                return strtoll(f, NULL, 10);
        }
        l += ll + (e ? 1 : 0);
    }
    return -1;
}

int bld_chown_resolve(const char *spec, const bld_passwd *pw, uid_t *uid, gid_t *gid, nr_err *err)
{
    const char *c = strchr(spec, ':');
    size_t ul = c ? (size_t)(c - spec) : strlen(spec);
    if (!*spec)
        return nr_err_set(err, "invalid --chown \"%s\" (want user[:group])", spec);
    long long u, g;
    /* an empty part is id 0, as BuildKit's llb.WithUser marshals it:
     * --chown=:staff is 0:staff, --chown=node: is node's uid and gid 0 */
    if (ul == 0) {
        u = g = 0;
    } else if (numeric(spec, ul)) {
        g = u = strtoll(spec, NULL, 10);
    } else {
        u = pw && pw->passwd ? lookup(pw->passwd, spec, ul, 3) : -1;
        if (u < 0)
            return nr_err_set(err, "--chown: unknown user \"%.*s\" (not in the image's /etc/passwd)", (int)ul, spec);
        /* a name alone takes the user's primary group, as BuildKit reads it
         * (adduser --system puts a user in nogroup, not in a group of its uid) */
        g = lookup(pw->passwd, spec, ul, 4);
        if (g < 0)
            g = u;
    }
    if (c) {
        const char *gs = c + 1;
        if (!*gs) {
            g = 0;
        } else if (numeric(gs, strlen(gs))) {
            g = strtoll(gs, NULL, 10);
        } else {
            g = pw && pw->group ? lookup(pw->group, gs, strlen(gs), 3) : -1;
            if (g < 0)
                return nr_err_set(err, "--chown: unknown group \"%s\" (not in the image's /etc/group)", gs);
        }
    }
    if (u > 0xfffffffeLL || g > 0xfffffffeLL)
        return nr_err_set(err, "--chown \"%s\": id out of range", spec);
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}
