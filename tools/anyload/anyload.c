// SPDX-License-Identifier: BSD-2-Clause
/*
 * anyload: the launcher of transparent mode. It checks the options, the
 * profile and every setting (the list is common/settings.def, shared with
 * libanyload.so through src/preload/settings.c), checks that the
 * interface exists and that the process has the privilege AF_XDP needs,
 * puts libanyload.so first in LD_PRELOAD and runs the command. A profile
 * is a text file of NAME=VALUE lines (# comments); the environment wins
 * over it, --interface wins over both. Exit status: the command's, or 2
 * for a usage error (bad option, profile or setting), 1 when the
 * library is missing, or the interface or the privilege is and EF_NO_FAIL=0
 * (with EF_NO_FAIL=1, the default, the command then runs on the kernel
 * after one warning), 126/127 when the command cannot be run.
 */
#include "preload/settings.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <link.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char exe_dir[PATH_MAX / 2];

static void usage(FILE* f)
{
  fprintf(f,
"usage: anyload [--profile=NAME] [--interface=IF] [--] COMMAND [ARGS...]\n"
"       anyload --list-profiles | --settings | --help | --version\n"
"\n"
"Runs COMMAND unmodified with libanyload.so preloaded: its AF_INET UDP\n"
"sockets whose traffic goes through IF are carried by anyload's user-space\n"
"stack (AF_XDP); every other socket stays with the kernel, as before.\n"
"\n"
"  -p, --profile=NAME    settings from profile NAME (see --list-profiles)\n"
"                        or from a file when NAME contains '/'; default:\n"
"                        'default'. The environment wins over a profile.\n"
"  -i, --interface=IF    the interface to accelerate (ANYLOAD_INTERFACE)\n"
"      --list-profiles   the profiles and what each one is for\n"
"      --settings        every setting: names (Onload's EF_* names are\n"
"                        accepted where they mean the same), default,\n"
"                        range, current value and meaning\n"
"  -v, --verbose         print the effective settings before running\n"
"  -h, --help            this text\n"
"      --version         the version\n"
"\n"
"Files: libanyload.so from ANYLOAD_LIB or <launcher dir>/../lib; profiles\n"
"from ANYLOAD_PROFILE_DIR or <launcher dir>/../share/anyload/profiles.\n"
"Needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF (or root) when an interface\n"
"is given. When the interface or the privilege is missing (or the stack\n"
"cannot start later), COMMAND runs on the kernel after one warning; with\n"
"EF_NO_FAIL=0 (ANYLOAD_NO_FAIL=0) that is an error instead: anyload exits\n"
"1 before running COMMAND, and a call that needs the stack fails.\n"
"Exit status: COMMAND's; 2 for a usage error; 1 when the library is\n"
"missing, or (EF_NO_FAIL=0) the interface or the privilege; 126/127 when\n"
"COMMAND cannot be run.\n");
}

static const char* profile_dir(char* buf, size_t len)
{
  const char* d = getenv("ANYLOAD_PROFILE_DIR");

  if (d && *d)
    return d;
  snprintf(buf, len, "%s/../share/anyload/profiles", exe_dir);
  return buf;
}

static int list_profiles(void)
{
  char buf[PATH_MAX], path[PATH_MAX * 2], line[256];
  const char* dir = profile_dir(buf, sizeof(buf));
  struct dirent** ents;
  int n, k;

  n = scandir(dir, &ents, NULL, alphasort);
  if (n < 0) {
    fprintf(stderr, "anyload: cannot read profiles in %s: %s\n", dir,
            strerror(errno));
    return 1;
  }
  for (k = 0; k < n; k++) {
    size_t l = strlen(ents[k]->d_name);
    if (l > 8 && !strcmp(ents[k]->d_name + l - 8, ".profile")) {
      FILE* f;
      snprintf(path, sizeof(path), "%s/%s", dir, ents[k]->d_name);
      line[0] = 0;
      if ((f = fopen(path, "r"))) {
        if (!fgets(line, sizeof(line), f))
          line[0] = 0;
        fclose(f);
      }
      line[strcspn(line, "\n")] = 0;
      printf("%-12.*s %s\n", (int)(l - 8), ents[k]->d_name,
             line[0] == '#' ? line + 1 + (line[1] == ' ') : "");
    }
    free(ents[k]);
  }
  free(ents);
  return 0;
}

