/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common/stack_shm.h: the layout of the file in which every stack
 * publishes its state for outside readers (anyload_stackdump,
 * anyload_tcpdump), and the reader's helpers (stack_shm.c).
 *
 * One file per stack, ANYLOAD_SHM_DIR/<pid>.<stack id> (a tmpfs: pages
 * that are never touched cost nothing). The owner creates it under a
 * temporary name, fills the static part, takes an exclusive flock on it
 * for as long as the stack lives, and renames it into place: a reader
 * that finds the file finds it complete. A reader that can take a shared
 * flock knows that the owner is gone (the kernel drops the lock when the
 * process dies, even by kill -9); the owner's pid and the start time of
 * that process (/proc/<pid>/stat) guard against the lock being held by a
 * child that inherited the descriptor across fork.
 *
 * Sections (offsets from the start of the file, all in the header):
 *   header      static facts (pid, command line, interface, backend,
 *               start time) and the dynamic summary, under `seq`
 *   names       the counter names, ANYLOAD_SHM_NAME_LEN bytes each: the
 *               stack's, then the UDP socket's, then the TCP socket's
 *   stats       the stack's counters (u64 each), under `seq`
 *   socks       the sockets, under `seq`
 *   filters     the VI filters, under `seq`
 *   settings    a text blob (NAME=value lines), under `seq`
 *   hist        the latency histogram of the stack, then one per UDP
 *               socket number (sock_hist_off, n_sock_hist; valid for the
 *               socket whose gen it holds), written on the fast path with
 *               relaxed atomic stores (single writer; a reader may see a
 *               count one ahead of the buckets, which is harmless)
 *   cap         the capture ring: a single-producer single-consumer byte
 *               ring of records; the stack writes only while a reader has
 *               set cap.on, and counts a drop when the ring is full. A
 *               record never wraps: when fewer than
 *               sizeof(struct anyload_cap_rec) bytes are left before the
 *               end, the reader skips them; otherwise a record of dir
 *               ANYLOAD_CAP_PAD fills the end. head and tail only grow
 *               (positions are taken modulo the size).
 *
 * Seqlock: the owner makes seq odd, writes, makes it even again (release
 * stores, with a write barrier after the first). A reader copies the
 * section, then checks that seq was even and unchanged (acquire loads and
 * a read barrier); else it retries (stack_shm_read_consistent).
 *
 * Version: a reader refuses a file whose magic or version differs, or
 * whose header is shorter than its own; new fields go at the end.
 */
#ifndef ANYLOAD_COMMON_STACK_SHM_H
#define ANYLOAD_COMMON_STACK_SHM_H

#include <stddef.h>
#include <stdint.h>

#define ANYLOAD_SHM_DIR       "/dev/shm/anyload"
#define ANYLOAD_SHM_DIR_ENV   "ANYLOAD_SHM_DIR"   /* overrides the dir */
#define ANYLOAD_SHM_MAGIC     0x314b54534c594e41ull /* "ANYLSTK1" */
#define ANYLOAD_SHM_VERSION   1u
#define ANYLOAD_SHM_NAME_LEN  40u
#define ANYLOAD_SHM_SOCK_STATS 48u  /* per-socket counters kept at most */

/* Latency histogram: values in ns. Below 16 one bucket per value; above,
 * 16 buckets per power of two (a relative error of at most 1/16), up to
 * 2^40 ns (~18 minutes); larger values go to the last bucket. */
#define ANYLOAD_HIST_SUB_BITS 4u
#define ANYLOAD_HIST_SUB      (1u << ANYLOAD_HIST_SUB_BITS)
#define ANYLOAD_HIST_MAX_BIT  40u
#define ANYLOAD_HIST_BUCKETS  ((ANYLOAD_HIST_MAX_BIT - ANYLOAD_HIST_SUB_BITS \
                                + 1u) * ANYLOAD_HIST_SUB)

struct anyload_shm_hist {
  uint32_t gen;        /* per socket: the socket generation it counts */
  uint32_t pad;
  uint64_t count;
  uint64_t sum_ns;
  uint64_t min_ns;
  uint64_t max_ns;
  uint64_t no_stamp;   /* reads of datagrams without an arrival time */
  uint64_t buckets[ANYLOAD_HIST_BUCKETS];
};

/* anyload_shm_sock.proto */
#define ANYLOAD_SHM_UDP 17
#define ANYLOAD_SHM_TCP 6

/* anyload_shm_sock.flags */
#define ANYLOAD_SHM_SOCK_CONNECTED 0x1u
#define ANYLOAD_SHM_SOCK_REUSE     0x2u
#define ANYLOAD_SHM_SOCK_FILTERED  0x4u

