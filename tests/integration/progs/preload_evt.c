/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * preload_evt: readiness and timeout semantics of a UDP socket, an
 * ordinary program for tests/integration/preload_events.sh, run on the
 * kernel and under anyload (not a test by itself): both runs must print
 * the same lines.
 *
 *   preload_evt peer PORT
 *     the kernel peer: for each request datagram "SEND <k> <ms>" it
 *     sleeps ms milliseconds, then sends k datagrams "d<n>" back to the
 *     requester (n counts from 0). Ends on "QUIT" or after 120 s.
 *   preload_evt run PEERIP PEERPORT PORT
 *     binds 0.0.0.0:PORT and asks the peer for datagrams one at a time,
 *     printing one line per step:
 *       et:      EPOLLIN|EPOLLET: one event per arrival, none while the
 *                datagrams stay queued or when one is read, one after
 *                EPOLL_CTL_MOD while data is queued;
 *       oneshot: EPOLLONESHOT: one event, then none (even for a new
 *                arrival) until MOD re-arms it;
 *       level:   EPOLLIN: an event on every call while data is queued;
 *       recvmmsg: the timeout is checked after each datagram (a second
 *                datagram that comes after the timeout ends the call with
 *                2) and updated with the time left; MSG_WAITFORONE takes
 *                what is queued after the first;
 *       select:  the timeval is updated with the time left (0 after a
 *                timeout);
 *       ppoll, pselect, epoll_pwait: the sigmask argument is in force
 *                during the call only: a pending blocked SIGUSR1 that it
 *                unblocks interrupts the call (EINTR, handler ran), one
 *                that it keeps blocked does not (timeout), and SIGUSR1 is
 *                blocked again afterwards.
 * Every wait is bounded (at most 2 s each).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;
static struct sockaddr_in peer;
static volatile sig_atomic_t n_usr1;

static void die(const char* what)
{
  printf("ERROR %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(2);
}

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int cmd_peer(int port)
{
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port) };
  time_t end = time(NULL) + 120;
  unsigned n = 0;
  char buf[128];
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct timeval tv = { 1, 0 };

  if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof(a)) < 0)
    die("peer bind");
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  printf("READY\n");
  fflush(stdout);
  while (time(NULL) < end) {
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    int k, ms, i;
    ssize_t r = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr*)&from,
                         &fl);
    if (r < 0)
      continue;
    buf[r] = 0;
    if (!strcmp(buf, "QUIT"))
      break;
    if (sscanf(buf, "SEND %d %d", &k, &ms) != 2 || k < 0 || k > 64)
      continue;
    sleep_ms(ms);
    for (i = 0; i < k; i++) {
      int len = snprintf(buf, sizeof(buf), "d%u", n++);
      sendto(fd, buf, (size_t)len, 0, (struct sockaddr*)&from, fl);
    }
  }
  return 0;
}

/* ask: the peer sends k datagrams after ms milliseconds. */
static void ask(int k, int ms)
{
  char req[32];
  int len = snprintf(req, sizeof(req), "SEND %d %d", k, ms);

  if (sendto(sock, req, (size_t)len, 0, (struct sockaddr*)&peer,
             sizeof(peer)) < 0)
    die("sendto");
}

static const char* evs(uint32_t e)
{
  static char b[32];

  snprintf(b, sizeof(b), "%s%s", e & EPOLLIN ? "IN" : "",
           e & EPOLLOUT ? "OUT" : "");
  return b;
}

/* wait_print: one epoll_wait of ms, printed as "TAG n=N [events]". */
static void wait_print(int ep, const char* tag, int ms)
{
  struct epoll_event ev[4];
  int n = epoll_wait(ep, ev, 4, ms);

  if (n < 0)
    die("epoll_wait");
  printf("%s n=%d%s%s\n", tag, n, n > 0 ? " " : "", n > 0 ? evs(ev[0].events)
                                                           : "");
}

