/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_tcp_share_msg: the request and answer of the lazy TCP hand-over
 * (preload/tcp_share_msg.c) on a real SOCK_SEQPACKET socketpair, without
 * a network: a request reaches the server with the asker's reply socket
 * and the answer reaches that asker alone, also with several askers at
 * once (threads, and a forked process that inherited the channel) answered
 * in another order than they asked; an asker learns at once that the
 * server is gone or dropped its request, and gives up at its timeout when
 * nobody answers; malformed requests (sizes, magic, op, no reply socket,
 * two, one that is not a SEQPACKET socket, an empty datagram) and answers
 * (size, magic, id) are refused, and no descriptor leaks.
 */
#include "preload/pl_tcp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_test.h"

__attribute__((constructor(101))) static void set_env(void)
{
  setenv("ANYLOAD_INTERFACE", "alnosuchif0", 1);
  setenv("ANYLOAD_LOG", "0", 1);
}

static int n_fds(void)
{
  DIR* d = opendir("/proc/self/fd");
  int n = 0;

  CHECK(d != NULL, ==, 1);
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

/* ASK: pl_share_ask where no connection may come with the answer. */
static struct pl_share_move* no_moves;
static int n_no_moves;
#define ASK(chan, rq, t, an)                                              \
  pl_share_ask(chan, rq, t, an, &no_moves, &n_no_moves)

static void chan_pair(int p[2])
{
  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p), ==, 0);
}

static struct pl_share_req req(uint64_t id)
{
  struct pl_share_req rq = { .magic = PL_SHARE_MAGIC, .op = PL_SHARE_TAKE,
                             .fd = 5, .sd = 3, .id = id };
  return rq;
}

/* recv_wait: the next request on chan (waiting up to 2 s). */
static int recv_wait(int chan, struct pl_share_req* rq, int* reply)
{
  struct pollfd p = { .fd = chan, .events = POLLIN };

  CHECK(poll(&p, 1, 2000), ==, 1);
  return pl_share_recv(chan, rq, reply);
}

struct asker {
  int chan;
  uint64_t id;
  int64_t timeout_ns;
  int rc;
  struct pl_share_ans an;
  struct pl_share_move* moves;
  int n_moves;
};

static void* ask_thread(void* arg)
{
  struct asker* a = arg;
  struct pl_share_req rq = req(a->id);

  a->rc = pl_share_ask(a->chan, &rq, a->timeout_ns, &a->an, &a->moves,
                       &a->n_moves);
  return NULL;
}

static void test_tcp_share_msg_roundtrip(void)
{
  struct asker a = { .id = 42, .timeout_ns = 2000000000ll };
  struct pl_share_req rq;
  pthread_t t;
  int p[2], reply, before = n_fds();

  chan_pair(p);
  a.chan = p[1];
  CHECK(pthread_create(&t, NULL, ask_thread, &a), ==, 0);
  CHECK(recv_wait(p[0], &rq, &reply), ==, 1);
  CHECK(rq.magic, ==, PL_SHARE_MAGIC);
  CHECK(rq.op, ==, PL_SHARE_TAKE);
  CHECK(rq.fd, ==, 5);
  CHECK(rq.sd, ==, 3);
  CHECK(rq.id, ==, 42);
  CHECK(reply, >=, 0);
  CHECK(pl_share_answer(reply, &rq, PL_SHARE_KERNEL, NULL, 0), ==, 0);
  CHECK(pthread_join(t, NULL), ==, 0);
  CHECK(a.rc, ==, 0);
  CHECK(a.an.result, ==, PL_SHARE_KERNEL);
  CHECK(a.an.id, ==, 42);
  /* Nothing else queued. */
  CHECK(pl_share_recv(p[0], &rq, &reply), ==, -EAGAIN);
  close(p[0]);
  close(p[1]);
  CHECK(n_fds(), ==, before);
}

/* A listener's queued connections come after the answer, in order, each
 * with its unread bytes (none, a few, the most a message may carry); a
 * connection message that is not one (another request's id, a size that
 * is not its header's) leaves the answer standing and no connection
 * kept. */
