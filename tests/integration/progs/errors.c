/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errors: bad arguments and full rings get the documented negative errno
 * and leave the VI usable (run by tests/integration/errors.sh inside a
 * namespace; EFVI_IF names the interface, a veth end whose peer drops
 * what we send: the destination MAC is nobody's).
 *
 *   unknown interface             ef_pd_alloc_by_name / ef_pd_alloc -ENODEV
 *   unaligned or empty memreg     ef_memreg_alloc -EINVAL
 *   receive buffer outside registered memory   ef_vi_receive_init -EINVAL
 *   RX ring over capacity         -EAGAIN at the capacity+1-th post
 *   TX ring over capacity         -EAGAIN at the capacity+1-th transmit
 *                                 without polling; then every id comes
 *                                 back once, in order, and TX works again
 *   transmit outside registered memory, or of length 0   -EINVAL
 *   frame above the MTU           TX_ERROR event, EF_EVENT_TX_ERROR_2BIG,
 *                                 unbundle returns its id, in posting
 *                                 order between the good frames around it
 *   filter_del with a bogus or already deleted cookie   -EINVAL
 *   filter_add: empty spec -EINVAL, twice -EEXIST, sniff -EOPNOTSUPP
 *   ef_pd_free with a live VI     -EBUSY
 *   free a VI and allocate another on the same queue at once, 20 times:
 *                                 every allocation succeeds
 *   no privilege (run as nobody)  ef_vi_alloc_from_pd -EPERM, no crash
 * A TAP program (unit_test.h); test names on the command line select.
 */
#include "efvi_test.h"
#include "unit_test.h"

static const char *ifname(void)
{
	const char *s = getenv("EFVI_IF");

	if (!s || !*s)
		UNIT_SKIP("EFVI_IF not set");
	return s;
}

static struct et_vi t;

/* open_vi: a VI on queue 0. Right after a VI on the same queue was freed
 * the allocation may fail with -EBUSY (see test_realloc_at_once, which
 * asserts that it does not); the other tests are about something else, so
 * they retry for up to 1 s and say so. */
static void open_vi(enum ef_vi_flags flags)
{
	const char *step;
	int rc, tries = 0;

	for (;;) {
		rc = et_vi_open(&t, ifname(), flags, -1, -1, 0, 0, &step);
		if (rc != -EBUSY || ++tries > 100)
			break;
		usleep(10000);
	}
	if (tries)
		printf("#   note: ef_vi_alloc_from_pd gave -EBUSY %d times "
		       "right after the previous VI was freed\n", tries);
	if (rc < 0)
		printf("#   %s failed: %d (%s)\n", step, rc, strerror(-rc));
	CHECK(rc, ==, 0);
}

static const uint8_t nobody_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

/* A UDP frame of `len` bytes (>= 42) in buffer id. */
static void make_frame(int id, int len)
{
	uint8_t smac[6];
	char *b = et_vi_buf(&t, id);

	CHECK(ef_vi_get_mac(&t.vi, t.dh, smac), ==, 0);
	memset(b + ET_UDP_HDRS, 0x5a, (size_t)(len - ET_UDP_HDRS));
	et_build_udp(b, nobody_mac, smac, inet_addr("198.18.0.2"),
		     inet_addr("198.18.0.1"), htons(9), htons(9),
		     b + ET_UDP_HDRS, (size_t)(len - ET_UDP_HDRS), 1);
}

/* Collect n transmit completions (ids and event types, in the order
 * unbundled) within 2 s; returns how many were collected. */
static int collect_tx(int n, int *ids, int *types)
{
	int64_t deadline = et_now_ns() + 2000000000;
	int got = 0;

	while (got < n && et_now_ns() < deadline) {
		ef_event evs[16];
		ef_request_id b[EF_VI_TRANSMIT_BATCH];
		int k, i, j;

		k = ef_eventq_poll(&t.vi, evs, 16);
		for (i = 0; i < k; i++) {
			int ty = EF_EVENT_TYPE(evs[i]);
			int m;

			if (ty != EF_EVENT_TYPE_TX && ty != EF_EVENT_TYPE_TX_ERROR)
				UNIT_FAIL("unexpected event type %d", ty);
			if (ty == EF_EVENT_TYPE_TX_ERROR)
				CHECK(EF_EVENT_TX_ERROR_TYPE(evs[i]), ==,
				      EF_EVENT_TX_ERROR_2BIG);
			m = ef_vi_transmit_unbundle(&t.vi, &evs[i], b);
			CHECK(m, >=, 1);
			for (j = 0; j < m; j++) {
				if (got >= n)
					UNIT_FAIL("more completions than transmits");
				ids[got] = b[j];
				types[got] = ty;
				got++;
			}
		}
		if (!k)
			usleep(100);
	}
	return got;
}

static void test_pd_unknown_interface(void)
{
	ef_driver_handle dh;
	ef_pd pd;

	CHECK(ef_driver_open(&dh), ==, 0);
	CHECK(ef_pd_alloc_by_name(&pd, dh, "nosuchif0", EF_PD_DEFAULT), ==,
	      -ENODEV);
	CHECK(ef_pd_alloc(&pd, dh, 99999, EF_PD_DEFAULT), ==, -ENODEV);
	CHECK(ef_driver_close(dh), ==, 0);
}

static void test_memreg_bad(void)
{
	ef_driver_handle dh;
	ef_memreg mr;
	ef_pd pd;
	char *mem;

	CHECK(ef_driver_open(&dh), ==, 0);
	CHECK(ef_pd_alloc_by_name(&pd, dh, ifname(), EF_PD_DEFAULT), ==, 0);
	mem = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_PTR(mem, !=, MAP_FAILED);
	CHECK(ef_memreg_alloc(&mr, dh, &pd, dh, mem + 1, 4096), ==, -EINVAL);
	CHECK(ef_memreg_alloc(&mr, dh, &pd, dh, mem + 64, 2 * 4096), ==,
	      -EINVAL);
	CHECK(ef_memreg_alloc(&mr, dh, &pd, dh, mem, 100), ==, -EINVAL);
	CHECK(ef_memreg_alloc(&mr, dh, &pd, dh, mem, 0), ==, -EINVAL);
	CHECK(ef_memreg_alloc(&mr, dh, &pd, dh, NULL, 4096), ==, -EINVAL);
	/* And a good one still works afterwards. */
	CHECK(ef_memreg_alloc(&mr, dh, &pd, dh, mem, 4 * 4096), ==, 0);
	CHECK(ef_memreg_free(&mr, dh), ==, 0);
	CHECK(ef_pd_free(&pd, dh), ==, 0);
	CHECK(ef_driver_close(dh), ==, 0);
	munmap(mem, 4 * 4096);
}

static void test_receive_init_outside(void)
{
	ef_addr base;

	open_vi(0);
	base = et_vi_dma(&t, 0);
	CHECK(ef_vi_receive_init(&t.vi, base + t.mem_len, 1), ==, -EINVAL);
	CHECK(ef_vi_receive_init(&t.vi, base + t.mem_len + 4096, 1), ==,
	      -EINVAL);
	CHECK(ef_vi_receive_init(&t.vi, base - 1, 1), ==, -EINVAL);
	CHECK(ef_vi_receive_init(&t.vi, 0, 1), ==, -EINVAL);
	CHECK(ef_vi_receive_init(&t.vi, (ef_addr)0x1234, 1), ==, -EINVAL);
	CHECK(ef_vi_receive_init(&t.vi, EF_INVALID_ADDR, 1), ==, -EINVAL);
	/* Nothing was queued by the failed calls. */
	CHECK(ef_vi_receive_fill_level(&t.vi), ==, 0);
	CHECK(ef_vi_receive_init(&t.vi, base, 1), ==, 0);
	CHECK(ef_vi_receive_fill_level(&t.vi), ==, 1);
	et_vi_close(&t);
}

static void test_receive_overfill(void)
{
	int cap, i;

	open_vi(0);
	cap = ef_vi_receive_capacity(&t.vi);
	printf("#   receive capacity %d\n", cap);
	CHECK(cap, >, 0);
	CHECK(cap, <=, t.n_rx);
	for (i = 0; i < cap; i++) {
		int rc = ef_vi_receive_init(&t.vi, et_vi_dma(&t, i), i);

		if (rc != 0)
			UNIT_FAIL("post %d of %d: %d", i + 1, cap, rc);
	}
	CHECK(ef_vi_receive_init(&t.vi, et_vi_dma(&t, 0), cap), ==, -EAGAIN);
	CHECK(ef_vi_receive_post(&t.vi, et_vi_dma(&t, 0), cap), ==, -EAGAIN);
	ef_vi_receive_push(&t.vi);
	CHECK(ef_vi_receive_fill_level(&t.vi), ==, cap);
	CHECK(ef_vi_receive_space(&t.vi), ==, 0);
	et_vi_close(&t);
}

static void test_transmit_overfill(void)
{
	int cap, i, got, *ids, *types;

	open_vi(0);
	cap = ef_vi_transmit_capacity(&t.vi);
	printf("#   transmit capacity %d\n", cap);
	CHECK(cap, >, 0);
	CHECK(cap, <=, t.n_tx);
	for (i = 0; i < t.n_tx; i++)
		make_frame(t.n_rx + i, 60);
	for (i = 0; i < cap; i++) {
		int rc = ef_vi_transmit(&t.vi, et_vi_dma(&t, t.n_rx + i), 60,
					t.n_rx + i);

		if (rc != 0)
			UNIT_FAIL("transmit %d of %d: %d", i + 1, cap, rc);
	}
	CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, t.n_rx), 60, 99999), ==,
	      -EAGAIN);
	CHECK(ef_vi_transmit_fill_level(&t.vi), ==, cap);
	CHECK(ef_vi_transmit_space(&t.vi), ==, 0);

	ids = calloc((size_t)cap, sizeof(int));
	types = calloc((size_t)cap, sizeof(int));
	CHECK_PTR(ids, !=, NULL);
	CHECK_PTR(types, !=, NULL);
	got = collect_tx(cap, ids, types);
	CHECK(got, ==, cap);
	for (i = 0; i < cap; i++) {
		if (ids[i] != t.n_rx + i || types[i] != EF_EVENT_TYPE_TX)
			UNIT_FAIL("completion %d: id %d type %d, expected id %d TX",
				  i, ids[i], types[i], t.n_rx + i);
	}
	free(ids);
	free(types);
	CHECK(ef_vi_transmit_fill_level(&t.vi), ==, 0);
	/* The ring works again. */
	CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, t.n_rx), 60, 7), ==, 0);
	{
		int id, ty;

		CHECK(collect_tx(1, &id, &ty), ==, 1);
		CHECK(id, ==, 7);
	}
	et_vi_close(&t);
}

