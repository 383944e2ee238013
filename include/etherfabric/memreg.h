/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/memreg.h: registration of packet memory with a PD. Registered
 * memory gets "DMA addresses" that the RX and TX calls take.
 */
#ifndef __EFAB_MEMREG_H__
#define __EFAB_MEMREG_H__

#include <etherfabric/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ef_pd;

/* A registered memory region. Users should not access the fields. */
typedef struct ef_memreg {
  unsigned mr_resource_id;
  ef_addr  mr_dma_base;    /* DMA address of the first byte */
  size_t   mr_len;
  void*    mr_mem;
  struct ef_pd* mr_pd;
  ef_addr* mr_dma_addrs;   /* kept for source compatibility; NULL */
  ef_addr* mr_dma_addrs_base;
} ef_memreg;

/* Register len_bytes of memory at p_mem (page-aligned start and length)
 * with the PD. The memory stays the caller's; it must outlive the
 * registration. Returns 0 or -EINVAL (unaligned, zero length, or the PD is
 * not valid), -ENOSPC (too many regions), -ENOMEM. */
extern int ef_memreg_alloc(ef_memreg* mr, ef_driver_handle mr_dh,
                           struct ef_pd* pd, ef_driver_handle pd_dh,
                           void* p_mem, size_t len_bytes);

/* Unregister. Buffers of the region must not be posted any more. */
extern int ef_memreg_free(ef_memreg* mr, ef_driver_handle mr_dh);

/* DMA address of the byte at `offset` in the region. */
ef_vi_inline ef_addr ef_memreg_dma_addr(ef_memreg* mr, size_t offset)
{
  return mr->mr_dma_base + offset;
}

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_MEMREG_H__ */
