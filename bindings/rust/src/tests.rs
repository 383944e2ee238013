// SPDX-License-Identifier: BSD-2-Clause
//
// tests.rs: unit tests that need no privilege: layouts against the C
// library, errno mapping, the event codec through the C shim with
// synthetic events, filter specs, PDs on "lo" and on a missing interface,
// registered memory and its bounds, and the UDP frame helpers. Nothing
// here allocates a VI (that needs root and a test network: see
// tests/veth.rs).

use crate::ffi::{self, anyload_ffi_event};
use crate::*;
use core::mem::{align_of, size_of};
use std::io::ErrorKind;
use std::net::Ipv4Addr;

const ENODEV: i32 = 19;
const EAGAIN: i32 = 11;
const EINVAL: i32 = 22;
const EPROTONOSUPPORT: i32 = 93;

fn c_layout(t: i32) -> (usize, usize) {
    // SAFETY: plain queries.
    unsafe { (ffi::anyload_ffi_sizeof(t), ffi::anyload_ffi_alignof(t)) }
}

#[test]
fn test_ffi_mirrored_layouts_match_c() {
    assert_eq!(
        c_layout(ffi::ANYLOAD_FFI_EF_EVENT),
        (size_of::<ffi::ef_event>(), align_of::<ffi::ef_event>())
    );
    assert_eq!(
        c_layout(ffi::ANYLOAD_FFI_EF_FILTER_SPEC),
        (
            size_of::<ffi::ef_filter_spec>(),
            align_of::<ffi::ef_filter_spec>()
        )
    );
    assert_eq!(
        c_layout(ffi::ANYLOAD_FFI_EF_FILTER_COOKIE),
        (
            size_of::<ffi::ef_filter_cookie>(),
            align_of::<ffi::ef_filter_cookie>()
        )
    );
    assert_eq!(
        c_layout(ffi::ANYLOAD_FFI_EF_IOVEC),
        (size_of::<ffi::ef_iovec>(), align_of::<ffi::ef_iovec>())
    );
}

#[test]
fn test_ffi_opaque_layouts_known() {
    for t in [
        ffi::ANYLOAD_FFI_EF_VI,
        ffi::ANYLOAD_FFI_EF_PD,
        ffi::ANYLOAD_FFI_EF_MEMREG,
        ffi::ANYLOAD_FFI_EF_VI_SET,
    ] {
        let (size, align) = c_layout(t);
        assert!(
            size > 0 && align.is_power_of_two(),
            "type {t}: size {size} align {align}"
        );
    }
    assert_eq!(c_layout(99), (0, 0));
}