static void read_one(const char* tag)
{
  char b[64];
  ssize_t r = recv(sock, b, sizeof(b) - 1, MSG_DONTWAIT);

  if (r < 0) {
    printf("%s: %s\n", tag, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    return;
  }
  b[r] = 0;
  printf("%s: %s\n", tag, b);
}

static void modify(int ep, uint32_t events)
{
  struct epoll_event e = { .events = events, .data.fd = sock };

  if (epoll_ctl(ep, EPOLL_CTL_MOD, sock, &e) < 0)
    die("epoll_ctl MOD");
}

static void epoll_checks(void)
{
  struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.fd = sock };
  int ep = epoll_create1(0);

  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sock, &e) < 0)
    die("epoll");
  wait_print(ep, "et empty", 0);
  ask(1, 0);
  wait_print(ep, "et arrival 1", 2000);
  wait_print(ep, "et still queued", 150);
  ask(1, 0);
  wait_print(ep, "et arrival 2", 2000);
  wait_print(ep, "et two queued", 150);
  read_one("et read");
  wait_print(ep, "et after a read", 150);
  modify(ep, EPOLLIN | EPOLLET);
  wait_print(ep, "et after MOD", 150);
  wait_print(ep, "et after MOD again", 150);
  read_one("et read");
  read_one("et read empty");
  wait_print(ep, "et drained", 150);

  modify(ep, EPOLLIN | EPOLLONESHOT);
  ask(1, 0);
  wait_print(ep, "oneshot arrival", 2000);
  wait_print(ep, "oneshot fired", 150);
  ask(1, 0);
  wait_print(ep, "oneshot new arrival", 300);
  modify(ep, EPOLLIN | EPOLLONESHOT);
  wait_print(ep, "oneshot re-armed", 150);
  read_one("oneshot read");
  read_one("oneshot read");

  modify(ep, EPOLLIN);
  ask(1, 0);
  wait_print(ep, "level arrival", 2000);
  wait_print(ep, "level still queued", 150);
  read_one("level read");
  wait_print(ep, "level drained", 150);
  close(ep);
}

static void recvmmsg_checks(void)
{
  char bufs[4][64];
  struct iovec iov[4];
  struct mmsghdr v[4];
  struct timespec t;
  int i, n;

  for (i = 0; i < 4; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof(bufs[i]);
    memset(&v[i], 0, sizeof(v[i]));
    v[i].msg_hdr.msg_iov = &iov[i];
    v[i].msg_hdr.msg_iovlen = 1;
  }
  /* A second datagram 600 ms after the first: past the 300 ms timeout,
   * so the call ends with 2 (it does not wait for 4). */
  ask(1, 0);
  ask(1, 600);
  t.tv_sec = 0;
  t.tv_nsec = 300000000;
  n = recvmmsg(sock, v, 4, 0, &t);
  if (n < 0)
    die("recvmmsg");
  printf("recvmmsg timeout: n=%d left=%ld.%09ld\n", n, (long)t.tv_sec,
         t.tv_nsec);
  /* Both within a 5 s timeout: 2 of 2, time left. */
  ask(2, 0);
  t.tv_sec = 5;
  t.tv_nsec = 0;
  n = recvmmsg(sock, v, 2, 0, &t);
  if (n < 0)
    die("recvmmsg");
  printf("recvmmsg in time: n=%d time left: %s\n", n,
         t.tv_sec < 5 && (t.tv_sec > 0 || t.tv_nsec > 0) ? "yes" : "no");
  /* MSG_WAITFORONE: the first blocks, the rest only if queued. */
  ask(1, 0);
  ask(1, 0);
  sleep_ms(300);
  n = recvmmsg(sock, v, 4, MSG_WAITFORONE, NULL);
  printf("recvmmsg MSG_WAITFORONE, 2 queued: n=%d\n", n);
  ask(1, 0);
  n = recvmmsg(sock, v, 4, MSG_WAITFORONE, NULL);
  printf("recvmmsg MSG_WAITFORONE, 1 coming: n=%d\n", n);
}

