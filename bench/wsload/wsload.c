/*
 * bench/wsload/wsload.c -- a lean WebSocket (RFC 6455) load generator for
 * bench/ws.py (issue #12). One thread, epoll (level-triggered), non-blocking
 * sockets. Why our own: on a 2-core machine the client must cost far less
 * than the server it measures (bench/loadgen/loadgen.c says the same of HTTP);
 * a Node or Python client spends more per message than the servers do.
 *
 * Every connection first does the opening handshake on --path: GET with
 * Upgrade, Connection, Sec-WebSocket-Version 13 and its own Sec-WebSocket-Key;
 * the answer must be "HTTP/1.1 101" with the right Sec-WebSocket-Accept
 * (base64 of SHA-1 of key + the RFC's GUID). At most --open-batch handshakes
 * are in progress at once (the rest wait), so a listen backlog never overflows.
 *
 * --mode echo: each connection keeps exactly one message in flight: a masked
 * text frame {"type":"echo","text":"hello"}, then waits for the reply (an
 * unmasked, unfragmented text frame whose payload holds "hello" and "echo"),
 * then the next. The frame is built once with a fixed masking key (a client
 * must use unpredictable keys; the server's unmasking work is the same for any
 * key, and this keeps the client's cost out of the measurement). Counting
 * starts after --warmup s and lasts --duration s; a reply that arrives then is
 * one message, its round trip (send -> reply parsed) one latency sample.
 * Prints: messages seconds rate errors cpu_us_per_msg (this process,
 * user+sys) p50_us p99_us max_us conns.
 *
 * --mode broadcast: all --conns connections open, then per round r the first
 * connection sends {"type":"go","t":r} and the time runs from that send until
 * every connection (the sender too) has received a text frame holding "tick"
 * and "t":r. --warmup-rounds rounds first (not counted), then --rounds rounds,
 * --gap-ms apart. Prints: rounds median_us max_us min_us first_median_us
 * (the first receiver) errors client_cpu_us_per_round conns.
 *
 * --phases: prints "phase=measuring" when counting starts and "phase=done"
 * when it ends (each on its own line, flushed), and pauses --phase-pause-ms
 * after each in broadcast mode (after "done" in echo mode), so that a caller
 * can read the server's CPU time at exactly those points (bench/ws.py does).
 *
 * errors counts replies that are not what was expected (the run goes on);
 * anything that breaks a connection (connect or handshake failure, a close
 * frame, a reset, a masked or fragmented server frame, a send that would
 * block: with one small message in flight it never should) ends the run with
 * a message on stderr. Exit status 1 on any error.
 *
 * Usage: wsload --port N [--host 127.0.0.1] [--path /echo] [--mode echo|broadcast]
 *               [--conns 100] [--duration 5] [--warmup 1] [--rounds 20]
 *               [--warmup-rounds 2] [--gap-ms 50] [--open-batch 100]
 *               [--phases] [--phase-pause-ms 300]
 * Build: cc -O2 -o bench/.deps/bin/wsload bench/wsload/wsload.c (bench/ws.py does)
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
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP (16 * 1024)

enum { S_IDLE, S_CONNECTING, S_HANDSHAKE, S_OPEN };

struct conn {
  int fd;
  int state;
  int id;
  char accept[32];       /* the Sec-WebSocket-Accept expected */
  size_t have;           /* bytes in in[] */
  double t_sent;         /* echo: when the message in flight was sent */
  long last_round;       /* broadcast: the last round whose tick arrived */
  char *in;
};

static int mode_echo = 1;
static int phases;
static int phase_pause_ms = 300;
static const char *host = "127.0.0.1", *path = "/echo";
static int port;
static struct sockaddr_in sa;
static int ep;
static struct conn *cs;
static int nconns = 100;
static int opened, in_progress, next_to_open, open_batch = 100;
static uint64_t errors;

