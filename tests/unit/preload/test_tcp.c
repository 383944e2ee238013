/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_tcp: transparent mode's TCP sockets without a network. The test
 * links the preload objects, so its own socket, listen, accept, connect,
 * send, recv, epoll and close calls go through them as a preloaded
 * program's would. ANYLOAD_INTERFACE names an interface that does not
 * exist, so AF_INET stream sockets get an object and the stack fails to
 * start at the first listen or connect. Checks: which sockets get a TCP
 * object (and SOCK_NONBLOCK); a listen that cannot start the stack leaves
 * the listener with the kernel and it serves a loopback connection
 * (EF_NO_FAIL=1), or fails with ENODEV (EF_NO_FAIL=0); a connect to a
 * loopback address is the kernel's without asking for the stack; a
 * connection in the role a forked child gives it (ORPHAN) fails recv,
 * send, write, shutdown and getpeername with ENOTCONN and raises no
 * SIGPIPE; an accelerated connection (its role set by hand) is kept out of
 * the kernel's epoll set, with ADD/MOD/DEL/EEXIST/ENOENT as the kernel
 * gives them; EPOLLET of a TCP member (pl_tcp_edge) reports each bit once
 * until the program meets EAGAIN (et_gen), again after the bit fell and
 * rose, and anew after MOD.
 */
#include "preload/pl_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit_test.h"

__attribute__((constructor(101))) static void set_env(void)
{
  setenv("ANYLOAD_INTERFACE", "alnosuchif0", 1);
  setenv("ANYLOAD_LOG", "0", 1);
  unsetenv("ANYLOAD_NO_FAIL");
  unsetenv("EF_NO_FAIL");
}

static void test_which_sockets(void)
{
  int t = socket(AF_INET, SOCK_STREAM, 0);
  int n = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
  int s = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
  int x = socket(AF_UNIX, SOCK_STREAM, 0);

  CHECK(t, >=, 0);
  CHECK_PTR(pl_obj_of(t), !=, NULL);
  CHECK(pl_obj_of(t)->kind, ==, PL_TCP);
  CHECK(pl_obj_of(t)->tcp, ==, PL_TCP_NEW);
  CHECK(pl_obj_of(t)->sd, ==, -1);
  CHECK(pl_obj_of(t)->flags & PL_F_NONBLOCK, ==, 0);
  CHECK_PTR(pl_obj_of(n), !=, NULL);
  CHECK(pl_obj_of(n)->flags & PL_F_NONBLOCK, !=, 0);
  if (s >= 0) {
    CHECK_PTR(pl_obj_of(s), ==, NULL);
    close(s);
  }
  CHECK_PTR(pl_obj_of(x), ==, NULL);
  close(t);
  close(n);
  close(x);
  CHECK_PTR(pl_obj_of(t), ==, NULL);
}

static void loopback_pair(int ls, int* c, int* a)
{
  struct sockaddr_in sin;
  socklen_t l = sizeof(sin);

  CHECK(getsockname(ls, (struct sockaddr*)&sin, &l), ==, 0);
  *c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(*c, >=, 0);
  CHECK(connect(*c, (struct sockaddr*)&sin, sizeof(sin)), ==, 0);
  *a = accept(ls, NULL, NULL);
  CHECK(*a, >=, 0);
}

static void test_listen_without_stack(void)
{
  struct sockaddr_in lo = { .sin_family = AF_INET };
  int ls = socket(AF_INET, SOCK_STREAM, 0), ls2, c, a;
  char b[8];

  /* EF_NO_FAIL=1: the listener is the kernel's and serves. */
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(ls, (struct sockaddr*)&lo, sizeof(lo)), ==, 0);
  CHECK(listen(ls, 4), ==, 0);
  CHECK(pl_obj_of(ls)->tcp, ==, PL_TCP_KERNEL);
  CHECK(pl_obj_of(ls)->sd, ==, -1);
  CHECK_PTR(pl_stack_if_up(), ==, NULL);
  loopback_pair(ls, &c, &a);
  /* A connection to a loopback address is the kernel's at once. */
  CHECK(pl_obj_of(c)->tcp, ==, PL_TCP_KERNEL);
  CHECK_PTR(pl_obj_of(a), ==, NULL);   /* accepted by the kernel */
  CHECK(send(c, "ping", 4, 0), ==, 4);
  CHECK(recv(a, b, 4, MSG_WAITALL), ==, 4);
  CHECK(memcmp(b, "ping", 4), ==, 0);
  close(a);
  close(c);
  close(ls);
  /* EF_NO_FAIL=0: listen fails with the stack's error. */
  pl_cfg.no_fail = 0;
  ls2 = socket(AF_INET, SOCK_STREAM, 0);
  errno = 0;
  CHECK(listen(ls2, 4), ==, -1);
  CHECK(errno, ==, ENODEV);
  pl_cfg.no_fail = 1;
  close(ls2);
}

