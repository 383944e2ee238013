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
 * -T runs the same exchange over TCP: pong listens on local:port and
 * accepts one connection, ping connects to it (retried while refused, so
 * the pong side may start late) and both set TCP_NODELAY; each message is
 * exactly -s bytes of the stream, read until complete, and nothing is ever
 * resent.
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
#include <netinet/tcp.h>
#include <poll.h>
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
		"  -p PORT  UDP (TCP) port on both sides (default %d)\n"
		"  -s LEN   message length, %d..%d (default %d)\n"
		"  -n N     measured iterations (default %d)\n"
		"  -w N     warm-up iterations (default %d)\n"
		"  -o FILE  write each round-trip time in ns, one per line\n"
		"  -t SEC   give up when the peer is silent this long"
		" (default %d)\n"
		"  -T       over TCP (pong listens, ping connects)\n",
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

/* kp_tcp_open: the TCP connection of -T, non-blocking with TCP_NODELAY:
 * pong accepts one connection on local:port, ping connects to
 * remote:port, retrying every 10 ms while refused, for the timeout at
 * most. Returns the fd or a negative errno. */
static int kp_tcp_open(const struct kp_opts *o)
{
	const uint64_t deadline = kp_now_ns() +
		(uint64_t)o->timeout_s * 1000000000ULL;
	struct sockaddr_in sa;
	struct pollfd pfd;
	int fd = -1, lfd, one = 1, rc;

	if (o->ping) {
		rc = kp_addr(o->remote_ip, o->port, &sa);
		if (rc < 0)
			return rc;
		for (;;) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0)
				goto fail;
			if (connect(fd, (struct sockaddr *)&sa,
				    sizeof(sa)) == 0)
				break;
			rc = -errno;
			close(fd);
			fd = -1;
			if (rc != -ECONNREFUSED || kp_now_ns() > deadline) {
				errno = -rc;
				goto fail;
			}
			usleep(10000);
		}
	} else {
		rc = kp_addr(o->local_ip, o->port, &sa);
		if (rc < 0)
			return rc;
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0)
			goto fail;
		if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) < 0 ||
		    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(lfd, 1) < 0) {
			rc = -errno;
			close(lfd);
			errno = -rc;
			goto fail;
		}
		pfd.fd = lfd;
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, (int)o->timeout_s * 1000);
		if (rc > 0)
			fd = accept(lfd, NULL, NULL);
		else if (rc == 0)
			errno = ETIMEDOUT;
		rc = -errno;
		close(lfd);
		if (fd < 0) {
			errno = -rc;
			goto fail;
		}
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	return fd;

fail:
	rc = -errno;
	perror(o->ping ? "kernel_pingpong: connect" :
	       "kernel_pingpong: accept");
	if (fd >= 0)
		close(fd);
	return rc;
}

/* kp_tcp_send: send the whole message (a full socket buffer, which a
 * ping-pong never reaches, is waited out). Returns 0 or a negative
 * errno. */
static int kp_tcp_send(int fd, const unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
		} else if (errno != EAGAIN && errno != EINTR) {
			perror("kernel_pingpong: send");
			return -errno;
		}
	}
	return 0;
}

/* kp_tcp_recv: one non-blocking read towards the next message of len
 * bytes, *have of which are in buf already. Returns 1 when the message is
 * complete (*have is then reset), 0 when not yet, -ECONNRESET when the
 * peer closed, or another negative errno. */
