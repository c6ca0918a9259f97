// pace: a fixed-rate HTTP/1.1 load client in C, for the latency goal at 1,000 req/s.
//
// Why not bench/fixed-rate.mjs: Node's timers have 1 ms resolution and the client's event loop stalls on its
// own core, so a "fixed rate" of 1,000 req/s left the Node client in pairs under 0.3 ms apart and, after a
// stall, in bursts of up to 11 at once. A request that arrives behind k others waits for k requests' worth of
// the proxy's CPU: the burst, not the proxy, then sets p99. Here each request is sent at its own instant
// (timerfd, an absolute CLOCK_MONOTONIC deadline per request), which is what wrk2 does (wrk2 is not packaged
// for Debian).
//
//   pace [--trace FILE] URL RATE CONNECTIONS SECONDS [HOST]   → one line: FIXED_JSON {...}
//
// The same arguments, output and trace file as bench/fixed-rate.mjs, so bench/floor.mjs runs either:
// - each request's latency is counted from its scheduled instant (no coordinated omission), and a second
//   figure from the moment it was written (p99_sent_ms …);
// - a request due while every connection is busy waits for the first to free, still timed from its instant;
// - a due request goes to the connection idle the longest, so the load spreads over all CONNECTIONS;
// - --trace numbers each request in its query (`?n=N`) and writes which connection (local port) took each
//   request, in order, the warm-up requests (numbers ≥ total) included: what bench/lib/hold.mjs matches a
//   capture with.
// Every connection is opened, handshaken and used once before the schedule starts. HTTPS checks no
// certificate (like wrk) and sends SNI "localhost". Loopback targets only. A run that cannot finish ends
// SECONDS + 30 s after it started, the missing requests counted as errors.
//
// Build: cc -O2 -o pace pace.c -lssl -lcrypto   (bench/lib/pace.mjs does this on first use)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1000
#define BUF_SIZE 65536

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "pace: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Where a response is in its parse: the head, then a counted body or chunks.
enum parse_state { P_HEAD, P_BODY, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };

typedef struct {
  int fd;
  SSL *ssl;
  int port;  // local port: the connection's name in the trace
  long request;  // the request in flight, or -1
  double freed_at;  // when it last became idle: the idle-longest connection takes the next request
  enum parse_state state;
  char buf[BUF_SIZE];
  size_t len;
  long long remaining;  // body or chunk bytes still to come
  int status;
} connection_t;

static struct {
  int secure;
  char host[256];
  int port;
  char path[1024];
  const char *host_header;
  SSL_CTX *ctx;
} target;

static connection_t *conns;
static int nconns;
static long total;
static double start_us, interval_us;
static double *scheduled_lat, *sent_lat;  // per finished request, µs
static double *sent_at;  // per request, when it was written
static long done, errors, non2xx;
static long *trace_order;
static int *trace_ports;
static long traced;
static long *waiting;  // requests due while every connection was busy, FIFO
static long waiting_head, waiting_tail;

static void parse_url(const char *url) {
  const char *p;
  if (strncmp(url, "http://", 7) == 0) {
    target.secure = 0;
    p = url + 7;
  } else if (strncmp(url, "https://", 8) == 0) {
    target.secure = 1;
    p = url + 8;
  } else {
    die("URL must be http:// or https://: %s", url);
  }
  const char *slash = strchr(p, '/');
  size_t hostport = slash ? (size_t)(slash - p) : strlen(p);
  char hp[256];
  if (hostport >= sizeof hp) die("URL host too long");
  memcpy(hp, p, hostport);
  hp[hostport] = 0;
  char *colon = strrchr(hp, ':');
  target.port = target.secure ? 443 : 80;
  if (colon) {
    *colon = 0;
    target.port = atoi(colon + 1);
  }
  snprintf(target.host, sizeof target.host, "%s", hp);
  if (strcmp(target.host, "127.0.0.1") != 0 && strcmp(target.host, "localhost") != 0) die("refusing non-loopback target %s", url);
  snprintf(target.path, sizeof target.path, "%s", slash ? slash : "/");
}

// The Host header is the URL's host and port, as node's client sends it, unless HOST is given.
static int request_bytes(char *out, size_t cap, long n, int traced_path) {
  char host[300];
  if (target.host_header) snprintf(host, sizeof host, "%s", target.host_header);
  else snprintf(host, sizeof host, "%s:%d", target.host, target.port);
  if (traced_path) {
    return snprintf(out, cap, "GET %s?n=%ld HTTP/1.1\r\nHost: %s\r\n\r\n", target.path, n, host);
  }
  return snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target.path, host);
}

