// SPDX-License-Identifier: BSD-2-Clause
//
// lib.rs: the anyvi crate, a Rust binding of the ef_vi API as anyload
// implements it (AF_XDP on any Linux NIC). Two layers: `ffi`, the raw C
// API declared by hand, and the safe layer (this file and its modules):
// owned handles that free their C objects on drop, in the order the C
// library needs, enforced by lifetimes.

//! Safe Rust binding of the ef_vi API (Solarflare/OpenOnload `etherfabric`)
//! over anyload, which runs it on AF_XDP on any Linux NIC.
//!
//! The objects are those of ef_vi, each an owned value that releases its C
//! resource when dropped:
//!
//! | ef_vi (C)                     | anyvi                                  |
//! |-------------------------------|----------------------------------------|
//! | `ef_driver_handle`            | [`Driver`]                             |
//! | `ef_pd`                       | [`Pd`]`<'driver>`                      |
//! | `ef_memreg` + page-aligned memory | [`MemReg`]`<'pd>` (owns its memory) |
//! | `ef_vi`                       | [`Vi`]`<'pd>`                          |
//! | `ef_filter_spec`              | [`FilterSpec`]                         |
//! | `ef_filter_cookie`            | [`Filter`]`<'vi>` (removed on drop)    |
//! | `ef_event` + `EF_EVENT_*`     | [`Event`]                              |
//! | negative errno                | [`std::io::Error`]                     |
//!
//! Lifetimes encode the C library's rules: a [`Pd`] cannot outlive its
//! [`Driver`], a [`Vi`] or [`MemReg`] cannot outlive its [`Pd`] (the C
//! `ef_pd_free` fails with `EBUSY` while they exist), and a [`Filter`]
//! cannot outlive its [`Vi`]. Dropping in reverse order of creation is what
//! Rust does with local variables, so the natural code is also the correct
//! one.
//!
//! Packet memory: a [`MemReg`] owns page-aligned, locked memory divided
//! into equal buffers. The VI calls take the `MemReg` and a byte offset
//! (bounds-checked) instead of a raw DMA address. Receive buffers are filled
//! during [`Vi::poll`], which therefore borrows the `MemReg` mutably: a
//! slice of a packet buffer cannot be alive while the library writes into
//! it, and the compiler checks that.
//!
//! ```no_run
//! use anyvi::{Driver, Event, FilterSpec, MemReg, Pd, PdFlags, Vi, ViFlags};
//! use std::net::Ipv4Addr;
//!
//! fn main() -> std::io::Result<()> {
//!     let driver = Driver::open()?;
//!     let pd = Pd::alloc_by_name(&driver, "eth0", PdFlags::DEFAULT)?;
//!     let vi = Vi::alloc(&pd, ViFlags::DEFAULT)?;
//!     let mut mem = MemReg::alloc(&pd, 256, 2048)?;
//!     for i in 0..vi.receive_capacity().min(mem.n_bufs()) {
//!         vi.receive_init(&mem, mem.buf_offset(i), i as u32)?;
//!     }
//!     vi.receive_push();
//!     let _filter = vi.add_filter(&FilterSpec::udp_local(Ipv4Addr::new(198, 18, 0, 1), 9000)?)?;
//!     let mut evs = [Event::default(); 32];
//!     loop {
//!         let n = vi.poll(&mut mem, &mut evs)?;
//!         for ev in &evs[..n] {
//!             if let Event::Rx { id, len, .. } = *ev {
//!                 let off = mem.buf_offset(id as usize);
//!                 let frame = &mem.buf(id as usize)[vi.receive_prefix_len()..len];
//!                 println!("{} bytes", frame.len());
//!                 vi.receive_init(&mem, off, id)?;
//!             }
//!         }
//!         vi.receive_push();
//!     }
//! }
//! ```
//!
//! Misuse that the C API only reports at run time (or not at all) does not
//! compile. A VI cannot outlive its PD:
//!
//! ```compile_fail,E0597
//! use anyvi::{Driver, Pd, PdFlags, Vi, ViFlags};
//! let driver = Driver::open().unwrap();
//! let vi = {
//!     let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
//!     Vi::alloc(&pd, ViFlags::DEFAULT).unwrap()
//! };
//! drop(vi);
//! ```
//!
//! A packet slice cannot be held across a poll, which may write into it:
//!
//! ```compile_fail,E0502
//! use anyvi::{Driver, Event, MemReg, Pd, PdFlags, Vi, ViFlags};
//! let driver = Driver::open().unwrap();
//! let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
//! let vi = Vi::alloc(&pd, ViFlags::DEFAULT).unwrap();
//! let mut mem = MemReg::alloc(&pd, 16, 2048).unwrap();
//! let mut evs = [Event::default(); 8];
//! let pkt = mem.buf(0);
//! vi.poll(&mut mem, &mut evs).unwrap();
//! println!("{}", pkt[0]);
//! ```
//!
//! A filter cannot outlive its VI:
//!
//! ```compile_fail,E0597
//! use anyvi::{Driver, FilterSpec, Pd, PdFlags, Vi, ViFlags};
//! use std::net::Ipv4Addr;
//! let driver = Driver::open().unwrap();
//! let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
//! let spec = FilterSpec::udp_local(Ipv4Addr::LOCALHOST, 9).unwrap();
//! let filter = {
//!     let vi = Vi::alloc(&pd, ViFlags::DEFAULT).unwrap();
//!     vi.add_filter(&spec).unwrap()
//! };
//! drop(filter);
//! ```
//!
//! Threads: [`Driver`], [`Pd`] and [`MemReg`] are `Send + Sync`; a [`Vi`]
//! is `Send` but not `Sync` (one thread polls a VI, as in C). The crate
//! links the static library `libanyvi.a` of the build tree (see
//! `build.rs`: `ANYVI_LIB_DIR`).

