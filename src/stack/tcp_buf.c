/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack/tcp_buf.c: a connection's byte rings and the data calls: send
 * copies into the send ring (segments are cut from it at transmit time,
 * tcp_out.c), recv copies out of the receive ring, and arriving data is
 * written into the receive ring at its offset from RCV.NXT, out-of-order
 * data included, described by a short sorted list of intervals.
 *
 * Layer: stack. Bounds: the rings are malloc'd once per connection with
 * the sizes of SO_SNDBUF and SO_RCVBUF; out-of-order data is limited by
 * the ring's free room (never beyond what we advertised) and by
 * ST_TCP_OOO intervals: a segment that would need one more interval than
 * that is dropped and counted (the sender retransmits it).
 *
 * SACK blocks to send (RFC 2018 §4): the first block holds the segment
 * that triggered the ACK, the others the most recent other blocks; they
 * are rebuilt from the interval list, with the latest interval first.
 */
#include "stack/publish.h"
#include "stack/tcp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- send ring -------------------------------------------------------- */

int tcp__snd_iov(const struct st_tcp* c, uint32_t seq, uint32_t len,
                 struct iovec iov[2])
{
  uint32_t off = (c->snd_head + (seq - c->snd_una)) % c->sbuf_size;
  uint32_t first = c->sbuf_size - off < len ? c->sbuf_size - off : len;

  iov[0].iov_base = c->sbuf + off;
  iov[0].iov_len = first;
  if (len == first)
    return 1;
  iov[1].iov_base = c->sbuf;
  iov[1].iov_len = len - first;
  return 2;
}

