// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/fork_exec.c: fork and exec in transparent mode.
 *
 * fork (and everything that forks inside glibc: daemon, system, popen,
 * posix_spawn's fork path): pthread_atfork handlers hold the library lock
 * across the fork, so the child never inherits it held by a thread that
 * does not exist there. The parent keeps its stack and its accelerated
 * sockets unchanged. The child does not touch the parent's stack (its
 * rings and filters stay the parent's): every inherited accelerated
 * socket continues in the child as its kernel socket (sends go out
 * through the kernel; datagrams for the port keep going to the parent's
 * stack while the parent has it), and the child's own new sockets get a
 * stack of the child's when the interface allows a second one (else they
 * stay with the kernel, logged). TCP (pl_tcp.h, fd_tcp.c): with
 * ANYLOAD_TCP_HANDOVER=2 (the default) nothing moves at the fork: a
 * channel is made, and the child's first use of an inherited accelerated
 * TCP socket has the parent hand that one to the kernel (tcp_share.c,
 * tcp_claim.c); the parent's atfork handler registers the channel with
 * the TCP poller. Eagerly (=1, or without the poller): before the fork,
 * the stack's listeners are closed and their kernel sockets (which
 * listen already) serve parent and children; accelerated connections are
 * handed to the kernel's TCP (tcp_handover.c), so that both processes
 * share each one as a kernel socket; one that cannot be stays the
 * parent's and fails with ENOTCONN in the child.
 *
 * exec: before the new image starts, every accelerated socket goes back
 * to the kernel (its stack socket and filter go, so its traffic reaches
 * the kernel socket, which the new image inherits unless CLOEXEC; TCP
 * connections are handed over as at fork, those that cannot be are
 * closed) and the stack is destroyed; datagrams still queued in the
 * stack are lost. An
 * explicit environment without LD_PRELOAD gets ours added, so the new
 * image runs under anyload too. If exec fails, the process goes on with
 * kernel sockets, and later sockets get a new stack.
 */
#include "preload/pl_tcp.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pl_lock_fork_prepare(void);
void pl_lock_fork_parent(void);
void pl_lock_child_reset(void);
void pl_child_forget(void);

static void prepare(void)
{
  pl_lock_fork_prepare();
  pl_tcp_fork_prepare();
}

static void parent(void)
{
  pl_share_fork_parent();
  pl_lock_fork_parent();
}

static void child(void)
{
  pl_lock_child_reset();
  pl_wake_child();
  pl_tcp_poller_child();
  pl_share_fork_child();
  pl_child_forget();
}

void pl_fork_init(void)
{
  pthread_atfork(prepare, parent, child);
}

static void before_exec(void)
{
  /* A forked child's sockets still in its parent's stack, which the new
   * image inherits: they must be the kernel's first (tcp_claim.c). */
  pl_tcp_claim_inherited();
  if (pl_lock() < 0)
    return;
  pl_tcp_exec_prepare();
  pl_stacks_drop("exec");
  pl_unlock();
}

/* with_preload: envp, or a copy with our LD_PRELOAD added when it lacks
 * one that names this library (freed by the caller if != envp). */
static char** with_preload(char* const envp[])
{
  Dl_info di;
  size_t n = 0, k;
  char** out;
  const char* lib;
  char* cur = NULL;

  if (!envp || !dladdr((void*)pl_fork_init, &di) || !di.dli_fname)
    return (char**)envp;
  lib = di.dli_fname;
  for (n = 0; envp[n]; n++)
    if (!strncmp(envp[n], "LD_PRELOAD=", 11)) {
      if (strstr(envp[n], lib))
        return (char**)envp;
      cur = envp[n] + 11;
    }
  out = malloc((n + 2) * sizeof(*out));
  if (!out)
    return (char**)envp;
  for (k = 0; k < n; k++)
    out[k] = envp[k];
  out[n] = malloc(strlen(lib) + (cur ? strlen(cur) : 0) + 16);
  if (!out[n]) {
    free(out);
    return (char**)envp;
  }
  strcpy(out[n], "LD_PRELOAD=");
  strcat(out[n], lib);
  if (cur) {
    /* The earlier entry is shadowed: glibc uses the first LD_PRELOAD. */
    for (k = 0; k < n; k++)
      if (!strncmp(out[k], "LD_PRELOAD=", 11))
        out[k] = out[n];
    strcat(out[n], " ");
    strcat(out[n], cur);
    out[n] = NULL;
  } else {
    out[n + 1] = NULL;
  }
  return out;
}

int execve(const char* p, char* const a[], char* const e[])
{
  char** env;
  int rc, err;

  before_exec();
  env = with_preload(e);
  rc = PL_REAL(execve)(p, a, env);
  err = errno;
  if (env != (char**)e)
    free(env);
  errno = err;
  return rc;
}

int execv(const char* p, char* const a[])
{
  before_exec();
  return PL_REAL(execv)(p, a);
}

int execvp(const char* p, char* const a[])
{
  before_exec();
  return PL_REAL(execvp)(p, a);
}

int execvpe(const char* p, char* const a[], char* const e[])
{
  char** env;
  int rc, err;

  before_exec();
  env = with_preload(e);
  rc = PL_REAL(execvpe)(p, a, env);
  err = errno;
  if (env != (char**)e)
    free(env);
  errno = err;
  return rc;
}

#define MAX_ARGS 4096

/* collect: the variadic argument list after arg0, NULL-terminated. */
#define COLLECT(argv, arg0, ap)                         \
  do {                                                  \
    size_t n_ = 0;                                      \
    argv[n_++] = (char*)(arg0);                         \
    while (n_ < MAX_ARGS && (argv[n_] = va_arg(ap, char*)) != NULL) \
      n_++;                                             \
    if (n_ == MAX_ARGS) {                               \
      va_end(ap);                                       \
      errno = E2BIG;                                    \
      return -1;                                        \
    }                                                   \
  } while (0)

int execl(const char* p, const char* arg0, ...)
{
  char* argv[MAX_ARGS];
  va_list ap;

  va_start(ap, arg0);
  COLLECT(argv, arg0, ap);
  va_end(ap);
  return execv(p, argv);
}

int execlp(const char* p, const char* arg0, ...)
{
  char* argv[MAX_ARGS];
  va_list ap;

  va_start(ap, arg0);
  COLLECT(argv, arg0, ap);
  va_end(ap);
  return execvp(p, argv);
}

int execle(const char* p, const char* arg0, ...)
{
  char* argv[MAX_ARGS];
  char* const* envp;
  va_list ap;

  va_start(ap, arg0);
  COLLECT(argv, arg0, ap);
  envp = va_arg(ap, char* const*);
  va_end(ap);
  return execve(p, argv, envp);
}