/* echo */
static uint64_t counted;
static int counting;
static uint32_t *samples;
static size_t nsamples, capsamples;
static unsigned char echo_frame[64];
static size_t echo_frame_len;

/* broadcast */
static long round_no;          /* the round in flight (0: none) */
static int round_left;         /* connections still waiting for its tick */
static double round_t0, round_first;

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
  fprintf(stderr, "wsload: %s\n", what);
  exit(1);
}

static void failc(const struct conn *c, const char *what) {
  fprintf(stderr, "wsload: connection %d: %s\n", c->id, what);
  exit(1);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void phase(const char *name) {
  if (!phases) return;
  printf("phase=%s\n", name);
  fflush(stdout);
}

/* SHA-1 (FIPS 180-1), for the handshake's accept value only. */
static void sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  size_t total = ((len + 8) / 64 + 1) * 64;
  unsigned char *m = calloc(total, 1);
  memcpy(m, msg, len);
  m[len] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; ++i) m[total - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (size_t off = 0; off < total; off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
             (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
    for (int i = 16; i < 80; ++i) {
      uint32_t x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = x << 1 | x >> 31;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      else f = b ^ c ^ d, k = 0xCA62C1D6;
      uint32_t t = (a << 5 | a >> 27) + f + e + k + w[i];
      e = d, d = c, c = b << 30 | b >> 2, b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  free(m);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static void base64(const unsigned char *in, size_t n, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    out[o++] = t[v >> 18 & 63];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? t[v & 63] : '=';
  }
  out[o] = 0;
}

/* A masked client frame (FIN, opcode op) of payload p into out; returns its length. */
static size_t client_frame(unsigned char *out, int op, const char *p, size_t n) {
  static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t o = 0;
  out[o++] = (unsigned char)(0x80 | op);
  if (n < 126) {
    out[o++] = (unsigned char)(0x80 | n);
  } else {
    out[o++] = 0x80 | 126;
    out[o++] = (unsigned char)(n >> 8);
    out[o++] = (unsigned char)n;
  }
  memcpy(out + o, key, 4);
  o += 4;
  for (size_t i = 0; i < n; ++i) out[o + i] = (unsigned char)p[i] ^ key[i & 3];
  return o + n;
}

static void send_all(struct conn *c, const void *p, size_t n) {
  ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
  if (w < 0 && errno == EAGAIN) failc(c, "send would block");
  if (w < 0) failc(c, "send failed (connection reset?)");
  if ((size_t)w != n) failc(c, "short send");
}

static void open_next(void) {
  while (next_to_open < nconns && in_progress < open_batch) {
    struct conn *c = &cs[next_to_open++];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) fail("socket failed (RLIMIT_NOFILE?)");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
    if (r != 0 && errno != EINPROGRESS) failc(c, "connect failed");
    c->state = S_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) fail("epoll_ctl failed");
    ++in_progress;
  }
}

static void start_handshake(struct conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) failc(c, "connect failed");
  unsigned char raw[16];
  for (int i = 0; i < 16; ++i) raw[i] = (unsigned char)(rand() >> 7);
  char key[32];
  base64(raw, 16, key);
  char both[96];
  int bl = snprintf(both, sizeof both, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  unsigned char digest[20];
  sha1((const unsigned char *)both, (size_t)bl, digest);
  base64(digest, 20, c->accept);
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   path, host, port, key);
  send_all(c, req, (size_t)n);
  c->state = S_HANDSHAKE;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) fail("epoll_ctl failed");
}

