/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ef_sample_util.h: helpers shared by the ef_vi sample programs (eflatency,
 * efsink, efsend, efforward). The build compiles only the .c files of
 * tools/<tool>/, so everything here is static inline and each tool gets its
 * own copy. It owns: error reporting and exit clean-up (every VI, memory
 * registration, PD and driver handle opened through it is released by an
 * atexit hook, so an error exit never leaves a filter or the XDP program
 * behind), SIGINT/SIGTERM handling, clocks, argument parsing (numbers, MACs,
 * IPv4 addresses, filter specs), the packet-buffer pool, UDP/IPv4 frame
 * building and pcap writing.
 *
 * Buffer layout (the classic ef_vi one): the pool is one page-aligned region
 * of EFS_BUF_SIZE-byte buffers. Each buffer starts with a small header
 * (struct efs_buf_hdr) and the frame area begins EFS_BUF_DATA_OFF bytes in.
 * RX buffers are posted at that offset; a received frame then sits at the
 * frame area + ef_vi_receive_prefix_len(). Buffer i has request id i, and
 * its DMA address in PD k is ef_memreg_dma_addr(&mr[k], i * EFS_BUF_SIZE +
 * EFS_BUF_DATA_OFF). The same memory may be registered with several PDs
 * (efforward), one ef_memreg each.
 */
#ifndef EF_SAMPLE_UTIL_H
#define EF_SAMPLE_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <etherfabric/base.h>
#include <etherfabric/checksum.h>
#include <etherfabric/ef_vi.h>
#include <etherfabric/memreg.h>
#include <anyload/vi_ext.h>
#include <etherfabric/pd.h>
#include <etherfabric/vi.h>

/**********************************************************************
 * Constants
 **********************************************************************/

#define EFS_BUF_SIZE      2048
#define EFS_BUF_DATA_OFF  64    /* frame area offset inside a buffer */
#define EFS_BUF_MAGIC     0xefb0f5a1u
#define EFS_MAX_VIS       4
#define EFS_MAX_MRS       4

/* Ethernet + IPv4 (no options) + UDP header bytes. */
#define EFS_ETH_HLEN      14
#define EFS_IP4_HLEN      20
#define EFS_UDP_HLEN      8
#define EFS_UDP_HDRS_LEN  (EFS_ETH_HLEN + EFS_IP4_HLEN + EFS_UDP_HLEN)
/* Offsets in a frame of fields read on the fast paths. */
#define EFS_OFF_ETHERTYPE 12
#define EFS_OFF_IP        EFS_ETH_HLEN
#define EFS_OFF_IP_ID     (EFS_ETH_HLEN + 4)
#define EFS_OFF_IP_PROTO  (EFS_ETH_HLEN + 9)

#define EFS_NS_PER_SEC    1000000000ull

/**********************************************************************
 * Errors, exit and clean-up
 **********************************************************************/

static const char* efs__prog = "ef";

/* efs_set_prog: name used as the prefix of every message. */
static inline void efs_set_prog(const char* argv0)
{
  const char* slash = strrchr(argv0, '/');
  efs__prog = slash ? slash + 1 : argv0;
}

