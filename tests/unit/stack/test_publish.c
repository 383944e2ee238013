/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for stack/publish.c and stack/latency_hist.c: two stacks on
 * a sim link, on the virtual clock, publishing into a private directory,
 * read back through the reader's side (common/stack_shm.c). Checks: the
 * file appears with the stack's facts and counter names and is alive;
 * after traffic the published counters, sockets and filters match the
 * stack's own, within one publication interval; reads through
 * anyload_udp_recvmsg_at fill the latency histogram with the exact
 * delays of the virtual clock (plain recvmsg records nothing, MSG_PEEK
 * neither); the settings text; destroy removes the file; a process that
 * dies without destroying its stack leaves a file that reads as dead,
 * and the next stack created sweeps it away.
 */
#include "unit_test.h"
#include "sim_world.h"
#include "stack/publish.h"

#include <anyload/sim.h>
#include <anyload/stack.h>
#include <anyload/stack_obs.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define US  1000ll
#define MS  1000000ll
#define SEC 1000000000ll

static char dir[] = "/tmp/anyload-pub-test.XXXXXX";
static pid_t dir_owner;

/* The private directory of the stack files, removed at exit (empty by
 * then: every test destroys its stacks or removes what it left). */
static void dir_remove(void)
{
  if (getpid() == dir_owner)
    rmdir(dir);
}

static void dir_make(void)
{
  if (dir_owner)
    return;
  CHECK_PTR(mkdtemp(dir), !=, NULL);
  dir_owner = getpid();
  atexit(dir_remove);
}

/* The environment: one on-link /24, every neighbour known. */
static int senv_route(void* ctx, uint32_t dst, uint32_t src,
                      struct anyload_route* out)
{
  (void)src;
  sim_route_unicast(ctx, dst, out);
  return 0;
}

static int senv_neigh(void* ctx, int ifindex, uint32_t ip, uint8_t mac[6])
{
  struct sim_env* e = ctx;

  (void)ifindex;
  (void)ip;
  memcpy(mac, e->peer_mac, 6);
  return 0;
}

struct pair {
  char name[2][16];
  struct sim_env env[2];
  struct anyload_stack* st[2];
};

static void pair_open(struct pair* p, const char* name)
{
  int k;

  memset(p, 0, sizeof(*p));
  dir_make();
  CHECK(setenv(ANYLOAD_SHM_DIR_ENV, dir, 1), ==, 0);
  sim_link_open(p->name, name, NULL);
  for (k = 0; k < 2; k++) {
    struct anyload_stack_config sc;
    struct anyload_stack_env ev;
    anyload_stack_config_init(&sc);
    sc.n_bufs = 2048;
    sim_env_init(&p->env[k], k);
    memset(&ev, 0, sizeof(ev));
    ev.ctx = &p->env[k];
    ev.route = senv_route;
    ev.addr_ifindex = sim_env_addr_ifindex;
    ev.neigh = senv_neigh;
    p->st[k] = sim_stack_open(&sc, p->name[k], &ev, &p->env[k]);
  }
}

static void pair_close(struct pair* p)
{
  anyload_stack_destroy(p->st[0]);
  anyload_stack_destroy(p->st[1]);
  CHECK(anyload_sim_link_destroy(p->name[0]), ==, 0);
}

static void poll_both(struct pair* p)
{
  int n, rounds = 0;

  do {
    n = anyload_stack_poll(p->st[0], anyload_sim_clock_now(), 0) +
        anyload_stack_poll(p->st[1], anyload_sim_clock_now(), 0);
    CHECK(++rounds, <, 1000);
  } while (n);
}

#define sin_of sim_sin

/* A snapshot read through the seqlock. */
struct copy {
  struct anyload_shm_hdr h;
  uint64_t stats[256];
  struct anyload_shm_sock socks[4];
  struct anyload_shm_filter filters[4];
  char settings[128];
};

