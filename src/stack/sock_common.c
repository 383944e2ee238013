/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/sock_common.c: what the UDP and TCP socket APIs share (see
 * stack/sock_common.h).
 */
#include "stack/sock_common.h"
#include "stack/stack_int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

int st__local_addr_check(const struct anyload_stack* st, uint32_t a)
{
  int ifx = st->env.addr_ifindex ? st->env.addr_ifindex(st->env.ctx, a)
                                 : -EADDRNOTAVAIL;

  if (ifx < 0)
    return -EADDRNOTAVAIL;
  if (ifx != st->ifindex)
    return -EXDEV;
  return 0;
}

int st__put_addr(struct sockaddr_in* addr, socklen_t* len, uint32_t a,
                 uint16_t p)
{
  if (!addr || !len || *len < sizeof(*addr))
    return -EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = a;
  addr->sin_port = p;
  *len = sizeof(*addr);
  return 0;
}

int st__put_int(void* val, socklen_t* len, int v)
{
  if (!val || !len || *len < sizeof(int))
    return -EINVAL;
  memcpy(val, &v, sizeof(int));
  *len = sizeof(int);
  return 0;
}

const char* st__stat_name(const struct st_stat_desc* t, unsigned n,
                          unsigned i)
{
  return i < n ? t[i].name : NULL;
}

const char* st__stat_doc(const struct st_stat_desc* t, unsigned n,
                         unsigned i)
{
  return i < n ? t[i].doc : NULL;
}

int st__stat_copy(const uint64_t* v, unsigned n, uint64_t* out,
                  unsigned out_n)
{
  if (out_n > n)
    out_n = n;
  memcpy(out, v, out_n * sizeof(*out));
  return (int)out_n;
}
