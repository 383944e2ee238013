/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/memreg.c: registration of packet memory. A region keeps the caller's
 * memory where it is and gets a range of DMA addresses (vi_int.h). The
 * backends copy between registered memory and their kernel rings, so any
 * page-aligned memory works: anonymous, huge pages, shared.
 */
#include "vi/vi_int.h"

#include <etherfabric/memreg.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int ef_memreg_alloc(ef_memreg* mr, ef_driver_handle mr_dh, struct ef_pd* pd,
                    ef_driver_handle pd_dh, void* p_mem, size_t len_bytes)
{
  struct vi_pd* p;
  int i;
  (void)mr_dh;
  (void)pd_dh;

  if (!mr || !pd || !pd->pd_priv || !p_mem || !len_bytes)
    return -EINVAL;
  if (((uintptr_t)p_mem & (EF_VI_NIC_PAGE_SIZE - 1)) ||
      (len_bytes & (EF_VI_NIC_PAGE_SIZE - 1)) ||
      len_bytes >= (1ull << VI_DMA_REGION_SHIFT))
    return -EINVAL;
  p = pd->pd_priv;
  pthread_mutex_lock(&p->lock);
  for (i = 0; i < VI_MAX_REGIONS; i++)
    if (!p->regions[i].len)
      break;
  if (i == VI_MAX_REGIONS) {
    pthread_mutex_unlock(&p->lock);
    return -ENOSPC;
  }
  p->regions[i].vaddr = p_mem;
  p->regions[i].len = len_bytes;
  p->n_memregs++;
  pthread_mutex_unlock(&p->lock);
  /* Keep packet memory resident: a page fault on the fast path costs
   * microseconds. Failure (RLIMIT_MEMLOCK) only costs latency. */
  (void)mlock(p_mem, len_bytes);

  memset(mr, 0, sizeof(*mr));
  mr->mr_resource_id = (unsigned)i;
  mr->mr_dma_base = (ef_addr)(i + 1) << VI_DMA_REGION_SHIFT;
  mr->mr_len = len_bytes;
  mr->mr_mem = p_mem;
  mr->mr_pd = pd;
  return 0;
}

int ef_memreg_free(ef_memreg* mr, ef_driver_handle mr_dh)
{
  struct vi_pd* p;
  unsigned i;
  (void)mr_dh;

  if (!mr || !mr->mr_pd || !mr->mr_pd->pd_priv)
    return -EINVAL;
  p = mr->mr_pd->pd_priv;
  i = mr->mr_resource_id;
  if (i >= VI_MAX_REGIONS)
    return -EINVAL;
  pthread_mutex_lock(&p->lock);
  if (p->regions[i].vaddr != mr->mr_mem || !p->regions[i].len) {
    pthread_mutex_unlock(&p->lock);
    return -EINVAL;
  }
  p->regions[i].len = 0;
  p->regions[i].vaddr = NULL;
  p->n_memregs--;
  pthread_mutex_unlock(&p->lock);
  /* No munlock: the same memory may still be registered with another PD
   * (efforward does that), and mlock does not count. */
  mr->mr_pd = NULL;
  return 0;
}
