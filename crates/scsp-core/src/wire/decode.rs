//! The decoder: bounds-checked, never panics, linear in the packet's length.

use super::checksum;
use super::error::{DecodeError, IdField};
use super::types::*;

/// Extension type codes (B.3).
pub(crate) const EXT_END: u16 = 0;
pub(crate) const EXT_AUTH: u16 = 1;
pub(crate) const EXT_VENDOR: u16 = 2;

/// Length of an extension header (Type, Length).
pub(crate) const EXT_HEADER_LEN: usize = 4;

/// A big-endian cursor over a slice. Reads return `None` instead of running past the end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let end = self.pos.checked_add(N)?;
        let a = self.buf.get(self.pos..end)?.first_chunk::<N>().copied()?;
        self.pos = end;
        Some(a)
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    fn u16(&mut self) -> Option<u16> {
        self.array::<2>().map(u16::from_be_bytes)
    }
}

/// An ID from the wire. Its length came from a one-byte field, so it is at most 255 bytes.
#[inline]
fn id(bytes: &[u8]) -> Id {
    debug_assert!(bytes.len() <= Id::MAX_LEN);
    Id::from_bytes(bytes)
}

/// The big-endian u16 at `off` of an array (0 past its end, which no call site reaches: the
/// offsets are constants within the array).
fn be16<const N: usize>(b: &[u8; N], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

/// See [`super::decode`].
pub(crate) fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
    let len = bytes.len();
    let fixed = bytes
        .first_chunk::<FIXED_LEN>()
        .ok_or(DecodeError::TooShort { len })?;
    let [version, type_code, ..] = *fixed;
    if version != VERSION {
        return Err(DecodeError::BadVersion(version));
    }
    let kind = MessageType::from_code(type_code).ok_or(DecodeError::UnknownType(type_code))?;
    let size = be16(fixed, 2);
    if usize::from(size) != len {
        return Err(DecodeError::SizeMismatch { field: size, len });
    }
    if checksum::checksum(bytes) != 0 {
        let field = be16(fixed, 4);
        // The checksum the sender should have written: over the packet with the field zero.
        // Offsets 4 and 6 are even, so skipping the field keeps every later word aligned.
        let computed = !checksum::fold(
            checksum::sum(bytes.get(..4).unwrap_or_default())
                + checksum::sum(bytes.get(6..).unwrap_or_default()),
        );
        return Err(DecodeError::BadChecksum { field, computed });
    }
    let soe = be16(fixed, 6);

    let mut r = Reader::new(bytes, FIXED_LEN);

    // The type-specific fields before the Mandatory Common Part, and the common part itself.
    let prefix = prefix_len(kind);
    let needed = FIXED_LEN + prefix + COMMON_LEN;
    let truncated = DecodeError::TruncatedMandatory { kind, needed, len };
    let prefix_fields: [u8; 8] = {
        let mut p = [0u8; 8];
        let src = r.take(prefix).ok_or_else(|| truncated.clone())?;
        if let Some(dst) = p.get_mut(..prefix) {
            dst.copy_from_slice(src);
        }
        p
    };
    let common = r.array::<COMMON_LEN>().ok_or(truncated)?;
    // Protocol ID, Server Group ID, unused, Flags, Sender ID Len, Recvr ID Len, Number of
    // Records.
    let protocol_id = be16(&common, 0);
    let sgid = be16(&common, 2);
    let flags = be16(&common, 6);
    let [.., sender_len, receiver_len, _, _] = common;
    let count = be16(&common, 10);

    let mut take_id = |which, id_len: u8| {
        let offset = r.pos;
        r.take(usize::from(id_len)).ok_or(DecodeError::TruncatedId {
            which,
            offset,
            id_len,
            len,
        })
    };
    let sender = take_id(IdField::Sender, sender_len)?;
    let receiver = take_id(IdField::Receiver, receiver_len)?;
    let common = Common {
        protocol_id,
        sgid,
        sender: id(sender),
        receiver: id(receiver),
    };

    // Where the mandatory part ends: at the Start Of Extensions, which must point exactly at
    // the end of the records (rfc2334-readings.md #17), or at the end of the packet.
    let records_start = r.pos;
    let mandatory_end = if soe == 0 {
        len
    } else {
        let s = usize::from(soe);
        if s > len {
            return Err(DecodeError::ExtensionsBeyondPacket { offset: soe, len });
        }
        if s < records_start {
            return Err(DecodeError::ExtensionsInsideMandatory {
                offset: soe,
                records_start,
            });
        }
        s
    };
    // From here on, the mandatory part is the slice up to its end, so that no record can be
    // read from the extensions.
    let mut m = Reader::new(
        bytes.get(..mandatory_end).unwrap_or_default(),
        records_start,
    );

    // CA: sequence number in s0..s3. Hello: interval, dead factor, unused, family id.
    let [s0, s1, s2, s3, _unused2, _unused3, y0, y1] = prefix_fields;
    let body = match kind {
        MessageType::Ca => Body::Ca {
            seq: u32::from_be_bytes([s0, s1, s2, s3]),
            m: flags & CA_FLAG_M != 0,
            i: flags & CA_FLAG_I != 0,
            o: flags & CA_FLAG_O != 0,
            records: csas_records(&mut m, count)?,
        },
        MessageType::CsuRequest => Body::CsuRequest {
            records: csa_records(&mut m, count)?,
        },
        MessageType::CsuReply => Body::CsuReply {
            records: csas_records(&mut m, count)?,
        },
        MessageType::Csus => Body::Csus {
            records: csas_records(&mut m, count)?,
        },
        MessageType::Hello => Body::Hello {
            interval: u16::from_be_bytes([s0, s1]),
            dead_factor: u16::from_be_bytes([s2, s3]),
            family_id: u16::from_be_bytes([y0, y1]),
            additional: receiver_records(&mut m, count)?,
        },
    };
    if m.pos != mandatory_end {
        return Err(DecodeError::TrailingBytes {
            offset: m.pos,
            end: mandatory_end,
            before_extensions: soe != 0,
        });
    }

    let extensions = if soe == 0 {
        Vec::new()
    } else {
        extensions(bytes, mandatory_end)?
    };

    Ok(Packet {
        common,
        body,
        extensions,
    })
}

