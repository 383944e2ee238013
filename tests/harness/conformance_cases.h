/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conformance_cases.h: the ef_vi conformance suite, written once and run
 * against every backend: sim without root (tests/unit/vi/
 * test_conformance_sim.c) and AF_XDP and AF_PACKET in netns+veth
 * (tests/integration/progs/conformance.c, run by conformance.sh). Each case
 * is a static function taking a struct conf_env: two connected ends, "A"
 * and "B" (and "B2", a second VI on B's interface, for the filter case),
 * each a VI with its driver handle, PD and registered buffers (struct et_vi
 * of efvi_test.h), its MAC and IPv4 address. The driver fills the env: the
 * namespace switch (enter; NULL without namespaces), the clock (now) and
 * how time passes while nothing happens (advance: the virtual clock on sim,
 * a real sleep on the kernel backends), and capabilities (has_kernel).
 *
 * Every VI claims only what its filters claim: each one gets an "anchor"
 * filter (UDP to its own address, port CONF_P_ANCHOR + its index), so a sim
 * VI never stands in for the kernel (sim.h: unclaimed frames go to a VI
 * without filters), and a frame no filter claims reaches no VI on any
 * backend. Frames are Ethernet/IPv4/UDP with correct checksums, built by
 * efvi_test.h (an oracle independent of the library), 60 bytes or more
 * (no padding question). A receive id's last three decimal digits are its
 * buffer index. Absence ("nothing else arrived") is shown by a fence where
 * possible: a frame sent afterwards on the same path, whose arrival proves
 * that everything sent earlier was handled (one queue, in order); else by
 * polling for env->quiet_ns. No result depends on timing: every wait is
 * bounded (env->wait_ns) and every loop has a fixed bound too.
 *
 * The cases, and what each backend guarantees:
 *   rx_order       RX events in posting order, with the ids given at post
 *                  (posted in a scrambled order), exact lengths and bytes,
 *                  SOP set, CONT clear; TX ids come back in order.
 *   ring_wrap      4000 frames each way through 64-entry rings on both
 *                  VIs (both rings of both VIs wrap about 60 times), with
 *                  every length, byte and id checked.
 *   tx_unbundle    300 transmit_init then one push: nothing is sent or
 *                  completed before the push; then every id in posting
 *                  order, 1..EF_VI_TRANSMIT_BATCH ids per TX event, and
 *                  the peer gets all 300 in order.
 *   rx_no_desc     frames that reach a VI with no buffer posted: exactly
 *                  one RX_NO_DESC_TRUNC each, never an RX, and the buffer
 *                  posted afterwards gets the next frame. All three
 *                  backends keep arrived frames in their own ring (the
 *                  AF_XDP socket's, the AF_PACKET ring, the sim backlog)
 *                  and turn each into this event at poll time (swq.c), so
 *                  this is exact everywhere. Frames the kernel itself drops
 *                  when its ring overflows are reported differently (AF_XDP
 *                  reads XDP_STATISTICS on a deep backlog or every 4096
 *                  polls, AF_PACKET reads tp_drops on TP_STATUS_LOSING or
 *                  every 4096 polls; sim has a 4096-frame backlog): when
 *                  these events come is not bounded, so that is not tested.
 *   rx_ring_full   capacity (63 for 64 entries) posts, then -EAGAIN from
 *                  receive_init and receive_post; room again after a frame.
 *   tx_ring_full   capacity transmits without polling, then -EAGAIN; the
 *                  ids come back in order and the ring works again.
 *   bad_addr       -EINVAL for addresses outside registered memory (and a
 *                  length of 0), nothing queued by the failed calls.
 *   tx_too_big     a frame of ef_vi_mtu() bytes goes out; one longer than
 *                  ef_vi_mtu() + 4 (room for a VLAN tag, which every
 *                  backend allows) is accepted, completes as TX_ERROR 2BIG
 *                  with its id in its place among its neighbours, and never
 *                  reaches the wire.
 *   rx_multibuf    ef_vi_receive_set_buffer_len(256): a 1000-byte frame
 *                  fills 4 buffers in posting order: SOP on the first,
 *                  CONT on all but the last, the bytes intact; each
 *                  event's EF_EVENT_RX_BYTES is the frame's bytes so far
 *                  (256, 512, 768, 1000), as in ef_vi, where the event
 *                  without CONT gives the whole frame's length.
 *   filters        ip4_local and ip4_full steer; full beats local; -EEXIST
 *                  for the same filter twice on one VI, -EBUSY from another
 *                  VI; filter_del moves the flow (to the remaining filter,
 *                  then to no VI at all); a deleted cookie is -EINVAL.
 *   kernel_isolation  (kernel backends; skipped on sim, which has no
 *                  kernel) kernel UDP sockets in B's namespace: a claimed
 *                  flow (local and full) never reaches them, unclaimed
 *                  flows (another port, another source port) do, and after
 *                  filter_del the flows go back to the kernel, not the VI.
 *   csum_discard   bad UDP and bad IPv4 header checksums: RX_DISCARD
 *                  CSUM_BAD with the posted id and length (the good frames
 *                  around them are RX); after ef_vi_receive_set_discards(vi,
 *                  0) the same frames are delivered as RX, bytes intact.
 *   eventq_wait    ef_eventq_has_event is 0 when idle and ef_eventq_wait
 *                  gives -ETIMEDOUT; after a frame (or a completion) both
 *                  say yes, has_event consumes nothing, and the poll
 *                  returns that event.
 *
 * A driver includes this file after filling nothing else: it sets up
 * *conf_env_get() (ends' labels, interfaces, addresses, hooks, times) and
 * runs conf_tests with unit__run() (unit_test.h). Failures are CHECKs (the
 * running case ends; the next case first frees what it left).
 */
#ifndef ANYLOAD_CONFORMANCE_CASES_H
#define ANYLOAD_CONFORMANCE_CASES_H

#include "efvi_test.h"
#include "unit_test.h"

#include <anyload/vi_ext.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Ports (host order). */
#define CONF_P_DATA     9600	/* data flows of most cases */
#define CONF_P_FLT      9610	/* the filter case */
#define CONF_P_KCLAIM   9620	/* kernel isolation: claimed (local) */
#define CONF_P_KOPEN    9621	/* kernel isolation: never claimed */
#define CONF_P_KFULL    9622	/* kernel isolation: claimed (full) */
#define CONF_P_ANCHOR   9700	/* + end index: each VI's anchor filter */
#define CONF_S1         31001	/* source ports */
#define CONF_S2         31002

#define CONF_PAY_MIN    18	/* 42 + 18 = 60-byte frames at least */
#define CONF_LOG_MAX    1024
#define CONF_MAX_KSOCK  8
#define CONF_MAX_ITER   10000000L	/* bound of every polling loop */

enum { CONF_A, CONF_B, CONF_B2, CONF_N_ENDS };

/* What an end's VI reported, in order, since the last conf_log_reset. TX
 * and TX_ERROR events are unbundled as they are polled. */
struct conf_log {
	int rx_n;			/* RX, RX_DISCARD, RX_NO_DESC_TRUNC */
	ef_event rx[CONF_LOG_MAX];
	int tx_events;			/* TX and TX_ERROR events */
	int tx_batch_max;		/* most ids one of them carried */
	int tx_n;			/* ids, in unbundle order */
	ef_request_id tx_id[CONF_LOG_MAX];
	int tx_kind[CONF_LOG_MAX];	/* -1: TX; else the TX_ERROR subtype */
	int other;			/* events of any other type */
	int other_type;			/* the type of the first of them */
};

struct conf_end {
	const char *label;		/* "A", "B", "B2" */
	const char *ifname;
	int ns;				/* namespace index for enter() */
	uint32_t ip_be;
	uint16_t anchor_port;
	/* Set by conf_open: */
	int open;
	struct et_vi t;
	uint8_t mac[6];
	unsigned mtu;			/* ef_vi_mtu(): largest frame */
	unsigned rx_next;		/* next buffer conf_post gives */
	unsigned tx_next;		/* next transmit buffer */
	struct conf_log log;
};

struct conf_env {
	const char *backend;		/* what anyload_vi_backend() must say */
	int has_kernel;			/* a kernel stack shares the link */
	int64_t step_ns;		/* advance() per idle poll */
	int64_t wait_ns;		/* bound of a wait for something due */
	int64_t quiet_ns;		/* how long "nothing else" is polled */
	struct conf_end end[CONF_N_ENDS];
	/* enter: make e's namespace the caller's (NULL: one namespace). */
	void (*enter)(struct conf_env *env, const struct conf_end *e);
	int64_t (*now)(struct conf_env *env);
	void (*advance)(struct conf_env *env, int64_t ns);
	void *priv;
	int kfd[CONF_MAX_KSOCK];	/* kernel sockets of the running case */
	int n_kfd;
	uint32_t fence_seq;
};

/* conf_env_get: the one environment of the process. */
static inline struct conf_env *conf_env_get(void)
{
	static struct conf_env env;
	return &env;
}

/* ---- ends: open, close, filters ---------------------------------------- */

static inline void conf_enter(struct conf_env *env, const struct conf_end *e)
{
	if (env->enter)
		env->enter(env, e);
}

static inline void conf_log_reset(struct conf_end *e)
{
	memset(&e->log, 0, sizeof(e->log));
}

/* conf_close: free every VI and kernel socket (in the right namespace).
 * Makes no checks: it also runs outside any test, and after a failure. */
static inline void conf_close(struct conf_env *env)
{
	int i;

	for (i = 0; i < env->n_kfd; i++)
		close(env->kfd[i]);
	env->n_kfd = 0;
	for (i = CONF_N_ENDS - 1; i >= 0; i--) {
		struct conf_end *e = &env->end[i];

		if (!e->open)
			continue;
		conf_enter(env, e);
		et_vi_close(&e->t);
		e->open = 0;
	}
}

/* conf_filter: add fs to e's VI; returns the call's result. */
static inline int conf_filter(struct conf_env *env, struct conf_end *e,
			      const ef_filter_spec *fs, ef_filter_cookie *ck)
{
	conf_enter(env, e);
	return ef_vi_filter_add(&e->t.vi, e->t.dh, fs, ck);
}

static inline int conf_filter_del(struct conf_env *env, struct conf_end *e,
				  ef_filter_cookie *ck)
{
	conf_enter(env, e);
	return ef_vi_filter_del(&e->t.vi, e->t.dh, ck);
}

/* conf_local: ip4_local UDP (host_be, port) on e; returns the result. */
static inline int conf_local(struct conf_env *env, struct conf_end *e,
			     uint32_t host_be, uint16_t port,
			     ef_filter_cookie *ck)
{
	ef_filter_spec fs;

	ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
	CHECK(ef_filter_spec_set_ip4_local(&fs, IPPROTO_UDP, host_be,
					   htons(port)), ==, 0);
	return conf_filter(env, e, &fs, ck);
}

/* conf_full: ip4_full UDP (e's address, lport) from (rhost_be, rport). */
static inline int conf_full(struct conf_env *env, struct conf_end *e,
			    uint16_t lport, uint32_t rhost_be, uint16_t rport,
			    ef_filter_cookie *ck)
{
	ef_filter_spec fs;

	ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
	CHECK(ef_filter_spec_set_ip4_full(&fs, IPPROTO_UDP, e->ip_be,
					  htons(lport), rhost_be,
					  htons(rport)), ==, 0);
	return conf_filter(env, e, &fs, ck);
}

/* conf_claim: e's VI claims UDP to its own address and port. */
static inline void conf_claim(struct conf_env *env, struct conf_end *e,
			      uint16_t port)
{
	int rc = conf_local(env, e, e->ip_be, port, NULL);

	if (rc != 0)
		UNIT_FAIL("%s: ef_vi_filter_add udp:%u = %d (%s)", e->label,
			  port, rc, strerror(-rc));
}

/* conf_open: free what an earlier case left, then open A and B (and B2,
 * on B's interface, if with_b2) with rings of rxq/txq entries (-1: the
 * default), each with its anchor filter. */
static inline void conf_open(struct conf_env *env, int rxq, int txq,
			     int with_b2)
{
	int i;

	conf_close(env);
	for (i = 0; i < CONF_N_ENDS; i++) {
		struct conf_end *e = &env->end[i];
		const char *step, *be;
		int rc;

		if (i == CONF_B2 && !with_b2)
			continue;
		conf_enter(env, e);
		rc = et_vi_open(&e->t, e->ifname, EF_VI_FLAGS_DEFAULT, rxq, txq,
				0, 0, &step);
		if (rc < 0)
			UNIT_FAIL("VI %s on %s: %s = %d (%s)", e->label,
				  e->ifname, step, rc, strerror(-rc));
		e->open = 1;
		be = anyload_vi_backend(&e->t.vi);
		CHECK_STR(be, ==, env->backend);
		CHECK(ef_vi_get_mac(&e->t.vi, e->t.dh, e->mac), ==, 0);
		e->mtu = ef_vi_mtu(&e->t.vi, e->t.dh);
		CHECK(e->mtu, >=, 576u);
		CHECK(ef_vi_receive_prefix_len(&e->t.vi), ==, 0);
		e->rx_next = 0;
		e->tx_next = 0;
		conf_log_reset(e);
		conf_claim(env, e, e->anchor_port);
	}
}

/* ---- frames ------------------------------------------------------------- */

/* conf_build: the UDP frame from `from` to `to` (ports in host order) with
 * a payload of paylen bytes (>= 4): seq big-endian, then a pattern of seq.
 * Returns its length. */
static inline int conf_build(uint8_t *buf, const struct conf_end *from,
			     const struct conf_end *to, uint16_t sport,
			     uint16_t dport, uint32_t seq, int paylen)
{
	uint8_t *pay = buf + ET_UDP_HDRS;
	int i;

	pay[0] = (uint8_t)(seq >> 24);
	pay[1] = (uint8_t)(seq >> 16);
	pay[2] = (uint8_t)(seq >> 8);
	pay[3] = (uint8_t)seq;
	for (i = 4; i < paylen; i++)
		pay[i] = (uint8_t)(seq * 7 + (uint32_t)i * 13);
	return et_build_udp(buf, to->mac, from->mac, from->ip_be, to->ip_be,
			    htons(sport), htons(dport), pay, (size_t)paylen,
			    (uint16_t)seq);
}

/* conf_frame_seq: the seq of a frame built by conf_build. */
static inline uint32_t conf_frame_seq(const uint8_t *f)
{
	const uint8_t *p = f + ET_UDP_HDRS;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline char *conf_tx_buf(struct conf_end *e, unsigned i)
{
	return et_vi_buf(&e->t, e->t.n_rx + (int)(i % (unsigned)e->t.n_tx));
}

static inline ef_addr conf_tx_dma(struct conf_end *e, unsigned i)
{
	return et_vi_dma(&e->t, e->t.n_rx + (int)(i % (unsigned)e->t.n_tx));
}

/* conf_rx_buf: the buffer of a receive id (its last three digits). */
static inline uint8_t *conf_rx_buf(struct conf_end *e, ef_request_id id)
{
	return (uint8_t *)et_vi_buf(&e->t, (int)((unsigned)id % 1000));
}

/* conf_send_init / conf_send: build a frame in e's next transmit buffer
 * (cycling through them; a buffer is reused only when the ring has room,
 * so never while its frame is in flight) and queue (and push) it. Returns
 * the frame length, or the call's negative errno; -EAGAIN without
 * touching any buffer when the ring is full. */
static inline int conf_send_init(struct conf_end *from,
				 const struct conf_end *to, uint16_t sport,
				 uint16_t dport, uint32_t seq, int paylen,
				 ef_request_id id)
{
	int len, rc;

	if (ef_vi_transmit_space(&from->t.vi) <= 0)
		return -EAGAIN;
	len = conf_build((uint8_t *)conf_tx_buf(from, from->tx_next), from,
			 to, sport, dport, seq, paylen);
	rc = ef_vi_transmit_init(&from->t.vi,
				 conf_tx_dma(from, from->tx_next), len, id);
	if (rc < 0)
		return rc;
	from->tx_next++;
	return len;
}

static inline int conf_send(struct conf_end *from, const struct conf_end *to,
			    uint16_t sport, uint16_t dport, uint32_t seq,
			    int paylen, ef_request_id id)
{
	int rc = conf_send_init(from, to, sport, dport, seq, paylen, id);

	if (rc > 0)
		ef_vi_transmit_push(&from->t.vi);
	return rc;
}

/* CONF_SEND: conf_send that must succeed. */
#define CONF_SEND(from, to, sport, dport, seq, paylen, id)		\
	CHECK(conf_send((from), (to), (sport), (dport), (seq),		\
			(paylen), (id)), ==, ET_UDP_HDRS + (paylen))

/* conf_post: post n buffers of e, cycling through them, id = index. */
static inline void conf_post(struct conf_end *e, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		unsigned b = e->rx_next % (unsigned)e->t.n_rx;
		int rc = ef_vi_receive_post(&e->t.vi, et_vi_dma(&e->t, (int)b),
					    (ef_request_id)b);

		if (rc != 0)
			UNIT_FAIL("%s: post %d of %d: %d (%s)", e->label, i + 1,
				  n, rc, strerror(-rc));
		e->rx_next++;
	}
}

/* conf_check_rx: ev is an RX event (SOP, not CONT) holding exactly the
 * frame ref[0..len). */
static inline void conf_check_rx(struct conf_end *e, const ef_event *ev,
				 const uint8_t *ref, int len)
{
	int pfx = ef_vi_receive_prefix_len(&e->t.vi);

	CHECK(EF_EVENT_TYPE(*ev), ==, EF_EVENT_TYPE_RX);
	CHECK(EF_EVENT_RX_BYTES(*ev), ==, len + pfx);
	CHECK(EF_EVENT_RX_SOP(*ev), !=, 0);
	CHECK(EF_EVENT_RX_CONT(*ev), ==, 0);
	CHECK_MEM(conf_rx_buf(e, (ef_request_id)EF_EVENT_RX_RQ_ID(*ev)) + pfx,
		  ref, (size_t)len);
}

/* ---- polling ------------------------------------------------------------ */

/* conf_poll_end: one ef_eventq_poll of e into its log. Returns the number
 * of events. */
static inline int conf_poll_end(struct conf_end *e)
{
	ef_request_id ids[EF_VI_TRANSMIT_BATCH];
	struct conf_log *l = &e->log;
	ef_event evs[32];
	int n, i, k, m;

	if (!e->open)
		return 0;
	n = ef_eventq_poll(&e->t.vi, evs, 32);
	CHECK(n, >=, 0);
	CHECK(n, <=, 32);
	for (i = 0; i < n; i++) {
		unsigned ty = EF_EVENT_TYPE(evs[i]);

		switch (ty) {
		case EF_EVENT_TYPE_RX:
		case EF_EVENT_TYPE_RX_DISCARD:
		case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
			if (l->rx_n >= CONF_LOG_MAX)
				UNIT_FAIL("%s: more than %d receive events",
					  e->label, CONF_LOG_MAX);
			l->rx[l->rx_n++] = evs[i];
			break;
		case EF_EVENT_TYPE_TX:
		case EF_EVENT_TYPE_TX_ERROR:
			m = ef_vi_transmit_unbundle(&e->t.vi, &evs[i], ids);
			if (m < 1 || m > EF_VI_TRANSMIT_BATCH)
				UNIT_FAIL("%s: ef_vi_transmit_unbundle gave %d "
					  "ids for one %s event", e->label, m,
					  ty == EF_EVENT_TYPE_TX ? "TX" :
					  "TX_ERROR");
			if (l->tx_n + m > CONF_LOG_MAX)
				UNIT_FAIL("%s: more than %d completions",
					  e->label, CONF_LOG_MAX);
			for (k = 0; k < m; k++) {
				l->tx_id[l->tx_n] = ids[k];
				l->tx_kind[l->tx_n] =
					ty == EF_EVENT_TYPE_TX ? -1 :
					(int)EF_EVENT_TX_ERROR_TYPE(evs[i]);
				l->tx_n++;
			}
			l->tx_events++;
			if (m > l->tx_batch_max)
				l->tx_batch_max = m;
			break;
		default:
			if (!l->other)
				l->other_type = (int)ty;
			l->other++;
			break;
		}
	}
	return n;
}

/* conf_poll_all: poll every open end once. The peers are polled too while
 * a case waits for one end: AF_XDP hands the kernel more transmits (and
 * reaps completions) from the poll loop. Returns the events seen. */
static inline int conf_poll_all(struct conf_env *env)
{
	int i, n = 0;

	for (i = 0; i < CONF_N_ENDS; i++)
		n += conf_poll_end(&env->end[i]);
	return n;
}

typedef int (*conf_pred)(struct conf_env *env, struct conf_end *e,
			 void *arg);

/* conf_poll_until: poll (every end) until pred(env, e, arg) holds, or
 * timeout_ns passes on the env's clock; time advances by env->step_ns
 * after every poll that found nothing. Returns 1 if pred held. */
static inline int conf_poll_until(struct conf_env *env, struct conf_end *e,
				  conf_pred pred, void *arg,
				  int64_t timeout_ns)
{
	int64_t deadline = env->now(env) + timeout_ns;
	long i;

	for (i = 0; i < CONF_MAX_ITER; i++) {
		int got = conf_poll_all(env);

		if (pred(env, e, arg))
			return 1;
		if (env->now(env) >= deadline)
			return 0;
		if (!got)
			env->advance(env, env->step_ns);
	}
	return 0;
}

static inline int conf__rx_at_least(struct conf_env *env, struct conf_end *e,
				    void *arg)
{
	(void)env;
	return e->log.rx_n >= *(const int *)arg;
}

static inline int conf__tx_at_least(struct conf_env *env, struct conf_end *e,
				    void *arg)
{
	(void)env;
	return e->log.tx_n >= *(const int *)arg;
}

static inline int conf__never(struct conf_env *env, struct conf_end *e,
			      void *arg)
{
	(void)env;
	(void)e;
	(void)arg;
	return 0;
}

/* conf_wait_rx / conf_wait_tx: poll until e's log holds n receive events /
 * n completed transmit ids; fail after env->wait_ns. */
static inline void conf_wait_rx(struct conf_env *env, struct conf_end *e,
				int n)
{
	if (!conf_poll_until(env, e, conf__rx_at_least, &n, env->wait_ns))
		UNIT_FAIL("%s: %d of %d receive events within %lld ms",
			  e->label, e->log.rx_n, n,
			  (long long)(env->wait_ns / 1000000));
}

static inline void conf_wait_tx(struct conf_env *env, struct conf_end *e,
				int n)
{
	if (!conf_poll_until(env, e, conf__tx_at_least, &n, env->wait_ns))
		UNIT_FAIL("%s: %d of %d transmit completions within %lld ms",
			  e->label, e->log.tx_n, n,
			  (long long)(env->wait_ns / 1000000));
}

/* conf_quiet: poll every end for env->quiet_ns (for absence where no
 * fence can show it). */
static inline void conf_quiet(struct conf_env *env)
{
	(void)conf_poll_until(env, &env->end[CONF_A], conf__never, NULL,
			      env->quiet_ns);
}

/* conf_fence: send a frame from `from` to `to`'s anchor port (posting one
 * buffer of `to` for it) and wait for it: on one queue, in order, every
 * frame sent to `to`'s interface before it has then been handled. The
 * fence's event must be the last of to's log; it is taken out again. */
static inline void conf_fence(struct conf_env *env, struct conf_end *from,
			      struct conf_end *to)
{
	uint32_t seq = 0xfe000000u | env->fence_seq++;
	uint8_t ref[ET_BUF_SIZE];
	int len, n0 = to->log.rx_n;
	const ef_event *ev;

	conf_post(to, 1);
	len = conf_build(ref, from, to, from->anchor_port, to->anchor_port,
			 seq, CONF_PAY_MIN);
	CHECK(conf_send(from, to, from->anchor_port, to->anchor_port, seq,
			CONF_PAY_MIN, (ef_request_id)seq), ==, len);
	conf_wait_rx(env, to, n0 + 1);
	ev = &to->log.rx[to->log.rx_n - 1];
	if (EF_EVENT_TYPE(*ev) != EF_EVENT_TYPE_RX ||
	    conf_frame_seq(conf_rx_buf(to, (ef_request_id)
				       EF_EVENT_RX_RQ_ID(*ev))) != seq)
		UNIT_FAIL("%s: the last receive event is not the fence frame "
			  "(type %u)", to->label, EF_EVENT_TYPE(*ev));
	conf_check_rx(to, ev, ref, len);
	to->log.rx_n--;
}

/* conf_no_other: nothing but RX-side and TX events came to any end. */
static inline void conf_no_other(struct conf_env *env)
{
	int i;

	for (i = 0; i < CONF_N_ENDS; i++)
		if (env->end[i].log.other)
			UNIT_FAIL("%s: %d unexpected events, the first of type "
				  "%d", env->end[i].label,
				  env->end[i].log.other,
				  env->end[i].log.other_type);
}

/* conf_check_tx_ids: e's log holds exactly n completions, ids first_id,
 * first_id + step, ..., all TX (not TX_ERROR). */
static inline void conf_check_tx_ids(struct conf_end *e, int n,
				     ef_request_id first_id, int step)
{
	int k;

	CHECK(e->log.tx_n, ==, n);
	for (k = 0; k < n; k++) {
		if (e->log.tx_id[k] != first_id + k * step ||
		    e->log.tx_kind[k] != -1)
			UNIT_FAIL("%s: completion %d: id %d (%s), expected "
				  "id %d (TX)", e->label, k, e->log.tx_id[k],
				  e->log.tx_kind[k] == -1 ? "TX" : "TX_ERROR",
				  first_id + k * step);
	}
}

/* ---- kernel sockets (has_kernel) -------------------------------------- */

/* conf_ksock: a non-blocking kernel UDP socket in B's namespace, bound to
 * B's address and port; closed by conf_close. */
static inline int conf_ksock(struct conf_env *env, uint16_t port)
{
	struct conf_end *b = &env->end[CONF_B];
	struct sockaddr_in sa;
	int fd;

	CHECK(env->n_kfd, <, CONF_MAX_KSOCK);
	conf_enter(env, b);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd, >=, 0);
	env->kfd[env->n_kfd++] = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = b->ip_be;
	sa.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		UNIT_FAIL("bind udp:%u in B's namespace: %s", port,
			  strerror(errno));
	return fd;
}

/* Datagrams a kernel socket got: their seq and source port. */
struct conf_kq {
	int fd;
	int want;
	int n;
	int bad;			/* payloads not as conf_build made */
	uint32_t seq[64];
	uint16_t sport[64];
};

/* conf_kq_drain: read every datagram waiting on q->fd (at most 64 more). */
static inline void conf_kq_drain(struct conf_kq *q)
{
	int i;

	for (i = 0; i < 64; i++) {
		uint8_t buf[ET_BUF_SIZE], ref[ET_BUF_SIZE];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(q->fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		uint32_t seq;
		int k;

		if (r < 0)
			return;
		if (r < 4 || q->n >= 64) {
			q->bad++;
			continue;
		}
		seq = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
		      (uint32_t)buf[2] << 8 | buf[3];
		for (k = 4; k < r; k++)
			ref[k] = (uint8_t)(seq * 7 + (uint32_t)k * 13);
		if (memcmp(buf + 4, ref + 4, (size_t)r - 4))
			q->bad++;
		q->seq[q->n] = seq;
		q->sport[q->n] = ntohs(from.sin_port);
		q->n++;
	}
}

static inline int conf__kq_done(struct conf_env *env, struct conf_end *e,
				void *arg)
{
	struct conf_kq *q = arg;

	(void)env;
	(void)e;
	conf_kq_drain(q);
	return q->n >= q->want;
}

/* conf_kq_wait: poll the VIs and read q->fd until it got q->want
 * datagrams; fail after env->wait_ns. */
static inline void conf_kq_wait(struct conf_env *env, struct conf_kq *q,
				const char *what)
{
	if (!conf_poll_until(env, &env->end[CONF_B], conf__kq_done, q,
			     env->wait_ns))
		UNIT_FAIL("kernel socket %s: %d of %d datagrams within %lld ms",
			  what, q->n, q->want,
			  (long long)(env->wait_ns / 1000000));
	CHECK(q->bad, ==, 0);
}

/* ======================================================================= */
/* The cases                                                                */
/* ======================================================================= */

static void conf_case_rx_order(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	unsigned order[16];
	int i;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	/* Buffers posted in a scrambled order, each with an id of its own. */
	for (i = 0; i < 16; i++) {
		order[i] = (unsigned)(i * 7) % 16;
		CHECK(ef_vi_receive_init(&b->t.vi,
					 et_vi_dma(&b->t, (int)order[i]),
					 (ef_request_id)(5000 + order[i])), ==,
		      0);
	}
	ef_vi_receive_push(&b->t.vi);
	CHECK(ef_vi_receive_fill_level(&b->t.vi), ==, 16);
	for (i = 0; i < 16; i++)
		CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, (uint32_t)i,
			  CONF_PAY_MIN + i * 61, 100 + i);
	conf_wait_rx(env, b, 16);
	conf_wait_tx(env, a, 16);
	for (i = 0; i < 16; i++) {
		uint8_t ref[ET_BUF_SIZE];
		int len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA,
				     (uint32_t)i, CONF_PAY_MIN + i * 61);

		CHECK(EF_EVENT_RX_RQ_ID(b->log.rx[i]), ==, 5000 + order[i]);
		conf_check_rx(b, &b->log.rx[i], ref, len);
	}
	CHECK(ef_vi_receive_fill_level(&b->t.vi), ==, 0);
	conf_check_tx_ids(a, 16, 100, 1);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, 0);
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 16);
	conf_no_other(env);
	conf_close(env);
}

