// SPDX-License-Identifier: BSD-2-Clause
//
// raw.rs: heap storage for the opaque C objects (ef_vi, ef_pd, ef_memreg),
// sized and aligned as the C library says (anyload_ffi_sizeof/alignof), so
// that the crate never depends on their layouts. The storage never moves:
// the C library keeps pointers to some of these objects (an ef_memreg
// points at its ef_pd) for as long as they live.

use crate::ffi;
use core::ffi::c_int;
use core::ptr::NonNull;
use std::alloc::{self, Layout};

/// Zeroed, fixed heap storage for one C object of type `T`.
pub(crate) struct RawBox<T> {
    ptr: NonNull<T>,
    layout: Layout,
    leak: bool,
}

impl<T> RawBox<T> {
    /// Storage for the C type `kind` (an `ANYLOAD_FFI_*` constant).
    pub(crate) fn new(kind: c_int) -> RawBox<T> {
        // SAFETY: plain queries without side effects.
        let (size, align) = unsafe {
            (
                ffi::anyload_ffi_sizeof(kind),
                ffi::anyload_ffi_alignof(kind),
            )
        };
        assert!(size > 0, "anyvi: the C library does not know type {kind}");
        let layout = Layout::from_size_align(size, align.max(1))
            .expect("anyvi: bad layout from the C library");
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = match NonNull::new(p as *mut T) {
            Some(p) => p,
            None => alloc::handle_alloc_error(layout),
        };
        RawBox {
            ptr,
            layout,
            leak: false,
        }
    }

    /// The object's address, for the C calls.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// Never free the storage: for an object whose C free failed, which
    /// the C library may still point to.
    pub(crate) fn leak(&mut self) {
        self.leak = true;
    }
}

impl<T> Drop for RawBox<T> {
    fn drop(&mut self) {
        if self.leak {
            return;
        }
        // SAFETY: allocated in new() with this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr() as *mut u8, self.layout) }
    }
}
