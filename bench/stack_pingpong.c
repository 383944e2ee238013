// SPDX-License-Identifier: BSD-2-Clause
/*
 * stack_pingpong: anyload's user-space UDP stack in the latency benchmark.
 * The same UDP ping-pong as kernel_pingpong (same options, same messages,
 * same output), but each end runs an anyload stack on its interface
 * (anyload_stack_create, the control plane as its environment, so routes
 * and ARP are the kernel's) and one UDP socket of that stack, instead of a
 * kernel socket. Both ends spin: anyload_stack_poll, then a non-blocking
 * anyload_udp_recvfrom, until the message is there.
 *
 * ping: binds local:port, connects to remote:port (the headers are then
 * built once and reused), sends a message (its first 4 bytes carry a
 * sequence number), spins until the echo of that sequence number is back,
 * and records the round trip with CLOCK_MONOTONIC; warm-up round trips are
 * not recorded. Until the first echo arrives the first message is re-sent
 * every 10 ms, so the pong side may start late.
 * pong: binds local:port, connects to remote:port when -r is given (else
 * to the sender of the first message), echoes every message, and exits
 * once it has echoed the last sequence number (warm-ups + iterations - 1).
 *
 * Time: the stack reads no clock; both loops read CLOCK_MONOTONIC once per
 * KP_CLOCK_EVERY empty polls (and at every message) and pass that as the
 * stack's `now`, which only paces the stack's timers and its control-plane
 * reads (every millisecond), never the measurement.
 *
 * Both sides give up with an error when nothing arrives for the timeout
 * (-t), so a run always ends. The output is kernel_pingpong's: '#' header
 * lines, then one tab-separated data line with the payload length and the
 * round-trip statistics in microseconds; -o writes one round trip in ns per
 * line.
 */
#include <anyload/stack.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KP_PROG "stack_pingpong"
#include "pingpong_common.h"

#define KP_RING_SIZE		256	/* VI ring entries, RX and TX */
#define KP_N_BUFS		1024	/* the stack's packet buffers */
#define KP_DRAIN_NS		1000000000ULL	/* last sends */

/* One stack, one socket, the receive buffer. */
struct kp_ctx {
	struct anyload_stack *st;
	int sd;
	unsigned char *rx;
};

static void kp_usage(FILE *f)
{
	fprintf(f,
		"usage: stack_pingpong [options] ping|pong IFNAME\n"
		"  -l IP    local address to bind (default any)\n"
		"  -r IP    remote address (required for ping; pong answers the"
		" sender)\n"
		"  -p PORT  UDP port on both sides (default %d)\n"
		"  -s LEN   UDP payload length, %d..%d (default %d)\n"
		"  -n N     measured iterations (default %d)\n"
		"  -w N     warm-up iterations (default %d)\n"
		"  -o FILE  write each round-trip time in ns, one per line\n"
		"  -t SEC   give up when the peer is silent this long"
		" (default %d)\n"
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
	if (!ip) {
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, "stack_pingpong: bad IPv4 address %s\n", ip);
		return -EINVAL;
	}
	return 0;
}

static void kp_err(const char *what, long rc)
{
	fprintf(stderr, "stack_pingpong: %s: %s\n", what, strerror((int)-rc));
}

/* kp_open: a stack on o->ifname and one UDP socket bound to local:port
 * and, when remote is given, connected to remote:port. Returns 0 or a
 * negative errno (the stack is then destroyed). */
static int kp_open(const struct kp_opts *o, struct kp_ctx *c)
{
	struct anyload_stack_config cfg;
	struct sockaddr_in local, remote;
	int rc;

	rc = kp_addr(o->local_ip, o->port, &local);
	if (rc < 0)
		return rc;
	if (o->remote_ip && (rc = kp_addr(o->remote_ip, o->port,
					  &remote)) < 0)
		return rc;
	anyload_stack_config_init(&cfg);
	cfg.ifname = o->ifname;
	cfg.rxq_size = KP_RING_SIZE;
	cfg.txq_size = KP_RING_SIZE;
	cfg.n_bufs = KP_N_BUFS;
	rc = anyload_stack_create(&cfg, NULL, &c->st);
	if (rc < 0) {
		kp_err("anyload_stack_create", rc);
		return rc;
	}
	c->sd = anyload_udp_open(c->st);
	if (c->sd < 0) {
		rc = c->sd;
		kp_err("anyload_udp_open", rc);
		goto destroy;
	}
	rc = anyload_udp_bind(c->st, c->sd, &local, sizeof(local));
	if (rc < 0) {
		kp_err("anyload_udp_bind", rc);
		goto destroy;
	}
	if (o->remote_ip) {
		rc = anyload_udp_connect(c->st, c->sd, &remote,
					 sizeof(remote));
		if (rc < 0) {
			kp_err("anyload_udp_connect", rc);
			goto destroy;
		}
	}
	return 0;

destroy:
	anyload_stack_destroy(c->st);
	c->st = NULL;
	return rc;
}

