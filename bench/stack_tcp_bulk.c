// SPDX-License-Identifier: BSD-2-Clause
/*
 * stack_tcp_bulk: one bulk TCP transfer over anyload's user-space stack
 * (include/anyload/stack.h, anyload_tcp_*), against any TCP peer (the
 * kernel's, in the tests and benchmarks). Used by
 * tests/integration/tcp_integrity*.sh (1 GiB each way, checked by
 * SHA-256) and by bench/run.sh (the stack's bulk throughput).
 *
 * send: connects to -r IP:PORT, sends -b BYTES (or for -d SECONDS) of a
 *   pseudo-random stream (splitmix64 from -x SEED), then shuts down its
 *   side and waits for the peer to close (so every byte was received and
 *   acknowledged).
 * recv: listens on -l IP:PORT, accepts one connection, reads until the
 *   end of the stream, closes. -P MS:BYTES stops reading for MS ms after
 *   every BYTES read (the stack keeps polling: the window closes, the
 *   peer probes it, the window update after the pause opens it).
 * sha256: hashes stdin with this program's SHA-256 and prints the digest
 *   (to check the implementation against sha256sum).
 *
 * Both ends hash every byte (bench/sha256.h) unless -H. At the end one
 * line "RESULT role=send|recv bytes=N sha256=HEX secs=S gbps=G" goes to
 * stdout, then "STATS name=value ..." with the connection's non-zero
 * counters (anyload_tcp_stats) and tcpi_total_retrans, and "STACK
 * name=value ..." with the stack's (anyload_stack_stats). secs runs from the
 * connection's establishment to the peer's FIN (send) or to the end of
 * the stream (recv).
 *
 * The stack is busy-polled on this thread; the clock is read once per
 * loop and passed as the stack's now. Every wait is bounded (-t: give up
 * after that long without progress), so a run always ends.
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
#include <unistd.h>

#include "parse_size.h"
#include "sha256.h"

#define TB_CHUNK		(256u * 1024u)	/* bytes per send / recv call */
#define TB_DEFAULT_PORT		5201
#define TB_DEFAULT_TIMEOUT_S	20
#define TB_DRAIN_NS		2000000000LL	/* closing handshake */
#define TB_RETRY_NS		100000000LL	/* re-connect when refused */

struct tb_opts {
	const char *mode;
	const char *ifname;
	const char *local_ip;
	const char *remote_ip;
	unsigned port;
	uint64_t bytes;		/* send: stream length (0 with -d) */
	unsigned secs;		/* send: duration instead of bytes */
	int rcvbuf;		/* 0: the stack's default */
	int sndbuf;
	bool hash;
	bool no_gso;
	unsigned pause_ms;	/* recv: pause after every pause_every bytes */
	uint64_t pause_every;
	uint64_t seed;
	unsigned timeout_s;
	const char *cc;		/* TCP_CONGESTION, or NULL */
};

struct tb {
	struct anyload_stack *st;
	int sd;
	unsigned char *buf;
	struct sha256_ctx sha;
	uint64_t bytes;
	int64_t t_start, t_end;
};

static void tb_usage(FILE *f)
{
	fprintf(f,
		"usage: stack_tcp_bulk [options] send|recv IFNAME\n"
		"       stack_tcp_bulk sha256 < FILE\n"
		"  -l IP        local address (recv: to listen on; default any)\n"
		"  -r IP        remote address (send: required)\n"
		"  -p PORT      TCP port (default %d)\n"
		"  -b BYTES     send: bytes to send (suffix K, M, G: binary)\n"
		"  -d SECS      send: send for this long instead\n"
		"  -R BYTES     SO_RCVBUF of the stack's socket\n"
		"  -S BYTES     SO_SNDBUF of the stack's socket\n"
		"  -P MS:BYTES  recv: stop reading MS ms after every BYTES\n"
		"  -x SEED      send: seed of the pseudo-random stream (1)\n"
		"  -C NAME      TCP_CONGESTION (reno, cubic)\n"
		"  -H           do not hash (throughput runs)\n"
		"  -G           no TCP super-frames (ANYLOAD_STACK_F_NO_TCP_GSO):\n"
		"               every segment through the VI's ring\n"
		"  -t SECS      give up after this long without progress"
		" (default %d)\n",
		TB_DEFAULT_PORT, TB_DEFAULT_TIMEOUT_S);
}

