/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kudp: a paced, sequence-numbered UDP stream through the kernel's own
 * sockets, the kernel end of tests/integration/stack_udp_more.sh (not a
 * test by itself). Python cannot keep up with 100,000 datagrams at tens
 * of thousands a second on a loaded VM; this can.
 *
 *   kudp send DSTIP PORT COUNT PPS [SRCIP]
 *     sends COUNT datagrams at PPS a second (0: as fast as the socket
 *     takes them), datagram k carrying "Q%08u" (k) padded with '.' to 32
 *     bytes, from an ephemeral port (of SRCIP if given). It sleeps while
 *     ahead of its schedule and sends what is due when it wakes; when it
 *     falls more than 32 datagrams behind (descheduled), it moves the
 *     schedule instead of bursting (counted as late_resets). Gives up
 *     a minute after the schedule's end. Prints
 *     "SENT n=N secs=S pps=P late_resets=R" (S and P: wall time and the
 *     rate reached) and exits 0 if all N went out.
 *   kudp recv PORT COUNT SECS [BINDIP]
 *     binds BINDIP (default any):PORT with an 8 MB receive buffer, prints
 *     READY, and receives until COUNT datagrams came, SECS passed, or 2 s
 *     passed without a datagram after the first. Every datagram's
 *     sequence number is checked: seen once (else dup), the next one
 *     expected (else ooo, and the expectation moves past it). The arrival
 *     interface of each datagram comes from IP_PKTINFO; each run of
 *     datagrams on one interface is printed as
 *     "SEG ifindex=I first=SEQ count=N t=REALTIME" (t: when its first
 *     datagram was read, CLOCK_REALTIME seconds; the first 64 runs), then
 *     "RECV got=N inorder=N dup=N ooo=N bad=N last=SEQ segs=N".
 *     Exits 0 (the caller judges the counts).
 * Every loop is bounded by its count or its time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLEN      32
#define MAX_SEGS    64
#define BEHIND_MAX  32
#define IDLE_NS     2000000000ll
#define RCVBUF      (8 << 20)

struct seg {
  int      ifindex;
  uint32_t first;
  uint32_t count;
  double   t;
};

static int64_t now_ns(clockid_t c)
{
  struct timespec ts;

  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
  struct timespec ts = { (time_t)(ns / 1000000000ll),
                         (long)(ns % 1000000000ll) };

  nanosleep(&ts, NULL);
}

static int parse_addr(const char* ip, unsigned port, struct sockaddr_in* a)
{
  memset(a, 0, sizeof(*a));
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)port);
  if (!ip) {
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    return 0;
  }
  return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? 0 : -1;
}

static int cmd_send(const char* dst, unsigned port, uint32_t count,
                    uint64_t pps, const char* src)
{
  struct sockaddr_in to, from;
  char buf[PAYLEN + 1];
  int64_t t0, t_start, now, limit;
  uint32_t sent = 0, late = 0;
  int fd;

  if (parse_addr(dst, port, &to) < 0 ||
      (src && parse_addr(src, 0, &from) < 0)) {
    fprintf(stderr, "kudp: bad address\n");
    return 2;
  }
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 ||
      (src && bind(fd, (struct sockaddr*)&from, sizeof(from)) < 0)) {
    perror("kudp: socket/bind");
    return 1;
  }
  /* Sleeps of tens of microseconds: no 50 us timer slack on top. */
  prctl(PR_SET_TIMERSLACK, 1ul, 0ul, 0ul, 0ul);
  t0 = t_start = now_ns(CLOCK_MONOTONIC);
  /* The time limit: the schedule's length and a minute of slack. */
  limit = t0 + (pps ? (int64_t)((uint64_t)count * 1000000000ull / pps) : 0) +
          60000000000ll;
  while (sent < count) {
    uint64_t due = count;
    now = now_ns(CLOCK_MONOTONIC);
    if (now > limit)
      break;
    if (pps) {
      due = (uint64_t)(now - t0) * pps / 1000000000ull + 1;
      if (due > count)
        due = count;
      if (due > sent + BEHIND_MAX) {
        /* Descheduled: restart the schedule from here. */
        t0 = now - (int64_t)((uint64_t)sent * 1000000000ull / pps);
        due = sent + 1;
        late++;
      }
    }
    while (sent < due) {
      memset(buf, '.', PAYLEN);
      snprintf(buf, sizeof(buf), "Q%08u", sent);
      buf[9] = '.';
      if (sendto(fd, buf, PAYLEN, 0, (struct sockaddr*)&to,
                 sizeof(to)) < 0) {
        if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
          break;
        perror("kudp: sendto");
        close(fd);
        return 1;
      }
      sent++;
    }
    if (sent < due) {
      sleep_ns(100000);   /* the socket's queue is full: let it drain */
    } else if (pps && sent < count) {
      int64_t next = t0 + (int64_t)((uint64_t)sent * 1000000000ull / pps);
      int64_t wait = next - now_ns(CLOCK_MONOTONIC);
      if (wait > 20000)
        sleep_ns(wait > 1000000 ? 1000000 : wait);
    }
  }
  now = now_ns(CLOCK_MONOTONIC);
  printf("SENT n=%u secs=%.3f pps=%.0f late_resets=%u\n", sent,
         (double)(now - t_start) / 1e9,
         (double)sent * 1e9 / (double)(now - t_start + 1), late);
  close(fd);
  return sent == count ? 0 : 1;
}

