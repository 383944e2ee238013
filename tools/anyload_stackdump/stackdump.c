/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload_stackdump: show the state of running anyload stacks, read from
 * the files they publish (src/common/stack_shm.h), without stopping them
 * (Onload's onload_stackdump, for anyload).
 *
 *   anyload_stackdump [--json]                 one line per stack
 *   anyload_stackdump [--json] lots            every stack in detail
 *   anyload_stackdump [--json] STACK           one stack in detail
 *   anyload_stackdump [--json] [STACK] sockets|filters|settings|latency
 *   anyload_stackdump [--json] [STACK] counters [--nonzero]
 *   anyload_stackdump [STACK] watch [INTERVAL] [-n COUNT]   counter rates
 *   anyload_stackdump clean                    remove dead stacks' files
 *
 * STACK is a pid (its stacks) or pid.n (one stack). A stack whose process
 * is gone is refused with a message, and its file removed. Exit status:
 * 0, 1 when no (live) stack matches or a stack is dead, 2 for bad usage.
 */
#include "common/stack_shm.h"

#include <anyload/stack.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_STACKS 256

/* A consistent copy of one stack's published state. */
struct snap {
  struct anyload_shm_hdr h;
  uint64_t* stats;
  struct anyload_shm_sock* socks;
  struct anyload_shm_filter* filters;
  char* settings;
  struct anyload_shm_hist hist;
  uint64_t cap_frames, cap_drops;
  uint32_t cap_on;
};

struct dump_stack {
  struct stack_shm shm;
  int alive;
};

static int opt_json, opt_nonzero;
static long opt_count = -1;
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
  (void)sig;
  stop_flag = 1;
}

/* ---- reading ---------------------------------------------------------- */

static void copy_snap(const void* base, void* ctx)
{
  struct snap* s = ctx;
  const uint8_t* b = base;
  const struct anyload_shm_hdr* h = base;
  uint32_t ns, nf, sl;

  memcpy(&s->h, h, sizeof(s->h));
  ns = s->h.n_socks < s->h.max_socks ? s->h.n_socks : s->h.max_socks;
  nf = s->h.n_filters < s->h.max_filters ? s->h.n_filters
                                          : s->h.max_filters;
  sl = s->h.settings_len < s->h.settings_size ? s->h.settings_len
                                               : s->h.settings_size - 1;
  s->h.n_socks = ns;
  s->h.n_filters = nf;
  s->h.settings_len = sl;
  memcpy(s->stats, b + s->h.stats_off, s->h.n_stats * 8u);
  memcpy(s->socks, b + s->h.socks_off, (size_t)ns * sizeof(*s->socks));
  memcpy(s->filters, b + s->h.filters_off, (size_t)nf * sizeof(*s->filters));
  memcpy(s->settings, b + s->h.settings_off, sl);
  s->settings[sl] = 0;
}

static void snap_free(struct snap* s)
{
  free(s->stats);
  free(s->socks);
  free(s->filters);
  free(s->settings);
  memset(s, 0, sizeof(*s));
}

static int snap_take(const struct stack_shm* m, struct snap* s)
{
  const struct anyload_shm_hdr* h = stack_shm_hdr(m);
  const struct anyload_shm_cap* c;
  int rc;

  memset(s, 0, sizeof(*s));
  s->stats = calloc(h->n_stats + 1u, 8);
  s->socks = calloc(h->max_socks + 1u, sizeof(*s->socks));
  s->filters = calloc(h->max_filters + 1u, sizeof(*s->filters));
  s->settings = calloc(h->settings_size + 1u, 1);
  if (!s->stats || !s->socks || !s->filters || !s->settings) {
    snap_free(s);
    return -ENOMEM;
  }
  rc = stack_shm_read_consistent(m->base, copy_snap, s, 10000);
  if (rc < 0) {
    snap_free(s);
    return rc;
  }
  /* The histogram and the capture counters are not under the seqlock
   * (single writer, atomic words). */
  memcpy(&s->hist, (const uint8_t*)m->base + h->hist_off, sizeof(s->hist));
  c = (const void*)((const uint8_t*)m->base + h->cap_off);
  s->cap_frames = c->frames;
  s->cap_drops = c->drops;
  s->cap_on = c->on;
  return 0;
}

