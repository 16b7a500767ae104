/* The project's record in the store, compose/<project>.json: its files and
 * directory (so -p NAME alone finds them) and the networks and volumes up made
 * (so down removes those, and never one the file merely names). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/compose.h"
#include "common/util.h"
#include "runtime/net.h"

bool cmp_volume_exists(nr_global *g, const char *name)
{
    cleanup_free char *p = nr_xasprintf("%s/volumes/%s", g->root, name);
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

json_t *cmp_state_load(nr_global *g, const char *name)
{
    if (!*name || strchr(name, '/') || name[0] == '.')
        return NULL;
    cleanup_free char *path = nr_xasprintf("%s/compose/%s.json", g->root, name);
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

void cmp_state_save(nr_global *g, cmp_project *p)
{
    cleanup_free char *dir = nr_xasprintf("%s/compose", g->root);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    json_t *j = json_pack("{s:s, s:s, s:O}", "name", p->name, "working_dir", p->dir, "config_files", p->files);
    /* the networks and volumes the project may make (those that do not exist yet: called
     * before cmp_make_shared), with those of earlier ups: down removes them even when a later
     * file no longer names them, and never one it did not make (a cloned file's name: of a
     * volume the user made by hand) */
    json_t *old = cmp_state_load(g, p->name);
    static const char *const kinds[] = {"networks", "volumes"};
    for (int k = 0; k < 2; k++) {
        json_t *made = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(old, kinds[k]), i, v) if (json_is_string(v)) json_array_append(made, v);
        const char *key;
        json_object_foreach(json_object_get(p->model, kinds[k]), key, v) {
            if (json_is_true(json_object_get(v, "external")))
                continue;
            char *n = k == 0 ? cmp_net_name(p, key) : cmp_vol_name(p, key);
            bool seen = false;
            size_t x;
            json_t *y;
            json_array_foreach(made, x, y) seen |= !strcmp(json_string_value(y), n);
            nr_err ign = {0};
            bool exists = k == 0 ? rt_net_exists(g->root, n, &ign) == 0 : cmp_volume_exists(g, n);
            if (!seen && !exists)
                json_array_append_new(made, json_string(n));
            free(n);
        }
        json_object_set_new(j, kinds[k], made);
    }
    json_decref(old);
    char *text = json_dumps(j, JSON_COMPACT);
    cleanup_free char *file = nr_xasprintf("%s.json", p->name);
    nr_err ign;
    if (dfd >= 0 && text)
        nr_write_atomic(dfd, file, text, strlen(text), 0600, &ign);
    free(text);
    json_decref(j);
}
