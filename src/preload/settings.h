/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * preload/settings.h: transparent mode's settings, read from the
 * environment and checked strictly. The list itself is
 * common/settings.def; this header and settings.c expand it. Used by
 * libanyload.so and by the anyload launcher (which links settings.c
 * alone, so this module depends on libc only).
 */
#ifndef ANYLOAD_PRELOAD_SETTINGS_H
#define ANYLOAD_PRELOAD_SETTINGS_H

#include <stddef.h>

struct pl_settings {
#define PL_SETTING_INT(f, n, a1, a2, def, lo, hi, doc) long long f;
#define PL_SETTING_STR(f, n, a1, a2, def, doc) char f[64];
#include "common/settings.def"
#undef PL_SETTING_INT
#undef PL_SETTING_STR
};

/* One row of the list, for the launcher's --settings and profile checks. */
struct pl_setting_desc {
  const char* name;
  const char* alias1;     /* Onload names, or NULL */
  const char* alias2;
  int         is_str;
  long long   def, lo, hi; /* integers */
  const char* def_str;     /* strings */
  const char* doc;
};

/* pl_setting_count / pl_setting_desc: the list, in declaration order. */
unsigned pl_setting_count(void);
const struct pl_setting_desc* pl_setting_desc(unsigned i);

/* pl_setting_find: the index of the setting called name (ours or an
 * Onload alias), or -ENOENT. */
int pl_setting_find(const char* name);

/* pl_setting_check: check value for setting i, given under name (NULL:
 * ours), which the message names. Returns 0, or -EINVAL (not a whole
 * integer, out of range, a string too long) with a message in err. */
int pl_setting_check(unsigned i, const char* name, const char* value,
                     char* err, size_t errlen);

/* pl_setting_env: the value that the environment gives setting i (ours
 * first, then the aliases), or NULL; *from gets the variable's name. */
const char* pl_setting_env(unsigned i, const char** from);

/* pl_settings_load: fill *out from the environment, defaults for what is
 * unset. Returns 0, or -EINVAL for the first bad value (that setting keeps
 * its default, the others are still read) with a message in err. */
int pl_settings_load(struct pl_settings* out, char* err, size_t errlen);

#endif /* ANYLOAD_PRELOAD_SETTINGS_H */
