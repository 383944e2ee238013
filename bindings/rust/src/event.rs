// SPDX-License-Identifier: BSD-2-Clause
//
// event.rs: events as a Rust enum. The C library decodes its bitfield
// union (anyload_ffi_event_decode) into plain fields, which become an
// Event here; Vi::poll adds the ids of TX completions, which only the VI
// can give (ef_vi_transmit_unbundle).

use crate::{ffi, RequestId};
use core::fmt;
use core::mem::MaybeUninit;
use core::ops::Deref;

/// Why a received frame was discarded (`EF_EVENT_RX_DISCARD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// IPv4 header or TCP/UDP checksum wrong.
    CsumBad,
    /// Multicast frame that nobody subscribed to.
    McastMismatch,
    /// Ethernet FCS wrong.
    CrcBad,
    /// The frame did not fit the posted buffers.
    Trunc,
    /// Not allowed to receive this frame.
    Rights,
    /// Error in the event itself.
    EvError,
    /// Another problem, such as bad Ethernet or IP lengths.
    Other,
    /// Inner (tunnelled) checksum wrong.
    InnerCsumBad,
    /// A reason this crate does not know.
    Unknown(u32),
}

impl DiscardReason {
    /// The reason of a raw `EF_EVENT_RX_DISCARD_TYPE`.
    #[inline]
    pub fn from_raw(v: u32) -> DiscardReason {
        match v {
            ffi::EF_EVENT_RX_DISCARD_CSUM_BAD => DiscardReason::CsumBad,
            ffi::EF_EVENT_RX_DISCARD_MCAST_MISMATCH => DiscardReason::McastMismatch,
            ffi::EF_EVENT_RX_DISCARD_CRC_BAD => DiscardReason::CrcBad,
            ffi::EF_EVENT_RX_DISCARD_TRUNC => DiscardReason::Trunc,
            ffi::EF_EVENT_RX_DISCARD_RIGHTS => DiscardReason::Rights,
            ffi::EF_EVENT_RX_DISCARD_EV_ERROR => DiscardReason::EvError,
            ffi::EF_EVENT_RX_DISCARD_OTHER => DiscardReason::Other,
            ffi::EF_EVENT_RX_DISCARD_INNER_CSUM_BAD => DiscardReason::InnerCsumBad,
            v => DiscardReason::Unknown(v),
        }
    }
}

/// Why a transmit failed (`EF_EVENT_TX_ERROR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxErrorKind {
    /// Not allowed to send this frame.
    Rights,
    /// Overflow.
    Oflow,
    /// The frame is larger than the interface allows.
    TooBig,
    /// Bus error reading the frame.
    Bus,
    /// A kind this crate does not know.
    Unknown(u32),
}

impl TxErrorKind {
    /// The kind of a raw `EF_EVENT_TX_ERROR_TYPE`.
    pub fn from_raw(v: u32) -> TxErrorKind {
        match v {
            ffi::EF_EVENT_TX_ERROR_RIGHTS => TxErrorKind::Rights,
            ffi::EF_EVENT_TX_ERROR_OFLOW => TxErrorKind::Oflow,
            ffi::EF_EVENT_TX_ERROR_2BIG => TxErrorKind::TooBig,
            ffi::EF_EVENT_TX_ERROR_BUS => TxErrorKind::Bus,
            v => TxErrorKind::Unknown(v),
        }
    }
}

/// The request ids of the transmits that one TX event completed, in
/// posting order (at most `EF_VI_TRANSMIT_BATCH`, 64). Derefs to a slice.
///
/// The storage is inline (no allocation on the fast path) and only its
/// first `len()` entries are ever written, so that an event costs what its
/// ids cost, not the 256 bytes of room.
#[derive(Clone, Copy)]
pub struct TxIds {
    n: u8,
    // Invariant: ids[..n] are initialised.
    ids: [MaybeUninit<RequestId>; ffi::EF_VI_TRANSMIT_BATCH],
}

