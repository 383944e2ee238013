/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cp_probe: a scriptable control-plane client for tests/integration/
 * cplane.sh (not a test by itself). It opens a cp_mirror of the network
 * namespace it runs in, keeps it current (poll on cp_fd, cp_process)
 * while it waits for commands on stdin, and answers each command with one
 * line. Waits are bounded and measured: a wait command can run a shell
 * command first (system(3), in the same namespace) and then reports how
 * long after that command returned the mirror showed the expected state.
 *
 *   cp_probe [-t SECS]     exit with status 3 after SECS (default 60)
 *
 * Output lines (stdout, line-buffered):
 *   READY pid=PID                   the mirror is open
 *   R<n> ...                        the answer to the n-th command
 * Commands (IF is an interface name or index; A an IPv4 address, 0 none):
 *   dump FILE              -> R<n> dump rc=RC     (cp_dump into FILE)
 *   lookup DST SRC IF      -> R<n> lookup FIELDS  (IF 0: no oif)
 *   neigh IF A             -> R<n> neigh FIELDS
 *   rwait MS DST SRC IF K=V... [-- CMD]
 *   nwait MS IF A K=V... [-- CMD]
 *                          -> R<n> rwait|nwait ok us=N cmd_us=N FIELDS
 *                             or R<n> rwait|nwait timeout|cmdfail ...
 *                             run CMD (if any), then wait up to MS ms
 *                             until every K=V is among the FIELDS of
 *                             the lookup; us counts from CMD's return
 *   resolve IF A           -> R<n> resolve rc=RC
 *   confirm IF A           -> R<n> confirm rc=RC
 *   accel IF 0|1           -> R<n> accel rc=RC
 *   refresh                -> R<n> refresh rc=RC
 *   rcvbuf BYTES           -> R<n> rcvbuf rc=RC   (SO_RCVBUF of cp_fd: a
 *                             small one makes a burst overrun it)
 *   stats                  -> R<n> stats NAME=V ...
 *   quit                   -> exit status 0 (so does end of input)
 * Route FIELDS: rc type dev src nh mtu acc plen table metric flags pol
 * Neighbour FIELDS: rc state mac
 * (rc is the function's return value: 0, -101 ENETUNREACH, -113
 * EHOSTUNREACH, -11 EAGAIN ...)
 */
#include "cplane/cplane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct cp_mirror* cp;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int parse_if(const char *s)
{
	struct cp_link l;
	char *end;
	long v;

	if (cp_link_by_name(cp, s, &l) == 0)
		return l.ifindex;
	v = strtol(s, &end, 10);
	return (*end || v < 0) ? -1 : (int)v;
}