/* ring_wrap: one direction's progress. */
struct conf_flow {
	struct conf_end *from, *to;
	uint32_t sent, received, completed;
	unsigned rx_seen;		/* receive events of `to` consumed */
};

static inline int conf_wrap_paylen(uint32_t seq, int maxpay)
{
	return CONF_PAY_MIN + (int)((seq * 37u) % (unsigned)(maxpay -
							     CONF_PAY_MIN + 1));
}

/* conf_flow_step: send what the window allows, then consume what came:
 * every receive event must be the next frame, in the next buffer, intact;
 * every completion the next id. Returns 1 if anything moved. */
static inline int conf_flow_step(struct conf_flow *f, uint32_t n, int maxpay,
				 uint32_t window)
{
	struct conf_end *to = f->to, *from = f->from;
	int moved = 0, i;

	while (f->sent < n && f->sent - f->received < window &&
	       ef_vi_transmit_space(&from->t.vi) > 0) {
		int pl = conf_wrap_paylen(f->sent, maxpay);

		CHECK(conf_send(from, to, CONF_P_DATA, CONF_P_DATA, f->sent, pl,
				(ef_request_id)f->sent), ==, ET_UDP_HDRS + pl);
		f->sent++;
		moved = 1;
	}
	for (i = 0; i < to->log.rx_n; i++) {
		const ef_event *ev = &to->log.rx[i];
		uint8_t ref[ET_BUF_SIZE];
		int len = conf_build(ref, from, to, CONF_P_DATA, CONF_P_DATA,
				     f->received,
				     conf_wrap_paylen(f->received, maxpay));

		if (EF_EVENT_TYPE(*ev) != EF_EVENT_TYPE_RX)
			UNIT_FAIL("%s: frame %u: event type %u, expected RX",
				  to->label, f->received, EF_EVENT_TYPE(*ev));
		/* Buffers come back in posting order: ids cycle. */
		CHECK(EF_EVENT_RX_RQ_ID(*ev), ==,
		      f->rx_seen % (unsigned)to->t.n_rx);
		conf_check_rx(to, ev, ref, len);
		f->received++;
		f->rx_seen++;
		moved = 1;
	}
	to->log.rx_n = 0;
	for (i = 0; i < from->log.tx_n; i++) {
		if (from->log.tx_id[i] != (ef_request_id)f->completed ||
		    from->log.tx_kind[i] != -1)
			UNIT_FAIL("%s: completion %u has id %d", from->label,
				  f->completed, from->log.tx_id[i]);
		f->completed++;
		moved = 1;
	}
	from->log.tx_n = 0;
	/* Keep the receive ring full (each buffer comes back before it is
	 * posted again: at most capacity are out, and there are capacity). */
	conf_post(to, ef_vi_receive_space(&to->t.vi));
	return moved;
}

