/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * preload_sig: signals and exit around blocking calls on a UDP socket, an
 * ordinary program for tests/integration/preload_signals.sh, run with and
 * without anyload (not a test by itself). Its output is the same on the
 * kernel and under anyload when transparent mode keeps its promises.
 *
 *   preload_sig jump PORT ROUNDS COUNT
 *     binds 0.0.0.0:PORT; then for each of recv, recvfrom, recvmsg, read,
 *     poll, ppoll, select, epoll_wait: ROUNDS times, a one-shot timer of
 *     1..4 ms raises SIGALRM while the call blocks on the socket, and the
 *     handler siglongjmp()s out of it. A helper thread polls the socket
 *     (1 ms timeouts) all along; if it stops making progress (a lock left
 *     held) the program says "STUCK" and exits 3. Prints "JUMPED n=N",
 *     then "READY", then echoes COUNT datagrams (recvfrom/sendto,
 *     blocking) and prints "ECHOED n=COUNT".
 *   preload_sig intr PORT
 *     binds 0.0.0.0:PORT; a helper thread sends the signals.
 *       1. SIGUSR1, handler without SA_RESTART, during recv: EINTR;
 *       2. SIGUSR1 during epoll_wait, and SIGTERM (handler with
 *          SA_RESTART) during poll: EINTR both (never restarted);
 *       3. SIGTERM (SA_RESTART) during recv: the handler runs, recv goes
 *          on; the helper prints "SEND" once the handler ran, and recv
 *          returns the datagram the test then sends;
 *       4. SIGINT with its default action during recv: the process dies
 *          of signal 2 (prints "INT" before).
 *     Before them: what sigaction() and signal() report back (the
 *     program's handlers and flags), and SA_RESETHAND (runs once).
 *     Each step prints one line: the call, its result, the handlers run.
 *   preload_sig exit PORT COUNT exit|_exit
 *     binds two sockets, PORT and PORT+1; echoes COUNT datagrams on PORT;
 *     then starts three threads blocked in the library: recv on PORT,
 *     epoll_wait on PORT+1, recvfrom on PORT+1 (each retried on EINTR,
 *     which a stop and resume gives epoll_wait even without a handler, as
 *     LeakSanitizer's stop-the-world at exit does); prints "THREADS", and
 *     after 300 ms the main thread calls exit(7) or _exit(9).
 * Every loop is bounded except the blocking calls under test: the test
 * runs it under timeout(1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int sock_fd = -1;
static sigjmp_buf jump_env;
static volatile sig_atomic_t n_usr1, n_term, n_alrm;
static atomic_long helper_rounds;
static atomic_int stop_helper;

static void die(const char* what)
{
  printf("ERROR %s: %s\n", what, strerror(errno));
  fflush(stdout);
  _exit(2);
}

static int udp_bound(int port)
{
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port) };
  int fd = socket(AF_INET, SOCK_DGRAM, 0);

  if (fd < 0)
    die("socket");
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) < 0)
    die("bind");
  return fd;
}

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static void on_signal(int sig, void (*fn)(int), int flags)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) < 0)
    die("sigaction");
}

/* ---- jump ---------------------------------------------------------------- */

static void alrm_jump(int sig)
{
  (void)sig;
  n_alrm++;
  siglongjmp(jump_env, 1);
}

static void* poll_helper(void* arg)
{
  struct pollfd p = { .fd = sock_fd, .events = POLLIN };

  (void)arg;
  while (!atomic_load(&stop_helper)) {
    poll(&p, 1, 1);
    atomic_fetch_add(&helper_rounds, 1);
  }
  return NULL;
}

