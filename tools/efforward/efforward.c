/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * efforward: forward every frame received on one interface out of another
 * (or the same) interface, without copying, the anyload version of the
 * classic ef_vi sample.
 *
 * One page-aligned pool is registered with the PD of each interface (the
 * same memory may be registered with several PDs; each registration gives
 * its own DMA addresses). Path of a buffer: posted on the RX VI; its RX
 * event hands the frame to ef_vi_transmit_init on the TX VI at the same
 * buffer's DMA address in the TX PD; one ef_vi_transmit_push per batch;
 * when the TX completion is unbundled the buffer is re-posted on the RX VI.
 * When both interfaces are the same one VI does both. A frame that cannot
 * be sent (ring full, too long for the TX interface, spanning several
 * buffers) is dropped and its buffer re-posted at once.
 */
#include "ef_sample_util.h"

#include <getopt.h>
#include <sys/time.h>

#define FWD_N_EVS       32
#define FWD_MAX_SPECS   32
#define FWD_IDLE_SPINS  1024
#define FWD_WAIT_US     100000
#define FWD_DRAIN_NS    EFS_NS_PER_SEC

struct fwd_cfg {
  const char* rx_ifname;
  const char* tx_ifname;
  const char* specs[FWD_MAX_SPECS];
  int         n_specs;
  uint64_t    max_frames;   /* 0: no limit */
  double      timeout;      /* 0: no limit */
  int         quiet;
};

struct fwd {
  struct fwd_cfg  cfg;
  struct efs_vi   rx;
  struct efs_vi   tx_own;
  struct efs_vi*  tx;        /* &rx when both interfaces are the same */
  struct efs_pool pool;
  uint64_t        frames;    /* handed to the TX VI */
  uint64_t        bytes;
  uint64_t        completed;
  uint64_t        drops;
  uint64_t        ignored;   /* frames after -n was reached */
  int             rx_unpushed;
  int             tx_unpushed;
  struct efs_rx_counts cnt;
};

/* Static: the atexit clean-up may run after main has returned. */
static struct fwd fwd;

static void usage(FILE* f)
{
  fprintf(f,
    "usage: efforward [options] <rx-interface> <tx-interface>\n"
    "\n"
    "Forward every frame received on rx-interface out of tx-interface.\n"
    "\n"
    "options:\n"
    "  -f SPEC   filter on the RX interface (repeatable; default\n"
    "            unicast-all and multicast-all)\n"
    "  -n N      stop after N frames\n"
    "  -t SECS   stop after this time\n"
    "  -q        quiet: print only the final line\n"
    "  -h        this help\n"
    EFS_ENV_HELP
    "\n"
    "filter specs:\n"
    EFS_FILTER_SPEC_HELP
    "\n"
    "example: efforward -f udp:198.18.0.2:9000 eth0 eth1\n");
}

