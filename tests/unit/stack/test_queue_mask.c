/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for anyload_queue_mask_str (stack.c), the queue list that
 * the launcher's log and anyload_stackdump print for a stack on several
 * interface queues. Checks: single queues, runs as ranges, gaps, queue
 * 63, the empty mask, and a buffer too short (cut, still terminated).
 */
#include "unit_test.h"

#include <anyload/stack.h>
#include <string.h>

static void test_queue_mask_lists(void)
{
  char b[200];

  CHECK_STR(anyload_queue_mask_str(0, b, sizeof(b)), ==, "none");
  CHECK_STR(anyload_queue_mask_str(1, b, sizeof(b)), ==, "0");
  CHECK_STR(anyload_queue_mask_str(2, b, sizeof(b)), ==, "1");
  CHECK_STR(anyload_queue_mask_str(3, b, sizeof(b)), ==, "0-1");
  CHECK_STR(anyload_queue_mask_str(0x4f, b, sizeof(b)), ==, "0-3,6");
  CHECK_STR(anyload_queue_mask_str(0x5, b, sizeof(b)), ==, "0,2");
  CHECK_STR(anyload_queue_mask_str(1ull << 63, b, sizeof(b)), ==, "63");
  CHECK_STR(anyload_queue_mask_str(~0ull, b, sizeof(b)), ==, "0-63");
  CHECK_STR(anyload_queue_mask_str(0xaaaaaaaaaaaaaaaaull, b, sizeof(b)), ==,
            "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43,"
            "45,47,49,51,53,55,57,59,61,63");
}

static void test_queue_mask_short_buffer(void)
{
  char b[6];

  memset(b, 'x', sizeof(b));
  CHECK_STR(anyload_queue_mask_str(0x4f, b, sizeof(b)), ==, "0-3,6");
  memset(b, 'x', sizeof(b));
  CHECK_STR(anyload_queue_mask_str(0x15, b, 4), ==, "0,2");
  memset(b, 'x', sizeof(b));
  CHECK_STR(anyload_queue_mask_str(0x15, b, 3), ==, "0,");
  CHECK(strlen(anyload_queue_mask_str(0x55, b, 1)), ==, 0);
  CHECK_PTR(anyload_queue_mask_str(1, NULL, 0), ==, NULL);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_queue_mask_lists),
  UNIT_TEST(test_queue_mask_short_buffer),
};
UNIT_TEST_MAIN(tests)
