/* nbuild --init: the image carries its own supervisor.
 *
 * The static PID 1 that nrun runs from a sealed memfd (build/nrun-init,
 * embedded in nrun and nbuild) goes into one small extra layer as
 * /nrun-init, and the entrypoint becomes ["/nrun-init", "--", ...the old
 * ENTRYPOINT...], so any OCI runtime (runc, crun under Kubernetes) starts the
 * same master/worker supervisor.  The label org.nrun.init names the file:
 * nrun itself sees it and runs the command under its own PID 1 as before
 * (runtime/init/init_main.c reads the image mode's settings from NRUN_*). */
#include <jansson.h>
#include <string.h>

#include "builder/build_int.h"

extern const unsigned char nr_init_blob[] __attribute__((visibility("hidden")));
extern const unsigned char nr_init_blob_end[] __attribute__((visibility("hidden")));

#define INIT_PATH "/nrun-init"

static int init_layer(bld_state *b, img_layer_desc *out, nr_err *err)
{
    img_layer_writer *w;
    if (img_layer_writer_new(b->s, b->o->compress, -1, &w, err) < 0)
        return -1;
    if (img_layer_add_data(w, INIT_PATH, nr_init_blob, (size_t)(nr_init_blob_end - nr_init_blob), 0755, 0, 0,
                           err) < 0) {
        img_layer_writer_abort(w);
        return -1;
    }
    if (img_layer_writer_commit_desc(w, out, err) < 0)
        return nr_err_wrap(err, "init layer");
    return 0;
}

int bld_init_apply(bld_state *b, json_t **config, img_layer_desc *layer, nr_err *err)
{
    if (init_layer(b, layer, err) < 0)
        return -1;
    json_t *c = *config ? json_deep_copy(*config) : json_object();
    json_t *ep = json_array();
    json_array_append_new(ep, json_string(INIT_PATH));
    json_array_append_new(ep, json_string("--"));
    json_t *old = json_object_get(c, "Entrypoint");
    /* an image built with --init from one built with --init: wrap once */
    size_t i = 0;
    if (json_is_array(old) && json_array_size(old) >= 2 &&
        !strcmp(json_string_value(json_array_get(old, 0)) ?: "", INIT_PATH) &&
        !strcmp(json_string_value(json_array_get(old, 1)) ?: "", "--"))
        i = 2;
    for (; json_is_array(old) && i < json_array_size(old); i++)
        json_array_append(ep, json_array_get(old, i));
    json_object_set_new(c, "Entrypoint", ep);
    json_t *labels = json_object_get(c, "Labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(c, "Labels", labels);
    }
    json_object_set_new(labels, "org.nrun.init", json_string(INIT_PATH));
    *config = c;
    return 0;
}
