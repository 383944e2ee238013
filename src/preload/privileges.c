// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/privileges.c: the calls that change a process's user or group.
 * Layer: preload.
 *
 * Making a stack needs privileges (an AF_XDP or packet socket, the BPF
 * program's maps, its lock file); using one once made does not. A
 * pre-forking server's worker (nginx with `user`, memcached -u, apache)
 * drops its privileges right after the fork, before it first uses the
 * listeners it inherited: so before the drop, the listeners still in the
 * parent's stack are claimed (tcp_claim.c) and may follow into a stack of
 * this process (tcp_follow.c). Without REMOTE listeners nothing happens.
 */
#include "preload/pl_tcp.h"

#include <unistd.h>

static void before_drop(void)
{
  if (geteuid() == 0)
    pl_tcp_claim_listeners("a change of user or group");
}

int setuid(uid_t u)
{
  before_drop();
  return PL_REAL(setuid)(u);
}

int setgid(gid_t g)
{
  before_drop();
  return PL_REAL(setgid)(g);
}

int setresuid(uid_t r, uid_t e, uid_t s)
{
  before_drop();
  return PL_REAL(setresuid)(r, e, s);
}

int setresgid(gid_t r, gid_t e, gid_t s)
{
  before_drop();
  return PL_REAL(setresgid)(r, e, s);
}

int setreuid(uid_t r, uid_t e)
{
  before_drop();
  return PL_REAL(setreuid)(r, e);
}

int setregid(gid_t r, gid_t e)
{
  before_drop();
  return PL_REAL(setregid)(r, e);
}