/* block_in: call number k blocks on the socket (nothing arrives). */
static void block_in(int k, int ep)
{
  char buf[64];
  struct iovec iov = { buf, sizeof(buf) };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  struct sockaddr_in from;
  socklen_t fl = sizeof(from);
  struct pollfd p = { .fd = sock_fd, .events = POLLIN };
  struct epoll_event ev;
  fd_set r;

  switch (k) {
  case 0: recv(sock_fd, buf, sizeof(buf), 0); break;
  case 1: recvfrom(sock_fd, buf, sizeof(buf), 0, (struct sockaddr*)&from, &fl);
    break;
  case 2: recvmsg(sock_fd, &m, 0); break;
  case 3: if (read(sock_fd, buf, sizeof(buf)) < 0) {} break;
  case 4: poll(&p, 1, 10000); break;
  case 5: ppoll(&p, 1, NULL, NULL); break;
  case 6:
    FD_ZERO(&r);
    FD_SET(sock_fd, &r);
    select(sock_fd + 1, &r, NULL, NULL, NULL);
    break;
  case 7: epoll_wait(ep, &ev, 1, 10000); break;
  }
  printf("ERROR call %d returned without a jump\n", k);
}

static int cmd_jump(int port, int rounds, int count)
{
  static const char* const names[] = { "recv", "recvfrom", "recvmsg", "read",
                                       "poll", "ppoll", "select",
                                       "epoll_wait" };
  struct epoll_event ev = { .events = EPOLLIN };
  volatile int k, r, jumped = 0;
  pthread_t th;
  sigset_t set;
  long before;
  char buf[2048];
  int ep, i;

  sock_fd = udp_bound(port);
  ep = epoll_create1(0);
  ev.data.fd = sock_fd;
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sock_fd, &ev) < 0)
    die("epoll");
  /* SIGALRM only for the main thread: the jump buffer is its own. */
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (pthread_create(&th, NULL, poll_helper, NULL))
    die("pthread_create");
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  on_signal(SIGALRM, alrm_jump, 0);
  for (k = 0; k < 8; k++) {
    for (r = 0; r < rounds; r++) {
      struct itimerval it = { { 0, 0 }, { 0, 1000 + 1000 * (r % 4) } };
      if (sigsetjmp(jump_env, 1) == 0) {
        setitimer(ITIMER_REAL, &it, NULL);
        block_in(k, ep);
        fflush(stdout);
        _exit(2);
      }
      jumped++;
      /* The helper must still get through the library. */
      before = atomic_load(&helper_rounds);
      for (i = 0; i < 2000 && atomic_load(&helper_rounds) < before + 2; i++)
        sleep_ms(1);
      if (atomic_load(&helper_rounds) < before + 2) {
        printf("STUCK after a jump out of %s\n", names[k]);
        fflush(stdout);
        _exit(3);
      }
    }
  }
  atomic_store(&stop_helper, 1);
  pthread_join(th, NULL);
  printf("JUMPED n=%d\nREADY\n", jumped);
  fflush(stdout);
  for (i = 0; i < count; i++) {
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(sock_fd, buf, sizeof(buf), 0,
                         (struct sockaddr*)&from, &fl);
    if (n < 0)
      die("recvfrom");
    if (sendto(sock_fd, buf, (size_t)n, 0, (struct sockaddr*)&from, fl) < 0)
      die("sendto");
  }
  printf("ECHOED n=%d\n", count);
  return 0;
}

/* ---- intr ---------------------------------------------------------------- */

static void count_usr1(int sig)
{
  (void)sig;
  n_usr1++;
}

static volatile sig_atomic_t n_usr2;

static void count_usr2(int sig)
{
  (void)sig;
  n_usr2++;
}

/* actions: what sigaction() and signal() report back (the program's own
 * handlers and flags) and SA_RESETHAND, printed for the comparison. */
