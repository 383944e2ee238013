/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mp: paced sequence-numbered UDP through ef_vi, for
 * tests/integration/million_packets.sh (not a test by itself).
 *
 *   mp send IF DSTIP DSTMAC PORT COUNT RATE
 *     sends COUNT frames at RATE frames/s (0: as fast as the ring allows)
 *     from a VI on IF (if it falls more than 64 frames behind schedule,
 *     e.g. descheduled, it moves the schedule rather than bursting: the
 *     count is late_resets). Frame k has a UDP payload of 18 + k % 64 bytes: k as
 *     a big-endian u64, then bytes (k * 7 + i) & 0xff. It never posts more
 *     than the ring's space, reaps completions as it goes, checks that
 *     every completion id is the next one posted (each exactly once, in
 *     order), and at the end waits (5 s at most) for every completion.
 *     Prints "SENT n=.. secs=.. pps=.. eagain=.. tx_errors=.. bad_ids=.."
 *     and exits 0 if all went out and completed cleanly.
 *   mp recv IF LOCALIP PORT COUNT SECS
 *     a VI on IF with the filter udp:LOCALIP:PORT; prints READY, then
 *     busy-polls until COUNT frames came, or 2 s passed without a frame
 *     after the first, or SECS passed. Checks every frame: length, IPv4
 *     and UDP checksums, payload pattern, and that sequence numbers come
 *     exactly once and in order. Prints "RECV got=.. lost=.. dup=..
 *     reorder=.. corrupt=.. discard=.. nodesc=.. other=.. max_poll_gap_us=.."
 *     (the longest time between two polls once traffic flowed) and the VI's
 *     non-zero statistics, and exits 0 only if got == COUNT and every
 *     other count is 0.
 */
#include "efvi_test.h"

#include <sched.h>

#define PAY_MIN 18
#define PAY_SPAN 64

static int paylen_of(uint64_t seq)
{
	return PAY_MIN + (int)(seq % PAY_SPAN);
}

static void fill_payload(uint8_t *p, uint64_t seq, int len)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(seq >> (56 - 8 * i));
	for (i = 8; i < len; i++)
		p[i] = (uint8_t)(seq * 7 + (uint64_t)i);
}

static void print_stats(struct et_vi *t)
{
	const ef_vi_stats_layout *l;
	uint64_t vals[64];
	int i;

	if (ef_vi_stats_query_layout(&t->vi, &l) < 0 ||
	    l->evsl_data_size > (int)sizeof(vals) ||
	    ef_vi_stats_query(&t->vi, t->dh, vals, 0) < 0)
		return;
	printf("STATS");
	for (i = 0; i < l->evsl_fields_num; i++) {
		uint64_t v = vals[l->evsl_fields[i].evsfl_offset / 8];

		if (v)
			printf(" %s=%llu", l->evsl_fields[i].evsfl_name,
			       (unsigned long long)v);
	}
	printf("\n");
}

