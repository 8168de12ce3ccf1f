// The machine's own latency tail, without Seq2Seq: a fixed burst of scalar work (about the CPU time of one
// date request, ~0.5 ms) after a short sleep, repeated for a while; prints the burst's duration percentiles and
// when the slow ones happened. A server's p99 cannot be better than the machine's: on a shared VM, bursts after
// an idle moment can run several times slower for tens of milliseconds at a time (docs/server.md).
// Usage: cc -O2 -o jitter jitter.c && ./jitter [seconds=8] [sleep_us=2000]
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 8;
    int sleep_us = argc > 2 ? atoi(argv[2]) : 2000;
    enum { N = 1 << 16 };
    static float a[N];
    for (int i = 0; i < N; i++) a[i] = 1e-3f * (i % 7);
    int cap = (int)(seconds * 1e6 / (sleep_us > 100 ? sleep_us : 100)) + 16, n = 0;  // a burst takes > 100 us
    double *d = malloc(sizeof(double) * cap), *at = malloc(sizeof(double) * cap);
    volatile float sink = 0;
    double t0 = now();
    while (now() - t0 < seconds && n < cap) {
        usleep(sleep_us);
        double t = now();
        float s = 0;
        for (int r = 0; r < 8; r++)
            for (int i = 0; i < N; i++) s += a[i] * 1.0001f;  // a dependent chain: ~0.4 ms at 3 GHz
        sink = s;
        d[n] = (now() - t) * 1e3;
        at[n++] = t - t0;
    }
    (void)sink;
    double *sorted = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) sorted[i] = d[i];
    qsort(sorted, n, sizeof(double), cmp);
    double p50 = sorted[n / 2];
    int slow = 0;
    for (int i = 0; i < n; i++) slow += d[i] > 4 * p50;
    printf("burst ms after %d us asleep (%d bursts): p50 %.3f, p90 %.3f, p99 %.3f, max %.3f; p99/p50 %.1fx; over 4x p50: %d\n",
           sleep_us, n, p50, sorted[n * 9 / 10], sorted[n * 99 / 100], sorted[n - 1], sorted[n * 99 / 100] / p50, slow);
    printf("slow bursts (s:ms):");
    int shown = 0;
    for (int i = 0; i < n && shown < 24; i++)
        if (d[i] > 4 * p50) { printf(" %.2f:%.1f", at[i], d[i]); shown++; }
    printf("\n");
    return 0;
}
