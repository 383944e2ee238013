/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/publish.h: the stack's side of observability (module-private):
 * the shared-memory file of the stack (publish.c, layout in
 * common/stack_shm.h), the capture of frames into its ring (capture.c)
 * and the latency histogram (latency_hist.c). The fast-path hooks are
 * inline here: each is one test of a pointer and, for capture, of a flag
 * that a reader sets; st->pub is NULL only for the VI-less stack objects
 * of unit tests.
 */
#ifndef ANYLOAD_STACK_PUBLISH_H
#define ANYLOAD_STACK_PUBLISH_H

#include "common/stack_shm.h"
#include "stack/stack_int.h"

/* How often anyload_stack_poll publishes at most. */
#define ST_PUB_INTERVAL_NS 5000000ll
/* Bytes of the capture ring's data area. */
#define ST_CAP_RING_BYTES  (2u << 20)
/* UDP socket numbers that get a latency histogram of their own. */
#define ST_PUB_SOCK_HISTS  256u
/* Bytes kept for the settings text. */
#define ST_PUB_SETTINGS_BYTES 8192u

struct st_pub {
  struct anyload_shm_hdr* hdr;  /* the mapping, or heap memory */
  size_t   len;
  int      fd;                  /* -1: not published (heap memory) */
  char     path[512];
  uint64_t* stats;
  char*    names;
  struct anyload_shm_sock* socks;
  struct anyload_shm_filter* filters;
  char*    settings;
  struct anyload_shm_hist* hist;
  struct anyload_shm_hist* sock_hist;  /* per UDP socket number */
  struct anyload_shm_cap* cap;
  uint8_t* cap_data;
  int64_t  next_ns;             /* next publication from poll */
  int64_t* rx_ns;               /* per buffer: the poll time it arrived */
  struct st_pub* reg_next;      /* the process's list (atexit clean-up) */
};

/* st__pub_open: make the stack's shared state: the file under
 * stack_shm_dir() when it can be made, else private memory of the same
 * layout (the stack works the same; nothing is published). Called once
 * the VI exists. Returns 0 or -ENOMEM. */
int st__pub_open(struct anyload_stack* st, const char* ifname);

/* st__pub_close: remove the file (only in the process that made it) and
 * free everything. NULL pub is ignored. */
void st__pub_close(struct anyload_stack* st);

/* st__pub_update: publish counters, resources, sockets and filters now
 * (under the seqlock). */
void st__pub_update(struct anyload_stack* st, int64_t now);

/* st__pub_poll: from anyload_stack_poll: publish when due. */
static inline void st__pub_poll(struct anyload_stack* st, int64_t now)
{
  if (st->pub && now >= st->pub->next_ns)
    st__pub_update(st, now);
}

/* st__pub_changed: a socket changed state: publish at the next poll. */
static inline void st__pub_changed(struct anyload_stack* st)
{
  if (st->pub)
    st->pub->next_ns = 0;
}

/* ---- capture.c -------------------------------------------------------- */

/* st__cap_frame: copy frame f (len bytes) into the capture ring, or
 * count a drop when it is full. */
void st__cap_frame(struct anyload_stack* st, const uint8_t* f, unsigned len,
                   unsigned dir);

/* st__cap: capture a frame if a reader is attached. */
static inline void st__cap(struct anyload_stack* st, const uint8_t* f,
                           unsigned len, unsigned dir)
{
  if (__builtin_expect(st->pub != NULL &&
                       __atomic_load_n(&st->pub->cap->on, __ATOMIC_RELAXED),
                       0))
    st__cap_frame(st, f, len, dir);
}

/* ---- latency_hist.c --------------------------------------------------- */

/* st__lat_stamp: datagram head was queued to a socket at st->now. */
static inline void st__lat_stamp(struct anyload_stack* st, uint32_t head)
{
  if (st->pub)
    st->pub->rx_ns[head] = st->now;
}

/* st__lat_tcp_read: the program read TCP bytes at now that had waited
 * since t0 (the stack's histogram only). */
void st__lat_tcp_read(struct anyload_stack* st, int64_t t0, int64_t now);

/* st__lat_read: datagram head was read from socket s by the program at
 * now (< 0: unknown, nothing recorded). */
void st__lat_read(struct anyload_stack* st, const struct st_sock* s,
                  uint32_t head, int64_t now);

#endif /* ANYLOAD_STACK_PUBLISH_H */
