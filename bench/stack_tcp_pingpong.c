// SPDX-License-Identifier: BSD-2-Clause
/*
 * stack_tcp_pingpong: the TCP ping-pong of `kernel_pingpong -T` (same
 * options, same messages, same output) over anyload's user-space stack:
 * each end runs an anyload stack on its interface (anyload_stack_create,
 * the control plane as its environment) and one TCP connection of that
 * stack (anyload_tcp_*), with TCP_NODELAY. Either end can face a
 * `kernel_pingpong -T` instead (the messages are the same bytes).
 *
 * ping: connects to remote:port (a new socket every 10 ms while refused,
 * so the pong side may start late), then sends a message of -s bytes (its
 * first 4 bytes carry a sequence number), spins until the whole echo is
 * back, and records the round trip with CLOCK_MONOTONIC; warm-ups are not
 * recorded.
 * pong: listens on local:port, accepts one connection, echoes every
 * message, and exits once it has echoed the last sequence number.
 *
 * Both ends spin: anyload_stack_poll, then a non-blocking
 * anyload_tcp_recv. The clock is read once per KP_CLOCK_EVERY empty polls
 * and at every message, and passed as the stack's now: it paces the
 * stack's timers (delayed ACK, retransmission) and control-plane reads,
 * never the measurement. Both sides give up when nothing arrives for the
 * timeout (-t). At the end each side closes its connection and polls
 * until the FIN exchange is done (bounded), so the peer sees a clean
 * close.
 */
#include <anyload/stack.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KP_PROG "stack_tcp_pingpong"
#include "pingpong_common.h"

#define KP_RING_SIZE		256	/* VI ring entries, RX and TX */
#define KP_N_BUFS		1024	/* the stack's packet buffers */
#define KP_DRAIN_NS		1000000000LL	/* closing handshake */
#define KP_CONNECT_RETRY_NS	10000000LL

struct kp_ctx {
	struct anyload_stack *st;
	int sd;
	unsigned char *buf;	/* one message */
	size_t have;		/* bytes of the next message in buf */
};

static void kp_usage(FILE *f)
{
	fprintf(f,
		"usage: stack_tcp_pingpong [options] ping|pong IFNAME\n"
		"  -l IP    local address (pong: to listen on; default any)\n"
		"  -r IP    remote address (required for ping)\n"
		"  -p PORT  TCP port (default %d)\n"
		"  -s LEN   message length, %d..%d (default %d)\n"
		"  -n N     measured iterations (default %d)\n"
		"  -w N     warm-up iterations (default %d)\n"
		"  -o FILE  write each round-trip time in ns, one per line\n"
		"  -t SEC   give up when the peer is silent this long"
		" (default %d)\n"
		"  -T       accepted (always TCP)\n"
		"IFNAME is the interface the anyload stack runs on.\n",
		KP_DEFAULT_PORT, KP_MIN_PAYLEN, KP_MAX_PAYLEN,
		KP_DEFAULT_PAYLEN, KP_DEFAULT_ITERS, KP_DEFAULT_WARMUPS,
		KP_DEFAULT_TIMEOUT_S);
}

static int kp_addr(const char *ip, unsigned port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (ip && inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, KP_PROG ": bad IPv4 address %s\n", ip);
		return -EINVAL;
	}
	return 0;
}

static void kp_err(const char *what, long rc)
{
	fprintf(stderr, KP_PROG ": %s: %s\n", what, strerror((int)-rc));
}

/* kp_nodelay_socket: a TCP socket with TCP_NODELAY. */
static int kp_nodelay_socket(struct kp_ctx *c)
{
	int one = 1, sd, rc;

	sd = anyload_tcp_open(c->st);
	if (sd < 0) {
		kp_err("anyload_tcp_open", sd);
		return sd;
	}
	rc = anyload_tcp_setsockopt(c->st, sd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one), (int64_t)kp_now_ns());
	if (rc < 0) {
		kp_err("TCP_NODELAY", rc);
		anyload_tcp_close(c->st, sd, (int64_t)kp_now_ns());
		return rc;
	}
	return sd;
}

