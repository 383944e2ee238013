/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * udp_flood: a pktgen-like UDP flood for the integration tests (not a test
 * by itself): prebuilt Ethernet/IPv4/UDP frames, correct checksums, sent as
 * fast as the machine allows through AF_PACKET sockets (PACKET_QDISC_BYPASS,
 * sendmmsg bursts of 64) on one interface, for a bounded time. Used by
 * tests/integration/stack_flood.sh inside a veth pair of its own
 * namespaces; frames never leave that pair.
 *
 *   udp_flood -i IFNAME -s SRC_IP -d DST_IP -S SRC_MAC -D DST_MAC
 *             -p PORT[,PORT...] [-l PAYLOAD] [-t SECS] [-n THREADS]
 *     -p        destination ports, used in turn frame by frame
 *     -l        UDP payload bytes (default 32)
 *     -t        seconds to flood (default 5, at most 30)
 *     -n        sending threads, one socket each (default 1, at most 8)
 *
 * Each thread sends from source port 41000 + its index, and binds a UDP
 * socket on SRC_IP and that port that it never reads, so that the replies
 * the flood provokes die quietly in its receive queue (no ICMP port
 * unreachable back to the flooded host). Output: one line
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

#define BURST     64
#define MAX_PORTS 8
#define MAX_THR   8
#define HDRS      42   /* Ethernet + IPv4 + UDP */

static struct {
  int ifindex;
  struct in_addr src, dst;
  uint8_t smac[6], dmac[6];
  uint16_t ports[MAX_PORTS];
  int n_ports;
  unsigned paylen;
  double secs;
} cfg = { .paylen = 32, .secs = 5 };

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

static uint16_t csum(const void* p, size_t len, uint32_t acc)
{
  const uint8_t* b = p;
  size_t k;

  for (k = 0; k + 1 < len; k += 2)
    acc += (uint32_t)(b[k] << 8 | b[k + 1]);
  if (len & 1)
    acc += (uint32_t)b[len - 1] << 8;
  while (acc >> 16)
    acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)~acc;
}

/* build: one frame from sport to dport at f; returns its length. */
static size_t build(uint8_t* f, uint16_t sport, uint16_t dport, uint16_t id)
{
  uint8_t* ip = f + 14;
  uint8_t* u = ip + 20;
  size_t ulen = 8 + cfg.paylen;
  uint32_t acc;
  uint16_t c;

  memcpy(f, cfg.dmac, 6);
  memcpy(f + 6, cfg.smac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  memset(ip, 0, 20);
  ip[0] = 0x45;
  ip[2] = (uint8_t)((20 + ulen) >> 8);
  ip[3] = (uint8_t)(20 + ulen);
  ip[4] = (uint8_t)(id >> 8);
  ip[5] = (uint8_t)id;
  ip[8] = 64;
  ip[9] = 17;
  memcpy(ip + 12, &cfg.src, 4);
  memcpy(ip + 16, &cfg.dst, 4);
  c = csum(ip, 20, 0);
  ip[10] = (uint8_t)(c >> 8);
  ip[11] = (uint8_t)c;
  u[0] = (uint8_t)(sport >> 8);
  u[1] = (uint8_t)sport;
  u[2] = (uint8_t)(dport >> 8);
  u[3] = (uint8_t)dport;
  u[4] = (uint8_t)(ulen >> 8);
  u[5] = (uint8_t)ulen;
  u[6] = u[7] = 0;
  memset(u + 8, 'F', cfg.paylen);
  /* Pseudo-header: addresses, protocol, UDP length. */
  acc = 17 + (uint32_t)ulen;
  acc += (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]);
  acc += (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]);
  c = csum(u, ulen, acc);
  if (c == 0)
    c = 0xffff;
  u[6] = (uint8_t)(c >> 8);
  u[7] = (uint8_t)c;
  return HDRS + cfg.paylen;
}