/* seq_of: the sequence number of a datagram, or -1 if it is not ours. */
static int64_t seq_of(const char* p, ssize_t n)
{
  uint32_t v = 0;
  int k;

  if (n != PAYLEN || p[0] != 'Q')
    return -1;
  for (k = 1; k <= 8; k++) {
    if (p[k] < '0' || p[k] > '9')
      return -1;
    v = v * 10 + (uint32_t)(p[k] - '0');
  }
  return v;
}

static int cmd_recv(unsigned port, uint32_t count, int secs, const char* ip)
{
  struct sockaddr_in at;
  struct seg segs[MAX_SEGS];
  unsigned nsegs = 0, n_runs = 0, k;
  uint8_t* seen;
  uint32_t got = 0, inorder = 0, dup = 0, ooo = 0, bad = 0, expect = 0;
  int64_t end, last_rx = 0;
  int64_t last_seq = -1;
  int fd, on = 1, sz = RCVBUF, cur_if = 0;

  if (parse_addr(ip, port, &at) < 0) {
    fprintf(stderr, "kudp: bad address\n");
    return 2;
  }
  seen = calloc(count / 8 + 1, 1);
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (!seen || fd < 0) {
    perror("kudp: socket");
    return 1;
  }
  /* SO_RCVBUFFORCE passes rmem_max (we run as root); SO_RCVBUF is the
   * fallback. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 ||
      bind(fd, (struct sockaddr*)&at, sizeof(at)) < 0) {
    perror("kudp: bind");
    return 1;
  }
  printf("READY\n");
  fflush(stdout);
  end = now_ns(CLOCK_MONOTONIC) + (int64_t)secs * 1000000000ll;
  while (got < count) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char buf[2048], cbuf[256];
    struct iovec iov = { buf, sizeof(buf) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = cbuf,
                         .msg_controllen = sizeof(cbuf) };
    struct cmsghdr* cm;
    int64_t now = now_ns(CLOCK_MONOTONIC), seq;
    int ifindex = 0;
    ssize_t n;

    if (now > end || (got && now - last_rx > IDLE_NS))
      break;
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    n = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (n < 0)
      continue;
    last_rx = now;
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
      if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
        ifindex = pi.ipi_ifindex;
      }
    seq = seq_of(buf, n);
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
    if (n_runs == 0 || ifindex != cur_if) {
      cur_if = ifindex;
      if (n_runs++ < MAX_SEGS) {
        segs[nsegs].ifindex = ifindex;
        segs[nsegs].first = (uint32_t)seq;
        segs[nsegs].count = 0;
        segs[nsegs].t = (double)now_ns(CLOCK_REALTIME) / 1e9;
        nsegs++;
      }
    }
    if (n_runs <= MAX_SEGS)
      segs[nsegs - 1].count++;
  }
  for (k = 0; k < nsegs; k++)
    printf("SEG ifindex=%d first=%u count=%u t=%.6f\n", segs[k].ifindex,
           segs[k].first, segs[k].count, segs[k].t);
  printf("RECV got=%u inorder=%u dup=%u ooo=%u bad=%u last=%lld segs=%u\n",
         got, inorder, dup, ooo, bad, (long long)last_seq, n_runs);
  free(seen);
  close(fd);
  return 0;
}

int main(int argc, char** argv)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 6 && !strcmp(argv[1], "send"))
    return cmd_send(argv[2], (unsigned)atoi(argv[3]),
                    (uint32_t)strtoul(argv[4], NULL, 10),
                    strtoull(argv[5], NULL, 10), argc >= 7 ? argv[6] : NULL);
  if (argc >= 5 && !strcmp(argv[1], "recv"))
    return cmd_recv((unsigned)atoi(argv[2]),
                    (uint32_t)strtoul(argv[3], NULL, 10), atoi(argv[4]),
                    argc >= 6 ? argv[5] : NULL);
  fprintf(stderr, "usage: kudp send DSTIP PORT COUNT PPS [SRCIP]\n"
                  "       kudp recv PORT COUNT SECS [BINDIP]\n");
  return 2;
}