static int64_t tb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void tb_err(const char *what, long rc)
{
	fprintf(stderr, "stack_tcp_bulk: %s: %s\n", what, strerror((int)-rc));
}

static int tb_parse_args(int argc, char **argv, struct tb_opts *o)
{
	uint64_t v;
	char *colon;
	int c;

	*o = (struct tb_opts) {
		.port = TB_DEFAULT_PORT,
		.hash = true,
		.seed = 1,
		.timeout_s = TB_DEFAULT_TIMEOUT_S,
	};
	while ((c = getopt(argc, argv, "l:r:p:b:d:R:S:P:x:C:HGt:h")) != -1) {
		switch (c) {
		case 'l': o->local_ip = optarg; break;
		case 'r': o->remote_ip = optarg; break;
		case 'p':
			if (parse_size(optarg, 65535, &v) < 0 || v == 0)
				goto bad;
			o->port = (unsigned)v;
			break;
		case 'b':
			if (parse_size(optarg, UINT64_C(1) << 50, &v) < 0)
				goto bad;
			o->bytes = v;
			break;
		case 'd':
			if (parse_size(optarg, 86400, &v) < 0 || v == 0)
				goto bad;
			o->secs = (unsigned)v;
			break;
		case 'R':
			if (parse_size(optarg, 1u << 30, &v) < 0 || v == 0)
				goto bad;
			o->rcvbuf = (int)v;
			break;
		case 'S':
			if (parse_size(optarg, 1u << 30, &v) < 0 || v == 0)
				goto bad;
			o->sndbuf = (int)v;
			break;
		case 'P':
			colon = strchr(optarg, ':');
			if (!colon)
				goto bad;
			*colon = '\0';
			if (parse_size(optarg, 60000, &v) < 0)
				goto bad;
			o->pause_ms = (unsigned)v;
			if (parse_size(colon + 1, UINT64_C(1) << 50, &v) < 0 ||
			    v == 0)
				goto bad;
			o->pause_every = v;
			break;
		case 'x':
			if (parse_size(optarg, UINT64_MAX, &v) < 0)
				goto bad;
			o->seed = v;
			break;
		case 'C': o->cc = optarg; break;
		case 'H': o->hash = false; break;
		case 'G': o->no_gso = true; break;
		case 't':
			if (parse_size(optarg, 86400, &v) < 0 || v == 0)
				goto bad;
			o->timeout_s = (unsigned)v;
			break;
		case 'h':
			tb_usage(stdout);
			exit(0);
		default:
			tb_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		tb_usage(stderr);
		return -EINVAL;
	}
	o->mode = argv[optind++];
	if (strcmp(o->mode, "sha256") == 0)
		return optind == argc ? 0 : -EINVAL;
	if ((strcmp(o->mode, "send") && strcmp(o->mode, "recv")) ||
	    optind != argc - 1) {
		tb_usage(stderr);
		return -EINVAL;
	}
	o->ifname = argv[optind];
	if (strcmp(o->mode, "send") == 0 &&
	    (!o->remote_ip || (!o->bytes && !o->secs))) {
		fprintf(stderr, "stack_tcp_bulk: send needs -r and -b or -d\n");
		return -EINVAL;
	}
	return 0;

bad:
	fprintf(stderr, "stack_tcp_bulk: bad value for -%c: %s\n", c, optarg);
	return -EINVAL;
}

static int tb_addr(const char *ip, unsigned port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (ip && inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, "stack_tcp_bulk: bad IPv4 address %s\n", ip);
		return -EINVAL;
	}
	return 0;
}