static int tracing;

// Writes a request whole. A request of under a hundred bytes on an idle keep-alive connection fits the
// socket buffer, so a short write means the connection is broken.
static int send_request(connection_t *c, long n) {
  char req[1400];
  int len = request_bytes(req, sizeof req, n, tracing);
  if (len <= 0 || len >= (int)sizeof req) die("request line too long");
  if (tracing) {
    trace_order[traced] = n;
    trace_ports[traced++] = c->port;
  }
  c->request = n;
  c->state = P_HEAD;
  c->len = 0;
  if (c->ssl) {
    int w = SSL_write(c->ssl, req, len);
    return w == len ? 0 : -1;
  }
  ssize_t w = write(c->fd, req, (size_t)len);
  return w == len ? 0 : -1;
}

static void open_connection(connection_t *c) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) die("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)target.port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect 127.0.0.1:%d: %s", target.port, strerror(errno));
  struct sockaddr_in local;
  socklen_t sl = sizeof local;
  getsockname(c->fd, (struct sockaddr *)&local, &sl);
  c->port = ntohs(local.sin_port);
  c->request = -1;
  c->ssl = NULL;
  if (target.secure) {
    c->ssl = SSL_new(target.ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (SSL_connect(c->ssl) != 1) {
      ERR_print_errors_fp(stderr);
      die("TLS handshake with 127.0.0.1:%d failed", target.port);
    }
  }
}

// Case-insensitive search for a header's value in a response head; returns its start or NULL.
static const char *header_value(const char *head, size_t head_len, const char *name) {
  size_t nl = strlen(name);
  const char *line = memchr(head, '\n', head_len);
  while (line && (size_t)(line - head) + 1 + nl < head_len) {
    line++;
    if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
      const char *v = line + nl + 1;
      while (*v == ' ' || *v == '\t') v++;
      return v;
    }
    line = memchr(line, '\n', head_len - (size_t)(line - head));
  }
  return NULL;
}

// Consumes what has been read; returns 1 when the response is complete, 0 when more is needed, -1 on a
// response this client cannot read.
static int parse(connection_t *c) {
  size_t pos = 0;
  for (;;) {
    char *b = c->buf + pos;
    size_t avail = c->len - pos;
    switch (c->state) {
      case P_HEAD: {
        char *end = memmem(b, avail, "\r\n\r\n", 4);
        if (!end) {
          if (avail == sizeof c->buf) return -1;
          goto more;
        }
        size_t head_len = (size_t)(end - b) + 4;
        if (avail < 12 || strncmp(b, "HTTP/1.", 7) != 0) return -1;
        c->status = atoi(b + 9);
        const char *te = header_value(b, head_len, "transfer-encoding");
        const char *cl = header_value(b, head_len, "content-length");
        if (te && strncasecmp(te, "chunked", 7) == 0) {
          c->state = P_CHUNK_SIZE;
        } else if (cl) {
          c->remaining = atoll(cl);
          c->state = P_BODY;
        } else {
          return -1;  // a body delimited by close: not a keep-alive response
        }
        pos += head_len;
        break;
      }
      case P_BODY: {
        size_t take = avail < (size_t)c->remaining ? avail : (size_t)c->remaining;
        c->remaining -= (long long)take;
        pos += take;
        if (c->remaining == 0) return pos == c->len ? 1 : -1;  // bytes past the response: pipelining we never asked for
        goto more;
      }
      case P_CHUNK_SIZE: {
        char *eol = memmem(b, avail, "\r\n", 2);
        if (!eol) goto more;
        char *digits_end;
        c->remaining = strtoll(b, &digits_end, 16);
        if (digits_end == b || c->remaining < 0 || (*digits_end != '\r' && *digits_end != ';')) return -1;
        pos += (size_t)(eol - b) + 2;
        c->state = c->remaining == 0 ? P_TRAILER : P_CHUNK_DATA;
        break;
      }
      case P_CHUNK_DATA: {
        size_t take = avail < (size_t)c->remaining ? avail : (size_t)c->remaining;
        c->remaining -= (long long)take;
        pos += take;
        if (c->remaining > 0) goto more;
        c->state = P_CHUNK_CRLF;
        break;
      }
      case P_CHUNK_CRLF:
        if (avail < 2) goto more;
        if (b[0] != '\r' || b[1] != '\n') return -1;
        pos += 2;
        c->state = P_CHUNK_SIZE;
        break;
      case P_TRAILER: {
        // Trailers end at an empty line; with none, the last chunk's CRLF is that line.
        if (avail >= 2 && b[0] == '\r' && b[1] == '\n') return pos + 2 == c->len ? 1 : -1;
        char *end = memmem(b, avail, "\r\n\r\n", 4);
        if (!end) goto more;
        return pos + (size_t)(end - b) + 4 == c->len ? 1 : -1;
      }
    }
  }
more:
  // Keep only the unconsumed bytes.
  memmove(c->buf, c->buf + pos, c->len - pos);
  c->len -= pos;
  return 0;
}

