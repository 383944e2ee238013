/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/bpf_filter_lookup.c: libFuzzer target for the filter lookup of the
 * BPF programs (bpf/filter_lookup.h, al_classify: frame parsing and the
 * most-specific-first order), compiled for user space, against the
 * steering of the sim backend (vi/sim_vi.c), which promises to steer as
 * the XDP program does. Each input installs a few filters on four VIs of
 * a sim interface and, the same way the library's vi/filter_maps.c keys
 * them, in stand-in maps for the BPF code; then one frame goes through
 * both: al_classify with the XDP program's al_load (frame bounds, offsets
 * up to 256) must name the VI that the sim gives the frame to, or the
 * kernel (a VI without filters stands in for it) when nothing claims the
 * frame or its headers are cut short, or nobody for a block-kernel
 * filter. For whole-flow filters, later fragments follow their first on
 * both sides (al_frags, the sim's table; remembered across inputs), and
 * ICMP errors the flow they quote. Adding a filter must succeed or fail
 * alike on both sides (a key held by another VI: -EBUSY; by the same VI:
 * -EEXIST; types the programs cannot do: -EOPNOTSUPP). Sanitizers watch the
 * BPF code for what the verifier cannot see (undefined shifts, ...).
 *
 * Input: byte 0: the number of filters (bits 0..2); then 4 bytes per
 * filter: [VI (bits 0..1) | type (bits 2..7, mod 14)] [local address
 * (bits 0..1), remote address (bits 4..5), IP protocol (bits 0..2 mod 5)]
 * [local port (bit 0), remote port (bit 4), UDP/TCP (bit 5)]
 * [MAC (bits 0..1), VLAN (bits 2..3: none, 5, 7), EtherType (bits 4..5),
 * EF_FILTER_FLAG_WHOLE_FLOW (bit 6)];
 * the values come from small sets (below) so that frames can match them.
 * The rest of the input is the frame (at most 1514 bytes).
 *
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include <anyload/sim.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/types.h>
#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vi/sim_int.h"
#include "vi/vi_int.h"
#include "../../bpf/filter_shared.h"

/* ---- the BPF program's world, in user space --------------------------- */

/* bpf/bpf_helpers.h declares the kernel's helpers as fixed addresses:
 * skip it, and give the few things filter_lookup.h uses. */
#define __BPF_HELPERS__
#define SEC(name)
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val)* name
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

struct fz_ctx {
  const uint8_t* data;
  uint32_t len;
};

static void* bpf_map_lookup_elem(void* map, const void* key);
static long bpf_map_update_elem(void* map, const void* key, const void* val,
                                __u64 flags);

/* As bpf/anyload_xdp.bpf.c: bytes at off, if the frame holds them. */
static __always_inline int al_load(struct fz_ctx* ctx, __u32 off, void* to,
                                   __u32 len)
{
  if (off > 256 || (uint64_t)off + len > ctx->len)
    return -1;
  memcpy(to, ctx->data + off, len);
  return 0;
}

static __always_inline __u16 al_offload_vlan(struct fz_ctx* ctx)
{
  (void)ctx;
  return AL_VLAN_ANY;
}

#define AL_CTX struct fz_ctx
#include "../../bpf/filter_lookup.h"

/* Stand-in maps: the hash maps as small tables, the arrays as arrays. */
#define HASH_MAX 16

struct fz_hash {
  void*    map;
  size_t   key_len;
  unsigned n;
  uint8_t  keys[HASH_MAX][48];
  struct al_filter_val vals[HASH_MAX];
};

static struct fz_hash hashes[6];
static struct al_filter_val ipproto_map[256], special_map[AL_SPECIAL_MAX];
static struct al_config config_map;
static __u64 stats_map[AL_STAT_MAX];

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv);

static void fail(const char* what)
{
  fprintf(stderr, "bpf_filter_lookup fuzz: %s\n", what);
  abort();
}

