/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anyload/stack_obs.h: the observability calls of anyload's stack (next to
 * anyload/stack.h). Every stack publishes its state in a shared-memory
 * file (/dev/shm/anyload/<pid>.<n>, or $ANYLOAD_SHM_DIR) that
 * anyload_stackdump and anyload_tcpdump read while the program runs:
 * counters, resources, sockets, filters, the settings text given here, a
 * histogram of the time from a datagram's arrival to its read, and
 * captured frames while anyload_tcpdump is attached. The file goes at
 * anyload_stack_destroy and at the process's normal exit.
 *
 * Thread safety: as anyload/stack.h (the caller serialises the calls on
 * a stack).
 */
#ifndef ANYLOAD_STACK_OBS_H
#define ANYLOAD_STACK_OBS_H

#include <anyload/stack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* anyload_stack_set_settings: publish text (NAME=value lines, the
 * settings in force) for `anyload_stackdump settings`. The text is
 * copied. Returns 0, -EINVAL (text NULL), -E2BIG (8 KiB or more),
 * -ENODEV (the stack has no shared state). */
int anyload_stack_set_settings(struct anyload_stack* st, const char* text);

/* anyload_stack_shm_path: the stack's published file, or NULL when it
 * could not be made (the stack then works unobserved). */
const char* anyload_stack_shm_path(const struct anyload_stack* st);

/* anyload_udp_recvmsg_at: anyload_udp_recvmsg, at time now_ns (the
 * clock of anyload_stack_poll): a datagram taken off the queue (not
 * MSG_PEEK) adds now_ns minus the time of the poll that received it to
 * the stack's latency histogram. Same returns and errors. */
ssize_t anyload_udp_recvmsg_at(struct anyload_stack* st, int sd,
                               const struct iovec* iov, int iovcnt,
                               struct sockaddr_in* from, int* flags,
                               int64_t now_ns);

/* anyload_udp_recvfrom_at: anyload_udp_recvmsg_at with one buffer. */
ssize_t anyload_udp_recvfrom_at(struct anyload_stack* st, int sd, void* buf,
                                size_t len, int* flags,
                                struct sockaddr_in* from, int64_t now_ns);

#ifdef __cplusplus
}
#endif

#endif /* ANYLOAD_STACK_OBS_H */