static void test_transmit_bad_args(void)
{
	ef_addr base;

	open_vi(0);
	base = et_vi_dma(&t, 0);
	make_frame(t.n_rx, 60);
	CHECK(ef_vi_transmit(&t.vi, base + t.mem_len, 60, 1), ==, -EINVAL);
	CHECK(ef_vi_transmit(&t.vi, base + t.mem_len - 30, 60, 1), ==, -EINVAL);
	CHECK(ef_vi_transmit(&t.vi, (ef_addr)0x1234, 60, 1), ==, -EINVAL);
	CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, t.n_rx), 0, 1), ==, -EINVAL);
	CHECK(ef_vi_transmit_init(&t.vi, et_vi_dma(&t, t.n_rx), 0, 1), ==,
	      -EINVAL);
	CHECK(ef_vi_transmit_fill_level(&t.vi), ==, 0);
	et_vi_close(&t);
}

static void test_transmit_too_big(void)
{
	int ids[3], types[3], a, b, c;
	unsigned mtu;

	open_vi(0);
	mtu = ef_vi_mtu(&t.vi, t.dh);
	printf("#   ef_vi_mtu %u\n", mtu);
	CHECK(mtu, ==, 1514u);	/* the veth's MTU 1500 + Ethernet header */
	a = t.n_rx;
	b = t.n_rx + 1;
	c = t.n_rx + 2;
	make_frame(a, (int)mtu);	/* largest that fits: goes out */
	make_frame(b, 1600);		/* too big */
	make_frame(c, 60);
	CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, a), (int)mtu, a), ==, 0);
	CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, b), 1600, b), ==, 0);
	CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, c), 60, c), ==, 0);
	CHECK(collect_tx(3, ids, types), ==, 3);
	CHECK(ids[0], ==, a);
	CHECK(types[0], ==, EF_EVENT_TYPE_TX);
	CHECK(ids[1], ==, b);
	CHECK(types[1], ==, EF_EVENT_TYPE_TX_ERROR);
	CHECK(ids[2], ==, c);
	CHECK(types[2], ==, EF_EVENT_TYPE_TX);
	CHECK(ef_vi_transmit_fill_level(&t.vi), ==, 0);
	et_vi_close(&t);
}