static void conf_case_ring_wrap(struct conf_env *env)
{
	enum { N = 4000 };
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	struct conf_flow ab = { a, b, 0, 0, 0, 0 }, ba = { b, a, 0, 0, 0, 0 };
	int64_t deadline;
	int maxpay;
	long it;

	conf_open(env, 64, 64, 0);
	conf_claim(env, a, CONF_P_DATA);
	conf_claim(env, b, CONF_P_DATA);
	CHECK(ef_vi_receive_capacity(&a->t.vi), ==, 63);
	CHECK(ef_vi_transmit_capacity(&a->t.vi), ==, 63);
	CHECK(ef_vi_receive_capacity(&b->t.vi), ==, 63);
	CHECK(ef_vi_transmit_capacity(&b->t.vi), ==, 63);
	maxpay = (int)(a->mtu < b->mtu ? a->mtu : b->mtu) - ET_UDP_HDRS;
	if (maxpay > 1472)
		maxpay = 1472;
	conf_post(a, 63);
	conf_post(b, 63);
	deadline = env->now(env) + 8 * env->wait_ns;
	for (it = 0; it < CONF_MAX_ITER; it++) {
		int moved;

		if (ab.received == N && ba.received == N &&
		    ab.completed == N && ba.completed == N)
			break;
		conf_poll_all(env);
		/* Never more in flight than the peer has buffers posted. */
		moved = conf_flow_step(&ab, N, maxpay, 48);
		moved |= conf_flow_step(&ba, N, maxpay, 48);
		conf_no_other(env);
		if (!moved) {
			if (env->now(env) >= deadline)
				break;
			env->advance(env, env->step_ns);
		}
	}
	printf("#   A->B sent %u received %u completed %u; B->A sent %u "
	       "received %u completed %u\n", ab.sent, ab.received,
	       ab.completed, ba.sent, ba.received, ba.completed);
	CHECK(ab.received, ==, N);
	CHECK(ba.received, ==, N);
	CHECK(ab.completed, ==, N);
	CHECK(ba.completed, ==, N);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, 0);
	CHECK(ef_vi_transmit_fill_level(&b->t.vi), ==, 0);
	conf_close(env);
}

