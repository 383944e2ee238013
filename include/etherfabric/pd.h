/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/pd.h: protection domains. In anyload a PD is one network
 * interface (by index or name) and the packet memory registered with it.
 */
#ifndef __EFAB_PD_H__
#define __EFAB_PD_H__

#include <etherfabric/base.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ef_pd_flags {
  EF_PD_DEFAULT          = 0x0,
  EF_PD_VF               = 0x1,
  EF_PD_PHYS_MODE        = 0x2,
  EF_PD_RX_PACKED_STREAM = 0x4,
  EF_PD_VPORT            = 0x8,
  EF_PD_MCAST_LOOP       = 0x10,
  EF_PD_MEMREG_64KiB     = 0x20,
  EF_PD_IGNORE_BLACKLIST = 0x40,
  EF_PD_EXPRESS          = 0x80,
  EF_PD_LLCT             = 0x100,
};

#define EF_PD_VLAN_NONE -1

/* A protection domain. Users should not access the fields. */
typedef struct ef_pd {
  enum ef_pd_flags pd_flags;
  unsigned         pd_resource_id;
  char*            pd_intf_name;
  char*            pd_cluster_name;
  int              pd_cluster_sock;
  ef_driver_handle pd_cluster_dh;
  unsigned         pd_cluster_viset_resource_id;
  int              pd_cluster_viset_index;
  int              pd_ifindex;
  void*            pd_priv;   /* anyload internal state */
} ef_pd;

/* Allocate a PD on the interface with this index (in the caller's network
 * namespace). Returns 0 or -ENODEV (no such interface), -EINVAL (bad
 * flags), -ENOMEM. */
extern int ef_pd_alloc(ef_pd* pd, ef_driver_handle pd_dh, int ifindex,
                       enum ef_pd_flags flags);

/* As ef_pd_alloc(), naming the interface ("eth0"). */
extern int ef_pd_alloc_by_name(ef_pd* pd, ef_driver_handle pd_dh,
                               const char* cluster_or_intf_name,
                               enum ef_pd_flags flags);

/* Not supported by anyload (no NIC switch): -EOPNOTSUPP. */
extern int ef_pd_alloc_with_vport(ef_pd* pd, ef_driver_handle pd_dh,
                                  const char* intf_name,
                                  enum ef_pd_flags flags, int vlan_id);

/* The interface name of the PD. */
extern const char* ef_pd_interface_name(ef_pd* pd);

/* Free a PD. Its memory registrations and VIs must be freed first
 * (-EBUSY otherwise). Returns 0, -EBUSY or -EINVAL. */
extern int ef_pd_free(ef_pd* pd, ef_driver_handle pd_dh);

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_PD_H__ */
