/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * afp_tx: the transmit path of a VI (run by tests/integration/
 * afpacket_tx.sh with ANYLOAD_BACKEND=afpacket inside NS_A; EFVI_IF names
 * the interface; AFP_IP, AFP_PORT and AFP_MAC a kernel UDP receiver behind
 * it, which prints what it gets). Each test sends datagrams whose payloads
 * the script then looks for at the receiver.
 *
 *   test_error_then_send   64 good frames "W-nnnnnn" fill a 64-slot ring
 *                          once; then an oversized frame posted without a
 *                          push, its TX_ERROR event polled, then one good
 *                          frame "E1": exactly one TX event with its id,
 *                          no other event, E1 sent once and no W frame
 *                          again (the slot of the reported error, whose
 *                          last gather list points to W-000063, is never
 *                          sent)
 *   test_gather            transmitv with 2 pieces ("G2") and with 6
 *                          pieces ("G6", more than the backend keeps as a
 *                          gather list): both arrive whole
 *   test_burst             500 frames "B-nnnnnn" pushed 50 at a time
 *                          (sendmmsg batches), never beyond the ring's
 *                          space: every completion id in posting order
 * A TAP program (unit_test.h); test names on the command line select.
 */
#include "efvi_test.h"
#include "unit_test.h"

#include <arpa/inet.h>

static struct et_vi t;
static uint32_t saddr_be, daddr_be;
static uint16_t dport_be;
static uint8_t smac[6], dmac[6];

static void open_vi(int txq)
{
	const char *ifn = getenv("EFVI_IF"), *ip = getenv("AFP_IP");
	const char *port = getenv("AFP_PORT"), *mac = getenv("AFP_MAC");
	const char *step;
	int rc;

	if (!ifn || !ip || !port || !mac)
		UNIT_SKIP("EFVI_IF, AFP_IP, AFP_PORT or AFP_MAC not set");
	if (et_parse_mac(mac, dmac) < 0 || atoi(port) <= 0)
		UNIT_FAIL("bad AFP_MAC %s or AFP_PORT %s", mac, port);
	daddr_be = inet_addr(ip);
	dport_be = htons((uint16_t)atoi(port));
	rc = et_vi_open(&t, ifn, 0, -1, txq, 0, 0, &step);
	if (rc < 0)
		printf("#   %s failed: %d (%s)\n", step, rc, strerror(-rc));
	CHECK(rc, >=, 0);
	CHECK(ef_vi_get_mac(&t.vi, t.dh, smac), ==, 0);
	saddr_be = et_if_ip4(ifn);
}

/* A datagram with payload text in buffer id; returns the frame length. */
static int make_frame(int id, const char *text)
{
	char *b = et_vi_buf(&t, id);

	return et_build_udp(b, dmac, smac, saddr_be, daddr_be, htons(40000),
			    dport_be, text, strlen(text), (uint16_t)id);
}

/* Poll for up to ms milliseconds; unbundle TX completions into ids[]
 * (types[] too). Any other event fails the test. */
