// SPDX-License-Identifier: BSD-2-Clause
/*
 * pingpong_common.h: what the UDP ping-pong benchmarks (kernel_pingpong
 * over kernel sockets, stack_pingpong over anyload's stack) share, so that
 * their options, sequence numbers and statistics are the same code: option
 * parsing, the clock, percentiles and the output lines (eflatency's
 * format), the raw-sample file. Each program defines KP_PROG (its name, for
 * messages) and kp_usage() before including this header. The TCP
 * ping-pongs (kernel_pingpong -T, stack_tcp_pingpong) use the same
 * messages, each exactly -s bytes of the byte stream.
 */
#ifndef ANYLOAD_BENCH_PINGPONG_COMMON_H
#define ANYLOAD_BENCH_PINGPONG_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KP_DEFAULT_PORT		8080
#define KP_DEFAULT_PAYLEN	28
#define KP_DEFAULT_ITERS	100000
#define KP_DEFAULT_WARMUPS	10000
#define KP_DEFAULT_TIMEOUT_S	30
#define KP_MIN_PAYLEN		4	/* room for the sequence number */
#define KP_MAX_PAYLEN		65507	/* largest UDP payload over IPv4 */
#define KP_MAX_ITERS		100000000L
#define KP_RETRY_NS		10000000ULL	/* first message resent every 10 ms */
#define KP_CLOCK_EVERY		64	/* polls between two clock reads */

struct kp_opts {
	const char *local_ip;
	const char *remote_ip;
	const char *ifname;	/* stack_pingpong only */
	unsigned port;
	size_t paylen;
	long iters;
	long warmups;
	const char *raw_file;
	unsigned timeout_s;
	bool ping;
	bool tcp;		/* -T: over TCP (kernel_pingpong) */
};

static void kp_usage(FILE *f);

static uint64_t kp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* kp_parse_long: parse a whole decimal number in [min, max]; returns 0 or
 * -EINVAL. */
static int kp_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* kp_parse_args: fill opts from argv: options, then ping|pong and, when
 * want_ifname, the interface. Returns 0, or -EINVAL after printing the
 * reason. */
static int kp_parse_args(int argc, char **argv, struct kp_opts *o,
			 bool want_ifname)
{
	long v;
	int c;

	*o = (struct kp_opts) {
		.port = KP_DEFAULT_PORT,
		.paylen = KP_DEFAULT_PAYLEN,
		.iters = KP_DEFAULT_ITERS,
		.warmups = KP_DEFAULT_WARMUPS,
		.timeout_s = KP_DEFAULT_TIMEOUT_S,
	};
	while ((c = getopt(argc, argv, "l:r:p:s:n:w:o:t:Th")) != -1) {
		switch (c) {
		case 'l':
			o->local_ip = optarg;
			break;
		case 'r':
			o->remote_ip = optarg;
			break;
		case 'p':
			if (kp_parse_long(optarg, 1, 65535, &v) < 0)
				goto bad_value;
			o->port = (unsigned)v;
			break;
		case 's':
			if (kp_parse_long(optarg, KP_MIN_PAYLEN, KP_MAX_PAYLEN,
					  &v) < 0)
				goto bad_value;
			o->paylen = (size_t)v;
			break;
		case 'n':
			if (kp_parse_long(optarg, 1, KP_MAX_ITERS, &v) < 0)
				goto bad_value;
			o->iters = v;
			break;
		case 'w':
			if (kp_parse_long(optarg, 0, KP_MAX_ITERS, &v) < 0)
				goto bad_value;
			o->warmups = v;
			break;
		case 'o':
			o->raw_file = optarg;
			break;
		case 't':
			if (kp_parse_long(optarg, 1, 86400, &v) < 0)
				goto bad_value;
			o->timeout_s = (unsigned)v;
			break;
		case 'T':
			o->tcp = true;
			break;
		case 'h':
			kp_usage(stdout);
			exit(0);
		default:
			kp_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc - 1 - want_ifname) {
		kp_usage(stderr);
		return -EINVAL;
	}
	if (strcmp(argv[optind], "ping") == 0) {
		o->ping = true;
	} else if (strcmp(argv[optind], "pong") != 0) {
		kp_usage(stderr);
		return -EINVAL;
	}
	if (want_ifname)
		o->ifname = argv[optind + 1];
	if (o->ping && !o->remote_ip) {
		fprintf(stderr, KP_PROG ": ping needs -r REMOTE_IP\n");
		return -EINVAL;
	}
	return 0;

bad_value:
	fprintf(stderr, KP_PROG ": bad value for -%c: %s\n", c, optarg);
	return -EINVAL;
}

static uint32_t kp_seq(const unsigned char *buf)
{
	uint32_t be;

	memcpy(&be, buf, sizeof(be));
	return ntohl(be);
}

static int kp_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* kp_pct: nearest-rank percentile of sorted samples. */
static uint64_t kp_pct(const uint64_t *s, long n, double pct)
{
	long rank = (long)((pct / 100.0) * (double)n + 0.999999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1];
}

static int kp_write_raw(const char *path, const uint64_t *rtt, long n)
{
	FILE *f = fopen(path, "w");
	long i;

	if (!f) {
		perror(KP_PROG ": open raw file");
		return -errno;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%" PRIu64 "\n", rtt[i]);
	if (fclose(f) != 0) {
		perror(KP_PROG ": write raw file");
		return -EIO;
	}
	return 0;
}

static void kp_print_stats(const struct kp_opts *o, uint64_t *rtt)
{
	const long n = o->iters;
	long double sum = 0;
	long i;

	for (i = 0; i < n; i++)
		sum += rtt[i];
	qsort(rtt, (size_t)n, sizeof(*rtt), kp_cmp_u64);
	printf("#\tpaylen\tmean\tmin\tmedian\t95%%ile\t99%%ile\t99.9%%ile"
	       "\tmax\n");
	printf("%zu\t%.3Lf\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n", o->paylen,
	       sum / n / 1000.0L, rtt[0] / 1000.0,
	       kp_pct(rtt, n, 50) / 1000.0, kp_pct(rtt, n, 95) / 1000.0,
	       kp_pct(rtt, n, 99) / 1000.0, kp_pct(rtt, n, 99.9) / 1000.0,
	       rtt[n - 1] / 1000.0);
}

#endif /* ANYLOAD_BENCH_PINGPONG_COMMON_H */