/* The 101 at the front of c->in: 1 done (consumed), 0 incomplete. */
static int finish_handshake(struct conn *c) {
  char *end = memmem(c->in, c->have, "\r\n\r\n", 4);
  if (!end) {
    if (c->have == IN_CAP) failc(c, "handshake response too large");
    return 0;
  }
  size_t head = (size_t)(end - c->in) + 4;
  if (c->have < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
    char line[128];
    size_t l = 0;
    while (l < c->have && l < sizeof line - 1 && c->in[l] != '\r') line[l] = c->in[l], ++l;
    line[l] = 0;
    fprintf(stderr, "wsload: connection %d: handshake answered '%s'\n", c->id, line);
    exit(1);
  }
  static const char name[] = "sec-websocket-accept:";
  int ok = 0;
  for (char *line = c->in; line < end;) {
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl) break;
    line = nl + 1;
    if ((size_t)(end - line) > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
      char *v = line + sizeof name - 1;
      while (*v == ' ' || *v == '\t') ++v;
      size_t al = strlen(c->accept);
      ok = (size_t)(end - v) >= al && memcmp(v, c->accept, al) == 0 && (v[al] == '\r' || v[al] == ' ');
    }
  }
  if (!ok) failc(c, "wrong or missing Sec-WebSocket-Accept");
  memmove(c->in, c->in + head, c->have - head);
  c->have -= head;
  c->state = S_OPEN;
  --in_progress;
  ++opened;
  return 1;
}

static void record(uint32_t us) {
  if (nsamples == capsamples) {
    capsamples = capsamples ? capsamples * 2 : 1 << 16;
    samples = realloc(samples, capsamples * sizeof *samples);
    if (!samples) fail("out of memory");
  }
  samples[nsamples++] = us;
}

static void send_echo(struct conn *c) {
  c->t_sent = now_s();
  send_all(c, echo_frame, echo_frame_len);
}

static void send_go(long r) {
  unsigned char f[64];
  char p[48];
  int n = snprintf(p, sizeof p, "{\"type\":\"go\",\"t\":%ld}", r);
  size_t fl = client_frame(f, 1, p, (size_t)n);
  round_no = r;
  round_left = nconns;
  round_first = 0;
  round_t0 = now_s();
  send_all(&cs[0], f, fl);
}

static void on_text(struct conn *c, const char *p, size_t n) {
  if (mode_echo) {
    double t = now_s();
    if (!memmem(p, n, "hello", 5) || !memmem(p, n, "echo", 4)) ++errors;
    else if (counting) {
      ++counted;
      double us = (t - c->t_sent) * 1e6;
      record(us < 4e9 ? (uint32_t)us : 4000000000u);
    }
    send_echo(c);
    return;
  }
  /* broadcast: {"type":"tick","t":R} (any key order, any spacing) */
  const char *k = memmem(p, n, "\"t\"", 3);
  long t = -1;
  if (k && memmem(p, n, "tick", 4)) {
    const char *v = k + 3, *e = p + n;
    while (v < e && (*v == ' ' || *v == ':')) ++v;
    if (v < e && *v >= '0' && *v <= '9') {
      t = 0;
      while (v < e && *v >= '0' && *v <= '9') t = t * 10 + (*v++ - '0');
    }
  }
  if (t != round_no || c->last_round == t) {
    ++errors;
    return;
  }
  c->last_round = t;
  if (round_first == 0) round_first = now_s();
  --round_left;
}

