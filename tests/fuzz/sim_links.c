/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/sim_links.c: libFuzzer target for the parser of simulated-link
 * specifications (anyload_sim_links_add, the syntax of the
 * ANYLOAD_SIM_LINKS setting; vi/sim_link.c). The input is the spec
 * string. Nothing may read past it, and the call is all or nothing:
 *   - on success, every link of the spec exists: both names of each
 *     ";"-separated link answer anyload_sim_link_stats, and the target
 *     then destroys them (anyload_sim_link_destroy must succeed);
 *   - on failure (only -EINVAL, -EEXIST or -ENOMEM may come back), no
 *     link is left: no name that the spec starts a link with exists.
 * ASan's leak check at exit sees any memory the parser keeps.
 *
 * A "pcap=" value would make the library create that file: the target
 * rewrites every such value to /dev/null before the call, so the path
 * handling is still parsed but nothing is written outside.
 *
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include <anyload/sim.h>

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Specs of more links are skipped (each is checked by name). */
#define MAX_LINKS 32

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv);

static void fail(const char* what, const char* spec)
{
  fprintf(stderr, "sim_links fuzz: %s: \"%s\"\n", what, spec);
  abort();
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
  (void)argc;
  (void)argv;
  /* The library reads ANYLOAD_SIM_LINKS at its first use: none here. */
  unsetenv("ANYLOAD_SIM_LINKS");
  /* The parser reports each error on stderr: keep the fuzzer's output
   * readable. */
  setenv("ANYLOAD_LOG", "0", 1);
  return 0;
}

static int value_end(char c)
{
  return c == '\0' || c == ',' || c == ';' || isspace((unsigned char)c);
}

/* sanitize: the spec as a C string (up to the first NUL), with every
 * "pcap=" value replaced by /dev/null. Returns a malloc'd string. */
static char* sanitize(const uint8_t* data, size_t size)
{
  static const char dn[] = "/dev/null";
  size_t n = strnlen((const char*)data, size), i = 0, o = 0;
  char* s = malloc(n * (sizeof(dn) + 5) + 1);

  if (!s)
    abort();
  while (i < n) {
    if (n - i >= 5 && !memcmp(data + i, "pcap=", 5)) {
      memcpy(s + o, "pcap=", 5);
      o += 5;
      memcpy(s + o, dn, sizeof(dn) - 1);
      o += sizeof(dn) - 1;
      i += 5;
      while (i < n && !value_end((char)data[i]))
        i++;
      continue;
    }
    s[o++] = (char)data[i++];
  }
  s[o] = '\0';
  return s;
}

/* take_name: copy the interface name at *pp (letters, digits, '_') into
 * out and move past it; 0 if there is none or it is too long. */
static int take_name(const char** pp, char out[IF_NAMESIZE])
{
  const char* p = *pp;
  size_t k = 0;

  while ((isalnum((unsigned char)p[k]) || p[k] == '_') && k < IF_NAMESIZE)
    k++;
  if (k == 0 || k >= IF_NAMESIZE)
    return 0;
  memcpy(out, p, k);
  out[k] = '\0';
  *pp = p + k;
  return 1;
}

/* link_names: both names of each ";"-separated part of spec that starts
 * as "NAME-NAME" (for a valid spec: its links; for an invalid one, the
 * links it could have left behind). Returns the number of names. */
static size_t link_names(const char* spec, char names[][IF_NAMESIZE],
                         size_t max)
{
  const char* p = spec;
  size_t n = 0;

  while (*p && n + 2 <= max) {
    while (isspace((unsigned char)*p))
      p++;
    if (take_name(&p, names[n])) {
      n++;
      if (*p == '-') {
        p++;
        if (take_name(&p, names[n]))
          n++;
      }
    }
    p = strchr(p, ';');
    if (!p)
      break;
    p++;
  }
  return n;
}

static int exists(const char* name)
{
  struct anyload_sim_stats st;

  return anyload_sim_link_stats(name, &st, 0) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  static char names[2 * MAX_LINKS][IF_NAMESIZE];
  char* spec;
  size_t n, k, parts = 1;
  int rc;

  if (size > 4096)
    return 0;
  spec = sanitize(data, size);
  for (k = 0; spec[k]; k++)
    parts += spec[k] == ';';
  if (parts > MAX_LINKS) {
    free(spec);
    return 0;
  }
  n = link_names(spec, names, 2 * MAX_LINKS);
  rc = anyload_sim_links_add(spec);
  if (rc == 0) {
    for (k = 0; k < n; k++) {
      if (!exists(names[k]))
        fail("a link of an accepted spec is missing", spec);
    }
    for (k = 0; k < n; k += 2)
      if (anyload_sim_link_destroy(names[k]) != 0)
        fail("a link of an accepted spec cannot be destroyed", spec);
    for (k = 0; k < n; k++)
      if (exists(names[k]))
        fail("a destroyed link is still there", spec);
  } else {
    if (rc != -EINVAL && rc != -EEXIST && rc != -ENOMEM)
      fail("an error outside the documented ones", spec);
    for (k = 0; k < n; k++)
      if (exists(names[k]))
        fail("a refused spec left a link behind", spec);
  }
  free(spec);
  return 0;
}
