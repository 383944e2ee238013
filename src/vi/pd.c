/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/pd.c: protection domains. A PD names one interface of the caller's
 * network namespace and holds the regions registered with it.
 */
#include "vi/vi_int.h"
#include "common/log.h"

#include <etherfabric/pd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PD_KNOWN_FLAGS (EF_PD_VF | EF_PD_PHYS_MODE | EF_PD_RX_PACKED_STREAM | \
                        EF_PD_VPORT | EF_PD_MCAST_LOOP | EF_PD_MEMREG_64KiB | \
                        EF_PD_IGNORE_BLACKLIST | EF_PD_EXPRESS | EF_PD_LLCT)

int ef_pd_alloc(ef_pd* pd, ef_driver_handle pd_dh, int ifindex,
                enum ef_pd_flags flags)
{
  const struct vi_ops* ops;
  struct vi_pd* p;
  char name[IF_NAMESIZE];
  int rc;
  (void)pd_dh;

  if (!pd || ifindex <= 0 || (flags & ~PD_KNOWN_FLAGS))
    return -EINVAL;
  /* Packed stream and vports are hardware features. */
  if (flags & (EF_PD_RX_PACKED_STREAM | EF_PD_VPORT))
    return -EOPNOTSUPP;
  rc = vi_backend_choose(&ops);
  if (rc < 0)
    return rc;
  if (ops && ops->pd_name) {
    if (ops->pd_name(ifindex, name) < 0)
      return -ENODEV;
  } else if (!if_indextoname((unsigned)ifindex, name)) {
    return -ENODEV;
  }
  p = calloc(1, sizeof(*p));
  if (!p)
    return -ENOMEM;
  p->ops = ops;
  p->ifindex = ifindex;
  memcpy(p->ifname, name, sizeof(name));
  pthread_mutex_init(&p->lock, NULL);
  memset(pd, 0, sizeof(*pd));
  pd->pd_flags = flags;
  pd->pd_ifindex = ifindex;
  pd->pd_intf_name = p->ifname;
  pd->pd_cluster_sock = -1;
  pd->pd_cluster_dh = -1;
  pd->pd_priv = p;
  return 0;
}

int ef_pd_alloc_by_name(ef_pd* pd, ef_driver_handle pd_dh,
                        const char* cluster_or_intf_name,
                        enum ef_pd_flags flags)
{
  const struct vi_ops* ops;
  int ifindex, rc;

  if (!cluster_or_intf_name || !*cluster_or_intf_name ||
      strlen(cluster_or_intf_name) >= IF_NAMESIZE)
    return -EINVAL;
  rc = vi_backend_choose(&ops);
  if (rc < 0)
    return rc;
  if (ops && ops->pd_lookup) {
    rc = ops->pd_lookup(cluster_or_intf_name, &ifindex);
    if (rc < 0)
      return rc;
  } else {
    ifindex = (int)if_nametoindex(cluster_or_intf_name);
    if (!ifindex)
      return -ENODEV;
  }
  return ef_pd_alloc(pd, pd_dh, ifindex, flags);
}

int ef_pd_alloc_with_vport(ef_pd* pd, ef_driver_handle pd_dh,
                           const char* intf_name, enum ef_pd_flags flags,
                           int vlan_id)
{
  (void)pd; (void)pd_dh; (void)intf_name; (void)flags; (void)vlan_id;
  return -EOPNOTSUPP;
}

const char* ef_pd_interface_name(ef_pd* pd)
{
  return pd ? pd->pd_intf_name : NULL;
}

int ef_pd_free(ef_pd* pd, ef_driver_handle pd_dh)
{
  struct vi_pd* p;
  int busy;
  (void)pd_dh;

  if (!pd || !pd->pd_priv)
    return -EINVAL;
  p = pd->pd_priv;
  pthread_mutex_lock(&p->lock);
  busy = p->n_vis || p->n_memregs;
  pthread_mutex_unlock(&p->lock);
  if (busy) {
    al_err("ef_pd_free: %s still has %d VIs and %d memory regions",
           p->ifname, p->n_vis, p->n_memregs);
    return -EBUSY;
  }
  pthread_mutex_destroy(&p->lock);
  free(p);
  pd->pd_priv = NULL;
  pd->pd_intf_name = NULL;
  return 0;
}