static int parse_ip(const char *s, uint32_t *a)
{
	if (!strcmp(s, "0")) {
		*a = 0;
		return 0;
	}
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

static const char *type_name(enum cp_route_type t)
{
	static const char *const names[] = {
		"unspec", "unicast", "local", "broadcast", "anycast",
		"multicast", "blackhole", "unreachable", "prohibit", "throw",
		"nat", "xresolve",
	};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ?
	       names[t] : "other";
}

static const char *state_name(uint16_t s)
{
	switch (s) {
	case NUD_INCOMPLETE: return "INCOMPLETE";
	case NUD_REACHABLE: return "REACHABLE";
	case NUD_STALE: return "STALE";
	case NUD_DELAY: return "DELAY";
	case NUD_PROBE: return "PROBE";
	case NUD_FAILED: return "FAILED";
	case NUD_NOARP: return "NOARP";
	case NUD_PERMANENT: return "PERMANENT";
	case NUD_NONE: return "NONE";
	default: return "OTHER";
	}
}

static void fmt_route(char *buf, size_t n, uint32_t dst, uint32_t src,
		      int oif)
{
	struct cp_route r;
	char s[INET_ADDRSTRLEN], h[INET_ADDRSTRLEN];
	int rc = cp_route_lookup(cp, dst, src, oif, &r);

	inet_ntop(AF_INET, &r.src_be32, s, sizeof(s));
	inet_ntop(AF_INET, &r.nexthop_be32, h, sizeof(h));
	snprintf(buf, n, "rc=%d type=%s dev=%d src=%s nh=%s mtu=%u acc=%d "
		 "plen=%d table=%d metric=%u flags=0x%x pol=%d", rc,
		 type_name(r.type), r.ifindex, s, h, r.mtu, r.accelerated,
		 r.prefix_len, r.table, r.metric, r.flags,
		 cp_has_policy_rules(cp));
}

static void fmt_neigh(char *buf, size_t n, int ifindex, uint32_t ip)
{
	struct cp_neigh e;
	int rc = cp_neigh_lookup(cp, ifindex, ip, &e);

	snprintf(buf, n, "rc=%d state=%s mac=%02x:%02x:%02x:%02x:%02x:%02x",
		 rc, state_name(e.state), e.mac[0], e.mac[1], e.mac[2],
		 e.mac[3], e.mac[4], e.mac[5]);
}

/* has_all: every "K=V" word of want[0..n) is a word of fields. */
static int has_all(const char *fields, char **want, int n)
{
	char padded[600];
	char pat[128];
	int i;

	snprintf(padded, sizeof(padded), " %s ", fields);
	for (i = 0; i < n; i++) {
		snprintf(pat, sizeof(pat), " %s ", want[i]);
		if (!strstr(padded, pat))
			return 0;
	}
	return 1;
}

/* process: apply what the kernel has sent; returns cp_process's rc. */
static int process(int timeout_ms)
{
	struct pollfd p = { .fd = cp_fd(cp), .events = POLLIN };

	if (timeout_ms > 0 && poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return cp_process(cp);
}

/* do_wait: the rwait and nwait commands. */
static void do_wait(int seq, const char *what, char **argv, int argc,
		    int is_route)
{
	int ms, n_args = is_route ? 4 : 3, n_want, i, oif = 0, ifindex = 0;
	uint32_t dst = 0, src = 0, ip = 0;
	char fields[512], cmd[1024] = "";
	uint64_t t0, t1, deadline;
	char **want;

	if (argc < n_args + 1) {
		printf("R%d %s error usage\n", seq, what);
		return;
	}
	ms = atoi(argv[0]);
	if (is_route) {
		if (parse_ip(argv[1], &dst) || parse_ip(argv[2], &src) ||
		    (oif = parse_if(argv[3])) < 0) {
			printf("R%d %s error args\n", seq, what);
			return;
		}
	} else {
		if ((ifindex = parse_if(argv[1])) < 0 ||
		    parse_ip(argv[2], &ip)) {
			printf("R%d %s error args\n", seq, what);
			return;
		}
	}
	want = argv + n_args;
	for (n_want = 0; n_args + n_want < argc &&
	     strcmp(want[n_want], "--"); n_want++)
		;
	for (i = n_args + n_want + 1; i < argc; i++) {
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
		strcat(cmd, " ");
	}
	t0 = now_us();
	if (cmd[0]) {
		int st = system(cmd);
		if (st != 0) {
			printf("R%d %s cmdfail status=%d\n", seq, what, st);
			return;
		}
	}
	t1 = now_us();
	deadline = t1 + (uint64_t)ms * 1000u;
	for (;;) {
		uint64_t now;

		process(0);
		if (is_route)
			fmt_route(fields, sizeof(fields), dst, src, oif);
		else
			fmt_neigh(fields, sizeof(fields), ifindex, ip);
		now = now_us();
		if (has_all(fields, want, n_want)) {
			printf("R%d %s ok us=%llu cmd_us=%llu %s\n", seq, what,
			       (unsigned long long)(now - t1),
			       (unsigned long long)(t1 - t0), fields);
			return;
		}
		if (now >= deadline)
			break;
		process((int)((deadline - now + 999) / 1000));
	}
	printf("R%d %s timeout %s\n", seq, what, fields);
}

static int run_command(int seq, char *line)
{
	char *argv[64], *save = NULL, *tok;
	char fields[512];
	int argc = 0;

	for (tok = strtok_r(line, " \t\n", &save); tok && argc < 64;
	     tok = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = tok;
	if (argc == 0) {
		printf("R%d error empty\n", seq);
		return 0;
	}
	if (!strcmp(argv[0], "quit")) {
		printf("R%d quit\n", seq);
		return 1;
	}
	if (!strcmp(argv[0], "dump") && argc == 2) {
		FILE *f = fopen(argv[1], "w");
		process(0);
		if (!f) {
			printf("R%d dump rc=%d\n", seq, -errno);
			return 0;
		}
		cp_dump(cp, f);
		printf("R%d dump rc=%d\n", seq, fclose(f) ? -errno : 0);
	} else if (!strcmp(argv[0], "lookup") && argc == 4) {
		uint32_t dst, src;
		int oif = parse_if(argv[3]);
		if (parse_ip(argv[1], &dst) || parse_ip(argv[2], &src) ||
		    oif < 0) {
			printf("R%d lookup error args\n", seq);
			return 0;
		}
		process(0);
		fmt_route(fields, sizeof(fields), dst, src, oif);
		printf("R%d lookup %s\n", seq, fields);
	} else if (!strcmp(argv[0], "neigh") && argc == 3) {
		uint32_t ip;
		int ifindex = parse_if(argv[1]);
		if (ifindex < 0 || parse_ip(argv[2], &ip)) {
			printf("R%d neigh error args\n", seq);
			return 0;
		}
		process(0);
		fmt_neigh(fields, sizeof(fields), ifindex, ip);
		printf("R%d neigh %s\n", seq, fields);
	} else if (!strcmp(argv[0], "rwait")) {
		do_wait(seq, "rwait", argv + 1, argc - 1, 1);
	} else if (!strcmp(argv[0], "nwait")) {
		do_wait(seq, "nwait", argv + 1, argc - 1, 0);
	} else if ((!strcmp(argv[0], "resolve") ||
		    !strcmp(argv[0], "confirm")) && argc == 3) {
		uint32_t ip;
		int ifindex = parse_if(argv[1]), rc;
		if (ifindex < 0 || parse_ip(argv[2], &ip)) {
			printf("R%d %s error args\n", seq, argv[0]);
			return 0;
		}
		process(0);
		rc = argv[0][0] == 'r' ? cp_neigh_resolve(cp, ifindex, ip) :
		     cp_neigh_confirm(cp, ifindex, ip);
		printf("R%d %s rc=%d\n", seq, argv[0], rc);
	} else if (!strcmp(argv[0], "accel") && argc == 3) {
		int ifindex = parse_if(argv[1]);
		printf("R%d accel rc=%d\n", seq, ifindex < 0 ? -EINVAL :
		       cp_set_accelerated(cp, ifindex, atoi(argv[2])));
	} else if (!strcmp(argv[0], "rcvbuf") && argc == 2) {
		int v = atoi(argv[1]);
		printf("R%d rcvbuf rc=%d\n", seq,
		       setsockopt(cp_fd(cp), SOL_SOCKET, SO_RCVBUF, &v,
				  sizeof(v)) ? -errno : 0);
	} else if (!strcmp(argv[0], "refresh")) {
		printf("R%d refresh rc=%d\n", seq, cp_refresh(cp));
	} else if (!strcmp(argv[0], "stats")) {
		struct cp_stats st;
		cp_stats_get(cp, &st);
		printf("R%d stats", seq);
#define PRINT_STAT(name, doc) printf(" " #name "=%llu", \
				     (unsigned long long)st.name);
		CP_STATS(PRINT_STAT)
#undef PRINT_STAT
		printf("\n");
	} else {
		printf("R%d error unknown command '%s'\n", seq, argv[0]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char line[2048];
	size_t len = 0;
	uint64_t deadline;
	int opt, secs = 60, seq = 0, rc;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: cp_probe [-t SECS]\n");
			return 2;
		}
		secs = atoi(optarg);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = cp_open(&cp);
	if (rc < 0) {
		fprintf(stderr, "cp_open: %s\n", strerror(-rc));
		return 10;
	}
	printf("READY pid=%d\n", (int)getpid());
	deadline = now_us() + (uint64_t)secs * 1000000u;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = 0, .events = POLLIN },
			{ .fd = cp_fd(cp), .events = POLLIN },
		};
		ssize_t n;
		char *nl;

		if (now_us() >= deadline) {
			fprintf(stderr, "cp_probe: timeout\n");
			cp_close(cp);
			return 3;
		}
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			rc = cp_process(cp);
			if (rc < 0)
				fprintf(stderr, "cp_process: %d\n", rc);
		}
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(0, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if (run_command(++seq, line)) {
				cp_close(cp);
				return 0;
			}
			len -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len + 1);
		}
		if (len == sizeof(line) - 1)
			len = 0;      /* an over-long line: drop it */
	}
	cp_close(cp);
	return 0;
}
