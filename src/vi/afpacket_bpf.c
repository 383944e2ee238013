/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vi/afpacket_bpf.c: the BPF side of the AF_PACKET backend: the filter
 * maps of an interface (shared by every AF_PACKET VI of every process on
 * it, the same layout and lookup as the XDP program's) and the programs of
 * each VI (bpf/anyload_afpacket.bpf.c).
 *
 * Keeping claimed flows from the kernel, on kernels with tcx (>= 6.6):
 * each VI attaches its own tcx ingress program through a bpf_link that
 * only its process holds, and that program drops only the frames of this
 * VI's filters. When the process exits or is killed, the kernel closes the
 * link and detaches the program at once, so its flows go back to the
 * kernel within a millisecond (measured: tests/integration/
 * afpacket_sigkill.sh) and nothing stale is left on the interface: no
 * qdisc, no filter, no program (the maps go with the last program that
 * uses them). This is the AF_XDP behaviour (the kernel removes a dead
 * socket from the XSKMAP), with no thread and no timeout.
 *
 * On kernels without tcx ("clsact mode", or ANYLOAD_AFPACKET_TC=clsact):
 * a classic tc filter belongs to no process and outlives a killed one, so
 * one shared filter (anyload_tcs, direct action, on a clsact qdisc made if
 * there is none) serves every VI, and counts a slot's filters only while
 * the slot's heartbeat is fresh. A thread of each process refreshes the
 * heartbeats of its VIs every AL_HEARTBEAT_PERIOD_NS (100 ms); a killed
 * process stops, and its flows are the kernel's again after
 * AL_HEARTBEAT_TTL_NS (500 ms). (A stopped process's flows go to the
 * kernel too, until it runs again.) The last VI to go removes the filter,
 * and the qdisc if anyload made it; if the last process was killed, the
 * filter stays, claiming nothing, until the next VI on the interface
 * takes it over.
 *
 * Finding the maps: through the tcx programs attached to the interface
 * (BPF_PROG_QUERY; ours are named anyload_tc) or our clsact filter
 * (bpf_tc_query at our handle and priority), whose programs have every map
 * bound. Nothing is pinned in bpffs (see afxdp_bpf.c for why). Changes,
 * from finding the maps to attaching this VI's program, are made under an
 * flock() on /run/anyload/afp-<netns inode>-<ifindex>.lock, which the last
 * VI of the interface removes; so two processes never make two sets of
 * maps for one interface.
 */
#include "vi/afpacket_int.h"
#include "common/log.h"
#include "anyload_afpacket.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* From the uapi of kernels >= 6.6 (the build's headers may be older):
 * enum bpf_attach_type BPF_TCX_INGRESS, and the BPF_F_BEFORE attach flag,
 * which with no relative program puts ours first on the chain, so that a
 * claimed flow is dropped before other tcx programs can pass it on. */
#define AFPACKET_TCX_INGRESS 46
#define AFPACKET_F_BEFORE    (1u << 3)

/* Our clsact filter: first priority, and a handle of our own. */
#define AFPACKET_TC_HANDLE   0xa10du
#define AFPACKET_TC_PRIO     1u

#define TCX_PROG_NAME    "anyload_tc"
#define CLSACT_PROG_NAME "anyload_tcs"
#define MAX_QUERY        64

/* The object's maps by name: the filter maps, the heartbeats and the
 * interface state. */
#define N_REFS (VI_FMAPS_N + 2)
static void map_refs(struct afpacket_bpf* b,
                     struct vi_bpf_map_ref refs[N_REFS])
{
  vi_fmaps_refs(&b->fm, refs);
  refs[VI_FMAPS_N].name = "al_heartbeat";
  refs[VI_FMAPS_N].fd = &b->hb_fd;
  refs[VI_FMAPS_N + 1].name = "al_afp_state";
  refs[VI_FMAPS_N + 1].fd = &b->state_fd;
}

static void close_maps(struct afpacket_bpf* b)
{
  vi_fmaps_close(&b->fm);
  if (b->hb_fd >= 0)
    close(b->hb_fd);
  if (b->state_fd >= 0)
    close(b->state_fd);
  b->hb_fd = b->state_fd = -1;
}

static uint64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- heartbeats (clsact mode) ----------------------------------------- */

static pthread_mutex_t hb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct afpacket_bpf* hb_list;
static pthread_t hb_thread;
static int hb_running;
static pid_t hb_pid;   /* the process the thread belongs to (fork) */

static void beat(struct afpacket_bpf* b, uint64_t now)
{
  uint32_t s = (uint32_t)b->slot;
  bpf_map_update_elem(b->hb_fd, &s, &now, 0);
}

static void* hb_main(void* arg)
{
  struct timespec period = { 0, (long)AL_HEARTBEAT_PERIOD_NS };
  (void)arg;

  for (;;) {
    struct afpacket_bpf* b;
    uint64_t now = mono_ns();

    pthread_mutex_lock(&hb_lock);
    if (!hb_list) {
      hb_running = 0;
      pthread_mutex_unlock(&hb_lock);
      return NULL;
    }
    for (b = hb_list; b; b = b->hb_next)
      beat(b, now);
    pthread_mutex_unlock(&hb_lock);
    nanosleep(&period, NULL);
  }
}

/* Add b to the beating VIs, starting the thread if needed. */
static int hb_add(struct afpacket_bpf* b)
{
  sigset_t all, old;
  int rc = 0;

  pthread_mutex_lock(&hb_lock);
  if (hb_pid != getpid()) {
    /* A forked child inherits no thread (and none of the parent's VIs
     * beat from here). */
    hb_list = NULL;
    hb_running = 0;
    hb_pid = getpid();
  }
  b->hb_next = hb_list;
  hb_list = b;
  if (!hb_running) {
    /* The thread takes no signals: they are the program's. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&hb_thread, NULL, hb_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
      pthread_detach(hb_thread);
      hb_running = 1;
    } else {
      hb_list = b->hb_next;
    }
  }
  pthread_mutex_unlock(&hb_lock);
  return rc;
}

/* Remove b; the thread ends by itself when the list is empty. */
static void hb_remove(struct afpacket_bpf* b)
{
  struct afpacket_bpf** pp;

  pthread_mutex_lock(&hb_lock);
  for (pp = &hb_list; *pp; pp = &(*pp)->hb_next)
    if (*pp == b) {
      *pp = b->hb_next;
      break;
    }
  pthread_mutex_unlock(&hb_lock);
}

/* ---- finding the maps ------------------------------------------------- */

/* BPF_PROG_QUERY for the tcx ingress programs of ifindex. Returns 0, or
 * -EOPNOTSUPP for a kernel without tcx. The attribute sits in a zeroed
 * buffer larger than any kernel's, because newer kernels write fields
 * (the chain's revision) that older headers do not have. */
static int tcx_query(int ifindex, uint32_t* ids, uint32_t* cnt)
{
  union {
    union bpf_attr attr;
    uint8_t        raw[512];
  } u;

  memset(&u, 0, sizeof(u));
  u.attr.query.target_fd = (uint32_t)ifindex;
  u.attr.query.attach_type = AFPACKET_TCX_INGRESS;
  u.attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
  u.attr.query.prog_cnt = *cnt;
  if (syscall(__NR_bpf, BPF_PROG_QUERY, &u.attr, sizeof(u.attr)) < 0) {
    *cnt = 0;
    return errno == EINVAL ? -EOPNOTSUPP : -errno;
  }
  *cnt = u.attr.query.prog_cnt < MAX_QUERY ? u.attr.query.prog_cnt
                                           : MAX_QUERY;
  return 0;
}

static int prog_is_named(uint32_t id, const char* name)
{
  struct bpf_prog_info info;
  uint32_t len = sizeof(info);
  int fd = bpf_prog_get_fd_by_id(id), ok;

  if (fd < 0)
    return 0;
  memset(&info, 0, sizeof(info));
  ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
       !strcmp(info.name, name);
  close(fd);
  return ok;
}

/* Open the maps of program id if it is ours (name). Returns 1 (maps open
 * in b), 0 (not ours), -ESTALE (ours, another layout). */
static int maps_of_prog(struct afpacket_bpf* b, uint32_t id,
                        const char* name)
{
  struct vi_bpf_map_ref refs[N_REFS];
  struct bpf_prog_info info;
  uint32_t len = sizeof(info);
  int fd = bpf_prog_get_fd_by_id(id), rc;

  if (fd < 0)
    return 0;   /* detached meanwhile */
  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
      strcmp(info.name, name)) {
    close(fd);
    return 0;
  }
  map_refs(b, refs);
  rc = vi_bpf_prog_maps(fd, refs, N_REFS);
  close(fd);
  if (rc == 0 && vi_fmaps_layout_ok(&b->fm))
    return 1;
  close_maps(b);
  return -ESTALE;
}

static struct bpf_tc_hook tc_hook(int ifindex, int attach_point)
{
  struct bpf_tc_hook h;

  memset(&h, 0, sizeof(h));
  h.sz = sizeof(h);
  h.ifindex = ifindex;
  h.attach_point = attach_point;
  return h;
}

static struct bpf_tc_opts tc_opts(int prog_fd)
{
  struct bpf_tc_opts o;

  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  o.prog_fd = prog_fd;
  o.handle = AFPACKET_TC_HANDLE;
  o.priority = AFPACKET_TC_PRIO;
  return o;
}

/* The program id of our clsact filter on ifindex, 0 if none. An interface
 * without a clsact qdisc is the usual case, and libbpf would print the
 * kernel's complaint about it: its printing is off for the call. (The
 * setting is process-wide; this is a slow path.) */
static uint32_t clsact_prog_id(int ifindex)
{
  struct bpf_tc_hook h = tc_hook(ifindex, BPF_TC_INGRESS);
  struct bpf_tc_opts o = tc_opts(0);
  libbpf_print_fn_t old = libbpf_set_print(NULL);
  int rc = bpf_tc_query(&h, &o);

  libbpf_set_print(old);
  return rc < 0 ? 0 : o.prog_id;
}

/* Find the maps of the VIs already on the interface, and their mode.
 * Returns 1 (found: maps open, b->mode set), 0 (no VI there), -EBUSY
 * (ours, of another version; or our clsact handle taken by a foreign
 * filter). *has_tcx tells whether the kernel has tcx. */
static int find_maps(struct afpacket_bpf* b, int* has_tcx)
{
  uint32_t ids[MAX_QUERY], cnt = MAX_QUERY, i, id;
  int rc, stale = 0;

  rc = tcx_query(b->ifindex, ids, &cnt);
  *has_tcx = rc != -EOPNOTSUPP;
  if (rc < 0 && rc != -EOPNOTSUPP)
    return rc;
  for (i = 0; i < cnt; i++) {
    rc = maps_of_prog(b, ids[i], TCX_PROG_NAME);
    if (rc == 1) {
      b->mode = AFPACKET_TC_TCX;
      return 1;
    }
    stale |= rc == -ESTALE;
  }
  id = clsact_prog_id(b->ifindex);
  if (id) {
    rc = maps_of_prog(b, id, CLSACT_PROG_NAME);
    if (rc == 1) {
      b->mode = AFPACKET_TC_CLSACT;
      return 1;
    }
    if (rc == 0) {
      al_err("ifindex %d: a foreign tc filter holds anyload's handle "
             "%#x, priority %u", b->ifindex, AFPACKET_TC_HANDLE,
             AFPACKET_TC_PRIO);
      return -EBUSY;
    }
    stale = 1;
  }
  if (stale) {
    al_err("ifindex %d: an anyload tc program of another version is in "
           "use", b->ifindex);
    return -EBUSY;
  }
  return 0;
}

/* The mode for the first VI of an interface: ANYLOAD_AFPACKET_TC=tcx,
 * clsact or auto (default: tcx where the kernel has it). */
static int choose_mode(int has_tcx, int* mode)
{
  const char* s = getenv("ANYLOAD_AFPACKET_TC");

  if (!s || !*s || !strcmp(s, "auto")) {
    *mode = has_tcx ? AFPACKET_TC_TCX : AFPACKET_TC_CLSACT;
    return 0;
  }
  if (!strcmp(s, "clsact")) {
    *mode = AFPACKET_TC_CLSACT;
    return 0;
  }
  if (!strcmp(s, "tcx")) {
    if (!has_tcx) {
      al_err("ANYLOAD_AFPACKET_TC=tcx: this kernel has no tcx (needs "
             "Linux 6.6)");
      return -EOPNOTSUPP;
    }
    *mode = AFPACKET_TC_TCX;
    return 0;
  }
  al_err("ANYLOAD_AFPACKET_TC=%s: not auto, tcx or clsact", s);
  return -EINVAL;
}

/* ---- programs --------------------------------------------------------- */

/* Load this VI's programs for slot; with reuse, on the maps in b, else on
 * new maps whose fds then go to b. */
static int load_programs(struct afpacket_bpf* b, int slot, int reuse)
{
  struct vi_bpf_map_ref refs[N_REFS];
  struct anyload_afpacket* skel;
  int rc, i, bind_fd;

  skel = anyload_afpacket__open();
  if (!skel)
    return errno ? -errno : -EINVAL;
  skel->rodata->al_my_slot = (uint32_t)slot;
  skel->rodata->al_heartbeats = b->mode == AFPACKET_TC_CLSACT;
  map_refs(b, refs);
  if (reuse)
    for (i = 0; i < N_REFS; i++) {
      struct bpf_map* m = bpf_object__find_map_by_name(skel->obj,
                                                       refs[i].name);
      rc = m ? bpf_map__reuse_fd(m, *refs[i].fd) : -ENOENT;
      if (rc < 0)
        goto fail;
    }
  rc = anyload_afpacket__load(skel);
  if (rc < 0)
    goto fail;
  /* Bind every map to the program that goes on the interface, so that
   * any VI's program leads others to all the maps, and keeps them. */
  bind_fd = bpf_program__fd(b->mode == AFPACKET_TC_TCX
                            ? skel->progs.anyload_tc
                            : skel->progs.anyload_tcs);
  if (reuse) {
    for (i = 0; i < N_REFS; i++)
      bpf_prog_bind_map(bind_fd, *refs[i].fd, NULL);
  } else {
    rc = vi_bpf_obj_maps(skel->obj, refs, N_REFS, bind_fd);
    if (rc < 0)
      goto fail;
  }
  b->skel = skel;
  return 0;

fail:
  anyload_afpacket__destroy(skel);
  return rc;
}

static int attach_tcx(struct afpacket_bpf* b)
{
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = AFPACKET_F_BEFORE);
  int fd;

  fd = bpf_link_create(bpf_program__fd(b->skel->progs.anyload_tc),
                       b->ifindex, AFPACKET_TCX_INGRESS, &opts);
  if (fd < 0) {
    al_err("AF_PACKET: cannot attach the tcx program to ifindex %d: %s",
           b->ifindex, strerror(-fd));
    return fd == -EINVAL ? -EOPNOTSUPP : fd;
  }
  b->tc_link_fd = fd;
  return 0;
}

/* The first VI in clsact mode puts the shared filter on the interface
 * (and a clsact qdisc, if it has none). */
static int attach_clsact(struct afpacket_bpf* b)
{
  struct bpf_tc_hook h = tc_hook(b->ifindex, BPF_TC_INGRESS);
  struct bpf_tc_opts o =
    tc_opts(bpf_program__fd(b->skel->progs.anyload_tcs));
  struct al_afp_state st = { 0 };
  uint32_t zero = 0;
  int rc;

  rc = bpf_tc_hook_create(&h);
  if (rc == 0)
    st.qdisc_ours = 1;
  else if (rc != -EEXIST)
    goto fail;
  rc = bpf_tc_attach(&h, &o);
  if (rc < 0) {
    if (st.qdisc_ours) {
      h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
      bpf_tc_hook_destroy(&h);
    }
    goto fail;
  }
  bpf_map_update_elem(b->state_fd, &zero, &st, 0);
  al_info("attached the anyload tc filter to ifindex %d (clsact%s)",
          b->ifindex, st.qdisc_ours ? ", qdisc made" : "");
  return 0;

fail:
  al_err("AF_PACKET: cannot attach the tc filter to ifindex %d: %s",
         b->ifindex, strerror(-rc));
  return rc;
}

/* Netlink (bpf_tc_*) and interface indexes work in the calling thread's
 * network namespace, which may not be the VI's any more (a thread that
 * made VIs in several namespaces with setns): enter_netns switches to the
 * VI's for the duration (*saved: where to go back, -1 if already there). */
static int enter_netns(const struct afpacket_bpf* b, int* saved)
{
  struct stat a, c;
  int rc;

  *saved = -1;
  if (b->netns_fd < 0 ||
      (fstat(b->netns_fd, &a) == 0 &&
       stat("/proc/thread-self/ns/net", &c) == 0 && a.st_ino == c.st_ino &&
       a.st_dev == c.st_dev))
    return 0;
  *saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*saved < 0)
    return -errno;
  if (setns(b->netns_fd, CLONE_NEWNET) < 0) {
    rc = -errno;
    close(*saved);
    *saved = -1;
    return rc;
  }
  return 0;
}

