/* Planning (see build_int.h): the build's variables (ARG, the predefined
 * proxy and platform ARGs), FROM and its base image (load, digest and
 * platform checks), and the walk over the instructions that plans every
 * stage up to the target.  build.c writes the result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/base.h"
#include "builder/base_gcr.h"
#include "builder/build_int.h"
#include "builder/expand.h"
#include "builder/run_mount.h"
#include "common/util.h"
#include "images/oci.h"
#include "images/ref.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- variables ---- */

static const char *vars_get(const bld_var *v, size_t n, const char *name, bool *found)
{
    for (size_t i = n; i-- > 0;)
        if (!strcmp(v[i].name, name)) {
            *found = true;
            return v[i].value;
        }
    *found = false;
    return NULL;
}

static void vars_set(bld_var **v, size_t *n, const char *name, const char *value)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i].name, name)) {
            free((*v)[i].value);
            (*v)[i].value = value ? nr_xstrdup(value) : NULL;
            return;
        }
    *v = nr_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n].name = nr_xstrdup(name);
    (*v)[*n].value = value ? nr_xstrdup(value) : NULL;
    (*n)++;
}

void bld_vars_free(bld_var *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

const char *bld_lookup(void *p, const char *name)
{
    bld_stage *st = p;
    json_t *env = json_object_get(st->config, "Env"), *e;
    size_t nl = strlen(name), i;
    const char *found = NULL;
    json_array_foreach(env, i, e) {
        const char *s = json_string_value(e);
        if (s && !strncmp(s, name, nl) && s[nl] == '=')
            found = s + nl + 1;
    }
    if (found)
        return found;
    bool has;
    return vars_get(st->args, st->n_args, name, &has);
}

static const char *global_lookup(void *p, const char *name)
{
    bld_state *b = p;
    bool has;
    return vars_get(b->gargs, b->n_gargs, name, &has);
}

int bld_expand_word(bld_state *b, bld_stage *st, const bld_instr *in, const bld_word *w, char **out, nr_err *err)
{
    size_t pos = 0;
    int r = st ? bld_expand(w->s, b->f.escape, bld_lookup, st, out, &pos, err)
               : bld_expand(w->s, b->f.escape, global_lookup, b, out, &pos, err);
    if (r < 0)
        return bld_errat(err, &b->f, in, in->json ? w->off : w->off + pos, "%s: %s", in->name, err->msg);
    return 0;
}

/* --build-arg K=V, or K alone: the value of K in nbuild's environment. */
static bool build_arg(bld_state *b, const char *name, const char **value)
{
    size_t nl = strlen(name);
    for (size_t i = b->o->n_build_args; i-- > 0;) {
        const char *a = b->o->build_args[i];
        if (strncmp(a, name, nl) || (a[nl] != '=' && a[nl] != '\0'))
            continue;
        if (b->build_arg_used) /* NULL in --jobs' analysis copy */
            b->build_arg_used[i] = true;
        *value = a[nl] == '=' ? a + nl + 1 : getenv(name);
        return *value != NULL;
    }
    return false;
}

/* Docker's predefined ARGs, the proxy settings: given with --build-arg they
 * reach every RUN with no ARG line for them, and stay out of the cache key
 * and of the image (they differ per machine and may carry credentials).  A
 * stage that declares one with ARG makes it an ordinary ARG. */
static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                         "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

static bool is_proxy_arg(const char *a)
{
    size_t nl = strcspn(a, "=");
    for (size_t i = 0; i < NR_ARRAY_LEN(proxy_args); i++)
        if (strlen(proxy_args[i]) == nl && !strncmp(a, proxy_args[i], nl))
            return true;
    return false;
}

void bld_proxy_env(bld_state *b, const bld_stage *st, char ***env, size_t *n)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(proxy_args); i++) {
        bool declared;
        const char *v;
        vars_get(st->args, st->n_args, proxy_args[i], &declared);
        if (declared || !build_arg(b, proxy_args[i], &v))
            continue;
        *env = nr_xrealloc(*env, (*n + 1) * sizeof **env);
        (*env)[(*n)++] = nr_xasprintf("%s=%s", proxy_args[i], v);
    }
}

void bld_hist_add(bld_stage *st, const char *text, bool empty)
{
    st->hist = nr_xrealloc(st->hist, (st->n_hist + 1) * sizeof *st->hist);
    st->hist[st->n_hist].created_by = nr_xstrdup(text);
    st->hist[st->n_hist].empty = empty;
    st->n_hist++;
}

void bld_chain_add(bld_stage *st, const char *text)
{
    nr_sha256 *h = nr_sha256_new();
    nr_sha256_update(h, st->chain, strlen(st->chain));
    nr_sha256_update(h, "\n", 1);
    nr_sha256_update(h, text, strlen(text) + 1);
    nr_sha256_final(h, st->chain);
}

/* ---- ARG and FROM ---- */

/* BuildKit's automatic platform ARGs, in the global scope (for FROM
 * --platform=$BUILDPLATFORM; a stage sees them after `ARG TARGETARCH`).
 * nbuild builds linux/amd64 images on linux/amd64. */
static const char *const platform_args[][2] = {
    {"BUILDPLATFORM", "linux/amd64"}, {"BUILDOS", "linux"},  {"BUILDARCH", "amd64"},  {"BUILDVARIANT", ""},
    {"TARGETPLATFORM", "linux/amd64"}, {"TARGETOS", "linux"}, {"TARGETARCH", "amd64"}, {"TARGETVARIANT", ""},
};