static int do_send(char **argv)
{
	const char *ifname = argv[0], *step;
	uint32_t daddr = inet_addr(argv[1]), saddr;
	uint16_t port = htons((uint16_t)atoi(argv[3]));
	uint64_t count = strtoull(argv[4], NULL, 0);
	double rate = atof(argv[5]);
	uint8_t dmac[6], smac[6];
	struct et_vi t;
	uint64_t sent = 0, done = 0, eagain = 0, tx_errors = 0, bad_ids = 0;
	uint64_t resched = 0;
	int *fifo, fifo_head = 0, fifo_tail = 0, fifo_n, rc;
	int64_t start, gap_ns, deadline, end;

	if (et_parse_mac(argv[2], dmac) < 0)
		et_die("bad MAC %s", argv[2]);
	rc = et_vi_open(&t, ifname, 0, -1, -1, 0, 0, &step);
	if (rc < 0)
		et_die("%s: %s", step, strerror(-rc));
	ET_TRY(ef_vi_get_mac(&t.vi, t.dh, smac));
	saddr = et_if_ip4(ifname);
	if (!saddr)
		et_die("%s has no IPv4 address", ifname);
	fifo_n = t.n_tx + 1;
	fifo = calloc((size_t)fifo_n, sizeof(int));
	if (!fifo)
		et_die("out of memory");

	gap_ns = rate > 0 ? (int64_t)(1e9 / rate) : 0;
	start = et_now_ns();
	deadline = start + (int64_t)((double)count / (rate > 0 ? rate : 1e5) *
				     3e9) + 10000000000LL;
	while (done < count) {
		ef_event evs[32];
		ef_request_id ids[EF_VI_TRANSMIT_BATCH];
		int n, i, j, posted = 0;
		int64_t now = et_now_ns();

		if (now > deadline)
			break;
		n = ef_eventq_poll(&t.vi, evs, 32);
		for (i = 0; i < n; i++) {
			int ty = EF_EVENT_TYPE(evs[i]);

			if (ty != EF_EVENT_TYPE_TX && ty != EF_EVENT_TYPE_TX_ERROR)
				et_die("unexpected event type %d", ty);
			if (ty == EF_EVENT_TYPE_TX_ERROR)
				tx_errors++;
			rc = ef_vi_transmit_unbundle(&t.vi, &evs[i], ids);
			if (rc < 0)
				et_die("unbundle: %d", rc);
			for (j = 0; j < rc; j++) {
				if (fifo_head == fifo_tail ||
				    ids[j] != fifo[fifo_head])
					bad_ids++;
				if (fifo_head != fifo_tail)
					fifo_head = (fifo_head + 1) % fifo_n;
				et_vi_tx_put(&t, ids[j]);
				done++;
			}
		}
		/* Paced means paced: after this process was descheduled,
		 * drop the missed slots instead of sending them in a burst
		 * (at most 64 frames late). */
		if (gap_ns && now - (start + (int64_t)sent * gap_ns) >
			      64 * gap_ns) {
			start = now - (int64_t)sent * gap_ns - 64 * gap_ns;
			resched++;
		}
		while (sent < count && posted < 64 &&
		       (gap_ns == 0 || now >= start + (int64_t)sent * gap_ns) &&
		       ef_vi_transmit_space(&t.vi) > 0) {
			int id = et_vi_tx_get(&t);
			uint8_t *b;
			int len;

			if (id < 0)
				break;
			b = (uint8_t *)et_vi_buf(&t, id);
			len = paylen_of(sent);
			fill_payload(b + ET_UDP_HDRS, sent, len);
			len = et_build_udp(b, dmac, smac, saddr, daddr, port,
					   port, b + ET_UDP_HDRS, (size_t)len,
					   (uint16_t)sent);
			rc = ef_vi_transmit_init(&t.vi, et_vi_dma(&t, id), len,
						 id);
			if (rc == -EAGAIN) {
				eagain++;
				et_vi_tx_put(&t, id);
				break;
			}
			if (rc < 0)
				et_die("transmit_init: %d", rc);
			fifo[fifo_tail] = id;
			fifo_tail = (fifo_tail + 1) % fifo_n;
			sent++;
			posted++;
		}
		if (posted)
			ef_vi_transmit_push(&t.vi);
	}
	end = et_now_ns();
	printf("SENT n=%llu completed=%llu secs=%.3f pps=%.0f eagain=%llu "
	       "tx_errors=%llu bad_ids=%llu late_resets=%llu\n",
	       (unsigned long long)sent,
	       (unsigned long long)done, (double)(end - start) / 1e9,
	       (double)sent * 1e9 / (double)(end - start),
	       (unsigned long long)eagain, (unsigned long long)tx_errors,
	       (unsigned long long)bad_ids, (unsigned long long)resched);
	print_stats(&t);
	fflush(stdout);
	free(fifo);
	et_vi_close(&t);
	return sent == count && done == count && !eagain && !tx_errors &&
	       !bad_ids ? 0 : 1;
}

