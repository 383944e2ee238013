/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/filter_maps.h: the library's side of the BPF filter maps
 * (bpf/filter_shared.h, bpf/filter_lookup.h), shared by the backends whose
 * programs use them (AF_XDP: afxdp_bpf.c; AF_PACKET: afpacket_bpf.c).
 *
 * One set of maps serves every VI of every process on an interface. A VI
 * holds a slot in al_owners (pid and start time of its process); a filter
 * is a map entry naming the slot. Changes are made under an flock() on a
 * per-interface lock file, so two processes never take the same slot or
 * the same flow. A slot whose process is gone (pid gone, or reused by a
 * process with another start time) is dead: the next VI to open the
 * interface reclaims it and its filters, and a VI that adds a filter held
 * by a dead slot takes it over.
 */
#ifndef ANYLOAD_VI_FILTER_MAPS_H
#define ANYLOAD_VI_FILTER_MAPS_H

#include "vi/vi_int.h"
#include "../bpf/filter_shared.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_object;

/* File descriptors of one interface's filter maps (-1: not open). */
struct vi_fmaps {
  int ip4_full, ip4_local, ip6_full, ip6_local;
  int eth, ethertype, ipproto, special;
  int config, owners, stats;
};

/* A map wanted by name, and where its fd goes. */
struct vi_bpf_map_ref {
  const char* name;
  int*        fd;
};

/* One installed filter, as needed to remove it again. */
struct vi_fmaps_filter {
  int      used;
  int      map_fd;            /* one of vi_fmaps's fds */
  uint32_t key_len;
  uint8_t  key[48];
  unsigned type;              /* VI_FLT_* */
  int      queue;             /* the owner index it holds (al_filter_val) */
};

/* The per-interface lock: /run/anyload/<kind>-<netns inode>-<ifindex>.lock
 * ("xdp", "afp"), flock()ed around every change. */
struct vi_fmaps_lock {
  int           fd;
  int           ifindex;
  unsigned long netns;    /* inode of the interface's network namespace */
  const char*   kind;
};

/* vi_fmaps_lock_open: open (creating it) the lock file of ifindex in the
 * calling thread's network namespace. Returns 0 or -errno. */
int vi_fmaps_lock_open(struct vi_fmaps_lock* l, const char* kind,
                       int ifindex);
/* vi_fmaps_lock_take: flock the lock file. The last VI of an interface
 * unlinks the file (vi_fmaps_lock_unlink, so that dead namespaces leave
 * nothing in /run); a process that opened the old file before that must
 * not hold a lock that newcomers cannot see, so it reopens until its file
 * is the one on disk. */
void vi_fmaps_lock_take(struct vi_fmaps_lock* l);
void vi_fmaps_lock_drop(struct vi_fmaps_lock* l);
/* vi_fmaps_lock_unlink: remove the lock file (held, by the last VI). */
void vi_fmaps_lock_unlink(struct vi_fmaps_lock* l);
void vi_fmaps_lock_close(struct vi_fmaps_lock* l);

/* vi_owner_alive: the process that holds slot owner o is still running. */
int vi_owner_alive(const struct al_owner* o);

/* vi_fmaps_init: mark every fd of fm closed; vi_fmaps_close: close them. */
void vi_fmaps_init(struct vi_fmaps* fm);
void vi_fmaps_close(struct vi_fmaps* fm);

/* vi_fmaps_refs: fm's maps as a by-name table (VI_FMAPS_N entries). */
#define VI_FMAPS_N 11
void vi_fmaps_refs(struct vi_fmaps* fm, struct vi_bpf_map_ref refs[VI_FMAPS_N]);

/* vi_bpf_prog_maps: open the maps of program prog_fd that refs[] name.
 * Returns 0, or -ENOENT if one is missing (a program of another layout),
 * -errno from the kernel. Fds already >= 0 in refs are left alone. */
int vi_bpf_prog_maps(int prog_fd, const struct vi_bpf_map_ref* refs,
                     size_t n);
