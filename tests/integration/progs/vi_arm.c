/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi_arm: the driver handle's wake-ups follow ef_vi_prime (vi/vi_arm.c).
 *
 * Started in namespace A, it opens a kernel UDP socket there (the
 * sender), then enters namespace B (argv[1], a /var/run/netns path) and
 * opens a VI on argv[2] with a filter for argv[3]:argv[4]. Steps, each
 * checked, each wait bounded (2 s):
 *   1. a fresh VI is armed: one datagram makes the handle readable;
 *   2. busy-polling: 100 datagrams, each received by a poll that finds
 *      it (so the VI disarms after VI_DISARM_POLLS of them);
 *   3. a datagram that reached the ring (ef_eventq_has_event) while the
 *      VI is busy-polled leaves the handle quiet -- no wake-up per frame;
 *      ef_vi_prime makes the handle readable at once for it;
 *   4. primed with nothing waiting: the handle is quiet; a datagram sent
 *      then wakes a poll() that sleeps on the handle.
 * Prints "OK" and exits 0, or "FAIL: ..." and exits 1.
 */

#include "../../harness/efvi_test.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>

static struct et_vi t;
static int tx_sock = -1;
static struct sockaddr_in dst;
static unsigned got;

static void send_one(unsigned k)
{
	char msg[32];
	int n = snprintf(msg, sizeof(msg), "arm-%06u", k);

	if (sendto(tx_sock, msg, (size_t)n, 0, (struct sockaddr *)&dst,
		   sizeof(dst)) != n)
		et_die("sendto: %s", strerror(errno));
}

/* handle_readable: poll() on the driver handle for ms milliseconds. */
static int handle_readable(int ms)
{
	struct pollfd p = { .fd = t.dh, .events = POLLIN };
	int rc = poll(&p, 1, ms);

	if (rc < 0)
		et_die("poll: %s", strerror(errno));
	return rc;
}

/* take: poll events until `want` more datagrams came; each poll that
 * returns an RX counts for the VI's busy-poll heuristics. */
static void take(unsigned want, const char *what)
{
	int64_t end = et_now_ns() + 2000000000ll;
	unsigned goal = got + want;
	ef_event ev[16];

	while (got < goal) {
		int n = ef_eventq_poll(&t.vi, ev, 16), i;
		for (i = 0; i < n; i++) {
			if (EF_EVENT_TYPE(ev[i]) == EF_EVENT_TYPE_RX) {
				got++;
				ET_TRY(et_vi_repost(&t, EF_EVENT_RX_RQ_ID(ev[i])));
			}
		}
		if (et_now_ns() > end)
			et_die("%s: %u of %u datagrams in 2 s", what,
			       got - (goal - want), want);
	}
}

static void wait_on_ring(const char *what)
{
	int64_t end = et_now_ns() + 2000000000ll;

	while (!ef_eventq_has_event(&t.vi))
		if (et_now_ns() > end)
			et_die("%s: no frame on the ring in 2 s", what);
}

int main(int argc, char **argv)
{
	ef_filter_spec fs;
	const char *step;
	int nsfd, k;

	if (argc != 5)
		et_die("usage: vi_arm NETNS_B_PATH IF_B IP_B PORT");
	tx_sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (tx_sock < 0)
		et_die("socket: %s", strerror(errno));
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[4]));
	if (inet_pton(AF_INET, argv[3], &dst.sin_addr) != 1)
		et_die("bad address %s", argv[3]);
	nsfd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		et_die("setns %s: %s", argv[1], strerror(errno));
	close(nsfd);
	if (et_vi_open(&t, argv[2], EF_VI_FLAGS_DEFAULT, -1, -1, 0, 0,
		       &step) < 0)
		et_die("%s failed", step);
	ET_TRY(et_vi_post_all(&t));
	ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
	ET_TRY(ef_filter_spec_set_ip4_local(&fs, IPPROTO_UDP,
					    dst.sin_addr.s_addr, dst.sin_port));
	ET_TRY(ef_vi_filter_add(&t.vi, t.dh, &fs, NULL));

	/* 1. */
	send_one(0);
	if (handle_readable(2000) != 1)
		et_die("step 1: a fresh VI's handle did not wake for a frame");
	take(1, "step 1");

	/* 2. */
	for (k = 1; k <= 100; k++) {
		send_one((unsigned)k);
		wait_on_ring("step 2");
		take(1, "step 2");
	}

	/* 3. */
	send_one(101);
	wait_on_ring("step 3");
	if (handle_readable(0) != 0)
		et_die("step 3: busy-polled VI still wakes its handle per frame");
	ET_TRY(ef_vi_prime(&t.vi, t.dh, ef_eventq_current(&t.vi)));
	if (handle_readable(0) != 1)
		et_die("step 3: prime did not report the waiting frame");
	take(1, "step 3");

	/* 4. */
	ET_TRY(ef_vi_prime(&t.vi, t.dh, ef_eventq_current(&t.vi)));
	if (handle_readable(0) != 0)
		et_die("step 4: handle readable with nothing on the ring");
	send_one(102);
	if (handle_readable(2000) != 1)
		et_die("step 4: a primed handle did not wake for a frame");
	take(1, "step 4");

	printf("OK %u datagrams\n", got);
	et_vi_close(&t);
	return 0;
}
