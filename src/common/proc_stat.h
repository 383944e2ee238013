/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common/proc_stat.h: what /proc/<pid>/stat says of another process:
 * whether it still runs and when it started (the start time tells a
 * process from a later one that got the same pid). Used where a stack,
 * a VI or a channel belongs to a process that may be gone; never on a
 * fast path.
 */
#ifndef ANYLOAD_COMMON_PROC_STAT_H
#define ANYLOAD_COMMON_PROC_STAT_H

#include <stdint.h>

/* proc_start_time: field 22 of /proc/<pid>/stat (clock ticks since boot),
 * 0 if there is no such process. */
uint64_t proc_start_time(int pid);

/* proc_running: 1 if pid exists and is neither a zombie nor dead. */
int proc_running(int pid);

#endif
