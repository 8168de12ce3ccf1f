// rawload: a lean HTTP/1.1 load generator for seq2seq-server, for measuring the server on the same small
// machine. One thread, epoll, keep-alive connections, requests built before the run, responses parsed only as
// far as the status, the length and the "ids" arrays: about 12 microseconds of CPU per request, where
// seq2seq-load (async-http-client, Swift concurrency) takes about 150 and so a sixth to a quarter of a 2-core
// machine at the date model's saturation. Same method as seq2seq-load: closed loop (--clients N: each
// connection sends its next request when the last is answered) or open loop (--rate R: request i is due at
// start + i/R and its latency counts from then, whatever the server's pace: no coordinated omission).
//
//   cc -O2 -o rawload Benchmarks/rawload/rawload.c
//   rawload --port P --bodies FILE (--clients N | --rate R) [--host 127.0.0.1] [--path /v1/translate]
//           [--duration S] [--warmup S] [--connections N] [--max-in-flight N] [--server-pid PID] [--trace FILE]
//
// FILE holds one JSON request body per line, used in turn. In the open loop a due request takes an idle
// connection, or opens one up to --connections (512), or waits in the client's queue for one (its latency
// still counts from when it was due), as a client's connection pool does; beyond --max-in-flight (4096, queued
// included) it is counted as "client_overflow" and not sent. With --server-pid the server's CPU time over the
// measured window and its resident memory (after warm-up, sampled every second, at the end) are read from
// /proc. Prints one JSON object: throughput (requests, sentences, generated tokens per second: every "ids"
// array of a 200 answer, + 1 for its end of sentence), latency percentiles, errors by class, the generator's
// own CPU time and the server's, and the share of the machine's CPU time the hypervisor stole while measuring
// (/proc/stat; a shared virtual machine's noise, which moves latency more than most changes under test).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { IDLE, CONNECTING, BUSY, DEAD };

typedef struct {
    int fd, state;
    const char *req;      // the request being sent (NUL-terminated)
    size_t reqlen, sent;  // bytes of it, bytes written so far
    char *buf;            // response bytes read so far
    size_t len, cap;
    double due;           // seconds on the monotonic clock at which the request was due
} conn;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct sockaddr_in addr;
static int ep;
static char **reqs;  // [nreqs] full HTTP requests
static size_t nreqs, nextreq;
static double measure_from, measure_end;
static double *lat, *lat_due;  // [nlat] latencies (s) of measured answers, and when each was due
static size_t nlat, latcap;
static long ok, sentences, tokens, inflight;
static struct { char name[32]; long n; } errs[16];
static int nerrs;

static void error_count(const char *name, double due) {
    if (due < measure_from) return;
    for (int i = 0; i < nerrs; i++)
        if (!strcmp(errs[i].name, name)) { errs[i].n++; return; }
    if (nerrs < 16) { snprintf(errs[nerrs].name, sizeof errs[0].name, "%s", name); errs[nerrs++].n = 1; }
}

static void close_conn(conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = DEAD;
    c->len = 0;
}

static int open_conn(conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) { close_conn(c); return -1; }
    c->state = CONNECTING;
    c->len = 0;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    return 0;
}

