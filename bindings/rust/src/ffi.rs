// SPDX-License-Identifier: BSD-2-Clause
//
// ffi.rs: the raw C API, declared by hand: the ef_vi functions of
// <etherfabric/*.h> that the safe layer and its users need, and the
// anyload_ffi_* shim of <anyload/ffi.h> that stands in for the ef_vi calls
// that are C macros or inline functions.

//! Raw declarations of the C API (`etherfabric/*.h`, `anyload/ffi.h`).
//!
//! Everything here is `unsafe` to call and follows the C contract: 0 or a
//! count on success, a negative errno on failure. Names, argument order and
//! constants are those of the C headers.
//!
//! `ef_vi`, `ef_pd`, `ef_memreg` and `ef_vi_set` are opaque: allocate them
//! with the size and alignment that [`anyload_ffi_sizeof`] and
//! [`anyload_ffi_alignof`] report (the safe layer does). `ef_event` is an
//! opaque 16-byte block; decode it with [`anyload_ffi_event_decode`]. The
//! small plain structs (`ef_filter_spec`, `ef_filter_cookie`, `ef_iovec`)
//! are mirrored field by field; the crate's unit tests compare every size
//! and alignment with the C library's.
//!
//! The ef_vi fast-path macros map to shim functions as follows:
//!
//! | C (macro / inline)            | here                               |
//! |-------------------------------|------------------------------------|
//! | `ef_vi_receive_init`          | [`anyload_ffi_receive_init`]       |
//! | `ef_vi_receive_push`          | [`anyload_ffi_receive_push`]       |
//! | `ef_vi_transmit`              | [`anyload_ffi_transmit`]           |
//! | `ef_vi_transmitv`             | [`anyload_ffi_transmitv`]          |
//! | `ef_vi_transmitv_init`        | [`anyload_ffi_transmitv_init`]     |
//! | `ef_vi_transmit_push`         | [`anyload_ffi_transmit_push`]      |
//! | `ef_eventq_poll`              | [`anyload_ffi_eventq_poll`]        |
//! | `EF_EVENT_*` accessors        | [`anyload_ffi_event_decode`]       |
//! | `ef_vi_receive_prefix_len` …  | `anyload_ffi_receive_*`            |
//! | `ef_vi_transmit_capacity` …   | `anyload_ffi_transmit_*`           |
//! | `ef_memreg_dma_addr`          | [`anyload_ffi_memreg_dma_addr`]    |

#![allow(non_camel_case_types, missing_docs)]

use core::ffi::{c_char, c_int, c_long, c_uint, c_void};
use core::marker::{PhantomData, PhantomPinned};

pub type ef_driver_handle = c_int;
pub type ef_addr = u64;
pub type ef_request_id = c_int;

macro_rules! opaque {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])*
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque! {
    /// A virtual interface (`struct ef_vi`); size from `anyload_ffi_sizeof`.
    ef_vi;
    /// A protection domain (`struct ef_pd`).
    ef_pd;
    /// A memory registration (`struct ef_memreg`).
    ef_memreg;
    /// A set of VIs (`ef_vi_set`).
    ef_vi_set;
}

/// An event (`ef_event`): a union of bitfields, opaque here.
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ef_event {
    pub opaque: [u32; 4],
}

/// A filter specification (`ef_filter_spec`); build it with the
/// `ef_filter_spec_*` calls.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ef_filter_spec {
    pub type_: c_uint,
    pub flags: c_uint,
    pub data: [c_uint; 12],
}

/// Names an installed filter (`ef_filter_cookie`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ef_filter_cookie {
    pub filter_id: c_int,
    pub filter_type: c_int,
}

/// One entry of a gather list (`ef_iovec`); `iov_base` is a DMA address.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ef_iovec {
    pub iov_base: ef_addr,
    pub iov_len: c_uint,
}

/// `struct timeval` (Linux, 64-bit `long`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct timeval {
    pub tv_sec: c_long,
    pub tv_usec: c_long,
}