static const char* stat_name(const struct stack_shm* m, unsigned k)
{
  const struct anyload_shm_hdr* h = stack_shm_hdr(m);

  return (const char*)m->base + h->names_off + k * ANYLOAD_SHM_NAME_LEN;
}

static const char* sock_stat_name(const struct stack_shm* m, unsigned proto,
                                  unsigned k)
{
  const struct anyload_shm_hdr* h = stack_shm_hdr(m);
  unsigned first = h->n_stats + (proto == ANYLOAD_SHM_TCP ? h->n_udp_stats
                                                          : 0);

  return (const char*)m->base + h->names_off +
         (first + k) * ANYLOAD_SHM_NAME_LEN;
}

static uint64_t stat_by_name(const struct stack_shm* m, const struct snap* s,
                             const char* name)
{
  unsigned k;

  for (k = 0; k < s->h.n_stats; k++)
    if (strcmp(stat_name(m, k), name) == 0)
      return s->stats[k];
  return 0;
}

/* ---- finding stacks --------------------------------------------------- */

static int cmp_stacks(const void* a, const void* b)
{
  const struct dump_stack* x = a;
  const struct dump_stack* y = b;

  if (x->shm.pid != y->shm.pid)
    return x->shm.pid < y->shm.pid ? -1 : 1;
  return x->shm.stack_id < y->shm.stack_id ? -1 :
         x->shm.stack_id > y->shm.stack_id;
}

/* find_stacks: every stack file of the directory that matches sel (NULL:
 * all; "P": pid P; "P.N": one stack). Returns the number found. */
static int find_stacks(const char* sel, struct dump_stack* out, int max)
{
  const char* dir = stack_shm_dir();
  struct dirent* de;
  int n = 0, want_pid = -1, want_id = -1;
  DIR* d;

  if (sel && sscanf(sel, "%d.%d", &want_pid, &want_id) < 1)
    return 0;
  d = opendir(dir);
  if (!d)
    return 0;
  while ((de = readdir(d)) && n < max) {
    char path[700];
    int pid, id, used = 0;
    if (sscanf(de->d_name, "%d.%d%n", &pid, &id, &used) != 2 ||
        de->d_name[used] != 0)
      continue;
    if (want_pid >= 0 && pid != want_pid)
      continue;
    if (want_id >= 0 && id != want_id)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    if (stack_shm_open(path, &out[n].shm) < 0) {
      fprintf(stderr, "anyload_stackdump: %s: not a readable stack file "
              "(another version?)\n", path);
      continue;
    }
    out[n].alive = stack_shm_alive(&out[n].shm);
    n++;
  }
  closedir(d);
  qsort(out, (size_t)n, sizeof(*out), cmp_stacks);
  return n;
}

/* refuse_dead: the message for a dead stack, and its file removed. */
static void refuse_dead(struct dump_stack* d)
{
  fprintf(stderr, "anyload_stackdump: stack %u of pid %d is dead (not "
          "cleaned up)", d->shm.stack_id, d->shm.pid);
  if (unlink(d->shm.path) == 0)
    fprintf(stderr, "; removed %s\n", d->shm.path);
  else
    fprintf(stderr, "; cannot remove %s: %s\n", d->shm.path,
            strerror(errno));
}

/* ---- text and JSON helpers -------------------------------------------- */

static void json_str(const char* s)
{
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c == '\n')
      printf("\\n");
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static const char* addr_str(uint32_t a_be32, uint16_t p_be16, char* buf,
                            size_t len)
{
  char ip[INET_ADDRSTRLEN];
  struct in_addr in = { .s_addr = a_be32 };

  if (!a_be32 && !p_be16) {
    snprintf(buf, len, "*:*");
    return buf;
  }
  inet_ntop(AF_INET, &in, ip, sizeof(ip));
  if (p_be16)
    snprintf(buf, len, "%s:%u", a_be32 ? ip : "*", ntohs(p_be16));
  else
    snprintf(buf, len, "%s:*", a_be32 ? ip : "*");
  return buf;
}