static void print_settings(void)
{
  unsigned i;

  for (i = 0; i < pl_setting_count(); i++) {
    const struct pl_setting_desc* d = pl_setting_desc(i);
    const char* from = NULL;
    const char* v = pl_setting_env(i, &from);
    printf("%s", d->name);
    if (d->alias1)
      printf(" (%s%s%s)", d->alias1, d->alias2 ? ", " : "",
             d->alias2 ? d->alias2 : "");
    if (d->is_str)
      printf("\n    default '%s'", d->def_str);
    else
      printf("\n    default %lld, range %lld..%lld", d->def, d->lo, d->hi);
    if (v)
      printf(", now %s (from %s)", v, from);
    printf("\n    %s\n", d->doc);
  }
}

/* is_set: the environment sets setting i under any of its names. */
static int is_set(unsigned i)
{
  return pl_setting_env(i, NULL) != NULL;
}

static int load_profile(const char* name)
{
  char buf[PATH_MAX], path[PATH_MAX * 2], line[512], err[200];
  FILE* f;
  int lineno = 0;

  if (strchr(name, '/'))
    snprintf(path, sizeof(path), "%s", name);
  else
    snprintf(path, sizeof(path), "%s/%s.profile",
             profile_dir(buf, sizeof(buf)), name);
  f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "anyload: no profile '%s' (%s: %s); see "
            "'anyload --list-profiles'\n", name, path, strerror(errno));
    return -1;
  }
  while (fgets(line, sizeof(line), f)) {
    char *p = line, *eq, *val;
    int i;
    lineno++;
    line[strcspn(line, "\n")] = 0;
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p || *p == '#')
      continue;
    eq = strchr(p, '=');
    if (!eq) {
      fprintf(stderr, "anyload: %s:%d: expected NAME=VALUE\n", path, lineno);
      fclose(f);
      return -1;
    }
    *eq = 0;
    val = eq + 1;
    i = pl_setting_find(p);
    if (i < 0) {
      fprintf(stderr, "anyload: %s:%d: unknown setting %s\n", path, lineno,
              p);
      fclose(f);
      return -1;
    }
    if (pl_setting_check((unsigned)i, p, val, err, sizeof(err)) < 0) {
      fprintf(stderr, "anyload: %s:%d: %s\n", path, lineno, err);
      fclose(f);
      return -1;
    }
    if (!is_set((unsigned)i))
      setenv(pl_setting_desc((unsigned)i)->name, val, 1);
  }
  fclose(f);
  return 0;
}

#ifdef __SANITIZE_ADDRESS__
static int find_asan(struct dl_phdr_info* info, size_t size, void* out)
{
  (void)size;
  if (info->dlpi_name && strstr(info->dlpi_name, "/libasan.so")) {
    snprintf(out, PATH_MAX, "%s", info->dlpi_name);
    return 1;
  }
  return 0;
}
#endif

/* asan_runtime: in an AddressSanitizer build (the launcher and
 * libanyload.so built with -fsanitize=address, as `make test` does for its
 * second pass), the path of the ASan runtime, which must come first in
 * LD_PRELOAD for an instrumented libanyload.so to load into a program that
 * is not instrumented; "" otherwise. */
static const char* asan_runtime(void)
{
  static char path[PATH_MAX];

#ifdef __SANITIZE_ADDRESS__
  if (!path[0])
    dl_iterate_phdr(find_asan, path);
#endif
  return path;
}

/* has_caps: the effective capabilities include what AF_XDP needs. */
static int has_caps(void)
{
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long eff = 0;

  if (!f)
    return geteuid() == 0;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "CapEff: %llx", &eff) == 1)
      break;
  fclose(f);
  /* CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_ADMIN 21, CAP_BPF 39. */
  return (eff >> 12 & 1) && (eff >> 13 & 1) &&
         ((eff >> 39 & 1) || (eff >> 21 & 1));
}