impl TxIds {
    /// No ids.
    pub const EMPTY: TxIds = TxIds {
        n: 0,
        ids: [MaybeUninit::uninit(); ffi::EF_VI_TRANSMIT_BATCH],
    };

    /// The ids of a slice (at most 64; the rest are dropped).
    pub fn from_slice(ids: &[RequestId]) -> TxIds {
        let mut t = TxIds::EMPTY;
        let n = ids.len().min(ffi::EF_VI_TRANSMIT_BATCH);
        for (d, &v) in t.ids.iter_mut().zip(&ids[..n]) {
            *d = MaybeUninit::new(v);
        }
        t.n = n as u8;
        t
    }

    /// Storage for ef_vi_transmit_unbundle (room for 64 ids).
    #[inline]
    pub(crate) fn buf_mut(&mut self) -> *mut ffi::ef_request_id {
        self.ids.as_mut_ptr() as *mut ffi::ef_request_id
    }

    /// Declare the first `n` ids written (by ef_vi_transmit_unbundle).
    ///
    /// # Safety
    /// `ids[..n]` must have been written through `buf_mut`.
    #[inline]
    pub(crate) unsafe fn set_len(&mut self, n: usize) {
        self.n = n.min(ffi::EF_VI_TRANSMIT_BATCH) as u8;
    }
}

impl Deref for TxIds {
    type Target = [RequestId];
    #[inline]
    fn deref(&self) -> &[RequestId] {
        // SAFETY: the first n entries are initialised (the invariant);
        // MaybeUninit<u32> has the layout of u32.
        unsafe {
            core::slice::from_raw_parts(self.ids.as_ptr() as *const RequestId, self.n as usize)
        }
    }
}

impl PartialEq for TxIds {
    fn eq(&self, o: &TxIds) -> bool {
        **self == **o
    }
}
impl Eq for TxIds {}

impl fmt::Debug for TxIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// What happened on a VI (`ef_event`), as [`Vi::poll`](crate::Vi::poll)
/// reports it.
///
/// Receive lengths are those of the C API (`EF_EVENT_RX_BYTES`): `len`
/// counts the frame's bytes so far, including the receive prefix
/// ([`Vi::receive_prefix_len`](crate::Vi::receive_prefix_len)). A frame
/// that fits one buffer is one `Rx` event with `sop` set and `cont` clear,
/// and the frame is `buffer[prefix..len]`. A larger frame arrives as several
/// `Rx` events, `sop` on the first, `cont` on all but the last, whose `len`
/// is then the whole frame's, more than one buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A posted buffer was filled with (part of) a good frame
    /// (`EF_EVENT_TYPE_RX`).
    Rx {
        /// The id the buffer was posted with.
        id: RequestId,
        /// Bytes of the frame up to the end of this buffer, prefix
        /// included.
        len: usize,
        /// Start of a frame (`EF_EVENT_RX_SOP`).
        sop: bool,
        /// More buffers of this frame follow (`EF_EVENT_RX_CONT`).
        cont: bool,
    },
    /// A posted buffer holds a bad frame (`EF_EVENT_TYPE_RX_DISCARD`); the
    /// buffer is back in the program's hands, as after `Rx`.
    RxDiscard {
        /// The id the buffer was posted with.
        id: RequestId,
        /// Bytes of the frame up to the end of this buffer, prefix
        /// included.
        len: usize,
        /// Why the frame is bad.
        reason: DiscardReason,
        /// More buffers of this frame follow.
        cont: bool,
    },
    /// Transmits completed (`EF_EVENT_TYPE_TX`, already unbundled): their
    /// buffers may be reused.
    Tx {
        /// The ids of the completed transmits, in posting order.
        ids: TxIds,
    },
    /// Transmits failed (`EF_EVENT_TYPE_TX_ERROR`, already unbundled).
    TxError {
        /// The ids of the failed transmits.
        ids: TxIds,
        /// Why.
        kind: TxErrorKind,
    },
    /// One transmit completed, with its time (`EF_EVENT_TYPE_TX_WITH_TIMESTAMP`,
    /// VIs with `ViFlags::TX_TIMESTAMPS`).
    TxWithTimestamp {
        /// The id of the transmit.
        id: RequestId,
        /// Seconds (`CLOCK_REALTIME`).
        sec: u32,
        /// Nanoseconds; the two low bits are the sync flags, as in C.
        nsec: u32,
    },
    /// A frame was lost because no buffer was posted
    /// (`EF_EVENT_TYPE_RX_NO_DESC_TRUNC`).
    RxNoDescTrunc,
    /// The event queue overflowed (`EF_EVENT_TYPE_OFLOW`).
    Overflow,
    /// The interface went away or was reset (`EF_EVENT_TYPE_RESET`).
    Reset,
    /// A software event (`EF_EVENT_TYPE_SW`).
    Sw {
        /// Its data.
        data: u32,
    },
    /// An event type that this crate does not decode (`ty` is the
    /// `EF_EVENT_TYPE_*` value); also the `Default`, for filling arrays.
    Other {
        /// The raw event type.
        ty: u32,
    },
}