static const char* tcp_state_name(unsigned s)
{
  static const char* const names[] = {
    "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
    "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
  };
  return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static const char* sock_state(const struct anyload_shm_sock* k)
{
  if (k->proto == ANYLOAD_SHM_TCP)
    return tcp_state_name(k->state);
  if (k->flags & ANYLOAD_SHM_SOCK_CONNECTED)
    return "CONNECTED";
  return k->lport_be16 ? "BOUND" : "UNBOUND";
}

static double age_s(const struct anyload_shm_hdr* h)
{
  struct timespec ts;
  int64_t now;

  clock_gettime(CLOCK_REALTIME, &ts);
  now = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
  return (double)(now - h->start_realtime_ns) / 1e9;
}

/* ---- sections ----------------------------------------------------------- */

/* sock_hist: the latency histogram of UDP socket o, or NULL. */
static const struct anyload_shm_hist*
sock_hist(const struct stack_shm* m, const struct anyload_shm_sock* o)
{
  const struct anyload_shm_hdr* h = stack_shm_hdr(m);
  const struct anyload_shm_hist* sh;

  if (o->proto != ANYLOAD_SHM_UDP || o->sd < 0 ||
      (uint32_t)o->sd >= h->n_sock_hist)
    return NULL;
  sh = (const void*)((const uint8_t*)m->base + h->sock_hist_off +
                     (size_t)o->sd * sizeof(*sh));
  if (sh->gen != o->gen || !sh->count)
    return NULL;
  return sh;
}

static void print_sockets(const struct stack_shm* m, const struct snap* s)
{
  unsigned k, j;
  char la[40], ra[40];

  if (opt_json) {
    printf("[");
    for (k = 0; k < s->h.n_socks; k++) {
      const struct anyload_shm_sock* o = &s->socks[k];
      printf("%s{\"sd\":%d,\"proto\":\"%s\",\"state\":\"%s\","
             "\"local\":\"%s\",\"remote\":\"%s\",\"rxq_count\":%u,"
             "\"rxq_bytes\":%u,\"rcvbuf\":%u,\"txq_bytes\":%u,"
             "\"sndbuf\":%u,\"memberships\":%u,\"error\":%d,\"counters\":{",
             k ? "," : "", o->sd, o->proto == ANYLOAD_SHM_TCP ? "tcp" : "udp",
             sock_state(o), addr_str(o->laddr_be32, o->lport_be16, la,
                                     sizeof(la)),
             addr_str(o->raddr_be32, o->rport_be16, ra, sizeof(ra)),
             o->rxq_count, o->rxq_bytes, o->rcvbuf, o->txq_bytes, o->sndbuf,
             o->n_mships, o->err);
      for (j = 0; j < o->n_stats && j < ANYLOAD_SHM_SOCK_STATS; j++) {
        printf("%s", j ? "," : "");
        json_str(sock_stat_name(m, o->proto, j));
        printf(":%llu", (unsigned long long)o->stats[j]);
      }
      printf("}");
      {
        const struct anyload_shm_hist* sh = sock_hist(m, o);
        if (sh)
          printf(",\"latency\":{\"count\":%llu,\"p50_ns\":%llu,"
                 "\"p99_ns\":%llu,\"max_ns\":%llu}",
                 (unsigned long long)sh->count,
                 (unsigned long long)anyload_hist_percentile(
                   sh->buckets, sh->count, 0.5, sh->max_ns),
                 (unsigned long long)anyload_hist_percentile(
                   sh->buckets, sh->count, 0.99, sh->max_ns),
                 (unsigned long long)sh->max_ns);
      }
      printf("}");
    }
    printf("]");
    return;
  }
  printf("  %-4s %-4s %-11s %-21s %-21s %6s %8s %8s %8s %8s\n", "sd",
         "prot", "state", "local", "remote", "rxq", "rxq_B", "rcvbuf",
         "txq_B", "sndbuf");
  for (k = 0; k < s->h.n_socks; k++) {
    const struct anyload_shm_sock* o = &s->socks[k];
    printf("  %-4d %-4s %-11s %-21s %-21s %6u %8u %8u %8u %8u\n", o->sd,
           o->proto == ANYLOAD_SHM_TCP ? "tcp" : "udp", sock_state(o),
           addr_str(o->laddr_be32, o->lport_be16, la, sizeof(la)),
           addr_str(o->raddr_be32, o->rport_be16, ra, sizeof(ra)),
           o->rxq_count, o->rxq_bytes, o->rcvbuf, o->txq_bytes, o->sndbuf);
    printf("       ");
    for (j = 0; j < o->n_stats && j < ANYLOAD_SHM_SOCK_STATS; j++)
      if (o->stats[j] || !opt_nonzero)
        printf(" %s=%llu", sock_stat_name(m, o->proto, j),
               (unsigned long long)o->stats[j]);
    if (o->err)
      printf(" pending_error=%s", strerror(o->err));
    {
      const struct anyload_shm_hist* sh = sock_hist(m, o);
      if (sh)
        printf(" latency: n=%llu p50=%.3fus p99=%.3fus",
               (unsigned long long)sh->count,
               (double)anyload_hist_percentile(sh->buckets, sh->count, 0.5,
                                               sh->max_ns) / 1e3,
               (double)anyload_hist_percentile(sh->buckets, sh->count, 0.99,
                                               sh->max_ns) / 1e3);
    }
    printf("\n");
  }
  if (!s->h.n_socks)
    printf("  (no sockets)\n");
}

static const char* filter_kind(const struct anyload_shm_filter* f)
{
  return f->kind == ANYLOAD_SHM_FILTER_PROTO ? "ip_proto" :
         f->kind == ANYLOAD_SHM_FILTER_FULL ? "ip4_full" : "ip4_local";
}

static void print_filters(const struct snap* s)
{
  unsigned k;
  char la[40], ra[40];

  if (opt_json) {
    printf("[");
    for (k = 0; k < s->h.n_filters; k++) {
      const struct anyload_shm_filter* f = &s->filters[k];
      printf("%s{\"kind\":\"%s\",\"proto\":%u,\"local\":\"%s\","
             "\"remote\":\"%s\",\"refs\":%u}", k ? "," : "",
             filter_kind(f), f->proto,
             addr_str(f->laddr_be32, f->lport_be16, la, sizeof(la)),
             addr_str(f->raddr_be32, f->rport_be16, ra, sizeof(ra)),
             f->refs);
    }
    printf("]");
    return;
  }
  for (k = 0; k < s->h.n_filters; k++) {
    const struct anyload_shm_filter* f = &s->filters[k];
    if (f->kind == ANYLOAD_SHM_FILTER_PROTO)
      printf("  ip_proto   %s (all of it)\n",
             f->proto == 17 ? "udp" : f->proto == 1 ? "icmp" :
             f->proto == 6 ? "tcp" : "?");
    else
      printf("  %-10s %-4s %-21s %-21s sockets=%u\n", filter_kind(f),
             f->proto == 17 ? "udp" : f->proto == 6 ? "tcp" : "?",
             addr_str(f->laddr_be32, f->lport_be16, la, sizeof(la)),
             f->kind == ANYLOAD_SHM_FILTER_FULL
               ? addr_str(f->raddr_be32, f->rport_be16, ra, sizeof(ra)) : "",
             f->refs);
  }
  if (!s->h.n_filters)
    printf("  (no filters)\n");
}

static void print_counters(const struct stack_shm* m, const struct snap* s)
{
  unsigned k, first = 1;

  if (opt_json) {
    printf("{");
    for (k = 0; k < s->h.n_stats; k++) {
      if (opt_nonzero && !s->stats[k])
        continue;
      printf("%s", first ? "" : ",");
      first = 0;
      json_str(stat_name(m, k));
      printf(":%llu", (unsigned long long)s->stats[k]);
    }
    printf("}");
    return;
  }
  for (k = 0; k < s->h.n_stats; k++) {
    const char* name = stat_name(m, k);
    int i = anyload_stack_stat_index(name);
    if (opt_nonzero && !s->stats[k])
      continue;
    printf("  %-28s %14llu  %s\n", name, (unsigned long long)s->stats[k],
           i >= 0 ? anyload_stack_stat_doc((unsigned)i) : "");
  }
}

static void print_settings(const struct snap* s)
{
  if (opt_json) {
    json_str(s->settings);
    return;
  }
  if (!s->settings[0]) {
    printf("  (none published: the stack was not made by transparent "
           "mode)\n");
    return;
  }
  {
    const char* p = s->settings;
    while (*p) {
      const char* e = strchr(p, '\n');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      printf("  %.*s\n", (int)n, p);
      p += n + (e ? 1 : 0);
    }
  }
}

static void print_latency(const struct snap* s)
{
  const struct anyload_shm_hist* h = &s->hist;
  static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
  static const char* const qn[] = { "p50", "p90", "p99", "p99.9" };
  uint64_t n = h->count, v[4];
  unsigned k;

  for (k = 0; k < 4; k++)
    v[k] = anyload_hist_percentile(h->buckets, n, qs[k], h->max_ns);
  if (opt_json) {
    printf("{\"count\":%llu,\"no_stamp\":%llu,\"min_ns\":%llu,"
           "\"mean_ns\":%llu,\"max_ns\":%llu",
           (unsigned long long)n, (unsigned long long)h->no_stamp,
           (unsigned long long)(n ? h->min_ns : 0),
           (unsigned long long)(n ? h->sum_ns / n : 0),
           (unsigned long long)h->max_ns);
    for (k = 0; k < 4; k++)
      printf(",\"%s_ns\":%llu", qn[k], (unsigned long long)v[k]);
    printf("}");
    return;
  }
  printf("  arrival at the VI (the poll that received it) to the read:\n");
  if (!n) {
    printf("  no samples (reads through anyload_udp_recvmsg_at only)\n");
    return;
  }
  printf("  samples %llu  min %.3f us  mean %.3f us  max %.3f us\n",
         (unsigned long long)n, (double)h->min_ns / 1e3,
         (double)h->sum_ns / (double)n / 1e3, (double)h->max_ns / 1e3);
  printf("  ");
  for (k = 0; k < 4; k++)
    printf("%s %.3f us  ", qn[k], (double)v[k] / 1e3);
  printf("\n  (bucket upper bounds: within 1/16 of the value)\n");
  if (h->no_stamp)
    printf("  reads without an arrival time: %llu\n",
           (unsigned long long)h->no_stamp);
}

static void print_info_json(const struct snap* s)
{
  const struct anyload_shm_info* i = &s->h.info;

  printf("{\"pkt_total\":%u,\"pkt_free\":%u,\"pkt_rx_ring\":%u,"
         "\"pkt_tx_ring\":%u,\"pkt_sock_rxq\":%u,\"pkt_reasm\":%u,"
         "\"pkt_neigh_wait\":%u,\"timers\":%u,\"sockets\":%u,"
         "\"filters\":%u,\"reasm_datagrams\":%u,\"neigh_waits\":%u}",
         i->pkt_total, i->pkt_free, i->pkt_rx_ring, i->pkt_tx_ring,
         i->pkt_sock_rxq, i->pkt_reasm, i->pkt_neigh_wait, i->timers,
         i->sockets, i->filters, i->reasm_datagrams, i->neigh_waits);
}

/* queue_mask: the queues that the stack holds (its first alone when
 * the writer left no mask). */
static uint64_t queue_mask(const struct snap* s)
{
  if (s->h.queue_mask)
    return s->h.queue_mask;
  return s->h.queue < 64 ? 1ull << s->h.queue : 0;
}

static void print_head_json(const struct snap* s)
{
  uint64_t m = queue_mask(s);
  int q, first = 1;

  printf("\"stack\":\"%d.%u\",\"pid\":%d,\"stack_id\":%u,\"command\":",
         s->h.pid, s->h.stack_id, s->h.pid, s->h.stack_id);
  json_str(s->h.cmdline);
  printf(",\"interface\":");
  json_str(s->h.ifname);
  printf(",\"ifindex\":%d,\"backend\":", s->h.ifindex);
  json_str(s->h.backend);
  printf(",\"queue\":%u,\"mtu\":%u,\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\","
         "\"flags\":%u,\"start_time_ns\":%lld,\"updates\":%llu,"
         "\"capture\":{\"on\":%u,\"frames\":%llu,\"drops\":%llu}",
         (unsigned)s->h.queue, s->h.mtu, s->h.mac[0], s->h.mac[1],
         s->h.mac[2], s->h.mac[3], s->h.mac[4], s->h.mac[5], s->h.cfg_flags,
         (long long)s->h.start_realtime_ns,
         (unsigned long long)s->h.updates, s->cap_on,
         (unsigned long long)s->cap_frames,
         (unsigned long long)s->cap_drops);
  printf(",\"queues\":[");
  for (q = 0; q < 64; q++)
    if ((m >> q) & 1) {
      printf("%s%d", first ? "" : ",", q);
      first = 0;
    }
  printf("]");
}

static void print_head_text(const struct snap* s)
{
  uint64_t m = queue_mask(s);
  char qs[200];

  printf("stack %d.%u: pid %d, %s\n", s->h.pid, s->h.stack_id, s->h.pid,
         s->h.cmdline);
  printf("  interface %s (ifindex %d, mtu %u, %02x:%02x:%02x:%02x:%02x:%02x)"
         ", backend %s, %s %s, flags 0x%x, up %.1f s, %llu updates\n",
         s->h.ifname, s->h.ifindex, s->h.mtu, s->h.mac[0], s->h.mac[1],
         s->h.mac[2], s->h.mac[3], s->h.mac[4], s->h.mac[5], s->h.backend,
         (m & (m - 1)) ? "queues" : "queue",
         anyload_queue_mask_str(m, qs, sizeof(qs)), s->h.cfg_flags,
         age_s(&s->h), (unsigned long long)s->h.updates);
  printf("  buffers %u: free %u, rx ring %u, tx ring %u, socket queues %u, "
         "reassembly %u, next-hop waits %u; timers %u; sockets %u; "
         "filters %u\n", s->h.info.pkt_total, s->h.info.pkt_free,
         s->h.info.pkt_rx_ring, s->h.info.pkt_tx_ring,
         s->h.info.pkt_sock_rxq, s->h.info.pkt_reasm,
         s->h.info.pkt_neigh_wait, s->h.info.timers, s->h.info.sockets,
         s->h.info.filters);
  if (s->cap_on || s->cap_frames)
    printf("  capture: %s, %llu frames, %llu dropped\n",
           s->cap_on ? "attached" : "off",
           (unsigned long long)s->cap_frames,
           (unsigned long long)s->cap_drops);
}

enum cmd { CMD_LIST, CMD_DETAIL, CMD_SOCKETS, CMD_FILTERS, CMD_COUNTERS,
           CMD_SETTINGS, CMD_LATENCY, CMD_WATCH, CMD_CLEAN, CMD_LOTS };

static void print_one(const struct stack_shm* m, const struct snap* s,
                      enum cmd cmd)
{
  if (opt_json) {
    printf("{");
    print_head_json(s);
    if (cmd == CMD_DETAIL || cmd == CMD_LOTS) {
      printf(",\"resources\":");
      print_info_json(s);
    }
    if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_SOCKETS) {
      printf(",\"sockets\":");
      print_sockets(m, s);
    }
    if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_FILTERS) {
      printf(",\"filters\":");
      print_filters(s);
    }
    if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_COUNTERS) {
      printf(",\"counters\":");
      print_counters(m, s);
    }
    if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_SETTINGS) {
      printf(",\"settings\":");
      print_settings(s);
    }
    if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_LATENCY) {
      printf(",\"latency\":");
      print_latency(s);
    }
    printf("}");
    return;
  }
  print_head_text(s);
  if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_SOCKETS) {
    printf(" sockets:\n");
    print_sockets(m, s);
  }
  if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_FILTERS) {
    printf(" filters:\n");
    print_filters(s);
  }
  if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_COUNTERS) {
    printf(" counters%s:\n", opt_nonzero ? " (non-zero)" : "");
    print_counters(m, s);
  }
  if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_SETTINGS) {
    printf(" settings:\n");
    print_settings(s);
  }
  if (cmd == CMD_DETAIL || cmd == CMD_LOTS || cmd == CMD_LATENCY) {
    printf(" latency:\n");
    print_latency(s);
  }
}

