/* Replacing and draining workers: rolling reload, scale, memory-limit
 * replacement, stop.  Draining a cluster worker, in order:
 *   1. it leaves the routing (no new connections);
 *   2. the agent is told {"act":"drain"}: in-flight responses go out with
 *      `Connection: close`, idle keep-alive sockets are closed, and it
 *      reports each closed connection;
 *   3. when its open connections reach 0, cluster `disconnect`: Node closes
 *      its servers and the channel (EOF here), and the agent hands the stop
 *      signal (named in the drain message) to the app's own listener for
 *      it, if it has one, as docker stop would;
 *   4. the stop signal after --drain-timeout (or 1 s after the disconnect
 *      completed, for apps whose timers keep them alive), SIGKILL after
 *      --kill-timeout more. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/signal.h"
#include "runtime/supervisor/sv_internal.h"

static void kill_fire(void *arg)
{
    sv_worker *w = arg;
    sv_log_sys("worker %d (pid %d) did not stop: SIGKILL", w->slot, (int)w->pid);
    sv_worker_signal_group(w, SIGKILL);
}

static void term_fire(void *arg)
{
    sv_worker *w = arg;
    if (w->reaped)
        return;
    w->state = SV_W_STOPPING;
    sv_worker_signal_group(w, sv_g->cfg->stop_signal ? sv_g->cfg->stop_signal : SIGTERM);
    sv_timer_start(&w->kill_t, (uint64_t)sv_g->cfg->kill_timeout_ms, kill_fire, w);
}

void sv_worker_terminate(sv_worker *w)
{
    term_fire(w);
}

void sv_drain_worker(sv_worker *w)
{
    if (w->reaped || w->state == SV_W_DRAINING || w->state == SV_W_STOPPING)
        return;
    w->state = SV_W_DRAINING;
    w->expected_exit = true;
    sv_timer_stop(&w->listen_t);
    char name[NR_SIGNAME_MAX], msg[96];
    nr_signal_name(sv_g->cfg->stop_signal ? sv_g->cfg->stop_signal : SIGTERM, name);
    snprintf(msg, sizeof msg, "{\"cmd\":\"NODE_NRUN\",\"act\":\"drain\",\"sig\":\"%s\"}", name);
    sv_ipc_send(w, msg);
    sv_timer_start(&w->drain_t, (uint64_t)sv_g->cfg->drain_timeout_ms, term_fire, w);
    sv_balance_rearm();
    sv_drain_check(w);
}

void sv_drain_check(sv_worker *w)
{
    if (w->state != SV_W_DRAINING || w->reaped)
        return;
    if (w->ipc_fd < 0 || !w->heard) {
        /* Disconnected, or never connected (a `node -e` that needed no
         * channel cannot hear a disconnect): give an app with nothing left
         * to do a moment to exit by itself. */
        if (!w->drain_t.armed || w->drain_t.due_ms > sv_now_ms() + 1000)
            sv_timer_start(&w->drain_t, 1000, term_fire, w);
        return;
    }
    if (!w->disconnect_sent && w->ninflight == 0 && sv_worker_open_conns(w) == 0) {
        w->disconnect_sent = true;
        sv_ipc_send(w, "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"disconnect\"}");
    }
}

static void listen_timeout(void *arg)
{
    sv_worker *w = arg;
    sv_log_sys("worker %d (pid %d) not up after %d ms: killing it", w->slot, (int)w->pid,
               sv_g->cfg->listen_timeout_ms);
    sv_worker_signal_group(w, SIGKILL);
}

/* --wait-ready, a worker that is nobody's replacement (the first ones, or one
 * restarted after a crash) listened but never said 'ready': after
 * --listen-timeout it serves anyway, as pm2 does, rather than holding the
 * others back forever.  (A replacement in a reload fails instead: the old
 * worker keeps serving.) */
static void ready_timeout(void *arg)
{
    sv_worker *w = arg;
    if (w->state != SV_W_STARTING)
        return;
    sv_log_sys("worker %d (pid %d) listens but sent no 'ready' within %d ms (--listen-timeout): serving with it",
               w->slot, (int)w->pid, sv_g->cfg->listen_timeout_ms);
    sv_worker_now_up(w);
}

void sv_wait_ready_arm(sv_worker *w)
{
    if (w->replaces_id || w->state != SV_W_STARTING || w->listen_t.armed)
        return;
    sv_timer_start(&w->listen_t, (uint64_t)sv_g->cfg->listen_timeout_ms, ready_timeout, w);
}

/* Start a new worker in old's slot; old is drained once the new one is up. */
void sv_replace_worker(sv_worker *old)
{
    if (old->replacing || old->reaped || old->state == SV_W_DRAINING || old->state == SV_W_STOPPING)
        return;
    nr_err err = {0};
    sv_worker *w = sv_worker_spawn(old->slot, &err);
    if (!w) {
        sv_log_sys("worker %d: replacement: %s", old->slot, err.msg);
        return;
    }
    old->replacing = true;
    w->replaces_id = old->id;
    sv_timer_start(&w->listen_t, (uint64_t)sv_g->cfg->listen_timeout_ms, listen_timeout, w);
}

