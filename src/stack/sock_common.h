/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/sock_common.h (module-private): what the socket APIs of UDP
 * (sock.c) and TCP (tcp_sock.c) share: the checks of a local address to
 * bind, the output of addresses and int options (getsockname,
 * getsockopt), and counter tables, each counter a name and a one-line
 * description from stack/stats.def, with the accessors behind
 * anyload_udp_stat_* and anyload_tcp_stat_* (include/anyload/stack.h). A
 * table is made where its counters are kept:
 *
 *   static const struct st_stat_desc tcp_stats[] = {
 *   #define ST_TCP_SOCK_STAT(name, doc) ST_STAT_DESC(name, doc)
 *   #include "stack/stats.def"
 *   #undef ST_TCP_SOCK_STAT
 *   };
 */
#ifndef ANYLOAD_STACK_SOCK_COMMON_H
#define ANYLOAD_STACK_SOCK_COMMON_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

struct anyload_stack;

/* st__local_addr_check: a (a unicast address, not 0) belongs to the
 * stack's interface: 0; -EADDRNOTAVAIL if it is no address of the host,
 * -EXDEV if it is another interface's. */
int st__local_addr_check(const struct anyload_stack* st, uint32_t a);

/* st__put_addr: *addr = a:p (network order), *len its size; -EINVAL if
 * addr or len is NULL or *len too small. */
int st__put_addr(struct sockaddr_in* addr, socklen_t* len, uint32_t a,
                 uint16_t p);
/* st__put_int: an int option's value v to val, *len its size; -EINVAL if
 * val or len is NULL or *len too small. */
int st__put_int(void* val, socklen_t* len, int v);

struct st_stat_desc {
  const char* name;
  const char* doc;
};

#define ST_STAT_DESC(name, doc) { #name, doc },

/* st__stat_name, st__stat_doc: counter i of the n in table t, NULL past
 * the end. */
const char* st__stat_name(const struct st_stat_desc* t, unsigned n,
                          unsigned i);
const char* st__stat_doc(const struct st_stat_desc* t, unsigned n,
                         unsigned i);
/* st__stat_copy: the first min(n, out_n) values of v to out; returns how
 * many. */
int st__stat_copy(const uint64_t* v, unsigned n, uint64_t* out,
                  unsigned out_n);

#endif /* ANYLOAD_STACK_SOCK_COMMON_H */