static struct fz_hash* hash_of(const void* map)
{
  unsigned k;

  for (k = 0; k < sizeof(hashes) / sizeof(hashes[0]); k++)
    if (hashes[k].map == map)
      return &hashes[k];
  return NULL;
}

static struct al_filter_val* hash_find(struct fz_hash* h, const void* key)
{
  unsigned k;

  for (k = 0; k < h->n; k++)
    if (!memcmp(h->keys[k], key, h->key_len))
      return &h->vals[k];
  return NULL;
}

/* al_frags as the sim keeps its table (vi/sim_vi.c: SIM_FRAG_FOLLOW
 * entries, the least recently used one reused), so that both forget the
 * same datagrams; the kernel's LRU map only forgets less exactly. Kept
 * across inputs, as the sim's is (its VIs live on). */
static struct {
  int used;
  uint64_t stamp;
  struct al_frag_key key;
  struct al_filter_val val;
} frags[SIM_FRAG_FOLLOW];
static uint64_t frag_clock;

static void* frag_lookup(const struct al_frag_key* k)
{
  unsigned i;

  for (i = 0; i < SIM_FRAG_FOLLOW; i++)
    if (frags[i].used && !memcmp(&frags[i].key, k, sizeof(*k))) {
      frags[i].stamp = ++frag_clock;
      return &frags[i].val;
    }
  return NULL;
}

static long bpf_map_update_elem(void* map, const void* key, const void* val,
                                __u64 flags)
{
  unsigned i, e = 0;

  (void)flags;
  if (map != &al_frags)
    fail("update of a map other than al_frags");
  for (i = 0; i < SIM_FRAG_FOLLOW; i++)
    if (frags[i].used && !memcmp(&frags[i].key, key, sizeof(frags[i].key)))
      break;
  if (i < SIM_FRAG_FOLLOW) {
    e = i;
  } else {
    for (i = 1; i < SIM_FRAG_FOLLOW && frags[e].used; i++)
      if (!frags[i].used || frags[i].stamp < frags[e].stamp)
        e = i;
  }
  frags[e].used = 1;
  frags[e].stamp = ++frag_clock;
  memcpy(&frags[e].key, key, sizeof(frags[e].key));
  memcpy(&frags[e].val, val, sizeof(frags[e].val));
  return 0;
}

static void* bpf_map_lookup_elem(void* map, const void* key)
{
  struct fz_hash* h = hash_of(map);
  __u32 i;

  if (h)
    return hash_find(h, key);
  if (map == &al_frags)
    return frag_lookup(key);
  memcpy(&i, key, sizeof(i));
  if (map == &al_ipproto)
    return i < 256 ? &ipproto_map[i] : NULL;
  if (map == &al_special)
    return i < AL_SPECIAL_MAX ? &special_map[i] : NULL;
  if (map == &al_config)
    return i == 0 ? &config_map : NULL;
  if (map == &al_stats)
    return i < AL_STAT_MAX ? &stats_map[i] : NULL;
  fail("lookup in an unknown map");
  return NULL;
}

static void maps_init(void)
{
  void* maps[6] = { &al_ip4_full, &al_ip4_local, &al_ip6_full,
                    &al_ip6_local, &al_eth, &al_ethertype };
  size_t lens[6] = { sizeof(*al_ip4_full.key), sizeof(*al_ip4_local.key),
                     sizeof(*al_ip6_full.key), sizeof(*al_ip6_local.key),
                     sizeof(*al_eth.key), sizeof(*al_ethertype.key) };
  unsigned k;

  for (k = 0; k < 6; k++) {
    hashes[k].map = maps[k];
    hashes[k].key_len = lens[k];
    hashes[k].n = 0;
  }
  memset(ipproto_map, 0, sizeof(ipproto_map));
  memset(special_map, 0, sizeof(special_map));
}