static void actions(void)
{
  struct sigaction q;
  sighandler_t prev, prev2;

  on_signal(SIGUSR2, count_usr2, SA_RESETHAND);
  raise(SIGUSR2);
  sigaction(SIGUSR2, NULL, &q);
  printf("SA_RESETHAND: ran %d, then %s\n", (int)n_usr2,
         q.sa_handler == SIG_DFL ? "SIG_DFL" : "not reset");
  sigaction(SIGUSR1, NULL, &q);
  printf("SIGUSR1: %s, siginfo=%d restart=%d\n",
         q.sa_handler == count_usr1 ? "our handler" : "another handler",
         !!(q.sa_flags & SA_SIGINFO), !!(q.sa_flags & SA_RESTART));
  prev = signal(SIGHUP, count_usr2);
  sigaction(SIGHUP, NULL, &q);
  prev2 = signal(SIGHUP, SIG_DFL);
  printf("signal(): before %s, installed restart=%d, returned %s\n",
         prev == SIG_IGN ? "SIG_IGN" : prev == SIG_DFL ? "SIG_DFL" : "other",
         !!(q.sa_flags & SA_RESTART),
         prev2 == count_usr2 ? "the handler" : "other");
}

static void count_term(int sig)
{
  (void)sig;
  n_term++;
}

/* The main thread sets step to 2k+1 while in call k, 2k+2 after it. */
static atomic_int step;

static void wait_step(int k)
{
  int i;

  for (i = 0; i < 10000 && atomic_load(&step) != k; i++)
    sleep_ms(5);
}

/* kick_while: send sig to the process every 200 ms while the main thread
 * is in step k (a signal that came just before the call only ran the
 * handler; the next one finds it blocked). */
static void kick_while(int k, int sig)
{
  int i;

  wait_step(k);
  for (i = 0; i < 100 && atomic_load(&step) == k; i++) {
    sleep_ms(200);
    if (atomic_load(&step) == k)
      kill(getpid(), sig);
  }
}

static void* intr_helper(void* arg)
{
  int i;

  (void)arg;
  kick_while(1, SIGUSR1);                  /* 1. recv */
  kick_while(3, SIGUSR1);                  /* 2. epoll_wait */
  kick_while(5, SIGTERM);                  /* 2. poll */
  wait_step(7);                            /* 3. recv, SA_RESTART */
  sleep_ms(200);
  kill(getpid(), SIGTERM);
  for (i = 0; i < 500 && n_term < 2; i++)
    sleep_ms(2);
  sleep_ms(200);
  printf("SEND\n");
  fflush(stdout);
  wait_step(9);                            /* 4. recv, SIGINT default */
  sleep_ms(300);
  kill(getpid(), SIGINT);
  return NULL;
}

static void result(const char* call, ssize_t rc)
{
  printf("%s: %s usr1=%s term=%s\n", call,
         rc >= 0 ? "returned" : errno == EINTR ? "EINTR" : strerror(errno),
         n_usr1 ? "ran" : "no", n_term ? "ran" : "no");
  fflush(stdout);
}

static int cmd_intr(int port)
{
  struct epoll_event ev = { .events = EPOLLIN }, out;
  struct pollfd p;
  pthread_t th;
  char buf[256];
  ssize_t rc;
  int ep;

  sock_fd = udp_bound(port);
  ep = epoll_create1(0);
  ev.data.fd = sock_fd;
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sock_fd, &ev) < 0)
    die("epoll");
  on_signal(SIGUSR1, count_usr1, 0);
  on_signal(SIGTERM, count_term, SA_RESTART);
  /* A shell starts background commands with SIGINT ignored. */
  on_signal(SIGINT, SIG_DFL, 0);
  actions();
  if (pthread_create(&th, NULL, intr_helper, NULL))
    die("pthread_create");

  atomic_store(&step, 1);
  rc = recv(sock_fd, buf, sizeof(buf), 0);
  atomic_store(&step, 2);
  result("recv", rc);
  n_usr1 = 0;

  atomic_store(&step, 3);
  rc = epoll_wait(ep, &out, 1, 30000);
  atomic_store(&step, 4);
  result("epoll_wait", rc);
  n_usr1 = 0;

  p.fd = sock_fd;
  p.events = POLLIN;
  atomic_store(&step, 5);
  rc = poll(&p, 1, 30000);
  atomic_store(&step, 6);
  result("poll", rc);
  n_term = 1;   /* the helper waits for the next one */

  atomic_store(&step, 7);
  rc = recv(sock_fd, buf, sizeof(buf) - 1, 0);
  atomic_store(&step, 8);
  result("recv SA_RESTART", rc);
  if (rc >= 0) {
    buf[rc] = 0;
    printf("got '%s'\n", buf);
  }
  printf("INT\n");
  fflush(stdout);
  atomic_store(&step, 9);
  rc = recv(sock_fd, buf, sizeof(buf), 0);
  result("recv after SIGINT", rc);
  return 0;
}