static bool is_platform_arg(const char *name)
{
    for (size_t i = 0; i < NR_ARRAY_LEN(platform_args); i++)
        if (!strcmp(name, platform_args[i][0]))
            return true;
    return false;
}

static int plan_arg(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err)
{
    for (size_t i = 0; i < in->nargs; i++) {
        const char *w = in->args[i].s;
        const char *eq = strchr(w, '=');
        cleanup_free char *name = eq ? nr_xstrndup(w, (size_t)(eq - w)) : nr_xstrdup(w);
        cleanup_free char *def = NULL;
        if (eq) {
            bld_word dw = {.s = (char *)eq + 1, .off = in->args[i].off + (size_t)(eq - w) + 1};
            if (bld_expand_word(b, st, in, &dw, &def, err) < 0)
                return -1;
        }
        const char *v = NULL;
        if (!build_arg(b, name, &v)) {
            if (!st && !eq && is_platform_arg(name))
                continue; /* `ARG TARGETPLATFORM` before FROM: the automatic value stays */
            v = def;
            if (!v && st) {
                bool has;
                v = vars_get(b->gargs, b->n_gargs, name, &has);
            }
        }
        if (st) {
            vars_set(&st->args, &st->n_args, name, v);
            cleanup_free char *t = nr_xasprintf("ARG %s=%s", name, v ? v : "");
            bld_chain_add(st, t);
        } else {
            vars_set(&b->gargs, &b->n_gargs, name, v);
        }
    }
    return 0;
}

static bld_step *step_done(bld_state *b, const img_layer_desc *l)
{
    bld_step *s = nr_xcalloc(1, sizeof *s);
    s->layer = *l;
    s->done = s->cached = true;
    b->steps = nr_xrealloc(b->steps, (b->n_steps + 1) * sizeof *b->steps);
    b->steps[b->n_steps++] = s;
    return s;
}

/* FROM x@sha256:...: the image found for x must be that one (`pulled`: it
 * came from a registry in this build). */
static int check_digest(bld_state *b, const bld_instr *in, const char *ref, const char *norm, const char *want,
                        bool pulled, img_image **img, nr_err *err)
{
    if (!*want || !strcmp((*img)->manifest.digest, want) || !strcmp(img_image_top(*img)->digest, want))
        return 0;
    /* an Alpine tag made here on Debian (nginx:stable-alpine, redis:, postgres:,
     * alpine:): the pin names Alpine's image, which this one never is, as a
     * node Alpine tag's pin (alpine_base).  The base label alone is no
     * proof: any image can carry it, and the pin is what stands between the
     * build and a registry that serves another image.  So only a name nbuild
     * makes (no registry's, as reg.example/app:1-alpine), not pulled now,
     * and an image this store made (a mark bld_base_write leaves: an image
     * pulled earlier from a Docker Hub mirror under that name has none) */
    json_t *labels = json_object_get(json_object_get((*img)->config_json, "config"), "Labels");
    bool made_here = !pulled && bld_base_made_here(norm) &&
                     json_is_string(json_object_get(labels, "io.nrun.base.flavour")) &&
                     bld_base_made_by_store(b->s, (*img)->manifest.digest);
    if (made_here && strstr(norm + strcspn(norm, ":"), "alpine")) {
        if (b->o->progress)
            fprintf(b->o->progress,
                    "--> FROM %s: made here on Debian, not Alpine (the Nodefile's digest pin is for the Alpine "
                    "image: not checked)\n",
                    ref);
        return 0;
    }
    size_t rl = strcspn(norm, ":");
    bool made = (rl == 4 && !strncmp(norm, "node", 4)) || (rl == 6 && !strncmp(norm, "debian", 6)) ||
                (rl == 5 && !strncmp(norm, "nginx", 5)) || (rl == 5 && !strncmp(norm, "redis", 5)) ||
                (rl == 8 && !strncmp(norm, "postgres", 8)) || (rl == 5 && !strncmp(norm, "mysql", 5)) ||
                (rl == 7 && !strncmp(norm, "mariadb", 7)) ||
                (rl == strlen(BLD_NGINX_UNPRIV) && !strncmp(norm, BLD_NGINX_UNPRIV, rl));
    char hint[160] = "";
    if (made)
        snprintf(hint, sizeof hint,
                 " (a %.*s: base made here never has Docker Hub's digest; --base-map '%.*s:*=%.*s:*' builds from "
                 "this store's image without the pin)",
                 (int)rl, norm, (int)rl, norm, (int)rl, norm);
    bld_errat(err, &b->f, in, in->args[0].off,
              "FROM %s: digest mismatch: %s is %s in this store, the Nodefile asks for %s%s", ref, norm,
              (*img)->manifest.digest, want, hint);
    img_image_free(*img);
    *img = NULL;
    return -1;
}

/* Alpine's busybox tools and bash as /bin/sh on the slim image *img
 * (base_alpine.c); without them (no busybox-static in the cache and no
 * network), the slim image as before, said in one line. */
void bld_alpine_tools_add(bld_state *b, const char *ref, img_image **img)
{
    nr_err e;
    if (bld_base_alpine_tools(b->s, img, &e) < 0)
        fprintf(stderr,
                "nbuild: warning: %s: Alpine's busybox tools (wget, nc, ash...) and bash as /bin/sh are not added: "
                "%s\n",
                ref, e.msg);
}

/* FROM node:<tag>-alpine that no store image, mirror or --base-map
 * gives: nrun cannot make Alpine images (its packages come from Debian's
 * archive and the npm registry only), so the Debian slim image of the same
 * node version with Alpine's busybox tools on top, said in one line; the
 * stage's RUN steps get Alpine's commands translated (run.c, alpine.c). */
