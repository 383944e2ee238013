// SPDX-License-Identifier: BSD-2-Clause
//
// vi.rs: the virtual interface: RX ring, TX ring and event queue on one
// queue of the PD's interface. Methods take &self, like a socket's: a Vi
// is not Sync, so one thread at a time uses it, as the C API requires.
//
// Fast path, per frame: receive_init (+ receive_push once per batch) posts
// a buffer of a MemReg; poll(&mut mem, evs) moves the ring's news into
// `evs` (the library copies received frames into posted buffers during
// this call, hence the &mut borrow of their memory), unbundling TX
// completions into ids; transmit copies (anyload) or hands (NIC) a frame
// of a MemReg to the ring, checked to lie inside that memory.
//
// Memory safety of receive buffers rests on two rules enforced here:
// (1) all receive buffers posted on a Vi at any time come from one MemReg
// (`rx_mem`), and poll requires that MemReg mutably while buffers are
// posted, so no slice of a posted buffer can be alive while the library
// writes to it; (2) the Vi keeps an Arc of the mapping its buffers are
// posted in (`rx_keep`), so a MemReg dropped with buffers still posted
// leaves its memory mapped until nothing is posted there any more (a
// flush, or another MemReg taking over) or the Vi is gone.

use crate::event::{decode, Event};
use crate::filter::{Filter, FilterSpec};
use crate::mem::{MemReg, Region};
use crate::raw::RawBox;
use crate::{check, errno, ffi, flags_type, sys, Pd, RequestId, POLL_MAX};
use core::cell::{Cell, UnsafeCell};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

flags_type! {
    /// Flags of [`Vi::alloc`] (`enum ef_vi_flags`). anyload honours the
    /// timestamp flags, `RX_ZEROCOPY` (fail unless the kernel gives
    /// zero-copy AF_XDP) and the checksum flags; it accepts and ignores the
    /// other hardware flags.
    ViFlags {
        /// `EF_VI_FLAGS_DEFAULT`.
        DEFAULT = ffi::EF_VI_FLAGS_DEFAULT;
        /// `EF_VI_TX_IP_CSUM_DIS`.
        TX_IP_CSUM_DIS = ffi::EF_VI_TX_IP_CSUM_DIS;
        /// `EF_VI_TX_TCPUDP_CSUM_DIS`.
        TX_TCPUDP_CSUM_DIS = ffi::EF_VI_TX_TCPUDP_CSUM_DIS;
        /// `EF_VI_TX_PUSH_DISABLE`.
        TX_PUSH_DISABLE = ffi::EF_VI_TX_PUSH_DISABLE;
        /// `EF_VI_TX_PUSH_ALWAYS`.
        TX_PUSH_ALWAYS = ffi::EF_VI_TX_PUSH_ALWAYS;
        /// `EF_VI_RX_TIMESTAMPS`: a 16-byte receive prefix with the
        /// software receive time ([`Vi::receive_timestamp`]).
        RX_TIMESTAMPS = ffi::EF_VI_RX_TIMESTAMPS;
        /// `EF_VI_TX_TIMESTAMPS`: one `TxWithTimestamp` event per transmit.
        TX_TIMESTAMPS = ffi::EF_VI_TX_TIMESTAMPS;
        /// `EF_VI_RX_EVENT_MERGE`.
        RX_EVENT_MERGE = ffi::EF_VI_RX_EVENT_MERGE;
        /// `EF_VI_RX_ZEROCOPY`.
        RX_ZEROCOPY = ffi::EF_VI_RX_ZEROCOPY;
    }
}

flags_type! {
    /// Which receive errors become `RxDiscard` events
    /// ([`Vi::set_discards`], `EF_VI_DISCARD_RX_*`).
    DiscardFlags {
        /// TCP/UDP checksum errors.
        L4_CSUM_ERR = ffi::EF_VI_DISCARD_RX_L4_CSUM_ERR;
        /// IPv4 header checksum errors.
        L3_CSUM_ERR = ffi::EF_VI_DISCARD_RX_L3_CSUM_ERR;
        /// Ethernet FCS errors.
        ETH_FCS_ERR = ffi::EF_VI_DISCARD_RX_ETH_FCS_ERR;
        /// Bad Ethernet lengths.
        ETH_LEN_ERR = ffi::EF_VI_DISCARD_RX_ETH_LEN_ERR;
        /// Frames the NIC marked to be discarded.
        TOBE_DISC = ffi::EF_VI_DISCARD_RX_TOBE_DISC;
    }
}