/* tb_gen: fill n bytes with the next bytes of the splitmix64 stream
 * (each 64-bit output little-endian; a tail shorter than 8 bytes takes
 * the first bytes of one more output). */
static void tb_gen(uint64_t *state, unsigned char *p, size_t n)
{
	uint64_t z;

	for (;;) {
		*state += 0x9e3779b97f4a7c15ull;
		z = *state;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		if (n < 8) {
			memcpy(p, &z, n);
			return;
		}
		memcpy(p, &z, 8);
		p += 8;
		n -= 8;
	}
}

/* tb_socket: a TCP socket with the options of o set (before connect or
 * listen, so that the window scale follows the buffer). */
static int tb_socket(struct tb *t, const struct tb_opts *o)
{
	int sd, rc;

	sd = anyload_tcp_open(t->st);
	if (sd < 0) {
		tb_err("anyload_tcp_open", sd);
		return sd;
	}
	if (o->rcvbuf && (rc = anyload_tcp_setsockopt(t->st, sd, SOL_SOCKET,
			SO_RCVBUF, &o->rcvbuf, sizeof(int), tb_now())) < 0)
		goto fail;
	if (o->sndbuf && (rc = anyload_tcp_setsockopt(t->st, sd, SOL_SOCKET,
			SO_SNDBUF, &o->sndbuf, sizeof(int), tb_now())) < 0)
		goto fail;
	if (o->cc && (rc = anyload_tcp_setsockopt(t->st, sd, IPPROTO_TCP,
			TCP_CONGESTION, o->cc, (socklen_t)strlen(o->cc),
			tb_now())) < 0)
		goto fail;
	return sd;

fail:
	tb_err("anyload_tcp_setsockopt", rc);
	anyload_tcp_close(t->st, sd, tb_now());
	return rc;
}

/* tb_connect: connect to the peer, retrying (a new socket every
 * TB_RETRY_NS) while it refuses, for the timeout at most. Sets t->sd and
 * t->t_start. Returns 0 or a negative errno. */
static int tb_connect(struct tb *t, const struct tb_opts *o)
{
	const int64_t deadline = tb_now() + (int64_t)o->timeout_s * 1000000000LL;
	struct sockaddr_in local, remote;
	int rc;

	if (tb_addr(o->remote_ip, o->port, &remote) < 0)
		return -EINVAL;
	if (o->local_ip && tb_addr(o->local_ip, 0, &local) < 0)
		return -EINVAL;
	for (;;) {
		int64_t now = tb_now(), t_try = now;

		t->sd = tb_socket(t, o);
		if (t->sd < 0)
			return t->sd;
		if (o->local_ip && (rc = anyload_tcp_bind(t->st, t->sd, &local,
						sizeof(local))) < 0) {
			tb_err("anyload_tcp_bind", rc);
			return rc;
		}
		rc = anyload_tcp_connect(t->st, t->sd, &remote,
					 sizeof(remote), now);
		while (rc == -EINPROGRESS || rc == -EALREADY) {
			now = tb_now();
			anyload_stack_poll(t->st, now, 0);
			if (now > deadline)
				break;
			if (!(anyload_tcp_poll(t->st, t->sd) &
			      (POLLOUT | POLLERR | POLLHUP)))
				continue;
			rc = anyload_tcp_connect(t->st, t->sd, &remote,
						 sizeof(remote), now);
		}
		if (rc == 0 || rc == -EISCONN) {
			t->t_start = tb_now();
			return 0;
		}
		anyload_tcp_close(t->st, t->sd, now);
		t->sd = -1;
		if (rc != -ECONNREFUSED && rc != -EINPROGRESS &&
		    rc != -EALREADY) {
			tb_err("anyload_tcp_connect", rc);
			return rc;
		}
		if (now > deadline) {
			fprintf(stderr, "stack_tcp_bulk: could not connect"
				" in %u s\n", o->timeout_s);
			return -ETIMEDOUT;
		}
		while (tb_now() - t_try < TB_RETRY_NS)
			anyload_stack_poll(t->st, tb_now(), 0);
	}
}

