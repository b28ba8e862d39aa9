//! Addresses as NHRP (RFC 2332 §5.2.0) and MARS (RFC 2022 §5.1.2) carry them, shared by the
//! [`crate::nhrp`] and [`crate::mars`] profiles: subnetwork (NBMA/ATM) addresses with their
//! type/length octet, internetwork (protocol) addresses, the 5-octet SNAP, and the bounds-checked
//! reader both codecs use.
//!
//! Every address has one string form, used in JSON and in columns alike, chosen so that parsing
//! what is printed gives back the same octets:
//!
//! | octets | string |
//! |---|---|
//! | none | `""` |
//! | 4 | dotted IPv4, `192.0.2.1` |
//! | 16 | IPv6, `2001:db8::1` |
//! | 20, NSAP format (NBMA only) | ATM Forum NSAPA in the grouping AFI.IDI.DFI.AA.RSVD.RD.AREA.ESI.SEL, `47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00` (as the ATMARP profile writes it) |
//! | E.164 format, 1 to 15 IA5 digits (NBMA only) | the digits, `15551234567` |
//! | E.164 format, 16 or more IA5 digits (NBMA only) | `+` and the digits |
//! | E.164 format, anything else (NBMA only) | `e164:0x` and hex |
//! | anything else | `0x` and hex |
//!
//! NBMA addresses are also read as 1 to 15 decimal digits with a leading `+` (E.164), and as hex
//! with or without `0x` and with `.` anywhere between digit pairs (the way HARP's configuration
//! writes ATM addresses).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::common::serde_as_text;

/// Why octets do not decode as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The record ends before a field.
    #[error("record truncated: {field} needs {need} octets at offset {at}, {have} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Its offset.
        at: usize,
        /// Octets it needs.
        need: usize,
        /// Octets left.
        have: usize,
    },
    /// Octets follow the last field.
    #[error("{0} octets after the last field")]
    Trailing(usize),
    /// A field holds a value the protocol does not allow.
    #[error("{field}: {value} is not allowed ({why})")]
    Value {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u32,
        /// What is allowed.
        why: &'static str,
    },
    /// A field cannot be encoded (too long for its length field).
    #[error("{field}: {len} octets do not fit (at most {max})")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The largest length its length field holds.
        max: usize,
    },
}

/// A bounds-checked reader over a record's octets.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], CodecError> {
        let have = self.buf.len() - self.pos;
        if n > have {
            return Err(CodecError::Truncated {
                field,
                at: self.pos,
                need: n,
                have,
            });
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, CodecError> {
        Ok(self.bytes(field, 1)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, CodecError> {
        let b = self.bytes(field, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, CodecError> {
        let b = self.bytes(field, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(field, N)?);
        Ok(a)
    }

    /// The end of the record: nothing may follow.
    pub(crate) fn finish(self) -> Result<(), CodecError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            n => Err(CodecError::Trailing(n)),
        }
    }
}

/// A subnetwork type/length octet (RFC 2332 §5.2.0, RFC 2022 §5.1.2): bit 7 reserved (zero),
/// bit 6 the format (0 NSAP or the native form, 1 E.164), bits 5–0 the length in octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TypeLen {
    pub(crate) e164: bool,
    pub(crate) len: usize,
}

impl TypeLen {
    pub(crate) const MAX_LEN: usize = 0x3f;

    pub(crate) fn decode(field: &'static str, b: u8) -> Result<Self, CodecError> {
        if b & 0x80 != 0 {
            return Err(CodecError::Value {
                field,
                value: u32::from(b),
                why: "the most significant bit of a type/length octet is reserved and must be zero",
            });
        }
        Ok(TypeLen {
            e164: b & 0x40 != 0,
            len: usize::from(b & 0x3f),
        })
    }

    pub(crate) fn of(field: &'static str, a: &NbmaAddr) -> Result<u8, CodecError> {
        if a.octets.len() > Self::MAX_LEN {
            return Err(CodecError::TooLong {
                field,
                len: a.octets.len(),
                max: Self::MAX_LEN,
            });
        }
        // Cannot truncate: checked above.
        Ok((u8::from(a.e164) << 6) | a.octets.len() as u8)
    }
}

/// The length octet of a protocol address field.
pub(crate) fn proto_len(field: &'static str, a: &ProtoAddr) -> Result<u8, CodecError> {
    u8::try_from(a.0.len()).map_err(|_| CodecError::TooLong {
        field,
        len: a.0.len(),
        max: 255,
    })
}

/// Length of an ATM Forum NSAP address.
const NSAP_LEN: usize = 20;
/// Octets per group of the dotted NSAP form (ICD/DCC AESA format).
const NSAP_GROUPS: [usize; 9] = [1, 2, 1, 3, 2, 2, 2, 6, 1];
/// Longest E.164 number.
const E164_MAX: usize = 15;

/// A subnetwork (NBMA, ATM) address or subaddress: its format bit and its octets. The empty
/// address is the null one (no storage allocated).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NbmaAddr {
    /// The type/length octet's format bit: E.164 (true) or NSAP/native (false). Kept even for the
    /// null address, where the RFC says it is ignored, so that records re-encode exactly.
    pub e164: bool,
    /// The address (for native E.164 on ATM, IA5 digits).
    pub octets: Vec<u8>,
}

