/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload_tcpdump: capture the frames that anyload stacks receive and send
 * on an interface (traffic that bypasses the kernel, so the kernel's
 * tcpdump does not see it), into a pcap file or as one line per frame.
 *
 *   anyload_tcpdump -i IF [-w FILE|-] [-c COUNT] [-s SNAPLEN] [-q]
 *                   [FILTER EXPRESSION]
 *
 * It attaches to every live stack on IF (and to those that start while it
 * runs): it sets the capture flag of the stack's shared state, and each
 * stack then copies up to SNAPLEN bytes of every frame, received (before
 * any check) and sent, into its ring (src/common/stack_shm.h). Frames the
 * stack could not copy because this reader was behind are counted and
 * reported at the end. The filter is libpcap's (pcap_compile), applied
 * here. One capture per stack at a time (an OFD lock on the stack file).
 *
 * Time stamps: a stack's clock is its caller's; when it is
 * CLOCK_MONOTONIC (as in transparent mode) frames get their exact wall
 * time, otherwise the offset seen at attach time is applied.
 *
 * Stops at COUNT frames, at SIGINT/SIGTERM, or after -G SECONDS. Exit
 * status: 0, 1 when no stack was ever found on IF, 2 for bad usage.
 */
#include "common/stack_shm.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ATTACH 64

struct attached {
  struct stack_shm shm;
  struct anyload_shm_cap* cap;
  uint8_t* data;
  int64_t  offset_ns;   /* stack clock -> wall clock */
  uint64_t drops0;
  int      used;
};

static struct attached att[MAX_ATTACH];
static volatile sig_atomic_t stop_flag;
static unsigned opt_snaplen = 262144;
static const char* opt_if;

static void on_signal(int sig)
{
  (void)sig;
  stop_flag = 1;
}

