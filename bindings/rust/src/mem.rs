// SPDX-License-Identifier: BSD-2-Clause
//
// mem.rs: registered packet memory. A MemReg owns a page-aligned, locked
// anonymous mapping (the Region), divided into n_bufs buffers of buf_size
// bytes, and its registration with one PD. Slices of the memory are
// borrowed from the MemReg; the VI calls take the MemReg plus a byte
// offset, so the crate knows which memory the C library reads (transmit,
// during the call) and writes (posted receive buffers, during poll).
//
// The Region is reference-counted: a Vi keeps the Regions that its posted
// receive buffers point into, because the C library stores those buffers'
// addresses and writes to them during later polls. The mapping therefore
// outlives both the registration and the MemReg if a Vi still needs it.

use crate::raw::RawBox;
use crate::{check, errno, ffi, sys, Addr, Pd, PAGE_SIZE};
use core::ffi::c_void;
use core::ptr::NonNull;
use std::io;
use std::sync::Arc;

/// An anonymous, page-aligned, locked mapping; unmapped on drop.
pub(crate) struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the Region is raw memory. Rust code reaches it only through a
// MemReg (shared slices from &MemReg, mutable ones from &mut MemReg), and
// the C library writes to it only inside Vi::poll, which holds the
// MemReg's &mut borrow. Holders of an Arc<Region> other than the MemReg (a
// Vi) never read or write it.
unsafe impl Send for Region {}
unsafe impl Sync for Region {}

impl Region {
    fn new(len: usize) -> io::Result<Region> {
        // SAFETY: a fresh private anonymous mapping, no fixed address.
        let p = unsafe {
            sys::mmap(
                core::ptr::null_mut(),
                len,
                sys::PROT_READ | sys::PROT_WRITE,
                sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_POPULATE,
                -1,
                0,
            )
        };
        if p == sys::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // Keep packet memory resident: a page fault on the fast path costs
        // microseconds. Failure (RLIMIT_MEMLOCK) only costs latency, as in
        // the C library, which tries the same.
        // SAFETY: the mapping just made.
        unsafe { sys::mlock(p, len) };
        Ok(Region {
            ptr: NonNull::new(p as *mut u8).expect("mmap returned NULL"),
            len,
        })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: our mapping, no longer referenced by anyone.
        unsafe { sys::munmap(self.ptr.as_ptr() as *mut c_void, self.len) };
    }
}

/// Registered packet memory (`ef_memreg`) that owns its memory: `n_bufs`
/// buffers of `buf_size` bytes in one page-aligned, locked mapping,
/// registered with a PD. Unregistered on drop, and unmapped once no VI has
/// receive buffers posted in it.
///
/// Buffer `i` starts at byte offset [`buf_offset(i)`](MemReg::buf_offset);
/// the VI calls take such offsets (any offset inside the memory works).
pub struct MemReg<'a> {
    raw: RawBox<ffi::ef_memreg>,
    region: Arc<Region>,
    dma_base: Addr,
    buf_size: usize,
    n_bufs: usize,
    pd: &'a Pd<'a>,
}

// SAFETY: the ef_memreg object is written only by alloc and free; the
// memory follows Rust's borrow rules (see Region).
unsafe impl Send for MemReg<'_> {}
unsafe impl Sync for MemReg<'_> {}

