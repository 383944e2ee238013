/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for vi/pd.c and vi/memreg.c: protection domains on the
 * loopback interface (present in every network namespace, no privilege
 * needed), memory registration rules, DMA address translation, and the
 * PD's refusal to be freed while memory is registered.
 */
#include "unit_test.h"
#include "vi/vi_int.h"

#include <etherfabric/memreg.h>
#include <etherfabric/pd.h>
#include <stdlib.h>
#include <sys/mman.h>

static void* pages(size_t n)
{
  void* p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void test_pd_unknown_interface(void)
{
  ef_pd pd;
  CHECK(ef_pd_alloc_by_name(&pd, -1, "nosuchif0", EF_PD_DEFAULT), ==,
        -ENODEV);
  CHECK(ef_pd_alloc_by_name(&pd, -1, "", EF_PD_DEFAULT), ==, -EINVAL);
  CHECK(ef_pd_alloc_by_name(&pd, -1, "a-name-much-too-long-for-ifnames",
                            EF_PD_DEFAULT), ==, -EINVAL);
  CHECK(ef_pd_alloc(&pd, -1, 0, EF_PD_DEFAULT), ==, -EINVAL);
  CHECK(ef_pd_alloc(&pd, -1, 999999, EF_PD_DEFAULT), ==, -ENODEV);
  CHECK(ef_pd_alloc(&pd, -1, 1, (enum ef_pd_flags)0x40000000), ==, -EINVAL);
}

static void test_pd_name_roundtrip(void)
{
  ef_pd pd;
  CHECK(ef_pd_alloc_by_name(&pd, -1, "lo", EF_PD_DEFAULT), ==, 0);
  CHECK_STR(ef_pd_interface_name(&pd), ==, "lo");
  CHECK(ef_pd_free(&pd, -1), ==, 0);
  CHECK(ef_pd_free(&pd, -1), ==, -EINVAL);
}

static void test_memreg_alignment(void)
{
  ef_pd pd;
  ef_memreg mr;
  char* mem = pages(4);

  CHECK_PTR(mem, !=, NULL);
  CHECK(ef_pd_alloc_by_name(&pd, -1, "lo", EF_PD_DEFAULT), ==, 0);
  CHECK(ef_memreg_alloc(&mr, -1, &pd, -1, mem + 1, 4096), ==, -EINVAL);
  CHECK(ef_memreg_alloc(&mr, -1, &pd, -1, mem, 4095), ==, -EINVAL);
  CHECK(ef_memreg_alloc(&mr, -1, &pd, -1, mem, 0), ==, -EINVAL);
  CHECK(ef_memreg_alloc(&mr, -1, &pd, -1, NULL, 4096), ==, -EINVAL);
  CHECK(ef_pd_free(&pd, -1), ==, 0);
  munmap(mem, 4 * 4096);
}

static void test_memreg_translate(void)
{
  ef_pd pd;
  ef_memreg a, b;
  char* m1 = pages(2);
  char* m2 = pages(1);
  struct vi_pd* p;
  size_t avail = 0;

  CHECK(ef_pd_alloc_by_name(&pd, -1, "lo", EF_PD_DEFAULT), ==, 0);
  p = pd.pd_priv;
  CHECK(ef_memreg_alloc(&a, -1, &pd, -1, m1, 2 * 4096), ==, 0);
  CHECK(ef_memreg_alloc(&b, -1, &pd, -1, m2, 4096), ==, 0);
  CHECK(ef_memreg_dma_addr(&a, 0), !=, ef_memreg_dma_addr(&b, 0));
  CHECK(ef_memreg_dma_addr(&a, 0), !=, 0);
  /* Inside, at the edges, and just outside each region. */
  CHECK_PTR(vi_pd_translate(p, ef_memreg_dma_addr(&a, 100), 10), ==,
            m1 + 100);
  CHECK_PTR(vi_pd_translate(p, ef_memreg_dma_addr(&a, 8191), 1), ==,
            m1 + 8191);
  CHECK_PTR(vi_pd_translate(p, ef_memreg_dma_addr(&a, 8191), 2), ==, NULL);
  CHECK_PTR(vi_pd_translate(p, ef_memreg_dma_addr(&a, 8192), 1), ==, NULL);
  CHECK_PTR(vi_pd_translate(p, ef_memreg_dma_addr(&b, 0), 4096), ==, m2);
  CHECK_PTR(vi_pd_translate(p, 0, 1), ==, NULL);
  CHECK_PTR(vi_pd_translate(p, ~0ull, 1), ==, NULL);
  CHECK_PTR(vi_pd_translate_avail(p, ef_memreg_dma_addr(&a, 8000), &avail),
            ==, m1 + 8000);
  CHECK(avail, ==, 192);

  /* A PD with registered memory cannot go away. */
  CHECK(ef_pd_free(&pd, -1), ==, -EBUSY);
  CHECK(ef_memreg_free(&a, -1), ==, 0);
  CHECK(ef_memreg_free(&a, -1), ==, -EINVAL);
  CHECK_PTR(vi_pd_translate(p, ef_memreg_dma_addr(&a, 100), 10), ==, NULL);
  CHECK(ef_memreg_free(&b, -1), ==, 0);
  CHECK(ef_pd_free(&pd, -1), ==, 0);
  munmap(m1, 2 * 4096);
  munmap(m2, 4096);
}

static void test_memreg_region_limit(void)
{
  ef_pd pd;
  ef_memreg* mr = calloc(VI_MAX_REGIONS + 1, sizeof(*mr));
  char* mem = pages(1);
  int i;

  CHECK(ef_pd_alloc_by_name(&pd, -1, "lo", EF_PD_DEFAULT), ==, 0);
  for (i = 0; i < VI_MAX_REGIONS; i++)
    CHECK(ef_memreg_alloc(&mr[i], -1, &pd, -1, mem, 4096), ==, 0);
  CHECK(ef_memreg_alloc(&mr[i], -1, &pd, -1, mem, 4096), ==, -ENOSPC);
  for (i = 0; i < VI_MAX_REGIONS; i++)
    CHECK(ef_memreg_free(&mr[i], -1), ==, 0);
  CHECK(ef_pd_free(&pd, -1), ==, 0);
  free(mr);
  munmap(mem, 4096);
}

static const struct unit_test tests[] = {
  UNIT_TEST(test_pd_unknown_interface),
  UNIT_TEST(test_pd_name_roundtrip),
  UNIT_TEST(test_memreg_alignment),
  UNIT_TEST(test_memreg_translate),
  UNIT_TEST(test_memreg_region_limit),
};
UNIT_TEST_MAIN(tests)
