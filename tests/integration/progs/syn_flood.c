/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syn_flood: a TCP SYN flood for the integration tests (not a test by
 * itself), built as progs/udp_flood.c is: Ethernet/IPv4/TCP SYN frames
 * with an MSS option and correct checksums, each from a random source port
 * with a random initial sequence number, sent as fast as the machine
 * allows through AF_PACKET sockets (PACKET_QDISC_BYPASS, sendmmsg bursts
 * of 64) on one interface, for a bounded time. Used by
 * tests/integration/stack_tcp_synflood.sh inside a veth pair of its own
 * namespaces, from an address that no host there owns (the SYN-ACKs die
 * in the peer namespace's kernel); frames never leave that pair.
 *
 *   syn_flood -i IFNAME -s SRC_IP -d DST_IP -S SRC_MAC -D DST_MAC -p PORT
 *             [-t SECS] [-n THREADS]
 *     -t        seconds to flood (default 5, at most 30)
 *     -n        sending threads, one socket each (default 1, at most 8)
 *
 * Output: one line
 *   FLOOD sent=N secs=S pps=P
 * exit status 0, or 1 on an error (message on stderr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BURST   64
#define MAX_THR 8
#define FLEN    (14 + 20 + 24)   /* Ethernet + IPv4 + TCP with MSS */

static struct {
  int ifindex;
  struct in_addr src, dst;
  uint8_t smac[6], dmac[6];
  uint16_t port;
  double secs;
} cfg = { .secs = 5 };

struct thr {
  pthread_t tid;
  int idx;
  uint64_t sent;
  int err;
};

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t* b, size_t len, uint32_t acc)
{
  size_t k;

  for (k = 0; k + 1 < len; k += 2)
    acc += (uint32_t)(b[k] << 8 | b[k + 1]);
  if (len & 1)
    acc += (uint32_t)b[len - 1] << 8;
  while (acc >> 16)
    acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)~acc;
}

static uint64_t xorshift(uint64_t* s)
{
  uint64_t x = *s;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* build: the constant parts of a SYN at f. */
static void build(uint8_t* f)
{
  uint8_t* ip = f + 14;
  uint8_t* t = ip + 20;
  uint16_t c;

  memcpy(f, cfg.dmac, 6);
  memcpy(f + 6, cfg.smac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  memset(ip, 0, 20 + 24);
  ip[0] = 0x45;
  ip[3] = 20 + 24;
  ip[6] = 0x40;                 /* DF */
  ip[8] = 64;
  ip[9] = 6;
  memcpy(ip + 12, &cfg.src, 4);
  memcpy(ip + 16, &cfg.dst, 4);
  c = csum(ip, 20, 0);
  ip[10] = (uint8_t)(c >> 8);
  ip[11] = (uint8_t)c;
  t[2] = (uint8_t)(cfg.port >> 8);
  t[3] = (uint8_t)cfg.port;
  t[12] = 6 << 4;               /* 24 bytes: the MSS option */
  t[13] = 0x02;                 /* SYN */
  t[14] = 0xff;                 /* window 65535 */
  t[15] = 0xff;
  t[20] = 2;                    /* MSS 1460 */
  t[21] = 4;
  t[22] = 0x05;
  t[23] = 0xb4;
}

/* randomize: a new source port and ISN, and the TCP checksum. */
static void randomize(uint8_t* f, uint64_t* rng)
{
  uint8_t* ip = f + 14;
  uint8_t* t = ip + 20;
  uint64_t r = xorshift(rng);
  uint16_t sport = (uint16_t)(1024 + r % 64511), c;
  uint32_t acc;

  t[0] = (uint8_t)(sport >> 8);
  t[1] = (uint8_t)sport;
  t[4] = (uint8_t)(r >> 24);
  t[5] = (uint8_t)(r >> 32);
  t[6] = (uint8_t)(r >> 40);
  t[7] = (uint8_t)(r >> 48);
  t[16] = t[17] = 0;
  /* Pseudo-header: addresses, protocol, TCP length. */
  acc = 6 + 24;
  acc += (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]);
  acc += (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]);
  c = csum(t, 24, acc);
  t[16] = (uint8_t)(c >> 8);
  t[17] = (uint8_t)c;
}

