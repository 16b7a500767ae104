/* --build-context NAME=VALUE, BuildKit's named contexts: `FROM NAME`,
 * `COPY --from=NAME` and `RUN --mount from=NAME` read VALUE in place of a
 * stage or an image of that name (a stage of the same name is overridden,
 * as BuildKit does).  VALUE is `docker-image://REF` (the image REF) or a
 * local directory, read as a second build context: its own .dockerignore
 * applies, its links resolve inside it, and the same checks as the main
 * context's guard every open (context.c).  Git and HTTP contexts,
 * `oci-layout://` and bake's `target:` are refused when the flag is read. */
#include "builder/build_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/util.h"
#include "images/ref.h"

#define IMAGE_PREFIX "docker-image://"

/* Stage names as BuildKit takes them: a letter, then letters, digits, '-', '_', '.'. */
static bool name_ok(const char *n, size_t len)
{
    if (!len || len > 128 || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return false;
    }
    return true;
}

int bld_named_check(const char *spec, nr_err *err)
{
    const char *eq = strchr(spec, '=');
    if (!eq || !name_ok(spec, (size_t)(eq - spec)))
        return nr_err_set(err, "--build-context %s: want NAME=DIR or NAME=docker-image://REF (NAME a stage name)",
                          spec);
    const char *v = eq + 1;
    if (!strncmp(v, IMAGE_PREFIX, strlen(IMAGE_PREFIX))) {
        img_ref r;
        if (img_ref_parse(v + strlen(IMAGE_PREFIX), &r, err) < 0)
            return nr_err_set(err, "--build-context %s: invalid image reference: %s", spec, err->msg);
        return 0;
    }
    static const char *const unsupported[] = {"oci-layout://", "target:", "http://", "https://", "git://",
                                              "git@", "ssh://"};
    for (size_t i = 0; i < NR_ARRAY_LEN(unsupported); i++)
        if (!strncmp(v, unsupported[i], strlen(unsupported[i])))
            return nr_err_set(err, "--build-context %s: only a local directory or docker-image://REF is supported",
                              spec);
    struct stat st;
    if (stat(v, &st) < 0)
        return nr_err_sys(err, errno, "--build-context %s", spec);
    if (!S_ISDIR(st.st_mode))
        return nr_err_set(err, "--build-context %s: not a directory", spec);
    return 0;
}

long bld_spec_find(const char *const *specs, size_t n, const char *name, bool icase)
{
    size_t len = strlen(name);
    for (size_t i = n; i-- > 0;) {
        size_t k = strcspn(specs[i], "=");
        if (k == len && !(icase ? strncasecmp : strncmp)(specs[i], name, k))
            return (long)i;
    }
    return -1;
}

bool bld_named_has(const bld_opts *o, const char *name)
{
    return bld_spec_find(o->build_contexts, o->n_build_contexts, name, true) >= 0;
}

int bld_named_find(bld_state *b, const char *name, const char **image, bld_ctx **dir, nr_err *err)
{
    *image = NULL;
    *dir = NULL;
    /* the last one given wins, as for a map of names (stage names: any case) */
    long k = bld_spec_find(b->o->build_contexts, b->o->n_build_contexts, name, true);
    if (k < 0)
        return 0;
    size_t i = (size_t)k;
    const char *spec = b->o->build_contexts[i], *eq = strchr(spec, '='); /* checked by bld_named_check */
    const char *v = eq + 1;
    if (!strncmp(v, IMAGE_PREFIX, strlen(IMAGE_PREFIX))) {
        *image = v + strlen(IMAGE_PREFIX);
        return 1;
    }
    if (!b->named_ctx)
        b->named_ctx = nr_xcalloc(b->o->n_build_contexts, sizeof *b->named_ctx);
    /* no stat cache of its own: the main context's file is the one kept */
    if (!b->named_ctx[i] && bld_ctx_open(v, NULL, NULL, &b->named_ctx[i], err) < 0)
        return nr_err_wrap(err, "--build-context %.*s", (int)(eq - spec), spec);
    *dir = b->named_ctx[i];
    return 2;
}

void bld_named_free(bld_state *b)
{
    for (size_t i = 0; b->named_ctx && i < b->o->n_build_contexts; i++)
        bld_ctx_free(b->named_ctx[i]);
    free(b->named_ctx);
    b->named_ctx = NULL;
}