/* maps_add: what vi_fmaps_filter_add does to the maps for fs and VI slot
 * (its filter_key, with the same layouts); returns 0 or its errors. */
static int maps_add(const ef_filter_spec* fs, uint32_t slot)
{
  const unsigned* d = fs->data;
  uint16_t vlan = (fs->flags & VI_FLT_F_VLAN) ? (uint16_t)d[VI_FD_VLAN]
                                              : AL_VLAN_ANY;
  /* Every sim VI is on queue 0: owner[0] holds the slot. */
  struct al_filter_val val = {
    .valid = 1,
    .whole_flow = (fs->flags & EF_FILTER_FLAG_WHOLE_FLOW) != 0,
  };
  struct al_filter_val* arr = NULL;
  struct fz_hash* h = NULL;
  uint8_t key[48];

  val.owner[0] = (uint8_t)((slot + 1) |
                           (val.whole_flow ? AL_OWNER_WHOLE_FLOW : 0));
  memset(key, 0, sizeof(key));
  switch (fs->type) {
  case VI_FLT_IP4_FULL: {
    struct al_ip4_full_key* k = (void*)key;
    k->laddr_be32 = d[VI_FD_LHOST];
    k->raddr_be32 = d[VI_FD_RHOST];
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->rport_be16 = (uint16_t)d[VI_FD_RPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    h = hash_of(&al_ip4_full);
    break;
  }
  case VI_FLT_IP4_LOCAL: {
    struct al_ip4_local_key* k = (void*)key;
    k->laddr_be32 = d[VI_FD_LHOST];
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    h = hash_of(&al_ip4_local);
    break;
  }
  case VI_FLT_IP6_FULL: {
    struct al_ip6_full_key* k = (void*)key;
    memcpy(k->laddr, &d[VI_FD_LHOST], 16);
    memcpy(k->raddr, &d[VI_FD_RHOST], 16);
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->rport_be16 = (uint16_t)d[VI_FD_RPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    h = hash_of(&al_ip6_full);
    break;
  }
  case VI_FLT_IP6_LOCAL: {
    struct al_ip6_local_key* k = (void*)key;
    memcpy(k->laddr, &d[VI_FD_LHOST], 16);
    k->lport_be16 = (uint16_t)d[VI_FD_LPORT];
    k->proto = (uint8_t)d[VI_FD_PROTO];
    h = hash_of(&al_ip6_local);
    break;
  }
  case VI_FLT_ETH: {
    struct al_eth_key* k = (void*)key;
    k->mac[0] = (uint8_t)(d[VI_FD_MAC_HI] >> 24);
    k->mac[1] = (uint8_t)(d[VI_FD_MAC_HI] >> 16);
    k->mac[2] = (uint8_t)(d[VI_FD_MAC_HI] >> 8);
    k->mac[3] = (uint8_t)d[VI_FD_MAC_HI];
    k->mac[4] = (uint8_t)(d[VI_FD_MAC_LO] >> 8);
    k->mac[5] = (uint8_t)d[VI_FD_MAC_LO];
    k->vlan = vlan;
    h = hash_of(&al_eth);
    break;
  }
  case VI_FLT_ETHERTYPE: {
    struct al_ethertype_key* k = (void*)key;
    k->ethertype_be16 = (uint16_t)d[VI_FD_ETHERTYPE];
    k->vlan = vlan;
    h = hash_of(&al_ethertype);
    break;
  }
  case VI_FLT_IPPROTO:
    arr = &ipproto_map[d[VI_FD_PROTO] & 0xff];
    break;
  case VI_FLT_UCAST_ALL:
    arr = &special_map[AL_SPECIAL_UCAST_ALL];
    break;
  case VI_FLT_MCAST_ALL:
    arr = &special_map[AL_SPECIAL_MCAST_ALL];
    break;
  case VI_FLT_UCAST_MISMATCH:
    arr = &special_map[AL_SPECIAL_UCAST_MISMATCH];
    break;
  case VI_FLT_BLOCK_KERNEL:
    arr = &special_map[AL_SPECIAL_BLOCK_KERNEL];
    break;
  case VI_FLT_BLOCK_KERNEL_UCAST:
    arr = &special_map[AL_SPECIAL_BLOCK_KERNEL_UCAST];
    break;
  case VI_FLT_BLOCK_KERNEL_MCAST:
    arr = &special_map[AL_SPECIAL_BLOCK_KERNEL_MCAST];
    break;
  case VI_FLT_MCAST_MISMATCH:
  case VI_FLT_SNIFF:
  case VI_FLT_TX_SNIFF:
    return -EOPNOTSUPP;
  default:
    return -EINVAL;
  }
  if (h) {
    struct al_filter_val* old = hash_find(h, key);
    if (old)
      return al_owner_slot(old, 0) == (int)slot ? -EEXIST : -EBUSY;
    if (h->n == HASH_MAX)
      return -ENOSPC;
    memcpy(h->keys[h->n], key, h->key_len);
    h->vals[h->n++] = val;
    return 0;
  }
  if (arr->valid)
    return al_owner_slot(arr, 0) == (int)slot ? -EEXIST : -EBUSY;
  *arr = val;
  return 0;
}

/* ---- the sim side ------------------------------------------------------ */

#define N_VIS 4          /* VIs with filters; vis[N_VIS] is "the kernel" */
#define N_BUF 16
#define BUF   2048
#define MAX_FILTERS 7

struct fz_vi {
  ef_driver_handle dh;
  ef_pd pd;
  ef_memreg mr;
  ef_vi vi;
  uint8_t* mem;
};

static struct fz_vi tx, vis[N_VIS + 1];
static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0x0a, 0x0a };
static const uint8_t mac_b[6] = { 2, 0, 0, 0, 0x0b, 0x0b };
static int ready;

static void vi_open(struct fz_vi* v, const char* ifname, int post)
{
  int k;

  if (ef_driver_open(&v->dh) < 0 ||
      ef_pd_alloc_by_name(&v->pd, v->dh, ifname, EF_PD_DEFAULT) < 0)
    fail("pd");
  v->mem = mmap(NULL, N_BUF * BUF, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (v->mem == MAP_FAILED ||
      ef_memreg_alloc(&v->mr, v->dh, &v->pd, v->dh, v->mem, N_BUF * BUF) < 0
      || ef_vi_alloc_from_pd(&v->vi, v->dh, &v->pd, v->dh, -1, 32, 32, NULL,
                             -1, EF_VI_FLAGS_DEFAULT) < 0)
    fail("vi");
  /* Every frame as an RX event, whatever its checksums. */
  ef_vi_receive_set_discards(&v->vi, 0);
  for (k = 0; post && k < N_BUF; k++)
    ef_vi_receive_init(&v->vi, ef_memreg_dma_addr(&v->mr, (size_t)k * BUF),
                       k);
  if (post)
    ef_vi_receive_push(&v->vi);
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
  struct anyload_sim_config lc;
  int k;

  (void)argc;
  (void)argv;
  setenv("ANYLOAD_BACKEND", "sim", 1);
  setenv("ANYLOAD_LOG", "0", 1);
  anyload_sim_config_init(&lc);
  memcpy(lc.mac_a, mac_a, 6);
  memcpy(lc.mac_b, mac_b, 6);
  if (anyload_sim_link_create("bfA", "bfB", &lc) < 0)
    fail("link");
  vi_open(&tx, "bfA", 0);
  /* The oldest VI without filters gets what nothing claims: open the
   * kernel's stand-in first. */
  vi_open(&vis[N_VIS], "bfB", 1);
  for (k = 0; k < N_VIS; k++)
    vi_open(&vis[k], "bfB", 1);
  memcpy(config_map.mac, mac_b, 6);
  config_map.layout_version = AL_LAYOUT_VERSION;
  ready = 1;
  return 0;
}

/* Value sets of the filters (network order where it matters). */
static const char* const ip4s[4] = { "198.18.0.2", "0.0.0.0", "198.18.0.1",
                                     "239.1.2.3" };
static const char* const ip6s[4] = { "fd00::2", "::", "fd00::1", "ff02::1" };
static const uint16_t ports[2] = { 9000, 9001 };
static const uint8_t protos[5] = { 17, 6, 1, 58, 47 };
static const uint16_t ethertypes[4] = { 0x0800, 0x86dd, 0x0806, 0x88f7 };
static const uint8_t macs[4][6] = {
  { 2, 0, 0, 0, 0x0b, 0x0b }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
  { 1, 0, 0x5e, 1, 2, 3 }, { 2, 0, 0, 0, 0x0c, 0x0c },
};
static const int vlans[4] = { -1, 5, 7, -1 };

/* spec_of: the filter that 4 input bytes describe; < 0 if the set-up
 * call refused it (then it is not installed anywhere). */
static int spec_of(const uint8_t* b, ef_filter_spec* fs)
{
  int proto = (b[2] & 0x20) ? IPPROTO_TCP : IPPROTO_UDP;
  uint32_t la = inet_addr(ip4s[b[1] & 3]), ra = inet_addr(ip4s[(b[1] >> 4) & 3]);
  struct in6_addr l6, r6;
  uint16_t lp = htons(ports[b[2] & 1]), rp = htons(ports[(b[2] >> 4) & 1]);
  int vlan = vlans[(b[3] >> 2) & 3], rc;

  inet_pton(AF_INET6, ip6s[b[1] & 3], &l6);
  inet_pton(AF_INET6, ip6s[(b[1] >> 4) & 3], &r6);
  ef_filter_spec_init(fs, (b[3] & 0x40) ? EF_FILTER_FLAG_WHOLE_FLOW
                                        : EF_FILTER_FLAG_NONE);
  switch ((b[0] >> 2) % 14) {
  case 0: return ef_filter_spec_set_ip4_local(fs, proto, la, lp);
  case 1: return ef_filter_spec_set_ip4_full(fs, proto, la, lp, ra, rp);
  case 2: return ef_filter_spec_set_ip6_local(fs, proto, &l6, lp);
  case 3: return ef_filter_spec_set_ip6_full(fs, proto, &l6, lp, &r6, rp);
  case 4:
    rc = ef_filter_spec_set_eth_local(fs, vlan < 0 ? EF_FILTER_VLAN_ID_ANY
                                                   : vlan, macs[b[3] & 3]);
    return rc;
  case 5:
    rc = ef_filter_spec_set_eth_type(fs, htons(ethertypes[(b[3] >> 4) & 3]));
    if (rc == 0 && vlan >= 0)
      rc = ef_filter_spec_set_vlan(fs, vlan);
    return rc;
  case 6: return ef_filter_spec_set_ip_proto(fs, protos[(b[1] & 7) % 5]);
  case 7: return ef_filter_spec_set_unicast_all(fs);
  case 8: return ef_filter_spec_set_multicast_all(fs);
  case 9: return ef_filter_spec_set_unicast_mismatch(fs);
  case 10: return ef_filter_spec_set_multicast_mismatch(fs);
  case 11: return ef_filter_spec_set_block_kernel(fs);
  case 12: return ef_filter_spec_set_block_kernel_unicast(fs);
  default: return ef_filter_spec_set_block_kernel_multicast(fs);
  }
}

/* sim_receiver: poll every receiving VI; the index of the one that got
 * the frame (N_VIS: the kernel's stand-in), or -1 if none did. */
static int sim_receiver(void)
{
  ef_event evs[16];
  int who = -1, k, n, i;

  for (k = 0; k <= N_VIS; k++) {
    while ((n = ef_eventq_poll(&vis[k].vi, evs, 16)) > 0)
      for (i = 0; i < n; i++) {
        int id;
        if (EF_EVENT_TYPE(evs[i]) == EF_EVENT_TYPE_RX)
          id = EF_EVENT_RX_RQ_ID(evs[i]);
        else if (EF_EVENT_TYPE(evs[i]) == EF_EVENT_TYPE_RX_DISCARD)
          id = EF_EVENT_RX_DISCARD_RQ_ID(evs[i]);
        else
          fail("an event other than RX");
        if (who >= 0)
          fail("a frame reached two VIs");
        who = k;
        ef_vi_receive_init(&vis[k].vi,
                           ef_memreg_dma_addr(&vis[k].mr, (size_t)id * BUF),
                           id);
        ef_vi_receive_push(&vis[k].vi);
      }
  }
  return who;
}

static void tx_frame(const uint8_t* f, size_t len)
{
  ef_request_id ids[EF_VI_TRANSMIT_BATCH];
  ef_event evs[16];
  int n, i, done = 0, tries;

  memcpy(tx.mem, f, len);
  if (ef_vi_transmit(&tx.vi, ef_memreg_dma_addr(&tx.mr, 0), (int)len, 0) < 0)
    fail("transmit");
  for (tries = 0; tries < 100 && !done; tries++)
    while ((n = ef_eventq_poll(&tx.vi, evs, 16)) > 0)
      for (i = 0; i < n; i++) {
        if (EF_EVENT_TYPE(evs[i]) != EF_EVENT_TYPE_TX)
          fail("transmit failed");
        ef_vi_transmit_unbundle(&tx.vi, &evs[i], ids);
        done = 1;
      }
  if (!done)
    fail("transmit never completed");
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  ef_filter_cookie cookies[MAX_FILTERS];
  int owner[MAX_FILTERS];
  const struct al_filter_val* v = NULL;
  struct fz_ctx ctx;
  size_t off = 1, len;
  unsigned nf, k, nc = 0;
  int want, got, cls;

  if (!ready || size < 1)
    return 0;
  maps_init();
  nf = data[0] & 7;
  for (k = 0; k < nf && off + 4 <= size; k++, off += 4) {
    ef_filter_spec fs;
    int vi = data[off] & 3, rs, rm;
    if (spec_of(data + off, &fs) < 0)
      continue;
    rs = ef_vi_filter_add(&vis[vi].vi, vis[vi].dh, &fs, &cookies[nc]);
    rm = maps_add(&fs, (uint32_t)vi);
    if (rs != rm) {
      fprintf(stderr, "filter %u on VI %d: sim %d, BPF maps %d\n", k, vi, rs,
              rm);
      fail("a filter is accepted or refused differently");
    }
    if (rs == 0)
      owner[nc++] = vi;
  }

  /* The frame, through both. */
  len = size - off;
  if (len > 1514)
    len = 1514;
  if (len > 0) {
    ctx.data = data + off;
    ctx.len = (uint32_t)len;
    cls = al_classify(&ctx, &v);
    switch (cls) {
    case AL_CLS_MATCH:
      if (!v || al_owner_slot(v, 0) < 0 || al_owner_slot(v, 0) >= N_VIS)
        fail("a match without a filter");
      want = al_owner_slot(v, 0);
      break;
    case AL_CLS_BLOCK:
      want = -1;
      break;
    default:
      want = N_VIS;
      break;
    }
    tx_frame(data + off, len);
    got = sim_receiver();
    if (got != want) {
      fprintf(stderr, "BPF class %d: VI %d; sim: VI %d (%d: the kernel)\n",
              cls, want, got, N_VIS);
      fail("the sim steers differently from the BPF lookup");
    }
  }
  for (k = 0; k < nc; k++)
    if (ef_vi_filter_del(&vis[owner[k]].vi, vis[owner[k]].dh, &cookies[k]))
      fail("filter_del");
  return 0;
}