#[test]
fn test_error_from_negative_errno() {
    let e = check(-ENODEV).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(ENODEV));
    assert_eq!(check(-EAGAIN).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(check(-EINVAL).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(check(0).unwrap(), 0);
    assert_eq!(check(5).unwrap(), 5);
}

#[test]
fn test_version_strings() {
    assert!(version().starts_with("anyload-"), "version {:?}", version());
    assert!(!driver_interface().is_empty());
}

/// Encode fields into a real ef_event with the C shim, then decode it the
/// way Vi::poll does.
fn roundtrip(d: anyload_ffi_event) -> (ffi::ef_event, Event) {
    let mut raw = ffi::ef_event::default();
    // SAFETY: valid pointers.
    assert_eq!(unsafe { ffi::anyload_ffi_event_encode(&d, &mut raw) }, 0);
    (raw, Event::from_raw(&raw))
}

#[test]
fn test_event_rx_decodes() {
    let d = anyload_ffi_event {
        type_: ffi::EF_EVENT_TYPE_RX,
        q_id: 3,
        rq_id: 0xdead_beef,
        len: 1514,
        flags: ffi::EF_EVENT_FLAG_SOP | ffi::EF_EVENT_FLAG_CONT,
        ..Default::default()
    };
    let (raw, ev) = roundtrip(d);
    assert_eq!(
        ev,
        Event::Rx {
            id: 0xdead_beef,
            len: 1514,
            sop: true,
            cont: true
        }
    );
    // The C decoder returns exactly what was encoded.
    assert_eq!(crate::event::decode(&raw), d);
    let (_, ev) = roundtrip(anyload_ffi_event {
        flags: ffi::EF_EVENT_FLAG_SOP,
        ..d
    });
    assert_eq!(
        ev,
        Event::Rx {
            id: 0xdead_beef,
            len: 1514,
            sop: true,
            cont: false
        }
    );
}

#[test]
fn test_event_rx_discard_decodes() {
    let reasons = [
        (ffi::EF_EVENT_RX_DISCARD_CSUM_BAD, DiscardReason::CsumBad),
        (
            ffi::EF_EVENT_RX_DISCARD_MCAST_MISMATCH,
            DiscardReason::McastMismatch,
        ),
        (ffi::EF_EVENT_RX_DISCARD_CRC_BAD, DiscardReason::CrcBad),
        (ffi::EF_EVENT_RX_DISCARD_TRUNC, DiscardReason::Trunc),
        (ffi::EF_EVENT_RX_DISCARD_RIGHTS, DiscardReason::Rights),
        (ffi::EF_EVENT_RX_DISCARD_EV_ERROR, DiscardReason::EvError),
        (ffi::EF_EVENT_RX_DISCARD_OTHER, DiscardReason::Other),
        (
            ffi::EF_EVENT_RX_DISCARD_INNER_CSUM_BAD,
            DiscardReason::InnerCsumBad,
        ),
        (42, DiscardReason::Unknown(42)),
    ];
    for (sub, reason) in reasons {
        let d = anyload_ffi_event {
            type_: ffi::EF_EVENT_TYPE_RX_DISCARD,
            rq_id: 7,
            len: 60,
            flags: ffi::EF_EVENT_FLAG_SOP,
            subtype: sub,
            ..Default::default()
        };
        let (raw, ev) = roundtrip(d);
        assert_eq!(
            ev,
            Event::RxDiscard {
                id: 7,
                len: 60,
                reason,
                cont: false
            }
        );
        assert_eq!(crate::event::decode(&raw), d);
    }
}

#[test]
fn test_event_tx_kinds_decode() {
    let d = anyload_ffi_event {
        type_: ffi::EF_EVENT_TYPE_TX,
        q_id: 1,
        desc_id: 0x1234,
        ..Default::default()
    };
    let (raw, ev) = roundtrip(d);
    // Without a VI there is nothing to unbundle: no ids.
    assert_eq!(ev, Event::Tx { ids: TxIds::EMPTY });
    assert_eq!(crate::event::decode(&raw).desc_id, 0x1234);

    let d = anyload_ffi_event {
        type_: ffi::EF_EVENT_TYPE_TX_ERROR,
        desc_id: 9,
        subtype: ffi::EF_EVENT_TX_ERROR_2BIG,
        ..Default::default()
    };
    let (raw, ev) = roundtrip(d);
    assert_eq!(
        ev,
        Event::TxError {
            ids: TxIds::EMPTY,
            kind: TxErrorKind::TooBig
        }
    );
    assert_eq!(crate::event::decode(&raw), d);

    let d = anyload_ffi_event {
        type_: ffi::EF_EVENT_TYPE_TX_WITH_TIMESTAMP,
        rq_id: 77,
        ts_sec: 1_700_000_000,
        ts_nsec: 123_456_789,
        ..Default::default()
    };
    let (raw, ev) = roundtrip(d);
    assert_eq!(
        ev,
        Event::TxWithTimestamp {
            id: 77,
            sec: 1_700_000_000,
            nsec: 123_456_789
        }
    );
    assert_eq!(crate::event::decode(&raw), d);
}

#[test]
fn test_event_other_types_decode() {
    let simple = [
        (ffi::EF_EVENT_TYPE_RX_NO_DESC_TRUNC, Event::RxNoDescTrunc),
        (ffi::EF_EVENT_TYPE_OFLOW, Event::Overflow),
        (ffi::EF_EVENT_TYPE_RESET, Event::Reset),
        (
            ffi::EF_EVENT_TYPE_RX_MULTI,
            Event::Other {
                ty: ffi::EF_EVENT_TYPE_RX_MULTI,
            },
        ),
        (0x7fff, Event::Other { ty: 0x7fff }),
    ];
    for (ty, want) in simple {
        let (_, ev) = roundtrip(anyload_ffi_event {
            type_: ty,
            ..Default::default()
        });
        assert_eq!(ev, want);
    }
    let (_, ev) = roundtrip(anyload_ffi_event {
        type_: ffi::EF_EVENT_TYPE_SW,
        data: 0xabcd,
        ..Default::default()
    });
    assert_eq!(ev, Event::Sw { data: 0xabcd });
}

#[test]
fn test_event_bitfield_widths_truncate() {
    // len and q_id are 16- and 8-bit fields in ef_event.
    let d = anyload_ffi_event {
        type_: ffi::EF_EVENT_TYPE_RX,
        q_id: 0x1ff,
        len: 0x1_0005,
        ..Default::default()
    };
    let (raw, _) = roundtrip(d);
    let back = crate::event::decode(&raw);
    assert_eq!((back.q_id, back.len), (0xff, 5));
}

#[test]
fn test_event_codec_rejects_null() {
    let mut d = anyload_ffi_event::default();
    // SAFETY: the shim checks for NULL.
    assert_eq!(
        unsafe { ffi::anyload_ffi_event_decode(core::ptr::null(), &mut d) },
        -EINVAL
    );
    assert_eq!(
        unsafe { ffi::anyload_ffi_event_encode(&d, core::ptr::null_mut()) },
        -EINVAL
    );
}

#[test]
fn test_tx_ids_slice() {
    let ids = TxIds::from_slice(&[5, 6, 7]);
    assert_eq!(&*ids, &[5, 6, 7]);
    assert_eq!(format!("{ids:?}"), "[5, 6, 7]");
    let many: Vec<u32> = (0..100).collect();
    assert_eq!(TxIds::from_slice(&many).len(), 64);
    assert!(TxIds::EMPTY.is_empty());
    assert_eq!(Event::default(), Event::Other { ty: u32::MAX });
}

#[test]
fn test_filter_spec_builds_and_refuses_a_second_match() {
    let mut fs = FilterSpec::udp_local(Ipv4Addr::new(198, 18, 0, 1), 8080).unwrap();
    let raw = *fs.as_raw();
    assert_ne!(raw.type_, 0, "a match was set");
    let e = fs
        .set_ip4_local(IpProto::Tcp, Ipv4Addr::new(198, 18, 0, 1), 80)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(EPROTONOSUPPORT));
    assert_eq!(
        *fs.as_raw(),
        raw,
        "a refused match leaves the spec as it was"
    );

    let mut full = FilterSpec::new(FilterFlags::NONE);
    full.set_ip4_full(
        IpProto::Udp,
        Ipv4Addr::new(198, 18, 0, 1),
        1,
        Ipv4Addr::new(198, 18, 0, 2),
        2,
    )
    .unwrap();
    assert_ne!(*full.as_raw(), raw);
    let mut eth = FilterSpec::new(FilterFlags::NONE);
    eth.set_eth_local(None, [2, 0, 0, 0, 0, 1]).unwrap();
    let mut all = FilterSpec::new(FilterFlags::NONE);
    all.set_unicast_all().unwrap();
    assert_ne!(*all.as_raw(), *eth.as_raw());
    let mut kinds = Vec::new();
    for set in [
        FilterSpec::set_multicast_all,
        FilterSpec::set_unicast_mismatch,
        FilterSpec::set_block_kernel,
    ] {
        let mut fs = FilterSpec::new(FilterFlags::NONE);
        set(&mut fs).unwrap();
        kinds.push(fs.as_raw().type_);
    }
    let mut et = FilterSpec::new(FilterFlags::NONE);
    et.set_eth_type(0x88f7).unwrap();
    let mut pr = FilterSpec::new(FilterFlags::NONE);
    pr.set_ip_proto(132).unwrap();
    kinds.extend([
        all.as_raw().type_,
        eth.as_raw().type_,
        et.as_raw().type_,
        pr.as_raw().type_,
    ]);
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), 7, "each kind of match is its own filter type");
}

