/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * efvi_test.h: static inline helpers for anyload's integration-test
 * programs (tests/integration/progs/): setting up a VI with its packet
 * memory, posting and recycling receive buffers, a pool of transmit
 * buffers, building UDP/IPv4 frames with checksums computed here (an
 * oracle independent of the library's checksum code), parsing received
 * frames, and parsing filter specs of the form efsink takes.
 *
 * Buffer layout of an et_vi: n_rx receive buffers (ids 0..n_rx-1) and then
 * n_tx transmit buffers (ids n_rx..n_rx+n_tx-1), ET_BUF_SIZE bytes each, in
 * one page-aligned region registered with the PD. A receive buffer's
 * request id is its index; a transmit's request id is its buffer index.
 *
 * Everything reports errors as negative errnos (like the ef_vi API) or
 * exits through et_die() with a "FAIL:" line on stderr.
 */
#ifndef ANYLOAD_EFVI_TEST_H
#define ANYLOAD_EFVI_TEST_H

#include <etherfabric/base.h>
#include <etherfabric/ef_vi.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ET_BUF_SIZE 2048

static inline void et_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static inline void et_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* ET_TRY: evaluate an ef_vi call; on a negative result, die naming it. */
#define ET_TRY(expr) do {						\
	int et__rc = (int)(expr);					\
	if (et__rc < 0)							\
		et_die("%s:%d: %s = %d (%s)", __FILE__, __LINE__,	\
		       #expr, et__rc, strerror(-et__rc));		\
} while (0)

static inline int64_t et_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t et_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- a VI with its memory ------------------------------------------- */

struct et_vi {
	ef_driver_handle dh;
	ef_pd pd;
	ef_memreg mr;
	ef_vi vi;
	ef_vi_set set;
	char *mem;
	size_t mem_len;
	int n_rx, n_tx;
	int *tx_free;		/* stack of free transmit buffer ids */
	int tx_free_n;
	int have_dh, have_pd, have_set, have_vi, have_mr;
	int queue;		/* what the allocation returned */
};

/* et_vi_buf: the address of buffer id. */
static inline char *et_vi_buf(struct et_vi *t, int id)
{
	return t->mem + (size_t)id * ET_BUF_SIZE;
}

static inline ef_addr et_vi_dma(struct et_vi *t, int id)
{
	return ef_memreg_dma_addr(&t->mr, (size_t)id * ET_BUF_SIZE);
}

/* et_vi_close: free whatever et_vi_open got, in reverse order. */
static inline void et_vi_close(struct et_vi *t)
{
	if (t->have_vi)
		ef_vi_free(&t->vi, t->dh);
	if (t->have_set)
		ef_vi_set_free(&t->set, t->dh);
	if (t->have_mr)
		ef_memreg_free(&t->mr, t->dh);
	if (t->have_pd)
		ef_pd_free(&t->pd, t->dh);
	if (t->have_dh)
		ef_driver_close(t->dh);
	if (t->mem)
		munmap(t->mem, t->mem_len);
	free(t->tx_free);
	memset(t, 0, sizeof(*t));
}

/* et_vi_open: driver handle, PD on ifname, a VI (on queue 0, or member
 * set_index of a VI set of set_n VIs when set_n > 0), and registered
 * memory for a full RX ring and a full TX ring. Returns the allocation's
 * result (>= 0, the queue) or the first negative errno; *step names the
 * call that failed. On failure what was allocated is freed. */
static inline int et_vi_open(struct et_vi *t, const char *ifname,
			     enum ef_vi_flags flags, int rxq, int txq,
			     int set_n, int set_index, const char **step)
{
	const char *dummy;
	int rc, i;

	if (!step)
		step = &dummy;
	memset(t, 0, sizeof(*t));
	*step = "ef_driver_open";
	if ((rc = ef_driver_open(&t->dh)) < 0)
		goto fail;
	t->have_dh = 1;
	*step = "ef_pd_alloc_by_name";
	if ((rc = ef_pd_alloc_by_name(&t->pd, t->dh, ifname, EF_PD_DEFAULT)) < 0)
		goto fail;
	t->have_pd = 1;
	if (set_n > 0) {
		*step = "ef_vi_set_alloc_from_pd";
		rc = ef_vi_set_alloc_from_pd(&t->set, t->dh, &t->pd, t->dh,
					     set_n);
		if (rc < 0)
			goto fail;
		t->have_set = 1;
		*step = "ef_vi_alloc_from_set";
		rc = ef_vi_alloc_from_set(&t->vi, t->dh, &t->set, t->dh,
					  set_index, -1, rxq, txq, NULL, -1,
					  flags);
	} else {
		*step = "ef_vi_alloc_from_pd";
		rc = ef_vi_alloc_from_pd(&t->vi, t->dh, &t->pd, t->dh, -1, rxq,
					 txq, NULL, -1, flags);
	}
	if (rc < 0)
		goto fail;
	t->have_vi = 1;
	t->queue = rc;
	t->n_rx = ef_vi_receive_capacity(&t->vi);
	t->n_tx = ef_vi_transmit_capacity(&t->vi);
	t->mem_len = (size_t)(t->n_rx + t->n_tx) * ET_BUF_SIZE;
	t->mem_len = (t->mem_len + 4095) & ~(size_t)4095;
	*step = "mmap";
	t->mem = mmap(NULL, t->mem_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->mem == MAP_FAILED) {
		t->mem = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	*step = "ef_memreg_alloc";
	rc = ef_memreg_alloc(&t->mr, t->dh, &t->pd, t->dh, t->mem,
			     t->mem_len);
	if (rc < 0)
		goto fail;
	t->have_mr = 1;
	t->tx_free = calloc((size_t)t->n_tx, sizeof(int));
	if (!t->tx_free) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < t->n_tx; i++)
		t->tx_free[t->tx_free_n++] = t->n_rx + t->n_tx - 1 - i;
	*step = "ok";
	return t->queue;
fail:
	et_vi_close(t);
	return rc;
}

/* et_vi_post_all: post every receive buffer (ids 0..n_rx-1). */
static inline int et_vi_post_all(struct et_vi *t)
{
	int i, rc;

	for (i = 0; i < t->n_rx; i++) {
		rc = ef_vi_receive_init(&t->vi, et_vi_dma(t, i), i);
		if (rc < 0)
			return rc;
	}
	ef_vi_receive_push(&t->vi);
	return 0;
}

/* et_vi_repost: give receive buffer id back to the ring. */
static inline int et_vi_repost(struct et_vi *t, int id)
{
	return ef_vi_receive_post(&t->vi, et_vi_dma(t, id), id);
}

/* et_vi_tx_get: a free transmit buffer id, or -1. */
static inline int et_vi_tx_get(struct et_vi *t)
{
	return t->tx_free_n ? t->tx_free[--t->tx_free_n] : -1;
}

static inline void et_vi_tx_put(struct et_vi *t, int id)
{
	if (id < t->n_rx || id >= t->n_rx + t->n_tx)
		et_die("transmit completion with bad id %d", id);
	if (t->tx_free_n >= t->n_tx)
		et_die("more transmit completions than transmits (id %d)",
		       id);
	t->tx_free[t->tx_free_n++] = id;
}

/* ---- addresses and filters ------------------------------------------ */

static inline int et_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned m[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (m[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)m[i];
	}
	return 0;
}

static inline const char *et_fmt_mac(const uint8_t *m, char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		m[4], m[5]);
	return buf;
}

