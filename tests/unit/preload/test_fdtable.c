/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fdtable: transparent mode's fd table without a network. The test
 * links the preload objects, so its own socket, dup, dup2, dup3, fcntl,
 * close, bind and epoll calls go through them as a preloaded program's
 * would. ANYLOAD_INTERFACE names an interface that does not exist (set by
 * a constructor that runs before the library's), so AF_INET datagram
 * sockets get an object and the stack fails to start at the first bind.
 * Checks: which sockets get an object; dup, F_DUPFD(_CLOEXEC), dup2 and
 * dup3 share it and count the fd numbers (refs), dup2/dup3 over an fd
 * with an object release that one, dup2 of a kernel fd over one takes
 * the object off it, close releases, dup2(fd, fd) changes nothing; an
 * epoll set forgets a closed member; a bind that cannot start the stack
 * leaves the socket with the kernel (EF_NO_FAIL=1) or fails with ENODEV
 * (EF_NO_FAIL=0); O_NONBLOCK through fcntl and FIONBIO is tracked.
 */
#include "preload/pl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
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

static int udp(void)
{
  int fd = socket(AF_INET, SOCK_DGRAM, 0);

  CHECK(fd, >=, 0);
  return fd;
}

static void test_which_sockets(void)
{
  int u = udp();
  int u2 = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  int x = socket(AF_UNIX, SOCK_DGRAM, 0);
  int r = socket(AF_INET6, SOCK_DGRAM, 0);
  int p[2];

  CHECK_PTR(pl_obj_of(u), !=, NULL);
  CHECK(pl_obj_of(u)->kind, ==, PL_UDP);
  CHECK(pl_obj_of(u)->refs, ==, 1);
  CHECK(pl_obj_of(u)->sd, ==, -1);
  CHECK(pl_obj_of(u)->flags & PL_F_DECIDED, ==, 0);
  CHECK_PTR(pl_obj_of(u2), !=, NULL);
  CHECK_PTR(pl_obj_of(x), ==, NULL);
  if (r >= 0)
    CHECK_PTR(pl_obj_of(r), ==, NULL);
  CHECK(pipe(p), ==, 0);
  CHECK_PTR(pl_obj_of(p[0]), ==, NULL);
  CHECK_PTR(pl_obj_of(-1), ==, NULL);
  CHECK_PTR(pl_obj_of(PL_MAX_FDS), ==, NULL);
  close(u);
  close(u2);
  close(x);
  if (r >= 0)
    close(r);
  close(p[0]);
  close(p[1]);
  CHECK_PTR(pl_obj_of(u), ==, NULL);
  CHECK_PTR(pl_obj_of(u2), ==, NULL);
}

static void test_dup_family(void)
{
  int s = udp();
  struct pl_obj* o = pl_obj_of(s);
  int d, f1, f2, t;

  d = dup(s);
  CHECK(d, >=, 0);
  CHECK_PTR(pl_obj_of(d), ==, o);
  CHECK(o->refs, ==, 2);
  f1 = fcntl(s, F_DUPFD, 200);
  CHECK(f1, >=, 200);
  CHECK_PTR(pl_obj_of(f1), ==, o);
  f2 = fcntl(s, F_DUPFD_CLOEXEC, 300);
  CHECK(f2, >=, 300);
  CHECK_PTR(pl_obj_of(f2), ==, o);
  CHECK(o->refs, ==, 4);
  /* dup2 onto a free number, and onto itself. */
  t = 400;
  CHECK(dup2(s, t), ==, t);
  CHECK_PTR(pl_obj_of(t), ==, o);
  CHECK(o->refs, ==, 5);
  CHECK(dup2(s, s), ==, s);
  CHECK(o->refs, ==, 5);
  CHECK(dup3(s, 401, O_CLOEXEC), ==, 401);
  CHECK(o->refs, ==, 6);
  /* Closing numbers one by one: the object lives while one is left. */
  close(d);
  CHECK_PTR(pl_obj_of(d), ==, NULL);
  CHECK(o->refs, ==, 5);
  close(f1);
  close(f2);
  close(401);
  close(s);
  CHECK(o->refs, ==, 1);
  CHECK_PTR(pl_obj_of(t), ==, o);
  close(t);   /* the last: freed (ASan checks nothing uses it after) */
  CHECK_PTR(pl_obj_of(t), ==, NULL);
}

static void test_dup2_over(void)
{
  int a = udp(), b = udp();
  struct pl_obj *oa = pl_obj_of(a), *ob = pl_obj_of(b);
  int p[2], keep;

  CHECK_PTR(oa, !=, ob);
  keep = dup(b);
  CHECK(ob->refs, ==, 2);
  /* dup2 over b: b's object loses b (one fd left), b now shows a's. */
  CHECK(dup2(a, b), ==, b);
  CHECK_PTR(pl_obj_of(b), ==, oa);
  CHECK(oa->refs, ==, 2);
  CHECK(ob->refs, ==, 1);
  CHECK_PTR(pl_obj_of(keep), ==, ob);
  /* dup3 over the last fd of ob: ob goes. */
  CHECK(dup3(a, keep, 0), ==, keep);
  CHECK_PTR(pl_obj_of(keep), ==, oa);
  CHECK(oa->refs, ==, 3);
  /* A kernel fd over a: a has no object any more. */
  CHECK(pipe(p), ==, 0);
  CHECK(dup2(p[0], a), ==, a);
  CHECK_PTR(pl_obj_of(a), ==, NULL);
  CHECK(oa->refs, ==, 2);
  /* A failed dup2 (bad source) changes nothing. */
  CHECK(dup2(-1, b), ==, -1);
  CHECK(errno, ==, EBADF);
  CHECK_PTR(pl_obj_of(b), ==, oa);
  close(a);
  close(b);
  close(keep);
  close(p[0]);
  close(p[1]);
}

static void test_epoll_forgets(void)
{
  int ep = epoll_create1(0), s = udp(), d;
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = 0 };
  struct pl_obj* eo;

  CHECK(ep, >=, 0);
  eo = pl_obj_of(ep);
  CHECK_PTR(eo, !=, NULL);
  CHECK(eo->kind, ==, PL_EPOLL);
  ev.data.fd = s;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), ==, 0);
  CHECK(eo->n_items, ==, 1);
  CHECK(eo->items[0].fd, ==, s);
  ev.events = EPOLLIN | EPOLLET;
  CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev), ==, 0);
  CHECK(eo->items[0].events, ==, EPOLLIN | EPOLLET);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL), ==, 0);
  CHECK(eo->n_items, ==, 0);
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), ==, 0);
  /* A failed ADD (already there) adds nothing. */
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), ==, -1);
  CHECK(errno, ==, EEXIST);
  CHECK(eo->n_items, ==, 1);
  d = dup(s);
  close(s);
  CHECK(eo->n_items, ==, 0);
  close(d);
  close(ep);
  CHECK_PTR(pl_obj_of(ep), ==, NULL);
}

