// SPDX-License-Identifier: BSD-2-Clause
//
// pd.rs: driver handles and protection domains, the first two objects of
// every ef_vi program. A Pd borrows its Driver; VIs and memory
// registrations borrow their Pd.

use crate::raw::RawBox;
use crate::{check, errno, ffi, flags_type, sys};
use core::ffi::CStr;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// A driver handle (`ef_driver_handle`): in anyload an epoll file
/// descriptor that becomes readable when a VI allocated with it has
/// received a frame, after that VI was primed ([`Vi::prime`](crate::Vi::prime)).
/// Closed on drop.
#[derive(Debug)]
pub struct Driver {
    dh: ffi::ef_driver_handle,
}

impl Driver {
    /// Open a driver handle (`ef_driver_open`). Errors: `EMFILE`, `ENOMEM`.
    pub fn open() -> io::Result<Driver> {
        let mut dh = -1;
        // SAFETY: dh is a valid out-pointer.
        check(unsafe { ffi::ef_driver_open(&mut dh) })?;
        Ok(Driver { dh })
    }

    /// The C handle, for the raw [`ffi`] calls.
    pub fn raw(&self) -> ffi::ef_driver_handle {
        self.dh
    }
}

impl AsRawFd for Driver {
    fn as_raw_fd(&self) -> RawFd {
        self.dh
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: the handle is ours; every Pd that used it is gone (they
        // borrow the Driver).
        unsafe { ffi::ef_driver_close(self.dh) };
    }
}

flags_type! {
    /// Flags of [`Pd::alloc`] (`enum ef_pd_flags`). anyload accepts the
    /// hardware-only ones and ignores them, except `RX_PACKED_STREAM` and
    /// `VPORT` (`EOPNOTSUPP`).
    PdFlags {
        /// `EF_PD_DEFAULT`.
        DEFAULT = ffi::EF_PD_DEFAULT;
        /// `EF_PD_VF`.
        VF = ffi::EF_PD_VF;
        /// `EF_PD_PHYS_MODE`.
        PHYS_MODE = ffi::EF_PD_PHYS_MODE;
        /// `EF_PD_RX_PACKED_STREAM` (not supported).
        RX_PACKED_STREAM = ffi::EF_PD_RX_PACKED_STREAM;
        /// `EF_PD_VPORT` (not supported).
        VPORT = ffi::EF_PD_VPORT;
        /// `EF_PD_MCAST_LOOP`.
        MCAST_LOOP = ffi::EF_PD_MCAST_LOOP;
        /// `EF_PD_MEMREG_64KiB`.
        MEMREG_64KIB = ffi::EF_PD_MEMREG_64KIB;
        /// `EF_PD_IGNORE_BLACKLIST`.
        IGNORE_BLACKLIST = ffi::EF_PD_IGNORE_BLACKLIST;
        /// `EF_PD_EXPRESS`.
        EXPRESS = ffi::EF_PD_EXPRESS;
        /// `EF_PD_LLCT`.
        LLCT = ffi::EF_PD_LLCT;
    }
}

/// A protection domain (`ef_pd`): one network interface of the calling
/// thread's network namespace, and the memory registered with it. Freed on
/// drop (`ef_pd_free`), which the borrow checker lets happen only after
/// every [`Vi`](crate::Vi) and [`MemReg`](crate::MemReg) of the PD is gone.
pub struct Pd<'d> {
    raw: RawBox<ffi::ef_pd>,
    driver: &'d Driver,
}

// SAFETY: the C library locks the PD's shared state (its region table and
// counts, the per-interface port and XDP program) in every call that takes
// a PD, and the ef_pd object itself is only written by alloc and free.
unsafe impl Send for Pd<'_> {}
unsafe impl Sync for Pd<'_> {}

impl<'d> Pd<'d> {
    /// Allocate a PD on the interface named `ifname` ("eth0")
    /// (`ef_pd_alloc_by_name`). Errors: `ENODEV` (no such interface in
    /// this namespace), `EINVAL` (empty name, or longer than 15 bytes, or
    /// a NUL byte in it), `EOPNOTSUPP` (an unsupported flag), `ENOMEM`.
    pub fn alloc_by_name(driver: &'d Driver, ifname: &str, flags: PdFlags) -> io::Result<Pd<'d>> {
        let name = CString::new(ifname).map_err(|_| errno(sys::EINVAL))?;
        let raw = RawBox::new(ffi::ANYLOAD_FFI_EF_PD);
        // SAFETY: raw is storage for an ef_pd; name is NUL-terminated.
        check(unsafe {
            ffi::ef_pd_alloc_by_name(raw.as_ptr(), driver.dh, name.as_ptr(), flags.0 as i32)
        })?;
        Ok(Pd { raw, driver })
    }

    /// Allocate a PD on the interface with index `ifindex`
    /// (`ef_pd_alloc`). Errors: `ENODEV`, `EINVAL` (index <= 0, bad
    /// flags), `EOPNOTSUPP`, `ENOMEM`.
    pub fn alloc(driver: &'d Driver, ifindex: i32, flags: PdFlags) -> io::Result<Pd<'d>> {
        let raw = RawBox::new(ffi::ANYLOAD_FFI_EF_PD);
        // SAFETY: raw is storage for an ef_pd.
        check(unsafe { ffi::ef_pd_alloc(raw.as_ptr(), driver.dh, ifindex, flags.0 as i32) })?;
        Ok(Pd { raw, driver })
    }

    /// The interface's name (`ef_pd_interface_name`).
    pub fn interface_name(&self) -> &str {
        // SAFETY: the PD is allocated; the name lives inside its private
        // state until ef_pd_free, which needs &mut self (drop).
        let p = unsafe { ffi::ef_pd_interface_name(self.raw.as_ptr()) };
        if p.is_null() {
            return "";
        }
        // SAFETY: a NUL-terminated name that lives as long as the PD.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
    }

    /// The driver handle the PD was allocated with.
    pub fn driver(&self) -> &'d Driver {
        self.driver
    }

    /// The C object, for the raw [`ffi`] calls. It stays valid, and at the
    /// same address, until the Pd is dropped.
    pub fn as_raw(&self) -> *mut ffi::ef_pd {
        self.raw.as_ptr()
    }
}

impl std::fmt::Debug for Pd<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pd")
            .field("interface", &self.interface_name())
            .finish()
    }
}

impl Drop for Pd<'_> {
    fn drop(&mut self) {
        // SAFETY: the PD is allocated. Every VI and registration of it has
        // been dropped (they borrow the Pd), so this fails (EBUSY) only if
        // one was leaked with mem::forget: then the PD stays allocated.
        let rc = unsafe { ffi::ef_pd_free(self.raw.as_ptr(), self.driver.dh) };
        if rc != 0 {
            self.raw.leak();
        }
    }
}