static void test_filter_errors(void)
{
	ef_filter_cookie ck, bogus;
	ef_filter_spec fs;

	open_vi(0);
	/* bogus cookies */
	bogus.filter_id = 12345;
	bogus.filter_type = 1;
	CHECK(ef_vi_filter_del(&t.vi, t.dh, &bogus), ==, -EINVAL);
	bogus.filter_id = -1;
	CHECK(ef_vi_filter_del(&t.vi, t.dh, &bogus), ==, -EINVAL);
	bogus.filter_id = 0;	/* in range, but never handed out */
	CHECK(ef_vi_filter_del(&t.vi, t.dh, &bogus), ==, -EINVAL);
	/* empty spec */
	ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
	CHECK(ef_vi_filter_add(&t.vi, t.dh, &fs, &ck), ==, -EINVAL);
	/* sniff: no AF_XDP counterpart */
	CHECK(et_parse_filter("sniff", &fs), ==, 0);
	CHECK(ef_vi_filter_add(&t.vi, t.dh, &fs, &ck), ==, -EOPNOTSUPP);
	/* twice; then delete twice */
	CHECK(et_parse_filter("udp:198.18.0.2:9999", &fs), ==, 0);
	CHECK(ef_vi_filter_add(&t.vi, t.dh, &fs, &ck), ==, 0);
	CHECK(ef_vi_filter_add(&t.vi, t.dh, &fs, NULL), ==, -EEXIST);
	CHECK(ef_vi_filter_del(&t.vi, t.dh, &ck), ==, 0);
	CHECK(ef_vi_filter_del(&t.vi, t.dh, &ck), ==, -EINVAL);
	/* and it can be added again */
	CHECK(ef_vi_filter_add(&t.vi, t.dh, &fs, &ck), ==, 0);
	CHECK(ef_vi_filter_del(&t.vi, t.dh, &ck), ==, 0);
	et_vi_close(&t);
}