impl NbmaAddr {
    /// The null address.
    pub fn null() -> Self {
        NbmaAddr::default()
    }

    /// True for the null (empty) address.
    pub fn is_null(&self) -> bool {
        self.octets.is_empty()
    }

    /// An NSAP-format (or native) address.
    pub fn nsap(octets: impl Into<Vec<u8>>) -> Self {
        NbmaAddr {
            e164: false,
            octets: octets.into(),
        }
    }

    /// Parse the string form (see the module documentation).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(NbmaAddr::null());
        }
        let all_digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        let addr = if let Some(digits) = s.strip_prefix('+') {
            if !all_digits(digits) {
                return Err(format!("{s:?}: an E.164 number is decimal digits"));
            }
            NbmaAddr {
                e164: true,
                octets: digits.as_bytes().to_vec(),
            }
        } else if all_digits(s) && s.len() <= E164_MAX {
            NbmaAddr {
                e164: true,
                octets: s.as_bytes().to_vec(),
            }
        } else if let Some(h) = s.strip_prefix("e164:") {
            NbmaAddr {
                e164: true,
                octets: parse_hex(h).ok_or_else(|| format!("{s:?}: e164: is followed by hex"))?,
            }
        } else if let Ok(v4) = s.parse::<Ipv4Addr>() {
            NbmaAddr::nsap(v4.octets())
        } else if s.contains(':') {
            let v6: Ipv6Addr = s
                .parse()
                .map_err(|_| format!("{s:?} is not an IPv6 address"))?;
            NbmaAddr::nsap(v6.octets())
        } else {
            NbmaAddr::nsap(parse_hex(s).ok_or_else(|| {
                format!(
                    "{s:?} is not an NBMA address (IPv4, IPv6, E.164 digits, or hex as in \
                     47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00)"
                )
            })?)
        };
        if addr.octets.len() > TypeLen::MAX_LEN {
            return Err(format!(
                "{s:?}: {} octets, an NBMA address has at most {}",
                addr.octets.len(),
                TypeLen::MAX_LEN
            ));
        }
        Ok(addr)
    }
}

impl fmt::Display for NbmaAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.octets[..];
        if self.e164 {
            if !o.is_empty() && o.iter().all(u8::is_ascii_digit) {
                // All ASCII digits: the bytes are valid UTF-8.
                let plus = if o.len() > E164_MAX { "+" } else { "" };
                return write!(f, "{plus}{}", String::from_utf8_lossy(o));
            }
            return if o.is_empty() {
                f.write_str("e164:")
            } else {
                write!(f, "e164:0x{}", hex::encode(o))
            };
        }
        match o.len() {
            0 => Ok(()),
            4 | 16 => fmt_ip(f, o),
            NSAP_LEN => {
                let mut at = 0;
                for (i, n) in NSAP_GROUPS.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(&hex::encode(&o[at..at + n]))?;
                    at += n;
                }
                Ok(())
            }
            _ => write!(f, "0x{}", hex::encode(o)),
        }
    }
}

/// An internetwork (protocol) address: IPv4, IPv6 or other octets. The empty address is the null
/// one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ProtoAddr(pub Vec<u8>);

impl ProtoAddr {
    /// True for the null (empty) address.
    pub fn is_null(&self) -> bool {
        self.0.is_empty()
    }

    /// Parse the string form: `""`, IPv4, IPv6 or `0x` and hex.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(ProtoAddr::default());
        }
        if let Ok(v4) = s.parse::<Ipv4Addr>() {
            return Ok(ProtoAddr(v4.octets().to_vec()));
        }
        if let Ok(v6) = s.parse::<Ipv6Addr>() {
            return Ok(ProtoAddr(v6.octets().to_vec()));
        }
        if let Some(h) = s.strip_prefix("0x")
            && let Some(o) = parse_hex(h)
            && o.len() <= 255
        {
            return Ok(ProtoAddr(o));
        }
        Err(format!(
            "{s:?} is not a protocol address (IPv4, IPv6, or 0x and hex)"
        ))
    }

    /// Width in bits.
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }

    /// Whether the first `prefix` bits of `self` and `other` agree (and they have one length).
    pub fn matches_prefix(&self, other: &ProtoAddr, prefix: usize) -> bool {
        if self.0.len() != other.0.len() || prefix > self.bits() {
            return false;
        }
        let whole = prefix / 8;
        if self.0[..whole] != other.0[..whole] {
            return false;
        }
        let rest = prefix % 8;
        if rest == 0 {
            return true;
        }
        let mask = 0xffu8 << (8 - rest);
        self.0[whole] & mask == other.0[whole] & mask
    }
}

