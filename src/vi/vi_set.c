/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/vi_set.c: VI sets, one VI per RX queue of a multi-queue interface.
 * The kernel spreads flows over queues (RSS); AF_XDP can only deliver a
 * frame to a socket bound to the queue it arrived on, so a set filter is
 * installed once per member VI (each entry naming that member's queue) and
 * the frame goes to whichever member sits on its queue.
 *
 * The public ef_vi_set has no room for members, so sets are kept in a small
 * process-wide table indexed by vis_res_id.
 */
#include "vi/vi_int.h"

#include <dirent.h>
#include <errno.h>
#include <anyload/vi_ext.h>
#include <etherfabric/pd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_SETS   32
#define MAX_MEMBERS 64

struct set_state {
  int     used;
  int     n_vis;
  ef_vi*  members[MAX_MEMBERS];
  /* filter cookies per set filter, per member */
  int     n_filters;
  ef_filter_cookie cookies[VI_MAX_FILTERS][MAX_MEMBERS];
  int     filter_used[VI_MAX_FILTERS];
};

static pthread_mutex_t sets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct set_state* sets[MAX_SETS];

int vi_if_queue_count(int ifindex)
{
  struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
  struct ifreq ifr;
  int fd, n = 1;

  memset(&ifr, 0, sizeof(ifr));
  if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
    return 1;
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 1;
  ifr.ifr_data = (void*)&ch;
  if (ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
    n = (int)(ch.rx_count + ch.combined_count);
  } else {
    char path[128];
    DIR* d;
    struct dirent* e;
    snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifr.ifr_name);
    d = opendir(path);
    n = 0;
    if (d) {
      while ((e = readdir(d)))
        if (!strncmp(e->d_name, "rx-", 3))
          n++;
      closedir(d);
    }
  }
  close(fd);
  return n > 0 ? n : 1;
}

int anyload_vi_queue_count(struct ef_pd* pd)
{
  const struct vi_pd* p;

  if (!pd || !pd->pd_priv)
    return -EINVAL;
  p = pd->pd_priv;
  /* A backend with interfaces of its own (sim) has one queue each. */
  if (p->ops && p->ops->pd_lookup)
    return 1;
  return vi_if_queue_count(pd->pd_ifindex);
}

int ef_vi_set_alloc_from_pd(ef_vi_set* vi_set, ef_driver_handle vi_set_dh,
                            struct ef_pd* pd, ef_driver_handle pd_dh,
                            int n_vis)
{
  struct set_state* s;
  int i, nq;
  (void)vi_set_dh;
  (void)pd_dh;

  if (!vi_set || !pd || !pd->pd_priv || n_vis <= 0 || n_vis > MAX_MEMBERS)
    return -EINVAL;
  nq = vi_if_queue_count(pd->pd_ifindex);
  if (n_vis > nq)
    return -EINVAL;
  s = calloc(1, sizeof(*s));
  if (!s)
    return -ENOMEM;
  s->used = 1;
  s->n_vis = n_vis;
  pthread_mutex_lock(&sets_lock);
  for (i = 0; i < MAX_SETS; i++)
    if (!sets[i])
      break;
  if (i == MAX_SETS) {
    pthread_mutex_unlock(&sets_lock);
    free(s);
    return -ENOSPC;
  }
  sets[i] = s;
  pthread_mutex_unlock(&sets_lock);
  vi_set->vis_res_id = (unsigned)i;
  vi_set->vis_pd = pd;
  return 0;
}

static struct set_state* set_of(const ef_vi_set* vi_set)
{
  if (!vi_set || vi_set->vis_res_id >= MAX_SETS)
    return NULL;
  return sets[vi_set->vis_res_id];
}

