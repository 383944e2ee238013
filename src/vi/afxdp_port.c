/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afxdp_port.c: UMEM ports. A port is one AF_XDP UMEM with its fill
 * and completion rings, for one (interface, queue) in this process. The
 * kernel lets only one UMEM bind to a queue, so all VIs of the process on
 * that queue share the port: the first VI uses the port's socket, the next
 * ones bind their own sockets with XDP_SHARED_UMEM.
 *
 * UMEM layout: chunks [0, AFXDP_RX_CHUNKS) are receive chunks, all in the
 * fill ring while idle (each is recycled as soon as its frame is copied
 * out); chunks [AFXDP_RX_CHUNKS, +AFXDP_TX_CHUNKS) are transmit chunks,
 * taken from the free stack by a transmit and returned by its completion.
 */
#include "vi/afxdp_int.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct afxdp_port* ports;

int afxdp_ring_map(int fd, struct afxdp_ring* r, off_t pgoff,
                   const struct xdp_ring_offset* off, uint32_t size,
                   size_t entry_size)
{
  size_t len = off->desc + (size_t)size * entry_size;
  char* map = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, fd, pgoff);
  if (map == MAP_FAILED)
    return -errno;
  memset(r, 0, sizeof(*r));
  r->map = map;
  r->map_len = len;
  r->size = size;
  r->mask = size - 1;
  r->producer = (uint32_t*)(map + off->producer);
  r->consumer = (uint32_t*)(map + off->consumer);
  r->flags = (uint32_t*)(map + off->flags);
  r->ring = map + off->desc;
  r->cached_prod = *r->producer;
  r->cached_cons = *r->consumer;
  return 0;
}

void afxdp_ring_unmap(struct afxdp_ring* r)
{
  if (r->map)
    munmap(r->map, r->map_len);
  memset(r, 0, sizeof(*r));
}

static void port_destroy(struct afxdp_port* p)
{
  afxdp_ring_unmap(&p->fill);
  afxdp_ring_unmap(&p->comp);
  if (p->fd >= 0)
    close(p->fd);
  if (p->umem)
    munmap(p->umem, p->umem_len);
  free(p->tx_free);
  free(p->tx_owner);
  pthread_spin_destroy(&p->lock);
  free(p);
}

static int port_create(int ifindex, int queue, struct afxdp_port** out)
{
  struct xdp_umem_reg reg;
  struct xdp_mmap_offsets off;
  socklen_t optlen = sizeof(off);
  struct afxdp_port* p;
  uint32_t size, i;
  int rc;

  p = calloc(1, sizeof(*p));
  if (!p)
    return -ENOMEM;
  p->ifindex = ifindex;
  p->queue = queue;
  p->fd = -1;
  pthread_spin_init(&p->lock, PTHREAD_PROCESS_PRIVATE);
  p->umem_len = (size_t)(AFXDP_RX_CHUNKS + AFXDP_TX_CHUNKS) *
                AFXDP_CHUNK_SIZE;
  p->umem = mmap(NULL, p->umem_len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p->umem == MAP_FAILED) {
    p->umem = NULL;
    rc = -ENOMEM;
    goto fail;
  }
  p->tx_free = calloc(AFXDP_TX_CHUNKS, sizeof(uint32_t));
  p->tx_owner = calloc(AFXDP_TX_CHUNKS, sizeof(struct afxdp_tx_owner));
  if (!p->tx_free || !p->tx_owner) {
    rc = -ENOMEM;
    goto fail;
  }
  for (i = 0; i < AFXDP_TX_CHUNKS; i++)
    p->tx_free[i] = AFXDP_RX_CHUNKS + AFXDP_TX_CHUNKS - 1 - i;
  p->tx_free_n = AFXDP_TX_CHUNKS;

  p->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (p->fd < 0) {
    rc = -errno;
    if (rc == -EINVAL || rc == -EPROTONOSUPPORT)
      rc = -EAFNOSUPPORT;
    goto fail;
  }
  memset(&reg, 0, sizeof(reg));
  reg.addr = (uint64_t)(uintptr_t)p->umem;
  reg.len = p->umem_len;
  reg.chunk_size = AFXDP_CHUNK_SIZE;
  reg.headroom = 0;
  if (setsockopt(p->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) < 0) {
    rc = -errno;
    al_err("AF_XDP UMEM registration failed: %s", strerror(-rc));
    goto fail;
  }
  size = AFXDP_FILL_SIZE;
  if (setsockopt(p->fd, SOL_XDP, XDP_UMEM_FILL_RING, &size, sizeof(size)) < 0)
    goto fail_errno;
  size = AFXDP_COMP_SIZE;
  if (setsockopt(p->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &size,
                 sizeof(size)) < 0)
    goto fail_errno;
  if (getsockopt(p->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) < 0)
    goto fail_errno;
  rc = afxdp_ring_map(p->fd, &p->fill, XDP_UMEM_PGOFF_FILL_RING, &off.fr,
                      AFXDP_FILL_SIZE, sizeof(uint64_t));
  if (rc < 0)
    goto fail;
  rc = afxdp_ring_map(p->fd, &p->comp, XDP_UMEM_PGOFF_COMPLETION_RING,
                      &off.cr, AFXDP_COMP_SIZE, sizeof(uint64_t));
  if (rc < 0)
    goto fail;

  /* Give the kernel every receive chunk before the first bind. */
  for (i = 0; i < AFXDP_RX_CHUNKS; i++)
    *afxdp_ring_addr(&p->fill, p->fill.cached_prod++) =
      (uint64_t)i * AFXDP_CHUNK_SIZE;
  afxdp_prod_submit(&p->fill);
  *out = p;
  return 0;

fail_errno:
  rc = -errno;
fail:
  port_destroy(p);
  return rc;
}

/* Interface indexes are per network namespace: a process that switches
 * namespaces (setns) can have two interfaces with the same index. */
static unsigned long current_netns(void)
{
  struct stat st;
  return stat("/proc/thread-self/ns/net", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

int afxdp_port_get(int ifindex, int queue, struct afxdp_port** out)
{
  unsigned long netns = current_netns();
  struct afxdp_port* p;
  int rc = 0;

  pthread_mutex_lock(&ports_lock);
  /* A forked child never shares its parent's port: the fill and
   * completion rings have no lock between processes. */
  for (p = ports; p; p = p->next)
    if (p->ifindex == ifindex && p->queue == queue && p->netns == netns &&
        p->pid == getpid())
      break;
  if (!p) {
    rc = port_create(ifindex, queue, &p);
    if (rc == 0) {
      p->netns = netns;
      p->pid = getpid();
      p->next = ports;
      ports = p;
    }
  }
  if (rc == 0) {
    /* The port lock is skipped while a port has one VI. Allocating a
     * second VI on the same queue while another thread polls the first
     * is therefore not allowed (documented in vi.h's allocation notes). */
    p->refs++;
    *out = p;
  }
  pthread_mutex_unlock(&ports_lock);
  return rc;
}

void afxdp_port_put(struct afxdp_port* port)
{
  struct afxdp_port** pp;

  pthread_mutex_lock(&ports_lock);
  if (--port->refs == 0) {
    for (pp = &ports; *pp; pp = &(*pp)->next)
      if (*pp == port) {
        *pp = port->next;
        break;
      }
    port_destroy(port);
  }
  pthread_mutex_unlock(&ports_lock);
}
