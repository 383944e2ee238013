/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cplane/cp_table.c: the control plane's tables (links, addresses, routes,
 * neighbours, the accelerated set) and the lookups over them. Pure: no
 * I/O, no clock (time comes in as now_ns), no file-scope state, so that it
 * can be tested on hand-built tables. Layout and re-dump protocol: see
 * cp_int.h.
 *
 * The route lookup re-creates the kernel's ip_route_output_key_hash_rcu()
 * and fib_table_lookup() for a flow with TOS 0, no mark, the default rules
 * and no VRF (net/ipv4/route.c, net/ipv4/fib_trie.c, behaviour as of Linux
 * 6.x):
 *   1. a source, if given, must be local; with a multicast or limited
 *      broadcast destination and no oif it picks the outgoing interface;
 *   2. an oif must exist and be up; link-local multicast and
 *      255.255.255.255 leave through it without a lookup;
 *   3. the local and main tables are one trie when no custom rule exists
 *      (fib_lookup without fib_has_custom_rules): longest prefix first,
 *      then local before main, then lower metric, then the kernel's alias
 *      order; a route of an error type ends the lookup with its error; a
 *      dead next hop, or one not through oif, is skipped;
 *   4. if that fails, the default table (253) is tried when it has routes;
 *   5. if everything fails and oif was given, the destination is assumed
 *      on-link through oif ("Apparently, routing tables are wrong");
 *   6. the source is the route's prefsrc, else inet_select_addr() on the
 *      outgoing interface with the route's scope.
 */
#include "cplane/cp_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* stable_sort's fallback copies one element through a 64-byte buffer. */
_Static_assert(sizeof(struct cp_link_ent) <= 64, "link entry size");
_Static_assert(sizeof(struct cp_addr_ent) <= 64, "address entry size");
_Static_assert(sizeof(struct cp_neigh_ent) <= 64, "neighbour entry size");

static int grow(void** v, size_t* cap, size_t need, size_t esz, size_t max)
{
  size_t ncap;
  void* nv;

  if (need <= *cap)
    return 0;
  if (need > max)
    return -ENOSPC;
  ncap = *cap ? *cap * 2 : 16;
  if (ncap < need)
    ncap = need;
  if (ncap > max)
    ncap = max;
  nv = realloc(*v, ncap * esz);
  if (!nv)
    return -ENOMEM;
  *v = nv;
  *cap = ncap;
  return 0;
}

/* stable_sort: a stable merge sort (qsort is not stable, and a re-dump
 * keeps the last report of a key). Falls back to insertion sort when the
 * scratch buffer cannot be allocated. */
static void stable_sort(void* base, size_t n, size_t esz,
                        int (*cmp)(const void*, const void*))
{
  char* a = base;
  char* tmp;
  size_t width, lo, i, j, k;

  if (n < 2)
    return;
  tmp = malloc(n * esz);
  if (!tmp) {
    char x[64];
    if (esz > sizeof(x))
      return;
    for (i = 1; i < n; i++) {
      memcpy(x, a + i * esz, esz);
      for (j = i; j > 0 && cmp(a + (j - 1) * esz, x) > 0; j--)
        memcpy(a + j * esz, a + (j - 1) * esz, esz);
      memcpy(a + j * esz, x, esz);
    }
    return;
  }
  for (width = 1; width < n; width *= 2) {
    for (lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      i = lo;
      j = mid;
      k = lo;
      while (i < mid && j < hi) {
        if (cmp(a + j * esz, a + i * esz) < 0)
          memcpy(tmp + k++ * esz, a + j++ * esz, esz);
        else
          memcpy(tmp + k++ * esz, a + i++ * esz, esz);
      }
      memcpy(tmp + k * esz, a + i * esz, (mid - i) * esz);
      k += mid - i;
      memcpy(tmp + k * esz, a + j * esz, (hi - j) * esz);
    }
    memcpy(a, tmp, n * esz);
  }
  free(tmp);
}

static void bump(struct cp_table* t, int route)
{
  t->gen++;
  if (route)
    t->route_gen++;
}

static uint32_t mask_be(unsigned len)
{
  return len ? htonl(~0u << (32 - len)) : 0;
}

static int is_multicast(uint32_t a_be)
{
  return (ntohl(a_be) & 0xf0000000u) == 0xe0000000u;
}

static int is_local_multicast(uint32_t a_be)
{
  return (ntohl(a_be) & 0xffffff00u) == 0xe0000000u;
}

static int is_lbcast(uint32_t a_be)
{
  return a_be == 0xffffffffu;
}

static int is_zeronet(uint32_t a_be)
{
  return (ntohl(a_be) & 0xff000000u) == 0;
}

static int is_loopback(uint32_t a_be)
{
  return (ntohl(a_be) & 0xff000000u) == 0x7f000000u;
}

/* ---- links ---- */

/* link_pos: index of ifindex in the sorted links, or of where it goes. */
static size_t link_pos(const struct cp_table* t, int ifindex, int* found)
{
  size_t lo = 0, hi = t->n_links;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->links[mid].ifindex < ifindex)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < t->n_links && t->links[lo].ifindex == ifindex;
  return lo;
}

const struct cp_link_ent* cp__tbl_link_find(const struct cp_table* t,
                                            int ifindex)
{
  int found;
  size_t i;

  if (t->sync[CP_K_LINKS].active)
    return NULL;
  i = link_pos(t, ifindex, &found);
  return found ? &t->links[i] : NULL;
}

static int link_equal(const struct cp_link_ent* a,
                      const struct cp_link_ent* b)
{
  return a->ifindex == b->ifindex && a->flags == b->flags &&
         a->mtu == b->mtu && a->arptype == b->arptype &&
         a->mac_len == b->mac_len && !memcmp(a->mac, b->mac, 6) &&
         !strncmp(a->name, b->name, IF_NAMESIZE);
}