static void leave_netns(int saved)
{
  if (saved >= 0) {
    if (setns(saved, CLONE_NEWNET) < 0)
      al_err("AF_PACKET: cannot return to the thread's network namespace");
    close(saved);
  }
}

/* The last VI in clsact mode takes the filter (if still ours) and the
 * qdisc (if anyload made it) off the interface. */
static void detach_clsact(struct afpacket_bpf* b)
{
  struct bpf_tc_hook h = tc_hook(b->ifindex, BPF_TC_INGRESS);
  struct bpf_tc_opts o = tc_opts(0);
  struct al_afp_state st = { 0 };
  uint32_t zero = 0, id;
  int saved, rc;

  rc = enter_netns(b, &saved);
  if (rc < 0) {
    al_err("AF_PACKET: cannot enter the network namespace of ifindex %d "
           "to remove its tc filter: %s", b->ifindex, strerror(-rc));
    return;
  }
  id = clsact_prog_id(b->ifindex);
  if (id && prog_is_named(id, CLSACT_PROG_NAME)) {
    bpf_map_lookup_elem(b->state_fd, &zero, &st);
    bpf_tc_detach(&h, &o);
    if (st.qdisc_ours) {
      h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
      bpf_tc_hook_destroy(&h);
    }
    al_info("detached the anyload tc filter from ifindex %d%s", b->ifindex,
            st.qdisc_ours ? " (and its clsact qdisc)" : "");
  }
  leave_netns(saved);
}