/// Bytes of the type-specific fields between the fixed part and the Mandatory Common Part.
pub(crate) fn prefix_len(kind: MessageType) -> usize {
    match kind {
        MessageType::Ca => 4,
        MessageType::Hello => 8,
        MessageType::CsuRequest | MessageType::CsuReply | MessageType::Csus => 0,
    }
}

/// Read record `index` of `count`: a stand-alone CSAS record, or (when `standalone` is false)
/// a CSA record, whose client/server protocol specific part is returned beside its summary.
/// `m` is bounded by the end of the mandatory part.
#[inline(always)]
fn record<'a>(
    m: &mut Reader<'a>,
    index: u16,
    count: u16,
    standalone: bool,
) -> Result<(Csas, &'a [u8]), DecodeError> {
    let offset = m.pos;
    let end = m.buf.len();
    let available = end.saturating_sub(offset);
    if available == 0 {
        return Err(DecodeError::MissingRecords {
            count,
            found: index,
            offset,
        });
    }
    let header = m
        .array::<CSAS_FIXED_LEN>()
        .ok_or(DecodeError::TruncatedRecordHeader {
            index,
            offset,
            available,
        })?;
    let [h0, h1, l0, l1, key_len, orig_len, n0, n1, q0, q1, q2, q3] = header;
    let field = u16::from_be_bytes([l0, l1]);
    let record_len = usize::from(field);
    let summary_len = CSAS_FIXED_LEN + usize::from(key_len) + usize::from(orig_len);
    if standalone && record_len != summary_len {
        return Err(DecodeError::CsasLength {
            index,
            offset,
            field,
            expected: summary_len,
        });
    }
    if !standalone && record_len < summary_len {
        return Err(DecodeError::CsaLength {
            index,
            offset,
            field,
            min: summary_len,
        });
    }
    let overrun = DecodeError::RecordOverrun {
        index,
        offset,
        record_len,
        end,
    };
    if record_len > available {
        return Err(overrun);
    }
    // All three fit: record_len >= summary_len and record_len <= available.
    let (Some(key), Some(origin), Some(data)) = (
        m.take(usize::from(key_len)),
        m.take(usize::from(orig_len)),
        m.take(record_len - summary_len),
    ) else {
        return Err(overrun);
    };
    let summary = Csas {
        hops: u16::from_be_bytes([h0, h1]),
        null: u16::from_be_bytes([n0, n1]) & CSAS_FLAG_N != 0,
        seq: u32::from_be_bytes([q0, q1, q2, q3]),
        id: RecordId {
            key: id(key),
            origin: id(origin),
        },
    };
    Ok((summary, data))
}

/// Capacity to reserve for `count` records of at least `min_len` bytes each in what is left of
/// `m`: never more than could fit, so a lying count cannot make us allocate much.
fn capacity(m: &Reader<'_>, count: u16, min_len: usize) -> usize {
    usize::from(count).min(m.buf.len().saturating_sub(m.pos) / min_len.max(1))
}

/// Stand-alone CSAS records (CA, CSU Reply, CSUS): Record Length = 12 + key + originator.
fn csas_records(m: &mut Reader<'_>, count: u16) -> Result<Vec<Csas>, DecodeError> {
    let mut records = Vec::with_capacity(capacity(m, count, CSAS_FIXED_LEN));
    for index in 0..count {
        let (summary, _) = record(m, index, count, true)?;
        records.push(summary);
    }
    Ok(records)
}