static int alpine_base(bld_state *b, bld_stage *st, const bld_instr *in, const char *ref, const char *norm,
                       const char *slim, bool pinned, img_image **img, nr_err *err)
{
    if (b->o->progress)
        fprintf(b->o->progress,
                "--> FROM %s: building on %s instead: Debian slim (glibc, not musl), with apk, adduser and "
                "addgroup translated to apt-get/useradd in RUN steps, and Alpine's busybox tools (wget, nc, ash...: "
                "Debian's busybox-static at /bin/busybox); --base-map '%s=IMAGE' chooses another base%s\n",
                ref, slim, norm, pinned ? " (the Nodefile's digest pin is for the Alpine image: not checked)" : "");
    snprintf(st->alpine_from, sizeof st->alpine_from, "%.159s", ref);
    snprintf(st->alpine_to, sizeof st->alpine_to, "%.159s", slim);
    if (!bld_alpine_branch(norm, st->alpine_branch, sizeof st->alpine_branch))
        st->alpine_branch[0] = '\0'; /* node:*-alpine: the image has node */
    if (img_image_load(b->s, slim, img, err) == 0 ||
        (err->errnum == ENOENT && bld_base_ensure(b->s, slim, err) == 0 && img_image_load(b->s, slim, img, err) == 0)) {
        bld_alpine_tools_add(b, ref, img);
        return 0;
    }
    return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: building the base image %s: %s%s", ref, slim,
                     err->msg,
                     nr_in_userns() ? "; in a rootless build, make the base as root and `nrun load` it, or pull it "
                                      "from a registry"
                                    : "");
}

/* nginx:*alpine*, redis:*alpine*, postgres:*alpine*: made here on Debian */
static bool db_alpine(const char *norm)
{
    return (!strncmp(norm, "nginx:", 6) || !strncmp(norm, "redis:", 6) || !strncmp(norm, "postgres:", 9) ||
            !strncmp(norm, BLD_NGINX_UNPRIV ":", strlen(BLD_NGINX_UNPRIV) + 1)) &&
           strstr(norm, "alpine");
}