/* kp_connect: ping's connection, retried while refused, for the timeout
 * at most. Returns 0 (c->sd set) or a negative errno. */
static int kp_connect(struct kp_ctx *c, const struct kp_opts *o)
{
	const int64_t deadline = (int64_t)kp_now_ns() +
		(int64_t)o->timeout_s * 1000000000LL;
	struct sockaddr_in sa;
	int rc;

	if (kp_addr(o->remote_ip, o->port, &sa) < 0)
		return -EINVAL;
	for (;;) {
		int64_t now = (int64_t)kp_now_ns(), t_try = now;

		c->sd = kp_nodelay_socket(c);
		if (c->sd < 0)
			return c->sd;
		rc = anyload_tcp_connect(c->st, c->sd, &sa, sizeof(sa), now);
		while ((rc == -EINPROGRESS || rc == -EALREADY) &&
		       now <= deadline) {
			anyload_stack_poll(c->st, now, 0);
			now = (int64_t)kp_now_ns();
			if (anyload_tcp_poll(c->st, c->sd) &
			    (POLLOUT | POLLERR | POLLHUP))
				rc = anyload_tcp_connect(c->st, c->sd, &sa,
							 sizeof(sa), now);
		}
		if (rc == 0 || rc == -EISCONN)
			return 0;
		anyload_tcp_close(c->st, c->sd, now);
		c->sd = -1;
		if (rc != -ECONNREFUSED || now > deadline) {
			kp_err("anyload_tcp_connect", rc == -EINPROGRESS ||
			       rc == -EALREADY ? -ETIMEDOUT : rc);
			return rc;
		}
		while ((int64_t)kp_now_ns() - t_try < KP_CONNECT_RETRY_NS)
			anyload_stack_poll(c->st, (int64_t)kp_now_ns(), 0);
	}
}

/* kp_accept: pong's connection: listen on local:port, accept one. */
static int kp_accept(struct kp_ctx *c, const struct kp_opts *o)
{
	const int64_t deadline = (int64_t)kp_now_ns() +
		(int64_t)o->timeout_s * 1000000000LL;
	struct sockaddr_in sa;
	int lsd, rc;

	if (kp_addr(o->local_ip, o->port, &sa) < 0)
		return -EINVAL;
	lsd = kp_nodelay_socket(c);
	if (lsd < 0)
		return lsd;
	rc = anyload_tcp_bind(c->st, lsd, &sa, sizeof(sa));
	if (rc < 0) {
		kp_err("anyload_tcp_bind", rc);
		return rc;
	}
	rc = anyload_tcp_listen(c->st, lsd, 1);
	if (rc < 0) {
		kp_err("anyload_tcp_listen", rc);
		return rc;
	}
	for (;;) {
		int64_t now = (int64_t)kp_now_ns();

		anyload_stack_poll(c->st, now, 0);
		rc = anyload_tcp_accept(c->st, lsd, NULL, now);
		if (rc >= 0)
			break;
		if (rc != -EAGAIN) {
			kp_err("anyload_tcp_accept", rc);
			return rc;
		}
		if (now > deadline) {
			fprintf(stderr, KP_PROG ": no connection in %u s\n",
				o->timeout_s);
			return -ETIMEDOUT;
		}
	}
	c->sd = rc;
	anyload_tcp_close(c->st, lsd, (int64_t)kp_now_ns());
	/* An accepted socket inherits TCP_NODELAY from the listener as the
	 * kernel's does; set it again in case it does not. */
	rc = 1;
	rc = anyload_tcp_setsockopt(c->st, c->sd, IPPROTO_TCP, TCP_NODELAY,
				    &rc, sizeof(rc), (int64_t)kp_now_ns());
	if (rc < 0)
		kp_err("TCP_NODELAY", rc);
	return rc;
}