/* tb_accept: listen and take one connection. */
static int tb_accept(struct tb *t, const struct tb_opts *o)
{
	const int64_t deadline = tb_now() + (int64_t)o->timeout_s * 1000000000LL;
	struct sockaddr_in local;
	int lsd, rc;

	if (tb_addr(o->local_ip, o->port, &local) < 0)
		return -EINVAL;
	lsd = tb_socket(t, o);
	if (lsd < 0)
		return lsd;
	rc = anyload_tcp_bind(t->st, lsd, &local, sizeof(local));
	if (rc < 0) {
		tb_err("anyload_tcp_bind", rc);
		return rc;
	}
	rc = anyload_tcp_listen(t->st, lsd, 1);
	if (rc < 0) {
		tb_err("anyload_tcp_listen", rc);
		return rc;
	}
	printf("LISTENING port=%u\n", o->port);
	fflush(stdout);
	for (;;) {
		int64_t now = tb_now();

		anyload_stack_poll(t->st, now, 0);
		rc = anyload_tcp_accept(t->st, lsd, NULL, now);
		if (rc >= 0)
			break;
		if (rc != -EAGAIN) {
			tb_err("anyload_tcp_accept", rc);
			return rc;
		}
		if (now > deadline) {
			fprintf(stderr, "stack_tcp_bulk: no connection in"
				" %u s\n", o->timeout_s);
			return -ETIMEDOUT;
		}
	}
	t->sd = rc;
	t->t_start = tb_now();
	anyload_tcp_close(t->st, lsd, t->t_start);
	return 0;
}

/* tb_wait_eof: read until the end of the stream (the peer's FIN); any
 * data is an error for a sender. Returns 0 or a negative errno. */
static int tb_wait_eof(struct tb *t, const struct tb_opts *o)
{
	const int64_t limit = (int64_t)o->timeout_s * 1000000000LL;
	int64_t t0 = tb_now();
	unsigned char b[64];
	struct iovec iov = { b, sizeof(b) };

	for (;;) {
		int64_t now = tb_now();
		ssize_t n;

		anyload_stack_poll(t->st, now, 0);
		n = anyload_tcp_recv(t->st, t->sd, &iov, 1, 0, now);
		if (n == 0)
			return 0;
		if (n > 0) {
			fprintf(stderr, "stack_tcp_bulk: unexpected data from"
				" the receiver\n");
			return -EPROTO;
		}
		if (n != -EAGAIN) {
			tb_err("waiting for the peer's FIN", n);
			return (int)n;
		}
		if (now - t0 > limit) {
			fprintf(stderr, "stack_tcp_bulk: no FIN from the peer"
				" in %u s\n", o->timeout_s);
			return -ETIMEDOUT;
		}
	}
}

static int tb_send(struct tb *t, const struct tb_opts *o)
{
	const int64_t limit = (int64_t)o->timeout_s * 1000000000LL;
	const int64_t t_stop = o->secs ?
		tb_now() + (int64_t)o->secs * 1000000000LL : INT64_MAX;
	uint64_t state = o->seed, generated = 0;
	size_t off = 0, pend = 0;
	int64_t t_progress;
	int rc;

	rc = tb_connect(t, o);
	if (rc < 0)
		return rc;
	t_progress = t->t_start;
	for (;;) {
		int64_t now = tb_now();
		struct iovec iov;
		ssize_t n;

		anyload_stack_poll(t->st, now, 0);
		if (pend == 0) {
			size_t chunk = TB_CHUNK;

			if (o->secs ? now >= t_stop : generated >= o->bytes)
				break;
			if (!o->secs && o->bytes - generated < chunk)
				chunk = (size_t)(o->bytes - generated);
			tb_gen(&state, t->buf, chunk);
			if (o->hash)
				sha256_update(&t->sha, t->buf, chunk);
			generated += chunk;
			off = 0;
			pend = chunk;
		}
		iov.iov_base = t->buf + off;
		iov.iov_len = pend;
		n = anyload_tcp_send(t->st, t->sd, &iov, 1, 0, now);
		if (n > 0) {
			off += (size_t)n;
			pend -= (size_t)n;
			t->bytes += (uint64_t)n;
			t_progress = now;
		} else if (n != -EAGAIN) {
			tb_err("anyload_tcp_send", n);
			return (int)n;
		} else if (now - t_progress > limit) {
			fprintf(stderr, "stack_tcp_bulk: send buffer full for"
				" %u s after %" PRIu64 " bytes\n",
				o->timeout_s, t->bytes);
			return -ETIMEDOUT;
		}
	}
	rc = anyload_tcp_shutdown(t->st, t->sd, SHUT_WR, tb_now());
	if (rc < 0) {
		tb_err("anyload_tcp_shutdown", rc);
		return rc;
	}
	rc = tb_wait_eof(t, o);
	t->t_end = tb_now();
	return rc;
}

