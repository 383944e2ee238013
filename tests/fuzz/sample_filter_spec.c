/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/sample_filter_spec.c: libFuzzer target for the argument parsers of
 * the ef_vi sample programs (tools/common/ef_sample_util.h, header-only:
 * included here as efsink and efforward include it): the filter-spec
 * parser efs_filter_parse ("udp:HOST:PORT[,RHOST:RPORT]", "eth:[vid=N,]MAC",
 * "ethertype:0xXXXX", "ipproto:N", the all/mismatch names) and the
 * number, MAC, address, port and seconds parsers behind it and behind the
 * programs' options. The input is one argument string (up to its first
 * NUL). Nothing may read past it, and:
 *   - efs_parse_u64 and efs_parse_mac agree with small reference parsers
 *     of the documented syntax (digits only, "0x" hex or "0" octal for
 *     base 0; six groups of one or two hex digits separated by ':' or
 *     '-'), so that no sign, space or prefix sneaks through;
 *   - a spec that efs_filter_parse accepts, written back in the canonical
 *     syntax (the formatter below knows the ef_filter_spec layout of
 *     vi/vi_int.h), parses to the same ef_filter_spec;
 *   - a parsed spec can be added to a VI (a sim interface; -EOPNOTSUPP and
 *     -EPROTONOSUPPORT are fine) and deleted again.
 *
 * Built by `make fuzz`; its corpus is replayed by the unit suite.
 */
#include "../../tools/common/ef_sample_util.h"
#include "vi/vi_int.h"

#include <anyload/sim.h>
#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerInitialize(int* argc, char*** argv);

static struct {
  ef_driver_handle dh;
  ef_pd pd;
  ef_vi vi;
} sim;
static int ready;

static void fail(const char* what, const char* arg)
{
  fprintf(stderr, "sample_filter_spec fuzz: %s: \"%s\"\n", what, arg);
  abort();
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
  (void)argc;
  (void)argv;
  setenv("ANYLOAD_BACKEND", "sim", 1);
  setenv("ANYLOAD_LOG", "0", 1);
  if (anyload_sim_link_create("sfA", "sfB", NULL) < 0 ||
      ef_driver_open(&sim.dh) < 0 ||
      ef_pd_alloc_by_name(&sim.pd, sim.dh, "sfA", EF_PD_DEFAULT) < 0 ||
      ef_vi_alloc_from_pd(&sim.vi, sim.dh, &sim.pd, sim.dh, -1, 8, 8, NULL,
                          -1, EF_VI_FLAGS_DEFAULT) < 0)
    fail("cannot open a sim VI", "");
  ready = 1;
  return 0;
}

/* ref_u64: the documented syntax of efs_parse_u64. */
static int ref_u64(const char* s, int base, uint64_t max, uint64_t* out)
{
  uint64_t v = 0;
  unsigned d;

  if (base == 0) {
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      base = 16;
      s += 2;
    } else if (s[0] == '0' && s[1]) {
      base = 8;
      s += 1;
    } else {
      base = 10;
    }
  }
  if (!*s)
    return -EINVAL;
  for (; *s; s++) {
    if (isdigit((unsigned char)*s))
      d = (unsigned)(*s - '0');
    else if (isxdigit((unsigned char)*s))
      d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
    else
      return -EINVAL;
    if (d >= (unsigned)base || v > (UINT64_MAX - d) / (unsigned)base)
      return -EINVAL;
    v = v * (unsigned)base + d;
  }
  if (v > max)
    return -EINVAL;
  *out = v;
  return 0;
}

/* ref_mac: six groups of 1..2 hex digits, separated by ':' or '-'. */
static int ref_mac(const char* s, uint8_t mac[6])
{
  int i, k;

  for (i = 0; i < 6; i++) {
    unsigned v = 0;
    for (k = 0; k < 2 && isxdigit((unsigned char)*s); k++, s++)
      v = v * 16 + (unsigned)(isdigit((unsigned char)*s)
                              ? *s - '0'
                              : tolower((unsigned char)*s) - 'a' + 10);
    if (k == 0)
      return -EINVAL;
    mac[i] = (uint8_t)v;
    if (i < 5) {
      if (*s != ':' && *s != '-')
        return -EINVAL;
      s++;
    }
  }
  return *s ? -EINVAL : 0;
}

static void check_numbers(const char* s)
{
  static const struct { int base; uint64_t max; } cases[] = {
    { 10, UINT64_MAX }, { 10, 65535 }, { 10, 4095 }, { 0, 0xffff },
    { 0, 255 }, { 0, UINT64_MAX },
  };
  uint64_t a, b;
  uint8_t m1[6], m2[6];
  uint32_t ip;
  uint16_t port;
  double secs;
  size_t k;
  int ra, rb;

  for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    a = b = 0;
    ra = efs_parse_u64(s, cases[k].base, cases[k].max, &a);
    rb = ref_u64(s, cases[k].base, cases[k].max, &b);
    if ((ra == 0) != (rb == 0) || (ra == 0 && a != b))
      fail("efs_parse_u64 disagrees with the documented syntax", s);
  }
  ra = efs_parse_mac(s, m1);
  rb = ref_mac(s, m2);
  if ((ra == 0) != (rb == 0) || (ra == 0 && memcmp(m1, m2, 6)))
    fail("efs_parse_mac disagrees with the documented syntax", s);
  if (efs_parse_port(s, &port) == 0 &&
      (ref_u64(s, 10, 65535, &a) < 0 || port != htons((uint16_t)a)))
    fail("efs_parse_port took a bad port", s);
  (void)efs_parse_ip4(s, &ip);
  if (efs_parse_seconds(s, &secs) == 0 && !(secs >= 0 && secs <= 1e9))
    fail("efs_parse_seconds out of range", s);
}

