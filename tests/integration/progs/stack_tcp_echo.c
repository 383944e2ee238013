/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack_tcp_echo: a scriptable TCP echo server over anyload's stack for the
 * robustness tests (tests/integration/stack_tcp_malformed.sh,
 * stack_tcp_synflood.sh; not a test by itself). It creates one stack on an
 * interface with the control-plane environment, polls it on
 * CLOCK_MONOTONIC, accepts every connection of its listeners and echoes
 * what each one receives, and runs commands read from stdin (as
 * progs/stack_echo does for UDP).
 *
 *   stack_tcp_echo [-t SECS] IFNAME
 *     -t SECS   exit with status 3 after this long (default 60)
 *
 * A connection whose peer ends its stream (recv gives 0) is closed, unless
 * "hold" is on (then it stays in CLOSE_WAIT until "closeall"); one whose
 * recv or send fails (reset, timeout) is closed.
 *
 * Output lines (stdout, line-buffered):
 *   READY pid=PID ifindex=N mtu=M     the stack is up
 *   ACCEPT sd=SD from=IP:PORT         a connection accepted
 *   CLOSED sd=SD rc=RC                a connection closed by us (RC: 0 at
 *                                     the end of its stream, else the
 *                                     error of recv or send)
 *   R<n> ...                          the answer to the n-th command
 * Commands:
 *   listen PORT BACKLOG -> R<n> listen sd=SD rc=RC
 *   hold 0|1          -> R<n> hold rc=0
 *   closeall          -> R<n> closeall n=N      (close every connection)
 *   closepeer IP      -> R<n> closepeer n=N     (close the connections
 *                        from IP)
 *   conns             -> R<n> conns n=N STATE=COUNT ... (accepted
 *                        connections still open, by state number)
 *   stats             -> R<n> stats name=value ... (non-zero counters)
 *   info              -> R<n> info name=value ... (anyload_stack_info)
 *   connect IP PORT N -> R<n> connect n=K rc=RC (K active opens to
 *                        IP:PORT from ephemeral ports, the SYNs sent;
 *                        RC: the first error of a connect other than
 *                        -EINPROGRESS, 0 if none). These client sockets
 *                        are never read or written: they only show the
 *                        state the peer's answers left them in.
 *   cstates           -> R<n> cstates n=K LPORT=STATE ... (each client
 *                        socket's local port and state number)
 *   cclose            -> R<n> cclose n=K (close every client socket)
 *   quit              -> destroys the stack, prints BYE, exit status 0
 * End of input is the same as quit; SIGTERM too.
 */
#include "stack_prog.h"

#include <anyload/stack.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_SD   4096
#define CONN_BUF 16384

struct conn {
  struct sockaddr_in peer;
  char* buf;          /* bytes received, not yet echoed */
  size_t off, len;
  int eof;            /* the peer ended its stream */
};

static struct anyload_stack* st;
static struct conn* conns[MAX_SD];
static int listeners[16];
static int n_listeners;
static int clients[MAX_SD];   /* sockets of "connect", n_clients */
static int n_clients;
static int hold;
static unsigned cmd_no;

static void conn_close(int sd, long rc)
{
  anyload_tcp_close(st, sd, stack_prog_now());
  free(conns[sd]->buf);
  free(conns[sd]);
  conns[sd] = NULL;
  printf("CLOSED sd=%d rc=%ld\n", sd, rc);
}

static void accept_all(int lsd)
{
  struct sockaddr_in peer;
  int sd;

  while ((sd = anyload_tcp_accept(st, lsd, &peer, stack_prog_now())) >= 0) {
    struct conn* c = calloc(1, sizeof(*c));
    if (sd >= MAX_SD || !c || !(c->buf = malloc(CONN_BUF))) {
      /* Not expected (max_sockets is 1024): refuse the connection. */
      free(c);
      anyload_tcp_close(st, sd, stack_prog_now());
      printf("REFUSED sd=%d\n", sd);
      continue;
    }
    c->peer = peer;
    conns[sd] = c;
    printf("ACCEPT sd=%d from=%s:%u\n", sd, inet_ntoa(peer.sin_addr),
           ntohs(peer.sin_port));
  }
}

/* serve: move what sd received to its send buffer; returns 1 if anything
 * happened. */
static int serve(int sd)
{
  struct conn* c = conns[sd];
  struct iovec iov;
  ssize_t n;
  int did = 0;

  for (;;) {
    if (c->len == 0 && !c->eof) {
      iov.iov_base = c->buf;
      iov.iov_len = CONN_BUF;
      n = anyload_tcp_recv(st, sd, &iov, 1, 0, stack_prog_now());
      if (n == 0) {
        c->eof = 1;
        did = 1;
      } else if (n == -EAGAIN) {
        break;
      } else if (n < 0) {
        conn_close(sd, (long)n);
        return 1;
      } else {
        c->off = 0;
        c->len = (size_t)n;
        did = 1;
      }
    }
    if (c->len == 0)
      break;
    iov.iov_base = c->buf + c->off;
    iov.iov_len = c->len;
    n = anyload_tcp_send(st, sd, &iov, 1, 0, stack_prog_now());
    if (n == -EAGAIN)
      break;
    if (n < 0) {
      conn_close(sd, (long)n);
      return 1;
    }
    c->off += (size_t)n;
    c->len -= (size_t)n;
    did = 1;
  }
  if (c->eof && c->len == 0 && !hold) {
    conn_close(sd, 0);
    return 1;
  }
  return did;
}

/* service: poll the stack once, accept, echo; sleep on the wait fd up to
 * max_ms when nothing happened. */
static void service(int max_ms)
{
  int64_t now = stack_prog_now();
  int sd, k, n;

  n = anyload_stack_poll(st, now, 0);
  for (k = 0; k < n_listeners; k++)
    accept_all(listeners[k]);
  for (sd = 0; sd < MAX_SD; sd++)
    if (conns[sd])
      n += serve(sd);
  if (n == 0 && max_ms > 0)
    stack_prog_sleep(st, now, max_ms);
}

static void cmd_listen(unsigned port, int backlog)
{
  struct sockaddr_in a;
  int sd, rc, one = 1;

  if (n_listeners == (int)(sizeof(listeners) / sizeof(listeners[0]))) {
    printf("R%u listen sd=-1 rc=%d\n", cmd_no, -ENOSPC);
    return;
  }
  sd = anyload_tcp_open(st);
  if (sd < 0) {
    printf("R%u listen sd=-1 rc=%d\n", cmd_no, sd);
    return;
  }
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  rc = anyload_tcp_setsockopt(st, sd, SOL_SOCKET, SO_REUSEADDR, &one,
                              sizeof(one), stack_prog_now());
  if (rc == 0)
    rc = anyload_tcp_bind(st, sd, &a, sizeof(a));
  if (rc == 0)
    rc = anyload_tcp_listen(st, sd, backlog);
  if (rc < 0) {
    anyload_tcp_close(st, sd, stack_prog_now());
    printf("R%u listen sd=-1 rc=%d\n", cmd_no, rc);
    return;
  }
  listeners[n_listeners++] = sd;
  printf("R%u listen sd=%d rc=0\n", cmd_no, sd);
}

static void cmd_conns(void)
{
  unsigned by_state[16] = { 0 }, n = 0, k;
  int sd, s;

  for (sd = 0; sd < MAX_SD; sd++) {
    if (!conns[sd])
      continue;
    n++;
    s = anyload_tcp_state(st, sd);
    if (s >= 0 && s < 16)
      by_state[s]++;
  }
  printf("R%u conns n=%u", cmd_no, n);
  for (k = 0; k < 16; k++)
    if (by_state[k])
      printf(" s%u=%u", k, by_state[k]);
  printf("\n");
}

static void cmd_info(void)
{
  struct anyload_stack_info in;

  anyload_stack_info(st, &in);
  printf("R%u info pkt_total=%u pkt_free=%u pkt_rx_ring=%u pkt_tx_ring=%u "
         "pkt_sock_rxq=%u pkt_reasm=%u pkt_neigh_wait=%u timers=%u "
         "sockets=%u filters=%u tcp_sockets=%u tcp_connections=%u "
         "tcp_listening=%u tcp_time_wait=%u tcp_buf_bytes=%llu\n",
         cmd_no, in.pkt_total, in.pkt_free, in.pkt_rx_ring, in.pkt_tx_ring,
         in.pkt_sock_rxq, in.pkt_reasm, in.pkt_neigh_wait, in.timers,
         in.sockets, in.filters, in.tcp_sockets, in.tcp_connections,
         in.tcp_listening, in.tcp_time_wait,
         (unsigned long long)in.tcp_buf_bytes);
}

static void cmd_connect(const char* ip, unsigned port, int n)
{
  struct sockaddr_in a;
  int k, sd, rc, err = 0, made = 0;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = inet_addr(ip);
  for (k = 0; k < n && n_clients < MAX_SD; k++) {
    sd = anyload_tcp_open(st);
    if (sd < 0) {
      err = sd;
      break;
    }
    rc = anyload_tcp_connect(st, sd, &a, sizeof(a), stack_prog_now());
    if (rc != -EINPROGRESS) {
      anyload_tcp_close(st, sd, stack_prog_now());
      err = rc < 0 ? rc : -EISCONN;
      break;
    }
    clients[n_clients++] = sd;
    made++;
    /* Let the TX ring drain: the SYNs go out now, not at their RTO. */
    if (k % 16 == 15)
      anyload_stack_poll(st, stack_prog_now(), 0);
  }
  printf("R%u connect n=%d rc=%d\n", cmd_no, made, err);
}

static void cmd_cstates(void)
{
  struct sockaddr_in name;
  socklen_t len;
  int k;

  printf("R%u cstates n=%d", cmd_no, n_clients);
  for (k = 0; k < n_clients; k++) {
    len = sizeof(name);
    if (anyload_tcp_getsockname(st, clients[k], &name, &len) < 0)
      name.sin_port = 0;
    printf(" %u=%d", ntohs(name.sin_port),
           anyload_tcp_state(st, clients[k]));
  }
  printf("\n");
}

static void command(char* line)
{
  char a[32] = "";
  unsigned port;
  int x, sd, n;

  cmd_no++;
  sscanf(line, "%31s", a);
  if (!strcmp(a, "listen") && sscanf(line, "%*s %u %d", &port, &x) == 2) {
    cmd_listen(port, x);
  } else if (!strcmp(a, "hold") && sscanf(line, "%*s %d", &x) == 1) {
    hold = x;
    printf("R%u hold rc=0\n", cmd_no);
  } else if (!strcmp(a, "closeall")) {
    for (sd = 0, n = 0; sd < MAX_SD; sd++)
      if (conns[sd]) {
        conn_close(sd, 0);
        n++;
      }
    printf("R%u closeall n=%d\n", cmd_no, n);
  } else if (!strcmp(a, "closepeer") &&
             sscanf(line, "%*s %31s", a) == 1) {
    in_addr_t ip = inet_addr(a);
    for (sd = 0, n = 0; sd < MAX_SD; sd++)
      if (conns[sd] && conns[sd]->peer.sin_addr.s_addr == ip) {
        conn_close(sd, 0);
        n++;
      }
    printf("R%u closepeer n=%d\n", cmd_no, n);
  } else if (!strcmp(a, "connect") &&
             sscanf(line, "%*s %31s %u %d", a, &port, &x) == 3) {
    cmd_connect(a, port, x);
  } else if (!strcmp(a, "cstates")) {
    cmd_cstates();
  } else if (!strcmp(a, "cclose")) {
    n = n_clients;
    while (n_clients > 0)
      anyload_tcp_close(st, clients[--n_clients], stack_prog_now());
    printf("R%u cclose n=%d\n", cmd_no, n);
  } else if (!strcmp(a, "conns")) {
    cmd_conns();
  } else if (!strcmp(a, "stats")) {
    stack_prog_stats(st, cmd_no, 512);
  } else if (!strcmp(a, "info")) {
    cmd_info();
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
  int opt, secs = 60, sd;

  anyload_stack_config_init(&cfg);
  while ((opt = getopt(argc, argv, "t:")) != -1) {
    switch (opt) {
    case 't':
      secs = atoi(optarg);
      break;
    default:
      fprintf(stderr, "usage: stack_tcp_echo [-t SECS] IFNAME\n");
      return 2;
    }
  }
  if (optind + 1 != argc) {
    fprintf(stderr, "usage: stack_tcp_echo [-t SECS] IFNAME\n");
    return 2;
  }
  st = stack_prog_start(&cfg, argv[optind]);

  if (stack_prog_loop("stack_tcp_echo", secs, service, command) == 3) {
    anyload_stack_destroy(st);
    return 3;
  }
  for (sd = 0; sd < MAX_SD; sd++)
    if (conns[sd]) {
      free(conns[sd]->buf);
      free(conns[sd]);
    }
  anyload_stack_destroy(st);
  printf("BYE\n");
  return 0;
}
