/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi_recv: a scriptable ef_vi receiver for the integration tests (not a
 * test by itself). It allocates one or more VIs on an interface, posts
 * receive buffers and logs every event on stdout; filters are added and
 * removed by commands read from stdin, so that a test script can change
 * the filters while traffic flows and see each call's return code.
 *
 *   vi_recv [-n NVIS] [-S SETN:IDX] [-A N] [-t SECS] IFNAME
 *     -n NVIS     VIs in this process (default 1), all on queue 0
 *     -S N:I      allocate VI 0 as member I of a VI set of N VIs
 *     -A N        N VIs, VI i as member i of a VI set of N (queue i)
 *     -t SECS     exit with status 3 after this long (default 60)
 *
 * Output lines (stdout, line-buffered):
 *   ALLOC vi=I rc=RC            one per VI; on failure exit status 10
 *   READY pid=PID               all VIs allocated and buffers posted
 *   RX vi=I q=Q len=L dst=MAC src=MAC type=0xTTTT [proto=P saddr=A
 *      daddr=A [sport=S dport=D]] csum=0|1 payload=TEXT|hex:XX..
 *   DISCARD vi=I subtype=N len=L   NODESC vi=I   EV vi=I type=T
 *   R<n> ...                    the answer to the n-th command
 * Commands:
 *   add VI SPEC   -> R<n> add vi=VI rc=RC id=ID   (SPEC as efsink's)
 *   sadd VI SPEC  -> the same, with EF_FILTER_FLAG_SHARE_QUEUES
 *   del ID        -> R<n> del id=ID rc=RC         (ID from add)
 *   park ID MS    -> R<n> park id=ID rc=RC        (anyload_vi_filter_park)
 *   count         -> R<n> count vi0=N vi1=N ...   (RX events per VI)
 *   sync          -> R<n> sync
 *   quit          -> frees everything, prints BYE, exit status 0
 * End of input is the same as quit; SIGTERM also frees and exits 0.
 */
#include "efvi_test.h"

#include <anyload/vi_ext.h>
#include <poll.h>
#include <signal.h>

#define MAX_VIS 4
#define MAX_COOKIES 256

static struct et_vi vis[MAX_VIS];
static int n_vis = 1;
static uint64_t rx_count[MAX_VIS];
static struct {
	int used, vi;
	ef_filter_cookie cookie;
} cookies[MAX_COOKIES];
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_payload(const uint8_t *p, int len)
{
	int i, printable = len > 0;

	if (len > 256)
		len = 256;
	for (i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			printable = 0;
	if (printable) {
		printf("payload=%.*s", len, (const char *)p);
		return;
	}
	printf("payload=hex:");
	for (i = 0; i < len && i < 64; i++)
		printf("%02x", p[i]);
}

static void log_rx(int vi, const ef_event *ev)
{
	struct et_vi *t = &vis[vi];
	int id = EF_EVENT_RX_RQ_ID(*ev);
	int len = EF_EVENT_RX_BYTES(*ev) - ef_vi_receive_prefix_len(&t->vi);
	const uint8_t *f;
	struct et_pkt p;
	char m1[18], m2[18], a1[16], a2[16];

	if (id < 0 || id >= t->n_rx)
		et_die("RX event with id %d outside 0..%d", id, t->n_rx - 1);
	f = (const uint8_t *)et_vi_buf(t, id) + ef_vi_receive_prefix_len(&t->vi);
	rx_count[vi]++;
	if (EF_EVENT_RX_CONT(*ev) || !EF_EVENT_RX_SOP(*ev))
		printf("RXPART vi=%d len=%d sop=%d cont=%d\n", vi, len,
		       !!EF_EVENT_RX_SOP(*ev), !!EF_EVENT_RX_CONT(*ev));
	et_parse(f, len, &p);
	printf("RX vi=%d q=%d len=%d dst=%s src=%s type=0x%04x", vi,
	       EF_EVENT_RX_Q_ID(*ev), len, et_fmt_mac(p.dmac, m1),
	       et_fmt_mac(p.smac, m2), p.ethertype);
	if (p.is_ip) {
		inet_ntop(AF_INET, &p.saddr_be, a1, sizeof(a1));
		inet_ntop(AF_INET, &p.daddr_be, a2, sizeof(a2));
		printf(" proto=%u saddr=%s daddr=%s", p.proto, a1, a2);
		if (p.has_ports)
			printf(" sport=%u dport=%u", p.sport, p.dport);
		printf(" csum=%d", p.csum_ok);
	}
	printf(" ");
	print_payload(p.payload, p.paylen);
	printf("\n");
}

static void poll_vi(int vi)
{
	struct et_vi *t = &vis[vi];
	ef_event evs[32];
	ef_request_id ids[EF_VI_TRANSMIT_BATCH];
	int n, i;

	n = ef_eventq_poll(&t->vi, evs, 32);
	for (i = 0; i < n; i++) {
		switch (EF_EVENT_TYPE(evs[i])) {
		case EF_EVENT_TYPE_RX:
			log_rx(vi, &evs[i]);
			ET_TRY(et_vi_repost(t, EF_EVENT_RX_RQ_ID(evs[i])));
			break;
		case EF_EVENT_TYPE_RX_DISCARD:
			printf("DISCARD vi=%d subtype=%d len=%d\n", vi,
			       EF_EVENT_RX_DISCARD_TYPE(evs[i]),
			       EF_EVENT_RX_DISCARD_BYTES(evs[i]));
			ET_TRY(et_vi_repost(t,
					    EF_EVENT_RX_DISCARD_RQ_ID(evs[i])));
			break;
		case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
			printf("NODESC vi=%d\n", vi);
			break;
		case EF_EVENT_TYPE_TX:
		case EF_EVENT_TYPE_TX_ERROR:
			ef_vi_transmit_unbundle(&t->vi, &evs[i], ids);
			printf("EV vi=%d type=%d\n", vi,
			       EF_EVENT_TYPE(evs[i]));
			break;
		default:
			printf("EV vi=%d type=%d\n", vi,
			       EF_EVENT_TYPE(evs[i]));
			break;
		}
	}
}

static void command(char *line, int seq)
{
	char spec[200];
	int vi, id, rc, share;
	unsigned ms;

	line[strcspn(line, "\r\n")] = '\0';
	share = !strncmp(line, "sadd ", 5);
	if (sscanf(line + share, "add %d %199s", &vi, spec) == 2) {
		ef_filter_spec fs;

		if (vi < 0 || vi >= n_vis) {
			printf("R%d add vi=%d rc=%d id=-1\n", seq, vi, -EINVAL);
			return;
		}
		for (id = 0; id < MAX_COOKIES && cookies[id].used; id++)
			;
		if (id == MAX_COOKIES)
			et_die("too many filters");
		rc = et_parse_filter(spec, &fs);
		if (share)
			fs.flags |= EF_FILTER_FLAG_SHARE_QUEUES;
		if (rc == 0)
			rc = ef_vi_filter_add(&vis[vi].vi, vis[vi].dh, &fs,
					      &cookies[id].cookie);
		if (rc == 0) {
			cookies[id].used = 1;
			cookies[id].vi = vi;
		} else {
			id = -1;
		}
		printf("R%d add vi=%d rc=%d id=%d\n", seq, vi, rc, id);
	} else if (sscanf(line, "del %d", &id) == 1 ||
		   sscanf(line, "park %d %u", &id, &ms) == 2) {
		const char *what = line[0] == 'p' ? "park" : "del";

		if (id < 0 || id >= MAX_COOKIES || !cookies[id].used) {
			printf("R%d %s id=%d rc=%d\n", seq, what, id, -EINVAL);
			return;
		}
		vi = cookies[id].vi;
		if (line[0] == 'p')
			rc = anyload_vi_filter_park(&vis[vi].vi, vis[vi].dh,
						    &cookies[id].cookie, ms);
		else
			rc = ef_vi_filter_del(&vis[vi].vi, vis[vi].dh,
					      &cookies[id].cookie);
		/* A refused park (-EINVAL, -EOPNOTSUPP) leaves the filter
		 * installed. */
		if (line[0] != 'p' || rc == 0 || rc == -ENOENT)
			cookies[id].used = 0;
		printf("R%d %s id=%d rc=%d\n", seq, what, id, rc);
	} else if (!strcmp(line, "count")) {
		printf("R%d count", seq);
		for (vi = 0; vi < n_vis; vi++)
			printf(" vi%d=%llu", vi,
			       (unsigned long long)rx_count[vi]);
		printf("\n");
	} else if (!strcmp(line, "sync")) {
		printf("R%d sync\n", seq);
	} else if (!strcmp(line, "quit")) {
		stop = 1;
		printf("R%d quit\n", seq);
	} else {
		printf("R%d error unknown command '%s'\n", seq, line);
	}
}

int main(int argc, char **argv)
{
	int set_n = 0, set_i = 0, all_n = 0, max_secs = 60, opt, i, seq = 0;
	char inbuf[4096];
	size_t inlen = 0;
	int64_t deadline;
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n:S:A:t:")) != -1) {
		switch (opt) {
		case 'n':
			n_vis = atoi(optarg);
			break;
		case 'S':
			if (sscanf(optarg, "%d:%d", &set_n, &set_i) != 2)
				et_die("bad -S %s", optarg);
			break;
		case 'A':
			all_n = atoi(optarg);
			n_vis = all_n;
			break;
		case 't':
			max_secs = atoi(optarg);
			break;
		default:
			et_die("usage: vi_recv [-n NVIS] [-S N:I] [-A N] [-t SECS] IF");
		}
	}
	if (optind + 1 != argc || n_vis < 1 || n_vis > MAX_VIS)
		et_die("usage: vi_recv [-n NVIS] [-S N:I] [-A N] [-t SECS] IF");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < n_vis; i++) {
		const char *step;
		int rc = all_n ? et_vi_open(&vis[i], argv[optind], 0, -1, -1,
					    all_n, i, &step)
			       : et_vi_open(&vis[i], argv[optind], 0, -1, -1,
					    i == 0 ? set_n : 0, set_i, &step);

		printf("ALLOC vi=%d rc=%d step=%s\n", i, rc, step);
		if (rc < 0) {
			while (--i >= 0)
				et_vi_close(&vis[i]);
			return 10;
		}
		ET_TRY(et_vi_post_all(&vis[i]));
	}
	printf("READY pid=%d\n", (int)getpid());

	deadline = et_now_ns() + (int64_t)max_secs * 1000000000;
	while (!stop) {
		struct pollfd pfd[MAX_VIS + 1];

		for (i = 0; i < n_vis; i++) {
			pfd[i].fd = vis[i].dh;
			pfd[i].events = POLLIN;
		}
		pfd[n_vis].fd = 0;
		pfd[n_vis].events = POLLIN;
		if (poll(pfd, (nfds_t)n_vis + 1, 5) < 0 && errno != EINTR)
			et_die("poll: %s", strerror(errno));
		for (i = 0; i < n_vis; i++)
			poll_vi(i);
		if (pfd[n_vis].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(0, inbuf + inlen,
					 sizeof(inbuf) - 1 - inlen);
			char *nl;

			if (r <= 0) {
				stop = 1;
			} else {
				inlen += (size_t)r;
				inbuf[inlen] = '\0';
				while ((nl = strchr(inbuf, '\n'))) {
					*nl = '\0';
					command(inbuf, ++seq);
					memmove(inbuf, nl + 1,
						inlen - (size_t)(nl + 1 - inbuf) + 1);
					inlen = strlen(inbuf);
				}
				if (inlen >= sizeof(inbuf) - 1)
					et_die("command line too long");
			}
		}
		if (et_now_ns() > deadline) {
			printf("TIMEOUT\n");
			for (i = 0; i < n_vis; i++)
				et_vi_close(&vis[i]);
			return 3;
		}
	}
	/* Last look: frames that arrived just before the quit. */
	for (i = 0; i < n_vis; i++)
		poll_vi(i);
	for (i = 0; i < n_vis; i++)
		et_vi_close(&vis[i]);
	printf("BYE\n");
	return 0;
}
