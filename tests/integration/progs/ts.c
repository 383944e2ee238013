/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ts: RX and TX timestamps of a VI, for tests/integration/timestamps.sh
 * (not a test by itself).
 *
 *   ts IF PORT N RIP RMAC RPORT K
 *
 * Allocates a VI with EF_VI_RX_TIMESTAMPS | EF_VI_TX_TIMESTAMPS and the
 * filter udp:<IF's address>:PORT, prints READY and receives N datagrams
 * (10 s at most). Checks, for each: ef_vi_receive_prefix_len() is 16;
 * EF_EVENT_RX_BYTES is the prefix plus the frame (the frame's length taken
 * from its IP header); the frame starts after the prefix; get_timestamp
 * returns 0 and a time within 1 s of clock_gettime(CLOCK_REALTIME), not in
 * the future, and not before the previous frame's; get_precise_timestamp
 * gives the same time; get_bytes gives the frame length. Then transmits K
 * UDP datagrams to RIP:RPORT (RMAC) with ids 1000.. and checks that each
 * completes as one EF_EVENT_TYPE_TX_WITH_TIMESTAMP event, in order, with
 * its id as RQ_ID, the VI's queue as Q_ID, CLOCK_SET in the sync flags and
 * a time within 1 s of now. Finally a second VI without the flags must
 * have prefix length 0 and get -ENODATA from get_timestamp.
 * Prints "TS ok" and exits 0, or a "FAIL:" line and exits 1.
 */
