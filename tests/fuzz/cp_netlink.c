/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz/cp_netlink.c: libFuzzer target for the control plane's rtnetlink
 * codec (cplane/cp_netlink.c) and the table updates behind it. The input
 * is a receive buffer of netlink messages; the first byte picks the mode
 * (notification or dump) and whether a re-dump of some kind is open
 * around it, so that both update paths and cp__tbl_sync_end run. After
 * each input a few lookups run over whatever the table holds.
 *
 * Build and run (not part of `make`):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iinclude -Isrc tests/fuzz/cp_netlink.c src/cplane/cp_netlink.c \
 *     src/cplane/cp_table.c -lmnl -o cp_netlink_fuzz
 *   ./cp_netlink_fuzz -max_total_time=60 tests/fuzz/corpus/cp_netlink
 * The seed corpus holds the kernel messages of
 * tests/unit/cplane/test_cp_netlink.c, one file each (the first byte of
 * each file is the selector, 0).
 */
#include "cplane/cp_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  struct cp_table t;
  struct cp_route r;
  struct cp_neigh n;
  uint64_t* buf;
  enum cp_nl_mode mode;
  int sync_kind;

  if (size < 1)
    return 0;
  mode = (data[0] & 1) ? CP_NL_DUMP : CP_NL_EVENT;
  sync_kind = (data[0] >> 1) % (CP_K_N + 1);   /* CP_K_N: no re-dump */
  data++;
  size--;
  /* A receive buffer is 8-aligned; copy the input into one. */
  buf = malloc(size + 8);
  if (!buf)
    return 0;
  memcpy(buf, data, size);

  cp__tbl_init(&t);
  cp__tbl_set_accelerated(&t, 2, 1);
  if (sync_kind < CP_K_N)
    cp__tbl_sync_begin(&t, (enum cp_kind)sync_kind);
  cp__nl_apply_buf(&t, buf, size, mode);
  cp__nl_apply_buf(&t, buf, size, CP_NL_EVENT);
  if (sync_kind < CP_K_N)
    cp__tbl_sync_end(&t, (enum cp_kind)sync_kind, 1);
  cp__tbl_route_lookup(&t, 0x0200a8c0u, 0, 0, &r);
  cp__tbl_route_lookup(&t, 0x010513c6u, 0, 2, &r);
  cp__tbl_route_lookup(&t, 0x030201efu, 0, 2, &r);
  cp__tbl_neigh_lookup(&t, 2, 0x090012c6u, &n);
  cp__tbl_addr_type(&t, 0x010012c6u);
  cp__tbl_free(&t);
  free(buf);
  return 0;
}