impl Default for Event {
    fn default() -> Event {
        Event::Other { ty: u32::MAX }
    }
}

impl Event {
    /// The event that the decoded fields describe. TX and TX_ERROR events
    /// come back with no ids: only the VI that produced the event can
    /// unbundle them (`Vi::poll` does).
    #[inline]
    pub fn from_decoded(d: &ffi::anyload_ffi_event) -> Event {
        let cont = d.flags & ffi::EF_EVENT_FLAG_CONT != 0;
        match d.type_ {
            ffi::EF_EVENT_TYPE_RX => Event::Rx {
                id: d.rq_id,
                len: d.len as usize,
                sop: d.flags & ffi::EF_EVENT_FLAG_SOP != 0,
                cont,
            },
            ffi::EF_EVENT_TYPE_RX_DISCARD => Event::RxDiscard {
                id: d.rq_id,
                len: d.len as usize,
                reason: DiscardReason::from_raw(d.subtype),
                cont,
            },
            ffi::EF_EVENT_TYPE_TX => Event::Tx { ids: TxIds::EMPTY },
            ffi::EF_EVENT_TYPE_TX_ERROR => Event::TxError {
                ids: TxIds::EMPTY,
                kind: TxErrorKind::from_raw(d.subtype),
            },
            ffi::EF_EVENT_TYPE_TX_WITH_TIMESTAMP => Event::TxWithTimestamp {
                id: d.rq_id,
                sec: d.ts_sec,
                nsec: d.ts_nsec,
            },
            ffi::EF_EVENT_TYPE_RX_NO_DESC_TRUNC => Event::RxNoDescTrunc,
            ffi::EF_EVENT_TYPE_OFLOW => Event::Overflow,
            ffi::EF_EVENT_TYPE_RESET => Event::Reset,
            ffi::EF_EVENT_TYPE_SW => Event::Sw { data: d.data },
            ty => Event::Other { ty },
        }
    }

    /// Decode a raw event (see [`from_decoded`](Self::from_decoded) for TX
    /// events).
    pub fn from_raw(raw: &ffi::ef_event) -> Event {
        Event::from_decoded(&decode(raw))
    }
}

/// The plain fields of a raw event (`anyload_ffi_event_decode`).
#[inline]
pub(crate) fn decode(raw: &ffi::ef_event) -> ffi::anyload_ffi_event {
    let mut d = ffi::anyload_ffi_event::default();
    // SAFETY: both pointers are valid; the C side only reads *raw.
    unsafe { ffi::anyload_ffi_event_decode(raw, &mut d) };
    d
}
