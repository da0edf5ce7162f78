/*
 * bench/limit/limit.c -- the floor of bench/run.sh. Derived from the project's
 * shared reference ../shared/bench/limit/limit.c (same loop, same costs); this
 * copy answers each of the load benchmark's workloads with its own fixed bytes
 * (chosen by the first bytes of the request: "POST " -> the POST /echo body,
 * a target starting "/users/" -> {"id":"123"}, anything else -> the GET /echo
 * body, "GET /plaintext" and "GET /json" -> TechEmpower's bodies for bench/tfb.sh) so that
 * every workload's responses check out and each workload has a
 * floor. Nothing else is parsed.
 */
/*
 * limit.c -- the "physical limit" anchor: the least a single-threaded epoll
 * HTTP/1.1 server can do per request on loopback.
 *
 * For every connection: read what is there, find each request's end by
 * scanning for CRLFCRLF (a Content-Length header, if any, is honoured so a
 * request body is skipped and POST keeps the framing), and for each complete
 * request append one fixed response. All responses produced by one read go
 * out with one write. No routing, no parsing beyond that, no logging.
 *
 * (Shared original: every request gets the GET /echo response; this copy:
 * see the comment above.)
 *
 * Usage: limit-server [--port N] [--host 127.0.0.1] [--lt] [ignored args]
 *   default: edge-triggered epoll (EPOLLET); --lt: level-triggered.
 * Build: cc -O2 -o bench/.deps/bin/limit-server bench/limit/limit.c (run.sh does)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_GET "{\"message\":\"Echo GET\",\"method\":\"GET\"}"
#define BODY_USER "{\"id\":\"123\"}"
#define BODY_POST "{\"message\":\"Echo POST\",\"received_body\":\"{\\\"name\\\":\\\"bench\\\",\\\"value\\\":42}\"}"
#define HEAD_(n) "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " n "\r\n\r\n"
static const char RESP_GET[] = HEAD_("37") BODY_GET;
static const char RESP_USER[] = HEAD_("12") BODY_USER;
static const char RESP_POST[] = HEAD_("75") BODY_POST;
/* TechEmpower plaintext (bench/tfb.sh): "GET /plaintext" */
static const char RESP_PLAIN[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
/* TechEmpower json (bench/tfb.sh): "GET /json" */
static const char RESP_JSON[] = HEAD_("27") "{\"message\":\"Hello, World!\"}";
_Static_assert(sizeof(RESP_PLAIN) <= sizeof(RESP_POST), "RESP_MAX must stay the longest");
_Static_assert(sizeof(RESP_JSON) <= sizeof(RESP_POST), "RESP_MAX must stay the longest");
_Static_assert(sizeof(BODY_GET) - 1 == 37, "Content-Length must match the body");
_Static_assert(sizeof(BODY_USER) - 1 == 12, "Content-Length must match the body");
_Static_assert(sizeof(BODY_POST) - 1 == 75, "Content-Length must match the body");
#define RESP_MAX (sizeof(RESP_POST) - 1)

#define IN_CAP (16 * 1024)         /* per-connection input buffer (a request must fit) */
/* shared output buffer for one read's responses: room for the most requests
 * IN_CAP bytes can hold (a bare CRLFCRLF is 4 bytes) */
#define OUT_CAP ((IN_CAP / 4 + 1) * RESP_MAX)
#define PENDING_MAX (1024 * 1024)  /* stop reading a connection with this much unsent */
#define MAX_EVENTS 1024

typedef struct {
  size_t in_len;        /* bytes buffered, not yet consumed */
  size_t skip;          /* body bytes still to discard (Content-Length) */
  char *pend;           /* unsent output (only after a short write) */
  size_t pend_len, pend_off, pend_cap;
  char in[IN_CAP];
} conn_t;

static conn_t **conns;
static int nconns_max;
static int epfd;
static int level_triggered;
static char outbuf[OUT_CAP];

static void close_conn(int fd) {
  conn_t *c = conns[fd];
  if (c) {
    free(c->pend);
    free(c);
    conns[fd] = NULL;
  }
  close(fd); /* also removes fd from the epoll set */
}

/* Content-Length of the header block [p, p+n) (n ends at CRLFCRLF), 0 if none. */
static size_t content_length(const char *p, size_t n) {
  const char *end = p + n;
  for (const char *q = p; q + 16 <= end; q++) {
    q = memchr(q, '\n', end - q);
    if (!q || q + 16 > end) break;
    if ((q[1] | 0x20) == 'c' && strncasecmp(q + 1, "content-length:", 15) == 0) {
      const char *v = q + 16;
      while (v < end && (*v == ' ' || *v == '\t')) v++;
      size_t len = 0;
      while (v < end && *v >= '0' && *v <= '9') len = len * 10 + (size_t)(*v++ - '0');
      return len;
    }
  }
  return 0;
}

/* Try to send pending output. Returns -1 on a fatal error, else 0. */
static int flush_pending(int fd, conn_t *c) {
  while (c->pend_off < c->pend_len) {
    ssize_t w = write(fd, c->pend + c->pend_off, c->pend_len - c->pend_off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      return -1;
    }
    c->pend_off += (size_t)w;
  }
  c->pend_len = c->pend_off = 0;
  if (level_triggered) {
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  }
  return 0;
}

static int queue_output(int fd, conn_t *c, const char *p, size_t n) {
  if (c->pend_len + n > c->pend_cap) {
    size_t cap = c->pend_cap ? c->pend_cap : 4096;
    while (cap < c->pend_len + n) cap *= 2;
    char *np = realloc(c->pend, cap);
    if (!np) return -1;
    c->pend = np;
    c->pend_cap = cap;
  }
  int was_empty = c->pend_len == 0;
  memcpy(c->pend + c->pend_len, p, n);
  c->pend_len += n;
  if (was_empty && level_triggered) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  }
  return 0;
}