static void test_tcp_share_msg_moves(void)
{
  static uint8_t big[PL_SHARE_CONN_MAX_BYTES];
  struct asker a = { .id = 77, .timeout_ns = 2000000000ll };
  struct pl_share_move mv[3];
  struct pl_share_req rq;
  struct pl_share_conn bad;
  struct pl_share_ans an;
  pthread_t t;
  int p[2], reply, k, before = n_fds();
  unsigned lens[3] = { 0, 10, PL_SHARE_CONN_MAX_BYTES };

  for (k = 0; k < (int)sizeof(big); k++)
    big[k] = (uint8_t)(k * 7 + 1);
  memset(mv, 0, sizeof(mv));
  for (k = 0; k < 3; k++) {
    mv[k].ex.state = 1;
    mv[k].ex.rcv_nxt = 1000u + (unsigned)k;
    mv[k].ex.recv_len = lens[k];
    mv[k].bytes = lens[k] ? big : NULL;
  }
  chan_pair(p);
  a.chan = p[1];
  CHECK(pthread_create(&t, NULL, ask_thread, &a), ==, 0);
  CHECK(recv_wait(p[0], &rq, &reply), ==, 1);
  CHECK(pl_share_answer(reply, &rq, PL_SHARE_KERNEL, mv, 3), ==, 0);
  CHECK(pthread_join(t, NULL), ==, 0);
  CHECK(a.rc, ==, 0);
  CHECK(a.an.n_conns, ==, 3);
  CHECK(a.n_moves, ==, 3);
  for (k = 0; k < 3; k++) {
    CHECK(a.moves[k].ex.rcv_nxt, ==, 1000u + (unsigned)k);
    CHECK(a.moves[k].ex.recv_len, ==, lens[k]);
    CHECK(a.moves[k].bytes == NULL, ==, lens[k] == 0);
    if (lens[k])
      CHECK(memcmp(a.moves[k].bytes, big, lens[k]), ==, 0);
  }
  pl_share_moves_free(a.moves, a.n_moves);

  /* A connection message for another request. */
  a.moves = NULL;
  a.n_moves = 0;
  CHECK(pthread_create(&t, NULL, ask_thread, &a), ==, 0);
  CHECK(recv_wait(p[0], &rq, &reply), ==, 1);
  an = (struct pl_share_ans){ .magic = PL_SHARE_MAGIC,
                              .result = PL_SHARE_KERNEL, .id = rq.id,
                              .n_conns = 1 };
  CHECK(send(reply, &an, sizeof(an), 0), ==, (ssize_t)sizeof(an));
  memset(&bad, 0, sizeof(bad));
  bad.magic = PL_SHARE_MAGIC;
  bad.op = PL_SHARE_CONN;
  bad.id = rq.id + 1;
  CHECK(send(reply, &bad, sizeof(bad), 0), ==, (ssize_t)sizeof(bad));
  close(reply);
  CHECK(pthread_join(t, NULL), ==, 0);
  CHECK(a.rc, ==, 0);
  CHECK(a.an.result, ==, PL_SHARE_KERNEL);
  CHECK(a.n_moves, ==, 0);
  CHECK(a.moves == NULL, ==, 1);

  /* Two announced; the first good, the second says 10 bytes and carries
   * none: neither is kept. */
  CHECK(pthread_create(&t, NULL, ask_thread, &a), ==, 0);
  CHECK(recv_wait(p[0], &rq, &reply), ==, 1);
  an.id = rq.id;
  an.n_conns = 2;
  CHECK(send(reply, &an, sizeof(an), 0), ==, (ssize_t)sizeof(an));
  bad.id = rq.id;
  CHECK(send(reply, &bad, sizeof(bad), 0), ==, (ssize_t)sizeof(bad));
  bad.ex.recv_len = 10;
  CHECK(send(reply, &bad, sizeof(bad), 0), ==, (ssize_t)sizeof(bad));
  close(reply);
  CHECK(pthread_join(t, NULL), ==, 0);
  CHECK(a.rc, ==, 0);
  CHECK(a.n_moves, ==, 0);
  CHECK(a.moves == NULL, ==, 1);
  close(p[0]);
  close(p[1]);
  CHECK(n_fds(), ==, before);
}

