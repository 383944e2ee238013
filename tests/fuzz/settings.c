/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/settings.c: libFuzzer target for transparent mode's settings parser
 * (preload/settings.c over common/settings.def), fed as the launcher
 * feeds it from a profile: lines NAME=VALUE. Each line that names a
 * setting (ours or an Onload alias) goes through pl_setting_check, whose
 * verdict must match a reference model of the documented syntax (an
 * optional sign and decimal digits only, no blanks, within the 64-bit
 * range and the setting's inclusive range; strings shorter than 64), and
 * is put in the environment; then pl_settings_load must give every
 * setting the value its effective variable holds when valid, else its
 * default, and report -EINVAL exactly when one was invalid. Lines with a
 * NUL byte, without '=', or naming no setting are skipped.
 *
 * settings.c depends on libc only and is not part of libanyvi.a, so the
 * target compiles it in. Built by `make fuzz`; its corpus is replayed by
 * the unit suite.
 */
#include "preload/settings.c"

#include <limits.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void fail(const char* what, const char* name, const char* value)
{
  fprintf(stderr, "settings fuzz: %s: %s=\"%s\"\n", what, name, value);
  abort();
}

/* ref_int: the documented integer syntax, or -EINVAL. */
static int ref_int(const char* s, long long* out)
{
  unsigned long long v = 0, lim;
  int neg = 0;

  if (*s == '+' || *s == '-')
    neg = *s++ == '-';
  if (!*s)
    return -EINVAL;
  lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -EINVAL;
    if (v > (lim - (unsigned)(*s - '0')) / 10)
      return -EINVAL;
    v = v * 10 + (unsigned)(*s - '0');
  }
  *out = neg ? (long long)(0 - v) : (long long)v;
  return 0;
}

/* ref_valid: value is valid for setting d (its integer in *v). */
static int ref_valid(const struct pl_setting_desc* d, const char* value,
                     long long* v)
{
  if (d->is_str)
    return strlen(value) < 64;
  return ref_int(value, v) == 0 && *v >= d->lo && *v <= d->hi;
}

static void clear_env(void)
{
  unsigned i;

  for (i = 0; i < pl_setting_count(); i++) {
    const struct pl_setting_desc* d = pl_setting_desc(i);
    unsetenv(d->name);
    if (d->alias1)
      unsetenv(d->alias1);
    if (d->alias2)
      unsetenv(d->alias2);
  }
}

/* field: the loaded value of setting i, as an integer or a string. */
static void field(const struct pl_settings* s, unsigned i, long long* iv,
                  const char** sv)
{
  unsigned k = 0;

#define PL_SETTING_INT(f, n, a1, a2, d, lo, hi, doc) \
  if (k++ == i) { *iv = s->f; *sv = NULL; }
#define PL_SETTING_STR(f, n, a1, a2, d, doc) \
  if (k++ == i) { *iv = 0; *sv = s->f; }
#include "common/settings.def"
#undef PL_SETTING_INT
#undef PL_SETTING_STR
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  char line[512], err[200];
  struct pl_settings s;
  size_t pos = 0;
  unsigned i;
  int rc, any_bad = 0;

  clear_env();
  while (pos < size) {
    const uint8_t* nl = memchr(data + pos, '\n', size - pos);
    size_t len = (nl ? (size_t)(nl - data) : size) - pos;
    char *eq, *value;
    long long v;
    int idx;

    if (len < sizeof(line) && !memchr(data + pos, 0, len)) {
      memcpy(line, data + pos, len);
      line[len] = 0;
      eq = strchr(line, '=');
      if (eq && eq != line) {
        *eq = 0;
        value = eq + 1;
        idx = pl_setting_find(line);
        if (idx >= 0) {
          const struct pl_setting_desc* d = pl_setting_desc((unsigned)idx);
          err[0] = 0;
          rc = pl_setting_check((unsigned)idx, line, value, err, sizeof(err));
          if ((rc == 0) != ref_valid(d, value, &v))
            fail(rc ? "valid value rejected" : "invalid value accepted",
                 line, value);
          if (rc && (!err[0] || !strstr(err, line)))
            fail("message does not name the variable", line, value);
          setenv(line, value, 1);
        }
      }
    }
    pos += len + 1;
  }
  err[0] = 0;
  rc = pl_settings_load(&s, err, sizeof(err));
  for (i = 0; i < pl_setting_count(); i++) {
    const struct pl_setting_desc* d = pl_setting_desc(i);
    const char* from = NULL;
    const char* v = pl_setting_env(i, &from);
    const char* sv;
    long long iv, want = 0;
    int ok = v && ref_valid(d, v, &want);

    field(&s, i, &iv, &sv);
    if (v && !ok)
      any_bad = 1;
    if (d->is_str) {
      if (strcmp(sv, ok ? v : d->def_str))
        fail("string loaded wrong", d->name, v ? v : "(unset)");
    } else if (iv != (ok ? want : d->def)) {
      fail("integer loaded wrong", d->name, v ? v : "(unset)");
    }
  }
  if ((rc < 0) != any_bad)
    fail("load's verdict differs from the values'", "-", err);
  clear_env();
  return 0;
}