/* The frames at the front of c->in. */
static void on_frames(struct conn *c) {
  size_t off = 0;
  for (;;) {
    const unsigned char *b = (const unsigned char *)c->in + off;
    size_t left = c->have - off;
    if (left < 2) break;
    if (b[1] & 0x80) failc(c, "a masked frame from the server");
    if (b[0] & 0x70) failc(c, "RSV bits set (no extension was negotiated)");
    uint64_t len = b[1] & 0x7f;
    size_t hl = 2;
    if (len == 126) {
      if (left < 4) break;
      len = (uint64_t)b[2] << 8 | b[3];
      hl = 4;
    } else if (len == 127) {
      if (left < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | b[2 + i];
      hl = 10;
    }
    if (len > IN_CAP - 16) failc(c, "a frame larger than the receive buffer");
    if (left < hl + len) break;
    const char *p = (const char *)b + hl;
    int op = b[0] & 0x0f;
    if (!(b[0] & 0x80) || op == 0) failc(c, "a fragmented message (not expected for small ones)");
    if (op == 1) {
      on_text(c, p, (size_t)len);
    } else if (op == 9) {  /* ping -> pong */
      unsigned char f[160];
      send_all(c, f, client_frame(f, 10, p, (size_t)len));
    } else if (op == 10) {
    } else if (op == 8) {
      char msg[64];
      snprintf(msg, sizeof msg, "the server sent close %d", len >= 2 ? (b[hl] << 8 | b[hl + 1]) : 0);
      failc(c, msg);
    } else {
      ++errors;  /* binary or reserved opcode: not what was asked for */
    }
    off += hl + (size_t)len;
  }
  if (off) {
    memmove(c->in, c->in + off, c->have - off);
    c->have -= off;
  }
}

static void on_event(struct conn *c, uint32_t events) {
  if (c->state == S_CONNECTING) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) start_handshake(c);
    return;
  }
  for (;;) {
    ssize_t r = recv(c->fd, c->in + c->have, IN_CAP - c->have, 0);
    if (r == 0) failc(c, "the server closed the connection");
    if (r < 0) {
      if (errno == EAGAIN) return;
      failc(c, "recv failed (connection reset?)");
    }
    c->have += (size_t)r;
    if (c->state == S_HANDSHAKE) {
      if (!finish_handshake(c)) continue;
      open_next();
    }
    on_frames(c);
    if ((size_t)r < IN_CAP / 2) return;  /* likely drained; level-triggered epoll says if not */
  }
}

