//! The encoder: computes the exact length first, then writes into one pre-sized buffer.

use super::auth::AnyMac;
use super::checksum::checksum;
use super::decode::{EXT_AUTH, EXT_END, EXT_HEADER_LEN, EXT_VENDOR, prefix_len};
use super::error::EncodeError;
use super::types::*;

/// Largest Vendor ID (24 bits, B.3.2).
const MAX_VENDOR_ID: u32 = 0x00ff_ffff;

/// One extension as it goes on the wire: type, a short fixed prefix of the value (the SPI or the
/// Vendor ID) and the rest of the value.
struct WireExt<'a> {
    kind: u16,
    prefix: [u8; 4],
    prefix_len: usize,
    body: ExtValue<'a>,
}

/// The part of an extension's value after its prefix.
enum ExtValue<'a> {
    Bytes(&'a [u8]),
    /// `n` zero bytes: the Authentication Data before the MAC is computed.
    Zeroes(usize),
}

impl WireExt<'_> {
    fn value_len(&self) -> usize {
        self.prefix_len
            + match self.body {
                ExtValue::Bytes(b) => b.len(),
                ExtValue::Zeroes(n) => n,
            }
    }
}

/// The extensions `encode` writes, in order: with `auth`, an Authentication extension (MAC
/// zeroed) first, and any Authentication extension of the packet left out.
fn wire_extensions<'a>(
    extensions: &'a [Extension],
    auth: Option<&AuthKey>,
) -> impl Iterator<Item = Result<WireExt<'a>, EncodeError>> + 'a {
    let first = auth.map(|k| {
        Ok(WireExt {
            kind: EXT_AUTH,
            prefix: k.spi.to_be_bytes(),
            prefix_len: 4,
            body: ExtValue::Zeroes(k.algorithm.mac_len()),
        })
    });
    let signing = auth.is_some();
    let rest = extensions.iter().filter_map(move |e| match e {
        Extension::Authentication { .. } if signing => None,
        Extension::Authentication { spi, mac } => Some(Ok(WireExt {
            kind: EXT_AUTH,
            prefix: spi.to_be_bytes(),
            prefix_len: 4,
            body: ExtValue::Bytes(mac),
        })),
        Extension::VendorPrivate { vendor_id, data } => Some(if *vendor_id > MAX_VENDOR_ID {
            Err(EncodeError::VendorIdTooLarge(*vendor_id))
        } else {
            let [_, a, b, c] = vendor_id.to_be_bytes();
            Ok(WireExt {
                kind: EXT_VENDOR,
                prefix: [a, b, c, 0],
                prefix_len: 3,
                body: ExtValue::Bytes(data),
            })
        }),
        Extension::Unknown { kind, value } => Some(if *kind <= EXT_VENDOR {
            Err(EncodeError::ReservedExtensionType(*kind))
        } else {
            Ok(WireExt {
                kind: *kind,
                prefix: [0; 4],
                prefix_len: 0,
                body: ExtValue::Bytes(value),
            })
        }),
    });
    first.into_iter().chain(rest)
}

/// Length of the extensions part `encode` writes for these extensions and `auth`: each
/// extension's header and value, plus the End extension when there is at least one.
pub(crate) fn extensions_len(extensions: &[Extension], auth: Option<&AuthKey>) -> usize {
    let mut n = 0;
    let mut any = false;
    // Errors are reported by `encode`; here they only count as their size would.
    for e in wire_extensions(extensions, auth).flatten() {
        n += EXT_HEADER_LEN + e.value_len();
        any = true;
    }
    if any { n + EXT_HEADER_LEN } else { 0 }
}

/// Refuse what a receiver must refuse (B.3, B.3.2): a type twice, or a Vendor ID twice.
fn check_extensions<'a>(
    exts: impl Iterator<Item = Result<WireExt<'a>, EncodeError>>,
) -> Result<(), EncodeError> {
    let mut keys: Vec<(u16, [u8; 4])> = Vec::new();
    for e in exts {
        let e = e?;
        // The Vendor ID distinguishes Vendor-Private extensions; others are keyed by type.
        let sub = if e.kind == EXT_VENDOR {
            e.prefix
        } else {
            [0; 4]
        };
        keys.push((e.kind, sub));
    }
    if keys.len() > 1 {
        keys.sort_unstable();
        if let Some([(kind, _), _]) = keys.windows(2).find(|w| matches!(w, [a, b] if a == b)) {
            return Err(EncodeError::DuplicateExtension { kind: *kind });
        }
    }
    Ok(())
}

/// Encoded length of the records (or Additional Receiver ID records) of `body`.
fn records_len(body: &Body) -> usize {
    match body {
        Body::Ca { records, .. } | Body::CsuReply { records } | Body::Csus { records } => {
            records.iter().map(super::csas_len).sum()
        }
        Body::CsuRequest { records } => records.iter().map(super::csa_len).sum(),
        Body::Hello { additional, .. } => additional.iter().map(|id| 1 + id.len()).sum(),
    }
}

/// Encoded length of the fixed and mandatory parts without records.
pub(crate) fn overhead(common: &Common, kind: MessageType) -> usize {
    FIXED_LEN + prefix_len(kind) + COMMON_LEN + common.sender.len() + common.receiver.len()
}

/// See [`super::encoded_len`].
pub(crate) fn encoded_len(packet: &Packet, auth: Option<&AuthKey>) -> usize {
    overhead(&packet.common, packet.body.message_type())
        + records_len(&packet.body)
        + extensions_len(&packet.extensions, auth)
}

