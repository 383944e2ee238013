/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack_echo: a scriptable program over anyload's UDP stack for the
 * integration tests (not a test by itself). It creates one stack on an
 * interface with the control-plane environment (routes and ARP through
 * the kernel), polls it on CLOCK_MONOTONIC, echoes datagrams on the
 * sockets told to, and runs commands read from stdin, so that a test
 * script can drive one stack through several scenarios.
 *
 *   stack_echo [-t SECS] [-F] [-I] [-C] [-R MS] IFNAME
 *     -t SECS   exit with status 3 after this long (default 60)
 *     -F        ANYLOAD_STACK_F_RX_FRAGMENTS
 *     -I        ANYLOAD_STACK_F_RX_ICMP
 *     -C        ANYLOAD_STACK_F_TRUST_RX_CSUM
 *     -R MS     reassembly timeout (default the stack's, 30 s)
 *
 * Output lines (stdout, line-buffered):
 *   READY pid=PID ifindex=N mtu=M     the stack is up
 *   GOT sd=SD len=L from=IP:PORT payload=TEXT   a datagram (expect/recv)
 *   ECHO sd=SD len=L from=IP:PORT     a datagram echoed
 *   R<n> ...                          the answer to the n-th command
 * Commands:
 *   open [PORT [IP]]  -> R<n> open sd=SD rc=RC   (bound if PORT given)
 *   echo SD           -> R<n> echo rc=0          (echo everything on SD)
 *   join SD GROUP     -> R<n> join rc=RC
 *   leave SD GROUP    -> R<n> leave rc=RC
 *   mcastif SD IP     -> R<n> mcastif rc=RC       (IP_MULTICAST_IF)
 *   connect SD IP PORT -> R<n> connect rc=RC
 *   send SD IP PORT COUNT TAG  (IP "-": the connected peer)
 *                     -> R<n> send sent=N rc=RC  (payloads "TAG-%06d")
 *   sendsz SD IP PORT COUNT SIZE  the same with tag "S", each payload
 *                        padded with '.' to SIZE bytes
 *   expect SD COUNT SECS -> R<n> expect got=N    (waits, printing GOT; a
 *                        pending error ends it: RECVERR sd=SD rc=RC)
 *   reuse SD          -> R<n> reuse rc=RC         (SO_REUSEADDR)
 *   bind SD PORT [IP] -> R<n> bind rc=RC          (PORT 0: ephemeral)
 *   name SD           -> R<n> name ip=IP port=PORT rc=RC   (getsockname)
 *   rcvbuf SD BYTES   -> R<n> rcvbuf rc=RC        (SO_RCVBUF)
 *   joinsrc SD GROUP SOURCE / leavesrc SD GROUP SOURCE
 *                     -> R<n> joinsrc rc=RC       (source-specific)
 *   drain SD          -> R<n> drain got=N         (discards what is queued)
 *   stream SD IP PORT COUNT PPS  (IP "-": the connected peer)
 *                     -> R<n> stream sent=N rc=RC eagain=E late_resets=L
 *                        secs=S pps=P  (wall time, the rate reached)
 *                        COUNT datagrams at PPS a second, datagram k
 *                        carrying "Q%08u" (k) padded with '.' to 32 bytes
 *                        (progs/kudp.c's format); -EAGAIN (ring full) is
 *                        retried after a poll; it sleeps while ahead of
 *                        the schedule (1 ms at most) and sends what is
 *                        due when it wakes; more than 256 datagrams
 *                        behind the schedule moves the schedule instead
 *                        of bursting; stops at another error or a minute
 *                        after the schedule's end
 *   sink SD COUNT SECS -> R<n> sink got=N inorder=N dup=N ooo=N bad=N
 *                        last=SEQ
 *                        busy-polls, taking datagrams of that format
 *                        without printing them, until COUNT came, SECS
 *                        passed, or 2 s passed without one after the
 *                        first; each sequence number must come once (else
 *                        dup) and be the next one (else ooo)
 *   stats             -> R<n> stats name=value ... (non-zero counters)
 *   close SD          -> R<n> close rc=RC
 *   echoq SD          -> R<n> echoq rc=0         (echo everything on SD,
 *                        printing nothing per datagram: for floods)
 *   echostat          -> R<n> echostat echoed=N failed=N (quiet echoes)
 *   info              -> R<n> info pkt_total=N pkt_free=N ... (the
 *                        stack's anyload_stack_info, every field)
 *   quit              -> destroys the stack, prints BYE, exit status 0
 * End of input is the same as quit; SIGTERM too.
 */
#include "stack_prog.h"

#include <anyload/stack.h>
#include <anyload/stack_obs.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_SD 64

static struct anyload_stack* st;
static int echo_on[MAX_SD];       /* 1: echo and print, 2: echo quietly */
static uint64_t echoed_quiet, echo_failed_quiet;
static unsigned cmd_no;

static void print_dgram(const char* tag, int sd, const char* buf, ssize_t n,
                        const struct sockaddr_in* from)
{
  ssize_t k, shown = n < 64 ? n : 64;

  printf("%s sd=%d len=%zd from=%s:%u payload=", tag, sd, n,
         inet_ntoa(from->sin_addr), ntohs(from->sin_port));
  for (k = 0; k < shown && buf[k] != '.'; k++)
    putchar(buf[k] > 0x20 && buf[k] < 0x7f ? buf[k] : '?');
  putchar('\n');
}

/* service: poll the stack once and echo what the echo sockets got;
 * sleep on the wait fd up to max_ms when nothing happened. */
static void service(int max_ms)
{
  static char buf[65536];
  struct sockaddr_in from;
  int64_t now = stack_prog_now();
  int sd, flags, n;

  n = anyload_stack_poll(st, now, 0);
  for (sd = 0; sd < MAX_SD; sd++) {
    ssize_t got;
    if (!echo_on[sd])
      continue;
    flags = 0;
    while ((got = anyload_udp_recvfrom_at(st, sd, buf, sizeof(buf), &flags,
                                          &from, stack_prog_now())) >= 0) {
      ssize_t rc = anyload_udp_sendto(st, sd, buf, (size_t)got, 0, &from,
                                      stack_prog_now());
      if (echo_on[sd] == 2) {
        echoed_quiet += rc == got;
        echo_failed_quiet += rc != got;
      } else {
        print_dgram("ECHO", sd, buf, got, &from);
        if (rc != got)
          printf("ECHOFAIL sd=%d rc=%zd\n", sd, rc);
      }
      flags = 0;
      n++;
    }
  }
  if (n == 0 && max_ms > 0)
    stack_prog_sleep(st, now, max_ms);
}

static struct sockaddr_in sin_of(const char* ip, unsigned port)
{
  struct sockaddr_in a;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = inet_addr(ip);
  a.sin_port = htons((uint16_t)port);
  return a;
}

static void cmd_send(int sd, const char* ip, unsigned port, int count,
                     const char* tag, unsigned size)
{
  static char buf[65536];
  struct sockaddr_in to = sin_of(strcmp(ip, "-") ? ip : "0.0.0.0", port);
  int k, sent = 0;
  ssize_t rc = 0;

  for (k = 0; k < count; k++) {
    size_t len = (size_t)snprintf(buf, sizeof(buf), "%s-%06d", tag, k);
    int64_t until = stack_prog_now() + 2000000000ll;
    if (size > len && size < sizeof(buf)) {
      memset(buf + len, '.', size - len);
      len = size;
    }
    /* -EAGAIN (ring full) is retried after a poll, for 2 s at most. */
    do {
      rc = anyload_udp_sendto(st, sd, buf, len, 0, strcmp(ip, "-") ? &to
                                                                   : NULL,
                              stack_prog_now());
      if (rc == -EAGAIN)
        service(1);
    } while (rc == -EAGAIN && stack_prog_now() < until);
    if (rc < 0)
      break;
    sent++;
    service(0);
  }
  printf("R%u send sent=%d rc=%zd\n", cmd_no, sent, rc < 0 ? rc : 0);
}

static void cmd_expect(int sd, int count, int secs)
{
  static char buf[65536];
  struct sockaddr_in from;
  int64_t until = stack_prog_now() + (int64_t)secs * 1000000000ll;
  int got = 0, flags;
  ssize_t n;

  while (got < count && stack_prog_now() < until && !stack_prog_stop) {
    flags = 0;
    n = anyload_udp_recvfrom_at(st, sd, buf, sizeof(buf), &flags, &from,
                                stack_prog_now());
    if (n >= 0) {
      print_dgram("GOT", sd, buf, n, &from);
      got++;
      continue;
    }
    if (n != -EAGAIN) {
      printf("RECVERR sd=%d rc=%zd\n", sd, n);
      break;
    }
    service(5);
  }
  printf("R%u expect got=%d\n", cmd_no, got);
}

#define STREAM_PAYLEN 32
#define STREAM_BEHIND 256

static void cmd_stream(int sd, const char* ip, unsigned port, uint32_t count,
                       uint64_t pps)
{
  char buf[STREAM_PAYLEN + 1];
  struct sockaddr_in to = sin_of(strcmp(ip, "-") ? ip : "0.0.0.0", port);
  const struct sockaddr_in* dst = strcmp(ip, "-") ? &to : NULL;
  int64_t t0 = stack_prog_now(), t_start = t0, limit, now;
  uint32_t sent = 0, late = 0;
  uint64_t eagain = 0;
  ssize_t rc = 0;

  limit = t0 + (pps ? (int64_t)((uint64_t)count * 1000000000ull / pps) : 0) +
          60000000000ll;
  /* Sleeps of tens of microseconds: no 50 us timer slack on top. */
  prctl(PR_SET_TIMERSLACK, 1ul, 0ul, 0ul, 0ul);
  while (sent < count && !stack_prog_stop) {
    uint64_t due = count;
    now = stack_prog_now();
    if (now > limit)
      break;
    if (pps) {
      due = (uint64_t)(now - t0) * pps / 1000000000ull + 1;
      if (due > count)
        due = count;
      if (due > sent + STREAM_BEHIND) {
        /* Descheduled: restart the schedule from here. */
        t0 = now - (int64_t)((uint64_t)sent * 1000000000ull / pps);
        due = sent + 1;
        late++;
      }
    }
    while (sent < due) {
      memset(buf, '.', STREAM_PAYLEN);
      snprintf(buf, sizeof(buf), "Q%08u", sent);
      buf[9] = '.';
      rc = anyload_udp_sendto(st, sd, buf, STREAM_PAYLEN, 0, dst, now);
      if (rc < 0)
        break;
      sent++;
    }
    if (rc == -EAGAIN) {
      eagain++;
      rc = 0;
    } else if (rc < 0) {
      break;
    }
    service(0);
    /* Ahead of the schedule by more than 50 us: sleep (1 ms at most, so
     * that the ring never holds more than a millisecond's datagrams). */
    if (pps && sent < count && sent >= due) {
      int64_t wait = t0 + (int64_t)((uint64_t)sent * 1000000000ull / pps) -
                     stack_prog_now();
      if (wait > 50000) {
        struct timespec ts = { 0, wait > 1000000 ? 1000000 : (long)wait };
        nanosleep(&ts, NULL);
      }
    }
  }
  now = stack_prog_now();
  printf("R%u stream sent=%u rc=%zd eagain=%llu late_resets=%u secs=%.3f "
         "pps=%.0f\n", cmd_no, sent, rc < 0 ? rc : 0,
         (unsigned long long)eagain, late, (double)(now - t_start) / 1e9,
         (double)sent * 1e9 / (double)(now - t_start + 1));
}

/* stream_seq: the sequence number of a stream datagram, or -1. */
static int64_t stream_seq(const char* p, ssize_t n)
{
  uint32_t v = 0;
  int k;

  if (n != STREAM_PAYLEN || p[0] != 'Q')
    return -1;
  for (k = 1; k <= 8; k++) {
    if (p[k] < '0' || p[k] > '9')
      return -1;
    v = v * 10 + (uint32_t)(p[k] - '0');
  }
  return v;
}

static void cmd_sink(int sd, uint32_t count, int secs)
{
  char buf[2048];
  uint8_t* seen = calloc(count / 8 + 1, 1);
  int64_t end = stack_prog_now() + (int64_t)secs * 1000000000ll, last_rx = 0;
  int64_t last_seq = -1, now;
  uint32_t got = 0, inorder = 0, dup = 0, ooo = 0, bad = 0, expect = 0;

  while (seen && got < count && !stack_prog_stop) {
    int flags = 0;
    ssize_t n;
    int64_t seq;

    now = stack_prog_now();
    if (now > end || (got && now - last_rx > 2000000000ll))
      break;
    anyload_stack_poll(st, now, 0);
    while ((n = anyload_udp_recvfrom(st, sd, buf, sizeof(buf), &flags,
                                     NULL)) >= 0) {
      flags = 0;
      last_rx = now;
      seq = stream_seq(buf, n);
      if (seq < 0 || seq >= count) {
        bad++;
        continue;
      }
      got++;
      if (seen[seq / 8] & (1u << (seq % 8))) {
        dup++;
        continue;
      }
      seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
      if ((uint32_t)seq == expect)
        inorder++;
      else
        ooo++;
      expect = (uint32_t)seq + 1;
      last_seq = seq;
    }
  }
  free(seen);
  printf("R%u sink got=%u inorder=%u dup=%u ooo=%u bad=%u last=%lld\n",
         cmd_no, got, inorder, dup, ooo, bad, (long long)last_seq);
}

static void cmd_drain(int sd)
{
  char buf[2048];
  int flags = 0, got = 0;

  service(0);
  while (anyload_udp_recvfrom(st, sd, buf, sizeof(buf), &flags, NULL) >= 0) {
    flags = 0;
    got++;
  }
  printf("R%u drain got=%d\n", cmd_no, got);
}

static int cmd_joinsrc(int sd, const char* group, const char* source,
                       int join)
{
  struct ip_mreq_source ms;

  memset(&ms, 0, sizeof(ms));
  ms.imr_multiaddr.s_addr = inet_addr(group);
  ms.imr_sourceaddr.s_addr = inet_addr(source);
  return anyload_udp_setsockopt(st, sd, IPPROTO_IP,
                                join ? IP_ADD_SOURCE_MEMBERSHIP
                                     : IP_DROP_SOURCE_MEMBERSHIP,
                                &ms, sizeof(ms));
}

static int cmd_join(int sd, const char* group, int join)
{
  struct ip_mreqn mn;

  memset(&mn, 0, sizeof(mn));
  mn.imr_multiaddr.s_addr = inet_addr(group);
  return anyload_udp_setsockopt(st, sd, IPPROTO_IP,
                                join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                                &mn, sizeof(mn));
}

static void command(char* line)
{
  char a[64] = "", b[64] = "", c[64] = "", d[64] = "", e[64] = "", f[64] = "";
  int n = sscanf(line, "%63s %63s %63s %63s %63s %63s", a, b, c, d, e, f);
  int rc;

  if (n <= 0)
    return;
  cmd_no++;
  if (!strcmp(a, "open")) {
    int sd = anyload_udp_open(st);
    rc = sd < 0 ? sd : 0;
    if (sd >= 0 && n >= 2) {
      struct sockaddr_in at = sin_of(n >= 3 ? c : "0.0.0.0",
                                     (unsigned)atoi(b));
      rc = anyload_udp_bind(st, sd, &at, sizeof(at));
    }
    printf("R%u open sd=%d rc=%d\n", cmd_no, sd, rc);
  } else if (!strcmp(a, "echo") && n >= 2) {
    int sd = atoi(b);
    if (sd >= 0 && sd < MAX_SD)
      echo_on[sd] = 1;
    printf("R%u echo rc=0\n", cmd_no);
  } else if ((!strcmp(a, "join") || !strcmp(a, "leave")) && n >= 3) {
    printf("R%u %s rc=%d\n", cmd_no, a, cmd_join(atoi(b), c, a[0] == 'j'));
  } else if (!strcmp(a, "mcastif") && n >= 3) {
    struct in_addr ifa;
    ifa.s_addr = inet_addr(c);
    printf("R%u mcastif rc=%d\n", cmd_no,
           anyload_udp_setsockopt(st, atoi(b), IPPROTO_IP, IP_MULTICAST_IF,
                                  &ifa, sizeof(ifa)));
  } else if (!strcmp(a, "connect") && n >= 4) {
    struct sockaddr_in to = sin_of(c, (unsigned)atoi(d));
    printf("R%u connect rc=%d\n", cmd_no,
           anyload_udp_connect(st, atoi(b), &to, sizeof(to)));
  } else if (!strcmp(a, "send") && n >= 6) {
    cmd_send(atoi(b), c, (unsigned)atoi(d), atoi(e), f, 0);
  } else if (!strcmp(a, "sendsz") && n >= 6) {
    cmd_send(atoi(b), c, (unsigned)atoi(d), atoi(e), "S",
             (unsigned)atoi(f));
  } else if (!strcmp(a, "expect") && n >= 4) {
    cmd_expect(atoi(b), atoi(c), atoi(d));
  } else if (!strcmp(a, "reuse") && n >= 2) {
    int one = 1;
    printf("R%u reuse rc=%d\n", cmd_no,
           anyload_udp_setsockopt(st, atoi(b), SOL_SOCKET, SO_REUSEADDR,
                                  &one, sizeof(one)));
  } else if (!strcmp(a, "bind") && n >= 3) {
    struct sockaddr_in at = sin_of(n >= 4 ? d : "0.0.0.0", (unsigned)atoi(c));
    printf("R%u bind rc=%d\n", cmd_no,
           anyload_udp_bind(st, atoi(b), &at, sizeof(at)));
  } else if (!strcmp(a, "name") && n >= 2) {
    struct sockaddr_in at;
    socklen_t len = sizeof(at);
    memset(&at, 0, sizeof(at));
    rc = anyload_udp_getsockname(st, atoi(b), &at, &len);
    printf("R%u name ip=%s port=%u rc=%d\n", cmd_no, inet_ntoa(at.sin_addr),
           ntohs(at.sin_port), rc);
  } else if (!strcmp(a, "rcvbuf") && n >= 3) {
    int v = atoi(c);
    printf("R%u rcvbuf rc=%d\n", cmd_no,
           anyload_udp_setsockopt(st, atoi(b), SOL_SOCKET, SO_RCVBUF, &v,
                                  sizeof(v)));
  } else if ((!strcmp(a, "joinsrc") || !strcmp(a, "leavesrc")) && n >= 4) {
    printf("R%u %s rc=%d\n", cmd_no, a,
           cmd_joinsrc(atoi(b), c, d, a[0] == 'j'));
  } else if (!strcmp(a, "drain") && n >= 2) {
    cmd_drain(atoi(b));
  } else if (!strcmp(a, "stream") && n >= 6) {
    cmd_stream(atoi(b), c, (unsigned)atoi(d),
               (uint32_t)strtoul(e, NULL, 10), strtoull(f, NULL, 10));
  } else if (!strcmp(a, "sink") && n >= 4) {
    cmd_sink(atoi(b), (uint32_t)strtoul(c, NULL, 10), atoi(d));
  } else if (!strcmp(a, "stats")) {
    stack_prog_stats(st, cmd_no, 256);
  } else if (!strcmp(a, "close") && n >= 2) {
    int sd = atoi(b);
    if (sd >= 0 && sd < MAX_SD)
      echo_on[sd] = 0;
    printf("R%u close rc=%d\n", cmd_no, anyload_udp_close(st, sd));
  } else if (!strcmp(a, "echoq") && n >= 2) {
    int sd = atoi(b);
    if (sd >= 0 && sd < MAX_SD)
      echo_on[sd] = 2;
    printf("R%u echoq rc=0\n", cmd_no);
  } else if (!strcmp(a, "echostat")) {
    printf("R%u echostat echoed=%llu failed=%llu\n", cmd_no,
           (unsigned long long)echoed_quiet,
           (unsigned long long)echo_failed_quiet);
  } else if (!strcmp(a, "info")) {
    struct anyload_stack_info in;
    anyload_stack_info(st, &in);
    printf("R%u info pkt_total=%u pkt_free=%u pkt_rx_ring=%u pkt_tx_ring=%u "
           "pkt_sock_rxq=%u pkt_reasm=%u pkt_neigh_wait=%u timers=%u "
           "sockets=%u filters=%u reasm_datagrams=%u neigh_waits=%u\n",
           cmd_no, in.pkt_total, in.pkt_free, in.pkt_rx_ring, in.pkt_tx_ring,
           in.pkt_sock_rxq, in.pkt_reasm, in.pkt_neigh_wait, in.timers,
           in.sockets, in.filters, in.reasm_datagrams, in.neigh_waits);
  } else if (!strcmp(a, "quit")) {
    stack_prog_stop = 1;
    printf("R%u quit\n", cmd_no);
  } else {
    printf("R%u unknown\n", cmd_no);
  }
}

int main(int argc, char** argv)
{
  struct anyload_stack_config cfg;
  int opt, secs = 60;

  anyload_stack_config_init(&cfg);
  while ((opt = getopt(argc, argv, "t:FICR:")) != -1) {
    switch (opt) {
    case 't':
      secs = atoi(optarg);
      break;
    case 'F':
      cfg.flags |= ANYLOAD_STACK_F_RX_FRAGMENTS;
      break;
    case 'I':
      cfg.flags |= ANYLOAD_STACK_F_RX_ICMP;
      break;
    case 'C':
      cfg.flags |= ANYLOAD_STACK_F_TRUST_RX_CSUM;
      break;
    case 'R':
      cfg.reasm_timeout_ns = atoll(optarg) * 1000000ll;
      break;
    default:
      fprintf(stderr, "usage: stack_echo [-t SECS] [-F] [-I] [-C] [-R MS] "
                      "IFNAME\n");
      return 2;
    }
  }
  if (optind + 1 != argc) {
    fprintf(stderr, "usage: stack_echo [-t SECS] [-F] [-I] [-C] [-R MS] "
                      "IFNAME\n");
    return 2;
  }
  st = stack_prog_start(&cfg, argv[optind]);

  if (stack_prog_loop("stack_echo", secs, service, command) == 3) {
    anyload_stack_destroy(st);
    return 3;
  }
  anyload_stack_destroy(st);
  printf("BYE\n");
  return 0;
}