impl fmt::Display for ProtoAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.len() {
            0 => Ok(()),
            4 | 16 => fmt_ip(f, &self.0),
            _ => write!(f, "0x{}", hex::encode(&self.0)),
        }
    }
}

fn fmt_ip(f: &mut fmt::Formatter<'_>, o: &[u8]) -> fmt::Result {
    if let Ok(a) = <[u8; 4]>::try_from(o) {
        write!(f, "{}", Ipv4Addr::from(a))
    } else if let Ok(a) = <[u8; 16]>::try_from(o) {
        write!(f, "{}", Ipv6Addr::from(a))
    } else {
        write!(f, "0x{}", hex::encode(o))
    }
}

/// Hex with an optional `0x` prefix and `.` separators between digit pairs.
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let digits: String = s.chars().filter(|&c| c != '.').collect();
    if s.starts_with('.') || s.ends_with('.') || s.contains("..") {
        return None;
    }
    hex::decode(digits).ok()
}

/// The 5-octet SNAP extension of a protocol type (RFC 2332 `ar$pro.snap`, RFC 2022
/// `mar$pro.snap`); all zeros when the short form is used. Written as 10 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Snap(pub [u8; 5]);

impl Snap {
    fn parse(s: &str) -> Result<Self, String> {
        parse_hex(s)
            .and_then(|v| <[u8; 5]>::try_from(v).ok())
            .map(Snap)
            .ok_or_else(|| format!("{s:?}: a SNAP is 5 octets of hex"))
    }
}

impl fmt::Display for Snap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

serde_as_text!(NbmaAddr, NbmaAddr::parse);
serde_as_text!(ProtoAddr, ProtoAddr::parse);
serde_as_text!(Snap, Snap::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nbma_strings_round_trip() {
        for s in [
            "",
            "192.0.2.1",
            "2001:db8::1",
            "47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00",
            "15551234567",
            "+1234567890123456",
            "e164:0x0102",
            "e164:",
            "0x0102030405",
        ] {
            let a = NbmaAddr::parse(s).unwrap();
            assert_eq!(a.to_string(), s, "{s}");
        }
        let dotted = NbmaAddr::parse("0x47.0005.80.ffe100.0000.f21a.26d8.0020481a26d8.00").unwrap();
        assert_eq!(dotted.octets.len(), 20);
        assert!(!dotted.e164);
        assert_eq!(
            NbmaAddr::parse("+15551234567"),
            NbmaAddr::parse("15551234567")
        );
        assert_eq!(
            NbmaAddr::parse("47.0005.80ffe1000000f21a26d8.0020481a26d8.00").unwrap(),
            dotted
        );
        assert_eq!(
            NbmaAddr::parse("1234567890123456").unwrap().octets.len(),
            8,
            "more than 15 digits: hex"
        );
        assert!(NbmaAddr::parse("+12a").is_err());
        assert!(NbmaAddr::parse("47..00").is_err());
        assert!(NbmaAddr::parse("xyz").is_err());
        assert!(NbmaAddr::parse(&"00".repeat(64)).is_err());
    }

    #[test]
    fn proto_strings_round_trip() {
        for s in ["", "10.0.0.1", "fe80::1", "0x0102"] {
            assert_eq!(ProtoAddr::parse(s).unwrap().to_string(), s);
        }
        assert!(ProtoAddr::parse("10.0.0").is_err());
        assert!(ProtoAddr::parse("0102").is_err());
    }

    #[test]
    fn prefixes() {
        let a = ProtoAddr::parse("10.1.2.3").unwrap();
        let b = ProtoAddr::parse("10.1.3.3").unwrap();
        assert!(a.matches_prefix(&b, 16));
        assert!(a.matches_prefix(&b, 23));
        assert!(!a.matches_prefix(&b, 24));
        assert!(a.matches_prefix(&b, 0));
        assert!(!a.matches_prefix(&b, 33));
        assert!(!a.matches_prefix(&ProtoAddr::parse("::1").unwrap(), 0));
    }

    #[test]
    fn type_length_octet() {
        assert_eq!(
            TypeLen::decode("t", 0x54).unwrap(),
            TypeLen {
                e164: true,
                len: 20
            }
        );
        assert!(TypeLen::decode("t", 0x80).is_err());
        let a = NbmaAddr {
            e164: true,
            octets: vec![b'1'; 11],
        };
        assert_eq!(TypeLen::of("t", &a).unwrap(), 0x4b);
    }
}
