/* The supervisor's event loop, in the shape of redis' ae.c: one epoll set,
 * fd watches with a callback each, one-shot timers kept in a short list and
 * driven by a single timerfd, and a signalfd so signals arrive as events and
 * are never handled in signal context.  The timer list is a plain list: the
 * supervisor has a handful of timers (a few per worker), so O(n) is cheaper
 * than a heap's bookkeeping. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "runtime/supervisor/sv_internal.h"

static int ep = -1, sig_fd = -1, tim_fd = -1;
static sv_timer *timers;
static uint64_t armed_due;
static sv_watch sig_w, tim_w;

uint64_t sv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every signal reaches the loop (all but SIGKILL and SIGSTOP, which cannot):
 * what PID 1 does not handle itself is the app's and is forwarded, so
 * `nrun kill -s ANY` behaves as in docker, where the app is PID 1.  A
 * blocked signal is queued even for the init of a pid namespace, which the
 * kernel would otherwise spare every signal it has no handler for.  Kernel
 * masks, not sigset_t: glibc's sigaddset refuses 32 and 33 (its own, for
 * threads; we have none and the app may want them). */
static int block_all_signals(nr_err *err)
{
    uint64_t mask = ~0ULL & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
    if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, NULL, sizeof mask) < 0)
        return nr_err_sys(err, errno, "sigprocmask");
    sig_fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0)
        return nr_err_sys(err, errno, "signalfd");
    return 0;
}

int sv_loop_init(nr_err *err)
{
    /* Writes to a closed pipe or socket must return EPIPE, not kill PID 1
     * (the SIGPIPE they raise on us is queued, and dropped in sv_loop_once). */
    signal(SIGPIPE, SIG_IGN);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return nr_err_sys(err, errno, "epoll_create1");
    if (block_all_signals(err) < 0)
        return -1;
    tim_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (tim_fd < 0)
        return nr_err_sys(err, errno, "timerfd_create");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &sig_w};
    sig_w = (sv_watch){.fd = sig_fd, .added = true};
    tim_w = (sv_watch){.fd = tim_fd, .added = true};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sig_fd, &ev) < 0)
        return nr_err_sys(err, errno, "epoll_ctl signalfd");
    ev.data.ptr = &tim_w;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tim_fd, &ev) < 0)
        return nr_err_sys(err, errno, "epoll_ctl timerfd");
    return 0;
}

void sv_loop_fini(void)
{
    if (ep >= 0)
        close(ep);
    if (sig_fd >= 0)
        close(sig_fd);
    if (tim_fd >= 0)
        close(tim_fd);
    ep = sig_fd = tim_fd = -1;
}

int sv_watch_add(sv_watch *w, int fd, uint32_t events, sv_io_fn fn, void *arg)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    *w = (sv_watch){.fd = fd, .fn = fn, .arg = arg, .events = events};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    w->added = true;
    return 0;
}

int sv_watch_mod(sv_watch *w, uint32_t events)
{
    if (!w->added || w->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return -1;
    w->events = events;
    return 0;
}

void sv_watch_del(sv_watch *w)
{
    if (w->added)
        epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
    w->added = false;
    w->fn = NULL;
}

static void rearm(void)
{
    uint64_t due = 0;
    for (sv_timer *t = timers; t; t = t->next)
        if (!due || t->due_ms < due)
            due = t->due_ms;
    if (due == armed_due)
        return;
    armed_due = due;
    struct itimerspec its = {0};
    if (due) {
        /* Absolute monotonic time: no drift between computing and arming. */
        its.it_value.tv_sec = (time_t)(due / 1000);
        its.it_value.tv_nsec = (long)(due % 1000) * 1000000;
    }
    timerfd_settime(tim_fd, due ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

void sv_timer_start(sv_timer *t, uint64_t delay_ms, void (*fn)(void *), void *arg)
{
    sv_timer_stop(t);
    t->due_ms = sv_now_ms() + (delay_ms ? delay_ms : 1);
    t->fn = fn;
    t->arg = arg;
    t->armed = true;
    t->prev = NULL;
    t->next = timers;
    if (timers)
        timers->prev = t;
    timers = t;
    rearm();
}

void sv_timer_stop(sv_timer *t)
{
    if (!t->armed)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->armed = false;
    t->next = t->prev = NULL;
    rearm();
}

static void run_timers(void)
{
    uint64_t exp;
    while (read(tim_fd, &exp, sizeof exp) > 0)
        ;
    armed_due = 0;
    /* Fire one due timer at a time and rescan: a callback may stop or start others. */
    for (;;) {
        uint64_t now = sv_now_ms();
        sv_timer *due = NULL;
        for (sv_timer *t = timers; t; t = t->next)
            if (t->due_ms <= now) {
                due = t;
                break;
            }
        if (!due)
            break;
        sv_timer_stop(due);
        due->fn(due->arg);
    }
    rearm();
}

int sv_loop_once(void (*on_signal)(int sig), nr_err *err)
{
    struct epoll_event evs[64];
    int n = epoll_wait(ep, evs, (int)NR_ARRAY_LEN(evs), -1);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return nr_err_sys(err, errno, "epoll_wait");
    }
    for (int i = 0; i < n; i++) {
        sv_watch *w = evs[i].data.ptr;
        if (w == &sig_w) {
            struct signalfd_siginfo si;
            uint32_t self = (uint32_t)getpid();
            while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
                /* one we raised on ourselves (SIGPIPE of a write to a closed
                 * pipe, SIGXFSZ) is nobody's to forward */
                if (si.ssi_pid != self || si.ssi_signo == SIGCHLD)
                    on_signal((int)si.ssi_signo);
        } else if (w == &tim_w) {
            run_timers();
        } else if (w->fn) {
            w->fn(w->arg, evs[i].events);
        }
    }
    return 0;
}