static int load_base(bld_state *b, bld_stage *st, const bld_instr *in, const char *ref_in, img_image **img,
                     nr_err *err)
{
    char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2], mapped[IMG_NAME_MAX + IMG_TAG_MAX + 2];
    char unpinned[IMG_NAME_MAX + IMG_TAG_MAX + 2];
    if (bld_gcr_unpin(b->s, ref_in, unpinned, sizeof unpinned)) { /* Google's digest: never the image made here */
        if (b->o->progress)
            fprintf(b->o->progress, "--> FROM %s: the digest pin names Google's build: not checked; using %s\n",
                    ref_in, unpinned);
        ref_in = unpinned;
    }
    const char *ref = ref_in;
    img_ref r;
    if (img_ref_parse(ref_in, &r, err) < 0)
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM: invalid image reference \"%s\": %s", ref_in,
                         err->msg);
    if (r.digest[0] && !r.tag[0]) {
        /* name@sha256:...: only that image, found by its digest. */
        if (img_image_load_digest(b->s, r.digest, img, err) == 0)
            return 0;
        char byd[IMG_NAME_MAX + IMG_DIGEST_MAX + 2];
        snprintf(byd, sizeof byd, "%s@%s", r.name, r.digest);
        if (bld_pull(b, byd, err) == 0 && img_image_load_digest(b->s, r.digest, img, err) == 0)
            return 0;
        if (err->errnum != ENOENT)
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: pull: %s", ref_in, err->msg);
        return bld_errat(err, &b->f, in, in->args[0].off,
                         "FROM %s: no image with digest %s in this store (base images are made by tag: write "
                         "%s:TAG@%s)",
                         ref_in, r.digest, r.name, r.digest);
    }
    if (img_ref_normalize(ref, norm, sizeof norm, err) < 0)
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM: invalid image reference \"%s\": %s", ref, err->msg);
    if (bld_base_hub_official(norm, norm, sizeof norm) && b->o->progress)
        fprintf(b->o->progress, "--> FROM %s: Docker Hub's %.*s image, %s here\n", ref, (int)strcspn(norm, ":"), norm,
                norm);
    const char *want = r.digest; /* a pin names the image the Nodefile writes */
    int m = 0;
    if (b->o->n_base_maps) {
        m = bld_base_map(b->o->base_maps, b->o->n_base_maps, norm, mapped, sizeof mapped);
        if (m < 0)
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: --base-map makes a reference too long", ref);
        if (m == 1) {
            if (b->o->progress)
                fprintf(b->o->progress, "--> FROM %s: --base-map gives %s%s\n", norm, mapped,
                        *want ? " (the Nodefile's digest pin is for the image it replaces: not checked)" : "");
            want = ""; /* the substitute is the caller's choice, not the pinned image */
            if (strstr(ref, "alpine") && !strstr(mapped, "alpine")) {
                snprintf(st->alpine_from, sizeof st->alpine_from, "%.159s", ref);
                snprintf(st->alpine_to, sizeof st->alpine_to, "%.159s", mapped);
            }
            if (img_ref_normalize(mapped, norm, sizeof norm, err) < 0)
                return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: --base-map gives \"%s\": %s", ref,
                                 mapped, err->msg);
            ref = mapped;
        }
    }
    if (b->o->pull) {
        /* --pull: the registry's image even when the store has one, where
         * there is a registry to ask (a failed pull fails the build, as
         * docker build --pull) */
        if (bld_pull(b, norm, err) == 0) {
            if (img_image_load(b->s, norm, img, err) == 0)
                return check_digest(b, in, ref_in, norm, want, true, img, err);
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: %s", ref, err->msg);
        }
        if (err->errnum != ENOENT)
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: pull: %s", ref, err->msg);
        if (b->o->progress)
            fprintf(b->o->progress,
                    "--> FROM %s: --pull: no registry to pull %s from (a Docker Hub name with no mirror "
                    "configured, or a node: base made here)\n",
                    ref, norm);
    }
    bool alpine = m == 0 && bld_base_alpine_slim(norm, mapped, sizeof mapped);
    if (img_image_load(b->s, norm, img, err) == 0) {
        if (!alpine && bld_base_made_by_store(b->s, (*img)->manifest.digest) && db_alpine(norm)) {
            /* nginx:alpine made here before: its RUN steps get apk too, and
             * one made without Alpine's tools (an older nrun) gets them */
            if (check_digest(b, in, ref_in, norm, want, false, img, err) < 0)
                return -1;
            snprintf(st->alpine_from, sizeof st->alpine_from, "%.159s", ref);
            snprintf(st->alpine_to, sizeof st->alpine_to, "%.159s", norm);
            json_t *labels = json_object_get(json_object_get((*img)->config_json, "config"), "Labels");
            if (!json_object_get(labels, "io.nrun.base.busybox"))
                bld_alpine_tools_add(b, ref, img);
            return 0;
        }
        /* `nrun base node:20-alpine` made it (base.c): built on as FROM always
         * does, so that the steps get apk translated; a pulled one is Alpine */
        if (!alpine || !bld_base_made_by_store(b->s, (*img)->manifest.digest))
            return check_digest(b, in, ref_in, norm, want, false, img, err);
        img_image_free(*img);
        *img = NULL;
        return alpine_base(b, st, in, ref, norm, mapped, *want != '\0', img, err);
    }
    if (err->errnum != ENOENT)
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: %s", ref, err->msg);
    if (!b->o->pull && bld_pull(b, norm, err) == 0) {
        if (img_image_load(b->s, norm, img, err) == 0)
            return check_digest(b, in, ref_in, norm, want, true, img, err);
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: %s", ref, err->msg);
    }
    if (err->errnum != ENOENT)
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: pull: %s", ref, err->msg);
    if (alpine) /* not tagged by a build: `nrun base` makes that name */
        return alpine_base(b, st, in, ref, norm, mapped, *want != '\0', img, err);
    {
        if (bld_base_ensure(b->s, norm, err) == 0) {
            if (db_alpine(norm)) {
                /* nginx:alpine (redis:, postgres:) is made on Debian, with
                 * Alpine's busybox tools (base.c): its RUN steps get apk translated */
                snprintf(st->alpine_from, sizeof st->alpine_from, "%.159s", ref);
                snprintf(st->alpine_to, sizeof st->alpine_to, "%.159s", norm);
            }
            if (img_image_load(b->s, norm, img, err) == 0)
                return check_digest(b, in, ref_in, norm, want, false, img, err);
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: %s", ref, err->msg);
        }
        if (err->errnum == ENOTSUP)
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s", err->msg);
        if (err->errnum != ENOENT)
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: building the base image: %s%s", ref,
                             err->msg,
                             nr_in_userns() ? "; in a rootless build, make the base as root and "
                                              "`nrun load` it, or pull it from a registry"
                                            : "");
        if (bld_base_made_here(norm))
            return bld_errat(err, &b->f, in, in->args[0].off, "unknown base image %s", err->msg);
    }
    return bld_errat(err, &b->f, in, in->args[0].off, "unknown base image %s", ref);
}

/* SOURCE_DATE_EPOCH sets every mtime in a layer, so it is part of the cache
 * key: a cached layer must have the mtimes this build would write. */
static const char *sde(void)
{
    const char *v = getenv("SOURCE_DATE_EPOCH");
    return v && strlen(v) < 24 ? v : "";
}

