/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_settings: transparent mode's settings parser (preload/settings.c
 * over common/settings.def): defaults, our names and the Onload aliases
 * and which wins, strict integers (no blanks, no trailing characters, no
 * overflow), inclusive ranges, string length, the messages that name the
 * variable, the first bad value reported while the others are still read,
 * and every line of the shipped profiles (tools/anyload/profiles) valid.
 * The test changes only its own environment.
 */
#include "preload/settings.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_test.h"

/* clear_env: no setting in the environment, by any of its names. */
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

static int load(struct pl_settings* s, char* err, size_t len)
{
  err[0] = 0;
  return pl_settings_load(s, err, len);
}

static void test_defaults(void)
{
  struct pl_settings s;
  char err[200];
  unsigned i;

  clear_env();
  CHECK(load(&s, err, sizeof(err)), ==, 0);
  CHECK_STR(err, ==, "");
  CHECK_STR(s.interface, ==, "");
  CHECK(s.spin_usec, ==, 0);
  CHECK(s.no_fail, ==, 1);
  CHECK(s.log, ==, 1);
  CHECK(s.udp, ==, 1);
  CHECK(s.max_packets, ==, 4096);
  /* Every default lies in its own range. */
  for (i = 0; i < pl_setting_count(); i++) {
    const struct pl_setting_desc* d = pl_setting_desc(i);
    CHECK(d->name != NULL, ==, 1);
    CHECK(strncmp(d->name, "ANYLOAD_", 8), ==, 0);
    CHECK(d->doc != NULL && d->doc[0], ==, 1);
    if (!d->is_str) {
      CHECK(d->def, >=, d->lo);
      CHECK(d->def, <=, d->hi);
    }
  }
  CHECK_PTR(pl_setting_desc(pl_setting_count()), ==, NULL);
}

static void test_find(void)
{
  int i = pl_setting_find("ANYLOAD_SPIN_USEC");

  CHECK(i, >=, 0);
  CHECK(pl_setting_find("EF_POLL_USEC"), ==, i);
  CHECK(pl_setting_find("EF_SPIN_USEC"), ==, i);
  CHECK(pl_setting_find("EF_NO_FAIL"), ==, pl_setting_find("ANYLOAD_NO_FAIL"));
  CHECK(pl_setting_find("EF_NO_FAIL"), >=, 0);
  CHECK(pl_setting_find("ANYLOAD_NOPE"), ==, -ENOENT);
  CHECK(pl_setting_find(""), ==, -ENOENT);
  CHECK(pl_setting_find("anyload_spin_usec"), ==, -ENOENT);
}

static void test_aliases(void)
{
  struct pl_settings s;
  char err[200];
  const char* from = NULL;

  clear_env();
  setenv("EF_SPIN_USEC", "7", 1);
  CHECK(load(&s, err, sizeof(err)), ==, 0);
  CHECK(s.spin_usec, ==, 7);
  setenv("EF_POLL_USEC", "8", 1);   /* alias1 before alias2 */
  CHECK(load(&s, err, sizeof(err)), ==, 0);
  CHECK(s.spin_usec, ==, 8);
  setenv("ANYLOAD_SPIN_USEC", "9", 1);   /* ours wins */
  CHECK(load(&s, err, sizeof(err)), ==, 0);
  CHECK(s.spin_usec, ==, 9);
  CHECK_STR(pl_setting_env((unsigned)pl_setting_find("EF_POLL_USEC"), &from),
            ==, "9");
  CHECK_STR(from, ==, "ANYLOAD_SPIN_USEC");
  setenv("EF_NO_FAIL", "0", 1);
  setenv("EF_LOG", "3", 1);
  CHECK(load(&s, err, sizeof(err)), ==, 0);
  CHECK(s.no_fail, ==, 0);
  CHECK(s.log, ==, 3);
  clear_env();
}

/* check_value: pl_setting_check of VALUE for NAME gives want; a rejected
 * value's message starts with "NAME=VALUE: " (integers). */
static void check_value(const char* name, const char* value, int want)
{
  char err[200] = "";
  char prefix[160];
  int i = pl_setting_find(name);

  CHECK(i, >=, 0);
  CHECK(pl_setting_check((unsigned)i, name, value, err, sizeof(err)), ==,
        want);
  if (want < 0 && !pl_setting_desc((unsigned)i)->is_str) {
    snprintf(prefix, sizeof(prefix), "%s=%s: ", name, value);
    if (strncmp(err, prefix, strlen(prefix)))
      UNIT_FAIL("message '%s' does not start with '%s'", err, prefix);
  }
}

static void test_integers(void)
{
  check_value("ANYLOAD_LOG", "0", 0);
  check_value("ANYLOAD_LOG", "3", 0);
  check_value("ANYLOAD_LOG", "+2", 0);
  check_value("ANYLOAD_LOG", "4", -EINVAL);
  check_value("ANYLOAD_LOG", "-1", -EINVAL);
  check_value("EF_LOG", "", -EINVAL);
  check_value("EF_LOG", "abc", -EINVAL);
  check_value("EF_LOG", "1x", -EINVAL);
  check_value("EF_LOG", "1 ", -EINVAL);
  check_value("EF_LOG", " 1", -EINVAL);
  check_value("EF_LOG", "\t1", -EINVAL);
  check_value("EF_LOG", "0x1", -EINVAL);
  check_value("EF_LOG", "1.0", -EINVAL);
  check_value("EF_LOG", "-", -EINVAL);
  check_value("EF_POLL_USEC", "-1", 0);   /* spin forever */
  check_value("EF_POLL_USEC", "-2", -EINVAL);
  check_value("EF_POLL_USEC", "2147483647", 0);
  check_value("EF_POLL_USEC", "2147483648", -EINVAL);
  check_value("EF_POLL_USEC", "99999999999999999999", -EINVAL);
  check_value("EF_POLL_USEC", "-99999999999999999999", -EINVAL);
  /* Inclusive bounds. */
  check_value("ANYLOAD_MAX_PACKETS", "1024", 0);
  check_value("ANYLOAD_MAX_PACKETS", "1023", -EINVAL);
  check_value("ANYLOAD_MAX_PACKETS", "1048576", 0);
  check_value("ANYLOAD_MAX_PACKETS", "1048577", -EINVAL);
  check_value("ANYLOAD_NO_FAIL", "2", -EINVAL);
}

