/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * eflatency: UDP ping-pong round-trip latency over one ef_vi VI, the
 * anyload version of the classic ef_vi sample. The ping side sends a frame
 * and busy-polls for the answer; the pong side answers each frame it
 * receives with one of its own. Only the ping side measures and prints.
 *
 * Protocol: frame k carries k & 0xffff in its IPv4 identification field and
 * the pong echoes it. Frame 0 is a synchronisation frame, never measured:
 * the ping resends it every 10 ms until an answer comes, because the pong
 * may start later. The pong answers every copy but counts a frame only when
 * its id differs from the previous one, and the ping ignores answers whose
 * id is not the one it waits for (stale answers to resent copies). After the
 * sync frame come `warmups` unmeasured and `iterations` measured round trips;
 * both sides must be given the same -w and -n.
 *
 * Fast path, per round trip: (ping) take a TX buffer holding the prebuilt
 * frame, set the id, ef_vi_transmit, busy-poll ef_eventq_poll until the RX
 * event with that id; (pong) on each RX event transmit the reply at once,
 * then re-post the RX buffer. TX completions return buffers to a small
 * rotation of prebuilt TX buffers.
 */
#include "ef_sample_util.h"

#include <getopt.h>
#include <math.h>

#define LAT_N_TX            8      /* prebuilt TX buffers in rotation */
#define LAT_N_RX            64     /* RX buffers kept posted */
#define LAT_N_EVS           16     /* events per poll */
#define LAT_PENDING         256    /* answers waiting for a TX buffer */
#define LAT_SYNC_RESEND_NS  (10ull * 1000 * 1000)
#define LAT_SPINS_PER_CHECK 256    /* polls between clock/signal checks */
#define LAT_DRAIN_NS        EFS_NS_PER_SEC

struct lat_cfg {
  int         ping;
  const char* ifname;
  uint64_t    iterations;
  uint64_t    warmups;
  uint64_t    paylen;
  uint32_t    laddr_be;
  uint32_t    raddr_be;
  uint16_t    port_be;
  uint8_t     rmac[6];
  const char* raw_path;
  const char* yaml_path;
  double      timeout;
};

struct lat {
  struct lat_cfg cfg;
  struct efs_vi  v;
  struct efs_pool pool;
  size_t   frame_len;
  int      tx_free[LAT_N_TX];  /* ids 0 .. LAT_N_TX-1 are TX buffers */
  int      n_tx_free;
  uint64_t deadline;
  /* ping: the id awaited, whether it came, and when */
  uint16_t expect_id;
  int      got;
  uint64_t t_rx;
  /* pong: answers owed, frames counted */
  uint16_t pending[LAT_PENDING];
  unsigned pend_head, pend_tail;
  uint64_t distinct;
  int      last_id;
  uint64_t first_rx_ns;
  /* counters */
  uint64_t stale;      /* answers with an unexpected id */
  uint64_t foreign;    /* frames that are not our UDP/IPv4 */
  uint64_t dropped_answers;
  struct efs_rx_counts cnt;
};

/* Static: the atexit clean-up may run after main has returned. */
static struct lat lat;

static void usage(FILE* f)
{
  fprintf(f,
    "usage: eflatency [options] ping|pong <interface>\n"
    "\n"
    "UDP ping-pong latency between two hosts. Start 'pong' on one and\n"
    "'ping' on the other with the same -n, -w and -s; the ping side prints\n"
    "the round-trip times in microseconds.\n"
    "\n"
    "options:\n"
    "  -n N      measured iterations (default 100000)\n"
    "  -w N      warm-up iterations (default 10000)\n"
    "  -s BYTES  UDP payload size (default 28; max: the frame must fit the\n"
    "            interface MTU and one 2 KiB buffer)\n"
    "  -l IP     local IPv4 (default 198.18.0.1 ping, 198.18.0.2 pong)\n"
    "  -r IP     remote IPv4 (default the other one)\n"
    "  -p PORT   UDP port, source and destination (default 8080)\n"
    "  -m MAC    remote MAC (default ff:ff:ff:ff:ff:ff)\n"
    "  -o FILE   write raw round-trip times (ns), one per line (ping)\n"
    "  -y FILE   write the results as YAML (ping)\n"
    "  -t SECS   fail if no answer comes or the run lasts longer than\n"
    "            this (default 30; 0: no limit)\n"
    "  -h        this help\n"
    EFS_ENV_HELP);
}

