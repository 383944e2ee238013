/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * common/stack_shm.c: the reader's side of the stack files (layout in
 * stack_shm.h): opening and checking a file, telling a live owner from a
 * dead one, the seqlock read, and the histogram percentile. Used by the
 * tools; never on a stack's fast path.
 */
#include "common/stack_shm.h"
#include "common/proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char* stack_shm_dir(void)
{
  const char* d = getenv(ANYLOAD_SHM_DIR_ENV);

  return d && d[0] ? d : ANYLOAD_SHM_DIR;
}

int stack_shm_open(const char* path, struct stack_shm* out)
{
  const struct anyload_shm_hdr* h;
  struct stat sb;
  int fd, rc;
  void* base;

  memset(out, 0, sizeof(*out));
  out->fd = -1;
  fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fstat(fd, &sb) < 0) {
    rc = -errno;
    goto fail_fd;
  }
  if ((size_t)sb.st_size < sizeof(struct anyload_shm_hdr)) {
    rc = -EPROTO;
    goto fail_fd;
  }
  base = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
              fd, 0);
  if (base == MAP_FAILED) {
    rc = -errno;
    goto fail_fd;
  }
  h = base;
  if (h->magic != ANYLOAD_SHM_MAGIC || h->version != ANYLOAD_SHM_VERSION ||
      h->hdr_size < sizeof(*h) || h->file_size != (uint64_t)sb.st_size ||
      h->sock_size != sizeof(struct anyload_shm_sock) ||
      (uint64_t)h->names_off + (uint64_t)(h->n_stats + h->n_udp_stats +
                                          h->n_tcp_stats) *
                               ANYLOAD_SHM_NAME_LEN > h->file_size ||
      (uint64_t)h->stats_off + h->n_stats * 8ull > h->file_size ||
      (uint64_t)h->socks_off + (uint64_t)h->max_socks * h->sock_size >
        h->file_size ||
      (uint64_t)h->filters_off + (uint64_t)h->max_filters *
        sizeof(struct anyload_shm_filter) > h->file_size ||
      (uint64_t)h->settings_off + h->settings_size > h->file_size ||
      (uint64_t)h->hist_off + sizeof(struct anyload_shm_hist) > h->file_size ||
      (uint64_t)h->sock_hist_off + (uint64_t)h->n_sock_hist *
        sizeof(struct anyload_shm_hist) > h->file_size ||
      (uint64_t)h->cap_off + sizeof(struct anyload_shm_cap) + h->cap_size >
        h->file_size) {
    rc = -EPROTO;
    goto fail_map;
  }
  out->fd = fd;
  out->base = base;
  out->len = (size_t)sb.st_size;
  out->pid = h->pid;
  out->stack_id = h->stack_id;
  snprintf(out->path, sizeof(out->path), "%s", path);
  return 0;

fail_map:
  munmap(base, (size_t)sb.st_size);
fail_fd:
  close(fd);
  return rc;
}

void stack_shm_close(struct stack_shm* s)
{
  if (s->base)
    munmap(s->base, s->len);
  if (s->fd >= 0)
    close(s->fd);
  s->base = NULL;
  s->fd = -1;
}

int stack_shm_alive(const struct stack_shm* s)
{
  const struct anyload_shm_hdr* h = stack_shm_hdr(s);

  /* The owner holds LOCK_EX from creation to the end: if a shared lock
   * can be had, nobody holds it. */
  if (flock(s->fd, LOCK_SH | LOCK_NB) == 0) {
    flock(s->fd, LOCK_UN);
    return 0;
  }
  /* A child that inherited the descriptor keeps the lock after the
   * owner's death: the owner must still be the process it was. */
  return h->proc_start && proc_start_time(h->pid) == h->proc_start;
}

int stack_shm_read_consistent(const void* base,
                              void (*copy)(const void* base, void* ctx),
                              void* ctx, unsigned tries)
{
  const struct anyload_shm_hdr* h = base;
  unsigned k;

  for (k = 0; k < tries; k++) {
    uint32_t s1 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE), s2;
    if (s1 & 1u) {
      /* The writer is inside an update: give it the CPU. */
      if (k > 8)
        usleep(100);
      continue;
    }
    copy(base, ctx);
    /* The copy must be complete before seq is read again. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    s2 = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);
    if (s1 == s2)
      return 0;
  }
  return -EAGAIN;
}

uint64_t anyload_hist_percentile(const uint64_t* buckets, uint64_t n,
                                 double q, uint64_t max_ns)
{
  uint64_t rank, seen = 0, v;
  unsigned b;

  if (n == 0)
    return 0;
  if (q <= 0)
    q = 1e-12;
  if (q > 1)
    q = 1;
  rank = (uint64_t)(q * (double)n);
  if ((double)rank < q * (double)n)
    rank++;                           /* ceil */
  if (rank == 0)
    rank = 1;
  for (b = 0; b < ANYLOAD_HIST_BUCKETS; b++) {
    seen += buckets[b];
    if (seen >= rank)
      break;
  }
  if (b >= ANYLOAD_HIST_BUCKETS - 1)
    v = max_ns ? max_ns : anyload_hist_low(ANYLOAD_HIST_BUCKETS - 1);
  else
    v = anyload_hist_low(b + 1) - 1;
  if (max_ns && v > max_ns)
    v = max_ns;
  return v;
}

int stack_cap_next(const struct anyload_shm_cap* cap, const uint8_t* data,
                   uint64_t* tail, uint64_t head, struct anyload_cap_rec* rec,
                   const uint8_t** frame)
{
  uint32_t size = cap->size;

  while (*tail < head) {
    uint64_t pos = *tail & (size - 1u);
    if (size - pos < sizeof(*rec)) {
      *tail += size - pos;        /* too short for a record: filler */
      continue;
    }
    memcpy(rec, data + pos, sizeof(*rec));
    if (rec->rec_len < sizeof(*rec) || rec->rec_len % 8u ||
        rec->rec_len > size - pos || rec->rec_len > head - *tail ||
        (rec->dir != ANYLOAD_CAP_PAD &&
         rec->caplen > rec->rec_len - sizeof(*rec))) {
      *tail = head;
      return -EPROTO;
    }
    *tail += rec->rec_len;
    if (rec->dir == ANYLOAD_CAP_PAD)
      continue;
    *frame = data + pos + sizeof(*rec);
    return 1;
  }
  return 0;
}