static void __attribute__((noreturn)) bad_usage(const char* fmt,
                                                const char* arg)
{
  fprintf(stderr, "efforward: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  usage(stderr);
  exit(2);
}

static void parse_args(struct fwd_cfg* c, int argc, char** argv)
{
  ef_filter_spec fs;
  const char* why;
  int opt;
  while( (opt = getopt(argc, argv, "f:n:t:qh")) != -1 ) {
    switch( opt ) {
    case 'f':
      if( c->n_specs == FWD_MAX_SPECS )
        bad_usage("too many filter specs (at most 32)%s", "");
      if( efs_filter_parse(&fs, optarg, &why) < 0 ) {
        fprintf(stderr, "efforward: bad filter spec '%s': %s\n", optarg,
                why);
        usage(stderr);
        exit(2);
      }
      c->specs[c->n_specs++] = optarg;
      break;
    case 'n':
      if( efs_parse_u64(optarg, 10, UINT64_MAX, &c->max_frames) < 0 ||
          c->max_frames == 0 )
        bad_usage("bad frame count '%s'", optarg);
      break;
    case 't':
      if( efs_parse_seconds(optarg, &c->timeout) < 0 )
        bad_usage("bad time '%s'", optarg);
      break;
    case 'q':
      c->quiet = 1;
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
    bad_usage("expected <rx-interface> <tx-interface>%s", "");
  c->rx_ifname = argv[optind];
  c->tx_ifname = argv[optind + 1];
  if( c->n_specs == 0 ) {
    c->specs[c->n_specs++] = "unicast-all";
    c->specs[c->n_specs++] = "multicast-all";
  }
}

static void fwd_setup(struct fwd* f)
{
  int i, n_bufs, tx_cap;
  efs_vi_open(&f->rx, f->cfg.rx_ifname, EF_VI_FLAGS_DEFAULT);
  efs_vi_fix_rx_buffer_len(&f->rx);
  if( strcmp(f->cfg.rx_ifname, f->cfg.tx_ifname) == 0 ) {
    f->tx = &f->rx;
  }
  else {
    efs_vi_open(&f->tx_own, f->cfg.tx_ifname, EF_VI_FLAGS_DEFAULT);
    f->tx = &f->tx_own;
  }
  /* Every buffer is either posted for RX or queued for TX, so no more
   * than the smaller ring holds: the TX ring can then never be full. */
  n_bufs = ef_vi_receive_capacity(&f->rx.vi);
  tx_cap = ef_vi_transmit_capacity(&f->tx->vi);
  if( tx_cap < n_bufs )
    n_bufs = tx_cap;
  if( n_bufs <= 0 )
    efs_die("rings too small (RX %d, TX %d)",
            ef_vi_receive_capacity(&f->rx.vi), tx_cap);
  efs_pool_init(&f->pool, n_bufs);
  efs_pool_register(&f->pool, &f->rx);
  efs_pool_register(&f->pool, f->tx);
  if( efs_rx_fill(&f->pool, &f->rx, n_bufs) == 0 )
    efs_die("could not post any RX buffer on %s", f->cfg.rx_ifname);
  for( i = 0; i < f->cfg.n_specs; ++i )
    efs_filter_add_str(&f->rx, f->cfg.specs[i]);
}

static void fwd_print_header(const struct fwd* f)
{
  int i;
  efs_print_version(stdout);
  printf("# rx interface: %s\n", f->cfg.rx_ifname);
  printf("# tx interface: %s\n", f->cfg.tx_ifname);
  efs_print_backend(stdout, "rx ", &f->rx.vi);
  efs_print_backend(stdout, "tx ", &f->tx->vi);
  for( i = 0; i < f->cfg.n_specs; ++i )
    printf("# filter: %s\n", f->cfg.specs[i]);
  fflush(stdout);
}

/* fwd_repost: give buffer id back to the RX ring (pushed per batch). */
static void fwd_repost(struct fwd* f, int id)
{
  efs_try(efs_rx_post(&f->pool, &f->rx, id), "ef_vi_receive_init");
  ++f->rx_unpushed;
}

/* fwd_on_rx: queue the frame for transmit, or drop it. */
static void fwd_on_rx(struct fwd* f, const ef_event* ev)
{
  unsigned id = EF_EVENT_RX_RQ_ID(*ev);
  int len = (int) EF_EVENT_RX_BYTES(*ev) - f->rx.prefix_len;
  ef_addr dma;
  int rc;

  if( !efs_valid_id(&f->pool, id) ) {
    ++f->cnt.bad_id;
    return;
  }
  if( !efs_buf_ok(&f->pool, (int) id) )
    ++f->cnt.bad_hdr;
  if( f->cfg.max_frames && f->frames >= f->cfg.max_frames ) {
    ++f->ignored;
    fwd_repost(f, (int) id);
    return;
  }
  if( len <= 0 || len > efs_vi_rx_room(&f->rx) || EF_EVENT_RX_CONT(*ev) ) {
    ++f->drops;
    fwd_repost(f, (int) id);
    return;
  }
  dma = efs_buf_dma(&f->pool, f->tx, (int) id) + (ef_addr) f->rx.prefix_len;
  rc = ef_vi_transmit_init(&f->tx->vi, dma, len, (ef_request_id) id);
  if( rc < 0 ) {
    if( rc != -EAGAIN && rc != -EINVAL )
      efs_try(rc, "ef_vi_transmit_init");
    ++f->drops;
    fwd_repost(f, (int) id);
    return;
  }
  ++f->tx_unpushed;
  ++f->frames;
  f->bytes += (uint64_t) len;
}

/* fwd_on_tx: completed transmits give their buffers back to RX. */
static void fwd_on_tx(struct fwd* f, const ef_event* ev)
{
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  int i, n = ef_vi_transmit_unbundle(&f->tx->vi, ev, ids);
  for( i = 0; i < n; ++i ) {
    if( !efs_valid_id(&f->pool, (unsigned) ids[i]) ) {
      ++f->cnt.bad_id;
      continue;
    }
    ++f->completed;
    fwd_repost(f, ids[i]);
  }
}

static void fwd_on_discard(struct fwd* f, const ef_event* ev)
{
  unsigned id = EF_EVENT_RX_DISCARD_RQ_ID(*ev);
  efs_count_discard(&f->cnt, ev);
  if( efs_valid_id(&f->pool, id) )
    fwd_repost(f, (int) id);
  else
    ++f->cnt.bad_id;
}

/* fwd_poll: one batch of events of a VI (RX, TX or both). Returns the
 * number of events. */
static int fwd_poll(struct fwd* f, struct efs_vi* v)
{
  ef_event evs[FWD_N_EVS];
  int i;
  int n = ef_eventq_poll(&v->vi, evs, FWD_N_EVS);
  for( i = 0; i < n; ++i ) {
    switch( EF_EVENT_TYPE(evs[i]) ) {
    case EF_EVENT_TYPE_RX:
      fwd_on_rx(f, &evs[i]);
      break;
    case EF_EVENT_TYPE_TX:
      fwd_on_tx(f, &evs[i]);
      break;
    case EF_EVENT_TYPE_TX_ERROR:
      ++f->cnt.tx_errors;
      fwd_on_tx(f, &evs[i]);
      break;
    case EF_EVENT_TYPE_RX_DISCARD:
      fwd_on_discard(f, &evs[i]);
      break;
    case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
      ++f->cnt.no_desc;
      break;
    case EF_EVENT_TYPE_OFLOW:
      ++f->cnt.oflow;
      break;
    case EF_EVENT_TYPE_RESET:
      efs_die("interface %s was reset", v->ifname);
    default:
      ++f->cnt.other;
      break;
    }
  }
  return n;
}

static void fwd_push(struct fwd* f)
{
  if( f->tx_unpushed ) {
    ef_vi_transmit_push(&f->tx->vi);
    f->tx_unpushed = 0;
  }
  if( f->rx_unpushed ) {
    ef_vi_receive_push(&f->rx.vi);
    f->rx_unpushed = 0;
  }
}

/* fwd_poll_all: poll the RX VI and (if separate) the TX VI once. */
static int fwd_poll_all(struct fwd* f)
{
  int n = fwd_poll(f, &f->rx);
  if( f->tx != &f->rx )
    n += fwd_poll(f, f->tx);
  fwd_push(f);
  return n;
}

static void fwd_report(struct fwd* f, struct efs_rate* r, uint64_t now)
{
  double pps, bps;
  efs_rate_take(r, now, f->frames, f->bytes, &pps, &bps);
  printf("fwd-rate=%.0f bps=%.0f forwarded=%" PRIu64 " drops=%" PRIu64
         " discards=%" PRIu64 " no-desc=%" PRIu64 "\n", pps, bps, f->frames,
         f->drops, f->cnt.discards, f->cnt.no_desc);
  fflush(stdout);
}

/* fwd_wait: block on the RX VI for at most 100 ms; only when nothing is
 * in flight on TX, whose completions come on another VI. */
static void fwd_wait(struct fwd* f)
{
  struct timeval tv = { .tv_sec = 0, .tv_usec = FWD_WAIT_US };
  int rc;
  if( f->completed != f->frames )
    return;
  rc = ef_eventq_wait(&f->rx.vi, f->rx.dh, ef_eventq_current(&f->rx.vi),
                      &tv);
  if( rc < 0 && rc != -ETIMEDOUT && rc != -EINTR && rc != -EAGAIN )
    efs_die("ef_eventq_wait(%s): %s", f->rx.ifname, strerror(-rc));
}

static void fwd_run(struct fwd* f)
{
  uint64_t end = efs_deadline(f->cfg.timeout);
  uint64_t now = efs_now_ns();
  unsigned idle = 0;
  struct efs_rate rate;

  efs_rate_init(&rate, now);
  while( !efs_stop ) {
    if( fwd_poll_all(f) > 0 )
      idle = 0;
    else if( ++idle % 64 != 0 )
      continue;
    if( f->cfg.max_frames && f->frames >= f->cfg.max_frames )
      break;
    now = efs_now_ns();
    if( now >= end )
      break;
    if( !f->cfg.quiet && efs_rate_due(&rate, now) )
      fwd_report(f, &rate, now);
    if( idle >= FWD_IDLE_SPINS )
      fwd_wait(f);
  }
}

/* fwd_drain: wait (bounded) for the completions of everything sent.
 * Returns how many did not complete. */
static uint64_t fwd_drain(struct fwd* f)
{
  uint64_t end = efs_now_ns() + FWD_DRAIN_NS;
  while( f->completed < f->frames && efs_now_ns() < end )
    fwd_poll_all(f);
  return f->frames - f->completed;
}

int main(int argc, char** argv)
{
  struct fwd* f = &fwd;
  uint64_t missing;
  int rc = 0;

  efs_set_prog(argv[0]);
  parse_args(&f->cfg, argc, argv);
  efs_install_signals();
  fwd_setup(f);
  if( !f->cfg.quiet )
    fwd_print_header(f);
  fwd_run(f);
  missing = fwd_drain(f);

  if( !f->cfg.quiet ) {
    efs_print_vi_stats(stdout, &f->rx);
    if( f->tx != &f->rx )
      efs_print_vi_stats(stdout, f->tx);
  }
  printf("forwarded %" PRIu64 " frames\n", f->frames);
  fflush(stdout);
  efs_print_anomalies(stderr, &f->cnt);
  if( f->drops )
    fprintf(stderr, "# dropped (could not transmit): %" PRIu64 "\n",
            f->drops);
  if( missing ) {
    efs_err("%" PRIu64 " transmits did not complete within 1 s", missing);
    rc = 1;
  }
  efs_cleanup();
  return rc;
}