static int64_t clock_ns(clockid_t c)
{
  struct timespec ts;

  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int is_attached(int pid, unsigned id)
{
  int k;

  for (k = 0; k < MAX_ATTACH; k++)
    if (att[k].used && att[k].shm.pid == pid && att[k].shm.stack_id == id)
      return 1;
  return 0;
}

/* try_attach: take the stack file at path if it is a live stack on our
 * interface. Returns 1 attached, 0 not. */
static int try_attach(const char* path)
{
  const struct anyload_shm_hdr* h;
  struct flock fl;
  struct attached* a = NULL;
  int64_t mono, real, snow;
  int k;

  for (k = 0; k < MAX_ATTACH; k++)
    if (!att[k].used) {
      a = &att[k];
      break;
    }
  if (!a)
    return 0;
  if (stack_shm_open(path, &a->shm) < 0)
    return 0;
  h = stack_shm_hdr(&a->shm);
  if (strcmp(h->ifname, opt_if) != 0 || !stack_shm_alive(&a->shm) ||
      is_attached(h->pid, h->stack_id))
    goto fail;
  memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  if (fcntl(a->shm.fd, F_OFD_SETLK, &fl) < 0) {
    fprintf(stderr, "anyload_tcpdump: stack %d.%u: another capture is "
            "attached; skipped\n", h->pid, h->stack_id);
    goto fail;
  }
  a->cap = (void*)((uint8_t*)a->shm.base + h->cap_off);
  a->data = (uint8_t*)a->cap + sizeof(*a->cap);
  mono = clock_ns(CLOCK_MONOTONIC);
  real = clock_ns(CLOCK_REALTIME);
  snow = h->update_now_ns;
  /* Within 10 s of our CLOCK_MONOTONIC: the stack's clock is that one. */
  if (snow > mono - 10000000000ll && snow < mono + 10000000000ll)
    a->offset_ns = real - mono;
  else
    a->offset_ns = real - snow;
  __atomic_store_n(&a->cap->snaplen, opt_snaplen, __ATOMIC_RELAXED);
  /* Start from now: whatever an earlier capture left is skipped. */
  __atomic_store_n(&a->cap->tail,
                   __atomic_load_n(&a->cap->head, __ATOMIC_ACQUIRE),
                   __ATOMIC_RELEASE);
  a->drops0 = __atomic_load_n(&a->cap->drops, __ATOMIC_RELAXED);
  __atomic_store_n(&a->cap->on, 1, __ATOMIC_RELEASE);
  a->used = 1;
  fprintf(stderr, "anyload_tcpdump: capturing stack %d.%u on %s (%s)\n",
          h->pid, h->stack_id, h->ifname, h->cmdline);
  return 1;

fail:
  stack_shm_close(&a->shm);
  return 0;
}

static void detach(struct attached* a, uint64_t* drops)
{
  *drops += __atomic_load_n(&a->cap->drops, __ATOMIC_RELAXED) - a->drops0;
  __atomic_store_n(&a->cap->on, 0, __ATOMIC_RELEASE);
  stack_shm_close(&a->shm);   /* closing drops the OFD lock */
  a->used = 0;
}

static int scan(void)
{
  const char* dir = stack_shm_dir();
  struct dirent* de;
  int n = 0;
  DIR* d = opendir(dir);

  if (!d)
    return 0;
  while ((de = readdir(d))) {
    char path[700];
    int pid, id, used = 0;
    if (sscanf(de->d_name, "%d.%d%n", &pid, &id, &used) != 2 ||
        de->d_name[used] != 0 || is_attached(pid, (unsigned)id))
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    n += try_attach(path);
  }
  closedir(d);
  return n;
}

/* print_frame: one line, tcpdump's style. */
static void print_frame(const struct pcap_pkthdr* ph, const uint8_t* f,
                        unsigned dir)
{
  struct tm tm;
  time_t t = ph->ts.tv_sec;
  char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
  unsigned len = ph->caplen, type, ihl, proto, ip_len;
  const uint8_t* ip;

  localtime_r(&t, &tm);
  printf("%02d:%02d:%02d.%06ld %-3s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
         (long)ph->ts.tv_usec, dir == ANYLOAD_CAP_TX ? "Out" : "In");
  if (len < 14) {
    printf("truncated frame, length %u\n", ph->len);
    return;
  }
  type = (unsigned)f[12] << 8 | f[13];
  if (type == 0x0806) {
    printf("ARP, length %u\n", ph->len);
    return;
  }
  if (type != 0x0800 || len < 34) {
    printf("ethertype 0x%04x, length %u\n", type, ph->len);
    return;
  }
  ip = f + 14;
  ihl = (ip[0] & 15u) * 4u;
  proto = ip[9];
  ip_len = (unsigned)ip[2] << 8 | ip[3];
  inet_ntop(AF_INET, ip + 12, src, sizeof(src));
  inet_ntop(AF_INET, ip + 16, dst, sizeof(dst));
  if ((proto == 17 || proto == 6) && ihl >= 20 && len >= 14 + ihl + 4 &&
      ((ip[6] & 0x1f) | ip[7]) == 0) {
    const uint8_t* l4 = ip + ihl;
    unsigned sp = (unsigned)l4[0] << 8 | l4[1];
    unsigned dp = (unsigned)l4[2] << 8 | l4[3];
    if (proto == 17)
      printf("IP %s.%u > %s.%u: UDP, length %u\n", src, sp, dst, dp,
             ip_len >= ihl + 8 ? ip_len - ihl - 8 : 0);
    else
      printf("IP %s.%u > %s.%u: tcp, length %u\n", src, sp, dst, dp,
             ip_len > ihl ? ip_len - ihl : 0);
    return;
  }
  printf("IP %s > %s: proto %u, length %u\n", src, dst, proto, ip_len);
}

static void usage(FILE* f)
{
  fprintf(f, "usage: anyload_tcpdump -i IF [-w FILE|-] [-c COUNT] "
          "[-s SNAPLEN] [-G SECONDS] [-q] [FILTER EXPRESSION]\n"
          "Captures what anyload stacks on IF receive and send (stacks "
          "publish in %s).\n", ANYLOAD_SHM_DIR);
}

int main(int argc, char** argv)
{
  char errbuf[PCAP_ERRBUF_SIZE], expr[4096] = "";
  const char* wfile = NULL;
  long count = -1, got = 0, filtered = 0;
  double seconds = 0;
  int opt, k, quiet = 0, ever = 0, have_filter = 0;
  uint64_t drops = 0;
  struct bpf_program prog;
  pcap_dumper_t* dumper = NULL;
  int64_t end_ns = 0, next_scan = 0;
  pcap_t* dead;

  while ((opt = getopt(argc, argv, "i:w:c:s:G:qh")) != -1) {
    switch (opt) {
    case 'i': opt_if = optarg; break;
    case 'w': wfile = optarg; break;
    case 'c': count = strtol(optarg, NULL, 10); break;
    case 's': opt_snaplen = (unsigned)strtoul(optarg, NULL, 10); break;
    case 'G': seconds = strtod(optarg, NULL); break;
    case 'q': quiet = 1; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (!opt_if) {
    usage(stderr);
    return 2;
  }
  if (opt_snaplen == 0 || opt_snaplen > 262144)
    opt_snaplen = 262144;
  for (k = optind; k < argc; k++) {
    size_t off = strlen(expr);
    snprintf(expr + off, sizeof(expr) - off, "%s%s", off ? " " : "",
             argv[k]);
  }
  dead = pcap_open_dead(DLT_EN10MB, (int)opt_snaplen);
  if (!dead) {
    fprintf(stderr, "anyload_tcpdump: pcap_open_dead failed\n");
    return 1;
  }
  if (expr[0]) {
    if (pcap_compile(dead, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
      fprintf(stderr, "anyload_tcpdump: bad filter '%s': %s\n", expr,
              pcap_geterr(dead));
      return 2;
    }
    have_filter = 1;
  }
  if (wfile) {
    dumper = pcap_dump_open(dead, wfile);
    if (!dumper) {
      fprintf(stderr, "anyload_tcpdump: %s: %s\n", wfile, pcap_geterr(dead));
      return 1;
    }
  }
  (void)errbuf;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  if (seconds > 0)
    end_ns = clock_ns(CLOCK_MONOTONIC) + (int64_t)(seconds * 1e9);

  ever = scan();
  if (!ever)
    fprintf(stderr, "anyload_tcpdump: no stack on %s yet (in %s); "
            "waiting\n", opt_if, stack_shm_dir());
  while (!stop_flag && (count < 0 || got < count)) {
    int busy = 0;
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    if (end_ns && now >= end_ns)
      break;
    if (now >= next_scan) {
      ever += scan();
      for (k = 0; k < MAX_ATTACH; k++)
        if (att[k].used && !stack_shm_alive(&att[k].shm)) {
          fprintf(stderr, "anyload_tcpdump: stack %d.%u is gone\n",
                  att[k].shm.pid, att[k].shm.stack_id);
          detach(&att[k], &drops);
        }
      next_scan = now + 200000000ll;
    }
    for (k = 0; k < MAX_ATTACH && (count < 0 || got < count); k++) {
      struct attached* a = &att[k];
      uint64_t head, tail;
      if (!a->used)
        continue;
      head = __atomic_load_n(&a->cap->head, __ATOMIC_ACQUIRE);
      tail = a->cap->tail;
      while (count < 0 || got < count) {
        struct anyload_cap_rec rec;
        struct pcap_pkthdr ph;
        const uint8_t* f;
        int64_t ts;
        int rc = stack_cap_next(a->cap, a->data, &tail, head, &rec, &f);
        if (rc < 0)
          fprintf(stderr, "anyload_tcpdump: stack %d.%u: garbage in the "
                  "capture ring, skipped\n", a->shm.pid, a->shm.stack_id);
        if (rc <= 0)
          break;
        busy = 1;
        ts = rec.ts_ns + a->offset_ns;
        ph.ts.tv_sec = (time_t)(ts / 1000000000ll);
        ph.ts.tv_usec = (suseconds_t)((ts % 1000000000ll) / 1000);
        ph.caplen = rec.caplen;
        ph.len = rec.wire_len;
        if (have_filter && !pcap_offline_filter(&prog, &ph, f)) {
          filtered++;
          continue;
        }
        if (dumper)
          pcap_dump((u_char*)dumper, &ph, f);
        else if (!quiet)
          print_frame(&ph, f, rec.dir);
        got++;
      }
      /* Release: our copies are done before the stack may reuse them. */
      __atomic_store_n(&a->cap->tail, tail, __ATOMIC_RELEASE);
    }
    if (busy) {
      if (dumper)
        pcap_dump_flush(dumper);
      else
        fflush(stdout);
    } else {
      usleep(1000);
    }
  }
  for (k = 0; k < MAX_ATTACH; k++)
    if (att[k].used)
      detach(&att[k], &drops);
  if (dumper)
    pcap_dump_close(dumper);
  if (have_filter)
    pcap_freecode(&prog);
  pcap_close(dead);
  fflush(stdout);
  fprintf(stderr, "%ld packets captured\n%ld packets filtered out\n"
          "%llu packets dropped by the stacks (capture ring full)\n", got,
          filtered, (unsigned long long)drops);
  if (!ever) {
    fprintf(stderr, "anyload_tcpdump: no stack found on %s\n", opt_if);
    return 1;
  }
  return 0;
}