/* FROM --platform=P: only what nbuild builds (after the global ARGs). */
static int check_platform(bld_state *b, const bld_instr *in, nr_err *err)
{
    const bld_flag *fl = bld_instr_flag(in, "platform");
    if (!fl)
        return 0;
    bld_word w = {.s = fl->value ? fl->value : "", .off = fl->off};
    cleanup_free char *p = NULL;
    if (bld_expand_word(b, NULL, in, &w, &p, err) < 0)
        return -1;
    static const char *const ok[] = {"linux/amd64", "linux/amd64/v1", "linux/amd64/v2", "linux/amd64/v3",
                                     "linux/x86_64", "amd64", "x86_64"};
    for (size_t i = 0; i < NR_ARRAY_LEN(ok); i++)
        if (!strcmp(p, ok[i]))
            return 0;
    cleanup_free char *shown = nr_xstrdup(p);
    for (char *c = shown; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return bld_errat(err, &b->f, in, fl->off, "FROM --platform=%s: nbuild builds linux/amd64 images only", shown);
}

/* A base made with SHELL gives its shell to this stage's shell forms, as
 * BuildKit reads the image's Shell. */
static int base_shell(bld_state *b, bld_stage *st, const bld_instr *in, const char *ref, nr_err *err)
{
    json_t *sh = json_object_get(st->config, "Shell"), *v;
    size_t i;
    if (!sh || json_is_null(sh))
        return 0;
    bool ok = json_is_array(sh) && json_array_size(sh) > 0;
    json_array_foreach(sh, i, v)
        ok = ok && json_is_string(v) && *json_string_value(v);
    if (!ok)
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: the image's Shell is not a list of strings", ref);
    json_decref(st->shell);
    st->shell = json_deep_copy(sh);
    return 0;
}

static int plan_from(bld_state *b, const bld_instr *in, nr_err *err)
{
    cleanup_free char *ref = NULL;
    if (check_platform(b, in, err) < 0)
        return -1;
    if (bld_expand_word(b, NULL, in, &in->args[0], &ref, err) < 0)
        return -1;
    if (!*ref)
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM: empty image name");
    b->stages = nr_xrealloc(b->stages, (b->n_stages + 1) * sizeof *b->stages);
    bld_stage *st = &b->stages[b->n_stages++];
    memset(st, 0, sizeof *st);
    st->shell = json_pack("[s,s]", "/bin/sh", "-c");
    if (in->nargs == 3)
        st->name = nr_xstrdup(in->args[2].s);
    /* --build-context NAME=...: over a stage of that name (named.c) */
    const char *named_img = NULL;
    bld_ctx *named_dir = NULL;
    int nk = bld_named_find(b, ref, &named_img, &named_dir, err);
    if (nk < 0)
        return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s: %s", ref, err->msg);
    if (nk == 2)
        return bld_errat(err, &b->f, in, in->args[0].off,
                         "FROM %s: a --build-context directory as a base is not supported (COPY --from=%s reads it)",
                         ref, ref);
    if (nk == 1) {
        if (b->o->progress)
            fprintf(b->o->progress, "--> FROM %s: --build-context gives %s\n", ref, named_img);
        free(ref);
        ref = nr_xstrdup(named_img);
    }
    for (size_t i = 0; !nk && i + 1 < b->n_stages; i++) {
        bld_stage *p = &b->stages[i];
        if (!p->name || strcasecmp(p->name, ref))
            continue;
        /* FROM <earlier stage>: continue from its state. */
        st->config = json_deep_copy(p->config);
        st->base_history = p->base_history ? json_deep_copy(p->base_history) : NULL;
        st->layers = nr_xmalloc((p->n_layers + 1) * sizeof *st->layers);
        if (p->n_layers) /* a FROM scratch stage may have none (and no array) */
            memcpy(st->layers, p->layers, p->n_layers * sizeof *st->layers);
        st->n_layers = p->n_layers;
        st->n_base_layers = p->n_base_layers;
        for (size_t k = 0; k < p->n_hist; k++)
            bld_hist_add(st, p->hist[k].created_by, p->hist[k].empty);
        memcpy(st->chain, p->chain, 65);
        for (size_t k = 0; k < p->n_dirs; k++)
            bld_stage_set_dir(st, p->dirs[k].path, p->dirs[k].mode, p->dirs[k].uid, p->dirs[k].gid);
        for (size_t k = 0; k < p->n_links; k++)
            bld_stage_set_link(st, p->links[k].path, p->links[k].target);
        memcpy(st->base_digest, p->base_digest, sizeof st->base_digest);
        /* a RUN of that stage may have added users (useradd): --chown and
         * USER names are read from its layers, not the image's first ones */
        st->pw_stale = p->pw_stale;
        memcpy(st->alpine_from, p->alpine_from, sizeof st->alpine_from);
        memcpy(st->alpine_to, p->alpine_to, sizeof st->alpine_to);
        memcpy(st->alpine_branch, p->alpine_branch, sizeof st->alpine_branch);
        st->author = p->author ? nr_xstrdup(p->author) : NULL;
        json_decref(st->shell);
        st->shell = json_deep_copy(p->shell);
        /* its ARGs too, with their values: BuildKit passes a stage's build
         * arguments on to the stages FROM it (its chain already has them) */
        for (size_t k = 0; k < p->n_args; k++)
            vars_set(&st->args, &st->n_args, p->args[k].name, p->args[k].value);
        return 0;
    }
    char seed[160];
    if (!strcmp(ref, "scratch")) {
        /* BuildKit's empty image: PATH and WorkingDir "/" (the classic
         * builder left WorkingDir empty) */
        st->config = json_pack("{s:[s], s:s}", "Env", DEFAULT_PATH, "WorkingDir", "/");
        snprintf(seed, sizeof seed, "scratch %d %s", (int)b->o->compress, sde());
        nr_sha256_hex(seed, strlen(seed), st->chain);
        return 0;
    }
    img_image *img;
    if (load_base(b, st, in, ref, &img, err) < 0)
        return -1;
    json_t *rc = img_image_runconfig(img);
    st->config = rc ? json_deep_copy(rc) : json_object();
    if (base_shell(b, st, in, ref, err) < 0) {
        img_image_free(img);
        return -1;
    }
    st->layers = nr_xmalloc((img->n_layers + 1) * sizeof *st->layers);
    for (size_t i = 0; i < img->n_layers; i++)
        st->layers[i] = step_done(b, &img->layers[i]);
    st->n_layers = st->n_base_layers = img->n_layers;
    /* Keep the base history only when it accounts for every base layer. */
    json_t *h = json_object_get(img->config_json, "history"), *v;
    size_t nonempty = 0, i;
    json_array_foreach(h, i, v)
        nonempty += json_is_object(v) && !json_is_true(json_object_get(v, "empty_layer"));
    if (json_is_array(h) && nonempty == img->n_layers) {
        st->base_history = json_deep_copy(h);
    } else {
        st->base_history = json_array();
        for (i = 0; i < img->n_layers; i++)
            json_array_append_new(st->base_history, json_pack("{s:s}", "created_by", "base layer"));
    }
    snprintf(st->base_digest, sizeof st->base_digest, "%s", img->manifest.digest);
    /* the base's author carries on, as BuildKit keeps the base config's */
    const char *au = json_string_value(json_object_get(img->config_json, "author"));
    if (au && *au && strlen(au) < 4096)
        st->author = nr_xstrdup(au);
    snprintf(seed, sizeof seed, "image %s %d %s", img->manifest.digest, (int)b->o->compress, sde());
    nr_sha256_hex(seed, strlen(seed), st->chain);
    img_image_free(img);
    return 0;
}

/* ---- planning ---- */

static int plan_instr(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err)
{
    switch (in->kind) {
    case BLD_ARG:
        return plan_arg(b, st, in, err);
    case BLD_RUN:
        return bld_run_plan(b, st, in, err);
    case BLD_COPY:
    case BLD_ADD:
        return bld_copy_plan(b, st, in, err);
    default:
        return bld_meta_plan(b, st, in, err);
    }
}

#define TRIGGERS_MAX 64
#define TRIGGER_LEN_MAX 65536

/* --from of a trigger: an image only, never a stage of this file (by name or
 * number) nor a --build-context directory the caller gave. */
static int trigger_from_check(bld_state *b, bld_stage *st, const bld_instr *in, size_t off, const char *what,
                              const char *from, nr_err *err)
{
    const char *img;
    bld_ctx *dir;
    int nk = bld_named_find(b, from, &img, &dir, err);
    if (nk < 0)
        return -1;
    bool ours = nk == 2;
    if (nk == 0 && *from && strspn(from, "0123456789") == strlen(from))
        ours = true;
    for (size_t k = (size_t)(st - b->stages); nk == 0 && !ours && k-- > 0;)
        ours = b->stages[k].name && !strcasecmp(b->stages[k].name, from);
    if (ours)
        return bld_errat(err, &b->f, in, off,
                         "%s=%s in an ONBUILD trigger: a base image's trigger reads no stage and no --build-context "
                         "of the build, only images",
                         what, from);
    return 0;
}

/* A trigger is the base image's text, not the Dockerfile's: what the caller
 * hands this build for its own steps (--secret, --ssh) is not the image's to
 * mount, and the build's other stages are not the image's to read.  A stage
 * FROM an untrusted image would otherwise read a secret given for another
 * stage, sign with the caller's ssh agent, or copy what a builder stage
 * holds (an .npmrc with a token) into the image, from a trigger. */
static int trigger_mounts_check(bld_state *b, bld_stage *st, const bld_instr *in, nr_err *err)
{
    const bld_flag *ff = in->kind == BLD_COPY || in->kind == BLD_ADD ? bld_instr_flag(in, "from") : NULL;
    if (ff) {
        bld_word w = {.s = ff->value ? ff->value : "", .off = ff->off};
        cleanup_free char *from = NULL;
        if (bld_expand_word(b, st, in, &w, &from, err) < 0 ||
            trigger_from_check(b, st, in, ff->off, in->kind == BLD_COPY ? "COPY --from" : "ADD --from", from, err) < 0)
            return -1;
    }
    for (size_t i = 0; in->kind == BLD_RUN && i < in->nflags; i++) {
        const bld_flag *f = &in->flags[i];
        if (strcmp(f->name, "mount"))
            continue;
        bld_run_mount m;
        int r = bld_run_mount_parse(b, st, in, f, "/", &m, err);
        enum bld_mount_type t = m.type;
        if (r == 0 && m.from)
            r = trigger_from_check(b, st, in, f->off, "RUN --mount from", m.from, err);
        bld_run_mount_free(&m);
        if (r < 0)
            return -1;
        if (t == BLD_MOUNT_SECRET || t == BLD_MOUNT_SSH)
            return bld_errat(err, &b->f, in, f->off,
                             "RUN --mount=type=%s in an ONBUILD trigger: the build's %s are for its own Dockerfile, "
                             "not for a base image's triggers",
                             t == BLD_MOUNT_SECRET ? "secret" : "ssh", t == BLD_MOUNT_SECRET ? "--secret" : "--ssh");
    }
    return 0;
}

/* The base's ONBUILD triggers (its config's OnBuild), run right after FROM
 * as Docker does, and not passed on to this image.  They come from an image,
 * so they are untrusted text: each must parse as one instruction that a
 * trigger may be; its errors name the trigger and the FROM line. */
static int run_triggers(bld_state *b, const bld_instr *from, nr_err *err)
{
    bld_stage *st = &b->stages[b->n_stages - 1];
    json_t *ob = json_object_get(st->config, "OnBuild");
    if (!ob)
        return 0;
    json_incref(ob);
    json_object_del(st->config, "OnBuild");
    int line, col, rc = 0;
    bld_instr_pos(from, from->kw_off, &line, &col);
    size_t n = json_is_array(ob) ? json_array_size(ob) : 0;
    if (!json_is_array(ob) || n > TRIGGERS_MAX)
        rc = bld_errat(err, &b->f, from, from->kw_off, "FROM %s: the image's OnBuild is not a list of at most %d "
                       "instructions", from->args[0].s, TRIGGERS_MAX);
    for (size_t k = 0; k < n && rc == 0; k++) {
        const char *t = json_string_value(json_array_get(ob, k));
        cleanup_free char *path = nr_xasprintf("%s:%d: ONBUILD trigger %zu of %s", b->f.path, line, k + 1,
                                               from->args[0].s);
        if (!t || strlen(t) > TRIGGER_LEN_MAX || strchr(t, '\n') || strchr(t, '\r')) {
            rc = nr_err_set(err, "%s: not one instruction line", path);
            break;
        }
        bld_nodefile tf = {0};
        if (bld_parse(path, t, strlen(t), &tf, err) < 0) {
            rc = -1;
            break;
        }
        const bld_instr *in = tf.n == 1 ? &tf.ins[0] : NULL;
        if (!in)
            rc = nr_err_set(err, "%s: not one instruction", path);
        else if (in->kind == BLD_ONBUILD || in->kind == BLD_FROM || in->kind == BLD_MAINTAINER)
            rc = bld_errat(err, &tf, in, in->kw_off, "%s isn't allowed as an ONBUILD trigger", in->name);
        if (rc == 0) {
            if (b->o->progress)
                fprintf(b->o->progress, "%s--> ONBUILD %s\n", b->prefix ? b->prefix : "", t);
            /* the trigger's errors name it: the file being planned is it, for now */
            bld_nodefile saved = b->f;
            b->f = tf;
            size_t layers_before = st->n_layers;
            rc = trigger_mounts_check(b, st, in, err);
            if (rc == 0 && in->kind == BLD_RUN)
                rc = bld_run_check(b, in, err);
            b->trigger_of = st->base_digest;
            if (rc == 0)
                rc = plan_instr(b, st, in, err);
            b->trigger_of = NULL;
            tf = b->f;
            b->f = saved;
            if (rc == 0 && st->n_layers > layers_before && b->o->progress && st->layers[st->n_layers - 1]->cached)
                fprintf(b->o->progress, "%s--> CACHED %.19s\n", b->prefix ? b->prefix : "",
                        st->layers[st->n_layers - 1]->layer.blob.digest);
        }
        bld_nodefile_free(&tf);
    }
    json_decref(ob);
    return rc;
}

/* Can nothing give the image norm?  0: something may (the store has it, a
 * registry or a mirror might, nbuild makes it); 1: nothing (e->msg names
 * why when nbuild makes that name but not that tag); 2: nbuild makes the
 * name but cannot make the tag (e->msg says why). */
static int image_unknown(bld_state *b, const char *norm, nr_err *e)
{
    const img_reg_opts *ro = b->o->reg;
    img_image *have = NULL;
    *e->msg = '\0';
    if (img_image_load(b->s, norm, &have, e) == 0) {
        img_image_free(have);
        return 0;
    }
    *e->msg = '\0';
    if (img_regref_has_host(norm) || (ro && ro->n_mirrors))
        return 0; /* a registry may have it: its pull decides */
    if (!bld_base_made_here(norm))
        return 1;
    bld_base_spec spec;
    char note[512];
    int r = bld_base_resolve_listed(norm, &spec, note, sizeof note, e);
    return r == 1 ? 1 : r != 0 ? 2 : 0;
}

/* Is v, a FROM or --from value, a stage before stage me (or a name the
 * check leaves to the step: a --build-context, a variable, a digest)? */
static bool precheck_skip(bld_state *b, const char *v, size_t me, bool digits_are_stages)
{
    if (!*v || !strcmp(v, "scratch") || strchr(v, '@') || strchr(v, '$') || bld_named_has(b->o, v))
        return true;
    if (digits_are_stages && strspn(v, "0123456789") == strlen(v))
        return true;
    for (size_t d = 0; d < me; d++)
        if (b->stage_names[d] && !strcasecmp(b->stage_names[d], v))
            return true;
    return false;
}

/* Before the first stage builds: an image that a stage the target needs
 * starts FROM or copies from (COPY --from) and that nothing can give (not
 * in the store, no registry to ask, not an image nbuild makes, or a tag of
 * one that it cannot make) is the build's error at its place, as BuildKit
 * resolves every image first: a typo in the last stage costs no earlier
 * stage's RUN steps and leaves nothing in the store.  Only the certain
 * cases: a name a registry or a mirror might have, a digest, a
 * --build-context, a variable this point cannot expand is left to the
 * instruction itself, as are the first stage's FROM (planned next anyway). */
int bld_images_precheck(bld_state *b, nr_err *err)
{
    size_t first = 0;
    while (first < b->f.n && b->f.ins[first].kind != BLD_FROM)
        first++;
    if (bld_global_args(b, err) < 0)
        return -1;
    long k = -1;
    for (size_t i = first; i < b->f.n; i++) {
        const bld_instr *in = &b->f.ins[i];
        if (in->kind == BLD_FROM && (size_t)++k > b->target)
            break;
        if (!b->stage_needed[k])
            continue;
        nr_err e;
        char norm[IMG_NAME_MAX + IMG_TAG_MAX + 2], mapped[IMG_NAME_MAX + IMG_TAG_MAX + 2];
        if (in->kind == BLD_COPY) {
            const bld_flag *fl = bld_instr_flag(in, "from");
            const char *v = fl && fl->value ? fl->value : "";
            if (!fl || precheck_skip(b, v, (size_t)k, true) || img_ref_normalize(v, norm, sizeof norm, &e) < 0)
                continue;
            bld_base_hub_official(norm, norm, sizeof norm);
            int r = image_unknown(b, norm, &e);
            if (r == 1)
                return bld_errat(err, &b->f, in, fl->off, "COPY --from=%s: unknown image %s (not a stage before "
                                 "this one either)", v, v);
            if (r == 2)
                return bld_errat(err, &b->f, in, fl->off, "COPY --from=%s: %s", v, e.msg);
            continue;
        }
        if (in->kind != BLD_FROM || k == 0 || !in->nargs)
            continue;
        cleanup_free char *ref = NULL;
        if (bld_expand_word(b, NULL, in, &in->args[0], &ref, &e) < 0 || precheck_skip(b, ref, (size_t)k, false) ||
            img_ref_normalize(ref, norm, sizeof norm, &e) < 0)
            continue;
        bld_base_hub_official(norm, norm, sizeof norm);
        const char *shown = ref;
        if (b->o->n_base_maps) {
            int m = bld_base_map(b->o->base_maps, b->o->n_base_maps, norm, mapped, sizeof mapped);
            if (m < 0 || (m == 1 && img_ref_normalize(mapped, norm, sizeof norm, &e) < 0))
                continue;
            if (m == 1)
                shown = mapped;
        }
        int r = image_unknown(b, norm, &e);
        if (r == 1)
            return bld_errat(err, &b->f, in, in->args[0].off, "unknown base image %s", *e.msg ? e.msg : shown);
        if (r == 2)
            return bld_errat(err, &b->f, in, in->args[0].off, "FROM %s", e.msg);
    }
    return 0;
}

int bld_global_args(bld_state *b, nr_err *err)
{
    if (b->gargs_ready)
        return 0;
    b->gargs_ready = true;
    for (size_t i = 0; i < NR_ARRAY_LEN(platform_args); i++)
        vars_set(&b->gargs, &b->n_gargs, platform_args[i][0], platform_args[i][1]);
    /* planned again in the walk, where their STEP lines print: the same values */
    for (size_t i = 0; i < b->f.n && b->f.ins[i].kind != BLD_FROM; i++)
        if (b->f.ins[i].kind == BLD_ARG && plan_arg(b, NULL, &b->f.ins[i], err) < 0)
            return -1;
    return 0;
}

int bld_plan(bld_state *b, nr_err *err)
{
    if (bld_global_args(b, err) < 0)
        return -1;
    /* what needs no variable or image: checked before any RUN runs */
    for (size_t i = 0; i < b->f.n; i++) {
        const bld_instr *in = &b->f.ins[i];
        if (in->kind == BLD_RUN && bld_run_check(b, in, err) < 0)
            return -1;
        const bld_flag *pf = in->kind == BLD_FROM ? bld_instr_flag(in, "platform") : NULL;
        if (pf && !strchr(pf->value ? pf->value : "", '$') && check_platform(b, in, err) < 0)
            return -1;
    }
    if (bld_stages_analyze(b, err) < 0)
        return -1;
    bool checked = false;
    for (size_t i = 0; i < b->f.n; i++) {
        const bld_instr *in = &b->f.ins[i];
        bld_stage *st = b->n_stages ? &b->stages[b->n_stages - 1] : NULL;
        size_t layers_before = st ? st->n_layers : 0;
        if (bld_stop_sig)
            return bld_interrupted(err);
        if (in->kind == BLD_FROM && !checked) {
            checked = true; /* the global ARGs are known now */
            if (bld_images_precheck(b, err) < 0)
                return -1;
        }
        if (in->kind == BLD_FROM && b->n_stages == b->target + 1)
            break; /* the stages after the target are not built */
        if (in->kind == BLD_FROM && !b->stage_needed[b->n_stages]) {
            /* a stage the target does not need: its name only, nothing runs */
            b->stages = nr_xrealloc(b->stages, (b->n_stages + 1) * sizeof *b->stages);
            bld_stage *sk = &b->stages[b->n_stages++];
            memset(sk, 0, sizeof *sk);
            sk->skipped = true;
            sk->name = in->nargs == 3 ? nr_xstrdup(in->args[2].s) : NULL;
            sk->config = json_object();
            sk->shell = json_pack("[s,s]", "/bin/sh", "-c");
            continue;
        }
        if (st && st->skipped && in->kind != BLD_FROM)
            continue;
        if (in->kind == BLD_FROM) {
            /* --no-cache-filter: this stage's steps take nothing from the cache */
            const char *name = b->stage_names[b->n_stages];
            b->stage_no_cache = false;
            for (size_t k = 0; name && k < b->o->n_no_cache_stages; k++)
                b->stage_no_cache |= !strcasecmp(name, b->o->no_cache_stages[k]);
        }
        if (b->o->progress) {
            cleanup_free char *t = bld_instr_rest(in, 0);
            fprintf(b->o->progress, "%sSTEP %zu/%zu: %s\n", b->prefix ? b->prefix : "", i + 1, b->f.n, t);
        }
        if (!st && in->kind != BLD_FROM && in->kind != BLD_ARG)
            return bld_errat(err, &b->f, in, in->kw_off, "%s before FROM: only ARG may come before the first FROM", in->name);
        int rc = in->kind == BLD_FROM ? plan_from(b, in, err) : plan_instr(b, st, in, err);
        if (rc == 0 && in->kind == BLD_FROM)
            rc = run_triggers(b, in, err);
        if (rc < 0)
            return -1;
        if (st && in->kind != BLD_FROM && st->n_layers > layers_before && b->o->progress &&
            st->layers[st->n_layers - 1]->cached)
            fprintf(b->o->progress, "%s--> CACHED %.19s\n", b->prefix ? b->prefix : "",
                    st->layers[st->n_layers - 1]->layer.blob.digest);
    }
    for (size_t i = 0; i < b->o->n_build_args; i++)
        if (!b->build_arg_used[i] && !is_proxy_arg(b->o->build_args[i]) && !b->o->quiet && !b->prefix)
            /* the name only: a value may be a credential, and this goes to logs */
            fprintf(stderr, "%s: warning: build-arg %.*s was not consumed\n", "nbuild",
                    (int)strcspn(b->o->build_args[i], "="), b->o->build_args[i]);
    return 0;
}
