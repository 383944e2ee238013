/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/pio.h: programmed I/O. PIO writes frames into NIC memory over
 * the PCI bus; no kernel interface offers that, so anyload declares the
 * calls for source compatibility and each returns -EOPNOTSUPP.
 */
#ifndef __EFAB_PIO_H__
#define __EFAB_PIO_H__

#include <etherfabric/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ef_pd;

typedef struct ef_pio {
  uint8_t* pio_buffer;
  uint8_t* pio_io;
  unsigned pio_resource_id;
  unsigned pio_len;
} ef_pio;

extern int ef_pio_alloc(ef_pio* pio, ef_driver_handle pio_dh,
                        struct ef_pd* pd, unsigned len_hint,
                        ef_driver_handle pd_dh);
extern int ef_pio_free(ef_pio* pio, ef_driver_handle pio_dh);
extern int ef_pio_link_vi(ef_pio* pio, ef_driver_handle pio_dh, ef_vi* vi,
                          ef_driver_handle vi_dh);
extern int ef_pio_unlink_vi(ef_pio* pio, ef_driver_handle pio_dh, ef_vi* vi,
                            ef_driver_handle vi_dh);
extern int ef_pio_memcpy(ef_vi* vi, const void* base, int offset, int len);

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_PIO_H__ */