static void test_pd_free_busy(void)
{
	open_vi(0);
	CHECK(ef_pd_free(&t.pd, t.dh), ==, -EBUSY);
	et_vi_close(&t);
}

/* Free a VI and at once allocate another on the same queue, as a program
 * that restarts its VI does: every allocation must succeed. (The kernel
 * releases an AF_XDP socket's hold on its queue from a deferred work item
 * after close, so a bind straight after a close can see the queue busy.) */
static void test_realloc_at_once(void)
{
	int i, rc;

	for (i = 0; i < 20; i++) {
		const char *step;

		rc = et_vi_open(&t, ifname(), 0, -1, -1, 0, 0, &step);
		if (rc < 0)
			UNIT_FAIL("cycle %d: %s = %d (%s)", i, step, rc,
				  strerror(-rc));
		CHECK(et_vi_post_all(&t), ==, 0);
		et_vi_close(&t);
	}
}

static void test_unpriv_alloc(void)
{
	ef_driver_handle dh;
	ef_memreg mr;
	ef_vi vi;
	ef_pd pd;
	char *mem;
	int rc;

	if (geteuid() == 0)
		UNIT_SKIP("runs as root; errors.sh runs it again as nobody");
	CHECK(ef_driver_open(&dh), ==, 0);
	CHECK(ef_pd_alloc_by_name(&pd, dh, ifname(), EF_PD_DEFAULT), ==, 0);
	mem = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_PTR(mem, !=, MAP_FAILED);
	rc = ef_memreg_alloc(&mr, dh, &pd, dh, mem, 64 * 4096);
	printf("#   unprivileged ef_memreg_alloc: %d\n", rc);
	CHECK(rc, ==, 0);
	memset(&vi, 0, sizeof(vi));
	rc = ef_vi_alloc_from_pd(&vi, dh, &pd, dh, -1, -1, -1, NULL, -1, 0);
	printf("#   unprivileged ef_vi_alloc_from_pd: %d (%s)\n", rc,
	       rc < 0 ? strerror(-rc) : "success?");
	CHECK(rc, ==, -EPERM);
	CHECK(ef_memreg_free(&mr, dh), ==, 0);
	CHECK(ef_pd_free(&pd, dh), ==, 0);
	CHECK(ef_driver_close(dh), ==, 0);
	munmap(mem, 64 * 4096);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_pd_unknown_interface),
	UNIT_TEST(test_memreg_bad),
	UNIT_TEST(test_receive_init_outside),
	UNIT_TEST(test_receive_overfill),
	UNIT_TEST(test_transmit_overfill),
	UNIT_TEST(test_transmit_bad_args),
	UNIT_TEST(test_transmit_too_big),
	UNIT_TEST(test_filter_errors),
	UNIT_TEST(test_pd_free_busy),
	UNIT_TEST(test_realloc_at_once),
	UNIT_TEST(test_unpriv_alloc),
};

UNIT_TEST_MAIN(tests)