static void __attribute__((noreturn)) bad_usage(const char* fmt,
                                                const char* arg)
{
  fprintf(stderr, "eflatency: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  usage(stderr);
  exit(2);
}

static void parse_args(struct lat_cfg* c, int argc, char** argv)
{
  const char* laddr = NULL;
  const char* raddr = NULL;
  int opt;

  c->iterations = 100000;
  c->warmups = 10000;
  c->paylen = 28;
  c->port_be = htons(8080);
  memset(c->rmac, 0xff, 6);
  c->timeout = 30;

  while( (opt = getopt(argc, argv, "n:w:s:l:r:p:m:o:y:t:h")) != -1 ) {
    switch( opt ) {
    case 'n':
      if( efs_parse_u64(optarg, 10, 1000000000, &c->iterations) < 0 ||
          c->iterations == 0 )
        bad_usage("bad iteration count '%s' (1..1000000000)", optarg);
      break;
    case 'w':
      if( efs_parse_u64(optarg, 10, 1000000000, &c->warmups) < 0 )
        bad_usage("bad warm-up count '%s'", optarg);
      break;
    case 's':
      if( efs_parse_u64(optarg, 10, 65535, &c->paylen) < 0 )
        bad_usage("bad payload size '%s'", optarg);
      break;
    case 'l':
      laddr = optarg;
      break;
    case 'r':
      raddr = optarg;
      break;
    case 'p':
      if( efs_parse_port(optarg, &c->port_be) < 0 )
        bad_usage("bad port '%s'", optarg);
      break;
    case 'm':
      if( efs_parse_mac(optarg, c->rmac) < 0 )
        bad_usage("bad MAC address '%s'", optarg);
      break;
    case 'o':
      c->raw_path = optarg;
      break;
    case 'y':
      c->yaml_path = optarg;
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
  if( argc - optind != 2 )
    bad_usage("expected ping|pong and an interface%s", "");
  if( strcmp(argv[optind], "ping") == 0 )
    c->ping = 1;
  else if( strcmp(argv[optind], "pong") != 0 )
    bad_usage("expected 'ping' or 'pong', not '%s'", argv[optind]);
  c->ifname = argv[optind + 1];

  if( laddr == NULL )
    laddr = c->ping ? "198.18.0.1" : "198.18.0.2";
  if( raddr == NULL )
    raddr = c->ping ? "198.18.0.2" : "198.18.0.1";
  if( efs_parse_ip4(laddr, &c->laddr_be) < 0 )
    bad_usage("bad local IPv4 address '%s'", laddr);
  if( efs_parse_ip4(raddr, &c->raddr_be) < 0 )
    bad_usage("bad remote IPv4 address '%s'", raddr);
}

/**********************************************************************
 * Set-up
 **********************************************************************/

/* lat_check_paylen: the frame must fit the MTU and one buffer. */
static void lat_check_paylen(struct lat* l)
{
  unsigned room = EFS_BUF_SIZE - EFS_BUF_DATA_OFF;
  unsigned rx_room = (unsigned) efs_vi_rx_room(&l->v);
  unsigned max_frame = l->v.mtu;
  if( rx_room < room )
    room = rx_room;
  if( max_frame > room )
    max_frame = room;
  if( max_frame < EFS_UDP_HDRS_LEN )
    efs_die("interface %s: frame limit %u too small (ef_vi_mtu returned "
            "%u)", l->v.ifname, max_frame, l->v.mtu);
  if( l->cfg.paylen > max_frame - EFS_UDP_HDRS_LEN )
    efs_die("payload size %" PRIu64 " too large: at most %u on %s",
            l->cfg.paylen, max_frame - EFS_UDP_HDRS_LEN, l->v.ifname);
}

/* lat_prebuild_tx: write the whole frame into every TX buffer; only the
 * IPv4 id changes per send. */
static void lat_prebuild_tx(struct lat* l)
{
  struct efs_udp_flow f;
  int id;
  memcpy(f.dmac, l->cfg.rmac, 6);
  memcpy(f.smac, l->v.mac, 6);
  f.saddr_be = l->cfg.laddr_be;
  f.daddr_be = l->cfg.raddr_be;
  f.sport_be = l->cfg.port_be;
  f.dport_be = l->cfg.port_be;
  for( id = 0; id < LAT_N_TX; ++id ) {
    uint8_t* frame = efs_buf_data(&l->pool, id);
    memset(frame + EFS_UDP_HDRS_LEN, 0, l->cfg.paylen);
    l->frame_len = efs_udp_build(frame, &f, l->cfg.paylen, 0);
    l->tx_free[id] = id;
  }
  l->n_tx_free = LAT_N_TX;
}

static void lat_setup(struct lat* l)
{
  struct lat_cfg* c = &l->cfg;
  ef_filter_spec fs;
  char what[64], ip[INET_ADDRSTRLEN];
  int n_rx, i;

  efs_vi_open(&l->v, c->ifname, EF_VI_FLAGS_DEFAULT);
  lat_check_paylen(l);
  efs_vi_fix_rx_buffer_len(&l->v);
  if( ef_vi_transmit_capacity(&l->v.vi) < LAT_N_TX )
    efs_die("TX ring of %s too small (%d)", c->ifname,
            ef_vi_transmit_capacity(&l->v.vi));
  n_rx = ef_vi_receive_capacity(&l->v.vi);
  if( n_rx > LAT_N_RX )
    n_rx = LAT_N_RX;

  efs_pool_init(&l->pool, LAT_N_TX + n_rx);
  efs_pool_register(&l->pool, &l->v);
  lat_prebuild_tx(l);
  /* Ids below LAT_N_TX belong to the TX rotation, the rest to RX. */
  for( i = 0; i < LAT_N_TX; ++i )
    efs_pool_get(&l->pool);
  if( efs_rx_fill(&l->pool, &l->v, n_rx) == 0 )
    efs_die("could not post any RX buffer on %s", c->ifname);

  ef_filter_spec_init(&fs, EF_FILTER_FLAG_NONE);
  efs_try(ef_filter_spec_set_ip4_local(&fs, IPPROTO_UDP, c->laddr_be,
                                       c->port_be),
          "ef_filter_spec_set_ip4_local");
  snprintf(what, sizeof(what), "udp:%s:%u", efs_fmt_ip4(c->laddr_be, ip),
           ntohs(c->port_be));
  efs_filter_add(&l->v, &fs, what);
  l->last_id = -1;
}

static void lat_print_header(const struct lat* l)
{
  efs_print_version(stdout);
  printf("# interface: %s\n", l->cfg.ifname);
  efs_print_backend(stdout, "", &l->v.vi);
  printf("# udp payload len: %" PRIu64 "\n", l->cfg.paylen);
  printf("# iterations: %" PRIu64 "\n", l->cfg.iterations);
  printf("# warmups: %" PRIu64 "\n", l->cfg.warmups);
  printf("# frame len: %zu\n", l->frame_len);
  fflush(stdout);
}

/**********************************************************************
 * Events
 **********************************************************************/

static void lat_tx_put(struct lat* l, ef_request_id id)
{
  if( id < 0 || id >= LAT_N_TX || l->n_tx_free == LAT_N_TX ) {
    ++l->cnt.bad_id;
    return;
  }
  l->tx_free[l->n_tx_free++] = id;
}

/* lat_send_id: transmit a TX buffer with the given IPv4 id. Returns the
 * send time, or 0 when no TX buffer or ring slot is free right now. */
static uint64_t lat_send_id(struct lat* l, uint16_t ip_id)
{
  uint64_t t;
  int id, rc;
  if( l->n_tx_free == 0 )
    return 0;
  id = l->tx_free[--l->n_tx_free];
  efs_ip_id_set(efs_buf_data(&l->pool, id), ip_id);
  t = efs_now_ns();
  rc = ef_vi_transmit(&l->v.vi, efs_buf_dma(&l->pool, &l->v, id),
                      (int) l->frame_len, id);
  if( rc == -EAGAIN ) {
    l->tx_free[l->n_tx_free++] = id;
    return 0;
  }
  efs_try(rc, "ef_vi_transmit");
  return t;
}

/* lat_answer: (pong) send the answer now if a TX buffer is free, else
 * queue it for lat_flush_pending. */
static void lat_answer(struct lat* l, uint16_t ip_id)
{
  if( l->pend_head == l->pend_tail && lat_send_id(l, ip_id) != 0 )
    return;
  if( l->pend_tail - l->pend_head == LAT_PENDING ) {
    ++l->dropped_answers;
    return;
  }
  l->pending[l->pend_tail++ % LAT_PENDING] = ip_id;
}

static void lat_flush_pending(struct lat* l)
{
  while( l->pend_head != l->pend_tail &&
         lat_send_id(l, l->pending[l->pend_head % LAT_PENDING]) != 0 )
    ++l->pend_head;
}

/* lat_frame_ok: an RX frame is a UDP/IPv4 frame long enough to read. */
static int lat_frame_ok(const uint8_t* frame, int len)
{
  return len >= EFS_UDP_HDRS_LEN &&
         frame[EFS_OFF_ETHERTYPE] == 0x08 &&
         frame[EFS_OFF_ETHERTYPE + 1] == 0x00 &&
         frame[EFS_OFF_IP_PROTO] == IPPROTO_UDP;
}

/* lat_on_rx: a frame arrived. The pong answers before re-posting, so the
 * answer leaves as early as possible. */
static void lat_on_rx(struct lat* l, const ef_event* ev)
{
  unsigned id = EF_EVENT_RX_RQ_ID(*ev);
  const uint8_t* frame;
  uint16_t ip_id;
  int len;

  if( !efs_valid_id(&l->pool, id) || id < LAT_N_TX ) {
    ++l->cnt.bad_id;
    return;
  }
  frame = efs_buf_data(&l->pool, (int) id) + l->v.prefix_len;
  len = (int) EF_EVENT_RX_BYTES(*ev) - l->v.prefix_len;
  if( !lat_frame_ok(frame, len) ) {
    ++l->foreign;
  }
  else {
    ip_id = efs_ip_id_get(frame);
    if( l->cfg.ping ) {
      if( ip_id == l->expect_id && !l->got ) {
        l->t_rx = efs_now_ns();
        l->got = 1;
      }
      else
        ++l->stale;
    }
    else {
      lat_answer(l, ip_id);
      if( (int) ip_id != l->last_id ) {
        if( l->distinct++ == 0 )
          l->first_rx_ns = efs_now_ns();
        l->last_id = ip_id;
      }
    }
  }
  if( !efs_buf_ok(&l->pool, (int) id) )
    ++l->cnt.bad_hdr;
  efs_try(efs_rx_post(&l->pool, &l->v, (int) id), "ef_vi_receive_init");
}

static void lat_on_tx(struct lat* l, const ef_event* ev)
{
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int i, n = ef_vi_transmit_unbundle(&l->v.vi, ev, ids);
  for( i = 0; i < n; ++i )
    lat_tx_put(l, ids[i]);
}

/* lat_poll: poll the event queue once and handle every event. */
static int lat_poll(struct lat* l)
{
  ef_event evs[LAT_N_EVS];
  int i, n_rx = 0;
  int n = ef_eventq_poll(&l->v.vi, evs, LAT_N_EVS);

  for( i = 0; i < n; ++i ) {
    switch( EF_EVENT_TYPE(evs[i]) ) {
    case EF_EVENT_TYPE_RX:
      lat_on_rx(l, &evs[i]);
      ++n_rx;
      break;
    case EF_EVENT_TYPE_TX:
      lat_on_tx(l, &evs[i]);
      break;
    case EF_EVENT_TYPE_RX_DISCARD:
      efs_count_discard(&l->cnt, &evs[i]);
      if( efs_valid_id(&l->pool, EF_EVENT_RX_DISCARD_RQ_ID(evs[i])) ) {
        efs_try(efs_rx_post(&l->pool, &l->v,
                            (int) EF_EVENT_RX_DISCARD_RQ_ID(evs[i])),
                "ef_vi_receive_init");
        ++n_rx;
      }
      else
        ++l->cnt.bad_id;
      break;
    case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
      ++l->cnt.no_desc;
      break;
    case EF_EVENT_TYPE_TX_ERROR:
      ++l->cnt.tx_errors;
      lat_on_tx(l, &evs[i]);
      break;
    case EF_EVENT_TYPE_OFLOW:
      ++l->cnt.oflow;
      break;
    case EF_EVENT_TYPE_RESET:
      efs_die("interface %s was reset", l->v.ifname);
    default:
      ++l->cnt.other;
      break;
    }
  }
  if( n_rx )
    ef_vi_receive_push(&l->v.vi);
  return n;
}

/* lat_check: called every LAT_SPINS_PER_CHECK polls; exits on a signal
 * or when the deadline has passed. */
static uint64_t lat_check(struct lat* l, const char* waiting_for)
{
  uint64_t now = efs_now_ns();
  if( efs_stop )
    efs_die("interrupted while waiting for %s", waiting_for);
  if( now >= l->deadline )
    efs_die("timeout (%g s, -t) while waiting for %s", l->cfg.timeout,
            waiting_for);
  return now;
}

/**********************************************************************
 * Ping
 **********************************************************************/

/* ping_send: send ip id, waiting for a free TX buffer. Returns send time. */
static uint64_t ping_send(struct lat* l, uint16_t ip_id)
{
  unsigned spins = 0;
  uint64_t t;
  l->expect_id = ip_id;
  l->got = 0;
  while( (t = lat_send_id(l, ip_id)) == 0 ) {
    lat_poll(l);
    if( ++spins % LAT_SPINS_PER_CHECK == 0 )
      lat_check(l, "a TX completion");
  }
  return t;
}

/* ping_sync: frame 0, resent every 10 ms until the pong answers. */
static void ping_sync(struct lat* l)
{
  uint64_t t_last = ping_send(l, 0);
  unsigned spins = 0;
  while( !l->got ) {
    lat_poll(l);
    if( ++spins % LAT_SPINS_PER_CHECK == 0 && !l->got ) {
      uint64_t now = lat_check(l, "the pong side to answer");
      if( now - t_last >= LAT_SYNC_RESEND_NS )
        t_last = ping_send(l, 0);
    }
  }
}

/* ping_round_trip: one measured (or warm-up) exchange; returns the RTT. */
static uint64_t ping_round_trip(struct lat* l, uint64_t k)
{
  uint64_t t0 = ping_send(l, (uint16_t) (k & 0xffff));
  unsigned spins = 0;
  while( !l->got ) {
    lat_poll(l);
    if( ++spins % LAT_SPINS_PER_CHECK == 0 && !l->got )
      lat_check(l, "an answer");
  }
  return l->t_rx - t0;
}

static void ping_run(struct lat* l, uint64_t* rtt)
{
  uint64_t total = l->cfg.warmups + l->cfg.iterations;
  uint64_t k;
  ping_sync(l);
  for( k = 1; k <= total; ++k ) {
    uint64_t t = ping_round_trip(l, k);
    if( k > l->cfg.warmups )
      rtt[k - 1 - l->cfg.warmups] = t;
  }
}

/**********************************************************************
 * Pong
 **********************************************************************/

static void pong_run(struct lat* l)
{
  uint64_t total = l->cfg.warmups + l->cfg.iterations + 1;
  unsigned spins = 0;
  int started = 0;
  while( l->distinct < total ) {
    lat_poll(l);
    lat_flush_pending(l);
    if( ++spins % LAT_SPINS_PER_CHECK != 0 )
      continue;
    if( !started && l->distinct > 0 ) {
      /* The whole-run limit counts from the first frame. */
      started = 1;
      if( l->deadline != UINT64_MAX )
        l->deadline = l->first_rx_ns + (uint64_t) (l->cfg.timeout * 1e9);
    }
    lat_check(l, started ? "the remaining frames" : "the first frame");
  }
}

/* lat_drain: wait (bounded) until every transmit has completed. */
static void lat_drain(struct lat* l)
{
  uint64_t end = efs_now_ns() + LAT_DRAIN_NS;
  while( (l->n_tx_free < LAT_N_TX || l->pend_head != l->pend_tail) &&
         efs_now_ns() < end && !efs_stop ) {
    lat_poll(l);
    lat_flush_pending(l);
  }
  if( l->n_tx_free < LAT_N_TX )
    efs_err("warning: %d transmits did not complete within 1 s",
            LAT_N_TX - l->n_tx_free);
}

/**********************************************************************
 * Results
 **********************************************************************/

struct lat_stats {
  double mean, min, median, p95, p99, p999, max;  /* microseconds */
};

static int cmp_u64(const void* a, const void* b)
{
  uint64_t x = *(const uint64_t*) a;
  uint64_t y = *(const uint64_t*) b;
  return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted[0..n) in microseconds */
static double pct_us(const uint64_t* sorted, size_t n, double p)
{
  size_t rank = (size_t) ceil(p * (double) n);
  if( rank < 1 )
    rank = 1;
  if( rank > n )
    rank = n;
  return (double) sorted[rank - 1] / 1000.0;
}

/* lat_stats: sorts rtt in place. */
static void lat_stats(uint64_t* rtt, size_t n, struct lat_stats* s)
{
  double sum = 0;
  size_t i;
  for( i = 0; i < n; ++i )
    sum += (double) rtt[i];
  qsort(rtt, n, sizeof(rtt[0]), cmp_u64);
  s->mean = sum / (double) n / 1000.0;
  s->min = (double) rtt[0] / 1000.0;
  s->median = pct_us(rtt, n, 0.5);
  s->p95 = pct_us(rtt, n, 0.95);
  s->p99 = pct_us(rtt, n, 0.99);
  s->p999 = pct_us(rtt, n, 0.999);
  s->max = (double) rtt[n - 1] / 1000.0;
}

static void write_raw(const char* path, const uint64_t* rtt, size_t n)
{
  FILE* f = fopen(path, "w");
  size_t i;
  if( f == NULL )
    efs_die("cannot open %s: %s", path, strerror(errno));
  for( i = 0; i < n; ++i )
    fprintf(f, "%" PRIu64 "\n", rtt[i]);
  if( fclose(f) != 0 )
    efs_die("cannot write %s: %s", path, strerror(errno));
}

static void write_yaml(const char* path, const struct lat* l,
                       const struct lat_stats* s)
{
  char lip[INET_ADDRSTRLEN], rip[INET_ADDRSTRLEN], mac[18];
  FILE* f = fopen(path, "w");
  if( f == NULL )
    efs_die("cannot open %s: %s", path, strerror(errno));
  fprintf(f, "eflatency:\n");
  fprintf(f, "  ef_vi_version_str: \"%s\"\n", ef_vi_version_str());
  fprintf(f, "  interface: \"%s\"\n", l->cfg.ifname);
  fprintf(f, "  local_ip: \"%s\"\n", efs_fmt_ip4(l->cfg.laddr_be, lip));
  fprintf(f, "  remote_ip: \"%s\"\n", efs_fmt_ip4(l->cfg.raddr_be, rip));
  fprintf(f, "  remote_mac: \"%s\"\n", efs_fmt_mac(l->cfg.rmac, mac));
  fprintf(f, "  udp_port: %u\n", ntohs(l->cfg.port_be));
  fprintf(f, "  udp_payload_len: %" PRIu64 "\n", l->cfg.paylen);
  fprintf(f, "  frame_len: %zu\n", l->frame_len);
  fprintf(f, "  iterations: %" PRIu64 "\n", l->cfg.iterations);
  fprintf(f, "  warmups: %" PRIu64 "\n", l->cfg.warmups);
  fprintf(f, "  round_trip_us:\n");
  fprintf(f, "    mean: %.3f\n", s->mean);
  fprintf(f, "    min: %.3f\n", s->min);
  fprintf(f, "    median: %.3f\n", s->median);
  fprintf(f, "    p95: %.3f\n", s->p95);
  fprintf(f, "    p99: %.3f\n", s->p99);
  fprintf(f, "    p99_9: %.3f\n", s->p999);
  fprintf(f, "    max: %.3f\n", s->max);
  fprintf(f, "  stale_answers: %" PRIu64 "\n", l->stale);
  if( fclose(f) != 0 )
    efs_die("cannot write %s: %s", path, strerror(errno));
}

static void ping_report(struct lat* l, uint64_t* rtt)
{
  size_t n = (size_t) l->cfg.iterations;
  struct lat_stats s;
  if( l->cfg.raw_path != NULL )
    write_raw(l->cfg.raw_path, rtt, n);
  lat_stats(rtt, n, &s);
  printf("#\tpaylen\tmean\tmin\tmedian\t95%%ile\t99%%ile\t99.9%%ile\tmax\n");
  printf("%" PRIu64 "\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n",
         l->cfg.paylen, s.mean, s.min, s.median, s.p95, s.p99, s.p999,
         s.max);
  fflush(stdout);
  if( l->cfg.yaml_path != NULL )
    write_yaml(l->cfg.yaml_path, l, &s);
}

/* lat_report_anomalies: anything unusual goes to stderr, so that stdout
 * keeps the exact format. */
static void lat_report_anomalies(const struct lat* l)
{
  efs_print_anomalies(stderr, &l->cnt);
  if( l->foreign )
    fprintf(stderr, "# frames that were not UDP/IPv4: %" PRIu64 "\n",
            l->foreign);
  if( l->dropped_answers )
    fprintf(stderr, "# answers dropped (no TX buffer): %" PRIu64 "\n",
            l->dropped_answers);
}

int main(int argc, char** argv)
{
  struct lat* l = &lat;
  uint64_t* rtt = NULL;

  efs_set_prog(argv[0]);
  parse_args(&l->cfg, argc, argv);
  efs_install_signals();
  if( !l->cfg.ping && (l->cfg.raw_path || l->cfg.yaml_path) )
    efs_err("note: -o and -y are used by the ping side only");
  if( l->cfg.ping ) {
    rtt = calloc((size_t) l->cfg.iterations, sizeof(*rtt));
    if( rtt == NULL )
      efs_die("out of memory for %" PRIu64 " results", l->cfg.iterations);
  }

  lat_setup(l);
  lat_print_header(l);
  l->deadline = efs_deadline(l->cfg.timeout);
  if( l->cfg.ping ) {
    ping_run(l, rtt);
    lat_drain(l);
    ping_report(l, rtt);
  }
  else {
    pong_run(l);
    lat_drain(l);
  }
  lat_report_anomalies(l);
  free(rtt);
  efs_cleanup();
  return 0;
}
