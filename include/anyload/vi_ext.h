/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload/vi_ext.h: anyload's own additions to the ef_vi API, for programs
 * that want to know how their VI reaches the network.
 */
#ifndef ANYLOAD_VI_EXT_H
#define ANYLOAD_VI_EXT_H

#include <etherfabric/ef_vi.h>
#include <etherfabric/vi.h>

struct ef_pd;

#ifdef __cplusplus
extern "C" {
#endif

/* anyload_vi_backend: the backend of an allocated VI ("afxdp",
 * "afpacket", "sim"), or NULL if vi is not allocated. */
const char* anyload_vi_backend(const ef_vi* vi);

/* anyload_vi_describe: one line about the VI's path to the network, e.g.
 * "afxdp, generic XDP, copy mode, queue 0", written into buf (always
 * NUL-terminated). Returns the length it needed, or -EINVAL. */
int anyload_vi_describe(const ef_vi* vi, char* buf, size_t len);

/* anyload_vi_forget: ef_vi_free for a VI that this process inherited
 * across fork() and will not use: closes this process's copies of its
 * sockets and BPF handles and frees its memory here, without touching
 * what the process that allocated it still uses (its filters, its slot,
 * the XDP or tc program, its driver handle's epoll set). Until an
 * inherited AF_XDP VI is forgotten (or freed) in every process that holds
 * it, its queue stays taken: a new VI on that queue gets -EBUSY even
 * after its maker exits. Its protection domain, memory registration and
 * driver handle can then be freed as usual (they hold nothing shared).
 * Returns 0; -EINVAL if vi is not allocated or is this process's own;
 * -EOPNOTSUPP for a backend that cannot (sim: the VI stays). */
int anyload_vi_forget(ef_vi* vi);

/* anyload_vi_tidy: remove what VIs left on interface ifname when their
 * processes could not: the filter slots of dead processes, and the XDP
 * program once no live process has a VI there (a VI's process that had
 * dropped its privileges cannot detach it; one killed with SIGKILL
 * leaves it), unless a filter is parked (anyload_vi_filter_park) for a
 * while yet. Harmless while VIs are alive. Returns 0, -ENODEV (no such
 * interface), or the first backend's -errno (-EPERM without privilege). */
int anyload_vi_tidy(const char* ifname);

/* anyload_vi_filter_park: ef_vi_filter_del for a filter that another
 * process is about to take (a listener handed from a pre-forking server's
 * master to a worker, which needs the master's queue first): when no
 * other VI holds it, the filter stays parked for park_ms, its frames
 * dropped instead of passed to the kernel (whose socket would take them
 * first) until a VI adds it again or the time passes. Returns what
 * ef_vi_filter_del does; -EINVAL for park_ms above 60000; -EOPNOTSUPP on
 * a backend that cannot (AF_PACKET, sim: use ef_vi_filter_del). While a
 * filter is parked the XDP program stays on the interface, also when the
 * last VI there goes; the next VI (or anyload_vi_tidy) after the parking
 * removes it. */
int anyload_vi_filter_park(ef_vi* vi, ef_driver_handle vi_dh,
                           ef_filter_cookie* cookie, unsigned park_ms);

/* anyload_vi_queue_count: the RX queues of pd's interface (its ethtool
 * channels, else its /sys queues; at least 1), i.e. the largest VI set
 * that ef_vi_set_alloc_from_pd accepts for it; -EINVAL if pd is not
 * allocated. */
int anyload_vi_queue_count(struct ef_pd* pd);

#ifdef __cplusplus
}
#endif

#endif /* ANYLOAD_VI_EXT_H */