// Blocking: one request and its response on a fresh connection, before the schedule.
static void warm(connection_t *c, long n) {
  if (send_request(c, n) != 0) die("warm-up request failed");
  for (;;) {
    ssize_t r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len)) : read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (r <= 0) die("warm-up response: connection closed");
    c->len += (size_t)r;
    int p = parse(c);
    if (p < 0) die("warm-up response unreadable");
    if (p == 1) break;
  }
  c->request = -1;
  c->len = 0;
}

static void finish(long n, int failed) {
  double t = now_us();
  double at = start_us + interval_us * (double)n;
  scheduled_lat[done] = t - at;
  sent_lat[done] = t - sent_at[n];
  done++;
  if (failed) errors++;
}

static connection_t *idle_longest(void) {
  connection_t *best = NULL;
  for (int i = 0; i < nconns; i++) {
    connection_t *c = &conns[i];
    if (c->fd >= 0 && c->request < 0 && (!best || c->freed_at < best->freed_at)) best = c;
  }
  return best;
}

// A broken connection fails its request and leaves the pool; the run goes on with the others.
static void drop(int epfd, connection_t *c) {
  if (c->request >= 0) finish(c->request, 1);
  c->request = -1;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  if (c->ssl) SSL_free(c->ssl);
  close(c->fd);
  c->fd = -1;
  c->ssl = NULL;
}

static void dispatch(int epfd, long n) {
  connection_t *c = idle_longest();
  if (!c) {
    waiting[waiting_tail++] = n;
    return;
  }
  sent_at[n] = now_us();
  if (send_request(c, n) != 0) drop(epfd, c);
}

static void on_readable(int epfd, connection_t *c) {
  for (;;) {
    if (c->len == sizeof c->buf) {
      drop(epfd, c);
      return;
    }
    ssize_t r;
    if (c->ssl) {
      r = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));
      if (r <= 0) {
        int e = SSL_get_error(c->ssl, (int)r);
        if (e == SSL_ERROR_WANT_READ) return;
        drop(epfd, c);
        return;
      }
    } else {
      r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (r <= 0) {
        drop(epfd, c);
        return;
      }
    }
    c->len += (size_t)r;
    if (c->request < 0) {
      drop(epfd, c);  // bytes nobody asked for
      return;
    }
    int p = parse(c);
    if (p < 0) {
      drop(epfd, c);
      return;
    }
    if (p == 1) {
      long n = c->request;
      if (c->status < 200 || c->status > 299) non2xx++;
      c->request = -1;
      c->len = 0;
      c->freed_at = now_us();
      finish(n, 0);
      if (waiting_head < waiting_tail) dispatch(epfd, waiting[waiting_head++]);
      // Bytes OpenSSL has already taken off the socket wake no epoll: read them now. A plain socket
      // with more to read stays readable, and epoll says so.
      if (!c->ssl || SSL_pending(c->ssl) == 0) return;
    }
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, long n, double p) {
  if (n == 0) return 0;
  long i = (long)(p * (double)n);
  if (i >= n) i = n - 1;
  return sorted[i] / 1000.0;
}