static void print_list(struct dump_stack* ds, int n)
{
  int k, shown = 0;

  if (!opt_json)
    printf("%-10s %-7s %-10s %-8s %5s %12s %12s %8s  %s\n", "stack", "pid",
           "interface", "backend", "socks", "rx_frames", "tx_frames",
           "drops", "command");
  else
    printf("[");
  for (k = 0; k < n; k++) {
    struct snap s;
    uint64_t drops = 0;
    unsigned j;
    if (!ds[k].alive) {
      if (!opt_json)
        printf("%-10s %-7d dead (not cleaned up: anyload_stackdump clean)\n",
               "", ds[k].shm.pid);
      continue;
    }
    if (snap_take(&ds[k].shm, &s) < 0)
      continue;
    for (j = 0; j < s.h.n_stats; j++)
      if (strstr(stat_name(&ds[k].shm, j), "drop"))
        drops += s.stats[j];
    if (opt_json) {
      printf("%s{", shown ? "," : "");
      print_head_json(&s);
      printf(",\"sockets\":%u,\"rx_frames\":%llu,\"tx_frames\":%llu,"
             "\"drops\":%llu}", s.h.n_socks,
             (unsigned long long)stat_by_name(&ds[k].shm, &s, "rx_frames"),
             (unsigned long long)stat_by_name(&ds[k].shm, &s, "tx_frames"),
             (unsigned long long)drops);
    } else {
      char id[32];
      snprintf(id, sizeof(id), "%d.%u", s.h.pid, s.h.stack_id);
      printf("%-10s %-7d %-10s %-8s %5u %12llu %12llu %8llu  %.60s\n", id,
             s.h.pid, s.h.ifname, s.h.backend, s.h.n_socks,
             (unsigned long long)stat_by_name(&ds[k].shm, &s, "rx_frames"),
             (unsigned long long)stat_by_name(&ds[k].shm, &s, "tx_frames"),
             (unsigned long long)drops, s.h.cmdline);
    }
    shown++;
    snap_free(&s);
  }
  if (opt_json)
    printf("]\n");
}

