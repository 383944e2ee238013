/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack_tcp: one TCP connection over anyload's stack, for the integration
 * tests (and reusable by others): as a client it connects, as a server
 * it listens and accepts one connection; then both directions run at
 * once: it sends BYTES bytes of a generated stream, shuts its side down,
 * reads until the peer's end of stream, closes, and prints the SHA-256 of
 * what it sent and of what it received, so that a script compares them
 * with the peer's (tests/integration/progs/tcp_peer.py for a kernel
 * peer). The stack uses the control plane (routes and ARP through the
 * kernel) and the default backend, polled on CLOCK_MONOTONIC.
 *
 *   stack_tcp [-C] [-t SECS] [-n BYTES] [-s SEED] [-b SNDBUF] [-c CC]
 *             -r client|server IFNAME ADDR PORT
 *     -r        client: connect to ADDR:PORT; server: listen on ADDR:PORT
 *               (ADDR 0.0.0.0 for any)
 *     -n BYTES  bytes to send (default 1 MiB; 0 sends nothing)
 *     -s SEED   the generated stream's seed (default 1)
 *     -t SECS   give up after this long (exit 3; default 60)
 *     -C        ANYLOAD_STACK_F_TRUST_RX_CSUM (veth with checksum offload)
 *     -b SNDBUF SO_SNDBUF and SO_RCVBUF (as setsockopt: doubled)
 *     -c CC     TCP_CONGESTION (reno, cubic)
 * Output (stdout, line-buffered):
 *   READY pid=PID ifindex=N mtu=M
 *   CONNECTED local=IP:PORT peer=IP:PORT
 *   DONE sent=N sent_sha256=HEX recv=N recv_sha256=HEX secs=S
 *   STAT name=value ...   (the connection's non-zero TCP counters)
 * Exit status: 0 done, 1 an error (message on stderr), 2 usage, 3 timeout.
 */
#include <anyload/stack.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- SHA-256 (FIPS 180-4) --------------------------------------------- */

struct sha256 {
  uint32_t h[8];
  uint64_t len;
  uint8_t  buf[64];
  unsigned n;
};

static const uint32_t sha_k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
  0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha256* s, const uint8_t* p)
{
  uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
  int i;

  for (i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
  e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
  for (i = 0; i < 64; i++) {
    t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
         sha_k[i] + w[i];
    t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^
                                                   (b & c));
    h = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
  s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha_init(struct sha256* s)
{
  static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                  0xa54ff53a, 0x510e527f, 0x9b05688c,
                                  0x1f83d9ab, 0x5be0cd19 };
  memcpy(s->h, h0, sizeof(h0));
  s->len = 0;
  s->n = 0;
}

static void sha_update(struct sha256* s, const uint8_t* p, size_t len)
{
  s->len += len;
  while (len) {
    size_t k = 64 - s->n < len ? 64 - s->n : len;
    memcpy(s->buf + s->n, p, k);
    s->n += (unsigned)k;
    p += k;
    len -= k;
    if (s->n == 64) {
      sha_block(s, s->buf);
      s->n = 0;
    }
  }
}

static void sha_hex(struct sha256* s, char out[65])
{
  uint64_t bits = s->len * 8;
  uint8_t pad = 0x80, z = 0, lb[8];
  int i;

  sha_update(s, &pad, 1);
  while (s->n != 56)
    sha_update(s, &z, 1);
  for (i = 0; i < 8; i++)
    lb[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, lb, 8);
  for (i = 0; i < 8; i++)
    sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- the stream and the connection ------------------------------------ */

static struct anyload_stack* st;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
  (void)sig;
  stop = 1;
}

static int64_t mono_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void die(const char* what, long rc)
{
  fprintf(stderr, "stack_tcp: %s: %s\n", what, strerror((int)-rc));
  exit(1);
}

/* gen: the stream's bytes at offset off (a function of the offset). */
static void gen(uint8_t* p, size_t len, uint64_t off, uint64_t seed)
{
  size_t k;

  for (k = 0; k < len; k++) {
    uint64_t x = ((off + k) >> 3) * 0x9e3779b97f4a7c15ull + seed;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    p[k] = (uint8_t)(x >> (8 * ((off + k) & 7)));
  }
}

static void usage(void)
{
  fprintf(stderr, "usage: stack_tcp [-C] [-t SECS] [-n BYTES] [-s SEED] "
                  "[-b BUF] [-c CC] -r client|server IFNAME ADDR PORT\n");
  exit(2);
}

static void print_stats(int sd)
{
  uint64_t v[128];
  int n = anyload_tcp_stats(st, sd, v, 128), k;

  printf("STAT");
  for (k = 0; k < n; k++)
    if (v[k])
      printf(" %s=%llu", anyload_tcp_stat_name((unsigned)k),
             (unsigned long long)v[k]);
  printf("\n");
}

int main(int argc, char** argv)
{
  static uint8_t buf[65536];
  struct anyload_stack_config cfg;
  struct sockaddr_in addr, name;
  socklen_t nl;
  struct sha256 tx_sha, rx_sha;
  const char* role = NULL;
  const char* cc = NULL;
  uint64_t total = 1 << 20, seed = 1, sent = 0, got = 0;
  int64_t start, end, closed_at = 0;
  int opt, secs = 60, ls = -1, sd = -1, shut = 0, eof = 0, bufsz = 0, rc;
  char hex_tx[65], hex_rx[65];

  anyload_stack_config_init(&cfg);
  while ((opt = getopt(argc, argv, "Ct:n:s:r:b:c:")) != -1) {
    switch (opt) {
    case 'C':
      cfg.flags |= ANYLOAD_STACK_F_TRUST_RX_CSUM;
      break;
    case 't':
      secs = atoi(optarg);
      break;
    case 'n':
      total = strtoull(optarg, NULL, 0);
      break;
    case 's':
      seed = strtoull(optarg, NULL, 0);
      break;
    case 'r':
      role = optarg;
      break;
    case 'b':
      bufsz = atoi(optarg);
      break;
    case 'c':
      cc = optarg;
      break;
    default:
      usage();
    }
  }
  if (optind + 3 != argc || !role ||
      (strcmp(role, "client") && strcmp(role, "server")))
    usage();
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[optind + 1], &addr.sin_addr) != 1)
    usage();
  addr.sin_port = htons((uint16_t)atoi(argv[optind + 2]));
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGTERM, on_term);
  signal(SIGPIPE, SIG_IGN);
  cfg.ifname = argv[optind];
  cfg.n_bufs = 4096;
  cfg.rxq_size = 1024;
  cfg.txq_size = 1024;
  cfg.seed = (uint64_t)mono_ns() ^ (uint64_t)getpid() << 32;
  rc = anyload_stack_create(&cfg, NULL, &st);
  if (rc < 0)
    die("anyload_stack_create", rc);
  printf("READY pid=%d ifindex=%d mtu=%u\n", (int)getpid(),
         anyload_stack_ifindex(st), anyload_stack_mtu(st));
  sha_init(&tx_sha);
  sha_init(&rx_sha);
  start = mono_ns();
  end = start + (int64_t)secs * 1000000000ll;

  {
    int s = anyload_tcp_open(st), one = 1;
    if (s < 0)
      die("anyload_tcp_open", s);
    if (bufsz > 0) {
      anyload_tcp_setsockopt(st, s, SOL_SOCKET, SO_SNDBUF, &bufsz,
                             sizeof(bufsz), mono_ns());
      anyload_tcp_setsockopt(st, s, SOL_SOCKET, SO_RCVBUF, &bufsz,
                             sizeof(bufsz), mono_ns());
    }
    if (cc && (rc = anyload_tcp_setsockopt(st, s, IPPROTO_TCP,
                                           TCP_CONGESTION, cc,
                                           (socklen_t)strlen(cc),
                                           mono_ns())) < 0)
      die("TCP_CONGESTION", rc);
    if (!strcmp(role, "server")) {
      anyload_tcp_setsockopt(st, s, SOL_SOCKET, SO_REUSEADDR, &one,
                             sizeof(one), mono_ns());
      if ((rc = anyload_tcp_bind(st, s, &addr, sizeof(addr))) < 0)
        die("anyload_tcp_bind", rc);
      if ((rc = anyload_tcp_listen(st, s, 4)) < 0)
        die("anyload_tcp_listen", rc);
      ls = s;
      printf("LISTENING port=%u\n", ntohs(addr.sin_port));
    } else {
      rc = anyload_tcp_connect(st, s, &addr, sizeof(addr), mono_ns());
      if (rc != -EINPROGRESS)
        die("anyload_tcp_connect", rc);
      sd = s;
    }
  }

  while (!stop) {
    int64_t now = mono_ns();
    int busy = 0;
    ssize_t n;

    if (now > end) {
      fprintf(stderr, "stack_tcp: timed out after %d s (sent %llu, got "
              "%llu)\n", secs, (unsigned long long)sent,
              (unsigned long long)got);
      if (sd >= 0)
        print_stats(sd);
      anyload_stack_destroy(st);
      return 3;
    }
    busy = anyload_stack_poll(st, now, 0);
    if (closed_at) {
      /* Let the last segments of the close go out, then stop. */
      if (now - closed_at > 300000000ll)
        break;
      goto wait;
    }
    if (sd < 0 && ls >= 0) {
      struct sockaddr_in peer;
      sd = anyload_tcp_accept(st, ls, &peer, now);
      if (sd == -EAGAIN) {
        sd = -1;
        goto wait;
      }
      if (sd < 0)
        die("anyload_tcp_accept", sd);
    }
    if (sd >= 0 && anyload_tcp_state(st, sd) == TCP_SYN_SENT)
      goto wait;
    if (sd >= 0 && ls != -2 && (ls >= 0 || !strcmp(role, "client"))) {
      struct sockaddr_in peer;
      socklen_t pl = sizeof(peer);
      if (!strcmp(role, "client")) {
        rc = anyload_tcp_connect(st, sd, &addr, sizeof(addr), now);
        if (rc != 0 && rc != -EISCONN)
          die("connect", rc);
      }
      nl = sizeof(name);
      anyload_tcp_getsockname(st, sd, &name, &nl);
      anyload_tcp_getpeername(st, sd, &peer, &pl);
      printf("CONNECTED local=%s:%u", inet_ntoa(name.sin_addr),
             ntohs(name.sin_port));
      printf(" peer=%s:%u\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
      if (ls >= 0)
        anyload_tcp_close(st, ls, now);
      ls = -2;
    }
    while (sent < total) {
      size_t want = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
      struct iovec iov = { buf, want };
      gen(buf, want, sent, seed);
      n = anyload_tcp_send(st, sd, &iov, 1, 0, now);
      if (n == -EAGAIN)
        break;
      if (n < 0)
        die("anyload_tcp_send", n);
      sha_update(&tx_sha, buf, (size_t)n);
      sent += (uint64_t)n;
      busy = 1;
    }
    if (sent == total && !shut) {
      if ((rc = anyload_tcp_shutdown(st, sd, SHUT_WR, now)) < 0)
        die("anyload_tcp_shutdown", rc);
      shut = 1;
    }
    while (!eof) {
      struct iovec iov = { buf, sizeof(buf) };
      n = anyload_tcp_recv(st, sd, &iov, 1, 0, now);
      if (n == -EAGAIN)
        break;
      if (n < 0)
        die("anyload_tcp_recv", n);
      if (n == 0) {
        eof = 1;
        break;
      }
      sha_update(&rx_sha, buf, (size_t)n);
      got += (uint64_t)n;
      busy = 1;
    }
    if (shut && eof) {
      sha_hex(&tx_sha, hex_tx);
      sha_hex(&rx_sha, hex_rx);
      printf("DONE sent=%llu sent_sha256=%s recv=%llu recv_sha256=%s "
             "secs=%.3f\n", (unsigned long long)sent, hex_tx,
             (unsigned long long)got, hex_rx,
             (double)(mono_ns() - start) / 1e9);
      print_stats(sd);
      anyload_tcp_close(st, sd, now);
      closed_at = now;
      continue;
    }
  wait:
    if (!busy) {
      struct pollfd pfd = { .fd = anyload_stack_wait_fd(st),
                            .events = POLLIN };
      int64_t dl = anyload_stack_next_deadline(st);
      int ms = 1;
      if (dl != INT64_MAX && dl - mono_ns() < 1000000ll)
        ms = 0;
      anyload_stack_prime(st);
      poll(&pfd, 1, ms);
    }
  }
  anyload_stack_destroy(st);
  return closed_at ? 0 : 1;
}
