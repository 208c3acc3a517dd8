/* Latency probe: wake every 4 ms on an absolute deadline, do 0.5 ms of CPU work, and report how
 * late each wake-up was (actual wake - deadline) as p50/p95/p99/max in microseconds (JSON), and
 * when each cycle's work was done (done - deadline, at least the 0.5 ms) as done_p50/p99/max.
 *
 * usage: probe SECONDS [fifo]
 * Timer slack is set to 1 ns for every variant so that the default 50 us slack does not dominate
 * the figures. "fifo" runs the probe at SCHED_FIFO 50: the best case a scheduler can give.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 4000000LL
#define WORK_NS 500000LL

static long long ts_ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

static long long now_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return ts_ns(&t);
}

/* The thread's EEVDF slice (sched_runtime of SCHED_OTHER, ns), 0 where sched_getattr fails: shows
 * whether a helper gave the probe a custom slice while it ran. */
static long long slice_ns(void) {
    uint32_t attr[14] = {0}; /* struct sched_attr, SCHED_ATTR_SIZE_VER1: 56 bytes */
    if (syscall(SYS_sched_getattr, 0, attr, sizeof attr, 0) != 0) return 0;
    uint64_t runtime;
    memcpy(&runtime, &attr[6], sizeof runtime); /* after size, policy, flags (u64), nice, priority */
    return (long long)runtime;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long pct(const long long *v, size_t n, double p) {
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SECONDS [fifo]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    int fifo = argc > 2 && strcmp(argv[2], "fifo") == 0;
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) != 0) {
        perror("prctl(PR_SET_TIMERSLACK)");
        return 1;
    }
    if (fifo) {
        struct sched_param sp = {.sched_priority = 50};
        if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
            perror("sched_setscheduler(SCHED_FIFO)");
            return 1;
        }
    }
    size_t n = (size_t)(seconds * 1e9 / PERIOD_NS);
    if (n < 10) n = 10;
    long long *late = calloc(n, sizeof *late);
    long long *done = calloc(n, sizeof *done);
    if (!late || !done) return 1;

    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    long long deadline = ts_ns(&dl) + PERIOD_NS;
    for (size_t i = 0; i < n; i++) {
        dl.tv_sec = deadline / 1000000000LL;
        dl.tv_nsec = deadline % 1000000000LL;
        int rc;
        while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL)) == EINTR) {
        }
        long long woke = now_ns(CLOCK_MONOTONIC);
        late[i] = (woke - deadline) / 1000;
        /* CPU time, not wall time: the work is the same whatever preempts it. */
        long long work_end = now_ns(CLOCK_THREAD_CPUTIME_ID) + WORK_NS;
        while (now_ns(CLOCK_THREAD_CPUTIME_ID) < work_end) {
        }
        done[i] = (now_ns(CLOCK_MONOTONIC) - deadline) / 1000;
        deadline += PERIOD_NS;
    }
    qsort(late, n, sizeof *late, cmp_ll);
    qsort(done, n, sizeof *done, cmp_ll);
    long long sum = 0;
    size_t over_1ms = 0;
    for (size_t i = 0; i < n; i++) {
        sum += late[i];
        over_1ms += late[i] > 1000;
    }
    printf("{\"samples\": %zu, \"p50\": %lld, \"p95\": %lld, \"p99\": %lld, \"max\": %lld, "
           "\"mean\": %lld, \"over_1ms\": %zu, \"fifo\": %s, "
           "\"done_p50\": %lld, \"done_p99\": %lld, \"done_max\": %lld, \"slice_ns\": %lld}\n",
           n, pct(late, n, 0.50), pct(late, n, 0.95), pct(late, n, 0.99), late[n - 1],
           sum / (long long)n, over_1ms, fifo ? "true" : "false",
           pct(done, n, 0.50), pct(done, n, 0.99), done[n - 1], slice_ns());
    free(late);
    free(done);
    return 0;
}