/* watch: counter rates of every selected live stack, every interval. */
static int watch(struct dump_stack* ds, int n, double interval)
{
  struct snap* prev = calloc((size_t)n, sizeof(*prev));
  long iter = 0;
  int k;

  if (!prev)
    return 1;
  for (k = 0; k < n; k++)
    if (snap_take(&ds[k].shm, &prev[k]) < 0)
      ds[k].alive = 0;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  while (!stop_flag && (opt_count < 0 || iter < opt_count)) {
    struct timespec ts = { (time_t)interval,
                           (long)((interval - (double)(time_t)interval) *
                                  1e9) };
    while (nanosleep(&ts, &ts) < 0 && !stop_flag)
      ;
    if (stop_flag)
      break;
    iter++;
    for (k = 0; k < n; k++) {
      struct snap cur;
      unsigned j, any = 0;
      if (!ds[k].alive)
        continue;
      if (!stack_shm_alive(&ds[k].shm)) {
        refuse_dead(&ds[k]);
        ds[k].alive = 0;
        continue;
      }
      if (snap_take(&ds[k].shm, &cur) < 0)
        continue;
      if (opt_json) {
        printf("{\"stack\":\"%d.%u\",\"interval_s\":%g,\"rates\":{",
               cur.h.pid, cur.h.stack_id, interval);
      } else {
        printf("stack %d.%u, %.3g s:\n", cur.h.pid, cur.h.stack_id,
               interval);
      }
      for (j = 0; j < cur.h.n_stats; j++) {
        uint64_t d = cur.stats[j] - prev[k].stats[j];
        if (!d)
          continue;
        if (opt_json)
          printf("%s\"%s\":%.1f", any ? "," : "", stat_name(&ds[k].shm, j),
                 (double)d / interval);
        else
          printf("  %-28s %14.1f/s %14llu\n", stat_name(&ds[k].shm, j),
                 (double)d / interval, (unsigned long long)cur.stats[j]);
        any++;
      }
      if (opt_json)
        printf("}}\n");
      else if (!any)
        printf("  (no counter moved)\n");
      fflush(stdout);
      snap_free(&prev[k]);
      prev[k] = cur;
    }
  }
  for (k = 0; k < n; k++)
    snap_free(&prev[k]);
  free(prev);
  return 0;
}