void tcp__snd_copy(const struct st_tcp* c, uint32_t seq, uint8_t* dst,
                   uint32_t len)
{
  struct iovec iov[2];
  int n = tcp__snd_iov(c, seq, len, iov);

  memcpy(dst, iov[0].iov_base, iov[0].iov_len);
  if (n == 2)
    memcpy(dst + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
}

void tcp__snd_ack(struct st_tcp* c, uint32_t bytes)
{
  if (bytes > c->snd_len)
    bytes = c->snd_len;
  c->snd_head = (c->snd_head + bytes) % (c->sbuf_size ? c->sbuf_size : 1);
  c->snd_len -= bytes;
}

/* ring_grow: a new ring of size bytes holding the `keep` bytes of the old
 * one from head on, at offset 0. */
static int ring_grow(struct anyload_stack* st, uint8_t** ring,
                     uint32_t* ring_size, uint32_t* head, uint32_t keep,
                     uint32_t size)
{
  uint8_t* n;
  uint32_t first;

  if (size <= *ring_size)
    return 0;
  n = malloc(size);
  if (!n)
    return -ENOMEM;
  first = *ring_size - *head < keep ? *ring_size - *head : keep;
  memcpy(n, *ring + *head, first);
  memcpy(n + first, *ring, keep - first);
  free(*ring);
  st->tcp_buf_bytes += size - *ring_size;
  *ring = n;
  *ring_size = size;
  *head = 0;
  return 0;
}

int tcp__sbuf_grow(struct anyload_stack* st, struct st_tcp* c, uint32_t size)
{
  if (!c->sbuf)
    return 0;
  return ring_grow(st, &c->sbuf, &c->sbuf_size, &c->snd_head, c->snd_len,
                   size);
}

int tcp__rbuf_grow(struct anyload_stack* st, struct st_tcp* c, uint32_t size)
{
  /* Out-of-order data sits anywhere in the ring, at its offset from
   * rcv_head: keep the whole ring. */
  if (!c->rbuf)
    return 0;
  return ring_grow(st, &c->rbuf, &c->rbuf_size, &c->rcv_head,
                   c->rbuf_size, size);
}

/* autotune_size: a ring of size bytes grown for want bytes: doubled until
 * it holds them, at most max. */
static uint32_t autotune_size(uint32_t size, uint64_t want, uint32_t max)
{
  while (size < want && size < max)
    size *= 2;
  return size > max ? max : size;
}

/* sndbuf_autotune: as Linux's tcp_sndbuf_expand, a send ring of twice the
 * congestion window (data in flight plus as much queued behind it), up
 * to ST_TCP_SNDBUF_AUTO_MAX, unless the application chose SO_SNDBUF. */
static void sndbuf_autotune(struct anyload_stack* st, struct st_tcp* c)
{
  uint64_t want = 2ull * ((uint64_t)c->cc.cwnd + c->cc.mss);
  uint32_t size = c->sbuf_size;

  if (c->sndbuf_user || want <= size || size >= ST_TCP_SNDBUF_AUTO_MAX)
    return;
  size = autotune_size(size, want, ST_TCP_SNDBUF_AUTO_MAX);
  if (tcp__sbuf_grow(st, c, size) == 0) {
    c->sndbuf = size;
    ST_TCP_INC(c, sndbuf_grown);
  }
}

/* rcvbuf_autotune: as Linux's tcp_rcv_space_adjust (dynamic right-sizing):
 * once per round trip, look at what the application read in it. A sender
 * held back by our window can put at most a window in flight per round
 * trip; when the application took more than ever before in one, the ring
 * becomes twice that plus 16 segments (room for the sender's window to
 * double, as slow start does each round trip), in doublings, up to
 * ST_TCP_RCVBUF_AUTO_MAX, unless the application chose SO_RCVBUF. A
 * reader that takes little per round trip never grows it. The round trip
 * is SRTT (the handshake gives a passive side its first sample), or 1 ms
 * before any sample. */
static void rcvbuf_autotune(struct anyload_stack* st, struct st_tcp* c,
                            uint32_t done, int64_t now)
{
  int64_t rtt_ns;
  uint64_t want;
  uint32_t size, copied;

  if (c->rcvbuf_user || c->rbuf_size >= ST_TCP_RCVBUF_AUTO_MAX)
    return;
  c->rcvq_copied += done;
  if (!c->rcvq_start) {
    c->rcvq_start = now;
    return;
  }
  rtt_ns = c->rtt.srtt_us ? (int64_t)c->rtt.srtt_us * 1000 : 1000000;
  if (now - c->rcvq_start < rtt_ns)
    return;
  copied = c->rcvq_copied;
  c->rcvq_copied = 0;
  c->rcvq_start = now;
  if (copied <= c->rcvq_space)
    return;
  c->rcvq_space = copied;
  want = 2ull * copied + 16ull * (c->adv_mss ? c->adv_mss : 536u);
  size = c->rbuf_size;
  if (want <= size)
    return;
  size = autotune_size(size, want, ST_TCP_RCVBUF_AUTO_MAX);
  if (tcp__rbuf_grow(st, c, size) == 0) {
    c->rcvbuf = size;
    ST_TCP_INC(c, rcvbuf_grown);
  }
}

static size_t iov_total(const struct iovec* iov, int n)
{
  size_t t = 0;
  int k;

  for (k = 0; k < n; k++)
    t += iov[k].iov_len;
  return t;
}

ssize_t anyload_tcp_send(struct anyload_stack* st, int sd,
                         const struct iovec* iov, int iovcnt, int flags,
                         int64_t now_ns)
{
  struct st_tcp* c = tcp__get(st, sd);
  uint32_t room, done = 0;
  int k, cork;

  if (!c)
    return -EBADF;
  if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE))
    return -EOPNOTSUPP;
  if (iovcnt < 0 || (iovcnt && !iov))
    return -EINVAL;
  st->now = now_ns;
  if (c->err) {
    int e = c->err;
    c->err = 0;
    return -e;
  }
  switch (c->state) {
  case TCP_CLOSE:
    return c->was_connected || c->reset ? -EPIPE : -ENOTCONN;
  case TCP_LISTEN:
    return -ENOTCONN;
  case TCP_SYN_SENT:
  case TCP_SYN_RECV:
    return -EAGAIN;
  default:
    break;
  }
  if (c->shut_wr || c->fin_queued)
    return -EPIPE;
  if (iov_total(iov, iovcnt) == 0)
    return 0;
  if (c->sbuf_size - c->snd_len < iov_total(iov, iovcnt))
    sndbuf_autotune(st, c);
  room = c->sbuf_size - c->snd_len;
  if (!room) {
    ST_TCP_INC(c, tx_eagain);
    return -EAGAIN;
  }
  for (k = 0; k < iovcnt && room; k++) {
    const uint8_t* src = iov[k].iov_base;
    size_t left = iov[k].iov_len;
    while (left && room) {
      uint32_t tail = (c->snd_head + c->snd_len) % c->sbuf_size;
      uint32_t n = c->sbuf_size - tail;
      if (n > room)
        n = room;
      if (n > left)
        n = (uint32_t)left;
      memcpy(c->sbuf + tail, src, n);
      c->snd_len += n;
      room -= n;
      left -= n;
      src += n;
      done += n;
    }
  }
  ST_TCP_ADD(c, tx_bytes_queued, done);
  cork = c->cork;
  if (flags & MSG_MORE)
    c->cork = 1;
  tcp__output(st, c, now_ns);
  c->cork = (uint8_t)cork;
  return (ssize_t)done;
}

/* ---- receive ring ----------------------------------------------------- */

/* ooo_add: record [seq, end) in the interval list, merging. Returns 0,
 * or -1 when it needs an interval more than the list holds. */
