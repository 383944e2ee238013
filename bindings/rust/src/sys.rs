// SPDX-License-Identifier: BSD-2-Clause
//
// sys.rs: the few libc items the crate needs, declared by hand (the crate
// has no dependencies). Linux only; the constants are the generic Linux
// values, the same on x86_64 and aarch64.

use core::ffi::{c_int, c_void};

pub const PROT_READ: c_int = 0x1;
pub const PROT_WRITE: c_int = 0x2;
pub const MAP_PRIVATE: c_int = 0x02;
pub const MAP_ANONYMOUS: c_int = 0x20;
pub const MAP_POPULATE: c_int = 0x8000;
pub const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

pub const EINVAL: i32 = 22;
pub const ETIMEDOUT: i32 = 110;

extern "C" {
    pub fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        offset: i64,
    ) -> *mut c_void;
    pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
    pub fn mlock(addr: *const c_void, len: usize) -> c_int;
}