#[test]
fn test_pd_on_missing_interface_is_enodev() {
    let driver = Driver::open().unwrap();
    let e = Pd::alloc_by_name(&driver, "anyvi-none0", PdFlags::DEFAULT).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(ENODEV));
    let e = Pd::alloc(&driver, 0x7fff_fff0, PdFlags::DEFAULT).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(ENODEV));
}

#[test]
fn test_pd_bad_names_are_einval() {
    let driver = Driver::open().unwrap();
    for name in ["", "a-name-far-too-long-for-linux", "lo\0x"] {
        let e = Pd::alloc_by_name(&driver, name, PdFlags::DEFAULT).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(EINVAL), "name {name:?}");
    }
}

#[test]
fn test_pd_on_lo_works() {
    let driver = Driver::open().unwrap();
    assert!(driver.raw() >= 0);
    let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
    assert_eq!(pd.interface_name(), "lo");
    let by_index = Pd::alloc(&driver, 1, PdFlags::DEFAULT).unwrap();
    assert_eq!(by_index.interface_name(), "lo");
}

#[test]
fn test_pd_unsupported_flag() {
    let driver = Driver::open().unwrap();
    let e = Pd::alloc_by_name(&driver, "lo", PdFlags::VPORT).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[test]
fn test_memreg_layout_and_bounds() {
    let driver = Driver::open().unwrap();
    let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
    let mut mem = MemReg::alloc(&pd, 5, 2048).unwrap();
    assert_eq!(mem.len(), 3 * PAGE_SIZE, "rounded up to whole pages");
    assert_eq!(
        mem.as_slice().as_ptr() as usize % PAGE_SIZE,
        0,
        "page-aligned"
    );
    assert_eq!((mem.n_bufs(), mem.buf_size()), (5, 2048));
    assert_eq!(mem.buf_offset(4), 4 * 2048);
    assert_eq!(mem.buf(4).len(), 2048);
    assert!(mem.get_buf(5).is_none());
    assert!(mem.get_buf_mut(5).is_none());
    assert!(mem.buf(0).iter().all(|&b| b == 0), "fresh memory is zero");

    mem.buf_mut(2)[..4].copy_from_slice(b"abcd");
    assert_eq!(&mem.buf(2)[..4], b"abcd");
    assert_eq!(mem.bytes(2 * 2048, 4), Some(&b"abcd"[..]));
    assert_eq!(mem.bytes(mem.len() - 1, 1).map(<[u8]>::len), Some(1));
    assert!(mem.bytes(mem.len() - 1, 2).is_none());
    assert!(mem.bytes(usize::MAX, 2).is_none());
    assert!(mem.bytes_mut(mem.len(), 1).is_none());

    let base = mem.dma_addr(0).unwrap();
    assert_eq!(mem.dma_addr(100), Some(base + 100));
    assert_eq!(mem.dma_addr(mem.len()), None);
    assert!(mem.range_addr(mem.len() - 10, 10).is_ok());
    assert!(mem.range_addr(mem.len() - 10, 11).is_err());
    assert!(mem.range_addr(0, 0).is_err());
    assert!(mem.range_addr(usize::MAX, 2).is_err());
}

#[test]
#[should_panic(expected = "out of range")]
fn test_memreg_buf_index_panics() {
    let driver = Driver::open().unwrap();
    let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
    let mem = MemReg::alloc(&pd, 2, 2048).unwrap();
    let _ = mem.buf(2);
}

#[test]
fn test_memreg_bad_sizes() {
    let driver = Driver::open().unwrap();
    let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
    for (n, size) in [(0, 2048), (4, 0), (usize::MAX, 2)] {
        let e = MemReg::alloc(&pd, n, size).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(EINVAL), "{n} x {size}");
    }
}