/// CSA records (CSU Request): Record Length >= 12 + key + originator; the rest is the
/// client/server protocol specific part.
fn csa_records(m: &mut Reader<'_>, count: u16) -> Result<Vec<Csa>, DecodeError> {
    let mut records = Vec::with_capacity(capacity(m, count, CSAS_FIXED_LEN));
    for index in 0..count {
        let (summary, data) = record(m, index, count, false)?;
        records.push(Csa {
            summary,
            data: Data::from(data),
        });
    }
    Ok(records)
}

/// A Hello's Additional Receiver ID records: each a length byte and an ID (B.2.5).
fn receiver_records(m: &mut Reader<'_>, count: u16) -> Result<Vec<Id>, DecodeError> {
    let mut ids = Vec::with_capacity(capacity(m, count, 1));
    for index in 0..count {
        let offset = m.pos;
        let id_len = m.u8().ok_or(DecodeError::MissingRecords {
            count,
            found: index,
            offset,
        })?;
        let bytes = m
            .take(usize::from(id_len))
            .ok_or(DecodeError::RecordOverrun {
                index,
                offset,
                record_len: 1 + usize::from(id_len),
                end: m.buf.len(),
            })?;
        ids.push(id(bytes));
    }
    Ok(ids)
}

/// The extensions part, from `start` (the Start Of Extensions) to the end of the packet, which
/// must be the end of its End Of Extensions.
fn extensions(bytes: &[u8], start: usize) -> Result<Vec<Extension>, DecodeError> {
    let len = bytes.len();
    let mut r = Reader::new(bytes, start);
    let mut out = Vec::new();
    // (type, vendor id or 0, offset) of every extension, for the duplicate check.
    let mut seen: Vec<(u16, u32, usize)> = Vec::new();
    loop {
        let offset = r.pos;
        let available = len.saturating_sub(offset);
        if available == 0 {
            return Err(DecodeError::MissingEnd { offset });
        }
        let (Some(kind), Some(value_len)) = (r.u16(), r.u16()) else {
            return Err(DecodeError::TruncatedExtension { offset, available });
        };
        let value = r
            .take(usize::from(value_len))
            .ok_or(DecodeError::ExtensionOverrun {
                kind,
                offset,
                value_len,
                len,
            })?;
        match kind {
            EXT_END => {
                if value_len != 0 {
                    return Err(DecodeError::EndLength { offset, value_len });
                }
                if r.pos != len {
                    return Err(DecodeError::BytesAfterEnd { offset: r.pos, len });
                }
                break;
            }
            EXT_AUTH => {
                let Some((spi, mac)) = value.split_first_chunk::<4>() else {
                    return Err(DecodeError::AuthTooShort { offset, value_len });
                };
                seen.push((kind, 0, offset));
                out.push(Extension::Authentication {
                    spi: u32::from_be_bytes(*spi),
                    mac: mac.to_vec(),
                });
            }
            EXT_VENDOR => {
                let Some(([v0, v1, v2], data)) = value.split_first_chunk::<3>() else {
                    return Err(DecodeError::VendorPrivateTooShort { offset, value_len });
                };
                let vendor_id = u32::from_be_bytes([0, *v0, *v1, *v2]);
                seen.push((kind, vendor_id, offset));
                out.push(Extension::VendorPrivate {
                    vendor_id,
                    data: data.to_vec(),
                });
            }
            _ => {
                seen.push((kind, 0, offset));
                out.push(Extension::Unknown {
                    kind,
                    value: value.to_vec(),
                });
            }
        }
    }
    check_duplicates(&mut seen).map(|()| out)
}

/// B.3: a type occurs at most once; B.3.2: Vendor-Private at most once per Vendor ID.
/// Sorting keeps this O(n log n) however many extensions a hostile packet carries.
fn check_duplicates(seen: &mut [(u16, u32, usize)]) -> Result<(), DecodeError> {
    if seen.len() < 2 {
        return Ok(());
    }
    seen.sort_unstable();
    // After sorting, equal (type, vendor) pairs are adjacent, in order of offset. Report the
    // earliest repeat in the packet.
    let repeat = seen
        .windows(2)
        .filter_map(|w| match w {
            [(k1, v1, first), (k2, v2, offset)] if k1 == k2 && v1 == v2 => {
                Some((*k2, *v2, *first, *offset))
            }
            _ => None,
        })
        .min_by_key(|&(_, _, _, offset)| offset);
    match repeat {
        None => Ok(()),
        Some((EXT_VENDOR, vendor_id, first, offset)) => Err(DecodeError::DuplicateVendor {
            vendor_id,
            first,
            offset,
        }),
        Some((kind, _, first, offset)) => Err(DecodeError::DuplicateExtension {
            kind,
            first,
            offset,
        }),
    }
}