static void select_checks(void)
{
  struct timeval tv;
  fd_set r;
  int n;

  FD_ZERO(&r);
  FD_SET(sock, &r);
  tv.tv_sec = 0;
  tv.tv_usec = 200000;
  n = select(sock + 1, &r, NULL, NULL, &tv);
  printf("select timeout: n=%d tv=%ld.%06ld\n", n, (long)tv.tv_sec,
         (long)tv.tv_usec);
  ask(1, 0);
  FD_ZERO(&r);
  FD_SET(sock, &r);
  tv.tv_sec = 2;
  tv.tv_usec = 0;
  n = select(sock + 1, &r, NULL, NULL, &tv);
  printf("select ready: n=%d set=%d time left: %s\n", n,
         FD_ISSET(sock, &r) ? 1 : 0,
         tv.tv_sec < 2 && (tv.tv_sec > 0 || tv.tv_usec > 0) ? "yes" : "no");
  read_one("select read");
}

static void on_usr1(int sig)
{
  (void)sig;
  n_usr1++;
}

static const char* still_blocked(void)
{
  sigset_t cur;

  sigprocmask(SIG_BLOCK, NULL, &cur);
  return sigismember(&cur, SIGUSR1) ? "blocked" : "UNBLOCKED";
}

static void result(const char* tag, int rc)
{
  printf("%s: %s handler=%d usr1 %s\n", tag,
         rc < 0 ? (errno == EINTR ? "EINTR" : strerror(errno))
                : rc == 0 ? "timeout" : "ready",
         (int)n_usr1, still_blocked());
  n_usr1 = 0;
}

static void sigmask_checks(void)
{
  struct sigaction sa;
  struct pollfd p = { .fd = sock, .events = POLLIN };
  struct timespec t = { 0, 200000000 };
  struct epoll_event e = { .events = EPOLLIN, .data.fd = sock }, out;
  sigset_t usr1, open_mask, keep_mask;
  fd_set r;
  int ep, k;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  sigprocmask(SIG_BLOCK, NULL, &open_mask);
  sigdelset(&open_mask, SIGUSR1);
  sigprocmask(SIG_BLOCK, NULL, &keep_mask);
  ep = epoll_create1(0);
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sock, &e) < 0)
    die("epoll");
  for (k = 0; k < 2; k++) {
    const sigset_t* m = k ? &keep_mask : &open_mask;
    const char* how = k ? "kept blocked" : "unblocked";
    char tag[64];

    raise(SIGUSR1);   /* pending, blocked (again if it was consumed) */
    snprintf(tag, sizeof(tag), "ppoll, SIGUSR1 %s", how);
    result(tag, ppoll(&p, 1, &t, m));
    raise(SIGUSR1);
    FD_ZERO(&r);
    FD_SET(sock, &r);
    snprintf(tag, sizeof(tag), "pselect, SIGUSR1 %s", how);
    result(tag, pselect(sock + 1, &r, NULL, NULL, &t, m));
    raise(SIGUSR1);
    snprintf(tag, sizeof(tag), "epoll_pwait, SIGUSR1 %s", how);
    result(tag, epoll_pwait(ep, &out, 1, 200, m));
  }
  /* The one left pending runs once unblocked. */
  sigprocmask(SIG_UNBLOCK, &usr1, NULL);
  printf("unblocked at the end: handler=%d\n", (int)n_usr1);
  close(ep);
}

static int cmd_run(const char* peer_ip, int peer_port, int port)
{
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port) };

  peer.sin_family = AF_INET;
  peer.sin_port = htons((uint16_t)peer_port);
  if (inet_pton(AF_INET, peer_ip, &peer.sin_addr) != 1)
    die("peer address");
  sock = socket(AF_INET, SOCK_DGRAM, 0);
  if (sock < 0 || bind(sock, (struct sockaddr*)&a, sizeof(a)) < 0)
    die("bind");
  epoll_checks();
  recvmmsg_checks();
  select_checks();
  sigmask_checks();
  printf("DONE\n");
  return 0;
}

int main(int argc, char** argv)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && !strcmp(argv[1], "peer"))
    return cmd_peer(atoi(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "run"))
    return cmd_run(argv[2], atoi(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: preload_evt peer PORT | run PEERIP PEERPORT PORT\n");
  return 2;
}