/* What a parent posts on its end of the channel at its exit (without
 * waiting: the rest is refused once the queue is full) is read on the
 * child's end after the parent is gone, message by message with its
 * listener's id; a malformed one is refused and the next still read. */
static void test_tcp_share_msg_posted(void)
{
  struct pl_share_move mv = { .ex = { .rcv_nxt = 5, .recv_len = 3 },
                              .bytes = (uint8_t*)"abc" }, got;
  uint32_t junk = 7;
  uint64_t id;
  int p[2], k, posted = 0, before = n_fds();

  chan_pair(p);
  CHECK(pl_share_send_conn(p[0], 11, &mv, 0), ==, 0);
  CHECK(send(p[0], &junk, sizeof(junk), 0), ==, (ssize_t)sizeof(junk));
  mv.ex.recv_len = 0;
  CHECK(pl_share_send_conn(p[0], 12, &mv, 0), ==, 0);
  /* The queue fills up: a full queue refuses at once. */
  for (k = 0; k < 100000 && pl_share_send_conn(p[0], 13, &mv, 0) == 0; k++)
    posted++;
  CHECK(k, <, 100000);
  CHECK(pl_share_send_conn(p[0], 13, &mv, 0), ==, -ETIMEDOUT);
  close(p[0]);
  CHECK(pl_share_recv_posted(p[1], &got, &id), ==, 0);
  CHECK(id, ==, 11);
  CHECK(got.ex.rcv_nxt, ==, 5);
  CHECK(got.ex.recv_len, ==, 3);
  CHECK(memcmp(got.bytes, "abc", 3), ==, 0);
  free(got.bytes);
  CHECK(pl_share_recv_posted(p[1], &got, &id), ==, -EBADMSG);
  CHECK(pl_share_recv_posted(p[1], &got, &id), ==, 0);
  CHECK(id, ==, 12);
  CHECK(got.bytes == NULL, ==, 1);
  for (k = 0; k < posted; k++) {
    CHECK(pl_share_recv_posted(p[1], &got, &id), ==, 0);
    CHECK(id, ==, 13);
  }
  CHECK(pl_share_recv_posted(p[1], &got, &id), ==, -EAGAIN);
  close(p[1]);
  CHECK(n_fds(), ==, before);
}

/* Three askers at once: two threads and a process that inherited the
 * channel (a grandchild's case); answered last first, each with a result
 * of its own id: every one reads its own. */
static void test_tcp_share_msg_private_replies(void)
{
  struct asker a[2] = { { .id = 7, .timeout_ns = 3000000000ll },
                        { .id = 8, .timeout_ns = 3000000000ll } };
  struct pl_share_req rq[3];
  pthread_t t[2];
  int p[2], reply[3], k, st;
  pid_t pid;

  chan_pair(p);
  pid = fork();
  CHECK(pid, >=, 0);
  if (pid == 0) {
    struct pl_share_req r = req(9);
    struct pl_share_ans an;
    close(p[0]);
    if (ASK(p[1], &r, 3000000000ll, &an) != 0)
      _exit(1);
    _exit(an.result == (int)(9 % 3) + 1 && an.id == 9 ? 0 : 2);
  }
  for (k = 0; k < 2; k++) {
    a[k].chan = p[1];
    CHECK(pthread_create(&t[k], NULL, ask_thread, &a[k]), ==, 0);
  }
  for (k = 0; k < 3; k++)
    CHECK(recv_wait(p[0], &rq[k], &reply[k]), ==, 1);
  for (k = 2; k >= 0; k--)
    CHECK(pl_share_answer(reply[k], &rq[k], (int)(rq[k].id % 3) + 1, NULL,
                          0), ==, 0);
  for (k = 0; k < 2; k++) {
    CHECK(pthread_join(t[k], NULL), ==, 0);
    CHECK(a[k].rc, ==, 0);
    CHECK(a[k].an.id, ==, a[k].id);
    CHECK(a[k].an.result, ==, (int)(a[k].id % 3) + 1);
  }
  CHECK(waitpid(pid, &st, 0), ==, pid);
  CHECK(WIFEXITED(st), ==, 1);
  CHECK(WEXITSTATUS(st), ==, 0);
  close(p[0]);
  close(p[1]);
}