/// Big-endian writes into a Vec that was sized beforehand.
trait Put {
    fn u8(&mut self, v: u8);
    fn u16(&mut self, v: u16);
    fn u32(&mut self, v: u32);
}

impl Put for Vec<u8> {
    fn u8(&mut self, v: u8) {
        self.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
}

/// The one-byte length of an ID (at most 255 by construction of [`Id`]).
fn id_len(id: &Id) -> u8 {
    u8::try_from(id.len()).unwrap_or(u8::MAX)
}

/// Write a CSAS header and the key and originator, with the given Record Length.
fn put_csas(buf: &mut Vec<u8>, r: &Csas, record_len: u16) {
    buf.u16(r.hops);
    buf.u16(record_len);
    buf.u8(id_len(&r.id.key));
    buf.u8(id_len(&r.id.origin));
    buf.u16(if r.null { CSAS_FLAG_N } else { 0 });
    buf.u32(r.seq);
    buf.extend_from_slice(r.id.key.as_bytes());
    buf.extend_from_slice(r.id.origin.as_bytes());
}

/// The Record Length of a record of `len` bytes. The whole packet was checked to be at most
/// 65535 bytes, so this never saturates.
fn len16(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// See [`super::encode`].
pub(crate) fn encode(packet: &Packet, auth: Option<&AuthKey>) -> Result<Vec<u8>, EncodeError> {
    let body = &packet.body;
    let kind = body.message_type();
    let count = u16::try_from(body.record_count())
        .map_err(|_| EncodeError::TooManyRecords(body.record_count()))?;
    check_extensions(wire_extensions(&packet.extensions, auth))?;

    let mandatory_len = overhead(&packet.common, kind) + records_len(body);
    let ext_len = extensions_len(&packet.extensions, auth);
    let len = mandatory_len + ext_len;
    if len > MAX_PACKET {
        return Err(EncodeError::TooLarge {
            len,
            max: MAX_PACKET,
        });
    }
    let size = len16(len);
    let soe = if ext_len == 0 {
        0
    } else {
        len16(mandatory_len)
    };

    let mut buf = Vec::with_capacity(len);
    // Fixed part (B.1); the checksum is filled in last.
    buf.u8(VERSION);
    buf.u8(kind as u8);
    buf.u16(size);
    buf.u16(0);
    buf.u16(soe);

    // Type-specific fields before the common part, and the flags.
    let mut flags = 0;
    match body {
        Body::Ca { seq, m, i, o, .. } => {
            buf.u32(*seq);
            flags = (if *m { CA_FLAG_M } else { 0 })
                | (if *i { CA_FLAG_I } else { 0 })
                | (if *o { CA_FLAG_O } else { 0 });
        }
        Body::Hello {
            interval,
            dead_factor,
            family_id,
            ..
        } => {
            buf.u16(*interval);
            buf.u16(*dead_factor);
            buf.u16(0);
            buf.u16(*family_id);
        }
        Body::CsuRequest { .. } | Body::CsuReply { .. } | Body::Csus { .. } => {}
    }

    // Mandatory Common Part (B.2.0.1).
    let c = &packet.common;
    buf.u16(c.protocol_id);
    buf.u16(c.sgid);
    buf.u16(0);
    buf.u16(flags);
    buf.u8(id_len(&c.sender));
    buf.u8(id_len(&c.receiver));
    buf.u16(count);
    buf.extend_from_slice(c.sender.as_bytes());
    buf.extend_from_slice(c.receiver.as_bytes());

    // Records.
    match body {
        Body::Ca { records, .. } | Body::CsuReply { records } | Body::Csus { records } => {
            for r in records {
                put_csas(&mut buf, r, len16(super::csas_len(r)));
            }
        }
        Body::CsuRequest { records } => {
            for r in records {
                put_csas(&mut buf, &r.summary, len16(super::csa_len(r)));
                buf.extend_from_slice(&r.data);
            }
        }
        Body::Hello { additional, .. } => {
            for id in additional {
                buf.u8(id_len(id));
                buf.extend_from_slice(id.as_bytes());
            }
        }
    }
    debug_assert_eq!(buf.len(), mandatory_len);

    // Extensions (B.3), then End.
    let mut mac_at = None;
    if ext_len != 0 {
        for e in wire_extensions(&packet.extensions, auth) {
            let e = e?;
            buf.u16(e.kind);
            buf.u16(len16(e.value_len()));
            buf.extend_from_slice(e.prefix.get(..e.prefix_len).unwrap_or_default());
            match e.body {
                ExtValue::Bytes(b) => buf.extend_from_slice(b),
                ExtValue::Zeroes(n) => {
                    mac_at = Some(buf.len()..buf.len() + n);
                    buf.resize(buf.len() + n, 0);
                }
            }
        }
        buf.u16(EXT_END);
        buf.u16(0);
    }
    debug_assert_eq!(buf.len(), len);

    // Sign with checksum and MAC zero (rfc2334-readings.md #1), then checksum.
    if let (Some(key), Some(range)) = (auth, mac_at) {
        let mut h = AnyMac::new(key.algorithm, &key.key).ok_or(EncodeError::InvalidKey)?;
        h.update(&buf);
        if let Some(out) = buf.get_mut(range) {
            h.finalize_into(out);
        }
    }
    let sum = checksum(&buf);
    if let Some(field) = buf.get_mut(4..6) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
    Ok(buf)
}