static void copy_fn(const void* base, void* ctx)
{
  struct copy* c = ctx;
  const uint8_t* b = base;

  memcpy(&c->h, base, sizeof(c->h));
  memcpy(c->stats, b + c->h.stats_off,
         8u * (c->h.n_stats < 256 ? c->h.n_stats : 256));
  memcpy(c->socks, b + c->h.socks_off,
         sizeof(c->socks[0]) * (c->h.n_socks < 4 ? c->h.n_socks : 4));
  memcpy(c->filters, b + c->h.filters_off,
         sizeof(c->filters[0]) * (c->h.n_filters < 4 ? c->h.n_filters : 4));
  memcpy(c->settings, b + c->h.settings_off, sizeof(c->settings) - 1);
}

static void test_publish_file_and_facts(void)
{
  struct pair p;
  struct stack_shm s;
  const struct anyload_shm_hdr* h;
  const char* path;
  char want[600];
  unsigned k;

  pair_open(&p, "pubf");
  path = anyload_stack_shm_path(p.st[0]);
  CHECK_PTR(path, !=, NULL);
  snprintf(want, sizeof(want), "%s/%d.", dir, (int)getpid());
  CHECK(strncmp(path, want, strlen(want)), ==, 0);
  CHECK(stack_shm_open(path, &s), ==, 0);
  h = stack_shm_hdr(&s);
  CHECK(h->pid, ==, getpid());
  CHECK_STR(h->ifname, ==, "pubfA");
  CHECK_STR(h->backend, ==, "sim");
  CHECK(h->ifindex, ==, anyload_stack_ifindex(p.st[0]));
  CHECK_MEM(h->mac, sim_mac_a, 6);
  CHECK(h->n_stats, ==, anyload_stack_stat_count());
  CHECK(h->n_udp_stats, ==, anyload_udp_stat_count());
  for (k = 0; k < h->n_stats; k++)
    CHECK_STR((const char*)s.base + h->names_off + k * ANYLOAD_SHM_NAME_LEN,
              ==, anyload_stack_stat_name(k));
  CHECK(stack_shm_alive(&s), ==, 1);
  CHECK(strstr(h->cmdline, "test_publish"), !=, NULL);
  stack_shm_close(&s);
  pair_close(&p);
  CHECK(access(path, F_OK), ==, -1);
}