/* ---- exit ---------------------------------------------------------------- */

static int sock2 = -1, ep2 = -1;

static void* block_recv(void* arg)
{
  char b[64];
  ssize_t n;

  (void)arg;
  do   /* EINTR: e.g. LeakSanitizer stopping the threads at exit */
    n = recv(sock_fd, b, sizeof(b), 0);
  while (n < 0 && errno == EINTR);
  printf("ERROR recv returned %zd (%s)\n", n, n < 0 ? strerror(errno) : "-");
  return NULL;
}

static void* block_epoll(void* arg)
{
  struct epoll_event e;
  int n;

  (void)arg;
  memset(&e, 0, sizeof(e));
  do   /* EINTR also after a stop and resume (signal(7)) */
    n = epoll_wait(ep2, &e, 1, -1);
  while (n < 0 && errno == EINTR);
  printf("ERROR epoll_wait returned %d (%s) events 0x%x data %d\n", n,
         n < 0 ? strerror(errno) : "-", e.events, e.data.fd);
  return NULL;
}

static void* block_recvfrom(void* arg)
{
  char b[64];
  ssize_t n;

  (void)arg;
  do
    n = recvfrom(sock2, b, sizeof(b), 0, NULL, NULL);
  while (n < 0 && errno == EINTR);
  printf("ERROR recvfrom returned %zd (%s)\n", n,
         n < 0 ? strerror(errno) : "-");
  return NULL;
}

static int cmd_exit(int port, int count, const char* how)
{
  struct epoll_event ev = { .events = EPOLLIN };
  pthread_t th[3];
  char buf[2048];
  int i;

  sock_fd = udp_bound(port);
  sock2 = udp_bound(port + 1);
  ep2 = epoll_create1(0);
  ev.data.fd = sock2;
  if (ep2 < 0 || epoll_ctl(ep2, EPOLL_CTL_ADD, sock2, &ev) < 0)
    die("epoll");
  printf("READY\n");
  fflush(stdout);
  for (i = 0; i < count; i++) {
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(sock_fd, buf, sizeof(buf), 0,
                         (struct sockaddr*)&from, &fl);
    if (n < 0)
      die("recvfrom");
    if (sendto(sock_fd, buf, (size_t)n, 0, (struct sockaddr*)&from, fl) < 0)
      die("sendto");
  }
  if (pthread_create(&th[0], NULL, block_recv, NULL) ||
      pthread_create(&th[1], NULL, block_epoll, NULL) ||
      pthread_create(&th[2], NULL, block_recvfrom, NULL))
    die("pthread_create");
  printf("THREADS\n");
  fflush(stdout);
  sleep_ms(300);
  if (!strcmp(how, "_exit"))
    _exit(9);
  exit(7);
}

int main(int argc, char** argv)
{
  if (argc == 5 && !strcmp(argv[1], "jump"))
    return cmd_jump(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  if (argc == 3 && !strcmp(argv[1], "intr"))
    return cmd_intr(atoi(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "exit"))
    return cmd_exit(atoi(argv[2]), atoi(argv[3]), argv[4]);
  fprintf(stderr, "usage: preload_sig jump PORT ROUNDS COUNT | intr PORT | "
          "exit PORT COUNT exit|_exit\n");
  return 2;
}