static void usage(FILE* f)
{
  fprintf(f,
    "usage: anyload_stackdump [--json] [STACK] [COMMAND]\n"
    "  STACK    a pid (its stacks) or pid.n (one stack); default: all\n"
    "  COMMAND  list (default without STACK: one line per stack)\n"
    "           lots (every stack in detail; default with STACK)\n"
    "           sockets | filters | settings | latency\n"
    "           counters [--nonzero]\n"
    "           watch [INTERVAL_S] [-n COUNT]  counter rates (Ctrl-C stops)\n"
    "           clean (remove the files of dead stacks)\n"
    "  --json   JSON output for scripts\n"
    "Stacks publish in %s (ANYLOAD_SHM_DIR overrides).\n",
    ANYLOAD_SHM_DIR);
}

static int parse_cmd(const char* a, enum cmd* out)
{
  static const struct { const char* name; enum cmd cmd; } t[] = {
    { "list", CMD_LIST }, { "lots", CMD_LOTS }, { "dump", CMD_DETAIL },
    { "sockets", CMD_SOCKETS }, { "netstat", CMD_SOCKETS },
    { "filters", CMD_FILTERS }, { "counters", CMD_COUNTERS },
    { "stats", CMD_COUNTERS }, { "settings", CMD_SETTINGS },
    { "opts", CMD_SETTINGS }, { "latency", CMD_LATENCY },
    { "watch", CMD_WATCH }, { "clean", CMD_CLEAN },
  };
  unsigned k;

  for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
    if (strcmp(a, t[k].name) == 0) {
      *out = t[k].cmd;
      return 0;
    }
  return -1;
}

