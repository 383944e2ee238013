/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * efsend: send UDP/IPv4 frames from one VI at a given rate, size and count,
 * the anyload version of the classic ef_vi sample. Each payload starts with
 * a 32-bit sequence number (network order, truncated when the payload is
 * shorter) followed by the pattern byte i = (seq + i) & 0xff, so receivers
 * can check order and content.
 *
 * TX path: take a free buffer from the pool (reaping TX completions while
 * none is free), build the frame in it, then either ef_vi_transmit (paced
 * mode, -r) or ef_vi_transmit_init with one ef_vi_transmit_push per batch
 * (as fast as possible). A buffer returns to the pool only when its
 * completion has been unbundled. At the end the program waits (bounded)
 * for every completion.
 */
#include "ef_sample_util.h"

#include <getopt.h>

#define SND_N_EVS       32
#define SND_MAX_BUFS    512
#define SND_BATCH       32       /* transmit_init calls per push */
#define SND_STALL_NS    (2 * EFS_NS_PER_SEC)
#define SND_DRAIN_NS    EFS_NS_PER_SEC
#define SND_SPIN_NS     (100 * 1000)  /* busy-wait the last 100 us */

struct snd_cfg {
  const char* ifname;
  uint64_t    count;     /* 0: until -t or a signal */
  uint64_t    paylen;
  uint64_t    rate;      /* packets per second, 0: as fast as possible */
  double      timeout;   /* 0: no limit */
  uint32_t    daddr_be;
  uint16_t    dport_be;
  const char* laddr;
  int         have_lport;
  uint16_t    lport_be;
  int         have_dmac;
  uint8_t     dmac[6];
};

struct snd {
  struct snd_cfg      cfg;
  struct efs_vi       v;
  struct efs_pool     pool;
  struct efs_udp_flow flow;
  uint64_t            sent;       /* accepted by ef_vi_transmit* */
  uint64_t            completed;
  uint64_t            bytes;
  int                 unpushed;   /* transmit_init calls not yet pushed */
  uint64_t            last_progress_ns;
  struct efs_rx_counts cnt;
};

/* Static: the atexit clean-up may run after main has returned. */
static struct snd snd;

static void usage(FILE* f)
{
  fprintf(f,
    "usage: efsend [options] <interface> <dest-ip> <port>\n"
    "\n"
    "Send UDP datagrams. Each payload is a 32-bit sequence number (network\n"
    "order) followed by bytes (seq + i) & 0xff.\n"
    "\n"
    "options:\n"
    "  -n N      number of packets (default 10; 0: until -t or Ctrl-C)\n"
    "  -s BYTES  UDP payload size (default 28)\n"
    "  -r PPS    rate in packets per second (default 0: as fast as "
    "possible)\n"
    "  -l IP     local IPv4 (default the interface's first address, else\n"
    "            198.18.0.1)\n"
    "  -p PORT   local UDP port (default the destination port)\n"
    "  -m MAC    destination MAC (default 01:00:5e:.. for a multicast\n"
    "            destination, else ff:ff:ff:ff:ff:ff)\n"
    "  -t SECS   stop sending after this time (default: no limit)\n"
    "  -h        this help\n"
    EFS_ENV_HELP
    "\n"
    "example: efsend -n 1000 -r 100 eth0 239.1.2.3 9000\n");
}

