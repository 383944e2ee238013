/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flood_tx.c: the shared part of the integration tests' floods (see
 * flood_tx.h).
 */
#include "flood_tx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void flood_opts_init(struct flood_opts* o)
{
  memset(o, 0, sizeof(*o));
  o->secs = 5;
  o->n_thr = 1;
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

int flood_opt(struct flood_opts* o, int opt, const char* arg)
{
  switch (opt) {
  case 'i': o->ifname = arg; o->have |= 1; break;
  case 's': o->have |= inet_pton(AF_INET, arg, &o->src) == 1 ? 2 : 0; break;
  case 'd': o->have |= inet_pton(AF_INET, arg, &o->dst) == 1 ? 4 : 0; break;
  case 'S': o->have |= parse_mac(arg, o->smac) == 0 ? 8 : 0; break;
  case 'D': o->have |= parse_mac(arg, o->dmac) == 0 ? 16 : 0; break;
  case 't': o->secs = atof(arg); break;
  case 'n': o->n_thr = atoi(arg); break;
  default: return 0;
  }
  return 1;
}

int flood_opts_ok(const struct flood_opts* o)
{
  return o->have == (FLOOD_HAVE_ALL | FLOOD_HAVE_OWN) &&
         o->secs > 0 && o->secs <= 30 && o->n_thr >= 1 &&
         o->n_thr <= FLOOD_MAX_THR;
}

int flood_resolve_if(struct flood_opts* o, const char* prog)
{
  o->ifindex = (int)if_nametoindex(o->ifname);
  if (!o->ifindex) {
    fprintf(stderr, "%s: no interface %s\n", prog, o->ifname);
    return 1;
  }
  return 0;
}

double flood_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

uint16_t flood_csum(const void* p, size_t len, uint32_t acc)
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

uint8_t* flood_eth_ipv4(uint8_t* f, const struct flood_opts* o,
                        uint8_t proto, size_t l4len, uint16_t id, int df)
{
  uint8_t* ip = f + 14;
  uint16_t c;

  memcpy(f, o->dmac, 6);
  memcpy(f + 6, o->smac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  memset(ip, 0, 20);
  ip[0] = 0x45;
  ip[2] = (uint8_t)((20 + l4len) >> 8);
  ip[3] = (uint8_t)(20 + l4len);
  ip[4] = (uint8_t)(id >> 8);
  ip[5] = (uint8_t)id;
  if (df)
    ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = proto;
  memcpy(ip + 12, &o->src, 4);
  memcpy(ip + 16, &o->dst, 4);
  c = flood_csum(ip, 20, 0);
  ip[10] = (uint8_t)(c >> 8);
  ip[11] = (uint8_t)c;
  return ip + 20;
}

uint32_t flood_pseudo_sum(const uint8_t* ip, uint8_t proto, size_t l4len)
{
  uint32_t acc = proto + (uint32_t)l4len;

  acc += (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]);
  acc += (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]);
  return acc;
}

void flood_blast(const struct flood_opts* o, struct flood_thr* th,
                 uint8_t* const frames[FLOOD_BURST],
                 const size_t lens[FLOOD_BURST],
                 void (*refill)(void* ctx), void* ctx)
{
  static const int one = 1;
  struct sockaddr_ll sll;
  struct mmsghdr msgs[FLOOD_BURST];
  struct iovec iov[FLOOD_BURST];
  double end;
  int fd, k, n;

  fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    th->err = errno;
    return;
  }
  /* Straight to the driver: no qdisc to fill up and drop in. */
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = o->ifindex;
  sll.sll_halen = 6;
  memcpy(sll.sll_addr, o->dmac, 6);
  memset(msgs, 0, sizeof(msgs));
  for (k = 0; k < FLOOD_BURST; k++) {
    iov[k].iov_base = frames[k];
    iov[k].iov_len = lens[k];
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    msgs[k].msg_hdr.msg_name = &sll;
    msgs[k].msg_hdr.msg_namelen = sizeof(sll);
  }
  end = flood_now() + o->secs;
  while (flood_now() < end) {
    if (refill)
      refill(ctx);
    n = sendmmsg(fd, msgs, FLOOD_BURST, 0);
    if (n < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
        continue;
      th->err = errno;
      break;
    }
    th->sent += (uint64_t)n;
  }
  close(fd);
}

int flood_run(const struct flood_opts* o, const char* prog,
              void* (*fn)(void*))
{
  struct flood_thr thr[FLOOD_MAX_THR];
  uint64_t sent = 0;
  double t0, secs;
  int k;

  t0 = flood_now();
  for (k = 0; k < o->n_thr; k++) {
    thr[k].idx = k;
    thr[k].sent = 0;
    thr[k].err = 0;
    if (pthread_create(&thr[k].tid, NULL, fn, &thr[k]) != 0) {
      fprintf(stderr, "%s: cannot start a thread\n", prog);
      return 1;
    }
  }
  for (k = 0; k < o->n_thr; k++) {
    pthread_join(thr[k].tid, NULL);
    sent += thr[k].sent;
    if (thr[k].err) {
      fprintf(stderr, "%s: thread %d: %s\n", prog, k, strerror(thr[k].err));
      return 1;
    }
  }
  secs = flood_now() - t0;
  printf("FLOOD sent=%llu secs=%.2f pps=%.0f\n", (unsigned long long)sent,
         secs, sent / secs);
  return 0;
}