static int ooo_add(struct st_tcp* c, uint32_t seq, uint32_t end)
{
  unsigned k, j;

  for (k = 0; k < c->n_ooo; k++)
    if (tcp_seq_le(seq, c->ooo[k].end))
      break;
  if (k < c->n_ooo && tcp_seq_ge(end, c->ooo[k].start)) {
    /* Overlaps or touches interval k (and maybe the following ones). */
    if (tcp_seq_lt(seq, c->ooo[k].start))
      c->ooo[k].start = seq;
    if (tcp_seq_gt(end, c->ooo[k].end))
      c->ooo[k].end = end;
    while (k + 1 < c->n_ooo && tcp_seq_ge(c->ooo[k].end, c->ooo[k + 1].start)) {
      if (tcp_seq_gt(c->ooo[k + 1].end, c->ooo[k].end))
        c->ooo[k].end = c->ooo[k + 1].end;
      for (j = k + 1; j + 1 < c->n_ooo; j++)
        c->ooo[j] = c->ooo[j + 1];
      c->n_ooo--;
    }
    return 0;
  }
  if (c->n_ooo == ST_TCP_OOO)
    return -1;
  for (j = c->n_ooo; j > k; j--)
    c->ooo[j] = c->ooo[j - 1];
  c->ooo[k].start = seq;
  c->ooo[k].end = end;
  c->n_ooo++;
  return 0;
}

void tcp__sack_blocks(struct st_tcp* c, uint32_t seq, uint32_t end)
{
  unsigned max = c->ts_ok ? 3 : 4, n = 0, k, j;
  uint32_t blk[ST_TCP_MAX_SACK][2];

  if (!c->sack_ok)
    return;
  /* The block holding the latest segment first. */
  for (k = 0; k < c->n_ooo && n < max; k++)
    if (tcp_seq_le(c->ooo[k].start, seq) && tcp_seq_ge(c->ooo[k].end, end)) {
      blk[n][0] = c->ooo[k].start;
      blk[n][1] = c->ooo[k].end;
      n++;
      break;
    }
  /* Then the previous blocks still valid, then the others. */
  for (j = 0; j < c->nsack_out && n < max; j++) {
    for (k = 0; k < c->n_ooo; k++)
      if (tcp_seq_le(c->ooo[k].start, c->sack_out[j][0]) &&
          tcp_seq_ge(c->ooo[k].end, c->sack_out[j][1]))
        break;
    if (k == c->n_ooo)
      continue;
    if (n && blk[0][0] == c->ooo[k].start)
      continue;
    {
      unsigned m;
      for (m = 0; m < n && blk[m][0] != c->ooo[k].start; m++)
        ;
      if (m < n)
        continue;
    }
    blk[n][0] = c->ooo[k].start;
    blk[n][1] = c->ooo[k].end;
    n++;
  }
  for (k = c->n_ooo; k-- > 0 && n < max;) {
    unsigned m;
    for (m = 0; m < n && blk[m][0] != c->ooo[k].start; m++)
      ;
    if (m < n)
      continue;
    blk[n][0] = c->ooo[k].start;
    blk[n][1] = c->ooo[k].end;
    n++;
  }
  memcpy(c->sack_out, blk, sizeof(blk[0]) * n);
  c->nsack_out = (uint8_t)n;
}

/* rbuf_write: copy len bytes at ring offset off (from rcv_head). */
static void rbuf_write(struct st_tcp* c, uint32_t off, const uint8_t* src,
                       uint32_t len)
{
  uint32_t pos = (c->rcv_head + off) % c->rbuf_size;
  uint32_t first = c->rbuf_size - pos < len ? c->rbuf_size - pos : len;

  memcpy(c->rbuf + pos, src, first);
  if (len > first)
    memcpy(c->rbuf, src + first, len - first);
}