static void conf_case_tx_unbundle(struct conf_env *env)
{
	enum { N = 300 };
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	int i;

	conf_open(env, 512, 512, 0);
	conf_claim(env, b, CONF_P_DATA);
	conf_post(b, N);
	for (i = 0; i < N; i++)
		CHECK(conf_send_init(a, b, CONF_P_DATA, CONF_P_DATA,
				     (uint32_t)i, CONF_PAY_MIN,
				     7000 + 3 * i), ==, 60);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, N);
	/* Queued, not pushed: nothing leaves, nothing completes. */
	conf_quiet(env);
	CHECK(a->log.tx_n, ==, 0);
	CHECK(b->log.rx_n, ==, 0);
	ef_vi_transmit_push(&a->t.vi);
	conf_wait_tx(env, a, N);
	conf_wait_rx(env, b, N);
	conf_check_tx_ids(a, N, 7000, 3);
	printf("#   %d ids in %d TX events, at most %d in one\n", N,
	       a->log.tx_events, a->log.tx_batch_max);
	CHECK(a->log.tx_batch_max, <=, EF_VI_TRANSMIT_BATCH);
	CHECK(a->log.tx_events, >=, (N + EF_VI_TRANSMIT_BATCH - 1) /
	      EF_VI_TRANSMIT_BATCH);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, 0);
	CHECK(ef_vi_transmit_space(&a->t.vi), ==,
	      ef_vi_transmit_capacity(&a->t.vi));
	for (i = 0; i < N; i++) {
		uint8_t ref[ET_BUF_SIZE];
		int len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA,
				     (uint32_t)i, CONF_PAY_MIN);

		CHECK(EF_EVENT_RX_RQ_ID(b->log.rx[i]), ==, i);
		conf_check_rx(b, &b->log.rx[i], ref, len);
	}
	/* Unbundling an event that is not a completion is refused. */
	{
		ef_request_id ids[EF_VI_TRANSMIT_BATCH];

		CHECK(ef_vi_transmit_unbundle(&b->t.vi, &b->log.rx[0], ids), ==,
		      -EINVAL);
	}
	conf_no_other(env);
	conf_close(env);
}

