// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/signals.c: the program's signal handlers in transparent mode.
 * sigaction() and signal() are intercepted so that every handler the
 * program installs (for an asynchronous signal) runs through a trampoline
 * of ours, which gives two things:
 *
 *   1. A handler never runs inside one of the library's locked steps.
 *     While a thread holds pl_lock (pl_depth > 0), the stack may be
 *     half-way through an operation; a handler that ran there and
 *     siglongjmp()ed out (or called exit) would leave the lock held and
 *     the stack inconsistent. The trampoline then only notes the signal;
 *     pl_unlock re-raises it on this thread (tgkill) as the lock goes, and
 *     the handler runs at once, outside the library's state (Onload
 *     defers signals the same way). The library never sleeps holding the
 *     lock, so a signal is deferred for a few microseconds at most. The
 *     re-raised signal's siginfo is the re-raise's (si_code SI_TKILL, our
 *     pid), not the original sender's.
 *   2. A blocking call that a signal interrupted knows which handler ran,
 *     so it restarts exactly when that handler has SA_RESTART, as the
 *     kernel does (pl_eintr_restarts); and a call that was spinning (no
 *     system call to interrupt) sees that a handler ran (pl_sig_runs,
 *     pl_sig_interrupted) and ends with EINTR as the kernel's would.
 *
 * SIG_DFL and SIG_IGN are installed as they are, and so are handlers of
 * the synchronous signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
 * SIGSYS, SIGABRT: deferring a fault would only repeat it). sigaction()
 * reports the program's own handler and flags, never the trampoline.
 */
#include "preload/pl_int.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The program's view of each signal's action; wrapped[sig] when the
 * trampoline is installed for it. */
static struct sigaction user_act[NSIG];
static unsigned char wrapped[NSIG];

/* Per thread: signals deferred while in a locked step (bit sig - 1), and
 * what the last handler that ran looked like. */
__thread uint64_t pl_sig_pending;
static __thread int last_sig, last_restart;
__thread unsigned pl_sig_runs;

static int is_sync(int sig)
{
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
         sig == SIGTRAP || sig == SIGSYS || sig == SIGABRT;
}

static int real_sigaction(int sig, const struct sigaction* a,
                          struct sigaction* old)
{
  return PL_REAL(sigaction)(sig, a, old);
}

static void trampoline(int sig, siginfo_t* info, void* uc)
{
  struct sigaction a;
  int saved = errno;

  if (pl_depth > 0 && sig > 0 && sig <= 64) {
    pl_sig_pending |= 1ull << (sig - 1);
    return;
  }
  a = user_act[sig];
  last_sig = sig;
  last_restart = !!(a.sa_flags & SA_RESTART);
  pl_sig_runs++;
  if (a.sa_flags & SA_RESETHAND) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    user_act[sig] = dfl;
    wrapped[sig] = 0;
    real_sigaction(sig, &dfl, NULL);
  }
  errno = saved;
  if (a.sa_flags & SA_SIGINFO) {
    if (a.sa_sigaction)
      a.sa_sigaction(sig, info, uc);
  } else if (a.sa_handler == SIG_DFL) {
    /* Reset meanwhile (a race with sigaction): the default action. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    real_sigaction(sig, &dfl, NULL);
    raise(sig);
  } else if (a.sa_handler != SIG_IGN) {
    a.sa_handler(sig);
  }
}

void pl_signals_replay(void)
{
  pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
  int sig;

  while (pl_sig_pending) {
    sig = __builtin_ctzll(pl_sig_pending) + 1;
    pl_sig_pending &= ~(1ull << (sig - 1));
    syscall(SYS_tgkill, pid, tid, sig);
  }
}

void pl_signals_wait_begin(void)
{
  last_sig = 0;
}

int pl_signals_ran(void)
{
  return last_sig;
}

int pl_sig_interrupted(unsigned since, int restartable)
{
  return pl_sig_runs != since && (!restartable || !last_restart);
}

int pl_eintr_restarts(void)
{
  struct sigaction sa;
  int sig;

  if (last_sig)
    return last_restart;
  /* No handler of ours ran (one installed behind our back, e.g. before
   * the library was loaded): restart only if every handled signal asked
   * for SA_RESTART (poll, select and epoll_wait never restart). */
  for (sig = 1; sig < NSIG; sig++) {
    if (sigaction(sig, NULL, &sa) < 0)
      continue;
    if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
      continue;
    if (!(sa.sa_flags & SA_RESTART))
      return 0;
  }
  return 1;
}

int sigaction(int sig, const struct sigaction* a, struct sigaction* old)
{
  struct sigaction mine;
  int rc;

  if (sig <= 0 || sig >= NSIG || is_sync(sig) || sig == SIGKILL ||
      sig == SIGSTOP)
    return real_sigaction(sig, a, old);
  if (!a) {
    rc = real_sigaction(sig, NULL, old);
    if (rc == 0 && old && wrapped[sig])
      *old = user_act[sig];
    return rc;
  }
  if (a->sa_handler == SIG_DFL || a->sa_handler == SIG_IGN) {
    struct sigaction prev;
    int was = wrapped[sig];
    rc = real_sigaction(sig, a, &prev);
    if (rc == 0) {
      if (old)
        *old = was ? user_act[sig] : prev;
      wrapped[sig] = 0;
      user_act[sig] = *a;
    }
    return rc;
  }
  mine = *a;
  mine.sa_flags = (a->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
  mine.sa_sigaction = trampoline;
  {
    struct sigaction prev_user = user_act[sig];
    int was = wrapped[sig];
    struct sigaction prev;
    /* The program's action is in place before the trampoline can run. */
    user_act[sig] = *a;
    rc = real_sigaction(sig, &mine, &prev);
    if (rc < 0) {
      user_act[sig] = prev_user;
      return rc;
    }
    wrapped[sig] = 1;
    if (old)
      *old = was ? prev_user : prev;
  }
  return 0;
}

sighandler_t signal(int sig, sighandler_t h)
{
  struct sigaction a, old;

  /* glibc's signal(): BSD semantics (SA_RESTART, the handler stays). */
  memset(&a, 0, sizeof(a));
  a.sa_handler = h;
  a.sa_flags = SA_RESTART;
  sigemptyset(&a.sa_mask);
  sigaddset(&a.sa_mask, sig > 0 && sig < NSIG ? sig : 1);
  if (sigaction(sig, &a, &old) < 0)
    return SIG_ERR;
  return old.sa_handler;
}