int tcp__rcv_data(struct anyload_stack* st, struct st_tcp* c, uint32_t seq,
                  const uint8_t* data, uint32_t len, int* filled)
{
  uint32_t room = c->rbuf_size - c->rcv_len, off, end;

  *filled = 0;
  /* Trim what we have already. */
  if (tcp_seq_lt(seq, c->rcv_nxt)) {
    uint32_t d = c->rcv_nxt - seq;
    if (d >= len)
      return 1;
    seq += d;
    data += d;
    len -= d;
  }
  off = seq - c->rcv_nxt;
  if (off >= room) {
    ST_INC(st, tcp_rx_drop_rcvbuf);
    ST_TCP_INC(c, rx_drop_rcvbuf);
    return 0;
  }
  if (len > room - off) {
    ST_INC(st, tcp_rx_trim_rcvbuf);
    len = room - off;
  }
  end = seq + len;
  if (off > 0) {
    if (ooo_add(c, seq, end) < 0) {
      ST_INC(st, tcp_rx_drop_ooo_full);
      ST_TCP_INC(c, rx_drop_ooo);
      return 0;
    }
    rbuf_write(c, c->rcv_len + off, data, len);
    ST_INC(st, tcp_rx_ooo_segs);
    ST_TCP_INC(c, rx_ooo_segs);
    tcp__sack_blocks(c, seq, end);
    return 0;
  }
  rbuf_write(c, c->rcv_len, data, len);
  if (!c->rcv_len)
    c->rx_oldest_ns = st->now;
  c->rx_last_ns = st->now;
  c->rcv_len += len;
  c->rcv_nxt = end;
  ST_TCP_ADD(c, rx_bytes, len);
  /* Intervals that became contiguous. */
  while (c->n_ooo && tcp_seq_le(c->ooo[0].start, c->rcv_nxt)) {
    unsigned j;
    if (tcp_seq_gt(c->ooo[0].end, c->rcv_nxt)) {
      uint32_t add = c->ooo[0].end - c->rcv_nxt;
      c->rcv_len += add;
      ST_TCP_ADD(c, rx_bytes, add);
      c->rcv_nxt = c->ooo[0].end;
    }
    for (j = 0; j + 1 < c->n_ooo; j++)
      c->ooo[j] = c->ooo[j + 1];
    c->n_ooo--;
    *filled = 1;
  }
  if (c->nsack_out)
    tcp__sack_blocks(c, c->rcv_nxt, c->rcv_nxt);
  return 1;
}

ssize_t anyload_tcp_recv(struct anyload_stack* st, int sd,
                         const struct iovec* iov, int iovcnt, int flags,
                         int64_t now_ns)
{
  struct st_tcp* c = tcp__get(st, sd);
  uint32_t avail, done = 0, pos;
  uint32_t old_wnd;
  int k;

  if (!c)
    return -EBADF;
  if (flags & ~(MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL | MSG_TRUNC |
                MSG_NOSIGNAL))
    return -EOPNOTSUPP;
  if (iovcnt < 0 || (iovcnt && !iov))
    return -EINVAL;
  st->now = now_ns;
  if (c->state == TCP_LISTEN)
    return -ENOTCONN;
  if (c->err && !c->rcv_len) {
    int e = c->err;
    c->err = 0;
    return -e;
  }
  if (!c->rcv_len) {
    if (c->fin_rcvd || c->shut_rd || (c->state == TCP_CLOSE &&
                                      (c->was_connected || c->reset)))
      return 0;
    if (c->state == TCP_CLOSE)
      return -ENOTCONN;
    return -EAGAIN;
  }
  avail = c->rcv_len;
  pos = c->rcv_head;
  if (flags & MSG_TRUNC) {
    size_t want = iov_total(iov, iovcnt);
    done = want < avail ? (uint32_t)want : avail;
  } else {
    for (k = 0; k < iovcnt && done < avail; k++) {
      uint8_t* dst = iov[k].iov_base;
      size_t left = iov[k].iov_len;
      while (left && done < avail) {
        uint32_t n = c->rbuf_size - pos;
        if (n > avail - done)
          n = avail - done;
        if (n > left)
          n = (uint32_t)left;
        memcpy(dst, c->rbuf + pos, n);
        dst += n;
        left -= n;
        done += n;
        pos = (pos + n) % c->rbuf_size;
      }
    }
  }
  if (!done || (flags & MSG_PEEK))
    return (ssize_t)done;
  old_wnd = c->rcv_adv - c->rcv_nxt;
  c->rcv_head = (c->rcv_head + done) % c->rbuf_size;
  c->rcv_len -= done;
  ST_TCP_ADD(c, rx_bytes_read, done);
  st__lat_tcp_read(st, c->rx_oldest_ns, now_ns);
  c->rx_oldest_ns = c->rx_last_ns;
  rcvbuf_autotune(st, c, done, now_ns);
  /* Window update (RFC 9293 §3.8.6.2.2, receiver's SWS avoidance): when
   * the window we could offer grew by two segments or half the buffer
   * beyond what the peer knows. */
  if (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT1 ||
      c->state == TCP_FIN_WAIT2) {
    uint32_t wnd = tcp__rcv_wnd(c);
    uint32_t mss2 = 2u * (c->adv_mss ? c->adv_mss : 536u);
    if (wnd > old_wnd && (wnd - old_wnd >= mss2 ||
                          wnd - old_wnd >= c->rbuf_size / 2)) {
      ST_TCP_INC(c, tx_window_updates);
      tcp__send_ack(st, c, now_ns);
    }
  }
  return (ssize_t)done;
}