static int tb_recv(struct tb *t, const struct tb_opts *o)
{
	const int64_t limit = (int64_t)o->timeout_s * 1000000000LL;
	uint64_t next_pause = o->pause_every ? o->pause_every : UINT64_MAX;
	int64_t t_progress, pause_until = 0;
	int rc;

	rc = tb_accept(t, o);
	if (rc < 0)
		return rc;
	t_progress = t->t_start;
	for (;;) {
		int64_t now = tb_now();
		struct iovec iov = { t->buf, TB_CHUNK };
		ssize_t n;

		anyload_stack_poll(t->st, now, 0);
		if (now < pause_until)
			continue;
		if (t->bytes >= next_pause) {
			pause_until = now + (int64_t)o->pause_ms * 1000000;
			next_pause += o->pause_every;
			t_progress = pause_until;
			continue;
		}
		if (next_pause - t->bytes < iov.iov_len)
			iov.iov_len = (size_t)(next_pause - t->bytes);
		n = anyload_tcp_recv(t->st, t->sd, &iov, 1, 0, now);
		if (n > 0) {
			if (o->hash)
				sha256_update(&t->sha, t->buf, (size_t)n);
			t->bytes += (uint64_t)n;
			t_progress = now;
		} else if (n == 0) {
			break;
		} else if (n != -EAGAIN) {
			tb_err("anyload_tcp_recv", n);
			return (int)n;
		} else if (now - t_progress > limit) {
			fprintf(stderr, "stack_tcp_bulk: nothing received for"
				" %u s after %" PRIu64 " bytes\n",
				o->timeout_s, t->bytes);
			return -ETIMEDOUT;
		}
	}
	t->t_end = tb_now();
	return 0;
}

/* tb_print_stack_stats: the stack's non-zero counters, on one line. */
static void tb_print_stack_stats(struct tb *t)
{
	unsigned n = anyload_stack_stat_count(), i;
	uint64_t *v = calloc(n, sizeof(*v));

	printf("STACK");
	if (v && anyload_stack_stats(t->st, v, n, 0) == (int)n) {
		for (i = 0; i < n; i++)
			if (v[i])
				printf(" %s=%" PRIu64,
				       anyload_stack_stat_name(i), v[i]);
	}
	printf("\n");
	free(v);
}

/* tb_print_stats: the connection's non-zero counters and its total
 * retransmissions, on one line. */
static void tb_print_stats(struct tb *t)
{
	unsigned n = anyload_tcp_stat_count(), i;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	uint64_t *v = calloc(n, sizeof(*v));

	printf("STATS");
	if (v && anyload_tcp_stats(t->st, t->sd, v, n) == (int)n) {
		for (i = 0; i < n; i++)
			if (v[i])
				printf(" %s=%" PRIu64, anyload_tcp_stat_name(i),
				       v[i]);
	}
	memset(&ti, 0, sizeof(ti));
	if (anyload_tcp_getsockopt(t->st, t->sd, IPPROTO_TCP, TCP_INFO, &ti,
				   &len) == 0)
		printf(" tcpi_total_retrans=%u tcpi_snd_mss=%u"
		       " tcpi_rcv_mss=%u", ti.tcpi_total_retrans,
		       ti.tcpi_snd_mss, ti.tcpi_rcv_mss);
	printf("\n");
	free(v);
}

