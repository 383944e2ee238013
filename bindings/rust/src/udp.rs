// SPDX-License-Identifier: BSD-2-Clause
//
// udp.rs: Ethernet + IPv4 + UDP frames, the minimum an ef_vi program needs
// to send and read datagrams (the examples and tests use it). Not part of
// the ef_vi API; the equivalent of the C samples' ef_sample_util.h frame
// helpers. Lengths are checked before any field is read.

//! Building and reading Ethernet/IPv4/UDP frames (no IP options, no VLAN).
//!
//! ```
//! use anyvi::udp::{build, parse, UdpFlow};
//! use std::net::Ipv4Addr;
//!
//! let flow = UdpFlow {
//!     dmac: [2, 0, 0, 0, 0, 2], smac: [2, 0, 0, 0, 0, 1],
//!     saddr: Ipv4Addr::new(198, 18, 0, 1), daddr: Ipv4Addr::new(198, 18, 0, 2),
//!     sport: 4000, dport: 5000,
//! };
//! let mut frame = [0u8; 128];
//! let len = build(&mut frame, &flow, b"hello", 7).unwrap();
//! let dgram = parse(&frame[..len]).unwrap();
//! assert_eq!(dgram.payload, b"hello");
//! assert_eq!(dgram.dst.port(), 5000);
//! assert!(dgram.checksums_ok());
//! ```

use std::net::{Ipv4Addr, SocketAddrV4};

/// Ethernet header bytes.
pub const ETH_HLEN: usize = 14;
/// IPv4 header bytes (no options).
pub const IP4_HLEN: usize = 20;
/// UDP header bytes.
pub const UDP_HLEN: usize = 8;
/// All three headers.
pub const HDRS_LEN: usize = ETH_HLEN + IP4_HLEN + UDP_HLEN;

const OFF_ETHERTYPE: usize = 12;
const OFF_IP: usize = ETH_HLEN;
const OFF_IP_TOTLEN: usize = OFF_IP + 2;
const OFF_IP_ID: usize = OFF_IP + 4;
const OFF_IP_PROTO: usize = OFF_IP + 9;
const OFF_IP_CSUM: usize = OFF_IP + 10;
const OFF_IP_SRC: usize = OFF_IP + 12;
const OFF_IP_DST: usize = OFF_IP + 16;
const OFF_UDP: usize = OFF_IP + IP4_HLEN;
const IPPROTO_UDP: u8 = 17;

/// The addresses of a UDP flow, in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpFlow {
    /// Destination MAC.
    pub dmac: [u8; 6],
    /// Source MAC.
    pub smac: [u8; 6],
    /// Source IPv4 address.
    pub saddr: Ipv4Addr,
    /// Destination IPv4 address.
    pub daddr: Ipv4Addr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
}

