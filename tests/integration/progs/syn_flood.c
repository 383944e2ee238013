/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syn_flood: a TCP SYN flood for the integration tests (not a test by
 * itself), built as progs/udp_flood.c is (both on common/flood_tx.c):
 * Ethernet/IPv4/TCP SYN frames with an MSS option and correct checksums, each from a random source port
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
#include "flood_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLEN    (14 + 20 + 24)   /* Ethernet + IPv4 + TCP with MSS */

static struct flood_opts opts;
static uint16_t port;

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
  uint8_t* t = flood_eth_ipv4(f, &opts, 6, 24, 0, 1);

  memset(t, 0, 24);
  t[2] = (uint8_t)(port >> 8);
  t[3] = (uint8_t)port;
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

  t[0] = (uint8_t)(sport >> 8);
  t[1] = (uint8_t)sport;
  t[4] = (uint8_t)(r >> 24);
  t[5] = (uint8_t)(r >> 32);
  t[6] = (uint8_t)(r >> 40);
  t[7] = (uint8_t)(r >> 48);
  t[16] = t[17] = 0;
  c = flood_csum(t, 24, flood_pseudo_sum(ip, 6, 24));
  t[16] = (uint8_t)(c >> 8);
  t[17] = (uint8_t)c;
}

struct burst {
  uint8_t frames[FLOOD_BURST][FLEN];
  uint64_t rng;
};

static void refill(void* ctx)
{
  struct burst* b = ctx;
  int k;

  for (k = 0; k < FLOOD_BURST; k++)
    randomize(b->frames[k], &b->rng);
}

static void* run(void* arg)
{
  struct flood_thr* t = arg;
  struct burst b;
  uint8_t* frames[FLOOD_BURST];
  size_t lens[FLOOD_BURST];
  int k;

  b.rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t->idx + 1) ^
          (uint64_t)(flood_now() * 1e9);
  for (k = 0; k < FLOOD_BURST; k++) {
    build(b.frames[k]);
    frames[k] = b.frames[k];
    lens[k] = FLEN;
  }
  flood_blast(&opts, t, frames, lens, refill, &b);
  return NULL;
}

static void usage(void)
{
  fprintf(stderr, "usage: syn_flood -i IF -s SRC_IP -d DST_IP -S SRC_MAC "
                  "-D DST_MAC -p PORT [-t SECS] [-n THREADS]\n");
  exit(2);
}

int main(int argc, char** argv)
{
  int opt, p;

  flood_opts_init(&opts);
  while ((opt = getopt(argc, argv, "i:s:d:S:D:p:t:n:")) != -1) {
    if (flood_opt(&opts, opt, optarg))
      continue;
    if (opt != 'p')
      usage();
    p = atoi(optarg);
    if (p > 0 && p <= 65535) {
      port = (uint16_t)p;
      opts.have |= FLOOD_HAVE_OWN;
    }
  }
  if (!flood_opts_ok(&opts))
    usage();
  if (flood_resolve_if(&opts, "syn_flood"))
    return 1;
  return flood_run(&opts, "syn_flood", run);
}