static void test_publish_counters_sockets_latency(void)
{
  struct pair p;
  struct stack_shm s;
  struct copy c;
  struct sockaddr_in a = sin_of("198.18.0.1", 5000);
  struct sockaddr_in b = sin_of("198.18.0.1", 5000);
  char buf[64];
  int sa, sb, k, fl;
  const struct anyload_shm_hist* hist;
  int64_t t0;

  pair_open(&p, "pubc");
  sa = anyload_udp_open(p.st[0]);
  CHECK(anyload_udp_bind(p.st[0], sa, &a, sizeof(a)), ==, 0);
  sb = anyload_udp_open(p.st[1]);
  for (k = 0; k < 4; k++)
    CHECK(anyload_udp_sendto(p.st[1], sb, "hello", 5, 0, &b,
                             anyload_sim_clock_now()), ==, 5);
  poll_both(&p);
  t0 = anyload_sim_clock_now();
  CHECK(stack_shm_open(anyload_stack_shm_path(p.st[0]), &s), ==, 0);
  CHECK(stack_shm_read_consistent(s.base, copy_fn, &c, 10), ==, 0);
  /* The bind published at the next poll: the socket and its filter. */
  CHECK(c.h.n_socks, ==, 1);
  CHECK(c.socks[0].sd, ==, sa);
  CHECK(c.socks[0].proto, ==, ANYLOAD_SHM_UDP);
  CHECK(c.socks[0].lport_be16, ==, htons(5000));
  CHECK(c.socks[0].laddr_be32, ==, inet_addr("198.18.0.1"));
  CHECK(c.socks[0].rxq_count, ==, 4);
  CHECK(c.h.n_filters, ==, 1);
  CHECK(c.filters[0].lport_be16, ==, htons(5000));
  CHECK(c.filters[0].refs, ==, 1);
  CHECK(c.stats[anyload_stack_stat_index("rx_udp_datagrams")], ==, 4);
  CHECK(c.h.info.sockets, ==, 1);
  CHECK(c.h.info.pkt_sock_rxq, ==, 4);

  /* Reads 1 us and 3 us after the poll that received them; a peek and a
   * plain recvmsg record nothing. */
  CHECK(anyload_sim_clock_advance(1 * US), ==, 0);
  fl = MSG_PEEK;
  CHECK(anyload_udp_recvfrom_at(p.st[0], sa, buf, sizeof(buf), &fl, NULL,
                                anyload_sim_clock_now()), ==, 5);
  for (k = 0; k < 2; k++) {
    fl = 0;
    CHECK(anyload_udp_recvfrom_at(p.st[0], sa, buf, sizeof(buf), &fl, NULL,
                                  anyload_sim_clock_now()), ==, 5);
  }
  CHECK(anyload_sim_clock_advance(2 * US), ==, 0);
  fl = 0;
  CHECK(anyload_udp_recvfrom_at(p.st[0], sa, buf, sizeof(buf), &fl, NULL,
                                anyload_sim_clock_now()), ==, 5);
  fl = 0;
  CHECK(anyload_udp_recvfrom(p.st[0], sa, buf, sizeof(buf), &fl, NULL), ==,
        5);
  hist = (const void*)((const uint8_t*)s.base + c.h.hist_off);
  CHECK(hist->count, ==, 3);
  CHECK(hist->min_ns, ==, 1000);
  CHECK(hist->max_ns, ==, 3000);
  CHECK(hist->sum_ns, ==, 5000);
  CHECK(hist->buckets[anyload_hist_bucket(1000)], ==, 2);
  CHECK(hist->buckets[anyload_hist_bucket(3000)], ==, 1);
  CHECK(anyload_hist_percentile(hist->buckets, 3, 0.5, hist->max_ns), >=,
        1000);
  CHECK(anyload_hist_percentile(hist->buckets, 3, 0.5, hist->max_ns), <,
        1063);
  /* The socket's own histogram: the same samples, under its gen. */
  hist = (const void*)((const uint8_t*)s.base + c.h.sock_hist_off +
                       (size_t)sa * sizeof(*hist));
  CHECK(c.h.n_sock_hist, >, (unsigned)sa);
  CHECK(hist->gen, ==, c.socks[0].gen);
  CHECK(hist->count, ==, 3);
  CHECK(hist->sum_ns, ==, 5000);
  CHECK(hist->buckets[anyload_hist_bucket(3000)], ==, 1);
  (void)t0;

  /* Counters move at the next publication (at most 5 ms later). */
  CHECK(anyload_sim_clock_advance(ST_PUB_INTERVAL_NS), ==, 0);
  poll_both(&p);
  CHECK(stack_shm_read_consistent(s.base, copy_fn, &c, 10), ==, 0);
  CHECK(c.socks[0].rxq_count, ==, 0);
  CHECK(c.h.info.pkt_sock_rxq, ==, 0);

  /* Settings. */
  CHECK(anyload_stack_set_settings(p.st[0], "ANYLOAD_X=1 (default)\n"), ==,
        0);
  CHECK(stack_shm_read_consistent(s.base, copy_fn, &c, 10), ==, 0);
  CHECK(c.h.settings_len, ==, 22);
  CHECK(strncmp(c.settings, "ANYLOAD_X=1 (default)\n", 22), ==, 0);
  {
    char* big = malloc(10000);
    memset(big, 'x', 9999);
    big[9999] = 0;
    CHECK(anyload_stack_set_settings(p.st[0], big), ==, -E2BIG);
    free(big);
  }
  CHECK(anyload_stack_set_settings(p.st[0], NULL), ==, -EINVAL);

  /* The close shows at the next poll. */
  CHECK(anyload_udp_close(p.st[0], sa), ==, 0);
  CHECK(anyload_udp_close(p.st[1], sb), ==, 0);
  poll_both(&p);
  CHECK(stack_shm_read_consistent(s.base, copy_fn, &c, 10), ==, 0);
  CHECK(c.h.n_socks, ==, 0);
  CHECK(c.h.n_filters, ==, 0);
  /* A new socket on the same number starts its histogram again. */
  CHECK(anyload_udp_open(p.st[0]), ==, sa);
  CHECK(anyload_udp_bind(p.st[0], sa, &a, sizeof(a)), ==, 0);
  CHECK(anyload_udp_sendto(p.st[1], sb = anyload_udp_open(p.st[1]), "x", 1,
                           0, &b, anyload_sim_clock_now()), ==, 1);
  poll_both(&p);
  fl = 0;
  CHECK(anyload_udp_recvfrom_at(p.st[0], sa, buf, sizeof(buf), &fl, NULL,
                                anyload_sim_clock_now() + 500), ==, 1);
  CHECK(hist->count, ==, 1);
  CHECK(hist->sum_ns, ==, 500);
  CHECK(hist->gen, !=, c.socks[0].gen);
  CHECK(anyload_udp_close(p.st[0], sa), ==, 0);
  CHECK(anyload_udp_close(p.st[1], sb), ==, 0);
  stack_shm_close(&s);
  pair_close(&p);
}

