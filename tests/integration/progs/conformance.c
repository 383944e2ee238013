/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conformance: the ef_vi conformance suite (tests/harness/
 * conformance_cases.h) on a kernel backend, for tests/integration/
 * conformance.sh. One process drives both ends of a veth pair:
 *
 *   conformance NS_A IF_A NS_B IF_B [test names...]
 *
 * with ANYLOAD_BACKEND naming the backend (afxdp, afpacket). The process
 * switches its network namespace with setns(2) on /run/netns/<name>
 * before every call that resolves an interface or makes a kernel object
 * (PD, VI, filters, MTU and MAC, kernel sockets, freeing): VI A is made in
 * NS_A, VIs B and B2 and the kernel UDP sockets in NS_B. Sockets stay in
 * the namespace they were made in, so the fast path (poll, transmit,
 * post) works from either. Both veth ends have the same ifindex (each is
 * the first interface after lo of its fresh namespace), which the library
 * must tell apart by namespace.
 *
 * Addresses are read from the interfaces. Time is real: a wait that finds
 * nothing sleeps 20 us; waits are bounded at 2 s, "nothing else" is
 * polled for 100 ms where no fence frame can show it.
 *
 * Output is TAP (unit_test.h). Exit status: 0 pass, 1 fail, 77 skipped:
 * every case skipped, or the library does not know the backend
 * (ef_pd_alloc_by_name gives -EINVAL: the backend is not merged yet).
 */
#include "conformance_cases.h"

#include <fcntl.h>
#include <sched.h>
#include <time.h>

struct conf_ns {
	int fd[2];		/* NS_A, NS_B */
	const char *name[2];
	int cur;		/* the namespace we are in: 0, 1, -1 unknown */
};

static struct conf_ns nss = { { -1, -1 }, { NULL, NULL }, -1 };

/* enter_ns: switch to namespace i; a failure is fatal (a call made in the
 * wrong namespace would reach another interface of the same index). */
static void enter_ns(int i)
{
	if (nss.cur == i)
		return;
	if (setns(nss.fd[i], CLONE_NEWNET) < 0) {
		fprintf(stderr, "FAIL: setns(%s): %s\n", nss.name[i],
			strerror(errno));
		exit(1);
	}
	nss.cur = i;
}

static void kern_enter(struct conf_env *env, const struct conf_end *e)
{
	(void)env;
	enter_ns(e->ns);
}

static int64_t kern_now(struct conf_env *env)
{
	(void)env;
	return et_now_ns();
}

static void kern_advance(struct conf_env *env, int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000),
			       (long)(ns % 1000000000) };

	(void)env;
	nanosleep(&ts, NULL);
}

static int open_ns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "FAIL: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void kern_end(struct conf_end *e, const char *label,
		     const char *ifname, int ns, int idx)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr in;

	e->label = label;
	e->ifname = ifname;
	e->ns = ns;
	e->anchor_port = (uint16_t)(CONF_P_ANCHOR + idx);
	enter_ns(ns);
	e->ip_be = et_if_ip4(ifname);
	if (!e->ip_be) {
		fprintf(stderr, "FAIL: %s in %s has no IPv4 address\n", ifname,
			nss.name[ns]);
		exit(1);
	}
	in.s_addr = e->ip_be;
	printf("# end %s: %s in %s, %s\n", label, ifname, nss.name[ns],
	       inet_ntop(AF_INET, &in, buf, sizeof(buf)));
}

/* probe_backend: 77 if the library does not know the backend, 0 if it
 * can make a PD on IF_A, else 1. */
static int probe_backend(const char *backend, const char *if_a)
{
	ef_driver_handle dh;
	ef_pd pd;
	int rc;

	enter_ns(0);
	if (ef_driver_open(&dh) < 0) {
		fprintf(stderr, "FAIL: ef_driver_open\n");
		return 1;
	}
	rc = ef_pd_alloc_by_name(&pd, dh, if_a, EF_PD_DEFAULT);
	if (rc == 0)
		ef_pd_free(&pd, dh);
	ef_driver_close(dh);
	if (rc == -EINVAL) {
		printf("backend %s is not in this build of the library "
		       "(ef_pd_alloc_by_name: -EINVAL)\n", backend);
		return UNIT_EXIT_SKIP;
	}
	if (rc < 0) {
		fprintf(stderr, "FAIL: ef_pd_alloc_by_name(%s) = %d (%s)\n",
			if_a, rc, strerror(-rc));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct conf_env *env = conf_env_get();
	const char *backend = getenv("ANYLOAD_BACKEND");
	int rc;

	if (argc < 5) {
		fprintf(stderr, "usage: %s NS_A IF_A NS_B IF_B [test...]\n",
			argv[0]);
		return 2;
	}
	if (!backend || !*backend || !strcmp(backend, "auto")) {
		fprintf(stderr, "FAIL: set ANYLOAD_BACKEND to the backend "
			"under test\n");
		return 2;
	}
	nss.name[0] = argv[1];
	nss.name[1] = argv[3];
	nss.fd[0] = open_ns(argv[1]);
	nss.fd[1] = open_ns(argv[3]);
	printf("# backend %s\n", backend);
	rc = probe_backend(backend, argv[2]);
	if (rc)
		return rc;

	env->backend = backend;
	env->has_kernel = 1;
	env->step_ns = 20000;
	env->wait_ns = 2000000000;
	env->quiet_ns = 100000000;
	env->enter = kern_enter;
	env->now = kern_now;
	env->advance = kern_advance;
	kern_end(&env->end[CONF_A], "A", argv[2], 0, CONF_A);
	kern_end(&env->end[CONF_B], "B", argv[4], 1, CONF_B);
	kern_end(&env->end[CONF_B2], "B2", argv[4], 1, CONF_B2);

	/* argv[4] stands in for the program name: names follow it. */
	rc = unit__run(conf_tests, CONF_N_TESTS, argc - 4, argv + 4);
	conf_close(env);
	return rc;
}