impl<'a> MemReg<'a> {
    /// Map `n_bufs * buf_size` bytes (rounded up to whole pages), lock
    /// them, and register them with `pd` (`ef_memreg_alloc`). Errors:
    /// `EINVAL` (zero buffers or size, or a size that overflows), `ENOMEM`
    /// (mmap), `ENOSPC` (too many registrations on the PD).
    pub fn alloc(pd: &'a Pd<'a>, n_bufs: usize, buf_size: usize) -> io::Result<MemReg<'a>> {
        let len = n_bufs
            .checked_mul(buf_size)
            .and_then(|l| l.checked_add(PAGE_SIZE - 1))
            .map(|l| l & !(PAGE_SIZE - 1))
            .filter(|&l| l > 0 && n_bufs > 0)
            .ok_or_else(|| errno(sys::EINVAL))?;
        let region = Arc::new(Region::new(len)?);
        let raw = RawBox::new(ffi::ANYLOAD_FFI_EF_MEMREG);
        let dh = pd.driver().raw();
        // SAFETY: raw is storage for an ef_memreg; the PD is allocated and
        // stays at its address; the memory is page-aligned, len bytes long,
        // and outlives the registration (we hold the Region).
        check(unsafe {
            ffi::ef_memreg_alloc(
                raw.as_ptr(),
                dh,
                pd.as_raw(),
                dh,
                region.ptr.as_ptr() as *mut c_void,
                len,
            )
        })?;
        // SAFETY: the registration just made.
        let dma_base = unsafe { ffi::anyload_ffi_memreg_dma_addr(raw.as_ptr(), 0) };
        Ok(MemReg {
            raw,
            region,
            dma_base,
            buf_size,
            n_bufs,
            pd,
        })
    }

    /// Bytes of memory (a whole number of pages).
    #[inline]
    pub fn len(&self) -> usize {
        self.region.len
    }

    /// Always false: a MemReg holds at least one page.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of buffers.
    #[inline]
    pub fn n_bufs(&self) -> usize {
        self.n_bufs
    }

    /// Size of one buffer.
    #[inline]
    pub fn buf_size(&self) -> usize {
        self.buf_size
    }

    /// Byte offset of buffer `i`. Panics if `i >= n_bufs()`.
    #[inline]
    pub fn buf_offset(&self, i: usize) -> usize {
        assert!(
            i < self.n_bufs,
            "anyvi: buffer {i} out of range (n_bufs {})",
            self.n_bufs
        );
        i * self.buf_size
    }

    /// Buffer `i`. Panics if `i >= n_bufs()`; see [`get_buf`](Self::get_buf).
    #[inline]
    pub fn buf(&self, i: usize) -> &[u8] {
        let off = self.buf_offset(i);
        &self.as_slice()[off..off + self.buf_size]
    }

    /// Buffer `i`, writable. Panics if `i >= n_bufs()`.
    #[inline]
    pub fn buf_mut(&mut self, i: usize) -> &mut [u8] {
        let off = self.buf_offset(i);
        let size = self.buf_size;
        &mut self.as_mut_slice()[off..off + size]
    }

    /// Buffer `i`, or None if there is no such buffer (an id from an event
    /// that is not one of ours).
    #[inline]
    pub fn get_buf(&self, i: usize) -> Option<&[u8]> {
        (i < self.n_bufs).then(|| self.buf(i))
    }

    /// Buffer `i`, writable, or None.
    #[inline]
    pub fn get_buf_mut(&mut self, i: usize) -> Option<&mut [u8]> {
        if i < self.n_bufs {
            Some(self.buf_mut(i))
        } else {
            None
        }
    }

    /// `len` bytes at `offset`, or None if they are not all inside the
    /// memory.
    #[inline]
    pub fn bytes(&self, offset: usize, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        self.as_slice().get(offset..end)
    }

    /// `len` writable bytes at `offset`, or None.
    #[inline]
    pub fn bytes_mut(&mut self, offset: usize, len: usize) -> Option<&mut [u8]> {
        let end = offset.checked_add(len)?;
        self.as_mut_slice().get_mut(offset..end)
    }

    /// The whole memory.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping is len bytes, readable, initialised (zero
        // pages at first), and nothing writes it while &self is borrowed:
        // Rust writes need &mut self, the C library writes only inside
        // Vi::poll, which takes &mut MemReg.
        unsafe { core::slice::from_raw_parts(self.region.ptr.as_ptr(), self.region.len) }
    }

    /// The whole memory, writable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self excludes every other access.
        unsafe { core::slice::from_raw_parts_mut(self.region.ptr.as_ptr(), self.region.len) }
    }

    /// DMA address of the byte at `offset` (`ef_memreg_dma_addr`), or None
    /// if `offset` is outside the memory.
    #[inline]
    pub fn dma_addr(&self, offset: usize) -> Option<Addr> {
        (offset < self.region.len).then(|| self.dma_base + offset as Addr)
    }

    /// The PD the memory is registered with.
    #[inline]
    pub fn pd(&self) -> &'a Pd<'a> {
        self.pd
    }

    /// The C object, for the raw [`ffi`] calls.
    pub fn as_raw(&self) -> *mut ffi::ef_memreg {
        self.raw.as_ptr()
    }

    /// The mapping, for the VI's bookkeeping.
    #[inline]
    pub(crate) fn region(&self) -> &Arc<Region> {
        &self.region
    }

    /// `[offset, offset + len)` as a DMA address, if it lies inside the
    /// memory and len > 0.
    #[inline]
    pub(crate) fn range_addr(&self, offset: usize, len: usize) -> io::Result<Addr> {
        match offset.checked_add(len) {
            Some(end) if len > 0 && end <= self.region.len => Ok(self.dma_base + offset as Addr),
            _ => Err(errno(sys::EINVAL)),
        }
    }
}

impl std::fmt::Debug for MemReg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemReg")
            .field("len", &self.region.len)
            .field("n_bufs", &self.n_bufs)
            .field("buf_size", &self.buf_size)
            .field("dma_base", &format_args!("{:#x}", self.dma_base))
            .finish()
    }
}

impl Drop for MemReg<'_> {
    fn drop(&mut self) {
        // SAFETY: our registration. Buffers of it that are still posted on
        // a VI keep the mapping alive through the VI's Arc<Region>.
        let rc = unsafe { ffi::ef_memreg_free(self.raw.as_ptr(), self.pd.driver().raw()) };
        debug_assert_eq!(rc, 0);
    }
}