#![warn(missing_docs)]

pub mod ffi;
pub mod udp;

mod event;
mod filter;
mod mem;
mod pd;
mod raw;
mod sys;
mod vi;

pub use event::{DiscardReason, Event, TxErrorKind, TxIds};
pub use filter::{Filter, FilterFlags, FilterSpec, IpProto};
pub use mem::MemReg;
pub use pd::{Driver, Pd, PdFlags};
pub use vi::{DiscardFlags, Vi, ViFlags};

use core::ffi::{c_int, CStr};
use std::io;

/// A request id: the token given with a posted buffer and returned in its
/// event (`ef_request_id`, all 32 bits kept).
pub type RequestId = u32;

/// A "DMA address" of the C API: an offset in the packet memory registered
/// with a PD (`ef_addr`).
pub type Addr = u64;

/// The largest number of events that one [`Vi::poll`] returns, whatever
/// the length of the slice.
pub const POLL_MAX: usize = 64;

/// The page size that registered memory is aligned to.
pub const PAGE_SIZE: usize = ffi::EF_VI_NIC_PAGE_SIZE;

/// `rc` as a result: a negative value is a negated errno and becomes the
/// [`io::Error`] of that errno; any other value is returned as it is.
///
/// ```
/// let e = anyvi::check(-19).unwrap_err();
/// assert_eq!(e.raw_os_error(), Some(19)); // ENODEV
/// assert_eq!(anyvi::check(3).unwrap(), 3);
/// ```
#[inline]
pub fn check(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::from_raw_os_error(-rc))
    } else {
        Ok(rc)
    }
}

/// An [`io::Error`] for a positive errno value.
pub(crate) fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

/// The C library's version string (`ef_vi_version_str()`, e.g.
/// "anyload-0.1.0").
pub fn version() -> &'static str {
    // SAFETY: the library returns a pointer to a static NUL-terminated
    // string.
    unsafe { static_str(ffi::ef_vi_version_str()) }.unwrap_or("")
}

/// The kernel interface in use (`ef_vi_driver_interface_str()`).
pub fn driver_interface() -> &'static str {
    // SAFETY: as for version().
    unsafe { static_str(ffi::ef_vi_driver_interface_str()) }.unwrap_or("")
}

/// A static C string as `&str`, None for NULL or invalid UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that lives for the
/// whole program.
pub(crate) unsafe fn static_str(p: *const core::ffi::c_char) -> Option<&'static str> {
    if p.is_null() {
        None
    } else {
        CStr::from_ptr(p).to_str().ok()
    }
}

/// Flag types: a transparent u32 with named constants and `|`.
macro_rules! flags_type {
    ($(#[$m:meta])* $name:ident { $($(#[$cm:meta])* $c:ident = $v:expr;)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub u32);
        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v as u32);)*
            /// The raw bits.
            pub fn bits(self) -> u32 { self.0 }
            /// True if every bit of `other` is set.
            pub fn contains(self, other: $name) -> bool { self.0 & other.0 == other.0 }
        }
        impl core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, o: $name) -> $name { $name(self.0 | o.0) }
        }
        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, o: $name) { self.0 |= o.0 }
        }
    };
}
pub(crate) use flags_type;

#[cfg(test)]
mod tests;