/* kp_send: send one message on the connected socket at time now. A full
 * ring is retried after a poll (bounded); a pending error from an earlier
 * datagram (-ECONNREFUSED, -EHOSTUNREACH while the peer is not up yet)
 * counts as sent: the caller's timeout handles a silent peer. Returns 0
 * or a negative errno. */
static int kp_send(struct kp_ctx *c, const void *buf, size_t len,
		   uint64_t now)
{
	ssize_t rc = 0;
	int k;

	for (k = 0; k < 1000; k++) {
		rc = anyload_udp_sendto(c->st, c->sd, buf, len, 0, NULL,
					(int64_t)now);
		if (rc != -EAGAIN)
			break;
		anyload_stack_poll(c->st, (int64_t)kp_now_ns(), 0);
	}
	if (rc >= 0 || rc == -EAGAIN || rc == -ECONNREFUSED ||
	    rc == -EHOSTUNREACH)
		return 0;
	kp_err("anyload_udp_sendto", rc);
	return (int)rc;
}

/* kp_recv: one non-blocking receive. Returns the length (>= 0), -EAGAIN
 * when nothing is queued (pending errors are swallowed the same way), or
 * another negative errno. */
static ssize_t kp_recv(struct kp_ctx *c, struct sockaddr_in *from)
{
	int flags = 0;
	ssize_t n;

	n = anyload_udp_recvfrom(c->st, c->sd, c->rx, KP_MAX_PAYLEN, &flags,
				 from);
	if (n == -ECONNREFUSED || n == -EHOSTUNREACH)
		return -EAGAIN;
	if (n < 0 && n != -EAGAIN)
		kp_err("anyload_udp_recvfrom", n);
	return n;
}

/* kp_ping: run the ping side; rtt[] receives the measured round trips.
 * Returns 0, -ETIMEDOUT when the pong side fell silent, or another
 * negative errno. */
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
	for (i = 0; i < total; i++) {
		uint32_t be = htonl((uint32_t)i);
		uint64_t t_start, t_sent, t_now;
		unsigned polls = 0;

		memcpy(tx, &be, sizeof(be));
		t_start = kp_now_ns();
		t_sent = t_start;
		t_now = t_start;
		rc = kp_send(c, tx, o->paylen, t_start);
		if (rc < 0)
			goto free_buf;
		for (;;) {
			ssize_t n;

			anyload_stack_poll(c->st, (int64_t)t_now, 0);
			n = kp_recv(c, NULL);
			if (n >= (ssize_t)sizeof(be) &&
			    kp_seq(c->rx) == (uint32_t)i)
				break;
			if (n < 0 && n != -EAGAIN) {
				rc = (int)n;
				goto free_buf;
			}
			/* n >= 0 here is a stale echo (a resent first
			 * message answered twice): keep waiting. */
			if (++polls % KP_CLOCK_EVERY)
				continue;
			t_now = kp_now_ns();
			if (t_now - t_start > timeout_ns) {
				fprintf(stderr, "stack_pingpong: no answer "
					"to message %ld for %u s\n", i,
					o->timeout_s);
				rc = -ETIMEDOUT;
				goto free_buf;
			}
			/* Until the pong side has answered once, it may not
			 * be up yet: resend the first message. */
			if (i == 0 && t_now - t_sent > KP_RETRY_NS) {
				t_sent = t_now;
				rc = kp_send(c, tx, o->paylen, t_now);
				if (rc < 0)
					goto free_buf;
			}
		}
		t_now = kp_now_ns();
		if (i >= o->warmups)
			rtt[i - o->warmups] =
				t_now - (i == 0 ? t_sent : t_start);
	}

free_buf:
	free(tx);
	return rc;
}

/* kp_pong: echo messages until the last sequence number has been echoed.
 * Returns 0, -ETIMEDOUT when the ping side fell silent, or another
 * negative errno. */