static void test_orphan(void)
{
  struct sockaddr_in sin;
  socklen_t l = sizeof(sin);
  struct sigaction sa = { .sa_handler = SIG_DFL }, old;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  char b[4];

  /* As a forked child finds an accelerated connection of its parent;
   * SIGPIPE left at its default: a send that raised it would kill us. */
  sigaction(SIGPIPE, &sa, &old);
  pl_obj_of(s)->tcp = PL_TCP_ORPHAN;
  errno = 0;
  CHECK(recv(s, b, sizeof(b), 0), ==, -1);
  CHECK(errno, ==, ENOTCONN);
  errno = 0;
  CHECK(send(s, "x", 1, 0), ==, -1);
  CHECK(errno, ==, ENOTCONN);
  errno = 0;
  CHECK(write(s, "x", 1), ==, -1);
  CHECK(errno, ==, ENOTCONN);
  errno = 0;
  CHECK(shutdown(s, SHUT_RDWR), ==, -1);
  CHECK(errno, ==, ENOTCONN);
  errno = 0;
  CHECK(getpeername(s, (struct sockaddr*)&sin, &l), ==, -1);
  CHECK(errno, ==, ENOTCONN);
  sigaction(SIGPIPE, &old, NULL);
  close(s);
}

static void test_epoll_keeps_conn_out_of_kernel(void)
{
  int ep = epoll_create1(0), s = socket(AF_INET, SOCK_STREAM, 0);
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, out[4];
  struct pl_obj* o = pl_obj_of(s);

  /* An accelerated connection (no stack here: its role set by hand); its
   * unconnected kernel socket would report EPOLLOUT | EPOLLHUP. */
  o->tcp = PL_TCP_CONN;
  o->sd = 7;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), ==, 0);
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), ==, -1);
  CHECK(errno, ==, EEXIST);
  CHECK(pl_obj_of(ep)->n_items, ==, 1);
  CHECK(pl_obj_of(ep)->items[0].no_kernel, ==, 1);
  /* The kernel's set has nothing: nothing is reported. */
  CHECK(epoll_wait(ep, out, 4, 0), ==, 0);
  ev.events = EPOLLIN;
  CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev), ==, 0);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL), ==, 0);
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL), ==, -1);
  CHECK(errno, ==, ENOENT);
  CHECK(pl_obj_of(ep)->n_items, ==, 0);
  o->sd = -1;   /* nothing to close in a stack */
  close(s);
  close(ep);
}

static void test_edge(void)
{
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct pl_obj* o = pl_obj_of(s);
  struct pl_ep_item it = { .fd = s, .events = EPOLLIN | EPOLLOUT | EPOLLET };

  it.et_gen = o->et_gen;
  CHECK(pl_tcp_edge(&it, EPOLLOUT), ==, EPOLLOUT);
  CHECK(pl_tcp_edge(&it, EPOLLOUT), ==, 0);
  CHECK(pl_tcp_edge(&it, EPOLLOUT | EPOLLIN), ==, EPOLLIN);
  CHECK(pl_tcp_edge(&it, EPOLLOUT | EPOLLIN), ==, 0);
  /* The program met EAGAIN: every bit may be reported again. */
  o->et_gen++;
  CHECK(pl_tcp_edge(&it, EPOLLOUT | EPOLLIN), ==, EPOLLOUT | EPOLLIN);
  /* POLLOUT fell (send buffer full) and rose. */
  CHECK(pl_tcp_edge(&it, EPOLLIN), ==, 0);
  CHECK(pl_tcp_edge(&it, EPOLLIN | EPOLLOUT), ==, EPOLLOUT);
  /* MOD clears the mask (fd_epoll.c). */
  it.et_mask = 0;
  CHECK(pl_tcp_edge(&it, EPOLLIN | EPOLLOUT | EPOLLRDHUP), ==,
        EPOLLIN | EPOLLOUT | EPOLLRDHUP);
  close(s);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_which_sockets),
  UNIT_TEST(test_listen_without_stack),
  UNIT_TEST(test_orphan),
  UNIT_TEST(test_epoll_keeps_conn_out_of_kernel),
  UNIT_TEST(test_edge),
};

UNIT_TEST_MAIN(tests)
