/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload/vi_ext.h: anyload's own additions to the ef_vi API, for programs
 * that want to know how their VI reaches the network.
 */
#ifndef ANYLOAD_VI_EXT_H
#define ANYLOAD_VI_EXT_H

#include <etherfabric/ef_vi.h>

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

#ifdef __cplusplus
}
#endif

#endif /* ANYLOAD_VI_EXT_H */
