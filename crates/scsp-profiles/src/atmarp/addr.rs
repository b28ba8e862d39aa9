//! ATM addresses as ATMARP carries them (RFC 2225 8.7.3) and as people write them.
//!
//! - An **NSAP** (ATM Forum NSAPA / AESA) is 20 bytes, written as dotted hex in the ICD/DCC
//!   grouping `AFI.IDI.DFI.AA.RSVD.RD.AREA.ESI.SEL`, e.g.
//!   `47.0005.80.ffdc00.0000.0002.0001.002048061de7.00`. On input the dots may be anywhere (or
//!   absent) and a `0x` prefix is allowed, as in HARP's configuration files.
//! - An **E.164** number is 1–15 bytes, normally IA5 digits. It is written as its digits
//!   (`12125551234`, an optional leading `+` is accepted); one whose bytes are not all digits is
//!   written `0x` + hex. On input, a string of 1–15 decimal digits (no `0x`, no dots) is E.164
//!   digits; `0x` + hex of 1–15 bytes is E.164 bytes; any other hex form must be 20 bytes, an
//!   NSAP (so a mistyped, short NSAP is refused rather than taken for an E.164 number).

use std::fmt;
use std::str::FromStr;

use crate::common::serde_as_text;

/// Length of an NSAP address or subaddress.
pub const NSAP_LEN: usize = 20;
/// Longest E.164 number (HARP's `Atm_addr_e164`).
pub const E164_MAX: usize = 15;

/// The type bit of a type/length byte: set for E.164, clear for NSAP.
pub const TL_E164: u8 = 0x40;
/// The reserved bit of a type/length byte (must be zero).
pub const TL_RESERVED: u8 = 0x80;
/// The length bits of a type/length byte.
pub const TL_LEN: u8 = 0x3f;

/// Why a string is not an ATM address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// Nothing given.
    #[error("empty ATM address")]
    Empty,
    /// A character that is neither a hex digit nor a dot.
    #[error("invalid character {0:?} in ATM address")]
    BadChar(char),
    /// An odd number of hex digits.
    #[error("odd number of hex digits in ATM address")]
    OddDigits,
    /// Neither 20 bytes (NSAP) nor 1–15 (E.164).
    #[error("ATM address of {0} bytes (NSAP: 20; E.164: 1 to 15 digits, or 0x and 1 to 15 bytes)")]
    BadLength(usize),
    /// A subaddress that is not a 20-byte NSAP.
    #[error("an ATM subaddress must be a 20-byte NSAP, not {0} bytes")]
    NotNsap(usize),
}

/// A 20-byte ATM Forum NSAP address (AESA).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nsap(pub [u8; NSAP_LEN]);

/// Digits per group of the dotted form (ICD/DCC AESA format).
const NSAP_GROUPS: [usize; 9] = [1, 2, 1, 3, 2, 2, 2, 6, 1];

impl fmt::Display for Nsap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut at = 0;
        for (i, n) in NSAP_GROUPS.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for b in &self.0[at..at + n] {
                write!(f, "{b:02x}")?;
            }
            at += n;
        }
        Ok(())
    }
}

impl fmt::Debug for Nsap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nsap({self})")
    }
}

impl FromStr for Nsap {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, AddrError> {
        let bytes = parse_hex(s)?;
        let n = bytes.len();
        bytes
            .try_into()
            .map(Nsap)
            .map_err(|_| AddrError::NotNsap(n))
    }
}

/// An E.164 number: 1 to 15 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164 {
    len: u8,
    bytes: [u8; E164_MAX],
}

impl E164 {
    /// The number made of `bytes`, if there are 1 to 15 of them.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || bytes.len() > E164_MAX {
            return None;
        }
        let mut b = [0; E164_MAX];
        b[..bytes.len()].copy_from_slice(bytes);
        Some(E164 {
            len: bytes.len() as u8,
            bytes: b,
        })
    }

    /// The bytes as carried on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn is_digits(&self) -> bool {
        self.as_bytes().iter().all(u8::is_ascii_digit)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_digits() {
            for &b in self.as_bytes() {
                write!(f, "{}", char::from(b))?;
            }
            Ok(())
        } else {
            write!(f, "0x{}", hex::encode(self.as_bytes()))
        }
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({self})")
    }
}

/// An ATM number: an NSAP address or an E.164 number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtmAddress {
    /// ATM Forum NSAPA, 20 bytes.
    Nsap(Nsap),
    /// E.164, 1 to 15 bytes.
    E164(E164),
}

impl AtmAddress {
    /// The bytes as carried on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            AtmAddress::Nsap(n) => &n.0,
            AtmAddress::E164(e) => e.as_bytes(),
        }
    }

    /// The type/length byte (RFC 2225 8.7.3): 0x40 | length for E.164, the length for NSAP.
    pub fn type_length(&self) -> u8 {
        match self {
            AtmAddress::Nsap(_) => NSAP_LEN as u8,
            AtmAddress::E164(e) => TL_E164 | e.len,
        }
    }
}

impl fmt::Display for AtmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtmAddress::Nsap(n) => n.fmt(f),
            AtmAddress::E164(e) => e.fmt(f),
        }
    }
}

impl fmt::Debug for AtmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtmAddress::Nsap(n) => n.fmt(f),
            AtmAddress::E164(e) => e.fmt(f),
        }
    }
}

