/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/sim_link.c: the simulated link model under the "sim" backend (VI
 * layer): the registry of links and their interfaces, the clock (real or
 * virtual), the per-direction fault pipeline and in-flight queues, the
 * random streams, the pcap writer, the ANYLOAD_SIM_LINKS parser and the
 * public anyload_sim_* API (anyload/sim.h).
 *
 * Call order: a sender's push calls sim_link_send (queue limit, rate,
 * mask, loss, truncation, corruption, duplication, reordering, latency)
 * which puts the frame on its direction's wire (or held) list; the
 * receiver's poll calls sim_link_pop for each frame whose arrival time has
 * come (counted, written to pcap). Clock changes notify sim_vi.c so VIs
 * re-arm their wake-up timers. See sim_int.h for the locking rules.
 */
#include "vi/sim_int.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The registry: the only mutable state of this file. virt and vnow are
 * also read without the lock (sim_now), through atomics. */
static struct {
  pthread_mutex_t  lock;
  pthread_once_t   once;
  struct sim_link* links;
  int              next_ifindex;
  int              env_rc;        /* ANYLOAD_SIM_LINKS result, set once */
  int              virt;          /* atomic */
  int64_t          vnow;          /* atomic */
} reg = {
  .lock = PTHREAD_MUTEX_INITIALIZER,
  .once = PTHREAD_ONCE_INIT,
  .next_ifindex = SIM_IFINDEX_BASE,
};

static int links_add(const char* spec, const char* what);

static void reg_init_once(void)
{
  const char* s = getenv("ANYLOAD_SIM_LINKS");
  if (s && *s)
    reg.env_rc = links_add(s, "ANYLOAD_SIM_LINKS");
}

/* reg_enter: read ANYLOAD_SIM_LINKS once, before any use of the registry,
 * and return its result. */
static int reg_enter(void)
{
  pthread_once(&reg.once, reg_init_once);
  return reg.env_rc;
}

/* ---- clock ------------------------------------------------------------- */

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sim_now(void)
{
  if (__atomic_load_n(&reg.virt, __ATOMIC_ACQUIRE))
    return __atomic_load_n(&reg.vnow, __ATOMIC_ACQUIRE);
  return mono_ns();
}

int sim_clock_virtual(void)
{
  return __atomic_load_n(&reg.virt, __ATOMIC_ACQUIRE);
}

/* ---- random streams ---------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014) turns a seed into the xoshiro256**
 * state (Blackman, Vigna 2018), as the xoshiro authors advise. */
