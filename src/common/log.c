/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common/log.c: the stderr logger behind al_log(). See log.h.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int configured_level(void)
{
  /* Racy first read is harmless: every thread computes the same value. */
  static int level = -1;
  if (level < 0) {
    const char* s = getenv("ANYLOAD_LOG");
    level = s ? atoi(s) : AL_LOG_ERR;
  }
  return level;
}

void al_log(int level, const char* fmt, ...)
{
  char line[512];
  va_list ap;

  if (level > configured_level())
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "anyload: %s\n", line);
}