int ef_vi_set_free(ef_vi_set* vi_set, ef_driver_handle vi_set_dh)
{
  struct set_state* s = set_of(vi_set);
  int i;
  (void)vi_set_dh;

  if (!s)
    return -EINVAL;
  for (i = 0; i < s->n_vis; i++)
    if (s->members[i] && s->members[i]->vi_priv)
      return -EBUSY;
  pthread_mutex_lock(&sets_lock);
  sets[vi_set->vis_res_id] = NULL;
  pthread_mutex_unlock(&sets_lock);
  free(s);
  return 0;
}

int ef_vi_alloc_from_set(ef_vi* vi, ef_driver_handle vi_dh,
                         ef_vi_set* vi_set, ef_driver_handle vi_set_dh,
                         int index_in_vi_set, int evq_capacity,
                         int rxq_capacity, int txq_capacity, ef_vi* evq_opt,
                         ef_driver_handle evq_dh, enum ef_vi_flags flags)
{
  struct set_state* s = set_of(vi_set);
  int i, rc;
  (void)vi_set_dh;
  (void)evq_capacity;
  (void)evq_dh;

  if (!s || evq_opt)
    return s ? -EOPNOTSUPP : -EINVAL;
  if (index_in_vi_set < 0) {
    for (i = 0; i < s->n_vis; i++)
      if (!s->members[i] || !s->members[i]->vi_priv)
        break;
    if (i == s->n_vis)
      return -EBUSY;
    index_in_vi_set = i;
  }
  if (index_in_vi_set >= s->n_vis)
    return -EINVAL;
  if (s->members[index_in_vi_set] && s->members[index_in_vi_set]->vi_priv)
    return -EBUSY;
  rc = vi_alloc_on_queue(vi, vi_dh, vi_set->vis_pd, index_in_vi_set,
                         rxq_capacity, txq_capacity, flags);
  if (rc < 0)
    return rc;
  /* Set filters added earlier are not copied to a late member: allocate
   * the members first, then add the set's filters. */
  s->members[index_in_vi_set] = vi;
  return rc;
}

int ef_vi_set_filter_add(ef_vi_set* vi_set, ef_driver_handle vi_set_dh,
                         const ef_filter_spec* fs, ef_filter_cookie* cookie_out)
{
  struct set_state* s = set_of(vi_set);
  int f, i, rc, added = 0;

  if (!s || !fs)
    return -EINVAL;
  for (f = 0; f < VI_MAX_FILTERS; f++)
    if (!s->filter_used[f])
      break;
  if (f == VI_MAX_FILTERS)
    return -ENOSPC;
  for (i = 0; i < s->n_vis; i++) {
    ef_vi* m = s->members[i];
    s->cookies[f][i].filter_id = -1;
    if (!m || !m->vi_priv)
      continue;
    rc = ef_vi_filter_add(m, vi_set_dh, fs, &s->cookies[f][i]);
    if (rc < 0) {
      while (--i >= 0)
        if (s->cookies[f][i].filter_id >= 0)
          ef_vi_filter_del(s->members[i], vi_set_dh, &s->cookies[f][i]);
      return rc;
    }
    added++;
  }
  if (!added)
    return -EINVAL;   /* no member VI allocated yet */
  s->filter_used[f] = 1;
  if (cookie_out) {
    cookie_out->filter_id = f;
    cookie_out->filter_type = (int)fs->type;
  }
  return 0;
}

int ef_vi_set_filter_del(ef_vi_set* vi_set, ef_driver_handle vi_set_dh,
                         ef_filter_cookie* cookie)
{
  struct set_state* s = set_of(vi_set);
  int i, f;

  if (!s || !cookie)
    return -EINVAL;
  f = cookie->filter_id;
  if (f < 0 || f >= VI_MAX_FILTERS || !s->filter_used[f])
    return -EINVAL;
  for (i = 0; i < s->n_vis; i++)
    if (s->members[i] && s->members[i]->vi_priv &&
        s->cookies[f][i].filter_id >= 0)
      ef_vi_filter_del(s->members[i], vi_set_dh, &s->cookies[f][i]);
  s->filter_used[f] = 0;
  return 0;
}