static void test_tcp_share_msg_server_gone(void)
{
  struct pl_share_req rq = req(1);
  struct pl_share_ans an;
  int64_t t0;
  int p[2];

  chan_pair(p);
  close(p[0]);
  t0 = pl_now();
  CHECK(ASK(p[1], &rq, 2000000000ll, &an), ==, -EPIPE);
  CHECK(pl_now() - t0, <, 500000000ll);
  close(p[1]);
}

/* The server dies with the request queued: the reply socket in its queue
 * goes with it, and the asker's wait ends at once. */
static void* close_later(void* arg)
{
  int fd = *(int*)arg;
  struct pollfd p = { .fd = fd, .events = POLLIN };

  poll(&p, 1, 2000);
  close(fd);
  return NULL;
}

static void test_tcp_share_msg_server_dies_queued(void)
{
  struct pl_share_req rq = req(1);
  struct pl_share_ans an;
  pthread_t t;
  int64_t t0;
  int p[2];

  chan_pair(p);
  CHECK(pthread_create(&t, NULL, close_later, &p[0]), ==, 0);
  t0 = pl_now();
  CHECK(ASK(p[1], &rq, 2000000000ll, &an), ==, -EPIPE);
  CHECK(pl_now() - t0, <, 1000000000ll);
  CHECK(pthread_join(t, NULL), ==, 0);
  close(p[1]);
}

static void test_tcp_share_msg_timeout(void)
{
  struct pl_share_req rq = req(1);
  struct pl_share_ans an;
  int64_t t0, dt;
  int p[2], reply;

  chan_pair(p);
  t0 = pl_now();
  CHECK(ASK(p[1], &rq, 100000000ll, &an), ==, -ETIMEDOUT);
  dt = pl_now() - t0;
  CHECK(dt, >=, 100000000ll);
  CHECK(dt, <, 1000000000ll);
  /* The request stayed queued; its reply socket is dead: an answer to it
   * fails quietly. */
  CHECK(pl_share_recv(p[0], &rq, &reply), ==, 1);
  CHECK(pl_share_answer(reply, &rq, PL_SHARE_KERNEL, NULL, 0), <, 0);
  close(p[0]);
  close(p[1]);
}

/* bad_answer: the server answers with raw bytes (len) instead. */
struct bad {
  int chan;
  const void* bytes;
  size_t len;
};

static void* bad_server(void* arg)
{
  struct bad* b = arg;
  struct pl_share_req rq;
  int reply;

  CHECK(recv_wait(b->chan, &rq, &reply), ==, 1);
  if (b->len)
    CHECK(send(reply, b->bytes, b->len, 0), ==, (ssize_t)b->len);
  close(reply);   /* len 0: dropped unanswered */
  return NULL;
}

static int ask_bad(const void* bytes, size_t len)
{
  struct pl_share_req rq = req(77);
  struct pl_share_ans an;
  struct bad b = { .bytes = bytes, .len = len };
  pthread_t t;
  int p[2], rc;

  chan_pair(p);
  b.chan = p[0];
  CHECK(pthread_create(&t, NULL, bad_server, &b), ==, 0);
  rc = ASK(p[1], &rq, 2000000000ll, &an);
  CHECK(pthread_join(t, NULL), ==, 0);
  close(p[0]);
  close(p[1]);
  return rc;
}

static void test_tcp_share_msg_bad_answers(void)
{
  struct pl_share_ans an = { .magic = PL_SHARE_MAGIC,
                             .result = PL_SHARE_KERNEL, .id = 77 };
  struct pl_share_ans wrong;
  char longer[sizeof(an) + 8];
  int before = n_fds();

  CHECK(ask_bad(&an, sizeof(an)), ==, 0);
  CHECK(ask_bad(&an, 0), ==, -EPIPE);            /* dropped unanswered */
  CHECK(ask_bad(&an, 4), ==, -EBADMSG);          /* short */
  memset(longer, 0, sizeof(longer));
  memcpy(longer, &an, sizeof(an));
  CHECK(ask_bad(longer, sizeof(longer)), ==, -EBADMSG);
  wrong = an;
  wrong.magic ^= 1;
  CHECK(ask_bad(&wrong, sizeof(wrong)), ==, -EBADMSG);
  wrong = an;
  wrong.id = 78;                                  /* someone else's */
  CHECK(ask_bad(&wrong, sizeof(wrong)), ==, -EBADMSG);
  CHECK(n_fds(), ==, before);
}

