/* A clock a few seconds off for one process and its children, for tests of hosts whose clocks disagree:
 * shifts CLOCK_REALTIME (and what reads it: gettimeofday, time) by BYLINE_CLOCK_SKEW_MS milliseconds, and
 * leaves every other clock alone. Loaded with LD_PRELOAD.
 *
 * libfaketime was used before; its 0.9.10 (Debian 12) fails every Python time.sleep() with EINVAL when the
 * monotonic clock is left real, and hangs when it is faked, so a pixel server that retried a busy database
 * exited. This shim touches no sleep or timer. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long skew_ns;
static int (*real_clock_gettime)(clockid_t, struct timespec *);

__attribute__((constructor)) static void load(void) {
    const char *ms = getenv("BYLINE_CLOCK_SKEW_MS");
    skew_ns = ms ? atoll(ms) * 1000000LL : 0;
    real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    if (!real_clock_gettime)
        load();
    int rc = real_clock_gettime(clock, ts);
    if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
        long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + skew_ns;
        ts->tv_sec = ns / 1000000000LL;
        ts->tv_nsec = ns % 1000000000LL;
    }
    return rc;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc == 0 && tv) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return rc;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out)
        *out = ts.tv_sec;
    return ts.tv_sec;
}
