// SPDX-License-Identifier: BSD-2-Clause
/*
 * kernel_pingpong: the kernel reference for anyload's latency benchmark. A
 * UDP ping-pong over ordinary kernel sockets, both ends spinning on
 * non-blocking receives, so that the only difference to eflatency over
 * anyload is the path of the packets, not the waiting strategy.
 *
 * ping: sends a message (its first 4 bytes carry a sequence number), spins
 * until the echo of that sequence number is back, and records the round
 * trip with CLOCK_MONOTONIC; warm-up round trips are not recorded. Until
 * the first echo arrives the first message is re-sent every 10 ms, so the
 * pong side may start late.
 * pong: echoes every message it receives back to its sender, and exits
 * once it has echoed the last sequence number (warm-ups + iterations - 1).
 *
 * Both sides give up with an error when nothing arrives for the timeout
 * (-t), so a run always ends. The output has the format of anyload's
 * eflatency: '#' header lines, then one tab-separated data line with the
 * payload length and the round-trip statistics in microseconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KP_PROG "kernel_pingpong"
#include "pingpong_common.h"

static void kp_usage(FILE *f)
{
	fprintf(f,
		"usage: kernel_pingpong [options] ping|pong\n"
		"  -l IP    local address to bind (default any)\n"
		"  -r IP    remote address (required for ping; pong answers the"
		" sender)\n"
		"  -p PORT  UDP port on both sides (default %d)\n"
		"  -s LEN   UDP payload length, %d..%d (default %d)\n"
		"  -n N     measured iterations (default %d)\n"
		"  -w N     warm-up iterations (default %d)\n"
		"  -o FILE  write each round-trip time in ns, one per line\n"
		"  -t SEC   give up when the peer is silent this long"
		" (default %d)\n",
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
		fprintf(stderr, "kernel_pingpong: bad IPv4 address %s\n", ip);
		return -EINVAL;
	}
	return 0;
}

/* kp_open: a non-blocking UDP socket bound to local:port and, when remote
 * is given, connected to remote:port. Returns the fd or a negative errno. */
static int kp_open(const struct kp_opts *o)
{
	struct sockaddr_in local, remote;
	int fd, rc;

	rc = kp_addr(o->local_ip, o->port, &local);
	if (rc < 0)
		return rc;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		perror("kernel_pingpong: socket");
		return rc;
	}
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		rc = -errno;
		perror("kernel_pingpong: bind");
		goto close_fd;
	}
	if (o->remote_ip) {
		rc = kp_addr(o->remote_ip, o->port, &remote);
		if (rc < 0)
			goto close_fd;
		if (connect(fd, (struct sockaddr *)&remote,
			    sizeof(remote)) < 0) {
			rc = -errno;
			perror("kernel_pingpong: connect");
			goto close_fd;
		}
	}
	return fd;

close_fd:
	close(fd);
	return rc;
}

/* kp_send: send one message on a connected socket. A refused send (an ICMP
 * port unreachable from a peer that is not up yet) and a full socket
 * buffer count as sent: the caller's timeout handles a silent peer.
 * Returns 0 or a negative errno. */
static int kp_send(int fd, const void *buf, size_t len)
{
	if (send(fd, buf, len, MSG_DONTWAIT) >= 0)
		return 0;
	if (errno == ECONNREFUSED || errno == EAGAIN || errno == EINTR)
		return 0;
	perror("kernel_pingpong: send");
	return -errno;
}

/* kp_ping: run the ping side; rtt[] receives the measured round trips.
 * Returns 0, -ETIMEDOUT when the pong side fell silent, or another
 * negative errno. */