/// `struct timespec` (`ef_timespec`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct timespec {
    pub tv_sec: c_long,
    pub tv_nsec: c_long,
}

/// `struct anyload_ffi_event`: an `ef_event` as plain fields (see
/// `include/anyload/ffi.h` for which fields each type uses).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct anyload_ffi_event {
    pub type_: u32,
    pub q_id: u32,
    pub rq_id: u32,
    pub len: u32,
    pub flags: u32,
    pub subtype: u32,
    pub desc_id: u32,
    pub n_descs: u32,
    pub ts_sec: u32,
    pub ts_nsec: u32,
    pub data: u32,
}

// ---- constants ------------------------------------------------------------

pub const EF_VI_NIC_PAGE_SIZE: usize = 4096;
pub const EF_VI_EVENT_POLL_MIN_EVS: usize = 2;
pub const EF_VI_TRANSMIT_BATCH: usize = 64;
pub const EF_VI_RECEIVE_BATCH: usize = 15;

// Event types (EF_EVENT_TYPE_*).
pub const EF_EVENT_TYPE_RX: u32 = 0;
pub const EF_EVENT_TYPE_TX: u32 = 1;
pub const EF_EVENT_TYPE_RX_DISCARD: u32 = 2;
pub const EF_EVENT_TYPE_TX_ERROR: u32 = 3;
pub const EF_EVENT_TYPE_RX_NO_DESC_TRUNC: u32 = 4;
pub const EF_EVENT_TYPE_SW: u32 = 5;
pub const EF_EVENT_TYPE_OFLOW: u32 = 6;
pub const EF_EVENT_TYPE_TX_WITH_TIMESTAMP: u32 = 7;
pub const EF_EVENT_TYPE_RX_PACKED_STREAM: u32 = 8;
pub const EF_EVENT_TYPE_RX_MULTI: u32 = 9;
pub const EF_EVENT_TYPE_TX_ALT: u32 = 10;
pub const EF_EVENT_TYPE_RX_MULTI_DISCARD: u32 = 11;
pub const EF_EVENT_TYPE_RX_MULTI_PKTS: u32 = 12;
pub const EF_EVENT_TYPE_MEMCPY: u32 = 13;
pub const EF_EVENT_TYPE_RESET: u32 = 14;
pub const EF_EVENT_TYPE_RX_REF: u32 = 15;
pub const EF_EVENT_TYPE_RX_REF_DISCARD: u32 = 16;

// Event flags (EF_EVENT_FLAG_*).
pub const EF_EVENT_FLAG_SOP: u32 = 0x1;
pub const EF_EVENT_FLAG_CONT: u32 = 0x2;
pub const EF_EVENT_FLAG_ISCSI_OK: u32 = 0x4;
pub const EF_EVENT_FLAG_MULTICAST: u32 = 0x8;

// RX discard reasons (EF_EVENT_RX_DISCARD_*).
pub const EF_EVENT_RX_DISCARD_CSUM_BAD: u32 = 0;
pub const EF_EVENT_RX_DISCARD_MCAST_MISMATCH: u32 = 1;
pub const EF_EVENT_RX_DISCARD_CRC_BAD: u32 = 2;
pub const EF_EVENT_RX_DISCARD_TRUNC: u32 = 3;
pub const EF_EVENT_RX_DISCARD_RIGHTS: u32 = 4;
pub const EF_EVENT_RX_DISCARD_EV_ERROR: u32 = 5;
pub const EF_EVENT_RX_DISCARD_OTHER: u32 = 6;
pub const EF_EVENT_RX_DISCARD_INNER_CSUM_BAD: u32 = 7;

// TX error types (EF_EVENT_TX_ERROR_*).
pub const EF_EVENT_TX_ERROR_RIGHTS: u32 = 0;
pub const EF_EVENT_TX_ERROR_OFLOW: u32 = 1;
pub const EF_EVENT_TX_ERROR_2BIG: u32 = 2;
pub const EF_EVENT_TX_ERROR_BUS: u32 = 3;