int main(int argc, char** argv)
{
  static const struct option opts[] = {
    { "profile", required_argument, NULL, 'p' },
    { "interface", required_argument, NULL, 'i' },
    { "list-profiles", no_argument, NULL, 'L' },
    { "settings", no_argument, NULL, 'S' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  const char* profile = "default";
  const char* ifname = NULL;
  char lib[PATH_MAX * 2], err[200], *pre;
  struct pl_settings cfg;
  int c, verbose = 0;
  ssize_t n;

  n = readlink("/proc/self/exe", exe_dir, sizeof(exe_dir) - 1);
  if (n > 0) {
    exe_dir[n] = 0;
    *strrchr(exe_dir, '/') = 0;
  } else {
    strcpy(exe_dir, ".");
  }
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+p:i:vh", opts, NULL)) != -1) {
    switch (c) {
    case 'p': profile = optarg; break;
    case 'i': ifname = optarg; break;
    case 'v': verbose = 1; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("anyload %s\n", ANYLOAD_VERSION); return 0;
    case 'L': return list_profiles();
    case 'S': print_settings(); return 0;
    default:
      if (optopt && strchr("pi", optopt))
        fprintf(stderr, "anyload: option -%c needs a value\n", optopt);
      else if (optopt)
        fprintf(stderr, "anyload: unknown option -%c\n", optopt);
      else
        fprintf(stderr, "anyload: unknown or incomplete option '%s'\n",
                argv[optind - 1]);
      fprintf(stderr, "Try 'anyload --help'.\n");
      return 2;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "anyload: no command given\nTry 'anyload --help'.\n");
    return 2;
  }
  if (load_profile(profile) < 0)
    return 2;
  if (ifname)
    setenv("ANYLOAD_INTERFACE", ifname, 1);
  if (pl_settings_load(&cfg, err, sizeof(err)) < 0) {
    fprintf(stderr, "anyload: bad setting: %s\n", err);
    return 2;
  }
  if (cfg.interface[0]) {
    const char* why = NULL;
    if (if_nametoindex(cfg.interface) == 0)
      why = "no such interface in this network namespace";
    else if (!has_caps())
      why = "missing privilege: AF_XDP needs CAP_NET_ADMIN, CAP_NET_RAW "
            "and CAP_BPF (run as root)";
    if (why && !cfg.no_fail) {
      fprintf(stderr, "anyload: cannot accelerate '%s': %s (EF_NO_FAIL=0)"
              "\n", cfg.interface, why);
      return 1;
    }
    if (why) {
      /* The one warning: the library, given no interface, stays silent. */
      fprintf(stderr, "anyload: cannot accelerate '%s': %s; %s runs on "
              "the kernel (EF_NO_FAIL=0 makes this an error)\n",
              cfg.interface, why, argv[optind]);
      setenv("ANYLOAD_INTERFACE", "", 1);
    }
  } else if (cfg.log >= 1) {
    fprintf(stderr, "anyload: no interface (--interface or "
            "ANYLOAD_INTERFACE): every socket stays with the kernel\n");
  }
  if (getenv("ANYLOAD_LIB") && *getenv("ANYLOAD_LIB"))
    snprintf(lib, sizeof(lib), "%s", getenv("ANYLOAD_LIB"));
  else
    snprintf(lib, sizeof(lib), "%s/../lib/libanyload.so", exe_dir);
  if (access(lib, R_OK) != 0) {
    fprintf(stderr, "anyload: cannot find %s: %s (set ANYLOAD_LIB)\n", lib,
            strerror(errno));
    return 1;
  }
  {
    const char* old = getenv("LD_PRELOAD");
    const char* rt = asan_runtime();
    size_t len = strlen(lib) + (old ? strlen(old) : 0) + strlen(rt) + 3;
    pre = malloc(len);
    if (!pre)
      return 1;
    snprintf(pre, len, "%s%s%s%s%s", rt, *rt ? " " : "", lib,
             old && *old ? " " : "", old ? old : "");
    setenv("LD_PRELOAD", pre, 1);
    free(pre);
  }
  if (verbose) {
    unsigned i;
    fprintf(stderr, "anyload: profile %s, LD_PRELOAD=%s\n", profile,
            getenv("LD_PRELOAD"));
    for (i = 0; i < pl_setting_count(); i++) {
      const char* from = NULL;
      const char* v = pl_setting_env(i, &from);
      if (v)
        fprintf(stderr, "anyload:   %s=%s\n", from, v);
    }
  }
  execvp(argv[optind], argv + optind);
  c = errno;
  fprintf(stderr, "anyload: cannot run '%s': %s\n", argv[optind],
          strerror(c));
  return c == ENOENT ? 127 : 126;
}