/* tb_close: close the connection and poll until the closing handshake is
 * done (nothing but TIME_WAIT left, every frame sent), for TB_DRAIN_NS at
 * most. */
static void tb_close(struct tb *t)
{
	int64_t t0 = tb_now(), now = t0;
	struct anyload_stack_info info;

	anyload_tcp_close(t->st, t->sd, now);
	t->sd = -1;
	for (;;) {
		anyload_stack_poll(t->st, now, 0);
		anyload_stack_info(t->st, &info);
		if (info.tcp_connections == info.tcp_time_wait &&
		    !info.pkt_tx_ring && !info.pkt_neigh_wait)
			return;
		now = tb_now();
		if (now - t0 > TB_DRAIN_NS) {
			fprintf(stderr, "stack_tcp_bulk: %u connections not"
				" closed after %lld ms\n",
				info.tcp_connections - info.tcp_time_wait,
				TB_DRAIN_NS / 1000000);
			return;
		}
	}
}

static int tb_sha256_stdin(void)
{
	static unsigned char b[1 << 16];
	unsigned char d[SHA256_DIGEST];
	char hex[2 * SHA256_DIGEST + 1];
	struct sha256_ctx c;
	size_t n;

	sha256_init(&c);
	while ((n = fread(b, 1, sizeof(b), stdin)) > 0)
		sha256_update(&c, b, n);
	if (ferror(stdin)) {
		perror("stack_tcp_bulk: stdin");
		return 1;
	}
	sha256_final(&c, d);
	sha256_hex(d, hex);
	printf("%s\n", hex);
	return 0;
}

int main(int argc, char **argv)
{
	struct anyload_stack_config cfg;
	struct tb t = { .sd = -1 };
	struct tb_opts o;
	unsigned char d[SHA256_DIGEST];
	char hex[2 * SHA256_DIGEST + 1] = "-";
	double secs;
	int rc;

	if (tb_parse_args(argc, argv, &o) < 0)
		return 2;
	if (strcmp(o.mode, "sha256") == 0)
		return tb_sha256_stdin();

	t.buf = malloc(TB_CHUNK);
	if (!t.buf) {
		fprintf(stderr, "stack_tcp_bulk: out of memory\n");
		return 1;
	}
	sha256_init(&t.sha);
	anyload_stack_config_init(&cfg);
	cfg.ifname = o.ifname;
	if (o.no_gso)
		cfg.flags |= ANYLOAD_STACK_F_NO_TCP_GSO;
	rc = anyload_stack_create(&cfg, NULL, &t.st);
	if (rc < 0) {
		tb_err("anyload_stack_create", rc);
		free(t.buf);
		return 1;
	}
	rc = strcmp(o.mode, "send") == 0 ? tb_send(&t, &o) : tb_recv(&t, &o);
	if (rc == 0) {
		if (o.hash) {
			sha256_final(&t.sha, d);
			sha256_hex(d, hex);
		}
		secs = (double)(t.t_end - t.t_start) / 1e9;
		printf("RESULT role=%s bytes=%" PRIu64 " sha256=%s secs=%.3f"
		       " gbps=%.3f\n", o.mode, t.bytes, hex, secs,
		       secs > 0 ? (double)t.bytes * 8 / secs / 1e9 : 0.0);
	}
	if (t.sd >= 0) {
		tb_print_stats(&t);
		tb_close(&t);
	}
	tb_print_stack_stats(&t);
	fflush(stdout);
	anyload_stack_destroy(t.st);
	free(t.buf);
	return rc < 0 ? 1 : 0;
}
