/*
 * bench/loadgen/loadgen.c -- a lean HTTP/1.1 pipelining load generator, for the
 * one figure wrk cannot measure on a 2-core machine: how Rover's throughput
 * grows from 1 worker to 2 (bench/README.md, "2 workers vs 1").
 *
 * Why not wrk: with 16-deep pipelining wrk spends about 0.7 us of CPU per
 * response (parsing each response with its HTTP parser, recording latency),
 * close to what Rover spends serving it. With 2 cores shared by the load
 * generator and the server, the server can then get at most ~1.15 of a core
 * whatever its design. This generator does the least a client must: one
 * send of DEPTH requests per connection, then read until DEPTH responses came
 * back, checking each one's status line and framing (status 200, headers end,
 * Content-Length body), then the next batch. Its own CPU per response is
 * printed, so the reader can see what it took from the server's cores.
 *
 * Usage: loadgen --port N [--host 127.0.0.1] [--path /echo] [--conns 100]
 *                [--depth 16] [--duration 10] [--warmup 2]
 * Prints one line of key=value pairs: responses, seconds, rps, errors,
 * cpu_us_per_resp (this process, user+sys), conns, depth.
 * Exit status 1 on any error (connect, reset, a non-200 or malformed response).
 * Build: cc -O2 -o bench/.deps/bin/loadgen bench/loadgen/loadgen.c (run.sh does)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP (256 * 1024)

struct conn {
  int fd;
  size_t sent;       /* bytes of the current batch already written */
  int outstanding;   /* responses of the current batch not yet complete */
  size_t have;       /* bytes buffered in in[] (a partial response) */
  char *in;
};

static const char *batch;
static size_t batch_len;
static int depth = 16;
static uint64_t counted;  /* complete responses since counting started */
static int counting;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void fail(const char *what) {
  fprintf(stderr, "loadgen: %s\n", what);
  exit(1);
}

/* Consumes the complete responses at the front of c->in; returns how many, or
 * -1 on a response that is not "HTTP/1.1 200" with a Content-Length. Walks the
 * head line by line with memchr (SIMD in glibc): a byte-by-byte scan cost more
 * CPU per response than the rest of the client. */
static int parse_responses(struct conn *c) {
  static const char cl_name[] = "content-length:";
  const size_t cl_n = sizeof(cl_name) - 1;
  size_t off = 0;
  int done = 0;
  const char *end = c->in + c->have;
  while (c->have - off >= 12) {
    const char *p = c->in + off;
    if (memcmp(p, "HTTP/1.1 200", 12) != 0) return -1;
    long cl = -1;
    const char *body = NULL;
    for (const char *line = p;;) {
      const char *nl = memchr(line, '\n', (size_t)(end - line));
      if (!nl) break;                      /* head not complete yet */
      line = nl + 1;
      if (end - line >= 2 && line[0] == '\r' && line[1] == '\n') {
        body = line + 2;
        break;
      }
      if ((size_t)(end - line) > cl_n && (line[0] | 0x20) == 'c' && strncasecmp(line, cl_name, cl_n) == 0) {
        const char *v = line + cl_n;
        while (v < end && (*v == ' ' || *v == '\t')) ++v;
        long n = 0;
        int digits = 0;
        while (v < end && *v >= '0' && *v <= '9' && digits < 12) n = n * 10 + (*v++ - '0'), ++digits;
        if (digits) cl = n;
      }
    }
    if (!body) break;
    if (cl < 0) return -1;
    if (body + cl > end) break;
    off = (size_t)(body + cl - c->in);
    ++done;
  }
  if (off) {
    memmove(c->in, c->in + off, c->have - off);
    c->have -= off;
  }
  if (c->have == IN_CAP) return -1;  /* a response larger than the buffer */
  return done;
}

static int send_batch(struct conn *c) {
  while (c->sent < batch_len) {
    ssize_t n = send(c->fd, batch + c->sent, batch_len - c->sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    c->sent += (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *path = "/echo";
  int port = 0, conns = 100;
  double duration = 10, warmup = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--path")) path = argv[i + 1];
    else if (!strcmp(argv[i], "--conns")) conns = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--depth")) depth = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--duration")) duration = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
    else fail("unknown option (see the comment at the top of bench/loadgen/loadgen.c)");
  }
  if (port <= 0 || conns <= 0 || depth <= 0 || depth > 1024) fail("need --port, conns > 0, 0 < depth <= 1024");

  char req[512];
  int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path, host, port);
  if (rl <= 0 || (size_t)rl >= sizeof req) fail("path too long");
  char *b = malloc((size_t)rl * (size_t)depth);
  for (int i = 0; i < depth; ++i) memcpy(b + (size_t)i * (size_t)rl, req, (size_t)rl);
  batch = b;
  batch_len = (size_t)rl * (size_t)depth;

  struct rlimit lim = {(rlim_t)conns + 64, (rlim_t)conns + 64};
  setrlimit(RLIMIT_NOFILE, &lim);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) fail("bad --host");

  int ep = epoll_create1(0);
  struct conn *cs = calloc((size_t)conns, sizeof *cs);
  for (int i = 0; i < conns; ++i) {
    struct conn *c = &cs[i];
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) fail("connect failed");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) fail("fcntl failed");
    c->in = malloc(IN_CAP);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) fail("epoll_ctl failed");
    c->outstanding = depth;
    if (send_batch(c) != 0) fail("send failed");
  }

  const double t0 = now_s(), t_count = t0 + warmup, t_end = t_count + duration;
  double c0 = 0, t_started = 0;
  struct epoll_event evs[256];
  for (;;) {
    double t = now_s();
    if (!counting && t >= t_count) {
      counting = 1;
      counted = 0;
      t_started = t;
      c0 = cpu_s();
    }
    if (t >= t_end) break;
    int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("epoll_wait failed");
    }
    for (int k = 0; k < n; ++k) {
      struct conn *c = evs[k].data.ptr;
      if (c->sent < batch_len && send_batch(c) != 0) fail("send failed (connection reset?)");
      for (;;) {
        ssize_t r = recv(c->fd, c->in + c->have, IN_CAP - c->have, 0);
        if (r == 0) fail("the server closed a connection");
        if (r < 0) {
          if (errno == EAGAIN) break;
          fail("recv failed (connection reset?)");
        }
        c->have += (size_t)r;
        int got = parse_responses(c);
        if (got < 0) fail("a response was not 'HTTP/1.1 200' with a Content-Length");
        c->outstanding -= got;
        if (counting) counted += (uint64_t)got;
        if (c->outstanding < 0) fail("more responses than requests");
        if (c->outstanding == 0) {
          if (c->have) fail("bytes after the last response of a batch");
          c->outstanding = depth;
          c->sent = 0;
          if (send_batch(c) != 0) fail("send failed (connection reset?)");
        }
        if ((size_t)r < IN_CAP / 2) break;  /* likely drained; epoll (level-triggered) says if not */
      }
    }
  }
  const double secs = now_s() - t_started, cpu = cpu_s() - c0;
  printf("responses=%llu seconds=%.3f rps=%.0f errors=0 cpu_us_per_resp=%.4f conns=%d depth=%d\n",
         (unsigned long long)counted, secs, counted / secs, counted ? cpu * 1e6 / counted : 0.0, conns, depth);
  return 0;
}