#[test]
fn test_memregs_get_distinct_dma_ranges() {
    let driver = Driver::open().unwrap();
    let pd = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
    let a = MemReg::alloc(&pd, 2, 2048).unwrap();
    let b = MemReg::alloc(&pd, 2, 2048).unwrap();
    let (a0, b0) = (a.dma_addr(0).unwrap(), b.dma_addr(0).unwrap());
    assert!(a0 + a.len() as u64 <= b0 || b0 + b.len() as u64 <= a0);
    // Dropping frees the registration: the slot can be used again, and the
    // PD (dropped last) frees cleanly.
    drop(a);
    let c = MemReg::alloc(&pd, 2, 2048).unwrap();
    assert_eq!(c.dma_addr(0), Some(a0));
}

#[test]
fn test_udp_build_parse_roundtrip() {
    use crate::udp;
    let flow = udp::UdpFlow {
        dmac: [2, 0, 0, 0, 0, 2],
        smac: [2, 0, 0, 0, 0, 1],
        saddr: Ipv4Addr::new(198, 18, 0, 1),
        daddr: Ipv4Addr::new(198, 18, 0, 2),
        sport: 8080,
        dport: 9090,
    };
    let mut f = [0u8; 256];
    let n = udp::build(&mut f, &flow, b"payload!", 0x1234).unwrap();
    assert_eq!(n, udp::HDRS_LEN + 8);
    let d = udp::parse(&f[..n]).unwrap();
    assert_eq!(d.src.to_string(), "198.18.0.1:8080");
    assert_eq!(d.dst.to_string(), "198.18.0.2:9090");
    assert_eq!(
        (d.ip_id, d.payload, d.smac),
        (0x1234, &b"payload!"[..], flow.smac)
    );
    assert!(d.checksums_ok());
    // Ethernet padding after the datagram is not payload.
    let d = udp::parse(&f[..n + 10]).unwrap();
    assert_eq!(d.payload, b"payload!");

    assert!(udp::set_ip_id(&mut f[..n], 0xbeef));
    let d = udp::parse(&f[..n]).unwrap();
    assert_eq!(d.ip_id, 0xbeef);
    assert!(d.checksums_ok(), "set_ip_id fixes the header checksum");
    f[n - 1] ^= 0xff;
    assert!(!udp::parse(&f[..n]).unwrap().checksums_ok());

    // Malformed frames are refused, never read past their end.
    for cut in 0..udp::HDRS_LEN + 8 {
        assert!(udp::parse(&f[..cut]).is_none(), "cut at {cut}");
    }
    let mut g = f;
    g[12] = 0x86;
    assert!(udp::parse(&g[..n]).is_none(), "not IPv4");
    assert!(
        udp::build(&mut [0u8; 40], &flow, b"", 0).is_none(),
        "too small"
    );
}

#[test]
fn test_udp_checksum_known_vector() {
    // IPv4 header from RFC 1071 style worked example (checksum 0xb861).
    let hdr = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];
    assert_eq!(crate::udp::ip_checksum(&hdr), 0xb861);
}