/// Writes what remains of the request; waits for EPOLLOUT only when the socket is full.
static void pump(conn *c) {
    while (c->sent < c->reqlen) {
        ssize_t n = write(c->fd, c->req + c->sent, c->reqlen - c->sent);
        if (n > 0) { c->sent += (size_t)n; continue; }
        if (n < 0 && errno == EAGAIN) {
            struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
            return;
        }
        error_count("connection_error", c->due), inflight--, close_conn(c);
        return;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/// Starts the next request on `c` (opening its connection first if it has none).
static void dispatch(conn *c, double due) {
    c->req = reqs[nextreq++ % nreqs];
    c->reqlen = strlen(c->req);
    c->sent = 0;
    c->due = due;
    c->len = 0;
    inflight++;
    if (c->state == DEAD && open_conn(c) < 0) { error_count("connect_error", due); inflight--; return; }
    if (c->state == CONNECTING) return;  // sent once connected
    c->state = BUSY;
    pump(c);
}

/// Counts the sentences and generated tokens of a 200 answer: every `"ids": [...]` array, + 1 for eos.
static void count_ids(const char *body, size_t n) {
    const char *p = body, *end = body + n;
    while ((p = memmem(p, (size_t)(end - p), "\"ids\": [", 8))) {
        p += 8;
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close) break;
        long t = 1;
        if (close > p) { t++; for (const char *q = p; q < close; q++) t += *q == ','; }
        tokens += t;
        sentences++;
        p = close;
    }
}

/// Reads what arrived; returns 1 when a whole response has been taken (the connection idle again).
static int receive(conn *c) {
    for (;;) {
        if (c->cap - c->len < 65536) { c->cap = c->cap * 2 + 65536; c->buf = realloc(c->buf, c->cap); }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
        if (n > 0) { c->len += (size_t)n; continue; }
        if (n < 0 && errno == EAGAIN) break;
        error_count("connection_closed", c->due), inflight--, close_conn(c);  // EOF or reset mid-answer
        return 0;
    }
    c->buf[c->len] = 0;
    char *head_end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!head_end) return 0;
    size_t head = (size_t)(head_end - c->buf) + 4;
    char *cl = NULL;
    for (char *p = c->buf; p < head_end; p++)
        if ((*p == '\n') && !strncasecmp(p + 1, "content-length:", 15)) { cl = p + 16; break; }
    if (!cl) { error_count("no_content_length", c->due), inflight--, close_conn(c); return 0; }
    size_t body = (size_t)strtoul(cl, NULL, 10);
    if (c->len < head + body) return 0;
    int status = atoi(c->buf + 9);
    double t = now();
    if (c->due >= measure_from) {
        if (status == 200) {
            ok++;
            count_ids(c->buf + head, body);
            if (nlat == latcap) {
                latcap = latcap * 2 + 4096;
                lat = realloc(lat, latcap * sizeof *lat);
                lat_due = realloc(lat_due, latcap * sizeof *lat_due);
            }
            lat_due[nlat] = c->due - measure_from;
            lat[nlat++] = t - c->due;
        } else {
            char name[32];
            snprintf(name, sizeof name, "http_%d", status);
            error_count(name, c->due);
        }
    }
    inflight--;
    int keep = c->len == head + body && !memmem(c->buf, head, "onnection: close", 16);
    if (!keep) { close_conn(c); return 1; }
    c->len = 0;
    c->state = IDLE;
    return 1;
}

static long proc_cpu_ticks(int pid) {  // utime + stime of a process, clock ticks
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    if (!p) return -1;
    long ut = 0, st = 0;
    // Fields after the command: state (3) ... utime (14), stime (15).
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2) return -1;
    return ut + st;
}

// The machine's CPU time stolen by the hypervisor, and all its CPU time, in clock ticks (/proc/stat's "cpu"
// line: user nice system idle iowait irq softirq steal). Returns 0 when it cannot be read.
static int machine_ticks(long long *steal, long long *total) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    long long v[8] = {0};
    int n = fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8) return 0;
    *steal = v[7];
    *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    return 1;
}

static long proc_rss_kb(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) { kb = atol(line + 6); break; }
    fclose(f);
    return kb;
}