static int kp_pong(struct kp_ctx *c, const struct kp_opts *o, long *echoed)
{
	const uint64_t timeout_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	const uint32_t last = (uint32_t)(o->warmups + o->iters - 1);
	bool connected = o->remote_ip != NULL;
	uint64_t t_now = kp_now_ns(), t_last = t_now;
	unsigned polls = 0;
	int rc = 0;

	*echoed = 0;
	for (;;) {
		struct sockaddr_in from;
		ssize_t n;

		anyload_stack_poll(c->st, (int64_t)t_now, 0);
		n = kp_recv(c, &from);
		if (n < 0) {
			if (n != -EAGAIN) {
				rc = (int)n;
				break;
			}
			if (++polls % KP_CLOCK_EVERY)
				continue;
			t_now = kp_now_ns();
			if (t_now - t_last > timeout_ns) {
				fprintf(stderr, "stack_pingpong: no message "
					"for %u s after %ld echoes\n",
					o->timeout_s, *echoed);
				rc = -ETIMEDOUT;
				break;
			}
			continue;
		}
		/* Without -r, answer whoever sent the first message. */
		if (!connected) {
			rc = anyload_udp_connect(c->st, c->sd, &from,
						 sizeof(from));
			if (rc < 0) {
				kp_err("anyload_udp_connect", rc);
				break;
			}
			connected = true;
		}
		rc = kp_send(c, c->rx, (size_t)n, t_now);
		if (rc < 0)
			break;
		(*echoed)++;
		polls = 0;
		if (n >= (ssize_t)sizeof(uint32_t) && kp_seq(c->rx) == last)
			break;
		t_now = kp_now_ns();
		t_last = t_now;
	}
	return rc;
}

/* kp_drain: poll until every frame handed to the VI has completed (so
 * that the last echo is on the wire before the stack is destroyed), for
 * KP_DRAIN_NS at most. */
static void kp_drain(struct kp_ctx *c)
{
	uint64_t t0 = kp_now_ns(), t = t0;
	struct anyload_stack_info info;

	for (;;) {
		anyload_stack_poll(c->st, (int64_t)t, 0);
		anyload_stack_info(c->st, &info);
		if (!info.pkt_tx_ring && !info.pkt_neigh_wait)
			break;
		t = kp_now_ns();
		if (t - t0 > KP_DRAIN_NS) {
			fprintf(stderr, "stack_pingpong: %u frames still "
				"unsent at exit\n",
				info.pkt_tx_ring + info.pkt_neigh_wait);
			break;
		}
	}
}

int main(int argc, char **argv)
{
	struct kp_opts o;
	struct kp_ctx c = { .st = NULL, .sd = -1, .rx = NULL };
	uint64_t *rtt = NULL;
	long echoed;
	int rc;

	if (kp_parse_args(argc, argv, &o, true) < 0)
		return 2;
	if (o.tcp) {
		fprintf(stderr, "stack_pingpong: UDP only; the TCP ping-pong"
			" over the stack is stack_tcp_pingpong\n");
		return 2;
	}
	printf("# stack_pingpong\n");
	printf("# mode: %s\n", o.ping ? "ping" : "pong");
	printf("# interface: %s\n", o.ifname);
	printf("# udp payload len: %zu\n", o.paylen);
	printf("# iterations: %ld\n", o.iters);
	printf("# warmups: %ld\n", o.warmups);
	printf("# local: %s:%u remote: %s:%u\n",
	       o.local_ip ? o.local_ip : "*", o.port,
	       o.remote_ip ? o.remote_ip : "(sender)", o.port);
	fflush(stdout);

	c.rx = malloc(KP_MAX_PAYLEN);
	if (!c.rx) {
		fprintf(stderr, "stack_pingpong: out of memory\n");
		return 1;
	}
	if (kp_open(&o, &c) < 0) {
		free(c.rx);
		return 1;
	}
	if (!o.ping) {
		rc = kp_pong(&c, &o, &echoed);
		kp_drain(&c);
		printf("# pong: echoed %ld messages\n", echoed);
		goto close_stack;
	}

	rtt = calloc((size_t)o.iters, sizeof(*rtt));
	if (!rtt) {
		fprintf(stderr, "stack_pingpong: out of memory\n");
		rc = -ENOMEM;
		goto close_stack;
	}
	rc = kp_ping(&c, &o, rtt);
	if (rc == 0 && o.raw_file)
		rc = kp_write_raw(o.raw_file, rtt, o.iters);
	if (rc == 0)
		kp_print_stats(&o, rtt);
	free(rtt);

close_stack:
	anyload_stack_destroy(c.st);
	free(c.rx);
	return rc < 0 ? 1 : 0;
}