static void conf_case_rx_no_desc(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	const ef_vi_stats_layout *lay;
	uint64_t vals[64];
	uint8_t ref[ET_BUF_SIZE];
	int i, len, found = 0;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	CHECK(ef_vi_receive_fill_level(&b->t.vi), ==, 0);
	for (i = 0; i < 3; i++)
		CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, (uint32_t)i, 100, i);
	conf_wait_rx(env, b, 3);
	for (i = 0; i < 3; i++)
		CHECK(EF_EVENT_TYPE(b->log.rx[i]), ==,
		      EF_EVENT_TYPE_RX_NO_DESC_TRUNC);
	/* The next buffer gets the next frame, not one of the dropped. */
	CHECK(ef_vi_receive_post(&b->t.vi, et_vi_dma(&b->t, 7), 1007), ==, 0);
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 3, 100, 3);
	conf_wait_rx(env, b, 4);
	len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA, 3, 100);
	CHECK(EF_EVENT_RX_RQ_ID(b->log.rx[3]), ==, 1007);
	conf_check_rx(b, &b->log.rx[3], ref, len);
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 4);
	/* Counted, under the name every backend gives it. */
	CHECK(ef_vi_stats_query_layout(&b->t.vi, &lay), ==, 0);
	CHECK(lay->evsl_data_size, <=, (int)sizeof(vals));
	CHECK(ef_vi_stats_query(&b->t.vi, b->t.dh, vals, 0), ==, 0);
	for (i = 0; i < lay->evsl_fields_num; i++)
		if (!strcmp(lay->evsl_fields[i].evsfl_name,
			    "rx_no_desc_drops")) {
			CHECK(vals[lay->evsl_fields[i].evsfl_offset / 8], ==,
			      3);
			found = 1;
		}
	CHECK(found, ==, 1);
	conf_wait_tx(env, a, 5);
	conf_no_other(env);
	conf_close(env);
}

static void conf_case_rx_ring_full(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	uint8_t ref[ET_BUF_SIZE];
	int cap, i, len;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	cap = ef_vi_receive_capacity(&b->t.vi);
	CHECK(cap, ==, 63);
	CHECK(ef_vi_receive_space(&b->t.vi), ==, cap);
	CHECK(b->t.n_rx, >=, cap);
	for (i = 0; i < cap; i++) {
		int rc = ef_vi_receive_init(&b->t.vi, et_vi_dma(&b->t, i), i);

		if (rc != 0)
			UNIT_FAIL("receive_init %d of %d: %d", i + 1, cap, rc);
	}
	b->rx_next = (unsigned)cap;
	CHECK(ef_vi_receive_init(&b->t.vi, et_vi_dma(&b->t, 0), 999), ==,
	      -EAGAIN);
	CHECK(ef_vi_receive_post(&b->t.vi, et_vi_dma(&b->t, 0), 999), ==,
	      -EAGAIN);
	ef_vi_receive_push(&b->t.vi);
	CHECK(ef_vi_receive_fill_level(&b->t.vi), ==, cap);
	CHECK(ef_vi_receive_space(&b->t.vi), ==, 0);
	/* The refused posts took nothing: the first frame gets buffer 0. */
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 1, 200, 1);
	conf_wait_rx(env, b, 1);
	len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA, 1, 200);
	CHECK(EF_EVENT_RX_RQ_ID(b->log.rx[0]), ==, 0);
	conf_check_rx(b, &b->log.rx[0], ref, len);
	CHECK(ef_vi_receive_space(&b->t.vi), ==, 1);
	CHECK(ef_vi_receive_post(&b->t.vi, et_vi_dma(&b->t, 0), 0), ==, 0);
	CHECK(ef_vi_receive_fill_level(&b->t.vi), ==, cap);
	conf_wait_tx(env, a, 1);
	conf_no_other(env);
	conf_close(env);
}