// enum ef_pd_flags.
pub const EF_PD_DEFAULT: c_int = 0x0;
pub const EF_PD_VF: c_int = 0x1;
pub const EF_PD_PHYS_MODE: c_int = 0x2;
pub const EF_PD_RX_PACKED_STREAM: c_int = 0x4;
pub const EF_PD_VPORT: c_int = 0x8;
pub const EF_PD_MCAST_LOOP: c_int = 0x10;
pub const EF_PD_MEMREG_64KIB: c_int = 0x20;
pub const EF_PD_IGNORE_BLACKLIST: c_int = 0x40;
pub const EF_PD_EXPRESS: c_int = 0x80;
pub const EF_PD_LLCT: c_int = 0x100;

// enum ef_vi_flags (the ones anyload honours or programs commonly pass).
pub const EF_VI_FLAGS_DEFAULT: c_int = 0x0;
pub const EF_VI_TX_IP_CSUM_DIS: c_int = 0x80;
pub const EF_VI_TX_TCPUDP_CSUM_DIS: c_int = 0x100;
pub const EF_VI_TX_PUSH_DISABLE: c_int = 0x4000;
pub const EF_VI_TX_PUSH_ALWAYS: c_int = 0x8000;
pub const EF_VI_RX_TIMESTAMPS: c_int = 0x10000;
pub const EF_VI_TX_TIMESTAMPS: c_int = 0x20000;
pub const EF_VI_RX_EVENT_MERGE: c_int = 0x200000;
pub const EF_VI_RX_ZEROCOPY: c_int = 0x4000000;

// enum ef_filter_flags.
pub const EF_FILTER_FLAG_NONE: c_int = 0x0;
pub const EF_FILTER_FLAG_MCAST_LOOP_RECEIVE: c_int = 0x2;
pub const EF_FILTER_VLAN_ID_ANY: c_int = -1;

// enum ef_vi_rx_discard_err_flags.
pub const EF_VI_DISCARD_RX_L4_CSUM_ERR: c_uint = 0x1;
pub const EF_VI_DISCARD_RX_L3_CSUM_ERR: c_uint = 0x2;
pub const EF_VI_DISCARD_RX_ETH_FCS_ERR: c_uint = 0x4;
pub const EF_VI_DISCARD_RX_ETH_LEN_ERR: c_uint = 0x8;
pub const EF_VI_DISCARD_RX_TOBE_DISC: c_uint = 0x10;

// enum anyload_ffi_type.
pub const ANYLOAD_FFI_EF_VI: c_int = 0;
pub const ANYLOAD_FFI_EF_PD: c_int = 1;
pub const ANYLOAD_FFI_EF_MEMREG: c_int = 2;
pub const ANYLOAD_FFI_EF_EVENT: c_int = 3;
pub const ANYLOAD_FFI_EF_FILTER_SPEC: c_int = 4;
pub const ANYLOAD_FFI_EF_FILTER_COOKIE: c_int = 5;
pub const ANYLOAD_FFI_EF_IOVEC: c_int = 6;
pub const ANYLOAD_FFI_EF_VI_SET: c_int = 7;