static void reload_done(bool ok, const char *why)
{
    if (!sv_g->reloading)
        return;
    sv_g->reloading = false;
    if (ok)
        sv_log_sys("reload done: %d worker%s replaced", sv_g->reload_n, sv_g->reload_n == 1 ? "" : "s");
    else
        sv_log_sys("reload failed: %s", why);
    if (sv_g->reload_client) {
        char buf[300];
        if (ok)
            snprintf(buf, sizeof buf, "{\"ok\":true,\"replaced\":%d}", sv_g->reload_n);
        else
            snprintf(buf, sizeof buf, "{\"ok\":false,\"error\":\"%s\"}", why);
        sv_control_reply(sv_g->reload_client, buf);
        sv_g->reload_client = NULL;
    }
}

static void reload_step(void)
{
    while (sv_g->reloading && sv_g->reload_i < sv_g->reload_n) {
        sv_worker *old = sv_worker_by_id(sv_g->reload_list[sv_g->reload_i]);
        if (!old || old->reaped || old->state == SV_W_DRAINING || old->state == SV_W_STOPPING) {
            sv_g->reload_i++;
            continue;
        }
        sv_replace_worker(old);
        if (!old->replacing) {
            reload_done(false, "could not start a new worker");
            return;
        }
        return; /* continues in sv_worker_now_up */
    }
    reload_done(true, NULL);
}

void sv_worker_now_up(sv_worker *w)
{
    if (w->state != SV_W_STARTING)
        return;
    w->state = SV_W_UP;
    sv_timer_stop(&w->listen_t);
    if (!sv_g->cluster_up) {
        sv_g->cluster_up = true;
        for (int s = 2; s <= sv_g->target; s++)
            sv_worker_start_slot(s);
    }
    sv_balance_rearm();
    int rid = w->replaces_id;
    w->replaces_id = 0; /* from now on an ordinary worker of its slot */
    if (rid) {
        sv_worker *old = sv_worker_by_id(rid);
        if (old && !old->reaped)
            sv_drain_worker(old);
        if (sv_g->reloading && sv_g->reload_i < sv_g->reload_n && sv_g->reload_list[sv_g->reload_i] == rid) {
            sv_g->reload_i++;
            reload_step();
        }
    }
}

void sv_reload_worker_failed(sv_worker *w)
{
    sv_worker *old = sv_worker_by_id(w->replaces_id);
    if (old)
        old->replacing = false;
    if (sv_g->reloading && sv_g->reload_i < sv_g->reload_n && sv_g->reload_list[sv_g->reload_i] == w->replaces_id)
        reload_done(false, "a new worker exited before it was up; the old workers keep serving");
}

void sv_reload_start(struct sv_ctl_client *c)
{
    if (sv_g->stopping) {
        if (c)
            sv_control_reply(c, "{\"ok\":false,\"error\":\"stopping\"}");
        return;
    }
    if (!sv_g->cluster) {
        /* One process: restart it (stop signal, then start again at once). */
        for (sv_worker *w = sv_g->workers; w; w = w->next)
            if (!w->reaped && w->state != SV_W_STOPPING) {
                w->restart_after_exit = true;
                w->state = SV_W_STOPPING;
                sv_worker_signal_group(w, sv_g->cfg->stop_signal ? sv_g->cfg->stop_signal : SIGTERM);
                sv_timer_start(&w->kill_t, (uint64_t)sv_g->cfg->kill_timeout_ms, kill_fire, w);
            }
        if (c)
            sv_control_reply(c, "{\"ok\":true,\"replaced\":1}");
        return;
    }
    if (sv_g->reloading) {
        if (c)
            sv_control_reply(c, "{\"ok\":false,\"error\":\"a reload is in progress\"}");
        return;
    }
    sv_g->reloading = true;
    sv_g->reload_client = c;
    sv_g->reload_n = sv_g->reload_i = 0;
    for (int s = 1; s <= SV_MAX_SLOTS; s++)
        for (sv_worker *w = sv_g->workers; w; w = w->next)
            if (w->slot == s && !w->reaped && (w->state == SV_W_UP || w->state == SV_W_STARTING) &&
                !w->replaces_id && !w->replacing && sv_g->reload_n < SV_MAX_SLOTS)
                sv_g->reload_list[sv_g->reload_n++] = w->id;
    sv_log_sys("reload: replacing %d worker%s one at a time", sv_g->reload_n, sv_g->reload_n == 1 ? "" : "s");
    reload_step();
}

void sv_scale(int n)
{
    if (n < 1)
        n = 1;
    if (n > SV_MAX_SLOTS)
        n = SV_MAX_SLOTS;
    int old = sv_g->target;
    sv_g->target = n;
    sv_log_sys("scale: %d -> %d worker%s", old, n, n == 1 ? "" : "s");
    for (sv_worker *w = sv_g->workers; w; w = w->next)
        if (!w->reaped && w->slot > n)
            sv_drain_worker(w);
    for (int s = n + 1; s <= SV_MAX_SLOTS; s++)
        if (sv_g->slots[s].restart_pending) {
            sv_timer_stop(&sv_g->slots[s].restart_t);
            sv_g->slots[s].restart_pending = false;
        }
    if (sv_g->cluster_up)
        for (int s = 1; s <= n; s++)
            if (!sv_g->slots[s].restart_pending)
                sv_worker_start_slot(s);
}