static void conf_case_tx_ring_full(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	int cap, i;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	conf_post(b, 63);
	cap = ef_vi_transmit_capacity(&a->t.vi);
	CHECK(cap, ==, 63);
	CHECK(a->t.n_tx, >=, cap);
	for (i = 0; i < cap; i++) {
		int rc = conf_send(a, b, CONF_P_DATA, CONF_P_DATA, (uint32_t)i,
				   CONF_PAY_MIN, i);

		if (rc != 60)
			UNIT_FAIL("transmit %d of %d: %d", i + 1, cap, rc);
	}
	/* Full, whether or not the kernel has sent them: nothing is
	 * handed back until the completions are polled. */
	CHECK(ef_vi_transmit_space(&a->t.vi), ==, 0);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, cap);
	CHECK(ef_vi_transmit(&a->t.vi, conf_tx_dma(a, 0), 60, 999), ==,
	      -EAGAIN);
	CHECK(ef_vi_transmit_init(&a->t.vi, conf_tx_dma(a, 0), 60, 999), ==,
	      -EAGAIN);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, cap);
	conf_wait_tx(env, a, cap);
	conf_wait_rx(env, b, cap);
	conf_check_tx_ids(a, cap, 0, 1);
	CHECK(ef_vi_transmit_space(&a->t.vi), ==, cap);
	for (i = 0; i < cap; i++) {
		uint8_t ref[ET_BUF_SIZE];
		int len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA,
				     (uint32_t)i, CONF_PAY_MIN);

		conf_check_rx(b, &b->log.rx[i], ref, len);
	}
	/* The ring works again. */
	conf_post(b, 1);
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 500, CONF_PAY_MIN, 500);
	conf_wait_tx(env, a, cap + 1);
	CHECK(a->log.tx_id[cap], ==, 500);
	conf_wait_rx(env, b, cap + 1);
	CHECK(conf_frame_seq(conf_rx_buf(b, (ef_request_id)
					 EF_EVENT_RX_RQ_ID(b->log.rx[cap]))),
	      ==, 500);
	conf_no_other(env);
	conf_close(env);
}

static void conf_case_bad_addr(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	ef_addr base_b, base_a;
	ef_iovec iov[2];

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	base_b = et_vi_dma(&b->t, 0);
	base_a = et_vi_dma(&a->t, 0);
	CHECK(ef_vi_receive_init(&b->t.vi, base_b + b->t.mem_len, 1), ==,
	      -EINVAL);
	CHECK(ef_vi_receive_init(&b->t.vi, base_b + b->t.mem_len + 4096, 1),
	      ==, -EINVAL);
	CHECK(ef_vi_receive_init(&b->t.vi, base_b - 1, 1), ==, -EINVAL);
	CHECK(ef_vi_receive_init(&b->t.vi, 0, 1), ==, -EINVAL);
	CHECK(ef_vi_receive_init(&b->t.vi, EF_INVALID_ADDR, 1), ==, -EINVAL);
	CHECK(ef_vi_receive_post(&b->t.vi, base_b + b->t.mem_len, 1), ==,
	      -EINVAL);
	CHECK(ef_vi_receive_fill_level(&b->t.vi), ==, 0);

	(void)conf_build((uint8_t *)conf_tx_buf(a, 0), a, b, CONF_P_DATA,
			 CONF_P_DATA, 1, CONF_PAY_MIN);
	CHECK(ef_vi_transmit(&a->t.vi, base_a + a->t.mem_len, 60, 1), ==,
	      -EINVAL);
	/* Straddling the end of the region. */
	CHECK(ef_vi_transmit(&a->t.vi, base_a + a->t.mem_len - 30, 60, 1), ==,
	      -EINVAL);
	CHECK(ef_vi_transmit(&a->t.vi, 0, 60, 1), ==, -EINVAL);
	CHECK(ef_vi_transmit(&a->t.vi, base_a - 64, 60, 1), ==, -EINVAL);
	CHECK(ef_vi_transmit_init(&a->t.vi, base_a + a->t.mem_len, 60, 1), ==,
	      -EINVAL);
	CHECK(ef_vi_transmit(&a->t.vi, conf_tx_dma(a, 0), 0, 1), ==, -EINVAL);
	iov[0].iov_base = conf_tx_dma(a, 0);
	iov[0].iov_len = 30;
	iov[1].iov_base = base_a + a->t.mem_len + 64;
	iov[1].iov_len = 30;
	CHECK(ef_vi_transmitv(&a->t.vi, iov, 2, 1), ==, -EINVAL);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, 0);

	/* Both VIs still work: a good frame goes through. */
	conf_post(b, 1);
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 9, CONF_PAY_MIN, 9);
	conf_wait_tx(env, a, 1);
	CHECK(a->log.tx_id[0], ==, 9);
	conf_wait_rx(env, b, 1);
	CHECK(EF_EVENT_RX_RQ_ID(b->log.rx[0]), ==, 0);
	CHECK(conf_frame_seq(conf_rx_buf(b, 0)), ==, 9);
	conf_no_other(env);
	conf_close(env);
}

static void conf_case_tx_too_big(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	uint8_t ref[ET_BUF_SIZE];
	int big, max, len, k;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	conf_post(b, 8);
	max = (int)a->mtu;
	big = max + 4 + 1;
	printf("#   ef_vi_mtu %d; frames of %d, %d and 60 bytes\n", max, max,
	       big);
	CHECK(big, <=, ET_BUF_SIZE);
	CHECK(max, <=, ef_vi_receive_buffer_len(&b->t.vi));
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 1, max - ET_UDP_HDRS, 101);
	CHECK(conf_send(a, b, CONF_P_DATA, CONF_P_DATA, 2, big - ET_UDP_HDRS,
			102), ==, big);
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 3, CONF_PAY_MIN, 103);
	conf_wait_tx(env, a, 3);
	CHECK(a->log.tx_n, ==, 3);
	for (k = 0; k < 3; k++)
		CHECK(a->log.tx_id[k], ==, 101 + k);
	CHECK(a->log.tx_kind[0], ==, -1);
	CHECK(a->log.tx_kind[1], ==, EF_EVENT_TX_ERROR_2BIG);
	CHECK(a->log.tx_kind[2], ==, -1);
	CHECK(ef_vi_transmit_fill_level(&a->t.vi), ==, 0);
	/* Only the two good frames reached B, and nothing after them. */
	conf_wait_rx(env, b, 2);
	len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA, 1,
			 max - ET_UDP_HDRS);
	conf_check_rx(b, &b->log.rx[0], ref, len);
	len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA, 3, CONF_PAY_MIN);
	conf_check_rx(b, &b->log.rx[1], ref, len);
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 2);
	conf_no_other(env);
	conf_close(env);
}

static void conf_case_rx_multibuf(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	uint8_t ref[ET_BUF_SIZE], got[ET_BUF_SIZE];
	int i, len, off = 0;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	ef_vi_receive_set_buffer_len(&b->t.vi, 256);
	CHECK(ef_vi_receive_buffer_len(&b->t.vi), ==, 256);
	for (i = 0; i < 8; i++)
		CHECK(ef_vi_receive_post(&b->t.vi, et_vi_dma(&b->t, 10 + i),
					 10 + i), ==, 0);
	len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA, 42,
			 1000 - ET_UDP_HDRS);
	CHECK(len, ==, 1000);
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 42, 1000 - ET_UDP_HDRS, 1);
	conf_wait_rx(env, b, 4);
	printf("#   EF_EVENT_RX_BYTES of the 4 events: %u %u %u %u\n",
	       EF_EVENT_RX_BYTES(b->log.rx[0]),
	       EF_EVENT_RX_BYTES(b->log.rx[1]),
	       EF_EVENT_RX_BYTES(b->log.rx[2]),
	       EF_EVENT_RX_BYTES(b->log.rx[3]));
	/* Buffers in posting order, filled to their length, the frame intact
	 * across them: SOP on the first, CONT on all but the last. */
	for (i = 0; i < 4; i++) {
		const ef_event *ev = &b->log.rx[i];
		int n = i < 3 ? 256 : 1000 - 3 * 256;

		CHECK(EF_EVENT_TYPE(*ev), ==, EF_EVENT_TYPE_RX);
		CHECK(EF_EVENT_RX_RQ_ID(*ev), ==, 10 + i);
		CHECK(EF_EVENT_RX_SOP(*ev) != 0, ==, i == 0);
		CHECK(EF_EVENT_RX_CONT(*ev) != 0, ==, i < 3);
		memcpy(got + off, conf_rx_buf(b, 10 + i), (size_t)n);
		off += n;
	}
	CHECK(off, ==, 1000);
	CHECK_MEM(got, ref, 1000);
	CHECK(ef_vi_receive_fill_level(&b->t.vi), ==, 4);
	/* EF_EVENT_RX_BYTES counts the frame's bytes so far, so the event
	 * without CONT gives the frame's length (EFVI_API.md: "frame length,
	 * including any RX prefix"), as ef_vi does: its EF10 receive path
	 * accumulates the length over a CONT chain (rxq.bytes_acc), and only
	 * merged RX_MULTI events leave the total to the program. */
	for (i = 0; i < 4; i++)
		CHECK(EF_EVENT_RX_BYTES(b->log.rx[i]), ==,
		      i < 3 ? 256 * (i + 1) : 1000);
	/* The next frame starts in the next buffer (a fence: 60 bytes). */
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 4);
	conf_no_other(env);
	conf_close(env);
}