static int poll_tx(int ms, int max, int *ids, int *types)
{
	int64_t deadline = et_now_ns() + (int64_t)ms * 1000000;
	int got = 0;

	while (et_now_ns() < deadline) {
		ef_event evs[16];
		ef_request_id b[EF_VI_TRANSMIT_BATCH];
		int k, i, j, m;

		k = ef_eventq_poll(&t.vi, evs, 16);
		for (i = 0; i < k; i++) {
			int ty = EF_EVENT_TYPE(evs[i]);

			if (ty != EF_EVENT_TYPE_TX &&
			    ty != EF_EVENT_TYPE_TX_ERROR)
				UNIT_FAIL("unexpected event type %d", ty);
			m = ef_vi_transmit_unbundle(&t.vi, &evs[i], b);
			CHECK(m, >=, 1);
			for (j = 0; j < m; j++) {
				if (got >= max)
					UNIT_FAIL("more completions than "
						  "transmits");
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

static void test_error_then_send(void)
{
	int ids[4], types[4], big, good, len, i;

	/* A ring of 64 slots, each used once by a good frame "W-nnnnnn"
	 * first, so that the error slot's place holds a sent frame's gather
	 * list (a backend that sent it again would duplicate that frame). */
	open_vi(63);
	for (i = 0; i < 64; i++) {
		char text[16];
		int id = t.n_rx + i % t.n_tx;

		snprintf(text, sizeof(text), "W-%06d", i);
		len = make_frame(id, text);
		CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, id), len, id), ==, 0);
		CHECK(poll_tx(50, 4, ids, types), ==, 1);
		CHECK(ids[0], ==, id);
	}
	/* Buffer n_rx holds W-000063, the frame the slot's stale gather list
	 * points to: leave it alone. */
	big = t.n_rx + 1;
	good = t.n_rx + 2;
	memset(et_vi_buf(&t, big), 0x5a, 1600);
	CHECK(ef_vi_transmit_init(&t.vi, et_vi_dma(&t, big), 1600, big), ==,
	      0);
	CHECK(poll_tx(100, 4, ids, types), ==, 1);
	CHECK(ids[0], ==, big);
	CHECK(types[0], ==, EF_EVENT_TYPE_TX_ERROR);
	len = make_frame(good, "E1");
	CHECK(ef_vi_transmit(&t.vi, et_vi_dma(&t, good), len, good), ==, 0);
	CHECK(poll_tx(200, 4, ids, types), ==, 1);
	CHECK(ids[0], ==, good);
	CHECK(types[0], ==, EF_EVENT_TYPE_TX);
	CHECK(ef_vi_transmit_fill_level(&t.vi), ==, 0);
	et_vi_close(&t);
}

static void test_gather(void)
{
	int ids[4], types[4], a, b, len, i;
	ef_iovec iov[6];
	ef_addr base;
	int cut[7] = { 0, 6, 14, 20, 34, 42, 0 };

	open_vi(-1);
	a = t.n_rx;
	b = t.n_rx + 1;
	len = make_frame(a, "G2");
	iov[0].iov_base = et_vi_dma(&t, a);
	iov[0].iov_len = 20;
	iov[1].iov_base = et_vi_dma(&t, a) + 20;
	iov[1].iov_len = (unsigned)(len - 20);
	CHECK(ef_vi_transmitv(&t.vi, iov, 2, a), ==, 0);
	len = make_frame(b, "G6");
	base = et_vi_dma(&t, b);
	cut[6] = len;
	for (i = 0; i < 6; i++) {
		iov[i].iov_base = base + (ef_addr)cut[i];
		iov[i].iov_len = (unsigned)(cut[i + 1] - cut[i]);
	}
	CHECK(ef_vi_transmitv(&t.vi, iov, 6, b), ==, 0);
	CHECK(poll_tx(200, 4, ids, types), ==, 2);
	CHECK(ids[0], ==, a);
	CHECK(ids[1], ==, b);
	CHECK(types[0], ==, EF_EVENT_TYPE_TX);
	CHECK(types[1], ==, EF_EVENT_TYPE_TX);
	et_vi_close(&t);
}

static void test_burst(void)
{
	enum { N = 500, STEP = 50 };
	static int ids[N], types[N];
	int sent = 0, got = 0, i;

	open_vi(-1);
	CHECK(t.n_tx, >=, STEP);
	while (sent < N) {
		for (i = 0; i < STEP && sent < N; i++, sent++) {
			char text[16];
			int id = t.n_rx + (sent % t.n_tx), len;

			snprintf(text, sizeof(text), "B-%06d", sent);
			len = make_frame(id, text);
			CHECK(ef_vi_transmit_init(&t.vi, et_vi_dma(&t, id),
						  len, sent), ==, 0);
		}
		ef_vi_transmit_push(&t.vi);
		/* Wait for this batch before reusing buffers. */
		while (got < sent) {
			int n = poll_tx(20, N - got, ids + got, types + got);
			CHECK(n, >=, 0);
			got += n;
		}
	}
	for (i = 0; i < N; i++) {
		CHECK(ids[i], ==, i);
		CHECK(types[i], ==, EF_EVENT_TYPE_TX);
	}
	et_vi_close(&t);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_error_then_send),
	UNIT_TEST(test_gather),
	UNIT_TEST(test_burst),
};

UNIT_TEST_MAIN(tests)
