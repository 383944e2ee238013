// SPDX-License-Identifier: BSD-2-Clause
/*
 * vi/vi_arm.c: wake-ups through the driver handle, armed on request.
 *
 * A NIC raises an interrupt for an event queue only after ef_vi_prime();
 * a busy-polling ef_vi program never takes one. Our sockets (AF_XDP,
 * AF_PACKET) sit in the driver handle's epoll set for the same purpose,
 * but while they sit there the kernel wakes the set for every frame that
 * arrives and every transmitted frame it frees: a spinlock with
 * interrupts off and a callback per frame, on the sending CPU as well
 * (veth delivers on the sender's CPU). So a VI takes its socket out of
 * the set when its owner busy-polls (vi_arm_note_poll) and puts it back
 * when the owner primes before sleeping. EPOLL_CTL_ADD reports a socket
 * that is already readable at once, so a frame that arrived between the
 * last poll and the prime still wakes the sleeper.
 *
 * Layer: vi. Single-threaded per VI, as the rest of ef_vi.
 */
#include "vi/vi_int.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

void vi_arm_init(struct vi_common* c, int fd)
{
  c->arm_fd = fd;
  c->arm_managed = 1;
  c->armed = 0;
  vi_arm(c);
}

void vi_arm(struct vi_common* c)
{
  struct epoll_event ee;

  c->armed_polls = 0;
  if (!c->arm_managed || c->armed)
    return;
  memset(&ee, 0, sizeof(ee));
  ee.events = EPOLLIN;
  ee.data.fd = c->arm_fd;
  if (epoll_ctl(c->dh, EPOLL_CTL_ADD, c->arm_fd, &ee) == 0 ||
      errno == EEXIST)
    c->armed = 1;
}

void vi_disarm(struct vi_common* c)
{
  if (!c->arm_managed || !c->armed)
    return;
  (void)epoll_ctl(c->dh, EPOLL_CTL_DEL, c->arm_fd, NULL);
  c->armed = 0;
}