/* et_parse_hostport: "HOST:PORT" (HOST empty or '*': any) into network
 * byte order. */
static inline int et_parse_hostport(const char *s, uint32_t *host_be,
				    uint16_t *port_be)
{
	char buf[64], *colon, *end;
	struct in_addr a;
	unsigned long port;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port > 65535)
		return -EINVAL;
	if (!buf[0] || !strcmp(buf, "*"))
		a.s_addr = 0;
	else if (!inet_aton(buf, &a))
		return -EINVAL;
	*host_be = a.s_addr;
	*port_be = htons((uint16_t)port);
	return 0;
}

/* et_parse_filter: an efsink-style spec into fs. Known forms:
 *   udp:HOST:PORT  tcp:HOST:PORT  udp:HOST:PORT,RHOST:RPORT (tcp too)
 *   eth:MAC  unicast-all  multicast-all  unicast-mismatch
 *   multicast-mismatch  ethertype:0xXXXX  ipproto:N  sniff
 * Returns 0, or the negative errno of the ef_filter_spec_set_* call, or
 * -EINVAL for a spec that does not parse. */
static inline int et_parse_filter(const char *s, ef_filter_spec *fs)
{
	ef_filter_spec_init(fs, EF_FILTER_FLAG_NONE);
	if (!strncmp(s, "udp:", 4) || !strncmp(s, "tcp:", 4)) {
		int proto = s[0] == 'u' ? IPPROTO_UDP : IPPROTO_TCP;
		char local[64];
		const char *comma = strchr(s + 4, ',');
		uint32_t lh, rh;
		uint16_t lp, rp;

		if (!comma) {
			if (et_parse_hostport(s + 4, &lh, &lp) < 0)
				return -EINVAL;
			return ef_filter_spec_set_ip4_local(fs, proto, lh, lp);
		}
		if ((size_t)(comma - (s + 4)) >= sizeof(local))
			return -EINVAL;
		memcpy(local, s + 4, (size_t)(comma - (s + 4)));
		local[comma - (s + 4)] = '\0';
		if (et_parse_hostport(local, &lh, &lp) < 0 ||
		    et_parse_hostport(comma + 1, &rh, &rp) < 0)
			return -EINVAL;
		return ef_filter_spec_set_ip4_full(fs, proto, lh, lp, rh, rp);
	}
	if (!strncmp(s, "eth:", 4)) {
		uint8_t mac[6];

		if (et_parse_mac(s + 4, mac) < 0)
			return -EINVAL;
		return ef_filter_spec_set_eth_local(fs, EF_FILTER_VLAN_ID_ANY,
						    mac);
	}
	if (!strcmp(s, "unicast-all"))
		return ef_filter_spec_set_unicast_all(fs);
	if (!strcmp(s, "multicast-all"))
		return ef_filter_spec_set_multicast_all(fs);
	if (!strcmp(s, "unicast-mismatch"))
		return ef_filter_spec_set_unicast_mismatch(fs);
	if (!strcmp(s, "multicast-mismatch"))
		return ef_filter_spec_set_multicast_mismatch(fs);
	if (!strcmp(s, "sniff"))
		return ef_filter_spec_set_port_sniff(fs, 1);
	if (!strncmp(s, "ethertype:", 10)) {
		char *end;
		unsigned long et = strtoul(s + 10, &end, 0);

		if (*end || et > 0xffff)
			return -EINVAL;
		return ef_filter_spec_set_eth_type(fs, htons((uint16_t)et));
	}
	if (!strncmp(s, "ipproto:", 8)) {
		char *end;
		unsigned long p = strtoul(s + 8, &end, 0);

		if (*end || p > 255)
			return -EINVAL;
		return ef_filter_spec_set_ip_proto(fs, (uint8_t)p);
	}
	return -EINVAL;
}