static int kp_tcp_recv(int fd, unsigned char *buf, size_t len, size_t *have)
{
	ssize_t n = recv(fd, buf + *have, len - *have, MSG_DONTWAIT);

	if (n > 0) {
		*have += (size_t)n;
		if (*have < len)
			return 0;
		*have = 0;
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "kernel_pingpong: the peer closed the"
			" connection\n");
		return -ECONNRESET;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	perror("kernel_pingpong: recv");
	return -errno;
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

/* kp_tcp_ping: kp_ping over the TCP connection of -T. */
static int kp_tcp_ping(int fd, const struct kp_opts *o, uint64_t *rtt)
{
	const uint64_t timeout_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	const long total = o->warmups + o->iters;
	unsigned char *tx, *rx;
	size_t have = 0;
	int rc = 0;
	long i;

	tx = calloc(1, o->paylen);
	rx = malloc(o->paylen);
	if (!tx || !rx) {
		rc = -ENOMEM;
		goto free_bufs;
	}
	for (i = 0; i < total && rc == 0; i++) {
		uint32_t be = htonl((uint32_t)i);
		uint64_t t_start;
		unsigned polls = 0;

		memcpy(tx, &be, sizeof(be));
		t_start = kp_now_ns();
		rc = kp_tcp_send(fd, tx, o->paylen);
		while (rc == 0) {
			rc = kp_tcp_recv(fd, rx, o->paylen, &have);
			if (rc == 1 && kp_seq(rx) != (uint32_t)i) {
				fprintf(stderr, "kernel_pingpong: echo %u for"
					" message %ld\n", kp_seq(rx), i);
				rc = -EPROTO;
			}
			if (rc != 0 || ++polls % KP_CLOCK_EVERY)
				continue;
			if (kp_now_ns() - t_start > timeout_ns) {
				fprintf(stderr, "kernel_pingpong: no answer "
					"to message %ld for %u s\n", i,
					o->timeout_s);
				rc = -ETIMEDOUT;
			}
		}
		if (rc == 1) {
			rc = 0;
			if (i >= o->warmups)
				rtt[i - o->warmups] = kp_now_ns() - t_start;
		}
	}

free_bufs:
	free(rx);
	free(tx);
	return rc;
}

/* kp_tcp_pong: kp_pong over the TCP connection of -T. */
static int kp_tcp_pong(int fd, const struct kp_opts *o, long *echoed)
{
	const uint64_t timeout_ns = (uint64_t)o->timeout_s * 1000000000ULL;
	const uint32_t last = (uint32_t)(o->warmups + o->iters - 1);
	uint64_t t_last = kp_now_ns();
	unsigned char *rx;
	unsigned polls = 0;
	size_t have = 0;
	int rc;

	*echoed = 0;
	rx = malloc(o->paylen);
	if (!rx)
		return -ENOMEM;
	for (;;) {
		rc = kp_tcp_recv(fd, rx, o->paylen, &have);
		if (rc < 0)
			break;
		if (rc == 0) {
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
		rc = kp_tcp_send(fd, rx, o->paylen);
		if (rc < 0)
			break;
		(*echoed)++;
		polls = 0;
		if (kp_seq(rx) == last)
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
	printf("# protocol: %s\n", o.tcp ? "tcp" : "udp");
	printf("# %s len: %zu\n", o.tcp ? "message" : "udp payload",
	       o.paylen);
	printf("# iterations: %ld\n", o.iters);
	printf("# warmups: %ld\n", o.warmups);
	printf("# local: %s:%u remote: %s:%u\n",
	       o.local_ip ? o.local_ip : "*", o.port,
	       o.remote_ip ? o.remote_ip : "(sender)", o.port);
	fflush(stdout);

	fd = o.tcp ? kp_tcp_open(&o) : kp_open(&o);
	if (fd < 0)
		return 1;
	if (!o.ping) {
		rc = o.tcp ? kp_tcp_pong(fd, &o, &echoed) :
			     kp_pong(fd, &o, &echoed);
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
	rc = o.tcp ? kp_tcp_ping(fd, &o, rtt) : kp_ping(fd, &o, rtt);
	close(fd);
	if (rc == 0 && o.raw_file)
		rc = kp_write_raw(o.raw_file, rtt, o.iters);
	if (rc == 0)
		kp_print_stats(&o, rtt);
	free(rtt);
	return rc < 0 ? 1 : 0;
}
