/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/vi_int.h: what the VI layer shares between its files and its
 * backends: the PD's private state (interface, registered regions and the
 * DMA-address scheme), the decoded filter, and struct vi_ops, the slow-path
 * table each backend provides (the fast path lives in ef_vi.ops).
 *
 * DMA addresses: region i of a PD (0 <= i < VI_MAX_REGIONS) covers
 * [(i + 1) << VI_DMA_REGION_SHIFT, + len). A lookup is one shift and one
 * bounds check, and address 0 is never valid.
 */
#ifndef ANYLOAD_VI_INT_H
#define ANYLOAD_VI_INT_H

#include <etherfabric/ef_vi.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define VI_MAX_REGIONS      64
#define VI_DMA_REGION_SHIFT 40
#define VI_MAX_FILTERS      256     /* per VI */
#define VI_DEFAULT_RING     512
#define VI_MAX_RING         4096
/* Default receive buffer length: the classic 2 KiB packet buffer less a
 * 64-byte header, as the ef_vi sample programs lay their buffers out. */
#define VI_DEFAULT_RX_BUF_LEN 1984
/* Bytes of receive prefix with EF_VI_RX_TIMESTAMPS (see vi_rx_prefix). */
#define VI_RX_PREFIX_LEN    16

struct vi_region {
  char*  vaddr;
  size_t len;          /* 0: slot unused */
};

struct vi_ops;
struct vi_common;

/* pd->pd_priv */
struct vi_pd {
  const struct vi_ops* ops;       /* backend of the PD's VIs */
  int              ifindex;
  char             ifname[IF_NAMESIZE];
  pthread_mutex_t  lock;          /* regions[] and counts */
  struct vi_region regions[VI_MAX_REGIONS];
  int              n_memregs;
  int              n_vis;
};

/* vi_pd_translate: the virtual address of [addr, addr + len) if it lies
 * wholly inside one registered region, else NULL. Lock-free: a region is
 * only changed by memreg alloc/free, which the caller must not race with
 * its own use of that region's buffers. */
static inline char* vi_pd_translate(const struct vi_pd* pd, ef_addr addr,
                                    size_t len)
{
  uint64_t idx = (addr >> VI_DMA_REGION_SHIFT) - 1;
  uint64_t off = addr & ((1ull << VI_DMA_REGION_SHIFT) - 1);
  const struct vi_region* r;

  if (idx >= VI_MAX_REGIONS)
    return NULL;
  r = &pd->regions[idx];
  if (off >= r->len || len > r->len - off)
    return NULL;
  return r->vaddr + off;
}

/* vi_pd_translate_avail: like vi_pd_translate but also returns how many
 * bytes the region has from addr onwards (for receive buffers, whose
 * length is at most rx_buffer_len and at most the rest of the region). */
static inline char* vi_pd_translate_avail(const struct vi_pd* pd,
                                          ef_addr addr, size_t* avail)
{
  uint64_t idx = (addr >> VI_DMA_REGION_SHIFT) - 1;
  uint64_t off = addr & ((1ull << VI_DMA_REGION_SHIFT) - 1);
  const struct vi_region* r;

  if (idx >= VI_MAX_REGIONS)
    return NULL;
  r = &pd->regions[idx];
  if (off >= r->len)
    return NULL;
  *avail = r->len - off;
  return r->vaddr + off;
}

/* Filter kinds, as encoded in ef_filter_spec.type. */
enum vi_filter_type {
  VI_FLT_NONE = 0,
  VI_FLT_IP4_LOCAL,
  VI_FLT_IP4_FULL,
  VI_FLT_IP6_LOCAL,
  VI_FLT_IP6_FULL,
  VI_FLT_ETH,
  VI_FLT_ETHERTYPE,
  VI_FLT_IPPROTO,
  VI_FLT_UCAST_ALL,
  VI_FLT_MCAST_ALL,
  VI_FLT_UCAST_MISMATCH,
  VI_FLT_MCAST_MISMATCH,
  VI_FLT_BLOCK_KERNEL,
  VI_FLT_BLOCK_KERNEL_UCAST,
  VI_FLT_BLOCK_KERNEL_MCAST,
  VI_FLT_SNIFF,
  VI_FLT_TX_SNIFF,
  VI_FLT_TYPE_MAX,
};

/* ef_filter_spec.flags bits of our own, above the public flags. */
#define VI_FLT_F_VLAN       0x10000   /* data[VI_FD_VLAN] holds a VLAN id */
#define VI_FLT_F_USER_MARK  0x20000   /* user mark/flag asked: unsupported */