/* vi_bpf_obj_maps: dup the fds of the loaded object's maps that refs[]
 * name, and bind each to bind_prog_fd (>= 0), so that other processes find
 * every map from that program and the maps live exactly as long as it
 * does. Returns 0 or -ENOENT. */
int vi_bpf_obj_maps(struct bpf_object* obj, const struct vi_bpf_map_ref* refs,
                    size_t n, int bind_prog_fd);

/* vi_fmaps_layout_ok: al_config holds our AL_LAYOUT_VERSION. */
int vi_fmaps_layout_ok(const struct vi_fmaps* fm);
/* vi_fmaps_set_config: write al_config (layout version, ifindex's MAC). */
int vi_fmaps_set_config(const struct vi_fmaps* fm, int ifindex);

/* vi_fmaps_take_slot: claim a free slot for this process's VI on queue.
 * Returns 0 or -ENOSPC (every slot taken), -errno. Call under the lock. */
int vi_fmaps_take_slot(const struct vi_fmaps* fm, int queue, int* slot_out);
/* vi_fmaps_drop_slot: remove the slot's filters and free it. Call under
 * the lock. */
void vi_fmaps_drop_slot(const struct vi_fmaps* fm, int slot);
/* vi_fmaps_reclaim_dead: drop the slots of dead owners (calling drop_extra
 * for each first, if not NULL); returns the number of live slots. Call
 * under the lock. */
int vi_fmaps_reclaim_dead(const struct vi_fmaps* fm,
                          void (*drop_extra)(void* arg, int slot), void* arg);
/* vi_fmaps_live_slots: the number of slots held by live processes. */
int vi_fmaps_live_slots(const struct vi_fmaps* fm);

/* vi_fmaps_parked: 1 if a filter is parked (vi_fmaps_filter_park) and its
 * time has not passed: the program must stay to drop its frames. */
int vi_fmaps_parked(const struct vi_fmaps* fm);

/* vi_fmaps_queue_user: the pid of a live process other than this one
 * that holds a slot on queue, or 0. */
pid_t vi_fmaps_queue_user(const struct vi_fmaps* fm, int queue);

/* vi_fmaps_filter_add: install filter fs for slot on RX queue `queue`
 * (its owner on that queue, see al_filter_val), taking the lock. Returns 0
 * or -EEXIST (this slot has it), -EBUSY (a live VI has it on this queue,
 * or on another queue without sharing: EF_FILTER_FLAG_SHARE_QUEUES),
 * -EINVAL (bad spec, queue beyond AL_MAX_QUEUES), -EOPNOTSUPP (a type the
 * programs cannot do), -ENOSPC (map full), -errno. */
int vi_fmaps_filter_add(const struct vi_fmaps* fm, struct vi_fmaps_lock* l,
                        int slot, int queue, const ef_filter_spec* fs,
                        struct vi_fmaps_filter* out);
/* vi_fmaps_filter_del: remove a filter installed by vi_fmaps_filter_add,
 * if it still belongs to slot (the entry goes with its last owner).
 * Returns 0 or -EINVAL (not installed), -ENOENT (no longer this slot's),
 * -errno. */
int vi_fmaps_filter_del(const struct vi_fmaps* fm, struct vi_fmaps_lock* l,
                        int slot, struct vi_fmaps_filter* f);
/* vi_fmaps_filter_park: vi_fmaps_filter_del, but an entry left without
 * owners stays parked for park_ms (bpf/filter_shared.h: its frames are
 * dropped, not the kernel's, until another VI takes it or the time
 * passes); array filters (ipproto, special) are removed as by del. */
int vi_fmaps_filter_park(const struct vi_fmaps* fm, struct vi_fmaps_lock* l,
                         int slot, struct vi_fmaps_filter* f,
                         unsigned park_ms);

/* vi_fmaps_stats: the programs' counters summed over CPUs. Returns 0 or
 * -EINVAL, -ENOMEM. */
int vi_fmaps_stats(const struct vi_fmaps* fm, uint64_t out[AL_STAT_MAX]);

#endif /* ANYLOAD_VI_FILTER_MAPS_H */