static void test_publish_dead_owner(void)
{
  struct stack_shm s;
  char path[600] = "";
  int tochild[2], fromchild[2], status;
  pid_t pid;
  struct pair p;

  CHECK(pipe(tochild), ==, 0);
  CHECK(pipe(fromchild), ==, 0);
  pid = fork();
  CHECK(pid, >=, 0);
  if (pid == 0) {
    struct pair q;
    close(fromchild[0]);
    close(tochild[1]);
    const char* cp;
    char go;
    pair_open(&q, "pubd");
    cp = anyload_stack_shm_path(q.st[0]);
    if (write(fromchild[1], cp, strlen(cp) + 1) < 0)
      _exit(2);
    if (read(tochild[0], &go, 1) < 0)
      _exit(2);
    _exit(0);              /* no destroy, no atexit: as kill -9 */
  }
  close(fromchild[1]);
  close(tochild[0]);
  CHECK(read(fromchild[0], path, sizeof(path) - 1), >, 0);
  CHECK(stack_shm_open(path, &s), ==, 0);
  CHECK(stack_shm_alive(&s), ==, 1);
  CHECK(write(tochild[1], "x", 1), ==, 1);
  CHECK(waitpid(pid, &status, 0), ==, pid);
  CHECK(WEXITSTATUS(status), ==, 0);
  CHECK(access(path, F_OK), ==, 0);
  CHECK(stack_shm_alive(&s), ==, 0);
  stack_shm_close(&s);
  close(tochild[1]);
  close(fromchild[0]);
  /* The next stack created removes the dead one's file. */
  pair_open(&p, "pube");
  CHECK(access(path, F_OK), ==, -1);
  pair_close(&p);
}

/* TCP reads add to the stack's histogram the wait of the oldest byte
 * they take: 5 us for a segment read whole; after a partial read the
 * rest counts from the latest arrival. */
