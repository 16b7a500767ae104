/* Signal names, one table for every place that reads one: `nrun kill -s`,
 * `nrun supervise --stop-signal`, an image's StopSignal and nbuild's
 * STOPSIGNAL.  Spelled as docker and kill(1) take them: a standard Linux
 * name with or without "SIG", in any case ("TERM", "SIGterm", "IOT"),
 * RTMIN, RTMIN+n, RTMAX-n, RTMAX, or a number 1..64. */
#ifndef NR_SIGNAL_H
#define NR_SIGNAL_H

/* The signal number, or -1 (an empty string is not a signal). */
int nr_signal_parse(const char *s);

/* The name of a signal as docker and kill -l print it: "SIGKILL",
 * "SIGRTMIN+3", or "signal 99"; written into buf, which is returned. */
enum { NR_SIGNAME_MAX = 16 };
const char *nr_signal_name(int sig, char buf[NR_SIGNAME_MAX]);

#endif
