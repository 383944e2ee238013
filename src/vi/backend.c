/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/backend.c: the table of backends and the choice between them. The
 * ANYLOAD_BACKEND setting forces one; without it (or with "auto") a VI is
 * made on AF_XDP, and on AF_PACKET where AF_XDP or XDP is missing.
 */
#include "vi/vi_int.h"
#include "common/log.h"

#include <anyload/vi_ext.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

static const struct vi_ops* const backends[] = {
  &afxdp_ops,
  &afpacket_ops,
  &sim_ops,
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

int vi_backend_choose(const struct vi_ops** out)
{
  const char* s = getenv("ANYLOAD_BACKEND");
  size_t i;

  *out = NULL;
  if (!s || !*s || !strcmp(s, "auto"))
    return 0;
  for (i = 0; i < N_BACKENDS; i++)
    if (!strcmp(s, backends[i]->name)) {
      *out = backends[i];
      return 0;
    }
  al_err("ANYLOAD_BACKEND=%s: unknown backend", s);
  return -EINVAL;
}

int anyload_vi_tidy(const char* ifname)
{
  unsigned ifindex = ifname ? if_nametoindex(ifname) : 0;
  size_t i;
  int rc = 0, r;

  if (!ifindex)
    return -ENODEV;
  for (i = 0; i < N_BACKENDS; i++)
    if (backends[i]->tidy && (r = backends[i]->tidy((int)ifindex)) < 0 &&
        rc == 0)
      rc = r;
  return rc;
}

const struct vi_ops* vi_backend_fallback(const struct vi_ops* failed, int rc)
{
  size_t i;

  /* Only a missing kernel feature moves us on; other errors are real. */
  if (rc != -EAFNOSUPPORT && rc != -EOPNOTSUPP && rc != -EPROTONOSUPPORT)
    return NULL;
  for (i = 0; i < N_BACKENDS && backends[i] != failed; i++)
    ;
  /* The next backend on kernel interfaces: those with interfaces of their
   * own (pd_lookup, like sim) are never a fallback, wherever they sit. */
  for (i++; i < N_BACKENDS; i++)
    if (backends[i]->pd_lookup == NULL)
      return backends[i];
  return NULL;
}