/* ---- frames --------------------------------------------------------- */

#define ET_ETH_HLEN 14
#define ET_IP_HLEN 20
#define ET_UDP_HLEN 8
#define ET_UDP_HDRS (ET_ETH_HLEN + ET_IP_HLEN + ET_UDP_HLEN)

static inline uint32_t et_csum_add(uint32_t sum, const void *data,
				   size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static inline uint16_t et_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline void et_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t et_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* et_build_udp: write an Ethernet/IPv4/UDP frame with correct IP and UDP
 * checksums into buf; addresses and ports in network byte order. Returns
 * the frame length. */
static inline int et_build_udp(void *buf, const uint8_t dmac[6],
			       const uint8_t smac[6], uint32_t saddr_be,
			       uint32_t daddr_be, uint16_t sport_be,
			       uint16_t dport_be, const void *payload,
			       size_t paylen, uint16_t ip_id)
{
	uint8_t *f = buf, *ip = f + ET_ETH_HLEN, *udp = ip + ET_IP_HLEN;
	uint16_t ulen = (uint16_t)(ET_UDP_HLEN + paylen);
	uint32_t sum;
	uint16_t c;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	et_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	et_put16(ip + 2, (uint16_t)(ET_IP_HLEN + ulen));
	et_put16(ip + 4, ip_id);
	et_put16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	et_put16(ip + 10, 0);
	memcpy(ip + 12, &saddr_be, 4);
	memcpy(ip + 16, &daddr_be, 4);
	et_put16(ip + 10, (uint16_t)~et_csum_fold(et_csum_add(0, ip,
							       ET_IP_HLEN)));
	memcpy(udp, &sport_be, 2);
	memcpy(udp + 2, &dport_be, 2);
	et_put16(udp + 4, ulen);
	et_put16(udp + 6, 0);
	if (payload != udp + ET_UDP_HLEN)
		memmove(udp + ET_UDP_HLEN, payload, paylen);
	sum = et_csum_add(0, ip + 12, 8);
	sum += IPPROTO_UDP + ulen;
	sum = et_csum_add(sum, udp, ulen);
	c = (uint16_t)~et_csum_fold(sum);
	et_put16(udp + 6, c ? c : 0xffff);
	return ET_UDP_HDRS + (int)paylen;
}

/* A parsed frame. */
struct et_pkt {
	uint8_t dmac[6], smac[6];
	uint16_t ethertype;
	int is_ip;		/* IPv4 with a whole header */
	uint8_t proto;
	uint32_t saddr_be, daddr_be;
	int has_ports;		/* UDP or TCP with ports */
	uint16_t sport, dport;	/* host order */
	int csum_ok;		/* IPv4 header (and UDP) checksums correct */
	const uint8_t *payload;	/* after the UDP header, IP header, or
				 * Ethernet header */
	int paylen;
};

static inline int et_parse(const void *frame, int len, struct et_pkt *p)
{
	const uint8_t *f = frame, *ip;
	int ihl, tot;

	memset(p, 0, sizeof(*p));
	if (len < ET_ETH_HLEN)
		return -EINVAL;
	memcpy(p->dmac, f, 6);
	memcpy(p->smac, f + 6, 6);
	p->ethertype = et_get16(f + 12);
	p->payload = f + ET_ETH_HLEN;
	p->paylen = len - ET_ETH_HLEN;
	if (p->ethertype != 0x0800 || len < ET_ETH_HLEN + ET_IP_HLEN)
		return 0;
	ip = f + ET_ETH_HLEN;
	ihl = (ip[0] & 0xf) * 4;
	tot = et_get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < ET_IP_HLEN || tot < ihl ||
	    tot > len - ET_ETH_HLEN)
		return 0;
	p->is_ip = 1;
	p->proto = ip[9];
	memcpy(&p->saddr_be, ip + 12, 4);
	memcpy(&p->daddr_be, ip + 16, 4);
	p->csum_ok = et_csum_fold(et_csum_add(0, ip, (size_t)ihl)) == 0xffff;
	p->payload = ip + ihl;
	p->paylen = tot - ihl;
	if ((p->proto == IPPROTO_UDP && p->paylen >= ET_UDP_HLEN) ||
	    (p->proto == IPPROTO_TCP && p->paylen >= 20)) {
		const uint8_t *l4 = ip + ihl;

		p->has_ports = 1;
		p->sport = et_get16(l4);
		p->dport = et_get16(l4 + 2);
	}
	if (p->proto == IPPROTO_UDP && p->has_ports) {
		const uint8_t *udp = ip + ihl;
		int ulen = et_get16(udp + 4);

		if (ulen >= ET_UDP_HLEN && ulen <= tot - ihl) {
			if (et_get16(udp + 6)) {
				uint32_t sum = et_csum_add(0, ip + 12, 8);

				sum += IPPROTO_UDP + (uint32_t)ulen;
				sum = et_csum_add(sum, udp, (size_t)ulen);
				if (et_csum_fold(sum) != 0xffff)
					p->csum_ok = 0;
			}
			p->payload = udp + ET_UDP_HLEN;
			p->paylen = ulen - ET_UDP_HLEN;
		} else {
			p->csum_ok = 0;
		}
	}
	return 0;
}

/* et_if_ip4: the first IPv4 address of ifname (network order), or 0. */
static inline uint32_t et_if_ip4(const char *ifname)
{
	struct ifreq ifr;
	uint32_t a = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFADDR, &ifr) == 0)
		a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
	close(fd);
	return a;
}

#endif /* ANYLOAD_EFVI_TEST_H */