/// A virtual interface (`ef_vi`) on queue 0 of its PD's interface. Freed
/// on drop (`ef_vi_free`: its filters go, and with the interface's last VI
/// the XDP program). See the [crate](crate) documentation for the flow.
pub struct Vi<'a> {
    raw: RawBox<ffi::ef_vi>,
    pd: &'a Pd<'a>,
    queue: u32,
    /// The mapping that the posted receive buffers are in, for the fast
    /// identity check (null before the first post)...
    rx_mem: Cell<*const Region>,
    /// ...and a reference that keeps it mapped (see the file comment).
    rx_keep: UnsafeCell<Option<Arc<Region>>>,
}

// SAFETY: the ef_vi and the Vi's bookkeeping may move to another thread
// with the Vi; the Pd it borrows is Sync. Vi is not Sync (Cell), so one
// thread at a time uses it.
unsafe impl Send for Vi<'_> {}

impl<'a> Vi<'a> {
    /// Allocate a VI with the default ring sizes (`ef_vi_alloc_from_pd`).
    /// Errors: `EPERM` (needs root, or CAP_NET_ADMIN + CAP_BPF +
    /// CAP_NET_RAW), `ENODEV`, `EBUSY` (the queue or interface is used by
    /// a foreign XDP program), `EAFNOSUPPORT` (kernel without AF_XDP),
    /// `EOPNOTSUPP` (a flag AF_XDP cannot honour), `EINVAL`, `ENOMEM`,
    /// `ENOSPC` (too many VIs on the interface).
    pub fn alloc(pd: &'a Pd<'a>, flags: ViFlags) -> io::Result<Vi<'a>> {
        Vi::alloc_sized(pd, None, None, flags)
    }

    /// As [`alloc`](Self::alloc), with receive and transmit ring
    /// capacities (None: the default, `EF_VI_RXQ_SIZE` / `EF_VI_TXQ_SIZE`
    /// from the environment, else 512; other values are rounded up to a
    /// power of two, at most 4096).
    pub fn alloc_sized(
        pd: &'a Pd<'a>,
        rxq_capacity: Option<u32>,
        txq_capacity: Option<u32>,
        flags: ViFlags,
    ) -> io::Result<Vi<'a>> {
        let cap = |c: Option<u32>| {
            c.map_or(Ok(-1), |c| {
                c_int::try_from(c).map_err(|_| errno(sys::EINVAL))
            })
        };
        let (rxq, txq) = (cap(rxq_capacity)?, cap(txq_capacity)?);
        let raw = RawBox::new(ffi::ANYLOAD_FFI_EF_VI);
        let dh = pd.driver().raw();
        // SAFETY: raw is storage for an ef_vi, the PD is allocated.
        let q = check(unsafe {
            ffi::ef_vi_alloc_from_pd(
                raw.as_ptr(),
                dh,
                pd.as_raw(),
                dh,
                -1,
                rxq,
                txq,
                core::ptr::null_mut(),
                -1,
                flags.0 as c_int,
            )
        })?;
        Ok(Vi {
            raw,
            pd,
            queue: q as u32,
            rx_mem: Cell::new(core::ptr::null()),
            rx_keep: UnsafeCell::new(None),
        })
    }

    /// The C object, for the raw [`ffi`] calls. It stays valid, at the
    /// same address, until the Vi is dropped.
    #[inline]
    pub fn as_raw(&self) -> *mut ffi::ef_vi {
        self.raw.as_ptr()
    }

    pub(crate) fn driver_raw(&self) -> ffi::ef_driver_handle {
        self.pd.driver().raw()
    }

    /// The PD of the VI.
    pub fn pd(&self) -> &'a Pd<'a> {
        self.pd
    }

    /// The interface queue the VI is on.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    // ---- receive ------------------------------------------------------------

    /// Queue the receive buffer at `offset` in `mem` with request id `id`
    /// (`ef_vi_receive_init`); it reaches the ring at the next
    /// [`receive_push`](Self::receive_push). The library writes up to
    /// [`receive_buffer_len`](Self::receive_buffer_len) bytes there (less
    /// if the memory ends first) during a later [`poll`](Self::poll).
    ///
    /// All buffers posted at one time must come from one MemReg (the one
    /// `poll` is given). Errors: `EAGAIN` (ring full), `EINVAL` (offset
    /// outside `mem`, `mem` registered with another PD, or buffers of
    /// another MemReg still posted).
    #[inline]
    pub fn receive_init(&self, mem: &MemReg<'_>, offset: usize, id: RequestId) -> io::Result<()> {
        let addr = mem.range_addr(offset, 1)?;
        let region = Arc::as_ptr(mem.region());
        if region != self.rx_mem.get() {
            self.switch_rx_mem(mem)?;
        }
        // SAFETY: the VI is allocated; addr lies inside memory registered
        // with the VI's PD (checked), which stays mapped while the VI may
        // write to it (rx_keep).
        check(unsafe {
            ffi::anyload_ffi_receive_init(self.as_raw(), addr, id as ffi::ef_request_id)
        })?;
        Ok(())
    }

    #[cold]
    fn switch_rx_mem(&self, mem: &MemReg<'_>) -> io::Result<()> {
        if mem.pd().as_raw() != self.pd.as_raw() {
            return Err(errno(sys::EINVAL));
        }
        if !self.rx_mem.get().is_null() && self.receive_fill_level() > 0 {
            return Err(errno(sys::EINVAL));
        }
        // Nothing is posted in the old mapping any more: the library will
        // not write there again, and it may be unmapped.
        let region = Arc::clone(mem.region());
        self.rx_mem.set(Arc::as_ptr(&region));
        // SAFETY: Vi is not Sync, and no reference into rx_keep escapes.
        unsafe { *self.rx_keep.get() = Some(region) };
        Ok(())
    }

    /// Hand the queued receive buffers to the ring (`ef_vi_receive_push`).
    #[inline]
    pub fn receive_push(&self) {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_receive_push(self.as_raw()) }
    }

    /// [`receive_init`](Self::receive_init) then
    /// [`receive_push`](Self::receive_push) (`ef_vi_receive_post`).
    #[inline]
    pub fn receive_post(&self, mem: &MemReg<'_>, offset: usize, id: RequestId) -> io::Result<()> {
        self.receive_init(mem, offset, id)?;
        self.receive_push();
        Ok(())
    }

    /// Bytes of metadata before a received frame in its first buffer
    /// (`ef_vi_receive_prefix_len`): 0, or 16 with `RX_TIMESTAMPS`.
    #[inline]
    pub fn receive_prefix_len(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_receive_prefix_len(self.as_raw()) as usize }
    }

    /// Length of a receive buffer, prefix included
    /// (`ef_vi_receive_buffer_len`).
    pub fn receive_buffer_len(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_receive_buffer_len(self.as_raw()) as usize }
    }

    /// Set it, for buffers posted from now on
    /// (`ef_vi_receive_set_buffer_len`).
    pub fn set_receive_buffer_len(&self, len: u32) {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_receive_set_buffer_len(self.as_raw(), len) }
    }

    /// Size of the receive ring (`ef_vi_receive_capacity`).
    pub fn receive_capacity(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_receive_capacity(self.as_raw()) as usize }
    }

    /// Buffers posted and not yet filled (`ef_vi_receive_fill_level`).
    #[inline]
    pub fn receive_fill_level(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_receive_fill_level(self.as_raw()) as usize }
    }

    /// Free slots of the receive ring (`ef_vi_receive_space`).
    #[inline]
    pub fn receive_space(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_receive_space(self.as_raw()) as usize }
    }

    /// Choose which errors make a frame an `RxDiscard` event
    /// (`ef_vi_receive_set_discards`); frames with other errors arrive as
    /// `Rx`.
    pub fn set_discards(&self, flags: DiscardFlags) -> io::Result<()> {
        // SAFETY: the VI is allocated.
        check(unsafe { ffi::ef_vi_receive_set_discards(self.as_raw(), flags.0) })?;
        Ok(())
    }

    /// The receive time of the frame whose first buffer is `buf` (the
    /// buffer from its start, prefix included), for VIs with
    /// `RX_TIMESTAMPS` (`ef_vi_receive_get_timestamp`). Errors: `ENODATA`
    /// (no timestamp: the VI has no prefix), `EINVAL` (buf shorter than the
    /// prefix).
    pub fn receive_timestamp(&self, buf: &[u8]) -> io::Result<SystemTime> {
        if buf.len() < self.receive_prefix_len() {
            return Err(errno(sys::EINVAL));
        }
        let mut ts = ffi::timespec::default();
        // SAFETY: the library reads the prefix (receive_prefix_len bytes,
        // checked to be inside buf) only.
        check(unsafe {
            ffi::ef_vi_receive_get_timestamp(self.as_raw(), buf.as_ptr().cast(), &mut ts)
        })?;
        Ok(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    // ---- transmit -----------------------------------------------------------

    /// Send `len` bytes at `offset` in `mem` (`ef_vi_transmit`); a `Tx`
    /// event with `id` reports completion, after which the buffer may be
    /// changed (anyload copies the frame during this call, but a program
    /// that keeps to the ef_vi rule runs on NIC-based ef_vi too). Errors:
    /// `EAGAIN` (ring full: poll for completions and retry), `EINVAL`
    /// (range outside `mem` or empty, `mem` of another PD).
    #[inline]
    pub fn transmit(
        &self,
        mem: &MemReg<'_>,
        offset: usize,
        len: usize,
        id: RequestId,
    ) -> io::Result<()> {
        let addr = self.tx_addr(mem, offset, len)?;
        // SAFETY: the VI is allocated; the frame lies in registered memory
        // that the library only reads, while &MemReg excludes writers.
        check(unsafe {
            ffi::anyload_ffi_transmit(self.as_raw(), addr, len as c_int, id as ffi::ef_request_id)
        })?;
        Ok(())
    }

    /// Queue a frame without handing it to the kernel yet
    /// (`ef_vi_transmit_init`); [`transmit_push`](Self::transmit_push)
    /// sends every queued frame. Errors as [`transmit`](Self::transmit).
    #[inline]
    pub fn transmit_init(
        &self,
        mem: &MemReg<'_>,
        offset: usize,
        len: usize,
        id: RequestId,
    ) -> io::Result<()> {
        let addr = self.tx_addr(mem, offset, len)?;
        // SAFETY: as in transmit().
        check(unsafe {
            ffi::ef_vi_transmit_init(self.as_raw(), addr, len as c_int, id as ffi::ef_request_id)
        })?;
        Ok(())
    }

    /// Send one frame gathered from `(offset, len)` pieces of `mem`
    /// (`ef_vi_transmitv`, at most 16 pieces). Errors as
    /// [`transmit`](Self::transmit).
    pub fn transmitv(
        &self,
        mem: &MemReg<'_>,
        iov: &[(usize, usize)],
        id: RequestId,
    ) -> io::Result<()> {
        let (v, n) = self.tx_iov(mem, iov)?;
        // SAFETY: as in transmit(); v holds n valid entries.
        check(unsafe {
            ffi::anyload_ffi_transmitv(self.as_raw(), v.as_ptr(), n, id as ffi::ef_request_id)
        })?;
        Ok(())
    }

    /// Queue a gathered frame without pushing it (`ef_vi_transmitv_init`).
    pub fn transmitv_init(
        &self,
        mem: &MemReg<'_>,
        iov: &[(usize, usize)],
        id: RequestId,
    ) -> io::Result<()> {
        let (v, n) = self.tx_iov(mem, iov)?;
        // SAFETY: as in transmitv().
        check(unsafe {
            ffi::anyload_ffi_transmitv_init(self.as_raw(), v.as_ptr(), n, id as ffi::ef_request_id)
        })?;
        Ok(())
    }

    /// Hand every queued frame to the kernel (`ef_vi_transmit_push`).
    #[inline]
    pub fn transmit_push(&self) {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_transmit_push(self.as_raw()) }
    }

    #[inline]
    fn tx_addr(&self, mem: &MemReg<'_>, offset: usize, len: usize) -> io::Result<ffi::ef_addr> {
        if mem.pd().as_raw() != self.pd.as_raw() || len > c_int::MAX as usize {
            return Err(errno(sys::EINVAL));
        }
        mem.range_addr(offset, len)
    }

    fn tx_iov(
        &self,
        mem: &MemReg<'_>,
        iov: &[(usize, usize)],
    ) -> io::Result<([ffi::ef_iovec; 16], c_int)> {
        let mut v = [ffi::ef_iovec::default(); 16];
        if iov.is_empty() || iov.len() > v.len() {
            return Err(errno(sys::EINVAL));
        }
        for (d, &(off, len)) in v.iter_mut().zip(iov) {
            d.iov_base = self.tx_addr(mem, off, len)?;
            d.iov_len = len as u32;
        }
        Ok((v, iov.len() as c_int))
    }

    /// Size of the transmit ring (`ef_vi_transmit_capacity`).
    pub fn transmit_capacity(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_transmit_capacity(self.as_raw()) as usize }
    }

    /// Transmits queued and not yet completed (`ef_vi_transmit_fill_level`).
    #[inline]
    pub fn transmit_fill_level(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_transmit_fill_level(self.as_raw()) as usize }
    }

    /// Free slots of the transmit ring (`ef_vi_transmit_space`).
    #[inline]
    pub fn transmit_space(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_transmit_space(self.as_raw()) as usize }
    }

    // ---- events -------------------------------------------------------------

    /// Poll the event queue (`ef_eventq_poll`): write what has happened
    /// into `evs` and return how many events were written (at most
    /// `evs.len()` and [`POLL_MAX`]); never blocks. Received frames are
    /// copied into their posted buffers in `mem` during this call, which
    /// is why it borrows `mem` mutably. TX completions come unbundled
    /// ([`Event::Tx`] carries the ids).
    ///
    /// Errors: `EINVAL` if `evs` has fewer than 2 entries, or receive
    /// buffers of another MemReg than `mem` are posted.
    #[inline]
    pub fn poll(&self, mem: &mut MemReg<'_>, evs: &mut [Event]) -> io::Result<usize> {
        let posted_in = self.rx_mem.get();
        if posted_in != Arc::as_ptr(mem.region())
            && !posted_in.is_null()
            && self.receive_fill_level() > 0
        {
            return Err(errno(sys::EINVAL));
        }
        // SAFETY: every posted receive buffer is in mem (rx_mem), which we
        // borrow mutably, so no slice of one is alive.
        unsafe { self.poll_unchecked(evs) }
    }

    /// [`poll`](Self::poll) without the memory argument, for programs that
    /// post receive buffers through the raw API.
    ///
    /// # Safety
    /// No Rust reference to the memory of any receive buffer posted on this
    /// VI may be alive during the call (the library writes received frames
    /// there).
    #[inline]
    pub unsafe fn poll_unchecked(&self, evs: &mut [Event]) -> io::Result<usize> {
        let want = evs.len().min(POLL_MAX);
        if want < ffi::EF_VI_EVENT_POLL_MIN_EVS {
            return Err(errno(sys::EINVAL));
        }
        let mut raw: [MaybeUninit<ffi::ef_event>; POLL_MAX] = [MaybeUninit::uninit(); POLL_MAX];
        let vi = self.as_raw();
        let n = ffi::anyload_ffi_eventq_poll(vi, raw.as_mut_ptr().cast(), want as c_int);
        let n = (n.max(0) as usize).min(want);
        for (slot, r) in evs.iter_mut().zip(&raw[..n]) {
            // SAFETY: the library wrote the first n entries.
            let r = r.assume_init_ref();
            let d = decode(r);
            // Events are written in place: a TX event's ids go straight
            // from the library into the slot.
            *slot = Event::from_decoded(&d);
            if let Event::Tx { ids } | Event::TxError { ids, .. } = slot {
                // Unbundle every TX event, in order, exactly once: it is
                // what frees the ring slots.
                let got = ffi::ef_vi_transmit_unbundle(vi, r, ids.buf_mut());
                ids.set_len(got.max(0) as usize);
            }
        }
        Ok(n)
    }

    /// True if [`poll`](Self::poll) would return an event now
    /// (`ef_eventq_has_event`).
    #[inline]
    pub fn has_event(&self) -> bool {
        // SAFETY: the VI is allocated.
        unsafe { ffi::ef_eventq_has_event(self.as_raw()) != 0 }
    }

    /// Sleep until an event is likely (`ef_eventq_wait`), at most
    /// `timeout` (None: no limit). Errors: `ETIMEDOUT` (kind `TimedOut`),
    /// `EINTR` (a signal).
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<()> {
        let tv;
        let tvp = match timeout {
            None => core::ptr::null(),
            Some(d) if d.is_zero() => {
                return if self.has_event() {
                    Ok(())
                } else {
                    Err(errno(sys::ETIMEDOUT))
                };
            }
            Some(d) => {
                // At least 1 us: a zero timeval means "no limit" in C.
                let us = d.as_micros().clamp(1, i64::MAX as u128);
                tv = ffi::timeval {
                    tv_sec: (us / 1_000_000) as _,
                    tv_usec: (us % 1_000_000) as _,
                };
                &tv as *const ffi::timeval
            }
        };
        // SAFETY: the VI is allocated; tvp is NULL or points to tv.
        check(unsafe {
            let cur = ffi::anyload_ffi_eventq_current(self.as_raw());
            ffi::ef_eventq_wait(self.as_raw(), self.driver_raw(), cur, tvp)
        })?;
        Ok(())
    }

    /// Arm the driver handle's wake-up for this VI (`ef_vi_prime`): call
    /// it before sleeping on the [`Driver`](crate::Driver) fd with
    /// poll/epoll. A VI that is busy-polled and finds events stops waking
    /// the handle; priming turns that back on, and a frame already waiting
    /// makes the handle readable at once. Not needed before
    /// [`wait`](Self::wait). Errors: `EINVAL` (not allocated).
    pub fn prime(&self) -> io::Result<()> {
        // SAFETY: the VI is allocated.
        check(unsafe {
            let cur = ffi::anyload_ffi_eventq_current(self.as_raw());
            ffi::ef_vi_prime(self.as_raw(), self.driver_raw(), cur)
        })?;
        Ok(())
    }

    /// Wait (at most 1 s) for every pushed transmit to complete, then drop
    /// the posted receive buffers (`ef_vi_flush`). Errors: `ETIMEDOUT`.
    pub fn flush(&self) -> io::Result<()> {
        // SAFETY: the VI is allocated.
        check(unsafe { ffi::ef_vi_flush(self.as_raw(), self.driver_raw()) })?;
        Ok(())
    }

    /// Event queue capacity (`ef_eventq_capacity`).
    pub fn eventq_capacity(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::anyload_ffi_eventq_capacity(self.as_raw()) as usize }
    }

    // ---- filters ------------------------------------------------------------

    /// Steer the traffic that `spec` matches to this VI
    /// (`ef_vi_filter_add`); it goes back to the kernel when the returned
    /// [`Filter`] is dropped. Errors: `EEXIST` (this VI has the same
    /// filter), `EBUSY` (another VI has it), `EINVAL` (empty spec),
    /// `EOPNOTSUPP` (a kind AF_XDP cannot implement), `ENOSPC`.
    pub fn add_filter(&self, spec: &FilterSpec) -> io::Result<Filter<'_>> {
        let mut cookie = ffi::ef_filter_cookie::default();
        // SAFETY: the VI is allocated; spec and cookie are valid.
        check(unsafe {
            ffi::ef_vi_filter_add(self.as_raw(), self.driver_raw(), spec.as_raw(), &mut cookie)
        })?;
        Ok(Filter::new(self, cookie))
    }

    // ---- the interface ------------------------------------------------------

    /// The largest frame, headers included, without FCS (`ef_vi_mtu`).
    pub fn mtu(&self) -> usize {
        // SAFETY: the VI is allocated.
        unsafe { ffi::ef_vi_mtu(self.as_raw(), self.driver_raw()) as usize }
    }

    /// The interface's MAC address (`ef_vi_get_mac`).
    pub fn mac(&self) -> io::Result<[u8; 6]> {
        let mut mac = [0u8; 6];
        // SAFETY: the VI is allocated; mac has room for 6 bytes.
        check(unsafe {
            ffi::ef_vi_get_mac(self.as_raw(), self.driver_raw(), mac.as_mut_ptr().cast())
        })?;
        Ok(mac)
    }

    /// The backend of the VI ("afxdp", ...) (`anyload_vi_backend`).
    pub fn backend(&self) -> &'static str {
        // SAFETY: the library returns a static name or NULL.
        unsafe { crate::static_str(ffi::anyload_vi_backend(self.as_raw())) }.unwrap_or("unknown")
    }

    /// One line on how the VI reaches the network, e.g. "afxdp, native XDP,
    /// copy mode, queue 0" (`anyload_vi_describe`).
    pub fn describe(&self) -> String {
        let mut buf = [0u8; 160];
        // SAFETY: buf is writable for its length; the result is NUL-
        // terminated.
        let rc =
            unsafe { ffi::anyload_vi_describe(self.as_raw(), buf.as_mut_ptr().cast(), buf.len()) };
        if rc < 0 {
            return "unknown".into();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }
}

impl std::fmt::Debug for Vi<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vi")
            .field("interface", &self.pd.interface_name())
            .field("queue", &self.queue)
            .field("backend", &self.backend())
            .finish()
    }
}

impl Drop for Vi<'_> {
    fn drop(&mut self) {
        // SAFETY: the VI is allocated and its filters are gone (they borrow
        // the Vi). After this, the library no longer writes to receive
        // buffers, so rx_keep may release the mapping.
        let rc = unsafe { ffi::ef_vi_free(self.as_raw(), self.driver_raw()) };
        if rc != 0 {
            // The library may still hold the VI: keep its storage and the
            // memory its receive buffers are in.
            self.raw.leak();
            std::mem::forget(self.rx_keep.get_mut().take());
        }
    }
}