struct anyload_shm_sock {
  int32_t  sd;
  uint8_t  proto;          /* ANYLOAD_SHM_UDP / _TCP */
  uint8_t  state;          /* TCP: <netinet/tcp.h> TCP_*; UDP: 0 */
  uint16_t flags;          /* ANYLOAD_SHM_SOCK_* */
  uint32_t laddr_be32;
  uint32_t raddr_be32;
  uint16_t lport_be16;
  uint16_t rport_be16;
  uint32_t rxq_count;      /* datagrams (UDP) or segments queued */
  uint32_t rxq_bytes;      /* receive queue: bytes (UDP: buffer bytes) */
  uint32_t rcvbuf;
  uint32_t txq_bytes;      /* TCP: send buffer bytes; UDP: 0 */
  uint32_t sndbuf;
  uint32_t n_mships;
  int32_t  err;            /* pending error (positive errno) or 0 */
  uint32_t n_stats;
  uint32_t gen;            /* UDP: matches its histogram's gen */
  uint32_t pad;
  uint64_t stats[ANYLOAD_SHM_SOCK_STATS];
};

/* anyload_shm_filter.kind */
#define ANYLOAD_SHM_FILTER_LOCAL 1  /* ip4_local: proto, laddr, lport */
#define ANYLOAD_SHM_FILTER_PROTO 2  /* all of an IP protocol */
#define ANYLOAD_SHM_FILTER_FULL  3  /* ip4_full: and raddr, rport */

struct anyload_shm_filter {
  uint8_t  kind;
  uint8_t  proto;
  uint16_t lport_be16;
  uint32_t laddr_be32;
  uint32_t raddr_be32;
  uint16_t rport_be16;
  uint16_t pad;
  uint32_t refs;           /* sockets sharing it */
  uint32_t pad2;
};

/* The stack's resources (anyload_stack_info). */
struct anyload_shm_info {
  uint32_t pkt_total, pkt_free, pkt_rx_ring, pkt_tx_ring, pkt_sock_rxq;
  uint32_t pkt_reasm, pkt_neigh_wait, timers, sockets, filters;
  uint32_t reasm_datagrams, neigh_waits;
};

/* Capture ring record. rec_len covers header and data, a multiple of 8;
 * a record of dir ANYLOAD_CAP_PAD only fills the end of the ring. */
#define ANYLOAD_CAP_RX  1
#define ANYLOAD_CAP_TX  2
#define ANYLOAD_CAP_PAD 3

struct anyload_cap_rec {
  uint32_t rec_len;
  uint32_t caplen;
  uint32_t wire_len;
  uint32_t dir;
  int64_t  ts_ns;          /* the stack's now (its caller's clock) */
};

struct anyload_shm_cap {
  uint32_t on;             /* reader: 1 while it consumes */
  uint32_t snaplen;        /* reader: bytes kept per frame */
  uint64_t head;           /* writer: bytes produced (never wraps) */
  uint64_t tail;           /* reader: bytes consumed */
  uint64_t frames;         /* writer: frames captured */
  uint64_t drops;          /* writer: frames lost, the ring was full */
  uint32_t size;           /* bytes of the data area, a power of two */
  uint32_t pad;
  /* data area at hdr.cap_off + sizeof(struct anyload_shm_cap) */
};

struct anyload_shm_hdr {
  /* Static: written before the file is renamed into place. */
  uint64_t magic;
  uint32_t version;
  uint32_t hdr_size;
  uint64_t file_size;
  int32_t  pid;
  uint32_t stack_id;       /* per process, from 0 */
  uint64_t proc_start;     /* /proc/<pid>/stat start time (clock ticks) */
  int64_t  start_realtime_ns;
  char     cmdline[256];   /* arguments joined by spaces, cut */
  char     ifname[16];
  int32_t  ifindex;
  uint32_t mtu;
  uint8_t  mac[6];
  uint16_t queue;          /* the VI's interface RX queue (older
                            * writers left 0 here) */
  char     backend[16];
  uint32_t cfg_flags;      /* ANYLOAD_STACK_F_* */
  uint32_t n_bufs;
  uint32_t n_stats;
  uint32_t n_udp_stats;
  uint32_t n_tcp_stats;
  uint32_t names_off;
  uint32_t stats_off;
  uint32_t socks_off;
  uint32_t sock_size;      /* sizeof(struct anyload_shm_sock) */
  uint32_t max_socks;
  uint32_t filters_off;
  uint32_t max_filters;
  uint32_t settings_off;
  uint32_t settings_size;
  uint32_t hist_off;
  uint32_t sock_hist_off;  /* n_sock_hist struct anyload_shm_hist */
  uint32_t n_sock_hist;
  uint32_t cap_off;
  uint32_t cap_size;       /* of the data area */
  /* Dynamic, under seq. */
  uint32_t seq;
  uint32_t pad2;
  uint64_t updates;        /* publications so far */
  int64_t  update_now_ns;  /* the stack's now at the last one */
  uint32_t n_socks;
  uint32_t n_filters;
  uint32_t settings_len;
  uint32_t pad3;
  struct anyload_shm_info info;
  /* Static again, appended: every interface RX queue the stack holds
   * (bit q for queue q; queue is the lowest). */
  uint64_t queue_mask;
};