/* filters: the frames of seqs[0..n) (sent in that order) and only they
 * reached e, intact; the log is emptied. */
static inline void conf_expect_seqs(struct conf_end *e, struct conf_end *a,
				    const uint32_t *seqs,
				    const uint16_t *sports, int n,
				    uint16_t dport)
{
	int i;

	if (e->log.rx_n != n)
		UNIT_FAIL("%s: %d frames, expected %d", e->label, e->log.rx_n,
			  n);
	for (i = 0; i < n; i++) {
		uint8_t ref[ET_BUF_SIZE];
		int len = conf_build(ref, a, e, sports[i], dport, seqs[i],
				     CONF_PAY_MIN + 10);

		conf_check_rx(e, &e->log.rx[i], ref, len);
	}
	e->log.rx_n = 0;
}

static void conf_case_filters(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	struct conf_end *b2 = &env->end[CONF_B2];
	ef_filter_cookie c_local, c_full;
	const uint16_t P = CONF_P_FLT, S1 = CONF_S1, S2 = CONF_S2;
	const int PL = CONF_PAY_MIN + 10;

	conf_open(env, 64, 64, 1);
	conf_post(b, 16);
	conf_post(b2, 16);
	/* B: local b:P. B2: full b:P from a:S1, more specific. */
	CHECK(conf_local(env, b, b->ip_be, P, &c_local), ==, 0);
	CHECK(conf_local(env, b, b->ip_be, P, NULL), ==, -EEXIST);
	CHECK(conf_local(env, b2, b->ip_be, P, NULL), ==, -EBUSY);
	CHECK(conf_full(env, b2, P, a->ip_be, S1, &c_full), ==, 0);
	CHECK(conf_full(env, b2, P, a->ip_be, S1, NULL), ==, -EEXIST);
	CHECK(conf_full(env, b, P, a->ip_be, S1, NULL), ==, -EBUSY);

	CONF_SEND(a, b, S1, P, 1, PL, 1);
	CONF_SEND(a, b, S2, P, 2, PL, 2);
	CONF_SEND(a, b, S1, P, 3, PL, 3);
	CONF_SEND(a, b, S2, P, 4, PL, 4);
	conf_fence(env, a, b);
	conf_fence(env, a, b2);
	{
		const uint32_t sb[] = { 2, 4 }, sb2[] = { 1, 3 };
		const uint16_t pb[] = { S2, S2 }, pb2[] = { S1, S1 };

		conf_expect_seqs(b, a, sb, pb, 2, P);
		conf_expect_seqs(b2, a, sb2, pb2, 2, P);
	}

	/* Without the full filter, S1's frames go to the local one. */
	CHECK(conf_filter_del(env, b2, &c_full), ==, 0);
	CHECK(conf_filter_del(env, b2, &c_full), ==, -EINVAL);
	CONF_SEND(a, b, S1, P, 5, PL, 5);
	conf_fence(env, a, b);
	conf_fence(env, a, b2);
	{
		const uint32_t sb[] = { 5 };
		const uint16_t pb[] = { S1 };

		conf_expect_seqs(b, a, sb, pb, 1, P);
		CHECK(b2->log.rx_n, ==, 0);
	}

	/* Without either, no VI gets the flow (each still has its anchor). */
	CHECK(conf_filter_del(env, b, &c_local), ==, 0);
	CONF_SEND(a, b, S1, P, 6, PL, 6);
	CONF_SEND(a, b, S2, P, 7, PL, 7);
	conf_fence(env, a, b);
	conf_fence(env, a, b2);
	CHECK(b->log.rx_n, ==, 0);
	CHECK(b2->log.rx_n, ==, 0);
	/* And the local filter can be added again, by the other VI. */
	CHECK(conf_local(env, b2, b->ip_be, P, &c_local), ==, 0);
	CONF_SEND(a, b, S2, P, 8, PL, 8);
	conf_fence(env, a, b2);
	{
		const uint32_t sb2[] = { 8 };
		const uint16_t pb2[] = { S2 };

		conf_expect_seqs(b2, a, sb2, pb2, 1, P);
	}
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 0);
	conf_no_other(env);
	conf_close(env);
}

static void conf_case_kernel_isolation(struct conf_env *env)
{
	enum { N = 8 };
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	struct conf_kq kc, ko, kf;
	ef_filter_cookie c_local, c_full;
	const int PL = CONF_PAY_MIN + 10;
	int i;

	if (!env->has_kernel)
		UNIT_SKIP("no kernel stack on this backend's interfaces");
	conf_open(env, 64, 64, 0);
	memset(&kc, 0, sizeof(kc));
	memset(&ko, 0, sizeof(ko));
	memset(&kf, 0, sizeof(kf));
	kc.fd = conf_ksock(env, CONF_P_KCLAIM);
	ko.fd = conf_ksock(env, CONF_P_KOPEN);
	kf.fd = conf_ksock(env, CONF_P_KFULL);
	conf_post(b, 40);
	CHECK(conf_local(env, b, b->ip_be, CONF_P_KCLAIM, &c_local), ==, 0);
	CHECK(conf_full(env, b, CONF_P_KFULL, a->ip_be, CONF_S1, &c_full), ==,
	      0);

	/* Claimed: KCLAIM, and KFULL from S1. The kernel's: KOPEN, and
	 * KFULL from S2. */
	for (i = 0; i < N; i++) {
		CONF_SEND(a, b, CONF_S1, CONF_P_KCLAIM, 100 + i, PL, 100 + i);
		CONF_SEND(a, b, CONF_S1, CONF_P_KFULL, 200 + i, PL, 200 + i);
		CONF_SEND(a, b, CONF_S2, CONF_P_KFULL, 300 + i, PL, 300 + i);
		CONF_SEND(a, b, CONF_S1, CONF_P_KOPEN, 400 + i, PL, 400 + i);
	}
	ko.want = N;
	conf_kq_wait(env, &ko, "udp:KOPEN");
	kf.want = N;
	conf_kq_wait(env, &kf, "udp:KFULL");
	conf_wait_rx(env, b, 2 * N);
	/* KOPEN's last datagram came after every claimed frame: a claimed
	 * frame that had reached the kernel would be queued by now. */
	conf_kq_drain(&kc);
	CHECK(kc.n, ==, 0);
	CHECK(kf.n, ==, N);
	for (i = 0; i < N; i++) {
		CHECK(ko.seq[i], ==, 400 + i);
		CHECK(kf.seq[i], ==, 300 + i);
		CHECK(kf.sport[i], ==, CONF_S2);
	}
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 2 * N);
	for (i = 0; i < 2 * N; i++) {
		uint8_t ref[ET_BUF_SIZE];
		uint32_t seq = (i % 2 ? 200u : 100u) + (uint32_t)i / 2;
		int len = conf_build(ref, a, b, CONF_S1, i % 2 ? CONF_P_KFULL :
				     CONF_P_KCLAIM, seq, PL);

		conf_check_rx(b, &b->log.rx[i], ref, len);
	}
	b->log.rx_n = 0;

	/* Filters gone: both flows are the kernel's again, not the VI's. */
	CHECK(conf_filter_del(env, b, &c_local), ==, 0);
	CHECK(conf_filter_del(env, b, &c_full), ==, 0);
	for (i = 0; i < N; i++) {
		CONF_SEND(a, b, CONF_S1, CONF_P_KCLAIM, 500 + i, PL, 500 + i);
		CONF_SEND(a, b, CONF_S1, CONF_P_KFULL, 600 + i, PL, 600 + i);
	}
	kc.want = N;
	conf_kq_wait(env, &kc, "udp:KCLAIM after filter_del");
	kf.want = 2 * N;
	conf_kq_wait(env, &kf, "udp:KFULL after filter_del");
	for (i = 0; i < N; i++) {
		CHECK(kc.seq[i], ==, 500 + i);
		CHECK(kf.seq[N + i], ==, 600 + i);
		CHECK(kf.sport[N + i], ==, CONF_S1);
	}
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 0);
	conf_no_other(env);
	conf_close(env);
}