/* Indices into ef_filter_spec.data[]. */
enum {
  VI_FD_PROTO = 0,     /* IP protocol (IP filters), or the protocol number */
  VI_FD_LPORT = 1,     /* be16 */
  VI_FD_RPORT = 2,     /* be16 */
  VI_FD_LHOST = 3,     /* IPv4 be32, or 4 words of IPv6 (3..6) */
  VI_FD_RHOST = 7,     /* IPv4 be32, or 4 words of IPv6 (7..10) */
  VI_FD_VLAN  = 11,
  /* Ethernet filters reuse the IP slots: */
  VI_FD_MAC_HI = 3,    /* bytes 0..3 of the MAC */
  VI_FD_MAC_LO = 4,    /* bytes 4..5 of the MAC */
  VI_FD_ETHERTYPE = 5, /* be16 */
};

/* vi_filter_type_name: a short name for messages ("ip4_local" ...). */
const char* vi_filter_type_name(unsigned type);

/* The slow-path operations of a backend. Each returns 0 or -errno. */
struct vi_ops {
  const char* name;
  /* pd_lookup: resolve an interface name to an index (backends with
   * interfaces of their own, like the simulated link; NULL: the kernel's
   * interfaces, if_nametoindex). Returns 0 or -ENODEV. */
  int  (*pd_lookup)(const char* name, int* ifindex_out);
  /* pd_name: the name of ifindex (NULL: if_indextoname). */
  int  (*pd_name)(int ifindex, char name[IF_NAMESIZE]);
  /* vi_alloc: create the VI on `queue` of pd's interface, fill vi->ops. */
  int  (*vi_alloc)(ef_vi* vi, ef_driver_handle dh, struct vi_pd* pd,
                   int queue, int rxq_size, int txq_size,
                   enum ef_vi_flags flags);
  int  (*vi_free)(ef_vi* vi);
  int  (*filter_add)(ef_vi* vi, const ef_filter_spec* fs, int* id_out);
  int  (*filter_del)(ef_vi* vi, int id);
  /* filter_del leaving the filter parked (anyload_vi_filter_park); NULL:
   * the backend cannot */
  int  (*filter_park)(ef_vi* vi, int id, unsigned park_ms);
  int  (*has_event)(const ef_vi* vi);
  /* wait_fd: the fd to poll for POLLIN while waiting for events, or a
   * negative errno that ef_eventq_wait returns at once, when no amount of
   * waiting can bring an event (the sim backend on its virtual clock:
   * -ETIMEDOUT). */
  int  (*wait_fd)(const ef_vi* vi);
  int  (*flush)(ef_vi* vi);
  /* stats: fill vals[] (layout from stats_layout) and reset if asked. */
  const ef_vi_stats_layout* (*stats_layout)(void);
  int  (*stats)(ef_vi* vi, uint64_t* vals, int do_reset);
  /* release_at_exit: at process exit, give back what a VI that was never
   * freed holds outside the process (filters, slots, XDP or tc programs);
   * memory is left alone. NULL: nothing to do. */
  void (*release_at_exit)(struct vi_common* c);
  /* forget: in a process that inherited the VI across fork: close this
   * process's copies of its descriptors and free its memory, touching
   * nothing that the process which made it still uses (filters, slots,
   * programs, its epoll sets). NULL: the backend cannot (the VI stays). */
  void (*forget)(ef_vi* vi);
  /* tidy: what this backend left on interface ifindex when its last
   * VI's process could not remove it (anyload_vi_tidy). NULL: nothing. */
  int  (*tidy)(int ifindex);
  /* describe: a few words on how this VI reaches the network (mode,
   * queue), for anyload_vi_describe(). */
  void (*describe)(const ef_vi* vi, char* buf, size_t len);
  /* if_mtu, if_mac: the MTU the VI carries and the MAC address (backends
   * with interfaces of their own, or whose buffers limit the frame size
   * (AF_XDP); NULL: the kernel interface's, read by ioctl). */
  int  (*if_mtu)(const ef_vi* vi, unsigned* mtu_out);
  int  (*if_mac)(const ef_vi* vi, uint8_t mac_out[6]);
};

extern const struct vi_ops afxdp_ops;
extern const struct vi_ops afpacket_ops;
extern const struct vi_ops sim_ops;

/* vi_backend_choose: the backend that ANYLOAD_BACKEND names (afxdp,
 * afpacket, sim), or NULL for "auto" (unset): AF_XDP, and AF_PACKET where
 * the kernel or driver has no XDP. -EINVAL for an unknown name. */
int vi_backend_choose(const struct vi_ops** out);
/* vi_backend_fallback: the backend to try when `failed` could not create a
 * VI with error rc in auto mode, or NULL. */
const struct vi_ops* vi_backend_fallback(const struct vi_ops* failed, int rc);

