/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * preload/pl_publish.c: hands the settings in force to the stack, which
 * publishes them for `anyload_stackdump settings` (one NAME=value line
 * per setting of common/settings.def, with the variable that set it or
 * "default"). Layer: preload; it calls the stack's API only.
 */
#include "preload/pl_int.h"

#include <anyload/stack_obs.h>

#include <stdio.h>

void pl_publish_settings(struct anyload_stack* st)
{
  char text[8000];
  size_t off = 0;
  const char* from;
  unsigned k = 0;

#define PL_ADD(fmt, ...)                                                  \
  do {                                                                    \
    const char* v_ = pl_setting_env(k, &from);                            \
    if (off < sizeof(text))                                               \
      off += (size_t)snprintf(text + off, sizeof(text) - off, fmt " (%s)\n", \
                              __VA_ARGS__, v_ ? from : "default");        \
    k++;                                                                  \
  } while (0)
#define PL_SETTING_INT(field, name, a1, a2, def, lo, hi, doc)             \
  PL_ADD("%s=%lld", name, (long long)pl_cfg.field);
#define PL_SETTING_STR(field, name, a1, a2, def, doc)                     \
  PL_ADD("%s=%s", name, pl_cfg.field);
#include "common/settings.def"
#undef PL_SETTING_INT
#undef PL_SETTING_STR
#undef PL_ADD
  if (off >= sizeof(text))
    off = sizeof(text) - 1;
  text[off] = 0;
  anyload_stack_set_settings(st, text);
}