/* csum_discard: frame seq with its UDP (what 1) or IPv4 header (what 2)
 * checksum made wrong, or none (0), into buf; returns its length. */
static inline int conf_bad_frame(uint8_t *buf, struct conf_end *a,
				 struct conf_end *b, uint32_t seq, int what)
{
	int len = conf_build(buf, a, b, CONF_P_DATA, CONF_P_DATA, seq, 100);

	if (what == 1)
		buf[ET_ETH_HLEN + ET_IP_HLEN + 7] ^= 0x5a;	/* UDP csum */
	else if (what == 2)
		buf[ET_ETH_HLEN + 11] ^= 0x5a;		/* IP csum */
	return len;
}

static void conf_case_csum_discard(struct conf_env *env)
{
	static const int what[6] = { 0, 1, 2, 0, 1, 2 };
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	int i;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	conf_post(b, 16);
	for (i = 0; i < 6; i++) {
		uint8_t *f = (uint8_t *)conf_tx_buf(a, a->tx_next);
		int len = conf_bad_frame(f, a, b, (uint32_t)i, what[i]);

		CHECK(ef_vi_transmit(&a->t.vi, conf_tx_dma(a, a->tx_next), len,
				     i), ==, 0);
		a->tx_next++;
		if (i == 2) {
			/* Discards by default; then none. */
			conf_wait_rx(env, b, 3);
			CHECK(ef_vi_receive_set_discards(&b->t.vi, 0), ==, 0);
		}
	}
	conf_wait_rx(env, b, 6);
	conf_wait_tx(env, a, 6);
	conf_check_tx_ids(a, 6, 0, 1);
	for (i = 0; i < 6; i++) {
		const ef_event *ev = &b->log.rx[i];
		uint8_t ref[ET_BUF_SIZE];
		int len = conf_bad_frame(ref, a, b, (uint32_t)i, what[i]);

		CHECK(EF_EVENT_RX_RQ_ID(*ev), ==, i);
		if (i < 3 && what[i]) {
			/* The buffer is used and its id and length given. */
			CHECK(EF_EVENT_TYPE(*ev), ==, EF_EVENT_TYPE_RX_DISCARD);
			CHECK(EF_EVENT_RX_DISCARD_TYPE(*ev), ==,
			      EF_EVENT_RX_DISCARD_CSUM_BAD);
			CHECK(EF_EVENT_RX_DISCARD_BYTES(*ev), ==, len);
			CHECK(EF_EVENT_RX_DISCARD_SOP(*ev), !=, 0);
			CHECK(EF_EVENT_RX_DISCARD_CONT(*ev), ==, 0);
		} else {
			conf_check_rx(b, ev, ref, len);
		}
	}
	conf_fence(env, a, b);
	CHECK(b->log.rx_n, ==, 6);
	conf_no_other(env);
	conf_close(env);
}

/* conf_has_event_within: ask ef_eventq_has_event(e) until it says yes,
 * without polling (which would consume the event), for env->wait_ns. */
static inline int conf_has_event_within(struct conf_env *env,
					struct conf_end *e)
{
	int64_t deadline = env->now(env) + env->wait_ns;
	long i;

	for (i = 0; i < CONF_MAX_ITER; i++) {
		if (ef_eventq_has_event(&e->t.vi))
			return 1;
		if (env->now(env) >= deadline)
			return 0;
		env->advance(env, env->step_ns);
	}
	return 0;
}

/* conf_wait_call: ef_eventq_wait on e with a timeout of ms (never 0, which
 * would mean forever). */
static inline int conf_wait_call(struct conf_env *env, struct conf_end *e,
				 int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	(void)env;
	return ef_eventq_wait(&e->t.vi, e->t.dh, ef_eventq_current(&e->t.vi),
			      &tv);
}

static void conf_case_eventq_wait(struct conf_env *env)
{
	struct conf_end *a = &env->end[CONF_A], *b = &env->end[CONF_B];
	uint8_t ref[ET_BUF_SIZE];
	int len, n, rc;

	conf_open(env, 64, 64, 0);
	conf_claim(env, b, CONF_P_DATA);
	conf_post(b, 8);
	/* Idle: nothing to report, and a bounded wait times out. */
	CHECK(conf_poll_all(env), ==, 0);
	CHECK(ef_eventq_has_event(&b->t.vi), ==, 0);
	CHECK(ef_eventq_has_event(&a->t.vi), ==, 0);
	CHECK(conf_wait_call(env, b, 20), ==, -ETIMEDOUT);

	/* A frame: wait returns, has_event says so without consuming it,
	 * and the poll gets exactly that RX. */
	CONF_SEND(a, b, CONF_P_DATA, CONF_P_DATA, 1, 100, 11);
	rc = conf_wait_call(env, b, (int)(env->wait_ns / 1000000));
	CHECK(rc, ==, 0);
	CHECK(ef_eventq_has_event(&b->t.vi), !=, 0);
	CHECK(ef_eventq_has_event(&b->t.vi), !=, 0);
	n = conf_poll_end(b);
	CHECK(n, ==, 1);
	len = conf_build(ref, a, b, CONF_P_DATA, CONF_P_DATA, 1, 100);
	CHECK(EF_EVENT_RX_RQ_ID(b->log.rx[0]), ==, 0);
	conf_check_rx(b, &b->log.rx[0], ref, len);
	CHECK(ef_eventq_has_event(&b->t.vi), ==, 0);
	CHECK(conf_wait_call(env, b, 20), ==, -ETIMEDOUT);

	/* The sender's completion is an event too (A was not polled). */
	CHECK(a->log.tx_n, ==, 0);
	if (!conf_has_event_within(env, a))
		UNIT_FAIL("A: ef_eventq_has_event still 0 %lld ms after a "
			  "transmit", (long long)(env->wait_ns / 1000000));
	CHECK(conf_wait_call(env, a, (int)(env->wait_ns / 1000000)), ==, 0);
	CHECK(conf_poll_end(a), ==, 1);
	CHECK(a->log.tx_n, ==, 1);
	CHECK(a->log.tx_id[0], ==, 11);
	CHECK(ef_eventq_has_event(&a->t.vi), ==, 0);
	CHECK(conf_wait_call(env, a, 20), ==, -ETIMEDOUT);
	conf_no_other(env);
	conf_close(env);
}

/* The table: every case, in this order. */
#define CONF_CASES(X)							\
	X(rx_order) X(ring_wrap) X(tx_unbundle) X(rx_no_desc)		\
	X(rx_ring_full) X(tx_ring_full) X(bad_addr) X(tx_too_big)	\
	X(rx_multibuf) X(filters) X(kernel_isolation) X(csum_discard)	\
	X(eventq_wait)

#define CONF__TEST_FN(name)						\
	static void test_conformance_##name(void)			\
	{								\
		conf_case_##name(conf_env_get());			\
	}
CONF_CASES(CONF__TEST_FN)
#undef CONF__TEST_FN

#define CONF__TEST_ENTRY(name) UNIT_TEST(test_conformance_##name),
static const struct unit_test conf_tests[] = {
	CONF_CASES(CONF__TEST_ENTRY)
};
#undef CONF__TEST_ENTRY

#define CONF_N_TESTS (sizeof(conf_tests) / sizeof(conf_tests[0]))

#endif /* ANYLOAD_CONFORMANCE_CASES_H */