static void* run(void* arg)
{
  struct thr* t = arg;
  static const int one = 1;
  struct sockaddr_ll sll;
  struct mmsghdr msgs[BURST];
  struct iovec iov[BURST];
  uint8_t frames[BURST][FLEN];
  uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t->idx + 1) ^
                 (uint64_t)(now_s() * 1e9);
  double end;
  int fd, k, n;

  fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    t->err = errno;
    return NULL;
  }
  /* Straight to the driver: no qdisc to fill up and drop in. */
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = cfg.ifindex;
  sll.sll_halen = 6;
  memcpy(sll.sll_addr, cfg.dmac, 6);
  memset(msgs, 0, sizeof(msgs));
  for (k = 0; k < BURST; k++) {
    build(frames[k]);
    iov[k].iov_base = frames[k];
    iov[k].iov_len = FLEN;
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    msgs[k].msg_hdr.msg_name = &sll;
    msgs[k].msg_hdr.msg_namelen = sizeof(sll);
  }
  end = now_s() + cfg.secs;
  while (now_s() < end) {
    for (k = 0; k < BURST; k++)
      randomize(frames[k], &rng);
    n = sendmmsg(fd, msgs, BURST, 0);
    if (n < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
        continue;
      t->err = errno;
      break;
    }
    t->sent += (uint64_t)n;
  }
  close(fd);
  return NULL;
}

static int parse_mac(const char* s, uint8_t mac[6])
{
  unsigned m[6];
  int k;

  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3],
             &m[4], &m[5]) != 6)
    return -1;
  for (k = 0; k < 6; k++)
    mac[k] = (uint8_t)m[k];
  return 0;
}

static void usage(void)
{
  fprintf(stderr, "usage: syn_flood -i IF -s SRC_IP -d DST_IP -S SRC_MAC "
                  "-D DST_MAC -p PORT [-t SECS] [-n THREADS]\n");
  exit(2);
}

int main(int argc, char** argv)
{
  struct thr thr[MAX_THR];
  const char* ifname = NULL;
  int opt, n_thr = 1, k, have = 0, port;
  uint64_t sent = 0;
  double t0, secs;

  while ((opt = getopt(argc, argv, "i:s:d:S:D:p:t:n:")) != -1) {
    switch (opt) {
    case 'i': ifname = optarg; have |= 1; break;
    case 's': have |= inet_pton(AF_INET, optarg, &cfg.src) == 1 ? 2 : 0;
      break;
    case 'd': have |= inet_pton(AF_INET, optarg, &cfg.dst) == 1 ? 4 : 0;
      break;
    case 'S': have |= parse_mac(optarg, cfg.smac) == 0 ? 8 : 0; break;
    case 'D': have |= parse_mac(optarg, cfg.dmac) == 0 ? 16 : 0; break;
    case 'p':
      port = atoi(optarg);
      if (port > 0 && port <= 65535) {
        cfg.port = (uint16_t)port;
        have |= 32;
      }
      break;
    case 't': cfg.secs = atof(optarg); break;
    case 'n': n_thr = atoi(optarg); break;
    default: usage();
    }
  }
  if (have != 63 || !(cfg.secs > 0 && cfg.secs <= 30) || n_thr < 1 ||
      n_thr > MAX_THR)
    usage();
  cfg.ifindex = (int)if_nametoindex(ifname);
  if (!cfg.ifindex) {
    fprintf(stderr, "syn_flood: no interface %s\n", ifname);
    return 1;
  }
  t0 = now_s();
  for (k = 0; k < n_thr; k++) {
    thr[k].idx = k;
    thr[k].sent = 0;
    thr[k].err = 0;
    if (pthread_create(&thr[k].tid, NULL, run, &thr[k]) != 0) {
      fprintf(stderr, "syn_flood: cannot start a thread\n");
      return 1;
    }
  }
  for (k = 0; k < n_thr; k++) {
    pthread_join(thr[k].tid, NULL);
    sent += thr[k].sent;
    if (thr[k].err) {
      fprintf(stderr, "syn_flood: thread %d: %s\n", k,
              strerror(thr[k].err));
      return 1;
    }
  }
  secs = now_s() - t0;
  printf("FLOOD sent=%llu secs=%.2f pps=%.0f\n", (unsigned long long)sent,
         secs, sent / secs);
  return 0;
}