static int do_recv(char **argv)
{
	const char *ifname = argv[0], *step;
	uint64_t count = strtoull(argv[3], NULL, 0);
	int secs = atoi(argv[4]);
	char spec[64];
	ef_filter_spec fs;
	struct et_vi t;
	uint64_t got = 0, lost = 0, dup = 0, reorder = 0, corrupt = 0;
	uint64_t discard = 0, nodesc = 0, other = 0, expect = 0;
	int64_t deadline, last = 0, prev_iter = 0, max_gap = 0;
	int rc, first_bad_printed = 0;

	rc = et_vi_open(&t, ifname, 0, 4095, -1, 0, 0, &step);
	if (rc < 0)
		et_die("%s: %s", step, strerror(-rc));
	snprintf(spec, sizeof(spec), "udp:%s:%s", argv[1], argv[2]);
	ET_TRY(et_parse_filter(spec, &fs));
	ET_TRY(ef_vi_filter_add(&t.vi, t.dh, &fs, NULL));
	ET_TRY(et_vi_post_all(&t));
	printf("READY rxq_capacity=%d\n", ef_vi_receive_capacity(&t.vi));
	fflush(stdout);

	deadline = et_now_ns() + (int64_t)secs * 1000000000;
	while (got + lost < count) {
		ef_event evs[64];
		int n, i;
		int64_t now = et_now_ns();

		if (now > deadline || (last && now - last > 2000000000))
			break;
		/* Longest time between two polls while traffic flows: a
		 * large one means this process did not run (descheduled,
		 * preempted), not that the library lost frames. */
		if (last && now - prev_iter > max_gap)
			max_gap = now - prev_iter;
		prev_iter = now;
		n = ef_eventq_poll(&t.vi, evs, 64);
		if (n)
			last = now;
		for (i = 0; i < n; i++) {
			int ty = EF_EVENT_TYPE(evs[i]);
			int id, len, bad = 0;
			const uint8_t *f;
			struct et_pkt p;
			uint64_t seq = 0;

			if (ty == EF_EVENT_TYPE_RX_DISCARD) {
				discard++;
				ET_TRY(et_vi_repost(&t, EF_EVENT_RX_DISCARD_RQ_ID(evs[i])));
				continue;
			}
			if (ty == EF_EVENT_TYPE_RX_NO_DESC_TRUNC) {
				nodesc++;
				continue;
			}
			if (ty != EF_EVENT_TYPE_RX) {
				other++;
				continue;
			}
			id = EF_EVENT_RX_RQ_ID(evs[i]);
			if (id < 0 || id >= t.n_rx)
				et_die("RX id %d out of range", id);
			len = EF_EVENT_RX_BYTES(evs[i]);
			f = (const uint8_t *)et_vi_buf(&t, id);
			got++;
			if (!EF_EVENT_RX_SOP(evs[i]) || EF_EVENT_RX_CONT(evs[i]) ||
			    et_parse(f, len, &p) < 0 || !p.is_ip ||
			    !p.csum_ok || p.paylen < PAY_MIN ||
			    len != ET_UDP_HDRS + p.paylen) {
				bad = 1;
			} else {
				int k;

				for (k = 0; k < 8; k++)
					seq = seq << 8 | p.payload[k];
				if (p.paylen != paylen_of(seq)) {
					bad = 1;
				} else {
					uint8_t want[PAY_MIN + PAY_SPAN];

					fill_payload(want, seq, p.paylen);
					bad = memcmp(want, p.payload,
						     (size_t)p.paylen) != 0;
				}
			}
			if (bad) {
				corrupt++;
				if (!first_bad_printed++)
					printf("first corrupt frame: rx #%llu "
					       "len %d\n",
					       (unsigned long long)got, len);
			} else if (seq == expect) {
				expect++;
			} else if (seq > expect) {
				if (lost == 0)
					printf("first gap: expected %llu, got "
					       "%llu\n",
					       (unsigned long long)expect,
					       (unsigned long long)seq);
				lost += seq - expect;
				expect = seq + 1;
			} else if (seq == expect - 1) {
				dup++;
			} else {
				/* behind: a duplicate or a late one; a late
				 * one was counted as lost already */
				reorder++;
			}
			ET_TRY(et_vi_repost(&t, id));
		}
	}
	/* Frames lost at the end of the run. */
	if (expect < count && got + lost < count)
		lost += count - expect;
	printf("RECV got=%llu lost=%llu dup=%llu reorder=%llu corrupt=%llu "
	       "discard=%llu nodesc=%llu other=%llu max_poll_gap_us=%lld\n",
	       (unsigned long long)got, (unsigned long long)lost,
	       (unsigned long long)dup, (unsigned long long)reorder,
	       (unsigned long long)corrupt, (unsigned long long)discard,
	       (unsigned long long)nodesc, (unsigned long long)other,
	       (long long)(max_gap / 1000));
	print_stats(&t);
	fflush(stdout);
	et_vi_close(&t);
	return got == count && !lost && !dup && !reorder && !corrupt &&
	       !discard && !nodesc && !other ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 8 && !strcmp(argv[1], "send"))
		return do_send(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "recv"))
		return do_recv(argv + 2);
	fprintf(stderr, "usage: mp send IF DSTIP DSTMAC PORT COUNT RATE\n"
			"       mp recv IF LOCALIP PORT COUNT SECS\n");
	return 2;
}