static void* run(void* arg)
{
  struct thr* t = arg;
  static const int one = 1;
  struct sockaddr_ll sll;
  struct sockaddr_in sin;
  struct mmsghdr msgs[BURST];
  struct iovec iov[BURST];
  uint8_t* frames;
  size_t flen = 0;
  uint16_t sport = (uint16_t)(41000 + t->idx);
  double end;
  int fd, ufd, k, n;

  frames = calloc(BURST, HDRS + cfg.paylen);
  fd = socket(AF_PACKET, SOCK_RAW, 0);
  ufd = socket(AF_INET, SOCK_DGRAM, 0);
  if (!frames || fd < 0 || ufd < 0) {
    t->err = errno ? errno : ENOMEM;
    return NULL;
  }
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr = cfg.src;
  sin.sin_port = htons(sport);
  k = 2048;
  setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &k, sizeof(k));
  if (bind(ufd, (struct sockaddr*)&sin, sizeof(sin)) < 0) {
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
    uint8_t* f = frames + (size_t)k * (HDRS + cfg.paylen);
    flen = build(f, sport, cfg.ports[k % cfg.n_ports], (uint16_t)k);
    iov[k].iov_base = f;
    iov[k].iov_len = flen;
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    msgs[k].msg_hdr.msg_name = &sll;
    msgs[k].msg_hdr.msg_namelen = sizeof(sll);
  }
  end = now_s() + cfg.secs;
  while (now_s() < end) {
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
  close(ufd);
  free(frames);
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

static int parse_ports(char* s)
{
  char* tok;

  for (tok = strtok(s, ","); tok && cfg.n_ports < MAX_PORTS;
       tok = strtok(NULL, ",")) {
    int p = atoi(tok);
    if (p <= 0 || p > 65535)
      return -1;
    cfg.ports[cfg.n_ports++] = (uint16_t)p;
  }
  return cfg.n_ports ? 0 : -1;
}

static void usage(void)
{
  fprintf(stderr, "usage: udp_flood -i IF -s SRC_IP -d DST_IP -S SRC_MAC "
                  "-D DST_MAC -p PORT[,PORT...] [-l LEN] [-t SECS] "
                  "[-n THREADS]\n");
  exit(2);
}

int main(int argc, char** argv)
{
  struct thr thr[MAX_THR];
  const char* ifname = NULL;
  int opt, n_thr = 1, k, have = 0;
  uint64_t sent = 0;
  double t0, secs;

  while ((opt = getopt(argc, argv, "i:s:d:S:D:p:l:t:n:")) != -1) {
    switch (opt) {
    case 'i': ifname = optarg; have |= 1; break;
    case 's': have |= inet_pton(AF_INET, optarg, &cfg.src) == 1 ? 2 : 0;
      break;
    case 'd': have |= inet_pton(AF_INET, optarg, &cfg.dst) == 1 ? 4 : 0;
      break;
    case 'S': have |= parse_mac(optarg, cfg.smac) == 0 ? 8 : 0; break;
    case 'D': have |= parse_mac(optarg, cfg.dmac) == 0 ? 16 : 0; break;
    case 'p': have |= parse_ports(optarg) == 0 ? 32 : 0; break;
    case 'l': cfg.paylen = (unsigned)atoi(optarg); break;
    case 't': cfg.secs = atof(optarg); break;
    case 'n': n_thr = atoi(optarg); break;
    default: usage();
    }
  }
  if (have != 63 || cfg.paylen > 1400 || !(cfg.secs > 0 && cfg.secs <= 30)
      || n_thr < 1 || n_thr > MAX_THR)
    usage();
  cfg.ifindex = (int)if_nametoindex(ifname);
  if (!cfg.ifindex) {
    fprintf(stderr, "udp_flood: no interface %s\n", ifname);
    return 1;
  }
  t0 = now_s();
  for (k = 0; k < n_thr; k++) {
    thr[k].idx = k;
    thr[k].sent = 0;
    thr[k].err = 0;
    if (pthread_create(&thr[k].tid, NULL, run, &thr[k]) != 0) {
      fprintf(stderr, "udp_flood: cannot start a thread\n");
      return 1;
    }
  }
  for (k = 0; k < n_thr; k++) {
    pthread_join(thr[k].tid, NULL);
    sent += thr[k].sent;
    if (thr[k].err) {
      fprintf(stderr, "udp_flood: thread %d: %s\n", k,
              strerror(thr[k].err));
      return 1;
    }
  }
  secs = now_s() - t0;
  printf("FLOOD sent=%llu secs=%.2f pps=%.0f\n", (unsigned long long)sent,
         secs, sent / secs);
  return 0;
}
