/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/driver.c: driver handles, blocking waits and version strings.
 *
 * A driver handle is an epoll fd. Every VI allocated with a handle adds its
 * kernel socket to that epoll set, so a program that sleeps in poll/epoll on
 * the handle (the ef_vi way to block) wakes when any of its VIs has a frame.
 */
#include "vi/vi_int.h"

#include <etherfabric/base.h>
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

const char* ef_vi_version_str(void)
{
  return "anyload-" ANYLOAD_VERSION;
}

const char* ef_vi_driver_interface_str(void)
{
  return "anyload-afxdp";
}

int ef_driver_open(ef_driver_handle* dh_out)
{
  int fd;

  if (!dh_out)
    return -EINVAL;
  fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0)
    return -errno;
  *dh_out = fd;
  return 0;
}

int ef_driver_close(ef_driver_handle dh)
{
  if (close(dh) < 0)
    return -errno;
  return 0;
}

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int ef_eventq_wait(ef_vi* vi, ef_driver_handle vi_dh, unsigned current_ptr,
                   const struct timeval* timeout)
{
  const struct vi_ops* ops = vi_backend(vi);
  int64_t deadline = -1;
  (void)vi_dh;
  (void)current_ptr;

  if (!ops)
    return -EINVAL;
  if (timeout && (timeout->tv_sec || timeout->tv_usec))
    deadline = now_ns() + (int64_t)timeout->tv_sec * 1000000000 +
               (int64_t)timeout->tv_usec * 1000;
  for (;;) {
    struct pollfd pfd = { .fd = -1, .events = POLLIN };
    int slice_ms = 1000;
    int rc;

    if (ops->has_event(vi))
      return 0;
    pfd.fd = ops->wait_fd(vi);
    if (pfd.fd < 0)
      return pfd.fd;    /* waiting cannot help (sim: virtual clock) */
    if (deadline >= 0) {
      int64_t left = deadline - now_ns();
      if (left <= 0)
        return -ETIMEDOUT;
      if (left / 1000000 < slice_ms)
        slice_ms = (int)(left / 1000000) + 1;
    }
    /* TX completions do not raise POLLIN: while transmits are in flight,
     * sleep in short slices and look again. */
    if (ef_vi_transmit_fill_level(vi) > 0 && slice_ms > 1)
      slice_ms = 1;
    rc = poll(&pfd, 1, slice_ms);
    if (rc < 0 && errno == EINTR)
      return -EINTR;
    if (rc < 0)
      return -errno;
  }
}

int ef_vi_prime(ef_vi* vi, ef_driver_handle dh, unsigned current_ptr)
{
  (void)dh;
  (void)current_ptr;
  if (!vi_backend(vi))
    return -EINVAL;
  vi_arm((struct vi_common*)vi->vi_priv);
  return 0;
}
