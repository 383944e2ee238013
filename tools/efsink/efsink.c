/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * efsink: receive the traffic that matches one or more filters on one VI,
 * count it and print packet and bit rates once a second, optionally dumping
 * each frame in hex or writing it to a pcap file. The anyload version of the
 * classic ef_vi sample.
 *
 * RX path: every buffer of the pool is posted at start; each poll takes up
 * to SINK_N_EVS events; an RX event's frame is counted (and dumped or
 * written) and its buffer re-queued with ef_vi_receive_init; one
 * ef_vi_receive_push per batch hands the buffers back. RX_DISCARD events
 * re-post their buffer too. When idle the loop blocks in ef_eventq_wait for
 * at most 100 ms (unless -b), so the once-a-second report, -t and signals
 * are always honoured.
 */
#include "ef_sample_util.h"

#include <getopt.h>
#include <sys/time.h>

#define SINK_N_EVS        32
#define SINK_MAX_SPECS    32
#define SINK_DUMP_BYTES   64
#define SINK_IDLE_SPINS   1024   /* empty polls before blocking */
#define SINK_WAIT_US      100000

struct sink_cfg {
  const char*  ifname;
  const char*  specs[SINK_MAX_SPECS];
  int          n_specs;
  uint64_t     max_pkts;   /* 0: no limit */
  double       timeout;    /* 0: no limit */
  int          quiet;
  int          dump;
  int          busy;
  const char*  pcap_path;
};

struct sink {
  struct sink_cfg cfg;
  struct efs_vi   v;
  struct efs_pool pool;
  FILE*           pcap;
  uint64_t        pkts;
  uint64_t        bytes;
  uint64_t        ignored;   /* frames after -n was reached */
  int             warned_cont;
  struct timespec batch_ts;  /* wall-clock time of the current batch */
  struct efs_rx_counts cnt;
};

/* Static: the atexit clean-up may run after main has returned. */
static struct sink sink;

static void usage(FILE* f)
{
  fprintf(f,
    "usage: efsink [options] <interface> <filter-spec>...\n"
    "\n"
    "Receive the frames matching the filters and print rates each second.\n"
    "\n"
    "options:\n"
    "  -n N      stop after N packets\n"
    "  -t SECS   stop after this time\n"
    "  -q        quiet: print only the final summary\n"
    "  -d        dump the first %d bytes of each packet in hex\n"
    "  -w FILE   write the received frames to a pcap file\n"
    "  -b        busy-poll only (never block in ef_eventq_wait)\n"
    "  -h        this help\n"
    EFS_ENV_HELP
    "\n"
    "filter specs:\n"
    EFS_FILTER_SPEC_HELP
    "\n"
    "example: efsink eth0 udp:198.18.0.2:9000 multicast-all\n",
    SINK_DUMP_BYTES);
}

