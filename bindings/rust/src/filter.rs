// SPDX-License-Identifier: BSD-2-Clause
//
// filter.rs: filter specifications and installed filters. A FilterSpec is
// the C ef_filter_spec built through the C calls (so the encoding stays
// the library's); a Filter is an installed filter that borrows its VI and
// removes itself on drop.

use crate::{check, ffi, flags_type, Vi};
use std::io;
use std::net::Ipv4Addr;

flags_type! {
    /// Flags of [`FilterSpec::new`] (`enum ef_filter_flags`).
    FilterFlags {
        /// `EF_FILTER_FLAG_NONE`.
        NONE = ffi::EF_FILTER_FLAG_NONE;
        /// `EF_FILTER_FLAG_MCAST_LOOP_RECEIVE`.
        MCAST_LOOP_RECEIVE = ffi::EF_FILTER_FLAG_MCAST_LOOP_RECEIVE;
    }
}

/// The IP protocol of an IP filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpProto {
    /// UDP (17).
    Udp,
    /// TCP (6).
    Tcp,
}

impl IpProto {
    fn raw(self) -> i32 {
        match self {
            IpProto::Udp => 17,
            IpProto::Tcp => 6,
        }
    }
}

/// What traffic a filter steers to a VI (`ef_filter_spec`). Start with
/// [`new`](Self::new) and set one match (the `set_*` calls return
/// `EPROTONOSUPPORT` when the spec already holds one that cannot be
/// combined with the new one), or use a shortcut such as
/// [`udp_local`](Self::udp_local). Ports and addresses are in host order
/// here; the crate converts them to network order for C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterSpec {
    raw: ffi::ef_filter_spec,
}

impl FilterSpec {
    /// An empty spec (`ef_filter_spec_init`).
    pub fn new(flags: FilterFlags) -> FilterSpec {
        let mut raw = ffi::ef_filter_spec::default();
        // SAFETY: raw is a valid ef_filter_spec.
        unsafe { ffi::ef_filter_spec_init(&mut raw, flags.0 as i32) };
        FilterSpec { raw }
    }

    /// UDP datagrams to `host:port` (`ef_filter_spec_set_ip4_local`).
    pub fn udp_local(host: Ipv4Addr, port: u16) -> io::Result<FilterSpec> {
        let mut fs = FilterSpec::new(FilterFlags::NONE);
        fs.set_ip4_local(IpProto::Udp, host, port)?;
        Ok(fs)
    }