static void test_publish_tcp_latency(void)
{
  struct pair p;
  struct stack_shm s;
  struct copy c;
  struct sockaddr_in a = sin_of("198.18.0.1", 6000);
  struct iovec iov;
  char buf[8];
  int ls, sd, cd, rounds = 0;
  const struct anyload_shm_hist* hist;

  pair_open(&p, "pubt");
  ls = anyload_tcp_open(p.st[0]);
  CHECK(anyload_tcp_bind(p.st[0], ls, &a, sizeof(a)), ==, 0);
  CHECK(anyload_tcp_listen(p.st[0], ls, 4), ==, 0);
  cd = anyload_tcp_open(p.st[1]);
  CHECK(anyload_tcp_connect(p.st[1], cd, &a, sizeof(a),
                            anyload_sim_clock_now()), ==, -EINPROGRESS);
  do {
    poll_both(&p);
    sd = anyload_tcp_accept(p.st[0], ls, NULL, anyload_sim_clock_now());
    CHECK(++rounds, <, 100);
  } while (sd == -EAGAIN);
  CHECK(sd, >=, 0);
  CHECK(stack_shm_open(anyload_stack_shm_path(p.st[0]), &s), ==, 0);
  CHECK(stack_shm_read_consistent(s.base, copy_fn, &c, 10), ==, 0);
  hist = (const void*)((const uint8_t*)s.base + c.h.hist_off);
  CHECK(hist->count, ==, 0);

  iov.iov_base = "abc";
  iov.iov_len = 3;
  CHECK(anyload_tcp_send(p.st[1], cd, &iov, 1, 0, anyload_sim_clock_now()),
        ==, 3);
  poll_both(&p);
  CHECK(anyload_sim_clock_advance(5 * US), ==, 0);
  iov.iov_base = buf;
  iov.iov_len = sizeof(buf);
  CHECK(anyload_tcp_recv(p.st[0], sd, &iov, 1, MSG_PEEK,
                         anyload_sim_clock_now()), ==, 3);
  CHECK(hist->count, ==, 0);          /* a peek records nothing */
  CHECK(anyload_tcp_recv(p.st[0], sd, &iov, 1, 0, anyload_sim_clock_now()),
        ==, 3);
  CHECK(hist->count, ==, 1);
  CHECK(hist->sum_ns, ==, 5 * US);

  /* "de" at t, "f" at t + 2 us, read 1 byte at t + 3 us (waited 3 us),
   * the rest at once (counted from "f": 1 us). */
  iov.iov_base = "de";
  iov.iov_len = 2;
  CHECK(anyload_tcp_send(p.st[1], cd, &iov, 1, 0, anyload_sim_clock_now()),
        ==, 2);
  poll_both(&p);
  CHECK(anyload_sim_clock_advance(2 * US), ==, 0);
  iov.iov_base = "f";
  iov.iov_len = 1;
  CHECK(anyload_tcp_send(p.st[1], cd, &iov, 1, 0, anyload_sim_clock_now()),
        ==, 1);
  poll_both(&p);
  CHECK(anyload_sim_clock_advance(1 * US), ==, 0);
  iov.iov_base = buf;
  iov.iov_len = 1;
  CHECK(anyload_tcp_recv(p.st[0], sd, &iov, 1, 0, anyload_sim_clock_now()),
        ==, 1);
  CHECK(buf[0], ==, 'd');
  iov.iov_len = sizeof(buf);
  CHECK(anyload_tcp_recv(p.st[0], sd, &iov, 1, 0, anyload_sim_clock_now()),
        ==, 2);
  CHECK(hist->count, ==, 3);
  CHECK(hist->sum_ns, ==, 5 * US + 3 * US + 1 * US);
  CHECK(hist->max_ns, ==, 5 * US);
  CHECK(hist->min_ns, ==, 1 * US);

  stack_shm_close(&s);
  CHECK(anyload_tcp_close(p.st[0], sd, anyload_sim_clock_now()), ==, 0);
  CHECK(anyload_tcp_close(p.st[1], cd, anyload_sim_clock_now()), ==, 0);
  CHECK(anyload_tcp_close(p.st[0], ls, anyload_sim_clock_now()), ==, 0);
  poll_both(&p);
  pair_close(&p);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_publish_file_and_facts),
  UNIT_TEST(test_publish_counters_sockets_latency),
  UNIT_TEST(test_publish_dead_owner),
  UNIT_TEST(test_publish_tcp_latency),
};
UNIT_TEST_MAIN(tests)