int cp__tbl_link_update(struct cp_table* t, const struct cp_link_ent* e)
{
  struct cp_link_ent* l;
  int found, rc;
  size_t i;

  if (e->ifindex <= 0)
    return 0;
  if (t->sync[CP_K_LINKS].active) {
    rc = grow((void**)&t->links, &t->cap_links, t->n_links + 1,
              sizeof(*t->links), CP_MAX_LINKS);
    if (rc < 0) {
      t->stats.table_full++;
      return rc;
    }
    t->links[t->n_links++] = *e;
    return 1;
  }
  i = link_pos(t, e->ifindex, &found);
  if (found) {
    l = &t->links[i];
    if (link_equal(l, e))
      return 0;
    if ((l->flags ^ e->flags) & IFF_UP)
      t->pending |= CP_PEND(CP_K_ROUTES);
    *l = *e;
    bump(t, 1);
    return 1;
  }
  rc = grow((void**)&t->links, &t->cap_links, t->n_links + 1,
            sizeof(*t->links), CP_MAX_LINKS);
  if (rc < 0) {
    t->stats.table_full++;
    return rc;
  }
  memmove(&t->links[i + 1], &t->links[i],
          (t->n_links - i) * sizeof(*t->links));
  t->links[i] = *e;
  t->n_links++;
  bump(t, 1);
  return 1;
}

/* ---- addresses ---- */

static int addr_same_key(const struct cp_addr_ent* a,
                         const struct cp_addr_ent* b)
{
  return a->ifindex == b->ifindex && a->local_be32 == b->local_be32 &&
         a->prefix_len == b->prefix_len && a->peer_be32 == b->peer_be32;
}

static int addr_equal(const struct cp_addr_ent* a,
                      const struct cp_addr_ent* b)
{
  return addr_same_key(a, b) && a->bcast_be32 == b->bcast_be32 &&
         a->flags == b->flags && a->scope == b->scope;
}

int cp__tbl_addr_update(struct cp_table* t, const struct cp_addr_ent* e)
{
  size_t i, at;
  int rc;

  if (!t->sync[CP_K_ADDRS].active) {
    for (i = 0; i < t->n_addrs; i++) {
      if (!addr_same_key(&t->addrs[i], e))
        continue;
      if (addr_equal(&t->addrs[i], e))
        return 0;
      t->addrs[i] = *e;
      bump(t, 1);
      return 1;
    }
  }
  rc = grow((void**)&t->addrs, &t->cap_addrs, t->n_addrs + 1,
            sizeof(*t->addrs), CP_MAX_ADDRS);
  if (rc < 0) {
    t->stats.table_full++;
    return rc;
  }
  if (t->sync[CP_K_ADDRS].active) {
    t->addrs[t->n_addrs++] = *e;
    return 1;
  }
  /* After the last address of the same or a lower ifindex: interfaces in
   * ifindex order, each interface's addresses in arrival order. */
  for (at = t->n_addrs; at > 0 && t->addrs[at - 1].ifindex > e->ifindex;
       at--)
    ;
  memmove(&t->addrs[at + 1], &t->addrs[at],
          (t->n_addrs - at) * sizeof(*t->addrs));
  t->addrs[at] = *e;
  t->n_addrs++;
  bump(t, 1);
  return 1;
}

int cp__tbl_addr_del(struct cp_table* t, const struct cp_addr_ent* e)
{
  size_t i;

  if (t->sync[CP_K_ADDRS].active)
    return 0;
  for (i = 0; i < t->n_addrs; i++) {
    if (!addr_same_key(&t->addrs[i], e))
      continue;
    memmove(&t->addrs[i], &t->addrs[i + 1],
            (t->n_addrs - i - 1) * sizeof(*t->addrs));
    t->n_addrs--;
    /* The kernel removes routes that depend on the address (prefsrc, and
     * all of the link's routes with its last address) without telling. */
    t->pending |= CP_PEND(CP_K_ROUTES);
    bump(t, 1);
    return 1;
  }
  return 0;
}

/* ---- routes ---- */

/* route_group: 0 for the merged local+main trie, 1 for the default table
 * (looked up only when the first fails). */
static int route_group(const struct cp_route_ent* r)
{
  return r->table == CP_TABLE_DEFAULT;
}

/* route_cmp_key: the kernel's visiting order without the alias order. */
static int route_cmp_key(const struct cp_route_ent* a,
                         const struct cp_route_ent* b)
{
  uint32_t ad, bd;

  if (route_group(a) != route_group(b))
    return route_group(a) - route_group(b);
  if (a->dst_len != b->dst_len)
    return a->dst_len > b->dst_len ? -1 : 1;
  ad = ntohl(a->dst_be32);
  bd = ntohl(b->dst_be32);
  if (ad != bd)
    return ad < bd ? -1 : 1;
  if (a->table != b->table)
    return a->table > b->table ? -1 : 1;
  if (a->tos != b->tos)
    return a->tos > b->tos ? -1 : 1;
  if (a->priority != b->priority)
    return a->priority < b->priority ? -1 : 1;
  return 0;
}