/* ---- reader helpers (stack_shm.c) ------------------------------------- */

/* A stack file opened by a reader. */
struct stack_shm {
  int      fd;
  void*    base;
  size_t   len;
  int32_t  pid;
  uint32_t stack_id;
  char     path[512];
};

/* stack_shm_dir: the directory of the stack files (ANYLOAD_SHM_DIR, or
 * the environment's override). */
const char* stack_shm_dir(void);

/* stack_shm_open: open and map the file at path read-write (the capture
 * reader writes cap.on and cap.tail), checking magic, version and sizes.
 * Returns 0, or -errno of open/mmap, -EPROTO (not a stack file, or
 * another version). */
int stack_shm_open(const char* path, struct stack_shm* out);
void stack_shm_close(struct stack_shm* s);

static inline const struct anyload_shm_hdr*
stack_shm_hdr(const struct stack_shm* s)
{
  return (const struct anyload_shm_hdr*)s->base;
}

/* stack_shm_alive: 1 if the stack's owner still runs (it holds the lock
 * and its process started when the file says), 0 if it is gone. */
int stack_shm_alive(const struct stack_shm* s);

/* stack_shm_read_consistent: run copy(base, ctx), which copies what it
 * needs out of the mapped file base, until one run was made while seq
 * stayed even and unchanged (at most `tries` runs). copy must tolerate
 * torn data (bound every count it reads). Returns 0, or -EAGAIN (the
 * writer was always busy: it died mid-update, or is very busy). */
int stack_shm_read_consistent(const void* base,
                              void (*copy)(const void* base, void* ctx),
                              void* ctx, unsigned tries);

/* stack_cap_next: the next frame record of a capture ring (cap, its data
 * area) between *tail and head (a value of cap->head read with acquire):
 * skips the end-of-ring filler, copies the record's header to *rec and
 * points *frame at its bytes, and advances *tail past it. The caller
 * stores *tail into cap->tail (release) once done with the bytes.
 * Returns 1 (a frame), 0 (none left), -EPROTO (the ring holds something
 * that is not a record: *tail is moved to head). */
int stack_cap_next(const struct anyload_shm_cap* cap, const uint8_t* data,
                   uint64_t* tail, uint64_t head, struct anyload_cap_rec* rec,
                   const uint8_t** frame);

/* ---- histogram helpers (inline: the stack's fast path uses them) ------ */

/* anyload_hist_bucket: the bucket of value v. */
static inline unsigned anyload_hist_bucket(uint64_t v)
{
  unsigned msb, idx;

  if (v < ANYLOAD_HIST_SUB)
    return (unsigned)v;
  msb = 63u - (unsigned)__builtin_clzll(v);
  if (msb >= ANYLOAD_HIST_MAX_BIT)
    return ANYLOAD_HIST_BUCKETS - 1;
  idx = (msb - ANYLOAD_HIST_SUB_BITS + 1u) * ANYLOAD_HIST_SUB +
        (unsigned)((v >> (msb - ANYLOAD_HIST_SUB_BITS)) &
                   (ANYLOAD_HIST_SUB - 1u));
  return idx;
}

/* anyload_hist_low: the smallest value of bucket b (the largest is
 * anyload_hist_low(b + 1) - 1). */
static inline uint64_t anyload_hist_low(unsigned b)
{
  unsigned oct, sub;

  if (b < ANYLOAD_HIST_SUB)
    return b;
  oct = b / ANYLOAD_HIST_SUB;           /* >= 1 */
  sub = b % ANYLOAD_HIST_SUB;
  return ((uint64_t)(ANYLOAD_HIST_SUB + sub)) << (oct - 1u);
}

/* anyload_hist_percentile: the value below or at which a fraction q (0 <
 * q <= 1) of the n samples in buckets lie, as the highest value of the
 * bucket that holds the ceil(q * n)-th smallest sample (an upper bound
 * within the bucket's width), clamped to max_ns when given (> 0).
 * Returns 0 when n is 0. */
uint64_t anyload_hist_percentile(const uint64_t* buckets, uint64_t n,
                                 double q, uint64_t max_ns);

#endif /* ANYLOAD_COMMON_STACK_SHM_H */
