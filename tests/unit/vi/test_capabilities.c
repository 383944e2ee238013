/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/capabilities.c: every capability has a name, hardware
 * features answer -EOPNOTSUPP, filter types answer 1, bad arguments fail.
 */
#include "unit_test.h"

#include <etherfabric/capabilities.h>
#include <net/if.h>

static void test_capabilities_names(void)
{
  int cap;
  CHECK(ef_vi_capabilities_max(), ==, EF_VI_CAP_MAX - 1);
  for (cap = 0; cap <= ef_vi_capabilities_max(); cap++)
    CHECK_PTR(ef_vi_capabilities_name((enum ef_vi_capability)cap), !=, NULL);
  CHECK_STR(ef_vi_capabilities_name(EF_VI_CAP_PIO), ==, "EF_VI_CAP_PIO");
  CHECK_PTR(ef_vi_capabilities_name(EF_VI_CAP_MAX), ==, NULL);
}

static void test_capabilities_values(void)
{
  int lo = (int)if_nametoindex("lo");
  unsigned long v = 0;

  CHECK(lo, >, 0);
  CHECK(ef_vi_capabilities_get(-1, lo, EF_VI_CAP_PIO, &v), ==, -EOPNOTSUPP);
  CHECK(ef_vi_capabilities_get(-1, lo, EF_VI_CAP_CTPIO, &v), ==,
        -EOPNOTSUPP);
  CHECK(ef_vi_capabilities_get(-1, lo, EF_VI_CAP_TX_ALTERNATIVES, &v), ==,
        -EOPNOTSUPP);
  CHECK(ef_vi_capabilities_get(-1, lo, EF_VI_CAP_RX_FILTER_TYPE_UDP_FULL,
                               &v), ==, 0);
  CHECK(v, ==, 1);
  CHECK(ef_vi_capabilities_get(-1, lo, EF_VI_CAP_RXQ_SIZES, &v), ==, 0);
  CHECK(v & (1ul << 9), !=, 0);   /* 512 entries */
  CHECK(ef_vi_capabilities_get(-1, 999999, EF_VI_CAP_PIO, &v), ==, -ENODEV);
  CHECK(ef_vi_capabilities_get(-1, lo, EF_VI_CAP_MAX, &v), ==, -EINVAL);
  CHECK(ef_vi_capabilities_get(-1, lo, EF_VI_CAP_PIO, NULL), ==, -EINVAL);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_capabilities_names),
  UNIT_TEST(test_capabilities_values),
};
UNIT_TEST_MAIN(tests)