static void arm(int tfd, double at_us) {
  struct itimerspec its = { 0 };
  its.it_value.tv_sec = (time_t)(at_us / 1e6);
  its.it_value.tv_nsec = (long)((at_us - (double)its.it_value.tv_sec * 1e6) * 1e3);
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;  // zero would disarm
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int main(int argc, char **argv) {
  const char *trace_file = NULL;
  char *args[8];
  int nargs = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc) {
      trace_file = argv[++i];
    } else if (nargs < 8) {
      args[nargs++] = argv[i];
    }
  }
  if (nargs < 4) die("usage: pace [--trace FILE] URL RATE(1..100000) CONNECTIONS(1..1000) SECONDS(1..300) [HOST]");
  parse_url(args[0]);
  double rate = atof(args[1]);
  nconns = atoi(args[2]);
  double seconds = atof(args[3]);
  if (nargs > 4) target.host_header = args[4];
  if (!(rate > 0 && rate <= 100000 && nconns > 0 && nconns <= MAX_CONNECTIONS && seconds > 0 && seconds <= 300)) {
    die("usage: pace [--trace FILE] URL RATE(1..100000) CONNECTIONS(1..1000) SECONDS(1..300) [HOST]");
  }
  tracing = trace_file != NULL;
  total = (long)(rate * seconds + 0.5);
  interval_us = 1e6 / rate;
  scheduled_lat = calloc((size_t)total, sizeof *scheduled_lat);
  sent_lat = calloc((size_t)total, sizeof *sent_lat);
  sent_at = calloc((size_t)total + (size_t)nconns, sizeof *sent_at);
  waiting = calloc((size_t)total, sizeof *waiting);
  trace_order = calloc((size_t)total + (size_t)nconns, sizeof *trace_order);
  trace_ports = calloc((size_t)total + (size_t)nconns, sizeof *trace_ports);
  conns = calloc((size_t)nconns, sizeof *conns);
  if (!scheduled_lat || !sent_lat || !sent_at || !waiting || !trace_order || !trace_ports || !conns) die("out of memory");

  if (target.secure) {
    target.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(target.ctx, SSL_VERIFY_NONE, NULL);
  }
  for (int i = 0; i < nconns; i++) open_connection(&conns[i]);
  for (int i = 0; i < nconns; i++) warm(&conns[i], total + i);

  int epfd = epoll_create1(0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
  for (int i = 0; i < nconns; i++) {
    if (fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK) != 0) die("fcntl: %s", strerror(errno));
    ev.events = EPOLLIN;
    ev.data.ptr = &conns[i];
    epoll_ctl(epfd, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }

  start_us = now_us();
  for (int i = 0; i < nconns; i++) conns[i].freed_at = start_us - (nconns - i);
  double deadline = start_us + (seconds + 30) * 1e6;
  long next = 0;
  arm(tfd, start_us);
  struct epoll_event events[64];
  while (done < total) {
    double t = now_us();
    if (t > deadline) {
      errors += total - done;
      break;
    }
    int k = epoll_wait(epfd, events, 64, 1000);
    if (k < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < k; i++) {
      connection_t *c = events[i].data.ptr;
      if (c) {
        if (c->fd >= 0) on_readable(epfd, c);
        continue;
      }
      uint64_t expirations;
      if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("timerfd read: %s", strerror(errno));
    }
    // Every request whose instant has come goes out now, each timed from its own instant.
    t = now_us();
    while (next < total && start_us + interval_us * (double)next <= t) dispatch(epfd, next++);
    if (next < total) arm(tfd, start_us + interval_us * (double)next);
  }
  double elapsed = (now_us() - start_us) / 1e6;

  if (tracing) {
    FILE *f = fopen(trace_file, "w");
    if (!f) die("cannot write %s: %s", trace_file, strerror(errno));
    fprintf(f, "{\"total\":%ld,\"order\":[", total);
    for (long i = 0; i < traced; i++) fprintf(f, "%s%ld", i ? "," : "", trace_order[i]);
    fprintf(f, "],\"ports\":[");
    for (long i = 0; i < traced; i++) fprintf(f, "%s%d", i ? "," : "", trace_ports[i]);
    fprintf(f, "]}");
    fclose(f);
  }
  long n = done < total ? done : total;
  qsort(scheduled_lat, (size_t)n, sizeof *scheduled_lat, cmp_double);
  qsort(sent_lat, (size_t)n, sizeof *sent_lat, cmp_double);
  printf("FIXED_JSON {\"requests\":%ld,\"seconds\":%.6f,\"errors\":%ld,\"non2xx\":%ld,\"p50_ms\":%.6f,\"p90_ms\":%.6f,\"p99_ms\":%.6f,"
         "\"p999_ms\":%.6f,\"max_ms\":%.6f,\"p50_sent_ms\":%.6f,\"p99_sent_ms\":%.6f,\"p999_sent_ms\":%.6f,\"client\":\"pace\"}\n",
         n, elapsed, errors, non2xx, quantile(scheduled_lat, n, 0.5), quantile(scheduled_lat, n, 0.9), quantile(scheduled_lat, n, 0.99),
         quantile(scheduled_lat, n, 0.999), n ? scheduled_lat[n - 1] / 1000.0 : 0, quantile(sent_lat, n, 0.5), quantile(sent_lat, n, 0.99),
         quantile(sent_lat, n, 0.999));
  return 0;
}