#include "efvi_test.h"

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int main(int argc, char **argv)
{
	const char *ifname, *step;
	uint32_t laddr, raddr;
	uint16_t port, rport;
	uint8_t rmac[6], smac[6];
	int n, k, rc, got = 0, i, done = 0;
	struct et_vi t, t2;
	ef_filter_spec fs;
	char spec[64], a[16];
	int64_t deadline, prev = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 8)
		et_die("usage: ts IF PORT N RIP RMAC RPORT K");
	ifname = argv[1];
	port = htons((uint16_t)atoi(argv[2]));
	n = atoi(argv[3]);
	raddr = inet_addr(argv[4]);
	if (et_parse_mac(argv[5], rmac) < 0)
		et_die("bad MAC %s", argv[5]);
	rport = htons((uint16_t)atoi(argv[6]));
	k = atoi(argv[7]);
	laddr = et_if_ip4(ifname);
	if (!laddr)
		et_die("%s has no IPv4 address", ifname);

	rc = et_vi_open(&t, ifname, EF_VI_RX_TIMESTAMPS | EF_VI_TX_TIMESTAMPS,
			-1, -1, 0, 0, &step);
	if (rc < 0)
		et_die("%s: %d (%s)", step, rc, strerror(-rc));
	if (ef_vi_receive_prefix_len(&t.vi) != 16)
		et_die("prefix_len %d, expected 16",
		       ef_vi_receive_prefix_len(&t.vi));
	inet_ntop(AF_INET, &laddr, a, sizeof(a));
	snprintf(spec, sizeof(spec), "udp:%s:%u", a, ntohs(port));
	ET_TRY(et_parse_filter(spec, &fs));
	ET_TRY(ef_vi_filter_add(&t.vi, t.dh, &fs, NULL));
	ET_TRY(et_vi_post_all(&t));
	printf("READY %s prefix_len=%d\n", spec, ef_vi_receive_prefix_len(&t.vi));

	deadline = et_now_ns() + 10000000000LL;
	while (got < n) {
		ef_event evs[16];
		int m;

		if (et_now_ns() > deadline)
			et_die("received %d of %d datagrams in 10 s", got, n);
		m = ef_eventq_poll(&t.vi, evs, 16);
		for (i = 0; i < m; i++) {
			const uint8_t *buf, *f;
			struct timespec ts;
			ef_precisetime pt;
			unsigned flags = 0;
			uint16_t bytes = 0;
			struct et_pkt p;
			int id, len, flen;
			int64_t now, t_ns;

			if (EF_EVENT_TYPE(evs[i]) != EF_EVENT_TYPE_RX)
				et_die("event type %d while receiving",
				       EF_EVENT_TYPE(evs[i]));
			now = et_realtime_ns();
			id = EF_EVENT_RX_RQ_ID(evs[i]);
			len = EF_EVENT_RX_BYTES(evs[i]);
			buf = (const uint8_t *)et_vi_buf(&t, id);
			f = buf + 16;
			if (len <= 16 || et_parse(f, len - 16, &p) < 0 ||
			    !p.is_ip || !p.csum_ok || p.dport != ntohs(port))
				et_die("frame %d: bad frame after the prefix "
				       "(RX_BYTES %d)", got, len);
			flen = ET_ETH_HLEN + et_get16(f + ET_ETH_HLEN + 2);
			if (len != 16 + flen)
				et_die("frame %d: RX_BYTES %d, expected prefix "
				       "16 + frame %d", got, len, flen);
			rc = ef_vi_receive_get_timestamp_with_sync_flags(
				&t.vi, buf, &ts, &flags);
			if (rc != 0)
				et_die("frame %d: get_timestamp = %d", got, rc);
			t_ns = ts_ns(&ts);
			if (t_ns > now || now - t_ns > 1000000000)
				et_die("frame %d: timestamp %lld.%09ld is %lld ns "
				       "from now", got, (long long)ts.tv_sec,
				       ts.tv_nsec, (long long)(now - t_ns));
			if (t_ns < prev)
				et_die("frame %d: timestamp went back by %lld ns",
				       got, (long long)(prev - t_ns));
			prev = t_ns;
			if (!(flags & EF_VI_SYNC_FLAG_CLOCK_SET))
				et_die("frame %d: sync flags %#x", got, flags);
			ET_TRY(ef_vi_receive_get_precise_timestamp(&t.vi, buf,
								   &pt));
			if (pt.tv_sec != (int64_t)ts.tv_sec ||
			    pt.tv_nsec != (uint32_t)ts.tv_nsec)
				et_die("frame %d: precise timestamp differs", got);
			ET_TRY(ef_vi_receive_get_bytes(&t.vi, buf, &bytes));
			if (bytes != flen)
				et_die("frame %d: get_bytes %u, frame %d", got,
				       bytes, flen);
			printf("RXTS %d len=%d ts=%lld.%09ld age_ns=%lld\n", got,
			       flen, (long long)ts.tv_sec, ts.tv_nsec,
			       (long long)(now - t_ns));
			got++;
			ET_TRY(et_vi_repost(&t, id));
		}
	}

	ET_TRY(ef_vi_get_mac(&t.vi, t.dh, smac));
	if (k > t.n_tx)
		et_die("K %d above the TX ring capacity %d", k, t.n_tx);
	for (i = 0; i < k; i++) {
		int buf = t.n_rx + i, len;	/* each frame its own buffer */
		char pay[32];
		uint8_t *b;

		b = (uint8_t *)et_vi_buf(&t, buf);
		len = snprintf(pay, sizeof(pay), "TS-%06d", i);
		memcpy(b + ET_UDP_HDRS, pay, (size_t)len);
		len = et_build_udp(b, rmac, smac, laddr, raddr, port, rport,
				   b + ET_UDP_HDRS, (size_t)len, (uint16_t)i);
		ET_TRY(ef_vi_transmit_init(&t.vi, et_vi_dma(&t, buf), len,
					   1000 + i));
	}
	ef_vi_transmit_push(&t.vi);
	deadline = et_now_ns() + 5000000000LL;
	while (done < k) {
		ef_event evs[16];
		int m;

		if (et_now_ns() > deadline)
			et_die("%d of %d TX completions in 5 s", done, k);
		m = ef_eventq_poll(&t.vi, evs, 16);
		for (i = 0; i < m; i++) {
			int64_t now = et_realtime_ns(), t_ns;
			unsigned sec, nsec;

			if (EF_EVENT_TYPE(evs[i]) != EF_EVENT_TYPE_TX_WITH_TIMESTAMP)
				et_die("TX completion %d: event type %d, expected "
				       "TX_WITH_TIMESTAMP (%d)", done,
				       EF_EVENT_TYPE(evs[i]),
				       EF_EVENT_TYPE_TX_WITH_TIMESTAMP);
			if ((int)EF_EVENT_TX_WITH_TIMESTAMP_RQ_ID(evs[i]) !=
			    1000 + done)
				et_die("TX completion %d: RQ_ID %u, expected %d",
				       done,
				       EF_EVENT_TX_WITH_TIMESTAMP_RQ_ID(evs[i]),
				       1000 + done);
			if (EF_EVENT_TX_WITH_TIMESTAMP_Q_ID(evs[i]) !=
			    (unsigned)t.queue)
				et_die("TX completion %d: Q_ID %u", done,
				       EF_EVENT_TX_WITH_TIMESTAMP_Q_ID(evs[i]));
			if (!(EF_EVENT_TX_WITH_TIMESTAMP_SYNC_FLAGS(evs[i]) &
			      EF_VI_SYNC_FLAG_CLOCK_SET))
				et_die("TX completion %d: sync flags %#x", done,
				       EF_EVENT_TX_WITH_TIMESTAMP_SYNC_FLAGS(evs[i]));
			sec = EF_EVENT_TX_WITH_TIMESTAMP_SEC(evs[i]);
			nsec = EF_EVENT_TX_WITH_TIMESTAMP_NSEC(evs[i]);
			t_ns = (int64_t)sec * 1000000000 + nsec;
			if (nsec >= 1000000000u || t_ns > now + 1000000 ||
			    now - t_ns > 1000000000)
				et_die("TX completion %d: timestamp %u.%09u is "
				       "%lld ns from now", done, sec, nsec,
				       (long long)(now - t_ns));
			printf("TXTS %d id=%u ts=%u.%09u age_ns=%lld\n", done,
			       EF_EVENT_TX_WITH_TIMESTAMP_RQ_ID(evs[i]), sec,
			       nsec, (long long)(now - t_ns));
			done++;
		}
	}

	/* Without the flags: no prefix, no timestamps. */
	rc = et_vi_open(&t2, ifname, 0, -1, -1, 0, 0, &step);
	if (rc < 0)
		et_die("second VI: %s: %d", step, rc);
	if (ef_vi_receive_prefix_len(&t2.vi) != 0)
		et_die("prefix_len without RX_TIMESTAMPS: %d",
		       ef_vi_receive_prefix_len(&t2.vi));
	{
		struct timespec ts;

		memset(et_vi_buf(&t2, 0), 0xa5, 64);
		rc = ef_vi_receive_get_timestamp(&t2.vi, et_vi_buf(&t2, 0),
						 &ts);
		if (rc != -ENODATA)
			et_die("get_timestamp without RX_TIMESTAMPS = %d, "
			       "expected -ENODATA", rc);
	}
	et_vi_close(&t2);
	et_vi_close(&t);
	printf("TS ok\n");
	return 0;
}