/// Write the headers for a `paylen`-byte payload that is already in place
/// at `frame[HDRS_LEN..]`, with both checksums and IPv4 id `ip_id`.
/// Returns the frame length, or None if the frame does not fit `frame` or
/// an IPv4 packet.
pub fn write_headers(frame: &mut [u8], flow: &UdpFlow, paylen: usize, ip_id: u16) -> Option<usize> {
    let total = HDRS_LEN.checked_add(paylen)?;
    if total > frame.len() || IP4_HLEN + UDP_HLEN + paylen > 0xffff {
        return None;
    }
    frame[0..6].copy_from_slice(&flow.dmac);
    frame[6..12].copy_from_slice(&flow.smac);
    frame[OFF_ETHERTYPE..OFF_ETHERTYPE + 2].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut frame[OFF_IP..OFF_IP + IP4_HLEN];
    ip[0] = 0x45; // version 4, 5 words
    ip[1] = 0;
    ip[2..4].copy_from_slice(&((IP4_HLEN + UDP_HLEN + paylen) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
    ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&flow.saddr.octets());
    ip[16..20].copy_from_slice(&flow.daddr.octets());
    let c = ip_checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let udp_len = UDP_HLEN + paylen;
    let udp = &mut frame[OFF_UDP..OFF_UDP + udp_len];
    udp[0..2].copy_from_slice(&flow.sport.to_be_bytes());
    udp[2..4].copy_from_slice(&flow.dport.to_be_bytes());
    udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    let c = udp_checksum(flow.saddr, flow.daddr, udp);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    Some(total)
}

/// Write a whole frame: headers and `payload`. Returns its length, or
/// None if it does not fit.
pub fn build(frame: &mut [u8], flow: &UdpFlow, payload: &[u8], ip_id: u16) -> Option<usize> {
    let end = HDRS_LEN.checked_add(payload.len())?;
    frame.get_mut(HDRS_LEN..end)?.copy_from_slice(payload);
    write_headers(frame, flow, payload.len(), ip_id)
}

/// The IPv4 identification of a frame of at least [`HDRS_LEN`] bytes.
#[inline]
pub fn ip_id(frame: &[u8]) -> Option<u16> {
    let b = frame.get(OFF_IP_ID..OFF_IP_ID + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Change the IPv4 identification and fix the header checksum (the UDP
/// checksum does not cover it). Returns false if the frame is too short.
#[inline]
pub fn set_ip_id(frame: &mut [u8], id: u16) -> bool {
    if frame.len() < OFF_IP + IP4_HLEN {
        return false;
    }
    frame[OFF_IP_ID..OFF_IP_ID + 2].copy_from_slice(&id.to_be_bytes());
    frame[OFF_IP_CSUM..OFF_IP_CSUM + 2].copy_from_slice(&[0, 0]);
    let c = ip_checksum(&frame[OFF_IP..OFF_IP + IP4_HLEN]);
    frame[OFF_IP_CSUM..OFF_IP_CSUM + 2].copy_from_slice(&c.to_be_bytes());
    true
}

/// A UDP datagram read from a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Source MAC.
    pub smac: [u8; 6],
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// IPv4 identification.
    pub ip_id: u16,
    /// The payload (the UDP length's worth, not the Ethernet padding).
    pub payload: &'a [u8],
    ip_hdr: &'a [u8],
    udp: &'a [u8],
}

impl Datagram<'_> {
    /// Both checksums are right (a zero UDP checksum means none).
    pub fn checksums_ok(&self) -> bool {
        if ip_checksum(self.ip_hdr) != 0 {
            return false;
        }
        let c = u16::from_be_bytes([self.udp[6], self.udp[7]]);
        c == 0 || udp_checksum(*self.src.ip(), *self.dst.ip(), self.udp) == 0
    }
}

/// Read a UDP/IPv4 frame (IP options allowed, fragments not). None if the
/// frame is anything else or its lengths do not add up.
#[inline]
pub fn parse(frame: &[u8]) -> Option<Datagram<'_>> {
    if frame.len() < HDRS_LEN || frame[OFF_ETHERTYPE..OFF_ETHERTYPE + 2] != [0x08, 0x00] {
        return None;
    }
    let vihl = frame[OFF_IP];
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < IP4_HLEN || frame[OFF_IP_PROTO] != IPPROTO_UDP {
        return None;
    }
    let frag = u16::from_be_bytes([frame[OFF_IP + 6], frame[OFF_IP + 7]]);
    if frag & 0x3fff != 0 {
        return None; // a fragment
    }
    let tot = usize::from(u16::from_be_bytes([
        frame[OFF_IP_TOTLEN],
        frame[OFF_IP_TOTLEN + 1],
    ]));
    if tot < ihl + UDP_HLEN || OFF_IP + tot > frame.len() {
        return None;
    }
    let ip_hdr = &frame[OFF_IP..OFF_IP + ihl];
    let udp_all = &frame[OFF_IP + ihl..OFF_IP + tot];
    let ulen = usize::from(u16::from_be_bytes([udp_all[4], udp_all[5]]));
    if ulen < UDP_HLEN || ulen > udp_all.len() {
        return None;
    }
    let udp = &udp_all[..ulen];
    let ip4 = |o: usize| Ipv4Addr::new(frame[o], frame[o + 1], frame[o + 2], frame[o + 3]);
    let port = |o: usize| u16::from_be_bytes([udp[o], udp[o + 1]]);
    let mut smac = [0u8; 6];
    smac.copy_from_slice(&frame[6..12]);
    Some(Datagram {
        smac,
        src: SocketAddrV4::new(ip4(OFF_IP_SRC), port(0)),
        dst: SocketAddrV4::new(ip4(OFF_IP_DST), port(2)),
        ip_id: u16::from_be_bytes([frame[OFF_IP_ID], frame[OFF_IP_ID + 1]]),
        payload: &udp[UDP_HLEN..],
        ip_hdr,
        udp,
    })
}

/// The Internet checksum (RFC 1071) of `data`, continuing from `sum`.
#[inline]
fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    sum
}

#[inline]
fn csum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The IPv4 header checksum to store (0 when checking a header that has
/// its checksum in place and is right).
#[inline]
pub fn ip_checksum(hdr: &[u8]) -> u16 {
    csum_fold(csum_add(0, hdr))
}

/// The UDP checksum to store for `udp` (header with a zero checksum field,
/// then payload); 0 when checking a datagram whose checksum is right.
/// RFC 768: a computed 0 is sent as 0xffff.
pub fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
    let mut sum = csum_add(0, &src.octets());
    sum = csum_add(sum, &dst.octets());
    sum += u32::from(IPPROTO_UDP);
    sum += udp.len() as u32;
    let c = csum_fold(csum_add(sum, udp));
    let stored = u16::from_be_bytes([udp[6], udp[7]]);
    if c == 0 && stored == 0 {
        0xffff
    } else {
        c
    }
}
