/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common/proc_stat.c: reading /proc/<pid>/stat (proc_stat.h).
 */
#include "common/proc_stat.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* stat_fields: the text of /proc/<pid>/stat from field 3 (the state) on,
 * in buf; NULL if there is no such process. The command (field 2) may
 * hold spaces and parentheses, so fields are found from its last ')'. */
static const char* stat_fields(int pid, char* buf, size_t size)
{
  char path[32];
  const char* p;
  ssize_t n;
  int fd;

  if (pid <= 0)
    return NULL;
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  p = strrchr(buf, ')');
  if (!p || p[1] != ' ' || !p[2])
    return NULL;
  return p + 2;
}

uint64_t proc_start_time(int pid)
{
  char buf[1024];
  const char* p = stat_fields(pid, buf, sizeof(buf));
  unsigned long long start;
  int field;

  /* p is at field 3; step over 19 spaces to field 22. */
  for (field = 3; p && field < 22; field++) {
    p = strchr(p, ' ');
    if (p)
      p++;
  }
  if (!p || sscanf(p, "%llu", &start) != 1)
    return 0;
  return start;
}

int proc_running(int pid)
{
  char buf[1024];
  const char* p = stat_fields(pid, buf, sizeof(buf));

  return p && *p != 'Z' && *p != 'X';
}
