/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flood_tx.h: what the floods of the integration tests (progs/udp_flood.c,
 * progs/syn_flood.c) share: their common options, Ethernet and IPv4
 * headers with checksums, sender threads that blast prebuilt frames
 * through AF_PACKET sockets (PACKET_QDISC_BYPASS, sendmmsg bursts of
 * FLOOD_BURST) for a bounded time, and the FLOOD result line.
 */
#ifndef ANYLOAD_PROGS_FLOOD_TX_H
#define ANYLOAD_PROGS_FLOOD_TX_H

#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define FLOOD_BURST   64
#define FLOOD_MAX_THR 8

/* The options both floods take: -i IF -s SRC_IP -d DST_IP -S SRC_MAC
 * -D DST_MAC [-t SECS] [-n THREADS]; have has a bit per given required
 * option (FLOOD_HAVE_ALL for all five), a program's own required option
 * uses FLOOD_HAVE_OWN. */
struct flood_opts {
  const char* ifname;
  int ifindex;
  struct in_addr src, dst;
  uint8_t smac[6], dmac[6];
  double secs;                  /* default 5, at most 30 */
  int n_thr;                    /* default 1, at most FLOOD_MAX_THR */
  int have;
};

#define FLOOD_HAVE_ALL 31
#define FLOOD_HAVE_OWN 32

struct flood_thr {
  pthread_t tid;
  int idx;
  uint64_t sent;
  int err;                      /* errno of a failure, else 0 */
};

void flood_opts_init(struct flood_opts* o);
/* flood_opt: takes opt (with its argument arg) if it is one of the
 * common options: 1, else 0. */
int flood_opt(struct flood_opts* o, int opt, const char* arg);
/* flood_opts_ok: the common options and FLOOD_HAVE_OWN given, the time
 * and thread count in range. */
int flood_opts_ok(const struct flood_opts* o);
/* flood_resolve_if: o->ifindex from o->ifname: 0, or 1 after a message
 * on stderr. */
int flood_resolve_if(struct flood_opts* o, const char* prog);

double flood_now(void);
/* flood_csum: the Internet checksum of len bytes at p, with acc (a
 * pseudo-header's sum) added in. */
uint16_t flood_csum(const void* p, size_t len, uint32_t acc);
/* flood_eth_ipv4: Ethernet (smac to dmac) and IPv4 (src to dst, TTL 64,
 * header checksum) headers at f for l4len bytes of protocol proto;
 * returns where the layer-4 header goes. */
uint8_t* flood_eth_ipv4(uint8_t* f, const struct flood_opts* o,
                        uint8_t proto, size_t l4len, uint16_t id, int df);
/* flood_pseudo_sum: the sum of the IPv4 pseudo-header of ip's packet. */
uint32_t flood_pseudo_sum(const uint8_t* ip, uint8_t proto, size_t l4len);

/* flood_blast: frames[k] (lens[k] bytes, FLOOD_BURST of them) sent again
 * and again through an AF_PACKET socket of its own on o's interface in
 * sendmmsg bursts until o->secs passed; refill(ctx), if not NULL, before
 * each burst. Counts into th->sent; th->err on an error. */
void flood_blast(const struct flood_opts* o, struct flood_thr* th,
                 uint8_t* const frames[FLOOD_BURST],
                 const size_t lens[FLOOD_BURST],
                 void (*refill)(void* ctx), void* ctx);

/* flood_run: o->n_thr threads of fn (each given its struct flood_thr),
 * joined; prints "FLOOD sent=N secs=S pps=P". Returns the exit status:
 * 0, or 1 after a message on stderr. */
int flood_run(const struct flood_opts* o, const char* prog,
              void* (*fn)(void*));

#endif /* ANYLOAD_PROGS_FLOOD_TX_H */
