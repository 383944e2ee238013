/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/checksum.c (etherfabric/checksum.h): IPv4 header, UDP
 * and TCP checksums against frames whose checksums are known, odd-length
 * iovec splits, and the *_is_correct checks on good and damaged headers.
 */
#include "unit_test.h"

#include <arpa/inet.h>
#include <etherfabric/checksum.h>

/* An IPv4 header with a known checksum (0xb861), as captured. */
static const uint8_t ip_hdr[20] = {
  0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
  0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
};

/* A UDP datagram 198.18.0.1:8080 -> 198.18.0.2:8080 with payload "hello";
 * both checksum fields are left zero and computed by the test. */
static const uint8_t udp_frame[] = {
  /* IPv4 */
  0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
  0x00, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
  /* UDP */
  0x1f, 0x90, 0x1f, 0x90, 0x00, 0x0d, 0x00, 0x00,
  'h', 'e', 'l', 'l', 'o',
};

static void test_checksum_ip_known(void)
{
  uint8_t hdr[20];
  uint32_t c;

  memcpy(hdr, ip_hdr, sizeof(hdr));
  c = ef_ip_checksum((const struct iphdr*)hdr);
  CHECK(ntohs((uint16_t)c), ==, 0xb861);
  CHECK(ef_ip_checksum_is_correct((const struct iphdr*)hdr), ==, 1);
  hdr[8] = 0x3f;   /* TTL changed, checksum not updated */
  CHECK(ef_ip_checksum_is_correct((const struct iphdr*)hdr), ==, 0);
}

/* The field's old value must not matter. */
static void test_checksum_ip_ignores_field(void)
{
  uint8_t hdr[20];
  memcpy(hdr, ip_hdr, sizeof(hdr));
  hdr[10] = 0xde;
  hdr[11] = 0xad;
  CHECK(ntohs((uint16_t)ef_ip_checksum((const struct iphdr*)hdr)), ==,
        0xb861);
}

static void build_udp(uint8_t* f)
{
  struct iphdr* ip = (struct iphdr*)f;
  struct udphdr* udp = (struct udphdr*)(f + 20);
  struct iovec iov = { f + 28, 5 };
  memcpy(f, udp_frame, sizeof(udp_frame));
  ip->check = (uint16_t)ef_ip_checksum(ip);
  udp->check = (uint16_t)ef_udp_checksum(ip, udp, &iov, 1);
}

static void test_checksum_udp_roundtrip(void)
{
  uint8_t f[sizeof(udp_frame)];
  struct iphdr* ip = (struct iphdr*)f;
  struct udphdr* udp = (struct udphdr*)(f + 20);
  struct iovec iov = { f + 28, 5 };

  build_udp(f);
  CHECK(udp->check, !=, 0);
  CHECK(ef_ip_checksum_is_correct(ip), ==, 1);
  CHECK(ef_udp_checksum_is_correct(ip, udp, &iov, 1), ==, 1);
  f[30] ^= 0x01;   /* one payload bit flipped */
  CHECK(ef_udp_checksum_is_correct(ip, udp, &iov, 1), ==, 0);
  udp->check = 0;  /* RFC 768: zero means "no checksum" */
  CHECK(ef_udp_checksum_is_correct(ip, udp, &iov, 1), ==, 1);
}

/* Reference value worked out by hand for the datagram above: pseudo
 * header c612 0001 c612 0002 0011 000d, header 1f90 1f90 000d 0000,
 * payload 6865 6c6c 6f00 (odd byte padded): sum 0x30f43, folded 0x0f46,
 * complemented 0xf0b9. */
static void test_checksum_udp_known(void)
{
  uint8_t f[sizeof(udp_frame)];
  build_udp(f);
  CHECK(ntohs(((struct udphdr*)(f + 20))->check), ==, 0xf0b9);
}

/* Odd-length pieces must give the same sum as one contiguous buffer. */
static void test_checksum_udp_odd_iovecs(void)
{
  uint8_t f[sizeof(udp_frame)];
  struct iphdr* ip = (struct iphdr*)f;
  struct udphdr* udp = (struct udphdr*)(f + 20);
  struct iovec one = { f + 28, 5 };
  struct iovec three[3] = { { f + 28, 1 }, { f + 29, 3 }, { f + 32, 1 } };

  build_udp(f);
  CHECK(ef_udp_checksum(ip, udp, &one, 1), ==,
        ef_udp_checksum(ip, udp, three, 3));
}

static void test_checksum_tcp_roundtrip(void)
{
  uint8_t f[20 + 20 + 4] = { 0 };
  struct iphdr* ip = (struct iphdr*)f;
  struct tcphdr* tcp = (struct tcphdr*)(f + 20);
  struct iovec iov = { f + 40, 4 };

  ip->version = 4;
  ip->ihl = 5;
  ip->tot_len = htons(sizeof(f));
  ip->ttl = 64;
  ip->protocol = 6;
  ip->saddr = htonl(0xc6120001);
  ip->daddr = htonl(0xc6120002);
  tcp->source = htons(1234);
  tcp->dest = htons(80);
  tcp->seq = htonl(1);
  tcp->doff = 5;
  tcp->ack = 1;
  tcp->window = htons(1024);
  memcpy(f + 40, "abcd", 4);
  tcp->check = (uint16_t)ef_tcp_checksum(ip, tcp, &iov, 1);
  CHECK(ef_tcp_checksum_is_correct(ip, tcp, &iov, 1), ==, 1);
  tcp->window = htons(1025);
  CHECK(ef_tcp_checksum_is_correct(ip, tcp, &iov, 1), ==, 0);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_checksum_ip_known),
  UNIT_TEST(test_checksum_ip_ignores_field),
  UNIT_TEST(test_checksum_udp_roundtrip),
  UNIT_TEST(test_checksum_udp_known),
  UNIT_TEST(test_checksum_udp_odd_iovecs),
  UNIT_TEST(test_checksum_tcp_roundtrip),
};
UNIT_TEST_MAIN(tests)