    /// Traffic of `proto` to the local `host:port`
    /// (`ef_filter_spec_set_ip4_local`). Host 0.0.0.0 matches any local
    /// address.
    pub fn set_ip4_local(
        &mut self,
        proto: IpProto,
        host: Ipv4Addr,
        port: u16,
    ) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe {
            ffi::ef_filter_spec_set_ip4_local(&mut self.raw, proto.raw(), be32(host), be16(port))
        })?;
        Ok(self)
    }

    /// One flow: `proto` from `rhost:rport` to `host:port`
    /// (`ef_filter_spec_set_ip4_full`).
    pub fn set_ip4_full(
        &mut self,
        proto: IpProto,
        host: Ipv4Addr,
        port: u16,
        rhost: Ipv4Addr,
        rport: u16,
    ) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe {
            ffi::ef_filter_spec_set_ip4_full(
                &mut self.raw,
                proto.raw(),
                be32(host),
                be16(port),
                be32(rhost),
                be16(rport),
            )
        })?;
        Ok(self)
    }

    /// Frames to a MAC address, optionally on one VLAN
    /// (`ef_filter_spec_set_eth_local`).
    pub fn set_eth_local(&mut self, vlan: Option<u16>, mac: [u8; 6]) -> io::Result<&mut Self> {
        let vlan = vlan.map_or(ffi::EF_FILTER_VLAN_ID_ANY, i32::from);
        // SAFETY: self.raw is valid; mac is 6 readable bytes.
        check(unsafe {
            ffi::ef_filter_spec_set_eth_local(&mut self.raw, vlan, mac.as_ptr().cast())
        })?;
        Ok(self)
    }

    /// Add a VLAN to a MAC or EtherType match (`ef_filter_spec_set_vlan`).
    pub fn set_vlan(&mut self, vlan: u16) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe { ffi::ef_filter_spec_set_vlan(&mut self.raw, i32::from(vlan)) })?;
        Ok(self)
    }

    /// Every unicast frame no other filter takes
    /// (`ef_filter_spec_set_unicast_all`).
    pub fn set_unicast_all(&mut self) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe { ffi::ef_filter_spec_set_unicast_all(&mut self.raw) })?;
        Ok(self)
    }

    /// Every multicast frame no other filter takes
    /// (`ef_filter_spec_set_multicast_all`).
    pub fn set_multicast_all(&mut self) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe { ffi::ef_filter_spec_set_multicast_all(&mut self.raw) })?;
        Ok(self)
    }

    /// Every unicast frame to a MAC address other than the interface's
    /// (`ef_filter_spec_set_unicast_mismatch`).
    pub fn set_unicast_mismatch(&mut self) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe { ffi::ef_filter_spec_set_unicast_mismatch(&mut self.raw) })?;
        Ok(self)
    }

    /// Keep every frame away from the kernel: those no filter takes are
    /// dropped (`ef_filter_spec_set_block_kernel`).
    pub fn set_block_kernel(&mut self) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe { ffi::ef_filter_spec_set_block_kernel(&mut self.raw) })?;
        Ok(self)
    }

    /// Frames of one EtherType (`ef_filter_spec_set_eth_type`).
    pub fn set_eth_type(&mut self, ether_type: u16) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe { ffi::ef_filter_spec_set_eth_type(&mut self.raw, ether_type.to_be()) })?;
        Ok(self)
    }

    /// IP packets of one protocol (`ef_filter_spec_set_ip_proto`).
    pub fn set_ip_proto(&mut self, proto: u8) -> io::Result<&mut Self> {
        // SAFETY: self.raw is valid.
        check(unsafe { ffi::ef_filter_spec_set_ip_proto(&mut self.raw, proto) })?;
        Ok(self)
    }

    /// The C spec, for the raw [`ffi`] calls.
    pub fn as_raw(&self) -> &ffi::ef_filter_spec {
        &self.raw
    }
}

fn be32(a: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(a.octets())
}

fn be16(p: u16) -> i32 {
    i32::from(p.to_be())
}

/// A filter installed on a VI ([`Vi::add_filter`]): while it lives, the
/// traffic it matches goes to the VI instead of the kernel. Dropping it
/// removes it (`ef_vi_filter_del`) and the traffic goes back to the
/// kernel; [`keep`](Self::keep) leaves it installed until the VI is freed.
pub struct Filter<'v> {
    vi: &'v Vi<'v>,
    cookie: ffi::ef_filter_cookie,
}

impl<'v> Filter<'v> {
    pub(crate) fn new(vi: &'v Vi<'v>, cookie: ffi::ef_filter_cookie) -> Filter<'v> {
        Filter { vi, cookie }
    }

    /// The C cookie of the filter.
    pub fn cookie(&self) -> ffi::ef_filter_cookie {
        self.cookie
    }

    /// Remove the filter now, reporting the error that drop would ignore.
    pub fn remove(self) -> io::Result<()> {
        let mut cookie = self.cookie;
        let vi = self.vi;
        std::mem::forget(self);
        // SAFETY: the VI is allocated (we borrow it) and the cookie is
        // the one ef_vi_filter_add gave us.
        check(unsafe { ffi::ef_vi_filter_del(vi.as_raw(), vi.driver_raw(), &mut cookie) })?;
        Ok(())
    }

    /// Leave the filter installed until its VI is freed (the C library
    /// removes a VI's filters when it frees the VI).
    pub fn keep(self) -> ffi::ef_filter_cookie {
        let c = self.cookie;
        std::mem::forget(self);
        c
    }
}

impl std::fmt::Debug for Filter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("cookie", &self.cookie)
            .finish()
    }
}

impl Drop for Filter<'_> {
    fn drop(&mut self) {
        // SAFETY: as in remove().
        unsafe { ffi::ef_vi_filter_del(self.vi.as_raw(), self.vi.driver_raw(), &mut self.cookie) };
    }
}