static int kp_ping(int fd, const struct kp_opts *o, uint64_t *rtt)
{
	const uint64_t timeout_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	const long total = o->warmups + o->iters;
	unsigned char *tx, *rx;
	int rc = 0;
	long i;

	tx = calloc(1, o->paylen);
	rx = malloc(KP_MAX_PAYLEN);
	if (!tx || !rx) {
		rc = -ENOMEM;
		goto free_bufs;
	}
	for (i = 0; i < total; i++) {
		uint32_t be = htonl((uint32_t)i);
		uint64_t t_start, t_sent, t_now;
		unsigned polls = 0;

		memcpy(tx, &be, sizeof(be));
		t_start = kp_now_ns();
		t_sent = t_start;
		rc = kp_send(fd, tx, o->paylen);
		if (rc < 0)
			goto free_bufs;
		for (;;) {
			ssize_t n = recv(fd, rx, KP_MAX_PAYLEN, MSG_DONTWAIT);

			if (n >= (ssize_t)sizeof(be) &&
			    kp_seq(rx) == (uint32_t)i)
				break;
			if (n < 0 && errno != EAGAIN && errno != EINTR &&
			    errno != ECONNREFUSED) {
				rc = -errno;
				perror("kernel_pingpong: recv");
				goto free_bufs;
			}
			/* n >= 0 here is a stale echo (a resent first
			 * message answered twice): keep waiting. */
			if (++polls % KP_CLOCK_EVERY)
				continue;
			t_now = kp_now_ns();
			if (t_now - t_start > timeout_ns) {
				fprintf(stderr, "kernel_pingpong: no answer "
					"to message %ld for %u s\n", i,
					o->timeout_s);
				rc = -ETIMEDOUT;
				goto free_bufs;
			}
			/* Until the pong side has answered once, it may not
			 * be up yet: resend the first message. */
			if (i == 0 && t_now - t_sent > KP_RETRY_NS) {
				t_sent = t_now;
				rc = kp_send(fd, tx, o->paylen);
				if (rc < 0)
					goto free_bufs;
			}
		}
		t_now = kp_now_ns();
		if (i >= o->warmups)
			rtt[i - o->warmups] = t_now - (i == 0 ? t_sent : t_start);
	}

free_bufs:
	free(rx);
	free(tx);
	return rc;
}

/* kp_pong: echo messages until the last sequence number has been echoed.
 * Returns 0, -ETIMEDOUT when the ping side fell silent, or another
 * negative errno. */
static int kp_pong(int fd, const struct kp_opts *o, long *echoed)
{
	const uint64_t timeout_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	const uint32_t last = (uint32_t)(o->warmups + o->iters - 1);
	bool connected = o->remote_ip != NULL;
	uint64_t t_last = kp_now_ns();
	unsigned char *rx;
	unsigned polls = 0;
	int rc = 0;

	*echoed = 0;
	rx = malloc(KP_MAX_PAYLEN);
	if (!rx)
		return -ENOMEM;
	for (;;) {
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		n = recvfrom(fd, rx, KP_MAX_PAYLEN, MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNREFUSED) {
				rc = -errno;
				perror("kernel_pingpong: recv");
				break;
			}
			if (++polls % KP_CLOCK_EVERY)
				continue;
			if (kp_now_ns() - t_last > timeout_ns) {
				fprintf(stderr, "kernel_pingpong: no message "
					"for %u s after %ld echoes\n",
					o->timeout_s, *echoed);
				rc = -ETIMEDOUT;
				break;
			}
			continue;
		}
		/* Without -r, answer whoever sent the first message. */
		if (!connected) {
			if (connect(fd, (struct sockaddr *)&from,
				    fromlen) < 0) {
				rc = -errno;
				perror("kernel_pingpong: connect");
				break;
			}
			connected = true;
		}
		rc = kp_send(fd, rx, (size_t)n);
		if (rc < 0)
			break;
		(*echoed)++;
		polls = 0;
		if (n >= (ssize_t)sizeof(uint32_t) && kp_seq(rx) == last)
			break;
		t_last = kp_now_ns();
	}
	free(rx);
	return rc;
}

int main(int argc, char **argv)
{
	struct kp_opts o;
	uint64_t *rtt = NULL;
	long echoed;
	int fd, rc;

	if (kp_parse_args(argc, argv, &o, false) < 0)
		return 2;
	printf("# kernel_pingpong\n");
	printf("# mode: %s\n", o.ping ? "ping" : "pong");
	printf("# udp payload len: %zu\n", o.paylen);
	printf("# iterations: %ld\n", o.iters);
	printf("# warmups: %ld\n", o.warmups);
	printf("# local: %s:%u remote: %s:%u\n",
	       o.local_ip ? o.local_ip : "*", o.port,
	       o.remote_ip ? o.remote_ip : "(sender)", o.port);
	fflush(stdout);

	fd = kp_open(&o);
	if (fd < 0)
		return 1;
	if (!o.ping) {
		rc = kp_pong(fd, &o, &echoed);
		printf("# pong: echoed %ld messages\n", echoed);
		close(fd);
		return rc < 0 ? 1 : 0;
	}

	rtt = calloc((size_t)o.iters, sizeof(*rtt));
	if (!rtt) {
		fprintf(stderr, "kernel_pingpong: out of memory\n");
		close(fd);
		return 1;
	}
	rc = kp_ping(fd, &o, rtt);
	close(fd);
	if (rc == 0 && o.raw_file)
		rc = kp_write_raw(o.raw_file, rtt, o.iters);
	if (rc == 0)
		kp_print_stats(&o, rtt);
	free(rtt);
	return rc < 0 ? 1 : 0;
}
