/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi_drop_check_tick (vi/vi_int.h): how often the AF_XDP
 * and AF_PACKET backends fall back to reading the kernel's drop counters
 * (a system call). Polls that received frames bring the check every 4096
 * such polls; empty polls, the spinning ones, about every four million;
 * a mix counts each at its own cost.
 */
#include "unit_test.h"
#include "vi/vi_int.h"

/* polls_until_due: how many polls of the given kind a fresh budget takes
 * until the check is due (the due poll included). */
static unsigned long polls_until_due(bool received)
{
  uint32_t budget = VI_DROP_CHECK_BUDGET;
  unsigned long n = 1;

  while (!vi_drop_check_tick(&budget, received))
    n++;
  return n;
}

static void test_receiving_polls(void)
{
  CHECK(polls_until_due(true), ==, 4096ul);
}

static void test_empty_polls(void)
{
  CHECK(polls_until_due(false), ==, 4096ul * 1024ul);
}

static void test_mixed_polls(void)
{
  uint32_t budget = VI_DROP_CHECK_BUDGET;
  unsigned long i;

  /* Half the budget in receiving polls, the other half in empty ones:
   * the check is due on the last empty poll, not before. */
  for (i = 0; i < 2048; i++)
    CHECK(vi_drop_check_tick(&budget, true), ==, false);
  for (i = 0; i < 2048ul * 1024ul - 1; i++)
    if (vi_drop_check_tick(&budget, false))
      break;
  CHECK(i, ==, 2048ul * 1024ul - 1);
  CHECK(vi_drop_check_tick(&budget, false), ==, true);
  /* Once due, it stays due until the caller resets the budget. */
  CHECK(vi_drop_check_tick(&budget, false), ==, true);
  CHECK(vi_drop_check_tick(&budget, true), ==, true);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_receiving_polls),
  UNIT_TEST(test_empty_polls),
  UNIT_TEST(test_mixed_polls),
};
UNIT_TEST_MAIN(tests)