static double cpu_self(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *path = "/v1/translate", *bodies = NULL, *trace = NULL;
    int port = 8080, clients = 0, server_pid = 0;
    long max_in_flight = 4096, max_connections = 512;
    double rate = 0, duration = 10, warmup = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) host = v;
        else if (!strcmp(k, "--port")) port = atoi(v);
        else if (!strcmp(k, "--path")) path = v;
        else if (!strcmp(k, "--bodies")) bodies = v;
        else if (!strcmp(k, "--clients")) clients = atoi(v);
        else if (!strcmp(k, "--rate")) rate = atof(v);
        else if (!strcmp(k, "--duration")) duration = atof(v);
        else if (!strcmp(k, "--warmup")) warmup = atof(v);
        else if (!strcmp(k, "--max-in-flight")) max_in_flight = atol(v);
        else if (!strcmp(k, "--connections")) max_connections = atol(v);
        else if (!strcmp(k, "--server-pid")) server_pid = atoi(v);
        else if (!strcmp(k, "--trace")) trace = v;
        else { fprintf(stderr, "rawload: unknown option %s\n", k); return 2; }
    }
    if (!bodies || (clients <= 0) == (rate <= 0)) {
        fprintf(stderr, "usage: rawload --port P --bodies FILE (--clients N | --rate R) [--duration S] [--warmup S]\n");
        return 2;
    }
    FILE *f = fopen(bodies, "r");
    if (!f) { perror(bodies); return 2; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        reqs = realloc(reqs, (nreqs + 1) * sizeof *reqs);
        if (asprintf(&reqs[nreqs++], "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zd\r\n\r\n%s", path, host, port, n, line) < 0) return 2;
    }
    fclose(f);
    if (!nreqs) { fprintf(stderr, "rawload: %s holds no request body\n", bodies); return 2; }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "rawload: --host must be an IPv4 address\n"); return 2; }

    ep = epoll_create1(0);
    if (max_connections < 1 || max_in_flight < max_connections) { fprintf(stderr, "rawload: need 1 <= --connections <= --max-in-flight\n"); return 2; }
    long nconns = clients > 0 ? clients : max_connections;
    double *queue = malloc((size_t)max_in_flight * sizeof *queue);  // open loop: due times waiting for a connection (a ring)
    long qhead = 0, qlen = 0;
    conn *conns = calloc((size_t)nconns, sizeof *conns);
    conn **idle = malloc((size_t)nconns * sizeof *idle);  // open loop: connections free for the next request
    long nidle = 0, nopen = 0;
    for (long i = 0; i < nconns; i++) conns[i].fd = -1, conns[i].state = DEAD;
    double start = now();
    measure_from = start + warmup;
    measure_end = measure_from + duration;
    double cpu0 = 0, rss_max = 0;
    long srv0 = -1, rss_after_warmup = -1, rss_start = server_pid ? proc_rss_kb(server_pid) : -1;
    int measuring = 0, have_ticks = 0;
    long long steal0 = 0, total0 = 0, steal1 = 0, total1 = 0;  // machine ticks at the measurement's start and end
    double next_sample = measure_from + 1;
    long i = 0;  // open loop: the next request's index
    if (clients > 0)
        for (long c = 0; c < clients; c++) dispatch(&conns[c], start);
    struct epoll_event ev[256];
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            cpu0 = cpu_self();
            have_ticks = machine_ticks(&steal0, &total0);
            if (server_pid) srv0 = proc_cpu_ticks(server_pid), rss_after_warmup = proc_rss_kb(server_pid);
        }
        if (server_pid && measuring && t >= next_sample && t < measure_end) {
            long r = proc_rss_kb(server_pid);
            if (r > rss_max) rss_max = (double)r;
            next_sample += 1;
        }
        if (t >= measure_end && ((inflight == 0 && qlen == 0) || t >= measure_end + 30)) break;
        double wait = 0.1;
        if (rate > 0) {
            for (;;) {
                double due = start + (double)i / rate;
                if (due >= measure_end) break;
                if (due > t) { wait = due - t; break; }
                conn *c = NULL;
                if (!qlen && nidle) c = idle[--nidle];
                else if (!qlen && nopen < nconns) c = &conns[nopen++];
                if (c) dispatch(c, due);
                else if (inflight + qlen < max_in_flight) queue[(qhead + qlen++) % max_in_flight] = due;
                else error_count("client_overflow", due);
                i++;
            }
        }
        struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
        int k = epoll_pwait2(ep, ev, 256, &ts, NULL);
        if (k < 0 && errno == ENOSYS) k = epoll_wait(ep, ev, 256, (int)(wait * 1000) + 1);
        for (int j = 0; j < k; j++) {
            conn *c = ev[j].data.ptr;
            if (c->state == CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) { error_count("connect_error", c->due), inflight--, close_conn(c); }
                else { c->state = BUSY; pump(c); }
            } else if (c->state == IDLE) {
                // The server closed a kept-alive connection (its idle timeout): forget it now (its next request
                // reopens it) rather than send a request into it and count the server's close as an error.
                close_conn(c);
            } else if (c->state == BUSY) {
                if ((ev[j].events & EPOLLOUT) && c->sent < c->reqlen) pump(c);
                if (c->state == BUSY && (ev[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && receive(c)) {
                    if (clients > 0) {
                        if (now() < measure_end) dispatch(c, now());
                    } else if (qlen) {
                        dispatch(c, queue[qhead]);  // the oldest waiting request takes the connection
                        qhead = (qhead + 1) % max_in_flight, qlen--;
                    } else idle[nidle++] = c;
                }
            }
            if (c->state == DEAD && rate > 0 && c->fd < 0) {
                // A closed connection is reopened by the oldest waiting request, or goes back to the free list.
                int listed = 0;
                for (long q = 0; q < nidle; q++) listed |= idle[q] == c;
                if (!listed && qlen) {
                    dispatch(c, queue[qhead]);
                    qhead = (qhead + 1) % max_in_flight, qlen--;
                } else if (!listed) idle[nidle++] = c;
            } else if (c->state == DEAD && clients > 0 && now() < measure_end) {
                dispatch(c, now());  // closed loop: the client reconnects and goes on
            }
        }
    }
    double wall = now() - measure_from;
    for (long q = 0; q < inflight + qlen; q++) error_count("timeout", measure_from);
    double cpu = cpu_self() - cpu0;
    long srv1 = server_pid ? proc_cpu_ticks(server_pid) : -1;
    if (have_ticks) have_ticks = machine_ticks(&steal1, &total1) && total1 > total0;
    long rss_end = server_pid ? proc_rss_kb(server_pid) : -1;
    if (trace) {
        FILE *tf = fopen(trace, "w");
        if (tf) { for (size_t q = 0; q < nlat; q++) fprintf(tf, "%.4f %.3f\n", lat_due[q], lat[q] * 1000); fclose(tf); }
    }
    qsort(lat, nlat, sizeof *lat, cmp);