/* ---- public ----------------------------------------------------------- */

int afpacket_bpf_open(int ifindex, int queue, struct afpacket_bpf** out)
{
  struct afpacket_bpf* b;
  int rc, slot = -1, has_tcx, found;

  b = calloc(1, sizeof(*b));
  if (!b)
    return -ENOMEM;
  b->ifindex = ifindex;
  b->slot = -1;
  b->tc_link_fd = -1;
  b->hb_fd = b->state_fd = -1;
  b->netns_fd = -1;
  vi_fmaps_init(&b->fm);
  rc = vi_fmaps_lock_open(&b->lock, "afp", ifindex);
  if (rc < 0) {
    free(b);
    return rc;
  }
  vi_fmaps_lock_take(&b->lock);

  found = rc = find_maps(b, &has_tcx);
  if (rc < 0)
    goto fail;
  if (!found) {
    rc = choose_mode(has_tcx, &b->mode);
    if (rc < 0)
      goto fail;
  }
  if (found) {
    vi_fmaps_reclaim_dead(&b->fm, NULL, NULL);
    rc = vi_fmaps_take_slot(&b->fm, queue, &slot);
    if (rc < 0)
      goto fail;
  } else {
    /* The first VI on the interface: new maps, so slot 0 is free. */
    slot = 0;
  }
  if (b->mode == AFPACKET_TC_CLSACT) {
    /* Alive before the filter can see the slot's first filter. */
    b->slot = slot;
    if (found)
      beat(b, mono_ns());
  }
  rc = load_programs(b, slot, found);
  if (rc < 0)
    goto fail_slot;
  if (!found) {
    int s = -1;
    rc = vi_fmaps_set_config(&b->fm, ifindex);
    if (rc == 0)
      rc = vi_fmaps_take_slot(&b->fm, queue, &s);
    if (rc == 0 && s != 0)
      rc = -EIO;
    if (rc < 0)
      goto fail;
    if (b->mode == AFPACKET_TC_CLSACT)
      beat(b, mono_ns());
  }
  b->slot = slot;
  if (b->mode == AFPACKET_TC_TCX)
    rc = attach_tcx(b);
  else if (!found)
    rc = attach_clsact(b);
  if (rc == 0 && b->mode == AFPACKET_TC_CLSACT) {
    /* For the last VI's clean-up, from wherever it is called. */
    b->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    rc = hb_add(b);
  }
  if (rc < 0)
    goto fail_slot;
  vi_fmaps_lock_drop(&b->lock);
  *out = b;
  return 0;

fail_slot:
  if (found)
    vi_fmaps_drop_slot(&b->fm, slot);
fail:
  if (rc == -EPERM)
    al_err("AF_PACKET: BPF programs need CAP_BPF and CAP_NET_ADMIN (or "
           "root)");
  else
    al_err("AF_PACKET: cannot set up the filter programs of ifindex %d: "
           "%s", ifindex, strerror(-rc));
  if (b->tc_link_fd >= 0)
    close(b->tc_link_fd);
  if (b->netns_fd >= 0)
    close(b->netns_fd);
  vi_fmaps_lock_drop(&b->lock);
  vi_fmaps_lock_close(&b->lock);
  if (b->skel)
    anyload_afpacket__destroy(b->skel);
  close_maps(b);
  free(b);
  return rc;
}