/* Every backend's private VI state (ef_vi.vi_priv) starts with this. */
struct vi_common {
  const struct vi_ops* ops;
  struct vi_pd*        pd;
  ef_driver_handle     dh;
  struct vi_common*    live_next;   /* vi_live_* list */
  pid_t                owner_pid;
  /* Wake-ups through dh (vi_arm.c): arm_fd sits in dh's epoll set only
   * while armed. */
  int                  arm_fd;
  uint8_t              arm_managed; /* vi_arm_init was called */
  uint8_t              armed;
  uint16_t             armed_polls; /* polls with events since the prime */
};

/* Polls that found events, with no prime between them, after which a VI
 * takes its socket out of the driver handle's epoll set. */
#define VI_DISARM_POLLS 64

/* vi_arm_init: c's wake-ups come from socket fd, armed from the start
 * (a program that never primes and never busy-polls still sees dh
 * readable). vi_arm: (ef_vi_prime) put fd back in dh's set if it left;
 * the set reports at once what is already waiting, so no frame that
 * arrived before is missed. vi_disarm: take it out (also at free). */
void vi_arm_init(struct vi_common* c, int fd);
void vi_arm(struct vi_common* c);
void vi_disarm(struct vi_common* c);

/* vi_arm_note_poll: after an event-queue poll that returned n events. A
 * caller that busy-polls and finds events does not need the kernel to
 * wake anybody, and each wake-up costs the kernel a locked pass over the
 * socket's wait queue for every frame received and every frame sent
 * (sock_def_readable, sock_def_write_space): after VI_DISARM_POLLS such
 * polls without a prime, the VI disarms. */
static inline void vi_arm_note_poll(struct vi_common* c, int n)
{
  if (n > 0 && c->armed && ++c->armed_polls >= VI_DISARM_POLLS)
    vi_disarm(c);
}

/* Kernel drop counters (AF_XDP's XDP_STATISTICS, AF_PACKET's
 * PACKET_STATISTICS) are a system call away, so the backends read them
 * when a poll hints at drops (a deep backlog, TP_STATUS_LOSING) and
 * otherwise as a fallback, paced by vi_drop_check_tick: every 4096 polls
 * that received frames, or after about four million empty ones. Drops
 * come with traffic, and the polls that find the ring empty are the
 * spinning ones: counting them all put a system call into a spinning
 * program's wait about every half millisecond. */
#define VI_DROP_CHECK_RX_COST 1024u
#define VI_DROP_CHECK_BUDGET (4096u * VI_DROP_CHECK_RX_COST)

/* vi_drop_check_tick: charge one poll (received: it found frames) to
 * *budget; true when the fallback check is due (the caller then resets
 * *budget to VI_DROP_CHECK_BUDGET). */
static inline bool vi_drop_check_tick(uint32_t* budget, bool received)
{
  uint32_t cost = received ? VI_DROP_CHECK_RX_COST : 1u;

  if (*budget <= cost)
    return true;
  *budget -= cost;
  return false;
}

/* vi_live_add: remember a new VI, so that if the process exits without
 * ef_vi_free() (ef_vi programs often just return from main) its
 * backend's release_at_exit() gives the interface back at exit. A process
 * killed by a signal cannot; backends recover from that separately. */
void vi_live_add(struct vi_common* c);
/* vi_live_remove: forget a VI that is being freed. */
void vi_live_remove(struct vi_common* c);

/* vi_if_mtu: the MTU of the kernel interface ifname (1500 if unknown). */
unsigned vi_if_mtu(const char* ifname);

/* vi_backend: the backend of an allocated VI, NULL if not allocated. */
static inline const struct vi_ops* vi_backend(const ef_vi* vi)
{
  const struct vi_common* c = vi ? (const struct vi_common*)vi->vi_priv
                                 : NULL;
  return c ? c->ops : NULL;
}

/* vi_if_queue_count: RX queues of the interface (>= 1). */
int vi_if_queue_count(int ifindex);

/* vi_alloc_on_queue: allocate a VI on one queue with the chosen backend
 * (ef_vi_alloc_from_pd uses queue 0, VI sets their member's queue). */
int vi_alloc_on_queue(ef_vi* vi, ef_driver_handle vi_dh, struct ef_pd* pd,
                      int queue, int rxq_capacity, int txq_capacity,
                      enum ef_vi_flags flags);

/* The receive prefix written with EF_VI_RX_TIMESTAMPS (VI_RX_PREFIX_LEN
 * bytes): software RX time, frame length, and a marker. */
struct vi_rx_prefix {
  uint64_t sec;
  uint32_t nsec;
  uint16_t len;
  uint16_t magic;
};
#define VI_RX_PREFIX_MAGIC 0xa10d

#endif /* ANYLOAD_VI_INT_H */