impl FromStr for AtmAddress {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, AddrError> {
        let s = s.trim();
        let digits = s.strip_prefix('+').unwrap_or(s);
        if !digits.is_empty()
            && digits.len() <= E164_MAX
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            return E164::new(digits.as_bytes())
                .map(AtmAddress::E164)
                .ok_or(AddrError::BadLength(digits.len()));
        }
        if s.starts_with('+') {
            return Err(AddrError::BadChar('+'));
        }
        let bytes = parse_hex(s)?;
        let prefixed = s.starts_with("0x") || s.starts_with("0X");
        match bytes.len() {
            NSAP_LEN => {
                let mut n = [0; NSAP_LEN];
                n.copy_from_slice(&bytes);
                Ok(AtmAddress::Nsap(Nsap(n)))
            }
            n if prefixed => E164::new(&bytes)
                .map(AtmAddress::E164)
                .ok_or(AddrError::BadLength(n)),
            n => Err(AddrError::BadLength(n)),
        }
    }
}

/// Hex digits with an optional `0x` prefix and dots anywhere between digits.
fn parse_hex(s: &str) -> Result<Vec<u8>, AddrError> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let mut nibbles = Vec::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '.' => {}
            c => nibbles.push(c.to_digit(16).ok_or(AddrError::BadChar(c))? as u8),
        }
    }
    if nibbles.is_empty() {
        return Err(AddrError::Empty);
    }
    if nibbles.len() % 2 != 0 {
        return Err(AddrError::OddDigits);
    }
    Ok(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

serde_as_text!(Nsap, |s: &str| s
    .parse::<Nsap>()
    .map_err(|e| format!("ATM subaddress {s:?}: {e}")));
serde_as_text!(AtmAddress, |s: &str| s
    .parse::<AtmAddress>()
    .map_err(|e| format!("ATM address {s:?}: {e}")));

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "47.0005.80.ffdc00.0000.0002.0001.002048061de7.00";

    #[test]
    fn nsap_example_round_trips() {
        let a: AtmAddress = EXAMPLE.parse().unwrap();
        assert_eq!(
            a.as_bytes(),
            hex::decode("47000580ffdc00000000020001002048061de700").unwrap()
        );
        assert_eq!(a.type_length(), 0x14);
        assert_eq!(a.to_string(), EXAMPLE);
        let n: Nsap = EXAMPLE.parse().unwrap();
        assert_eq!(n.to_string(), EXAMPLE);
    }

    #[test]
    fn nsap_other_spellings() {
        for s in [
            "0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00",
            "47000580FFDC00000000020001002048061DE700",
            "0x4700.0580.ffdc.0000.0000.0200.0100.2048.061d.e700",
        ] {
            assert_eq!(s.parse::<AtmAddress>().unwrap().to_string(), EXAMPLE, "{s}");
        }
    }

    #[test]
    fn e164_forms() {
        let a: AtmAddress = "12125551234".parse().unwrap();
        assert_eq!(a.as_bytes(), b"12125551234");
        assert_eq!(a.type_length(), 0x40 | 11);
        assert_eq!(a.to_string(), "12125551234");
        assert_eq!("+12125551234".parse::<AtmAddress>().unwrap(), a);
        assert_eq!("0x3132313235353531323334".parse::<AtmAddress>().unwrap(), a);
        let raw: AtmAddress = "0x0102".parse().unwrap();
        assert_eq!(raw.to_string(), "0x0102");
        assert_eq!(raw.to_string().parse::<AtmAddress>().unwrap(), raw);
    }

    #[test]
    fn refusals() {
        assert_eq!("".parse::<AtmAddress>(), Err(AddrError::Empty));
        assert_eq!("0x".parse::<AtmAddress>(), Err(AddrError::Empty));
        assert_eq!("47.0g".parse::<AtmAddress>(), Err(AddrError::BadChar('g')));
        assert_eq!("0x123".parse::<AtmAddress>(), Err(AddrError::OddDigits));
        assert_eq!(
            "0x".to_string().parse::<AtmAddress>().map(|_| ()),
            Err(AddrError::Empty)
        );
        // 16 bytes: too long for E.164, too short for NSAP.
        assert_eq!(
            "0x00112233445566778899aabbccddeeff".parse::<AtmAddress>(),
            Err(AddrError::BadLength(16))
        );
        // 16 digits: too many for E.164 digits; as hex, 8 bytes, not an NSAP.
        assert_eq!(
            "1234567890123456".parse::<AtmAddress>(),
            Err(AddrError::BadLength(8))
        );
        // A short dotted NSAP is not taken for E.164 bytes.
        assert_eq!(
            "47.0005.80".parse::<AtmAddress>(),
            Err(AddrError::BadLength(4))
        );
        assert_eq!("0x0102".parse::<Nsap>(), Err(AddrError::NotNsap(2)));
        assert_eq!("+12a".parse::<AtmAddress>(), Err(AddrError::BadChar('+')));
    }

    #[test]
    fn serde_as_strings() {
        let a: AtmAddress = EXAMPLE.parse().unwrap();
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, format!("\"{EXAMPLE}\""));
        assert_eq!(serde_json::from_str::<AtmAddress>(&j).unwrap(), a);
        assert!(serde_json::from_str::<AtmAddress>("\"xyz\"").is_err());
    }
}