int afpacket_bpf_sock_prog(const struct afpacket_bpf* b)
{
  return bpf_program__fd(b->skel->progs.anyload_sock);
}

/* close_all: this process's descriptors of b, and b. Closing the link
 * detaches a tcx program only when it is the last fd of the link; the
 * maps go with the last program (or fd) that refers to them; the
 * skeleton has no links of its own to detach. */
static void close_all(struct afpacket_bpf* b)
{
  if (b->tc_link_fd >= 0)
    close(b->tc_link_fd);
  anyload_afpacket__destroy(b->skel);
  close_maps(b);
  if (b->netns_fd >= 0)
    close(b->netns_fd);
  vi_fmaps_lock_close(&b->lock);
  free(b);
}

void afpacket_bpf_close(struct afpacket_bpf* b)
{
  uint64_t zero_beat = 0;
  uint32_t s = (uint32_t)b->slot;

  if (b->mode == AFPACKET_TC_CLSACT)
    hb_remove(b);
  vi_fmaps_lock_take(&b->lock);
  vi_fmaps_drop_slot(&b->fm, b->slot);
  if (b->mode == AFPACKET_TC_CLSACT)
    bpf_map_update_elem(b->hb_fd, &s, &zero_beat, 0);
  if (vi_fmaps_reclaim_dead(&b->fm, NULL, NULL) == 0) {
    /* The last VI: leave nothing. */
    if (b->mode == AFPACKET_TC_CLSACT)
      detach_clsact(b);
    vi_fmaps_lock_unlink(&b->lock);
  }
  vi_fmaps_lock_drop(&b->lock);
  close_all(b);
}

void afpacket_bpf_forget(struct afpacket_bpf* b)
{
  hb_remove(b);   /* this process's copy of the list */
  /* A copy of the tcx link's fd: the link lives while the parent holds
   * its own. */
  close_all(b);
}

int afpacket_bpf_filter_add(struct afpacket_bpf* b, const ef_filter_spec* fs,
                            struct vi_fmaps_filter* f)
{
  /* A packet socket sees the frames of every queue: its programs read
   * the owner of queue 0 (bpf/anyload_afpacket.bpf.c). */
  return vi_fmaps_filter_add(&b->fm, &b->lock, b->slot, 0, fs, f);
}

int afpacket_bpf_filter_del(struct afpacket_bpf* b,
                            struct vi_fmaps_filter* f)
{
  return vi_fmaps_filter_del(&b->fm, &b->lock, b->slot, f);
}

int afpacket_bpf_stats(struct afpacket_bpf* b, uint64_t out[AL_STAT_MAX])
{
  return vi_fmaps_stats(&b->fm, out);
}