extern "C" {
    // ---- etherfabric/base.h ------------------------------------------------
    pub fn ef_driver_open(dh_out: *mut ef_driver_handle) -> c_int;
    pub fn ef_driver_close(dh: ef_driver_handle) -> c_int;
    pub fn ef_eventq_wait(
        vi: *mut ef_vi,
        vi_dh: ef_driver_handle,
        current_ptr: c_uint,
        timeout: *const timeval,
    ) -> c_int;

    // ---- etherfabric/pd.h --------------------------------------------------
    pub fn ef_pd_alloc(
        pd: *mut ef_pd,
        pd_dh: ef_driver_handle,
        ifindex: c_int,
        flags: c_int,
    ) -> c_int;
    pub fn ef_pd_alloc_by_name(
        pd: *mut ef_pd,
        pd_dh: ef_driver_handle,
        cluster_or_intf_name: *const c_char,
        flags: c_int,
    ) -> c_int;
    pub fn ef_pd_interface_name(pd: *mut ef_pd) -> *const c_char;
    pub fn ef_pd_free(pd: *mut ef_pd, pd_dh: ef_driver_handle) -> c_int;

    // ---- etherfabric/memreg.h ----------------------------------------------
    pub fn ef_memreg_alloc(
        mr: *mut ef_memreg,
        mr_dh: ef_driver_handle,
        pd: *mut ef_pd,
        pd_dh: ef_driver_handle,
        p_mem: *mut c_void,
        len_bytes: usize,
    ) -> c_int;
    pub fn ef_memreg_free(mr: *mut ef_memreg, mr_dh: ef_driver_handle) -> c_int;

    // ---- etherfabric/vi.h --------------------------------------------------
    pub fn ef_vi_alloc_from_pd(
        vi: *mut ef_vi,
        vi_dh: ef_driver_handle,
        pd: *mut ef_pd,
        pd_dh: ef_driver_handle,
        evq_capacity: c_int,
        rxq_capacity: c_int,
        txq_capacity: c_int,
        evq_opt: *mut ef_vi,
        evq_dh: ef_driver_handle,
        flags: c_int,
    ) -> c_int;
    pub fn ef_vi_free(vi: *mut ef_vi, nic: ef_driver_handle) -> c_int;
    pub fn ef_vi_flush(vi: *mut ef_vi, nic: ef_driver_handle) -> c_int;
    pub fn ef_vi_mtu(vi: *mut ef_vi, vi_dh: ef_driver_handle) -> c_uint;
    pub fn ef_vi_get_mac(vi: *mut ef_vi, vi_dh: ef_driver_handle, mac_out: *mut c_void) -> c_int;
    pub fn ef_vi_prime(vi: *mut ef_vi, dh: ef_driver_handle, current_ptr: c_uint) -> c_int;

    pub fn ef_filter_spec_init(fs: *mut ef_filter_spec, flags: c_int);
    pub fn ef_filter_spec_set_ip4_local(
        fs: *mut ef_filter_spec,
        protocol: c_int,
        host_be32: c_uint,
        port_be16: c_int,
    ) -> c_int;
    pub fn ef_filter_spec_set_ip4_full(
        fs: *mut ef_filter_spec,
        protocol: c_int,
        host_be32: c_uint,
        port_be16: c_int,
        rhost_be32: c_uint,
        rport_be16: c_int,
    ) -> c_int;
    pub fn ef_filter_spec_set_vlan(fs: *mut ef_filter_spec, vlan_id: c_int) -> c_int;
    pub fn ef_filter_spec_set_eth_local(
        fs: *mut ef_filter_spec,
        vlan_id: c_int,
        mac: *const c_void,
    ) -> c_int;
    pub fn ef_filter_spec_set_unicast_all(fs: *mut ef_filter_spec) -> c_int;
    pub fn ef_filter_spec_set_multicast_all(fs: *mut ef_filter_spec) -> c_int;
    pub fn ef_filter_spec_set_unicast_mismatch(fs: *mut ef_filter_spec) -> c_int;
    pub fn ef_filter_spec_set_multicast_mismatch(fs: *mut ef_filter_spec) -> c_int;
    pub fn ef_filter_spec_set_eth_type(fs: *mut ef_filter_spec, ether_type_be16: u16) -> c_int;
    pub fn ef_filter_spec_set_ip_proto(fs: *mut ef_filter_spec, ip_proto: u8) -> c_int;
    pub fn ef_filter_spec_set_block_kernel(fs: *mut ef_filter_spec) -> c_int;
    pub fn ef_vi_filter_add(
        vi: *mut ef_vi,
        vi_dh: ef_driver_handle,
        fs: *const ef_filter_spec,
        cookie_out: *mut ef_filter_cookie,
    ) -> c_int;
    pub fn ef_vi_filter_del(
        vi: *mut ef_vi,
        vi_dh: ef_driver_handle,
        cookie: *mut ef_filter_cookie,
    ) -> c_int;

    // ---- etherfabric/ef_vi.h (real functions) ------------------------------
    pub fn ef_vi_version_str() -> *const c_char;
    pub fn ef_vi_driver_interface_str() -> *const c_char;
    pub fn ef_vi_receive_post(vi: *mut ef_vi, addr: ef_addr, dma_id: ef_request_id) -> c_int;
    pub fn ef_vi_receive_get_timestamp(
        vi: *mut ef_vi,
        pkt: *const c_void,
        ts_out: *mut timespec,
    ) -> c_int;
    pub fn ef_vi_receive_set_discards(vi: *mut ef_vi, discard_err_flags: c_uint) -> c_int;
    pub fn ef_vi_transmit_init(
        vi: *mut ef_vi,
        addr: ef_addr,
        bytes: c_int,
        dma_id: ef_request_id,
    ) -> c_int;
    pub fn ef_vi_transmit_unbundle(
        vi: *mut ef_vi,
        event: *const ef_event,
        ids: *mut ef_request_id,
    ) -> c_int;
    pub fn ef_eventq_has_event(vi: *const ef_vi) -> c_int;

    // ---- anyload/vi_ext.h --------------------------------------------------
    pub fn anyload_vi_backend(vi: *const ef_vi) -> *const c_char;
    pub fn anyload_vi_describe(vi: *const ef_vi, buf: *mut c_char, len: usize) -> c_int;

    // ---- anyload/ffi.h: the macros and inline functions --------------------
    pub fn anyload_ffi_receive_init(vi: *mut ef_vi, addr: ef_addr, id: ef_request_id) -> c_int;
    pub fn anyload_ffi_receive_push(vi: *mut ef_vi);
    pub fn anyload_ffi_receive_prefix_len(vi: *const ef_vi) -> c_int;
    pub fn anyload_ffi_receive_buffer_len(vi: *const ef_vi) -> c_int;
    pub fn anyload_ffi_receive_set_buffer_len(vi: *mut ef_vi, buf_len: c_uint);
    pub fn anyload_ffi_receive_capacity(vi: *const ef_vi) -> c_int;
    pub fn anyload_ffi_receive_fill_level(vi: *const ef_vi) -> c_int;
    pub fn anyload_ffi_receive_space(vi: *const ef_vi) -> c_int;

    pub fn anyload_ffi_transmit(
        vi: *mut ef_vi,
        addr: ef_addr,
        len: c_int,
        id: ef_request_id,
    ) -> c_int;
    pub fn anyload_ffi_transmitv(
        vi: *mut ef_vi,
        iov: *const ef_iovec,
        iov_len: c_int,
        id: ef_request_id,
    ) -> c_int;
    pub fn anyload_ffi_transmitv_init(
        vi: *mut ef_vi,
        iov: *const ef_iovec,
        iov_len: c_int,
        id: ef_request_id,
    ) -> c_int;
    pub fn anyload_ffi_transmit_push(vi: *mut ef_vi);
    pub fn anyload_ffi_transmit_capacity(vi: *const ef_vi) -> c_int;
    pub fn anyload_ffi_transmit_fill_level(vi: *const ef_vi) -> c_int;
    pub fn anyload_ffi_transmit_space(vi: *const ef_vi) -> c_int;

    pub fn anyload_ffi_eventq_poll(vi: *mut ef_vi, evs: *mut ef_event, evs_len: c_int) -> c_int;
    pub fn anyload_ffi_eventq_capacity(vi: *const ef_vi) -> c_int;
    pub fn anyload_ffi_eventq_current(vi: *mut ef_vi) -> c_uint;
    pub fn anyload_ffi_event_decode(ev: *const ef_event, out: *mut anyload_ffi_event) -> c_int;
    pub fn anyload_ffi_event_encode(inp: *const anyload_ffi_event, ev: *mut ef_event) -> c_int;

    pub fn anyload_ffi_memreg_dma_addr(mr: *mut ef_memreg, offset: usize) -> ef_addr;

    pub fn anyload_ffi_sizeof(type_: c_int) -> usize;
    pub fn anyload_ffi_alignof(type_: c_int) -> usize;
}
