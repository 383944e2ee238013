// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload/settings.c: the parser of transparent mode's settings
 * (common/settings.def), for libanyload.so and the anyload launcher. A
 * value is a whole decimal integer inside the setting's range, or a
 * string shorter than the field; anything else is rejected with a message
 * naming the variable. Depends on libc only, and calls nothing that
 * libanyload.so intercepts.
 */
#include "preload/settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct pl_setting_desc descs[] = {
#define PL_SETTING_INT(f, n, a1, a2, d, lo, hi, doc) \
  { n, a1, a2, 0, d, lo, hi, NULL, doc },
#define PL_SETTING_STR(f, n, a1, a2, d, doc) { n, a1, a2, 1, 0, 0, 0, d, doc },
#include "common/settings.def"
#undef PL_SETTING_INT
#undef PL_SETTING_STR
};

#define N_DESCS (sizeof(descs) / sizeof(descs[0]))

unsigned pl_setting_count(void)
{
  return N_DESCS;
}

const struct pl_setting_desc* pl_setting_desc(unsigned i)
{
  return i < N_DESCS ? &descs[i] : NULL;
}

int pl_setting_find(const char* name)
{
  unsigned i;

  for (i = 0; i < N_DESCS; i++)
    if (!strcmp(name, descs[i].name) ||
        (descs[i].alias1 && !strcmp(name, descs[i].alias1)) ||
        (descs[i].alias2 && !strcmp(name, descs[i].alias2)))
      return (int)i;
  return -ENOENT;
}

/* parse_int: a whole decimal integer (optional sign, no blanks: strtoll
 * would skip leading ones), or -EINVAL. */
static int parse_int(const char* s, long long* out)
{
  char* end;

  if (!*s || isspace((unsigned char)*s))
    return -EINVAL;
  errno = 0;
  *out = strtoll(s, &end, 10);
  if (errno || *end)
    return -EINVAL;
  return 0;
}

int pl_setting_check(unsigned i, const char* name, const char* value,
                     char* err, size_t errlen)
{
  const struct pl_setting_desc* d = pl_setting_desc(i);
  long long v;

  if (!d)
    return -EINVAL;
  if (!name)
    name = d->name;
  if (d->is_str) {
    if (strlen(value) >= 64) {
      snprintf(err, errlen, "%s: value longer than 63 characters", name);
      return -EINVAL;
    }
    return 0;
  }
  if (parse_int(value, &v) < 0) {
    snprintf(err, errlen, "%s=%s: not an integer", name, value);
    return -EINVAL;
  }
  if (v < d->lo || v > d->hi) {
    snprintf(err, errlen, "%s=%s: outside %lld..%lld", name, value, d->lo,
             d->hi);
    return -EINVAL;
  }
  return 0;
}

const char* pl_setting_env(unsigned i, const char** from)
{
  const struct pl_setting_desc* d = pl_setting_desc(i);
  const char* names[3];
  unsigned k;

  if (!d)
    return NULL;
  names[0] = d->name;
  names[1] = d->alias1;
  names[2] = d->alias2;
  for (k = 0; k < 3; k++) {
    const char* v = names[k] ? getenv(names[k]) : NULL;
    if (v) {
      if (from)
        *from = names[k];
      return v;
    }
  }
  return NULL;
}

int pl_settings_load(struct pl_settings* out, char* err, size_t errlen)
{
  int rc = 0;
  unsigned i = 0;
  const char *v, *from = NULL;
  char msg[160];

#define PL_SETTING_INT(f, n, a1, a2, d, lo, hi, doc)                    \
  out->f = d;                                                           \
  v = pl_setting_env(i, &from);                                          \
  if (v && pl_setting_check(i, from, v, msg, sizeof(msg)) == 0)               \
    out->f = atoll(v);                                                  \
  else if (v && rc == 0) {                                              \
    snprintf(err, errlen, "%s", msg);                                   \
    rc = -EINVAL;                                                       \
  }                                                                     \
  i++;
#define PL_SETTING_STR(f, n, a1, a2, d, doc)                            \
  snprintf(out->f, sizeof(out->f), "%s", d);                            \
  v = pl_setting_env(i, &from);                                          \
  if (v && pl_setting_check(i, from, v, msg, sizeof(msg)) == 0)               \
    snprintf(out->f, sizeof(out->f), "%s", v);                          \
  else if (v && rc == 0) {                                              \
    snprintf(err, errlen, "%s", msg);                                   \
    rc = -EINVAL;                                                       \
  }                                                                     \
  i++;
#include "common/settings.def"
#undef PL_SETTING_INT
#undef PL_SETTING_STR
  return rc;
}