/* send_raw: bytes with nfd descriptors attached (fds). */
static void send_raw(int chan, const void* bytes, size_t len, const int* fds,
                     int nfd)
{
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(4 * sizeof(int))];
  } ctl;
  struct iovec iov = { (void*)bytes, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

  memset(&ctl, 0, sizeof(ctl));
  if (nfd) {
    struct cmsghdr* c;
    m.msg_control = ctl.buf;
    m.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)nfd * sizeof(int));
  }
  CHECK(sendmsg(chan, &m, 0), ==, (ssize_t)len);
}

static void test_tcp_share_msg_bad_requests(void)
{
  struct pl_share_req rq = req(5), bad, got;
  char longer[sizeof(rq) + 8];
  int p[2], r[2], r2[2], pipefd[2], reply, before;

  chan_pair(p);
  chan_pair(r);
  chan_pair(r2);
  CHECK(pipe2(pipefd, O_CLOEXEC), ==, 0);
  before = n_fds();
  send_raw(p[1], &rq, 4, &r[1], 1);                       /* short */
  memset(longer, 0, sizeof(longer));
  memcpy(longer, &rq, sizeof(rq));
  send_raw(p[1], longer, sizeof(longer), &r[1], 1);       /* long */
  bad = rq;
  bad.magic = 0;
  send_raw(p[1], &bad, sizeof(bad), &r[1], 1);            /* magic */
  bad = rq;
  bad.op = 99;
  send_raw(p[1], &bad, sizeof(bad), &r[1], 1);            /* op */
  send_raw(p[1], &rq, sizeof(rq), NULL, 0);               /* no reply */
  {
    int two[2] = { r[1], r2[1] };
    send_raw(p[1], &rq, sizeof(rq), two, 2);              /* two */
  }
  send_raw(p[1], &rq, sizeof(rq), &pipefd[1], 1);         /* a pipe */
  send_raw(p[1], &rq, 0, NULL, 0);                        /* empty */
  for (int k = 0; k < 8; k++) {
    reply = -2;
    CHECK(pl_share_recv(p[0], &got, &reply), ==, -EBADMSG);
    CHECK(reply, ==, -1);
  }
  CHECK(pl_share_recv(p[0], &got, &reply), ==, -EAGAIN);
  /* Every descriptor that came with them was closed. */
  CHECK(n_fds(), ==, before);
  /* A good one still goes through after them. */
  send_raw(p[1], &rq, sizeof(rq), &r[1], 1);
  CHECK(pl_share_recv(p[0], &got, &reply), ==, 1);
  CHECK(got.id, ==, 5);
  CHECK(pl_share_answer(reply, &got, PL_SHARE_STAYS, NULL, 0), ==, 0);
  {
    struct pl_share_ans an;
    CHECK(recv(r[0], &an, sizeof(an), 0), ==, (ssize_t)sizeof(an));
    CHECK(an.result, ==, PL_SHARE_STAYS);
  }
  /* The end: every holder of the other end is gone. */
  close(p[1]);
  CHECK(pl_share_recv(p[0], &got, &reply), ==, 0);
  close(p[0]);
  close(r[0]);
  close(r[1]);
  close(r2[0]);
  close(r2[1]);
  close(pipefd[0]);
  close(pipefd[1]);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_tcp_share_msg_roundtrip),
  UNIT_TEST(test_tcp_share_msg_moves),
  UNIT_TEST(test_tcp_share_msg_posted),
  UNIT_TEST(test_tcp_share_msg_private_replies),
  UNIT_TEST(test_tcp_share_msg_server_gone),
  UNIT_TEST(test_tcp_share_msg_server_dies_queued),
  UNIT_TEST(test_tcp_share_msg_timeout),
  UNIT_TEST(test_tcp_share_msg_bad_answers),
  UNIT_TEST(test_tcp_share_msg_bad_requests),
};

UNIT_TEST_MAIN(tests)