#define PCT(p) (nlat ? lat[(size_t)((double)nlat * (p)) < nlat ? (size_t)((double)nlat * (p)) : nlat - 1] * 1000 : 0.0)
    char mode[64];
    if (clients > 0) snprintf(mode, sizeof mode, "closed loop, %d clients", clients);
    else snprintf(mode, sizeof mode, "open loop, %g req/s offered", rate);
    printf("{\"mode\": \"%s\", \"seconds\": %g, \"ok\": %ld, \"requests_per_s\": %.1f, \"sentences_per_s\": %.1f, "
           "\"tokens_per_s\": %.0f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"errors\": {",
           mode, duration, ok, ok / duration, sentences / duration, tokens / duration, PCT(0.5), PCT(0.9), PCT(0.99),
           nlat ? lat[nlat - 1] * 1000 : 0.0);
    for (int e = 0; e < nerrs; e++) printf("%s\"%s\": %ld", e ? ", " : "", errs[e].name, errs[e].n);
    printf("}, \"client_cpu_s\": %.3f, \"wall_s\": %.3f", cpu, wall);
    // A shared virtual machine's noise: the share of its CPU time the hypervisor gave to others while measuring.
    if (have_ticks) printf(", \"steal_percent\": %.1f", (double)(steal1 - steal0) * 100 / (double)(total1 - total0));
    if (server_pid) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        if (rss_end > rss_max) rss_max = (double)rss_end;
        printf(", \"server_cpu_s\": %.3f, \"rss_start_kb\": %ld, \"rss_after_warmup_kb\": %ld, \"rss_max_kb\": %.0f, "
               "\"rss_end_kb\": %ld, \"rss_growth_percent\": %.2f", (double)(srv1 - srv0) / hz, rss_start, rss_after_warmup,
               rss_max, rss_end, rss_after_warmup > 0 ? (double)(rss_end - rss_after_warmup) * 100 / (double)rss_after_warmup : 0.0);
    }
    printf("}\n");
    return 0;
}