static void __attribute__((noreturn)) bad_usage(const char* fmt,
                                                const char* arg)
{
  fprintf(stderr, "efsink: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  usage(stderr);
  exit(2);
}

static void parse_args(struct sink_cfg* c, int argc, char** argv)
{
  ef_filter_spec fs;
  const char* why;
  int opt, i;

  while( (opt = getopt(argc, argv, "n:t:qdw:bh")) != -1 ) {
    switch( opt ) {
    case 'n':
      if( efs_parse_u64(optarg, 10, UINT64_MAX, &c->max_pkts) < 0 ||
          c->max_pkts == 0 )
        bad_usage("bad packet count '%s'", optarg);
      break;
    case 't':
      if( efs_parse_seconds(optarg, &c->timeout) < 0 )
        bad_usage("bad time '%s'", optarg);
      break;
    case 'q':
      c->quiet = 1;
      break;
    case 'd':
      c->dump = 1;
      break;
    case 'w':
      c->pcap_path = optarg;
      break;
    case 'b':
      c->busy = 1;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    default:
      usage(stderr);
      exit(2);
    }
  }
  if( argc - optind < 2 )
    bad_usage("expected an interface and at least one filter spec%s", "");
  c->ifname = argv[optind++];
  for( i = optind; i < argc; ++i ) {
    if( c->n_specs == SINK_MAX_SPECS )
      bad_usage("too many filter specs (at most 32)%s", "");
    /* Check the syntax now, before any resource is allocated. */
    if( efs_filter_parse(&fs, argv[i], &why) < 0 ) {
      fprintf(stderr, "efsink: bad filter spec '%s': %s\n", argv[i], why);
      usage(stderr);
      exit(2);
    }
    c->specs[c->n_specs++] = argv[i];
  }
}

/* sink_join_groups: join the multicast groups named by udp:/tcp: specs,
 * so that the interface accepts their frames. Failure is only a warning:
 * the frames may still arrive (promiscuous interface, veth). */
static void sink_join_groups(struct sink* s)
{
  char ip[INET_ADDRSTRLEN];
  uint32_t group;
  int i, rc;
  for( i = 0; i < s->cfg.n_specs; ++i ) {
    if( !efs_filter_mcast_group(s->cfg.specs[i], &group) )
      continue;
    rc = efs_mcast_join(s->cfg.ifname, group);
    if( rc < 0 )
      efs_err("warning: cannot join %s on %s: %s", efs_fmt_ip4(group, ip),
              s->cfg.ifname, strerror(-rc));
  }
}

static void sink_setup(struct sink* s)
{
  int i, n_rx;
  /* The file first: a bad path fails before any VI exists. */
  if( s->cfg.pcap_path != NULL ) {
    s->pcap = efs_pcap_open(s->cfg.pcap_path);
    if( s->pcap == NULL )
      efs_die("cannot create %s: %s", s->cfg.pcap_path, strerror(errno));
  }
  efs_vi_open(&s->v, s->cfg.ifname, EF_VI_FLAGS_DEFAULT);
  efs_vi_fix_rx_buffer_len(&s->v);
  n_rx = ef_vi_receive_capacity(&s->v.vi);
  if( n_rx <= 0 )
    efs_die("RX ring of %s has no room (capacity %d)", s->cfg.ifname, n_rx);
  efs_pool_init(&s->pool, n_rx);
  efs_pool_register(&s->pool, &s->v);
  if( efs_rx_fill(&s->pool, &s->v, n_rx) == 0 )
    efs_die("could not post any RX buffer on %s", s->cfg.ifname);
  for( i = 0; i < s->cfg.n_specs; ++i )
    efs_filter_add_str(&s->v, s->cfg.specs[i]);
  sink_join_groups(s);
}

static void sink_print_header(const struct sink* s)
{
  int i;
  efs_print_version(stdout);
  printf("# interface: %s\n", s->cfg.ifname);
  efs_print_backend(stdout, "", &s->v.vi);
  for( i = 0; i < s->cfg.n_specs; ++i )
    printf("# filter: %s\n", s->cfg.specs[i]);
  fflush(stdout);
}

/* sink_on_frame: count, dump and capture one received frame. */
static void sink_on_frame(struct sink* s, int id, const uint8_t* frame,
                          int len)
{
  ++s->pkts;
  s->bytes += (uint64_t) len;
  if( s->cfg.dump ) {
    printf("rx: id=%d len=%d\n", id, len);
    efs_hexdump(stdout, frame, len < SINK_DUMP_BYTES ? (size_t) len
                                                     : SINK_DUMP_BYTES);
  }
  if( s->pcap != NULL &&
      efs_pcap_write(s->pcap, &s->batch_ts, frame, (uint32_t) len) < 0 )
    efs_die("writing %s: %s", s->cfg.pcap_path, strerror(errno));
}

static void sink_on_rx(struct sink* s, const ef_event* ev)
{
  unsigned id = EF_EVENT_RX_RQ_ID(*ev);
  int len = (int) EF_EVENT_RX_BYTES(*ev) - s->v.prefix_len;

  if( !efs_valid_id(&s->pool, id) ) {
    ++s->cnt.bad_id;
    return;
  }
  if( EF_EVENT_RX_CONT(*ev) && !s->warned_cont ) {
    efs_err("warning: frames span several buffers; each buffer is "
            "counted as a packet");
    s->warned_cont = 1;
  }
  if( !efs_buf_ok(&s->pool, (int) id) )
    ++s->cnt.bad_hdr;
  if( len < 0 || len > efs_vi_rx_room(&s->v) ) {
    ++s->cnt.other;
  }
  else if( s->cfg.max_pkts && s->pkts >= s->cfg.max_pkts )
    ++s->ignored;
  else
    sink_on_frame(s, (int) id, efs_buf_data(&s->pool, (int) id) +
                                 s->v.prefix_len, len);
  efs_try(efs_rx_post(&s->pool, &s->v, (int) id), "ef_vi_receive_init");
}

static void sink_on_discard(struct sink* s, const ef_event* ev)
{
  unsigned id = EF_EVENT_RX_DISCARD_RQ_ID(*ev);
  efs_count_discard(&s->cnt, ev);
  if( !efs_valid_id(&s->pool, id) ) {
    ++s->cnt.bad_id;
    return;
  }
  efs_try(efs_rx_post(&s->pool, &s->v, (int) id), "ef_vi_receive_init");
}

/* sink_poll: one batch of events. Returns the number of events. */
static int sink_poll(struct sink* s)
{
  ef_event evs[SINK_N_EVS];
  int i, n_post = 0;
  int n = ef_eventq_poll(&s->v.vi, evs, SINK_N_EVS);

  if( n > 0 && s->pcap != NULL )
    clock_gettime(CLOCK_REALTIME, &s->batch_ts);
  for( i = 0; i < n; ++i ) {
    switch( EF_EVENT_TYPE(evs[i]) ) {
    case EF_EVENT_TYPE_RX:
      sink_on_rx(s, &evs[i]);
      ++n_post;
      break;
    case EF_EVENT_TYPE_RX_DISCARD:
      sink_on_discard(s, &evs[i]);
      ++n_post;
      break;
    case EF_EVENT_TYPE_RX_NO_DESC_TRUNC:
      ++s->cnt.no_desc;
      break;
    case EF_EVENT_TYPE_OFLOW:
      ++s->cnt.oflow;
      break;
    case EF_EVENT_TYPE_RESET:
      efs_die("interface %s was reset", s->cfg.ifname);
    default:
      ++s->cnt.other;
      break;
    }
  }
  if( n_post )
    ef_vi_receive_push(&s->v.vi);
  return n;
}

/* sink_wait: block until an event or 100 ms. Falls back to busy polling
 * if the library can't wait. */
static void sink_wait(struct sink* s)
{
  struct timeval tv = { .tv_sec = 0, .tv_usec = SINK_WAIT_US };
  int rc = ef_eventq_wait(&s->v.vi, s->v.dh, ef_eventq_current(&s->v.vi),
                          &tv);
  if( rc < 0 && rc != -ETIMEDOUT && rc != -EINTR && rc != -EAGAIN ) {
    efs_err("warning: ef_eventq_wait: %s; busy-polling instead",
            strerror(-rc));
    s->cfg.busy = 1;
  }
}

static void sink_report(struct sink* s, struct efs_rate* r, uint64_t now)
{
  double pps, bps;
  efs_rate_take(r, now, s->pkts, s->bytes, &pps, &bps);
  printf("pkt-rate=%.0f bps=%.0f rx=%" PRIu64 " bytes=%" PRIu64
         " discards=%" PRIu64 " no-desc=%" PRIu64 "\n", pps, bps, s->pkts,
         s->bytes, s->cnt.discards, s->cnt.no_desc);
  fflush(stdout);
}

static void sink_run(struct sink* s)
{
  uint64_t end = efs_deadline(s->cfg.timeout);
  uint64_t now = efs_now_ns();
  unsigned idle = 0;
  struct efs_rate rate;

  efs_rate_init(&rate, now);
  while( !efs_stop ) {
    if( sink_poll(s) > 0 )
      idle = 0;
    else if( ++idle % 64 != 0 )
      continue;  /* read the clock only now and then when idle */
    if( s->cfg.max_pkts && s->pkts >= s->cfg.max_pkts )
      break;
    now = efs_now_ns();
    if( now >= end )
      break;
    if( !s->cfg.quiet && efs_rate_due(&rate, now) )
      sink_report(s, &rate, now);
    if( idle >= SINK_IDLE_SPINS && !s->cfg.busy )
      sink_wait(s);
  }
}

int main(int argc, char** argv)
{
  struct sink* s = &sink;
  int rc = 0;

  efs_set_prog(argv[0]);
  parse_args(&s->cfg, argc, argv);
  efs_install_signals();
  sink_setup(s);
  if( !s->cfg.quiet )
    sink_print_header(s);
  sink_run(s);

  if( s->pcap != NULL && fclose(s->pcap) != 0 ) {
    efs_err("writing %s: %s", s->cfg.pcap_path, strerror(errno));
    rc = 1;
  }
  s->pcap = NULL;
  if( !s->cfg.quiet )
    efs_print_vi_stats(stdout, &s->v);
  printf("received %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64
         " discards, %" PRIu64 " no-desc\n", s->pkts, s->bytes,
         s->cnt.discards, s->cnt.no_desc);
  fflush(stdout);
  efs_print_anomalies(stderr, &s->cnt);
  efs_cleanup();
  return rc;
}