/* efs_err: print "prog: message" on stderr. */
static inline void __attribute__((format(printf, 1, 2)))
efs_err(const char* fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", efs__prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* efs_die: print the message and exit(1); the atexit hook releases the
 * ef_vi resources. */
static inline void __attribute__((format(printf, 1, 2), noreturn))
efs_die(const char* fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", efs__prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

/* efs_errno_hint: a hint for the errors users commonly hit at set-up. */
static inline const char* efs_errno_hint(int err)
{
  switch( err ) {
  case EPERM:
  case EACCES:
    return " (AF_XDP needs root, or CAP_NET_ADMIN + CAP_BPF + CAP_NET_RAW)";
  case ENODEV:
    return " (no such network interface in this namespace)";
  case EBUSY:
    return " (interface, queue or filter already in use)";
  case EAFNOSUPPORT:
    return " (kernel without AF_XDP support)";
  default:
    return "";
  }
}

/* efs_try: exit with "prog: what: strerror" when rc, an ef_vi return
 * value, is a negative errno. Returns rc otherwise. */
static inline int efs_try(int rc, const char* what)
{
  if( rc < 0 )
    efs_die("%s: %s%s", what, strerror(-rc), efs_errno_hint(-rc));
  return rc;
}

/**********************************************************************
 * Signals and clocks
 **********************************************************************/

/* Set by SIGINT/SIGTERM; every loop of the samples checks it. */
static volatile sig_atomic_t efs_stop;

static inline void efs__on_signal(int sig)
{
  (void) sig;
  efs_stop = 1;
}

/* efs_install_signals: SIGINT/SIGTERM ask the loops to stop; a second
 * signal (SA_RESETHAND) kills the process the default way. */
static inline void efs_install_signals(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = efs__on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static inline uint64_t efs_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * EFS_NS_PER_SEC + (uint64_t) ts.tv_nsec;
}

/* efs_sleep_ns: sleep, returning early on a signal. */
static inline void efs_sleep_ns(uint64_t ns)
{
  struct timespec ts = {
    .tv_sec = (time_t) (ns / EFS_NS_PER_SEC),
    .tv_nsec = (long) (ns % EFS_NS_PER_SEC),
  };
  nanosleep(&ts, NULL);
}

/* efs_deadline: now + seconds, or UINT64_MAX when seconds is 0 (none). */
static inline uint64_t efs_deadline(double seconds)
{
  if( seconds <= 0 )
    return UINT64_MAX;
  return efs_now_ns() + (uint64_t) (seconds * 1e9);
}

/**********************************************************************
 * Argument parsing
 **********************************************************************/

/* efs_parse_u64: parse the whole string as an unsigned number in the given
 * base (0: decimal, 0x hex or 0 octal) no larger than max. Returns 0 or
 * -EINVAL. The first character must be a digit: strtoull alone would skip
 * leading spaces and take a sign after them (" -1" as UINT64_MAX). */
static inline int efs_parse_u64(const char* s, int base, uint64_t max,
                                uint64_t* out)
{
  char* end;
  unsigned long long v;
  if( s == NULL || *s < '0' || *s > '9' )
    return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, base);
  if( errno != 0 || *end != '\0' || v > max )
    return -EINVAL;
  *out = v;
  return 0;
}

/* efs_parse_seconds: a non-negative decimal number of seconds (starting
 * with a digit or '.', as efs_parse_u64 starts with a digit). */
static inline int efs_parse_seconds(const char* s, double* out)
{
  char* end;
  double v;
  if( s == NULL || !((*s >= '0' && *s <= '9') || *s == '.') )
    return -EINVAL;
  errno = 0;
  v = strtod(s, &end);
  if( errno != 0 || *end != '\0' || !(v >= 0) || v > 1e9 )
    return -EINVAL;
  *out = v;
  return 0;
}

/* efs_parse_hex_digit: the value of hex digit c, or -1. */
static inline int efs_parse_hex_digit(char c)
{
  if( c >= '0' && c <= '9' )
    return c - '0';
  if( c >= 'a' && c <= 'f' )
    return c - 'a' + 10;
  if( c >= 'A' && c <= 'F' )
    return c - 'A' + 10;
  return -1;
}

/* efs_parse_mac: "aa:bb:cc:dd:ee:ff" (also with '-'; a group may have one
 * digit). Returns 0 or -EINVAL. Parsed by hand: sscanf's %x would also
 * take spaces, a sign or a 0x prefix ("-1:-1:..." as ff:ff:...). */
static inline int efs_parse_mac(const char* s, uint8_t mac[6])
{
  uint8_t m[6];
  int i, k, d;
  for( i = 0; i < 6; ++i ) {
    unsigned v = 0;
    for( k = 0; k < 2 && (d = efs_parse_hex_digit(*s)) >= 0; ++k, ++s )
      v = v * 16 + (unsigned) d;
    if( k == 0 )
      return -EINVAL;
    m[i] = (uint8_t) v;
    if( i < 5 && *s != ':' && *s != '-' )
      return -EINVAL;
    if( i < 5 )
      ++s;
  }
  if( *s != '\0' )
    return -EINVAL;
  memcpy(mac, m, 6);
  return 0;
}

/* efs_parse_ip4: dotted quad to a network-order address. Returns 0 or
 * -EINVAL. */
static inline int efs_parse_ip4(const char* s, uint32_t* addr_be)
{
  struct in_addr a;
  if( inet_pton(AF_INET, s, &a) != 1 )
    return -EINVAL;
  *addr_be = a.s_addr;
  return 0;
}

/* efs_parse_port: 0..65535 to network order. Returns 0 or -EINVAL. */
static inline int efs_parse_port(const char* s, uint16_t* port_be)
{
  uint64_t v;
  if( efs_parse_u64(s, 10, 65535, &v) < 0 )
    return -EINVAL;
  *port_be = htons((uint16_t) v);
  return 0;
}

static inline int efs_ip4_is_multicast(uint32_t addr_be)
{
  return (ntohl(addr_be) & 0xf0000000u) == 0xe0000000u;
}

/* efs_mcast_mac: the Ethernet address of an IPv4 multicast group
 * (RFC 1112 §6.4: 01:00:5e + the low 23 bits). */
static inline void efs_mcast_mac(uint32_t group_be, uint8_t mac[6])
{
  uint32_t g = ntohl(group_be);
  mac[0] = 0x01;
  mac[1] = 0x00;
  mac[2] = 0x5e;
  mac[3] = (uint8_t) ((g >> 16) & 0x7f);
  mac[4] = (uint8_t) (g >> 8);
  mac[5] = (uint8_t) g;
}

static inline const char* efs_fmt_mac(const uint8_t mac[6], char buf[18])
{
  snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
           mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

static inline const char* efs_fmt_ip4(uint32_t addr_be,
                                      char buf[INET_ADDRSTRLEN])
{
  struct in_addr a = { .s_addr = addr_be };
  return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* efs_if_ipv4: the first IPv4 address of the interface. Returns 0,
 * -ENOENT (none) or -errno from getifaddrs. */
static inline int efs_if_ipv4(const char* ifname, uint32_t* addr_be)
{
  struct ifaddrs* ifas;
  struct ifaddrs* ifa;
  int rc = -ENOENT;
  if( getifaddrs(&ifas) < 0 )
    return -errno;
  for( ifa = ifas; ifa != NULL; ifa = ifa->ifa_next ) {
    if( ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET ||
        strcmp(ifa->ifa_name, ifname) != 0 )
      continue;
    *addr_be = ((const struct sockaddr_in*) ifa->ifa_addr)->sin_addr.s_addr;
    rc = 0;
    break;
  }
  freeifaddrs(ifas);
  return rc;
}

/**********************************************************************
 * Filter specs (efsink, efforward)
 *
 *   udp:HOST:PORT  tcp:HOST:PORT          local 3-tuple (HOST may be
 *                                         empty, '*' or 0.0.0.0: any)
 *   udp:HOST:PORT,RHOST:RPORT  (tcp too)  full 5-tuple
 *   eth:MAC  eth:vid=N,MAC                destination MAC (+VLAN)
 *   unicast-all multicast-all unicast-mismatch multicast-mismatch
 *   ethertype:0xXXXX                      EtherType
 *   ipproto:N                             IPv4 protocol number
 **********************************************************************/

#define EFS_FILTER_SPEC_HELP \
  "  udp:HOST:PORT | tcp:HOST:PORT        local address (HOST '*': any)\n" \
  "  udp:HOST:PORT,RHOST:RPORT (tcp too)  full 5-tuple\n"                  \
  "  eth:MAC | eth:vid=N,MAC              destination MAC (+VLAN)\n"       \
  "  unicast-all | multicast-all | unicast-mismatch | multicast-mismatch\n"\
  "  ethertype:0xXXXX | ipproto:N\n"

/* The environment settings that choose how a VI reaches the network. */
#define EFS_ENV_HELP \
  "\n"                                                                      \
  "environment:\n"                                                         \
  "  ANYLOAD_BACKEND=auto|afxdp|afpacket|sim  how VIs reach the network\n"  \
  "      (auto: AF_XDP, or AF_PACKET where XDP/AF_XDP is missing); the\n"    \
  "      '# backend:' line of the output says which one is in use\n"        \
  "  ANYLOAD_XDP_MODE=auto|native|generic|prefer-native  XDP attach mode\n" \
  "  ANYLOAD_SIM_LINKS=A-B[:opts][;...]       simulated links (sim)\n"      \
  "  ANYLOAD_LOG=0..3                         library messages (1: errors)\n"

/* efs__host_port: "HOST:PORT" (HOST may be empty or '*'). */
static inline int efs__host_port(char* s, uint32_t* host_be,
                                 uint16_t* port_be, const char** why)
{
  char* colon = strrchr(s, ':');
  if( colon == NULL ) {
    *why = "expected HOST:PORT";
    return -EINVAL;
  }
  *colon = '\0';
  if( s[0] == '\0' || strcmp(s, "*") == 0 )
    *host_be = htonl(INADDR_ANY);
  else if( efs_parse_ip4(s, host_be) < 0 ) {
    *why = "bad IPv4 address";
    return -EINVAL;
  }
  if( efs_parse_port(colon + 1, port_be) < 0 ) {
    *why = "bad port";
    return -EINVAL;
  }
  return 0;
}

/* efs__ip_spec: the part after "udp:" or "tcp:". */
static inline int efs__ip_spec(ef_filter_spec* fs, int proto, char* s,
                               const char** why)
{
  char* comma = strchr(s, ',');
  uint32_t lhost, rhost;
  uint16_t lport, rport;
  if( comma != NULL )
    *comma = '\0';
  if( efs__host_port(s, &lhost, &lport, why) < 0 )
    return -EINVAL;
  if( comma == NULL )
    return ef_filter_spec_set_ip4_local(fs, proto, lhost, lport);
  if( efs__host_port(comma + 1, &rhost, &rport, why) < 0 )
    return -EINVAL;
  return ef_filter_spec_set_ip4_full(fs, proto, lhost, lport, rhost, rport);
}

/* efs__eth_spec: the part after "eth:": "MAC" or "vid=N,MAC". */
static inline int efs__eth_spec(ef_filter_spec* fs, char* s,
                                const char** why)
{
  int vlan = EF_FILTER_VLAN_ID_ANY;
  uint8_t mac[6];
  if( strncmp(s, "vid=", 4) == 0 ) {
    char* comma = strchr(s, ',');
    uint64_t v;
    if( comma == NULL ) {
      *why = "expected eth:vid=N,MAC";
      return -EINVAL;
    }
    *comma = '\0';
    if( efs_parse_u64(s + 4, 10, 4095, &v) < 0 ) {
      *why = "bad VLAN id (0..4095)";
      return -EINVAL;
    }
    vlan = (int) v;
    s = comma + 1;
  }
  if( efs_parse_mac(s, mac) < 0 ) {
    *why = "bad MAC address";
    return -EINVAL;
  }
  return ef_filter_spec_set_eth_local(fs, vlan, mac);
}

/* efs_filter_parse: fill *fs from a filter-spec string. Returns 0, or
 * -EINVAL with *why set to a short reason, or the negative errno of the
 * ef_filter_spec_set_* call. */
static inline int efs_filter_parse(ef_filter_spec* fs, const char* spec,
                                   const char** why)
{
  char buf[128];
  uint64_t v;
  int rc;
  *why = "unknown filter type";
  if( strlen(spec) >= sizeof(buf) ) {
    *why = "too long";
    return -EINVAL;
  }
  strcpy(buf, spec);
  ef_filter_spec_init(fs, EF_FILTER_FLAG_NONE);
  if( strncmp(buf, "udp:", 4) == 0 )
    rc = efs__ip_spec(fs, IPPROTO_UDP, buf + 4, why);
  else if( strncmp(buf, "tcp:", 4) == 0 )
    rc = efs__ip_spec(fs, IPPROTO_TCP, buf + 4, why);
  else if( strncmp(buf, "eth:", 4) == 0 )
    rc = efs__eth_spec(fs, buf + 4, why);
  else if( strcmp(buf, "unicast-all") == 0 )
    rc = ef_filter_spec_set_unicast_all(fs);
  else if( strcmp(buf, "multicast-all") == 0 )
    rc = ef_filter_spec_set_multicast_all(fs);
  else if( strcmp(buf, "unicast-mismatch") == 0 )
    rc = ef_filter_spec_set_unicast_mismatch(fs);
  else if( strcmp(buf, "multicast-mismatch") == 0 )
    rc = ef_filter_spec_set_multicast_mismatch(fs);
  else if( strncmp(buf, "ethertype:", 10) == 0 ) {
    if( efs_parse_u64(buf + 10, 0, 0xffff, &v) < 0 ) {
      *why = "bad EtherType (0..0xffff)";
      return -EINVAL;
    }
    rc = ef_filter_spec_set_eth_type(fs, htons((uint16_t) v));
  }
  else if( strncmp(buf, "ipproto:", 8) == 0 ) {
    if( efs_parse_u64(buf + 8, 0, 255, &v) < 0 ) {
      *why = "bad IP protocol (0..255)";
      return -EINVAL;
    }
    rc = ef_filter_spec_set_ip_proto(fs, (uint8_t) v);
  }
  else
    return -EINVAL;
  if( rc < 0 && rc != -EINVAL )
    *why = strerror(-rc);
  return rc < 0 ? rc : 0;
}

/* efs_filter_mcast_group: if spec is udp:/tcp: with a multicast local
 * host, store that group and return 1; else 0. */
static inline int efs_filter_mcast_group(const char* spec, uint32_t* group)
{
  char buf[128];
  char* colon;
  if( strncmp(spec, "udp:", 4) != 0 && strncmp(spec, "tcp:", 4) != 0 )
    return 0;
  snprintf(buf, sizeof(buf), "%s", spec + 4);
  colon = strchr(buf, ':');
  if( colon == NULL )
    return 0;
  *colon = '\0';
  if( efs_parse_ip4(buf, group) < 0 || !efs_ip4_is_multicast(*group) )
    return 0;
  return 1;
}

/* efs_mcast_join: join an IPv4 group on the interface with a kernel
 * socket, so that the kernel sends the IGMP report and the NIC accepts
 * the group's MAC address. The socket stays open (the membership lasts)
 * until the process exits. Returns the socket or -errno. */
static inline int efs_mcast_join(const char* ifname, uint32_t group_be)
{
  struct ip_mreqn mr;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if( fd < 0 )
    return -errno;
  memset(&mr, 0, sizeof(mr));
  mr.imr_multiaddr.s_addr = group_be;
  mr.imr_ifindex = (int) if_nametoindex(ifname);
  if( setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

/**********************************************************************
 * VIs and the packet-buffer pool
 **********************************************************************/

/* One interface opened for the samples: driver handle, PD, VI. */
struct efs_vi {
  const char*      ifname;
  ef_driver_handle dh;
  ef_pd            pd;
  ef_vi            vi;
  uint8_t          mac[6];
  unsigned         mtu;        /* largest frame, without FCS */
  int              prefix_len; /* RX prefix before each received frame */
  int              mr_i;       /* the pool's memreg for this PD, or -1 */
  int              have_dh, have_pd, have_vi;
};

/* Header at the start of each buffer (classic ef_vi layout). The frame area
 * starts at EFS_BUF_DATA_OFF; the header is never given to the VI. */
struct efs_buf_hdr {
  uint32_t magic;
  uint32_t id;
};

struct efs_pool {
  uint8_t*         mem;
  size_t           len;
  int              n_bufs;
  int              n_mrs;
  ef_memreg        mr[EFS_MAX_MRS];
  ef_driver_handle mr_dh[EFS_MAX_MRS];
  ef_pd*           mr_pd[EFS_MAX_MRS];
  int*             free_ids;  /* stack of free buffer ids */
  int              n_free;
};

/* Everything to release at exit, in reverse order of allocation. */
static struct efs_vi* efs__vis[EFS_MAX_VIS];
static struct efs_pool* efs__pools[2];
static int efs__hook_set;

/* efs_cleanup: release everything opened through these helpers; also the
 * atexit hook (so it runs on exit() from anywhere). Objects registered here
 * must outlive it: give them static storage, or call efs_cleanup() before
 * returning from main. Idempotent. VIs first (their filters go, the XDP
 * program is detached with the last one), then memory registrations, then
 * PDs and driver handles, then the pool memory. */
static inline void efs_cleanup(void)
{
  int i, j;
  for( i = EFS_MAX_VIS - 1; i >= 0; --i ) {
    struct efs_vi* v = efs__vis[i];
    if( v != NULL && v->have_vi ) {
      ef_vi_free(&v->vi, v->dh);
      v->have_vi = 0;
    }
  }
  for( i = 0; i < 2; ++i ) {
    struct efs_pool* p = efs__pools[i];
    if( p == NULL )
      continue;
    for( j = p->n_mrs - 1; j >= 0; --j )
      ef_memreg_free(&p->mr[j], p->mr_dh[j]);
    p->n_mrs = 0;
  }
  for( i = EFS_MAX_VIS - 1; i >= 0; --i ) {
    struct efs_vi* v = efs__vis[i];
    if( v == NULL )
      continue;
    if( v->have_pd )
      ef_pd_free(&v->pd, v->dh);
    if( v->have_dh )
      ef_driver_close(v->dh);
    v->have_pd = v->have_dh = 0;
    efs__vis[i] = NULL;
  }
  for( i = 0; i < 2; ++i ) {
    struct efs_pool* p = efs__pools[i];
    if( p == NULL )
      continue;
    if( p->mem != NULL )
      munmap(p->mem, p->len);
    free(p->free_ids);
    p->mem = NULL;
    p->free_ids = NULL;
    efs__pools[i] = NULL;
  }
}

static inline void efs__set_hook(void)
{
  if( !efs__hook_set ) {
    atexit(efs_cleanup);
    efs__hook_set = 1;
  }
}

/* efs_print_backend: a "# backend:" header line saying how the VI reaches
 * the network (anyload_vi_describe), with a label for tools with several
 * VIs. */
static inline void efs_print_backend(FILE* f, const char* label,
                                     const ef_vi* vi)
{
  char what[160];
  if (anyload_vi_describe(vi, what, sizeof(what)) < 0)
    snprintf(what, sizeof(what), "unknown");
  fprintf(f, "# %sbackend: %s\n", label, what);
}

/* efs_vi_open: driver handle, PD and VI on an interface; exits with a
 * message naming the failed call on any error. */
static inline void efs_vi_open(struct efs_vi* v, const char* ifname,
                               enum ef_vi_flags flags)
{
  char what[160];
  int i, rc;
  memset(v, 0, sizeof(*v));
  v->ifname = ifname;
  v->mr_i = -1;
  efs__set_hook();
  for( i = 0; i < EFS_MAX_VIS && efs__vis[i] != NULL; ++i )
    ;
  if( i == EFS_MAX_VIS )
    efs_die("too many interfaces");
  efs__vis[i] = v;

  efs_try(ef_driver_open(&v->dh), "ef_driver_open");
  v->have_dh = 1;
  /* The library resolves the name: a kernel interface, or a simulated one
   * under ANYLOAD_BACKEND=sim. */
  rc = ef_pd_alloc_by_name(&v->pd, v->dh, ifname, EF_PD_DEFAULT);
  if( rc == -ENODEV )
    efs_die("unknown interface '%s'", ifname);
  snprintf(what, sizeof(what), "ef_pd_alloc_by_name(%s)", ifname);
  efs_try(rc, what);
  v->have_pd = 1;
  snprintf(what, sizeof(what), "ef_vi_alloc_from_pd(%s)", ifname);
  efs_try(ef_vi_alloc_from_pd(&v->vi, v->dh, &v->pd, v->dh, -1, -1, -1,
                              NULL, -1, flags), what);
  v->have_vi = 1;
  rc = ef_vi_get_mac(&v->vi, v->dh, v->mac);
  snprintf(what, sizeof(what), "ef_vi_get_mac(%s)", ifname);
  efs_try(rc, what);
  v->mtu = ef_vi_mtu(&v->vi, v->dh);
  v->prefix_len = ef_vi_receive_prefix_len(&v->vi);
}

/* efs_vi_rx_room: bytes a received frame may take in one of our buffers. */
static inline int efs_vi_rx_room(const struct efs_vi* v)
{
  return EFS_BUF_SIZE - EFS_BUF_DATA_OFF - v->prefix_len;
}

/* efs_vi_fix_rx_buffer_len: our RX area is shorter than a whole buffer
 * (the header comes first); tell the VI if its idea is larger. */
static inline void efs_vi_fix_rx_buffer_len(struct efs_vi* v)
{
  unsigned room = EFS_BUF_SIZE - EFS_BUF_DATA_OFF;
  if( (unsigned) ef_vi_receive_buffer_len(&v->vi) > room )
    ef_vi_receive_set_buffer_len(&v->vi, room);
}

/* efs_pool_init: n_bufs page-aligned buffers, all free. Exits on error. */
static inline void efs_pool_init(struct efs_pool* p, int n_bufs)
{
  int i;
  memset(p, 0, sizeof(*p));
  efs__set_hook();
  p->len = (size_t) n_bufs * EFS_BUF_SIZE;
  p->len = (p->len + 4095) & ~(size_t) 4095;
  p->mem = mmap(NULL, p->len, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if( p->mem == MAP_FAILED ) {
    p->mem = NULL;
    efs_die("mmap(%zu bytes): %s", p->len, strerror(errno));
  }
  p->free_ids = calloc((size_t) n_bufs, sizeof(int));
  if( p->free_ids == NULL )
    efs_die("out of memory");
  efs__pools[efs__pools[0] == NULL ? 0 : 1] = p;
  p->n_bufs = n_bufs;
  for( i = 0; i < n_bufs; ++i ) {
    struct efs_buf_hdr* h =
      (struct efs_buf_hdr*) (p->mem + (size_t) i * EFS_BUF_SIZE);
    h->magic = EFS_BUF_MAGIC;
    h->id = (uint32_t) i;
    p->free_ids[n_bufs - 1 - i] = i;  /* pop order 0, 1, 2, ... */
  }
  p->n_free = n_bufs;
}

/* efs_pool_register: register the whole pool with the VI's PD (once per
 * PD) and remember which registration belongs to v. Exits on error. */
static inline void efs_pool_register(struct efs_pool* p, struct efs_vi* v)
{
  char what[160];
  int i;
  for( i = 0; i < p->n_mrs; ++i )
    if( p->mr_pd[i] == &v->pd ) {
      v->mr_i = i;
      return;
    }
  if( p->n_mrs == EFS_MAX_MRS )
    efs_die("too many memory registrations");
  snprintf(what, sizeof(what), "ef_memreg_alloc(%s, %zu bytes)",
           v->ifname, p->len);
  efs_try(ef_memreg_alloc(&p->mr[p->n_mrs], v->dh, &v->pd, v->dh, p->mem,
                          p->len), what);
  p->mr_dh[p->n_mrs] = v->dh;
  p->mr_pd[p->n_mrs] = &v->pd;
  v->mr_i = p->n_mrs++;
}

/* efs_buf: start of buffer id (its header). */
static inline uint8_t* efs_buf(const struct efs_pool* p, int id)
{
  return p->mem + (size_t) id * EFS_BUF_SIZE;
}

/* efs_buf_data: the frame area of buffer id. */
static inline uint8_t* efs_buf_data(const struct efs_pool* p, int id)
{
  return efs_buf(p, id) + EFS_BUF_DATA_OFF;
}

/* efs_buf_dma: DMA address of the frame area of buffer id in v's PD. */
static inline ef_addr efs_buf_dma(struct efs_pool* p, const struct efs_vi* v,
                                  int id)
{
  return ef_memreg_dma_addr(&p->mr[v->mr_i],
                            (size_t) id * EFS_BUF_SIZE + EFS_BUF_DATA_OFF);
}

/* efs_buf_ok: the header of buffer id is intact (the VI wrote only into
 * the frame area). */
static inline int efs_buf_ok(const struct efs_pool* p, int id)
{
  const struct efs_buf_hdr* h = (const struct efs_buf_hdr*) efs_buf(p, id);
  return h->magic == EFS_BUF_MAGIC && h->id == (uint32_t) id;
}

/* efs_pool_get: a free buffer id, or -1. */
static inline int efs_pool_get(struct efs_pool* p)
{
  return p->n_free > 0 ? p->free_ids[--p->n_free] : -1;
}

static inline void efs_pool_put(struct efs_pool* p, int id)
{
  p->free_ids[p->n_free++] = id;
}

/* efs_valid_id: an id from an event names one of our buffers. */
static inline int efs_valid_id(const struct efs_pool* p, unsigned id)
{
  return id < (unsigned) p->n_bufs;
}

/* efs_rx_post: queue buffer id for receive on v (push separately).
 * Returns 0 or the negative errno of ef_vi_receive_init. */
static inline int efs_rx_post(struct efs_pool* p, struct efs_vi* v, int id)
{
  return ef_vi_receive_init(&v->vi, efs_buf_dma(p, v, id), id);
}

/* efs_rx_fill: post up to n free buffers of the pool to v's RX ring and
 * push them. Returns how many were posted; exits on an error other than a
 * full ring. */
static inline int efs_rx_fill(struct efs_pool* p, struct efs_vi* v, int n)
{
  int posted = 0;
  while( posted < n ) {
    int id = efs_pool_get(p);
    int rc;
    if( id < 0 )
      break;
    rc = efs_rx_post(p, v, id);
    if( rc == -EAGAIN ) {
      efs_pool_put(p, id);
      break;
    }
    efs_try(rc, "ef_vi_receive_init");
    ++posted;
  }
  ef_vi_receive_push(&v->vi);
  return posted;
}

/* efs_filter_add: add a filter to v, exiting with a clear message on
 * failure. */
static inline void efs_filter_add(struct efs_vi* v, const ef_filter_spec* fs,
                                  const char* spec)
{
  char what[200];
  snprintf(what, sizeof(what), "ef_vi_filter_add(%s, %s)", v->ifname, spec);
  efs_try(ef_vi_filter_add(&v->vi, v->dh, fs, NULL), what);
}

/* efs_filter_add_str: parse and add a filter spec string; exits on
 * error. */
static inline void efs_filter_add_str(struct efs_vi* v, const char* spec)
{
  ef_filter_spec fs;
  const char* why;
  if( efs_filter_parse(&fs, spec, &why) < 0 )
    efs_die("bad filter spec '%s': %s", spec, why);
  efs_filter_add(v, &fs, spec);
}

/**********************************************************************
 * Event counters shared by the receivers
 **********************************************************************/

struct efs_rx_counts {
  uint64_t discards;
  uint64_t discard_type[EF_EVENT_RX_DISCARD_MAX + 1];
  uint64_t no_desc;
  uint64_t tx_errors;
  uint64_t oflow;
  uint64_t bad_id;       /* event id outside our pool */
  uint64_t bad_hdr;      /* a buffer header was overwritten */
  uint64_t other;        /* unexpected event types */
};

static inline const char* efs_discard_name(unsigned type)
{
  static const char* const names[] = {
    [EF_EVENT_RX_DISCARD_CSUM_BAD] = "csum_bad",
    [EF_EVENT_RX_DISCARD_MCAST_MISMATCH] = "mcast_mismatch",
    [EF_EVENT_RX_DISCARD_CRC_BAD] = "crc_bad",
    [EF_EVENT_RX_DISCARD_TRUNC] = "trunc",
    [EF_EVENT_RX_DISCARD_RIGHTS] = "rights",
    [EF_EVENT_RX_DISCARD_EV_ERROR] = "ev_error",
    [EF_EVENT_RX_DISCARD_OTHER] = "other",
    [EF_EVENT_RX_DISCARD_INNER_CSUM_BAD] = "inner_csum_bad",
  };
  if( type < sizeof(names) / sizeof(names[0]) && names[type] != NULL )
    return names[type];
  return "unknown";
}

static inline void efs_count_discard(struct efs_rx_counts* c,
                                     const ef_event* ev)
{
  unsigned t = EF_EVENT_RX_DISCARD_TYPE(*ev);
  ++c->discards;
  ++c->discard_type[t < EF_EVENT_RX_DISCARD_MAX ? t
                                                : EF_EVENT_RX_DISCARD_MAX];
}

/* efs_print_anomalies: '#' lines for the counters that are not zero. */
static inline void efs_print_anomalies(FILE* f, const struct efs_rx_counts* c)
{
  unsigned t;
  for( t = 0; t <= EF_EVENT_RX_DISCARD_MAX; ++t )
    if( c->discard_type[t] )
      fprintf(f, "# discards %s: %" PRIu64 "\n", efs_discard_name(t),
              c->discard_type[t]);
  if( c->no_desc )
    fprintf(f, "# rx no-desc drops: %" PRIu64 "\n", c->no_desc);
  if( c->tx_errors )
    fprintf(f, "# tx errors: %" PRIu64 "\n", c->tx_errors);
  if( c->oflow )
    fprintf(f, "# event queue overflows: %" PRIu64 "\n", c->oflow);
  if( c->bad_id )
    fprintf(f, "# events with an unknown buffer id: %" PRIu64 "\n",
            c->bad_id);
  if( c->bad_hdr )
    fprintf(f, "# buffers whose header was overwritten: %" PRIu64 "\n",
            c->bad_hdr);
  if( c->other )
    fprintf(f, "# unexpected events: %" PRIu64 "\n", c->other);
}

/* efs_print_vi_stats: the VI's non-zero statistics (ef_vi_stats_query) as
 * '#' lines; they show drops that no event reports (e.g. the kernel's
 * ring-full counters). Prints nothing if the library has none. */
static inline void efs_print_vi_stats(FILE* f, struct efs_vi* v)
{
  const ef_vi_stats_layout* l;
  uint8_t* data;
  int i;
  if( ef_vi_stats_query_layout(&v->vi, &l) < 0 || l->evsl_data_size <= 0 )
    return;
  data = calloc(1, (size_t) l->evsl_data_size);
  if( data == NULL )
    return;
  if( ef_vi_stats_query(&v->vi, v->dh, data, 0) == 0 ) {
    for( i = 0; i < l->evsl_fields_num; ++i ) {
      const ef_vi_stats_field_layout* fl = &l->evsl_fields[i];
      uint64_t val = 0;
      if( fl->evsfl_size == 8 )
        memcpy(&val, data + fl->evsfl_offset, 8);
      else if( fl->evsfl_size == 4 ) {
        uint32_t v32;
        memcpy(&v32, data + fl->evsfl_offset, 4);
        val = v32;
      }
      if( val )
        fprintf(f, "# %s %s: %" PRIu64 "\n", v->ifname, fl->evsfl_name,
                val);
    }
  }
  free(data);
}

/**********************************************************************
 * UDP/IPv4 frames
 **********************************************************************/

/* Addresses of a UDP flow; the _be fields are in network order. */
struct efs_udp_flow {
  uint8_t  dmac[6];
  uint8_t  smac[6];
  uint32_t saddr_be;
  uint32_t daddr_be;
  uint16_t sport_be;
  uint16_t dport_be;
};

/* efs_udp_build: write Ethernet, IPv4 and UDP headers for a paylen-byte
 * payload that is already in place at frame + EFS_UDP_HDRS_LEN, with both
 * checksums. Returns the frame length. The headers are built in aligned
 * stack copies and then copied, as frame + 14 is not 4-byte aligned. */
static inline size_t efs_udp_build(uint8_t* frame,
                                   const struct efs_udp_flow* f,
                                   size_t paylen, uint16_t ip_id)
{
  struct ethhdr eth;
  struct iphdr ip;
  struct udphdr udp;
  struct iovec iov = { frame + EFS_UDP_HDRS_LEN, paylen };

  memcpy(eth.h_dest, f->dmac, 6);
  memcpy(eth.h_source, f->smac, 6);
  eth.h_proto = htons(ETH_P_IP);

  memset(&ip, 0, sizeof(ip));
  ip.version = 4;
  ip.ihl = EFS_IP4_HLEN / 4;
  ip.tot_len = htons((uint16_t) (EFS_IP4_HLEN + EFS_UDP_HLEN + paylen));
  ip.id = htons(ip_id);
  ip.frag_off = htons(IP_DF);
  ip.ttl = 64;
  ip.protocol = IPPROTO_UDP;
  ip.saddr = f->saddr_be;
  ip.daddr = f->daddr_be;
  ip.check = (uint16_t) ef_ip_checksum(&ip);

  udp.source = f->sport_be;
  udp.dest = f->dport_be;
  udp.len = htons((uint16_t) (EFS_UDP_HLEN + paylen));
  udp.check = 0;
  udp.check = (uint16_t) ef_udp_checksum(&ip, &udp, &iov, paylen ? 1 : 0);

  memcpy(frame, &eth, EFS_ETH_HLEN);
  memcpy(frame + EFS_OFF_IP, &ip, EFS_IP4_HLEN);
  memcpy(frame + EFS_OFF_IP + EFS_IP4_HLEN, &udp, EFS_UDP_HLEN);
  return EFS_UDP_HDRS_LEN + paylen;
}

/* efs_ip_id_get: the IPv4 identification of a frame built as above, host
 * order. The caller has checked the length. */
static inline uint16_t efs_ip_id_get(const uint8_t* frame)
{
  uint16_t id_be;
  memcpy(&id_be, frame + EFS_OFF_IP_ID, 2);
  return ntohs(id_be);
}

/* efs_ip_id_set: change the IPv4 identification and the header checksum
 * (the UDP checksum does not cover it). */
static inline void efs_ip_id_set(uint8_t* frame, uint16_t id)
{
  struct iphdr ip;
  memcpy(&ip, frame + EFS_OFF_IP, EFS_IP4_HLEN);
  ip.id = htons(id);
  ip.check = (uint16_t) ef_ip_checksum(&ip);
  memcpy(frame + EFS_OFF_IP, &ip, EFS_IP4_HLEN);
}

/**********************************************************************
 * Output helpers
 **********************************************************************/

static inline void efs_print_version(FILE* f)
{
  fprintf(f, "# ef_vi_version_str: %s\n", ef_vi_version_str());
}

/* efs_hexdump: len bytes as "  0000  xx xx ..." lines of 16. */
static inline void efs_hexdump(FILE* f, const uint8_t* p, size_t len)
{
  size_t i;
  for( i = 0; i < len; ++i ) {
    if( i % 16 == 0 )
      fprintf(f, "  %04zx ", i);
    fprintf(f, " %02x", p[i]);
    if( i % 16 == 15 || i + 1 == len )
      fputc('\n', f);
  }
}

/* Per-second rate reporting: remembers the totals at the last report. */
struct efs_rate {
  uint64_t last_ns;
  uint64_t last_pkts;
  uint64_t last_bytes;
};

static inline void efs_rate_init(struct efs_rate* r, uint64_t now)
{
  memset(r, 0, sizeof(*r));
  r->last_ns = now;
}

/* efs_rate_due: a second has passed since the last report. */
static inline int efs_rate_due(const struct efs_rate* r, uint64_t now)
{
  return now - r->last_ns >= EFS_NS_PER_SEC;
}

/* efs_rate_take: packets/s and bits/s since the last report; resets. */
static inline void efs_rate_take(struct efs_rate* r, uint64_t now,
                                 uint64_t pkts, uint64_t bytes,
                                 double* pps, double* bps)
{
  double secs = (double) (now - r->last_ns) / 1e9;
  *pps = (double) (pkts - r->last_pkts) / secs;
  *bps = (double) (bytes - r->last_bytes) * 8 / secs;
  r->last_ns = now;
  r->last_pkts = pkts;
  r->last_bytes = bytes;
}

/**********************************************************************
 * pcap files (the classic format, microsecond timestamps, Ethernet)
 **********************************************************************/

#define EFS_PCAP_SNAPLEN 65535

struct efs_pcap_global {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  int32_t  thiszone;
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t linktype;
};

struct efs_pcap_rec {
  uint32_t ts_sec;
  uint32_t ts_usec;
  uint32_t incl_len;
  uint32_t orig_len;
};

/* efs_pcap_open: create the file and write the global header (host byte
 * order, as readers detect it from the magic). Returns NULL with errno
 * set on failure. */
static inline FILE* efs_pcap_open(const char* path)
{
  struct efs_pcap_global g = {
    .magic = 0xa1b2c3d4u, .version_major = 2, .version_minor = 4,
    .thiszone = 0, .sigfigs = 0, .snaplen = EFS_PCAP_SNAPLEN,
    .linktype = 1, /* LINKTYPE_ETHERNET */
  };
  FILE* f = fopen(path, "wb");
  if( f == NULL )
    return NULL;
  if( fwrite(&g, sizeof(g), 1, f) != 1 ) {
    int err = errno;
    fclose(f);
    errno = err;
    return NULL;
  }
  return f;
}

/* efs_pcap_write: one record. Returns 0 or -EIO. */
static inline int efs_pcap_write(FILE* f, const struct timespec* ts,
                                 const void* frame, uint32_t len)
{
  uint32_t incl = len > EFS_PCAP_SNAPLEN ? EFS_PCAP_SNAPLEN : len;
  struct efs_pcap_rec r = {
    .ts_sec = (uint32_t) ts->tv_sec,
    .ts_usec = (uint32_t) (ts->tv_nsec / 1000),
    .incl_len = incl,
    .orig_len = len,
  };
  if( fwrite(&r, sizeof(r), 1, f) != 1 || fwrite(frame, incl, 1, f) != 1 )
    return -EIO;
  return 0;
}

#endif /* EF_SAMPLE_UTIL_H */
