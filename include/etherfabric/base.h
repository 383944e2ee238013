/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * etherfabric/base.h: driver handles and blocking waits of the ef_vi API.
 */
#ifndef __EFAB_BASE_H__
#define __EFAB_BASE_H__

#include <etherfabric/ef_vi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EF_VI_NIC_PAGE_SHIFT 12
#define EF_VI_NIC_PAGE_SIZE  (1 << EF_VI_NIC_PAGE_SHIFT)

struct timeval;

#define EF_ADDR_FMT      "%" PRIx64
#define EF_INVALID_ADDR  ((ef_addr) -1)

/* Block until the VI's event queue is non-empty or the timeout (NULL or
 * zero: wait forever) passes. Returns 0, -ETIMEDOUT, -EINTR (a signal
 * arrived) or -EINVAL. An event is likely but not certain on return.
 * anyload: on a simulated link using the virtual clock (anyload/sim.h),
 * waiting cannot make time pass: -ETIMEDOUT at once if nothing is ready. */
extern int ef_eventq_wait(ef_vi* vi, ef_driver_handle vi_dh,
                          unsigned current_ptr,
                          const struct timeval* timeout);

/* Open a driver handle: a file descriptor that poll/select/epoll report
 * readable while a VI allocated with it has unread frames (after
 * ef_vi_prime). Returns 0 or -errno (-EMFILE, -ENOMEM). */
extern int ef_driver_open(ef_driver_handle* dh_out);

/* Close a driver handle. Returns 0 or -EBADF. */
extern int ef_driver_close(ef_driver_handle dh);

#ifdef __cplusplus
}
#endif

#endif /* __EFAB_BASE_H__ */