static void test_nonblock_flags(void)
{
  int s = udp(), on = 1, off = 0;
  int n = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct pl_obj* o = pl_obj_of(s);

  CHECK(pl_obj_of(n)->flags & PL_F_NONBLOCK, !=, 0);
  CHECK(o->flags & PL_F_NONBLOCK, ==, 0);
  CHECK(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK), ==, 0);
  CHECK(o->flags & PL_F_NONBLOCK, !=, 0);
  CHECK(fcntl(s, F_SETFL, 0), ==, 0);
  CHECK(o->flags & PL_F_NONBLOCK, ==, 0);
  CHECK(ioctl(s, FIONBIO, &on), ==, 0);
  CHECK(o->flags & PL_F_NONBLOCK, !=, 0);
  CHECK(ioctl(s, FIONBIO, &off), ==, 0);
  CHECK(o->flags & PL_F_NONBLOCK, ==, 0);
  close(s);
  close(n);
}

static void test_stack_cannot_start(void)
{
  struct sockaddr_in a = { .sin_family = AF_INET };
  int s = udp(), s2;
  struct pl_obj* o = pl_obj_of(s);

  /* EF_NO_FAIL=1 (default): bind works, the socket is the kernel's. */
  CHECK(pl_cfg.no_fail, ==, 1);
  CHECK(bind(s, (struct sockaddr*)&a, sizeof(a)), ==, 0);
  CHECK(o->flags & PL_F_DECIDED, !=, 0);
  CHECK(o->sd, ==, -1);
  CHECK_PTR(pl_stack_if_up(), ==, NULL);
  /* EF_NO_FAIL=0: the call that needs the stack fails with its errno. */
  pl_cfg.no_fail = 0;
  s2 = udp();
  errno = 0;
  CHECK(bind(s2, (struct sockaddr*)&a, sizeof(a)), ==, -1);
  CHECK(errno, ==, ENODEV);
  pl_cfg.no_fail = 1;
  close(s);
  close(s2);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_which_sockets),
  UNIT_TEST(test_dup_family),
  UNIT_TEST(test_dup2_over),
  UNIT_TEST(test_epoll_forgets),
  UNIT_TEST(test_nonblock_flags),
  UNIT_TEST(test_stack_cannot_start),
};
UNIT_TEST_MAIN(tests)