/* kp_send: queue the whole message (the send buffer never fills in a
 * ping-pong; if it does, poll and retry for the timeout). */
static int kp_send(struct kp_ctx *c, const unsigned char *buf, size_t len,
		   const struct kp_opts *o)
{
	const int64_t t0 = (int64_t)kp_now_ns();
	int64_t now = t0;
	size_t off = 0;

	while (off < len) {
		struct iovec iov = { (void *)(buf + off), len - off };
		ssize_t n = anyload_tcp_send(c->st, c->sd, &iov, 1, 0, now);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n != -EAGAIN) {
			kp_err("anyload_tcp_send", n);
			return (int)n;
		}
		now = (int64_t)kp_now_ns();
		anyload_stack_poll(c->st, now, 0);
		if (now - t0 > (int64_t)o->timeout_s * 1000000000LL) {
			fprintf(stderr, KP_PROG ": send buffer full for %u s\n",
				o->timeout_s);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* kp_recv: one non-blocking read towards the next message. Returns 1 when
 * it is complete in c->buf, 0 when not yet, -ECONNRESET when the peer
 * closed, or another negative errno. */
static int kp_recv(struct kp_ctx *c, size_t len, int64_t now)
{
	struct iovec iov = { c->buf + c->have, len - c->have };
	ssize_t n = anyload_tcp_recv(c->st, c->sd, &iov, 1, 0, now);

	if (n > 0) {
		c->have += (size_t)n;
		if (c->have < len)
			return 0;
		c->have = 0;
		return 1;
	}
	if (n == -EAGAIN)
		return 0;
	if (n == 0) {
		fprintf(stderr, KP_PROG ": the peer closed the connection\n");
		return -ECONNRESET;
	}
	kp_err("anyload_tcp_recv", n);
	return (int)n;
}

static int kp_ping(struct kp_ctx *c, const struct kp_opts *o, uint64_t *rtt)
{
	const uint64_t timeout_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	const long total = o->warmups + o->iters;
	unsigned char *tx;
	int rc = 0;
	long i;

	tx = calloc(1, o->paylen);
	if (!tx)
		return -ENOMEM;
	for (i = 0; i < total && rc == 0; i++) {
		uint32_t be = htonl((uint32_t)i);
		uint64_t t_start, t_now;
		unsigned polls = 0;

		memcpy(tx, &be, sizeof(be));
		t_start = kp_now_ns();
		t_now = t_start;
		rc = kp_send(c, tx, o->paylen, o);
		while (rc == 0) {
			anyload_stack_poll(c->st, (int64_t)t_now, 0);
			rc = kp_recv(c, o->paylen, (int64_t)t_now);
			if (rc == 1 && kp_seq(c->buf) != (uint32_t)i) {
				fprintf(stderr, KP_PROG ": echo %u for message"
					" %ld\n", kp_seq(c->buf), i);
				rc = -EPROTO;
			}
			if (rc != 0 || ++polls % KP_CLOCK_EVERY)
				continue;
			t_now = kp_now_ns();
			if (t_now - t_start > timeout_ns) {
				fprintf(stderr, KP_PROG ": no answer to message"
					" %ld for %u s\n", i, o->timeout_s);
				rc = -ETIMEDOUT;
			}
		}
		if (rc == 1) {
			rc = 0;
			if (i >= o->warmups)
				rtt[i - o->warmups] = kp_now_ns() - t_start;
		}
	}
	free(tx);
	return rc;
}

static int kp_pong(struct kp_ctx *c, const struct kp_opts *o, long *echoed)
{
	const uint64_t timeout_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	const uint32_t last = (uint32_t)(o->warmups + o->iters - 1);
	uint64_t t_now = kp_now_ns(), t_last = t_now;
	unsigned polls = 0;
	int rc;

	*echoed = 0;
	for (;;) {
		anyload_stack_poll(c->st, (int64_t)t_now, 0);
		rc = kp_recv(c, o->paylen, (int64_t)t_now);
		if (rc < 0)
			break;
		if (rc == 0) {
			if (++polls % KP_CLOCK_EVERY)
				continue;
			t_now = kp_now_ns();
			if (t_now - t_last > timeout_ns) {
				fprintf(stderr, KP_PROG ": no message for %u s"
					" after %ld echoes\n", o->timeout_s,
					*echoed);
				rc = -ETIMEDOUT;
				break;
			}
			continue;
		}
		rc = kp_send(c, c->buf, o->paylen, o);
		if (rc < 0)
			break;
		(*echoed)++;
		polls = 0;
		if (kp_seq(c->buf) == last)
			break;
		t_now = kp_now_ns();
		t_last = t_now;
	}
	return rc;
}

/* kp_close: close the connection and poll until it is gone or in
 * TIME_WAIT and every frame is sent, for KP_DRAIN_NS at most. */
static void kp_close(struct kp_ctx *c)
{
	int64_t t0 = (int64_t)kp_now_ns(), now = t0;
	struct anyload_stack_info info;

	if (c->sd < 0)
		return;
	anyload_tcp_close(c->st, c->sd, now);
	c->sd = -1;
	for (;;) {
		anyload_stack_poll(c->st, now, 0);
		anyload_stack_info(c->st, &info);
		if (info.tcp_connections == info.tcp_time_wait &&
		    !info.pkt_tx_ring && !info.pkt_neigh_wait)
			return;
		now = (int64_t)kp_now_ns();
		if (now - t0 > KP_DRAIN_NS) {
			fprintf(stderr, KP_PROG ": connection not closed after"
				" 1 s\n");
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct anyload_stack_config cfg;
	struct kp_ctx c = { .st = NULL, .sd = -1, .buf = NULL };
	struct kp_opts o;
	uint64_t *rtt = NULL;
	long echoed = 0;
	int rc;

	if (kp_parse_args(argc, argv, &o, true) < 0)
		return 2;
	printf("# " KP_PROG "\n");
	printf("# mode: %s\n", o.ping ? "ping" : "pong");
	printf("# interface: %s\n", o.ifname);
	printf("# protocol: tcp\n");
	printf("# message len: %zu\n", o.paylen);
	printf("# iterations: %ld\n", o.iters);
	printf("# warmups: %ld\n", o.warmups);
	fflush(stdout);

	c.buf = malloc(o.paylen);
	if (!c.buf) {
		fprintf(stderr, KP_PROG ": out of memory\n");
		return 1;
	}
	anyload_stack_config_init(&cfg);
	cfg.ifname = o.ifname;
	cfg.rxq_size = KP_RING_SIZE;
	cfg.txq_size = KP_RING_SIZE;
	cfg.n_bufs = KP_N_BUFS;
	rc = anyload_stack_create(&cfg, NULL, &c.st);
	if (rc < 0) {
		kp_err("anyload_stack_create", rc);
		free(c.buf);
		return 1;
	}
	if (!o.ping) {
		rc = kp_accept(&c, &o);
		if (rc == 0)
			rc = kp_pong(&c, &o, &echoed);
		printf("# pong: echoed %ld messages\n", echoed);
		goto close_stack;
	}
	rtt = calloc((size_t)o.iters, sizeof(*rtt));
	if (!rtt) {
		fprintf(stderr, KP_PROG ": out of memory\n");
		rc = -ENOMEM;
		goto close_stack;
	}
	rc = kp_connect(&c, &o);
	if (rc == 0)
		rc = kp_ping(&c, &o, rtt);
	if (rc == 0 && o.raw_file)
		rc = kp_write_raw(o.raw_file, rtt, o.iters);
	if (rc == 0)
		kp_print_stats(&o, rtt);
	free(rtt);

close_stack:
	kp_close(&c);
	anyload_stack_destroy(c.st);
	free(c.buf);
	return rc < 0 ? 1 : 0;
}