static void __attribute__((noreturn)) bad_usage(const char* fmt,
                                                const char* arg)
{
  fprintf(stderr, "efsend: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  usage(stderr);
  exit(2);
}

static void parse_args(struct snd_cfg* c, int argc, char** argv)
{
  int opt;
  c->count = 10;
  c->paylen = 28;
  while( (opt = getopt(argc, argv, "n:s:r:l:p:m:t:h")) != -1 ) {
    switch( opt ) {
    case 'n':
      if( efs_parse_u64(optarg, 10, UINT64_MAX, &c->count) < 0 )
        bad_usage("bad packet count '%s'", optarg);
      break;
    case 's':
      if( efs_parse_u64(optarg, 10, 65535, &c->paylen) < 0 )
        bad_usage("bad payload size '%s'", optarg);
      break;
    case 'r':
      if( efs_parse_u64(optarg, 10, 1000000000, &c->rate) < 0 )
        bad_usage("bad rate '%s'", optarg);
      break;
    case 'l':
      c->laddr = optarg;
      break;
    case 'p':
      if( efs_parse_port(optarg, &c->lport_be) < 0 )
        bad_usage("bad port '%s'", optarg);
      c->have_lport = 1;
      break;
    case 'm':
      if( efs_parse_mac(optarg, c->dmac) < 0 )
        bad_usage("bad MAC address '%s'", optarg);
      c->have_dmac = 1;
      break;
    case 't':
      if( efs_parse_seconds(optarg, &c->timeout) < 0 )
        bad_usage("bad timeout '%s'", optarg);
      break;
    case 'h':
      usage(stdout);
      exit(0);
    default:
      usage(stderr);
      exit(2);
    }
  }
  if( argc - optind != 3 )
    bad_usage("expected <interface> <dest-ip> <port>%s", "");
  c->ifname = argv[optind];
  if( efs_parse_ip4(argv[optind + 1], &c->daddr_be) < 0 )
    bad_usage("bad destination IPv4 address '%s'", argv[optind + 1]);
  if( efs_parse_port(argv[optind + 2], &c->dport_be) < 0 )
    bad_usage("bad destination port '%s'", argv[optind + 2]);
  if( c->laddr != NULL ) {
    uint32_t a;
    if( efs_parse_ip4(c->laddr, &a) < 0 )
      bad_usage("bad local IPv4 address '%s'", c->laddr);
  }
}

/* snd_flow: addresses of the frames, with the defaults filled in. */
static void snd_flow(struct snd* s)
{
  struct snd_cfg* c = &s->cfg;
  struct efs_udp_flow* f = &s->flow;
  if( c->have_dmac )
    memcpy(f->dmac, c->dmac, 6);
  else if( efs_ip4_is_multicast(c->daddr_be) )
    efs_mcast_mac(c->daddr_be, f->dmac);
  else
    memset(f->dmac, 0xff, 6);
  memcpy(f->smac, s->v.mac, 6);
  if( c->laddr != NULL )
    efs_parse_ip4(c->laddr, &f->saddr_be);
  else if( efs_if_ipv4(c->ifname, &f->saddr_be) < 0 )
    efs_parse_ip4("198.18.0.1", &f->saddr_be);
  f->daddr_be = c->daddr_be;
  f->dport_be = c->dport_be;
  f->sport_be = c->have_lport ? c->lport_be : c->dport_be;
}

static void snd_check_paylen(const struct snd* s)
{
  unsigned max_frame = s->v.mtu;
  if( max_frame > EFS_BUF_SIZE - EFS_BUF_DATA_OFF )
    max_frame = EFS_BUF_SIZE - EFS_BUF_DATA_OFF;
  if( max_frame < EFS_UDP_HDRS_LEN )
    efs_die("interface %s: frame limit %u too small (ef_vi_mtu returned "
            "%u)", s->v.ifname, max_frame, s->v.mtu);
  if( s->cfg.paylen > max_frame - EFS_UDP_HDRS_LEN )
    efs_die("payload size %" PRIu64 " too large: at most %u on %s",
            s->cfg.paylen, max_frame - EFS_UDP_HDRS_LEN, s->v.ifname);
}

static void snd_setup(struct snd* s)
{
  int n_bufs;
  efs_vi_open(&s->v, s->cfg.ifname, EF_VI_FLAGS_DEFAULT);
  snd_check_paylen(s);
  n_bufs = ef_vi_transmit_capacity(&s->v.vi);
  if( n_bufs <= 0 )
    efs_die("TX ring of %s has no room (capacity %d)", s->cfg.ifname,
            n_bufs);
  if( n_bufs > SND_MAX_BUFS )
    n_bufs = SND_MAX_BUFS;
  efs_pool_init(&s->pool, n_bufs);
  efs_pool_register(&s->pool, &s->v);
  snd_flow(s);
}

static void snd_print_header(const struct snd* s)
{
  char ip[INET_ADDRSTRLEN], mac[18];
  const struct efs_udp_flow* f = &s->flow;
  efs_print_version(stdout);
  printf("# interface: %s\n", s->cfg.ifname);
  efs_print_backend(stdout, "", &s->v.vi);
  printf("# source: %s:%u %s\n", efs_fmt_ip4(f->saddr_be, ip),
         ntohs(f->sport_be), efs_fmt_mac(f->smac, mac));
  printf("# destination: %s:%u %s\n", efs_fmt_ip4(f->daddr_be, ip),
         ntohs(f->dport_be), efs_fmt_mac(f->dmac, mac));
  printf("# udp payload len: %" PRIu64 "\n", s->cfg.paylen);
  printf("# frame len: %" PRIu64 "\n", s->cfg.paylen + EFS_UDP_HDRS_LEN);
  if( s->cfg.rate )
    printf("# rate: %" PRIu64 " pps\n", s->cfg.rate);
  else
    printf("# rate: as fast as possible\n");
  fflush(stdout);
}

/* snd_payload: sequence number then the pattern. */
static void snd_payload(uint8_t* p, size_t len, uint32_t seq)
{
  uint32_t seq_be = htonl(seq);
  size_t i;
  memcpy(p, &seq_be, len < 4 ? len : 4);
  for( i = 4; i < len; ++i )
    p[i] = (uint8_t) (seq + i);
}

/* snd_reap: handle one batch of events; TX completions free buffers. */
static void snd_reap(struct snd* s)
{
  ef_event evs[SND_N_EVS];
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int i, j, k;
  int n = ef_eventq_poll(&s->v.vi, evs, SND_N_EVS);
  for( i = 0; i < n; ++i ) {
    switch( EF_EVENT_TYPE(evs[i]) ) {
    case EF_EVENT_TYPE_TX_ERROR:
      ++s->cnt.tx_errors;
      /* Its buffers are done with too. */
      __attribute__((fallthrough));
    case EF_EVENT_TYPE_TX:
      k = ef_vi_transmit_unbundle(&s->v.vi, &evs[i], ids);
      for( j = 0; j < k; ++j ) {
        if( !efs_valid_id(&s->pool, (unsigned) ids[j]) ) {
          ++s->cnt.bad_id;
          continue;
        }
        efs_pool_put(&s->pool, ids[j]);
        ++s->completed;
      }
      if( k > 0 )
        s->last_progress_ns = efs_now_ns();
      break;
    case EF_EVENT_TYPE_RESET:
      efs_die("interface %s was reset", s->cfg.ifname);
    default:
      ++s->cnt.other;
      break;
    }
  }
}

static void snd_push(struct snd* s)
{
  if( s->unpushed ) {
    ef_vi_transmit_push(&s->v.vi);
    s->unpushed = 0;
  }
}

/* snd_get_buf: a free buffer, reaping completions while there is none.
 * Returns -1 on a signal or at the end time; exits when transmits stop
 * completing. */
static int snd_get_buf(struct snd* s, uint64_t end)
{
  uint64_t now;
  int id;
  while( (id = efs_pool_get(&s->pool)) < 0 ) {
    snd_push(s);
    snd_reap(s);
    now = efs_now_ns();
    if( efs_stop || now >= end )
      return -1;
    if( now - s->last_progress_ns > SND_STALL_NS )
      efs_die("no TX completion for %llu s (%" PRIu64 " in flight)",
              SND_STALL_NS / EFS_NS_PER_SEC, s->sent - s->completed);
  }
  return id;
}

/* snd_pace: wait until the send time of packet seq. Returns -1 on a
 * signal or at the end time. */
static int snd_pace(struct snd* s, uint64_t start, uint64_t seq,
                    uint64_t end)
{
  uint64_t due = start + (uint64_t) ((double) seq * 1e9 /
                                     (double) s->cfg.rate);
  uint64_t now;
  if( due >= end )
    return -1;
  while( (now = efs_now_ns()) < due ) {
    if( efs_stop || now >= end )
      return -1;
    snd_reap(s);
    if( due - now > 2 * SND_SPIN_NS )
      efs_sleep_ns(due - now - SND_SPIN_NS < 10000000
                   ? due - now - SND_SPIN_NS : 10000000);
  }
  return 0;
}

/* snd_one: build and queue packet seq. Returns 0, or -EAGAIN when the
 * ring is full (the buffer goes back to the pool). */
static int snd_one(struct snd* s, int id, uint64_t seq)
{
  uint8_t* frame = efs_buf_data(&s->pool, id);
  ef_addr dma = efs_buf_dma(&s->pool, &s->v, id);
  size_t len;
  int rc;
  snd_payload(frame + EFS_UDP_HDRS_LEN, s->cfg.paylen, (uint32_t) seq);
  len = efs_udp_build(frame, &s->flow, s->cfg.paylen, (uint16_t) seq);
  if( s->cfg.rate )
    rc = ef_vi_transmit(&s->v.vi, dma, (int) len, id);
  else
    rc = ef_vi_transmit_init(&s->v.vi, dma, (int) len, id);
  if( rc == -EAGAIN ) {
    efs_pool_put(&s->pool, id);
    return rc;
  }
  efs_try(rc, s->cfg.rate ? "ef_vi_transmit" : "ef_vi_transmit_init");
  if( !s->cfg.rate && ++s->unpushed >= SND_BATCH )
    snd_push(s);
  ++s->sent;
  s->bytes += len;
  return 0;
}

static void snd_run(struct snd* s, uint64_t start)
{
  uint64_t end = s->cfg.timeout > 0
                 ? start + (uint64_t) (s->cfg.timeout * 1e9) : UINT64_MAX;
  uint64_t seq = 0;
  int id;
  s->last_progress_ns = start;
  while( (s->cfg.count == 0 || seq < s->cfg.count) && !efs_stop ) {
    if( s->cfg.rate && snd_pace(s, start, seq, end) < 0 )
      break;
    if( (seq & 1023) == 0 && efs_now_ns() >= end )
      break;
    if( (id = snd_get_buf(s, end)) < 0 )
      break;
    if( snd_one(s, id, seq) == -EAGAIN ) {
      snd_push(s);
      snd_reap(s);
      continue;
    }
    ++seq;
    if( s->pool.n_free < SND_BATCH )
      snd_reap(s);
  }
  snd_push(s);
}

/* snd_drain: wait (bounded) for the completions of everything sent.
 * Returns how many did not complete. */
static uint64_t snd_drain(struct snd* s)
{
  uint64_t end = efs_now_ns() + SND_DRAIN_NS;
  while( s->completed < s->sent && efs_now_ns() < end )
    snd_reap(s);
  return s->sent - s->completed;
}

int main(int argc, char** argv)
{
  struct snd* s = &snd;
  uint64_t start, elapsed, missing;
  int rc = 0;

  efs_set_prog(argv[0]);
  parse_args(&s->cfg, argc, argv);
  efs_install_signals();
  snd_setup(s);
  snd_print_header(s);

  start = efs_now_ns();
  snd_run(s, start);
  missing = snd_drain(s);
  elapsed = efs_now_ns() - start;
  printf("# elapsed: %.3f s, %.0f pps\n", (double) elapsed / 1e9,
         elapsed ? (double) s->sent * 1e9 / (double) elapsed : 0.0);
  printf("sent %" PRIu64 " packets\n", s->sent);
  fflush(stdout);
  efs_print_anomalies(stderr, &s->cnt);
  if( missing ) {
    efs_err("%" PRIu64 " of %" PRIu64 " transmits did not complete within "
            "1 s", missing, s->sent);
    rc = 1;
  }
  if( s->cnt.tx_errors )
    rc = 1;
  efs_cleanup();
  return rc;
}