int main(int argc, char** argv)
{
  static struct dump_stack ds[MAX_STACKS];
  const char* sel = NULL;
  enum cmd cmd = CMD_LIST;
  int have_cmd = 0, n, k, live = 0, rc = 0;
  double interval = 1.0;

  for (k = 1; k < argc; k++) {
    const char* a = argv[k];
    enum cmd c;
    if (strcmp(a, "--json") == 0) {
      opt_json = 1;
    } else if (strcmp(a, "--nonzero") == 0 || strcmp(a, "-z") == 0) {
      opt_nonzero = 1;
    } else if (strcmp(a, "-n") == 0 && k + 1 < argc) {
      opt_count = strtol(argv[++k], NULL, 10);
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (!have_cmd && parse_cmd(a, &c) == 0) {
      cmd = c;
      have_cmd = 1;
    } else if (have_cmd && cmd == CMD_WATCH && strtod(a, NULL) > 0) {
      /* After "watch", a number is the interval. */
      interval = strtod(a, NULL);
    } else if (!sel && a[0] >= '0' && a[0] <= '9') {
      sel = a;
    } else {
      fprintf(stderr, "anyload_stackdump: unexpected argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!have_cmd && sel)
    cmd = CMD_DETAIL;

  n = find_stacks(sel, ds, MAX_STACKS);
  if (cmd == CMD_CLEAN) {
    int removed = 0;
    for (k = 0; k < n; k++)
      if (!ds[k].alive && unlink(ds[k].shm.path) == 0) {
        printf("removed %s (stack %u of pid %d, dead)\n", ds[k].shm.path,
               ds[k].shm.stack_id, ds[k].shm.pid);
        removed++;
      }
    if (!removed)
      printf("no dead stack to clean in %s\n", stack_shm_dir());
    goto out;
  }
  for (k = 0; k < n; k++)
    live += ds[k].alive;
  if (n == 0 || (live == 0 && cmd != CMD_LIST)) {
    for (k = 0; k < n; k++)
      refuse_dead(&ds[k]);
    if (n == 0) {
      if (sel)
        fprintf(stderr, "anyload_stackdump: no stack %s found in %s\n", sel,
                stack_shm_dir());
      else
        fprintf(stderr, "anyload_stackdump: no stack found in %s (is an "
                "accelerated program running, as this user?)\n",
                stack_shm_dir());
    }
    rc = 1;
    goto out;
  }
  if (cmd == CMD_LIST) {
    print_list(ds, n);
    if (!live) {
      fprintf(stderr, "anyload_stackdump: no live stack found in %s\n",
              stack_shm_dir());
      rc = 1;
    }
    goto out;
  }
  if (cmd == CMD_WATCH) {
    for (k = 0; k < n; k++)
      if (!ds[k].alive) {
        refuse_dead(&ds[k]);
        rc = 1;
      }
    if (watch(ds, n, interval))
      rc = 1;
    goto out;
  }
  if (opt_json && (n > 1 || !sel))
    printf("[");
  {
    int shown = 0;
    for (k = 0; k < n; k++) {
      struct snap s;
      if (!ds[k].alive) {
        refuse_dead(&ds[k]);
        rc = 1;
        continue;
      }
      if (snap_take(&ds[k].shm, &s) < 0) {
        fprintf(stderr, "anyload_stackdump: stack %u of pid %d: no "
                "consistent copy (its writer stays busy)\n",
                ds[k].shm.stack_id, ds[k].shm.pid);
        rc = 1;
        continue;
      }
      if (opt_json && shown)
        printf(",");
      print_one(&ds[k].shm, &s, cmd);
      if (!opt_json)
        printf("\n");
      shown++;
      snap_free(&s);
    }
  }
  if (opt_json && (n > 1 || !sel))
    printf("]");
  if (opt_json)
    printf("\n");
out:
  for (k = 0; k < n; k++)
    stack_shm_close(&ds[k].shm);
  return rc;
}