/* Consume complete requests from c->in, append responses to outbuf.
 * Returns number of output bytes, or -1 if a request does not fit IN_CAP. */
static ssize_t process(conn_t *c) {
  size_t out = 0, pos = 0;
  for (;;) {
    if (c->skip) {
      size_t k = c->in_len - pos < c->skip ? c->in_len - pos : c->skip;
      pos += k;
      c->skip -= k;
      if (c->skip) break;
    }
    if (pos >= c->in_len) break;
    const char *start = c->in + pos;
    const char *e = memmem(start, c->in_len - pos, "\r\n\r\n", 4);
    if (!e) break;
    size_t hlen = (size_t)(e - start) + 4;
    c->skip = content_length(start, hlen);
    pos += hlen;
    const char *resp = RESP_GET;
    size_t resp_len = sizeof(RESP_GET) - 1;
    if (hlen >= 5 && memcmp(start, "POST ", 5) == 0) {
      resp = RESP_POST;
      resp_len = sizeof(RESP_POST) - 1;
    } else if (hlen >= 11 && memcmp(start, "GET /users/", 11) == 0) {
      resp = RESP_USER;
      resp_len = sizeof(RESP_USER) - 1;
    } else if (hlen >= 14 && memcmp(start, "GET /plaintext", 14) == 0) {
      resp = RESP_PLAIN;
      resp_len = sizeof(RESP_PLAIN) - 1;
    } else if (hlen >= 10 && memcmp(start, "GET /json ", 10) == 0) {
      resp = RESP_JSON;
      resp_len = sizeof(RESP_JSON) - 1;
    }
    memcpy(outbuf + out, resp, resp_len);
    out += resp_len;
  }
  if (pos) {
    c->in_len -= pos;
    if (c->in_len) memmove(c->in, c->in + pos, c->in_len);
  }
  if (c->in_len == IN_CAP) return -1; /* request head larger than the buffer */
  return (ssize_t)out;
}

/* drain: read until EOF/EAGAIN (peer hung up: the EOF may carry no new edge) */
static void on_readable(int fd, conn_t *c, int drain) {
  for (;;) {
    if (c->pend_len > PENDING_MAX) return; /* resumes after EPOLLOUT drains it */
    size_t room = IN_CAP - c->in_len;
    ssize_t r = read(fd, c->in + c->in_len, room);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EAGAIN) return;
      close_conn(fd);
      return;
    }
    c->in_len += (size_t)r;
    ssize_t out = process(c);
    if (out < 0) { close_conn(fd); return; }
    if (out > 0) {
      if (c->pend_len) {
        if (queue_output(fd, c, outbuf, (size_t)out) < 0) { close_conn(fd); return; }
      } else {
        ssize_t w;
        do w = write(fd, outbuf, (size_t)out); while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN) { close_conn(fd); return; }
        if (w < 0) w = 0;
        if ((size_t)w < (size_t)out && queue_output(fd, c, outbuf + w, (size_t)out - (size_t)w) < 0) {
          close_conn(fd);
          return;
        }
      }
    }
    /* A short read on a stream socket means it was drained: no EAGAIN read
     * needed even in edge-triggered mode (epoll(7)). Level-triggered: one
     * read per event. */
    if (((size_t)r < room && !drain) || level_triggered) return;
  }
}

static void on_accept(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN, or EMFILE etc.: try again on the next event */
    }
    if (fd >= nconns_max) { close(fd); continue; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *c = malloc(sizeof *c);
    if (!c) { close(fd); continue; }
    c->in_len = c->skip = 0;
    c->pend = NULL;
    c->pend_len = c->pend_off = c->pend_cap = 0;
    conns[fd] = c;
    struct epoll_event ev = {.events = level_triggered ? EPOLLIN : (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET),
                             .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) close_conn(fd);
  }
}

int main(int argc, char **argv) {
  int port = 19090;
  const char *host = "127.0.0.1";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--host") && i + 1 < argc) host = argv[++i];
    else if (!strcmp(argv[i], "--lt")) level_triggered = 1;
    else if (!strcmp(argv[i], "--workers") && i + 1 < argc) i++; /* accepted, ignored: one thread */
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  nconns_max = rl.rlim_cur > 1u << 20 ? 1 << 20 : (int)rl.rlim_cur;
  conns = calloc((size_t)nconns_max, sizeof *conns);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); return 1; }
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  if (listen(lfd, 4096) < 0) { perror("listen"); return 1; }

  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);

  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      uint32_t e = evs[i].events;
      if (fd == lfd) { on_accept(lfd); continue; }
      conn_t *c = conns[fd];
      if (!c) continue;
      if ((e & EPOLLOUT) && c->pend_len) {
        if (flush_pending(fd, c) < 0) { close_conn(fd); continue; }
        /* output drained below the cap: resume reading what was left unread */
        if (c->pend_len == 0 && !(e & EPOLLIN)) e |= EPOLLIN;
      }
      if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        on_readable(fd, c, (e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0);
    }
  }
}