static int route_cmp(const void* pa, const void* pb)
{
  const struct cp_route_ent* a = pa;
  const struct cp_route_ent* b = pb;
  int c = route_cmp_key(a, b);

  if (c)
    return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int route_same_nh(const struct cp_route_ent* a,
                         const struct cp_route_ent* b)
{
  return a->type == b->type && a->oif == b->oif && a->gw_be32 == b->gw_be32;
}

static int route_equal(const struct cp_route_ent* a,
                       const struct cp_route_ent* b)
{
  return !route_cmp_key(a, b) && route_same_nh(a, b) &&
         a->dst_be32 == b->dst_be32 && a->prefsrc_be32 == b->prefsrc_be32 &&
         a->mtu == b->mtu && a->nh_flags == b->nh_flags &&
         a->scope == b->scope && a->protocol == b->protocol &&
         a->rflags == b->rflags;
}

/* route_first_of_key: index of the first route with e's key, or n. */
static size_t route_first_of_key(const struct cp_table* t,
                                 const struct cp_route_ent* e)
{
  size_t lo = 0, hi = t->n_routes;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (route_cmp_key(&t->routes[mid], e) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int route_insert(struct cp_table* t, const struct cp_route_ent* e,
                        int64_t seq)
{
  struct cp_route_ent n = *e;
  size_t lo = 0, hi = t->n_routes;
  int rc;

  rc = grow((void**)&t->routes, &t->cap_routes, t->n_routes + 1,
            sizeof(*t->routes), CP_MAX_ROUTES);
  if (rc < 0) {
    t->stats.table_full++;
    t->routes_incomplete = 1;
    bump(t, 1);
    return rc;
  }
  n.seq = seq;
  if (t->sync[CP_K_ROUTES].active) {
    t->routes[t->n_routes++] = n;
    return 1;
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (route_cmp(&t->routes[mid], &n) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  memmove(&t->routes[lo + 1], &t->routes[lo],
          (t->n_routes - lo) * sizeof(*t->routes));
  t->routes[lo] = n;
  t->n_routes++;
  bump(t, 1);
  return 1;
}

int cp__tbl_route_update(struct cp_table* t, const struct cp_route_ent* e,
                         enum cp_route_how how)
{
  size_t i;

  if (t->sync[CP_K_ROUTES].active)
    return route_insert(t, e, ++t->seq_hi);

  i = route_first_of_key(t, e);
  if (how == CP_ROUTE_REPLACE && i < t->n_routes &&
      !route_cmp_key(&t->routes[i], e)) {
    /* The kernel replaces the first alias of the key in place. */
    struct cp_route_ent n = *e;
    n.seq = t->routes[i].seq;
    if (route_equal(&t->routes[i], &n))
      return 0;
    t->routes[i] = n;
    bump(t, 1);
    return 1;
  }
  /* The same route again (a notification that a dump already showed):
   * refresh it where it is. */
  for (; i < t->n_routes && !route_cmp_key(&t->routes[i], e); i++) {
    if (!route_same_nh(&t->routes[i], e))
      continue;
    if (route_equal(&t->routes[i], e))
      return 0;
    int64_t seq = t->routes[i].seq;
    t->routes[i] = *e;
    t->routes[i].seq = seq;
    bump(t, 1);
    return 1;
  }
  if (how == CP_ROUTE_APPEND)
    return route_insert(t, e, ++t->seq_hi);
  return route_insert(t, e, --t->seq_lo);
}

int cp__tbl_route_del(struct cp_table* t, const struct cp_route_ent* e)
{
  size_t first, i, hit;

  if (t->sync[CP_K_ROUTES].active)
    return 0;
  first = route_first_of_key(t, e);
  if (first >= t->n_routes || route_cmp_key(&t->routes[first], e))
    return 0;
  hit = first;
  for (i = first; i < t->n_routes && !route_cmp_key(&t->routes[i], e);
       i++) {
    if (route_same_nh(&t->routes[i], e)) {
      hit = i;
      break;
    }
  }
  memmove(&t->routes[hit], &t->routes[hit + 1],
          (t->n_routes - hit - 1) * sizeof(*t->routes));
  t->n_routes--;
  bump(t, 1);
  return 1;
}

/* ---- neighbours ---- */

static int neigh_key_cmp(int ia, uint32_t aa, int ib, uint32_t ab)
{
  if (ia != ib)
    return ia < ib ? -1 : 1;
  aa = ntohl(aa);
  ab = ntohl(ab);
  return aa < ab ? -1 : aa > ab;
}

static int neigh_cmp(const void* pa, const void* pb)
{
  const struct cp_neigh_ent* a = pa;
  const struct cp_neigh_ent* b = pb;

  return neigh_key_cmp(a->ifindex, a->ip_be32, b->ifindex, b->ip_be32);
}

static size_t neigh_pos_in(const struct cp_neigh_ent* v, size_t n,
                           int ifindex, uint32_t ip_be32, int* found)
{
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (neigh_key_cmp(v[mid].ifindex, v[mid].ip_be32, ifindex, ip_be32) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < n && v[lo].ifindex == ifindex && v[lo].ip_be32 == ip_be32;
  return lo;
}

const struct cp_neigh_ent* cp__tbl_neigh_find(const struct cp_table* t,
                                              int ifindex, uint32_t ip_be32)
{
  int found;
  size_t i;

  if (t->sync[CP_K_NEIGHS].active)
    return NULL;
  i = neigh_pos_in(t->neighs, t->n_neighs, ifindex, ip_be32, &found);
  return found ? &t->neighs[i] : NULL;
}

/* neigh_kernel_equal: the kernel's fields and what lookups report. */
static int neigh_kernel_equal(const struct cp_neigh_ent* a,
                              const struct cp_neigh_ent* b)
{
  return a->ifindex == b->ifindex && a->ip_be32 == b->ip_be32 &&
         a->state == b->state && a->ntf_flags == b->ntf_flags &&
         a->managed == b->managed &&
         a->mac_len == b->mac_len && !memcmp(a->mac, b->mac, 6) &&
         a->known == b->known && a->in_progress == b->in_progress;
}

/* neigh_settled: a state that ends a resolution we asked for. */
static int neigh_settled(uint16_t state)
{
  return (state & (CP_NUD_VALID | NUD_FAILED)) != 0;
}

static void neigh_take_kernel(struct cp_neigh_ent* n,
                              const struct cp_neigh_ent* e)
{
  n->ifindex = e->ifindex;
  n->ip_be32 = e->ip_be32;
  n->state = e->state;
  n->ntf_flags = e->ntf_flags;
  n->managed = e->managed;
  n->mac_len = e->mac_len;
  memcpy(n->mac, e->mac, 6);
  n->known = 1;
  n->updated = 1;
  if (neigh_settled(e->state))
    n->in_progress = 0;
}

static int neigh_insert_at(struct cp_table* t, size_t i,
                           const struct cp_neigh_ent* n)
{
  int rc = grow((void**)&t->neighs, &t->cap_neighs, t->n_neighs + 1,
                sizeof(*t->neighs), CP_MAX_NEIGHS);

  if (rc < 0) {
    t->stats.table_full++;
    return rc;
  }
  memmove(&t->neighs[i + 1], &t->neighs[i],
          (t->n_neighs - i) * sizeof(*t->neighs));
  t->neighs[i] = *n;
  t->n_neighs++;
  return 0;
}

int cp__tbl_neigh_update(struct cp_table* t, const struct cp_neigh_ent* e)
{
  struct cp_neigh_ent n, old;
  int found, rc;
  size_t i;

  memset(&n, 0, sizeof(n));
  neigh_take_kernel(&n, e);
  if (t->sync[CP_K_NEIGHS].active) {
    rc = grow((void**)&t->neighs, &t->cap_neighs, t->n_neighs + 1,
              sizeof(*t->neighs), CP_MAX_NEIGHS);
    if (rc < 0) {
      t->stats.table_full++;
      return rc;
    }
    t->neighs[t->n_neighs++] = n;
    return 1;
  }
  i = neigh_pos_in(t->neighs, t->n_neighs, e->ifindex, e->ip_be32, &found);
  if (!found) {
    rc = neigh_insert_at(t, i, &n);
    if (rc < 0)
      return rc;
    bump(t, 0);
    return 1;
  }
  old = t->neighs[i];
  neigh_take_kernel(&t->neighs[i], e);
  if (neigh_kernel_equal(&old, &t->neighs[i]))
    return 0;
  bump(t, 0);
  return 1;
}

int cp__tbl_neigh_del(struct cp_table* t, int ifindex, uint32_t ip_be32)
{
  int found;
  size_t i;

  if (t->sync[CP_K_NEIGHS].active)
    return 0;
  i = neigh_pos_in(t->neighs, t->n_neighs, ifindex, ip_be32, &found);
  if (!found)
    return 0;
  memmove(&t->neighs[i], &t->neighs[i + 1],
          (t->n_neighs - i - 1) * sizeof(*t->neighs));
  t->n_neighs--;
  bump(t, 0);
  return 1;
}

int cp__tbl_neigh_lookup(const struct cp_table* t, int ifindex,
                         uint32_t ip_be32, struct cp_neigh* out)
{
  const struct cp_neigh_ent* n = cp__tbl_neigh_find(t, ifindex, ip_be32);

  memset(out, 0, sizeof(*out));
  if (!n)
    return -EAGAIN;
  out->state = n->state;
  if (n->state & CP_NUD_VALID) {
    if (n->mac_len == 6)
      memcpy(out->mac, n->mac, 6);
    return 0;
  }
  if (n->in_progress)
    return -EAGAIN;
  if (n->state & NUD_FAILED)
    return -EHOSTUNREACH;
  return -EAGAIN;
}

int cp__tbl_neigh_ask(struct cp_table* t, enum cp_ask what, int ifindex,
                      uint32_t ip_be32, uint64_t now_ns, uint8_t mac[6])
{
  struct cp_neigh_ent* n;
  int found, rc;
  size_t i;

  if (t->sync[CP_K_NEIGHS].active)
    return 0;
  i = neigh_pos_in(t->neighs, t->n_neighs, ifindex, ip_be32, &found);
  n = found ? &t->neighs[i] : NULL;

  if (what == CP_ASK_CONFIRM) {
    if (!n || !n->known || !(n->state & CP_NUD_VALID) || n->mac_len != 6)
      return -ENOENT;
    if (!(n->state & (NUD_STALE | NUD_DELAY | NUD_PROBE)) ||
        (n->ntf_flags & NTF_EXT_LEARNED) || n->managed)
      return 0;
    if (n->confirmed_ns && now_ns - n->confirmed_ns < CP_NEIGH_ASK_INTERVAL_NS)
      return 0;
    n->confirmed_ns = now_ns ? now_ns : 1;
    memcpy(mac, n->mac, 6);
    return 1;
  }

  if (n && (n->state & (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP |
                        NUD_DELAY | NUD_PROBE)))
    return 0;                /* valid, or the kernel is verifying it */
  if (n && n->asked_ns && !n->updated &&
      now_ns - n->asked_ns < CP_NEIGH_ASK_INTERVAL_NS) {
    t->stats.resolve_limited++;
    return 0;
  }
  if (!n) {
    struct cp_neigh_ent e;
    memset(&e, 0, sizeof(e));
    e.ifindex = ifindex;
    e.ip_be32 = ip_be32;
    e.state = NUD_NONE;
    rc = neigh_insert_at(t, i, &e);
    if (rc < 0)
      return rc;
    n = &t->neighs[i];
  }
  n->asked_ns = now_ns ? now_ns : 1;
  n->updated = 0;
  if (!(n->state & CP_NUD_VALID) && !n->in_progress) {
    n->in_progress = 1;
    bump(t, 0);
  }
  return 1;
}

void cp__tbl_neigh_ask_failed(struct cp_table* t, int ifindex,
                              uint32_t ip_be32)
{
  int found;
  size_t i;

  if (t->sync[CP_K_NEIGHS].active)
    return;
  i = neigh_pos_in(t->neighs, t->n_neighs, ifindex, ip_be32, &found);
  if (found && t->neighs[i].in_progress) {
    t->neighs[i].in_progress = 0;
    bump(t, 0);
  }
}

/* ---- links (deletion needs the other tables) ---- */

int cp__tbl_link_del(struct cp_table* t, int ifindex)
{
  int found;
  size_t i, j;

  if (t->sync[CP_K_LINKS].active)
    return 0;
  i = link_pos(t, ifindex, &found);
  if (!found)
    return 0;
  memmove(&t->links[i], &t->links[i + 1],
          (t->n_links - i - 1) * sizeof(*t->links));
  t->n_links--;
  for (i = j = 0; i < t->n_addrs; i++)
    if (t->addrs[i].ifindex != ifindex)
      t->addrs[j++] = t->addrs[i];
  t->n_addrs = j;
  for (i = j = 0; i < t->n_neighs; i++)
    if (t->neighs[i].ifindex != ifindex)
      t->neighs[j++] = t->neighs[i];
  t->n_neighs = j;
  for (i = j = 0; i < t->n_routes; i++)
    if (t->routes[i].oif != ifindex)
      t->routes[j++] = t->routes[i];
  t->n_routes = j;
  t->pending |= CP_PEND(CP_K_ROUTES);
  bump(t, 1);
  return 1;
}

/* ---- rules ---- */

void cp__tbl_rule_seen(struct cp_table* t, int custom)
{
  if (!t->sync[CP_K_RULES].active) {
    t->pending |= CP_PEND(CP_K_RULES);
    return;
  }
  if (custom)
    t->custom_rules++;
}

/* ---- accelerated set ---- */

static size_t accel_pos(const struct cp_table* t, int ifindex, int* found)
{
  size_t lo = 0, hi = t->n_accel;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->accel[mid] < ifindex)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < t->n_accel && t->accel[lo] == ifindex;
  return lo;
}

int cp__tbl_is_accelerated(const struct cp_table* t, int ifindex)
{
  int found;

  accel_pos(t, ifindex, &found);
  return found;
}

int cp__tbl_set_accelerated(struct cp_table* t, int ifindex, int on)
{
  int found, rc;
  size_t i;

  if (ifindex <= 0)
    return -EINVAL;
  i = accel_pos(t, ifindex, &found);
  if (!!on == found)
    return 0;
  if (on) {
    rc = grow((void**)&t->accel, &t->cap_accel, t->n_accel + 1,
              sizeof(*t->accel), CP_MAX_LINKS);
    if (rc < 0)
      return rc == -ENOSPC ? -ENOMEM : rc;
    memmove(&t->accel[i + 1], &t->accel[i],
            (t->n_accel - i) * sizeof(*t->accel));
    t->accel[i] = ifindex;
    t->n_accel++;
  } else {
    memmove(&t->accel[i], &t->accel[i + 1],
            (t->n_accel - i - 1) * sizeof(*t->accel));
    t->n_accel--;
  }
  bump(t, 1);
  return 1;
}

/* ---- re-dumps ---- */

static void** kind_array(struct cp_table* t, enum cp_kind kind, size_t** n,
                         size_t** cap)
{
  switch (kind) {
  case CP_K_LINKS:
    *n = &t->n_links;
    *cap = &t->cap_links;
    return (void**)&t->links;
  case CP_K_ADDRS:
    *n = &t->n_addrs;
    *cap = &t->cap_addrs;
    return (void**)&t->addrs;
  case CP_K_ROUTES:
    *n = &t->n_routes;
    *cap = &t->cap_routes;
    return (void**)&t->routes;
  case CP_K_NEIGHS:
    *n = &t->n_neighs;
    *cap = &t->cap_neighs;
    return (void**)&t->neighs;
  default:
    return NULL;
  }
}

int cp__tbl_sync_begin(struct cp_table* t, enum cp_kind kind)
{
  struct cp__sync* s;
  size_t *n, *cap;
  void** v;

  if ((unsigned)kind >= CP_K_N)
    return -EINVAL;
  s = &t->sync[kind];
  if (s->active)
    return -EBUSY;
  s->active = 1;
  if (kind == CP_K_RULES) {
    s->old_custom_rules = t->custom_rules;
    t->custom_rules = 0;
    return 0;
  }
  v = kind_array(t, kind, &n, &cap);
  s->old = *v;
  s->n_old = *n;
  s->cap_old = *cap;
  *v = NULL;
  *n = 0;
  *cap = 0;
  if (kind == CP_K_ROUTES) {
    t->seq_lo = 0;
    t->seq_hi = 0;
    s->old_incomplete = t->routes_incomplete;
    t->routes_incomplete = 0;
  }
  return 0;
}

static int link_cmp(const void* pa, const void* pb)
{
  const struct cp_link_ent* a = pa;
  const struct cp_link_ent* b = pb;

  return (a->ifindex > b->ifindex) - (a->ifindex < b->ifindex);
}

/* addr_cmp: by interface only; the sort is stable, so each interface
 * keeps the kernel's order of its addresses. */
static int addr_cmp(const void* pa, const void* pb)
{
  const struct cp_addr_ent* a = pa;
  const struct cp_addr_ent* b = pb;

  return (a->ifindex > b->ifindex) - (a->ifindex < b->ifindex);
}

/* finish_links: sort, drop duplicate ifindexes (keep the last), and mark
 * routes for a re-dump when a link went or changed IFF_UP. */
static int finish_links(struct cp_table* t, const struct cp_link_ent* old,
                        size_t n_old)
{
  size_t i, j;
  int changed;

  stable_sort(t->links, t->n_links, sizeof(*t->links), link_cmp);
  for (i = j = 0; i < t->n_links; i++)
    if (i + 1 == t->n_links || t->links[i + 1].ifindex != t->links[i].ifindex)
      t->links[j++] = t->links[i];
  t->n_links = j;
  changed = t->n_links != n_old;
  for (i = j = 0; i < n_old; i++) {
    while (j < t->n_links && t->links[j].ifindex < old[i].ifindex)
      j++;
    if (j >= t->n_links || t->links[j].ifindex != old[i].ifindex ||
        ((t->links[j].flags ^ old[i].flags) & IFF_UP))
      t->pending |= CP_PEND(CP_K_ROUTES);
  }
  for (i = 0; !changed && i < t->n_links; i++)
    changed = !link_equal(&t->links[i], &old[i]);
  return changed;
}

static int finish_addrs(struct cp_table* t, const struct cp_addr_ent* old,
                        size_t n_old)
{
  size_t i, j;
  int changed;

  stable_sort(t->addrs, t->n_addrs, sizeof(*t->addrs), addr_cmp);
  for (i = 0; i < t->n_addrs; i++) {
    for (j = i + 1; j < t->n_addrs && t->addrs[j].ifindex ==
         t->addrs[i].ifindex; j++)
      if (addr_same_key(&t->addrs[j], &t->addrs[i]))
        break;
    if (j < t->n_addrs && addr_same_key(&t->addrs[j], &t->addrs[i])) {
      memmove(&t->addrs[i], &t->addrs[i + 1],
              (t->n_addrs - i - 1) * sizeof(*t->addrs));
      t->n_addrs--;
      i--;
    }
  }
  changed = t->n_addrs != n_old;
  for (i = 0; !changed && i < t->n_addrs; i++)
    changed = !addr_equal(&t->addrs[i], &old[i]);
  /* An address that went away takes routes with it (see addr_del). */
  for (i = 0; i < n_old; i++) {
    for (j = 0; j < t->n_addrs; j++)
      if (addr_same_key(&t->addrs[j], &old[i]))
        break;
    if (j == t->n_addrs)
      t->pending |= CP_PEND(CP_K_ROUTES);
  }
  return changed;
}

static int finish_routes(struct cp_table* t, const struct cp_route_ent* old,
                         size_t n_old)
{
  size_t i;
  int changed;

  if (t->n_routes)   /* qsort's base must not be NULL, even for 0 */
    qsort(t->routes, t->n_routes, sizeof(*t->routes), route_cmp);
  changed = t->n_routes != n_old;
  for (i = 0; !changed && i < t->n_routes; i++)
    changed = !route_equal(&t->routes[i], &old[i]);
  return changed;
}

static int finish_neighs(struct cp_table* t, const struct cp_neigh_ent* old,
                         size_t n_old)
{
  size_t i, j;
  int changed, found;

  /* Keep the last report of a key. */
  stable_sort(t->neighs, t->n_neighs, sizeof(*t->neighs), neigh_cmp);
  for (i = j = 0; i < t->n_neighs; i++)
    if (i + 1 == t->n_neighs || neigh_cmp(&t->neighs[i + 1], &t->neighs[i]))
      t->neighs[j++] = t->neighs[i];
  t->n_neighs = j;
  /* Carry our own state over. */
  for (i = 0; i < t->n_neighs; i++) {
    struct cp_neigh_ent* n = &t->neighs[i];
    j = neigh_pos_in(old, n_old, n->ifindex, n->ip_be32, &found);
    if (!found)
      continue;
    n->asked_ns = old[j].asked_ns;
    n->confirmed_ns = old[j].confirmed_ns;
    n->in_progress = old[j].in_progress && !neigh_settled(n->state);
    n->updated = old[j].updated || n->state != old[j].state ||
                 n->mac_len != old[j].mac_len ||
                 memcmp(n->mac, old[j].mac, 6);
  }
  changed = t->n_neighs != n_old;
  for (i = 0; !changed && i < t->n_neighs; i++)
    changed = !neigh_kernel_equal(&t->neighs[i], &old[i]);
  return changed;
}

int cp__tbl_sync_end(struct cp_table* t, enum cp_kind kind, int ok)
{
  struct cp__sync* s;
  size_t *n, *cap;
  void** v;
  int changed = 0;

  if ((unsigned)kind >= CP_K_N || !t->sync[kind].active)
    return 0;
  s = &t->sync[kind];
  s->active = 0;
  if (kind == CP_K_RULES) {
    if (!ok) {
      t->custom_rules = s->old_custom_rules;
      return 0;
    }
    t->pending &= ~CP_PEND(CP_K_RULES);
    if (t->custom_rules != s->old_custom_rules) {
      bump(t, 1);
      return 1;
    }
    return 0;
  }
  v = kind_array(t, kind, &n, &cap);
  if (!ok) {
    if (kind == CP_K_ROUTES)
      t->routes_incomplete = s->old_incomplete;
    free(*v);
    *v = s->old;
    *n = s->n_old;
    *cap = s->cap_old;
    s->old = NULL;
    return 0;
  }
  t->pending &= ~CP_PEND(kind);
  switch (kind) {
  case CP_K_LINKS:
    changed = finish_links(t, s->old, s->n_old);
    break;
  case CP_K_ADDRS:
    changed = finish_addrs(t, s->old, s->n_old);
    break;
  case CP_K_ROUTES:
    changed = finish_routes(t, s->old, s->n_old);
    /* routes_incomplete now says whether this dump dropped routes. */
    if (t->routes_incomplete != s->old_incomplete)
      changed = 1;
    break;
  case CP_K_NEIGHS:
    changed = finish_neighs(t, s->old, s->n_old);
    break;
  default:
    break;
  }
  free(s->old);
  s->old = NULL;
  if (changed)
    bump(t, kind != CP_K_NEIGHS);
  return changed;
}

/* ---- lifetime ---- */

void cp__tbl_init(struct cp_table* t)
{
  memset(t, 0, sizeof(*t));
}

void cp__tbl_free(struct cp_table* t)
{
  int k;

  for (k = 0; k < CP_K_N; k++)
    free(t->sync[k].old);
  free(t->links);
  free(t->addrs);
  free(t->routes);
  free(t->neighs);
  free(t->accel);
  memset(t, 0, sizeof(*t));
}

/* ---- lookups ---- */

static const struct cp_link_ent* loopback_link(const struct cp_table* t)
{
  size_t i;

  if (t->sync[CP_K_LINKS].active)
    return NULL;
  for (i = 0; i < t->n_links; i++)
    if (t->links[i].flags & IFF_LOOPBACK)
      return &t->links[i];
  return NULL;
}

/* select_addr: inet_select_addr(dev, dst, scope): the first primary
 * address of the interface within scope, preferring one whose subnet
 * holds dst; else the first primary address of any interface (ifindex
 * order, loopback first as in the kernel's dev_base list) that is neither
 * link-scoped nor beyond scope. */
static uint32_t select_addr(const struct cp_table* t, int ifindex,
                            uint32_t dst_be32, unsigned scope)
{
  uint32_t addr = 0;
  size_t i;

  if (t->sync[CP_K_ADDRS].active)
    return 0;
  for (i = 0; i < t->n_addrs; i++) {
    const struct cp_addr_ent* a = &t->addrs[i];
    if (a->ifindex != ifindex || (a->flags & IFA_F_SECONDARY) ||
        a->scope > scope)
      continue;
    if (!dst_be32 ||
        !((dst_be32 ^ a->peer_be32) & mask_be(a->prefix_len)))
      return a->local_be32;
    if (!addr)
      addr = a->local_be32;
  }
  if (addr)
    return addr;
  for (i = 0; i < t->n_addrs; i++) {
    const struct cp_addr_ent* a = &t->addrs[i];
    if (!(a->flags & IFA_F_SECONDARY) && a->scope != RT_SCOPE_LINK &&
        a->scope <= scope)
      return a->local_be32;
  }
  return 0;
}

/* route_error: fib_props[type].error. */
static int route_error(uint8_t type)
{
  switch (type) {
  case RTN_UNICAST:
  case RTN_LOCAL:
  case RTN_BROADCAST:
  case RTN_ANYCAST:
  case RTN_MULTICAST:
    return 0;
  case RTN_UNREACHABLE:
    return -EHOSTUNREACH;
  case RTN_PROHIBIT:
    return -EACCES;
  case RTN_THROW:
    return -EAGAIN;
  default:            /* blackhole, nat, xresolve, unspec */
    return -EINVAL;
  }
}

/* fib_scan: fib_table_lookup over one group. Returns 0 with *hit, the
 * route's error with *hit, or -EAGAIN when nothing matched. */
static int fib_scan(const struct cp_table* t, int group, uint32_t dst_be32,
                    int oif, const struct cp_route_ent** hit)
{
  size_t i;

  for (i = 0; i < t->n_routes; i++) {
    const struct cp_route_ent* r = &t->routes[i];
    int err;

    if (route_group(r) != group) {
      if (group == 0)
        break;                       /* sorted: group 1 comes last */
      continue;
    }
    if ((dst_be32 & mask_be(r->dst_len)) != r->dst_be32)
      continue;
    if (r->tos)
      continue;                      /* the flow's TOS is 0 */
    err = route_error(r->type);
    if (err) {
      *hit = r;
      return err;
    }
    if (r->nh_flags & RTNH_F_DEAD)
      continue;
    /* A multipath route or nexthop object matches oif if any of its hops
     * would; we do not model them (CP_ROUTE_F_UNSUPPORTED) and let them
     * match. */
    if (oif && !(r->rflags & (CP_RE_MULTIPATH | CP_RE_NHOBJ)) &&
        r->oif != oif)
      continue;
    *hit = r;
    return 0;
  }
  return -EAGAIN;
}

static int has_default_table(const struct cp_table* t)
{
  return t->n_routes && route_group(&t->routes[t->n_routes - 1]) == 1;
}

/* fib_lookup: the kernel's fib_lookup() without custom rules. The kernel
 * consults table 253 after a failure in main only if that table exists;
 * we know it exists when it holds routes (a table emptied again is not
 * seen: the answer is then the main table's error, not -ENETUNREACH). */
static int fib_lookup(const struct cp_table* t, uint32_t dst_be32, int oif,
                      const struct cp_route_ent** hit)
{
  int err;

  *hit = NULL;
  if (t->sync[CP_K_ROUTES].active)
    return -ENETUNREACH;
  err = fib_scan(t, 0, dst_be32, oif, hit);
  if (err && has_default_table(t)) {
    *hit = NULL;
    err = fib_scan(t, 1, dst_be32, oif, hit);
  }
  if (err == -EAGAIN)
    err = -ENETUNREACH;
  return err;
}

static void fill_from_route(struct cp_route* out, const struct cp_route_ent* r)
{
  out->type = (enum cp_route_type)r->type;
  out->table = r->table;
  out->prefix_len = r->dst_len;
  out->metric = r->priority;
  if (r->table == CP_TABLE_DEFAULT)
    out->flags |= CP_ROUTE_F_DEFAULT_TABLE;
  if (r->rflags)
    out->flags |= CP_ROUTE_F_UNSUPPORTED;
}

int cp__tbl_route_lookup(const struct cp_table* t, uint32_t dst_be32,
                         uint32_t src_be32, int oif, struct cp_route* out)
{
  const struct cp_route_ent* r = NULL;
  const struct cp_link_ent* dev = NULL;
  int err;

  memset(out, 0, sizeof(*out));
  out->prefix_len = 32;
  if (t->custom_rules)
    out->flags |= CP_ROUTE_F_POLICY_RULES;
  if (t->routes_incomplete)
    out->flags |= CP_ROUTE_F_INCOMPLETE;

  if (src_be32) {
    if (is_multicast(src_be32) || is_lbcast(src_be32) ||
        is_zeronet(src_be32))
      return -EINVAL;
    err = cp__tbl_addr_ifindex(t, src_be32);
    if (err < 0)
      return -ENETUNREACH;
    if (!oif && (is_multicast(dst_be32) || is_lbcast(dst_be32))) {
      /* The kernel's "hack" for multicast senders that bind to a source
       * address instead of setting IP_MULTICAST_IF. */
      dev = cp__tbl_link_find(t, err);
      oif = err;
      goto make_route;
    }
  }
  if (oif) {
    dev = cp__tbl_link_find(t, oif);
    if (!dev)
      return -ENODEV;
    if (!(dev->flags & IFF_UP))
      return -ENETUNREACH;
    if (is_local_multicast(dst_be32) || is_lbcast(dst_be32)) {
      if (!src_be32)
        src_be32 = select_addr(t, oif, 0, RT_SCOPE_LINK);
      goto make_route;
    }
    if (!src_be32) {
      if (is_multicast(dst_be32))
        src_be32 = select_addr(t, oif, 0, RT_SCOPE_UNIVERSE);
      else if (!dst_be32)
        src_be32 = select_addr(t, oif, 0, RT_SCOPE_HOST);
    }
  }
  if (!dst_be32) {
    dst_be32 = src_be32;
    if (!dst_be32)
      dst_be32 = src_be32 = htonl(INADDR_LOOPBACK);
    goto local;
  }

  err = fib_lookup(t, dst_be32, oif, &r);
  if (err) {
    if (oif) {
      /* net/ipv4/route.c: "Apparently, routing tables are wrong. Assume,
       * that the destination is on link." */
      r = NULL;
      if (!src_be32)
        src_be32 = select_addr(t, oif, 0, RT_SCOPE_LINK);
      out->flags |= CP_ROUTE_F_ONLINK_FALLBACK;
      goto make_route;
    }
    if (r)
      fill_from_route(out, r);
    return err;
  }
  fill_from_route(out, r);
  if (r->type == RTN_LOCAL) {
    if (!src_be32)
      src_be32 = r->prefsrc_be32 ? r->prefsrc_be32 : dst_be32;
    goto local;
  }
  dev = cp__tbl_link_find(t, r->oif);
  oif = r->oif;
  if (!src_be32)
    src_be32 = r->prefsrc_be32 ? r->prefsrc_be32 :
               select_addr(t, r->oif, r->gw_be32, r->scope);

make_route:
  if (is_loopback(src_be32) && !(dev && (dev->flags & IFF_LOOPBACK)))
    return -EINVAL;
  if (is_lbcast(dst_be32))
    out->type = CP_RT_BROADCAST;
  else if (is_multicast(dst_be32))
    out->type = CP_RT_MULTICAST;
  else if (is_zeronet(dst_be32))
    return -EINVAL;
  else if (!r)
    out->type = CP_RT_UNICAST;
  out->ifindex = oif;
  out->src_be32 = src_be32;
  out->nexthop_be32 = dst_be32;
  if (r && out->type == CP_RT_UNICAST && r->gw_be32) {
    out->nexthop_be32 = r->gw_be32;
    out->flags |= CP_ROUTE_F_GATEWAY;
  }
  /* The kernel drops the route's metrics for broadcast (fi = NULL). */
  if (r && r->mtu && out->type != CP_RT_BROADCAST)
    out->mtu = r->mtu;
  else if (dev)
    out->mtu = dev->mtu;
  out->accelerated =
    (out->type == CP_RT_UNICAST || out->type == CP_RT_MULTICAST ||
     out->type == CP_RT_BROADCAST) &&
    dev && !(dev->flags & IFF_LOOPBACK) &&
    cp__tbl_is_accelerated(t, dev->ifindex) &&
    !(out->flags & (CP_ROUTE_F_UNSUPPORTED | CP_ROUTE_F_INCOMPLETE));
  return 0;

local:
  dev = loopback_link(t);
  out->type = CP_RT_LOCAL;
  out->ifindex = dev ? dev->ifindex : 0;
  out->src_be32 = src_be32;
  out->nexthop_be32 = dst_be32;
  out->mtu = dev ? dev->mtu : 0;
  out->accelerated = 0;
  return 0;
}

enum cp_route_type cp__tbl_addr_type(const struct cp_table* t,
                                     uint32_t ip_be32)
{
  const struct cp_route_ent* r = NULL;

  if (is_zeronet(ip_be32) || is_lbcast(ip_be32))
    return CP_RT_BROADCAST;
  if (is_multicast(ip_be32))
    return CP_RT_MULTICAST;
  if (!t->sync[CP_K_ROUTES].active && fib_scan(t, 0, ip_be32, 0, &r) == 0)
    return (enum cp_route_type)r->type;
  return CP_RT_UNICAST;
}

int cp__tbl_addr_ifindex(const struct cp_table* t, uint32_t ip_be32)
{
  const struct cp_route_ent* r = NULL;
  size_t i;

  if (!t->sync[CP_K_ADDRS].active)
    for (i = 0; i < t->n_addrs; i++)
      if (t->addrs[i].local_be32 == ip_be32)
        return t->addrs[i].ifindex;
  /* __ip_dev_find's fallback: a local route (127.0.0.0/8 on lo) makes
   * every address in it local. */
  if (ip_be32 && !t->sync[CP_K_ROUTES].active &&
      fib_scan(t, 0, ip_be32, 0, &r) == 0 && r->type == RTN_LOCAL &&
      r->oif > 0)
    return r->oif;
  return -EADDRNOTAVAIL;
}

int cp__tbl_addr_get(const struct cp_table* t, int ifindex, unsigned idx,
                     struct cp_addr* out)
{
  size_t i;

  if (t->sync[CP_K_ADDRS].active)
    return -ENOENT;
  for (i = 0; i < t->n_addrs; i++) {
    const struct cp_addr_ent* a = &t->addrs[i];
    if (ifindex && a->ifindex != ifindex)
      continue;
    if (idx--)
      continue;
    memset(out, 0, sizeof(*out));
    out->ifindex = a->ifindex;
    out->local_be32 = a->local_be32;
    out->peer_be32 = a->peer_be32;
    out->broadcast_be32 = a->bcast_be32;
    out->prefix_len = a->prefix_len;
    out->scope = a->scope;
    out->flags = a->flags;
    return 0;
  }
  return -ENOENT;
}

static void link_out(const struct cp_table* t, const struct cp_link_ent* l,
                     struct cp_link* out)
{
  memset(out, 0, sizeof(*out));
  out->ifindex = l->ifindex;
  memcpy(out->name, l->name, IF_NAMESIZE);
  out->name[IF_NAMESIZE - 1] = '\0';
  if (l->mac_len == 6)
    memcpy(out->mac, l->mac, 6);
  out->mac_len = l->mac_len;
  out->arptype = l->arptype;
  out->mtu = l->mtu;
  out->flags = l->flags;
  out->up = !!(l->flags & IFF_UP);
  out->running = !!(l->flags & IFF_RUNNING);
  out->loopback = !!(l->flags & IFF_LOOPBACK);
  out->accelerated = !out->loopback &&
                     cp__tbl_is_accelerated(t, l->ifindex);
}

int cp__tbl_link_get(const struct cp_table* t, int ifindex,
                     struct cp_link* out)
{
  const struct cp_link_ent* l = cp__tbl_link_find(t, ifindex);

  if (!l)
    return -ENODEV;
  link_out(t, l, out);
  return 0;
}

int cp__tbl_link_by_name(const struct cp_table* t, const char* name,
                         struct cp_link* out)
{
  size_t i;

  if (!name || t->sync[CP_K_LINKS].active)
    return -ENODEV;
  for (i = 0; i < t->n_links; i++) {
    if (!strncmp(t->links[i].name, name, IF_NAMESIZE)) {
      link_out(t, &t->links[i], out);
      return 0;
    }
  }
  return -ENODEV;
}
