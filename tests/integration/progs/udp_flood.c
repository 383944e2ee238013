/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * udp_flood: a pktgen-like UDP flood for the integration tests (not a test
 * by itself): prebuilt Ethernet/IPv4/UDP frames, correct checksums, sent as
 * fast as the machine allows through AF_PACKET sockets (PACKET_QDISC_BYPASS,
 * sendmmsg bursts of 64; common/flood_tx.c) on one interface, for a
 * bounded time. Used by tests/integration/stack_flood.sh inside a veth pair
 * of its own namespaces; frames never leave that pair.
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
 * unreachable back to the flooded host); it keeps the socket half a
 * second after the flood, for the replies to the backlog the flooded
 * host still works through. Output: one line
 *   FLOOD sent=N secs=S pps=P
 * exit status 0, or 1 on an error (message on stderr).
 */
#include "flood_tx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 8
#define HDRS      42   /* Ethernet + IPv4 + UDP */

static struct flood_opts opts;
static uint16_t ports[MAX_PORTS];
static int n_ports;
static unsigned paylen = 32;

/* build: one frame from sport to dport at f; returns its length. */
static size_t build(uint8_t* f, uint16_t sport, uint16_t dport, uint16_t id)
{
  size_t ulen = 8 + paylen;
  uint8_t* u = flood_eth_ipv4(f, &opts, 17, ulen, id, 0);
  uint16_t c;

  u[0] = (uint8_t)(sport >> 8);
  u[1] = (uint8_t)sport;
  u[2] = (uint8_t)(dport >> 8);
  u[3] = (uint8_t)dport;
  u[4] = (uint8_t)(ulen >> 8);
  u[5] = (uint8_t)ulen;
  u[6] = u[7] = 0;
  memset(u + 8, 'F', paylen);
  c = flood_csum(u, ulen, flood_pseudo_sum(f + 14, 17, ulen));
  if (c == 0)
    c = 0xffff;
  u[6] = (uint8_t)(c >> 8);
  u[7] = (uint8_t)c;
  return HDRS + paylen;
}

static void* run(void* arg)
{
  struct flood_thr* t = arg;
  struct sockaddr_in sin;
  uint8_t* frames[FLOOD_BURST];
  size_t lens[FLOOD_BURST];
  uint8_t* mem;
  uint16_t sport = (uint16_t)(41000 + t->idx);
  int ufd, k;

  mem = calloc(FLOOD_BURST, HDRS + paylen);
  ufd = socket(AF_INET, SOCK_DGRAM, 0);
  if (!mem || ufd < 0) {
    t->err = errno ? errno : ENOMEM;
    return NULL;
  }
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr = opts.src;
  sin.sin_port = htons(sport);
  k = 2048;
  setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &k, sizeof(k));
  if (bind(ufd, (struct sockaddr*)&sin, sizeof(sin)) < 0) {
    t->err = errno;
    return NULL;
  }
  for (k = 0; k < FLOOD_BURST; k++) {
    frames[k] = mem + (size_t)k * (HDRS + paylen);
    lens[k] = build(frames[k], sport, ports[k % n_ports], (uint16_t)k);
  }
  flood_blast(&opts, t, frames, lens, NULL, NULL);
  usleep(500000);
  close(ufd);
  free(mem);
  return NULL;
}

static int parse_ports(char* s)
{
  char* tok;

  for (tok = strtok(s, ","); tok && n_ports < MAX_PORTS;
       tok = strtok(NULL, ",")) {
    int p = atoi(tok);
    if (p <= 0 || p > 65535)
      return -1;
    ports[n_ports++] = (uint16_t)p;
  }
  return n_ports ? 0 : -1;
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
  int opt;

  flood_opts_init(&opts);
  while ((opt = getopt(argc, argv, "i:s:d:S:D:p:l:t:n:")) != -1) {
    if (flood_opt(&opts, opt, optarg))
      continue;
    switch (opt) {
    case 'p': opts.have |= parse_ports(optarg) == 0 ? FLOOD_HAVE_OWN : 0;
      break;
    case 'l': paylen = (unsigned)atoi(optarg); break;
    default: usage();
    }
  }
  if (!flood_opts_ok(&opts) || paylen > 1400)
    usage();
  if (flood_resolve_if(&opts, "udp_flood"))
    return 1;
  return flood_run(&opts, "udp_flood", run);
}