static void test_messages(void)
{
  char err[200];
  int i = pl_setting_find("ANYLOAD_LOG");

  CHECK(pl_setting_check((unsigned)i, "EF_LOG", "9", err, sizeof(err)), ==,
        -EINVAL);
  CHECK_STR(err, ==, "EF_LOG=9: outside 0..3");
  CHECK(pl_setting_check((unsigned)i, NULL, "x", err, sizeof(err)), ==,
        -EINVAL);
  CHECK_STR(err, ==, "ANYLOAD_LOG=x: not an integer");
  /* A short buffer gets a truncated, terminated message. */
  CHECK(pl_setting_check((unsigned)i, NULL, "x", err, 8), ==, -EINVAL);
  CHECK(strlen(err), ==, 7);
  CHECK(pl_setting_check(pl_setting_count(), NULL, "1", err, sizeof(err)), ==,
        -EINVAL);
}

static void test_strings(void)
{
  char v[80];
  struct pl_settings s;
  char err[200];

  memset(v, 'a', 63);
  v[63] = 0;
  check_value("ANYLOAD_INTERFACE", v, 0);
  check_value("ANYLOAD_INTERFACE", "", 0);
  clear_env();
  setenv("ANYLOAD_INTERFACE", v, 1);
  CHECK(load(&s, err, sizeof(err)), ==, 0);
  CHECK_STR(s.interface, ==, v);
  v[63] = 'a';
  v[64] = 0;
  check_value("ANYLOAD_INTERFACE", v, -EINVAL);
  setenv("ANYLOAD_INTERFACE", v, 1);
  CHECK(load(&s, err, sizeof(err)), ==, -EINVAL);
  CHECK_STR(s.interface, ==, "");   /* the default kept */
  CHECK_STR(err, ==, "ANYLOAD_INTERFACE: value longer than 63 characters");
  clear_env();
}

static void test_load_bad(void)
{
  struct pl_settings s;
  char err[200];

  clear_env();
  /* Two bad values: the first (in declaration order) is reported, each
   * keeps its default, and the good ones around them are read. */
  setenv("EF_POLL_USEC", "fast", 1);
  setenv("ANYLOAD_LOG", "2", 1);
  setenv("EF_RXQ_SIZE", "1", 1);
  setenv("ANYLOAD_MAX_PACKETS", "2048", 1);
  CHECK(load(&s, err, sizeof(err)), ==, -EINVAL);
  CHECK_STR(err, ==, "EF_POLL_USEC=fast: not an integer");
  CHECK(s.spin_usec, ==, 0);
  CHECK(s.log, ==, 2);
  CHECK(s.rxq_size, ==, 512);
  CHECK(s.max_packets, ==, 2048);
  /* Ours shadows a bad alias entirely. */
  setenv("ANYLOAD_SPIN_USEC", "5", 1);
  CHECK(load(&s, err, sizeof(err)), ==, -EINVAL);
  CHECK_STR(err, ==, "EF_RXQ_SIZE=1: outside 64..4096");
  CHECK(s.spin_usec, ==, 5);
  clear_env();
}

/* The shipped profiles: every NAME=VALUE line names a setting and holds a
 * valid value (the launcher checks the same at run time). */
static void test_profiles(void)
{
  const char* dir = "tools/anyload/profiles";
  struct dirent* e;
  DIR* d = opendir(dir);
  int files = 0;

  if (!d)
    UNIT_FAIL("cannot open %s (run from the repository root)", dir);
  while ((e = readdir(d))) {
    char path[PATH_MAX], line[256], err[200];
    size_t n = strlen(e->d_name);
    FILE* f;
    int lineno = 0;

    if (n < 8 || strcmp(e->d_name + n - 8, ".profile"))
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    f = fopen(path, "r");
    CHECK_PTR(f, !=, NULL);
    files++;
    while (fgets(line, sizeof(line), f)) {
      char* eq;
      int i;
      lineno++;
      line[strcspn(line, "\n")] = 0;
      if (!line[0] || line[0] == '#')
        continue;
      eq = strchr(line, '=');
      if (!eq)
        UNIT_FAIL("%s:%d: no '='", path, lineno);
      *eq = 0;
      i = pl_setting_find(line);
      if (i < 0)
        UNIT_FAIL("%s:%d: unknown setting %s", path, lineno, line);
      if (pl_setting_check((unsigned)i, line, eq + 1, err, sizeof(err)) < 0)
        UNIT_FAIL("%s:%d: %s", path, lineno, err);
    }
    fclose(f);
  }
  closedir(d);
  CHECK(files, >=, 3);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_defaults),
  UNIT_TEST(test_find),
  UNIT_TEST(test_aliases),
  UNIT_TEST(test_integers),
  UNIT_TEST(test_messages),
  UNIT_TEST(test_strings),
  UNIT_TEST(test_load_bad),
  UNIT_TEST(test_profiles),
};
UNIT_TEST_MAIN(tests)