/* format: fs in the canonical filter-spec syntax; 0, or -1 for a type the
 * syntax cannot write. */
static int format(const ef_filter_spec* fs, char* out, size_t n)
{
  const unsigned* d = fs->data;
  char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], vid[16] = "";
  const char* proto = d[VI_FD_PROTO] == IPPROTO_UDP ? "udp" : "tcp";
  uint8_t mac[6];

  switch (fs->type) {
  case VI_FLT_IP4_LOCAL:
    efs_fmt_ip4(d[VI_FD_LHOST], a);
    snprintf(out, n, "%s:%s:%u", proto, a, ntohs((uint16_t)d[VI_FD_LPORT]));
    return 0;
  case VI_FLT_IP4_FULL:
    efs_fmt_ip4(d[VI_FD_LHOST], a);
    efs_fmt_ip4(d[VI_FD_RHOST], b);
    snprintf(out, n, "%s:%s:%u,%s:%u", proto, a,
             ntohs((uint16_t)d[VI_FD_LPORT]), b,
             ntohs((uint16_t)d[VI_FD_RPORT]));
    return 0;
  case VI_FLT_ETH:
    mac[0] = (uint8_t)(d[VI_FD_MAC_HI] >> 24);
    mac[1] = (uint8_t)(d[VI_FD_MAC_HI] >> 16);
    mac[2] = (uint8_t)(d[VI_FD_MAC_HI] >> 8);
    mac[3] = (uint8_t)d[VI_FD_MAC_HI];
    mac[4] = (uint8_t)(d[VI_FD_MAC_LO] >> 8);
    mac[5] = (uint8_t)d[VI_FD_MAC_LO];
    if (fs->flags & VI_FLT_F_VLAN)
      snprintf(vid, sizeof(vid), "vid=%u,", d[VI_FD_VLAN]);
    snprintf(out, n, "eth:%s%02x:%02x:%02x:%02x:%02x:%02x", vid, mac[0],
             mac[1], mac[2], mac[3], mac[4], mac[5]);
    return 0;
  case VI_FLT_ETHERTYPE:
    snprintf(out, n, "ethertype:0x%04x",
             ntohs((uint16_t)d[VI_FD_ETHERTYPE]));
    return 0;
  case VI_FLT_IPPROTO:
    snprintf(out, n, "ipproto:%u", d[VI_FD_PROTO]);
    return 0;
  case VI_FLT_UCAST_ALL:
    snprintf(out, n, "unicast-all");
    return 0;
  case VI_FLT_MCAST_ALL:
    snprintf(out, n, "multicast-all");
    return 0;
  case VI_FLT_UCAST_MISMATCH:
    snprintf(out, n, "unicast-mismatch");
    return 0;
  case VI_FLT_MCAST_MISMATCH:
    snprintf(out, n, "multicast-mismatch");
    return 0;
  default:
    return -1;
  }
}

static void check_filter(const char* s)
{
  ef_filter_spec fs, fs2;
  ef_filter_cookie ck;
  const char* why = NULL;
  char canon[128];
  uint32_t group;
  int rc;

  rc = efs_filter_parse(&fs, s, &why);
  (void)efs_filter_mcast_group(s, &group);
  if (rc < 0) {
    if (!why)
      fail("a refused spec without a reason", s);
    return;
  }
  if (format(&fs, canon, sizeof(canon)) < 0)
    fail("an accepted spec of a type the syntax cannot write", s);
  if (efs_filter_parse(&fs2, canon, &why) < 0)
    fail("the canonical form of an accepted spec is refused", canon);
  if (memcmp(&fs, &fs2, sizeof(fs)))
    fail("the canonical form parses to another filter", canon);
  rc = ef_vi_filter_add(&sim.vi, sim.dh, &fs, &ck);
  if (rc == 0) {
    if (ef_vi_filter_del(&sim.vi, sim.dh, &ck) != 0)
      fail("an added filter cannot be deleted", s);
  } else if (rc != -EOPNOTSUPP && rc != -EPROTONOSUPPORT && rc != -EINVAL) {
    fail("filter_add failed with an unexpected error", s);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  size_t n = strnlen((const char*)data, size);
  char* s;

  if (!ready || n > 512)
    return 0;
  /* An exact-size copy, so that ASan sees a read past the string. */
  s = malloc(n + 1);
  if (!s)
    abort();
  memcpy(s, data, n);
  s[n] = '\0';
  check_numbers(s);
  check_filter(s);
  free(s);
  return 0;
}