static uint64_t splitmix64(uint64_t* x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void prng_seed(struct sim_prng* r, uint64_t seed, int dir)
{
  /* Each direction gets its own stream, so the faults of one do not
   * depend on how the two interleave. */
  uint64_t x = seed ^ ((uint64_t)dir * 0xd1b54a32d192ed03ull);
  int i;
  for (i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static uint64_t prng_next(struct sim_prng* r)
{
  uint64_t* s = r->s;
  uint64_t out = rotl64(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl64(s[3], 45);
  return out;
}

/* hit: true with probability p for a uniform draw r. The top 53 bits make
 * a double in [0, 1) exactly, so the outcome is the same on every host. */
static inline int hit(uint64_t r, double p)
{
  return (double)(r >> 11) * 0x1.0p-53 < p;
}

/* The draws every frame takes, whatever happens to it. */
enum {
  R_LOSS, R_TRUNC, R_TRUNC_LEN, R_CORRUPT, R_CORRUPT_POS, R_DUP, R_REORDER,
  R_DRAWS
};

/* ---- frames ------------------------------------------------------------ */

struct sim_frame* sim_frame_alloc(uint32_t len)
{
  struct sim_frame* f = malloc(sizeof(*f) + len);
  if (f) {
    memset(f, 0, sizeof(*f));
    f->len = len;
  }
  return f;
}

void sim_fifo_clear(struct sim_fifo* q)
{
  struct sim_frame* f;
  while ((f = sim_fifo_pop(q)))
    sim_frame_free(f);
}

/* ---- pcap -------------------------------------------------------------- */

/* Classic pcap with nanosecond timestamps (magic 0xa1b23c4d), in host byte
 * order, which readers recognise from the magic. */
static int pcap_header(FILE* fp)
{
  struct {
    uint32_t magic;
    uint16_t major, minor;
    int32_t  thiszone;
    uint32_t sigfigs, snaplen, linktype;
  } h = { 0xa1b23c4d, 2, 4, 0, 0, 65535, 1 /* LINKTYPE_ETHERNET */ };

  if (fwrite(&h, sizeof(h), 1, fp) != 1 || fflush(fp) != 0)
    return -EIO;
  return 0;
}

static void pcap_record(FILE* fp, const struct sim_frame* f)
{
  uint32_t h[4];
  int64_t t = f->arrival_ns < 0 ? 0 : f->arrival_ns;

  h[0] = (uint32_t)(t / 1000000000);
  h[1] = (uint32_t)(t % 1000000000);
  h[2] = f->len;
  h[3] = f->len;
  /* A failed write loses the capture, never the frame. */
  if (fwrite(h, sizeof(h), 1, fp) == 1)
    (void)fwrite(f->data, 1, f->len, fp);
  (void)fflush(fp);
}

/* ---- a direction ------------------------------------------------------- */

static int prob_ok(double p)
{
  return p >= 0.0 && p <= 1.0;   /* false for NaN */
}

static int dir_cfg_check(const struct anyload_sim_dir_config* c)
{
  if (!prob_ok(c->loss) || !prob_ok(c->reorder) || !prob_ok(c->duplicate) ||
      !prob_ok(c->corrupt) || !prob_ok(c->truncate))
    return -EINVAL;
  if (c->loss_mask_bits > ANYLOAD_SIM_MASK_BITS_MAX ||
      (c->loss_mask_bits && !c->loss_mask))
    return -EINVAL;
  return 0;
}

/* dir_set_cfg: take a checked configuration, with a copy of its mask. */
static int dir_set_cfg(struct sim_dir* d,
                       const struct anyload_sim_dir_config* c)
{
  uint8_t* mask = NULL;
  size_t bytes = ((size_t)c->loss_mask_bits + 7) / 8;

  if (bytes) {
    mask = malloc(bytes);
    if (!mask)
      return -ENOMEM;
    memcpy(mask, c->loss_mask, bytes);
  }
  free(d->mask);
  d->mask = mask;
  d->mask_base = d->n_offered;     /* a new mask counts from the next frame */
  d->cfg = *c;
  d->cfg.loss_mask = mask;
  if (!mask)
    d->cfg.loss_mask_bits = 0;
  if (!d->cfg.reorder_distance)
    d->cfg.reorder_distance = 1;
  return 0;
}

static void dir_free(struct sim_dir* d)
{
  sim_fifo_clear(&d->wire);
  sim_fifo_clear(&d->held);
  free(d->qdone);
  free(d->mask);
  d->qdone = NULL;
  d->mask = NULL;
}

/* The line's queue: departure times of the frames not yet sent out. */
static void queue_retire(struct sim_dir* d, int64_t now)
{
  while (d->qn && d->qdone[d->qhead] <= now) {
    d->qhead = (d->qhead + 1) & (d->qcap - 1);
    d->qn--;
  }
}

static int queue_push(struct sim_dir* d, int64_t done)
{
  if (d->qn == d->qcap) {
    uint32_t cap = d->qcap ? d->qcap * 2 : 64, i;
    int64_t* q = malloc(cap * sizeof(*q));
    if (!q)
      return -ENOMEM;
    for (i = 0; i < d->qn; i++)
      q[i] = d->qdone[(d->qhead + i) & (d->qcap - 1)];
    free(d->qdone);
    d->qdone = q;
    d->qcap = cap;
    d->qhead = 0;
  }
  /* qcap is a power of two: the mask wraps the index. */
  d->qdone[(d->qhead + d->qn) & (d->qcap - 1)] = done;
  d->qn++;
  return 0;
}

static int mask_bit(const struct sim_dir* d, uint64_t i)
{
  i -= d->mask_base;
  if (i >= d->cfg.loss_mask_bits)
    return 0;
  return (d->mask[i / 8] >> (i % 8)) & 1;
}

static int64_t add_sat(int64_t t, uint64_t d)
{
  if (d >= (uint64_t)(SIM_NEVER - 1 - t))
    return SIM_NEVER - 1;
  return t + (int64_t)d;
}

/* wire_append: put f at the end of the wire, keeping arrival times in
 * order (a lowered latency never lets a frame overtake one in flight). */
static void wire_append(struct sim_dir* d, struct sim_frame* f)
{
  if (d->wire.tail && d->wire.tail->arrival_ns > f->arrival_ns)
    f->arrival_ns = d->wire.tail->arrival_ns;
  sim_fifo_push(&d->wire, f);
}

/* held_countdown: one more frame went past the held ones; those that have
 * let enough pass follow it, in the order they were sent. */
static void held_countdown(struct sim_dir* d)
{
  struct sim_frame *f = d->held.head, *prev = NULL, *next;

  for (; f; f = next) {
    next = f->next;
    if (--f->countdown) {
      prev = f;
      continue;
    }
    if (prev)
      prev->next = next;
    else
      d->held.head = next;
    if (d->held.tail == f)
      d->held.tail = prev;
    d->held.n--;
    wire_append(d, f);
  }
}

void sim_link_send(struct sim_link* l, int end, struct sim_frame* f,
                   int64_t now, int64_t* done_ns)
{
  struct sim_dir* d = &l->dirs[end];
  const struct anyload_sim_dir_config* c = &d->cfg;
  uint64_t r[R_DRAWS], i = d->n_offered++;
  struct sim_frame* dup = NULL;
  int64_t done = now;
  int k;

  for (k = 0; k < R_DRAWS; k++)
    r[k] = prng_next(&d->rng);
  d->st.sent++;
  d->st.sent_bytes += f->len;
  *done_ns = now;

  if (d->wire.n + d->held.n >= ANYLOAD_SIM_IN_FLIGHT_MAX)
    goto drop_queue;
  if (c->rate_bps) {
    int64_t start = d->busy_until > now ? d->busy_until : now;
    uint64_t bits_ns = (uint64_t)f->len * 8 * 1000000000ull;
    uint64_t ser = bits_ns / c->rate_bps + (bits_ns % c->rate_bps != 0);

    queue_retire(d, now);
    if (c->queue_limit && d->qn >= c->queue_limit)
      goto drop_queue;
    done = add_sat(start, ser);
    if (queue_push(d, done) < 0)
      goto drop_queue;
    d->busy_until = done;
    *done_ns = done;
  }
  if (mask_bit(d, i)) {
    d->st.dropped_mask++;
    sim_frame_free(f);
    return;
  }
  if (hit(r[R_LOSS], c->loss)) {
    d->st.dropped_loss++;
    sim_frame_free(f);
    return;
  }
  f->arrival_ns = add_sat(done, c->latency_ns);

  if (f->len > SIM_ETH_HLEN && hit(r[R_TRUNC], c->truncate)) {
    f->len = SIM_ETH_HLEN +
             (uint32_t)(r[R_TRUNC_LEN] % (f->len - SIM_ETH_HLEN));
    d->st.truncated++;
  }
  if (f->len > SIM_ETH_HLEN && hit(r[R_CORRUPT], c->corrupt)) {
    uint64_t pos = SIM_ETH_HLEN + (r[R_CORRUPT_POS] >> 3) %
                                  (f->len - SIM_ETH_HLEN);
    f->data[pos] ^= (uint8_t)(1u << (r[R_CORRUPT_POS] & 7));
    d->st.corrupted++;
  }
  if (hit(r[R_DUP], c->duplicate)) {
    dup = sim_frame_alloc(f->len);
    if (dup) {
      memcpy(dup->data, f->data, f->len);
      dup->arrival_ns = f->arrival_ns;
      d->st.duplicated++;
    }
  }
  if (hit(r[R_REORDER], c->reorder)) {
    f->countdown = c->reorder_distance;
    sim_fifo_push(&d->held, f);
    if (dup) {
      dup->countdown = c->reorder_distance;
      sim_fifo_push(&d->held, dup);
    }
    d->st.reordered++;
    return;
  }
  wire_append(d, f);
  if (dup)
    wire_append(d, dup);
  if (d->held.head)
    held_countdown(d);
  return;

drop_queue:
  d->st.dropped_queue++;
  sim_frame_free(f);
}

struct sim_frame* sim_link_pop(struct sim_link* l, int to_end, int64_t now)
{
  struct sim_dir* d = &l->dirs[!to_end];
  struct sim_frame* f;

  /* Nothing else in flight could overtake the held frames any more: those
   * whose time has come go. */
  while (!d->wire.head && d->held.head && d->held.head->arrival_ns <= now)
    wire_append(d, sim_fifo_pop(&d->held));
  f = d->wire.head;
  if (!f || f->arrival_ns > now)
    return NULL;
  sim_fifo_pop(&d->wire);
  d->st.delivered++;
  d->st.delivered_bytes += f->len;
  if (l->pcap)
    pcap_record(l->pcap, f);
  return f;
}

int64_t sim_link_next_arrival(const struct sim_link* l, int to_end)
{
  const struct sim_dir* d = &l->dirs[!to_end];

  if (d->wire.head)
    return d->wire.head->arrival_ns;
  if (d->held.head)
    return d->held.head->arrival_ns;
  return SIM_NEVER;
}

/* ---- registry ---------------------------------------------------------- */

/* Locally administered MAC from the interface name (FNV-1a), so a name
 * always gets the same address whatever the order of creation. */
static void mac_from_name(const char* name, uint8_t mac[6])
{
  uint64_t h = 0xcbf29ce484222325ull;
  int i;

  for (; *name; name++)
    h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
  mac[0] = 0x02;
  for (i = 1; i < 6; i++)
    mac[i] = (uint8_t)(h >> (8 * i));
}

static int mac_is_zero(const uint8_t mac[6])
{
  return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static struct sim_if* find_name_locked(const char* name)
{
  struct sim_link* l;
  int e;

  for (l = reg.links; l; l = l->next)
    for (e = 0; e < 2; e++)
      if (!strcmp(l->ifs[e].name, name))
        return &l->ifs[e];
  return NULL;
}

static struct sim_if* find_index_locked(int ifindex)
{
  struct sim_link* l;
  int e;

  for (l = reg.links; l; l = l->next)
    for (e = 0; e < 2; e++)
      if (l->ifs[e].ifindex == ifindex)
        return &l->ifs[e];
  return NULL;
}

static int name_ok(const char* n)
{
  return n && *n && strlen(n) < IF_NAMESIZE;
}

static void link_free(struct sim_link* l)
{
  dir_free(&l->dirs[0]);
  dir_free(&l->dirs[1]);
  if (l->pcap)
    fclose(l->pcap);
  pthread_mutex_destroy(&l->lock);
  free(l);
}

static int link_create_locked(const char* a, const char* b,
                              const struct anyload_sim_config* cfg,
                              struct sim_link** out)
{
  struct anyload_sim_config def;
  struct sim_link* l;
  int e, rc;

  if (!cfg) {
    anyload_sim_config_init(&def);
    cfg = &def;
  }
  if (!name_ok(a) || !name_ok(b) || !strcmp(a, b) ||
      cfg->size != sizeof(*cfg))
    return -EINVAL;
  if ((cfg->mtu && (cfg->mtu < ANYLOAD_SIM_MTU_MIN ||
                    cfg->mtu > ANYLOAD_SIM_MTU_MAX)) || cfg->gso > 1 ||
      dir_cfg_check(&cfg->a_to_b) < 0 || dir_cfg_check(&cfg->b_to_a) < 0)
    return -EINVAL;
  if (find_name_locked(a) || find_name_locked(b))
    return -EEXIST;
  if (reg.next_ifindex > INT32_MAX - 2)
    return -ENOSPC;
  l = calloc(1, sizeof(*l));
  if (!l)
    return -ENOMEM;
  pthread_mutex_init(&l->lock, NULL);
  if ((rc = dir_set_cfg(&l->dirs[0], &cfg->a_to_b)) < 0 ||
      (rc = dir_set_cfg(&l->dirs[1], &cfg->b_to_a)) < 0) {
    link_free(l);
    return rc;
  }
  for (e = 0; e < 2; e++) {
    struct sim_if* ifp = &l->ifs[e];
    const uint8_t* mac = e ? cfg->mac_b : cfg->mac_a;

    snprintf(ifp->name, sizeof(ifp->name), "%s", e ? b : a);
    ifp->ifindex = reg.next_ifindex++;
    if (mac_is_zero(mac))
      mac_from_name(ifp->name, ifp->mac);
    else
      memcpy(ifp->mac, mac, 6);
    ifp->mtu = cfg->mtu ? cfg->mtu : 1500;
    ifp->gso = cfg->gso;
    ifp->link = l;
    ifp->end = e;
    prng_seed(&l->dirs[e].rng, cfg->seed, e);
  }
  l->next = reg.links;
  reg.links = l;
  *out = l;
  return 0;
}

/* link_unlink_locked: take l off the registry list, if it has no VIs. */
static int link_unlink_locked(struct sim_link* l)
{
  struct sim_link** pp;
  int busy;

  pthread_mutex_lock(&l->lock);
  busy = l->ifs[0].vis || l->ifs[1].vis;
  pthread_mutex_unlock(&l->lock);
  if (busy)
    return -EBUSY;
  for (pp = &reg.links; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      break;
    }
  return 0;
}

static int pcap_open_locked(struct sim_link* l, const char* path)
{
  FILE* fp = NULL;
  int rc;

  if (path) {
    fp = fopen(path, "wbe");
    if (!fp)
      return -errno;
    rc = pcap_header(fp);
    if (rc < 0) {
      fclose(fp);
      return rc;
    }
  }
  if (l->pcap)
    fclose(l->pcap);
  l->pcap = fp;
  return 0;
}

int sim_if_find_name(const char* name, int* ifindex_out)
{
  struct sim_if* ifp;
  int rc = reg_enter();

  if (rc < 0)
    return rc;
  pthread_mutex_lock(&reg.lock);
  ifp = find_name_locked(name);
  if (ifp)
    *ifindex_out = ifp->ifindex;
  pthread_mutex_unlock(&reg.lock);
  return ifp ? 0 : -ENODEV;
}

int sim_if_find_index(int ifindex, char name[IF_NAMESIZE])
{
  struct sim_if* ifp;
  int rc = reg_enter();

  if (rc < 0)
    return rc;
  pthread_mutex_lock(&reg.lock);
  ifp = find_index_locked(ifindex);
  if (ifp)
    memcpy(name, ifp->name, IF_NAMESIZE);
  pthread_mutex_unlock(&reg.lock);
  return ifp ? 0 : -ENODEV;
}

int sim_if_get(int ifindex, struct sim_if** out)
{
  struct sim_if* ifp;
  int rc = reg_enter();

  if (rc < 0)
    return rc;
  pthread_mutex_lock(&reg.lock);
  ifp = find_index_locked(ifindex);
  if (ifp)
    pthread_mutex_lock(&ifp->link->lock);
  pthread_mutex_unlock(&reg.lock);
  if (!ifp)
    return -ENODEV;
  *out = ifp;
  return 0;
}

struct sim_link* sim_link_by_name(const char* name, int* end_out)
{
  struct sim_if* ifp;

  if (reg_enter() < 0 || !name)
    return NULL;
  pthread_mutex_lock(&reg.lock);
  ifp = find_name_locked(name);
  pthread_mutex_unlock(&reg.lock);
  if (!ifp)
    return NULL;
  if (end_out)
    *end_out = ifp->end;
  return ifp->link;
}

/* ---- public API: links ------------------------------------------------- */

void anyload_sim_config_init(struct anyload_sim_config* cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->size = sizeof(*cfg);
  cfg->mtu = 1500;
  cfg->a_to_b.reorder_distance = 1;
  cfg->b_to_a.reorder_distance = 1;
}

int anyload_sim_link_create(const char* if_a, const char* if_b,
                            const struct anyload_sim_config* cfg)
{
  struct sim_link* l;
  int rc;

  reg_enter();
  pthread_mutex_lock(&reg.lock);
  rc = link_create_locked(if_a, if_b, cfg, &l);
  pthread_mutex_unlock(&reg.lock);
  if (rc == 0)
    al_info("sim link %s-%s created", if_a, if_b);
  return rc;
}

int anyload_sim_link_destroy(const char* ifname)
{
  struct sim_if* ifp;
  struct sim_link* l = NULL;
  int rc = -ENODEV;

  reg_enter();
  if (!ifname)
    return -ENODEV;
  pthread_mutex_lock(&reg.lock);
  ifp = find_name_locked(ifname);
  if (ifp) {
    l = ifp->link;
    rc = link_unlink_locked(l);
  }
  pthread_mutex_unlock(&reg.lock);
  if (rc == 0)
    link_free(l);
  return rc;
}

/* with_link: run fn on the link of interface `name` (end of that
 * interface), under the registry and link locks. */
static int with_link(const char* name,
                     int (*fn)(struct sim_link*, int, void*), void* arg)
{
  struct sim_if* ifp;
  int rc = -ENODEV;

  reg_enter();
  if (!name)
    return -ENODEV;
  pthread_mutex_lock(&reg.lock);
  ifp = find_name_locked(name);
  if (ifp) {
    pthread_mutex_lock(&ifp->link->lock);
    rc = fn(ifp->link, ifp->end, arg);
    pthread_mutex_unlock(&ifp->link->lock);
  }
  pthread_mutex_unlock(&reg.lock);
  return rc;
}

static int set_faults_fn(struct sim_link* l, int end, void* arg)
{
  return dir_set_cfg(&l->dirs[end], arg);
}

int anyload_sim_link_set_faults(const char* from_if,
                                const struct anyload_sim_dir_config* dir)
{
  if (!dir || dir_cfg_check(dir) < 0)
    return -EINVAL;
  return with_link(from_if, set_faults_fn, (void*)dir);
}

static int pcap_fn(struct sim_link* l, int end, void* arg)
{
  (void)end;
  return pcap_open_locked(l, arg);
}

int anyload_sim_link_pcap(const char* ifname, const char* path)
{
  return with_link(ifname, pcap_fn, (void*)path);
}

struct stats_arg {
  struct anyload_sim_stats* out;
  int reset;
};

static int stats_fn(struct sim_link* l, int end, void* arg)
{
  struct stats_arg* a = arg;
  struct sim_dir* d = &l->dirs[end];

  *a->out = d->st;
  a->out->in_flight = d->wire.n + d->held.n;
  if (a->reset)
    memset(&d->st, 0, sizeof(d->st));
  return 0;
}

int anyload_sim_link_stats(const char* from_if, struct anyload_sim_stats* out,
                           int do_reset)
{
  struct stats_arg a = { out, do_reset };
  if (!out)
    return -EINVAL;
  return with_link(from_if, stats_fn, &a);
}

/* ---- public API: clock ------------------------------------------------- */

static void lock_all_locked(void)
{
  struct sim_link* l;
  for (l = reg.links; l; l = l->next)
    pthread_mutex_lock(&l->lock);
}

static void unlock_all_locked(void)
{
  struct sim_link* l;
  for (l = reg.links; l; l = l->next)
    pthread_mutex_unlock(&l->lock);
}

static int in_flight_all_locked(void)
{
  struct sim_link* l;
  int e;
  for (l = reg.links; l; l = l->next)
    for (e = 0; e < 2; e++)
      if (l->dirs[e].wire.n || l->dirs[e].held.n)
        return 1;
  return 0;
}

/* notify_link: tell l's VIs the clock moved (l's lock held). A new time
 * base also empties the lines' queues: nothing is in flight, and the old
 * departure times mean nothing now. */
static void notify_link(struct sim_link* l, int64_t now, int rebase)
{
  int e;
  for (e = 0; e < 2; e++) {
    if (rebase) {
      l->dirs[e].busy_until = now;
      l->dirs[e].qn = 0;
      l->dirs[e].qhead = 0;
    }
    sim_vi_clock_changed(&l->ifs[e], now, rebase);
  }
}

/* clock_forward_locked: the virtual clock moves to t >= its time. */
static void clock_forward_locked(int64_t t)
{
  struct sim_link* l;

  __atomic_store_n(&reg.vnow, t, __ATOMIC_RELEASE);
  for (l = reg.links; l; l = l->next) {
    pthread_mutex_lock(&l->lock);
    notify_link(l, t, 0);
    pthread_mutex_unlock(&l->lock);
  }
}

/* clock_rebase_locked: switch clocks (virt, at t) with every link empty. */
static int clock_rebase_locked(int virt, int64_t t)
{
  struct sim_link* l;

  lock_all_locked();
  if (in_flight_all_locked()) {
    unlock_all_locked();
    return -EBUSY;
  }
  __atomic_store_n(&reg.vnow, t, __ATOMIC_RELEASE);
  __atomic_store_n(&reg.virt, virt, __ATOMIC_RELEASE);
  if (!virt)
    t = mono_ns();
  for (l = reg.links; l; l = l->next)
    notify_link(l, t, 1);
  unlock_all_locked();
  return 0;
}

int anyload_sim_clock_set(int64_t now_ns)
{
  int rc = 0;

  if (now_ns < 0)
    return -EINVAL;
  reg_enter();
  pthread_mutex_lock(&reg.lock);
  if (reg.virt && now_ns >= reg.vnow)
    clock_forward_locked(now_ns);
  else
    rc = clock_rebase_locked(1, now_ns);
  pthread_mutex_unlock(&reg.lock);
  return rc;
}

int anyload_sim_clock_advance(int64_t delta_ns)
{
  int rc = 0;

  reg_enter();
  pthread_mutex_lock(&reg.lock);
  if (!reg.virt || delta_ns < 0 || delta_ns > SIM_NEVER - 1 - reg.vnow)
    rc = -EINVAL;
  else
    clock_forward_locked(reg.vnow + delta_ns);
  pthread_mutex_unlock(&reg.lock);
  return rc;
}

int anyload_sim_clock_real(void)
{
  int rc = 0;

  reg_enter();
  pthread_mutex_lock(&reg.lock);
  if (reg.virt)
    rc = clock_rebase_locked(0, 0);
  pthread_mutex_unlock(&reg.lock);
  return rc;
}

int64_t anyload_sim_clock_now(void)
{
  return sim_now();
}

int anyload_sim_clock_is_virtual(void)
{
  return sim_clock_virtual();
}

int64_t anyload_sim_next_event(void)
{
  struct sim_link* l;
  int64_t t = INT64_MAX, x;
  int e;

  reg_enter();
  pthread_mutex_lock(&reg.lock);
  for (l = reg.links; l; l = l->next) {
    pthread_mutex_lock(&l->lock);
    for (e = 0; e < 2; e++) {
      x = sim_link_next_arrival(l, e);
      t = x < t ? x : t;
      x = sim_vi_next_tx(&l->ifs[e]);
      t = x < t ? x : t;
    }
    pthread_mutex_unlock(&l->lock);
  }
  pthread_mutex_unlock(&reg.lock);
  return t;
}

/* ---- the ANYLOAD_SIM_LINKS syntax -------------------------------------- */

struct spec_link {
  char     a[IF_NAMESIZE], b[IF_NAMESIZE];
  struct anyload_sim_config cfg;
  uint8_t* mask[2];
  char*    pcap;
};

struct parser {
  const char* spec;
  const char* p;
  const char* what;     /* for messages */
};

static int parse_error(struct parser* ps, const char* at, const char* msg)
{
  al_err("%s: %s at offset %d (\"%.24s\")", ps->what, msg,
         (int)(at - ps->spec), at);
  return -EINVAL;
}

static int parse_name(struct parser* ps, char out[IF_NAMESIZE])
{
  const char* s = ps->p;
  size_t n = 0;

  while (isalnum((unsigned char)s[n]) || s[n] == '_')
    n++;
  if (n == 0)
    return parse_error(ps, s, "interface name expected");
  if (n >= IF_NAMESIZE)
    return parse_error(ps, s, "interface name too long");
  memcpy(out, s, n);
  out[n] = '\0';
  ps->p = s + n;
  return 0;
}

static int parse_u64(const char* v, size_t n, uint64_t* out)
{
  uint64_t x = 0;
  size_t i;

  if (n == 0)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
      return -EINVAL;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  *out = x;
  return 0;
}

static int parse_prob(const char* v, size_t n, double* out)
{
  char buf[32];
  char* end;
  double x;

  if (n == 0 || n >= sizeof(buf))
    return -EINVAL;
  memcpy(buf, v, n);
  buf[n] = '\0';
  if (!isdigit((unsigned char)buf[0]) && buf[0] != '.')
    return -EINVAL;
  errno = 0;
  x = strtod(buf, &end);
  if (errno || *end || !prob_ok(x))
    return -EINVAL;
  *out = x;
  return 0;
}

static int parse_mac(const char* v, size_t n, uint8_t mac[6])
{
  int i;

  if (n != 17)
    return -EINVAL;
  for (i = 0; i < 6; i++) {
    const char* h = v + 3 * i;
    if (!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1]) ||
        (i < 5 && h[2] != ':'))
      return -EINVAL;
    mac[i] = (uint8_t)((isdigit((unsigned char)h[0]) ? h[0] - '0'
                          : (tolower((unsigned char)h[0]) - 'a' + 10)) << 4 |
                       (isdigit((unsigned char)h[1]) ? h[1] - '0'
                          : (tolower((unsigned char)h[1]) - 'a' + 10)));
  }
  return 0;
}

static int parse_mask(const char* v, size_t n, uint8_t** out, uint32_t* bits)
{
  uint8_t* m;
  size_t i;

  if (n == 0 || n > ANYLOAD_SIM_MASK_BITS_MAX)
    return -EINVAL;
  for (i = 0; i < n; i++)
    if (v[i] != '0' && v[i] != '1')
      return -EINVAL;
  m = calloc((n + 7) / 8, 1);
  if (!m)
    return -ENOMEM;
  for (i = 0; i < n; i++)
    if (v[i] == '1')
      m[i / 8] |= (uint8_t)(1u << (i % 8));
  free(*out);
  *out = m;
  *bits = (uint32_t)n;
  return 0;
}

/* A per-direction key whose value is an integer times a unit. */
static const struct {
  const char* key;
  int         field;    /* 0 latency, 1 rate, 2 queue, 3 distance */
  uint64_t    unit;
} int_keys[] = {
  { "latency_ns", 0, 1 }, { "latency_us", 0, 1000 },
  { "latency_ms", 0, 1000000 },
  { "rate_bps", 1, 1 }, { "rate_kbps", 1, 1000 },
  { "rate_mbps", 1, 1000000 }, { "rate_gbps", 1, 1000000000 },
  { "queue", 2, 1 }, { "reorder_distance", 3, 1 },
};

static int key_is(const char* k, size_t kn, const char* name)
{
  return strlen(name) == kn && !memcmp(k, name, kn);
}

/* parse_option: key=value (k, kn, v, vn) for the directions in dirmask. */
static int parse_option(struct parser* ps, struct spec_link* sl,
                        const char* k, size_t kn, const char* v, size_t vn,
                        unsigned dirmask)
{
  struct anyload_sim_dir_config* d[2] = { &sl->cfg.a_to_b, &sl->cfg.b_to_a };
  double* prob[2] = { NULL, NULL };
  uint64_t x;
  size_t i;
  int e, rc;

  for (i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++) {
    if (!key_is(k, kn, int_keys[i].key))
      continue;
    if (parse_u64(v, vn, &x) < 0 || x > UINT64_MAX / int_keys[i].unit)
      return parse_error(ps, v, "bad number");
    x *= int_keys[i].unit;
    if (int_keys[i].field >= 2 && x > UINT32_MAX)
      return parse_error(ps, v, "number too large");
    for (e = 0; e < 2; e++) {
      if (!(dirmask & (1u << e)))
        continue;
      switch (int_keys[i].field) {
      case 0: d[e]->latency_ns = x; break;
      case 1: d[e]->rate_bps = x; break;
      case 2: d[e]->queue_limit = (uint32_t)x; break;
      default: d[e]->reorder_distance = (uint32_t)x; break;
      }
    }
    return 0;
  }
  for (e = 0; e < 2; e++) {
    if (key_is(k, kn, "loss"))
      prob[e] = &d[e]->loss;
    else if (key_is(k, kn, "reorder"))
      prob[e] = &d[e]->reorder;
    else if (key_is(k, kn, "duplicate"))
      prob[e] = &d[e]->duplicate;
    else if (key_is(k, kn, "corrupt"))
      prob[e] = &d[e]->corrupt;
    else if (key_is(k, kn, "truncate"))
      prob[e] = &d[e]->truncate;
  }
  if (prob[0]) {
    double p;
    if (parse_prob(v, vn, &p) < 0)
      return parse_error(ps, v, "bad probability (0..1 expected)");
    for (e = 0; e < 2; e++)
      if (dirmask & (1u << e))
        *prob[e] = p;
    return 0;
  }
  if (key_is(k, kn, "loss_mask")) {
    for (e = 0; e < 2; e++) {
      if (!(dirmask & (1u << e)))
        continue;
      rc = parse_mask(v, vn, &sl->mask[e], &d[e]->loss_mask_bits);
      if (rc < 0)
        return rc == -ENOMEM ? rc
                             : parse_error(ps, v, "bad loss mask (0s and 1s)");
      d[e]->loss_mask = sl->mask[e];
    }
    return 0;
  }
  if (dirmask != 3)
    return parse_error(ps, k, "option of the whole link has a direction");
  if (key_is(k, kn, "seed")) {
    if (parse_u64(v, vn, &sl->cfg.seed) < 0)
      return parse_error(ps, v, "bad seed");
    return 0;
  }
  if (key_is(k, kn, "mtu")) {
    if (parse_u64(v, vn, &x) < 0 || x < ANYLOAD_SIM_MTU_MIN ||
        x > ANYLOAD_SIM_MTU_MAX)
      return parse_error(ps, v, "bad MTU");
    sl->cfg.mtu = (unsigned)x;
    return 0;
  }
  if (key_is(k, kn, "gso")) {
    if (parse_u64(v, vn, &x) < 0 || x > 1)
      return parse_error(ps, v, "bad gso (0 or 1)");
    sl->cfg.gso = (unsigned)x;
    return 0;
  }
  if (key_is(k, kn, "mac_a") || key_is(k, kn, "mac_b")) {
    if (parse_mac(v, vn, k[4] == 'a' ? sl->cfg.mac_a : sl->cfg.mac_b) < 0)
      return parse_error(ps, v, "bad MAC address");
    return 0;
  }
  if (key_is(k, kn, "pcap")) {
    if (vn == 0)
      return parse_error(ps, v, "empty pcap path");
    free(sl->pcap);
    sl->pcap = strndup(v, vn);
    return sl->pcap ? 0 : -ENOMEM;
  }
  return parse_error(ps, k, "unknown option");
}

static int parse_link(struct parser* ps, struct spec_link* sl)
{
  int rc;

  anyload_sim_config_init(&sl->cfg);
  if ((rc = parse_name(ps, sl->a)) < 0)
    return rc;
  if (*ps->p != '-')
    return parse_error(ps, ps->p, "'-' expected between interface names");
  ps->p++;
  if ((rc = parse_name(ps, sl->b)) < 0)
    return rc;
  if (*ps->p != ':')
    return 0;
  do {
    const char *k, *eq, *v;
    unsigned dirmask = 3;

    ps->p++;
    k = ps->p;
    if (!strncmp(k, "ab.", 3) || !strncmp(k, "ba.", 3)) {
      dirmask = k[0] == 'a' ? 1 : 2;
      k += 3;
    }
    eq = k;
    while (*eq && *eq != '=' && *eq != ',' && *eq != ';')
      eq++;
    if (*eq != '=' || eq == k)
      return parse_error(ps, k, "key=value expected");
    v = eq + 1;
    ps->p = v;
    while (*ps->p && *ps->p != ',' && *ps->p != ';' &&
           !isspace((unsigned char)*ps->p))
      ps->p++;
    rc = parse_option(ps, sl, k, (size_t)(eq - k), v, (size_t)(ps->p - v),
                      dirmask);
    if (rc < 0)
      return rc;
  } while (*ps->p == ',');
  return 0;
}

static void spec_links_free(struct spec_link* sl, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    free(sl[i].mask[0]);
    free(sl[i].mask[1]);
    free(sl[i].pcap);
  }
  free(sl);
}

static int links_add(const char* spec, const char* what)
{
  struct parser ps = { spec, spec, what };
  struct spec_link* sl;
  struct sim_link** made;
  size_t n = 1, nl = 0, i, done = 0;
  const char* s;
  int rc = 0;

  if (!spec)
    return -EINVAL;
  for (s = spec; *s; s++)
    n += *s == ';';
  sl = calloc(n, sizeof(*sl));
  made = calloc(n, sizeof(*made));
  if (!sl || !made) {
    free(sl);
    free(made);
    return -ENOMEM;
  }
  /* Parse everything first: a bad spec creates nothing. */
  for (i = 0; i < n; i++) {
    while (isspace((unsigned char)*ps.p))
      ps.p++;
    if (!*ps.p && i > 0)
      break;    /* a trailing ';' */
    rc = parse_link(&ps, &sl[i]);
    if (rc < 0)
      goto out;
    while (isspace((unsigned char)*ps.p))
      ps.p++;
    if (*ps.p == ';') {
      ps.p++;
    } else if (*ps.p) {
      rc = parse_error(&ps, ps.p, "',' or ';' expected");
      goto out;
    }
    nl++;
  }
  pthread_mutex_lock(&reg.lock);
  for (i = 0; i < nl && rc == 0; i++) {
    rc = link_create_locked(sl[i].a, sl[i].b, &sl[i].cfg, &made[i]);
    if (rc == 0) {
      done++;
      if (sl[i].pcap)
        rc = pcap_open_locked(made[i], sl[i].pcap);
    }
    if (rc < 0)
      al_err("%s: link %s-%s: %s", what, sl[i].a, sl[i].b, strerror(-rc));
  }
  if (rc < 0)
    for (i = 0; i < done; i++)
      if (link_unlink_locked(made[i]) == 0)
        link_free(made[i]);
  pthread_mutex_unlock(&reg.lock);
out:
  spec_links_free(sl, n);
  free(made);
  return rc;
}

int anyload_sim_links_add(const char* spec)
{
  int rc = reg_enter();
  /* A bad ANYLOAD_SIM_LINKS does not stop links made here. */
  (void)rc;
  return links_add(spec, "anyload_sim_links_add");
}
