/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack_prog.h: what the scriptable programs over anyload's stack
 * (progs/stack_echo.c for UDP, progs/stack_tcp_echo.c for TCP) share: the
 * stack on an interface with the control-plane environment and the
 * "READY" line, the clock, sleeping on the stack's wait fd, the loop that
 * services the stack and runs the commands read from stdin until "quit",
 * end of input, SIGTERM or a time limit, and the "stats" answer.
 */
#ifndef ANYLOAD_PROGS_STACK_PROG_H
#define ANYLOAD_PROGS_STACK_PROG_H

#include <anyload/stack.h>

#include <signal.h>
#include <stdint.h>

/* Set by SIGTERM (and by a program's "quit"): the loop ends. */
extern volatile sig_atomic_t stack_prog_stop;

int64_t stack_prog_now(void);
/* stack_prog_die: "FAIL: what: error" on stderr, exit status 1. */
void stack_prog_die(const char* what, int rc);

/* stack_prog_start: stdout line-buffered, SIGTERM ends the loop, SIGPIPE
 * ignored; the stack on ifname with cfg (its ring and pool sizes set here)
 * and the kernel's control plane, or exit 1; prints "READY pid=PID
 * ifindex=N mtu=M". */
struct anyload_stack* stack_prog_start(struct anyload_stack_config* cfg,
                                       const char* ifname);

/* stack_prog_sleep: arm the stack's wake-up (anyload_stack_prime) and
 * sleep on its wait fd for up to max_ms (less if a deadline of the stack
 * comes first; now is the time of the last poll). */
void stack_prog_sleep(struct anyload_stack* st, int64_t now, int max_ms);

/* stack_prog_loop: until stack_prog_stop: service(0), and a command line
 * from stdin to command() if one is ready, else service(2) (which may
 * sleep 2 ms). Returns 0 at the end (stop or end of input), or 3 after
 * "NAME: timed out after SECS s" on stderr when secs passed first. */
int stack_prog_loop(const char* name, int secs, void (*service)(int max_ms),
                    void (*command)(char* line));

/* stack_prog_stats: "R<cmd_no> stats name=value ..." with the stack's
 * non-zero counters (the first max of them, max at most 512). */
void stack_prog_stats(struct anyload_stack* st, unsigned cmd_no,
                      unsigned max);

#endif /* ANYLOAD_PROGS_STACK_PROG_H */
