/* The store's event log: what `nrun events` shows, as docker's events.
 *
 * <store>/events/events.jsonl, one JSON object a line, shaped like docker's:
 *   {"status":ACTION,"id":ID,"from":IMAGE,"Type":TYPE,"Action":ACTION,
 *    "Actor":{"ID":ID,"Attributes":{"name":..,"image":..,...}},
 *    "scope":"local","time":UNIX_S,"timeNano":UNIX_NS}
 * Each line is one write(2) under O_APPEND of less than PIPE_BUF bytes, so
 * writers in several processes never interleave; a longer line has its
 * attribute values cut (and then dropped) until it fits.  Past
 * RT_EVENTS_MAX bytes the log is renamed to events.jsonl.1 (one old file
 * kept) and a new one begun.
 *
 * Who writes: the nrun CLI (create, start, restart, stop, kill, rename,
 * destroy) and a container's host-side monitor (start, die, oom) -- never
 * anything inside a container.  A string that came from a container (a
 * health check's output, say) may be passed as an attribute: it is JSON
 * escaped like any other, so it cannot forge a line or another field. */
#ifndef NR_RUNTIME_EVENTS_H
#define NR_RUNTIME_EVENTS_H

#include <jansson.h>

#include "common/err.h"

struct rt_state;

#define RT_EVENTS_DIR "events"
#define RT_EVENTS_FILE "events.jsonl"
#define RT_EVENTS_MAX (4L << 20)

/* Append one event.  type: "container", "image", "volume", "network"...;
 * action: docker's word ("create", "start", "die", "oom", "kill", "stop",
 * "restart", "rename", "destroy", "health_status: healthy", ...); id: the
 * object's id (a container's full id); attrs: an object of string (or
 * number) values, borrowed, may be NULL.  For a container use
 * rt_event_container, which adds its name, image and labels.
 * Returns 0, or -1 with err set (no store, disk full): callers that only
 * report may ignore it -- an event never fails the action it reports. */
int rt_event_emit(const char *store_root, const char *type, const char *action, const char *id, const json_t *attrs,
                  nr_err *err);

/* A container's event: its name and image (from st, or read from its state
 * when st is NULL), its labels (run.json's config.Labels), then the extra
 * attributes (borrowed, may be NULL; e.g. {"exitCode":"0"}, {"signal":"15"},
 * {"oldName":"a"}, {"health_status":"unhealthy"}).  Errors are ignored. */
void rt_event_container(const char *store_root, const char *action, const char *id, const struct rt_state *st,
                        const json_t *extra);

/* <store>/events/events.jsonl (rotated: suffix ".1"); the caller frees. */
char *rt_events_path(const char *store_root, bool rotated);

#endif