static void poll_once(int timeout_ms) {
  struct epoll_event evs[256];
  int n = epoll_wait(ep, evs, 256, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    fail("epoll_wait failed");
  }
  for (int k = 0; k < n; ++k) on_event(evs[k].data.ptr, evs[k].events);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  double duration = 5, warmup = 1;
  int rounds = 20, warmup_rounds = 2, gap_ms = 50;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--phases")) { phases = 1; continue; }
    if (!v) fail("an option without its value (see the comment at the top of bench/wsload/wsload.c)");
    ++i;
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--path")) path = v;
    else if (!strcmp(a, "--mode")) {
      if (!strcmp(v, "echo")) mode_echo = 1;
      else if (!strcmp(v, "broadcast")) mode_echo = 0;
      else fail("--mode is echo or broadcast");
    } else if (!strcmp(a, "--conns")) nconns = atoi(v);
    else if (!strcmp(a, "--duration")) duration = atof(v);
    else if (!strcmp(a, "--warmup")) warmup = atof(v);
    else if (!strcmp(a, "--rounds")) rounds = atoi(v);
    else if (!strcmp(a, "--warmup-rounds")) warmup_rounds = atoi(v);
    else if (!strcmp(a, "--gap-ms")) gap_ms = atoi(v);
    else if (!strcmp(a, "--open-batch")) open_batch = atoi(v);
    else if (!strcmp(a, "--phase-pause-ms")) phase_pause_ms = atoi(v);
    else fail("unknown option (see the comment at the top of bench/wsload/wsload.c)");
  }
  if (port <= 0 || nconns <= 0 || open_batch <= 0 || rounds <= 0 || warmup_rounds < 0)
    fail("need --port, conns > 0, rounds > 0, open-batch > 0");
  srand((unsigned)(now_s() * 1e6));

  struct rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  rlim_t want = (rlim_t)nconns + 64;
  if (lim.rlim_cur < want) {
    if (lim.rlim_max < want) lim.rlim_max = want;  /* root may raise the hard limit */
    lim.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) fail("cannot raise RLIMIT_NOFILE to conns + 64");
  }
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) fail("bad --host");
  static const char echo_payload[] = "{\"type\":\"echo\",\"text\":\"hello\"}";
  echo_frame_len = client_frame(echo_frame, 1, echo_payload, sizeof echo_payload - 1);

  ep = epoll_create1(0);
  cs = calloc((size_t)nconns, sizeof *cs);
  for (int i = 0; i < nconns; ++i) {
    cs[i].id = i;
    cs[i].fd = -1;
    cs[i].in = malloc(IN_CAP);
    if (!cs[i].in) fail("out of memory");
  }

  /* Every connection open (handshake done) before anything is sent. */
  double t_open = now_s();
  open_next();
  while (opened < nconns) {
    if (now_s() - t_open > 30) fail("the connections did not all open within 30 s");
    poll_once(100);
  }
  const double open_s = now_s() - t_open;

  if (mode_echo) {
    for (int i = 0; i < nconns; ++i) send_echo(&cs[i]);
    const double t0 = now_s(), t_count = t0 + warmup, t_end = t_count + duration;
    double c0 = 0, t_started = 0;
    for (;;) {
      double t = now_s();
      if (!counting && t >= t_count) {
        phase("measuring");
        counting = 1;
        counted = 0;
        nsamples = 0;
        t_started = now_s();
        c0 = cpu_s();
      }
      if (t >= t_end) break;
      poll_once(100);
    }
    const double secs = now_s() - t_started, cpu = cpu_s() - c0;
    phase("done");
    if (phases) sleep_ms(phase_pause_ms);
    qsort(samples, nsamples, sizeof *samples, cmp_u32);
    uint32_t p50 = nsamples ? samples[nsamples / 2] : 0;
    uint32_t p99 = nsamples ? samples[(size_t)(nsamples * 0.99)] : 0;
    uint32_t mx = nsamples ? samples[nsamples - 1] : 0;
    printf("messages=%llu seconds=%.3f rate=%.0f errors=%llu cpu_us_per_msg=%.4f p50_us=%u p99_us=%u "
           "max_us=%u conns=%d open_s=%.3f\n",
           (unsigned long long)counted, secs, counted / secs, (unsigned long long)errors,
           counted ? cpu * 1e6 / counted : 0.0, p50, p99, mx, nconns, open_s);
    return errors ? 1 : 0;
  }

  double *times = calloc((size_t)rounds, sizeof *times), *firsts = calloc((size_t)rounds, sizeof *firsts);
  double c0 = 0;
  for (long r = 1; r <= warmup_rounds + rounds; ++r) {
    if (r == warmup_rounds + 1) {
      phase("measuring");
      if (phases) sleep_ms(phase_pause_ms);
      c0 = cpu_s();
    } else {
      sleep_ms(gap_ms);
    }
    send_go(r);
    while (round_left > 0) {
      if (now_s() - round_t0 > 10) {
        int missing = 0;
        for (int i = 0; i < nconns; ++i) missing += cs[i].last_round != r;
        fprintf(stderr, "wsload: round %ld: %d of %d connections got no tick within 10 s\n", r, missing, nconns);
        exit(1);
      }
      poll_once(100);
    }
    const double t = now_s();
    if (r > warmup_rounds) {
      times[r - warmup_rounds - 1] = (t - round_t0) * 1e6;
      firsts[r - warmup_rounds - 1] = (round_first - round_t0) * 1e6;
    }
  }
  const double cpu = cpu_s() - c0;
  phase("done");
  if (phases) sleep_ms(phase_pause_ms);
  qsort(times, (size_t)rounds, sizeof *times, cmp_d);
  qsort(firsts, (size_t)rounds, sizeof *firsts, cmp_d);
  printf("rounds=%d median_us=%.0f max_us=%.0f min_us=%.0f first_median_us=%.0f errors=%llu "
         "client_cpu_us_per_round=%.0f conns=%d open_s=%.3f\n",
         rounds, (times[(rounds - 1) / 2] + times[rounds / 2]) / 2, times[rounds - 1], times[0],
         (firsts[(rounds - 1) / 2] + firsts[rounds / 2]) / 2,
         (unsigned long long)errors, cpu * 1e6 / rounds, nconns, open_s);
  return errors ? 1 : 0;
}
